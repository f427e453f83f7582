//! The shipped policies, as real components, through the same path the
//! Lambda uses.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use authz_engine::iam::{IamDecision, evaluate};
use authz_engine::{AuthorizerResponse, Outcome};
use common::*;
use policy_artifacts::fixture;
use serde_json::json;

fn policy_of(response: &AuthorizerResponse) -> &authz_engine::outcome::PolicyResponse {
    match response {
        AuthorizerResponse::Policy(p) => p,
        other => panic!("expected a REST policy, got {other:?}"),
    }
}

#[test]
fn the_tutorial_token_gets_exactly_get_notes() {
    let engine = engine();
    let policy = static_token(&engine);
    let (verdict, response) = run(&engine, &policy, &fixture("events/token-abc123.json"));
    assert!(matches!(verdict.outcome, Outcome::Allow(ref a) if a.principal_id == "user1"));
    assert_eq!(
        response.to_json(),
        json!({
            "principalId": "user1",
            "policyDocument": {
                "Version": "2012-10-17",
                "Statement": [{
                    "Action": ["execute-api:Invoke"],
                    "Effect": "Allow",
                    "Resource": ["arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/notes"]
                }]
            },
            "context": {},
            "usageIdentifierKey": null
        })
    );
    // The cached policy must refuse other routes (implicit deny), not only this one.
    let doc = &policy_of(&response).policy_document;
    let arn = |route: &str| format!("arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/{route}");
    assert_eq!(evaluate(doc, &arn("GET/notes")), IamDecision::Allow);
    assert_eq!(evaluate(doc, &arn("DELETE/notes")), IamDecision::ImplicitDeny);
    assert_eq!(evaluate(doc, &arn("GET/notes/1")), IamDecision::ImplicitDeny);
}

#[test]
fn wrong_token_is_an_explicit_deny_and_empty_is_unauthorized() {
    let engine = engine();
    let policy = static_token(&engine);
    let (_, wrong) = run(&engine, &policy, &fixture("events/token-wrong.json"));
    let doc = &policy_of(&wrong).policy_document;
    let arn = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/notes";
    assert_eq!(evaluate(doc, arn), IamDecision::ExplicitDeny);
    let (verdict, empty) = run(&engine, &policy, &fixture("events/token-empty.json"));
    assert_eq!(verdict.outcome, Outcome::Unauthorized);
    assert_eq!(empty, AuthorizerResponse::Unauthorized);
}

#[test]
fn request_events_carry_headers_query_and_identity() {
    let engine = engine();
    let policy = static_token(&engine);
    let (verdict, _) = run(&engine, &policy, &fixture("events/request-abc123.json"));
    assert!(matches!(verdict.outcome, Outcome::Allow(ref a) if a.principal_id == "user1"));
    // AWS's own REQUEST example has no Authorization header: unauthorized.
    let (verdict, _) = run(&engine, &policy, &fixture("events/rest-request-aws-docs.json"));
    assert_eq!(verdict.outcome, Outcome::Unauthorized);
}

#[test]
fn admin_context_reaches_the_response() {
    let engine = engine();
    let policy = static_token(&engine);
    let (_, response) = run(&engine, &policy, &fixture("events/token-admin.json"));
    let json = response.to_json();
    assert_eq!(json["principalId"], "admin");
    assert_eq!(json["context"], json!({"notesReadAny": true, "role": "admin"}));
    assert_eq!(
        json["policyDocument"]["Statement"][0]["Resource"],
        json!(["arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/*/*"])
    );
}

#[test]
fn bad_events_are_unauthorized_without_running_the_policy() {
    let engine = engine();
    let policy = static_token(&engine);
    for event in [
        "",
        "not json",
        "[]",
        r#"{"type":"TOKEN","authorizationToken":"abc123"}"#,
        r#"{"type":"TOKEN","authorizationToken":"abc123","methodArn":"arn:aws:s3:::bucket"}"#,
        r#"{"type":"SOMETHING","methodArn":"arn:aws:execute-api:us-east-1:1:a/prod/GET/notes"}"#,
    ] {
        let (verdict, response) = run(&engine, &policy, event);
        assert!(matches!(verdict.outcome, Outcome::FailClosed(authz_engine::Failure::BadEvent(_))), "{event}");
        assert_eq!(response, AuthorizerResponse::Unauthorized, "{event}");
    }
}

