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

/// Typed general messages (RFC 9483 §4.3): for each, the genm entries that ask and how
/// to read the genp entry that answers, in one place for the blocking and the async
/// client.
pub(crate) mod typed {
    use std::time::SystemTime;

    use cmp_proto::der::asn1::ObjectIdentifier as Oid;
    use cmp_proto::oid;
    use cmp_proto::spki::AlgorithmIdentifierOwned;
    use cmp_proto::x509_cert::Certificate;
    use cmp_proto::x509_cert::crl::CertificateList;
    use cmp_proto::{CertReqTemplateContent, CrlStatus, InfoTypeAndValue, Limits};

    use crate::checks;
    use crate::error::{Error, Result};

    /// How to read one answer out of the genp; `now` is when the genp arrived.
    pub(crate) trait ReadInfo<T>:
        FnOnce(&InfoTypeAndValue, SystemTime) -> Result<T>
    {
    }

    impl<T, F: FnOnce(&InfoTypeAndValue, SystemTime) -> Result<T>> ReadInfo<T> for F {}

    /// One typed general message.
    pub(crate) struct Query<R> {
        /// The genm entries.
        pub(crate) request: Vec<InfoTypeAndValue>,
        /// How to find and read the answer in the genp.
        pub(crate) answer: Answer<R>,
    }

    /// The info type that answers, and how to read its value.
    pub(crate) struct Answer<R> {
        info_type: Oid,
        name: &'static str,
        read: R,
    }

    impl<R> Answer<R> {
        /// Reads the first genp entry of the expected info type; none is an error.
        pub(crate) fn read<T>(self, genp: &[InfoTypeAndValue], now: SystemTime) -> Result<T>
        where
            R: ReadInfo<T>,
        {
            let itav = genp
                .iter()
                .find(|itav| itav.info_type == self.info_type)
                .ok_or(Error::MissingInfo {
                    info_type: self.name,
                })?;
            (self.read)(itav, now)
        }
    }

    fn query<R>(
        request: Vec<InfoTypeAndValue>,
        info_type: Oid,
        name: &'static str,
        read: R,
    ) -> Query<R> {
        Query {
            request,
            answer: Answer {
                info_type,
                name,
                read,
            },
        }
    }

    /// caCerts (RFC 9480 §2.14): an absent value is "none".
    pub(crate) fn ca_certs() -> Query<impl ReadInfo<Vec<Certificate>>> {
        query(
            vec![InfoTypeAndValue::request(oid::IT_CA_CERTS)],
            oid::IT_CA_CERTS,
            "caCerts",
            |itav: &InfoTypeAndValue, _: SystemTime| {
                Ok(itav
                    .ca_certs()
                    .map_err(Error::BadInfoValue)?
                    .unwrap_or_default())
            },
        )
    }

    /// A root CA update (RFC 9480 §2.15, RFC 9483 §4.3.2): the genm holds exactly one
    /// entry, rootCaCert with the root we hold (peers refuse a second one as "not a
    /// single general message"); the genp's rootCaKeyUpdate is the new root, validated
    /// against `old_root` when it arrives; an absent value is "no update".
    pub(crate) fn root_ca_update(
        old_root: &Certificate,
        limits: Limits,
    ) -> Result<Query<impl ReadInfo<Option<Certificate>>>> {
        let request = vec![InfoTypeAndValue::root_ca_cert(old_root).map_err(Error::Build)?];
        Ok(query(
            request,
            oid::IT_ROOT_CA_KEY_UPDATE,
            "rootCaKeyUpdate",
            move |itav: &InfoTypeAndValue, now: SystemTime| {
                let Some(update) = itav.root_ca_key_update().map_err(Error::BadInfoValue)? else {
                    return Ok(None);
                };
                checks::validate_root_ca_update(&update, old_root, now, &limits).map(Some)
            },
        ))
    }

    /// certReqTemplate (RFC 9480 §2.16): an absent value is "no template".
    pub(crate) fn cert_req_template() -> Query<impl ReadInfo<Option<CertReqTemplateContent>>> {
        query(
            vec![InfoTypeAndValue::request(oid::IT_CERT_REQ_TEMPLATE)],
            oid::IT_CERT_REQ_TEMPLATE,
            "certReqTemplate",
            |itav: &InfoTypeAndValue, _: SystemTime| {
                itav.cert_req_template().map_err(Error::BadInfoValue)
            },
        )
    }

    /// signKeyPairTypes (RFC 4210 §5.3.19.2): an absent value is "none".
    pub(crate) fn sign_key_pair_types() -> Query<impl ReadInfo<Vec<AlgorithmIdentifierOwned>>> {
        query(
            vec![InfoTypeAndValue::request(oid::IT_SIGN_KEY_PAIR_TYPES)],
            oid::IT_SIGN_KEY_PAIR_TYPES,
            "signKeyPairTypes",
            |itav: &InfoTypeAndValue, _: SystemTime| {
                Ok(itav
                    .sign_key_pair_types()
                    .map_err(Error::BadInfoValue)?
                    .unwrap_or_default())
            },
        )
    }

    /// crlStatusList answered by crls (RFC 9480 §2.17): an absent value is "none newer".
    pub(crate) fn crls(status: &[CrlStatus]) -> Result<Query<impl ReadInfo<Vec<CertificateList>>>> {
        Ok(query(
            vec![InfoTypeAndValue::crl_status_list(status).map_err(Error::Build)?],
            oid::IT_CRLS,
            "crls",
            |itav: &InfoTypeAndValue, _: SystemTime| {
                Ok(itav
                    .crls()
                    .map_err(Error::BadInfoValue)?
                    .unwrap_or_default())
            },
        ))
    }
}
