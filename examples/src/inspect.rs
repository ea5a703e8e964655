//! `cmpv2 inspect`: decode one PKIMessage and print what it holds.
//!
//! The input is DER, or PEM with any label (detected by a leading `-----BEGIN`). The
//! message is decoded with [`ReceivedMessage::decode`] under the default [`Limits`], so
//! a hostile file is held to the same bounds as a message from the network. The output
//! is a readable dump of the header, the body, the protection and extraCerts, or with
//! `--json` one JSON object. With `--secret`, the MAC protection is verified over the
//! bytes as received ([`cmp_proto::protection::verify_mac`]); the secret is never
//! printed.

use std::fmt::{Display, Write as _};
use std::io::Write as _;
use std::path::PathBuf;

use cmp_proto::crmf::{CertReqMsg, CertTemplate, PopoPrivKey, ProofOfPossession};
use cmp_proto::der::asn1::{Any, ObjectIdentifier, OctetString};
use cmp_proto::der::{Decode, Encode};
use cmp_proto::protection::{
    Pbkdf2Params, PbmParameter, Pbmac1Params, ProtectionKind, SharedSecret, verify_mac,
};
use cmp_proto::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use cmp_proto::time::{GenTime, TemplateTime};
use cmp_proto::x509_cert::Certificate;
use cmp_proto::x509_cert::ext::Extensions;
use cmp_proto::x509_cert::ext::pkix::crl::CrlReason;
use cmp_proto::x509_cert::ext::pkix::name::GeneralName;
use cmp_proto::x509_cert::name::Name;
use cmp_proto::{
    BodyType, CertResponse, CertStatus, InfoTypeAndValue, Limits, PkiBody, PkiHeader,
    PkiStatusInfo, ReceivedMessage, oid,
};
use serde_json::{Map, Value, json};

use crate::Failure;
use crate::secret_source::SecretSource;

/// What `inspect` was asked to do.
#[derive(Debug)]
pub struct Options {
    /// The file holding the message.
    pub file: PathBuf,
    /// Print JSON instead of the readable dump.
    pub json: bool,
    /// Check the MAC protection with this secret.
    pub secret: Option<SecretSource>,
}

/// How an inspection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Printed; protection verified, or not asked to.
    Done,
    /// Printed, but `--secret` was given and the protection was not verified with it.
    Unverified,
}

/// How the file was encoded.
enum Encoding {
    Der,
    Pem(String),
}

/// The result of checking the protection with a shared secret.
enum Check {
    /// The MAC verifies.
    Valid,
    /// The MAC does not verify, or cannot be computed (no protection, bad parameters).
    Invalid(String),
    /// The protection is not a MAC: a secret cannot check it.
    NotApplicable(String),
}

impl Check {
    fn reason(&self) -> Option<&str> {
        match self {
            Self::Valid => None,
            Self::Invalid(reason) | Self::NotApplicable(reason) => Some(reason),
        }
    }
}

/// Runs `inspect`: reads, decodes, optionally verifies, prints.
pub fn run(options: &Options) -> Result<Verdict, Failure> {
    let shown = options.file.display().to_string();
    let raw = std::fs::read(&options.file).map_err(|e| Failure::input(format!("{shown}: {e}")))?;
    let (der, encoding) =
        unwrap_pem(&raw).map_err(|e| Failure::input(format!("{shown}: malformed PEM: {e}")))?;
    let limits = Limits::default();
    let received = ReceivedMessage::decode(&der, &limits)
        .map_err(|e| Failure::input(format!("{shown}: {e}")))?;

    let check = match &options.secret {
        None => None,
        Some(source) => {
            let secret = source
                .load()
                .map_err(|e| Failure::input(format!("--secret: {e}")))?;
            Some(check_protection(&received, &secret, &limits))
        }
    };

    let output = if options.json {
        let value = to_json(&received, check.as_ref(), &limits);
        let mut text = serde_json::to_string_pretty(&value)
            .map_err(|e| Failure::input(format!("cannot format JSON: {e}")))?;
        text.push('\n');
        text
    } else {
        dump(&shown, &encoding, &received, check.as_ref(), &limits)
    };
    write_stdout(&output)?;

    match check.as_ref().and_then(Check::reason) {
        Some(reason) => {
            eprintln!("cmpv2: {shown}: protection not verified: {reason}");
            Ok(Verdict::Unverified)
        }
        None => Ok(Verdict::Done),
    }
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn write_stdout(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(Failure::input(format!("cannot write output: {e}")))
        }
        _ => Ok(()),
    }
}

/// DER as is, or the content of a PEM block (any label).
fn unwrap_pem(raw: &[u8]) -> Result<(Vec<u8>, Encoding), der::pem::Error> {
    let start = raw
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(raw.len());
    let trimmed = &raw[start..];
    if trimmed.starts_with(b"-----BEGIN") {
        let (label, der) = der::pem::decode_vec(trimmed)?;
        Ok((der, Encoding::Pem(label.to_owned())))
    } else {
        Ok((raw.to_vec(), Encoding::Der))
    }
}

