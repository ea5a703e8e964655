//! `cmpv2 probe`: finds out what a CA does, with few messages and without leaving a
//! certificate behind, and says which `cmpv2 enroll` flags and which `CMPv2Issuer`
//! `spec.compatibility` fit it.
//!
//! Every probe is a request whose answer tells one thing:
//!
//! - genm caCerts (RFC 9483 §4.3.1): general messages at all; when they work, a few
//!   more info types and the same genm with pvno 3 (RFC 9480 §2.20).
//! - An ir protected as configured whose signature proof-of-possession is invalid on
//!   purpose (RFC 4211 §4.1): a CA that accepted the protection refuses the POP
//!   (badPOP, RFC 4210 §5.2.3), and its answer shows how it protects refusals.
//! - The same ir with a wrong secret (or unprotected, with signature credentials): how
//!   a request the CA cannot authenticate is answered (unprotected errors?).
//! - With MAC credentials, the invalid-POP ir under each MAC variant (PasswordBasedMac,
//!   RFC 4211 §4.4; PBMAC1, RFC 9481 §6.1.2; several iteration counts): badPOP means the
//!   CA checked the MAC and went on, anything else that it refused the MAC. This is only
//!   believed when a wrong secret is refused for something else than the POP, and a
//!   refusal only when some variant got as far as the POP check.
//! - pvno 3 by the same ir under a protection that got as far as the POP check, when
//!   genm is not there to ask with.
//! - With `--enroll` only: an ir asking for implicitConfirm (RFC 4210 §5.1.1.1) and a
//!   p10cr (RFC 9483 §4.1.4, certReqId -1) through [`cmp_client::Client`], which checks
//!   every answer; whether the CA asked to wait (polling, RFC 9483 §4.4); then an rr for
//!   each certificate enrolled (RFC 9483 §4.2).
//!
//! The probe is a diagnostic. It describes every answer, verified or not, and marks the
//! findings that rest on an answer whose protection could not be verified. It acts on an
//! answer only when the client verified it (what `--enroll` enrolls, and so revokes); a
//! certificate granted despite an invalid POP is only rejected by certConf
//! (RFC 4210 §5.3.18), never used.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::str::FromStr;
use std::time::{Duration, SystemTime};

use cmp_client::checks::{self, ResponsePolicy, Trust};
use cmp_client::transaction::EnrollmentRequest;
use cmp_client::transport::{Transport, TransportError};
use cmp_client::{Client, ClientConfig, Error};
use cmp_proto::builder::{CertRequestBuilder, CrlReason, HeaderBuilder, cert_status, random_bytes};
use cmp_proto::crmf::{CertReqMsg, PopoSigningKey, ProofOfPossession};
use cmp_proto::der::Encode;
use cmp_proto::der::asn1::{BitString, ObjectIdentifier, SetOfVec};
use cmp_proto::protection::{
    HashAlg, KeyType, MacAlgorithm, PbmSettings, Pbmac1Settings, ProtectionKind, Protector,
    SharedSecret, SigningKey, verify_mac, verify_signature,
};
use cmp_proto::x509_cert::Certificate;
use cmp_proto::x509_cert::ext::pkix::KeyUsage;
use cmp_proto::x509_cert::ext::pkix::name::GeneralName;
use cmp_proto::x509_cert::name::Name;
use cmp_proto::x509_cert::request::{CertReq, CertReqInfo, Version};
use cmp_proto::{
    InfoTypeAndValue, Limits, PVNO_CMP2000, PVNO_CMP2021, PkiBody, PkiFailureInfo, PkiMessage,
    PkiStatus, PkiStatusInfo, ReceivedMessage, oid,
};
use serde_json::{Value, json};

use crate::client_options::{
    ArgParser, ClientOptions, client_failure, dn_text, one_line, print_line, serial_hex,
};
use crate::{EXIT_TRANSPORT, Failure};

// ---------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------

/// What `probe` was asked to do.
#[derive(Debug)]
pub struct Options {
    client: ClientOptions,
    enroll: bool,
    json: bool,
}

/// Parses the arguments of `probe`; `None` when help was asked for.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Option<Options>, Failure> {
    let mut p = ArgParser::new("probe", args);
    let mut client = ClientOptions::default();
    let (mut enroll, mut json) = (false, false);
    while let Some(name) = p.next_option()? {
        match name.as_str() {
            "--help" => return Ok(None),
            "--enroll" => {
                p.flag(&name)?;
                enroll = true;
            }
            "--json" => {
                p.flag(&name)?;
                json = true;
            }
            _ => {
                if !client.accept(&name, &mut p)? {
                    return Err(p.unknown(&name));
                }
            }
        }
    }
    client.validate(false)?;
    Ok(Some(Options {
        client,
        enroll,
        json,
    }))
}

/// Runs the probe and prints the report. Whatever the CA supports, a probe that ran
/// succeeds; it fails when the CA cannot be reached at all (exit code 3), or on unusable
/// inputs.
pub fn run(options: Options) -> Result<(), Failure> {
    let config = options.client.connect(None, None)?.config().clone();
    let transport = options.client.transport()?;
    let mut probe = Probe::new(config, transport)?;
    probe.run(options.enroll)?;
    for issued in &probe.issued {
        if let Err(e) = &issued.revoked {
            eprintln!(
                "cmpv2: warning: {} serial {} was enrolled and NOT revoked: {e}",
                dn_text(issued.certificate.tbs_certificate().subject()),
                serial_hex(&issued.certificate)
            );
        }
    }
    let report = Report::from(&probe);
    if options.json {
        print_line(report.json(&probe))
    } else {
        print_line(report.text(&probe))
    }
}

// ---------------------------------------------------------------------------------------
// Recording the exchanges
// ---------------------------------------------------------------------------------------

/// One request as sent and what came back, as bytes or as the transport's failure.
struct RawExchange {
    request: Vec<u8>,
    response: Result<Vec<u8>, String>,
}

/// A transport that keeps every exchange, so that the messages [`Client`] sends on its
/// own (certConf, pollReq, rr) are described like the probe's.
struct Recorder<T> {
    inner: T,
    raw: Vec<RawExchange>,
}

impl<T: Transport> Transport for Recorder<T> {
    fn send(&mut self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        let response = self.inner.send(request);
        self.raw.push(RawExchange {
            request: request.to_vec(),
            response: response
                .as_ref()
                .map(Clone::clone)
                .map_err(ToString::to_string),
        });
        response
    }
}

// ---------------------------------------------------------------------------------------
// Describing answers
// ---------------------------------------------------------------------------------------

/// Whether a protection could be checked, and how it came out.
#[derive(Debug)]
enum Check {
    /// Verified against `--secret` or `--trusted`.
    Verified,
    /// Checked and found wrong.
    Failed(String),
    /// Not checkable with what we were given.
    Unchecked(String),
}

