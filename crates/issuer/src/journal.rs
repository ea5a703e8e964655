//! The transaction in flight for a CertificateRequest, kept in an annotation on the
//! request itself and written with optimistic concurrency: each write names the
//! resourceVersion it read, so a second writer (another replica that lost its lease, or
//! a stale cache) gets a conflict instead of overwriting, and nothing is sent.

use k8s_openapi::ByteString;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde_json::json;

use crate::cert_manager::CertificateRequest;
use crate::signer::Journal;
use crate::status::FIELD_MANAGER;

/// The annotation holding the base64 checkpoint (`InFlightEnrollment::to_bytes`).
pub const IN_FLIGHT_ANNOTATION: &str = "cmpv2-issuer.dev/in-flight";

/// The checkpoint recorded on `request`, if any. An annotation that is not base64 is
/// returned as is, so that decoding it fails as a corrupt checkpoint instead of being
/// taken for no checkpoint at all.
pub fn recorded(request: &CertificateRequest) -> Option<Vec<u8>> {
    let text = request
        .metadata
        .annotations
        .as_ref()?
        .get(IN_FLIGHT_ANNOTATION)?;
    Some(decode_base64(text).unwrap_or_else(|| text.clone().into_bytes()))
}

/// Base64 as Kubernetes writes `[]byte` (standard alphabet, padded).
pub fn encode_base64(bytes: &[u8]) -> String {
    // ByteString always serializes to a JSON string.
    serde_json::to_value(ByteString(bytes.to_vec()))
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn decode_base64(text: &str) -> Option<Vec<u8>> {
    serde_json::from_value::<ByteString>(json!(text))
        .ok()
        .map(|b| b.0)
}

/// Writes checkpoints to one request's annotation.
pub struct AnnotationJournal {
    api: Api<CertificateRequest>,
    name: String,
    resource_version: Option<String>,
}

impl AnnotationJournal {
    /// A journal for `request`, starting from the resourceVersion it was read at.
    pub fn new(api: Api<CertificateRequest>, request: &CertificateRequest) -> Self {
        Self {
            api,
            name: request.metadata.name.clone().unwrap_or_default(),
            resource_version: request.metadata.resource_version.clone(),
        }
    }
}

impl Journal for AnnotationJournal {
    type Error = kube::Error;

    async fn record(&mut self, checkpoint: &[u8]) -> Result<(), kube::Error> {
        let patch = json!({
            "metadata": {
                "resourceVersion": self.resource_version,
                "annotations": { IN_FLIGHT_ANNOTATION: encode_base64(checkpoint) },
            }
        });
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.to_owned()),
            ..PatchParams::default()
        };
        let updated = self
            .api
            .patch(&self.name, &params, &Patch::Merge(&patch))
            .await?;
        self.resource_version = updated.metadata.resource_version;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn checkpoints_round_trip_through_the_annotation() {
        let bytes = vec![0x30, 0x03, 0x02, 0x01, 0x01, 0xff];
        let mut request = CertificateRequest::new("r", Default::default());
        assert_eq!(recorded(&request), None);
        request.metadata.annotations = Some(BTreeMap::from([(
            IN_FLIGHT_ANNOTATION.to_owned(),
            encode_base64(&bytes),
        )]));
        assert_eq!(encode_base64(&bytes), "MAMCAQH/");
        assert_eq!(recorded(&request), Some(bytes));
    }

    #[test]
    fn a_damaged_annotation_is_still_a_checkpoint() {
        let mut request = CertificateRequest::new("r", Default::default());
        request.metadata.annotations = Some(BTreeMap::from([(
            IN_FLIGHT_ANNOTATION.to_owned(),
            "not base64!".to_owned(),
        )]));
        assert_eq!(recorded(&request), Some(b"not base64!".to_vec()));
    }
}
