//! Signatures for protection and proof-of-possession: RSA PKCS#1 v1.5 and PSS, ECDSA
//! P-256 and P-384, Ed25519 (RFC 9481 §3).

use core::fmt;

use der::asn1::{BitString, Null};
use der::{Decode, Encode, Sequence};
use getrandom::SysRng;
use getrandom::rand_core::UnwrapErr;
use p256::elliptic_curve::Generate;
use pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use rsa::traits::PublicKeyParts;
use signature::hazmat::PrehashVerifier;
use signature::{RandomizedSigner, SignatureEncoding, Signer, Verifier};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use zeroize::Zeroizing;

use super::hash::HashAlg;
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::oid;

/// The kinds of key we generate and sign with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
    /// ECDSA on P-256 with SHA-256.
    P256,
    /// ECDSA on P-384 with SHA-384.
    P384,
    /// RSA with PKCS#1 v1.5 and SHA-256, of the given modulus size in bits.
    Rsa(usize),
    /// RSA with PSS and SHA-256 (salt length 32), of the given size in bits.
    RsaPss(usize),
    /// Ed25519.
    Ed25519,
}

/// A private key that signs CMP protection and proof-of-possession.
///
/// `Debug` names the key type only.
#[derive(Clone)]
pub enum SigningKey {
    /// ECDSA P-256.
    P256(p256::ecdsa::SigningKey),
    /// ECDSA P-384.
    P384(p384::ecdsa::SigningKey),
    /// RSA; signs with PSS when `pss` is set, else PKCS#1 v1.5.
    Rsa {
        /// The key.
        key: Box<rsa::PrivateKey>,
        /// Sign with RSASSA-PSS instead of PKCS#1 v1.5.
        pss: bool,
    },
    /// Ed25519.
    Ed25519(ed25519_dalek::SigningKey),
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self {
            Self::P256(_) => "P-256",
            Self::P384(_) => "P-384",
            Self::Rsa { pss: false, .. } => "RSA",
            Self::Rsa { pss: true, .. } => "RSA-PSS",
            Self::Ed25519(_) => "Ed25519",
        };
        write!(f, "SigningKey({kind}, <redacted>)")
    }
}

fn key_error(e: impl fmt::Display) -> Error {
    Error::Key {
        reason: e.to_string(),
    }
}

impl SigningKey {
    /// Generates a fresh key from the operating system's random source.
    pub fn generate(kind: KeyType) -> Result<Self> {
        let mut rng = UnwrapErr(SysRng);
        Ok(match kind {
            KeyType::P256 => Self::P256(p256::ecdsa::SigningKey::generate_from_rng(&mut rng)),
            KeyType::P384 => Self::P384(p384::ecdsa::SigningKey::generate_from_rng(&mut rng)),
            KeyType::Rsa(bits) | KeyType::RsaPss(bits) => Self::Rsa {
                key: Box::new(rsa::PrivateKey::new(&mut rng, bits).map_err(key_error)?),
                pss: matches!(kind, KeyType::RsaPss(_)),
            },
            KeyType::Ed25519 => Self::Ed25519(ed25519_dalek::SigningKey::generate(&mut rng)),
        })
    }