/// Verifies the MAC with `secret`; a signature cannot be checked with a secret.
fn check_protection(received: &ReceivedMessage, secret: &SharedSecret, limits: &Limits) -> Check {
    if let Some(alg) = &received.message.header.protection_alg
        && matches!(ProtectionKind::of(alg), Ok(ProtectionKind::Signature))
    {
        return Check::NotApplicable(format!(
            "a shared secret cannot check a signature; protectionAlg is {}",
            oid_short(&alg.oid)
        ));
    }
    match verify_mac(received, secret, limits) {
        Ok(()) => Check::Valid,
        Err(e) => Check::Invalid(e.to_string()),
    }
}

// ---------------------------------------------------------------------------------------
// Names and small formatters shared by both outputs
// ---------------------------------------------------------------------------------------

/// A readable name for an OID: cmp-proto's table first, then const-oid's database.
fn oid_name(oid: &ObjectIdentifier) -> Option<&'static str> {
    oid::name(oid).or_else(|| {
        const_oid::db::DB
            .by_oid(oid)
            .map(|n| n.strip_prefix("id-ce-").unwrap_or(n))
    })
}

/// The name of an OID, or its dotted form when it has none.
pub(crate) fn oid_short(oid: &ObjectIdentifier) -> String {
    oid_name(oid).map_or_else(|| oid.to_string(), str::to_owned)
}

/// `name (dotted)`, or the dotted form alone.
fn oid_long(oid: &ObjectIdentifier) -> String {
    match oid_name(oid) {
        Some(name) => format!("{name} ({oid})"),
        None => oid.to_string(),
    }
}

/// A GeneralName as one string: a directoryName as its RFC 4514 string, others with
/// their kind as prefix.
pub(crate) fn general_name(name: &GeneralName) -> String {
    match name {
        GeneralName::DirectoryName(dn) => dn.to_string(),
        GeneralName::Rfc822Name(s) => format!("rfc822Name:{}", s.as_str()),
        GeneralName::DnsName(s) => format!("dNSName:{}", s.as_str()),
        GeneralName::UniformResourceIdentifier(s) => format!("URI:{}", s.as_str()),
        GeneralName::IpAddress(ip) => {
            let bytes = ip.as_bytes();
            let addr = <[u8; 4]>::try_from(bytes)
                .map(|a| std::net::IpAddr::from(a).to_string())
                .or_else(|_| {
                    <[u8; 16]>::try_from(bytes).map(|a| std::net::IpAddr::from(a).to_string())
                })
                .unwrap_or_else(|_| hex::encode(bytes));
            format!("IP:{addr}")
        }
        GeneralName::RegisteredId(oid) => format!("registeredID:{oid}"),
        GeneralName::OtherName(other) => format!("otherName:{}", oid_short(&other.type_id)),
        GeneralName::EdiPartyName(_) => "ediPartyName".to_owned(),
    }
}

/// A GeneralName for the dump: an empty DN is spelled out.
fn general_name_text(name: &GeneralName) -> String {
    match general_name(name) {
        s if s.is_empty() => "(empty DN)".to_owned(),
        s => s,
    }
}

/// A Name for the dump: an empty DN is spelled out.
fn name_text(name: &Name) -> String {
    match name.to_string() {
        s if s.is_empty() => "(empty DN)".to_owned(),
        s => s,
    }
}

/// Lowercase hex, plus the text when every byte is printable ASCII.
fn hex_and_text(bytes: &[u8]) -> String {
    let hex = hex::encode(bytes);
    if !bytes.is_empty() && bytes.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        format!("{hex} ({:?})", String::from_utf8_lossy(bytes))
    } else {
        hex
    }
}

fn time_text(time: &GenTime) -> String {
    time.to_string()
}

fn pvno_name(pvno: u8) -> &'static str {
    match pvno {
        1 => "cmp1999",
        2 => "cmp2000",
        3 => "cmp2021",
        _ => "unknown",
    }
}

/// What a body type is, in words.
fn body_description(body: BodyType) -> &'static str {
    match body {
        BodyType::Ir => "initialization request",
        BodyType::Ip => "initialization response",
        BodyType::Cr => "certification request",
        BodyType::Cp => "certification response",
        BodyType::P10cr => "PKCS #10 certification request",
        BodyType::Popdecc => "POP challenge",
        BodyType::Popdecr => "POP response",
        BodyType::Kur => "key update request",
        BodyType::Kup => "key update response",
        BodyType::Krr => "key recovery request",
        BodyType::Krp => "key recovery response",
        BodyType::Rr => "revocation request",
        BodyType::Rp => "revocation response",
        BodyType::Ccr => "cross-certification request",
        BodyType::Ccp => "cross-certification response",
        BodyType::Ckuann => "CA key update announcement",
        BodyType::Cann => "certificate announcement",
        BodyType::Rann => "revocation announcement",
        BodyType::Crlann => "CRL announcement",
        BodyType::PkiConf => "confirmation",
        BodyType::Nested => "nested messages",
        BodyType::Genm => "general message",
        BodyType::Genp => "general response",
        BodyType::Error => "error",
        BodyType::CertConf => "certificate confirmation",
        BodyType::PollReq => "polling request",
        BodyType::PollRep => "polling response",
    }
}

