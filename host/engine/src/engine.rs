//! The wasmtime host: one [`Engine`] per process, policies compiled once and
//! kept as an instance-pre, a fresh sandboxed store per decision.

use crate::bindings::{Guest, Pre};
use crate::event::Request;
use crate::keeper::{Keeper, Spare};
use crate::limits::Limits;
use crate::outcome::{Failure, Outcome, PolicyFault, check_decision};
use crate::preinit::SnapshotError;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Enabled, InstanceAllocationStrategy, PoolingAllocationConfig, ResourceLimiter, Store, Trap};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

/// How often the epoch advances: the granularity of the decision deadline.
const EPOCH_TICK: Duration = Duration::from_millis(2);

/// `budget` in epoch ticks (at least one), for [`Store::set_epoch_deadline`].
pub(crate) fn ticks(budget: Duration) -> u64 {
    u64::try_from(budget.as_micros().div_ceil(EPOCH_TICK.as_micros().max(1))).unwrap_or(u64::MAX).max(1)
}

/// Why a policy module could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The bytes are not a WebAssembly component wasmtime can compile.
    #[error("not a valid WebAssembly component: {0}")]
    NotAComponent(String),
    /// The component does not export the `authz:policy/policy` interface of
    /// the contract version its names claim (the current one if none).
    #[error("the component is not an authz policy (world `authz:policy/authorizer-policy@{version}`): {detail}")]
    WrongWorld {
        /// The contract version it was linked as.
        version: &'static str,
        /// What wasmtime found missing or different.
        detail: String,
    },
    /// The component was built against a version of the contract this host does not run.
    #[error("the component was built against {found}, this host runs authz:policy@{runs}: rebuild it with an authz-policy SDK for {host}", runs = crate::contract::supported(), host = crate::CONTRACT_VERSION)]
    ContractVersion {
        /// What it was built against: `authz:policy@0.2.0`, or `an unversioned authz:policy`.
        found: String,
    },
    /// The component imports something the host does not provide.
    #[error("the component imports something the sandbox does not provide: {0}")]
    UnsupportedImport(String),
    /// The policy rejected its configuration, or could not start with it.
    #[error("the policy rejected its configuration: {0}")]
    Config(Failure),
    /// Code compiled ahead of time cannot run here (another architecture,
    /// wasmtime version or engine setting) or cannot be made.
    #[error("precompiled code: {0}")]
    Precompiled(String),
}

/// Why the engine could not be created.
#[derive(Debug, thiserror::Error)]
#[error("cannot create the wasm engine: {0}")]
pub struct EngineError(String);

/// What a policy version is known by.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyId {
    /// Hex SHA-256 of the module bytes.
    pub sha256: String,
    /// Human label, e.g. `notes@3` from the registry, or a file name.
    pub version: Option<String>,
}

/// A policy ready to decide: compiled, linked, with its configuration.
pub struct Policy {
    id: PolicyId,
    pre: Pre<GuestState>,
    config: String,
    /// The component is a snapshot taken after `init(config)`: decisions only
    /// call `evaluate`.
    initialized: bool,
    /// The next decision's instance, made ahead by [`Engine::tidy`] (preinitialized policies only).
    spare: Mutex<Option<Spare>>,
}

impl Policy {
    /// What this policy version is known by.
    pub fn id(&self) -> &PolicyId {
        &self.id
    }

    /// Whether decisions start from a snapshot taken after `init` (the normal
    /// case) rather than running `init` each time.
    pub fn is_preinitialized(&self) -> bool {
        self.initialized
    }
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy").field("id", &self.id).finish_non_exhaustive()
    }
}

/// One decision's result with what the log needs.
#[derive(Debug)]
pub struct Verdict {
    /// What was decided.
    pub outcome: Outcome,
    /// Time from the start of the decision to its outcome.
    pub latency: Duration,
    /// The full error chain when the policy failed, with secrets redacted.
    pub error_chain: Option<String>,
    /// What the guest wrote to stderr, when it failed, with secrets redacted.
    pub guest_stderr: Option<String>,
    /// Whether the instance was made before the request arrived (by
    /// [`Engine::tidy`]) rather than inside `latency`.
    pub made_ahead: bool,
}

impl Verdict {
    /// A verdict that did not involve a policy (no policy loaded, bad event).
    pub fn failed(failure: Failure) -> Self {
        Verdict {
            outcome: Outcome::FailClosed(failure),
            latency: Duration::ZERO,
            error_chain: None,
            guest_stderr: None,
            made_ahead: false,
        }
    }
}

