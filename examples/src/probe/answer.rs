//! Describing answers: how each was protected, whether it verified, what it says.

use std::fmt::Write as _;
use std::time::SystemTime;

use cmp_client::checks::{self, ResponsePolicy, Trust};
use cmp_proto::der::asn1::ObjectIdentifier;
use cmp_proto::protection::{HashAlg, MacAlgorithm, ProtectionKind, verify_mac, verify_signature};
use cmp_proto::x509_cert::Certificate;
use cmp_proto::x509_cert::ext::pkix::KeyUsage;
use cmp_proto::x509_cert::ext::pkix::name::GeneralName;
use cmp_proto::x509_cert::name::Name;
use cmp_proto::{
    InfoTypeAndValue, Limits, PVNO_CMP2000, PkiBody, PkiFailureInfo, PkiMessage, PkiStatus,
    PkiStatusInfo, ReceivedMessage, oid,
};
use serde_json::{Value, json};

use super::recorder::RawExchange;
use super::requests::GENM_INFO_TYPES;
use crate::client_options::{dn_text, one_line};

/// Whether a protection could be checked, and how it came out.
#[derive(Debug)]
pub(super) enum Check {
    /// Verified against `--secret` or `--trusted`.
    Verified,
    /// Checked and found wrong.
    Failed(String),
    /// Not checkable with what we were given.
    Unchecked(String),
}

/// How an answer was protected (RFC 4210 §5.1.3).
#[derive(Debug)]
pub(super) enum Protection {
    /// No protection.
    None,
    /// A MAC (PasswordBasedMac or PBMAC1).
    Mac(Check),
    /// A signature; the signer is the first of extraCerts (RFC 9483 §3.3).
    Signature {
        signer: Option<Box<Certificate>>,
        check: Check,
    },
    /// A protectionAlg we do not know.
    Unknown(String),
}

impl Protection {
    /// `MAC`, `signature` or `unprotected`.
    pub(super) fn kind(&self) -> &'static str {
        match self {
            Self::None => "unprotected",
            Self::Mac(_) => "MAC",
            Self::Signature { .. } => "signature",
            Self::Unknown(_) => "unknown protection",
        }
    }

    pub(super) fn verified(&self) -> bool {
        matches!(
            self,
            Self::Mac(Check::Verified)
                | Self::Signature {
                    check: Check::Verified,
                    ..
                }
        )
    }

    /// The protection in a few words, with what its check found.
    fn describe(&self) -> String {
        let check = |c: &Check| match c {
            Check::Verified => "verified".to_owned(),
            Check::Failed(why) => format!("NOT verified: {why}"),
            Check::Unchecked(why) => format!("unverified: {why}"),
        };
        match self {
            Self::None => "unprotected".to_owned(),
            Self::Mac(c) => format!("MAC, {}", check(c)),
            Self::Signature { signer, check: c } => match signer {
                Some(cert) => format!(
                    "signed by {}, {}",
                    dn_text(cert.tbs_certificate().subject()),
                    check(c)
                ),
                None => format!("signed, {}", check(c)),
            },
            Self::Unknown(what) => format!("protected by {what}, unverified"),
        }
    }
}

/// What came back for one request.
#[derive(Debug)]
pub(super) struct Answer {
    /// The decoded answer, when one came and decoded.
    pub(super) message: Option<PkiMessage>,
    /// Why there is none: the transport's failure or a decoding error.
    pub(super) failure: Option<String>,
    pub(super) protection: Protection,
    /// The answer names our transactionID and our senderNonce (RFC 4210 §5.1.1).
    ours: bool,
}

impl Answer {
    pub(super) fn body(&self) -> Option<&PkiBody> {
        self.message.as_ref().map(|m| &m.body)
    }

    /// The status of an error message, of the first CertResponse, or of an rp.
    fn status(&self) -> Option<&PkiStatusInfo> {
        match self.body()? {
            PkiBody::Error(content) => Some(&content.pki_status_info),
            PkiBody::Rp(rp) => rp.status.first(),
            body => body.cert_rep()?.response.first().map(|r| &r.status),
        }
    }

    /// An error message, or a rejection (RFC 4210 §5.2.3).
    pub(super) fn is_refusal(&self) -> bool {
        matches!(self.body(), Some(PkiBody::Error(_)))
            || self
                .status()
                .is_some_and(|s| s.status == PkiStatus::Rejection)
    }

