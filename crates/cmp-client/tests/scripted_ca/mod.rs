//! A scripted CA for the sans-IO enrollment: a function from request bytes to response
//! bytes that answers as honestly or as wrongly as a [`Forgery`] says, and [`run`], which
//! drives one enrollment against it on a virtual clock (endless waiting ends at the
//! deadline, instantly) and records every message either way.
#![allow(dead_code)]

use std::str::FromStr;
use std::time::{Duration, SystemTime};

use cmp_client::ClientConfig;
use cmp_client::checks::Trust;
use cmp_client::transaction::{Enrolled, Enrollment, EnrollmentRequest, Failed, Next};
use cmp_proto::builder::{CertRequestBuilder, HeaderBuilder, cert_rep, error_content, poll_rep};
use cmp_proto::der::asn1::{Null, OctetString};
use cmp_proto::der::{Decode, Encode};
use cmp_proto::protection::{MacAlgorithm, PbmParameter, Protector, SharedSecret, verify_mac};
use cmp_proto::x509_cert::ext::pkix::name::GeneralName;
use cmp_proto::x509_cert::name::Name;
use cmp_proto::{
    CertResponse, Limits, PkiBody, PkiFailureInfo, PkiMessage, PkiStatus, PkiStatusInfo,
    ReceivedMessage,
};

use super::openssl_mock::{cert, key, secret};

/// What the CA does wrong (or, for the `Refuses…` ones, rightly).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Forgery {
    RefusesWithRejection,
    RefusesWithErrorMessage,
    Honest,
    /// Honest, after asking to wait: "waiting" in the ip, one pollRep, then the
    /// certificate.
    HonestAfterPolling,
    /// Honest, signing with its CMP certificate (server.pem), which only the ip
    /// carries in extraCerts: the pkiConf has none (RFC 9483 §3.3, Nokia NCM).
    HonestSignedPkiConfWithoutExtraCerts,
    /// As that, but the pkiConf is signed by another key (client.key) in the CA's name.
    PkiConfWithoutExtraCertsSignedByAnotherKey,
    WrongTransactionId,
    WrongRecipNonce,
    ReplayedFirstNonce,
    /// The pkiConf repeats the ip's senderNonce (properly MAC-protected).
    ReusedSenderNonce,
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

impl Forgery {
    /// Every way of misbehaving (not `Honest`, not the honest refusals).
    pub const ALL: [Forgery; 26] = {
        use Forgery::*;
        [
            PkiConfWithoutExtraCertsSignedByAnotherKey,
            WrongTransactionId,
            WrongRecipNonce,
            ReplayedFirstNonce,
            ReusedSenderNonce,
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
        ]
    };

    /// The client configuration to meet it with: for `SignedByUntrustedKey`, the CA's
    /// own certificate pinned as the only anchor (client.pem, though issued by the same
    /// root, is then not trusted to sign responses).
    pub fn config(self) -> ClientConfig {
        let mut config = config();
        if self == Forgery::SignedByUntrustedKey {
            config.trust.anchors = vec![cert("server.pem")];
        }
        config
    }
}

pub fn mac(secret: &str) -> Protector {
    Protector::Mac {
        secret: SharedSecret::from(secret),
        reference: Some(b"1234".to_vec()),
        algorithm: MacAlgorithm::default(),
    }
}

pub fn ca_name() -> GeneralName {
    GeneralName::DirectoryName(cert("server.pem").tbs_certificate().subject().clone())
}

