//! Checks the API server cannot make (or that a client may have skipped), as pure functions that
//! return a message for a person. The controller reports a failure as `Ready=False` with reason
//! `InvalidSpec` (or `StoreNotAllowed` for the namespace check) and writes nothing.
//!
//! The CEL rules in the CRD catch most of these at `kubectl apply`; repeating them here keeps a
//! ManagedSecret stored before a rule existed (or applied with validation off) from doing harm.

use std::collections::BTreeMap;

use kube::core::{Selector, SelectorExt};

use super::duration::{
    MIN_REFRESH_INTERVAL, MIN_ROTATION_INTERVAL, TIME_TO_LIVE_RANGE, parse_duration,
};
use super::managed_secret::{EphemeralPolicy, GenerateSpec, ManagedSecretSpec, PasswordPolicy};
use super::remote_id::{RemoteTarget, parse_secret_id, remote_target};
use super::secret_store::{ClusterSecretStoreSpec, ProviderSpec, ScalewayRegion};
use crate::provider::SecretType;
use crate::provider::thalassa::path::{MAX_THALASSA_PATH, is_thalassa_path};

/// Largest payload a Scaleway version accepts (64 KiB).
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;
/// Bounds of a generated length.
pub const GENERATED_LENGTH_RANGE: (u32, u32) = (1, 4096);
/// Values Scaleway accepts for `engine` in database credentials.
pub const DATABASE_ENGINES: [&str; 3] = ["postgres", "mysql", "other"];

/// A spec Keyward refuses to act on, with the reason in words.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidSpec(pub String);

fn invalid<T>(message: impl Into<String>) -> Result<T, InvalidSpec> {
    Err(InvalidSpec(message.into()))
}

/// Check a ManagedSecret spec as a whole; `object_name` gives the default remote name.
pub fn validate_managed_secret(
    spec: &ManagedSecretSpec,
    object_name: &str,
) -> Result<(), InvalidSpec> {
    if spec.generate.is_some() && spec.from_secret.is_some() {
        return invalid(
            "set at most one source: generate or fromSecret (or neither, to follow the remote secret)",
        );
    }
    validate_remote(spec, object_name)?;
    if let Some(refresh) = &spec.refresh_interval {
        let every =
            parse_duration(refresh).map_err(|e| InvalidSpec(format!("refreshInterval: {e}")))?;
        if every < MIN_REFRESH_INTERVAL {
            return invalid("refreshInterval must be at least 10s");
        }
    }
    if let Some(rotation) = &spec.rotation {
        if spec.generate.is_none() {
            return invalid("rotation needs spec.generate: only generated values can be rotated");
        }
        if rotation.interval.is_none() && rotation.schedule.is_none() {
            return invalid("rotation needs interval, schedule or both");
        }
        if let Some(interval) = &rotation.interval {
            let every = parse_duration(interval)
                .map_err(|e| InvalidSpec(format!("rotation.interval: {e}")))?;
            if every < MIN_ROTATION_INTERVAL {
                return invalid("rotation.interval must be at least 1m");
            }
        }
        if let Some(schedule) = &rotation.schedule {
            validate_cron_shape(schedule)?;
        }
        if let Some(zone) = &rotation.time_zone {
            if rotation.schedule.is_none() {
                return invalid(
                    "rotation.timeZone only applies to rotation.schedule (an interval counts elapsed time)",
                );
            }
            validate_time_zone_shape(zone)?;
        }
    }
    if let Some(generate) = &spec.generate {
        validate_generate(generate, spec.remote.type_)?;
    }
    if let Some(from) = &spec.from_secret
        && from.keys.as_ref().is_some_and(|keys| keys.is_empty())
    {
        return invalid("fromSecret.keys must not be empty (leave it out to push every key)");
    }
    if let Some(template) = spec.target.as_ref().and_then(|t| t.template.as_ref()) {
        for key in template.keys() {
            if !is_secret_key(key) {
                return invalid(format!(
                    "target.template key {key:?} is not a valid Secret key: 1 to 253 letters, digits, '-', '_' or '.'"
                ));
            }
        }
    }
    Ok(())
}

fn validate_remote(spec: &ManagedSecretSpec, object_name: &str) -> Result<(), InvalidSpec> {
    let remote = &spec.remote;
    let target = remote_target(spec, object_name).map_err(InvalidSpec)?;
    match target {
        RemoteTarget::Adopt { .. } => {
            if remote.name.is_some() || remote.path.is_some() || remote.scaleway.is_some() {
                return invalid(
                    "an adopted secret keeps its own name, path and provider settings: remove name, path and scaleway from remote when adopt is set",
                );
            }
        }
        RemoteTarget::ByName { name, path } => {
            validate_remote_name(&name)?;
            validate_remote_path(&path)?;
        }
    }
    if let Some(description) = &remote.description
        && description.chars().count() > 255
    {
        return invalid("remote.description must be at most 255 characters");
    }
    if let Some(tags) = &remote.tags {
        if tags.len() > 32 {
            return invalid("remote.tags may hold at most 32 tags");
        }
        for (i, tag) in tags.iter().enumerate() {
            if tag.is_empty() || tag.chars().count() > 128 {
                return invalid(format!("remote.tags[{i}] must be 1 to 128 characters"));
            }
            if tags[..i].contains(tag) {
                return invalid(format!("remote.tags[{i}] repeats the tag {tag:?}"));
            }
        }
    }
    let scaleway = remote.scaleway.as_ref();
    if let Some(key_id) = scaleway.and_then(|s| s.key_id.as_ref()) {
        parse_secret_id(key_id).map_err(|e| InvalidSpec(format!("remote.scaleway.keyId: {e}")))?;
    }
    if let Some(policy) = scaleway.and_then(|s| s.ephemeral_policy.as_ref()) {
        validate_ephemeral(policy)?;
        validate_ephemeral_use(spec, policy)?;
    }
    Ok(())
}

