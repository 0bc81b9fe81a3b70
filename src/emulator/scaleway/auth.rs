//! `X-Auth-Token` checks. Lenient by default (any non-empty token, any project); strict when tokens are
//! configured, where each token may only touch its own project.

use std::collections::HashMap;

use uuid::Uuid;

use super::errors::ApiError;

#[derive(Debug, Clone, Default)]
pub struct AuthPolicy {
    /// token → the only project it may use. Empty means lenient mode.
    tokens: HashMap<String, Uuid>,
}

/// Who is calling, once the token is accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    /// Lenient mode: every project.
    Anyone,
    /// Strict mode: this project only.
    Project(Uuid),
}

impl Caller {
    /// Refuses access to a resource of another project (403 `permissions_denied`).
    pub fn check_project(
        self,
        project: Uuid,
        resource: &'static str,
        action: &'static str,
    ) -> Result<(), ApiError> {
        match self {
            Self::Project(own) if own != project => {
                Err(ApiError::PermissionsDenied { resource, action })
            }
            _ => Ok(()),
        }
    }

    /// The project a listing is restricted to: the caller's own in strict mode.
    pub fn scope(
        self,
        requested: Option<Uuid>,
        resource: &'static str,
    ) -> Result<Option<Uuid>, ApiError> {
        match (self, requested) {
            (Self::Anyone, r) => Ok(r),
            (Self::Project(own), None) => Ok(Some(own)),
            (Self::Project(own), Some(r)) if r == own => Ok(Some(r)),
            (Self::Project(_), Some(_)) => Err(ApiError::PermissionsDenied {
                resource,
                action: "list",
            }),
        }
    }
}

impl AuthPolicy {
    pub fn strict(tokens: impl IntoIterator<Item = (String, Uuid)>) -> Self {
        Self {
            tokens: tokens.into_iter().collect(),
        }
    }

    /// Missing or empty token → 401 (`unknown_method`, `not_found`); unknown token in strict mode → 401
    /// (`api_key`, `invalid_argument`). Bodies follow the SDK's `denied_authentication` fields.
    pub fn authenticate(&self, token: Option<&str>) -> Result<Caller, ApiError> {
        let token = token.map(str::trim).filter(|t| !t.is_empty()).ok_or(
            ApiError::DeniedAuthentication {
                method: "unknown_method",
                reason: "not_found",
            },
        )?;
        if self.tokens.is_empty() {
            return Ok(Caller::Anyone);
        }
        self.tokens
            .get(token)
            .map(|p| Caller::Project(*p))
            .ok_or(ApiError::DeniedAuthentication {
                method: "api_key",
                reason: "invalid_argument",
            })
    }
}

/// Parses a `TOKEN=PROJECT_ID` flag value.
pub fn parse_token_flag(text: &str) -> Result<(String, Uuid), String> {
    let (token, project) = text.split_once('=').ok_or("expected TOKEN=PROJECT_ID")?;
    if token.is_empty() {
        return Err("empty token".into());
    }
    let project =
        Uuid::parse_str(project).map_err(|_| format!("{project:?} is not a project UUID"))?;
    Ok((token.to_string(), project))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_and_strict() {
        let p = Uuid::from_u128(1);
        let other = Uuid::from_u128(2);
        let lenient = AuthPolicy::default();
        assert_eq!(lenient.authenticate(Some("x")), Ok(Caller::Anyone));
        assert!(lenient.authenticate(None).is_err());
        assert!(lenient.authenticate(Some(" ")).is_err());
        let strict = AuthPolicy::strict([("t".to_string(), p)]);
        assert_eq!(strict.authenticate(Some("t")), Ok(Caller::Project(p)));
        assert_eq!(strict.authenticate(Some("u")).unwrap_err().status(), 401);
        let caller = Caller::Project(p);
        assert!(caller.check_project(p, "secret", "read").is_ok());
        assert_eq!(
            caller
                .check_project(other, "secret", "read")
                .unwrap_err()
                .status(),
            403
        );
        assert_eq!(caller.scope(None, "secret"), Ok(Some(p)));
        assert!(caller.scope(Some(other), "secret").is_err());
        assert_eq!(parse_token_flag(&format!("abc={p}")), Ok(("abc".into(), p)));
        assert!(parse_token_flag("abc").is_err());
    }
}
