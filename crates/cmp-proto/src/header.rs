//! The PKIHeader and the text and info values it carries.

use der::Sequence;
use der::asn1::OctetString;
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::pkix::name::GeneralName;

use crate::general::InfoTypeAndValue;
use crate::time::GenTime;

/// `pvno` value `cmp2000`: RFC 4210 messages.
pub const PVNO_CMP2000: u8 = 2;
/// `pvno` value `cmp2021`: messages that use an RFC 9480 feature (RFC 9480 §2.20).
pub const PVNO_CMP2021: u8 = 3;

/// An owned `PKIFreeText` (RFC 4210 §5.1.1).
///
/// ```text
/// PKIFreeText ::= SEQUENCE SIZE (1..MAX) OF UTF8String
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FreeText(pub Vec<String>);

impl FreeText {
    /// One line of free text.
    pub fn new(text: &str) -> der::Result<Self> {
        Ok(Self(vec![text.to_owned()]))
    }

    /// The lines joined by `"; "`, for display.
    pub fn joined(&self) -> String {
        let lines: Vec<&str> = self.0.iter().map(String::as_str).collect();
        lines.join("; ")
    }
}

impl<'a> der::DecodeValue<'a> for FreeText {
    type Error = der::Error;
    fn decode_value<R: der::Reader<'a>>(reader: &mut R, header: der::Header) -> der::Result<Self> {
        Ok(Self(Vec::decode_value(reader, header)?))
    }
}

impl der::EncodeValue for FreeText {
    fn value_len(&self) -> der::Result<der::Length> {
        self.0.value_len()
    }
    fn encode_value(&self, encoder: &mut impl der::Writer) -> der::Result<()> {
        self.0.encode_value(encoder)
    }
}

impl der::FixedTag for FreeText {
    const TAG: der::Tag = der::Tag::Sequence;
}

/// The header of every PKIMessage.
///
/// [RFC 4210 §5.1.1](https://www.rfc-editor.org/rfc/rfc4210#section-5.1.1), as updated by
/// [RFC 9480 §2.20](https://www.rfc-editor.org/rfc/rfc9480#section-2.20) (`cmp2021`):
/// ```text
/// PKIHeader ::= SEQUENCE {
///     pvno                INTEGER     { cmp1999(1), cmp2000(2), cmp2021(3) },
///     sender              GeneralName,
///     recipient           GeneralName,
///     messageTime     [0] GeneralizedTime         OPTIONAL,
///     protectionAlg   [1] AlgorithmIdentifier     OPTIONAL,
///     senderKID       [2] KeyIdentifier           OPTIONAL,
///     recipKID        [3] KeyIdentifier           OPTIONAL,
///     transactionID   [4] OCTET STRING            OPTIONAL,
///     senderNonce     [5] OCTET STRING            OPTIONAL,
///     recipNonce      [6] OCTET STRING            OPTIONAL,
///     freeText        [7] PKIFreeText             OPTIONAL,
///     generalInfo     [8] SEQUENCE SIZE (1..MAX) OF InfoTypeAndValue OPTIONAL }
/// ```
/// The CMP module uses EXPLICIT tagging.
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct PkiHeader {
    /// Protocol version: 2 (`cmp2000`) or 3 (`cmp2021`).
    pub pvno: u8,
    /// Who sent the message.
    pub sender: GeneralName,
    /// Who the message is for.
    pub recipient: GeneralName,
    /// When the message was produced; fractional seconds as BouncyCastle writes them
    /// are kept (see [`GenTime`]).
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub message_time: Option<GenTime>,
    /// The protection algorithm with its parameters (salt, iterations, ...).
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    pub protection_alg: Option<AlgorithmIdentifierOwned>,
    /// Identifies the sender's key or shared secret (the reference for MAC protection).
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    pub sender_kid: Option<OctetString>,
    /// Identifies the recipient's key.
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    pub recip_kid: Option<OctetString>,
    /// Identifies the transaction; the same in every message of it.
    #[asn1(context_specific = "4", tag_mode = "EXPLICIT", optional = "true")]
    pub transaction_id: Option<OctetString>,
    /// A fresh random value from the sender, against replay.
    #[asn1(context_specific = "5", tag_mode = "EXPLICIT", optional = "true")]
    pub sender_nonce: Option<OctetString>,
    /// The peer's last senderNonce, echoed.
    #[asn1(context_specific = "6", tag_mode = "EXPLICIT", optional = "true")]
    pub recip_nonce: Option<OctetString>,
    /// Text for people.
    #[asn1(context_specific = "7", tag_mode = "EXPLICIT", optional = "true")]
    pub free_text: Option<FreeText>,
    /// Machine-readable context (implicitConfirm, confirmWaitTime, certProfile, ...).
    #[asn1(context_specific = "8", tag_mode = "EXPLICIT", optional = "true")]
    pub general_info: Option<Vec<InfoTypeAndValue>>,
}

impl PkiHeader {
    /// The generalInfo entry with this info type, if present.
    pub fn general_info(
        &self,
        info_type: &const_oid::ObjectIdentifier,
    ) -> Option<&InfoTypeAndValue> {
        self.general_info
            .as_deref()
            .unwrap_or_default()
            .iter()
            .find(|itav| &itav.info_type == info_type)
    }

    /// Whether generalInfo carries `implicitConfirm` (RFC 4210 §5.1.1.1).
    pub fn has_implicit_confirm(&self) -> bool {
        self.general_info(&crate::oid::IT_IMPLICIT_CONFIRM)
            .is_some()
    }
}
