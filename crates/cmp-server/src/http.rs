//! CMP over HTTP (RFC 6712): a server for a [`Responder`] on tokio and hyper.
//!
//! POST with `Content-Type: application/pkixcmp` on `/`, `/pkix/`, the well-known paths
//! `/.well-known/cmp[/p/<label>]/<operation>` (RFC 9811) and EJBCA's
//! `/ejbca/publicweb/cmp/<alias>`. Every wait and size a client controls is bounded:
//! connections, header and body read times, body size.

use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::authority::CertificateAuthority;
use crate::responder::{Outcome, Responder};

/// The media type of CMP messages (RFC 6712 §3.4).
pub const CONTENT_TYPE_PKIXCMP: &str = "application/pkixcmp";

/// Bounds of the HTTP server.
#[derive(Clone, Debug)]
pub struct HttpOptions {
    /// Connections served at once; further ones wait in the listen backlog. Default 1,024.
    pub max_connections: usize,
    /// Connections served at once for one peer address; more from it are closed at
    /// once. Default 64: one host must not take every slot (issue 16, finding 6).
    pub max_connections_per_address: usize,
    /// Time to receive a request's headers, on a new or a kept-alive connection.
    /// Default 10 s.
    pub header_timeout: Duration,
    /// Time to receive a request's body, whole. Default 30 s.
    pub body_timeout: Duration,
    /// Slowest body accepted, in bytes a second, once [`Self::body_grace`] has passed:
    /// a client sending a byte a second held a connection slot for the whole body
    /// timeout. Default 1,024 (a CMP request is a few KiB, sent at once).
    pub min_body_rate: u32,
    /// How long a body may take before [`Self::min_body_rate`] applies. Default 2 s.
    pub body_grace: Duration,
    /// Requests verified and answered at once, on tokio's blocking pool (protection
    /// checks, PBKDF2 and signatures must not hold the async workers). Default: twice
    /// the available cores.
    pub max_handling: usize,
    /// Requests from one address whose protection failed (a wrong MAC, an unknown
    /// reference, an untrusted signer) within [`Self::failure_window`] before further
    /// requests from it get HTTP 429 with Retry-After, unread. Default 20: a client with
    /// a wrong secret learns it on the first answer; one that goes on is guessing, or
    /// spending our CPU on PBKDF2 (issue 16, finding 2).
    pub max_failures_per_address: u32,
    /// The window of [`Self::max_failures_per_address`]. Default 60 s.
    pub failure_window: Duration,
    /// Largest body accepted. Default: the responder's message size limit.
    pub max_body: Option<usize>,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            max_connections: 1024,
            max_connections_per_address: 64,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            min_body_rate: 1024,
            body_grace: Duration::from_secs(2),
            max_handling: std::thread::available_parallelism().map_or(2, |n| n.get() * 2),
            max_failures_per_address: 20,
            failure_window: Duration::from_secs(60),
            max_body: None,
        }
    }
}

/// Whether `path` is one we answer CMP on.
pub fn is_cmp_path(path: &str) -> bool {
    if path == "/" || path == "/pkix" || path == "/pkix/" {
        return true;
    }
    if let Some(alias) = path.strip_prefix("/ejbca/publicweb/cmp/") {
        return is_segment(alias);
    }
    let Some(rest) = path.strip_prefix("/.well-known/cmp") else {
        return false;
    };
    let rest = match rest.strip_prefix("/p/") {
        Some(labelled) => match labelled.split_once('/') {
            Some((label, op)) if is_segment(label) => op,
            _ => return false,
        },
        None => match rest.strip_prefix('/') {
            Some(op) => op,
            None => return rest.is_empty(),
        },
    };
    rest.is_empty() || WELL_KNOWN_OPERATIONS.contains(&rest)
}

/// The operations of RFC 9811 §3 (and RFC 9483 §6.1).
const WELL_KNOWN_OPERATIONS: &[&str] = &[
    "initialization",
    "certification",
    "keyupdate",
    "pkcs10",
    "revocation",
    "getcacerts",
    "getrootupdate",
    "getcertreqtemplate",
    "getcrls",
    "nested",
];

fn is_segment(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

type Reply = hyper::Response<Full<Bytes>>;

fn plain(status: StatusCode, text: &'static str) -> Reply {
    let mut response = hyper::Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    response
}

fn is_pkixcmp(request: &Request<Incoming>) -> bool {
    request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(CONTENT_TYPE_PKIXCMP))
}

/// Why a body was not read.
enum BodyError {
    TooSlow,
    TooLarge,
}

