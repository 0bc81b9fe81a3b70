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
use super::managed_secret::{
    EphemeralPolicy, GenerateSpec, ManagedSecretSpec, PasswordPolicy, ScalewaySecretType,
};
use super::remote_id::{RemoteTarget, parse_secret_id, remote_target};
use super::store::{ClusterSecretStoreSpec, ScalewayRegion};

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
            if remote.name.is_some()
                || remote.path.is_some()
                || remote.key_id.is_some()
                || remote.ephemeral_policy.is_some()
            {
                return invalid(
                    "an adopted secret keeps its own name, path, keyId and ephemeralPolicy: remove them from remote when adopt is set",
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
    if let Some(key_id) = &remote.key_id {
        parse_secret_id(key_id).map_err(|e| InvalidSpec(format!("remote.keyId: {e}")))?;
    }
    if let Some(policy) = &remote.ephemeral_policy {
        validate_ephemeral(policy)?;
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
    type_: Option<ScalewaySecretType>,
) -> Result<(), InvalidSpec> {
    validate_policy(&generate.policy(), "generate")?;
    let type_ = type_.unwrap_or_default();
    let Some(keys) = &generate.keys else {
        if type_ != ScalewaySecretType::Opaque {
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

fn check_fixed_value(type_: ScalewaySecretType, key: &str, value: &str) -> Result<(), InvalidSpec> {
    if type_ != ScalewaySecretType::DatabaseCredentials {
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
