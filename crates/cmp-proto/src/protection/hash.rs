//! The hash functions of RFC 9481 §2, with HMAC over each.

use hmac::{KeyInit, Mac};
use sha2::Digest;
use spki::AlgorithmIdentifierOwned;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, Result};
use crate::oid;

/// A hash function usable as OWF, PRF basis, certHash or signature digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashAlg {
    /// SHA-1: accepted from legacy peers for PBM, never chosen by us.
    Sha1,
    /// SHA-224.
    Sha224,
    /// SHA-256 (our default).
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlg {
    /// The hash named by a digest OID (`id-sha256`, ...).
    pub fn from_digest_oid(oid: &const_oid::ObjectIdentifier) -> Option<Self> {
        Some(match *oid {
            oid::SHA1 => Self::Sha1,
            oid::SHA224 => Self::Sha224,
            oid::SHA256 => Self::Sha256,
            oid::SHA384 => Self::Sha384,
            oid::SHA512 => Self::Sha512,
            _ => return None,
        })
    }

    /// The hash of an HMAC OID, from either family: `hmac-sha1` (RFC 9481 §6.2.1) or
    /// `id-hmacWithSHA*` (RFC 4231, RFC 8018).
    pub fn from_hmac_oid(oid: &const_oid::ObjectIdentifier) -> Option<Self> {
        Some(match *oid {
            oid::HMAC_SHA1 | oid::HMAC_WITH_SHA1 => Self::Sha1,
            oid::HMAC_WITH_SHA224 => Self::Sha224,
            oid::HMAC_WITH_SHA256 => Self::Sha256,
            oid::HMAC_WITH_SHA384 => Self::Sha384,
            oid::HMAC_WITH_SHA512 => Self::Sha512,
            _ => return None,
        })
    }

    /// The digest OID.
    pub fn digest_oid(self) -> const_oid::ObjectIdentifier {
        match self {
            Self::Sha1 => oid::SHA1,
            Self::Sha224 => oid::SHA224,
            Self::Sha256 => oid::SHA256,
            Self::Sha384 => oid::SHA384,
            Self::Sha512 => oid::SHA512,
        }
    }

    /// The `id-hmacWithSHA*` OID of HMAC with this hash.
    pub fn hmac_oid(self) -> const_oid::ObjectIdentifier {
        match self {
            Self::Sha1 => oid::HMAC_WITH_SHA1,
            Self::Sha224 => oid::HMAC_WITH_SHA224,
            Self::Sha256 => oid::HMAC_WITH_SHA256,
            Self::Sha384 => oid::HMAC_WITH_SHA384,
            Self::Sha512 => oid::HMAC_WITH_SHA512,
        }
    }

    /// The digest AlgorithmIdentifier, parameters absent (RFC 5754 §2).
    pub fn digest_algorithm(self) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: self.digest_oid(),
            parameters: None,
        }
    }

    /// Output length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha224 => 28,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    /// The hash of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Self::Sha224 => sha2::Sha224::digest(data).to_vec(),
            Self::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Self::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Self::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }

    /// The hash of `input`, hashed again until `iterations` rounds in all: the OWF chain
    /// of PasswordBasedMac (RFC 4211 §4.4). Rounds work in place, with no allocation
    /// each; the intermediate values are wiped.
    pub fn iterate(self, input: &[u8], iterations: u64) -> Zeroizing<Vec<u8>> {
        fn run<D: Digest>(input: &[u8], iterations: u64) -> Zeroizing<Vec<u8>> {
            let mut value = D::digest(input);
            for _ in 1..iterations {
                let next = D::digest(&value);
                value.as_mut_slice().zeroize();
                value = next;
            }
            let result = Zeroizing::new(value.to_vec());
            value.as_mut_slice().zeroize();
            result
        }
        match self {
            Self::Sha1 => run::<sha1::Sha1>(input, iterations),
            Self::Sha224 => run::<sha2::Sha224>(input, iterations),
            Self::Sha256 => iterate_sha256(input, iterations),
            Self::Sha384 => run::<sha2::Sha384>(input, iterations),
            Self::Sha512 => run::<sha2::Sha512>(input, iterations),
        }
    }

    /// [`Self::iterate`] through the general [`Digest`] path, for the tests that hold the
    /// SHA-256 fast path to it.
    #[cfg(test)]
    fn iterate_generic(self, input: &[u8], iterations: u64) -> Vec<u8> {
        let mut value = self.digest(input);
        for _ in 1..iterations {
            value = self.digest(&value);
        }
        value
    }

    /// HMAC of `data` under `key` with this hash (RFC 2104).
    pub fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        fn run<M: Mac + KeyInit>(key: &[u8], data: &[u8]) -> Vec<u8> {
            let mut mac =
                <M as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length");
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        match self {
            Self::Sha1 => run::<hmac::Hmac<sha1::Sha1>>(key, data),
            Self::Sha224 => run::<hmac::Hmac<sha2::Sha224>>(key, data),
            Self::Sha256 => run::<hmac::Hmac<sha2::Sha256>>(key, data),
            Self::Sha384 => run::<hmac::Hmac<sha2::Sha384>>(key, data),
            Self::Sha512 => run::<hmac::Hmac<sha2::Sha512>>(key, data),
        }
    }

    /// PBKDF2 with HMAC over this hash (RFC 8018 §5.2), filling `out`.
    pub fn pbkdf2(self, password: &[u8], salt: &[u8], rounds: u32, out: &mut [u8]) {
        use pbkdf2::pbkdf2_hmac;
        match self {
            Self::Sha1 => pbkdf2_hmac::<sha1::Sha1>(password, salt, rounds, out),
            Self::Sha224 => pbkdf2_hmac::<sha2::Sha224>(password, salt, rounds, out),
            Self::Sha256 => pbkdf2_hmac::<sha2::Sha256>(password, salt, rounds, out),
            Self::Sha384 => pbkdf2_hmac::<sha2::Sha384>(password, salt, rounds, out),
            Self::Sha512 => pbkdf2_hmac::<sha2::Sha512>(password, salt, rounds, out),
        }
    }

    /// The hash that signs with `signature_alg`, for certConf's certHash (RFC 4210
    /// §5.3.18): the one named by the certificate's signature algorithm.
    pub fn of_signature_algorithm(alg: &AlgorithmIdentifierOwned) -> Result<Option<Self>> {
        Ok(Some(match alg.oid {
            oid::SHA1_WITH_RSA => Self::Sha1,
            oid::SHA224_WITH_RSA | oid::ECDSA_WITH_SHA224 => Self::Sha224,
            oid::SHA256_WITH_RSA | oid::ECDSA_WITH_SHA256 => Self::Sha256,
            oid::SHA384_WITH_RSA | oid::ECDSA_WITH_SHA384 => Self::Sha384,
            oid::SHA512_WITH_RSA | oid::ECDSA_WITH_SHA512 => Self::Sha512,
            oid::RSASSA_PSS => super::signature::PssParams::from_algorithm(alg)?.hash,
            oid::ED25519 => return Ok(None),
            _ => return Err(Error::unsupported("certificate signature", &alg.oid)),
        }))
    }

    /// The RFC name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha1 => "SHA-1",
            Self::Sha224 => "SHA-224",
            Self::Sha256 => "SHA-256",
            Self::Sha384 => "SHA-384",
            Self::Sha512 => "SHA-512",
        }
    }
}

