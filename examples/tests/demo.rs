//! `cmpv2 demo`, the README's main job: it runs, says what it did, and what it wrote
//! holds up under OpenSSL.

use std::path::PathBuf;
use std::process::Command;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cmpv2-demo-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn demo_enrolls_renews_revokes_and_its_files_verify() {
    let dir = scratch("life");
    let out = Command::new(env!("CARGO_BIN_EXE_cmpv2"))
        .args(["demo", "--out"])
        .arg(&dir)
        .output()
        .expect("cmpv2 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for step in ["enrolled", "renewed", "CA certs", "revoked", "CRL", "files"] {
        assert!(
            stdout.lines().any(|l| l.starts_with(step)),
            "no {step:?} line in:\n{stdout}"
        );
    }
    assert!(stdout.contains("renewed certificate listed"), "{stdout}");

    let path = |f: &str| dir.join(f).to_string_lossy().into_owned();
    let (ok, text) = openssl(&[
        "verify",
        "-CAfile",
        &path("ca-certs.pem"),
        &path("cert.pem"),
        &path("renewed-cert.pem"),
    ]);
    assert!(ok, "{text}");
    let (ok, text) = openssl(&[
        "crl",
        "-in",
        &path("crl.pem"),
        "-CAfile",
        &path("ca-certs.pem"),
        "-noout",
        "-verify",
    ]);
    assert!(ok && text.contains("verify OK"), "{text}");
    // The renewed certificate is revoked according to the CRL.
    let (ok, text) = openssl(&[
        "verify",
        "-crl_check",
        "-CAfile",
        &path("ca-certs.pem"),
        "-CRLfile",
        &path("crl.pem"),
        &path("renewed-cert.pem"),
    ]);
    assert!(!ok && text.contains("revoked"), "{text}");
    // The key written is the key certified.
    let (_, cert_key) = openssl(&["x509", "-in", &path("cert.pem"), "-noout", "-pubkey"]);
    let (_, key) = openssl(&["pkey", "-in", &path("key.pem"), "-pubout"]);
    assert_eq!(cert_key, key);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn serve_refuses_to_start_without_clients() {
    let out = Command::new(env!("CARGO_BIN_EXE_cmpv2"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .expect("cmpv2 runs");
    assert_eq!(out.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&out.stderr).contains("serve needs clients"));
}
