//! Checkpointing an enrollment and resuming it after a restart: the checkpoint round
//! trips in every state and refuses anything corrupted without panicking; a resumed
//! enrollment polls on, confirms again or gives up as `Enrollment::resume` documents,
//! against the scripted CA (on a virtual clock) and against OpenSSL's mock server.

mod openssl_mock;
mod scripted_ca;

use std::sync::OnceLock;
use std::time::{Duration, SystemTime};

use cmp_client::transaction::{
    Awaiting, Enrolled, Enrollment, Failed, InFlightEnrollment, Next, Resumption,
};
use cmp_client::transport::{HttpTransport, Transport};
use cmp_client::{ClientConfig, Error};
use cmp_proto::builder::{HeaderBuilder, error_content};
use cmp_proto::der::asn1::{Any, OctetString};
use cmp_proto::der::{Decode, Encode};
use cmp_proto::protection::{SharedSecret, verify_mac};
use cmp_proto::{
    Limits, PkiBody, PkiFailureInfo, PkiMessage, PkiStatus, PkiStatusInfo, ReceivedMessage,
};
use openssl_mock::{MockServer, cert, key, secret};
use proptest::prelude::*;
use scripted_ca::{Forgery, ca_name, config, mac, request, respond};

// ---------------------------------------------------------------------------------
// Driving an enrollment against the scripted CA.

/// The scripted CA, counting pollReqs as `scripted_ca::run` does.
struct Ca {
    forgery: Forgery,
    polls: usize,
}

impl Ca {
    fn new(forgery: Forgery) -> Self {
        Self { forgery, polls: 0 }
    }

    fn answer(&mut self, request: &[u8]) -> Vec<u8> {
        if matches!(decode(request).body, PkiBody::PollReq(_)) {
            self.polls += 1;
        }
        respond(request, self.forgery, self.polls)
    }
}

fn decode(bytes: &[u8]) -> PkiMessage {
    PkiMessage::from_der(bytes).expect("message decodes")
}

/// Sends `request`, expecting another request back.
fn step(
    tx: Enrollment,
    request: &[u8],
    ca: &mut Ca,
    config: &ClientConfig,
    now: SystemTime,
) -> (Enrollment, Vec<u8>) {
    match tx.receive(config, &ca.answer(request), now) {
        Ok(Next::Send {
            transaction,
            request,
            ..
        }) => (transaction, request),
        Ok(Next::Done(_)) => panic!("done, expected another request"),
        Err(failed) => panic!("failed: {failed}"),
    }
}

/// Sends requests until the enrollment ends.
#[allow(clippy::result_large_err)] // as `Enrollment::receive`
fn finish(
    mut tx: Enrollment,
    mut request: Vec<u8>,
    ca: &mut Ca,
    config: &ClientConfig,
    mut now: SystemTime,
) -> Result<Enrolled, Failed> {
    for _ in 0..20 {
        match tx.receive(config, &ca.answer(&request), now)? {
            Next::Send {
                transaction,
                request: next,
                wait,
            } => {
                now += wait;
                (tx, request) = (transaction, next);
            }
            Next::Done(enrolled) => return Ok(enrolled),
        }
    }
    panic!("still going after 20 exchanges");
}

/// An enrollment against the scripted CA brought to the point where the request
/// awaiting `awaiting` is about to go out, with its checkpoint taken then; and the
/// first request and the last response, for comparing nonces.
struct Checkpointed {
    in_flight: InFlightEnrollment,
    tx: Enrollment,
    request: Vec<u8>,
    ca: Ca,
    ir: Vec<u8>,
    last_response: Option<Vec<u8>>,
}

