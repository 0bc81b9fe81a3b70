//! `keyward status`: the objects and stores that are not Ready, with their reasons and last
//! errors, the budget each store has left (from the operator's `/metrics`, when given), the
//! next rotations; `--watch` prints it again whenever it changes.

use std::collections::BTreeMap;
use std::time::Duration;

use kube::api::ListParams;
use kube::{Api, Client, ResourceExt};
use serde::Serialize;

use crate::api::conditions::{READY, find};
use crate::api::{ClusterSecretStore, SecretStore};

use super::kinds::StatusRow;
use super::output::{Format, table};
use super::{Outcome, Scope, Selection};

/// Arguments of `keyward status`.
#[derive(clap::Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    pub selection: Selection,
    /// Show Ready objects and stores too.
    #[arg(long)]
    pub all: bool,
    /// The operator's metrics endpoint (e.g. http://127.0.0.1:8080/metrics after `kubectl
    /// port-forward`), for the budget each store has left.
    #[arg(long, value_name = "URL")]
    pub metrics: Option<String>,
    /// Print the status again whenever it changes.
    #[arg(short = 'w', long)]
    pub watch: bool,
    /// How often --watch looks.
    #[arg(long, default_value = "2s", value_parser = parse_interval)]
    pub interval: Duration,
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Text)]
    pub output: Format,
}

fn parse_interval(text: &str) -> Result<Duration, String> {
    crate::api::duration::parse_duration(text).map_err(|e| e.to_string())
}

/// One store's row.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StoreRow {
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub provider: String,
    pub ready: String,
    pub reason: String,
    pub message: String,
    /// Requests the budget could send at once (negative: waiting), from the operator's metrics.
    pub budget: Option<f64>,
}

/// Everything `keyward status` shows.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Status {
    pub objects: Vec<StatusRow>,
    pub stores: Vec<StoreRow>,
}

/// `keyward_budget_tokens` by store, from the operator's metrics text.
pub fn budgets(metrics: &str) -> BTreeMap<String, f64> {
    metrics
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("keyward_budget_tokens{store=\"")?;
            let (store, rest) = rest.split_once("\"}")?;
            Some((store.to_owned(), rest.trim().parse().ok()?))
        })
        .collect()
}

fn store_label(kind: &str, namespace: &str, name: &str) -> String {
    if namespace.is_empty() {
        format!("{kind} {name}")
    } else {
        format!("{kind} {namespace}/{name}")
    }
}

fn cell(value: Option<impl ToString>) -> String {
    value.map_or("-".to_owned(), |v| v.to_string())
}

/// The text of `keyward status`. Pure.
pub fn render(status: &Status, all: bool) -> String {
    let objects: Vec<&StatusRow> = status
        .objects
        .iter()
        .filter(|o| all || o.ready != "True")
        .collect();
    let stores: Vec<&StoreRow> = status
        .stores
        .iter()
        .filter(|s| all || s.ready != "True")
        .collect();
    let mut out = String::new();
    if objects.is_empty() {
        out.push_str(&format!("Objects: all {} Ready.\n", status.objects.len()));
    } else {
        let rows: Vec<Vec<String>> = objects
            .iter()
            .map(|o| {
                vec![
                    o.kind.clone(),
                    o.namespace.clone(),
                    o.name.clone(),
                    o.ready.clone(),
                    if o.reason.is_empty() {
                        "-".into()
                    } else {
                        o.reason.clone()
                    },
                    cell(o.since.as_ref()),
                    cell(o.revision),
                    cell(o.next_rotation.as_ref()),
                    o.message.clone(),
                ]
            })
            .collect();
        out.push_str(&table(
            &[
                "KIND",
                "NAMESPACE",
                "NAME",
                "READY",
                "REASON",
                "SINCE",
                "REVISION",
                "NEXT ROTATION",
                "MESSAGE",
            ],
            &rows,
        ));
    }
    out.push('\n');
    if stores.is_empty() {
        out.push_str(&format!("Stores: all {} Ready.\n", status.stores.len()));
    } else {
        let rows: Vec<Vec<String>> = stores
            .iter()
            .map(|s| {
                vec![
                    s.kind.clone(),
                    if s.namespace.is_empty() {
                        "-".into()
                    } else {
                        s.namespace.clone()
                    },
                    s.name.clone(),
                    s.provider.clone(),
                    s.ready.clone(),
                    if s.reason.is_empty() {
                        "-".into()
                    } else {
                        s.reason.clone()
                    },
                    cell(s.budget.map(|b| format!("{b:.1}"))),
                    s.message.clone(),
                ]
            })
            .collect();
        out.push_str(&table(
            &[
                "KIND",
                "NAMESPACE",
                "NAME",
                "PROVIDER",
                "READY",
                "REASON",
                "BUDGET",
                "MESSAGE",
            ],
            &rows,
        ));
    }
    let next = status
        .objects
        .iter()
        .filter_map(|o| Some((o.next_rotation.as_ref()?, o)))
        .min_by(|a, b| a.0.cmp(b.0));
    if let Some((at, o)) = next {
        out.push_str(&format!(
            "\nNext rotation: {} {}/{} at {at}.\n",
            o.kind, o.namespace, o.name
        ));
    }
    out
}

fn condition_of(
    conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
) -> (String, String, String) {
    match find(conditions, READY) {
        Some(c) => (c.status.clone(), c.reason.clone(), c.message.clone()),
        None => ("Unknown".into(), String::new(), String::new()),
    }
}

