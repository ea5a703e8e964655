//! `openssl cmp` (OpenSSL 3.0, the reference client) against `cmpv2 serve`: every request
//! kind, MAC and signature protection, polling and implicit confirmation, each checked
//! by what the client ends up holding (the certificate's key, subject and chain, the
//! CRL, the messages it sent), not only by exit codes.
//!
//! Each test starts its own server on port 0 with a fresh `--dir`, so tests run in
//! parallel; the server is killed and the directory removed on drop.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::Value;

/// The MAC credential every server accepts.
const REF: &str = "1234";
const SECRET: &str = "pass:serve-interop-secret";

/// The HTTP path most tests use (OpenSSL's `-path` takes it without the leading slash).
const PKIX: &str = "pkix/";

fn keys(file: &str) -> String {
    openssl_peer::keys_dir().join(file).display().to_string()
}

/// A fresh directory for one test, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!(
            "cmpv2-serve-interop-{}-{n}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running `cmpv2 serve`, killed on drop, with its scratch directory: the CA's
/// `--dir` is `ca/` in it, the server's stderr `serve.log`, and the clients' files
/// live beside them.
struct Serve {
    child: Child,
    /// Kept open so the server never writes to a closed pipe.
    _stdout: BufReader<ChildStdout>,
    /// `127.0.0.1:PORT`.
    addr: String,
    /// Dropped after the child is killed (fields drop after `Drop::drop`).
    scratch: Scratch,
}

