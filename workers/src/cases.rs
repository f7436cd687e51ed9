//! Reading the case changelog (for `revoke case`, `revoke report`, the demo and the tests) and
//! rendering a case with its whole chain of evidence for people.

use chrono::{DateTime, SecondsFormat, Utc};
use revoke_shared::config::Config;
use revoke_shared::contract::{
    Case, CaseState, EscalationReason, EscalationRecord, ObjectEvidence, ObjectOutcome, Owner,
    Provenance, TargetKind, TargetState, TargetStatus, CASE_SCHEMA,
};
use std::collections::HashMap;
use uuid::Uuid;

/// The latest version of every case, and how many times each was published as closed.
#[derive(Debug, Default, Clone)]
pub struct CaseLog {
    pub latest: HashMap<Uuid, Case>,
    pub closed_versions: HashMap<Uuid, u32>,
}

impl CaseLog {
    pub fn ingest(&mut self, case: Case) {
        if case.state == CaseState::Closed {
            *self.closed_versions.entry(case.case_id).or_default() += 1;
        }
        match self.latest.get(&case.case_id) {
            Some(old) if old.revision >= case.revision => {}
            _ => {
                self.latest.insert(case.case_id, case);
            }
        }
    }

    pub fn ingest_bytes(&mut self, payload: &[u8]) {
        if let Ok(c) = serde_json::from_slice::<Case>(payload) {
            if c.schema == CASE_SCHEMA {
                self.ingest(c);
            }
        }
    }

    /// Cases whose id is `query`, or whose identity id is `query` (latest first).
    pub fn find(&self, query: &str) -> Vec<&Case> {
        let id = Uuid::parse_str(query).ok();
        let mut out: Vec<&Case> = self
            .latest
            .values()
            .filter(|c| Some(c.case_id) == id || c.identity_id == query)
            .collect();
        out.sort_by_key(|c| std::cmp::Reverse(c.opened_at));
        out
    }

    pub fn count(&self, state: CaseState) -> usize {
        self.latest.values().filter(|c| c.state == state).count()
    }
}

/// Reads the whole cases topic (blocking).
pub fn read_case_log(cfg: &Config) -> Result<CaseLog, rdkafka::error::KafkaError> {
    let mut log = CaseLog::default();
    for r in revoke_shared::kafka::read_to_end(
        cfg,
        &cfg.topics.cases,
        std::time::Duration::from_secs(60),
    )? {
        if let Some(p) = r.payload {
            log.ingest_bytes(&p);
        }
    }
    Ok(log)
}

/// `target.instance` of a confirmation recorded by a person (defined with the case record: the
/// verifier tells an acknowledged target by it).
pub use revoke_shared::contract::MANUAL_INSTANCE;
/// `object_kind` and `action` of a person's acknowledgement (`revoke case ack`): defined with
/// the evidence, which derives an old record's provenance from them.
pub use revoke_shared::contract::{MANUAL_ACTION, MANUAL_OBJECT_KIND};

/// True when the evidence is a person's acknowledgement, not a worker's action.
pub fn is_ack(o: &ObjectEvidence) -> bool {
    o.is_manual()
}

/// A person's confirmation of a manual step, as recorded in a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acknowledgement {
    pub target: TargetKind,
    /// The person who confirmed (the evidence's `actor.principal`).
    pub by: String,
    /// What they said (the read-back without its `confirmed by <person>: ` prefix).
    pub note: String,
    /// When they say the access was removed.
    pub removed_at: Option<DateTime<Utc>>,
    /// When the acknowledgement was recorded (the confirmation's time).
    pub recorded_at: Option<DateTime<Utc>>,
    pub object_id: String,
    /// Where it was recorded from (`revoke-cli@<host>`).
    pub recorded_by: String,
}

/// The acknowledgements in a case, in target order.
pub fn acknowledgements(case: &Case) -> Vec<Acknowledgement> {
    let mut out = Vec::new();
    for (kind, st) in &case.targets {
        for o in st.objects.iter().filter(|o| is_ack(o)) {
            let prefix = format!("confirmed by {}: ", o.actor.principal);
            out.push(Acknowledgement {
                target: *kind,
                by: o.actor.principal.clone(),
                note: o
                    .read_back
                    .strip_prefix(&prefix)
                    .unwrap_or(&o.read_back)
                    .to_string(),
                removed_at: o.removed_at,
                recorded_at: st.confirmed_at,
                object_id: o.object_id.clone(),
                recorded_by: o.actor.worker_id.clone(),
            });
        }
    }
    out
}