    /// Reads a PKCS#8 `PrivateKeyInfo` (DER).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        let info = pkcs8::PrivateKeyInfoRef::try_from(der).map_err(key_error)?;
        let alg = info.algorithm.oid;
        match alg {
            oid::EC_PUBLIC_KEY => {
                let curve = info
                    .algorithm
                    .parameters_oid()
                    .map_err(|_| key_error("EC key without a named curve"))?;
                match curve {
                    oid::SECP256R1 => Ok(Self::P256(
                        p256::ecdsa::SigningKey::from_pkcs8_der(der).map_err(key_error)?,
                    )),
                    oid::SECP384R1 => Ok(Self::P384(
                        p384::ecdsa::SigningKey::from_pkcs8_der(der).map_err(key_error)?,
                    )),
                    other => Err(Error::unsupported("EC curve", &other)),
                }
            }
            oid::RSA_ENCRYPTION => Ok(Self::Rsa {
                key: Box::new(rsa::PrivateKey::from_pkcs8_der(der).map_err(key_error)?),
                pss: false,
            }),
            oid::ED25519 => Ok(Self::Ed25519(
                ed25519_dalek::SigningKey::from_pkcs8_der(der).map_err(key_error)?,
            )),
            other => Err(Error::unsupported("private key", &other)),
        }
    }

    /// Reads a PEM private key: PKCS#8 (`PRIVATE KEY`), SEC1 (`EC PRIVATE KEY`) or
    /// PKCS#1 (`RSA PRIVATE KEY`), as OpenSSL writes them.
    pub fn from_pem(pem: &str) -> Result<Self> {
        let (label, der) = der::pem::decode_vec(pem.as_bytes()).map_err(key_error)?;
        let der = Zeroizing::new(der);
        match label {
            "PRIVATE KEY" => Self::from_pkcs8_der(&der),
            "EC PRIVATE KEY" => {
                let ec = sec1::EcPrivateKey::try_from(der.as_slice()).map_err(key_error)?;
                let curve = ec
                    .parameters
                    .and_then(|p| p.named_curve())
                    .ok_or_else(|| key_error("EC key without a named curve"))?;
                match curve {
                    oid::SECP256R1 => Ok(Self::P256(
                        p256::SecretKey::from_sec1_der(&der)
                            .map_err(key_error)?
                            .into(),
                    )),
                    oid::SECP384R1 => Ok(Self::P384(
                        p384::SecretKey::from_sec1_der(&der)
                            .map_err(key_error)?
                            .into(),
                    )),
                    other => Err(Error::unsupported("EC curve", &other)),
                }
            }
            "RSA PRIVATE KEY" => {
                use rsa::pkcs1::DecodeRsaPrivateKey;
                Ok(Self::Rsa {
                    key: Box::new(rsa::PrivateKey::from_pkcs1_der(&der).map_err(key_error)?),
                    pss: false,
                })
            }
            other => Err(key_error(format!(
                "PEM label {other:?} is not a private key"
            ))),
        }
    }

    /// The key as PKCS#8 DER, wiped on drop.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>> {
        let doc = match self {
            Self::P256(k) => k.to_pkcs8_der(),
            Self::P384(k) => k.to_pkcs8_der(),
            Self::Rsa { key, .. } => key.to_pkcs8_der(),
            Self::Ed25519(k) => k.to_pkcs8_der(),
        }
        .map_err(key_error)?;
        Ok(Zeroizing::new(doc.as_bytes().to_vec()))
    }

    /// The key as PKCS#8 PEM, wiped on drop.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>> {
        let der = self.to_pkcs8_der()?;
        der::pem::encode_string("PRIVATE KEY", der::pem::LineEnding::LF, &der)
            .map(Zeroizing::new)
            .map_err(key_error)
    }

    /// The public key as SubjectPublicKeyInfo.
    pub fn public_key_info(&self) -> Result<SubjectPublicKeyInfoOwned> {
        let doc = match self {
            Self::P256(k) => k.verifying_key().to_public_key_der(),
            Self::P384(k) => k.verifying_key().to_public_key_der(),
            Self::Rsa { key, .. } => key.to_public_key().to_public_key_der(),
            Self::Ed25519(k) => k.verifying_key().to_public_key_der(),
        }
        .map_err(key_error)?;
        SubjectPublicKeyInfoOwned::from_der(doc.as_bytes())
            .map_err(Error::decode("SubjectPublicKeyInfo"))
    }

    /// The signature algorithm this key signs with.
    pub fn algorithm_identifier(&self) -> Result<AlgorithmIdentifierOwned> {
        Ok(match self {
            Self::P256(_) => bare(oid::ECDSA_WITH_SHA256),
            Self::P384(_) => bare(oid::ECDSA_WITH_SHA384),
            Self::Rsa { pss: false, .. } => AlgorithmIdentifierOwned {
                oid: oid::SHA256_WITH_RSA,
                parameters: Some(Null.into()),
            },
            Self::Rsa { pss: true, .. } => PssParams::sha256().to_algorithm()?,
            Self::Ed25519(_) => bare(oid::ED25519),
        })
    }

    /// Signs `data` with [`Self::algorithm_identifier`]'s algorithm.
    pub fn sign(&self, data: &[u8]) -> Result<Vec<u8>> {
        let signing = |e: signature::Error| Error::Signing {
            reason: e.to_string(),
        };
        Ok(match self {
            Self::P256(k) => {
                let scalar = Zeroizing::new(k.to_bytes());
                let point = k.verifying_key().to_sec1_point(false);
                match super::ring_ecdsa::sign(oid::SECP256R1, &scalar, point.as_bytes(), data) {
                    Some(sig) => sig,
                    None => {
                        let sig: p256::ecdsa::Signature = k.try_sign(data).map_err(signing)?;
                        sig.to_der().to_vec()
                    }
                }
            }
            Self::P384(k) => {
                let scalar = Zeroizing::new(k.to_bytes());
                let point = k.verifying_key().to_sec1_point(false);
                match super::ring_ecdsa::sign(oid::SECP384R1, &scalar, point.as_bytes(), data) {
                    Some(sig) => sig,
                    None => {
                        let sig: p384::ecdsa::Signature = k.try_sign(data).map_err(signing)?;
                        sig.to_der().to_vec()
                    }
                }
            }
            Self::Rsa { key, pss: false } => {
                let k = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key.as_ref().clone());
                k.try_sign(data).map_err(signing)?.to_vec()
            }
            Self::Rsa { key, pss: true } => {
                let k = rsa::pss::SigningKey::<sha2::Sha256>::new(key.as_ref().clone());
                k.try_sign_with_rng(&mut UnwrapErr(SysRng), data)
                    .map_err(signing)?
                    .to_vec()
            }
            Self::Ed25519(k) => k.try_sign(data).map_err(signing)?.to_vec(),
        })
    }
}

