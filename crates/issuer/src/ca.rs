//! The CMP side of an issuer: a [`CaClient`] built from an issuer's spec and the
//! credentials read from its Secrets, the health probe, and how the outcome of an
//! enrollment maps onto a CertificateRequest (issued, retry, or failed for good).

use std::time::Duration;

use cmp_client::asynchronous::{AsyncClient, AsyncHttpTransport};
use cmp_client::checks::{ResponsePolicy, Trust};
use cmp_client::transaction::Enrolled;
use cmp_client::transport::HttpTransport;
use cmp_client::{ClientConfig, Error as CmpError, Polling};
use cmp_proto::PkiFailureInfo;
use cmp_proto::protection::{
    MacAlgorithm, PbmSettings, Pbmac1Settings, Protector, SharedSecret, SigningKey,
};
use der::Encode;
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;
use zeroize::Zeroizing;

use crate::api::{IssuerSpec, MacKind};

/// Largest CMP response the issuer reads from a CA. A response carries one certificate,
/// its chain and the CA certificates: 1 MiB is generous.
pub const MAX_RESPONSE_SIZE: usize = 1 << 20;

/// What an issuer's Secrets and ConfigMaps hold, read by the controller.
#[derive(Default)]
pub struct IssuerCredentials {
    /// The shared secret, for MAC protection.
    pub shared_secret: Option<Zeroizing<Vec<u8>>>,
    /// `tls.crt` (signing certificate, then its chain) and `tls.key`, for signature
    /// protection.
    pub signer: Option<(Vec<u8>, Zeroizing<Vec<u8>>)>,
    /// PEM CMP trust anchors.
    pub trust_anchors: Option<Vec<u8>>,
    /// PEM TLS roots for an `https` URL.
    pub tls_roots: Option<Vec<u8>>,
    /// PEM TLS client certificate chain and key.
    pub tls_client: Option<(Vec<u8>, Zeroizing<Vec<u8>>)>,
}

impl std::fmt::Debug for IssuerCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Which credentials are present, never their bytes.
        f.debug_struct("IssuerCredentials")
            .field("shared_secret", &self.shared_secret.as_ref().map(|_| "..."))
            .field("signer", &self.signer.as_ref().map(|_| "..."))
            .field("trust_anchors", &self.trust_anchors.is_some())
            .field("tls_roots", &self.tls_roots.is_some())
            .field("tls_client", &self.tls_client.as_ref().map(|_| "..."))
            .finish()
    }
}

/// An issuer spec or its credentials that cannot work; the issuer is not Ready.
#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

fn config_error(what: impl std::fmt::Display) -> ConfigError {
    ConfigError(what.to_string())
}

/// A CMP client for one issuer.
pub type CaClient = AsyncClient<AsyncHttpTransport>;

