//! CMP over HTTP and HTTPS (RFC 6712); see [`HttpTransport`] for what the RFC asks and
//! where it is done.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use ureq::http::Uri;
use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig, TlsProvider};

use super::resolver::QuickResolver;
use super::{Transport, TransportError};

/// The media type of a DER PKIMessage (RFC 6712 §3.4).
const PKIXCMP: &str = "application/pkixcmp";

/// The longest peer-supplied content type kept in an error message.
const MAX_CONTENT_TYPE_IN_ERROR: usize = 100;

/// A blocking CMP-over-HTTP(S) client ([RFC 6712](https://www.rfc-editor.org/rfc/rfc6712),
/// now [RFC 9811](https://www.rfc-editor.org/rfc/rfc9811)): one `POST` per
/// [`Transport::send`].
///
/// What RFC 6712 asks of a client, and how this transport does it:
///
/// - §3.3 (General Form): each request is one DER PKIMessage sent as the body of an
///   HTTP `POST`; the CMP response comes back in the body of an HTTP 200 response. Any
///   other status, 2xx included, is [`TransportError::HttpStatus`]. Redirects are not
///   followed (they show up as their 3xx status).
/// - §3.4 (Media Type): requests carry `Content-Type: application/pkixcmp`, and a
///   response with any other media type is [`TransportError::ContentType`]. The
///   comparison ignores case and media-type parameters (`; charset=...`).
/// - §3.2 (Persistent Connections): connections are kept alive and reused, so the
///   requests of one transaction (ir, certConf, pollReq, ...) normally share one TCP (and
///   TLS) connection. Nothing relies on that: CMP correlates messages by transactionID,
///   never by connection.
/// - §3.6 (HTTP Request-URI): the URL is used as given, so both the RFC 9811 well-known
///   path (`/.well-known/cmp/...`) and vendor paths such as EJBCA's
///   `/ejbca/publicweb/cmp/<alias>` work.
///
/// Plain `http://` is accepted as well as `https://`: CMP messages are protected end to
/// end (MAC or signature), and OpenSSL's mock server and many test CAs only speak HTTP.
///
/// Build one with [`HttpTransport::builder`]. It holds one connection pool, so a
/// transaction's requests normally travel over one kept-alive connection, with
/// `TCP_NODELAY` set so that a request following a response is sent at once rather than
/// held back by Nagle's algorithm waiting for a delayed ACK (the ~40 ms stall OpenSSL's
/// client shows on a kept-alive connection's second request).
///
/// Errors name the URL (without any `user:password@` part) and never contain request or
/// response bytes.
///
/// ```no_run
/// use std::time::Duration;
/// use cmp_client::transport::HttpTransport;
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let transport = HttpTransport::builder("https://ca.example/ejbca/publicweb/cmp/ra-hmac")
///     // TLS trust for the connection, apart from the CMP trust of the messages.
///     .tls_roots_file("/etc/cmp/tls-ca.pem")?
///     .connect_timeout(Duration::from_secs(5))
///     .timeout(Duration::from_secs(30))
///     .build()?;
/// # let _ = transport;
/// # Ok(()) }
/// ```
pub struct HttpTransport {
    agent: ureq::Agent,
    uri: Uri,
    /// The URL for error messages, without credentials.
    target: String,
    max_response_size: usize,
    /// Whether the last exchange ended cleanly, leaving a kept-alive connection.
    idle_connection: bool,
    /// How often, and for how long at most each time, a busy server's `Retry-After`
    /// is waited out before sending again.
    busy: BusyRetries,
}

/// See [`HttpTransportBuilder::retry_when_busy`].
#[derive(Clone, Copy, Debug, Default)]
struct BusyRetries {
    attempts: u32,
    max_wait: Duration,
}

impl HttpTransport {
    /// Default limit for [`HttpTransportBuilder::connect_timeout`]: 10 seconds.
    pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
    /// Default limit for [`HttpTransportBuilder::timeout`]: 60 seconds.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
    /// Default limit for [`HttpTransportBuilder::max_response_size`]: 512 KiB.
    pub const DEFAULT_MAX_RESPONSE_SIZE: usize = 512 * 1024;

