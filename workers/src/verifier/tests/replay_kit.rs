//! What the replay tests share: the people (alice approves, carol attests), a verifier that
//! takes replay requests, requests as `revoke replay` publishes them (signed by whom the test
//! says), the reports of a replay's run, and a closed case to replay.

pub use super::decision_kit::*;
pub use revoke_shared::contract::{
    replay_case_id, GuardEntry, ReplayRequest, REPLAY_REQUEST_SCHEMA,
};

/// The people of `decision_kit` (alice approves, carol attests, mallory reviews), signing
/// required, and no steps: cases close on their targets alone.
pub fn people() -> Roster {
    Roster {
        steps: BTreeMap::new(),
        ..roster()
    }
}

pub fn replaying(policy: VerifierConfig) -> Verifier {
    Verifier::new(policy).with_roster(people())
}

/// `by`'s request to replay `case` through `targets` (empty: all), made at `secs`, signed by
/// `signer` (none: unsigned).
pub fn request(
    case: &Case,
    targets: &[TargetKind],
    by: &str,
    signer: Option<&str>,
    secs: i64,
) -> (ReplayRequest, Value) {
    let r = ReplayRequest {
        schema: REPLAY_REQUEST_SCHEMA.into(),
        replay_id: Uuid::new_v5(&case.case_id, format!("{by}/{secs}").as_bytes()),
        case_id: case.case_id,
        identity_id: case.identity_id.clone(),
        targets: targets.to_vec(),
        from: at(-60),
        to: at(60),
        by: by.into(),
        at: at(secs),
        note: Some("LDAP was restored from a backup".into()),
        signature: None,
    };
    sign(r, signer)
}

pub fn replay(
    v: &mut Verifier,
    r: &(ReplayRequest, Value),
    closed: Option<&Case>,
    secs: i64,
) -> Vec<Effect> {
    v.apply(Input::Replay(&r.0, &r.1, closed), at(secs))
}

/// The re-drives in `effects`: (target, n, replay).
pub fn runs(effects: &[Effect]) -> Vec<(TargetKind, u32, Option<Uuid>)> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Redrive {
                target, n, replay, ..
            } => Some((*target, *n, *replay)),
            _ => None,
        })
        .collect()
}

/// The report of `target`'s run for replay `r` of `ev`'s case.
pub fn replay_report(
    ev: &HrEvent,
    r: &ReplayRequest,
    target: TargetKind,
    outcome: Outcome,
    secs: i64,
) -> Confirmation {
    let mut c = confirmation(ev, target, outcome, true, at(secs));
    c.case_id = r.replay_case_id();
    c.replay = Some(r.replay_id);
    c
}

/// E1's case closed with every target verified; returns the event and its closing record.
pub fn closed(v: &mut Verifier) -> (HrEvent, Case) {
    let (ev, case) = open_and_close(v, "E1", "evt-1");
    assert_eq!(case.state, CaseState::Closed);
    (ev, case)
}
