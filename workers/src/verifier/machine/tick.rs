//! The clock: what a tick does — reminders for held batches, escalation paths, per-target SLAs,
//! scheduled cases coming due, re-drives and the case deadline.

use super::confirmation::earlier_objects;
use super::evidence::{raise_as, raise_full, unconfirmed, Raise};
use super::finding::{after_close_escalation_open, level_id};
use super::rescind::restore_undecided;
use super::step::pending_steps;
use super::{Effect, Slot, Verifier};
use chrono::{DateTime, Duration, Utc};
use revoke_shared::contract::{
    Case, CaseState, Escalation, EscalationReason, EscalationRecord, HrData, HrEvent, HrEventKind,
    TargetKind, TargetState, TargetStatus,
};
use revoke_shared::metrics::VerifierNote;
use uuid::Uuid;

impl Verifier {
    pub(super) fn on_tick(&mut self, now: DateTime<Utc>) -> Vec<Effect> {
        let mut out = self.fire_due(now);
        out.extend(self.readmit(now));
        out.extend(self.fire_redrives(now));
        out.extend(self.escalate_overdue(now));
        out.extend(self.escalate_sla(now));
        out.extend(self.escalate_step_sla(now));
        out.extend(self.escalate_review_overdue(now));
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
    pub(super) fn remind_held(&mut self, now: DateTime<Utc>) -> Vec<Effect> {
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
            let r = Raise {
                reason,
                targets: hold.targets,
                level: 0,
                owner: self.guard_owner(),
                detail: format!(
                    "reminder {n}: batch {batch} still held, undecided since {}; nothing in it is acted on until a person decides: `revoke guard` shows its cases and digest, then `revoke approve {batch} --digest DIGEST --by NAME` (or `revoke reject {batch} --by NAME`)",
                    hold.raised_at.to_rfc3339()
                ),
            };
            raise_as(&mut case, reminder, r, now, &mut effects);
            case.state = state; // a reminder changes nothing about the case
            out.extend(self.publish(case, now, effects));
        }
        out
    }

    /// The escalation-path steps of `case` whose time has come and that were not raised yet:
    /// (index of the control owner's escalation in `case.escalations`, level), in order.
    pub(super) fn climbs_due(&self, case: &Case, now: DateTime<Utc>) -> Vec<(usize, u32)> {
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
            // (the same rule `revoke case` uses to show an escalation open or resolved). A
            // receiver's undelivered signals have no path: paths are per target, and the
            // receiver's owner is told by the delivery record itself.
            if base.level != 0
                || base.reason == EscalationReason::SignalUndelivered
                || !unresolved(case, base)
            {
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
                let id = level_id(case.case_id, base, level);
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
    pub(super) fn climb_escalation_paths(&mut self, now: DateTime<Utc>) -> Vec<Effect> {
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
                let id = level_id(case.case_id, &base, level);
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
                let r = Raise {
                    reason: base.reason,
                    targets: base.targets,
                    level,
                    owner: step.owner(),
                    detail,
                };
                raise_full(&mut case, id, r, base.steps, now, &mut effects);
            }
            out.extend(self.publish(case, now, effects));
        }
        out
    }

