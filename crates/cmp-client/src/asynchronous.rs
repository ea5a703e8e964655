//! An async client and HTTP transport for tokio (feature `tokio`, on by default).
//!
//! [`AsyncClient`] drives the same sans-IO transactions as the blocking
//! [`Client`](crate::Client) over an [`AsyncTransport`], sleeping with
//! [`tokio::time::sleep`] while the CA asks it to poll. Its methods take `&self`, and
//! [`AsyncHttpTransport`] is a cheap handle to one shared pool, so one transport (and, per
//! CA configuration, one client) can serve many transactions at once, for example one per
//! cert-manager `CertificateRequest` in an external issuer.
//!
//! # Why the blocking HTTP transport on tokio's blocking pool
//!
//! [`AsyncHttpTransport`] runs the blocking [`HttpTransport`] (ureq) in
//! [`tokio::task::spawn_blocking`] instead of bringing in an async HTTP stack (hyper,
//! hyper-rustls, tower):
//!
//! - One HTTP/TLS implementation and one dependency tree serve both modes: the same RFC
//!   6712 checks (status, media type, size limit, no redirects), the same TLS trust and
//!   client authentication, proxy and error classification, tested once. The async mode
//!   adds only tokio with `rt`, `time` and `sync`.
//! - CMP exchanges are few and small: a transaction is two to a few requests of a few
//!   kilobytes, and most of a transaction's time is spent waiting for the CA to issue,
//!   which [`AsyncClient`] does with a timer, holding no thread.
//! - A [`tokio::sync::Semaphore`] bounds how many requests are in flight at once
//!   (default [`AsyncHttpTransport::DEFAULT_MAX_CONCURRENT_REQUESTS`]), so 200
//!   certificate requests arriving together queue for a permit instead of occupying 200
//!   blocking threads. Each request holds a thread only for its own exchange, which
//!   [`HttpTransportBuilder::timeout`](crate::transport::HttpTransportBuilder::timeout)
//!   limits.
//!
//! The cost is one blocking-pool thread per request in flight, and cancellation that
//! stops waiting but not the exchange: dropping a [`AsyncTransport::send`] future leaves
//! the request to finish (or time out) on its thread, still holding its permit.
//!
//! # Connections
//!
//! The transport keeps up to as many [`HttpTransport`]s as it allows concurrent requests,
//! each with its own kept-alive connection, and hands out the most recently used one
//! first. RFC 6712 §3.2 suggests that a transaction's requests (ir, certConf, pollReq, ...)
//! stay on one connection; they do when transactions do not overlap. Under concurrency a
//! transaction's next request may travel on another pooled connection: CMP correlates
//! messages by transactionID, never by connection, so this costs at most a connection
//! setup. A CA (or load balancer) that insists on connection affinity should be given a
//! transport per transaction or a limit of one request at a time.
//!
//! # Resuming
//!
//! An issuer that wants to record a transaction in flight can start it itself with
//! [`Enrollment::start`] and hand it to [`AsyncClient::drive_enrollment`]. Transactions
//! cannot be serialized, so an enrollment cannot survive a process restart; a restarted
//! issuer starts a new one.
//!
//! ```no_run
//! use cmp_client::asynchronous::{AsyncClient, AsyncHttpTransport};
//! use cmp_client::transaction::EnrollmentRequest;
//! use cmp_client::{ClientConfig, checks::Trust, transport::HttpTransport};
//! use cmp_proto::builder::CertRequestBuilder;
//! use cmp_proto::protection::{KeyType, MacAlgorithm, Protector, SharedSecret, SigningKey};
//! use std::str::FromStr;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let secret = SharedSecret::from("insta");
//! let protector = Protector::Mac { secret: secret.clone(), reference: Some(b"1234".to_vec()), algorithm: MacAlgorithm::default() };
//! let trust = Trust { secret: Some(secret), ..Trust::default() };
//! let http = HttpTransport::builder("http://127.0.0.1:8080/pkix/").build()?;
//! let transport = AsyncHttpTransport::with_max_concurrent_requests(http, 8);
//! let client = AsyncClient::new(ClientConfig::new(protector, trust), transport);
//! let key = SigningKey::generate(KeyType::P256)?;
//! let request = CertRequestBuilder::new(key.public_key_info()?)
//!     .subject(cmp_proto::x509_cert::name::Name::from_str("CN=device-1")?)
//!     .sign_pop(&key)?;
//! let enrolled = client.enroll(EnrollmentRequest::Ir(request)).await?;
//! println!("{}", enrolled.certificate.tbs_certificate().subject());
//! # Ok(()) }
//! ```

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use cmp_proto::builder::CrlReason;
use cmp_proto::spki::AlgorithmIdentifierOwned;
use cmp_proto::x509_cert::Certificate;
use cmp_proto::x509_cert::crl::CertificateList;
use cmp_proto::{CertReqTemplateContent, CrlStatus, InfoTypeAndValue};
use tokio::sync::Semaphore;