/// A public key's algorithm, with the curve for EC keys.
pub(crate) fn key_alg(spki: &SubjectPublicKeyInfoOwned) -> String {
    let alg = oid_short(&spki.algorithm.oid);
    match spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
    {
        Some(curve) => format!("{alg} {}", oid_short(&curve)),
        None => alg,
    }
}

/// The extension OIDs of a template or certificate, by name, `critical` marked.
pub(crate) fn extension_names(exts: Option<&Extensions>) -> Vec<String> {
    exts.map(|exts| {
        exts.iter()
            .map(|e| {
                let name = oid_short(&e.extn_id);
                if e.critical {
                    format!("{name} (critical)")
                } else {
                    name
                }
            })
            .collect()
    })
    .unwrap_or_default()
}

/// The reasonCode of CRL entry extensions, if any.
fn crl_reason(exts: Option<&Extensions>) -> Option<String> {
    let ext = exts?
        .iter()
        .find(|e| e.extn_id == const_oid::db::rfc5280::ID_CE_CRL_REASONS)?;
    let reason = match CrlReason::from_der(ext.extn_value.as_bytes()) {
        Ok(reason) => reason,
        Err(_) => return Some("(malformed)".to_owned()),
    };
    Some(crate::revoke::reason_name(reason).to_owned())
}

/// The proof-of-possession kind, with its algorithm or method.
fn popo_text(popo: Option<&ProofOfPossession>) -> String {
    fn priv_key(p: &PopoPrivKey) -> &'static str {
        match p {
            PopoPrivKey::ThisMessage(_) => "thisMessage",
            PopoPrivKey::SubsequentMessage(0) => "subsequentMessage encrCert",
            PopoPrivKey::SubsequentMessage(1) => "subsequentMessage challengeResp",
            PopoPrivKey::SubsequentMessage(_) => "subsequentMessage",
            PopoPrivKey::DhMac(_) => "dhMAC",
            PopoPrivKey::AgreeMac(_) => "agreeMAC",
            PopoPrivKey::EncryptedKey(_) => "encryptedKey",
        }
    }
    match popo {
        None => "none".to_owned(),
        Some(ProofOfPossession::RaVerified(_)) => "raVerified".to_owned(),
        Some(ProofOfPossession::Signature(sk)) => {
            let input = if sk.poposk_input.is_some() {
                ", with poposkInput"
            } else {
                ""
            };
            format!(
                "signature ({}{input})",
                oid_short(&sk.algorithm_identifier.oid)
            )
        }
        Some(ProofOfPossession::KeyEncipherment(p)) => {
            format!("keyEncipherment ({})", priv_key(p))
        }
        Some(ProofOfPossession::KeyAgreement(p)) => format!("keyAgreement ({})", priv_key(p)),
    }
}

/// The controls of a request: their names, oldCertID with the certificate it names.
fn control_names(req: &CertReqMsg) -> Vec<String> {
    req.cert_req
        .controls
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|c| match c.as_old_cert_id() {
            Some(Ok(id)) => format!(
                "oldCertID (issuer {}, serial {})",
                general_name_text(&id.issuer),
                id.serial_number
            ),
            Some(Err(_)) => "oldCertID (malformed)".to_owned(),
            None => oid_short(&c.value_type),
        })
        .collect()
}

/// What a dump and the JSON show of a certificate.
struct CertSummary {
    subject: String,
    issuer: String,
    serial: String,
    not_after: String,
}

impl CertSummary {
    fn of(cert: &Certificate) -> Self {
        let tbs = cert.tbs_certificate();
        Self {
            subject: tbs.subject().to_string(),
            issuer: tbs.issuer().to_string(),
            serial: tbs.serial_number().to_string(),
            not_after: tbs.validity().not_after.to_string(),
        }
    }

    fn json(&self) -> Value {
        json!({
            "subject": self.subject,
            "issuer": self.issuer,
            "serial": self.serial,
            "not_after": self.not_after,
        })
    }
}

fn subject(cert: &Certificate) -> String {
    cert.tbs_certificate().subject().to_string()
}

/// The parameters of a MAC protectionAlg, as `(json key, text label, value)`.
type Params = Vec<(&'static str, &'static str, Value)>;

/// Decodes `any` as `T` (through DER, so any `Decode` type works).
fn decode_any<T: for<'a> Decode<'a, Error = der::Error>>(any: &Any) -> Result<T, der::Error> {
    T::from_der(&any.to_der()?)
}

/// The parameters of PasswordBasedMac or PBMAC1; `None` for other algorithms.
fn mac_params(alg: &AlgorithmIdentifierOwned) -> Option<Result<Params, String>> {
    match alg.oid {
        oid::PASSWORD_BASED_MAC => Some(
            PbmParameter::from_algorithm(alg)
                .map(|p| {
                    vec![
                        ("salt_len", "salt bytes", json!(p.salt.as_bytes().len())),
                        ("owf", "owf", json!(oid_short(&p.owf.oid))),
                        ("iterations", "iterations", json!(p.iteration_count)),
                        ("mac", "mac", json!(oid_short(&p.mac.oid))),
                    ]
                })
                .map_err(|e| e.to_string()),
        ),
        oid::PBMAC1 => Some(pbmac1_params(alg)),
        _ => None,
    }
}

