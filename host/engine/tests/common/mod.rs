//! Shared helpers for the engine's integration tests.
#![allow(dead_code, reason = "each test binary uses a subset")]

use authz_engine::{
    AuthorizerResponse, Engine, Limits, Policy, ResponseFormat, Settings, Verdict, authorize, authorize_with,
};
use std::sync::Arc;

/// 2026-01-01T00:00:00Z: inside every example JWT's validity.
pub const NOW_MS: u64 = 1_767_225_600_000;

pub fn engine() -> Arc<Engine> {
    Engine::new(Limits::default()).expect("engine")
}

pub fn load(engine: &Engine, component: &str, config: &str) -> Policy {
    let bytes = std::fs::read(component).expect("component built by policy-artifacts");
    engine.load(&bytes, config, None).expect("policy loads")
}

pub fn static_token(engine: &Engine) -> Policy {
    load(engine, policy_artifacts::STATIC_TOKEN, &policy_artifacts::policy_file("static-token/config.json"))
}

pub fn run(engine: &Engine, policy: &Policy, event: &str) -> (Verdict, AuthorizerResponse) {
    let event = serde_json::from_str(event).unwrap_or(serde_json::Value::Null);
    authorize(engine, Some(policy), event, "Authorization", NOW_MS)
}

/// [`run`], answering HTTP API 2.0 events in `format`.
pub fn run_as(engine: &Engine, policy: &Policy, event: &str, format: ResponseFormat) -> (Verdict, AuthorizerResponse) {
    let event = serde_json::from_str(event).unwrap_or(serde_json::Value::Null);
    let settings = Settings { response_format: format, ..Settings::default() };
    authorize_with(engine, Some(policy), event, &settings, NOW_MS)
}

pub fn token_event(token: &str, method: &str, path: &str) -> String {
    serde_json::json!({
        "type": "TOKEN",
        "authorizationToken": token,
        "methodArn": format!("arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/{method}/{}", path.trim_start_matches('/')),
    })
    .to_string()
}
