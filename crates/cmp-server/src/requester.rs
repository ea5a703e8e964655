//! Who may talk to the responder: MAC credentials looked up by reference (senderKID),
//! and trusted signer certificates; and who a request came from once authenticated.

use std::collections::HashMap;

use cmp_proto::protection::SharedSecret;
use x509_cert::Certificate;

/// A requester the responder has authenticated.
#[derive(Clone, Debug)]
pub enum Requester {
    /// By MAC with the shared secret registered under `reference`.
    Mac {
        /// The reference (senderKID) that selected the secret.
        reference: Vec<u8>,
        /// Whether this credential may vouch for proof-of-possession (raVerified).
        may_act_as_ra: bool,
    },
    /// By signature with `certificate`, which chains to a trusted anchor.
    Signer {
        /// The signer's certificate (extraCerts\[0\]).
        certificate: Box<Certificate>,
        /// Whether this signer may vouch for proof-of-possession (raVerified).
        may_act_as_ra: bool,
    },
}

impl Requester {
    /// Whether the requester may send raVerified proof-of-possession (RFC 4211 §4, RFC 9483
    /// §4.1.1: only an RA that verified the POP itself may).
    pub fn may_act_as_ra(&self) -> bool {
        match self {
            Self::Mac { may_act_as_ra, .. } | Self::Signer { may_act_as_ra, .. } => *may_act_as_ra,
        }
    }

    /// Who this is, as a key a CA can keep: the MAC reference, or the SHA-256 of the
    /// signer's certificate.
    pub fn account(&self) -> Vec<u8> {
        match self {
            Self::Mac { reference, .. } => [b"mac:".as_slice(), reference].concat(),
            Self::Signer { certificate, .. } => {
                let der = der::Encode::to_der(certificate.as_ref()).unwrap_or_default();
                [
                    b"sig:".as_slice(),
                    &cmp_proto::protection::HashAlg::Sha256.digest(&der),
                ]
                .concat()
            }
        }
    }

    /// A short description for logs: the reference or the signer's subject.
    pub fn describe(&self) -> String {
        match self {
            Self::Mac { reference, .. } => {
                format!("MAC reference {}", String::from_utf8_lossy(reference))
            }
            Self::Signer { certificate, .. } => {
                format!("signer {}", certificate.tbs_certificate().subject())
            }
        }
    }
}

/// One shared secret a MAC-protected request may use.
#[derive(Clone, Debug)]
pub struct MacCredential {
    /// The secret (never shown by `Debug`).
    pub secret: SharedSecret,
    /// Whether requests under it may carry raVerified proof-of-possession.
    pub may_act_as_ra: bool,
}

/// A trust anchor for signature-protected requests.
#[derive(Clone, Debug)]
pub struct SignerAnchor {
    /// A root, an intermediate or a pinned end-entity certificate.
    pub certificate: Certificate,
    /// Whether signers chaining to this anchor may send raVerified proof-of-possession.
    pub may_act_as_ra: bool,
}

/// Everyone the responder will answer.
#[derive(Clone, Debug, Default)]
pub struct Credentials {
    /// Shared secrets by reference (senderKID), for MAC-protected requests.
    pub mac: HashMap<Vec<u8>, MacCredential>,
    /// Anchors for signature-protected requests.
    pub signers: Vec<SignerAnchor>,
    /// Intermediate certificates that may complete a signer's chain.
    pub untrusted: Vec<Certificate>,
}

impl Credentials {
    /// Registers a shared secret under `reference` (not an RA).
    pub fn with_mac(mut self, reference: impl Into<Vec<u8>>, secret: SharedSecret) -> Self {
        self.mac.insert(
            reference.into(),
            MacCredential {
                secret,
                may_act_as_ra: false,
            },
        );
        self
    }

    /// Trusts signers that chain to `anchor` (not as RAs).
    pub fn with_signer_anchor(mut self, anchor: Certificate) -> Self {
        self.signers.push(SignerAnchor {
            certificate: anchor,
            may_act_as_ra: false,
        });
        self
    }
}
