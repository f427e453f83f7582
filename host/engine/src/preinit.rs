//! Pre-initialization: run a policy's `init` with its configuration once, at
//! load time, and snapshot the instance (wizer) into a new component whose
//! memory already holds the parsed configuration. Every decision then starts
//! from that image (copy-on-write, nothing carried between decisions) and only
//! calls `evaluate`: the configuration is not parsed again per request.

use crate::bindings::AuthorizerPolicy;
use crate::engine::{Engine, GuestState, RunError};
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use wasmtime::Store;
use wasmtime::component::{Instance, Lift, WasmList};
use wasmtime_wizer::ComponentInstanceState;
use wasmtime_wizer::Wizer;

/// Why a snapshot could not be made.
pub(crate) enum SnapshotError {
    /// The policy's `init` failed: the configuration is bad.
    Init(RunError, Store<GuestState>),
    /// The component cannot be snapshotted (wizer limitation); the caller may
    /// fall back to calling `init` on every decision.
    Unsupported(String),
    /// The component can never load here (another contract version): no fallback.
    Rejected(crate::LoadError),
}

fn unsupported(e: impl std::fmt::Display) -> SnapshotError {
    SnapshotError::Unsupported(e.to_string())
}

/// Runs `init(config)` in an instrumented copy of `bytes` and returns the
/// snapshot component.
pub(crate) fn snapshot(engine: &Engine, bytes: &[u8], config: &str) -> Result<Vec<u8>, SnapshotError> {
    let mut wizer = Wizer::new();
    wizer.keep_init_func(true);
    let (cx, instrumented) = wizer.instrument_component(bytes).map_err(unsupported)?;
    let component = engine.compile(&instrumented).map_err(unsupported)?;
    let pre = engine.link(&component).map_err(|e| match e {
        e @ crate::LoadError::ContractVersion { .. } => SnapshotError::Rejected(e),
        e => unsupported(e),
    })?;
    let mut store = engine.store();
    let instance = match pre.instance_pre().instantiate(&mut store) {
        Ok(instance) => instance,
        Err(e) => return Err(SnapshotError::Init(RunError::Instantiate(e), store)),
    };
    let init = AuthorizerPolicy::new(&mut store, &instance)
        .map_err(unsupported)
        .map(|policy| policy.authz_policy_policy().call_init(&mut store, config));
    match init? {
        Ok(Ok(())) => {}
        Ok(Err(policy_error)) => {
            return Err(SnapshotError::Init(RunError::Policy(policy_error), store));
        }
        Err(trap) => return Err(SnapshotError::Init(RunError::Wasm(trap), store)),
    }
    let mut state = SyncInstance { store: &mut store, instance, failed: None };
    let snapshot = {
        let future = pin!(wizer.snapshot_component(&cx, &mut state));
        // Every call below completes synchronously, so one poll finishes the snapshot.
        match future.poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(result) => result.map_err(unsupported)?,
            Poll::Pending => {
                return Err(unsupported("the snapshot did not complete synchronously"));
            }
        }
    };
    match state.failed {
        Some(e) => Err(unsupported(e)),
        None => Ok(snapshot),
    }
}

/// Wizer's view of our (synchronous) store and instance.
struct SyncInstance<'a> {
    store: &'a mut Store<GuestState>,
    instance: Instance,
    /// The first error of a state read; the snapshot is discarded if set.
    failed: Option<String>,
}

impl SyncInstance<'_> {
    fn call<R: Lift + 'static, R2>(
        &mut self,
        interface: &str,
        func: &str,
        use_ret: impl FnOnce(&mut Store<GuestState>, R) -> R2,
    ) -> Option<R2> {
        let result = (|| {
            let (_, iface) = self
                .instance
                .get_export(&mut *self.store, None, interface)
                .ok_or_else(|| format!("no export `{interface}`"))?;
            let (_, export) = self
                .instance
                .get_export(&mut *self.store, Some(&iface), func)
                .ok_or_else(|| format!("no export `{interface}#{func}`"))?;
            let typed =
                self.instance.get_typed_func::<(), (R,)>(&mut *self.store, export).map_err(|e| e.to_string())?;
            typed.call(&mut *self.store, ()).map_err(|e| e.to_string())
        })();
        match result {
            Ok((ret,)) => Some(use_ret(self.store, ret)),
            Err(e) => {
                self.failed.get_or_insert(e);
                None
            }
        }
    }
}

impl ComponentInstanceState for SyncInstance<'_> {
    async fn call_func_ret_list_u8(&mut self, instance: &str, func: &str, contents: impl FnOnce(&[u8]) + Send) {
        let _ = self.call(instance, func, |store, list: WasmList<u8>| contents(list.as_le_slice(&*store)));
    }

    async fn call_func_ret_s32(&mut self, instance: &str, func: &str) -> i32 {
        self.call(instance, func, |_, r: i32| r).unwrap_or_default()
    }

    async fn call_func_ret_s64(&mut self, instance: &str, func: &str) -> i64 {
        self.call(instance, func, |_, r: i64| r).unwrap_or_default()
    }

    async fn call_func_ret_f32(&mut self, instance: &str, func: &str) -> u32 {
        self.call(instance, func, |_, r: f32| r.to_bits()).unwrap_or_default()
    }

    async fn call_func_ret_f64(&mut self, instance: &str, func: &str) -> u64 {
        self.call(instance, func, |_, r: f64| r.to_bits()).unwrap_or_default()
    }
}
