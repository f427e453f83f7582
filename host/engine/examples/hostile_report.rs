//! The hostile corpus as figures, for RELIABILITY.md: each misbehaviour of
//! `policies/hostile` decided once under the production limits (the
//! template's 100 ms budget and 32 MiB cap), with its outcome, the time to
//! decide, and whether the next request on the same engine, with a
//! well-behaved policy, is served normally.
//!
//! `cargo run --release -p authz-engine --example hostile_report`
//! (with `CARGO_TARGET_DIR` as in scripts/lib.sh); prints a Markdown table.

use authz_engine::{Engine, Limits, Outcome, authorize};
use serde_json::Value;
use std::time::Instant;

fn event(name: &str) -> anyhow::Result<Value> {
    Ok(serde_json::from_str(&policy_artifacts::fixture(name))?)
}

fn main() -> anyhow::Result<()> {
    let engine = Engine::new(Limits::default())?;
    let mut trap_event = event("events/request-abc123.json")?;
    // REST REQUEST events carry headers twice; the multi-value map wins.
    for (field, value) in [("headers", Value::from("1")), ("multiValueHeaders", serde_json::json!(["1"]))] {
        if let Some(headers) = trap_event.get_mut(field).and_then(Value::as_object_mut) {
            headers.insert("x-trap".to_owned(), value);
        }
    }
    let hostile = std::fs::read(policy_artifacts::HOSTILE)?;
    let good = engine.load(
        &std::fs::read(policy_artifacts::STATIC_TOKEN)?,
        &policy_artifacts::policy_file("static-token/config.json"),
        None,
    )?;
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let escape = format!(r#"{{"mode":"escape","port":{}}}"#, listener.local_addr()?.port());
    let cases: Vec<(&str, String)> = vec![
        ("control: well-behaved", r#"{"mode":"ok"}"#.into()),
        ("infinite loop", r#"{"mode":"loop"}"#.into()),
        ("slow, 50 ms (inside the 100 ms budget)", r#"{"mode":"slow","millis":50}"#.into()),
        ("slow, 90 ms (near the deadline)", r#"{"mode":"slow","millis":90}"#.into()),
        ("slow, 150 ms (past the deadline)", r#"{"mode":"slow","millis":150}"#.into()),
        ("allocates 24 MB (under the 32 MiB cap)", r#"{"mode":"alloc-bytes","bytes":24000000}"#.into()),
        ("allocates 40 MB (over the cap)", r#"{"mode":"alloc-bytes","bytes":40000000}"#.into()),
        ("allocates without bound", r#"{"mode":"alloc"}"#.into()),
        ("unbounded recursion", r#"{"mode":"recurse"}"#.into()),
        ("panics (echoing the token)", r#"{"mode":"panic"}"#.into()),
        ("traps on some inputs: plain request", r#"{"mode":"trap-if-header"}"#.into()),
        ("traps on some inputs: request with x-trap", r#"{"mode":"trap-if-header"}"#.into()),
        ("returns a policy error", r#"{"mode":"error"}"#.into()),
        ("context of 1,000 keys", r#"{"mode":"huge-context","entries":1000,"value_len":10}"#.into()),
        ("context value of 100 KB", r#"{"mode":"huge-context","entries":10,"value_len":100000}"#.into()),
        ("principal of 2 MB", r#"{"mode":"huge-principal","len":2000000}"#.into()),
        ("5,000 grants", r#"{"mode":"many-grants","count":5000}"#.into()),
        ("grant path without a leading /", r#"{"mode":"bad-grant","method":"GET","path":"notes"}"#.into()),
        ("grant path injecting JSON", r#"{"mode":"bad-grant","method":"GET","path":"/notes\"]}"}"#.into()),
        ("allow without grants", r#"{"mode":"allow-without-grants"}"#.into()),
        ("principal that is not UTF-8", r#"{"mode":"invalid-utf8"}"#.into()),
        ("tries files, environment, sockets", escape),
        ("keeps state across decisions (second decision)", r#"{"mode":"remember","bytes":300000}"#.into()),
    ];
    println!("| hostile policy | outcome | time to decide | next request served normally |");
    println!("|---|---|---|---|");
    for (name, config) in cases {
        let policy = engine.load(&hostile, &config, None)?;
        let request = if name.contains("x-trap") {
            trap_event.clone()
        } else if name.contains("plain request") {
            event("events/request-abc123.json")?
        } else {
            event("events/token-abc123.json")?
        };
        let second = name.contains("second decision");
        if second {
            authorize(&engine, Some(&policy), request.clone(), "Authorization", authz_engine::now_ms());
        }
        let started = Instant::now();
        let (verdict, _) = authorize(&engine, Some(&policy), request, "Authorization", authz_engine::now_ms());
        let took = started.elapsed();
        let outcome = match &verdict.outcome {
            Outcome::Allow(a) if second => {
                let decisions = a.context.get("decisions").map_or_else(String::new, ToString::to_string);
                format!("allow with `decisions` = {decisions}: nothing survived the first decision")
            }
            Outcome::Allow(a) => format!("allow as `{}`", a.principal_id),
            Outcome::Deny { principal_id, .. } => format!("deny as `{principal_id}`"),
            Outcome::Unauthorized => "401".to_owned(),
            Outcome::FailClosed(f) => format!("fail closed: {}", first_line(&f.to_string())),
        };
        let (after, _) = authorize(
            &engine,
            Some(&good),
            event("events/token-abc123.json")?,
            "Authorization",
            authz_engine::now_ms(),
        );
        let next = matches!(after.outcome, Outcome::Allow(ref a) if a.principal_id == "user1");
        println!(
            "| {name} | {outcome} | {:.2} ms | {} |",
            took.as_secs_f64() * 1e3,
            if next { "yes" } else { "**no**" }
        );
    }
    Ok(())
}

fn first_line(s: &str) -> String {
    let line = s.lines().next().unwrap_or_default();
    let short: String = line.chars().take(90).collect();
    if short.len() < line.len() { format!("{short}...") } else { short }
}
