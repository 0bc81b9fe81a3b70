//! Turning an OCI error answer (`{"code": "...", "message": "..."}`) into an [`ErrorKind`] and a
//! message that keeps the code. Pure; table-tested.
//!
//! The code decides when it is known; a few codes are shared by cases the controller must tell apart,
//! and then the message does:
//! - 400 `InvalidParameter` "… already exists …": the name is taken, also by a secret pending deletion
//!   (whose name stays reserved for up to 30 days) → [`ErrorKind::Conflict`], never `InvalidArgument`;
//! - 409 `IncorrectState`: a resource in transition (`UPDATING`, …) is [`ErrorKind::Transient`]; one
//!   in a state it will not leave by itself (pending deletion, a disabled key) is
//!   [`ErrorKind::Precondition`] or [`ErrorKind::KeyUnavailable`];
//! - 404 `NotAuthorizedOrNotFound` is [`ErrorKind::NotFound`], and the message says that OCI cannot
//!   tell a missing resource from a missing permission (never read it as "deleted").
//!
//! A body that is not an OCI error (a gateway page) is never echoed: the message is the status line.

use std::time::Duration;

use super::wire::WireError;
use crate::provider::retry::Refusal;
use crate::provider::{ErrorKind, ProviderError};

/// Longest server message kept, so a misbehaving server cannot flood logs and status.
const MAX_MESSAGE: usize = 300;

/// One classified error answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Classified {
    pub kind: ErrorKind,
    /// `Code: message`, or the status line when the body was not an OCI error.
    pub message: String,
    /// The OCI error code, when the body had one.
    pub code: Option<String>,
    pub refusal: Refusal,
}

/// Classifies one error answer.
pub fn classify(status: u16, retry_after: Option<Duration>, body: &[u8]) -> Classified {
    let parsed = serde_json::from_slice::<WireError>(body)
        .ok()
        .filter(|e| !e.code.is_empty());
    let code = parsed.as_ref().map(|e| e.code.clone());
    let text = parsed
        .as_ref()
        .map(|e| e.message.to_ascii_lowercase())
        .unwrap_or_default();
    let kind = kind_of(status, code.as_deref(), &text, retry_after);
    let refusal = match (&kind, status) {
        (ErrorKind::RateLimited { .. }, _) => Refusal::BeforeActing,
        (ErrorKind::Transient, 409) => Refusal::BeforeActing,
        (ErrorKind::Transient | ErrorKind::ServerError, _) => Refusal::MaybeActed,
        _ => Refusal::Final,
    };
    let message = match &parsed {
        Some(err) => describe(err, &kind),
        None => status_line(status),
    };
    Classified {
        kind,
        message,
        code,
        refusal,
    }
}

impl Classified {
    pub fn into_error(
        self,
        provider: &'static str,
        operation: &'static str,
        status: u16,
        request_id: Option<String>,
    ) -> ProviderError {
        ProviderError::new(provider, operation, self.kind, self.message)
            .with_http(status, request_id)
    }
}

fn kind_of(
    status: u16,
    code: Option<&str>,
    text: &str,
    retry_after: Option<Duration>,
) -> ErrorKind {
    // 429 is rate limiting whatever the body says.
    if status == 429 {
        return ErrorKind::RateLimited { retry_after };
    }
    let about_key = mentions_key(text);
    match code {
        Some("NotAuthenticated") => ErrorKind::Unauthorized,
        Some("NotAuthorized" | "NotAllowed" | "Forbidden") => ErrorKind::Forbidden,
        Some("NotAuthorizedOrNotFound" | "NotFound") => ErrorKind::NotFound,
        Some("RelatedResourceNotAuthorizedOrNotFound") if about_key => ErrorKind::KeyUnavailable,
        Some("RelatedResourceNotAuthorizedOrNotFound") => ErrorKind::NotFound,
        Some(
            "InvalidParameter" | "InvalidParameters" | "CannotParseRequest" | "MissingParameter",
        ) if name_taken(text) => ErrorKind::Conflict,
        Some("InvalidParameter" | "InvalidParameters") if about_key && key_not_usable(text) => {
            ErrorKind::KeyUnavailable
        }
        Some(
            "InvalidParameter"
            | "InvalidParameters"
            | "CannotParseRequest"
            | "MissingParameter"
            | "PayloadTooLarge"
            | "UnprocessableEntity",
        ) => ErrorKind::InvalidArgument { details: vec![] },
        Some("LimitExceeded" | "QuotaExceeded") => ErrorKind::QuotaExceeded,
        Some("NotAuthorizedOrResourceAlreadyExists" | "InvalidatedRetryToken" | "Conflict") => {
            ErrorKind::Conflict
        }
        Some("IncorrectState") if about_key && key_not_usable(text) => ErrorKind::KeyUnavailable,
        Some("IncorrectState") if settled_state(text) => ErrorKind::Precondition,
        Some("IncorrectState" | "LockConflict") => ErrorKind::Transient,
        Some("NoEtagMatch" | "PreconditionFailed") => ErrorKind::Precondition,
        Some("InternalServerError") => ErrorKind::ServerError,
        Some("ServiceUnavailable") => ErrorKind::Transient,
        _ => kind_from_status(status, retry_after),
    }
}