fn checkpointed(awaiting: Awaiting, config: &ClientConfig, now: SystemTime) -> Checkpointed {
    let forgery = match awaiting {
        Awaiting::PollRep => Forgery::HonestAfterPolling,
        Awaiting::RejectionAck => Forgery::CertificateForAnotherKey,
        _ => Forgery::Honest,
    };
    let mut ca = Ca::new(forgery);
    let (mut tx, ir) = Enrollment::start(config, request(), now).expect("ir");
    let mut request = ir.clone();
    let mut last_response = None;
    if awaiting != Awaiting::Certificate {
        let response = ca.answer(&request);
        let Ok(Next::Send {
            transaction,
            request: next,
            ..
        }) = tx.receive(config, &response, now)
        else {
            panic!("the first response leads to another request");
        };
        (tx, request) = (transaction, next);
        last_response = Some(response);
    }
    let in_flight = tx.checkpoint();
    assert_eq!(in_flight.awaiting(), awaiting);
    Checkpointed {
        in_flight,
        tx,
        request,
        ca,
        ir,
        last_response,
    }
}

const EVERY_STATE: [Awaiting; 4] = [
    Awaiting::Certificate,
    Awaiting::PollRep,
    Awaiting::Confirmation,
    Awaiting::RejectionAck,
];

/// A checkpoint awaiting confirmation, with a certificate and caPubs: the largest kind.
fn confirmation_bytes() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        checkpointed(Awaiting::Confirmation, &config(), SystemTime::now())
            .in_flight
            .to_bytes()
            .expect("encodes")
    })
}

// ---------------------------------------------------------------------------------
// The encoding.

#[test]
fn checkpoint_round_trips_in_every_state() {
    let now = SystemTime::now();
    for awaiting in EVERY_STATE {
        let run = checkpointed(awaiting, &config(), now);
        let bytes = run.in_flight.to_bytes().expect("encodes");
        let decoded = InFlightEnrollment::from_bytes(&bytes).expect("decodes");
        assert_eq!(decoded, run.in_flight, "{awaiting:?}");
        assert_eq!(decoded.to_bytes().expect("encodes"), bytes, "{awaiting:?}");
        assert_eq!(decoded.awaiting(), awaiting);
        let ir = decode(&run.ir);
        assert_eq!(
            Some(decoded.transaction_id()),
            ir.header.transaction_id.as_ref().map(|t| t.as_bytes())
        );
        assert_eq!(decoded.request_type(), cmp_proto::BodyType::Ir);
        assert!(!decoded.implicit_confirm_requested());
        assert_eq!(
            decoded.requested_key(),
            &key("ee.key").public_key_info().expect("spki")
        );
        // The deadline is kept in whole seconds, rounded down.
        let deadline = decoded.polling_deadline();
        assert!(deadline <= now + config().polling.deadline);
        assert!(deadline + Duration::from_secs(1) > now + config().polling.deadline);
        match awaiting {
            Awaiting::Confirmation => assert_eq!(decoded.certificate(), Some(&cert("ee.pem"))),
            _ => assert_eq!(decoded.certificate(), None, "{awaiting:?}"),
        }
    }
}

#[test]
fn implicit_confirm_asked_for_is_kept() {
    let mut config = config();
    config.implicit_confirm = true;
    let run = checkpointed(Awaiting::Certificate, &config, SystemTime::now());
    let bytes = run.in_flight.to_bytes().expect("encodes");
    let decoded = InFlightEnrollment::from_bytes(&bytes).expect("decodes");
    assert!(decoded.implicit_confirm_requested());
}

#[test]
fn checkpoints_fit_an_annotation() {
    let now = SystemTime::now();
    for awaiting in EVERY_STATE {
        let bytes = checkpointed(awaiting, &config(), now)
            .in_flight
            .to_bytes()
            .expect("encodes");
        // Without a certificate a few hundred bytes; with one and its caPubs a few KiB.
        let bound = if awaiting == Awaiting::Confirmation {
            8 * 1024
        } else {
            1024
        };
        assert!(bytes.len() < bound, "{awaiting:?}: {} bytes", bytes.len());
    }
}

#[test]
fn every_truncation_is_an_error() {
    let bytes = confirmation_bytes();
    for len in 0..bytes.len() {
        let err = InFlightEnrollment::from_bytes(&bytes[..len]).unwrap_err();
        assert!(matches!(err, Error::Checkpoint { .. }), "{len}: {err}");
    }
}

