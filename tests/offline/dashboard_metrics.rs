//! The Grafana dashboard and the PrometheusRule the chart ships use only metrics the operator
//! serves: every `keyward_*` series in their queries is one the operator's registry registers
//! (`Metrics::series_names`, the names `/metrics` serves once a family has samples), and they
//! cover what they are for (provider calls, budgets, sweeps, rotations, rollouts, objects by
//! Ready reason; store not Ready, objects failing, budget exhausted).

use std::collections::BTreeSet;

use keyward::telemetry::Metrics;

use crate::support::chart::render;

/// The `keyward_*` identifiers of a PromQL expression (label values are quoted, so skipped).
fn metrics_in(expr: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut quoted = false;
    let mut word = String::new();
    for c in expr.chars().chain(std::iter::once(' ')) {
        if c == '"' {
            quoted = !quoted;
        }
        if !quoted && (c.is_ascii_alphanumeric() || c == '_') {
            word.push(c);
        } else {
            if word.starts_with("keyward_") {
                found.insert(std::mem::take(&mut word));
            }
            word.clear();
        }
    }
    found
}

#[test]
fn every_metric_the_dashboard_and_the_rules_use_is_served() {
    let served: BTreeSet<String> = Metrics::new().series_names().into_iter().collect();
    let docs = render(
        None,
        &[
            "grafanaDashboard.enabled=true",
            "prometheusRule.enabled=true",
        ],
    );
    let kind = |k: &str| {
        docs.iter()
            .filter(|d| d["kind"].as_str() == Some(k))
            .collect::<Vec<_>>()
    };
    let maps = kind("ConfigMap");
    let dashboard: serde_json::Value = serde_json::from_str(
        maps.iter()
            .find_map(|m| m["data"]["keyward.json"].as_str())
            .expect("the dashboard ConfigMap"),
    )
    .expect("the dashboard is JSON");
    assert_eq!(
        maps[0]["metadata"]["labels"]["grafana_dashboard"].as_str(),
        Some("1")
    );
    let mut queries: Vec<(String, String)> = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            queries.push((
                format!("panel {}", panel["title"]),
                target["expr"].as_str().unwrap().to_owned(),
            ));
        }
    }
    let variable = &dashboard["templating"]["list"][1]["definition"];
    queries.push(("variable job".into(), variable.as_str().unwrap().to_owned()));
    let rules = kind("PrometheusRule");
    assert_eq!(rules.len(), 1);
    let mut alerts = Vec::new();
    for group in rules[0]["spec"]["groups"].as_sequence().unwrap() {
        for rule in group["rules"].as_sequence().unwrap() {
            let alert = rule["alert"].as_str().unwrap().to_owned();
            queries.push((
                format!("alert {alert}"),
                rule["expr"].as_str().unwrap().to_owned(),
            ));
            alerts.push(alert);
        }
    }
    let mut used = BTreeSet::new();
    for (what, expr) in &queries {
        let names = metrics_in(expr);
        assert!(!names.is_empty(), "{what}: no keyward metric in {expr}");
        for name in names {
            assert!(
                served.contains(&name),
                "{what}: {name} is not served; the operator serves {served:?}"
            );
            used.insert(name);
        }
    }
    for topic in [
        "keyward_provider_calls_total",
        "keyward_budget_tokens",
        "keyward_budget_refusals_total",
        "keyward_sweeps_total",
        "keyward_rotations_total",
        "keyward_workload_restarts_total",
        "keyward_objects",
    ] {
        assert!(used.contains(topic), "nothing shows {topic}");
    }
    assert_eq!(
        alerts,
        [
            "KeywardStoreNotReady",
            "KeywardObjectsFailing",
            "KeywardBudgetExhausted"
        ]
    );
    eprintln!(
        "{} queries ({} panels' targets, {} alerts) use {} of the {} series the operator serves: {used:?}",
        queries.len(),
        queries.len() - alerts.len() - 1,
        alerts.len(),
        used.len(),
        served.len()
    );
}

#[test]
fn metric_names_are_found_outside_quotes_only() {
    assert_eq!(
        metrics_in(
            r#"sum by (store) (rate(keyward_sweeps_total{store="keyward_x"}[5m])) / keyward_leader"#
        ),
        BTreeSet::from([
            "keyward_sweeps_total".to_string(),
            "keyward_leader".to_string()
        ])
    );
}
