//! The executor: performs a plan's steps in order through the store runtime and the Kubernetes
//! API, stops at the first failure, and reports what it did as facts ([`Done`]); the status is
//! assembled from them by `plan::conclude`. It is the only code of a reconcile that writes.
//!
//! A failure never removes or blanks the target Secret: `ApplyTarget` comes after every remote
//! write, and a failing step ends the plan before it. A refused write of the target becomes a
//! `TargetWriteFailed` condition with the API server's message, never a silent retry loop.

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, ResourceExt};

use crate::api::conditions::Reason;
use crate::api::{CreationPolicy, ManagedSecret, ManagedSecretStatus};
use crate::mirror::ownership::released_keys;
use crate::mirror::{
    HmacKey, RenderError, RenderSpec, TargetTypeError, check_target_type, payload_digest,
    render_with_previous,
};
use crate::provider::{NewVersion, RemoteSecret, SecretId};
use crate::rotation::ValuePolicy;
use crate::secret_value::SecretValue;
use crate::stores::StoreRuntime;

use super::intent::Intent;
use super::plan::backoff::Pace;
use super::plan::conclude::{Done, Failure, Outcome, provider_failure, with_pending};
use super::plan::{Step, TargetRevision, ValueFrom, VersionWrite};
use super::target::{desired_secret, is_ours, release_patch};

pub use crate::api::well_known::FIELD_MANAGER;

/// What the executor needs besides the steps.
pub struct Execution<'a> {
    pub ms: &'a ManagedSecret,
    pub api: &'a Api<ManagedSecret>,
    pub secrets: &'a Api<Secret>,
    pub intent: &'a Intent,
    pub runtime: &'a StoreRuntime,
    pub hmac: &'a HmacKey,
    pub render: &'a RenderSpec,
    pub values: Option<&'a ValuePolicy>,
    pub source_payload: Option<&'a SecretValue>,
    /// The remote secret as observed (`None` before `CreateSecret`).
    pub remote: Option<&'a RemoteSecret>,
    /// The status as read at the start of the reconcile.
    pub status: &'a ManagedSecretStatus,
    pub target_exists: bool,
    /// Keys Keyward wrote into the target before (removed when a render no longer has them).
    pub previous_keys: &'a BTreeSet<String>,
    pub now: jiff::Timestamp,
    /// Debug builds only: hold the reconcile right after this step (`create_version`) for the
    /// test to kill the process there, to test crash safety.
    pub crash_after: Option<&'a str>,
    /// Where status writes are recorded until the watch cache shows them.
    pub own_writes: &'a crate::controller::own_writes::OwnWrites<ManagedSecret>,
}

/// What the steps have made so far.
#[derive(Default)]
struct Progress {
    done: Vec<Done>,
    secret: Option<RemoteSecret>,
    /// The version created (or found) in this plan, with its value when Keyward made it here.
    created: Option<(u64, Option<SecretValue>)>,
    /// A value made before its version was written (recorded by digest first).
    prepared: Option<SecretValue>,
    status: Option<ManagedSecretStatus>,
}

/// Performs `steps` in order.
pub async fn execute(exec: &Execution<'_>, steps: &[Step]) -> Result<Outcome, kube::Error> {
    let mut progress = Progress {
        secret: exec.remote.cloned(),
        ..Default::default()
    };
    for step in steps {
        if let Err(failure) = run_step(exec, step, &mut progress).await? {
            return Ok(Outcome {
                done: progress.done,
                failure: Some((step.action(), failure)),
            });
        }
    }
    Ok(Outcome {
        done: progress.done,
        failure: None,
    })
}

type StepResult = Result<(), Failure>;

fn internal(message: &str) -> Failure {
    Failure::new(
        Reason::ProviderError,
        format!("internal: {message}"),
        Pace::Temporary,
    )
}