use crate::client::unreachable_step;
use crate::config::ClientConfig;
use crate::error::Result;
use crate::transaction::general::typed::{self, ReadInfo};
use crate::transaction::{
    Enrolled, Enrollment, EnrollmentRequest, GeneralMessage, Next, Revocation,
};
use crate::transport::{HttpTransport, Transport, TransportError};

/// Sends one DER PKIMessage and returns the DER response, asynchronously.
///
/// `send` takes `&self` so that one transport serves many concurrent transactions; an
/// implementation synchronizes internally. The returned future is `Send` so that
/// transactions can run in spawned tasks.
pub trait AsyncTransport {
    /// Sends `request` and returns the peer's response bytes.
    fn send(
        &self,
        request: Vec<u8>,
    ) -> impl Future<Output = core::result::Result<Vec<u8>, TransportError>> + Send;
}

impl<T: AsyncTransport + Sync> AsyncTransport for &T {
    fn send(
        &self,
        request: Vec<u8>,
    ) -> impl Future<Output = core::result::Result<Vec<u8>, TransportError>> + Send {
        (**self).send(request)
    }
}

impl<T: AsyncTransport + Send + Sync> AsyncTransport for Arc<T> {
    fn send(
        &self,
        request: Vec<u8>,
    ) -> impl Future<Output = core::result::Result<Vec<u8>, TransportError>> + Send {
        (**self).send(request)
    }
}

/// CMP over HTTP(S) for tokio: the blocking [`HttpTransport`] run on tokio's blocking
/// pool, with a bound on concurrent requests. See the [module docs](self) for why and
/// how connections are used.
///
/// Cloning is cheap and shares the pool and the bound. Sending needs a tokio runtime
/// (without one, [`TransportError::Config`]).
#[derive(Clone, Debug)]
pub struct AsyncHttpTransport {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    /// Cloned (with a fresh connection pool) when every pooled transport is busy.
    template: HttpTransport,
    /// Idle transports, most recently used last.
    idle: Mutex<Vec<HttpTransport>>,
    permits: Arc<Semaphore>,
    max_concurrent_requests: usize,
}

impl Shared {
    fn checkout(&self) -> HttpTransport {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
            .unwrap_or_else(|| self.template.clone())
    }

    fn checkin(&self, transport: HttpTransport) {
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(transport);
    }
}

impl AsyncHttpTransport {
    /// Default for [`Self::with_max_concurrent_requests`]: 16.
    pub const DEFAULT_MAX_CONCURRENT_REQUESTS: usize = 16;

    /// Runs requests over `transport`'s settings, at most
    /// [`Self::DEFAULT_MAX_CONCURRENT_REQUESTS`] at a time.
    pub fn new(transport: HttpTransport) -> Self {
        Self::with_max_concurrent_requests(transport, Self::DEFAULT_MAX_CONCURRENT_REQUESTS)
    }

    /// Runs requests over `transport`'s settings, at most `max` at a time (at least
    /// one): further requests wait for a free slot, in arrival order. This is also the
    /// most blocking threads and kept-alive connections the transport uses.
    pub fn with_max_concurrent_requests(transport: HttpTransport, max: usize) -> Self {
        let max = max.clamp(1, Semaphore::MAX_PERMITS);
        Self {
            shared: Arc::new(Shared {
                idle: Mutex::new(vec![transport.clone()]),
                template: transport,
                permits: Arc::new(Semaphore::new(max)),
                max_concurrent_requests: max,
            }),
        }
    }

    /// The most requests in flight at once.
    pub fn max_concurrent_requests(&self) -> usize {
        self.shared.max_concurrent_requests
    }

    /// The URL requests go to, without any `user:password@` part.
    pub fn url(&self) -> &str {
        self.shared.template.url()
    }

