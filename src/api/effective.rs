//! The values a ManagedSecret means once its defaults are filled in, so the planner never repeats
//! "unset means X" rules.

use std::time::Duration;

use super::duration::{DEFAULT_REFRESH_INTERVAL, parse_duration};
use super::managed_secret::{
    CreationPolicy, FromSecretSpec, GenerateSpec, ManagedSecretSpec, RemoteDeletionPolicy,
    TargetDeletionPolicy,
};
use super::validation::InvalidSpec;
use crate::remote_types::SecretType;

/// Where new versions come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source<'a> {
    /// Keyward generates values (first version and rotations).
    Generate(&'a GenerateSpec),
    /// Keyward pushes the data of a Secret.
    FromSecret(&'a FromSecretSpec),
    /// Keyward creates no version; it mirrors what the remote holds.
    FollowRemote,
}

impl ManagedSecretSpec {
    /// The source of values. With both set (refused by the API server and by validation), generate
    /// wins so a caller that skipped validation still gets one answer.
    pub fn source(&self) -> Source<'_> {
        match (&self.generate, &self.from_secret) {
            (Some(generate), _) => Source::Generate(generate),
            (None, Some(from)) => Source::FromSecret(from),
            (None, None) => Source::FollowRemote,
        }
    }

    /// The secret type Keyward creates with (opaque when unset). For an adopted secret the remote's
    /// own type is what counts.
    pub fn secret_type(&self) -> SecretType {
        self.remote.type_.unwrap_or_default()
    }

    /// How often to read the remote secret (default 1h).
    pub fn refresh_interval(&self) -> Result<Duration, InvalidSpec> {
        match &self.refresh_interval {
            None => Ok(DEFAULT_REFRESH_INTERVAL),
            Some(text) => {
                parse_duration(text).map_err(|e| InvalidSpec(format!("refreshInterval: {e}")))
            }
        }
    }

    /// The rotation interval, if any.
    pub fn rotation_interval(&self) -> Result<Option<Duration>, InvalidSpec> {
        self.rotation
            .as_ref()
            .and_then(|r| r.interval.as_deref())
            .map(|text| {
                parse_duration(text).map_err(|e| InvalidSpec(format!("rotation.interval: {e}")))
            })
            .transpose()
    }

    /// The rotation cron schedule, if any (parsed by the rotation module).
    pub fn rotation_schedule(&self) -> Option<&str> {
        self.rotation.as_ref().and_then(|r| r.schedule.as_deref())
    }

    /// Name of the target Secret: `target.name`, or the ManagedSecret's name.
    pub fn target_name<'a>(&'a self, object_name: &'a str) -> &'a str {
        self.target
            .as_ref()
            .and_then(|t| t.name.as_deref())
            .unwrap_or(object_name)
    }

    /// Kubernetes type of the target Secret (default `Opaque`).
    pub fn target_type(&self) -> &str {
        self.target
            .as_ref()
            .and_then(|t| t.type_.as_deref())
            .unwrap_or("Opaque")
    }

    /// How the target Secret is created (default Owner).
    pub fn creation_policy(&self) -> CreationPolicy {
        self.target
            .as_ref()
            .and_then(|t| t.creation_policy)
            .unwrap_or_default()
    }

    /// What happens to the target Secret on deletion (default Delete).
    pub fn target_deletion_policy(&self) -> TargetDeletionPolicy {
        self.target
            .as_ref()
            .and_then(|t| t.deletion_policy)
            .unwrap_or_default()
    }

    /// What happens to the remote secret on deletion (default Retain).
    pub fn remote_deletion_policy(&self) -> RemoteDeletionPolicy {
        self.remote_deletion_policy.unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::managed_secret::{RotationSpec, StoreRef, TargetSpec};

    fn empty() -> ManagedSecretSpec {
        serde_json::from_value(serde_json::json!({"storeRef": {"name": "s"}})).unwrap()
    }

    #[test]
    fn defaults_of_an_empty_spec() {
        let spec = empty();
        assert_eq!(
            spec.store_ref,
            StoreRef {
                kind: Default::default(),
                name: "s".into()
            }
        );
        assert_eq!(spec.source(), Source::FollowRemote);
        assert_eq!(spec.secret_type(), SecretType::Opaque);
        assert_eq!(spec.refresh_interval(), Ok(Duration::from_secs(3600)));
        assert_eq!(spec.rotation_interval(), Ok(None));
        assert_eq!(spec.rotation_schedule(), None);
        assert_eq!(spec.target_name("app"), "app");
        assert_eq!(spec.target_type(), "Opaque");
        assert_eq!(spec.creation_policy(), CreationPolicy::Owner);
        assert_eq!(spec.target_deletion_policy(), TargetDeletionPolicy::Delete);
        assert_eq!(spec.remote_deletion_policy(), RemoteDeletionPolicy::Retain);
    }

    #[test]
    fn set_values_win() {
        let mut spec = empty();
        spec.generate = Some(GenerateSpec::default());
        spec.refresh_interval = Some("90s".into());
        spec.rotation = Some(RotationSpec {
            interval: Some("2h".into()),
            schedule: Some("@daily".into()),
            time_zone: None,
        });
        spec.target = Some(TargetSpec {
            name: Some("t".into()),
            type_: Some("kubernetes.io/basic-auth".into()),
            creation_policy: Some(CreationPolicy::Merge),
            deletion_policy: Some(TargetDeletionPolicy::Retain),
            ..Default::default()
        });
        spec.remote_deletion_policy = Some(RemoteDeletionPolicy::Delete);
        assert!(matches!(spec.source(), Source::Generate(_)));
        assert_eq!(spec.refresh_interval(), Ok(Duration::from_secs(90)));
        assert_eq!(
            spec.rotation_interval(),
            Ok(Some(Duration::from_secs(7200)))
        );
        assert_eq!(spec.rotation_schedule(), Some("@daily"));
        assert_eq!(spec.target_name("app"), "t");
        assert_eq!(spec.target_type(), "kubernetes.io/basic-auth");
        assert_eq!(spec.creation_policy(), CreationPolicy::Merge);
        assert_eq!(spec.target_deletion_policy(), TargetDeletionPolicy::Retain);
        assert_eq!(spec.remote_deletion_policy(), RemoteDeletionPolicy::Delete);
        spec.refresh_interval = Some("soon".into());
        assert!(
            spec.refresh_interval()
                .unwrap_err()
                .0
                .starts_with("refreshInterval:")
        );
    }

    #[test]
    fn serde_fills_schema_defaults() {
        let spec: ManagedSecretSpec = serde_json::from_value(serde_json::json!({
            "storeRef": {"name": "s"},
            "generate": {"keys": {"k": {"generate": {}}}}
        }))
        .unwrap();
        let generate = spec.generate.as_ref().unwrap();
        let policy = &generate.policy;
        assert_eq!(policy.length, 32);
        assert!(policy.lowercase && policy.uppercase && policy.digits && !policy.symbols);
        let key = &generate.keys.as_ref().unwrap()["k"];
        assert_eq!(key.generate.as_ref().unwrap().symbol_set(), "");
        // Round trip keeps what was given and adds only defaults.
        let back: ManagedSecretSpec =
            serde_json::from_value(serde_json::to_value(&spec).unwrap()).unwrap();
        assert_eq!(back, spec);
    }
}
