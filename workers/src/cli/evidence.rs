//! `revoke case <id> --verify`, `revoke report --verify` and `revoke evidence export|verify`:
//! checking the chain and signatures of the published case versions and the people's decisions
//! they name, online (from the cases topic and the guard log, keys from the config) or offline
//! (an evidence packet, keys pinned with `--keys`).

use super::error::CommandError;
use crate::evidence::check::{render, CaseCheck, CheckOptions, Version};
use crate::evidence::guard_decisions::{check_with_decisions, wanted_digests, LoggedDecision};
use crate::evidence::keys::{PublicKeyEntry, TrustedKeys};
use crate::evidence::packet;
use crate::evidence::read::{read_guard_decisions, read_versions, versions_of};
use clap::{Args, Subcommand};
use revoke_shared::config::Config;
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct EvidenceArgs {
    #[command(subcommand)]
    pub command: EvidenceCommand,
}

#[derive(Subcommand, Debug)]
pub enum EvidenceCommand {
    /// Write one self-contained evidence packet (`revoke.evidence_packet.v1`) for a case: every
    /// version as published (topic, partition, offset, digest), the worker reports and people's
    /// decisions they embed, the guard log's records of the approvals and rejections of held
    /// batches they name, and the public keys that signed them. An auditor checks it with
    /// `revoke evidence verify`, without a broker or the fleet's config.
    Export {
        /// The case id.
        case: String,
        /// Write the packet here instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check an evidence packet offline: every version's digest and verifier signature, the
    /// chain between versions (altered, removed, reordered, forged, duplicated records are
    /// named), the embedded worker reports and people's decisions, and each approval or
    /// rejection the case names (present, unaltered, its person's, deciding this case). Needs no broker and no
    /// config. Without --keys it proves the packet is intact, not who signed it. Exit 1 when
    /// anything fails.
    Verify {
        /// The packet file.
        packet: PathBuf,
        /// A JSON file with the published public keys to trust (a list of
        /// {owner, signer, roles, key_id, public_key, retired}, as a packet's `keys`): only
        /// these are trusted; the packet's own keys are compared with them.
        #[arg(long)]
        keys: Option<PathBuf>,
    },
}

/// The keys `--verify` trusts: `[[signing.evidence_keys]]` and `[[people]]`.
fn config_keys(cfg: &Config) -> Result<TrustedKeys, CommandError> {
    TrustedKeys::from_config(cfg).map_err(|e| CommandError::usage(anyhow::anyhow!(e)))
}

fn options(cfg: &Config, keys: &TrustedKeys) -> CheckOptions {
    CheckOptions {
        require_signed: cfg.signing.required || keys.has_verifier(),
    }
}

fn read_all(cfg: &Config) -> Result<Vec<Version>, CommandError> {
    read_versions(cfg).map_err(|e| {
        CommandError::job(anyhow::anyhow!(
            "reading {}: {e} (check --brokers and that `revoke topics create` ran)",
            cfg.topics.cases
        ))
    })
}

/// The guard log's records of the decisions `versions` name.
fn read_decisions(cfg: &Config, versions: &[Version]) -> Result<Vec<Version>, CommandError> {
    read_guard_decisions(cfg, &wanted_digests(versions)).map_err(|e| {
        CommandError::job(anyhow::anyhow!(
            "reading the guard log {}: {e} (check --brokers and that `revoke topics create` ran)",
            cfg.topics.guard
        ))
    })
}

/// The versions' check, their decisions checked against the guard log.
fn check_online(
    cfg: &Config,
    versions: &[Version],
    keys: &TrustedKeys,
) -> Result<Vec<CaseCheck>, CommandError> {
    let logged: Vec<LoggedDecision> = read_decisions(cfg, versions)?
        .iter()
        .map(LoggedDecision::read)
        .collect();
    Ok(check_with_decisions(
        versions,
        &logged,
        keys,
        options(cfg, keys),
        None,
    ))
}

/// Prints the checks and fails (exit 1) when any record failed.
pub fn conclude(checks: &[CaseCheck], emit: fn(&str)) -> Result<(), CommandError> {
    emit(render(checks).trim_end());
    let failed: Vec<&str> = checks
        .iter()
        .filter(|c| !c.ok())
        .map(|c| c.case_id.as_str())
        .collect();
    if failed.is_empty() {
        emit(&format!(
            "evidence verified: {} case{}, {} versions, {} people's decisions ({} on the guard log), every chain and signature checked",
            checks.len(),
            if checks.len() == 1 { "" } else { "s" },
            checks.iter().map(|c| c.versions).sum::<usize>(),
            checks.iter().map(|c| c.decisions_verified).sum::<usize>(),
            checks.iter().map(|c| c.guard_decisions_verified).sum::<usize>()
        ));
        Ok(())
    } else {
        Err(CommandError::job(anyhow::anyhow!(
            "evidence check FAILED for {} case{}: {}",
            failed.len(),
            if failed.len() == 1 { "" } else { "s" },
            failed.join(", ")
        )))
    }
}

/// `revoke case <id> --verify`: every version of the cases `id` names.
pub fn verify_case(cfg: &Config, id: &str, emit: fn(&str)) -> Result<(), CommandError> {
    let keys = config_keys(cfg)?;
    let versions = versions_of(read_all(cfg)?, id);
    if versions.is_empty() {
        return Err(CommandError::job(anyhow::anyhow!(
            "no case with id or identity {id:?} in {}",
            cfg.topics.cases
        )));
    }
    conclude(&check_online(cfg, &versions, &keys)?, emit)
}

/// `revoke report --verify`: the checks of every version of the cases `ids` (the report's
/// rows), to show per row and then conclude with [`conclude`].
pub fn check_cases(
    cfg: &Config,
    ids: &std::collections::BTreeSet<String>,
) -> Result<Vec<CaseCheck>, CommandError> {
    let keys = config_keys(cfg)?;
    let versions: Vec<Version> = read_all(cfg)?
        .into_iter()
        .filter(|v| {
            v.value
                .get("case_id")
                .and_then(serde_json::Value::as_str)
                .is_some_and(|id| ids.contains(id))
        })
        .collect();
    check_online(cfg, &versions, &keys)
}

/// `revoke evidence export`.
pub fn export(
    cfg: &Config,
    case: &str,
    out: Option<&PathBuf>,
    emit: fn(&str),
) -> Result<(), CommandError> {
    let id = uuid::Uuid::parse_str(case)
        .map_err(|_| CommandError::usage(anyhow::anyhow!("{case:?} is not a case id")))?
        .to_string();
    let keys = config_keys(cfg)?;
    let versions: Vec<Version> = read_all(cfg)?
        .into_iter()
        .filter(|v| v.value.get("case_id").and_then(serde_json::Value::as_str) == Some(&id))
        .collect();
    if versions.is_empty() {
        return Err(CommandError::job(anyhow::anyhow!(
            "no case {id} in {}",
            cfg.topics.cases
        )));
    }
    let decisions = read_decisions(cfg, &versions)?;
    let missing = wanted_digests(&versions).len() - decisions.len();
    if missing > 0 {
        // Still exported (it is the evidence there is); the auditor's check names them REMOVED.
        tracing::warn!(
            case = %id,
            missing,
            guard_topic = %cfg.topics.guard,
            "decisions the case names are not on the guard log: the packet will not verify"
        );
    }
    let p = packet::build(&id, &versions, &decisions, &keys, chrono::Utc::now());
    let text = serde_json::to_string_pretty(&p).map_err(CommandError::job)?;
    match out {
        Some(path) => {
            std::fs::write(path, format!("{text}\n")).map_err(|e| {
                CommandError::job(anyhow::anyhow!("writing {}: {e}", path.display()))
            })?;
            emit(&format!(
                "wrote the evidence packet of case {id} ({} versions, {} reports, {} decisions, {} guard log decisions, {} keys) to {}",
                p.versions.len(),
                p.confirmations.len(),
                p.decisions.len(),
                p.guard_decisions.len(),
                p.keys.len(),
                path.display()
            ));
        }
        None => emit(&text),
    }
    Ok(())
}

/// `revoke evidence verify`: offline, no config.
pub fn verify_packet(
    path: &PathBuf,
    keys: Option<&PathBuf>,
    emit: fn(&str),
) -> Result<(), CommandError> {
    let read = |p: &PathBuf| {
        std::fs::read_to_string(p)
            .map_err(|e| CommandError::usage(anyhow::anyhow!("reading {}: {e}", p.display())))
    };
    let pinned = keys
        .map(|k| {
            let entries: Vec<PublicKeyEntry> = serde_json::from_str(&read(k)?).map_err(|e| {
                CommandError::usage(anyhow::anyhow!(
                    "{}: not a list of public keys: {e}",
                    k.display()
                ))
            })?;
            TrustedKeys::from_entries(&entries)
                .map_err(|e| CommandError::usage(anyhow::anyhow!("{}: {e}", k.display())))
        })
        .transpose()?;
    let check = packet::verify(&read(path)?, pinned.as_ref())
        .map_err(|e| CommandError::job(anyhow::anyhow!("{}: {e}", path.display())))?;
    emit(packet::render(&check).trim_end());
    if check.ok() {
        emit("evidence packet verified");
        Ok(())
    } else {
        Err(CommandError::job(anyhow::anyhow!(
            "evidence packet {} FAILED verification: the records named above",
            path.display()
        )))
    }
}

/// `revoke evidence export|verify` (verify never reaches here: it runs without config).
pub fn command(cfg: &Config, a: &EvidenceArgs, emit: fn(&str)) -> Result<(), CommandError> {
    match &a.command {
        EvidenceCommand::Export { case, out } => export(cfg, case, out.as_ref(), emit),
        EvidenceCommand::Verify { packet, keys } => verify_packet(packet, keys.as_ref(), emit),
    }
}
