//! p10cr and the certReqId of its answer. RFC 9483 §4.1.4 has the cp use -1; EJBCA
//! 8.2 (seen here, `e2e/ejbca`), EJBCA 9.3 and Nokia NCM answer with 0. By default the
//! client takes a first answer for 0 as its own and uses 0 from then on; a strict
//! policy refuses it; any other id is refused either way.

mod openssl_mock;
mod scripted_ca;

use std::time::SystemTime;

use cmp_client::transaction::{Enrolled, Enrollment, EnrollmentRequest, Next};
use cmp_client::{ClientConfig, Error};
use cmp_proto::builder::{HeaderBuilder, cert_rep};
use cmp_proto::der::asn1::Null;
use cmp_proto::der::{Decode, DecodePem, Encode};
use cmp_proto::x509_cert::request::CertReq;
use cmp_proto::{CertResponse, PkiBody, PkiMessage};
use openssl_mock::{cert, keys, secret};
use scripted_ca::{ca_name, config, mac};

/// How the CA numbers its answers: the id of its first cp (or of "waiting" when it
/// polls), and the id of the cp after polling.
#[derive(Clone, Copy)]
struct Numbering {
    first: i64,
    after_polling: Option<i64>,
}

fn csr() -> CertReq {
    CertReq::from_pem(std::fs::read(keys().join("ee.csr")).expect("csr")).expect("CSR")
}

fn answer(request: &[u8], numbering: Numbering) -> Vec<u8> {
    let req = PkiMessage::from_der(request).expect("our request decodes");
    let granted = |id| PkiBody::Cp(cert_rep(CertResponse::granted(id, cert("ee.pem")), vec![]));
    let body = match (&req.body, numbering.after_polling) {
        (PkiBody::P10cr(_), None) => granted(numbering.first),
        (PkiBody::P10cr(_), Some(_)) => {
            PkiBody::Cp(cert_rep(CertResponse::waiting(numbering.first), vec![]))
        }
        (PkiBody::PollReq(polls), Some(id)) => {
            assert_eq!(
                polls[0].cert_req_id, numbering.first,
                "polls for the id we use"
            );
            granted(id)
        }
        (PkiBody::CertConf(_) | PkiBody::Error(_), _) => PkiBody::PkiConf(Null),
        (other, _) => panic!("unexpected {}", other.body_type()),
    };
    HeaderBuilder::reply_to(&req.header, ca_name())
        .expect("reply header")
        .build(body, Some(&mac(&secret())))
        .expect("builds")
        .to_der()
        .expect("encodes")
}

/// One p10cr enrollment; the outcome and every request sent.
fn enroll(
    numbering: Numbering,
    config: &ClientConfig,
) -> (Result<Enrolled, Error>, Vec<PkiMessage>) {
    let now = SystemTime::now();
    let (mut tx, mut bytes) =
        Enrollment::start(config, EnrollmentRequest::P10cr(csr()), now).expect("p10cr");
    let mut sent = vec![];
    for _ in 0..10 {
        sent.push(PkiMessage::from_der(&bytes).expect("request"));
        match tx.receive(config, &answer(&bytes, numbering), now) {
            Ok(Next::Send {
                transaction,
                request,
                ..
            }) => (tx, bytes) = (transaction, request),
            Ok(Next::Done(enrolled)) => return (Ok(enrolled), sent),
            Err(failed) => return (Err(failed.error), sent),
        }
    }
    panic!("the enrollment went on for 10 exchanges");
}

fn cert_conf_id(sent: &[PkiMessage]) -> i64 {
    match &sent.last().expect("a request").body {
        PkiBody::CertConf(statuses) => statuses[0].cert_req_id,
        other => panic!("last request was {}, not certConf", other.body_type()),
    }
}

fn strict() -> ClientConfig {
    let mut config = config();
    config.policy.strict_p10cr_cert_req_id = true;
    config
}

const ZERO: Numbering = Numbering {
    first: 0,
    after_polling: None,
};

#[test]
fn accepts_a_p10cr_answer_for_certreqid_zero_and_confirms_with_zero() {
    let (outcome, sent) = enroll(ZERO, &config());
    assert_eq!(outcome.expect("enrolled").certificate, cert("ee.pem"));
    assert_eq!(cert_conf_id(&sent), 0, "certConf names the id the CA used");
}

#[test]
fn accepts_minus_one_as_rfc_9483_says_either_way() {
    let rfc = Numbering {
        first: -1,
        after_polling: None,
    };
    for config in [config(), strict()] {
        let (outcome, sent) = enroll(rfc, &config);
        outcome.expect("enrolled");
        assert_eq!(cert_conf_id(&sent), -1);
    }
}

#[test]
fn strict_policy_refuses_certreqid_zero_and_says_which_setting() {
    let (outcome, _) = enroll(ZERO, &strict());
    let err = outcome.expect_err("strict refuses 0");
    assert!(
        matches!(
            err,
            Error::CertReqIdMismatch {
                expected: -1,
                got: 0
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("strict p10cr"), "{err}");
}

#[test]
fn refuses_any_other_certreqid_even_when_lenient() {
    let seven = Numbering {
        first: 7,
        after_polling: None,
    };
    let (outcome, _) = enroll(seven, &config());
    assert!(matches!(
        outcome,
        Err(Error::CertReqIdMismatch {
            expected: -1,
            got: 7
        })
    ));
}

#[test]
fn the_id_of_the_first_answer_holds_through_polling() {
    // "waiting" for 0, then the certificate for 0: polls and certConf use 0.
    let zero_then_zero = Numbering {
        first: 0,
        after_polling: Some(0),
    };
    let (outcome, sent) = enroll(zero_then_zero, &config());
    outcome.expect("enrolled after polling");
    assert!(matches!(sent[1].body, PkiBody::PollReq(_)));
    assert_eq!(cert_conf_id(&sent), 0);

    // "waiting" for -1, then the certificate for 0: the CA changed its mind mid-way.
    let minus_one_then_zero = Numbering {
        first: -1,
        after_polling: Some(0),
    };
    let (outcome, _) = enroll(minus_one_then_zero, &config());
    assert!(
        matches!(
            outcome,
            Err(Error::CertReqIdMismatch {
                expected: -1,
                got: 0
            })
        ),
        "{outcome:?}"
    );
}
