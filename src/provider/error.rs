//! The one error type of every provider operation, and the classification the controller acts on.
//!
//! [`ErrorKind`] decides the condition reason, the Event reason, the metric label and the requeue;
//! the rest of [`ProviderError`] is context for a person reading a log line. Messages are built from
//! the provider's error text (with any known payload scrubbed out) and never from request bodies.

use std::fmt;
use std::time::Duration;

/// One problem with one argument, as reported by the provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArgumentProblem {
    pub argument: String,
    /// Provider's short reason (`required`, `format`, `constraint`, …).
    pub reason: String,
    pub help: String,
}

/// What went wrong, in terms the controller can act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The secret or version does not exist (or is outside the caller's scope).
    NotFound,
    /// Too many requests; try again after `retry_after` when the provider said so.
    RateLimited { retry_after: Option<Duration> },
    /// The credentials were refused.
    Unauthorized,
    /// The credentials are valid but lack a permission.
    Forbidden,
    /// The request was refused as invalid; fixing the spec is needed.
    InvalidArgument { details: Vec<ArgumentProblem> },
    /// The secret is protected against deletion.
    Protected,
    /// Another precondition was not met (including a secret the provider locked).
    Precondition,
    /// The encryption key the secret uses is disabled, deleted or unreachable.
    KeyUnavailable,
    /// Two resources claim the same identity (for example two secrets with one name and path).
    Conflict,
    /// A provider quota is exhausted.
    QuotaExceeded,
    /// The provider is temporarily unable to answer (502, 503, 504, a resource in transition).
    Transient,
    /// The provider failed (500 and other server errors).
    ServerError,
    /// No usable HTTP answer: connection refused or dropped, timeout, TLS failure.
    Transport,
    /// The provider answered something this client cannot understand.
    InvalidResponse,
    /// The provider does not offer this operation (see `Capabilities`).
    Unsupported,
    /// The version exists (or existed) but its payload cannot be read: disabled, scheduled for
    /// deletion, expired. Not a sign that the secret is gone.
    VersionUnreadable,
    /// Keyward's own request budget for this store is spent: the request was not sent. Not a
    /// failure: the object waits its turn (`retry_after`).
    Throttled { retry_after: Duration },
}

