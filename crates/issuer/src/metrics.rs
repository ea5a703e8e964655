//! Prometheus metrics, in the text exposition format, with fixed label values only (no
//! request names, namespaces or CA text in labels, so cardinality is bounded):
//!
//! - `cmpv2_issuer_certificate_requests_total{outcome}`: reconcile outcomes, `outcome`
//!   one of [`Outcome`].
//! - `cmpv2_issuer_issuance_duration_seconds`: histogram, from the request's creation to
//!   its certificate.
//! - `cmpv2_issuer_ca_round_trips_total{result}`: CMP attempts against a CA, `result`
//!   `ok` or `error`.
//! - `cmpv2_issuer_issuers_ready{kind}`: issuers whose last probe found the CA.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// What became of a CertificateRequest in one reconcile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Certificate written.
    Issued,
    /// Pending: the CA said "waiting".
    Waiting,
    /// Pending: a retryable error.
    Retry,
    /// Pending: the issuer is missing or not Ready.
    IssuerNotReady,
    /// Failed for good.
    Failed,
    /// Denied by an approver.
    Denied,
}

impl Outcome {
    const ALL: [Self; 6] = [
        Self::Issued,
        Self::Waiting,
        Self::Retry,
        Self::IssuerNotReady,
        Self::Failed,
        Self::Denied,
    ];

    fn label(self) -> &'static str {
        match self {
            Self::Issued => "issued",
            Self::Waiting => "waiting",
            Self::Retry => "retry",
            Self::IssuerNotReady => "issuer_not_ready",
            Self::Failed => "failed",
            Self::Denied => "denied",
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|o| *o == self).unwrap_or(0)
    }
}

/// Histogram bucket bounds for issuance latency, in seconds.
const BUCKETS: [f64; 10] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0, 300.0];