    /// A negative answer a client may be told to accept unprotected: error, rejection,
    /// pkiConf (cmp-notes, check 3).
    pub(super) fn is_negative(&self) -> bool {
        self.is_refusal() || matches!(self.body(), Some(PkiBody::PkiConf(_)))
    }

    /// A refusal that blames the proof-of-possession (failInfo badPOP, or a text about
    /// it): the CA accepted the request's protection and went on to the POP.
    pub(super) fn refuses_pop(&self) -> bool {
        if !self.is_refusal() {
            return false;
        }
        let Some(status) = self.status() else {
            return false;
        };
        let text = [
            status.text(),
            match self.body() {
                Some(PkiBody::Error(content)) => content.error_details.as_ref().map(|d| d.joined()),
                _ => None,
            },
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
        .to_ascii_lowercase();
        status.failure_info().contains(PkiFailureInfo::BAD_POP)
            || text.contains("popo")
            || text.contains("proof of possession")
            || text.contains("proof-of-possession")
    }

    /// A refusal that blames the request's protection (RFC 4210 §5.2.3 failInfo; Insta
    /// Certifier says badDataFormat for a MAC it does not take, cmp-notes).
    pub(super) fn refuses_protection(&self) -> bool {
        self.is_refusal()
            && self.status().is_some_and(|s| {
                let info = s.failure_info();
                [
                    PkiFailureInfo::BAD_MESSAGE_CHECK,
                    PkiFailureInfo::BAD_ALG,
                    PkiFailureInfo::WRONG_INTEGRITY,
                    PkiFailureInfo::BAD_DATA_FORMAT,
                    PkiFailureInfo::SIGNER_NOT_TRUSTED,
                ]
                .into_iter()
                .any(|bit| info.contains(bit))
            })
    }

    /// The certificate of a granted ip/cp, if any.
    pub(super) fn issued(&self) -> Option<(&Certificate, i64)> {
        let response = self.body()?.cert_rep()?.response.first()?;
        if !response.status.status.is_granted() {
            return None;
        }
        response.certificate().map(|c| (c, response.cert_req_id))
    }

    /// The CA asked to wait: a pollRep, or a waiting status (RFC 9483 §4.4).
    pub(super) fn asks_to_wait(&self) -> bool {
        matches!(self.body(), Some(PkiBody::PollRep(_)))
            || self
                .status()
                .is_some_and(|s| s.status == PkiStatus::Waiting)
    }

    /// The signer certificate of a signed answer.
    pub(super) fn signer(&self) -> Option<&Certificate> {
        match &self.protection {
            Protection::Signature { signer, .. } => signer.as_deref(),
            _ => None,
        }
    }

    /// The signer certificate's keyUsage lacks digitalSignature (RFC 9483 §3.2 wants it).
    pub(super) fn signer_lacks_digital_signature(&self) -> bool {
        self.signer().is_some_and(|cert| {
            matches!(
                cert.tbs_certificate().get_extension::<KeyUsage>(),
                Ok(Some((_, ku))) if !ku.digital_signature()
            )
        })
    }

    /// The sender holds the signer's subject RDNs in reverse order (ejbca-ce #445).
    pub(super) fn sender_reversed(&self) -> bool {
        let (Some(signer), Some(message)) = (self.signer(), &self.message) else {
            return false;
        };
        let GeneralName::DirectoryName(sender) = &message.header.sender else {
            return false;
        };
        let subject = signer.tbs_certificate().subject();
        let mut reversed: Vec<_> = subject.iter_rdn().collect();
        reversed.reverse();
        sender != subject && sender.iter_rdn().collect::<Vec<_>>() == reversed
    }

    /// The header's sender, as a name.
    pub(super) fn sender(&self) -> Option<&Name> {
        match &self.message.as_ref()?.header.sender {
            GeneralName::DirectoryName(name) if !name.is_empty() => Some(name),
            _ => None,
        }
    }

    /// The body and its gist, e.g. `error: rejection (badRequest) "text"`.
    pub(super) fn gist(&self) -> String {
        let Some(body) = self.body() else {
            return format!(
                "no answer: {}",
                self.failure.as_deref().unwrap_or("nothing came")
            );
        };
        let mut out = body.body_type().name().to_owned();
        if let Some(status) = self.status() {
            let _ = write!(out, ": {}", status.status.name());
            let info = status.failure_info();
            if !info.is_empty() {
                let _ = write!(out, " ({})", info.names().join(", "));
            }
            if let Some(text) = status.text() {
                let _ = write!(out, " {:?}", one_line(&text));
            }
        }
        match body {
            PkiBody::Genp(infos) => {
                let _ = write!(out, ": {}", describe_infos(infos));
            }
            PkiBody::Error(content) => {
                if let Some(details) = &content.error_details {
                    let _ = write!(out, " details {:?}", one_line(&details.joined()));
                }
            }
            _ => {}
        }
        if let Some(response) = body.cert_rep().and_then(|rep| rep.response.first()) {
            let _ = write!(out, ", certReqId {}", response.cert_req_id);
        }
        out
    }

    /// One line: gist, protection, pvno, and whether it answers our transaction.
    pub(super) fn summary(&self) -> String {
        let Some(message) = &self.message else {
            return self.gist();
        };
        let mut out = format!("{} [{}", self.gist(), self.protection.describe());
        if message.header.pvno != PVNO_CMP2000 {
            let _ = write!(out, ", pvno {}", message.header.pvno);
        }
        if !self.ours {
            out.push_str(", transactionID or recipNonce not ours");
        }
        out.push(']');
        out
    }

    pub(super) fn json(&self) -> Value {
        let Some(message) = &self.message else {
            return json!({ "failure": self.failure });
        };
        let status = self.status();
        json!({
            "body": message.body.body_type().name(),
            "pvno": message.header.pvno,
            "protection": self.protection.kind(),
            "verification": self.protection.describe(),
            "verified": self.protection.verified(),
            "signer": self.signer().map(|c| dn_text(c.tbs_certificate().subject())),
            "sender": self.sender().map(dn_text),
            "status": status.map(|s| s.status.name()),
            "fail_info": status.map(|s| s.failure_info().names()).unwrap_or_default(),
            "text": status.and_then(PkiStatusInfo::text),
            "implicit_confirm": message.header.has_implicit_confirm(),
            "ours": self.ours,
            "gist": self.gist(),
        })
    }
}

/// The entries of a genp in a few words.
fn describe_infos(infos: &[InfoTypeAndValue]) -> String {
    if infos.is_empty() {
        return "no entries".to_owned();
    }
    infos
        .iter()
        .map(|itav| {
            let name = info_type_name(&itav.info_type);
            match (&itav.info_value, itav.info_type) {
                (None, _) => format!("{name} without a value"),
                (Some(_), oid::IT_CA_CERTS) => match itav.ca_certs() {
                    Ok(Some(certs)) => format!("{name}: {} certificates", certs.len()),
                    _ => format!("{name}: a malformed value"),
                },
                (Some(_), _) => format!("{name} with a value"),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The RFC name of the info types the probe asks for, else the dotted OID.
fn info_type_name(info_type: &ObjectIdentifier) -> String {
    GENM_INFO_TYPES
        .iter()
        .chain([&("caCerts", oid::IT_CA_CERTS)])
        .find(|(_, oid)| oid == info_type)
        .map_or_else(|| info_type.to_string(), |(name, _)| (*name).to_owned())
}

/// Decodes and checks an answer as far as a description needs: protection (against
/// what we were given, RFC 4210 §5.1.3), and whether it belongs to the request.
pub(super) fn classify(raw: &RawExchange, trust: &Trust, limits: &Limits) -> Answer {
    let none = |failure: String| Answer {
        message: None,
        failure: Some(failure),
        protection: Protection::None,
        ours: false,
    };
    let bytes = match &raw.response {
        Ok(bytes) => bytes,
        Err(failure) => return none(failure.clone()),
    };
    let received = match ReceivedMessage::decode(bytes, limits) {
        Ok(received) => received,
        Err(e) => return none(format!("not a PKIMessage: {e}")),
    };
    let ours = match ReceivedMessage::decode(&raw.request, &Limits::default()) {
        Ok(request) => answers(&request.message, &received.message),
        Err(_) => false,
    };
    Answer {
        protection: check_protection(&received, trust, limits),
        message: Some(received.message),
        failure: None,
        ours,
    }
}

/// The answer carries the request's transactionID and its senderNonce as recipNonce
/// (RFC 4210 §5.1.1).
fn answers(request: &PkiMessage, answer: &PkiMessage) -> bool {
    let (Some(tid), Some(nonce)) = (&request.header.transaction_id, &request.header.sender_nonce)
    else {
        return false;
    };
    checks::check_transaction_id(&answer.header, tid).is_ok()
        && checks::check_recip_nonce(&answer.header, &[nonce]).is_ok()
}

/// Checks the protection of an answer with the secret and anchors we were given; a
/// signature without anchors is checked against its own certificate only.
fn check_protection(received: &ReceivedMessage, trust: &Trust, limits: &Limits) -> Protection {
    let message = &received.message;
    let (Some(alg), Some(_)) = (&message.header.protection_alg, &message.protection) else {
        return Protection::None;
    };
    let outcome = |result: Result<(), String>| match result {
        Ok(()) => Check::Verified,
        Err(why) => Check::Failed(why),
    };
    match ProtectionKind::of(alg) {
        Err(e) => Protection::Unknown(e.to_string()),
        Ok(ProtectionKind::Mac) => Protection::Mac(match &trust.secret {
            Some(secret) => {
                outcome(verify_mac(received, secret, limits).map_err(|e| e.to_string()))
            }
            None => Check::Unchecked("no --secret to check it with".to_owned()),
        }),
        Ok(ProtectionKind::Signature) => {
            let signer = message
                .extra_certs
                .as_ref()
                .and_then(|c| c.first())
                .cloned();
            let check = match &signer {
                None => Check::Failed("no signer certificate in extraCerts".to_owned()),
                Some(cert) if trust.anchors.is_empty() => {
                    let spki = cert.tbs_certificate().subject_public_key_info();
                    match verify_signature(received, spki, limits) {
                        Ok(()) => Check::Unchecked(
                            "no --trusted to check the signer with (the signature matches its certificate)"
                                .to_owned(),
                        ),
                        Err(e) => Check::Failed(e.to_string()),
                    }
                }
                // The quirks are reported on their own: check what is left.
                Some(_) => outcome(
                    checks::check_protection(
                        received,
                        trust,
                        &ResponsePolicy {
                            limits: limits.clone(),
                            ignore_key_usage: true,
                            tolerate_reversed_rdns: true,
                            ..ResponsePolicy::default()
                        },
                        SystemTime::now(),
                    )
                    .map_err(|e| e.to_string()),
                ),
            };
            Protection::Signature {
                signer: signer.map(Box::new),
                check,
            }
        }
    }
}

/// A request in a few words: body, pvno and protection.
pub(super) fn describe_request(bytes: &[u8], limits: &Limits) -> String {
    let Ok(request) = ReceivedMessage::decode(bytes, limits) else {
        return "(undecodable request)".to_owned();
    };
    let message = request.message;
    let protection = match &message.header.protection_alg {
        None => "unprotected".to_owned(),
        Some(alg) => match MacAlgorithm::like(alg, limits) {
            Ok(mac) => mac_name(&mac),
            Err(_) => "signature".to_owned(),
        },
    };
    format!(
        "{} (pvno {}, {protection})",
        message.body.body_type().name(),
        message.header.pvno
    )
}

/// `PBM SHA-256/HMAC-SHA1 500`, `PBMAC1 SHA-256/HMAC-SHA256 10000`.
fn mac_name(mac: &MacAlgorithm) -> String {
    let hash = |h: HashAlg| match h {
        HashAlg::Sha1 => "SHA-1",
        HashAlg::Sha224 => "SHA-224",
        HashAlg::Sha256 => "SHA-256",
        HashAlg::Sha384 => "SHA-384",
        HashAlg::Sha512 => "SHA-512",
    };
    let (name, first, mac, iterations) = match mac {
        MacAlgorithm::PasswordBasedMac(s) => ("PBM", s.owf, s.mac, s.iterations),
        MacAlgorithm::Pbmac1(s) => ("PBMAC1", s.prf, s.mac, s.iterations),
    };
    let hmac = hash(mac).replace('-', "");
    format!("{name} {}/HMAC-{hmac} {iterations}", hash(first))
}
