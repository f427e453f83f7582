//! What the registry stores.
//!
//! DynamoDB table (`pk` = policy name, `sk` = item kind):
//! - `v#0000000003`: a published version: digests, object keys, publisher, time, signature, note.
//!   Written once, never changed.
//! - `active`: the active pointer: a copy of the active version's fields plus a `revision`
//!   that every activation bumps with a conditional write, and the stack of previously
//!   active versions that `rollback` pops.
//! - `event#<ms>#<revision>#<action>#<version>`: the audit log: every publish, activation and rollback.
//!
//! S3 bucket: `modules/<sha256>.wasm`, `configs/<sha256>.json` and `code/<sha256>.cwasm`
//! (native code compiled at publish), content-addressed and never overwritten.

/// One published version.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PolicyVersion {
    /// Policy name.
    pub policy: String,
    /// 1, 2, 3...
    pub version: u64,
    /// SHA-256 of the module bytes.
    pub module_sha256: String,
    /// SHA-256 of the config bytes.
    pub config_sha256: String,
    /// S3 key of the module.
    pub module_key: String,
    /// S3 key of the config.
    pub config_key: String,
    /// Who published it.
    pub publisher: String,
    /// When, in ms since the epoch.
    pub published_at_ms: u64,
    /// Base64 Ed25519 signature of [`crate::signing::message`], if signed.
    pub signature: Option<String>,
    /// Which key signed it.
    pub key_id: Option<String>,
    /// Free text from the publisher.
    pub note: Option<String>,
    /// Native code compiled at publish, one per architecture, each signed.
    pub code: Vec<NativeCode>,
}

/// A version's code compiled ahead of time for one architecture (see
/// `authz_engine::Engine::precompile`). Always signed: native code runs
/// outside the sandbox, so an authorizer loads it only when a key it trusts
/// with native code signed [`crate::signing::code_message`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NativeCode {
    /// `aarch64` or `x86_64`.
    pub arch: String,
    /// SHA-256 of the code.
    pub code_sha256: String,
    /// S3 key of the code.
    pub code_key: String,
    /// Base64 Ed25519 signature of [`crate::signing::code_message`].
    pub signature: String,
    /// Which key signed it.
    pub key_id: String,
}

/// The active pointer of a policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivePointer {
    /// The active version.
    pub active: PolicyVersion,
    /// Bumped by every activation; the condition of the next one.
    pub revision: u64,
    /// Versions active before, oldest first; `rollback` returns to the last.
    pub previous: Vec<u64>,
    /// Who made the last change.
    pub updated_by: String,
    /// When, in ms since the epoch.
    pub updated_at_ms: u64,
}

/// One audit entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    /// `publish`, `activate` or `rollback`.
    pub action: String,
    /// The version concerned.
    pub version: u64,
    /// The version active before (activations).
    pub from_version: Option<u64>,
    /// Who.
    pub by: String,
    /// When, in ms since the epoch.
    pub at_ms: u64,
}

/// Everything the registry knows about a policy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    /// Every version, oldest first.
    pub versions: Vec<PolicyVersion>,
    /// The active pointer, if any version was activated.
    pub active: Option<ActivePointer>,
    /// Every change, oldest first.
    pub events: Vec<AuditEvent>,
}

/// S3 key of a module.
pub fn module_key(sha256: &str) -> String {
    format!("modules/{sha256}.wasm")
}

/// S3 key of native code.
pub fn code_key(sha256: &str) -> String {
    format!("code/{sha256}.cwasm")
}

/// S3 key of a config.
pub fn config_key(sha256: &str) -> String {
    format!("configs/{sha256}.json")
}
