//! Secrets that cannot be printed by accident.

use std::fmt;

/// A credential. `Debug` and `Display` print `[redacted]`; only `expose()` gives the value, so
/// every place a secret leaves the process is visible in review.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Reads a secret from the environment variable `var`, or the file `path` (trailing newline
    /// trimmed) — configs name where a secret lives, never the secret itself.
    pub fn from_env_or_file(var: Option<&str>, path: Option<&str>) -> Result<Secret, String> {
        if let Some(v) = var {
            return std::env::var(v)
                .map(Secret)
                .map_err(|_| format!("environment variable {v} is not set"));
        }
        if let Some(p) = path {
            return std::fs::read_to_string(p)
                .map(|s| Secret(s.trim_end_matches(['\n', '\r']).to_string()))
                .map_err(|e| format!("cannot read secret file {p}: {e}"));
        }
        Err("no secret source configured (set an env var name or a file path)".into())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_formats_the_value() {
        let s = Secret::new("hunter2");
        assert_eq!(
            format!("{s} {s:?} {:?}", Some(&s)),
            "[redacted] [redacted] Some([redacted])"
        );
        assert_eq!(s.expose(), "hunter2");
    }
}
