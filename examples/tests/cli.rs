//! Runs the built `cmpv2 enroll|update|revoke|genm` against OpenSSL's mock server
//! (`openssl cmp -port`, one per test) and checks what it wrote, printed and returned.
//! The mock server always issues `ee.pem`, so requests certify `ee.key`.

mod openssl_mock;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use cmp_proto::protection::SigningKey;
use cmp_proto::x509_cert::Certificate;
use openssl_mock::{MockServer, cert, keys};
use serde_json::Value;

fn key_path(file: &str) -> String {
    keys().join(file).display().to_string()
}

fn secret_arg() -> String {
    format!("file:{}", key_path("secret.txt"))
}

fn cmpv2(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cmpv2"))
        .args(args)
        .output()
        .expect("cmpv2 runs")
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("cmpv2 exits normally")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("stderr is UTF-8")
}

/// A fresh directory for one test's files, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("cmpv2-cli-test-{}-{n}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self(dir)
    }

    fn file(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }

    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.0)
            .expect("read dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn certs_in(path: &str) -> Vec<Certificate> {
    Certificate::load_pem_chain(&std::fs::read(path).expect("output file")).expect("PEM certs")
}

/// The MAC credentials the mock server accepts, for `server`.
fn mac_args(server: &MockServer) -> Vec<String> {
    vec![
        "--server".into(),
        server.url(),
        "--secret".into(),
        secret_arg(),
        "--ref".into(),
        "1234".into(),
    ]
}

/// Runs cmpv2 with `base` (owned) and `extra` arguments.
fn run(command: &str, base: &[String], extra: &[&str]) -> Output {
    let mut args: Vec<&str> = vec![command];
    args.extend(base.iter().map(String::as_str));
    args.extend_from_slice(extra);
    cmpv2(&args)
}