fn bare(oid: const_oid::ObjectIdentifier) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    }
}

/// RSASSA-PSS parameters (RFC 4055 §3.1) reduced to what we verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PssParams {
    /// The message hash, also the MGF1 hash (RFC 9481 §3.1 requires them equal).
    pub hash: HashAlg,
    /// The salt length in bytes.
    pub salt_len: usize,
}

/// ```text
/// RSASSA-PSS-params ::= SEQUENCE {
///     hashAlgorithm      [0] HashAlgorithm      DEFAULT sha1,
///     maskGenAlgorithm   [1] MaskGenAlgorithm   DEFAULT mgf1SHA1,
///     saltLength         [2] INTEGER            DEFAULT 20,
///     trailerField       [3] TrailerField       DEFAULT trailerFieldBC }
/// ```
#[derive(Clone, Debug, Sequence)]
struct RsassaPssParams {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    hash_algorithm: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    mask_gen_algorithm: Option<AlgorithmIdentifierOwned>,
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    salt_length: Option<u32>,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    trailer_field: Option<u8>,
}

impl PssParams {
    /// SHA-256, MGF1-SHA-256, 32-byte salt.
    pub fn sha256() -> Self {
        Self {
            hash: HashAlg::Sha256,
            salt_len: 32,
        }
    }

    /// Reads the parameters of an `id-RSASSA-PSS` AlgorithmIdentifier.
    pub fn from_algorithm(alg: &AlgorithmIdentifierOwned) -> Result<Self> {
        let bad = |reason| Error::BadAlgorithmParameters {
            algorithm: "RSASSA-PSS",
            reason,
        };
        let p: RsassaPssParams = super::params(alg, "RSASSA-PSS")?;
        let hash = match &p.hash_algorithm {
            None => HashAlg::Sha1,
            Some(h) => HashAlg::from_digest_oid(&h.oid)
                .ok_or_else(|| Error::unsupported("RSASSA-PSS hash", &h.oid))?,
        };
        let mgf_hash = match &p.mask_gen_algorithm {
            None => HashAlg::Sha1,
            Some(mgf) if mgf.oid == oid::MGF1 => {
                let h: AlgorithmIdentifierOwned = super::params(mgf, "MGF1")?;
                HashAlg::from_digest_oid(&h.oid)
                    .ok_or_else(|| Error::unsupported("MGF1 hash", &h.oid))?
            }
            Some(mgf) => return Err(Error::unsupported("RSASSA-PSS mask generation", &mgf.oid)),
        };
        if mgf_hash != hash {
            return Err(bad("MGF1 hash differs from the message hash"));
        }
        if p.trailer_field.unwrap_or(1) != 1 {
            return Err(bad("trailerField is not 1"));
        }
        Ok(Self {
            hash,
            salt_len: p.salt_length.unwrap_or(20) as usize,
        })
    }

