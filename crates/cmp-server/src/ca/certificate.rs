//! Assembling and signing X.509 certificates and CRLs (RFC 5280 §4.1, §5.1).
//!
//! x509-cert keeps the fields of `TbsCertificate` private, so the to-be-signed part is
//! encoded from a mirror with the same DER, signed, and the result decoded back.

use std::time::{Duration, SystemTime};

use cmp_proto::protection::{HashAlg, SigningKey};
use const_oid::AssociatedOid;
use der::asn1::{BitString, OctetString};
use der::{Decode, Encode, Sequence};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::Certificate;
use x509_cert::crl::{CertificateList, TbsCertList};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier,
};
use x509_cert::ext::{Extension, Extensions};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};

use super::TestCaError;

/// TBSCertificate (RFC 5280 §4.1), v3 only.
#[derive(Sequence)]
struct TbsCertificateV3 {
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT")]
    version: u8,
    serial_number: SerialNumber,
    signature: AlgorithmIdentifierOwned,
    issuer: Name,
    validity: Validity,
    subject: Name,
    subject_public_key_info: SubjectPublicKeyInfoOwned,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    extensions: Option<Extensions>,
}

/// Certificate (RFC 5280 §4.1) around an encoded TBSCertificate.
#[derive(Sequence)]
struct SignedCertificate {
    tbs_certificate: TbsCertificateV3,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: BitString,
}

/// What goes into one certificate.
pub(crate) struct CertificateSpec {
    pub serial: SerialNumber,
    pub issuer: Name,
    pub subject: Name,
    pub not_before: SystemTime,
    pub not_after: SystemTime,
    pub public_key: SubjectPublicKeyInfoOwned,
    pub extensions: Vec<Extension>,
}

fn encoding(what: &'static str) -> impl FnOnce(der::Error) -> TestCaError {
    move |source| TestCaError::Encode { what, source }
}

/// An extension holding `value`.
pub(crate) fn extension<T: AssociatedOid + Encode>(
    value: &T,
    critical: bool,
) -> Result<Extension, TestCaError> {
    Ok(Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(value.to_der().map_err(encoding("extension"))?)
            .map_err(encoding("extension"))?,
    })
}

/// The subjectKeyIdentifier of a key: SHA-1 of the subjectPublicKey bits (RFC 5280
/// §4.2.1.2, method 1).
pub(crate) fn key_identifier(key: &SubjectPublicKeyInfoOwned) -> Result<OctetString, TestCaError> {
    OctetString::new(HashAlg::Sha1.digest(key.subject_public_key.raw_bytes()))
        .map_err(encoding("key identifier"))
}

/// subjectKeyIdentifier and authorityKeyIdentifier extensions.
pub(crate) fn key_identifiers(
    subject_key: &SubjectPublicKeyInfoOwned,
    issuer_key: &SubjectPublicKeyInfoOwned,
) -> Result<[Extension; 2], TestCaError> {
    Ok([
        extension(&SubjectKeyIdentifier(key_identifier(subject_key)?), false)?,
        extension(
            &AuthorityKeyIdentifier {
                key_identifier: Some(key_identifier(issuer_key)?),
                authority_cert_issuer: None,
                authority_cert_serial_number: None,
            },
            false,
        )?,
    ])
}

/// basicConstraints cA with keyCertSign and cRLSign (RFC 5280 §4.2.1.9, §4.2.1.3).
pub(crate) fn ca_extensions(path_len: Option<u8>) -> Result<[Extension; 2], TestCaError> {
    Ok([
        extension(
            &BasicConstraints {
                ca: true,
                path_len_constraint: path_len,
            },
            true,
        )?,
        extension(&KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign), true)?,
    ])
}

/// A time as X.509 wants it (UTCTime until 2049, GeneralizedTime after).
pub(crate) fn time(at: SystemTime) -> Result<Time, TestCaError> {
    Time::try_from(at).map_err(encoding("time"))
}

/// Signs `spec` with `key`.
pub(crate) fn sign_certificate(
    spec: CertificateSpec,
    key: &SigningKey,
) -> Result<Certificate, TestCaError> {
    let algorithm = key.algorithm_identifier().map_err(TestCaError::Key)?;
    let tbs = TbsCertificateV3 {
        version: 2,
        serial_number: spec.serial,
        signature: algorithm.clone(),
        issuer: spec.issuer,
        validity: Validity::new(time(spec.not_before)?, time(spec.not_after)?),
        subject: spec.subject,
        subject_public_key_info: spec.public_key,
        extensions: (!spec.extensions.is_empty()).then_some(spec.extensions),
    };
    let signature = key
        .sign(&tbs.to_der().map_err(encoding("TBSCertificate"))?)
        .map_err(TestCaError::Key)?;
    let der = SignedCertificate {
        tbs_certificate: tbs,
        signature_algorithm: algorithm,
        signature: BitString::from_bytes(&signature).map_err(encoding("signature"))?,
    }
    .to_der()
    .map_err(encoding("Certificate"))?;
    Certificate::from_der(&der).map_err(encoding("Certificate"))
}

/// Signs a CRL (RFC 5280 §5.1) with `key`.
pub(crate) fn sign_crl(
    mut tbs: TbsCertList,
    key: &SigningKey,
) -> Result<CertificateList, TestCaError> {
    let algorithm = key.algorithm_identifier().map_err(TestCaError::Key)?;
    tbs.signature = algorithm.clone();
    let signature = key
        .sign(&tbs.to_der().map_err(encoding("TBSCertList"))?)
        .map_err(TestCaError::Key)?;
    Ok(CertificateList {
        tbs_cert_list: tbs,
        signature_algorithm: algorithm,
        signature: BitString::from_bytes(&signature).map_err(encoding("signature"))?,
    })
}

/// One minute back, so that a peer whose clock is a little behind accepts the
/// certificate at once.
pub(crate) const BACKDATE: Duration = Duration::from_secs(60);
