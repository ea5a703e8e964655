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
//!
//! A certificate from the test CA, with our client talking to the responder in process:
//!
//! ```
//! use std::time::SystemTime;
//!
//! use cmp_client::checks::Trust;
//! use cmp_client::transaction::EnrollmentRequest;
//! use cmp_client::transport::{Transport, TransportError};
//! use cmp_client::{Client, ClientConfig};
//! use cmp_proto::builder::CertRequestBuilder;
//! use cmp_proto::protection::{KeyType, MacAlgorithm, Protector, SharedSecret, SigningKey};
//! use cmp_server::{Responder, TestCa, TestCaConfig};
//!
//! /// Hands each request to the responder (an HTTP server does the same, see `http`).
//! struct InProcess(Responder<TestCa>);
//! impl Transport for InProcess {
//!     fn send(&mut self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
//!         Ok(self.0.handle(request, SystemTime::now()).bytes)
//!     }
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The CA, and a shared secret its responder accepts under reference "1234".
//! let ca = TestCa::new(TestCaConfig::default())?;
//! let root = ca.root().clone();
//! let mut config = ca.responder_config();
//! config.credentials = config
//!     .credentials
//!     .with_mac(b"1234".to_vec(), SharedSecret::from("secret"));
//! let responder = Responder::new(config, ca);
//!
//! // ir + certConf with MAC protection.
//! let protector = Protector::Mac {
//!     secret: SharedSecret::from("secret"),
//!     reference: Some(b"1234".to_vec()),
//!     algorithm: MacAlgorithm::default(),
//! };
//! let trust = Trust { secret: Some(SharedSecret::from("secret")), ..Trust::default() };
//! let mut client = Client::new(ClientConfig::new(protector, trust), InProcess(responder));
//! let key = SigningKey::generate(KeyType::P256)?;
//! let request = CertRequestBuilder::new(key.public_key_info()?)
//!     .subject("CN=example".parse()?)
//!     .sign_pop(&key)?;
//! let enrolled = client.enroll(EnrollmentRequest::Ir(request))?;
//! assert_eq!(enrolled.certificate.tbs_certificate().issuer().to_string(),
//!            "CN=cmpv2 Test Issuing CA,O=cmpv2-rs test");
//! assert!(enrolled.ca_pubs.contains(&root));
//! # Ok(()) }
//! ```
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
pub use config::{ResponderConfig, ResponderLimits, RevocationPolicy};
pub use error::Error;
pub use requester::{Credentials, MacCredential, Requester, SignerAnchor};
pub use responder::{Outcome, Responder, Response};
