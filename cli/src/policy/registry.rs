//! `authz policy publish | activate | rollback | history`: the registry.

use super::{ModuleArgs, cases, engine, read, read_json, test::run_cases};
use crate::aws::{RegistryArgs, block_on, registry_error};
use crate::error::{CliError, bad_input};
use authz_engine::ARCHITECTURES;
use authz_registry::model::{ActivePointer, History};
use authz_registry::signing::SigningKeyPair;
use authz_registry::{Publication, Registry, check_size};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub struct PublishArgs {
    #[command(flatten)]
    module: ModuleArgs,
    /// Policy name in the registry.
    #[arg(long)]
    name: String,
    /// Cases the module must pass before it is published.
    #[arg(long)]
    cases: Option<PathBuf>,
    /// Ed25519 private key (PEM, from `authz keys generate`) to sign the version with.
    #[arg(long, env = "AUTHZ_SIGN_KEY")]
    sign_key: Option<PathBuf>,
    /// Architectures to compile the version for at publish (comma-separated):
    /// an authorizer that trusts the signing key with native code
    /// (`AUTHZ_CODE_SIGNING_KEYS`) then loads code instead of compiling on a
    /// cold start. Needs --sign-key. Default: aarch64,x86_64 when signing.
    #[arg(long, value_delimiter = ',', value_parser = clap::builder::PossibleValuesParser::new(ARCHITECTURES))]
    precompile: Option<Vec<String>>,
    /// Publish no precompiled code: authorizers compile the version themselves.
    #[arg(long, conflicts_with = "precompile")]
    no_precompile: bool,
    /// Make the new version active at once (atomically with publishing it).
    #[arg(long)]
    activate: bool,
    /// Free text kept with the version (why it was published).
    #[arg(long)]
    note: Option<String>,
    /// Who publishes (default: the AWS caller identity).
    #[arg(long, env = "AUTHZ_PUBLISHER")]
    publisher: Option<String>,
    #[command(flatten)]
    registry: RegistryArgs,
}

#[derive(Args)]
pub struct ActivateArgs {
    /// Policy name in the registry.
    #[arg(long)]
    name: String,
    /// The version to make active.
    version: u64,
    /// Who activates (default: the AWS caller identity).
    #[arg(long, env = "AUTHZ_PUBLISHER")]
    publisher: Option<String>,
    #[command(flatten)]
    registry: RegistryArgs,
}

#[derive(Args)]
pub struct RollbackArgs {
    /// Policy name in the registry.
    #[arg(long)]
    name: String,
    /// Who rolls back (default: the AWS caller identity).
    #[arg(long, env = "AUTHZ_PUBLISHER")]
    publisher: Option<String>,
    #[command(flatten)]
    registry: RegistryArgs,
}

#[derive(Args)]
pub struct HistoryArgs {
    /// Policy name in the registry.
    #[arg(long)]
    name: String,
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    registry: RegistryArgs,
}

/// Who is acting: `--publisher`, else the AWS caller's ARN, else the OS user.
async fn who(explicit: Option<String>, args: &RegistryArgs) -> String {
    if let Some(name) = explicit {
        return name;
    }
    let sdk = args.aws.sdk_config().await;
    match aws_sdk_sts::Client::new(&sdk).get_caller_identity().send().await {
        Ok(identity) if identity.arn().is_some() => identity.arn().unwrap_or_default().to_owned(),
        _ => std::env::var("USER").unwrap_or_else(|_| "unknown".to_owned()),
    }
}

