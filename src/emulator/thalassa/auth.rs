//! Credentials: personal access tokens (`Authorization: Token <pat>`) and OIDC client credentials
//! exchanged at `POST /oidc/token` for a `Bearer` access token that expires on the emulator's clock.
//!
//! The token endpoint is not in the reference; its shape is the official SDK's and Terraform
//! provider's use of it (`{api}/oidc/token`, OAuth 2.0 client credentials, RFC 6749 §4.4): a form
//! body with `grant_type=client_credentials`, the client authenticated by HTTP Basic or by
//! `client_id`/`client_secret` form fields, answered with `{access_token, token_type, expires_in}`.
//! Error bodies follow RFC 6749 §5.2 (UNCONFIRMED for Thalassa).
//!
//! Lenient by default (any non-empty token or client, any organisation); strict when credentials are
//! configured, each bound to one organisation.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use jiff::{SignedDuration, Timestamp};
use percent_encoding::percent_decode_str;
use serde_json::{Value, json};

use super::errors::ApiError;

/// Lifetime of issued access tokens unless configured (UNCONFIRMED).
pub const DEFAULT_TOKEN_LIFETIME: SignedDuration = SignedDuration::from_hours(1);

/// Who is calling, once the credentials are accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// Lenient mode: any organisation.
    Anyone,
    /// Strict mode: this organisation only.
    Organisation(String),
}

impl Caller {
    /// Another organisation's data is refused (403, UNCONFIRMED).
    pub fn check_organisation(&self, organisation: &str) -> Result<(), ApiError> {
        match self {
            Self::Organisation(own) if own != organisation => Err(ApiError::forbidden(format!(
                "these credentials have no access to organisation {organisation}"
            ))),
            _ => Ok(()),
        }
    }
}

/// A strict-mode OAuth client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcClient {
    pub id: String,
    pub secret: String,
    pub organisation: String,
}

struct Issued {
    /// `None` when issued in lenient mode.
    organisation: Option<String>,
    expires_at: Timestamp,
}

pub struct Auth {
    /// PAT → its organisation.
    personal_tokens: HashMap<String, String>,
    clients: Vec<OidcClient>,
    lifetime: SignedDuration,
    issued: Mutex<HashMap<String, Issued>>,
}

/// An error of the token endpoint: status and RFC 6749 body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenError {
    pub status: u16,
    pub error: &'static str,
    pub description: &'static str,
}

impl TokenError {
    pub fn body(&self) -> Value {
        json!({"error": self.error, "error_description": self.description})
    }
}

impl Auth {
    pub fn new(
        personal_tokens: impl IntoIterator<Item = (String, String)>,
        clients: Vec<OidcClient>,
        lifetime: SignedDuration,
    ) -> Self {
        Self {
            personal_tokens: personal_tokens.into_iter().collect(),
            clients,
            lifetime,
            issued: Mutex::default(),
        }
    }

    fn strict(&self) -> bool {
        !self.personal_tokens.is_empty() || !self.clients.is_empty()
    }

    /// The `Authorization` header: `Token <pat>` or `Bearer <access token>` (reference §1). A missing,
    /// malformed, unknown or expired credential is 401. `Basic` is not accepted (optional per the
    /// reference).
    pub fn authenticate(&self, header: Option<&str>, now: Timestamp) -> Result<Caller, ApiError> {
        let header = header.map(str::trim).unwrap_or_default();
        let (scheme, credential) = header.split_once(' ').unwrap_or((header, ""));
        let credential = credential.trim();
        if credential.is_empty() {
            return Err(ApiError::unauthorized(
                "missing or malformed Authorization header",
            ));
        }
        if scheme.eq_ignore_ascii_case("token") {
            if !self.strict() {
                return Ok(Caller::Anyone);
            }
            return self
                .personal_tokens
                .get(credential)
                .map(|org| Caller::Organisation(org.clone()))
                .ok_or_else(|| ApiError::unauthorized("invalid personal access token"));
        }
        if scheme.eq_ignore_ascii_case("bearer") {
            let issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(token) = issued.get(credential) {
                if token.expires_at <= now {
                    return Err(ApiError::unauthorized("the access token has expired"));
                }
                return Ok(token
                    .organisation
                    .clone()
                    .map_or(Caller::Anyone, Caller::Organisation));
            }
            if !self.strict() {
                return Ok(Caller::Anyone);
            }
            return Err(ApiError::unauthorized("invalid access token"));
        }
        Err(ApiError::unauthorized("unsupported authorization scheme"))
    }

    /// `POST /oidc/token`: a new access token for a known client (any non-empty one when lenient).
    pub fn issue(
        &self,
        basic: Option<&str>,
        form: &[(String, String)],
        now: Timestamp,
    ) -> Result<Value, TokenError> {
        let field = |name: &str| {
            form.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        if field("grant_type") != Some("client_credentials") {
            return Err(TokenError {
                status: 400,
                error: "unsupported_grant_type",
                description: "only grant_type=client_credentials is supported",
            });
        }
        let (id, secret) = match basic.and_then(basic_credentials) {
            Some(pair) => pair,
            None => (
                field("client_id").unwrap_or_default().to_string(),
                field("client_secret").unwrap_or_default().to_string(),
            ),
        };
        let invalid = TokenError {
            status: 401,
            error: "invalid_client",
            description: "client authentication failed",
        };
        if id.is_empty() || secret.is_empty() {
            return Err(invalid);
        }
        let organisation = if self.strict() {
            let client = self
                .clients
                .iter()
                .find(|c| c.id == id && c.secret == secret)
                .ok_or(invalid)?;
            Some(client.organisation.clone())
        } else {
            None
        };
        let access_token = format!("tat_{}", uuid::Uuid::new_v4().simple());
        let mut issued = self.issued.lock().unwrap_or_else(|e| e.into_inner());
        issued.retain(|_, t| t.expires_at > now);
        issued.insert(
            access_token.clone(),
            Issued {
                organisation,
                expires_at: super::account::later(now, self.lifetime),
            },
        );
        Ok(json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": self.lifetime.as_secs(),
        }))
    }
}

