//! How a responder is set up: its name, who it answers, how it signs, its policy and its
//! bounds.

use std::time::Duration;

use cmp_client::checks::ResponsePolicy;
use cmp_proto::Limits;
use cmp_proto::protection::Protector;
use x509_cert::ext::pkix::name::GeneralName;

use crate::requester::Credentials;

/// Bounds on what requesters can make the responder hold or compute.
#[derive(Clone, Debug)]
pub struct ResponderLimits {
    /// Message size, certificate count and iteration counts accepted in a request.
    pub message: Limits,
    /// Transactions in flight (awaiting certConf or polling). Default 10,000: a new one
    /// beyond it is answered systemUnavail.
    pub max_transactions: usize,
    /// Transactions in flight for one requester (one MAC reference, one signer
    /// certificate). Default 100: one credential must not fill the table for everyone
    /// (issue 16, finding 7: one MAC client opened 10,000 in 10 s); beyond it that
    /// requester is answered systemUnavail until its transactions end or expire.
    pub max_transactions_per_requester: usize,
    /// How long a transaction may stay open between its messages. Default 5 minutes; an
    /// unconfirmed certificate is revoked when it runs out (RFC 4210 §5.3.18).
    pub transaction_lifetime: Duration,
    /// How far messageTime may be from our clock (RFC 4210 §5.1.1). Default 60 s.
    ///
    /// It also sets the replay window: a transactionID is remembered for at least
    /// twice this long, so a request replayed later carries a messageTime too old to
    /// pass. Memory for the window is about 20 bytes per request started in it.
    pub max_clock_skew: Duration,
    /// Refuse requests without messageTime (failInfo missingTimeStamp). Default on:
    /// without it a request replayed after the replay window could not be told from a
    /// new one. OpenSSL, EJBCA's and our clients all send it.
    pub require_message_time: bool,
}

impl Default for ResponderLimits {
    fn default() -> Self {
        Self {
            message: Limits::default(),
            max_transactions: 10_000,
            max_transactions_per_requester: 100,
            transaction_lifetime: Duration::from_secs(300),
            max_clock_skew: Duration::from_secs(60),
            require_message_time: true,
        }
    }
}

/// The responder's configuration.
#[derive(Clone, Debug)]
pub struct ResponderConfig {
    /// Our name: the sender of every response (RFC 4210 §5.1.1).
    pub name: GeneralName,
    /// Who may send requests.
    pub credentials: Credentials,
    /// How we sign answers to signature-protected requests, and errors for requests we
    /// could not authenticate. Without it such answers go unprotected.
    pub signer: Option<Protector>,
    /// Grant implicit confirmation when a requester asks for it (RFC 4210 §5.1.1.1).
    pub grant_implicit_confirm: bool,
    /// Rules for a signer's certificate: key usage, RDN order (the client's rules,
    /// applied to requests).
    pub signer_policy: ResponsePolicy,
    /// Who may revoke what (RFC 9483 §4.2 leaves it to the PKI's policy).
    pub revocation: RevocationPolicy,
    /// Bounds.
    pub limits: ResponderLimits,
}

/// Who may revoke a certificate (issue 16, finding 10: any MAC credential could revoke
/// any certificate of the CA).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RevocationPolicy {
    /// The default: a signer revokes its own certificate; a MAC credential the
    /// certificates it enrolled (renewals by kur included), as far as the CA knows
    /// ([`crate::CertificateAuthority::issued_to`]); an RA (a credential that may send
    /// raVerified) any certificate of the CA.
    #[default]
    OwnCertificates,
    /// As EJBCA's RA mode: any MAC credential, as an account of the RA, revokes any
    /// certificate of the CA; signers as above.
    MacAccountsRevokeAny,
}

impl ResponderConfig {
    /// A configuration answering as `name`, with no credentials yet.
    pub fn new(name: GeneralName) -> Self {
        Self {
            name,
            credentials: Credentials::default(),
            signer: None,
            grant_implicit_confirm: false,
            revocation: RevocationPolicy::default(),
            signer_policy: ResponsePolicy::default(),
            limits: ResponderLimits::default(),
        }
    }
}

impl crate::TestCa {
    /// A responder configuration for this CA: answering as its CMP server certificate's
    /// subject, signing with that certificate, and trusting the CA's own root for
    /// signature-protected requests, so that a certificate it issued can sign its own kur
    /// and rr (RFC 9483 §4.1.3, §4.2). Add MAC credentials and further anchors to taste.
    pub fn responder_config(&self) -> ResponderConfig {
        let mut config = ResponderConfig::new(GeneralName::DirectoryName(self.server_name()));
        config.signer = Some(self.server_protector());
        config.credentials = Credentials::default().with_signer_anchor(self.root().clone());
        // Peers such as OpenSSL send the signer certificate alone in extraCerts.
        config.credentials.untrusted.push(self.issuing().clone());
        config
    }
}
