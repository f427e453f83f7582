//! The local gateway over real HTTP, serving the repository's template.yaml
//! with the real authorizer (engine + registry watcher) and the real getNotes
//! on a real local DynamoDB and S3 (moto, started and stopped here).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use authz_engine::{Engine, Limits};
use authz_gateway::{ApiSpec, Gateway, LocalFunction, PolicyAuthorizer};
use authz_local::Moto;
use authz_registry::{PolicyWatcher, Publication, Registry, RegistryConfig, WatchConfig};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

const TEMPLATE: &str = include_str!("../../template.yaml");
const POLICY: &str = "notes-authz";
const URL_PATH: &str = "/notes?userId=user1&noteId=note1";

struct Local {
    url: String,
    registry: Registry,
    runtime: tokio::runtime::Runtime,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    _moto: Moto,
}

fn static_token_config() -> String {
    policy_artifacts::policy_file("static-token/config.json")
}

impl Local {
    /// The stack with the authorizer cache TTL `ttl` seconds.
    fn start(ttl: u64) -> Local {
        Self::start_with(ttl, vec![])
    }

    /// [`Local::start`] with routes added to the template's.
    fn start_with(ttl: u64, extra_routes: Vec<authz_gateway::Route>) -> Local {
        let moto = Moto::start().expect("moto starts (scripts/test installs it)");
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let overrides = BTreeMap::from([("AuthorizerTtlSeconds".to_owned(), ttl.to_string())]);
        let mut spec = ApiSpec::from_template(TEMPLATE, &overrides).unwrap();
        spec.routes.extend(extra_routes);
        let endpoint = moto.endpoint();
        let (gateway, registry) = runtime.block_on(async {
            let sdk = authz_registry::sdk_loader()
                .endpoint_url(&endpoint)
                .region(aws_config::Region::new("us-east-1"))
                .credentials_provider(aws_sdk_s3::config::Credentials::new("t", "t", None, None, "t"))
                .load()
                .await;
            let registry = Registry::new(&sdk, RegistryConfig { bucket: "policies".into(), table: "registry".into(), path_style: true });
            registry.ensure_storage().await.unwrap();
            let dynamo = get_notes::dynamodb_client(&sdk);
            get_notes::seed::ensure_table(&dynamo, "notesTable").await.unwrap();
            get_notes::seed::seed(&dynamo, "notesTable").await.unwrap();
            publish(&registry, static_token_config()).await;
            let watch = WatchConfig { policy: POLICY.into(), check_interval: Duration::from_millis(300), trusted_keys: vec![], cache: None };
            let watcher = Arc::new(PolicyWatcher::new(Engine::new(Limits::default()).unwrap(), registry.clone(), watch));
            watcher.check().await;
            let functions = HashMap::from([
                ("AuthorizerFunction".to_owned(), LocalFunction::Authorizer(PolicyAuthorizer::new(watcher, "Authorization"))),
                (
                    "GetNotesFunction".to_owned(),
                    LocalFunction::GetNotes(get_notes::App::new(get_notes::DynamoNotes::new(dynamo, "notesTable"))),
                ),
            ]);
            (Gateway::new(spec, functions), registry)
        });
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (shutdown, stop) = tokio::sync::oneshot::channel::<()>();
        runtime.spawn(authz_gateway::serve(listener, gateway, async {
            let _ = stop.await;
        }));
        Local { url, registry, runtime, shutdown: Some(shutdown), _moto: moto }
    }

    fn get(&self, path: &str, token: Option<&str>) -> (u16, Value, HashMap<String, String>) {
        self.request("GET", path, token)
    }

    fn request(&self, method: &str, path: &str, token: Option<&str>) -> (u16, Value, HashMap<String, String>) {
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let mut request = ureq::http::Request::builder().method(method).uri(format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.header("Authorization", token);
        }
        let mut response = agent.run(request.body(()).unwrap()).unwrap();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        let body = response.body_mut().read_to_string().unwrap();
        let json = serde_json::from_str(&body).unwrap_or(Value::String(body));
        (response.status().as_u16(), json, headers)
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

async fn publish(registry: &Registry, config: String) -> u64 {
    let module = std::fs::read(policy_artifacts::STATIC_TOKEN).unwrap();
    let p = Publication { policy: POLICY, module: &module, config: config.as_bytes(), publisher: "test", signature: None, note: None };
    registry.publish(&p, true, authz_engine::now_ms()).await.unwrap().version
}

fn message(status: u16, body: &Value) -> (u16, &Value) {
    (status, &body["message"])
}

#[test]
fn the_tutorial_flow_with_api_gateway_answers() {
    let local = Local::start(300);
    // No token: 401 without asking the authorizer.
    let (status, body, headers) = local.get(URL_PATH, None);
    assert_eq!(message(status, &body), (401, &json!("Unauthorized")));
    assert_eq!(headers["x-amzn-errortype"], "UnauthorizedException");
    assert_eq!(message(local.get(URL_PATH, Some("")).0, &local.get(URL_PATH, Some("")).1), (401, &json!("Unauthorized")));
    // A wrong token: the policy denies explicitly.
    let (status, body, _) = local.get(URL_PATH, Some("wrong"));
    assert_eq!(message(status, &body), (403, &json!("User is not authorized to access this resource with an explicit deny")));
    // The tutorial's token reads user1's note; the function saw the principal.
    let (status, body, headers) = local.get(URL_PATH, Some("abc123"));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"userId": "user1", "noteId": "note1", "note": "Buy milk"}));
    assert_eq!(headers["content-type"], "application/json");
    assert!(headers.contains_key("x-amzn-requestid"));
    // The stage prefix of the deployed URL works too.
    assert_eq!(local.get(&format!("/prod{URL_PATH}"), Some("abc123")).0, 200);
    // Ownership: user1 may not read user2's notes; the admin may.
    let (status, body, _) = local.get("/notes?userId=user2", Some("abc123"));
    assert_eq!(status, 403, "{body}");
    let (status, body, _) = local.get("/notes?userId=user2", Some("admin-secret-456"));
    assert_eq!(status, 200, "{body}");
    assert!(!body["notes"].as_array().unwrap().is_empty());
    // Not found and bad input come from the function, as JSON.
    assert_eq!(local.get("/notes?userId=user1&noteId=nope", Some("abc123")).0, 404);
    assert_eq!(local.get("/notes?noteId=x", Some("abc123")).0, 400);
}

