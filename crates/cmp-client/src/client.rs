//! A blocking client: the transactions driven over a [`Transport`].

use std::time::SystemTime;

use cmp_proto::InfoTypeAndValue;
use cmp_proto::builder::CrlReason;
use cmp_proto::x509_cert::Certificate;

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

fn unreachable_step<R>() -> Result<R> {
    Err(crate::Error::Config {
        reason: "a single-exchange transaction asked for another exchange".into(),
    })
}
