//! `revoke case` for people: a case with its whole chain of evidence (`render`), the verdict in
//! one sentence (`verdict`), and times and durations as people read them.

use super::after_close::{reopened_verdict, signals_summary, write_findings, write_signals};
use super::evidence::{
    acknowledgements, attestation_not_accepted, attested_by, escalation_is_open,
    object_outcome_str, target_state_str, Proof,
};
use chrono::{DateTime, SecondsFormat, Utc};
use revoke_shared::contract::{
    Case, CaseState, EscalationRecord, ObjectOutcome, Owner, Provenance, TargetKind, TargetState,
};

/// A time for people: RFC 3339 in UTC with milliseconds (`--json` keeps full precision).
pub fn ts(d: DateTime<Utc>) -> String {
    d.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn ts_opt(d: Option<DateTime<Utc>>) -> String {
    d.map(ts).unwrap_or_else(|| "-".into())
}

/// A duration in milliseconds for people: `553 ms`, `61.2 s (61234 ms)`, `2 h 5 min (7500000 ms)`.
pub fn duration_text(ms: i64) -> String {
    let a = ms.unsigned_abs();
    let sign = if ms < 0 { "-" } else { "" };
    if a < 1_000 {
        format!("{ms} ms")
    } else if a < 120_000 {
        format!("{sign}{:.1} s ({ms} ms)", a as f64 / 1000.0)
    } else if a < 7_200_000 {
        format!("{sign}{:.1} min ({ms} ms)", a as f64 / 60_000.0)
    } else {
        format!("{sign}{:.1} h ({ms} ms)", a as f64 / 3_600_000.0)
    }
}

fn state_words(s: TargetState) -> &'static str {
    match s {
        TargetState::Pending => "pending",
        TargetState::Done => "verified",
        TargetState::Unverified => "reported revoked but not verified",
        TargetState::Failed => "failed",
        TargetState::ManualRequired => "manual step required",
        TargetState::SkippedProtected => "skipped: protected identity",
    }
}

/// The control owner of the latest escalation naming `target` (level 0), and the highest level
/// of the escalation path reached for it, if above 0.
fn owner_of(case: &Case, target: TargetKind) -> Option<(&Owner, Option<&EscalationRecord>)> {
    let naming = || {
        case.escalations
            .iter()
            .filter(|e| e.targets.contains(&target))
    };
    let owner = naming().rev().find(|e| e.level == 0).map(|e| &e.owner)?;
    let climbed = naming().filter(|e| e.level > 0).max_by_key(|e| e.level);
    Some((owner, climbed))
}

/// How `revoke case` names who an escalation went to: the control owner, or a person further up
/// the escalation path with the level.
fn escalated_to(e: &EscalationRecord) -> String {
    if e.level == 0 {
        format!("owner {} <{}>", e.owner.name, e.owner.contact)
    } else {
        format!(
            "level {} of the escalation path {} <{}>",
            e.level, e.owner.name, e.owner.contact
        )
    }
}

