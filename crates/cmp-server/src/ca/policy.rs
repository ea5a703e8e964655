//! What the test CA agrees to certify: key types, names, validity and extensions
//! (RFC 4211 §5 templates read against a simple policy).

use std::time::{Duration, SystemTime};

use cmp_proto::PkiFailureInfo;
use cmp_proto::crmf::CertTemplate;
use cmp_proto::oid;
use const_oid::AssociatedOid;
use der::Decode;
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName,
};
use x509_cert::name::Name;

use super::certificate::{BACKDATE, extension};
use crate::authority::{CertificationRequest, Refusal};

/// Key types a requested key may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AllowedKey {
    /// ECDSA P-256.
    P256,
    /// ECDSA P-384.
    P384,
    /// RSA with a modulus of at least this many bits (and at most 8,192).
    Rsa {
        /// Smallest modulus accepted.
        min_bits: usize,
    },
    /// Ed25519.
    Ed25519,
}

/// The key type of `key`, as the policy names it (RSA with its modulus size).
fn key_kind(key: &SubjectPublicKeyInfoOwned) -> Option<(AllowedKey, usize)> {
    match key.algorithm.oid {
        oid::EC_PUBLIC_KEY => {
            let curve = key
                .algorithm
                .parameters
                .as_ref()?
                .decode_as::<const_oid::ObjectIdentifier>()
                .ok()?;
            match curve {
                oid::SECP256R1 => Some((AllowedKey::P256, 256)),
                oid::SECP384R1 => Some((AllowedKey::P384, 384)),
                _ => None,
            }
        }
        oid::RSA_ENCRYPTION => {
            let bits = rsa_modulus_bits(key.subject_public_key.raw_bytes())?;
            Some((AllowedKey::Rsa { min_bits: bits }, bits))
        }
        oid::ED25519 => Some((AllowedKey::Ed25519, 256)),
        _ => None,
    }
}

/// The modulus size of a DER RSAPublicKey (RFC 8017 §A.1.1).
fn rsa_modulus_bits(der: &[u8]) -> Option<usize> {
    #[derive(der::Sequence)]
    struct RsaPublicKey<'a> {
        modulus: der::asn1::UintRef<'a>,
        #[allow(dead_code)]
        exponent: der::asn1::UintRef<'a>,
    }
    let key = RsaPublicKey::from_der(der).ok()?;
    let bytes = key.modulus.as_bytes();
    let first = *bytes.first()?;
    Some((bytes.len() - 1) * 8 + (8 - first.leading_zeros() as usize))
}

/// Refuses key types outside `allowed` with badAlg.
pub(crate) fn check_key(
    key: &SubjectPublicKeyInfoOwned,
    allowed: &[AllowedKey],
) -> Result<(), Refusal> {
    let refused = || {
        Refusal::new(
            PkiFailureInfo::BAD_ALG,
            "the key type is not allowed by this CA's policy",
        )
    };
    let (kind, bits) = key_kind(key).ok_or_else(refused)?;
    let ok = allowed.iter().any(|a| match (a, kind) {
        (AllowedKey::Rsa { min_bits }, AllowedKey::Rsa { .. }) => bits >= *min_bits && bits <= 8192,
        (a, k) => *a == k,
    });
    if ok { Ok(()) } else { Err(refused()) }
}

/// What the CA will put in the certificate, and whether it differs from the request.
pub(crate) struct Granted {
    pub subject: Name,
    pub not_before: SystemTime,
    pub not_after: SystemTime,
    pub extensions: Vec<Extension>,
    pub modified: bool,
}

fn bad_template(text: &str) -> Refusal {
    Refusal::new(PkiFailureInfo::BAD_CERT_TEMPLATE, text)
}

