//! `authz policy ...`

mod build;
pub mod cases;
mod eval;
mod new;
mod registry;
pub mod test;

pub use build::build as build_crate;

use crate::error::{CliError, bad_input};
use authz_engine::{Engine, Limits, Policy};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Create a policy crate: an example rule, config, cases and unit tests.
    New(new::NewArgs),
    /// Build a policy crate into a component; print its path, size and sha256.
    Build(build::BuildArgs),
    /// Print exactly what the Lambda authorizer would return for one event.
    Eval(eval::EvalArgs),
    /// Run a cases file against a policy; exit 1 if any case fails.
    Test(test::TestArgs),
    /// Check a module (world, config, cases), sign it and store it as a new version in the registry.
    Publish(registry::PublishArgs),
    /// Make a published version the active one.
    Activate(registry::ActivateArgs),
    /// Return to the version that was active before the current one.
    Rollback(registry::RollbackArgs),
    /// Versions, the active one, and every change.
    History(registry::HistoryArgs),
}

pub fn run(command: PolicyCommand) -> Result<ExitCode, CliError> {
    match command {
        PolicyCommand::New(args) => new::run(args),
        PolicyCommand::Build(args) => build::run(args),
        PolicyCommand::Eval(args) => eval::run(args),
        PolicyCommand::Test(args) => test::run(args),
        PolicyCommand::Publish(args) => registry::publish(args),
        PolicyCommand::Activate(args) => registry::activate(args),
        PolicyCommand::Rollback(args) => registry::rollback(args),
        PolicyCommand::History(args) => registry::history(args),
    }
}

/// A policy module and its configuration, as given on the command line.
#[derive(Args)]
pub struct ModuleArgs {
    /// The policy component (`.wasm`).
    pub module: PathBuf,
    /// The policy's JSON configuration document.
    #[arg(long)]
    pub config: PathBuf,
}

/// Reads a file, or explains in one line why not.
pub fn read(path: &Path) -> Result<Vec<u8>, CliError> {
    std::fs::read(path).map_err(|e| bad_input(format!("cannot read `{}`: {e}", path.display())))
}

/// Reads and parses a JSON file, or explains in one line why not.
pub fn read_json(path: &Path) -> Result<serde_json::Value, CliError> {
    let bytes = read(path)?;
    serde_json::from_slice(&bytes).map_err(|e| bad_input(format!("`{}` is not valid JSON: {e}", path.display())))
}

/// Loads a module with its config through the engine, as the authorizer does.
pub fn load(engine: &Engine, args: &ModuleArgs) -> Result<Policy, CliError> {
    let bytes = read(&args.module)?;
    let config = read_json(&args.config)?.to_string();
    let name = args.module.file_name().map(|n| n.to_string_lossy().into_owned());
    engine.load(&bytes, &config, name).map_err(|e| bad_input(format!("`{}`: {e}", args.module.display())))
}

/// The engine with the same limits the authorizer uses by default.
pub fn engine() -> Result<std::sync::Arc<Engine>, CliError> {
    Engine::new(Limits::default()).map_err(|e| CliError::Failed(e.into()))
}

/// Parses `--response-format`.
pub fn parse_response_format(value: &str) -> Result<authz_engine::ResponseFormat, String> {
    value.parse().map_err(|e: authz_engine::outcome::UnknownResponseFormat| e.to_string())
}

/// Parses `--now`: milliseconds since the epoch, or an RFC 3339 time.
pub fn parse_now(value: &str) -> Result<u64, String> {
    if let Ok(ms) = value.parse::<u64>() {
        return Ok(ms);
    }
    let time = humantime::parse_rfc3339_weak(value)
        .map_err(|e| format!("`{value}` is neither milliseconds since the epoch nor an RFC 3339 time: {e}"))?;
    time.duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .map_err(|_| format!("`{value}` is before 1970"))
}