/// The value of a new version: generated, or the source's payload.
fn make_value(exec: &Execution<'_>, value: ValueFrom) -> Result<SecretValue, Failure> {
    match (value, exec.values, exec.source_payload) {
        (ValueFrom::Generate, Some(policy), _) => Ok(policy.generate()),
        (ValueFrom::Source, _, Some(payload)) => Ok(payload.clone()),
        _ => Err(Failure::invalid("no source to create a version from")),
    }
}

async fn run_step(
    exec: &Execution<'_>,
    step: &Step,
    progress: &mut Progress,
) -> Result<StepResult, kube::Error> {
    let client = exec.runtime.client();
    match step {
        Step::CreateSecret(new) => match client.create_secret(new, None).await {
            Ok(c) => {
                exec.runtime.record_secret(&c.secret);
                progress.done.push(Done::SecretCreated {
                    id: c.secret.id.clone(),
                    place: place(&c.secret),
                });
                progress.secret = Some(c.secret);
            }
            Err(e) => return Ok(Err(provider_failure(&e))),
        },
        Step::CreateSecretWithVersion { secret, version } => {
            let value = match progress.prepared.take() {
                Some(v) => v,
                None => match make_value(exec, version.value) {
                    Ok(v) => v,
                    Err(f) => return Ok(Err(f)),
                },
            };
            let new_version = new_version(exec, version, &value);
            match client.create_secret(secret, Some(&new_version)).await {
                Ok(c) => {
                    crash_point(exec.crash_after, "create_version");
                    exec.runtime.record_secret(&c.secret);
                    progress.done.push(Done::SecretCreated {
                        id: c.secret.id.clone(),
                        place: place(&c.secret),
                    });
                    let revision = c.initial_version.as_ref().map_or(1, |v| v.revision);
                    exec.runtime
                        .remember_payload(&c.secret.id, revision, &value);
                    progress.done.push(Done::VersionCreated {
                        revision,
                        cause: version.cause,
                        request: version.request.clone(),
                    });
                    progress.created = Some((revision, Some(value)));
                    progress.secret = Some(c.secret);
                }
                Err(e) => return Ok(Err(provider_failure(&e))),
            }
        }
        Step::UpdateSecret(update) => {
            let Some(id) = progress.secret.as_ref().map(|s| s.id.clone()) else {
                return Ok(Err(internal("no remote secret before UpdateSecret")));
            };
            match client.update_secret(&id, update).await {
                Ok(secret) => {
                    exec.runtime.record_secret(&secret);
                    progress.secret = Some(secret);
                }
                Err(e) => return Ok(Err(provider_failure(&e))),
            }
        }
        Step::SetProtected(protected) => {
            let Some(id) = progress.secret.as_ref().map(|s| s.id.clone()) else {
                return Ok(Err(internal("no remote secret before SetProtected")));
            };
            match client.set_protected(&id, *protected).await {
                Ok(secret) => {
                    exec.runtime.record_secret(&secret);
                    progress.secret = Some(secret);
                }
                Err(e) => return Ok(Err(provider_failure(&e))),
            }
        }
        Step::RecordPending {
            token,
            cause,
            value_digest,
        } => {
            let digest = if let Some(value_from) = value_digest {
                let value = match make_value(exec, *value_from) {
                    Ok(v) => v,
                    Err(f) => return Ok(Err(f)),
                };
                let digest = payload_digest(exec.hmac, &value);
                progress.prepared = Some(value);
                Some(digest)
            } else {
                None
            };
            let base = progress
                .status
                .clone()
                .unwrap_or_else(|| exec.status.clone());
            let (status, operation) = with_pending(&base, token, *cause, digest, exec.now);
            // The record must be durable before the remote write it describes.
            exec.own_writes
                .write_status(exec.api, &exec.ms.name_any(), &status)
                .await?;
            progress.status = Some(status);
            progress.done.push(Done::PendingRecorded(operation));
        }
        Step::CreateVersion(version) => {
            let Some(secret) = progress.secret.clone() else {
                return Ok(Err(internal("no remote secret before CreateVersion")));
            };
            let value = match progress.prepared.take() {
                Some(v) => v,
                None => match make_value(exec, version.value) {
                    Ok(v) => v,
                    Err(f) => return Ok(Err(f)),
                },
            };
            let created = match client
                .create_version(&secret.id, &new_version(exec, version, &value))
                .await
            {
                Ok(v) => v,
                Err(e) => return Ok(Err(provider_failure(&e))),
            };
            crash_point(exec.crash_after, "create_version");
            exec.runtime.record_version(&secret, &created);
            exec.runtime
                .remember_payload(&secret.id, created.revision, &value);
            progress.done.push(Done::VersionCreated {
                revision: created.revision,
                cause: version.cause,
                request: version.request.clone(),
            });
            progress.created = Some((created.revision, Some(value)));
        }
        Step::RecordExistingVersion {
            revision, request, ..
        } => {
            progress.done.push(Done::VersionFound {
                revision: *revision,
                request: request.clone(),
            });
            progress.created = Some((*revision, None));
        }
        Step::ClearPending => progress.done.push(Done::PendingCleared),
        Step::ApplyTarget {
            revision,
            drift_repair,
            previous,
        } => return apply_target(exec, progress, *revision, *drift_repair, *previous).await,
        Step::DeleteTarget { name: old } => {
            let name = exec.ms.name_any();
            if let Some(secret) = exec.secrets.get_opt(old).await?
                && is_ours(&secret, &name)
            {
                let result = if exec.intent.target.creation_policy == CreationPolicy::Merge {
                    // Someone else's Secret: take back only what Keyward wrote.
                    exec.secrets
                        .patch(
                            old,
                            &PatchParams::default(),
                            &Patch::Merge(&release_patch(&secret)),
                        )
                        .await
                        .map(|_| ())
                } else {
                    exec.secrets
                        .delete(old, &DeleteParams::default())
                        .await
                        .map(|_| ())
                };
                if let Err(e) = result {
                    return Ok(Err(target_write_failure(old, &e)));
                }
            }
        }
    }
    Ok(Ok(()))
}

