//! Maps a method and path to an endpoint of the three APIs (vault management and KMS management under
//! `/20180608`, secret retrieval under `/20190301`), so that unknown paths and wrong methods get the
//! API's error shape instead of a framework's plain-text answer.

use axum::http::Method;
use percent_encoding::percent_decode_str;

use super::errors::OciError;
use crate::emulator::metrics::UNROUTED;

/// Declares the endpoints once: the enum the handlers match on, and the names (the SDK's operation
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
    CreateSecret,
    GetSecret,
    UpdateSecret,
    ListSecrets,
    ListSecretVersions,
    GetSecretVersion,
    ScheduleSecretDeletion,
    CancelSecretDeletion,
    ScheduleSecretVersionDeletion,
    CancelSecretVersionDeletion,
    GetSecretBundle,
    GetSecretBundleByName,
    ListSecretBundleVersions,
    GetKey,
    CreateKeyVersion,
    ListKeyVersions,
    GetKeyVersion,
    ScheduleKeyVersionDeletion,
    CancelKeyVersionDeletion,
);

/// Which per-tenancy budget a management write draws from (none for reads).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteBudget {
    /// KMS management writes: 10/s per tenancy [SEED].
    Kms,
    /// Vault secret management writes (UNCONFIRMED: no documented limit; a budget of its own, off by
    /// default).
    Vault,
}

impl Endpoint {
    pub fn write_budget(self) -> Option<WriteBudget> {
        use Endpoint::*;
        match self {
            CreateKeyVersion | ScheduleKeyVersionDeletion | CancelKeyVersionDeletion => {
                Some(WriteBudget::Kms)
            }
            CreateSecret
            | UpdateSecret
            | ScheduleSecretDeletion
            | CancelSecretDeletion
            | ScheduleSecretVersionDeletion
            | CancelSecretVersionDeletion => Some(WriteBudget::Vault),
            _ => None,
        }
    }
}

/// A routed request: the endpoint and its path parameters, percent-decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub endpoint: Endpoint,
    /// The secret id or key id the path names.
    pub resource: Option<String>,
    /// A secret version number (as sent) or a key version id.
    pub version: Option<String>,
}

