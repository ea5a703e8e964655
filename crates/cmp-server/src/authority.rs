//! What the responder asks of a certificate authority, once a request has passed every
//! check: certify a key, confirm or withdraw a certificate, revoke, and answer general
//! messages.
//!
//! The responder owns the protocol (RFC 4210 §5.3: headers, protection, proof-of-possession,
//! transactions, polling, confirmation); a [`CertificateAuthority`] owns the policy and the
//! keys. [`TestCa`](crate::TestCa) is the implementation this crate ships.

use std::time::{Duration, SystemTime};

use cmp_proto::crmf::CertTemplate;
use cmp_proto::{InfoTypeAndValue, PkiFailureInfo};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::Certificate;
use x509_cert::name::Name;
use x509_cert::request::CertReq;
use x509_cert::serial_number::SerialNumber;

use crate::requester::Requester;

/// The request kinds that ask for a certificate (RFC 4210 §5.3.1–§5.3.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequestKind {
    /// Initialization request (ir).
    Ir,
    /// Certification request (cr).
    Cr,
    /// Key update request (kur): a new certificate for a new key, replacing `old_cert`.
    Kur,
    /// PKCS#10 certification request (p10cr).
    P10cr,
}

impl RequestKind {
    /// The message name, for logs and errors.
    pub fn name(self) -> &'static str {
        match self {
            Self::Ir => "ir",
            Self::Cr => "cr",
            Self::Kur => "kur",
            Self::P10cr => "p10cr",
        }
    }
}

/// A request for one certificate, authenticated and with its proof-of-possession checked.
#[derive(Clone, Debug)]
pub struct CertificationRequest {
    /// Which message asked.
    pub kind: RequestKind,
    /// The transactionID, so that a CA answering "waiting" can find its own state again.
    pub transaction_id: Vec<u8>,
    /// Who asked, as the responder authenticated them.
    pub requester: Requester,
    /// The key to certify: the template's or the CSR's.
    pub public_key: SubjectPublicKeyInfoOwned,
    /// What was asked: the CRMF template, or for p10cr one made from the CSR (subject,
    /// public key and the requested extensions).
    pub template: CertTemplate,
    /// The PKCS#10 request itself for p10cr, as received.
    pub csr: Option<CertReq>,
    /// For kur: the certificate being updated (RFC 4210 §5.3.5), when the request was
    /// signed with it.
    pub old_cert: Option<Certificate>,
    /// For kur: the issuer and serial number of the certificate being updated, from the
    /// oldCertID control or from `old_cert` (RFC 4211 §6.5). The responder has checked
    /// with [`CertificateAuthority::is_current`] that it is current.
    pub old_cert_id: Option<(Name, SerialNumber)>,
    /// The certificate profile named in generalInfo (RFC 9480 §2.4), if any.
    pub profile: Option<String>,
}

/// A CA's answer to a [`CertificationRequest`].
#[derive(Clone, Debug)]
pub enum Decision {
    /// Issued. `modified` says the CA changed what was asked (grantedWithMods).
    Granted {
        /// The new certificate.
        certificate: Box<Certificate>,
        /// Intermediate CA certificates, issuer first, for extraCerts.
        chain: Vec<Certificate>,
        /// CA certificates the requester should trust, for caPubs (ir only, RFC 9483 §4.1.1).
        ca_pubs: Vec<Certificate>,
        /// Whether the CA changed the request.
        modified: bool,
    },
    /// Not decided yet: the requester should poll after `check_after` (RFC 4210 §5.3.22).
    Waiting {
        /// When to ask again.
        check_after: Duration,
    },
    /// Refused.
    Rejected(Refusal),
}

/// A refusal: the failInfo bits and a status text for people (RFC 4210 §5.2.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// Why, as failInfo bits.
    pub fail_info: PkiFailureInfo,
    /// Why, in words.
    pub text: String,
}

impl Refusal {
    /// A refusal with one failInfo bit and a text.
    pub fn new(fail_info: PkiFailureInfo, text: impl Into<String>) -> Self {
        Self {
            fail_info,
            text: text.into(),
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = self.fail_info.names();
        if names.is_empty() {
            write!(f, "{}", self.text)
        } else {
            write!(f, "{} ({})", self.text, names.join(", "))
        }
    }
}

/// A request to revoke one certificate (RFC 4210 §5.3.9), authenticated.
#[derive(Clone, Debug)]
pub struct RevocationRequest {
    /// Who asked.
    pub requester: Requester,
    /// The issuer named in the request.
    pub issuer: Name,
    /// The serial number named in the request.
    pub serial: SerialNumber,
    /// The CRLReason code (RFC 5280 §5.3.1), if one was given.
    pub reason: Option<u8>,
}

/// The certificate authority behind a [`Responder`](crate::Responder).
///
/// Methods take `&self` and may be called from many threads at once; an implementation
/// keeps its own state behind a lock. `now` is the responder's clock, so tests can move
/// time.
pub trait CertificateAuthority: Send + Sync {
    /// Decides on a request. `attempt` is 0 for the request itself and counts the
    /// pollReqs that followed a [`Decision::Waiting`].
    fn certify(&self, request: &CertificationRequest, attempt: u32, now: SystemTime) -> Decision;

    /// The requester confirmed (`accepted`) or rejected a granted certificate, or never
    /// confirmed it before the deadline (`accepted == false`). A certificate that is not
    /// accepted must be revoked (RFC 4210 §5.3.18).
    fn confirm(&self, certificate: &Certificate, accepted: bool, now: SystemTime);

    /// Revokes a certificate this CA issued.
    fn revoke(&self, request: &RevocationRequest, now: SystemTime) -> Result<(), Refusal>;

    /// Answers one info type of a genm (RFC 4210 §5.3.19, RFC 9480 §4.3). `None` means the
    /// CA does not support it; the responder then answers with the info type alone.
    fn general_info(&self, request: &InfoTypeAndValue, now: SystemTime)
    -> Option<InfoTypeAndValue>;

    /// Whether the certificate `issuer`/`serial` was issued by this CA and is neither
    /// revoked nor expired: the responder asks before accepting it as the old certificate
    /// of a kur.
    fn is_current(&self, issuer: &Name, serial: &SerialNumber, now: SystemTime) -> bool;

    /// Whether `certificate`, one this CA issued, has been revoked: a request protected
    /// with it is then refused whatever its body (certRevoked), not only a kur. `false`
    /// for certificates of other CAs (an external RA's), whose status the CA does not
    /// keep. The default keeps no revocations.
    fn revoked(&self, certificate: &Certificate, now: SystemTime) -> bool {
        let _ = (certificate, now);
        false
    }

    /// Whether this CA issued `issuer`/`serial` to `requester` (or renewed by kur a
    /// certificate issued to it): under the default
    /// [`RevocationPolicy`](crate::RevocationPolicy) only then may a MAC credential
    /// revoke it. The default knows of none, so such revocations are refused.
    fn issued_to(&self, issuer: &Name, serial: &SerialNumber, requester: &Requester) -> bool {
        let _ = (issuer, serial, requester);
        false
    }
}
