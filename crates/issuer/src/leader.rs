//! Leader election on a `coordination.k8s.io/v1` Lease, so that several replicas never
//! work on the same CertificateRequest at once. Only the holder runs the controllers;
//! every write names the resourceVersion it read, so two candidates cannot both take
//! the Lease.
//!
//! Timing follows client-go's leaderelection, so that clocks need not agree: a candidate
//! takes over only when it has seen the same Lease record, unchanged, for longer than the
//! Lease's duration on its own monotonic clock; the holder stops when it has not renewed
//! within the renew deadline, counted from the moment it sent its last successful
//! renewal, which is shorter than the duration. The process then exits and is restarted,
//! and the journal on each request lets the next holder resume what was in flight. On a
//! clean shutdown the holder releases the Lease, so a standby takes over at once.

use std::time::{Duration, Instant, SystemTime};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use k8s_openapi::jiff::Timestamp;
use kube::api::{ObjectMeta, PostParams};
use kube::{Api, Client};

/// Lease settings.
#[derive(Clone, Debug)]
pub struct LeaseSettings {
    /// The Lease's name.
    pub name: String,
    /// Its namespace (the issuer's own).
    pub namespace: String,
    /// This replica's identity (its Pod name).
    pub identity: String,
    /// How long a Lease stays valid without renewal. Default 15 s.
    pub duration: Duration,
    /// How often the holder renews, and candidates retry. Default 2 s.
    pub renew_every: Duration,
    /// The holder stops when it has not renewed for this long; also the bound on one
    /// API call. Shorter than `duration`. Default 10 s.
    pub renew_deadline: Duration,
}

impl LeaseSettings {
    /// Defaults for `identity` in `namespace`.
    pub fn new(namespace: String, identity: String) -> Self {
        Self {
            name: "cmpv2-issuer-leader".to_owned(),
            namespace,
            identity,
            duration: Duration::from_secs(15),
            renew_every: Duration::from_secs(2),
            renew_deadline: Duration::from_secs(10),
        }
    }
}

/// What to do about the Lease as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// No Lease: create it, held by us.
    Create,
    /// Ours (renew) or expired (take over): replace it, naming this resourceVersion.
    Take {
        /// The resourceVersion read.
        resource_version: String,
        /// Whether the holder changes (leaseTransitions + 1).
        transition: bool,
    },
    /// Someone else holds it and it is valid: wait.
    Wait,
}

/// How long this candidate has seen the same Lease record (its resourceVersion), on its
/// own monotonic clock: the Lease's renewTime comes from the holder's clock, which may
/// be ahead of or behind ours.
#[derive(Debug, Default)]
pub struct Observed {
    record: Option<(String, Instant)>,
}

impl Observed {
    /// Notes `lease` as read at `now`; returns how long its record has not changed.
    pub fn unchanged_for(&mut self, lease: Option<&Lease>, now: Instant) -> Duration {
        let version = lease
            .and_then(|l| l.metadata.resource_version.clone())
            .unwrap_or_default();
        match &self.record {
            Some((seen, since)) if *seen == version => now.saturating_duration_since(*since),
            _ => {
                self.record = Some((version, now));
                Duration::ZERO
            }
        }
    }
}

/// Decides what to do with `lease`, whose record this candidate has seen unchanged for
/// `unchanged_for`.
pub fn step(lease: Option<&Lease>, identity: &str, unchanged_for: Duration) -> Step {
    let Some(lease) = lease else {
        return Step::Create;
    };
    let spec = lease.spec.as_ref();
    let holder = spec
        .and_then(|s| s.holder_identity.as_deref())
        .unwrap_or("");
    let resource_version = lease.metadata.resource_version.clone().unwrap_or_default();
    if holder == identity {
        return Step::Take {
            resource_version,
            transition: false,
        };
    }
    let duration = spec
        .and_then(|s| s.lease_duration_seconds)
        .and_then(|d| u64::try_from(d).ok())
        .map(Duration::from_secs);
    let expired = match duration {
        Some(duration) => unchanged_for > duration,
        // A Lease without a duration is free to take.
        None => true,
    };
    if holder.is_empty() || expired {
        Step::Take {
            resource_version,
            transition: true,
        }
    } else {
        Step::Wait
    }
}

fn micro_time(t: SystemTime) -> Option<MicroTime> {
    Timestamp::try_from(t).ok().map(MicroTime)
}

