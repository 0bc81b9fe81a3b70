use clap::{Parser, Subcommand};

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
    /// Print the CustomResourceDefinitions as YAML (or write them to a folder).
    Crd(keyward::api::CrdArgs),
    /// Serve a local provider emulator (Scaleway Secret Manager by default).
    Emulator(keyward::emulator::EmulatorArgs),
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => keyward::controller::run(args).await,
        Command::Crd(args) => keyward::api::crd_command(args),
        Command::Emulator(args) => keyward::emulator::serve_command(args).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("keyward: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
