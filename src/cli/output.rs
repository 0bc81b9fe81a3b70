//! Text output of the commands, pure: tables aligned as kubectl aligns them (columns padded to
//! their widest cell, three spaces apart, no trailing spaces), the plan of each object with its
//! steps, and the summary line. `-o json` is serde's rendering of the same data.

use super::report::{ObjectPlan, PlanReport, Summary, Verdict};

/// `-o` of the commands.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    #[default]
    Text,
    Json,
}

/// A table with a header row, as kubectl prints it.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let columns = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(columns) {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate().take(columns) {
            if i + 1 == columns {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                let pad = widths[i] - cell.chars().count() + 3;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The summary line.
pub fn summary_line(summary: &Summary) -> String {
    format!(
        "Plan: {} object{}: {} in sync, {} to change, {} waiting, {} would fail.",
        summary.objects,
        if summary.objects == 1 { "" } else { "s" },
        summary.in_sync,
        summary.change,
        summary.wait,
        summary.fail
    )
}

fn headline(plan: &ObjectPlan) -> String {
    let what = match plan.verdict {
        Verdict::InSync => "in sync, nothing to do".to_owned(),
        Verdict::Change => match plan.steps.len() + plan.then.len() {
            1 => "1 step".to_owned(),
            n => format!("{n} steps"),
        },
        // Ready, and a rollout of its workloads still going on.
        Verdict::Wait if plan.reason == "Synced" => "waits for its rollout".to_owned(),
        Verdict::Wait => format!("waits ({})", plan.reason),
        Verdict::Fail => format!("would fail ({})", plan.reason),
    };
    format!("{} {}/{}: {what}", plan.kind, plan.namespace, plan.name)
}

/// One object's plan in words.
pub fn object_text(plan: &ObjectPlan) -> String {
    let mut out = headline(plan);
    out.push('\n');
    let width = plan
        .steps
        .iter()
        .chain(&plan.then)
        .map(|s| s.action.len())
        .max()
        .unwrap_or(0);
    for (i, s) in plan.steps.iter().enumerate() {
        out.push_str(&format!(
            "  {}. {:width$}  {}\n",
            i + 1,
            s.action,
            s.description
        ));
    }
    for s in &plan.then {
        out.push_str(&format!("  then {:width$}  {}\n", s.action, s.description));
    }
    let ends = match plan.verdict {
        Verdict::Fail => "fails",
        Verdict::Wait => "waits",
        _ => "ends",
    };
    out.push_str(&format!("  {ends}: {}: {}\n", plan.reason, plan.message));
    for note in &plan.notes {
        out.push_str(&format!("  note: {note}\n"));
    }
    out
}

/// The whole report in words: each object, a blank line between them, the summary last.
pub fn report_text(report: &PlanReport) -> String {
    let mut out = String::new();
    for plan in &report.objects {
        out.push_str(&object_text(plan));
        out.push('\n');
    }
    out.push_str(&summary_line(&report.summary));
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::report::PlannedStep;

    #[test]
    fn tables_align_like_kubectl() {
        let text = table(
            &["NAMESPACE", "NAME", "READY"],
            &[
                vec!["default".into(), "app-password".into(), "True".into()],
                vec!["team-a".into(), "db".into(), "False".into()],
            ],
        );
        assert_eq!(
            text,
            "NAMESPACE   NAME           READY\n\
             default     app-password   True\n\
             team-a      db             False\n"
        );
    }

    #[test]
    fn an_object_reads_step_by_step() {
        let step = |a: &str, d: &str| PlannedStep {
            action: a.into(),
            description: d.into(),
        };
        let plan = ObjectPlan {
            kind: "ManagedSecret".into(),
            namespace: "default".into(),
            name: "db".into(),
            verdict: Verdict::Change,
            steps: vec![
                step("CreateVersion", "create a new version"),
                step("ApplyTarget", "mirror the new version into Secret db"),
            ],
            then: vec![step("Restart", "restart Deployment api")],
            reason: "Synced".into(),
            message: "remote secret in step with Secret db".into(),
            notes: vec!["next rotation at 2026-12-01T00:00:00Z".into()],
        };
        assert_eq!(
            object_text(&plan),
            "ManagedSecret default/db: 3 steps\n\
             \x20 1. CreateVersion  create a new version\n\
             \x20 2. ApplyTarget    mirror the new version into Secret db\n\
             \x20 then Restart        restart Deployment api\n\
             \x20 ends: Synced: remote secret in step with Secret db\n\
             \x20 note: next rotation at 2026-12-01T00:00:00Z\n"
        );
        let report = PlanReport::new(vec![plan]);
        assert!(
            report_text(&report)
                .ends_with("Plan: 1 object: 0 in sync, 1 to change, 0 waiting, 0 would fail.\n")
        );
    }
}