/// What Keyward supports with ephemeral versions (see the CRD's `ephemeralPolicy` text): it must
/// never spend a single access itself, and a generated value must rotate before it expires.
fn validate_ephemeral_use(
    spec: &ManagedSecretSpec,
    policy: &EphemeralPolicy,
) -> Result<(), InvalidSpec> {
    if policy.expires_once_accessed == Some(true)
        && spec.generate.is_none()
        && spec.from_secret.is_none()
    {
        return invalid(
            "ephemeralPolicy.expiresOnceAccessed needs generate or fromSecret: following a single-access secret would spend its one access on Keyward's own read",
        );
    }
    if let (Some(ttl), Some(_)) = (&policy.time_to_live, &spec.generate) {
        let ttl = parse_duration(ttl)
            .map_err(|e| InvalidSpec(format!("ephemeralPolicy.timeToLive: {e}")))?;
        let interval = spec
            .rotation
            .as_ref()
            .and_then(|r| r.interval.as_deref())
            .map(parse_duration)
            .transpose()
            .map_err(|e| InvalidSpec(format!("rotation.interval: {e}")))?;
        if interval.is_none_or(|every| every >= ttl) {
            return invalid(
                "a generated value with ephemeralPolicy.timeToLive needs rotation.interval shorter than the time to live, so a new version comes before the current one expires",
            );
        }
    }
    Ok(())
}

/// A remote secret name: letters, digits, `.`, `_`, `-`, starting with a letter or digit, 1 to 255.
pub fn validate_remote_name(name: &str) -> Result<(), InvalidSpec> {
    let first_ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !first_ok || !rest_ok || name.len() > 255 {
        return invalid(format!(
            "remote name {name:?} may only contain letters, digits, '.', '_' and '-', must start with a letter or digit and be at most 255 characters"
        ));
    }
    Ok(())
}

/// A remote path: starts with `/`, no trailing `/` except the root, no empty segment, at most 512
/// characters of letters, digits, `/`, `.`, `_`, `-`.
pub fn validate_remote_path(path: &str) -> Result<(), InvalidSpec> {
    if !path.starts_with('/') {
        return invalid(format!("remote.path {path:?} must start with '/'"));
    }
    if path != "/" && path.ends_with('/') {
        return invalid(format!(
            "remote.path {path:?} must not end with '/' (except the root path '/')"
        ));
    }
    if path.contains("//") {
        return invalid(format!(
            "remote.path {path:?} must not contain an empty segment ('//')"
        ));
    }
    if path.len() > 512
        || !path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '_' | '-'))
    {
        return invalid(format!(
            "remote.path {path:?} may only contain letters, digits, '/', '.', '_' and '-' (at most 512)"
        ));
    }
    Ok(())
}

fn validate_ephemeral(policy: &EphemeralPolicy) -> Result<(), InvalidSpec> {
    if policy.time_to_live.is_none() && policy.expires_once_accessed != Some(true) {
        return invalid("ephemeralPolicy needs timeToLive or expiresOnceAccessed: true");
    }
    if let Some(ttl) = &policy.time_to_live {
        let ttl = parse_duration(ttl)
            .map_err(|e| InvalidSpec(format!("ephemeralPolicy.timeToLive: {e}")))?;
        let (min, max) = TIME_TO_LIVE_RANGE;
        if ttl < min || ttl > max {
            return invalid("ephemeralPolicy.timeToLive must be between 1s and 8760h (one year)");
        }
    }
    Ok(())
}

/// The shape of a cron schedule: five fields or an `@` macro. The meaning of each field is checked
/// by the rotation module when it computes the next run.
pub fn validate_cron_shape(schedule: &str) -> Result<(), InvalidSpec> {
    const MACROS: [&str; 6] = [
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@hourly",
    ];
    let field_ok = |f: &str| {
        f.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '*' | ',' | '/' | '?' | '#' | '-'))
    };
    if crate::rotation::schedule::has_zone_prefix(schedule) {
        return invalid(
            "rotation.schedule must not start with TZ= or CRON_TZ=; set rotation.timeZone instead",
        );
    }
    let fields: Vec<&str> = schedule.split(' ').filter(|f| !f.is_empty()).collect();
    let shaped = MACROS.contains(&schedule)
        || (fields.len() == 5
            && fields.iter().all(|f| field_ok(f))
            && !schedule.starts_with(' ')
            && !schedule.ends_with(' '));
    if !shaped || schedule.len() > 128 {
        return invalid(format!(
            "rotation.schedule {schedule:?} must be a cron expression of five fields (minute hour day-of-month month day-of-week) or @hourly, @daily, @weekly, @monthly, @yearly"
        ));
    }
    Ok(())
}

/// The shape of an IANA time zone name (segments of letters, digits, `_`, `+`, `-` separated by
/// `/`, at most 64 characters). Whether the tz database knows it is checked with the schedule.
pub fn validate_time_zone_shape(zone: &str) -> Result<(), InvalidSpec> {
    let segment_ok = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '-'))
    };
    let shaped = zone.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && zone.split('/').all(segment_ok);
    if !shaped || zone.len() > 64 {
        return invalid(
            "rotation.timeZone must be an IANA time zone name such as UTC or Europe/Paris",
        );
    }
    Ok(())
}

fn validate_policy(policy: &PasswordPolicy, field: &str) -> Result<(), InvalidSpec> {
    let (min, max) = GENERATED_LENGTH_RANGE;
    if policy.length < min || policy.length > max {
        return invalid(format!("{field}.length must be between 1 and 4096"));
    }
    if !(policy.lowercase || policy.uppercase || policy.digits || policy.symbols) {
        return invalid(format!(
            "{field} needs at least one character class: lowercase, uppercase, digits or symbols"
        ));
    }
    if let Some(symbols) = &policy.symbol_characters
        && (symbols.is_empty()
            || symbols.len() > 64
            || !symbols.chars().all(|c| c.is_ascii_punctuation()))
    {
        return invalid(format!(
            "{field}.symbolCharacters may only contain 1 to 64 printable ASCII symbols (no letters, digits or spaces)"
        ));
    }
    Ok(())
}

