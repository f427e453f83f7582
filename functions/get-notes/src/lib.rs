//! The sample notes API's `getNotes` Lambda (REST API proxy integration,
//! `GET /notes`), behind the authorizer.
//!
//! - [`handle`] turns an API Gateway proxy event into a JSON response. It only
//!   reaches storage through the [`NotesRepo`] trait, so it is tested with the
//!   in-memory [`MemoryNotes`] and runs in production on [`DynamoNotes`].
//! - The caller is the authorizer's `principalId`; a caller reads only their
//!   own notes unless the authorizer context grants `notesReadAny`.
//! - [`dynamodb_client`] builds the DynamoDB client with bounded timeouts and
//!   retries; the binary, the tests and `authz notes seed` all use it.
//! - [`seed`] creates the `notesTable` and loads the sample notes.
//!
//! The binary (`src/main.rs`) only reads [`Config`], builds the client once
//! and hands every event to [`handle_event`].
#![deny(missing_docs)]

mod config;
mod dynamo;
mod handler;
mod memory;
mod repo;
pub mod seed;
mod token;

pub use config::{Config, ConfigError};
pub use dynamo::DynamoNotes;
pub use handler::{
    App, DEFAULT_LIMIT, ErrorBody, ListedNote, MAX_ID_CHARS, MAX_LIMIT, NoteList, NoteResponse, READ_ANY_KEY, handle,
    handle_event,
};
pub use memory::MemoryNotes;
pub use repo::{Note, NotesRepo, Page, PageKey, RepoError};

use std::time::Duration;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// How long a TCP connection to DynamoDB may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long one attempt of a DynamoDB call may take.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a DynamoDB call may take, retries included.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts per DynamoDB call (the first one included).
pub const MAX_ATTEMPTS: u32 = 2;

/// Builds the DynamoDB client from the shared SDK configuration, with bounded
/// timeouts ([`CONNECT_TIMEOUT`], [`ATTEMPT_TIMEOUT`], [`OPERATION_TIMEOUT`])
/// and standard retries ([`MAX_ATTEMPTS`]), so a table that does not answer
/// costs a few seconds and a clean 5xx, never the SDK defaults' long waits.
///
/// Region, credentials and the endpoint come from `sdk` as usual; in
/// production that is the environment (`AWS_ENDPOINT_URL` points it at a
/// local stand-in). Build the client once and share it.
pub fn dynamodb_client(sdk: &aws_config::SdkConfig) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::config::Builder::from(sdk)
        .timeout_config(
            aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        )
        .retry_config(aws_sdk_dynamodb::config::retry::RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// The function's log format: one JSON object per line, without timestamps
/// (CloudWatch adds them), with the current span and its parents, so every
/// line carries the Lambda `requestId` (the runtime's span) and API Gateway's
/// `api_request_id` (the handler's span). The handler never logs headers,
/// tokens or note text.
pub fn json_logs<W>(writer: W, filter: EnvFilter) -> impl tracing::Subscriber + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(true)
        .without_time()
        .with_writer(writer)
        .finish()
}