/// How the required targets that are done were proven: by a worker's read-back, or on a
/// person's word (per person, in order of first appearance).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Proof {
    /// Done targets whose every object was observed gone by a worker.
    pub verified: usize,
    /// Done targets closed on a person's attestation: (person, targets).
    pub attested: Vec<(String, usize)>,
}

impl Proof {
    pub fn of(case: &Case) -> Proof {
        let mut p = Proof::default();
        for t in &case.required_targets {
            let Some(st) = case.targets.get(t).filter(|s| s.state == TargetState::Done) else {
                continue;
            };
            match attested_by(st) {
                Some(person) => match p.attested.iter_mut().find(|(who, _)| who == person) {
                    Some((_, n)) => *n += 1,
                    None => p.attested.push((person.to_string(), 1)),
                },
                None => p.verified += 1,
            }
        }
        p
    }

    pub fn attested_targets(&self) -> usize {
        self.attested.iter().map(|(_, n)| n).sum()
    }

    /// `verified by read-back on 4 targets, attested by alice on 1`.
    pub fn text(&self) -> String {
        let n = |k: usize| format!("{k} target{}", if k == 1 { "" } else { "s" });
        let mut parts = vec![format!("verified by read-back on {}", n(self.verified))];
        for (who, k) in &self.attested {
            parts.push(format!("attested by {who} on {k}"));
        }
        parts.join(", ")
    }
}

/// The person whose statement a target's evidence rests on, if any object is `attested`.
pub fn attested_by(st: &TargetStatus) -> Option<&str> {
    revoke_shared::contract::attested_by(&st.objects)
}

/// What a target's evidence rests on, in one word: `attested` when any object is a person's
/// statement, `observed` when a worker read every object back gone (or found nothing held),
/// else `not_checked` (nothing reported yet, or not all of it proven).
pub fn target_provenance(st: &TargetStatus) -> &'static str {
    if attested_by(st).is_some() {
        Provenance::Attested.as_str()
    } else if st.outcome.is_some_and(|o| o.is_success())
        && st.objects.iter().all(|o| o.is_observed())
    {
        Provenance::Observed.as_str()
    } else {
        Provenance::NotChecked.as_str()
    }
}

/// A target held open although a person attested it: its kind is not in
/// `verifier.attestation_allowed`, so the verifier waits for a worker's read-back.
pub fn attestation_not_accepted(st: &TargetStatus) -> bool {
    st.state == TargetState::Unverified && attested_by(st).is_some()
}

/// The wire name of a target state (`done`, `manual_required`, …).
pub fn target_state_str(s: TargetState) -> &'static str {
    match s {
        TargetState::Pending => "pending",
        TargetState::Done => "done",
        TargetState::Unverified => "unverified",
        TargetState::Failed => "failed",
        TargetState::ManualRequired => "manual_required",
        TargetState::SkippedProtected => "skipped_protected",
    }
}

/// Whether an escalation still needs its owner. On a case not closed or rescinded: while one of
/// its targets is not verified. On a rescinded case: `restore_incomplete` always (re-issuing by
/// hand is not recorded in the case), `rescind_after_revocation` while a target that revoked
/// something has not reported its restore yet; escalations from before the rescind are moot.
pub fn escalation_is_open(case: &Case, e: &EscalationRecord) -> bool {
    match case.state {
        CaseState::Closed => false,
        CaseState::Rescinded => match e.reason {
            EscalationReason::RestoreIncomplete => true,
            EscalationReason::RescindAfterRevocation => e.targets.iter().any(|t| {
                case.targets.get(t).is_some_and(|s| {
                    s.objects
                        .iter()
                        .any(|o| o.outcome == ObjectOutcome::Revoked)
                }) && !case.restored.iter().any(|r| r.target.kind == *t)
            }),
            _ => false,
        },
        _ => e.targets.iter().any(|t| {
            case.targets
                .get(t)
                .is_none_or(|s| s.state != TargetState::Done)
        }),
    }
}

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
    let waiting: Vec<String> = case
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
            s
        }
        CaseState::Escalated => format!(
            "escalated as of {} — a person must act; not verified: {}; deadline {}",
            ts(case.updated_at),
            waiting.join(", "),
            ts_opt(case.deadline)
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
                "rejected at {} by {} (held batch {}{}) — nothing was revoked and nothing will be",
                ts_opt(g.and_then(|g| g.decided_at)),
                g.and_then(|g| g.decided_by.as_deref()).unwrap_or("-"),
                g.and_then(|g| g.batch.as_deref()).unwrap_or("-"),
                g.and_then(|g| g.note.as_deref()).map(|n| format!(": {n}")).unwrap_or_default()
            )
        }
    }
}

