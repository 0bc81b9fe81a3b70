//! Graceful shutdown: SIGTERM (what Kubernetes sends) or SIGINT (Ctrl-C) cancels a token that the run
//! loop, the HTTP server and leader election all watch.

use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;

/// Installs SIGTERM and SIGINT handlers and returns a token cancelled on the first of them.
///
/// The handlers are installed before this returns (so a signal right after cannot kill the process
/// the default way); must be called inside a Tokio runtime. A second signal is not special-cased:
/// the pod's `terminationGracePeriodSeconds` bounds how long a stuck shutdown can take.
pub fn on_signals() -> std::io::Result<CancellationToken> {
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    let token = CancellationToken::new();
    let cancel = token.clone();
    tokio::spawn(async move {
        let name = tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        };
        tracing::info!(signal = name, "shutting down");
        cancel.cancel();
    });
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn sigterm_cancels_the_token() {
        let token = on_signals().unwrap();
        assert!(!token.is_cancelled());
        // The handler is installed, so the signal reaches the token instead of ending the test process.
        let status = std::process::Command::new("kill")
            .args(["-TERM", &std::process::id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        tokio::time::timeout(Duration::from_secs(10), token.cancelled())
            .await
            .expect("SIGTERM did not cancel the token");
    }
}
