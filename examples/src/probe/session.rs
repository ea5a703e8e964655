//! The probe session: what it sends with, what it sent, what it found, and the plumbing
//! every probe sends through.

mod enrollment;
mod probes;

use cmp_client::transport::{Transport, TransportError};
use cmp_client::{Client, ClientConfig, Error};
use cmp_proto::builder::{HeaderBuilder, cert_status};
use cmp_proto::der::Encode;
use cmp_proto::der::asn1::ObjectIdentifier;
use cmp_proto::protection::{Protector, SigningKey};
use cmp_proto::x509_cert::Certificate;
use cmp_proto::x509_cert::name::Name;
use cmp_proto::{
    InfoTypeAndValue, Limits, PVNO_CMP2021, PkiBody, PkiFailureInfo, PkiMessage, PkiStatusInfo,
};

use super::answer::{Answer, classify, describe_request};
use super::recorder::Recorder;
use super::requests::{build_failure, fresh_key, invalid_pop_request, sender, unique_name};
use crate::client_options::client_failure;
use crate::{EXIT_TRANSPORT, Failure};
use enrollment::ENROLL_FINDINGS;

/// One exchange: which step sent it, the request in a few words, and the answer.
pub(super) struct Exchange {
    pub(super) step: String,
    pub(super) request: String,
    pub(super) answer: Answer,
}

/// One thing found out, resting on one exchange (when it took one).
pub(super) struct Finding {
    /// Stable name, for `--json` readers.
    pub(super) key: String,
    /// What the table calls it.
    pub(super) property: String,
    /// What the CA does: `supported`, `accepted`, `MAC`, `not probed: ...`.
    pub(super) verdict: String,
    /// The exchange it rests on.
    pub(super) evidence: Option<usize>,
}

/// A certificate `--enroll` obtained, and whether it was revoked.
pub(super) struct Issued {
    pub(super) certificate: Certificate,
    key: SigningKey,
    pub(super) revoked: Result<(), String>,
}

/// The state of a probe: what it sends with, what it sent, what it found.
pub(super) struct Probe<T> {
    pub(super) config: ClientConfig,
    transport: Recorder<T>,
    /// Bounds for decoding answers: the defaults, except that a MAC answer may use the
    /// highest iteration count the probe itself sends.
    limits: Limits,
    pub(super) exchanges: Vec<Exchange>,
    pub(super) findings: Vec<Finding>,
    /// The subject of the requests meant to fail.
    subject: Name,
    /// Their key, never certified.
    key: SigningKey,
    pub(super) issued: Vec<Issued>,
}

impl<T: Transport> Probe<T> {
    pub(super) fn new(config: ClientConfig, transport: T) -> Result<Self, Failure> {
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
    pub(super) fn run(&mut self, enroll: bool) -> Result<(), Failure> {
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
    pub(super) fn verdict(&self, key: &str) -> &str {
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

    /// `MAC` or `signature`: what we protect our requests with.
    pub(super) fn credentials(&self) -> &'static str {
        match self.config.protector {
            Protector::Mac { .. } => "MAC",
            Protector::Signature { .. } => "signature",
        }
    }
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