/// The verifier's verdict in one sentence, with when it reached it.
pub fn verdict(case: &Case) -> String {
    let mut waiting: Vec<String> = case
        .required_targets
        .iter()
        .filter(|t| {
            case.targets
                .get(t)
                .is_none_or(|s| s.state != TargetState::Done)
        })
        .map(|t| {
            let status = case.targets.get(t);
            let st = status.map_or(TargetState::Pending, |s| s.state);
            let words = match status.and_then(|s| attested_by(s).filter(|_| attestation_not_accepted(s))) {
                Some(person) => format!(
                    "attested by {person} but not verified: attestation does not close {t} targets (verifier.attestation_allowed), a worker's read-back must"
                ),
                None => state_words(st).to_string(),
            };
            match owner_of(case, *t) {
                Some((o, climbed)) if st != TargetState::Pending => format!(
                    "{t} {} (owner {} <{}>{})",
                    words,
                    o.name,
                    o.contact,
                    climbed
                        .map(|e| format!(
                            ", escalated to {} <{}> at level {}",
                            e.owner.name, e.owner.contact, e.level
                        ))
                        .unwrap_or_default()
                ),
                _ => format!("{t} {words}"),
            }
        })
        .collect();
    waiting.extend(super::render_review::steps_waiting(case));
    match case.state {
        CaseState::Closed => {
            let mut s = format!(
                "closed at {} — {}",
                ts_opt(case.closed_at),
                Proof::of(case).text()
            );
            if let Some(ms) = case.time_to_close_ms() {
                s.push_str(&format!(", {} after the effective time", duration_text(ms)));
            }
            let n = case.escalations.len();
            if n > 0 {
                s.push_str(&format!(
                    "; after {n} escalation{}",
                    if n == 1 { "" } else { "s" }
                ));
            }
            let acks = acknowledgements(case);
            if !acks.is_empty() {
                let who: Vec<String> = acks
                    .iter()
                    .map(|a| format!("{} by {}", a.target, a.by))
                    .collect();
                s.push_str(&format!(
                    "; attested (not verified): {}",
                    who.join(", ")
                ));
            }
            with_signals(s, case)
        }
        CaseState::Escalated if crate::verifier::machine::reopened_by_finding(case) => {
            with_signals(reopened_verdict(case), case)
        }
        CaseState::Escalated => format!(
            "escalated as of {} — a person must act; not verified: {}; deadline {}",
            ts(case.updated_at),
            waiting.join(", "),
            ts_opt(case.deadline)
        ),
        CaseState::AwaitingReview => format!(
            "awaiting review since {} — every target and step is done; a reviewer decides with `revoke review {}`",
            ts(case.review.as_ref().map(|r| r.asked_at).unwrap_or(case.updated_at)),
            case.case_id
        ),
        CaseState::Open => format!(
            "open as of {} — waiting for: {}; deadline {}",
            ts(case.updated_at),
            waiting.join(", "),
            ts_opt(case.deadline)
        ),
        CaseState::Pending => format!(
            "pending as of {} — confirmations arrived, the termination itself not yet",
            ts(case.updated_at)
        ),
        CaseState::Scheduled => format!(
            "scheduled as of {} — revocation starts at the effective time {}",
            ts(case.updated_at),
            ts_opt(case.effective_at)
        ),
        CaseState::Rescinded => {
            let left: usize = case
                .restored
                .iter()
                .map(|r| r.left_for_a_person().count())
                .sum();
            let back: usize = case.restored.iter().map(|r| r.objects.len()).sum::<usize>() - left;
            let awaited: Vec<&str> = case
                .targets
                .iter()
                .filter(|(t, s)| {
                    s.objects
                        .iter()
                        .any(|o| o.outcome == ObjectOutcome::Revoked)
                        && !case.restored.iter().any(|r| r.target.kind == **t)
                })
                .map(|(t, _)| t.as_str())
                .collect();
            let mut s = format!(
                "rescinded as of {} by {} — {back} object{} given back, {left} left for a person",
                ts(case.updated_at),
                case.rescinded_by.as_deref().unwrap_or("-"),
                if back == 1 { "" } else { "s" }
            );
            if !awaited.is_empty() {
                s.push_str(&format!(
                    "; restore not yet reported by {}",
                    awaited.join(", ")
                ));
            }
            s
        }
        CaseState::Held => {
            let g = case.guard.as_ref();
            let batch = g.and_then(|g| g.batch.as_deref()).unwrap_or("-");
            format!(
                "held as of {} by the blast-radius guard in batch {batch} ({}) — nothing revoked until a person runs `revoke approve {batch} --digest DIGEST --by NAME` (`revoke guard` shows the digest; or `revoke reject`)",
                ts(case.updated_at),
                g.and_then(|g| g.why.as_deref()).unwrap_or("-")
            )
        }
        CaseState::Admitting => format!(
            "admitting as of {} — waiting for the blast-radius guard's verdict; nothing revoked yet",
            ts(case.updated_at)
        ),
        CaseState::Rejected => {
            let g = case.guard.as_ref();
            format!(
                "rejected at {} by {} ({}, held batch {}{}) — nothing was revoked and nothing will be",
                ts_opt(g.and_then(|g| g.decided_at)),
                g.and_then(|g| g.decided_by.as_deref()).unwrap_or("-"),
                g.map_or("unauthenticated", |g| decision_authenticity(g)),
                g.and_then(|g| g.batch.as_deref()).unwrap_or("-"),
                g.and_then(|g| g.note.as_deref()).map(|n| format!(": {n}")).unwrap_or_default()
            )
        }
    }
}

/// Whether a guard decision was proven its person's; a record that does not say was never
/// checked.
fn decision_authenticity(g: &revoke_shared::contract::CaseGuard) -> &'static str {
    g.decided_authenticity
        .unwrap_or(revoke_shared::contract::Authenticity::Unauthenticated)
        .as_str()
}

/// `verdict` followed by how the case's Shared Signals deliveries stand, if it has any.
fn with_signals(mut verdict: String, case: &Case) -> String {
    if !case.signals.is_empty() {
        verdict.push_str(&format!("; Shared Signals {}", signals_summary(case)));
    }
    verdict
}

