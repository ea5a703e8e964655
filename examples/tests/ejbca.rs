//! The client (`cmpv2` and `cmp-client`) against a real EJBCA CE 8.2: the kit in
//! `../shared/ejbca`, every CMP alias it ships, every message type it handles, and each
//! EJBCA quirk with the message a user gets.
//!
//! Not part of `cargo test`: it needs a running EJBCA, and fails (never skips) without
//! one. `e2e/ejbca.sh` sets the kit up, starts it and runs this suite; `.ci/run` calls
//! it. By hand, with EJBCA already started from the kit:
//!
//! ```sh
//! cargo test -p cmpv2-examples --test ejbca
//! ```
//!
//! `EJBCA_CMP_URL` (default `http://127.0.0.1:8080/ejbca/publicweb/cmp`) and `EJBCA_KIT`
//! (default `../shared/ejbca` beside the clone) say where they are. Every test uses
//! subjects and keys of its own: EJBCA refuses a key that another subject holds.

mod ejbca_kit;

use std::path::Path;
use std::process::{Command, Output};
use std::str::FromStr;

use cmp_client::checks::Trust;
use cmp_client::transaction::EnrollmentRequest;
use cmp_client::transport::HttpTransport;
use cmp_client::{Client, ClientConfig, Error};
use cmp_proto::builder::{CertRequestBuilder, CrlReason};
use cmp_proto::der::{Decode, DecodePem};
use cmp_proto::protection::{KeyType, MacAlgorithm, Protector, SharedSecret, SigningKey};
use cmp_proto::x509_cert::Certificate;
use cmp_proto::x509_cert::ext::pkix::name::GeneralName;
use cmp_proto::x509_cert::name::Name;
use cmp_proto::{PkiBody, PkiMessage};
use ejbca_kit::{CA_DN, TempDir, alias_url, ejbca_is_up, kit_file, unique};

/// The HMAC aliases' secret (the kit's README).
const SECRET: &str = "foo123";

/// One `cmpv2` command line, built option by option.
struct Cmpv2(Vec<String>);

impl Cmpv2 {
    fn new(command: &str) -> Self {
        Self(vec![command.to_owned()])
    }

    /// `command` against an HMAC alias: its secret, the CA as recipient and ManagementCA
    /// as the anchor of its signed answers.
    fn mac(command: &str, alias: &str) -> Self {
        Self::new(command)
            .opt("--server", &alias_url(alias))
            .opt("--ref", "cmpv2-suite")
            .opt("--secret", &format!("pass:{SECRET}"))
            .opt("--recipient", CA_DN)
            .opt("--trusted", &kit_file("ManagementCA.pem"))
    }

    fn opt(mut self, name: &str, value: &str) -> Self {
        self.0.extend([name.to_owned(), value.to_owned()]);
        self
    }

    fn flag(mut self, name: &str) -> Self {
        self.0.push(name.to_owned());
        self
    }

    /// A copy with `extra` arguments appended.
    fn with(&self, extra: &[&str]) -> Self {
        let mut copy = Self(self.0.clone());
        copy.0.extend(extra.iter().map(|s| (*s).to_owned()));
        copy
    }

    fn run(&self) -> Output {
        Command::new(env!("CARGO_BIN_EXE_cmpv2"))
            .args(&self.0)
            .output()
            .expect("cmpv2 runs")
    }

