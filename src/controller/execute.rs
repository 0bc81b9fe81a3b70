//! The executor: performs a plan's steps in order through the provider trait and the Kubernetes
//! API, and stops at the first failure. It is the only code of a reconcile that writes.
//!
//! A failure never removes or blanks the target Secret: `ApplyTarget` comes after every remote
//! write, and a failing step ends the plan before it.

use std::collections::HashMap;
use std::sync::Mutex;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, ResourceExt};

use crate::api::conditions::Reason;
use crate::api::{
    CreationPolicy, ManagedSecret, ManagedSecretStatus, OperationCause, OperationKind,
    PendingOperation,
};
use crate::mirror::{RenderError, RenderSpec, TargetTypeError, check_target_type, render};
use crate::provider::{NewVersion, RevisionSelector, SecretId, SecretManager};
use crate::rotation::ValuePolicy;
use crate::secret_value::SecretValue;

use super::intent::Intent;
use super::plan::{Step, TargetRevision, ValueFrom};
use super::report::{FIELD_MANAGER, Failure, Note, patch_status, provider_failure, time};
use super::target::{desired_secret, is_ours};

/// How many revisions Keyward remembers creating (status.managedRevisions).
const MANAGED_REVISIONS_KEPT: usize = 32;

/// Payloads by (secret id, revision): versions are immutable, so a payload read once stays right.
#[derive(Default)]
pub struct PayloadCache {
    entries: Mutex<HashMap<(String, u64), SecretValue>>,
}

impl PayloadCache {
    const LIMIT: usize = 1024;

    pub fn get(&self, id: &SecretId, revision: u64) -> Option<SecretValue> {
        let entries = self.entries.lock().expect("payload cache lock");
        entries.get(&(id.0.clone(), revision)).cloned()
    }

    pub fn put(&self, id: &SecretId, revision: u64, value: SecretValue) {
        let mut entries = self.entries.lock().expect("payload cache lock");
        if entries.len() >= Self::LIMIT {
            entries.clear();
        }
        entries.insert((id.0.clone(), revision), value);
    }

    /// Read a payload through the cache.
    pub async fn read(
        &self,
        provider: &dyn SecretManager,
        id: &SecretId,
        revision: u64,
    ) -> Result<SecretValue, crate::provider::ProviderError> {
        if let Some(v) = self.get(id, revision) {
            return Ok(v);
        }
        let accessed = provider
            .access_version(id, RevisionSelector::Number(revision))
            .await?;
        self.put(id, revision, accessed.value.clone());
        Ok(accessed.value)
    }
}

/// What the executor needs besides the steps.
pub struct Execution<'a> {
    pub ms: &'a ManagedSecret,
    pub api: &'a Api<ManagedSecret>,
    pub secrets: &'a Api<Secret>,
    pub intent: &'a Intent,
    pub provider: &'a dyn SecretManager,
    pub payloads: &'a PayloadCache,
    pub hmac: &'a crate::mirror::HmacKey,
    pub render: &'a RenderSpec,
    pub values: Option<&'a ValuePolicy>,
    pub source_payload: Option<&'a SecretValue>,
    pub secret_id: Option<SecretId>,
    pub target_exists: bool,
    /// Keys Keyward wrote into the target before (removed when a render no longer has them).
    pub previous_keys: &'a std::collections::BTreeSet<String>,
    pub now: jiff::Timestamp,
    /// Debug builds only: abort the process right after this step (`create_version`), to test
    /// crash safety.
    pub crash_after: Option<&'a str>,
}

/// What the steps did.
pub struct Outcome {
    pub status: ManagedSecretStatus,
    pub notes: Vec<Note>,
    pub failure: Option<Failure>,
    pub secret_id: Option<SecretId>,
}

