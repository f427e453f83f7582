//! `authz policy eval`: one event through the authorizer's code path.

use super::{ModuleArgs, engine, load, parse_now, read_json};
use crate::error::CliError;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct EvalArgs {
    #[command(flatten)]
    module: ModuleArgs,
    /// An API Gateway authorizer event (JSON).
    #[arg(long)]
    event: PathBuf,
    /// The clock for the decision: ms since the epoch or RFC 3339 (default: now).
    #[arg(long, value_parser = parse_now)]
    now: Option<u64>,
    /// Header holding the identity in REQUEST events.
    #[arg(long, default_value = "Authorization")]
    identity_header: String,
}

pub fn run(args: EvalArgs) -> Result<ExitCode, CliError> {
    let event = read_json(&args.event)?;
    let engine = engine()?;
    let policy = load(&engine, &args.module)?;
    let now = args.now.unwrap_or_else(authz_engine::now_ms);
    let (_, response) = authz_engine::authorize(&engine, Some(&policy), event, &args.identity_header, now);
    let json = serde_json::to_string_pretty(&response.to_json()).map_err(anyhow::Error::from)?;
    println!("{json}");
    Ok(ExitCode::SUCCESS)
}
