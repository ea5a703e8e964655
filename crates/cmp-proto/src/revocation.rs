//! Revocation: RevReqContent, RevDetails and RevRepContent (RFC 4210 §5.3.9–§5.3.10).

use der::Sequence;
use x509_cert::crl::CertificateList;
use x509_cert::ext::Extensions;

use crate::crmf::{CertId, CertTemplate};
use crate::status::PkiStatusInfo;

/// The body of rr.
///
/// [RFC 4210 §5.3.9](https://www.rfc-editor.org/rfc/rfc4210#section-5.3.9):
/// ```text
/// RevReqContent ::= SEQUENCE OF RevDetails
/// ```
pub type RevReqContent = Vec<RevDetails>;

/// One certificate to revoke.
///
/// [RFC 4210 §5.3.9](https://www.rfc-editor.org/rfc/rfc4210#section-5.3.9):
/// ```text
/// RevDetails ::= SEQUENCE {
///     certDetails         CertTemplate,
///     crlEntryDetails     Extensions       OPTIONAL }
/// ```
/// RFC 9483 §4.2 fills `certDetails` with issuer and serialNumber only and puts the
/// reason code in `crlEntryDetails`.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct RevDetails {
    /// Names the certificate (issuer and serial number).
    pub cert_details: CertTemplate,
    /// CRL entry extensions: the reasonCode, invalidity date.
    #[asn1(optional = "true")]
    pub crl_entry_details: Option<Extensions>,
}

/// The body of rp.
///
/// [RFC 4210 §5.3.10](https://www.rfc-editor.org/rfc/rfc4210#section-5.3.10):
/// ```text
/// RevRepContent ::= SEQUENCE {
///     status       SEQUENCE SIZE (1..MAX) OF PKIStatusInfo,
///     revCerts [0] SEQUENCE SIZE (1..MAX) OF CertId OPTIONAL,
///     crls     [1] SEQUENCE SIZE (1..MAX) OF CertificateList OPTIONAL }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct RevRepContent {
    /// One status per RevDetails, in order.
    pub status: Vec<PkiStatusInfo>,
    /// The certificates the statuses are about.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub rev_certs: Option<Vec<CertId>>,
    /// CRLs that show the revocation.
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    pub crls: Option<Vec<CertificateList>>,
}
