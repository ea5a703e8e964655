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
//! - [`csr`]: what a CertificateRequest asks, verified, as the CMP request to send.
//! - [`signer`]: one enrollment, journaled so that a restart resumes it; [`journal`]
//!   keeps the checkpoint on the request; [`recorded`] says whether a recorded result may
//!   be believed.
//! - [`status`]: the conditions and status documents written back.
//! - [`controller`] and [`issuer_health`]: the reconcilers; [`wake`] says which requests
//!   an issuer's change wakes; [`leader`] elects the replica
//!   that runs them; [`probes`], [`metrics`] and [`logs`] are the operations side.

pub mod api;
pub mod ca;
pub mod cert_manager;
pub mod controller;
pub mod crds;
pub mod credentials;
pub mod csr;
pub mod issuer_health;
pub mod journal;
pub mod leader;
pub mod logs;
pub mod metrics;
pub mod probes;
pub mod recorded;
pub mod signer;
pub mod status;
pub mod triage;
pub mod wake;