fn validate_generate(
    generate: &GenerateSpec,
    type_: Option<SecretType>,
) -> Result<(), InvalidSpec> {
    validate_policy(&generate.policy, "generate")?;
    let type_ = type_.unwrap_or_default();
    let Some(keys) = &generate.keys else {
        if type_ != SecretType::Opaque {
            return invalid(format!(
                "a generated value for remote.type {} needs generate.keys (certificates cannot be generated)",
                type_.as_str()
            ));
        }
        return Ok(());
    };
    if !type_.is_keyed() {
        return invalid(
            "generate.keys needs remote.type key_value, basic_credentials, database_credentials or ssh_key",
        );
    }
    if keys.is_empty() || keys.len() > 64 {
        return invalid("generate.keys must hold 1 to 64 keys");
    }
    for required in type_.required_keys() {
        if !keys.contains_key(*required) {
            return invalid(format!(
                "remote.type {} needs the key {required:?} in generate.keys (required: {})",
                type_.as_str(),
                type_.required_keys().join(", ")
            ));
        }
    }
    let mut fixed_size = 0usize;
    for (key, source) in keys {
        if !is_secret_key(key) {
            return invalid(format!(
                "generate.keys name {key:?} must be 1 to 253 letters, digits, '-', '_' or '.'"
            ));
        }
        match (&source.value, &source.generate) {
            (Some(value), None) => {
                fixed_size += value.len();
                check_fixed_value(type_, key, value)?;
            }
            (None, Some(policy)) => {
                validate_policy(policy, &format!("generate.keys.{key}.generate"))?;
                fixed_size += policy.length as usize;
            }
            _ => {
                return invalid(format!(
                    "generate.keys.{key} needs exactly one of value and generate"
                ));
            }
        }
    }
    // Rough upper bound of the JSON payload: values plus keys plus quoting; keeps a spec from
    // asking for a version the provider would reject.
    let keys_size: usize = keys.keys().map(|k| k.len() + 6).sum();
    if fixed_size + keys_size > MAX_PAYLOAD_BYTES {
        return invalid("generate.keys would produce a payload over 64 KiB");
    }
    Ok(())
}

fn check_fixed_value(type_: SecretType, key: &str, value: &str) -> Result<(), InvalidSpec> {
    if type_ != SecretType::DatabaseCredentials {
        return Ok(());
    }
    match key {
        "engine" if !DATABASE_ENGINES.contains(&value) => invalid(format!(
            "generate.keys.engine must be postgres, mysql or other, not {value:?}"
        )),
        "port" if value.parse::<u16>().is_err() => invalid(format!(
            "generate.keys.port must be a number from 0 to 65535, not {value:?}"
        )),
        _ => Ok(()),
    }
}

/// A valid key of a Kubernetes Secret's data.
pub fn is_secret_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 253
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Whether a ClusterSecretStore lets ManagedSecrets of `namespace` (with these labels) use it.
/// Unset `allowedNamespaces` allows every namespace; otherwise the namespace must be listed in
/// `names` or match `selector`.
pub fn cluster_store_allows_namespace(
    store_name: &str,
    spec: &ClusterSecretStoreSpec,
    namespace: &str,
    namespace_labels: &BTreeMap<String, String>,
) -> Result<(), String> {
    let Some(allowed) = &spec.allowed_namespaces else {
        return Ok(());
    };
    if allowed
        .names
        .as_ref()
        .is_some_and(|names| names.iter().any(|n| n == namespace))
    {
        return Ok(());
    }
    if let Some(selector) = &allowed.selector {
        let selector = Selector::try_from(selector.clone()).map_err(|e| {
            format!(
                "ClusterSecretStore {store_name} has an invalid allowedNamespaces.selector: {e}"
            )
        })?;
        if selector.matches(namespace_labels) {
            return Ok(());
        }
    }
    Err(format!(
        "ClusterSecretStore {store_name} does not allow namespace {namespace} (see its spec.allowedNamespaces)"
    ))
}

/// Checks that need the resolved store: it has a provider, provider-specific fields match it, an
/// adopted id has the provider's form, and an adopted secret named by a Terraform ID lives in the
/// store's region.
pub fn validate_against_store(
    spec: &ManagedSecretSpec,
    object_name: &str,
    provider: &ProviderSpec,
) -> Result<(), InvalidSpec> {
    if provider.thalassa.is_some() {
        return validate_for_thalassa(spec, object_name);
    }
    if provider.oci.is_some() {
        return validate_for_oci(spec, object_name);
    }
    let Some(scaleway) = &provider.scaleway else {
        return invalid(format!(
            "store {} has no provider configured (supported: scaleway, thalassa, oci)",
            spec.store_ref.name
        ));
    };
    let target = remote_target(spec, object_name).map_err(InvalidSpec)?;
    if let RemoteTarget::Adopt { secret_id, .. } = &target {
        parse_secret_id(secret_id).map_err(|e| {
            InvalidSpec(format!("remote.adopt.secretId: {e} (a Scaleway secret id)"))
        })?;
    }
    check_adoption_region(&target, scaleway.region)
}

