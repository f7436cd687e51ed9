//! Reading one `[targets.<kind>]` table into typed settings: each adapter's `settings.rs` holds a
//! serde struct (`deny_unknown_fields`, defaults by serde, one `///` line per key) and a small
//! validate step for what serde cannot say (ranges, URL schemes, keys that exclude each other,
//! secrets read from env or file). The rate-limit keys every table may carry (`limit`) are read
//! apart from the adapter's own keys, so both structs can refuse keys they do not know.
//!
//! Errors always name the table and the key, and never a secret: the structs hold only the
//! *names* of the env vars and files a secret is read from.

use reqwest::Url;
use revoke_shared::contract::TargetKind;
use revoke_shared::secret::Secret;
use serde::de::DeserializeOwned;
use std::num::NonZeroU64;
use std::time::Duration;

/// The adapter's own keys of `table` (the rate-limit keys left to `limit`) as `S`.
pub(crate) fn adapter_settings<S: DeserializeOwned>(
    table: &toml::Table,
    kind: TargetKind,
) -> Result<S, String> {
    deserialize(split_limit_keys(table).1, kind)
}

/// `table` split into its rate-limit keys (`limit::LimitTable`) and the adapter's own.
pub(crate) fn split_limit_keys(table: &toml::Table) -> (toml::Table, toml::Table) {
    let limit_keys = field_names::<super::limit::LimitTable>();
    table
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .partition(|(k, _)| limit_keys.contains(&k.as_str()))
}

/// `table` as `S`, errors in our words: `[targets.<kind>] <key>: <what is wrong>`.
pub(crate) fn deserialize<S: DeserializeOwned>(
    table: toml::Table,
    kind: TargetKind,
) -> Result<S, String> {
    S::deserialize(toml::Value::Table(table)).map_err(|e| format!("[targets.{kind}] {}", ours(&e)))
}

/// serde's wording turned into the config's: "unknown field" is an unknown key, "missing
/// field" a required key, and a value's error leads with the key it is about (toml's
/// `Display` puts it last, as "in `key`").
fn ours(e: &toml::de::Error) -> String {
    let text = e.to_string();
    let mut lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let key = match lines.last() {
        Some(l) if l.starts_with("in `") && l.ends_with('`') => {
            let k = l["in `".len()..l.len() - 1].to_string();
            lines.pop();
            Some(k)
        }
        _ => None,
    };
    let message = lines.join(" ");
    if let Some(rest) = message.strip_prefix("unknown field ") {
        return format!("unknown key {rest}");
    }
    if let Some(rest) = message.strip_prefix("missing field ") {
        let name = rest.trim_matches('`');
        return format!(
            "{name} is required (docs/configuration.md, \"Target adapters\", shows an example)"
        );
    }
    match key {
        Some(k) => format!("{k}: {message}"),
        None => message,
    }
}

/// The default of a switch that is on unless the table turns it off.
pub(crate) fn yes() -> bool {
    true
}

/// The default `timeout_ms` of every adapter that has one: 10 seconds.
pub(crate) fn default_timeout_ms() -> NonZeroU64 {
    NonZeroU64::new(10_000).expect("not zero")
}

/// The HTTP client of an adapter whose table sets this per-request timeout (connecting: at most
/// 5 s of it).
pub(crate) fn http_client(kind: TargetKind, timeout: Duration) -> Result<reqwest::Client, String> {
    super::http::client(timeout, timeout.min(Duration::from_secs(5)))
        .map_err(|e| format!("[targets.{kind}] building the HTTP client: {e}"))
}

/// `raw` as the http(s) base URL the key `key` must be.
pub(crate) fn http_url(kind: TargetKind, key: &str, raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw).map_err(|e| format!("[targets.{kind}] {key} {raw:?}: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
        return Err(format!(
            "[targets.{kind}] {key} must be an http(s) URL, got {raw:?}"
        ));
    }
    Ok(url)
}

/// The credential named by `token_env` or `token_file` (exactly one of them).
pub(crate) fn token(
    kind: TargetKind,
    env: Option<&str>,
    file: Option<&str>,
) -> Result<Secret, String> {
    if env.is_some() && file.is_some() {
        return Err(format!(
            "[targets.{kind}] set token_env or token_file, not both"
        ));
    }
    Secret::from_env_or_file(env, file).map_err(|e| format!("[targets.{kind}] credential: {e}"))
}

/// The secret named by `<name>_env` or `<name>_file`: `None` when neither is set, an error when
/// both are or when the source cannot be read (the error names the source, never the value).
pub(crate) fn optional_secret(
    kind: TargetKind,
    name: &str,
    env: Option<&str>,
    file: Option<&str>,
) -> Result<Option<Secret>, String> {
    match (env, file) {
        (None, None) => Ok(None),
        (Some(_), Some(_)) => Err(format!(
            "[targets.{kind}] set {name}_env or {name}_file, not both"
        )),
        _ => Secret::from_env_or_file(env, file)
            .map(Some)
            .map_err(|e| format!("[targets.{kind}] {name}: {e}")),
    }
}

/// The names serde reads for `T` (its `fields`, renames applied), found by asking `T` to
/// deserialize itself from a deserializer that only records what it is asked for.
pub(crate) fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut recorder = FieldRecorder(&[]);
    let _ = T::deserialize(&mut recorder);
    recorder.0
}

struct FieldRecorder(&'static [&'static str]);

impl<'de> serde::Deserializer<'de> for &mut FieldRecorder {
    type Error = serde::de::value::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(serde::de::Error::custom(
            "only a struct's field names are recorded",
        ))
    }

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0 = fields;
        self.deserialize_any(visitor)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Example {
        #[allow(dead_code)]
        url: String,
        #[serde(default, rename = "match")]
        #[allow(dead_code)]
        matching: Option<String>,
        #[serde(default)]
        #[allow(dead_code)]
        flag: bool,
    }

    fn read(s: &str) -> Result<Example, String> {
        deserialize(s.parse().unwrap(), TargetKind::Vault)
    }

    #[test]
    fn field_names_are_serdes() {
        assert_eq!(field_names::<Example>(), ["url", "match", "flag"]);
    }

    #[test]
    fn errors_name_the_table_and_the_key() {
        let e = read("url = \"x\"\ntoken = \"inline\"").unwrap_err();
        assert!(e.starts_with("[targets.vault] unknown key `token`"), "{e}");
        let e = read("flag = true").unwrap_err();
        assert!(e.starts_with("[targets.vault] url is required"), "{e}");
        let e = read("url = \"x\"\nflag = \"yes\"").unwrap_err();
        assert!(e.starts_with("[targets.vault] flag: invalid type"), "{e}");
        assert!(!e.contains('\n'), "{e}");
    }
}
