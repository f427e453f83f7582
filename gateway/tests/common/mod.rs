//! The local stack for gateway tests: moto (started and stopped here), the
//! registry with the static-token policy published, the notes seeded, and the
//! gateway serving one API of the repository's template.yaml over real HTTP.
#![allow(dead_code, reason = "each test binary uses part of the harness")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use authz_engine::{Engine, Limits, ResponseFormat, Settings};
use authz_gateway::{ApiKind, ApiSpec, Gateway, LocalFunction, PolicyAuthorizer};
use authz_local::Moto;
use authz_registry::{PolicyWatcher, Publication, Registry, RegistryConfig, WatchConfig};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

pub const TEMPLATE: &str = include_str!("../../../template.yaml");
pub const POLICY: &str = "notes-authz";
pub const URL_PATH: &str = "/notes?userId=user1&noteId=note1";

pub struct Local {
    pub url: String,
    pub registry: Registry,
    pub runtime: tokio::runtime::Runtime,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    pub moto: Moto,
}

pub fn static_token_config() -> String {
    policy_artifacts::policy_file("static-token/config.json")
}

impl Local {
    /// The REST API with the authorizer cache TTL `ttl` seconds.
    pub fn start(ttl: u64) -> Local {
        Self::start_with(ApiKind::Rest, ttl, |_| {}, None)
    }

    /// The template's API of `kind`, changed by `edit`, and the authorizer
    /// answering payload 2.0 events in `format` instead of what the template configures.
    pub fn start_with(
        kind: ApiKind,
        ttl: u64,
        edit: impl FnOnce(&mut ApiSpec),
        format: Option<ResponseFormat>,
    ) -> Local {
        let moto = Moto::start().expect("moto starts (scripts/test installs it)");
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let overrides = BTreeMap::from([("AuthorizerTtlSeconds".to_owned(), ttl.to_string())]);
        let mut spec =
            ApiSpec::from_template(TEMPLATE, &overrides).unwrap().into_iter().find(|a| a.kind == kind).unwrap();
        edit(&mut spec);
        let configured =
            spec.functions["AuthorizerFunction"].environment.get("AUTHZ_RESPONSE_FORMAT").map(|f| f.parse().unwrap());
        let settings = Settings { response_format: format.or(configured).unwrap_or_default(), ..Settings::default() };
        let endpoint = moto.endpoint();
        let (gateway, registry) = runtime.block_on(async {
            let sdk = authz_registry::sdk_loader()
                .endpoint_url(&endpoint)
                .region(aws_config::Region::new("us-east-1"))
                .credentials_provider(aws_sdk_s3::config::Credentials::new("t", "t", None, None, "t"))
                .load()
                .await;
            let registry = Registry::new(
                &sdk,
                RegistryConfig { bucket: "policies".into(), table: "registry".into(), path_style: true },
            );
            registry.ensure_storage().await.unwrap();
            let dynamo = get_notes::dynamodb_client(&sdk);
            get_notes::seed::ensure_table(&dynamo, "notesTable").await.unwrap();
            get_notes::seed::seed(&dynamo, "notesTable").await.unwrap();
            publish(&registry, static_token_config()).await;
            let watch = WatchConfig {
                policy: POLICY.into(),
                check_interval: Duration::from_millis(300),
                trusted_keys: vec![],
                cache: None,
                code_keys: vec![],
            };
            let watcher =
                Arc::new(PolicyWatcher::new(Engine::new(Limits::default()).unwrap(), registry.clone(), watch));
            watcher.check().await;
            let functions = HashMap::from([
                (
                    "AuthorizerFunction".to_owned(),
                    Arc::new(LocalFunction::Authorizer(PolicyAuthorizer::new(watcher, settings))),
                ),
                (
                    "GetNotesFunction".to_owned(),
                    Arc::new(LocalFunction::GetNotes(get_notes::App::new(get_notes::DynamoNotes::new(
                        dynamo,
                        "notesTable",
                    )))),
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
        Local { url, registry, runtime, shutdown: Some(shutdown), moto }
    }

    pub fn get(&self, path: &str, token: Option<&str>) -> (u16, Value, HashMap<String, String>) {
        self.request("GET", path, token)
    }

    pub fn request(&self, method: &str, path: &str, token: Option<&str>) -> (u16, Value, HashMap<String, String>) {
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

pub async fn publish(registry: &Registry, config: String) -> u64 {
    let module = std::fs::read(policy_artifacts::STATIC_TOKEN).unwrap();
    let p = Publication {
        policy: POLICY,
        module: &module,
        config: config.as_bytes(),
        publisher: "test",
        signature: None,
        note: None,
        code: &[],
    };
    registry.publish(&p, true, authz_engine::now_ms()).await.unwrap().version
}
