//! A ManagedKey's spec resolved and checked beyond what the API server checks (the schedule's cron
//! fields and time zone, durations): a spec that cannot be acted on is `InvalidSpec`.

use std::time::Duration;

use kube::ResourceExt;

use crate::api::ManagedKey;
use crate::api::duration::parse_duration;
use crate::api::well_known::{FORCE_SYNC_ANNOTATION, ROTATE_ANNOTATION};
use crate::rotation::RotationSchedule;

use super::plan::{KeyIntent, KeyRetirement};

/// How often a key's state is read when nothing is due, unless the spec says otherwise.
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(3600);
/// OCI's default and longest wait before a scheduled key version is deleted.
pub const DEFAULT_DELETION_DELAY: Duration = Duration::from_secs(30 * 86_400);

pub fn key_intent(mk: &ManagedKey) -> Result<KeyIntent, String> {
    let namespace = mk.namespace().unwrap_or_default();
    let name = mk.name_any();
    let schedule = mk
        .spec
        .rotation
        .as_ref()
        .map(|r| RotationSchedule::parse(r, &namespace, &name).map_err(|e| e.0))
        .transpose()?
        .map(|s| Box::new(s) as Box<dyn crate::rotation::NextDue + Send + Sync>);
    let refresh = match &mk.spec.refresh_interval {
        Some(text) => parse_duration(text).map_err(|e| format!("refreshInterval: {e}"))?,
        None => DEFAULT_REFRESH,
    };
    let retirement = match &mk.spec.retirement {
        None => None,
        Some(r) => Some(KeyRetirement {
            keep: r.keep_versions.max(2) as usize,
            delay: match &r.deletion_delay {
                Some(text) => {
                    parse_duration(text).map_err(|e| format!("retirement.deletionDelay: {e}"))?
                }
                None => DEFAULT_DELETION_DELAY,
            },
        }),
    };
    Ok(KeyIntent {
        object: format!("{namespace}/{name}"),
        key_id: mk.spec.key_id.clone(),
        schedule,
        request: mk.annotations().get(ROTATE_ANNOTATION).cloned(),
        force_sync: mk.annotations().get(FORCE_SYNC_ANNOTATION).cloned(),
        refresh,
        retirement,
        generation: mk.metadata.generation,
    })
}
