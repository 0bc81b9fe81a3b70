//! Errors in the API's shape: `{"message": "..."}` with the HTTP status (reference §1, §10; any other
//! field is UNCONFIRMED, so none is sent). Messages never contain secret values.

use serde_json::{Value, json};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    status: u16,
    message: String,
}

impl ApiError {
    fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    /// 400: invalid path, body or value; a bound KMS key that is not active (reference §6).
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, message)
    }

    /// 401. UNCONFIRMED: the reference lists no 401; standard platform behaviour assumed.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(401, message)
    }

    /// 403: a feature gate is off, another organisation, an access policy denied.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(403, message)
    }

    /// 404: secret, version, KMS key or region not found, or the wrong project scope.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(404, message)
    }

    /// 405 for a known path with a method it does not serve (UNCONFIRMED).
    pub fn method_not_allowed() -> Self {
        Self::new(405, "method not allowed")
    }

    /// 409: the path already exists on create (UNCONFIRMED).
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(409, message)
    }

    /// 429 from the shared rate limiter (body UNCONFIRMED).
    pub fn too_many_requests() -> Self {
        Self::new(429, "too many requests")
    }

    /// 503: no KMS in the region (reference §1). The message names KMS, which is what tells it apart
    /// from an injected or gateway 503.
    pub fn kms_unavailable(region: &str) -> Self {
        Self::new(
            503,
            format!("KMS is not available in region {region}: no enabled KMS endpoint"),
        )
    }

    /// 500 or 503 injected by the fault settings (bodies UNCONFIRMED).
    pub fn injected(status: u16) -> Self {
        let message = if status == 503 {
            "service unavailable"
        } else {
            "internal server error"
        };
        Self::new(status, message)
    }

    pub fn status(&self) -> u16 {
        self.status
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn body(&self) -> Value {
        json!({"message": self.message})
    }
}
