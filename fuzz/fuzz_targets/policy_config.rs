//! Arbitrary bytes as a policy's configuration document: the load either
//! fails with an error or yields a policy whose decisions never panic the host.
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
    let (engine, module) = host();
    let Ok(policy) = engine.load(module, config, None) else { return };
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
