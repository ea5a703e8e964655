//! Which CertificateRequests an issuer's change wakes: the unfinished ones that name it,
//! once it is Ready for its current generation.
//!
//! A request that finds its issuer missing or not Ready is requeued after
//! [`Settings::issuer_wait`](crate::controller::Settings) (30 s). cert-manager's issuers
//! built on issuer-lib wake such requests when the issuer turns Ready; so does this
//! mapper, given to the request controller's `watches` for both issuer kinds. A woken
//! request that is in backoff or polling is still held back by the reconciler, so a
//! wake-up never sends a CMP message early.

use kube::ResourceExt;
use kube::runtime::reflector::{ObjectRef, Store};

use crate::cert_manager::CertificateRequest;
use crate::issuer_health::IssuerObject;
use crate::status;
use crate::triage::{self, IssuerKind};

/// The unfinished requests in `requests` that name `issuer`, when `issuer` is Ready for
/// its current generation; none otherwise (a not-Ready issuer has nothing to offer them).
pub fn requests_waiting_on<K: IssuerObject>(
    requests: &Store<CertificateRequest>,
    issuer: &K,
) -> Vec<ObjectRef<CertificateRequest>> {
    if status::issuer_ready(issuer.issuer_status(), issuer.meta().generation).is_err() {
        return Vec::new();
    }
    let name = issuer.name_any();
    let namespace = issuer.namespace();
    requests
        .state()
        .iter()
        .filter(|r| names_issuer(r, K::KIND, &name, namespace.as_deref()))
        .filter(|r| !triage::is_finished(r))
        .map(|r| ObjectRef::from_obj(r.as_ref()))
        .collect()
}

/// Whether `request`'s issuerRef names this issuer: our group, the kind, the name, and
/// for a namespaced issuer the request's own namespace.
fn names_issuer(
    request: &CertificateRequest,
    kind: IssuerKind,
    name: &str,
    namespace: Option<&str>,
) -> bool {
    triage::issuer_kind(request) == Some(kind)
        && request.spec.issuer_ref.name == name
        && (kind == IssuerKind::Cluster || request.namespace().as_deref() == namespace)
}

#[cfg(test)]
mod tests {
    use kube::runtime::reflector;
    use kube::runtime::watcher::Event;
    use serde_json::{Value, json};

    use super::*;
    use crate::api::{CMPv2ClusterIssuer, CMPv2Issuer};

    fn request(
        namespace: &str,
        name: &str,
        kind: &str,
        issuer: &str,
        ready: Option<(&str, &str)>,
    ) -> CertificateRequest {
        let mut value = json!({
            "apiVersion": "cert-manager.io/v1",
            "kind": "CertificateRequest",
            "metadata": {"name": name, "namespace": namespace, "uid": format!("uid-{name}")},
            "spec": {
                "request": "",
                "issuerRef": {"group": "cmpv2-issuer.dev", "kind": kind, "name": issuer}
            }
        });
        if let Some((status, reason)) = ready {
            value["status"] = json!({"conditions": [
                {"type": "Ready", "status": status, "reason": reason}
            ]});
        }
        serde_json::from_value(value).expect("a CertificateRequest")
    }

    fn issuer_value(kind: &str, name: &str, ready: &str, observed: i64) -> Value {
        json!({
            "apiVersion": "cmpv2-issuer.dev/v1alpha1",
            "kind": kind,
            "metadata": {"name": name, "namespace": "apps", "generation": 2},
            "spec": {"url": "http://ca.example/", "protection": {"sharedSecret": {
                "secretRef": {"name": "s", "key": "k"}, "reference": "r"}}},
            "status": {"conditions": [
                {"type": "Ready", "status": ready, "observedGeneration": observed}
            ]}
        })
    }

    fn store(requests: Vec<CertificateRequest>) -> Store<CertificateRequest> {
        let (reader, mut writer) = reflector::store();
        for r in requests {
            writer.apply_watcher_event(&Event::Apply(r));
        }
        reader
    }

    fn names(mut refs: Vec<ObjectRef<CertificateRequest>>) -> Vec<String> {
        refs.sort_by(|a, b| a.name.cmp(&b.name));
        refs.into_iter().map(|r| r.name).collect()
    }

    #[test]
    fn a_ready_issuer_wakes_its_unfinished_requests_only() {
        let requests = store(vec![
            request(
                "apps",
                "waiting",
                "CMPv2Issuer",
                "ca",
                Some(("False", "Pending")),
            ),
            request("apps", "new", "CMPv2Issuer", "ca", None),
            request(
                "apps",
                "issued",
                "CMPv2Issuer",
                "ca",
                Some(("True", "Issued")),
            ),
            request(
                "apps",
                "failed",
                "CMPv2Issuer",
                "ca",
                Some(("False", "Failed")),
            ),
            request("apps", "other-issuer", "CMPv2Issuer", "other", None),
            request("other-ns", "same-name-elsewhere", "CMPv2Issuer", "ca", None),
            request("apps", "cluster-kind", "CMPv2ClusterIssuer", "ca", None),
        ]);
        let issuer: CMPv2Issuer =
            serde_json::from_value(issuer_value("CMPv2Issuer", "ca", "True", 2)).unwrap();
        assert_eq!(
            names(requests_waiting_on(&requests, &issuer)),
            ["new", "waiting"]
        );
    }

    #[test]
    fn a_cluster_issuer_wakes_requests_in_every_namespace() {
        let requests = store(vec![
            request("apps", "a", "CMPv2ClusterIssuer", "ca", None),
            request(
                "web",
                "b",
                "CMPv2ClusterIssuer",
                "ca",
                Some(("False", "Pending")),
            ),
            request("web", "namespaced-kind", "CMPv2Issuer", "ca", None),
        ]);
        let mut value = issuer_value("CMPv2ClusterIssuer", "ca", "True", 2);
        value["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("namespace");
        let issuer: CMPv2ClusterIssuer = serde_json::from_value(value).unwrap();
        assert_eq!(names(requests_waiting_on(&requests, &issuer)), ["a", "b"]);
    }

    #[test]
    fn an_issuer_not_ready_for_its_generation_wakes_nothing() {
        let requests = store(vec![request("apps", "new", "CMPv2Issuer", "ca", None)]);
        for (ready, observed) in [("False", 2), ("Unknown", 2), ("True", 1)] {
            let issuer: CMPv2Issuer =
                serde_json::from_value(issuer_value("CMPv2Issuer", "ca", ready, observed)).unwrap();
            assert!(
                requests_waiting_on(&requests, &issuer).is_empty(),
                "{ready} for generation {observed}"
            );
        }
    }
}
