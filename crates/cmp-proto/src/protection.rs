//! Message protection (RFC 4210 §5.1.3): MAC with a shared secret or a signature.
//!
//! Protection always covers `ProtectedPart ::= SEQUENCE { header, body }`. On receipt it
//! is computed over the bytes as received ([`ReceivedMessage::protected_part`]); MACs are
//! compared in constant time; every cost a peer's parameters can impose (iterations,
//! salt, key sizes) is bounded by [`Limits`].

mod hash;
mod pbm;
mod pbmac1;
mod pop;
mod ring_ecdsa;
mod secret;
mod signature;

use der::asn1::{Any, BitString, OctetString};
use der::{Decode, Encode};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use subtle::ConstantTimeEq;
use x509_cert::Certificate;

pub use hash::HashAlg;
pub use pbm::{PbmParameter, PbmSettings};
pub use pbmac1::{Pbkdf2Params, Pbmac1Params, Pbmac1Settings};
pub use pop::{verify_csr, verify_signature_pop};
pub use secret::SharedSecret;
pub(crate) use signature::sign_to_bit_string;
pub use signature::{KeyType, PssParams, SigningKey, verify as verify_signature_bytes};

use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::message::ReceivedMessage;
use crate::oid;

/// The two kinds of protection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtectionKind {
    /// A MAC with a shared secret (PasswordBasedMac or PBMAC1).
    Mac,
    /// A signature with a private key whose certificate is in extraCerts.
    Signature,
}

impl ProtectionKind {
    /// The kind of a protectionAlg, or an error for an algorithm we do not know.
    pub fn of(alg: &AlgorithmIdentifierOwned) -> Result<Self> {
        match alg.oid {
            oid::PASSWORD_BASED_MAC | oid::PBMAC1 => Ok(Self::Mac),
            oid::ECDSA_WITH_SHA224
            | oid::ECDSA_WITH_SHA256
            | oid::ECDSA_WITH_SHA384
            | oid::ECDSA_WITH_SHA512
            | oid::SHA1_WITH_RSA
            | oid::SHA224_WITH_RSA
            | oid::SHA256_WITH_RSA
            | oid::SHA384_WITH_RSA
            | oid::SHA512_WITH_RSA
            | oid::RSASSA_PSS
            | oid::ED25519 => Ok(Self::Signature),
            other => Err(Error::unsupported("protectionAlg", &other)),
        }
    }
}

/// Which MAC algorithm to send with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MacAlgorithm {
    /// PasswordBasedMac (RFC 4211 §4.4): what OpenSSL and most CAs speak.
    PasswordBasedMac(PbmSettings),
    /// PBMAC1 (RFC 9481 §6.1.2).
    Pbmac1(Pbmac1Settings),
}

impl Default for MacAlgorithm {
    fn default() -> Self {
        Self::PasswordBasedMac(PbmSettings::default())
    }
}

impl MacAlgorithm {
    /// The algorithm and parameters of a received MAC protectionAlg, so that an answer
    /// is protected the same way (RFC 4210 §5.1.3.1); the salt is fresh per message.
    ///
    /// Iteration counts are bounded by `limits` as on receipt: a peer cannot make us
    /// compute more for our answer than we agreed to compute for its request.
    pub fn like(alg: &AlgorithmIdentifierOwned, limits: &Limits) -> Result<Self> {
        let unsupported_hash =
            |what: &'static str, oid: &const_oid::ObjectIdentifier| Error::unsupported(what, oid);
        match alg.oid {
            oid::PASSWORD_BASED_MAC => {
                let p = PbmParameter::from_algorithm(alg)?;
                check_iterations(
                    "PBM iteration count",
                    p.iteration_count,
                    limits.min_pbm_iterations,
                    limits.max_pbm_iterations,
                )?;
                Ok(Self::PasswordBasedMac(PbmSettings {
                    owf: HashAlg::from_digest_oid(&p.owf.oid)
                        .ok_or_else(|| unsupported_hash("PBM OWF", &p.owf.oid))?,
                    iterations: u32::try_from(p.iteration_count).unwrap_or(u32::MAX),
                    mac: HashAlg::from_hmac_oid(&p.mac.oid)
                        .ok_or_else(|| unsupported_hash("PBM MAC", &p.mac.oid))?,
                    salt_len: 16,
                }))
            }
            oid::PBMAC1 => {
                let p: Pbmac1Params = params(alg, "PBMAC1")?;
                let kdf: Pbkdf2Params = params(&p.key_derivation_func, "PBKDF2")?;
                check_iterations(
                    "PBKDF2 iteration count",
                    kdf.iteration_count,
                    limits.min_pbkdf2_iterations,
                    limits.max_pbkdf2_iterations,
                )?;
                let prf = match &kdf.prf {
                    None => HashAlg::Sha1,
                    Some(prf) => HashAlg::from_hmac_oid(&prf.oid)
                        .ok_or_else(|| unsupported_hash("PBKDF2 PRF", &prf.oid))?,
                };
                Ok(Self::Pbmac1(Pbmac1Settings {
                    prf,
                    iterations: u32::try_from(kdf.iteration_count).unwrap_or(u32::MAX),
                    mac: HashAlg::from_hmac_oid(&p.message_auth_scheme.oid).ok_or_else(|| {
                        unsupported_hash("PBMAC1 MAC", &p.message_auth_scheme.oid)
                    })?,
                    salt_len: 16,
                }))
            }
            other => Err(Error::unsupported("MAC protection", &other)),
        }
    }
}

