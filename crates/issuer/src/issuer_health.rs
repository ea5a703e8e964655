//! The issuer reconciler: reads an issuer's credentials, builds its CMP client, and
//! probes the CA with a general message (caCerts, RFC 9483 §4.3.1) on every change and
//! then every `healthCheckIntervalSeconds`, so the Ready condition tells the truth about
//! the CA and not only about the spec. Requests wait while it is not Ready for the
//! current generation.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::{Api, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::api::{CMPv2ClusterIssuer, CMPv2Issuer, HealthCheck, IssuerSpec, IssuerStatus};
use crate::ca::{self, Disposition};
use crate::controller::{Context, ReconcileError};
use crate::credentials;
use crate::status::{self, FIELD_MANAGER};
use crate::triage::{IssuerKind, condition};

/// Issuer Ready reasons (issuer-lib's).
pub mod reason {
    /// The CA answered the probe.
    pub const CHECKED: &str = "Checked";
    /// Credentials missing or the CA unreachable: checked again soon.
    pub const PENDING: &str = "Pending";
    /// The spec cannot work.
    pub const FAILED: &str = "Failed";
}

/// How soon a not-Ready issuer is checked again.
pub const RETRY: Duration = Duration::from_secs(30);

/// One of the two issuer kinds, for the shared reconciler.
pub trait IssuerObject:
    Resource<DynamicType = ()>
    + Clone
    + DeserializeOwned
    + Serialize
    + std::fmt::Debug
    + Send
    + Sync
    + 'static
{
    /// Which kind.
    const KIND: IssuerKind;
    /// The spec.
    fn issuer_spec(&self) -> &IssuerSpec;
    /// The status.
    fn issuer_status(&self) -> Option<&IssuerStatus>;
    /// The API for this object: namespaced or cluster-wide.
    fn api_for(&self, client: kube::Client) -> Api<Self>;
}

impl IssuerObject for CMPv2Issuer {
    const KIND: IssuerKind = IssuerKind::Namespaced;
    fn issuer_spec(&self) -> &IssuerSpec {
        &self.spec
    }
    fn issuer_status(&self) -> Option<&IssuerStatus> {
        self.status.as_ref()
    }
    fn api_for(&self, client: kube::Client) -> Api<Self> {
        Api::namespaced(client, &self.namespace().unwrap_or_default())
    }
}

impl IssuerObject for CMPv2ClusterIssuer {
    const KIND: IssuerKind = IssuerKind::Cluster;
    fn issuer_spec(&self) -> &IssuerSpec {
        &self.spec.issuer
    }
    fn issuer_status(&self) -> Option<&IssuerStatus> {
        self.status.as_ref()
    }
    fn api_for(&self, client: kube::Client) -> Api<Self> {
        Api::all(client)
    }
}

/// The result of one probe: Ready's status, reason and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    /// `True` or `False`.
    pub status: &'static str,
    /// A reason of [`reason`].
    pub reason: &'static str,
    /// For people.
    pub message: String,
}

impl Verdict {
    fn ready(message: impl Into<String>) -> Self {
        Self {
            status: condition::TRUE,
            reason: reason::CHECKED,
            message: message.into(),
        }
    }

    fn not_ready(reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            status: condition::FALSE,
            reason,
            message: message.into(),
        }
    }
}

/// Probes the CA an issuer names: its credentials, its configuration, then a caCerts
/// general message. A CA that answers with a verified genp, or with a verified error
/// message (it is there, and it knows us, but does not offer caCerts), is Ready.
pub async fn probe(ctx: &Context, secrets_namespace: &str, spec: &IssuerSpec) -> Verdict {
    let credentials = match credentials::read(&ctx.client, secrets_namespace, spec).await {
        Ok(c) => c,
        Err(e) => return Verdict::not_ready(reason::PENDING, format!("credentials: {e}")),
    };
    let client = match ca::ca_client(spec, &credentials) {
        Ok(c) => c,
        Err(e) => return Verdict::not_ready(reason::FAILED, format!("configuration: {e}")),
    };
    match spec.health_check {
        HealthCheck::GeneralMessage => verdict(
            client.ca_certs().await,
            spec.compatibility.accept_unprotected_errors,
        ),
        HealthCheck::None => {
            Verdict::ready("Credentials and configuration are usable (the CA is not probed)")
        }
    }
}

