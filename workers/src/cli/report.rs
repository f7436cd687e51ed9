//! `revoke report`: reads the cases topic, selects the window, and writes the audit report
//! (the rows and their CSV, JSON and HTML forms are `crate::report`) to stdout or a file.

use super::error::CommandError;
use crate::cases::{read_case_log, ts};
use crate::report::{
    objects_csv, parse_time, select, to_csv, to_html_titled, to_json, Format, Row, Window,
};
use chrono::{DateTime, Utc};
use revoke_shared::config::Config;
use std::path::PathBuf;

/// Arguments of `revoke report`.
#[derive(clap::Args, Debug, Clone)]
pub struct ReportArgs {
    /// Start of the window, inclusive: RFC 3339 (2026-11-01T00:00:00Z) or a date (2026-11-01,
    /// midnight UTC). Default: no lower bound.
    #[arg(long)]
    pub since: Option<String>,
    /// End of the window, exclusive: RFC 3339, or a date, which includes that whole day (UTC).
    /// Default: no upper bound.
    #[arg(long)]
    pub until: Option<String>,
    /// Which time of a case must fall in the window.
    #[arg(long, value_enum, default_value = "effective")]
    pub window: Window,
    /// Output format. Default: from the --output file's extension (.csv, .json, .html), else csv.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Write the report to this file instead of stdout.
    #[arg(long)]
    pub output: Option<PathBuf>,
    /// Also write one CSV row per object of evidence (case, target, object, action, outcome,
    /// removal time, actor, read-back) to this file.
    #[arg(long)]
    pub objects: Option<PathBuf>,
    /// Also check the evidence of every case in the report (as `revoke case --verify`: the
    /// verifier's signature and the chain of every version, the signed reports and decisions
    /// they embed), printed on stderr; exit 1 when anything fails.
    #[arg(long)]
    pub verify: bool,
}

fn format_of(args: &ReportArgs) -> Format {
    if let Some(f) = args.format {
        return f;
    }
    let ext = args
        .output
        .as_ref()
        .and_then(|p| p.extension())
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase());
    match ext.as_deref() {
        Some("json") => Format::Json,
        Some("html") | Some("htm") => Format::Html,
        _ => Format::Csv,
    }
}

/// Writes `text` to `path` through a temporary file in the same folder, so a reader never sees
/// half a report.
fn write_file(path: &PathBuf, text: &str) -> Result<(), CommandError> {
    let tmp = path.with_extension(format!(
        "{}.tmp-{}",
        path.extension().and_then(|e| e.to_str()).unwrap_or(""),
        std::process::id()
    ));
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            CommandError::job(anyhow::anyhow!("writing {}: {e}", path.display()))
        })
}

/// `--since`/`--until` (`flag`), parsed; a bad time is a usage error naming the flag.
pub(super) fn window_bound(
    flag: &str,
    text: Option<&str>,
    end_of_day: bool,
) -> Result<Option<DateTime<Utc>>, CommandError> {
    text.map(|s| parse_time(s, end_of_day))
        .transpose()
        .map_err(|e| CommandError::usage(anyhow::anyhow!("--{flag} {e}")))
}

pub fn run(cfg: &Config, args: &ReportArgs, emit: fn(&str)) -> Result<(), CommandError> {
    let since = window_bound("since", args.since.as_deref(), false)?;
    let until = window_bound("until", args.until.as_deref(), true)?;
    if let (Some(s), Some(u)) = (since, until) {
        if u <= s {
            return Err(CommandError::usage(anyhow::anyhow!(
                "--until ({}) is not after --since ({}): the window [since, until) is empty",
                ts(u),
                ts(s)
            )));
        }
    }
    let format = format_of(args);
    let log = read_case_log(cfg).map_err(|e| {
        CommandError::job(anyhow::anyhow!(
            "reading {}: {e} (check --brokers and that `revoke topics create` ran)",
            cfg.topics.cases
        ))
    })?;
    let selected = select(log.latest.values(), since, until, args.window);
    let mut rows: Vec<Row> = selected.iter().map(|c| Row::from_case(c)).collect();
    // Checked before rendering, so that every format shows each case's result.
    let checks = if args.verify {
        let ids = rows.iter().map(|r| r.case_id.to_string()).collect();
        let checks = super::evidence::check_cases(cfg, &ids)?;
        for r in &mut rows {
            let id = r.case_id.to_string();
            r.evidence_check = Some(match checks.iter().find(|c| c.case_id == id) {
                Some(c) => crate::report::check_summary(c),
                None => "FAILED: no version of the case could be read".into(),
            });
        }
        Some(checks)
    } else {
        None
    };
    let window = format!(
        "{} in [{}, {})",
        match args.window {
            Window::Effective => "effective time",
            Window::Opened => "opened",
        },
        since.map(ts).unwrap_or_else(|| "-∞".into()),
        until.map(ts).unwrap_or_else(|| "∞".into())
    );
    let text = match format {
        Format::Csv => to_csv(&rows),
        Format::Json => to_json(&rows),
        Format::Html => to_html_titled(&rows, Utc::now(), &window),
    };
    if let Some(path) = &args.objects {
        write_file(path, &objects_csv(&selected))?;
    }
    match &args.output {
        Some(path) => {
            write_file(path, &text)?;
            emit(&format!(
                "wrote {} case{} ({window}) to {}",
                rows.len(),
                if rows.len() == 1 { "" } else { "s" },
                path.display()
            ));
        }
        None => emit(text.strip_suffix('\n').unwrap_or(&text)),
    }
    if let Some(checks) = checks {
        // On stderr: stdout may be the report itself.
        super::evidence::conclude(&checks, |line| eprintln!("{line}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_follows_the_flag_else_the_file_extension() {
        let mut a = ReportArgs {
            since: None,
            until: None,
            window: Window::Effective,
            format: None,
            output: None,
            objects: None,
            verify: false,
        };
        assert_eq!(format_of(&a), Format::Csv);
        a.output = Some("r.HTML".into());
        assert_eq!(format_of(&a), Format::Html);
        a.output = Some("r.json".into());
        assert_eq!(format_of(&a), Format::Json);
        a.format = Some(Format::Csv);
        assert_eq!(format_of(&a), Format::Csv);
    }

    #[test]
    fn bad_windows_are_usage_errors_before_any_broker_is_asked() {
        let mut cfg = Config::default();
        cfg.kafka.brokers = "127.0.0.1:1".into();
        let mut a = ReportArgs {
            since: Some("yesterday".into()),
            until: None,
            window: Window::Effective,
            format: None,
            output: None,
            objects: None,
            verify: false,
        };
        let e = run(&cfg, &a, |_| {}).unwrap_err();
        assert!(e.is_usage() && e.to_string().contains("--since"), "{e}");
        a.since = Some("2026-11-02".into());
        a.until = Some("2026-11-01".into());
        let e = run(&cfg, &a, |_| {}).unwrap_err();
        assert!(
            e.is_usage() && e.to_string().contains("is not after"),
            "{e}"
        );
    }
}
