//! Per-decision latency of the alternatives (event bytes in, response bytes
//! out), criterion's estimate plus a per-decision sample for p50/p99. With
//! `AUTHZ_BENCH_ROUND` set, only the per-decision samples (`sample::round`).
//!
//! Run: `cargo bench --profile alternatives --manifest-path bench/alternatives/Cargo.toml`, or the
//! whole suite with `scripts/bench`. Results: BENCHMARKS.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

#[path = "../../sample.rs"]
mod sample;

use authz_alternatives::{cedar::CedarAuthorizer, events, native};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let cedar = CedarAuthorizer::new().unwrap();
    let samples: usize = std::env::var("AUTHZ_BENCH_SAMPLES").ok().and_then(|n| n.parse().ok()).unwrap_or(20_000);
    for (case, event) in [("allow", events::ALLOW), ("deny", events::DENY)] {
        if let Some(round) = sample::round() {
            let suite = |who: &str| format!("round {round} {who}");
            sample::record(&suite("native"), &format!("{case} full"), samples, || {
                native::authorize(black_box(event)).unwrap()
            });
            sample::record(&suite("cedar"), &format!("{case} full"), samples, || {
                cedar.authorize(black_box(event)).unwrap()
            });
            continue;
        }
        let mut group = c.benchmark_group(format!("alternatives {case}"));
        group.bench_function("native hard-coded", |b| b.iter(|| native::authorize(black_box(event)).unwrap()));
        group.bench_function("cedar", |b| b.iter(|| cedar.authorize(black_box(event)).unwrap()));
        group.finish();
        sample::record("native", &format!("{case} full"), samples, || native::authorize(black_box(event)).unwrap());
        sample::record("cedar", &format!("{case} full"), samples, || cedar.authorize(black_box(event)).unwrap());
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