    /// Starts configuring a transport that posts to `url` (`http://` or `https://`).
    ///
    /// The URL is checked by [`HttpTransportBuilder::build`].
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use cmp_client::transport::{HttpTransport, Transport, TransportError};
    ///
    /// # fn main() -> Result<(), TransportError> {
    /// let tls_roots = std::fs::read("tls-root.pem").expect("TLS trust anchors");
    /// let client_cert = std::fs::read("tls-client.pem").expect("TLS client certificate");
    /// let client_key = std::fs::read("tls-client.key").expect("TLS client key");
    ///
    /// let mut transport = HttpTransport::builder("https://ca.example/.well-known/cmp")
    ///     .connect_timeout(Duration::from_secs(5))
    ///     .timeout(Duration::from_secs(30))
    ///     .max_response_size(256 * 1024)
    ///     .tls_roots_pem(&tls_roots)?
    ///     .client_identity_pem(&client_cert, &client_key)?
    ///     .proxy("http://proxy.example:3128")?
    ///     .build()?;
    ///
    /// let request: Vec<u8> = Vec::new(); // a DER PKIMessage from a transaction
    /// let response = transport.send(&request)?;
    /// # let _ = response;
    /// # Ok(()) }
    /// ```
    pub fn builder(url: impl Into<String>) -> HttpTransportBuilder {
        HttpTransportBuilder {
            url: url.into(),
            connect_timeout: Self::DEFAULT_CONNECT_TIMEOUT,
            timeout: Self::DEFAULT_TIMEOUT,
            max_response_size: Self::DEFAULT_MAX_RESPONSE_SIZE,
            tls_roots: Vec::new(),
            client_identity: None,
            proxy: None,
            busy: BusyRetries::default(),
        }
    }

    /// The URL requests go to, without any `user:password@` part.
    pub fn url(&self) -> &str {
        &self.target
    }

    /// Turns a ureq failure into a [`TransportError`] naming this transport's URL.
    fn error(&self, err: ureq::Error) -> TransportError {
        let target = self.target.clone();
        match err {
            ureq::Error::Timeout(which @ (ureq::Timeout::Resolve | ureq::Timeout::Connect)) => {
                TransportError::Unreachable {
                    target,
                    reason: format!("timed out ({which})"),
                }
            }
            ureq::Error::Timeout(_) => TransportError::Timeout { target },
            ureq::Error::BodyExceedsLimit(_) => TransportError::TooLarge {
                limit: self.max_response_size,
            },
            ureq::Error::StatusCode(status) => TransportError::HttpStatus {
                url: target,
                status,
                retry_after: None,
            },
            ureq::Error::Io(e) => io_error(target, &e),
            ureq::Error::Rustls(e) => tls_error(target, &e),
            ureq::Error::Tls(reason) => TransportError::Tls {
                target,
                reason: reason.to_owned(),
                refused_server: false,
            },
            ureq::Error::HostNotFound => TransportError::Unreachable {
                target,
                reason: "host not found".to_owned(),
            },
            ureq::Error::ConnectProxyFailed(reason) => TransportError::Io {
                target,
                reason: format!("proxy refused to connect: {reason}"),
            },
            ureq::Error::LargeResponseHeader(_, limit) => TransportError::Io {
                target,
                reason: format!("response header larger than {limit} bytes"),
            },
            ureq::Error::Protocol(e) => TransportError::Io {
                target,
                reason: format!("HTTP protocol error: {e}"),
            },
            e @ (ureq::Error::BadUri(_)
            | ureq::Error::Http(_)
            | ureq::Error::InvalidProxyUrl
            | ureq::Error::RequireHttpsOnly(_)) => TransportError::Config {
                reason: format!("{target}: {e}"),
            },
            other => TransportError::Io {
                target,
                reason: other.to_string(),
            },
        }
    }
}

