//! Reporting: provider errors classified into condition reasons and requeue delays, the status
//! written through the status subresource with server-side apply, and Events. Nothing here ever
//! receives a secret value.

use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Patch, PatchParams};
use kube::runtime::events::{Event, EventType, Recorder};
use kube::{Api, Resource, ResourceExt};

use crate::api::conditions::{DesiredCondition, Reason, merge_condition};
use crate::api::{ManagedSecret, ManagedSecretStatus};
use crate::provider::{ErrorKind, ProviderError};

/// The field manager of every write Keyward makes.
pub use crate::api::well_known::FIELD_MANAGER;

/// Why a reconcile stopped short, for the Ready condition, and when to try again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    pub reason: Reason,
    pub message: String,
    pub requeue: Duration,
}

impl Failure {
    pub fn new(reason: Reason, message: impl Into<String>, requeue: Duration) -> Self {
        Self {
            reason,
            message: message.into(),
            requeue,
        }
    }
}

/// Longest wait a rate limit can impose before Keyward looks again.
const MAX_RATE_LIMIT_WAIT: Duration = Duration::from_secs(600);

/// The condition reason and requeue of a provider error. Temporary problems come back soon; problems
/// that need a person (credentials, permissions, keys) are looked at every minute, and a spec or
/// credentials change triggers a reconcile at once anyway.
pub fn provider_failure(err: &ProviderError) -> Failure {
    let (reason, requeue) = match err.kind() {
        ErrorKind::RateLimited { retry_after } => (
            Reason::RateLimited,
            retry_after
                .unwrap_or(Duration::from_secs(30))
                .clamp(Duration::from_secs(1), MAX_RATE_LIMIT_WAIT),
        ),
        ErrorKind::Unauthorized => (Reason::AuthFailed, Duration::from_secs(60)),
        ErrorKind::Forbidden => (Reason::PermissionDenied, Duration::from_secs(60)),
        ErrorKind::KeyUnavailable => (Reason::KeyUnavailable, Duration::from_secs(60)),
        ErrorKind::Protected => (Reason::Protected, Duration::from_secs(300)),
        ErrorKind::NotFound => (Reason::RemoteNotFound, Duration::from_secs(30)),
        ErrorKind::Conflict => (Reason::Conflict, Duration::from_secs(60)),
        ErrorKind::InvalidArgument { .. } => (Reason::InvalidArgument, Duration::from_secs(300)),
        kind if kind.is_temporary() => (Reason::ProviderError, Duration::from_secs(15)),
        _ => (Reason::ProviderError, Duration::from_secs(60)),
    };
    Failure::new(reason, err.to_string(), requeue)
}

/// Write the status (all of it: Keyward owns every status field) with server-side apply.
pub async fn patch_status(
    api: &Api<ManagedSecret>,
    name: &str,
    status: &ManagedSecretStatus,
) -> Result<(), kube::Error> {
    let body = serde_json::json!({
        "apiVersion": ManagedSecret::api_version(&()),
        "kind": ManagedSecret::kind(&()),
        "status": status,
    });
    api.patch_status(
        name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&body),
    )
    .await
    .map(|_| ())
}

/// Merge a Ready condition into a status.
pub fn set_ready(status: &mut ManagedSecretStatus, ready: DesiredCondition, now: jiff::Timestamp) {
    status.conditions = merge_condition(&status.conditions, ready, now);
}

/// An Event to publish about a ManagedSecret. `note` is built by Keyward from names, ids and
/// revisions only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub warning: bool,
    pub reason: &'static str,
    pub action: &'static str,
    pub note: String,
}

impl Note {
    pub fn normal(reason: &'static str, action: &'static str, note: impl Into<String>) -> Self {
        Self {
            warning: false,
            reason,
            action,
            note: note.into(),
        }
    }
    pub fn warning(reason: &'static str, action: &'static str, note: impl Into<String>) -> Self {
        Self {
            warning: true,
            reason,
            action,
            note: note.into(),
        }
    }
}

/// Publish Events; a failure to publish is logged, never fatal.
pub async fn publish(recorder: &Recorder, ms: &ManagedSecret, notes: &[Note]) {
    let reference = ms.object_ref(&());
    for n in notes {
        let event = Event {
            type_: if n.warning {
                EventType::Warning
            } else {
                EventType::Normal
            },
            reason: n.reason.to_owned(),
            note: Some(n.note.clone()),
            action: n.action.to_owned(),
            secondary: None,
        };
        if let Err(e) = recorder.publish(&event, &reference).await {
            tracing::warn!(name = %ms.name_any(), error = %e, "publishing an Event failed");
        }
    }
}

/// `now` as a Kubernetes time.
pub fn time(now: jiff::Timestamp) -> Time {
    Time(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(kind: ErrorKind) -> ProviderError {
        ProviderError::new("scaleway", "create_version", kind, "boom")
    }

    #[test]
    fn provider_errors_map_to_reasons_and_requeues() {
        let rows = [
            (
                ErrorKind::RateLimited {
                    retry_after: Some(Duration::from_secs(7)),
                },
                Reason::RateLimited,
                7,
            ),
            (
                ErrorKind::RateLimited { retry_after: None },
                Reason::RateLimited,
                30,
            ),
            (
                ErrorKind::RateLimited {
                    retry_after: Some(Duration::from_secs(86_400)),
                },
                Reason::RateLimited,
                600,
            ),
            (ErrorKind::Unauthorized, Reason::AuthFailed, 60),
            (ErrorKind::Forbidden, Reason::PermissionDenied, 60),
            (ErrorKind::KeyUnavailable, Reason::KeyUnavailable, 60),
            (ErrorKind::Protected, Reason::Protected, 300),
            (ErrorKind::NotFound, Reason::RemoteNotFound, 30),
            (ErrorKind::Conflict, Reason::Conflict, 60),
            (
                ErrorKind::InvalidArgument { details: vec![] },
                Reason::InvalidArgument,
                300,
            ),
            (ErrorKind::ServerError, Reason::ProviderError, 15),
            (ErrorKind::Transport, Reason::ProviderError, 15),
            (ErrorKind::Transient, Reason::ProviderError, 15),
            (ErrorKind::InvalidResponse, Reason::ProviderError, 60),
            (ErrorKind::QuotaExceeded, Reason::ProviderError, 60),
        ];
        for (kind, reason, secs) in rows {
            let f = provider_failure(&err(kind.clone()));
            assert_eq!(f.reason, reason, "{kind:?}");
            assert_eq!(f.requeue, Duration::from_secs(secs), "{kind:?}");
            assert!(f.message.contains("create_version"), "{}", f.message);
        }
    }
}
