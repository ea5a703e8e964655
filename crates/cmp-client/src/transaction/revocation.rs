//! Revocation by rr/rp (RFC 4210 §5.3.9–§5.3.10, RFC 9483 §4.2).

use std::time::SystemTime;

use cmp_proto::builder::{CrlReason, rev_details};
use cmp_proto::x509_cert::Certificate;
use cmp_proto::{BodyType, PVNO_CMP2000, PkiBody};

use super::Next;
use super::exchange::Exchange;
use crate::checks;
use crate::config::ClientConfig;
use crate::error::{Error, Result};

/// One revocation transaction.
#[derive(Clone, Debug)]
pub struct Revocation {
    exchange: Exchange,
    certificate: Certificate,
}

impl Revocation {
    /// Starts revoking `certificate` for `reason`: returns the transaction and the rr.
    pub fn start(
        config: &ClientConfig,
        certificate: Certificate,
        reason: Option<CrlReason>,
    ) -> Result<(Self, Vec<u8>)> {
        let details = rev_details(&certificate, reason).map_err(Error::Build)?;
        let (exchange, bytes) = Exchange::start(config, PkiBody::Rr(vec![details]), PVNO_CMP2000)?;
        Ok((
            Self {
                exchange,
                certificate,
            },
            bytes,
        ))
    }

    /// Checks the rp: the certificate is revoked, or the CA's refusal.
    pub fn receive(
        mut self,
        config: &ClientConfig,
        response: &[u8],
        now: SystemTime,
    ) -> Result<Next<Self, ()>> {
        let msg = self.exchange.receive(config, response, now)?.message;
        checks::check_body_type(&msg.body, &[BodyType::Rp], "rp")?;
        let PkiBody::Rp(rp) = &msg.body else {
            return Err(Error::UnexpectedBody {
                expected: "rp",
                got: msg.body.body_type(),
            });
        };
        checks::check_rev_rep(rp, &self.certificate)?;
        Ok(Next::Done(()))
    }
}
