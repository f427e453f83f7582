//! What wasmtime charges to lower a decision's request into a component, by
//! the shape of the contract's `request` record: 0.1.0's (the method ARN in
//! seven strings, four lists always present) and 0.2.0's (one string, absent
//! lists). The evidence for contract 0.2.0 (BENCHMARKS.md).
//!
//! The component is written by hand: its functions do nothing and its
//! `cabi_realloc` is a bump pointer, so what is timed is the call and the
//! canonical ABI's lowering, which calls back into the guest's realloc once
//! for every string and list, empty or not. The TOKEN request is the one the
//! authorizer builds from the fixture event, in each version's shape.
//!
//! scripts/bench builds it; to run it alone, with scripts/lib.sh sourced:
//! `cargo build --profile bench -p authz-engine -p authz-registry -p authz-authorizer --example lowering_cost`
//! (scripts/bench's package set, so nothing is rebuilt), then
//! `$CARGO_TARGET_DIR/release/examples/lowering_cost`.
#![allow(missing_docs, reason = "record fields mirror the WIT written below")]
#![allow(clippy::indexing_slicing, reason = "every row has ROUNDS times")]

use authz_engine::{AuthorizerEvent, Request, RequestKind};
use std::time::Instant;
use wasmtime::component::{Component, ComponentType, Linker, Lower};
use wasmtime::{Engine, Store};

