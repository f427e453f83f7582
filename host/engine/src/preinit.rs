//! Pre-initialization: run a policy's `init` with its configuration once, at
//! load time, and snapshot the instance (wizer) into a new component whose
//! memory already holds the parsed configuration. Every decision then starts
//! from that image (copy-on-write, nothing carried between decisions) and only
//! calls `evaluate`: the configuration is not parsed again per request.

use crate::bindings::Guest;
use crate::engine::{Engine, GuestState, RunError};
use std::panic::AssertUnwindSafe;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use wasmparser::ExternalKind;
use wasmtime::Store;
use wasmtime::component::{Instance, Lift, WasmList};
use wasmtime_wizer::{ComponentContext, ComponentInstanceState, Wizer};

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
    let wizer = wizer();
    let (cx, instrumented) = wizer.instrument_component(bytes).map_err(unsupported)?;
    let (mut store, instance) = initialized(engine, &instrumented, config)?;
    // `init` had the decision budget; what follows runs wizer's own state
    // readers (no policy code), whose time is the size of the memory.
    store.set_epoch_deadline(crate::engine::ticks(STATE_READ_BUDGET));
    let snapshot = read_state(&wizer, &cx, &mut SyncInstance { store: &mut store, instance, failed: None })?;
    Ok(with_state_exports(&instrumented, &snapshot).unwrap_or(snapshot))
}

fn wizer() -> Wizer {
    let mut wizer = Wizer::new();
    wizer.keep_init_func(true);
    wizer
}

/// An instance of the instrumented component after `init(config)`.
fn initialized(
    engine: &Engine,
    instrumented: &[u8],
    config: &str,
) -> Result<(Store<GuestState>, Instance), SnapshotError> {
    let component = engine.compile(instrumented).map_err(unsupported)?;
    let pre = engine.link(&component).map_err(|e| match e {
        e @ crate::LoadError::ContractVersion { .. } => SnapshotError::Rejected(e),
        e => unsupported(e),
    })?;
    let mut store = engine.store();
    let instance = match pre.instance_pre().instantiate(&mut store) {
        Ok(instance) => instance,
        Err(e) => return Err(SnapshotError::Init(RunError::Instantiate(e), store)),
    };
    let init = Guest::new(&mut store, &instance, pre.contract())
        .map_err(unsupported)
        .map(|policy| policy.call_init(&mut store, config));
    match init? {
        Ok(Ok(())) => Ok((store, instance)),
        Ok(Err(policy_error)) => Err(SnapshotError::Init(RunError::Policy(policy_error), store)),
        Err(trap) => Err(SnapshotError::Init(RunError::Wasm(trap), store)),
    }
}

/// How long reading an initialized instance's memories and globals may take.
const STATE_READ_BUDGET: std::time::Duration = std::time::Duration::from_secs(10);

/// Snapshots the initialized instance in `state`.
///
/// Wizer cannot be told that a state read failed: it panics on the missing
/// contents. A failed read (a trap: the deadline, say) is remembered in
/// `state`, and the panic it then causes is caught here, so a load never
/// takes the process down; the policy then loads without a snapshot.
fn read_state(
    wizer: &Wizer,
    cx: &ComponentContext<'_>,
    state: &mut SyncInstance<'_>,
) -> Result<Vec<u8>, SnapshotError> {
    let polled = std::panic::catch_unwind(AssertUnwindSafe(|| {
        let future = pin!(wizer.snapshot_component(cx, &mut *state));
        // Every call below completes synchronously, so one poll finishes the snapshot.
        future.poll(&mut Context::from_waker(Waker::noop()))
    }));
    match (polled, state.failed.take()) {
        (_, Some(read_failed)) => Err(unsupported(format!("reading its state failed: {read_failed}"))),
        (Ok(Poll::Ready(result)), None) => result.map_err(unsupported),
        (Ok(Poll::Pending), None) => Err(unsupported("the snapshot did not complete synchronously")),
        (Err(_), None) => Err(unsupported("the snapshot failed (wizer panicked)")),
    }
}

/// The snapshot with the `__wizer_*` global and memory exports the
/// instrumented copy added to each core module (and the snapshot dropped).
///
/// Why: Cranelift compiles an exported global's accesses differently from an
/// internal one's, so the snapshot's functions that touch the stack pointer
/// (most of them) would miss the function cache the instrumented compile just
/// filled. With the same exports, every function of the snapshot is
/// identical to one compiled already and the snapshot's compile is mostly
/// cache hits. The exports stay inside the component: it exports nothing
/// more. `None` when either binary cannot be read this way (the snapshot is
/// then used as it is, only compiled more slowly).
fn with_state_exports(instrumented: &[u8], snapshot: &[u8]) -> Option<Vec<u8>> {
    let state_exports: Vec<Vec<(String, ExternalKind, u32)>> = sections(instrumented)?
        .iter()
        .filter(|(id, _)| *id == CORE_MODULE)
        .map(|(_, m)| state_exports(m))
        .collect::<Option<_>>()?;
    // Instrumenting appends a module of its own; the ones before it are the
    // component's, in the same order as in the snapshot.
    let mut modules = state_exports.into_iter();
    if snapshot.get(..8)? != wasm_encoder::Component::HEADER {
        return None;
    }
    let mut out = wasm_encoder::Component::new();
    for (id, data) in sections(snapshot)? {
        if id == CORE_MODULE {
            out.section(&wasm_encoder::RawSection { id, data: &add_exports(data, &modules.next()?)? });
        } else {
            out.section(&wasm_encoder::RawSection { id, data });
        }
    }
    Some(out.finish())
}