/// A transport with the same URL and settings (timeouts, size limit, TLS, proxy) and a
/// connection pool of its own.
///
/// Unlike cloning a `ureq::Agent`, which shares the agent's pool, each clone keeps its own
/// connections, so that [`Transport::send`]'s retry on a dead kept-alive connection
/// (which relies on knowing whether *this* transport left a connection idle) stays exact.
/// The `tokio` feature's `asynchronous::AsyncHttpTransport` pools clones this way.
impl Clone for HttpTransport {
    fn clone(&self) -> Self {
        Self {
            agent: new_agent(self.agent.config().clone()),
            uri: self.uri.clone(),
            target: self.target.clone(),
            max_response_size: self.max_response_size,
            idle_connection: false,
            busy: self.busy,
        }
    }
}

impl fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpTransport")
            .field("url", &self.target)
            .field("max_response_size", &self.max_response_size)
            .finish_non_exhaustive()
    }
}

/// An I/O error from ureq: a timeout, a TLS failure (rustls reports those as I/O errors
/// carrying a `rustls::Error`), a connection that could not be made, or a plain network
/// error.
fn io_error(target: String, e: &std::io::Error) -> TransportError {
    use std::io::ErrorKind;
    if matches!(e.kind(), ErrorKind::TimedOut | ErrorKind::WouldBlock) {
        return TransportError::Timeout { target };
    }
    if let Some(tls) = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        return tls_error(target, tls);
    }
    // Errors that only connect(2) reports: no byte of the request left.
    if matches!(
        e.kind(),
        ErrorKind::ConnectionRefused
            | ErrorKind::HostUnreachable
            | ErrorKind::NetworkUnreachable
            | ErrorKind::AddrNotAvailable
    ) {
        return TransportError::Unreachable {
            target,
            reason: e.to_string(),
        };
    }
    TransportError::Io {
        target,
        reason: e.to_string(),
    }
}

/// A rustls failure. A server certificate that we refused ends the handshake before the
/// client sends anything of its own, so the request certainly did not leave.
fn tls_error(target: String, e: &rustls::Error) -> TransportError {
    TransportError::Tls {
        target,
        reason: e.to_string(),
        refused_server: matches!(
            e,
            rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented
        ),
    }
}

impl Transport for HttpTransport {
    /// POSTs `request` and returns the body of the 200 `application/pkixcmp` response.
    ///
    /// If the previous exchange left a kept-alive connection and that connection turns
    /// out to be dead before any response arrives (reset, closed, broken pipe), the
    /// request is sent once more on a fresh connection. Servers may close idle
    /// connections at any time (OpenSSL's mock server announces keep-alive and then
    /// closes once a transaction ends), and a request that met a closed connection was
    /// not processed; curl and browsers retry the same way. The retry gets its own
    /// [`HttpTransportBuilder::timeout`].
    fn send(&mut self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        let mut retries = self.busy.attempts;
        loop {
            match self.exchange(request) {
                Err(busy) if retries > 0 => match busy.retry_after() {
                    Some(wait) if wait <= self.busy.max_wait => {
                        // Nothing was processed: the same bytes are the same request.
                        retries -= 1;
                        std::thread::sleep(wait);
                    }
                    _ => return Err(busy),
                },
                result => return result,
            }
        }
    }
}

impl HttpTransport {
    /// One POST and its response, with the retry on a dead kept-alive connection.
    fn exchange(&mut self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        let may_reuse = std::mem::take(&mut self.idle_connection);
        let response = match self.post(request) {
            Err(e) if may_reuse && is_dead_connection(&e) => self.post(request),
            other => other,
        }
        .map_err(|e| self.error(e))?;
        let keep_alive = keeps_alive(&response);
        let body = self.read_response(response)?;
        // The body was read to its end, so ureq has pooled the connection unless the
        // server said it would close it.
        self.idle_connection = keep_alive;
        Ok(body)
    }
}

