//! The error message that ends a transaction the client gives up on (RFC 4210
//! §5.3.21), against the scripted CA: after each refused response the client must tell
//! the CA, with a protected error message naming why, that the transaction is over;
//! after the CA's own refusal, or a certConf that already rejected the certificate, it
//! must not. (OpenSSL's answer to it is in `openssl_mock_server.rs`, the async client's
//! sending it in `asynchronous.rs`.)

mod openssl_mock;
mod scripted_ca;

use std::time::SystemTime;

use cmp_client::Error;
use cmp_client::transaction::{Enrollment, Next};
use cmp_proto::der::Decode;
use cmp_proto::{PkiBody, PkiFailureInfo, PkiMessage, PkiStatus};
use scripted_ca::{Forgery, config, request, respond, run};

#[test]
fn bad_mac_on_the_ip_is_reported_to_the_ca_as_bad_message_check() {
    let run = run(Forgery::BadMac, &config());
    let msg = run.error_message(PkiFailureInfo::BAD_MESSAGE_CHECK);
    // The ip named our transaction and answered our ir: if it was the CA's, with a
    // misconfigured key, its senderNonce is the one the CA expects back.
    assert_eq!(msg.header.recip_nonce, run.response_nonce(0));
    assert!(msg.header.recip_nonce.is_some());
}

#[test]
fn polling_deadline_is_reported_to_the_ca_as_system_unavail() {
    let run = run(Forgery::EndlessWaiting, &config());
    assert!(matches!(run.failed().error, Error::PollingDeadline));
    let msg = run.error_message(PkiFailureInfo::SYSTEM_UNAVAIL);
    let last_poll_rep = run.responses.len() - 2;
    assert_eq!(msg.header.recip_nonce, run.response_nonce(last_poll_rep));
}

#[test]
fn waiting_again_after_polling_is_reported_to_the_ca_as_bad_request() {
    let run = run(Forgery::WaitingAgainAfterPolling, &config());
    let msg = run.error_message(PkiFailureInfo::BAD_REQUEST);
    let waiting_again = run.responses.len() - 2;
    assert_eq!(msg.header.recip_nonce, run.response_nonce(waiting_again));
}

#[test]
fn response_to_another_message_is_reported_without_echoing_its_nonce() {
    // The ip does not answer our ir, so its senderNonce is not the CA's current one:
    // there is no earlier response, so the error message carries no recipNonce.
    let run = run(Forgery::WrongRecipNonce, &config());
    let msg = run.error_message(PkiFailureInfo::BAD_RECIPIENT_NONCE);
    assert_eq!(msg.header.recip_nonce, None);

    // The pkiConf echoes the ir's nonce instead of the certConf's: the error message
    // echoes the last senderNonce accepted, the ip's.
    let run = self::run(Forgery::ReplayedFirstNonce, &config());
    let msg = run.error_message(PkiFailureInfo::BAD_RECIPIENT_NONCE);
    assert_eq!(msg.header.recip_nonce, run.response_nonce(0));
}

#[test]
fn every_forgery_is_reported_to_the_ca_with_its_fail_info() {
    // A certificate for another key is refused by certConf instead (below).
    for forgery in Forgery::ALL
        .into_iter()
        .filter(|f| *f != Forgery::CertificateForAnotherKey)
    {
        let run = run(forgery, &forgery.config());
        let fail_info = run
            .failed()
            .error
            .fail_info()
            .expect("the peer is to blame");
        assert!(!fail_info.is_empty(), "{forgery:?}");
        run.error_message(fail_info);
    }
}

#[test]
fn certificate_for_another_key_is_refused_by_cert_conf_alone() {
    let run = run(Forgery::CertificateForAnotherKey, &config());
    let failed = run.failed();
    assert!(matches!(failed.error, Error::PublicKeyMismatch));
    assert!(failed.error_message.is_none(), "the certConf ended it");
    let cert_conf = PkiMessage::from_der(run.requests.last().expect("certConf")).expect("der");
    let PkiBody::CertConf(statuses) = &cert_conf.body else {
        panic!("{}", cert_conf.body.body_type())
    };
    let status = statuses[0].status_info.as_ref().expect("status");
    assert_eq!(status.status, PkiStatus::Rejection);
    assert!(
        status
            .failure_info()
            .contains(PkiFailureInfo::INCORRECT_DATA)
    );
}

#[test]
fn the_cas_own_refusal_gets_no_error_message() {
    let run = run(Forgery::RefusesWithRejection, &config());
    let failed = run.failed();
    assert!(
        matches!(failed.error, Error::Rejected { .. }),
        "{}",
        failed.error
    );
    assert!(failed.error_message.is_none());
    assert_eq!(run.requests.len(), 1, "the ir only");

    let run = self::run(Forgery::RefusesWithErrorMessage, &config());
    let failed = run.failed();
    assert!(
        matches!(failed.error, Error::ErrorMessage { .. }),
        "{}",
        failed.error
    );
    assert!(failed.error_message.is_none());
    assert_eq!(run.requests.len(), 1, "the ir only");
}

#[test]
fn the_caller_can_abandon_while_polling() {
    let config = config();
    let now = SystemTime::now();
    let (tx, ir) = Enrollment::start(&config, request(), now).expect("ir");
    let waiting = respond(&ir, Forgery::EndlessWaiting, 0);
    let Next::Send { transaction, .. } = tx.receive(&config, &waiting, now).expect("waiting")
    else {
        panic!("done while waiting")
    };
    let bytes = transaction
        .abandon(&config, PkiFailureInfo::SYSTEM_UNAVAIL, "shutting down")
        .expect("error message");
    let msg = PkiMessage::from_der(&bytes).expect("decodes");
    assert_eq!(
        msg.header.transaction_id,
        PkiMessage::from_der(&ir).expect("ir").header.transaction_id
    );
    assert_eq!(
        msg.header.recip_nonce,
        PkiMessage::from_der(&waiting)
            .expect("ip")
            .header
            .sender_nonce
    );
    let PkiBody::Error(content) = &msg.body else {
        panic!("{}", msg.body.body_type())
    };
    assert_eq!(
        content.pki_status_info.failure_info(),
        PkiFailureInfo::SYSTEM_UNAVAIL
    );
    assert_eq!(
        content.pki_status_info.text().as_deref(),
        Some("shutting down")
    );
}