fn kind_from_status(status: u16, retry_after: Option<Duration>) -> ErrorKind {
    match status {
        401 => ErrorKind::Unauthorized,
        403 => ErrorKind::Forbidden,
        404 => ErrorKind::NotFound,
        409 => ErrorKind::Transient,
        412 => ErrorKind::Precondition,
        429 => ErrorKind::RateLimited { retry_after },
        408 | 502..=504 => ErrorKind::Transient,
        400..=499 => ErrorKind::InvalidArgument { details: vec![] },
        500..=599 => ErrorKind::ServerError,
        _ => ErrorKind::InvalidResponse,
    }
}

/// "name already exists" (secret or version name), the known form of a reserved name.
fn name_taken(text: &str) -> bool {
    text.contains("already exist")
}

fn mentions_key(text: &str) -> bool {
    text.contains("key")
}

fn key_not_usable(text: &str) -> bool {
    [
        "disabled",
        "pending_deletion",
        "pending deletion",
        "not enabled",
        "deleted",
    ]
    .iter()
    .any(|w| text.contains(w))
}

/// States a resource does not leave by itself: waiting does not help.
fn settled_state(text: &str) -> bool {
    [
        "pending_deletion",
        "pending deletion",
        "deleted",
        "failed",
        "must be deprecated",
        "current key version",
    ]
    .iter()
    .any(|w| text.contains(w))
}