fn pbmac1_params(alg: &AlgorithmIdentifierOwned) -> Result<Params, String> {
    let any = alg
        .parameters
        .as_ref()
        .ok_or_else(|| "parameters are missing".to_owned())?;
    let params: Pbmac1Params =
        decode_any(any).map_err(|e| format!("malformed PBMAC1-params: {e}"))?;
    let kdf = &params.key_derivation_func;
    let mut out: Params = vec![("kdf", "kdf", json!(oid_short(&kdf.oid)))];
    if kdf.oid == oid::PBKDF2 {
        let any = kdf
            .parameters
            .as_ref()
            .ok_or_else(|| "PBKDF2 parameters are missing".to_owned())?;
        let p: Pbkdf2Params =
            decode_any(any).map_err(|e| format!("malformed PBKDF2-params: {e}"))?;
        let prf = p.prf.as_ref().map_or_else(
            || "hmacWithSHA1 (default)".to_owned(),
            |a| oid_short(&a.oid),
        );
        out.push(("salt_len", "salt bytes", json!(p.salt.as_bytes().len())));
        out.push(("iterations", "iterations", json!(p.iteration_count)));
        out.push(("key_length", "key bytes", json!(p.key_length)));
        out.push(("prf", "prf", json!(prf)));
    }
    out.push((
        "mac",
        "mac",
        json!(oid_short(&params.message_auth_scheme.oid)),
    ));
    Ok(out)
}

/// A generalInfo or genm/genp entry in a few words: its type and, for the types that
/// are simple to show, its value.
fn itav_text(itav: &InfoTypeAndValue) -> String {
    let name = oid_short(&itav.info_type);
    let Some(value) = &itav.info_value else {
        return format!("{name} (no value)");
    };
    let detail = match itav.info_type {
        oid::IT_IMPLICIT_CONFIRM => None,
        oid::IT_CONFIRM_WAIT_TIME => Some(
            value
                .decode_as::<GenTime>()
                .map_or_else(|_| "(malformed)".to_owned(), |t| time_text(&t)),
        ),
        oid::IT_CERT_PROFILE => Some(match itav.cert_profile_names() {
            Ok(Some(names)) => names.join(", "),
            _ => "(malformed)".to_owned(),
        }),
        oid::IT_CA_CERTS => Some(match itav.ca_certs() {
            Ok(Some(certs)) => format!("{} certificate(s)", certs.len()),
            _ => "(malformed)".to_owned(),
        }),
        oid::IT_SIGN_KEY_PAIR_TYPES => Some(match itav.sign_key_pair_types() {
            Ok(Some(algs)) => algs
                .iter()
                .map(|a| oid_short(&a.oid))
                .collect::<Vec<_>>()
                .join(", "),
            _ => "(malformed)".to_owned(),
        }),
        _ => Some(format!("value present, {} bytes", value.value().len())),
    };
    match detail {
        Some(detail) => format!("{name}: {detail}"),
        None => name,
    }
}

// ---------------------------------------------------------------------------------------
// The readable dump
// ---------------------------------------------------------------------------------------

/// Text under construction, with `key: value` lines aligned per indentation level.
struct Dump {
    out: String,
}

impl Dump {
    const KEY_WIDTH: usize = 15;

    fn line(&mut self, depth: usize, text: impl Display) {
        let _ = writeln!(self.out, "{:width$}{text}", "", width = depth * 2);
    }

    fn kv(&mut self, depth: usize, key: &str, value: impl Display) {
        let key = format!("{key}:");
        let _ = writeln!(
            self.out,
            "{:indent$}{key:<width$} {value}",
            "",
            indent = depth * 2,
            width = Self::KEY_WIDTH
        );
    }

    fn opt(&mut self, depth: usize, key: &str, value: Option<impl Display>) {
        match value {
            Some(value) => self.kv(depth, key, value),
            None => self.kv(depth, key, "(absent)"),
        }
    }

    /// A list, one item per line, under `key`; `(none)` when empty.
    fn list(&mut self, depth: usize, key: &str, items: &[String]) {
        if items.is_empty() {
            self.kv(depth, key, "(none)");
        } else {
            self.line(depth, format_args!("{key}:"));
            for (i, item) in items.iter().enumerate() {
                self.line(depth + 1, format_args!("[{i}] {item}"));
            }
        }
    }

    fn status(&mut self, depth: usize, key: &str, status: &PkiStatusInfo) {
        self.kv(depth, key, status);
    }

    fn cert(&mut self, depth: usize, key: &str, cert: &Certificate) {
        let c = CertSummary::of(cert);
        self.line(depth, format_args!("{key}:"));
        self.kv(depth + 1, "subject", &c.subject);
        self.kv(depth + 1, "issuer", &c.issuer);
        self.kv(depth + 1, "serial", &c.serial);
        self.kv(depth + 1, "notAfter", &c.not_after);
    }
}