/// `cmpv2 inspect --json FILE`.
fn inspect(file: &str) -> Value {
    let out = cmpv2(&["inspect", file, "--json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn assert_ok(out: &Output) {
    assert_eq!(
        code(out),
        0,
        "stdout: {}\nstderr: {}",
        stdout(out),
        stderr(out)
    );
}

#[test]
fn enroll_ir_with_mac_writes_certificate_chain_ca_certs_and_key() {
    let server = MockServer::mac(&[]);
    let dir = TempDir::new("ir");
    let (certout, chainout, caout, keyout) = (
        dir.file("cert.pem"),
        dir.file("chain.pem"),
        dir.file("ca.pem"),
        dir.file("key.pem"),
    );
    let ee_key = key_path("ee.key");
    let out = run(
        "enroll",
        &mac_args(&server),
        &[
            "--newkey",
            &ee_key,
            "--subject",
            "/CN=CMP End Entity",
            "--certout",
            &certout,
            "--chainout",
            &chainout,
            "--cacertsout",
            &caout,
            "--keyout",
            &keyout,
        ],
    );
    assert_ok(&out);
    assert_eq!(certs_in(&certout), vec![cert("ee.pem")]);
    assert_eq!(certs_in(&chainout), vec![cert("root.pem")]);
    assert_eq!(certs_in(&caout), vec![cert("root.pem")]);
    let key =
        SigningKey::from_pem(&std::fs::read_to_string(&keyout).expect("key")).expect("PKCS#8 key");
    assert_eq!(
        key.public_key_info().expect("spki"),
        openssl_mock::key("ee.key").public_key_info().expect("spki")
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&keyout)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let line = stdout(&out);
    assert!(
        line.starts_with("enrolled CN=CMP End Entity serial 0x"),
        "{line}"
    );
    assert!(
        line.contains(" valid until 2123-12-31T23:59:59Z;"),
        "{line}"
    );
    assert!(line.contains(&format!("certificate → {certout}")), "{line}");
    assert_eq!(line.lines().count(), 1);
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    assert_eq!(dir.names(), ["ca.pem", "cert.pem", "chain.pem", "key.pem"]);
}

#[test]
fn mac_requests_name_the_requester_as_sender_unless_told_otherwise() {
    let server = MockServer::mac(&[]);
    let dir = TempDir::new("sender");
    let ee_key = key_path("ee.key");
    let certout = dir.file("cert.pem");
    for (extra, sender) in [
        (&[][..], "CN=CMP End Entity"),
        (&["--sender", "/O=Org/CN=RA"][..], "CN=RA,O=Org"),
        (&["--sender", ""][..], ""),
    ] {
        let reqout = dir.file("ir.der");
        let mut args = vec![
            "--newkey",
            &ee_key,
            "--subject",
            "/CN=CMP End Entity",
            "--certout",
            &certout,
            "--reqout",
            &reqout,
        ];
        args.extend(extra);
        assert_ok(&run("enroll", &mac_args(&server), &args));
        assert_eq!(inspect(&reqout)["sender"], sender, "{extra:?}");
    }
}

/// Runs openssl with `args` in `dir`, asserting success.
fn openssl_in(dir: &TempDir, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(&dir.0)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_signed_request_carries_the_signers_chain_from_untrusted() {
    // root → intermediate → signer, made here; OpenSSL's mock server trusts only the
    // root, so it verifies our cr only if extraCerts bring the intermediate
    // (RFC 9483 §3.3).
    let dir = TempDir::new("signer-chain");
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    openssl_in(
        &dir,
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-subj",
                "/CN=Chain Root",
                "-days",
                "2",
                "-keyout",
                "root.key",
                "-out",
                "root.pem",
            ],
        ]
        .concat(),
    );
    let ca_ext = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n";
    std::fs::write(dir.file("ca.ext"), ca_ext).expect("ext");
    std::fs::write(dir.file("ee.ext"), "keyUsage=critical,digitalSignature\n").expect("ext");
    for (name, subject, issuer, ext) in [
        ("inter", "/CN=Chain Intermediate", "root", "ca.ext"),
        ("signer", "/CN=Chain Signer", "inter", "ee.ext"),
    ] {
        openssl_in(
            &dir,
            &[
                &["req", "-new"][..],
                &ec,
                &[
                    "-subj",
                    subject,
                    "-keyout",
                    &format!("{name}.key"),
                    "-out",
                    &format!("{name}.csr"),
                ],
            ]
            .concat(),
        );
        openssl_in(
            &dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                &format!("{issuer}.pem"),
                "-CAkey",
                &format!("{issuer}.key"),
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                ext,
                "-out",
                &format!("{name}.pem"),
            ],
        );
    }
    let server = MockServer::start(
        &keys(),
        &[
            "-srv_cert",
            "server.pem",
            "-srv_key",
            "server.key",
            "-srv_trusted",
            &dir.file("root.pem"),
            "-rsp_cert",
            "ee.pem",
        ],
    );
    let reqout = dir.file("cr.der");
    let out = run(
        "enroll",
        &[],
        &[
            "--server",
            &server.url(),
            "--cmd",
            "cr",
            "--cert",
            &dir.file("signer.pem"),
            "--key",
            &dir.file("signer.key"),
            "--untrusted",
            &dir.file("inter.pem"),
            "--trusted",
            &key_path("root.pem"),
            "--newkey",
            &key_path("ee.key"),
            "--subject",
            "CN=CMP End Entity",
            "--certout",
            &dir.file("ee.pem"),
            "--reqout",
            &reqout,
        ],
    );
    assert_ok(&out);
    let cr = inspect(&reqout);
    let extra: Vec<&str> = cr["extra_certs"]
        .as_array()
        .expect("extraCerts")
        .iter()
        .map(|c| c.as_str().expect("subject"))
        .collect();
    assert_eq!(
        extra,
        ["CN=Chain Signer", "CN=Chain Intermediate"],
        "no root"
    );
}

#[test]
fn enroll_cr_with_signature_and_a_wrong_trust_anchor() {
    let server = MockServer::sig(&[]);
    let dir = TempDir::new("cr");
    let certout = dir.file("cert.pem");
    let base: Vec<String> = [
        "--server",
        &server.url(),
        "--cmd",
        "cr",
        "--cert",
        &key_path("client.pem"),
        "--key",
        &key_path("client.key"),
        "--newkey",
        &key_path("ee.key"),
        "--subject",
        "CN=CMP End Entity",
        "--certout",
        &certout,
    ]
    .map(String::from)
    .to_vec();

    let out = run("enroll", &base, &["--trusted", &key_path("root.pem")]);
    assert_ok(&out);
    assert_eq!(certs_in(&certout), vec![cert("ee.pem")]);
    assert!(stdout(&out).starts_with("enrolled CN=CMP End Entity"));

    std::fs::remove_file(&certout).expect("remove");
    let out = run("enroll", &base, &["--trusted", &key_path("client.pem")]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.starts_with("cmpv2: signer certificate"), "{err}");
    assert!(err.contains("check --trusted"), "{err}");
    assert_eq!(err.lines().count(), 1);
    assert!(dir.names().is_empty(), "nothing written: {:?}", dir.names());
}

