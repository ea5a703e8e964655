//! General messages: InfoTypeAndValue, GenMsgContent, GenRepContent, and typed access to
//! the RFC 9480 info types (RFC 4210 §5.3.19–§5.3.20, RFC 9480 §2.14–§2.17).

use der::asn1::{Any, Null, ObjectIdentifier};
use der::{Choice, Decode, Encode, Sequence};
use spki::AlgorithmIdentifierOwned;
use x509_cert::Certificate;
use x509_cert::crl::CertificateList;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralNames};
use x509_cert::time::Time;

use crate::crmf::{CertTemplate, Controls};
use crate::error::{Error, Result};
use crate::oid;

/// A typed piece of information, in generalInfo or in genm/genp bodies.
///
/// [RFC 4210 §5.3.19](https://www.rfc-editor.org/rfc/rfc4210#section-5.3.19):
/// ```text
/// InfoTypeAndValue ::= SEQUENCE {
///     infoType               OBJECT IDENTIFIER,
///     infoValue              ANY DEFINED BY infoType  OPTIONAL }
/// ```
/// The value stays encoded; the typed accessors below decode the RFC 9480 types.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct InfoTypeAndValue {
    /// What the value is (`id-it-*`).
    pub info_type: ObjectIdentifier,
    /// The value; absent in a request for that information.
    #[asn1(optional = "true")]
    pub info_value: Option<Any>,
}

/// The body of genm.
///
/// [RFC 4210 §5.3.19](https://www.rfc-editor.org/rfc/rfc4210#section-5.3.19):
/// ```text
/// GenMsgContent ::= SEQUENCE OF InfoTypeAndValue
/// ```
pub type GenMsgContent = Vec<InfoTypeAndValue>;

/// The body of genp.
///
/// [RFC 4210 §5.3.20](https://www.rfc-editor.org/rfc/rfc4210#section-5.3.20):
/// ```text
/// GenRepContent ::= SEQUENCE OF InfoTypeAndValue
/// ```
pub type GenRepContent = Vec<InfoTypeAndValue>;

/// A new root CA certificate with the cross certificates that link it to the old one.
///
/// [RFC 9480 §2.15](https://www.rfc-editor.org/rfc/rfc9480#section-2.15):
/// ```text
/// RootCaKeyUpdateValue ::= RootCaKeyUpdateContent
/// RootCaKeyUpdateContent ::= SEQUENCE {
///     newWithNew              CMPCertificate,
///     newWithOld          [0] CMPCertificate OPTIONAL,
///     oldWithNew          [1] CMPCertificate OPTIONAL }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct RootCaKeyUpdateContent {
    /// The new root, self-signed.
    pub new_with_new: Certificate,
    /// The new root's key certified by the old root.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub new_with_old: Option<Certificate>,
    /// The old root's key certified by the new root.
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    pub old_with_new: Option<Certificate>,
}

/// The template a CA wants requests to follow.
///
/// [RFC 9480 §2.16](https://www.rfc-editor.org/rfc/rfc9480#section-2.16):
/// ```text
/// CertReqTemplateContent ::= SEQUENCE {
///     certTemplate           CertTemplate,
///     keySpec                Controls OPTIONAL }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct CertReqTemplateContent {
    /// The fields the CA fixes or expects.
    pub cert_template: CertTemplate,
    /// Key algorithm and parameters the CA wants (`id-regCtrl-algId`, `-rsaKeyLen`).
    #[asn1(optional = "true")]
    pub key_spec: Option<Controls>,
}

/// Where a CRL comes from.
///
/// [RFC 9480 §2.17](https://www.rfc-editor.org/rfc/rfc9480#section-2.17):
/// ```text
/// CRLSource ::= CHOICE {
///     dpn          [0] DistributionPointName,
///     issuer       [1] GeneralNames }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Choice)]
pub enum CrlSource {
    /// A distribution point name (EXPLICIT: it is a CHOICE).
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", constructed = "true")]
    Dpn(DistributionPointName),
    /// The CRL issuer.
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", constructed = "true")]
    Issuer(GeneralNames),
}

/// A CRL the requester has, so the CA sends only a newer one.
///
/// [RFC 9480 §2.17](https://www.rfc-editor.org/rfc/rfc9480#section-2.17):
/// ```text
/// CRLStatus ::= SEQUENCE {
///     source       CRLSource,
///     thisUpdate   Time OPTIONAL }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct CrlStatus {
    /// Which CRL.
    pub source: CrlSource,
    /// The thisUpdate of the copy held.
    #[asn1(optional = "true")]
    pub this_update: Option<Time>,
}

