//! PasswordBasedMac (RFC 4211 §4.4, RFC 9481 §6.1.1).

use der::Sequence;
use der::asn1::OctetString;
use spki::AlgorithmIdentifierOwned;
use zeroize::Zeroizing;

use super::hash::HashAlg;
use crate::error::{Error, Result};
use crate::limits::Limits;
use crate::oid;

/// Parameters of PasswordBasedMac.
///
/// [RFC 4211 §4.4](https://www.rfc-editor.org/rfc/rfc4211#section-4.4):
/// ```text
/// PBMParameter ::= SEQUENCE {
///     salt                OCTET STRING,
///     owf                 AlgorithmIdentifier,
///     iterationCount      INTEGER,
///     mac                 AlgorithmIdentifier }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct PbmParameter {
    /// Random salt appended to the secret.
    pub salt: OctetString,
    /// The one-way function iterated over secret and salt.
    pub owf: AlgorithmIdentifierOwned,
    /// How many times the OWF is applied.
    pub iteration_count: u64,
    /// The MAC computed with the derived key.
    pub mac: AlgorithmIdentifierOwned,
}

/// The PasswordBasedMac settings we send with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PbmSettings {
    /// The OWF. Default SHA-256.
    pub owf: HashAlg,
    /// OWF iterations. Default 500, as OpenSSL sends; some CAs refuse more than 2,047.
    pub iterations: u32,
    /// The HMAC hash. Default SHA-256 (OpenSSL sends HMAC-SHA1).
    pub mac: HashAlg,
    /// Salt length in bytes. Default 16.
    pub salt_len: usize,
}

impl Default for PbmSettings {
    fn default() -> Self {
        Self {
            owf: HashAlg::Sha256,
            iterations: 500,
            mac: HashAlg::Sha256,
            salt_len: 16,
        }
    }
}

impl PbmSettings {
    /// OWF SHA-256 with HMAC-SHA1: what `openssl cmp` sends, for CAs that refuse
    /// HMAC-SHA256 in PasswordBasedMac (the Insta demo CA; cmp-notes).
    pub fn hmac_sha1() -> Self {
        Self {
            mac: HashAlg::Sha1,
            ..Self::default()
        }
    }

    /// OWF SHA-1 with HMAC-SHA1: the oldest peers' PasswordBasedMac (ONAP CertService
    /// sent it). RFC 9481 §6.1.1 lists SHA-1 for it; use only where a CA needs it.
    pub fn sha1() -> Self {
        Self {
            owf: HashAlg::Sha1,
            mac: HashAlg::Sha1,
            ..Self::default()
        }
    }

    /// The AlgorithmIdentifier with a fresh random salt.
    pub fn algorithm_identifier(&self) -> Result<AlgorithmIdentifierOwned> {
        let mut salt = vec![0u8; self.salt_len];
        getrandom::fill(&mut salt).map_err(|_| Error::Random)?;
        let mac_oid = match self.mac {
            // The RFC 9481 §6.2.1 OID for HMAC-SHA1 is the one PBM peers expect.
            HashAlg::Sha1 => oid::HMAC_SHA1,
            other => other.hmac_oid(),
        };
        let params = PbmParameter {
            salt: OctetString::new(salt).map_err(Error::encode("PBMParameter"))?,
            owf: self.owf.digest_algorithm(),
            iteration_count: u64::from(self.iterations),
            mac: AlgorithmIdentifierOwned {
                oid: mac_oid,
                parameters: None,
            },
        };
        super::algorithm_with_params(oid::PASSWORD_BASED_MAC, &params)
    }
}

/// Computes the PasswordBasedMac of `data` with the parameters of `alg`.
///
/// RFC 4211 §4.4: the OWF is applied `iterationCount` times to `secret || salt`,
/// and the result keys the MAC.
pub fn compute(
    alg: &AlgorithmIdentifierOwned,
    secret: &[u8],
    data: &[u8],
    limits: &Limits,
) -> Result<Vec<u8>> {
    let params: PbmParameter = super::params(alg, "PasswordBasedMac")?;
    let owf = HashAlg::from_digest_oid(&params.owf.oid)
        .ok_or_else(|| Error::unsupported("PBM one-way function", &params.owf.oid))?;
    let mac = HashAlg::from_hmac_oid(&params.mac.oid)
        .ok_or_else(|| Error::unsupported("PBM MAC", &params.mac.oid))?;
    super::check_salt(params.salt.as_bytes(), limits)?;
    let iterations = params.iteration_count;
    super::check_iterations(
        "PBM iteration count",
        iterations,
        limits.min_pbm_iterations,
        limits.max_pbm_iterations,
    )?;
    let mut input = Zeroizing::new(Vec::with_capacity(
        secret.len() + params.salt.len().try_into().unwrap_or(0),
    ));
    input.extend_from_slice(secret);
    input.extend_from_slice(params.salt.as_bytes());
    let key = owf.iterate(&input, iterations);
    Ok(mac.hmac(&key, data))
}

impl PbmParameter {
    /// Reads the parameters of a PasswordBasedMac AlgorithmIdentifier.
    pub fn from_algorithm(alg: &AlgorithmIdentifierOwned) -> Result<Self> {
        super::params(alg, "PasswordBasedMac")
    }
}
