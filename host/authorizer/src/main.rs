//! The API Gateway Lambda authorizer: a thin `lambda_runtime` shell around
//! `authz-engine`. Configuration is read once; the engine and the policy are
//! built once per execution environment; every event goes through
//! [`authz_engine::authorize`], so it decides exactly as `authz policy eval`.

mod config;

use authz_engine::{AuthorizerResponse, Engine, Policy};
use config::{Config, PolicySource};
use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;
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

/// Loads the configured policy. A failure is logged and leaves the authorizer
/// without a policy: every request is then denied (fail closed), not crashed on.
fn load_policy(engine: &Engine, source: &PolicySource) -> Option<Policy> {
    let PolicySource::File { module, config } = source;
    let loaded = std::fs::read(module)
        .map_err(|e| format!("cannot read `{}`: {e}", module.display()))
        .and_then(|bytes| {
            let config = std::fs::read_to_string(config)
                .map_err(|e| format!("cannot read `{}`: {e}", config.display()))?;
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
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_current_span(true)
        .with_span_list(false)
        .without_time()
        .init();
    let config = Config::from_env(|k| std::env::var(k).ok())?;
    let engine = Engine::new(config.limits.clone())?;
    let policy = load_policy(&engine, &config.source).map(Arc::new);
    let identity_header = Arc::new(config.identity_header);

    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let engine = Arc::clone(&engine);
        let policy = policy.clone();
        let identity_header = Arc::clone(&identity_header);
        async move {
            let (_, response) = authz_engine::authorize(
                &engine,
                policy.as_deref(),
                event.payload,
                &identity_header,
                authz_engine::now_ms(),
            );
            match response {
                AuthorizerResponse::Policy(policy) => Ok(*policy),
                AuthorizerResponse::Unauthorized => Err(Unauthorized),
            }
        }
    }))
    .await
}