fn jwt_token(name: &str) -> String {
    let tokens: serde_json::Value =
        serde_json::from_str(&policy_artifacts::policy_file("jwt/testdata/tokens.json")).unwrap();
    tokens[name].as_str().unwrap().to_owned()
}

#[test]
fn jwt_policy_verifies_each_algorithm_in_the_sandbox() {
    let engine = engine();
    let policy = load(&engine, policy_artifacts::JWT_POLICY, &policy_artifacts::policy_file("jwt/config.json"));
    for (name, principal) in [("hs256_user1", "user1"), ("rs256_user2", "user2"), ("es256_admin", "admin")] {
        let event = token_event(&format!("Bearer {}", jwt_token(name)), "GET", "/notes");
        let (verdict, _) = run(&engine, &policy, &event);
        assert!(matches!(verdict.outcome, Outcome::Allow(ref a) if a.principal_id == principal), "{name}: {verdict:?}");
    }
    for name in ["expired", "tampered", "alg_none", "wrong_audience", "alg_confusion_rsa_pub_as_hmac"] {
        let event = token_event(&jwt_token(name), "GET", "/notes");
        assert_eq!(run(&engine, &policy, &event).1, AuthorizerResponse::Unauthorized, "{name}");
    }
}

#[test]
fn loading_checks_the_module_and_its_config() {
    use authz_engine::LoadError;
    let engine = engine();
    let bytes = std::fs::read(policy_artifacts::STATIC_TOKEN).unwrap();
    assert!(matches!(engine.load(b"garbage", "{}", None), Err(LoadError::NotAComponent(_))));
    let core_module = wat::parse_str("(module)").unwrap();
    assert!(matches!(engine.load(&core_module, "{}", None), Err(LoadError::NotAComponent(_))));
    let other_world = wat::parse_str("(component)").unwrap();
    let err = engine.load(&other_world, "{}", None).unwrap_err();
    assert!(matches!(err, LoadError::WrongWorld { version: "0.2.0", .. }), "{err}");
    assert!(err.to_string().contains("authorizer-policy@0.2.0"), "{err}");
    // A component that names contract 0.1.0 but exports no policy is refused as a 0.1.0 one.
    let claims_0_1_0 =
        wat::parse_str(r#"(component (instance $types) (export "authz:policy/types@0.1.0" (instance $types)))"#)
            .unwrap();
    let err = engine.load(&claims_0_1_0, "{}", None).unwrap_err();
    assert!(matches!(err, LoadError::WrongWorld { version: "0.1.0", .. }), "{err}");
    assert!(err.to_string().contains("authorizer-policy@0.1.0"), "{err}");
    let err = engine.load(&bytes, r#"{"tokens": {"abc": {}}}"#, None).unwrap_err();
    assert!(matches!(err, LoadError::Config(_)), "{err}");
    assert!(err.to_string().contains("invalid config"), "{err}");
    assert!(matches!(engine.load(&bytes, "not json", None), Err(LoadError::Config(_))));
    let policy =
        engine.load(&bytes, &policy_artifacts::policy_file("static-token/config.json"), Some("v1".into())).unwrap();
    assert_eq!(policy.id().sha256, authz_engine::sha256_hex(&bytes));
    assert_eq!(policy.id().version.as_deref(), Some("v1"));
    assert!(policy.is_preinitialized(), "the config is applied once, at load");
}

#[test]
fn a_module_built_against_another_contract_version_is_refused_by_name() {
    use authz_engine::LoadError;
    let engine = engine();
    for version in ["0.3.0", "1.0.0", "0.0.1"] {
        let bytes = policy_artifacts::component_for_contract(version);
        let err = engine.check_world(&bytes).unwrap_err();
        assert!(matches!(err, LoadError::ContractVersion { .. }), "{version}: {err}");
        assert_eq!(
            err.to_string(),
            format!(
                "the component was built against authz:policy@{version}, this host runs authz:policy@0.2.0 or 0.1.0: \
                 rebuild it with an authz-policy SDK for 0.2.0"
            )
        );
        let err = engine.load(&bytes, "{}", None).unwrap_err();
        assert!(matches!(err, LoadError::ContractVersion { .. }), "{version}: {err}");
        // The registry watcher loads through the compiled-code cache: refused there too, and nothing cached.
        let dir = std::env::temp_dir().join(format!("authz-contract-cache-{}-{version}", std::process::id()));
        let cache = authz_engine::CodeCache::new(&dir).unwrap();
        let err = engine.load_cached(&cache, &bytes, "{}", None).unwrap_err();
        assert!(matches!(err, LoadError::ContractVersion { .. }), "{version}: {err}");
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "a refused module is never cached");
        std::fs::remove_dir_all(&dir).unwrap();
    }
    // A later patch of the same contract links (its code only traps, so `init` fails: a config error, not a version one).
    let patch = policy_artifacts::component_for_contract("0.2.9");
    engine.check_world(&patch).unwrap();
    assert!(matches!(engine.load(&patch, "{}", None), Err(LoadError::Config(_))));
    // 0.1.0's names on 0.2.0's types: run as 0.1.0, whose request it does not take; refused when first instantiated.
    let mislabelled = policy_artifacts::component_for_contract("0.1.0");
    let err = engine.load(&mislabelled, "{}", None).map(drop).unwrap_err();
    assert!(err.to_string().contains("type mismatch for field method-arn"), "{err}");
}

/// Every event fixture, and the tutorial's token on other routes.
fn every_event() -> Vec<(String, String)> {
    let dir = format!("{}/events", policy_artifacts::FIXTURES_DIR);
    let mut events: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .map(|path| (path.display().to_string(), std::fs::read_to_string(&path).unwrap()))
        .collect();
    for (method, path) in [("GET", "/notes/7"), ("POST", "/notes"), ("GET", "/")] {
        events.push((format!("token on {method} {path}"), token_event("abc123", method, path)));
    }
    events.sort();
    events
}

#[test]
fn a_module_built_against_contract_0_1_0_decides_as_it_did() {
    use authz_engine::ResponseFormat::{Iam, Simple};
    let engine = engine();
    let config = policy_artifacts::policy_file("static-token/config.json");
    let bytes = std::fs::read(policy_artifacts::STATIC_TOKEN_CONTRACT_0_1_0).unwrap();
    // The registry watcher's path: compiled once, then from the compiled-code cache.
    let dir = std::env::temp_dir().join(format!("authz-contract-0.1.0-{}", std::process::id()));
    let cache = authz_engine::CodeCache::new(&dir).unwrap();
    let (_, from) = engine.load_cached(&cache, &bytes, &config, None).unwrap();
    assert_eq!(from, authz_engine::LoadedFrom::Compiled);
    let (old, from) = engine.load_cached(&cache, &bytes, &config, None).unwrap();
    assert_eq!(from, authz_engine::LoadedFrom::Cache);
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(old.is_preinitialized(), "0.1.0 modules are snapshotted after `init` too");
    let new = static_token(&engine);
    let mut allowed = 0;
    for (name, event) in every_event() {
        for format in [Iam, Simple] {
            // Once with an instance made ahead, once made inline.
            for made_ahead in [true, false] {
                if made_ahead {
                    engine.tidy(&old);
                    engine.tidy(&new);
                }
                let (old_verdict, old_response) = run_as(&engine, &old, &event, format);
                let (new_verdict, new_response) = run_as(&engine, &new, &event, format);
                assert_eq!(old_verdict.outcome, new_verdict.outcome, "{name}");
                assert_eq!(old_response.to_json(), new_response.to_json(), "{name}");
                assert_eq!(old_verdict.made_ahead, made_ahead, "{name}");
                allowed += usize::from(matches!(old_verdict.outcome, Outcome::Allow(_)));
            }
        }
    }
    assert!(allowed >= 20, "the fixtures allow on several kinds of event: {allowed}");
}

/// One event of each kind, the same token (`abc123`, user1: `GET /notes`), the same policy.
#[test]
fn every_authorizer_kind_goes_through_the_same_policy() {
    use authz_engine::ResponseFormat::{Iam, Simple};
    let engine = engine();
    let policy = static_token(&engine);
    for (fixture_name, arn) in [
        ("events/token-abc123.json", "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/notes"),
        ("events/request-abc123.json", "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/notes"),
        ("events/http-v1-abc123.json", "arn:aws:execute-api:us-east-1:123456789012:h1t2p3a4p5/prod/GET/notes"),
        ("events/http-v2-abc123.json", "arn:aws:execute-api:us-east-1:123456789012:h1t2p3a4p5/prod/GET/notes"),
    ] {
        for format in [Iam, Simple] {
            let (verdict, response) = run_as(&engine, &policy, &fixture(fixture_name), format);
            assert!(matches!(verdict.outcome, Outcome::Allow(ref a) if a.principal_id == "user1"), "{fixture_name}");
            assert!(response.authorizes(arn), "{fixture_name} {format}: {response:?}");
        }
    }
    // HTTP API 2.0: the configured format decides the shape; nothing else changes.
    let v2 = fixture("events/http-v2-abc123.json");
    assert_eq!(
        run_as(&engine, &policy, &v2, Simple).1.to_json(),
        json!({"isAuthorized": true, "context": {"principalId": "user1"}})
    );
    let iam = run_as(&engine, &policy, &v2, Iam).1.to_json();
    assert_eq!(iam["principalId"], "user1");
    assert_eq!(
        iam["policyDocument"]["Statement"][0]["Resource"],
        json!(["arn:aws:execute-api:us-east-1:123456789012:h1t2p3a4p5/prod/GET/notes"])
    );
    assert!(iam.get("usageIdentifierKey").is_none(), "{iam}");
    // The same token on another route of the HTTP API: no in the simple format, an implicit deny in IAM.
    let delete = v2.replace("/prod/GET/notes\"", "/prod/DELETE/notes\"");
    assert_eq!(run_as(&engine, &policy, &delete, Simple).1.to_json()["isAuthorized"], false);
}

#[test]
fn websocket_connect_needs_a_connect_grant() {
    let engine = engine();
    let policy = static_token(&engine);
    let connect = "arn:aws:execute-api:us-east-1:123456789012:w1s2o3c4k5/prod/$connect";
    // user1 is known but only granted `GET /notes`: API Gateway refuses the connection.
    let (verdict, response) = run(&engine, &policy, &fixture("events/websocket-connect-abc123.json"));
    assert!(matches!(verdict.outcome, Outcome::Allow(ref a) if a.principal_id == "user1"));
    assert!(!response.authorizes(connect));
    // user3 is granted `$connect`.
    let user3 = fixture("events/websocket-connect-abc123.json").replace("\"abc123\"", "\"ghi789\"");
    let (verdict, response) = run(&engine, &policy, &user3);
    assert!(matches!(verdict.outcome, Outcome::Allow(ref a) if a.principal_id == "user3"));
    assert!(response.authorizes(connect), "{response:?}");
    assert!(!response.authorizes(&connect.replace("$connect", "$disconnect")));
    // AWS's own example carries no Authorization header.
    assert_eq!(
        run(&engine, &policy, &fixture("events/websocket-authorizer-aws-docs.json")).1,
        AuthorizerResponse::Unauthorized
    );
}

#[test]
fn http_api_failures_fail_closed_in_both_formats() {
    use authz_engine::ResponseFormat::{Iam, Simple};
    let engine = engine();
    let policy = static_token(&engine);
    let wrong = fixture("events/http-v2-abc123.json").replace("\"abc123\"", "\"nope\"");
    assert_eq!(
        run_as(&engine, &policy, &wrong, Simple).1.to_json(),
        json!({"isAuthorized": false, "context": {"principalId": "anonymous"}})
    );
    let denied = run_as(&engine, &policy, &wrong, Iam).1;
    assert_eq!(denied.to_json()["policyDocument"]["Statement"][0]["Effect"], "Deny");
    // No identity: 401 in both; an unusable event: 401 in both.
    for format in [Iam, Simple] {
        let (_, missing) = run_as(&engine, &policy, &fixture("events/http-v2-aws-docs.json"), format);
        assert_eq!(missing, AuthorizerResponse::Unauthorized);
        let (_, broken) = run_as(&engine, &policy, r#"{"type":"REQUEST","version":"2.0","routeArn":"nope"}"#, format);
        assert_eq!(broken, AuthorizerResponse::Unauthorized);
    }
    // Without a policy (cold start, nothing valid in the registry): a no.
    let settings = authz_engine::Settings { response_format: Simple, ..Default::default() };
    let event: serde_json::Value = serde_json::from_str(&fixture("events/http-v2-abc123.json")).unwrap();
    let (verdict, response) = authz_engine::authorize_with(&engine, None, event, &settings, NOW_MS);
    assert!(matches!(verdict.outcome, Outcome::FailClosed(authz_engine::Failure::NoPolicy)));
    assert_eq!(response.to_json(), json!({"isAuthorized": false, "context": {}}));
}
