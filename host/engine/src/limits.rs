//! Budgets for a decision and bounds on what a policy may answer.

use std::time::Duration;

/// How much a policy may spend on one decision, and how many run at once.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Wall-clock budget for one decision (instantiate, `init`, `evaluate`).
    pub decision_timeout: Duration,
    /// Largest linear memory a policy instance may grow to, in bytes.
    pub max_memory_bytes: usize,
    /// Decisions that may run at the same time (pooling allocator slots).
    pub max_concurrent_decisions: u32,
    /// Bytes of guest stderr kept for the log when a decision fails.
    pub max_stderr_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            decision_timeout: Duration::from_millis(100),
            max_memory_bytes: 32 << 20,
            max_concurrent_decisions: 64,
            max_stderr_bytes: 4096,
        }
    }
}

/// Bounds on a policy's answer. API Gateway rejects responses beyond its own
/// limits with a 500; these keep every answer well inside them.
pub mod answer {
    /// Longest principal id, in bytes.
    pub const MAX_PRINCIPAL_BYTES: usize = 1024;
    /// Most grants in one allow.
    pub const MAX_GRANTS: usize = 100;
    /// Longest resource ARN in a policy statement (API Gateway's limit).
    pub const MAX_RESOURCE_ARN_CHARS: usize = 512;
    /// Most context entries.
    pub const MAX_CONTEXT_ENTRIES: usize = 64;
    /// Longest context key, in bytes.
    pub const MAX_CONTEXT_KEY_BYTES: usize = 128;
    /// Longest usage identifier key, in bytes.
    pub const MAX_USAGE_KEY_BYTES: usize = 256;
    /// Largest serialized authorizer response, in bytes.
    pub const MAX_RESPONSE_BYTES: usize = 8192;
}
