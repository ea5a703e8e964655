//! What to do with a CertificateRequest before any CA is involved: whether it is ours,
//! finished, waiting for an approver, denied, or ready to be signed. Pure functions over
//! the object, so that every rule of the contract has a plain unit test.
//!
//! The rules are cert-manager's external-issuer contract as its issuer-lib implements
//! it (`shared/k8s-notes.md`): a request is ours only when `spec.issuerRef.group` is our
//! group exactly and the kind is one of ours; terminal requests are never touched; a
//! request is not written to at all until an approver sets `Approved=True` or
//! `Denied=True`; `Denied=True` ends it with reason `Denied`; an approved request first
//! gets `Ready=Unknown/Initializing`, then is signed.

use crate::api::GROUP;
use crate::cert_manager::CertificateRequest;

/// The kinds of issuer a request can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IssuerKind {
    /// `CMPv2Issuer`, in the request's namespace.
    Namespaced,
    /// `CMPv2ClusterIssuer`.
    Cluster,
}

impl IssuerKind {
    /// The kind's name as `spec.issuerRef.kind` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Namespaced => "CMPv2Issuer",
            Self::Cluster => "CMPv2ClusterIssuer",
        }
    }
}

/// Condition types and values of cert-manager's API.
pub mod condition {
    /// Set by an approver.
    pub const APPROVED: &str = "Approved";
    /// Set by an approver.
    pub const DENIED: &str = "Denied";
    /// Set by the issuer.
    pub const READY: &str = "Ready";
    /// Condition status.
    pub const TRUE: &str = "True";
    /// Condition status.
    pub const FALSE: &str = "False";
    /// Condition status.
    pub const UNKNOWN: &str = "Unknown";
}

/// Ready reasons, exactly as issuer-lib writes them (cert-manager and users key on
/// them).
pub mod reason {
    /// First sight of the request.
    pub const INITIALIZING: &str = "Initializing";
    /// Waiting for the issuer, the CA, or a retry.
    pub const PENDING: &str = "Pending";
    /// Failed for good.
    pub const FAILED: &str = "Failed";
    /// Denied by an approver.
    pub const DENIED: &str = "Denied";
    /// The certificate is written.
    pub const ISSUED: &str = "Issued";
}

/// The next step for a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Triage {
    /// Not ours (another group or kind): no write, ever.
    NotOurs,
    /// Issued, Failed or Denied already: never touched again.
    Finished,
    /// No Ready condition yet: write `Ready=Unknown/Initializing` first.
    Initialize,
    /// `Denied=True`: write `Ready=False/Denied` with `failureTime`.
    Deny,
    /// Neither approved nor denied: wait for the approver, without a write.
    AwaitApproval,
    /// Approved: sign it with this issuer.
    Sign {
        /// Which kind of issuer.
        kind: IssuerKind,
        /// The issuer's name (in the request's namespace for [`IssuerKind::Namespaced`]).
        name: String,
    },
}

/// The kind a request's `issuerRef` names, when it names one of ours.
pub fn issuer_kind(request: &CertificateRequest) -> Option<IssuerKind> {
    let issuer_ref = &request.spec.issuer_ref;
    if issuer_ref.group.as_deref() != Some(GROUP) {
        return None;
    }
    match issuer_ref.kind.as_deref() {
        None | Some("") | Some("CMPv2Issuer") => Some(IssuerKind::Namespaced),
        Some("CMPv2ClusterIssuer") => Some(IssuerKind::Cluster),
        Some(_) => None,
    }
}

/// Whether the request is done: Ready=True, Ready=False with reason Failed or Denied, or
/// a certificate already written.
pub fn is_finished(request: &CertificateRequest) -> bool {
    let Some(status) = &request.status else {
        return false;
    };
    if status.certificate.as_ref().is_some_and(|c| !c.0.is_empty()) {
        return true;
    }
    status.condition(condition::READY).is_some_and(|ready| {
        ready.status == condition::TRUE
            || (ready.status == condition::FALSE
                && matches!(
                    ready.reason.as_deref(),
                    Some(reason::FAILED | reason::DENIED)
                ))
    })
}

fn has_condition(request: &CertificateRequest, type_: &str, status: &str) -> bool {
    request
        .status
        .as_ref()
        .and_then(|s| s.condition(type_))
        .is_some_and(|c| c.status == status)
}

