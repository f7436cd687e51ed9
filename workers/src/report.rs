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
//! - HTML: one page, inline CSS, no script, no external asset: counts by state, time to revoke
//!   per target (p50/p90/max as an inline SVG bar chart), open escalations grouped by owner, and
//!   the case table. Every text from a record is HTML-escaped.
//!
//! Pure functions (`rows`, `to_csv`, `to_json`, `to_html`, `objects_csv`) do the work; the command
//! (`cli::report`) reads the topic and writes the output.

use crate::cases::{
    acknowledgements, escalation_is_open, object_outcome_str, target_provenance, target_state_str,
    ts, verdict, Proof,
};
use chrono::{DateTime, NaiveDate, Utc};
use revoke_shared::contract::{Case, TargetKind};
use serde::Serialize;
use std::collections::BTreeMap;
use uuid::Uuid;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Json,
    Html,
}

/// Which time of a case the window applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Window {
    /// The termination's effective time (when access had to be gone); `opened_at` for a case
    /// whose termination was not seen.
    #[default]
    Effective,
    /// When the verifier first saw the case.
    Opened,
}

/// One target of one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetRow {
    pub required: bool,
    pub state: String,
    pub outcome: Option<String>,
    pub instance: Option<String>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub time_to_revoke_ms: Option<i64>,
    pub attempts: u32,
    /// Distinct `worker as principal` of the objects, in evidence order (else the worker id).
    pub actors: Vec<String>,
    pub objects: usize,
    /// The latest `removed_at` among the objects.
    pub last_removed_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    /// What the evidence rests on: `observed` (a worker's read-back), `attested` (a person's
    /// statement, never verified) or `not_checked`.
    pub provenance: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EscalationRow {
    pub reason: String,
    pub targets: Vec<String>,
    pub owner: String,
    pub owner_contact: String,
    /// 0: the control owner; n: the n-th person of the escalation path.
    pub level: u32,
    pub raised_at: DateTime<Utc>,
    pub open: bool,
    pub detail: String,
}

/// After a rescind: one target's report of what it gave back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestoreRow {
    pub target: String,
    pub instance: String,
    pub finished_at: DateTime<Utc>,
    pub objects: usize,
    pub given_back: usize,
    /// `object_kind object_id (outcome): detail` of each object a person must deal with.
    pub left_for_a_person: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AckRow {
    pub target: String,
    pub by: String,
    pub note: String,
    pub removed_at: Option<DateTime<Utc>>,
    pub recorded_at: Option<DateTime<Utc>>,
}

/// One case, as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub case_id: Uuid,
    pub identity_id: String,
    pub identity_kind: Option<String>,
    pub source: Option<String>,
    pub event_id: Option<String>,
    pub reason: Option<String>,
    pub requested_by: Option<String>,
    pub approved_by: Option<String>,
    pub effective_at: Option<DateTime<Utc>>,
    pub opened_at: DateTime<Utc>,
    pub deadline: Option<DateTime<Utc>>,
    pub state: String,
    /// The verdict in words (as `revoke case` prints it).
    pub verdict: String,
    /// When the verifier reached the current state.
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// From the effective time to closing.
    pub time_to_close_ms: Option<i64>,
    pub rescinded_by: Option<String>,
    pub revision: u64,
    /// Required targets done on a worker's read-back.
    pub verified_targets: usize,
    /// Required targets done on a person's attestation (named in `verdict` and `acks`).
    pub attested_targets: usize,
    pub targets: BTreeMap<TargetKind, TargetRow>,
    pub escalations: Vec<EscalationRow>,
    pub acks: Vec<AckRow>,
    pub restores: Vec<RestoreRow>,
}

impl Row {
    pub fn from_case(case: &Case) -> Row {
        let targets = case
            .targets
            .iter()
            .map(|(kind, st)| {
                let mut actors: Vec<String> = Vec::new();
                for o in &st.objects {
                    let a = format!("{} as {}", o.actor.worker_id, o.actor.principal);
                    if !actors.contains(&a) {
                        actors.push(a);
                    }
                }
                if actors.is_empty() {
                    if let Some(w) = &st.worker {
                        actors.push(w.id.clone());
                    }
                }
                (
                    *kind,
                    TargetRow {
                        required: case.required_targets.contains(kind),
                        state: target_state_str(st.state).into(),
                        outcome: st.outcome.map(|o| o.as_str().into()),
                        instance: st.instance.as_deref().map(Into::into),
                        confirmed_at: st.confirmed_at,
                        time_to_revoke_ms: st.time_to_revoke_ms,
                        attempts: st.attempts,
                        actors,
                        objects: st.objects.len(),
                        last_removed_at: st.objects.iter().filter_map(|o| o.removed_at).max(),
                        error: st.error.as_deref().map(Into::into),
                        provenance: target_provenance(st).into(),
                    },
                )
            })
            .collect();
        let proof = Proof::of(case);
        Row {
            case_id: case.case_id,
            identity_id: case.identity_id.clone(),
            identity_kind: case.identity.as_ref().map(|i| i.kind.as_str().into()),
            source: case.source.clone(),
            event_id: case.event_id.clone(),
            reason: case.reason.clone(),
            requested_by: case.requested_by.clone(),
            approved_by: case.approved_by.clone(),
            effective_at: case.effective_at,
            opened_at: case.opened_at,
            deadline: case.deadline,
            state: case.state.as_str().into(),
            verdict: verdict(case),
            updated_at: case.updated_at,
            closed_at: case.closed_at,
            time_to_close_ms: case.time_to_close_ms(),
            rescinded_by: case.rescinded_by.clone(),
            revision: case.revision,
            verified_targets: proof.verified,
            attested_targets: proof.attested_targets(),
            targets,
            escalations: case
                .escalations
                .iter()
                .map(|e| EscalationRow {
                    reason: e.reason.as_str().into(),
                    targets: e.targets.iter().map(|t| t.as_str().into()).collect(),
                    owner: e.owner.name.clone(),
                    owner_contact: e.owner.contact.clone(),
                    level: e.level,
                    raised_at: e.raised_at,
                    open: escalation_is_open(case, e),
                    detail: e.detail.clone(),
                })
                .collect(),
            acks: acknowledgements(case)
                .into_iter()
                .map(|a| AckRow {
                    target: a.target.as_str().into(),
                    by: a.by,
                    note: a.note,
                    removed_at: a.removed_at,
                    recorded_at: a.recorded_at,
                })
                .collect(),
            restores: case
                .restored
                .iter()
                .map(|r| {
                    let left: Vec<String> = r.left_for_a_person().map(|o| o.describe()).collect();
                    RestoreRow {
                        target: r.target.kind.as_str().into(),
                        instance: r.target.instance.clone(),
                        finished_at: r.finished_at,
                        objects: r.objects.len(),
                        given_back: r.objects.len() - left.len(),
                        left_for_a_person: left,
                    }
                })
                .collect(),
        }
    }
}

