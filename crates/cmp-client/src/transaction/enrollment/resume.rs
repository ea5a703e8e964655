//! Checkpointing an enrollment and resuming it after a restart: what each state can
//! do again, and what it cannot (RFC 4210 §5.1.1, §5.3.18, §5.3.21, §5.3.22;
//! RFC 9483 §4.1.1, §4.4).

use std::time::{Duration, SystemTime};

use cmp_proto::{BodyType, PkiFailureInfo};

use super::in_flight::{CertificateProblem, InFlightEnrollment, Stage, whole_seconds};
use super::{Enrolled, Enrollment, Failed, State};
use crate::config::ClientConfig;
use crate::error::Result;
use crate::transaction::exchange::Exchange;

/// The statusString of the error message that abandons a transaction whose first
/// answer was lost.
const LOST_ANSWER: &str =
    "the client restarted and lost the answer to its request; the transaction is abandoned";

/// What [`Enrollment::resume`] leads to.
///
/// ```no_run
/// # use std::time::SystemTime;
/// # use cmp_client::ClientConfig;
/// # use cmp_client::transaction::{Enrollment, InFlightEnrollment, Resumption};
/// # fn post(_: &[u8]) -> Vec<u8> { unimplemented!() }
/// # fn run(config: &ClientConfig, in_flight: InFlightEnrollment) -> Result<(), Box<dyn std::error::Error>> {
/// match Enrollment::resume(config, in_flight, SystemTime::now())? {
///     Resumption::Send { transaction, request, wait } => {
///         // Checkpoint `transaction`, sleep `wait`, send `request`, go on as usual.
///         # let _ = (transaction, request, wait);
///     }
///     Resumption::Abandoned { error_message, implicit_confirm_requested } => {
///         let _ = post(&error_message);
///         if implicit_confirm_requested {
///             // A final certificate may exist at the CA: do not enroll again blindly.
///         }
///     }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
#[must_use]
// One per resume, moved once; boxing the transaction would only make callers unbox it
// (`Next::Send` carries it unboxed too).
#[allow(clippy::large_enum_variant)]
pub enum Resumption {
    /// The transaction goes on: wait `wait`, send `request` (a pollReq, or the certConf
    /// again) and pass the answer to `transaction`'s
    /// [`receive`](Enrollment::receive), as after [`Next::Send`](crate::transaction::Next::Send).
    /// Checkpoint `transaction` first, as before every request.
    Send {
        /// The transaction, resumed.
        transaction: Enrollment,
        /// The DER request.
        request: Vec<u8>,
        /// What is left of checkAfter while polling, else zero.
        wait: Duration,
    },
    /// The first request went out (or was about to) and its answer is lost: there is
    /// no way in CMP to ask for it again, so the transaction is given up. Send
    /// `error_message` to the CA once, best effort, ignoring its answer: it ends the
    /// transaction at the CA (RFC 4210 §5.3.21), which then withdraws or revokes a
    /// certificate it issued but that was never confirmed (RFC 4210 §5.3.18, RFC 9483
    /// §4.1.1). A CA that never got the request answers with an error and holds
    /// nothing.
    ///
    /// A fresh enrollment may then follow, with one exception the caller must weigh:
    /// when `implicit_confirm_requested`, the CA may have granted implicit confirmation,
    /// and a certificate it issued is final without certConf; the error message does
    /// not withdraw it, and a fresh enrollment could leave two valid certificates.
    Abandoned {
        /// The protected error message for the CA (systemFailure, "the client restarted
        /// …"), with the transactionID of the lost exchange.
        error_message: Vec<u8>,
        /// The first request asked for implicit confirmation (RFC 4210 §5.1.1.1).
        implicit_confirm_requested: bool,
    },
}

