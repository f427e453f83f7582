//! Per-decision latency distribution for `scripts/bench`: criterion reports
//! means of batches; p50 and p99 need each decision timed on its own. Included
//! with `#[path]` by the wasm host's decision bench and by the alternatives'
//! bench, so every row of the table is sampled the same way.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// The fastest [`probe`] of this process so far: the machine's steady speed.
static FASTEST_PROBE: AtomicU64 = AtomicU64::new(u64::MAX);

/// Latencies of one row, in nanoseconds: every timed call, and the calls made
/// while the machine ran at its steady speed.
///
/// The vCPUs of this machine kind lose up to half their speed for stretches of
/// tens to hundreds of milliseconds, with no steal time counted: a fixed
/// integer loop on its own swings 2x, and a decision's p50 follows it
/// (static-token 2.8 vs 4.3 µs in one process). Sampling therefore runs
/// [`probe`] between chunks of calls; a chunk counts as steady when the probes
/// on both sides of it ran within 1.25x of the fastest probe the process has
/// seen.
pub struct Samples {
    pub all: Vec<u64>,
    pub steady: Vec<u64>,
    /// The probe's times around the chunks (empty when not probed).
    pub probes: Vec<u64>,
}

impl From<Vec<u64>> for Samples {
    fn from(all: Vec<u64>) -> Self {
        Samples { all, steady: Vec::new(), probes: Vec::new() }
    }
}

/// Calls timed between two probes: short enough that the machine's speed
/// rarely changes within one (~0.1-2 ms here).
const CHUNK: usize = 100;

/// The machine's speed right now: the time of a fixed integer workload
/// (~0.1 ms at this machine kind's steady speed).
pub fn probe() -> u64 {
    let started = Instant::now();
    let (mut a, mut b, mut c, mut d) = (1u32, 2u32, 3u32, 4u32);
    let mut mem = [0u32; 64];
    for i in 0..60_000usize {
        a = a.wrapping_add(b.rotate_left(7) ^ c);
        b = b.wrapping_add(c.rotate_left(13) ^ d);
        c = c.wrapping_add(d.rotate_left(3) ^ a);
        d = d.wrapping_add(std::hint::black_box(mem[i & 63]));
        mem[(i * 7) & 63] = a ^ d;
    }
    std::hint::black_box((a, b, c, d));
    let took = nanos(started.elapsed());
    FASTEST_PROBE.fetch_min(took, Ordering::Relaxed);
    took
}

/// Times `n` calls of `f` one by one (after `n / 10` untimed warm-up calls),
/// probing the machine's speed between chunks (see [`Samples`]).
pub fn sample<R>(n: usize, f: impl FnMut() -> R) -> Samples {
    sample_between(n, || {}, f)
}

/// [`sample`], calling `between` (untimed) before each call of `f`: for a
/// request path whose preparation happens while the process waits for the
/// next request.
pub fn sample_between<R>(n: usize, mut between: impl FnMut(), mut f: impl FnMut() -> R) -> Samples {
    for _ in 0..n / 10 {
        between();
        std::hint::black_box(f());
    }
    let mut all = Vec::with_capacity(n);
    let mut probes = vec![probe()];
    while all.len() < n {
        for _ in 0..CHUNK.min(n - all.len()) {
            between();
            let started = Instant::now();
            std::hint::black_box(f());
            all.push(nanos(started.elapsed()));
        }
        probes.push(probe());
    }
    let fastest = FASTEST_PROBE.load(Ordering::Relaxed);
    let steady_speed = |probe: u64| probe <= fastest + fastest / 4;
    let steady = all
        .chunks(CHUNK)
        .zip(probes.windows(2))
        .filter(|(_, around)| around.iter().all(|&p| steady_speed(p)))
        .flat_map(|(chunk, _)| chunk.iter().copied())
        .collect();
    Samples { all, steady, probes }
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

/// Prints `{suite, case, n, p50_ns, p99_ns, max_ns}` of the samples as one
/// JSON line, with `steady: {n, p50_ns, p99_ns}` (no quantiles when `n` is 0)
/// and `probe_ns: {min, median}` when they were probed, and, when
/// `AUTHZ_BENCH_OUT` names a directory, appends it to `samples.jsonl` there
/// (what `scripts/bench` reads).
pub fn report(suite: &str, case: &str, samples: impl Into<Samples>) {
    let Samples { mut all, mut steady, mut probes } = samples.into();
    all.sort_unstable();
    let mut line = format!(
        r#"{{"suite":"{suite}","case":"{case}","n":{},"p50_ns":{},"p99_ns":{},"max_ns":{}"#,
        all.len(),
        quantile(&all, 500),
        quantile(&all, 990),
        all.last().copied().unwrap_or_default()
    );
    if !probes.is_empty() {
        steady.sort_unstable();
        probes.sort_unstable();
        // A row sampled wholly in a slow stretch has no steady calls: `n` 0, no quantiles.
        let quantiles = if steady.is_empty() {
            String::new()
        } else {
            format!(r#","p50_ns":{},"p99_ns":{}"#, quantile(&steady, 500), quantile(&steady, 990))
        };
        line += &format!(
            r#","steady":{{"n":{}{quantiles}}},"probe_ns":{{"min":{},"median":{}}}"#,
            steady.len(),
            probes[0],
            quantile(&probes, 500)
        );
    }
    line.push('}');
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
