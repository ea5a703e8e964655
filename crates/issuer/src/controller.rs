//! The CertificateRequest reconciler: [`triage`] says what the contract
//! asks for, and this module does it against the API server: status by server-side
//! apply on `/status`, the issuer looked up and required Ready, the CA asked through
//! [`signer::sign`] with the transaction journaled on the request,
//! retries with exponential backoff up to the issuer's retry limit, and events.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder};
use kube::{Api, Client, Resource, ResourceExt};

use crate::api::{CMPv2ClusterIssuer, CMPv2Issuer, IssuerSpec, IssuerStatus};
use crate::ca::{self, Disposition, IssuerCredentials};
use crate::cert_manager::CertificateRequest;
use crate::journal::{self, AnnotationJournal, IssuedRecord};
use crate::logs::{self, Level};
use crate::metrics::{Metrics, Outcome};
use crate::recorded;
use crate::signer::{self, SignError, Signed};
use crate::status::{self, FIELD_MANAGER, RequestStatusUpdate};
use crate::triage::{self, IssuerKind, Triage, condition, reason};
use crate::{credentials, csr};

/// Settings from the command line.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Where a cluster issuer's Secrets and ConfigMaps live.
    pub cluster_resource_namespace: String,
    /// First retry delay; doubled at each attempt.
    pub retry_base: Duration,
    /// Longest retry delay.
    pub retry_cap: Duration,
    /// How soon to look again at a request whose issuer is missing or not Ready.
    pub issuer_wait: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            cluster_resource_namespace: "cmpv2-issuer".to_owned(),
            retry_base: Duration::from_secs(5),
            retry_cap: Duration::from_secs(300),
            issuer_wait: Duration::from_secs(30),
        }
    }
}

/// What every reconcile shares.
pub struct Context {
    /// The API client.
    pub client: Client,
    /// Command-line settings.
    pub settings: Settings,
    /// Publishes Kubernetes events; `None` in tests that do not expect them.
    pub recorder: Option<Recorder>,
    /// Counters for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Failed attempts per request UID and when the next may start, for the backoff.
    /// Forgotten when the request is done; a restart starts the count again, which only
    /// shortens one delay.
    attempts: Mutex<HashMap<String, Backoff>>,
    /// Certificates issued whose status is not written yet, per request UID: a status
    /// write that fails is retried from here (and from the request's annotation, which
    /// survives a restart) instead of asking the CA again.
    issued: Mutex<HashMap<String, IssuedRecord>>,
    /// Per issuer UID: the generation last probed and when the next probe is due.
    issuer_probes: Mutex<HashMap<String, (Option<i64>, SystemTime)>>,
}

impl Context {
    /// A context for `client`.
    pub fn new(client: Client, settings: Settings, recorder: Option<Recorder>) -> Self {
        Self {
            client,
            settings,
            recorder,
            metrics: Arc::default(),
            attempts: Mutex::default(),
            issued: Mutex::default(),
            issuer_probes: Mutex::default(),
        }
    }

    /// How long until the issuer `uid` at `generation` is due for its next probe, if not
    /// yet. An issuer's own status writes wake its controller at once; this keeps them
    /// from probing the CA again. A new generation is due at once.
    pub(crate) fn probe_not_due(
        &self,
        uid: &str,
        generation: Option<i64>,
        now: SystemTime,
    ) -> Option<Duration> {
        let probes = self.issuer_probes.lock().unwrap_or_else(|e| e.into_inner());
        let (probed, due) = probes.get(uid)?;
        if *probed != generation {
            return None;
        }
        due.duration_since(now).ok().filter(|d| !d.is_zero())
    }

    /// Records a probe of issuer `uid` at `generation`; the next is due `after` from `now`.
    pub(crate) fn probed(
        &self,
        uid: &str,
        generation: Option<i64>,
        now: SystemTime,
        after: Duration,
    ) {
        let due = now.checked_add(after).unwrap_or(now);
        self.issuer_probes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(uid.to_owned(), (generation, due));
    }

    fn remember_issued(&self, uid: &str, record: IssuedRecord) {
        self.issued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(uid.to_owned(), record);
    }

    fn issued_in_memory(&self, uid: &str) -> Option<IssuedRecord> {
        self.issued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(uid)
            .cloned()
    }

