//! Which cases a replay covers and what it does to each (pure): the terminations recorded in
//! the range (optionally one identity's), each resolved to the case that holds it — its own
//! case, or the live case it joined —, one entry per case, judged by the verifier's replay rules.

use crate::cases::CaseLog;
use crate::verifier::replay_rules::{judge, replay_in_progress, ReplayPlan, Skip};
use chrono::{DateTime, Utc};
use revoke_shared::config::VerifierConfig;
use revoke_shared::contract::{case_id_for, Case, HrEvent, HrEventKind, TargetKind};
use uuid::Uuid;

/// An HR event and when it was recorded on the terminations topic.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub event: HrEvent,
    pub recorded_at: DateTime<Utc>,
}

/// What `revoke replay` was asked for.
#[derive(Debug, Clone, Default)]
pub struct Ask {
    /// Only this identity's terminations.
    pub identity: Option<String>,
    /// The targets to run again (empty: every target each case required).
    pub targets: Vec<TargetKind>,
}

/// One case the range touches (or one termination no case holds).
#[derive(Debug, Clone)]
pub struct Candidate<'a> {
    pub identity_id: String,
    /// The terminations in the range this case holds: (source, id, recorded at).
    pub terminations: Vec<(String, String, DateTime<Utc>)>,
    /// The case holding them, as the cases topic has it (none: no case holds the termination).
    pub case: Option<&'a Case>,
    /// What a replay does: re-drive through these targets, or skip and why.
    pub decision: Result<ReplayPlan, Skip>,
}

impl Candidate<'_> {
    pub fn case_id(&self) -> Option<Uuid> {
        self.case.map(|c| c.case_id)
    }
}

/// The cases the terminations `recorded` (already within the range) touch, in the order their
/// first termination was recorded, each with what a replay asked as `ask` does at `now`.
pub fn select<'a>(
    recorded: &[Recorded],
    log: &'a CaseLog,
    ask: &Ask,
    policy: &VerifierConfig,
    now: DateTime<Utc>,
) -> Vec<Candidate<'a>> {
    // The replays under way, by the case they replay (one pass, not one per case).
    let running: std::collections::HashMap<Uuid, &Case> = log
        .latest
        .values()
        .filter_map(|x| {
            let of = x.replay.as_ref()?.of_case;
            replay_in_progress(x, of).then_some((of, x))
        })
        .collect();
    let mut out: Vec<Candidate<'a>> = Vec::new();
    for r in recorded {
        let ev = &r.event;
        if ev.kind != HrEventKind::Termination
            || ask.identity.as_deref().is_some_and(|i| i != ev.subject)
        {
            continue;
        }
        let term = (ev.source.clone(), ev.id.clone(), r.recorded_at);
        let case = holding_case(log, ev);
        if let Some(c) = case {
            if let Some(seen) = out.iter_mut().find(|x| x.case_id() == Some(c.case_id)) {
                seen.terminations.push(term);
                continue;
            }
        }
        let decision = match case {
            Some(c) => judge(
                c,
                &ask.targets,
                running.get(&c.case_id).copied(),
                policy,
                now,
            ),
            None => Err((
                "replay_no_case",
                format!(
                    "termination {} from {} has no case on the cases topic (dead-lettered when it arrived, or not handled yet): nothing to re-drive",
                    ev.id, ev.source
                ),
            )),
        };
        out.push(Candidate {
            identity_id: ev.subject.clone(),
            terminations: vec![term],
            case,
            decision,
        });
    }
    out
}

