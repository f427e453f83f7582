//! Per-decision latency distribution for `scripts/bench`: criterion reports
//! means of batches; p50 and p99 need each decision timed on its own. Included
//! with `#[path]` by the wasm host's decision bench and by the alternatives'
//! bench, so every row of the table is sampled the same way.
#![allow(dead_code)]

use std::time::Instant;

/// Times `n` calls of `f` one by one (after `n / 10` untimed warm-up calls)
/// and returns the latencies in nanoseconds.
pub fn sample<R>(n: usize, mut f: impl FnMut() -> R) -> Vec<u64> {
    for _ in 0..n / 10 {
        std::hint::black_box(f());
    }
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        std::hint::black_box(f());
        times.push(nanos(started.elapsed()));
    }
    times
}

/// [`sample`], calling `between` (untimed) before each call of `f`: for a
/// request path whose preparation happens while the process waits for the
/// next request.
pub fn sample_between<R>(n: usize, mut between: impl FnMut(), mut f: impl FnMut() -> R) -> Vec<u64> {
    for _ in 0..n / 10 {
        between();
        std::hint::black_box(f());
    }
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        between();
        let started = Instant::now();
        std::hint::black_box(f());
        times.push(nanos(started.elapsed()));
    }
    times
}

/// A duration in whole nanoseconds.
pub fn nanos(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The quantile `per_mille / 1000` of sorted `times` (nearest rank).
pub fn quantile(times: &[u64], per_mille: usize) -> u64 {
    let at = (times.len().saturating_sub(1) * per_mille + 500) / 1000;
    times.get(at).copied().unwrap_or_default()
}

/// The head-to-head round this process belongs to (`AUTHZ_BENCH_ROUND`), if
/// any. `scripts/bench` alternates short processes of ours and of the
/// alternatives, round after round, so that the machine's slow spells (runs
/// here swing by 1.6x) fall on both sides; a process in a round samples only
/// the compared rows, reported as suite `round <n> <suite>`, and skips criterion.
pub fn round() -> Option<u32> {
    std::env::var("AUTHZ_BENCH_ROUND").ok()?.parse().ok()
}

/// Samples `f` (see [`sample`]) and reports the result (see [`report`]).
pub fn record<R>(suite: &str, case: &str, n: usize, f: impl FnMut() -> R) {
    report(suite, case, sample(n, f));
}

/// Prints `{suite, case, n, p50_ns, p99_ns, max_ns}` of `times` as one JSON
/// line and, when `AUTHZ_BENCH_OUT` names a directory, appends it to
/// `samples.jsonl` there (what `scripts/bench` reads).
pub fn report(suite: &str, case: &str, mut times: Vec<u64>) {
    times.sort_unstable();
    let line = format!(
        r#"{{"suite":"{suite}","case":"{case}","n":{},"p50_ns":{},"p99_ns":{},"max_ns":{}}}"#,
        times.len(),
        quantile(&times, 500),
        quantile(&times, 990),
        times.last().copied().unwrap_or_default()
    );
    println!("sample {line}");
    if let Some(dir) = std::env::var_os("AUTHZ_BENCH_OUT") {
        use std::io::Write as _;
        let path = std::path::Path::new(&dir).join("samples.jsonl");
        let written =
            std::fs::OpenOptions::new().create(true).append(true).open(&path).and_then(|mut f| writeln!(f, "{line}"));
        if let Err(e) = written {
            eprintln!("cannot append to {}: {e}", path.display());
        }
    }
}