/// The time of `case` the window applies to.
pub fn window_time(case: &Case, window: Window) -> DateTime<Utc> {
    match window {
        Window::Effective => case.effective_at.unwrap_or(case.opened_at),
        Window::Opened => case.opened_at,
    }
}

/// The cases whose window time falls in `[since, until)`, ordered by that time, then case id.
pub fn select<'a>(
    cases: impl IntoIterator<Item = &'a Case>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    window: Window,
) -> Vec<&'a Case> {
    let mut out: Vec<&Case> = cases
        .into_iter()
        .filter(|c| {
            let t = window_time(c, window);
            since.is_none_or(|s| t >= s) && until.is_none_or(|u| t < u)
        })
        .collect();
    out.sort_by_key(|c| (window_time(c, window), c.case_id));
    out
}

/// One row per case whose effective time (else `opened_at`) falls in `[since, until)`.
pub fn rows<'a>(
    cases: impl IntoIterator<Item = &'a Case>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> Vec<Row> {
    rows_by(cases, since, until, Window::Effective)
}

/// As `rows`, with the window on the chosen time.
pub fn rows_by<'a>(
    cases: impl IntoIterator<Item = &'a Case>,
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
    window: Window,
) -> Vec<Row> {
    select(cases, since, until, window)
        .into_iter()
        .map(Row::from_case)
        .collect()
}

