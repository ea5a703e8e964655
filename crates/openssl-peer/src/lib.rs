//! Test support shared by every crate's tests: OpenSSL's CMP mock server
//! (`openssl cmp -port`), started per test and killed on drop, a minimal RFC 6712 POST
//! to reach it, and the paths of the fixture key material that
//! `crates/cmp-proto/tests/fixtures/capture.sh` made.
//!
//! The mock server is the reference peer (cmp-notes): it answers MAC or signature
//! requests, always hands out `ee.pem`, is single-threaded and handles one transaction
//! at a time.
#![forbid(unsafe_code)]
#![allow(clippy::expect_used, clippy::unwrap_used, missing_docs)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// `crates/cmp-proto/tests/fixtures`.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../cmp-proto/tests/fixtures")
}

/// The fixture key material (`keys/` under [`fixtures_dir`]).
pub fn keys_dir() -> PathBuf {
    fixtures_dir().join("keys")
}

/// The fixtures' MAC secret (reference `1234`).
pub fn secret() -> String {
    std::fs::read_to_string(keys_dir().join("secret.txt")).expect("secret.txt")
}

/// A running mock server, killed on drop.
pub struct MockServer {
    child: Child,
    pub port: u16,
}

impl MockServer {
    /// Starts `openssl cmp -port P` with `args`, run in `dir`, and waits until it accepts.
    pub fn start(dir: &Path, args: &[&str]) -> Self {
        for _attempt in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("free port")
                .port();
            let mut child = Command::new("openssl")
                .args(["cmp", "-config", "", "-port", &port.to_string()])
                .args(args)
                .current_dir(dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("openssl is installed (see README)");
            // Its "ACCEPT" line is block-buffered on a pipe, so wait for the port to
            // accept instead (bounded: 5 s).
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

    /// A MAC-protecting server (reference 1234, the fixture secret) handing out ee.pem
    /// with root.pem in caPubs and extraCerts, plus `extra` options.
    pub fn mac(extra: &[&str]) -> Self {
        let secret = format!("pass:{}", secret());
        let mut args = vec!["-srv_ref", "1234", "-srv_secret", &secret];
        args.extend(HANDS_OUT);
        args.extend(extra);
        Self::start(&keys_dir(), &args)
    }

    /// A signature-protecting server (server.pem) trusting root.pem, handing out ee.pem,
    /// plus `extra` options. One client signer per instance: the mock server misbehaves
    /// when signers alternate (cmp-notes).
    pub fn sig(extra: &[&str]) -> Self {
        let mut args = vec![
            "-srv_cert",
            "server.pem",
            "-srv_key",
            "server.key",
            "-srv_trusted",
            "root.pem",
        ];
        args.extend(HANDS_OUT);
        args.extend(extra);
        Self::start(&keys_dir(), &args)
    }

    /// The URL its clients use.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/pkix/", self.port)
    }

    /// POSTs a DER PKIMessage to `/pkix/` (RFC 6712) and returns the response body.
    ///
    /// The mock server answers with keep-alive even to HTTP/1.0, so exactly
    /// Content-Length bytes are read rather than to the end of the stream.
    pub fn post(&self, request: &[u8]) -> Vec<u8> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        let head = format!(
            "POST /pkix/ HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/pkixcmp\r\nContent-Length: {}\r\n\r\n",
            request.len()
        );
        let mut buf = head.into_bytes();
        buf.extend_from_slice(request);
        stream.write_all(&buf).expect("send");
        let mut reader = BufReader::new(stream);
        let mut status = String::new();
        reader.read_line(&mut status).expect("status line");
        assert!(
            status.starts_with("HTTP/1.0 200") || status.starts_with("HTTP/1.1 200"),
            "{status}"
        );
        let mut length = None;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).expect("header line");
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((name, value)) = line.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse::<usize>().ok();
            }
        }
        let mut body = vec![0u8; length.expect("Content-Length")];
        reader.read_exact(&mut body).expect("body");
        body
    }
}

const HANDS_OUT: [&str; 6] = [
    "-rsp_cert",
    "ee.pem",
    "-rsp_capubs",
    "root.pem",
    "-rsp_extracerts",
    "root.pem",
];

impl Drop for MockServer {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}