    /// Counts a failed attempt; returns its number and the delay before the next.
    fn failed_attempt(&self, uid: &str, now: SystemTime) -> (u32, Duration) {
        let mut attempts = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        let entry = attempts.entry(uid.to_owned()).or_insert(Backoff {
            failures: 0,
            not_before: now,
        });
        entry.failures = entry.failures.saturating_add(1);
        let delay = backoff(&self.settings, entry.failures);
        entry.not_before = now + delay;
        (entry.failures, delay)
    }

    /// Holds the next attempt back until `after` from `now`, without counting a failure
    /// (the CA said to ask again then).
    fn wait(&self, uid: &str, now: SystemTime, after: Duration) {
        let mut attempts = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        let entry = attempts.entry(uid.to_owned()).or_insert(Backoff {
            failures: 0,
            not_before: now,
        });
        entry.not_before = now + after;
    }

    /// How long until the next attempt may start, if it may not start now. Our own
    /// status writes wake the controller at once; this keeps them from cutting the
    /// backoff short.
    fn too_early(&self, uid: &str, now: SystemTime) -> Option<Duration> {
        let attempts = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
        let not_before = attempts.get(uid)?.not_before;
        not_before.duration_since(now).ok().filter(|d| !d.is_zero())
    }

    /// Forgets what is held for requests and issuers that no longer exist: the
    /// reconcilers are not called for deleted objects, so without this the maps would
    /// grow with every request deleted before it finished and every deleted issuer.
    /// `live_requests` and `live_issuers` are the UIDs in the caches now. An entry is
    /// dropped only when its UID was missing at the previous sweep too (`absent`, which
    /// this updates): an object created after the caches were read but entered here
    /// before the sweep is missing once, then found.
    pub fn forget_deleted(
        &self,
        live_requests: &HashSet<String>,
        live_issuers: &HashSet<String>,
        absent: &mut Absent,
    ) {
        let before = std::mem::take(absent);
        let mut keep_request = sweep(live_requests, &before.requests, &mut absent.requests);
        self.attempts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|uid, _| keep_request(uid));
        self.issued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|uid, _| keep_request(uid));
        let mut keep_issuer = sweep(live_issuers, &before.issuers, &mut absent.issuers);
        self.issuer_probes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|uid, _| keep_issuer(uid));
        self.metrics.retain_issuers(keep_issuer);
    }

    fn forget(&self, uid: &str) {
        self.attempts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(uid);
        self.issued
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(uid);
    }
}

/// UIDs that [`Context::forget_deleted`] found missing from the caches at its last
/// sweep.
#[derive(Debug, Default)]
pub struct Absent {
    requests: HashSet<String>,
    issuers: HashSet<String>,
}

/// Whether to keep an entry, by its UID, in one sweep over one object kind: it is live,
/// or missing for the first time (then noted in `absent_now`).
fn sweep<'a>(
    live: &'a HashSet<String>,
    absent_before: &'a HashSet<String>,
    absent_now: &'a mut HashSet<String>,
) -> impl FnMut(&str) -> bool + 'a {
    move |uid| {
        if live.contains(uid) {
            return true;
        }
        if absent_before.contains(uid) {
            return false;
        }
        absent_now.insert(uid.to_owned());
        true
    }
}

/// A request's failed attempts.
#[derive(Clone, Copy, Debug)]
struct Backoff {
    failures: u32,
    not_before: SystemTime,
}

/// The delay after the `n`th failed attempt: base × 2^(n−1), capped.
pub fn backoff(settings: &Settings, n: u32) -> Duration {
    let factor = 1u32 << n.saturating_sub(1).min(16);
    settings
        .retry_base
        .saturating_mul(factor)
        .min(settings.retry_cap)
}

/// A reconcile that could not finish; the controller retries it.
#[derive(Debug)]
pub enum ReconcileError {
    /// The API server refused or failed a read or write.
    Kube(kube::Error),
}

impl std::fmt::Display for ReconcileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Kube(e) => write!(f, "API server: {e}"),
        }
    }
}

impl std::error::Error for ReconcileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Kube(e) => Some(e),
        }
    }
}

impl From<kube::Error> for ReconcileError {
    fn from(e: kube::Error) -> Self {
        Self::Kube(e)
    }
}

/// After a failed reconcile (the API server failed): try again soon.
pub fn error_policy(_: Arc<CertificateRequest>, _: &ReconcileError, _: Arc<Context>) -> Action {
    Action::requeue(Duration::from_secs(10))
}

