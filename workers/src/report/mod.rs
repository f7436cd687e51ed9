//! `revoke report`: the audit report, one row per case in a time window, as CSV, JSON or a
//! self-contained HTML page.
//!
//! - The window is `[since, until)` on each case's **effective time** (when access had to be
//!   gone; HR's business date), or on `opened_at` with `--window opened`. A case whose
//!   termination was never seen (`pending`) has no effective time and is placed by `opened_at`.
//!   A date without a time (`2026-11-01`) means midnight UTC; as `--until` it includes that day.
//! - Cases are read from the compacted cases topic (latest version of each).
//! - CSV: one row per case, fixed columns (per-target columns for the five kinds), RFC 4180
//!   (CRLF line ends, fields with `,` `"` CR LF quoted, quotes doubled). Text cells starting with
//!   `=`, `+`, `-`, `@`, tab or CR get a leading `'` so spreadsheets do not run them as formulas.
//!   `--objects FILE` writes a second CSV with one row per object of evidence.
//! - JSON: an array of row objects (full-precision times, RFC 3339).
//! - HTML: one page, inline CSS, no script, no external asset: counts by state, after close
//!   (cases with access returned, with sign-ins after departure; Shared Signals receivers
//!   delivered and overdue), time to revoke per target (p50/p90/max as an inline SVG bar chart),
//!   open escalations grouped by owner, and the case table. Every text from a record is
//!   HTML-escaped.
//! - After close, every format: per case the count of `access_returned` and
//!   `access_after_departure` findings, the findings themselves, and per Shared Signals receiver
//!   its outcome and SETs delivered.
//! - Accountability, every format (`accountability`): who decided on the held batch, who executed
//!   (per target its actors and how their report was signed), who attested each target and step,
//!   who reviewed — each `authenticated` or `unauthenticated` — and with `--verify` each case's
//!   evidence check.
//!
//! Pure functions do the work, one file per output: `model` (the rows and the window), `csv`
//! (`to_csv`, `objects_csv`), `json` (`to_json`), `html` (`to_html`), `svg` (the time-to-revoke
//! chart in the page). The command (`cli::report`) reads the topic and writes the output.

mod accountability;
mod csv;
mod html;
mod json;
mod model;
mod svg;

pub use accountability::{
    check_summary, decisions_text, executed_text, report_signature, DecisionRow,
};
pub use csv::{csv_field, csv_header, objects_csv, to_csv};
pub use html::{to_html, to_html_titled};
pub use json::to_json;
pub use model::{
    parse_time, rows, rows_by, select, window_time, AckRow, EscalationRow, FindingRow, RestoreRow,
    Row, SignalRow, TargetRow, Window,
};
pub use svg::{chart_svg, esc, spreads, Spread};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Json,
    Html,
}

#[cfg(test)]
mod tests;
