//! OpenSSL's `openssl cmp -port` mock server, one per test, and the fixture key material
//! it is configured with (from cmp-proto's OpenSSL capture).
//!
//! A copy of `crates/cmp-client/tests/openssl_mock/mod.rs` with the fixture path
//! adjusted for this package.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use cmp_proto::der::DecodePem;
use cmp_proto::protection::SigningKey;
use cmp_proto::x509_cert::Certificate;

pub fn keys() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../crates/cmp-proto/tests/fixtures/keys")
}

pub fn secret() -> String {
    std::fs::read_to_string(keys().join("secret.txt")).expect("secret")
}

pub fn key(file: &str) -> SigningKey {
    SigningKey::from_pem(&std::fs::read_to_string(keys().join(file)).expect("key"))
        .expect("key parses")
}

pub fn cert(file: &str) -> Certificate {
    Certificate::from_pem(std::fs::read(keys().join(file)).expect("cert")).expect("cert parses")
}

/// A running mock server, killed on drop.
pub struct MockServer {
    child: Child,
    pub port: u16,
}

impl MockServer {
    /// A MAC-protecting server (ref 1234 and the fixture secret) returning ee.pem.
    pub fn mac(extra: &[&str]) -> Self {
        let secret = format!("pass:{}", secret());
        let mut args = vec!["-srv_ref", "1234", "-srv_secret", &secret];
        args.extend(common());
        args.extend(extra);
        Self::start(&args)
    }

    /// A signature-protecting server (server.pem) trusting root.pem, returning ee.pem.
    pub fn sig(extra: &[&str]) -> Self {
        let mut args = vec![
            "-srv_cert",
            "server.pem",
            "-srv_key",
            "server.key",
            "-srv_trusted",
            "root.pem",
        ];
        args.extend(common());
        args.extend(extra);
        Self::start(&args)
    }

    fn start(args: &[&str]) -> Self {
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("free port")
                .port();
            let mut child = Command::new("openssl")
                .args(["cmp", "-config", "", "-port", &port.to_string()])
                .args(args)
                .current_dir(keys())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("openssl is installed (see README)");
            // Its "ACCEPT" line is block-buffered on a pipe: wait for the port (5 s max).
            for _ in 0..100 {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return Self { child, port };
                }
                if child.try_wait().ok().flatten().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            child.kill().ok();
            child.wait().ok();
        }
        panic!("openssl cmp mock server did not start");
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/pkix/", self.port)
    }
}

fn common() -> [&'static str; 6] {
    [
        "-rsp_cert",
        "ee.pem",
        "-rsp_capubs",
        "root.pem",
        "-rsp_extracerts",
        "root.pem",
    ]
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}
