//! A scripted CA that answers every request with a forged or broken response. Each
//! forgery must be rejected with its own error; none may panic or hang. The core is
//! sans-IO, so the "server" is a function from request bytes to response bytes, and
//! polling runs on a virtual clock: endless waiting ends at the deadline, instantly.

mod openssl_mock;

use std::str::FromStr;
use std::time::{Duration, SystemTime};

use cmp_client::checks::Trust;
use cmp_client::transaction::{Enrollment, EnrollmentRequest, Next};
use cmp_client::{ClientConfig, Error};
use cmp_proto::builder::{CertRequestBuilder, HeaderBuilder, cert_rep, poll_rep};
use cmp_proto::der::asn1::{Null, OctetString};
use cmp_proto::der::{Decode, Encode};
use cmp_proto::protection::{MacAlgorithm, PbmParameter, Protector, SharedSecret};
use cmp_proto::x509_cert::ext::pkix::name::GeneralName;
use cmp_proto::x509_cert::name::Name;
use cmp_proto::{CertResponse, PkiBody, PkiMessage};
use openssl_mock::{cert, key, secret};

/// What the CA does wrong.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Forgery {
    Honest,
    WrongTransactionId,
    WrongRecipNonce,
    ReplayedFirstNonce,
    MissingSenderNonce,
    BadMac,
    Unprotected,
    SignedByUntrustedKey,
    SignedWithoutCertificate,
    WrongBodyType,
    WrongCertReqId,
    TwoResponses,
    CertificateForAnotherKey,
    GrantedWithoutCertificate,
    TrailingBytes,
    Truncated,
    Garbage,
    Oversize,
    TooManyCertificates,
    AbsurdIterationCount,
    NegativeCheckAfter,
    HugeCheckAfter,
    EndlessWaiting,
    WaitingAgainAfterPolling,
    UnsupportedPvno,
}

fn mac(secret: &str) -> Protector {
    Protector::Mac {
        secret: SharedSecret::from(secret),
        reference: Some(b"1234".to_vec()),
        algorithm: MacAlgorithm::default(),
    }
}

fn ca_name() -> GeneralName {
    GeneralName::DirectoryName(cert("server.pem").tbs_certificate().subject().clone())
}

