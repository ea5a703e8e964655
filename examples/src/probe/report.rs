//! The report: the table of findings, the `cmpv2 enroll` flags and the issuer's
//! compatibility block that fit the CA, as text or JSON.

use std::fmt::Write as _;

use cmp_client::transport::Transport;
use cmp_proto::PkiBody;
use cmp_proto::x509_cert::ext::pkix::name::GeneralName;
use serde_json::{Value, json};

use super::answer::{Answer, Protection};
use super::requests::MAC_VARIANTS;
use super::session::Probe;
use crate::client_options::{dn_text, serial_hex};

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
pub(super) struct Report {
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
    pub(super) fn text<T: Transport>(&self, probe: &Probe<T>) -> String {
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
    pub(super) fn json<T: Transport>(&self, probe: &Probe<T>) -> String {
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
