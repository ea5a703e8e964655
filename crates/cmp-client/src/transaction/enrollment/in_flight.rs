//! The checkpoint of an enrollment in flight: a plain value, bounded and checked for
//! what cannot occur, and its DER encoding ([`encoding`]) for storing where a
//! restarted process finds it again (a Kubernetes annotation, a file, a database row).

mod encoding;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cmp_proto::BodyType;
use cmp_proto::spki::SubjectPublicKeyInfoOwned;
use cmp_proto::x509_cert::Certificate;

use super::Enrolled;
use crate::error::{Error, Result};
use crate::transaction::exchange::ExchangeCheckpoint;

/// Longest transactionID or nonce kept. Ours are 16 bytes; RFC 9483 §3.1 asks for at
/// least 128 bits and names no maximum, so this only stops a corrupted checkpoint.
const MAX_ID_LEN: usize = 256;

/// Most certificates kept in extraCerts and in caPubs each: the default of
/// [`cmp_proto::Limits::max_certificates`], which the response they came from passed.
const MAX_CERTIFICATES: usize = 32;

/// An enrollment in flight, as [`Enrollment::checkpoint`](super::Enrollment::checkpoint)
/// saw it: everything a restarted process needs to go on with the transaction through
/// [`Enrollment::resume`](super::Enrollment::resume) instead of starting a second one.
///
/// Take it after [`Enrollment::start`](super::Enrollment::start) or
/// [`Enrollment::receive`](super::Enrollment::receive) has handed out a request and
/// **before** that request goes out, and store [`Self::to_bytes`] durably: then whatever
/// the CA may have seen, the checkpoint describes it. It holds
///
/// - the transactionID, the senderNonce of the first and of the last request, and the
///   CA's last senderNonce (our next recipNonce), which every further message must
///   carry (RFC 4210 §5.1.1), and whether polling has begun (after which a response may
///   echo the first nonce, RFC 9483 §4.4);
/// - the request's body type (ir, cr, kur or p10cr; the response type follows), the
///   pvno of the last request, the certReqId (RFC 4210 §5.3.22 polls by it), whether
///   implicitConfirm was asked for (RFC 4210 §5.1.1.1), and the requested public key,
///   which the issued certificate must carry;
/// - the polling deadline as an absolute time (whole seconds), and what the last request
///   waits for ([`Awaiting`]): while polling, the time checkAfter ends (RFC 4210
///   §5.3.22); while confirming, the certificate with the extraCerts and caPubs of its
///   response, so that a pkiConf completes the enrollment without the CA sending them
///   again.
///
/// It holds no secret: the shared secret or signing key, the names and the trust
/// settings come from the [`ClientConfig`](crate::ClientConfig) passed to `resume`,
/// which must be the one the enrollment started with. It is not authenticated either:
/// whoever can write where it is stored can also write the result there. What can be
/// checked again is, on resume (see [`Enrollment::resume`](super::Enrollment::resume)).
///
/// The encoding is DER, versioned, and typically a few hundred bytes; with a
/// certificate and its chain a few KiB (base64 adds a third), never more than
/// [`Self::MAX_ENCODED_LEN`]:
///
/// ```text
/// InFlightEnrollment ::= SEQUENCE {
///     version          INTEGER (1),
///     requestType      INTEGER,      -- the PKIBody choice: ir(0), cr(2), p10cr(4), kur(7)
///     pvno             INTEGER,      -- of the last request
///     transactionID    OCTET STRING,
///     firstNonce       OCTET STRING, -- senderNonce of the first request
///     lastNonce        OCTET STRING, -- senderNonce of the last request
///     peerNonce    [0] IMPLICIT OCTET STRING OPTIONAL, -- the CA's last senderNonce
///     polled           BOOLEAN,      -- a pollReq was sent
///     implicitConfirm  BOOLEAN,      -- asked for in the first request
///     certReqId        INTEGER,
///     requestedKey     SubjectPublicKeyInfo,
///     deadline         INTEGER,      -- polling deadline, seconds since 1970-01-01T00:00:00Z
///     awaiting         Awaiting }
///
/// Awaiting ::= CHOICE {
///     certificate  [0] IMPLICIT NULL,      -- ir/cr/kur/p10cr sent
///     pollRep      [1] IMPLICIT INTEGER,   -- pollReq due at this time (seconds since 1970)
///     pkiConf      [2] IMPLICIT Confirming,
///     rejectionAck [3] EXPLICIT Problem }  -- certConf rejecting the certificate sent
///
/// Confirming ::= SEQUENCE {               -- certConf accepting the certificate sent
///     certificate      Certificate,
///     extraCerts       SEQUENCE SIZE (0..32) OF Certificate,
///     caPubs           SEQUENCE SIZE (0..32) OF Certificate,
///     grantedWithMods  BOOLEAN }
///
/// Problem ::= CHOICE {
///     publicKeyMismatch [0] IMPLICIT NULL,
///     untrusted         [1] IMPLICIT UTF8String }
/// ```
///
/// ```no_run
/// use std::time::SystemTime;
/// use cmp_client::ClientConfig;
/// use cmp_client::transaction::{Awaiting, Enrollment, EnrollmentRequest, InFlightEnrollment};
///
/// # fn store(_: &[u8]) {}
/// # fn post(_: &[u8]) -> Vec<u8> { unimplemented!() }
/// # fn run(config: &ClientConfig, request: EnrollmentRequest) -> Result<(), Box<dyn std::error::Error>> {
/// let (tx, ir) = Enrollment::start(config, request, SystemTime::now())?;
/// let in_flight = tx.checkpoint();
/// let bytes = in_flight.to_bytes()?;
/// store(&bytes); // before the request goes out
/// let _answer = post(&ir);
///
/// // After a restart:
/// let in_flight = InFlightEnrollment::from_bytes(&bytes)?;
/// assert_eq!(in_flight.awaiting(), Awaiting::Certificate);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InFlightEnrollment {
    pub(super) request_type: BodyType,
    pub(super) exchange: ExchangeCheckpoint,
    pub(super) implicit_confirm_requested: bool,
    pub(super) cert_req_id: i64,
    pub(super) requested_key: SubjectPublicKeyInfoOwned,
    pub(super) deadline: SystemTime,
    pub(super) stage: Stage,
}

