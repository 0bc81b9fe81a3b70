//! Which remote secret a ManagedSecret means: the name and path Keyward creates (with their
//! defaults), or the secret it adopts by ID or Terraform-style ID.

use std::fmt;
use std::str::FromStr;

use super::managed_secret::{AdoptSpec, ManagedSecretSpec};
use super::secret_store::ScalewayRegion;
pub use crate::provider::RevisionSelector;

/// The root folder, the default path.
pub const ROOT_PATH: &str = "/";

/// A Terraform-style ID: `{region}/{id}` (secret) or `{region}/{id}/{revision}` (version).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TerraformId {
    pub region: ScalewayRegion,
    /// Lowercase hyphenated UUID.
    pub secret_id: String,
    pub revision: Option<RevisionSelector>,
}

impl FromStr for TerraformId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split('/').collect();
        let (region, id, revision) = match parts.as_slice() {
            [region, id] => (*region, *id, None),
            [region, id, revision] => (*region, *id, Some(*revision)),
            _ => {
                return Err(format!(
                    "Terraform ID {s:?} must look like {{region}}/{{id}} or {{region}}/{{id}}/{{revision}}"
                ));
            }
        };
        Ok(TerraformId {
            region: region.parse()?,
            secret_id: parse_secret_id(id)?,
            revision: revision.map(str::parse).transpose()?,
        })
    }
}

impl fmt::Display for TerraformId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.region, self.secret_id)?;
        if let Some(revision) = self.revision {
            write!(f, "/{revision}")?;
        }
        Ok(())
    }
}

/// Check a Scaleway ID: a hyphenated UUID, returned in lowercase (the form the API answers with).
pub fn parse_secret_id(id: &str) -> Result<String, String> {
    let parsed = (id.len() == 36)
        .then(|| uuid::Uuid::try_parse(id).ok())
        .flatten()
        .ok_or_else(|| {
            format!("{id:?} is not a UUID such as 11111111-1111-1111-1111-111111111111")
        })?;
    Ok(parsed.hyphenated().to_string())
}

/// An adopted secret's id as the provider answers with it: trimmed, and a UUID in lower case
/// (Scaleway). Whether the id has the store's provider's form is checked with the store
/// (`validation::validate_against_store`).
fn normalize_id(id: &str) -> Result<String, String> {
    let id = id.trim();
    if id.is_empty() {
        return Err("remote.adopt.secretId must not be empty".into());
    }
    Ok(match uuid::Uuid::try_parse(id) {
        Ok(uuid) if id.len() == 36 => uuid.hyphenated().to_string(),
        _ => id.to_owned(),
    })
}

/// The remote secret a ManagedSecret refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RemoteTarget {
    /// Find the secret by name and path (Keyward-created, or left by an earlier ManagedSecret),
    /// creating it when absent.
    ByName { name: String, path: String },
    /// Adopt an existing secret by ID; never create one.
    Adopt {
        secret_id: String,
        /// Region named by a Terraform ID (must equal the store's region).
        region: Option<ScalewayRegion>,
        /// Revision to mirror first, from a Terraform ID.
        revision: Option<RevisionSelector>,
    },
}

/// The remote name: `remote.name`, or the ManagedSecret's own name.
pub fn effective_name(spec: &ManagedSecretSpec, object_name: &str) -> String {
    spec.remote
        .name
        .clone()
        .unwrap_or_else(|| object_name.to_owned())
}

/// The remote path: `remote.path`, or `/`.
pub fn effective_path(spec: &ManagedSecretSpec) -> String {
    spec.remote
        .path
        .clone()
        .unwrap_or_else(|| ROOT_PATH.to_owned())
}

