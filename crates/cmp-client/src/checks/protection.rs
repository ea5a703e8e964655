//! Protection checks: present, of a kind we can verify, valid; and for signatures, a
//! signer we trust (RFC 4210 §5.1.3, RFC 9483 §3.2, cmp-notes "Checks on every response").

use std::time::SystemTime;

use cmp_proto::protection::{ProtectionKind, subject_key_identifier, verify_mac, verify_signature};
use cmp_proto::x509_cert::Certificate;
use cmp_proto::x509_cert::ext::pkix::KeyUsage;
use cmp_proto::x509_cert::ext::pkix::name::GeneralName;
use cmp_proto::{PkiBody, PkiHeader, PkiStatus, ReceivedMessage};

use super::chain::{valid_at, validate_chain};
use super::header::{describe, reversed};
use super::{ResponsePolicy, Trust};
use crate::error::{Error, Result};

/// Whether an unprotected `body` may be accepted under `allow_unprotected_errors`:
/// error, pkiConf, and ip/cp/kup/rp that carry a rejection (cmp-notes, check 3).
fn is_negative(body: &PkiBody) -> bool {
    match body {
        PkiBody::Error(_) | PkiBody::PkiConf(_) => true,
        PkiBody::Ip(rep) | PkiBody::Cp(rep) | PkiBody::Kup(rep) => rep
            .response
            .iter()
            .all(|r| r.status.status == PkiStatus::Rejection),
        PkiBody::Rp(rp) => rp.status.iter().all(|s| s.status == PkiStatus::Rejection),
        _ => false,
    }
}

/// The response is protected, by a kind our trust can verify, and the protection holds.
pub fn check_protection(
    received: &ReceivedMessage,
    trust: &Trust,
    policy: &ResponsePolicy,
    now: SystemTime,
) -> Result<()> {
    check_protection_in_transaction(received, trust, policy, now, &[])
}

/// As [`check_protection`], for a later response of a transaction: a signed response
/// without extraCerts is checked with `earlier_extra_certs`, the extraCerts of the
/// peer's earlier verified answer. RFC 9483 §3.3 lets the CA send its protection
/// certificate in the first message of a transaction only (Nokia NCM's pkiConf comes
/// without extraCerts and senderKID); every check of the signer still applies, and the
/// signature must verify with that certificate's key.
pub fn check_protection_in_transaction(
    received: &ReceivedMessage,
    trust: &Trust,
    policy: &ResponsePolicy,
    now: SystemTime,
    earlier_extra_certs: &[Certificate],
) -> Result<()> {
    let msg = &received.message;
    let (Some(alg), Some(_)) = (&msg.header.protection_alg, &msg.protection) else {
        return if policy.allow_unprotected_errors && is_negative(&msg.body) {
            Ok(())
        } else {
            Err(Error::Unprotected {
                body: msg.body.body_type(),
            })
        };
    };
    match ProtectionKind::of(alg).map_err(Error::ProtectionInvalid)? {
        ProtectionKind::Mac => {
            let secret = trust.secret.as_ref().ok_or(Error::ProtectionKindMismatch {
                expected: "a signature",
                got: ProtectionKind::Mac,
            })?;
            verify_mac(received, secret, &policy.limits).map_err(Error::ProtectionInvalid)
        }
        ProtectionKind::Signature => {
            if trust.anchors.is_empty() {
                return Err(Error::ProtectionKindMismatch {
                    expected: "a MAC",
                    got: ProtectionKind::Signature,
                });
            }
            let extra = match msg.extra_certs.as_deref() {
                Some(certs) if !certs.is_empty() => certs,
                _ => earlier_extra_certs,
            };
            let signer = extra.first().ok_or(Error::NoSignerCertificate)?;
            check_signer(signer, &msg.header, extra, trust, policy, now)?;
            verify_signature(
                received,
                signer.tbs_certificate().subject_public_key_info(),
                &policy.limits,
            )
            .map_err(Error::ProtectionInvalid)
        }
    }
}