/// What the last request of an [`InFlightEnrollment`] waits for.
///
/// ```no_run
/// # use cmp_client::transaction::{Awaiting, InFlightEnrollment};
/// # fn run(stored: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
/// let in_flight = InFlightEnrollment::from_bytes(stored)?;
/// if in_flight.awaiting() == Awaiting::Certificate && in_flight.implicit_confirm_requested() {
///     // The CA may hold a final certificate we never saw: think before enrolling again.
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Awaiting {
    /// The ir, cr, kur or p10cr went out (or was about to): the ip, cp or kup that
    /// answers it (RFC 4210 §5.3.1–§5.3.4).
    Certificate,
    /// A pollReq went out (or was about to): a pollRep, or the final ip, cp or kup
    /// (RFC 4210 §5.3.22, RFC 9483 §4.4).
    PollRep,
    /// A certConf accepting the certificate went out (or was about to): the pkiConf
    /// (RFC 4210 §5.3.18).
    Confirmation,
    /// A certConf rejecting the certificate went out (or was about to): the pkiConf
    /// after which the enrollment fails (RFC 4210 §5.3.18).
    RejectionAck,
}

/// [`Awaiting`], with what each state needs to go on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Stage {
    Certificate,
    PollRep { send_after: SystemTime },
    Confirmation(Box<Enrolled>),
    RejectionAck(CertificateProblem),
}

/// Why our certConf rejected the certificate: the errors of
/// `Enrollment::check_certificate`, kept in a form that can be stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum CertificateProblem {
    PublicKeyMismatch,
    Untrusted { reason: String },
}

impl CertificateProblem {
    pub(super) fn from_error(error: &Error) -> Self {
        match error {
            Error::PublicKeyMismatch => Self::PublicKeyMismatch,
            Error::CertificateUntrusted { reason } => Self::Untrusted {
                reason: reason.clone(),
            },
            // `check_certificate` fails in nothing else; keep what it said.
            other => Self::Untrusted {
                reason: other.to_string(),
            },
        }
    }

    pub(super) fn into_error(self) -> Error {
        match self {
            Self::PublicKeyMismatch => Error::PublicKeyMismatch,
            Self::Untrusted { reason } => Error::CertificateUntrusted { reason },
        }
    }
}