/// Renders a case and its whole chain of evidence for people: the HR event, per target and per
/// object the action, removal time, actor and read-back, time to revoke, escalations with their
/// owners, acknowledgements, what came after close (findings first, signal deliveries), and the
/// verdict with when it was reached.
pub fn render(case: &Case) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let opt = |o: &Option<String>| o.clone().unwrap_or_else(|| "-".into());
    let _ = writeln!(
        s,
        "case {}  identity {}  state {}  (revision {})",
        case.case_id,
        case.identity_id,
        case.state.as_str(),
        case.revision
    );
    write_findings(&mut s, case);
    super::render_replay::write_replay(&mut s, case);
    match &case.identity {
        Some(who) => {
            let _ = writeln!(
                s,
                "  identity: {} ({}), username {}, email {}",
                who.employee_id,
                who.kind.as_str(),
                opt(&who.username),
                opt(&who.email)
            );
        }
        None => {
            let _ = writeln!(
                s,
                "  identity: {} (termination not seen yet)",
                case.identity_id
            );
        }
    }
    let _ = writeln!(
        s,
        "  HR event: {} from {}, reason {}",
        opt(&case.event_id),
        opt(&case.source),
        opt(&case.reason)
    );
    let _ = writeln!(
        s,
        "    requested by {}, approved by {}",
        opt(&case.requested_by),
        opt(&case.approved_by)
    );
    if let Some(g) = &case.guard {
        // The guard's part of the evidence: released at once, or held and decided by a person.
        let mut line = format!("  blast-radius guard: asked {}", ts(g.asked_at));
        if let Some(batch) = &g.batch {
            line.push_str(&format!(
                ", held {} in batch {batch} ({})",
                ts_opt(g.held_at),
                g.why.as_deref().unwrap_or("-")
            ));
        }
        if let (Some(d), Some(by)) = (g.decision, &g.decided_by) {
            line.push_str(&format!(
                ", {} by {by} ({}) at {}{}",
                match d {
                    revoke_shared::contract::Decision::Approve => "approved",
                    revoke_shared::contract::Decision::Reject => "rejected",
                },
                decision_authenticity(g),
                ts_opt(g.decided_at),
                g.note
                    .as_deref()
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            ));
        }
        if let Some(at) = g.released_at {
            line.push_str(&format!(", released to the workers {}", ts(at)));
        }
        let _ = writeln!(s, "{line}");
    }
    let _ = writeln!(
        s,
        "  effective {}  opened {}  deadline {}",
        ts_opt(case.effective_at),
        ts(case.opened_at),
        ts_opt(case.deadline)
    );
    let required: Vec<&str> = case.required_targets.iter().map(|t| t.as_str()).collect();
    let done = case
        .required_targets
        .iter()
        .filter(|t| {
            case.targets
                .get(t)
                .is_some_and(|s| s.state == TargetState::Done)
        })
        .count();
    let proof = Proof::of(case);
    let _ = writeln!(
        s,
        "  targets: {done} of {} required done ({}): {}",
        required.len(),
        required.join(", "),
        proof.text()
    );
    for (kind, st) in &case.targets {
        let mut head = format!("  target {kind}: {}", target_state_str(st.state));
        if !case.required_targets.contains(kind) {
            head.push_str(" (not required)");
        }
        if let Some(o) = st.outcome {
            head.push_str(&format!(", outcome {}", o.as_str()));
        }
        if let Some(ms) = st.time_to_revoke_ms {
            head.push_str(&format!(", time to revoke {}", duration_text(ms)));
        }
        head.push_str(&super::render_replay::replay_mark(st));
        let ackers: Vec<&str> = st
            .objects
            .iter()
            .filter(|o| o.provenance == Provenance::Attested)
            .map(|o| o.actor.principal.as_str())
            .collect();
        if !ackers.is_empty() {
            head.push_str(&format!(
                ", attested by {} (not verified)",
                ackers.join(", ")
            ));
        }
        if attestation_not_accepted(st) {
            head.push_str(&format!(
                "; attestation does not close {kind} targets (verifier.attestation_allowed): waiting for a worker's read-back"
            ));
        }
        let _ = writeln!(s, "{head}");
        if let Some(w) = &st.worker {
            let _ = writeln!(
                s,
                "    confirmed {} by worker {} v{}, instance {}, {} call{} to the target",
                ts_opt(st.confirmed_at),
                w.id,
                w.version,
                st.instance.as_deref().unwrap_or("-"),
                st.attempts,
                if st.attempts == 1 { "" } else { "s" }
            );
        } else if st.state == TargetState::Pending {
            let _ = writeln!(s, "    no confirmation yet");
        }
        if let Some(e) = &st.error {
            let _ = writeln!(s, "    error: {e}");
        }
        if st.objects.is_empty() && st.outcome.is_some_and(|o| o.is_success()) {
            let _ = writeln!(s, "    no objects held here");
        }
        for o in &st.objects {
            let _ = writeln!(
                s,
                "    - {}{} {}: {} -> {}, removed {}, by {} as {}, verified {}, {}",
                o.object_kind,
                if o.sponsored { " [sponsored]" } else { "" },
                o.object_id,
                o.action,
                object_outcome_str(o.outcome),
                ts_opt(o.removed_at),
                o.actor.worker_id,
                o.actor.principal,
                o.verified,
                o.provenance.as_str(),
            );
            let _ = writeln!(s, "        read back: {}", o.read_back);
            if let Some(e) = &o.error {
                let _ = writeln!(s, "        error: {e}");
            }
        }
        for old in &st.superseded {
            let _ = writeln!(
                s,
                "    replaced report from {} ({}): {}{}",
                old.worker.as_ref().map_or("?", |w| w.id.as_str()),
                ts_opt(old.confirmed_at),
                old.outcome.map_or("pending", |o| o.as_str()),
                old.error
                    .as_ref()
                    .map(|e| format!(" — {e}"))
                    .unwrap_or_default()
            );
        }
        if st.redrives > 0 || st.redrive_at.is_some() {
            let _ = writeln!(
                s,
                "    run again after transient failures: {} time{}{}",
                st.redrives,
                if st.redrives == 1 { "" } else { "s" },
                st.redrive_at
                    .map(|t| format!("; next run at {}", ts(t)))
                    .unwrap_or_default()
            );
        }
        for late in &st.late {
            let _ = writeln!(
                s,
                "    late report from {} ({}), after the acknowledgement: {}{}, {} object{} — kept as evidence, changes nothing",
                late.worker.as_ref().map_or("?", |w| w.id.as_str()),
                ts_opt(late.confirmed_at),
                late.outcome.map_or("pending", |o| o.as_str()),
                if late.state == TargetState::Done {
                    " (verified)"
                } else {
                    ""
                },
                late.objects.len(),
                if late.objects.len() == 1 { "" } else { "s" },
            );
        }
    }
    super::render_review::write_steps_and_review(&mut s, case);
    if !case.restored.is_empty() {
        let _ = writeln!(
            s,
            "  restored after the rescind: {} target{}",
            case.restored.len(),
            if case.restored.len() == 1 { "" } else { "s" }
        );
        for r in &case.restored {
            let _ = writeln!(
                s,
                "  restore {}: reported {} by worker {} v{}, instance {}, {} of {} given back",
                r.target.kind,
                ts(r.finished_at),
                r.worker.id,
                r.worker.version,
                r.target.instance,
                r.objects.len() - r.left_for_a_person().count(),
                r.objects.len()
            );
            for o in &r.objects {
                let _ = writeln!(
                    s,
                    "    - {}{} {}: undo {} -> {}, at {}, by {} as {}{}",
                    o.object_kind,
                    if o.sponsored { " [sponsored]" } else { "" },
                    o.object_id,
                    o.undoes,
                    o.outcome.as_str(),
                    ts_opt(o.restored_at),
                    o.actor.worker_id,
                    o.actor.principal,
                    if o.detail.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", o.detail)
                    }
                );
            }
        }
    }
    write_signals(&mut s, case);
    if case.escalations.is_empty() {
        let _ = writeln!(s, "  escalations: none");
    } else {
        let _ = writeln!(s, "  escalations: {}", case.escalations.len());
        for e in &case.escalations {
            let targets: Vec<String> = e
                .targets
                .iter()
                .map(|t| t.as_str().to_string())
                .chain(e.steps.iter().map(|n| format!("step {n}")))
                .collect();
            let _ = writeln!(
                s,
                "    - {} {}{} -> {}{}",
                ts(e.raised_at),
                e.reason.as_str(),
                if targets.is_empty() {
                    String::new() // a receiver's, not a target's (signal_undelivered)
                } else {
                    format!(" for {}", targets.join(", "))
                },
                escalated_to(e),
                if escalation_is_open(case, e) {
                    " (open)"
                } else {
                    " (resolved)"
                }
            );
            let _ = writeln!(s, "        {}", e.detail);
        }
    }
    let acks = acknowledgements(case);
    if !acks.is_empty() {
        let _ = writeln!(s, "  acknowledgements: {}", acks.len());
        for a in &acks {
            let _ = writeln!(
                s,
                "    - {} by {}: removed {}, recorded {} from {}, {}",
                a.target,
                a.by,
                ts_opt(a.removed_at),
                ts_opt(a.recorded_at),
                a.recorded_by,
                a.authenticity.as_str()
            );
            let _ = writeln!(s, "        note: {}", a.note);
        }
    }
    let _ = writeln!(
        s,
        "  verdict: {}{}",
        super::render_replay::verdict_prefix(case),
        verdict(case)
    );
    s
}