/// Builds the CMP client an issuer describes: protection (RFC 4210 §5.1.3), trust kept
/// apart from TLS, the response policy switches, timeouts and polling bounds.
pub fn ca_client(
    spec: &IssuerSpec,
    credentials: &IssuerCredentials,
) -> Result<CaClient, ConfigError> {
    let protector = protector(spec, credentials)?;
    let anchors = match &credentials.trust_anchors {
        Some(pem) => Certificate::load_pem_chain(pem)
            .map_err(|e| config_error(format!("trust anchors: not PEM certificates: {e}")))?,
        None => Vec::new(),
    };
    if spec.protection.signature.is_some() && anchors.is_empty() {
        return Err(config_error(
            "trustAnchors are required with signature protection: the CA's signed \
             responses must chain to them",
        ));
    }
    let trust = Trust {
        secret: credentials
            .shared_secret
            .as_ref()
            .map(|s| SharedSecret::new(s.to_vec())),
        anchors: anchors.clone(),
        ..Trust::default()
    };
    let mut config = ClientConfig::new(protector, trust);
    if let Some(recipient) = &spec.recipient {
        config.recipient = GeneralName::DirectoryName(parse_name("recipient", recipient)?);
    }
    config.policy = ResponsePolicy {
        allow_unprotected_errors: spec.compatibility.accept_unprotected_errors,
        ignore_key_usage: spec.compatibility.ignore_signer_key_usage,
        tolerate_reversed_rdns: spec.compatibility.tolerate_reversed_rdns,
        strict_p10cr_cert_req_id: spec.compatibility.strict_p10cr_cert_req_id,
        expected_sender: spec
            .expected_sender
            .as_deref()
            .map(|s| parse_name("expectedSender", s))
            .transpose()?,
        limits: response_limits(spec),
    };
    if !anchors.is_empty() {
        config.issued_cert_anchors = Some(anchors);
    }
    config.implicit_confirm = spec.implicit_confirm;
    config.cert_profile = spec.certificate_profile.clone();
    config.polling = Polling {
        max_check_after: Duration::from_secs(spec.limits.max_check_after_seconds.into()),
        deadline: Duration::from_secs(spec.limits.max_retry_seconds.into()),
    };
    let transport = transport(spec, credentials)?;
    Ok(AsyncClient::new(config, AsyncHttpTransport::new(transport)))
}

/// The default bounds, raised to the issuer's MAC iteration count when it is higher: the
/// CA answers with the MAC parameters of the request (RFC 4210 §5.1.3.1).
fn response_limits(spec: &IssuerSpec) -> cmp_proto::Limits {
    let mut limits = cmp_proto::Limits::default();
    if let Some(n) = spec
        .protection
        .shared_secret
        .as_ref()
        .and_then(|m| m.iterations)
    {
        limits.max_pbm_iterations = limits.max_pbm_iterations.max(n);
        limits.max_pbkdf2_iterations = limits.max_pbkdf2_iterations.max(n);
        limits.max_pbkdf2_work = limits.max_pbkdf2_work.max(u64::from(n));
    }
    limits
}

fn parse_name(field: &str, text: &str) -> Result<Name, ConfigError> {
    text.parse()
        .map_err(|e| config_error(format!("{field} {text:?} is not a distinguished name: {e}")))
}

fn protector(spec: &IssuerSpec, credentials: &IssuerCredentials) -> Result<Protector, ConfigError> {
    match (&spec.protection.shared_secret, &spec.protection.signature) {
        (Some(mac), None) => {
            let secret = credentials
                .shared_secret
                .as_ref()
                .filter(|s| !s.is_empty())
                .ok_or_else(|| config_error("the shared secret is missing or empty"))?;
            let pbm = |settings: PbmSettings| {
                MacAlgorithm::PasswordBasedMac(PbmSettings {
                    iterations: mac.iterations.unwrap_or(settings.iterations),
                    ..settings
                })
            };
            let algorithm = match mac.mac {
                MacKind::Pbm => pbm(PbmSettings::default()),
                MacKind::PbmHmacSha1 => pbm(PbmSettings::hmac_sha1()),
                MacKind::PbmSha1 => pbm(PbmSettings::sha1()),
                MacKind::Pbmac1 => MacAlgorithm::Pbmac1(Pbmac1Settings {
                    iterations: mac.iterations.unwrap_or(10_000),
                    ..Pbmac1Settings::default()
                }),
            };
            Ok(Protector::Mac {
                secret: SharedSecret::new(secret.to_vec()),
                reference: Some(mac.reference.as_bytes().to_vec()),
                algorithm,
            })
        }
        (None, Some(signature)) => {
            let (chain_pem, key_pem) = credentials.signer.as_ref().ok_or_else(|| {
                config_error(format!(
                    "Secret {} has no tls.crt and tls.key",
                    signature.secret_name
                ))
            })?;
            let mut chain = Certificate::load_pem_chain(chain_pem)
                .map_err(|e| config_error(format!("tls.crt: not PEM certificates: {e}")))?;
            if chain.is_empty() {
                return Err(config_error("tls.crt holds no certificate"));
            }
            let certificate = chain.remove(0);
            let key_text = std::str::from_utf8(key_pem)
                .map_err(|_| config_error("tls.key is not PEM text"))?;
            // The key's own error could quote key material: say only what is wrong.
            let key = SigningKey::from_pem(key_text).map_err(|_| {
                config_error("tls.key is not a supported private key (PEM: PKCS#8, SEC1 or PKCS#1)")
            })?;
            let matches = key.public_key_info().ok().and_then(|k| k.to_der().ok())
                == certificate
                    .tbs_certificate()
                    .subject_public_key_info()
                    .to_der()
                    .ok();
            if !matches {
                return Err(config_error(
                    "tls.key does not belong to the certificate in tls.crt",
                ));
            }
            Ok(Protector::Signature {
                key,
                certificate: Box::new(certificate),
                chain,
            })
        }
        (Some(_), Some(_)) => Err(config_error(
            "protection names both sharedSecret and signature; choose one",
        )),
        (None, None) => Err(config_error(
            "protection names neither sharedSecret nor signature",
        )),
    }
}

