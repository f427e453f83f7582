//! Cold start and footprint of the authorizer, for `scripts/bench`.
//!
//! The real binary needs the Lambda Runtime API; this one does exactly what
//! `src/main.rs` does before its first invocation (tracing set-up, config from
//! the environment through the same `config.rs`, `Engine::new`, and for a
//! registry policy: SDK config, `Registry`, code cache, `PolicyWatcher`,
//! `check()`), then decides the event in `EVENT_FILE` the way each invocation
//! does (`check_if_due`, `current`, `authorize_with`) `N` times, prints the
//! last response and exits. Keep it in step with `src/main.rs`.
//!
//! Usage: `first_decision EVENT_FILE [N]` with the authorizer's environment
//! (`AUTHZ_POLICY_NAME`, `AUTHZ_REGISTRY_BUCKET`, `AWS_ENDPOINT_URL`, ...).
#![allow(clippy::print_stdout, missing_docs)]

#[allow(dead_code)]
#[path = "../src/config.rs"]
mod config;

use authz_engine::{CodeCache, Engine};
use authz_registry::{PolicyWatcher, Registry, RegistryConfig, WatchConfig};
use config::{Config, PolicySource};
use std::sync::Arc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let event_file = args.next().ok_or_else(|| anyhow::anyhow!("usage: first_decision EVENT_FILE [N]"))?;
    let decisions: u64 = args.next().map_or(Ok(1), |n| n.parse())?;
    let event: serde_json::Value = serde_json::from_slice(&std::fs::read(&event_file)?)?;

    // From here on, as src/main.rs.
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_current_span(true)
        .with_span_list(false)
        .without_time()
        .init();
    let config = Config::from_env(|k| std::env::var(k).ok())?;
    let engine = Engine::new(config.limits.clone())?;
    let PolicySource::Registry(r) = &config.source else {
        anyhow::bail!("first_decision measures the registry source: set AUTHZ_POLICY_NAME");
    };
    // Source::start, registry branch.
    let sdk = authz_registry::sdk_config(None).await;
    let registry = Registry::new(
        &sdk,
        RegistryConfig { bucket: r.bucket.clone(), table: r.table.clone(), path_style: r.path_style },
    );
    let cache = r.cache_dir.as_ref().and_then(|dir| {
        CodeCache::new(dir).map_err(|e| tracing::warn!(error = %e, dir = %dir.display(), "no compiled-code cache")).ok()
    });
    let watch = WatchConfig {
        policy: r.policy.clone(),
        check_interval: r.check_interval,
        trusted_keys: r.trusted_keys.clone(),
        cache,
    };
    let watcher = Arc::new(PolicyWatcher::new(Arc::clone(&engine), registry, watch));
    watcher.check().await;
    let settings = Arc::new(config.settings);

    // Each invocation: Source::current, registry branch, then authorize_with.
    let mut last = None;
    for _ in 0..decisions {
        watcher.check_if_due().await;
        let policy = watcher.current().map(|active| Arc::clone(&active.policy));
        let (_, response) =
            authz_engine::authorize_with(&engine, policy.as_deref(), event.clone(), &settings, authz_engine::now_ms());
        last = Some(response);
    }
    let document = last.and_then(|r| r.document());
    println!("{}", serde_json::to_string(&document)?);
    Ok(())
}
