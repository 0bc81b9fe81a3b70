use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand};

use keyward::cli::kinds::Request;

/// Keyward: secrets from a cloud Secret Manager, mirrored into Kubernetes and rotated.
#[derive(Parser)]
#[command(name = "keyward", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the operator.
    Run(keyward::controller::RunArgs),
    /// What the operator would do now with each object, and why (read-only); with -f, check
    /// manifests offline. Exit code 1 when a plan would fail or a manifest is invalid.
    Plan(keyward::cli::plan::PlanArgs),
    /// Rotate now (keyward.dev/rotate) and wait until the new revision is mirrored.
    Rotate(keyward::cli::rotate::RequestArgs),
    /// Read and mirror again now (keyward.dev/force-sync) and wait for the answer.
    Sync(keyward::cli::rotate::RequestArgs),
    /// The objects and stores that are not Ready, and why.
    Status(keyward::cli::status::StatusArgs),
    /// Print the CustomResourceDefinitions as YAML (or write them to a folder).
    Crd(keyward::api::CrdArgs),
    /// Serve a local provider emulator (Scaleway Secret Manager by default).
    Emulator(keyward::emulator::EmulatorArgs),
}

/// The command's name: `kubectl keyward` when kubectl runs this binary as its plugin
/// `kubectl-keyward` (a link or copy of this binary on PATH), else `keyward`.
fn invoked_as() -> &'static str {
    let argv0 = std::env::args_os().next().unwrap_or_default();
    let name = std::path::Path::new(&argv0)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_owned();
    if name.trim_end_matches(".exe") == "kubectl-keyward" {
        "kubectl keyward"
    } else {
        "keyward"
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let matches = Cli::command()
        .name(invoked_as())
        .bin_name(invoked_as())
        .get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let result = match cli.command {
        Command::Run(args) => keyward::controller::run(args).await.map(|()| None),
        Command::Plan(args) => keyward::cli::plan::run(args).await.map(Some),
        Command::Rotate(args) => keyward::cli::rotate::run(args, Request::Rotate)
            .await
            .map(Some),
        Command::Sync(args) => keyward::cli::rotate::run(args, Request::Sync)
            .await
            .map(Some),
        Command::Status(args) => keyward::cli::status::run(args).await.map(Some),
        Command::Crd(args) => keyward::api::crd_command(args).map(|()| None),
        Command::Emulator(args) => keyward::emulator::serve_command(args).await.map(|()| None),
    };
    match result {
        Ok(None) => std::process::ExitCode::SUCCESS,
        Ok(Some(outcome)) => outcome.code(),
        Err(err) => {
            eprintln!("{}: {err:#}", invoked_as());
            // The operator's own failures keep exit code 1; the tools say 2 when they could not run.
            std::process::ExitCode::from(match &matches.subcommand_name() {
                Some("run" | "crd" | "emulator") => 1,
                _ => keyward::cli::CANNOT_RUN,
            })
        }
    }
}
