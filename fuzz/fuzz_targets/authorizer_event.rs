//! Arbitrary bytes as the authorizer's event, through the whole path the
//! Lambda runs (`authz_engine::authorize`) with the static-token policy.
//! Invariants: no panic, and nothing is allowed unless the event carries a
//! token the policy's config knows.
#![no_main]

use authz_engine::{AuthorizerResponse, Engine, Limits, Policy};
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};

const KNOWN_TOKENS: [&str; 3] = ["abc123", "def456", "admin-secret-456"];

fn host() -> &'static (Arc<Engine>, Policy) {
    static HOST: OnceLock<(Arc<Engine>, Policy)> = OnceLock::new();
    HOST.get_or_init(|| {
        let engine = Engine::new(Limits::default()).expect("engine");
        let bytes = std::fs::read(policy_artifacts::STATIC_TOKEN).expect("static-token built");
        let policy =
            engine.load(&bytes, &policy_artifacts::policy_file("static-token/config.json"), None).expect("loads");
        (engine, policy)
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(event) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let (engine, policy) = host();
    let (_, response) = authz_engine::authorize(engine, Some(policy), event, "Authorization", 1_767_225_600_000);
    if let AuthorizerResponse::Policy(p) = response {
        let allows =
            p.policy_document.statement.iter().any(|s| s.effect == aws_lambda_events::iam::IamPolicyEffect::Allow);
        let text = String::from_utf8_lossy(data);
        assert!(!allows || KNOWN_TOKENS.iter().any(|t| text.contains(t)), "allowed without a known token");
    }
});
