//! Conditions and status documents the issuer writes: the Ready condition of a
//! CertificateRequest and of an issuer, and the server-side apply bodies for their
//! `/status` subresources. Only the fields the issuer owns go out, under field manager
//! [`FIELD_MANAGER`], so an approver's conditions are never overwritten.

use std::time::SystemTime;

use k8s_openapi::ByteString;
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

use crate::api::{IssuerCondition, IssuerStatus};
use crate::cert_manager::{CertificateRequest, RequestCondition};
use crate::triage::condition;

/// The field manager of every write (server-side apply).
pub const FIELD_MANAGER: &str = "cmpv2-issuer";

/// Longest condition message written. A CA's status text is the peer's to choose; the
/// rest is cut with a marker so an object never grows without bound.
pub const MAX_MESSAGE_LEN: usize = 1024;

/// `time` as Kubernetes writes times: RFC 3339, UTC, whole seconds.
pub fn rfc3339(time: SystemTime) -> String {
    let seconds = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let seconds = i64::try_from(seconds).unwrap_or(i64::MAX);
    Timestamp::from_second(seconds)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Cuts `message` to [`MAX_MESSAGE_LEN`] bytes on a character boundary and removes
/// control characters, which a CA's status text may carry.
pub fn bounded_message(message: &str) -> String {
    let clean: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if clean.len() <= MAX_MESSAGE_LEN {
        return clean;
    }
    let mut end = MAX_MESSAGE_LEN - 3;
    while !clean.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &clean[..end])
}

/// The Ready condition to write. Its lastTransitionTime stays what it was while the
/// status value does not change (Kubernetes API conventions).
pub fn ready_condition(
    previous: Option<&RequestCondition>,
    status: &str,
    reason: &str,
    message: &str,
    now: SystemTime,
) -> RequestCondition {
    let last_transition_time = match previous {
        Some(p) if p.status == status && p.last_transition_time.is_some() => {
            p.last_transition_time.clone()
        }
        _ => Some(rfc3339(now)),
    };
    RequestCondition {
        type_: condition::READY.to_owned(),
        status: status.to_owned(),
        reason: Some(reason.to_owned()),
        message: Some(bounded_message(message)),
        last_transition_time,
        observed_generation: None,
    }
}

/// What the issuer writes to a CertificateRequest's status in one apply.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RequestStatusUpdate {
    /// The Ready condition.
    pub ready: Option<RequestCondition>,
    /// `status.certificate` (PEM).
    pub certificate: Option<String>,
    /// `status.ca` (PEM).
    pub ca: Option<String>,
    /// `status.failureTime`, for Failed and Denied.
    pub failure_time: Option<String>,
}

impl RequestStatusUpdate {
    /// The server-side apply body for `/status`: apiVersion, kind, name and only the
    /// fields set here.
    pub fn apply_body(&self, request: &CertificateRequest) -> Value {
        let mut status = serde_json::Map::new();
        if let Some(ready) = &self.ready {
            status.insert("conditions".into(), json!([ready]));
        }
        if let Some(pem) = &self.certificate {
            status.insert(
                "certificate".into(),
                json!(ByteString(pem.clone().into_bytes())),
            );
        }
        if let Some(pem) = &self.ca {
            status.insert("ca".into(), json!(ByteString(pem.clone().into_bytes())));
        }
        if let Some(time) = &self.failure_time {
            status.insert("failureTime".into(), json!(time));
        }
        json!({
            "apiVersion": "cert-manager.io/v1",
            "kind": "CertificateRequest",
            "metadata": {
                "name": request.metadata.name,
                "namespace": request.metadata.namespace,
            },
            "status": status,
        })
    }
}

