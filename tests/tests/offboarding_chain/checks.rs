//! What the test reads back: the receiver's accepted SETs, the case's delivery record, the
//! findings and escalations on their topics — and that none of it is about anyone but the
//! leaver (the look-alike bystander above all).

use crate::peers::Person;
use crate::RECEIVER;
use revoke_shared::contract::{AccessFinding, Case, Escalation};
use revoke_tests::ssf_receiver::{event_type, Rx, VERIFICATION};
use revoke_tests::TestEnv;
use serde_json::Value;
use std::collections::BTreeSet;

/// The receiver's accepted SETs, verifications left out.
pub fn sets(rx: &Rx) -> Vec<Value> {
    rx.accepted()
        .into_iter()
        .filter(|a| a["claims"]["events"].get(VERIFICATION).is_none())
        .collect()
}

pub fn jtis(sets: &[Value]) -> BTreeSet<String> {
    sets.iter()
        .map(|a| a["claims"]["jti"].as_str().unwrap().to_string())
        .collect()
}

/// The jtis the case records as accepted by `RECEIVER` (the verifier folded the deliveries).
pub fn recorded_jtis(case: &Case) -> BTreeSet<String> {
    case.signals
        .iter()
        .filter(|d| d.receiver == RECEIVER)
        .flat_map(|d| d.sets.iter().filter(|s| s.delivered_at.is_some()))
        .map(|s| s.jti.clone())
        .collect()
}

/// The `event_timestamp` of an accepted SET's one event.
pub fn event_timestamp(set: &Value) -> Option<i64> {
    set["claims"]["events"][event_type(set)]["event_timestamp"].as_i64()
}

/// The access findings on `revoke.confirmations`.
pub async fn findings(env: &TestEnv) -> Vec<AccessFinding> {
    env.read_raw(&env.cfg.topics.confirmations)
        .await
        .into_iter()
        .filter_map(|r| serde_json::from_slice::<AccessFinding>(&r.payload?).ok())
        .collect()
}

/// Every case, finding, escalation and SET so far is the leaver's case's; none names the
/// bystander.
pub async fn only_the_leaver(
    env: &TestEnv,
    rx: &Rx,
    case_id: uuid::Uuid,
    leaver: &Person,
    bystander: &Person,
) {
    let log = env.case_log().await;
    assert_eq!(
        log.latest.keys().collect::<Vec<_>>(),
        vec![&case_id],
        "a case for someone else (the bystander is {})",
        bystander.employee_id
    );
    let all = sets(rx);
    assert!(
        all.iter()
            .all(|a| a["claims"]["sub_id"]["email"] == leaver.email.as_str()
                && a["claims"]["txn"] == case_id.to_string().as_str()),
        "a SET about someone else (the bystander is {}): {all:#?}",
        bystander.email
    );
    let found = findings(env).await;
    assert!(
        found
            .iter()
            .all(|f| f.case_id == case_id && f.identity_id == leaver.employee_id),
        "a finding about someone else (the bystander is {}): {found:#?}",
        bystander.employee_id
    );
    let escalations: Vec<Escalation> = env.read_json(&env.cfg.topics.escalations).await;
    assert!(
        escalations
            .iter()
            .all(|e| e.case_id == case_id && e.identity_id == leaver.employee_id),
        "an escalation about someone else (the bystander is {}): {escalations:#?}",
        bystander.employee_id
    );
}
