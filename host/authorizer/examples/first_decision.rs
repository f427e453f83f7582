//! Cold start and footprint of the authorizer, for `scripts/bench`.
//!
//! The real binary needs the Lambda Runtime API; this one runs the same
//! start-up (`Authorizer::start`: config, engine, registry watcher, first
//! check) and the same per-invocation work (`handle`, then `tidy`) on the
//! event in `EVENT_FILE`, `N` times, prints the last response and exits.
//!
//! Usage: `first_decision EVENT_FILE [N]` with the authorizer's environment
//! (`AUTHZ_POLICY_NAME`, `AUTHZ_REGISTRY_BUCKET`, `AWS_ENDPOINT_URL`, ...).
#![allow(clippy::print_stdout, missing_docs)]

use authz_authorizer::{Authorizer, config, config::Config, init_logging};

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let event_file = args.next().ok_or_else(|| anyhow::anyhow!("usage: first_decision EVENT_FILE [N]"))?;
    let decisions: u64 = args.next().map_or(Ok(1), |n| n.parse())?;
    let event: Box<serde_json::value::RawValue> = serde_json::from_slice(&std::fs::read(&event_file)?)?;

    // From here on, as src/main.rs, with each invocation's response printed
    // instead of posted, then tidied as after posting.
    init_logging();
    let config = Config::from_env(|k| std::env::var(k).ok())?;
    anyhow::ensure!(
        matches!(config.source, config::PolicySource::Registry(_)),
        "first_decision measures the registry source: set AUTHZ_POLICY_NAME"
    );
    let authorizer = Authorizer::start(config).await?;
    let mut last = None;
    for _ in 0..decisions {
        last = Some(authorizer.handle(&event).await);
        authorizer.tidy();
    }
    println!("{}", serde_json::to_string(&last.and_then(Result::ok))?);
    Ok(())
}