/// Renders a case and its whole chain of evidence for people: the HR event, per target and per
/// object the action, removal time, actor and read-back, time to revoke, escalations with their
/// owners, acknowledgements, and the verdict with when it was reached.
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
                ", {} by {by} at {}{}",
                match d {
                    revoke_shared::contract::Decision::Approve => "approved",
                    revoke_shared::contract::Decision::Reject => "rejected",
                },
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
    if case.escalations.is_empty() {
        let _ = writeln!(s, "  escalations: none");
    } else {
        let _ = writeln!(s, "  escalations: {}", case.escalations.len());
        for e in &case.escalations {
            let targets: Vec<&str> = e.targets.iter().map(|t| t.as_str()).collect();
            let _ = writeln!(
                s,
                "    - {} {} for {} -> {}{}",
                ts(e.raised_at),
                e.reason.as_str(),
                targets.join(", "),
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
                "    - {} by {}: removed {}, recorded {} from {}",
                a.target,
                a.by,
                ts_opt(a.removed_at),
                ts_opt(a.recorded_at),
                a.recorded_by
            );
            let _ = writeln!(s, "        note: {}", a.note);
        }
    }
    let _ = writeln!(s, "  verdict: {}", verdict(case));
    s
}

/// The wire name of an object outcome.
pub fn object_outcome_str(o: ObjectOutcome) -> &'static str {
    match o {
        ObjectOutcome::Revoked => "revoked",
        ObjectOutcome::AlreadyAbsent => "already_absent",
        ObjectOutcome::Failed => "failed",
        ObjectOutcome::ManualRequired => "manual_required",
    }
}

/// Follows the cases topic from the beginning into `log` until `stop` (for the demo and tests).
pub async fn follow(
    cfg: &Config,
    log: std::sync::Arc<std::sync::Mutex<CaseLog>>,
    stop: tokio_util::sync::CancellationToken,
) -> anyhow::Result<()> {
    use rdkafka::consumer::{Consumer, StreamConsumer};
    use rdkafka::{Message, Offset, TopicPartitionList};
    let mut rc = revoke_shared::kafka::reader_config(cfg);
    rc.set("enable.partition.eof", "false");
    let consumer: StreamConsumer = rc.create()?;
    let md =
        consumer.fetch_metadata(Some(&cfg.topics.cases), std::time::Duration::from_secs(10))?;
    let mut tpl = TopicPartitionList::new();
    for t in md.topics().iter().filter(|t| t.name() == cfg.topics.cases) {
        for p in t.partitions() {
            tpl.add_partition_offset(t.name(), p.id(), Offset::Beginning)?;
        }
    }
    consumer.assign(&tpl)?;
    loop {
        tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            m = consumer.recv() => match m {
                Ok(m) => if let Some(p) = m.payload() { log.lock().expect("case log lock").ingest_bytes(p) },
                Err(e) => { tracing::warn!(error = %e, "case follower"); tokio::time::sleep(std::time::Duration::from_millis(100)).await; }
            }
        }
    }
}

/// Cases built by driving the real verifier state machine, for the unit tests of `revoke case`,
/// `revoke case ack` and `revoke report`.
#[cfg(test)]
pub(crate) mod fixtures {
    use crate::verifier::{Effect, Input, Verifier};
    use chrono::{DateTime, Duration, TimeZone, Utc};
    use revoke_shared::config::VerifierConfig;
    use revoke_shared::contract::{
        Actor, Case, Confirmation, HrData, HrEvent, HrEventKind, Identity, IdentityKind,
        ObjectEvidence, ObjectOutcome, Outcome, Owner, TargetKind, TargetRef, WorkerInfo,
        CONFIRMATION_SCHEMA,
    };
    use uuid::Uuid;

