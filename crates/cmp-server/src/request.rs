//! Reading what a request asks for, and checking its proof-of-possession, before the CA
//! sees it (RFC 4210 §5.3.1–§5.3.5, RFC 4211 §4, RFC 9483 §4.1).

use std::time::SystemTime;

use cmp_proto::crmf::{CertReqMsg, CertTemplate, ProofOfPossession};
use cmp_proto::oid;
use cmp_proto::protection::{verify_csr, verify_signature_pop};
use cmp_proto::{PkiBody, PkiMessage};
use const_oid::AssociatedOid;
use der::Decode;
use x509_cert::Certificate;
use x509_cert::ext::pkix::crl::CrlReason;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;
use x509_cert::request::{CertReq, ExtensionReq};
use x509_cert::serial_number::SerialNumber;

use crate::authority::{
    CertificateAuthority, CertificationRequest, RequestKind, RevocationRequest,
};
use crate::config::{ResponderLimits, RevocationPolicy};
use crate::error::Error;
use crate::protection::Authenticated;
use crate::requester::Requester;

/// The CertificationRequest for an ir, cr, kur or p10cr, with its kind and certReqId.
pub(crate) fn certification_request(
    msg: &PkiMessage,
    auth: &Authenticated,
    ca: &impl CertificateAuthority,
    limits: &ResponderLimits,
    now: SystemTime,
) -> Result<(RequestKind, i64, CertificationRequest), Error> {
    let (kind, messages) = match &msg.body {
        PkiBody::Ir(m) => (RequestKind::Ir, m),
        PkiBody::Cr(m) => (RequestKind::Cr, m),
        PkiBody::Kur(m) => (RequestKind::Kur, m),
        PkiBody::P10cr(csr) => return p10cr_request(msg, csr, auth, limits),
        other => return Err(Error::UnexpectedBody(other.body_type())),
    };
    // RFC 9483 §4.1.1: exactly one CertReqMsg.
    let [req] = messages.as_slice() else {
        return Err(Error::BadRequest(
            "the request must hold exactly one CertReqMsg",
        ));
    };
    let template = &req.cert_req.cert_template;
    let public_key = template.public_key.clone().ok_or(Error::BadRequest(
        "the template holds no public key (central key generation is not offered)",
    ))?;
    check_pop(req, &msg.header.sender, &auth.requester, limits)?;
    let (old_cert, old_cert_id) = if kind == RequestKind::Kur {
        let (old, id) = old_certificate(req, &auth.requester)?;
        if !ca.is_current(&id.0, &id.1, now) {
            return Err(Error::BadCertId(
                "the certificate to update is not a current certificate of this CA",
            ));
        }
        if old
            .as_ref()
            .is_some_and(|c| c.tbs_certificate().subject_public_key_info() == &public_key)
        {
            return Err(Error::BadRequest("kur must certify a new key"));
        }
        (old, Some(id))
    } else {
        (None, None)
    };
    Ok((
        kind,
        req.cert_req.cert_req_id,
        CertificationRequest {
            kind,
            transaction_id: transaction_id(msg),
            requester: auth.requester.clone(),
            public_key,
            template: template.clone(),
            csr: None,
            old_cert,
            old_cert_id,
            profile: profile(msg),
        },
    ))
}

/// Checks the proof-of-possession of a CRMF request (RFC 4211 §4): a signature with the
/// template's key, or raVerified from a requester registered as an RA.
fn check_pop(
    req: &CertReqMsg,
    sender: &GeneralName,
    requester: &Requester,
    limits: &ResponderLimits,
) -> Result<(), Error> {
    match &req.popo {
        Some(ProofOfPossession::Signature(_)) => verify_signature_pop(req, sender, &limits.message)
            .map_err(|e| Error::BadPop(e.to_string())),
        Some(ProofOfPossession::RaVerified(_)) if requester.may_act_as_ra() => Ok(()),
        Some(ProofOfPossession::RaVerified(_)) => Err(Error::RaVerifiedNotAllowed),
        Some(_) => Err(Error::BadPop(
            "only signature and raVerified proof-of-possession are supported".into(),
        )),
        None => Err(Error::BadPop(
            "the request carries no proof-of-possession".into(),
        )),
    }
}

/// The certificate a kur updates (RFC 4210 §5.3.5, RFC 9483 §4.1.3): the signer's
/// certificate when signed, which an oldCertID control must then name; by MAC, the
/// oldCertID control alone.
fn old_certificate(
    req: &CertReqMsg,
    requester: &Requester,
) -> Result<(Option<Certificate>, (Name, SerialNumber)), Error> {
    let control = req
        .cert_req
        .controls
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find_map(|c| c.as_old_cert_id())
        .transpose()
        .map_err(|_| Error::BadRequest("the oldCertID control does not decode"))?
        .map(|id| match id.issuer {
            GeneralName::DirectoryName(issuer) => Ok((issuer, id.serial_number)),
            _ => Err(Error::BadCertId(
                "oldCertID must name its issuer by directoryName",
            )),
        })
        .transpose()?;
    match requester {
        Requester::Signer { certificate, .. } => {
            let tbs = certificate.tbs_certificate();
            let signer_id = (tbs.issuer().clone(), tbs.serial_number().clone());
            if control.as_ref().is_some_and(|c| c != &signer_id) {
                return Err(Error::BadCertId(
                    "oldCertID names another certificate than the one signing the kur",
                ));
            }
            Ok((Some((**certificate).clone()), signer_id))
        }
        Requester::Mac { .. } => control
            .map(|id| (None, id))
            .ok_or(Error::BadCertId("a MAC-protected kur must carry oldCertID")),
    }
}

