//! A cert-manager external issuer that signs CertificateRequests by enrolling them over
//! CMP (RFC 4210 as updated by RFC 9480, the Lightweight CMP Profile RFC 9483) straight
//! with the CA, with no proxy in between.
//!
//! - [`api`]: the `CMPv2Issuer` and `CMPv2ClusterIssuer` resources.
//! - [`cert_manager`]: the parts of cert-manager's `CertificateRequest` an issuer uses.

pub mod api;
pub mod cert_manager;
pub mod crds;
