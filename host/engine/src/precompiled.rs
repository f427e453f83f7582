//! Native code compiled when a version is published, so that an authorizer
//! with nothing cached (every Lambda cold start: `/tmp` starts empty) loads
//! code instead of compiling it: compiling and pre-initializing a policy
//! costs 0.15-0.7 s of a cold start, loading its code a few milliseconds.
//!
//! Native code runs outside the sandbox, so this crate never decides whether
//! to trust it: [`Engine::load_precompiled`] is `unsafe`, and its caller (the
//! registry's watcher) loads only code whose digest is signed by a key the
//! operator trusts with native code. wasmtime itself refuses code built for
//! another architecture, by another version or with other settings.

use crate::engine::{Engine, LoadError, Policy, PolicyId, chain, wasmtime_config};
use wasmtime::component::Component;

/// The architectures code can be compiled for (Lambda's two), as
/// `std::env::consts::ARCH` names them.
pub const ARCHITECTURES: [&str; 2] = ["aarch64", "x86_64"];

/// The architecture this process runs on, as code is labelled with it.
pub fn host_architecture() -> &'static str {
    std::env::consts::ARCH
}

impl Engine {
    /// Pre-initializes `bytes` with `config`, as [`Engine::load`] does, and
    /// compiles the snapshot for Linux on each of `arches` with this engine's
    /// settings: the code of each, in order. The code uses the architecture's
    /// baseline instruction set, so it runs on any CPU of that architecture.
    /// Compiling for another architecture than the host's needs the
    /// `cross-compile` feature.
    pub fn precompile(&self, bytes: &[u8], config: &str, arches: &[&str]) -> Result<Vec<Vec<u8>>, LoadError> {
        if let Some(unknown) = arches.iter().find(|a| !ARCHITECTURES.contains(a)) {
            return Err(LoadError::Precompiled(format!(
                "unknown architecture `{unknown}` (expected one of {})",
                ARCHITECTURES.join(", ")
            )));
        }
        let snapshot = self
            .snapshot(bytes, config)?
            .map_err(|reason| LoadError::Precompiled(format!("the policy cannot be pre-initialized: {reason}")))?;
        arches
            .iter()
            .map(|arch| {
                let mut config = wasmtime_config(self.limits());
                config.target(&format!("{arch}-unknown-linux-gnu")).map_err(|e| LoadError::Precompiled(chain(&e)))?;
                let cross = wasmtime::Engine::new(&config)
                    .map_err(|e| LoadError::Precompiled(format!("cannot compile for {arch}: {}", chain(&e))))?;
                cross.precompile_component(&snapshot).map_err(|e| LoadError::NotAComponent(chain(&e)))
            })
            .collect()
    }

    /// A policy from code made by [`Engine::precompile`] for this host, and
    /// the config it was pre-initialized with.
    ///
    /// # Safety
    ///
    /// `code` runs as native code, outside the sandbox: the caller must know
    /// it was made by [`Engine::precompile`] (for the registry: its digest is
    /// signed by a key trusted with native code). Code for another
    /// architecture, wasmtime version or engine setting is refused safely.
    #[expect(unsafe_code, reason = "loads native code; the caller vouches for it")]
    pub unsafe fn load_precompiled(&self, code: &[u8], config: &str, id: PolicyId) -> Result<Policy, LoadError> {
        // SAFETY: the caller vouches for `code` (see above).
        let component =
            unsafe { Component::deserialize(self.wasmtime(), code) }.map_err(|e| LoadError::Precompiled(chain(&e)))?;
        self.preinitialized(component, config, id)
    }
}
