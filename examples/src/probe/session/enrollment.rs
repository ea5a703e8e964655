//! `--enroll`: an ir asking for implicitConfirm, a p10cr, polling, and the revocation
//! of every certificate enrolled.

use std::fmt::Write as _;
use std::time::Duration;

use cmp_client::ClientConfig;
use cmp_client::checks::ResponsePolicy;
use cmp_client::transaction::EnrollmentRequest;
use cmp_client::transport::Transport;
use cmp_proto::PkiBody;
use cmp_proto::builder::{CertRequestBuilder, CrlReason};
use cmp_proto::protection::{Protector, SigningKey};
use cmp_proto::x509_cert::Certificate;

use super::{Issued, Probe};
use crate::Failure;
use crate::client_options::client_failure;
use crate::probe::requests::{build_failure, csr, fresh_key, unique_name};

/// The findings of `--enroll`: key and property.
pub(super) const ENROLL_FINDINGS: [(&str, &str); 4] = [
    ("implicit_confirm", "implicitConfirm asked in an ir"),
    ("p10cr_cert_req_id", "certReqId of the cp answering p10cr"),
    ("polling", "polling (waiting)"),
    ("revocation", "revocation of what --enroll got"),
];

impl<T: Transport> Probe<T> {
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
    pub(super) fn probe_enrollment(&mut self) -> Result<(), Failure> {
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
