//! General messages, genm/genp (RFC 4210 §5.3.19–§5.3.20, RFC 9483 §4.3).

use std::time::SystemTime;

use cmp_proto::{BodyType, InfoTypeAndValue, PVNO_CMP2000, PVNO_CMP2021, PkiBody, oid};

use super::Next;
use super::exchange::Exchange;
use crate::checks;
use crate::config::ClientConfig;
use crate::error::{Error, Result};

/// One genm/genp transaction.
#[derive(Clone, Debug)]
pub struct GeneralMessage {
    exchange: Exchange,
}

impl GeneralMessage {
    /// Starts a general message asking for `infos`; pvno 3 when an RFC 9480 info type is
    /// asked for (RFC 9480 §2.20).
    pub fn start(config: &ClientConfig, infos: Vec<InfoTypeAndValue>) -> Result<(Self, Vec<u8>)> {
        let v3 = [
            oid::IT_CA_CERTS,
            oid::IT_ROOT_CA_KEY_UPDATE,
            oid::IT_CERT_REQ_TEMPLATE,
            oid::IT_CRL_STATUS_LIST,
            oid::IT_ROOT_CA_CERT,
        ];
        let pvno = if infos.iter().any(|i| v3.contains(&i.info_type)) {
            PVNO_CMP2021
        } else {
            PVNO_CMP2000
        };
        let (exchange, bytes) = Exchange::start(config, PkiBody::Genm(infos), pvno)?;
        Ok((Self { exchange }, bytes))
    }

    /// Checks the genp and returns its entries.
    pub fn receive(
        mut self,
        config: &ClientConfig,
        response: &[u8],
        now: SystemTime,
    ) -> Result<Next<Self, Vec<InfoTypeAndValue>>> {
        let msg = self.exchange.receive(config, response, now)?.message;
        checks::check_body_type(&msg.body, &[BodyType::Genp], "genp")?;
        match msg.body {
            PkiBody::Genp(infos) => Ok(Next::Done(infos)),
            other => Err(Error::UnexpectedBody {
                expected: "genp",
                got: other.body_type(),
            }),
        }
    }
}
