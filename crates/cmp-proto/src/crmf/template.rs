//! CertTemplate and OptionalValidity (RFC 4211 §5).

use crate::time::TemplateTime;
use der::Sequence;
use der::asn1::BitString;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::ext::Extensions;
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;

/// The fields of the certificate being asked for; all optional.
///
/// [RFC 4211 §5](https://www.rfc-editor.org/rfc/rfc4211#section-5):
/// ```text
/// CertTemplate ::= SEQUENCE {
///     version      [0] Version               OPTIONAL,
///     serialNumber [1] INTEGER               OPTIONAL,
///     signingAlg   [2] AlgorithmIdentifier   OPTIONAL,
///     issuer       [3] Name                  OPTIONAL,
///     validity     [4] OptionalValidity      OPTIONAL,
///     subject      [5] Name                  OPTIONAL,
///     publicKey    [6] SubjectPublicKeyInfo  OPTIONAL,
///     issuerUID    [7] UniqueIdentifier      OPTIONAL,
///     subjectUID   [8] UniqueIdentifier      OPTIONAL,
///     extensions   [9] Extensions            OPTIONAL }
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Sequence)]
pub struct CertTemplate {
    /// X.509 version (2 means v3); RFC 4211 says omit it or set it to 2.
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub version: Option<u8>,
    /// Serial number; set by the CA, used in revocation templates.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub serial_number: Option<SerialNumber>,
    /// Signature algorithm the CA should use.
    #[asn1(context_specific = "2", tag_mode = "IMPLICIT", optional = "true")]
    pub signing_alg: Option<AlgorithmIdentifierOwned>,
    /// Issuer name (EXPLICIT: `Name` is a CHOICE).
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    pub issuer: Option<Name>,
    /// Requested validity.
    #[asn1(context_specific = "4", tag_mode = "IMPLICIT", optional = "true")]
    pub validity: Option<OptionalValidity>,
    /// Subject name (EXPLICIT: `Name` is a CHOICE).
    #[asn1(context_specific = "5", tag_mode = "EXPLICIT", optional = "true")]
    pub subject: Option<Name>,
    /// Public key to certify.
    #[asn1(context_specific = "6", tag_mode = "IMPLICIT", optional = "true")]
    pub public_key: Option<SubjectPublicKeyInfoOwned>,
    /// Issuer unique identifier.
    #[asn1(context_specific = "7", tag_mode = "IMPLICIT", optional = "true")]
    pub issuer_uid: Option<BitString>,
    /// Subject unique identifier.
    #[asn1(context_specific = "8", tag_mode = "IMPLICIT", optional = "true")]
    pub subject_uid: Option<BitString>,
    /// Requested extensions (subjectAltName, keyUsage, extKeyUsage, ...).
    #[asn1(context_specific = "9", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<Extensions>,
}

/// A validity period in which either end may be left to the CA.
///
/// [RFC 4211 §5](https://www.rfc-editor.org/rfc/rfc4211#section-5):
/// ```text
/// OptionalValidity ::= SEQUENCE {
///     notBefore  [0] Time OPTIONAL,
///     notAfter   [1] Time OPTIONAL } -- at least one MUST be present
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct OptionalValidity {
    /// Start of validity (EXPLICIT: `Time` is a CHOICE).
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub not_before: Option<TemplateTime>,
    /// End of validity.
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    pub not_after: Option<TemplateTime>,
}
