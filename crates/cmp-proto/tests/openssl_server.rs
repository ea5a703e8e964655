//! Messages built by this crate, sent to OpenSSL's mock server: it must accept our
//! protection and proof-of-possession, and its answers must verify with our code.

mod common;

use std::str::FromStr;

use cmp_proto::builder::{CertRequestBuilder, CrlReason, HeaderBuilder, cert_status, rev_details};
use cmp_proto::der::{DecodePem, Encode};
use cmp_proto::protection::{
    MacAlgorithm, Protector, SharedSecret, SigningKey, verify_mac, verify_signature,
};
use cmp_proto::x509_cert::Certificate;
use cmp_proto::x509_cert::ext::pkix::name::GeneralName;
use cmp_proto::x509_cert::name::Name;
use cmp_proto::x509_cert::request::CertReq;
use cmp_proto::{BodyType, InfoTypeAndValue, Limits, PkiBody, PkiStatus, ReceivedMessage, oid};
use common::*;
use openssl_peer::MockServer;

fn secret() -> String {
    std::fs::read_to_string(fixtures().join("keys/secret.txt")).expect("secret")
}

fn mac_server() -> MockServer {
    let secret = format!("pass:{}", secret());
    MockServer::start(
        &fixtures().join("keys"),
        &[
            "-srv_ref",
            "1234",
            "-srv_secret",
            &secret,
            "-rsp_cert",
            "ee.pem",
            "-rsp_capubs",
            "root.pem",
        ],
    )
}

fn sig_server() -> MockServer {
    MockServer::start(
        &fixtures().join("keys"),
        &[
            "-srv_cert",
            "server.pem",
            "-srv_key",
            "server.key",
            "-srv_trusted",
            "root.pem",
            "-rsp_cert",
            "ee.pem",
            "-rsp_capubs",
            "root.pem",
        ],
    )
}

fn mac_protector() -> Protector {
    Protector::Mac {
        secret: SharedSecret::from(secret().as_str()),
        reference: Some(b"1234".to_vec()),
        algorithm: MacAlgorithm::default(),
    }
}

fn sig_protector(key_file: &str, cert_file: &str) -> Protector {
    Protector::Signature {
        key: key(key_file),
        certificate: Box::new(cert(cert_file)),
        chain: vec![],
    }
}

/// How a response from the mock server is checked: with the secret, or with the
/// server certificate's key.
fn check(response: &[u8], protector: &Protector) -> ReceivedMessage {
    let received = ReceivedMessage::decode(response, &Limits::default()).expect("response decodes");
    match protector {
        Protector::Mac { .. } => verify_mac(
            &received,
            &SharedSecret::from(secret().as_str()),
            &Limits::default(),
        )
        .expect("OpenSSL's MAC verifies"),
        Protector::Signature { .. } => {
            let server = cert("server.pem");
            assert_eq!(
                received
                    .message
                    .extra_certs
                    .as_ref()
                    .and_then(|c| c.first()),
                Some(&server)
            );
            verify_signature(
                &received,
                server.tbs_certificate().subject_public_key_info(),
                &Limits::default(),
            )
            .expect("OpenSSL's signature verifies")
        }
    }
    received
}

fn sender_of(protector: &Protector) -> GeneralName {
    match protector {
        Protector::Signature { certificate, .. } => {
            GeneralName::DirectoryName(certificate.tbs_certificate().subject().clone())
        }
        Protector::Mac { .. } => name("CN=CMP End Entity"),
    }
}

