//! Paths of the policy components built from `policies/` (see `build.rs`), and
//! of the files that ship beside them.

// A test-support crate: a missing fixture should stop the test loudly.
#![allow(clippy::panic)]

include!(concat!(env!("OUT_DIR"), "/artifacts.rs"));

/// The repository's `policies/` folder.
pub const POLICIES_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies");

/// The repository's `tests/fixtures` folder.
pub const FIXTURES_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures");

/// `static-token` as published before contract 0.2.0: built against
/// `authz:policy@0.1.0` and never rebuilt (`tests/fixtures/policies/README.md`).
pub const STATIC_TOKEN_CONTRACT_0_1_0: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/policies/static-token-contract-0.1.0.wasm");

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

/// The repository's `wit/policy.wit`.
pub const CONTRACT_WIT: &str = include_str!("../../../wit/policy.wit");

/// A component of the `authorizer-policy` world as if built against contract
/// `version`: the repository's WIT with its package version replaced, and
/// code that only traps. What a policy built with another SDK looks like to
/// the host, for testing the version check without a second toolchain run.
pub fn component_for_contract(version: &str) -> Vec<u8> {
    let current = CONTRACT_WIT
        .lines()
        .find_map(|l| l.strip_prefix("package authz:policy@").and_then(|v| v.strip_suffix(';')))
        .unwrap_or_else(|| panic!("no `package authz:policy@...;` line in wit/policy.wit"));
    let wit = CONTRACT_WIT.replace(&format!("authz:policy@{current};"), &format!("authz:policy@{version};"));
    let fail = |e: anyhow::Error| -> ! { panic!("cannot build a component for contract {version}: {e:#}") };
    let mut resolve = wit_parser::Resolve::default();
    let package = resolve.push_str("policy.wit", &wit).unwrap_or_else(|e| fail(e));
    let world = resolve.select_world(&[package], Some("authorizer-policy")).unwrap_or_else(|e| fail(e));
    let mut module = wit_component::dummy_module(&resolve, world, wit_parser::ManglingAndAbi::Standard32);
    wit_component::embed_component_metadata(&mut module, &resolve, world, wit_component::StringEncoding::UTF8)
        .unwrap_or_else(|e| fail(e));
    wit_component::ComponentEncoder::default()
        .module(&module)
        .and_then(|encoder| encoder.validate(true).encode())
        .unwrap_or_else(|e| fail(e))
}
