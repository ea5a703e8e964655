//! EncryptedValue (RFC 4211 §2.1) and EncryptedKey (RFC 9480 §2.7).

use cms::enveloped_data::EnvelopedData;
use der::asn1::{BitString, OctetString};
use der::{Choice, Sequence};
use spki::AlgorithmIdentifierOwned;

/// A value encrypted under a symmetric key that is itself encrypted (deprecated by
/// RFC 9480 in favour of EnvelopedData, still sent by older peers).
///
/// [RFC 4211 §2.1](https://www.rfc-editor.org/rfc/rfc4211#section-2.1):
/// ```text
/// EncryptedValue ::= SEQUENCE {
///     intendedAlg   [0] AlgorithmIdentifier  OPTIONAL,
///     symmAlg       [1] AlgorithmIdentifier  OPTIONAL,
///     encSymmKey    [2] BIT STRING           OPTIONAL,
///     keyAlg        [3] AlgorithmIdentifier  OPTIONAL,
///     valueHint     [4] OCTET STRING         OPTIONAL,
///     encValue       BIT STRING }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct EncryptedValue {
    /// The algorithm the value is for.
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub intended_alg: Option<AlgorithmIdentifierOwned>,
    /// The symmetric algorithm that encrypts the value.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub symm_alg: Option<AlgorithmIdentifierOwned>,
    /// The encrypted symmetric key.
    #[asn1(context_specific = "2", tag_mode = "IMPLICIT", optional = "true")]
    pub enc_symm_key: Option<BitString>,
    /// The algorithm that encrypts the symmetric key.
    #[asn1(context_specific = "3", tag_mode = "IMPLICIT", optional = "true")]
    pub key_alg: Option<AlgorithmIdentifierOwned>,
    /// A hint to the content.
    #[asn1(context_specific = "4", tag_mode = "IMPLICIT", optional = "true")]
    pub value_hint: Option<OctetString>,
    /// The encrypted value.
    pub enc_value: BitString,
}

/// An encrypted certificate or private key.
///
/// [RFC 9480 §2.7](https://www.rfc-editor.org/rfc/rfc9480#section-2.7):
/// ```text
/// EncryptedKey ::= CHOICE {
///     encryptedValue        EncryptedValue, -- deprecated
///     envelopedData     [0] EnvelopedData }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Choice)]
#[allow(clippy::large_enum_variant)]
pub enum EncryptedKey {
    /// The RFC 4211 form.
    EncryptedValue(EncryptedValue),
    /// The CMS form (IMPLICIT, in the CRMF module).
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", constructed = "true")]
    EnvelopedData(EnvelopedData),
}
