//! `cmpv2 probe` against the two CMP servers of this machine: `cmpv2 serve` (our test
//! CA, which knows every message) and OpenSSL 3.0's mock server (which echoes genm
//! info types without values and speaks neither pvno 3 nor PBMAC1). Each test asserts
//! what the probe found out, and that it left no certificate behind (or, with
//! `--enroll`, revoked everything it got).

use std::io::{BufRead as _, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use openssl_peer::MockServer;
use serde_json::Value;

const REF: &str = "1234";
const SECRET: &str = "pass:probe-test-secret";

fn cmpv2(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cmpv2"))
        .args(args)
        .output()
        .expect("cmpv2 runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `cmpv2 probe ARGS --json`, asserts exit code 0 and returns the JSON.
fn probe_json(args: &[&str]) -> Value {
    let mut all = vec!["probe", "--json"];
    all.extend_from_slice(args);
    let out = cmpv2(&all);
    assert_eq!(
        out.status.code(),
        Some(0),
        "cmpv2 {all:?}\nstdout: {}\nstderr: {}",
        text(&out.stdout),
        text(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object")
}

/// The verdict of finding `key`.
fn fact<'a>(report: &'a Value, key: &str) -> &'a str {
    report["facts"][key]
        .as_str()
        .unwrap_or_else(|| panic!("no finding {key:?} in {:#}", report["facts"]))
}

/// A running `cmpv2 serve` with its own `--dir`, killed and removed on drop.
struct Serve {
    child: Child,
    _stdout: BufReader<ChildStdout>,
    url: String,
    dir: PathBuf,
}

impl Serve {
    fn start(name: &str, extra: &[&str]) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "cmpv2-probe-test-{}-{n}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let ca = dir.join("ca").display().to_string();
        let mut child = Command::new(env!("CARGO_BIN_EXE_cmpv2"))
            .args(["serve", "--listen", "127.0.0.1:0", "--dir", &ca])
            .args(["--ref", REF, "--secret", SECRET])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("cmpv2 serve starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let read = reader.read_line(&mut line);
            let _ = tx.send((read.map(|_| line), reader));
        });
        let Ok((Ok(line), reader)) = rx.recv_timeout(Duration::from_secs(30)) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("cmpv2 serve did not get ready");
        };
        let Some(url) = line
            .trim_end()
            .strip_prefix("cmpv2 serve: listening on ")
            .map(|u| format!("{u}pkix/"))
        else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("unexpected first line {line:?}");
        };
        Self {
            child,
            _stdout: reader,
            url,
            dir,
        }
    }

    /// The probe's MAC credentials for this server.
    fn args(&self) -> Vec<&str> {
        vec!["--server", &self.url, "--ref", REF, "--secret", SECRET]
    }

    /// Serial numbers in one of the CA's logs (`issued.log`, `revoked.log`).
    fn serials(&self, log: &str) -> Vec<String> {
        let path = self.dir.join("ca").join(log);
        std::fs::read_to_string(&path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
            .collect()
    }

    fn ca_pem(&self) -> String {
        self.dir.join("ca/ca.pem").display().to_string()
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn assert_no_certificate_left(serve: &Serve) {
    let revoked = serve.serials("revoked.log");
    for serial in serve.serials("issued.log") {
        assert!(
            revoked.contains(&serial),
            "certificate {serial} was left unrevoked"
        );
    }
}

#[test]
fn probe_of_cmpv2_serve_finds_genm_mac_answers_and_mac_limits_and_issues_nothing() {
    let serve = Serve::start("plain", &[]);
    let report = probe_json(&serve.args());

    assert_eq!(fact(&report, "genm"), "supported");
    assert_eq!(
        fact(&report, "genm.certReqTemplate"),
        "answered with a value"
    );
    assert_eq!(fact(&report, "genm.currentCRL"), "answered with a value");
    assert_eq!(fact(&report, "pvno3"), "accepted");
    // Our server answers a MAC with a MAC, and signs what it cannot authenticate.
    assert_eq!(fact(&report, "answers.positive"), "MAC");
    assert_eq!(fact(&report, "answers.refusal"), "MAC");
    assert_eq!(
        fact(&report, "answers.unauthenticated"),
        "refused, signature"
    );
    assert_eq!(fact(&report, "pop"), "checked (refused: badPOP)");
    for accepted in [
        "mac.pbm-sha256-hmac-sha256-500",
        "mac.pbm-sha256-hmac-sha1-500",
        "mac.pbm-sha1-hmac-sha1-500",
        "mac.pbm-sha256-hmac-sha256-2047",
        "mac.pbm-sha256-hmac-sha256-10000",
        "mac.pbmac1-sha256-10000",
    ] {
        assert_eq!(fact(&report, accepted), "accepted", "{accepted}");
    }
    // Limits::max_pbm_iterations is 100,000.
    assert_eq!(
        fact(&report, "mac.pbm-sha256-hmac-sha256-262144"),
        "refused"
    );
    assert_eq!(
        fact(&report, "implicit_confirm"),
        "not probed (needs --enroll)"
    );
    assert_eq!(report["health_check"], "GeneralMessage");
    assert_eq!(report["compatibility"]["acceptUnprotectedErrors"], false);
    // The MAC answers verified, the signed one only against its own certificate.
    let unverified: Vec<&Value> = report["exchanges"]
        .as_array()
        .expect("exchanges")
        .iter()
        .filter(|e| e["answer"]["verified"] != true)
        .collect();
    assert!(
        unverified
            .iter()
            .all(|e| e["answer"]["protection"] == "signature"),
        "{unverified:#?}"
    );
    // Nothing was issued: every ir carried an invalid proof-of-possession.
    assert_eq!(serve.serials("issued.log"), Vec::<String>::new());
}

#[test]
fn probe_with_enroll_sees_polling_implicit_confirm_and_p10cr_id_and_revokes_all() {
    let serve = Serve::start("enroll", &["--poll", "1", "--implicit-confirm"]);
    let ca_pem = serve.ca_pem();
    let mut args = serve.args();
    args.extend(["--enroll", "--trusted", &ca_pem]);
    let report = probe_json(&args);

    assert_eq!(fact(&report, "implicit_confirm"), "granted");
    assert_eq!(
        fact(&report, "p10cr_cert_req_id"),
        "-1 (as RFC 9483 §4.1.4 says)"
    );
    assert!(
        fact(&report, "polling").starts_with("the CA asked to wait"),
        "{}",
        fact(&report, "polling")
    );
    assert_eq!(
        fact(&report, "revocation"),
        "revoked all 2 certificates enrolled"
    );
    // With --trusted even the signed refusal verifies.
    assert_eq!(
        report["exchanges"]
            .as_array()
            .expect("exchanges")
            .iter()
            .filter(|e| e["answer"]["verified"] != true)
            .count(),
        0,
        "{:#}",
        report["exchanges"]
    );
    assert_eq!(report["compatibility"]["strictP10crCertReqId"], true);
    let flags: Vec<&str> = report["enroll_flags"]
        .as_array()
        .expect("flags")
        .iter()
        .filter_map(|f| f["flag"].as_str())
        .collect();
    assert!(flags.contains(&"--implicit-confirm"), "{flags:?}");
    assert!(flags.contains(&"--strict-p10cr-id"), "{flags:?}");
    let enrolled = report["enrolled"].as_array().expect("enrolled");
    assert_eq!(enrolled.len(), 2);
    assert!(
        enrolled.iter().all(|e| e["revoked"] == true),
        "{enrolled:#?}"
    );

    assert_eq!(serve.serials("issued.log").len(), 2);
    assert_no_certificate_left(&serve);
}

#[test]
fn probe_prints_a_table_the_enroll_options_and_the_issuer_block() {
    let serve = Serve::start("text", &[]);
    let mut args = vec!["probe"];
    args.extend(serve.args());
    let out = cmpv2(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for expected in [
        "PROPERTY",
        "general messages (genm)",
        "supported",
        "MAC: PBM SHA-256/HMAC-SHA256, 262,144 it.",
        "cmpv2 enroll options for this CA:",
        // Its refusals of a wrong secret are signed: --trusted reads them.
        "--trusted FILE",
        "spec:\n  compatibility:\n    acceptUnprotectedErrors: false\n",
        "  healthCheck: GeneralMessage\n",
    ] {
        assert!(stdout.contains(expected), "{expected:?} in\n{stdout}");
    }
    assert_eq!(serve.serials("issued.log"), Vec::<String>::new());
}

#[test]
fn probe_finds_the_mac_iteration_limit_even_when_its_own_mac_is_refused() {
    // The server takes at most 2,047 iterations; the probe itself sends 4,000, so its
    // own requests are refused before the POP check, and the variants still tell.
    let serve = Serve::start("limits", &["--max-mac-iterations", "2047"]);
    let mut args = serve.args();
    args.extend(["--mac-iterations", "4000"]);
    let report = probe_json(&args);

    assert_eq!(fact(&report, "pop"), "unknown: refused for another reason");
    assert_eq!(
        fact(&report, "genm"),
        "unknown (our protection was refused)"
    );
    // Asked again under the first MAC the server took.
    assert_eq!(fact(&report, "pvno3"), "accepted");
    for accepted in [
        "mac.pbm-sha256-hmac-sha256-500",
        "mac.pbm-sha256-hmac-sha1-500",
        "mac.pbm-sha1-hmac-sha1-500",
        "mac.pbm-sha256-hmac-sha256-2047",
    ] {
        assert_eq!(fact(&report, accepted), "accepted", "{accepted}");
    }
    for refused in [
        "mac.pbm-sha256-hmac-sha256-10000",
        "mac.pbm-sha256-hmac-sha256-262144",
        "mac.pbmac1-sha256-10000",
    ] {
        assert_eq!(fact(&report, refused), "refused", "{refused}");
    }
    assert_eq!(serve.serials("issued.log"), Vec::<String>::new());
}

#[test]
fn probe_of_openssl_mock_server_finds_echoed_info_types_and_no_pvno3_or_pbmac1() {
    let server = MockServer::mac(&[]);
    let secret = format!(
        "file:{}",
        openssl_peer::keys_dir().join("secret.txt").display()
    );
    let report = probe_json(&["--server", &server.url(), "--ref", REF, "--secret", &secret]);

    assert_eq!(fact(&report, "genm"), "supported");
    // The mock server echoes every info type without a value.
    for info in ["certReqTemplate", "signKeyPairTypes", "currentCRL"] {
        assert_eq!(
            fact(&report, &format!("genm.{info}")),
            "answered without a value"
        );
    }
    assert_eq!(fact(&report, "pvno3"), "refused");
    assert_eq!(fact(&report, "answers.positive"), "MAC");
    assert_eq!(fact(&report, "answers.refusal"), "MAC");
    assert_eq!(fact(&report, "answers.unauthenticated"), "refused, MAC");
    assert_eq!(fact(&report, "pop"), "checked (refused: badPOP)");
    assert_eq!(fact(&report, "mac.pbm-sha256-hmac-sha1-500"), "accepted");
    assert_eq!(fact(&report, "mac.pbm-sha256-hmac-sha256-500"), "accepted");
    // OpenSSL caps PBM at 100,000 iterations and takes PBMAC1 for a signature.
    assert_eq!(
        fact(&report, "mac.pbm-sha256-hmac-sha256-262144"),
        "refused"
    );
    assert_eq!(fact(&report, "mac.pbmac1-sha256-10000"), "refused");
    assert_eq!(report["health_check"], "GeneralMessage");
    assert_eq!(
        report["enroll_flags"].as_array().map(Vec::len),
        Some(0),
        "{:#}",
        report["enroll_flags"]
    );
}

#[test]
fn probe_of_openssl_signature_mock_server_describes_signed_answers() {
    let server = MockServer::sig(&[]);
    let keys = openssl_peer::keys_dir();
    let file = |name: &str| keys.join(name).display().to_string();
    let report = probe_json(&[
        "--server",
        &server.url(),
        "--cert",
        &file("client.pem"),
        "--key",
        &file("client.key"),
        "--trusted",
        &file("root.pem"),
    ]);
    assert_eq!(report["credentials"], "signature");
    assert_eq!(fact(&report, "answers.positive"), "signature");
    assert_eq!(fact(&report, "answers.refusal"), "signature");
    assert_eq!(
        fact(&report, "answers.unauthenticated"),
        "refused, signature"
    );
    assert_eq!(fact(&report, "mac"), "not probed (signature credentials)");
    let signers: Vec<&Value> = report["exchanges"]
        .as_array()
        .expect("exchanges")
        .iter()
        .map(|e| &e["answer"]["signer"])
        .collect();
    assert!(
        signers.iter().all(|s| *s == "CN=CMP Mock Server"),
        "{signers:?}"
    );
}

#[test]
fn probe_of_nothing_exits_3_and_bad_usage_64() {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let url = format!("http://127.0.0.1:{port}/");
    let out = cmpv2(&["probe", "--server", &url, "--secret", SECRET]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("cannot connect"),
        "{}",
        text(&out.stderr)
    );

    let out = cmpv2(&["probe", "--server", &url]);
    assert_eq!(out.status.code(), Some(64), "{}", text(&out.stderr));

    let out = cmpv2(&["help", "probe"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("--enroll"));
}
