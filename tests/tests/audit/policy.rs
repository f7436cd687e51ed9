//! An attestation the policy does not accept leaves the case open.

use super::*;

/// `verifier.attestation_allowed` without `cloud`: a person's acknowledgement of the cloud step is
/// recorded on the broker as `attested` (never verified), but the target stays `unverified` and
/// the case does not close; `revoke case` and the report say so.
#[test]
fn an_attestation_the_policy_does_not_accept_leaves_the_case_open() {
    let mut env = env_with_owners("audit-attest");
    env.cfg.verifier.attestation_allowed = vec![TargetKind::Directory, TargetKind::Saas];
    env.block_on(async {
        let metrics = Metrics::new();
        let health = Health::new();
        let (_events, id, fleet) = publish_with_ambiguous_cloud(&env, &metrics, &health, 1).await;
        wait_in_state(&env, id, CaseState::Escalated).await;

        let by = "dave@example.com";
        ack(
            &env,
            ack_args(&id.to_string(), TargetKind::Cloud, by, "checked by hand", None),
        )
        .await
        .unwrap();
        // The verifier has taken the acknowledgement once the cloud target shows it.
        let attested = |l: &CaseLog| {
            l.latest.get(&id).is_some_and(|c| {
                c.targets
                    .get(&TargetKind::Cloud)
                    .is_some_and(|s| s.objects.iter().any(|o| o.actor.principal == by))
            })
        };
        let log = env.wait_cases(WAIT, attested).await;
        assert!(attested(&log), "{}", describe(&log, &[id]));
        let case = &log.latest[&id];
        assert_eq!(case.state, CaseState::Escalated, "the case must not close");
        assert_eq!(log.closed_versions.get(&id), None, "never published closed");
        assert_eq!(case.targets[&TargetKind::Cloud].state, TargetState::Unverified);

        // On the broker, as written: attested, not verified; the case not closed.
        let raw: Vec<serde_json::Value> = env.read_json(&env.cfg.topics.cases).await;
        assert!(raw
            .iter()
            .filter(|c| c["case_id"] == id.to_string())
            .all(|c| c["state"] != "closed"));
        let last = raw
            .iter()
            .rfind(|c| c["case_id"] == id.to_string())
            .unwrap();
        let cloud = &last["targets"]["cloud"];
        assert_eq!(cloud["state"], "unverified", "{last}");
        assert_eq!(
            (&cloud["objects"][0]["provenance"], &cloud["objects"][0]["verified"]),
            (&"attested".into(), &false.into()),
            "{last}"
        );

        let shown = revoke::cases::render(case);
        for needle in [
            "target cloud: unverified",
            "attested by dave@example.com (not verified); attestation does not close cloud targets (verifier.attestation_allowed)",
            "targets: 4 of 5 required done",
            "cloud attested by dave@example.com but not verified",
        ] {
            assert!(shown.contains(needle), "lacks {needle:?}:\n{shown}");
        }
        let row = report::Row::from_case(case);
        assert_eq!(row.targets[&TargetKind::Cloud].provenance, "attested");
        assert_eq!(row.targets[&TargetKind::Cloud].state, "unverified");
        assert_eq!((row.verified_targets, row.attested_targets), (4, 0));

        stop_fleet(fleet).await;
    });
}
