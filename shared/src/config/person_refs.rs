//! Owners and escalation path steps named by a person's `id` from `[[people]]`:
//!
//! ```toml
//! [verifier.owners]
//! vault = "alice"                    # a person's id: name and contact come from [[people]]
//! [verifier.escalation_paths]
//! vault = [ { id = "bob", after_secs = 3600 } ]
//! [verifier.guard]
//! owner = "alice"
//! ```
//!
//! Resolved on the TOML at load time, before the typed reading, into the `{ name, contact }` the
//! escalation contract carries, so that every escalation names the person and where to reach
//! them, and the rest of the fleet never needs to look a person up. An id that `[[people]]` does
//! not list is a config error naming it.

use super::ConfigError;
use toml::{Table, Value};

/// Replaces every owner and escalation step written as a person's id by that person's name and
/// contact.
pub(super) fn resolve_person_refs(root: &mut Table) -> Result<(), ConfigError> {
    let people = people_of(root);
    let Some(verifier) = root.get_mut("verifier").and_then(Value::as_table_mut) else {
        return Ok(());
    };
    if let Some(owners) = verifier.get_mut("owners").and_then(Value::as_table_mut) {
        for (kind, owner) in owners.iter_mut() {
            if let Value::String(id) = owner {
                let at = format!("verifier.owners.{kind}");
                *owner = Value::Table(named(&people, id, &at)?);
            }
        }
    }
    if let Some(guard) = verifier.get_mut("guard").and_then(Value::as_table_mut) {
        if let Some(owner) = guard.get_mut("owner") {
            if let Value::String(id) = owner {
                *owner = Value::Table(named(&people, id, "verifier.guard.owner")?);
            }
        }
    }
    if let Some(paths) = verifier
        .get_mut("escalation_paths")
        .and_then(Value::as_table_mut)
    {
        for (kind, path) in paths.iter_mut() {
            let Some(steps) = path.as_array_mut() else {
                continue; // not a list: the typed reading reports it
            };
            for (i, step) in steps.iter_mut().enumerate() {
                let Some(step) = step.as_table_mut() else {
                    continue;
                };
                let Some(id) = step.get("id") else { continue };
                let at = format!("verifier.escalation_paths.{kind}[{i}]");
                let Value::String(id) = id.clone() else {
                    return Err(ConfigError::Invalid(format!(
                        "{at}.id must be a person's id (a string from [[people]])"
                    )));
                };
                if step.contains_key("name") || step.contains_key("contact") {
                    return Err(ConfigError::Invalid(format!(
                        "{at}: give either id (a person in [[people]]) or name and contact, not both"
                    )));
                }
                step.remove("id");
                step.extend(named(&people, &id, &at)?);
            }
        }
    }
    Ok(())
}

/// `(id, name, contact)` of each entry of `[[people]]` that has all three as strings (the typed
/// reading reports anything else).
fn people_of(root: &Table) -> Vec<(String, String, String)> {
    let Some(list) = root.get("people").and_then(Value::as_array) else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|p| {
            let field = |k: &str| p.get(k).and_then(Value::as_str).map(str::to_string);
            Some((field("id")?, field("name")?, field("contact")?))
        })
        .collect()
}

/// The `{ name, contact }` table of person `id`, or the error naming the setting `at`.
fn named(people: &[(String, String, String)], id: &str, at: &str) -> Result<Table, ConfigError> {
    let Some((_, name, contact)) = people.iter().find(|(p, _, _)| p == id.trim()) else {
        let known: Vec<&str> = people.iter().map(|(p, _, _)| p.as_str()).collect();
        return Err(ConfigError::Invalid(format!(
            "{at} = {id:?} names no person in [[people]] (ids: {}); give a person's id or a table {{ name = ..., contact = ... }}",
            if known.is_empty() {
                "none listed".to_string()
            } else {
                known.join(", ")
            }
        )));
    };
    let mut t = Table::new();
    t.insert("name".into(), Value::String(name.clone()));
    t.insert("contact".into(), Value::String(contact.clone()));
    Ok(t)
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::contract::TargetKind;

    const PEOPLE: &str = r##"
[[people]]
id = "alice"
name = "Alice Example"
contact = "alice@example.com"
roles = ["owner", "approver"]

[[people]]
id = "bob"
name = "Bob Example"
contact = "#oncall-bob"
roles = ["owner"]
"##;

    fn load(extra: &str) -> Result<Config, String> {
        let dir = std::env::temp_dir().join(format!("revoke-person-refs-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("revoke.toml");
        std::fs::write(&path, format!("{extra}\n{PEOPLE}")).unwrap();
        let out = Config::load(Some(&path), std::iter::empty()).map_err(|e| e.to_string());
        let _ = std::fs::remove_dir_all(&dir);
        out
    }

    #[test]
    fn owners_guard_owner_and_steps_named_by_id_carry_name_and_contact() {
        let c = load(
            "[verifier.owners]\nvault = \"alice\"\ndefault = { name = \"secops\", contact = \"secops@example.com\" }\n\
             [verifier.guard]\nowner = \"bob\"\n\
             [verifier.escalation_paths]\nvault = [ { id = \"bob\", after_secs = 60 }, { name = \"cto\", contact = \"cto@example.com\", after_secs = 120 } ]\n",
        )
        .unwrap();
        let v = &c.verifier;
        let vault = v.owner_of(Some(TargetKind::Vault));
        assert_eq!(
            (vault.name.as_str(), vault.contact.as_str()),
            ("Alice Example", "alice@example.com")
        );
        assert_eq!(v.owner_of(None).name, "secops");
        let g = v.guard.owner.as_ref().unwrap();
        assert_eq!(
            (g.name.as_str(), g.contact.as_str()),
            ("Bob Example", "#oncall-bob")
        );
        let path = v.escalation_path_of(Some(TargetKind::Vault));
        assert_eq!(path[0].name, "Bob Example");
        assert_eq!(path[0].contact, "#oncall-bob");
        assert_eq!(path[0].after_secs, 60);
        assert_eq!(path[1].name, "cto");
    }

    #[test]
    fn an_unknown_id_is_a_config_error_naming_it() {
        for (toml, needle) in [
            ("[verifier.owners]\nvault = \"mallory\"\n", "verifier.owners.vault = \"mallory\" names no person"),
            ("[verifier.guard]\nowner = \"eve\"\n", "verifier.guard.owner = \"eve\" names no person"),
            (
                "[verifier.escalation_paths]\nvault = [ { id = \"zed\", after_secs = 60 } ]\n",
                "verifier.escalation_paths.vault[0] = \"zed\" names no person",
            ),
            (
                "[verifier.escalation_paths]\nvault = [ { id = \"bob\", name = \"x\", contact = \"y\", after_secs = 60 } ]\n",
                "not both",
            ),
        ] {
            let e = load(toml).unwrap_err();
            assert!(e.contains(needle), "{e}");
            assert!(e.contains("alice, bob") || needle == "not both", "{e}");
        }
    }
}
