//! The verifier's state machine: `apply(input, now) -> effects`, with no I/O inside.
//!
//! Inputs are HR events, confirmations and clock ticks; effects are case records to publish
//! (the changelog and the auditor's view) and escalations. The Kafka shell feeds it and
//! publishes what it returns; a restarted shell rebuilds it with `restore` from `revoke.cases`.
//!
//! Rules:
//! - A case closes when every required target confirmed *with verified evidence*.
//! - A target confirming `failed`, `manual_required` or `skipped_protected` escalates the case to
//!   that target's owner; so does a deadline passing with targets still pending.
//! - A late success after an escalation still closes the case; both facts stay in the record.
//!   So does a worker's report arriving after a person acknowledged the target (`case ack`): it
//!   is kept in the target's `late` reports and changes nothing; once the case is closed it is
//!   only a note (a closed case never changes again).
//! - An escalation still unresolved (the case neither closed nor rescinded, one of its targets
//!   not verified) climbs the target's escalation path: at each step's `after_secs` from the
//!   control owner's escalation, a tick raises the same escalation to that step's person, at
//!   its `level`. Each level is recorded in the case, so it fires once, also across restarts.
//! - A duplicate input changes nothing and publishes nothing; a closed case never changes again.
//! - Confirmations may arrive before their termination (they are kept in a `pending` case).
//! - A termination dated in the future (`HrEvent::is_scheduled`) opens a `scheduled` case;
//!   workers leave it alone. The first tick at or after its effective time re-publishes it on
//!   the due topic (`Effect::Due`) and opens the case. The schedule is the case record itself,
//!   so it survives restarts. A rescind before that cancels the case: nothing was revoked.
//! - A rescind after a termination marks the case `rescinded`, escalates, and asks the workers
//!   to give back what the case revoked. Restores are grants (see `people`): a rescind takes
//!   effect once per rescind event (a replay changes nothing), only on terminations from its own
//!   source (else it is refused, `rescind_wrong_source`), without `rescinds` only on a
//!   termination issued before it; and nothing is given back while another termination of the
//!   person stands (`restore_withheld`, escalated). With the guard on, restores ask the guard
//!   too (their own limit), so a burst of rescinds is held for a person. A rescind that
//!   overtakes its termination stands when the termination arrives.
//! - One person, one case: a termination of a person whose case is still live joins that case
//!   (recorded in it) instead of opening a parallel one.
//! - With the blast-radius guard on (`verifier.guard.enabled`), workers act only on what the
//!   verifier releases on the due topic. A case that would be released (a termination, or a
//!   scheduled one coming due) is `admitting` and asks the guard (`Effect::Admit`); the guard's
//!   verdict (`Input::Guard`, judged over the fleet-wide guard log by `guard::Guard`) releases it
//!   (`Effect::Due`, its deadline starts then) or holds it (`held`, one escalation per batch).
//!   A person's approval releases a held case with the approval in its record; a rejection makes
//!   it `rejected` — nothing was revoked, nothing will be. A rescind before release cancels it.
//!   An admission not answered within `READMIT_SECS` is asked again (the guard judges a case
//!   once, so asking twice is harmless).

use super::guard::{Judged, Verdict};
use super::people::{rescind_key, Binding, People};
use chrono::{DateTime, Duration, Utc};
use revoke_shared::config::VerifierConfig;
use revoke_shared::contract::{
    case_id_for, Admission, AdmissionKind, Case, CaseGuard, CaseState, Confirmation, Decision,
    Escalation, EscalationReason, EscalationRecord, HrData, HrEvent, HrEventKind,
    JoinedTermination, ObjectOutcome, Outcome, Owner, RecheckObject, RescindRef, RestoreReport,
    RestoreRequest, SignedReport, TargetKind, TargetState, TargetStatus, CASE_SCHEMA,
    ESCALATION_SCHEMA, JOINED_KEPT, MANUAL_INSTANCE, RESTORE_REQUEST_SCHEMA,
};
use std::collections::{BTreeMap, HashMap};
use uuid::Uuid;

