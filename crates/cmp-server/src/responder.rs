//! The responder: request bytes in, response bytes out (RFC 4210 §5, RFC 9483 §3–§4).
//!
//! Every request is decoded within the limits, its header checked, its protection
//! verified, then dispatched by body type. What fails is answered with an error message
//! whose failInfo says why ([`Error::fail_info`]); what passes goes to the
//! [`CertificateAuthority`].

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use cmp_proto::builder::{HeaderBuilder, cert_rep, error_content, poll_rep, rev_rep};
use cmp_proto::{
    BodyType, CertResponse, PkiBody, PkiHeader, PkiMessage, PkiStatus, PkiStatusInfo,
    ReceivedMessage,
};
use der::Encode;
use der::asn1::{Null, OctetString};
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;

use crate::authority::{CertificateAuthority, Decision, RequestKind};
use crate::config::ResponderConfig;
use crate::error::Error;
use crate::protection::{ResponseProtection, authenticate};
use crate::request::{certification_request, revocation_request};
use crate::requester::Requester;
use crate::transactions::{Stage, Transaction, Transactions};

/// What the responder did with one request.
#[derive(Debug)]
pub enum Outcome {
    /// Answered with this body type.
    Answered(BodyType),
    /// Refused with an error message, for this reason.
    Refused(Error),
}

/// The answer to one request.
#[derive(Debug)]
pub struct Response {
    /// The DER-encoded PKIMessage to send back. Empty only if even the error message
    /// could not be encoded (the HTTP layer answers 500).
    pub bytes: Vec<u8>,
    /// What happened, for logs and metrics.
    pub outcome: Outcome,
}

/// A CMP responder in front of a [`CertificateAuthority`].
///
/// `handle` takes `&self` and may be called from many threads at once: the transaction
/// table is behind a mutex held only for map operations, never across crypto or the CA.
pub struct Responder<C> {
    config: ResponderConfig,
    ca: C,
    transactions: Mutex<Transactions>,
    next_sweep: Mutex<SystemTime>,
}

/// What an authenticated request is answered with before protection.
struct Reply {
    body: PkiBody,
    extra_certs: Vec<Certificate>,
    implicit_confirm: bool,
}

impl Reply {
    fn body(body: PkiBody) -> Self {
        Self {
            body,
            extra_certs: Vec::new(),
            implicit_confirm: false,
        }
    }
}

/// What the handling of an authenticated request leaves to do after the answer is built.
enum After {
    /// Nothing: the transaction is over (or never opened).
    Finish,
    /// Keep the transaction open at this stage; our senderNonce is filled in.
    Keep(Box<Transaction>),
}

impl<C: CertificateAuthority> Responder<C> {
    /// A responder with `config` in front of `ca`.
    pub fn new(config: ResponderConfig, ca: C) -> Self {
        let transactions = Transactions::new(config.limits.clone());
        Self {
            config,
            ca,
            transactions: Mutex::new(transactions),
            next_sweep: Mutex::new(SystemTime::UNIX_EPOCH),
        }
    }

    /// The CA behind the responder.
    pub fn ca(&self) -> &C {
        &self.ca
    }

    /// The configuration.
    pub fn config(&self) -> &ResponderConfig {
        &self.config
    }

