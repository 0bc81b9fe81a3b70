//! Condition types, reasons, and the one function that merges a new condition into a status.
//!
//! Reasons live in one enum so the same word feeds the condition, the Event reason and metric
//! labels. Messages must say what happened and what to do, and never contain a secret value.

use std::fmt;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

/// The condition type every Keyward object reports.
pub const READY: &str = "Ready";

/// Status values of a condition.
pub const TRUE: &str = "True";
/// Status values of a condition.
pub const FALSE: &str = "False";
/// Status values of a condition.
pub const UNKNOWN: &str = "Unknown";

/// Why a condition has its status. `as_str` is the CamelCase word Kubernetes expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The remote secret and the target Secret are in step (Ready=True).
    Synced,
    /// Keyward is working towards the desired state (first reconcile, rotation in progress).
    Reconciling,
    /// The spec is invalid in a way the API server could not catch.
    InvalidSpec,
    /// The referenced store does not exist.
    StoreNotFound,
    /// The store exists but is not usable (its own Ready condition is False).
    StoreNotReady,
    /// A ClusterSecretStore does not allow this namespace.
    StoreNotAllowed,
    /// The credentials Secret (or one of its keys) is missing.
    CredentialsNotFound,
    /// The provider rejected the credentials.
    AuthFailed,
    /// The credentials are valid but lack a permission.
    PermissionDenied,
    /// The provider failed (server error, transport error, unexpected answer).
    ProviderError,
    /// The provider asked Keyward to slow down; it retries later.
    RateLimited,
    /// The encryption key of the secret is disabled or deleted.
    KeyUnavailable,
    /// The remote secret (adopted or recorded in status) does not exist.
    RemoteNotFound,
    /// The remote secret is locked by the provider; no action is possible.
    RemoteLocked,
    /// The provider rejected a value or an argument.
    InvalidArgument,
    /// The fromSecret source Secret (or a selected key) is missing.
    SourceNotFound,
    /// The source data cannot become a payload of the secret's type.
    SourceInvalid,
    /// A target template failed to render.
    TemplateFailed,
    /// The rendered data lacks keys the target Secret's `type` requires (or the type cannot be a
    /// target at all).
    TargetTypeMismatch,
    /// Another owner holds the target Secret or the remote secret.
    Conflict,
    /// A remote secret with the ManagedSecret's name and folder exists but Keyward did not create
    /// it (no owner mark): adopt it explicitly to manage it.
    RemoteNotOwned,
    /// The API server refused a write of the target Secret.
    TargetWriteFailed,
    /// The store's API endpoint is not in the operator's allowed endpoints.
    EndpointNotAllowed,
    /// The remote secret is protected and the remote deletion policy is Delete.
    Protected,
    /// The object is being deleted.
    Deleting,
    /// A store's credentials were accepted (store Ready=True).
    Valid,
}

impl Reason {
    /// Every reason, for exhaustive tests and metric label pre-registration.
    pub const ALL: [Reason; 26] = [
        Reason::Synced,
        Reason::Reconciling,
        Reason::InvalidSpec,
        Reason::StoreNotFound,
        Reason::StoreNotReady,
        Reason::StoreNotAllowed,
        Reason::CredentialsNotFound,
        Reason::AuthFailed,
        Reason::PermissionDenied,
        Reason::ProviderError,
        Reason::RateLimited,
        Reason::KeyUnavailable,
        Reason::RemoteNotFound,
        Reason::RemoteLocked,
        Reason::InvalidArgument,
        Reason::SourceNotFound,
        Reason::SourceInvalid,
        Reason::TemplateFailed,
        Reason::TargetTypeMismatch,
        Reason::Conflict,
        Reason::RemoteNotOwned,
        Reason::TargetWriteFailed,
        Reason::EndpointNotAllowed,
        Reason::Protected,
        Reason::Deleting,
        Reason::Valid,
    ];

