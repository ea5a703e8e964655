//! `cmpv2-issuer`: the controller process. Watches CertificateRequests and the two
//! issuer kinds, signs requests over CMP, serves `/healthz`, `/readyz` and `/metrics`,
//! and, with `--leader-elect`, runs the controllers only while it holds the Lease.
//!
//! Run out of cluster with a kubeconfig (`KUBECONFIG` or `~/.kube/config`) or in a Pod
//! with its service account; `--help` lists the options.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use cmpv2_issuer::api::{CMPv2ClusterIssuer, CMPv2Issuer};
use cmpv2_issuer::cert_manager::CertificateRequest;
use cmpv2_issuer::controller::{self, Absent, Context, Settings};
use cmpv2_issuer::issuer_health::{self, IssuerObject};
use cmpv2_issuer::leader::{self, LeaseSettings};
use cmpv2_issuer::logs::{self, Format, Level};
use cmpv2_issuer::probes::{self, Probes};
use cmpv2_issuer::wake;
use futures_util::StreamExt;
use kube::runtime::controller::Config as ControllerConfig;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::Store;
use kube::runtime::{Controller, watcher};
use kube::{Api, Client, Resource, ResourceExt};

const USAGE: &str = "\
cmpv2-issuer: a cert-manager external issuer that enrolls over CMP (RFC 4210/9483)

Options:
  --namespace NS                  watch CertificateRequests and CMPv2Issuers in NS only
                                  (default: all namespaces)
  --cluster-resource-namespace NS where CMPv2ClusterIssuers' Secrets live
                                  (default: $POD_NAMESPACE, else cmpv2-issuer)
  --concurrency N                 requests signed at once (default 8)
  --listen ADDR                   /healthz, /readyz, /metrics (default 0.0.0.0:8080)
  --leader-elect                  run the controllers only while holding a Lease
  --lease-namespace NS            the Lease's namespace (default: $POD_NAMESPACE)
  --lease-name NAME               the Lease's name, one per installation (default
                                  cmpv2-issuer-leader)
  --log-format text|json          (default text)
  --help
Exit codes: 0 after a clean shutdown (SIGTERM), 1 on a fatal error, 64 on bad usage.";

struct Options {
    namespace: Option<String>,
    cluster_resource_namespace: String,
    concurrency: u16,
    listen: SocketAddr,
    leader_elect: bool,
    lease_namespace: Option<String>,
    lease_name: Option<String>,
    log_format: Format,
}

fn parse(args: impl Iterator<Item = String>) -> Result<Options, String> {
    let pod_namespace = std::env::var("POD_NAMESPACE")
        .ok()
        .filter(|s| !s.is_empty());
    let mut o = Options {
        namespace: None,
        cluster_resource_namespace: pod_namespace
            .clone()
            .unwrap_or_else(|| "cmpv2-issuer".into()),
        concurrency: 8,
        listen: ([0, 0, 0, 0], 8080).into(),
        leader_elect: false,
        lease_namespace: pod_namespace,
        lease_name: None,
        log_format: Format::Text,
    };
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--namespace" => o.namespace = Some(value()?),
            "--cluster-resource-namespace" => o.cluster_resource_namespace = value()?,
            "--concurrency" => {
                o.concurrency = value()?
                    .parse()
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or("--concurrency: a number from 1 to 65535")?;
            }
            "--listen" => o.listen = value()?.parse().map_err(|e| format!("--listen: {e}"))?,
            "--leader-elect" => o.leader_elect = true,
            "--lease-namespace" => o.lease_namespace = Some(value()?),
            "--lease-name" => o.lease_name = Some(value()?),
            "--log-format" => o.log_format = value()?.parse()?,
            "--help" | "-h" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if o.leader_elect && o.lease_namespace.is_none() {
        return Err("--leader-elect needs --lease-namespace or $POD_NAMESPACE".into());
    }
    Ok(o)
}

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("cmpv2-issuer: {e}\n\n{USAGE}");
            return ExitCode::from(64);
        }
    };
    logs::init(options.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            logs::log(
                Level::Error,
                "cannot start the runtime",
                &[("error", &e.to_string())],
            );
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            logs::log(Level::Error, "stopped", &[("error", &e)]);
            ExitCode::FAILURE
        }
    }
}

