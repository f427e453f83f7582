//! The policy's global allocator: a bump arena for the one decision an
//! instance makes, in front of the standard allocator.
//!
//! The host runs every decision in a fresh instance and throws it away
//! afterwards, so nothing allocated for a decision needs to be reused: the
//! request the host lowers into the instance (a `cabi_realloc` per string and
//! list), the policy's own work and the decision it returns. A bump is an add
//! and a compare where dlmalloc keeps free lists: static-token decisions
//! 2.2 -> 1.9 µs, JWT 8.0 -> 7.2 µs (BENCHMARKS.md).
//!
//! The arena opens once `init` has parsed the configuration ([`open`]), so the
//! configuration lives in the standard allocator and a snapshot taken after
//! `init` starts every decision with the whole arena free. Freeing the latest
//! allocation gives its bytes back, which lets a growing `Vec` or `String`
//! extend in place; other frees keep their bytes until the instance goes. When
//! the arena is full, allocations go to the standard allocator: a decision that
//! churns through more than [`ARENA_BYTES`] costs at most that much more
//! memory, and behaves as before.
#![allow(unsafe_code, reason = "a global allocator hands out raw memory")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

/// Bytes a decision may take from the arena before falling back.
const ARENA_BYTES: usize = 256 << 10;

/// The arena's memory, in the module's zero-initialised data: it costs
/// nothing in the component's size, and only the pages a decision touches
/// are ever resident.
static mut ARENA: [u8; ARENA_BYTES] = [0; ARENA_BYTES];

/// Offset of the first free byte of the arena.
static USED: AtomicUsize = AtomicUsize::new(0);
/// Whether allocations come from the arena (after `init`).
static OPEN: AtomicBool = AtomicBool::new(false);

/// Serves allocations from the arena from now on.
pub(crate) fn open() {
    OPEN.store(true, Relaxed);
}

struct DecisionArena;

#[global_allocator]
static ALLOCATOR: DecisionArena = DecisionArena;

fn base() -> usize {
    (&raw mut ARENA) as usize
}

fn owns(ptr: *mut u8) -> bool {
    (ptr as usize).wrapping_sub(base()) < ARENA_BYTES
}

impl DecisionArena {
    /// A block from the arena, or `None` when it is closed or too full.
    fn bump(&self, layout: Layout) -> Option<*mut u8> {
        if !OPEN.load(Relaxed) {
            return None;
        }
        let base = base();
        let start = (base + USED.load(Relaxed)).checked_next_multiple_of(layout.align())?;
        let end = start.checked_add(layout.size())?;
        if end > base + ARENA_BYTES {
            return None;
        }
        USED.store(end - base, Relaxed);
        Some((&raw mut ARENA).cast::<u8>().wrapping_add(start - base))
    }
}

// SAFETY: wasm32-wasip2 instances are single-threaded (the atomics are only
// there to make the statics `Sync`); blocks handed out never overlap: `USED`
// only moves back when the block ending at it is freed or resized.
unsafe impl GlobalAlloc for DecisionArena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match self.bump(layout) {
            Some(ptr) => ptr,
            // SAFETY: same contract as ours.
            None => unsafe { System.alloc(layout) },
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        match self.bump(layout) {
            Some(ptr) => {
                // SAFETY: the block is ours and `layout.size()` long; it may hold a freed block's bytes.
                unsafe { ptr.write_bytes(0, layout.size()) };
                ptr
            }
            // SAFETY: same contract as ours.
            None => unsafe { System.alloc_zeroed(layout) },
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if !owns(ptr) {
            // SAFETY: not an arena block, so the standard allocator's.
            return unsafe { System.dealloc(ptr, layout) };
        }
        let offset = ptr as usize - base();
        if offset + layout.size() == USED.load(Relaxed) {
            USED.store(offset, Relaxed);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !owns(ptr) {
            // SAFETY: not an arena block, so the standard allocator's.
            return unsafe { System.realloc(ptr, layout, new_size) };
        }
        let offset = ptr as usize - base();
        if offset + layout.size() == USED.load(Relaxed) && offset + new_size <= ARENA_BYTES {
            // The latest block: grow or shrink it where it is.
            USED.store(offset + new_size, Relaxed);
            return ptr;
        }
        if new_size <= layout.size() {
            return ptr;
        }
        // SAFETY: the caller guarantees `new_size` with `layout.align()` is a valid layout.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: as `alloc`.
        let new = unsafe { self.alloc(new_layout) };
        if !new.is_null() {
            // SAFETY: both blocks are valid for `layout.size()` bytes and distinct.
            unsafe { std::ptr::copy_nonoverlapping(ptr, new, layout.size()) };
        }
        new
    }
}
