//! What every transaction does with every response: decode under limits, check the
//! header against what we sent, check the protection; and how every request is made.

use std::time::SystemTime;

use cmp_proto::builder::{HeaderBuilder, error_content};
use cmp_proto::der::Encode;
use cmp_proto::der::asn1::OctetString;
use cmp_proto::x509_cert::Certificate;
use cmp_proto::{
    PVNO_CMP2000, PkiBody, PkiFailureInfo, PkiHeader, PkiMessage, PkiStatusInfo, ReceivedMessage,
};

use crate::checks;
use crate::config::ClientConfig;
use crate::error::{Error, Result};

/// The state shared by the messages of one transaction.
#[derive(Clone, Debug)]
pub(crate) struct Exchange {
    /// The header of our last request.
    last_request: PkiHeader,
    /// The transactionID of all our requests.
    transaction_id: OctetString,
    /// The senderNonce of the first request (accepted as recipNonce after polling,
    /// RFC 9483 §4.4).
    first_nonce: OctetString,
    /// The peer's last senderNonce, our next recipNonce. Taken from a response as soon
    /// as it names our transaction and answers our last request, before its protection
    /// is checked: if a later check fails, the only message still sent is the error
    /// message ending the transaction, which then echoes the nonce the CA expects if
    /// the response was genuine (an echo trusts nothing).
    peer_nonce: Option<OctetString>,
    /// Whether a pollReq has been sent: only then may a response echo the first nonce.
    pub(crate) polled: bool,
    /// The extraCerts of the peer's last verified signed response: a later response may
    /// leave them out (RFC 9483 §3.3). Not kept in a checkpoint: after a restart the
    /// next signed answer must carry its certificate again.
    peer_certs: Vec<Certificate>,
}

/// What an [`Exchange`] needs to go on after a restart: the transactionID, the
/// protocol version and the nonces it checks responses against and echoes (RFC 4210
/// §5.1.1). Sender, recipient and protection come from the configuration again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ExchangeCheckpoint {
    /// pvno of our last request; later requests use at least this.
    pub(crate) pvno: u8,
    pub(crate) transaction_id: OctetString,
    /// senderNonce of the first request.
    pub(crate) first_nonce: OctetString,
    /// senderNonce of the last request: the recipNonce its answer must carry.
    pub(crate) last_nonce: OctetString,
    /// The peer's last senderNonce, our next recipNonce.
    pub(crate) peer_nonce: Option<OctetString>,
    pub(crate) polled: bool,
}

impl Exchange {
    /// The first request of a transaction: fresh transactionID and senderNonce.
    pub(crate) fn start(config: &ClientConfig, body: PkiBody, pvno: u8) -> Result<(Self, Vec<u8>)> {
        let mut header = HeaderBuilder::new(config.sender_name(), config.recipient.clone())
            .map_err(Error::Build)?
            .pvno(pvno);
        if config.implicit_confirm
            && matches!(
                body,
                PkiBody::Ir(_) | PkiBody::Cr(_) | PkiBody::Kur(_) | PkiBody::P10cr(_)
            )
        {
            header = header.implicit_confirm();
        }
        if let Some(profile) = &config.cert_profile {
            header = header.cert_profile(profile).map_err(Error::Build)?;
        }
        let msg = header
            .build(body, Some(&config.protector))
            .map_err(Error::Build)?;
        let first_nonce = msg.header.sender_nonce.clone().ok_or(Error::Config {
            reason: "request without senderNonce".into(),
        })?;
        let transaction_id = msg.header.transaction_id.clone().ok_or(Error::Config {
            reason: "request without transactionID".into(),
        })?;
        let bytes = encode(&msg)?;
        Ok((
            Self {
                last_request: msg.header,
                transaction_id,
                first_nonce,
                peer_nonce: None,
                polled: false,
                peer_certs: Vec::new(),
            },
            bytes,
        ))
    }

    /// What [`Self::resume`] needs to rebuild this exchange.
    pub(crate) fn checkpoint(&self) -> ExchangeCheckpoint {
        ExchangeCheckpoint {
            pvno: self.last_request.pvno,
            transaction_id: self.transaction_id.clone(),
            first_nonce: self.first_nonce.clone(),
            last_nonce: self
                .last_request
                .sender_nonce
                .clone()
                .unwrap_or_else(|| self.first_nonce.clone()),
            peer_nonce: self.peer_nonce.clone(),
            polled: self.polled,
        }
    }

