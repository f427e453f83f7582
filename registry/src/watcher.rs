//! Hot swap: the authorizer follows a policy's active pointer by itself.
//!
//! At most every `check_interval` it reads the pointer; only when the module
//! or config digest changed does it check the signature (when trusted keys are
//! configured), then load the version from the compiled-code cache by those
//! two digests, or else from the native code compiled at publish for this
//! architecture (only when signed by a key trusted with native code), or
//! else download it, check both digests and compile it, and swap it in.
//! Decisions take an `Arc` of the current version when they start, so a
//! request in flight finishes on the version it started with.
//!
//! Nothing here ever opens the gate: registry unreachable, object missing,
//! digest or signature mismatch, a module that does not compile or whose
//! config it rejects: the last good version keeps serving and the reason is
//! logged. Precompiled code that cannot be used (not signed by a code key,
//! changed, built for another architecture or wasmtime) is logged and the
//! version is compiled instead. A rejected version is not remembered: the
//! next check tries again. With no good version at all (cold start), there is
//! no policy and the authorizer denies everything.
//!
//! Each check that confirms the active version records it in the code cache
//! ([`Lease`]); a new process may serve that version at once, without a
//! registry read, while the confirmation is younger than its check interval.

use crate::client::{Registry, RegistryError};
use crate::lease::{self, Lease};
use crate::model::{ActivePointer, PolicyVersion};
use crate::signing::{TrustedKey, code_message, message};
use authz_engine::{CodeCache, Engine, LoadedFrom, Policy, PolicyId, host_architecture};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// How the watcher follows a policy.
#[derive(Clone, Debug)]
pub struct WatchConfig {
    /// Policy name in the registry.
    pub policy: String,
    /// Minimum time between two reads of the active pointer.
    pub check_interval: Duration,
    /// When non-empty, only versions signed by one of these keys are activated.
    pub trusted_keys: Vec<TrustedKey>,
    /// Compiled-code cache, if any.
    pub cache: Option<CodeCache>,
    /// Keys trusted to sign native code compiled at publish. Empty: such
    /// code is never loaded, every version is compiled here. Whoever holds
    /// one of these keys can run code outside the sandbox.
    pub code_keys: Vec<TrustedKey>,
}

/// A version serving decisions.
#[derive(Debug)]
pub struct ActivePolicy {
    /// Its registry record.
    pub version: PolicyVersion,
    /// The loaded policy (shared: a decision holds it for its whole run).
    pub policy: Arc<Policy>,
}

/// What a check did.
#[derive(Debug, PartialEq)]
pub enum CheckOutcome {
    /// Not due yet.
    NotDue,
    /// The active version is the one serving.
    Unchanged,
    /// A new version now serves.
    Swapped {
        /// The version serving before, if any.
        from: Option<u64>,
        /// The version serving now.
        to: u64,
        /// Whether it was compiled or came from the cache.
        loaded_from: LoadedFrom,
    },
    /// The registry has no active version for the policy.
    NoActiveVersion,
    /// The active version was refused; the previous one keeps serving.
    Rejected {
        /// The refused version.
        version: u64,
        /// Why.
        reason: String,
    },
    /// The registry could not be read; the previous version keeps serving.
    Unreachable(String),
}

/// Follows one policy's active version.
pub struct PolicyWatcher {
    engine: Arc<Engine>,
    registry: Registry,
    config: WatchConfig,
    current: RwLock<Option<Arc<ActivePolicy>>>,
    last_check: Mutex<Option<Instant>>,
    /// Serializes checks: one download and compile at a time.
    checking: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for PolicyWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyWatcher").field("config", &self.config).finish_non_exhaustive()
    }
}

impl PolicyWatcher {
    /// A watcher with nothing loaded yet; call [`PolicyWatcher::check`] to load.
    pub fn new(engine: Arc<Engine>, registry: Registry, config: WatchConfig) -> Self {
        PolicyWatcher {
            engine,
            registry,
            config,
            current: RwLock::new(None),
            last_check: Mutex::new(None),
            checking: tokio::sync::Mutex::new(()),
        }
    }

    /// The version serving now, if any. Hold the `Arc` for the whole decision.
    pub fn current(&self) -> Option<Arc<ActivePolicy>> {
        self.current.read().map(|c| c.clone()).unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }

