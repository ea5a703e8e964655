//! Builders for every request a client sends and every response a server sends.
//!
//! A message is a header from [`HeaderBuilder`] and a body; [`HeaderBuilder::build`]
//! protects the pair and attaches extraCerts. The body helpers here compute what the
//! RFCs ask to be computed (certHash, proof-of-possession, revocation details).
//!
//! ```
//! use cmp_proto::builder::{CertRequestBuilder, HeaderBuilder};
//! use cmp_proto::protection::{KeyType, MacAlgorithm, Protector, SharedSecret, SigningKey};
//! use cmp_proto::x509_cert::ext::pkix::name::GeneralName;
//! use cmp_proto::x509_cert::name::Name;
//! use cmp_proto::{PkiBody, der::Encode};
//! use std::str::FromStr;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let key = SigningKey::generate(KeyType::P256)?;
//! let subject = Name::from_str("CN=device-1")?;
//! let request = CertRequestBuilder::new(key.public_key_info()?)
//!     .subject(subject.clone())
//!     .sign_pop(&key)?;
//! let protector = Protector::Mac {
//!     secret: SharedSecret::from("insta"),
//!     reference: Some(b"1234".to_vec()),
//!     algorithm: MacAlgorithm::default(),
//! };
//! let ir = HeaderBuilder::new(GeneralName::DirectoryName(subject), GeneralName::DirectoryName(Name::default()))?
//!     .implicit_confirm()
//!     .build(PkiBody::Ir(vec![request]), Some(&protector))?;
//! let bytes = ir.to_der()?;
//! assert_eq!(bytes[0], 0x30);
//! # Ok(()) }
//! ```

mod header;
mod request;
mod response;

pub use header::{HeaderBuilder, random_bytes};
pub use request::{CertRequestBuilder, CrlReason, cert_status, rev_details};
pub use response::{cert_rep, error_content, poll_rep, rev_rep};