/// Whether the server means to keep the connection open after this response.
fn keeps_alive(response: &ureq::http::Response<ureq::Body>) -> bool {
    let connection = response
        .headers()
        .get(ureq::http::header::CONNECTION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let has = |token: &str| {
        connection
            .split(',')
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    };
    if has("close") {
        false
    } else {
        has("keep-alive") || response.version() != ureq::http::Version::HTTP_10
    }
}

/// Whether a request failed because its connection was already gone.
fn is_dead_connection(err: &ureq::Error) -> bool {
    use std::io::ErrorKind;
    matches!(err, ureq::Error::Io(e) if matches!(
        e.kind(),
        ErrorKind::ConnectionReset
            | ErrorKind::ConnectionAborted
            | ErrorKind::BrokenPipe
            | ErrorKind::UnexpectedEof
    ))
}

impl HttpTransport {
    /// Sends the request and receives the response head.
    fn post(&self, request: &[u8]) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
        self.agent
            .post(&self.uri)
            .header("Content-Type", PKIXCMP)
            .send(request)
    }

    /// Checks status and content type, then reads the body within the size limit.
    fn read_response(
        &self,
        response: ureq::http::Response<ureq::Body>,
    ) -> Result<Vec<u8>, TransportError> {
        let status = response.status().as_u16();
        if status != 200 {
            let retry_after = response
                .headers()
                .get(ureq::http::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| super::retry_after::parse(v, std::time::SystemTime::now()));
            return Err(TransportError::HttpStatus {
                url: self.target.clone(),
                status,
                retry_after,
            });
        }

        let content_type = response
            .headers()
            .get(ureq::http::header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .unwrap_or_default();
        if !is_pkixcmp(&content_type) {
            return Err(TransportError::ContentType {
                content_type: truncate(content_type, MAX_CONTENT_TYPE_IN_ERROR),
            });
        }

        // Refuse a declared oversize body without reading it; the limit on the reader
        // below also covers chunked bodies and lying Content-Length headers.
        let declared = response
            .headers()
            .get(ureq::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if declared.is_some_and(|len| len > self.max_response_size as u64) {
            return Err(TransportError::TooLarge {
                limit: self.max_response_size,
            });
        }

        response
            .into_body()
            .into_with_config()
            .limit(self.max_response_size as u64)
            .read_to_vec()
            .map_err(|e| self.error(e))
    }
}

/// Whether a Content-Type value names `application/pkixcmp`, ignoring case, surrounding
/// whitespace and parameters.
fn is_pkixcmp(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case(PKIXCMP)
}

/// Cuts a peer-supplied string to at most `max` characters for an error message.
fn truncate(mut s: String, max: usize) -> String {
    if let Some((cut, _)) = s.char_indices().nth(max) {
        s.truncate(cut);
        s.push('…');
    }
    s
}

/// Removes a `user:password@` part from a URL so that it can go into error messages.
fn redact(uri: &Uri) -> String {
    let scheme = uri.scheme_str().unwrap_or("http");
    let authority = uri.authority().map_or("", |a| a.as_str());
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let mut url = format!("{scheme}://{host_port}{}", uri.path());
    if let Some(query) = uri.query() {
        url.push('?');
        url.push_str(query);
    }
    url
}

/// A client certificate chain and its private key, checked together.
struct ClientIdentity {
    chain: Vec<Certificate<'static>>,
    key: PrivateKey<'static>,
}

/// Configures an [`HttpTransport`]; see [`HttpTransport::builder`].
///
/// TLS settings only matter for `https://` URLs. They are the *transport's* trust,
/// entirely separate from the trust anchors that verify CMP message protection: a CA's
/// web server certificate and its CMP signing certificate usually come from different
/// hierarchies.
pub struct HttpTransportBuilder {
    url: String,
    connect_timeout: Duration,
    timeout: Duration,
    max_response_size: usize,
    tls_roots: Vec<CertificateDer<'static>>,
    client_identity: Option<ClientIdentity>,
    proxy: Option<ureq::Proxy>,
    busy: BusyRetries,
}

impl fmt::Debug for HttpTransportBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpTransportBuilder")
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("max_response_size", &self.max_response_size)
            .field("tls_roots", &self.tls_roots.len())
            .field("client_identity", &self.client_identity.is_some())
            .field("proxy", &self.proxy.is_some())
            .finish_non_exhaustive()
    }
}

