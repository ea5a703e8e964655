//! The issuer's own resources: `CMPv2Issuer` (namespaced) and `CMPv2ClusterIssuer`
//! (cluster-scoped) in API group `cmpv2-issuer.dev`, version `v1alpha1`.
//!
//! Both kinds share one spec: where the CA is, how requests are protected (RFC 4210
//! §5.1.3: a shared secret or a signing certificate), which certificates the CA's
//! responses must chain to (kept apart from the TLS trust of an `https` URL), and how
//! CertificateRequests are turned into CMP requests. `crdgen` writes
//! `deploy/crds/` from these types.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// API group of the issuer kinds, as `spec.issuerRef.group` must name it.
pub const GROUP: &str = "cmpv2-issuer.dev";

/// What a `CMPv2Issuer` or `CMPv2ClusterIssuer` says about its CA.
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "cmpv2-issuer.dev",
    version = "v1alpha1",
    kind = "CMPv2Issuer",
    namespaced,
    status = "IssuerStatus",
    shortname = "cmpv2issuer",
    category = "cert-manager",
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Reason","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].reason"}"#,
    printcolumn = r#"{"name":"Message","type":"string","priority":1,"jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    derive = "PartialEq"
)]
#[serde(rename_all = "camelCase")]
pub struct IssuerSpec {
    /// The CA's CMP endpoint, `http://` or `https://` (RFC 6712 / RFC 9811), e.g.
    /// `https://ejbca.example/ejbca/publicweb/cmp/ra-alias`.
    #[schemars(regex(pattern = r"^https?://"))]
    pub url: String,
    /// How requests are protected: exactly one of `sharedSecret` and `signature`.
    pub protection: Protection,
    /// Certificates a signed response must chain to, and the issued certificate too
    /// (RFC 9483 §3.2, §4.1.1). Kept apart from `tls`. Required with signature-protected
    /// responses; with MAC protection the shared secret authenticates the CA, and these
    /// anchors, when given, still check the issued certificate's chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_anchors: Option<CertificateSource>,
    /// TLS settings for an `https` URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsSettings>,
    /// The CMP request made from a CertificateRequest. Default `cr`.
    #[serde(default)]
    pub request_type: RequestType,
    /// Ask the CA to skip certConf (RFC 4210 §5.1.1.1); honoured only when the CA grants
    /// it in the response.
    #[serde(default)]
    pub implicit_confirm: bool,
    /// The header recipient, a distinguished name such as `CN=ManagementCA`. Default: the
    /// issuing CA's name is not known in advance, so the NULL-DN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient: Option<String>,
    /// The only sender name accepted in responses, a distinguished name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_sender: Option<String>,
    /// The certificate profile asked for (RFC 9480 §2.4, `certProfile` in generalInfo).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_profile: Option<String>,
    /// Switches some real CAs need, each off by default.
    #[serde(default)]
    pub compatibility: Compatibility,
    /// How the issuer finds out whether the CA is there. Default `GeneralMessage`.
    #[serde(default)]
    pub health_check: HealthCheck,
    /// Timeouts, polling and retry limits.
    #[serde(default)]
    pub limits: IssuerLimits,
}

/// `CMPv2ClusterIssuer`: the same spec, cluster-scoped. Its Secrets and ConfigMaps live
/// in the issuer's "cluster resource namespace" (a command-line flag).
#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[kube(
    group = "cmpv2-issuer.dev",
    version = "v1alpha1",
    kind = "CMPv2ClusterIssuer",
    status = "IssuerStatus",
    shortname = "cmpv2clusterissuer",
    category = "cert-manager",
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Reason","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].reason"}"#,
    printcolumn = r#"{"name":"Message","type":"string","priority":1,"jsonPath":".status.conditions[?(@.type==\"Ready\")].message"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    derive = "PartialEq"
)]
#[serde(rename_all = "camelCase")]
pub struct ClusterIssuerSpec {
    /// The same fields as a `CMPv2Issuer`.
    #[serde(flatten)]
    pub issuer: IssuerSpec,
}

/// How requests are protected (RFC 4210 §5.1.3).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Protection {
    /// MAC protection with a secret shared with the CA (EJBCA's RA mode with HMAC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_secret: Option<SharedSecretProtection>,
    /// Signature protection with a certificate the CA trusts (EJBCA's RA mode with a
    /// signing certificate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<SignatureProtection>,
}

/// MAC protection: the secret, the reference that names it at the CA, and the MAC.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SharedSecretProtection {
    /// The Secret key that holds the shared secret (the bytes as stored).
    pub secret_ref: SecretKeySelector,
    /// The reference the CA knows the secret by: the header's senderKID (RFC 4210
    /// §5.1.1), e.g. the EJBCA end entity's name.
    pub reference: String,
    /// The MAC algorithm. Default `PBM` (RFC 4210 §5.1.3.1), which every CA speaks.
    #[serde(default)]
    pub mac: MacKind,
    /// Iteration count of the password-based key derivation. Default 10,000 for PBMAC1,
    /// 500 for PBM (what OpenSSL and EJBCA use); up to 262,144 (what Go clients send).
    /// Answers MACed with as many are accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 100, max = 262_144))]
    pub iterations: Option<u32>,
}

