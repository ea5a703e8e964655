//! PKCS#12 and PEM outputs, read back by the real `openssl pkcs12` and Java's `keytool`
//! (both installed by `.ci/run` when missing).
#![allow(missing_docs)]

use std::path::{Path, PathBuf};
use std::process::Command;

use cmp_client::output::{
    ca_bundle_pem, certificate_pem, chain_pem, key_pem, keystore_p12, truststore_p12,
};
use cmp_proto::der::DecodePem;
use cmp_proto::protection::SigningKey;
use cmp_proto::x509_cert::Certificate;

const PASSWORD: &str = "s3cret-Password";

fn fixture(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../cmp-proto/tests/fixtures/keys")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn cert(name: &str) -> Certificate {
    Certificate::from_pem(fixture(name)).expect("fixture certificate")
}

fn key(name: &str) -> SigningKey {
    SigningKey::from_pem(&fixture(name)).expect("fixture key")
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cmp-client-output-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// Runs openssl; returns (success, stdout, stderr).
fn openssl(args: &[&str]) -> (bool, String, String) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl is installed");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn pass_arg() -> String {
    format!("pass:{PASSWORD}")
}

fn write_keystore(dir: &Path) -> PathBuf {
    let p12 = keystore_p12(
        &key("ee.key"),
        &cert("ee.pem"),
        &[cert("root.pem")],
        PASSWORD,
        "ee",
    )
    .expect("keystore");
    let path = dir.join("ks.p12");
    std::fs::write(&path, p12).expect("write keystore");
    path
}

fn write_truststore(dir: &Path) -> PathBuf {
    let p12 =
        truststore_p12(&[cert("root.pem"), cert("server.pem")], PASSWORD).expect("truststore");
    let path = dir.join("ts.p12");
    std::fs::write(&path, p12).expect("write truststore");
    path
}