/// SHA-256 applied `iterations` times, the rounds after the first straight on the
/// compression function: a 32-byte message is one padded block (FIPS 180-4 §5.1.1), so
/// each round is one compression with no hasher to set up, finalise and wipe. This
/// halves the cost of PasswordBasedMac with SHA-256, the OWF OpenSSL sends.
fn iterate_sha256(input: &[u8], iterations: u64) -> Zeroizing<Vec<u8>> {
    /// FIPS 180-4 §5.3.3.
    const IV: [u32; 8] = [
        0x6a09_e667,
        0xbb67_ae85,
        0x3c6e_f372,
        0xa54f_f53a,
        0x510e_527f,
        0x9b05_688c,
        0x1f83_d9ab,
        0x5be0_cd19,
    ];
    let mut block = Zeroizing::new([0u8; 64]);
    block[..32].copy_from_slice(&sha2::Sha256::digest(input));
    block[32] = 0x80;
    // The message length in bits, 256, big-endian in the last eight bytes.
    block[62] = 0x01;
    for _ in 1..iterations {
        let mut state = IV;
        sha2::block_api::compress256(&mut state, core::slice::from_ref(&*block));
        for (chunk, word) in block[..32].chunks_exact_mut(4).zip(state) {
            chunk.copy_from_slice(&word.to_be_bytes());
        }
        state.zeroize();
    }
    Zeroizing::new(block[..32].to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_fast_path_equals_the_digest_chain() {
        for input in [&b""[..], b"secret and salt", &[0xa5; 200]] {
            for rounds in [1, 2, 3, 500, 1024] {
                assert_eq!(
                    HashAlg::Sha256.iterate(input, rounds).as_slice(),
                    HashAlg::Sha256.iterate_generic(input, rounds),
                    "{rounds} rounds"
                );
            }
        }
    }
}