fn dump(
    file: &str,
    encoding: &Encoding,
    received: &ReceivedMessage,
    check: Option<&Check>,
    limits: &Limits,
) -> String {
    let msg = &received.message;
    let mut d = Dump { out: String::new() };
    let encoding = match encoding {
        Encoding::Der => "DER".to_owned(),
        Encoding::Pem(label) => format!("PEM \"{label}\""),
    };
    d.line(
        0,
        format_args!(
            "PKIMessage {file} ({} bytes, {encoding})",
            received.encoded_len()
        ),
    );
    dump_header(&mut d, &msg.header);
    d.line(
        0,
        format_args!(
            "body: {} ({})",
            msg.body.body_type().name(),
            body_description(msg.body.body_type())
        ),
    );
    dump_body(&mut d, &msg.body, limits);
    match &msg.protection {
        Some(p) => d.line(
            0,
            format_args!("protection: present ({} bytes)", p.raw_bytes().len()),
        ),
        None => d.line(0, "protection: absent"),
    }
    match check {
        None => {}
        Some(Check::Valid) => d.line(0, "protection valid: yes"),
        Some(Check::Invalid(reason)) => {
            d.line(0, format_args!("protection valid: no ({reason})"));
        }
        Some(Check::NotApplicable(reason)) => {
            d.line(0, format_args!("protection valid: not checked ({reason})"));
        }
    }
    let extra: Vec<String> = msg
        .extra_certs
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(subject)
        .collect();
    d.list(0, "extraCerts", &extra);
    d.out
}

fn dump_header(d: &mut Dump, h: &PkiHeader) {
    d.line(0, "header:");
    d.kv(
        1,
        "pvno",
        format_args!("{} ({})", h.pvno, pvno_name(h.pvno)),
    );
    d.kv(1, "sender", general_name_text(&h.sender));
    d.kv(1, "recipient", general_name_text(&h.recipient));
    d.opt(1, "messageTime", h.message_time.as_ref().map(time_text));
    match &h.protection_alg {
        None => d.kv(1, "protectionAlg", "(absent)"),
        Some(alg) => {
            d.kv(1, "protectionAlg", oid_long(&alg.oid));
            match mac_params(alg) {
                None => {}
                Some(Ok(params)) => {
                    for (_, label, value) in params {
                        let value = match value {
                            Value::String(s) => s,
                            Value::Null => "(absent)".to_owned(),
                            other => other.to_string(),
                        };
                        d.kv(2, label, value);
                    }
                }
                Some(Err(e)) => d.kv(2, "parameters", format_args!("malformed: {e}")),
            }
        }
    }
    d.opt(
        1,
        "senderKID",
        h.sender_kid.as_ref().map(|k| hex_and_text(k.as_bytes())),
    );
    d.opt(
        1,
        "recipKID",
        h.recip_kid.as_ref().map(|k| hex_and_text(k.as_bytes())),
    );
    d.opt(
        1,
        "transactionID",
        h.transaction_id.as_ref().map(|v| hex::encode(v.as_bytes())),
    );
    d.opt(
        1,
        "senderNonce",
        h.sender_nonce.as_ref().map(|v| hex::encode(v.as_bytes())),
    );
    d.opt(
        1,
        "recipNonce",
        h.recip_nonce.as_ref().map(|v| hex::encode(v.as_bytes())),
    );
    d.opt(1, "freeText", h.free_text.as_ref().map(|t| t.joined()));
    match &h.general_info {
        None => d.kv(1, "generalInfo", "(absent)"),
        Some(infos) => {
            let items: Vec<String> = infos.iter().map(itav_text).collect();
            d.list(1, "generalInfo", &items);
        }
    }
}

fn dump_template(d: &mut Dump, depth: usize, t: &CertTemplate) {
    d.opt(depth, "subject", t.subject.as_ref().map(name_text));
    if let Some(issuer) = &t.issuer {
        d.kv(depth, "issuer", name_text(issuer));
    }
    if let Some(serial) = &t.serial_number {
        d.kv(depth, "serialNumber", serial);
    }
    if let Some(validity) = &t.validity {
        let show = |t: &Option<TemplateTime>| {
            t.as_ref()
                .map_or_else(|| "-".to_owned(), ToString::to_string)
        };
        d.kv(
            depth,
            "validity",
            format_args!(
                "{} .. {}",
                show(&validity.not_before),
                show(&validity.not_after)
            ),
        );
    }
    d.opt(depth, "publicKey", t.public_key.as_ref().map(key_alg));
    let exts = extension_names(t.extensions.as_ref());
    if !exts.is_empty() {
        d.kv(depth, "extensions", exts.join(", "));
    }
}

