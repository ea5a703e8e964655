//! Runs the built `cmpv2 inspect` on the OpenSSL-captured fixtures of cmp-proto (and on a
//! few files written here) and checks its output and exit codes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use cmp_proto::builder::HeaderBuilder;
use cmp_proto::der::Encode;
use cmp_proto::protection::{MacAlgorithm, Pbmac1Settings, Protector, SharedSecret};
use cmp_proto::x509_cert::ext::pkix::name::GeneralName;
use cmp_proto::x509_cert::name::Name;
use cmp_proto::{InfoTypeAndValue, PkiBody, oid};
use serde_json::Value;

const SECRET: &str = "cmp-fixture-secret";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/cmp-proto/tests/fixtures")
}

fn fixture(rel: &str) -> PathBuf {
    fixtures().join(rel)
}

fn secret_file_arg() -> String {
    format!("file:{}", fixture("keys/secret.txt").display())
}

fn cmpv2(args: &[&str]) -> Output {
    cmpv2_env(args, &[])
}

fn cmpv2_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cmpv2"));
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("cmpv2 runs")
}

fn exit_code(out: &Output) -> i32 {
    out.status.code().expect("cmpv2 exits normally")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("stderr is UTF-8")
}

/// `inspect --json` on `file` with extra args: the JSON object and the exit code.
fn inspect_json(file: &Path, extra: &[&str]) -> (Value, i32) {
    let file = file.to_str().expect("UTF-8 path");
    let mut args = vec!["inspect", file, "--json"];
    args.extend_from_slice(extra);
    let out = cmpv2(&args);
    let value: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout of {args:?} is not JSON ({e}); stderr: {}",
            stderr(&out)
        )
    });
    assert!(value.is_object());
    (value, exit_code(&out))
}

/// A file in the temp dir, removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, content: &[u8]) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "cmpv2-inspect-test-{}-{n}-{name}",
            std::process::id()
        ));
        std::fs::write(&path, content).expect("write temp file");
        Self(path)
    }

    fn arg(&self) -> &str {
        self.0.to_str().expect("UTF-8 temp path")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn all_fixture_messages() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for kind in ["mac", "sig"] {
        let dir = fixtures().join(kind);
        for flow in std::fs::read_dir(&dir).expect("fixture dir") {
            let flow = flow.expect("dir entry").path();
            for file in std::fs::read_dir(&flow).expect("flow dir") {
                let file = file.expect("dir entry").path();
                if file.extension().is_some_and(|e| e == "der") {
                    files.push(file);
                }
            }
        }
    }
    files.sort();
    assert_eq!(files.len(), 68, "the fixture README lists 68 messages");
    files
}

fn assert_transaction_id(v: &Value) {
    let tid = v["transaction_id"].as_str().expect("transaction_id string");
    assert_eq!(tid.len(), 32, "{tid}");
    assert!(
        tid.chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)),
        "{tid}"
    );
}

#[test]
fn mac_ir_as_json() {
    let (v, code) = inspect_json(&fixture("mac/ir/ir.der"), &[]);
    assert_eq!(code, 0);
    assert_eq!(v["pvno"], 2);
    assert_eq!(v["body"], "ir");
    assert_transaction_id(&v);
    assert_eq!(v["protection"], "PasswordBasedMac");
    assert_eq!(v["protection_params"]["iterations"], 500);
    assert_eq!(v["protection_params"]["owf"], "sha256");
    assert_eq!(v["protection_params"]["mac"], "hmac-sha1");
    assert_eq!(v["protection_params"]["salt_len"], 16);
    assert_eq!(v["sender_kid"], "31323334"); // "1234"
    assert_eq!(v["recipient"], "CN=CMP Fixture Root CA");
    assert_eq!(v["sender_nonce"].as_str().map(str::len), Some(32));
    assert_eq!(v["recip_nonce"], Value::Null);
    assert_eq!(v["extra_certs"], serde_json::json!([]));
    assert_eq!(v["requests"][0]["cert_req_id"], 0);
    assert_eq!(v["requests"][0]["subject"], "CN=CMP End Entity");
    assert_eq!(v["requests"][0]["public_key"], "id-ecPublicKey secp256r1");
    assert!(
        v["requests"][0]["popo"]
            .as_str()
            .is_some_and(|p| p.starts_with("signature"))
    );
    // Without --secret there is no verdict.
    assert!(v.get("protection_valid").is_none());
}