/// The signer certificate (the first of extraCerts) names the header's sender, matches its
/// senderKID, is valid now, may sign, and chains to a trust anchor.
pub fn check_signer(
    signer: &Certificate,
    header: &PkiHeader,
    extra_certs: &[Certificate],
    trust: &Trust,
    policy: &ResponsePolicy,
    now: SystemTime,
) -> Result<()> {
    let tbs = signer.tbs_certificate();
    let subject = tbs.subject().to_string();
    let sender_matches = match &header.sender {
        GeneralName::DirectoryName(sender) => {
            sender == tbs.subject()
                || (policy.tolerate_reversed_rdns && reversed(sender, tbs.subject()))
        }
        _ => false,
    };
    if !sender_matches {
        return Err(Error::SignerNameMismatch {
            sender: describe(&header.sender),
            subject,
        });
    }
    if let (Some(kid), Ok(Some(ski))) = (&header.sender_kid, subject_key_identifier(signer))
        && kid != &ski
    {
        return Err(Error::SignerKidMismatch);
    }
    if !valid_at(signer, now) {
        return Err(Error::SignerNotValidNow { subject });
    }
    if !policy.ignore_key_usage
        && let Ok(Some((_, ku))) = tbs.get_extension::<KeyUsage>()
        && !ku.digital_signature()
    {
        return Err(Error::SignerKeyUsage { subject });
    }
    let intermediates: Vec<Certificate> = extra_certs
        .iter()
        .skip(1)
        .chain(&trust.untrusted)
        .cloned()
        .collect();
    validate_chain(signer, &intermediates, &trust.anchors, now, &policy.limits)
        .map_err(|reason| Error::SignerUntrusted { subject, reason })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::test_support::*;
    use cmp_proto::Limits;
    use cmp_proto::protection::SharedSecret;
    use cmp_proto::x509_cert::name::Name;
    use std::str::FromStr;

    fn sig_trust() -> Trust {
        Trust {
            anchors: vec![cert("root.pem")],
            ..Trust::default()
        }
    }

    fn mac_trust() -> Trust {
        Trust {
            secret: Some(SharedSecret::new(fixture("keys/secret.txt"))),
            ..Trust::default()
        }
    }

    fn now() -> SystemTime {
        SystemTime::now()
    }

    #[test]
    fn accepts_openssl_responses_under_both_protections() {
        let policy = ResponsePolicy::default();
        check_protection(&received("mac/ir/ip.der"), &mac_trust(), &policy, now()).expect("MAC");
        check_protection(&received("sig/ir/ip.der"), &sig_trust(), &policy, now())
            .expect("signature");
    }

    #[test]
    fn rejects_response_with_bad_mac() {
        let trust = Trust {
            secret: Some(SharedSecret::from("wrong")),
            ..Trust::default()
        };
        let err = check_protection(
            &received("mac/ir/ip.der"),
            &trust,
            &ResponsePolicy::default(),
            now(),
        )
        .unwrap_err();
        assert!(matches!(err, Error::ProtectionInvalid(_)), "{err}");
    }

    #[test]
    fn rejects_protection_kind_we_cannot_verify() {
        let policy = ResponsePolicy::default();
        let err =
            check_protection(&received("sig/ir/ip.der"), &mac_trust(), &policy, now()).unwrap_err();
        assert!(
            matches!(
                err,
                Error::ProtectionKindMismatch {
                    got: ProtectionKind::Signature,
                    ..
                }
            ),
            "{err}"
        );
        let err =
            check_protection(&received("mac/ir/ip.der"), &sig_trust(), &policy, now()).unwrap_err();
        assert!(
            matches!(
                err,
                Error::ProtectionKindMismatch {
                    got: ProtectionKind::Mac,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn rejects_unprotected_response_unless_allowed_and_negative() {
        let mut msg = received("mac/error/error.der");
        msg.message.protection = None;
        msg.message.header.protection_alg = None;
        let strict = ResponsePolicy::default();
        let err = check_protection(&msg, &mac_trust(), &strict, now()).unwrap_err();
        assert!(matches!(err, Error::Unprotected { .. }), "{err}");
        let lenient = ResponsePolicy {
            allow_unprotected_errors: true,
            ..ResponsePolicy::default()
        };
        check_protection(&msg, &mac_trust(), &lenient, now()).expect("unprotected error allowed");
        // A positive answer is never accepted unprotected, whatever the switch.
        let mut ip = received("mac/ir/ip.der");
        ip.message.protection = None;
        ip.message.header.protection_alg = None;
        let err = check_protection(&ip, &mac_trust(), &lenient, now()).unwrap_err();
        assert!(matches!(err, Error::Unprotected { .. }), "{err}");
    }

    #[test]
    fn rejects_signed_response_without_signer_certificate() {
        let mut msg = received("sig/ir/ip.der");
        msg.message.extra_certs = None;
        let err =
            check_protection(&msg, &sig_trust(), &ResponsePolicy::default(), now()).unwrap_err();
        assert!(matches!(err, Error::NoSignerCertificate), "{err}");
    }

    #[test]
    fn rejects_signature_by_untrusted_key() {
        // The response is genuinely signed by server.pem, but our anchor is another root.
        let trust = Trust {
            anchors: vec![cert("client.pem")],
            ..Trust::default()
        };
        let err = check_protection(
            &received("sig/ir/ip.der"),
            &trust,
            &ResponsePolicy::default(),
            now(),
        )
        .unwrap_err();
        assert!(matches!(err, Error::SignerUntrusted { .. }), "{err}");
    }

    #[test]
    fn rejects_signer_whose_subject_is_not_the_sender() {
        let mut msg = received("sig/ir/ip.der");
        msg.message.header.sender = dn("CN=Someone Else");
        let err =
            check_protection(&msg, &sig_trust(), &ResponsePolicy::default(), now()).unwrap_err();
        assert!(matches!(err, Error::SignerNameMismatch { .. }), "{err}");
    }

    #[test]
    fn rejects_signer_whose_key_id_is_not_the_sender_kid() {
        let mut msg = received("sig/ir/ip.der");
        msg.message.header.sender_kid =
            Some(der::asn1::OctetString::new(vec![1, 2, 3]).expect("octets"));
        let err =
            check_protection(&msg, &sig_trust(), &ResponsePolicy::default(), now()).unwrap_err();
        assert!(matches!(err, Error::SignerKidMismatch), "{err}");
    }

    #[test]
    fn rejects_signer_outside_its_validity() {
        let later = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(200 * 365 * 86_400);
        let err = check_protection(
            &received("sig/ir/ip.der"),
            &sig_trust(),
            &ResponsePolicy::default(),
            later,
        )
        .unwrap_err();
        assert!(matches!(err, Error::SignerNotValidNow { .. }), "{err}");
    }

    #[test]
    fn rejects_signer_without_digital_signature_unless_told_to_ignore_it() {
        // root.pem is a CA certificate whose keyUsage lacks digitalSignature.
        let root = cert("root.pem");
        let header = PkiHeader {
            sender: GeneralName::DirectoryName(root.tbs_certificate().subject().clone()),
            sender_kid: None,
            ..received("sig/ir/ip.der").message.header
        };
        let trust = sig_trust();
        let strict = ResponsePolicy::default();
        match tbs_has_digital_signature(&root) {
            Some(false) => {
                let err = check_signer(&root, &header, &[], &trust, &strict, now()).unwrap_err();
                assert!(matches!(err, Error::SignerKeyUsage { .. }), "{err}");
                let lenient = ResponsePolicy {
                    ignore_key_usage: true,
                    ..ResponsePolicy::default()
                };
                check_signer(&root, &header, &[], &trust, &lenient, now())
                    .expect("switch ignores keyUsage");
            }
            other => panic!(
                "fixture root.pem must carry keyUsage without digitalSignature, has {other:?}"
            ),
        }
    }

    fn tbs_has_digital_signature(cert: &Certificate) -> Option<bool> {
        cert.tbs_certificate()
            .get_extension::<KeyUsage>()
            .ok()
            .flatten()
            .map(|(_, ku)| ku.digital_signature())
    }

    #[test]
    fn tolerates_reversed_rdns_only_when_asked() {
        let mut msg = received("sig/ir/ip.der");
        let subject = cert("server.pem").tbs_certificate().subject().to_string();
        // Add a second RDN so that the order matters: build "O=X,CN=..." vs "CN=...,O=X".
        let forward = Name::from_str(&format!("{subject},O=CMP Fixtures")).expect("DN");
        let backward = Name::from_str(&format!("O=CMP Fixtures,{subject}")).expect("DN");
        assert!(reversed(&forward, &backward));
        assert!(!reversed(&forward, &forward));
        msg.message.header.sender = GeneralName::DirectoryName(backward);
        let _ = Limits::default();
        let err =
            check_protection(&msg, &sig_trust(), &ResponsePolicy::default(), now()).unwrap_err();
        assert!(matches!(err, Error::SignerNameMismatch { .. }), "{err}");
    }
}
