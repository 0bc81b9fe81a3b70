//! Writing status: the whole status (Keyward owns every status field) through the status
//! subresource with server-side apply. Callers write only when it changed.

use kube::api::{Patch, PatchParams};
use kube::{Api, Resource};
use serde::Serialize;

use crate::api::well_known::FIELD_MANAGER;

/// Writes `status` of the object `name` of kind `K`; returns the object as written.
pub async fn patch_status<K, S>(api: &Api<K>, name: &str, status: &S) -> Result<K, kube::Error>
where
    K: Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    S: Serialize,
{
    let body = serde_json::json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    });
    api.patch_status(
        name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&body),
    )
    .await
}
