//! Cold-start costs: what a new authorizer process pays before its first
//! decision. Creating the engine, loading a policy by compiling it (Cranelift)
//! and pre-initializing it, and loading the same policy from the compiled-code
//! cache the authorizer keeps in /tmp (`Engine::load_cached`).
//!
//! Run: `cargo bench -p authz-engine --bench load`. Results: BENCHMARKS.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use authz_engine::{CodeCache, Engine, Limits, LoadedFrom};
use criterion::{Criterion, criterion_group, criterion_main};
use std::time::Duration;

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("cold start");
    group.sample_size(10).measurement_time(Duration::from_secs(10));
    group.bench_function("engine: new", |b| b.iter(|| Engine::new(Limits::default()).unwrap()));
    let engine = Engine::new(Limits::default()).unwrap();
    let dir = std::env::temp_dir().join(format!("authz-load-bench-{}", std::process::id()));
    let cache = CodeCache::new(&dir).unwrap();
    for (name, component, config_file) in [
        ("static-token", policy_artifacts::STATIC_TOKEN, "static-token/config.json"),
        ("jwt", policy_artifacts::JWT_POLICY, "jwt/config.json"),
    ] {
        let bytes = std::fs::read(component).unwrap();
        let config = policy_artifacts::policy_file(config_file);
        group.bench_function(format!("{name}: compile + pre-initialize"), |b| {
            b.iter(|| engine.load(&bytes, &config, None).unwrap())
        });
        let (_, from) = engine.load_cached(&cache, &bytes, &config, None).unwrap();
        assert_eq!(from, LoadedFrom::Compiled);
        group.bench_function(format!("{name}: from the compiled-code cache"), |b| {
            b.iter(|| {
                let (policy, from) = engine.load_cached(&cache, &bytes, &config, None).unwrap();
                assert_eq!(from, LoadedFrom::Cache);
                policy
            })
        });
    }
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
