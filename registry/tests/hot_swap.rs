//! The registry and the hot-swap watcher against a real local S3 and
//! DynamoDB (moto, started and stopped by each test).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, missing_docs)]

use authz_engine::{AuthorizerResponse, CodeCache, Engine, Limits, LoadedFrom, authorize};
use authz_local::Moto;
use authz_registry::signing::{SigningKeyPair, TrustedKey};
use authz_registry::{
    CheckOutcome, Lease, MAX_OBJECT_BYTES, PolicyWatcher, Publication, Registry, RegistryConfig, RegistryError,
    WatchConfig,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

mod fault_proxy;
use fault_proxy::{Fault, FaultProxy, Step};

const POLICY: &str = "notes-authz";
/// SHA-256 of `abc123`, the token every decision here presents.
const ABC123: &str = "6ca13d52ca70c883e0f0bb101e425a89e8624de51db2d2392593af6a84118090";

struct Stack {
    moto: Moto,
    sdk: aws_config::SdkConfig,
    registry: Registry,
}

async fn sdk_for(endpoint: &str) -> aws_config::SdkConfig {
    authz_registry::sdk_loader_for(Some(endpoint))
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new("test", "test", None, None, "test"))
        .load()
        .await
}

async fn stack() -> Stack {
    let moto = Moto::start().expect("moto starts (scripts/test installs it)");
    let sdk = sdk_for(&moto.endpoint()).await;
    let registry = registry_on(&sdk);
    registry.ensure_storage().await.unwrap();
    Stack { moto, sdk, registry }
}

impl Stack {
    /// The bucket reached directly, as an operator or attacker would change
    /// it behind the registry's back. Not the product's client: its timeouts
    /// are the authorizer's (3 s an attempt), and an unoptimised test build
    /// checksums and signs a 32 MiB upload to a busy moto slower than that.
    fn bucket(&self) -> aws_sdk_s3::Client {
        let patient = aws_config::timeout::TimeoutConfig::builder()
            .operation_attempt_timeout(Duration::from_secs(60))
            .operation_timeout(Duration::from_secs(120))
            .build();
        let conf = aws_sdk_s3::config::Builder::from(&self.sdk).force_path_style(true).timeout_config(patient);
        aws_sdk_s3::Client::from_conf(conf.build())
    }
}

/// The tests' bucket and table, reached through `sdk` (moto, or a fault proxy in front of it).
fn registry_on(sdk: &aws_config::SdkConfig) -> Registry {
    Registry::new(
        sdk,
        RegistryConfig { bucket: "policies".to_owned(), table: "policyRegistry".to_owned(), path_style: true },
    )
}

fn module() -> Vec<u8> {
    std::fs::read(policy_artifacts::STATIC_TOKEN).unwrap()
}

/// A static-token config under which `abc123` is principal `gen-<n>` with
/// context `generation = n`: a decision shows which version made it, and a
/// principal that disagrees with its context would be a mix of two versions.
fn config(generation: u32) -> Vec<u8> {
    serde_json::json!({ "tokens": { ABC123: {
        "principal": format!("gen-{generation}"),
        "grants": [{ "method": "GET", "path": "/notes" }],
        "context": { "generation": generation },
    }}})
    .to_string()
    .into_bytes()
}

async fn publish(
    registry: &Registry,
    module: &[u8],
    config: &[u8],
    activate: bool,
    key: Option<&SigningKeyPair>,
) -> u64 {
    let publication = Publication {
        policy: POLICY,
        module,
        config,
        publisher: "test",
        signature: key.map(|k| k.sign_version(POLICY, module, config)),
        note: None,
        code: &[],
    };
    registry.publish(&publication, activate, authz_engine::now_ms()).await.unwrap().version
}

fn watcher(
    stack: &Stack,
    interval: Duration,
    trusted_keys: Vec<TrustedKey>,
    cache: Option<CodeCache>,
) -> PolicyWatcher {
    watcher_on(&stack.registry, interval, trusted_keys, cache, vec![])
}

