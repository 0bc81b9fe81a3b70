//! Maps a method and path to an endpoint, so that unknown paths, wrong methods and unknown regions all
//! get the API's error shapes instead of a framework's plain-text answers.

use axum::http::Method;

use super::errors::ApiError;
use super::model::REGIONS;
use crate::emulator::metrics::UNROUTED;

/// Declares the endpoints once: the enum the handlers match on, and the names (the SDK's) the shared
/// counters and fault settings use.
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
    CreateSecret,
    GetSecret,
    UpdateSecret,
    DeleteSecret,
    ListSecrets,
    BrowseSecrets,
    ProtectSecret,
    UnprotectSecret,
    AddSecretOwner,
    RestoreSecret,
    CreateSecretVersion,
    GetSecretVersion,
    UpdateSecretVersion,
    DeleteSecretVersion,
    ListSecretVersions,
    AccessSecretVersion,
    AccessSecretVersionByPath,
    EnableSecretVersion,
    DisableSecretVersion,
    RestoreSecretVersion,
    ListTags,
    ListSecretTypes,
);

pub const API_PREFIX: &str = "/secret-manager/v1beta1/regions/";

/// A routed request: the endpoint, its region and the raw path parameters (validated by the handler so
/// that the error names the right argument).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route<'a> {
    pub endpoint: Endpoint,
    pub region: &'a str,
    pub secret_id: Option<&'a str>,
    pub revision: Option<&'a str>,
}

