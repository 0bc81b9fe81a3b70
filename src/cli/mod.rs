//! The operator's everyday tools: `keyward plan` (what the operator would do now, and why;
//! offline with `-f`), `keyward rotate` and `keyward sync` (ask, then wait for the answer), and
//! `keyward status` (what is not Ready, and why). The same binary is the kubectl plugin
//! `kubectl keyward` (see `main.rs`).
//!
//! - [`kinds`]: what a command needs of an object kind;
//! - [`managed_secret`] and [`managed_key`]: that for ManagedSecrets and ManagedKeys, on the
//!   operator's own observe and plan code;
//! - [`plan`], [`validate`] (offline, with [`schema`]), [`rotate`], [`status`]: the commands;
//! - [`report`] and [`output`]: what they print, pure and unit-tested.
//!
//! Exit codes, for every command: 0 nothing failed; 1 a plan would fail, a manifest is invalid,
//! or the object reported a failure; 2 the command could not run (bad arguments, unreadable
//! file, no cluster, object not found); 3 `rotate`/`sync` timed out waiting.

pub mod kinds;
pub mod managed_key;
pub mod managed_secret;
pub mod output;
pub mod plan;
pub mod report;
pub mod rotate;
pub mod schema;
pub mod status;
pub mod validate;

use std::process::ExitCode;

/// How a command ended (its exit code).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing failed.
    Ok,
    /// A plan would fail, a manifest is invalid, or the object reported a failure.
    Failed,
    /// `rotate`/`sync`: no answer within the timeout.
    TimedOut,
}

impl Outcome {
    pub fn code(self) -> ExitCode {
        match self {
            Outcome::Ok => ExitCode::SUCCESS,
            Outcome::Failed => ExitCode::from(1),
            Outcome::TimedOut => ExitCode::from(3),
        }
    }
}

/// Exit code of a command that could not run.
pub const CANNOT_RUN: u8 = 2;

/// Which objects a command is about.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct Selection {
    /// Kubeconfig context (default: the current context).
    #[arg(long, env = "KEYWARD_KUBE_CONTEXT")]
    pub context: Option<String>,
    /// Namespace (default: the context's namespace).
    #[arg(short = 'n', long)]
    pub namespace: Option<String>,
    /// Every namespace.
    #[arg(short = 'A', long, conflicts_with = "namespace")]
    pub all_namespaces: bool,
    /// Only objects of this kind (ManagedSecret, ms); `rotate` and `sync` default to
    /// ManagedSecret.
    #[arg(long)]
    pub kind: Option<String>,
}

/// Where a command looks: one namespace or all, and the objects named (none: every object).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    /// `None`: every namespace.
    pub namespace: Option<String>,
    /// `(namespace, name)` of the objects named.
    pub names: Vec<(String, String)>,
}

impl Scope {
    /// From the flags and the objects named as `NAME` or `NAMESPACE/NAME`.
    pub fn new(
        selection: &Selection,
        default_namespace: &str,
        objects: &[String],
    ) -> Result<Self, String> {
        let namespace = match (&selection.namespace, selection.all_namespaces) {
            (_, true) => None,
            (Some(ns), false) => Some(ns.clone()),
            (None, false) => Some(default_namespace.to_owned()),
        };
        let mut names = Vec::new();
        for object in objects {
            let parts: Vec<&str> = object.split('/').collect();
            let (ns, name) = match parts.as_slice() {
                [name] => match &namespace {
                    Some(ns) => (ns.clone(), (*name).to_owned()),
                    None => {
                        return Err(format!(
                            "{object}: with --all-namespaces, name objects as NAMESPACE/NAME"
                        ));
                    }
                },
                [ns, name] => ((*ns).to_owned(), (*name).to_owned()),
                _ => return Err(format!("{object}: expected NAME or NAMESPACE/NAME")),
            };
            if ns.is_empty() || name.is_empty() {
                return Err(format!("{object}: expected NAME or NAMESPACE/NAME"));
            }
            names.push((ns, name));
        }
        Ok(Self { namespace, names })
    }
}

/// A kube client for `context` (or the current one), with its default namespace; `tool` names
/// it in the API server's audit log (`keyward-plan/0.1.0`).
pub async fn client(context: Option<&str>, tool: &str) -> anyhow::Result<kube::Client> {
    crate::controller::kube_client(
        context,
        &format!("keyward-{tool}/{}", env!("CARGO_PKG_VERSION")),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objects_are_named_in_the_namespace_or_with_theirs() {
        let selection = Selection::default();
        let scope = Scope::new(&selection, "team", &["db".into(), "other/api".into()]).unwrap();
        assert_eq!(scope.namespace.as_deref(), Some("team"));
        assert_eq!(
            scope.names,
            vec![("team".into(), "db".into()), ("other".into(), "api".into())]
        );
        let all = Selection {
            all_namespaces: true,
            ..Default::default()
        };
        assert_eq!(Scope::new(&all, "team", &[]).unwrap().namespace, None);
        assert!(Scope::new(&all, "team", &["db".into()]).is_err());
        assert!(Scope::new(&selection, "team", &["a/b/c".into()]).is_err());
        assert!(Scope::new(&selection, "team", &["/db".into()]).is_err());
    }
}