/// How we protect the messages we send.
#[derive(Clone, Debug)]
pub enum Protector {
    /// MAC with a shared secret; `reference` goes in senderKID (RFC 4210 §5.1.1).
    Mac {
        /// The shared secret.
        secret: SharedSecret,
        /// The reference value identifying the secret to the peer.
        reference: Option<Vec<u8>>,
        /// The algorithm and its settings.
        algorithm: MacAlgorithm,
    },
    /// Signature with `key`; `certificate` and `chain` go in extraCerts (RFC 9483 §3.3).
    Signature {
        /// The private key.
        key: SigningKey,
        /// Its certificate: the sender name and senderKID come from it.
        certificate: Box<Certificate>,
        /// The rest of its chain, without the root.
        chain: Vec<Certificate>,
    },
}

impl Protector {
    /// The protectionAlg for one message, with fresh random salt for a MAC.
    pub fn algorithm_identifier(&self) -> Result<AlgorithmIdentifierOwned> {
        match self {
            Self::Mac { algorithm, .. } => match algorithm {
                MacAlgorithm::PasswordBasedMac(s) => s.algorithm_identifier(),
                MacAlgorithm::Pbmac1(s) => s.algorithm_identifier(),
            },
            Self::Signature { key, .. } => key.algorithm_identifier(),
        }
    }

    /// Computes the protection of `protected_part` under `alg`
    /// (from [`Self::algorithm_identifier`]).
    pub fn protect(
        &self,
        alg: &AlgorithmIdentifierOwned,
        protected_part: &[u8],
    ) -> Result<BitString> {
        match self {
            Self::Mac { secret, .. } => {
                // Our own parameters: no peer bound applies, but use the same code path.
                let limits = Limits {
                    max_pbm_iterations: u32::MAX,
                    min_pbm_iterations: 1,
                    max_pbkdf2_iterations: u32::MAX,
                    min_pbkdf2_iterations: 1,
                    min_salt_len: 0,
                    max_salt_len: usize::MAX,
                    max_derived_key_len: usize::MAX,
                    max_pbkdf2_work: u64::MAX,
                    ..Limits::default()
                };
                let mac = compute_mac(alg, secret.expose(), protected_part, &limits)?;
                BitString::from_bytes(&mac).map_err(Error::encode("PKIProtection"))
            }
            Self::Signature { key, .. } => sign_to_bit_string(key, protected_part),
        }
    }

    /// The senderKID to put in the header: the reference for a MAC, the certificate's
    /// subjectKeyIdentifier for a signature (RFC 9483 §3.1).
    pub fn sender_kid(&self) -> Result<Option<OctetString>> {
        match self {
            Self::Mac { reference, .. } => reference
                .as_ref()
                .map(|r| OctetString::new(r.clone()).map_err(Error::encode("senderKID")))
                .transpose(),
            Self::Signature { certificate, .. } => subject_key_identifier(certificate),
        }
    }

    /// extraCerts to send: the signer's certificate first, then its chain.
    pub fn extra_certs(&self) -> Vec<Certificate> {
        match self {
            Self::Mac { .. } => Vec::new(),
            Self::Signature {
                certificate, chain, ..
            } => core::iter::once(certificate.as_ref().clone())
                .chain(chain.iter().cloned())
                .collect(),
        }
    }

    /// The kind of protection.
    pub fn kind(&self) -> ProtectionKind {
        match self {
            Self::Mac { .. } => ProtectionKind::Mac,
            Self::Signature { .. } => ProtectionKind::Signature,
        }
    }
}

/// The subjectKeyIdentifier extension of a certificate, if it has one.
pub fn subject_key_identifier(cert: &Certificate) -> Result<Option<OctetString>> {
    use x509_cert::ext::pkix::SubjectKeyIdentifier;
    match cert
        .tbs_certificate()
        .get_extension::<SubjectKeyIdentifier>()
        .map_err(Error::decode("subjectKeyIdentifier"))?
    {
        Some((_, ski)) => Ok(Some(ski.0)),
        None => Ok(None),
    }
}

