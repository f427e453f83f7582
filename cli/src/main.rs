//! `authz`: build, test, evaluate and publish authorizer policies, and run the
//! API locally. Thin: parses arguments and dispatches; the work is in
//! `authz-engine` and the other libraries, through the same code path as the
//! Lambda authorizer.

mod aws;
mod dev;
mod error;
mod keys;
mod notes;
mod policy;

use clap::{Parser, Subcommand};
use error::CliError;
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "authz", version, about = "WebAssembly policies for API Gateway Lambda authorizers")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build, evaluate and test policy modules.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// Ed25519 keys for signing policy versions.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Run the whole API locally (moto, registry, notes, policy, gateway) from template.yaml.
    Dev(dev::DevArgs),
    /// The sample notes table.
    #[command(subcommand)]
    Notes(notes::NotesCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `authz dev` is a server: show its request log unless told otherwise.
    let default_filter = if matches!(cli.command, Command::Dev(_)) { "info,aws=warn,hyper=warn" } else { "warn" };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("AUTHZ_LOG").unwrap_or_else(|_| default_filter.into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Policy(command) => policy::run(command),
        Command::Keys(command) => keys::run(command),
        Command::Notes(command) => notes::run(command),
        Command::Dev(args) => dev::run(args),
    };
    match result {
        Ok(code) => code,
        Err(CliError::BadInput(message)) => {
            // One line, whatever the underlying error's formatting.
            let message: Vec<&str> = message.split_whitespace().collect();
            eprintln!("error: {}", message.join(" "));
            ExitCode::from(2)
        }
        Err(CliError::Failed(error)) => {
            eprintln!("error: {error:#}");
            ExitCode::from(1)
        }
    }
}
