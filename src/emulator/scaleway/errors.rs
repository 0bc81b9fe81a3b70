//! Errors in the API's own JSON shapes (see the API reference, §7).
//!
//! Bodies are built with `serde_json::json!`, whose map sorts keys, which is the key order the recorded
//! error bodies have.

use serde_json::{Value, json};

/// One entry of an `invalid_arguments` error's `details`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgumentError {
    pub argument_name: String,
    /// `unknown`, `required`, `format` or `constraint`.
    pub reason: &'static str,
    pub help_message: String,
}

impl ArgumentError {
    pub fn new(
        argument_name: impl Into<String>,
        reason: &'static str,
        help: impl Into<String>,
    ) -> Self {
        Self {
            argument_name: argument_name.into(),
            reason,
            help_message: help.into(),
        }
    }
}

/// Every error the emulator answers with. Messages never contain secret payloads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// 404 `not_found` [REC].
    NotFound {
        resource: &'static str,
        resource_id: String,
    },
    /// 400 `invalid_arguments` [REC].
    InvalidArguments(Vec<ArgumentError>),
    /// 412 `precondition_failed` [REC for `protected_resource`].
    PreconditionFailed {
        precondition: &'static str,
        help_message: String,
    },
    /// 409 for a second live secret with the same (project, path, name). UNCONFIRMED: no recording shows a
    /// duplicate; the body follows the shape of the other resource errors.
    Conflict {
        resource: &'static str,
        resource_id: String,
    },
    /// 401 `denied_authentication` (status and body UNCONFIRMED, fields from the SDK).
    DeniedAuthentication {
        method: &'static str,
        reason: &'static str,
    },
    /// 403 `permissions_denied` (status UNCONFIRMED, fields from the SDK).
    PermissionsDenied {
        resource: &'static str,
        action: &'static str,
    },
    /// 405 for a known path with a method it does not serve (body UNCONFIRMED).
    MethodNotAllowed,
    /// 404 for a path outside the API's routes (body UNCONFIRMED).
    UnknownRoute,
    /// 429 from the rate limiter (body UNCONFIRMED).
    TooManyRequests,
    /// 500 or 503 injected by the fault settings (bodies UNCONFIRMED).
    Injected { status: u16 },
}

impl ApiError {
    pub fn not_found_secret(id: impl ToString) -> Self {
        Self::NotFound {
            resource: "secret",
            resource_id: id.to_string(),
        }
    }

    /// A missing version. UNCONFIRMED: `resource` is `secret_version` and `resource_id` the selector as asked.
    pub fn not_found_version(revision: impl ToString) -> Self {
        Self::NotFound {
            resource: "secret_version",
            resource_id: revision.to_string(),
        }
    }

    pub fn invalid(
        argument: impl Into<String>,
        reason: &'static str,
        help: impl Into<String>,
    ) -> Self {
        Self::InvalidArguments(vec![ArgumentError::new(argument, reason, help)])
    }

    pub fn status(&self) -> u16 {
        match self {
            Self::NotFound { .. } | Self::UnknownRoute => 404,
            Self::InvalidArguments(_) => 400,
            Self::PreconditionFailed { .. } => 412,
            Self::Conflict { .. } => 409,
            Self::DeniedAuthentication { .. } => 401,
            Self::PermissionsDenied { .. } => 403,
            Self::MethodNotAllowed => 405,
            Self::TooManyRequests => 429,
            Self::Injected { status } => *status,
        }
    }

    pub fn body(&self) -> Value {
        match self {
            Self::NotFound {
                resource,
                resource_id,
            } => json!({
                "message": "resource is not found",
                "resource": resource,
                "resource_id": resource_id,
                "type": "not_found",
            }),
            Self::InvalidArguments(details) => json!({
                "details": details.iter().map(|d| json!({
                    "argument_name": d.argument_name,
                    "help_message": d.help_message,
                    "reason": d.reason,
                })).collect::<Vec<_>>(),
                "message": "invalid argument(s)",
                "type": "invalid_arguments",
            }),
            Self::PreconditionFailed {
                precondition,
                help_message,
            } => json!({
                "help_message": help_message,
                "message": "precondition is not respected",
                "precondition": precondition,
                "type": "precondition_failed",
            }),
            Self::Conflict {
                resource,
                resource_id,
            } => json!({
                "message": "resource already exists",
                "resource": resource,
                "resource_id": resource_id,
                "type": "conflict",
            }),
            Self::DeniedAuthentication { method, reason } => json!({
                "message": "authentication is denied",
                "method": method,
                "reason": reason,
                "type": "denied_authentication",
            }),
            Self::PermissionsDenied { resource, action } => json!({
                "details": [{"action": action, "resource": resource}],
                "message": "insufficient permissions",
                "type": "permissions_denied",
            }),
            Self::MethodNotAllowed => json!({
                "message": "method not allowed",
                "type": "method_not_allowed",
            }),
            Self::UnknownRoute => json!({
                "message": "resource is not found",
                "resource": "route",
                "resource_id": "",
                "type": "not_found",
            }),
            Self::TooManyRequests => json!({
                "message": "too many requests",
                "type": "too_many_requests",
            }),
            Self::Injected { status: 503 } => json!({
                "message": "service unavailable",
                "type": "service_unavailable",
            }),
            Self::Injected { .. } => json!({
                "message": "internal error",
                "type": "internal_error",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_bodies_are_reproduced_byte_for_byte() {
        let not_found = ApiError::not_found_secret("0f3c7e6a-8a85-4f5e-9b4e-1c2d3e4f5a6b");
        assert_eq!(
            not_found.body().to_string(),
            r#"{"message":"resource is not found","resource":"secret","resource_id":"0f3c7e6a-8a85-4f5e-9b4e-1c2d3e4f5a6b","type":"not_found"}"#
        );
        let protected = ApiError::PreconditionFailed {
            precondition: "protected_resource",
            help_message: "cannot delete a protected secret".into(),
        };
        assert_eq!(protected.status(), 412);
        assert_eq!(
            protected.body().to_string(),
            r#"{"help_message":"cannot delete a protected secret","message":"precondition is not respected","precondition":"protected_resource","type":"precondition_failed"}"#
        );
        let invalid = ApiError::invalid(
            "data",
            "format",
            "- invalid: Invalid type. Expected: string, given: object\n",
        );
        assert_eq!(
            invalid.body().to_string(),
            r#"{"details":[{"argument_name":"data","help_message":"- invalid: Invalid type. Expected: string, given: object\n","reason":"format"}],"message":"invalid argument(s)","type":"invalid_arguments"}"#
        );
    }
}