#[test]
fn trailing_bytes_are_an_error() {
    let mut bytes = confirmation_bytes().to_vec();
    bytes.push(0);
    let err = InFlightEnrollment::from_bytes(&bytes).unwrap_err();
    assert!(matches!(err, Error::Checkpoint { .. }), "{err}");
}

#[test]
fn oversized_bytes_are_refused_before_decoding() {
    let bytes = vec![0x30; InFlightEnrollment::MAX_ENCODED_LEN + 1];
    let err = InFlightEnrollment::from_bytes(&bytes).unwrap_err();
    assert!(err.to_string().contains("more than the"), "{err}");
}

/// The checkpoint's top-level fields, as DER values.
fn fields(bytes: &[u8]) -> Vec<Any> {
    Vec::<Any>::from_der(bytes).expect("a SEQUENCE")
}

fn with_field(bytes: &[u8], index: usize, value: Any) -> Vec<u8> {
    let mut fields = fields(bytes);
    fields[index] = value;
    fields.to_der().expect("encodes")
}

fn der_value<T: Encode>(value: T) -> Any {
    Any::from_der(&value.to_der().expect("encodes")).expect("any")
}

#[test]
fn another_version_is_refused_as_such() {
    let bytes = with_field(confirmation_bytes(), 0, der_value(2u8));
    let err = InFlightEnrollment::from_bytes(&bytes).unwrap_err();
    assert!(err.to_string().contains("version 2"), "{err}");
}

#[test]
fn impossible_states_are_refused() {
    let bytes = checkpointed(Awaiting::PollRep, &config(), SystemTime::now())
        .in_flight
        .to_bytes()
        .expect("encodes");
    // Fields: version, requestType, pvno, transactionID, firstNonce, lastNonce,
    // peerNonce, polled, …
    assert_eq!(fields(&bytes)[7], der_value(true), "polled");
    InFlightEnrollment::from_bytes(&bytes).expect("as written");
    // Waiting for a pollRep without having polled.
    let not_polled = with_field(&bytes, 7, der_value(false));
    let err = InFlightEnrollment::from_bytes(&not_polled).unwrap_err();
    assert!(err.to_string().contains("do not fit"), "{err}");
    // A request type that is no enrollment (rr).
    let rr = with_field(&bytes, 1, der_value(11u8));
    let err = InFlightEnrollment::from_bytes(&rr).unwrap_err();
    assert!(err.to_string().contains("request type 11"), "{err}");
    // pvno 1.
    let pvno = with_field(&bytes, 2, der_value(1u8));
    let err = InFlightEnrollment::from_bytes(&pvno).unwrap_err();
    assert!(err.to_string().contains("pvno 1"), "{err}");
    // A deadline beyond what a SystemTime holds.
    let deadline = with_field(&bytes, 11, der_value(u64::MAX));
    assert!(InFlightEnrollment::from_bytes(&deadline).is_err());
}

/// What every input to `from_bytes` must lead to: a checkpoint that encodes and reads
/// back the same, or a checkpoint error.
fn decodes_or_is_refused(bytes: &[u8]) -> Result<(), TestCaseError> {
    match InFlightEnrollment::from_bytes(bytes) {
        Ok(decoded) => {
            let again = decoded.to_bytes().expect("what decodes encodes");
            prop_assert_eq!(
                InFlightEnrollment::from_bytes(&again).expect("decodes"),
                decoded
            );
        }
        Err(err) => prop_assert!(matches!(err, Error::Checkpoint { .. }), "{}", err),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn corrupted_checkpoints_decode_or_are_refused(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4)
    ) {
        let mut bytes = confirmation_bytes().to_vec();
        for (index, xor) in flips {
            let i = index.index(bytes.len());
            bytes[i] ^= xor;
        }
        decodes_or_is_refused(&bytes)?;
    }

    #[test]
    fn arbitrary_bytes_decode_or_are_refused(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        decodes_or_is_refused(&bytes)?;
    }

    #[test]
    fn a_valid_prefix_with_arbitrary_bytes_after_it_decodes_or_is_refused(
        cut in 0usize..2000,
        tail in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        let bytes = confirmation_bytes();
        let mut mixed = bytes[..cut.min(bytes.len())].to_vec();
        mixed.extend_from_slice(&tail);
        decodes_or_is_refused(&mixed)?;
    }
}