impl ErrorKind {
    /// A stable CamelCase label for condition reasons, Event reasons and metric labels.
    pub fn label(&self) -> &'static str {
        match self {
            ErrorKind::NotFound => "NotFound",
            ErrorKind::RateLimited { .. } => "RateLimited",
            ErrorKind::Unauthorized => "Unauthorized",
            ErrorKind::Forbidden => "Forbidden",
            ErrorKind::InvalidArgument { .. } => "InvalidArgument",
            ErrorKind::Protected => "Protected",
            ErrorKind::Precondition => "Precondition",
            ErrorKind::KeyUnavailable => "KeyUnavailable",
            ErrorKind::Conflict => "Conflict",
            ErrorKind::QuotaExceeded => "QuotaExceeded",
            ErrorKind::Transient => "Transient",
            ErrorKind::ServerError => "ServerError",
            ErrorKind::Transport => "Transport",
            ErrorKind::InvalidResponse => "InvalidResponse",
            ErrorKind::Unsupported => "Unsupported",
            ErrorKind::VersionUnreadable => "VersionUnreadable",
            ErrorKind::Throttled { .. } => "Throttled",
        }
    }

    /// Whether the same request may succeed later without anyone changing anything.
    pub fn is_temporary(&self) -> bool {
        matches!(
            self,
            ErrorKind::RateLimited { .. }
                | ErrorKind::Transient
                | ErrorKind::ServerError
                | ErrorKind::Transport
        )
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A failed provider operation. Boxed so `Result<T, ProviderError>` stays one pointer wide.
#[derive(Clone, PartialEq, Eq)]
pub struct ProviderError(Box<Details>);

#[derive(Clone, PartialEq, Eq)]
struct Details {
    provider: &'static str,
    operation: &'static str,
    kind: ErrorKind,
    message: String,
    http_status: Option<u16>,
    request_id: Option<String>,
    resource: Option<String>,
}

impl ProviderError {
    pub fn new(
        provider: &'static str,
        operation: &'static str,
        kind: ErrorKind,
        message: impl Into<String>,
    ) -> Self {
        Self(Box::new(Details {
            provider,
            operation,
            kind,
            message: message.into(),
            http_status: None,
            request_id: None,
            resource: None,
        }))
    }

    /// Names the kind of resource the provider's error was about (`secret`, `secret_version`, `key`).
    pub fn with_resource(mut self, resource: Option<String>) -> Self {
        self.0.resource = resource;
        self
    }

    /// Reclassifies the error (used where an operation knows better, e.g. reading a version).
    pub fn with_kind(mut self, kind: ErrorKind) -> Self {
        self.0.kind = kind;
        self
    }

    /// The kind of resource the provider's error named, when it named one.
    pub fn resource(&self) -> Option<&str> {
        self.0.resource.as_deref()
    }

    pub fn with_http(mut self, status: u16, request_id: Option<String>) -> Self {
        self.0.http_status = Some(status);
        self.0.request_id = request_id;
        self
    }

    /// The store's request budget refused to wait this long: the request was not sent.
    pub fn budget_spent(
        provider: &'static str,
        operation: &'static str,
        retry_after: std::time::Duration,
    ) -> Self {
        Self::new(
            provider,
            operation,
            ErrorKind::Throttled { retry_after },
            "the store's request budget is spent for now; the request was not sent",
        )
    }

    pub fn unsupported(provider: &'static str, operation: &'static str) -> Self {
        Self::new(
            provider,
            operation,
            ErrorKind::Unsupported,
            "the provider does not offer this operation",
        )
    }

    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }

    pub fn provider(&self) -> &'static str {
        self.0.provider
    }

    pub fn operation(&self) -> &'static str {
        self.0.operation
    }

    pub fn message(&self) -> &str {
        &self.0.message
    }

    pub fn http_status(&self) -> Option<u16> {
        self.0.http_status
    }

    /// The provider's request id, for support tickets.
    pub fn request_id(&self) -> Option<&str> {
        self.0.request_id.as_deref()
    }

    /// Delay the provider (or Keyward's own budget) asked for.
    pub fn retry_after(&self) -> Option<Duration> {
        match &self.0.kind {
            ErrorKind::RateLimited { retry_after } => *retry_after,
            ErrorKind::Throttled { retry_after } => Some(*retry_after),
            _ => None,
        }
    }

    /// The error as a condition message: what [`fmt::Display`] shows without the request id and
    /// the retry delay, which change on every attempt. A failure that repeats then gives the same
    /// message, so status is not rewritten and no Event is emitted again.
    pub fn condition_message(&self) -> String {
        let mut text = format!(
            "{} {}: {}: {}",
            self.0.provider, self.0.operation, self.0.kind, self.0.message
        );
        if let ErrorKind::InvalidArgument { details } = &self.0.kind {
            for d in details {
                text.push_str(&format!(
                    "; {} ({}): {}",
                    d.argument,
                    d.reason,
                    d.help.trim_end()
                ));
            }
        }
        if let Some(status) = self.0.http_status {
            text.push_str(&format!(" [HTTP {status}]"));
        }
        text
    }

    /// Replaces every occurrence of each needle in the message and argument details with
    /// `<redacted>`. Used by operations that carry a payload, in case the provider echoes it.
    pub fn scrub(mut self, needles: &[&str]) -> Self {
        fn scrub_text(text: &mut String, needles: &[&str]) {
            for needle in needles.iter().filter(|n| n.len() >= 3) {
                if text.contains(needle) {
                    *text = text.replace(needle, "<redacted>");
                }
            }
        }
        scrub_text(&mut self.0.message, needles);
        if let ErrorKind::InvalidArgument { details } = &mut self.0.kind {
            for d in details {
                scrub_text(&mut d.argument, needles);
                scrub_text(&mut d.reason, needles);
                scrub_text(&mut d.help, needles);
            }
        }
        self
    }
}

