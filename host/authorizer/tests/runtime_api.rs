//! The Lambda binary as Lambda runs it: the real `authorizer` process talking
//! to a Runtime API on loopback (the endpoints and headers Lambda's own
//! serves), deciding real events with a real policy. Checks the answers it
//! posts (allow, explicit deny, the `Unauthorized` error for a 401) and that
//! the instance made after each posted answer serves the next decision.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use authz_registry::{Publication, Registry, RegistryConfig};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde_json::Value;
use std::collections::VecDeque;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// What the fake Runtime API hands out and what it was sent back.
struct RuntimeApi {
    events: Mutex<VecDeque<(String, Value)>>,
    answers: mpsc::UnboundedSender<(String, &'static str, Value)>,
}

async fn next(State(api): State<Arc<RuntimeApi>>) -> (HeaderMap, String) {
    let Some((id, event)) = api.events.lock().unwrap().pop_front() else {
        // No more events: hold the long poll, as Lambda does before freezing.
        std::future::pending::<()>().await;
        unreachable!()
    };
    let mut headers = HeaderMap::new();
    headers.insert("lambda-runtime-aws-request-id", id.parse().unwrap());
    let deadline = authz_engine::now_ms() + 30_000;
    headers.insert("lambda-runtime-deadline-ms", deadline.to_string().parse().unwrap());
    let arn = "arn:aws:lambda:us-east-1:123456789012:function:authorizer";
    headers.insert("lambda-runtime-invoked-function-arn", arn.parse().unwrap());
    (headers, event.to_string())
}

async fn answered(
    State(api): State<Arc<RuntimeApi>>,
    Path((id, kind)): Path<(String, String)>,
    body: String,
) -> StatusCode {
    let kind = if kind == "response" { "response" } else { "error" };
    api.answers.send((id, kind, serde_json::from_str(&body).unwrap_or(Value::String(body)))).unwrap();
    StatusCode::ACCEPTED
}

fn event(token: &str) -> Value {
    let mut event: Value = serde_json::from_str(&policy_artifacts::fixture("events/token-abc123.json")).unwrap();
    event["authorizationToken"] = token.into();
    event
}

/// One answer the authorizer posted: request id, `response` or `error`, body.
type Answer = (String, &'static str, Value);

/// Runs the `authorizer` binary with `env` (on top of the Lambda runtime's
/// own variables) against a Runtime API on loopback handing out `events`;
/// returns the answers it posted, in order, and its log.
async fn run(env: &[(&str, &str)], events: &[(&str, Value)]) -> (Vec<Answer>, String) {
    let (answers, mut posted) = mpsc::unbounded_channel();
    let api = Arc::new(RuntimeApi {
        events: Mutex::new(events.iter().map(|(id, e)| ((*id).to_owned(), e.clone())).collect()),
        answers,
    });
    let app = axum::Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/{kind}", post(answered))
        .with_state(api);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let mut child = Command::new(env!("CARGO_BIN_EXE_authorizer"))
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", address.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "authorizer")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("RUST_LOG", "authz=info")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut got = Vec::new();
    for _ in 0..events.len() {
        match tokio::time::timeout(Duration::from_secs(60), posted.recv()).await {
            Ok(Some(answer)) => got.push(answer),
            other => {
                child.kill().unwrap();
                panic!("the authorizer posted {} answers, then {other:?}", got.len());
            }
        }
    }
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    server.abort();
    (got, String::from_utf8_lossy(&output.stdout).into_owned())
}

fn effect(answer: &Value) -> Value {
    answer["policyDocument"]["Statement"][0]["Effect"].clone()
}

/// The log's lines as JSON, those of `target` only.
fn log_lines<'a>(log: &'a str, target: &'a str) -> impl Iterator<Item = Value> + 'a {
    log.lines().filter_map(|line| serde_json::from_str::<Value>(line).ok()).filter(move |line| line["target"] == target)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lambda_binary_answers_through_the_runtime_api() {
    let events = [
        ("allow-1", event("abc123")),
        ("deny", event("wrong-token")),
        ("unusable", serde_json::json!({"type": "COGNITO"})),
        ("allow-2", event("abc123")),
    ];
    let config = format!("{}/static-token/config.json", policy_artifacts::POLICIES_DIR);
    let env = [("AUTHZ_POLICY_FILE", policy_artifacts::STATIC_TOKEN), ("AUTHZ_POLICY_CONFIG_FILE", &config)];
    let (got, log) = run(&env, &events).await;

    assert_eq!((got[0].0.as_str(), got[0].1), ("allow-1", "response"), "{got:?}");
    assert_eq!((effect(&got[0].2), &got[0].2["principalId"]), ("Allow".into(), &"user1".into()));
    assert_eq!((got[1].0.as_str(), got[1].1, effect(&got[1].2)), ("deny", "response", "Deny".into()));
    // A 401 is the Lambda error whose message is exactly `Unauthorized`.
    assert_eq!((got[2].0.as_str(), got[2].1), ("unusable", "error"), "{got:?}");
    assert_eq!(got[2].2["errorMessage"], "Unauthorized");
    assert_eq!((got[3].0.as_str(), effect(&got[3].2)), ("allow-2", "Allow".into()));

    // Every policy decision was served by an instance made ahead: at start-up
    // for the first, once the previous answer had been posted for the others.
    let made_ahead: Vec<bool> =
        log_lines(&log, "authz::decision").map(|line| line["fields"]["made_ahead"] == true).collect();
    assert_eq!(
        made_ahead,
        [true, true, false, true],
        "one line per event, the unusable one decided by no policy: {log}"
    );
    assert!(!log.contains("abc123") && !log.contains("wrong-token"), "a token reached the log: {log}");
}

/// An authorizer process restarted in the same execution environment (same
/// `/tmp`) while the registry is down: it serves the version the registry
/// confirmed to its predecessor less than a check interval ago, and with an
/// interval of 0 it insists on reading the registry and denies.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_authorizer_serves_the_version_confirmed_within_its_check_interval() {
    let mut moto = authz_local::Moto::start().expect("moto starts (scripts/test installs it)");
    let endpoint = moto.endpoint();
    let sdk = authz_registry::sdk_loader_for(Some(&endpoint))
        .region(aws_config::Region::new("us-east-1"))
        .test_credentials()
        .load()
        .await;
    let place = RegistryConfig { bucket: "policies".to_owned(), table: "policyRegistry".to_owned(), path_style: true };
    let registry = Registry::new(&sdk, place);
    registry.ensure_storage().await.unwrap();
    let module = std::fs::read(policy_artifacts::STATIC_TOKEN).unwrap();
    let config = std::fs::read(format!("{}/static-token/config.json", policy_artifacts::POLICIES_DIR)).unwrap();
    let publication = Publication {
        policy: "notes",
        module: &module,
        config: &config,
        publisher: "test",
        signature: None,
        note: None,
        code: &[],
    };
    registry.publish(&publication, true, authz_engine::now_ms()).await.unwrap();

    let cache = std::env::temp_dir().join(format!("authz-restart-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache);
    let cache_dir = cache.to_str().unwrap();
    let env = |interval| {
        [
            ("AUTHZ_POLICY_NAME", "notes"),
            ("AUTHZ_REGISTRY_BUCKET", "policies"),
            ("AUTHZ_REGISTRY_TABLE", "policyRegistry"),
            ("AUTHZ_CODE_CACHE_DIR", cache_dir),
            ("AUTHZ_CHECK_INTERVAL_SECS", interval),
            ("AWS_ENDPOINT_URL", &endpoint),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
        ]
    };
    let started = |log: &str| {
        let line = log_lines(log, "authz_authorizer").find(|l| l["fields"]["message"] == "authorizer started");
        line.unwrap_or_else(|| panic!("no start-up line: {log}"))["fields"]["resumed"].clone()
    };
    let events = [("allow", event("abc123"))];

    let (got, log) = run(&env("60"), &events).await;
    assert_eq!((effect(&got[0].2), started(&log)), ("Allow".into(), false.into()), "{log}");

    moto.stop();
    let (got, log) = run(&env("60"), &events).await;
    assert_eq!((effect(&got[0].2), started(&log)), ("Allow".into(), true.into()), "{log}");
    assert_eq!(got[0].2["principalId"], "user1");

    let (got, log) = run(&env("0"), &events).await;
    assert_eq!((effect(&got[0].2), started(&log)), ("Deny".into(), false.into()), "{log}");
    assert!(log.contains("registry unreachable"), "{log}");
    std::fs::remove_dir_all(&cache).unwrap();
}