/// Reconciles one CertificateRequest.
pub async fn reconcile(
    request: Arc<CertificateRequest>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let now = SystemTime::now();
    match triage::triage(&request) {
        Triage::NotOurs | Triage::AwaitApproval => Ok(Action::await_change()),
        Triage::Finished => {
            ctx.forget(&request.uid().unwrap_or_default());
            Ok(Action::await_change())
        }
        Triage::Initialize => {
            let ready = ready(
                &request,
                condition::UNKNOWN,
                reason::INITIALIZING,
                "Initializing",
                now,
            );
            apply(
                &ctx,
                &request,
                &RequestStatusUpdate {
                    ready: Some(ready),
                    ..Default::default()
                },
            )
            .await?;
            Ok(Action::await_change())
        }
        Triage::Deny => {
            let ready = ready(
                &request,
                condition::FALSE,
                reason::DENIED,
                "The CertificateRequest was denied by an approval controller",
                now,
            );
            let update = RequestStatusUpdate {
                ready: Some(ready),
                failure_time: Some(status::rfc3339(now)),
                ..Default::default()
            };
            apply(&ctx, &request, &update).await?;
            ctx.metrics.outcome(Outcome::Denied);
            Ok(Action::await_change())
        }
        Triage::Sign { kind, name } => {
            if let Some(wait) = ctx.too_early(&request.uid().unwrap_or_default(), now) {
                return Ok(Action::requeue(wait));
            }
            sign(&ctx, &request, kind, &name, now).await
        }
    }
}

fn ready(
    request: &CertificateRequest,
    value: &str,
    why: &str,
    message: &str,
    now: SystemTime,
) -> crate::cert_manager::RequestCondition {
    let previous = request
        .status
        .as_ref()
        .and_then(|s| s.condition(condition::READY));
    status::ready_condition(previous, value, why, message, now)
}

fn requests_api(ctx: &Context, request: &CertificateRequest) -> Api<CertificateRequest> {
    Api::namespaced(ctx.client.clone(), &request.namespace().unwrap_or_default())
}

async fn apply(
    ctx: &Context,
    request: &CertificateRequest,
    update: &RequestStatusUpdate,
) -> Result<(), kube::Error> {
    let params = PatchParams::apply(FIELD_MANAGER).force();
    requests_api(ctx, request)
        .patch_status(
            &request.name_any(),
            &params,
            &Patch::Apply(update.apply_body(request)),
        )
        .await?;
    Ok(())
}

/// The issuer's spec, status and generation, and the namespace its Secrets live in.
struct IssuerView {
    spec: IssuerSpec,
    status: Option<IssuerStatus>,
    generation: Option<i64>,
    secrets_namespace: String,
}

async fn issuer_view(
    ctx: &Context,
    request: &CertificateRequest,
    kind: IssuerKind,
    name: &str,
) -> Result<Option<IssuerView>, kube::Error> {
    Ok(match kind {
        IssuerKind::Namespaced => {
            let namespace = request.namespace().unwrap_or_default();
            let api: Api<CMPv2Issuer> = Api::namespaced(ctx.client.clone(), &namespace);
            api.get_opt(name).await?.map(|i| IssuerView {
                generation: i.metadata.generation,
                spec: i.spec,
                status: i.status,
                secrets_namespace: namespace,
            })
        }
        IssuerKind::Cluster => {
            let api: Api<CMPv2ClusterIssuer> = Api::all(ctx.client.clone());
            api.get_opt(name).await?.map(|i| IssuerView {
                generation: i.metadata.generation,
                spec: i.spec.issuer,
                status: i.status,
                secrets_namespace: ctx.settings.cluster_resource_namespace.clone(),
            })
        }
    })
}

async fn pending(
    ctx: &Context,
    request: &CertificateRequest,
    message: &str,
    now: SystemTime,
) -> Result<(), kube::Error> {
    let ready = ready(request, condition::FALSE, reason::PENDING, message, now);
    apply(
        ctx,
        request,
        &RequestStatusUpdate {
            ready: Some(ready),
            ..Default::default()
        },
    )
    .await
}

