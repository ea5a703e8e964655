//! Enrollment by ir, cr, kur or p10cr, with certConf/pkiConf, implicit confirmation,
//! polling, and the error message that ends a failed transaction at the CA
//! (RFC 4210 §5.3.1–§5.3.4, §5.3.18, §5.3.21, §5.3.22; RFC 9483 §4.1 and §4.4), and
//! its checkpoint for resuming after a restart ([`in_flight`], [`resume`]).

mod in_flight;
mod resume;

pub use in_flight::{Awaiting, InFlightEnrollment};
pub use resume::Resumption;

use std::time::{Duration, SystemTime};

use cmp_proto::builder::cert_status;
use cmp_proto::crmf::CertReqMsg;
use cmp_proto::spki::SubjectPublicKeyInfoOwned;
use cmp_proto::x509_cert::Certificate;
use cmp_proto::x509_cert::request::CertReq;
use cmp_proto::{BodyType, PVNO_CMP2000, PkiBody, PkiFailureInfo, PkiStatusInfo, PollReq};

use super::Next;
use super::exchange::{Exchange, rejection};
use crate::checks::{self, CertOutcome};
use crate::config::ClientConfig;
use crate::error::{Error, Result};

/// What to enroll.
#[derive(Clone, Debug)]
pub enum EnrollmentRequest {
    /// Initialization request (first certificate from this CA).
    Ir(CertReqMsg),
    /// Certification request (a further certificate).
    Cr(CertReqMsg),
    /// Key update request; sign it with the certificate being updated (RFC 9483 §4.1.3).
    Kur(CertReqMsg),
    /// PKCS#10 request, forwarded as is.
    P10cr(CertReq),
}

impl EnrollmentRequest {
    fn body(&self) -> PkiBody {
        match self {
            Self::Ir(m) => PkiBody::Ir(vec![m.clone()]),
            Self::Cr(m) => PkiBody::Cr(vec![m.clone()]),
            Self::Kur(m) => PkiBody::Kur(vec![m.clone()]),
            Self::P10cr(csr) => PkiBody::P10cr(csr.clone()),
        }
    }

    /// The body that answers it.
    fn response_type(&self) -> BodyType {
        match self {
            Self::Ir(_) => BodyType::Ip,
            Self::Cr(_) | Self::P10cr(_) => BodyType::Cp,
            Self::Kur(_) => BodyType::Kup,
        }
    }

    /// certReqId of the request; -1 for p10cr (RFC 9483 §4.1.4).
    fn cert_req_id(&self) -> i64 {
        match self {
            Self::Ir(m) | Self::Cr(m) | Self::Kur(m) => m.cert_req.cert_req_id,
            Self::P10cr(_) => -1,
        }
    }

    fn public_key(&self) -> Result<SubjectPublicKeyInfoOwned> {
        match self {
            Self::Ir(m) | Self::Cr(m) | Self::Kur(m) => m
                .cert_req
                .cert_template
                .public_key
                .clone()
                .ok_or(Error::Config {
                    reason: "the certificate template carries no public key".into(),
                }),
            Self::P10cr(csr) => Ok(csr.info.public_key.clone()),
        }
    }
}

/// The result of an enrollment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Enrolled {
    /// The new certificate.
    pub certificate: Certificate,
    /// extraCerts of the final response (the signer and chains the CA sent).
    pub extra_certs: Vec<Certificate>,
    /// caPubs: CA certificates the CA suggests trusting.
    pub ca_pubs: Vec<Certificate>,
    /// The CA changed what was asked (grantedWithMods): compare before use.
    pub granted_with_mods: bool,
    /// The CA granted implicit confirmation, so no certConf was sent.
    pub implicitly_confirmed: bool,
}

