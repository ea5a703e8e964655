//! Request bodies: CRMF certificate requests with proof-of-possession, revocation
//! details and certificate confirmations.

use const_oid::AssociatedOid;
use der::Encode;
use der::asn1::{Null, OctetString};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::Certificate;
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;
use x509_cert::time::Time;

use crate::confirm::CertStatus;
use crate::crmf::{
    AttributeTypeAndValue, AuthInfo, CertId, CertReqMsg, CertRequest, CertTemplate,
    OptionalValidity, PopoSigningKey, PopoSigningKeyInput, ProofOfPossession,
};
use crate::error::{Error, Result};
use crate::protection::{HashAlg, SigningKey, sign_to_bit_string};
use crate::revocation::RevDetails;
use crate::status::PkiStatusInfo;

pub use x509_cert::ext::pkix::crl::CrlReason;

/// A CRMF certificate request (RFC 4211 §5) for ir, cr, kur, krr or ccr.
#[derive(Clone, Debug)]
pub struct CertRequestBuilder {
    request: CertRequest,
}

impl CertRequestBuilder {
    /// A request to certify `public_key`, certReqId 0 (RFC 9483 §4.1.1).
    pub fn new(public_key: SubjectPublicKeyInfoOwned) -> Self {
        Self {
            request: CertRequest {
                cert_req_id: 0,
                cert_template: CertTemplate {
                    public_key: Some(public_key),
                    ..CertTemplate::default()
                },
                controls: None,
            },
        }
    }

    /// A request from a complete template (as an RA that forwards one).
    pub fn from_template(cert_template: CertTemplate) -> Self {
        Self {
            request: CertRequest {
                cert_req_id: 0,
                cert_template,
                controls: None,
            },
        }
    }

    /// Sets the certReqId.
    pub fn cert_req_id(mut self, id: i64) -> Self {
        self.request.cert_req_id = id;
        self
    }

    /// Sets the subject.
    pub fn subject(mut self, subject: Name) -> Self {
        self.request.cert_template.subject = Some(subject);
        self
    }

    /// Sets the issuer the request is for.
    pub fn issuer(mut self, issuer: Name) -> Self {
        self.request.cert_template.issuer = Some(issuer);
        self
    }

    /// Asks for a validity period; either end may be left to the CA.
    pub fn validity(mut self, not_before: Option<Time>, not_after: Option<Time>) -> Self {
        self.request.cert_template.validity = Some(OptionalValidity {
            not_before: not_before.map(Into::into),
            not_after: not_after.map(Into::into),
        });
        self
    }

    /// Adds an extension to the template, replacing one of the same type.
    pub fn extension<T: AssociatedOid + Encode>(
        mut self,
        critical: bool,
        value: &T,
    ) -> Result<Self> {
        let ext = Extension {
            extn_id: T::OID,
            critical,
            extn_value: OctetString::new(value.to_der().map_err(Error::encode("extension"))?)
                .map_err(Error::encode("extension"))?,
        };
        let exts = self
            .request
            .cert_template
            .extensions
            .get_or_insert_with(Vec::new);
        exts.retain(|e| e.extn_id != ext.extn_id);
        exts.push(ext);
        Ok(self)
    }

    /// Adds a control (regToken, authenticator, ...).
    pub fn control(mut self, control: AttributeTypeAndValue) -> Self {
        self.request
            .controls
            .get_or_insert_with(Vec::new)
            .push(control);
        self
    }

    /// Names the certificate being updated (kur, RFC 4211 §6.5; RFC 9483 §4.1.3).
    pub fn old_cert(self, old: &Certificate) -> Result<Self> {
        Ok(self.control(AttributeTypeAndValue::old_cert_id(&CertId::of(old))?))
    }

    /// The CertRequest as it stands.
    pub fn request(&self) -> &CertRequest {
        &self.request
    }

    /// Proves possession by signing with the key being certified (RFC 4211 §4.1).
    ///
    /// With subject and public key in the template the signature covers the DER
    /// CertRequest; without a subject it covers a POPOSigningKeyInput naming `sender`.
    pub fn sign_pop(self, key: &SigningKey) -> Result<CertReqMsg> {
        self.sign_pop_as(key, None)
    }