    async fn exchange(&self, request: Vec<u8>) -> core::result::Result<Vec<u8>, TransportError> {
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|e| TransportError::Config {
                reason: format!("AsyncHttpTransport needs a tokio runtime: {e}"),
            })?;
        let permit = Arc::clone(&self.shared.permits)
            .acquire_owned()
            .await
            .map_err(|_| TransportError::Config {
                reason: "request limit closed".to_owned(),
            })?;
        let shared = Arc::clone(&self.shared);
        // The permit moves into the blocking task: a cancelled caller stops waiting, but
        // the slot stays taken until the exchange on the thread has ended.
        let exchange = runtime.spawn_blocking(move || {
            let _permit = permit;
            let mut transport = shared.checkout();
            let response = transport.send(&request);
            shared.checkin(transport);
            response
        });
        match exchange.await {
            Ok(response) => response,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(TransportError::Io {
                target: self.url().to_owned(),
                reason: "the tokio runtime shut down during the exchange".to_owned(),
            }),
        }
    }
}

impl From<HttpTransport> for AsyncHttpTransport {
    fn from(transport: HttpTransport) -> Self {
        Self::new(transport)
    }
}

impl AsyncTransport for AsyncHttpTransport {
    /// POSTs `request` on a blocking-pool thread once a request slot is free; see
    /// [`HttpTransport`]'s `send` for what is checked and when a request is retried.
    fn send(
        &self,
        request: Vec<u8>,
    ) -> impl Future<Output = core::result::Result<Vec<u8>, TransportError>> + Send {
        self.exchange(request)
    }
}

/// A CMP client for one CA over an [`AsyncTransport`]: the async counterpart of
/// [`Client`](crate::Client).
///
/// Methods take `&self`: share one client (for example in an `Arc`) among concurrent
/// transactions that use the same configuration. Dropping a returned future abandons
/// its transaction where it stands (an enrollment then goes unconfirmed, and the CA
/// rejects or revokes the certificate as its policy says).
#[derive(Debug)]
pub struct AsyncClient<T> {
    config: ClientConfig,
    transport: T,
}

impl<T: AsyncTransport> AsyncClient<T> {
    /// A client with `config` over `transport`.
    pub fn new(config: ClientConfig, transport: T) -> Self {
        Self { config, transport }
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// Enrolls (ir, cr, kur or p10cr), confirms, and polls when asked to wait.
    pub async fn enroll(&self, request: EnrollmentRequest) -> Result<Enrolled> {
        let (tx, bytes) = Enrollment::start(&self.config, request, SystemTime::now())?;
        self.drive_enrollment(tx, bytes).await
    }

    /// Drives an enrollment that the caller started with [`Enrollment::start`] (with
    /// this client's configuration), from its first request to the end: for a caller
    /// that records the transaction (its transactionID, nonces, request) before any
    /// byte is sent.
    ///
    /// When the enrollment fails while the CA may still hold the transaction open, the
    /// client first sends the CA an error message, best effort, as
    /// [`Client::enroll`](crate::Client::enroll) does; the error returned is the
    /// original one.
    pub async fn drive_enrollment(&self, tx: Enrollment, request: Vec<u8>) -> Result<Enrolled> {
        let (mut tx, mut bytes) = (tx, request);
        loop {
            let response = self.transport.send(bytes).await?;
            match tx.receive(&self.config, &response, SystemTime::now()) {
                Ok(Next::Done(enrolled)) => return Ok(enrolled),
                Ok(Next::Send {
                    transaction,
                    request,
                    wait,
                }) => {
                    if !wait.is_zero() {
                        tokio::time::sleep(wait).await;
                    }
                    tx = transaction;
                    bytes = request;
                }
                Err(failed) => {
                    if let Some(error_message) = failed.error_message {
                        // Best effort, bounded by the transport's timeouts: the answer
                        // (pkiConf or an error) and any failure change nothing.
                        let _ = self.transport.send(error_message).await;
                    }
                    return Err(failed.error);
                }
            }
        }
    }

    /// Revokes `certificate` (rr/rp).
    pub async fn revoke(&self, certificate: Certificate, reason: Option<CrlReason>) -> Result<()> {
        let (tx, bytes) = Revocation::start(&self.config, certificate, reason)?;
        let response = self.transport.send(bytes).await?;
        match tx.receive(&self.config, &response, SystemTime::now())? {
            Next::Done(()) => Ok(()),
            Next::Send { .. } => unreachable_step(),
        }
    }

    /// Sends a general message and returns the genp entries.
    pub async fn general_message(
        &self,
        infos: Vec<InfoTypeAndValue>,
    ) -> Result<Vec<InfoTypeAndValue>> {
        let (tx, bytes) = GeneralMessage::start(&self.config, infos)?;
        let response = self.transport.send(bytes).await?;
        match tx.receive(&self.config, &response, SystemTime::now())? {
            Next::Done(infos) => Ok(infos),
            Next::Send { .. } => unreachable_step(),
        }
    }
}

/// Typed general messages (RFC 9483 §4.3), as the blocking
/// [`Client`](crate::Client) has them and sharing their code.
impl<T: AsyncTransport> AsyncClient<T> {
    async fn ask<R, A: ReadInfo<R>>(&self, query: typed::Query<A>) -> Result<R> {
        let genp = self.general_message(query.request).await?;
        query.answer.read(&genp, SystemTime::now())
    }