/// A Thalassa store: no Scaleway settings, a path of at most 512 characters, and an adopted secret
/// named by its path.
fn validate_for_thalassa(spec: &ManagedSecretSpec, object_name: &str) -> Result<(), InvalidSpec> {
    if spec.remote.scaleway.is_some() {
        return invalid(
            "remote.scaleway applies to Scaleway stores only: remove it (a Thalassa store binds new secrets to its provider.thalassa.kmsKey)",
        );
    }
    match remote_target(spec, object_name).map_err(InvalidSpec)? {
        RemoteTarget::ByName { name, path } => {
            let full = if path == "/" {
                format!("/{name}")
            } else {
                format!("{path}/{name}")
            };
            if !is_thalassa_path(&full) {
                return invalid(format!(
                    "remote.path and remote.name make {full:?}, which is not a Thalassa secret path (at most {MAX_THALASSA_PATH} characters)"
                ));
            }
            Ok(())
        }
        RemoteTarget::Adopt {
            region: Some(_), ..
        } => invalid(
            "remote.adopt.terraformId names a Scaleway secret: adopt a Thalassa secret by its path in remote.adopt.secretId",
        ),
        RemoteTarget::Adopt { secret_id, .. } if !is_thalassa_path(&secret_id) => invalid(format!(
            "remote.adopt.secretId: {secret_id:?} is not a Thalassa secret path such as /app/db/password"
        )),
        RemoteTarget::Adopt { .. } => Ok(()),
    }
}

/// An OCI store: no Scaleway settings, a name OCI accepts once the folder is part of it, and an
/// adopted secret named by its OCID or its name in the vault.
fn validate_for_oci(spec: &ManagedSecretSpec, object_name: &str) -> Result<(), InvalidSpec> {
    use crate::provider::oci::names::{MAX_SECRET_NAME, secret_name};
    if spec.remote.scaleway.is_some() {
        return invalid(
            "remote.scaleway applies to Scaleway stores only: remove it (an OCI store encrypts new secrets with its provider.oci.keyId)",
        );
    }
    let oci_name = |text: &str| {
        !text.is_empty()
            && text.len() <= MAX_SECRET_NAME
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
    };
    match remote_target(spec, object_name).map_err(InvalidSpec)? {
        RemoteTarget::ByName { name, path } => {
            let full = secret_name(&path, &name);
            if full.len() > MAX_SECRET_NAME {
                return invalid(format!(
                    "remote.path and remote.name make the OCI secret name {full:?}, longer than {MAX_SECRET_NAME} characters"
                ));
            }
            Ok(())
        }
        RemoteTarget::Adopt {
            region: Some(_), ..
        } => invalid(
            "remote.adopt.terraformId names a Scaleway secret: adopt an OCI secret by its OCID or its name in remote.adopt.secretId",
        ),
        RemoteTarget::Adopt { secret_id, .. }
            if !(secret_id.starts_with("ocid1.vaultsecret.") || oci_name(&secret_id)) =>
        {
            invalid(format!(
                "remote.adopt.secretId: {secret_id:?} is neither a secret OCID (ocid1.vaultsecret.…) nor an OCI secret name"
            ))
        }
        RemoteTarget::Adopt { .. } => Ok(()),
    }
}