/// The issuer's metrics.
#[derive(Default)]
pub struct Metrics {
    outcomes: [AtomicU64; 6],
    round_trips_ok: AtomicU64,
    round_trips_error: AtomicU64,
    /// Per bucket counts (cumulative on output), then +Inf.
    latency_buckets: [AtomicU64; BUCKETS.len() + 1],
    /// Sum of observed latencies in microseconds.
    latency_sum_us: AtomicU64,
    /// Kind and readiness per issuer UID, so a gauge per kind can be summed.
    ready: Mutex<HashMap<String, (&'static str, bool)>>,
}

impl Metrics {
    /// Counts one reconcile outcome.
    pub fn outcome(&self, outcome: Outcome) {
        self.outcomes[outcome.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one CMP attempt against a CA.
    pub fn round_trip(&self, ok: bool) {
        let counter = if ok {
            &self.round_trips_ok
        } else {
            &self.round_trips_error
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Observes one issuance's latency.
    pub fn issued_after(&self, latency: Duration) {
        let seconds = latency.as_secs_f64();
        let bucket = BUCKETS
            .iter()
            .position(|b| seconds <= *b)
            .unwrap_or(BUCKETS.len());
        self.latency_buckets[bucket].fetch_add(1, Ordering::Relaxed);
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.latency_sum_us.fetch_add(us, Ordering::Relaxed);
    }

    /// Records whether the issuer with `uid` is Ready.
    pub fn issuer_ready(&self, kind: &'static str, uid: String, ready: bool) {
        self.ready
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(uid, (kind, ready));
    }

    /// Keeps the issuers for whose UID `keep` says yes and forgets the rest (deleted issuers).
    pub fn retain_issuers(&self, mut keep: impl FnMut(&str) -> bool) {
        self.ready
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|uid, _| keep(uid));
    }

    /// The text exposition (Prometheus format 0.0.4).
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# HELP cmpv2_issuer_certificate_requests_total CertificateRequest reconcile outcomes."
        );
        let _ = writeln!(
            out,
            "# TYPE cmpv2_issuer_certificate_requests_total counter"
        );
        for outcome in Outcome::ALL {
            let _ = writeln!(
                out,
                "cmpv2_issuer_certificate_requests_total{{outcome=\"{}\"}} {}",
                outcome.label(),
                self.outcomes[outcome.index()].load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP cmpv2_issuer_ca_round_trips_total CMP attempts against CAs."
        );
        let _ = writeln!(out, "# TYPE cmpv2_issuer_ca_round_trips_total counter");
        let _ = writeln!(
            out,
            "cmpv2_issuer_ca_round_trips_total{{result=\"ok\"}} {}",
            self.round_trips_ok.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "cmpv2_issuer_ca_round_trips_total{{result=\"error\"}} {}",
            self.round_trips_error.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP cmpv2_issuer_issuance_duration_seconds Time from a CertificateRequest's creation to its certificate."
        );
        let _ = writeln!(
            out,
            "# TYPE cmpv2_issuer_issuance_duration_seconds histogram"
        );
        let mut cumulative = 0;
        for (i, bound) in BUCKETS.iter().enumerate() {
            cumulative += self.latency_buckets[i].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "cmpv2_issuer_issuance_duration_seconds_bucket{{le=\"{bound}\"}} {cumulative}"
            );
        }
        cumulative += self.latency_buckets[BUCKETS.len()].load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "cmpv2_issuer_issuance_duration_seconds_bucket{{le=\"+Inf\"}} {cumulative}"
        );
        let sum = self.latency_sum_us.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "cmpv2_issuer_issuance_duration_seconds_sum {sum}");
        let _ = writeln!(
            out,
            "cmpv2_issuer_issuance_duration_seconds_count {cumulative}"
        );
        let _ = writeln!(
            out,
            "# HELP cmpv2_issuer_issuers_ready Issuers whose last probe found the CA."
        );
        let _ = writeln!(out, "# TYPE cmpv2_issuer_issuers_ready gauge");
        let map = self.ready.lock().unwrap_or_else(|e| e.into_inner());
        for kind in ["CMPv2Issuer", "CMPv2ClusterIssuer"] {
            let n = map.values().filter(|(k, r)| *k == kind && *r).count();
            let _ = writeln!(out, "cmpv2_issuer_issuers_ready{{kind=\"{kind}\"}} {n}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn value(text: &str, series: &str) -> String {
        text.lines()
            .find_map(|l| {
                l.strip_prefix(series)
                    .and_then(|rest| rest.strip_prefix(' '))
            })
            .unwrap_or_else(|| panic!("{series} missing in\n{text}"))
            .to_owned()
    }

    #[test]
    fn counters_histogram_and_gauges_render() {
        let m = Metrics::default();
        m.outcome(Outcome::Issued);
        m.outcome(Outcome::Issued);
        m.outcome(Outcome::Retry);
        m.round_trip(true);
        m.round_trip(false);
        m.issued_after(Duration::from_millis(80));
        m.issued_after(Duration::from_secs(400));
        m.issuer_ready("CMPv2Issuer", "uid-x".into(), true);
        m.issuer_ready("CMPv2Issuer", "uid-y".into(), false);
        m.issuer_ready("CMPv2Issuer", "uid-deleted".into(), true);
        m.issuer_ready("CMPv2ClusterIssuer", "uid-z".into(), true);
        let live = HashSet::from(["uid-x".to_owned(), "uid-y".to_owned()]);
        m.retain_issuers(|uid| live.contains(uid));
        let text = m.render();
        assert_eq!(
            value(
                &text,
                "cmpv2_issuer_certificate_requests_total{outcome=\"issued\"}"
            ),
            "2"
        );
        assert_eq!(
            value(
                &text,
                "cmpv2_issuer_certificate_requests_total{outcome=\"retry\"}"
            ),
            "1"
        );
        assert_eq!(
            value(
                &text,
                "cmpv2_issuer_certificate_requests_total{outcome=\"failed\"}"
            ),
            "0"
        );
        assert_eq!(
            value(&text, "cmpv2_issuer_ca_round_trips_total{result=\"error\"}"),
            "1"
        );
        assert_eq!(
            value(
                &text,
                "cmpv2_issuer_issuance_duration_seconds_bucket{le=\"0.05\"}"
            ),
            "0"
        );
        assert_eq!(
            value(
                &text,
                "cmpv2_issuer_issuance_duration_seconds_bucket{le=\"0.1\"}"
            ),
            "1"
        );
        assert_eq!(
            value(
                &text,
                "cmpv2_issuer_issuance_duration_seconds_bucket{le=\"300\"}"
            ),
            "1"
        );
        assert_eq!(
            value(
                &text,
                "cmpv2_issuer_issuance_duration_seconds_bucket{le=\"+Inf\"}"
            ),
            "2"
        );
        assert_eq!(
            value(&text, "cmpv2_issuer_issuance_duration_seconds_count"),
            "2"
        );
        assert_eq!(
            value(&text, "cmpv2_issuer_issuers_ready{kind=\"CMPv2Issuer\"}"),
            "1"
        );
        assert_eq!(
            value(
                &text,
                "cmpv2_issuer_issuers_ready{kind=\"CMPv2ClusterIssuer\"}"
            ),
            "0"
        );
    }
}
