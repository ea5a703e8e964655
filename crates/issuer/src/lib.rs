//! A cert-manager external issuer that signs CertificateRequests by enrolling them over
//! CMP (RFC 4210 as updated by RFC 9480, the Lightweight CMP Profile RFC 9483) straight
//! with the CA, with no proxy in between.
//!
//! - [`api`]: the `CMPv2Issuer` and `CMPv2ClusterIssuer` resources; [`crds`] renders
//!   their CustomResourceDefinitions.
//! - [`cert_manager`]: the parts of cert-manager's `CertificateRequest` an issuer uses.
//! - [`triage`]: what the contract says to do with a request before the CA is asked.
//! - [`ca`]: the CMP client an issuer describes, and how enrollment outcomes map onto a
//!   request (issued, retried, failed).
//! - [`status`]: the conditions and status documents written back.

pub mod api;
pub mod ca;
pub mod cert_manager;
pub mod crds;
pub mod credentials;
pub mod signer;
pub mod status;
pub mod triage;
