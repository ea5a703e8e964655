//! A blocking client: the transactions driven over a [`Transport`].

use std::time::SystemTime;

use cmp_proto::builder::CrlReason;
use cmp_proto::spki::AlgorithmIdentifierOwned;
use cmp_proto::x509_cert::Certificate;
use cmp_proto::x509_cert::crl::CertificateList;
use cmp_proto::{CertReqTemplateContent, CrlStatus, InfoTypeAndValue};

use crate::config::ClientConfig;
use crate::error::Result;
use crate::transaction::general::typed::{self, ReadInfo};
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
    ///
    /// When the enrollment fails while the CA may still hold the transaction open (a
    /// response failed a check, the polling deadline passed), the client first sends the
    /// CA an error message, best effort, so that it ends the transaction and withdraws
    /// an unconfirmed certificate ([`Failed`](crate::transaction::Failed) says when and
    /// why); the error returned is the original one.
    pub fn enroll(&mut self, request: EnrollmentRequest) -> Result<Enrolled> {
        let (mut tx, mut bytes) = Enrollment::start(&self.config, request, SystemTime::now())?;
        loop {
            let response = self.transport.send(&bytes)?;
            match tx.receive(&self.config, &response, SystemTime::now()) {
                Ok(Next::Done(enrolled)) => return Ok(enrolled),
                Ok(Next::Send {
                    transaction,
                    request,
                    wait,
                }) => {
                    std::thread::sleep(wait);
                    tx = transaction;
                    bytes = request;
                }
                Err(failed) => {
                    if let Some(error_message) = &failed.error_message {
                        // Best effort, bounded by the transport's timeouts: the answer
                        // (pkiConf or an error) and any failure change nothing.
                        let _ = self.transport.send(error_message);
                    }
                    return Err(failed.error);
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
    fn ask<R, A: ReadInfo<R>>(&mut self, query: typed::Query<A>) -> Result<R> {
        let genp = self.general_message(query.request)?;
        query.answer.read(&genp, SystemTime::now())
    }

    /// The CA certificates the CA offers (caCerts, RFC 9480 §2.14); empty when it has none.
    pub fn ca_certs(&mut self) -> Result<Vec<Certificate>> {
        self.ask(typed::ca_certs())
    }

    /// A new root CA certificate, validated against `old_root` (rootCaKeyUpdate,
    /// RFC 9480 §2.15); `None` when the root is current.
    pub fn root_ca_update(&mut self, old_root: &Certificate) -> Result<Option<Certificate>> {
        let query = typed::root_ca_update(old_root, self.config.policy.limits.clone())?;
        self.ask(query)
    }

    /// The template the CA wants requests to follow (certReqTemplate, RFC 9480 §2.16).
    pub fn cert_req_template(&mut self) -> Result<Option<CertReqTemplateContent>> {
        self.ask(typed::cert_req_template())
    }

    /// The key types the CA accepts for signing keys (signKeyPairTypes, RFC 4210 §5.3.19.2).
    pub fn sign_key_pair_types(&mut self) -> Result<Vec<AlgorithmIdentifierOwned>> {
        self.ask(typed::sign_key_pair_types())
    }

    /// Current CRLs (crls, RFC 9480 §2.17), given the ones already held in `status`.
    pub fn crls(&mut self, status: &[CrlStatus]) -> Result<Vec<CertificateList>> {
        self.ask(typed::crls(status)?)
    }
}