fn watcher_on(
    registry: &Registry,
    interval: Duration,
    trusted_keys: Vec<TrustedKey>,
    cache: Option<CodeCache>,
    code_keys: Vec<TrustedKey>,
) -> PolicyWatcher {
    // A generous decision budget: these tests share two cores with compiles
    // and moto, and a starved decision timing out (correctly failing closed)
    // is not what they are about.
    let limits = Limits { decision_timeout: Duration::from_secs(2), ..Limits::default() };
    PolicyWatcher::new(
        Engine::new(limits).unwrap(),
        registry.clone(),
        WatchConfig { policy: POLICY.to_owned(), check_interval: interval, trusted_keys, cache, code_keys },
    )
}

fn event() -> serde_json::Value {
    serde_json::json!({
        "type": "TOKEN",
        "authorizationToken": "abc123",
        "methodArn": "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/GET/notes",
    })
}

/// Decides one request on whatever version serves now; returns
/// `(principal, generation)` of an Allow, or the principal of anything else.
fn decide(watcher: &PolicyWatcher) -> (String, Option<u64>) {
    let serving = watcher.current();
    let (_, response) = authorize(
        watcher.engine(),
        serving.as_deref().map(|a| &*a.policy),
        event(),
        "Authorization",
        authz_engine::now_ms(),
    );
    let AuthorizerResponse::Policy(response) = response else { panic!("a TOKEN event is never unauthorized here") };
    let allowed =
        response.policy_document.statement.iter().any(|s| s.effect == aws_lambda_events::iam::IamPolicyEffect::Allow);
    // Context numbers travel as JSON numbers (f64), as API Gateway keeps them.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let generation = response.context.get("generation").and_then(serde_json::Value::as_f64).map(|g| g as u64);
    (response.principal_id.unwrap_or_default(), if allowed { generation } else { None })
}

/// Why `check` refused `version`; panics when it did not.
#[track_caller]
fn rejected(check: CheckOutcome, version: u64) -> String {
    match check {
        CheckOutcome::Rejected { version: refused, reason } => {
            assert_eq!(refused, version);
            reason
        }
        other => panic!("version {version} accepted: {other:?}"),
    }
}

fn assert_serves(watcher: &PolicyWatcher, generation: u32) {
    assert_eq!(decide(watcher), (format!("gen-{generation}"), Some(u64::from(generation))));
}

#[tokio::test]
async fn a_new_version_serves_after_the_check_interval() {
    let stack = stack().await;
    let w = watcher(&stack, Duration::from_secs(3), vec![], None);
    assert_eq!(w.check().await, CheckOutcome::NoActiveVersion);
    assert_eq!(decide(&w), ("fail-closed".to_owned(), None), "no version yet: fail closed");

    let v1 = publish(&stack.registry, &module(), &config(1), true, None).await;
    assert!(matches!(w.check().await, CheckOutcome::Swapped { from: None, to, .. } if to == v1));
    assert_serves(&w, 1);

    let v2 = publish(&stack.registry, &module(), &config(2), true, None).await;
    assert_eq!(w.check_if_due().await, CheckOutcome::NotDue, "checked less than an interval ago");
    assert_serves(&w, 1);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert!(matches!(w.check_if_due().await, CheckOutcome::Swapped { from: Some(f), to, .. } if f == v1 && to == v2));
    assert_serves(&w, 2);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_eq!(w.check_if_due().await, CheckOutcome::Unchanged, "same digests: nothing downloaded");

    // Publishing without --activate changes nothing that serves.
    publish(&stack.registry, &module(), &config(3), false, None).await;
    assert_eq!(w.check().await, CheckOutcome::Unchanged);
    assert_serves(&w, 2);
}

/// A cold start reads the pointer before its engine is ready and hands the
/// read to the watcher: it is checked as a read of its own would be.
#[tokio::test]
async fn a_pointer_read_ahead_of_the_watcher_is_checked_as_its_own() {
    let mut stack = stack().await;
    let v1 = publish(&stack.registry, &module(), &config(1), true, None).await;
    let read_at = authz_engine::now_ms();
    let read = stack.registry.active(POLICY).await;
    let w = watcher(&stack, Duration::from_secs(60), vec![], None);
    assert!(matches!(w.check_read(read, read_at).await, CheckOutcome::Swapped { from: None, to, .. } if to == v1));
    assert_serves(&w, 1);
    assert_eq!(w.check_if_due().await, CheckOutcome::NotDue, "the interval runs from that check");

    // A read that failed: nothing serves, every request is denied.
    stack.moto.stop();
    let read_at = authz_engine::now_ms();
    let read = stack.registry.active(POLICY).await;
    let cold = watcher(&stack, Duration::from_secs(60), vec![], None);
    assert!(matches!(cold.check_read(read, read_at).await, CheckOutcome::Unreachable(_)));
    assert_eq!(decide(&cold), ("fail-closed".to_owned(), None));
}

