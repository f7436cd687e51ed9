//! The verifier's state machine: `apply(input, now) -> effects`, with no I/O inside.
//!
//! Inputs are HR events, confirmations, findings, signal deliveries and clock ticks; effects are case records to publish
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
//! - A duplicate input changes nothing and publishes nothing; a closed case changes again only by
//!   a rescind, access seen again (`finding`: recorded, escalated, the case reopened as
//!   `escalated`) or a Shared Signals delivery (`signal`: recorded, an overdue receiver
//!   escalated; the state unchanged). Closed cases are only a marker in memory, so for these the
//!   shell hands over the case's last record from the changelog.
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
//!
//! This file holds the inputs, the effects and the case store (`Verifier`, `apply`); each kind of
//! input is applied in its own file: `termination`, `confirmation`, `rescind` (with the restore
//! reports), `admission` (the guard's verdicts), `finding` and `signal` (after close), `replay`
//! (a person's `revoke replay`: a replay case), and `tick` (deadlines, SLAs, escalation paths,
//! re-drives); `evidence` evaluates a case and records and publishes its escalations.

use super::guard::Judged;
use super::people::People;
use chrono::{DateTime, Utc};
use revoke_shared::config::VerifierConfig;
use revoke_shared::contract::{
    AccessFinding, Admission, AdmissionKind, Case, CaseState, Confirmation, Escalation, HrEvent,
    HrEventKind, RecheckObject, ReplayRequest, RestoreReport, RestoreRequest, ReviewRecord,
    SignalDelivery, StepAttestation, TargetKind, TargetState,
};
use revoke_shared::metrics::{CaseCounts, VerifierNote};
use std::collections::HashMap;
use table::{CaseTable, SlotRef};
use uuid::Uuid;

mod admission;
mod confirmation;
mod evidence;
mod finding;
mod replay;
mod rescind;
mod review;
mod review_overdue;
mod roster;
mod signal;
mod step;
mod table;
mod termination;
mod tick;

pub use roster::Roster;
pub use step::STEP_ACTION;

