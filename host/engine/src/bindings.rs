//! The host side of the WIT contract. The only place that runs `bindgen!`;
//! the rest of the workspace uses the types re-exported from here.

#![allow(missing_docs, reason = "generated from the documented WIT")]

wasmtime::component::bindgen!({
    path: "../../wit",
    world: "authorizer-policy",
    additional_derives: [PartialEq],
});

pub use authz::policy::types::{ContextValue, Decision, Effect, Grant, MethodArn, PolicyError, Request, RequestKind};

/// The package version this host was built against (`authz:policy@X.Y.Z`).
pub const CONTRACT_VERSION: &str = "0.1.0";
