//! PBMAC1: PBKDF2 with an HMAC (RFC 8018 §7.1, RFC 9481 §6.1.2).

use der::Sequence;
use der::asn1::OctetString;
use spki::AlgorithmIdentifierOwned;
use zeroize::Zeroizing;

use super::hash::HashAlg;
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::oid;

/// Parameters of PBMAC1.
///
/// [RFC 8018 §A.5](https://www.rfc-editor.org/rfc/rfc8018#appendix-A.5):
/// ```text
/// PBMAC1-params ::= SEQUENCE {
///     keyDerivationFunc AlgorithmIdentifier {{PBMAC1-KDFs}},
///     messageAuthScheme AlgorithmIdentifier {{PBMAC1-MACs}} }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct Pbmac1Params {
    /// PBKDF2 with its parameters.
    pub key_derivation_func: AlgorithmIdentifierOwned,
    /// The HMAC keyed with the derived key.
    pub message_auth_scheme: AlgorithmIdentifierOwned,
}

/// Parameters of PBKDF2 with a specified salt.
///
/// [RFC 8018 §A.2](https://www.rfc-editor.org/rfc/rfc8018#appendix-A.2):
/// ```text
/// PBKDF2-params ::= SEQUENCE {
///     salt CHOICE { specified OCTET STRING, otherSource AlgorithmIdentifier },
///     iterationCount INTEGER (1..MAX),
///     keyLength INTEGER (1..MAX) OPTIONAL,
///     prf AlgorithmIdentifier {{PBKDF2-PRFs}} DEFAULT algid-hmacWithSHA1 }
/// ```
/// RFC 9481 §6.1.2 requires the `specified` salt and a present `keyLength`; a salt from
/// `otherSource` fails to decode.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct Pbkdf2Params {
    /// The salt.
    pub salt: OctetString,
    /// PBKDF2 iterations.
    pub iteration_count: u64,
    /// Derived key length in bytes.
    #[asn1(optional = "true")]
    pub key_length: Option<u64>,
    /// The PRF; absent means hmacWithSHA1.
    #[asn1(optional = "true")]
    pub prf: Option<AlgorithmIdentifierOwned>,
}

/// The PBMAC1 settings we send with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pbmac1Settings {
    /// The PBKDF2 PRF hash. Default SHA-256.
    pub prf: HashAlg,
    /// PBKDF2 iterations. Default 10,000 (RFC 9481 §6.1.2 leaves it to policy).
    pub iterations: u32,
    /// The HMAC hash. Default SHA-256.
    pub mac: HashAlg,
    /// Salt length in bytes. Default 16.
    pub salt_len: usize,
}

impl Default for Pbmac1Settings {
    fn default() -> Self {
        Self {
            prf: HashAlg::Sha256,
            iterations: 10_000,
            mac: HashAlg::Sha256,
            salt_len: 16,
        }
    }
}

impl Pbmac1Settings {
    /// The AlgorithmIdentifier with a fresh random salt.
    pub fn algorithm_identifier(&self) -> Result<AlgorithmIdentifierOwned> {
        let mut salt = vec![0u8; self.salt_len];
        getrandom::fill(&mut salt).map_err(|_| Error::Random)?;
        let kdf = Pbkdf2Params {
            salt: OctetString::new(salt).map_err(Error::encode("PBKDF2-params"))?,
            iteration_count: u64::from(self.iterations),
            key_length: Some(self.mac.output_len() as u64),
            prf: Some(AlgorithmIdentifierOwned {
                oid: self.prf.hmac_oid(),
                parameters: Some(der::asn1::Null.into()),
            }),
        };
        let params = Pbmac1Params {
            key_derivation_func: super::algorithm_with_params(oid::PBKDF2, &kdf)?,
            message_auth_scheme: AlgorithmIdentifierOwned {
                oid: self.mac.hmac_oid(),
                parameters: Some(der::asn1::Null.into()),
            },
        };
        super::algorithm_with_params(oid::PBMAC1, &params)
    }
}

/// What a PBKDF2 derivation costs, in PRF chains of `iterations` each: one per output
/// block of the PRF (RFC 8018 §5.2). This is the quantity [`Limits::max_pbkdf2_work`]
/// bounds, counted before anything is computed.
pub(crate) fn pbkdf2_work(iterations: u64, key_len: u64, prf: HashAlg) -> u64 {
    let block = prf.output_len() as u64;
    iterations.saturating_mul(key_len.div_ceil(block))
}

/// Computes the PBMAC1 of `data` with the parameters of `alg` (RFC 8018 §7.1.1).
pub fn compute(
    alg: &AlgorithmIdentifierOwned,
    secret: &[u8],
    data: &[u8],
    limits: &Limits,
) -> Result<Vec<u8>> {
    let params: Pbmac1Params = super::params(alg, "PBMAC1")?;
    if params.key_derivation_func.oid != oid::PBKDF2 {
        return Err(Error::unsupported(
            "PBMAC1 key derivation",
            &params.key_derivation_func.oid,
        ));
    }
    let kdf: Pbkdf2Params = super::params(&params.key_derivation_func, "PBKDF2")?;
    let prf = match &kdf.prf {
        None => HashAlg::Sha1,
        Some(prf) => HashAlg::from_hmac_oid(&prf.oid)
            .ok_or_else(|| Error::unsupported("PBKDF2 PRF", &prf.oid))?,
    };
    let mac = HashAlg::from_hmac_oid(&params.message_auth_scheme.oid)
        .ok_or_else(|| Error::unsupported("PBMAC1 MAC", &params.message_auth_scheme.oid))?;
    super::check_salt(kdf.salt.as_bytes(), limits)?;
    let iterations = kdf.iteration_count;
    super::check_iterations(
        "PBKDF2 iteration count",
        iterations,
        limits.min_pbkdf2_iterations,
        limits.max_pbkdf2_iterations,
    )?;
    let key_len = kdf.key_length.unwrap_or(mac.output_len() as u64);
    if key_len > limits.max_derived_key_len as u64 {
        return Err(Error::LimitExceeded {
            what: "PBKDF2 key length",
            value: key_len,
            limit: limits.max_derived_key_len as u64,
        });
    }
    if key_len == 0 {
        return Err(Error::BadAlgorithmParameters {
            algorithm: "PBKDF2",
            reason: "keyLength is zero",
        });
    }
    let work = pbkdf2_work(iterations, key_len, prf);
    if work > limits.max_pbkdf2_work {
        return Err(Error::LimitExceeded {
            what: "PBKDF2 work (iterations x output blocks)",
            value: work,
            limit: limits.max_pbkdf2_work,
        });
    }
    let mut key = Zeroizing::new(vec![0u8; key_len as usize]);
    // The iteration count was bounded above by a u32 limit.
    prf.pbkdf2(secret, kdf.salt.as_bytes(), iterations as u32, &mut key);
    Ok(mac.hmac(&key, data))
}