use evidence::target_bit;
pub use evidence::target_summary;
pub use finding::{after_close_escalation_open, reopened_by_finding};
use rescind::restore_undecided;

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
    /// Access seen again after the case closed (`revoke verify`, `revoke watch`); for a closed
    /// case, with its last record as the changelog holds it (read back as for `RescindClosed`).
    Finding(&'a AccessFinding, Option<&'a Case>),
    /// A Shared Signals receiver's delivery (or overdue delivery) of the case's SETs; for a
    /// closed case, with its last record as for `Finding`.
    Signal(&'a SignalDelivery, Option<&'a Case>),
    /// A person's attestation of a step without an API (`revoke case ack --step`), with the
    /// record as published (its signature is checked over it).
    StepAttestation(&'a StepAttestation, &'a serde_json::Value),
    /// A closure reviewer's decision (`revoke review`), with the record as published.
    Review(&'a ReviewRecord, &'a serde_json::Value),
    /// A person's request to re-drive a case (`revoke replay`), with the record as published
    /// and, for a closed case, its last record as the changelog holds it (as for `Finding`).
    Replay(&'a ReplayRequest, &'a serde_json::Value, Option<&'a Case>),
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
    /// `recheck` names the objects earlier runs acted on, to be read back. `replay` marks the
    /// run of a replay case (`revoke replay`): its workers report on that case.
    Redrive {
        event: HrEvent,
        target: TargetKind,
        n: u32,
        recheck: Vec<RecheckObject>,
        replay: Option<Uuid>,
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
        what: VerifierNote,
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
    /// The state counted in `CaseCounts`: a live case's (a closed marker is not counted).
    fn counted_state(&self) -> Option<CaseState> {
        match self {
            Slot::Live(c) => Some(c.state),
            Slot::Closed(_) => None,
        }
    }
}

pub struct Verifier {
    policy: VerifierConfig,
    /// Live cases and closed markers, apart (see `table`).
    cases: CaseTable,
    /// Live cases by state, kept in step with `cases` by `put` and `take`: the open and pending
    /// counts and the `revoke_cases{state}` gauges.
    counts: CaseCounts,
    /// Every termination per person: what stands, what was rescinded and by which rescind, and
    /// which case each lives in. Built from what the case records hold, not from arrival
    /// order, so `restore` in any order rebuilds the same index.
    people: People,
    /// Closed cases in which a person acknowledged some targets (one bit per target, see
    /// `target_bit`): a worker's report for such a target arriving later is worth a note, a
    /// replay of any other is not. Few cases, so kept apart from the one-word closed markers.
    acked_when_closed: HashMap<Uuid, u8>,
    /// Steps without an API, the people who attest and review, and whether they must sign.
    roster: Roster,
}

impl Verifier {
    pub fn new(policy: VerifierConfig) -> Verifier {
        Verifier {
            policy,
            cases: CaseTable::default(),
            counts: CaseCounts::default(),
            people: People::default(),
            acked_when_closed: HashMap::new(),
            roster: Roster::default(),
        }
    }

    /// With `[steps]`, `[[people]]` and `[signing] required` (see `Roster`).
    pub fn with_roster(mut self, roster: Roster) -> Verifier {
        self.roster = roster;
        self
    }

    /// Cases not in a final state.
    pub fn open_count(&self) -> usize {
        self.counts.open()
    }

    /// `pending` cases (confirmations whose termination was not seen), at most
    /// `verifier.max_pending_cases`.
    pub fn pending_count(&self) -> usize {
        self.counts.get(CaseState::Pending)
    }

    /// Live cases by state (every state but closed), for the `revoke_cases` gauges.
    pub fn case_counts(&self) -> CaseCounts {
        self.counts
    }

    /// Stores a case slot, keeping the counts by state (O(1): the shell reads them per input).
    fn put(&mut self, id: Uuid, slot: Slot) {
        if !matches!(slot, Slot::Closed(_)) {
            // Only a rescind moves a case away from closed; its acknowledgements no longer matter.
            self.acked_when_closed.remove(&id);
        }
        if let Some(state) = slot.counted_state() {
            self.counts.add(state);
        }
        if let Some(old) = self.cases.insert(id, slot) {
            if let Some(state) = old.counted_state() {
                self.counts.remove(state);
            }
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
        if let Some(state) = slot.counted_state() {
            self.counts.remove(state);
        }
        Some(slot)
    }

    /// The live cases (open, escalated, scheduled, pending, rescinded) that `pick` chooses.
    fn live_ids(&self, pick: impl Fn(&Case) -> bool) -> Vec<Uuid> {
        self.cases
            .live()
            .filter_map(|(id, c)| pick(c).then_some(*id))
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

    /// As `take_live`, for a case that `waits` for what is being applied; a case that does not
    /// stays where it is (`None`: the input is a repeat, ignored).
    fn take_waiting(&mut self, id: &Uuid, waits: impl FnOnce(&Case) -> bool) -> Option<Case> {
        let case = self.take_live(id)?;
        if waits(&case) {
            return Some(case);
        }
        self.put(*id, Slot::Live(Box::new(case)));
        None
    }

    /// The case an input after close applies to: the live case, or for a closed marker the
    /// record the shell read back (`closed`); refused when neither is there.
    fn known_case<'a>(
        &'a self,
        id: &Uuid,
        closed: Option<&'a Case>,
    ) -> Result<&'a Case, (&'static str, String)> {
        match self.cases.get(id) {
            Some(SlotRef::Live(c)) => Ok(c),
            Some(SlotRef::Closed(_)) => closed.filter(|r| r.case_id == *id).ok_or_else(|| {
                (
                    "case_record_missing",
                    format!("case {id} is closed but its record could not be read back from the changelog"),
                )
            }),
            None => Err((
                "unknown_case",
                format!("no case {id} is known: nothing to record this in"),
            )),
        }
    }

    /// Takes out the case `known_case` returned, to change it (`publish` puts it back).
    fn take_known(&mut self, id: &Uuid, closed: Option<&Case>) -> Option<Case> {
        match self.take(id)? {
            Slot::Live(c) => Some(*c),
            marker => {
                let record = closed.filter(|r| r.case_id == *id).cloned();
                if record.is_none() {
                    self.put(*id, marker);
                }
                record
            }
        }
    }

    pub fn case(&self, id: &Uuid) -> Option<&Case> {
        match self.cases.get(id) {
            Some(SlotRef::Live(c)) => Some(c),
            _ => None,
        }
    }

    pub fn is_closed(&self, id: &Uuid) -> bool {
        self.cases.is_closed(id)
    }

    /// Drops the live cases `ids` (a partition this instance no longer owns: its new owner
    /// rebuilds them from the changelog). Closed markers stay: a closed case leaves its marker
    /// only by a rescind or a finding, whose record `restore` accepts over the marker.
    pub fn forget(&mut self, ids: impl IntoIterator<Item = Uuid>) {
        for id in ids {
            if let Some(Slot::Closed(c)) = self.take(&id) {
                self.put(id, Slot::Closed(c));
            }
        }
    }

    /// Takes in what `rebuilt` restored from the changelog of partitions this instance gained
    /// (rebuilt off the shell's lock, record by record, so that a large changelog is never in
    /// memory at once). `rebuilt` read every record there is for them, so what it holds wins
    /// over what this instance still held for those cases and people — a closed marker left from
    /// an earlier ownership, a person's terminations as they were then. (A person's cases all
    /// live in one partition: identity is the partition key.)
    pub fn absorb(&mut self, mut rebuilt: Verifier) {
        for (id, slot) in rebuilt.cases.drain() {
            self.put(id, slot);
        }
        // After `put`, which forgets the acknowledgements of every case it stores live.
        self.acked_when_closed.extend(rebuilt.acked_when_closed);
        self.people.absorb(rebuilt.people);
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
    /// The live case `id`'s newest versions were folded into an earlier unsent one (the
    /// shell's `fold`): its revision goes back by the `folded` versions that will never be
    /// published, so the next version follows the last one published and the published
    /// revisions stay consecutive.
    pub fn revision_back(&mut self, id: &Uuid, folded: u64) {
        if let Some(c) = self.cases.live_mut(id) {
            c.revision = c.revision.saturating_sub(folded);
        }
    }

    pub fn note_closed_offset(&mut self, id: &Uuid, offset: i64) {
        if let Some(c) = self.cases.closed_mut(id) {
            c.offset = c.offset.max(offset);
        }
    }

    /// The changelog offset of the closed case `id`'s closing record, when known.
    pub fn closed_offset(&self, id: &Uuid) -> Option<i64> {
        match self.cases.get(id) {
            Some(SlotRef::Closed(c)) if c.offset != UNKNOWN_OFFSET => Some(c.offset),
            _ => None,
        }
    }

    /// Rebuilds state from a changelog record. Later revisions win; order does not matter.
    pub fn restore(&mut self, case: Case) {
        if let Some(SlotRef::Live(existing)) = self.cases.get(&case.case_id) {
            if existing.revision >= case.revision {
                return;
            }
        }
        // A closed case changes once more only when a rescind reopens it as `rescinded`, or access
        // seen again reopens it as `escalated` (a later revision either way, so in any replay
        // order that record wins; a closed record with a later revision — a signal delivery —
        // only moves the marker's offset, see `restore_at`).
        // Every revision adds to what is known of the person's terminations (a closed case's
        // later revision may record a rescind of a joined termination).
        self.people.note_case(&case);
        if self.cases.is_closed(&case.case_id)
            && case.state != CaseState::Rescinded
            && !reopened_by_finding(&case)
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
            Input::Finding(f, closed) => self.on_finding(f, closed, now),
            Input::Signal(d, closed) => self.on_signal(d, closed, now),
            Input::StepAttestation(a, raw) => self.on_step_attestation(a, raw, now),
            Input::Review(r, raw) => self.on_review(r, raw, now),
            Input::Replay(r, raw, closed) => self.on_replay_request(r, raw, closed, now),
            Input::Tick => self.on_tick(now),
        }
    }
}
