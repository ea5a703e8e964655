//! Certificate path validation from a signer (or issued) certificate to a trust anchor
//! (RFC 5280 §6, reduced to what CMP trust needs: names, signatures, validity, CA flag).

use std::time::SystemTime;

use cmp_proto::Limits;
use cmp_proto::der::Encode;
use cmp_proto::protection::verify_signature_bytes;
use cmp_proto::x509_cert::Certificate;
use cmp_proto::x509_cert::ext::pkix::{BasicConstraints, KeyUsage};

/// Longest chain followed, anchor excluded: well above any real CMP hierarchy.
const MAX_DEPTH: usize = 8;

/// Whether `cert` is within its validity period at `now`.
pub(crate) fn valid_at(cert: &Certificate, now: SystemTime) -> bool {
    let validity = cert.tbs_certificate().validity();
    validity.not_before.to_system_time() <= now && now <= validity.not_after.to_system_time()
}

/// Whether `issuer` names and signed `cert`.
pub(crate) fn signed_by(cert: &Certificate, issuer: &Certificate, limits: &Limits) -> bool {
    if cert.tbs_certificate().issuer() != issuer.tbs_certificate().subject() {
        return false;
    }
    let Ok(tbs) = cert.tbs_certificate().to_der() else {
        return false;
    };
    let Some(sig) = cert.signature().as_bytes() else {
        return false;
    };
    verify_signature_bytes(
        issuer.tbs_certificate().subject_public_key_info(),
        cert.signature_algorithm(),
        &tbs,
        sig,
        limits,
    )
    .is_ok()
}

/// Whether `cert` may issue certificates: basicConstraints cA, and keyCertSign when
/// keyUsage is present (RFC 5280 §4.2.1.3, §4.2.1.9).
fn is_ca(cert: &Certificate) -> bool {
    let tbs = cert.tbs_certificate();
    let ca = matches!(tbs.get_extension::<BasicConstraints>(), Ok(Some((_, bc))) if bc.ca);
    let key_cert_sign = match tbs.get_extension::<KeyUsage>() {
        Ok(Some((_, ku))) => ku.key_cert_sign(),
        Ok(None) => true,
        Err(_) => false,
    };
    ca && key_cert_sign
}

/// Builds a path from `leaf` through `intermediates` to one of `anchors`.
///
/// An anchor ends the path wherever it appears (a pinned leaf is its own anchor). Every
/// certificate on the path, anchors included, must be valid at `now`; every issuer that
/// is not an anchor must be a CA. Returns why no path was found.
pub fn validate_chain(
    leaf: &Certificate,
    intermediates: &[Certificate],
    anchors: &[Certificate],
    now: SystemTime,
    limits: &Limits,
) -> Result<(), String> {
    let mut current = leaf;
    for _ in 0..=MAX_DEPTH {
        if !valid_at(current, now) {
            return Err(format!(
                "{} is not valid now",
                current.tbs_certificate().subject()
            ));
        }
        if anchors.contains(current) {
            return Ok(());
        }
        if let Some(anchor) = anchors.iter().find(|a| signed_by(current, a, limits)) {
            return if valid_at(anchor, now) {
                Ok(())
            } else {
                Err(format!(
                    "trust anchor {} is not valid now",
                    anchor.tbs_certificate().subject()
                ))
            };
        }
        match intermediates
            .iter()
            .find(|c| *c != current && is_ca(c) && signed_by(current, c, limits))
        {
            Some(issuer) => current = issuer,
            None => {
                return Err(format!(
                    "no trusted issuer {} for {}",
                    current.tbs_certificate().issuer(),
                    current.tbs_certificate().subject()
                ));
            }
        }
    }
    Err(format!("chain longer than {MAX_DEPTH} certificates"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::cert;

    #[test]
    fn chains_fixture_certificates_to_their_root() {
        let root = cert("root.pem");
        let now = SystemTime::now();
        for leaf in ["server.pem", "client.pem", "ee.pem"] {
            validate_chain(
                &cert(leaf),
                &[],
                std::slice::from_ref(&root),
                now,
                &Limits::default(),
            )
            .unwrap_or_else(|e| panic!("{leaf}: {e}"));
        }
    }

    #[test]
    fn rejects_chain_to_an_unrelated_anchor() {
        // server.pem as an anchor is not the issuer of client.pem.
        let err = validate_chain(
            &cert("client.pem"),
            &[],
            &[cert("server.pem")],
            SystemTime::now(),
            &Limits::default(),
        )
        .unwrap_err();
        assert!(err.contains("no trusted issuer"), "{err}");
    }

    #[test]
    fn a_leaf_cannot_act_as_an_intermediate() {
        // ee.pem is no CA: even offered as an intermediate it must not complete a path.
        let err = validate_chain(
            &cert("client.pem"),
            &[cert("ee.pem")],
            &[],
            SystemTime::now(),
            &Limits::default(),
        )
        .unwrap_err();
        assert!(err.contains("no trusted issuer"), "{err}");
    }

    #[test]
    fn rejects_certificate_outside_its_validity() {
        let far_future =
            SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(200 * 365 * 86_400);
        let err = validate_chain(
            &cert("ee.pem"),
            &[],
            &[cert("root.pem")],
            far_future,
            &Limits::default(),
        )
        .unwrap_err();
        assert!(err.contains("not valid now"), "{err}");
    }

    #[test]
    fn a_pinned_certificate_is_its_own_anchor() {
        let server = cert("server.pem");
        validate_chain(
            &server,
            &[],
            std::slice::from_ref(&server),
            SystemTime::now(),
            &Limits::default(),
        )
        .expect("pinned");
    }
}