fn held(
    settings: &LeaseSettings,
    previous: Option<&Lease>,
    transition: bool,
    now: SystemTime,
) -> Lease {
    let previous_spec = previous.and_then(|l| l.spec.clone()).unwrap_or_default();
    let transitions = previous_spec.lease_transitions.unwrap_or(0);
    Lease {
        metadata: ObjectMeta {
            name: Some(settings.name.clone()),
            namespace: Some(settings.namespace.clone()),
            resource_version: previous.and_then(|l| l.metadata.resource_version.clone()),
            ..ObjectMeta::default()
        },
        spec: Some(LeaseSpec {
            holder_identity: Some(settings.identity.clone()),
            lease_duration_seconds: i32::try_from(settings.duration.as_secs()).ok(),
            acquire_time: if transition || previous.is_none() {
                micro_time(now)
            } else {
                previous_spec.acquire_time
            },
            renew_time: micro_time(now),
            lease_transitions: Some(if transition {
                transitions.saturating_add(1)
            } else {
                transitions
            }),
            ..LeaseSpec::default()
        }),
    }
}

/// Why one try at the Lease failed.
#[derive(Debug)]
pub enum LeaseError {
    /// The API server refused or failed the call.
    Kube(kube::Error),
    /// The API server did not answer within the renew deadline.
    Timeout,
}

impl std::fmt::Display for LeaseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Kube(e) => write!(f, "{e}"),
            Self::Timeout => f.write_str("the API server did not answer in time"),
        }
    }
}

impl std::error::Error for LeaseError {}

/// Tries once to hold the Lease; `Ok(true)` when we hold it now. Each API call is bounded
/// by the renew deadline.
pub async fn try_hold(
    api: &Api<Lease>,
    settings: &LeaseSettings,
    observed: &mut Observed,
) -> Result<bool, LeaseError> {
    let deadline = settings.renew_deadline;
    let current = bounded(deadline, api.get_opt(&settings.name)).await?;
    let unchanged_for = observed.unchanged_for(current.as_ref(), Instant::now());
    let now = SystemTime::now();
    let lease = match step(current.as_ref(), &settings.identity, unchanged_for) {
        Step::Wait => return Ok(false),
        Step::Create => held(settings, None, true, now),
        Step::Take { transition, .. } => held(settings, current.as_ref(), transition, now),
    };
    let write = async {
        if current.is_none() {
            api.create(&PostParams::default(), &lease).await
        } else {
            api.replace(&settings.name, &PostParams::default(), &lease)
                .await
        }
    };
    match bounded(deadline, write).await {
        Ok(_) => Ok(true),
        // Another candidate wrote first: not ours this round.
        Err(LeaseError::Kube(kube::Error::Api(status))) if status.code == 409 => Ok(false),
        Err(e) => Err(e),
    }
}

/// `call`, failed with [`LeaseError::Timeout`] when it takes longer than `deadline`.
async fn bounded<T>(
    deadline: Duration,
    call: impl Future<Output = Result<T, kube::Error>>,
) -> Result<T, LeaseError> {
    tokio::time::timeout(deadline, call)
        .await
        .map_err(|_| LeaseError::Timeout)?
        .map_err(LeaseError::Kube)
}

/// Waits until this replica holds the Lease.
pub async fn acquire(client: &Client, settings: &LeaseSettings) {
    let api: Api<Lease> = Api::namespaced(client.clone(), &settings.namespace);
    let mut observed = Observed::default();
    loop {
        match try_hold(&api, settings, &mut observed).await {
            Ok(true) => return,
            Ok(false) => {}
            Err(e) => crate::logs::log(
                crate::logs::Level::Warn,
                "leader election: cannot read or write the Lease",
                &[("error", &e.to_string())],
            ),
        }
        tokio::time::sleep(settings.renew_every).await;
    }
}

/// Renews the Lease until it is lost: returns when another replica took it, or when no
/// renewal has succeeded within the renew deadline, counted from when the last
/// successful one was sent (its renewTime).
pub async fn keep(client: &Client, settings: &LeaseSettings) {
    let api: Api<Lease> = Api::namespaced(client.clone(), &settings.namespace);
    let mut observed = Observed::default();
    let mut last_renewal = Instant::now();
    loop {
        tokio::time::sleep(settings.renew_every).await;
        let sent = Instant::now();
        let remaining = settings
            .renew_deadline
            .saturating_sub(sent.saturating_duration_since(last_renewal));
        let attempt = tokio::time::timeout(remaining, try_hold(&api, settings, &mut observed));
        match attempt.await {
            Ok(Ok(true)) => last_renewal = sent,
            Ok(Ok(false)) => return,
            Ok(Err(e)) => crate::logs::log(
                crate::logs::Level::Warn,
                "leader election: renewal failed",
                &[("error", &e.to_string())],
            ),
            Err(_) => {}
        }
        if last_renewal.elapsed() >= settings.renew_deadline {
            return;
        }
    }
}

