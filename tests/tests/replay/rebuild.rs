//! `revoke cases rebuild --check` after everything above: equal, then — a tampered version of a
//! case published on the cases topic — the case and the field named, exit 3.

use crate::world::{expect_exit, World};
use revoke_shared::contract::{Case, TargetKind, CASE_SCHEMA};
use revoke_shared::kafka::Producer;
use std::time::Duration;

pub async fn healthy_then_tampered(w: &World<'_>) {
    // Quiet first: every case final, nothing in flight.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let out = expect_exit(
        &w.revoke(&["cases", "rebuild", "--check"]),
        0,
        "cases rebuild --check",
    );
    assert!(out.contains(", 0 different"), "{out}");
    let json = expect_exit(
        &w.revoke(&["cases", "rebuild", "--check", "--json"]),
        0,
        "cases rebuild --check --json",
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["equal"], true);
    // Six leavers, two replays of leaver 0, five in the burst.
    assert_eq!(v["cases_on_topic"], 13, "{v:#}");

    // Leaver 1's case as the topic holds it, re-published with its directory evidence changed:
    // a version nobody's input made.
    let c1 = w.case_id(1);
    let (partition, mut case) = latest_record(w, c1).await;
    case.revision += 1;
    case.targets
        .get_mut(&TargetKind::Directory)
        .unwrap()
        .objects[0]
        .read_back = "locked (edited afterwards)".into();
    let producer = Producer::with_timeout(&w.cfg, Duration::from_secs(30)).unwrap();
    producer
        .send_bytes(
            &w.cfg.topics.cases,
            &c1.to_string(),
            &serde_json::to_vec(&case).unwrap(),
            &[],
            Some(partition),
        )
        .await
        .expect("publish the tampered version");
    let out = expect_exit(
        &w.revoke(&["cases", "rebuild", "--check"]),
        3,
        "cases rebuild --check (tampered)",
    );
    assert!(out.contains(&format!("case {c1}")), "{out}");
    assert!(
        out.contains("targets.directory.objects[0].read_back: expected")
            && out.contains("locked (edited afterwards)"),
        "{out}"
    );
    assert!(out.contains(", 1 different"), "{out}");
}

/// The last record of case `id` on the cases topic, and its partition.
async fn latest_record(w: &World<'_>, id: uuid::Uuid) -> (i32, Case) {
    w.env
        .read_raw(&w.cfg.topics.cases)
        .await
        .into_iter()
        .filter_map(|r| {
            let c: Case = serde_json::from_slice(r.payload.as_deref()?).ok()?;
            (c.schema == CASE_SCHEMA && c.case_id == id).then_some((r.partition, r.offset, c))
        })
        .max_by_key(|(_, offset, _)| *offset)
        .map(|(p, _, c)| (p, c))
        .expect("the case on the cases topic")
}