/// The scripted CA: answers `request` (ir, certConf or pollReq) as `forgery` says.
pub fn respond(request: &[u8], forgery: Forgery, polls_so_far: usize) -> Vec<u8> {
    let req = PkiMessage::from_der(request).expect("our request decodes");
    let mut header = HeaderBuilder::reply_to(&req.header, ca_name()).expect("reply header");
    let waiting = matches!(
        forgery,
        Forgery::NegativeCheckAfter | Forgery::HugeCheckAfter | Forgery::EndlessWaiting
    ) || (forgery == Forgery::WaitingAgainAfterPolling && polls_so_far < 2)
        || (forgery == Forgery::HonestAfterPolling && polls_so_far == 0);
    let granted = |cert_req_id| {
        PkiBody::Ip(cert_rep(
            CertResponse::granted(cert_req_id, cert("ee.pem")),
            vec![],
        ))
    };
    let mut body = match &req.body {
        PkiBody::Ir(_) if waiting => PkiBody::Ip(cert_rep(CertResponse::waiting(0), vec![])),
        PkiBody::Ir(_) if forgery == Forgery::RefusesWithRejection => PkiBody::Ip(cert_rep(
            CertResponse::without_certificate(
                0,
                PkiStatusInfo::rejection(PkiFailureInfo::BAD_CERT_TEMPLATE, "no such CN")
                    .expect("status"),
            ),
            vec![],
        )),
        PkiBody::Ir(_) if forgery == Forgery::RefusesWithErrorMessage => PkiBody::Error(
            error_content(
                PkiStatusInfo::rejection(PkiFailureInfo::NOT_AUTHORIZED, "who are you")
                    .expect("status"),
                None,
                None,
            )
            .expect("error"),
        ),
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
            Forgery::WaitingAgainAfterPolling | Forgery::HonestAfterPolling
                if polls_so_far == 1 =>
            {
                PkiBody::PollRep(poll_rep(0, 1, None).expect("pollRep"))
            }
            Forgery::HonestAfterPolling => granted(0),
            _ => PkiBody::Ip(cert_rep(CertResponse::waiting(0), vec![])),
        },
        // The client gives up on the transaction: acknowledge (RFC 4210 §5.3.21).
        PkiBody::CertConf(_) | PkiBody::Error(_) => PkiBody::PkiConf(Null),
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
                CertResponse::without_certificate(0, PkiStatusInfo::accepted()),
                vec![],
            ));
        }
        Forgery::WrongTransactionId => header = header.transaction_id(&[0x42; 16]).expect("tid"),
        Forgery::WrongRecipNonce => {
            header = header.recip_nonce(Some(OctetString::new(vec![0x24; 16]).expect("n")))
        }
        Forgery::UnsupportedPvno => header = header.pvno(1),
        Forgery::ReusedSenderNonce if matches!(body, PkiBody::PkiConf(_)) => {
            let ip_nonce = LAST_SENDER_NONCE
                .with(|n| n.borrow().clone())
                .expect("the ip's senderNonce");
            header = header.sender_nonce(ip_nonce.as_bytes()).expect("nonce");
        }
        Forgery::Oversize => header = header.free_text(&"x".repeat(600 * 1024)).expect("freeText"),
        _ => {}
    }
    let is_pki_conf = matches!(body, PkiBody::PkiConf(_));
    let server_signs = || Protector::Signature {
        key: key("server.key"),
        certificate: Box::new(cert("server.pem")),
        chain: vec![],
    };
    let protector = match forgery {
        Forgery::HonestSignedPkiConfWithoutExtraCerts => server_signs(),
        Forgery::PkiConfWithoutExtraCertsSignedByAnotherKey => server_signs(),
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
        Forgery::HonestSignedPkiConfWithoutExtraCerts if is_pki_conf => msg.extra_certs = None,
        Forgery::PkiConfWithoutExtraCertsSignedByAnotherKey if is_pki_conf => {
            // Everything as the CA would send it, signed by client.key instead.
            msg.extra_certs = None;
            let part = cmp_proto::ProtectedPart {
                header: msg.header.clone(),
                body: msg.body.clone(),
            };
            let signature = key("client.key")
                .sign(&part.to_der().expect("protected part"))
                .expect("sign");
            msg.protection =
                Some(der::asn1::BitString::from_bytes(&signature).expect("bit string"));
        }
        Forgery::AbsurdIterationCount => {
            let alg = msg.header.protection_alg.as_mut().expect("MAC");
            let mut params = PbmParameter::from_algorithm(alg).expect("params");
            params.iteration_count = 1_000_000_000;
            let der = params.to_der().expect("params der");
            alg.parameters = Some(der::asn1::Any::from_der(&der).expect("any"));
        }
        _ => {}
    }
    LAST_SENDER_NONCE.with(|n| *n.borrow_mut() = msg.header.sender_nonce.clone());
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
    /// The senderNonce of the scripted CA's last answer.
    static LAST_SENDER_NONCE: std::cell::RefCell<Option<OctetString>> = const { std::cell::RefCell::new(None) };
}

