//! Authenticating a request by its protection, and protecting the answer the same way
//! (RFC 4210 §5.1.3, RFC 9483 §3.2).

use std::time::SystemTime;

use cmp_client::checks::{ResponsePolicy, Trust, check_signer};
use cmp_proto::protection::{
    HashAlg, MacAlgorithm, ProtectionKind, Protector, SharedSecret, verify_mac, verify_signature,
};
use cmp_proto::{Limits, ReceivedMessage};
use der::Encode;
use x509_cert::Certificate;

use crate::error::Error;
use crate::requester::{Credentials, Requester};
use crate::transactions::RequesterId;

/// How an answer is protected: as the request was.
#[derive(Clone, Debug)]
pub(crate) enum ResponseProtection {
    /// With the requester's shared secret and the same MAC algorithm, fresh salt.
    Mac {
        secret: SharedSecret,
        algorithm: MacAlgorithm,
    },
    /// With the responder's signing key (or unprotected if it has none).
    Signature,
}

impl ResponseProtection {
    /// The protector for one answer: the MAC, or the responder's signer.
    pub fn protector(&self, signer: Option<&Protector>) -> Option<Protector> {
        match self {
            Self::Mac { secret, algorithm } => Some(Protector::Mac {
                secret: secret.clone(),
                reference: None,
                algorithm: *algorithm,
            }),
            Self::Signature => signer.cloned(),
        }
    }
}

/// The secret an unknown reference's MAC is computed with, so that it costs what a
/// known one does; no request can verify under it (32 random bytes per process).
static UNREGISTERED: std::sync::LazyLock<SharedSecret> = std::sync::LazyLock::new(|| {
    let mut bytes = [0u8; 32];
    // Without randomness the fixed value still cannot be guessed by a remote peer
    // faster than the secret itself; the MAC comparison is the same either way.
    let _ = getrandom::fill(&mut bytes);
    SharedSecret::new(bytes.to_vec())
});

/// A request that passed its protection check.
pub(crate) struct Authenticated {
    pub requester: Requester,
    pub id: RequesterId,
    pub protection: ResponseProtection,
}

/// Checks the protection of `received` against `credentials` and says who sent it.
///
/// MAC: senderKID selects the shared secret, compared in constant time. Signature: the
/// signer certificate is extraCerts[0], names the sender, matches senderKID, is valid,
/// may sign and chains to an anchor (the client's [`check_signer`]); anchors marked as
/// RAs are tried first so that an RA is recognised as one.
pub(crate) fn authenticate(
    received: &ReceivedMessage,
    credentials: &Credentials,
    policy: &ResponsePolicy,
    limits: &Limits,
    now: SystemTime,
) -> Result<Authenticated, Error> {
    let msg = &received.message;
    let Some(alg) = &msg.header.protection_alg else {
        return Err(Error::Unprotected);
    };
    if msg.protection.is_none() {
        return Err(Error::Unprotected);
    }
    match ProtectionKind::of(alg).map_err(Error::BadProtection)? {
        ProtectionKind::Mac => {
            // The parameters are judged before the reference is looked up, and a MAC is
            // computed even for an unknown reference: whether a senderKID is registered
            // must not show in the answer nor in the time it takes (issue 16, finding 9).
            let algorithm = MacAlgorithm::like(alg, limits).map_err(Error::BadProtection)?;
            let reference = msg
                .header
                .sender_kid
                .as_ref()
                .map_or(&[][..], |kid| kid.as_bytes());
            let credential = credentials.mac.get(reference);
            let secret = credential.map_or(&*UNREGISTERED, |c| &c.secret);
            let verified = verify_mac(received, secret, limits);
            let credential = match (credential, verified) {
                (Some(credential), Ok(())) => credential,
                (None, _) => return Err(Error::UnknownReference),
                (Some(_), Err(e)) => return Err(Error::BadProtection(e)),
            };
            Ok(Authenticated {
                requester: Requester::Mac {
                    reference: reference.to_vec(),
                    may_act_as_ra: credential.may_act_as_ra,
                },
                id: RequesterId::Mac(reference.to_vec()),
                protection: ResponseProtection::Mac {
                    secret: credential.secret.clone(),
                    algorithm,
                },
            })
        }
        ProtectionKind::Signature => {
            let extra = msg.extra_certs.as_deref().unwrap_or_default();
            let signer = extra.first().ok_or_else(|| {
                Error::UntrustedSigner("no signer certificate in extraCerts".into())
            })?;
            let may_act_as_ra = trusted_signer(signer, received, extra, credentials, policy, now)?;
            verify_signature(
                received,
                signer.tbs_certificate().subject_public_key_info(),
                limits,
            )
            .map_err(Error::BadProtection)?;
            let der = signer.to_der().map_err(|e| {
                Error::Internal(cmp_proto::Error::Encode {
                    what: "signer certificate",
                    source: e,
                })
            })?;
            let mut id = [0u8; 32];
            id.copy_from_slice(&HashAlg::Sha256.digest(&der));
            Ok(Authenticated {
                requester: Requester::Signer {
                    certificate: Box::new(signer.clone()),
                    may_act_as_ra,
                },
                id: RequesterId::Signer(id),
                protection: ResponseProtection::Signature,
            })
        }
    }
}

/// Whether the signer chains to an RA anchor (`true`) or to an ordinary one (`false`);
/// an error when to none.
fn trusted_signer(
    signer: &Certificate,
    received: &ReceivedMessage,
    extra: &[Certificate],
    credentials: &Credentials,
    policy: &ResponsePolicy,
    now: SystemTime,
) -> Result<bool, Error> {
    let anchors = |ra: bool| -> Vec<Certificate> {
        credentials
            .signers
            .iter()
            .filter(|a| a.may_act_as_ra == ra)
            .map(|a| a.certificate.clone())
            .collect()
    };
    let mut last_error = String::from("no signer trust anchors are configured");
    for ra in [true, false] {
        let anchors = anchors(ra);
        if anchors.is_empty() {
            continue;
        }
        let trust = Trust {
            anchors,
            untrusted: credentials.untrusted.clone(),
            ..Trust::default()
        };
        match check_signer(signer, &received.message.header, extra, &trust, policy, now) {
            Ok(()) => return Ok(ra),
            Err(e) => last_error = e.to_string(),
        }
    }
    Err(Error::UntrustedSigner(last_error))
}