impl Enrollment {
    /// The checkpoint of this enrollment ([`InFlightEnrollment`]): take it whenever
    /// [`Self::start`] or [`Self::receive`] hands out a request, and store it durably
    /// **before** sending that request.
    ///
    /// ```no_run
    /// # use std::time::SystemTime;
    /// # use cmp_client::transaction::{Enrollment, EnrollmentRequest, Next};
    /// # use cmp_client::ClientConfig;
    /// # fn store(_: &[u8]) {}
    /// # fn post(_: &[u8]) -> Vec<u8> { unimplemented!() }
    /// # fn run(config: &ClientConfig, request: EnrollmentRequest) -> Result<(), Box<dyn std::error::Error>> {
    /// let (mut tx, mut request) = Enrollment::start(config, request, SystemTime::now())?;
    /// let enrolled = loop {
    ///     store(&tx.checkpoint().to_bytes()?); // what the CA may see next
    ///     let answer = post(&request);
    ///     match tx.receive(config, &answer, SystemTime::now()) {
    ///         Ok(Next::Send { transaction, request: next, wait }) => {
    ///             std::thread::sleep(wait);
    ///             (tx, request) = (transaction, next);
    ///         }
    ///         Ok(Next::Done(enrolled)) => break enrolled,
    ///         Err(failed) => {
    ///             if let Some(message) = &failed.error_message {
    ///                 let _ = post(message);
    ///             }
    ///             return Err(failed.into());
    ///         }
    ///     }
    /// };
    /// # let _ = enrolled; Ok(()) }
    /// ```
    pub fn checkpoint(&self) -> InFlightEnrollment {
        let stage = match &self.state {
            State::Certificate => Stage::Certificate,
            State::PollRep { send_after } => Stage::PollRep {
                send_after: whole_seconds(*send_after),
            },
            State::Confirmation { enrolled, .. } => Stage::Confirmation(enrolled.clone()),
            State::RejectionAck(problem) => {
                Stage::RejectionAck(CertificateProblem::from_error(problem))
            }
        };
        InFlightEnrollment {
            request_type: self.request_type,
            exchange: self.exchange.checkpoint(),
            implicit_confirm_requested: self.implicit_confirm_requested,
            cert_req_id: self.cert_req_id,
            requested_key: self.requested_key.clone(),
            deadline: whole_seconds(self.deadline),
            stage,
        }
    }