#[test]
fn mac_ip_as_json() {
    let (v, code) = inspect_json(&fixture("mac/ir/ip.der"), &[]);
    assert_eq!(code, 0);
    assert_eq!(v["pvno"], 2);
    assert_eq!(v["body"], "ip");
    assert_transaction_id(&v);
    assert_eq!(v["protection"], "PasswordBasedMac");
    assert_eq!(v["sender"], "", "the mock server sends an empty-DN sender");
    let status = &v["statuses"][0];
    assert_eq!(status["cert_req_id"], 0);
    assert_eq!(status["status"], "accepted");
    assert_eq!(status["fail_info"], serde_json::json!([]));
    assert_eq!(status["text"], Value::Null);
    assert_eq!(status["certificate"]["subject"], "CN=CMP End Entity");
    assert_eq!(status["certificate"]["issuer"], "CN=CMP Fixture Root CA");
    assert_eq!(v["ca_pubs"], serde_json::json!(["CN=CMP Fixture Root CA"]));
    assert_eq!(
        v["extra_certs"],
        serde_json::json!(["CN=CMP Fixture Root CA"])
    );
}

#[test]
fn sig_ip_as_json() {
    let (v, code) = inspect_json(&fixture("sig/ir/ip.der"), &[]);
    assert_eq!(code, 0);
    assert_eq!(v["pvno"], 2);
    assert_eq!(v["body"], "ip");
    assert_transaction_id(&v);
    let protection = v["protection"].as_str().expect("protection name");
    assert!(protection.starts_with("ecdsa-with-SHA"), "{protection}");
    assert!(v.get("protection_params").is_none());
    assert_eq!(v["sender"], "CN=CMP Mock Server");
    assert_eq!(
        v["extra_certs"],
        serde_json::json!(["CN=CMP Mock Server", "CN=CMP Fixture Root CA"])
    );
}

#[test]
fn rejection_shows_status_fail_info_and_text() {
    for kind in ["mac", "sig"] {
        let (v, code) = inspect_json(&fixture(&format!("{kind}/rejection/ip_rejection.der")), &[]);
        assert_eq!(code, 0);
        let status = &v["statuses"][0];
        assert_eq!(status["status"], "rejection");
        assert_eq!(status["fail_info"], serde_json::json!(["badPOP"]));
        assert_eq!(status["text"], "mock rejection");
        assert_eq!(status["certificate"], Value::Null);
    }
    let out = cmpv2(&[
        "inspect",
        fixture("mac/rejection/ip_rejection.der")
            .to_str()
            .expect("UTF-8"),
    ]);
    assert_eq!(exit_code(&out), 0);
    assert!(stdout(&out).contains("status:         rejection (badPOP): mock rejection"));
}

#[test]
fn error_body_has_code_and_details() {
    let (v, _) = inspect_json(&fixture("mac/error/error.der"), &[]);
    assert_eq!(v["body"], "error");
    assert_eq!(v["statuses"][0]["status"], "rejection");
    assert_eq!(
        v["statuses"][0]["fail_info"],
        serde_json::json!(["badRequest"])
    );
    assert_eq!(v["error_code"], 0x1D00_009E);
}

#[test]
fn every_fixture_decodes_in_both_outputs() {
    for file in all_fixture_messages() {
        let name = file.file_stem().and_then(|s| s.to_str()).expect("name");
        let (v, code) = inspect_json(&file, &[]);
        assert_eq!(code, 0, "{}", file.display());
        // File names start with the body name (ip_rejection, pollReq_1, ...).
        let body = v["body"].as_str().expect("body");
        assert!(name.starts_with(body), "{}: body {body}", file.display());

        let out = cmpv2(&["inspect", file.to_str().expect("UTF-8")]);
        assert_eq!(exit_code(&out), 0, "{}", file.display());
        assert!(stdout(&out).contains(&format!("body: {body} (")));
        assert!(out.stderr.is_empty());
    }
}