#[test]
fn enroll_p10cr_sends_the_csr() {
    let server = MockServer::mac(&[]);
    let dir = TempDir::new("p10cr");
    let (certout, reqout) = (dir.file("cert.pem"), dir.file("p10cr.der"));
    let out = run(
        "enroll",
        &mac_args(&server),
        &[
            "--cmd",
            "p10cr",
            "--csr",
            &key_path("ee.csr"),
            "--certout",
            &certout,
            "--reqout",
            &reqout,
        ],
    );
    assert_ok(&out);
    assert_eq!(certs_in(&certout), vec![cert("ee.pem")]);
    let request = inspect(&reqout);
    assert_eq!(request["body"], "p10cr");
    assert_eq!(request["subject"], "CN=CMP End Entity");
}

#[test]
fn update_signs_the_kur_with_the_old_certificate() {
    let server = MockServer::sig(&[]);
    let dir = TempDir::new("kur");
    let (certout, reqout) = (dir.file("new.pem"), dir.file("kur.der"));
    let out = cmpv2(&[
        "update",
        "--server",
        &server.url(),
        "--oldcert",
        &key_path("ee.pem"),
        "--key",
        &key_path("ee.key"),
        "--newkey",
        &key_path("ee.key"),
        "--trusted",
        &key_path("root.pem"),
        "--certout",
        &certout,
        "--reqout",
        &reqout,
    ]);
    assert_ok(&out);
    assert_eq!(certs_in(&certout), vec![cert("ee.pem")]);
    assert!(stdout(&out).starts_with("updated CN=CMP End Entity serial 0x"));
    let kur = inspect(&reqout);
    assert_eq!(kur["body"], "kur");
    assert_eq!(kur["sender"], "CN=CMP End Entity", "signed as the old cert");
    assert_eq!(kur["extra_certs"][0], "CN=CMP End Entity");
    assert_ne!(kur["protection"], "PasswordBasedMac");
    assert_eq!(kur["requests"][0]["subject"], "CN=CMP End Entity");
    let controls = kur["requests"][0]["controls"].to_string();
    assert!(controls.contains("oldCertID"), "{controls}");
}

#[test]
fn revoke_without_revreason_sends_unspecified_and_minus_one_sends_none() {
    let server = MockServer::mac(&[]);
    let dir = TempDir::new("rr-default");
    for (extra, reason) in [
        (&[][..], Some("unspecified")),
        (&["--revreason", "-1"][..], None),
    ] {
        let reqout = dir.file("rr.der");
        let ee = key_path("ee.pem");
        let mut args = vec!["--oldcert", &ee, "--reqout", &reqout];
        args.extend(extra);
        let out = run("revoke", &mac_args(&server), &args);
        assert_ok(&out);
        let rr = inspect(&reqout);
        assert_eq!(rr["body"], "rr");
        match reason {
            Some(name) => assert_eq!(rr["revocations"][0]["reason"], name),
            None => assert!(rr["revocations"][0]["reason"].is_null(), "{rr}"),
        }
    }
}

#[test]
fn revoke_sends_rr_with_the_reason() {
    let server = MockServer::mac(&[]);
    let dir = TempDir::new("rr");
    let reqout = dir.file("rr.der");
    let out = run(
        "revoke",
        &mac_args(&server),
        &[
            "--oldcert",
            &key_path("ee.pem"),
            "--revreason",
            "4",
            "--reqout",
            &reqout,
        ],
    );
    assert_ok(&out);
    let line = stdout(&out);
    assert!(
        line.starts_with("revoked CN=CMP End Entity serial 0x"),
        "{line}"
    );
    assert!(
        line.trim_end()
            .ends_with("issued by CN=CMP Fixture Root CA (reason superseded)"),
        "{line}"
    );
    let rr = inspect(&reqout);
    assert_eq!(rr["body"], "rr");
    assert_eq!(rr["revocations"][0]["reason"], "superseded");
    assert_eq!(rr["revocations"][0]["issuer"], "CN=CMP Fixture Root CA");
}