/// Gives the Lease up on a clean shutdown, if we still hold it: a Lease without a
/// holder is taken by the next candidate at once. Best effort.
pub async fn release(client: &Client, settings: &LeaseSettings) {
    let api: Api<Lease> = Api::namespaced(client.clone(), &settings.namespace);
    let release = async {
        let Some(mut lease) = api.get_opt(&settings.name).await? else {
            return Ok(());
        };
        let Some(spec) = lease.spec.as_mut() else {
            return Ok(());
        };
        if spec.holder_identity.as_deref() != Some(settings.identity.as_str()) {
            return Ok(());
        }
        spec.holder_identity = None;
        spec.renew_time = micro_time(SystemTime::now());
        api.replace(&settings.name, &PostParams::default(), &lease)
            .await
            .map(|_| ())
    };
    let result: Result<Result<(), kube::Error>, _> =
        tokio::time::timeout(settings.renew_deadline, release).await;
    if let Ok(Err(e)) = result {
        crate::logs::log(
            crate::logs::Level::Warn,
            "leader election: cannot release the Lease",
            &[("error", &e.to_string())],
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(holder: &str, renewed: SystemTime, seconds: i32) -> Lease {
        Lease {
            metadata: ObjectMeta {
                resource_version: Some("7".into()),
                ..ObjectMeta::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(holder.into()),
                renew_time: micro_time(renewed),
                lease_duration_seconds: Some(seconds),
                ..LeaseSpec::default()
            }),
        }
    }

    #[test]
    fn no_lease_is_created() {
        assert_eq!(step(None, "me", Duration::ZERO), Step::Create);
    }

    #[test]
    fn our_lease_is_renewed_without_a_transition() {
        let now = SystemTime::now();
        assert_eq!(
            step(Some(&lease("me", now, 15)), "me", Duration::ZERO),
            Step::Take {
                resource_version: "7".into(),
                transition: false
            }
        );
    }

    #[test]
    fn a_lease_of_another_replica_is_waited_for_until_unchanged_for_its_duration() {
        // Its renewTime is long past by our clock; only what we observed counts.
        let renewed = SystemTime::now() - Duration::from_secs(3600);
        let other = lease("other", renewed, 15);
        assert_eq!(
            step(Some(&other), "me", Duration::from_secs(15)),
            Step::Wait
        );
        assert_eq!(
            step(Some(&other), "me", Duration::from_secs(16)),
            Step::Take {
                resource_version: "7".into(),
                transition: true
            }
        );
    }

    #[test]
    fn a_released_lease_is_taken_at_once() {
        let mut released = lease("other", SystemTime::now(), 15);
        released.spec.as_mut().expect("spec").holder_identity = None;
        assert!(matches!(
            step(Some(&released), "me", Duration::ZERO),
            Step::Take {
                transition: true,
                ..
            }
        ));
    }

    #[test]
    fn observation_restarts_whenever_the_record_changes() {
        let mut observed = Observed::default();
        let start = Instant::now();
        let mut l = lease("other", SystemTime::now(), 15);
        assert_eq!(observed.unchanged_for(Some(&l), start), Duration::ZERO);
        let later = start + Duration::from_secs(20);
        assert_eq!(
            observed.unchanged_for(Some(&l), later),
            Duration::from_secs(20)
        );
        // The holder renewed: a new resourceVersion.
        l.metadata.resource_version = Some("8".into());
        assert_eq!(observed.unchanged_for(Some(&l), later), Duration::ZERO);
    }

    #[test]
    fn taking_over_counts_a_transition_and_keeps_the_version() {
        let now = SystemTime::now();
        let settings = LeaseSettings::new("ns".into(), "me".into());
        let mut previous = lease("other", now - Duration::from_secs(60), 15);
        previous.spec.as_mut().expect("spec").lease_transitions = Some(3);
        let next = held(&settings, Some(&previous), true, now);
        let spec = next.spec.expect("spec");
        assert_eq!(spec.holder_identity.as_deref(), Some("me"));
        assert_eq!(spec.lease_transitions, Some(4));
        assert_eq!(spec.lease_duration_seconds, Some(15));
        assert_eq!(next.metadata.resource_version.as_deref(), Some("7"));
    }
}