/// The scripted CA: answers `request` (ir, certConf or pollReq) as `forgery` says.
fn respond(request: &[u8], forgery: Forgery, polls_so_far: usize) -> Vec<u8> {
    let req = PkiMessage::from_der(request).expect("our request decodes");
    let mut header = HeaderBuilder::reply_to(&req.header, ca_name()).expect("reply header");
    let waiting = matches!(
        forgery,
        Forgery::NegativeCheckAfter | Forgery::HugeCheckAfter | Forgery::EndlessWaiting
    ) || (forgery == Forgery::WaitingAgainAfterPolling && polls_so_far < 2);
    let granted = |cert_req_id| {
        PkiBody::Ip(cert_rep(
            CertResponse::granted(cert_req_id, cert("ee.pem")),
            vec![],
        ))
    };
    let mut body = match &req.body {
        PkiBody::Ir(_) if waiting => PkiBody::Ip(cert_rep(CertResponse::waiting(0), vec![])),
        PkiBody::Ir(_) => granted(0),
        PkiBody::PollReq(_) => match forgery {
            Forgery::NegativeCheckAfter => {
                PkiBody::PollRep(poll_rep(0, -5, None).expect("pollRep"))
            }
            Forgery::HugeCheckAfter => {
                PkiBody::PollRep(poll_rep(0, i64::MAX, None).expect("pollRep"))
            }
            Forgery::EndlessWaiting => {
                PkiBody::PollRep(poll_rep(0, 60, Some("queued")).expect("pollRep"))
            }
            // After one pollRep, answer the final ip with "waiting" again.
            Forgery::WaitingAgainAfterPolling if polls_so_far == 1 => {
                PkiBody::PollRep(poll_rep(0, 1, None).expect("pollRep"))
            }
            _ => PkiBody::Ip(cert_rep(CertResponse::waiting(0), vec![])),
        },
        PkiBody::CertConf(_) => PkiBody::PkiConf(Null),
        other => panic!("the scripted CA does not expect {}", other.body_type()),
    };
    match forgery {
        Forgery::WrongBodyType if matches!(body, PkiBody::Ip(_)) => body = PkiBody::Genp(vec![]),
        Forgery::WrongCertReqId if matches!(body, PkiBody::Ip(_)) => body = granted(7),
        Forgery::TwoResponses => {
            if let PkiBody::Ip(rep) = &mut body {
                rep.response.push(rep.response[0].clone());
            }
        }
        Forgery::CertificateForAnotherKey if matches!(body, PkiBody::Ip(_)) => {
            body = PkiBody::Ip(cert_rep(
                CertResponse::granted(0, cert("client.pem")),
                vec![],
            ));
        }
        Forgery::GrantedWithoutCertificate if matches!(body, PkiBody::Ip(_)) => {
            body = PkiBody::Ip(cert_rep(
                CertResponse::without_certificate(0, cmp_proto::PkiStatusInfo::accepted()),
                vec![],
            ));
        }
        Forgery::WrongTransactionId => header = header.transaction_id(&[0x42; 16]).expect("tid"),
        Forgery::WrongRecipNonce => {
            header = header.recip_nonce(Some(OctetString::new(vec![0x24; 16]).expect("n")))
        }
        Forgery::UnsupportedPvno => header = header.pvno(1),
        Forgery::Oversize => header = header.free_text(&"x".repeat(600 * 1024)).expect("freeText"),
        _ => {}
    }
    let protector = match forgery {
        Forgery::BadMac => mac("not the shared secret"),
        Forgery::SignedByUntrustedKey | Forgery::SignedWithoutCertificate => Protector::Signature {
            // A well-formed signature by a key whose certificate is not under our anchor.
            key: key("client.key"),
            certificate: Box::new(cert("client.pem")),
            chain: vec![],
        },
        _ => mac(&secret()),
    };
    if forgery == Forgery::SignedByUntrustedKey {
        header = HeaderBuilder::reply_to(
            &req.header,
            GeneralName::DirectoryName(cert("client.pem").tbs_certificate().subject().clone()),
        )
        .expect("reply header");
    }
    let extra = if forgery == Forgery::TooManyCertificates {
        vec![cert("root.pem"); 40]
    } else {
        vec![]
    };
    let mut msg = header
        .build_with_extra_certs(
            body,
            (forgery != Forgery::Unprotected).then_some(&protector),
            extra,
        )
        .expect("response builds");
    match forgery {
        Forgery::MissingSenderNonce => msg.header.sender_nonce = None,
        Forgery::ReplayedFirstNonce if matches!(msg.body, PkiBody::PkiConf(_)) => {
            // The pkiConf echoes the ir's nonce instead of the certConf's: a replay.
            msg.header.recip_nonce = Some(
                FIRST_NONCE
                    .with(|n| n.borrow().clone())
                    .expect("first nonce"),
            );
        }
        Forgery::SignedWithoutCertificate => msg.extra_certs = None,
        Forgery::AbsurdIterationCount => {
            let alg = msg.header.protection_alg.as_mut().expect("MAC");
            let mut params = PbmParameter::from_algorithm(alg).expect("params");
            params.iteration_count = 1_000_000_000;
            let der = params.to_der().expect("params der");
            alg.parameters = Some(der::asn1::Any::from_der(&der).expect("any"));
        }
        _ => {}
    }
    let mut bytes = msg.to_der().expect("encodes");
    match forgery {
        Forgery::TrailingBytes => bytes.extend_from_slice(&[0, 0, 0]),
        Forgery::Truncated => bytes.truncate(bytes.len() / 2),
        Forgery::Garbage => bytes = b"<html>502 Bad Gateway</html>".to_vec(),
        _ => {}
    }
    bytes
}

thread_local! {
    static FIRST_NONCE: std::cell::RefCell<Option<OctetString>> = const { std::cell::RefCell::new(None) };
}

fn config() -> ClientConfig {
    let secret = SharedSecret::from(secret().as_str());
    let mut config = ClientConfig::new(
        Protector::Mac {
            secret: secret.clone(),
            reference: Some(b"1234".to_vec()),
            algorithm: MacAlgorithm::default(),
        },
        Trust {
            secret: Some(secret),
            anchors: vec![cert("root.pem")],
            ..Trust::default()
        },
    );
    config.polling.max_check_after = Duration::from_secs(120);
    config.polling.deadline = Duration::from_secs(600);
    config
}