fn new_version(exec: &Execution<'_>, version: &VersionWrite, value: &SecretValue) -> NewVersion {
    NewVersion {
        value: value.clone(),
        description: exec
            .runtime
            .capabilities()
            .version_descriptions
            .then(|| version.token.clone()),
        disable_previous: false,
    }
}

async fn apply_target(
    exec: &Execution<'_>,
    progress: &mut Progress,
    revision: TargetRevision,
    drift_repair: bool,
    previous: Option<u64>,
) -> Result<StepResult, kube::Error> {
    let Some(id) = progress.secret.as_ref().map(|s| s.id.clone()) else {
        return Ok(Err(internal("no remote secret before ApplyTarget")));
    };
    let (revision, known) = match (revision, progress.created.as_ref()) {
        (TargetRevision::Number(n), _) => (n, None),
        (TargetRevision::Created, Some((n, value))) => (*n, value.clone()),
        (TargetRevision::Created, None) => {
            return Ok(Err(internal(
                "no version created before writing the target",
            )));
        }
    };
    let (data, previous) = match render_target(
        exec.runtime,
        exec.intent,
        exec.render,
        &id,
        revision,
        known,
        previous,
    )
    .await
    {
        Ok(rendered) => rendered,
        Err(f) => return Ok(Err(f)),
    };
    let dropped: Vec<String> = released_keys(exec.previous_keys, &data.keys())
        .into_iter()
        .collect();
    let secret = desired_secret(
        exec.ms,
        &exec.intent.target,
        data,
        revision,
        previous,
        exec.hmac,
    );
    let target_name = exec.intent.target.name.clone();
    let written = if exec.target_exists {
        write_existing(exec, &target_name, &secret, dropped).await
    } else {
        let params = PostParams {
            field_manager: Some(FIELD_MANAGER.into()),
            ..Default::default()
        };
        match exec.secrets.create(&params, &secret).await {
            Ok(_) => Ok(()),
            Err(kube::Error::Api(e)) if e.code == 409 => {
                // Someone created it between our read and our write: look again.
                return Ok(Err(Failure::new(
                    Reason::Conflict,
                    format!(
                        "Secret {target_name} was created by someone else meanwhile; checking its owner again"
                    ),
                    Pace::Temporary,
                )));
            }
            Err(e) => Err(e),
        }
    };
    if let Err(e) = written {
        return Ok(Err(target_write_failure(&target_name, &e)));
    }
    progress.done.push(Done::TargetApplied {
        revision,
        name: target_name,
        drift_repair,
    });
    Ok(Ok(()))
}

