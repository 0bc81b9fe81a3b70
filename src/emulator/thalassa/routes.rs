//! Maps a method, path and query to an endpoint (reference §2, the KMS lifecycle of §6, and the
//! token endpoint), so unknown paths and wrong methods get the API's error shape.
//!
//! A secret path is appended straight after the literal `secret`, so `…/secret/app/value` could be
//! the secret `/app/value` or the reveal of `/app`. The method decides: GET is always metadata of the
//! whole path, POST `…/value` reveals and POST `…/versions` adds a version, PUT `…/policy` sets the
//! policy, DELETE `…/versions?version=N` destroys a version and any other DELETE deletes the secret
//! at the whole path (UNCONFIRMED: how the server resolves these).

use axum::http::Method;
use percent_encoding::percent_decode_str;

use super::errors::ApiError;
use super::requests::Query;
use crate::emulator::metrics::UNROUTED;

/// Declares the endpoints once: the enum the handlers match on and the names (the docs' operation
/// names) the shared counters and fault settings use.
macro_rules! endpoints {
    ($($name:ident),+ $(,)?) => {
        /// Every API endpoint, plus `Unrouted` for requests that matched none.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Endpoint { $($name,)+ Unrouted }

        impl Endpoint {
            pub fn name(self) -> &'static str {
                match self { $(Self::$name => stringify!($name),)+ Self::Unrouted => UNROUTED }
            }
        }

        /// The names of every routed endpoint.
        pub const ENDPOINTS: &[&str] = &[$(stringify!($name)),+];
    };
}

endpoints!(
    BrowseSecrets,
    ListSecrets,
    CreateSecret,
    GetSecret,
    UpdateAccessPolicy,
    PutSecretValue,
    GetSecretValue,
    DestroySecretVersion,
    DeleteSecret,
    GetKmsSummary,
    ListKeys,
    CreateKey,
    GetKey,
    DeleteKey,
    EnableKey,
    DisableKey,
    CancelKeyDeletion,
    RotateKey,
    UpdateKeyRotation,
    CreateToken,
);

impl Endpoint {
    /// Secrets Manager endpoints (behind the `secrets` and `kms` gates).
    pub fn is_secrets(self) -> bool {
        use Endpoint as E;
        matches!(
            self,
            E::BrowseSecrets
                | E::ListSecrets
                | E::CreateSecret
                | E::GetSecret
                | E::UpdateAccessPolicy
                | E::PutSecretValue
                | E::GetSecretValue
                | E::DestroySecretVersion
                | E::DeleteSecret
        )
    }
}

pub const SECRETS_PREFIX: &str = "/v1/secrets/";
const KMS_PREFIX: &str = "/v1/kms/";
pub const TOKEN_PATH: &str = "/oidc/token";

/// A routed request, its parameters decoded (the handler checks them, so errors name them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub endpoint: Endpoint,
    pub region: Option<String>,
    /// The secret path, e.g. `/app/prod/db`.
    pub secret: Option<String>,
    /// A KMS key identity or slug.
    pub key: Option<String>,
}

impl Route {
    fn new(endpoint: Endpoint) -> Self {
        Self {
            endpoint,
            region: None,
            secret: None,
            key: None,
        }
    }
}

type Routed = Result<Route, (Endpoint, ApiError)>;

fn not_found() -> (Endpoint, ApiError) {
    (Endpoint::Unrouted, ApiError::not_found("no such API route"))
}

/// Picks the endpoint of `method` among `allowed`; a known path with another method is 405.
fn pick(method: &Method, allowed: &[(Method, Endpoint)]) -> Result<Endpoint, (Endpoint, ApiError)> {
    allowed
        .iter()
        .find(|(m, _)| m == method)
        .map(|(_, e)| *e)
        .ok_or((allowed[0].1, ApiError::method_not_allowed()))
}

pub fn route(method: &Method, path: &str, query: &Query) -> Routed {
    if path == TOKEN_PATH {
        return pick(method, &[(Method::POST, Endpoint::CreateToken)]).map(Route::new);
    }
    if let Some(rest) = path.strip_prefix(SECRETS_PREFIX) {
        return route_secrets(method, rest, query);
    }
    if let Some(rest) = path.strip_prefix(KMS_PREFIX) {
        return route_kms(method, rest);
    }
    Err(not_found())
}

