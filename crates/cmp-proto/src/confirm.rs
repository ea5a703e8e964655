//! Certificate confirmation: CertConfirmContent and CertStatus (RFC 4210 §5.3.18).

use der::Sequence;
use der::asn1::OctetString;
use spki::AlgorithmIdentifierOwned;

use crate::status::PkiStatusInfo;

/// The body of certConf: one entry per certificate received.
///
/// [RFC 4210 §5.3.18](https://www.rfc-editor.org/rfc/rfc4210#section-5.3.18):
/// ```text
/// CertConfirmContent ::= SEQUENCE OF CertStatus
/// ```
pub type CertConfirmContent = Vec<CertStatus>;

/// Accepts or rejects one certificate.
///
/// [RFC 4210 §5.3.18](https://www.rfc-editor.org/rfc/rfc4210#section-5.3.18), updated by
/// [RFC 9480 §2.10](https://www.rfc-editor.org/rfc/rfc9480#section-2.10):
/// ```text
/// CertStatus ::= SEQUENCE {
///     certHash    OCTET STRING,
///     certReqId   INTEGER,
///     statusInfo  PKIStatusInfo OPTIONAL,
///     hashAlg [0] AlgorithmIdentifier{DIGEST-ALGORITHM, {...}} OPTIONAL }
/// ```
/// `hashAlg` needs pvno 3 and is used when the certificate's signature algorithm names
/// no hash (Ed25519) or another hash is wanted.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct CertStatus {
    /// Hash of the DER certificate.
    pub cert_hash: OctetString,
    /// The certReqId of the request.
    pub cert_req_id: i64,
    /// Absent or accepted to confirm; rejection to refuse the certificate.
    #[asn1(optional = "true")]
    pub status_info: Option<PkiStatusInfo>,
    /// The hash used for `certHash` when it is not the signature's.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub hash_alg: Option<AlgorithmIdentifierOwned>,
}