/// Perform `steps` in order on top of `status`.
pub async fn execute(
    exec: Execution<'_>,
    steps: &[Step],
    status: ManagedSecretStatus,
) -> Result<Outcome, kube::Error> {
    let mut out = Outcome {
        status,
        notes: Vec::new(),
        failure: None,
        secret_id: exec.secret_id.clone(),
    };
    let mut created: Option<(u64, Option<SecretValue>)> = None;
    let name = exec.ms.name_any();
    for step in steps {
        let result = run_step(&exec, step, &mut out, &mut created, &name).await?;
        if let Err(failure) = result {
            out.notes.push(Note::warning(
                "Failed",
                step_action(step),
                failure.message.clone(),
            ));
            out.failure = Some(failure);
            break;
        }
    }
    Ok(out)
}

fn step_action(step: &Step) -> &'static str {
    match step {
        Step::CreateSecret(_) => "CreateSecret",
        Step::UpdateSecret(_) => "UpdateSecret",
        Step::SetProtected(_) => "SetProtected",
        Step::RecordPending { .. } => "RecordPending",
        Step::CreateVersion { .. } => "CreateVersion",
        Step::RecordExistingVersion { .. } => "RecordVersion",
        Step::ClearPending => "ClearPending",
        Step::ApplyTarget { .. } => "ApplyTarget",
        Step::DeleteTarget { .. } => "DeleteTarget",
    }
}

fn record_version(
    status: &mut ManagedSecretStatus,
    revision: u64,
    request: &Option<String>,
    now: jiff::Timestamp,
) {
    status.pending_operation = None;
    let revision = u32::try_from(revision).unwrap_or(u32::MAX);
    if !status.managed_revisions.contains(&revision) {
        status.managed_revisions.push(revision);
    }
    let excess = status
        .managed_revisions
        .len()
        .saturating_sub(MANAGED_REVISIONS_KEPT);
    status.managed_revisions.drain(..excess);
    status.last_rotation_time = Some(time(now));
    if let Some(request) = request {
        status.handled_rotate_request = Some(request.clone());
    }
}

fn version_note(cause: OperationCause, revision: u64, id: &SecretId) -> Note {
    match cause {
        OperationCause::Initial => Note::normal(
            "Created",
            "CreateVersion",
            format!("created version {revision} of remote secret {id} from the source"),
        ),
        OperationCause::Rotation => Note::normal(
            "Rotated",
            "CreateVersion",
            format!("rotated on schedule: version {revision} of remote secret {id}"),
        ),
        OperationCause::Request => Note::normal(
            "Rotated",
            "CreateVersion",
            format!(
                "rotated on request (keyward.dev/rotate): version {revision} of remote secret {id}"
            ),
        ),
        OperationCause::Push => Note::normal(
            "Pushed",
            "CreateVersion",
            format!("pushed the source Secret as version {revision} of remote secret {id}"),
        ),
    }
}

type StepResult = Result<(), Failure>;