/// Why an issuer cannot sign now (the message of a request's Pending condition), or
/// `Ok` when its Ready condition is True for its current generation.
pub fn issuer_ready(status: Option<&IssuerStatus>, generation: Option<i64>) -> Result<(), String> {
    let ready = status.and_then(|s| s.conditions.iter().find(|c| c.type_ == condition::READY));
    let Some(ready) = ready else {
        return Err("the issuer has not been checked yet".to_owned());
    };
    if ready.status != condition::TRUE {
        return Err(format!(
            "the issuer is not ready: {}",
            ready.message.as_deref().unwrap_or("no reason given")
        ));
    }
    if ready.observed_generation != generation {
        return Err("the issuer changed and has not been checked again yet".to_owned());
    }
    Ok(())
}

/// An issuer's Ready condition for `generation`; lastTransitionTime kept while the value
/// does not change.
pub fn issuer_condition(
    previous: Option<&IssuerStatus>,
    status: &str,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    now: SystemTime,
) -> IssuerCondition {
    let previous = previous.and_then(|s| s.conditions.iter().find(|c| c.type_ == condition::READY));
    let last_transition_time = match previous {
        Some(p) if p.status == status && p.last_transition_time.is_some() => {
            p.last_transition_time.clone()
        }
        _ => Some(rfc3339(now)),
    };
    IssuerCondition {
        type_: condition::READY.to_owned(),
        status: status.to_owned(),
        reason: Some(reason.to_owned()),
        message: Some(bounded_message(message)),
        last_transition_time,
        observed_generation: generation,
    }
}

/// The server-side apply body for an issuer's `/status`.
pub fn issuer_apply_body(
    kind: &str,
    name: &str,
    namespace: Option<&str>,
    ready: &IssuerCondition,
) -> Value {
    json!({
        "apiVersion": "cmpv2-issuer.dev/v1alpha1",
        "kind": kind,
        "metadata": { "name": name, "namespace": namespace },
        "status": { "conditions": [ready] },
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn times_are_rfc3339_utc_seconds() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_000_000);
        assert_eq!(rfc3339(t), "2026-11-18T11:06:40Z");
    }

    #[test]
    fn messages_are_bounded_and_free_of_control_characters() {
        assert_eq!(bounded_message("a\nb\u{7}c"), "a b c");
        let long = "é".repeat(MAX_MESSAGE_LEN);
        let cut = bounded_message(&long);
        assert!(cut.len() <= MAX_MESSAGE_LEN, "{}", cut.len());
        assert!(cut.ends_with("..."));
    }

    #[test]
    fn transition_time_changes_only_with_the_status_value() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        let t1 = t0 + Duration::from_secs(60);
        let first = ready_condition(None, "False", "Pending", "waiting", t0);
        let same = ready_condition(Some(&first), "False", "Pending", "still waiting", t1);
        assert_eq!(same.last_transition_time, first.last_transition_time);
        let changed = ready_condition(Some(&same), "True", "Issued", "done", t1);
        assert_eq!(changed.last_transition_time, Some(rfc3339(t1)));
    }

    #[test]
    fn issuer_must_be_ready_for_its_current_generation() {
        let status = |value: &str, generation| IssuerStatus {
            conditions: vec![IssuerCondition {
                type_: "Ready".into(),
                status: value.into(),
                reason: None,
                message: Some("CA unreachable".into()),
                last_transition_time: None,
                observed_generation: generation,
            }],
        };
        assert!(issuer_ready(None, Some(1)).is_err());
        let err = issuer_ready(Some(&status("False", Some(1))), Some(1)).unwrap_err();
        assert!(err.contains("CA unreachable"), "{err}");
        assert!(issuer_ready(Some(&status("True", Some(1))), Some(2)).is_err());
        assert_eq!(
            issuer_ready(Some(&status("True", Some(2))), Some(2)),
            Ok(())
        );
    }

    #[test]
    fn apply_body_carries_only_what_is_set() {
        let request = CertificateRequest::new("r", Default::default());
        let body = RequestStatusUpdate {
            certificate: Some("PEM".into()),
            ..RequestStatusUpdate::default()
        }
        .apply_body(&request);
        assert_eq!(body["status"]["certificate"], "UEVN");
        assert!(body["status"].get("conditions").is_none());
        assert!(body["status"].get("failureTime").is_none());
        assert_eq!(body["kind"], "CertificateRequest");
    }
}