fn dump_body(d: &mut Dump, body: &PkiBody, limits: &Limits) {
    if let Some(reqs) = body.cert_req() {
        for (i, req) in reqs.iter().enumerate() {
            d.line(1, format_args!("certReqMsg [{i}]:"));
            d.kv(2, "certReqId", req.cert_req.cert_req_id);
            dump_template(d, 2, &req.cert_req.cert_template);
            let controls = control_names(req);
            if !controls.is_empty() {
                d.kv(2, "controls", controls.join(", "));
            }
            d.kv(2, "popo", popo_text(req.popo.as_ref()));
            if let Some(reg) = &req.reg_info {
                let names: Vec<String> = reg.iter().map(|a| oid_short(&a.value_type)).collect();
                d.kv(2, "regInfo", names.join(", "));
            }
        }
        return;
    }
    if let Some(rep) = body.cert_rep() {
        if let Some(ca_pubs) = &rep.ca_pubs {
            let subjects: Vec<String> = ca_pubs.iter().map(subject).collect();
            d.list(1, "caPubs", &subjects);
        }
        for (i, r) in rep.response.iter().enumerate() {
            dump_cert_response(d, i, r);
        }
        return;
    }
    match body {
        PkiBody::P10cr(csr) => {
            d.kv(1, "subject", name_text(&csr.info.subject));
            d.kv(1, "publicKey", key_alg(&csr.info.public_key));
            d.kv(1, "signature", oid_short(&csr.algorithm.oid));
        }
        PkiBody::Rr(details) => {
            for (i, rd) in details.iter().enumerate() {
                d.line(1, format_args!("revDetails [{i}]:"));
                let t = &rd.cert_details;
                d.opt(2, "issuer", t.issuer.as_ref().map(name_text));
                d.opt(2, "serialNumber", t.serial_number.as_ref());
                if let Some(reason) = crl_reason(rd.crl_entry_details.as_ref()) {
                    d.kv(2, "reason", reason);
                }
            }
        }
        PkiBody::Rp(rp) => {
            for (i, status) in rp.status.iter().enumerate() {
                d.status(1, &format!("status [{i}]"), status);
            }
            for (i, id) in rp
                .rev_certs
                .as_deref()
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                d.kv(
                    1,
                    &format!("revCert [{i}]"),
                    format_args!(
                        "issuer {}, serial {}",
                        general_name_text(&id.issuer),
                        id.serial_number
                    ),
                );
            }
            if let Some(crls) = &rp.crls {
                d.kv(1, "crls", crls.len());
            }
        }
        PkiBody::Genm(infos) | PkiBody::Genp(infos) => {
            if infos.is_empty() {
                d.line(1, "(no entries)");
            }
            for (i, itav) in infos.iter().enumerate() {
                d.line(1, format_args!("[{i}] {}", itav_text(itav)));
                if itav.info_type == oid::IT_CA_CERTS
                    && let Ok(Some(certs)) = itav.ca_certs()
                {
                    for cert in &certs {
                        d.line(2, subject(cert));
                    }
                }
            }
        }
        PkiBody::CertConf(statuses) => {
            if statuses.is_empty() {
                d.line(1, "(no certStatus: all certificates rejected)");
            }
            for (i, cs) in statuses.iter().enumerate() {
                dump_cert_status(d, i, cs);
            }
        }
        PkiBody::PollReq(reqs) => {
            for r in reqs {
                d.kv(1, "certReqId", r.cert_req_id);
            }
        }
        PkiBody::PollRep(reps) => {
            for (i, r) in reps.iter().enumerate() {
                d.line(1, format_args!("pollRep [{i}]:"));
                d.kv(2, "certReqId", r.cert_req_id);
                d.kv(2, "checkAfter", format_args!("{} s", r.check_after));
                d.opt(2, "reason", r.reason.as_ref().map(|t| t.joined()));
            }
        }
        PkiBody::Error(e) => {
            d.status(1, "status", &e.pki_status_info);
            d.opt(
                1,
                "errorCode",
                e.error_code.map(|c| format!("{c} ({c:#X})")),
            );
            d.opt(
                1,
                "errorDetails",
                e.error_details.as_ref().map(|t| t.joined()),
            );
        }
        PkiBody::PkiConf(_) => {}
        PkiBody::Cann(cert) => d.cert(1, "certificate", cert),
        PkiBody::Nested(nested) => match nested.messages(limits) {
            Ok(inner) => {
                for (i, m) in inner.iter().enumerate() {
                    d.line(
                        1,
                        format_args!("[{i}] {}", m.message.body.body_type().name()),
                    );
                }
            }
            Err(e) => d.kv(1, "messages", format_args!("malformed: {e}")),
        },
        PkiBody::Popdecc(c)
        | PkiBody::Popdecr(c)
        | PkiBody::Krp(c)
        | PkiBody::Ckuann(c)
        | PkiBody::Rann(c)
        | PkiBody::Crlann(c) => {
            d.line(
                1,
                format_args!("(content not decoded, {} bytes)", c.value().len()),
            );
        }
        // The CertReqMessages and CertRepMessage bodies were handled above.
        _ => {}
    }
}