/// The target Secret's data for `revision` (its payload as `known`, else read through the
/// runtime), with the previous revision's keys when `previous` asks for them, checked against the
/// target's type; and the previous revision it carries. Reads only: `keyward plan` checks a
/// mirror with it before anything is written.
pub async fn render_target(
    runtime: &StoreRuntime,
    intent: &Intent,
    render: &RenderSpec,
    id: &SecretId,
    revision: u64,
    known: Option<SecretValue>,
    previous: Option<u64>,
) -> Result<(crate::mirror::RenderedData, Option<u64>), Failure> {
    let payload = match known {
        Some(v) => v,
        None => runtime
            .payload(id, revision, intent.single_access())
            .await
            .map_err(|e| provider_failure(&e))?,
    };
    // The previous revision's value, when the Secret carries it too: from the cache (it was the
    // current one until now), else read once. One that cannot be read (disabled elsewhere) is
    // left out rather than holding up the current revision.
    let previous = match previous {
        Some(p) if p != revision => match runtime.payload(id, p, false).await {
            Ok(v) => Some((p, v)),
            Err(e) => {
                tracing::warn!(namespace = %intent.namespace, name = %intent.name, revision = p, error = %e.condition_message(), "previous revision unreadable; the target Secret carries the current one only");
                None
            }
        },
        _ => None,
    };
    let data = render_with_previous(&payload, previous.as_ref().map(|(_, v)| v), render)
        .map_err(|e| template_failure(revision, &intent.target.name, &e))?;
    check_target_type(Some(&intent.target.type_), &data.keys())
        .map_err(|e| target_type_failure(revision, &intent.target.name, &e))?;
    Ok((data, previous.map(|(p, _)| p)))
}

async fn write_existing(
    exec: &Execution<'_>,
    name: &str,
    secret: &Secret,
    dropped: Vec<String>,
) -> Result<(), kube::Error> {
    exec.secrets
        .patch(
            name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(secret),
        )
        .await?;
    if !dropped.is_empty() {
        // Keys a render no longer produces; server-side apply alone would keep the ones first
        // written by a create.
        let removal: serde_json::Map<String, serde_json::Value> = dropped
            .into_iter()
            .map(|k| (k, serde_json::Value::Null))
            .collect();
        exec.secrets
            .patch(
                name,
                &PatchParams::default(),
                &Patch::Merge(serde_json::json!({ "data": removal })),
            )
            .await?;
    }
    Ok(())
}

/// A write of the target the API server refused (or could not take).
fn target_write_failure(name: &str, error: &kube::Error) -> Failure {
    match error {
        kube::Error::Api(status) => {
            let pace = if status.code >= 500 || status.code == 429 {
                Pace::Temporary
            } else {
                Pace::Persistent
            };
            Failure::new(
                Reason::TargetWriteFailed,
                format!(
                    "the API server refused to write Secret {name} ({} {}): {}",
                    status.code, status.reason, status.message
                ),
                pace,
            )
        }
        other => Failure::new(
            Reason::TargetWriteFailed,
            format!("writing Secret {name} failed: {other}"),
            Pace::Temporary,
        ),
    }
}

fn place(secret: &RemoteSecret) -> String {
    if secret.path.ends_with('/') {
        format!("{}{}", secret.path, secret.name)
    } else {
        format!("{}/{}", secret.path, secret.name)
    }
}