#[derive(Debug)]
pub enum Input<'a> {
    Hr(&'a HrEvent),
    Confirmation(&'a Confirmation),
    /// A worker's report of what it gave back after a rescind.
    Restored(&'a RestoreReport),
    /// A rescind for a closed case, with that case's last record as the changelog holds it
    /// (closed cases are kept as a marker only; the shell reads the record back for this).
    RescindClosed(&'a HrEvent, &'a Case),
    /// The blast-radius guard's verdict on a case this instance owns.
    Guard(&'a Judged),
    Tick,
}

/// How long an admission may go unanswered before the case asks the guard again.
pub const READMIT_SECS: i64 = 10;

// Effects live only until the shell enqueues them; boxing the case would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Publish this version of the case (keyed by case id).
    Case(Case),
    Escalate(Escalation),
    /// A scheduled termination whose effective time has come: publish it on the due topic for
    /// the workers (keyed by identity).
    Due(HrEvent),
    /// After a rescind: ask one target's workers to give back what this case revoked there.
    Restore(RestoreRequest),
    /// A target that failed with transient errors only, run again: publish the termination on
    /// the due topic for that target's workers only (keyed by identity); `n` numbers the re-drive.
    /// `recheck` names the objects earlier runs acted on, to be read back.
    Redrive {
        event: HrEvent,
        target: TargetKind,
        n: u32,
        recheck: Vec<RecheckObject>,
    },
    /// Ask the blast-radius guard to release a case (append to the guard log).
    Admit(Admission),
    /// The input is refused: the shell dead-letters it with this reason (and the detail).
    Refuse {
        reason: &'static str,
        detail: String,
    },
    /// Nothing to publish, but worth a log line and a metric (e.g. rescind of an unknown case).
    Note {
        case_id: Option<Uuid>,
        identity_id: String,
        what: &'static str,
    },
}

/// Closed cases are reduced to this: enough to absorb duplicates, small enough to keep forever.
/// The changelog offset of the closing record lets a rescind after close read that one record
/// back (it fits beside the `Live` box: the slot is no larger for it).
#[derive(Debug, Clone, Copy)]
struct Closed {
    /// `UNKNOWN_OFFSET` until the closing record is acknowledged (or for a record read back
    /// without one).
    offset: i64,
}

const UNKNOWN_OFFSET: i64 = -1;

#[derive(Debug)]
enum Slot {
    Live(Box<Case>),
    Closed(Closed),
}

impl Slot {
    fn is_open(&self) -> bool {
        matches!(self, Slot::Live(c) if !c.state.is_final())
    }

    fn is_pending(&self) -> bool {
        matches!(self, Slot::Live(c) if c.state == CaseState::Pending)
    }
}

pub struct Verifier {
    policy: VerifierConfig,
    cases: HashMap<Uuid, Slot>,
    /// Cases not in a final state, kept in step with `cases` by `put` and `take`.
    open: usize,
    /// `pending` cases (confirmations without their termination), kept in step like `open`.
    pending: usize,
    /// Every termination per person: what stands, what was rescinded and by which rescind, and
    /// which case each lives in. Built from what the case records hold, not from arrival
    /// order, so `restore` in any order rebuilds the same index.
    people: People,
    /// Closed cases in which a person acknowledged some targets (one bit per target, see
    /// `target_bit`): a worker's report for such a target arriving later is worth a note, a
    /// replay of any other is not. Few cases, so kept apart from the one-word closed markers.
    acked_when_closed: HashMap<Uuid, u8>,
}

impl Verifier {
    pub fn new(policy: VerifierConfig) -> Verifier {
        Verifier {
            policy,
            cases: HashMap::new(),
            open: 0,
            pending: 0,
            people: People::default(),
            acked_when_closed: HashMap::new(),
        }
    }

    /// Cases not in a final state.
    pub fn open_count(&self) -> usize {
        self.open
    }

    /// `pending` cases (confirmations whose termination was not seen), at most
    /// `verifier.max_pending_cases`.
    pub fn pending_count(&self) -> usize {
        self.pending
    }

    /// Stores a case slot, keeping the open-case count (O(1): the shell reads it per input).
    fn put(&mut self, id: Uuid, slot: Slot) {
        if !matches!(slot, Slot::Closed(_)) {
            // Only a rescind moves a case away from closed; its acknowledgements no longer matter.
            self.acked_when_closed.remove(&id);
        }
        self.open += usize::from(slot.is_open());
        self.pending += usize::from(slot.is_pending());
        if let Some(old) = self.cases.insert(id, slot) {
            self.open -= usize::from(old.is_open());
            self.pending -= usize::from(old.is_pending());
        }
    }

    /// Stores the closed marker of `case`, remembering which targets a person acknowledged.
    fn put_closed(&mut self, case: &Case) {
        let acked = case
            .targets
            .iter()
            .filter(|(_, s)| s.state == TargetState::Done && s.is_acknowledged())
            .fold(0u8, |bits, (t, _)| bits | target_bit(*t));
        if acked != 0 {
            self.acked_when_closed.insert(case.case_id, acked);
        }
        self.put(
            case.case_id,
            Slot::Closed(Closed {
                offset: UNKNOWN_OFFSET,
            }),
        );
    }

    fn take(&mut self, id: &Uuid) -> Option<Slot> {
        let slot = self.cases.remove(id)?;
        self.open -= usize::from(slot.is_open());
        self.pending -= usize::from(slot.is_pending());
        Some(slot)
    }

    /// The live cases (open, escalated, scheduled, pending, rescinded) that `pick` chooses.
    fn live_ids(&self, pick: impl Fn(&Case) -> bool) -> Vec<Uuid> {
        self.cases
            .iter()
            .filter_map(|(id, s)| match s {
                Slot::Live(c) if pick(c) => Some(*id),
                _ => None,
            })
            .collect()
    }

    /// Takes a live case out to change it (`publish` puts it back); a closed marker stays.
    fn take_live(&mut self, id: &Uuid) -> Option<Case> {
        match self.take(id)? {
            Slot::Live(c) => Some(*c),
            closed => {
                self.put(*id, closed);
                None
            }
        }
    }

    pub fn case(&self, id: &Uuid) -> Option<&Case> {
        match self.cases.get(id) {
            Some(Slot::Live(c)) => Some(c),
            _ => None,
        }
    }

    pub fn is_closed(&self, id: &Uuid) -> bool {
        matches!(self.cases.get(id), Some(Slot::Closed(_)))
    }

    /// Drops the live cases `ids` (a partition this instance no longer owns: its new owner
    /// rebuilds them from the changelog). Closed markers stay: a closed case never changes
    /// again except by a rescind, whose record `restore` accepts over the marker.
    pub fn forget(&mut self, ids: impl IntoIterator<Item = Uuid>) {
        for id in ids {
            if let Some(Slot::Closed(c)) = self.take(&id) {
                self.put(id, Slot::Closed(c));
            }
        }
    }

    /// `restore`, for a record read from the changelog at `offset`: a closed case keeps where
    /// its closing record is.
    pub fn restore_at(&mut self, case: Case, offset: i64) {
        let id = case.case_id;
        let closing = case.state == CaseState::Closed;
        self.restore(case);
        if closing {
            self.note_closed_offset(&id, offset);
        }
    }

    /// Where the closing record of the closed case `id` is in the changelog (acknowledged by
    /// the broker). Ignored unless the case is closed: a later record (a rescind) moved it on.
    pub fn note_closed_offset(&mut self, id: &Uuid, offset: i64) {
        if let Some(Slot::Closed(c)) = self.cases.get_mut(id) {
            c.offset = c.offset.max(offset);
        }
    }

    /// The changelog offset of the closed case `id`'s closing record, when known.
    pub fn closed_offset(&self, id: &Uuid) -> Option<i64> {
        match self.cases.get(id) {
            Some(Slot::Closed(c)) if c.offset != UNKNOWN_OFFSET => Some(c.offset),
            _ => None,
        }
    }

    /// Rebuilds state from a changelog record. Later revisions win; order does not matter.
    pub fn restore(&mut self, case: Case) {
        if let Some(Slot::Live(existing)) = self.cases.get(&case.case_id) {
            if existing.revision >= case.revision {
                return;
            }
        }
        // A closed case changes once more only when a rescind reopens it as `rescinded` (a later
        // revision, so in any replay order the rescinded record wins).
        // Every revision adds to what is known of the person's terminations (a closed case's
        // later revision may record a rescind of a joined termination).
        self.people.note_case(&case);
        if matches!(self.cases.get(&case.case_id), Some(Slot::Closed(_)))
            && case.state != CaseState::Rescinded
        {
            return;
        }
        if case.state == CaseState::Closed {
            self.put_closed(&case);
        } else {
            self.put(case.case_id, Slot::Live(Box::new(case)));
        }
    }

    /// What a live case waits for from the guard, if anything (for a takeover in a rebalance:
    /// the verdict may already be in the guard log).
    pub fn waiting_for_guard(&self, id: &Uuid) -> Option<AdmissionKind> {
        let c = self.case(id)?;
        match c.state {
            CaseState::Admitting | CaseState::Held => Some(AdmissionKind::Termination),
            CaseState::Rescinded if restore_undecided(c) => Some(AdmissionKind::Restore),
            _ => None,
        }
    }

    pub fn apply(&mut self, input: Input<'_>, now: DateTime<Utc>) -> Vec<Effect> {
        match input {
            Input::Hr(ev) if ev.kind == HrEventKind::Termination => self.on_termination(ev, now),
            Input::Hr(ev) => self.on_rescind(ev, now),
            Input::Confirmation(c) => self.on_confirmation(c, now),
            Input::Restored(r) => self.on_restored(r, now),
            Input::RescindClosed(ev, case) => self.on_rescind_closed(ev, case, now),
            Input::Guard(j) => self.on_guard(j, now),
            Input::Tick => self.on_tick(now),
        }
    }

    fn new_case(&self, case_id: Uuid, identity_id: &str, now: DateTime<Utc>) -> Case {
        Case {
            schema: CASE_SCHEMA.into(),
            case_id,
            identity_id: identity_id.to_string(),
            state: CaseState::Pending,
            revision: 0,
            identity: None,
            event_id: None,
            source: None,
            reason: None,
            requested_by: None,
            approved_by: None,
            effective_at: None,
            opened_at: now,
            deadline: None,
            required_targets: self.policy.required_targets.clone(),
            targets: self
                .policy
                .required_targets
                .iter()
                .map(|t| (*t, TargetStatus::pending()))
                .collect(),
            escalations: Vec::new(),
            closed_at: None,
            updated_at: now,
            rescinded_by: None,
            restored: Vec::new(),
            guard: None,
            hr_time: None,
            joined: Vec::new(),
            joined_more: 0,
            rescind: None,
            restore_withheld: None,
            restore_guard: None,
        }
    }

    fn on_termination(&mut self, ev: &HrEvent, now: DateTime<Utc>) -> Vec<Effect> {
        let case_id = ev.case_id();
        if self.people.joined_into(&ev.subject, case_id).is_some() {
            return Vec::new(); // a joined termination again
        }
        let pending = match self.take(&case_id) {
            Some(Slot::Closed(c)) => {
                self.put(case_id, Slot::Closed(c));
                return Vec::new();
            }
            Some(Slot::Live(c)) if c.event_id.is_some() => {
                // Duplicate termination.
                self.put(case_id, Slot::Live(c));
                return Vec::new();
            }
            Some(Slot::Live(c)) => Some(*c), // confirmations (and maybe a rescind) came first
            None => None,
        };
        let rescinded_first = pending
            .as_ref()
            .is_some_and(|c| c.state == CaseState::Rescinded);
        if !rescinded_first {
            if let Some(live) = self.live_case_of(&ev.subject, case_id) {
                return self.join(live, ev, pending, now);
            }
        }
        let mut case = pending.unwrap_or_else(|| self.new_case(case_id, &ev.subject, now));
        let d = &ev.data;
        case.hr_time = Some(ev.time);
        case.identity = Some(d.identity.clone());
        case.event_id = Some(ev.id.clone());
        case.source = Some(ev.source.clone());
        case.reason = d.reason.clone();
        case.requested_by = d.requested_by.clone();
        case.approved_by = d.approved_by.clone();
        case.effective_at = d.effective_at;
        // Which targets must confirm depends on who left (policy by identity kind).
        case.required_targets = self.policy.required_for(d.identity.kind);
        for t in &case.required_targets {
            case.targets.entry(*t).or_insert_with(TargetStatus::pending);
        }
        // The clock starts at the effective time, but never before the verifier heard of it.
        let start = d.effective_at.map_or(now, |e| e.max(now));
        case.deadline = Some(start + Duration::seconds(self.policy.deadline_secs as i64));
        for status in case.targets.values_mut() {
            recompute_time_to_revoke(status, case.effective_at);
        }
        // A rescind that overtook its termination stands: the record is completed, not reopened.
        if case.state != CaseState::Rescinded {
            case.state = if ev.is_scheduled() {
                CaseState::Scheduled
            } else {
                CaseState::Open
            };
        }
        self.people.note_case(&case);
        let mut effects = Vec::new();
        if self.policy.is_protected(&d.identity) && case.state != CaseState::Rescinded {
            // Never revoked automatically: the owner decides, now (workers skip it too).
            let targets = case.required_targets.clone();
            self.escalate(
                &mut case,
                EscalationReason::ProtectedIdentity,
                targets,
                "the identity is on verifier.protected_identities (break-glass or legal hold): nothing is revoked automatically".into(),
                now,
                &mut effects,
            );
        }
        if self.policy.guard.enabled
            && !matches!(case.state, CaseState::Rescinded | CaseState::Scheduled)
        {
            // Nothing reaches the workers before the guard's verdict; the deadline starts then.
            self.ask_guard(&mut case, now, &mut effects);
        }
        self.evaluate(&mut case, now, &mut effects);
        self.publish(case, now, effects)
    }

    /// The person's live case (not `except`) a new termination joins: one whose termination
    /// stands and that is still at work or waiting (scheduled, admitting, held, open, escalated).
    fn live_case_of(&self, identity: &str, except: Uuid) -> Option<Uuid> {
        self.people
            .standing_cases(identity)
            .into_iter()
            .filter(|id| *id != except)
            .find(|id| {
                self.case(id).is_some_and(|c| {
                    c.event_id.is_some()
                        && matches!(
                            c.state,
                            CaseState::Scheduled
                                | CaseState::Admitting
                                | CaseState::Held
                                | CaseState::Open
                                | CaseState::Escalated
                        )
                })
            })
    }

    /// Records `ev`, a further termination of the person of case `into`, in that case instead
    /// of opening a parallel one. What its early confirmations proved (`pending`) joins too; an
    /// earlier effective time brings a scheduled case forward.
    fn join(
        &mut self,
        into: Uuid,
        ev: &HrEvent,
        pending: Option<Case>,
        now: DateTime<Utc>,
    ) -> Vec<Effect> {
        let Some(mut case) = self.take_live(&into) else {
            return Vec::new();
        };
        self.people.note_termination(ev, into);
        if case.joined.len() < JOINED_KEPT {
            case.joined.push(JoinedTermination {
                source: ev.source.clone(),
                event_id: ev.id.clone(),
                time: ev.time,
                effective_at: ev.data.effective_at,
                joined_at: now,
                rescind: None,
            });
        } else {
            case.joined_more += 1;
        }
        let earlier = match (ev.data.effective_at, case.effective_at) {
            (Some(new), Some(old)) => new < old,
            (None, Some(_)) => true,
            _ => false,
        };
        if case.state == CaseState::Scheduled && earlier {
            case.effective_at = ev.data.effective_at.or(Some(ev.time));
            let start = case.effective_at.map_or(now, |e| e.max(now));
            case.deadline = Some(start + Duration::seconds(self.policy.deadline_secs as i64));
        }
        for (t, s) in pending.into_iter().flat_map(|p| p.targets) {
            let mine = case.targets.get(&t).map(|x| x.state);
            if s.state == TargetState::Done && mine != Some(TargetState::Done) {
                let old = case.targets.remove(&t);
                case.targets.insert(t, s.replacing(old));
            }
        }
        let mut effects = vec![Effect::Note {
            case_id: Some(into),
            identity_id: ev.subject.clone(),
            what: "termination_joined_live_case",
        }];
        self.evaluate(&mut case, now, &mut effects);
        self.publish(case, now, effects)
    }

    /// Makes `case` wait for the guard's verdict and asks for it.
    fn ask_guard(&self, case: &mut Case, now: DateTime<Utc>, effects: &mut Vec<Effect>) {
        case.state = CaseState::Admitting;
        case.deadline = None;
        case.guard
            .get_or_insert_with(|| Box::new(CaseGuard::asked(now)))
            .asked_at = now;
        effects.push(Effect::Admit(Admission {
            case_id: case.case_id,
            identity_id: case.identity_id.clone(),
            asks: AdmissionKind::Termination,
            targets: case.required_targets.clone(),
            at: now,
        }));
    }

    /// After a rescind nothing else stands against: asks the workers to give back what the case
    /// revoked — through the guard when it is on (restores are grants), else at once.
    fn ask_restores(&self, case: &mut Case, now: DateTime<Utc>, effects: &mut Vec<Effect>) {
        if self.policy.guard.enabled {
            case.restore_guard
                .get_or_insert_with(|| Box::new(CaseGuard::asked(now)))
                .asked_at = now;
            effects.push(Effect::Admit(Admission {
                case_id: case.case_id,
                identity_id: case.identity_id.clone(),
                asks: AdmissionKind::Restore,
                targets: case.targets.keys().copied().collect(),
                at: now,
            }));
            return;
        }
        push_restores(case, case.targets.keys().copied(), now, effects);
    }

    /// The guard's verdict on a case waiting for it (anything else is a repeat: ignored).
    fn on_guard(&mut self, j: &Judged, now: DateTime<Utc>) -> Vec<Effect> {
        if j.asks == AdmissionKind::Restore {
            return self.on_restore_verdict(j, now);
        }
        let Some(mut case) = self.take_live(&j.case_id) else {
            return Vec::new();
        };
        let waiting = case.state == CaseState::Admitting
            || (case.state == CaseState::Held && matches!(j.verdict, Verdict::Decided { .. }));
        if !waiting {
            self.put(j.case_id, Slot::Live(Box::new(case)));
            return Vec::new();
        }
        let mut effects = Vec::new();
        let g = case
            .guard
            .get_or_insert_with(|| Box::new(CaseGuard::asked(now)));
        match &j.verdict {
            Verdict::Released => self.release(&mut case, now, &mut effects),
            Verdict::Held {
                batch,
                why,
                opens_batch,
            } => {
                g.batch = Some(batch.clone());
                g.held_at = Some(now);
                g.why = Some(why.clone());
                if *opens_batch {
                    // One escalation per batch: its first case carries it.
                    let owner = self.guard_owner();
                    let targets = case.required_targets.clone();
                    raise(
                        &mut case,
                        EscalationReason::BlastRadiusHold,
                        targets,
                        0,
                        owner,
                        format!(
                            "blast-radius guard: batch {batch} held: {why}; nothing in it is revoked until a person runs `revoke guard` (its cases and digest), then `revoke approve {batch} --digest DIGEST --by NAME` (or `revoke reject {batch} --by NAME`); later cases join the batch while the burst lasts (`revoke guard` lists it)"
                        ),
                        now,
                        &mut effects,
                    );
                }
                case.state = CaseState::Held;
            }
            Verdict::Decided {
                batch,
                why,
                decision,
            } => {
                record_decision(g, batch, why, decision, now);
                match decision.decision {
                    Decision::Approve => self.release(&mut case, now, &mut effects),
                    Decision::Reject => {
                        case.state = CaseState::Rejected;
                        self.people.mark_rejected(&case.identity_id, case.case_id);
                        effects.push(Effect::Note {
                            case_id: Some(case.case_id),
                            identity_id: case.identity_id.clone(),
                            what: "rejected_by_person",
                        });
                    }
                }
            }
        }
        self.publish(case, now, effects)
    }

    /// The guard's verdict on giving back what a rescinded case revoked.
    fn on_restore_verdict(&mut self, j: &Judged, now: DateTime<Utc>) -> Vec<Effect> {
        let Some(mut case) = self.take_live(&j.case_id) else {
            return Vec::new();
        };
        let waiting = case.state == CaseState::Rescinded
            && restore_undecided(&case)
            && (case
                .restore_guard
                .as_ref()
                .is_some_and(|g| g.batch.is_none())
                || matches!(j.verdict, Verdict::Decided { .. }));
        if !waiting {
            self.put(j.case_id, Slot::Live(Box::new(case)));
            return Vec::new();
        }
        let mut effects = Vec::new();
        let g = case
            .restore_guard
            .get_or_insert_with(|| Box::new(CaseGuard::asked(now)));
        let release = match &j.verdict {
            Verdict::Released => true,
            Verdict::Held {
                batch,
                why,
                opens_batch,
            } => {
                g.batch = Some(batch.clone());
                g.held_at = Some(now);
                g.why = Some(why.clone());
                if *opens_batch {
                    let owner = self.guard_owner();
                    let targets: Vec<TargetKind> = case.targets.keys().copied().collect();
                    raise(
                        &mut case,
                        EscalationReason::BlastRadiusHold,
                        targets,
                        0,
                        owner,
                        format!(
                            "blast-radius guard: restores batch {batch} held: {why}; nothing in it is given back until a person runs `revoke guard` (its cases and digest), then `revoke approve {batch} --digest DIGEST --by NAME` (or `revoke reject {batch} --by NAME`)"
                        ),
                        now,
                        &mut effects,
                    );
                    case.state = CaseState::Rescinded;
                }
                false
            }
            Verdict::Decided {
                batch,
                why,
                decision,
            } => {
                record_decision(g, batch, why, decision, now);
                if decision.decision == Decision::Reject {
                    effects.push(Effect::Note {
                        case_id: Some(case.case_id),
                        identity_id: case.identity_id.clone(),
                        what: "restore_rejected_by_person",
                    });
                }
                decision.decision == Decision::Approve
            }
        };
        if release {
            if let Some(g) = case.restore_guard.as_mut() {
                g.released_at = Some(now);
            }
            let targets: Vec<TargetKind> = case.targets.keys().copied().collect();
            push_restores(&case, targets.into_iter(), now, &mut effects);
        }
        self.publish(case, now, effects)
    }

    fn guard_owner(&self) -> Owner {
        self.policy
            .guard
            .owner
            .clone()
            .unwrap_or_else(|| self.policy.owner_of(None))
    }

    /// Hands `case` to the workers: its deadline starts now (or at its effective time).
    fn release(&self, case: &mut Case, now: DateTime<Utc>, effects: &mut Vec<Effect>) {
        if let Some(g) = case.guard.as_mut() {
            g.released_at = Some(now);
        }
        let start = case.effective_at.map_or(now, |e| e.max(now));
        case.deadline = Some(start + Duration::seconds(self.policy.deadline_secs as i64));
        match due_event(case, now) {
            Some(ev) => effects.push(Effect::Due(ev)),
            None => effects.push(Effect::Note {
                case_id: Some(case.case_id),
                identity_id: case.identity_id.clone(),
                what: "released_case_without_termination",
            }),
        }
        // A protected identity was escalated when it arrived; that stands.
        case.state = if case.escalations.is_empty() {
            CaseState::Open
        } else {
            CaseState::Escalated
        };
        self.evaluate(case, now, effects);
    }

    /// Cases whose admission went unanswered (a verifier stopped between writing the case and
    /// its admission, or the guard log was unreadable): ask again.
    fn readmit(&mut self, now: DateTime<Utc>) -> Vec<Effect> {
        let stale_after = |g: Option<&CaseGuard>| {
            g.is_none_or(|g| g.asked_at + Duration::seconds(READMIT_SECS) <= now)
        };
        let stale = self.live_ids(|c| {
            (c.state == CaseState::Admitting && stale_after(c.guard.as_deref()))
                || (c.state == CaseState::Rescinded
                    && restore_undecided(c)
                    && c.restore_guard.as_ref().is_some_and(|g| g.batch.is_none())
                    && stale_after(c.restore_guard.as_deref()))
        });
        let mut out = Vec::new();
        for id in stale {
            let Some(mut case) = self.take_live(&id) else {
                continue;
            };
            let mut effects = Vec::new();
            if case.state == CaseState::Admitting {
                self.ask_guard(&mut case, now, &mut effects);
            } else {
                self.ask_restores(&mut case, now, &mut effects);
            }
            out.extend(self.publish(case, now, effects));
        }
        out
    }

    /// The case a rescind would act on (see `people` for how it binds), if any: the shell reads
    /// a closed one back from the changelog first.
    pub fn rescind_applies_to(&self, ev: &HrEvent) -> Option<Uuid> {
        match self.people.bind(ev) {
            Binding::Term { case, .. } => Some(case),
            Binding::Unknown if ev.data.rescinds.is_some() => Some(ev.case_id()),
            _ => None,
        }
    }

    /// Why the rescind `ev` is refused (dead-lettered), if it is: the shell asks before applying,
    /// since only it holds the record's bytes.
    pub fn rescind_refusal(&self, ev: &HrEvent) -> Option<(&'static str, String)> {
        match self.people.bind(ev) {
            Binding::WrongSource { detail } => Some(("rescind_wrong_source", detail)),
            _ => None,
        }
    }

    /// A rescind of a case that had closed: `record` is its last version from the changelog
    /// (closed cases are kept as a marker only).
    fn on_rescind_closed(
        &mut self,
        ev: &HrEvent,
        record: &Case,
        now: DateTime<Utc>,
    ) -> Vec<Effect> {
        let id = record.case_id;
        let own = match self.people.bind(ev) {
            Binding::Term { own, case } if case == id && self.is_closed(&id) => own,
            _ => return self.on_rescind(ev, now),
        };
        self.take(&id);
        self.rescind_case(record.clone(), own, ev, now)
    }

    fn on_rescind(&mut self, ev: &HrEvent, now: DateTime<Utc>) -> Vec<Effect> {
        let note = |case_id: Option<Uuid>, what: &'static str| {
            vec![Effect::Note {
                case_id,
                identity_id: ev.subject.clone(),
                what,
            }]
        };
        let (own, case_id) = match self.people.bind(ev) {
            Binding::Replay => return note(None, "rescind_replayed"),
            Binding::WrongSource { detail } => {
                return vec![Effect::Refuse {
                    reason: "rescind_wrong_source",
                    detail,
                }]
            }
            Binding::Term { own, case } => (own, case),
            // Named but not seen: confirmations may have come first (a pending case); the rescind
            // stands when its termination arrives.
            Binding::Unknown if ev.data.rescinds.is_some() => (ev.case_id(), ev.case_id()),
            Binding::Unknown => return note(None, "rescind_for_unknown_case"),
        };
        match self.take(&case_id) {
            None => note(Some(case_id), "rescind_for_unknown_case"),
            Some(Slot::Closed(c)) => {
                // The shell hands a closed case's record over (`RescindClosed`); without it
                // there is nothing to give back from.
                self.put(case_id, Slot::Closed(c));
                note(Some(case_id), "rescind_after_close")
            }
            Some(Slot::Live(c)) if c.state == CaseState::Rescinded => {
                self.put(case_id, Slot::Live(c));
                Vec::new()
            }
            Some(Slot::Live(c)) => self.rescind_case(*c, own, ev, now),
        }
    }

    /// Applies the rescind `ev` of termination `own` to `case` (where that termination lives).
    fn rescind_case(
        &mut self,
        mut case: Case,
        own: Uuid,
        ev: &HrEvent,
        now: DateTime<Utc>,
    ) -> Vec<Effect> {
        let by = ev
            .data
            .requested_by
            .clone()
            .unwrap_or_else(|| ev.source.clone());
        let rref = RescindRef {
            source: ev.source.clone(),
            event_id: ev.id.clone(),
            time: ev.time,
            by: by.clone(),
            applied_at: now,
        };
        let identity = case.identity_id.clone();
        self.people.mark_rescinded(&identity, own, rescind_key(ev));
        let mut effects = Vec::new();
        if own != case.case_id {
            // A joined termination: recorded; the case goes on while another of its stands.
            if let Some(j) = case
                .joined
                .iter_mut()
                .find(|j| case_id_for(&j.source, &j.event_id) == own)
            {
                j.rescind = Some(rref.clone());
            }
        } else {
            case.rescind = Some(Box::new(rref.clone()));
        }
        if self
            .people
            .case_stands_without(&identity, case.case_id, own)
        {
            let state = case.state;
            let detail = format!(
                "termination rescinded by event {} ({}), but another termination of {identity} in this case stands: nothing is given back; the case goes on",
                ev.id, ev.source
            );
            case.restore_withheld = Some(detail.clone());
            let targets = case.targets.keys().copied().collect();
            self.escalate(
                &mut case,
                EscalationReason::RestoreWithheld,
                targets,
                detail,
                now,
                &mut effects,
            );
            if matches!(
                state,
                CaseState::Closed | CaseState::Scheduled | CaseState::Admitting | CaseState::Held
            ) {
                case.state = state; // the escalation informs; it does not reopen or release
            }
            return self.publish(case, now, effects);
        }
        case.rescinded_by = Some(by);
        if matches!(
            case.state,
            CaseState::Scheduled | CaseState::Admitting | CaseState::Held
        ) {
            // Before its effective time (or its release by the guard) nothing was revoked: the
            // rescind simply cancels it.
            case.state = CaseState::Rescinded;
            let mut effects = self.publish(case, now, Vec::new());
            effects.push(Effect::Note {
                case_id: Some(own),
                identity_id: ev.subject.clone(),
                what: "cancelled_before_effective",
            });
            return effects;
        }
        let was_closed = case.state == CaseState::Closed;
        let targets: Vec<TargetKind> = case.targets.keys().copied().collect();
        let others = self.people.standing_besides(&identity, case.case_id);
        if !others.is_empty() {
            // Restores are grants: not while the person is terminated by something else.
            let list: Vec<String> = others.iter().map(Uuid::to_string).collect();
            let detail = format!(
                "termination rescinded by event {} ({}), but {identity} has {} other termination(s) that stand (case {}): nothing is given back; a person decides",
                ev.id,
                ev.source,
                others.len(),
                list.join(", ")
            );
            case.restore_withheld = Some(detail.clone());
            self.escalate(
                &mut case,
                EscalationReason::RestoreWithheld,
                targets,
                detail,
                now,
                &mut effects,
            );
            case.state = CaseState::Rescinded;
            return self.publish(case, now, effects);
        }
        self.escalate(
            &mut case,
            EscalationReason::RescindAfterRevocation,
            targets,
            format!(
                "termination rescinded by event {}{}: workers give back what they revoked that can be undone{}; what cannot is escalated as restore_incomplete",
                ev.id,
                if was_closed { " after the case closed" } else { "" },
                if self.policy.guard.enabled { " once the blast-radius guard lets the restore through" } else { "" }
            ),
            now,
            &mut effects,
        );
        case.state = CaseState::Rescinded;
        self.ask_restores(&mut case, now, &mut effects);
        self.publish(case, now, effects)
    }

    fn on_confirmation(&mut self, c: &Confirmation, now: DateTime<Utc>) -> Vec<Effect> {
        // A joined termination's run reports on the case it joined.
        let case_id = self
            .people
            .joined_into(&c.identity_id, c.case_id)
            .unwrap_or(c.case_id);
        let by_worker = c.target.instance != MANUAL_INSTANCE;
        let mut case = match self.take(&case_id) {
            Some(Slot::Closed(x)) => {
                self.put(case_id, Slot::Closed(x));
                // A worker finishing after a person acknowledged the target: the record cannot
                // take it any more, but it is worth a log line and a count. Anything else
                // arriving for a closed case is a replay.
                let acked = self
                    .acked_when_closed
                    .get(&case_id)
                    .is_some_and(|bits| bits & target_bit(c.target.kind) != 0);
                if acked && by_worker {
                    return vec![Effect::Note {
                        case_id: Some(case_id),
                        identity_id: c.identity_id.clone(),
                        what: "late_confirmation_after_close",
                    }];
                }
                return Vec::new();
            }
            Some(Slot::Live(x)) => *x,
            None if self.pending >= self.policy.max_pending_cases => {
                // Bounded: a flood of confirmations for cases nobody terminated must not grow
                // the verifier. A real termination arriving later still opens its case.
                return vec![Effect::Note {
                    case_id: Some(case_id),
                    identity_id: c.identity_id.clone(),
                    what: "stray_confirmation_dropped",
                }];
            }
            None => self.new_case(case_id, &c.identity_id, now),
        };
        let new_state = target_state_of(c, &self.policy);
        let current = case.targets.get_mut(&c.target.kind);
        if let Some(done) = current.filter(|s| s.state == TargetState::Done) {
            // Verified gone stays gone. A worker's report after a person's acknowledgement is
            // kept next to it (both facts stay in the record); any other later news is noise.
            let keep = by_worker
                && done.is_acknowledged()
                && matches!(case.state, CaseState::Open | CaseState::Escalated)
                && done.record_late(status_of(c, &self.policy));
            if !keep {
                self.put(case_id, Slot::Live(Box::new(case)));
                return Vec::new();
            }
            return self.publish(case, now, Vec::new());
        }
        let current = case.targets.get(&c.target.kind);
        // After re-drive n, only runs answering it count (a re-emitted report of an earlier run
        // must not look new) — and proof of success always does.
        let stale_after_redrive =
            current.is_some_and(|s| c.redrive < s.redrives && new_state != TargetState::Done);
        let changes = match current.map(|s| (s.state, s.confirmed_at)) {
            _ if stale_after_redrive => false,
            None | Some((TargetState::Pending, _)) => true,
            Some((TargetState::Done, _)) => false, // handled above
            // An older report replayed after a newer one must not move the target backwards —
            // except a verified success: proof that access is gone always counts.
            Some((_, Some(seen))) if c.finished_at < seen && new_state != TargetState::Done => {
                false
            }
            Some((old, _)) => old != new_state,
        };
        if !changes {
            self.put(case_id, Slot::Live(Box::new(case)));
            return Vec::new();
        }
        let old = case.targets.remove(&c.target.kind);
        let redrives = old.as_ref().map_or(0, |s| s.redrives);
        let mut status = status_of(c, &self.policy).replacing(old);
        status.redrives = redrives;
        // Errors that were all transient (an outage, a 429 storm) may pass: the target runs
        // again later, on the verifier's clock, while steps are left. Its escalation stands.
        // (Planned for a case still waiting for its termination too: it fires once the case is
        // open, as confirmations may overtake their termination.)
        if status.state == TargetState::Failed && c.retryable && case.state != CaseState::Rescinded
        {
            status.redrive_at = self
                .policy
                .redrive_after_secs
                .get(redrives as usize)
                .map(|secs| now + Duration::seconds(*secs as i64));
        }
        recompute_time_to_revoke(&mut status, case.effective_at);
        case.targets.insert(c.target.kind, status);
        let mut effects = Vec::new();
        if case.state == CaseState::Rescinded {
            // Revoked after the rescind (the worker was already at work): give it back too —
            // once restores are let through, and never while another termination stands.
            if restores_released(&case, self.policy.guard.enabled) {
                push_restores(&case, std::iter::once(c.target.kind), now, &mut effects);
            }
        } else if case.state != CaseState::Pending {
            self.evaluate(&mut case, now, &mut effects);
        }
        self.publish(case, now, effects)
    }

    fn on_restored(&mut self, r: &RestoreReport, now: DateTime<Utc>) -> Vec<Effect> {
        let mut case = match self.take(&r.case_id) {
            Some(Slot::Live(c)) if c.state == CaseState::Rescinded => *c,
            Some(slot) => {
                self.put(r.case_id, slot);
                return vec![Effect::Note {
                    case_id: Some(r.case_id),
                    identity_id: r.identity_id.clone(),
                    what: "restore_report_for_case_not_rescinded",
                }];
            }
            None => {
                return vec![Effect::Note {
                    case_id: Some(r.case_id),
                    identity_id: r.identity_id.clone(),
                    what: "restore_report_for_unknown_case",
                }]
            }
        };
        if case.restored.iter().any(|x| x == r) {
            self.put(r.case_id, Slot::Live(Box::new(case)));
            return Vec::new();
        }
        // The latest report per target stands (a re-sent request is answered again).
        case.restored.retain(|x| x.target.kind != r.target.kind);
        case.restored.push(r.clone());
        let mut effects = Vec::new();
        let left: Vec<String> = r.left_for_a_person().map(|o| o.describe()).collect();
        if !left.is_empty() {
            self.escalate(
                &mut case,
                EscalationReason::RestoreIncomplete,
                vec![r.target.kind],
                format!(
                    "{}: {} of {} objects could not be given back: {}",
                    r.target.kind,
                    left.len(),
                    r.objects.len(),
                    left.join("; ")
                ),
                now,
                &mut effects,
            );
            case.state = CaseState::Rescinded;
        }
        self.publish(case, now, effects)
    }

    fn on_tick(&mut self, now: DateTime<Utc>) -> Vec<Effect> {
        let mut out = self.fire_due(now);
        out.extend(self.readmit(now));
        out.extend(self.fire_redrives(now));
        out.extend(self.escalate_overdue(now));
        out.extend(self.escalate_sla(now));
        out.extend(self.climb_escalation_paths(now));
        out.extend(self.remind_held(now));
        out
    }

    /// A held batch nobody decided is not forgotten: the case that opened it (it carries the
    /// batch's `blast_radius_hold` escalation) reminds the guard's owner every
    /// `verifier.guard.remind_after_secs` while its own decision is pending. The n-th reminder
    /// has a fixed id kept in the case record, so each goes out once, across restarts; a
    /// verifier that was down past several raises only the latest. Limit: a partial decision
    /// (`--only`) that decides the opener ends the reminders for the rest of its batch.
    fn remind_held(&mut self, now: DateTime<Utc>) -> Vec<Effect> {
        let every = self.policy.guard.remind_after_secs;
        if !self.policy.guard.enabled || every == 0 {
            return Vec::new();
        }
        let reason = EscalationReason::BlastRadiusHold;
        let due = |c: &Case| -> Option<(Uuid, u32, String, EscalationRecord)> {
            let g = match c.state {
                CaseState::Held => c.guard.as_ref(),
                CaseState::Rescinded if restore_undecided(c) => c.restore_guard.as_ref(),
                _ => None,
            }?;
            let batch = g.batch.clone().filter(|_| g.decision.is_none())?;
            // The latest hold (a case held for its revocation may later be held for its
            // restore), never one of its reminders.
            let hold = c.escalations.iter().rev().find(|e| {
                e.reason == reason
                    && e.escalation_id == Escalation::id_for(c.case_id, reason, &e.targets)
            })?;
            let waited = (now - hold.raised_at).num_seconds().max(0) as u64;
            let n = u32::try_from(waited / every).ok().filter(|n| *n > 0)?;
            let id = Escalation::reminder_id(c.case_id, hold.escalation_id, n);
            (!c.escalations.iter().any(|e| e.escalation_id == id))
                .then(|| (id, n, batch, hold.clone()))
        };
        let mut out = Vec::new();
        for id in self.live_ids(|c| due(c).is_some()) {
            let Some(mut case) = self.take_live(&id) else {
                continue;
            };
            let Some((reminder, n, batch, hold)) = due(&case) else {
                self.put(id, Slot::Live(Box::new(case)));
                continue;
            };
            let state = case.state;
            let mut effects = Vec::new();
            raise_as(
                &mut case,
                reminder,
                reason,
                hold.targets,
                0,
                self.guard_owner(),
                format!(
                    "reminder {n}: batch {batch} still held, undecided since {}; nothing in it is acted on until a person decides: `revoke guard` shows its cases and digest, then `revoke approve {batch} --digest DIGEST --by NAME` (or `revoke reject {batch} --by NAME`)",
                    hold.raised_at.to_rfc3339()
                ),
                now,
                &mut effects,
            );
            case.state = state; // a reminder changes nothing about the case
            out.extend(self.publish(case, now, effects));
        }
        out
    }

    /// The escalation-path steps of `case` whose time has come and that were not raised yet:
    /// (index of the control owner's escalation in `case.escalations`, level), in order.
    fn climbs_due(&self, case: &Case, now: DateTime<Utc>) -> Vec<(usize, u32)> {
        if !matches!(
            case.state,
            CaseState::Open | CaseState::Escalated | CaseState::Held
        ) {
            // Closed (never live), rescinded, rejected, pending, admitting or scheduled: no
            // climb. A held batch nobody decides on climbs like any unresolved escalation.
            return Vec::new();
        }
        let mut due = Vec::new();
        for (i, base) in case.escalations.iter().enumerate() {
            // Paths start from the control owner's escalation; resolved ones stop climbing
            // (the same rule `revoke case` uses to show an escalation open or resolved).
            if base.level != 0 || !unresolved(case, base) {
                continue;
            }
            let path = self
                .policy
                .escalation_path_of(base.targets.first().copied());
            for (n, step) in path.iter().enumerate() {
                let Some(when) = after(base.raised_at, step.after_secs) else {
                    break;
                };
                if when > now {
                    break; // steps are in increasing order (the config is validated)
                }
                let level = n as u32 + 1;
                let id = Escalation::id_at(case.case_id, base.reason, &base.targets, level);
                if !case.escalations.iter().any(|e| e.escalation_id == id) {
                    due.push((i, level));
                }
            }
        }
        due
    }

    /// Escalations unresolved long enough to go to the next person on their path: one new
    /// escalation per level, each once (the levels already raised are in the case record, so a
    /// restarted verifier does not raise them again). A verifier that was down past several
    /// steps raises all of them at its first tick, in order, in one case version.
    fn climb_escalation_paths(&mut self, now: DateTime<Utc>) -> Vec<Effect> {
        if !self.policy.has_escalation_paths() {
            return Vec::new();
        }
        let mut out = Vec::new();
        for id in self.live_ids(|c| !self.climbs_due(c, now).is_empty()) {
            let Some(mut case) = self.take_live(&id) else {
                continue;
            };
            let mut effects = Vec::new();
            for (i, level) in self.climbs_due(&case, now) {
                let base = case.escalations[i].clone();
                let path = self
                    .policy
                    .escalation_path_of(base.targets.first().copied());
                let step = &path[level as usize - 1];
                let detail = format!(
                    "still unresolved {}s after the escalation to {} <{}> at {} (level {level} of {}): {}",
                    step.after_secs,
                    base.owner.name,
                    base.owner.contact,
                    base.raised_at.to_rfc3339(),
                    path.len(),
                    base.detail
                );
                raise(
                    &mut case,
                    base.reason,
                    base.targets,
                    level,
                    step.owner(),
                    detail,
                    now,
                    &mut effects,
                );
            }
            out.extend(self.publish(case, now, effects));
        }
        out
    }

    /// Targets past their own SLA (`target_sla_secs`, from the case's start), still unconfirmed
    /// and not yet escalated for it: one `sla_passed` escalation per target, to its owner.
    fn escalate_sla(&mut self, now: DateTime<Utc>) -> Vec<Effect> {
        if self.policy.target_sla_secs.is_empty() {
            return Vec::new();
        }
        let deadline_secs = self.policy.deadline_secs as i64;
        let mut late: Vec<(Uuid, TargetKind, DateTime<Utc>)> = Vec::new();
        for (id, slot) in &self.cases {
            let Slot::Live(c) = slot else { continue };
            if !matches!(c.state, CaseState::Open | CaseState::Escalated) {
                continue;
            }
            let Some(start) = c.deadline.map(|d| d - Duration::seconds(deadline_secs)) else {
                continue;
            };
            for t in unconfirmed(c) {
                let Some(sla) = self.policy.sla_of(t) else {
                    continue;
                };
                let due = start + Duration::seconds(sla as i64);
                let told = c
                    .escalations
                    .iter()
                    .any(|e| e.reason == EscalationReason::SlaPassed && e.targets.contains(&t));
                if due <= now && !told {
                    late.push((*id, t, due));
                }
            }
        }
        let mut out = Vec::new();
        for (id, t, due) in late {
            let Some(mut case) = self.take_live(&id) else {
                continue;
            };
            let mut effects = Vec::new();
            self.escalate(
                &mut case,
                EscalationReason::SlaPassed,
                vec![t],
                format!(
                    "{t} has not confirmed within its SLA of {}s (due {})",
                    self.policy.sla_of(t).unwrap_or_default(),
                    due.to_rfc3339()
                ),
                now,
                &mut effects,
            );
            out.extend(self.publish(case, now, effects));
        }
        out
    }

    /// Scheduled cases whose effective time has come: re-publish the termination for the
    /// workers and open the case (its deadline already counts from the effective time).
    fn fire_due(&mut self, now: DateTime<Utc>) -> Vec<Effect> {
        let due = self.live_ids(|c| {
            c.state == CaseState::Scheduled && c.effective_at.is_none_or(|e| e <= now)
        });
        let mut out = Vec::new();
        for id in due {
            let Some(mut case) = self.take_live(&id) else {
                continue;
            };
            let mut effects = Vec::new();
            if self.policy.guard.enabled {
                // Released by the guard's verdict, like any case.
                self.ask_guard(&mut case, now, &mut effects);
                out.extend(self.publish(case, now, effects));
                continue;
            }
            match due_event(&case, now) {
                Some(ev) => effects.push(Effect::Due(ev)),
                None => effects.push(Effect::Note {
                    case_id: Some(id),
                    identity_id: case.identity_id.clone(),
                    what: "scheduled_case_without_termination",
                }),
            }
            case.state = CaseState::Open;
            self.evaluate(&mut case, now, &mut effects);
            out.extend(self.publish(case, now, effects));
        }
        out
    }

    /// Targets whose re-drive time came (see `on_confirmation`): each goes back to `pending`
    /// (the failed report joins its history) and its workers get the termination again. The
    /// count is in the case record, so a restarted verifier neither repeats nor skips a step.
    fn fire_redrives(&mut self, now: DateTime<Utc>) -> Vec<Effect> {
        let ready = self.live_ids(|c| {
            matches!(c.state, CaseState::Open | CaseState::Escalated)
                && c.targets.values().any(|t| redrive_due(t, now))
        });
        let mut out = Vec::new();
        for id in ready {
            let Some(mut case) = self.take_live(&id) else {
                continue;
            };
            let event = due_event(&case, now);
            let mut effects = Vec::new();
            for (kind, status) in case.targets.iter_mut() {
                if !redrive_due(status, now) {
                    continue;
                }
                let old = std::mem::replace(status, TargetStatus::pending());
                let recheck = earlier_objects(&old);
                let redrives = old.redrives + 1;
                *status = TargetStatus::pending().replacing(Some(old));
                status.redrives = redrives;
                match &event {
                    Some(ev) => effects.push(Effect::Redrive {
                        event: ev.clone(),
                        target: *kind,
                        n: redrives,
                        recheck,
                    }),
                    None => effects.push(Effect::Note {
                        case_id: Some(id),
                        identity_id: case.identity_id.clone(),
                        what: "redrive_without_termination",
                    }),
                }
            }
            out.extend(self.publish(case, now, effects));
        }
        out
    }

    fn escalate_overdue(&mut self, now: DateTime<Utc>) -> Vec<Effect> {
        // Open cases past their deadline, and escalated ones that still have unconfirmed targets:
        // each gets one deadline escalation naming the targets still unconfirmed.
        let overdue = self.live_ids(|c| {
            matches!(c.state, CaseState::Open | CaseState::Escalated)
                && c.deadline.is_some_and(|d| d <= now)
                && !c
                    .escalations
                    .iter()
                    .any(|e| e.reason == EscalationReason::DeadlinePassed)
                && !unconfirmed(c).is_empty()
        });
        let mut out = Vec::new();
        for id in overdue {
            let Some(mut case) = self.take_live(&id) else {
                continue;
            };
            let pending = unconfirmed(&case);
            let mut effects = Vec::new();
            let deadline = case.deadline;
            self.escalate(
                &mut case,
                EscalationReason::DeadlinePassed,
                pending,
                format!(
                    "deadline {} passed with targets unconfirmed",
                    deadline.map(|d| d.to_rfc3339()).unwrap_or_default()
                ),
                now,
                &mut effects,
            );
            out.extend(self.publish(case, now, effects));
        }
        out
    }

    /// Closes or escalates `case` from its target statuses.
    fn evaluate(&self, case: &mut Case, now: DateTime<Utc>, effects: &mut Vec<Effect>) {
        if matches!(
            case.state,
            CaseState::Rescinded
                | CaseState::Pending
                | CaseState::Scheduled
                | CaseState::Admitting
                | CaseState::Held
                | CaseState::Rejected
        ) {
            return;
        }
        let all_done = case.required_targets.iter().all(|t| {
            case.targets
                .get(t)
                .is_some_and(|s| s.state == TargetState::Done)
        });
        if all_done {
            case.state = CaseState::Closed;
            case.closed_at = Some(now);
            return;
        }
        for (reason, state) in [
            (
                EscalationReason::ProtectedIdentity,
                TargetState::SkippedProtected,
            ),
            (
                EscalationReason::ManualRequired,
                TargetState::ManualRequired,
            ),
            (EscalationReason::TargetFailed, TargetState::Failed),
        ] {
            // Only targets not yet escalated for this reason: each owner hears of a failure once.
            let targets: Vec<TargetKind> = case
                .targets
                .iter()
                .filter(|(t, s)| {
                    s.state == state
                        && !case
                            .escalations
                            .iter()
                            .any(|e| e.reason == reason && e.targets.contains(t))
                })
                .map(|(t, _)| *t)
                .collect();
            if targets.is_empty() {
                continue;
            }
            let detail = targets
                .iter()
                .map(|t| {
                    format!(
                        "{t}: {}",
                        case.targets[t]
                            .error
                            .clone()
                            .unwrap_or_else(|| state_word(state).into())
                    )
                })
                .collect::<Vec<_>>()
                .join("; ");
            self.escalate(case, reason, targets, detail, now, effects);
        }
    }

    /// Records an escalation to the control owner on the case (once per reason and set of
    /// targets) and emits it.
    fn escalate(
        &self,
        case: &mut Case,
        reason: EscalationReason,
        targets: Vec<TargetKind>,
        detail: String,
        now: DateTime<Utc>,
        effects: &mut Vec<Effect>,
    ) {
        let owner = self.policy.owner_of(targets.first().copied());
        raise(case, reason, targets, 0, owner, detail, now, effects);
    }

    /// Stores the case back and returns the effects with its new version first.
    fn publish(&mut self, mut case: Case, now: DateTime<Utc>, effects: Vec<Effect>) -> Vec<Effect> {
        case.revision += 1;
        case.updated_at = now;
        let mut out = Vec::with_capacity(effects.len() + 1);
        if case.state == CaseState::Closed {
            self.put_closed(&case);
            out.push(Effect::Case(case));
        } else {
            out.push(Effect::Case(case.clone()));
            self.put(case.case_id, Slot::Live(Box::new(case)));
        }
        out.extend(effects);
        out
    }
}

/// Records an escalation of `case` at `level` of its path (once per reason, targets and level)
/// and emits it.
#[allow(clippy::too_many_arguments)]
fn raise(
    case: &mut Case,
    reason: EscalationReason,
    targets: Vec<TargetKind>,
    level: u32,
    owner: Owner,
    detail: String,
    now: DateTime<Utc>,
    effects: &mut Vec<Effect>,
) {
    let id = Escalation::id_at(case.case_id, reason, &targets, level);
    raise_as(
        case, id, reason, targets, level, owner, detail, now, effects,
    );
}

/// `raise` under a given id (reminders have their own).
#[allow(clippy::too_many_arguments)]
fn raise_as(
    case: &mut Case,
    id: Uuid,
    reason: EscalationReason,
    targets: Vec<TargetKind>,
    level: u32,
    owner: Owner,
    detail: String,
    now: DateTime<Utc>,
    effects: &mut Vec<Effect>,
) {
    case.state = CaseState::Escalated;
    if case.escalations.iter().any(|e| e.escalation_id == id) {
        return;
    }
    let evidence = case
        .targets
        .iter()
        .map(|(t, s)| {
            format!(
                "{t}: {}{}",
                status_word(s),
                s.error
                    .as_ref()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default()
            )
        })
        .collect();
    case.escalations.push(EscalationRecord {
        escalation_id: id,
        reason,
        targets: targets.clone(),
        owner: owner.clone(),
        level,
        raised_at: now,
        detail: detail.clone(),
    });
    effects.push(Effect::Escalate(Escalation {
        schema: ESCALATION_SCHEMA.into(),
        escalation_id: id,
        case_id: case.case_id,
        identity_id: case.identity_id.clone(),
        reason,
        targets,
        owner,
        level,
        deadline: case.deadline,
        raised_at: now,
        detail,
        evidence,
    }));
}

/// Whether an escalation of a case that is not closed or rescinded still needs someone: one of
/// the targets it names is not verified (an escalation naming none is moot).
fn unresolved(case: &Case, e: &EscalationRecord) -> bool {
    e.targets.iter().any(|t| {
        case.targets
            .get(t)
            .is_none_or(|s| s.state != TargetState::Done)
    })
}

/// `t` plus `secs` seconds, if representable.
fn after(t: DateTime<Utc>, secs: u64) -> Option<DateTime<Utc>> {
    let secs = i64::try_from(secs).ok()?;
    t.checked_add_signed(Duration::try_seconds(secs)?)
}

/// One bit per target kind, for `Verifier::acked_when_closed`.
fn target_bit(t: TargetKind) -> u8 {
    let i = TargetKind::ALL.iter().position(|k| *k == t).unwrap_or(0);
    1 << i
}

/// A confirmation as a target status (before it replaces or joins anything).
fn status_of(c: &Confirmation, policy: &VerifierConfig) -> TargetStatus {
    TargetStatus {
        state: target_state_of(c, policy),
        outcome: Some(c.outcome),
        instance: Some(c.target.instance.as_str().into()),
        confirmed_at: Some(c.finished_at),
        time_to_revoke_ms: None,
        attempts: c.attempts,
        worker: Some(Box::new(c.worker.clone())),
        error: c.error.as_deref().map(Into::into),
        objects: c.objects.clone(),
        superseded: Vec::new(),
        late: Vec::new(),
        redrives: 0,
        redrive_at: None,
        signed: c.fleet_signature.as_ref().map(|sig| {
            Box::new(SignedReport {
                confirmation_id: c.confirmation_id,
                case_id: c.case_id,
                event_id: c.event_id.clone(),
                started_at: c.started_at,
                retryable: c.retryable,
                redrive: c.redrive,
                signature: sig.clone(),
            })
        }),
    }
}

/// The termination a scheduled case stands for, as the workers will read it from the due topic:
/// the same source and id (so the same case id), the identity and HR fields from the record.
/// The objects a target's earlier runs (this report and the ones it replaced) acted on —
/// revoked, or tried to: what a re-run must read back even if its discovery no longer finds them
/// (gone by that earlier run's hand, or by a call whose answer was lost), so the closing report
/// names them. Nothing-to-do and person-needed objects are not acted on, so not re-read.
fn earlier_objects(status: &TargetStatus) -> Vec<RecheckObject> {
    let mut out: Vec<RecheckObject> = Vec::new();
    for report in std::iter::once(status).chain(status.superseded.iter()) {
        for o in &report.objects {
            if !matches!(o.outcome, ObjectOutcome::Revoked | ObjectOutcome::Failed) {
                continue;
            }
            if out
                .iter()
                .any(|r| r.object_kind == o.object_kind && r.object_id == o.object_id)
            {
                continue;
            }
            out.push(RecheckObject {
                object_kind: o.object_kind.clone(),
                object_id: o.object_id.clone(),
                sponsored: o.sponsored,
                action: o.action.clone(),
                removed_at: o.removed_at.filter(|_| o.verified),
            });
        }
    }
    out
}

fn due_event(case: &Case, now: DateTime<Utc>) -> Option<HrEvent> {
    Some(HrEvent {
        id: case.event_id.clone()?,
        source: case.source.clone()?,
        subject: case.identity_id.clone(),
        time: now,
        kind: HrEventKind::Termination,
        data: HrData {
            identity: case.identity.clone()?,
            effective_at: case.effective_at,
            reason: case.reason.clone(),
            requested_by: case.requested_by.clone(),
            approved_by: case.approved_by.clone(),
            rescinds: None,
        },
    })
}

/// A person's decision on the held batch `batch`, as the case's guard record keeps it (for a
/// release or for a restore alike).
fn record_decision(
    g: &mut CaseGuard,
    batch: &str,
    why: &str,
    decision: &revoke_shared::contract::BatchDecision,
    now: DateTime<Utc>,
) {
    g.batch = Some(batch.to_string());
    g.why.get_or_insert_with(|| why.to_string());
    g.held_at.get_or_insert(now);
    g.decision = Some(decision.decision);
    g.decided_by = Some(decision.by.clone());
    g.decided_at = Some(decision.at);
    g.note = decision.note.clone();
}

/// Restore requests for `targets` of a rescinded case (those where it revoked something).
fn push_restores(
    case: &Case,
    targets: impl Iterator<Item = TargetKind>,
    now: DateTime<Utc>,
    effects: &mut Vec<Effect>,
) {
    for t in targets {
        if let Some(req) = restore_request(case, t, now) {
            effects.push(Effect::Restore(req));
        }
    }
}

/// Whether a rescinded case may ask for restores now: nothing withheld it, and the guard (if it
/// was asked) let it through or a person approved.
fn restores_released(case: &Case, guard_on: bool) -> bool {
    case.restore_withheld.is_none()
        && case
            .restore_guard
            .as_ref()
            .map_or(!guard_on, |g| g.released_at.is_some())
}

/// A rescinded case whose restore asked the guard and has no verdict yet (or is held).
fn restore_undecided(case: &Case) -> bool {
    case.restore_withheld.is_none()
        && case
            .restore_guard
            .as_ref()
            .is_some_and(|g| g.released_at.is_none() && g.decision.is_none())
}

/// The restore request for `target` of a rescinded case, if the case revoked something there.
fn restore_request(case: &Case, target: TargetKind, now: DateTime<Utc>) -> Option<RestoreRequest> {
    let status = case.targets.get(&target)?;
    if !status
        .objects
        .iter()
        .any(|o| o.outcome == ObjectOutcome::Revoked)
    {
        return None;
    }
    let signed = status.signed_report(&case.identity_id, target);
    Some(RestoreRequest {
        schema: RESTORE_REQUEST_SCHEMA.into(),
        request_id: RestoreRequest::id_for(case.case_id, target),
        case_id: case.case_id,
        identity_id: case.identity_id.clone(),
        identity: case.identity.clone()?,
        target,
        rescinded_by: case.rescinded_by.clone().unwrap_or_default(),
        objects: status.objects.clone(),
        requested_at: now,
        confirmation: signed.as_ref().map(|(c, _)| c.clone()),
        confirmation_signature: signed.map(|(_, sig)| sig),
    })
}

/// Required targets with no verified confirmation and no failure reported: still waiting.
fn unconfirmed(case: &Case) -> Vec<TargetKind> {
    case.required_targets
        .iter()
        .copied()
        .filter(|t| {
            case.targets
                .get(t)
                .is_none_or(|s| matches!(s.state, TargetState::Pending | TargetState::Unverified))
        })
        .collect()
}

/// A failed target whose re-drive time has come.
fn redrive_due(t: &TargetStatus, now: DateTime<Utc>) -> bool {
    t.state == TargetState::Failed && t.redrive_at.is_some_and(|at| at <= now)
}

/// A report's target state. Proven gone by a worker's read-back (`observed`): done. Stated by a
/// person (`attested`, `revoke case ack`): done only where `verifier.attestation_allowed` lists
/// the kind — it then closes the target but is never called verified; elsewhere it stays
/// `unverified` (recorded, waiting for a worker's read-back), so the case does not close on it.
fn target_state_of(c: &Confirmation, policy: &VerifierConfig) -> TargetState {
    match c.outcome {
        Outcome::Revoked | Outcome::AlreadyAbsent if c.is_verified() => TargetState::Done,
        Outcome::Revoked | Outcome::AlreadyAbsent
            if c.is_attested() && policy.attestation_closes(c.target.kind) =>
        {
            TargetState::Done
        }
        Outcome::Revoked | Outcome::AlreadyAbsent => TargetState::Unverified,
        Outcome::Failed => TargetState::Failed,
        Outcome::ManualRequired => TargetState::ManualRequired,
        Outcome::SkippedProtected => TargetState::SkippedProtected,
    }
}

fn state_word(s: TargetState) -> &'static str {
    match s {
        TargetState::Pending => "pending",
        TargetState::Done => "revoked (verified)",
        TargetState::Unverified => "reported revoked but not verified",
        TargetState::Failed => "failed",
        TargetState::ManualRequired => "manual step required",
        TargetState::SkippedProtected => "skipped: protected identity",
    }
}

