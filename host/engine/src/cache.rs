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
//!
//! Each entry keeps the config it was pre-initialized with beside the code, so
//! [`Engine::load_cached_by_digest`] can load a version from the two digests a
//! registry pointer names, without downloading its module and config: the
//! downloaded bytes would only be hashed to the digests the entry is named by.

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
    /// Loaded from code compiled when the version was published.
    Precompiled,
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

    /// Reads a small file that a [`CodeCache::write_file`] left here: other
    /// state a new process may start from (the registry watcher keeps the
    /// last active pointer it confirmed).
    pub fn read_file(&self, name: &str) -> std::io::Result<Vec<u8>> {
        std::fs::read(self.dir.join(name))
    }

    /// Writes a small file beside the compiled code, atomically (a reader
    /// sees the old bytes or the new ones) and readable by this user only.
    pub fn write_file(&self, name: &str, bytes: &[u8]) -> std::io::Result<()> {
        write_atomically(&self.dir.join(name), bytes)
    }

    /// Removes a file [`CodeCache::write_file`] wrote; a missing one is fine.
    pub fn remove_file(&self, name: &str) -> std::io::Result<()> {
        match std::fs::remove_file(self.dir.join(name)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// The entry's code; its config is the same path with extension `config`.
    fn path(&self, engine: &Engine, module_sha256: &str, config_sha256: &str) -> PathBuf {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.wasmtime().precompile_compatibility_hash().hash(&mut hasher);
        let key = sha256_hex(format!("{module_sha256}\n{config_sha256}\n{:016x}", hasher.finish()).as_bytes());
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
        let config_sha256 = sha256_hex(config.as_bytes());
        if let Some(policy) = self.load_cached_by_digest(cache, &id.sha256, &config_sha256, id.version.clone())? {
            return Ok((policy, LoadedFrom::Cache));
        }
        let path = cache.path(self, &id.sha256, &config_sha256);
        let (policy, component) = self.load_with_component(bytes, config, id)?;
        if policy.is_preinitialized() {
            match component.serialize() {
                Ok(code) => {
                    // The config first: an entry is only used once its code exists.
                    if let Err(e) = write_atomically(&path.with_extension("config"), config.as_bytes())
                        .and_then(|()| write_atomically(&path, &code))
                    {
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

    /// The cached policy for a module and config known only by their SHA-256
    /// digests, or `None` when the cache does not hold both (the caller then
    /// fetches the bytes and calls [`Engine::load_cached`]). An entry whose
    /// code or config is unusable, or whose config no longer has the digest it
    /// is filed under, is logged and treated as missing.
    pub fn load_cached_by_digest(
        &self,
        cache: &CodeCache,
        module_sha256: &str,
        config_sha256: &str,
        version: Option<String>,
    ) -> Result<Option<Policy>, LoadError> {
        let path = cache.path(self, module_sha256, config_sha256);
        if !path.exists() {
            return Ok(None);
        }
        let config = match std::fs::read_to_string(path.with_extension("config")) {
            Ok(config) if sha256_hex(config.as_bytes()) == config_sha256 => config,
            Ok(_) => {
                tracing::warn!(path = %path.display(), "ignoring cache entry: its config does not match its digest");
                return Ok(None);
            }
            Err(e) => {
                tracing::warn!(error = %e, path = %path.display(), "ignoring cache entry without a readable config");
                return Ok(None);
            }
        };
        #[expect(unsafe_code, reason = "loads native code this process kind wrote itself; see the module docs")]
        // SAFETY: the file was written by `Component::serialize` of this engine
        // configuration (the name covers the engine fingerprint) into a 0700
        // directory that only `load_cached` writes.
        let component = unsafe { Component::deserialize_file(self.wasmtime(), &path) };
        match component {
            Ok(component) => {
                let id = PolicyId { sha256: module_sha256.to_owned(), version };
                self.preinitialized(component, &config, id).map(Some)
            }
            Err(e) => {
                tracing::warn!(error = %crate::chain(&e), path = %path.display(), "ignoring unusable cache entry");
                Ok(None)
            }
        }
    }
}