async fn run_step(
    exec: &Execution<'_>,
    step: &Step,
    out: &mut Outcome,
    created: &mut Option<(u64, Option<SecretValue>)>,
    name: &str,
) -> Result<StepResult, kube::Error> {
    let provider = exec.provider;
    let need_id = |out: &Outcome| {
        out.secret_id.clone().ok_or_else(|| {
            Failure::new(
                Reason::ProviderError,
                "internal: no remote secret id before a step that needs one",
                std::time::Duration::from_secs(5),
            )
        })
    };
    match step {
        Step::CreateSecret(new) => match provider.create_secret(new, None).await {
            Ok(c) => {
                out.notes.push(Note::normal(
                    "Created",
                    "CreateSecret",
                    format!(
                        "created remote secret {} ({}{}{})",
                        c.secret.id,
                        c.secret.path,
                        if c.secret.path.ends_with('/') {
                            ""
                        } else {
                            "/"
                        },
                        c.secret.name
                    ),
                ));
                out.status.secret_id = Some(c.secret.id.0.clone());
                out.secret_id = Some(c.secret.id);
            }
            Err(e) => return Ok(Err(provider_failure(&e))),
        },
        Step::UpdateSecret(update) => {
            let id = match need_id(out) {
                Ok(id) => id,
                Err(f) => return Ok(Err(f)),
            };
            if let Err(e) = provider.update_secret(&id, update).await {
                return Ok(Err(provider_failure(&e)));
            }
        }
        Step::SetProtected(protected) => {
            let id = match need_id(out) {
                Ok(id) => id,
                Err(f) => return Ok(Err(f)),
            };
            if let Err(e) = provider.set_protected(&id, *protected).await {
                return Ok(Err(provider_failure(&e)));
            }
        }
        Step::RecordPending { token, cause } => {
            out.status.pending_operation = Some(PendingOperation {
                token: token.clone(),
                kind: OperationKind::CreateVersion,
                cause: *cause,
                started_at: time(exec.now),
            });
            // The record must be durable before the remote write it describes.
            patch_status(exec.api, name, &out.status).await?;
        }
        Step::CreateVersion {
            token,
            cause,
            value,
            request,
        } => {
            let id = match need_id(out) {
                Ok(id) => id,
                Err(f) => return Ok(Err(f)),
            };
            let payload = match (value, exec.values, exec.source_payload) {
                (ValueFrom::Generate, Some(policy), _) => policy.generate(),
                (ValueFrom::Source, _, Some(payload)) => payload.clone(),
                _ => {
                    return Ok(Err(Failure::new(
                        Reason::InvalidSpec,
                        "no source to create a version from",
                        std::time::Duration::from_secs(60),
                    )));
                }
            };
            let new = NewVersion {
                value: payload.clone(),
                description: Some(token.clone()),
                disable_previous: false,
            };
            let version = match provider.create_version(&id, &new).await {
                Ok(v) => v,
                Err(e) => return Ok(Err(provider_failure(&e))),
            };
            crash_point(exec.crash_after, "create_version");
            exec.payloads.put(&id, version.revision, payload.clone());
            record_version(&mut out.status, version.revision, request, exec.now);
            out.notes.push(version_note(*cause, version.revision, &id));
            *created = Some((version.revision, Some(payload)));
        }
        Step::RecordExistingVersion {
            revision,
            cause: _,
            request,
        } => {
            record_version(&mut out.status, *revision, request, exec.now);
            *created = Some((*revision, None));
        }
        Step::ClearPending => out.status.pending_operation = None,
        Step::ApplyTarget {
            revision,
            drift_repair,
        } => {
            let id = match need_id(out) {
                Ok(id) => id,
                Err(f) => return Ok(Err(f)),
            };
            let (revision, known) = match (revision, created.as_ref()) {
                (TargetRevision::Number(n), _) => (*n, None),
                (TargetRevision::Created, Some((n, value))) => (*n, value.clone()),
                (TargetRevision::Created, None) => {
                    return Ok(Err(Failure::new(
                        Reason::ProviderError,
                        "internal: no version created before writing the target",
                        std::time::Duration::from_secs(5),
                    )));
                }
            };
            let payload = match known {
                Some(v) => v,
                None => match exec.payloads.read(provider, &id, revision).await {
                    Ok(v) => v,
                    Err(e) => return Ok(Err(provider_failure(&e))),
                },
            };
            let data = match render(&payload, exec.render) {
                Ok(d) => d,
                Err(e) => {
                    return Ok(Err(template_failure(
                        revision,
                        &exec.intent.target.name,
                        &e,
                    )));
                }
            };
            if let Err(e) = check_target_type(Some(&exec.intent.target.type_), &data.keys()) {
                return Ok(Err(target_type_failure(
                    revision,
                    &exec.intent.target.name,
                    &e,
                )));
            }
            let dropped: Vec<String> = exec
                .previous_keys
                .difference(&data.keys())
                .cloned()
                .collect();
            let secret = desired_secret(exec.ms, &exec.intent.target, data, revision, exec.hmac);
            let target_name = exec.intent.target.name.clone();
            if exec.target_exists {
                exec.secrets
                    .patch(
                        &target_name,
                        &PatchParams::apply(FIELD_MANAGER).force(),
                        &Patch::Apply(&secret),
                    )
                    .await?;
                if !dropped.is_empty() {
                    // Keys a render no longer produces; server-side apply alone would keep the
                    // ones first written by the create below.
                    let removal: serde_json::Map<String, serde_json::Value> = dropped
                        .into_iter()
                        .map(|k| (k, serde_json::Value::Null))
                        .collect();
                    exec.secrets
                        .patch(
                            &target_name,
                            &PatchParams::default(),
                            &Patch::Merge(serde_json::json!({ "data": removal })),
                        )
                        .await?;
                }
            } else {
                let params = PostParams {
                    field_manager: Some(FIELD_MANAGER.into()),
                    ..Default::default()
                };
                match exec.secrets.create(&params, &secret).await {
                    Ok(_) => {}
                    Err(kube::Error::Api(e)) if e.code == 409 => {
                        // Someone created it between our read and our write: look again.
                        return Ok(Err(Failure::new(
                            Reason::Conflict,
                            format!(
                                "Secret {target_name} was created by someone else meanwhile; checking its owner again"
                            ),
                            std::time::Duration::from_secs(5),
                        )));
                    }
                    Err(e) => return Err(e),
                }
            }
            out.status.current_revision = Some(u32::try_from(revision).unwrap_or(u32::MAX));
            out.status.target_name = Some(target_name.clone());
            out.status.last_sync_time = Some(time(exec.now));
            out.notes.push(if *drift_repair {
                Note::normal(
                    "DriftRepaired",
                    "ApplyTarget",
                    format!("Secret {target_name} had been changed; restored revision {revision}"),
                )
            } else {
                Note::normal(
                    "Mirrored",
                    "ApplyTarget",
                    format!("mirrored revision {revision} into Secret {target_name}"),
                )
            });
        }
        Step::DeleteTarget { name: old } => {
            if let Some(secret) = exec.secrets.get_opt(old).await?
                && is_ours(&secret, name)
            {
                if exec.intent.target.creation_policy == CreationPolicy::Merge {
                    // Someone else's Secret: take back only what Keyward wrote.
                    let patch = super::target::release_patch(&secret);
                    exec.secrets
                        .patch(old, &PatchParams::default(), &Patch::Merge(&patch))
                        .await?;
                } else {
                    exec.secrets.delete(old, &DeleteParams::default()).await?;
                }
            }
        }
    }
    Ok(Ok(()))
}

