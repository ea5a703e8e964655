//! Responses built by this crate, read by OpenSSL's CMP client (`openssl cmp -rspin`):
//! it must accept our protection and bodies, and refuse a forged MAC.

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};

use cmp_proto::builder::{HeaderBuilder, cert_rep, rev_rep};
use cmp_proto::der::asn1::Null;
use cmp_proto::der::{DecodePem, Encode};
use cmp_proto::protection::{MacAlgorithm, Protector, SharedSecret};
use cmp_proto::x509_cert::Certificate;
use cmp_proto::x509_cert::ext::pkix::name::GeneralName;
use cmp_proto::{CertResponse, InfoTypeAndValue, PkiBody, PkiStatusInfo, oid};
use common::*;

fn secret() -> String {
    std::fs::read_to_string(fixtures().join("keys/secret.txt")).expect("secret")
}

fn mac_protector(secret: &str) -> Protector {
    Protector::Mac {
        secret: SharedSecret::from(secret),
        reference: Some(b"1234".to_vec()),
        algorithm: MacAlgorithm::default(),
    }
}

fn sig_protector() -> Protector {
    Protector::Signature {
        key: key("server.key"),
        certificate: Box::new(cert("server.pem")),
        chain: vec![],
    }
}

fn server_name() -> GeneralName {
    GeneralName::DirectoryName(cert("server.pem").tbs_certificate().subject().clone())
}

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Self {
        let id = u64::from_le_bytes(
            cmp_proto::builder::random_bytes(8)
                .expect("rng")
                .try_into()
                .expect("8"),
        );
        let dir = std::env::temp_dir().join(format!("cmp-openssl-client-{tag}-{id:x}"));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Self(dir)
    }

    fn write(&self, file: &str, body: PkiBody, protector: &Protector) -> String {
        // OpenSSL's -rspin does not match transactionID or nonces against its request,
        // so a header of our own is enough; the protection and body are what it checks.
        let msg = HeaderBuilder::new(server_name(), name("CN=CMP End Entity"))
            .expect("header")
            .build(body, Some(protector))
            .expect("builds");
        let path = self.0.join(file);
        std::fs::write(&path, msg.to_der().expect("der")).expect("write");
        path.to_str().expect("utf-8 path").to_owned()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

fn openssl_cmp(args: &[&str], client_auth: &[String]) -> Output {
    Command::new("openssl")
        .args([
            "cmp",
            "-config",
            "",
            "-batch",
            "-server",
            "127.0.0.1:1",
            "-path",
            "pkix/",
        ])
        .args(client_auth)
        .args(args)
        .current_dir(fixtures().join("keys"))
        .output()
        .expect("openssl is installed (see README)")
}

fn mac_client() -> Vec<String> {
    vec![
        "-ref".into(),
        "1234".into(),
        "-secret".into(),
        format!("pass:{}", secret()),
    ]
}

fn sig_client() -> Vec<String> {
    [
        "-cert",
        "client.pem",
        "-key",
        "client.key",
        "-trusted",
        "root.pem",
    ]
    .map(String::from)
    .to_vec()
}

fn assert_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: openssl refused our response:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn enrolled(scratch: &Scratch) -> Certificate {
    Certificate::from_pem(std::fs::read(scratch.0.join("cert.pem")).expect("certout written"))
        .expect("PEM")
}

fn enroll_with(protector: &Protector, client: &[String], tag: &str) {
    let ee = cert("ee.pem");
    let root = cert("root.pem");
    for (cmd, body) in [
        (
            "ir",
            PkiBody::Ip(cert_rep(
                CertResponse::granted(0, ee.clone()),
                vec![root.clone()],
            )),
        ),
        (
            "cr",
            PkiBody::Cp(cert_rep(CertResponse::granted(0, ee.clone()), vec![])),
        ),
        (
            "p10cr",
            PkiBody::Cp(cert_rep(CertResponse::granted(-1, ee.clone()), vec![])),
        ),
    ] {
        let s = Scratch::new(tag);
        let rsp = s.write("rsp.der", body, protector);
        let conf = s.write("conf.der", PkiBody::PkiConf(Null), protector);
        let certout = s.0.join("cert.pem");
        let rspin = format!("{rsp},{conf}");
        let mut args = vec![
            "-cmd",
            cmd,
            "-rspin",
            &rspin,
            "-certout",
            certout.to_str().expect("utf-8"),
        ];
        if cmd == "p10cr" {
            args.extend(["-csr", "ee.csr"]);
        } else {
            args.extend(["-subject", "/CN=CMP End Entity", "-newkey", "ee.key"]);
        }
        let out = openssl_cmp(&args, client);
        assert_ok(&out, &format!("{tag} {cmd}"));
        assert_eq!(
            enrolled(&s),
            ee,
            "{tag} {cmd}: OpenSSL saved the certificate we sent"
        );
    }
}

#[test]
fn openssl_client_accepts_our_mac_protected_certificate_responses() {
    enroll_with(&mac_protector(&secret()), &mac_client(), "mac");
}

#[test]
fn openssl_client_accepts_our_signed_certificate_responses() {
    enroll_with(&sig_protector(), &sig_client(), "sig");
}

#[test]
fn openssl_client_accepts_our_kup_rp_and_genp() {
    let protector = mac_protector(&secret());
    let ee = cert("ee.pem");
    let s = Scratch::new("kur");
    let kup = s.write(
        "kup.der",
        PkiBody::Kup(cert_rep(CertResponse::granted(0, ee.clone()), vec![])),
        &protector,
    );
    let conf = s.write("conf.der", PkiBody::PkiConf(Null), &protector);
    let certout = s.0.join("cert.pem");
    let rspin = format!("{kup},{conf}");
    let out = openssl_cmp(
        &[
            "-cmd",
            "kur",
            "-oldcert",
            "ee.pem",
            "-newkey",
            "ee.key",
            "-rspin",
            &rspin,
            "-certout",
            certout.to_str().expect("utf-8"),
        ],
        &mac_client(),
    );
    assert_ok(&out, "kur");
    assert_eq!(enrolled(&s), ee);

    let rp = s.write(
        "rp.der",
        PkiBody::Rp(rev_rep(
            PkiStatusInfo::accepted(),
            Some(cmp_proto::crmf::CertId::of(&ee)),
        )),
        &protector,
    );
    let out = openssl_cmp(
        &["-cmd", "rr", "-oldcert", "ee.pem", "-rspin", &rp],
        &mac_client(),
    );
    assert_ok(&out, "rr");

    let genp = s.write(
        "genp.der",
        PkiBody::Genp(vec![
            InfoTypeAndValue::ca_certs_value(&[cert("root.pem")]).expect("caCerts"),
        ]),
        &protector,
    );
    let out = openssl_cmp(
        &["-cmd", "genm", "-infotype", "caCerts", "-rspin", &genp],
        &mac_client(),
    );
    assert_ok(&out, "genm");
    let _ = oid::IT_CA_CERTS;
}

#[test]
fn openssl_client_refuses_our_response_under_another_secret() {
    // The negative that gives the positives meaning: OpenSSL really checks our MAC.
    let s = Scratch::new("forged");
    let rsp = s.write(
        "rsp.der",
        PkiBody::Ip(cert_rep(CertResponse::granted(0, cert("ee.pem")), vec![])),
        &mac_protector("not the secret"),
    );
    let out = openssl_cmp(
        &[
            "-cmd",
            "ir",
            "-subject",
            "/CN=CMP End Entity",
            "-newkey",
            "ee.key",
            "-rspin",
            &rsp,
        ],
        &mac_client(),
    );
    assert!(
        !out.status.success(),
        "OpenSSL must refuse a MAC made with another secret"
    );
}
