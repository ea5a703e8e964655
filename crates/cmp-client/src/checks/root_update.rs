//! Validation of a root CA key update (RFC 9480 §2.15, RFC 9483 §4.3.2, RFC 4210 §4.4).
//!
//! The new root (newWithNew) is believed only through the old root the client already
//! trusts: newWithOld, signed by the old root, must certify the same key and name as
//! newWithNew; newWithNew must be self-signed and valid; oldWithNew, when present, must
//! be the old root's key certified by the new one.

use std::time::SystemTime;

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
    fn rejects_old_with_new_not_signed_by_the_new_root() {
        let mut u = update();
        u.old_with_new = Some(cert("root.pem"));
        assert_eq!(
            reason(check(&u, &cert("root.pem"))),
            "oldWithNew is not signed by the new root"
        );
    }
}