/// `Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 §2.3.1).
fn basic_credentials(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(BASE64.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| {
        percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    Some((unescape(id), unescape(secret)))
}

/// Parses a `TOKEN=ORGANISATION` flag value.
pub fn parse_token_flag(text: &str) -> Result<(String, String), String> {
    let (token, org) = text.split_once('=').ok_or("expected TOKEN=ORGANISATION")?;
    if token.is_empty() || org.is_empty() {
        return Err("expected TOKEN=ORGANISATION, both non-empty".into());
    }
    Ok((token.to_string(), org.to_string()))
}

/// Parses a `CLIENT_ID:CLIENT_SECRET=ORGANISATION` flag value.
pub fn parse_client_flag(text: &str) -> Result<OidcClient, String> {
    let err = "expected CLIENT_ID:CLIENT_SECRET=ORGANISATION";
    let (creds, org) = text.rsplit_once('=').ok_or(err)?;
    let (id, secret) = creds.split_once(':').ok_or(err)?;
    if id.is_empty() || secret.is_empty() || org.is_empty() {
        return Err(err.into());
    }
    Ok(OidcClient {
        id: id.into(),
        secret: secret.into(),
        organisation: org.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn lenient_and_strict_tokens() {
        let now: Timestamp = "2026-07-01T00:00:00Z".parse().unwrap();
        let lenient = Auth::new([], vec![], DEFAULT_TOKEN_LIFETIME);
        assert_eq!(
            lenient.authenticate(Some("Token x"), now),
            Ok(Caller::Anyone)
        );
        assert_eq!(
            lenient.authenticate(Some("Bearer y"), now),
            Ok(Caller::Anyone)
        );
        for bad in [
            None,
            Some(""),
            Some("Token"),
            Some("Token  "),
            Some("Basic dTpw"),
        ] {
            assert_eq!(
                lenient.authenticate(bad, now).unwrap_err().status(),
                401,
                "{bad:?}"
            );
        }
        let strict = Auth::new(
            [("pat-1".to_string(), "org-a".to_string())],
            vec![OidcClient {
                id: "cid".into(),
                secret: "csecret".into(),
                organisation: "org-b".into(),
            }],
            SignedDuration::from_secs(60),
        );
        assert_eq!(
            strict.authenticate(Some("Token pat-1"), now),
            Ok(Caller::Organisation("org-a".into()))
        );
        assert_eq!(
            strict
                .authenticate(Some("Token pat-2"), now)
                .unwrap_err()
                .status(),
            401
        );
        assert_eq!(
            strict
                .authenticate(Some("Bearer pat-1"), now)
                .unwrap_err()
                .status(),
            401
        );
        let basic = format!("Basic {}", BASE64.encode("cid:csecret"));
        let grant = form(&[("grant_type", "client_credentials")]);
        let token = strict.issue(Some(&basic), &grant, now).unwrap();
        assert_eq!(token["token_type"], "Bearer");
        assert_eq!(token["expires_in"], 60);
        let bearer = format!("Bearer {}", token["access_token"].as_str().unwrap());
        assert_eq!(
            strict.authenticate(Some(&bearer), now),
            Ok(Caller::Organisation("org-b".into()))
        );
        let later = super::super::account::later(now, SignedDuration::from_secs(60));
        assert_eq!(
            strict
                .authenticate(Some(&bearer), later)
                .unwrap_err()
                .status(),
            401
        );
        // Client credentials in the form body work too; a wrong secret does not.
        let in_body = form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "cid"),
            ("client_secret", "csecret"),
        ]);
        assert!(strict.issue(None, &in_body, now).is_ok());
        let wrong = format!("Basic {}", BASE64.encode("cid:nope"));
        assert_eq!(
            strict.issue(Some(&wrong), &grant, now).unwrap_err().status,
            401
        );
        let password = form(&[("grant_type", "password")]);
        assert_eq!(
            strict
                .issue(Some(&basic), &password, now)
                .unwrap_err()
                .error,
            "unsupported_grant_type"
        );
        assert!(
            Caller::Organisation("a".into())
                .check_organisation("b")
                .is_err()
        );
        assert!(Caller::Anyone.check_organisation("b").is_ok());
    }

    #[test]
    fn flags() {
        assert_eq!(parse_token_flag("t=o"), Ok(("t".into(), "o".into())));
        assert!(parse_token_flag("t").is_err());
        let c = parse_client_flag("id:se:cret=org").unwrap();
        assert_eq!(
            (c.id.as_str(), c.secret.as_str(), c.organisation.as_str()),
            ("id", "se:cret", "org")
        );
        assert!(parse_client_flag("id=org").is_err());
    }
}