pub fn config() -> ClientConfig {
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

pub fn request() -> EnrollmentRequest {
    let ee = key("ee.key");
    EnrollmentRequest::Ir(
        CertRequestBuilder::new(ee.public_key_info().expect("spki"))
            .subject(Name::from_str("CN=CMP End Entity").expect("DN"))
            .sign_pop(&ee)
            .expect("POP"),
    )
}

/// One enrollment against the scripted CA, with every message that went either way.
pub struct Run {
    pub outcome: Result<Enrolled, Failed>,
    /// What the client sent, in order: the error message, when there is one, last.
    pub requests: Vec<Vec<u8>>,
    /// What the scripted CA answered, in order.
    pub responses: Vec<Vec<u8>>,
}

impl Run {
    pub fn failed(&self) -> &Failed {
        match &self.outcome {
            Ok(_) => panic!("the enrollment succeeded"),
            Err(failed) => failed,
        }
    }

    /// The error message the client sent, decoded and checked for what every one must
    /// be: an error body with status rejection and `fail_info`, with the ir's
    /// transactionID, MAC-protected with the client's secret, and answered.
    pub fn error_message(&self, fail_info: PkiFailureInfo) -> PkiMessage {
        let failed = self.failed();
        let bytes = failed
            .error_message
            .as_ref()
            .unwrap_or_else(|| panic!("no error message after {}", failed.error));
        assert_eq!(self.requests.last(), Some(bytes), "sent last");
        assert_eq!(self.requests.len(), self.responses.len(), "and answered");
        let received = ReceivedMessage::decode(bytes, &Limits::default()).expect("decodes");
        verify_mac(
            &received,
            &SharedSecret::from(secret().as_str()),
            &Limits::default(),
        )
        .expect("protected with our secret, like the requests");
        let msg = received.message;
        let ir = PkiMessage::from_der(&self.requests[0]).expect("ir");
        assert_eq!(msg.header.transaction_id, ir.header.transaction_id);
        assert_eq!(msg.header.sender, ir.header.sender);
        assert_eq!(msg.header.pvno, 2);
        let PkiBody::Error(content) = &msg.body else {
            panic!("sent {} instead of an error", msg.body.body_type())
        };
        let status = &content.pki_status_info;
        assert_eq!(status.status, PkiStatus::Rejection);
        assert_eq!(status.failure_info(), fail_info, "{status}");
        assert_eq!(
            status.text(),
            Some(failed.error.to_string()),
            "says why in statusString"
        );
        msg
    }

    /// The senderNonce of the `n`th response (counting from 0).
    pub fn response_nonce(&self, n: usize) -> Option<OctetString> {
        PkiMessage::from_der(&self.responses[n])
            .expect("response decodes")
            .header
            .sender_nonce
    }
}

/// Runs one enrollment against the scripted CA on a virtual clock, and sends it the
/// error message when the client ends in one. At most 50 exchanges: a client that would
/// go on longer fails the test instead of hanging it.
pub fn run(forgery: Forgery, config: &ClientConfig) -> Run {
    let mut now = SystemTime::now();
    let (mut tx, mut bytes) = Enrollment::start(config, request(), now).expect("ir");
    let first = PkiMessage::from_der(&bytes)
        .expect("ir")
        .header
        .sender_nonce;
    FIRST_NONCE.with(|n| *n.borrow_mut() = first);
    let (mut requests, mut responses) = (vec![], vec![]);
    let mut polls = 0;
    for _ in 0..50 {
        if PkiMessage::from_der(&bytes).is_ok_and(|m| matches!(m.body, PkiBody::PollReq(_))) {
            polls += 1;
        }
        let response = respond(&bytes, forgery, polls);
        requests.push(bytes);
        responses.push(response.clone());
        let outcome = match tx.receive(config, &response, now) {
            Ok(Next::Send {
                transaction,
                request,
                wait,
            }) => {
                now += wait;
                tx = transaction;
                bytes = request;
                continue;
            }
            Ok(Next::Done(enrolled)) => Ok(enrolled),
            Err(failed) => {
                if let Some(error_message) = &failed.error_message {
                    responses.push(respond(error_message, forgery, polls));
                    requests.push(error_message.clone());
                }
                Err(failed)
            }
        };
        return Run {
            outcome,
            requests,
            responses,
        };
    }
    panic!("{forgery:?}: the client kept going for 50 exchanges");
}