    /// The `id-RSASSA-PSS` AlgorithmIdentifier with these parameters.
    pub fn to_algorithm(self) -> Result<AlgorithmIdentifierOwned> {
        let hash = AlgorithmIdentifierOwned {
            oid: self.hash.digest_oid(),
            parameters: Some(Null.into()),
        };
        let params = RsassaPssParams {
            hash_algorithm: Some(hash.clone()),
            mask_gen_algorithm: Some(super::algorithm_with_params(oid::MGF1, &hash)?),
            salt_length: Some(self.salt_len as u32),
            trailer_field: None,
        };
        super::algorithm_with_params(oid::RSASSA_PSS, &params)
    }
}

/// Verifies `signature` over `data` by the key `signer` with algorithm `alg`.
///
/// The algorithm must fit the key: an ECDSA signature under an RSA key, or a P-384
/// algorithm with a P-256 key's signature format, is refused, never tried.
pub fn verify(
    signer: &SubjectPublicKeyInfoOwned,
    alg: &AlgorithmIdentifierOwned,
    data: &[u8],
    signature: &[u8],
    limits: &Limits,
) -> Result<()> {
    let invalid = |_| Error::ProtectionInvalid { kind: "signature" };
    let key_der = signer
        .to_der()
        .map_err(Error::encode("SubjectPublicKeyInfo"))?;
    let key_oid = signer.algorithm.oid;
    match alg.oid {
        oid::ECDSA_WITH_SHA224
        | oid::ECDSA_WITH_SHA256
        | oid::ECDSA_WITH_SHA384
        | oid::ECDSA_WITH_SHA512 => {
            if key_oid != oid::EC_PUBLIC_KEY {
                return Err(key_mismatch(alg, signer));
            }
            let hash = HashAlg::of_signature_algorithm(alg)?
                .ok_or_else(|| Error::unsupported("signature", &alg.oid))?;
            let curve = named_curve(&signer.algorithm)?;
            let point = signer.subject_public_key.raw_bytes();
            if let Some(valid) = super::ring_ecdsa::verify(curve, alg.oid, point, data, signature) {
                return if valid {
                    Ok(())
                } else {
                    Err(Error::ProtectionInvalid { kind: "signature" })
                };
            }
            let digest = hash.digest(data);
            match curve {
                oid::SECP256R1 => {
                    let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(
                        signer.subject_public_key.raw_bytes(),
                    )
                    .map_err(key_error)?;
                    let sig = p256::ecdsa::Signature::from_der(signature).map_err(invalid)?;
                    key.verify_prehash(&digest, &sig).map_err(invalid)
                }
                oid::SECP384R1 => {
                    let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(
                        signer.subject_public_key.raw_bytes(),
                    )
                    .map_err(key_error)?;
                    let sig = p384::ecdsa::Signature::from_der(signature).map_err(invalid)?;
                    key.verify_prehash(&digest, &sig).map_err(invalid)
                }
                other => Err(Error::unsupported("EC curve", &other)),
            }
        }
        oid::SHA1_WITH_RSA
        | oid::SHA224_WITH_RSA
        | oid::SHA256_WITH_RSA
        | oid::SHA384_WITH_RSA
        | oid::SHA512_WITH_RSA => {
            let key = rsa_key(signer, &key_der, alg, limits)?;
            let sig = rsa::pkcs1v15::Signature::try_from(signature).map_err(invalid)?;
            let hash = HashAlg::of_signature_algorithm(alg)?
                .ok_or_else(|| Error::unsupported("signature", &alg.oid))?;
            match hash {
                HashAlg::Sha1 => {
                    rsa::pkcs1v15::VerifyingKey::<sha1::Sha1>::new(key).verify(data, &sig)
                }
                HashAlg::Sha224 => {
                    rsa::pkcs1v15::VerifyingKey::<sha2::Sha224>::new(key).verify(data, &sig)
                }
                HashAlg::Sha256 => {
                    rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(key).verify(data, &sig)
                }
                HashAlg::Sha384 => {
                    rsa::pkcs1v15::VerifyingKey::<sha2::Sha384>::new(key).verify(data, &sig)
                }
                HashAlg::Sha512 => {
                    rsa::pkcs1v15::VerifyingKey::<sha2::Sha512>::new(key).verify(data, &sig)
                }
            }
            .map_err(invalid)
        }
        oid::RSASSA_PSS => {
            let key = rsa_key(signer, &key_der, alg, limits)?;
            let params = PssParams::from_algorithm(alg)?;
            let sig = rsa::pss::Signature::try_from(signature).map_err(invalid)?;
            let salt = params.salt_len;
            match params.hash {
                HashAlg::Sha1 => rsa::pss::VerifyingKey::<sha1::Sha1>::new_with_salt_len(key, salt)
                    .verify(data, &sig),
                HashAlg::Sha224 => {
                    rsa::pss::VerifyingKey::<sha2::Sha224>::new_with_salt_len(key, salt)
                        .verify(data, &sig)
                }
                HashAlg::Sha256 => {
                    rsa::pss::VerifyingKey::<sha2::Sha256>::new_with_salt_len(key, salt)
                        .verify(data, &sig)
                }
                HashAlg::Sha384 => {
                    rsa::pss::VerifyingKey::<sha2::Sha384>::new_with_salt_len(key, salt)
                        .verify(data, &sig)
                }
                HashAlg::Sha512 => {
                    rsa::pss::VerifyingKey::<sha2::Sha512>::new_with_salt_len(key, salt)
                        .verify(data, &sig)
                }
            }
            .map_err(invalid)
        }
        oid::ED25519 => {
            if key_oid != oid::ED25519 {
                return Err(key_mismatch(alg, signer));
            }
            let bytes: [u8; 32] = signer
                .subject_public_key
                .raw_bytes()
                .try_into()
                .map_err(|_| key_error("Ed25519 key is not 32 bytes"))?;
            let key = ed25519_dalek::VerifyingKey::from_bytes(&bytes).map_err(key_error)?;
            let sig = ed25519_dalek::Signature::from_slice(signature).map_err(invalid)?;
            key.verify_strict(data, &sig).map_err(invalid)
        }
        other => Err(Error::unsupported("signature", &other)),
    }
}

