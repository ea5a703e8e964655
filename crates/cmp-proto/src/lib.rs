//! The CMP wire format and message protection.
//!
//! Rust types for every structure of the Certificate Management Protocol
//! ([RFC 4210](https://www.rfc-editor.org/rfc/rfc4210) as updated by
//! [RFC 9480](https://www.rfc-editor.org/rfc/rfc9480)) and of CRMF
//! ([RFC 4211](https://www.rfc-editor.org/rfc/rfc4211)), over the RustCrypto `der`
//! crate; message protection by MAC (PasswordBasedMac, PBMAC1) and signature (RSA,
//! ECDSA, Ed25519) with the algorithms of [RFC 9481](https://www.rfc-editor.org/rfc/rfc9481);
//! and builders for every request and response. No I/O.
//!
//! ```
//! use cmp_proto::{Limits, ReceivedMessage};
//!
//! # fn main() -> Result<(), cmp_proto::Error> {
//! let bytes = [0x30, 0x03, 0x02, 0x01, 0x02]; // not a PKIMessage
//! let err = ReceivedMessage::decode(&bytes, &Limits::default()).unwrap_err();
//! assert!(err.to_string().starts_with("malformed PKIMessage"));
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod announcement;
mod body;
pub mod builder;
mod cert_rep;
mod confirm;
pub mod crmf;
mod error;
mod error_msg;
mod general;
mod header;
mod limits;
mod message;
pub mod oid;
mod poll;
pub mod protection;
mod revocation;
mod status;
pub mod time;

pub use announcement::OpaqueContent;
pub use body::{BodyType, PkiBody};
pub use cert_rep::{CertOrEncCert, CertRepMessage, CertResponse, CertifiedKeyPair};
pub use confirm::{CertConfirmContent, CertStatus};
pub use error::{Error, Result};
pub use error_msg::ErrorMsgContent;
pub use general::{
    CertReqTemplateContent, CrlSource, CrlStatus, GenMsgContent, GenRepContent, InfoTypeAndValue,
    RootCaKeyUpdateContent,
};
pub use header::{FreeText, PVNO_CMP2000, PVNO_CMP2021, PkiHeader};
pub use limits::Limits;
pub use message::{NestedMessageContent, PkiMessage, PkiMessages, ProtectedPart, ReceivedMessage};
pub use poll::{PollRep, PollRepContent, PollReq, PollReqContent};
pub use revocation::{RevDetails, RevRepContent, RevReqContent};
pub use status::{PkiFailureInfo, PkiStatus, PkiStatusInfo};

/// Re-exported so that callers use the same versions as this crate.
pub use {der, spki, x509_cert};
