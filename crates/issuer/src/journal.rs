//! The transaction in flight for a CertificateRequest, kept in an annotation on the
//! request itself and written with optimistic concurrency: each write names the
//! resourceVersion it read, so a second writer (another replica that lost its lease, or
//! a stale cache) gets a conflict instead of overwriting, and nothing is sent.
//!
//! Once the CA has issued and the certificate is confirmed, the checkpoint is replaced
//! by the result ([`ISSUED_ANNOTATION`]) before the status is written, so that a status
//! write that fails, or a restart in between, cannot lose the certificate: the next
//! attempt writes the status from it without asking the CA again.

use k8s_openapi::ByteString;
use kube::Api;
use kube::api::{Patch, PatchParams};
use serde::{Deserialize, Serialize};
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

/// The annotation holding an issued certificate until the status carries it
/// ([`IssuedRecord`] as JSON).
pub const ISSUED_ANNOTATION: &str = "cmpv2-issuer.dev/issued";

/// What the CA issued for a request: what its status gets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuedRecord {
    /// `status.certificate`: PEM, leaf first.
    pub certificate: String,
    /// `status.ca`: PEM.
    pub ca: String,
    /// The CA changed what was asked (RFC 4210 §5.2.3 grantedWithMods).
    pub granted_with_mods: bool,
    /// For an issuer with a shared secret: an HMAC under it over the request's UID and
    /// this record ([`crate::recorded::seal`]), so that a record nobody but this issuer
    /// could have written is told apart from one anybody could.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal: Option<String>,
}

/// The issued certificate recorded on `request`, if any; an error when the annotation is
/// there but unreadable (then the request must not be enrolled again either).
pub fn issued(request: &CertificateRequest) -> Option<Result<IssuedRecord, String>> {
    let text = request
        .metadata
        .annotations
        .as_ref()?
        .get(ISSUED_ANNOTATION)?;
    Some(serde_json::from_str(text).map_err(|e| {
        format!("the annotation {ISSUED_ANNOTATION} is unreadable ({e}); not enrolling again")
    }))
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
    /// Our annotations as last read or written.
    seen: Annotations,
}

/// The values of our two annotations on a request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Annotations {
    in_flight: Option<String>,
    issued: Option<String>,
}

impl Annotations {
    fn of(request: &CertificateRequest) -> Self {
        let get = |key: &str| {
            request
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(key).cloned())
        };
        Self {
            in_flight: get(IN_FLIGHT_ANNOTATION),
            issued: get(ISSUED_ANNOTATION),
        }
    }
}

impl AnnotationJournal {
    /// A journal for `request`, starting from the resourceVersion it was read at.
    pub fn new(api: Api<CertificateRequest>, request: &CertificateRequest) -> Self {
        Self {
            api,
            name: request.metadata.name.clone().unwrap_or_default(),
            resource_version: request.metadata.resource_version.clone(),
            seen: Annotations::of(request),
        }
    }
}

impl AnnotationJournal {
    /// Replaces the checkpoint by what was issued, in one conditional write.
    pub async fn record_issued(&mut self, issued: &IssuedRecord) -> Result<(), kube::Error> {
        let value = serde_json::to_string(issued).map_err(kube::Error::SerdeError)?;
        self.write(json!({ IN_FLIGHT_ANNOTATION: null, ISSUED_ANNOTATION: value }))
            .await
    }

    /// A merge patch of `annotations`, conditional on the resourceVersion last seen.
    ///
    /// On a conflict the request is read again: when only others' fields changed (an
    /// approver's or our own status write, a label), our annotations are as we left them
    /// and the write is tried once more at the new resourceVersion; when they changed,
    /// another writer is at work and the conflict stands.
    async fn write(&mut self, annotations: serde_json::Value) -> Result<(), kube::Error> {
        match self.patch(&annotations).await {
            Err(kube::Error::Api(status)) if status.code == 409 => {
                let fresh = self.api.get(&self.name).await?;
                if Annotations::of(&fresh) != self.seen {
                    return Err(kube::Error::Api(status));
                }
                self.resource_version = fresh.metadata.resource_version;
                self.patch(&annotations).await
            }
            other => other,
        }
    }

    async fn patch(&mut self, annotations: &serde_json::Value) -> Result<(), kube::Error> {
        let patch = json!({
            "metadata": {
                "resourceVersion": self.resource_version,
                "annotations": annotations,
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
        self.resource_version = updated.metadata.resource_version.clone();
        self.seen = Annotations::of(&updated);
        Ok(())
    }
}

impl Journal for AnnotationJournal {
    type Error = kube::Error;

    async fn record(&mut self, checkpoint: &[u8]) -> Result<(), kube::Error> {
        self.write(json!({ IN_FLIGHT_ANNOTATION: encode_base64(checkpoint) }))
            .await
    }

    async fn clear(&mut self) -> Result<(), kube::Error> {
        self.write(json!({ IN_FLIGHT_ANNOTATION: null })).await
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

    #[test]
    fn issued_records_round_trip_and_damage_is_an_error() {
        let record = IssuedRecord {
            certificate: "-----BEGIN CERTIFICATE-----\n".into(),
            ca: "-----BEGIN CERTIFICATE-----\n".into(),
            granted_with_mods: true,
            seal: Some("00ff".into()),
        };
        let mut request = CertificateRequest::new("r", Default::default());
        assert_eq!(issued(&request), None);
        let text = serde_json::to_string(&record).expect("json");
        assert!(text.contains("\"grantedWithMods\":true"), "{text}");
        request.metadata.annotations = Some(BTreeMap::from([(ISSUED_ANNOTATION.to_owned(), text)]));
        assert_eq!(issued(&request), Some(Ok(record)));
        request.metadata.annotations = Some(BTreeMap::from([(
            ISSUED_ANNOTATION.to_owned(),
            "{\"certificate\":".to_owned(),
        )]));
        assert!(matches!(issued(&request), Some(Err(_))));
    }
}
