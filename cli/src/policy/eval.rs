//! `authz policy eval`: one event through the authorizer's code path.

use super::{ModuleArgs, engine, load, parse_now, parse_response_format, read_json};
use crate::error::CliError;
use authz_engine::{ResponseFormat, Settings};
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
    /// Header holding the identity in every event but TOKEN.
    #[arg(long, default_value = "Authorization")]
    identity_header: String,
    /// How HTTP API payload 2.0 events are answered: `iam` or `simple`
    /// (as the authorizer's `AUTHZ_RESPONSE_FORMAT`).
    #[arg(long, default_value = "iam", value_parser = parse_response_format)]
    response_format: ResponseFormat,
}

pub fn run(args: EvalArgs) -> Result<ExitCode, CliError> {
    let event = read_json(&args.event)?;
    let engine = engine()?;
    let policy = load(&engine, &args.module)?;
    let now = args.now.unwrap_or_else(authz_engine::now_ms);
    let settings = Settings { identity_header: args.identity_header, response_format: args.response_format };
    let (_, response) = authz_engine::authorize_with(&engine, Some(&policy), event, &settings, now);
    let json = serde_json::to_string_pretty(&response.to_json()).map_err(anyhow::Error::from)?;
    println!("{json}");
    Ok(ExitCode::SUCCESS)
}