    /// The CA certificates the CA offers (caCerts, RFC 9480 §2.14); empty when it has none.
    ///
    /// ```no_run
    /// # use cmp_client::asynchronous::{AsyncClient, AsyncHttpTransport};
    /// # async fn run(client: AsyncClient<AsyncHttpTransport>) -> Result<(), cmp_client::Error> {
    /// for ca in client.ca_certs().await? {
    ///     println!("{}", ca.tbs_certificate().subject());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn ca_certs(&self) -> Result<Vec<Certificate>> {
        self.ask(typed::ca_certs()).await
    }

    /// A new root CA certificate, validated against `old_root` (rootCaKeyUpdate,
    /// RFC 9480 §2.15): newWithNew is checked to be self-signed and linked to
    /// `old_root` through newWithOld (and oldWithNew when present); `None` when the
    /// root is current.
    ///
    /// ```no_run
    /// # use cmp_client::asynchronous::{AsyncClient, AsyncHttpTransport};
    /// # use cmp_proto::x509_cert::Certificate;
    /// # async fn run(client: AsyncClient<AsyncHttpTransport>, root: Certificate) -> Result<(), cmp_client::Error> {
    /// if let Some(new_root) = client.root_ca_update(&root).await? {
    ///     println!("trust {} from now on", new_root.tbs_certificate().subject());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn root_ca_update(&self, old_root: &Certificate) -> Result<Option<Certificate>> {
        let query = typed::root_ca_update(old_root, self.config.policy.limits.clone())?;
        self.ask(query).await
    }

    /// The template the CA wants requests to follow (certReqTemplate, RFC 9480 §2.16);
    /// `None` when it has none.
    ///
    /// ```no_run
    /// # use cmp_client::asynchronous::{AsyncClient, AsyncHttpTransport};
    /// # async fn run(client: AsyncClient<AsyncHttpTransport>) -> Result<(), cmp_client::Error> {
    /// if let Some(template) = client.cert_req_template().await? {
    ///     println!("subject: {:?}", template.cert_template.subject);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn cert_req_template(&self) -> Result<Option<CertReqTemplateContent>> {
        self.ask(typed::cert_req_template()).await
    }

    /// The key types the CA accepts for signing keys (signKeyPairTypes,
    /// RFC 4210 §5.3.19.2); empty when it names none.
    ///
    /// ```no_run
    /// # use cmp_client::asynchronous::{AsyncClient, AsyncHttpTransport};
    /// # async fn run(client: AsyncClient<AsyncHttpTransport>) -> Result<(), cmp_client::Error> {
    /// for algorithm in client.sign_key_pair_types().await? {
    ///     println!("{}", algorithm.oid);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn sign_key_pair_types(&self) -> Result<Vec<AlgorithmIdentifierOwned>> {
        self.ask(typed::sign_key_pair_types()).await
    }

    /// Current CRLs (crls, RFC 9480 §2.17), given the ones already held in `status`
    /// (an empty list asks for all); empty when none is newer.
    ///
    /// ```no_run
    /// # use cmp_client::asynchronous::{AsyncClient, AsyncHttpTransport};
    /// # async fn run(client: AsyncClient<AsyncHttpTransport>) -> Result<(), cmp_client::Error> {
    /// for crl in client.crls(&[]).await? {
    ///     let revoked = crl.tbs_cert_list.revoked_certificates.as_deref().unwrap_or_default();
    ///     println!("{}: {} revoked", crl.tbs_cert_list.issuer, revoked.len());
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn crls(&self, status: &[CrlStatus]) -> Result<Vec<CertificateList>> {
        self.ask(typed::crls(status)?).await
    }
}