#[test]
fn genm_asks_for_sign_key_pair_types_and_prints_the_answer() {
    let server = MockServer::mac(&[]);
    let dir = TempDir::new("genm");
    let (reqout, rspout) = (dir.file("genm.der"), dir.file("genp.der"));
    let out = run(
        "genm",
        &mac_args(&server),
        &[
            "--infotype",
            "signKeyPairTypes",
            "--reqout",
            &reqout,
            "--rspout",
            &rspout,
        ],
    );
    assert_ok(&out);
    let genm = inspect(&reqout);
    assert_eq!(genm["body"], "genm");
    assert_eq!(genm["info"][0]["type"], "signKeyPairTypes");
    let genp = inspect(&rspout);
    assert_eq!(genp["body"], "genp");
    // OpenSSL's mock server echoes the request: the entry comes back without a value,
    // which the client reads as an empty list.
    assert_eq!(genp["info"][0]["value_present"], false);
    assert_eq!(stdout(&out), "signKeyPairTypes: none\n");
}

#[test]
fn wrong_secret_is_exit_2_and_names_the_secret() {
    let server = MockServer::mac(&[]);
    let dir = TempDir::new("wrong-secret");
    let certout = dir.file("cert.pem");
    let out = cmpv2(&[
        "enroll",
        "--server",
        &server.url(),
        "--secret",
        "pass:not-the-secret",
        "--ref",
        "1234",
        "--newkey",
        &key_path("ee.key"),
        "--subject",
        "/CN=CMP End Entity",
        "--certout",
        &certout,
    ]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.starts_with("cmpv2: "), "{err}");
    assert!(err.contains("--secret"), "{err}");
    assert!(!err.contains("not-the-secret"), "the secret is not echoed");
    assert_eq!(err.lines().count(), 1);
    assert!(stdout(&out).is_empty());
    assert!(dir.names().is_empty());
}

#[test]
fn rejection_is_exit_1_with_the_ca_text() {
    let server = MockServer::mac(&["-pkistatus", "2", "-failure", "9", "-statusstring", "no"]);
    let dir = TempDir::new("rejected");
    let certout = dir.file("cert.pem");
    let out = run(
        "enroll",
        &mac_args(&server),
        &[
            "--newkey",
            &key_path("ee.key"),
            "--subject",
            "/CN=CMP End Entity",
            "--certout",
            &certout,
        ],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let err = stderr(&out);
    assert_eq!(
        err,
        "cmpv2: the CA rejected the request (ip): rejection (badPOP): no\n"
    );
    assert!(dir.names().is_empty());
}

#[test]
fn generated_key_is_not_kept_when_the_enrollment_fails() {
    // The mock server issues ee.pem whatever the key: the client refuses the certificate
    // (certConf with a rejection) and the generated key must not be left behind.
    let server = MockServer::mac(&[]);
    let dir = TempDir::new("genkey");
    let (certout, keyout) = (dir.file("cert.pem"), dir.file("key.pem"));
    let out = run(
        "enroll",
        &mac_args(&server),
        &[
            "--newkey-type",
            "p256",
            "--subject",
            "/CN=CMP End Entity",
            "--certout",
            &certout,
            "--keyout",
            &keyout,
        ],
    );
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("public key is not the one requested"));
    assert!(dir.names().is_empty(), "{:?}", dir.names());
}

#[test]
fn reqout_and_rspout_hold_the_whole_transaction() {
    let server = MockServer::mac(&[]);
    let dir = TempDir::new("trace");
    let names = ["ir.der", "certConf.der", "ip.der", "pkiConf.der"].map(|n| dir.file(n));
    let reqout = format!("{},{}", names[0], names[1]);
    let rspout = format!("{},{}", names[2], names[3]);
    let out = run(
        "enroll",
        &mac_args(&server),
        &[
            "--newkey",
            &key_path("ee.key"),
            "--subject",
            "/CN=CMP End Entity",
            "--certout",
            &dir.file("cert.pem"),
            "--reqout",
            &reqout,
            "--rspout",
            &rspout,
        ],
    );
    assert_ok(&out);
    let bodies: Vec<Value> = names.iter().map(|n| inspect(n)["body"].clone()).collect();
    assert_eq!(bodies, ["ir", "certConf", "ip", "pkiConf"]);
    let ir = inspect(&names[0]);
    assert_eq!(ir["protection"], "PasswordBasedMac");
    assert_eq!(ir["sender_kid"], hex::encode("1234"));
    let ip = inspect(&names[2]);
    assert_eq!(ip["statuses"][0]["status"], "accepted");
    assert_eq!(ip["transaction_id"], ir["transaction_id"]);

    // Replaying the recorded answers fails the checks: they answer another transaction.
    let out = cmpv2(&[
        "enroll",
        "--rspin",
        &rspout,
        "--secret",
        &secret_arg(),
        "--ref",
        "1234",
        "--newkey",
        &key_path("ee.key"),
        "--subject",
        "/CN=CMP End Entity",
        "--certout",
        &dir.file("replayed.pem"),
    ]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("transactionID"), "{}", stderr(&out));
    assert!(!Path::new(&dir.file("replayed.pem")).exists());
}