/// Computes a MAC (PasswordBasedMac or PBMAC1) of `data` under `alg`'s parameters.
pub fn compute_mac(
    alg: &AlgorithmIdentifierOwned,
    secret: &[u8],
    data: &[u8],
    limits: &Limits,
) -> Result<Vec<u8>> {
    match alg.oid {
        oid::PASSWORD_BASED_MAC => pbm::compute(alg, secret, data, limits),
        oid::PBMAC1 => pbmac1::compute(alg, secret, data, limits),
        other => Err(Error::unsupported("MAC protection", &other)),
    }
}

fn protection_of(received: &ReceivedMessage) -> Result<(&AlgorithmIdentifierOwned, &BitString)> {
    let msg = &received.message;
    match (&msg.header.protection_alg, &msg.protection) {
        (Some(alg), Some(value)) => Ok((alg, value)),
        _ => Err(Error::Unprotected),
    }
}

/// Verifies the MAC of a received message with `secret` (RFC 4210 §5.1.3.1).
///
/// The MAC is recomputed over the protected part as received and compared in constant
/// time. Fails with [`Error::Unprotected`] when there is no protection, and with
/// [`Error::UnsupportedAlgorithm`] when the protection is a signature.
pub fn verify_mac(
    received: &ReceivedMessage,
    secret: &SharedSecret,
    limits: &Limits,
) -> Result<()> {
    let (alg, value) = protection_of(received)?;
    if ProtectionKind::of(alg)? != ProtectionKind::Mac {
        return Err(Error::unsupported("MAC protection", &alg.oid));
    }
    let expected = compute_mac(alg, secret.expose(), received.protected_part(), limits)?;
    let got = value
        .as_bytes()
        .ok_or(Error::ProtectionInvalid { kind: "MAC" })?;
    if bool::from(expected.ct_eq(got)) {
        Ok(())
    } else {
        Err(Error::ProtectionInvalid { kind: "MAC" })
    }
}

/// Verifies the signature of a received message with the signer's public key
/// (RFC 4210 §5.1.3.3).
///
/// Who the signer is, and whether to trust it, is the caller's decision: this checks
/// the mathematics only.
pub fn verify_signature(
    received: &ReceivedMessage,
    signer: &SubjectPublicKeyInfoOwned,
    limits: &Limits,
) -> Result<()> {
    let (alg, value) = protection_of(received)?;
    if ProtectionKind::of(alg)? != ProtectionKind::Signature {
        return Err(Error::unsupported("signature protection", &alg.oid));
    }
    let sig = value
        .as_bytes()
        .ok_or(Error::ProtectionInvalid { kind: "signature" })?;
    verify_signature_bytes(signer, alg, received.protected_part(), sig, limits)
}

/// Decodes the parameters of `alg` as `T`.
pub(crate) fn params<T>(alg: &AlgorithmIdentifierOwned, algorithm: &'static str) -> Result<T>
where
    T: for<'a> Decode<'a, Error = der::Error>,
{
    let any = alg
        .parameters
        .as_ref()
        .ok_or(Error::BadAlgorithmParameters {
            algorithm,
            reason: "parameters are missing",
        })?;
    crate::general::decode_any(any, algorithm)
}

/// An AlgorithmIdentifier with `params` encoded as its parameters.
pub(crate) fn algorithm_with_params(
    oid: const_oid::ObjectIdentifier,
    params: &impl Encode,
) -> Result<AlgorithmIdentifierOwned> {
    let der = params
        .to_der()
        .map_err(Error::encode("algorithm parameters"))?;
    Ok(AlgorithmIdentifierOwned {
        oid,
        parameters: Some(Any::from_der(&der).map_err(Error::encode("algorithm parameters"))?),
    })
}

/// `value` is within `min..=max`, reported as `what` otherwise.
fn check_iterations(what: &'static str, value: u64, min: u32, max: u32) -> Result<()> {
    if value > u64::from(max) {
        return Err(Error::LimitExceeded {
            what,
            value,
            limit: u64::from(max),
        });
    }
    if value < u64::from(min) {
        return Err(Error::BelowMinimum {
            what,
            value,
            minimum: u64::from(min),
        });
    }
    Ok(())
}

fn check_salt(salt: &[u8], limits: &Limits) -> Result<()> {
    if salt.len() > limits.max_salt_len {
        return Err(Error::LimitExceeded {
            what: "salt length",
            value: salt.len() as u64,
            limit: limits.max_salt_len as u64,
        });
    }
    if salt.len() < limits.min_salt_len {
        return Err(Error::BelowMinimum {
            what: "salt length",
            value: salt.len() as u64,
            minimum: limits.min_salt_len as u64,
        });
    }
    Ok(())
}