// ---------------------------------------------------------------------------------
// Resuming against the scripted CA.

fn resumed(in_flight: &InFlightEnrollment, config: &ClientConfig, now: SystemTime) -> Resumption {
    let bytes = in_flight.to_bytes().expect("encodes");
    let in_flight = InFlightEnrollment::from_bytes(&bytes).expect("decodes");
    Enrollment::resume(config, in_flight, now).unwrap_or_else(|failed| panic!("{failed}"))
}

fn resumed_send(
    in_flight: &InFlightEnrollment,
    config: &ClientConfig,
    now: SystemTime,
) -> (Enrollment, Vec<u8>, Duration) {
    match resumed(in_flight, config, now) {
        Resumption::Send {
            transaction,
            request,
            wait,
        } => (transaction, request, wait),
        Resumption::Abandoned { .. } => panic!("abandoned"),
    }
}

#[test]
fn resumed_poll_req_echoes_the_cas_last_nonce_with_a_fresh_one_of_its_own() {
    let config = config();
    let now = SystemTime::now();
    let mut run = checkpointed(Awaiting::PollRep, &config, now);
    let lost = decode(&run.request);
    let (tx, request, wait) = resumed_send(&run.in_flight, &config, now);
    let poll_req = decode(&request);
    assert!(matches!(poll_req.body, PkiBody::PollReq(_)));
    assert_eq!(poll_req.header.transaction_id, lost.header.transaction_id);
    assert_eq!(poll_req.header.recip_nonce, lost.header.recip_nonce);
    let waiting_ip = decode(run.last_response.as_ref().expect("ip"));
    assert_eq!(poll_req.header.recip_nonce, waiting_ip.header.sender_nonce);
    assert_ne!(poll_req.header.sender_nonce, lost.header.sender_nonce);
    assert_eq!(wait, Duration::ZERO, "the waiting ip asks for no wait");
    let enrolled = finish(tx, request, &mut run.ca, &config, now).expect("enrolled");
    assert_eq!(enrolled.certificate, cert("ee.pem"));
}

#[test]
fn resumed_poll_waits_what_is_left_of_check_after() {
    let config = config();
    let now = SystemTime::now();
    let mut run = checkpointed(Awaiting::PollRep, &config, now);
    // The first pollReq goes out; the pollRep asks for 1 s more.
    let (tx, _) = step(run.tx, &run.request, &mut run.ca, &config, now);
    let in_flight = tx.checkpoint();
    let (_, _, wait) = resumed_send(&in_flight, &config, now);
    assert!(
        wait > Duration::ZERO && wait <= Duration::from_secs(1),
        "{wait:?}"
    );
    let (_, _, wait) = resumed_send(&in_flight, &config, now + Duration::from_secs(5));
    assert_eq!(wait, Duration::ZERO);
}

#[test]
fn resume_past_the_polling_deadline_fails_with_an_error_message() {
    let config = config();
    let now = SystemTime::now();
    let run = checkpointed(Awaiting::PollRep, &config, now);
    let later = now + config.polling.deadline + Duration::from_secs(1);
    let failed = Enrollment::resume(&config, run.in_flight.clone(), later).unwrap_err();
    assert!(matches!(failed.error, Error::PollingDeadline), "{failed}");
    let message = error_message(failed.error_message.as_deref(), &run.ir);
    assert_eq!(
        message.fail_info,
        PkiFailureInfo::SYSTEM_UNAVAIL,
        "{}",
        message.status
    );
    // The deadline is the checkpoint's, not the configuration's.
    let mut patient = config.clone();
    patient.polling.deadline = Duration::from_secs(100_000);
    let failed = Enrollment::resume(&patient, run.in_flight, later).unwrap_err();
    assert!(matches!(failed.error, Error::PollingDeadline), "{failed}");
}