#[test]
fn right_secret_verifies_every_mac_fixture() {
    let secret = secret_file_arg();
    for file in all_fixture_messages() {
        if !file.to_string_lossy().contains("/mac/") {
            continue;
        }
        let (v, code) = inspect_json(&file, &["--secret", &secret]);
        assert_eq!(v["protection_valid"], true, "{}", file.display());
        assert!(v.get("protection_error").is_none());
        assert_eq!(code, 0, "{}", file.display());
    }
    let out = cmpv2(&[
        "inspect",
        fixture("mac/ir/ip.der").to_str().expect("UTF-8"),
        "--secret",
        &secret,
    ]);
    assert_eq!(exit_code(&out), 0);
    assert!(stdout(&out).contains("\nprotection valid: yes\n"));
}

#[test]
fn secret_from_env_and_pass() {
    let file = fixture("mac/ir/ir.der");
    let out = cmpv2_env(
        &[
            "inspect",
            file.to_str().expect("UTF-8"),
            "--json",
            "--secret",
            "env:CMPV2_TEST_SECRET",
        ],
        &[("CMPV2_TEST_SECRET", SECRET)],
    );
    assert_eq!(exit_code(&out), 0, "{}", stderr(&out));
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["protection_valid"], true);

    let pass = format!("pass:{SECRET}");
    let (v, code) = inspect_json(&file, &["--secret", &pass]);
    assert_eq!(
        (v["protection_valid"].clone(), code),
        (Value::Bool(true), 0)
    );
}

#[test]
fn wrong_secret_is_exit_1() {
    let file = fixture("mac/ir/ip.der");
    let (v, code) = inspect_json(&file, &["--secret", "pass:wrong"]);
    assert_eq!(v["protection_valid"], false);
    assert!(v["protection_error"].is_string());
    assert_eq!(code, 1);

    let out = cmpv2(&[
        "inspect",
        file.to_str().expect("UTF-8"),
        "--secret",
        "pass:wrong",
    ]);
    assert_eq!(exit_code(&out), 1);
    assert!(stdout(&out).contains("\nprotection valid: no ("));
    assert!(stderr(&out).starts_with("cmpv2: "));
}

#[test]
fn a_secret_cannot_check_a_signature() {
    let file = fixture("sig/ir/ip.der");
    let secret = secret_file_arg();
    let (v, code) = inspect_json(&file, &["--secret", &secret]);
    assert_eq!(v["protection_valid"], Value::Null);
    assert!(
        v["protection_error"]
            .as_str()
            .is_some_and(|e| e.contains("cannot check a signature"))
    );
    assert_eq!(code, 1);

    let out = cmpv2(&[
        "inspect",
        file.to_str().expect("UTF-8"),
        "--secret",
        &secret,
    ]);
    assert_eq!(exit_code(&out), 1);
    assert!(
        stdout(&out)
            .contains("protection valid: not checked (a shared secret cannot check a signature")
    );
}

#[test]
fn the_secret_is_never_printed() {
    let pass = format!("pass:{SECRET}");
    let secret_file = secret_file_arg();
    for file in ["mac/ir/ip.der", "sig/ir/ip.der"] {
        let file = fixture(file);
        let file = file.to_str().expect("UTF-8");
        for args in [
            vec!["inspect", file, "--secret", &pass],
            vec!["inspect", file, "--json", "--secret", &pass],
            vec!["inspect", file, "--json", "--secret", &secret_file],
            vec!["inspect", file, "--secret", &secret_file],
        ] {
            let out = cmpv2(&args);
            assert!(!stdout(&out).contains(SECRET), "{args:?}");
            assert!(!stderr(&out).contains(SECRET), "{args:?}");
        }
    }
    // A source without its prefix is a usage error that does not echo it.
    let out = cmpv2(&["inspect", "x.der", "--secret", SECRET]);
    assert_eq!(exit_code(&out), 64);
    assert!(!stderr(&out).contains(SECRET));
}

#[test]
fn unreadable_secret_is_exit_2() {
    let file = fixture("mac/ir/ip.der");
    let out = cmpv2(&[
        "inspect",
        file.to_str().expect("UTF-8"),
        "--secret",
        "file:/nonexistent/cmpv2-secret",
    ]);
    assert_eq!(exit_code(&out), 2);
    assert!(out.stdout.is_empty());
    assert_eq!(stderr(&out).lines().count(), 1);
}

