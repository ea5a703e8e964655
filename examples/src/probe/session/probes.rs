//! The probes that leave no certificate behind: genm, the invalid-POP ir as configured
//! and unauthenticated, the MAC variants, pvno 3, and how positive answers are protected.

use cmp_client::transport::Transport;
use cmp_proto::builder::random_bytes;
use cmp_proto::protection::{Protector, SharedSecret};
use cmp_proto::{PVNO_CMP2000, PVNO_CMP2021, PkiBody, oid};

use super::Probe;
use crate::Failure;
use crate::probe::answer::Answer;
use crate::probe::requests::{GENM_INFO_TYPES, MAC_VARIANTS, build_failure};

impl<T: Transport> Probe<T> {
    /// genm caCerts; when answered, a few more info types and pvno 3. Whether genm is
    /// supported (RFC 9483 §4.3: a CA may not support it).
    pub(super) fn probe_genm(&mut self) -> Result<bool, Failure> {
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
    pub(super) fn probe_invalid_pop(&mut self) -> Result<usize, Failure> {
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

    /// The same ir with a wrong secret, or unprotected with signature credentials: how
    /// the CA answers a request it cannot authenticate (unprotected errors?).
    pub(super) fn probe_unauthenticated(&mut self) -> Result<usize, Failure> {
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
    pub(super) fn probe_pvno3(
        &mut self,
        genm: bool,
        accepted: Option<Protector>,
    ) -> Result<(), Failure> {
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
    pub(super) fn probe_mac_variants(
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
    pub(super) fn positive_answers(&mut self, genm: bool) {
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
}