#[test]
fn resumed_confirmation_sends_cert_conf_again_and_completes() {
    let config = config();
    let now = SystemTime::now();
    let mut run = checkpointed(Awaiting::Confirmation, &config, now);
    let lost = decode(&run.request);
    let (tx, request, wait) = resumed_send(&run.in_flight, &config, now);
    assert_eq!(wait, Duration::ZERO);
    let cert_conf = decode(&request);
    assert_eq!(cert_conf.body, lost.body, "the same certConf");
    assert_eq!(cert_conf.header.recip_nonce, lost.header.recip_nonce);
    assert_ne!(cert_conf.header.sender_nonce, lost.header.sender_nonce);
    let enrolled = finish(tx, request, &mut run.ca, &config, now).expect("pkiConf");
    assert_eq!(enrolled.certificate, cert("ee.pem"));
    assert!(!enrolled.implicitly_confirmed);
    assert_eq!(
        Some(&enrolled.certificate),
        run.in_flight.certificate(),
        "the checkpointed certificate"
    );
}

/// An error message from the scripted CA answering `request`, MAC-protected like its
/// other answers: what a CA that closed the transaction may say.
fn ca_error(request: &[u8]) -> Vec<u8> {
    let req = decode(request);
    HeaderBuilder::reply_to(&req.header, ca_name())
        .expect("header")
        .build(
            PkiBody::Error(
                error_content(
                    PkiStatusInfo::rejection(PkiFailureInfo::BAD_REQUEST, "no such transaction")
                        .expect("status"),
                    None,
                    None,
                )
                .expect("error"),
            ),
            Some(&mac(&secret())),
        )
        .expect("builds")
        .to_der()
        .expect("encodes")
}

#[test]
fn resumed_confirmation_answered_with_an_error_leaves_the_outcome_unknown() {
    let config = config();
    let now = SystemTime::now();
    let run = checkpointed(Awaiting::Confirmation, &config, now);
    let (tx, request, _) = resumed_send(&run.in_flight, &config, now);
    let failed = tx
        .receive(&config, &ca_error(&request), now)
        .expect_err("no pkiConf");
    let Error::ConfirmationOutcomeUnknown { enrolled, cause } = &failed.error else {
        panic!("{failed}")
    };
    assert_eq!(enrolled.certificate, cert("ee.pem"));
    assert!(matches!(**cause, Error::ErrorMessage { .. }), "{cause}");
    assert!(failed.error_message.is_none(), "the CA ended it");
    assert_eq!(failed.error.fail_info(), None);
}

#[test]
fn resumed_confirmation_answered_by_a_forgery_leaves_the_outcome_unknown_and_tells_the_ca() {
    let config = config();
    let now = SystemTime::now();
    let run = checkpointed(Awaiting::Confirmation, &config, now);
    let (tx, request, _) = resumed_send(&run.in_flight, &config, now);
    let forged = respond(&request, Forgery::BadMac, 0);
    let failed = tx.receive(&config, &forged, now).expect_err("bad MAC");
    let Error::ConfirmationOutcomeUnknown { cause, .. } = &failed.error else {
        panic!("{failed}")
    };
    assert!(matches!(**cause, Error::ProtectionInvalid(_)), "{cause}");
    let message = error_message(failed.error_message.as_deref(), &run.ir);
    assert_eq!(message.fail_info, PkiFailureInfo::BAD_MESSAGE_CHECK);
}

#[test]
fn resumed_confirmation_checks_the_certificate_again() {
    let config = config();
    let now = SystemTime::now();
    let run = checkpointed(Awaiting::Confirmation, &config, now);
    // ee.pem does not chain to server.pem: had that been configured, the certificate
    // would have been refused on receipt; it is refused on resume too.
    let mut stricter = config.clone();
    stricter.issued_cert_anchors = Some(vec![cert("server.pem")]);
    let failed = Enrollment::resume(&stricter, run.in_flight.clone(), now).unwrap_err();
    assert!(
        matches!(failed.error, Error::CertificateUntrusted { .. }),
        "{failed}"
    );
    let message = error_message(failed.error_message.as_deref(), &run.ir);
    assert_eq!(message.fail_info, PkiFailureInfo::INCORRECT_DATA);
    // With the anchor it chains to, it passes.
    stricter.issued_cert_anchors = Some(vec![cert("root.pem")]);
    resumed_send(&run.in_flight, &stricter, now);
}

