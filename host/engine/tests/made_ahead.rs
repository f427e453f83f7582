//! Instances made ahead of the request by `Engine::tidy`: each still serves
//! one decision, gets its whole deadline from the moment it is used, belongs
//! to its policy version only, and the pool never runs out because of them,
//! whether the host tidies after every decision, now and then, or never.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use authz_engine::{Engine, Failure, Limits, Outcome};
use common::*;
use policy_artifacts::fixture;
use std::time::Duration;

fn limits() -> Limits {
    Limits { decision_timeout: Duration::from_millis(50), max_memory_bytes: 16 << 20, ..Limits::default() }
}

#[test]
fn a_spare_made_long_before_the_request_gets_the_whole_deadline() {
    let engine = Engine::new(limits()).unwrap();
    let good = static_token(&engine);
    let slow = load(&engine, policy_artifacts::HOSTILE, r#"{"mode":"slow","millis":20}"#);
    engine.tidy(&good);
    engine.tidy(&slow);
    // Several deadlines pass before the request arrives.
    std::thread::sleep(Duration::from_millis(200));
    let (v, _) = run(&engine, &good, &fixture("events/token-abc123.json"));
    assert!(v.made_ahead && matches!(v.outcome, Outcome::Allow(_)), "{v:?}");
    let (v, _) = run(&engine, &slow, &fixture("events/token-abc123.json"));
    assert!(v.made_ahead && matches!(v.outcome, Outcome::Allow(_)), "a 20 ms decision within 50 ms: {v:?}");

    let looping = load(&engine, policy_artifacts::HOSTILE, r#"{"mode":"loop"}"#);
    engine.tidy(&looping);
    std::thread::sleep(Duration::from_millis(200));
    let (v, _) = run(&engine, &looping, &fixture("events/token-abc123.json"));
    assert!(v.made_ahead, "{v:?}");
    assert_eq!(v.outcome, Outcome::FailClosed(Failure::Timeout { budget_ms: 50 }));
    assert!(v.latency >= Duration::from_millis(45), "deadline fired early: {:?}", v.latency);
}

#[test]
fn each_policy_version_decides_with_its_own_instances() {
    let engine = Engine::new(limits()).unwrap();
    let allow = static_token(&engine);
    let deny = load(
        &engine,
        policy_artifacts::STATIC_TOKEN,
        &format!(
            r#"{{"tokens":{{"{}":{{"principal":"u","grants":[{{"method":"GET","path":"/notes"}}]}}}}}}"#,
            "0".repeat(64)
        ),
    );
    for _ in 0..3 {
        engine.tidy(&allow);
        engine.tidy(&deny);
        let (a, _) = run(&engine, &allow, &fixture("events/token-abc123.json"));
        let (d, _) = run(&engine, &deny, &fixture("events/token-abc123.json"));
        assert!(matches!(a.outcome, Outcome::Allow(_)), "{a:?}");
        assert!(a.made_ahead && d.made_ahead, "{a:?} {d:?}");
        assert!(!matches!(d.outcome, Outcome::Allow(_)), "{d:?}");
    }
}

/// Eight threads deciding back to back on a pool sized for eight, while a
/// ninth tidies as fast as it can: spares are taken and made concurrently,
/// used stores pile up and are dropped by whoever gets there, and not one
/// decision fails for want of a slot.
#[test]
fn tidying_beside_decisions_never_exhausts_the_pool() {
    let engine = Engine::new(Limits { max_concurrent_decisions: 8, ..limits() }).unwrap();
    let policy = static_token(&engine);
    let done = std::sync::atomic::AtomicBool::new(false);
    let made_ahead = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        s.spawn(|| {
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                engine.tidy(&policy);
            }
        });
        let deciders: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    for i in 0..300 {
                        let (v, _) = run(&engine, &policy, &fixture("events/token-abc123.json"));
                        assert!(matches!(v.outcome, Outcome::Allow(_)), "decision {i}: {:?}", v.outcome);
                        if v.made_ahead {
                            made_ahead.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        for decider in deciders {
            decider.join().unwrap();
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
    });
    assert!(made_ahead.into_inner() > 0, "no decision got an instance made ahead");
    engine.tidy(&policy);
    let (v, _) = run(&engine, &policy, &fixture("events/token-abc123.json"));
    assert!(v.made_ahead && matches!(v.outcome, Outcome::Allow(_)), "{v:?}");
}
