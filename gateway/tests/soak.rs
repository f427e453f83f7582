//! Soak through the local gateway over real HTTP: sustained requests from
//! three clients (two calling every route, one only what the authorizer
//! answers alone) while the policy is swapped several times and, in the middle,
//! the local AWS (registry and notes table) stops answering for a while
//! (moto frozen with SIGSTOP: connections are accepted, nothing answers).
//!
//! Every answer is checked: no token is always 401, a wrong token always 403,
//! `abc123` always 200 (503 from getNotes only while the notes table is out),
//! `def456` follows the version in force, allowed in one and denied in the
//! other, and matches the version activated before it once the swap has
//! settled. No other 5xx, no wrong decision, and resident memory flat.
//!
//! `AUTHZ_SOAK_SECS` sets the length (default and least 48); `scripts/soak` runs it
//! longer in release and prints the figures recorded in RELIABILITY.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use authz_gateway::ApiKind;
use common::{Local, publish, static_token_config};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The check interval of the harness's watcher is 0.3 s; a swap also
/// downloads and compiles. Past this, the new version must be the one deciding.
const SETTLE: Duration = Duration::from_secs(3);
/// After the outage ends, getNotes' client reconnects within its timeouts.
const OUTAGE_GRACE: Duration = Duration::from_secs(10);
/// Longer than getNotes' DynamoDB operation timeout (5 s), so the outage is
/// seen as such (503s), not as a slow answer.
const OUTAGE: Duration = Duration::from_secs(8);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    NoToken,
    Wrong,
    Abc123,
    Def456,
}

/// What a 403 said, kept instead of the body so the test's own records stay
/// small (their growth would show as the gateway's memory).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Said {
    ExplicitDeny,
    NotAuthorized,
    Other,
}

/// Eight bytes per answer.
struct Answer {
    /// When the request started, in ms since the run started.
    at_ms: u32,
    status: u16,
    caller: Caller,
    said: Said,
}

/// Resident set size of this process, in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

fn signal(pid: u32, sig: &str) {
    assert!(std::process::Command::new("kill").args([sig, &pid.to_string()]).status().unwrap().success());
}

/// Thaws moto even when an assertion fails while it is frozen.
struct Thaw(u32);
impl Drop for Thaw {
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill").args(["-CONT", &self.0.to_string()]).status();
    }
}