    /// The exchange as [`Self::checkpoint`] left it, with the header of its last request
    /// rebuilt from `config`: [`Self::next`] keeps that header's names, transactionID
    /// and pvno, and [`Self::receive`] checks against its senderNonce.
    pub(crate) fn resume(config: &ClientConfig, checkpoint: ExchangeCheckpoint) -> Self {
        Self {
            last_request: PkiHeader {
                pvno: checkpoint.pvno,
                sender: config.sender_name(),
                recipient: config.recipient.clone(),
                message_time: None,
                protection_alg: None,
                sender_kid: None,
                recip_kid: None,
                transaction_id: Some(checkpoint.transaction_id.clone()),
                sender_nonce: Some(checkpoint.last_nonce),
                recip_nonce: None,
                free_text: None,
                general_info: None,
            },
            transaction_id: checkpoint.transaction_id,
            first_nonce: checkpoint.first_nonce,
            peer_nonce: checkpoint.peer_nonce,
            polled: checkpoint.polled,
            peer_certs: Vec::new(),
        }
    }

    /// A further request of the same transaction (certConf, pollReq).
    pub(crate) fn next(
        &mut self,
        config: &ClientConfig,
        body: PkiBody,
        pvno: u8,
    ) -> Result<Vec<u8>> {
        let msg = HeaderBuilder::continue_from(&self.last_request, self.peer_nonce.clone())
            .map_err(Error::Build)?
            .pvno(pvno.max(self.last_request.pvno))
            .build(body, Some(&config.protector))
            .map_err(Error::Build)?;
        let bytes = encode(&msg)?;
        self.last_request = msg.header;
        Ok(bytes)
    }

    /// The error message that ends the transaction from our side (RFC 4210 §5.3.21):
    /// status rejection with `fail_info` and `text` (RFC 9483 §3.6.4), the same
    /// transactionID, the peer's last senderNonce as recipNonce, protected like every
    /// request of the transaction.
    pub(crate) fn error_message(
        &mut self,
        config: &ClientConfig,
        fail_info: PkiFailureInfo,
        text: &str,
    ) -> Result<Vec<u8>> {
        let content =
            error_content(rejection(fail_info, text)?, None, None).map_err(Error::Build)?;
        self.next(config, PkiBody::Error(content), PVNO_CMP2000)
    }

    /// Decodes a response and runs every check that does not depend on its body.
    pub(crate) fn receive(
        &mut self,
        config: &ClientConfig,
        response: &[u8],
        now: SystemTime,
    ) -> Result<ReceivedMessage> {
        let received =
            ReceivedMessage::decode(response, &config.policy.limits).map_err(Error::Malformed)?;
        let header = &received.message.header;
        checks::check_pvno(header)?;
        checks::check_transaction_id(header, &self.transaction_id)?;
        let last = self
            .last_request
            .sender_nonce
            .as_ref()
            .unwrap_or(&self.first_nonce);
        if self.polled {
            checks::check_recip_nonce(header, &[last, &self.first_nonce])?;
        } else {
            checks::check_recip_nonce(header, &[last])?;
        }
        let nonce = checks::check_sender_nonce(header)?;
        checks::check_fresh_sender_nonce(&nonce, self.peer_nonce.as_ref())?;
        self.peer_nonce = Some(nonce);
        checks::check_protection_in_transaction(
            &received,
            &config.trust,
            &config.policy,
            now,
            &self.peer_certs,
        )?;
        if let Some(certs) = received
            .message
            .extra_certs
            .as_ref()
            .filter(|c| !c.is_empty())
            && received.message.protection.is_some()
        {
            self.peer_certs = certs.clone();
        }
        checks::check_sender(header, config.policy.expected_sender.as_ref())?;
        Ok(received)
    }
}

/// A rejection status naming `fail_info`, with `text` as statusString.
pub(crate) fn rejection(fail_info: PkiFailureInfo, text: &str) -> Result<PkiStatusInfo> {
    PkiStatusInfo::rejection(fail_info, text).map_err(|e| {
        Error::Build(cmp_proto::Error::Encode {
            what: "PKIStatusInfo",
            source: e,
        })
    })
}

fn encode(msg: &PkiMessage) -> Result<Vec<u8>> {
    msg.to_der().map_err(|e| {
        Error::Build(cmp_proto::Error::Encode {
            what: "PKIMessage",
            source: e,
        })
    })
}