const CORE_MODULE: u8 = 1;
const EXPORT_SECTION: u8 = 7;

/// The (id, contents) of each top-level section of a module or component.
fn sections(binary: &[u8]) -> Option<Vec<(u8, &[u8])>> {
    let mut reader = wasmparser::BinaryReader::new(binary.get(8..)?, 8);
    let mut sections = Vec::new();
    while !reader.eof() {
        let id = reader.read_u8().ok()?;
        let len = reader.read_var_u32().ok()?;
        sections.push((id, reader.read_bytes(usize::try_from(len).ok()?).ok()?));
    }
    Some(sections)
}

fn state_exports(module: &[u8]) -> Option<Vec<(String, ExternalKind, u32)>> {
    let Some((_, exports)) = sections(module)?.into_iter().find(|(id, _)| *id == EXPORT_SECTION) else {
        return Some(Vec::new());
    };
    let mut found = Vec::new();
    for export in wasmparser::ExportSectionReader::new(wasmparser::BinaryReader::new(exports, 0)).ok()? {
        let export = export.ok()?;
        if export.name.starts_with("__wizer_") && matches!(export.kind, ExternalKind::Global | ExternalKind::Memory) {
            found.push((export.name.to_owned(), export.kind, export.index));
        }
    }
    Some(found)
}

/// `module` with `extra` appended to its export section (those it lacks).
fn add_exports(module: &[u8], extra: &[(String, ExternalKind, u32)]) -> Option<Vec<u8>> {
    let mut out = wasm_encoder::Module::new();
    let mut added = extra.is_empty();
    for (id, data) in sections(module)? {
        if id != EXPORT_SECTION {
            out.section(&wasm_encoder::RawSection { id, data });
            continue;
        }
        let mut exports = wasm_encoder::ExportSection::new();
        let mut names = Vec::new();
        for export in wasmparser::ExportSectionReader::new(wasmparser::BinaryReader::new(data, 0)).ok()? {
            let export = export.ok()?;
            exports.export(export.name, encoder_kind(export.kind)?, export.index);
            names.push(export.name);
        }
        for (name, kind, index) in extra.iter().filter(|(name, ..)| !names.contains(&name.as_str())) {
            exports.export(name, encoder_kind(*kind)?, *index);
        }
        out.section(&exports);
        added = true;
    }
    added.then(|| out.finish())
}

fn encoder_kind(kind: ExternalKind) -> Option<wasm_encoder::ExportKind> {
    Some(match kind {
        ExternalKind::Func => wasm_encoder::ExportKind::Func,
        ExternalKind::Table => wasm_encoder::ExportKind::Table,
        ExternalKind::Memory => wasm_encoder::ExportKind::Memory,
        ExternalKind::Global => wasm_encoder::ExportKind::Global,
        ExternalKind::Tag => wasm_encoder::ExportKind::Tag,
        _ => return None,
    })
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::Limits;

    fn state_exports_by_module(binary: &[u8]) -> Vec<Vec<(String, ExternalKind, u32)>> {
        let modules = sections(binary).unwrap();
        modules.iter().filter(|(id, _)| *id == CORE_MODULE).map(|(_, module)| state_exports(module).unwrap()).collect()
    }

    /// A state read that traps (here: past its deadline) gives up the
    /// snapshot with the reason; wizer's panic on the missing contents is not
    /// the process's.
    #[test]
    fn a_failed_state_read_gives_up_the_snapshot_without_a_panic() {
        let engine = Engine::new(Limits::default()).unwrap();
        let bytes = std::fs::read(policy_artifacts::STATIC_TOKEN).unwrap();
        let config = policy_artifacts::policy_file("static-token/config.json");
        let wizer = wizer();
        let (cx, instrumented) = wizer.instrument_component(&bytes).unwrap();
        let Ok((mut store, instance)) = initialized(&engine, &instrumented, &config) else { panic!("init failed") };
        store.set_epoch_deadline(0);
        match read_state(&wizer, &cx, &mut SyncInstance { store: &mut store, instance, failed: None }) {
            Err(SnapshotError::Unsupported(reason)) => assert!(reason.contains("reading its state failed"), "{reason}"),
            Err(_) => panic!("not the state read's failure"),
            Ok(_) => panic!("snapshotted past the deadline"),
        }
    }

    #[test]
    fn the_snapshot_keeps_the_instrumented_modules_state_exports() {
        let engine = Engine::new(Limits::default()).unwrap();
        let bytes = std::fs::read(policy_artifacts::STATIC_TOKEN).unwrap();
        let config = policy_artifacts::policy_file("static-token/config.json");
        let Ok(snapshot) = snapshot(&engine, &bytes, &config) else { panic!("static-token cannot be snapshotted") };
        let (_, instrumented) = Wizer::new().instrument_component(&bytes).unwrap();
        let (before, after) = (state_exports_by_module(&instrumented), state_exports_by_module(&snapshot));
        assert!(after.iter().flatten().any(|(_, kind, _)| *kind == ExternalKind::Global), "{after:?}");
        assert_eq!(after, before[..after.len()]);
        // Still a valid component of our world, exporting no more than before.
        let component = engine.compile(&snapshot).unwrap();
        engine.link(&component).unwrap();
        let original = engine.compile(&bytes).unwrap();
        let names = |c: &wasmtime::component::Component| {
            c.component_type().exports(engine.wasmtime()).map(|(name, _)| name.to_owned()).collect::<Vec<_>>()
        };
        assert_eq!(names(&component), names(&original));
    }
}
