//! Our client against OpenSSL's mock server (`openssl cmp -port`): every flow with MAC
//! and with signature protection, polling, implicit confirmation granted and not, server
//! errors, a rejection, a wrong secret, a wrong trust anchor, a certificate for another
//! key, and the error message that ends a transaction the client gave up on. Each
//! asserts the outcome, not just success.

mod openssl_mock;

use std::str::FromStr;

use cmp_client::checks::Trust;
use cmp_client::transaction::EnrollmentRequest;
use cmp_client::transport::{HttpTransport, Transport, TransportError};
use cmp_client::{Client, ClientConfig, Error};
use cmp_proto::builder::{CertRequestBuilder, CrlReason};
use cmp_proto::der::{Decode, DecodePem};
use cmp_proto::protection::{MacAlgorithm, Protector, SharedSecret, verify_mac};
use cmp_proto::x509_cert::name::Name;
use cmp_proto::x509_cert::request::CertReq;
use cmp_proto::{
    InfoTypeAndValue, Limits, PkiBody, PkiFailureInfo, PkiMessage, ReceivedMessage, oid,
};
use openssl_mock::*;

fn mac_config() -> ClientConfig {
    let secret = SharedSecret::from(secret().as_str());
    ClientConfig::new(
        Protector::Mac {
            secret: secret.clone(),
            reference: Some(b"1234".to_vec()),
            algorithm: MacAlgorithm::default(),
        },
        Trust {
            secret: Some(secret),
            ..Trust::default()
        },
    )
}

fn sig_config(key_file: &str, cert_file: &str) -> ClientConfig {
    ClientConfig::new(
        Protector::Signature {
            key: key(key_file),
            certificate: Box::new(cert(cert_file)),
            chain: vec![],
        },
        Trust {
            anchors: vec![cert("root.pem")],
            ..Trust::default()
        },
    )
}

fn client(server: &MockServer, config: ClientConfig) -> Client<HttpTransport> {
    Client::new(
        config,
        HttpTransport::builder(server.url())
            .build()
            .expect("transport"),
    )
}

fn crmf() -> cmp_proto::crmf::CertReqMsg {
    let ee = key("ee.key");
    CertRequestBuilder::new(ee.public_key_info().expect("spki"))
        .subject(Name::from_str("CN=CMP End Entity").expect("DN"))
        .sign_pop(&ee)
        .expect("POP")
}

fn csr() -> CertReq {
    CertReq::from_pem(std::fs::read(keys().join("ee.csr")).expect("csr")).expect("CSR")
}

fn every_flow(server: &MockServer, config: ClientConfig) {
    let mut client = client(server, config);
    for request in [
        EnrollmentRequest::Ir(crmf()),
        EnrollmentRequest::Cr(crmf()),
        EnrollmentRequest::P10cr(csr()),
    ] {
        let is_ir = matches!(request, EnrollmentRequest::Ir(_));
        let enrolled = client.enroll(request).expect("enrolled");
        assert_eq!(enrolled.certificate, cert("ee.pem"));
        // caPubs belong in ip only (RFC 4210 §5.3.2); OpenSSL sends them there.
        let expected_ca_pubs = if is_ir {
            vec![cert("root.pem")]
        } else {
            vec![]
        };
        assert_eq!(enrolled.ca_pubs, expected_ca_pubs);
        assert!(!enrolled.implicitly_confirmed);
    }
    client
        .revoke(cert("ee.pem"), Some(CrlReason::Superseded))
        .expect("revoked");
    let infos = client
        .general_message(vec![InfoTypeAndValue::request(oid::IT_SIGN_KEY_PAIR_TYPES)])
        .expect("genp");
    assert_eq!(infos[0].info_type, oid::IT_SIGN_KEY_PAIR_TYPES);
}

#[test]
fn every_flow_with_mac_protection() {
    let server = MockServer::mac(&[]);
    every_flow(&server, mac_config());
    let kur = CertRequestBuilder::new(key("ee.key").public_key_info().expect("spki"))
        .subject(Name::from_str("CN=CMP End Entity").expect("DN"))
        .old_cert(&cert("ee.pem"))
        .expect("oldCertID")
        .sign_pop(&key("ee.key"))
        .expect("POP");
    let enrolled = client(&server, mac_config())
        .enroll(EnrollmentRequest::Kur(kur))
        .expect("kup");
    assert_eq!(enrolled.certificate, cert("ee.pem"));
}

#[test]
fn every_flow_with_signature_protection() {
    let server = MockServer::sig(&[]);
    every_flow(&server, sig_config("client.key", "client.pem"));
}

