//! `authz dev`: the whole API on loopback, from `template.yaml`.
//!
//! Starts moto (local S3 and DynamoDB), creates the registry bucket and table
//! and the notes table, seeds the notes, builds, tests and publishes the
//! example policy, then serves the template's REST API (and its HTTP API,
//! when it declares one, on the next port) with API Gateway's authorizer
//! semantics ([`authz_gateway`]). Policies published to the printed local
//! registry take effect without a restart. Ctrl-C stops everything.

use crate::aws::block_on;
use crate::error::{CliError, bad_input};
use crate::policy::{build_crate, cases, engine, test::run_cases};
use anyhow::Context as _;
use authz_engine::{Engine, Limits, ResponseFormat, Settings};
use authz_gateway::{ApiKind, ApiSpec, Gateway, LocalFunction, PolicyAuthorizer};
use authz_local::Moto;
use authz_registry::{PolicyWatcher, Publication, Registry, RegistryConfig, WatchConfig};
use clap::Args;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// The repository this binary was built from: its template, policies and scripts.
const REPO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
const BUCKET: &str = "authz-policies";
const TABLE: &str = "authzPolicyRegistry";
const NOTES_TABLE: &str = "notesTable";

#[derive(Args)]
pub struct DevArgs {
    /// Port of the REST API on 127.0.0.1.
    #[arg(long, default_value_t = 3000)]
    port: u16,
    /// Port of the HTTP API on 127.0.0.1, when the template declares one (default: `--port` + 1).
    #[arg(long)]
    http_port: Option<u16>,
    /// Port of the local AWS stand-in (moto); a free one by default.
    #[arg(long)]
    aws_port: Option<u16>,
    /// The SAM template to serve.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../template.yaml"))]
    template: PathBuf,
    /// Template parameter override, as `Name=Value` (repeatable), e.g. `AuthorizerTtlSeconds=0`.
    #[arg(long = "parameter", value_name = "NAME=VALUE")]
    parameters: Vec<String>,
    /// Policy crate to build and publish first.
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../policies/static-token"))]
    policy_crate: PathBuf,
    /// Publish this component instead of building `--policy-crate`.
    #[arg(long)]
    module: Option<PathBuf>,
    /// The policy's config (default: `config.json` in the policy crate).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Cases the policy must pass before it is published (default: the crate's `cases.json`).
    #[arg(long)]
    cases: Option<PathBuf>,
    /// Seconds between checks of the registry for a new active version.
    #[arg(long, default_value_t = 2)]
    check_interval: u64,
}

fn step(message: &str) {
    eprintln!("==> {message}");
}

/// Installs moto into the project's venv when it is missing.
fn ensure_moto() -> Result<(), CliError> {
    if authz_local::venv_dir().join("bin/moto_server").exists() {
        return Ok(());
    }
    step("installing moto into the project's venv (first run only)");
    let status = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!("source '{REPO}/scripts/lib.sh' && ensure_venv"))
        .status()
        .context("cannot run bash")?;
    if !status.success() {
        return Err(CliError::Failed(anyhow::anyhow!("installing moto failed")));
    }
    Ok(())
}

fn parse_overrides(pairs: &[String]) -> Result<BTreeMap<String, String>, CliError> {
    pairs
        .iter()
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| bad_input(format!("--parameter `{p}` is not NAME=VALUE")))
        })
        .collect()
}

