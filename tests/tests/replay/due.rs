//! Phase 6b: the due topic, where a replay reaches the workers. Its `revoke_replay` header is
//! covered by the fleet signature, so a record that anyone with write access publishes there —
//! a genuine replay's due record with the header pointed at another replay, the same record
//! without the fleet's signature, or with its genuine signature and the header stripped — is
//! refused by every worker group and changes nothing at the peer (checked with a bind at slapd,
//! not through our adapter).

use crate::world::World;
use revoke_shared::contract::{DeadLetter, REPLAY_HEADER};
use revoke_shared::signing::FLEET_SIGNATURE_HEADER;
use std::time::{Duration, Instant};

/// The newest record on the due topic keyed by `key` that carries the replay header.
async fn genuine_replay_due(w: &World<'_>, key: &str) -> revoke_shared::kafka::ReadRecord {
    w.env
        .read_raw(&w.cfg.topics.due)
        .await
        .into_iter()
        .rev()
        .find(|r| {
            r.key.as_deref() == Some(key.as_bytes())
                && r.headers.iter().any(|(n, _)| n == REPLAY_HEADER)
        })
        .expect("the earlier replay of leaver 0 left a due record with the replay header")
}

/// The due record's headers as text, the replay header set to `replay` (dropped when `None`)
/// and the fleet signature kept or dropped.
fn headers_with(
    r: &revoke_shared::kafka::ReadRecord,
    replay: Option<&str>,
    signed: bool,
) -> Vec<(String, String)> {
    r.headers
        .iter()
        .filter(|(n, _)| signed || n != FLEET_SIGNATURE_HEADER)
        .filter_map(|(n, v)| {
            let v = if n == REPLAY_HEADER {
                replay?.to_string()
            } else {
                String::from_utf8_lossy(v).into_owned()
            };
            Some((n.clone(), v))
        })
        .collect()
}

/// Dead letters of the due topic keyed by `key`, once `n` are there (and 3 s more, so that a
/// duplicate would show).
async fn due_letters(w: &World<'_>, key: &str, n: usize) -> Vec<DeadLetter> {
    use base64::Engine;
    let key = base64::engine::general_purpose::STANDARD.encode(key);
    let pick = |all: Vec<DeadLetter>| -> Vec<DeadLetter> {
        all.into_iter()
            .filter(|l| l.source_topic == w.cfg.topics.due && l.key_base64.as_deref() == Some(&key))
            .collect()
    };
    let deadline = Instant::now() + crate::world::WAIT;
    while pick(w.env.read_json(&w.cfg.topics.dlq).await).len() < n && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    pick(w.env.read_json(&w.cfg.topics.dlq).await)
}

/// Leaver 0 (given their access back by hand in the phase before) keeps it through three forged
/// due records: the genuine replay record re-pointed at a made-up replay, the same unsigned, and
/// the genuine one with its replay mark stripped. Each worker group dead-letters each once, with
/// its reason.
pub async fn forged_due_records_change_nothing(w: &World<'_>) {
    let p0 = &w.people[0];
    assert!(w.directory.binds(p0).await, "leaver 0 binds before");
    let before = w.env.case_log().await;
    let genuine = genuine_replay_due(w, &p0.employee_id).await;
    let payload = genuine.payload.clone().expect("a due record has a payload");
    let other = uuid::Uuid::new_v4().to_string();
    // Re-pointed at another replay (signed), the same unsigned, and the genuine signature with
    // the replay mark stripped (it would pass for an ordinary due record).
    let forged = [
        (Some(other.as_str()), true),
        (Some(other.as_str()), false),
        (None, true),
    ];
    for (replay, signed) in forged {
        let headers = headers_with(&genuine, replay, signed);
        let headers: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        w.env
            .publish_raw_to(&w.cfg.topics.due, Some(&p0.employee_id), &payload, &headers)
            .await;
    }
    let groups = crate::world::KINDS.len();
    let letters = due_letters(w, &p0.employee_id, 3 * groups).await;
    let mut reasons: Vec<&str> = letters.iter().map(|l| l.reason.as_str()).collect();
    reasons.sort();
    let mut expected = vec!["bad_signature"; 2 * groups];
    expected.extend(vec!["unsigned"; groups]);
    assert_eq!(reasons, expected, "{letters:?}");
    assert!(
        w.directory.binds(p0).await,
        "a forged due record locked leaver 0 at slapd"
    );
    assert!(
        w.scim.active(p0).await,
        "a forged due record deactivated leaver 0 at the SCIM server"
    );
    let after = w.env.case_log().await;
    assert_eq!(
        World::replays_of(&after, w.case_id(0)).len(),
        World::replays_of(&before, w.case_id(0)).len(),
        "a forged due record opened or touched a replay case"
    );
}
