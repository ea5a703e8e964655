//! Every request and response builder produces a message that decodes back to itself,
//! carries what was asked, and that OpenSSL parses.

mod common;

use std::process::Command;
use std::str::FromStr;

use cmp_proto::builder::{
    CertRequestBuilder, CrlReason, HeaderBuilder, cert_rep, cert_status, error_content, poll_rep,
    rev_details, rev_rep,
};
use cmp_proto::crmf::{CertId, ProofOfPossession};
use cmp_proto::der::asn1::{Ia5String, Null, ObjectIdentifier};
use cmp_proto::der::{Decode, DecodePem, Encode};
use cmp_proto::protection::{
    MacAlgorithm, SharedSecret, verify_csr, verify_mac, verify_signature_pop,
};
use cmp_proto::x509_cert::ext::pkix::name::GeneralName;
use cmp_proto::x509_cert::ext::pkix::{ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName};
use cmp_proto::x509_cert::name::Name;
use cmp_proto::x509_cert::request::CertReq;
use cmp_proto::{
    BodyType, CertResponse, Error, InfoTypeAndValue, Limits, PkiBody, PkiFailureInfo, PkiMessage,
    PkiStatusInfo, PollReq, ReceivedMessage, oid,
};
use common::*;

fn requests() -> Vec<(BodyType, PkiBody)> {
    let ee_key = key("ee.key");
    let ee = cert("ee.pem");
    let subject = Name::from_str("CN=CMP End Entity").expect("DN");
    let crmf = |b: CertRequestBuilder| b.sign_pop(&ee_key).expect("POP");
    let template = || {
        CertRequestBuilder::new(ee_key.public_key_info().expect("spki"))
            .subject(subject.clone())
            .extension(
                false,
                &SubjectAltName(vec![GeneralName::DnsName(
                    Ia5String::new("ee.example").expect("IA5"),
                )]),
            )
            .expect("SAN")
            .extension(true, &KeyUsage(KeyUsages::DigitalSignature.into()))
            .expect("KU")
            .extension(false, &ExtendedKeyUsage(vec![const_oid_client_auth()]))
            .expect("EKU")
    };
    let csr_pem = std::fs::read(fixtures().join("keys/ee.csr")).expect("csr");
    let csr = CertReq::from_pem(&csr_pem).expect("CSR parses");
    let (status, _) = cert_status(&ee, 0, None).expect("certConf entry");
    vec![
        (BodyType::Ir, PkiBody::Ir(vec![crmf(template())])),
        (BodyType::Cr, PkiBody::Cr(vec![crmf(template())])),
        (
            BodyType::Kur,
            PkiBody::Kur(vec![crmf(template().old_cert(&ee).expect("oldCertID"))]),
        ),
        (BodyType::P10cr, PkiBody::P10cr(csr)),
        (
            BodyType::Rr,
            PkiBody::Rr(vec![
                rev_details(&ee, Some(CrlReason::KeyCompromise)).expect("rr"),
            ]),
        ),
        (
            BodyType::Genm,
            PkiBody::Genm(vec![
                InfoTypeAndValue::request(oid::IT_CA_CERTS),
                InfoTypeAndValue::root_ca_cert(&cert("root.pem")).expect("rootCaCert"),
                InfoTypeAndValue::request(oid::IT_CERT_REQ_TEMPLATE),
            ]),
        ),
        (BodyType::CertConf, PkiBody::CertConf(vec![status])),
        (
            BodyType::PollReq,
            PkiBody::PollReq(vec![PollReq { cert_req_id: 0 }]),
        ),
        (
            BodyType::Error,
            PkiBody::Error(
                error_content(
                    PkiStatusInfo::rejection(PkiFailureInfo::BAD_MESSAGE_CHECK, "bad MAC")
                        .expect("status"),
                    Some(7),
                    Some("the response MAC did not verify"),
                )
                .expect("error"),
            ),
        ),
    ]
}

fn const_oid_client_auth() -> ObjectIdentifier {
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2")
}