/// An enrollment that ended in an error, and the error message that tells the CA so
/// when the CA may still hold the transaction open.
///
/// RFC 4210 §5.3.21 lets either side send an error message "at any time during a PKI
/// transaction", and "both sides MUST treat this message as the end of the
/// transaction". A CA whose response we refuse may hold the transaction open: a
/// certificate issued and waiting for certConf, which RFC 9483 §4.1.1 has it treat as
/// rejected only once the certConf fails to come "in time", or a request queued while we
/// poll. The error message lets it end the transaction now and revoke the unconfirmed
/// certificate. So [`Self::error_message`] is there when the enrollment fails because:
///
/// - a response failed a check of its header, protection or body (the failInfo names
///   which, see [`Error::fail_info`]), after the first request as well as after a
///   pollReq or certConf;
/// - the polling deadline passed (systemUnavail), or the CA said "waiting" again after
///   polling (badRequest, as OpenSSL's client does);
/// - [`Enrollment::resume`] finds the deadline passed, the checkpointed certificate
///   failing its checks again, or a certConf that rejected the certificate in flight
///   (which may have been lost; the error message ends the transaction all the same).
///
/// This includes a response that failed its protection or transaction checks and so may
/// not come from the CA at all. The error message is still harmless: it is protected by
/// us, names only our own transactionID, and tells a forger nothing it did not send us;
/// the real CA, which may be holding the transaction, can clean up. Its recipNonce is
/// the refused response's senderNonce when that response named our transaction and
/// answered our last request (what the CA expects if the response was genuine), else
/// the last senderNonce we accepted.
///
/// It is `None` when the CA has already closed the transaction or we told it otherwise:
/// after a (valid) error message from the CA (RFC 4210 §5.3.21), a rejection in the
/// ip/cp/kup (RFC 9483 §4.1.1: no certConf, the operation is terminated), after our
/// certConf rejected a certificate for the wrong key or an untrusted one (that certConf
/// already ended it, RFC 4210 §5.3.18), and for our own configuration or encoding
/// errors. The clients send none after a transport failure either: the CA is out of
/// reach, and its own timeout ends the transaction (RFC 9483 §4.1.1); a caller driving
/// the transaction itself still holds it then and may try [`Enrollment::abandon`].
/// Revocation and general messages are single exchanges that leave the CA holding
/// nothing, so their transactions fail with a plain [`Error`].
///
/// The CA answers the error message with pkiConf, or with an error if it cannot match
/// it to a transaction. The clients send it once, best effort, ignore the answer and
/// any transport failure, and report [`Self::error`]: the answer can change nothing, and
/// believing anything in it would let an attacker who forged the refused response
/// script the rest.
#[derive(Debug)]
pub struct Failed {
    /// Why the enrollment failed.
    pub error: Error,
    /// The protected error message to send the CA (see above), when it may still hold
    /// the transaction open.
    pub error_message: Option<Vec<u8>>,
}

impl From<Failed> for Error {
    fn from(failed: Failed) -> Self {
        failed.error
    }
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for Failed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.error)
    }
}

/// What the last request waits for.
#[derive(Debug)]
enum State {
    /// ir/cr/kur/p10cr sent.
    Certificate,
    /// pollReq made, to be sent at `send_after` (when checkAfter ends).
    PollRep { send_after: SystemTime },
    /// certConf sent accepting the certificate; `resumed` when it was sent again
    /// after a restart ([`Enrollment::resume`]).
    Confirmation {
        enrolled: Box<Enrolled>,
        resumed: bool,
    },
    /// certConf sent rejecting the certificate: the transaction ends in this error.
    RejectionAck(Box<Error>),
}

/// What a response leads to, before the transaction is handed back.
enum Step {
    Send { request: Vec<u8>, wait: Duration },
    Done(Box<Enrolled>),
}

/// One enrollment transaction.
#[derive(Debug)]
pub struct Enrollment {
    exchange: Exchange,
    state: State,
    /// ir, cr, kur or p10cr.
    request_type: BodyType,
    response_type: BodyType,
    cert_req_id: i64,
    requested_key: SubjectPublicKeyInfoOwned,
    /// The first request asked for implicit confirmation (RFC 4210 §5.1.1.1).
    implicit_confirm_requested: bool,
    deadline: SystemTime,
}

impl Enrollment {
    /// Starts an enrollment: returns the transaction and the first request to send.
    pub fn start(
        config: &ClientConfig,
        request: EnrollmentRequest,
        now: SystemTime,
    ) -> Result<(Self, Vec<u8>)> {
        let body = request.body();
        let request_type = body.body_type();
        let (exchange, bytes) = Exchange::start(config, body, PVNO_CMP2000)?;
        Ok((
            Self {
                exchange,
                state: State::Certificate,
                request_type,
                response_type: request.response_type(),
                implicit_confirm_requested: config.implicit_confirm,
                cert_req_id: request.cert_req_id(),
                requested_key: request.public_key()?,
                deadline: now + config.polling.deadline,
            },
            bytes,
        ))
    }