fn transport(
    spec: &IssuerSpec,
    credentials: &IssuerCredentials,
) -> Result<HttpTransport, ConfigError> {
    let mut builder = HttpTransport::builder(spec.url.clone())
        .connect_timeout(Duration::from_secs(
            spec.limits.connect_timeout_seconds.into(),
        ))
        .timeout(Duration::from_secs(
            spec.limits.request_timeout_seconds.into(),
        ))
        .max_response_size(MAX_RESPONSE_SIZE);
    if let Some(roots) = &credentials.tls_roots {
        builder = builder.tls_roots_pem(roots).map_err(config_error)?;
    }
    if let Some((chain, key)) = &credentials.tls_client {
        builder = builder
            .client_identity_pem(chain, key)
            .map_err(config_error)?;
    }
    builder.build().map_err(config_error)
}

/// Whether a failed CMP exchange is worth trying again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Disposition {
    /// The CA is out of reach, busy, or a response failed a check (which a later,
    /// genuine response may pass): try again with backoff, up to the retry limit.
    Retry,
    /// The CA refused, or the request cannot work: Failed at once.
    Permanent,
}

/// failInfo bits of a CA's refusal that say "not now" rather than "no" (RFC 4210
/// §5.2.3): the CA is down or busy, its clock is unavailable, or the transactionID is
/// taken.
const TRANSIENT_FAIL_INFO: [PkiFailureInfo; 4] = [
    PkiFailureInfo::SYSTEM_UNAVAIL,
    PkiFailureInfo::SYSTEM_FAILURE,
    PkiFailureInfo::TRANSACTION_ID_IN_USE,
    PkiFailureInfo::TIME_NOT_AVAILABLE,
];

/// How a CertificateRequest takes a failed enrollment: a rejection by the CA (a
/// rejection status, or an error message with a failInfo that is not transient), an
/// unusable configuration, a certificate we refused in certConf, and a confirmation
/// whose outcome is unknown (a certificate may exist) fail it for good; everything else
/// is retried.
pub fn disposition(error: &CmpError) -> Disposition {
    let fail_info = match error {
        CmpError::Rejected { status, .. } => status.failure_info(),
        CmpError::ErrorMessage { content } => content.pki_status_info.failure_info(),
        CmpError::Config { .. } | CmpError::Build(_) | CmpError::Checkpoint { .. } => {
            return Disposition::Permanent;
        }
        // A certificate may exist and be confirmed at the CA: enrolling again could make
        // a second one. A person has to look.
        CmpError::ConfirmationOutcomeUnknown { .. } => return Disposition::Permanent,
        // The CA issued a certificate we refused (for another key, or not under our
        // anchors) and our certConf withdrew it: asking again makes the CA issue and
        // withdraw certificates in a loop. cert-manager retries the Certificate later.
        CmpError::PublicKeyMismatch | CmpError::CertificateUntrusted { .. } => {
            return Disposition::Permanent;
        }
        _ => return Disposition::Retry,
    };
    if TRANSIENT_FAIL_INFO
        .iter()
        .any(|bit| fail_info.contains(*bit))
    {
        Disposition::Retry
    } else {
        Disposition::Permanent
    }
}

