//! Name resolution for [`HttpTransport`](super::HttpTransport) without a thread per
//! request.
//!
//! ureq resolves the host before it looks in its connection pool, and with a timeout
//! set it does so on a freshly spawned thread: one thread per CMP message, even on a
//! kept-alive connection to an IP address. Under load that was a tenth of the client's
//! CPU (docs/benchmarks.md). This resolver answers IP literals at once and keeps a
//! resolved name for [`CACHE_FOR`]; anything else goes to ureq's own resolver.

use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, ResolvedSocketAddrs, Resolver};
use ureq::unversioned::transport::NextTimeout;

/// How long a resolved name is reused: short enough to follow a CA that moves, long
/// enough that a transaction's messages resolve once.
pub const CACHE_FOR: Duration = Duration::from_secs(30);

/// See the [module documentation](self).
#[derive(Debug, Default)]
pub struct QuickResolver {
    inner: DefaultResolver,
    cached: Mutex<Option<(String, Instant, ResolvedSocketAddrs)>>,
}

fn port_of(uri: &Uri) -> Option<u16> {
    uri.port_u16().or_else(|| match uri.scheme_str() {
        Some("https") => Some(443),
        Some("http") => Some(80),
        _ => None,
    })
}

impl QuickResolver {
    fn cache(&self) -> std::sync::MutexGuard<'_, Option<(String, Instant, ResolvedSocketAddrs)>> {
        self.cached
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Resolver for QuickResolver {
    fn resolve(
        &self,
        uri: &Uri,
        config: &Config,
        timeout: NextTimeout,
    ) -> Result<ResolvedSocketAddrs, ureq::Error> {
        let host = uri.host().unwrap_or_default();
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        if let (Ok(ip), Some(port)) = (literal.parse::<IpAddr>(), port_of(uri)) {
            let mut addrs = self.empty();
            addrs.push(SocketAddr::new(ip, port));
            return Ok(addrs);
        }
        let key = format!("{host}:{}", port_of(uri).unwrap_or(0));
        {
            let cached = self.cache();
            if let Some((name, at, addrs)) = cached.as_ref()
                && *name == key
                && at.elapsed() < CACHE_FOR
            {
                return Ok(addrs.clone());
            }
        }
        let addrs = self.inner.resolve(uri, config, timeout)?;
        *self.cache() = Some((key, Instant::now(), addrs.clone()));
        Ok(addrs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(url: &str) -> Result<Vec<SocketAddr>, ureq::Error> {
        let uri: Uri = url.parse().expect("uri");
        let timeout = NextTimeout {
            after: ureq::unversioned::transport::time::Duration::from_secs(5),
            reason: ureq::Timeout::Resolve,
            ..NextTimeout::default()
        };
        QuickResolver::default()
            .resolve(&uri, &Config::default(), timeout)
            .map(|a| a.to_vec())
    }

    #[test]
    fn ip_literals_need_no_lookup() {
        assert_eq!(
            resolve("http://127.0.0.1:8080/pkix/").expect("v4"),
            vec![SocketAddr::from(([127, 0, 0, 1], 8080))]
        );
        assert_eq!(
            resolve("https://[::1]/").expect("v6"),
            vec!["[::1]:443".parse::<SocketAddr>().expect("addr")]
        );
    }

    #[test]
    fn names_are_resolved_and_kept() {
        let resolver = QuickResolver::default();
        let uri: Uri = "http://localhost:9/".parse().expect("uri");
        let timeout = NextTimeout {
            after: ureq::unversioned::transport::time::Duration::from_secs(5),
            reason: ureq::Timeout::Resolve,
            ..NextTimeout::default()
        };
        let first = resolver
            .resolve(&uri, &Config::default(), timeout)
            .expect("localhost resolves");
        assert!(first.iter().all(|a| a.ip().is_loopback() && a.port() == 9));
        assert!(
            resolver
                .cache()
                .as_ref()
                .is_some_and(|(k, _, _)| k == "localhost:9")
        );
    }
}