    /// Takes the response to the last request: checks it and says what comes next.
    ///
    /// On failure, [`Failed::error_message`] is the message to send the CA so that it
    /// ends the transaction too, when it may still hold it open; `?` into [`Error`]
    /// drops it.
    // The error comes once per transaction, at its end: boxing it would only make
    // every caller dereference.
    #[allow(clippy::result_large_err)]
    pub fn receive(
        mut self,
        config: &ClientConfig,
        response: &[u8],
        now: SystemTime,
    ) -> Result<Next<Self, Enrolled>, Failed> {
        // After our certConf rejected the certificate, the CA holds nothing open.
        let ca_may_hold_it_open = !matches!(self.state, State::RejectionAck(_));
        // After a repeated certConf, anything but pkiConf leaves the certificate's fate
        // open (see `Error::ConfirmationOutcomeUnknown`).
        let resumed_confirmation = match &self.state {
            State::Confirmation {
                enrolled,
                resumed: true,
            } => Some(enrolled.clone()),
            _ => None,
        };
        match self.step(config, response, now) {
            Ok(Step::Send { request, wait }) => Ok(Next::Send {
                transaction: self,
                request,
                wait,
            }),
            Ok(Step::Done(enrolled)) => Ok(Next::Done(*enrolled)),
            Err(error) => {
                let error_message = if ca_may_hold_it_open {
                    self.error_message_for(config, &error)
                } else {
                    None
                };
                let error = match resumed_confirmation {
                    Some(enrolled) => Error::ConfirmationOutcomeUnknown {
                        enrolled,
                        cause: Box::new(error),
                    },
                    None => error,
                };
                Err(Failed {
                    error,
                    error_message,
                })
            }
        }
    }

    /// Ends the transaction in `error`, with the error message that tells the CA when
    /// `error` is the peer's fault (see [`Failed`]).
    fn fail(&mut self, config: &ClientConfig, error: Error) -> Failed {
        Failed {
            error_message: self.error_message_for(config, &error),
            error,
        }
    }

    /// The error message naming `error`, when the peer is to blame for it.
    fn error_message_for(&mut self, config: &ClientConfig, error: &Error) -> Option<Vec<u8>> {
        // Best effort: when even the error message cannot be built, the CA's own
        // timeout ends the transaction.
        let bit = error.fail_info()?;
        self.exchange
            .error_message(config, bit, &error.to_string())
            .ok()
    }

    /// Ends the enrollment from our side for a reason of the caller's (shutting down,
    /// the request withdrawn, no more patience while polling): returns the error message
    /// that tells the CA, rejecting with `fail_info` and `reason` (RFC 4210 §5.3.21).
    /// Send it as [`Failed::error_message`], once and best effort, and only if the
    /// first request was sent.
    ///
    /// ```no_run
    /// # use std::time::SystemTime;
    /// # use cmp_client::transaction::{Enrollment, EnrollmentRequest, Next};
    /// # use cmp_client::ClientConfig;
    /// # use cmp_proto::PkiFailureInfo;
    /// # fn post(_: &[u8]) -> Vec<u8> { unimplemented!() }
    /// # fn shutting_down() -> bool { true }
    /// # fn run(config: &ClientConfig, request: EnrollmentRequest) -> Result<(), Box<dyn std::error::Error>> {
    /// let (tx, ir) = Enrollment::start(config, request, SystemTime::now())?;
    /// if let Next::Send { transaction, .. } = tx.receive(config, &post(&ir), SystemTime::now())? {
    ///     if shutting_down() {
    ///         let error = transaction.abandon(config, PkiFailureInfo::SYSTEM_UNAVAIL, "shutting down")?;
    ///         let _ = post(&error); // pkiConf, or an error: either way the transaction is over
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn abandon(
        mut self,
        config: &ClientConfig,
        fail_info: PkiFailureInfo,
        reason: &str,
    ) -> Result<Vec<u8>> {
        self.exchange.error_message(config, fail_info, reason)
    }

    fn step(&mut self, config: &ClientConfig, response: &[u8], now: SystemTime) -> Result<Step> {
        let msg = self.exchange.receive(config, response, now)?.message;
        match std::mem::replace(&mut self.state, State::Certificate) {
            State::Certificate => {
                self.settle_p10cr_cert_req_id(config, &msg.body);
                self.on_cert_response(config, &msg, now)
            }
            State::PollRep { .. } => {
                if let PkiBody::PollRep(poll) = &msg.body {
                    let wait = checks::check_poll_rep(
                        poll,
                        self.cert_req_id,
                        config.polling.max_check_after,
                    )?;
                    self.poll(config, wait, now)
                } else {
                    self.on_cert_response(config, &msg, now)
                }
            }
            State::Confirmation { enrolled, .. } => {
                checks::check_body_type(&msg.body, &[BodyType::PkiConf], "pkiConf")?;
                Ok(Step::Done(enrolled))
            }
            State::RejectionAck(error) => {
                checks::check_body_type(&msg.body, &[BodyType::PkiConf], "pkiConf")?;
                Err(*error)
            }
        }
    }

    /// A p10cr carries no certReqId; RFC 9483 §4.1.4 has the answer use -1, but EJBCA
    /// (8.2 and 9.3), Nokia NCM and OpenSSL 3.0 answer with 0. Unless the policy is
    /// strict, a first answer for 0 is taken as ours, and polls and certConf use 0 from
    /// then on; any other id, or 0 in a later answer, still fails the certReqId check.
    fn settle_p10cr_cert_req_id(&mut self, config: &ClientConfig, body: &PkiBody) {
        let lenient = self.request_type == BodyType::P10cr
            && self.cert_req_id == -1
            && !config.policy.strict_p10cr_cert_req_id;
        if let (true, Some(rep)) = (lenient, body.cert_rep())
            && let [response] = rep.response.as_slice()
            && response.cert_req_id == 0
        {
            self.cert_req_id = 0;
        }
    }

