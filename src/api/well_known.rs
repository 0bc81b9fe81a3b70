//! Names Keyward writes on Kubernetes objects: the one place they are defined. The controller, the
//! mirror and the rotation module re-export what they use from here.

/// Finalizer on a ManagedSecret while Keyward may still have to apply its deletion policies.
pub const FINALIZER: &str = "keyward.dev/cleanup";
/// Field manager of every server-side apply Keyward makes.
pub const FIELD_MANAGER: &str = "keyward";

/// Annotation on a ManagedSecret: a new value requests one rotation.
pub const ROTATE_ANNOTATION: &str = "keyward.dev/rotate";
/// Annotation on a ManagedSecret: a new value forces a refresh and a rewrite of the target Secret.
pub const FORCE_SYNC_ANNOTATION: &str = "keyward.dev/force-sync";

/// Label on every target Secret Keyward writes (value: [`MANAGED_BY_VALUE`]); watches filter on it.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// Value of [`MANAGED_BY_LABEL`].
pub const MANAGED_BY_VALUE: &str = "keyward";
/// Label on a target Secret naming its ManagedSecret, for selecting one object's Secret.
pub const MANAGED_SECRET_LABEL: &str = "keyward.dev/managed-secret";
/// Annotation on a target Secret naming the ManagedSecret that writes it, so a second ManagedSecret
/// targeting the same Secret sees the conflict.
pub const CLAIM_ANNOTATION: &str = "keyward.dev/managed-secret";
/// Annotation on a target Secret: the keys Keyward owns in it (creation policy Merge).
pub const OWNED_KEYS_ANNOTATION: &str = "keyward.dev/owned-keys";
/// Annotation on a target Secret: keyed HMAC of the data Keyward wrote, to detect drift without
/// storing values.
pub const DATA_HMAC_ANNOTATION: &str = "keyward.dev/data-hmac";
/// Annotation on a target Secret: the remote revision it holds.
pub const REVISION_ANNOTATION: &str = "keyward.dev/revision";
/// Annotation on a target Secret: the previous revision whose keys it also holds
/// (`target.includePrevious`).
pub const PREVIOUS_REVISION_ANNOTATION: &str = "keyward.dev/previous-revision";
/// Annotation on a restarted workload's pod template: a keyed digest of the revisions it consumes,
/// so a new value means a new revision and the same value never rolls pods again.
pub const RESTART_ANNOTATION: &str = "keyward.dev/revisions";
