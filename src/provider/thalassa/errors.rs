//! Turning a Thalassa error answer into an [`ErrorKind`] and a short message. Pure; table-tested.
//!
//! The body is `{"message": "..."}` (reference §1); beyond the status, only the message says more.
//! A KMS key that is disabled or pending deletion (400, reference §6), missing (404 on create) or a
//! region without KMS (503) is `KeyUnavailable`, told apart from other 400, 404 and 503 answers by
//! the message naming KMS. A non-JSON body (a gateway page) is never echoed.

use std::time::Duration;

use super::wire::WireError;
use crate::provider::ErrorKind;

/// Longest server message kept, so a misbehaving server cannot flood logs and status.
const MAX_MESSAGE: usize = 300;

pub fn classify(status: u16, retry_after: Option<Duration>, body: &[u8]) -> (ErrorKind, String) {
    let message = serde_json::from_slice::<WireError>(body)
        .ok()
        .map(|e| e.message)
        .filter(|m| !m.trim().is_empty());
    let about_kms = message.as_deref().is_some_and(names_kms);
    let kind = match status {
        429 => ErrorKind::RateLimited { retry_after },
        400 if about_kms => ErrorKind::KeyUnavailable,
        404 if about_kms => ErrorKind::KeyUnavailable,
        503 if about_kms => ErrorKind::KeyUnavailable,
        401 => ErrorKind::Unauthorized,
        403 => ErrorKind::Forbidden,
        404 => ErrorKind::NotFound,
        409 => ErrorKind::Conflict,
        412 => ErrorKind::Precondition,
        408 | 502..=504 => ErrorKind::Transient,
        400..=499 => ErrorKind::InvalidArgument { details: vec![] },
        500..=599 => ErrorKind::ServerError,
        _ => ErrorKind::InvalidResponse,
    };
    let message = message.map(truncate).unwrap_or_else(|| status_line(status));
    (kind, message)
}

/// Whether the message is about the KMS key or KMS itself rather than the secret.
fn names_kms(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("kms") || m.contains("encryption key")
}

/// The token endpoint's refusals (RFC 6749 §5.2: `{"error": "invalid_client", ...}`): a refused
/// client is `Unauthorized` whatever the status; the rest as any answer.
pub fn classify_token(
    status: u16,
    retry_after: Option<Duration>,
    body: &[u8],
) -> (ErrorKind, String) {
    #[derive(serde::Deserialize)]
    struct OAuthError {
        error: String,
    }
    match serde_json::from_slice::<OAuthError>(body) {
        Ok(e) if status == 400 || status == 401 => (
            ErrorKind::Unauthorized,
            // A code from RFC 6749's short list, never a credential.
            format!(
                "the token endpoint refused the client: {}",
                truncate(e.error)
            ),
        ),
        _ => {
            let (kind, message) = classify(status, retry_after, body);
            (kind, format!("token endpoint: {message}"))
        }
    }
}

fn status_line(status: u16) -> String {
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("");
    format!("HTTP {status} {reason}").trim_end().to_string()
}

fn truncate(mut s: String) -> String {
    if s.len() > MAX_MESSAGE {
        let mut cut = MAX_MESSAGE;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_table() {
        let wait = Some(Duration::from_secs(7));
        let table: &[(u16, &str, ErrorKind)] = &[
            (
                400,
                r#"{"message":"KMS key k1 is disabled"}"#,
                ErrorKind::KeyUnavailable,
            ),
            (
                400,
                r#"{"message":"KMS key k1 is pending deletion"}"#,
                ErrorKind::KeyUnavailable,
            ),
            (
                400,
                r#"{"message":"invalid path: must begin with '/'"}"#,
                ErrorKind::InvalidArgument { details: vec![] },
            ),
            (
                400,
                r#"{"message":"secret version 2 is destroyed"}"#,
                ErrorKind::InvalidArgument { details: vec![] },
            ),
            (
                404,
                r#"{"message":"KMS key nope not found"}"#,
                ErrorKind::KeyUnavailable,
            ),
            (
                404,
                r#"{"message":"secret /a not found"}"#,
                ErrorKind::NotFound,
            ),
            (404, "", ErrorKind::NotFound),
            (
                503,
                r#"{"message":"KMS is not available in region nl-01: no enabled KMS endpoint"}"#,
                ErrorKind::KeyUnavailable,
            ),
            (
                503,
                r#"{"message":"service unavailable"}"#,
                ErrorKind::Transient,
            ),
            (503, "<html>busy</html>", ErrorKind::Transient),
            (502, "", ErrorKind::Transient),
            (
                401,
                r#"{"message":"the access token has expired"}"#,
                ErrorKind::Unauthorized,
            ),
            (
                403,
                r#"{"message":"KMS must be enabled for this organisation first"}"#,
                ErrorKind::Forbidden,
            ),
            (403, "", ErrorKind::Forbidden),
            (
                409,
                r#"{"message":"secret /a already exists"}"#,
                ErrorKind::Conflict,
            ),
            (429, "", ErrorKind::RateLimited { retry_after: wait }),
            (500, r#"{"message":"boom"}"#, ErrorKind::ServerError),
            (405, "", ErrorKind::InvalidArgument { details: vec![] }),
            (302, "", ErrorKind::InvalidResponse),
        ];
        for (status, body, want) in table {
            assert_eq!(
                &classify(*status, wait, body.as_bytes()).0,
                want,
                "{status} {body}"
            );
        }
    }

    #[test]
    fn messages_are_the_servers_or_the_status_line_and_are_cut() {
        assert_eq!(
            classify(404, None, br#"{"message":"secret /a not found"}"#).1,
            "secret /a not found"
        );
        assert_eq!(
            classify(502, None, b"<html>private page</html>").1,
            "HTTP 502 Bad Gateway"
        );
        let long = format!(r#"{{"message":"{}"}}"#, "x".repeat(5000));
        assert!(classify(400, None, long.as_bytes()).1.len() <= MAX_MESSAGE + 3);
    }

    #[test]
    fn refused_clients_are_unauthorized() {
        let (kind, message) = classify_token(
            401,
            None,
            br#"{"error":"invalid_client","error_description":"x"}"#,
        );
        assert_eq!(kind, ErrorKind::Unauthorized);
        assert!(message.contains("invalid_client"));
        assert_eq!(
            classify_token(400, None, br#"{"error":"unsupported_grant_type"}"#).0,
            ErrorKind::Unauthorized
        );
        assert_eq!(classify_token(503, None, b"").0, ErrorKind::Transient);
        assert_eq!(classify_token(401, None, b"").0, ErrorKind::Unauthorized);
    }
}