    fn on_cert_response(
        &mut self,
        config: &ClientConfig,
        msg: &cmp_proto::PkiMessage,
        now: SystemTime,
    ) -> Result<Step> {
        let expected = [self.response_type];
        checks::check_body_type(&msg.body, &expected, self.response_type.name())?;
        let rep = msg.body.cert_rep().ok_or(Error::UnexpectedBody {
            expected: self.response_type.name(),
            got: msg.body.body_type(),
        })?;
        match checks::check_cert_response(rep, self.response_type, self.cert_req_id)? {
            CertOutcome::Waiting => {
                if self.exchange.polled {
                    return Err(Error::WaitingAgain);
                }
                self.poll(config, Duration::ZERO, now)
            }
            CertOutcome::Granted {
                certificate,
                with_mods,
            } => {
                let extra_certs = msg.extra_certs.clone().unwrap_or_default();
                let ca_pubs = rep.ca_pubs.clone().unwrap_or_default();
                if let Err(problem) =
                    self.check_certificate(config, &certificate, &extra_certs, &ca_pubs, now)
                {
                    // Tell the CA we refuse it, then end in the problem (RFC 4210 §5.3.18).
                    let status = rejection(PkiFailureInfo::INCORRECT_DATA, &problem.to_string())?;
                    let request = self.cert_conf(config, &certificate, Some(status))?;
                    self.state = State::RejectionAck(Box::new(problem));
                    return Ok(Step::Send {
                        request,
                        wait: Duration::ZERO,
                    });
                }
                let implicitly_confirmed =
                    config.implicit_confirm && msg.header.has_implicit_confirm();
                let enrolled = Enrolled {
                    certificate: *certificate,
                    extra_certs,
                    ca_pubs,
                    granted_with_mods: with_mods,
                    implicitly_confirmed,
                };
                if implicitly_confirmed {
                    return Ok(Step::Done(Box::new(enrolled)));
                }
                let request = self.cert_conf(config, &enrolled.certificate, None)?;
                self.state = State::Confirmation {
                    enrolled: Box::new(enrolled),
                    resumed: false,
                };
                Ok(Step::Send {
                    request,
                    wait: Duration::ZERO,
                })
            }
        }
    }

    fn check_certificate(
        &self,
        config: &ClientConfig,
        certificate: &Certificate,
        extra_certs: &[Certificate],
        ca_pubs: &[Certificate],
        now: SystemTime,
    ) -> Result<()> {
        checks::check_issued_key(certificate, &self.requested_key)?;
        if let Some(anchors) = &config.issued_cert_anchors {
            let intermediates: Vec<Certificate> =
                extra_certs.iter().chain(ca_pubs).cloned().collect();
            checks::validate_chain(
                certificate,
                &intermediates,
                anchors,
                now,
                &config.policy.limits,
            )
            .map_err(|reason| Error::CertificateUntrusted { reason })?;
        }
        Ok(())
    }

    fn cert_conf(
        &mut self,
        config: &ClientConfig,
        cert: &Certificate,
        status: Option<PkiStatusInfo>,
    ) -> Result<Vec<u8>> {
        let (entry, needs_v3) =
            cert_status(cert, self.cert_req_id, status).map_err(Error::Build)?;
        let pvno = if needs_v3 {
            cmp_proto::PVNO_CMP2021
        } else {
            PVNO_CMP2000
        };
        self.exchange
            .next(config, PkiBody::CertConf(vec![entry]), pvno)
    }

    fn poll(&mut self, config: &ClientConfig, wait: Duration, now: SystemTime) -> Result<Step> {
        let request = self.poll_request(config, wait, now)?;
        Ok(Step::Send { request, wait })
    }

    /// The pollReq to send after `wait` (RFC 4210 §5.3.22), unless that passes the
    /// deadline.
    fn poll_request(
        &mut self,
        config: &ClientConfig,
        wait: Duration,
        now: SystemTime,
    ) -> Result<Vec<u8>> {
        if now + wait > self.deadline {
            return Err(Error::PollingDeadline);
        }
        let request = self.exchange.next(
            config,
            PkiBody::PollReq(vec![PollReq {
                cert_req_id: self.cert_req_id,
            }]),
            PVNO_CMP2000,
        )?;
        self.exchange.polled = true;
        self.state = State::PollRep {
            send_after: now + wait,
        };
        Ok(request)
    }
}
