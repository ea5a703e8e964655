//! Controls and registration info: AttributeTypeAndValue, CertId and publication info
//! (RFC 4211 §6 and §7).

use der::asn1::{Any, ObjectIdentifier};
use der::{Decode, Encode, Sequence};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;

use crate::error::{Error, Result};
use crate::oid;

/// One control or registration-info value.
///
/// [RFC 4211 §6](https://www.rfc-editor.org/rfc/rfc4211#section-6):
/// ```text
/// AttributeTypeAndValue ::= SEQUENCE {
///     type         OBJECT IDENTIFIER,
///     value        ANY DEFINED BY type }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct AttributeTypeAndValue {
    /// What the value is (`id-regCtrl-*`, `id-regInfo-*`).
    pub value_type: ObjectIdentifier,
    /// The value, kept encoded; read it with the typed accessors.
    pub value: Any,
}

/// `Controls ::= SEQUENCE SIZE(1..MAX) OF AttributeTypeAndValue` (RFC 4211 §5).
pub type Controls = Vec<AttributeTypeAndValue>;

impl AttributeTypeAndValue {
    /// Wraps an encodable value under `value_type`.
    pub fn new(value_type: ObjectIdentifier, value: &impl Encode) -> Result<Self> {
        let der = value.to_der().map_err(Error::encode("control value"))?;
        let value = Any::from_der(&der).map_err(Error::encode("control value"))?;
        Ok(Self { value_type, value })
    }

    /// `id-regCtrl-oldCertID` naming the certificate being updated (RFC 4211 §6.5).
    pub fn old_cert_id(cert_id: &CertId) -> Result<Self> {
        Self::new(oid::REG_CTRL_OLD_CERT_ID, cert_id)
    }

    /// `id-regCtrl-regToken`: a one-time secret from the CA (RFC 4211 §6.1).
    pub fn reg_token(token: &str) -> Result<Self> {
        let value = der::asn1::Utf8StringRef::new(token).map_err(Error::encode("regToken"))?;
        Self::new(oid::REG_CTRL_REG_TOKEN, &value)
    }

    /// `id-regCtrl-authenticator`: a long-lived secret for later requests (RFC 4211 §6.2).
    pub fn authenticator(secret: &str) -> Result<Self> {
        let value =
            der::asn1::Utf8StringRef::new(secret).map_err(Error::encode("authenticator"))?;
        Self::new(oid::REG_CTRL_AUTHENTICATOR, &value)
    }

    /// Decodes the value as `T`, for a caller that knows the type.
    pub fn decode_value<T: for<'a> Decode<'a, Error = der::Error>>(&self) -> Result<T> {
        crate::general::decode_any(&self.value, "control value")
    }

    /// The value as oldCertID, if this is that control.
    pub fn as_old_cert_id(&self) -> Option<Result<CertId>> {
        (self.value_type == oid::REG_CTRL_OLD_CERT_ID).then(|| self.decode_value())
    }
}

/// Names a certificate by issuer and serial number.
///
/// [RFC 4211 §6.5](https://www.rfc-editor.org/rfc/rfc4211#section-6.5):
/// ```text
/// CertId ::= SEQUENCE {
///     issuer           GeneralName,
///     serialNumber     INTEGER }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct CertId {
    /// The issuer, normally a directoryName.
    pub issuer: GeneralName,
    /// The certificate's serial number.
    pub serial_number: SerialNumber,
}

impl CertId {
    /// The CertId of a certificate.
    pub fn of(cert: &x509_cert::Certificate) -> Self {
        Self {
            issuer: GeneralName::DirectoryName(cert.tbs_certificate().issuer().clone()),
            serial_number: cert.tbs_certificate().serial_number().clone(),
        }
    }
}

/// Where the CA should publish the certificate.
///
/// [RFC 4211 §6.3](https://www.rfc-editor.org/rfc/rfc4211#section-6.3):
/// ```text
/// PKIPublicationInfo ::= SEQUENCE {
///     action     INTEGER { dontPublish (0), pleasePublish (1) },
///     pubInfos  SEQUENCE SIZE (1..MAX) OF SinglePubInfo OPTIONAL }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct PkiPublicationInfo {
    /// 0 = dontPublish, 1 = pleasePublish.
    pub action: u8,
    /// Where to publish.
    #[asn1(optional = "true")]
    pub pub_infos: Option<Vec<SinglePubInfo>>,
}

/// One publication method and location (RFC 4211 §6.3).
///
/// ```text
/// SinglePubInfo ::= SEQUENCE {
///     pubMethod    INTEGER { dontCare (0), x500 (1), web (2), ldap (3) },
///     pubLocation  GeneralName OPTIONAL }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct SinglePubInfo {
    /// The method.
    pub pub_method: u8,
    /// The location.
    #[asn1(optional = "true")]
    pub pub_location: Option<GeneralName>,
}
