//! Replays (`revoke replay`): a person's request to re-drive a past termination through some of
//! its targets becomes a **replay case** — a case of its own for the same person and HR event
//! (`Case::replay` says which case it replays, at whose request), so everything a termination
//! goes through applies to it: the blast-radius guard (it asks like a new termination, so a
//! replay of 500 leavers is held like 500 terminations), the deadline, escalations, re-drives of
//! transient failures, rescinds.
//!
//! A request is refused (dead-lettered with the reason, nothing opened) when it is not its
//! person's (`signing::check_decision`, the `approver` role: a replay changes access as a guard
//! approval does), is stale or dated ahead (`replay_request_stale`), was seen before
//! (`replay_request_replayed`: its replay case exists), names an unknown case or another
//! identity, or when the replay rules (`replay_rules::judge`) say the case may not be replayed
//! (rescinded, rejected, not released by the guard, not yet effective, protected, …).
//!
//! What a replay finds:
//! - Its workers report on the replay case (`Confirmation::replay`); it closes on their verified
//!   reports. The replayed case's own record is not touched when it had closed: its closing
//!   evidence stays as it was.
//! - A report that revoked something after the replayed case had closed is access that came
//!   back: the replay case escalates it (`access_returned`, to the target's owner, naming the
//!   objects) and closes once it is gone again — a person finds out who gave it back.
//! - A verified report for a target the replayed case — still live — has not verified (a target
//!   fixed after it failed) counts for that case too, as that target's status (its `signed`
//!   report names the replay), and may close it.
//! - A rescind of the replayed case cancels its replays under way (nothing given back where
//!   nothing was revoked; otherwise they give back what they revoked, through the guard).

use super::confirmation::{recompute_time_to_revoke, status_of};
use super::evidence::{raise_as, Raise};
use super::{Effect, Slot, Verifier};
use crate::verifier::replay_rules::{judge, replay_in_progress, Skip};
use chrono::{DateTime, Duration, Utc};
use revoke_shared::config::Role;
use revoke_shared::contract::{
    Case, CaseReplay, CaseState, Confirmation, Escalation, EscalationReason, HrEvent,
    ObjectOutcome, ReplayRequest, RescindRef, TargetState,
};
use revoke_shared::metrics::VerifierNote;
use serde_json::Value;
use uuid::Uuid;

/// How far ahead of the verifier's clock a request may be dated (clocks differ a little).
const FUTURE_SKEW_SECS: i64 = 60;

impl Verifier {
    pub(super) fn on_replay_request(
        &mut self,
        req: &ReplayRequest,
        raw: &Value,
        closed: Option<&Case>,
        now: DateTime<Utc>,
    ) -> Vec<Effect> {
        let mut case = match self.replay_case_for(req, raw, closed, now) {
            Ok(case) => case,
            Err((reason, detail)) => return vec![Effect::Refuse { reason, detail }],
        };
        let mut effects = vec![Effect::Note {
            case_id: Some(case.case_id),
            identity_id: case.identity_id.clone(),
            what: VerifierNote::ReplayOpened,
        }];
        if self.policy.guard.enabled {
            // Like a new termination: nothing reaches the workers before the guard's verdict.
            self.ask_guard(&mut case, now, &mut effects);
        } else {
            self.release(&mut case, now, &mut effects);
        }
        self.publish(case, now, effects)
    }

    /// The replay case `req` opens, or why it opens none (pure: nothing changes here).
    fn replay_case_for(
        &self,
        req: &ReplayRequest,
        raw: &Value,
        closed: Option<&Case>,
        now: DateTime<Utc>,
    ) -> Result<Case, Skip> {
        let what = format!("replay request {} for case {}", req.replay_id, req.case_id);
        // Forged, unsigned (with signing required), not the person's, or without the role.
        let authenticity = revoke_shared::signing::check_decision(
            raw,
            &req.by,
            Role::Approver,
            &self.roster.people,
            self.roster.signing_required,
        )
        .map_err(|e| (e.reason(), format!("{what}: {e}")))?;
        let age = now - req.at;
        if age > Duration::seconds(self.policy.replay_max_age_secs as i64)
            || -age > Duration::seconds(FUTURE_SKEW_SECS)
        {
            return Err((
                "replay_request_stale",
                format!(
                    "{what} was made at {}, {} s from the verifier's clock (it takes requests up to verifier.replay_max_age_secs = {} s old): run `revoke replay` again",
                    req.at.to_rfc3339(),
                    age.num_seconds(),
                    self.policy.replay_max_age_secs
                ),
            ));
        }
        let id = req.replay_case_id();
        if self.cases.contains(&id) {
            return Err((
                "replay_request_replayed",
                format!("{what} was already taken (its replay case {id} exists): the same request again re-drives nothing"),
            ));
        }
        let original = self.known_case(&req.case_id, closed)?;
        if original.identity_id != req.identity_id {
            return Err((
                "identity_mismatch",
                format!(
                    "{what} names identity {}, but the case is {}'s",
                    req.identity_id, original.identity_id
                ),
            ));
        }
        let in_progress = self.live_ids(|c| replay_in_progress(c, original.case_id));
        let running = in_progress.first().and_then(|id| self.case(id));
        let plan = judge(original, &req.targets, running, &self.policy, now)?;
        let mut case = self.new_case(id, &original.identity_id, now);
        case.identity = original.identity.clone();
        case.event_id = original.event_id.clone();
        case.source = original.source.clone();
        case.reason = original.reason.clone();
        case.requested_by = original.requested_by.clone();
        case.approved_by = original.approved_by.clone();
        case.effective_at = original.effective_at;
        case.hr_time = original.hr_time;
        case.required_targets = plan.targets.clone();
        case.targets = plan
            .targets
            .iter()
            .map(|t| (*t, revoke_shared::contract::TargetStatus::pending()))
            .collect();
        case.replay = Some(Box::new(CaseReplay {
            of_case: original.case_id,
            of_state: original.state,
            of_closed_at: original.closed_at,
            skipped: plan.skipped,
            authenticity,
            request: req.clone(),
        }));
        case.state = CaseState::Open;
        Ok(case)
    }