impl fmt::Display for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: {}: {}",
            self.0.provider, self.0.operation, self.0.kind, self.0.message
        )?;
        if let ErrorKind::InvalidArgument { details } = &self.0.kind {
            for d in details {
                write!(f, "; {} ({}): {}", d.argument, d.reason, d.help.trim_end())?;
            }
        }
        if let Some(retry_after) = self.retry_after() {
            write!(f, " (retry after {}s)", retry_after.as_secs_f64())?;
        }
        if let Some(status) = self.0.http_status {
            write!(f, " [HTTP {status}")?;
            if let Some(id) = &self.0.request_id {
                write!(f, ", request id {id}")?;
            }
            f.write_str("]")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ProviderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderError")
            .field("provider", &self.0.provider)
            .field("operation", &self.0.operation)
            .field("kind", &self.0.kind)
            .field("message", &self.0.message)
            .field("http_status", &self.0.http_status)
            .field("request_id", &self.0.request_id)
            .field("resource", &self.0.resource)
            .finish()
    }
}

impl std::error::Error for ProviderError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_operation_kind_and_details() {
        let err = ProviderError::new(
            "scaleway",
            "create_version",
            ErrorKind::InvalidArgument {
                details: vec![ArgumentProblem {
                    argument: "data".into(),
                    reason: "format".into(),
                    help: "- invalid: Expected: string\n".into(),
                }],
            },
            "invalid argument(s)",
        )
        .with_http(400, Some("req-1".into()));
        assert_eq!(
            err.to_string(),
            "scaleway create_version: InvalidArgument: invalid argument(s); data (format): \
             - invalid: Expected: string [HTTP 400, request id req-1]"
        );
    }

    #[test]
    fn condition_message_is_the_same_for_every_attempt() {
        let attempt = |request_id: &str, secs| {
            ProviderError::new(
                "scaleway",
                "create_version",
                ErrorKind::RateLimited {
                    retry_after: Some(Duration::from_secs(secs)),
                },
                "too many requests",
            )
            .with_http(429, Some(request_id.into()))
        };
        let (a, b) = (attempt("req-1", 3), attempt("req-2", 7));
        assert_ne!(a.to_string(), b.to_string());
        assert_eq!(a.condition_message(), b.condition_message());
        assert_eq!(
            a.condition_message(),
            "scaleway create_version: RateLimited: too many requests [HTTP 429]"
        );
    }

    #[test]
    fn scrub_removes_echoed_payload_everywhere() {
        let err = ProviderError::new(
            "scaleway",
            "create_version",
            ErrorKind::InvalidArgument {
                details: vec![ArgumentProblem {
                    argument: "data".into(),
                    reason: "format".into(),
                    help: "bad value canary-77".into(),
                }],
            },
            "rejected canary-77",
        )
        .scrub(&["canary-77"]);
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("canary-77"), "{shown}");
        assert!(shown.contains("<redacted>"));
    }

    #[test]
    fn labels_are_distinct() {
        let kinds = [
            ErrorKind::NotFound,
            ErrorKind::RateLimited { retry_after: None },
            ErrorKind::Unauthorized,
            ErrorKind::Forbidden,
            ErrorKind::InvalidArgument { details: vec![] },
            ErrorKind::Protected,
            ErrorKind::Precondition,
            ErrorKind::KeyUnavailable,
            ErrorKind::Conflict,
            ErrorKind::QuotaExceeded,
            ErrorKind::Transient,
            ErrorKind::ServerError,
            ErrorKind::Transport,
            ErrorKind::InvalidResponse,
            ErrorKind::Unsupported,
            ErrorKind::VersionUnreadable,
            ErrorKind::Throttled {
                retry_after: Duration::ZERO,
            },
        ];
        let labels: std::collections::HashSet<_> = kinds.iter().map(|k| k.label()).collect();
        assert_eq!(labels.len(), kinds.len());
    }
}
