//! `keyward plan`: what the operator would do now with each object, and why, observed read-only
//! through the same code as the operator (its store runtimes, with their budgets, in read-only
//! mode); or, with `-f`, whether manifests would be admitted and accepted ([`super::validate`]).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context as _;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;

use crate::controller::drift_key::{self, KeySource};
use crate::controller::events::EventRecorder;
use crate::controller::indexes::Index;
use crate::controller::reconcile::{Context, KIND};
use crate::mirror::HmacKey;
use crate::stores::{EndpointPolicy, RuntimeMode, Runtimes};
use crate::telemetry::{Metrics, ObjectReasons};

use super::kinds::PlanEnv;
use super::output::{Format, report_text};
use super::report::PlanReport;
use super::{Outcome, Scope, Selection};

/// Where the chart keeps the drift key (release `keyward` in `keyward-system`).
pub const DEFAULT_DRIFT_KEY_SECRET: &str = "keyward-system/keyward-drift-key:key";

/// Arguments of `keyward plan`.
#[derive(clap::Args, Debug)]
pub struct PlanArgs {
    /// Objects to plan, as NAME or NAMESPACE/NAME (default: every ManagedSecret of the
    /// namespace, or of all namespaces with -A).
    pub objects: Vec<String>,
    #[command(flatten)]
    pub selection: Selection,
    /// Check manifests offline instead (files, folders of *.yaml/*.yml/*.json, or - for stdin):
    /// the CRD schema, its CEL rules and the operator's own checks; no cluster needed.
    #[arg(short = 'f', long = "filename", value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Text)]
    pub output: Format,
    /// The operator's drift key (it judges drift, pushes and restarts as the operator does).
    #[arg(
        long,
        env = "KEYWARD_DATA_HMAC_KEY",
        hide_env_values = true,
        conflicts_with_all = ["data_hmac_key_file", "data_hmac_key_secret"]
    )]
    pub data_hmac_key: Option<String>,
    /// The drift key from a file.
    #[arg(
        long,
        env = "KEYWARD_DATA_HMAC_KEY_FILE",
        value_name = "PATH",
        conflicts_with = "data_hmac_key_secret"
    )]
    pub data_hmac_key_file: Option<PathBuf>,
    /// The drift key from a Secret in the cluster, as NAMESPACE/NAME:KEY.
    #[arg(long, value_name = "NAMESPACE/NAME:KEY", default_value = DEFAULT_DRIFT_KEY_SECRET)]
    pub data_hmac_key_secret: String,
    /// Provider endpoints credentials may be sent to, as for `keyward run`.
    #[arg(long, env = "KEYWARD_ALLOWED_ENDPOINTS", value_delimiter = ',')]
    pub allowed_endpoints: Vec<String>,
    /// The cluster's name in owner marks, as for `keyward run` (default: the kube-system
    /// namespace's uid).
    #[arg(long, env = "KEYWARD_CLUSTER_ID")]
    pub cluster_id: Option<String>,
}

/// `NAMESPACE/NAME:KEY` of a Secret holding the drift key.
fn parse_secret_ref(text: &str) -> anyhow::Result<(String, String, String)> {
    let (place, key) = text.rsplit_once(':').unwrap_or((text, "key"));
    match place.split_once('/') {
        Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !key.is_empty() => {
            Ok((ns.to_owned(), name.to_owned(), key.to_owned()))
        }
        _ => anyhow::bail!("--data-hmac-key-secret {text}: expected NAMESPACE/NAME:KEY"),
    }
}

