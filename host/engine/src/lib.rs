//! The authz policy host.
//!
//! Policies are WebAssembly components speaking the `authz:policy` WIT contract
//! (`wit/policy.wit`). This crate compiles them once, runs every decision in a
//! fresh sandboxed instance under a deadline and a memory cap, checks the
//! answer, and maps every outcome, failures included, to the response API
//! Gateway expects. The Lambda authorizer, the `authz` CLI and the local
//! gateway all decide through [`Engine::decide`], so a policy tested locally
//! behaves the same in AWS.
//!
//! Every API Gateway authorizer event goes through the same contract: REST
//! TOKEN and REQUEST, HTTP API payload 1.0 and 2.0 (answered with an IAM
//! policy or the simple format, see [`ResponseFormat`]) and WebSocket
//! `$connect` (see [`event`]).
#![deny(missing_docs)]

mod bindings;
mod cache;
pub mod contract;
mod engine;
pub mod event;
pub mod iam;
mod keeper;
pub mod limits;
pub mod log;
pub mod outcome;
mod precompiled;
mod preinit;

pub use bindings::{CONTRACT_VERSION, ContextValue, Decision, Effect, Grant, PolicyError, RequestKind};
pub use cache::{CodeCache, LoadedFrom};
pub use engine::{Engine, EngineError, LoadError, Policy, PolicyId, Verdict, chain, sha256_hex};
pub use event::{AuthorizerEvent, EventError, HttpApiCall, MethodArn, Request};
pub use limits::Limits;
pub use outcome::{AuthorizerResponse, Failure, Outcome, ResponseFormat, respond, respond_for};
pub use precompiled::{ARCHITECTURES, host_architecture};

/// How the host reads events and shapes its answers: what the authorizer's
/// deployment decides (its environment), not the policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Header holding the caller's identity in every event but TOKEN (any case).
    pub identity_header: String,
    /// How HTTP API payload 2.0 events are answered.
    pub response_format: ResponseFormat,
}

impl Default for Settings {
    fn default() -> Self {
        Settings { identity_header: "Authorization".to_owned(), response_format: ResponseFormat::Iam }
    }
}

/// [`authorize_with`] IAM policy answers, the identity in `identity_header`.
pub fn authorize(
    engine: &Engine,
    policy: Option<&Policy>,
    event: serde_json::Value,
    identity_header: &str,
    now_ms: u64,
) -> (Verdict, AuthorizerResponse) {
    let settings = Settings { identity_header: identity_header.to_owned(), response_format: ResponseFormat::Iam };
    authorize_with(engine, policy, event, &settings, now_ms)
}

/// Decides one raw authorizer event end to end: parse, decide (or fail closed
/// without a policy), and map to the response. What the Lambda handler and
/// `authz policy eval` both run.
pub fn authorize_with(
    engine: &Engine,
    policy: Option<&Policy>,
    event: serde_json::Value,
    settings: &Settings,
    now_ms: u64,
) -> (Verdict, AuthorizerResponse) {
    decide_event(engine, policy, AuthorizerEvent::from_value(event), settings, now_ms)
}

/// [`authorize_with`] on the event's JSON text, as the Lambda runtime
/// receives it: parsed once, straight into the type of its kind.
pub fn authorize_json(
    engine: &Engine,
    policy: Option<&Policy>,
    event: &str,
    settings: &Settings,
    now_ms: u64,
) -> (Verdict, AuthorizerResponse) {
    decide_event(engine, policy, AuthorizerEvent::from_json(event), settings, now_ms)
}

fn decide_event(
    engine: &Engine,
    policy: Option<&Policy>,
    parsed: Result<AuthorizerEvent, EventError>,
    settings: &Settings,
    now_ms: u64,
) -> (Verdict, AuthorizerResponse) {
    let request = match parsed.and_then(|e| e.into_request(&settings.identity_header, now_ms)) {
        Ok(request) => request,
        Err(e) => {
            let verdict = Verdict::failed(Failure::BadEvent(e.to_string()));
            log::decision(&verdict, policy.map(Policy::id), None);
            return (verdict, AuthorizerResponse::Unauthorized);
        }
    };
    let verdict = match policy {
        Some(policy) => engine.decide(policy, &request),
        None => {
            let verdict = Verdict::failed(Failure::NoPolicy);
            log::decision(&verdict, None, request.request_id.as_deref());
            verdict
        }
    };
    let response = respond_for(&verdict.outcome, Some(&request.method_arn), request.kind, settings.response_format);
    (verdict, response)
}

/// Milliseconds since the Unix epoch by the system clock.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