/// A revision's payload could not be turned into the target's data (template or payload shape).
fn template_failure(revision: u64, target: &str, error: &RenderError) -> Failure {
    Failure::new(
        Reason::TemplateFailed,
        format!("rendering revision {revision} into Secret {target} failed: {error}"),
        Pace::Persistent,
    )
}

/// The data rendered fine but does not fit the target Secret's `type`.
fn target_type_failure(revision: u64, target: &str, error: &TargetTypeError) -> Failure {
    Failure::new(
        Reason::TargetTypeMismatch,
        format!(
            "revision {revision} rendered, but Secret {target} cannot hold it: {error}; map the payload to the keys the type needs with target.template, or change target.type"
        ),
        Pace::Persistent,
    )
}

/// In debug builds, when `KEYWARD_TEST_CRASH_AFTER` names this point, say so and hold this
/// reconcile there for good: the test then SIGKILLs the process, exactly between a remote write
/// and its record in status.
pub fn crash_point(configured: Option<&str>, point: &str) {
    if cfg!(debug_assertions) && configured == Some(point) {
        eprintln!("{}", crash_point_reached(point));
        loop {
            std::thread::park();
        }
    }
}

/// The line [`crash_point`] prints when it holds; tests wait for it before the kill.
pub fn crash_point_reached(point: &str) -> String {
    format!("keyward: KEYWARD_TEST_CRASH_AFTER={point}: holding here until killed")
}

/// The id of the secret a plan ends with (for the fingerprint the status records).
pub fn final_secret_id(outcome: &Outcome, observed: Option<&SecretId>) -> Option<SecretId> {
    outcome
        .done
        .iter()
        .find_map(|d| match d {
            Done::SecretCreated { id, .. } => Some(id.clone()),
            _ => None,
        })
        .or_else(|| observed.cloned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mirror::{PayloadFormat, Templates, render};
    use std::collections::BTreeMap;

    /// Template failures and target-type mismatches carry different reasons, and neither message
    /// quotes a payload value.
    #[test]
    fn render_failures_and_type_mismatches_have_their_own_reasons() {
        let payload = SecretValue::from(r#"{"user":"canary-7f2e"}"#);
        let broken = RenderSpec {
            format: PayloadFormat::JsonObject,
            templates: Some(
                Templates::new(BTreeMap::from([(
                    "password".to_string(),
                    "{{ missing }}".to_string(),
                )]))
                .unwrap(),
            ),
        };
        let template_err = render(&payload, &broken).unwrap_err();
        let plain = RenderSpec {
            format: PayloadFormat::JsonObject,
            templates: None,
        };
        let data = render(&payload, &plain).unwrap();
        let type_err = check_target_type(Some("kubernetes.io/tls"), &data.keys()).unwrap_err();

        let rows = [
            (
                template_failure(3, "app", &template_err),
                Reason::TemplateFailed,
                "rendering revision 3 into Secret app failed",
            ),
            (
                target_type_failure(3, "app", &type_err),
                Reason::TargetTypeMismatch,
                "Secret app cannot hold it",
            ),
        ];
        for (failure, reason, text) in rows {
            assert_eq!(failure.reason, reason);
            assert!(failure.message.contains(text), "{}", failure.message);
            assert!(!failure.message.contains("canary"), "{}", failure.message);
        }
    }

    #[test]
    fn refused_target_writes_carry_the_api_servers_message() {
        let refused = kube::Error::Api(
            kube::core::Status::failure(
                "Secret \"db\" is invalid: type: field is immutable",
                "Invalid",
            )
            .with_code(422)
            .boxed(),
        );
        let f = target_write_failure("db", &refused);
        assert_eq!(f.reason, Reason::TargetWriteFailed);
        assert!(f.message.contains("field is immutable"), "{}", f.message);
        assert!(f.message.contains("422"), "{}", f.message);
        assert_eq!(
            f.pace,
            super::super::plan::conclude::FailurePace::Retry(Pace::Persistent)
        );
    }
}
