//! `authz policy build`: a policy crate to a checked component.

use super::engine;
use crate::error::{CliError, bad_input};
use anyhow::{Context, anyhow};
use clap::Args;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

#[derive(Args)]
pub struct BuildArgs {
    /// The policy crate's folder (holding its Cargo.toml).
    crate_dir: PathBuf,
}

/// A built component.
pub struct Built {
    pub path: PathBuf,
    pub size: u64,
    pub sha256: String,
}

/// Makes sure the wasm32-wasip2 target is installed (rustup), once.
fn ensure_target() -> anyhow::Result<()> {
    let installed = Command::new("rustup").args(["target", "list", "--installed"]).output();
    if let Ok(out) = installed
        && String::from_utf8_lossy(&out.stdout).lines().any(|l| l.trim() == "wasm32-wasip2")
    {
        return Ok(());
    }
    eprintln!("adding the wasm32-wasip2 target (rustup target add wasm32-wasip2)");
    let status = Command::new("rustup").args(["target", "add", "wasm32-wasip2"]).status()?;
    if !status.success() {
        return Err(anyhow!("`rustup target add wasm32-wasip2` failed"));
    }
    Ok(())
}

/// Builds the crate at `crate_dir` for wasm32-wasip2 (release) and checks that
/// the result is a component of our world.
pub fn build(crate_dir: &Path) -> Result<Built, CliError> {
    let manifest = crate_dir.join("Cargo.toml");
    let manifest = manifest
        .canonicalize()
        .map_err(|e| bad_input(format!("`{}` is not a crate folder: {e}", crate_dir.display())))?;
    ensure_target()?;
    let mut child = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["build", "--release", "--target", "wasm32-wasip2", "--message-format=json-render-diagnostics"])
        .arg("--manifest-path")
        .arg(&manifest)
        .stdout(Stdio::piped())
        .spawn()
        .context("cannot run cargo")?;
    let mut wasm = None;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let Ok(message) = serde_json::from_str::<serde_json::Value>(&line) else {
                continue;
            };
            let ours = message.get("manifest_path").and_then(|v| v.as_str()).map(Path::new) == Some(manifest.as_path());
            if message.get("reason").and_then(|v| v.as_str()) != Some("compiler-artifact") || !ours {
                continue;
            }
            let files =
                message.get("filenames").and_then(|v| v.as_array()).into_iter().flatten().filter_map(|f| f.as_str());
            if let Some(file) = files.into_iter().find(|f| f.ends_with(".wasm")) {
                wasm = Some(PathBuf::from(file));
            }
        }
    }
    let status = child.wait().context("cargo did not finish")?;
    if !status.success() {
        return Err(CliError::Failed(anyhow!("cargo build failed for `{}`", crate_dir.display())));
    }
    let path =
        wasm.ok_or_else(|| bad_input(format!("`{}` built no .wasm: is it a `cdylib` crate?", crate_dir.display())))?;
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read `{}`", path.display()))?;
    // The config is checked by `test` and `publish`; here the module itself.
    engine()?.check_world(&bytes).map_err(|e| bad_input(format!("`{}`: {e}", path.display())))?;
    Ok(Built { size: bytes.len() as u64, sha256: authz_engine::sha256_hex(&bytes), path })
}

pub fn run(args: BuildArgs) -> Result<ExitCode, CliError> {
    let built = build(&args.crate_dir)?;
    println!("path    {}", built.path.display());
    println!("size    {} bytes", built.size);
    println!("sha256  {}", built.sha256);
    Ok(ExitCode::SUCCESS)
}