#[test]
fn key_update_signed_with_the_old_certificate() {
    let server = MockServer::sig(&[]);
    let kur = CertRequestBuilder::new(key("ee.key").public_key_info().expect("spki"))
        .subject(Name::from_str("CN=CMP End Entity").expect("DN"))
        .old_cert(&cert("ee.pem"))
        .expect("oldCertID")
        .sign_pop(&key("ee.key"))
        .expect("POP");
    let enrolled = client(&server, sig_config("ee.key", "ee.pem"))
        .enroll(EnrollmentRequest::Kur(kur))
        .expect("kup");
    assert_eq!(enrolled.certificate, cert("ee.pem"));
}

#[test]
fn polls_until_the_certificate_comes() {
    let server = MockServer::mac(&["-poll_count", "2", "-check_after", "1"]);
    let enrolled = client(&server, mac_config())
        .enroll(EnrollmentRequest::Ir(crmf()))
        .expect("after polling");
    assert_eq!(enrolled.certificate, cert("ee.pem"));
}

#[test]
fn polling_beyond_the_deadline_is_refused() {
    let server = MockServer::mac(&["-poll_count", "3", "-check_after", "5"]);
    let mut config = mac_config();
    config.polling.deadline = std::time::Duration::from_secs(2);
    let err = client(&server, config)
        .enroll(EnrollmentRequest::Ir(crmf()))
        .unwrap_err();
    assert!(matches!(err, Error::PollingDeadline), "{err}");
}

#[test]
fn implicit_confirmation_only_when_granted() {
    let granting = MockServer::mac(&["-grant_implicitconf"]);
    let mut asking = mac_config();
    asking.implicit_confirm = true;
    let enrolled = client(&granting, asking.clone())
        .enroll(EnrollmentRequest::Ir(crmf()))
        .expect("enrolled");
    assert!(enrolled.implicitly_confirmed, "granted: no certConf");

    let refusing = MockServer::mac(&[]);
    let enrolled = client(&refusing, asking)
        .enroll(EnrollmentRequest::Ir(crmf()))
        .expect("enrolled");
    assert!(
        !enrolled.implicitly_confirmed,
        "not granted: certConf sent and pkiConf received"
    );
}

#[test]
fn server_error_message_is_reported() {
    let server = MockServer::mac(&["-send_error"]);
    let err = client(&server, mac_config())
        .enroll(EnrollmentRequest::Ir(crmf()))
        .unwrap_err();
    let Error::ErrorMessage { content } = &err else {
        panic!("{err}")
    };
    assert_eq!(
        content.pki_status_info.status,
        cmp_proto::PkiStatus::Rejection
    );
}

#[test]
fn rejection_carries_fail_info_and_text() {
    let server = MockServer::mac(&[
        "-pkistatus",
        "2",
        "-failure",
        "9",
        "-statusstring",
        "policy says no",
    ]);
    let err = client(&server, mac_config())
        .enroll(EnrollmentRequest::Ir(crmf()))
        .unwrap_err();
    let Error::Rejected { status, .. } = &err else {
        panic!("{err}")
    };
    assert!(status.failure_info().contains(PkiFailureInfo::BAD_POP));
    assert_eq!(status.text().as_deref(), Some("policy says no"));
}

#[test]
fn wrong_secret_fails_the_response_check() {
    let server = MockServer::mac(&[]);
    let mut config = mac_config();
    let wrong = SharedSecret::from("not the secret");
    config.protector = Protector::Mac {
        secret: wrong.clone(),
        reference: Some(b"1234".to_vec()),
        algorithm: MacAlgorithm::default(),
    };
    config.trust.secret = Some(wrong);
    let err = client(&server, config)
        .enroll(EnrollmentRequest::Ir(crmf()))
        .unwrap_err();
    assert!(matches!(err, Error::ProtectionInvalid(_)), "{err}");
}

#[test]
fn wrong_trust_anchor_fails_the_signer_check() {
    let server = MockServer::sig(&[]);
    let mut config = sig_config("client.key", "client.pem");
    config.trust.anchors = vec![cert("client.pem")];
    let err = client(&server, config)
        .enroll(EnrollmentRequest::Ir(crmf()))
        .unwrap_err();
    assert!(matches!(err, Error::SignerUntrusted { .. }), "{err}");
}

#[test]
fn certificate_for_another_key_is_rejected_with_cert_conf() {
    // The mock server always returns ee.pem; we ask for client.key's public key.
    let server = MockServer::mac(&[]);
    let other = key("client.key");
    let request = CertRequestBuilder::new(other.public_key_info().expect("spki"))
        .subject(Name::from_str("CN=CMP End Entity").expect("DN"))
        .sign_pop(&other)
        .expect("POP");
    let err = client(&server, mac_config())
        .enroll(EnrollmentRequest::Ir(request))
        .unwrap_err();
    assert!(matches!(err, Error::PublicKeyMismatch), "{err}");
}

