//! Moving request bytes to the CA and response bytes back (RFC 6712 for HTTP).
//!
//! A transport knows nothing of CMP beyond "one request, one response": the
//! transaction core decides what to send and checks what comes back.
//!
//! Provided here:
//!
//! - [`HttpTransport`]: CMP over HTTP or HTTPS as RFC 6712 specifies it (one `POST` of a
//!   DER PKIMessage per exchange, `application/pkixcmp` both ways, HTTP 200), with
//!   persistent connections, timeouts, a response size limit, TLS trust and client
//!   authentication, and an HTTP proxy.
//! - [`RecordingTransport`] and [`ReplayTransport`]: record every request and response to
//!   files and answer from recorded files, like OpenSSL's `-reqout`/`-rspout` and
//!   `-rspin`.

use std::time::Duration;

mod file;
mod http;
mod resolver;
mod retry_after;

pub use file::{MessageFiles, RecordingTransport, ReplayTransport};
pub use http::{HttpTransport, HttpTransportBuilder};

/// Why a request could not be delivered or its response not read.
#[derive(Debug)]
#[non_exhaustive]
pub enum TransportError {
    /// The request never left: the host name did not resolve, or no connection could
    /// be made (refused, unreachable, timed out while connecting).
    Unreachable {
        /// Where it failed (URL).
        target: String,
        /// What the OS or the library reported.
        reason: String,
    },
    /// Sending or receiving failed, or connecting in a way that does not rule out that
    /// the peer got the request.
    Io {
        /// Where it failed (URL or file).
        target: String,
        /// What the OS or the library reported.
        reason: String,
    },
    /// The peer answered with an HTTP status other than 200.
    HttpStatus {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
        /// For 429 (Too Many Requests) and 503 (Service Unavailable): how long the server
        /// asked us to wait (its `Retry-After`, RFC 9110 §10.2.3), at most
        /// [`MAX_RETRY_AFTER`].
        retry_after: Option<Duration>,
    },
    /// The response is not `application/pkixcmp` (RFC 6712 §3.4).
    ContentType {
        /// What the peer sent.
        content_type: String,
    },
    /// The response exceeds the configured maximum size.
    TooLarge {
        /// The maximum in bytes.
        limit: usize,
    },
    /// TLS failed: the handshake (for example an untrusted, expired or misnamed server
    /// certificate, or a client certificate the server refused) or the protection of
    /// the connection afterwards.
    Tls {
        /// The URL.
        target: String,
        /// What the TLS library reported.
        reason: String,
        /// We refused the server's certificate, so the handshake never completed and the
        /// request was never sent.
        refused_server: bool,
    },
    /// The whole exchange took longer than allowed.
    Timeout {
        /// Where.
        target: String,
    },
    /// The transport is misconfigured (bad URL, unreadable certificate file, ...).
    Config {
        /// What is wrong.
        reason: String,
    },
}

impl core::fmt::Display for TransportError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Unreachable { target, reason } => {
                write!(f, "cannot connect to {target}: {reason}")
            }
            Self::Io { target, reason } => write!(f, "cannot reach {target}: {reason}"),
            Self::HttpStatus {
                url,
                status,
                retry_after,
            } => {
                write!(f, "{url} answered HTTP {status}")?;
                match retry_after {
                    Some(wait) => write!(f, " (busy: retry after {} s)", wait.as_secs()),
                    None => Ok(()),
                }
            }
            Self::ContentType { content_type } => {
                write!(
                    f,
                    "response content type is {content_type:?}, not application/pkixcmp"
                )
            }
            Self::TooLarge { limit } => write!(f, "response larger than {limit} bytes"),
            Self::Tls { target, reason, .. } => write!(f, "TLS with {target} failed: {reason}"),
            Self::Timeout { target } => write!(f, "{target} did not answer in time"),
            Self::Config { reason } => write!(f, "transport configuration: {reason}"),
        }
    }
}

impl std::error::Error for TransportError {}

/// The longest `Retry-After` taken from a server; a longer one is cut to this (a peer
/// must not park a client for days).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(3600);

impl TransportError {
    /// How long the server asked us to wait before trying again: HTTP 429 or 503 with
    /// `Retry-After` (Nokia NCM rate-limits this way, counting certConf and pollReq too).
    /// The request was not processed; sending the same bytes again later is safe.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::HttpStatus {
                status: 429 | 503,
                retry_after,
                ..
            } => *retry_after,
            _ => None,
        }
    }

    /// Whether the request certainly never reached the peer: the transport is
    /// misconfigured, the host could not be connected to, or we refused its TLS
    /// certificate. Then nothing can be pending at the CA for it; after any other error
    /// the CA may have got the request and acted on it.
    pub fn request_undelivered(&self) -> bool {
        matches!(
            self,
            Self::Unreachable { .. }
                | Self::Config { .. }
                | Self::Tls {
                    refused_server: true,
                    ..
                }
        )
    }
}

/// Sends one DER PKIMessage and returns the DER response.
///
/// Implement it to carry CMP over anything; [`crate::transport`] provides HTTP(S) and
/// file-based record/replay.
///
/// Anything that can carry a request to the CA and bring back its answer; the
/// transactions never see how. A transport that goes through a message queue, an RA or
/// a test double is a few lines:
///
/// ```
/// use cmp_client::transport::{Transport, TransportError};
///
/// /// Posts through some other channel and counts what it sent.
/// struct Counting<T> { inner: T, sent: usize }
///
/// impl<T: Transport> Transport for Counting<T> {
///     fn send(&mut self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
///         self.sent += 1;
///         self.inner.send(request)
///     }
/// }
/// ```
pub trait Transport {
    /// Sends `request` and returns the peer's response bytes.
    fn send(&mut self, request: &[u8]) -> Result<Vec<u8>, TransportError>;
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn send(&mut self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        (**self).send(request)
    }
}

impl<T: Transport + ?Sized> Transport for &mut T {
    fn send(&mut self, request: &[u8]) -> Result<Vec<u8>, TransportError> {
        (**self).send(request)
    }
}