async fn failed(
    ctx: &Context,
    request: &CertificateRequest,
    message: &str,
    now: SystemTime,
) -> Result<Action, kube::Error> {
    let ready = ready(request, condition::FALSE, reason::FAILED, message, now);
    let update = RequestStatusUpdate {
        ready: Some(ready),
        failure_time: Some(status::rfc3339(now)),
        ..Default::default()
    };
    apply(ctx, request, &update).await?;
    ctx.metrics.outcome(Outcome::Failed);
    event(ctx, request, EventType::Warning, "PermanentError", message).await;
    ctx.forget(&request.uid().unwrap_or_default());
    Ok(Action::await_change())
}

async fn event(
    ctx: &Context,
    request: &CertificateRequest,
    type_: EventType,
    why: &str,
    note: &str,
) {
    let Some(recorder) = &ctx.recorder else {
        return;
    };
    let ev = Event {
        type_,
        reason: why.to_owned(),
        note: Some(status::bounded_message(note)),
        action: "Sign".to_owned(),
        secondary: None,
    };
    // Events are best effort: a failure to publish changes nothing about the request.
    let _ = recorder.publish(&ev, &request.object_ref(&())).await;
}

async fn sign(
    ctx: &Context,
    request: &CertificateRequest,
    kind: IssuerKind,
    name: &str,
    now: SystemTime,
) -> Result<Action, ReconcileError> {
    let uid = request.uid().unwrap_or_default();
    // Issued already, and only the status write is missing: no CA, no issuer needed.
    if let Some(record) = ctx.issued_in_memory(&uid) {
        return Ok(write_issued(ctx, request, &record, now).await?);
    }
    // A result recorded on the request is believed only once the issuer's trust can
    // check it (below): anybody who may patch the request may write the annotation.
    let recorded = match journal::issued(request) {
        Some(Ok(record)) => Some(record),
        Some(Err(why)) => return Ok(failed(ctx, request, &why, now).await?),
        None => None,
    };
    let wait = ctx.settings.issuer_wait;
    let Some(issuer) = issuer_view(ctx, request, kind, name).await? else {
        let message = format!("{} {name} not found; waiting for it", kind.name());
        pending(ctx, request, &message, now).await?;
        ctx.metrics.outcome(Outcome::IssuerNotReady);
        event(
            ctx,
            request,
            EventType::Normal,
            "WaitingForIssuerReady",
            &message,
        )
        .await;
        return Ok(Action::requeue(wait));
    };
    if let Err(why) = status::issuer_ready(issuer.status.as_ref(), issuer.generation) {
        let message = format!("{} {name}: {why}", kind.name());
        pending(ctx, request, &message, now).await?;
        ctx.metrics.outcome(Outcome::IssuerNotReady);
        event(
            ctx,
            request,
            EventType::Normal,
            "WaitingForIssuerReady",
            &message,
        )
        .await;
        return Ok(Action::requeue(wait));
    }
    let credentials: IssuerCredentials =
        match credentials::read(&ctx.client, &issuer.secrets_namespace, &issuer.spec).await {
            Ok(c) => c,
            Err(e) => {
                pending(ctx, request, &format!("issuer credentials: {e}"), now).await?;
                return Ok(Action::requeue(wait));
            }
        };
    let client = match ca::ca_client(&issuer.spec, &credentials) {
        Ok(c) => c,
        Err(e) => {
            pending(ctx, request, &format!("issuer configuration: {e}"), now).await?;
            return Ok(Action::requeue(wait));
        }
    };
    let requested = match csr::RequestedCertificate::from_spec(&request.spec) {
        Ok(r) => r,
        Err(e) => {
            let error = SignError::Request(e.to_string());
            return on_error(ctx, request, &issuer.spec, error, now).await;
        }
    };
    if let Some(record) = recorded {
        let trust = &client.config().trust;
        return Ok(
            match recorded::check(&record, &uid, requested.public_key(), trust, now) {
                Ok(()) => write_issued(ctx, request, &record, now).await?,
                Err(why) => {
                    let message = format!(
                        "{why}: the {} annotation was not written by this issuer; not using it",
                        journal::ISSUED_ANNOTATION
                    );
                    failed(ctx, request, &message, now).await?
                }
            },
        );
    }
    let mut journal = AnnotationJournal::new(requests_api(ctx, request), request);
    let checkpoint = journal::recorded(request);
    let request_type = issuer.spec.request_type;
    let outcome = signer::sign(
        &client,
        &mut journal,
        checkpoint.as_deref(),
        requested.public_key(),
        || {
            requested
                .cmp_request(request_type, SystemTime::now())
                .map_err(|e| e.to_string())
        },
    )
    .await;
    match &outcome {
        Ok(_) => ctx.metrics.round_trip(true),
        Err(SignError::Cmp(_)) => ctx.metrics.round_trip(false),
        Err(_) => {} // Nothing was exchanged with the CA.
    }
    match outcome {
        Ok(Signed::Issued(enrolled)) => {
            let pem = match ca::issued_pem(&enrolled, &client.config().trust.anchors) {
                Ok(pem) => pem,
                Err(e) => {
                    return Ok(failed(
                        ctx,
                        request,
                        &format!("cannot encode the certificate: {e}"),
                        now,
                    )
                    .await?);
                }
            };
            let mut record = IssuedRecord {
                certificate: pem.chain,
                ca: pem.ca,
                granted_with_mods: enrolled.granted_with_mods,
                seal: None,
            };
            if let Some(secret) = &client.config().trust.secret {
                record.seal = Some(recorded::seal(&record, &uid, secret.expose()));
            }
            ctx.remember_issued(&uid, record.clone());
            if let Err(e) = journal.record_issued(&record).await {
                // The status write below may still succeed; if not, the copy in memory
                // is written at the next attempt.
                logs::log(
                    Level::Warn,
                    "cannot record the issued certificate on the request",
                    &[("request", &request.name_any()), ("error", &e.to_string())],
                );
            }
            Ok(write_issued(ctx, request, &record, now).await?)
        }
        Ok(Signed::Waiting(after)) => {
            let after = after.max(Duration::from_secs(1));
            ctx.wait(&request.uid().unwrap_or_default(), now, after);
            let message = "The CA is processing the request (it answered \"waiting\"); polling";
            pending(ctx, request, message, now).await?;
            ctx.metrics.outcome(Outcome::Waiting);
            event(ctx, request, EventType::Normal, "Pending", message).await;
            Ok(Action::requeue(after))
        }
        Err(error) => on_error(ctx, request, &issuer.spec, error, now).await,
    }
}

