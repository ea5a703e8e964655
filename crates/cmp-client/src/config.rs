//! What a client needs to know to talk to one CA.

use std::time::Duration;

use cmp_proto::protection::Protector;
use cmp_proto::x509_cert::Certificate;
use cmp_proto::x509_cert::ext::pkix::name::GeneralName;
use cmp_proto::x509_cert::name::Name;

use crate::checks::{ResponsePolicy, Trust};

/// How long polling may go on and how long one wait may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Polling {
    /// Longest checkAfter accepted. Default 300 s (RFC 9483 gives no bound; a peer
    /// asking for more is treated as broken rather than waited for).
    pub max_check_after: Duration,
    /// Overall time from the first request until a certificate must be there.
    /// Default 30 min.
    pub deadline: Duration,
}

impl Default for Polling {
    fn default() -> Self {
        Self {
            max_check_after: Duration::from_secs(300),
            deadline: Duration::from_secs(30 * 60),
        }
    }
}

/// One CA, and how we protect what we send it and check what it answers.
///
/// ```
/// use std::time::Duration;
/// use cmp_client::checks::Trust;
/// use cmp_client::{ClientConfig, Polling};
/// use cmp_proto::protection::{MacAlgorithm, Protector, SharedSecret};
/// use cmp_proto::x509_cert::ext::pkix::name::GeneralName;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let secret = SharedSecret::from("insta");
/// let protector = Protector::Mac {
///     secret: secret.clone(),
///     reference: Some(b"1234".to_vec()),
///     algorithm: MacAlgorithm::default(),
/// };
/// let mut config = ClientConfig::new(
///     protector,
///     Trust { secret: Some(secret), ..Trust::default() },
/// );
/// config.recipient = GeneralName::DirectoryName("CN=Issuing CA".parse()?);
/// config.implicit_confirm = true;
/// config.cert_profile = Some("tls-server".into());
/// config.polling = Polling {
///     max_check_after: Duration::from_secs(60),
///     deadline: Duration::from_secs(600),
/// };
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// How requests are protected (shared secret or signing key and certificate).
    pub protector: Protector,
    /// The header sender; for signature protection, the certificate's subject is used
    /// when this is `None` (RFC 9483 §3.1 requires them equal).
    pub sender: Option<GeneralName>,
    /// The header recipient: the CA's name, or the NULL-DN when unknown.
    pub recipient: GeneralName,
    /// What response protection is verified against (kept apart from TLS trust).
    pub trust: Trust,
    /// How strictly responses are checked.
    pub policy: ResponsePolicy,
    /// Anchors that an issued certificate must chain to (through extraCerts and
    /// caPubs); `None` leaves the certificate unvalidated beyond its key.
    pub issued_cert_anchors: Option<Vec<Certificate>>,
    /// Ask for implicit confirmation (RFC 4210 §5.1.1.1); honoured only when granted.
    pub implicit_confirm: bool,
    /// The certificate profile to name in generalInfo (RFC 9480 §2.4).
    pub cert_profile: Option<String>,
    /// Polling bounds.
    pub polling: Polling,
}

impl ClientConfig {
    /// A configuration with strict defaults: no implicit confirmation, no profile,
    /// unknown recipient.
    pub fn new(protector: Protector, trust: Trust) -> Self {
        Self {
            protector,
            sender: None,
            recipient: GeneralName::DirectoryName(Name::default()),
            trust,
            policy: ResponsePolicy::default(),
            issued_cert_anchors: None,
            implicit_confirm: false,
            cert_profile: None,
            polling: Polling::default(),
        }
    }

    /// The sender to put in headers.
    pub(crate) fn sender_name(&self) -> GeneralName {
        if let Some(sender) = &self.sender {
            return sender.clone();
        }
        match &self.protector {
            Protector::Signature { certificate, .. } => {
                GeneralName::DirectoryName(certificate.tbs_certificate().subject().clone())
            }
            Protector::Mac { .. } => GeneralName::DirectoryName(Name::default()),
        }
    }
}
