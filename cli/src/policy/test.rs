//! `authz policy test`: run a cases file, one line per case, then a summary.

use super::{ModuleArgs, cases, engine, load, parse_response_format};
use crate::error::CliError;
use authz_engine::ResponseFormat;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct TestArgs {
    #[command(flatten)]
    module: ModuleArgs,
    /// The cases file (JSON).
    #[arg(long)]
    cases: PathBuf,
    /// How HTTP API payload 2.0 events are answered: `iam` or `simple`
    /// (as the authorizer's `AUTHZ_RESPONSE_FORMAT`).
    #[arg(long, default_value = "iam", value_parser = parse_response_format)]
    response_format: ResponseFormat,
}

/// Counts of a run.
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
}

/// Runs every case with IAM policy answers, printing one line each; used by `publish`.
pub fn run_cases(engine: &authz_engine::Engine, policy: &authz_engine::Policy, file: &cases::CasesFile) -> Summary {
    run_cases_as(engine, policy, file, ResponseFormat::Iam)
}

/// [`run_cases`], answering HTTP API 2.0 events in `format`.
pub fn run_cases_as(
    engine: &authz_engine::Engine,
    policy: &authz_engine::Policy,
    file: &cases::CasesFile,
    format: ResponseFormat,
) -> Summary {
    let mut summary = Summary { passed: 0, failed: 0 };
    for case in &file.cases {
        match file.run(engine, policy, case, format) {
            Ok(()) => {
                summary.passed += 1;
                println!("ok    {}", case.name);
            }
            Err(reason) => {
                summary.failed += 1;
                println!("FAIL  {}: {reason}", case.name);
            }
        }
    }
    println!("{} passed, {} failed", summary.passed, summary.failed);
    summary
}

pub fn run(args: TestArgs) -> Result<ExitCode, CliError> {
    let file = cases::load(&args.cases)?;
    let engine = engine()?;
    let policy = load(&engine, &args.module)?;
    let summary = run_cases_as(&engine, &policy, &file, args.response_format);
    Ok(if summary.failed == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
