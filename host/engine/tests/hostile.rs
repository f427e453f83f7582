//! Hostile policies: each must fail closed within its budget, and the host must
//! keep serving correct decisions afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use authz_engine::{Engine, Failure, Limits, Outcome, Policy, Verdict};
use common::*;
use policy_artifacts::fixture;
use std::time::{Duration, Instant};

fn hostile(engine: &Engine, config: &str) -> Policy {
    load(engine, policy_artifacts::HOSTILE, config)
}

/// Runs `config`'s misbehaviour, checks it failed closed the expected way within
/// `within`, then checks a good decision still comes out of the same engine.
fn fails_closed(engine: &Engine, config: &str, within: Duration) -> Verdict {
    let policy = hostile(engine, config);
    let started = Instant::now();
    let (verdict, response) = run(engine, &policy, &fixture("events/token-abc123.json"));
    let elapsed = started.elapsed();
    assert!(elapsed < within, "{config}: took {elapsed:?}");
    assert!(matches!(verdict.outcome, Outcome::FailClosed(_)), "{config}: {:?}", verdict.outcome);
    let json = response.to_json();
    assert_eq!(json["policyDocument"]["Statement"][0]["Effect"], "Deny", "{config}");
    assert_eq!(json["principalId"], "fail-closed", "{config}");

    let good = static_token(engine);
    let (after, _) = run(engine, &good, &fixture("events/token-abc123.json"));
    assert!(matches!(after.outcome, Outcome::Allow(ref a) if a.principal_id == "user1"), "{config}: after");
    verdict
}

fn limits() -> Limits {
    Limits { decision_timeout: Duration::from_millis(50), max_memory_bytes: 16 << 20, ..Limits::default() }
}