#[test]
fn unreachable_server_is_exit_3() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let dir = TempDir::new("unreachable");
    let out = cmpv2(&[
        "genm",
        "--server",
        &format!("127.0.0.1:{port}"),
        "--secret",
        "pass:x",
        "--infotype",
        "caCerts",
    ]);
    assert_eq!(code(&out), 3, "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.starts_with(&format!(
            "cmpv2: cannot connect to http://127.0.0.1:{port}/"
        )),
        "{err}"
    );
    assert!(err.contains("check --server"), "{err}");
    drop(dir);
}

#[test]
fn usage_errors_are_exit_64() {
    let dir = TempDir::new("usage");
    let certout = dir.file("cert.pem");
    let mac = ["--server", "127.0.0.1:1", "--secret", "pass:x"];
    let with = |command: &str, extra: &[&str]| {
        let mut args = vec![command];
        args.extend_from_slice(&mac);
        args.extend_from_slice(extra);
        args.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()
    };
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec!["enroll".into()], "missing --server"),
        (with("enroll", &["--bogus"]), "unknown option \"--bogus\""),
        (with("enroll", &["--newkey", "k"]), "missing --certout"),
        (
            with("enroll", &["--certout", &certout]),
            "give --keyout FILE",
        ),
        (
            with("enroll", &["--cmd", "p10cr", "--certout", &certout]),
            "--cmd p10cr needs --csr",
        ),
        (with("enroll", &["--cmd", "xx"]), "--cmd"),
        (
            with(
                "enroll",
                &["--newkey", "k", "--certout", &certout, "--subject", "CN"],
            ),
            "--subject",
        ),
        (
            vec![
                "enroll".into(),
                "--server".into(),
                "ca".into(),
                "--newkey".into(),
                "k".into(),
                "--certout".into(),
                certout.clone(),
            ],
            "no credentials",
        ),
        (
            with("update", &["--newkey", "k", "--certout", &certout]),
            "missing --oldcert",
        ),
        (
            with("revoke", &["--oldcert", "o", "--revreason", "7"]),
            "--revreason 7",
        ),
        (with("genm", &[]), "missing --infotype"),
        (with("genm", &["--infotype", "bogus"]), "--infotype"),
        (
            with("genm", &["--infotype", "caCerts", "--timeout", "0"]),
            "--timeout",
        ),
        (
            with("genm", &["--infotype", "caCerts", "--secret", "pass:y"]),
            "--secret given twice",
        ),
        (with("genm", &["stray"]), "unexpected argument"),
    ];
    for (args, expected) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = cmpv2(&args);
        assert_eq!(code(&out), 64, "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        let first = err.lines().next().unwrap_or_default();
        assert!(first.starts_with("cmpv2: "), "{args:?}: {err}");
        assert!(first.contains(expected), "{args:?}: {first}");
        assert!(err.contains("Usage:"), "{err}");
        assert!(out.stdout.is_empty());
    }
    assert!(dir.names().is_empty());
}

#[test]
fn help_lists_the_client_commands_and_exit_codes() {
    let out = cmpv2(&["enroll", "--help"]);
    assert_ok(&out);
    let text = stdout(&out);
    for needle in [
        "cmpv2 enroll",
        "--newkey-type",
        "--tls-trusted",
        "--rspin",
        "Exit codes:",
        "3   transport failure",
    ] {
        assert!(text.contains(needle), "{needle}");
    }
    let out = cmpv2(&["help"]);
    assert_ok(&out);
    let text = stdout(&out);
    for needle in [
        "cmpv2 update",
        "cmpv2 revoke",
        "cmpv2 genm",
        "--revreason",
        "--infotype",
    ] {
        assert!(text.contains(needle), "{needle}");
    }
}

