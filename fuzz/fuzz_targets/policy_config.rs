//! Arbitrary bytes as a policy's configuration document, checked two ways:
//! the policy crate compiled natively parses it (fast, so most inputs stop
//! here), and every document it accepts is loaded into the sandbox too,
//! which must accept it as well (differential) and never allow a token the
//! document cannot contain. A load pre-initializes the policy with the config
//! and compiles the snapshot, so sandboxed inputs cost a compile each.
#![no_main]

use authz_engine::{AuthorizerResponse, Engine, Limits};
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};

fn host() -> &'static (Arc<Engine>, Vec<u8>) {
    static HOST: OnceLock<(Arc<Engine>, Vec<u8>)> = OnceLock::new();
    HOST.get_or_init(|| {
        let engine = Engine::new(Limits::default()).expect("engine");
        (engine, std::fs::read(policy_artifacts::STATIC_TOKEN).expect("static-token built"))
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(config) = std::str::from_utf8(data) else { return };
    // Far above any real config; keeps the differential clear of the memory cap.
    if config.len() > 64 * 1024 || authz_policy::parse_config::<static_token::StaticToken>(config).is_err() {
        return;
    }
    let (engine, module) = host();
    let policy = match engine.load(module, config, None) {
        Ok(policy) => policy,
        Err(e) => panic!("the native policy accepts this config, the sandbox refuses it: {e}"),
    };
    let event = serde_json::json!({
        "type": "TOKEN",
        "authorizationToken": "no-such-token-in-any-config",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/notes",
    });
    let (_, response) = authz_engine::authorize(engine, Some(&policy), event, "Authorization", 0);
    if let AuthorizerResponse::Policy(p) = response {
        // The token's digest cannot be in a fuzzed config by chance.
        assert!(p.policy_document.statement.iter().all(|s| s.effect != aws_lambda_events::iam::IamPolicyEffect::Allow));
    }
});