    /// The engine decisions run on.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Whether the check interval has passed since the last check.
    pub fn check_due(&self) -> bool {
        let last = *self.last_check.lock().unwrap_or_else(|p| p.into_inner());
        last.is_none_or(|t| t.elapsed() >= self.config.check_interval)
    }

    /// Keeps checking every interval in a background task, for long-running
    /// servers (not Lambda, whose process is frozen between invocations:
    /// there, call [`PolicyWatcher::check_if_due`] per invocation). The task
    /// ends when the watcher is dropped everywhere else.
    pub fn poll(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(self);
        let interval = self.config.check_interval.max(Duration::from_millis(100));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                let Some(watcher) = weak.upgrade() else {
                    return;
                };
                watcher.check_if_due().await;
            }
        })
    }

    /// Checks now if due and no other check is running; see [`PolicyWatcher::check`].
    pub async fn check_if_due(&self) -> CheckOutcome {
        let Ok(_one_at_a_time) = self.checking.try_lock() else {
            return CheckOutcome::NotDue;
        };
        if !self.check_due() {
            return CheckOutcome::NotDue;
        }
        self.check_locked().await
    }

    /// Reads the active pointer and swaps in a new version if it changed and
    /// passes every check. Never fails: the outcome says what happened, and
    /// the last good version keeps serving unless a new one replaced it.
    pub async fn check(&self) -> CheckOutcome {
        let _one_at_a_time = self.checking.lock().await;
        self.check_locked().await
    }

    /// [`PolicyWatcher::check`] on an active pointer already read with
    /// [`Registry::active`] in a read started at `read_at_ms`: a cold start
    /// reads it (a network round trip) while the engine is still being set
    /// up, before the watcher exists.
    pub async fn check_read(
        &self,
        read: Result<Option<ActivePointer>, RegistryError>,
        read_at_ms: u64,
    ) -> CheckOutcome {
        let _one_at_a_time = self.checking.lock().await;
        self.apply(read, read_at_ms).await
    }

    /// Serves the version `lease` names, from the compiled-code cache and
    /// without reading the registry; the next check is due when the lease
    /// runs out. False, with nothing changed, when the trusted keys do not
    /// verify the version or the cache no longer holds its code: the caller
    /// then checks the registry as usual.
    pub fn resume(&self, lease: Lease) -> bool {
        let Some(cache) = &self.config.cache else {
            return false;
        };
        let Ok(_one_at_a_time) = self.checking.try_lock() else {
            return false;
        };
        let (policy, target) = (self.config.policy.as_str(), lease.version);
        if let Err(reason) = self.check_signature(&target) {
            tracing::warn!(policy, version = target.version, %reason, "last confirmed version refused: reading the registry");
            return false;
        }
        let label = label(&target);
        let loaded =
            self.engine.load_cached_by_digest(cache, &target.module_sha256, &target.config_sha256, Some(label));
        let loaded = match loaded {
            Ok(Some(loaded)) => loaded,
            Ok(None) => return false,
            Err(e) => {
                tracing::warn!(policy, version = target.version, error = %e, "last confirmed version does not load: reading the registry");
                return false;
            }
        };
        let age_ms = authz_engine::now_ms().saturating_sub(lease.confirmed_at_ms);
        tracing::info!(
            policy,
            version = target.version,
            age_ms,
            "policy version resumed from the registry's last confirmation"
        );
        self.serve(target, loaded);
        // No instant that far back (a machine just booted): due now, the safe side.
        *self.last_check.lock().unwrap_or_else(|p| p.into_inner()) =
            Instant::now().checked_sub(Duration::from_millis(age_ms));
        true
    }

    async fn check_locked(&self) -> CheckOutcome {
        *self.last_check.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        let read_at_ms = authz_engine::now_ms();
        let read = self.registry.active(&self.config.policy).await;
        self.apply(read, read_at_ms).await
    }

    /// The rest of a check once the pointer is read.
    async fn apply(&self, read: Result<Option<ActivePointer>, RegistryError>, read_at_ms: u64) -> CheckOutcome {
        let outcome = match read {
            Err(e) => CheckOutcome::Unreachable(e.to_string()),
            Ok(None) => CheckOutcome::NoActiveVersion,
            Ok(Some(pointer)) => self.consider(pointer).await,
        };
        // The interval runs from the end of a check, so a slow download or
        // compile does not make the next check due at once.
        *self.last_check.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        self.keep_lease(&outcome, read_at_ms);
        self.log(&outcome);
        outcome
    }

    /// Records what the check confirmed for the next process to start from
    /// (see [`Lease`]), or removes a record the registry no longer confirms.
    fn keep_lease(&self, outcome: &CheckOutcome, read_at_ms: u64) {
        let Some(cache) = &self.config.cache else {
            return;
        };
        let kept = match outcome {
            CheckOutcome::Unchanged | CheckOutcome::Swapped { .. } => match self.current() {
                Some(active) => lease::confirm(cache, &self.registry, &active.version, read_at_ms),
                None => Ok(()),
            },
            CheckOutcome::NoActiveVersion | CheckOutcome::Rejected { .. } => {
                lease::revoke(cache, &self.registry, &self.config.policy)
            }
            CheckOutcome::NotDue | CheckOutcome::Unreachable(_) => Ok(()),
        };
        if let Err(e) = kept {
            tracing::warn!(policy = self.config.policy, error = %e, "cannot keep the last confirmed pointer");
        }
    }

    async fn consider(&self, pointer: ActivePointer) -> CheckOutcome {
        let target = pointer.active;
        let serving = self.current();
        if let Some(serving) = &serving
            && serving.version.module_sha256 == target.module_sha256
            && serving.version.config_sha256 == target.config_sha256
        {
            return CheckOutcome::Unchanged;
        }
        let reject = |reason: String| CheckOutcome::Rejected { version: target.version, reason };
        if let Err(reason) = self.check_signature(&target) {
            return reject(reason);
        }
        let label = label(&target);
        let (policy, loaded_from) = match self.cached(&target, &label).await {
            Ok(Some(policy)) => (policy, LoadedFrom::Cache),
            Ok(None) => match self.precompiled(&target, &label).await {
                Some(policy) => (policy, LoadedFrom::Precompiled),
                None => match self.fetch_and_load(&target, label).await {
                    Ok(loaded) => loaded,
                    Err(outcome) => return outcome,
                },
            },
            Err(reason) => return reject(reason),
        };
        let to = target.version;
        let from = serving.map(|s| s.version.version);
        self.serve(target, policy);
        CheckOutcome::Swapped { from, to, loaded_from }
    }

    /// Makes `policy`, loaded from `version`, the one new decisions take.
    fn serve(&self, version: PolicyVersion, policy: Policy) {
        let next = Arc::new(ActivePolicy { version, policy: Arc::new(policy) });
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some(next);
    }

    /// The version from the compiled-code cache, found by the digests the
    /// pointer names: a hit needs no download.
    async fn cached(&self, target: &PolicyVersion, label: &str) -> Result<Option<Policy>, String> {
        let Some(cache) = self.config.cache.clone() else {
            return Ok(None);
        };
        let engine = Arc::clone(&self.engine);
        let (module, config, label) = (target.module_sha256.clone(), target.config_sha256.clone(), label.to_owned());
        // File reads and linking: keep them off the async workers serving decisions.
        tokio::task::spawn_blocking(move || engine.load_cached_by_digest(&cache, &module, &config, Some(label)))
            .await
            .map_err(|e| format!("loading task failed: {e}"))?
            .map_err(|e| e.to_string())
    }

    /// The version from the native code compiled at publish for this
    /// architecture, if a code key signed it and it loads here; `None` (and
    /// why, logged) otherwise: the caller compiles.
    async fn precompiled(&self, target: &PolicyVersion, label: &str) -> Option<Policy> {
        if self.config.code_keys.is_empty() {
            return None;
        }
        let arch = host_architecture();
        let code = target.code.iter().find(|c| c.arch == arch)?;
        let policy = self.config.policy.as_str();
        let signed =
            code_message(&target.policy, &target.module_sha256, &target.config_sha256, arch, &code.code_sha256);
        if !self.config.code_keys.iter().any(|k| k.verifies(&signed, &code.signature)) {
            tracing::warn!(policy, version = target.version, key_id = %code.key_id, "precompiled code not signed by a trusted code key: compiling instead");
            return None;
        }
        let fetched = match self.registry.fetch_code(target, code).await {
            Ok(fetched) => fetched,
            Err(e) => {
                tracing::warn!(policy, version = target.version, error = %e, "cannot fetch precompiled code: compiling instead");
                return None;
            }
        };
        let engine = Arc::clone(&self.engine);
        let id = PolicyId { sha256: target.module_sha256.clone(), version: Some(label.to_owned()) };
        let loaded = tokio::task::spawn_blocking(move || {
            #[expect(unsafe_code, reason = "loads native code compiled at publish")]
            // SAFETY: its digest was just checked, and that digest, with the
            // module and config it was compiled from, is signed by a key the
            // operator trusts with native code (`code_keys`).
            unsafe {
                engine.load_precompiled(&fetched.code, &fetched.config, id)
            }
        })
        .await;
        match loaded {
            Ok(Ok(policy)) => Some(policy),
            Ok(Err(e)) => {
                tracing::warn!(policy, version = target.version, error = %e, "precompiled code unusable here: compiling instead");
                None
            }
            Err(e) => {
                tracing::warn!(policy, version = target.version, error = %e, "loading task failed: compiling instead");
                None
            }
        }
    }

    /// Downloads the version (digests checked) and compiles it, through the
    /// cache when there is one. The error is the check's outcome.
    async fn fetch_and_load(
        &self,
        target: &PolicyVersion,
        label: String,
    ) -> Result<(Policy, LoadedFrom), CheckOutcome> {
        let reject = |reason: String| CheckOutcome::Rejected { version: target.version, reason };
        let fetched = match self.registry.fetch(target).await {
            Ok(fetched) => fetched,
            Err(e @ (RegistryError::S3 { .. } | RegistryError::Dynamo { .. })) => {
                return Err(CheckOutcome::Unreachable(e.to_string()));
            }
            Err(e) => return Err(reject(e.to_string())),
        };
        let engine = Arc::clone(&self.engine);
        let cache = self.config.cache.clone();
        // Compiling is CPU work: keep it off the async workers serving decisions.
        let loaded = tokio::task::spawn_blocking(move || match &cache {
            Some(cache) => engine.load_cached(cache, &fetched.module, &fetched.config, Some(label)),
            None => engine.load(&fetched.module, &fetched.config, Some(label)).map(|p| (p, LoadedFrom::Compiled)),
        })
        .await;
        match loaded {
            Ok(Ok(loaded)) => Ok(loaded),
            Ok(Err(e)) => Err(reject(e.to_string())),
            Err(e) => Err(reject(format!("loading task failed: {e}"))),
        }
    }

    fn check_signature(&self, v: &PolicyVersion) -> Result<(), String> {
        if self.config.trusted_keys.is_empty() {
            return Ok(());
        }
        let signature = v.signature.as_deref().ok_or("the version is not signed and trusted keys are configured")?;
        let signed = message(&v.policy, &v.module_sha256, &v.config_sha256);
        if self.config.trusted_keys.iter().any(|k| k.verifies(&signed, signature)) {
            Ok(())
        } else {
            Err("the signature does not verify with any trusted key".to_owned())
        }
    }

    fn log(&self, outcome: &CheckOutcome) {
        let policy = self.config.policy.as_str();
        let serving = self.current().map(|c| c.version.version);
        match outcome {
            CheckOutcome::NotDue | CheckOutcome::Unchanged => {}
            CheckOutcome::Swapped { from, to, loaded_from } => {
                tracing::info!(policy, from, to, loaded_from = ?loaded_from, "policy version swapped in")
            }
            CheckOutcome::NoActiveVersion => {
                tracing::warn!(policy, serving, "the registry has no active version")
            }
            CheckOutcome::Rejected { version, reason } => {
                tracing::error!(policy, version, serving, %reason, "policy version refused; the last good version keeps serving")
            }
            CheckOutcome::Unreachable(reason) => {
                tracing::warn!(policy, serving, %reason, "registry unreachable; the last good version keeps serving")
            }
        }
    }
}

/// How a version is named in logs and decisions: `policy@version`.
fn label(version: &PolicyVersion) -> String {
    format!("{}@{}", version.policy, version.version)
}