/// The verdict on a caCerts probe's result.
pub fn verdict(
    result: Result<Vec<x509_cert::Certificate>, cmp_client::Error>,
    unprotected_errors_accepted: bool,
) -> Verdict {
    match result {
        Ok(certs) => Verdict::ready(format!(
            "The CA answered a general message ({} CA certificate(s))",
            certs.len()
        )),
        // Verified only when unprotected errors are not accepted.
        Err(cmp_client::Error::ErrorMessage { content }) if !unprotected_errors_accepted => {
            Verdict::ready(format!(
                "The CA answered (it does not offer caCerts: {})",
                content.pki_status_info
            ))
        }
        // The CA is there, but an error that may have come unprotected proves nothing
        // about who answered: not Ready, and retried.
        Err(e @ cmp_client::Error::ErrorMessage { .. }) => Verdict::not_ready(
            reason::PENDING,
            format!(
                "CA: {e}; unprotected errors are accepted, so this answer is not proof of the \
                 CA (set healthCheck: None for a CA without general messages)"
            ),
        ),
        Err(e) => match ca::disposition(&e) {
            Disposition::Retry => Verdict::not_ready(reason::PENDING, format!("CA: {e}")),
            Disposition::Permanent => Verdict::not_ready(reason::FAILED, format!("CA: {e}")),
        },
    }
}

/// After a failed reconcile (the API server failed): try again soon.
pub fn error_policy<K>(_: Arc<K>, _: &ReconcileError, _: Arc<Context>) -> Action {
    Action::requeue(Duration::from_secs(10))
}

/// Reconciles one issuer: probe, write Ready, come back at the health interval (or
/// sooner when not Ready). A wake-up before the next probe is due for the same
/// generation (our own status write) changes nothing.
pub async fn reconcile<K: IssuerObject>(
    issuer: Arc<K>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let uid = issuer.uid().unwrap_or_default();
    let generation = issuer.meta().generation;
    if let Some(wait) = ctx.probe_not_due(&uid, generation, SystemTime::now()) {
        return Ok(Action::requeue(wait));
    }
    let secrets_namespace = match K::KIND {
        IssuerKind::Namespaced => issuer.namespace().unwrap_or_default(),
        IssuerKind::Cluster => ctx.settings.cluster_resource_namespace.clone(),
    };
    let spec = issuer.issuer_spec();
    let verdict = probe(&ctx, &secrets_namespace, spec).await;
    ctx.metrics.issuer_ready(
        K::KIND.name(),
        uid.clone(),
        verdict.status == condition::TRUE,
    );
    let ready = status::issuer_condition(
        issuer.issuer_status(),
        verdict.status,
        verdict.reason,
        &verdict.message,
        generation,
        SystemTime::now(),
    );
    let namespace = issuer.namespace();
    let body = status::issuer_apply_body(
        K::KIND.name(),
        &issuer.name_any(),
        namespace.as_deref(),
        &ready,
    );
    issuer
        .api_for(ctx.client.clone())
        .patch_status(
            &issuer.name_any(),
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(body),
        )
        .await?;
    let interval = spec.limits.health_check_interval_seconds;
    let next = if verdict.status != condition::TRUE {
        Some(RETRY)
    } else if interval == 0 {
        None
    } else {
        Some(Duration::from_secs(interval.into()))
    };
    // Without a periodic probe, the next is due only for a new generation (or after a
    // restart).
    let hold = next.unwrap_or(Duration::from_secs(u32::MAX.into()));
    ctx.probed(&uid, generation, SystemTime::now(), hold);
    Ok(next.map_or_else(Action::await_change, Action::requeue))
}

#[cfg(test)]
mod tests {
    use cmp_proto::{ErrorMsgContent, PkiFailureInfo, PkiStatusInfo};

    use super::*;

    fn error_message() -> cmp_client::Error {
        cmp_client::Error::ErrorMessage {
            content: ErrorMsgContent {
                pki_status_info: PkiStatusInfo::rejection(PkiFailureInfo::BAD_REQUEST, "no genm")
                    .expect("status"),
                error_code: None,
                error_details: None,
            },
        }
    }

    #[test]
    fn a_verified_answer_is_ready() {
        assert_eq!(verdict(Ok(vec![]), false).status, condition::TRUE);
        let v = verdict(Err(error_message()), false);
        assert_eq!((v.status, v.reason), (condition::TRUE, reason::CHECKED));
        assert!(v.message.contains("no genm"), "{}", v.message);
    }

    #[test]
    fn an_error_that_may_be_unprotected_is_not_proof() {
        let v = verdict(Err(error_message()), true);
        assert_eq!((v.status, v.reason), (condition::FALSE, reason::PENDING));
        assert!(v.message.contains("healthCheck: None"), "{}", v.message);
    }

    #[test]
    fn an_unreachable_or_forged_ca_is_pending() {
        let v = verdict(Err(cmp_client::Error::RecipNonceMismatch), false);
        assert_eq!((v.status, v.reason), (condition::FALSE, reason::PENDING));
        let v = verdict(
            Err(cmp_client::Error::Transport(
                cmp_client::transport::TransportError::Timeout {
                    target: "http://ca".into(),
                },
            )),
            false,
        );
        assert_eq!((v.status, v.reason), (condition::FALSE, reason::PENDING));
    }
}
