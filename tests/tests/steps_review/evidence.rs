//! The evidence of case B through the `revoke` binary: three people's signed decisions — alice's
//! approval of its held batch (a record on the guard log, which the case names only by digest),
//! carol's attestation of the step and rita's review (embedded in the case) — verify online
//! and in an exported packet offline; the approval edited in the packet, or dropped from it, is
//! named and fails.

use super::kit::*;
use revoke::evidence::keys::TrustedKeys;
use revoke_shared::contract::Case;
use revoke_shared::signing::record_digest;
use serde_json::Value;

/// `approval` is the signed decision record as published on the guard log.
pub fn verify_the_evidence_of(
    env: &revoke_tests::TestEnv,
    keys: &Keys,
    b: &Case,
    approval: &Value,
) {
    let id = b.case_id.to_string();
    let g = b.guard.as_deref().expect("B was held");
    let batch = g.batch.clone().unwrap();
    assert_eq!(
        g.decision_digest.as_deref(),
        Some(record_digest(approval).as_str()),
        "the case names alice's approval as logged"
    );
    let counted = "decisions: 3 verified (1 from the guard log)";

    // Online: the cases topic and the guard log, keys from the config.
    says(
        &revoke_cli(env, keys, &["case", &id, "--verify"]),
        0,
        &[counted, "evidence verified: 1 case"],
    );

    // The packet, with the approval as logged on the guard topic.
    let file = keys.write("packet.json", "");
    let path = file.to_str().unwrap();
    says(
        &revoke_cli(env, keys, &["evidence", "export", &id, "--out", path]),
        0,
        &["1 guard log decisions"],
    );
    // Offline: the packet alone, then with the published keys pinned.
    says(
        &revoke_offline(&["evidence", "verify", path]),
        0,
        &[counted, "evidence packet verified"],
    );
    let text = std::fs::read_to_string(&file).unwrap();
    let packet: Value = serde_json::from_str(&text).unwrap();
    let logged = &packet["guard_decisions"][0];
    assert_eq!(&logged["record"], approval, "the record exactly as logged");
    assert_eq!(logged["topic"], env.cfg.topics.guard.as_str());
    let at = format!(
        "{}/0@{}",
        env.cfg.topics.guard,
        logged["offset"].as_i64().unwrap()
    );

    let published = TrustedKeys::from_config(&env.cfg).unwrap().entries();
    let pinned = keys.write("keys.json", &serde_json::to_string(&published).unwrap());
    says(
        &revoke_offline(&[
            "evidence",
            "verify",
            path,
            "--keys",
            pinned.to_str().unwrap(),
        ]),
        0,
        &[counted, "only the pinned public keys"],
    );

    // The approval edited in the packet: its person, or one byte of its note.
    let approval_of = format!("approval of batch {batch} by alice");
    let edited = |name: &str, edit: &dyn Fn(&mut Value)| {
        let mut p = packet.clone();
        edit(&mut p["guard_decisions"][0]["record"]);
        let f = keys.write(name, &serde_json::to_string_pretty(&p).unwrap());
        revoke_offline(&["evidence", "verify", f.to_str().unwrap()])
    };
    let out = edited("by.json", &|r| r["by"] = "ian".into());
    says(
        &out,
        1,
        &[
            "ALTERED",
            &at,
            &approval_of,
            "now: approve by \"ian\"",
            "FAILED",
        ],
    );
    let out = edited("note.json", &|r| {
        r["note"] = r["note"].as_str().unwrap().replacen('d', "D", 1).into()
    });
    says(
        &out,
        1,
        &["ALTERED", &at, &approval_of, "changed after it was logged"],
    );

    // The approval dropped from the packet: the decision the case names is missing.
    let mut p = packet.clone();
    p["guard_decisions"] = Value::Array(Vec::new());
    let f = keys.write("dropped.json", &serde_json::to_string_pretty(&p).unwrap());
    let out = revoke_offline(&["evidence", "verify", f.to_str().unwrap()]);
    says(
        &out,
        1,
        &["REMOVED", &approval_of, "is not in the packet", "FAILED"],
    );
}
