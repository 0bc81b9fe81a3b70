//! The drift-detection key (the key of the keyed HMAC in `keyward.dev/data-hmac`), from
//! `--data-hmac-key`, from the file `--data-hmac-key-file` (a mounted Secret), or, when neither is
//! configured, a random key per start.
//!
//! The file is the preferred source in a pod: a Secret mounted as a file does not show up in the
//! container's environment (`kubectl describe`, crash dumps, child processes). The file's bytes
//! are the key, less one trailing newline, because keys are often written with `echo`. Errors name
//! the flag or the path, never the key's bytes.

use std::io;
use std::path::{Path, PathBuf};

use crate::mirror::{HmacKey, HmacKeyTooShort};

/// Why no drift key could be loaded. Each message names where the key was looked for and, at
/// most, its length.
#[derive(Debug, thiserror::Error)]
pub enum DriftKeyError {
    #[error("--data-hmac-key (KEYWARD_DATA_HMAC_KEY): {0}")]
    Value(HmacKeyTooShort),
    #[error("cannot read the data HMAC key file {path}: {source}")]
    Unreadable { path: PathBuf, source: io::Error },
    #[error("the data HMAC key file {path} is empty (a newline alone counts as empty)")]
    Empty { path: PathBuf },
    #[error("the data HMAC key file {path}: {reason}")]
    TooShort {
        path: PathBuf,
        reason: HmacKeyTooShort,
    },
}

