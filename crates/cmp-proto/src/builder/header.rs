//! Headers for outgoing messages (RFC 4210 §5.1.1, RFC 9483 §3.1).

use std::time::SystemTime;

use der::asn1::OctetString;
use x509_cert::ext::pkix::name::GeneralName;

use crate::body::PkiBody;
use crate::error::{Error, Result};
use crate::general::InfoTypeAndValue;
use crate::header::{FreeText, PVNO_CMP2000, PkiHeader};
use crate::message::{PkiMessage, protected_part_for};
use crate::protection::Protector;
use crate::time::GenTime;

/// `n` bytes from the operating system's random source.
pub fn random_bytes(n: usize) -> Result<Vec<u8>> {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).map_err(|_| Error::Random)?;
    Ok(bytes)
}

fn octets(bytes: Vec<u8>, what: &'static str) -> Result<OctetString> {
    OctetString::new(bytes).map_err(Error::encode(what))
}

/// The header of one outgoing message.
///
/// New transactions get a fresh 16-byte transactionID and every message a fresh
/// 16-byte senderNonce (RFC 9483 §3.1: at least 128 bits).
#[derive(Clone, Debug)]
pub struct HeaderBuilder {
    header: PkiHeader,
}

impl HeaderBuilder {
    /// A header that starts a transaction: fresh transactionID and senderNonce, pvno 2.
    pub fn new(sender: GeneralName, recipient: GeneralName) -> Result<Self> {
        Ok(Self {
            header: PkiHeader {
                pvno: PVNO_CMP2000,
                sender,
                recipient,
                message_time: None,
                protection_alg: None,
                sender_kid: None,
                recip_kid: None,
                transaction_id: Some(octets(random_bytes(16)?, "transactionID")?),
                sender_nonce: Some(octets(random_bytes(16)?, "senderNonce")?),
                recip_nonce: None,
                free_text: None,
                general_info: None,
            },
        })
    }

    /// A header answering `request`: same transactionID and pvno, its senderNonce as
    /// our recipNonce, its sender as our recipient, a fresh senderNonce (RFC 4210 §5.1.1).
    pub fn reply_to(request: &PkiHeader, sender: GeneralName) -> Result<Self> {
        Ok(Self {
            header: PkiHeader {
                pvno: request.pvno,
                sender,
                recipient: request.sender.clone(),
                message_time: None,
                protection_alg: None,
                sender_kid: None,
                recip_kid: request.sender_kid.clone(),
                transaction_id: request.transaction_id.clone(),
                sender_nonce: Some(octets(random_bytes(16)?, "senderNonce")?),
                recip_nonce: request.sender_nonce.clone(),
                free_text: None,
                general_info: None,
            },
        })
    }

    /// The next message of the same transaction (certConf, pollReq): same
    /// transactionID, the peer's last senderNonce as recipNonce, a fresh senderNonce.
    pub fn continue_from(previous: &PkiHeader, peer_nonce: Option<OctetString>) -> Result<Self> {
        let mut header = previous.clone();
        header.sender_nonce = Some(octets(random_bytes(16)?, "senderNonce")?);
        header.recip_nonce = peer_nonce;
        header.protection_alg = None;
        header.general_info = None;
        header.free_text = None;
        Ok(Self { header })
    }

    /// Sets pvno (2, or 3 when an RFC 9480 feature is used).
    pub fn pvno(mut self, pvno: u8) -> Self {
        self.header.pvno = pvno;
        self
    }

    /// Sets the transactionID.
    pub fn transaction_id(mut self, id: &[u8]) -> Result<Self> {
        self.header.transaction_id = Some(octets(id.to_vec(), "transactionID")?);
        Ok(self)
    }

    /// Sets the senderNonce (tests and replays only: a fresh one is already set).
    pub fn sender_nonce(mut self, nonce: &[u8]) -> Result<Self> {
        self.header.sender_nonce = Some(octets(nonce.to_vec(), "senderNonce")?);
        Ok(self)
    }

    /// Sets the recipNonce.
    pub fn recip_nonce(mut self, nonce: Option<OctetString>) -> Self {
        self.header.recip_nonce = nonce;
        self
    }

    /// Sets recipKID.
    pub fn recip_kid(mut self, kid: Option<OctetString>) -> Self {
        self.header.recip_kid = kid;
        self
    }

    /// Adds a generalInfo entry.
    pub fn general_info(mut self, itav: InfoTypeAndValue) -> Self {
        self.header
            .general_info
            .get_or_insert_with(Vec::new)
            .push(itav);
        self
    }

    /// Asks for (in a request) or grants (in a response) implicit confirmation
    /// (RFC 4210 §5.1.1.1).
    pub fn implicit_confirm(self) -> Self {
        self.general_info(InfoTypeAndValue::implicit_confirm())
    }

    /// Names the certificate profile wanted (RFC 9480 §2.4); needs no pvno change.
    pub fn cert_profile(self, profile: &str) -> Result<Self> {
        Ok(self.general_info(InfoTypeAndValue::cert_profile(&[profile])?))
    }

    /// Sets freeText.
    pub fn free_text(mut self, text: &str) -> Result<Self> {
        self.header.free_text = Some(FreeText::new(text).map_err(Error::encode("freeText"))?);
        Ok(self)
    }

    /// The header as it stands.
    pub fn header(&self) -> &PkiHeader {
        &self.header
    }

    /// Stamps messageTime, protects header and body with `protector` (or leaves the
    /// message unprotected when `None`), and attaches the protector's extraCerts.
    pub fn build(self, body: PkiBody, protector: Option<&Protector>) -> Result<PkiMessage> {
        self.build_with_extra_certs(body, protector, Vec::new())
    }

    /// As [`Self::build`], appending `extra` after the protector's certificates.
    pub fn build_with_extra_certs(
        mut self,
        body: PkiBody,
        protector: Option<&Protector>,
        extra: Vec<x509_cert::Certificate>,
    ) -> Result<PkiMessage> {
        self.header.message_time = Some(
            GenTime::from_system_time(SystemTime::now()).map_err(Error::encode("messageTime"))?,
        );
        let (protection, mut extra_certs) = match protector {
            Some(protector) => {
                let alg = protector.algorithm_identifier()?;
                self.header.protection_alg = Some(alg.clone());
                if let Some(kid) = protector.sender_kid()? {
                    self.header.sender_kid = Some(kid);
                }
                let part = protected_part_for(&self.header, &body)?;
                (
                    Some(protector.protect(&alg, &part)?),
                    protector.extra_certs(),
                )
            }
            None => (None, Vec::new()),
        };
        extra_certs.extend(extra);
        Ok(PkiMessage {
            header: self.header,
            body,
            protection,
            extra_certs: (!extra_certs.is_empty()).then_some(extra_certs),
        })
    }
}