impl InFlightEnrollment {
    /// The most bytes [`Self::to_bytes`] writes and [`Self::from_bytes`] reads: 64 KiB.
    /// A checkpoint without a certificate takes a few hundred bytes, one with a chain of
    /// three RSA-4096 certificates under 8 KiB; the bound keeps a corrupted store from
    /// costing more, and fits a Kubernetes object, whose annotations may hold 256 KiB
    /// in all, after base64.
    pub const MAX_ENCODED_LEN: usize = 64 * 1024;

    /// What the last request waits for.
    pub fn awaiting(&self) -> Awaiting {
        match self.stage {
            Stage::Certificate => Awaiting::Certificate,
            Stage::PollRep { .. } => Awaiting::PollRep,
            Stage::Confirmation(_) => Awaiting::Confirmation,
            Stage::RejectionAck(_) => Awaiting::RejectionAck,
        }
    }

    /// The transactionID (RFC 4210 §5.1.1), for logs.
    pub fn transaction_id(&self) -> &[u8] {
        self.exchange.transaction_id.as_bytes()
    }

    /// The body type of the first request: ir, cr, kur or p10cr.
    pub fn request_type(&self) -> BodyType {
        self.request_type
    }

    /// Whether the first request asked for implicit confirmation (RFC 4210 §5.1.1.1).
    /// If the CA granted it, a certificate it issued is final without certConf, and no
    /// error message withdraws it (RFC 9483 §4.1.1).
    pub fn implicit_confirm_requested(&self) -> bool {
        self.implicit_confirm_requested
    }