pub fn publish(args: PublishArgs) -> Result<ExitCode, CliError> {
    // Refused by the registry anyway, but only after the compiles below; and
    // by the files' sizes, so that a huge one is not read at all.
    for (what, path) in [("module", &args.module.module), ("config", &args.module.config)] {
        let size = std::fs::metadata(path).map_or(0, |m| usize::try_from(m.len()).unwrap_or(usize::MAX));
        check_size(what, &format!("`{}`", path.display()), size).map_err(|e| bad_input(e.to_string()))?;
    }
    let module = read(&args.module.module)?;
    let config = read(&args.module.config)?;
    read_json(&args.module.config)?;
    let shown = args.module.module.display();

    // The same checks the authorizer makes, before anything is stored.
    let engine = engine()?;
    engine.check_world(&module).map_err(|e| bad_input(format!("`{shown}`: {e}")))?;
    let config_text = String::from_utf8(config.clone()).map_err(|_| bad_input("the config is not UTF-8"))?;
    let policy = engine
        .load(&module, &config_text, None)
        .map_err(|e| bad_input(format!("`{shown}` does not start with this config: {e}")))?;
    match &args.cases {
        Some(path) => {
            let file = cases::load(path)?;
            let summary = run_cases(&engine, &policy, &file);
            if summary.failed > 0 {
                eprintln!(
                    "error: refusing to publish: {} of {} cases failed",
                    summary.failed,
                    summary.failed + summary.passed
                );
                return Ok(ExitCode::from(1));
            }
        }
        None => eprintln!("warning: no --cases given: publishing a version no case has checked"),
    }
    let key = match &args.sign_key {
        Some(path) => {
            let pem = String::from_utf8(read(path)?)
                .map_err(|_| bad_input(format!("`{}` is not a PEM file", path.display())))?;
            Some(SigningKeyPair::from_pem(&pem).map_err(|e| bad_input(format!("`{}`: {e}", path.display())))?)
        }
        None => None,
    };
    let code = match (&key, args.no_precompile, args.precompile) {
        (_, true, _) => Vec::new(),
        (None, false, Some(_)) => {
            return Err(bad_input("--precompile needs --sign-key: native code is only ever loaded signed"));
        }
        (None, false, None) => {
            eprintln!("note: no --sign-key: publishing no precompiled code (authorizers will compile this version)");
            Vec::new()
        }
        (Some(key), false, arches) => {
            let mut arches = arches.unwrap_or_else(|| ARCHITECTURES.map(str::to_owned).to_vec());
            arches.sort();
            arches.dedup();
            let arches: Vec<&str> = arches.iter().map(String::as_str).collect();
            let native = engine.precompile(&module, &config_text, &arches).map_err(|e| {
                bad_input(format!("cannot precompile `{shown}`: {e} (--no-precompile publishes without code)"))
            })?;
            arches
                .iter()
                .zip(native)
                .map(|(arch, code)| key.sign_code(&args.name, &module, &config, arch, code))
                .collect()
        }
    };

    block_on(async {
        let registry = args.registry.registry().await;
        let publisher = who(args.publisher.clone(), &args.registry).await;
        let publication = Publication {
            policy: &args.name,
            module: &module,
            config: &config,
            publisher: &publisher,
            signature: key.as_ref().map(|k| k.sign_version(&args.name, &module, &config)),
            note: args.note.as_deref(),
            code: &code,
        };
        let version =
            registry.publish(&publication, args.activate, authz_engine::now_ms()).await.map_err(registry_error)?;
        let precompiled: Vec<String> =
            code.iter().map(|c| format!("{} ({} KiB)", c.arch, c.code.len().div_ceil(1024))).collect();
        println!(
            "published {}@{} (module {}, config {}{}{}){}",
            version.policy,
            version.version,
            short(&version.module_sha256),
            short(&version.config_sha256),
            version.key_id.as_ref().map(|k| format!(", signed by key {k}")).unwrap_or_default(),
            if precompiled.is_empty() {
                String::new()
            } else {
                format!(", precompiled for {}", precompiled.join(", "))
            },
            if args.activate { ", now active" } else { "; activate it with `authz policy activate`" },
        );
        Ok(ExitCode::SUCCESS)
    })?
}

fn print_pointer(verb: &str, pointer: &ActivePointer) {
    println!(
        "{verb}: {}@{} is active (module {}, revision {})",
        pointer.active.policy,
        pointer.active.version,
        short(&pointer.active.module_sha256),
        pointer.revision
    );
}