fn decode(segment: &str) -> String {
    percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

/// Routes one request. `Err` carries the answer for a path or method no endpoint has.
pub fn route(method: &Method, path: &str) -> Result<Route, OciError> {
    let segments: Vec<String> = path
        .trim_end_matches('/')
        .split('/')
        .skip(1)
        .map(decode)
        .collect();
    let s: Vec<&str> = segments.iter().map(String::as_str).collect();
    let get = method == Method::GET;
    let post = method == Method::POST;
    let put = method == Method::PUT;
    let at = |endpoint, resource: Option<&str>, version: Option<&str>| Route {
        endpoint,
        resource: resource.map(str::to_string),
        version: version.map(str::to_string),
    };
    use Endpoint::*;
    let (routed, allowed) = match s.as_slice() {
        ["20180608", "secrets"] if post => (Some(at(CreateSecret, None, None)), true),
        ["20180608", "secrets"] if get => (Some(at(ListSecrets, None, None)), true),
        ["20180608", "secrets"] => (None, false),
        ["20180608", "secrets", id] if get => (Some(at(GetSecret, Some(id), None)), true),
        ["20180608", "secrets", id] if put => (Some(at(UpdateSecret, Some(id), None)), true),
        ["20180608", "secrets", _] => (None, false),
        ["20180608", "secrets", id, "versions"] if get => {
            (Some(at(ListSecretVersions, Some(id), None)), true)
        }
        ["20180608", "secrets", id, "version", n] if get => {
            (Some(at(GetSecretVersion, Some(id), Some(n))), true)
        }
        ["20180608", "secrets", id, "actions", "scheduleDeletion"] if post => {
            (Some(at(ScheduleSecretDeletion, Some(id), None)), true)
        }
        ["20180608", "secrets", id, "actions", "cancelDeletion"] if post => {
            (Some(at(CancelSecretDeletion, Some(id), None)), true)
        }
        [
            "20180608",
            "secrets",
            id,
            "version",
            n,
            "actions",
            "scheduleDeletion",
        ] if post => (
            Some(at(ScheduleSecretVersionDeletion, Some(id), Some(n))),
            true,
        ),
        [
            "20180608",
            "secrets",
            id,
            "version",
            n,
            "actions",
            "cancelDeletion",
        ] if post => (
            Some(at(CancelSecretVersionDeletion, Some(id), Some(n))),
            true,
        ),
        ["20190301", "secretbundles", "actions", "getByName"] if post => {
            (Some(at(GetSecretBundleByName, None, None)), true)
        }
        ["20190301", "secretbundles", id] if get => {
            (Some(at(GetSecretBundle, Some(id), None)), true)
        }
        ["20190301", "secretbundles", id, "versions"] if get => {
            (Some(at(ListSecretBundleVersions, Some(id), None)), true)
        }
        ["20180608", "keys", id] if get => (Some(at(GetKey, Some(id), None)), true),
        ["20180608", "keys", id, "keyVersions"] if post => {
            (Some(at(CreateKeyVersion, Some(id), None)), true)
        }
        ["20180608", "keys", id, "keyVersions"] if get => {
            (Some(at(ListKeyVersions, Some(id), None)), true)
        }
        ["20180608", "keys", id, "keyVersions", v] if get => {
            (Some(at(GetKeyVersion, Some(id), Some(v))), true)
        }
        [
            "20180608",
            "keys",
            id,
            "keyVersions",
            v,
            "actions",
            "scheduleDeletion",
        ] if post => (
            Some(at(ScheduleKeyVersionDeletion, Some(id), Some(v))),
            true,
        ),
        [
            "20180608",
            "keys",
            id,
            "keyVersions",
            v,
            "actions",
            "cancelDeletion",
        ] if post => (Some(at(CancelKeyVersionDeletion, Some(id), Some(v))), true),
        // Known shapes with another method.
        ["20180608", "secrets", _, "versions"]
        | ["20180608", "secrets", _, "version", _]
        | ["20180608", "secrets", _, "actions", _]
        | ["20180608", "secrets", _, "version", _, "actions", _]
        | ["20190301", "secretbundles", ..]
        | ["20180608", "keys", ..] => (None, false),
        _ => (None, true),
    };
    match routed {
        Some(r) => Ok(r),
        None if !allowed => Err(OciError::method_not_allowed()),
        None => Err(OciError::not_routed()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routing_table() {
        type Row = (
            &'static str,
            &'static str,
            Endpoint,
            Option<&'static str>,
            Option<&'static str>,
        );
        let rows: &[Row] = &[
            (
                "POST",
                "/20180608/secrets",
                Endpoint::CreateSecret,
                None,
                None,
            ),
            (
                "GET",
                "/20180608/secrets",
                Endpoint::ListSecrets,
                None,
                None,
            ),
            (
                "GET",
                "/20180608/secrets/s1",
                Endpoint::GetSecret,
                Some("s1"),
                None,
            ),
            (
                "PUT",
                "/20180608/secrets/s1",
                Endpoint::UpdateSecret,
                Some("s1"),
                None,
            ),
            (
                "GET",
                "/20180608/secrets/s1/versions",
                Endpoint::ListSecretVersions,
                Some("s1"),
                None,
            ),
            (
                "GET",
                "/20180608/secrets/s1/version/3",
                Endpoint::GetSecretVersion,
                Some("s1"),
                Some("3"),
            ),
            (
                "POST",
                "/20180608/secrets/s1/actions/scheduleDeletion",
                Endpoint::ScheduleSecretDeletion,
                Some("s1"),
                None,
            ),
            (
                "POST",
                "/20180608/secrets/s1/actions/cancelDeletion",
                Endpoint::CancelSecretDeletion,
                Some("s1"),
                None,
            ),
            (
                "POST",
                "/20180608/secrets/s1/version/2/actions/scheduleDeletion",
                Endpoint::ScheduleSecretVersionDeletion,
                Some("s1"),
                Some("2"),
            ),
            (
                "POST",
                "/20180608/secrets/s1/version/2/actions/cancelDeletion",
                Endpoint::CancelSecretVersionDeletion,
                Some("s1"),
                Some("2"),
            ),
            (
                "GET",
                "/20190301/secretbundles/s1",
                Endpoint::GetSecretBundle,
                Some("s1"),
                None,
            ),
            (
                "POST",
                "/20190301/secretbundles/actions/getByName",
                Endpoint::GetSecretBundleByName,
                None,
                None,
            ),
            (
                "GET",
                "/20190301/secretbundles/s1/versions",
                Endpoint::ListSecretBundleVersions,
                Some("s1"),
                None,
            ),
            (
                "GET",
                "/20180608/keys/k1",
                Endpoint::GetKey,
                Some("k1"),
                None,
            ),
            (
                "POST",
                "/20180608/keys/k1/keyVersions",
                Endpoint::CreateKeyVersion,
                Some("k1"),
                None,
            ),
            (
                "GET",
                "/20180608/keys/k1/keyVersions",
                Endpoint::ListKeyVersions,
                Some("k1"),
                None,
            ),
            (
                "GET",
                "/20180608/keys/k1/keyVersions/v1",
                Endpoint::GetKeyVersion,
                Some("k1"),
                Some("v1"),
            ),
            (
                "POST",
                "/20180608/keys/k1/keyVersions/v1/actions/scheduleDeletion",
                Endpoint::ScheduleKeyVersionDeletion,
                Some("k1"),
                Some("v1"),
            ),
            (
                "POST",
                "/20180608/keys/k1/keyVersions/v1/actions/cancelDeletion",
                Endpoint::CancelKeyVersionDeletion,
                Some("k1"),
                Some("v1"),
            ),
            (
                "GET",
                "/20180608/secrets/ocid1.vaultsecret%2Ex/",
                Endpoint::GetSecret,
                Some("ocid1.vaultsecret.x"),
                None,
            ),
        ];
        for (method, path, endpoint, resource, version) in rows {
            let r = route(&method.parse().unwrap(), path).unwrap();
            assert_eq!(
                (r.endpoint, r.resource.as_deref(), r.version.as_deref()),
                (*endpoint, *resource, *version),
                "{method} {path}"
            );
        }
        assert_eq!(ENDPOINTS.len(), rows.len() - 1);
        let refused = |m: &str, p: &str| route(&m.parse().unwrap(), p).unwrap_err().status;
        assert_eq!(refused("DELETE", "/20180608/secrets/s1"), 405);
        assert_eq!(refused("PUT", "/20180608/keys/k1/keyVersions"), 405);
        assert_eq!(refused("GET", "/20180608/vaults"), 404);
        assert_eq!(
            refused("GET", "/secret-manager/v1beta1/regions/fr-par/secrets"),
            404
        );
    }

    #[test]
    fn write_budgets() {
        assert_eq!(
            Endpoint::CreateKeyVersion.write_budget(),
            Some(WriteBudget::Kms)
        );
        assert_eq!(
            Endpoint::UpdateSecret.write_budget(),
            Some(WriteBudget::Vault)
        );
        assert_eq!(Endpoint::GetSecretBundleByName.write_budget(), None);
        assert_eq!(Endpoint::ListKeyVersions.write_budget(), None);
    }
}