    pub fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap()
    }

    pub fn policy() -> VerifierConfig {
        let mut p = VerifierConfig::default();
        // Cases driven straight from termination to verdict (the guard has its own tests).
        p.guard.enabled = false;
        p.owners.insert(
            "cloud".into(),
            Owner {
                name: "cloud-platform".into(),
                contact: "cloud@example.com".into(),
            },
        );
        p.owners.insert(
            "vault".into(),
            Owner {
                name: "vault-team".into(),
                contact: "vault@example.com".into(),
            },
        );
        p
    }

    pub fn termination(identity: &str, event_id: &str, effective_at: DateTime<Utc>) -> HrEvent {
        HrEvent {
            id: event_id.into(),
            source: "urn:hr:test".into(),
            subject: identity.into(),
            time: effective_at,
            kind: HrEventKind::Termination,
            data: HrData {
                identity: Identity {
                    employee_id: identity.into(),
                    email: Some(format!("{}@example.com", identity.to_lowercase())),
                    username: Some(identity.to_lowercase()),
                    kind: IdentityKind::Contractor,
                },
                effective_at: Some(effective_at),
                reason: Some("resignation".into()),
                requested_by: Some("hr:bob".into()),
                approved_by: Some("mgr:carol".into()),
                rescinds: None,
            },
        }
    }

    /// A worker's confirmation: a success removes two objects, the last `ms` after `at0`.
    pub fn confirmation(
        ev: &HrEvent,
        kind: TargetKind,
        outcome: Outcome,
        at0: DateTime<Utc>,
        ms: i64,
    ) -> Confirmation {
        let obj = |n: i64, outcome: ObjectOutcome, verified: bool| ObjectEvidence {
            object_kind: "account".into(),
            object_id: format!("{kind}:{}:{n}", ev.subject),
            sponsored: n == 2,
            action: "lock".into(),
            outcome,
            removed_at: verified.then(|| at0 + Duration::milliseconds(ms - 10 + n * 5)),
            actor: Actor {
                worker_id: format!("{kind}-w1"),
                principal: format!("svc-{kind}"),
            },
            verified,
            provenance: if verified {
                revoke_shared::contract::Provenance::Observed
            } else {
                revoke_shared::contract::Provenance::NotChecked
            },
            read_back: if verified {
                "account is locked".into()
            } else {
                "lookup failed".into()
            },
            error: None,
        };
        let (objects, error) = match outcome {
            Outcome::Revoked => (
                vec![
                    obj(1, ObjectOutcome::Revoked, true),
                    obj(2, ObjectOutcome::Revoked, true),
                ],
                None,
            ),
            Outcome::AlreadyAbsent => (Vec::new(), None),
            Outcome::Failed => (Vec::new(), Some(format!("simulated 403 from {kind}"))),
            _ => (
                vec![obj(1, ObjectOutcome::ManualRequired, false)],
                Some("lookup matched 2 principals".into()),
            ),
        };
        Confirmation {
            schema: CONFIRMATION_SCHEMA.into(),
            confirmation_id: Uuid::new_v4(),
            case_id: ev.case_id(),
            identity_id: ev.subject.clone(),
            event_id: ev.id.clone(),
            target: TargetRef {
                kind,
                instance: "simulated".into(),
            },
            outcome,
            objects,
            attempts: 5,
            error,
            retryable: false,
            redrive: 0,
            worker: WorkerInfo {
                id: format!("{kind}-w1"),
                version: "0.1.0".into(),
            },
            started_at: at0,
            finished_at: at0 + Duration::milliseconds(ms),
            fleet_signature: None,
        }
    }

    /// Feeds `input` and returns the last case version published.
    pub fn apply(v: &mut Verifier, input: Input<'_>, now: DateTime<Utc>) -> Option<Case> {
        v.apply(input, now)
            .into_iter()
            .filter_map(|e| match e {
                Effect::Case(c) => Some(c),
                _ => None,
            })
            .next_back()
    }

    /// A case of `identity` effective at `t0() + offset_s`, with each target confirming its
    /// outcome `ms` milliseconds after the effective time (targets not listed stay pending).
    pub fn case_with(
        v: &mut Verifier,
        identity: &str,
        offset_s: i64,
        outcomes: &[(TargetKind, Outcome, i64)],
    ) -> Case {
        let eff = t0() + Duration::seconds(offset_s);
        let ev = termination(identity, &format!("evt-{identity}"), eff);
        let mut last = apply(v, Input::Hr(&ev), eff).expect("case opened");
        for (kind, outcome, ms) in outcomes {
            let c = confirmation(&ev, *kind, *outcome, eff, *ms);
            if let Some(case) = apply(v, Input::Confirmation(&c), c.finished_at) {
                last = case;
            }
        }
        last
    }

    /// Rescinds the case's termination at `now` (requested by hr:dave); a closed case is given
    /// with its record, as the verifier's shell does.
    pub fn rescind(v: &mut Verifier, case: &Case, now: DateTime<Utc>) -> Case {
        let identity = &case.identity_id;
        let mut ev = termination(identity, &format!("evt-{identity}-r"), now);
        ev.kind = HrEventKind::Rescinded;
        ev.data.effective_at = None;
        ev.data.rescinds = case.event_id.clone();
        ev.data.requested_by = Some("hr:dave".into());
        let input = if case.state == revoke_shared::contract::CaseState::Closed {
            Input::RescindClosed(&ev, case)
        } else {
            Input::Hr(&ev)
        };
        apply(v, input, now).expect("rescinded")
    }

    /// Every target that revoked something reports its restore at `at`; vault's second object
    /// is irreversible.
    pub fn restore_all(v: &mut Verifier, case: &Case, at: DateTime<Utc>) -> Case {
        use revoke_shared::contract::{
            RestoreOutcome, RestoreReport, RestoredObject, RESTORE_REPORT_SCHEMA,
        };
        let mut last = case.clone();
        for (kind, st) in &case.targets {
            if !st
                .objects
                .iter()
                .any(|o| o.outcome == ObjectOutcome::Revoked)
            {
                continue;
            }
            let kind = *kind;
            let lost = |i: usize| kind == TargetKind::Vault && i == 1;
            let objects = st
                .objects
                .iter()
                .enumerate()
                .map(|(i, o)| RestoredObject {
                    object_kind: o.object_kind.clone(),
                    object_id: o.object_id.clone(),
                    sponsored: o.sponsored,
                    undoes: o.action.clone(),
                    outcome: if lost(i) {
                        RestoreOutcome::Irreversible
                    } else {
                        RestoreOutcome::Restored
                    },
                    restored_at: Some(at),
                    actor: Actor {
                        worker_id: format!("{kind}-w1"),
                        principal: format!("svc-{kind}"),
                    },
                    detail: if lost(i) {
                        "a revoked token cannot be restored; issue a new one".into()
                    } else {
                        String::new()
                    },
                })
                .collect();
            let report = RestoreReport {
                schema: RESTORE_REPORT_SCHEMA.into(),
                request_id: Uuid::new_v4(),
                case_id: case.case_id,
                identity_id: case.identity_id.clone(),
                target: TargetRef {
                    kind,
                    instance: "simulated".into(),
                },
                objects,
                worker: WorkerInfo {
                    id: format!("{kind}-w1"),
                    version: "0.1.0".into(),
                },
                started_at: at,
                finished_at: at,
            };
            if let Some(c) = apply(v, Input::Restored(&report), at) {
                last = c;
            }
        }
        last
    }

    pub fn verifier() -> Verifier {
        Verifier::new(policy())
    }

    /// Every target revoked, cloud after 900 ms, the others after 100..=400 ms.
    pub fn closed_case(v: &mut Verifier, identity: &str, offset_s: i64) -> Case {
        case_with(
            v,
            identity,
            offset_s,
            &[
                (TargetKind::Directory, Outcome::Revoked, 100),
                (TargetKind::Saas, Outcome::AlreadyAbsent, 200),
                (TargetKind::Cloud, Outcome::Revoked, 900),
                (TargetKind::Vault, Outcome::Revoked, 300),
                (TargetKind::Cicd, Outcome::Revoked, 400),
            ],
        )
    }

    /// Four targets revoked, cloud `manual_required`: escalated to cloud-platform.
    pub fn escalated_case(v: &mut Verifier, identity: &str, offset_s: i64) -> Case {
        case_with(
            v,
            identity,
            offset_s,
            &[
                (TargetKind::Directory, Outcome::Revoked, 100),
                (TargetKind::Saas, Outcome::Revoked, 200),
                (TargetKind::Cloud, Outcome::ManualRequired, 250),
                (TargetKind::Vault, Outcome::Revoked, 300),
                (TargetKind::Cicd, Outcome::Revoked, 400),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::*;
    use super::*;
    use crate::verifier::{Input, Verifier};
    use revoke_shared::contract::Outcome;

    #[test]
    fn render_closed_case_shows_the_whole_chain() {
        let mut v = verifier();
        let case = closed_case(&mut v, "E1", 0);
        assert_eq!(case.state, CaseState::Closed);
        let text = render(&case);
        for needle in [
            &format!("case {}  identity E1  state closed", case.case_id),
            "identity: E1 (contractor), username e1, email e1@example.com",
            "HR event: evt-E1 from urn:hr:test, reason resignation",
            "requested by hr:bob, approved by mgr:carol",
            "effective 2026-11-24T09:00:00.000Z",
            "targets: 5 of 5 required done (directory, saas, cloud, vault, cicd): verified by read-back on 5 targets",
            "target cloud: done, outcome revoked, time to revoke 900 ms",
            "target saas: done, outcome already_absent",
            "confirmed 2026-11-24T09:00:00.900Z by worker cloud-w1 v0.1.0, instance simulated, 5 calls",
            // Per object: action, outcome, removal time, actor, verification, read-back.
            "- account [sponsored] cloud:E1:2: lock -> revoked, removed 2026-11-24T09:00:00.900Z, by cloud-w1 as svc-cloud, verified true, observed",
            "read back: account is locked",
            "no objects held here",
            "escalations: none",
            "verdict: closed at 2026-11-24T09:00:00.400Z — verified by read-back on 5 targets, 400 ms after the effective time",
        ] {
            assert!(text.contains(needle), "lacks {needle:?}:\n{text}");
        }
        assert!(!text.contains("acknowledgements"), "{text}");
        // The wording the process test looks for.
        assert!(text.contains("target vault") && text.contains("verdict: closed at"));
    }

    #[test]
    fn render_escalated_case_names_owner_and_what_is_missing() {
        let mut v = verifier();
        let case = escalated_case(&mut v, "E2", 0);
        assert_eq!(case.state, CaseState::Escalated);
        let text = render(&case);
        for needle in [
            "state escalated",
            "targets: 4 of 5 required done (directory, saas, cloud, vault, cicd): verified by read-back on 4 targets",
            "target cloud: manual_required, outcome manual_required",
            "error: lookup matched 2 principals",
            "lock -> manual_required, removed -, by cloud-w1 as svc-cloud, verified false, not_checked",
            "escalations: 1",
            "- 2026-11-24T09:00:00.250Z manual_required for cloud -> owner cloud-platform <cloud@example.com> (open)",
            "verdict: escalated as of 2026-11-24T09:00:00.400Z — a person must act; not verified: cloud manual step required (owner cloud-platform <cloud@example.com>); deadline 2026-11-24T10:00:00.000Z",
        ] {
            assert!(text.contains(needle), "lacks {needle:?}:\n{text}");
        }
    }

    #[test]
    fn open_and_pending_verdicts_say_what_is_awaited() {
        let mut v = verifier();
        let case = case_with(
            &mut v,
            "E3",
            0,
            &[(
                TargetKind::Vault,
                revoke_shared::contract::Outcome::Revoked,
                50,
            )],
        );
        assert_eq!(case.state, CaseState::Open);
        let text = render(&case);
        assert!(
            text.contains("verdict: open as of 2026-11-24T09:00:00.050Z — waiting for: directory pending, saas pending, cloud pending, cicd pending; deadline 2026-11-24T10:00:00.000Z"),
            "{text}"
        );
        assert!(
            text.contains("target directory: pending\n    no confirmation yet"),
            "{text}"
        );
    }

    #[test]
    fn a_failed_target_shows_its_error_not_an_empty_holding() {
        let mut v = verifier();
        let case = case_with(
            &mut v,
            "E8",
            0,
            &[(
                TargetKind::Vault,
                revoke_shared::contract::Outcome::Failed,
                30,
            )],
        );
        let text = render(&case);
        assert!(
            text.contains("target vault: failed, outcome failed\n    confirmed 2026-11-24T09:00:00.030Z by worker vault-w1 v0.1.0, instance simulated, 5 calls to the target\n    error: simulated 403 from vault\n  target cicd"),
            "{text}"
        );
        assert!(
            text.contains("target_failed for vault -> owner vault-team <vault@example.com> (open)")
        );
        assert!(!text.contains("no objects held here"), "{text}");
    }

    #[test]
    fn escalation_open_until_its_targets_are_done_or_case_closed() {
        let mut v = verifier();
        let mut case = escalated_case(&mut v, "E4", 0);
        let e = case.escalations[0].clone();
        assert!(escalation_is_open(&case, &e));
        case.targets.get_mut(&TargetKind::Cloud).unwrap().state = TargetState::Done;
        assert!(!escalation_is_open(&case, &e));
        case.targets.get_mut(&TargetKind::Cloud).unwrap().state = TargetState::Failed;
        case.state = CaseState::Closed;
        assert!(!escalation_is_open(&case, &e));
        case.state = CaseState::Rescinded;
        assert!(
            !escalation_is_open(&case, &e),
            "only the rescind's own escalation stays open"
        );
    }

    #[test]
    fn rescinded_case_shows_restores_and_what_is_left_for_a_person() {
        let mut v = verifier();
        let case = escalated_case(&mut v, "E7", 0);
        let now = t0() + chrono::Duration::minutes(5);
        let case = rescind(&mut v, &case, now);
        assert_eq!(case.state, CaseState::Rescinded);
        let rescind_esc = case
            .escalations
            .iter()
            .find(|e| e.reason == EscalationReason::RescindAfterRevocation)
            .unwrap()
            .clone();
        assert!(escalation_is_open(&case, &rescind_esc));
        assert!(
            !escalation_is_open(&case, &case.escalations[0]),
            "moot after the rescind"
        );
        let text = render(&case);
        assert!(text.contains("verdict: rescinded as of 2026-11-24T09:05:00.000Z by hr:dave — 0 objects given back, 0 left for a person; restore not yet reported by directory, saas, vault, cicd"), "{text}");
        // Every target that revoked something reports; vault cannot give one token back.
        let case = restore_all(&mut v, &case, now + chrono::Duration::seconds(1));
        assert!(
            !escalation_is_open(&case, &rescind_esc),
            "every restore reported"
        );
        let incomplete = case
            .escalations
            .iter()
            .find(|e| e.reason == EscalationReason::RestoreIncomplete)
            .expect("vault's token escalated");
        assert!(escalation_is_open(&case, incomplete));
        let text = render(&case);
        for needle in [
            "restored after the rescind: 4 targets",
            "restore vault: reported 2026-11-24T09:05:01.000Z by worker vault-w1 v0.1.0, instance simulated, 1 of 2 given back",
            "- account [sponsored] vault:E7:2: undo lock -> irreversible, at 2026-11-24T09:05:01.000Z, by vault-w1 as svc-vault (a revoked token cannot be restored; issue a new one)",
            "restore_incomplete for vault -> owner vault-team <vault@example.com> (open)",
            "— 7 objects given back, 1 left for a person",
        ] {
            assert!(text.contains(needle), "lacks {needle:?}:\n{text}");
        }
        assert!(!text.contains("restore not yet reported"), "{text}");
    }

    #[test]
    fn climbed_escalations_show_their_level_and_the_verdict_who_was_told() {
        use revoke_shared::config::EscalationStep;
        let mut p = policy();
        p.escalation_paths.insert(
            "cloud".into(),
            vec![EscalationStep {
                name: "cloud-lead".into(),
                contact: "cloud-lead@example.com".into(),
                after_secs: 600,
            }],
        );
        let mut v = Verifier::new(p);
        let case = escalated_case(&mut v, "E9", 0);
        let climbed = apply(&mut v, Input::Tick, t0() + chrono::Duration::seconds(601))
            .expect("climbed to level 1");
        assert_eq!(climbed.escalations.len(), 2);
        assert_eq!(climbed.escalations[1].level, 1);
        let text = render(&climbed);
        for needle in [
            "escalations: 2",
            "manual_required for cloud -> owner cloud-platform <cloud@example.com> (open)",
            "manual_required for cloud -> level 1 of the escalation path cloud-lead <cloud-lead@example.com> (open)",
            "cloud manual step required (owner cloud-platform <cloud@example.com>, escalated to cloud-lead <cloud-lead@example.com> at level 1)",
        ] {
            assert!(text.contains(needle), "lacks {needle:?}:\n{text}");
        }
        assert!(!render(&case).contains("level"), "level 0 reads as before");
    }

    #[test]
    fn re_drives_are_shown_under_their_target() {
        let mut v = verifier();
        let ev = termination("E12", "evt-E12", t0());
        apply(&mut v, Input::Hr(&ev), t0()).unwrap();
        let mut down = confirmation(&ev, TargetKind::Vault, Outcome::Failed, t0(), 300);
        down.retryable = true;
        let case = apply(&mut v, Input::Confirmation(&down), t0()).unwrap();
        let text = render(&case);
        assert!(
            text.contains("run again after transient failures: 0 times; next run at 2026-"),
            "{text}"
        );
        let later = t0() + chrono::Duration::seconds(61);
        let case = apply(&mut v, Input::Tick, later).unwrap();
        let text = render(&case);
        assert!(
            text.contains("run again after transient failures: 1 time\n"),
            "{text}"
        );
        assert!(text.contains("replaced report from"), "{text}");
    }

    #[test]
    fn a_worker_report_after_an_ack_is_shown_next_to_it() {
        let mut v = verifier();
        let case = escalated_case(&mut v, "E10", 0);
        let ev = termination("E10", "evt-E10", t0());
        let mut ack = confirmation(&ev, TargetKind::Cloud, Outcome::Revoked, t0(), 500);
        ack.target.instance = MANUAL_INSTANCE.into();
        ack.worker.id = "revoke-cli".into();
        let acked = apply(&mut v, Input::Confirmation(&ack), t0()).unwrap();
        assert_eq!(acked.state, CaseState::Closed, "{case:?}");
        // Closed: the worker's late report is only a note, the record does not change.
        let late = confirmation(&ev, TargetKind::Cloud, Outcome::Revoked, t0(), 900);
        assert_eq!(apply(&mut v, Input::Confirmation(&late), t0()), None);

        // On a case still open, it is recorded and shown under the target.
        let mut v = verifier();
        let ev = termination("E11", "evt-E11", t0());
        case_with(
            &mut v,
            "E11",
            0,
            &[
                (TargetKind::Cloud, Outcome::ManualRequired, 250),
                (TargetKind::Vault, Outcome::Failed, 300),
            ],
        );
        let mut ack = confirmation(&ev, TargetKind::Cloud, Outcome::Revoked, t0(), 500);
        ack.target.instance = MANUAL_INSTANCE.into();
        apply(&mut v, Input::Confirmation(&ack), t0()).unwrap();
        let late = confirmation(&ev, TargetKind::Cloud, Outcome::Revoked, t0(), 900);
        let case = apply(&mut v, Input::Confirmation(&late), t0()).unwrap();
        let text = render(&case);
        assert!(
            text.contains("late report from cloud-w1 (2026-11-24T09:00:00.900Z), after the acknowledgement: revoked (verified), 2 objects — kept as evidence, changes nothing"),
            "{text}"
        );
        assert!(text.contains("target cloud: done"), "{text}");
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(duration_text(553), "553 ms");
        assert_eq!(duration_text(61_234), "61.2 s (61234 ms)");
        assert_eq!(duration_text(600_000), "10.0 min (600000 ms)");
        assert_eq!(duration_text(9_000_000), "2.5 h (9000000 ms)");
    }
}