#[test]
fn garbage_is_exit_2_with_one_line() {
    let garbage = TempFile::new("garbage.der", b"\x30\x82\x01\x00this is not a PKIMessage");
    let out = cmpv2(&["inspect", garbage.arg()]);
    assert_eq!(exit_code(&out), 2);
    assert!(out.stdout.is_empty());
    let err = stderr(&out);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("cmpv2: "), "{err}");
    assert!(err.contains(garbage.arg()), "{err}");
    assert!(err.contains("malformed PKIMessage"), "{err}");

    // JSON mode fails the same way: nothing on stdout.
    let out = cmpv2(&["inspect", garbage.arg(), "--json"]);
    assert_eq!(exit_code(&out), 2);
    assert!(out.stdout.is_empty());
}

#[test]
fn truncated_and_trailing_data_are_exit_2() {
    let der = std::fs::read(fixture("mac/ir/ip.der")).expect("fixture");
    let truncated = TempFile::new("truncated.der", &der[..der.len() / 2]);
    let mut long = der.clone();
    long.extend_from_slice(b"\0\0");
    let trailing = TempFile::new("trailing.der", &long);
    let empty = TempFile::new("empty.der", b"");
    for file in [&truncated, &trailing, &empty] {
        let out = cmpv2(&["inspect", file.arg()]);
        assert_eq!(exit_code(&out), 2, "{}", file.arg());
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("cmpv2: "), "{err}");
    }
}

#[test]
fn missing_file_is_exit_2() {
    let out = cmpv2(&["inspect", "/nonexistent/cmpv2/message.der"]);
    assert_eq!(exit_code(&out), 2);
    let err = stderr(&out);
    assert!(
        err.starts_with("cmpv2: /nonexistent/cmpv2/message.der: "),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);
}

#[test]
fn pem_works_like_der() {
    let der_path = fixture("sig/ir/ip.der");
    let der = std::fs::read(&der_path).expect("fixture");
    let pem = der::pem::encode_string("PKIMESSAGE", der::pem::LineEnding::LF, &der)
        .expect("PEM encoding");
    let pem = TempFile::new("ip.pem", format!("\n{pem}").as_bytes());

    let (from_der, c1) = inspect_json(&der_path, &[]);
    let (from_pem, c2) = inspect_json(&pem.0, &[]);
    assert_eq!((c1, c2), (0, 0));
    assert_eq!(from_der, from_pem);

    let text_der = stdout(&cmpv2(&["inspect", der_path.to_str().expect("UTF-8")]));
    let text_pem = stdout(&cmpv2(&["inspect", pem.arg()]));
    assert!(
        text_pem
            .lines()
            .next()
            .is_some_and(|l| l.contains("PEM \"PKIMESSAGE\""))
    );
    // Everything after the first line (which names the file and encoding) is the same.
    let rest = |t: &str| t.lines().skip(1).collect::<Vec<_>>().join("\n");
    assert_eq!(rest(&text_der), rest(&text_pem));

    let broken = TempFile::new("broken.pem", b"-----BEGIN PKIMESSAGE-----\n!!!\n");
    let out = cmpv2(&["inspect", broken.arg()]);
    assert_eq!(exit_code(&out), 2);
    assert!(stderr(&out).contains("malformed PEM"));
}

