//! Protection of our own messages: every MAC and signature algorithm round-trips, any
//! alteration or wrong key fails, and every limit on a peer's parameters fires.

mod common;

use cmp_proto::der::asn1::Null;
use cmp_proto::der::{Decode, Encode};
use cmp_proto::protection::{
    HashAlg, MacAlgorithm, PbmParameter, PbmSettings, Pbmac1Settings, ProtectionKind, SharedSecret,
    verify_mac, verify_signature,
};
use cmp_proto::spki::AlgorithmIdentifierOwned;
use cmp_proto::{Error, Limits, PkiBody, PkiMessage, ReceivedMessage};
use common::*;

fn genm_with(protector: &cmp_proto::protection::Protector) -> Vec<u8> {
    header()
        .build(PkiBody::Genm(vec![]), Some(protector))
        .expect("builds")
        .to_der()
        .expect("encodes")
}

fn received(bytes: &[u8]) -> ReceivedMessage {
    ReceivedMessage::decode(bytes, &Limits::default()).expect("decodes")
}

fn secret() -> SharedSecret {
    SharedSecret::from("correct horse")
}

#[test]
fn every_mac_setting_round_trips() {
    let settings = [
        MacAlgorithm::default(),
        MacAlgorithm::PasswordBasedMac(PbmSettings {
            owf: HashAlg::Sha1,
            mac: HashAlg::Sha1,
            ..PbmSettings::default()
        }),
        MacAlgorithm::PasswordBasedMac(PbmSettings {
            owf: HashAlg::Sha384,
            mac: HashAlg::Sha512,
            iterations: 2047,
            salt_len: 32,
        }),
        MacAlgorithm::Pbmac1(Pbmac1Settings::default()),
        MacAlgorithm::Pbmac1(Pbmac1Settings {
            prf: HashAlg::Sha512,
            mac: HashAlg::Sha384,
            ..Pbmac1Settings::default()
        }),
    ];
    for setting in settings {
        let bytes = genm_with(&mac(setting));
        let msg = received(&bytes);
        verify_mac(&msg, &secret(), &Limits::default())
            .unwrap_or_else(|e| panic!("{setting:?}: {e}"));
        assert_eq!(
            verify_mac(&msg, &SharedSecret::from("wrong horse"), &Limits::default())
                .unwrap_err()
                .to_string(),
            Error::ProtectionInvalid { kind: "MAC" }.to_string(),
            "{setting:?}"
        );
    }
}

#[test]
fn every_signing_key_type_round_trips() {
    for file in [
        "client.key",
        "p384.key",
        "rsa2048.key",
        "ed25519.key",
        "p256-sec1.key",
        "rsa-pkcs1.key",
    ] {
        let protector = signer(file);
        let bytes = genm_with(&protector);
        let msg = received(&bytes);
        let spki = key(file).public_key_info().expect("spki");
        verify_signature(&msg, &spki, &Limits::default()).unwrap_or_else(|e| panic!("{file}: {e}"));
        // The client certificate's key is not the signer's (except for client.key).
        let other = if file == "p384.key" {
            "ed25519.key"
        } else {
            "p384.key"
        };
        let wrong = key(other).public_key_info().expect("spki");
        assert!(
            verify_signature(&msg, &wrong, &Limits::default()).is_err(),
            "{file} vs {other}"
        );
        let extra = msg.message.extra_certs.as_ref().expect("extraCerts");
        assert_eq!(
            extra[0],
            cert("client.pem"),
            "signer certificate goes first"
        );
        assert_eq!(extra.len(), 2);
    }
}

#[test]
fn rsa_pss_round_trips() {
    let cmp_proto::protection::SigningKey::Rsa { key: rsa, .. } = key("rsa2048.key") else {
        panic!("RSA key expected")
    };
    let pss = cmp_proto::protection::SigningKey::Rsa {
        key: rsa,
        pss: true,
    };
    let spki = pss.public_key_info().expect("spki");
    let protector = cmp_proto::protection::Protector::Signature {
        key: pss,
        certificate: Box::new(cert("client.pem")),
        chain: vec![],
    };
    let msg = received(&genm_with(&protector));
    let alg = msg.message.header.protection_alg.clone().expect("alg");
    assert_eq!(alg.oid, cmp_proto::oid::RSASSA_PSS);
    verify_signature(&msg, &spki, &Limits::default()).expect("PSS verifies");
}

#[test]
fn altered_header_or_body_fails_verification() {
    let mut bytes = genm_with(&mac(MacAlgorithm::default()));
    let msg = PkiMessage::from_der(&bytes).expect("decodes");
    let tid = msg.header.transaction_id.expect("tid");
    let at = bytes
        .windows(16)
        .position(|w| w == tid.as_bytes())
        .expect("tid present");
    bytes[at + 15] ^= 0x80;
    let altered = received(&bytes);
    assert!(matches!(
        verify_mac(&altered, &secret(), &Limits::default()),
        Err(Error::ProtectionInvalid { kind: "MAC" })
    ));
}