#[test]
fn routes_grants_and_malformed_requests() {
    let local = Local::start(300);
    // Unknown path or method: API Gateway's 403 before any authorizer.
    let (status, body, _) = local.get("/nothing-here", Some("abc123"));
    assert_eq!(message(status, &body), (403, &json!("Missing Authentication Token")));
    let (status, body, _) = local.request("DELETE", "/notes", Some("abc123"));
    assert_eq!(message(status, &body), (403, &json!("Missing Authentication Token")));
    // A query string the function cannot use.
    assert_eq!(local.get("/notes?userId=&noteId=", Some("abc123")).0, 400);
    assert_eq!(local.get("/notes?userId=user1&limit=-4", Some("abc123")).0, 400);
    assert_eq!(local.get("/notes?userId=user1&nextToken=%%%", Some("abc123")).0, 400);
    let long = "u".repeat(5000);
    assert_eq!(local.get(&format!("/notes?userId={long}"), Some("abc123")).0, 400);
}

#[test]
fn a_cached_result_applies_to_every_route_so_grants_must_cover_them() {
    let admin = authz_gateway::Route { method: "GET".into(), path: "/admin".into(), function: "GetNotesFunction".into(), authorized: true };
    let local = Local::start_with(300, vec![admin]);
    // The first call, on /admin, caches a policy whose grants cover GET /notes only.
    let (status, body, _) = local.get("/admin", Some("abc123"));
    assert_eq!(message(status, &body), (403, &json!("User is not authorized to access this resource")));
    // The same token on /notes is served from that cached policy, correctly.
    assert_eq!(local.get(URL_PATH, Some("abc123")).0, 200);
    // An explicit deny is cached too, and applies everywhere.
    let (status, body, _) = local.get("/admin", Some("wrong"));
    assert_eq!(message(status, &body), (403, &json!("User is not authorized to access this resource with an explicit deny")));
    assert_eq!(local.get(URL_PATH, Some("wrong")).0, 403);
}

#[test]
fn cached_results_hold_until_the_ttl_ends() {
    let local = Local::start(2);
    assert_eq!(local.get(URL_PATH, Some("abc123")).0, 200);
    // Revoke abc123 in a new version; the cached Allow still holds for the TTL.
    let revoked = static_token_config().replace("\"user1\"", "\"revoked\"").replace("\"GET\", \"path\": \"/notes\" }]", "\"GET\", \"path\": \"/elsewhere\" }]");
    assert!(revoked.contains("/elsewhere"), "the config format changed: {revoked}");
    local.runtime.block_on(publish(&local.registry, revoked));
    let started = Instant::now();
    std::thread::sleep(Duration::from_millis(600));
    let (status, body, _) = local.get(URL_PATH, Some("abc123"));
    assert_eq!(status, 200, "served from the cache within the TTL: {body}");
    // After the TTL the new version decides: principal `revoked` may only call /elsewhere.
    std::thread::sleep(Duration::from_secs(2).saturating_sub(started.elapsed()) + Duration::from_millis(200));
    let (status, body, _) = local.get(URL_PATH, Some("abc123"));
    assert_eq!(message(status, &body), (403, &json!("User is not authorized to access this resource")));
}

#[test]
fn without_a_cache_a_hot_swap_shows_on_the_next_request_after_the_check() {
    let local = Local::start(0);
    assert_eq!(local.get(URL_PATH, Some("abc123")).0, 200);
    let locked = static_token_config().replace("\"user1\"", "\"user1-v2\"");
    local.runtime.block_on(publish(&local.registry, locked));
    // Within a few check intervals (0.3 s) the new version answers; the
    // principal changed, so user1's notes are no longer the caller's.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, body, _) = local.get(URL_PATH, Some("abc123"));
        if status == 403 {
            assert_eq!(body["error"].as_str().map(|_| ()), Some(()), "getNotes' own ownership 403: {body}");
            break;
        }
        assert_eq!(status, 200, "{body}");
        assert!(Instant::now() < deadline, "the new version never took effect");
        std::thread::sleep(Duration::from_millis(100));
    }
}