fn responses() -> Vec<(BodyType, PkiBody)> {
    let ee = cert("ee.pem");
    let root = cert("root.pem");
    let granted = || cert_rep(CertResponse::granted(0, ee.clone()), vec![root.clone()]);
    vec![
        (BodyType::Ip, PkiBody::Ip(granted())),
        (
            BodyType::Cp,
            PkiBody::Cp(cert_rep(CertResponse::waiting(0), vec![])),
        ),
        (BodyType::Kup, PkiBody::Kup(granted())),
        (
            BodyType::Rp,
            PkiBody::Rp(rev_rep(PkiStatusInfo::accepted(), Some(CertId::of(&ee)))),
        ),
        (
            BodyType::Genp,
            PkiBody::Genp(vec![
                InfoTypeAndValue::ca_certs_value(std::slice::from_ref(&root)).expect("caCerts"),
                InfoTypeAndValue::sign_key_pair_types_value(&[key("client.key")
                    .public_key_info()
                    .expect("spki")
                    .algorithm])
                .expect("signKeyPairTypes"),
            ]),
        ),
        (BodyType::PkiConf, PkiBody::PkiConf(Null)),
        (
            BodyType::PollRep,
            PkiBody::PollRep(poll_rep(0, 5, Some("queued")).expect("pollRep")),
        ),
        (
            BodyType::Ip,
            PkiBody::Ip(cert_rep(
                CertResponse::without_certificate(
                    0,
                    PkiStatusInfo::rejection(
                        PkiFailureInfo::BAD_POP | PkiFailureInfo::BAD_REQUEST,
                        "no",
                    )
                    .expect("status"),
                ),
                vec![],
            )),
        ),
    ]
}

