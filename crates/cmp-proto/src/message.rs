//! PKIMessage, its protected part, and decoding a received message under limits.

use der::asn1::{Any, BitString};
use der::{Decode, Encode, Header, Reader, Sequence, SliceReader, Tag, Tagged};
use x509_cert::Certificate;

use crate::body::PkiBody;
use crate::error::{Error, Result};
use crate::header::PkiHeader;
use crate::limits::Limits;

/// A CMP message.
///
/// [RFC 4210 §5.1](https://www.rfc-editor.org/rfc/rfc4210#section-5.1):
/// ```text
/// PKIMessage ::= SEQUENCE {
///     header           PKIHeader,
///     body             PKIBody,
///     protection   [0] PKIProtection OPTIONAL,
///     extraCerts   [1] SEQUENCE SIZE (1..MAX) OF CMPCertificate OPTIONAL }
/// PKIProtection ::= BIT STRING
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct PkiMessage {
    /// The header.
    pub header: PkiHeader,
    /// The body.
    pub body: PkiBody,
    /// MAC or signature over the protected part.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub protection: Option<BitString>,
    /// Certificates for the recipient: the signer's first, then its chain (RFC 9483 §3.3).
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    pub extra_certs: Option<Vec<Certificate>>,
}

/// `PKIMessages ::= SEQUENCE SIZE (1..MAX) OF PKIMessage` (RFC 4210 §5.1).
pub type PkiMessages = Vec<PkiMessage>;

/// The input to protection.
///
/// [RFC 4210 §5.1.3](https://www.rfc-editor.org/rfc/rfc4210#section-5.1.3):
/// ```text
/// ProtectedPart ::= SEQUENCE {
///     header    PKIHeader,
///     body      PKIBody }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Sequence)]
pub struct ProtectedPart {
    /// The header.
    pub header: PkiHeader,
    /// The body.
    pub body: PkiBody,
}

/// The body of a nested message: PKIMessages, each kept as received.
///
/// [RFC 4210 §5.1.3.4](https://www.rfc-editor.org/rfc/rfc4210#section-5.1.3.4),
/// [RFC 9480 §2.3](https://www.rfc-editor.org/rfc/rfc9480#section-2.3):
/// ```text
/// NestedMessageContent ::= PKIMessages
/// ```
/// The inner messages stay encoded so that decoding a message never recurses: a message
/// nested a hundred thousand deep is one allocation, not a stack overflow. Decode one
/// level at a time with [`NestedMessageContent::messages`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NestedMessageContent(pub Vec<Any>);

impl NestedMessageContent {
    /// Wraps messages for sending.
    pub fn new(messages: &[PkiMessage]) -> Result<Self> {
        messages
            .iter()
            .map(|m| {
                let der = m.to_der().map_err(Error::encode("nested PKIMessage"))?;
                Any::from_der(&der).map_err(Error::encode("nested PKIMessage"))
            })
            .collect::<Result<Vec<_>>>()
            .map(Self)
    }

    /// Each inner message as received, for [`ReceivedMessage::decode`].
    pub fn raw_messages(&self) -> Result<Vec<Vec<u8>>> {
        self.0
            .iter()
            .map(|any| any.to_der().map_err(Error::encode("nested PKIMessage")))
            .collect()
    }

    /// Decodes the inner messages, one level deep, under `limits`.
    pub fn messages(&self, limits: &Limits) -> Result<Vec<ReceivedMessage>> {
        self.raw_messages()?
            .iter()
            .map(|raw| ReceivedMessage::decode(raw, limits))
            .collect()
    }
}

impl<'a> der::DecodeValue<'a> for NestedMessageContent {
    type Error = der::Error;
    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        let inner = Vec::<Any>::decode_value(reader, header)?;
        if let Some(bad) = inner.iter().find(|any| any.tag() != Tag::Sequence) {
            return Err(bad.tag().unexpected_error(Some(Tag::Sequence)).into());
        }
        Ok(Self(inner))
    }
}

impl der::EncodeValue for NestedMessageContent {
    fn value_len(&self) -> der::Result<der::Length> {
        self.0.value_len()
    }
    fn encode_value(&self, writer: &mut impl der::Writer) -> der::Result<()> {
        self.0.encode_value(writer)
    }
}

impl der::FixedTag for NestedMessageContent {
    const TAG: Tag = Tag::Sequence;
}