/// The password-based MACs of RFC 9481 §6.1.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum MacKind {
    /// PasswordBasedMac (RFC 4210 §5.1.3.1), SHA-256 and HMAC-SHA256.
    #[default]
    #[serde(rename = "PBM")]
    Pbm,
    /// PBMAC1 (RFC 9481 §6.1.2) with PBKDF2-HMAC-SHA256 and HMAC-SHA256.
    #[serde(rename = "PBMAC1")]
    Pbmac1,
    /// PasswordBasedMac with SHA-256 and HMAC-SHA1, what `openssl cmp` sends: for CAs
    /// that refuse HMAC-SHA256 (the Insta demo CA).
    #[serde(rename = "PBM-HMAC-SHA1")]
    PbmHmacSha1,
    /// PasswordBasedMac with SHA-1 and HMAC-SHA1: only for the oldest CAs.
    #[serde(rename = "PBM-SHA1")]
    PbmSha1,
}

/// Signature protection: a Secret of type `kubernetes.io/tls` whose `tls.crt` holds the
/// signing certificate followed by its chain, and `tls.key` its PKCS#8 key.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SignatureProtection {
    /// Name of the `kubernetes.io/tls` Secret.
    pub secret_name: String,
}

/// A key of a Secret in the issuer's namespace (the cluster resource namespace for a
/// cluster issuer).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeySelector {
    /// The Secret's name.
    pub name: String,
    /// The key in its data.
    pub key: String,
}

/// PEM certificates from a Secret or a ConfigMap: exactly one of the two.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CertificateSource {
    /// A Secret key holding PEM certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<SecretKeySelector>,
    /// A ConfigMap key holding PEM certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map_ref: Option<ConfigMapKeySelector>,
}

/// A key of a ConfigMap in the issuer's namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMapKeySelector {
    /// The ConfigMap's name.
    pub name: String,
    /// The key in its data.
    pub key: String,
}

/// TLS for an `https` CA URL; CMP trust stays in `trustAnchors`.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TlsSettings {
    /// Roots for the CA's TLS server certificate, instead of the built-in web roots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_bundle: Option<CertificateSource>,
    /// A `kubernetes.io/tls` Secret to authenticate to the CA's TLS server with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate_secret_name: Option<String>,
}

/// The CMP request a CertificateRequest becomes.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RequestType {
    /// p10cr (RFC 4210 §5.3.4): cert-manager's CSR forwarded untouched; the CA takes the
    /// subject, SANs and extensions from it, and `duration`, `usages` and `isCA` only if it
    /// reads the CSR's own extensions.
    P10cr,
    /// ir (RFC 4210 §5.3.1): a CRMF request built from the verified CSR, with raVerified
    /// proof-of-possession, as an RA does.
    Ir,
    /// cr (RFC 4210 §5.3.3): as `ir`, for CAs that want cr from an RA.
    #[default]
    Cr,
}

/// The issuer's health check of its CA.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum HealthCheck {
    /// A general message asking for the CA certificates (RFC 9483 §4.3.1): Ready when the
    /// CA answers with a verified genp, or a verified error message.
    #[default]
    GeneralMessage,
    /// No message to the CA: Ready once the credentials and configuration are usable.
    /// For CAs without general messages (EJBCA's CMP lists none); failures then show
    /// only on CertificateRequests.
    None,
}

/// Switches for CAs that do not follow the RFCs, each off by default.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Compatibility {
    /// Accept unprotected negative answers (error, rejection): EJBCA sends many errors
    /// unprotected.
    #[serde(default)]
    pub accept_unprotected_errors: bool,
    /// Accept a response signer certificate without the digitalSignature key usage.
    #[serde(default)]
    pub ignore_signer_key_usage: bool,
    /// Accept a sender name whose RDNs come in reverse order (an EJBCA bug).
    #[serde(default)]
    pub tolerate_reversed_rdns: bool,
    /// Accept a p10cr answer only for certReqId -1, as RFC 9483 §4.1.4 says. By default
    /// 0 is accepted too: EJBCA and Nokia NCM answer p10cr with 0.
    #[serde(default)]
    pub strict_p10cr_cert_req_id: bool,
}

/// Timeouts and limits, in seconds.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct IssuerLimits {
    /// TCP and TLS connection set-up. Default 10.
    #[schemars(range(min = 1, max = 300))]
    pub connect_timeout_seconds: u32,
    /// One request and its response, whole. Default 60.
    #[schemars(range(min = 1, max = 3600))]
    pub request_timeout_seconds: u32,
    /// Longest checkAfter accepted from the CA while it says "waiting". Default 300.
    #[schemars(range(min = 1, max = 86400))]
    pub max_check_after_seconds: u32,
    /// How long a CertificateRequest may wait for the CA (polling and retries), from the
    /// first attempt, before it is Failed. Default 3600.
    #[schemars(range(min = 60, max = 604800))]
    pub max_retry_seconds: u32,
    /// How often the CA is probed with a general message to keep the Ready condition
    /// true to life. Default 300; 0 turns the periodic check off (checked on change only).
    #[schemars(range(min = 0, max = 86400))]
    pub health_check_interval_seconds: u32,
}

impl Default for IssuerLimits {
    fn default() -> Self {
        Self {
            connect_timeout_seconds: 10,
            request_timeout_seconds: 60,
            max_check_after_seconds: 300,
            max_retry_seconds: 3600,
            health_check_interval_seconds: 300,
        }
    }
}

/// What the issuer last found out about its CA.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssuerStatus {
    /// The `Ready` condition (reasons `Checked`, `Pending`, `Failed`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<IssuerCondition>,
}

/// A condition of an issuer, as cert-manager's issuers write it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssuerCondition {
    /// `Ready`.
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