/// Decodes an `ANY` value as `T`.
pub(crate) fn decode_any<T>(any: &Any, what: &'static str) -> Result<T>
where
    T: for<'a> Decode<'a, Error = der::Error>,
{
    let der = any.to_der().map_err(Error::encode(what))?;
    T::from_der(&der).map_err(Error::decode(what))
}

fn any_of(value: &impl Encode, what: &'static str) -> Result<Any> {
    let der = value.to_der().map_err(Error::encode(what))?;
    Any::from_der(&der).map_err(Error::encode(what))
}

impl InfoTypeAndValue {
    /// An entry without a value: how genm asks for a type of information.
    pub fn request(info_type: ObjectIdentifier) -> Self {
        Self {
            info_type,
            info_value: None,
        }
    }

    /// An entry with an encoded value.
    pub fn with_value(info_type: ObjectIdentifier, value: &impl Encode) -> Result<Self> {
        Ok(Self {
            info_type,
            info_value: Some(any_of(value, "infoValue")?),
        })
    }

    /// `implicitConfirm` for generalInfo (RFC 4210 §5.1.1.1): value NULL.
    pub fn implicit_confirm() -> Self {
        Self {
            info_type: oid::IT_IMPLICIT_CONFIRM,
            info_value: Some(Any::from(Null)),
        }
    }

    /// `certProfile` for generalInfo (RFC 9480 §2.4): the profile names.
    pub fn cert_profile(names: &[&str]) -> Result<Self> {
        let names = names
            .iter()
            .map(|n| Ok(String::from(*n)))
            .collect::<der::Result<Vec<_>>>()
            .map_err(Error::encode("certProfile"))?;
        Self::with_value(oid::IT_CERT_PROFILE, &names)
    }

    /// `caCerts` in a genp (RFC 9480 §2.14).
    pub fn ca_certs_value(certs: &[Certificate]) -> Result<Self> {
        Self::with_value(oid::IT_CA_CERTS, &certs.to_vec())
    }

    /// `rootCaKeyUpdate` in a genp (RFC 9480 §2.15).
    pub fn root_ca_key_update_value(content: &RootCaKeyUpdateContent) -> Result<Self> {
        Self::with_value(oid::IT_ROOT_CA_KEY_UPDATE, content)
    }

    /// `rootCaCert` in a genm asking for a root update (RFC 9480 §2.15).
    pub fn root_ca_cert(old_root: &Certificate) -> Result<Self> {
        Self::with_value(oid::IT_ROOT_CA_CERT, old_root)
    }

    /// `certReqTemplate` in a genp (RFC 9480 §2.16).
    pub fn cert_req_template_value(content: &CertReqTemplateContent) -> Result<Self> {
        Self::with_value(oid::IT_CERT_REQ_TEMPLATE, content)
    }

    /// `crlStatusList` in a genm (RFC 9480 §2.17).
    pub fn crl_status_list(list: &[CrlStatus]) -> Result<Self> {
        Self::with_value(oid::IT_CRL_STATUS_LIST, &list.to_vec())
    }

    /// `crls` in a genp (RFC 9480 §2.17).
    pub fn crls_value(crls: &[CertificateList]) -> Result<Self> {
        Self::with_value(oid::IT_CRLS, &crls.to_vec())
    }

    /// `signKeyPairTypes` in a genp (RFC 4210 §5.3.19.2).
    pub fn sign_key_pair_types_value(algs: &[AlgorithmIdentifierOwned]) -> Result<Self> {
        Self::with_value(oid::IT_SIGN_KEY_PAIR_TYPES, &algs.to_vec())
    }

    fn typed<T>(&self, expected: ObjectIdentifier, what: &'static str) -> Result<Option<T>>
    where
        T: for<'a> Decode<'a, Error = der::Error>,
    {
        if self.info_type != expected {
            return Err(Error::InvalidInput {
                reason: "info type does not match the accessor",
            });
        }
        self.info_value
            .as_ref()
            .map(|v| decode_any(v, what))
            .transpose()
    }

    /// The CA certificates of a `caCerts` entry (None when asked for, not given).
    pub fn ca_certs(&self) -> Result<Option<Vec<Certificate>>> {
        self.typed(oid::IT_CA_CERTS, "caCerts")
    }

    /// The content of a `rootCaKeyUpdate` entry (None when the root is current).
    pub fn root_ca_key_update(&self) -> Result<Option<RootCaKeyUpdateContent>> {
        self.typed(oid::IT_ROOT_CA_KEY_UPDATE, "rootCaKeyUpdate")
    }

    /// The old root of a `rootCaCert` entry.
    pub fn root_ca_cert_value(&self) -> Result<Option<Certificate>> {
        self.typed(oid::IT_ROOT_CA_CERT, "rootCaCert")
    }

    /// The content of a `certReqTemplate` entry (None when the CA has none).
    pub fn cert_req_template(&self) -> Result<Option<CertReqTemplateContent>> {
        self.typed(oid::IT_CERT_REQ_TEMPLATE, "certReqTemplate")
    }

    /// The CRLs held by the requester, from a `crlStatusList` entry.
    pub fn crl_status_list_value(&self) -> Result<Option<Vec<CrlStatus>>> {
        self.typed(oid::IT_CRL_STATUS_LIST, "crlStatusList")
    }

    /// The CRLs of a `crls` entry.
    pub fn crls(&self) -> Result<Option<Vec<CertificateList>>> {
        self.typed(oid::IT_CRLS, "crls")
    }

    /// The profile names of a `certProfile` entry.
    pub fn cert_profile_names(&self) -> Result<Option<Vec<String>>> {
        let names: Option<Vec<String>> = self.typed(oid::IT_CERT_PROFILE, "certProfile")?;
        Ok(names)
    }

    /// The algorithms of a `signKeyPairTypes` entry.
    pub fn sign_key_pair_types(&self) -> Result<Option<Vec<AlgorithmIdentifierOwned>>> {
        self.typed(oid::IT_SIGN_KEY_PAIR_TYPES, "signKeyPairTypes")
    }

    /// Whether this entry is a well-formed `implicitConfirm` (value absent or NULL).
    pub fn is_implicit_confirm(&self) -> bool {
        self.info_type == oid::IT_IMPLICIT_CONFIRM
            && self
                .info_value
                .as_ref()
                .is_none_or(|v| v.decode_as::<Null>().is_ok())
    }
}
