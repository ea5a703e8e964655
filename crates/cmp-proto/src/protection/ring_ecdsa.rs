//! ECDSA P-256 and P-384 through `ring`, whose assembly is about four times faster than
//! the pure-Rust curves on the machines we measure (docs/benchmarks.md: verify 85 µs
//! against 358 µs, sign 23 µs against 112 µs for P-256). `ring` is already in the tree
//! as rustls's provider. Combinations `ring` lacks fall back to `p256`/`p384`.

use ring::signature::{self as rs, EcdsaKeyPair, UnparsedPublicKey};

use crate::oid;

/// ring's verification algorithm for a curve and signature algorithm, if it has one.
fn verification(
    curve: const_oid::ObjectIdentifier,
    alg: const_oid::ObjectIdentifier,
) -> Option<&'static rs::EcdsaVerificationAlgorithm> {
    Some(match (curve, alg) {
        (oid::SECP256R1, oid::ECDSA_WITH_SHA256) => &rs::ECDSA_P256_SHA256_ASN1,
        (oid::SECP256R1, oid::ECDSA_WITH_SHA384) => &rs::ECDSA_P256_SHA384_ASN1,
        (oid::SECP384R1, oid::ECDSA_WITH_SHA256) => &rs::ECDSA_P384_SHA256_ASN1,
        (oid::SECP384R1, oid::ECDSA_WITH_SHA384) => &rs::ECDSA_P384_SHA384_ASN1,
        _ => return None,
    })
}

/// Verifies a DER ECDSA signature with an uncompressed SEC1 point. `None` when ring
/// cannot take this combination (another hash, a compressed point); the caller then
/// uses the pure-Rust implementation.
pub(crate) fn verify(
    curve: const_oid::ObjectIdentifier,
    alg: const_oid::ObjectIdentifier,
    point: &[u8],
    data: &[u8],
    signature: &[u8],
) -> Option<bool> {
    if point.first() != Some(&0x04) {
        return None;
    }
    let algorithm = verification(curve, alg)?;
    Some(
        UnparsedPublicKey::new(algorithm, point)
            .verify(data, signature)
            .is_ok(),
    )
}

/// Signs `data` with the private scalar and public point of a P-256 (SHA-256) or P-384
/// (SHA-384) key; a DER signature. `None` if ring refuses the key.
pub(crate) fn sign(
    curve: const_oid::ObjectIdentifier,
    scalar: &[u8],
    point: &[u8],
    data: &[u8],
) -> Option<Vec<u8>> {
    let algorithm = match curve {
        oid::SECP256R1 => &rs::ECDSA_P256_SHA256_ASN1_SIGNING,
        oid::SECP384R1 => &rs::ECDSA_P384_SHA384_ASN1_SIGNING,
        _ => return None,
    };
    let rng = ring::rand::SystemRandom::new();
    let pair =
        EcdsaKeyPair::from_private_key_and_public_key(algorithm, scalar, point, &rng).ok()?;
    pair.sign(&rng, data).ok().map(|s| s.as_ref().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::{Signer, Verifier};

    fn p256_key() -> (p256::ecdsa::SigningKey, Vec<u8>) {
        let key = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).expect("scalar");
        let point = key.verifying_key().to_sec1_point(false).as_bytes().to_vec();
        (key, point)
    }

    #[test]
    fn ring_and_p256_agree_both_ways() {
        let (key, point) = p256_key();
        let data = b"protected part";
        // ring signs, p256 verifies.
        let sig = sign(oid::SECP256R1, &key.to_bytes(), &point, data).expect("ring signs");
        let parsed = p256::ecdsa::Signature::from_der(&sig).expect("DER");
        key.verifying_key()
            .verify(data, &parsed)
            .expect("p256 verifies");
        // p256 signs, ring verifies; and refuses other data.
        let sig: p256::ecdsa::Signature = key.sign(data);
        let der = sig.to_der();
        assert_eq!(
            verify(
                oid::SECP256R1,
                oid::ECDSA_WITH_SHA256,
                &point,
                data,
                der.as_bytes()
            ),
            Some(true)
        );
        assert_eq!(
            verify(
                oid::SECP256R1,
                oid::ECDSA_WITH_SHA256,
                &point,
                b"other",
                der.as_bytes()
            ),
            Some(false)
        );
    }

    #[test]
    fn leaves_what_ring_lacks_to_the_fallback() {
        let (_, point) = p256_key();
        assert_eq!(
            verify(oid::SECP256R1, oid::ECDSA_WITH_SHA512, &point, b"x", b"sig"),
            None
        );
        let mut compressed = point.clone();
        compressed[0] = 0x02;
        assert_eq!(
            verify(
                oid::SECP256R1,
                oid::ECDSA_WITH_SHA256,
                &compressed,
                b"x",
                b"sig"
            ),
            None
        );
    }
}