#[test]
fn resume_while_rejecting_fails_in_the_same_error_and_tells_the_ca() {
    let config = config();
    let now = SystemTime::now();
    let run = checkpointed(Awaiting::RejectionAck, &config, now);
    let failed = Enrollment::resume(&config, run.in_flight, now).unwrap_err();
    assert!(matches!(failed.error, Error::PublicKeyMismatch), "{failed}");
    let message = error_message(failed.error_message.as_deref(), &run.ir);
    assert_eq!(message.fail_info, PkiFailureInfo::INCORRECT_DATA);
    // It echoes the ip's senderNonce, as the lost certConf did.
    let ip = decode(run.last_response.as_ref().expect("ip"));
    assert_eq!(message.recip_nonce, ip.header.sender_nonce);
}

#[test]
fn resume_before_the_first_answer_abandons_with_an_error_message() {
    for implicit_confirm in [false, true] {
        let mut config = config();
        config.implicit_confirm = implicit_confirm;
        let now = SystemTime::now();
        let run = checkpointed(Awaiting::Certificate, &config, now);
        let Resumption::Abandoned {
            error_message: bytes,
            implicit_confirm_requested,
        } = resumed(&run.in_flight, &config, now)
        else {
            panic!("resumed without the first answer");
        };
        assert_eq!(implicit_confirm_requested, implicit_confirm);
        let message = error_message(Some(&bytes), &run.ir);
        assert_eq!(message.fail_info, PkiFailureInfo::SYSTEM_FAILURE);
        assert_eq!(message.recip_nonce, None, "no answer was seen");
        assert!(message.status.contains("restarted"), "{}", message.status);
    }
}

/// What matters in an error message we send.
struct SentError {
    fail_info: PkiFailureInfo,
    status: String,
    recip_nonce: Option<OctetString>,
}

/// Decodes the error message, checking it is a rejection, with the transactionID and
/// sender of `ir`, protected with our secret.
fn error_message(bytes: Option<&[u8]>, ir: &[u8]) -> SentError {
    let bytes = bytes.expect("an error message");
    let received = ReceivedMessage::decode(bytes, &Limits::default()).expect("decodes");
    verify_mac(
        &received,
        &SharedSecret::from(secret().as_str()),
        &Limits::default(),
    )
    .expect("protected with our secret");
    let msg = received.message;
    let ir = decode(ir);
    assert_eq!(msg.header.transaction_id, ir.header.transaction_id);
    assert_eq!(msg.header.sender, ir.header.sender);
    assert_ne!(msg.header.sender_nonce, ir.header.sender_nonce);
    let PkiBody::Error(content) = &msg.body else {
        panic!("sent {}", msg.body.body_type())
    };
    let status = &content.pki_status_info;
    assert_eq!(status.status, PkiStatus::Rejection);
    SentError {
        fail_info: status.failure_info(),
        status: status.text().unwrap_or_default(),
        recip_nonce: msg.header.recip_nonce,
    }
}

// ---------------------------------------------------------------------------------
// Resuming against OpenSSL's mock server.

fn openssl_config() -> ClientConfig {
    let secret = SharedSecret::from(secret().as_str());
    ClientConfig::new(
        mac(secret_str()),
        cmp_client::checks::Trust {
            secret: Some(secret),
            ..Default::default()
        },
    )
}

fn secret_str() -> &'static str {
    static SECRET: OnceLock<String> = OnceLock::new();
    SECRET.get_or_init(secret)
}

fn transport(server: &MockServer) -> HttpTransport {
    HttpTransport::builder(server.url())
        .build()
        .expect("transport")
}

