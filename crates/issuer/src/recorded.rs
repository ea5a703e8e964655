//! Whether an issued certificate recorded on a CertificateRequest may be believed.
//!
//! The record ([`IssuedRecord`], the `cmpv2-issuer.dev/issued` annotation) lets a
//! restarted issuer finish a request the CA already answered, without enrolling again.
//! But anyone who may patch CertificateRequests may write that annotation: taken as it
//! stands, it would put any certificate into the request's status without the CA, the
//! CSR's key or the trust anchors having a say (issue 16, finding 5). So a record is used
//! only when
//!
//! 1. its leaf certifies the CSR's public key, and
//! 2. its leaf chains to the issuer's trust anchors, or, for an issuer without anchors,
//!    it carries a seal: an HMAC-SHA256 under the issuer's shared secret over the
//!    request's UID and the record, which only a holder of that secret can make.

use std::time::SystemTime;

use cmp_client::checks::{Trust, validate_chain};
use cmp_proto::Limits;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::Certificate;

use crate::journal::IssuedRecord;

type HmacSha256 = Hmac<Sha256>;

/// The seal of `record` for the request `uid` under `secret`, as lowercase hex.
pub fn seal(record: &IssuedRecord, uid: &str, secret: &[u8]) -> String {
    hex::encode(mac(record, uid, secret).finalize().into_bytes())
}

fn mac(record: &IssuedRecord, uid: &str, secret: &[u8]) -> HmacSha256 {
    let mut mac =
        <HmacSha256 as KeyInit>::new_from_slice(secret).expect("HMAC takes keys of any length");
    // Domain-separated and length-prefixed, so no two records share an input.
    for part in [
        "cmpv2-issuer.dev/issued v1",
        uid,
        &record.certificate,
        &record.ca,
        if record.granted_with_mods {
            "mods"
        } else {
            "as asked"
        },
    ] {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part.as_bytes());
    }
    mac
}

/// Checks `record`, found on the request `uid` whose CSR holds `csr_key`, against the
/// issuer's trust (anchors, shared secret). The error says why it is not believed.
pub fn check(
    record: &IssuedRecord,
    uid: &str,
    csr_key: &SubjectPublicKeyInfoOwned,
    trust: &Trust,
    now: SystemTime,
) -> Result<(), String> {
    let certs = Certificate::load_pem_chain(record.certificate.as_bytes())
        .map_err(|e| format!("the recorded certificate is not PEM: {e}"))?;
    let Some(leaf) = certs.first() else {
        return Err("the recorded certificate is empty".into());
    };
    if leaf.tbs_certificate().subject_public_key_info() != csr_key {
        return Err("the recorded certificate is not for the CSR's key".into());
    }
    if !trust.anchors.is_empty() {
        let cas = Certificate::load_pem_chain(record.ca.as_bytes()).unwrap_or_default();
        let intermediates: Vec<Certificate> = certs[1..].iter().chain(&cas).cloned().collect();
        return validate_chain(
            leaf,
            &intermediates,
            &trust.anchors,
            now,
            &Limits::default(),
        )
        .map_err(|why| format!("the recorded certificate does not chain to trustAnchors: {why}"));
    }
    let (Some(secret), Some(seal)) = (&trust.secret, &record.seal) else {
        return Err("the recorded certificate carries no seal of this issuer".into());
    };
    let given = hex::decode(seal).map_err(|_| "the recorded seal is not hex")?;
    mac(record, uid, secret.expose())
        .verify_slice(&given)
        .map_err(|_| "the recorded certificate's seal does not verify".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use cmp_proto::protection::SharedSecret;
    use der::EncodePem;

    fn fixture(name: &str) -> Certificate {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../cmp-proto/tests/fixtures/keys")
            .join(name);
        Certificate::load_pem_chain(&std::fs::read(path).expect("fixture"))
            .expect("PEM")
            .remove(0)
    }

    fn pem(cert: &Certificate) -> String {
        cert.to_pem(der::pem::LineEnding::LF).expect("PEM")
    }

    /// ee.pem (the leaf, issued by root.pem) recorded for a CSR of ee.key.
    fn genuine() -> (IssuedRecord, SubjectPublicKeyInfoOwned) {
        let ee = fixture("ee.pem");
        let record = IssuedRecord {
            certificate: pem(&ee),
            ca: pem(&fixture("root.pem")),
            granted_with_mods: false,
            seal: None,
        };
        (
            record,
            ee.tbs_certificate().subject_public_key_info().clone(),
        )
    }

    #[test]
    fn with_trust_anchors_the_record_must_chain_to_them_and_fit_the_csr() {
        let (record, key) = genuine();
        let now = SystemTime::now();
        let anchored = |cert| Trust {
            anchors: vec![fixture(cert)],
            ..Trust::default()
        };
        assert_eq!(
            check(&record, "u", &key, &anchored("root.pem"), now),
            Ok(())
        );
        let err = check(&record, "u", &key, &anchored("server.pem"), now).unwrap_err();
        assert!(err.contains("does not chain"), "{err}");
        let other_key = fixture("client.pem")
            .tbs_certificate()
            .subject_public_key_info()
            .clone();
        let err = check(&record, "u", &other_key, &anchored("root.pem"), now).unwrap_err();
        assert!(err.contains("not for the CSR's key"), "{err}");
    }

    #[test]
    fn without_trust_anchors_the_record_must_carry_this_issuers_seal() {
        let (mut record, key) = genuine();
        let now = SystemTime::now();
        let trust = Trust {
            secret: Some(SharedSecret::from("issuer secret")),
            ..Trust::default()
        };
        let err = check(&record, "u", &key, &trust, now).unwrap_err();
        assert!(err.contains("no seal"), "{err}");
        record.seal = Some(seal(&record, "u", b"issuer secret"));
        assert_eq!(check(&record, "u", &key, &trust, now), Ok(()));
        let err = check(&record, "another request", &key, &trust, now).unwrap_err();
        assert!(err.contains("does not verify"), "{err}");
        record.seal = Some(seal(&record, "u", b"a guess"));
        assert!(check(&record, "u", &key, &trust, now).is_err());
    }

    #[test]
    fn a_seal_binds_the_record_to_its_request_and_secret() {
        let record = IssuedRecord {
            certificate: "leaf".into(),
            ca: "ca".into(),
            granted_with_mods: false,
            seal: None,
        };
        let s = seal(&record, "uid-1", b"secret");
        assert_eq!(s.len(), 64);
        assert_eq!(s, seal(&record, "uid-1", b"secret"));
        assert_ne!(s, seal(&record, "uid-2", b"secret"), "another request");
        assert_ne!(s, seal(&record, "uid-1", b"other"), "another secret");
        let mods = IssuedRecord {
            granted_with_mods: true,
            ..record.clone()
        };
        assert_ne!(s, seal(&mods, "uid-1", b"secret"), "another record");
    }
}