#[test]
fn keystore_key_matches_certificate_and_chain_is_present() {
    let dir = temp_dir("ks");
    let ks = write_keystore(&dir);
    let ks = ks.to_str().expect("utf-8 path");
    let (ok, _, err) = openssl(&["pkcs12", "-in", ks, "-passin", &pass_arg(), "-noout"]);
    assert!(ok, "MAC check failed: {err}");

    let key_pem = dir.join("key.pem");
    let (ok, _, err) = openssl(&[
        "pkcs12",
        "-in",
        ks,
        "-passin",
        &pass_arg(),
        "-nocerts",
        "-nodes",
        "-out",
        key_pem.to_str().expect("utf-8"),
    ]);
    assert!(ok, "extracting the key failed: {err}");
    let (ok, key_pub, err) = openssl(&["pkey", "-in", key_pem.to_str().expect("utf-8"), "-pubout"]);
    assert!(ok, "{err}");
    let cert_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../cmp-proto/tests/fixtures/keys/ee.pem");
    let (ok, cert_pub, err) = openssl(&[
        "x509",
        "-in",
        cert_path.to_str().expect("utf-8"),
        "-noout",
        "-pubkey",
    ]);
    assert!(ok, "{err}");
    assert_eq!(
        key_pub, cert_pub,
        "the key in the keystore is not the certificate's"
    );

    let (ok, certs, err) = openssl(&["pkcs12", "-in", ks, "-passin", &pass_arg(), "-nokeys"]);
    assert!(ok, "{err}");
    assert_eq!(
        certs.matches("-----BEGIN CERTIFICATE-----").count(),
        2,
        "{certs}"
    );
    assert!(certs.contains("CN = CMP End Entity") || certs.contains("CN=CMP End Entity"));
    assert!(certs.contains("CMP Fixture Root CA"));
    assert!(certs.contains("friendlyName: ee"), "{certs}");

    // Both the key and the certificates are encrypted with PBES2 / AES-256-CBC.
    let (ok, _, info) = openssl(&[
        "pkcs12",
        "-in",
        ks,
        "-passin",
        &pass_arg(),
        "-info",
        "-noout",
    ]);
    assert!(ok, "{info}");
    assert!(info.contains("MAC: sha256"), "{info}");
    assert!(info.contains("PBES2, PBKDF2, AES-256-CBC"), "{info}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn truststore_holds_every_ca_under_its_own_name_and_no_key() {
    let dir = temp_dir("ts");
    let ts = write_truststore(&dir);
    let ts = ts.to_str().expect("utf-8 path");
    let (ok, out, err) = openssl(&[
        "pkcs12",
        "-in",
        ts,
        "-passin",
        &pass_arg(),
        "-nodes",
        "-info",
    ]);
    assert!(ok, "{err}");
    let all = format!("{out}{err}");
    assert_eq!(
        out.matches("-----BEGIN CERTIFICATE-----").count(),
        2,
        "{all}"
    );
    assert!(!out.contains("PRIVATE KEY"), "{all}");
    assert!(out.contains("friendlyName: CMP Fixture Root CA"), "{all}");
    assert!(out.contains("friendlyName: CMP Mock Server"), "{all}");
    assert!(
        out.matches("Trusted key usage (Oracle): Any Extended Key Usage")
            .count()
            == 2
            || out.matches("2.16.840.1.113894.746875.1.1").count() == 2,
        "{all}"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn wrong_password_fails() {
    let dir = temp_dir("wrong");
    for path in [write_keystore(&dir), write_truststore(&dir)] {
        let (ok, _, _) = openssl(&[
            "pkcs12",
            "-in",
            path.to_str().expect("utf-8"),
            "-passin",
            "pass:wrong",
            "-noout",
        ]);
        assert!(!ok, "{} opened with a wrong password", path.display());
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn keystore_refuses_a_key_that_is_not_the_certificates() {
    let err = keystore_p12(&key("root.key"), &cert("ee.pem"), &[], PASSWORD, "ee");
    assert!(err.is_err());
}

#[test]
fn keytool_lists_two_trusted_entries() {
    let dir = temp_dir("keytool");
    let ts = write_truststore(&dir);
    let out = Command::new("keytool")
        .args(["-list", "-keystore"])
        .arg(&ts)
        .args(["-storetype", "PKCS12", "-storepass", PASSWORD])
        .output()
        .expect("keytool is installed (.ci/run installs it)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(text.matches("trustedCertEntry").count(), 2, "{text}");

    let ks = write_keystore(&dir);
    let out = Command::new("keytool")
        .args(["-list", "-keystore"])
        .arg(&ks)
        .args(["-storetype", "PKCS12", "-storepass", PASSWORD])
        .output()
        .expect("keytool is installed (.ci/run installs it)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(text.matches("PrivateKeyEntry").count(), 1, "{text}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn pem_outputs() {
    let ee = cert("ee.pem");
    let root = cert("root.pem");
    assert_eq!(
        certificate_pem(&ee).expect("pem").trim(),
        fixture("ee.pem").trim()
    );
    let chain = chain_pem(&[ee.clone(), root.clone()]).expect("pem");
    assert_eq!(chain.matches("BEGIN CERTIFICATE").count(), 2);
    let bundle = ca_bundle_pem(&[root.clone(), root]).expect("pem");
    assert_eq!(
        bundle.matches("BEGIN CERTIFICATE").count(),
        1,
        "duplicates written once"
    );
    let pem = key_pem(&key("ee.key")).expect("pem");
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
}

/// A password outside ASCII: the MAC key takes it as BMPString (RFC 7292 §B.1), PBES2 as
/// UTF-8 (RFC 8018 §3), as OpenSSL does. (Java 17's keytool cannot take part: its PBES2
/// refuses any non-ASCII password, "Password is not ASCII", for stores it writes too;
/// see the `output` module documentation.)
#[test]
fn non_ascii_password_opens_with_openssl_and_only_with_itself() {
    const WIDE: &str = "pässwörd-€-密码";
    let dir = temp_dir("wide-password");
    let p12 = keystore_p12(
        &key("ee.key"),
        &cert("ee.pem"),
        &[cert("root.pem")],
        WIDE,
        "ee",
    )
    .expect("keystore");
    let path = dir.join("wide.p12");
    std::fs::write(&path, p12).expect("write");
    let path_text = path.to_string_lossy().into_owned();
    let (ok, out, err) = openssl(&[
        "pkcs12",
        "-in",
        &path_text,
        "-passin",
        &format!("pass:{WIDE}"),
        "-nodes",
    ]);
    assert!(ok, "{err}");
    assert!(
        out.contains("BEGIN PRIVATE KEY") && out.contains("BEGIN CERTIFICATE"),
        "{out}"
    );
    // The same letters in another normalisation or case are another password.
    let (ok, _, _) = openssl(&[
        "pkcs12",
        "-in",
        &path_text,
        "-passin",
        "pass:PÄSSWÖRD-€-密码",
        "-noout",
    ]);
    assert!(!ok, "a wrong password must fail");
    std::fs::remove_dir_all(&dir).ok();
}
