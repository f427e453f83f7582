//! Decision latency: each shipped policy as a component (a fresh sandboxed
//! instance per decision, made ahead by `Engine::tidy` between requests as in
//! production, and made inline when never tidied) next to the same logic compiled
//! natively (the floor), plus the whole authorizer path (event bytes in,
//! response bytes out, as the Lambda runtime hands them over). Besides
//! criterion's estimates, each row is sampled decision by decision for p50
//! and p99 (`bench/sample.rs`). With `AUTHZ_BENCH_ROUND` set, only the rows
//! compared head to head with the alternatives are sampled (`sample::round`).
//!
//! Run: `cargo bench -p authz-engine --bench decision`, or the whole suite
//! with `scripts/bench`. Results: BENCHMARKS.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

#[path = "../../../bench/sample.rs"]
mod sample;

// The authorizer binary's allocator, so that the full path costs what it
// costs there.
use authz_allocator as _;

use authz_engine::{Engine, Limits, authorize_json};
use authz_policy::{MethodArn, Policy as _, Request, RequestKind, parse_config};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::{Duration, Instant};

const NOW_MS: u64 = 1_767_225_600_000;

fn arn() -> MethodArn {
    MethodArn {
        partition: "aws".into(),
        region: "us-east-1".into(),
        account_id: "123456789012".into(),
        api_id: "a1b2c3d4e5".into(),
        stage: "prod".into(),
        method: "GET".into(),
        path: "/notes".into(),
    }
}

fn jwt_token() -> String {
    let tokens: serde_json::Value =
        serde_json::from_str(&policy_artifacts::policy_file("jwt/testdata/tokens.json")).unwrap();
    format!("Bearer {}", tokens["hs256_user1"].as_str().unwrap())
}

fn token_event(token: &str) -> serde_json::Value {
    serde_json::json!({
        "type": "TOKEN",
        "authorizationToken": token,
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/notes",
    })
}