fn dump_cert_response(d: &mut Dump, i: usize, r: &CertResponse) {
    d.line(1, format_args!("response [{i}]:"));
    d.kv(2, "certReqId", r.cert_req_id);
    d.status(2, "status", &r.status);
    match r.certificate() {
        Some(cert) => d.cert(2, "certificate", cert),
        None if r.certified_key_pair.is_some() => d.kv(2, "certificate", "(encrypted)"),
        None => d.kv(2, "certificate", "(none)"),
    }
    if r.certified_key_pair
        .as_ref()
        .is_some_and(|k| k.private_key.is_some())
    {
        d.kv(2, "privateKey", "present (centrally generated key)");
    }
    if let Some(info) = &r.rsp_info {
        d.kv(
            2,
            "rspInfo",
            format_args!("{} bytes", info.as_bytes().len()),
        );
    }
}

fn dump_cert_status(d: &mut Dump, i: usize, cs: &CertStatus) {
    d.line(1, format_args!("certStatus [{i}]:"));
    d.kv(2, "certReqId", cs.cert_req_id);
    d.kv(2, "certHash", hex::encode(cs.cert_hash.as_bytes()));
    match &cs.status_info {
        Some(status) => d.status(2, "status", status),
        None => d.kv(2, "status", "(absent: accepted)"),
    }
    if let Some(alg) = &cs.hash_alg {
        d.kv(2, "hashAlg", oid_short(&alg.oid));
    }
}

// ---------------------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------------------

fn hex_or_null(v: Option<&OctetString>) -> Value {
    v.map_or(Value::Null, |v| Value::String(hex::encode(v.as_bytes())))
}

fn status_json(status: &PkiStatusInfo) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("status".into(), json!(status.status.name()));
    m.insert("fail_info".into(), json!(status.failure_info().names()));
    m.insert("text".into(), json!(status.text()));
    m
}

fn to_json(received: &ReceivedMessage, check: Option<&Check>, limits: &Limits) -> Value {
    let msg = &received.message;
    let h = &msg.header;
    let mut o = Map::new();
    o.insert("pvno".into(), json!(h.pvno));
    o.insert("sender".into(), json!(general_name(&h.sender)));
    o.insert("recipient".into(), json!(general_name(&h.recipient)));
    o.insert(
        "message_time".into(),
        json!(h.message_time.as_ref().map(time_text)),
    );
    o.insert(
        "protection".into(),
        json!(h.protection_alg.as_ref().map(|a| oid_short(&a.oid))),
    );
    o.insert(
        "protection_oid".into(),
        json!(h.protection_alg.as_ref().map(|a| a.oid.to_string())),
    );
    if let Some(params) = h.protection_alg.as_ref().and_then(mac_params) {
        let value = match params {
            Ok(params) => Value::Object(
                params
                    .into_iter()
                    .map(|(key, _, value)| (key.to_owned(), value))
                    .collect(),
            ),
            Err(e) => json!({ "error": e }),
        };
        o.insert("protection_params".into(), value);
    }
    o.insert(
        "protection_len".into(),
        json!(msg.protection.as_ref().map(|p| p.raw_bytes().len())),
    );
    o.insert("sender_kid".into(), hex_or_null(h.sender_kid.as_ref()));
    o.insert("recip_kid".into(), hex_or_null(h.recip_kid.as_ref()));
    o.insert(
        "transaction_id".into(),
        hex_or_null(h.transaction_id.as_ref()),
    );
    o.insert("sender_nonce".into(), hex_or_null(h.sender_nonce.as_ref()));
    o.insert("recip_nonce".into(), hex_or_null(h.recip_nonce.as_ref()));
    o.insert(
        "free_text".into(),
        json!(h.free_text.as_ref().map(|t| t.0.clone())),
    );
    o.insert(
        "general_info".into(),
        json!(
            h.general_info
                .as_deref()
                .unwrap_or_default()
                .iter()
                .map(|i| oid_short(&i.info_type))
                .collect::<Vec<_>>()
        ),
    );
    o.insert("body".into(), json!(msg.body.body_type().name()));
    body_json(&mut o, &msg.body, limits);
    o.insert(
        "extra_certs".into(),
        json!(
            msg.extra_certs
                .as_deref()
                .unwrap_or_default()
                .iter()
                .map(subject)
                .collect::<Vec<_>>()
        ),
    );
    if let Some(check) = check {
        let valid = match check {
            Check::Valid => json!(true),
            Check::Invalid(_) => json!(false),
            Check::NotApplicable(_) => Value::Null,
        };
        o.insert("protection_valid".into(), valid);
        if let Some(reason) = check.reason() {
            o.insert("protection_error".into(), json!(reason));
        }
    }
    Value::Object(o)
}

fn template_json(t: &CertTemplate) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert(
        "subject".into(),
        json!(t.subject.as_ref().map(ToString::to_string)),
    );
    m.insert(
        "public_key".into(),
        json!(t.public_key.as_ref().map(key_alg)),
    );
    m.insert(
        "extensions".into(),
        json!(extension_names(t.extensions.as_ref())),
    );
    m
}

