//! The API Gateway Lambda authorizer: a thin `lambda_runtime` shell around
//! `authz-engine`. Configuration is read once; the engine and the policy are
//! built once per execution environment; every event (REST, HTTP API,
//! WebSocket) goes through [`authz_engine::authorize_with`], so it decides
//! exactly as `authz policy eval`.

mod config;

use authz_engine::{CodeCache, Engine, Policy};
use authz_registry::{PolicyWatcher, Registry, RegistryConfig, WatchConfig};
use config::{Config, PolicySource};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;

/// The error API Gateway turns into a 401: its message must be exactly `Unauthorized`.
#[derive(Debug, thiserror::Error)]
#[error("Unauthorized")]
struct Unauthorized;

impl From<Unauthorized> for Diagnostic {
    fn from(_: Unauthorized) -> Self {
        Diagnostic { error_type: "Unauthorized".to_owned(), error_message: "Unauthorized".to_owned() }
    }
}

/// Where decisions get their policy.
enum Source {
    /// Loaded once at start-up (`None`: it failed to load, every request is denied).
    Fixed(Option<Arc<Policy>>),
    /// The registry's active version, followed by a watcher.
    Registry(Arc<PolicyWatcher>),
}

impl Source {
    async fn start(engine: &Arc<Engine>, source: &PolicySource) -> Source {
        match source {
            PolicySource::File { module, config } => Source::Fixed(load_file(engine, module, config).map(Arc::new)),
            PolicySource::Registry(r) => {
                let sdk = authz_registry::sdk_config(None).await;
                let registry = Registry::new(
                    &sdk,
                    RegistryConfig { bucket: r.bucket.clone(), table: r.table.clone(), path_style: r.path_style },
                );
                let cache = r.cache_dir.as_ref().and_then(|dir| {
                    CodeCache::new(dir)
                        .map_err(|e| tracing::warn!(error = %e, dir = %dir.display(), "no compiled-code cache"))
                        .ok()
                });
                let watch = WatchConfig {
                    policy: r.policy.clone(),
                    check_interval: r.check_interval,
                    trusted_keys: r.trusted_keys.clone(),
                    cache,
                };
                let watcher = Arc::new(PolicyWatcher::new(Arc::clone(engine), registry, watch));
                // Cold start: load the active version before the first request.
                // Failing that, requests are denied until a check succeeds.
                watcher.check().await;
                Source::Registry(watcher)
            }
        }
    }

    /// The policy for one decision. With the registry, a due check runs
    /// first, inline: Lambda freezes the process between invocations, so a
    /// background check would stall and trip its own timeouts. It costs one
    /// GetItem per interval (a download and compile only when the version
    /// changed), bounded by the SDK timeouts when the registry is down.
    async fn current(&self) -> Option<Arc<Policy>> {
        match self {
            Source::Fixed(policy) => policy.clone(),
            Source::Registry(watcher) => {
                watcher.check_if_due().await;
                watcher.current().map(|active| Arc::clone(&active.policy))
            }
        }
    }
}

/// Loads a policy from files. A failure is logged and leaves the authorizer
/// without a policy: every request is then denied (fail closed), not crashed on.
fn load_file(engine: &Engine, module: &Path, config: &Path) -> Option<Policy> {
    let loaded =
        std::fs::read(module).map_err(|e| format!("cannot read `{}`: {e}", module.display())).and_then(|bytes| {
            let config =
                std::fs::read_to_string(config).map_err(|e| format!("cannot read `{}`: {e}", config.display()))?;
            let name = module.file_name().map(|n| n.to_string_lossy().into_owned());
            engine.load(&bytes, &config, name).map_err(|e| e.to_string())
        });
    match loaded {
        Ok(policy) => {
            tracing::info!(policy_sha256 = %policy.id().sha256, policy_version = policy.id().version.as_deref(), "policy loaded");
            Some(policy)
        }
        Err(error) => {
            tracing::error!(%error, "no policy could be loaded: every request will be denied");
            None
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_current_span(true)
        .with_span_list(false)
        .without_time()
        .init();
    let config = Config::from_env(|k| std::env::var(k).ok())?;
    let engine = Engine::new(config.limits.clone())?;
    let source = Arc::new(Source::start(&engine, &config.source).await);
    let settings = Arc::new(config.settings);

    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let engine = Arc::clone(&engine);
        let source = Arc::clone(&source);
        let settings = Arc::clone(&settings);
        async move {
            let policy = source.current().await;
            let (_, response) = authz_engine::authorize_with(
                &engine,
                policy.as_deref(),
                event.payload,
                &settings,
                authz_engine::now_ms(),
            );
            response.document().ok_or(Unauthorized)
        }
    }))
    .await
}