pub fn activate(args: ActivateArgs) -> Result<ExitCode, CliError> {
    block_on(async {
        let registry: Registry = args.registry.registry().await;
        let by = who(args.publisher.clone(), &args.registry).await;
        let pointer =
            registry.activate(&args.name, args.version, &by, authz_engine::now_ms()).await.map_err(registry_error)?;
        print_pointer("activated", &pointer);
        Ok(ExitCode::SUCCESS)
    })?
}

pub fn rollback(args: RollbackArgs) -> Result<ExitCode, CliError> {
    block_on(async {
        let registry = args.registry.registry().await;
        let by = who(args.publisher.clone(), &args.registry).await;
        let pointer = registry.rollback(&args.name, &by, authz_engine::now_ms()).await.map_err(registry_error)?;
        print_pointer("rolled back", &pointer);
        Ok(ExitCode::SUCCESS)
    })?
}

pub fn history(args: HistoryArgs) -> Result<ExitCode, CliError> {
    block_on(async {
        let registry = args.registry.registry().await;
        let history = registry.history(&args.name).await.map_err(registry_error)?;
        if history.versions.is_empty() {
            return Err(bad_input(format!("no policy named `{}` in the registry", args.name)));
        }
        if args.json {
            println!(
                "{}",
                serde_json::to_string_pretty(&history_json(&history)).map_err(|e| CliError::Failed(e.into()))?
            );
        } else {
            print!("{}", history_table(&history));
        }
        Ok(ExitCode::SUCCESS)
    })?
}

fn short(sha256: &str) -> &str {
    sha256.get(..12).unwrap_or(sha256)
}

fn time(ms: u64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms);
    humantime::format_rfc3339_seconds(t).to_string()
}

/// Rows padded to their widest cell.
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .chain([header.get(i).map_or(0, |h| h.len())])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

fn history_table(h: &History) -> String {
    let active = h.active.as_ref().map(|a| a.active.version);
    let versions: Vec<Vec<String>> = h
        .versions
        .iter()
        .map(|v| {
            vec![
                format!("{}{}", v.version, if Some(v.version) == active { " *" } else { "" }),
                time(v.published_at_ms),
                v.publisher.clone(),
                short(&v.module_sha256).to_owned(),
                short(&v.config_sha256).to_owned(),
                v.key_id.clone().unwrap_or_else(|| "-".to_owned()),
                v.note.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let events: Vec<Vec<String>> = h
        .events
        .iter()
        .map(|e| {
            vec![
                time(e.at_ms),
                e.action.clone(),
                e.version.to_string(),
                e.from_version.map_or_else(|| "-".to_owned(), |v| v.to_string()),
                e.by.clone(),
            ]
        })
        .collect();
    format!(
        "{}\n(* active)\n\n{}",
        table(&["VERSION", "PUBLISHED", "PUBLISHER", "MODULE", "CONFIG", "SIGNED BY", "NOTE"], &versions),
        table(&["TIME", "ACTION", "VERSION", "FROM", "BY"], &events)
    )
}

fn history_json(h: &History) -> serde_json::Value {
    serde_json::json!({
        "active": h.active.as_ref().map(|a| serde_json::json!({
            "version": a.active.version, "revision": a.revision, "previous": a.previous,
            "updatedBy": a.updated_by, "updatedAt": time(a.updated_at_ms),
        })),
        "versions": h.versions.iter().map(|v| serde_json::json!({
            "version": v.version, "moduleSha256": v.module_sha256, "configSha256": v.config_sha256,
            "moduleKey": v.module_key, "configKey": v.config_key, "publisher": v.publisher,
            "publishedAt": time(v.published_at_ms), "keyId": v.key_id, "signature": v.signature, "note": v.note,
            "precompiled": v.code.iter().map(|c| serde_json::json!({
                "arch": c.arch, "codeSha256": c.code_sha256, "codeKey": c.code_key, "keyId": c.key_id,
            })).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "events": h.events.iter().map(|e| serde_json::json!({
            "at": time(e.at_ms), "action": e.action, "version": e.version, "fromVersion": e.from_version, "by": e.by,
        })).collect::<Vec<_>>(),
    })
}