/// Reads a body of at most `max` bytes within the body timeout, at no less than the
/// minimum rate once the grace has passed: by then `received` bytes must have come
/// within `grace + received / rate`, and each frame is awaited no longer than that.
async fn read_body(body: Incoming, max: usize, options: &HttpOptions) -> Result<Bytes, BodyError> {
    let start = tokio::time::Instant::now();
    let mut body = Limited::new(body, max);
    let mut received: Vec<u8> = Vec::new();
    let rate = f64::from(options.min_body_rate.max(1));
    loop {
        let allowed = options.body_grace + Duration::from_secs_f64(received.len() as f64 / rate);
        let deadline = start + allowed.min(options.body_timeout);
        match tokio::time::timeout_at(deadline, body.frame()).await {
            Err(_) => return Err(BodyError::TooSlow),
            Ok(None) => return Ok(Bytes::from(received)),
            Ok(Some(Err(_))) => return Err(BodyError::TooLarge),
            Ok(Some(Ok(frame))) => {
                if let Ok(data) = frame.into_data() {
                    received.extend_from_slice(&data);
                }
            }
        }
    }
}

/// Answers one HTTP request from `peer`.
async fn serve_request<C: CertificateAuthority + 'static>(
    request: Request<Incoming>,
    responder: Arc<Responder<C>>,
    options: Arc<HttpOptions>,
    handling: Arc<Semaphore>,
    peer: (IpAddr, Arc<Failures>),
) -> Result<Reply, Infallible> {
    let (address, failures) = peer;
    if let Some(wait) = failures.blocked(address, &options, std::time::Instant::now()) {
        let mut reply = plain(
            StatusCode::TOO_MANY_REQUESTS,
            "too many requests that failed authentication; retry later\n",
        );
        if let Ok(value) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            reply
                .headers_mut()
                .insert(hyper::header::RETRY_AFTER, value);
        }
        return Ok(reply);
    }
    if !is_cmp_path(request.uri().path()) {
        return Ok(plain(StatusCode::NOT_FOUND, "no CMP endpoint here\n"));
    }
    if request.method() != Method::POST {
        let mut reply = plain(StatusCode::METHOD_NOT_ALLOWED, "CMP needs POST\n");
        reply
            .headers_mut()
            .insert(hyper::header::ALLOW, HeaderValue::from_static("POST"));
        return Ok(reply);
    }
    if !is_pkixcmp(&request) {
        return Ok(plain(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/pkixcmp\n",
        ));
    }
    let max = options
        .max_body
        .unwrap_or(responder.config().limits.message.max_message_size);
    let bytes = match read_body(request.into_body(), max, &options).await {
        Err(BodyError::TooSlow) => {
            return Ok(plain(StatusCode::REQUEST_TIMEOUT, "body too slow\n"));
        }
        Err(BodyError::TooLarge) => {
            return Ok(plain(
                StatusCode::PAYLOAD_TOO_LARGE,
                "request larger than the server accepts\n",
            ));
        }
        Ok(bytes) => bytes,
    };
    // Verification (PBKDF2, signatures, chains) runs on the blocking pool, a bounded
    // number at once, so that the async workers keep reading and answering.
    let Ok(_permit) = handling.acquire().await else {
        return Ok(plain(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n"));
    };
    let handled = {
        let responder = Arc::clone(&responder);
        tokio::task::spawn_blocking(move || responder.handle(&bytes, SystemTime::now())).await
    };
    let Ok(response) = handled else {
        return Ok(plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the request could not be handled\n",
        ));
    };
    if let Outcome::Refused(e) = &response.outcome {
        eprintln!("cmpv2 serve: refused a request: {e}");
        if e.is_authentication_failure() {
            failures.record(address, &options, std::time::Instant::now());
        }
    }
    if response.bytes.is_empty() {
        return Ok(plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the response could not be encoded\n",
        ));
    }
    let mut reply = hyper::Response::new(Full::new(Bytes::from(response.bytes)));
    reply
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE_PKIXCMP));
    Ok(reply)
}