async fn run(options: Options) -> Result<(), String> {
    let client = Client::try_default()
        .await
        .map_err(|e| format!("no Kubernetes API client (kubeconfig or service account): {e}"))?;
    let probes = Arc::new(Probes::default());
    let settings = Settings {
        cluster_resource_namespace: options.cluster_resource_namespace.clone(),
        ..Settings::default()
    };
    let identity = std::env::var("POD_NAME")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| format!("cmpv2-issuer-{}", std::process::id()));
    let reporter = Reporter {
        controller: "cmpv2-issuer".into(),
        instance: Some(identity.clone()),
    };
    let mut ctx = Context::new(
        client.clone(),
        settings,
        Some(Recorder::new(client.clone(), reporter)),
    );
    ctx.metrics = Arc::clone(&probes.metrics);
    let ctx = Arc::new(ctx);
    // Bound before anything else starts: a port in use is a fatal error, not a silent
    // pod without probes.
    let listener = tokio::net::TcpListener::bind(options.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", options.listen))?;
    let probe_server = tokio::spawn(probes::serve(listener, Arc::clone(&probes)));
    logs::log(
        Level::Info,
        "serving probes",
        &[("listen", &options.listen.to_string())],
    );

    let lease = options
        .lease_namespace
        .clone()
        .filter(|_| options.leader_elect);
    let lease = lease.map(|ns| {
        let mut lease = LeaseSettings::new(ns, identity.clone());
        if let Some(name) = &options.lease_name {
            lease.name.clone_from(name);
        }
        lease
    });
    probes.ready.store(true, Ordering::Relaxed);
    if let Some(lease) = &lease {
        logs::log(
            Level::Info,
            "waiting for the Lease",
            &[("lease", &lease.name), ("identity", &identity)],
        );
        tokio::select! {
            () = leader::acquire(&client, lease) => {}
            () = shutdown_signal() => return Ok(()),
        }
        logs::log(Level::Info, "holding the Lease", &[("identity", &identity)]);
    }

    let controllers = run_controllers(client.clone(), Arc::clone(&ctx), &options);
    let result = match &lease {
        Some(lease) => tokio::select! {
            () = controllers => {
                // Every reconcile has finished: hand over at once.
                leader::release(&client, lease).await;
                Ok(())
            }
            () = leader::keep(&client, lease) => Err("lost the Lease; exiting so a restart can compete again".to_owned()),
        },
        None => {
            controllers.await;
            Ok(())
        }
    };
    probe_server.abort();
    result
}

/// Runs the three controllers until a shutdown signal; in-flight reconciles finish.
/// The request controller also watches both issuer kinds, so that a request waiting for
/// its issuer is woken when that issuer turns Ready ([`wake`]).
async fn run_controllers(client: Client, ctx: Arc<Context>, options: &Options) {
    let (requests, issuers): (Api<CertificateRequest>, Api<CMPv2Issuer>) = match &options.namespace
    {
        Some(ns) => (
            Api::namespaced(client.clone(), ns),
            Api::namespaced(client.clone(), ns),
        ),
        None => (Api::all(client.clone()), Api::all(client.clone())),
    };
    let cluster_issuers: Api<CMPv2ClusterIssuer> = Api::all(client.clone());
    let config = kube::runtime::controller::Config::default().concurrency(options.concurrency);
    let issuer_controller = Controller::new(issuers.clone(), watcher::Config::default());
    let cluster_issuer_controller =
        Controller::new(cluster_issuers.clone(), watcher::Config::default());
    let request_controller = Controller::new(requests, watcher::Config::default());
    let stores = Stores {
        requests: request_controller.store(),
        issuers: issuer_controller.store(),
        cluster_issuers: cluster_issuer_controller.store(),
    };
    let (waiting_on_issuer, waiting_on_cluster_issuer) =
        (stores.requests.clone(), stores.requests.clone());
    let request_controller = request_controller
        .watches(issuers, watcher::Config::default(), move |issuer| {
            wake::requests_waiting_on(&waiting_on_issuer, &issuer)
        })
        .watches(cluster_issuers, watcher::Config::default(), move |issuer| {
            wake::requests_waiting_on(&waiting_on_cluster_issuer, &issuer)
        })
        .with_config(config.clone())
        .graceful_shutdown_on(shutdown_signal())
        .run(
            controller::reconcile,
            controller::error_policy,
            Arc::clone(&ctx),
        )
        .for_each(|result| async move {
            if let Err(e) = result {
                log_controller_error("CertificateRequest", &e);
            }
        });
    let namespaced_issuers = run_issuer_controller(issuer_controller, config.clone(), &ctx);
    let cluster_issuers = run_issuer_controller(cluster_issuer_controller, config, &ctx);
    let forgetting = tokio::spawn(forget_deleted(stores, Arc::clone(&ctx)));
    logs::log(Level::Info, "controllers started", &[]);
    tokio::join!(request_controller, namespaced_issuers, cluster_issuers);
    forgetting.abort();
    logs::log(Level::Info, "controllers stopped", &[]);
}