fn request() -> EnrollmentRequest {
    let ee = key("ee.key");
    EnrollmentRequest::Ir(
        CertRequestBuilder::new(ee.public_key_info().expect("spki"))
            .subject(Name::from_str("CN=CMP End Entity").expect("DN"))
            .sign_pop(&ee)
            .expect("POP"),
    )
}

/// Runs one enrollment against the scripted CA on a virtual clock. At most 50
/// exchanges: a client that would go on longer fails the test instead of hanging it.
fn enroll_against(forgery: Forgery) -> Result<cmp_client::transaction::Enrolled, Error> {
    let mut config = config();
    if forgery == Forgery::SignedByUntrustedKey {
        // The CA's own certificate pinned as the only anchor: client.pem, though issued
        // by the same root, is then not trusted to sign responses.
        config.trust.anchors = vec![cert("server.pem")];
    }
    enroll_with(forgery, &config)
}

fn enroll_with(
    forgery: Forgery,
    config: &ClientConfig,
) -> Result<cmp_client::transaction::Enrolled, Error> {
    let mut now = SystemTime::now();
    let (mut tx, mut bytes) = Enrollment::start(config, request(), now)?;
    let first = PkiMessage::from_der(&bytes)
        .expect("ir")
        .header
        .sender_nonce;
    FIRST_NONCE.with(|n| *n.borrow_mut() = first);
    let mut polls = 0;
    for _ in 0..50 {
        if PkiMessage::from_der(&bytes).is_ok_and(|m| matches!(m.body, PkiBody::PollReq(_))) {
            polls += 1;
        }
        let response = respond(&bytes, forgery, polls);
        match tx.receive(config, &response, now)? {
            Next::Done(enrolled) => return Ok(enrolled),
            Next::Send {
                transaction,
                request,
                wait,
            } => {
                now += wait;
                tx = transaction;
                bytes = request;
            }
        }
    }
    panic!("{forgery:?}: the client kept going for 50 exchanges");
}

fn rejected(forgery: Forgery) -> Error {
    match enroll_against(forgery) {
        Ok(_) => panic!("{forgery:?} was accepted"),
        Err(e) => {
            assert!(!e.to_string().is_empty());
            e
        }
    }
}

#[test]
fn the_honest_ca_is_accepted() {
    let enrolled = enroll_against(Forgery::Honest).expect("honest CA");
    assert_eq!(enrolled.certificate, cert("ee.pem"));
}

#[test]
fn wrong_transaction_id() {
    assert!(matches!(
        rejected(Forgery::WrongTransactionId),
        Error::TransactionIdMismatch
    ));
}

#[test]
fn wrong_recip_nonce() {
    assert!(matches!(
        rejected(Forgery::WrongRecipNonce),
        Error::RecipNonceMismatch
    ));
}

#[test]
fn replayed_nonce_of_an_earlier_request() {
    assert!(matches!(
        rejected(Forgery::ReplayedFirstNonce),
        Error::RecipNonceMismatch
    ));
}

#[test]
fn missing_sender_nonce() {
    assert!(matches!(
        rejected(Forgery::MissingSenderNonce),
        Error::BadSenderNonce
    ));
}

#[test]
fn bad_mac() {
    assert!(matches!(
        rejected(Forgery::BadMac),
        Error::ProtectionInvalid(cmp_proto::Error::ProtectionInvalid { .. })
    ));
}

#[test]
fn unprotected_positive_answer() {
    assert!(matches!(
        rejected(Forgery::Unprotected),
        Error::Unprotected { .. }
    ));
}

#[test]
fn signature_by_an_untrusted_key() {
    assert!(matches!(
        rejected(Forgery::SignedByUntrustedKey),
        Error::SignerUntrusted { .. }
    ));
}

/// Trusting a root trusts every certificate under it: another end entity of the same
/// PKI can sign a response. Pinning the CA's certificate (above) or naming the expected
/// sender stops it; with neither, the response is accepted, as OpenSSL's `-trusted`
/// without `-expect_sender` does.
#[test]
fn impersonation_by_another_certificate_of_the_same_pki() {
    let mut config = config();
    assert!(
        enroll_with(Forgery::SignedByUntrustedKey, &config).is_ok(),
        "root-only trust admits it"
    );
    config.policy.expected_sender = Some(cert("server.pem").tbs_certificate().subject().clone());
    let err = enroll_with(Forgery::SignedByUntrustedKey, &config).unwrap_err();
    assert!(matches!(err, Error::UnexpectedSender { .. }), "{err}");
}

