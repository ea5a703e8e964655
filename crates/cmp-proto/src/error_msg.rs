//! The error message body (RFC 4210 §5.3.21).

use der::Sequence;

use crate::header::FreeText;
use crate::status::PkiStatusInfo;

/// The body of an error message.
///
/// [RFC 4210 §5.3.21](https://www.rfc-editor.org/rfc/rfc4210#section-5.3.21):
/// ```text
/// ErrorMsgContent ::= SEQUENCE {
///     pKIStatusInfo          PKIStatusInfo,
///     errorCode              INTEGER           OPTIONAL,
///     errorDetails           PKIFreeText       OPTIONAL }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct ErrorMsgContent {
    /// The status, normally rejection with failInfo.
    pub pki_status_info: PkiStatusInfo,
    /// An implementation-specific error code.
    #[asn1(optional = "true")]
    pub error_code: Option<i64>,
    /// Implementation-specific details.
    #[asn1(optional = "true")]
    pub error_details: Option<FreeText>,
}
