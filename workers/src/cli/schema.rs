//! `revoke schema`: the published contracts as JSON Schema, generated from the contract types
//! (`revoke_shared::contract::json_schema`). Lists them, prints one, writes them all (`--out`,
//! how `docs/contracts/schemas` is made) or checks a directory against the types (`--check`).
//! Reads no config and no broker.

use super::error::CommandError;
use clap::Args;
use revoke_shared::contract::json_schema::{drift, published};
use std::path::PathBuf;

#[derive(Args, Debug)]
pub struct SchemaArgs {
    /// The schema to print, e.g. `hr-termination`; without it, the list of names and topics.
    pub name: Option<String>,
    /// Write every schema to DIR as `<name>.schema.json` (`--out docs/contracts/schemas`
    /// regenerates the committed ones).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["name", "check"])]
    pub out: Option<PathBuf>,
    /// Compare the schemas in DIR with the types: exit 1 naming every file that differs, is
    /// missing or is produced by no type.
    #[arg(long, value_name = "DIR", conflicts_with = "name")]
    pub check: Option<PathBuf>,
}

pub fn command(args: &SchemaArgs, emit: fn(&str)) -> Result<(), CommandError> {
    if let Some(dir) = &args.check {
        let problems = drift(dir);
        if problems.is_empty() {
            emit(&format!(
                "{}: every schema matches the types",
                dir.display()
            ));
            return Ok(());
        }
        return Err(CommandError::job(anyhow::anyhow!(
            "{} (regenerate with `revoke schema --out {}`)",
            problems.join("; "),
            dir.display()
        )));
    }
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir)
            .map_err(|e| CommandError::job(anyhow::anyhow!("creating {}: {e}", dir.display())))?;
        for p in published() {
            let path = dir.join(p.file_name());
            std::fs::write(&path, p.text()).map_err(|e| {
                CommandError::job(anyhow::anyhow!("writing {}: {e}", path.display()))
            })?;
            emit(&path.display().to_string());
        }
        return Ok(());
    }
    match &args.name {
        None => {
            for p in published() {
                emit(&format!("{:<24} {}", p.name, p.topic));
            }
            Ok(())
        }
        Some(name) => {
            let all = published();
            let p = all.iter().find(|p| p.name == name).ok_or_else(|| {
                let names: Vec<_> = all.iter().map(|p| p.name).collect();
                CommandError::usage(anyhow::anyhow!(
                    "no schema {name:?}: one of {}",
                    names.join(", ")
                ))
            })?;
            emit(p.text().trim_end());
            Ok(())
        }
    }
}
