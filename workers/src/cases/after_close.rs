//! What `revoke case` shows of what came after close: access seen again (the findings, first
//! thing after the header: a reopened case is about them) and the Shared Signals deliveries per
//! receiver; and the verdict's words for both.

use super::render::ts;
use revoke_shared::contract::{Case, DeliveryOutcome, FindingKind};
use std::fmt::Write;

/// The findings, prominently: kind, target, object, when, read-back, who read it.
pub(super) fn write_findings(s: &mut String, case: &Case) {
    if case.findings.is_empty() {
        return;
    }
    let _ = writeln!(
        s,
        "  !! ACCESS SEEN AGAIN AFTER CLOSE: {} finding{}",
        case.findings.len(),
        if case.findings.len() == 1 { "" } else { "s" }
    );
    for f in &case.findings {
        let what = match f.kind {
            FindingKind::AccessReturned => "present again",
            FindingKind::SignInAfterDeparture => "signed in",
        };
        let _ = writeln!(
            s,
            "    - {} on {} ({}): {} {} {what} at {}",
            f.kind.as_str(),
            f.target.kind,
            f.target.instance,
            f.object_kind,
            f.object_id,
            ts(f.observed_at)
        );
        let _ = writeln!(
            s,
            "        read back: {} (by {} as {})",
            f.read_back, f.worker.id, f.principal
        );
    }
}

/// The Shared Signals deliveries, per receiver and SET.
pub(super) fn write_signals(s: &mut String, case: &Case) {
    if case.signals.is_empty() {
        return;
    }
    let _ = writeln!(s, "  Shared Signals: {}", signals_summary(case));
    for d in &case.signals {
        let _ = writeln!(
            s,
            "  receiver {}: {} (owner {} <{}>), reported {} by {}{}",
            d.receiver,
            outcome_word(d.outcome),
            d.owner.name,
            d.owner.contact,
            ts(d.at),
            d.transmitter.id,
            if d.detail.is_empty() {
                String::new()
            } else {
                format!(" — {}", d.detail)
            }
        );
        for set in &d.sets {
            let _ = writeln!(
                s,
                "    - {} {} via {}: {}",
                set.jti,
                set.event_type,
                set.via,
                set.delivered_at
                    .map(|t| format!("accepted {}", ts(t)))
                    .unwrap_or_else(|| "not accepted".into())
            );
        }
    }
}

fn outcome_word(o: DeliveryOutcome) -> &'static str {
    match o {
        DeliveryOutcome::Delivered => "delivered",
        DeliveryOutcome::Overdue => "OVERDUE",
    }
}

/// `2 receivers: 1 delivered, 1 overdue (crm)`.
pub(super) fn signals_summary(case: &Case) -> String {
    let overdue: Vec<&str> = case
        .signals
        .iter()
        .filter(|d| d.outcome == DeliveryOutcome::Overdue)
        .map(|d| d.receiver.as_str())
        .collect();
    let n = case.signals.len();
    let mut s = format!(
        "{n} receiver{}: {} delivered, {} overdue",
        if n == 1 { "" } else { "s" },
        n - overdue.len(),
        overdue.len()
    );
    if !overdue.is_empty() {
        s.push_str(&format!(" ({})", overdue.join(", ")));
    }
    s
}

/// The verdict of a case reopened because its access was seen again.
pub(super) fn reopened_verdict(case: &Case) -> String {
    let seen: Vec<String> = case
        .findings
        .iter()
        .map(|f| {
            format!(
                "{} on {} ({} {}, {})",
                f.kind.as_str(),
                f.target.kind,
                f.object_kind,
                f.object_id,
                ts(f.observed_at)
            )
        })
        .collect();
    format!(
        "escalated as of {} — REOPENED: access seen again after the case closed at {}: {}; a person must act",
        ts(case.updated_at),
        case.closed_at.map(ts).unwrap_or_else(|| "-".into()),
        seen.join(", ")
    )
}