/// The next step for `request`: ownership, terminal states, then nothing at all until an
/// approver has decided (`shared/k8s-notes.md`: "do nothing until the request is
/// Approved=True or Denied=True"), denial, initialization, signing.
pub fn triage(request: &CertificateRequest) -> Triage {
    let Some(kind) = issuer_kind(request) else {
        return Triage::NotOurs;
    };
    if is_finished(request) {
        return Triage::Finished;
    }
    if has_condition(request, condition::DENIED, condition::TRUE) {
        return Triage::Deny;
    }
    if !has_condition(request, condition::APPROVED, condition::TRUE) {
        return Triage::AwaitApproval;
    }
    let has_ready = request
        .status
        .as_ref()
        .and_then(|s| s.condition(condition::READY))
        .is_some();
    if !has_ready {
        return Triage::Initialize;
    }
    Triage::Sign {
        kind,
        name: request.spec.issuer_ref.name.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert_manager::{
        CertificateRequestSpec, CertificateRequestStatus, IssuerRef, RequestCondition,
    };

    fn request(group: Option<&str>, kind: Option<&str>) -> CertificateRequest {
        CertificateRequest::new(
            "req",
            CertificateRequestSpec {
                issuer_ref: IssuerRef {
                    name: "ca".into(),
                    kind: kind.map(Into::into),
                    group: group.map(Into::into),
                },
                ..CertificateRequestSpec::default()
            },
        )
    }

    fn with(
        mut r: CertificateRequest,
        conditions: &[(&str, &str, Option<&str>)],
    ) -> CertificateRequest {
        let status = r
            .status
            .get_or_insert_with(CertificateRequestStatus::default);
        for (type_, value, why) in conditions {
            status.conditions.push(RequestCondition {
                type_: (*type_).into(),
                status: (*value).into(),
                reason: why.map(Into::into),
                ..RequestCondition::default()
            });
        }
        r
    }

    fn ours() -> CertificateRequest {
        request(Some(GROUP), Some("CMPv2Issuer"))
    }

    #[test]
    fn issuer_ref_unknown_group_or_kind_is_not_ours() {
        assert_eq!(triage(&request(None, Some("CMPv2Issuer"))), Triage::NotOurs);
        assert_eq!(
            triage(&request(Some("cert-manager.io"), None)),
            Triage::NotOurs
        );
        assert_eq!(
            triage(&request(Some("cmpv2-issuer.dev.evil"), None)),
            Triage::NotOurs
        );
        assert_eq!(
            triage(&request(Some(GROUP), Some("Issuer"))),
            Triage::NotOurs
        );
    }

    #[test]
    fn empty_kind_means_the_namespaced_issuer() {
        assert_eq!(
            issuer_kind(&request(Some(GROUP), None)),
            Some(IssuerKind::Namespaced)
        );
        assert_eq!(
            issuer_kind(&request(Some(GROUP), Some(""))),
            Some(IssuerKind::Namespaced)
        );
        assert_eq!(
            issuer_kind(&request(Some(GROUP), Some("CMPv2ClusterIssuer"))),
            Some(IssuerKind::Cluster)
        );
    }

    #[test]
    fn initialize_ready_condition_once_approved() {
        let approved = with(ours(), &[(condition::APPROVED, condition::TRUE, None)]);
        assert_eq!(triage(&approved), Triage::Initialize);
    }

    #[test]
    fn ignore_unless_approved_or_denied() {
        // Not even the Ready condition is written before an approver decides.
        assert_eq!(triage(&ours()), Triage::AwaitApproval);
        let r = with(
            ours(),
            &[(
                condition::READY,
                condition::UNKNOWN,
                Some(reason::INITIALIZING),
            )],
        );
        assert_eq!(triage(&r), Triage::AwaitApproval);
        let r = with(r, &[(condition::APPROVED, condition::FALSE, None)]);
        assert_eq!(triage(&r), Triage::AwaitApproval);
    }

    #[test]
    fn denied_without_ready_condition_is_denied_at_once() {
        let r = with(ours(), &[(condition::DENIED, condition::TRUE, None)]);
        assert_eq!(triage(&r), Triage::Deny);
    }

    #[test]
    fn set_ready_denied() {
        let r = with(
            ours(),
            &[
                (condition::READY, condition::FALSE, Some(reason::PENDING)),
                (condition::DENIED, condition::TRUE, None),
            ],
        );
        assert_eq!(triage(&r), Triage::Deny);
    }

    #[test]
    fn already_ready_failed_or_denied_is_finished() {
        for (value, why) in [
            (condition::TRUE, reason::ISSUED),
            (condition::FALSE, reason::FAILED),
            (condition::FALSE, reason::DENIED),
        ] {
            let r = with(
                ours(),
                &[
                    (condition::READY, value, Some(why)),
                    (condition::APPROVED, condition::TRUE, None),
                ],
            );
            assert_eq!(triage(&r), Triage::Finished, "{value}/{why}");
        }
        // Pending is not terminal.
        let pending = with(
            ours(),
            &[
                (condition::READY, condition::FALSE, Some(reason::PENDING)),
                (condition::APPROVED, condition::TRUE, None),
            ],
        );
        assert!(matches!(triage(&pending), Triage::Sign { .. }));
    }

    #[test]
    fn a_written_certificate_is_finished() {
        let mut r = with(
            ours(),
            &[
                (condition::READY, condition::FALSE, Some(reason::PENDING)),
                (condition::APPROVED, condition::TRUE, None),
            ],
        );
        r.status.as_mut().expect("status").certificate = Some(k8s_openapi::ByteString(
            b"-----BEGIN CERTIFICATE-----".to_vec(),
        ));
        assert_eq!(triage(&r), Triage::Finished);
    }

    #[test]
    fn approved_requests_are_signed_by_the_named_issuer() {
        let r = with(
            request(Some(GROUP), Some("CMPv2ClusterIssuer")),
            &[
                (
                    condition::READY,
                    condition::UNKNOWN,
                    Some(reason::INITIALIZING),
                ),
                (condition::APPROVED, condition::TRUE, None),
            ],
        );
        assert_eq!(
            triage(&r),
            Triage::Sign {
                kind: IssuerKind::Cluster,
                name: "ca".into()
            }
        );
    }
}
