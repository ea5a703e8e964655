//! `/healthz`, `/readyz` and `/metrics` over plain HTTP on one port, for the kubelet's
//! probes and Prometheus. Only GET is answered; bodies are small and fixed, so nothing a
//! client sends is buffered beyond the request head.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::metrics::Metrics;

/// What the probes report.
#[derive(Default)]
pub struct Probes {
    /// Set once the API client works and the controllers (or the wait for the Lease)
    /// have started.
    pub ready: AtomicBool,
    /// The counters.
    pub metrics: Arc<Metrics>,
}

/// The answer to one request.
pub fn answer(probes: &Probes, method: &Method, path: &str) -> (StatusCode, &'static str, String) {
    const TEXT: &str = "text/plain; charset=utf-8";
    if method != Method::GET {
        return (StatusCode::METHOD_NOT_ALLOWED, TEXT, "GET only\n".into());
    }
    match path {
        "/healthz" => (StatusCode::OK, TEXT, "ok\n".into()),
        "/readyz" if probes.ready.load(Ordering::Relaxed) => (StatusCode::OK, TEXT, "ok\n".into()),
        "/readyz" => (StatusCode::SERVICE_UNAVAILABLE, TEXT, "starting\n".into()),
        "/metrics" => (
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            probes.metrics.render(),
        ),
        _ => (StatusCode::NOT_FOUND, TEXT, "not found\n".into()),
    }
}

/// Serves the probes on `addr` until the process ends.
pub async fn serve(listener: TcpListener, probes: Arc<Probes>) -> std::io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        let probes = Arc::clone(&probes);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let (status, content_type, body) =
                    answer(&probes, request.method(), request.uri().path());
                let response = Response::builder()
                    .status(status)
                    .header("content-type", content_type)
                    .body(Full::new(Bytes::from(body)));
                async move { Ok::<_, Infallible>(response.unwrap_or_default()) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(hyper_util::rt::TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), service);
            let _ = tokio::time::timeout(Duration::from_secs(60), connection).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_follows_the_flag_and_metrics_render() {
        let probes = Probes::default();
        assert_eq!(answer(&probes, &Method::GET, "/healthz").0, StatusCode::OK);
        assert_eq!(
            answer(&probes, &Method::GET, "/readyz").0,
            StatusCode::SERVICE_UNAVAILABLE
        );
        probes.ready.store(true, Ordering::Relaxed);
        assert_eq!(answer(&probes, &Method::GET, "/readyz").0, StatusCode::OK);
        let (status, content_type, body) = answer(&probes, &Method::GET, "/metrics");
        assert_eq!(status, StatusCode::OK);
        assert!(content_type.starts_with("text/plain; version=0.0.4"));
        assert!(
            body.contains("cmpv2_issuer_certificate_requests_total"),
            "{body}"
        );
        assert_eq!(
            answer(&probes, &Method::POST, "/metrics").0,
            StatusCode::METHOD_NOT_ALLOWED
        );
        assert_eq!(
            answer(&probes, &Method::GET, "/secrets").0,
            StatusCode::NOT_FOUND
        );
    }
}