/// `openssl pkcs12 -in FILE -passin PASS EXTRA...`: (success, stdout).
fn openssl_pkcs12(file: &str, passin: &str, extra: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(["pkcs12", "-in", file, "-passin", passin])
        .args(extra)
        .output()
        .expect("openssl runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn enroll_writes_pkcs12_keystore_and_truststore_with_a_generated_password() {
    let server = MockServer::mac(&[]);
    let dir = TempDir::new("p12");
    let (certout, ks, ts) = (dir.file("cert.pem"), dir.file("ks.p12"), dir.file("ts.p12"));
    let ee_key = key_path("ee.key");
    let out = run(
        "enroll",
        &mac_args(&server),
        &[
            "--newkey",
            &ee_key,
            "--subject",
            "/CN=CMP End Entity",
            "--certout",
            &certout,
            "--p12out",
            &ks,
            "--p12-truststore-out",
            &ts,
        ],
    );
    assert_ok(&out);
    let pass_file = format!("{ks}.pass");
    let password = std::fs::read_to_string(&pass_file).expect("generated password");
    let password = password.trim_end();
    assert_eq!(password.len(), 24);
    let line = stdout(&out);
    assert!(
        !line.contains(password),
        "the password is not printed: {line}"
    );
    assert!(
        line.contains(&format!("generated PKCS#12 password → {pass_file}")),
        "{line}"
    );
    assert!(line.contains(&format!("PKCS#12 keystore → {ks}")), "{line}");
    assert!(
        line.contains(&format!("PKCS#12 truststore (1) → {ts}")),
        "{line}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        for file in [&pass_file, &ks, &ts] {
            let mode = std::fs::metadata(file).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{file}");
        }
    }
    let passin = format!("file:{pass_file}");
    assert!(openssl_pkcs12(&ks, &passin, &["-noout"]).0, "keystore MAC");
    assert!(
        !openssl_pkcs12(&ks, "pass:wrong", &["-noout"]).0,
        "wrong password"
    );
    let (ok, keys) = openssl_pkcs12(&ks, &passin, &["-nocerts", "-nodes"]);
    assert!(ok);
    let key = SigningKey::from_pem(
        keys.get(keys.find("-----BEGIN PRIVATE KEY-----").expect("a key")..)
            .expect("slice"),
    )
    .expect("PKCS#8 key");
    assert_eq!(
        key.public_key_info().expect("spki"),
        openssl_mock::key("ee.key").public_key_info().expect("spki")
    );
    let (ok, certs) = openssl_pkcs12(&ks, &passin, &["-nokeys"]);
    assert!(ok);
    assert_eq!(certs.matches("BEGIN CERTIFICATE").count(), 2, "{certs}");
    assert!(certs.contains("friendlyName: CMP End Entity"), "{certs}");
    let (ok, trust) = openssl_pkcs12(&ts, &passin, &["-nodes"]);
    assert!(ok);
    assert_eq!(trust.matches("BEGIN CERTIFICATE").count(), 1, "{trust}");
    assert!(
        trust.contains("friendlyName: CMP Fixture Root CA"),
        "{trust}"
    );
    assert!(!trust.contains("PRIVATE KEY"), "{trust}");
    assert_eq!(dir.names(), ["cert.pem", "ks.p12", "ks.p12.pass", "ts.p12"]);
}

#[test]
fn enroll_pkcs12_with_a_given_password_writes_no_password_file() {
    let server = MockServer::mac(&[]);
    let dir = TempDir::new("p12-pass");
    let (certout, ks) = (dir.file("cert.pem"), dir.file("ks.p12"));
    let ee_key = key_path("ee.key");
    let out = run(
        "enroll",
        &mac_args(&server),
        &[
            "--newkey",
            &ee_key,
            "--subject",
            "/CN=CMP End Entity",
            "--certout",
            &certout,
            "--p12out",
            &ks,
            "--p12-password",
            "pass:given-Password-1",
        ],
    );
    assert_ok(&out);
    assert!(!stdout(&out).contains("given-Password-1"));
    assert!(openssl_pkcs12(&ks, "pass:given-Password-1", &["-noout"]).0);
    assert_eq!(dir.names(), ["cert.pem", "ks.p12"]);
}
