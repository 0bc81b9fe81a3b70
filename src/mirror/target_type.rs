//! Kubernetes Secret types that the API server checks for required keys. Checking the rendered keys
//! before writing turns an apply that would be rejected into a clear condition.

use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetTypeError {
    #[error(
        "target type {secret_type} needs the key(s) {missing:?}, which the rendered data lacks"
    )]
    MissingKeys {
        secret_type: String,
        missing: Vec<&'static str>,
    },
    #[error(
        "target type kubernetes.io/basic-auth needs at least one of the keys username, password"
    )]
    BasicAuthEmpty,
    #[error("target type {0} is managed by Kubernetes itself and cannot be a Keyward target")]
    NotAllowed(String),
    #[error("target type must not be empty")]
    Empty,
}

/// Whether data with `keys` can be stored in a Secret of `secret_type` (`None` means `Opaque`).
/// Unknown (custom) types have no requirements, as in Kubernetes.
pub fn check_target_type(
    secret_type: Option<&str>,
    keys: &BTreeSet<String>,
) -> Result<(), TargetTypeError> {
    let Some(secret_type) = secret_type else {
        return Ok(());
    };
    let required: &[&'static str] = match secret_type {
        "" => return Err(TargetTypeError::Empty),
        "kubernetes.io/service-account-token" | "bootstrap.kubernetes.io/token" => {
            return Err(TargetTypeError::NotAllowed(secret_type.to_owned()));
        }
        "kubernetes.io/basic-auth" => {
            if keys.contains("username") || keys.contains("password") {
                return Ok(());
            }
            return Err(TargetTypeError::BasicAuthEmpty);
        }
        "kubernetes.io/tls" => &["tls.crt", "tls.key"],
        "kubernetes.io/ssh-auth" => &["ssh-privatekey"],
        "kubernetes.io/dockerconfigjson" => &[".dockerconfigjson"],
        "kubernetes.io/dockercfg" => &[".dockercfg"],
        _ => &[],
    };
    let missing: Vec<&'static str> = required
        .iter()
        .copied()
        .filter(|k| !keys.contains(*k))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(TargetTypeError::MissingKeys {
            secret_type: secret_type.to_owned(),
            missing,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(k: &[&str]) -> BTreeSet<String> {
        k.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn target_type_table() {
        use TargetTypeError as E;
        let missing = |t: &str, m: &[&'static str]| {
            Err(E::MissingKeys {
                secret_type: t.to_owned(),
                missing: m.to_vec(),
            })
        };
        type Row<'a> = (Option<&'a str>, &'a [&'a str], Result<(), TargetTypeError>);
        let cases: Vec<Row> = vec![
            (None, &[], Ok(())),
            (Some("Opaque"), &["anything"], Ok(())),
            (Some("example.com/custom"), &[], Ok(())),
            (Some(""), &["a"], Err(E::Empty)),
            (Some("kubernetes.io/basic-auth"), &["password"], Ok(())),
            (Some("kubernetes.io/basic-auth"), &["username"], Ok(())),
            (
                Some("kubernetes.io/basic-auth"),
                &["user"],
                Err(E::BasicAuthEmpty),
            ),
            (
                Some("kubernetes.io/tls"),
                &["tls.crt", "tls.key", "ca.crt"],
                Ok(()),
            ),
            (
                Some("kubernetes.io/tls"),
                &["tls.crt"],
                missing("kubernetes.io/tls", &["tls.key"]),
            ),
            (
                Some("kubernetes.io/tls"),
                &[],
                missing("kubernetes.io/tls", &["tls.crt", "tls.key"]),
            ),
            (Some("kubernetes.io/ssh-auth"), &["ssh-privatekey"], Ok(())),
            (
                Some("kubernetes.io/dockerconfigjson"),
                &["value"],
                missing("kubernetes.io/dockerconfigjson", &[".dockerconfigjson"]),
            ),
            (
                Some("kubernetes.io/service-account-token"),
                &["token"],
                Err(E::NotAllowed(
                    "kubernetes.io/service-account-token".to_owned(),
                )),
            ),
        ];
        for (t, k, want) in cases {
            assert_eq!(check_target_type(t, &keys(k)), want, "{t:?} {k:?}");
        }
    }
}