/// Routes `path`. On failure the endpoint is still returned when the path names one (for counting).
pub fn route<'a>(method: &Method, path: &'a str) -> Result<Route<'a>, (Endpoint, ApiError)> {
    let unrouted = |e| (Endpoint::Unrouted, e);
    let rest = path
        .strip_prefix(API_PREFIX)
        .ok_or(unrouted(ApiError::UnknownRoute))?;
    let (region, rest) = rest
        .split_once('/')
        .ok_or(unrouted(ApiError::UnknownRoute))?;
    let segments: Vec<&str> = rest.split('/').collect();
    if segments.iter().any(|s| s.is_empty()) {
        return Err(unrouted(ApiError::UnknownRoute));
    }
    use Endpoint as E;
    let m = method;
    let (allowed, secret_id, revision): (&[(Method, Endpoint)], _, _) = match segments.as_slice() {
        ["secrets"] => (
            &[
                (Method::GET, E::ListSecrets),
                (Method::POST, E::CreateSecret),
            ],
            None,
            None,
        ),
        ["secrets", "browse"] => (&[(Method::GET, E::BrowseSecrets)], None, None),
        ["secrets", id] => (
            &[
                (Method::GET, E::GetSecret),
                (Method::PATCH, E::UpdateSecret),
                (Method::DELETE, E::DeleteSecret),
            ],
            Some(*id),
            None,
        ),
        ["secrets", id, "protect"] => (&[(Method::POST, E::ProtectSecret)], Some(*id), None),
        ["secrets", id, "unprotect"] => (&[(Method::POST, E::UnprotectSecret)], Some(*id), None),
        ["secrets", id, "add-owner"] => (&[(Method::POST, E::AddSecretOwner)], Some(*id), None),
        ["secrets", id, "restore"] => (&[(Method::POST, E::RestoreSecret)], Some(*id), None),
        ["secrets", id, "versions"] => (
            &[
                (Method::GET, E::ListSecretVersions),
                (Method::POST, E::CreateSecretVersion),
            ],
            Some(*id),
            None,
        ),
        ["secrets", id, "versions", rev] => (
            &[
                (Method::GET, E::GetSecretVersion),
                (Method::PATCH, E::UpdateSecretVersion),
                (Method::DELETE, E::DeleteSecretVersion),
            ],
            Some(*id),
            Some(*rev),
        ),
        ["secrets", id, "versions", rev, "access"] => (
            &[(Method::GET, E::AccessSecretVersion)],
            Some(*id),
            Some(*rev),
        ),
        ["secrets", id, "versions", rev, "enable"] => (
            &[(Method::POST, E::EnableSecretVersion)],
            Some(*id),
            Some(*rev),
        ),
        ["secrets", id, "versions", rev, "disable"] => (
            &[(Method::POST, E::DisableSecretVersion)],
            Some(*id),
            Some(*rev),
        ),
        ["secrets", id, "versions", rev, "restore"] => (
            &[(Method::POST, E::RestoreSecretVersion)],
            Some(*id),
            Some(*rev),
        ),
        ["secrets-by-path", "versions", rev, "access"] => (
            &[(Method::GET, E::AccessSecretVersionByPath)],
            None,
            Some(*rev),
        ),
        ["tags"] => (&[(Method::GET, E::ListTags)], None, None),
        ["secret-types"] => (&[(Method::GET, E::ListSecretTypes)], None, None),
        _ => return Err(unrouted(ApiError::UnknownRoute)),
    };
    let Some((_, endpoint)) = allowed.iter().find(|(am, _)| am == m) else {
        return Err((allowed[0].1, ApiError::MethodNotAllowed));
    };
    // UNCONFIRMED: an unknown region gets 400 `invalid_arguments` on `region`.
    if !REGIONS.contains(&region) {
        return Err((
            *endpoint,
            ApiError::invalid(
                "region",
                "constraint",
                format!("must be one of {}", REGIONS.join(", ")),
            ),
        ));
    }
    Ok(Route {
        endpoint: *endpoint,
        region,
        secret_id,
        revision,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0f3c7e6a-8a85-4f5e-9b4e-1c2d3e4f5a6b";

    #[test]
    fn routing_table() {
        let p = |s: &str| format!("{API_PREFIX}fr-par/{s}");
        let cases: Vec<(Method, String, Result<Endpoint, u16>)> = vec![
            (Method::GET, p("secrets"), Ok(Endpoint::ListSecrets)),
            (Method::POST, p("secrets"), Ok(Endpoint::CreateSecret)),
            (Method::PUT, p("secrets"), Err(405)),
            (
                Method::GET,
                p("secrets/browse"),
                Ok(Endpoint::BrowseSecrets),
            ),
            (
                Method::GET,
                p(&format!("secrets/{ID}")),
                Ok(Endpoint::GetSecret),
            ),
            (
                Method::DELETE,
                p(&format!("secrets/{ID}")),
                Ok(Endpoint::DeleteSecret),
            ),
            (
                Method::POST,
                p(&format!("secrets/{ID}/unprotect")),
                Ok(Endpoint::UnprotectSecret),
            ),
            (
                Method::GET,
                p(&format!("secrets/{ID}/versions/latest/access")),
                Ok(Endpoint::AccessSecretVersion),
            ),
            (
                Method::POST,
                p(&format!("secrets/{ID}/versions/2/restore")),
                Ok(Endpoint::RestoreSecretVersion),
            ),
            (
                Method::GET,
                p("secrets-by-path/versions/1/access"),
                Ok(Endpoint::AccessSecretVersionByPath),
            ),
            (
                Method::GET,
                p("secret-types"),
                Ok(Endpoint::ListSecretTypes),
            ),
            (Method::GET, p("nothing"), Err(404)),
            (Method::GET, p("secrets/"), Err(404)),
            (Method::GET, format!("{API_PREFIX}mars-1/secrets"), Err(400)),
            (Method::GET, "/other".into(), Err(404)),
        ];
        for (m, path, want) in cases {
            let got = route(&m, &path)
                .map(|r| r.endpoint)
                .map_err(|(_, e)| e.status());
            assert_eq!(got, want, "{m} {path}");
        }
        assert_eq!(Endpoint::AccessSecretVersion.name(), "AccessSecretVersion");
        assert_eq!(Endpoint::Unrouted.name(), UNROUTED);
        assert_eq!(ENDPOINTS.len(), 22);
    }
}