impl HttpTransportBuilder {
    /// Limits establishing a connection: resolving a proxy's name, TCP connect, proxy
    /// `CONNECT` and TLS handshake. Default [`HttpTransport::DEFAULT_CONNECT_TIMEOUT`].
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Limits each whole exchange, from name lookup to the last byte of the response.
    /// Default [`HttpTransport::DEFAULT_TIMEOUT`].
    ///
    /// A CA that is slow to issue should answer with `waiting` and let the client poll
    /// (RFC 4210 §5.3.22) rather than hold the connection open.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// When the server answers HTTP 429 or 503 with a `Retry-After` of at most
    /// `max_wait`, waits that long and sends the request again, up to `attempts` times;
    /// otherwise (and after the last attempt) the busy answer is the error, with
    /// [`TransportError::retry_after`] for the caller's own backoff. Default: no
    /// retries. A blocking wait: an async caller that must not hold a thread keeps the
    /// default and backs off itself.
    pub fn retry_when_busy(mut self, attempts: u32, max_wait: Duration) -> Self {
        self.busy = BusyRetries { attempts, max_wait };
        self
    }

    /// The largest response body accepted, in bytes; a larger one is
    /// [`TransportError::TooLarge`]. Default [`HttpTransport::DEFAULT_MAX_RESPONSE_SIZE`].
    pub fn max_response_size(mut self, bytes: usize) -> Self {
        self.max_response_size = bytes;
        self
    }

    /// Trusts the certificates in `pem` as roots for the HTTPS server's certificate.
    ///
    /// May be called several times (and mixed with [`Self::tls_roots_der`] and
    /// [`Self::tls_roots_file`]); all certificates given are trusted. Once any root is
    /// given, only these are trusted; without any, the Mozilla root set compiled into
    /// `webpki-roots` is used. Other PEM sections (keys, CRLs) are ignored.
    ///
    /// # Errors
    ///
    /// [`TransportError::Config`] if the PEM is malformed, holds no certificate, or a
    /// certificate cannot serve as a trust anchor.
    pub fn tls_roots_pem(mut self, pem: &[u8]) -> Result<Self, TransportError> {
        let certs = parse_pem_certificates(pem, "TLS roots")?;
        for cert in certs {
            self.add_root(cert)?;
        }
        Ok(self)
    }