/// Per-store state: the WASI context (no filesystem, env or network) and the memory cap.
pub(crate) struct GuestState {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: MemoryCap,
    /// A handle on the guest's stderr, read when a decision fails.
    stderr: MemoryOutputPipe,
}

impl WasiView for GuestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// Refuses memory growth past the cap and remembers that it did, so the trap
/// that follows is reported as memory exhaustion rather than a generic abort.
struct MemoryCap {
    limit: usize,
    exhausted: bool,
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(&mut self, _current: usize, desired: usize, _max: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.limit {
            self.exhausted = true;
            return Ok(false);
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _max: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// The process-wide policy host.
pub struct Engine {
    engine: wasmtime::Engine,
    linker: Linker<GuestState>,
    limits: Limits,
    deadline_ticks: u64,
    keeper: Keeper,
    functions: Arc<FunctionCache>,
}

/// Cranelift's results per function: those of the last load, kept until the
/// next one ends.
///
/// Pre-initialization compiles a policy twice, instrumented and then as the
/// snapshot, whose function bodies are the same; cranelift skips a function
/// whose compile input it has seen, and `preinit` keeps that input the same
/// (the snapshot keeps the instrumented copy's global exports), so the
/// second compile is ~90% hits. A load without the compiled-code cache (every
/// Lambda cold start) takes about a third less (static-token 250 -> 160 ms,
/// JWT 1,000 -> 640 ms on the bench machine). Kept after the load, the
/// results also serve the next version when it shares functions with this
/// one: a new configuration for the same module (new tokens, new keys)
/// compiles ~10% of its functions (hot swap on moto 260 -> 145 ms). At most
/// the functions of the last load are kept (0.7 MB static-token, 3.4 MB JWT),
/// plus the current load's while it runs.
#[derive(Debug, Default)]
struct FunctionCache(Mutex<Functions>);

#[derive(Debug, Default)]
struct Functions {
    /// Used or made by the current load (or by the last one, between loads).
    current: HashMap<Vec<u8>, Vec<u8>>,
    /// The last load's, during a load: those it uses move to `current`.
    previous: HashMap<Vec<u8>, Vec<u8>>,
    /// Functions compiled (not found) since the current load began.
    compiled: usize,
}

impl FunctionCache {
    fn begin_load(&self) {
        if let Ok(mut functions) = self.0.lock() {
            functions.previous = std::mem::take(&mut functions.current);
            functions.compiled = 0;
        }
    }

    fn end_load(&self) {
        if let Ok(mut functions) = self.0.lock() {
            functions.previous = HashMap::new();
        }
    }
}

impl wasmtime::CacheStore for FunctionCache {
    fn get(&self, key: &[u8]) -> Option<Cow<'_, [u8]>> {
        let mut functions = self.0.lock().ok()?;
        if let Some(value) = functions.current.get(key) {
            return Some(Cow::Owned(value.clone()));
        }
        let value = functions.previous.remove(key)?;
        functions.current.insert(key.to_vec(), value.clone());
        Some(Cow::Owned(value))
    }

    fn insert(&self, key: &[u8], value: Vec<u8>) -> bool {
        let Ok(mut functions) = self.0.lock() else { return false };
        functions.compiled += 1;
        functions.current.insert(key.to_vec(), value);
        true
    }
}

/// The wasmtime configuration of every engine: the authorizer's, and the one
/// that compiles code ahead of time for it (`precompiled`), whose code
/// wasmtime only loads if every setting that shapes code matches.
pub(crate) fn wasmtime_config(limits: &Limits) -> wasmtime::Config {
    let mut pool = PoolingAllocationConfig::new();
    let keep_resident = if PoolingAllocationConfig::is_pagemap_scan_available() { 1 << 20 } else { 64 << 10 };
    let slots = limits.max_concurrent_decisions.saturating_add(crate::keeper::HEADROOM);
    pool.total_component_instances(slots)
        .total_core_instances(slots.saturating_mul(8))
        .total_memories(slots.saturating_mul(2))
        .total_tables(slots.saturating_mul(4))
        .max_memories_per_component(2)
        .max_tables_per_component(4)
        .max_core_instances_per_component(16)
        .max_memory_size(limits.max_memory_bytes)
        .table_elements(100_000)
        // Stacks for async calls: decisions are synchronous and never use
        // one, but the pool sets up guard pages for each (1,000 by
        // default: one mprotect each, milliseconds of every cold start).
        .total_stacks(slots)
        // Between decisions a slot is reset to the policy's image. Where
        // Linux has PAGEMAP_SCAN (6.7+), only the pages the last decision
        // dirtied are copied back, up to `keep_resident`, and they stay
        // resident: no page faults on the next decision (3 per
        // static-token and 6 per JWT decision without it; -30% per
        // decision, see BENCHMARKS.md). Elsewhere the lowest 64 KiB are
        // reset by memset and the rest decommitted: a memset of 64 KiB is
        // cheaper than faulting them in again, more is not.
        .pagemap_scan(Enabled::Auto)
        .linear_memory_keep_resident(keep_resident)
        .table_keep_resident(64 << 10)
        // Return slots to the pool in batches: one madvise for many decisions.
        .decommit_batch_size(16);
    let mut config = wasmtime::Config::new();
    config
        .epoch_interruption(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
        .max_wasm_stack(512 << 10);
    config
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("limits", &self.limits).finish_non_exhaustive()
    }
}

fn engine_error(e: impl std::fmt::Display) -> EngineError {
    EngineError(e.to_string())
}

impl Engine {
    /// Creates the engine, its linker (WASI p2 with no capabilities granted) and
    /// the epoch ticker that enforces decision deadlines.
    pub fn new(limits: Limits) -> Result<Arc<Self>, EngineError> {
        let functions = Arc::new(FunctionCache::default());
        let mut config = wasmtime_config(&limits);
        config.enable_incremental_compilation(Arc::clone(&functions) as _).map_err(engine_error)?;
        let engine = wasmtime::Engine::new(&config).map_err(engine_error)?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(engine_error)?;
        spawn_epoch_ticker(&engine)?;
        let deadline_ticks = ticks(limits.decision_timeout);
        Ok(Arc::new(Engine { engine, linker, limits, deadline_ticks, keeper: Keeper::default(), functions }))
    }

    /// Work a decision leaves for after its answer: drops the stores of
    /// earlier decisions (resetting their pool slots) and makes `policy`'s
    /// next instance, so that the next decision only calls `evaluate`. Call
    /// it when the answer has left and the next request has not come (see
    /// `keeper`); never calling it only makes decisions slower.
    pub fn tidy(&self, policy: &Policy) {
        self.keeper.drop_retired();
        if policy.initialized {
            self.keeper.refill(&policy.spare, || {
                let mut store = self.store();
                policy.pre.instantiate(&mut store).ok().map(|instance| (store, instance))
            });
        }
    }

    /// The limits this engine enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The underlying wasmtime engine (for precompiling and cache keys).
    pub fn wasmtime(&self) -> &wasmtime::Engine {
        &self.engine
    }

    /// Compiles `bytes` and prepares a policy with its `config`, checking that it
    /// is a component of our world and that it accepts the configuration.
    ///
    /// The configuration is applied once, here: `init` runs and the instance is
    /// snapshotted (see `preinit`), so decisions start from the parsed config.
    /// A component that cannot be snapshotted still loads, and then runs `init`
    /// at the start of every decision.
    pub fn load(&self, bytes: &[u8], config: &str, version: Option<String>) -> Result<Policy, LoadError> {
        let id = PolicyId { sha256: sha256_hex(bytes), version };
        self.load_with_component(bytes, config, id).map(|(policy, _)| policy)
    }

    /// [`Engine::load`], also returning the component decisions instantiate.
    pub(crate) fn load_with_component(
        &self,
        bytes: &[u8],
        config: &str,
        id: PolicyId,
    ) -> Result<(Policy, Component), LoadError> {
        self.functions.begin_load();
        let loaded = self.load_uncached(bytes, config, id);
        self.functions.end_load();
        loaded
    }

    fn load_uncached(&self, bytes: &[u8], config: &str, id: PolicyId) -> Result<(Policy, Component), LoadError> {
        match self.snapshot(bytes, config)? {
            Ok(snapshot) => {
                let component = self.compile(&snapshot)?;
                Ok((self.preinitialized(component.clone(), config, id)?, component))
            }
            Err(reason) => {
                // Not a component of our world at all: that error alone, no warning about snapshots.
                let component = self.compile(bytes)?;
                self.link(&component)?;
                tracing::warn!(%reason, policy_sha256 = %id.sha256, "cannot pre-initialize the policy: its config will be parsed on every decision");
                Ok((self.prepare(component.clone(), config, id)?, component))
            }
        }
    }

    /// The component after `init(config)` (see `preinit`), or why it cannot
    /// be snapshotted (`Ok(Err(reason))`: it can still load without one).
    pub(crate) fn snapshot(&self, bytes: &[u8], config: &str) -> Result<Result<Vec<u8>, String>, LoadError> {
        match crate::preinit::snapshot(self, bytes, config) {
            Ok(snapshot) => Ok(Ok(snapshot)),
            Err(SnapshotError::Init(error, store)) => Err(LoadError::Config(classify(error, &store, &self.limits))),
            Err(SnapshotError::Rejected(error)) => Err(error),
            Err(SnapshotError::Unsupported(reason)) => Ok(Err(reason)),
        }
    }

    /// A policy from a component that already went through `init` (a snapshot).
    pub(crate) fn preinitialized(&self, component: Component, config: &str, id: PolicyId) -> Result<Policy, LoadError> {
        let pre = self.link(&component)?;
        Ok(Policy { id, pre, config: config.to_owned(), initialized: true, spare: Mutex::default() })
    }

    /// Checks that `bytes` is a component of our world, without a config.
    pub fn check_world(&self, bytes: &[u8]) -> Result<(), LoadError> {
        self.link(&self.compile(bytes)?).map(drop)
    }

    pub(crate) fn compile(&self, bytes: &[u8]) -> Result<Component, LoadError> {
        Component::new(&self.engine, bytes).map_err(|e| LoadError::NotAComponent(chain(&e)))
    }

    /// Links a component against the host: first the contract version, by
    /// name, so a module of another version gets a message naming both
    /// versions rather than a type or import mismatch.
    pub(crate) fn link(&self, component: &Component) -> Result<Pre<GuestState>, LoadError> {
        let ty = component.component_type();
        let names =
            ty.exports(&self.engine).map(|(name, _)| name).chain(ty.imports(&self.engine).map(|(name, _)| name));
        let contract = crate::contract::contract(names).map_err(|found| LoadError::ContractVersion { found })?;
        let instance_pre =
            self.linker.instantiate_pre(component).map_err(|e| LoadError::UnsupportedImport(chain(&e)))?;
        Pre::new(instance_pre, contract)
            .map_err(|e| LoadError::WrongWorld { version: contract.version(), detail: chain(&e) })
    }

    /// Prepares a compiled component that runs `init` on every decision.
    fn prepare(&self, component: Component, config: &str, id: PolicyId) -> Result<Policy, LoadError> {
        let pre = self.link(&component)?;
        let policy = Policy { id, pre, config: config.to_owned(), initialized: false, spare: Mutex::default() };
        // One trial run of `init`: a policy that cannot start with its config
        // never becomes the one serving requests.
        let mut store = self.store();
        let started = self.instantiate_and_init(&policy, &mut store);
        if let Err(failure) = started {
            return Err(LoadError::Config(classify(failure, &store, &self.limits)));
        }
        Ok(policy)
    }

    pub(crate) fn store(&self) -> Store<GuestState> {
        let stderr = MemoryOutputPipe::new(self.limits.max_stderr_bytes);
        let wasi = WasiCtxBuilder::new().stderr(stderr.clone()).build();
        let state = GuestState {
            wasi,
            table: ResourceTable::new(),
            limiter: MemoryCap { limit: self.limits.max_memory_bytes, exhausted: false },
            stderr,
        };
        let mut store = Store::new(&self.engine, state);
        store.limiter(|s| &mut s.limiter);
        store.set_epoch_deadline(self.deadline_ticks);
        store.epoch_deadline_trap();
        store
    }

    fn instantiate_and_init(&self, policy: &Policy, store: &mut Store<GuestState>) -> Result<Guest, RunError> {
        let instance = policy.pre.instantiate(&mut *store).map_err(RunError::Instantiate)?;
        if !policy.initialized {
            instance.call_init(&mut *store, &policy.config).map_err(RunError::Wasm)?.map_err(RunError::Policy)?;
        }
        Ok(instance)
    }

    /// Runs one decision in a fresh instance: the policy's spare when
    /// [`Engine::tidy`] has made one, else one made here. Never fails: every error is an
    /// [`Outcome::FailClosed`], and the decision is logged.
    pub fn decide(&self, policy: &Policy, request: &Request) -> Verdict {
        let started = Instant::now();
        let spare = Keeper::take(&policy.spare);
        let made_ahead = spare.is_some();
        let (mut store, instance) = match spare {
            Some(Spare { mut store, instance, .. }) => {
                // The deadline counts from now, not from when the spare was made.
                store.set_epoch_deadline(self.deadline_ticks);
                (store, Ok(instance))
            }
            None => {
                let mut store = self.store();
                let instance = self.instantiate_and_init(policy, &mut store);
                (store, instance)
            }
        };
        let result = instance.and_then(|instance| {
            instance.call_evaluate(&mut store, request).map_err(RunError::Wasm)?.map_err(RunError::Policy)
        });
        let (outcome, error_chain, failed) = match result {
            Ok(decision) => (check_decision(decision, &request.method_arn), None, false),
            Err(e) => {
                let chain = e.chain();
                (Outcome::FailClosed(classify(e, &store, &self.limits)), chain, true)
            }
        };
        let latency = started.elapsed();
        let guest_stderr = failed.then(|| stderr_of(&store)).flatten();
        self.keeper.retire(store);
        let redact = |s: String| redact(s, request.identity.as_deref());
        let verdict = Verdict {
            outcome,
            latency,
            error_chain: error_chain.map(redact),
            guest_stderr: guest_stderr.map(redact),
            made_ahead,
        };
        crate::log::decision(&verdict, Some(&policy.id), request.request_id.as_deref());
        verdict
    }
}

/// What went wrong inside a run, before classification.
pub(crate) enum RunError {
    Instantiate(wasmtime::Error),
    Wasm(wasmtime::Error),
    Policy(crate::bindings::PolicyError),
}

impl RunError {
    fn chain(&self) -> Option<String> {
        match self {
            RunError::Instantiate(e) | RunError::Wasm(e) => Some(chain(e)),
            RunError::Policy(_) => None,
        }
    }
}

fn classify(e: RunError, store: &Store<GuestState>, limits: &Limits) -> Failure {
    let error = match e {
        RunError::Policy(p) => return Failure::Policy(PolicyFault::from(p)),
        RunError::Instantiate(e) => {
            if store.data().limiter.exhausted {
                return Failure::MemoryExhausted { limit_bytes: limits.max_memory_bytes };
            }
            return Failure::Host(format!("cannot instantiate the policy: {}", chain(&e)));
        }
        RunError::Wasm(e) => e,
    };
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => {
            Failure::Timeout { budget_ms: u64::try_from(limits.decision_timeout.as_millis()).unwrap_or(u64::MAX) }
        }
        _ if store.data().limiter.exhausted => Failure::MemoryExhausted { limit_bytes: limits.max_memory_bytes },
        Some(trap) => Failure::Trap(trap.to_string()),
        None => Failure::Trap(chain(&error)),
    }
}

fn stderr_of(store: &Store<GuestState>) -> Option<String> {
    let bytes = store.data().stderr.contents();
    (!bytes.is_empty()).then(|| String::from_utf8_lossy(&bytes).into_owned())
}

/// Every message of an error chain, outermost first.
pub fn chain(e: &wasmtime::Error) -> String {
    e.chain().map(|c| c.to_string()).collect::<Vec<_>>().join(": ")
}

/// Hex SHA-256 of `bytes`: how a policy version is identified.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Removes the caller's identity (and its bearer-less form) from text bound
/// for the log: a policy may echo it in a panic message or an error.
fn redact(text: String, identity: Option<&str>) -> String {
    let Some(identity) = identity.map(str::trim).filter(|s| s.len() >= 4) else {
        return text;
    };
    let bare = identity.rsplit(' ').next().unwrap_or(identity);
    let mut text = text.replace(identity, "[redacted]");
    if bare.len() >= 4 {
        text = text.replace(bare, "[redacted]");
    }
    text
}

/// Advances the epoch every tick until the engine is dropped. Without it no
/// deadline would ever fire, so failing to start it fails engine creation.
fn spawn_epoch_ticker(engine: &wasmtime::Engine) -> Result<(), EngineError> {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("authz-epoch".to_owned())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .map(drop)
        .map_err(engine_error)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn compiled_by_last_load(engine: &Engine) -> usize {
        engine.functions.0.lock().unwrap().compiled
    }

    /// A new configuration for the same module (a token added, a key
    /// rotated) takes almost every function from the last load: only the few
    /// that differ from one snapshot to the next are compiled.
    #[test]
    fn a_new_config_for_the_same_module_reuses_the_last_loads_functions() {
        let engine = Engine::new(Limits::default()).unwrap();
        let bytes = std::fs::read(policy_artifacts::STATIC_TOKEN).unwrap();
        let config = policy_artifacts::policy_file("static-token/config.json");
        engine.load(&bytes, &config, None).unwrap();
        let first = compiled_by_last_load(&engine);
        let other = config.replace("user1", "user1-renamed");
        assert_ne!(other, config);
        engine.load(&bytes, &other, None).unwrap();
        let second = compiled_by_last_load(&engine);
        assert!(second * 4 < first, "compiled {first} functions, then {second}");
    }
}
