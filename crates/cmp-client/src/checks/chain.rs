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

/// Most signature verifications one path search makes: a CMP signer's chain needs a
/// handful, and every one costs CPU that the sender of an unauthenticated message
/// chooses (issue 16, finding 1: 29 decoy issuers with RSA-8192 keys and two
/// certificates signing each other cost up to 1.5 s a request). rustls-webpki budgets
/// the same way.
pub const MAX_PATH_SIGNATURES: u32 = 16;

/// Signature verifications left to a path search.
#[derive(Debug)]
pub(crate) struct Budget {
    left: std::cell::Cell<u32>,
    used: std::cell::Cell<u32>,
}

impl Budget {
    pub(crate) fn new(signatures: u32) -> Self {
        Self {
            left: std::cell::Cell::new(signatures),
            used: std::cell::Cell::new(0),
        }
    }

    /// Takes one verification; `false` when none is left.
    fn spend(&self) -> bool {
        let left = self.left.get();
        if left == 0 {
            return false;
        }
        self.left.set(left - 1);
        self.used.set(self.used.get() + 1);
        true
    }

    /// Verifications made so far.
    pub(crate) fn used(&self) -> u32 {
        self.used.get()
    }
}

/// Whether `issuer` names and signed `cert`, within `budget`: a name that does not match
/// costs nothing, a signature one verification.
fn signed_by_within(
    cert: &Certificate,
    issuer: &Certificate,
    limits: &Limits,
    budget: &Budget,
) -> Result<bool, String> {
    if cert.tbs_certificate().issuer() != issuer.tbs_certificate().subject() {
        return Ok(false);
    }
    if !budget.spend() {
        return Err(format!(
            "gave up after {} signature checks without a path (a message built to waste our time?)",
            budget.used()
        ));
    }
    Ok(signed_by(cert, issuer, limits))
}

/// Builds a path from `leaf` through `intermediates` to one of `anchors`.
///
/// An anchor ends the path wherever it appears (a pinned leaf is its own anchor). Every
/// certificate on the path, anchors included, must be valid at `now`; every issuer that
/// is not an anchor must be a CA. At most [`MAX_PATH_SIGNATURES`] signatures are
/// checked; a certificate given twice is tried once, and none twice on one path.
/// Returns why no path was found.
pub fn validate_chain(
    leaf: &Certificate,
    intermediates: &[Certificate],
    anchors: &[Certificate],
    now: SystemTime,
    limits: &Limits,
) -> Result<(), String> {
    build_path(
        leaf,
        intermediates,
        anchors,
        now,
        limits,
        &Budget::new(MAX_PATH_SIGNATURES),
    )
}

pub(crate) fn build_path(
    leaf: &Certificate,
    intermediates: &[Certificate],
    anchors: &[Certificate],
    now: SystemTime,
    limits: &Limits,
    budget: &Budget,
) -> Result<(), String> {
    // Each candidate once, whatever the peer repeated.
    let mut candidates: Vec<&Certificate> = Vec::with_capacity(intermediates.len());
    for c in intermediates {
        if !candidates.contains(&c) && is_ca(c) {
            candidates.push(c);
        }
    }
    let mut path: Vec<&Certificate> = vec![leaf];
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
        let mut anchor = None;
        for a in anchors {
            if signed_by_within(current, a, limits, budget)? {
                anchor = Some(a);
                break;
            }
        }
        if let Some(anchor) = anchor {
            return if valid_at(anchor, now) {
                Ok(())
            } else {
                Err(format!(
                    "trust anchor {} is not valid now",
                    anchor.tbs_certificate().subject()
                ))
            };
        }
        let mut issuer = None;
        for c in candidates.iter().filter(|c| !path.contains(c)) {
            if signed_by_within(current, c, limits, budget)? {
                issuer = Some(*c);
                break;
            }
        }
        match issuer {
            Some(issuer) => {
                path.push(issuer);
                current = issuer;
            }
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

    /// `n` CA certificates named as ee.pem's issuer, each with a key of its own (made by
    /// openssl): decoys a sender puts in extraCerts to make us verify with each.
    fn decoy_issuers(n: usize) -> Vec<Certificate> {
        use cmp_proto::der::DecodePem;
        let dir = std::env::temp_dir().join(format!("cmp-client-decoys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let decoys = (0..n)
            .map(|i| {
                let out = dir.join(format!("decoy{i}.pem"));
                let status = std::process::Command::new("openssl")
                    .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
                    .args(["ec_paramgen_curve:P-256", "-nodes", "-keyout", "/dev/null"])
                    .args(["-subj", "/CN=CMP Fixture Root CA", "-days", "2"])
                    .args(["-addext", "basicConstraints=critical,CA:TRUE"])
                    .args(["-addext", "keyUsage=critical,keyCertSign"])
                    .arg("-out")
                    .arg(&out)
                    .stderr(std::process::Stdio::null())
                    .status()
                    .expect("openssl runs");
                assert!(status.success());
                Certificate::from_pem(std::fs::read(&out).expect("decoy")).expect("PEM")
            })
            .collect();
        let _ = std::fs::remove_dir_all(&dir);
        decoys
    }

    #[test]
    fn decoy_issuers_cost_at_most_the_signature_budget() {
        // Finding 1 of issue 16, with P-256 decoys: it is the count that matters (RSA-8192
        // keys make each check ~100 times dearer). Before the budget, every decoy was
        // verified at every level of the search.
        let mut pool = decoy_issuers(29);
        pool.extend(pool.clone()); // repeats cost nothing more
        let budget = Budget::new(MAX_PATH_SIGNATURES);
        let unrelated_anchor = [cert("client.pem")];
        let err = build_path(
            &cert("ee.pem"),
            &pool,
            &unrelated_anchor,
            SystemTime::now(),
            &Limits::default(),
            &budget,
        )
        .unwrap_err();
        assert_eq!(budget.used(), MAX_PATH_SIGNATURES, "{err}");
        assert!(err.contains("gave up after 16 signature checks"), "{err}");

        // With the real root as anchor, the path is found at once, decoys or not.
        let budget = Budget::new(MAX_PATH_SIGNATURES);
        build_path(
            &cert("ee.pem"),
            &pool,
            &[cert("root.pem")],
            SystemTime::now(),
            &Limits::default(),
            &budget,
        )
        .expect("the root signed ee.pem");
        assert_eq!(budget.used(), 1);
    }

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
