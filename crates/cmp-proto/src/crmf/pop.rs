//! Proof-of-possession (RFC 4211 §4).

use cms::enveloped_data::EnvelopedData;
use der::asn1::{BitString, Null};
use der::{Choice, Sequence};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::ext::pkix::name::GeneralName;

/// How the requester proves it holds the private key.
///
/// [RFC 4211 §4](https://www.rfc-editor.org/rfc/rfc4211#section-4):
/// ```text
/// ProofOfPossession ::= CHOICE {
///     raVerified        [0] NULL,
///     signature         [1] POPOSigningKey,
///     keyEncipherment   [2] POPOPrivKey,
///     keyAgreement      [3] POPOPrivKey }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Choice)]
#[allow(clippy::large_enum_variant)]
pub enum ProofOfPossession {
    /// An RA has verified possession (only an RA may send this).
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT")]
    RaVerified(Null),
    /// A signature with the key being certified.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", constructed = "true")]
    Signature(PopoSigningKey),
    /// For encryption keys (EXPLICIT: `POPOPrivKey` is a CHOICE).
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", constructed = "true")]
    KeyEncipherment(PopoPrivKey),
    /// For key-agreement keys (EXPLICIT: `POPOPrivKey` is a CHOICE).
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", constructed = "true")]
    KeyAgreement(PopoPrivKey),
}

/// A signature proving possession.
///
/// [RFC 4211 §4.1](https://www.rfc-editor.org/rfc/rfc4211#section-4.1):
/// ```text
/// POPOSigningKey ::= SEQUENCE {
///     poposkInput           [0] POPOSigningKeyInput OPTIONAL,
///     algorithmIdentifier   AlgorithmIdentifier,
///     signature             BIT STRING }
/// ```
/// Without `poposkInput`, the signature is over the DER of the `CertRequest`.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct PopoSigningKey {
    /// What was signed when the template lacks subject or public key.
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub poposk_input: Option<PopoSigningKeyInput>,
    /// The signature algorithm.
    pub algorithm_identifier: AlgorithmIdentifierOwned,
    /// The signature value.
    pub signature: BitString,
}

/// The input signed when the template lacks the subject or the public key.
///
/// [RFC 4211 §4.1](https://www.rfc-editor.org/rfc/rfc4211#section-4.1):
/// ```text
/// POPOSigningKeyInput ::= SEQUENCE {
///     authInfo            CHOICE {
///         sender              [0] GeneralName,
///         publicKeyMAC        PKMACValue },
///     publicKey           SubjectPublicKeyInfo }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct PopoSigningKeyInput {
    /// Who is asking.
    pub auth_info: AuthInfo,
    /// The key being certified.
    pub public_key: SubjectPublicKeyInfoOwned,
}

/// The `authInfo` CHOICE of [`PopoSigningKeyInput`].
#[derive(Clone, Debug, PartialEq, Eq, Choice)]
pub enum AuthInfo {
    /// The authenticated sender (EXPLICIT: `GeneralName` is a CHOICE).
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", constructed = "true")]
    Sender(GeneralName),
    /// A MAC over the public key with a shared secret.
    PublicKeyMac(PkMacValue),
}

/// A MAC value with its algorithm.
///
/// [RFC 4211 §4.1](https://www.rfc-editor.org/rfc/rfc4211#section-4.1):
/// ```text
/// PKMACValue ::= SEQUENCE {
///     algId  AlgorithmIdentifier,
///     value  BIT STRING }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct PkMacValue {
    /// The MAC algorithm (PasswordBasedMac or PBMAC1 with parameters).
    pub alg_id: AlgorithmIdentifierOwned,
    /// The MAC.
    pub value: BitString,
}

/// Proof of possession of an encryption or key-agreement key.
///
/// [RFC 4211 §4.2](https://www.rfc-editor.org/rfc/rfc4211#section-4.2), updated by
/// [RFC 9480 §2.8](https://www.rfc-editor.org/rfc/rfc9480#section-2.8):
/// ```text
/// POPOPrivKey ::= CHOICE {
///     thisMessage       [0] BIT STRING,  -- Deprecated
///     subsequentMessage [1] SubsequentMessage,
///     dhMAC             [2] BIT STRING,  -- Deprecated
///     agreeMAC          [3] PKMACValue,
///     encryptedKey      [4] EnvelopedData }
/// SubsequentMessage ::= INTEGER { encrCert (0), challengeResp (1) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Choice)]
#[allow(clippy::large_enum_variant)]
pub enum PopoPrivKey {
    /// The private key itself, encrypted (deprecated).
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT")]
    ThisMessage(BitString),
    /// Proof follows later: 0 = encrCert, 1 = challengeResp.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT")]
    SubsequentMessage(u8),
    /// A Diffie-Hellman MAC (deprecated).
    #[asn1(context_specific = "2", tag_mode = "IMPLICIT")]
    DhMac(BitString),
    /// A MAC with a key agreed with the CA.
    #[asn1(context_specific = "3", tag_mode = "IMPLICIT", constructed = "true")]
    AgreeMac(PkMacValue),
    /// The private key in CMS EnvelopedData.
    #[asn1(context_specific = "4", tag_mode = "IMPLICIT", constructed = "true")]
    EncryptedKey(EnvelopedData),
}
