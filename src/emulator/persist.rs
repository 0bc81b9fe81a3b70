//! `--state FILE`: the provider's state is saved as JSON after changes, atomically (temporary file in
//! the same folder, fsync, rename), so a crash leaves either the previous or the new state, never half
//! of one. The file names its provider, and a provider refuses another's file.
//!
//! Writes are batched: a change marks the state dirty and a background task saves shortly after; the
//! handle's `flush_state` and shutdown save synchronously.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::Notify;

const FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
struct StateFile {
    format: u32,
    /// Files written before there was more than one provider have none: they are Scaleway's.
    #[serde(default = "first_provider")]
    provider: String,
    store: Value,
}

fn first_provider() -> String {
    "scaleway".into()
}

#[derive(Debug)]
pub struct Persister {
    path: PathBuf,
    dirty: AtomicBool,
    pub(crate) notify: Notify,
}

impl Persister {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            dirty: AtomicBool::new(false),
            notify: Notify::new(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn mark_dirty(&self) {
        self.dirty.store(true, Ordering::Release);
        self.notify.notify_one();
    }

    /// Clears the dirty flag and reports whether it was set.
    pub fn take_dirty(&self) -> bool {
        self.dirty.swap(false, Ordering::AcqRel)
    }
}

/// Reads `provider`'s saved state; a missing file is `None` (start empty). A file that cannot be parsed
/// or belongs to another provider is an error, so the emulator refuses to start rather than overwrite it.
pub fn load(path: &Path, provider: &str) -> anyhow::Result<Option<Value>> {
    match std::fs::read(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading state file {}", path.display())),
        Ok(bytes) => {
            let file: StateFile = serde_json::from_slice(&bytes).with_context(|| {
                format!(
                    "state file {} is not a keyward emulator state",
                    path.display()
                )
            })?;
            anyhow::ensure!(
                file.format == FORMAT,
                "state file format {} is not supported",
                file.format
            );
            anyhow::ensure!(
                file.provider == provider,
                "state file {} holds a {} emulator's state, not {provider}'s",
                path.display(),
                file.provider
            );
            Ok(Some(file.store))
        }
    }
}

/// Serialises a provider's state with the file's envelope.
pub fn encode(provider: &str, store: Value) -> anyhow::Result<Vec<u8>> {
    Ok(serde_json::to_vec(&StateFile {
        format: FORMAT,
        provider: provider.to_string(),
        store,
    })?)
}

/// Writes `bytes` to `path` atomically.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .context("state path has no file name")?
        .to_string_lossy();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    {
        let mut f =
            std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("renaming into {}", path.display()))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refused_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        assert!(load(&path, "scaleway").unwrap().is_none());
        let state = serde_json::json!({"secrets": {}});
        write_atomically(&path, &encode("scaleway", state.clone()).unwrap()).unwrap();
        assert_eq!(load(&path, "scaleway").unwrap(), Some(state.clone()));
        assert!(load(&path, "thalassa").is_err(), "another provider's file");
        std::fs::write(&path, br#"{"format":1,"store":{"secrets":{}}}"#).unwrap();
        assert_eq!(
            load(&path, "scaleway").unwrap(),
            Some(state),
            "files without a provider are Scaleway's"
        );
        std::fs::write(&path, b"{ not json").unwrap();
        assert!(load(&path, "scaleway").is_err());
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    }
}
