//! The authorizer's start-up and per-invocation work, shared by the Lambda
//! binary (`src/main.rs`) and the cold-start benchmark
//! (`examples/first_decision.rs`), so the benchmark times the same code.
//!
//! Configuration is read once; the engine and the policy are built once per
//! execution environment; every event (REST, HTTP API, WebSocket) goes
//! through the engine's `authorize_json` (the raw-JSON form of
//! `authorize_with`), so it decides exactly as `authz policy eval`.

pub mod config;

// The process's allocator, in the library so that the Lambda binary and the
// cold-start benchmark run on the same one.
use authz_allocator as _;

use authz_engine::{AuthorizerResponse, CodeCache, Engine, Policy, Settings};
use authz_registry::{Lease, PolicyWatcher, Registry, RegistryConfig, WatchConfig};
use config::{Config, PolicySource};
use serde_json::value::RawValue;
use std::path::Path;
use std::sync::Arc;

/// The error API Gateway turns into a 401: its message must be exactly `Unauthorized`.
#[derive(Debug, thiserror::Error)]
#[error("Unauthorized")]
pub struct Unauthorized;

impl From<Unauthorized> for lambda_runtime::Diagnostic {
    fn from(_: Unauthorized) -> Self {
        lambda_runtime::Diagnostic { error_type: "Unauthorized".to_owned(), error_message: "Unauthorized".to_owned() }
    }
}

/// Where decisions get their policy.
enum Source {
    /// Loaded once at start-up (`None`: it failed to load, every request is denied).
    Fixed(Option<Arc<Policy>>),
    /// The registry's active version, followed by a watcher.
    Registry(Arc<PolicyWatcher>),
}

/// One execution environment's authorizer: engine, policy source, settings.
pub struct Authorizer {
    engine: Arc<Engine>,
    source: Source,
    settings: Settings,
}

impl Authorizer {
    /// Everything before the first invocation: the engine, and the policy
    /// (from files, or the registry's active version). A policy that cannot
    /// be loaded is logged; requests are then denied until one is.
    pub async fn start(config: Config) -> Result<Authorizer, authz_engine::EngineError> {
        let started = std::time::Instant::now();
        let mut sdk_ready = None;
        let mut resumed = false;
        let (engine, source) = match config.source {
            PolicySource::File { module, config: policy_config } => {
                let engine = Engine::new(config.limits)?;
                let policy = load_file(&engine, &module, &policy_config).map(Arc::new);
                (engine, Source::Fixed(policy))
            }
            PolicySource::Registry(r) => {
                // The engine's set-up (CPU: the instance pool, milliseconds in
                // a new process) runs on a thread of its own while this one
                // loads the AWS SDK's configuration and reads the registry's
                // active pointer (a network round trip), unless the registry
                // confirmed one less than a check interval ago (a `Lease`).
                let limits = config.limits;
                let engine_setup = std::thread::spawn(move || Engine::new(limits));
                let sdk = authz_registry::sdk_config(r.endpoint_url.as_deref()).await;
                sdk_ready = Some(started.elapsed());
                let registry =
                    Registry::new(&sdk, RegistryConfig { bucket: r.bucket, table: r.table, path_style: r.path_style });
                let cache = r.cache_dir.as_ref().and_then(|dir| {
                    CodeCache::new(dir)
                        .map_err(|e| tracing::warn!(error = %e, dir = %dir.display(), "no compiled-code cache"))
                        .ok()
                });
                let now_ms = authz_engine::now_ms();
                let lease = cache.as_ref().and_then(|c| Lease::read(c, &registry, &r.policy, r.check_interval, now_ms));
                let pointer = match lease {
                    Some(_) => None,
                    None => Some(registry.active(&r.policy).await),
                };
                let engine = engine_setup.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
                let watch = WatchConfig {
                    policy: r.policy,
                    check_interval: r.check_interval,
                    trusted_keys: r.trusted_keys,
                    cache,
                    code_keys: r.code_keys,
                };
                let watcher = Arc::new(PolicyWatcher::new(Arc::clone(&engine), registry, watch));
                // Cold start: load the active version before the first request.
                // Failing that, requests are denied until a check succeeds.
                resumed = lease.is_some_and(|lease| watcher.resume(lease));
                if !resumed {
                    match pointer {
                        Some(read) => watcher.check_read(read, now_ms).await,
                        None => watcher.check().await,
                    };
                }
                (engine, Source::Registry(watcher))
            }
        };
        let policy_ready = started.elapsed();
        let authorizer = Authorizer { engine, source, settings: config.settings };
        authorizer.tidy();
        // Where a cold start goes (scripts/bench reads this line too).
        let ms = |d: std::time::Duration| (d.as_secs_f64() * 1e5).round() / 100.0;
        tracing::info!(
            sdk_ms = sdk_ready.map(ms),
            resumed,
            policy_ms = ms(policy_ready),
            ready_ms = ms(started.elapsed()),
            "authorizer started"
        );
        Ok(authorizer)
    }

    /// Decides one invocation's event: the API Gateway response (serialized
    /// by the runtime), or [`Unauthorized`] for a 401.
    pub async fn handle(&self, event: &RawValue) -> Result<AuthorizerResponse, Unauthorized> {
        let policy = self.current().await;
        let (_, response) = authz_engine::authorize_json(
            &self.engine,
            policy.as_deref(),
            event.get(),
            &self.settings,
            authz_engine::now_ms(),
        );
        match response {
            AuthorizerResponse::Unauthorized => Err(Unauthorized),
            answer => Ok(answer),
        }
    }

    /// What a decision leaves for after its answer (see [`Engine::tidy`]):
    /// call it once the response has been posted.
    pub fn tidy(&self) {
        if let Some(policy) = self.serving() {
            self.engine.tidy(&policy);
        }
    }

    /// The policy in force now, without a registry check.
    fn serving(&self) -> Option<Arc<Policy>> {
        match &self.source {
            Source::Fixed(policy) => policy.clone(),
            Source::Registry(watcher) => watcher.current().map(|active| Arc::clone(&active.policy)),
        }
    }

    /// The policy for one decision. With the registry, a due check runs
    /// first, inline: Lambda freezes the process between invocations, so a
    /// background check would stall and trip its own timeouts. It costs one
    /// GetItem per interval (a download and compile only when the version
    /// changed), bounded by the SDK timeouts when the registry is down.
    async fn current(&self) -> Option<Arc<Policy>> {
        if let Source::Registry(watcher) = &self.source {
            watcher.check_if_due().await;
        }
        self.serving()
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

/// JSON logs on stdout (CloudWatch), level from `RUST_LOG` (default `info`).
pub fn init_logging() {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_current_span(true)
        .with_span_list(false)
        .without_time()
        .init();
}
