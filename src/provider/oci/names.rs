//! How Keyward's neutral names map onto OCI Vault, which has neither folders nor version
//! descriptions. Pure; table-tested.
//!
//! - **Folders.** A secret name is unique per vault and may hold letters, digits, `-`, `_` and `.`
//!   only, so a folder becomes a prefix of dot-joined segments (`/team-a/apps` and `db` make
//!   `team-a.apps.db`), and the folder itself is recorded in the freeform tag [`PATH_TAG`]. A
//!   secret is read back at its tagged folder only when its name carries that prefix; any other
//!   secret (made in the console, by Terraform) lives at `/` under its own name. The listing and a
//!   direct read therefore always agree on where a secret is.
//! - **Operation tokens.** Keyward's token (`keyward:team/db:rotation:…`) becomes the version's
//!   name, which OCI keeps unique within a secret. Characters a version name may not hold are
//!   escaped as `_XX` (hex), and `_` itself too, so the token reads back exactly.
//! - **Owner mark.** Two freeform tags, [`OWNER_CLUSTER_TAG`] and [`OWNER_OBJECT_TAG`]; tag keys
//!   hold no `.` (OCI refuses periods in tag keys), hence `keyward-…` rather than `keyward.dev/…`.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

use crate::provider::OwnerMark;

/// Freeform tag holding the folder Keyward created a secret in.
pub const PATH_TAG: &str = "keyward-path";
/// Freeform tag holding the cluster half of Keyward's owner mark.
pub const OWNER_CLUSTER_TAG: &str = "keyward-cluster";
/// Freeform tag holding the object half (`namespace/name`) of Keyward's owner mark.
pub const OWNER_OBJECT_TAG: &str = "keyward-owner";

/// Longest secret name OCI accepts.
pub const MAX_SECRET_NAME: usize = 255;

/// The OCI secret name of `name` in `folder`.
pub fn secret_name(folder: &str, name: &str) -> String {
    match folder_prefix(folder) {
        Some(prefix) => format!("{prefix}.{name}"),
        None => name.to_string(),
    }
}

/// `team-a.apps` for `/team-a/apps`; `None` for the root.
pub fn folder_prefix(folder: &str) -> Option<String> {
    let segments: Vec<&str> = folder.split('/').filter(|s| !s.is_empty()).collect();
    (!segments.is_empty()).then(|| segments.join("."))
}

/// `(folder, name)` of an OCI secret, from its name and freeform tags.
pub fn place_of(secret_name: &str, tags: &BTreeMap<String, String>) -> (String, String) {
    if let Some(folder) = tags.get(PATH_TAG)
        && let Some(prefix) = folder_prefix(folder)
        && let Some(name) = secret_name
            .strip_prefix(prefix.as_str())
            .and_then(|rest| rest.strip_prefix('.'))
        && !name.is_empty()
    {
        return (normalize(folder), name.to_string());
    }
    ("/".to_string(), secret_name.to_string())
}

fn normalize(folder: &str) -> String {
    match folder_prefix(folder) {
        Some(_) => format!(
            "/{}",
            folder
                .split('/')
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join("/")
        ),
        None => "/".to_string(),
    }
}

/// The freeform tags a secret is created with: the folder (when not the root) and the owner mark.
pub fn keyward_tags(folder: &str, owner: Option<&OwnerMark>) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::new();
    if folder_prefix(folder).is_some() {
        tags.insert(PATH_TAG.to_string(), normalize(folder));
    }
    if let Some(owner) = owner {
        tags.insert(OWNER_CLUSTER_TAG.to_string(), owner.cluster.clone());
        tags.insert(OWNER_OBJECT_TAG.to_string(), owner.object.clone());
    }
    tags
}

/// The owner mark, when both of its tags are there.
pub fn owner_of(tags: &BTreeMap<String, String>) -> Option<OwnerMark> {
    Some(OwnerMark {
        cluster: tags.get(OWNER_CLUSTER_TAG)?.clone(),
        object: tags.get(OWNER_OBJECT_TAG)?.clone(),
    })
}