/// Reads the request against the policy: subject (or, for kur, the old certificate's),
/// validity within `max_validity`, and the extensions an end entity may ask for.
pub(crate) fn grant(
    request: &CertificationRequest,
    old_subject: Option<&Name>,
    old_extensions: &[Extension],
    default_validity: Duration,
    max_validity: Duration,
    now: SystemTime,
) -> Result<Granted, Refusal> {
    let template: &CertTemplate = &request.template;
    let mut modified = false;
    let requested: Vec<Extension> = template.extensions.clone().unwrap_or_default();
    // kur keeps the old certificate's names unless the request gives new ones.
    let subject = match (&template.subject, old_subject) {
        (Some(s), _) if !s.is_empty() => s.clone(),
        (_, Some(old)) => old.clone(),
        (other, None) => other.clone().unwrap_or_default(),
    };
    let mut extensions = Vec::new();
    let mut has_san = false;
    for ext in &requested {
        match ext.extn_id {
            id if id == SubjectAltName::OID => {
                SubjectAltName::from_der(ext.extn_value.as_bytes())
                    .map_err(|_| bad_template("subjectAltName does not decode"))?;
                has_san = true;
                extensions.push(Extension {
                    // RFC 5280 §4.2.1.6: critical when the subject is empty.
                    critical: subject.is_empty(),
                    ..ext.clone()
                });
            }
            id if id == KeyUsage::OID => {
                KeyUsage::from_der(ext.extn_value.as_bytes())
                    .map_err(|_| bad_template("keyUsage does not decode"))?;
                extensions.push(Extension {
                    critical: true,
                    ..ext.clone()
                });
            }
            id if id == ExtendedKeyUsage::OID => {
                ExtendedKeyUsage::from_der(ext.extn_value.as_bytes())
                    .map_err(|_| bad_template("extendedKeyUsage does not decode"))?;
                extensions.push(ext.clone());
            }
            id if id == BasicConstraints::OID => {
                let bc = BasicConstraints::from_der(ext.extn_value.as_bytes())
                    .map_err(|_| bad_template("basicConstraints does not decode"))?;
                if bc.ca {
                    return Err(bad_template(
                        "the test CA issues end-entity certificates only (cA requested)",
                    ));
                }
                extensions.push(ext.clone());
            }
            // Anything else (policies, AIA, ...) is the CA's to set, not the requester's.
            _ => modified = true,
        }
    }
    if old_subject.is_some() && !has_san {
        // kur without new SANs keeps the old ones.
        if let Some(san) = old_extensions
            .iter()
            .find(|e| e.extn_id == SubjectAltName::OID)
        {
            extensions.push(san.clone());
            has_san = true;
        }
    }
    if subject.is_empty() && !has_san {
        return Err(bad_template(
            "neither a subject nor a subjectAltName is given",
        ));
    }
    if !extensions.iter().any(|e| e.extn_id == KeyUsage::OID) {
        let mut usage = KeyUsages::DigitalSignature.into();
        if request.public_key.algorithm.oid == oid::RSA_ENCRYPTION {
            usage |= KeyUsages::KeyEncipherment;
        }
        extensions.push(
            extension(&KeyUsage(usage), true)
                .map_err(|e| Refusal::new(PkiFailureInfo::SYSTEM_FAILURE, e.to_string()))?,
        );
    }

    let validity = template.validity.as_ref();
    let not_before = match validity.and_then(|v| v.not_before) {
        Some(t) => t.to_system_time().max(now - BACKDATE),
        None => now - BACKDATE,
    };
    if validity
        .and_then(|v| v.not_before)
        .is_some_and(|t| t.to_system_time() < now - BACKDATE)
    {
        modified = true;
    }
    let mut not_after = match validity.and_then(|v| v.not_after) {
        Some(t) => t.to_system_time(),
        None => not_before + default_validity,
    };
    if not_after <= not_before {
        return Err(bad_template("notAfter is not after notBefore"));
    }
    if not_after > not_before + max_validity {
        not_after = not_before + max_validity;
        modified = true;
    }
    Ok(Granted {
        subject,
        not_before,
        not_after,
        extensions,
        modified,
    })
}
