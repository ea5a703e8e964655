//! Validation of a root CA key update (RFC 9480 §2.15, RFC 9483 §4.3.2, RFC 4210 §4.4).
//!
//! The new root (newWithNew) is believed only through the old root the client already
//! trusts: newWithOld, signed by the old root, must certify the same key and name as
//! newWithNew; newWithNew must be self-signed and valid; oldWithNew, when present, must
//! be the old root's key certified by the new one.

use std::time::SystemTime;

use cmp_proto::der::Encode;
use cmp_proto::protection::verify_signature_bytes;
use cmp_proto::x509_cert::Certificate;
use cmp_proto::{Limits, RootCaKeyUpdateContent};

use super::chain::{signed_by, valid_at};
use crate::error::{Error, Result};

fn invalid(reason: &'static str) -> Error {
    Error::RootUpdateInvalid { reason }
}

/// Validates `update` against `old_root` and returns the new root (newWithNew).
pub fn validate_root_ca_update(
    update: &RootCaKeyUpdateContent,
    old_root: &Certificate,
    now: SystemTime,
    limits: &Limits,
) -> Result<Certificate> {
    let new = &update.new_with_new;
    let new_tbs = new.tbs_certificate();
    supported("newWithNew", new, new, limits)?;
    if let Some(nwo) = &update.new_with_old {
        supported("newWithOld", nwo, old_root, limits)?;
    }
    if let Some(own) = &update.old_with_new {
        supported("oldWithNew", own, new, limits)?;
    }
    if !signed_by(new, new, limits) {
        return Err(invalid("newWithNew is not self-signed"));
    }
    if !valid_at(new, now) {
        return Err(invalid("newWithNew is not valid now"));
    }
    let new_with_old = update.new_with_old.as_ref().ok_or(invalid(
        "newWithOld is absent: the new root cannot be linked to the old one",
    ))?;
    if !signed_by(new_with_old, old_root, limits) {
        return Err(invalid("newWithOld is not signed by the old root"));
    }
    if !valid_at(new_with_old, now) {
        return Err(invalid("newWithOld is not valid now"));
    }
    let nwo = new_with_old.tbs_certificate();
    if nwo.subject_public_key_info() != new_tbs.subject_public_key_info()
        || nwo.subject() != new_tbs.subject()
    {
        return Err(invalid(
            "newWithOld certifies another key or name than newWithNew",
        ));
    }
    if let Some(old_with_new) = &update.old_with_new {
        if !signed_by(old_with_new, new, limits) {
            return Err(invalid("oldWithNew is not signed by the new root"));
        }
        let own = old_with_new.tbs_certificate();
        let old = old_root.tbs_certificate();
        if own.subject_public_key_info() != old.subject_public_key_info()
            || own.subject() != old.subject()
        {
            return Err(invalid(
                "oldWithNew certifies another key or name than the old root",
            ));
        }
    }
    Ok(new.clone())
}

/// A signature algorithm (or key) we do not implement is named as such, rather than
/// reported as a signature that does not verify.
fn supported(
    which: &'static str,
    cert: &Certificate,
    issuer: &Certificate,
    limits: &Limits,
) -> Result<()> {
    let (Ok(tbs), Some(signature)) = (cert.tbs_certificate().to_der(), cert.signature().as_bytes())
    else {
        return Ok(()); // signed_by reports it
    };
    match verify_signature_bytes(
        issuer.tbs_certificate().subject_public_key_info(),
        cert.signature_algorithm(),
        &tbs,
        signature,
        limits,
    ) {
        Err(source @ cmp_proto::Error::UnsupportedAlgorithm { .. }) => {
            Err(Error::RootUpdateUnsupportedAlgorithm {
                certificate: which,
                source,
            })
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::cert;
    use cmp_proto::der::DecodePem;

    fn update_cert(file: &str) -> Certificate {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/root-update")
            .join(file);
        Certificate::from_pem(std::fs::read(path).expect("fixture")).expect("PEM")
    }

    fn update() -> RootCaKeyUpdateContent {
        RootCaKeyUpdateContent {
            new_with_new: update_cert("new-with-new.pem"),
            new_with_old: Some(update_cert("new-with-old.pem")),
            old_with_new: Some(update_cert("old-with-new.pem")),
        }
    }

    fn check(update: &RootCaKeyUpdateContent, old_root: &Certificate) -> Result<Certificate> {
        validate_root_ca_update(update, old_root, SystemTime::now(), &Limits::default())
    }

    fn reason(result: Result<Certificate>) -> &'static str {
        match result {
            Err(Error::RootUpdateInvalid { reason }) => reason,
            other => panic!("expected RootUpdateInvalid, got {other:?}"),
        }
    }

    #[test]
    fn accepts_an_openssl_made_root_update() {
        let new_root = check(&update(), &cert("root.pem")).expect("valid update");
        assert_eq!(new_root, update_cert("new-with-new.pem"));
    }

    #[test]
    fn rejects_update_not_linked_to_our_old_root() {
        assert_eq!(
            reason(check(&update(), &cert("server.pem"))),
            "newWithOld is not signed by the old root"
        );
    }

    #[test]
    fn rejects_update_without_new_with_old() {
        let mut u = update();
        u.new_with_old = None;
        assert!(reason(check(&u, &cert("root.pem"))).starts_with("newWithOld is absent"));
    }

    #[test]
    fn rejects_new_root_that_is_not_self_signed() {
        let mut u = update();
        u.new_with_new = update_cert("new-with-old.pem");
        assert_eq!(
            reason(check(&u, &cert("root.pem"))),
            "newWithNew is not self-signed"
        );
    }

    #[test]
    fn rejects_new_with_old_for_another_key() {
        // A genuine certificate from the old root, but for another key (ee.pem).
        let mut u = update();
        u.new_with_old = Some(cert("ee.pem"));
        assert_eq!(
            reason(check(&u, &cert("root.pem"))),
            "newWithOld certifies another key or name than newWithNew"
        );
    }

    #[test]
    fn names_a_signature_algorithm_it_cannot_verify() {
        // newWithNew as a CA on ML-DSA-65 would send it (RFC 9881): not "not self-signed".
        #[derive(der::Sequence)]
        struct Signed {
            tbs: der::asn1::Any,
            algorithm: spki::AlgorithmIdentifierOwned,
            signature: der::asn1::BitString,
        }
        use der::{Decode, Encode};
        let der = update_cert("new-with-new.pem").to_der().expect("der");
        let mut signed = Signed::from_der(&der).expect("a signed certificate");
        signed.algorithm = spki::AlgorithmIdentifierOwned {
            oid: der::asn1::ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.3.18"),
            parameters: None,
        };
        let mut u = update();
        u.new_with_new =
            Certificate::from_der(&signed.to_der().expect("der")).expect("still a certificate");
        match check(&u, &cert("root.pem")) {
            Err(err @ Error::RootUpdateUnsupportedAlgorithm { certificate, .. }) => {
                assert_eq!(certificate, "newWithNew");
                assert!(err.to_string().contains("2.16.840.1.101.3.4.3.18"), "{err}");
            }
            other => panic!("expected the unsupported algorithm, got {other:?}"),
        }
    }

    #[test]
    fn rejects_old_with_new_not_signed_by_the_new_root() {
        let mut u = update();
        u.old_with_new = Some(cert("root.pem"));
        assert_eq!(
            reason(check(&u, &cert("root.pem"))),
            "oldWithNew is not signed by the new root"
        );
    }
}
