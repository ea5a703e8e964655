//! The CustomResourceDefinitions of [`crate::api`], as `deploy/crds/` holds them.

use kube::CustomResourceExt;

use crate::api::{CMPv2ClusterIssuer, CMPv2Issuer};

/// Each CRD's file name under `deploy/crds/` and its YAML.
pub fn render() -> Vec<(&'static str, String)> {
    [
        (
            "cmpv2-issuer.dev_cmpv2issuers.yaml",
            serde_yaml::to_string(&CMPv2Issuer::crd()),
        ),
        (
            "cmpv2-issuer.dev_cmpv2clusterissuers.yaml",
            serde_yaml::to_string(&CMPv2ClusterIssuer::crd()),
        ),
    ]
    .into_iter()
    .map(|(file, yaml)| (file, yaml.expect("a CRD always serializes to YAML")))
    .collect()
}