    /// The reason as written in conditions and Events.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Synced => "Synced",
            Reason::Reconciling => "Reconciling",
            Reason::InvalidSpec => "InvalidSpec",
            Reason::StoreNotFound => "StoreNotFound",
            Reason::StoreNotReady => "StoreNotReady",
            Reason::StoreNotAllowed => "StoreNotAllowed",
            Reason::CredentialsNotFound => "CredentialsNotFound",
            Reason::AuthFailed => "AuthFailed",
            Reason::PermissionDenied => "PermissionDenied",
            Reason::ProviderError => "ProviderError",
            Reason::RateLimited => "RateLimited",
            Reason::KeyUnavailable => "KeyUnavailable",
            Reason::RemoteNotFound => "RemoteNotFound",
            Reason::RemoteLocked => "RemoteLocked",
            Reason::InvalidArgument => "InvalidArgument",
            Reason::SourceNotFound => "SourceNotFound",
            Reason::SourceInvalid => "SourceInvalid",
            Reason::TemplateFailed => "TemplateFailed",
            Reason::TargetTypeMismatch => "TargetTypeMismatch",
            Reason::Conflict => "Conflict",
            Reason::RemoteNotOwned => "RemoteNotOwned",
            Reason::TargetWriteFailed => "TargetWriteFailed",
            Reason::EndpointNotAllowed => "EndpointNotAllowed",
            Reason::Protected => "Protected",
            Reason::Deleting => "Deleting",
            Reason::Valid => "Valid",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A condition as the controller decides it; [`merge_condition`] turns it into a `Condition`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DesiredCondition {
    /// Condition type, such as [`READY`].
    pub type_: String,
    /// True, False or Unknown.
    pub status: ConditionStatus,
    /// Why.
    pub reason: Reason,
    /// For people: what happened and what to do. Never a secret value.
    pub message: String,
    /// The generation the decision was made for.
    pub observed_generation: Option<i64>,
}

/// The three condition statuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConditionStatus {
    True,
    False,
    Unknown,
}

impl ConditionStatus {
    /// As written in a Condition.
    pub fn as_str(self) -> &'static str {
        match self {
            ConditionStatus::True => TRUE,
            ConditionStatus::False => FALSE,
            ConditionStatus::Unknown => UNKNOWN,
        }
    }
}

impl DesiredCondition {
    /// `Ready=True`.
    pub fn ready(reason: Reason, message: impl Into<String>, generation: Option<i64>) -> Self {
        Self::new(READY, ConditionStatus::True, reason, message, generation)
    }

    /// `Ready=False`.
    pub fn not_ready(reason: Reason, message: impl Into<String>, generation: Option<i64>) -> Self {
        Self::new(READY, ConditionStatus::False, reason, message, generation)
    }

    /// Any condition.
    pub fn new(
        type_: &str,
        status: ConditionStatus,
        reason: Reason,
        message: impl Into<String>,
        generation: Option<i64>,
    ) -> Self {
        Self {
            type_: type_.to_owned(),
            status,
            reason,
            message: message.into(),
            observed_generation: generation,
        }
    }
}

/// Merge `desired` into `current` and return the new list.
///
/// The condition of the same type is replaced in place (others keep their order; a new type is
/// appended). Its `lastTransitionTime` is kept when the status does not change, and set to `now` when
/// it flips or the condition is new, so `kubectl` shows how long an object has been (not) ready rather
/// than when it was last reconciled.
pub fn merge_condition(
    current: &[Condition],
    desired: DesiredCondition,
    now: jiff::Timestamp,
) -> Vec<Condition> {
    let status = desired.status.as_str();
    let mut merged: Vec<Condition> = current.to_vec();
    let previous = merged.iter_mut().find(|c| c.type_ == desired.type_);
    let last_transition_time = match &previous {
        Some(prev) if prev.status == status => prev.last_transition_time.clone(),
        _ => Time(now),
    };
    let condition = Condition {
        type_: desired.type_,
        status: status.to_owned(),
        reason: desired.reason.as_str().to_owned(),
        message: desired.message,
        observed_generation: desired.observed_generation,
        last_transition_time,
    };
    match previous {
        Some(prev) => *prev = condition,
        None => merged.push(condition),
    }
    merged
}

