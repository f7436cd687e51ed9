//! Reading the config: the file, then the `REVOKE_*` environment overrides, then the checks.

use super::{Config, ConfigError};
use std::path::Path;

impl Config {
    /// Loads `path` (or the defaults when `None`), then applies `REVOKE_*` overrides from `env`.
    pub fn load<I>(path: Option<&Path>, env: I) -> Result<Config, ConfigError>
    where
        I: IntoIterator<Item = (String, String)>,
    {
        let mut value = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.display().to_string(),
                    source,
                })?;
                text.parse::<toml::Table>()
                    .map_err(|source| ConfigError::Parse {
                        path: p.display().to_string(),
                        source,
                    })?
            }
            None => toml::Table::new(),
        };
        let overrides: Vec<(String, Vec<String>, String)> = env
            .into_iter()
            .filter_map(|(var, raw)| {
                let rest = var.strip_prefix("REVOKE_")?;
                let path: Vec<String> = rest.split("__").map(|s| s.to_ascii_lowercase()).collect();
                // Not a config override (e.g. REVOKE_LOG) unless it names section and key.
                (path.len() >= 2 && !path.iter().any(String::is_empty)).then_some((var, path, raw))
            })
            .collect();
        let file_table = value.clone();
        for (var, path, raw) in &overrides {
            set_path(&mut value, path, parse_env_value(raw)).map_err(|why| ConfigError::Env {
                var: var.clone(),
                why,
            })?;
        }
        super::person_refs::resolve_person_refs(&mut value)?;
        check_owner_keys(&value)?;
        let cfg: Config = match toml::Value::Table(value).try_into() {
            Ok(cfg) => cfg,
            Err(typed_err) => {
                // `REVOKE_WORKER__ID=42` is meant as the string "42": retry with every override
                // taken literally before reporting the first error.
                let mut literal = file_table;
                for (var, path, raw) in &overrides {
                    set_path(&mut literal, path, toml::Value::String(raw.clone())).map_err(
                        |why| ConfigError::Env {
                            var: var.clone(),
                            why,
                        },
                    )?;
                }
                toml::Value::Table(literal)
                    .try_into()
                    .map_err(|_: toml::de::Error| ConfigError::Invalid(typed_err.to_string()))?
            }
        };
        cfg.validate()?;
        Ok(cfg)
    }
}

/// Each `[verifier.owners.<kind>]` holds `name` and `contact` only. Checked on the TOML because
/// the owner type is also the escalation contract, which tolerates unknown fields; without this,
/// an `escalation_path` written inside an owner (or a misspelt key) would be silently ignored.
fn check_owner_keys(table: &toml::Table) -> Result<(), ConfigError> {
    let Some(owners) = table
        .get("verifier")
        .and_then(|v| v.get("owners"))
        .and_then(toml::Value::as_table)
    else {
        return Ok(());
    };
    for (kind, owner) in owners {
        let Some(owner) = owner.as_table() else {
            continue; // not a table: the typed reading reports it
        };
        for key in owner.keys() {
            match key.as_str() {
                "name" | "contact" => {}
                "escalation_path" | "escalation_paths" => {
                    return Err(ConfigError::Invalid(format!(
                        "verifier.owners.{kind}.{key}: escalation paths are set per target kind in [verifier.escalation_paths] ({kind} = [{{ name = ..., contact = ..., after_secs = ... }}, ...])"
                    )))
                }
                _ => {
                    return Err(ConfigError::Invalid(format!(
                        "verifier.owners.{kind}.{key}: unknown key (an owner has name and contact)"
                    )))
                }
            }
        }
    }
    Ok(())
}

fn parse_env_value(raw: &str) -> toml::Value {
    // `x = <raw>` parses for numbers, booleans, arrays and quoted strings; anything else is text.
    format!("x = {raw}")
        .parse::<toml::Table>()
        .ok()
        .and_then(|mut t| t.remove("x"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()))
}

fn set_path(table: &mut toml::Table, path: &[String], value: toml::Value) -> Result<(), String> {
    let (last, parents) = path.split_last().expect("path has at least two parts");
    let mut cur = table;
    for p in parents {
        let entry = cur
            .entry(p.clone())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        cur = entry
            .as_table_mut()
            .ok_or_else(|| format!("`{p}` is not a section"))?;
    }
    cur.insert(last.clone(), value);
    Ok(())
}
