//! The authorizer process's global allocator: mimalloc, tuned so that peak
//! RSS stays where the system allocator's is. Link it with
//! `use authz_allocator as _;`.
//!
//! A decision allocates a few dozen small blocks (the event's strings, the
//! request record, the response), and glibc's malloc and free cost several
//! times mimalloc's on them: the static-token full path is ~10% faster
//! (BENCHMARKS.md). Out of the box, though, mimalloc commits its arenas
//! eagerly and keeps freed pages for a second before purging them, so
//! compiling a policy peaked at 178 MiB instead of 66, past a 128 MB Lambda.
//! Committing on demand and purging at once bring it back to the system
//! allocator's. The environment (`MIMALLOC_ARENA_EAGER_COMMIT`,
//! `MIMALLOC_PURGE_DELAY`) still overrides both.

// Setting mimalloc's options needs its C API, and running before `main` needs
// a static in `.init_array`.
#![allow(unsafe_code)]

use libmimalloc_sys::{mi_option_set_default, mi_option_t};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_arena_eager_commit` in the `mimalloc.h` of the mimalloc v3 that
/// libmimalloc-sys 0.1.49 builds (it does not name it; the workspace pins
/// that version so the index cannot drift).
pub const ARENA_EAGER_COMMIT: mi_option_t = 4;
/// `mi_option_purge_delay` in mimalloc v3's `mimalloc.h`, in milliseconds.
pub const PURGE_DELAY: mi_option_t = 15;

/// The options, in force before the first arena is reserved: an option set
/// later (say in `main`, after Rust's runtime has allocated) does not apply
/// to memory already reserved. Defaults, not settings, so that the
/// environment wins whichever of mimalloc's constructor and this one runs
/// first.
#[cfg(target_os = "linux")]
#[used]
#[unsafe(link_section = ".init_array")]
static TUNE: extern "C" fn() = tune;

#[cfg(target_os = "linux")]
extern "C" fn tune() {
    // SAFETY: both are valid option indices; setting a default only writes
    // mimalloc's option table.
    unsafe {
        mi_option_set_default(ARENA_EAGER_COMMIT, 0);
        mi_option_set_default(PURGE_DELAY, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use libmimalloc_sys::mi_option_get;

    /// This test binary links the crate, so the constructor has run; the
    /// defaults it replaced are 2 and 1000.
    #[test]
    #[cfg(target_os = "linux")]
    fn options_are_in_force_before_main() {
        // SAFETY: reading an option only reads mimalloc's option table.
        let (eager, delay) = unsafe { (mi_option_get(ARENA_EAGER_COMMIT), mi_option_get(PURGE_DELAY)) };
        let from_env = |name| std::env::var_os(name).is_some();
        if !from_env("MIMALLOC_ARENA_EAGER_COMMIT") {
            assert_eq!(eager, 0);
        }
        if !from_env("MIMALLOC_PURGE_DELAY") {
            assert_eq!(delay, 0);
        }
    }

    /// The environment still tunes the process: run this test binary again
    /// with both options set there.
    #[test]
    fn environment_overrides_the_defaults() {
        if std::env::var_os("AUTHZ_ALLOCATOR_CHILD").is_some() {
            // SAFETY: as above.
            let (eager, delay) = unsafe { (mi_option_get(ARENA_EAGER_COMMIT), mi_option_get(PURGE_DELAY)) };
            assert_eq!((eager, delay), (1, 250));
            return;
        }
        let exe = std::env::current_exe().expect("the test binary's path");
        let child = std::process::Command::new(exe)
            .args(["--exact", "tests::environment_overrides_the_defaults", "--nocapture"])
            .env("AUTHZ_ALLOCATOR_CHILD", "1")
            .env("MIMALLOC_ARENA_EAGER_COMMIT", "1")
            .env("MIMALLOC_PURGE_DELAY", "250")
            .output()
            .expect("run the test binary again");
        assert!(child.status.success(), "{}", String::from_utf8_lossy(&child.stdout));
    }
}