/// Drives `tx` over `transport` to its end, sleeping through checkAfter.
#[allow(clippy::result_large_err)] // as `Enrollment::receive`
fn run_to_end(
    mut tx: Enrollment,
    mut request: Vec<u8>,
    mut wait: Duration,
    transport: &mut HttpTransport,
    config: &ClientConfig,
) -> Result<Enrolled, Failed> {
    for _ in 0..20 {
        std::thread::sleep(wait);
        let response = transport.send(&request).expect("transport");
        match tx.receive(config, &response, SystemTime::now())? {
            Next::Send {
                transaction,
                request: next,
                wait: next_wait,
            } => (tx, request, wait) = (transaction, next, next_wait),
            Next::Done(enrolled) => return Ok(enrolled),
        }
    }
    panic!("still going after 20 exchanges");
}

/// Sends `request`, expecting another request back.
fn exchange(
    tx: Enrollment,
    request: &[u8],
    transport: &mut HttpTransport,
    config: &ClientConfig,
) -> (Enrollment, Vec<u8>, Duration) {
    let response = transport.send(request).expect("transport");
    match tx.receive(config, &response, SystemTime::now()) {
        Ok(Next::Send {
            transaction,
            request,
            wait,
        }) => (transaction, request, wait),
        Ok(Next::Done(_)) => panic!("done, expected another request"),
        Err(failed) => panic!("failed: {failed}"),
    }
}

/// The checkpoint as a restarted process reads it back.
fn restarted(tx: &Enrollment) -> InFlightEnrollment {
    InFlightEnrollment::from_bytes(&tx.checkpoint().to_bytes().expect("encodes")).expect("decodes")
}

#[test]
fn resume_while_polling_completes_against_openssl() {
    let server = MockServer::mac(&["-poll_count", "2", "-check_after", "0"]);
    let config = openssl_config();
    let mut transport = transport(&server);
    let (tx, ir) = Enrollment::start(&config, request(), SystemTime::now()).expect("ir");
    let (tx, poll_req, _) = exchange(tx, &ir, &mut transport, &config);
    assert!(matches!(decode(&poll_req).body, PkiBody::PollReq(_)));
    // The process restarts before the pollReq goes out.
    let in_flight = restarted(&tx);
    drop(tx);
    assert_eq!(in_flight.awaiting(), Awaiting::PollRep);
    let Resumption::Send {
        transaction,
        request,
        wait,
    } = Enrollment::resume(&config, in_flight, SystemTime::now()).expect("resumes")
    else {
        panic!("abandoned")
    };
    let enrolled =
        run_to_end(transaction, request, wait, &mut transport, &config).expect("enrolled");
    assert_eq!(enrolled.certificate, cert("ee.pem"));
    assert_eq!(enrolled.ca_pubs, vec![cert("root.pem")]);
}

#[test]
fn resume_after_a_poll_req_was_answered_is_refused_by_openssl() {
    // The pollReq went out and was answered, and the answer was lost: its senderNonce
    // never reached us, so the resumed pollReq echoes a stale one, which OpenSSL
    // refuses (RFC 4210 §5.1.1).
    let server = MockServer::mac(&["-poll_count", "3", "-check_after", "0"]);
    let config = openssl_config();
    let mut transport = transport(&server);
    let (tx, ir) = Enrollment::start(&config, request(), SystemTime::now()).expect("ir");
    let (tx, poll_req, _) = exchange(tx, &ir, &mut transport, &config);
    let in_flight = restarted(&tx);
    transport.send(&poll_req).expect("answered, and lost");
    let Resumption::Send {
        transaction,
        request,
        wait,
    } = Enrollment::resume(&config, in_flight, SystemTime::now()).expect("resumes")
    else {
        panic!("abandoned")
    };
    let failed = run_to_end(transaction, request, wait, &mut transport, &config).unwrap_err();
    assert!(
        matches!(failed.error, Error::ErrorMessage { .. }),
        "{}",
        failed.error
    );
    assert!(failed.error_message.is_none(), "OpenSSL ended it");
    // OpenSSL 3.0 says badRequest, "recipnonce unmatched".
    assert!(
        failed.error.to_string().contains("recipnonce"),
        "{}",
        failed.error
    );
}