#[test]
fn infinite_loop_times_out() {
    let engine = Engine::new(limits()).unwrap();
    let v = fails_closed(&engine, r#"{"mode":"loop"}"#, Duration::from_millis(500));
    assert_eq!(v.outcome, Outcome::FailClosed(Failure::Timeout { budget_ms: 50 }));
    assert!(v.latency >= Duration::from_millis(45), "deadline fired early: {:?}", v.latency);
}

#[test]
fn slow_policy_inside_the_budget_is_served_and_past_it_is_not() {
    let engine = Engine::new(limits()).unwrap();
    let slow = hostile(&engine, r#"{"mode":"slow","millis":5}"#);
    let (v, _) = run(&engine, &slow, &fixture("events/token-abc123.json"));
    assert!(matches!(v.outcome, Outcome::Allow(_)), "{:?}", v.outcome);
    let v = fails_closed(&engine, r#"{"mode":"slow","millis":200}"#, Duration::from_millis(500));
    assert!(matches!(v.outcome, Outcome::FailClosed(Failure::Timeout { .. })));
}

#[test]
fn unbounded_allocation_hits_the_memory_cap() {
    let engine = Engine::new(limits()).unwrap();
    let v = fails_closed(&engine, r#"{"mode":"alloc"}"#, Duration::from_secs(2));
    assert_eq!(v.outcome, Outcome::FailClosed(Failure::MemoryExhausted { limit_bytes: 16 << 20 }));
    // Just under the cap is fine.
    let under = hostile(&engine, r#"{"mode":"alloc-bytes","bytes":8000000}"#);
    let (v, _) = run(&engine, &under, &fixture("events/token-abc123.json"));
    assert!(matches!(v.outcome, Outcome::Allow(_)), "{:?}", v.outcome);
    let v = fails_closed(&engine, r#"{"mode":"alloc-bytes","bytes":20000000}"#, Duration::from_secs(2));
    assert!(matches!(v.outcome, Outcome::FailClosed(Failure::MemoryExhausted { .. })));
}

/// The SDK's decision arena never reuses what is freed; once it is full, the
/// standard allocator takes over and does. A decision that allocates and
/// frees 32 MiB in total under a 16 MiB cap must still answer.
#[test]
fn churning_allocations_past_the_arena_reuse_memory() {
    let engine = Engine::new(limits()).unwrap();
    let churn = hostile(&engine, r#"{"mode":"churn","block":16384,"rounds":2048}"#);
    let (v, _) = run(&engine, &churn, &fixture("events/token-abc123.json"));
    assert!(matches!(v.outcome, Outcome::Allow(_)), "{:?}", v.outcome);
}

#[test]
fn unbounded_recursion_traps() {
    let engine = Engine::new(limits()).unwrap();
    let v = fails_closed(&engine, r#"{"mode":"recurse"}"#, Duration::from_secs(2));
    assert!(matches!(v.outcome, Outcome::FailClosed(Failure::Trap(_))), "{:?}", v.outcome);
}

#[test]
fn panic_traps_and_its_message_is_captured() {
    let engine = Engine::new(limits()).unwrap();
    let v = fails_closed(&engine, r#"{"mode":"panic"}"#, Duration::from_secs(1));
    assert!(matches!(v.outcome, Outcome::FailClosed(Failure::Trap(_))), "{:?}", v.outcome);
    let stderr = v.guest_stderr.unwrap_or_default();
    assert!(stderr.contains("hostile policy panicked on purpose"), "stderr: {stderr}");
    assert!(v.error_chain.is_some());
}

#[test]
fn trapping_on_some_inputs_only_fails_those() {
    let engine = Engine::new(limits()).unwrap();
    let policy = hostile(&engine, r#"{"mode":"trap-if-header"}"#);
    let mut trapping: serde_json::Value = serde_json::from_str(&fixture("events/request-abc123.json")).unwrap();
    trapping["headers"]["X-Trap"] = "1".into();
    trapping["multiValueHeaders"]["X-Trap"] = serde_json::json!(["1"]);
    for _ in 0..3 {
        let (v, _) = run(&engine, &policy, &trapping.to_string());
        assert!(matches!(v.outcome, Outcome::FailClosed(Failure::Trap(_))), "{:?}", v.outcome);
        let (v, _) = run(&engine, &policy, &fixture("events/request-abc123.json"));
        assert!(matches!(v.outcome, Outcome::Allow(_)), "{:?}", v.outcome);
    }
}

#[test]
fn policy_errors_and_bad_answers_fail_closed() {
    let engine = Engine::new(limits()).unwrap();
    let second = Duration::from_secs(1);
    let cases = [
        (r#"{"mode":"error"}"#, "policy error"),
        (r#"{"mode":"huge-context","entries":1000,"value_len":10}"#, "oversized"),
        (r#"{"mode":"huge-context","entries":10,"value_len":100000}"#, "oversized"),
        (r#"{"mode":"huge-principal","len":2000000}"#, "oversized"),
        (r#"{"mode":"many-grants","count":5000}"#, "oversized"),
        (r#"{"mode":"bad-grant","method":"GET","path":"notes"}"#, "malformed"),
        (r#"{"mode":"bad-grant","method":"GET","path":"/notes\"]}"}"#, "malformed"),
        (r#"{"mode":"allow-without-grants"}"#, "malformed"),
        (r#"{"mode":"invalid-utf8"}"#, "utf-8"),
    ];
    for (config, expected) in cases {
        let v = fails_closed(&engine, config, second);
        let reason = match &v.outcome {
            Outcome::FailClosed(f) => f.to_string(),
            other => panic!("{config}: {other:?}"),
        };
        assert!(reason.contains(expected), "{config}: {reason}");
    }
}

#[test]
fn the_sandbox_grants_no_files_env_or_network() {
    // SAFETY of the assertion: a listener the guest could reach if sockets leaked.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let engine = Engine::new(limits()).unwrap();
    let policy = hostile(&engine, &format!(r#"{{"mode":"escape","port":{port}}}"#));
    let (v, response) = run(&engine, &policy, &fixture("events/token-abc123.json"));
    match v.outcome {
        Outcome::Deny { ref principal_id, .. } => assert_eq!(principal_id, "sandboxed"),
        other => panic!("the policy escaped its sandbox: {other:?} {}", response.to_json()),
    }
    assert!(!std::path::Path::new("/tmp/hostile-policy-was-here").exists());
}

#[test]
fn many_failures_in_a_row_do_not_exhaust_the_pool() {
    let engine = Engine::new(Limits { max_concurrent_decisions: 4, ..limits() }).unwrap();
    let policy = hostile(&engine, r#"{"mode":"panic"}"#);
    for _ in 0..50 {
        let (v, _) = run(&engine, &policy, &fixture("events/token-abc123.json"));
        assert!(matches!(v.outcome, Outcome::FailClosed(Failure::Trap(_))));
    }
    let good = static_token(&engine);
    let (v, _) = run(&engine, &good, &fixture("events/token-abc123.json"));
    assert!(matches!(v.outcome, Outcome::Allow(_)));
}

#[test]
fn secrets_in_guest_output_are_redacted() {
    let engine = Engine::new(limits()).unwrap();
    let policy = hostile(&engine, r#"{"mode":"panic"}"#);
    let (v, _) = run(&engine, &policy, &token_event("Bearer sup3r-secret-token", "GET", "/notes"));
    let stderr = v.guest_stderr.unwrap_or_default();
    assert!(stderr.contains("[redacted]"), "the guest did echo the identity: {stderr}");
    assert!(!stderr.contains("sup3r-secret-token"), "{stderr}");
    assert!(!format!("{:?}", v.error_chain).contains("sup3r-secret-token"));
}

/// A fresh instance per decision: nothing the last decision wrote survives,
/// neither in the image's data (a static counter) nor in memory it grew (a
/// heap buffer), however the pool resets its slots between decisions, and
/// whether the instance was made ahead (every other decision here is tidied
/// for) or inline (back to back).
#[test]
fn no_state_survives_from_one_decision_to_the_next() {
    let engine = Engine::new(Limits { max_concurrent_decisions: 2, ..limits() }).unwrap();
    let policy = hostile(&engine, r#"{"mode":"remember","bytes":300000}"#);
    for i in 0..50 {
        if i % 2 == 0 {
            engine.tidy(&policy);
        }
        let (verdict, response) = run(&engine, &policy, &fixture("events/token-abc123.json"));
        if i % 2 == 0 {
            assert!(verdict.made_ahead, "decision {i} did not get the instance made ahead");
        }
        assert!(matches!(verdict.outcome, Outcome::Allow(_)), "decision {i}: {:?}", verdict.outcome);
        let context = &response.to_json()["context"];
        assert_eq!(context["decisions"], 1.0, "decision {i} saw an earlier one: {context}");
        assert_eq!(context["kept_bytes"], 300_000.0, "decision {i} saw an earlier one's heap: {context}");
    }
}

/// The request a policy sees is the one the host built from the event, field
/// by field, for every event kind: nothing lost or reshaped on the way in
/// (absent lists arrive empty, the method ARN split as the host split it).
#[test]
fn the_policy_sees_the_request_the_host_built() {
    use authz_engine::{AuthorizerEvent, Request};
    let engine = engine();
    let echo = hostile(&engine, r#"{"mode":"echo"}"#);
    let pairs =
        |pairs: &[(String, String)]| pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let expected = |r: &Request| {
        let arn = &r.method_arn;
        [
            // The bindings' Debug names the enum; the SDK's does not.
            ("kind", format!("{:?}", r.kind).replace("RequestKind::", "")),
            ("identity", format!("{:?}", r.identity)),
            ("partition", arn.partition().to_owned()),
            ("region", arn.region().to_owned()),
            ("account-id", arn.account_id().to_owned()),
            ("api-id", arn.api_id().to_owned()),
            ("stage", arn.stage().to_owned()),
            ("method", arn.method().to_owned()),
            ("path", arn.path().to_owned()),
            ("headers", pairs(&r.headers)),
            ("query", pairs(&r.query)),
            ("path-parameters", pairs(&r.path_parameters)),
            ("stage-variables", pairs(&r.stage_variables)),
            ("source-ip", format!("{:?}", r.source_ip)),
            ("user-agent", format!("{:?}", r.user_agent)),
            ("request-id", format!("{:?}", r.request_id)),
            ("now-ms", r.now_ms.to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), serde_json::Value::String(v)))
        .collect::<serde_json::Map<_, _>>()
    };
    let mut seen_lists = 0;
    for name in [
        "token-abc123.json",
        "request-abc123.json",
        "rest-request-aws-docs.json",
        "http-v1-abc123.json",
        "http-v2-abc123.json",
        "websocket-connect-abc123.json",
    ] {
        let event = fixture(&format!("events/{name}"));
        // Parsed as `run` parses it: a JSON tree orders the headers by name.
        let tree = serde_json::from_str(&event).unwrap();
        let request = AuthorizerEvent::from_value(tree).unwrap().into_request("Authorization", NOW_MS).unwrap();
        seen_lists += request.headers.len() + request.query.len() + request.stage_variables.len();
        let (verdict, _) = run(&engine, &echo, &event);
        let Outcome::Allow(allowed) = verdict.outcome else { panic!("{name}: {verdict:?}") };
        assert_eq!(allowed.context, expected(&request), "{name}");
    }
    assert!(seen_lists > 20, "the fixtures carry headers, query and stage variables");
}