fn asn1parse(bytes: &[u8]) {
    let path = std::env::temp_dir().join(format!(
        "cmp-proto-asn1-{}-{:x}.der",
        std::process::id(),
        rand_id()
    ));
    std::fs::write(&path, bytes).expect("temp file");
    let out = Command::new("openssl")
        .args(["asn1parse", "-inform", "DER", "-in"])
        .arg(&path)
        .output()
        .expect("openssl is installed (see README)");
    std::fs::remove_file(&path).ok();
    assert!(
        out.status.success(),
        "openssl asn1parse: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("SEQUENCE"));
}

fn rand_id() -> u64 {
    let b = cmp_proto::builder::random_bytes(8).expect("random");
    u64::from_le_bytes(b.try_into().expect("8 bytes"))
}

#[test]
fn every_request_and_response_round_trips_and_openssl_parses_it() {
    let protectors = [mac(MacAlgorithm::default()), signer("client.key")];
    for (expected, body) in requests().into_iter().chain(responses()) {
        for protector in &protectors {
            let msg = header()
                .build(body.clone(), Some(protector))
                .expect("builds");
            let bytes = msg.to_der().expect("encodes");
            let received = ReceivedMessage::decode(&bytes, &Limits::default()).expect("decodes");
            assert_eq!(received.message, msg, "{expected}");
            assert_eq!(received.message.body.body_type(), expected);
            assert_eq!(received.message.to_der().expect("re-encodes"), bytes);
            asn1parse(&bytes);
        }
    }
}

#[test]
fn reply_header_echoes_transaction_and_nonce() {
    let request = header()
        .build(PkiBody::Genm(vec![]), None)
        .expect("request");
    let reply = HeaderBuilder::reply_to(&request.header, name("CN=ca"))
        .expect("reply")
        .build(PkiBody::Genp(vec![]), None)
        .expect("builds");
    assert_eq!(reply.header.transaction_id, request.header.transaction_id);
    assert_eq!(reply.header.recip_nonce, request.header.sender_nonce);
    assert_ne!(reply.header.sender_nonce, request.header.sender_nonce);
    assert_eq!(reply.header.recipient, request.header.sender);
    assert_eq!(
        reply
            .header
            .sender_nonce
            .as_ref()
            .map(|n| n.as_bytes().len()),
        Some(16)
    );
}

#[test]
fn implicit_confirm_and_profile_travel_in_general_info() {
    let msg = header()
        .implicit_confirm()
        .cert_profile("tls-server")
        .expect("profile")
        .build(PkiBody::Genm(vec![]), None)
        .expect("builds");
    let decoded = PkiMessage::from_der(&msg.to_der().expect("der")).expect("decodes");
    assert!(decoded.header.has_implicit_confirm());
    let profile = decoded
        .header
        .general_info(&oid::IT_CERT_PROFILE)
        .expect("certProfile");
    assert_eq!(
        profile.cert_profile_names().expect("decodes"),
        Some(vec!["tls-server".to_owned()])
    );
}

#[test]
fn signature_pop_verifies_and_fails_when_altered() {
    let ee_key = key("ee.key");
    let sender = name("CN=CMP End Entity");
    let msg = CertRequestBuilder::new(ee_key.public_key_info().expect("spki"))
        .subject(Name::from_str("CN=CMP End Entity").expect("DN"))
        .sign_pop(&ee_key)
        .expect("POP");
    verify_signature_pop(&msg, &sender, &Limits::default()).expect("POP verifies");
    let mut altered = msg.clone();
    altered.cert_req.cert_req_id = 1;
    assert!(matches!(
        verify_signature_pop(&altered, &sender, &Limits::default()),
        Err(Error::ProtectionInvalid {
            kind: "proof-of-possession"
        })
    ));
}

#[test]
fn pop_without_subject_signs_poposk_input_for_the_sender() {
    for file in ["p384.key", "ed25519.key", "rsa2048.key"] {
        let k = key(file);
        let sender = name("CN=requester");
        let msg = CertRequestBuilder::new(k.public_key_info().expect("spki"))
            .sign_pop_as(&k, Some(&sender))
            .expect("POP");
        let Some(ProofOfPossession::Signature(popo)) = &msg.popo else {
            panic!("signature POP")
        };
        assert!(popo.poposk_input.is_some());
        verify_signature_pop(&msg, &sender, &Limits::default())
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(verify_signature_pop(&msg, &name("CN=someone else"), &Limits::default()).is_err());
    }
}

#[test]
fn pop_key_must_be_the_template_key() {
    let err = CertRequestBuilder::new(key("p384.key").public_key_info().expect("spki"))
        .subject(Name::from_str("CN=x").expect("DN"))
        .sign_pop(&key("ee.key"))
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
}

#[test]
fn ra_verified_pop_is_not_a_signature_pop() {
    let msg = CertRequestBuilder::new(key("ee.key").public_key_info().expect("spki")).ra_verified();
    assert_eq!(msg.popo, Some(ProofOfPossession::RaVerified(Null)));
    assert!(verify_signature_pop(&msg, &name("CN=x"), &Limits::default()).is_err());
}

#[test]
fn openssl_csr_signature_verifies() {
    let csr = CertReq::from_pem(std::fs::read(fixtures().join("keys/ee.csr")).expect("csr"))
        .expect("CSR");
    verify_csr(&csr, &Limits::default()).expect("CSR self-signature verifies");
    let mut altered = csr.clone();
    altered.info.subject = Name::from_str("CN=mallory").expect("DN");
    assert!(matches!(
        verify_csr(&altered, &Limits::default()),
        Err(Error::ProtectionInvalid {
            kind: "PKCS#10 signature"
        })
    ));
}

#[test]
fn cert_conf_hash_matches_what_openssl_sent() {
    // OpenSSL's own certConf for the certificate of mac/ir/ip.der.
    let bytes = std::fs::read(fixtures().join("mac/ir/certConf.der")).expect("fixture");
    let theirs = PkiMessage::from_der(&bytes).expect("decodes");
    let PkiBody::CertConf(entries) = &theirs.body else {
        panic!("certConf")
    };
    let ee = cert("ee.pem");
    assert!(entries[0].matches(&ee).expect("hash known"));
    let (ours, needs_v3) = cert_status(&ee, entries[0].cert_req_id, None).expect("ours");
    assert!(!needs_v3);
    assert_eq!(ours.cert_hash, entries[0].cert_hash);
    assert!(!entries[0].matches(&cert("client.pem")).expect("hash known"));
}

#[test]
fn our_mac_verifies_with_the_fixture_secret_like_openssl_would() {
    // Same secret and algorithm OpenSSL used for the fixtures: a message of ours made
    // with them verifies with the same code that verifies OpenSSL's.
    let secret = std::fs::read_to_string(fixtures().join("keys/secret.txt")).expect("secret");
    let protector = cmp_proto::protection::Protector::Mac {
        secret: SharedSecret::from(secret.as_str()),
        reference: Some(b"1234".to_vec()),
        algorithm: MacAlgorithm::default(),
    };
    let bytes = header()
        .build(PkiBody::PkiConf(Null), Some(&protector))
        .expect("b")
        .to_der()
        .expect("d");
    let received = ReceivedMessage::decode(&bytes, &Limits::default()).expect("decodes");
    verify_mac(
        &received,
        &SharedSecret::from(secret.as_str()),
        &Limits::default(),
    )
    .expect("verifies");
}

#[test]
fn every_rare_body_alternative_round_trips_exactly() {
    use cmp_proto::OpaqueContent;
    use cmp_proto::der::Decode;
    let opaque = |der: &[u8]| OpaqueContent::from_der(der).expect("SEQUENCE");
    let inner = header()
        .build(PkiBody::PkiConf(Null), Some(&mac(MacAlgorithm::default())))
        .expect("inner");
    let crmf =
        CertRequestBuilder::new(key("ee.key").public_key_info().expect("spki")).ra_verified();
    let bodies = [
        (
            BodyType::Popdecc,
            PkiBody::Popdecc(opaque(&[0x30, 0x05, 0x30, 0x03, 0x04, 0x01, 0xAA])),
        ),
        (
            BodyType::Popdecr,
            PkiBody::Popdecr(opaque(&[0x30, 0x03, 0x02, 0x01, 0x05])),
        ),
        (BodyType::Krr, PkiBody::Krr(vec![crmf.clone()])),
        (
            BodyType::Krp,
            PkiBody::Krp(opaque(&[0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x00])),
        ),
        (BodyType::Ccr, PkiBody::Ccr(vec![crmf])),
        (
            BodyType::Ccp,
            PkiBody::Ccp(cert_rep(CertResponse::granted(0, cert("root.pem")), vec![])),
        ),
        (BodyType::Ckuann, PkiBody::Ckuann(opaque(&[0x30, 0x00]))),
        (BodyType::Cann, PkiBody::Cann(cert("ee.pem"))),
        (BodyType::Rann, PkiBody::Rann(opaque(&[0x30, 0x00]))),
        (BodyType::Crlann, PkiBody::Crlann(opaque(&[0x30, 0x00]))),
        (
            BodyType::Nested,
            PkiBody::Nested(
                cmp_proto::NestedMessageContent::new(std::slice::from_ref(&inner)).expect("nested"),
            ),
        ),
    ];
    for (expected, body) in bodies {
        let msg = header().build(body, None).expect("builds");
        let bytes = msg.to_der().expect("encodes");
        let decoded = PkiMessage::from_der(&bytes).expect("decodes");
        assert_eq!(decoded.body.body_type(), expected);
        assert_eq!(decoded.to_der().expect("re-encodes"), bytes, "{expected}");
        asn1parse(&bytes);
        if let PkiBody::Nested(nested) = &decoded.body {
            let messages = nested.messages(&Limits::default()).expect("inner decodes");
            assert_eq!(messages[0].message, inner);
        }
    }
}

/// A requested validity with fractional seconds (a CRMF template's `Time` is not bound
/// by RFC 5280's whole-seconds profile) decodes in an ir and re-encodes byte for byte.
#[test]
fn a_template_validity_with_fractional_seconds_round_trips() {
    use cmp_proto::crmf::OptionalValidity;
    use cmp_proto::time::{GenTime, TemplateTime};

    let not_after = GenTime::from_der(b"\x18\x1320301231235959.125Z").expect("GenTime");
    let key = key("ee.key");
    let mut builder = CertRequestBuilder::new(key.public_key_info().expect("spki"))
        .subject(Name::from_str("CN=fraction.example").expect("DN"));
    let mut req = builder.request().clone();
    req.cert_template.validity = Some(OptionalValidity {
        not_before: None,
        not_after: Some(TemplateTime::GeneralTime(not_after)),
    });
    builder = CertRequestBuilder::from_template(req.cert_template);
    let msg = header()
        .build(
            PkiBody::Ir(vec![builder.sign_pop(&key).expect("pop")]),
            None,
        )
        .expect("ir");
    let der = msg.to_der().expect("encodes");
    let back = PkiMessage::from_der(&der).expect("decodes");
    assert_eq!(back.to_der().expect("re-encodes"), der);
    let PkiBody::Ir(reqs) = &back.body else {
        panic!("an ir")
    };
    let validity = reqs[0]
        .cert_req
        .cert_template
        .validity
        .as_ref()
        .expect("validity");
    assert_eq!(
        validity.not_after,
        Some(TemplateTime::GeneralTime(not_after))
    );
    assert_eq!(
        validity.not_after.expect("notAfter").to_string(),
        "2030-12-31T23:59:59.125Z"
    );
}