async fn on_error(
    ctx: &Context,
    request: &CertificateRequest,
    spec: &IssuerSpec,
    error: SignError,
    now: SystemTime,
) -> Result<Action, ReconcileError> {
    let permanent = match &error {
        SignError::Cmp(e) => ca::disposition(e) == Disposition::Permanent,
        SignError::Journal(_) => false,
        SignError::CorruptCheckpoint(_)
        | SignError::CheckpointForAnotherKey
        | SignError::MayAlreadyBeIssued
        | SignError::Request(_) => true,
    };
    let message = error.to_string();
    if permanent {
        return Ok(failed(ctx, request, &message, now).await?);
    }
    let age = age(request, now).unwrap_or_default();
    let limit = Duration::from_secs(spec.limits.max_retry_seconds.into());
    if age > limit {
        let message = format!("gave up after {} s of retrying: {message}", limit.as_secs());
        return Ok(failed(ctx, request, &message, now).await?);
    }
    let uid = request.uid().unwrap_or_default();
    let (n, mut delay) = ctx.failed_attempt(&uid, now);
    if let Some(asked) = busy_wait(&error).filter(|asked| *asked > delay) {
        // The CA said when (HTTP 429/503 Retry-After): no earlier than that.
        delay = asked;
        ctx.wait(&uid, now, delay);
    }
    let message = format!("{message} (attempt {n}, retrying in {} s)", delay.as_secs());
    pending(ctx, request, &message, now).await?;
    ctx.metrics.outcome(Outcome::Retry);
    event(ctx, request, EventType::Warning, "RetryableError", &message).await;
    Ok(Action::requeue(delay))
}

/// How long a busy CA asked us to wait (HTTP 429 or 503 with `Retry-After`).
fn busy_wait(error: &SignError) -> Option<Duration> {
    match error {
        SignError::Cmp(cmp_client::Error::Transport(t)) => t.retry_after(),
        _ => None,
    }
}