/// A message decoded from a peer, with the exact bytes its protection covers.
///
/// Protection is checked over the header and body *as received* (RFC 4210 §5.1.3),
/// never over a re-encoding, so that a peer's harmless encoding choice cannot break
/// verification and a re-encoding of ours cannot hide an alteration.
#[derive(Clone, Debug)]
pub struct ReceivedMessage {
    /// The decoded message.
    pub message: PkiMessage,
    protected_part: Vec<u8>,
    encoded_len: usize,
}

impl ReceivedMessage {
    /// Decodes one DER PKIMessage that must fill `bytes` exactly.
    ///
    /// Checks the size and certificate count against `limits` and keeps the protected
    /// part for [`crate::protection`].
    pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Self> {
        if bytes.len() > limits.max_message_size {
            return Err(Error::LimitExceeded {
                what: "message size",
                value: bytes.len() as u64,
                limit: limits.max_message_size as u64,
            });
        }
        let (message, rest) =
            PkiMessage::from_der_partial(bytes).map_err(Error::decode("PKIMessage"))?;
        if !rest.is_empty() {
            return Err(Error::TrailingData { len: rest.len() });
        }
        let certs = message.extra_certs.as_ref().map_or(0, Vec::len)
            + message
                .body
                .cert_rep()
                .and_then(|r| r.ca_pubs.as_ref())
                .map_or(0, Vec::len);
        if certs > limits.max_certificates {
            return Err(Error::LimitExceeded {
                what: "number of certificates (extraCerts and caPubs)",
                value: certs as u64,
                limit: limits.max_certificates as u64,
            });
        }
        let protected_part = protected_part_of(bytes)?;
        Ok(Self {
            message,
            protected_part,
            encoded_len: bytes.len(),
        })
    }

    /// The DER `ProtectedPart` built from the header and body bytes as received.
    pub fn protected_part(&self) -> &[u8] {
        &self.protected_part
    }

    /// The size of the message as received.
    pub fn encoded_len(&self) -> usize {
        self.encoded_len
    }
}

/// Builds `SEQUENCE { header, body }` from the first two TLVs of an encoded PKIMessage.
fn protected_part_of(message: &[u8]) -> Result<Vec<u8>> {
    let decode = Error::decode("PKIMessage");
    let mut reader = SliceReader::new(message).map_err(Error::decode("PKIMessage"))?;
    let outer = Header::decode(&mut reader).map_err(Error::decode("PKIMessage"))?;
    outer
        .tag()
        .assert_eq(Tag::Sequence)
        .map_err(Error::decode("PKIMessage"))?;
    let header = reader.tlv_bytes().map_err(Error::decode("PKIHeader"))?;
    let body = reader.tlv_bytes().map_err(decode)?;
    let content_len =
        der::Length::try_from(header.len() + body.len()).map_err(Error::encode("ProtectedPart"))?;
    let seq = Header::new(Tag::Sequence, content_len);
    let mut out = Vec::with_capacity(header.len() + body.len() + 6);
    seq.encode_to_vec(&mut out)
        .map_err(Error::encode("ProtectedPart"))?;
    out.extend_from_slice(header);
    out.extend_from_slice(body);
    Ok(out)
}

impl PkiMessage {
    /// The DER `ProtectedPart` of a message we build (header and body as we encode them).
    pub fn protected_part(&self) -> Result<Vec<u8>> {
        protected_part_for(&self.header, &self.body)
    }
}

/// Encodes `ProtectedPart ::= SEQUENCE { header, body }` without cloning either.
pub(crate) fn protected_part_for(header: &PkiHeader, body: &PkiBody) -> Result<Vec<u8>> {
    let header_len = header.encoded_len().map_err(Error::encode("PKIHeader"))?;
    let body_len = body.encoded_len().map_err(Error::encode("PKIBody"))?;
    let content_len = (header_len + body_len).map_err(Error::encode("ProtectedPart"))?;
    let seq = Header::new(Tag::Sequence, content_len);
    let total = (seq.encoded_len().map_err(Error::encode("ProtectedPart"))? + content_len)
        .map_err(Error::encode("ProtectedPart"))?;
    let mut out = Vec::with_capacity(usize::try_from(total).unwrap_or_default());
    seq.encode_to_vec(&mut out)
        .map_err(Error::encode("ProtectedPart"))?;
    header
        .encode_to_vec(&mut out)
        .map_err(Error::encode("PKIHeader"))?;
    body.encode_to_vec(&mut out)
        .map_err(Error::encode("PKIBody"))?;
    Ok(out)
}