/// The controllers' caches, read to find deleted objects.
struct Stores {
    requests: Store<CertificateRequest>,
    issuers: Store<CMPv2Issuer>,
    cluster_issuers: Store<CMPv2ClusterIssuer>,
}

/// How often the context forgets deleted requests and issuers.
const FORGET_EVERY: Duration = Duration::from_secs(60);

/// Every [`FORGET_EVERY`], once the caches are filled, drops what the context holds for
/// requests and issuers that no longer exist ([`Context::forget_deleted`]): an entry goes
/// at the second sweep that finds its object missing, one to two minutes after deletion.
async fn forget_deleted(stores: Stores, ctx: Arc<Context>) {
    let filled = tokio::try_join!(
        stores.requests.wait_until_ready(),
        stores.issuers.wait_until_ready(),
        stores.cluster_issuers.wait_until_ready(),
    );
    if filled.is_err() {
        return;
    }
    let mut tick = tokio::time::interval(FORGET_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut absent = Absent::default();
    loop {
        tick.tick().await;
        let live_requests = uids(&stores.requests);
        let mut live_issuers = uids(&stores.issuers);
        live_issuers.extend(uids(&stores.cluster_issuers));
        ctx.forget_deleted(&live_requests, &live_issuers, &mut absent);
    }
}

fn uids<K: Resource + Clone>(store: &Store<K>) -> HashSet<String>
where
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    store.state().iter().filter_map(|o| o.uid()).collect()
}

/// Runs the health-check controller of one issuer kind. Its own status writes wake it
/// too; the reconciler holds those back until the next probe is due (see
/// [`issuer_health::reconcile`]).
async fn run_issuer_controller<K: IssuerObject>(
    controller: Controller<K>,
    config: ControllerConfig,
    ctx: &Arc<Context>,
) {
    controller
        .with_config(config)
        .graceful_shutdown_on(shutdown_signal())
        .run(
            issuer_health::reconcile::<K>,
            issuer_health::error_policy,
            Arc::clone(ctx),
        )
        .for_each(|result| async move {
            if let Err(e) = result {
                log_controller_error(K::KIND.name(), &e);
            }
        })
        .await;
}

/// Logs what a controller's run stream reports, telling a failed reconcile from a failed
/// watch: the CertificateRequest controller's watches include both issuer kinds, so an
/// issuer watch the RBAC refuses shows up there as a watch error, not as a request's.
fn log_controller_error<R, Q>(controller: &str, e: &kube::runtime::controller::Error<R, Q>)
where
    R: std::error::Error,
    Q: std::error::Error,
{
    use kube::runtime::controller::Error;
    let (level, what) = match e {
        Error::ReconcilerFailed(..) => (Level::Warn, "reconcile failed"),
        Error::QueueError(_) => (Level::Warn, "watch failed"),
        // Deleted while its reconcile was queued: expected, nothing to do.
        Error::ObjectNotFound(_) => (Level::Info, "object gone before its reconcile"),
        Error::RunnerError(_) => (Level::Warn, "controller error"),
    };
    logs::log(
        level,
        what,
        &[("controller", controller), ("error", &e.to_string())],
    );
}

/// SIGTERM (the kubelet) or Ctrl-C.
async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
    // Give in-flight CMP exchanges a moment before the runtime is torn down.
    tokio::time::sleep(Duration::from_millis(10)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Options, String> {
        parse(list.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn options_parse_and_bad_ones_are_refused() {
        let o = args(&[
            "--namespace",
            "apps",
            "--concurrency",
            "3",
            "--log-format",
            "json",
        ])
        .expect("valid");
        assert_eq!(o.namespace.as_deref(), Some("apps"));
        assert_eq!(o.concurrency, 3);
        assert_eq!(o.log_format, Format::Json);
        assert_eq!(o.lease_name, None);
        let o = args(&[
            "--leader-elect",
            "--lease-namespace",
            "ns",
            "--lease-name",
            "a-b",
        ])
        .expect("valid");
        assert_eq!(o.lease_name.as_deref(), Some("a-b"));
        assert!(args(&["--lease-name"]).is_err());
        assert!(args(&["--concurrency", "0"]).is_err());
        assert!(args(&["--listen", "nowhere"]).is_err());
        assert!(args(&["--bogus"]).is_err());
        assert!(args(&["--namespace"]).is_err());
    }
}
