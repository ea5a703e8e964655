//! The DER encoding of [`InFlightEnrollment`], as its documentation gives it in ASN.1.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cmp_proto::BodyType;
use cmp_proto::spki::SubjectPublicKeyInfoOwned;
use cmp_proto::x509_cert::Certificate;
use der::asn1::{Null, OctetString};
use der::{Choice, Decode, Encode, Header, Reader, Sequence, SliceReader, Tag};

use super::{CertificateProblem, InFlightEnrollment, Stage, checkpoint_error};
use crate::error::Result;
use crate::transaction::Enrolled;
use crate::transaction::exchange::ExchangeCheckpoint;

/// The version [`InFlightEnrollment::to_bytes`] writes and the only one
/// [`InFlightEnrollment::from_bytes`] reads.
const VERSION: u8 = 1;

impl InFlightEnrollment {
    /// The DER, unbounded.
    pub(super) fn encode_der(&self) -> der::Result<Vec<u8>> {
        self.to_der_value().to_der()
    }

    /// Decodes the DER, reporting another version as such; checks nothing beyond what
    /// the encoding itself says.
    pub(super) fn decode_der(bytes: &[u8]) -> Result<Self> {
        match peek_version(bytes) {
            Some(version) if version != u64::from(VERSION) => {
                return Err(checkpoint_error(format!(
                    "version {version}, this library reads version {VERSION}"
                )));
            }
            _ => {}
        }
        let der = InFlightDer::from_der(bytes)
            .map_err(|e| checkpoint_error(format!("does not decode: {e}")))?;
        Self::from_der_value(der)
    }

    fn to_der_value(&self) -> InFlightDer {
        let exchange = &self.exchange;
        let awaiting = match &self.stage {
            Stage::Certificate => AwaitingDer::Certificate(Null),
            Stage::PollRep { send_after } => AwaitingDer::PollRep(unix_seconds(*send_after)),
            Stage::Confirmation(enrolled) => AwaitingDer::Confirmation(ConfirmingDer {
                certificate: enrolled.certificate.clone(),
                extra_certs: enrolled.extra_certs.clone(),
                ca_pubs: enrolled.ca_pubs.clone(),
                granted_with_mods: enrolled.granted_with_mods,
            }),
            Stage::RejectionAck(CertificateProblem::PublicKeyMismatch) => {
                AwaitingDer::RejectionAck(ProblemDer::PublicKeyMismatch(Null))
            }
            Stage::RejectionAck(CertificateProblem::Untrusted { reason }) => {
                AwaitingDer::RejectionAck(ProblemDer::Untrusted(reason.clone()))
            }
        };
        InFlightDer {
            version: VERSION,
            request_type: body_number(self.request_type),
            pvno: exchange.pvno,
            transaction_id: exchange.transaction_id.clone(),
            first_nonce: exchange.first_nonce.clone(),
            last_nonce: exchange.last_nonce.clone(),
            peer_nonce: exchange.peer_nonce.clone(),
            polled: exchange.polled,
            implicit_confirm: self.implicit_confirm_requested,
            cert_req_id: self.cert_req_id,
            requested_key: self.requested_key.clone(),
            deadline: unix_seconds(self.deadline),
            awaiting,
        }
    }