/// What a CertificateRequest's status gets from an enrollment (PEM text).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedPem {
    /// `status.certificate`: the leaf, then the intermediates up to (not including) the
    /// root, as far as the CA's extraCerts and caPubs allow to build the path.
    pub chain: String,
    /// `status.ca`: every CA certificate the CA gave as one to trust: its caPubs and the
    /// self-signed certificates of its extraCerts, so a root rollover carries both roots.
    /// When the CA gave none, the configured trust anchor that issued the top of the
    /// chain.
    pub ca: String,
}

/// Assembles the PEM for a CertificateRequest's status from an enrollment's result and
/// the issuer's CMP trust anchors.
pub fn issued_pem(enrolled: &Enrolled, anchors: &[Certificate]) -> Result<IssuedPem, der::Error> {
    let pool: Vec<&Certificate> = enrolled
        .extra_certs
        .iter()
        .chain(&enrolled.ca_pubs)
        .collect();
    let mut chain = vec![&enrolled.certificate];
    // Walk issuer names upward; stop at a root, a loop, or a missing link. Depth is
    // bounded by the pool, which the response size already bounds.
    while chain.len() <= pool.len() {
        let current = chain[chain.len() - 1];
        let issuer = current.tbs_certificate().issuer();
        if is_self_issued(current) {
            break;
        }
        let Some(parent) = pool
            .iter()
            .find(|c| c.tbs_certificate().subject() == issuer)
        else {
            break;
        };
        if is_self_issued(parent) || chain.contains(parent) {
            break;
        }
        chain.push(parent);
    }
    let mut cas: Vec<&Certificate> = Vec::new();
    for cert in enrolled
        .ca_pubs
        .iter()
        .chain(enrolled.extra_certs.iter().filter(|c| is_self_issued(c)))
    {
        if !cas.contains(&cert) {
            cas.push(cert);
        }
    }
    if cas.is_empty() {
        let top = chain[chain.len() - 1].tbs_certificate().issuer();
        cas.extend(
            anchors
                .iter()
                .filter(|a| a.tbs_certificate().subject() == top),
        );
    }
    Ok(IssuedPem {
        chain: pem_all(chain)?,
        ca: pem_all(cas)?,
    })
}

fn is_self_issued(cert: &Certificate) -> bool {
    cert.tbs_certificate().issuer() == cert.tbs_certificate().subject()
}