    /// Trusts DER-encoded certificates as roots for the HTTPS server's certificate; see
    /// [`Self::tls_roots_pem`].
    ///
    /// # Errors
    ///
    /// [`TransportError::Config`] if a certificate does not parse.
    pub fn tls_roots_der<I>(mut self, certificates: I) -> Result<Self, TransportError>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        for der in certificates {
            self.add_root(CertificateDer::from(der.as_ref().to_vec()))?;
        }
        Ok(self)
    }

    /// Trusts the certificates in a file as roots for the HTTPS server's certificate:
    /// PEM (one or more certificates) or a single DER certificate. See
    /// [`Self::tls_roots_pem`].
    ///
    /// # Errors
    ///
    /// [`TransportError::Config`] if the file cannot be read or holds no usable
    /// certificate.
    pub fn tls_roots_file(self, path: impl AsRef<Path>) -> Result<Self, TransportError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| TransportError::Config {
            reason: format!("cannot read TLS roots file {}: {e}", path.display()),
        })?;
        let with_path = |e: TransportError| match e {
            TransportError::Config { reason } => TransportError::Config {
                reason: format!("{}: {reason}", path.display()),
            },
            other => other,
        };
        if bytes.windows(11).any(|w| w == b"-----BEGIN ") {
            self.tls_roots_pem(&bytes).map_err(with_path)
        } else {
            self.tls_roots_der([bytes]).map_err(with_path)
        }
    }

    fn add_root(&mut self, cert: CertificateDer<'static>) -> Result<(), TransportError> {
        // ureq silently skips roots it cannot parse; check each one here instead.
        rustls::RootCertStore::empty()
            .add(cert.clone())
            .map_err(|e| TransportError::Config {
                reason: format!(
                    "TLS root certificate {} unusable: {e}",
                    self.tls_roots.len() + 1
                ),
            })?;
        self.tls_roots.push(cert);
        Ok(())
    }

    /// Authenticates to the HTTPS server with a client certificate (TLS client auth).
    ///
    /// `cert_pem` holds the client certificate first, optionally followed by
    /// intermediate CA certificates to send along. `key_pem` holds its unencrypted
    /// private key (PKCS #8, PKCS #1 RSA or SEC1 EC).
    ///
    /// # Errors
    ///
    /// [`TransportError::Config`] if either PEM holds nothing usable or the key is not
    /// the certificate's. The message never contains key material.
    pub fn client_identity_pem(
        mut self,
        cert_pem: &[u8],
        key_pem: &[u8],
    ) -> Result<Self, TransportError> {
        let chain = parse_pem_certificates(cert_pem, "TLS client certificate")?;
        let config_error = |reason: &str| TransportError::Config {
            reason: format!("TLS client key: {reason}"),
        };
        // Parsed twice, by rustls (to check it against the certificate) and by ureq (to
        // use it); both pick the first PKCS #8, PKCS #1 or SEC1 section.
        let key_der = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| match e {
            rustls::pki_types::pem::Error::NoItemsFound => config_error(
                "no unencrypted private key found (expected PEM PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)",
            ),
            _ => config_error("malformed PEM"),
        })?;
        let key = PrivateKey::from_pem(key_pem).map_err(|_| config_error("malformed PEM"))?;

        // ureq builds its rustls configuration on first use and panics if the identity
        // is unusable, so build the same configuration now and report the problem.
        rustls::ClientConfig::builder_with_provider(crypto_provider())
            .with_protocol_versions(rustls::ALL_VERSIONS)
            .map_err(|e| config_error(&e.to_string()))?
            .with_root_certificates(rustls::RootCertStore::empty())
            .with_client_auth_cert(chain.clone(), key_der)
            .map_err(|e| TransportError::Config {
                reason: format!("TLS client certificate and key unusable: {e}"),
            })?;

        self.client_identity = Some(ClientIdentity {
            chain: chain
                .iter()
                .map(|c| Certificate::from_der(c.as_ref()).to_owned())
                .collect(),
            key,
        });
        Ok(self)
    }

    /// Sends everything through an HTTP proxy, for example `http://proxy.example:3128`
    /// or `http://user:password@proxy.example:3128`. ureq tunnels through the proxy
    /// with `CONNECT` for `http://` and `https://` URLs alike.
    ///
    /// Without this, no proxy is used: the `HTTP_PROXY`/`HTTPS_PROXY`/`ALL_PROXY`
    /// environment variables are ignored so that behaviour does not depend on the
    /// environment. Pass their value here to honour them.
    ///
    /// # Errors
    ///
    /// [`TransportError::Config`] if the proxy URL is invalid.
    pub fn proxy(mut self, url: &str) -> Result<Self, TransportError> {
        let proxy = ureq::Proxy::new(url).map_err(|e| TransportError::Config {
            reason: format!("proxy URL: {e}"),
        })?;
        self.proxy = Some(proxy);
        Ok(self)
    }

    /// Checks the URL and creates the transport.
    ///
    /// # Errors
    ///
    /// [`TransportError::Config`] if the URL is not an absolute `http://` or `https://`
    /// URL with a host.
    pub fn build(self) -> Result<HttpTransport, TransportError> {
        let uri: Uri = self.url.parse().map_err(|e| TransportError::Config {
            reason: format!("invalid URL: {e}"),
        })?;
        let target = redact(&uri);
        match uri.scheme_str() {
            Some(s) if s.eq_ignore_ascii_case("http") || s.eq_ignore_ascii_case("https") => {}
            Some(s) => {
                return Err(TransportError::Config {
                    reason: format!("URL scheme {s:?} is not http or https: {target}"),
                });
            }
            None => {
                return Err(TransportError::Config {
                    reason: "URL must start with http:// or https://".to_owned(),
                });
            }
        }
        if uri.host().is_none_or(str::is_empty) {
            return Err(TransportError::Config {
                reason: format!("URL has no host: {target}"),
            });
        }

        let mut tls = TlsConfig::builder()
            .provider(TlsProvider::Rustls)
            .unversioned_rustls_crypto_provider(crypto_provider());
        if !self.tls_roots.is_empty() {
            let roots: Vec<Certificate<'static>> = self
                .tls_roots
                .iter()
                .map(|c| Certificate::from_der(c.as_ref()).to_owned())
                .collect();
            tls = tls.root_certs(RootCerts::new_with_certs(&roots));
        }
        if let Some(identity) = self.client_identity {
            tls = tls.client_cert(Some(ClientCert::new_with_certs(
                &identity.chain,
                identity.key,
            )));
        }

        let config = ureq::Agent::config_builder()
            .tls_config(tls.build())
            // Explicit only: never picked up from the environment.
            .proxy(self.proxy)
            // Nagle's algorithm would hold a kept-alive connection's next small request
            // until the server ACKs the previous segment, which a delayed-ACK peer does
            // only after ~40 ms. ureq defaults to TCP_NODELAY; make it explicit.
            .no_delay(true)
            .http_status_as_error(false)
            .max_redirects(0)
            .https_only(false)
            .user_agent(concat!("cmp-client/", env!("CARGO_PKG_VERSION")))
            .timeout_connect(Some(self.connect_timeout))
            .timeout_global(Some(self.timeout))
            .build();

        Ok(HttpTransport {
            agent: new_agent(config),
            uri,
            target,
            max_response_size: self.max_response_size,
            idle_connection: false,
            busy: self.busy,
        })
    }
}