#[test]
fn resume_in_confirmation_completes_against_openssl() {
    let server = MockServer::mac(&[]);
    let config = openssl_config();
    let mut transport = transport(&server);
    let (tx, ir) = Enrollment::start(&config, request(), SystemTime::now()).expect("ir");
    let (tx, cert_conf, _) = exchange(tx, &ir, &mut transport, &config);
    assert!(matches!(decode(&cert_conf).body, PkiBody::CertConf(_)));
    // The process restarts before the certConf goes out.
    let in_flight = restarted(&tx);
    drop(tx);
    assert_eq!(in_flight.awaiting(), Awaiting::Confirmation);
    let Resumption::Send {
        transaction,
        request,
        wait,
    } = Enrollment::resume(&config, in_flight, SystemTime::now()).expect("resumes")
    else {
        panic!("abandoned")
    };
    let enrolled =
        run_to_end(transaction, request, wait, &mut transport, &config).expect("pkiConf");
    assert_eq!(enrolled.certificate, cert("ee.pem"));
    assert_eq!(
        enrolled.ca_pubs,
        vec![cert("root.pem")],
        "from the checkpoint"
    );
    assert!(!enrolled.implicitly_confirmed);
}

#[test]
fn resume_after_openssl_confirmed_leaves_the_outcome_unknown() {
    // The certConf went out, OpenSSL confirmed and closed the transaction, and its
    // pkiConf was lost: the certConf sent again cannot be confirmed a second time.
    let server = MockServer::mac(&[]);
    let config = openssl_config();
    let mut transport = transport(&server);
    let (tx, ir) = Enrollment::start(&config, request(), SystemTime::now()).expect("ir");
    let (tx, cert_conf, _) = exchange(tx, &ir, &mut transport, &config);
    let in_flight = restarted(&tx);
    let pki_conf = transport.send(&cert_conf).expect("answered, and lost");
    assert!(matches!(decode(&pki_conf).body, PkiBody::PkiConf(_)));
    let Resumption::Send {
        transaction,
        request,
        wait,
    } = Enrollment::resume(&config, in_flight, SystemTime::now()).expect("resumes")
    else {
        panic!("abandoned")
    };
    let failed = run_to_end(transaction, request, wait, &mut transport, &config).unwrap_err();
    let Error::ConfirmationOutcomeUnknown { enrolled, cause } = &failed.error else {
        panic!("{}", failed.error)
    };
    assert_eq!(enrolled.certificate, cert("ee.pem"));
    // OpenSSL 3.0 closed the transaction: badRequest, "unexpected pkibody".
    assert!(matches!(**cause, Error::ErrorMessage { .. }), "{cause}");
    assert!(failed.error_message.is_none(), "OpenSSL ended it");
}

#[test]
fn resume_before_the_first_answer_abandons_and_openssl_acknowledges() {
    let server = MockServer::mac(&[]);
    let config = openssl_config();
    let mut transport = transport(&server);
    let (tx, ir) = Enrollment::start(&config, request(), SystemTime::now()).expect("ir");
    let in_flight = restarted(&tx);
    drop(tx);
    // The ir reached OpenSSL, which issued the certificate and waits for certConf;
    // its ip is lost.
    let ip = transport.send(&ir).expect("answered, and lost");
    assert!(matches!(decode(&ip).body, PkiBody::Ip(_)));
    let Resumption::Abandoned {
        error_message,
        implicit_confirm_requested,
    } = Enrollment::resume(&config, in_flight, SystemTime::now()).expect("resumes")
    else {
        panic!("resumed without the first answer")
    };
    assert!(!implicit_confirm_requested);
    let answer = transport.send(&error_message).expect("answered");
    let answer = decode(&answer);
    assert!(
        matches!(answer.body, PkiBody::PkiConf(_)),
        "OpenSSL ends the transaction: {}",
        answer.body.body_type()
    );
    assert_eq!(
        answer.header.transaction_id,
        decode(&ir).header.transaction_id
    );
    // And a fresh enrollment goes through.
    let (tx, ir) = Enrollment::start(&config, request(), SystemTime::now()).expect("ir");
    let enrolled = run_to_end(tx, ir, Duration::ZERO, &mut transport, &config).expect("enrolled");
    assert_eq!(enrolled.certificate, cert("ee.pem"));
}