/// An adopted secret named by a Terraform ID must live in the store's region.
pub fn check_adoption_region(
    target: &RemoteTarget,
    store_region: ScalewayRegion,
) -> Result<(), InvalidSpec> {
    match target {
        RemoteTarget::Adopt {
            region: Some(region),
            ..
        } if *region != store_region => invalid(format!(
            "remote.adopt.terraformId names region {region}, but the store is in {store_region}: use a store of region {region}"
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::managed_secret::*;
    use crate::api::remote_id::RevisionSelector;
    use crate::api::secret_store::{AllowedNamespaces, ProviderSpec};
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};

    const ID: &str = "11111111-1111-1111-1111-111111111111";

    fn base() -> ManagedSecretSpec {
        ManagedSecretSpec {
            rollout: None,
            retirement: None,
            store_ref: StoreRef {
                kind: StoreKind::SecretStore,
                name: "scw".into(),
            },
            remote: RemoteSecretSpec::default(),
            generate: Some(GenerateSpec::default()),
            from_secret: None,
            rotation: None,
            refresh_interval: None,
            target: None,
            remote_deletion_policy: None,
        }
    }

    fn keyed(type_: SecretType, keys: &[(&str, Option<&str>)]) -> ManagedSecretSpec {
        let mut spec = base();
        spec.remote.type_ = Some(type_);
        spec.generate = Some(GenerateSpec {
            keys: Some(
                keys.iter()
                    .map(|(k, v)| {
                        let source = match v {
                            Some(v) => KeyValueSource {
                                value: Some((*v).into()),
                                generate: None,
                            },
                            None => KeyValueSource {
                                value: None,
                                generate: Some(PasswordPolicy::default()),
                            },
                        };
                        ((*k).to_owned(), source)
                    })
                    .collect(),
            ),
            ..GenerateSpec::default()
        });
        spec
    }

    fn ephemeral(ttl: Option<&str>, once: Option<bool>) -> ScalewayRemoteSpec {
        ScalewayRemoteSpec {
            key_id: None,
            ephemeral_policy: Some(EphemeralPolicy {
                time_to_live: ttl.map(str::to_owned),
                expires_once_accessed: once,
                action: EphemeralAction::Delete,
            }),
        }
    }

    fn db(engine: &str, port: &str) -> ManagedSecretSpec {
        keyed(
            SecretType::DatabaseCredentials,
            &[
                ("engine", Some(engine)),
                ("username", Some("app")),
                ("password", None),
                ("host", Some("db")),
                ("dbname", Some("app")),
                ("port", Some(port)),
            ],
        )
    }

    #[test]
    fn valid_specs_pass() {
        let mut rotating = base();
        rotating.rotation = Some(RotationSpec {
            interval: Some("720h".into()),
            schedule: Some("0 3 * * 1".into()),
            time_zone: None,
        });
        rotating.refresh_interval = Some("5m".into());
        rotating.remote.path = Some("/apps/billing".into());
        rotating.remote.tags = Some(vec!["a".into(), "b".into()]);
        rotating.remote.scaleway = Some(ScalewayRemoteSpec {
            key_id: Some(ID.into()),
            ephemeral_policy: Some(EphemeralPolicy {
                time_to_live: Some("1000h".into()),
                expires_once_accessed: None,
                action: EphemeralAction::Disable,
            }),
        });
        let mut follow = base();
        follow.generate = None;
        let mut push = base();
        push.generate = None;
        push.from_secret = Some(FromSecretSpec {
            name: "src".into(),
            keys: Some(vec!["password".into()]),
        });
        let mut adopt = base();
        adopt.generate = None;
        adopt.remote.adopt = Some(AdoptSpec {
            secret_id: None,
            terraform_id: Some(format!("fr-par/{ID}/2")),
            allow_deletion: None,
        });
        let mut macro_schedule = base();
        macro_schedule.rotation = Some(RotationSpec {
            interval: None,
            schedule: Some("@daily".into()),
            time_zone: Some("Europe/Paris".into()),
        });
        let table = [
            ("generated opaque", base()),
            ("rotation, refresh, path, tags, key, ephemeral", rotating),
            ("follow the remote only", follow),
            ("push", push),
            ("adopt by terraform id", adopt),
            ("cron macro", macro_schedule),
            (
                "basic credentials",
                keyed(
                    SecretType::BasicCredentials,
                    &[("username", Some("app")), ("password", None)],
                ),
            ),
            ("database credentials", db("postgres", "5432")),
            ("key_value", keyed(SecretType::KeyValue, &[("token", None)])),
        ];
        for (name, spec) in table {
            assert_eq!(
                validate_managed_secret(&spec, "db-password"),
                Ok(()),
                "{name}"
            );
        }
    }

    #[test]
    fn invalid_specs_are_named() {
        type Edit = fn(&mut ManagedSecretSpec);
        let table: Vec<(&str, Edit, &str)> = vec![
            (
                "two sources",
                |s| {
                    s.from_secret = Some(FromSecretSpec {
                        name: "x".into(),
                        keys: None,
                    })
                },
                "at most one source",
            ),
            (
                "relative path",
                |s| s.remote.path = Some("apps".into()),
                "must start with '/'",
            ),
            (
                "trailing slash",
                |s| s.remote.path = Some("/apps/".into()),
                "must not end with '/'",
            ),
            (
                "empty segment",
                |s| s.remote.path = Some("/a//b".into()),
                "empty segment",
            ),
            (
                "odd path character",
                |s| s.remote.path = Some("/a b".into()),
                "may only contain",
            ),
            (
                "bad name",
                |s| s.remote.name = Some("-x".into()),
                "remote name",
            ),
            (
                "refresh too short",
                |s| s.refresh_interval = Some("5s".into()),
                "at least 10s",
            ),
            (
                "refresh in days",
                |s| s.refresh_interval = Some("1d".into()),
                "refreshInterval:",
            ),
            (
                "rotation without generate",
                |s| {
                    s.generate = None;
                    s.rotation = Some(RotationSpec {
                        interval: Some("1h".into()),
                        schedule: None,
                        time_zone: None,
                    })
                },
                "rotation needs spec.generate",
            ),
            (
                "empty rotation",
                |s| {
                    s.rotation = Some(RotationSpec {
                        interval: None,
                        schedule: None,
                        time_zone: None,
                    })
                },
                "interval, schedule or both",
            ),
            (
                "rotation too often",
                |s| {
                    s.rotation = Some(RotationSpec {
                        interval: Some("30s".into()),
                        schedule: None,
                        time_zone: None,
                    })
                },
                "at least 1m",
            ),
            (
                "cron with four fields",
                |s| {
                    s.rotation = Some(RotationSpec {
                        interval: None,
                        schedule: Some("0 3 * *".into()),
                        time_zone: None,
                    })
                },
                "five fields",
            ),
            (
                "time zone without schedule",
                |s| {
                    s.rotation = Some(RotationSpec {
                        interval: Some("1h".into()),
                        schedule: None,
                        time_zone: Some("Europe/Paris".into()),
                    })
                },
                "rotation.timeZone only applies to rotation.schedule",
            ),
            (
                "time zone with a space",
                |s| {
                    s.rotation = Some(RotationSpec {
                        interval: None,
                        schedule: Some("@daily".into()),
                        time_zone: Some("Europe/ Paris".into()),
                    })
                },
                "rotation.timeZone must be an IANA time zone name",
            ),
            (
                "time zone as a path",
                |s| {
                    s.rotation = Some(RotationSpec {
                        interval: None,
                        schedule: Some("@daily".into()),
                        time_zone: Some("../etc/passwd".into()),
                    })
                },
                "rotation.timeZone must be an IANA time zone name",
            ),
            (
                "time zone prefix in schedule",
                |s| {
                    s.rotation = Some(RotationSpec {
                        interval: None,
                        schedule: Some("CRON_TZ=Europe/Paris 0 3 * * *".into()),
                        time_zone: None,
                    })
                },
                "set rotation.timeZone instead",
            ),
            (
                "length zero",
                |s| s.generate.as_mut().unwrap().policy.length = 0,
                "between 1 and 4096",
            ),
            (
                "length too large",
                |s| s.generate.as_mut().unwrap().policy.length = 4097,
                "between 1 and 4096",
            ),
            (
                "no character class",
                |s| {
                    let g = s.generate.as_mut().unwrap();
                    g.policy.lowercase = false;
                    g.policy.uppercase = false;
                    g.policy.digits = false;
                },
                "at least one character class",
            ),
            (
                "symbol set with letters",
                |s| {
                    let g = s.generate.as_mut().unwrap();
                    g.policy.symbols = true;
                    g.policy.symbol_characters = Some("ab!".into());
                },
                "symbolCharacters",
            ),
            (
                "keys on opaque",
                |s| {
                    s.generate.as_mut().unwrap().keys = Some(BTreeMap::new());
                },
                "generate.keys needs remote.type",
            ),
            (
                "keyed type without keys",
                |s| s.remote.type_ = Some(SecretType::KeyValue),
                "needs generate.keys",
            ),
            (
                "certificate generated",
                |s| s.remote.type_ = Some(SecretType::Certificate),
                "certificates cannot be generated",
            ),
            (
                "adopt with name",
                |s| {
                    s.remote.name = Some("x".into());
                    s.remote.adopt = Some(AdoptSpec {
                        secret_id: Some(ID.into()),
                        terraform_id: None,
                        allow_deletion: None,
                    })
                },
                "adopted secret keeps its own name",
            ),
            (
                "adopt bad terraform id",
                |s| {
                    s.remote.adopt = Some(AdoptSpec {
                        secret_id: None,
                        terraform_id: Some("fr-par/nope".into()),
                        allow_deletion: None,
                    })
                },
                "remote.adopt.terraformId",
            ),
            (
                "key id not a uuid",
                |s| {
                    s.remote.scaleway = Some(ScalewayRemoteSpec {
                        key_id: Some("k".into()),
                        ephemeral_policy: None,
                    })
                },
                "remote.scaleway.keyId",
            ),
            (
                "too many tags",
                |s| s.remote.tags = Some((0..33).map(|i| i.to_string()).collect()),
                "at most 32",
            ),
            (
                "duplicate tag",
                |s| s.remote.tags = Some(vec!["a".into(), "a".into()]),
                "repeats",
            ),
            (
                "long description",
                |s| s.remote.description = Some("x".repeat(256)),
                "at most 255",
            ),
            (
                "ephemeral without expiry",
                |s| s.remote.scaleway = Some(ephemeral(None, Some(false))),
                "timeToLive or expiresOnceAccessed",
            ),
            (
                "ephemeral ttl over a year",
                |s| s.remote.scaleway = Some(ephemeral(Some("8761h"), None)),
                "between 1s and 8760h",
            ),
            (
                "generated with a time to live and no rotation",
                |s| s.remote.scaleway = Some(ephemeral(Some("24h"), None)),
                "needs rotation.interval shorter than the time to live",
            ),
            (
                "generated with a time to live shorter than the rotation",
                |s| {
                    s.remote.scaleway = Some(ephemeral(Some("1h"), None));
                    s.rotation = Some(RotationSpec {
                        interval: Some("2h".into()),
                        schedule: None,
                        time_zone: None,
                    });
                },
                "needs rotation.interval shorter than the time to live",
            ),
            (
                "following a single-access secret",
                |s| {
                    s.generate = None;
                    s.remote.scaleway = Some(ephemeral(None, Some(true)));
                },
                "would spend its one access",
            ),
            (
                "bad template key",
                |s| {
                    s.target = Some(TargetSpec {
                        template: Some([("a b".to_owned(), "x".to_owned())].into()),
                        ..Default::default()
                    })
                },
                "target.template key",
            ),
            (
                "bad generated key name",
                |s| {
                    s.remote.type_ = Some(SecretType::KeyValue);
                    s.generate.as_mut().unwrap().keys = Some(
                        [(
                            "a/b".to_owned(),
                            KeyValueSource {
                                value: Some("1".into()),
                                generate: None,
                            },
                        )]
                        .into(),
                    );
                },
                "generate.keys name \"a/b\"",
            ),
            (
                "empty fromSecret keys",
                |s| {
                    s.generate = None;
                    s.from_secret = Some(FromSecretSpec {
                        name: "x".into(),
                        keys: Some(vec![]),
                    })
                },
                "fromSecret.keys",
            ),
        ];
        for (name, edit, want) in table {
            let mut spec = base();
            edit(&mut spec);
            let err = validate_managed_secret(&spec, "db-password").expect_err(name);
            assert!(err.0.contains(want), "{name}: got {err}");
        }
    }

    #[test]
    fn keyed_types_need_their_keys_and_sane_fixed_values() {
        let missing = keyed(SecretType::BasicCredentials, &[("username", Some("a"))]);
        let err = validate_managed_secret(&missing, "x").unwrap_err();
        assert!(err.0.contains("\"password\""), "{err}");
        let ssh = keyed(SecretType::SshKey, &[("key", None)]);
        assert!(
            validate_managed_secret(&ssh, "x")
                .unwrap_err()
                .0
                .contains("ssh_private_key")
        );
        let engine = validate_managed_secret(&db("oracle", "1"), "x").unwrap_err();
        assert!(engine.0.contains("postgres, mysql or other"), "{engine}");
        let port = validate_managed_secret(&db("mysql", "70000"), "x").unwrap_err();
        assert!(port.0.contains("0 to 65535"), "{port}");
        let mut both = keyed(SecretType::KeyValue, &[("a", Some("1"))]);
        both.generate
            .as_mut()
            .unwrap()
            .keys
            .as_mut()
            .unwrap()
            .get_mut("a")
            .unwrap()
            .generate = Some(PasswordPolicy::default());
        assert!(
            validate_managed_secret(&both, "x")
                .unwrap_err()
                .0
                .contains("exactly one")
        );
        let big = keyed(
            SecretType::KeyValue,
            &[
                ("a", Some(&"x".repeat(40_000))),
                ("b", Some(&"y".repeat(40_000))),
            ],
        );
        assert!(
            validate_managed_secret(&big, "x")
                .unwrap_err()
                .0
                .contains("64 KiB")
        );
    }

    #[test]
    fn default_remote_name_is_checked_too() {
        // An object name is a DNS subdomain and always fits; a remote.name must fit the same rules.
        assert_eq!(validate_managed_secret(&base(), "db.password-1"), Ok(()));
        let mut spec = base();
        spec.remote.name = Some("a".repeat(256));
        assert!(validate_managed_secret(&spec, "x").is_err());
    }

    fn cluster_store(allowed: Option<AllowedNamespaces>) -> ClusterSecretStoreSpec {
        ClusterSecretStoreSpec {
            provider: ProviderSpec {
                scaleway: None,
                thalassa: None,
                oci: None,
            },
            allowed_namespaces: allowed,
            remote_paths: None,
            request_budget: None,
        }
    }

    #[test]
    fn cluster_store_namespace_table() {
        let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).into(), (*v).into()))
                .collect()
        };
        let team_selector = LabelSelector {
            match_labels: Some(labels(&[("team", "billing")])),
            match_expressions: None,
        };
        let not_prod = LabelSelector {
            match_labels: None,
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "env".into(),
                operator: "NotIn".into(),
                values: Some(vec!["prod".into()]),
            }]),
        };
        // (case, allowedNamespaces, namespace, its labels, allowed?)
        type Row = (
            &'static str,
            Option<AllowedNamespaces>,
            &'static str,
            BTreeMap<String, String>,
            bool,
        );
        let table: Vec<Row> = vec![
            ("unset allows all", None, "any", labels(&[]), true),
            (
                "listed name",
                Some(AllowedNamespaces {
                    names: Some(vec!["apps".into(), "billing".into()]),
                    selector: None,
                }),
                "billing",
                labels(&[]),
                true,
            ),
            (
                "unlisted name",
                Some(AllowedNamespaces {
                    names: Some(vec!["apps".into()]),
                    selector: None,
                }),
                "billing",
                labels(&[]),
                false,
            ),
            (
                "selector match",
                Some(AllowedNamespaces {
                    names: None,
                    selector: Some(team_selector.clone()),
                }),
                "b",
                labels(&[("team", "billing")]),
                true,
            ),
            (
                "selector miss",
                Some(AllowedNamespaces {
                    names: None,
                    selector: Some(team_selector.clone()),
                }),
                "b",
                labels(&[("team", "web")]),
                false,
            ),
            (
                "name or selector",
                Some(AllowedNamespaces {
                    names: Some(vec!["apps".into()]),
                    selector: Some(team_selector),
                }),
                "apps",
                labels(&[]),
                true,
            ),
            (
                "expression NotIn",
                Some(AllowedNamespaces {
                    names: None,
                    selector: Some(not_prod.clone()),
                }),
                "x",
                labels(&[("env", "prod")]),
                false,
            ),
            (
                "expression NotIn without label",
                Some(AllowedNamespaces {
                    names: None,
                    selector: Some(not_prod),
                }),
                "x",
                labels(&[]),
                true,
            ),
        ];
        for (name, allowed, namespace, ns_labels, want) in table {
            let got = cluster_store_allows_namespace(
                "shared",
                &cluster_store(allowed),
                namespace,
                &ns_labels,
            );
            assert_eq!(got.is_ok(), want, "{name}: {got:?}");
            if let Err(message) = got {
                assert!(
                    message.contains("shared") && message.contains(namespace),
                    "{name}: {message}"
                );
            }
        }
    }

    #[test]
    fn invalid_selector_is_reported_not_allowed() {
        let bad = LabelSelector {
            match_labels: None,
            match_expressions: Some(vec![LabelSelectorRequirement {
                key: "env".into(),
                operator: "Sometimes".into(),
                values: None,
            }]),
        };
        let store = cluster_store(Some(AllowedNamespaces {
            names: None,
            selector: Some(bad),
        }));
        let err =
            cluster_store_allows_namespace("shared", &store, "x", &BTreeMap::new()).unwrap_err();
        assert!(err.contains("invalid allowedNamespaces.selector"), "{err}");
    }

    #[test]
    fn spec_against_store() {
        use crate::api::secret_store::{ScalewayCredentials, ScalewayProvider, SecretReference};
        let provider = |region| ProviderSpec {
            scaleway: Some(ScalewayProvider {
                region,
                project_id: ID.into(),
                api_url: None,
                credentials: ScalewayCredentials {
                    secret_ref: SecretReference {
                        name: "c".into(),
                        namespace: None,
                    },
                    access_key_key: "A".into(),
                    secret_key_key: "S".into(),
                },
            }),
            thalassa: None,
            oci: None,
        };
        let mut spec = base();
        spec.generate = None;
        spec.remote.adopt = Some(AdoptSpec {
            secret_id: None,
            terraform_id: Some(format!("nl-ams/{ID}/1")),
            allow_deletion: None,
        });
        assert_eq!(
            validate_against_store(&spec, "x", &provider(ScalewayRegion::NlAms)),
            Ok(())
        );
        let err = validate_against_store(&spec, "x", &provider(ScalewayRegion::PlWaw)).unwrap_err();
        assert!(err.0.contains("store is in pl-waw"), "{err}");
        let none = ProviderSpec {
            scaleway: None,
            thalassa: None,
            oci: None,
        };
        let err = validate_against_store(&base(), "x", &none).unwrap_err();
        assert!(err.0.contains("no provider"), "{err}");
        assert_eq!(
            validate_against_store(&base(), "x", &provider(ScalewayRegion::FrPar)),
            Ok(())
        );
    }

    #[test]
    fn spec_against_thalassa_store() {
        use crate::api::secret_store::{SecretReference, ThalassaCredentials, ThalassaProvider};
        let thalassa = ProviderSpec {
            scaleway: None,
            thalassa: Some(ThalassaProvider {
                region: "nl-01".into(),
                organisation: "org".into(),
                project: None,
                api_url: None,
                kms_key: "k".into(),
                credentials: ThalassaCredentials {
                    secret_ref: SecretReference {
                        name: "c".into(),
                        namespace: None,
                    },
                    personal_access_token_key: "T".into(),
                    client_id_key: "I".into(),
                    client_secret_key: "S".into(),
                },
            }),
            oci: None,
        };
        let check = |edit: &dyn Fn(&mut ManagedSecretSpec)| {
            let mut spec = base();
            edit(&mut spec);
            validate_against_store(&spec, "x", &thalassa).map_err(|e| e.0)
        };
        let adopt = |secret_id: Option<&str>, terraform_id: Option<String>| AdoptSpec {
            secret_id: secret_id.map(str::to_string),
            terraform_id,
            allow_deletion: None,
        };
        assert_eq!(check(&|_| {}), Ok(()));
        assert_eq!(
            check(&|s| {
                s.generate = None;
                s.remote.adopt = Some(adopt(Some("/app/db/password"), None));
            }),
            Ok(())
        );
        type Edit<'a> = Box<dyn Fn(&mut ManagedSecretSpec) + 'a>;
        let rows: Vec<(&str, Edit<'_>, &str)> = vec![
            (
                "scaleway settings",
                Box::new(|s| s.remote.scaleway = Some(ScalewayRemoteSpec::default())),
                "remote.scaleway applies to Scaleway stores only",
            ),
            (
                "terraform id",
                Box::new(|s| {
                    s.generate = None;
                    s.remote.adopt = Some(adopt(None, Some(format!("nl-ams/{ID}"))));
                }),
                "remote.adopt.terraformId names a Scaleway secret",
            ),
            (
                "a UUID to adopt",
                Box::new(|s| {
                    s.generate = None;
                    s.remote.adopt = Some(adopt(Some(ID), None));
                }),
                "is not a Thalassa secret path",
            ),
            (
                "a path too long",
                Box::new(|s| {
                    s.remote.path = Some(format!("/{}", "a".repeat(400)));
                    s.remote.name = Some("b".repeat(200));
                }),
                "at most 512 characters",
            ),
        ];
        for (name, edit, want) in rows {
            let err = check(edit.as_ref()).expect_err(name);
            assert!(err.contains(want), "{name}: {err}");
        }
    }

    #[test]
    fn spec_against_oci_store() {
        use crate::api::secret_store::{OciCredentials, OciProvider, SecretReference};
        let oci = ProviderSpec {
            scaleway: None,
            thalassa: None,
            oci: Some(OciProvider {
                region: "eu-frankfurt-1".into(),
                compartment_id: "ocid1.tenancy.oc1..aaaa".into(),
                vault_id: "ocid1.vault.oc1.eu-frankfurt-1.aaaa".into(),
                key_id: "ocid1.key.oc1.eu-frankfurt-1.aaaa".into(),
                endpoints: None,
                credentials: OciCredentials {
                    secret_ref: SecretReference {
                        name: "c".into(),
                        namespace: None,
                    },
                    tenancy_key: "T".into(),
                    user_key: "U".into(),
                    fingerprint_key: "F".into(),
                    private_key_key: "K".into(),
                    passphrase_key: "P".into(),
                },
            }),
        };
        let check = |edit: &dyn Fn(&mut ManagedSecretSpec)| {
            let mut spec = base();
            edit(&mut spec);
            validate_against_store(&spec, "x", &oci).map_err(|e| e.0)
        };
        let adopt = |secret_id: &str| AdoptSpec {
            secret_id: Some(secret_id.to_string()),
            terraform_id: None,
            allow_deletion: None,
        };
        assert_eq!(check(&|_| {}), Ok(()));
        for id in ["ocid1.vaultsecret.oc1.eu-frankfurt-1.aaaa", "team-a.db_v2"] {
            assert_eq!(
                check(&|s| {
                    s.generate = None;
                    s.remote.adopt = Some(adopt(id));
                }),
                Ok(()),
                "{id}"
            );
        }
        type Edit<'a> = Box<dyn Fn(&mut ManagedSecretSpec) + 'a>;
        let rows: Vec<(&str, Edit<'_>, &str)> = vec![
            (
                "scaleway settings",
                Box::new(|s| s.remote.scaleway = Some(ScalewayRemoteSpec::default())),
                "remote.scaleway applies to Scaleway stores only",
            ),
            (
                "terraform id",
                Box::new(|s| {
                    s.generate = None;
                    s.remote.adopt = Some(AdoptSpec {
                        terraform_id: Some(format!("nl-ams/{ID}")),
                        ..adopt("x")
                    });
                    s.remote.adopt.as_mut().unwrap().secret_id = None;
                }),
                "remote.adopt.terraformId names a Scaleway secret",
            ),
            (
                "a path to adopt",
                Box::new(|s| {
                    s.generate = None;
                    s.remote.adopt = Some(adopt("/app/db"));
                }),
                "neither a secret OCID",
            ),
            (
                "a name too long once the folder is in it",
                Box::new(|s| {
                    s.remote.path = Some(format!("/{}", "a".repeat(100)));
                    s.remote.name = Some("b".repeat(200));
                }),
                "longer than 255 characters",
            ),
        ];
        for (name, edit, want) in rows {
            let err = check(edit.as_ref()).expect_err(name);
            assert!(err.contains(want), "{name}: {err}");
        }
    }

    #[test]
    fn adoption_region_must_match_store() {
        let adopt = |region| RemoteTarget::Adopt {
            secret_id: ID.into(),
            region,
            revision: Some(RevisionSelector::Latest),
        };
        assert_eq!(
            check_adoption_region(&adopt(None), ScalewayRegion::FrPar),
            Ok(())
        );
        assert_eq!(
            check_adoption_region(&adopt(Some(ScalewayRegion::FrPar)), ScalewayRegion::FrPar),
            Ok(())
        );
        let err = check_adoption_region(&adopt(Some(ScalewayRegion::NlAms)), ScalewayRegion::FrPar)
            .unwrap_err();
        assert!(
            err.0.contains("nl-ams") && err.0.contains("fr-par"),
            "{err}"
        );
        let by_name = RemoteTarget::ByName {
            name: "x".into(),
            path: "/".into(),
        };
        assert_eq!(
            check_adoption_region(&by_name, ScalewayRegion::PlWaw),
            Ok(())
        );
    }
}