    /// Transactions in flight and transactionIDs remembered, for metrics and tests.
    pub fn table_sizes(&self) -> (usize, usize) {
        let t = self.lock();
        (t.open_count(), t.seen_count())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Transactions> {
        // A panic while holding the lock cannot leave the maps half-updated (every
        // operation is a single insert or remove), so a poisoned lock is still usable.
        self.transactions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Answers one request. Never fails: what cannot be answered is refused with an error
    /// message.
    pub fn handle(&self, request: &[u8], now: SystemTime) -> Response {
        self.sweep_if_due(now);
        let received = match ReceivedMessage::decode(request, &self.config.limits.message) {
            Ok(received) => received,
            Err(e) => return self.refuse(None, None, Error::Malformed(e)),
        };
        let header = &received.message.header;
        if let Err(e) = self.check_header(header, now) {
            return self.refuse(Some(header), None, e);
        }
        let mut policy = self.config.signer_policy.clone();
        policy.limits = self.config.limits.message.clone();
        let auth = match authenticate(
            &received,
            &self.config.credentials,
            &policy,
            &self.config.limits.message,
            now,
        ) {
            Ok(auth) => auth,
            Err(e) => return self.refuse(Some(header), None, e),
        };
        // A revoked signer authenticates nothing (issue 16, finding 3): checked here,
        // for every body type, not only where a kur names its old certificate.
        if let Requester::Signer { certificate, .. } = &auth.requester
            && self.ca.revoked(certificate, now)
        {
            return self.refuse(Some(header), None, Error::SignerRevoked);
        }
        match self.dispatch(&received, &auth, now) {
            Ok((reply, after)) => self.answer(header, &auth.protection, reply, after, now),
            Err(e) => self.refuse(Some(header), Some(&auth.protection), e),
        }
    }

    /// Expires abandoned transactions and revokes their unconfirmed certificates
    /// (RFC 4210 §5.3.18). `handle` calls it at most once a second; a server should also
    /// call it on a timer so that an idle responder still revokes on time.
    pub fn sweep(&self, now: SystemTime) {
        let expired = self.lock().sweep(now);
        for e in expired {
            if let Some(cert) = e.unconfirmed {
                self.ca.confirm(&cert, false, now);
            }
        }
    }

    fn sweep_if_due(&self, now: SystemTime) {
        {
            let mut next = self
                .next_sweep
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if now < *next {
                return;
            }
            *next = now + Duration::from_secs(1);
        }
        self.sweep(now);
    }

    /// pvno, transactionID and senderNonce present and of sane size, messageTime close
    /// to our clock (RFC 4210 §5.1.1, RFC 9483 §3.1).
    fn check_header(&self, header: &PkiHeader, now: SystemTime) -> Result<(), Error> {
        if !(2..=3).contains(&header.pvno) {
            return Err(Error::UnsupportedVersion(header.pvno));
        }
        let sized = |value: Option<&OctetString>, what| match value {
            Some(v) if (16..=64).contains(&v.as_bytes().len()) => Ok(()),
            _ => Err(Error::BadHeader(what)),
        };
        sized(
            header.transaction_id.as_ref(),
            "transactionID must be present, 16 to 64 bytes",
        )?;
        sized(
            header.sender_nonce.as_ref(),
            "senderNonce must be present, 16 to 64 bytes",
        )?;
        match &header.message_time {
            Some(time) => {
                let sent = time.to_system_time();
                let skew = self.config.limits.max_clock_skew;
                if sent + skew < now || sent > now + skew {
                    return Err(Error::BadTime);
                }
            }
            None if self.config.limits.require_message_time => {
                return Err(Error::MissingMessageTime);
            }
            None => {}
        }
        Ok(())
    }

    fn dispatch(
        &self,
        received: &ReceivedMessage,
        auth: &crate::protection::Authenticated,
        now: SystemTime,
    ) -> Result<(Reply, After), Error> {
        let msg = &received.message;
        let tid = transaction_id(&msg.header);
        match &msg.body {
            PkiBody::Ir(_) | PkiBody::Cr(_) | PkiBody::Kur(_) | PkiBody::P10cr(_) => {
                self.lock().claim(tid, now, Some(&auth.id))?;
                let (kind, cert_req_id, request) =
                    certification_request(msg, auth, &self.ca, &self.config.limits, now)?;
                let decision = self.ca.certify(&request, 0, now);
                let transaction = Transaction {
                    kind,
                    cert_req_id,
                    implicit_confirm_asked: asks_implicit_confirm(&msg.header),
                    requester_id: auth.id.clone(),
                    our_last_nonce: Vec::new(),
                    stage: Stage::Polling {
                        request: Box::new(request),
                        attempt: 0,
                    },
                    expires: now,
                };
                Ok(self.decided(transaction, decision, false))
            }
            PkiBody::PollReq(content) => {
                let mut t = self.follow_up(&msg.header, auth, now, NonceCheck::Required)?;
                let Stage::Polling { request, attempt } = &mut t.stage else {
                    return Err(Error::UnexpectedBody(BodyType::PollReq));
                };
                if content.len() != 1 || content[0].cert_req_id != t.cert_req_id {
                    return Err(Error::BadRequest(
                        "pollReq must name the one certReqId of the request",
                    ));
                }
                *attempt = attempt.saturating_add(1);
                let decision = self.ca.certify(request, *attempt, now);
                Ok(self.decided(t, decision, true))
            }
            PkiBody::CertConf(content) => {
                let t = self.follow_up(&msg.header, auth, now, NonceCheck::Required)?;
                let Stage::AwaitingConfirmation { certificate } = &t.stage else {
                    return Err(Error::UnexpectedBody(BodyType::CertConf));
                };
                let accepted = match content.as_slice() {
                    // RFC 4210 §5.3.18: an empty list rejects the certificate.
                    [] => false,
                    [status] => {
                        if status.cert_req_id != t.cert_req_id {
                            self.ca.confirm(certificate, false, now);
                            return Err(Error::BadRequest("certConf names another certReqId"));
                        }
                        if !status.matches(certificate).unwrap_or(false) {
                            self.ca.confirm(certificate, false, now);
                            return Err(Error::BadCertHash);
                        }
                        status
                            .status_info
                            .as_ref()
                            .is_none_or(|s| s.status.is_granted())
                    }
                    _ => {
                        self.ca.confirm(certificate, false, now);
                        return Err(Error::BadRequest("certConf must hold one CertStatus"));
                    }
                };
                self.ca.confirm(certificate, accepted, now);
                Ok((Reply::body(PkiBody::PkiConf(Null)), After::Finish))
            }
            PkiBody::Error(_) => {
                // The requester gives up (RFC 9483 §3.6.4): end the transaction, withdraw
                // an unconfirmed certificate, and acknowledge with pkiConf.
                let t = self.follow_up(&msg.header, auth, now, NonceCheck::IfPresent)?;
                if let Stage::AwaitingConfirmation { certificate } = &t.stage {
                    self.ca.confirm(certificate, false, now);
                }
                Ok((Reply::body(PkiBody::PkiConf(Null)), After::Finish))
            }
            PkiBody::Rr(_) => {
                self.lock().claim(tid, now, None)?;
                let request = revocation_request(msg, auth, &self.ca, self.config.revocation)?;
                let (status, cert_id) = match self.ca.revoke(&request, now) {
                    Ok(()) => (
                        PkiStatusInfo::accepted(),
                        Some(cmp_proto::crmf::CertId {
                            issuer: GeneralName::DirectoryName(request.issuer.clone()),
                            serial_number: request.serial.clone(),
                        }),
                    ),
                    Err(refusal) => (rejection(refusal.fail_info, &refusal.text)?, None),
                };
                Ok((
                    Reply::body(PkiBody::Rp(rev_rep(status, cert_id))),
                    After::Finish,
                ))
            }
            PkiBody::Genm(items) => {
                self.lock().claim(tid, now, None)?;
                if items.len() > MAX_GENM_ITEMS {
                    return Err(Error::BadRequest("too many InfoTypeAndValue in genm"));
                }
                // One answer per info type: rootCaCert is answered by rootCaKeyUpdate,
                // which the same genm may also name (RFC 9483 §4.3.2).
                let mut answers: Vec<cmp_proto::InfoTypeAndValue> = Vec::new();
                for item in items {
                    let answer = self
                        .ca
                        .general_info(item, now)
                        .unwrap_or_else(|| cmp_proto::InfoTypeAndValue::request(item.info_type));
                    if !answers.iter().any(|a| a.info_type == answer.info_type) {
                        answers.push(answer);
                    }
                }
                Ok((Reply::body(PkiBody::Genp(answers)), After::Finish))
            }
            other => Err(Error::UnexpectedBody(other.body_type())),
        }
    }

    /// Takes the open transaction a follow-up message (pollReq, certConf, error) belongs
    /// to, after checking it comes from the same requester and echoes our last nonce.
    /// A message failing those checks leaves the transaction as it was, so that a
    /// replayed message cannot end someone else's transaction.
    fn follow_up(
        &self,
        header: &PkiHeader,
        auth: &crate::protection::Authenticated,
        now: SystemTime,
        nonce_check: NonceCheck,
    ) -> Result<Transaction, Error> {
        let tid = transaction_id(header);
        let mut table = self.lock();
        let t = table.take(tid, now)?;
        let nonce_ok = match (&header.recip_nonce, nonce_check) {
            (Some(n), _) => n.as_bytes() == t.our_last_nonce.as_slice(),
            (None, NonceCheck::Required) => false,
            (None, NonceCheck::IfPresent) => true,
        };
        let error = if t.requester_id != auth.id {
            Some(Error::NotTheRequester)
        } else if !nonce_ok {
            Some(Error::BadRecipientNonce)
        } else {
            None
        };
        match error {
            Some(e) => {
                table.put_back(tid.to_vec(), t);
                Err(e)
            }
            None => Ok(t),
        }
    }

    /// The answer to a CA decision, at the first request (`polled == false`) or at a
    /// pollReq.
    fn decided(&self, mut t: Transaction, decision: Decision, polled: bool) -> (Reply, After) {
        let response_type = match t.kind {
            RequestKind::Ir => BodyType::Ip,
            RequestKind::Cr | RequestKind::P10cr => BodyType::Cp,
            RequestKind::Kur => BodyType::Kup,
        };
        let cert_rep_body = |rep| match response_type {
            BodyType::Ip => PkiBody::Ip(rep),
            BodyType::Kup => PkiBody::Kup(rep),
            _ => PkiBody::Cp(rep),
        };
        let response_id = if t.kind == RequestKind::P10cr {
            -1
        } else {
            t.cert_req_id
        };
        match decision {
            Decision::Granted {
                certificate,
                chain,
                ca_pubs,
                modified,
            } => {
                let status = if modified {
                    PkiStatusInfo::new(PkiStatus::GrantedWithMods)
                } else {
                    PkiStatusInfo::accepted()
                };
                let response =
                    CertResponse::granted_with_status(response_id, (*certificate).clone(), status);
                let implicit = t.implicit_confirm_asked && self.config.grant_implicit_confirm;
                let reply = Reply {
                    body: cert_rep_body(cert_rep(response, ca_pubs)),
                    extra_certs: chain,
                    implicit_confirm: implicit,
                };
                if implicit {
                    (reply, After::Finish)
                } else {
                    t.stage = Stage::AwaitingConfirmation { certificate };
                    (reply, After::Keep(Box::new(t)))
                }
            }
            Decision::Waiting { check_after } => {
                let body = if polled {
                    let seconds = check_after.as_secs().max(1);
                    match poll_rep(
                        t.cert_req_id,
                        i64::try_from(seconds).unwrap_or(i64::MAX),
                        None,
                    ) {
                        Ok(content) => PkiBody::PollRep(content),
                        Err(e) => return self.internal(e),
                    }
                } else {
                    cert_rep_body(cert_rep(CertResponse::waiting(response_id), Vec::new()))
                };
                (Reply::body(body), After::Keep(Box::new(t)))
            }
            Decision::Rejected(refusal) => match rejection(refusal.fail_info, &refusal.text) {
                Ok(status) => (
                    Reply::body(cert_rep_body(cert_rep(
                        CertResponse::without_certificate(response_id, status),
                        Vec::new(),
                    ))),
                    After::Finish,
                ),
                Err(e) => self.internal_error(e),
            },
        }
    }

    fn internal(&self, e: cmp_proto::Error) -> (Reply, After) {
        self.internal_error(Error::Internal(e))
    }

    fn internal_error(&self, e: Error) -> (Reply, After) {
        let body = error_body(&e).unwrap_or(PkiBody::PkiConf(Null));
        (Reply::body(body), After::Finish)
    }

    /// Builds, protects and encodes the answer; keeps the transaction open if it goes on.
    fn answer(
        &self,
        request: &PkiHeader,
        protection: &ResponseProtection,
        reply: Reply,
        after: After,
        now: SystemTime,
    ) -> Response {
        let body_type = reply.body.body_type();
        let built = (|| {
            let mut header = HeaderBuilder::reply_to(request, self.config.name.clone())?;
            if reply.implicit_confirm {
                header = header.implicit_confirm();
            }
            let our_nonce = header
                .header()
                .sender_nonce
                .as_ref()
                .map(|n| n.as_bytes().to_vec())
                .unwrap_or_default();
            let protector = protection.protector(self.config.signer.as_ref());
            let mut extra = reply.extra_certs;
            if let Some(p) = &protector {
                let theirs = p.extra_certs();
                extra.retain(|c| !theirs.contains(c));
            }
            let message = header.build_with_extra_certs(reply.body, protector.as_ref(), extra)?;
            Ok::<_, cmp_proto::Error>((message, our_nonce))
        })();
        match built.and_then(|(m, nonce)| Ok((encode(&m)?, nonce))) {
            Ok((bytes, our_nonce)) => {
                if let After::Keep(mut t) = after {
                    t.our_last_nonce = our_nonce;
                    self.lock().store(transaction_id(request).to_vec(), *t, now);
                }
                Response {
                    bytes,
                    outcome: Outcome::Answered(body_type),
                }
            }
            Err(e) => self.refuse(Some(request), Some(protection), Error::Internal(e)),
        }
    }

    /// An error message for `error`, protected as the request was when it was
    /// authenticated, else by our signer if we have one (RFC 9483 §3.6.4).
    fn refuse(
        &self,
        request: Option<&PkiHeader>,
        protection: Option<&ResponseProtection>,
        error: Error,
    ) -> Response {
        let protector = match protection {
            Some(p) => p.protector(self.config.signer.as_ref()),
            None => self.config.signer.clone(),
        };
        let bytes = (|| {
            let body = error_body(&error).map_err(|e| match e {
                Error::Internal(e) => e,
                _ => cmp_proto::Error::Random,
            })?;
            let header = match request {
                Some(h) => HeaderBuilder::reply_to(h, self.config.name.clone())?,
                None => HeaderBuilder::new(
                    self.config.name.clone(),
                    GeneralName::DirectoryName(Name::default()),
                )?,
            };
            encode(&header.build(body, protector.as_ref())?)
        })()
        .unwrap_or_default();
        Response {
            bytes,
            outcome: Outcome::Refused(error),
        }
    }
}

/// At most this many info types in one genm: each may make the CA compute (a CRL).
const MAX_GENM_ITEMS: usize = 16;

fn transaction_id(header: &PkiHeader) -> &[u8] {
    header
        .transaction_id
        .as_ref()
        .map(|t| t.as_bytes())
        .unwrap_or_default()
}

fn asks_implicit_confirm(header: &PkiHeader) -> bool {
    header
        .general_info
        .as_deref()
        .unwrap_or_default()
        .iter()
        .any(|itav| itav.is_implicit_confirm())
}

fn rejection(fail_info: cmp_proto::PkiFailureInfo, text: &str) -> Result<PkiStatusInfo, Error> {
    PkiStatusInfo::rejection(fail_info, text)
        .map_err(|e| Error::Internal(cmp_proto::Error::encode("PKIStatusInfo")(e)))
}

fn error_body(error: &Error) -> Result<PkiBody, Error> {
    let status = rejection(error.fail_info(), &error.to_string())?;
    Ok(PkiBody::Error(
        error_content(status, None, None).map_err(Error::Internal)?,
    ))
}

fn encode(message: &PkiMessage) -> Result<Vec<u8>, cmp_proto::Error> {
    message
        .to_der()
        .map_err(cmp_proto::Error::encode("PKIMessage"))
}

/// How a follow-up message's recipNonce is checked (RFC 4210 §5.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NonceCheck {
    /// certConf and pollReq must echo our last senderNonce.
    Required,
    /// An error message from the requester (RFC 4210 §5.3.21: "at any time") may come
    /// without one: a requester that restarted and lost our answer cannot know our
    /// nonce. It must still be protected by the requester that opened the transaction,
    /// and a recipNonce it does carry must match. All it can do is end that
    /// requester's own transaction (and withdraw its unconfirmed certificate), and a
    /// transactionID is never reused, so a replay finds nothing to end.
    IfPresent,
}
