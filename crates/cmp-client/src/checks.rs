//! Every check a response must pass before anything in it is believed.
//!
//! One small function per check, each citing the rule it enforces; the transaction
//! core runs them in order on every response. A CMP client that accepts a forged
//! response is worse than none, so each check has a negative test that proves it fires
//! with its own [`Error`](crate::Error) variant.
//!
//! The transactions run them for you; they are public so that a server, a proxy or a
//! test can apply the same rules:
//!
//! ```
//! use cmp_client::{Error, checks};
//! use cmp_proto::der::asn1::OctetString;
//! use cmp_proto::x509_cert::ext::pkix::name::GeneralName;
//! use cmp_proto::builder::HeaderBuilder;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let name = GeneralName::DirectoryName("CN=CA".parse()?);
//! let header = HeaderBuilder::new(name.clone(), name)?.header().clone();
//! let not_ours = OctetString::new(vec![0; 16])?;
//! assert!(matches!(
//!     checks::check_transaction_id(&header, &not_ours),
//!     Err(Error::TransactionIdMismatch)
//! ));
//! # Ok(()) }
//! ```

mod body;
mod chain;
mod header;
mod protection;
mod root_update;

pub use body::{
    CertOutcome, check_body_type, check_cert_response, check_issued_key, check_poll_rep,
    check_rev_rep, refusal,
};
pub use chain::validate_chain;
pub use header::{
    check_fresh_sender_nonce, check_pvno, check_recip_nonce, check_sender, check_sender_nonce,
    check_transaction_id,
};
pub use protection::{check_protection, check_protection_in_transaction, check_signer};
pub use root_update::validate_root_ca_update;

use cmp_proto::Limits;
use cmp_proto::protection::SharedSecret;
use cmp_proto::x509_cert::Certificate;
use cmp_proto::x509_cert::name::Name;

/// What we trust a response's protection to: a shared secret, CMP trust anchors, or
/// both. CMP trust is kept apart from TLS trust (cmp-notes, "Protection").
///
/// ```
/// use cmp_client::checks::Trust;
/// use cmp_proto::protection::SharedSecret;
/// use cmp_proto::x509_cert::Certificate;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // A CA that answers MAC-protected requests with a MAC under the same secret:
/// let mac = Trust { secret: Some(SharedSecret::from("insta")), ..Trust::default() };
///
/// // A CA that signs its answers: anchor on its root (or pin its CMP certificate).
/// # let root_pem = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"),
/// #     "/../cmp-proto/tests/fixtures/keys/root.pem"))?;
/// let root = Certificate::load_pem_chain(&root_pem)?.remove(0);
/// let signed = Trust { anchors: vec![root], ..Trust::default() };
/// # assert!(mac.anchors.is_empty() && signed.secret.is_none());
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default)]
pub struct Trust {
    /// Verifies MAC-protected responses.
    pub secret: Option<SharedSecret>,
    /// Trust anchors for signature-protected responses (a pinned server certificate is
    /// an anchor too).
    pub anchors: Vec<Certificate>,
    /// Intermediate certificates that may complete a chain (besides extraCerts).
    pub untrusted: Vec<Certificate>,
}

/// How strictly responses are checked. The defaults are strict; each switch exists
/// because a real CA needs it and is off unless set.
///
/// ```
/// use cmp_client::checks::ResponsePolicy;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // EJBCA: errors may come back unprotected, and its rp sender has reversed RDNs.
/// let ejbca = ResponsePolicy {
///     allow_unprotected_errors: true,
///     tolerate_reversed_rdns: true,
///     // Only this CA may answer, whatever else its root has certified.
///     expected_sender: Some("CN=ManagementCA,O=EJBCA Sample,C=SE".parse()?),
///     ..ResponsePolicy::default()
/// };
/// # assert!(!ejbca.ignore_key_usage);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, Default)]
pub struct ResponsePolicy {
    /// Bounds on what the peer can make us decode or compute.
    pub limits: Limits,
    /// Accept unprotected negative answers: error, rejected ip/cp/kup/rp, pkiConf
    /// (EJBCA sends many errors unprotected).
    pub allow_unprotected_errors: bool,
    /// Do not require digitalSignature in the signer certificate's keyUsage.
    pub ignore_key_usage: bool,
    /// Accept a sender whose RDNs are in the reverse order of the signer's subject
    /// (EJBCA bug ejbca-ce #445).
    pub tolerate_reversed_rdns: bool,
    /// The sender every response must name, when known.
    pub expected_sender: Option<Name>,
    /// Answer a p10cr only with certReqId -1, as RFC 9483 §4.1.4 says. Off by default:
    /// EJBCA and Nokia NCM answer with 0, which is then accepted too.
    pub strict_p10cr_cert_req_id: bool,
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Fixtures from cmp-proto's OpenSSL capture.
    use std::path::PathBuf;
    use std::str::FromStr;

    use cmp_proto::der::DecodePem;
    use cmp_proto::x509_cert::Certificate;
    use cmp_proto::x509_cert::ext::pkix::name::GeneralName;
    use cmp_proto::x509_cert::name::Name;
    use cmp_proto::{Limits, PkiHeader, ReceivedMessage};

    pub fn fixture(path: &str) -> Vec<u8> {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../cmp-proto/tests/fixtures");
        std::fs::read(dir.join(path)).expect("fixture")
    }

    pub fn cert(file: &str) -> Certificate {
        Certificate::from_pem(fixture(&format!("keys/{file}"))).expect("certificate")
    }

    pub fn received(path: &str) -> ReceivedMessage {
        ReceivedMessage::decode(&fixture(path), &Limits::default()).expect("fixture decodes")
    }

    pub fn dn(s: &str) -> GeneralName {
        GeneralName::DirectoryName(Name::from_str(s).expect("DN"))
    }

    /// A response header with every field a check looks at, sender CN=CA.
    pub fn header() -> PkiHeader {
        let mut h = received("mac/ir/ip.der").message.header;
        h.sender = dn("CN=CA");
        h
    }
}