    /// Runs it and asserts it succeeded.
    fn ok(&self) {
        let out = self.run();
        assert!(
            out.status.success(),
            "cmpv2 {}: {}",
            self.0.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Runs it, asserts it exited with `code`, and returns what it said on stderr.
    fn fails(&self, code: i32) -> String {
        let out = self.run();
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(
            out.status.code(),
            Some(code),
            "cmpv2 {}: {err}",
            self.0.join(" ")
        );
        err
    }
}

/// `openssl verify` of `cert` against ManagementCA: the CA really issued it.
fn verifies_against_management_ca(cert: &str) {
    let out = Command::new("openssl")
        .args(["verify", "-CAfile", &kit_file("ManagementCA.pem"), cert])
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "{cert} does not verify against ManagementCA: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

fn openssl(args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A P-256 key in `key` and a CSR for it with a fresh CN in `csr`.
fn key_and_csr(key: &str, csr: &str, what: &str) {
    let ec = ["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"];
    openssl(&[&["genpkey"][..], &ec, &["-out", key]].concat());
    let subject = format!("/CN={}", unique(what));
    openssl(&["req", "-new", "-key", key, "-subj", &subject, "-out", csr]);
}

fn read_cert(path: &str) -> Certificate {
    Certificate::from_pem(std::fs::read(path).expect("certificate file")).expect("PEM")
}

fn subject(cert: &Certificate) -> String {
    cert.tbs_certificate().subject().to_string()
}

/// The messages `--rspout` wrote, decoded; `None` for a file not written.
fn responses(files: &[String]) -> Vec<Option<PkiMessage>> {
    files
        .iter()
        .map(|f| {
            let der = std::fs::read(f).ok()?;
            Some(PkiMessage::from_der(&der).expect("decodes"))
        })
        .collect()
}

/// `n` files in `dir` for `--rspout`, and the option's value.
fn rspout(dir: &TempDir, names: &[&str]) -> (Vec<String>, String) {
    let files: Vec<String> = names.iter().map(|n| dir.file(n)).collect();
    let joined = files.join(",");
    (files, joined)
}

// ---------------------------------------------------------------------------------------
// cmpv2 against each alias
// ---------------------------------------------------------------------------------------

#[test]
fn ir_and_cr_on_the_hmac_alias_with_signed_answers() {
    ejbca_is_up();
    let dir = TempDir::new("ir-cr");
    for cmd in ["ir", "cr"] {
        let cn = format!("CN={}", unique(cmd));
        let cert = dir.file(&format!("{cmd}.pem"));
        Cmpv2::mac("enroll", "cmpra")
            .opt("--cmd", cmd)
            .opt("--subject", &cn)
            .opt("--keyout", &dir.file(&format!("{cmd}.key")))
            .opt("--certout", &cert)
            .opt("--chainout", &dir.file("chain.pem"))
            // EJBCA encodes its DN CN first; the RFC 4514 text still names it.
            .opt("--expect-sender", CA_DN)
            .ok();
        verifies_against_management_ca(&cert);
        assert_eq!(subject(&read_cert(&cert)), cn);
    }
}

#[test]
fn p10cr_answered_with_certreqid_zero_is_accepted_and_strict_refuses_it() {
    ejbca_is_up();
    let dir = TempDir::new("p10cr");
    let (key, csr, cert) = (dir.file("k.pem"), dir.file("r.csr"), dir.file("c.pem"));
    key_and_csr(&key, &csr, "p10cr");
    let (files, rsp) = rspout(&dir, &["cp.der", "pkiConf.der"]);
    Cmpv2::mac("enroll", "cmpra")
        .opt("--cmd", "p10cr")
        .opt("--csr", &csr)
        .opt("--certout", &cert)
        .opt("--rspout", &rsp)
        .ok();
    verifies_against_management_ca(&cert);
    // What makes this a quirk: EJBCA's cp names certReqId 0, not RFC 9483's -1.
    let cp = responses(&files).remove(0).expect("cp");
    let PkiBody::Cp(rep) = &cp.body else {
        panic!("EJBCA answered p10cr with {}", cp.body.body_type())
    };
    assert_eq!(rep.response[0].cert_req_id, 0);

    // The strict switch refuses that answer and names itself. The certificate was
    // issued, so our certConf rejected it and nothing is written.
    let strict = dir.file("strict.pem");
    let err = Cmpv2::mac("enroll", "cmpra")
        .opt("--cmd", "p10cr")
        .opt("--csr", &csr)
        .opt("--certout", &strict)
        .flag("--strict-p10cr-id")
        .fails(2);
    assert!(err.contains("certReqId 0, not our -1"), "{err}");
    assert!(err.contains("strict p10cr"), "{err}");
    assert!(!Path::new(&strict).exists());
}

#[test]
fn pbmac1_requests_are_accepted() {
    ejbca_is_up();
    let dir = TempDir::new("pbmac1");
    let cert = dir.file("c.pem");
    Cmpv2::mac("enroll", "cmpra")
        .flag("--pbmac1")
        .opt("--subject", &format!("/CN={}", unique("pbmac1")))
        .opt("--keyout", &dir.file("k.pem"))
        .opt("--certout", &cert)
        .ok();
    verifies_against_management_ca(&cert);
}

#[test]
fn implicit_confirm_is_asked_for_and_the_answer_honoured() {
    ejbca_is_up();
    let dir = TempDir::new("implicit");
    let cert = dir.file("c.pem");
    let (files, rsp) = rspout(&dir, &["ip.der", "pkiConf.der"]);
    Cmpv2::mac("enroll", "cmpra")
        .flag("--implicit-confirm")
        .opt("--subject", &format!("/CN={}", unique("implicit")))
        .opt("--keyout", &dir.file("k.pem"))
        .opt("--certout", &cert)
        .opt("--rspout", &rsp)
        .ok();
    verifies_against_management_ca(&cert);
    let mut answers = responses(&files);
    let ip = answers.remove(0).expect("ip");
    // EJBCA 8.2 grants it (ip with implicitConfirm, no certConf, no pkiConf); had it
    // not, the certConf would have been answered by a pkiConf.
    assert!(
        ip.header.has_implicit_confirm(),
        "EJBCA granted implicitConfirm"
    );
    assert!(answers[0].is_none(), "no certConf was sent");
}

#[test]
fn mac_protected_answers_on_the_pbe_alias_need_no_trust_anchor() {
    ejbca_is_up();
    let dir = TempDir::new("pbe");
    let cert = dir.file("c.pem");
    let (files, rsp) = rspout(&dir, &["ip.der", "pkiConf.der"]);
    Cmpv2::new("enroll")
        .opt("--server", &alias_url("cmppbe"))
        .opt("--ref", "cmpv2-suite")
        .opt("--secret", &format!("pass:{SECRET}"))
        .opt("--recipient", CA_DN)
        .opt("--subject", &format!("/CN={}", unique("pbe")))
        .opt("--keyout", &dir.file("k.pem"))
        .opt("--certout", &cert)
        .opt("--rspout", &rsp)
        .ok();
    verifies_against_management_ca(&cert);
    for msg in responses(&files) {
        let alg = msg
            .expect("answer")
            .header
            .protection_alg
            .expect("protected");
        assert_eq!(alg.oid, cmp_proto::oid::PASSWORD_BASED_MAC);
    }
}

/// Enrolls a key for a fresh subject through cmpra and returns its file.
fn key_held_by_another_subject(dir: &TempDir) -> String {
    let key = dir.file("owned.key");
    Cmpv2::mac("enroll", "cmpra")
        .opt("--subject", &format!("/CN={}", unique("owner")))
        .opt("--keyout", &key)
        .opt("--certout", &dir.file("owned.pem"))
        .ok();
    key
}

#[test]
fn errors_on_the_pbe_alias_come_signed_and_the_message_names_trusted() {
    ejbca_is_up();
    let dir = TempDir::new("pbe-error");
    let key = key_held_by_another_subject(&dir);
    let pbe = Cmpv2::new("enroll")
        .opt("--server", &alias_url("cmppbe"))
        .opt("--ref", "cmpv2-suite")
        .opt("--secret", &format!("pass:{SECRET}"))
        .opt("--recipient", CA_DN)
        .opt("--newkey", &key)
        .opt("--subject", &format!("/CN={}", unique("thief")))
        .opt("--certout", &dir.file("c.pem"));
    let err = pbe.with(&[]).fails(2);
    assert!(err.contains("--trusted"), "names the option: {err}");
    // With the anchor, the signed error is believed and its text shown.
    let err = pbe
        .with(&["--trusted", &kit_file("ManagementCA.pem")])
        .fails(1);
    assert!(
        err.contains("same key as another user"),
        "EJBCA's text: {err}"
    );
    assert!(err.contains("use a new key"), "says what to change: {err}");
}

#[test]
fn kur_on_the_client_mode_alias_signed_with_the_old_certificate() {
    ejbca_is_up();
    let dir = TempDir::new("kur");
    let (old, old_key, new) = (
        dir.file("old.pem"),
        dir.file("old.key"),
        dir.file("new.pem"),
    );
    Cmpv2::mac("enroll", "cmpra")
        .opt("--subject", &format!("/CN={}", unique("kur")))
        .opt("--keyout", &old_key)
        .opt("--certout", &old)
        .ok();
    let update = Cmpv2::new("update")
        .opt("--server", &alias_url("cmpkur"))
        .opt("--oldcert", &old)
        .opt("--key", &old_key)
        .opt("--trusted", &kit_file("ManagementCA.pem"))
        .opt("--keyout", &dir.file("new.key"))
        .opt("--certout", &new);
    update.ok();
    verifies_against_management_ca(&new);
    let (old, new) = (read_cert(&old), read_cert(&new));
    assert_eq!(subject(&old), subject(&new));
    let spki = |c: &Certificate| c.tbs_certificate().subject_public_key_info().clone();
    assert_ne!(spki(&old), spki(&new), "a new key");
}

#[test]
fn rr_revokes_and_a_second_rr_is_refused_as_already_revoked() {
    ejbca_is_up();
    let dir = TempDir::new("rr");
    let cert = dir.file("c.pem");
    Cmpv2::mac("enroll", "cmpra")
        .opt("--subject", &format!("/CN={}", unique("rr")))
        .opt("--keyout", &dir.file("k.pem"))
        .opt("--certout", &cert)
        .ok();
    let revoke = Cmpv2::mac("revoke", "cmpra").opt("--oldcert", &cert);
    revoke.ok();
    let err = revoke.fails(1);
    assert!(err.to_lowercase().contains("already revoked"), "{err}");
}

#[test]
fn a_wrong_alias_is_http_404_with_a_hint_at_the_alias() {
    ejbca_is_up();
    let dir = TempDir::new("404");
    let err = Cmpv2::mac("enroll", "no-such-alias")
        .opt("--subject", "/CN=nobody")
        .opt("--keyout", &dir.file("k"))
        .opt("--certout", &dir.file("c"))
        .fails(3);
    assert!(err.contains("404"), "{err}");
    assert!(err.contains("the alias name"), "{err}");
}

#[test]
fn a_wrong_secret_is_refused_signed_to_the_ca_and_unprotected_to_the_null_dn() {
    ejbca_is_up();
    let dir = TempDir::new("secret");
    let wrong = Cmpv2::new("enroll")
        .opt("--server", &alias_url("cmpra"))
        .opt("--ref", "cmpv2-suite")
        .opt("--secret", "pass:wrong")
        .opt("--trusted", &kit_file("ManagementCA.pem"))
        .opt("--subject", "/CN=nobody")
        .opt("--keyout", &dir.file("k"))
        .opt("--certout", &dir.file("c"));
    // To the CA's DN: a signed error (failInfo badRequest), shown with what to check.
    let err = wrong.with(&["--recipient", CA_DN]).fails(1);
    assert!(
        err.contains("Failed to verify message"),
        "EJBCA's text: {err}"
    );
    assert!(err.contains("check --secret and --ref"), "{err}");
    // To the NULL-DN: unprotected, so believed only with --unprotected-errors.
    let err = wrong.with(&[]).fails(2);
    assert!(err.contains("--unprotected-errors"), "{err}");
    let err = wrong.with(&["--unprotected-errors"]).fails(1);
    assert!(err.contains("check --secret and --ref"), "{err}");
}

#[test]
fn a_recipient_that_is_not_the_ca_gets_http_500_and_a_hint_to_set_it() {
    ejbca_is_up();
    let dir = TempDir::new("500");
    let key = key_held_by_another_subject(&dir);
    // The same key for another subject must be refused with a signed error; with the
    // NULL-DN as recipient EJBCA cannot sign it and answers HTTP 500 instead.
    let err = Cmpv2::new("enroll")
        .opt("--server", &alias_url("cmpra"))
        .opt("--ref", "cmpv2-suite")
        .opt("--secret", &format!("pass:{SECRET}"))
        .opt("--trusted", &kit_file("ManagementCA.pem"))
        .opt("--newkey", &key)
        .opt("--subject", &format!("/CN={}", unique("other")))
        .opt("--certout", &dir.file("c.pem"))
        .fails(3);
    assert!(err.contains("500"), "{err}");
    assert!(err.contains("set --recipient"), "{err}");
}

#[test]
fn genm_is_refused_and_the_text_shown() {
    ejbca_is_up();
    let err = Cmpv2::mac("genm", "cmpra")
        .opt("--infotype", "caCerts")
        .flag("--unprotected-errors")
        .fails(1);
    assert!(err.contains("message type '21'"), "{err}");
}

// ---------------------------------------------------------------------------------------
// cmp-client (the library, as the issuer uses it) against the RA aliases
// ---------------------------------------------------------------------------------------

fn ca_name() -> GeneralName {
    GeneralName::DirectoryName(Name::from_str(CA_DN).expect("CA DN"))
}

fn management_ca() -> Certificate {
    read_cert(&kit_file("ManagementCA.pem"))
}

fn client(alias: &str, protector: Protector, trust: Trust) -> Client<HttpTransport> {
    let mut config = ClientConfig::new(protector, trust);
    config.recipient = ca_name();
    config.issued_cert_anchors = Some(vec![management_ca()]);
    let transport = HttpTransport::builder(alias_url(alias))
        .build()
        .expect("transport");
    Client::new(config, transport)
}

fn mac_client(alias: &str, algorithm: MacAlgorithm) -> Client<HttpTransport> {
    let secret = SharedSecret::from(SECRET);
    let protector = Protector::Mac {
        secret: secret.clone(),
        reference: Some(b"cmpv2-suite".to_vec()),
        algorithm,
    };
    client(
        alias,
        protector,
        Trust {
            secret: Some(secret),
            anchors: vec![management_ca()],
            ..Trust::default()
        },
    )
}

fn ra_verified_cr(what: &str) -> (SigningKey, EnrollmentRequest) {
    let key = SigningKey::generate(KeyType::P256).expect("key");
    let subject = Name::from_str(&format!("CN={}", unique(what))).expect("DN");
    let request = CertRequestBuilder::new(key.public_key_info().expect("spki"))
        .subject(subject)
        .ra_verified();
    (key, EnrollmentRequest::Cr(request))
}

#[test]
fn library_cr_with_raverified_on_the_raverify_alias() {
    ejbca_is_up();
    let (key, request) = ra_verified_cr("lib-raverify");
    let enrolled = mac_client("cmpra-raverify", MacAlgorithm::default())
        .enroll(request)
        .expect("enrolled");
    assert_eq!(
        enrolled
            .certificate
            .tbs_certificate()
            .subject_public_key_info(),
        &key.public_key_info().expect("spki")
    );
}

#[test]
fn library_raverified_is_refused_with_badpop_where_the_alias_does_not_allow_it() {
    ejbca_is_up();
    let (_, request) = ra_verified_cr("lib-popo0");
    let err = mac_client("cmpra", MacAlgorithm::default())
        .enroll(request)
        .expect_err("cmpra does not allow raVerified");
    let status = err.refusal().expect("EJBCA refused");
    assert!(
        status
            .failure_info()
            .contains(cmp_proto::PkiFailureInfo::BAD_POP),
        "{err}"
    );
}

#[test]
fn library_ir_signed_by_the_ra_certificate_with_raverified() {
    ejbca_is_up();
    let pem = std::fs::read_to_string(kit_file("ra.key")).expect("ra.key");
    let protector = Protector::Signature {
        key: SigningKey::from_pem(&pem).expect("RA key"),
        certificate: Box::new(read_cert(&kit_file("ra.crt"))),
        chain: vec![],
    };
    let trust = Trust {
        anchors: vec![management_ca()],
        ..Trust::default()
    };
    let (_, request) = ra_verified_cr("lib-sig");
    let EnrollmentRequest::Cr(msg) = request else {
        unreachable!("a cr")
    };
    let enrolled = client("cmpra-sig", protector, trust)
        .enroll(EnrollmentRequest::Ir(msg))
        .expect("enrolled by the RA");
    assert!(subject(&enrolled.certificate).contains("lib-sig"));
}

#[test]
fn library_p10cr_and_revocation_of_what_it_issued() {
    ejbca_is_up();
    let dir = TempDir::new("lib-p10cr");
    let (key, csr) = (dir.file("k.pem"), dir.file("r.csr"));
    key_and_csr(&key, &csr, "lib-p10cr");
    let csr = cmp_proto::x509_cert::request::CertReq::from_pem(std::fs::read(&csr).expect("csr"))
        .expect("CSR");
    let mut client = mac_client("cmpra", MacAlgorithm::default());
    let enrolled = client.enroll(EnrollmentRequest::P10cr(csr)).expect("p10cr");
    client
        .revoke(enrolled.certificate.clone(), Some(CrlReason::Superseded))
        .expect("revoked");
    let again = client
        .revoke(enrolled.certificate, Some(CrlReason::Superseded))
        .expect_err("already revoked");
    assert!(matches!(again, Error::Rejected { .. }), "{again}");
}
