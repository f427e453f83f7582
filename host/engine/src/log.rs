//! The structured decision log: one event per decision, target `authz::decision`.
//!
//! Fields: `decision`, `principal`, `policy_sha256`, `policy_version`,
//! `latency_us`, `made_ahead`, `request_id`; on failure also `reason`, `error_chain` and
//! `guest_stderr`. The caller's identity is never a field, and failure text is
//! redacted before it gets here.

use crate::engine::{PolicyId, Verdict};
use crate::outcome::Outcome;

/// Logs one decision.
pub fn decision(verdict: &Verdict, policy: Option<&PolicyId>, request_id: Option<&str>) {
    let latency_us = u64::try_from(verdict.latency.as_micros()).unwrap_or(u64::MAX);
    let policy_sha256 = policy.map(|p| p.sha256.as_str());
    let policy_version = policy.and_then(|p| p.version.as_deref());
    match &verdict.outcome {
        Outcome::FailClosed(failure) => tracing::warn!(
            target: "authz::decision",
            decision = "fail_closed",
            reason = %failure,
            error_chain = verdict.error_chain.as_deref(),
            guest_stderr = verdict.guest_stderr.as_deref(),
            policy_sha256,
            policy_version,
            latency_us,
            made_ahead = verdict.made_ahead,
            request_id,
            "decision"
        ),
        outcome => tracing::info!(
            target: "authz::decision",
            decision = outcome.label(),
            principal = outcome.principal_id(),
            policy_sha256,
            policy_version,
            latency_us,
            made_ahead = verdict.made_ahead,
            request_id,
            "decision"
        ),
    }
}
