//! A cache of compiled policies on local disk (`/tmp` in Lambda), so a cold
//! start loads native code instead of compiling.
//!
//! Only code this process kind produced itself is ever loaded: entries are
//! written by [`Engine::load_cached`] after a successful compile, named by the
//! SHA-256 of (module digest, config digest, engine fingerprint), in a
//! directory created with mode 0700. Precompiled code from anywhere else is
//! never read. Loading native code is `unsafe` in wasmtime for exactly that
//! reason; wasmtime also refuses code built by another version or with other
//! settings.

use crate::engine::{Engine, LoadError, Policy, PolicyId, sha256_hex};
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use wasmtime::component::Component;

/// A directory of compiled policies.
#[derive(Clone, Debug)]
pub struct CodeCache {
    dir: PathBuf,
}

/// Where a load came from, for logs and benchmarks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadedFrom {
    /// Compiled (and pre-initialized) now.
    Compiled,
    /// Loaded from the cache.
    Cache,
}

impl CodeCache {
    /// A cache in `dir`, created (mode 0700) if missing.
    pub fn new(dir: impl Into<PathBuf>) -> std::io::Result<Self> {
        let dir = dir.into();
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&dir)?;
        Ok(CodeCache { dir })
    }

    fn path(&self, engine: &Engine, module_sha256: &str, config: &str) -> PathBuf {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.wasmtime().precompile_compatibility_hash().hash(&mut hasher);
        let key = sha256_hex(
            format!("{module_sha256}\n{}\n{:016x}", sha256_hex(config.as_bytes()), hasher.finish()).as_bytes(),
        );
        self.dir.join(format!("{key}.cwasm"))
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(&tmp)?, bytes)?;
    std::fs::rename(&tmp, path)
}

impl Engine {
    /// [`Engine::load`], through the compiled-code cache: a hit skips compiling
    /// and pre-initializing; a miss compiles and stores the result. Cache
    /// problems are logged and never fail the load.
    pub fn load_cached(
        &self,
        cache: &CodeCache,
        bytes: &[u8],
        config: &str,
        version: Option<String>,
    ) -> Result<(Policy, LoadedFrom), LoadError> {
        let id = PolicyId { sha256: sha256_hex(bytes), version };
        let path = cache.path(self, &id.sha256, config);
        if path.exists() {
            #[expect(unsafe_code, reason = "loads native code this process kind wrote itself; see the module docs")]
            // SAFETY: the file was written by `Component::serialize` of this engine
            // configuration (the name covers the engine fingerprint) into a 0700
            // directory that only this function writes.
            let component = unsafe { Component::deserialize_file(self.wasmtime(), &path) };
            match component {
                Ok(component) => {
                    return Ok((self.preinitialized(component, config, id)?, LoadedFrom::Cache));
                }
                Err(e) => {
                    tracing::warn!(error = %crate::chain(&e), path = %path.display(), "ignoring unusable cache entry")
                }
            }
        }
        let (policy, component) = self.load_with_component(bytes, config, id)?;
        if policy.is_preinitialized() {
            match component.serialize() {
                Ok(code) => {
                    if let Err(e) = write_atomically(&path, &code) {
                        tracing::warn!(error = %e, path = %path.display(), "cannot write the compiled-code cache");
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %crate::chain(&e), "cannot serialize compiled code")
                }
            }
        }
        Ok((policy, LoadedFrom::Compiled))
    }
}