/// Writes `Ready=True/Issued` with the certificate and its CA, then forgets the request.
async fn write_issued(
    ctx: &Context,
    request: &CertificateRequest,
    record: &IssuedRecord,
    now: SystemTime,
) -> Result<Action, kube::Error> {
    let message = if record.granted_with_mods {
        "Certificate issued; the CA changed what was requested (grantedWithMods)"
    } else {
        "Certificate issued"
    };
    let update = RequestStatusUpdate {
        ready: Some(ready(
            request,
            condition::TRUE,
            reason::ISSUED,
            message,
            now,
        )),
        certificate: Some(record.certificate.clone()),
        // `format: byte` rejects an empty string: no CA certificate means no field.
        ca: Some(record.ca.clone()).filter(|ca| !ca.is_empty()),
        failure_time: None,
    };
    apply(ctx, request, &update).await?;
    ctx.metrics.outcome(Outcome::Issued);
    if let Some(age) = age(request, now) {
        ctx.metrics.issued_after(age);
    }
    event(ctx, request, EventType::Normal, "Issued", message).await;
    ctx.forget(&request.uid().unwrap_or_default());
    Ok(Action::await_change())
}

/// Time since the request was created.
fn age(request: &CertificateRequest, now: SystemTime) -> Option<Duration> {
    let created = request.metadata.creation_timestamp.as_ref()?;
    now.duration_since(SystemTime::from(created.0)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_cas_retry_after_is_read_from_the_transport_error() {
        use cmp_client::transport::TransportError;
        let busy = |status| {
            SignError::Cmp(cmp_client::Error::Transport(TransportError::HttpStatus {
                url: "http://ca/".into(),
                status,
                retry_after: Some(Duration::from_secs(120)),
            }))
        };
        assert_eq!(busy_wait(&busy(503)), Some(Duration::from_secs(120)));
        assert_eq!(busy_wait(&busy(429)), Some(Duration::from_secs(120)));
        assert_eq!(busy_wait(&busy(500)), None, "only 429 and 503 mean busy");
        assert_eq!(busy_wait(&SignError::MayAlreadyBeIssued), None);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let settings = Settings::default();
        assert_eq!(backoff(&settings, 1), Duration::from_secs(5));
        assert_eq!(backoff(&settings, 2), Duration::from_secs(10));
        assert_eq!(backoff(&settings, 4), Duration::from_secs(40));
        assert_eq!(backoff(&settings, 7), Duration::from_secs(300));
        assert_eq!(backoff(&settings, u32::MAX), Duration::from_secs(300));
    }

    #[tokio::test]
    async fn forgets_what_it_holds_for_deleted_requests_and_issuers() {
        let (service, _api) = tower_test::mock::pair::<
            http::Request<kube::client::Body>,
            http::Response<kube::client::Body>,
        >();
        let ctx = Context::new(Client::new(service, "default"), Settings::default(), None);
        let now = SystemTime::now();
        let record = IssuedRecord {
            certificate: "leaf".into(),
            ca: String::new(),
            granted_with_mods: false,
            seal: None,
        };
        for uid in ["gone", "live", "young"] {
            ctx.failed_attempt(uid, now);
            ctx.remember_issued(uid, record.clone());
            ctx.probed(uid, Some(1), now, Duration::from_secs(60));
            ctx.metrics
                .issuer_ready("CMPv2Issuer", uid.to_owned(), true);
        }
        // What is held for a UID: backoff, issued record, probe schedule.
        let held = |uid: &str| {
            [
                ctx.too_early(uid, now).is_some(),
                ctx.issued_in_memory(uid).is_some(),
                ctx.probe_not_due(uid, Some(1), now).is_some(),
            ]
        };
        let ready_gauge = |n: u32| {
            ctx.metrics.render().contains(&format!(
                "cmpv2_issuer_issuers_ready{{kind=\"CMPv2Issuer\"}} {n}\n"
            ))
        };
        let mut absent = Absent::default();
        // "young" was entered after the caches were read: missing from them once.
        let live = HashSet::from(["live".to_owned()]);
        ctx.forget_deleted(&live, &live, &mut absent);
        for uid in ["gone", "live", "young"] {
            assert_eq!(held(uid), [true; 3], "{uid} after the first sweep");
        }
        assert!(ready_gauge(3));
        let live = HashSet::from(["live".to_owned(), "young".to_owned()]);
        ctx.forget_deleted(&live, &live, &mut absent);
        ctx.forget_deleted(&live, &live, &mut absent);
        assert_eq!(held("live"), [true; 3]);
        assert_eq!(held("young"), [true; 3], "found at the second sweep: kept");
        assert_eq!(held("gone"), [false; 3], "missing twice: dropped");
        assert!(ready_gauge(2));
    }
}