/// Resolve which remote secret the spec means.
pub fn remote_target(spec: &ManagedSecretSpec, object_name: &str) -> Result<RemoteTarget, String> {
    match &spec.remote.adopt {
        None => Ok(RemoteTarget::ByName {
            name: effective_name(spec, object_name),
            path: effective_path(spec),
        }),
        Some(AdoptSpec {
            secret_id: Some(id),
            terraform_id: None,
            ..
        }) => Ok(RemoteTarget::Adopt {
            secret_id: normalize_id(id)?,
            region: None,
            revision: None,
        }),
        Some(AdoptSpec {
            secret_id: None,
            terraform_id: Some(tf),
            ..
        }) => {
            let tf: TerraformId = tf
                .parse()
                .map_err(|e| format!("remote.adopt.terraformId: {e}"))?;
            Ok(RemoteTarget::Adopt {
                secret_id: tf.secret_id,
                region: Some(tf.region),
                revision: tf.revision,
            })
        }
        Some(_) => Err("remote.adopt needs exactly one of secretId and terraformId".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::managed_secret::{RemoteSecretSpec, StoreKind, StoreRef};

    const ID: &str = "11111111-1111-1111-1111-111111111111";

    fn spec(remote: RemoteSecretSpec) -> ManagedSecretSpec {
        ManagedSecretSpec {
            rollout: None,
            retirement: None,
            store_ref: StoreRef {
                kind: StoreKind::SecretStore,
                name: "scw".into(),
            },
            remote,
            generate: None,
            from_secret: None,
            rotation: None,
            refresh_interval: None,
            target: None,
            remote_deletion_policy: None,
        }
    }

    #[test]
    fn terraform_ids_parse() {
        let table: [(&str, ScalewayRegion, Option<RevisionSelector>); 5] = [
            (
                "fr-par/11111111-1111-1111-1111-111111111111/2",
                ScalewayRegion::FrPar,
                Some(RevisionSelector::Number(2)),
            ),
            (
                "nl-ams/11111111-1111-1111-1111-111111111111",
                ScalewayRegion::NlAms,
                None,
            ),
            (
                "pl-waw/11111111-1111-1111-1111-111111111111/latest",
                ScalewayRegion::PlWaw,
                Some(RevisionSelector::Latest),
            ),
            (
                "fr-par/11111111-1111-1111-1111-111111111111/latest_enabled",
                ScalewayRegion::FrPar,
                Some(RevisionSelector::LatestEnabled),
            ),
            (
                "fr-par/AAAAAAAA-1111-1111-1111-111111111111/10",
                ScalewayRegion::FrPar,
                Some(RevisionSelector::Number(10)),
            ),
        ];
        for (text, region, revision) in table {
            let id: TerraformId = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(id.region, region, "{text}");
            assert_eq!(id.revision, revision, "{text}");
            assert_eq!(id.secret_id, id.secret_id.to_lowercase(), "{text}");
            assert_eq!(id.to_string(), text.to_lowercase(), "{text} round-trips");
        }
    }

    #[test]
    fn bad_terraform_ids_say_why() {
        let table = [
            ("", "must look like"),
            ("fr-par", "must look like"),
            ("fr-par/x/1/2", "must look like"),
            (
                "us-east/11111111-1111-1111-1111-111111111111",
                "unknown Scaleway region",
            ),
            ("fr-par/not-a-uuid", "not a UUID"),
            ("fr-par/111111111111111111111111111111111111", "not a UUID"),
            (
                "fr-par/11111111-1111-1111-1111-111111111111/0",
                "number from 1",
            ),
            (
                "fr-par/11111111-1111-1111-1111-111111111111/01",
                "number from 1",
            ),
            (
                "fr-par/11111111-1111-1111-1111-111111111111/-1",
                "number from 1",
            ),
            (
                "fr-par/11111111-1111-1111-1111-111111111111/",
                "number from 1",
            ),
            (
                "fr-par/11111111-1111-1111-1111-111111111111/99999999999999999999999",
                "too large",
            ),
        ];
        for (text, want) in table {
            let err = text.parse::<TerraformId>().expect_err(text);
            assert!(err.contains(want), "{text}: {err}");
        }
    }

    #[test]
    fn names_and_paths_default() {
        let plain = spec(RemoteSecretSpec::default());
        assert_eq!(effective_name(&plain, "db-password"), "db-password");
        assert_eq!(effective_path(&plain), "/");
        assert_eq!(
            remote_target(&plain, "db-password"),
            Ok(RemoteTarget::ByName {
                name: "db-password".into(),
                path: "/".into()
            })
        );
        let named = spec(RemoteSecretSpec {
            name: Some("billing-db".into()),
            path: Some("/apps/billing".into()),
            ..Default::default()
        });
        assert_eq!(
            remote_target(&named, "ignored"),
            Ok(RemoteTarget::ByName {
                name: "billing-db".into(),
                path: "/apps/billing".into()
            })
        );
    }

    #[test]
    fn adoption_targets() {
        let by_id = spec(RemoteSecretSpec {
            adopt: Some(AdoptSpec {
                secret_id: Some(ID.to_uppercase()),
                terraform_id: None,
                allow_deletion: None,
            }),
            ..Default::default()
        });
        assert_eq!(
            remote_target(&by_id, "x"),
            Ok(RemoteTarget::Adopt {
                secret_id: ID.into(),
                region: None,
                revision: None
            })
        );
        let by_tf = spec(RemoteSecretSpec {
            adopt: Some(AdoptSpec {
                secret_id: None,
                terraform_id: Some(format!("nl-ams/{ID}/3")),
                allow_deletion: None,
            }),
            ..Default::default()
        });
        assert_eq!(
            remote_target(&by_tf, "x"),
            Ok(RemoteTarget::Adopt {
                secret_id: ID.into(),
                region: Some(ScalewayRegion::NlAms),
                revision: Some(RevisionSelector::Number(3))
            })
        );
        let both = spec(RemoteSecretSpec {
            adopt: Some(AdoptSpec {
                secret_id: Some(ID.into()),
                terraform_id: Some(format!("nl-ams/{ID}")),
                allow_deletion: None,
            }),
            ..Default::default()
        });
        assert!(
            remote_target(&both, "x")
                .unwrap_err()
                .contains("exactly one")
        );
        // Other providers' ids are kept as given (the store's provider checks their form).
        let other = spec(RemoteSecretSpec {
            adopt: Some(AdoptSpec {
                secret_id: Some(" /apps/Billing ".into()),
                terraform_id: None,
                allow_deletion: None,
            }),
            ..Default::default()
        });
        assert!(matches!(
            remote_target(&other, "x"),
            Ok(RemoteTarget::Adopt { secret_id, .. }) if secret_id == "/apps/Billing"
        ));
        let empty = spec(RemoteSecretSpec {
            adopt: Some(AdoptSpec {
                secret_id: Some(" ".into()),
                terraform_id: None,
                allow_deletion: None,
            }),
            ..Default::default()
        });
        assert!(
            remote_target(&empty, "x")
                .unwrap_err()
                .starts_with("remote.adopt.secretId")
        );
    }
}