/// The case holding termination `ev`: its own, or the case of the same person it joined.
fn holding_case<'a>(log: &'a CaseLog, ev: &HrEvent) -> Option<&'a Case> {
    let own = case_id_for(&ev.source, &ev.id);
    log.latest.get(&own).or_else(|| {
        log.latest.values().find(|c| {
            c.identity_id == ev.subject
                && c.joined
                    .iter()
                    .any(|j| j.source == ev.source && j.event_id == ev.id)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verifier::tests::kit::{
        self, at, open_and_close, policy, rescind, termination, Directory, Saas,
    };
    use revoke_shared::contract::{CaseState, JoinedTermination};

    fn recorded(ev: &HrEvent, secs: i64) -> Recorded {
        Recorded {
            event: ev.clone(),
            recorded_at: at(secs),
        }
    }

    #[test]
    fn each_case_once_with_its_terminations_and_what_a_replay_does() {
        let mut v = kit::verifier();
        let (e1, c1) = open_and_close(&mut v, "E1", "evt-1");
        let (e2, mut c2) = open_and_close(&mut v, "E2", "evt-2");
        c2.state = CaseState::Rescinded;
        c2.rescinded_by = Some("hr:dave".into());
        // E1's second termination joined E1's case; E3's was never turned into a case.
        let mut again = termination("E1", "evt-1b", at(0));
        again.time = at(5);
        let mut c1 = c1;
        c1.joined.push(JoinedTermination {
            source: again.source.clone(),
            event_id: again.id.clone(),
            time: again.time,
            effective_at: again.data.effective_at,
            joined_at: at(5),
            rescind: None,
        });
        let e3 = termination("E3", "evt-3", at(0));
        let mut log = CaseLog::default();
        log.ingest(c1.clone());
        log.ingest(c2.clone());
        let rescinded = rescind("E2", "rsc-2", Some("evt-2"));
        let records = [
            recorded(&e1, 1),
            recorded(&e2, 2),
            recorded(&again, 3),
            recorded(&e3, 4),
            recorded(&rescinded, 5),
        ];
        let ask = Ask {
            identity: None,
            targets: vec![Directory, Saas],
        };
        let got = select(&records, &log, &ask, &policy(), at(100));
        assert_eq!(got.len(), 3, "a rescind is not a termination: {got:?}");
        assert_eq!(got[0].case_id(), Some(c1.case_id));
        assert_eq!(
            got[0].terminations.len(),
            2,
            "the joined one counts for its case"
        );
        assert_eq!(
            got[0].decision.as_ref().unwrap().targets,
            vec![Directory, Saas]
        );
        assert_eq!(got[1].case_id(), Some(c2.case_id));
        assert_eq!(
            got[1].decision.as_ref().unwrap_err().0,
            "replay_case_rescinded"
        );
        assert_eq!(got[2].case_id(), None);
        assert_eq!(got[2].decision.as_ref().unwrap_err().0, "replay_no_case");
        // One identity only.
        let only = Ask {
            identity: Some("E2".into()),
            ..ask.clone()
        };
        let got = select(&records, &log, &only, &policy(), at(100));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].identity_id, "E2");
        // A replay of E1's case still held by the guard: E1 waits (one replay at a time).
        let mut held = c1.clone();
        held.case_id = Uuid::from_u128(77);
        held.state = CaseState::Held;
        held.replay = Some(Box::new(revoke_shared::contract::CaseReplay {
            of_case: c1.case_id,
            of_state: CaseState::Closed,
            of_closed_at: c1.closed_at,
            skipped: Vec::new(),
            authenticity: revoke_shared::contract::Authenticity::Unauthenticated,
            request: revoke_shared::contract::ReplayRequest {
                schema: revoke_shared::contract::REPLAY_REQUEST_SCHEMA.into(),
                replay_id: Uuid::from_u128(1),
                case_id: c1.case_id,
                identity_id: "E1".into(),
                targets: Vec::new(),
                from: at(0),
                to: at(10),
                by: "alice".into(),
                at: at(20),
                note: None,
                signature: None,
            },
        }));
        log.ingest(held);
        let got = select(&records, &log, &ask, &policy(), at(100));
        assert_eq!(
            got[0].decision.as_ref().unwrap_err().0,
            "replay_in_progress"
        );
    }
}