fn body_json(o: &mut Map<String, Value>, body: &PkiBody, limits: &Limits) {
    if let Some(reqs) = body.cert_req() {
        let requests: Vec<Value> = reqs
            .iter()
            .map(|req| {
                let mut m = template_json(&req.cert_req.cert_template);
                m.insert("cert_req_id".into(), json!(req.cert_req.cert_req_id));
                m.insert("controls".into(), json!(control_names(req)));
                m.insert("popo".into(), json!(popo_text(req.popo.as_ref())));
                Value::Object(m)
            })
            .collect();
        o.insert("requests".into(), Value::Array(requests));
        return;
    }
    if let Some(rep) = body.cert_rep() {
        let statuses: Vec<Value> = rep
            .response
            .iter()
            .map(|r| {
                let mut m = status_json(&r.status);
                m.insert("cert_req_id".into(), json!(r.cert_req_id));
                m.insert(
                    "certificate".into(),
                    r.certificate()
                        .map_or(Value::Null, |c| CertSummary::of(c).json()),
                );
                Value::Object(m)
            })
            .collect();
        o.insert("statuses".into(), Value::Array(statuses));
        o.insert(
            "ca_pubs".into(),
            json!(
                rep.ca_pubs
                    .as_deref()
                    .unwrap_or_default()
                    .iter()
                    .map(subject)
                    .collect::<Vec<_>>()
            ),
        );
        return;
    }
    match body {
        PkiBody::P10cr(csr) => {
            o.insert("subject".into(), json!(csr.info.subject.to_string()));
            o.insert("public_key".into(), json!(key_alg(&csr.info.public_key)));
        }
        PkiBody::Rr(details) => {
            let revs: Vec<Value> = details
                .iter()
                .map(|rd| {
                    let t = &rd.cert_details;
                    json!({
                        "issuer": t.issuer.as_ref().map(ToString::to_string),
                        "serial": t.serial_number.as_ref().map(ToString::to_string),
                        "reason": crl_reason(rd.crl_entry_details.as_ref()),
                    })
                })
                .collect();
            o.insert("revocations".into(), Value::Array(revs));
        }
        PkiBody::Rp(rp) => {
            let statuses: Vec<Value> = rp
                .status
                .iter()
                .map(|s| Value::Object(status_json(s)))
                .collect();
            o.insert("statuses".into(), Value::Array(statuses));
        }
        PkiBody::Genm(infos) | PkiBody::Genp(infos) => {
            let items: Vec<Value> = infos
                .iter()
                .map(|itav| {
                    let mut m = Map::new();
                    m.insert("type".into(), json!(oid_short(&itav.info_type)));
                    m.insert("oid".into(), json!(itav.info_type.to_string()));
                    m.insert("value_present".into(), json!(itav.info_value.is_some()));
                    if itav.info_type == oid::IT_CA_CERTS
                        && let Ok(Some(certs)) = itav.ca_certs()
                    {
                        m.insert(
                            "ca_certs".into(),
                            json!(certs.iter().map(subject).collect::<Vec<_>>()),
                        );
                    }
                    Value::Object(m)
                })
                .collect();
            o.insert("info".into(), Value::Array(items));
        }
        PkiBody::CertConf(statuses) => {
            let items: Vec<Value> = statuses
                .iter()
                .map(|cs| {
                    let mut m = cs.status_info.as_ref().map(status_json).unwrap_or_else(|| {
                        let mut m = Map::new();
                        m.insert("status".into(), Value::Null);
                        m
                    });
                    m.insert("cert_req_id".into(), json!(cs.cert_req_id));
                    m.insert(
                        "cert_hash".into(),
                        json!(hex::encode(cs.cert_hash.as_bytes())),
                    );
                    Value::Object(m)
                })
                .collect();
            o.insert("statuses".into(), Value::Array(items));
        }
        PkiBody::PollReq(reqs) => {
            o.insert(
                "cert_req_ids".into(),
                json!(reqs.iter().map(|r| r.cert_req_id).collect::<Vec<_>>()),
            );
        }
        PkiBody::PollRep(reps) => {
            let items: Vec<Value> = reps
                .iter()
                .map(|r| {
                    json!({
                        "cert_req_id": r.cert_req_id,
                        "check_after": r.check_after,
                        "reason": r.reason.as_ref().map(|t| t.joined()),
                    })
                })
                .collect();
            o.insert("poll".into(), Value::Array(items));
        }
        PkiBody::Error(e) => {
            o.insert(
                "statuses".into(),
                json!([Value::Object(status_json(&e.pki_status_info))]),
            );
            o.insert("error_code".into(), json!(e.error_code));
            o.insert(
                "error_details".into(),
                json!(e.error_details.as_ref().map(|t| t.joined())),
            );
        }
        PkiBody::Cann(cert) => {
            o.insert("certificate".into(), CertSummary::of(cert).json());
        }
        PkiBody::Nested(nested) => {
            let value = match nested.messages(limits) {
                Ok(inner) => json!(
                    inner
                        .iter()
                        .map(|m| m.message.body.body_type().name())
                        .collect::<Vec<_>>()
                ),
                Err(e) => json!({ "error": e.to_string() }),
            };
            o.insert("nested".into(), value);
        }
        _ => {}
    }
}