/// A p10cr: the CSR's own signature is its proof-of-possession (RFC 4210 §5.3.4); the
/// template is made of its subject, key and requested extensions.
fn p10cr_request(
    msg: &PkiMessage,
    csr: &CertReq,
    auth: &Authenticated,
    limits: &ResponderLimits,
) -> Result<(RequestKind, i64, CertificationRequest), Error> {
    verify_csr(csr, &limits.message).map_err(|e| Error::BadPop(e.to_string()))?;
    let mut extensions = Vec::new();
    for attribute in csr.info.attributes.iter() {
        if attribute.oid != ExtensionReq::OID {
            continue;
        }
        for value in attribute.values.iter() {
            let requested = value
                .decode_as::<ExtensionReq>()
                .map_err(|_| Error::BadRequest("the CSR's extensionRequest does not decode"))?;
            extensions.extend(requested.0);
        }
    }
    let template = CertTemplate {
        subject: Some(csr.info.subject.clone()),
        public_key: Some(csr.info.public_key.clone()),
        extensions: (!extensions.is_empty()).then_some(extensions),
        ..CertTemplate::default()
    };
    Ok((
        RequestKind::P10cr,
        -1,
        CertificationRequest {
            kind: RequestKind::P10cr,
            transaction_id: transaction_id(msg),
            requester: auth.requester.clone(),
            public_key: csr.info.public_key.clone(),
            template,
            csr: Some(csr.clone()),
            old_cert: None,
            old_cert_id: None,
            profile: profile(msg),
        },
    ))
}

/// The RevocationRequest of an rr (RFC 4210 §5.3.9, RFC 9483 §4.2): one certificate,
/// named by issuer and serial number. A signer that is not an RA may revoke only its own
/// certificate; a MAC credential stands for an account, as EJBCA's RA mode does.
pub(crate) fn revocation_request(
    msg: &PkiMessage,
    auth: &Authenticated,
    ca: &impl CertificateAuthority,
    policy: RevocationPolicy,
) -> Result<RevocationRequest, Error> {
    let PkiBody::Rr(content) = &msg.body else {
        return Err(Error::UnexpectedBody(msg.body.body_type()));
    };
    let [details] = content.as_slice() else {
        return Err(Error::BadRequest("rr must name exactly one certificate"));
    };
    let template = &details.cert_details;
    let (Some(issuer), Some(serial)) = (&template.issuer, &template.serial_number) else {
        return Err(Error::BadCertId(
            "rr must give the issuer and serial number",
        ));
    };
    may_revoke(&auth.requester, issuer, serial, ca, policy)?;
    let reason = details
        .crl_entry_details
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|e| e.extn_id == CrlReason::OID)
        .map(|e| CrlReason::from_der(e.extn_value.as_bytes()))
        .transpose()
        .map_err(|_| Error::BadRequest("the reasonCode does not decode"))?;
    Ok(RevocationRequest {
        requester: auth.requester.clone(),
        issuer: issuer.clone(),
        serial: serial.clone(),
        reason: reason.map(|r| r as u8),
    })
}

/// Whether `requester` may revoke `issuer`/`serial` under `policy` (RFC 9483 §4.2 leaves
/// the authorization to the PKI): an RA any certificate; a signer its own, or one issued
/// to it; a MAC credential one issued to it, or any under
/// [`RevocationPolicy::MacAccountsRevokeAny`].
fn may_revoke(
    requester: &Requester,
    issuer: &Name,
    serial: &SerialNumber,
    ca: &impl CertificateAuthority,
    policy: RevocationPolicy,
) -> Result<(), Error> {
    if requester.may_act_as_ra() {
        return Ok(());
    }
    let allowed = match requester {
        Requester::Signer { certificate, .. } => {
            let tbs = certificate.tbs_certificate();
            (tbs.issuer() == issuer && tbs.serial_number() == serial)
                || ca.issued_to(issuer, serial, requester)
        }
        Requester::Mac { .. } => {
            policy == RevocationPolicy::MacAccountsRevokeAny
                || ca.issued_to(issuer, serial, requester)
        }
    };
    if allowed {
        Ok(())
    } else {
        Err(Error::RevocationNotAllowed)
    }
}

fn transaction_id(msg: &PkiMessage) -> Vec<u8> {
    msg.header
        .transaction_id
        .as_ref()
        .map(|t| t.as_bytes().to_vec())
        .unwrap_or_default()
}

/// The first certificate profile named in generalInfo (RFC 9480 §2.4).
fn profile(msg: &PkiMessage) -> Option<String> {
    msg.header
        .general_info
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter(|itav| itav.info_type == oid::IT_CERT_PROFILE)
        .find_map(|itav| itav.cert_profile_names().ok().flatten())
        .and_then(|names| names.into_iter().next())
}
