//! cert-manager's `CertificateRequest` (`cert-manager.io/v1`): the fields an external
//! issuer reads and writes, nothing more. Unknown fields are kept out of our writes:
//! status goes out by server-side apply with only the fields we own.

use k8s_openapi::ByteString;
use kube::CustomResource;
use serde::{Deserialize, Serialize};

/// cert-manager's API group.
pub const GROUP: &str = "cert-manager.io";

/// What a CertificateRequest asks for (the fields an issuer uses).
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "cert-manager.io",
    version = "v1",
    kind = "CertificateRequest",
    namespaced,
    status = "CertificateRequestStatus",
    schema = "disabled",
    derive = "PartialEq",
    derive = "Default"
)]
#[serde(rename_all = "camelCase")]
pub struct CertificateRequestSpec {
    /// The PKCS#10 CSR, PEM, as bytes (base64 in JSON).
    #[serde(default)]
    pub request: ByteString,
    /// The issuer that is to sign it.
    pub issuer_ref: IssuerRef,
    /// Requested validity, a Go duration such as `2160h0m0s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// Requested key usages and extended key usages, in cert-manager's names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub usages: Vec<String>,
    /// Whether the certificate is for a CA.
    #[serde(default, rename = "isCA")]
    pub is_ca: bool,
}

/// Which issuer a request names: ours only when `group` is ours exactly and `kind` is
/// one of our kinds (an empty kind means the namespaced one).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
pub struct IssuerRef {
    /// The issuer's name.
    pub name: String,
    /// Its kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Its API group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

/// What the issuer writes back.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CertificateRequestStatus {
    /// `Approved`, `Denied`, `Ready`, `InvalidRequest`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<RequestCondition>,
    /// The certificate, PEM, leaf first then intermediates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate: Option<ByteString>,
    /// The CA certificate(s), PEM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca: Option<ByteString>,
    /// When the request failed for good (RFC 3339); cert-manager backs off on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_time: Option<String>,
}

/// One condition of a CertificateRequest.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RequestCondition {
    /// `Approved`, `Denied`, `Ready` or `InvalidRequest`.
    #[serde(rename = "type")]
    pub type_: String,
    /// `True`, `False` or `Unknown`.
    pub status: String,
    /// A CamelCase word for machines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// A sentence for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When `status` last changed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
    /// The `metadata.generation` the condition was set for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
}

impl CertificateRequestStatus {
    /// The condition of this type, if any.
    pub fn condition(&self, type_: &str) -> Option<&RequestCondition> {
        self.conditions.iter().find(|c| c.type_ == type_)
    }
}
