//! The report as CSV: one row per case with fixed columns (RFC 4180, formula-safe text cells),
//! and `objects_csv`, one row per object of evidence.

use super::model::{level_words, Row};
use crate::cases::{object_outcome_str, target_state_str};
use chrono::{DateTime, Utc};
use revoke_shared::contract::{Case, TargetKind};

pub(super) fn t(d: Option<DateTime<Utc>>) -> String {
    d.map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        .unwrap_or_default()
}

pub(super) fn num<T: ToString>(v: Option<T>) -> String {
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

const TARGET_COLUMNS: [&str; 11] = [
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
    "report_signature",
];

/// The CSV header: fixed columns, then eleven per target kind (`directory_state`, …), then
/// escalations, acknowledgements and restores, then what came after close (findings, signals),
/// then the steps without an API and the closure review, then who decided and executed and the
/// evidence check (`report --verify`).
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
        "access_returned",
        "access_after_departure",
        "findings",
        "signal_receivers_delivered",
        "signal_receivers_overdue",
        "signals",
        "steps",
        "review",
        "decisions",
        "executed_by",
        "evidence_check",
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
                    fixed(tr.report_signature.clone()),
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
                        "{} by {} ({}) removed {}: {}",
                        a.target,
                        a.by,
                        a.authenticity,
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
        after_close_cells(r, &mut cells);
        cells.push(text(&super::accountability::steps_text(&r.steps)));
        cells.push(text(&super::accountability::review_text(r.review.as_ref())));
        cells.push(text(&super::accountability::decisions_text(&r.decisions)));
        cells.push(text(&super::accountability::executed_text(&r.targets)));
        cells.push(text(r.evidence_check.as_deref().unwrap_or_default()));
        out.push_str(&csv_line(&cells));
    }
    out
}

/// What came after close: the findings counted and listed, the Shared Signals receivers counted
/// by outcome and listed.
fn after_close_cells(r: &Row, cells: &mut Vec<(String, bool)>) {
    let receivers = |outcome: &str| r.signals.iter().filter(|s| s.outcome == outcome).count();
    cells.extend([
        (r.access_returned.to_string(), false),
        (r.sign_ins_after_departure.to_string(), false),
        (
            r.findings
                .iter()
                .map(|f| {
                    format!(
                        "{} {} ({}) {} at {}: {}",
                        f.kind,
                        f.target,
                        f.instance,
                        f.object,
                        t(Some(f.observed_at)),
                        f.read_back
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
            true,
        ),
        (receivers("delivered").to_string(), false),
        (receivers("overdue").to_string(), false),
        (
            r.signals
                .iter()
                .map(|s| {
                    format!(
                        "{}: {} ({} of {} SETs accepted{})",
                        s.receiver,
                        s.outcome,
                        s.delivered,
                        s.sets,
                        s.last_delivered_at
                            .map(|d| format!(", last at {}", t(Some(d))))
                            .unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
            true,
        ),
    ]);
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
