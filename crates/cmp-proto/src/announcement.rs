//! The bodies that this crate carries but does not interpret: announcements, key
//! recovery, cross-certification and decryption challenges (RFC 4210 §5.3.5–§5.3.8,
//! §5.3.11–§5.3.17).
//!
//! Each is kept as its encoded TLV, so a message that holds one decodes and re-encodes
//! exactly; a caller that needs the content decodes it from [`OpaqueContent::der`].

use der::asn1::Any;
use der::{DecodeValue, EncodeValue, FixedTag, Header, Length, Reader, Tag, Writer};

/// A body content held as its encoded SEQUENCE, for the rarely used message types:
///
/// ```text
/// POPODecKeyChallContent ::= SEQUENCE OF Challenge          -- popdecc [5]
/// POPODecKeyRespContent  ::= SEQUENCE OF INTEGER            -- popdecr [6]
/// KeyRecRepContent       ::= SEQUENCE { ... }               -- krp [10]
/// CAKeyUpdAnnContent     ::= SEQUENCE { ... }               -- ckuann [15]
/// RevAnnContent          ::= SEQUENCE { ... }               -- rann [17]
/// CRLAnnContent          ::= SEQUENCE OF CertificateList    -- crlann [18]
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpaqueContent(Any);

impl OpaqueContent {
    /// The content as encoded, tag and length included.
    pub fn der(&self) -> der::Result<Vec<u8>> {
        der::Encode::to_der(&self.0)
    }

    /// The content's value bytes (inside the SEQUENCE).
    pub fn value(&self) -> &[u8] {
        self.0.value()
    }
}

impl<'a> DecodeValue<'a> for OpaqueContent {
    type Error = der::Error;
    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        let value = reader.read_vec(header.length())?;
        Ok(Self(Any::new(Tag::Sequence, value)?))
    }
}

impl EncodeValue for OpaqueContent {
    fn value_len(&self) -> der::Result<Length> {
        self.0.value_len()
    }
    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        self.0.encode_value(writer)
    }
}

impl FixedTag for OpaqueContent {
    const TAG: Tag = Tag::Sequence;
}