/// A version name holding `text` (an operation token): letters, digits, `-` and `.` stay, every
/// other byte becomes `_XX`.
pub fn version_name(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'.' {
            out.push(b as char);
        } else {
            out.push_str(&format!("_{b:02x}"));
        }
    }
    out
}

/// The text a [`version_name`] holds; a name that is not such an encoding is returned as it is.
pub fn version_text(name: &str) -> String {
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'_' {
            let hex = name.get(i + 1..i + 3);
            match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                Some(b) => {
                    out.push(b);
                    i += 3;
                    continue;
                }
                None => return name.to_string(),
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).unwrap_or_else(|_| name.to_string())
}

/// An `opc-retry-token` for one logical write: the same operation always sends the same token, so
/// OCI answers a repeat with the first result instead of acting twice. OCI takes at most 64
/// characters.
pub fn retry_token(operation: &str, subject: &str) -> String {
    let digest = Sha256::digest(format!("{operation}\n{subject}").as_bytes());
    let hex: String = digest[..20].iter().map(|b| format!("{b:02x}")).collect();
    format!("keyward-{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn folders_become_dotted_prefixes_and_read_back_only_with_their_tag() {
        assert_eq!(secret_name("/", "db"), "db");
        assert_eq!(secret_name("/team-a", "db"), "team-a.db");
        assert_eq!(
            secret_name("/team-a/apps/", "db.prod"),
            "team-a.apps.db.prod"
        );
        let made = keyward_tags("/team-a/apps", None);
        assert_eq!(made, tags(&[(PATH_TAG, "/team-a/apps")]));
        assert_eq!(
            place_of("team-a.apps.db.prod", &made),
            ("/team-a/apps".into(), "db.prod".into())
        );
        for (name, tags, want) in [
            // Made elsewhere: no tag, so at the root under its own name.
            ("team-a.db", tags(&[]), ("/", "team-a.db")),
            // A tag that does not match the name is not believed.
            (
                "other.db",
                tags(&[(PATH_TAG, "/team-a")]),
                ("/", "other.db"),
            ),
            ("team-a.", tags(&[(PATH_TAG, "/team-a")]), ("/", "team-a.")),
            ("team-a", tags(&[(PATH_TAG, "/team-a")]), ("/", "team-a")),
            ("db", tags(&[(PATH_TAG, "/")]), ("/", "db")),
        ] {
            assert_eq!(
                place_of(name, &tags),
                (want.0.to_string(), want.1.to_string()),
                "{name}"
            );
        }
        assert!(keyward_tags("/", None).is_empty());
    }

    #[test]
    fn the_owner_mark_round_trips_through_tags() {
        let owner = OwnerMark {
            cluster: "c-1".into(),
            object: "team/db".into(),
        };
        let made = keyward_tags("/", Some(&owner));
        assert!(made.keys().all(|k| !k.contains('.')), "{made:?}");
        assert_eq!(owner_of(&made), Some(owner));
        assert_eq!(owner_of(&tags(&[(OWNER_CLUSTER_TAG, "c-1")])), None);
    }

    #[test]
    fn operation_tokens_read_back_exactly_from_version_names() {
        for token in [
            "keyward:team/db:rotation:0011223344556677",
            "keyward:ns/a.b-c:initial:ff",
            "under_score and space",
            "",
        ] {
            let name = version_name(token);
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b)),
                "{name}"
            );
            assert_eq!(version_text(&name), token);
        }
        assert_eq!(version_name("keyward:team/db"), "keyward_3ateam_2fdb");
        // Names made by people stay as they are.
        for plain in ["v2", "release_x", "a_zz"] {
            assert_eq!(version_text(plain), plain);
        }
    }

    #[test]
    fn retry_tokens_are_stable_short_and_distinct() {
        let a = retry_token("create_secret", "team-a.db keyward:team-a/db:initial:00");
        assert_eq!(
            a,
            retry_token("create_secret", "team-a.db keyward:team-a/db:initial:00")
        );
        assert_ne!(
            a,
            retry_token("create_secret", "team-b.db keyward:team-b/db:initial:00")
        );
        assert!(a.len() <= 64, "{}", a.len());
    }
}