/// An agent with ureq's connectors and our [`QuickResolver`].
fn new_agent(config: ureq::config::Config) -> ureq::Agent {
    ureq::Agent::with_parts(
        config,
        ureq::unversioned::transport::DefaultConnector::default(),
        QuickResolver::default(),
    )
}

/// The rustls cryptography used for every connection (ring), fixed so that the
/// process-wide rustls default cannot change what was validated at build time.
fn crypto_provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificates of a PEM bundle, in order; other sections are skipped.
fn parse_pem_certificates(
    pem: &[u8],
    what: &str,
) -> Result<Vec<CertificateDer<'static>>, TransportError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TransportError::Config {
            reason: format!("{what}: malformed PEM: {}", pem_error(&e)),
        })?;
    if certs.is_empty() {
        return Err(TransportError::Config {
            reason: format!("{what}: no PEM CERTIFICATE found"),
        });
    }
    Ok(certs)
}

/// Describes a PEM parsing error without echoing input.
fn pem_error(e: &rustls::pki_types::pem::Error) -> &'static str {
    use rustls::pki_types::pem::Error;
    match e {
        Error::MissingSectionEnd { .. } => "a section has no END line",
        Error::IllegalSectionStart { .. } => "a BEGIN line is malformed",
        Error::Base64Decode(_) => "invalid base64",
        Error::NoItemsFound => "nothing found",
        _ => "unreadable",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_matching_ignores_case_and_parameters() {
        assert!(is_pkixcmp("application/pkixcmp"));
        assert!(is_pkixcmp("Application/PKIXCMP"));
        assert!(is_pkixcmp(" application/pkixcmp ; charset=binary"));
        assert!(!is_pkixcmp(""));
        assert!(!is_pkixcmp("application/pkixcmp-poll"));
        assert!(!is_pkixcmp("text/html"));
    }

    #[test]
    fn redact_removes_credentials() {
        let uri: Uri = "http://user:secret@ca.example:8080/pkix/?x=1"
            .parse()
            .unwrap();
        assert_eq!(redact(&uri), "http://ca.example:8080/pkix/?x=1");
        let uri: Uri = "https://ca.example".parse().unwrap();
        assert_eq!(redact(&uri), "https://ca.example/");
    }

    #[test]
    fn truncate_keeps_short_strings_and_cuts_long_ones() {
        assert_eq!(truncate("text/html".to_owned(), 100), "text/html");
        assert_eq!(truncate("abcdef".to_owned(), 3), "abc…");
    }
}
