//! Logs, metrics and health endpoints: what an operator running as a service needs besides its work.
//!
//! - [`logging`]: the tracing subscriber (JSON lines by default, `--log-format text` for people).
//! - [`metrics`]: the Prometheus registry and the observer API the controller and provider clients call.
//! - [`server`]: the HTTP endpoint serving `/metrics`, `/healthz` and `/readyz`.
//!
//! - [`objects`]: the gauge of objects (and stores) by Ready reason.
//!
//! Metric labels take `&'static str` values (see [`MetricLabel`]), so a value read at run time,
//! such as a secret payload or a user-chosen object name, cannot become a label; the one exception
//! is the `store` label, a store's kind and name, which a cluster administrator chose and which
//! holds no secret.

pub mod logging;
pub mod metrics;
pub mod objects;
pub mod server;

pub use logging::{LogFormat, init_logging};
pub use metrics::{
    CALL_OK, MetricLabel, Metrics, ReconcileGuard, ReconcileOutcome, RotationTrigger, VersionCause,
};
pub use objects::{ObjectReasons, StoreReasons};
pub use server::{Readiness, serve_http, spawn_http};

use std::net::SocketAddr;

/// Command-line and environment settings for logs and the HTTP endpoint (flattened into `keyward run`).
#[derive(clap::Args, Debug, Clone)]
pub struct TelemetryArgs {
    /// Log line format: `json` (one JSON object per line, for log collectors) or `text` (for people).
    #[arg(long, env = "KEYWARD_LOG_FORMAT", value_enum, default_value_t = LogFormat::Json)]
    pub log_format: LogFormat,

    /// Log filter in `RUST_LOG` syntax, for example `info` or `info,keyward=debug,kube=warn`.
    #[arg(long, env = "RUST_LOG", default_value = "info")]
    pub log_filter: String,

    /// Address of the HTTP endpoint serving `/metrics`, `/healthz` and `/readyz`.
    #[arg(long, env = "KEYWARD_METRICS_ADDRESS", default_value = "0.0.0.0:8080")]
    pub metrics_address: SocketAddr,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        telemetry: TelemetryArgs,
    }

    #[test]
    fn flags_parse_with_production_defaults() {
        let cli = Cli::try_parse_from(["keyward"]).unwrap();
        // The environment of the test process may set RUST_LOG, so only the other defaults are asserted.
        assert_eq!(cli.telemetry.log_format, LogFormat::Json);
        assert_eq!(
            cli.telemetry.metrics_address,
            "0.0.0.0:8080".parse().unwrap()
        );

        let cli = Cli::try_parse_from([
            "keyward",
            "--log-format",
            "text",
            "--log-filter",
            "debug",
            "--metrics-address",
            "127.0.0.1:9000",
        ])
        .unwrap();
        assert_eq!(cli.telemetry.log_format, LogFormat::Text);
        assert_eq!(cli.telemetry.log_filter, "debug");
        assert_eq!(cli.telemetry.metrics_address.port(), 9000);

        assert!(Cli::try_parse_from(["keyward", "--log-format", "xml"]).is_err());
    }
}
