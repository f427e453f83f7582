//! Paths of the policy components built from `policies/` (see `build.rs`), and
//! of the files that ship beside them.

// A test-support crate: a missing fixture should stop the test loudly.
#![allow(clippy::panic)]

include!(concat!(env!("OUT_DIR"), "/artifacts.rs"));

/// The repository's `policies/` folder.
pub const POLICIES_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies");

/// The repository's `tests/fixtures` folder.
pub const FIXTURES_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures");

/// Reads a file under `policies/`, e.g. `static-token/config.json`.
pub fn policy_file(relative: &str) -> String {
    let path = format!("{POLICIES_DIR}/{relative}");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// Reads a file under `tests/fixtures`, e.g. `events/token-abc123.json`.
pub fn fixture(relative: &str) -> String {
    let path = format!("{FIXTURES_DIR}/{relative}");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}