#[test]
fn issued_certificate_must_chain_to_configured_anchors() {
    let server = MockServer::mac(&[]);
    let mut config = mac_config();
    config.issued_cert_anchors = Some(vec![cert("root.pem")]);
    client(&server, config.clone())
        .enroll(EnrollmentRequest::Ir(crmf()))
        .expect("chains to root");
    config.issued_cert_anchors = Some(vec![cert("server.pem")]);
    let err = client(&server, config)
        .enroll(EnrollmentRequest::Ir(crmf()))
        .unwrap_err();
    assert!(matches!(err, Error::CertificateUntrusted { .. }), "{err}");
}

#[test]
fn typed_general_messages_against_openssl() {
    // OpenSSL's mock server echoes each info type without a value (cmp-notes): the typed
    // helpers read that as "nothing offered", not as an error.
    let server = MockServer::mac(&[]);
    let mut client = client(&server, mac_config());
    assert_eq!(client.ca_certs().expect("caCerts"), vec![]);
    // OpenSSL 3.0's mock server predates RFC 9483 §4.3.2: it echoes our one rootCaCert
    // entry instead of answering rootCaKeyUpdate; our client says the answer is missing.
    // The validation itself is tested on OpenSSL-made cross certificates
    // (checks/root_update.rs).
    let err = client.root_ca_update(&cert("root.pem")).unwrap_err();
    assert!(
        matches!(
            err,
            Error::MissingInfo {
                info_type: "rootCaKeyUpdate"
            }
        ),
        "{err}"
    );
    assert_eq!(client.cert_req_template().expect("certReqTemplate"), None);
    assert_eq!(
        client.sign_key_pair_types().expect("signKeyPairTypes"),
        vec![]
    );
}

/// Passes every exchange to `inner` and keeps a copy of each request and response.
struct Recording<T> {
    inner: T,
    exchanges: Vec<(Vec<u8>, Vec<u8>)>,
}

impl<T: Transport> Transport for Recording<T> {
    fn send(&mut self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        let response = self.inner.send(request)?;
        self.exchanges.push((request.to_vec(), response.clone()));
        Ok(response)
    }
}

/// The last exchange was our error message, and OpenSSL answered it with a pkiConf
/// under its MAC: it took the error message as the end of the transaction.
fn assert_error_message_acknowledged(exchanges: &[(Vec<u8>, Vec<u8>)], fail_info: PkiFailureInfo) {
    let (request, response) = exchanges.last().expect("exchanges");
    let sent = PkiMessage::from_der(request).expect("request decodes");
    let PkiBody::Error(content) = &sent.body else {
        panic!("last sent {}", sent.body.body_type())
    };
    assert_eq!(content.pki_status_info.failure_info(), fail_info);
    let answer = ReceivedMessage::decode(response, &Limits::default()).expect("answer decodes");
    assert!(
        matches!(answer.message.body, PkiBody::PkiConf(_)),
        "OpenSSL answered {:?}",
        answer.message.body
    );
    assert_eq!(
        answer.message.header.transaction_id,
        sent.header.transaction_id
    );
    assert_eq!(answer.message.header.recip_nonce, sent.header.sender_nonce);
    verify_mac(
        &answer,
        &SharedSecret::from(secret().as_str()),
        &Limits::default(),
    )
    .expect("OpenSSL's MAC");
}

#[test]
fn polling_deadline_is_reported_to_openssl_which_acknowledges() {
    let server = MockServer::mac(&["-poll_count", "3", "-check_after", "5"]);
    let mut config = mac_config();
    config.polling.deadline = std::time::Duration::from_secs(2);
    let mut recording = Recording {
        inner: HttpTransport::builder(server.url())
            .build()
            .expect("transport"),
        exchanges: vec![],
    };
    let err = Client::new(config, &mut recording)
        .enroll(EnrollmentRequest::Ir(crmf()))
        .unwrap_err();
    assert!(matches!(err, Error::PollingDeadline), "{err}");
    assert_error_message_acknowledged(&recording.exchanges, PkiFailureInfo::SYSTEM_UNAVAIL);
}

#[test]
fn refused_ip_is_reported_to_openssl_which_acknowledges() {
    // The ip is genuine but not from the sender we insist on: the client refuses it
    // while OpenSSL waits for the certConf, and tells it so.
    let server = MockServer::mac(&[]);
    let mut config = mac_config();
    config.policy.expected_sender = Some(Name::from_str("CN=Another CA").expect("DN"));
    let mut recording = Recording {
        inner: HttpTransport::builder(server.url())
            .build()
            .expect("transport"),
        exchanges: vec![],
    };
    let err = Client::new(config, &mut recording)
        .enroll(EnrollmentRequest::Ir(crmf()))
        .unwrap_err();
    assert!(matches!(err, Error::UnexpectedSender { .. }), "{err}");
    assert_eq!(recording.exchanges.len(), 2, "ir, then the error message");
    assert_error_message_acknowledged(&recording.exchanges, PkiFailureInfo::SIGNER_NOT_TRUSTED);
}