    /// Resumes an enrollment from its checkpoint after a restart, with the
    /// configuration it started with, at `now`.
    ///
    /// What the CA saw of the checkpointed request is unknown: it may never have gone
    /// out, or have arrived and been answered. Per state ([`InFlightEnrollment::awaiting`]):
    ///
    /// - [`Awaiting::PollRep`](super::Awaiting::PollRep): polling goes on. A new pollReq
    ///   (fresh senderNonce, the CA's last senderNonce as recipNonce, RFC 4210 §5.1.1)
    ///   is returned, to be sent when what is left of checkAfter has passed
    ///   (RFC 4210 §5.3.22); a pollReq asks nothing new, so sending it twice is
    ///   harmless. The polling deadline still applies: past it, the enrollment fails
    ///   with [`Error::PollingDeadline`](crate::Error::PollingDeadline) and the error message that ends it at the CA.
    ///   If the lost pollReq did reach the CA, its answer carried a senderNonce we
    ///   never saw, and a CA that checks recipNonce (OpenSSL does) refuses the new
    ///   pollReq with an error: the enrollment then fails as after any error message
    ///   from the CA, and a certificate it may have issued meanwhile stays unconfirmed
    ///   and is withdrawn (RFC 9483 §4.1.1), unless implicit confirmation was granted.
    /// - [`Awaiting::Confirmation`](super::Awaiting::Confirmation): the certificate is
    ///   known. It is checked again as on receipt (its key is the one requested; it
    ///   chains to [`ClientConfig::issued_cert_anchors`] when set), since the
    ///   checkpoint came from storage; if that fails, the enrollment fails with the
    ///   error message that ends the transaction, and the CA withdraws the certificate
    ///   (RFC 4210 §5.3.21). Otherwise the certConf is sent again with a fresh nonce
    ///   (RFC 4210 §5.3.18): a pkiConf completes the enrollment with the checkpointed
    ///   certificate, extraCerts and caPubs. Because the certConf carries the
    ///   certificate's hash, the pkiConf also confirms that this is the certificate
    ///   the CA issued in this transaction. Anything else fails with
    ///   [`Error::ConfirmationOutcomeUnknown`](crate::Error::ConfirmationOutcomeUnknown), carrying the certificate: the CA may
    ///   have confirmed it on the first certConf and closed the transaction, or not.
    /// - [`Awaiting::RejectionAck`](super::Awaiting::RejectionAck): the enrollment
    ///   fails in the error it was going to end in (the certificate's key or chain),
    ///   with an error message rather than the rejecting certConf again: if that
    ///   certConf was lost, the error message ends the transaction just as well
    ///   (RFC 4210 §5.3.21), and it needs no certificate from the checkpoint.
    /// - [`Awaiting::Certificate`](super::Awaiting::Certificate): the ir, cr, kur or
    ///   p10cr may or may not have reached the CA, and CMP has no way to ask for its
    ///   answer again; sending the request again would be refused (transactionIdInUse,
    ///   RFC 4210 §5.1.1) or start a second issuance. So the transaction is given up:
    ///   [`Resumption::Abandoned`] holds the error message that tells the CA, and says
    ///   whether implicit confirmation was asked for (then a certificate the CA issued
    ///   may be final, and a fresh enrollment may mean two).
    ///
    /// Failures come as from [`Self::receive`]: [`Failed`] with the error message to
    /// send when the CA may still hold the transaction open.
    ///
    /// ```no_run
    /// use std::time::SystemTime;
    /// use cmp_client::ClientConfig;
    /// use cmp_client::transaction::{Enrollment, InFlightEnrollment, Next, Resumption};
    ///
    /// # fn stored() -> Vec<u8> { unimplemented!() }
    /// # fn store(_: &[u8]) {}
    /// # fn post(_: &[u8]) -> Vec<u8> { unimplemented!() }
    /// # fn run(config: &ClientConfig) -> Result<(), Box<dyn std::error::Error>> {
    /// let in_flight = InFlightEnrollment::from_bytes(&stored())?;
    /// let (mut tx, mut request, mut wait) =
    ///     match Enrollment::resume(config, in_flight, SystemTime::now()) {
    ///         Ok(Resumption::Send { transaction, request, wait }) => (transaction, request, wait),
    ///         Ok(Resumption::Abandoned { error_message, implicit_confirm_requested }) => {
    ///             let _ = post(&error_message);
    ///             // Start a fresh enrollment, or not if `implicit_confirm_requested`.
    ///             return Ok(());
    ///         }
    ///         Err(failed) => {
    ///             if let Some(message) = &failed.error_message {
    ///                 let _ = post(message);
    ///             }
    ///             return Err(failed.into());
    ///         }
    ///     };
    /// loop {
    ///     store(&tx.checkpoint().to_bytes()?);
    ///     std::thread::sleep(wait);
    ///     match tx.receive(config, &post(&request), SystemTime::now()) {
    ///         Ok(Next::Send { transaction, request: next, wait: next_wait }) => {
    ///             (tx, request, wait) = (transaction, next, next_wait);
    ///         }
    ///         Ok(Next::Done(enrolled)) => {
    ///             println!("{}", enrolled.certificate.tbs_certificate().subject());
    ///             return Ok(());
    ///         }
    ///         Err(failed) => {
    ///             if let Some(message) = &failed.error_message {
    ///                 let _ = post(message);
    ///             }
    ///             return Err(failed.into());
    ///         }
    ///     }
    /// }
    /// # }
    /// ```
    // As `receive`: the error comes once per transaction.
    #[allow(clippy::result_large_err)]
    pub fn resume(
        config: &ClientConfig,
        in_flight: InFlightEnrollment,
        now: SystemTime,
    ) -> Result<Resumption, Failed> {
        let InFlightEnrollment {
            request_type,
            exchange,
            implicit_confirm_requested,
            cert_req_id,
            requested_key,
            deadline,
            stage,
        } = in_flight;
        let mut tx = Self {
            exchange: Exchange::resume(config, exchange),
            state: State::Certificate,
            request_type,
            response_type: response_type(request_type),
            cert_req_id,
            requested_key,
            implicit_confirm_requested,
            deadline,
        };
        let sent = match stage {
            Stage::Certificate => {
                return match tx.exchange.error_message(
                    config,
                    PkiFailureInfo::SYSTEM_FAILURE,
                    LOST_ANSWER,
                ) {
                    Ok(error_message) => Ok(Resumption::Abandoned {
                        error_message,
                        implicit_confirm_requested,
                    }),
                    Err(error) => Err(Failed {
                        error,
                        error_message: None,
                    }),
                };
            }
            Stage::PollRep { send_after } => {
                let wait = send_after.duration_since(now).unwrap_or_default();
                tx.poll_request(config, wait, now)
                    .map(|request| (request, wait))
            }
            Stage::Confirmation(enrolled) => tx
                .confirm_again(config, enrolled, now)
                .map(|request| (request, Duration::ZERO)),
            Stage::RejectionAck(problem) => Err(problem.into_error()),
        };
        match sent {
            Ok((request, wait)) => Ok(Resumption::Send {
                transaction: tx,
                request,
                wait,
            }),
            Err(error) => Err(tx.fail(config, error)),
        }
    }

    /// The certConf for a checkpointed certificate, after the checks it passed on
    /// receipt.
    fn confirm_again(
        &mut self,
        config: &ClientConfig,
        enrolled: Box<Enrolled>,
        now: SystemTime,
    ) -> Result<Vec<u8>> {
        self.check_certificate(
            config,
            &enrolled.certificate,
            &enrolled.extra_certs,
            &enrolled.ca_pubs,
            now,
        )?;
        let request = self.cert_conf(config, &enrolled.certificate, None)?;
        self.state = State::Confirmation {
            enrolled,
            resumed: true,
        };
        Ok(request)
    }
}

/// The body that answers an enrollment request.
fn response_type(request_type: BodyType) -> BodyType {
    match request_type {
        BodyType::Cr | BodyType::P10cr => BodyType::Cp,
        BodyType::Kur => BodyType::Kup,
        _ => BodyType::Ip,
    }
}