/// Serves `responder` on `listener` until `shutdown` completes; then stops accepting and
/// lets connections in progress finish their current request.
///
/// ```no_run
/// use std::sync::Arc;
/// use cmp_server::http::{HttpOptions, bind, serve, shutdown_signal};
/// use cmp_server::{Responder, TestCa, TestCaConfig};
///
/// # #[tokio::main(flavor = "multi_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let ca = TestCa::new(TestCaConfig::default())?;
/// let responder = Arc::new(Responder::new(ca.responder_config(), ca));
/// let (listener, addr) = bind(([127, 0, 0, 1], 8080).into()).await?;
/// println!("listening on http://{addr}/");
/// serve(listener, responder, HttpOptions::default(), shutdown_signal()).await?;
/// # Ok(()) }
/// ```
///
/// Expired transactions are swept once a second, so unconfirmed certificates are
/// revoked on time even when no request arrives.
pub async fn serve<C: CertificateAuthority + 'static>(
    listener: TcpListener,
    responder: Arc<Responder<C>>,
    options: HttpOptions,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let options = Arc::new(options);
    let permits = Arc::new(Semaphore::new(options.max_connections));
    let handling = Arc::new(Semaphore::new(options.max_handling.max(1)));
    let per_address = Arc::new(PerAddress::default());
    let failures = Arc::new(Failures::default());
    let sweeper = {
        let responder = Arc::clone(&responder);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            loop {
                tick.tick().await;
                responder.sweep(SystemTime::now());
            }
        })
    };
    tokio::pin!(shutdown);
    let result = loop {
        let permit = tokio::select! {
            () = &mut shutdown => break Ok(()),
            permit = Arc::clone(&permits).acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break Ok(()),
            },
        };
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break Ok(()),
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // Out of file descriptors and the like: wait and go on rather than die.
                Err(e) if is_transient(&e) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
                Err(e) => break Err(e),
            },
        };
        // One host does not get every slot: over its share, the connection is closed.
        let Some(address_slot) = per_address.take(peer.ip(), options.max_connections_per_address)
        else {
            drop(stream);
            continue;
        };
        // Each response is written at once: no Nagle delay on kept-alive connections.
        let _ = stream.set_nodelay(true);
        let responder = Arc::clone(&responder);
        let options = Arc::clone(&options);
        let handling = Arc::clone(&handling);
        let failures = Arc::clone(&failures);
        let header_timeout = options.header_timeout;
        tokio::spawn(async move {
            let _address_slot = address_slot;
            let service = service_fn(move |request| {
                serve_request(
                    request,
                    Arc::clone(&responder),
                    Arc::clone(&options),
                    Arc::clone(&handling),
                    (peer.ip(), Arc::clone(&failures)),
                )
            });
            let _ = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            drop(permit);
        });
    };
    sweeper.abort();
    result
}

/// Authentication failures per peer address in the current window. At most
/// [`MAX_TRACKED_ADDRESSES`] are tracked: beyond that the table starts afresh rather than
/// grow (an attacker with that many addresses is not held back by it anyway).
#[derive(Debug, Default)]
struct Failures(std::sync::Mutex<std::collections::HashMap<IpAddr, (std::time::Instant, u32)>>);

const MAX_TRACKED_ADDRESSES: usize = 65_536;

impl Failures {
    fn record(&self, address: IpAddr, options: &HttpOptions, now: std::time::Instant) {
        let mut table = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if table.len() >= MAX_TRACKED_ADDRESSES {
            table.clear();
        }
        let entry = table.entry(address).or_insert((now, 0));
        if now.duration_since(entry.0) >= options.failure_window {
            *entry = (now, 0);
        }
        entry.1 = entry.1.saturating_add(1);
    }

    /// How long `address` must wait, when it has used up its failures in this window.
    fn blocked(
        &self,
        address: IpAddr,
        options: &HttpOptions,
        now: std::time::Instant,
    ) -> Option<Duration> {
        let table = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let (start, count) = *table.get(&address)?;
        let ends = start + options.failure_window;
        (count >= options.max_failures_per_address && now < ends).then(|| ends - now)
    }
}

/// Connections open per peer address.
#[derive(Debug, Default)]
struct PerAddress(std::sync::Mutex<std::collections::HashMap<IpAddr, usize>>);

/// One connection's place in [`PerAddress`], given back on drop.
struct AddressSlot {
    table: Arc<PerAddress>,
    address: IpAddr,
}

impl PerAddress {
    /// A slot for `address`, unless it already holds `limit`.
    fn take(self: &Arc<Self>, address: IpAddr, limit: usize) -> Option<AddressSlot> {
        let mut open = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(address).or_insert(0);
        if *count >= limit {
            return None;
        }
        *count += 1;
        Some(AddressSlot {
            table: Arc::clone(self),
            address,
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut open = self.table.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.address);
            }
        }
    }
}

fn is_transient(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionAborted | ConnectionReset | Interrupted | WouldBlock
    ) || e
        .raw_os_error()
        .is_some_and(|code| code == 23 || code == 24)
}

/// Binds `addr` and returns the listener and the address actually bound (port 0 picks
/// a free port).
pub async fn bind(addr: SocketAddr) -> std::io::Result<(TcpListener, SocketAddr)> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// Completes on SIGINT (Ctrl-C) or, on Unix, SIGTERM: the shutdown future for [`serve`].
pub async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    {
        let terminate = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut signal) => {
                    signal.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            () = interrupt => {}
            () = terminate => {}
        }
    }
    #[cfg(not(unix))]
    interrupt.await;
}