/// The condition of a type, if present.
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// Whether `Ready` is `True`.
pub fn is_ready(conditions: &[Condition]) -> bool {
    find(conditions, READY).is_some_and(|c| c.status == TRUE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> jiff::Timestamp {
        jiff::Timestamp::from_second(1_800_000_000 + seconds).unwrap()
    }

    fn cond(type_: &str, status: &str, reason: &str, since: i64) -> Condition {
        Condition {
            type_: type_.into(),
            status: status.into(),
            reason: reason.into(),
            message: "before".into(),
            observed_generation: Some(1),
            last_transition_time: Time(at(since)),
        }
    }

    #[test]
    fn merge_table() {
        struct Row {
            name: &'static str,
            current: Vec<Condition>,
            desired: DesiredCondition,
            want_status: &'static str,
            want_reason: &'static str,
            want_transition: i64,
            want_len: usize,
        }
        let now = 100;
        let rows = vec![
            Row {
                name: "new condition gets now",
                current: vec![],
                desired: DesiredCondition::ready(Reason::Synced, "ok", Some(2)),
                want_status: "True",
                want_reason: "Synced",
                want_transition: now,
                want_len: 1,
            },
            Row {
                name: "same status keeps transition time, updates reason",
                current: vec![cond(READY, "False", "Reconciling", 10)],
                desired: DesiredCondition::not_ready(Reason::RateLimited, "slow", Some(2)),
                want_status: "False",
                want_reason: "RateLimited",
                want_transition: 10,
                want_len: 1,
            },
            Row {
                name: "flip False to True sets now",
                current: vec![cond(READY, "False", "ProviderError", 10)],
                desired: DesiredCondition::ready(Reason::Synced, "ok", Some(2)),
                want_status: "True",
                want_reason: "Synced",
                want_transition: now,
                want_len: 1,
            },
            Row {
                name: "flip True to Unknown sets now",
                current: vec![cond(READY, "True", "Synced", 10)],
                desired: DesiredCondition::new(
                    READY,
                    ConditionStatus::Unknown,
                    Reason::Reconciling,
                    "working",
                    Some(3),
                ),
                want_status: "Unknown",
                want_reason: "Reconciling",
                want_transition: now,
                want_len: 1,
            },
            Row {
                name: "other types are left alone and new type appended",
                current: vec![cond("Rotating", "True", "Reconciling", 5)],
                desired: DesiredCondition::ready(Reason::Synced, "ok", Some(2)),
                want_status: "True",
                want_reason: "Synced",
                want_transition: now,
                want_len: 2,
            },
        ];
        for row in rows {
            let type_ = row.desired.type_.clone();
            let message = row.desired.message.clone();
            let generation = row.desired.observed_generation;
            let merged = merge_condition(&row.current, row.desired, at(now));
            assert_eq!(merged.len(), row.want_len, "{}", row.name);
            let got = find(&merged, &type_).expect(row.name);
            assert_eq!(got.status, row.want_status, "{}", row.name);
            assert_eq!(got.reason, row.want_reason, "{}", row.name);
            assert_eq!(got.message, message, "{}", row.name);
            assert_eq!(got.observed_generation, generation, "{}", row.name);
            assert_eq!(
                got.last_transition_time,
                Time(at(row.want_transition)),
                "{}",
                row.name
            );
            for other in row.current.iter().filter(|c| c.type_ != type_) {
                assert!(
                    merged.contains(other),
                    "{}: {} changed",
                    row.name,
                    other.type_
                );
            }
        }
    }

    #[test]
    fn merge_keeps_position_of_replaced_condition() {
        let current = vec![
            cond(READY, "True", "Synced", 1),
            cond("Other", "True", "Synced", 1),
        ];
        let merged = merge_condition(
            &current,
            DesiredCondition::not_ready(Reason::Conflict, "x", None),
            at(50),
        );
        assert_eq!(merged[0].type_, READY);
        assert_eq!(merged[0].reason, "Conflict");
        assert_eq!(merged[1], current[1]);
    }

    #[test]
    fn reasons_are_distinct_camel_case_words() {
        let mut seen = std::collections::HashSet::new();
        for reason in Reason::ALL {
            let s = reason.as_str();
            assert!(seen.insert(s), "duplicate reason {s}");
            assert!(s.chars().next().unwrap().is_ascii_uppercase(), "{s}");
            assert!(s.chars().all(|c| c.is_ascii_alphanumeric()), "{s}");
            assert_eq!(reason.to_string(), s);
        }
    }

    #[test]
    fn is_ready_reads_ready_condition_only() {
        assert!(!is_ready(&[]));
        assert!(!is_ready(&[cond("Other", "True", "Synced", 1)]));
        assert!(is_ready(&[cond(READY, "True", "Synced", 1)]));
        assert!(!is_ready(&[cond(READY, "False", "Conflict", 1)]));
    }
}
