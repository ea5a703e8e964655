//! A scripted CA that answers every request with a forged or broken response. Each
//! forgery must be rejected with its own error; none may panic or hang. The core is
//! sans-IO, so the "server" is a function from request bytes to response bytes
//! (`scripted_ca`), and polling runs on a virtual clock: endless waiting ends at the
//! deadline, instantly.

mod openssl_mock;
mod scripted_ca;

use cmp_client::transaction::Enrolled;
use cmp_client::{ClientConfig, Error};
use openssl_mock::cert;
use scripted_ca::{Forgery, config, run};

/// Runs one enrollment against the scripted CA; the error the client ended in.
fn enroll_against(forgery: Forgery) -> Result<Enrolled, Error> {
    enroll_with(forgery, &forgery.config())
}

fn enroll_with(forgery: Forgery, config: &ClientConfig) -> Result<Enrolled, Error> {
    Ok(run(forgery, config).outcome?)
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
fn a_signed_pkiconf_without_extra_certs_is_checked_with_the_ips_signer() {
    // RFC 9483 §3.3: the CA's certificate in the first answer only.
    let enrolled = enroll_against(Forgery::HonestSignedPkiConfWithoutExtraCerts)
        .expect("the ip's signer verifies the lean pkiConf");
    assert_eq!(enrolled.certificate, cert("ee.pem"));
    // The same shape signed by another key in the CA's name does not verify.
    let err = rejected(Forgery::PkiConfWithoutExtraCertsSignedByAnotherKey);
    assert!(matches!(err, Error::ProtectionInvalid(_)), "{err:?}");
}

#[test]
fn pkiconf_repeating_the_ips_sender_nonce() {
    assert!(matches!(
        rejected(Forgery::ReusedSenderNonce),
        Error::SenderNonceReused
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
    for forgery in Forgery::ALL {
        assert!(
            rejected(forgery).is_forged_or_broken_response(),
            "{forgery:?}"
        );
    }
}