fn pem_all<'a>(certs: impl IntoIterator<Item = &'a Certificate>) -> Result<String, der::Error> {
    use der::EncodePem;
    let mut out = String::new();
    for cert in certs {
        out.push_str(&cert.to_pem(der::pem::LineEnding::LF)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use cmp_proto::{BodyType, ErrorMsgContent, PkiStatusInfo};

    use super::*;
    use crate::api::{Protection, SecretKeySelector, SharedSecretProtection, SignatureProtection};

    const KEYS: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../cmp-proto/tests/fixtures/keys/"
    );

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!("{KEYS}{name}")).expect("fixture")
    }

    fn mac_spec() -> IssuerSpec {
        IssuerSpec {
            url: "http://127.0.0.1:1/".into(),
            protection: Protection {
                shared_secret: Some(SharedSecretProtection {
                    secret_ref: SecretKeySelector {
                        name: "cmp".into(),
                        key: "secret".into(),
                    },
                    reference: "ra".into(),
                    mac: MacKind::Pbm,
                    iterations: None,
                }),
                signature: None,
            },
            trust_anchors: None,
            tls: None,
            request_type: Default::default(),
            implicit_confirm: false,
            recipient: None,
            expected_sender: None,
            certificate_profile: None,
            compatibility: Default::default(),
            health_check: Default::default(),
            limits: Default::default(),
        }
    }

    fn signature_spec() -> IssuerSpec {
        let mut spec = mac_spec();
        spec.protection = Protection {
            shared_secret: None,
            signature: Some(SignatureProtection {
                secret_name: "signer".into(),
            }),
        };
        spec
    }

    fn config_error_of(spec: &IssuerSpec, credentials: &IssuerCredentials) -> String {
        ca_client(spec, credentials).expect_err("must be refused").0
    }

    #[test]
    fn mac_protection_needs_a_secret() {
        let err = config_error_of(&mac_spec(), &IssuerCredentials::default());
        assert!(err.contains("shared secret"), "{err}");
        let credentials = IssuerCredentials {
            shared_secret: Some(Zeroizing::new(b"s3cret".to_vec())),
            ..IssuerCredentials::default()
        };
        let client = ca_client(&mac_spec(), &credentials).expect("valid");
        assert!(matches!(client.config().protector, Protector::Mac { .. }));
        assert!(client.config().issued_cert_anchors.is_none());
    }

    #[test]
    fn protection_must_name_exactly_one_kind() {
        let mut both = mac_spec();
        both.protection.signature = signature_spec().protection.signature;
        assert!(config_error_of(&both, &IssuerCredentials::default()).contains("both"));
        let mut neither = mac_spec();
        neither.protection.shared_secret = None;
        assert!(config_error_of(&neither, &IssuerCredentials::default()).contains("neither"));
    }

    #[test]
    fn signature_protection_needs_a_matching_key_and_trust_anchors() {
        let signer = |cert: &str, key: &str| IssuerCredentials {
            signer: Some((fixture(cert), Zeroizing::new(fixture(key)))),
            trust_anchors: Some(fixture("root.pem")),
            ..IssuerCredentials::default()
        };
        ca_client(&signature_spec(), &signer("client.pem", "client.key")).expect("valid");
        let err = config_error_of(&signature_spec(), &signer("client.pem", "server.key"));
        assert!(err.contains("does not belong"), "{err}");
        let mut no_anchors = signer("client.pem", "client.key");
        no_anchors.trust_anchors = None;
        assert!(config_error_of(&signature_spec(), &no_anchors).contains("trustAnchors"));
        let mut not_pem = signer("client.pem", "client.key");
        not_pem.signer = Some((b"junk".to_vec(), Zeroizing::new(fixture("client.key"))));
        assert!(config_error_of(&signature_spec(), &not_pem).contains("tls.crt"));
    }

    #[test]
    fn errors_never_quote_key_material() {
        let credentials = IssuerCredentials {
            signer: Some((
                fixture("client.pem"),
                Zeroizing::new(b"-----BEGIN PRIVATE KEY-----\nQUJDREVGRzEyMzQ1Njc4\n-----END PRIVATE KEY-----\n".to_vec()),
            )),
            trust_anchors: Some(fixture("root.pem")),
            ..IssuerCredentials::default()
        };
        let err = config_error_of(&signature_spec(), &credentials);
        assert!(!err.contains("QUJD"), "{err}");
        let debug = format!("{credentials:?}");
        assert!(
            !debug.contains("QUJD") && !debug.contains("BEGIN"),
            "{debug}"
        );
    }

    #[test]
    fn names_and_policy_come_from_the_spec() {
        let mut spec = mac_spec();
        spec.recipient = Some("CN=ManagementCA,O=EJBCA Sample,C=SE".into());
        spec.expected_sender = Some("CN=ManagementCA,O=EJBCA Sample,C=SE".into());
        spec.compatibility.accept_unprotected_errors = true;
        spec.implicit_confirm = true;
        spec.certificate_profile = Some("tls-server".into());
        spec.protection.shared_secret.as_mut().expect("mac").mac = MacKind::Pbmac1;
        let credentials = IssuerCredentials {
            shared_secret: Some(Zeroizing::new(b"s3cret".to_vec())),
            ..IssuerCredentials::default()
        };
        let client = ca_client(&spec, &credentials).expect("valid");
        let config = client.config();
        assert!(config.policy.allow_unprotected_errors);
        assert!(!config.policy.ignore_key_usage);
        assert!(config.implicit_confirm);
        assert_eq!(config.cert_profile.as_deref(), Some("tls-server"));
        assert!(matches!(
            &config.protector,
            Protector::Mac { algorithm: MacAlgorithm::Pbmac1(s), .. } if s.iterations == 10_000
        ));
        spec.recipient = Some("not a DN".into());
        assert!(config_error_of(&spec, &credentials).contains("recipient"));
    }

    #[test]
    fn legacy_pbm_and_high_iteration_counts_are_opt_in_and_answers_may_use_them() {
        let credentials = IssuerCredentials {
            shared_secret: Some(Zeroizing::new(b"s3cret".to_vec())),
            ..IssuerCredentials::default()
        };
        let mut spec = mac_spec();
        let client = ca_client(&spec, &credentials).expect("valid");
        assert_eq!(client.config().policy.limits, cmp_proto::Limits::default());
        let mac = spec.protection.shared_secret.as_mut().expect("mac");
        mac.mac = MacKind::PbmSha1;
        mac.iterations = Some(262_144);
        let client = ca_client(&spec, &credentials).expect("valid");
        let config = client.config();
        assert!(matches!(
            &config.protector,
            Protector::Mac { algorithm: MacAlgorithm::PasswordBasedMac(s), .. }
                if s.iterations == 262_144 && s == &PbmSettings { iterations: 262_144, ..PbmSettings::sha1() }
        ));
        assert_eq!(config.policy.limits.max_pbm_iterations, 262_144);
    }

    #[test]
    fn rejections_fail_for_good_and_transient_refusals_retry() {
        let rejected = |bit| CmpError::Rejected {
            body: BodyType::Cp,
            status: PkiStatusInfo::rejection(bit, "no").expect("status"),
        };
        assert_eq!(
            disposition(&rejected(PkiFailureInfo::BAD_CERT_TEMPLATE)),
            Disposition::Permanent
        );
        assert_eq!(
            disposition(&rejected(PkiFailureInfo::SYSTEM_UNAVAIL)),
            Disposition::Retry
        );
        let error_message = |bit| CmpError::ErrorMessage {
            content: ErrorMsgContent {
                pki_status_info: PkiStatusInfo::rejection(bit, "busy").expect("status"),
                error_code: None,
                error_details: None,
            },
        };
        assert_eq!(
            disposition(&error_message(PkiFailureInfo::TRANSACTION_ID_IN_USE)),
            Disposition::Retry
        );
        assert_eq!(
            disposition(&error_message(PkiFailureInfo::BAD_MESSAGE_CHECK)),
            Disposition::Permanent
        );
        // A response that fails our checks may be forged: a genuine one may follow.
        assert_eq!(
            disposition(&CmpError::RecipNonceMismatch),
            Disposition::Retry
        );
        assert_eq!(disposition(&CmpError::PollingDeadline), Disposition::Retry);
        assert_eq!(
            disposition(&CmpError::Config { reason: "x".into() }),
            Disposition::Permanent
        );
        // A certificate we refused in certConf: asking again would only repeat it.
        assert_eq!(
            disposition(&CmpError::PublicKeyMismatch),
            Disposition::Permanent
        );
        assert_eq!(
            disposition(&CmpError::CertificateUntrusted { reason: "x".into() }),
            Disposition::Permanent
        );
    }
}