fn bench(c: &mut Criterion) {
    let engine = Engine::new(Limits::default()).unwrap();
    let samples: usize = std::env::var("AUTHZ_BENCH_SAMPLES").ok().and_then(|n| n.parse().ok()).unwrap_or(20_000);
    let round = sample::round();
    let cases = [
        ("static-token", policy_artifacts::STATIC_TOKEN, "static-token/config.json", "abc123".to_owned()),
        ("static-token deny", policy_artifacts::STATIC_TOKEN, "static-token/config.json", "wrong-token".to_owned()),
        ("jwt-hs256", policy_artifacts::JWT_POLICY, "jwt/config.json", jwt_token()),
    ];
    for (name, component, config_file, token) in cases {
        let config = policy_artifacts::policy_file(config_file);
        let bytes = std::fs::read(component).unwrap();
        let policy = engine.load(&bytes, &config, None).unwrap();
        let event = token_event(&token);
        let request = serde_json::from_value::<authz_engine::AuthorizerEvent>(event.clone())
            .unwrap()
            .into_request("Authorization", NOW_MS)
            .unwrap();
        let outcome = engine.decide(&policy, &request).outcome;
        if name.ends_with("deny") {
            assert!(matches!(outcome, authz_engine::Outcome::Deny { .. }), "{outcome:?}");
        } else {
            assert!(matches!(outcome, authz_engine::Outcome::Allow(_)), "{outcome:?}");
        }
        let event_bytes = serde_json::to_vec(&event).unwrap();
        // What the Lambda binary does per invocation: the runtime reads the
        // body as raw JSON, the handler decides, the runtime serializes.
        let settings = authz_engine::Settings::default();
        let full_path = || {
            let event: Box<serde_json::value::RawValue> = serde_json::from_slice(black_box(&event_bytes)).unwrap();
            let (_, response) = authorize_json(&engine, Some(&policy), event.get(), &settings, NOW_MS);
            serde_json::to_vec(&response).unwrap()
        };

        // The production path: the host tidied after the last answer (the
        // Lambda runtime does after posting the response), untimed: the
        // decision's instance is made and the last one dropped.
        let idle = || engine.tidy(&policy);
        let decide = || engine.decide(&policy, black_box(&request));
        if let Some(round) = round {
            let suite = format!("round {round} wasm");
            sample::report(&suite, &format!("{name} decide"), sample::sample_between(samples, idle, decide));
            sample::report(&suite, &format!("{name} full"), sample::sample_between(samples, idle, &full_path));
            continue;
        }
        let mut group = c.benchmark_group(name);
        group.bench_function("wasm: fresh instance made ahead", |b| {
            b.iter_custom(|iters| timed_between(iters, idle, decide))
        });
        group.bench_function("wasm: full authorizer path (event bytes -> response bytes)", |b| {
            b.iter_custom(|iters| timed_between(iters, idle, &full_path))
        });
        // Never tidied: each decision instantiates inline and drops a store.
        group.bench_function("wasm: fresh instance, never tidied", |b| {
            b.iter(|| black_box(engine.decide(&policy, black_box(&request))))
        });
        // The host's own share of the full path, around the decision.
        let read_event = || {
            let event: Box<serde_json::value::RawValue> = serde_json::from_slice(black_box(&event_bytes)).unwrap();
            authz_engine::AuthorizerEvent::from_json(event.get())
                .unwrap()
                .into_request("Authorization", NOW_MS)
                .unwrap()
        };
        let write_response = || {
            let response =
                authz_engine::respond_for(&outcome, Some(&request.method_arn), request.kind, settings.response_format);
            serde_json::to_vec(&response).unwrap()
        };
        group.bench_function("host: event bytes -> request record", |b| b.iter(read_event));
        group.bench_function("host: outcome -> response bytes", |b| b.iter(write_response));
        sample::report("wasm", &format!("{name} decide"), sample::sample_between(samples, idle, decide));
        sample::report("wasm", &format!("{name} full"), sample::sample_between(samples, idle, &full_path));
        sample::record("wasm", &format!("{name} decide never-tidied"), samples, decide);
        sample::record("host", &format!("{name} read event"), samples, read_event);
        sample::record("host", &format!("{name} write response"), samples, write_response);

        let mut native_request = Request::new(RequestKind::Token, arn());
        native_request.identity = Some(token.clone());
        native_request.now_ms = NOW_MS;
        match name {
            "static-token" | "static-token deny" => {
                use static_token::StaticToken as P;
                let parsed = parse_config::<P>(&config).unwrap();
                group.bench_function("native: parse config + decide", |b| {
                    b.iter(|| {
                        let c = parse_config::<P>(black_box(&config)).unwrap();
                        black_box(P::decide(&c, black_box(&native_request)))
                    })
                });
                group.bench_function("native: decide (config parsed once)", |b| {
                    b.iter(|| black_box(P::decide(&parsed, black_box(&native_request))))
                });
                sample::record("wasm-native", &format!("{name} decide"), samples, || {
                    P::decide(&parsed, black_box(&native_request))
                });
            }
            _ => {
                use jwt_policy::Jwt as P;
                let parsed = parse_config::<P>(&config).unwrap();
                group.bench_function("native: parse config + decide", |b| {
                    b.iter(|| {
                        let c = parse_config::<P>(black_box(&config)).unwrap();
                        black_box(P::decide(&c, black_box(&native_request)))
                    })
                });
                group.bench_function("native: decide (config parsed once)", |b| {
                    b.iter(|| black_box(P::decide(&parsed, black_box(&native_request))))
                });
                sample::record("wasm-native", &format!("{name} decide"), samples, || {
                    P::decide(&parsed, black_box(&native_request))
                });
            }
        }
        group.finish();
    }
    if round.is_none() {
        contract_0_1_0(c, &engine, samples);
    }
}

/// The static-token module as published before contract 0.2.0
/// (tests/fixtures/policies): what a module nobody rebuilt costs, next to
/// the same policy built against 0.2.0 above.
fn contract_0_1_0(c: &mut Criterion, engine: &Engine, samples: usize) {
    let config = policy_artifacts::policy_file("static-token/config.json");
    let policy =
        engine.load(&std::fs::read(policy_artifacts::STATIC_TOKEN_CONTRACT_0_1_0).unwrap(), &config, None).unwrap();
    let request = serde_json::from_value::<authz_engine::AuthorizerEvent>(token_event("abc123"))
        .unwrap()
        .into_request("Authorization", NOW_MS)
        .unwrap();
    assert!(matches!(engine.decide(&policy, &request).outcome, authz_engine::Outcome::Allow(_)));
    let idle = || engine.tidy(&policy);
    let decide = || engine.decide(&policy, black_box(&request));
    c.benchmark_group("static-token contract 0.1.0").bench_function("wasm: fresh instance made ahead", |b| {
        b.iter_custom(|iters| timed_between(iters, idle, decide))
    });
    sample::report("wasm", "static-token contract-0.1.0 decide", sample::sample_between(samples, idle, decide));
}

/// Total time of `iters` calls of `f`, each after an untimed call of `between`.
fn timed_between<R>(iters: u64, mut between: impl FnMut(), mut f: impl FnMut() -> R) -> Duration {
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        between();
        let started = Instant::now();
        black_box(f());
        total += started.elapsed();
    }
    total
}

criterion_group!(benches, bench);
criterion_main!(benches);
