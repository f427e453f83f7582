//! Instances made ahead and dropped behind: the part of a fresh instance per
//! decision that need not be on the request path.
//!
//! A decision needs a new store and instance, and afterwards its pool slot is
//! reset to the policy's image. Both cost more than the decision itself (see
//! BENCHMARKS.md), and neither depends on the request. So a decision takes the
//! policy's *spare*, an instance made before the request arrived and never
//! entered, and leaves its used store behind; [`Engine::tidy`] drops the used
//! stores and makes the next spare. The host calls it when it has answered and
//! waits for the next request: the Lambda runtime after the response is
//! posted, the local gateway beside its response. Every instance still serves
//! exactly one decision.
//!
//! Nothing waits on anything: a decision without a spare instantiates inline,
//! and when used stores are not tidied away the decision drops its own, so a
//! host that never tidies decides exactly as if this module did not exist.
//! Tidying costs no syscall on the request path (no thread to wake), and the
//! work stays on the thread and core that decides.
//!
//! [`Engine::tidy`]: crate::Engine::tidy

use crate::bindings::Guest;
use crate::engine::GuestState;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use wasmtime::Store;

/// Most spares alive at once, over every policy of the engine.
const MAX_SPARES: usize = 4;
/// Most used stores left for [`Engine::tidy`](crate::Engine::tidy).
const MAX_RETIRED: usize = 4;
/// Pool slots beyond the concurrent decisions: spares and used stores.
pub(crate) const HEADROOM: u32 = (MAX_SPARES + MAX_RETIRED) as u32;

/// A fresh instance of a preinitialized policy that no request has entered.
pub(crate) struct Spare {
    pub(crate) store: Store<GuestState>,
    pub(crate) instance: Guest,
    _counted: Counted,
}

/// One unit of the count of live spares, released on drop.
struct Counted(Arc<AtomicUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The engine's spares count and the used stores waiting to be dropped.
#[derive(Default)]
pub(crate) struct Keeper {
    spares: Arc<AtomicUsize>,
    retired: Mutex<Vec<Store<GuestState>>>,
}

impl Keeper {
    /// Takes the policy's spare, if one was made.
    pub(crate) fn take(slot: &Mutex<Option<Spare>>) -> Option<Spare> {
        slot.lock().ok().and_then(|mut spare| spare.take())
    }

    /// Leaves a used store to be dropped by the next tidy, or drops it now
    /// when enough are waiting.
    pub(crate) fn retire(&self, used: Store<GuestState>) {
        if let Ok(mut retired) = self.retired.lock()
            && retired.len() < MAX_RETIRED
        {
            retired.push(used);
        }
    }

    /// Drops every used store left so far (resetting their pool slots).
    pub(crate) fn drop_retired(&self) {
        let retired = self.retired.lock().map(|mut retired| std::mem::take(&mut *retired)).unwrap_or_default();
        drop(retired);
    }

    /// Puts `make()`'s instance in `slot` if it is empty and the pool has
    /// room for another spare. A failure (pool exhausted, say) leaves the slot
    /// empty: the next decision instantiates inline and reports it.
    pub(crate) fn refill(
        &self,
        slot: &Mutex<Option<Spare>>,
        make: impl FnOnce() -> Option<(Store<GuestState>, Guest)>,
    ) {
        if slot.lock().map_or(true, |spare| spare.is_some()) {
            return;
        }
        let counted = Counted(self.spares.clone());
        if self.spares.fetch_add(1, Ordering::Relaxed) >= MAX_SPARES {
            return;
        }
        if let Some((store, instance)) = make()
            && let Ok(mut spare) = slot.lock()
        {
            spare.get_or_insert(Spare { store, instance, _counted: counted });
        }
    }
}