fn route_secrets(method: &Method, rest: &str, query: &Query) -> Routed {
    use Endpoint as E;
    let (region, rest) = rest.split_once('/').ok_or_else(not_found)?;
    if region.is_empty() {
        return Err(not_found());
    }
    let with_region = |endpoint, secret| Route {
        endpoint,
        region: Some(region.to_string()),
        secret,
        key: None,
    };
    if rest == "secrets" {
        let endpoint = match pick(
            method,
            &[
                (Method::GET, E::ListSecrets),
                (Method::POST, E::CreateSecret),
            ],
        )? {
            // UNCONFIRMED: `pathPrefix` wins over `path`; with neither, browse the root.
            E::ListSecrets if query.get("pathPrefix").is_none() => E::BrowseSecrets,
            e => e,
        };
        return Ok(with_region(endpoint, None));
    }
    let Some(raw) = rest.strip_prefix("secret") else {
        return Err(not_found());
    };
    let decoded = percent_decode_str(raw).decode_utf8_lossy().into_owned();
    if !decoded.is_empty() && !decoded.starts_with('/') {
        return Err(not_found());
    }
    let (endpoint, secret) = match *method {
        Method::GET => (E::GetSecret, decoded.as_str()),
        Method::PUT => match decoded.strip_suffix("/policy") {
            Some(p) => (E::UpdateAccessPolicy, p),
            None => return Err((E::UpdateAccessPolicy, ApiError::method_not_allowed())),
        },
        Method::POST => match split_action(&decoded) {
            Some(("versions", p)) => (E::PutSecretValue, p),
            Some(("value", p)) => (E::GetSecretValue, p),
            _ => return Err((E::GetSecretValue, ApiError::method_not_allowed())),
        },
        Method::DELETE => match split_action(&decoded) {
            Some(("versions", p)) if query.get("version").is_some() => (E::DestroySecretVersion, p),
            _ => (E::DeleteSecret, decoded.as_str()),
        },
        _ => return Err((E::GetSecret, ApiError::method_not_allowed())),
    };
    // UNCONFIRMED: the path may also come as `?path=` on `…/secret` and `…/secret/<action>`.
    let secret = match (secret, query.get("path")) {
        ("", Some(p)) => p.to_string(),
        (s, _) => s.to_string(),
    };
    if secret.is_empty() {
        return Err((endpoint, ApiError::bad_request("invalid path: missing")));
    }
    Ok(with_region(endpoint, Some(secret)))
}

/// `(action, secret path)` when the path ends with `/versions` or `/value`.
fn split_action(decoded: &str) -> Option<(&str, &str)> {
    ["versions", "value"].into_iter().find_map(|action| {
        decoded
            .strip_suffix(action)
            .and_then(|p| p.strip_suffix('/'))
            .map(|p| (action, p))
    })
}

