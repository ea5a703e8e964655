//! CertReqMessages, CertReqMsg and CertRequest (RFC 4211 §3 and §5).

use der::Sequence;

use super::controls::{AttributeTypeAndValue, Controls};
use super::pop::ProofOfPossession;
use super::template::CertTemplate;

/// One or more certificate requests.
///
/// [RFC 4211 §3](https://www.rfc-editor.org/rfc/rfc4211#section-3):
/// ```text
/// CertReqMessages ::= SEQUENCE SIZE (1..MAX) OF CertReqMsg
/// ```
pub type CertReqMessages = Vec<CertReqMsg>;

/// A certificate request with its proof of possession.
///
/// [RFC 4211 §3](https://www.rfc-editor.org/rfc/rfc4211#section-3):
/// ```text
/// CertReqMsg ::= SEQUENCE {
///     certReq   CertRequest,
///     popo      ProofOfPossession  OPTIONAL,
///     regInfo   SEQUENCE SIZE(1..MAX) OF AttributeTypeAndValue OPTIONAL }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct CertReqMsg {
    /// The request.
    pub cert_req: CertRequest,
    /// The proof that the requester holds the key.
    #[asn1(optional = "true")]
    pub popo: Option<ProofOfPossession>,
    /// Supplementary information.
    #[asn1(optional = "true")]
    pub reg_info: Option<Vec<AttributeTypeAndValue>>,
}

/// The request proper.
///
/// [RFC 4211 §5](https://www.rfc-editor.org/rfc/rfc4211#section-5):
/// ```text
/// CertRequest ::= SEQUENCE {
///     certReqId     INTEGER,
///     certTemplate  CertTemplate,
///     controls      Controls OPTIONAL }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct CertRequest {
    /// Matches the request with its response (0 for the first, as RFC 9483 asks).
    pub cert_req_id: i64,
    /// The certificate fields asked for.
    pub cert_template: CertTemplate,
    /// Controls (oldCertID for kur, regToken, ...).
    #[asn1(optional = "true")]
    pub controls: Option<Controls>,
}
