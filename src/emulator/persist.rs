//! `--state FILE`: the store is saved as JSON after changes, atomically (temporary file in the same
//! folder, fsync, rename), so a crash leaves either the previous or the new state, never half of one.
//!
//! Writes are batched: a change marks the state dirty and a background task saves shortly after; the
//! handle's `flush_state` and shutdown save synchronously.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use super::store::Store;

const FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
struct StateFile {
    format: u32,
    store: Store,
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

/// Reads a state file; a missing file is an empty store. A file that cannot be parsed is an error, so
/// the emulator refuses to start rather than overwrite it.
pub fn load(path: &Path) -> anyhow::Result<Store> {
    match std::fs::read(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Store::new()),
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
            let mut store = file.store;
            store.reindex();
            Ok(store)
        }
    }
}

/// Serialises the store (call under the read lock; cheap next to the write).
pub fn encode(store: &Store) -> anyhow::Result<Vec<u8>> {
    #[derive(Serialize)]
    struct Out<'a> {
        format: u32,
        store: &'a Store,
    }
    Ok(serde_json::to_vec(&Out {
        format: FORMAT,
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
    fn round_trip_and_corrupt_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        assert!(load(&path).unwrap().is_empty());
        write_atomically(&path, &encode(&Store::new()).unwrap()).unwrap();
        assert!(load(&path).unwrap().is_empty());
        std::fs::write(&path, b"{ not json").unwrap();
        assert!(load(&path).is_err());
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    }
}