/// One enrollment (ir, cr, kur or p10cr) followed by certConf → pkiConf.
fn enroll(server: &MockServer, protector: &Protector, kind: BodyType) {
    let ee_key: SigningKey = key("ee.key");
    let ee: Certificate = cert("ee.pem");
    let request = || {
        CertRequestBuilder::new(ee_key.public_key_info().expect("spki"))
            .subject(Name::from_str("CN=CMP End Entity").expect("DN"))
    };
    let body = match kind {
        BodyType::Ir => PkiBody::Ir(vec![request().sign_pop(&ee_key).expect("POP")]),
        BodyType::Cr => PkiBody::Cr(vec![request().sign_pop(&ee_key).expect("POP")]),
        BodyType::Kur => PkiBody::Kur(vec![
            request()
                .old_cert(&ee)
                .expect("old")
                .sign_pop(&ee_key)
                .expect("POP"),
        ]),
        BodyType::P10cr => PkiBody::P10cr(
            CertReq::from_pem(std::fs::read(fixtures().join("keys/ee.csr")).expect("csr"))
                .expect("csr"),
        ),
        other => panic!("{other} is not an enrollment"),
    };
    let req = HeaderBuilder::new(sender_of(protector), name("CN=CMP Fixture Root CA"))
        .expect("header")
        .build(body, Some(protector))
        .expect("request builds");
    let rsp = check(&server.post(&req.to_der().expect("der")), protector);
    let msg = &rsp.message;
    assert_eq!(msg.header.transaction_id, req.header.transaction_id);
    assert_eq!(msg.header.recip_nonce, req.header.sender_nonce);
    let rep = msg
        .body
        .cert_rep()
        .unwrap_or_else(|| panic!("{kind}: got {}", msg.body.body_type()));
    let resp = &rep.response[0];
    assert_eq!(resp.status.status, PkiStatus::Accepted, "{}", resp.status);
    assert_eq!(resp.certificate(), Some(&ee));
    let expected_id = if kind == BodyType::P10cr { -1 } else { 0 };
    assert_eq!(resp.cert_req_id, expected_id);

    let (status, _) = cert_status(&ee, resp.cert_req_id, None).expect("certConf");
    let conf = HeaderBuilder::continue_from(&req.header, msg.header.sender_nonce.clone())
        .expect("header")
        .build(PkiBody::CertConf(vec![status]), Some(protector))
        .expect("certConf builds");
    let done = check(&server.post(&conf.to_der().expect("der")), protector);
    assert_eq!(
        done.message.body.body_type(),
        BodyType::PkiConf,
        "OpenSSL accepted our certConf"
    );
    assert_eq!(done.message.header.recip_nonce, conf.header.sender_nonce);
}

fn revoke(server: &MockServer, protector: &Protector) {
    let rr = HeaderBuilder::new(sender_of(protector), name("CN=CMP Fixture Root CA"))
        .expect("header")
        .build(
            PkiBody::Rr(vec![
                rev_details(&cert("ee.pem"), Some(CrlReason::Superseded)).expect("rr"),
            ]),
            Some(protector),
        )
        .expect("rr builds");
    let rsp = check(&server.post(&rr.to_der().expect("der")), protector);
    let PkiBody::Rp(rp) = &rsp.message.body else {
        panic!("rp expected, got {}", rsp.message.body.body_type())
    };
    assert_eq!(rp.status[0].status, PkiStatus::Accepted, "{}", rp.status[0]);
}

fn general_message(server: &MockServer, protector: &Protector) {
    let genm = HeaderBuilder::new(sender_of(protector), name("CN=CMP Fixture Root CA"))
        .expect("header")
        .build(
            PkiBody::Genm(vec![InfoTypeAndValue::request(oid::IT_SIGN_KEY_PAIR_TYPES)]),
            Some(protector),
        )
        .expect("genm builds");
    let rsp = check(&server.post(&genm.to_der().expect("der")), protector);
    let PkiBody::Genp(genp) = &rsp.message.body else {
        panic!("genp expected")
    };
    // OpenSSL's mock server echoes the info type (cmp-notes).
    assert_eq!(genp[0].info_type, oid::IT_SIGN_KEY_PAIR_TYPES);
}

#[test]
fn openssl_server_accepts_our_mac_protected_requests() {
    let server = mac_server();
    let protector = mac_protector();
    for kind in [BodyType::Ir, BodyType::Cr, BodyType::P10cr, BodyType::Kur] {
        enroll(&server, &protector, kind);
    }
    revoke(&server, &protector);
    general_message(&server, &protector);
}

#[test]
fn openssl_server_accepts_our_signed_requests() {
    let server = sig_server();
    let protector = sig_protector("client.key", "client.pem");
    for kind in [BodyType::Ir, BodyType::Cr, BodyType::P10cr] {
        enroll(&server, &protector, kind);
    }
    revoke(&server, &protector);
    general_message(&server, &protector);
}

#[test]
fn openssl_server_accepts_our_signed_key_update() {
    // kur is signed with the certificate being updated (RFC 9483 §4.1.3); one signer
    // per mock server instance (cmp-notes).
    let server = sig_server();
    enroll(&server, &sig_protector("ee.key", "ee.pem"), BodyType::Kur);
}

#[test]
fn openssl_server_rejects_a_wrong_secret() {
    let server = mac_server();
    let wrong = Protector::Mac {
        secret: SharedSecret::from("not the secret"),
        reference: Some(b"1234".to_vec()),
        algorithm: MacAlgorithm::default(),
    };
    let genm = HeaderBuilder::new(name("CN=x"), name("CN=y"))
        .expect("header")
        .build(PkiBody::Genm(vec![]), Some(&wrong))
        .expect("builds");
    let rsp = ReceivedMessage::decode(
        &server.post(&genm.to_der().expect("der")),
        &Limits::default(),
    )
    .expect("decodes");
    assert_eq!(
        rsp.message.body.body_type(),
        BodyType::Error,
        "a bad MAC must be refused"
    );
}
