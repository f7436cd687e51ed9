//! `revoke case <id>`: a case and its whole chain of evidence (rendered by `crate::cases`), and
//! `revoke case ack` (in `ack`): a person's confirmation of a manual step.

pub mod ack;
pub mod step_ack;

use super::error::CommandError;
use super::shell::{runtime, wait_for_topics};
use clap::{Args, Subcommand};
use revoke_shared::config::Config;

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct CaseArgs {
    /// A case id, or an identity id.
    #[arg(required = true)]
    pub id: Option<String>,
    /// Print the case records as JSON.
    #[arg(long)]
    pub json: bool,
    /// Check the case's evidence instead of printing it: every published version's verifier
    /// signature, the chain between versions (each names the digest of the one before), the
    /// workers' signed reports and people's signed decisions it embeds. Names each record that
    /// was altered, removed, reordered, forged or duplicated; exit 1 when anything fails.
    #[arg(long)]
    pub verify: bool,
    #[command(subcommand)]
    pub command: Option<CaseCommand>,
}

#[derive(Subcommand, Debug)]
pub enum CaseCommand {
    /// Record a person's confirmation that a target's access is gone, for systems without an
    /// API (or a manual step an escalation asked for). It becomes evidence like any other,
    /// naming the person, and can close the case.
    Ack(ack::AckArgs),
}

/// `revoke case <id>` or `revoke case ack ...`.
pub fn command(
    cfg: &Config,
    c: CaseArgs,
    leader_wait: u64,
    emit: fn(&str),
) -> Result<(), CommandError> {
    match c.command {
        Some(CaseCommand::Ack(a)) => {
            wait_for_topics(cfg, &[&cfg.topics.confirmations], leader_wait)?;
            runtime()?.block_on(ack::run(cfg, &a, emit))
        }
        None if c.verify => {
            super::evidence::verify_case(cfg, c.id.as_deref().unwrap_or_default(), emit)
        }
        None => show(cfg, &c.id.unwrap_or_default(), c.json, emit),
    }
}

/// Prints every case `id` names (a case id and its replays, or all of an identity's cases), as
/// text or JSON.
fn show(cfg: &Config, id: &str, json: bool, emit: fn(&str)) -> Result<(), CommandError> {
    let log = crate::cases::read_case_log(cfg).map_err(|e| {
        CommandError::job(anyhow::anyhow!(
            "reading {}: {e} (check --brokers and that `revoke topics create` ran)",
            cfg.topics.cases
        ))
    })?;
    let found = log.find_with_replays(id);
    if found.is_empty() {
        return Err(CommandError::job(anyhow::anyhow!(
            "no case with id or identity {:?} in {}",
            id,
            cfg.topics.cases
        )));
    }
    for case in found {
        if json {
            emit(&serde_json::to_string_pretty(case).map_err(CommandError::job)?);
        } else {
            emit(&crate::cases::render(case));
        }
    }
    Ok(())
}
