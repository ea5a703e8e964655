//! Leader election on a `coordination.k8s.io/v1` Lease, so that several replicas never
//! work on the same CertificateRequest at once. Only the holder runs the controllers;
//! every write names the resourceVersion it read, so two candidates cannot both take
//! the Lease. A holder that cannot renew before the Lease expires stops (the process
//! exits and is restarted), and the journal on each request lets the next holder
//! resume what was in flight.

use std::time::{Duration, SystemTime};

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
    /// How often the holder renews. Default 5 s.
    pub renew_every: Duration,
}

impl LeaseSettings {
    /// Defaults for `identity` in `namespace`.
    pub fn new(namespace: String, identity: String) -> Self {
        Self {
            name: "cmpv2-issuer-leader".to_owned(),
            namespace,
            identity,
            duration: Duration::from_secs(15),
            renew_every: Duration::from_secs(5),
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

/// Decides what to do with `lease`, read at `now`.
pub fn step(lease: Option<&Lease>, identity: &str, now: SystemTime) -> Step {
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
    let renewed = spec
        .and_then(|s| s.renew_time.as_ref())
        .map(|t| SystemTime::from(t.0));
    let duration = spec
        .and_then(|s| s.lease_duration_seconds)
        .and_then(|d| u64::try_from(d).ok())
        .map(Duration::from_secs);
    let expired = match (renewed, duration) {
        (Some(renewed), Some(duration)) => renewed + duration < now,
        // A Lease without times is free to take.
        _ => true,
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

/// Tries once to hold the Lease; `Ok(true)` when we hold it now.
pub async fn try_hold(api: &Api<Lease>, settings: &LeaseSettings) -> Result<bool, kube::Error> {
    let now = SystemTime::now();
    let current = api.get_opt(&settings.name).await?;
    let result = match step(current.as_ref(), &settings.identity, now) {
        Step::Wait => return Ok(false),
        Step::Create => {
            api.create(&PostParams::default(), &held(settings, None, true, now))
                .await
        }
        Step::Take { transition, .. } => {
            api.replace(
                &settings.name,
                &PostParams::default(),
                &held(settings, current.as_ref(), transition, now),
            )
            .await
        }
    };
    match result {
        Ok(_) => Ok(true),
        // Another candidate wrote first: not ours this round.
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
        Err(e) => Err(e),
    }
}

/// Waits until this replica holds the Lease.
pub async fn acquire(client: &Client, settings: &LeaseSettings) {
    let api: Api<Lease> = Api::namespaced(client.clone(), &settings.namespace);
    loop {
        match try_hold(&api, settings).await {
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

/// Renews the Lease until it is lost: returns when another replica took it, or when it
/// could not be renewed for longer than its duration.
pub async fn keep(client: &Client, settings: &LeaseSettings) {
    let api: Api<Lease> = Api::namespaced(client.clone(), &settings.namespace);
    let mut last_renewal = SystemTime::now();
    loop {
        tokio::time::sleep(settings.renew_every).await;
        match try_hold(&api, settings).await {
            Ok(true) => last_renewal = SystemTime::now(),
            Ok(false) => return,
            Err(e) => {
                crate::logs::log(
                    crate::logs::Level::Warn,
                    "leader election: renewal failed",
                    &[("error", &e.to_string())],
                );
                let since = SystemTime::now()
                    .duration_since(last_renewal)
                    .unwrap_or_default();
                if since >= settings.duration {
                    return;
                }
            }
        }
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
        assert_eq!(step(None, "me", SystemTime::now()), Step::Create);
    }

    #[test]
    fn our_lease_is_renewed_without_a_transition() {
        let now = SystemTime::now();
        assert_eq!(
            step(Some(&lease("me", now, 15)), "me", now),
            Step::Take {
                resource_version: "7".into(),
                transition: false
            }
        );
    }

    #[test]
    fn a_valid_lease_of_another_replica_is_waited_for() {
        let now = SystemTime::now();
        let renewed = now - Duration::from_secs(5);
        assert_eq!(
            step(Some(&lease("other", renewed, 15)), "me", now),
            Step::Wait
        );
    }

    #[test]
    fn an_expired_lease_is_taken_over() {
        let now = SystemTime::now();
        let renewed = now - Duration::from_secs(16);
        assert_eq!(
            step(Some(&lease("other", renewed, 15)), "me", now),
            Step::Take {
                resource_version: "7".into(),
                transition: true
            }
        );
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