    /// What a report on a replay case adds beyond its own target status: access that came back
    /// after the replayed case closed is escalated; a verified report counts for the replayed
    /// case too while that one is live and its target not verified. `case` is the replay case,
    /// its status for `c` already recorded.
    pub(super) fn replay_report(
        &mut self,
        case: &mut Case,
        c: &Confirmation,
        now: DateTime<Utc>,
        effects: &mut Vec<Effect>,
    ) -> Vec<Effect> {
        let Some(replay) = case.replay.as_deref() else {
            return Vec::new();
        };
        let kind = c.target.kind;
        let of_case = replay.of_case;
        let returned: Vec<String> = c
            .objects
            .iter()
            .filter(|o| o.outcome == ObjectOutcome::Revoked)
            .map(|o| format!("{} {}", o.object_kind, o.object_id))
            .collect();
        if let (Some(closed_at), false) = (replay.of_closed_at, returned.is_empty()) {
            let reason = EscalationReason::AccessReturned;
            let id = Escalation::id_for(case.case_id, reason, &[kind]);
            if !case.escalations.iter().any(|e| e.escalation_id == id) {
                let detail = format!(
                    "replay {} by {} found access on {kind} ({}) after case {of_case} had closed at {}: {} removed again by this replay{}; find out who gave it back",
                    replay.request.replay_id,
                    replay.request.by,
                    c.target.instance,
                    closed_at.to_rfc3339(),
                    returned.join(", "),
                    if c.is_verified() { " (verified)" } else { " (not verified: see the target's evidence)" },
                );
                let r = Raise {
                    reason,
                    targets: vec![kind],
                    level: 0,
                    owner: self.policy.owner_of(Some(kind)),
                    detail,
                };
                raise_as(case, id, r, now, effects);
            }
        }
        if case.targets.get(&kind).map(|s| s.state) == Some(TargetState::Done) {
            return self.forward_to_replayed(of_case, c, now);
        }
        Vec::new()
    }

    /// A replay's verified report for a target of the live case it replays, which that case
    /// has not verified: it becomes the target's status there (the failed or unverified report
    /// it replaces stays in its history), so a case whose target was fixed and replayed closes.
    fn forward_to_replayed(
        &mut self,
        of_case: Uuid,
        c: &Confirmation,
        now: DateTime<Utc>,
    ) -> Vec<Effect> {
        let kind = c.target.kind;
        let Some(mut case) = self.take_waiting(&of_case, |o| {
            matches!(o.state, CaseState::Open | CaseState::Escalated)
                && !super::finding::reopened_by_finding(o)
                && o.required_targets.contains(&kind)
                && o.targets
                    .get(&kind)
                    .is_some_and(|s| s.state != TargetState::Done)
        }) else {
            return Vec::new();
        };
        let what = format!("the {kind} report {} of a replay", c.confirmation_id);
        if super::review::before_rejection(&case, c.finished_at, &what).is_some() {
            self.put(of_case, Slot::Live(Box::new(case)));
            return Vec::new();
        }
        let old = case.targets.remove(&kind);
        let redrives = old.as_ref().map_or(0, |s| s.redrives);
        let mut status = status_of(c, &self.policy).replacing(old);
        status.redrives = redrives;
        recompute_time_to_revoke(&mut status, case.effective_at);
        case.targets.insert(kind, status);
        let mut effects = Vec::new();
        self.evaluate(&mut case, now, &mut effects);
        self.publish(case, now, effects)
    }

    /// After the rescind `ev` made case `of_case` rescinded: its replays under way end too. One
    /// that has not reached the workers is cancelled; one that has asks to give back what it
    /// revoked (through the guard, like the case itself). Closed replays stay as they are: the
    /// replayed case's restore gives back the same objects.
    pub(super) fn rescind_replays(
        &mut self,
        of_case: Uuid,
        ev: &HrEvent,
        now: DateTime<Utc>,
    ) -> Vec<Effect> {
        let live = self.live_ids(|c| {
            c.replay.as_ref().is_some_and(|r| r.of_case == of_case)
                && !matches!(
                    c.state,
                    CaseState::Closed | CaseState::Rescinded | CaseState::Rejected
                )
        });
        let mut out = Vec::new();
        for id in live {
            let Some(mut case) = self.take_live(&id) else {
                continue;
            };
            let by = ev
                .data
                .requested_by
                .clone()
                .unwrap_or_else(|| ev.source.clone());
            case.rescinded_by = Some(by.clone());
            case.rescind = Some(Box::new(RescindRef {
                source: ev.source.clone(),
                event_id: ev.id.clone(),
                time: ev.time,
                by,
                applied_at: now,
            }));
            let acted = !matches!(case.state, CaseState::Admitting | CaseState::Held);
            case.state = CaseState::Rescinded;
            let mut effects = vec![Effect::Note {
                case_id: Some(id),
                identity_id: case.identity_id.clone(),
                what: VerifierNote::ReplayRescinded,
            }];
            if acted {
                self.ask_restores(&mut case, now, &mut effects);
            }
            out.extend(self.publish(case, now, effects));
        }
        out
    }
}