#[test]
fn swaps_and_an_outage_under_load_lose_nothing() {
    let secs: u64 = std::env::var("AUTHZ_SOAK_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(48).max(48);
    let total = Duration::from_secs(secs);
    // Cache off: every request is decided by the version in force.
    let local = Local::start_with(ApiKind::Rest, 0, |_| {}, None);
    let allows_def456 = static_token_config();
    let denies_def456 = allows_def456.replacen(
        "\"principal\": \"user2\",\n      \"grants\": [{ \"method\": \"GET\", \"path\": \"/notes\" }]",
        "\"principal\": \"user2\",\n      \"grants\": [{ \"method\": \"GET\", \"path\": \"/elsewhere\" }]",
        1,
    );
    assert_ne!(allows_def456, denies_def456, "the static-token config changed shape");

    let answers = Arc::new(Mutex::new(Vec::<Answer>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let clients: Vec<_> = (0..3)
        .map(|n| {
            let (url, answers, stop) = (local.url.clone(), Arc::clone(&answers), Arc::clone(&stop));
            let ms_since_start = move |t: Instant| u32::try_from((t - started).as_millis()).unwrap_or(u32::MAX);
            std::thread::spawn(move || {
                let agent: ureq::Agent = ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .timeout_global(Some(Duration::from_secs(30)))
                    .build()
                    .into();
                let callers: &[Caller] = if n < 2 {
                    &[Caller::Abc123, Caller::Def456, Caller::Wrong, Caller::NoToken]
                } else {
                    &[Caller::Wrong, Caller::NoToken]
                };
                let mut i = n;
                let mut mine = Vec::with_capacity(1 << 16);
                while !stop.load(Ordering::Relaxed) {
                    let caller = callers[i % callers.len()];
                    i += 1;
                    let (path, token) = match caller {
                        Caller::NoToken => ("/notes?userId=user1&noteId=note1", None),
                        Caller::Wrong => ("/notes?userId=user1&noteId=note1", Some("wrong")),
                        Caller::Abc123 => ("/notes?userId=user1&noteId=note1", Some("abc123")),
                        Caller::Def456 => ("/notes?userId=user2&noteId=note1", Some("def456")),
                    };
                    let mut request = agent.get(format!("{url}{path}"));
                    if let Some(token) = token {
                        request = request.header("Authorization", token);
                    }
                    let at = Instant::now();
                    let (status, body) = match request.call() {
                        Ok(mut r) => (r.status().as_u16(), r.body_mut().read_to_string().unwrap_or_default()),
                        Err(e) => (0, e.to_string()),
                    };
                    let said = if body.contains("explicit deny") {
                        Said::ExplicitDeny
                    } else if body.contains("not authorized") {
                        Said::NotAuthorized
                    } else {
                        Said::Other
                    };
                    mine.push(Answer { at_ms: ms_since_start(at), status, caller, said });
                }
                answers.lock().unwrap().extend(mine);
            })
        })
        .collect();

    // The timeline: the run in 8 to 12 slots of at least 6 s (time for a swap
    // to settle and be checked), a swap at the start of each but the first
    // (alternating the two configs), the outage instead of the swap in the
    // middle one.
    let slots = u32::try_from(secs / 6).unwrap_or(12).clamp(8, 12);
    let at = |slot: u32| started + total.mul_f64(f64::from(slot) / f64::from(slots));
    let mut versions = vec![(started, true)]; // (activated at, def456 allowed)
    let mut rss = vec![(Instant::now(), rss_kib())];
    let swap = |to_allow: bool, versions: &mut Vec<(Instant, bool)>| {
        let config = if to_allow { allows_def456.clone() } else { denies_def456.clone() };
        local.runtime.block_on(publish(&local.registry, config));
        versions.push((Instant::now(), to_allow));
    };
    let sample_until = |t: Instant, rss: &mut Vec<(Instant, u64)>| {
        while Instant::now() < t {
            std::thread::sleep(Duration::from_millis(250).min(t.saturating_duration_since(Instant::now())));
            rss.push((Instant::now(), rss_kib()));
        }
    };
    let pid = local.moto.pid().unwrap();
    let mut outage = (started, started);
    for k in 1..slots {
        sample_until(at(k), &mut rss);
        if k == slots / 2 {
            let from = Instant::now();
            signal(pid, "-STOP");
            let thaw = Thaw(pid);
            sample_until(from + OUTAGE, &mut rss);
            drop(thaw);
            outage = (from, Instant::now());
        } else {
            let allow = !versions.last().unwrap().1;
            swap(allow, &mut versions);
        }
    }
    sample_until(at(slots), &mut rss);
    let (outage_from, outage_to) = outage;
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().unwrap();
    }
    let elapsed = started.elapsed();
    let answers = answers.lock().unwrap();

    // A request in flight when the outage began (getNotes waits up to 5 s) counts too.
    let in_outage = |t: Instant| t + Duration::from_secs(6) >= outage_from && t <= outage_to + OUTAGE_GRACE;
    // The version in force at `t` once settled: activated at least SETTLE
    // before, and the next activation not within a second (a request decides
    // a moment after it starts). `None`: either version may answer.
    let settled = |t: Instant| -> Option<bool> {
        let i = versions.iter().rposition(|(from, _)| *from <= t)?;
        let (from, allowed) = versions[i];
        let next_soon = versions.get(i + 1).is_some_and(|(next, _)| *next < t + Duration::from_secs(1));
        ((i == 0 || t >= from + SETTLE) && !next_soon).then_some(allowed)
    };
    let mut statuses: BTreeMap<(String, u16), u64> = BTreeMap::new();
    let mut wrong = Vec::new();
    let mut expected_5xx = 0;
    let mut version_checked = 0;
    for a in answers.iter() {
        let t = started + Duration::from_millis(u64::from(a.at_ms));
        if a.caller == Caller::Def456 && settled(t).is_some() {
            version_checked += 1;
        }
        *statuses.entry((format!("{:?}", a.caller), a.status)).or_default() += 1;
        let ok = match (a.caller, a.status) {
            (Caller::NoToken, 401) => true,
            (Caller::Wrong, 403) => a.said == Said::ExplicitDeny,
            (Caller::Abc123, 200) => true,
            (Caller::Def456, 200) => settled(t) != Some(false),
            (Caller::Def456, 403) => settled(t) != Some(true) && a.said == Said::NotAuthorized,
            (Caller::Abc123 | Caller::Def456, 503) if in_outage(t) => {
                expected_5xx += 1;
                true
            }
            _ => false,
        };
        if !ok {
            wrong.push(format!("{:?} at {} ms: {} {:?}", a.caller, a.at_ms, a.status, a.said));
        }
    }
    // Memory: after three swaps (the pool's slots keep the images of the
    // last versions they ran until reused, so the first swaps add some),
    // against the end.
    let warm = rss.iter().find(|(t, _)| *t >= versions[3].0).map_or(0, |r| r.1);
    let peak = rss.iter().map(|r| r.1).max().unwrap_or(0);
    let end = rss.last().map_or(0, |r| r.1);
    println!(
        "soak: {} requests in {:.1} s ({:.0}/s), {} swaps, outage {:.1} s; def456 answers checked against the version in force {}; expected 503s {}, wrong {}; RSS KiB warm {} peak {} end {}",
        answers.len(),
        elapsed.as_secs_f64(),
        answers.len() as f64 / elapsed.as_secs_f64(),
        versions.len() - 1,
        (outage_to - outage_from).as_secs_f64(),
        version_checked,
        expected_5xx,
        wrong.len(),
        warm,
        peak,
        end
    );
    println!("soak: answers by caller and status: {statuses:?}");
    let timeline: Vec<String> = rss
        .iter()
        .step_by(20)
        .map(|(t, kib)| format!("{:.0}s {} MiB", (*t - started).as_secs_f64(), kib / 1024))
        .collect();
    println!("soak: RSS every 5 s: {}", timeline.join(", "));
    assert!(
        wrong.is_empty(),
        "{} wrong answers, first ones:\n{}",
        wrong.len(),
        wrong.iter().take(20).cloned().collect::<Vec<_>>().join("\n")
    );
    // Every kind of caller was served in every phase, including the outage (decisions need no registry).
    let in_window = |a: &&Answer| {
        let t = started + Duration::from_millis(u64::from(a.at_ms));
        t >= outage_from && t < outage_to
    };
    let served_during_outage =
        answers.iter().filter(|a| a.caller == Caller::Wrong && a.status == 403).filter(in_window).count();
    assert!(served_during_outage > 0, "no decision was served while the registry was out");
    // Each settled version was seen deciding def456, not only "either version".
    assert!(
        version_checked >= 20 * (versions.len() - 1),
        "only {version_checked} answers were checked against a version"
    );
    assert!(end < warm + 32 * 1024, "resident memory grew from {warm} KiB to {end} KiB");
}
