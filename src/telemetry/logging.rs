//! The tracing subscriber: JSON lines by default, plain text on request, filtered like `RUST_LOG`.

use tracing_subscriber::{EnvFilter, fmt::MakeWriter};

/// How log lines are written.
#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line, with the span context: what log collectors parse.
    #[default]
    Json,
    /// Human-readable lines, for a terminal.
    Text,
}

/// Errors of [`init_logging`].
#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    /// The filter is not valid `RUST_LOG` syntax.
    #[error("invalid log filter {filter:?}: {source}")]
    InvalidFilter {
        filter: String,
        #[source]
        source: tracing_subscriber::filter::ParseError,
    },
    /// A global subscriber was already installed (for example by a test harness).
    #[error("a global tracing subscriber is already installed")]
    AlreadyInstalled,
}

/// Installs the process-wide subscriber writing to standard error.
pub fn init_logging(format: LogFormat, filter: &str) -> Result<(), LoggingError> {
    let dispatch = build_dispatch(format, filter, std::io::stderr)?;
    tracing::dispatcher::set_global_default(dispatch).map_err(|_| LoggingError::AlreadyInstalled)
}

/// Builds the subscriber for any writer, so tests can capture what it writes.
pub fn build_dispatch<W>(
    format: LogFormat,
    filter: &str,
    writer: W,
) -> Result<tracing::Dispatch, LoggingError>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let env_filter =
        EnvFilter::builder()
            .parse(filter)
            .map_err(|source| LoggingError::InvalidFilter {
                filter: filter.to_owned(),
                source,
            })?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(env_filter)
        .with_writer(writer);
    Ok(match format {
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .flatten_event(true)
            .into(),
        LogFormat::Text => builder.with_ansi(false).into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A writer that keeps everything written to it, shared with the test.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'w> MakeWriter<'w> for Captured {
        type Writer = Captured;
        fn make_writer(&'w self) -> Self::Writer {
            self.clone()
        }
    }

    fn log_with(format: LogFormat, filter: &str) -> String {
        let captured = Captured::default();
        let dispatch = build_dispatch(format, filter, captured.clone()).unwrap();
        tracing::dispatcher::with_default(&dispatch, || {
            let span = tracing::info_span!("reconcile", object = "default/db");
            let _entered = span.enter();
            tracing::info!(revision = 3, "mirrored");
            tracing::debug!("hidden at info");
        });
        String::from_utf8(captured.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn json_lines_carry_fields_and_span() {
        let out = log_with(LogFormat::Json, "info");
        let lines: Vec<_> = out.lines().collect();
        assert_eq!(lines.len(), 1, "debug line must be filtered out: {out}");
        let line: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(line["message"], "mirrored");
        assert_eq!(line["revision"], 3);
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["span"]["object"], "default/db");
    }

    #[test]
    fn text_format_is_not_json_and_filter_applies() {
        let out = log_with(LogFormat::Text, "debug");
        assert_eq!(out.lines().count(), 2, "{out}");
        assert!(
            out.contains("mirrored") && out.contains("revision=3"),
            "{out}"
        );
        assert!(serde_json::from_str::<serde_json::Value>(out.lines().next().unwrap()).is_err());
    }

    #[test]
    fn invalid_filter_is_rejected() {
        let err = build_dispatch(LogFormat::Json, "info,[[[", std::io::sink).unwrap_err();
        assert!(matches!(err, LoggingError::InvalidFilter { .. }), "{err}");
    }
}