/// In debug builds, abort the process when `KEYWARD_TEST_CRASH_AFTER` names this point: a way for
/// tests to stop the operator exactly between a remote write and its record in status.
/// How long to wait before retrying a target that cannot be rendered: only a spec change (or a new
/// remote revision) can fix it, and either triggers a reconcile of its own.
const RENDER_RETRY: std::time::Duration = std::time::Duration::from_secs(300);

/// A revision's payload could not be turned into the target's data (template or payload shape).
fn template_failure(revision: u64, target: &str, error: &RenderError) -> Failure {
    Failure::new(
        Reason::TemplateFailed,
        format!("rendering revision {revision} into Secret {target} failed: {error}"),
        RENDER_RETRY,
    )
}

/// The data rendered fine but does not fit the target Secret's `type`.
fn target_type_failure(revision: u64, target: &str, error: &TargetTypeError) -> Failure {
    Failure::new(
        Reason::TargetTypeMismatch,
        format!(
            "revision {revision} rendered, but Secret {target} cannot hold it: {error}; map the payload to the keys the type needs with target.template, or change target.type"
        ),
        RENDER_RETRY,
    )
}

fn crash_point(configured: Option<&str>, point: &str) {
    if cfg!(debug_assertions) && configured == Some(point) {
        eprintln!("keyward: KEYWARD_TEST_CRASH_AFTER={point}: aborting on purpose");
        std::process::abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mirror::{PayloadFormat, Templates, check_target_type, render};
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
}