fn describe(err: &WireError, kind: &ErrorKind) -> String {
    let mut text = if err.message.is_empty() {
        err.code.clone()
    } else {
        format!("{}: {}", err.code, err.message.trim_end())
    };
    if kind == &ErrorKind::NotFound && err.code == "NotAuthorizedOrNotFound" {
        text.push_str(" (OCI answers this both for a missing resource and a missing permission)");
    }
    if kind == &ErrorKind::Conflict && name_taken(&err.message.to_ascii_lowercase()) {
        text.push_str(" (a secret pending deletion keeps its name reserved until it is deleted)");
    }
    truncate(text)
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

    fn body(code: &str, message: &str) -> String {
        serde_json::json!({"code": code, "message": message}).to_string()
    }

    #[test]
    fn classification_table() {
        let after = Some(Duration::from_secs(2));
        use ErrorKind::*;
        use Refusal::*;
        let invalid = || InvalidArgument { details: vec![] };
        let rows: Vec<(u16, String, ErrorKind, Refusal)> = vec![
            (
                404,
                body(
                    "NotAuthorizedOrNotFound",
                    "Authorization failed or requested resource not found.",
                ),
                NotFound,
                Final,
            ),
            (
                401,
                body(
                    "NotAuthenticated",
                    "The required information to complete authentication was not provided or was incorrect.",
                ),
                Unauthorized,
                Final,
            ),
            (
                429,
                body("TooManyRequests", "User-rate limit exceeded."),
                RateLimited { retry_after: after },
                BeforeActing,
            ),
            (
                429,
                String::new(),
                RateLimited { retry_after: after },
                BeforeActing,
            ),
            (
                409,
                body(
                    "IncorrectState",
                    "The secret is in lifecycle state UPDATING; try again later.",
                ),
                Transient,
                BeforeActing,
            ),
            (409, body("LockConflict", "locked"), Transient, BeforeActing),
            (
                409,
                body(
                    "IncorrectState",
                    "The secret is in lifecycle state PENDING_DELETION.",
                ),
                Precondition,
                Final,
            ),
            (
                409,
                body(
                    "IncorrectState",
                    "Only a DEPRECATED version can be scheduled for deletion; version 2 must be deprecated.",
                ),
                Precondition,
                Final,
            ),
            (
                409,
                body(
                    "IncorrectState",
                    "The key is DISABLED; it must be ENABLED to create a key version.",
                ),
                KeyUnavailable,
                Final,
            ),
            (
                409,
                body(
                    "IncorrectState",
                    "Key version v1 is the key's current key version; create a new key version first.",
                ),
                Precondition,
                Final,
            ),
            (
                409,
                body(
                    "IncorrectState",
                    "The key k is in lifecycle state UPDATING; try again later.",
                ),
                Transient,
                BeforeActing,
            ),
            (
                400,
                body(
                    "InvalidParameter",
                    "A secret with the name db already exists in this vault.",
                ),
                Conflict,
                Final,
            ),
            (
                400,
                body(
                    "InvalidParameter",
                    "Secret name db already exists (secret ocid1.vaultsecret.x is in PENDING_DELETION).",
                ),
                Conflict,
                Final,
            ),
            (
                400,
                body(
                    "InvalidParameter",
                    "The version name v1 already exists for this secret.",
                ),
                Conflict,
                Final,
            ),
            (
                400,
                body("InvalidParameter", "The master encryption key is DISABLED."),
                KeyUnavailable,
                Final,
            ),
            (
                400,
                body(
                    "InvalidParameter",
                    "secretContent and currentVersionNumber cannot be combined.",
                ),
                invalid(),
                Final,
            ),
            (
                400,
                body(
                    "LimitExceeded",
                    "The secret already has 30 versions in use.",
                ),
                QuotaExceeded,
                Final,
            ),
            (
                409,
                body(
                    "InvalidatedRetryToken",
                    "The retry token was used for a different request.",
                ),
                Conflict,
                Final,
            ),
            (
                412,
                body("NoEtagMatch", "The etag does not match."),
                Precondition,
                Final,
            ),
            (
                500,
                body("InternalServerError", "oops"),
                ServerError,
                MaybeActed,
            ),
            (503, String::new(), Transient, MaybeActed),
            (
                502,
                "<html>Bad Gateway</html>".into(),
                Transient,
                MaybeActed,
            ),
            (500, "{}".into(), ServerError, MaybeActed),
            (403, String::new(), Forbidden, Final),
            (409, String::new(), Transient, BeforeActing),
            (405, String::new(), invalid(), Final),
        ];
        for (status, body, want, refusal) in rows {
            let got = classify(status, after, body.as_bytes());
            assert_eq!(
                (&got.kind, got.refusal),
                (&want, refusal),
                "{status} {body}"
            );
        }
    }

    #[test]
    fn messages_keep_the_code_and_explain_the_ambiguous_ones() {
        let got = classify(
            404,
            None,
            body("NotAuthorizedOrNotFound", "not found").as_bytes(),
        );
        assert_eq!(got.code.as_deref(), Some("NotAuthorizedOrNotFound"));
        assert!(
            got.message
                .starts_with("NotAuthorizedOrNotFound: not found")
        );
        assert!(
            got.message.contains("missing permission"),
            "{}",
            got.message
        );
        let got = classify(
            400,
            None,
            body("InvalidParameter", "name already exists").as_bytes(),
        );
        assert!(
            got.message.contains("pending deletion keeps its name"),
            "{}",
            got.message
        );
        let err = got.into_error("oci", "create_secret", 400, Some("req-1".into()));
        assert_eq!(err.http_status(), Some(400));
        assert_eq!(err.request_id(), Some("req-1"));
    }

    #[test]
    fn non_json_bodies_are_not_echoed_and_long_messages_are_cut() {
        let got = classify(502, None, b"<html>secret-ish gateway page</html>");
        assert_eq!(got.message, "HTTP 502 Bad Gateway");
        assert_eq!(got.code, None);
        let long = body("InternalServerError", &"x".repeat(5000));
        assert!(classify(500, None, long.as_bytes()).message.len() <= MAX_MESSAGE + 3);
    }
}