#[test]
fn text_dump_has_body_and_extra_certs() {
    let out = cmpv2(&["inspect", fixture("sig/ir/ip.der").to_str().expect("UTF-8")]);
    assert_eq!(exit_code(&out), 0);
    let text = stdout(&out);
    for needle in [
        "  pvno:           2 (cmp2000)\n",
        "  sender:         CN=CMP Mock Server\n",
        "  protectionAlg:  ecdsa-with-SHA256 (1.2.840.10045.4.3.2)\n",
        "body: ip (initialization response)\n",
        "    status:         accepted\n",
        "      subject:        CN=CMP End Entity\n",
        "protection: present (",
        "extraCerts:\n  [0] CN=CMP Mock Server\n  [1] CN=CMP Fixture Root CA\n",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }

    let out = cmpv2(&["inspect", fixture("mac/ir/ir.der").to_str().expect("UTF-8")]);
    let text = stdout(&out);
    for needle in [
        "  protectionAlg:  PasswordBasedMac (1.2.840.113533.7.66.13)\n",
        "    iterations:     500\n",
        "  senderKID:      31323334 (\"1234\")\n",
        "body: ir (initialization request)\n",
        "    subject:        CN=CMP End Entity\n",
        "    publicKey:      id-ecPublicKey secp256r1\n",
        "extraCerts:     (none)\n",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
}

/// A PBMAC1-protected genm built with cmp-proto: the PBMAC1 parameters are shown and
/// the MAC verifies.
#[test]
fn pbmac1_message() {
    let protector = Protector::Mac {
        secret: SharedSecret::from(SECRET),
        reference: Some(b"kid-7".to_vec()),
        algorithm: MacAlgorithm::Pbmac1(Pbmac1Settings::default()),
    };
    let name = |s: &str| GeneralName::DirectoryName(s.parse::<Name>().expect("valid DN"));
    let msg = HeaderBuilder::new(name("CN=Test EE"), name("CN=Test CA"))
        .expect("header")
        .build(
            PkiBody::Genm(vec![InfoTypeAndValue::request(oid::IT_CA_CERTS)]),
            Some(&protector),
        )
        .expect("genm");
    let file = TempFile::new("pbmac1.der", &msg.to_der().expect("DER"));

    let (v, code) = inspect_json(&file.0, &["--secret", &format!("pass:{SECRET}")]);
    assert_eq!(code, 0);
    assert_eq!(v["body"], "genm");
    assert_eq!(v["protection"], "PBMAC1");
    assert_eq!(v["protection_params"]["kdf"], "PBKDF2");
    assert_eq!(v["protection_params"]["iterations"], 10_000);
    assert_eq!(v["protection_params"]["prf"], "hmacWithSHA256");
    assert_eq!(v["protection_params"]["mac"], "hmacWithSHA256");
    assert_eq!(v["protection_valid"], true);
    assert_eq!(v["sender"], "CN=Test EE");
    assert_eq!(v["sender_kid"], hex::encode("kid-7"));
    assert_eq!(v["info"][0]["type"], "caCerts");
    assert_eq!(v["info"][0]["value_present"], false);

    let (v, code) = inspect_json(&file.0, &["--secret", "pass:wrong"]);
    assert_eq!(
        (v["protection_valid"].clone(), code),
        (Value::Bool(false), 1)
    );

    let text = stdout(&cmpv2(&["inspect", file.arg()]));
    assert!(
        text.contains("  protectionAlg:  PBMAC1 (1.2.840.113549.1.5.14)\n"),
        "{text}"
    );
    assert!(text.contains("    kdf:            PBKDF2\n"), "{text}");
    assert!(
        text.contains("  senderKID:      6b69642d37 (\"kid-7\")\n"),
        "{text}"
    );
    assert!(text.contains("  [0] caCerts (no value)\n"), "{text}");
}

#[test]
fn usage_errors_are_exit_64() {
    for args in [
        &[][..],
        &["frobnicate"][..],
        &["inspect"][..],
        &["inspect", "a.der", "b.der"][..],
        &["inspect", "a.der", "--bogus"][..],
        &["inspect", "a.der", "--secret"][..],
        &["inspect", "a.der", "--secret", "nope:x"][..],
    ] {
        let out = cmpv2(args);
        assert_eq!(exit_code(&out), 64, "{args:?}");
        let err = stderr(&out);
        assert!(err.starts_with("cmpv2: "), "{err}");
        assert!(err.contains("Usage:"), "{err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn help_and_version() {
    for args in [
        &["help"][..],
        &["--help"][..],
        &["-h"][..],
        &["inspect", "--help"][..],
    ] {
        let out = cmpv2(args);
        assert_eq!(exit_code(&out), 0, "{args:?}");
        let text = stdout(&out);
        assert!(text.contains("cmpv2 inspect FILE [--json] [--secret SRC]"));
        assert!(text.contains("Exit codes:"));
    }
    let out = cmpv2(&["--version"]);
    assert_eq!(exit_code(&out), 0);
    assert_eq!(
        stdout(&out),
        format!("cmpv2 {}\n", env!("CARGO_PKG_VERSION"))
    );
}