impl Serve {
    /// Starts `cmpv2 serve` accepting the MAC credential, plus `extra` options, and waits
    /// for its "listening" line.
    fn start(name: &str, extra: &[&str]) -> Self {
        let scratch = Scratch::new(name);
        let log = std::fs::File::create(scratch.0.join("serve.log")).expect("log file");
        let ca_dir = scratch.0.join("ca").display().to_string();
        let mut child = Command::new(env!("CARGO_BIN_EXE_cmpv2"))
            .args(["serve", "--listen", "127.0.0.1:0", "--dir", &ca_dir])
            .args(["--ref", REF, "--secret", SECRET])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("cmpv2 serve starts");
        let stdout = child.stdout.take().expect("piped stdout");
        // Read the line on a thread so that a server that never gets ready fails the
        // test instead of hanging it.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let read = reader.read_line(&mut line);
            let _ = tx.send((read.map(|_| line), reader));
        });
        let received = rx.recv_timeout(Duration::from_secs(30));
        let log_text = || std::fs::read_to_string(scratch.0.join("serve.log")).unwrap_or_default();
        let Ok((Ok(line), reader)) = received else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("cmpv2 serve did not get ready; its stderr:\n{}", log_text());
        };
        let addr = line
            .trim_end()
            .strip_prefix("cmpv2 serve: listening on http://")
            .and_then(|rest| rest.strip_suffix('/'))
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!("unexpected first line {line:?}; stderr:\n{}", log_text())
            })
            .to_owned();
        Self {
            child,
            _stdout: reader,
            addr,
            scratch,
        }
    }

    /// A path in the scratch directory.
    fn file(&self, name: &str) -> String {
        self.scratch.0.join(name).display().to_string()
    }

    /// `DIR/ca.pem`: issuing CA, root and the CMP server's protection certificate.
    fn ca_pem(&self) -> String {
        self.scratch.0.join("ca/ca.pem").display().to_string()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.scratch.0.join("serve.log")).unwrap_or_default()
    }

    /// Runs `openssl cmp -config '' -server ADDR -path PATH ARGS`.
    fn try_openssl_cmp(&self, path: &str, args: &[&str]) -> Output {
        Command::new("openssl")
            .args(["cmp", "-config", "", "-server", &self.addr, "-path", path])
            // Bounds a hang to a failure (OpenSSL's default is 120 s per message).
            .args(["-msg_timeout", "20", "-total_timeout", "60"])
            .args(args)
            .current_dir(&self.scratch.0)
            .output()
            .expect("openssl is installed")
    }

    /// As [`Self::try_openssl_cmp`], and asserts success.
    fn openssl_cmp(&self, path: &str, args: &[&str]) -> Output {
        let out = self.try_openssl_cmp(path, args);
        assert!(
            out.status.success(),
            "openssl cmp {args:?} failed ({})\nstdout: {}\nstderr: {}\nserver stderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log(),
        );
        out
    }

    /// Generates a P-256 key into the scratch directory.
    fn new_key(&self, name: &str) -> String {
        let file = self.file(name);
        openssl(&[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            &file,
        ]);
        file
    }

    /// An ir with MAC for a fresh key and `/CN=cn`: returns (certificate, key) files.
    fn enroll_with_mac(&self, cn: &str) -> (String, String) {
        let key = self.new_key(&format!("{cn}.key"));
        let cert = self.file(&format!("{cn}.pem"));
        let subject = format!("/CN={cn}");
        self.openssl_cmp(
            PKIX,
            &mac(&[
                "-cmd",
                "ir",
                "-recipient",
                "/CN=anything",
                "-newkey",
                &key,
                "-subject",
                &subject,
                "-certout",
                &cert,
            ]),
        );
        (cert, key)
    }

    /// Asserts that `cert` certifies the public key `public_key` (PEM) for `subject`
    /// (RFC 2253) and chains to the CA certificates in `DIR/ca.pem`.
    fn assert_issued(&self, cert: &str, public_key: &str, subject: &str) {
        assert_eq!(cert_public_key(cert), public_key, "public key of {cert}");
        assert_eq!(subject_of(cert), subject, "subject of {cert}");
        let out = openssl(&["verify", "-CAfile", &self.ca_pem(), cert]);
        assert_eq!(stdout(&out).trim(), format!("{cert}: OK"));
    }

    /// `cmpv2 genm crlStatusList` for `cert` with MAC, the CRL written to `crl`.
    fn fetch_crl(&self, cert: &str, crl: &str) {
        let url = format!("http://{}/pkix/", self.addr);
        let out = cmpv2(&[
            "genm",
            "--server",
            &url,
            "--ref",
            REF,
            "--secret",
            SECRET,
            "--infotype",
            "crlStatusList",
            "--crlcert",
            cert,
            "--crlout",
            crl,
        ]);
        assert!(
            out.status.success(),
            "cmpv2 genm failed: {}\nserver stderr:\n{}",
            stderr(&out),
            self.log()
        );
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The MAC credential's options followed by `args`.
fn mac<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut all = vec!["-ref", REF, "-secret", SECRET];
    all.extend_from_slice(args);
    all
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs `openssl ARGS` and asserts success.
fn openssl(args: &[&str]) -> Output {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl is installed");
    assert!(
        out.status.success(),
        "openssl {args:?} failed\nstdout: {}\nstderr: {}",
        stdout(&out),
        stderr(&out)
    );
    out
}

fn cmpv2(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cmpv2"))
        .args(args)
        .output()
        .expect("cmpv2 runs")
}

/// `cmpv2 inspect FILE --json`.
fn inspect(file: &str) -> Value {
    let out = cmpv2(&["inspect", file, "--json"]);
    assert!(out.status.success(), "inspect {file}: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

fn body_type(file: &str) -> String {
    inspect(file)["body"].as_str().expect("body").to_owned()
}

fn cert_public_key(cert: &str) -> String {
    stdout(&openssl(&["x509", "-in", cert, "-pubkey", "-noout"]))
}

fn key_public_key(key: &str) -> String {
    stdout(&openssl(&["pkey", "-in", key, "-pubout"]))
}

fn csr_public_key(csr: &str) -> String {
    stdout(&openssl(&["req", "-in", csr, "-pubkey", "-noout"]))
}

/// The subject as RFC 2253 text, e.g. `CN=x`.
fn subject_of(cert: &str) -> String {
    let text = stdout(&openssl(&[
        "x509", "-in", cert, "-noout", "-subject", "-nameopt", "RFC2253",
    ]));
    text.trim()
        .strip_prefix("subject=")
        .expect("subject= line")
        .to_owned()
}

/// The serial number in OpenSSL's hex, as `openssl crl -text` prints it too.
fn serial_of(cert: &str) -> String {
    let text = stdout(&openssl(&["x509", "-in", cert, "-noout", "-serial"]));
    text.trim()
        .strip_prefix("serial=")
        .expect("serial= line")
        .to_owned()
}

/// The serial numbers listed in a CRL.
fn crl_serials(crl: &str) -> Vec<String> {
    stdout(&openssl(&["crl", "-in", crl, "-noout", "-text"]))
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Serial Number: "))
        .map(str::to_owned)
        .collect()
}

fn exists(file: &str) -> bool {
    Path::new(file).exists()
}

#[test]
fn ir_with_mac_certifies_the_requested_key_and_subject_under_the_ca() {
    let serve = Serve::start("ir-mac", &[]);
    let key = serve.new_key("key.pem");
    let cert = serve.file("cert.pem");
    let ip = serve.file("ip.der");
    serve.openssl_cmp(
        PKIX,
        &mac(&[
            "-cmd",
            "ir",
            "-recipient",
            "/CN=anything",
            "-newkey",
            &key,
            "-subject",
            "/CN=ir-mac.example",
            "-certout",
            &cert,
            "-rspout",
            &ip,
        ]),
    );
    serve.assert_issued(&cert, &key_public_key(&key), "CN=ir-mac.example");
    let ip = inspect(&ip);
    assert_eq!(ip["body"], "ip");
    assert_eq!(ip["protection"], "PasswordBasedMac", "answered with MAC");
}

#[test]
fn ir_signed_by_a_trusted_client_on_a_well_known_path_gets_a_signed_ip() {
    let serve = Serve::start("ir-sig", &["--trusted", &keys("root.pem")]);
    let key = serve.new_key("key.pem");
    let cert = serve.file("cert.pem");
    let ip = serve.file("ip.der");
    let (client_cert, client_key, ca) = (keys("client.pem"), keys("client.key"), serve.ca_pem());
    serve.openssl_cmp(
        ".well-known/cmp/p/label/initialization",
        &[
            "-cmd",
            "ir",
            "-cert",
            &client_cert,
            "-key",
            &client_key,
            "-trusted",
            &ca,
            "-newkey",
            &key,
            "-subject",
            "/CN=ir-sig.example",
            "-certout",
            &cert,
            "-rspout",
            &ip,
        ],
    );
    serve.assert_issued(&cert, &key_public_key(&key), "CN=ir-sig.example");
    let ip = inspect(&ip);
    assert_eq!(ip["body"], "ip");
    assert_ne!(
        ip["protection"], "PasswordBasedMac",
        "answered with a signature"
    );
    assert!(ip["protection"].is_string(), "{ip}");
}

#[test]
fn cr_on_an_ejbca_path_and_p10cr_with_mac_certify_the_requested_keys() {
    let serve = Serve::start("cr-p10cr", &[]);
    let key = serve.new_key("key.pem");
    let cr_cert = serve.file("cr.pem");
    serve.openssl_cmp(
        "ejbca/publicweb/cmp/alias",
        &mac(&[
            "-cmd",
            "cr",
            "-recipient",
            "/CN=anything",
            "-newkey",
            &key,
            "-subject",
            "/CN=cr.example/O=Interop",
            "-certout",
            &cr_cert,
        ]),
    );
    serve.assert_issued(&cr_cert, &key_public_key(&key), "O=Interop,CN=cr.example");

    let csr = keys("ee.csr");
    let p10_cert = serve.file("p10.pem");
    serve.openssl_cmp(
        PKIX,
        &mac(&[
            "-cmd",
            "p10cr",
            "-recipient",
            "/CN=anything",
            "-csr",
            &csr,
            "-certout",
            &p10_cert,
        ]),
    );
    serve.assert_issued(&p10_cert, &csr_public_key(&csr), "CN=CMP End Entity");
}

#[test]
fn kur_signed_with_the_old_certificate_and_kur_with_mac_certify_the_new_keys() {
    let serve = Serve::start("kur", &[]);
    let (old, old_key) = serve.enroll_with_mac("kur.example");
    let ca = serve.ca_pem();

    let new_key = serve.new_key("new.key");
    let new = serve.file("new.pem");
    serve.openssl_cmp(
        PKIX,
        &[
            "-cmd", "kur", "-oldcert", &old, "-cert", &old, "-key", &old_key, "-trusted", &ca,
            "-newkey", &new_key, "-certout", &new,
        ],
    );
    serve.assert_issued(&new, &key_public_key(&new_key), "CN=kur.example");
    assert_ne!(serial_of(&new), serial_of(&old));

    let newer_key = serve.new_key("newer.key");
    let newer = serve.file("newer.pem");
    serve.openssl_cmp(
        PKIX,
        &mac(&[
            "-cmd", "kur", "-oldcert", &new, "-newkey", &newer_key, "-certout", &newer,
        ]),
    );
    serve.assert_issued(&newer, &key_public_key(&newer_key), "CN=kur.example");
    assert_ne!(serial_of(&newer), serial_of(&new));
}

#[test]
fn rr_with_mac_and_rr_signed_by_the_certificate_put_both_serials_on_a_verifying_crl() {
    let serve = Serve::start("rr", &[]);
    let (by_mac, _) = serve.enroll_with_mac("rr-mac.example");
    let (by_sig, by_sig_key) = serve.enroll_with_mac("rr-sig.example");
    let (kept, _) = serve.enroll_with_mac("kept.example");
    let ca = serve.ca_pem();

    let rp = serve.file("rp-mac.der");
    serve.openssl_cmp(
        PKIX,
        &mac(&[
            "-cmd",
            "rr",
            "-oldcert",
            &by_mac,
            "-revreason",
            "1",
            "-rspout",
            &rp,
        ]),
    );
    let rp = inspect(&rp);
    assert_eq!(rp["body"], "rp");
    assert_eq!(rp["statuses"][0]["status"], "accepted", "{rp}");

    serve.openssl_cmp(
        PKIX,
        &[
            "-cmd",
            "rr",
            "-oldcert",
            &by_sig,
            "-cert",
            &by_sig,
            "-key",
            &by_sig_key,
            "-trusted",
            &ca,
            "-revreason",
            "1",
        ],
    );

    let crl = serve.file("crl.pem");
    serve.fetch_crl(&by_mac, &crl);
    let listed = crl_serials(&crl);
    assert!(listed.contains(&serial_of(&by_mac)), "{listed:?}");
    assert!(listed.contains(&serial_of(&by_sig)), "{listed:?}");
    assert!(!listed.contains(&serial_of(&kept)), "{listed:?}");
    let out = openssl(&["crl", "-in", &crl, "-CAfile", &ca, "-noout", "-verify"]);
    assert!(
        stderr(&out).contains("verify OK") || stdout(&out).contains("verify OK"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn genm_with_mac_and_with_signature_gets_genp_values() {
    let serve = Serve::start("genm", &["--trusted", &keys("root.pem")]);
    let (client_cert, client_key, ca) = (keys("client.pem"), keys("client.key"), serve.ca_pem());
    let signature = [
        "-cert",
        client_cert.as_str(),
        "-key",
        client_key.as_str(),
        "-trusted",
        ca.as_str(),
    ];
    let with_mac = mac(&["-recipient", "/CN=anything"]);
    for (infotype, credentials, name) in [
        ("signKeyPairTypes", &with_mac[..], "mac-skpt"),
        ("caCerts", &with_mac[..], "mac-cacerts"),
        ("signKeyPairTypes", &signature[..], "sig-skpt"),
        ("caCerts", &signature[..], "sig-cacerts"),
    ] {
        let genp = serve.file(&format!("{name}.der"));
        let mut args = vec!["-cmd", "genm", "-infotype", infotype, "-rspout", &genp];
        args.extend_from_slice(credentials);
        serve.openssl_cmp(PKIX, &args);
        let genp = inspect(&genp);
        assert_eq!(genp["body"], "genp", "{name}");
        let info = genp["info"].as_array().expect("info");
        assert_eq!(info.len(), 1, "{name}: {genp}");
        assert_eq!(info[0]["type"], infotype, "{name}");
        assert_eq!(info[0]["value_present"], true, "{name}: {genp}");
        if infotype == "caCerts" {
            let certs = info[0]["ca_certs"].as_array().expect("ca_certs");
            assert!(!certs.is_empty(), "{name}: {genp}");
        }
    }
}

#[test]
fn ir_is_polled_for_until_the_ca_decides() {
    let serve = Serve::start("poll", &["--poll", "2", "--check-after", "1"]);
    let key = serve.new_key("key.pem");
    let cert = serve.file("cert.pem");
    // More names than messages: OpenSSL fails when it runs out of them.
    let names: Vec<String> = (1..=8)
        .map(|i| serve.file(&format!("req{i}.der")))
        .collect();
    let reqout = names.join(",");
    serve.openssl_cmp(
        PKIX,
        &mac(&[
            "-cmd",
            "ir",
            "-recipient",
            "/CN=anything",
            "-newkey",
            &key,
            "-subject",
            "/CN=poll.example",
            "-certout",
            &cert,
            "-reqout",
            &reqout,
        ]),
    );
    serve.assert_issued(&cert, &key_public_key(&key), "CN=poll.example");
    let sent: Vec<String> = names
        .iter()
        .filter(|f| exists(f))
        .map(|f| body_type(f))
        .collect();
    // --poll 2: the ip says waiting, the first pollReq gets a pollRep, the second the
    // certificate.
    assert_eq!(sent, ["ir", "pollReq", "pollReq", "certConf"]);
}

#[test]
fn implicit_confirmation_skips_cert_conf_only_when_the_server_grants_it() {
    for (grants, name) in [(true, "grants"), (false, "refuses")] {
        let extra: &[&str] = if grants { &["--implicit-confirm"] } else { &[] };
        let serve = Serve::start(&format!("implicit-{name}"), extra);
        let key = serve.new_key("key.pem");
        let cert = serve.file("cert.pem");
        let (r1, r2, r3) = (
            serve.file("r1.der"),
            serve.file("r2.der"),
            serve.file("r3.der"),
        );
        let reqout = format!("{r1},{r2},{r3}");
        serve.openssl_cmp(
            PKIX,
            &mac(&[
                "-cmd",
                "ir",
                "-recipient",
                "/CN=anything",
                "-implicit_confirm",
                "-newkey",
                &key,
                "-subject",
                "/CN=implicit.example",
                "-certout",
                &cert,
                "-reqout",
                &reqout,
            ]),
        );
        serve.assert_issued(&cert, &key_public_key(&key), "CN=implicit.example");
        let ir = inspect(&r1);
        assert_eq!(ir["body"], "ir");
        assert_eq!(ir["general_info"][0], "implicitConfirm", "{ir}");
        if grants {
            assert!(!exists(&r2), "{name}: a second request was sent");
        } else {
            assert_eq!(body_type(&r2), "certConf", "{name}");
            assert!(!exists(&r3), "{name}: a third request was sent");
        }
    }
}

#[test]
fn wrong_secret_fails_the_client_and_issues_nothing() {
    let serve = Serve::start("wrong-secret", &[]);
    let key = serve.new_key("key.pem");
    let cert = serve.file("cert.pem");
    let rsp = serve.file("rsp.der");
    let out = serve.try_openssl_cmp(
        PKIX,
        &[
            "-cmd",
            "ir",
            "-ref",
            REF,
            "-secret",
            "pass:not-the-secret",
            "-recipient",
            "/CN=anything",
            "-newkey",
            &key,
            "-subject",
            "/CN=wrong.example",
            "-certout",
            &cert,
            "-rspout",
            &rsp,
        ],
    );
    assert!(!out.status.success(), "{}", stderr(&out));
    assert!(!exists(&cert), "a certificate was written");
    // OpenSSL keeps the answer before checking it: an error naming the bad MAC.
    let error = inspect(&rsp);
    assert_eq!(error["body"], "error", "{error}");
    let fail_info = &error["statuses"][0]["fail_info"];
    assert!(
        fail_info
            .as_array()
            .is_some_and(|f| f.iter().any(|b| b == "badMessageCheck")),
        "{error}"
    );
    // The server still works: the right secret enrolls.
    serve.enroll_with_mac("right.example");
}

#[test]
fn mac_iteration_counts_above_the_default_bound_are_an_explicit_opt_in() {
    // Go clients send PasswordBasedMac with 262,144 iterations, older CAs want SHA-1:
    // `cmpv2 enroll --mac-alg pbm-sha1 --mac-iterations 262144` against `cmpv2 serve`.
    let enroll = |serve: &Serve, name: &str| {
        let url = format!("http://{}/", serve.addr);
        let reqout = serve.file(&format!("{name}-ir.der"));
        let out = cmpv2(&[
            "enroll",
            "--server",
            &url,
            "--ref",
            REF,
            "--secret",
            SECRET,
            "--mac-alg",
            "pbm-sha1",
            "--mac-iterations",
            "262144",
            "--subject",
            &format!("/CN={name}"),
            "--keyout",
            &serve.file(&format!("{name}.key")),
            "--certout",
            &serve.file(&format!("{name}.pem")),
            "--trusted",
            &serve.ca_pem(),
            "--reqout",
            &reqout,
        ]);
        (out, reqout)
    };
    // By default the server bounds what a request can make it compute, and says so.
    let strict = Serve::start("mac-iterations-default", &[]);
    let (out, reqout) = enroll(&strict, "refused");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("above the limit of 100000"),
        "{}",
        stderr(&out)
    );
    let ir = inspect(&reqout);
    assert_eq!(ir["protection_params"]["iterations"], 262_144, "{ir}");
    assert_eq!(ir["protection_params"]["owf"], "sha1", "{ir}");

    // Opted in, it accepts, and answers with the same parameters.
    let lenient = Serve::start("mac-iterations-raised", &["--max-mac-iterations", "262144"]);
    let (out, _) = enroll(&lenient, "accepted");
    assert!(out.status.success(), "{}", stderr(&out));
}