#[test]
fn unprotected_message_is_reported_as_such() {
    let bytes = header()
        .build(PkiBody::PkiConf(Null), None)
        .expect("builds")
        .to_der()
        .expect("der");
    assert!(matches!(
        verify_mac(&received(&bytes), &secret(), &Limits::default()),
        Err(Error::Unprotected)
    ));
}

#[test]
fn mac_verification_refuses_a_signed_message_and_vice_versa() {
    let signed = received(&genm_with(&signer("client.key")));
    assert!(matches!(
        verify_mac(&signed, &secret(), &Limits::default()),
        Err(Error::UnsupportedAlgorithm { .. })
    ));
    let maced = received(&genm_with(&mac(MacAlgorithm::default())));
    let spki = key("client.key").public_key_info().expect("spki");
    assert!(matches!(
        verify_signature(&maced, &spki, &Limits::default()),
        Err(Error::UnsupportedAlgorithm { .. })
    ));
}

#[test]
fn salt_is_fresh_for_every_message() {
    let protector = mac(MacAlgorithm::default());
    let salt = |bytes: &[u8]| {
        let msg = PkiMessage::from_der(bytes).expect("decodes");
        PbmParameter::from_algorithm(&msg.header.protection_alg.expect("alg"))
            .expect("params")
            .salt
    };
    assert_ne!(salt(&genm_with(&protector)), salt(&genm_with(&protector)));
}

fn limit_error(setting: MacAlgorithm, limits: Limits) -> Error {
    let msg = received(&genm_with(&mac(setting)));
    verify_mac(&msg, &secret(), &limits).expect_err("limit must fire")
}