/// How a target's status reads in escalations and summaries: a target done on a person's word
/// says so instead of "verified".
fn status_word(s: &TargetStatus) -> &'static str {
    use revoke_shared::contract::attested_by;
    match s.state {
        TargetState::Done if attested_by(&s.objects).is_some() => "revoked (attested by a person)",
        TargetState::Unverified if attested_by(&s.objects).is_some() => {
            "attested by a person; attestation does not close this target (verifier.attestation_allowed)"
        }
        st => state_word(st),
    }
}

/// From the effective time to the last removal (or to the confirmation when nothing was removed).
fn recompute_time_to_revoke(status: &mut TargetStatus, effective_at: Option<DateTime<Utc>>) {
    if status.state != TargetState::Done {
        status.time_to_revoke_ms = None;
        return;
    }
    let end = status
        .objects
        .iter()
        .filter_map(|o| o.removed_at)
        .max()
        .or(status.confirmed_at);
    status.time_to_revoke_ms = match (effective_at, end) {
        (Some(e), Some(end)) => Some((end - e).num_milliseconds().max(0)),
        _ => None,
    };
}

/// Per target, the keys used in reports: kept here so the CLI and tests agree.
pub fn target_summary(case: &Case) -> BTreeMap<TargetKind, &'static str> {
    case.targets
        .iter()
        .map(|(t, s)| (*t, status_word(s)))
        .collect()
}
