//! Events about Keyward's objects (events.k8s.io/v1). kube-runtime's `Recorder` folds every Event
//! with the same reason and action into one series, whatever its note says, so the second
//! mirroring of an object showed as a repeat of the first, still naming revision 1. Keyward's
//! recorder folds only Events whose note is the same too: each revision gets an Event of its own,
//! and only a true repeat (the same failure again) becomes a series.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::{Event, EventSeries};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};

/// An Event to publish. `note` is built by Keyward from names, ids and revisions only, never from
/// a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventNote {
    pub warning: bool,
    pub reason: &'static str,
    pub action: &'static str,
    pub note: String,
}

impl EventNote {
    pub fn normal(reason: &'static str, action: &'static str, note: impl Into<String>) -> Self {
        Self {
            warning: false,
            reason,
            action,
            note: note.into(),
        }
    }

    pub fn warning(reason: &'static str, action: &'static str, note: impl Into<String>) -> Self {
        Self {
            warning: true,
            reason,
            action,
            note: note.into(),
        }
    }
}

/// Repeats within this long become a series of the first Event.
const SERIES_WINDOW: Duration = Duration::from_secs(6 * 60);
/// Events remembered at most (oldest forgotten first when full).
const MAX_REMEMBERED: usize = 4096;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    uid: String,
    warning: bool,
    reason: &'static str,
    action: &'static str,
    note: String,
}

struct Sent {
    name: String,
    namespace: String,
    count: i32,
    last: jiff::Timestamp,
}

pub struct EventRecorder {
    client: Client,
    controller: String,
    instance: String,
    sent: Mutex<HashMap<Key, Sent>>,
}

impl EventRecorder {
    pub fn new(client: Client, controller: &str, instance: Option<String>) -> Self {
        Self {
            client,
            controller: controller.to_owned(),
            instance: instance.unwrap_or_else(|| controller.to_owned()),
            sent: Mutex::default(),
        }
    }

    /// Publishes `notes` about `regarding`; a failure to publish is logged, never fatal.
    pub async fn publish(&self, regarding: &ObjectReference, notes: &[EventNote]) {
        for note in notes {
            if let Err(e) = self.publish_one(regarding, note).await {
                tracing::warn!(
                    name = ?regarding.name,
                    reason = note.reason,
                    error = %e,
                    "publishing an Event failed"
                );
            }
        }
    }

    async fn publish_one(
        &self,
        regarding: &ObjectReference,
        note: &EventNote,
    ) -> Result<(), kube::Error> {
        let now = jiff::Timestamp::now();
        let namespace = regarding
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_owned());
        let key = Key {
            uid: regarding.uid.clone().unwrap_or_default(),
            warning: note.warning,
            reason: note.reason,
            action: note.action,
            note: note.note.clone(),
        };
        let repeat = {
            let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
            sent.retain(|_, s| {
                now.duration_since(s.last)
                    < jiff::SignedDuration::try_from(SERIES_WINDOW).unwrap_or_default()
            });
            sent.get_mut(&key).map(|s| {
                s.count += 1;
                s.last = now;
                (s.name.clone(), s.namespace.clone(), s.count)
            })
        };
        let api: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
        if let Some((name, namespace, count)) = repeat {
            let patch = serde_json::json!({
                "series": EventSeries { count, last_observed_time: MicroTime(now) },
            });
            return Api::<Event>::namespaced(self.client.clone(), &namespace)
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
                .map(|_| ());
        }
        let event = Event {
            metadata: ObjectMeta {
                generate_name: Some(format!(
                    "{}.",
                    regarding.name.as_deref().unwrap_or("keyward")
                )),
                namespace: Some(namespace.clone()),
                ..Default::default()
            },
            action: Some(note.action.to_owned()),
            reason: Some(note.reason.to_owned()),
            note: Some(note.note.clone()),
            type_: Some(if note.warning { "Warning" } else { "Normal" }.to_owned()),
            event_time: Some(MicroTime(now)),
            regarding: Some(regarding.clone()),
            reporting_controller: Some(self.controller.clone()),
            reporting_instance: Some(self.instance.clone()),
            ..Default::default()
        };
        let created = api.create(&PostParams::default(), &event).await?;
        let mut sent = self.sent.lock().unwrap_or_else(|e| e.into_inner());
        if sent.len() >= MAX_REMEMBERED
            && let Some(oldest) = sent
                .iter()
                .min_by_key(|(_, s)| s.last)
                .map(|(k, _)| k.clone())
        {
            sent.remove(&oldest);
        }
        sent.insert(
            key,
            Sent {
                name: created.metadata.name.unwrap_or_default(),
                namespace,
                count: 1,
                last: now,
            },
        );
        Ok(())
    }
}
