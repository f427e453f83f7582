//! The `getNotes` Lambda binary: reads [`get_notes::Config`] and the AWS SDK
//! configuration once, builds the DynamoDB client once, and answers every
//! event with [`get_notes::handle_event`].
// The runtime's service stack around the SDK futures nests deeper than rustc's
// default layout-query limit.
#![recursion_limit = "256"]

use get_notes::{App, Config, DynamoNotes};
use lambda_runtime::{LambdaEvent, service_fn};
use serde_json::Value;
use std::convert::Infallible;
use std::sync::Arc;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::util::SubscriberInitExt as _;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    // Log level from `RUST_LOG`, default `info`.
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    get_notes::json_logs(std::io::stdout, filter).try_init()?;
    let config = Config::from_env(|k| std::env::var(k).ok())?;
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let repo = DynamoNotes::new(get_notes::dynamodb_client(&sdk), config.table);
    tracing::info!(table = repo.table(), "getNotes ready");
    let app = Arc::new(App::new(repo));

    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let app = Arc::clone(&app);
        async move { Ok::<_, Infallible>(get_notes::handle_event(&app, event.payload).await) }
    }))
    .await
}
