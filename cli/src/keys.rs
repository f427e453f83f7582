//! `authz keys generate`: an Ed25519 key pair for signing policy versions.

use crate::error::{CliError, bad_input};
use authz_registry::signing::SigningKeyPair;
use clap::{Args, Subcommand};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Make a key pair: `<out>.pem` (private, keep it secret) and `<out>.pub.pem`.
    Generate(GenerateArgs),
}

#[derive(Args)]
pub struct GenerateArgs {
    /// Path prefix of the two files, e.g. `keys/release`.
    #[arg(long, default_value = "authz-signing")]
    out: PathBuf,
}

/// Creates `path` with `contents`, refusing to replace an existing key.
fn create(path: &Path, contents: &str, private: bool) -> Result<(), CliError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if private {
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    }
    let mut file = options.open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => bad_input(format!("`{}` exists: not replacing a key", path.display())),
        _ => bad_input(format!("cannot create `{}`: {e}", path.display())),
    })?;
    file.write_all(contents.as_bytes()).map_err(|e| CliError::Failed(e.into()))
}

pub fn run(command: KeysCommand) -> Result<ExitCode, CliError> {
    let KeysCommand::Generate(args) = command;
    let pair = SigningKeyPair::generate().map_err(|e| CliError::Failed(e.into()))?;
    let private = PathBuf::from(format!("{}.pem", args.out.display()));
    let public = PathBuf::from(format!("{}.pub.pem", args.out.display()));
    let failed = |e: authz_registry::signing::SigningError| CliError::Failed(e.into());
    create(&private, &pair.private_pem().map_err(failed)?, true)?;
    create(&public, &pair.public_pem().map_err(failed)?, false)?;
    let key = pair.public();
    println!("private key: {} (sign with `authz policy publish --sign-key`; keep it secret)", private.display());
    println!("public key:  {}", public.display());
    println!("key id:      {}", key.key_id());
    println!("trust it in the authorizer with AUTHZ_TRUSTED_KEYS={}", key.to_base64());
    Ok(ExitCode::SUCCESS)
}
