//! `authz notes seed`: the sample notes table, like the tutorial's.

use crate::aws::{AwsArgs, block_on};
use crate::error::CliError;
use clap::{Args, Subcommand};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum NotesCommand {
    /// Create the notes table if missing and load the sample notes (idempotent).
    Seed(SeedArgs),
}

#[derive(Args)]
pub struct SeedArgs {
    /// The notes table.
    #[arg(long, env = "NOTES_TABLE", default_value = "notesTable")]
    table: String,
    #[command(flatten)]
    aws: AwsArgs,
}

pub fn run(command: NotesCommand) -> Result<ExitCode, CliError> {
    let NotesCommand::Seed(args) = command;
    block_on(async {
        let sdk = args.aws.sdk_config().await;
        let client = get_notes::dynamodb_client(&sdk);
        let created =
            get_notes::seed::ensure_table(&client, &args.table).await.map_err(|e| CliError::Failed(e.into()))?;
        let count = get_notes::seed::seed(&client, &args.table).await.map_err(|e| CliError::Failed(e.into()))?;
        println!("{} `{}`; {count} sample notes loaded", if created { "created" } else { "found" }, args.table);
        Ok(ExitCode::SUCCESS)
    })?
}