#[test]
fn pbm_iteration_count_above_limit_is_refused() {
    let err = limit_error(
        MacAlgorithm::PasswordBasedMac(PbmSettings {
            iterations: 100_001,
            ..PbmSettings::default()
        }),
        Limits::default(),
    );
    assert!(
        matches!(
            err,
            Error::LimitExceeded {
                what: "PBM iteration count",
                value: 100_001,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn pbm_iteration_count_below_minimum_is_refused() {
    let err = limit_error(
        MacAlgorithm::PasswordBasedMac(PbmSettings {
            iterations: 1,
            ..PbmSettings::default()
        }),
        Limits::default(),
    );
    assert!(
        matches!(
            err,
            Error::BelowMinimum {
                what: "PBM iteration count",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn pbkdf2_iteration_count_above_limit_is_refused() {
    let err = limit_error(
        MacAlgorithm::Pbmac1(Pbmac1Settings {
            iterations: 5_000,
            ..Pbmac1Settings::default()
        }),
        Limits {
            max_pbkdf2_iterations: 4_999,
            ..Limits::default()
        },
    );
    assert!(
        matches!(
            err,
            Error::LimitExceeded {
                what: "PBKDF2 iteration count",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn pbkdf2_work_counts_every_output_block() {
    // Finding 2 of issue 16: iterations within the iteration bound, but of a 64-byte key:
    // twice the PRF chains, refused before any is computed.
    let err = limit_error(
        MacAlgorithm::Pbmac1(Pbmac1Settings {
            iterations: 200_000,
            mac: HashAlg::Sha512,
            ..Pbmac1Settings::default()
        }),
        Limits::default(),
    );
    assert!(
        matches!(
            err,
            Error::LimitExceeded {
                what: "PBKDF2 work (iterations x output blocks)",
                value: 400_000,
                limit: 262_144,
            }
        ),
        "{err}"
    );
    // A million iterations of one block, what a bare reference bought before, too.
    let err = limit_error(
        MacAlgorithm::Pbmac1(Pbmac1Settings {
            iterations: 1_000_000,
            ..Pbmac1Settings::default()
        }),
        Limits::default(),
    );
    assert!(
        matches!(
            err,
            Error::LimitExceeded {
                value: 1_000_000,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn bouncycastles_512_octet_pbmac1_key_verifies_within_the_work_bound() {
    // BouncyCastle's JcePBMac1CalculatorBuilder("HmacSHA256", 4096): keyLength 512,
    // 8,192 iterations, 16 blocks (tests/fixtures/bouncycastle/README.md).
    let bytes = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/bouncycastle/mac/genm_bc-pbmac1-keylength512.der"),
    )
    .expect("fixture");
    let msg = received(&bytes);
    let secret = SharedSecret::from("cmp-fixture-secret");
    verify_mac(&msg, &secret, &Limits::default()).expect("verifies");
    let tight = Limits {
        max_pbkdf2_work: 16 * 8_192 - 1,
        ..Limits::default()
    };
    assert!(matches!(
        verify_mac(&msg, &secret, &tight),
        Err(Error::LimitExceeded { value: 131_072, .. })
    ));
}

#[test]
fn salt_length_bounds_are_enforced() {
    let long = limit_error(
        MacAlgorithm::PasswordBasedMac(PbmSettings {
            salt_len: 129,
            ..PbmSettings::default()
        }),
        Limits::default(),
    );
    assert!(
        matches!(
            long,
            Error::LimitExceeded {
                what: "salt length",
                ..
            }
        ),
        "{long}"
    );
    let short = limit_error(
        MacAlgorithm::Pbmac1(Pbmac1Settings {
            salt_len: 4,
            ..Pbmac1Settings::default()
        }),
        Limits::default(),
    );
    assert!(
        matches!(
            short,
            Error::BelowMinimum {
                what: "salt length",
                ..
            }
        ),
        "{short}"
    );
}

#[test]
fn rsa_key_size_bounds_are_enforced() {
    let msg = received(&genm_with(&signer("rsa2048.key")));
    let spki = key("rsa2048.key").public_key_info().expect("spki");
    let err = verify_signature(
        &msg,
        &spki,
        &Limits {
            min_rsa_bits: 3072,
            ..Limits::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::BelowMinimum {
                what: "RSA key size in bits",
                ..
            }
        ),
        "{err}"
    );
    let err = verify_signature(
        &msg,
        &spki,
        &Limits {
            max_rsa_bits: 1024,
            ..Limits::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::LimitExceeded {
                what: "RSA key size in bits",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn signature_algorithm_must_fit_the_key() {
    // An ECDSA-protected message checked against an RSA key is refused, not tried.
    let msg = received(&genm_with(&signer("client.key")));
    let rsa = key("rsa2048.key").public_key_info().expect("spki");
    assert!(matches!(
        verify_signature(&msg, &rsa, &Limits::default()),
        Err(Error::Key { .. })
    ));
}

#[test]
fn oversize_message_is_refused_before_decoding() {
    let bytes = genm_with(&mac(MacAlgorithm::default()));
    let limits = Limits {
        max_message_size: bytes.len() - 1,
        ..Limits::default()
    };
    let err = ReceivedMessage::decode(&bytes, &limits).unwrap_err();
    assert!(
        matches!(
            err,
            Error::LimitExceeded {
                what: "message size",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn trailing_bytes_are_refused() {
    let mut bytes = genm_with(&mac(MacAlgorithm::default()));
    bytes.extend_from_slice(&[0, 0]);
    let err = ReceivedMessage::decode(&bytes, &Limits::default()).unwrap_err();
    assert!(matches!(err, Error::TrailingData { len: 2 }), "{err}");
}

#[test]
fn truncated_message_is_a_decode_error() {
    let bytes = genm_with(&mac(MacAlgorithm::default()));
    for cut in [1, bytes.len() / 2, bytes.len() - 1] {
        let err = ReceivedMessage::decode(&bytes[..cut], &Limits::default()).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Decode {
                    what: "PKIMessage",
                    ..
                }
            ),
            "{err}"
        );
    }
}

#[test]
fn too_many_certificates_are_refused() {
    let bytes = genm_with(&signer("client.key"));
    let err = ReceivedMessage::decode(
        &bytes,
        &Limits {
            max_certificates: 1,
            ..Limits::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::LimitExceeded {
                value: 2,
                limit: 1,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn protection_kind_names_unknown_algorithms() {
    let alg = AlgorithmIdentifierOwned {
        oid: cmp_proto::oid::SHA256,
        parameters: None,
    };
    let err = ProtectionKind::of(&alg).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unsupported algorithm sha256 (2.16.840.1.101.3.4.2.1) in protectionAlg"
    );
}

#[test]
fn secrets_and_keys_never_reach_debug_output() {
    let protector = mac(MacAlgorithm::default());
    let debug = format!("{protector:?}");
    assert!(!debug.contains("correct horse"), "{debug}");
    assert!(debug.contains("redacted"), "{debug}");
    let key_debug = format!("{:?}", key("client.key"));
    assert_eq!(key_debug, "SigningKey(P-256, <redacted>)");
}

/// Finding 1 of issue 16: an RSA key with a public exponent of many bits makes each
/// verification as costly as a private-key operation. The `rsa` crate refuses exponents
/// above 2^33 - 1 when the key is read, before any verification; this guards that.
#[test]
fn rsa_public_exponents_over_33_bits_are_refused_before_verifying() {
    use cmp_proto::der::asn1::{BitString, Uint};
    use cmp_proto::protection::verify_signature_bytes;

    #[derive(der::Sequence)]
    struct RsaPublicKey {
        n: Uint,
        e: Uint,
    }
    let spki = key("rsa2048.key").public_key_info().expect("spki");
    let mut rsa =
        RsaPublicKey::from_der(spki.subject_public_key.raw_bytes()).expect("RSAPublicKey");
    rsa.e = Uint::new(&[0x01, 0, 0, 0, 0, 0, 0, 0, 0x01]).expect("2^64 + 1");
    let mut huge = spki.clone();
    huge.subject_public_key =
        BitString::from_bytes(&rsa.to_der().expect("der")).expect("bit string");
    let alg = AlgorithmIdentifierOwned {
        oid: cmp_proto::oid::SHA256_WITH_RSA,
        parameters: Some(Null.into()),
    };
    let err = verify_signature_bytes(&huge, &alg, b"data", &[0u8; 256], &Limits::default())
        .expect_err("refused");
    assert!(matches!(err, Error::Key { .. }), "{err}");
}