    /// The public key the enrollment asked to certify; compare it with the key of the
    /// request you mean to resume.
    ///
    /// ```no_run
    /// # use cmp_client::transaction::InFlightEnrollment;
    /// # use cmp_proto::x509_cert::request::CertReq;
    /// # fn run(stored: &[u8], csr: &CertReq) -> Result<(), Box<dyn std::error::Error>> {
    /// let in_flight = InFlightEnrollment::from_bytes(stored)?;
    /// if in_flight.requested_key() != &csr.info.public_key {
    ///     return Err("the checkpoint belongs to another request".into());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn requested_key(&self) -> &SubjectPublicKeyInfoOwned {
        &self.requested_key
    }

    /// When polling must be over (from [`Polling::deadline`](crate::Polling::deadline)
    /// at the start, in whole seconds). [`Enrollment::resume`](super::Enrollment::resume)
    /// keeps to it, whatever the configuration says now.
    ///
    /// ```no_run
    /// # use std::time::SystemTime;
    /// # use cmp_client::transaction::InFlightEnrollment;
    /// # fn run(stored: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
    /// let in_flight = InFlightEnrollment::from_bytes(stored)?;
    /// let left = in_flight.polling_deadline().duration_since(SystemTime::now());
    /// println!("polling may go on for {:?}", left.unwrap_or_default());
    /// # Ok(()) }
    /// ```
    pub fn polling_deadline(&self) -> SystemTime {
        self.deadline
    }

    /// The certificate being confirmed, while [`Awaiting::Confirmation`].
    ///
    /// ```no_run
    /// # use cmp_client::transaction::InFlightEnrollment;
    /// # fn run(stored: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
    /// let in_flight = InFlightEnrollment::from_bytes(stored)?;
    /// if let Some(certificate) = in_flight.certificate() {
    ///     println!("confirming {}", certificate.tbs_certificate().serial_number());
    /// }
    /// # Ok(()) }
    /// ```
    pub fn certificate(&self) -> Option<&Certificate> {
        match &self.stage {
            Stage::Confirmation(enrolled) => Some(&enrolled.certificate),
            Stage::Certificate | Stage::PollRep { .. } | Stage::RejectionAck(_) => None,
        }
    }

    /// The DER encoding described on [`InFlightEnrollment`]: at most
    /// [`Self::MAX_ENCODED_LEN`] bytes. Fails (with [`Error::Checkpoint`]) only when the
    /// CA sent more certificates or longer nonces than a checkpoint keeps.
    ///
    /// ```no_run
    /// # use cmp_client::transaction::Enrollment;
    /// # fn run(tx: &Enrollment) -> Result<(), Box<dyn std::error::Error>> {
    /// let bytes = tx.checkpoint().to_bytes()?;
    /// assert!(bytes.len() <= cmp_client::transaction::InFlightEnrollment::MAX_ENCODED_LEN);
    /// # Ok(()) }
    /// ```
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        self.validate()?;
        let bytes = self
            .encode_der()
            .map_err(|e| checkpoint_error(format!("cannot encode: {e}")))?;
        if bytes.len() > Self::MAX_ENCODED_LEN {
            return Err(checkpoint_error(format!(
                "{} bytes, more than the {} a checkpoint may take",
                bytes.len(),
                Self::MAX_ENCODED_LEN
            )));
        }
        Ok(bytes)
    }

    /// Reads what [`Self::to_bytes`] wrote. Anything else (truncated, corrupted,
    /// oversized, another version, a state that cannot occur) is an
    /// [`Error::Checkpoint`], never a panic.
    ///
    /// ```no_run
    /// # use cmp_client::transaction::InFlightEnrollment;
    /// # fn run(stored: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
    /// let in_flight = InFlightEnrollment::from_bytes(stored)?;
    /// println!("resuming transaction {:02x?}", in_flight.transaction_id());
    /// # Ok(()) }
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        if bytes.len() > Self::MAX_ENCODED_LEN {
            return Err(checkpoint_error(format!(
                "{} bytes, more than the {} a checkpoint may take",
                bytes.len(),
                Self::MAX_ENCODED_LEN
            )));
        }
        let in_flight = Self::decode_der(bytes)?;
        in_flight.validate()?;
        Ok(in_flight)
    }

    /// What cannot occur in a checkpoint of a real enrollment, and the bounds.
    fn validate(&self) -> Result<()> {
        let exchange = &self.exchange;
        if !matches!(exchange.pvno, 2 | 3) {
            return Err(checkpoint_error(format!("pvno {}", exchange.pvno)));
        }
        for (what, value) in [
            ("transactionID", Some(&exchange.transaction_id)),
            ("first senderNonce", Some(&exchange.first_nonce)),
            ("last senderNonce", Some(&exchange.last_nonce)),
            ("peer senderNonce", exchange.peer_nonce.as_ref()),
        ] {
            if let Some(value) = value
                && !(1..=MAX_ID_LEN).contains(&value.as_bytes().len())
            {
                return Err(checkpoint_error(format!(
                    "{what} of {} bytes, not 1 to {MAX_ID_LEN}",
                    value.as_bytes().len()
                )));
            }
        }
        // Before the first response there is no peer nonce and no polling; polling
        // means a response came (RFC 4210 §5.3.22); a certificate came in a response.
        let consistent = match &self.stage {
            Stage::Certificate => exchange.peer_nonce.is_none() && !exchange.polled,
            Stage::PollRep { .. } => exchange.peer_nonce.is_some() && exchange.polled,
            Stage::Confirmation(_) | Stage::RejectionAck(_) => exchange.peer_nonce.is_some(),
        };
        if !consistent {
            return Err(checkpoint_error(
                "its nonces and polling do not fit what it waits for".into(),
            ));
        }
        if let Stage::Confirmation(enrolled) = &self.stage {
            for (what, certs) in [
                ("extraCerts", &enrolled.extra_certs),
                ("caPubs", &enrolled.ca_pubs),
            ] {
                if certs.len() > MAX_CERTIFICATES {
                    return Err(checkpoint_error(format!(
                        "{} {what}, more than the {MAX_CERTIFICATES} kept",
                        certs.len()
                    )));
                }
            }
        }
        Ok(())
    }
}

/// `time`, cut down to the whole seconds the encoding keeps. For the time a pollReq
/// is due, that sends it up to a second early, which the CA answers with another
/// pollRep; rounding up would make every resumed poll wait up to a second for nothing.
pub(super) fn whole_seconds(time: SystemTime) -> SystemTime {
    let secs = time
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    UNIX_EPOCH
        .checked_add(Duration::from_secs(secs))
        .unwrap_or(time)
}

pub(super) fn checkpoint_error(reason: String) -> Error {
    Error::Checkpoint { reason }
}