/// Where the key comes from, as configured (clap makes the value and the file exclusive).
#[derive(Clone, Copy)]
pub enum KeySource<'a> {
    /// Nothing configured: a random key per start.
    Random,
    /// `--data-hmac-key`.
    Value(&'a str),
    /// `--data-hmac-key-file`; with `optional`, a file that does not exist means [`KeySource::Random`]
    /// (the chart's `dataHmacKey.optional`: the Secret, and so the file, may be missing).
    File { path: &'a Path, optional: bool },
}

/// The key configured by `source`, or `None` when a random key is to be used.
pub fn load(source: KeySource<'_>) -> Result<Option<HmacKey>, DriftKeyError> {
    match source {
        KeySource::Random => Ok(None),
        KeySource::Value(value) => HmacKey::new(value.as_bytes().to_vec())
            .map(Some)
            .map_err(DriftKeyError::Value),
        KeySource::File { path, optional } => match std::fs::read(path) {
            Err(e) if optional && e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(DriftKeyError::Unreadable {
                path: path.to_owned(),
                source,
            }),
            Ok(content) => key_from_file_content(path, content).map(Some),
        },
    }
}

/// The key held by a key file's `content`: the bytes less one trailing newline (`\n` or `\r\n`).
pub fn key_from_file_content(path: &Path, mut content: Vec<u8>) -> Result<HmacKey, DriftKeyError> {
    if content.ends_with(b"\n") {
        content.pop();
        if content.ends_with(b"\r") {
            content.pop();
        }
    }
    if content.is_empty() {
        return Err(DriftKeyError::Empty {
            path: path.to_owned(),
        });
    }
    HmacKey::new(content).map_err(|reason| DriftKeyError::TooShort {
        path: path.to_owned(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mirror::data_hmac;

    const KEY: &str = "k3y-0f-at-least-sixteen-bytes";

    fn path() -> &'static Path {
        Path::new("/etc/keyward/drift-key/key")
    }

    /// Two keys are the same key when they give the same HMAC (`HmacKey` does not expose its bytes).
    fn same_key(a: &HmacKey, b: &HmacKey) -> bool {
        let data = [("user", b"alice".as_slice())];
        data_hmac(a, data) == data_hmac(b, data)
    }

    fn key(bytes: &[u8]) -> HmacKey {
        HmacKey::new(bytes.to_vec()).unwrap()
    }

    #[test]
    fn file_content_to_key() {
        // (content, the key it must give)
        let cases: &[(&[u8], &[u8])] = &[
            (
                b"k3y-0f-at-least-sixteen-bytes",
                b"k3y-0f-at-least-sixteen-bytes",
            ),
            (
                b"k3y-0f-at-least-sixteen-bytes\n",
                b"k3y-0f-at-least-sixteen-bytes",
            ),
            (
                b"k3y-0f-at-least-sixteen-bytes\r\n",
                b"k3y-0f-at-least-sixteen-bytes",
            ),
            // Only one newline goes; inner and leading whitespace is part of the key.
            (
                b"k3y-0f-at-least-sixteen-bytes\n\n",
                b"k3y-0f-at-least-sixteen-bytes\n",
            ),
            (b" sixteen bytes, spaces in\n", b" sixteen bytes, spaces in"),
            // Binary keys (e.g. `head -c 32 /dev/urandom`) are bytes, not text.
            (&[0xff; 16], &[0xff; 16]),
            (b"exactly-16-bytes\n", b"exactly-16-bytes"),
        ];
        for (content, expected) in cases {
            let got = key_from_file_content(path(), content.to_vec())
                .unwrap_or_else(|e| panic!("{content:?}: {e}"));
            assert!(same_key(&got, &key(expected)), "{content:?}");
        }
        // The trimmed newline really is gone: with it, the key would differ.
        let trimmed = key_from_file_content(path(), format!("{KEY}\n").into_bytes()).unwrap();
        assert!(!same_key(&trimmed, &key(format!("{KEY}\n").as_bytes())));
    }

    #[test]
    fn file_content_errors() {
        // (content, the message's ending)
        let cases: &[(&[u8], &str)] = &[
            (b"", "is empty (a newline alone counts as empty)"),
            (b"\n", "is empty (a newline alone counts as empty)"),
            (b"\r\n", "is empty (a newline alone counts as empty)"),
            (b"fifteen-bytes!!", "at least 16 bytes, got 15"),
            // The newline does not count towards the minimum length.
            (b"fifteen-bytes!!\n", "at least 16 bytes, got 15"),
        ];
        for (content, ending) in cases {
            let e = key_from_file_content(path(), content.to_vec()).unwrap_err();
            let message = e.to_string();
            assert!(message.contains("/etc/keyward/drift-key/key"), "{message}");
            assert!(message.ends_with(ending), "{content:?}: {message}");
        }
    }

    #[test]
    fn a_short_key_is_never_in_the_error() {
        let short = "sh0rt-s3cret";
        let file = key_from_file_content(path(), short.as_bytes().to_vec()).unwrap_err();
        let value = load(KeySource::Value(short)).unwrap_err();
        for e in [file, value] {
            for shown in [e.to_string(), format!("{e:?}"), format!("{e:#}")] {
                assert!(!shown.contains(short), "{shown}");
            }
        }
    }

    #[test]
    fn the_value_flag_keeps_its_rules() {
        let loaded = load(KeySource::Value(KEY)).unwrap().unwrap();
        assert!(same_key(&loaded, &key(KEY.as_bytes())));
        let e = load(KeySource::Value("fifteen-bytes!!")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--data-hmac-key (KEYWARD_DATA_HMAC_KEY): the data HMAC key must be at least 16 bytes, got 15"
        );
        assert!(load(KeySource::Random).unwrap().is_none());
    }

    /// A key written with `echo` into a file gives the same key as the flag with the same text, so
    /// moving from `--data-hmac-key` to `--data-hmac-key-file` does not rewrite every Secret.
    #[test]
    fn a_file_written_with_echo_gives_the_flags_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("key");
        std::fs::write(&file, format!("{KEY}\n")).unwrap();
        let from_file = load(KeySource::File {
            path: &file,
            optional: false,
        })
        .unwrap()
        .unwrap();
        let from_flag = load(KeySource::Value(KEY)).unwrap().unwrap();
        assert!(same_key(&from_file, &from_flag));
    }

    #[test]
    fn a_missing_file_is_an_error_unless_optional() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("absent/key");
        let e = load(KeySource::File {
            path: &missing,
            optional: false,
        })
        .unwrap_err();
        assert!(matches!(e, DriftKeyError::Unreadable { .. }), "{e:?}");
        let message = e.to_string();
        assert!(
            message.starts_with(&format!(
                "cannot read the data HMAC key file {}: ",
                missing.display()
            )),
            "{message}"
        );
        let optional = load(KeySource::File {
            path: &missing,
            optional: true,
        });
        assert!(optional.unwrap().is_none());
    }

    /// `optional` forgives only a file that does not exist: a file that exists but is unusable is
    /// a mistake to report, not a reason to run with a random key.
    #[test]
    fn optional_does_not_forgive_a_bad_file() {
        let dir = tempfile::tempdir().unwrap();
        let short = dir.path().join("short");
        std::fs::write(&short, "sh0rt-s3cret\n").unwrap();
        for optional in [false, true] {
            let e = load(KeySource::File {
                path: &short,
                optional,
            })
            .unwrap_err();
            assert!(matches!(e, DriftKeyError::TooShort { .. }), "{e:?}");
            assert!(!e.to_string().contains("sh0rt-s3cret"), "{e}");
            // A directory (a mount path instead of the file in it) is unreadable as a file.
            let e = load(KeySource::File {
                path: dir.path(),
                optional,
            })
            .unwrap_err();
            assert!(matches!(e, DriftKeyError::Unreadable { .. }), "{e:?}");
        }
    }
}