    /// Targets past their own SLA (`target_sla_secs`, from the case's start), still unconfirmed
    /// and not yet escalated for it: one `sla_passed` escalation per target, to its owner.
    pub(super) fn escalate_sla(&mut self, now: DateTime<Utc>) -> Vec<Effect> {
        if self.policy.target_sla_secs.is_empty() {
            return Vec::new();
        }
        let deadline_secs = self.policy.deadline_secs as i64;
        let mut late: Vec<(Uuid, TargetKind, DateTime<Utc>)> = Vec::new();
        for (id, c) in self.cases.live() {
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
    pub(super) fn fire_due(&mut self, now: DateTime<Utc>) -> Vec<Effect> {
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
                    what: VerifierNote::ScheduledCaseWithoutTermination,
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
    pub(super) fn fire_redrives(&mut self, now: DateTime<Utc>) -> Vec<Effect> {
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
            // A replay case's re-drive is its replay's run too.
            let replay = case.replay.as_ref().map(|r| r.request.replay_id);
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
                        replay,
                    }),
                    None => effects.push(Effect::Note {
                        case_id: Some(id),
                        identity_id: case.identity_id.clone(),
                        what: VerifierNote::RedriveWithoutTermination,
                    }),
                }
            }
            out.extend(self.publish(case, now, effects));
        }
        out
    }

    pub(super) fn escalate_overdue(&mut self, now: DateTime<Utc>) -> Vec<Effect> {
        // Open cases past their deadline, and escalated ones that still have unconfirmed targets:
        // each gets one deadline escalation naming the targets still unconfirmed.
        let overdue = self.live_ids(|c| {
            matches!(c.state, CaseState::Open | CaseState::Escalated)
                && c.deadline.is_some_and(|d| d <= now)
                && !c
                    .escalations
                    .iter()
                    .any(|e| e.reason == EscalationReason::DeadlinePassed)
                && !(unconfirmed(c).is_empty() && pending_steps(c).is_empty())
        });
        let mut out = Vec::new();
        for id in overdue {
            let Some(mut case) = self.take_live(&id) else {
                continue;
            };
            let pending = unconfirmed(&case);
            let steps = pending_steps(&case);
            let mut effects = Vec::new();
            let deadline = case.deadline;
            let detail = format!(
                "deadline {} passed with {} unconfirmed",
                deadline.map(|d| d.to_rfc3339()).unwrap_or_default(),
                match (pending.is_empty(), steps.is_empty()) {
                    (false, true) => "targets".to_string(),
                    (true, _) => format!("steps ({})", steps.join(", ")),
                    (false, false) => format!("targets and steps ({})", steps.join(", ")),
                }
            );
            if steps.is_empty() {
                self.escalate(
                    &mut case,
                    EscalationReason::DeadlinePassed,
                    pending,
                    detail,
                    now,
                    &mut effects,
                );
            } else {
                // The control owner of the first target (as ever), told of the steps too.
                let reason = EscalationReason::DeadlinePassed;
                let id = Escalation::id_with_steps(case.case_id, reason, &pending, &steps, 0);
                let owner = match pending.first() {
                    Some(t) => self.policy.owner_of(Some(*t)),
                    None => self.roster.step_owner(&steps[0], &self.policy),
                };
                let r = Raise {
                    reason,
                    targets: pending,
                    level: 0,
                    owner,
                    detail,
                };
                raise_full(&mut case, id, r, steps, now, &mut effects);
            }
            out.extend(self.publish(case, now, effects));
        }
        out
    }
}

/// Whether an escalation of a case that is not closed or rescinded still needs someone: one of
/// the targets it names is not verified (an escalation naming none is moot); for what happened
/// after close, see `after_close_escalation_open`.
pub(super) fn unresolved(case: &Case, e: &EscalationRecord) -> bool {
    if let Some(open) = after_close_escalation_open(case, e) {
        return open;
    }
    case.any_unfinished(&e.targets, &e.steps)
}

/// `t` plus `secs` seconds, if representable.
pub(super) fn after(t: DateTime<Utc>, secs: u64) -> Option<DateTime<Utc>> {
    let secs = i64::try_from(secs).ok()?;
    t.checked_add_signed(Duration::try_seconds(secs)?)
}

pub(super) fn due_event(case: &Case, now: DateTime<Utc>) -> Option<HrEvent> {
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

/// A failed target whose re-drive time has come.
pub(super) fn redrive_due(t: &TargetStatus, now: DateTime<Utc>) -> bool {
    t.state == TargetState::Failed && t.redrive_at.is_some_and(|at| at <= now)
}
