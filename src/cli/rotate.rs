//! `keyward rotate` and `keyward sync`: set the annotation with a fresh value, then wait until
//! the object reports the request done (the new revision mirrored) or a failure, with a progress
//! line on stderr and a timeout.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use super::kinds::{ObjectKind, Progress, Request};
use super::{Outcome, Scope, Selection};

/// Arguments of `keyward rotate` and `keyward sync`.
#[derive(clap::Args, Debug)]
pub struct RequestArgs {
    /// The object, as NAME or NAMESPACE/NAME.
    pub object: String,
    #[command(flatten)]
    pub selection: Selection,
    /// How long to wait for the answer (e.g. 90s, 5m).
    #[arg(long, default_value = "2m", value_parser = parse_timeout)]
    pub timeout: Duration,
    /// Ask and return at once, without waiting.
    #[arg(long)]
    pub no_wait: bool,
}

fn parse_timeout(text: &str) -> Result<Duration, String> {
    crate::api::duration::parse_duration(text).map_err(|e| e.to_string())
}

/// A fresh annotation value: the time of the request, unique per second and readable.
fn fresh_value(now: jiff::Timestamp) -> String {
    format!(
        "{}-{:04x}",
        now.strftime("%Y%m%dT%H%M%SZ"),
        rand::random::<u16>()
    )
}

/// The line that ends the wait, for a person.
pub fn done_line(request: Request, object: &str, progress: &Progress) -> String {
    match (request, progress) {
        (Request::Rotate, Progress::Done { revision, message }) => format!(
            "{object}: rotated: revision {} ({message})",
            revision.map_or("?".to_owned(), |r| r.to_string())
        ),
        (Request::Sync, Progress::Done { revision, message }) => format!(
            "{object}: synced at revision {} ({message})",
            revision.map_or("?".to_owned(), |r| r.to_string())
        ),
        (_, Progress::Failed { reason, message }) => {
            format!("{object}: failed: {reason}: {message}")
        }
        (_, Progress::Waiting(now)) => format!("{object}: still waiting: {now}"),
    }
}

/// `keyward rotate` or `keyward sync`.
pub async fn run(args: RequestArgs, request: Request) -> anyhow::Result<Outcome> {
    let tool = match request {
        Request::Rotate => "rotate",
        Request::Sync => "sync",
    };
    let client = super::client(args.selection.context.as_deref(), tool).await?;
    let scope = Scope::new(
        &args.selection,
        client.default_namespace(),
        std::slice::from_ref(&args.object),
    )
    .map_err(anyhow::Error::msg)?;
    let (namespace, name) = scope.names[0].clone();
    let kind = super::kinds::select(args.selection.kind.as_deref())
        .map_err(anyhow::Error::msg)?
        .into_iter()
        .next()
        .expect("select gives at least one kind");
    let kind: &dyn ObjectKind = kind.as_ref();
    let object = format!("{} {namespace}/{name}", kind.kind());
    let asked_at = jiff::Timestamp::now();
    let value = fresh_value(asked_at);
    kind.ask(&client, &namespace, &name, request, &value)
        .await
        .map_err(|e| anyhow::anyhow!("{object}: {e}"))?;
    let annotation = match request {
        Request::Rotate => "keyward.dev/rotate",
        Request::Sync => "keyward.dev/force-sync",
    };
    eprintln!("{object}: asked ({annotation}={value})");
    if args.no_wait {
        return Ok(Outcome::Ok);
    }
    let tty = std::io::stderr().is_terminal();
    let deadline = tokio::time::Instant::now() + args.timeout;
    let mut last = String::new();
    loop {
        let progress = kind
            .progress(&client, &namespace, &name, request, &value, asked_at)
            .await?;
        match &progress {
            Progress::Waiting(now) => {
                if *now != last {
                    let line = format!("{object}: waiting: {now}");
                    if tty {
                        eprint!("\r\x1b[2K{line}");
                        let _ = std::io::stderr().flush();
                    } else {
                        eprintln!("{line}");
                    }
                    last = now.clone();
                }
                if tokio::time::Instant::now() >= deadline {
                    if tty {
                        eprintln!();
                    }
                    eprintln!("{object}: no answer within {}s", args.timeout.as_secs());
                    return Ok(Outcome::TimedOut);
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Progress::Done { .. } | Progress::Failed { .. } => {
                if tty && !last.is_empty() {
                    eprintln!();
                }
                let line = done_line(request, &object, &progress);
                return Ok(match progress {
                    Progress::Done { .. } => {
                        println!("{line}");
                        Outcome::Ok
                    }
                    _ => {
                        eprintln!("{line}");
                        Outcome::Failed
                    }
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_fresh_and_readable() {
        let now: jiff::Timestamp = "2026-11-25T10:00:00Z".parse().unwrap();
        let value = fresh_value(now);
        assert!(value.starts_with("20261125T100000Z-"), "{value}");
        assert_eq!(value.len(), "20261125T100000Z-".len() + 4);
    }

    #[test]
    fn the_last_line_says_what_happened() {
        let done = Progress::Done {
            revision: Some(3),
            message: "revision 3 of remote secret x mirrored into Secret db".into(),
        };
        assert!(
            done_line(Request::Rotate, "ManagedSecret ns/db", &done)
                .starts_with("ManagedSecret ns/db: rotated: revision 3 (")
        );
        let failed = Progress::Failed {
            reason: "KeyUnavailable".into(),
            message: "the key is disabled".into(),
        };
        assert_eq!(
            done_line(Request::Sync, "ManagedSecret ns/db", &failed),
            "ManagedSecret ns/db: failed: KeyUnavailable: the key is disabled"
        );
    }
}
