//! Runs the library examples as real programs against OpenSSL's mock server, so that
//! they keep working, not just compiling.

mod openssl_mock;

use std::path::PathBuf;
use std::process::{Command, Output};

use openssl_mock::{MockServer, keys, secret};

/// target/debug/examples/<name>: `cargo test` builds the examples before it runs the
/// tests (which live in target/debug/deps). Running `cargo run` from here instead
/// could wait forever on the build lock that `cargo test` holds.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("tests run from target/<profile>/deps");
    let path = dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "example binary {} is missing: run `cargo build -p cmp-client --examples`",
        path.display()
    );
    path
}

fn run(command: &mut Command) -> String {
    let Output {
        status,
        stdout,
        stderr,
    } = command.output().expect("example starts");
    let stdout = String::from_utf8_lossy(&stdout).into_owned();
    assert!(
        status.success(),
        "{command:?} failed ({status}):\n{stdout}\n{}",
        String::from_utf8_lossy(&stderr)
    );
    stdout
}

#[test]
fn enroll_with_secret_runs() {
    let server = MockServer::mac(&[]);
    let out = std::env::temp_dir().join(format!("cmp-examples-run-{}", std::process::id()));
    let stdout = run(Command::new(example("enroll_with_secret"))
        .arg(server.url())
        .arg("1234")
        .arg(secret())
        .arg(&out)
        .arg(keys().join("ee.key")));
    assert!(stdout.contains("CN=CMP End Entity"), "{stdout}");
    assert!(stdout.contains("-----BEGIN CERTIFICATE-----"), "{stdout}");
    let written = std::fs::read_to_string(out.join("cert.pem")).expect("cert.pem written");
    let expected = std::fs::read_to_string(keys().join("ee.pem")).expect("ee.pem");
    assert_eq!(written.trim(), expected.trim());
    assert!(out.join("key.pem").is_file());
    std::fs::remove_dir_all(&out).ok();
}

#[test]
fn fetch_ca_certs_runs() {
    let server = MockServer::mac(&[]);
    let stdout = run(Command::new(example("fetch_ca_certs"))
        .arg(server.url())
        .arg("1234")
        .arg(secret()));
    // OpenSSL 3.0's mock server echoes the info types without a value.
    assert!(stdout.contains("caCerts: 0 certificate(s)"), "{stdout}");
    assert!(
        stdout.contains("signKeyPairTypes: 0 algorithm(s)"),
        "{stdout}"
    );
}