#[test]
fn signature_without_signer_certificate() {
    assert!(matches!(
        rejected(Forgery::SignedWithoutCertificate),
        Error::NoSignerCertificate
    ));
}

#[test]
fn wrong_body_type() {
    assert!(matches!(
        rejected(Forgery::WrongBodyType),
        Error::UnexpectedBody { .. }
    ));
}

#[test]
fn wrong_cert_req_id() {
    assert!(matches!(
        rejected(Forgery::WrongCertReqId),
        Error::CertReqIdMismatch {
            expected: 0,
            got: 7
        }
    ));
}

#[test]
fn two_certificate_responses() {
    assert!(matches!(
        rejected(Forgery::TwoResponses),
        Error::ResponseCount { got: 2 }
    ));
}

#[test]
fn certificate_for_another_key() {
    assert!(matches!(
        rejected(Forgery::CertificateForAnotherKey),
        Error::PublicKeyMismatch
    ));
}

#[test]
fn granted_without_certificate() {
    assert!(matches!(
        rejected(Forgery::GrantedWithoutCertificate),
        Error::MissingCertificate
    ));
}

#[test]
fn trailing_bytes() {
    assert!(matches!(
        rejected(Forgery::TrailingBytes),
        Error::Malformed(cmp_proto::Error::TrailingData { len: 3 })
    ));
}

#[test]
fn truncated_response() {
    assert!(matches!(
        rejected(Forgery::Truncated),
        Error::Malformed(cmp_proto::Error::Decode { .. })
    ));
}

#[test]
fn garbage_instead_of_a_message() {
    assert!(matches!(
        rejected(Forgery::Garbage),
        Error::Malformed(cmp_proto::Error::Decode { .. })
    ));
}

#[test]
fn oversize_response() {
    assert!(matches!(
        rejected(Forgery::Oversize),
        Error::Malformed(cmp_proto::Error::LimitExceeded {
            what: "message size",
            ..
        })
    ));
}

#[test]
fn too_many_certificates() {
    assert!(matches!(
        rejected(Forgery::TooManyCertificates),
        Error::Malformed(cmp_proto::Error::LimitExceeded { value: 40, .. })
    ));
}

#[test]
fn absurd_iteration_count_is_refused_before_computing() {
    assert!(matches!(
        rejected(Forgery::AbsurdIterationCount),
        Error::ProtectionInvalid(cmp_proto::Error::LimitExceeded {
            what: "PBM iteration count",
            ..
        })
    ));
}

#[test]
fn negative_check_after() {
    assert!(matches!(
        rejected(Forgery::NegativeCheckAfter),
        Error::CheckAfterOutOfRange { seconds: -5, .. }
    ));
}

#[test]
fn huge_check_after() {
    assert!(matches!(
        rejected(Forgery::HugeCheckAfter),
        Error::CheckAfterOutOfRange {
            seconds: i64::MAX,
            ..
        }
    ));
}

#[test]
fn endless_waiting_ends_at_the_deadline() {
    assert!(matches!(
        rejected(Forgery::EndlessWaiting),
        Error::PollingDeadline
    ));
}

#[test]
fn waiting_again_after_polling() {
    assert!(matches!(
        rejected(Forgery::WaitingAgainAfterPolling),
        Error::WaitingAgain
    ));
}

#[test]
fn unsupported_pvno() {
    assert!(matches!(
        rejected(Forgery::UnsupportedPvno),
        Error::UnsupportedPvno { pvno: 1 }
    ));
}

#[test]
fn every_forgery_is_blamed_on_the_peer() {
    use Forgery::*;
    for forgery in [
        WrongTransactionId,
        WrongRecipNonce,
        ReplayedFirstNonce,
        MissingSenderNonce,
        BadMac,
        Unprotected,
        SignedByUntrustedKey,
        SignedWithoutCertificate,
        WrongBodyType,
        WrongCertReqId,
        TwoResponses,
        CertificateForAnotherKey,
        GrantedWithoutCertificate,
        TrailingBytes,
        Truncated,
        Garbage,
        Oversize,
        TooManyCertificates,
        AbsurdIterationCount,
        NegativeCheckAfter,
        HugeCheckAfter,
        EndlessWaiting,
        WaitingAgainAfterPolling,
        UnsupportedPvno,
    ] {
        assert!(
            rejected(forgery).is_forged_or_broken_response(),
            "{forgery:?}"
        );
    }
}