/// Parses `--since`/`--until`: RFC 3339, or a date (midnight UTC; with `end_of_day`, the next
/// midnight, so the date is included).
pub fn parse_time(text: &str, end_of_day: bool) -> Result<DateTime<Utc>, String> {
    let s = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        Ok(d) => {
            let d = if end_of_day {
                d.succ_opt()
                    .ok_or_else(|| format!("{s:?} is out of range"))?
            } else {
                d
            };
            Ok(d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc())
        }
        Err(_) => Err(format!(
            "{s:?} is neither an RFC 3339 time (2026-11-01T00:00:00Z) nor a date (2026-11-01)"
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// CSV

fn t(d: Option<DateTime<Utc>>) -> String {
    d.map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        .unwrap_or_default()
}

/// How a report names an escalation's level: nothing for the control owner (level 0), else
/// ` (level n)` (the n-th person of the escalation path).
fn level_words(level: u32) -> String {
    if level == 0 {
        String::new()
    } else {
        format!(" (level {level})")
    }
}

fn num<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// One CSV field (RFC 4180): quoted when it holds `,` `"` CR or LF, quotes doubled. A text that
/// a spreadsheet would run as a formula gets a leading `'`.
pub fn csv_field(text: &str, is_text: bool) -> String {
    let guarded;
    let v = if is_text && text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        guarded = format!("'{text}");
        guarded.as_str()
    } else {
        text
    };
    if v.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

fn csv_line(cells: &[(String, bool)]) -> String {
    let mut line = cells
        .iter()
        .map(|(v, text)| csv_field(v, *text))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

const TARGET_COLUMNS: [&str; 10] = [
    "state",
    "outcome",
    "instance",
    "time_to_revoke_ms",
    "actors",
    "objects",
    "last_removed_at",
    "confirmed_at",
    "error",
    "provenance",
];

/// The CSV header: fixed columns, then ten per target kind (`directory_state`, …), then
/// escalations and acknowledgements.
pub fn csv_header() -> Vec<String> {
    let mut h: Vec<String> = [
        "case_id",
        "identity_id",
        "identity_kind",
        "source",
        "event_id",
        "reason",
        "requested_by",
        "approved_by",
        "effective_at",
        "opened_at",
        "deadline",
        "state",
        "verdict",
        "updated_at",
        "closed_at",
        "time_to_close_ms",
        "rescinded_by",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for k in TargetKind::ALL {
        for c in TARGET_COLUMNS {
            h.push(format!("{k}_{c}"));
        }
    }
    for c in [
        "escalations",
        "escalation_owners",
        "open_escalations",
        "acks",
        "restores",
    ] {
        h.push(c.into());
    }
    h
}

/// The report as CSV: a header and one row per case.
pub fn to_csv(rows: &[Row]) -> String {
    let mut out = csv_line(
        &csv_header()
            .into_iter()
            .map(|h| (h, false))
            .collect::<Vec<_>>(),
    );
    for r in rows {
        let text = |s: &str| (s.to_string(), true);
        let opt = |s: &Option<String>| (s.clone().unwrap_or_default(), true);
        let fixed = |s: String| (s, false);
        let mut cells = vec![
            fixed(r.case_id.to_string()),
            text(&r.identity_id),
            opt(&r.identity_kind),
            opt(&r.source),
            opt(&r.event_id),
            opt(&r.reason),
            opt(&r.requested_by),
            opt(&r.approved_by),
            fixed(t(r.effective_at)),
            fixed(t(Some(r.opened_at))),
            fixed(t(r.deadline)),
            fixed(r.state.clone()),
            text(&r.verdict),
            fixed(t(Some(r.updated_at))),
            fixed(t(r.closed_at)),
            fixed(num(r.time_to_close_ms)),
            opt(&r.rescinded_by),
        ];
        for k in TargetKind::ALL {
            match r.targets.get(&k) {
                Some(tr) => cells.extend([
                    fixed(tr.state.clone()),
                    fixed(tr.outcome.clone().unwrap_or_default()),
                    opt(&tr.instance),
                    fixed(num(tr.time_to_revoke_ms)),
                    text(&tr.actors.join("; ")),
                    fixed(tr.objects.to_string()),
                    fixed(t(tr.last_removed_at)),
                    fixed(t(tr.confirmed_at)),
                    opt(&tr.error),
                    fixed(tr.provenance.clone()),
                ]),
                None => cells.extend(TARGET_COLUMNS.iter().map(|_| fixed(String::new()))),
            }
        }
        cells.push(text(
            &r.escalations
                .iter()
                .map(|e| {
                    format!(
                        "{} {}{} at {}",
                        e.reason,
                        e.targets.join("+"),
                        level_words(e.level),
                        t(Some(e.raised_at))
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
        ));
        let mut owners: Vec<String> = Vec::new();
        for e in &r.escalations {
            let o = format!("{} <{}>", e.owner, e.owner_contact);
            if !owners.contains(&o) {
                owners.push(o);
            }
        }
        cells.push(text(&owners.join("; ")));
        cells.push(fixed(
            r.escalations.iter().filter(|e| e.open).count().to_string(),
        ));
        cells.push(text(
            &r.acks
                .iter()
                .map(|a| {
                    format!(
                        "{} by {} removed {}: {}",
                        a.target,
                        a.by,
                        t(a.removed_at),
                        a.note
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
        ));
        cells.push(text(
            &r.restores
                .iter()
                .map(|x| {
                    let mut s = format!(
                        "{}: {} of {} given back at {}",
                        x.target,
                        x.given_back,
                        x.objects,
                        t(Some(x.finished_at))
                    );
                    if !x.left_for_a_person.is_empty() {
                        s.push_str(&format!(", left: {}", x.left_for_a_person.join(", ")));
                    }
                    s
                })
                .collect::<Vec<_>>()
                .join("; "),
        ));
        out.push_str(&csv_line(&cells));
    }
    out
}

/// One CSV row per object of evidence of the given cases.
pub fn objects_csv(cases: &[&Case]) -> String {
    let header = [
        "case_id",
        "identity_id",
        "target",
        "target_state",
        "instance",
        "object_kind",
        "object_id",
        "sponsored",
        "action",
        "outcome",
        "removed_at",
        "worker_id",
        "principal",
        "verified",
        "provenance",
        "read_back",
        "error",
    ];
    let mut out = csv_line(
        &header
            .iter()
            .map(|h| (h.to_string(), false))
            .collect::<Vec<_>>(),
    );
    for c in cases {
        for (kind, st) in &c.targets {
            for o in &st.objects {
                out.push_str(&csv_line(&[
                    (c.case_id.to_string(), false),
                    (c.identity_id.clone(), true),
                    (kind.as_str().into(), false),
                    (target_state_str(st.state).into(), false),
                    (st.instance.as_deref().unwrap_or_default().into(), true),
                    (o.object_kind.clone(), true),
                    (o.object_id.clone(), true),
                    (o.sponsored.to_string(), false),
                    (o.action.clone(), true),
                    (object_outcome_str(o.outcome).into(), false),
                    (t(o.removed_at), false),
                    (o.actor.worker_id.clone(), true),
                    (o.actor.principal.clone(), true),
                    (o.verified.to_string(), false),
                    (o.provenance.as_str().into(), false),
                    (o.read_back.clone(), true),
                    (o.error.clone().unwrap_or_default(), true),
                ]));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// JSON

/// The report as a JSON array of row objects.
pub fn to_json(rows: &[Row]) -> String {
    serde_json::to_string_pretty(rows).expect("rows serialise")
}

// ---------------------------------------------------------------------------------------------
// HTML

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Time-to-revoke statistics of one target over the rows (verified targets only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spread {
    pub n: usize,
    pub p50: i64,
    pub p90: i64,
    pub max: i64,
}

/// Nearest-rank percentile of sorted values (`q` in 0..=1).
fn percentile(sorted: &[i64], q: f64) -> i64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Per target kind, the spread of `time_to_revoke_ms` (kinds without values are left out).
pub fn spreads(rows: &[Row]) -> BTreeMap<TargetKind, Spread> {
    let mut out = BTreeMap::new();
    for k in TargetKind::ALL {
        let mut v: Vec<i64> = rows
            .iter()
            .filter_map(|r| r.targets.get(&k).and_then(|t| t.time_to_revoke_ms))
            .collect();
        if v.is_empty() {
            continue;
        }
        v.sort_unstable();
        out.insert(
            k,
            Spread {
                n: v.len(),
                p50: percentile(&v, 0.5),
                p90: percentile(&v, 0.9),
                max: *v.last().expect("not empty"),
            },
        );
    }
    out
}

fn ms_label(ms: i64) -> String {
    if ms.abs() < 1000 {
        format!("{ms} ms")
    } else if ms.abs() < 120_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else if ms.abs() < 7_200_000 {
        format!("{:.1} min", ms as f64 / 60_000.0)
    } else {
        format!("{:.1} h", ms as f64 / 3_600_000.0)
    }
}

/// The time-to-revoke chart: per target three horizontal bars (p50, p90, max), one scale.
pub fn chart_svg(spreads: &BTreeMap<TargetKind, Spread>) -> String {
    use std::fmt::Write;
    let bar_h = 12;
    let gap = 4;
    let group_h = 3 * (bar_h + gap) + 14;
    let left = 150.0;
    let width = 760.0;
    let plot = width - left - 90.0;
    let height = 30 + group_h * spreads.len().max(1) as i32;
    let top = spreads.values().map(|s| s.max).max().unwrap_or(0).max(1) as f64;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="time to revoke per target: p50, p90 and max">"#
    );
    let _ = write!(
        s,
        r##"<g font-family="sans-serif" font-size="11"><rect x="{left}" y="4" width="10" height="10" fill="#4c78a8"/><text x="{}" y="13">p50</text><rect x="{}" y="4" width="10" height="10" fill="#f58518"/><text x="{}" y="13">p90</text><rect x="{}" y="4" width="10" height="10" fill="#e45756"/><text x="{}" y="13">max</text></g>"##,
        left + 14.0,
        left + 50.0,
        left + 64.0,
        left + 100.0,
        left + 114.0
    );
    if spreads.is_empty() {
        let _ = write!(
            s,
            r#"<text x="10" y="45" font-family="sans-serif" font-size="12">no verified target with a time to revoke in this period</text>"#
        );
    }
    for (i, (kind, sp)) in spreads.iter().enumerate() {
        let y0 = 24 + i as i32 * group_h;
        let _ = write!(
            s,
            r##"<text x="8" y="{}" font-family="sans-serif" font-size="12" font-weight="bold">{}</text><text x="8" y="{}" font-family="sans-serif" font-size="11" fill="#555">n = {}</text>"##,
            y0 + 14,
            esc(kind.as_str()),
            y0 + 30,
            sp.n
        );
        for (j, (label, v, color)) in [
            ("p50", sp.p50, "#4c78a8"),
            ("p90", sp.p90, "#f58518"),
            ("max", sp.max, "#e45756"),
        ]
        .into_iter()
        .enumerate()
        {
            let y = y0 + 4 + j as i32 * (bar_h + gap);
            let w = (v.max(0) as f64 / top * plot).max(1.0);
            let _ = write!(
                s,
                r#"<rect x="{left}" y="{y}" width="{w:.1}" height="{bar_h}" fill="{color}"><title>{} {label} {v} ms</title></rect><text x="{:.1}" y="{}" font-family="sans-serif" font-size="11">{}</text>"#,
                esc(kind.as_str()),
                left + w + 4.0,
                y + bar_h - 2,
                esc(&ms_label(v))
            );
        }
    }
    s.push_str("</svg>");
    s
}

const CSS: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em;color:#222}\
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;font-size:.85em}th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}\
th{background:#f0f0f0}td.num{text-align:right}.closed{background:#e8f5e9}.escalated{background:#fdecea}\
.open,.pending,.scheduled{background:#fff8e1}.rescinded{background:#eceff1}.small{font-size:.8em;color:#555}\
.owner{margin-bottom:1em}code{font-size:.95em}";

/// The report as one self-contained HTML page (no script, no external asset).
pub fn to_html(rows: &[Row], now: DateTime<Utc>) -> String {
    to_html_titled(rows, now, "")
}

/// As `to_html`, with a line saying which window the report covers.
pub fn to_html_titled(rows: &[Row], now: DateTime<Utc>, window: &str) -> String {
    use std::fmt::Write;
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>revoke audit report</title><style>{CSS}</style></head><body>\n"
    );
    let _ = writeln!(h, "<h1>revoke audit report</h1>");
    let _ = writeln!(
        h,
        "<p>Generated {}. {} case{}{}{}.</p>",
        esc(&ts(now)),
        rows.len(),
        if rows.len() == 1 { "" } else { "s" },
        if window.is_empty() { "" } else { ", " },
        esc(window)
    );

    // Summary by state.
    let mut by_state: BTreeMap<&str, usize> = BTreeMap::new();
    for r in rows {
        *by_state.entry(r.state.as_str()).or_default() += 1;
    }
    let open_total: usize = rows
        .iter()
        .map(|r| r.escalations.iter().filter(|e| e.open).count())
        .sum();
    let acks_total: usize = rows.iter().map(|r| r.acks.len()).sum();
    let _ = writeln!(
        h,
        "<h2>Summary</h2><table id=\"summary\"><tr><th>state</th><th>cases</th></tr>"
    );
    for (state, n) in &by_state {
        let _ = writeln!(
            h,
            "<tr class=\"{0}\"><td>{0}</td><td class=\"num\">{n}</td></tr>",
            esc(state)
        );
    }
    let _ = writeln!(
        h,
        "<tr><th>total</th><th class=\"num\">{}</th></tr></table>\n<p>Open escalations: {open_total}. Acknowledgements by hand: {acks_total}.</p>",
        rows.len()
    );

    // Chart.
    let sp = spreads(rows);
    let _ = writeln!(
        h,
        "<h2>Time to revoke per target</h2><p class=\"small\">From the effective time to the last verified removal, for verified targets; nearest-rank percentiles.</p>\n{}",
        chart_svg(&sp)
    );
    let _ = writeln!(
        h,
        "<table id=\"spread\"><tr><th>target</th><th>n</th><th>p50 ms</th><th>p90 ms</th><th>max ms</th></tr>"
    );
    for (k, s) in &sp {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(k.as_str()),
            s.n,
            s.p50,
            s.p90,
            s.max
        );
    }
    let _ = writeln!(h, "</table>");

    // Open escalations by owner.
    let mut by_owner: BTreeMap<(String, String), Vec<(&Row, &EscalationRow)>> = BTreeMap::new();
    for r in rows {
        for e in r.escalations.iter().filter(|e| e.open) {
            by_owner
                .entry((e.owner.clone(), e.owner_contact.clone()))
                .or_default()
                .push((r, e));
        }
    }
    let _ = writeln!(h, "<h2>Open escalations by owner</h2>");
    if by_owner.is_empty() {
        let _ = writeln!(h, "<p>None.</p>");
    }
    for ((name, contact), items) in &by_owner {
        let _ = writeln!(
            h,
            "<div class=\"owner\"><h3>{} &lt;{}&gt; — {} open</h3><ul>",
            esc(name),
            esc(contact),
            items.len()
        );
        for (r, e) in items {
            let _ = writeln!(
                h,
                "<li><a href=\"#case-{id}\"><code>{id}</code></a> identity {} — {} for {}{}, raised {}: {}</li>",
                esc(&r.identity_id),
                esc(&e.reason),
                esc(&e.targets.join(", ")),
                level_words(e.level),
                esc(&ts(e.raised_at)),
                esc(&e.detail),
                id = r.case_id
            );
        }
        let _ = writeln!(h, "</ul></div>");
    }

    // Case table.
    let _ = writeln!(h, "<h2>Cases</h2><table id=\"cases\"><tr><th>case</th><th>identity</th><th>HR event</th><th>effective</th><th>state</th><th>closed</th><th>time to close</th>");
    for k in TargetKind::ALL {
        let _ = write!(h, "<th>{}</th>", esc(k.as_str()));
    }
    let _ = writeln!(
        h,
        "<th>escalations</th><th>acknowledgements</th><th>restored after rescind</th></tr>"
    );
    for r in rows {
        let _ = write!(
            h,
            "<tr id=\"case-{id}\" class=\"{state}\"><td><code>{id}</code></td><td>{} <span class=\"small\">{}</span></td><td>{} <span class=\"small\">from {}<br>requested by {}, approved by {}</span></td><td>{}</td><td>{state}<br><span class=\"small\">{}</span></td><td>{}</td><td class=\"num\">{}</td>",
            esc(&r.identity_id),
            esc(r.identity_kind.as_deref().unwrap_or("")),
            esc(r.event_id.as_deref().unwrap_or("-")),
            esc(r.source.as_deref().unwrap_or("-")),
            esc(r.requested_by.as_deref().unwrap_or("-")),
            esc(r.approved_by.as_deref().unwrap_or("-")),
            esc(&r.effective_at.map(ts).unwrap_or_default()),
            esc(&r.verdict),
            esc(&r.closed_at.map(ts).unwrap_or_default()),
            r.time_to_close_ms.map(|v| v.to_string()).unwrap_or_default(),
            id = r.case_id,
            state = esc(&r.state),
        );
        for k in TargetKind::ALL {
            match r.targets.get(&k) {
                Some(tr) => {
                    let _ = write!(
                        h,
                        "<td>{}{}<br><span class=\"small\">{} object{}{}{}</span></td>",
                        esc(&tr.state),
                        tr.time_to_revoke_ms
                            .map(|v| format!(", {v} ms"))
                            .unwrap_or_default(),
                        tr.objects,
                        if tr.objects == 1 { "" } else { "s" },
                        if tr.actors.is_empty() {
                            String::new()
                        } else {
                            format!(", by {}", esc(&tr.actors.join("; ")))
                        },
                        tr.error
                            .as_deref()
                            .map(|e| format!("<br>error: {}", esc(e)))
                            .unwrap_or_default()
                    );
                }
                None => h.push_str("<td></td>"),
            }
        }
        let escs: Vec<String> = r
            .escalations
            .iter()
            .map(|e| {
                format!(
                    "{} {} → {}{} &lt;{}&gt; at {}{}",
                    esc(&e.reason),
                    esc(&e.targets.join(", ")),
                    esc(&e.owner),
                    level_words(e.level),
                    esc(&e.owner_contact),
                    esc(&ts(e.raised_at)),
                    if e.open { " (open)" } else { "" }
                )
            })
            .collect();
        let acks: Vec<String> = r
            .acks
            .iter()
            .map(|a| format!("{} by {}: {}", esc(&a.target), esc(&a.by), esc(&a.note)))
            .collect();
        let restores: Vec<String> = r
            .restores
            .iter()
            .map(|x| {
                let mut s = format!(
                    "{}: {} of {} given back",
                    esc(&x.target),
                    x.given_back,
                    x.objects
                );
                for l in &x.left_for_a_person {
                    s.push_str(&format!("<br>left: {}", esc(l)));
                }
                s
            })
            .collect();
        let _ = writeln!(
            h,
            "<td>{}</td><td>{}</td><td>{}</td></tr>",
            escs.join("<br>"),
            acks.join("<br>"),
            restores.join("<br>")
        );
    }
    let _ = writeln!(h, "</table>\n</body></html>");
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::fixtures::*;
    use crate::verifier::Input;
    use chrono::{Duration as D, TimeZone};
    use revoke_shared::contract::{CaseState, Outcome};

    /// Splits RFC 4180 CSV into records of fields (the test's own reader).
    fn parse_csv(text: &str) -> Vec<Vec<String>> {
        let mut records = Vec::new();
        let mut record = Vec::new();
        let mut field = String::new();
        let mut quoted = false;
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            match (quoted, c) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                (true, '"') => quoted = false,
                (true, c) => field.push(c),
                (false, '"') if field.is_empty() => quoted = true,
                (false, ',') => record.push(std::mem::take(&mut field)),
                (false, '\r') => {
                    assert_eq!(chars.next(), Some('\n'), "CR without LF");
                    record.push(std::mem::take(&mut field));
                    records.push(std::mem::take(&mut record));
                }
                (false, '\n') => panic!("bare LF line end"),
                (false, c) => field.push(c),
            }
        }
        assert!(field.is_empty() && record.is_empty(), "last line not ended");
        records
    }

    /// Three cases an hour apart: closed; escalated (cloud manual, open); escalated then closed
    /// by an acknowledgement with hostile text.
    fn three_cases() -> Vec<Case> {
        let mut v = verifier();
        let closed = closed_case(&mut v, "E1", 0);
        let escalated = escalated_case(&mut v, "E2", 3600);
        let mut acked = escalated_case(&mut v, "E3", 7200);
        let ack = crate::cli::case::ack::AckRequest {
            target: TargetKind::Cloud,
            by: "=HYPERLINK(\"x\") <b>eve</b>".into(),
            note: "removed by hand, \"as asked\" & <script>alert(1)</script>".into(),
            removed_at: Some(t0() + D::seconds(7260)),
        };
        let now = t0() + D::seconds(7300);
        let crate::cli::case::ack::Decision::Publish(c) =
            crate::cli::case::ack::decide(&acked, &ack, now, "h").unwrap()
        else {
            panic!()
        };
        acked = apply(&mut v, Input::Confirmation(&c), now).unwrap();
        assert_eq!(acked.state, CaseState::Closed);
        vec![closed, escalated, acked]
    }

    #[test]
    fn rows_hold_each_case_field_by_field() {
        let cases = three_cases();
        let rows = rows(&cases, None, None);
        assert_eq!(rows.len(), 3);
        for (row, case) in rows.iter().zip(&cases) {
            assert_eq!(row.case_id, case.case_id);
            assert_eq!(row.identity_id, case.identity_id);
            assert_eq!(row.identity_kind.as_deref(), Some("contractor"));
            assert_eq!(row.source.as_deref(), Some("urn:hr:test"));
            assert_eq!(row.event_id, case.event_id);
            assert_eq!(row.reason.as_deref(), Some("resignation"));
            assert_eq!(row.requested_by.as_deref(), Some("hr:bob"));
            assert_eq!(row.approved_by.as_deref(), Some("mgr:carol"));
            assert_eq!(row.effective_at, case.effective_at);
            assert_eq!(row.opened_at, case.opened_at);
            assert_eq!(row.deadline, case.deadline);
            assert_eq!(row.state, case.state.as_str());
            assert_eq!(row.verdict, crate::cases::verdict(case));
            assert_eq!(row.updated_at, case.updated_at);
            assert_eq!(row.closed_at, case.closed_at);
            assert_eq!(row.time_to_close_ms, case.time_to_close_ms());
            assert_eq!(row.revision, case.revision);
            assert_eq!(row.targets.len(), 5);
            for (kind, st) in &case.targets {
                let tr = &row.targets[kind];
                assert!(tr.required);
                assert_eq!(tr.state, target_state_str(st.state));
                assert_eq!(tr.outcome.as_deref(), st.outcome.map(|o| o.as_str()));
                assert_eq!(tr.instance.as_deref(), st.instance.as_deref());
                assert_eq!(tr.confirmed_at, st.confirmed_at);
                assert_eq!(tr.time_to_revoke_ms, st.time_to_revoke_ms);
                assert_eq!(tr.attempts, st.attempts);
                assert_eq!(tr.objects, st.objects.len());
                assert_eq!(
                    tr.last_removed_at,
                    st.objects.iter().filter_map(|o| o.removed_at).max()
                );
                assert_eq!(tr.error.as_deref(), st.error.as_deref());
            }
            assert_eq!(row.escalations.len(), case.escalations.len());
        }
        let (closed, escalated, acked) = (&rows[0], &rows[1], &rows[2]);
        assert_eq!(
            closed.targets[&TargetKind::Cloud].time_to_revoke_ms,
            Some(900)
        );
        assert_eq!(
            closed.targets[&TargetKind::Cloud].actors,
            vec!["cloud-w1 as svc-cloud".to_string()]
        );
        assert_eq!(
            closed.targets[&TargetKind::Saas].actors,
            vec!["saas-w1".to_string()]
        );
        assert_eq!(closed.time_to_close_ms, Some(400));
        assert!(closed.escalations.is_empty() && closed.acks.is_empty());

        assert_eq!(escalated.state, "escalated");
        assert_eq!(
            escalated.targets[&TargetKind::Cloud].state,
            "manual_required"
        );
        assert_eq!(
            escalated.targets[&TargetKind::Cloud].time_to_revoke_ms,
            None
        );
        let e = &escalated.escalations[0];
        assert_eq!(
            (
                e.reason.as_str(),
                e.targets.clone(),
                e.owner.as_str(),
                e.owner_contact.as_str(),
                e.open
            ),
            (
                "manual_required",
                vec!["cloud".to_string()],
                "cloud-platform",
                "cloud@example.com",
                true
            )
        );
        assert_eq!(e.raised_at, t0() + D::seconds(3600) + D::milliseconds(250));

        assert_eq!(acked.state, "closed");
        assert!(
            !acked.escalations[0].open,
            "resolved by the acknowledgement"
        );
        assert_eq!(acked.acks.len(), 1);
        assert_eq!(acked.acks[0].target, "cloud");
        assert_eq!(acked.acks[0].by, "=HYPERLINK(\"x\") <b>eve</b>");
        assert_eq!(acked.acks[0].removed_at, Some(t0() + D::seconds(7260)));
        assert_eq!(
            acked.targets[&TargetKind::Cloud].time_to_revoke_ms,
            Some(60_000)
        );
        assert_eq!(
            acked.targets[&TargetKind::Cloud].instance.as_deref(),
            Some("manual")
        );
        assert_eq!(acked.time_to_close_ms, Some(100_000));
    }

    #[test]
    fn window_is_half_open_on_effective_time_or_opened() {
        let mut cases = three_cases();
        let at = |s: i64| Some(t0() + D::seconds(s));
        let ids = |rows: Vec<Row>| {
            rows.iter()
                .map(|r| r.identity_id.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(ids(rows(&cases, at(0), at(3600))), vec!["E1"]);
        assert_eq!(ids(rows(&cases, at(1), at(7201))), vec!["E2", "E3"]);
        assert_eq!(ids(rows(&cases, None, at(7200))), vec!["E1", "E2"]);
        assert!(rows(&cases, at(9000), None).is_empty());
        // Effective time and opened_at differ: a case opened late is placed by its effective time.
        cases[0].opened_at = t0() + D::seconds(5000);
        assert_eq!(ids(rows(&cases, at(0), at(3600))), vec!["E1"]);
        assert_eq!(
            ids(rows_by(&cases, at(0), at(3600), Window::Opened)),
            Vec::<String>::new()
        );
        assert_eq!(
            ids(rows_by(&cases, at(3600), None, Window::Opened)),
            vec!["E2", "E1", "E3"]
        );
        // A pending case has no effective time: its opened_at places it.
        cases[1].effective_at = None;
        cases[1].opened_at = t0() + D::seconds(10);
        assert_eq!(ids(rows(&cases, at(0), at(3600))), vec!["E1", "E2"]);
    }

    #[test]
    fn times_are_rfc3339_or_dates() {
        let day = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
        assert_eq!(parse_time("2026-11-01", false).unwrap(), day);
        assert_eq!(parse_time("2026-11-01", true).unwrap(), day + D::days(1));
        assert_eq!(parse_time("2026-11-01T02:00:00+02:00", true).unwrap(), day);
        assert!(parse_time("last week", false)
            .unwrap_err()
            .contains("neither"));
        assert!(parse_time("2026-13-01", false).is_err());
    }

    #[test]
    fn csv_has_fixed_columns_and_quotes_per_rfc4180() {
        let cases = three_cases();
        let rows = rows(&cases, None, None);
        let text = to_csv(&rows);
        let records = parse_csv(&text);
        let header = &records[0];
        assert_eq!(header.len(), 17 + 5 * 10 + 5);
        assert_eq!(header[0], "case_id");
        assert!(header.contains(&"cicd_time_to_revoke_ms".to_string()));
        assert_eq!(records.len(), 4);
        let col = |name: &str| header.iter().position(|h| h == name).unwrap();
        for (rec, row) in records[1..].iter().zip(&rows) {
            assert_eq!(rec.len(), header.len());
            assert_eq!(rec[col("case_id")], row.case_id.to_string());
            assert_eq!(rec[col("identity_id")], row.identity_id);
            assert_eq!(rec[col("state")], row.state);
            assert_eq!(rec[col("effective_at")], t(row.effective_at));
            assert_eq!(rec[col("time_to_close_ms")], num(row.time_to_close_ms));
            for k in TargetKind::ALL {
                assert_eq!(
                    rec[col(&format!("{k}_time_to_revoke_ms"))],
                    num(row.targets[&k].time_to_revoke_ms)
                );
                assert_eq!(rec[col(&format!("{k}_state"))], row.targets[&k].state);
                assert_eq!(
                    rec[col(&format!("{k}_objects"))],
                    row.targets[&k].objects.to_string()
                );
            }
        }
        let esc = &records[2];
        assert_eq!(
            esc[col("escalation_owners")],
            "cloud-platform <cloud@example.com>"
        );
        assert_eq!(esc[col("open_escalations")], "1");
        assert!(esc[col("escalations")]
            .starts_with("manual_required cloud at 2026-11-24T10:00:00.250Z"));
        let acked = &records[3];
        assert_eq!(acked[col("open_escalations")], "0");
        assert_eq!(
            acked[col("acks")],
            "cloud by =HYPERLINK(\"x\") <b>eve</b> removed 2026-11-24T11:01:00Z: removed by hand, \"as asked\" & <script>alert(1)</script>"
        );
        assert_eq!(
            acked[col("cloud_actors")],
            "revoke-cli@h as =HYPERLINK(\"x\") <b>eve</b>"
        );
        // Raw quoting: a quote doubled inside a quoted field.
        assert!(
            text.contains(",\"revoke-cli@h as =HYPERLINK(\"\"x\"\") <b>eve</b>\","),
            "{text}"
        );
        assert_eq!(csv_field("a,b", true), "\"a,b\"");
        assert_eq!(csv_field("line\nbreak", true), "\"line\nbreak\"");
        assert_eq!(csv_field("-1", false), "-1");
        assert_eq!(csv_field("-cmd", true), "'-cmd");
        assert_eq!(csv_field("@SUM(A1)", true), "'@SUM(A1)");
        assert_eq!(csv_field("plain", true), "plain");
        assert_eq!(to_csv(&[]).lines().count(), 1, "header only");
    }

    #[test]
    fn objects_csv_has_one_row_per_object() {
        let cases = three_cases();
        let refs: Vec<&Case> = cases.iter().collect();
        let records = parse_csv(&objects_csv(&refs));
        let total: usize = cases
            .iter()
            .flat_map(|c| c.targets.values())
            .map(|s| s.objects.len())
            .sum();
        assert_eq!(records.len(), 1 + total);
        let manual: Vec<&Vec<String>> = records.iter().filter(|r| r[5] == "manual_step").collect();
        assert_eq!(manual.len(), 1);
        assert_eq!(manual[0][2], "cloud");
        assert_eq!(manual[0][4], "manual");
        assert_eq!(manual[0][12], "'=HYPERLINK(\"x\") <b>eve</b>");
        // A person's word: never verified, provenance attested; workers' objects observed.
        assert_eq!(manual[0][13], "false");
        assert_eq!(manual[0][14], "attested");
        assert!(records[1..]
            .iter()
            .filter(|r| r[5] != "manual_step" && r[13] == "true")
            .all(|r| r[14] == "observed"));
    }

    #[test]
    fn json_is_an_array_of_the_rows() {
        let cases = three_cases();
        let rows = rows(&cases, None, None);
        let v: serde_json::Value = serde_json::from_str(&to_json(&rows)).unwrap();
        let arr = v.as_array().unwrap();
        assert_eq!(arr.len(), 3);
        assert_eq!(v, serde_json::to_value(&rows).unwrap());
        assert_eq!(arr[1]["state"], "escalated");
        assert_eq!(arr[1]["targets"]["cloud"]["state"], "manual_required");
        assert_eq!(arr[1]["escalations"][0]["owner"], "cloud-platform");
        assert_eq!(arr[0]["targets"]["cloud"]["time_to_revoke_ms"], 900);
        assert_eq!(arr[0]["effective_at"], "2026-11-24T09:00:00Z");
        assert_eq!(arr[2]["acks"][0]["by"], "=HYPERLINK(\"x\") <b>eve</b>");
        // Closed on a person's word for cloud: attested, counted apart from the read-backs.
        assert_eq!(arr[2]["targets"]["cloud"]["provenance"], "attested");
        assert_eq!(arr[2]["targets"]["vault"]["provenance"], "observed");
        assert_eq!(arr[1]["targets"]["cloud"]["provenance"], "not_checked");
        assert_eq!(
            (&arr[2]["verified_targets"], &arr[2]["attested_targets"]),
            (&4.into(), &1.into())
        );
        assert_eq!(
            (&arr[0]["verified_targets"], &arr[0]["attested_targets"]),
            (&5.into(), &0.into())
        );
        assert!(arr[2]["verdict"].as_str().unwrap().contains(
            "verified by read-back on 4 targets, attested by =HYPERLINK(\"x\") <b>eve</b> on 1"
        ));
        assert_eq!(to_json(&[]), "[]");
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut v = verifier();
        let cases: Vec<Case> = (1..=10)
            .map(|i| {
                case_with(
                    &mut v,
                    &format!("P{i}"),
                    i * 10,
                    &[(TargetKind::Vault, Outcome::Revoked, i * 100)],
                )
            })
            .collect();
        let sp = spreads(&rows(&cases, None, None));
        assert_eq!(sp.len(), 1, "only vault has times");
        assert_eq!(
            sp[&TargetKind::Vault],
            Spread {
                n: 10,
                p50: 500,
                p90: 900,
                max: 1000
            }
        );
    }

    #[test]
    fn html_is_self_contained_escaped_and_groups_open_escalations_by_owner() {
        let cases = three_cases();
        let rows = rows(&cases, None, None);
        let html = to_html(&rows, t0() + D::hours(3));
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("Generated 2026-11-24T12:00:00.000Z. 3 cases."));
        // Summary counts by state.
        assert!(
            html.contains("<tr class=\"closed\"><td>closed</td><td class=\"num\">2</td></tr>"),
            "{html}"
        );
        assert!(html
            .contains("<tr class=\"escalated\"><td>escalated</td><td class=\"num\">1</td></tr>"));
        assert!(html.contains("Open escalations: 1. Acknowledgements by hand: 1."));
        // The chart: inline SVG, one group per target with times; the cloud max is the ack's 60 s.
        assert!(html.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(html.contains("<title>cloud max 60000 ms</title>"), "{html}");
        assert!(html.contains("<title>vault p50 300 ms</title>"));
        // Open escalations grouped by owner, linking to the case row.
        let owners = html.find("Open escalations by owner").unwrap();
        let table = html.find("<h2>Cases</h2>").unwrap();
        let section = &html[owners..table];
        assert!(
            section.contains("cloud-platform &lt;cloud@example.com&gt; — 1 open"),
            "{section}"
        );
        assert!(section.contains(&format!("href=\"#case-{}\"", rows[1].case_id)));
        assert!(
            !section.contains(&rows[2].case_id.to_string()),
            "resolved escalation listed"
        );
        assert!(html.contains(&format!(
            "<tr id=\"case-{}\" class=\"escalated\">",
            rows[1].case_id
        )));
        // Every text escaped; nothing external, nothing executable.
        assert!(!html.contains("<script"), "unescaped script");
        assert!(!html.contains("<b>eve"), "unescaped markup");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("=HYPERLINK(&quot;x&quot;) &lt;b&gt;eve&lt;/b&gt;"));
        for banned in ["<link", "src=", "@import", "url("] {
            assert!(!html.contains(banned), "{banned}");
        }
        // An empty report is still a page, saying there is nothing.
        let empty = to_html(&[], t0());
        assert!(
            empty.contains("0 cases") && empty.contains("<svg") && empty.contains("<p>None.</p>")
        );
    }

    #[test]
    fn a_rescinded_case_reports_its_restores_and_the_open_restore_escalation() {
        let mut v = verifier();
        let closed = closed_case(&mut v, "R1", 0);
        let now = t0() + D::minutes(5);
        let rescinded = rescind(&mut v, &closed, now);
        let case = restore_all(&mut v, &rescinded, now + D::seconds(2));
        assert_eq!(case.state, CaseState::Rescinded);
        let rows = rows([&case], None, None);
        let r = &rows[0];
        assert_eq!(r.state, "rescinded");
        assert_eq!(r.rescinded_by.as_deref(), Some("hr:dave"));
        assert_eq!(
            r.restores.len(),
            4,
            "saas held nothing, so it restores nothing"
        );
        let vault = r.restores.iter().find(|x| x.target == "vault").unwrap();
        assert_eq!((vault.objects, vault.given_back), (2, 1));
        assert_eq!(vault.finished_at, now + D::seconds(2));
        assert_eq!(
            vault.left_for_a_person,
            vec!["account vault:R1:2 (irreversible): a revoked token cannot be restored; issue a new one".to_string()]
        );
        let open: Vec<(&str, &str)> = r
            .escalations
            .iter()
            .filter(|e| e.open)
            .map(|e| (e.reason.as_str(), e.owner.as_str()))
            .collect();
        assert_eq!(open, vec![("restore_incomplete", "vault-team")]);
        let csv = parse_csv(&to_csv(&rows));
        let col = csv[0].iter().position(|h| h == "restores").unwrap();
        assert!(csv[1][col].contains("vault: 1 of 2 given back at 2026-11-24T09:05:02Z, left: account vault:R1:2 (irreversible)"), "{}", csv[1][col]);
        let html = to_html(&rows, now);
        let by_owner = &html
            [html.find("Open escalations by owner").unwrap()..html.find("<h2>Cases</h2>").unwrap()];
        assert!(
            by_owner.contains("vault-team &lt;vault@example.com&gt; — 1 open"),
            "{by_owner}"
        );
        assert!(by_owner.contains("restore_incomplete for vault"));
        assert!(
            html.contains("vault: 1 of 2 given back<br>left: account vault:R1:2 (irreversible)")
        );
    }

    #[test]
    fn escalations_up_the_path_show_their_level_everywhere() {
        let mut p = policy();
        p.escalation_paths.insert(
            "cloud".into(),
            vec![revoke_shared::config::EscalationStep {
                name: "cloud-lead".into(),
                contact: "cloud-lead@example.com".into(),
                after_secs: 600,
            }],
        );
        let mut v = crate::verifier::Verifier::new(p);
        escalated_case(&mut v, "E2", 0);
        let case = apply(&mut v, Input::Tick, t0() + D::seconds(601)).expect("climbed");
        let cases = vec![case];
        let rows = rows(&cases, None, None);
        let levels: Vec<(u32, &str)> = rows[0]
            .escalations
            .iter()
            .map(|e| (e.level, e.owner.as_str()))
            .collect();
        assert_eq!(levels, vec![(0, "cloud-platform"), (1, "cloud-lead")]);
        assert!(rows[0].escalations.iter().all(|e| e.open));

        let csv = parse_csv(&to_csv(&rows));
        let col = |name: &str| csv[0].iter().position(|h| h == name).unwrap();
        let escalations = &csv[1][col("escalations")];
        assert!(
            escalations.starts_with("manual_required cloud at ")
                && escalations.contains("; manual_required cloud (level 1) at "),
            "{escalations}"
        );
        assert_eq!(
            csv[1][col("escalation_owners")],
            "cloud-platform <cloud@example.com>; cloud-lead <cloud-lead@example.com>"
        );
        assert_eq!(csv[1][col("open_escalations")], "2");

        let json: serde_json::Value = serde_json::from_str(&to_json(&rows)).unwrap();
        assert_eq!(json[0]["escalations"][0]["level"], 0);
        assert_eq!(json[0]["escalations"][1]["level"], 1);

        let html = to_html(&rows, t0());
        assert!(
            html.contains(
                "manual_required cloud → cloud-lead (level 1) &lt;cloud-lead@example.com&gt;"
            ),
            "{html}"
        );
        assert!(
            html.contains("manual_required for cloud (level 1), raised"),
            "{html}"
        );
        assert!(
            html.contains("cloud-platform &lt;cloud@example.com&gt; — 1 open"),
            "{html}"
        );
        assert!(
            html.contains("cloud-lead &lt;cloud-lead@example.com&gt; — 1 open"),
            "{html}"
        );
    }
}
