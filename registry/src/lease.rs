//! The last active pointer a registry read confirmed, kept in the
//! compiled-code cache, so that a new process can make its first decision
//! without waiting for the registry.
//!
//! A running watcher serves the version it last confirmed until its next
//! check, up to `check_interval` later. A new process that finds a
//! confirmation younger than its own check interval does the same: its
//! decisions are no staler than a running process's would be, and its first
//! check is due when the interval since that confirmation runs out. Lambda
//! starts every execution environment with an empty `/tmp`, so there it helps
//! a runtime restarted in the same environment (after a crash or a timeout);
//! elsewhere, any process sharing the cache directory.
//!
//! Anything odd about the record (missing, unreadable, another registry's or
//! policy's, confirmed in the future or an interval ago or more) means no
//! lease: the process reads the registry first, as it would without one. A
//! check that finds no active version, or refuses the active one, removes
//! the record; one that cannot reach the registry leaves it to run out.

use crate::client::Registry;
use crate::model::PolicyVersion;
use authz_engine::{CodeCache, sha256_hex};
use std::time::Duration;

/// What the file holds.
#[derive(serde::Serialize, serde::Deserialize)]
struct Record {
    /// [`Registry::place`]: the file name is a digest, this is the check.
    place: String,
    /// When the read that confirmed `active` started, in ms since the epoch.
    confirmed_at_ms: u64,
    active: PolicyVersion,
}

/// A version the registry confirmed active less than a check interval ago.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The version the registry named.
    pub version: PolicyVersion,
    /// When the read that named it started, in ms since the epoch.
    pub confirmed_at_ms: u64,
}

impl Lease {
    /// The lease `cache` holds for `policy` on `registry`, if its
    /// confirmation is less than `interval` before `now_ms`.
    pub fn read(
        cache: &CodeCache,
        registry: &Registry,
        policy: &str,
        interval: Duration,
        now_ms: u64,
    ) -> Option<Lease> {
        let name = file_name(registry.place(), policy);
        let bytes = match cache.read_file(&name) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!(error = %e, policy, "cannot read the last confirmed pointer: reading the registry");
                return None;
            }
        };
        let record: Record = match serde_json::from_slice(&bytes) {
            Ok(record) => record,
            Err(e) => {
                tracing::warn!(error = %e, policy, "ignoring a malformed last confirmed pointer");
                return None;
            }
        };
        if record.place != registry.place() || record.active.policy != policy {
            return None;
        }
        let age = Duration::from_millis(now_ms.checked_sub(record.confirmed_at_ms)?);
        (age < interval).then_some(Lease { version: record.active, confirmed_at_ms: record.confirmed_at_ms })
    }
}

/// Records that the registry named `active` as `active.policy`'s version in
/// a read started at `confirmed_at_ms`.
pub(crate) fn confirm(
    cache: &CodeCache,
    registry: &Registry,
    active: &PolicyVersion,
    confirmed_at_ms: u64,
) -> std::io::Result<()> {
    let record = Record { place: registry.place().to_owned(), confirmed_at_ms, active: active.clone() };
    let bytes = serde_json::to_vec(&record).map_err(std::io::Error::other)?;
    cache.write_file(&file_name(registry.place(), &active.policy), &bytes)
}

/// Removes `policy`'s record: the registry no longer confirms what it names.
pub(crate) fn revoke(cache: &CodeCache, registry: &Registry, policy: &str) -> std::io::Result<()> {
    cache.remove_file(&file_name(registry.place(), policy))
}

fn file_name(place: &str, policy: &str) -> String {
    format!("{}.pointer", sha256_hex(format!("{place}\n{policy}").as_bytes()))
}