pub fn run(args: DevArgs) -> Result<ExitCode, CliError> {
    let overrides = parse_overrides(&args.parameters)?;
    let template = std::fs::read_to_string(&args.template)
        .map_err(|e| bad_input(format!("cannot read `{}`: {e}", args.template.display())))?;
    let apis = ApiSpec::from_template(&template, &overrides).map_err(|e| bad_input(e.to_string()))?;

    // The policy first: a failing build or case stops here, before anything runs.
    let (module_path, config_path, cases_path) = match &args.module {
        Some(module) => (module.clone(), args.config.clone(), args.cases.clone()),
        None => {
            step(&format!("building the policy {}", args.policy_crate.display()));
            let built = build_crate(&args.policy_crate)?;
            let config = args.config.clone().unwrap_or_else(|| args.policy_crate.join("config.json"));
            let cases =
                args.cases.clone().or_else(|| Some(args.policy_crate.join("cases.json")).filter(|p| p.exists()));
            (built.path, Some(config), cases)
        }
    };
    let config_path = config_path.ok_or_else(|| bad_input("--module needs --config"))?;
    let module =
        std::fs::read(&module_path).map_err(|e| bad_input(format!("cannot read `{}`: {e}", module_path.display())))?;
    let config =
        std::fs::read(&config_path).map_err(|e| bad_input(format!("cannot read `{}`: {e}", config_path.display())))?;
    let checker = engine()?;
    let policy = checker
        .load(&module, &String::from_utf8_lossy(&config), None)
        .map_err(|e| bad_input(format!("`{}`: {e}", module_path.display())))?;
    if let Some(path) = &cases_path {
        step(&format!("testing the policy with {}", path.display()));
        let summary = run_cases(&checker, &policy, &cases::load(path)?);
        if summary.failed > 0 {
            return Err(CliError::Failed(anyhow::anyhow!("{} cases failed: not serving this policy", summary.failed)));
        }
    }

    ensure_moto()?;
    step("starting the local AWS stand-in (moto)");
    let moto = match args.aws_port {
        Some(port) => Moto::start_on(port),
        None => Moto::start(),
    }
    .context("cannot start moto")?;
    let result = block_on(serve(&args, apis, &module, &config, &moto))?;
    drop(moto);
    result.map(|()| ExitCode::SUCCESS)
}

async fn serve(args: &DevArgs, apis: Vec<ApiSpec>, module: &[u8], config: &[u8], moto: &Moto) -> Result<(), CliError> {
    let endpoint = moto.endpoint();
    let sdk = crate::aws::AwsArgs { endpoint_url: Some(endpoint.clone()) }.sdk_config().await;
    // Every API of the template shares its parameters and functions.
    let template = apis.first().ok_or_else(|| bad_input("the template declares no API"))?;
    let policy_name = template.parameters.get("PolicyName").cloned().unwrap_or_else(|| "notes-authz".to_owned());

    step("creating the policy registry and the notes table, seeding notes");
    let registry = Registry::new(&sdk, RegistryConfig { bucket: BUCKET.into(), table: TABLE.into(), path_style: true });
    registry.ensure_storage().await.context("cannot create the registry")?;
    let dynamo = get_notes::dynamodb_client(&sdk);
    get_notes::seed::ensure_table(&dynamo, NOTES_TABLE).await.context("cannot create the notes table")?;
    get_notes::seed::seed(&dynamo, NOTES_TABLE).await.context("cannot seed the notes")?;

    step(&format!("publishing and activating the policy `{policy_name}`"));
    let publication = Publication {
        policy: &policy_name,
        module,
        config,
        publisher: "authz dev",
        signature: None,
        note: Some("published by authz dev"),
        code: &[],
    };
    let version = registry.publish(&publication, true, authz_engine::now_ms()).await.context("cannot publish")?;

    let engine = Engine::new(Limits::default()).map_err(|e| CliError::Failed(e.into()))?;
    let watch = WatchConfig {
        policy: policy_name.clone(),
        check_interval: Duration::from_secs(args.check_interval),
        trusted_keys: Vec::new(),
        cache: None,
        code_keys: Vec::new(),
    };
    let watcher = Arc::new(PolicyWatcher::new(engine, registry, watch));
    watcher.check().await;

    let mut functions = HashMap::new();
    for (id, function) in &template.functions {
        let local = match function.binary.as_deref() {
            Some("authorizer") => LocalFunction::Authorizer(PolicyAuthorizer::new(
                Arc::clone(&watcher),
                authorizer_settings(id, &function.environment)?,
            )),
            Some("get-notes") => {
                LocalFunction::GetNotes(get_notes::App::new(get_notes::DynamoNotes::new(dynamo.clone(), NOTES_TABLE)))
            }
            other => {
                eprintln!(
                    "warning: {id} (binary {}) cannot run locally: its routes answer as a failed integration",
                    other.unwrap_or("?")
                );
                continue;
            }
        };
        functions.insert(id.clone(), Arc::new(local));
    }

    // Bind every port before announcing anything, so a taken port fails the whole start.
    let mut servers = Vec::new();
    for spec in apis {
        let port = match spec.kind {
            ApiKind::Rest => args.port,
            ApiKind::Http => args.http_port.unwrap_or(args.port.saturating_add(1)),
        };
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .map_err(|e| bad_input(format!("cannot listen on 127.0.0.1:{port} for {}: {e}", spec.api)))?;
        servers.push((format!("http://127.0.0.1:{port}"), spec, listener));
    }
    println!();
    for (url, spec, _) in &servers {
        print_api(url, spec);
    }
    print_ready(
        &servers.iter().map(|(url, spec, _)| (url.as_str(), spec)).collect::<Vec<_>>(),
        &endpoint,
        &policy_name,
        version.version,
    );

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut running = tokio::task::JoinSet::new();
    for (_, spec, listener) in servers {
        let mut stopped = stopped.clone();
        let gateway = Gateway::new(spec, functions.clone());
        running.spawn(authz_gateway::serve(listener, gateway, async move {
            let _ = stopped.changed().await;
        }));
    }
    tokio::select! {
        () = shutdown_signal() => {}
        Some(ended) = running.join_next() => {
            // A server only ends by itself when it failed.
            ended.context("a gateway task failed")?.context("the gateway failed")?;
        }
    }
    step("stopping");
    let _ = stop.send(true);
    while let Some(ended) = running.join_next().await {
        ended.context("a gateway task failed")?.context("the gateway failed")?;
    }
    Ok(())
}