async fn drift_key(args: &PlanArgs, client: &kube::Client) -> anyhow::Result<HmacKey> {
    let source = match (&args.data_hmac_key, &args.data_hmac_key_file) {
        (Some(value), _) => KeySource::Value(value),
        (None, Some(path)) => KeySource::File {
            path,
            optional: false,
        },
        (None, None) => KeySource::Random,
    };
    if let Some(key) = drift_key::load(source)? {
        return Ok(key);
    }
    let (ns, name, key) = parse_secret_ref(&args.data_hmac_key_secret)?;
    let secret = Api::<Secret>::namespaced(client.clone(), &ns)
        .get_opt(&name)
        .await
        .with_context(|| format!("reading the drift key Secret {ns}/{name}"))?;
    let bytes = secret
        .and_then(|s| s.data)
        .and_then(|mut d| d.remove(&key))
        .map(|b| b.0);
    match bytes {
        Some(bytes) => Ok(drift_key::key_from_file_content(
            std::path::Path::new(&format!("Secret {ns}/{name} key {key}")),
            bytes,
        )?),
        None => anyhow::bail!(
            "keyward plan needs the operator's drift key to judge drift, pushes and restarts as the operator does: \
             Secret {ns}/{name} has no key {key:?}; pass --data-hmac-key-file, --data-hmac-key \
             (KEYWARD_DATA_HMAC_KEY) or --data-hmac-key-secret NAMESPACE/NAME:KEY"
        ),
    }
}

/// The operator's context, for read-only use: store runtimes whose clients refuse writes.
async fn read_only_context(args: &PlanArgs, client: kube::Client) -> anyhow::Result<Context> {
    let hmac = drift_key(args, &client).await?;
    let endpoints = EndpointPolicy::parse(args.allowed_endpoints.iter().map(String::as_str))
        .map_err(|e| anyhow::anyhow!("--allowed-endpoints: {e}"))?;
    let cluster_id = crate::controller::cluster_id(&client, args.cluster_id.as_deref()).await?;
    let metrics = Metrics::new();
    // Nobody listens to wake-ups: a read-only runtime has no objects registered.
    let (wake, _) = tokio::sync::mpsc::unbounded_channel();
    Ok(Context {
        events: EventRecorder::new(client.clone(), "keyward-plan", None),
        client,
        hmac,
        runtimes: Runtimes::new(
            wake,
            metrics.clone(),
            RuntimeMode {
                batched: true,
                read_only: true,
            },
            endpoints,
        ),
        index: Index::default(),
        reasons: ObjectReasons::new(KIND, metrics.clone()),
        store_reasons: crate::telemetry::StoreReasons::new(metrics.clone()),
        metrics,
        cluster_id,
        namespaces: Vec::new(),
        crash_after: None,
        consumers: crate::rollout::consumers::Consumers::default(),
        restarts: Arc::new(crate::rollout::limiter::RestartLimiter::new(0)),
        own_writes: Default::default(),
    })
}

/// `keyward plan`.
pub async fn run(args: PlanArgs) -> anyhow::Result<Outcome> {
    if !args.files.is_empty() {
        if !args.objects.is_empty() {
            anyhow::bail!("-f checks files; name no objects with it");
        }
        return super::validate::run(&args.files, args.output);
    }
    let client = super::client(args.selection.context.as_deref(), "plan").await?;
    let scope = Scope::new(&args.selection, client.default_namespace(), &args.objects)
        .map_err(anyhow::Error::msg)?;
    let env = PlanEnv {
        ctx: Arc::new(read_only_context(&args, client).await?),
    };
    let mut objects = Vec::new();
    for kind in super::kinds::select(args.selection.kind.as_deref()).map_err(anyhow::Error::msg)? {
        objects.extend(kind.plan(&env, &scope).await?);
    }
    for (ns, name) in &scope.names {
        if !objects
            .iter()
            .any(|o| o.namespace == *ns && o.name == *name)
        {
            anyhow::bail!("{ns}/{name}: no such object");
        }
    }
    let report = PlanReport::new(objects);
    match args.output {
        Format::Text => print!("{}", report_text(&report)),
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    Ok(if report.summary.fail > 0 {
        Outcome::Failed
    } else {
        Outcome::Ok
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_drift_key_secret_is_named_with_its_key() {
        assert_eq!(
            parse_secret_ref(DEFAULT_DRIFT_KEY_SECRET).unwrap(),
            (
                "keyward-system".into(),
                "keyward-drift-key".into(),
                "key".into()
            )
        );
        assert_eq!(parse_secret_ref("ns/s").unwrap().2, "key");
        assert!(parse_secret_ref("s:key").is_err());
    }
}
