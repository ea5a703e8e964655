//! `deploy/crds/` and the chart's `crds/` must be what `crdgen` writes from the Rust
//! types; regenerate with
//! `cargo run -p cmpv2-issuer --bin crdgen -- deploy/crds deploy/chart/cmpv2-issuer/crds`.

use std::path::Path;

use cmpv2_issuer::api::{CMPv2ClusterIssuer, CMPv2Issuer, GROUP};
use kube::{CustomResourceExt, Resource};

#[test]
fn deploy_crds_match_the_types() {
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
    for dir in ["crds", "chart/cmpv2-issuer/crds"] {
        for (file, yaml) in cmpv2_issuer::crds::render() {
            let on_disk = std::fs::read_to_string(deploy.join(dir).join(file))
                .unwrap_or_else(|e| panic!("deploy/{dir}/{file}: {e}; run crdgen"));
            assert!(
                on_disk == yaml,
                "deploy/{dir}/{file} drifted from the types: run `cargo run -p cmpv2-issuer \
                 --bin crdgen -- deploy/crds deploy/chart/cmpv2-issuer/crds`"
            );
        }
    }
}

#[test]
fn kinds_group_and_scope_are_the_contracted_ones() {
    assert_eq!(GROUP, "cmpv2-issuer.dev");
    assert_eq!(CMPv2Issuer::group(&()), GROUP);
    assert_eq!(CMPv2Issuer::version(&()), "v1alpha1");
    assert_eq!(CMPv2Issuer::crd().spec.scope, "Namespaced");
    assert_eq!(CMPv2ClusterIssuer::kind(&()), "CMPv2ClusterIssuer");
    assert_eq!(CMPv2ClusterIssuer::crd().spec.scope, "Cluster");
}

#[test]
fn spec_defaults_and_field_names_follow_the_docs() {
    let issuer: CMPv2Issuer = serde_json::from_value(serde_json::json!({
        "apiVersion": "cmpv2-issuer.dev/v1alpha1",
        "kind": "CMPv2Issuer",
        "metadata": {"name": "ejbca", "namespace": "default"},
        "spec": {
            "url": "https://ejbca.example/ejbca/publicweb/cmp/ra",
            "protection": {"sharedSecret": {
                "secretRef": {"name": "cmp", "key": "secret"},
                "reference": "ra-user",
                "mac": "PBMAC1"
            }}
        }
    }))
    .expect("a minimal issuer parses");
    let spec = &issuer.spec;
    assert_eq!(spec.request_type, cmpv2_issuer::api::RequestType::Cr);
    assert!(!spec.implicit_confirm);
    assert_eq!(spec.limits.max_retry_seconds, 3600);
    let mac = spec
        .protection
        .shared_secret
        .as_ref()
        .expect("shared secret");
    assert_eq!(mac.mac, cmpv2_issuer::api::MacKind::Pbmac1);
    let back = serde_json::to_value(&issuer.spec).expect("serializes");
    assert_eq!(back["protection"]["sharedSecret"]["mac"], "PBMAC1");
    assert_eq!(back["requestType"], "cr");
}