/// How an answer was protected (RFC 4210 §5.1.3).
#[derive(Debug)]
enum Protection {
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
    fn kind(&self) -> &'static str {
        match self {
            Self::None => "unprotected",
            Self::Mac(_) => "MAC",
            Self::Signature { .. } => "signature",
            Self::Unknown(_) => "unknown protection",
        }
    }

    fn verified(&self) -> bool {
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
struct Answer {
    /// The decoded answer, when one came and decoded.
    message: Option<PkiMessage>,
    /// Why there is none: the transport's failure or a decoding error.
    failure: Option<String>,
    protection: Protection,
    /// The answer names our transactionID and our senderNonce (RFC 4210 §5.1.1).
    ours: bool,
}

impl Answer {
    fn body(&self) -> Option<&PkiBody> {
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
    fn is_refusal(&self) -> bool {
        matches!(self.body(), Some(PkiBody::Error(_)))
            || self
                .status()
                .is_some_and(|s| s.status == PkiStatus::Rejection)
    }

    /// A negative answer a client may be told to accept unprotected: error, rejection,
    /// pkiConf (cmp-notes, check 3).
    fn is_negative(&self) -> bool {
        self.is_refusal() || matches!(self.body(), Some(PkiBody::PkiConf(_)))
    }

    /// A refusal that blames the proof-of-possession (failInfo badPOP, or a text about
    /// it): the CA accepted the request's protection and went on to the POP.
    fn refuses_pop(&self) -> bool {
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
    fn refuses_protection(&self) -> bool {
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
    fn issued(&self) -> Option<(&Certificate, i64)> {
        let response = self.body()?.cert_rep()?.response.first()?;
        if !response.status.status.is_granted() {
            return None;
        }
        response.certificate().map(|c| (c, response.cert_req_id))
    }

    /// The CA asked to wait: a pollRep, or a waiting status (RFC 9483 §4.4).
    fn asks_to_wait(&self) -> bool {
        matches!(self.body(), Some(PkiBody::PollRep(_)))
            || self
                .status()
                .is_some_and(|s| s.status == PkiStatus::Waiting)
    }

    /// The signer certificate of a signed answer.
    fn signer(&self) -> Option<&Certificate> {
        match &self.protection {
            Protection::Signature { signer, .. } => signer.as_deref(),
            _ => None,
        }
    }

    /// The signer certificate's keyUsage lacks digitalSignature (RFC 9483 §3.2 wants it).
    fn signer_lacks_digital_signature(&self) -> bool {
        self.signer().is_some_and(|cert| {
            matches!(
                cert.tbs_certificate().get_extension::<KeyUsage>(),
                Ok(Some((_, ku))) if !ku.digital_signature()
            )
        })
    }

    /// The sender holds the signer's subject RDNs in reverse order (ejbca-ce #445).
    fn sender_reversed(&self) -> bool {
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
    fn sender(&self) -> Option<&Name> {
        match &self.message.as_ref()?.header.sender {
            GeneralName::DirectoryName(name) if !name.is_empty() => Some(name),
            _ => None,
        }
    }

    /// The body and its gist, e.g. `error: rejection (badRequest) "text"`.
    fn gist(&self) -> String {
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
    fn summary(&self) -> String {
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

    fn json(&self) -> Value {
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
fn classify(raw: &RawExchange, trust: &Trust, limits: &Limits) -> Answer {
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
fn describe_request(bytes: &[u8], limits: &Limits) -> String {
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

// ---------------------------------------------------------------------------------------
// Building the probes
// ---------------------------------------------------------------------------------------

/// Info types asked for after caCerts, when genm works (RFC 9483 §4.3, RFC 4210 §5.3.19).
const GENM_INFO_TYPES: &[(&str, ObjectIdentifier)] = &[
    ("certReqTemplate", oid::IT_CERT_REQ_TEMPLATE),
    ("signKeyPairTypes", oid::IT_SIGN_KEY_PAIR_TYPES),
    ("currentCRL", oid::IT_CURRENT_CRL),
];

/// PasswordBasedMac settings (RFC 4211 §4.4), 16 bytes of salt.
const fn pbm(owf: HashAlg, mac: HashAlg, iterations: u32) -> MacAlgorithm {
    MacAlgorithm::PasswordBasedMac(PbmSettings {
        owf,
        iterations,
        mac,
        salt_len: 16,
    })
}

/// A MAC variant the probe tries.
struct MacVariant {
    /// Its finding's key, after `mac.`.
    key: &'static str,
    label: &'static str,
    algorithm: MacAlgorithm,
    /// The `cmpv2 enroll` options that send it.
    options: &'static str,
}

/// The MAC variants probed: the defaults of cmpv2 and OpenSSL, an older SHA-1 one, the
/// iteration counts seen in the field (cmp-notes: some CAs refuse more than 2,047;
/// go-pkicmp sends 262,144), and PBMAC1 (RFC 9481 §6.1.2). cmpv2's default first.
const MAC_VARIANTS: &[MacVariant] = &[
    MacVariant {
        key: "pbm-sha256-hmac-sha256-500",
        label: "MAC: PBM SHA-256/HMAC-SHA256, 500 it. (cmpv2)",
        algorithm: pbm(HashAlg::Sha256, HashAlg::Sha256, 500),
        options: "",
    },
    MacVariant {
        key: "pbm-sha256-hmac-sha1-500",
        label: "MAC: PBM SHA-256/HMAC-SHA1, 500 it. (OpenSSL)",
        algorithm: pbm(HashAlg::Sha256, HashAlg::Sha1, 500),
        options: "--mac-alg pbm-hmac-sha1",
    },
    MacVariant {
        key: "pbm-sha1-hmac-sha1-500",
        label: "MAC: PBM SHA-1/HMAC-SHA1, 500 it.",
        algorithm: pbm(HashAlg::Sha1, HashAlg::Sha1, 500),
        options: "--mac-alg pbm-sha1",
    },
    MacVariant {
        key: "pbm-sha256-hmac-sha256-2047",
        label: "MAC: PBM SHA-256/HMAC-SHA256, 2,047 it.",
        algorithm: pbm(HashAlg::Sha256, HashAlg::Sha256, 2_047),
        options: "--mac-iterations 2047",
    },
    MacVariant {
        key: "pbm-sha256-hmac-sha256-10000",
        label: "MAC: PBM SHA-256/HMAC-SHA256, 10,000 it.",
        algorithm: pbm(HashAlg::Sha256, HashAlg::Sha256, 10_000),
        options: "--mac-iterations 10000",
    },
    MacVariant {
        key: "pbm-sha256-hmac-sha256-262144",
        label: "MAC: PBM SHA-256/HMAC-SHA256, 262,144 it.",
        algorithm: pbm(HashAlg::Sha256, HashAlg::Sha256, 262_144),
        options: "--mac-iterations 262144",
    },
    MacVariant {
        key: "pbmac1-sha256-10000",
        label: "MAC: PBMAC1 SHA-256/HMAC-SHA256, 10,000 it.",
        algorithm: MacAlgorithm::Pbmac1(Pbmac1Settings {
            prf: HashAlg::Sha256,
            iterations: 10_000,
            mac: HashAlg::Sha256,
            salt_len: 16,
        }),
        options: "--mac-alg pbmac1",
    },
];

/// A CN no earlier probe used (EJBCA keeps every end entity, and refuses a key that
/// another subject holds).
fn unique_name(what: &str) -> Result<Name, Failure> {
    let tag = hex::encode(random_bytes(6).map_err(build_failure)?);
    Name::from_str(&format!("CN=cmpv2-probe-{what}-{tag}"))
        .map_err(|e| Failure::input(format!("cannot make a subject name: {e}")))
}

fn build_failure(e: impl std::fmt::Display) -> Failure {
    Failure::input(format!("cannot build a probe message: {e}"))
}

/// A fresh P-256 key.
fn fresh_key() -> Result<SigningKey, Failure> {
    SigningKey::generate(KeyType::P256).map_err(build_failure)
}

/// A certificate request for `key` whose signature POP (RFC 4211 §4.1) is well formed
/// but signs other bytes than the CertRequest, so that no CA may grant it.
fn invalid_pop_request(key: &SigningKey, subject: &Name) -> Result<CertReqMsg, Failure> {
    let request = CertRequestBuilder::new(key.public_key_info().map_err(build_failure)?)
        .subject(subject.clone())
        .request()
        .clone();
    let signature = key
        .sign(b"cmpv2 probe: a proof-of-possession that is wrong on purpose")
        .map_err(build_failure)?;
    Ok(CertReqMsg {
        cert_req: request,
        popo: Some(ProofOfPossession::Signature(PopoSigningKey {
            poposk_input: None,
            algorithm_identifier: key.algorithm_identifier().map_err(build_failure)?,
            signature: BitString::from_bytes(&signature).map_err(build_failure)?,
        })),
        reg_info: None,
    })
}

/// A PKCS#10 request (RFC 2986 §4) for `subject`, signed with `key`, for p10cr.
fn csr(key: &SigningKey, subject: Name) -> Result<CertReq, Failure> {
    let info = CertReqInfo {
        version: Version::V1,
        subject,
        public_key: key.public_key_info().map_err(build_failure)?,
        attributes: SetOfVec::new(),
    };
    let signature = key
        .sign(&info.to_der().map_err(build_failure)?)
        .map_err(build_failure)?;
    Ok(CertReq {
        info,
        algorithm: key.algorithm_identifier().map_err(build_failure)?,
        signature: BitString::from_bytes(&signature).map_err(build_failure)?,
    })
}

/// The sender the client puts in its headers (RFC 9483 §3.1): the configured one, the
/// signer certificate's subject, or the NULL-DN.
fn sender(config: &ClientConfig) -> GeneralName {
    if let Some(sender) = &config.sender {
        return sender.clone();
    }
    match &config.protector {
        Protector::Signature { certificate, .. } => {
            GeneralName::DirectoryName(certificate.tbs_certificate().subject().clone())
        }
        Protector::Mac { .. } => GeneralName::DirectoryName(Name::default()),
    }
}

// ---------------------------------------------------------------------------------------
// The probe
// ---------------------------------------------------------------------------------------

/// One exchange: which step sent it, the request in a few words, and the answer.
struct Exchange {
    step: String,
    request: String,
    answer: Answer,
}

/// One thing found out, resting on one exchange (when it took one).
struct Finding {
    /// Stable name, for `--json` readers.
    key: String,
    /// What the table calls it.
    property: String,
    /// What the CA does: `supported`, `accepted`, `MAC`, `not probed: ...`.
    verdict: String,
    /// The exchange it rests on.
    evidence: Option<usize>,
}

/// A certificate `--enroll` obtained, and whether it was revoked.
struct Issued {
    certificate: Certificate,
    key: SigningKey,
    revoked: Result<(), String>,
}

/// The state of a probe: what it sends with, what it sent, what it found.
struct Probe<T> {
    config: ClientConfig,
    transport: Recorder<T>,
    /// Bounds for decoding answers: the defaults, except that a MAC answer may use the
    /// highest iteration count the probe itself sends.
    limits: Limits,
    exchanges: Vec<Exchange>,
    findings: Vec<Finding>,
    /// The subject of the requests meant to fail.
    subject: Name,
    /// Their key, never certified.
    key: SigningKey,
    issued: Vec<Issued>,
}

impl<T: Transport> Probe<T> {
    fn new(config: ClientConfig, transport: T) -> Result<Self, Failure> {
        Ok(Self {
            config,
            transport: Recorder {
                inner: transport,
                raw: Vec::new(),
            },
            limits: Limits {
                max_pbm_iterations: 262_144,
                ..Limits::default()
            },
            exchanges: Vec::new(),
            findings: Vec::new(),
            subject: unique_name("refused")?,
            key: fresh_key()?,
            issued: Vec::new(),
        })
    }

    /// The probes in order; each later one is sent only when the earlier answers make it
    /// worth a message.
    fn run(&mut self, enroll: bool) -> Result<(), Failure> {
        let genm = self.probe_genm()?;
        let refusal = self.probe_invalid_pop()?;
        let unauthenticated = self.probe_unauthenticated()?;
        // A request the CA cannot authenticate is refused, but not for its POP: a POP
        // refusal then tells that the protection was accepted, and the rest of the
        // header with it.
        let unauthenticated = &self.exchanges[unauthenticated].answer;
        let pop_tells = unauthenticated.is_refusal() && !unauthenticated.refuses_pop();
        let accepted = if pop_tells && self.exchanges[refusal].answer.refuses_pop() {
            Some(self.config.protector.clone())
        } else {
            None
        };
        let accepted_mac = self.probe_mac_variants(refusal, pop_tells)?;
        self.probe_pvno3(genm, accepted.or(accepted_mac))?;
        if enroll {
            self.probe_enrollment()?;
        } else {
            for (key, property) in ENROLL_FINDINGS {
                self.found(key, property, "not probed (needs --enroll)", None);
            }
        }
        self.positive_answers(genm);
        self.findings.sort_by_key(|f| rank(&f.key));
        if !self.exchanges.iter().any(|e| e.answer.message.is_some()) {
            let why = self
                .exchanges
                .first()
                .and_then(|e| e.answer.failure.clone())
                .unwrap_or_default();
            return Err(Failure::with_code(
                EXIT_TRANSPORT,
                format!("no CMP answer to any probe: {why}; check --server and --path"),
            ));
        }
        Ok(())
    }

    fn found(&mut self, key: &str, property: &str, verdict: &str, evidence: Option<usize>) {
        self.findings.push(Finding {
            key: key.to_owned(),
            property: property.to_owned(),
            verdict: verdict.to_owned(),
            evidence,
        });
    }

    /// The verdict of finding `key`, empty when there is none.
    fn verdict(&self, key: &str) -> &str {
        self.findings
            .iter()
            .find(|f| f.key == key)
            .map_or("", |f| f.verdict.as_str())
    }

    fn answer(&self, index: Option<usize>) -> Option<&Answer> {
        index.map(|i| &self.exchanges[i].answer)
    }

    /// Describes the exchanges recorded since the last call, as sent by `step`.
    fn absorb(&mut self, step: &str) {
        while self.exchanges.len() < self.transport.raw.len() {
            let raw = &self.transport.raw[self.exchanges.len()];
            let exchange = Exchange {
                step: step.to_owned(),
                request: describe_request(&raw.request, &self.limits),
                answer: classify(raw, &self.config.trust, &self.limits),
            };
            self.exchanges.push(exchange);
        }
    }

    /// Sends one probe message; the index of its exchange. The first message finds out
    /// whether the CA can be reached at all: if not, the probe ends with exit code 3.
    fn send(&mut self, step: &str, message: &PkiMessage) -> Result<usize, Failure> {
        let bytes = message.to_der().map_err(build_failure)?;
        let result = self.transport.send(&bytes);
        self.absorb(step);
        if let Err(e) = result
            && self.exchanges.len() == 1
            && !matches!(
                e,
                TransportError::HttpStatus { .. }
                    | TransportError::ContentType { .. }
                    | TransportError::TooLarge { .. }
            )
        {
            let failure = client_failure(&Error::Transport(e));
            return Err(Failure::with_code(EXIT_TRANSPORT, failure.message));
        }
        Ok(self.exchanges.len() - 1)
    }

    /// Runs `run` with a [`Client`] over the recording transport.
    fn with_client<R>(
        &mut self,
        step: &str,
        config: &ClientConfig,
        run: impl FnOnce(&mut Client<&mut Recorder<T>>) -> cmp_client::Result<R>,
    ) -> cmp_client::Result<R> {
        let mut client = Client::new(config.clone(), &mut self.transport);
        let result = run(&mut client);
        self.absorb(step);
        result
    }

    /// A new transaction's header from us to the CA (RFC 4210 §5.1.1).
    fn header(&self, pvno: u8) -> Result<HeaderBuilder, Failure> {
        Ok(
            HeaderBuilder::new(sender(&self.config), self.config.recipient.clone())
                .map_err(build_failure)?
                .pvno(pvno),
        )
    }

    /// A genm asking for one info type (RFC 4210 §5.3.19).
    fn genm(&self, pvno: u8, info_type: ObjectIdentifier) -> Result<PkiMessage, Failure> {
        self.header(pvno)?
            .build(
                PkiBody::Genm(vec![InfoTypeAndValue::request(info_type)]),
                Some(&self.config.protector),
            )
            .map_err(build_failure)
    }

    /// An ir with an invalid POP, protected by `protector` (or not at all).
    fn invalid_pop_ir(
        &self,
        pvno: u8,
        protector: Option<&Protector>,
    ) -> Result<PkiMessage, Failure> {
        let request = invalid_pop_request(&self.key, &self.subject)?;
        self.header(pvno)?
            .build(PkiBody::Ir(vec![request]), protector)
            .map_err(build_failure)
    }

    /// Sends an invalid-POP ir. Should the CA grant it all the same, the certificate is
    /// rejected at once by certConf (RFC 4210 §5.3.18), so that the CA revokes it.
    fn send_invalid_pop(
        &mut self,
        step: &str,
        pvno: u8,
        protector: Option<&Protector>,
    ) -> Result<usize, Failure> {
        let request = self.invalid_pop_ir(pvno, protector)?;
        let index = self.send(step, &request)?;
        let answer = &self.exchanges[index].answer;
        if let (Some((cert, cert_req_id)), Some(message)) = (answer.issued(), &answer.message) {
            let status = PkiStatusInfo::rejection(
                PkiFailureInfo::BAD_POP,
                "cmpv2 probe: the proof-of-possession was invalid on purpose",
            )
            .map_err(build_failure)?;
            let (cert_status, v3) =
                cert_status(cert, cert_req_id, Some(status)).map_err(build_failure)?;
            let mut header =
                HeaderBuilder::continue_from(&request.header, message.header.sender_nonce.clone())
                    .map_err(build_failure)?;
            if v3 {
                header = header.pvno(PVNO_CMP2021);
            }
            let conf = header
                .build(PkiBody::CertConf(vec![cert_status]), protector)
                .map_err(build_failure)?;
            self.send("rejecting the certificate", &conf)?;
        }
        Ok(index)
    }

    /// genm caCerts; when answered, a few more info types and pvno 3. Whether genm is
    /// supported (RFC 9483 §4.3: a CA may not support it).
    fn probe_genm(&mut self) -> Result<bool, Failure> {
        let index = self.send("caCerts", &self.genm(PVNO_CMP2000, oid::IT_CA_CERTS)?)?;
        let answer = &self.exchanges[index].answer;
        let verdict = match answer.body() {
            Some(PkiBody::Genp(infos)) if infos.iter().any(|i| i.info_type == oid::IT_CA_CERTS) => {
                "supported"
            }
            Some(PkiBody::Genp(_)) => "supported (caCerts missing from the genp)",
            Some(PkiBody::Error(_)) if answer.refuses_protection() => {
                "unknown (our protection was refused)"
            }
            Some(PkiBody::Error(_)) => "unsupported",
            Some(_) => "unsupported (unexpected answer)",
            None => "unknown (no answer)",
        };
        let supported = verdict.starts_with("supported");
        self.found("genm", "general messages (genm)", verdict, Some(index));
        if supported {
            for (name, info_type) in GENM_INFO_TYPES {
                let index = self.send(name, &self.genm(PVNO_CMP2000, *info_type)?)?;
                let verdict = match self.exchanges[index].answer.body() {
                    Some(PkiBody::Genp(infos)) => {
                        match infos.iter().find(|i| i.info_type == *info_type) {
                            Some(itav) if itav.info_value.is_some() => "answered with a value",
                            Some(_) => "answered without a value",
                            None => "not in the genp",
                        }
                    }
                    Some(PkiBody::Error(_)) => "refused",
                    Some(_) => "unexpected answer",
                    None => "no answer",
                };
                self.found(
                    &format!("genm.{name}"),
                    &format!("genm {name}"),
                    verdict,
                    Some(index),
                );
            }
        }
        Ok(supported)
    }

    /// ir with an invalid POP, protected as configured: how refusals are protected, and
    /// whether the CA checks POP at all (RFC 4211 §4, RFC 9483 §4.1.1).
    fn probe_invalid_pop(&mut self) -> Result<usize, Failure> {
        let protector = self.config.protector.clone();
        let index = self.send_invalid_pop("invalid POP", PVNO_CMP2000, Some(&protector))?;
        let answer = &self.exchanges[index].answer;
        let verdict = if answer.issued().is_some() {
            "NOT checked: a certificate was granted (rejected by certConf)".to_owned()
        } else if answer.refuses_pop() {
            "checked (refused: badPOP)".to_owned()
        } else if answer.is_refusal() {
            "unknown: refused for another reason".to_owned()
        } else {
            "unknown".to_owned()
        };
        let kind = answer.protection.kind();
        let has_message = answer.message.is_some();
        self.found("pop", "proof-of-possession check", &verdict, Some(index));
        self.found(
            "answers.refusal",
            &format!("refusal of a {}-protected request", self.credentials()),
            if has_message { kind } else { "no answer" },
            Some(index),
        );
        Ok(index)
    }

    /// `MAC` or `signature`: what we protect our requests with.
    fn credentials(&self) -> &'static str {
        match self.config.protector {
            Protector::Mac { .. } => "MAC",
            Protector::Signature { .. } => "signature",
        }
    }

    /// The same ir with a wrong secret, or unprotected with signature credentials: how
    /// the CA answers a request it cannot authenticate (unprotected errors?).
    fn probe_unauthenticated(&mut self) -> Result<usize, Failure> {
        let (step, protector) = match &self.config.protector {
            Protector::Mac {
                reference,
                algorithm,
                ..
            } => {
                let wrong = hex::encode(random_bytes(16).map_err(build_failure)?);
                (
                    "invalid POP, wrong secret",
                    Some(Protector::Mac {
                        secret: SharedSecret::from(wrong.as_str()),
                        reference: reference.clone(),
                        algorithm: *algorithm,
                    }),
                )
            }
            Protector::Signature { .. } => ("invalid POP, unprotected", None),
        };
        let index = self.send_invalid_pop(step, PVNO_CMP2000, protector.as_ref())?;
        let answer = &self.exchanges[index].answer;
        let verdict = match (&answer.message, answer.is_refusal()) {
            (None, _) => "no answer".to_owned(),
            (Some(_), true) => format!("refused, {}", answer.protection.kind()),
            (Some(_), false) => format!("NOT refused: {}", answer.gist()),
        };
        self.found(
            "answers.unauthenticated",
            "refusal of an unauthenticated request",
            &verdict,
            Some(index),
        );
        Ok(index)
    }

    /// pvno 3 (RFC 9480 §2.20): by genm when genm works, else by the invalid-POP ir
    /// under a protection that got as far as the POP check (badPOP again means the
    /// header passed).
    fn probe_pvno3(&mut self, genm: bool, accepted: Option<Protector>) -> Result<(), Failure> {
        let property = "pvno 3 (cmp2021)";
        if genm {
            let index = self.send("caCerts", &self.genm(PVNO_CMP2021, oid::IT_CA_CERTS)?)?;
            let verdict = match self.exchanges[index].answer.body() {
                Some(PkiBody::Genp(_)) => "accepted",
                Some(_) => "refused",
                None => "unknown (no answer)",
            };
            self.found("pvno3", property, verdict, Some(index));
        } else if let Some(protector) = accepted {
            let index = self.send_invalid_pop("invalid POP", PVNO_CMP2021, Some(&protector))?;
            let answer = &self.exchanges[index].answer;
            let verdict = if answer.refuses_pop() || answer.issued().is_some() {
                "accepted"
            } else if answer.message.is_some() {
                "refused"
            } else {
                "unknown (no answer)"
            };
            self.found("pvno3", property, verdict, Some(index));
        } else {
            self.found(
                "pvno3",
                property,
                "unknown (no genm, and POP refusals do not tell)",
                None,
            );
        }
        Ok(())
    }

    /// The invalid-POP ir under each MAC variant: badPOP (or a grant) means accepted
    /// (RFC 4211 §4.4, RFC 9481 §6.1). Only with MAC credentials, when a wrong secret
    /// is not refused for the POP; and a refusal means "refused" only when some variant
    /// got as far as the POP check.
    /// The protection of the first variant the CA accepted.
    fn probe_mac_variants(
        &mut self,
        refusal: usize,
        pop_tells: bool,
    ) -> Result<Option<Protector>, Failure> {
        let property = "MAC algorithms accepted";
        let Protector::Mac {
            secret,
            reference,
            algorithm,
        } = self.config.protector.clone()
        else {
            self.found("mac", property, "not probed (signature credentials)", None);
            return Ok(None);
        };
        if !pop_tells {
            let why = "not probed (POP refusals do not tell whether a MAC was accepted)";
            self.found("mac", property, why, None);
            return Ok(None);
        }
        let mut sent = Vec::new();
        for variant in MAC_VARIANTS {
            // The ir that probed POP used the configured algorithm: no need to ask again.
            let index = if variant.algorithm == algorithm {
                refusal
            } else {
                let protector = Protector::Mac {
                    secret: secret.clone(),
                    reference: reference.clone(),
                    algorithm: variant.algorithm,
                };
                self.send_invalid_pop("invalid POP", PVNO_CMP2000, Some(&protector))?
            };
            sent.push((variant, index));
        }
        let took = |a: &Answer| a.refuses_pop() || a.issued().is_some();
        let first_taken = sent
            .iter()
            .find(|(_, i)| took(&self.exchanges[*i].answer))
            .map(|(variant, _)| Protector::Mac {
                secret: secret.clone(),
                reference: reference.clone(),
                algorithm: variant.algorithm,
            });
        let any_took = first_taken.is_some();
        for (variant, index) in sent {
            let answer = &self.exchanges[index].answer;
            let verdict = if took(answer) {
                "accepted"
            } else if answer.message.is_none() {
                "unknown (no answer)"
            } else if any_took {
                "refused"
            } else {
                "unknown (no variant got as far as the POP check)"
            };
            let key = format!("mac.{}", variant.key);
            self.found(&key, variant.label, verdict, Some(index));
        }
        Ok(first_taken)
    }

    /// How positive answers are protected: the genp when genm works, else what
    /// `--enroll` got.
    fn positive_answers(&mut self, genm: bool) {
        let positive = self.exchanges.iter().position(|e| {
            let a = &e.answer;
            (genm && matches!(a.body(), Some(PkiBody::Genp(_)))) || a.issued().is_some()
        });
        let verdict = match self.answer(positive) {
            Some(a) => a.protection.kind().to_owned(),
            None => "not seen (no genm; --enroll shows it)".to_owned(),
        };
        self.found(
            "answers.positive",
            &format!(
                "positive answer to a {}-protected request",
                self.credentials()
            ),
            &verdict,
            positive,
        );
    }

    /// The client configuration `--enroll` uses: strict about what it accepts as a
    /// certificate, lenient about the quirks this probe reports anyway.
    fn enroll_config(&self) -> ClientConfig {
        let mut config = self.config.clone();
        config.policy = ResponsePolicy {
            allow_unprotected_errors: true,
            ignore_key_usage: true,
            tolerate_reversed_rdns: true,
            strict_p10cr_cert_req_id: false,
            ..config.policy
        };
        config.implicit_confirm = false;
        config.polling.max_check_after = Duration::from_secs(60);
        config.polling.deadline = Duration::from_secs(180);
        config
    }

    /// ir asking for implicitConfirm, p10cr, polling if asked, then rr of each
    /// certificate. Only when an answer of the CA verified: what is enrolled must be
    /// believed to be revoked.
    fn probe_enrollment(&mut self) -> Result<(), Failure> {
        if !self
            .exchanges
            .iter()
            .any(|e| e.answer.protection.verified())
        {
            for (key, property) in ENROLL_FINDINGS {
                let why =
                    "not probed: no answer of the CA verified (give --trusted, or check --secret)";
                self.found(key, property, why, None);
            }
            return Ok(());
        }
        let config = self.enroll_config();
        let first = self.exchanges.len();
        self.enroll_ir(&config)?;
        self.enroll_p10cr(&config)?;
        let waited =
            (first..self.exchanges.len()).find(|&i| self.exchanges[i].answer.asks_to_wait());
        let verdict = match waited {
            Some(_) => "the CA asked to wait (pollRep or waiting)",
            None => "no waiting",
        };
        self.found(
            "polling",
            ENROLL_FINDINGS[2].1,
            verdict,
            waited.or(Some(first)),
        );
        self.revoke_all(&config);
        Ok(())
    }

    /// An ir asking for implicitConfirm (RFC 4210 §5.1.1.1): whether the ip grants it.
    fn enroll_ir(&mut self, config: &ClientConfig) -> Result<(), Failure> {
        let config = ClientConfig {
            implicit_confirm: true,
            ..config.clone()
        };
        let key = fresh_key()?;
        let request = CertRequestBuilder::new(key.public_key_info().map_err(build_failure)?)
            .subject(unique_name("ir")?)
            .sign_pop(&key)
            .map_err(build_failure)?;
        let start = self.exchanges.len();
        let result = self.with_client("implicitConfirm asked", &config, |c| {
            c.enroll(EnrollmentRequest::Ir(request))
        });
        // Read from the ip itself, so that it shows even when the client then refused
        // the certificate.
        let ip =
            (start..self.exchanges.len()).find(|&i| self.exchanges[i].answer.issued().is_some());
        let granted = self
            .answer(ip)
            .and_then(|a| a.message.as_ref())
            .map(|m| m.header.has_implicit_confirm());
        let mut verdict = match granted {
            Some(true) => "granted".to_owned(),
            Some(false) => "not granted".to_owned(),
            None => "unknown".to_owned(),
        };
        match result {
            Ok(enrolled) => self.keep(enrolled.certificate, key),
            Err(e) => {
                let _ = write!(verdict, "; the ir failed: {}", client_failure(&e).message);
            }
        }
        let evidence = ip.or(Some(start));
        self.found("implicit_confirm", ENROLL_FINDINGS[0].1, &verdict, evidence);
        Ok(())
    }

    /// A p10cr: the certReqId of the cp (RFC 9483 §4.1.4 says -1).
    fn enroll_p10cr(&mut self, config: &ClientConfig) -> Result<(), Failure> {
        let key = fresh_key()?;
        let request = csr(&key, unique_name("p10cr")?)?;
        let start = self.exchanges.len();
        let result = self.with_client("enroll", config, |c| {
            c.enroll(EnrollmentRequest::P10cr(request))
        });
        let cp = (start..self.exchanges.len()).find(|&i| {
            matches!(self.exchanges[i].answer.body(), Some(PkiBody::Cp(rep)) if !rep.response.is_empty())
        });
        let cert_req_id = self
            .answer(cp)
            .and_then(|a| a.body()?.cert_rep()?.response.first())
            .map(|r| r.cert_req_id);
        let verdict = match (&result, cert_req_id) {
            (_, Some(-1)) => "-1 (as RFC 9483 §4.1.4 says)".to_owned(),
            (_, Some(id)) => format!("{id} (RFC 9483 says -1)"),
            (Err(e), None) => format!("unknown: the p10cr failed: {}", client_failure(e).message),
            (Ok(_), None) => "unknown".to_owned(),
        };
        if let Ok(enrolled) = result {
            self.keep(enrolled.certificate, key);
        }
        self.found("p10cr_cert_req_id", ENROLL_FINDINGS[1].1, &verdict, cp);
        Ok(())
    }

    fn keep(&mut self, certificate: Certificate, key: SigningKey) {
        self.issued.push(Issued {
            certificate,
            key,
            revoked: Err("not yet".to_owned()),
        });
    }

    /// Revokes what `--enroll` obtained (rr, RFC 9483 §4.2), reason cessationOfOperation:
    /// with our credentials, and if the CA refuses, signed with the certificate itself.
    fn revoke_all(&mut self, config: &ClientConfig) {
        let issued = std::mem::take(&mut self.issued);
        let mut evidence = None;
        for mut entry in issued {
            let cert = entry.certificate.clone();
            let start = self.exchanges.len();
            let reason = Some(CrlReason::CessationOfOperation);
            let mut result = self.with_client("revoke", config, |c| c.revoke(cert.clone(), reason));
            if result.as_ref().is_err_and(|e| e.refusal().is_some()) {
                let mut own = config.clone();
                own.sender = None;
                own.protector = Protector::Signature {
                    key: entry.key.clone(),
                    certificate: Box::new(cert.clone()),
                    chain: Vec::new(),
                };
                result =
                    self.with_client("revoke, signed with the certificate itself", &own, |c| {
                        c.revoke(cert.clone(), reason)
                    });
            }
            evidence = evidence.or(Some(start));
            entry.revoked = result.map_err(|e| client_failure(&e).message);
            self.issued.push(entry);
        }
        let revoked = self.issued.iter().filter(|i| i.revoked.is_ok()).count();
        let verdict = match (self.issued.len(), revoked) {
            (0, _) => "nothing was enrolled".to_owned(),
            (n, r) if n == r => format!("revoked all {n} certificates enrolled"),
            (n, r) => format!("NOT ALL REVOKED: {r} of {n}"),
        };
        self.found("revocation", ENROLL_FINDINGS[3].1, &verdict, evidence);
    }
}

/// `--recipient` with the CA's name when errors came unprotected to the NULL-DN
/// recipient: EJBCA signs them when the recipient is its CA's DN (docs/ejbca.md). The
/// name is the sender of a verified answer, else a guess: the `--trusted` certificate.
fn recipient_flag<T: Transport>(probe: &Probe<T>) -> Option<Flag> {
    if !matches!(&probe.config.recipient, GeneralName::DirectoryName(n) if n.is_empty()) {
        return None;
    }
    let verified = probe
        .exchanges
        .iter()
        .map(|e| &e.answer)
        .filter(|a| a.protection.verified())
        .find_map(Answer::sender);
    let (name, source) = match (verified, probe.config.trust.anchors.first()) {
        (Some(sender), _) => (sender.to_string(), "the sender of its verified answers"),
        (None, Some(anchor)) => (
            anchor.tbs_certificate().subject().to_string(),
            "a guess: the --trusted certificate",
        ),
        (None, None) => ("CA-DN".to_owned(), "the DN of the CA"),
    };
    Some(Flag {
        flag: format!("--recipient '{name}'"),
        reason: format!(
            "refusals came unprotected to the NULL-DN recipient; EJBCA signs them when the \
             recipient is its CA ({source})"
        ),
    })
}

/// Which answers are signed, in words: `answers`, `refusals`, or `refusals of requests
/// it cannot authenticate`.
fn signed_answers<T: Transport>(probe: &Probe<T>) -> Option<String> {
    let signed = |key: &str| {
        probe.findings.iter().any(|f| {
            f.key == key
                && f.evidence
                    .is_some_and(|i| probe.exchanges[i].answer.signer().is_some())
        })
    };
    let signer = probe
        .exchanges
        .iter()
        .find_map(|e| e.answer.signer())
        .map(|c| dn_text(c.tbs_certificate().subject()))?;
    let what = if signed("answers.positive") {
        "its answers"
    } else if signed("answers.refusal") {
        "its refusals"
    } else {
        "its refusals of requests it cannot authenticate"
    };
    Some(format!("the CA signs {what} ({signer})"))
}

/// Where a finding goes in the table: by subject, not by the order of the messages.
fn rank(key: &str) -> usize {
    const ORDER: [&str; 13] = [
        "genm",
        "genm.",
        "pvno3",
        "answers.positive",
        "answers.refusal",
        "answers.unauthenticated",
        "pop",
        "mac",
        "mac.",
        "implicit_confirm",
        "p10cr_cert_req_id",
        "polling",
        "revocation",
    ];
    ORDER
        .iter()
        .position(|p| key == *p || (p.ends_with('.') && key.starts_with(p)))
        .unwrap_or(ORDER.len())
}

/// The findings of `--enroll`: key and property.
const ENROLL_FINDINGS: [(&str, &str); 4] = [
    ("implicit_confirm", "implicitConfirm asked in an ir"),
    ("p10cr_cert_req_id", "certReqId of the cp answering p10cr"),
    ("polling", "polling (waiting)"),
    ("revocation", "revocation of what --enroll got"),
];

// ---------------------------------------------------------------------------------------
// The report
// ---------------------------------------------------------------------------------------

/// A `cmpv2 enroll` option and why it fits.
struct Flag {
    flag: String,
    reason: String,
}

fn flag(flag: &str, reason: impl Into<String>) -> Flag {
    Flag {
        flag: flag.to_owned(),
        reason: reason.into(),
    }
}

/// What follows from the findings: flags, the issuer's compatibility switches and its
/// health check.
struct Report {
    flags: Vec<Flag>,
    /// An unprotected refusal the CA sent, in a few words.
    unprotected_refusal: Option<String>,
    ignore_signer_key_usage: bool,
    tolerate_reversed_rdns: bool,
    strict_p10cr_cert_req_id: bool,
    /// `healthCheck: None` (with why) when genm does not give a verified genp.
    health_check_none: Option<String>,
}

impl<T: Transport> From<&Probe<T>> for Report {
    fn from(probe: &Probe<T>) -> Self {
        let answers = || probe.exchanges.iter().map(|e| &e.answer);
        let genm_ok = probe.exchanges.first().is_some_and(|e| {
            matches!(e.answer.body(), Some(PkiBody::Genp(_))) && e.answer.protection.verified()
        });
        let mut report = Self {
            flags: Vec::new(),
            unprotected_refusal: answers()
                .find(|a| {
                    a.message.is_some()
                        && a.is_negative()
                        && matches!(a.protection, Protection::None)
                })
                .map(Answer::gist),
            ignore_signer_key_usage: answers().any(Answer::signer_lacks_digital_signature),
            tolerate_reversed_rdns: answers().any(Answer::sender_reversed),
            strict_p10cr_cert_req_id: probe.verdict("p10cr_cert_req_id").starts_with("-1"),
            health_check_none: (!genm_ok).then(|| match probe.verdict("genm") {
                v if v.starts_with("supported") => "the genp did not verify".to_owned(),
                "unsupported" => "the CA does not answer genm".to_owned(),
                v => format!("genm: {v}"),
            }),
        };
        report.flags = enroll_flags(probe, &report);
        report
    }
}

/// The `cmpv2 enroll` options that fit the CA, each with its reason.
fn enroll_flags<T: Transport>(probe: &Probe<T>, report: &Report) -> Vec<Flag> {
    let mut flags = Vec::new();
    if let Some(signed) = signed_answers(probe) {
        let how = if probe.config.trust.anchors.is_empty() {
            "give its CA certificate"
        } else {
            "as given"
        };
        flags.push(flag("--trusted FILE", format!("{signed}: {how}")));
    }
    if let Some(gist) = &report.unprotected_refusal {
        flags.extend(recipient_flag(probe));
        flags.push(flag(
            "--unprotected-errors",
            format!("the CA sends refusals unprotected ({gist})"),
        ));
    }
    if report.ignore_signer_key_usage {
        flags.push(flag(
            "--ignore-keyusage",
            "the CA's signer certificate lacks digitalSignature",
        ));
    }
    if report.tolerate_reversed_rdns {
        flags.push(flag(
            "--tolerate-reversed-rdns",
            "the CA writes its sender's RDNs in reverse order",
        ));
    }
    if probe.verdict("implicit_confirm") == "granted" {
        flags.push(flag(
            "--implicit-confirm",
            "the CA grants it: one exchange less",
        ));
    }
    if report.strict_p10cr_cert_req_id {
        flags.push(flag(
            "--strict-p10cr-id",
            "the CA answers p10cr with certReqId -1 (optional: stricter)",
        ));
    }
    let [default, others @ ..] = MAC_VARIANTS else {
        return flags;
    };
    if probe.verdict(&format!("mac.{}", default.key)) == "refused"
        && let Some(other) = others
            .iter()
            .find(|v| probe.verdict(&format!("mac.{}", v.key)) == "accepted")
    {
        flags.push(flag(
            other.options,
            format!(
                "the CA refuses cmpv2's default MAC but takes {}",
                other.label.trim_start_matches("MAC: ")
            ),
        ));
    }
    flags
}

/// One row per finding: property, verdict, what was asked, what came back.
fn table<T: Transport>(probe: &Probe<T>) -> String {
    let mut out = String::new();
    let rows: Vec<[String; 4]> = probe
        .findings
        .iter()
        .map(|f| {
            let (asked, answer, verified) = match f.evidence {
                Some(i) => {
                    let e = &probe.exchanges[i];
                    (
                        format!("{}: {}", e.request, e.step),
                        e.answer.summary(),
                        e.answer.protection.verified(),
                    )
                }
                None => ("-".to_owned(), "-".to_owned(), true),
            };
            // The protection findings say themselves what was (not) verified.
            let mark = if verified || f.key.starts_with("answers.") {
                ""
            } else {
                " (unverified)"
            };
            [
                f.property.clone(),
                format!("{}{mark}", f.verdict),
                asked,
                answer,
            ]
        })
        .collect();
    let header = ["PROPERTY", "VERDICT", "ASKED", "ANSWER"].map(str::to_owned);
    let widths: Vec<usize> = (0..3)
        .map(|c| {
            rows.iter()
                .chain([&header])
                .map(|r| r[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in [&header].into_iter().chain(&rows) {
        let _ = writeln!(
            out,
            "{:w0$}  {:w1$}  {:w2$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
    }
    if rows.iter().any(|r| r[1].ends_with("(unverified)")) {
        out.push_str("\n(unverified): rests on an answer whose protection could not be verified\n");
    }
    out
}

impl Report {
    /// The table, the flags and the issuer block.
    fn text<T: Transport>(&self, probe: &Probe<T>) -> String {
        let answered = probe
            .exchanges
            .iter()
            .filter(|e| e.answer.message.is_some())
            .count();
        let mut out = format!(
            "cmpv2 probe: {} messages sent, {answered} answered ({} credentials)\n\n",
            probe.exchanges.len(),
            probe.credentials()
        );
        out.push_str(&table(probe));
        if !probe.issued.is_empty() {
            out.push_str("\nEnrolled by --enroll:\n");
            for issued in &probe.issued {
                let _ = writeln!(
                    out,
                    "  {} serial {}: {}",
                    dn_text(issued.certificate.tbs_certificate().subject()),
                    serial_hex(&issued.certificate),
                    match &issued.revoked {
                        Ok(()) => "revoked".to_owned(),
                        Err(e) => format!("NOT REVOKED: {e}"),
                    }
                );
            }
        }
        out.push_str("\ncmpv2 enroll options for this CA:\n");
        if self.flags.is_empty() {
            out.push_str("  (none beyond the credentials)\n");
        }
        let width = self.flags.iter().map(|f| f.flag.len()).max().unwrap_or(0);
        for f in &self.flags {
            let _ = writeln!(out, "  {:width$}  {}", f.flag, f.reason);
        }
        out.push_str("\nCMPv2Issuer / CMPv2ClusterIssuer:\n");
        out.push_str(&self.yaml());
        out
    }

    /// The issuer's `spec` fragment (crates/issuer/src/api.rs `Compatibility`,
    /// `HealthCheck`).
    fn yaml(&self) -> String {
        let mut out = String::from("spec:\n  compatibility:\n");
        for (name, value) in self.compatibility() {
            let _ = writeln!(out, "    {name}: {value}");
        }
        match &self.health_check_none {
            Some(why) => {
                let _ = writeln!(out, "  healthCheck: None  # {why}");
            }
            None => out.push_str("  healthCheck: GeneralMessage\n"),
        }
        out
    }

    fn compatibility(&self) -> [(&'static str, bool); 4] {
        [
            (
                "acceptUnprotectedErrors",
                self.unprotected_refusal.is_some(),
            ),
            ("ignoreSignerKeyUsage", self.ignore_signer_key_usage),
            ("tolerateReversedRdns", self.tolerate_reversed_rdns),
            ("strictP10crCertReqId", self.strict_p10cr_cert_req_id),
        ]
    }

    /// One JSON object with everything the table says, and every exchange.
    fn json<T: Transport>(&self, probe: &Probe<T>) -> String {
        let findings: Vec<Value> = probe
            .findings
            .iter()
            .map(|f| {
                let e = f.evidence.map(|i| &probe.exchanges[i]);
                json!({
                    "key": f.key,
                    "property": f.property,
                    "verdict": f.verdict,
                    "verified": e.map(|e| e.answer.protection.verified()),
                    "asked": e.map(|e| format!("{}: {}", e.request, e.step)),
                    "answer": e.map(|e| e.answer.summary()),
                })
            })
            .collect();
        let facts: serde_json::Map<String, Value> = probe
            .findings
            .iter()
            .map(|f| (f.key.clone(), json!(f.verdict)))
            .collect();
        let exchanges: Vec<Value> = probe
            .exchanges
            .iter()
            .map(|e| json!({ "step": e.step, "request": e.request, "answer": e.answer.json() }))
            .collect();
        let enrolled: Vec<Value> = probe
            .issued
            .iter()
            .map(|i| {
                json!({
                    "subject": dn_text(i.certificate.tbs_certificate().subject()),
                    "serial": serial_hex(&i.certificate),
                    "revoked": i.revoked.is_ok(),
                    "error": i.revoked.as_ref().err(),
                })
            })
            .collect();
        let compatibility: serde_json::Map<String, Value> = self
            .compatibility()
            .into_iter()
            .map(|(name, value)| (name.to_owned(), json!(value)))
            .collect();
        json!({
            "credentials": probe.credentials(),
            "messages": probe.exchanges.len(),
            "findings": findings,
            "facts": facts,
            "enroll_flags": self.flags.iter().map(|f| json!({"flag": f.flag, "reason": f.reason})).collect::<Vec<_>>(),
            "compatibility": compatibility,
            "health_check": if self.health_check_none.is_some() { "None" } else { "GeneralMessage" },
            "health_check_reason": self.health_check_none,
            "enrolled": enrolled,
            "exchanges": exchanges,
        })
        .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_args(args: &[&str]) -> Result<Option<Options>, Failure> {
        parse(args.iter().map(OsString::from))
    }

    #[test]
    fn parses_probe_options() {
        let options = parse_args(&[
            "--server", "ca:80", "--secret", "pass:x", "--enroll", "--json",
        ])
        .expect("valid")
        .expect("not help");
        assert!(options.enroll && options.json);
        assert!(matches!(parse_args(&["--help"]), Ok(None)));
        for bad in [
            &["--server", "ca"][..],
            &["--server", "ca", "--secret", "pass:x", "--enroll=1"][..],
            &["--server", "ca", "--secret", "pass:x", "--bogus"][..],
        ] {
            let err = parse_args(bad).map(|_| ()).expect_err("usage error");
            assert_eq!(err.code, crate::EXIT_USAGE, "{bad:?}");
        }
    }

    #[test]
    fn invalid_pop_does_not_verify_but_is_well_formed() {
        let key = fresh_key().expect("key");
        let subject = Name::from_str("CN=x").expect("name");
        let request = invalid_pop_request(&key, &subject).expect("request");
        let err = cmp_proto::protection::verify_signature_pop(
            &request,
            &GeneralName::DirectoryName(Name::default()),
            &Limits::default(),
        );
        assert!(err.is_err(), "the POP must not verify");
        let good = CertRequestBuilder::new(key.public_key_info().expect("spki"))
            .subject(subject)
            .sign_pop(&key)
            .expect("signed");
        assert_eq!(good.cert_req, request.cert_req);
    }

    #[test]
    fn csr_verifies() {
        let key = fresh_key().expect("key");
        let request = csr(&key, Name::from_str("CN=x").expect("name")).expect("csr");
        cmp_proto::protection::verify_csr(&request, &Limits::default()).expect("verifies");
    }
}
