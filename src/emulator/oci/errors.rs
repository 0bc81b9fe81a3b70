//! The API's error answers: `{"code": "...", "message": "..."}` with the status OCI pairs with each
//! code. Messages never quote a payload.

use serde_json::json;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OciError {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
}

impl OciError {
    pub fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// 404: OCI's one answer for "missing" and "not yours".
    pub fn not_found() -> Self {
        Self::new(
            404,
            "NotAuthorizedOrNotFound",
            "Authorization failed or requested resource not found.",
        )
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(400, "InvalidParameter", message)
    }

    pub fn missing(parameter: &str) -> Self {
        Self::new(
            400,
            "MissingParameter",
            format!("The parameter {parameter} is required."),
        )
    }

    pub fn cannot_parse(message: impl Into<String>) -> Self {
        Self::new(400, "CannotParseRequest", message)
    }

    /// 409 IncorrectState: the resource's state does not allow the request (the SDK retries it).
    pub fn incorrect_state(message: impl Into<String>) -> Self {
        Self::new(409, "IncorrectState", message)
    }

    /// 400 LimitExceeded (UNCONFIRMED for the per-secret version limits; OCI's code for limits).
    pub fn limit(message: impl Into<String>) -> Self {
        Self::new(400, "LimitExceeded", message)
    }

    pub fn no_etag_match() -> Self {
        Self::new(
            412,
            "NoEtagMatch",
            "The if-match header does not match the resource's current etag.",
        )
    }

    pub fn not_authenticated(message: impl Into<String>) -> Self {
        Self::new(401, "NotAuthenticated", message)
    }

    pub fn too_many_requests() -> Self {
        Self::new(429, "TooManyRequests", "User-rate limit exceeded.")
    }

    /// Same `opc-retry-token`, different request (UNCONFIRMED code).
    pub fn retry_token_reused() -> Self {
        Self::new(
            409,
            "InvalidatedRetryToken",
            "The retry token was already used for a different request; use a new token.",
        )
    }

    pub fn not_routed() -> Self {
        Self::new(404, "NotAuthorizedOrNotFound", "No such API path.")
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            "The method is not allowed on this path.",
        )
    }

    pub fn injected(status: u16) -> Self {
        match status {
            500 => Self::new(500, "InternalServerError", "Injected fault."),
            _ => Self::new(503, "ServiceUnavailable", "Injected fault."),
        }
    }

    pub fn body(&self) -> serde_json::Value {
        json!({"code": self.code, "message": self.message})
    }
}
