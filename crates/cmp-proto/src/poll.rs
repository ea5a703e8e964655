//! Polling: PollReqContent and PollRepContent (RFC 4210 §5.3.22).

use der::Sequence;

use crate::header::FreeText;

/// The body of pollReq.
///
/// [RFC 4210 §5.3.22](https://www.rfc-editor.org/rfc/rfc4210#section-5.3.22):
/// ```text
/// PollReqContent ::= SEQUENCE OF SEQUENCE {
///     certReqId    INTEGER }
/// ```
pub type PollReqContent = Vec<PollReq>;

/// One entry of [`PollReqContent`].
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct PollReq {
    /// The request polled for.
    pub cert_req_id: i64,
}

/// The body of pollRep.
///
/// [RFC 4210 §5.3.22](https://www.rfc-editor.org/rfc/rfc4210#section-5.3.22):
/// ```text
/// PollRepContent ::= SEQUENCE OF SEQUENCE {
///     certReqId    INTEGER,
///     checkAfter   INTEGER,  -- time in seconds
///     reason       PKIFreeText OPTIONAL }
/// ```
pub type PollRepContent = Vec<PollRep>;

/// One entry of [`PollRepContent`].
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct PollRep {
    /// The request polled for.
    pub cert_req_id: i64,
    /// Seconds to wait before the next pollReq (a peer may send nonsense: bound it).
    pub check_after: i64,
    /// Why it is still waiting.
    #[asn1(optional = "true")]
    pub reason: Option<FreeText>,
}
