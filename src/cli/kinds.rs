//! What the commands need of an object kind. ManagedSecret ([`super::managed_secret`]) and
//! ManagedKey ([`super::managed_key`]) implement it; another kind plugs in with one more
//! implementation and one line in [`all`]: `plan`, `status`, `rotate`, `sync` and `plan -f` then
//! cover it.

use async_trait::async_trait;
use kube::Client;

use super::Scope;
use super::report::ObjectPlan;

/// What `keyward plan` works with: a client and the operator's own context, read-only.
pub struct PlanEnv {
    pub ctx: std::sync::Arc<crate::controller::reconcile::Context>,
}

/// One row of `keyward status`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusRow {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// `True`, `False` or `Unknown`.
    pub ready: String,
    pub reason: String,
    pub message: String,
    /// The store it uses (for the budget column).
    pub store: String,
    pub revision: Option<u32>,
    /// When the next rotation is due (RFC 3339).
    pub next_rotation: Option<String>,
    /// When its Ready condition last changed (RFC 3339).
    pub since: Option<String>,
}

/// What a person asks of an object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request {
    /// A new version now.
    Rotate,
    /// Read and mirror again now.
    Sync,
}

/// Where an asked-for change stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Still working; what the object says now.
    Waiting(String),
    /// Done: what it did (e.g. `revision 3 mirrored into Secret db`).
    Done {
        revision: Option<u32>,
        message: String,
    },
    /// The object reports a failure.
    Failed { reason: String, message: String },
}

#[async_trait]
pub trait ObjectKind: Send + Sync {
    /// The kind (`ManagedSecret`).
    fn kind(&self) -> &'static str;

    /// What a person may type for it in `--kind` (lowercase: `managedsecret`, `ms`).
    fn names(&self) -> &'static [&'static str];

    /// The plan of each object in `scope`, observed read-only.
    async fn plan(&self, env: &PlanEnv, scope: &Scope) -> anyhow::Result<Vec<ObjectPlan>>;

    /// The status row of each object in `scope`.
    async fn status(&self, client: &Client, scope: &Scope) -> anyhow::Result<Vec<StatusRow>>;

    /// The operator's own checks of a manifest that the CRD schema and its rules admitted
    /// (offline: no store, no cluster); the message says why not.
    fn check(&self, manifest: &serde_json::Value) -> Result<(), String>;

    /// Asks the operator for `request` on one object, with a fresh `value` in the annotation.
    async fn ask(
        &self,
        client: &Client,
        namespace: &str,
        name: &str,
        request: Request,
        value: &str,
    ) -> anyhow::Result<()>;

    /// Where the request with `value`, asked at `asked_at`, stands.
    async fn progress(
        &self,
        client: &Client,
        namespace: &str,
        name: &str,
        request: Request,
        value: &str,
        asked_at: jiff::Timestamp,
    ) -> anyhow::Result<Progress>;
}

/// The objects of kind `K` in `scope`, sorted by namespace and name (a name no object of `K` has
/// is left out: it may be another kind's).
pub async fn list<K>(client: &Client, scope: &Scope) -> anyhow::Result<Vec<K>>
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    use kube::ResourceExt as _;
    let mut found = Vec::new();
    if scope.names.is_empty() {
        let api: kube::Api<K> = match &scope.namespace {
            Some(ns) => kube::Api::namespaced(client.clone(), ns),
            None => kube::Api::all(client.clone()),
        };
        found = api.list(&Default::default()).await?.items;
    } else {
        for (ns, name) in &scope.names {
            let api: kube::Api<K> = kube::Api::namespaced(client.clone(), ns);
            found.extend(api.get_opt(name).await?);
        }
    }
    found.sort_by_key(|o| (o.namespace(), o.name_any()));
    Ok(found)
}

/// Asks the operator for `request` on an object of kind `K`: its annotation
/// (`keyward.dev/rotate` or `keyward.dev/force-sync`) set to `value`.
pub async fn annotate<K>(
    client: &Client,
    namespace: &str,
    name: &str,
    request: Request,
    value: &str,
) -> anyhow::Result<()>
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    use crate::api::well_known::{FORCE_SYNC_ANNOTATION, ROTATE_ANNOTATION};
    let annotation = match request {
        Request::Rotate => ROTATE_ANNOTATION,
        Request::Sync => FORCE_SYNC_ANNOTATION,
    };
    let api: kube::Api<K> = kube::Api::namespaced(client.clone(), namespace);
    let patch = serde_json::json!({"metadata": {"annotations": {annotation: value}}});
    api.patch(
        name,
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(&patch),
    )
    .await?;
    Ok(())
}

/// Every kind the commands know.
pub fn all() -> Vec<Box<dyn ObjectKind>> {
    vec![
        Box::new(super::managed_secret::ManagedSecrets),
        Box::new(super::managed_key::ManagedKeys),
    ]
}

/// The kind of a manifest's `kind`, if the commands know it.
pub fn by_name(kind: &str) -> Option<Box<dyn ObjectKind>> {
    all().into_iter().find(|k| k.kind() == kind)
}

/// The kinds `--kind` selects: every kind without it (ManagedSecret first), else the one it names.
pub fn select(kind: Option<&str>) -> Result<Vec<Box<dyn ObjectKind>>, String> {
    let Some(wanted) = kind else {
        return Ok(all());
    };
    let wanted = wanted.to_ascii_lowercase();
    let (found, others): (Vec<_>, Vec<_>) = all().into_iter().partition(|k| {
        k.kind().to_ascii_lowercase() == wanted || k.names().contains(&wanted.as_str())
    });
    if found.is_empty() {
        let known: Vec<&str> = others.iter().map(|k| k.kind()).collect();
        return Err(format!(
            "--kind {wanted}: not a kind these tools know ({})",
            known.join(", ")
        ));
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_chosen_by_any_of_their_names() {
        for name in ["ManagedSecret", "managedsecrets", "ms"] {
            let kinds = select(Some(name)).unwrap();
            assert_eq!(kinds.len(), 1);
            assert_eq!(kinds[0].kind(), "ManagedSecret");
        }
        assert_eq!(select(None).unwrap()[0].kind(), "ManagedSecret");
        let err = select(Some("secret")).err().unwrap();
        assert!(err.contains("ManagedSecret"), "{err}");
    }
}
