//! Verifying proof-of-possession: signature POPs (RFC 4211 §4.1) and the signature of a
//! PKCS#10 request (RFC 2986 §4.2).

use der::Encode;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::request::CertReq;

use super::signature::verify;
use crate::crmf::{AuthInfo, CertReqMsg, ProofOfPossession};
use crate::error::{Error, Result};
use crate::limits::Limits;

/// Verifies a signature proof-of-possession with the key in the template.
///
/// Without poposkInput, the template must hold subject and public key and the signature
/// covers the DER CertRequest; with it, the input's key must equal the template's and
/// its sender must be `authenticated_sender` (RFC 4211 §4.1). Any other POP kind is an
/// error here: raVerified is a policy decision the caller makes.
pub fn verify_signature_pop(
    msg: &CertReqMsg,
    authenticated_sender: &GeneralName,
    limits: &Limits,
) -> Result<()> {
    let Some(ProofOfPossession::Signature(popo)) = &msg.popo else {
        return Err(Error::InvalidInput {
            reason: "the request carries no signature proof-of-possession",
        });
    };
    let template = &msg.cert_req.cert_template;
    let key = template.public_key.as_ref().ok_or(Error::InvalidInput {
        reason: "the template carries no public key",
    })?;
    let signed = match &popo.poposk_input {
        None => {
            if template.subject.is_none() {
                return Err(Error::InvalidInput {
                    reason: "poposkInput is absent but the template has no subject",
                });
            }
            msg.cert_req
                .to_der()
                .map_err(Error::encode("CertRequest"))?
        }
        Some(input) => {
            if &input.public_key != key {
                return Err(Error::InvalidInput {
                    reason: "poposkInput names another public key than the template",
                });
            }
            match &input.auth_info {
                AuthInfo::Sender(sender) if sender == authenticated_sender => {}
                AuthInfo::Sender(_) => {
                    return Err(Error::InvalidInput {
                        reason: "poposkInput sender is not the authenticated sender",
                    });
                }
                AuthInfo::PublicKeyMac(_) => {
                    return Err(Error::InvalidInput {
                        reason: "publicKeyMAC proof-of-possession is not supported",
                    });
                }
            }
            input
                .to_der()
                .map_err(Error::encode("POPOSigningKeyInput"))?
        }
    };
    let sig = popo.signature.as_bytes().ok_or(Error::ProtectionInvalid {
        kind: "proof-of-possession",
    })?;
    verify(key, &popo.algorithm_identifier, &signed, sig, limits).map_err(|e| match e {
        Error::ProtectionInvalid { .. } => Error::ProtectionInvalid {
            kind: "proof-of-possession",
        },
        other => other,
    })
}

/// Verifies the self-signature of a PKCS#10 request (the POP of p10cr).
pub fn verify_csr(csr: &CertReq, limits: &Limits) -> Result<()> {
    let info = csr
        .info
        .to_der()
        .map_err(Error::encode("CertificationRequestInfo"))?;
    let sig = csr.signature.as_bytes().ok_or(Error::ProtectionInvalid {
        kind: "PKCS#10 signature",
    })?;
    verify(&csr.info.public_key, &csr.algorithm, &info, sig, limits).map_err(|e| match e {
        Error::ProtectionInvalid { .. } => Error::ProtectionInvalid {
            kind: "PKCS#10 signature",
        },
        other => other,
    })
}