fn route_kms(method: &Method, rest: &str) -> Routed {
    use Endpoint as E;
    if rest == "summary" {
        return pick(method, &[(Method::GET, E::GetKmsSummary)]).map(Route::new);
    }
    let segments: Vec<&str> = rest.split('/').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err(not_found());
    }
    let (endpoint, region, key) = match segments.as_slice() {
        [region, "keys"] => (
            pick(
                method,
                &[(Method::GET, E::ListKeys), (Method::POST, E::CreateKey)],
            )?,
            *region,
            None,
        ),
        [region, "keys", id] => (
            pick(
                method,
                &[(Method::GET, E::GetKey), (Method::DELETE, E::DeleteKey)],
            )?,
            *region,
            Some(*id),
        ),
        [region, "keys", id, action] => {
            let allowed: &[(Method, Endpoint)] = match *action {
                "enable" => &[(Method::POST, E::EnableKey)],
                "disable" => &[(Method::POST, E::DisableKey)],
                "rotate" => &[(Method::POST, E::RotateKey)],
                // A DELETE, as the reference notes.
                "cancel-deletion" => &[(Method::DELETE, E::CancelKeyDeletion)],
                "rotation" => &[(Method::PATCH, E::UpdateKeyRotation)],
                _ => return Err(not_found()),
            };
            (pick(method, allowed)?, *region, Some(*id))
        }
        _ => return Err(not_found()),
    };
    Ok(Route {
        endpoint,
        region: Some(region.to_string()),
        secret: None,
        key: key.map(|k| percent_decode_str(k).decode_utf8_lossy().into_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_table() {
        use Endpoint as E;
        type Row<'a> = (
            Method,
            &'a str,
            Option<&'a str>,
            Result<(E, Option<&'a str>), u16>,
        );
        let rows: Vec<Row> = vec![
            (
                Method::GET,
                "/v1/secrets/nl-01/secrets",
                Some("path=/app/"),
                Ok((E::BrowseSecrets, None)),
            ),
            (
                Method::GET,
                "/v1/secrets/nl-01/secrets",
                None,
                Ok((E::BrowseSecrets, None)),
            ),
            (
                Method::GET,
                "/v1/secrets/nl-01/secrets",
                Some("pathPrefix=/"),
                Ok((E::ListSecrets, None)),
            ),
            (
                Method::POST,
                "/v1/secrets/nl-01/secrets",
                None,
                Ok((E::CreateSecret, None)),
            ),
            (Method::PUT, "/v1/secrets/nl-01/secrets", None, Err(405)),
            (
                Method::GET,
                "/v1/secrets/nl-01/secret/app/prod/db",
                None,
                Ok((E::GetSecret, Some("/app/prod/db"))),
            ),
            (
                Method::GET,
                "/v1/secrets/nl-01/secret/app/value",
                None,
                Ok((E::GetSecret, Some("/app/value"))),
            ),
            (
                Method::GET,
                "/v1/secrets/nl-01/secret/app/a+b",
                None,
                Ok((E::GetSecret, Some("/app/a+b"))),
            ),
            (
                Method::GET,
                "/v1/secrets/nl-01/secret/app%2Fx",
                None,
                Ok((E::GetSecret, Some("/app/x"))),
            ),
            (
                Method::PUT,
                "/v1/secrets/nl-01/secret/app/policy",
                None,
                Ok((E::UpdateAccessPolicy, Some("/app"))),
            ),
            (
                Method::POST,
                "/v1/secrets/nl-01/secret/app/versions",
                None,
                Ok((E::PutSecretValue, Some("/app"))),
            ),
            (
                Method::POST,
                "/v1/secrets/nl-01/secret/app/value",
                None,
                Ok((E::GetSecretValue, Some("/app"))),
            ),
            (Method::POST, "/v1/secrets/nl-01/secret/app", None, Err(405)),
            (
                Method::DELETE,
                "/v1/secrets/nl-01/secret/app/versions",
                Some("version=2"),
                Ok((E::DestroySecretVersion, Some("/app"))),
            ),
            (
                Method::DELETE,
                "/v1/secrets/nl-01/secret/app/versions",
                None,
                Ok((E::DeleteSecret, Some("/app/versions"))),
            ),
            (
                Method::DELETE,
                "/v1/secrets/nl-01/secret/app",
                None,
                Ok((E::DeleteSecret, Some("/app"))),
            ),
            (
                Method::GET,
                "/v1/secrets/nl-01/secret",
                Some("path=/app/x"),
                Ok((E::GetSecret, Some("/app/x"))),
            ),
            (
                Method::POST,
                "/v1/secrets/nl-01/secret/value",
                Some("path=/app/x"),
                Ok((E::GetSecretValue, Some("/app/x"))),
            ),
            (Method::GET, "/v1/secrets/nl-01/secret", None, Err(400)),
            (Method::GET, "/v1/secrets/nl-01/secretx", None, Err(404)),
            (
                Method::GET,
                "/v1/kms/summary",
                None,
                Ok((E::GetKmsSummary, None)),
            ),
            (
                Method::POST,
                "/v1/kms/nl-01/keys",
                None,
                Ok((E::CreateKey, None)),
            ),
            (
                Method::DELETE,
                "/v1/kms/nl-01/keys/k1",
                None,
                Ok((E::DeleteKey, None)),
            ),
            (
                Method::DELETE,
                "/v1/kms/nl-01/keys/k1/cancel-deletion",
                None,
                Ok((E::CancelKeyDeletion, None)),
            ),
            (
                Method::POST,
                "/v1/kms/nl-01/keys/k1/cancel-deletion",
                None,
                Err(405),
            ),
            (
                Method::PATCH,
                "/v1/kms/nl-01/keys/k1/rotation",
                None,
                Ok((E::UpdateKeyRotation, None)),
            ),
            (
                Method::POST,
                "/v1/kms/nl-01/keys/k1/explode",
                None,
                Err(404),
            ),
            (
                Method::POST,
                "/oidc/token",
                None,
                Ok((E::CreateToken, None)),
            ),
            (Method::GET, "/oidc/token", None, Err(405)),
            (Method::GET, "/v2/other", None, Err(404)),
        ];
        for (m, path, query, want) in rows {
            let got = route(&m, path, &Query::parse(query))
                .map(|r| (r.endpoint, r.secret))
                .map_err(|(_, e)| e.status());
            let want = want.map(|(e, s)| (e, s.map(str::to_string)));
            assert_eq!(got, want, "{m} {path} {query:?}");
        }
        assert_eq!(ENDPOINTS.len(), 20);
        assert!(Endpoint::GetSecretValue.is_secrets() && !Endpoint::GetKey.is_secrets());
    }
}