    fn from_der_value(der: InFlightDer) -> Result<Self> {
        if der.version != VERSION {
            return Err(checkpoint_error(format!(
                "version {}, this library reads version {VERSION}",
                der.version
            )));
        }
        let request_type = match der.request_type {
            0 => BodyType::Ir,
            2 => BodyType::Cr,
            4 => BodyType::P10cr,
            7 => BodyType::Kur,
            other => {
                return Err(checkpoint_error(format!(
                    "request type {other} is not ir, cr, p10cr or kur"
                )));
            }
        };
        let stage = match der.awaiting {
            AwaitingDer::Certificate(Null) => Stage::Certificate,
            AwaitingDer::PollRep(at) => Stage::PollRep {
                send_after: from_unix_seconds(at)?,
            },
            AwaitingDer::Confirmation(c) => Stage::Confirmation(Box::new(Enrolled {
                certificate: c.certificate,
                extra_certs: c.extra_certs,
                ca_pubs: c.ca_pubs,
                granted_with_mods: c.granted_with_mods,
                // Confirmation is only ever awaited when it was not implicit.
                implicitly_confirmed: false,
            })),
            AwaitingDer::RejectionAck(ProblemDer::PublicKeyMismatch(Null)) => {
                Stage::RejectionAck(CertificateProblem::PublicKeyMismatch)
            }
            AwaitingDer::RejectionAck(ProblemDer::Untrusted(reason)) => {
                Stage::RejectionAck(CertificateProblem::Untrusted { reason })
            }
        };
        Ok(Self {
            request_type,
            exchange: ExchangeCheckpoint {
                pvno: der.pvno,
                transaction_id: der.transaction_id,
                first_nonce: der.first_nonce,
                last_nonce: der.last_nonce,
                peer_nonce: der.peer_nonce,
                polled: der.polled,
            },
            implicit_confirm_requested: der.implicit_confirm,
            cert_req_id: der.cert_req_id,
            requested_key: der.requested_key,
            deadline: from_unix_seconds(der.deadline)?,
            stage,
        })
    }
}

fn unix_seconds(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

fn from_unix_seconds(secs: u64) -> Result<SystemTime> {
    UNIX_EPOCH
        .checked_add(Duration::from_secs(secs))
        .ok_or_else(|| checkpoint_error(format!("time {secs} s after 1970 out of range")))
}

/// The PKIBody choice number of an enrollment request (RFC 4210 §5.1.2).
fn body_number(request_type: BodyType) -> u8 {
    match request_type {
        BodyType::Cr => 2,
        BodyType::P10cr => 4,
        BodyType::Kur => 7,
        // `Enrollment` sends nothing else first.
        _ => 0,
    }
}

/// The version of what looks like a checkpoint, read before the rest, so that one from
/// another version is reported as such rather than as undecodable.
fn peek_version(bytes: &[u8]) -> Option<u64> {
    let mut reader = SliceReader::new(bytes).ok()?;
    let header = Header::decode(&mut reader).ok()?;
    if header.tag() != Tag::Sequence {
        return None;
    }
    reader.decode::<u64>().ok()
}

/// `InFlightEnrollment` in the ASN.1 above.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
struct InFlightDer {
    version: u8,
    request_type: u8,
    pvno: u8,
    transaction_id: OctetString,
    first_nonce: OctetString,
    last_nonce: OctetString,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    peer_nonce: Option<OctetString>,
    polled: bool,
    implicit_confirm: bool,
    cert_req_id: i64,
    requested_key: SubjectPublicKeyInfoOwned,
    deadline: u64,
    awaiting: AwaitingDer,
}

/// `Awaiting` in the ASN.1 above.
#[derive(Clone, Debug, PartialEq, Eq, Choice)]
#[allow(clippy::large_enum_variant)] // one value per checkpoint
enum AwaitingDer {
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT")]
    Certificate(Null),
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT")]
    PollRep(u64),
    #[asn1(context_specific = "2", tag_mode = "IMPLICIT", constructed = "true")]
    Confirmation(ConfirmingDer),
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", constructed = "true")]
    RejectionAck(ProblemDer),
}

/// `Confirming` in the ASN.1 above.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
struct ConfirmingDer {
    certificate: Certificate,
    extra_certs: Vec<Certificate>,
    ca_pubs: Vec<Certificate>,
    granted_with_mods: bool,
}

/// `Problem` in the ASN.1 above.
#[derive(Clone, Debug, PartialEq, Eq, Choice)]
enum ProblemDer {
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT")]
    PublicKeyMismatch(Null),
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT")]
    Untrusted(String),
}
