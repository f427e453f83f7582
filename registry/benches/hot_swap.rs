//! Hot-swap cost against a real local registry (moto, started here): the time
//! from a new version being active to the first decision made with it, and
//! the latency of decisions made while versions are swapped in.
//!
//! - `check, unchanged`: a check that finds the serving version still active
//!   (one DynamoDB GetItem): what every check interval costs.
//! - `swap to a new version + first decision`: `check()` downloads both
//!   objects, verifies the digests, compiles, pre-initializes and stores the
//!   compiled code in the cache, swaps; then one decision on it. In Lambda
//!   this is what the invocation that finds the new version waits for.
//! - `swap to a cached version + first decision`: the same for a version
//!   whose compiled code is in the cache (a rollback).
//! - `swap to a version precompiled at publish + first decision`: the same
//!   for a new version published with signed native code for this machine:
//!   the code and config are downloaded instead of the module, nothing is
//!   compiled (what a Lambda with `AUTHZ_CODE_SIGNING_KEYS` waits for).
//! - `decisions during swaps` / `decisions between swaps`: a second thread
//!   deciding non-stop (a long-running server, `authz dev`): the decisions
//!   that started while a check was running, and the others.
//!
//! Run: `cargo bench -p authz-registry --bench hot_swap` (scripts/bench runs
//! it and writes the table into BENCHMARKS.md).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

#[path = "../../bench/sample.rs"]
mod sample;

use authz_engine::{AuthorizerResponse, CodeCache, Engine, Limits, LoadedFrom, authorize};
use authz_local::Moto;
use authz_registry::signing::SigningKeyPair;
use authz_registry::{CheckOutcome, PolicyWatcher, Publication, Registry, RegistryConfig, WatchConfig};
use sample::{nanos, report};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const POLICY: &str = "bench-hot-swap";
/// SHA-256 of `abc123`.
const ABC123: &str = "6ca13d52ca70c883e0f0bb101e425a89e8624de51db2d2392593af6a84118090";

/// A static-token config whose principal names its generation.
fn config(generation: u32) -> Vec<u8> {
    serde_json::json!({ "tokens": { ABC123: {
        "principal": format!("gen-{generation}"),
        "grants": [{ "method": "GET", "path": "/notes" }],
    }}})
    .to_string()
    .into_bytes()
}

fn event() -> serde_json::Value {
    serde_json::json!({
        "type": "TOKEN",
        "authorizationToken": "abc123",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/notes",
    })
}

