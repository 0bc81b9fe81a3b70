//! The manual rotation trigger: the annotation `keyward.dev/rotate`.
//!
//! A person (or a pipeline) sets the annotation to any new value, typically a timestamp; Keyward
//! rotates once for that value and records it in status as handled. Setting the same value again does
//! nothing; removing the annotation does nothing. When the planner creates the first version it should
//! record the annotation's current value as handled, so an object applied with the annotation already
//! set does not rotate straight after creation.

/// The annotation a person sets to ask for one rotation.
pub use crate::api::well_known::ROTATE_ANNOTATION;

/// What the annotation asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManualTrigger {
    /// No annotation, or an empty one.
    NotRequested,
    /// The annotation holds the value already handled.
    AlreadyHandled,
    /// A new value: rotate once, then record `token` as the last handled value.
    Requested { token: String },
}

/// Compare the annotation with the last handled value recorded in status. Surrounding whitespace is
/// ignored on both sides so an editor's trailing newline does not count as a new request.
pub fn manual_trigger(annotation: Option<&str>, last_handled: Option<&str>) -> ManualTrigger {
    let Some(value) = annotation.map(str::trim).filter(|v| !v.is_empty()) else {
        return ManualTrigger::NotRequested;
    };
    if last_handled.map(str::trim) == Some(value) {
        ManualTrigger::AlreadyHandled
    } else {
        ManualTrigger::Requested {
            token: value.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trigger_table() {
        let req = |t: &str| ManualTrigger::Requested {
            token: t.to_owned(),
        };
        let cases: &[(Option<&str>, Option<&str>, ManualTrigger)] = &[
            (None, None, ManualTrigger::NotRequested),
            (None, Some("1"), ManualTrigger::NotRequested),
            (Some(""), None, ManualTrigger::NotRequested),
            (Some("  "), Some("1"), ManualTrigger::NotRequested),
            (Some("1"), None, req("1")),
            (Some("1"), Some("1"), ManualTrigger::AlreadyHandled),
            (Some("1\n"), Some("1"), ManualTrigger::AlreadyHandled),
            (Some("2"), Some("1"), req("2")),
            // Going back to an older value is still a new request: only equality means handled.
            (Some("1"), Some("2"), req("1")),
            (
                Some(" 2026-03-10T10:00:00Z "),
                None,
                req("2026-03-10T10:00:00Z"),
            ),
        ];
        for (annotation, handled, want) in cases {
            assert_eq!(
                &manual_trigger(*annotation, *handled),
                want,
                "{annotation:?} {handled:?}"
            );
        }
    }

    #[test]
    fn a_handled_request_is_idempotent() {
        let ManualTrigger::Requested { token } = manual_trigger(Some("r1"), None) else {
            panic!("expected a request");
        };
        assert_eq!(
            manual_trigger(Some("r1"), Some(&token)),
            ManualTrigger::AlreadyHandled
        );
    }
}