fn store_row(
    kind: &str,
    namespace: Option<String>,
    name: String,
    status: Option<&crate::api::SecretStoreStatus>,
) -> StoreRow {
    let status = status.cloned().unwrap_or_default();
    let (ready, reason, message) = condition_of(&status.conditions);
    StoreRow {
        kind: kind.into(),
        namespace: namespace.unwrap_or_default(),
        name,
        provider: status.provider.unwrap_or_else(|| "-".into()),
        ready,
        reason,
        message,
        budget: None,
    }
}

async fn stores(client: &Client, scope: &Scope) -> anyhow::Result<Vec<StoreRow>> {
    let api: Api<SecretStore> = match &scope.namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let mut rows: Vec<StoreRow> = api
        .list(&ListParams::default())
        .await?
        .into_iter()
        .map(|s| {
            store_row(
                "SecretStore",
                s.namespace(),
                s.name_any(),
                s.status.as_ref(),
            )
        })
        .collect();
    let cluster: Api<ClusterSecretStore> = Api::all(client.clone());
    rows.extend(
        cluster
            .list(&ListParams::default())
            .await?
            .into_iter()
            .map(|s| store_row("ClusterSecretStore", None, s.name_any(), s.status.as_ref())),
    );
    Ok(rows)
}

async fn gather(
    client: &Client,
    scope: &Scope,
    kind: Option<&str>,
    metrics: Option<&str>,
) -> anyhow::Result<Status> {
    let mut objects = Vec::new();
    for kind in super::kinds::select(kind).map_err(anyhow::Error::msg)? {
        objects.extend(kind.status(client, scope).await?);
    }
    let mut stores = stores(client, scope).await?;
    if let Some(url) = metrics {
        let text = reqwest::get(url)
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| anyhow::anyhow!("--metrics {url}: {e}"))?
            .text()
            .await?;
        let budgets = budgets(&text);
        for s in &mut stores {
            s.budget = budgets
                .get(&store_label(&s.kind, &s.namespace, &s.name))
                .copied();
        }
    }
    Ok(Status { objects, stores })
}

/// `keyward status`.
pub async fn run(args: StatusArgs) -> anyhow::Result<Outcome> {
    let client = super::client(args.selection.context.as_deref(), "status").await?;
    let scope =
        Scope::new(&args.selection, client.default_namespace(), &[]).map_err(anyhow::Error::msg)?;
    let mut last = String::new();
    loop {
        let status = gather(
            &client,
            &scope,
            args.selection.kind.as_deref(),
            args.metrics.as_deref(),
        )
        .await?;
        let text = match args.output {
            Format::Text => render(&status, args.all),
            Format::Json => serde_json::to_string_pretty(&status)? + "\n",
        };
        if text != last {
            if args.watch && !last.is_empty() {
                println!(
                    "--- {}",
                    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ")
                );
            }
            print!("{text}");
            last = text;
        }
        if !args.watch {
            let failing = status.objects.iter().any(|o| o.ready == "False")
                || status.stores.iter().any(|s| s.ready == "False");
            return Ok(if failing {
                Outcome::Failed
            } else {
                Outcome::Ok
            });
        }
        tokio::time::sleep(args.interval).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_come_from_the_operators_metrics() {
        let text = "# TYPE keyward_budget_tokens gauge\n\
                    keyward_budget_tokens{store=\"SecretStore default/emu\"} 9.5\n\
                    keyward_budget_tokens{store=\"ClusterSecretStore shared\"} -2\n\
                    keyward_sweeps_total{store=\"SecretStore default/emu\",outcome=\"ok\"} 3\n";
        let b = budgets(text);
        assert_eq!(b.len(), 2);
        assert_eq!(b["SecretStore default/emu"], 9.5);
        assert_eq!(b["ClusterSecretStore shared"], -2.0);
        assert_eq!(
            store_label("ClusterSecretStore", "", "shared"),
            "ClusterSecretStore shared"
        );
    }

    #[test]
    fn only_what_is_not_ready_is_listed() {
        let object = |name: &str, ready: &str, reason: &str| StatusRow {
            kind: "ManagedSecret".into(),
            namespace: "default".into(),
            name: name.into(),
            ready: ready.into(),
            reason: reason.into(),
            message: if ready == "True" {
                String::new()
            } else {
                "the key is disabled".into()
            },
            store: "SecretStore default/emu".into(),
            revision: Some(2),
            next_rotation: (name == "ok").then(|| "2026-12-01T00:00:00Z".into()),
            since: Some("2026-11-25T10:00:00Z".into()),
        };
        let status = Status {
            objects: vec![
                object("ok", "True", "Synced"),
                object("db", "False", "KeyUnavailable"),
            ],
            stores: vec![StoreRow {
                kind: "SecretStore".into(),
                namespace: "default".into(),
                name: "emu".into(),
                provider: "scaleway".into(),
                ready: "True".into(),
                reason: "Valid".into(),
                message: String::new(),
                budget: Some(10.0),
            }],
        };
        let text = render(&status, false);
        assert!(
            text.contains("ManagedSecret   default     db     False   KeyUnavailable"),
            "{text}"
        );
        assert!(!text.contains(" ok "), "{text}");
        assert!(text.contains("Stores: all 1 Ready."), "{text}");
        assert!(text.contains("Next rotation: ManagedSecret default/ok at 2026-12-01T00:00:00Z."));
        let all = render(&status, true);
        assert!(all.contains("scaleway   True    Valid    10"), "{all}");
    }
}