/// The `request` records of `authz:policy@0.1.0` and `@0.2.0`.
const COMPONENT: &str = r#"
(component
  (core module $m
    (memory (export "memory") 1)
    (global $bump (mut i32) (i32.const 1024))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      (if (i32.gt_u (i32.add (global.get $bump) (local.get 3)) (i32.const 60000))
        (then (global.set $bump (i32.const 1024))))
      (local.set $p (i32.and (i32.add (global.get $bump) (i32.sub (local.get 2) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get 2))))
      (global.set $bump (i32.add (local.get $p) (local.get 3)))
      (local.get $p))
    (func (export "nothing"))
    (func (export "one") (param i32 i32))
    (func (export "request") (param i32))
  )
  (core instance $i (instantiate $m))
  (type $kind (enum "token" "request" "http-v1" "http-v2" "websocket"))
  (export $kind' "request-kind" (type $kind))
  (type $arn (record (field "partition" string) (field "region" string) (field "account-id" string)
    (field "api-id" string) (field "stage" string) (field "method" string) (field "path" string)))
  (export $arn' "method-arn" (type $arn))
  (type $pairs (list (tuple string string)))
  (type $v1 (record (field "kind" $kind') (field "identity" (option string)) (field "method-arn" $arn')
    (field "headers" $pairs) (field "query" $pairs) (field "path-parameters" $pairs)
    (field "stage-variables" $pairs) (field "source-ip" (option string)) (field "user-agent" (option string))
    (field "request-id" (option string)) (field "now-ms" u64)))
  (export $v1' "request" (type $v1))
  (type $v2 (record (field "kind" $kind') (field "identity" (option string)) (field "method-arn" string)
    (field "headers" (option $pairs)) (field "query" (option $pairs)) (field "path-parameters" (option $pairs))
    (field "stage-variables" (option $pairs)) (field "source-ip" (option string))
    (field "user-agent" (option string)) (field "request-id" (option string)) (field "now-ms" u64)))
  (export $v2' "request-v2" (type $v2))
  (func (export "nothing") (canon lift (core func $i "nothing")))
  (func (export "one") (param "s" string)
    (canon lift (core func $i "one") (memory (core memory $i "memory")) (realloc (core func $i "realloc"))))
  (func (export "v1") (param "r" $v1')
    (canon lift (core func $i "request") (memory (core memory $i "memory")) (realloc (core func $i "realloc"))))
  (func (export "v2") (param "r" $v2')
    (canon lift (core func $i "request") (memory (core memory $i "memory")) (realloc (core func $i "realloc"))))
)
"#;

type Pairs = Vec<(String, String)>;

#[derive(ComponentType, Lower)]
#[component(record)]
struct MethodArnV1 {
    partition: String,
    region: String,
    #[component(name = "account-id")]
    account_id: String,
    #[component(name = "api-id")]
    api_id: String,
    stage: String,
    method: String,
    path: String,
}

#[derive(ComponentType, Lower)]
#[component(record)]
struct RequestV1 {
    kind: RequestKind,
    identity: Option<String>,
    #[component(name = "method-arn")]
    method_arn: MethodArnV1,
    headers: Pairs,
    query: Pairs,
    #[component(name = "path-parameters")]
    path_parameters: Pairs,
    #[component(name = "stage-variables")]
    stage_variables: Pairs,
    #[component(name = "source-ip")]
    source_ip: Option<String>,
    #[component(name = "user-agent")]
    user_agent: Option<String>,
    #[component(name = "request-id")]
    request_id: Option<String>,
    #[component(name = "now-ms")]
    now_ms: u64,
}

impl RequestV1 {
    fn from(r: &Request) -> Self {
        let arn = &r.method_arn;
        RequestV1 {
            kind: r.kind,
            identity: r.identity.clone(),
            method_arn: MethodArnV1 {
                partition: arn.partition().to_owned(),
                region: arn.region().to_owned(),
                account_id: arn.account_id().to_owned(),
                api_id: arn.api_id().to_owned(),
                stage: arn.stage().to_owned(),
                method: arn.method().to_owned(),
                path: arn.path().to_owned(),
            },
            headers: r.headers.clone(),
            query: r.query.clone(),
            path_parameters: r.path_parameters.clone(),
            stage_variables: r.stage_variables.clone(),
            source_ip: r.source_ip.clone(),
            user_agent: r.user_agent.clone(),
            request_id: r.request_id.clone(),
            now_ms: r.now_ms,
        }
    }
}

#[derive(ComponentType, Lower)]
#[component(record)]
struct RequestV2 {
    kind: RequestKind,
    identity: Option<String>,
    #[component(name = "method-arn")]
    method_arn: String,
    headers: Option<Pairs>,
    query: Option<Pairs>,
    #[component(name = "path-parameters")]
    path_parameters: Option<Pairs>,
    #[component(name = "stage-variables")]
    stage_variables: Option<Pairs>,
    #[component(name = "source-ip")]
    source_ip: Option<String>,
    #[component(name = "user-agent")]
    user_agent: Option<String>,
    #[component(name = "request-id")]
    request_id: Option<String>,
    #[component(name = "now-ms")]
    now_ms: u64,
}

impl RequestV2 {
    fn from(r: &Request) -> Self {
        let present = |pairs: &Pairs| (!pairs.is_empty()).then(|| pairs.clone());
        RequestV2 {
            kind: r.kind,
            identity: r.identity.clone(),
            method_arn: r.method_arn.as_str().to_owned(),
            headers: present(&r.headers),
            query: present(&r.query),
            path_parameters: present(&r.path_parameters),
            stage_variables: present(&r.stage_variables),
            source_ip: r.source_ip.clone(),
            user_agent: r.user_agent.clone(),
            request_id: r.request_id.clone(),
            now_ms: r.now_ms,
        }
    }
}

const CALLS: u32 = 200_000;
const ROUNDS: usize = 9;

type Call<'a> = &'a dyn Fn(&mut Store<()>) -> wasmtime::Result<()>;

/// Mean time per call over [`CALLS`] calls, in nanoseconds.
fn time(store: &mut Store<()>, call: Call<'_>) -> wasmtime::Result<f64> {
    let started = Instant::now();
    for _ in 0..CALLS {
        call(store)?;
    }
    Ok(started.elapsed().as_secs_f64() * 1e9 / f64::from(CALLS))
}

fn main() -> wasmtime::Result<()> {
    let event = policy_artifacts::fixture("events/token-abc123.json");
    let request = AuthorizerEvent::from_json(&event)?.into_request("Authorization", authz_engine::now_ms())?;
    let (request_v1, request_v2) = (RequestV1::from(&request), RequestV2::from(&request));

    // The engine's settings for generated code, without its pool or limits.
    let mut config = wasmtime::Config::new();
    config.epoch_interruption(true);
    let engine = Engine::new(&config)?;
    let component = Component::new(&engine, wat::parse_str(COMPONENT)?)?;
    let mut store = Store::new(&engine, ());
    store.set_epoch_deadline(u64::MAX / 2);
    let instance = Linker::new(&engine).instantiate(&mut store, &component)?;
    let nothing = instance.get_typed_func::<(), ()>(&mut store, "nothing")?;
    let one = instance.get_typed_func::<(&str,), ()>(&mut store, "one")?;
    let v1 = instance.get_typed_func::<(&RequestV1,), ()>(&mut store, "v1")?;
    let v2 = instance.get_typed_func::<(&RequestV2,), ()>(&mut store, "v2")?;

    let rows: [(&str, Call<'_>); 4] = [
        ("a call with no arguments", &|store| nothing.call(store, ())),
        ("a call with one string", &|store| one.call(store, ("abc123",))),
        ("the TOKEN request, authz:policy@0.1.0", &|store| v1.call(store, (&request_v1,))),
        ("the TOKEN request, authz:policy@0.2.0", &|store| v2.call(store, (&request_v2,))),
    ];
    // Rows take turns within each round, so that the machine's slow spells
    // fall on all of them.
    let mut times = vec![Vec::with_capacity(ROUNDS); rows.len()];
    for _ in 0..ROUNDS {
        for ((_, call), times) in rows.iter().zip(&mut times) {
            times.push(time(&mut store, *call)?);
        }
    }
    println!(
        "| call into the component | ns per call (median of {ROUNDS} rounds of {CALLS}) | fastest - slowest round |"
    );
    println!("|---|---|---|");
    for ((name, _), mut times) in rows.into_iter().zip(times) {
        times.sort_by(f64::total_cmp);
        let (median, fastest, slowest) = (times[ROUNDS / 2], times[0], times[ROUNDS - 1]);
        println!("| {name} | {median:.0} | {fastest:.0} - {slowest:.0} |");
    }
    Ok(())
}