/// One decision on the version serving now; the principal it was made as.
fn decide(watcher: &PolicyWatcher) -> String {
    let serving = watcher.current();
    let policy = serving.as_deref().map(|a| &*a.policy);
    let (_, response) = authorize(watcher.engine(), policy, event(), "Authorization", authz_engine::now_ms());
    match response {
        AuthorizerResponse::Policy(p) => p.principal_id.unwrap_or_default(),
        other => panic!("unexpected answer {other:?}"),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let swaps: u32 = std::env::var("AUTHZ_BENCH_SWAPS").ok().and_then(|n| n.parse().ok()).unwrap_or(10);
    let moto = Moto::start().expect("moto starts (scripts/bench installs it)");
    let sdk = authz_registry::sdk_loader()
        .endpoint_url(moto.endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new("test", "test", None, None, "bench"))
        .load()
        .await;
    let registry = Registry::new(
        &sdk,
        RegistryConfig { bucket: "policies".to_owned(), table: "policyRegistry".to_owned(), path_style: true },
    );
    registry.ensure_storage().await.unwrap();
    let module = std::fs::read(policy_artifacts::STATIC_TOKEN).unwrap();
    let engine = Engine::new(Limits::default()).unwrap();
    let key = SigningKeyPair::generate().unwrap();
    // Publishes generation `n`, with native code for this machine when `precompiled`.
    let publish = |generation: u32, precompiled: bool| {
        let (registry, module) = (registry.clone(), module.clone());
        let config = config(generation);
        let arch = authz_engine::host_architecture();
        let code: Vec<_> = precompiled
            .then(|| {
                let native =
                    engine.precompile(&module, std::str::from_utf8(&config).unwrap(), &[arch]).unwrap().remove(0);
                key.sign_code(POLICY, &module, &config, arch, native)
            })
            .into_iter()
            .collect();
        async move {
            let p = Publication {
                policy: POLICY,
                module: &module,
                config: &config,
                publisher: "bench",
                signature: None,
                note: None,
                code: &code,
            };
            registry.publish(&p, true, authz_engine::now_ms()).await.unwrap().version
        }
    };
    let cache_dir = std::env::temp_dir().join(format!("authz-hot-swap-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&cache_dir);
    let watch = WatchConfig {
        policy: POLICY.to_owned(),
        check_interval: Duration::ZERO,
        trusted_keys: vec![],
        cache: Some(CodeCache::new(&cache_dir).unwrap()),
        code_keys: vec![key.public()],
    };
    // The authorizer's default limits; Lambda's settings (see host/authorizer).
    let watcher = Arc::new(PolicyWatcher::new(Engine::new(Limits::default()).unwrap(), registry.clone(), watch));
    let mut versions = vec![publish(1, false).await];
    assert!(matches!(watcher.check().await, CheckOutcome::Swapped { .. }));
    assert_eq!(decide(&watcher), "gen-1");

    let mut unchanged = Vec::new();
    for _ in 0..50 {
        let started = Instant::now();
        assert_eq!(watcher.check().await, CheckOutcome::Unchanged);
        unchanged.push(nanos(started.elapsed()));
    }

    // A second thread decides non-stop, recording when each decision started.
    let stop = Arc::new(AtomicBool::new(false));
    let origin = Instant::now();
    let decider = {
        let (watcher, stop) = (Arc::clone(&watcher), Arc::clone(&stop));
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                decide(&watcher);
                seen.push((started.duration_since(origin), started.elapsed()));
            }
            seen
        })
    };
    let mut windows = Vec::new();
    let mut swap_in =
        |loaded_from: LoadedFrom, expect: String, times: &mut Vec<u64>, check: CheckOutcome, started: Instant| {
            assert!(
                matches!(check, CheckOutcome::Swapped { loaded_from: l, .. } if l == loaded_from),
                "expected a swap from {loaded_from:?}: {check:?}"
            );
            let checked = Instant::now();
            assert_eq!(decide(&watcher), expect);
            times.push(nanos(started.elapsed()));
            windows.push((started.duration_since(origin), checked.duration_since(origin)));
        };
    let mut fresh = Vec::new();
    for generation in 2..2 + swaps {
        versions.push(publish(generation, false).await);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = Instant::now();
        let check = watcher.check().await;
        swap_in(LoadedFrom::Compiled, format!("gen-{generation}"), &mut fresh, check, started);
    }
    let mut cached = Vec::new();
    for (i, version) in versions.iter().enumerate().take(usize::try_from(swaps).unwrap()) {
        registry.activate(POLICY, *version, "bench", authz_engine::now_ms()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = Instant::now();
        let check = watcher.check().await;
        swap_in(LoadedFrom::Cache, format!("gen-{}", i + 1), &mut cached, check, started);
    }
    let mut precompiled = Vec::new();
    for generation in 2 + swaps..2 + 2 * swaps {
        publish(generation, true).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
        let started = Instant::now();
        let check = watcher.check().await;
        swap_in(LoadedFrom::Precompiled, format!("gen-{generation}"), &mut precompiled, check, started);
    }
    stop.store(true, Ordering::Relaxed);
    let seen = decider.join().unwrap();
    let (during, between): (Vec<_>, Vec<_>) =
        seen.into_iter().partition(|(at, _)| windows.iter().any(|(from, to)| at >= from && at <= to));

    report("hot-swap", "check, unchanged (GetItem)", unchanged);
    report("hot-swap", "swap to a new version + first decision", fresh);
    report("hot-swap", "swap to a cached version + first decision", cached);
    report("hot-swap", "swap to a version precompiled at publish + first decision", precompiled);
    report(
        "hot-swap",
        "decisions during swaps (2nd thread)",
        during.into_iter().map(|(_, d)| nanos(d)).collect::<Vec<_>>(),
    );
    report(
        "hot-swap",
        "decisions between swaps (2nd thread)",
        between.into_iter().map(|(_, d)| nanos(d)).collect::<Vec<_>>(),
    );
    let _ = std::fs::remove_dir_all(&cache_dir);
}