#[tokio::test]
async fn activate_and_rollback_move_the_pointer_and_keep_the_audit_log() {
    let stack = stack().await;
    let r = &stack.registry;
    let v1 = publish(r, &module(), &config(1), true, None).await;
    let v2 = publish(r, &module(), &config(2), true, None).await;
    let v3 = publish(r, &module(), &config(3), false, None).await;
    assert_eq!((v1, v2, v3), (1, 2, 3));
    let w = watcher(&stack, Duration::ZERO, vec![], None);
    w.check().await;
    assert_serves(&w, 2);

    let pointer = r.activate(POLICY, v3, "ops", authz_engine::now_ms()).await.unwrap();
    assert_eq!((pointer.active.version, pointer.previous.clone()), (3, vec![1, 2]));
    w.check().await;
    assert_serves(&w, 3);

    let pointer = r.rollback(POLICY, "ops", authz_engine::now_ms()).await.unwrap();
    assert_eq!(pointer.active.version, 2);
    assert!(matches!(w.check().await, CheckOutcome::Swapped { from: Some(3), to: 2, .. }));
    assert_serves(&w, 2);
    assert_eq!(r.rollback(POLICY, "ops", authz_engine::now_ms()).await.unwrap().active.version, 1);
    assert!(matches!(r.rollback(POLICY, "ops", authz_engine::now_ms()).await, Err(RegistryError::NoPrevious(_))));
    assert!(matches!(
        r.activate(POLICY, 9, "ops", authz_engine::now_ms()).await,
        Err(RegistryError::NoSuchVersion { .. })
    ));

    let history = r.history(POLICY).await.unwrap();
    assert_eq!(history.versions.iter().map(|v| v.version).collect::<Vec<_>>(), vec![1, 2, 3]);
    assert_eq!(history.active.as_ref().map(|a| a.active.version), Some(1));
    let actions: Vec<(&str, u64)> = history.events.iter().map(|e| (e.action.as_str(), e.version)).collect();
    for expected in [
        ("publish", 1),
        ("activate", 1),
        ("publish", 2),
        ("activate", 2),
        ("publish", 3),
        ("activate", 3),
        ("rollback", 2),
        ("rollback", 1),
    ] {
        assert!(actions.contains(&expected), "{expected:?} missing from the audit log {actions:?}");
    }
    assert_eq!(actions.len(), 8, "{actions:?}");
    // Content-addressed: three configs, one module.
    let keys: std::collections::HashSet<_> = history.versions.iter().map(|v| &v.module_key).collect();
    assert_eq!(keys.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_publishes_never_overwrite_each_other() {
    let stack = stack().await;
    publish(&stack.registry, &module(), &config(0), true, None).await;
    let mut racers = tokio::task::JoinSet::new();
    for generation in 1..=6 {
        let registry = stack.registry.clone();
        racers.spawn(async move {
            let (module, config) = (module(), config(generation));
            let publication = Publication {
                policy: POLICY,
                module: &module,
                config: &config,
                publisher: "racer",
                signature: None,
                note: None,
                code: &[],
            };
            registry.publish(&publication, true, authz_engine::now_ms()).await
        });
    }
    let results = racers.join_all().await;
    let won: Vec<u64> = results.iter().filter_map(|r| r.as_ref().ok().map(|v| v.version)).collect();
    let conflicts = results.iter().filter(|r| matches!(r, Err(RegistryError::Conflict(_)))).count();
    assert_eq!(won.len() + conflicts, 6, "every publish either wins or reports a conflict: {results:?}");
    assert!(conflicts >= 1, "six simultaneous publishes of one policy must collide: {results:?}");

    let history = stack.registry.history(POLICY).await.unwrap();
    assert_eq!(history.versions.len(), 1 + won.len(), "a version exists exactly for each publish that won");
    let activations = history.events.iter().filter(|e| e.action == "activate").count();
    assert_eq!(activations, 1 + won.len(), "each winner's activation is in the audit log");
    let active = history.active.unwrap();
    assert_eq!(active.revision, 1 + won.len() as u64, "no activation was lost");
    assert_eq!(active.previous.len(), won.len());
}

#[tokio::test]
async fn tampered_garbage_and_wrong_world_versions_are_refused_while_the_old_one_serves() {
    let stack = stack().await;
    let w = watcher(&stack, Duration::ZERO, vec![], None);
    publish(&stack.registry, &module(), &config(1), true, None).await;
    w.check().await;
    assert_serves(&w, 1);

    // Tampered: the stored config no longer matches the digest the registry recorded.
    let v2 = publish(&stack.registry, &module(), &config(2), true, None).await;
    let record = stack.registry.version(POLICY, v2).await.unwrap();
    let s3 = stack.bucket();
    let put = |body: Vec<u8>| {
        s3.put_object()
            .bucket("policies")
            .key(&record.config_key)
            .body(aws_sdk_s3::primitives::ByteStream::from(body))
            .send()
    };
    put(config(666)).await.unwrap();
    let reason = rejected(w.check().await, v2);
    assert!(reason.contains("SHA-256"), "{reason}");
    assert_serves(&w, 1);
    // A refused version is not remembered as seen: once repaired, it is taken.
    put(config(2)).await.unwrap();
    assert!(matches!(w.check().await, CheckOutcome::Swapped { to, .. } if to == v2));
    assert_serves(&w, 2);

    // Over the size limit: refused at publish, before anything is stored...
    let huge = vec![b' '; MAX_OBJECT_BYTES + 1];
    let publication = Publication {
        policy: POLICY,
        module: &module(),
        config: &huge,
        publisher: "test",
        signature: None,
        note: None,
        code: &[],
    };
    match stack.registry.publish(&publication, true, authz_engine::now_ms()).await {
        Err(e @ RegistryError::TooLarge { what: "config", .. }) => {
            assert!(e.to_string().contains("over the registry's limit"), "{e}");
        }
        other => panic!("oversized config published: {other:?}"),
    }
    assert_eq!(stack.registry.active(POLICY).await.unwrap().unwrap().active.version, v2, "the pointer did not move");
    // ...and, put in the bucket by other means, refused when downloaded.
    let big = publish(&stack.registry, &module(), &config(3), true, None).await;
    let record = stack.registry.version(POLICY, big).await.unwrap();
    let put_big = s3.put_object().bucket("policies").key(&record.config_key).body(huge.into());
    put_big.send().await.unwrap();
    let reason = rejected(w.check().await, big);
    assert!(reason.contains("over the registry's limit"), "{reason}");
    assert_serves(&w, 2);

    // Missing object.
    let v3 = publish(&stack.registry, &module(), &config(3), true, None).await;
    let record = stack.registry.version(POLICY, v3).await.unwrap();
    s3.delete_object().bucket("policies").key(&record.config_key).send().await.unwrap();
    assert!(matches!(w.check().await, CheckOutcome::Rejected { .. } | CheckOutcome::Unreachable(_)));
    assert_serves(&w, 2);

    // Garbage bytes, an empty component (not our world), a config the policy rejects.
    let wrong_world = wat::parse_str("(component)").unwrap();
    for (bytes, config, why) in [
        (b"\0asm garbage".to_vec(), config(4), "not a valid webassembly component"),
        (wrong_world, config(4), "world"),
        (module(), br#"{"tokens": 7}"#.to_vec(), "config"),
    ] {
        let v = publish(&stack.registry, &bytes, &config, true, None).await;
        let reason = rejected(w.check().await, v);
        assert!(reason.to_lowercase().contains(why), "{why}: {reason}");
        assert_serves(&w, 2);
    }
}

#[tokio::test]
async fn with_trusted_keys_only_versions_they_signed_are_activated() {
    let stack = stack().await;
    let trusted = SigningKeyPair::generate().unwrap();
    let stranger = SigningKeyPair::generate().unwrap();
    let w = watcher(&stack, Duration::ZERO, vec![trusted.public()], None);

    let unsigned = publish(&stack.registry, &module(), &config(1), true, None).await;
    let reason = rejected(w.check().await, unsigned);
    assert!(reason.contains("not signed"), "{reason}");
    assert_eq!(decide(&w).0, "fail-closed", "cold start with no good version denies");

    publish(&stack.registry, &module(), &config(2), true, Some(&trusted)).await;
    assert!(matches!(w.check().await, CheckOutcome::Swapped { .. }));
    assert_serves(&w, 2);

    let strangers = publish(&stack.registry, &module(), &config(3), true, Some(&stranger)).await;
    let reason = rejected(w.check().await, strangers);
    assert!(reason.contains("does not verify"), "{reason}");
    assert_serves(&w, 2);

    // A trusted signature over another config does not carry over.
    let (signature, key_id) = trusted.sign_version(POLICY, &module(), &config(2));
    let publication = Publication {
        policy: POLICY,
        module: &module(),
        config: &config(4),
        publisher: "mallory",
        signature: Some((signature, key_id)),
        note: None,
        code: &[],
    };
    stack.registry.publish(&publication, true, authz_engine::now_ms()).await.unwrap();
    assert!(matches!(w.check().await, CheckOutcome::Rejected { .. }));
    assert_serves(&w, 2);
}

#[tokio::test]
async fn decisions_continue_on_the_last_good_version_when_the_registry_stops() {
    let mut stack = stack().await;
    let w = watcher(&stack, Duration::ZERO, vec![], None);
    publish(&stack.registry, &module(), &config(1), true, None).await;
    w.check().await;
    stack.moto.stop();
    let started = Instant::now();
    assert!(matches!(w.check().await, CheckOutcome::Unreachable(_)));
    assert!(started.elapsed() < Duration::from_secs(10), "bounded by the SDK timeouts: {:?}", started.elapsed());
    for _ in 0..20 {
        assert_serves(&w, 1);
    }
    // Back, but empty (moto keeps no state): still the last good version.
    stack.moto.restart().unwrap();
    stack.registry.ensure_storage().await.unwrap();
    assert_eq!(w.check().await, CheckOutcome::NoActiveVersion);
    assert_serves(&w, 1);
}

#[tokio::test]
async fn a_slow_upload_is_given_time_for_its_size_and_a_stalled_one_still_fails() {
    let stack = stack().await;
    let proxy = FaultProxy::start(stack.moto.endpoint()).await;
    let through_proxy = registry_on(&sdk_for(proxy.endpoint()).await);
    // The module is stored already: only the configs below are uploaded through the proxy.
    publish(&stack.registry, &module(), &config(1), true, None).await;
    // Every object stored answers after 5 s: past the 3 s a registry read may take.
    proxy.set(Some((Step::Upload, Fault::Slow(Duration::from_secs(5)))));

    // 2 MiB at the slowest upload speed allowed (2 Mbit/s) is 8 s on top of those 3 s.
    let mut big = config(2);
    big.resize(big.len() + (2 << 20), b' ');
    let publication = Publication {
        policy: POLICY,
        module: &module(),
        config: &big,
        publisher: "test",
        signature: None,
        note: None,
        code: &[],
    };
    let published = through_proxy.publish(&publication, true, authz_engine::now_ms()).await;
    assert_eq!(published.unwrap().version, 2, "a 2 MiB upload answering in 5 s is not stalled");

    // A small object answering as late has stalled: the publish fails, and stores no version.
    let publication = Publication { config: &config(3), ..publication };
    let started = Instant::now();
    let stalled = through_proxy.publish(&publication, true, authz_engine::now_ms()).await;
    assert!(
        matches!(&stalled, Err(RegistryError::S3 { op: "PutObject", message }) if message.contains("timeout")),
        "{stalled:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(12), "bounded: {:?}", started.elapsed());
    let history = stack.registry.history(POLICY).await.unwrap();
    assert_eq!(history.versions.len(), 2, "the failed publish recorded no version");
    assert_eq!(history.active.unwrap().active.version, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_at_any_step_of_a_swap_keeps_the_good_version_until_it_ends() {
    let stack = stack().await;
    let proxy = FaultProxy::start(stack.moto.endpoint()).await;
    let through_proxy = registry_on(&sdk_for(proxy.endpoint()).await);
    let w = watcher_on(&through_proxy, Duration::ZERO, vec![], None, vec![]);
    publish(&stack.registry, &module(), &config(1), true, None).await;
    assert!(matches!(w.check().await, CheckOutcome::Swapped { .. }));

    // Past the SDK's 3 s attempt timeout; a short delay only slows the swap down.
    let stalled = Fault::Slow(Duration::from_secs(4));
    let mut generation = 1;
    for step in [Step::Pointer, Step::Module, Step::Config] {
        for fault in [Fault::Error, stalled, Fault::Corrupt] {
            let next = generation + 1;
            publish(&stack.registry, &module(), &config(next), true, None).await;
            proxy.set(Some((step, fault)));
            let started = Instant::now();
            let outcome = w.check().await;
            assert!(
                matches!(outcome, CheckOutcome::Unreachable(_) | CheckOutcome::Rejected { .. }),
                "{step:?} {fault:?}: {outcome:?}"
            );
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "{step:?} {fault:?}: the check took {:?}",
                started.elapsed()
            );
            assert_serves(&w, generation);
            // The fault ends: the next check takes the version (a refused one is not remembered).
            proxy.set(None);
            assert!(
                matches!(w.check().await, CheckOutcome::Swapped { .. }),
                "{step:?} {fault:?}: not taken after the fault"
            );
            assert_serves(&w, next);
            generation = next;
        }
    }
    proxy.set(Some((Step::Module, Fault::Slow(Duration::from_millis(500)))));
    publish(&stack.registry, &module(), &config(generation + 1), true, None).await;
    assert!(matches!(w.check().await, CheckOutcome::Swapped { .. }), "a slow but answering registry still swaps");
    assert_serves(&w, generation + 1);
}

/// A version published with native code signed by a key the watcher trusts
/// with native code loads that code: nothing compiled, the module never
/// downloaded. Code not signed by a code key, changed in the bucket, or built
/// for another architecture is never loaded: the version is compiled instead.
#[tokio::test]
async fn signed_precompiled_code_loads_without_compiling_and_anything_else_is_compiled() {
    let stack = stack().await;
    let engine = Engine::new(Limits::default()).unwrap();
    let key = SigningKeyPair::generate().unwrap();
    let host = authz_engine::host_architecture();
    let other = authz_engine::ARCHITECTURES.into_iter().find(|a| *a != host).unwrap();
    let module = module();
    let publish_with = |generation: u32, arch_compiled: &'static str| {
        let config = config(generation);
        let native =
            engine.precompile(&module, std::str::from_utf8(&config).unwrap(), &[arch_compiled]).unwrap().remove(0);
        // Labelled (and signed) as this host's code, whatever it was built for.
        let code = [key.sign_code(POLICY, &module, &config, host, native)];
        let registry = stack.registry.clone();
        let module = module.clone();
        async move {
            let p = Publication {
                policy: POLICY,
                module: &module,
                config: &config,
                publisher: "test",
                signature: None,
                note: None,
                code: &code,
            };
            registry.publish(&p, true, authz_engine::now_ms()).await.unwrap()
        }
    };
    let published = publish_with(1, host).await;
    assert_eq!(published.code.len(), 1);
    let pointer = stack.registry.active(POLICY).await.unwrap().unwrap();
    assert_eq!(pointer.active.code, published.code, "the code entries round-trip through DynamoDB");

    // Modules cannot be downloaded: only the precompiled code can serve.
    let proxy = FaultProxy::start(stack.moto.endpoint()).await;
    let via_proxy = registry_on(&sdk_for(proxy.endpoint()).await);
    proxy.set(Some((Step::Module, Fault::Error)));
    let cold = |code_keys| watcher_on(&via_proxy, Duration::ZERO, vec![], None, code_keys);
    let w = cold(vec![key.public()]);
    assert!(matches!(w.check().await, CheckOutcome::Swapped { loaded_from: LoadedFrom::Precompiled, .. }));
    assert_serves(&w, 1);
    // No code key, or another one: the code is not trusted, the module is
    // needed (and cannot be downloaded).
    let stranger = SigningKeyPair::generate().unwrap().public();
    for code_keys in [vec![], vec![stranger]] {
        assert!(matches!(cold(code_keys).check().await, CheckOutcome::Unreachable(_)));
    }
    proxy.set(None);
    let w = cold(vec![]);
    assert!(matches!(w.check().await, CheckOutcome::Swapped { loaded_from: LoadedFrom::Compiled, .. }));
    assert_serves(&w, 1);

    // The code object changed in the bucket: its digest no longer matches.
    let s3 = stack.bucket();
    let code_key = &published.code[0].code_key;
    let tampered = b"\x7fELF not the signed code".to_vec();
    s3.put_object().bucket("policies").key(code_key).body(tampered.into()).send().await.unwrap();
    let w = cold(vec![key.public()]);
    assert!(matches!(w.check().await, CheckOutcome::Swapped { loaded_from: LoadedFrom::Compiled, .. }));
    assert_serves(&w, 1);

    // Signed, intact, but built for the other architecture: wasmtime refuses it.
    publish_with(2, other).await;
    let w = cold(vec![key.public()]);
    assert!(matches!(w.check().await, CheckOutcome::Swapped { loaded_from: LoadedFrom::Compiled, .. }));
    assert_serves(&w, 2);
}

/// The files in `dir` with extension `extension`.
fn files_ending(dir: &std::path::Path, extension: &str) -> Vec<std::path::PathBuf> {
    let files = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path());
    files.filter(|p| p.extension().is_some_and(|e| e == extension)).collect()
}

/// A cold start whose cache holds the active version loads it from the two
/// digests the pointer names, without downloading it; an entry that does not
/// match its digests, or a version the trusted keys did not sign, is never
/// taken from the cache.
#[tokio::test]
async fn a_cold_start_loads_compiled_code_from_the_cache_without_downloading() {
    let stack = stack().await;
    publish(&stack.registry, &module(), &config(1), true, None).await;
    let dir = std::env::temp_dir().join(format!("authz-cache-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cache = || Some(CodeCache::new(&dir).unwrap());
    let first = watcher(&stack, Duration::ZERO, vec![], cache());
    assert!(matches!(first.check().await, CheckOutcome::Swapped { loaded_from: LoadedFrom::Compiled, .. }));

    // The module and config cannot be downloaded: the cache alone serves.
    let proxy = FaultProxy::start(stack.moto.endpoint()).await;
    let via_proxy = registry_on(&sdk_for(proxy.endpoint()).await);
    let cold = |trusted_keys| watcher_on(&via_proxy, Duration::ZERO, trusted_keys, cache(), vec![]);
    proxy.set(Some((Step::Module, Fault::Error)));
    let second = cold(vec![]);
    assert!(matches!(second.check().await, CheckOutcome::Swapped { loaded_from: LoadedFrom::Cache, .. }));
    assert_serves(&second, 1);

    // Trusted keys are checked before the cache: an unsigned version stays out.
    let trusted = SigningKeyPair::generate().unwrap();
    match cold(vec![trusted.public()]).check().await {
        CheckOutcome::Rejected { reason, .. } => assert!(reason.contains("not signed"), "{reason}"),
        other => panic!("an unsigned version was taken from the cache: {other:?}"),
    }

    // An entry whose config was changed on disk is not used: the version is
    // downloaded again (here it cannot be), then compiled and re-filed.
    let configs = files_ending(&dir, "config");
    assert_eq!(configs.len(), 1, "one entry, its config beside its code: {configs:?}");
    std::fs::write(&configs[0], String::from_utf8(config(7)).unwrap()).unwrap();
    assert!(matches!(cold(vec![]).check().await, CheckOutcome::Unreachable(_)));
    proxy.set(None);
    let third = cold(vec![]);
    assert!(matches!(third.check().await, CheckOutcome::Swapped { loaded_from: LoadedFrom::Compiled, .. }));
    assert_serves(&third, 1);
    assert!(matches!(cold(vec![]).check().await, CheckOutcome::Swapped { loaded_from: LoadedFrom::Cache, .. }));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A new process whose cache holds a pointer the registry confirmed less than
/// a check interval ago serves that version without reading the registry,
/// and checks once the interval since the confirmation has run out. A record
/// that old, another registry's, one whose code left the cache, one the
/// trusted keys do not verify, or one the registry stopped confirming is
/// never served.
#[tokio::test]
async fn a_new_process_serves_a_pointer_confirmed_within_the_interval_without_reading_the_registry() {
    let stack = stack().await;
    let v1 = publish(&stack.registry, &module(), &config(1), true, None).await;
    let dir = std::env::temp_dir().join(format!("authz-lease-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cache = || CodeCache::new(&dir).unwrap();
    let proxy = FaultProxy::start(stack.moto.endpoint()).await;
    let via_proxy = registry_on(&sdk_for(proxy.endpoint()).await);
    let interval = Duration::from_secs(2);
    let process = |trusted_keys| watcher_on(&via_proxy, interval, trusted_keys, Some(cache()), vec![]);
    let lease = |registry: &Registry| Lease::read(&cache(), registry, POLICY, interval, authz_engine::now_ms());

    assert_eq!(lease(&via_proxy), None, "nothing confirmed yet");
    let first = process(vec![]);
    let before = authz_engine::now_ms();
    assert!(matches!(first.check().await, CheckOutcome::Swapped { to, .. } if to == v1));
    let confirmed = lease(&via_proxy).expect("a check leaves its confirmation");
    assert_eq!(confirmed.version.version, v1);
    assert!((before..=authz_engine::now_ms()).contains(&confirmed.confirmed_at_ms), "dated from the read");
    assert_eq!(lease(&stack.registry), None, "another endpoint is another registry");

    // The registry cannot be read: a new process serves the confirmed version...
    proxy.set(Some((Step::Pointer, Fault::Error)));
    let second = process(vec![]);
    assert!(second.resume(confirmed.clone()));
    assert_serves(&second, 1);
    assert_eq!(second.check_if_due().await, CheckOutcome::NotDue, "the confirmation is younger than the interval");
    // ...and once the interval since the confirmation has run out, it checks
    // (and, the registry being down, keeps serving, as any running process).
    tokio::time::sleep(interval).await;
    assert_eq!(lease(&via_proxy), None, "an interval old: no lease");
    assert!(matches!(second.check_if_due().await, CheckOutcome::Unreachable(_)));
    assert_serves(&second, 1);

    // Trusted keys are checked as on any load: an unsigned version stays out.
    let trusted = SigningKeyPair::generate().unwrap();
    let strict = process(vec![trusted.public()]);
    assert!(!strict.resume(confirmed.clone()));
    assert!(strict.current().is_none());

    // Code no longer in the cache: nothing served, the caller reads the registry.
    proxy.set(None);
    assert_eq!(first.check().await, CheckOutcome::Unchanged);
    let renewed = lease(&via_proxy).expect("an unchanged check renews the confirmation");
    let codes = files_ending(&dir, "cwasm");
    assert_eq!(codes.len(), 1, "{codes:?}");
    std::fs::remove_file(&codes[0]).unwrap();
    let third = process(vec![]);
    assert!(!third.resume(renewed));
    assert!(third.current().is_none());

    // A version the registry refuses: the confirmation of the last good one is
    // withdrawn, though that one keeps serving where it runs.
    let s3 = stack.bucket();
    let v2 = publish(&stack.registry, &module(), &config(2), true, None).await;
    let record = stack.registry.version(POLICY, v2).await.unwrap();
    let put = s3.put_object().bucket("policies").key(&record.config_key);
    put.body(aws_sdk_s3::primitives::ByteStream::from(config(666))).send().await.unwrap();
    rejected(first.check().await, v2);
    assert_eq!(lease(&via_proxy), None);
    assert_serves(&first, 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Decisions keep flowing on two threads while five versions are swapped in:
/// none fails, and each is made entirely by one published version.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swaps_under_load_lose_no_decision_and_never_mix_versions() {
    let stack = stack().await;
    let w = Arc::new(watcher(&stack, Duration::ZERO, vec![], None));
    publish(&stack.registry, &module(), &config(1), true, None).await;
    w.check().await;

    let stop = Arc::new(AtomicBool::new(false));
    let deciders: Vec<_> = (0..2)
        .map(|_| {
            let (w, stop) = (Arc::clone(&w), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut seen = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    seen.push(decide(&w));
                }
                seen
            })
        })
        .collect();

    for generation in 2..=5 {
        publish(&stack.registry, &module(), &config(generation), true, None).await;
        assert!(matches!(w.check().await, CheckOutcome::Swapped { .. }));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let decisions: Vec<(String, Option<u64>)> = deciders.into_iter().flat_map(|t| t.join().unwrap()).collect();

    assert!(decisions.len() > 100, "only {} decisions", decisions.len());
    let mut generations_seen = std::collections::BTreeSet::new();
    for (principal, generation) in &decisions {
        let generation = generation.unwrap_or_else(|| panic!("a decision failed or denied: {principal}"));
        assert_eq!(principal, &format!("gen-{generation}"), "principal and context from different versions");
        assert!((1..=5).contains(&generation));
        generations_seen.insert(generation);
    }
    assert_eq!(generations_seen.into_iter().collect::<Vec<_>>(), vec![1, 2, 3, 4, 5]);
}
