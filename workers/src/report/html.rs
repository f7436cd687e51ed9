//! The report as one self-contained HTML page: inline CSS, no script, no external asset; counts
//! by state, what came after close, the time-to-revoke chart (`svg`), open escalations grouped by
//! owner, the case table.

use super::model::{level_words, EscalationRow, Row};
use super::svg::{chart_svg, esc, spreads};
use crate::cases::ts;
use chrono::{DateTime, Utc};
use revoke_shared::contract::TargetKind;
use std::collections::BTreeMap;

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
    after_close_summary(&mut h, rows);

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
        "<th>escalations</th><th>acknowledgements</th><th>restored after rescind</th><th>after close</th></tr>"
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
            .map(|a| {
                format!(
                    "{} by {} ({}): {}",
                    esc(&a.target),
                    esc(&a.by),
                    esc(&a.authenticity),
                    esc(&a.note)
                )
            })
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
            "<td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escs.join("<br>"),
            acks.join("<br>"),
            restores.join("<br>"),
            after_close_cell(r)
        );
    }
    let _ = writeln!(h, "</table>\n</body></html>");
    h
}

/// The counts of what came after close: cases with access returned, with sign-ins after
/// departure, and Shared Signals receivers by outcome.
fn after_close_summary(h: &mut String, rows: &[Row]) {
    use std::fmt::Write;
    let cases = |has: fn(&Row) -> bool| rows.iter().filter(|r| has(r)).count();
    let receivers = |outcome: &str| {
        rows.iter()
            .flat_map(|r| &r.signals)
            .filter(|s| s.outcome == outcome)
            .count()
    };
    let _ = writeln!(
        h,
        "<h2>After close</h2><table id=\"after-close\"><tr><th>what</th><th>count</th></tr>\
<tr class=\"escalated\"><td>cases with access returned</td><td class=\"num\">{}</td></tr>\
<tr class=\"escalated\"><td>cases with sign-ins after departure</td><td class=\"num\">{}</td></tr>\
<tr><td>Shared Signals receivers delivered</td><td class=\"num\">{}</td></tr>\
<tr><td>Shared Signals receivers overdue</td><td class=\"num\">{}</td></tr></table>",
        cases(|r| r.access_returned > 0),
        cases(|r| r.sign_ins_after_departure > 0),
        receivers("delivered"),
        receivers("overdue")
    );
}

/// A case's findings and signal deliveries, for its cell in the case table.
fn after_close_cell(r: &Row) -> String {
    let mut lines: Vec<String> = r
        .findings
        .iter()
        .map(|f| {
            format!(
                "<strong>{}</strong> {} ({}) {} at {}: {}",
                esc(&f.kind),
                esc(&f.target),
                esc(&f.instance),
                esc(&f.object),
                esc(&ts(f.observed_at)),
                esc(&f.read_back)
            )
        })
        .collect();
    lines.extend(r.signals.iter().map(|s| {
        format!(
            "signals to {}: {}, {} of {} SETs accepted",
            esc(&s.receiver),
            esc(&s.outcome),
            s.delivered,
            s.sets
        )
    }));
    let steps = super::accountability::steps_text(&r.steps);
    if !steps.is_empty() {
        lines.push(format!("steps: {}", esc(&steps)));
    }
    let review = super::accountability::review_text(r.review.as_ref());
    if !review.is_empty() {
        lines.push(format!("review: {}", esc(&review)));
    }
    let decisions = super::accountability::decisions_text(&r.decisions);
    if !decisions.is_empty() {
        lines.push(format!("decided: {}", esc(&decisions)));
    }
    let executed = super::accountability::executed_text(&r.targets);
    if !executed.is_empty() {
        lines.push(format!("executed: {}", esc(&executed)));
    }
    if let Some(check) = &r.evidence_check {
        lines.push(format!("evidence check: {}", esc(check)));
    }
    lines.join("<br>")
}
