//! General messages, genm/genp (RFC 4210 §5.3.19–§5.3.20, RFC 9483 §4.3).

use std::time::SystemTime;

use cmp_proto::{BodyType, InfoTypeAndValue, PVNO_CMP2000, PkiBody};

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
    /// Starts a general message asking for `infos`.
    ///
    /// Always pvno 2: RFC 9480 §2.20 asks for cmp2021 only with EnvelopedData or a
    /// certConf hashAlg, not for its new info types, and OpenSSL 3.0 refuses pvno 3
    /// ("unexpected pvno", seen in `tests/openssl_mock_server.rs`).
    pub fn start(config: &ClientConfig, infos: Vec<InfoTypeAndValue>) -> Result<(Self, Vec<u8>)> {
        let (exchange, bytes) = Exchange::start(config, PkiBody::Genm(infos), PVNO_CMP2000)?;
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