/// What the deployed authorizer reads from its environment (see
/// `host/authorizer/src/config.rs`): the identity header and the answer
/// format for payload 2.0 events, as the template sets them.
fn authorizer_settings(id: &str, environment: &BTreeMap<String, String>) -> Result<Settings, CliError> {
    let mut settings = Settings::default();
    if let Some(header) = environment.get("AUTHZ_IDENTITY_HEADER") {
        settings.identity_header = header.clone();
    }
    if let Some(format) = environment.get("AUTHZ_RESPONSE_FORMAT") {
        settings.response_format =
            format.parse::<ResponseFormat>().map_err(|e| bad_input(format!("{id}: AUTHZ_RESPONSE_FORMAT: {e}")))?;
    }
    Ok(settings)
}

fn print_api(url: &str, spec: &ApiSpec) {
    let kind = match spec.kind {
        ApiKind::Rest => "REST API",
        ApiKind::Http => "HTTP API",
    };
    let ttl = spec.authorizer.as_ref().map_or(0, |a| a.ttl.as_secs());
    println!("authz dev: {kind} {} on {url} (stage {}, authorizer cache {ttl} s)", spec.api, spec.stage);
    for route in &spec.routes {
        println!(
            "  {:<6} {url}{}  -> {}{}",
            route.method,
            route.path,
            route.function,
            if route.authorized { "" } else { " (no authorizer)" }
        );
    }
}

fn print_ready(apis: &[(&str, &ApiSpec)], endpoint: &str, policy: &str, version: u64) {
    println!("policy `{policy}` version {version} is active; local AWS at {endpoint}");
    println!();
    println!("try:");
    for (url, spec) in apis {
        let header = spec.identity_header();
        let forbidden = match spec.kind {
            ApiKind::Rest => "403: denied",
            ApiKind::Http => "403: Forbidden",
        };
        println!("  curl -i '{url}/notes?userId=user1&noteId=note1'                              # 401: no token");
        println!("  curl -i -H '{header}: wrong' '{url}/notes?userId=user1&noteId=note1'         # {forbidden}");
        println!("  curl -i -H '{header}: abc123' '{url}/notes?userId=user1&noteId=note1'        # 200: user1's note");
        if spec.kind == ApiKind::Rest {
            println!(
                "  curl -i -H '{header}: abc123' '{url}/notes?userId=user2'                     # 403: not user1's notes"
            );
            println!(
                "  curl -i -H '{header}: admin-secret-456' '{url}/notes?userId=user2'           # 200: admin reads any"
            );
        }
    }
    println!();
    println!(
        "publish a new policy version to this local registry (takes effect within the check interval + cache TTL):"
    );
    println!("  export AWS_ENDPOINT_URL={endpoint} AUTHZ_REGISTRY_BUCKET={BUCKET} AUTHZ_REGISTRY_TABLE={TABLE}");
    println!(
        "  authz policy publish <module.wasm> --name {policy} --config <config.json> --cases <cases.json> --activate"
    );
    println!("Ctrl-C stops the APIs and the local AWS stand-in.");
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => {
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
