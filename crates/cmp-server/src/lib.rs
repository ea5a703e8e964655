//! The responder side of CMP ([RFC 4210](https://www.rfc-editor.org/rfc/rfc4210) as updated
//! by [RFC 9480](https://www.rfc-editor.org/rfc/rfc9480)) and a small test CA that really
//! signs.
//!
//! - [`Responder`] takes a request's bytes and returns the response's bytes: it checks the
//!   header, the protection (MAC by reference, or signature by a trusted certificate) and
//!   the proof-of-possession, tracks transactions by transactionID, and hands what passes
//!   to a [`CertificateAuthority`].
//! - [`TestCa`] is a [`CertificateAuthority`] with a root and an issuing CA, a simple
//!   policy, a real CRL, and its state in memory or in a directory.
//! - [`http`] serves a responder over HTTP (RFC 6712) on tokio.
#![forbid(unsafe_code)]

mod authority;
pub mod ca;
mod config;
mod error;
#[cfg(feature = "http")]
pub mod http;
mod protection;
mod request;
mod requester;
mod responder;
mod transactions;

pub use authority::{
    CertificateAuthority, CertificationRequest, Decision, Refusal, RequestKind, RevocationRequest,
};
pub use ca::{TestCa, TestCaConfig};
pub use config::{ResponderConfig, ResponderLimits};
pub use error::Error;
pub use requester::{Credentials, MacCredential, Requester, SignerAnchor};
pub use responder::{Outcome, Responder, Response};