fn named_curve(alg: &AlgorithmIdentifierOwned) -> Result<const_oid::ObjectIdentifier> {
    alg.parameters
        .as_ref()
        .and_then(|p| p.decode_as::<const_oid::ObjectIdentifier>().ok())
        .ok_or_else(|| key_error("EC key without a named curve"))
}

fn key_mismatch(alg: &AlgorithmIdentifierOwned, signer: &SubjectPublicKeyInfoOwned) -> Error {
    Error::Key {
        reason: format!(
            "a {} signature cannot come from a {} key",
            oid::name(&alg.oid).unwrap_or("?"),
            oid::name(&signer.algorithm.oid).unwrap_or("?")
        ),
    }
}

fn rsa_key(
    signer: &SubjectPublicKeyInfoOwned,
    key_der: &[u8],
    alg: &AlgorithmIdentifierOwned,
    limits: &Limits,
) -> Result<rsa::PublicKey> {
    use pkcs8::DecodePublicKey;
    if signer.algorithm.oid != oid::RSA_ENCRYPTION && signer.algorithm.oid != oid::RSASSA_PSS {
        return Err(key_mismatch(alg, signer));
    }
    // Bound the modulus before the key is parsed into big integers.
    let approx_bits = signer
        .subject_public_key
        .raw_bytes()
        .len()
        .saturating_sub(16)
        * 8;
    if approx_bits > limits.max_rsa_bits + 64 {
        return Err(Error::LimitExceeded {
            what: "RSA key size in bits",
            value: approx_bits as u64,
            limit: limits.max_rsa_bits as u64,
        });
    }
    let key = rsa::PublicKey::from_public_key_der(key_der).map_err(key_error)?;
    let bits = key.n().bit_width() as usize;
    if bits > limits.max_rsa_bits {
        return Err(Error::LimitExceeded {
            what: "RSA key size in bits",
            value: bits as u64,
            limit: limits.max_rsa_bits as u64,
        });
    }
    if bits < limits.min_rsa_bits {
        return Err(Error::BelowMinimum {
            what: "RSA key size in bits",
            value: bits as u64,
            minimum: limits.min_rsa_bits as u64,
        });
    }
    Ok(key)
}

/// Signs and wraps as the BIT STRING that PKIProtection and POPOSigningKey carry.
pub(crate) fn sign_to_bit_string(key: &SigningKey, data: &[u8]) -> Result<BitString> {
    BitString::from_bytes(&key.sign(data)?).map_err(Error::encode("signature"))
}
