//! The authz policy host.
//!
//! Policies are WebAssembly components speaking the `authz:policy` WIT contract
//! (`wit/policy.wit`). This crate compiles them once, runs every decision in a
//! fresh sandboxed instance under a deadline and a memory cap, checks the
//! answer, and maps every outcome, failures included, to the response API
//! Gateway expects. The Lambda authorizer, the `authz` CLI and the local
//! gateway all decide through [`Engine::decide`], so a policy tested locally
//! behaves the same in AWS.
#![deny(missing_docs)]

mod bindings;
mod cache;
mod engine;
pub mod event;
pub mod iam;
pub mod limits;
pub mod log;
pub mod outcome;
mod preinit;

pub use bindings::{
    CONTRACT_VERSION, ContextValue, Decision, Effect, Grant, MethodArn, PolicyError, Request, RequestKind,
};
pub use cache::{CodeCache, LoadedFrom};
pub use engine::{Engine, EngineError, LoadError, Policy, PolicyId, Verdict, chain, sha256_hex};
pub use event::{AuthorizerEvent, EventError};
pub use limits::Limits;
pub use outcome::{AuthorizerResponse, Failure, Outcome, respond};

/// Decides one raw authorizer event end to end: parse, decide (or fail closed
/// without a policy), and map to the response. What the Lambda handler and
/// `authz policy eval` both run.
pub fn authorize(
    engine: &Engine,
    policy: Option<&Policy>,
    event: serde_json::Value,
    identity_header: &str,
    now_ms: u64,
) -> (Verdict, AuthorizerResponse) {
    let parsed = serde_json::from_value::<AuthorizerEvent>(event).map_err(EventError::from);
    let request = match parsed.and_then(|e| e.into_request(identity_header, now_ms)) {
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
    let response = respond(&verdict.outcome, Some(&request.method_arn));
    (verdict, response)
}

/// Milliseconds since the Unix epoch by the system clock.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}