    /// As [`Self::sign_pop`], with the authenticated sender for a template without a
    /// subject.
    pub fn sign_pop_as(self, key: &SigningKey, sender: Option<&GeneralName>) -> Result<CertReqMsg> {
        let template = &self.request.cert_template;
        let public_key = template.public_key.clone().ok_or(Error::InvalidInput {
            reason: "a signature POP needs the public key in the template",
        })?;
        if public_key != key.public_key_info()? {
            return Err(Error::InvalidInput {
                reason: "the POP key is not the key in the template",
            });
        }
        let (poposk_input, signed) = if template.subject.is_some() {
            (
                None,
                self.request
                    .to_der()
                    .map_err(Error::encode("CertRequest"))?,
            )
        } else {
            let sender = sender.ok_or(Error::InvalidInput {
                reason: "a template without a subject needs the sender for POPOSigningKeyInput",
            })?;
            let input = PopoSigningKeyInput {
                auth_info: AuthInfo::Sender(sender.clone()),
                public_key,
            };
            let der = input
                .to_der()
                .map_err(Error::encode("POPOSigningKeyInput"))?;
            (Some(input), der)
        };
        let popo = ProofOfPossession::Signature(PopoSigningKey {
            poposk_input,
            algorithm_identifier: key.algorithm_identifier()?,
            signature: sign_to_bit_string(key, &signed)?,
        });
        Ok(CertReqMsg {
            cert_req: self.request,
            popo: Some(popo),
            reg_info: None,
        })
    }

    /// Declares possession verified by the RA sending this (RFC 4211 §4, RFC 9483 §5.2.2).
    pub fn ra_verified(self) -> CertReqMsg {
        CertReqMsg {
            cert_req: self.request,
            popo: Some(ProofOfPossession::RaVerified(Null)),
            reg_info: None,
        }
    }

    /// No proof-of-possession (central key generation, RFC 9483 §4.1.6).
    pub fn without_pop(self) -> CertReqMsg {
        CertReqMsg {
            cert_req: self.request,
            popo: None,
            reg_info: None,
        }
    }
}

/// RevDetails for revoking `cert`, with an optional reason (RFC 9483 §4.2: issuer and
/// serialNumber in certDetails, reasonCode in crlEntryDetails).
pub fn rev_details(cert: &Certificate, reason: Option<CrlReason>) -> Result<RevDetails> {
    let tbs = cert.tbs_certificate();
    let crl_entry_details = reason
        .map(|reason| -> Result<Vec<Extension>> {
            Ok(vec![Extension {
                extn_id: CrlReason::OID,
                critical: false,
                extn_value: OctetString::new(reason.to_der().map_err(Error::encode("reasonCode"))?)
                    .map_err(Error::encode("reasonCode"))?,
            }])
        })
        .transpose()?;
    Ok(RevDetails {
        cert_details: CertTemplate {
            serial_number: Some(tbs.serial_number().clone()),
            issuer: Some(tbs.issuer().clone()),
            ..CertTemplate::default()
        },
        crl_entry_details,
    })
}

/// A CertStatus confirming (`status` None or accepted) or rejecting `cert`
/// (RFC 4210 §5.3.18, RFC 9480 §2.10).
///
/// certHash uses the hash of the certificate's signature algorithm. When that names no
/// hash (Ed25519), SHA-512 is used and stated in hashAlg, which needs pvno 3: the
/// second value returned says whether the message must be sent as pvno 3.
pub fn cert_status(
    cert: &Certificate,
    cert_req_id: i64,
    status: Option<PkiStatusInfo>,
) -> Result<(CertStatus, bool)> {
    let der = cert.to_der().map_err(Error::encode("certificate"))?;
    let (hash, hash_alg) = match HashAlg::of_signature_algorithm(cert.signature_algorithm())? {
        Some(hash) => (hash, None),
        None => (HashAlg::Sha512, Some(HashAlg::Sha512.digest_algorithm())),
    };
    let needs_v3 = hash_alg.is_some();
    Ok((
        CertStatus {
            cert_hash: OctetString::new(hash.digest(&der)).map_err(Error::encode("certHash"))?,
            cert_req_id,
            status_info: status,
            hash_alg,
        },
        needs_v3,
    ))
}

impl CertStatus {
    /// Whether `certHash` is the hash of `cert` (with hashAlg, or the hash of the
    /// certificate's signature algorithm).
    pub fn matches(&self, cert: &Certificate) -> Result<bool> {
        let hash = match &self.hash_alg {
            Some(alg) => HashAlg::from_digest_oid(&alg.oid)
                .ok_or_else(|| Error::unsupported("certConf hashAlg", &alg.oid))?,
            None => HashAlg::of_signature_algorithm(cert.signature_algorithm())?.ok_or(
                Error::InvalidInput {
                    reason: "the certificate's signature algorithm names no hash and hashAlg is absent",
                },
            )?,
        };
        let der = cert.to_der().map_err(Error::encode("certificate"))?;
        Ok(hash.digest(&der) == self.cert_hash.as_bytes())
    }
}
