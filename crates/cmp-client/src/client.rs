//! A blocking client: the transactions driven over a [`Transport`].

use std::time::SystemTime;

use cmp_proto::builder::CrlReason;
use cmp_proto::x509_cert::Certificate;
use cmp_proto::{InfoTypeAndValue, oid};

use crate::config::ClientConfig;
use crate::error::Result;
use crate::transaction::{
    Enrolled, Enrollment, EnrollmentRequest, GeneralMessage, Next, Revocation,
};
use crate::transport::Transport;

/// A CMP client for one CA over one transport.
///
/// ```no_run
/// use cmp_client::{Client, ClientConfig, checks::Trust, transport::HttpTransport};
/// use cmp_client::transaction::EnrollmentRequest;
/// use cmp_proto::builder::CertRequestBuilder;
/// use cmp_proto::protection::{KeyType, MacAlgorithm, Protector, SharedSecret, SigningKey};
/// use std::str::FromStr;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let secret = SharedSecret::from("insta");
/// let protector = Protector::Mac { secret: secret.clone(), reference: Some(b"1234".to_vec()), algorithm: MacAlgorithm::default() };
/// let trust = Trust { secret: Some(secret), ..Trust::default() };
/// let transport = HttpTransport::builder("http://127.0.0.1:8080/pkix/").build()?;
/// let mut client = Client::new(ClientConfig::new(protector, trust), transport);
/// let key = SigningKey::generate(KeyType::P256)?;
/// let request = CertRequestBuilder::new(key.public_key_info()?)
///     .subject(cmp_proto::x509_cert::name::Name::from_str("CN=device-1")?)
///     .sign_pop(&key)?;
/// let enrolled = client.enroll(EnrollmentRequest::Ir(request))?;
/// println!("{}", enrolled.certificate.tbs_certificate().subject());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Client<T> {
    config: ClientConfig,
    transport: T,
}

impl<T: Transport> Client<T> {
    /// A client with `config` over `transport`.
    pub fn new(config: ClientConfig, transport: T) -> Self {
        Self { config, transport }
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Enrolls (ir, cr, kur or p10cr), confirms, and polls when asked to wait.
    pub fn enroll(&mut self, request: EnrollmentRequest) -> Result<Enrolled> {
        let (mut tx, mut bytes) = Enrollment::start(&self.config, request, SystemTime::now())?;
        loop {
            let response = self.transport.send(&bytes)?;
            match tx.receive(&self.config, &response, SystemTime::now())? {
                Next::Done(enrolled) => return Ok(enrolled),
                Next::Send {
                    transaction,
                    request,
                    wait,
                } => {
                    std::thread::sleep(wait);
                    tx = transaction;
                    bytes = request;
                }
            }
        }
    }

    /// Revokes `certificate` (rr/rp).
    pub fn revoke(&mut self, certificate: Certificate, reason: Option<CrlReason>) -> Result<()> {
        let (tx, bytes) = Revocation::start(&self.config, certificate, reason)?;
        let response = self.transport.send(&bytes)?;
        match tx.receive(&self.config, &response, SystemTime::now())? {
            Next::Done(()) => Ok(()),
            Next::Send { .. } => unreachable_step(),
        }
    }

    /// Sends a general message and returns the genp entries.
    pub fn general_message(
        &mut self,
        infos: Vec<InfoTypeAndValue>,
    ) -> Result<Vec<InfoTypeAndValue>> {
        let (tx, bytes) = GeneralMessage::start(&self.config, infos)?;
        let response = self.transport.send(&bytes)?;
        match tx.receive(&self.config, &response, SystemTime::now())? {
            Next::Done(infos) => Ok(infos),
            Next::Send { .. } => unreachable_step(),
        }
    }
}

pub(crate) fn unreachable_step<R>() -> Result<R> {
    Err(crate::Error::Config {
        reason: "a single-exchange transaction asked for another exchange".into(),
    })
}

/// Typed general messages (RFC 9483 §4.3).
impl<T: Transport> Client<T> {
    fn info(
        &mut self,
        request: Vec<InfoTypeAndValue>,
        wanted: der::asn1::ObjectIdentifier,
        name: &'static str,
    ) -> Result<InfoTypeAndValue> {
        self.general_message(request)?
            .into_iter()
            .find(|itav| itav.info_type == wanted)
            .ok_or(crate::Error::MissingInfo { info_type: name })
    }

    /// The CA certificates the CA offers (caCerts, RFC 9480 §2.14); empty when it has none.
    pub fn ca_certs(&mut self) -> Result<Vec<Certificate>> {
        let itav = self.info(
            vec![InfoTypeAndValue::request(oid::IT_CA_CERTS)],
            oid::IT_CA_CERTS,
            "caCerts",
        )?;
        Ok(itav
            .ca_certs()
            .map_err(crate::Error::BadInfoValue)?
            .unwrap_or_default())
    }

    /// A new root CA certificate, validated against `old_root` (rootCaKeyUpdate,
    /// RFC 9480 §2.15); `None` when the root is current.
    pub fn root_ca_update(&mut self, old_root: &Certificate) -> Result<Option<Certificate>> {
        let request = vec![
            InfoTypeAndValue::request(oid::IT_ROOT_CA_KEY_UPDATE),
            InfoTypeAndValue::root_ca_cert(old_root).map_err(crate::Error::Build)?,
        ];
        let itav = self.info(request, oid::IT_ROOT_CA_KEY_UPDATE, "rootCaKeyUpdate")?;
        let Some(update) = itav
            .root_ca_key_update()
            .map_err(crate::Error::BadInfoValue)?
        else {
            return Ok(None);
        };
        crate::checks::validate_root_ca_update(
            &update,
            old_root,
            SystemTime::now(),
            &self.config.policy.limits,
        )
        .map(Some)
    }

    /// The template the CA wants requests to follow (certReqTemplate, RFC 9480 §2.16).
    pub fn cert_req_template(&mut self) -> Result<Option<cmp_proto::CertReqTemplateContent>> {
        let itav = self.info(
            vec![InfoTypeAndValue::request(oid::IT_CERT_REQ_TEMPLATE)],
            oid::IT_CERT_REQ_TEMPLATE,
            "certReqTemplate",
        )?;
        itav.cert_req_template().map_err(crate::Error::BadInfoValue)
    }

    /// The key types the CA accepts for signing keys (signKeyPairTypes, RFC 4210 §5.3.19.2).
    pub fn sign_key_pair_types(&mut self) -> Result<Vec<spki::AlgorithmIdentifierOwned>> {
        let itav = self.info(
            vec![InfoTypeAndValue::request(oid::IT_SIGN_KEY_PAIR_TYPES)],
            oid::IT_SIGN_KEY_PAIR_TYPES,
            "signKeyPairTypes",
        )?;
        Ok(itav
            .sign_key_pair_types()
            .map_err(crate::Error::BadInfoValue)?
            .unwrap_or_default())
    }

    /// Current CRLs (crls, RFC 9480 §2.17), given the ones already held in `status`.
    pub fn crls(
        &mut self,
        status: &[cmp_proto::CrlStatus],
    ) -> Result<Vec<x509_cert::crl::CertificateList>> {
        let request = vec![InfoTypeAndValue::crl_status_list(status).map_err(crate::Error::Build)?];
        let itav = self.info(request, oid::IT_CRLS, "crls")?;
        Ok(itav
            .crls()
            .map_err(crate::Error::BadInfoValue)?
            .unwrap_or_default())
    }
}
