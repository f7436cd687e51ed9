//! Replay requests as an attacker with write access to the confirmations topic makes them
//! (unsigned, signed with the wrong key, by someone without the role, copied from the topic),
//! and a held batch approved with the real commands (`revoke guard --json`, `revoke approve`).

use crate::world::{expect_exit, World, ALICE};
use revoke_shared::contract::{
    Case, ReplayRequest, TargetKind, REPLAY_REQUEST_SCHEMA, REPLAY_REQUEST_SCHEMA as SCHEMA,
};
use revoke_shared::signing::RecordSigner;
use uuid::Uuid;

fn request(case: &Case, by: &str, targets: &[TargetKind]) -> ReplayRequest {
    ReplayRequest {
        schema: REPLAY_REQUEST_SCHEMA.into(),
        replay_id: Uuid::new_v4(),
        case_id: case.case_id,
        identity_id: case.identity_id.clone(),
        targets: targets.to_vec(),
        from: chrono::Utc::now() - chrono::Duration::hours(1),
        to: chrono::Utc::now(),
        by: by.into(),
        at: chrono::Utc::now(),
        note: Some("written by hand".into()),
        signature: None,
    }
}

/// A request in `by`'s name, signed with the key `seed` (as `by`).
pub fn signed_request(case: &Case, by: &str, seed: &[u8; 32], targets: &[TargetKind]) -> Vec<u8> {
    let v = RecordSigner::from_seed(by, seed)
        .sign(&request(case, by, targets))
        .unwrap();
    serde_json::to_vec(&v).unwrap()
}

/// A request in `by`'s name, not signed at all.
pub fn unsigned_request(case: &Case, by: &str) -> Vec<u8> {
    serde_json::to_vec(&request(case, by, &[])).unwrap()
}

/// The bytes of the request that opened replay case `rc`, exactly as the command published it.
pub async fn logged_request(w: &World<'_>, rc: &Case) -> Vec<u8> {
    let replay_id = rc.replay.as_ref().unwrap().request.replay_id;
    let of = rc.replay.as_ref().unwrap().of_case;
    w.env
        .read_raw(&w.cfg.topics.confirmations)
        .await
        .into_iter()
        .filter_map(|r| r.payload)
        .find(|p| {
            serde_json::from_slice::<ReplayRequest>(p)
                .is_ok_and(|q| q.schema == SCHEMA && q.replay_id == replay_id && q.case_id == of)
        })
        .expect("the request on the confirmations topic")
}

/// Alice approves, with the commands an operator runs, the held batch holding `case`.
pub async fn approve(w: &World<'_>, case: Uuid) {
    let out = expect_exit(&w.revoke(&["guard", "--json"]), 0, "guard --json");
    let batch: serde_json::Value = out
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|b| {
            b["digest"].is_string()
                && b["cases"]
                    .as_array()
                    .is_some_and(|c| c.iter().any(|x| x["case_id"] == case.to_string()))
        })
        .unwrap_or_else(|| panic!("no undecided batch holds {case}: {out}"));
    let key = w.key_file("alice", &ALICE);
    let id = batch["batch"].as_str().unwrap();
    let digest = batch["digest"].as_str().unwrap();
    let args = [
        "approve",
        id,
        "--digest",
        digest,
        "--by",
        "alice",
        "--key-file",
        &key,
        "--note",
        "INC-42: the replay is intended",
    ];
    expect_exit(&w.revoke(&args), 0, &args.join(" "));
}
