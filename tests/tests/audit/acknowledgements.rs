//! Manual steps acknowledged close their cases, and the report matches the case log.

use super::*;

#[test]
fn manual_steps_acknowledged_close_their_cases_and_the_report_matches_the_log() {
    let env = env_with_owners("audit");
    env.block_on(async {
        let metrics = Metrics::new();
        let health = Health::new();
        let events: Vec<HrEvent> = env.leavers(10);
        let ids: Vec<uuid::Uuid> = events
            .iter()
            .map(|e| case_id_for(&e.source, &e.id))
            .collect();

        // cloud cannot tell E000000..E000002 from another account (a person must decide);
        // vault refuses some leavers for good (a simulated 403): a seed whose failures mix
        // leavers that cloud also escalates with leavers it does not.
        let vault_cfg = (1..1000)
            .map(|seed| SimulatorConfig {
                fail_rate: 0.3,
                seed,
                ..Default::default()
            })
            .find(|cfg| {
                let sim = Simulator::new(TargetKind::Vault, cfg.clone());
                let fails: Vec<usize> = (0..events.len())
                    .filter(|i| sim.fails_permanently(&events[*i].subject))
                    .collect();
                fails.iter().filter(|i| **i >= 3).count() == 2 && fails.contains(&1)
            })
            .expect("a seed with the wanted mix of failures");
        let mut sims = BTreeMap::new();
        for kind in TargetKind::ALL {
            let cfg = if kind == TargetKind::Vault {
                vault_cfg.clone()
            } else {
                SimulatorConfig::default()
            };
            let sim = Arc::new(Simulator::new(kind, cfg));
            if kind == TargetKind::Cloud {
                for e in &events[..3] {
                    sim.mark_ambiguous(&e.subject);
                }
            }
            sims.insert(kind, sim);
        }
        let fleet = start_fleet(&env, &metrics, &health, sims.values().cloned()).await;

        let expect: Vec<Expect> = events
            .iter()
            .enumerate()
            .map(|(i, e)| Expect {
                cloud_manual: i < 3,
                vault_failed: sims[&TargetKind::Vault].fails_permanently(&e.subject),
            })
            .collect();
        let vault_only: Vec<usize> = (3..events.len())
            .filter(|i| expect[*i].vault_failed)
            .collect();
        assert_eq!(vault_only.len(), 2);
        assert!(expect[1].vault_failed);

        env.publish(&events, Mode::Structured).await;
        let settled = |l: &CaseLog| {
            ids.iter().zip(&expect).all(|(id, x)| {
                l.latest.get(id).is_some_and(|c| {
                    let want = if x.escalated() {
                        CaseState::Escalated
                    } else {
                        CaseState::Closed
                    };
                    c.state == want && c.targets.values().all(|s| s.state != TargetState::Pending)
                })
            })
        };
        let log = env.wait_cases(WAIT, settled).await;
        assert!(settled(&log), "[{}]\n{}", env.broker, describe(&log, &ids));
        for (id, x) in ids.iter().zip(&expect) {
            let c = &log.latest[id];
            if x.cloud_manual {
                assert_eq!(
                    c.targets[&TargetKind::Cloud].state,
                    TargetState::ManualRequired
                );
                assert!(c
                    .escalations
                    .iter()
                    .any(|e| e.reason == EscalationReason::ManualRequired
                        && e.owner.name == "cloud-platform"));
            }
            if x.vault_failed {
                assert_eq!(c.targets[&TargetKind::Vault].state, TargetState::Failed);
                assert!(c
                    .escalations
                    .iter()
                    .any(|e| e.reason == EscalationReason::TargetFailed
                        && e.owner.name == "vault-team"));
            }
        }
        let confirmations_before: Vec<Confirmation> =
            env.read_json(&env.cfg.topics.confirmations).await;
        assert_eq!(confirmations_before.len(), 50);

        // Refusals publish nothing: bad arguments (usage), an unknown case (job failed), a case
        // already closed (said so, success).
        let e = ack(
            &env,
            ack_args(&ids[0].to_string(), TargetKind::Cloud, " ", "x", None),
        )
        .await
        .unwrap_err();
        assert!(e.is_usage(), "{e}");
        let e = ack(
            &env,
            ack_args(
                &uuid::Uuid::new_v4().to_string(),
                TargetKind::Cloud,
                "a",
                "b",
                None,
            ),
        )
        .await
        .unwrap_err();
        assert!(!e.is_usage() && e.to_string().contains("no case"), "{e}");
        let closed_one = expect
            .iter()
            .position(|x| !x.escalated())
            .expect("a closed case");
        ack(
            &env,
            ack_args(
                &ids[closed_one].to_string(),
                TargetKind::Cloud,
                "a",
                "b",
                None,
            ),
        )
        .await
        .expect("a closed case is not an error");

        // People acknowledge: alice the cloud accounts of E000000 and E000001 (by identity id),
        // bob every vault failure except E000002's, with the time he removed the access. E000002
        // stays escalated: its owner still has to act.
        let mut acked: BTreeMap<(usize, TargetKind), (&str, String, Option<i64>)> = BTreeMap::new();
        for (i, event) in events.iter().enumerate().take(2) {
            let note = format!(
                "deleted the duplicate IAM user of {} by hand, ticket OPS-{i}",
                event.subject
            );
            ack(
                &env,
                ack_args(
                    &event.subject,
                    TargetKind::Cloud,
                    "alice@example.com",
                    &note,
                    None,
                ),
            )
            .await
            .expect("ack cloud");
            acked.insert((i, TargetKind::Cloud), ("alice@example.com", note, None));
        }
        for i in (0..events.len()).filter(|i| *i != 2 && expect[*i].vault_failed) {
            let case = &log.latest[&ids[i]];
            let removed = case.effective_at.unwrap() + D::milliseconds(1500 + i as i64);
            let note = "revoked the token in the Vault UI".to_string();
            ack(
                &env,
                ack_args(
                    &ids[i].to_string(),
                    TargetKind::Vault,
                    "bob",
                    &note,
                    Some(removed.to_rfc3339()),
                ),
            )
            .await
            .expect("ack vault");
            acked.insert((i, TargetKind::Vault), ("bob", note, Some(1500 + i as i64)));
        }
        assert!(Utc::now() > log.latest[&ids[0]].effective_at.unwrap());

        let closes = |i: usize| i != 2;
        let done = |l: &CaseLog| {
            ids.iter().enumerate().all(|(i, id)| {
                let want = if closes(i) {
                    CaseState::Closed
                } else {
                    CaseState::Escalated
                };
                l.latest.get(id).is_some_and(|c| c.state == want)
            })
        };
        let log = env.wait_cases(WAIT, done).await;
        assert!(done(&log), "[{}]\n{}", env.broker, describe(&log, &ids));

        // Each acknowledgement is evidence in the case record, with the person named.
        let confirmations: Vec<Confirmation> = env.read_json(&env.cfg.topics.confirmations).await;
        assert_eq!(
            confirmations.len(),
            50 + acked.len(),
            "one confirmation per ack, none for refusals"
        );
        for ((i, kind), (by, note, ttr)) in &acked {
            let case = &log.latest[&ids[*i]];
            assert_eq!(log.closed_versions[&ids[*i]], 1, "closed once");
            let st = &case.targets[kind];
            assert_eq!(st.state, TargetState::Done);
            assert_eq!(st.instance.as_deref(), Some("manual"));
            assert_eq!(st.worker.as_ref().unwrap().id, "revoke-cli");
            assert_eq!(st.objects.len(), 1);
            let o = &st.objects[0];
            assert_eq!(
                (o.object_kind.as_str(), o.action.as_str()),
                ("manual_step", "manual_ack")
            );
            assert_eq!(o.actor.principal, *by);
            assert!(o.actor.worker_id.starts_with("revoke-cli@"));
            // A person's word is attested, never verified.
            assert!(!o.verified);
            assert_eq!(o.provenance, Provenance::Attested);
            assert_eq!(o.read_back, format!("confirmed by {by}: {note}"));
            if let Some(ms) = ttr {
                assert_eq!(
                    st.time_to_revoke_ms,
                    Some(*ms),
                    "time to revoke runs to the stated removal"
                );
            }
            // The escalation that asked for it stays in the record.
            assert!(!case.escalations.is_empty());
            let acks = revoke::cases::acknowledgements(case);
            assert!(acks
                .iter()
                .any(|a| a.target == *kind && a.by == *by && a.note == *note));
            let text = revoke::cases::render(case);
            assert!(
                text.contains(&format!("attested by {by} (not verified)")),
                "{text}"
            );
            assert!(text.contains(&format!("note: {note}")), "{text}");
        }
        let open = &log.latest[&ids[2]];
        assert_eq!(open.state, CaseState::Escalated);
        let text = revoke::cases::render(open);
        assert!(
            text.contains("owner cloud-platform <cloud-platform@example.com> (open)"),
            "{text}"
        );

        // The report, from the pure functions on the case log.
        let cases: Vec<&Case> = ids.iter().map(|id| &log.latest[id]).collect();
        let rows = report::rows(log.latest.values(), None, None);
        assert_eq!(rows.len(), 10, "each case once");
        for row in &rows {
            let case = &log.latest[&row.case_id];
            assert_report_row(row, case);
        }
        let row2 = rows.iter().find(|r| r.case_id == ids[2]).unwrap();
        assert!(row2
            .escalations
            .iter()
            .any(|e| e.open && e.owner == "cloud-platform"));
        let row0 = rows.iter().find(|r| r.case_id == ids[0]).unwrap();
        assert!(row0
            .acks
            .iter()
            .any(|a| a.by == "alice@example.com" && a.target == "cloud"));
        assert!(row0.escalations.iter().all(|e| !e.open));
        // A window that ends before the leavers' effective time holds none of them.
        let first = cases.iter().filter_map(|c| c.effective_at).min().unwrap();
        assert!(report::rows(log.latest.values(), None, Some(first)).is_empty());

        // And through `revoke report` itself: CSV, JSON, HTML and the objects CSV in files.
        let dir = temp_dir("files");
        let run = |format: Format, file: &str, objects: Option<&str>| {
            let cfg = env.cfg.clone();
            let args = ReportArgs {
                since: Some((first - D::minutes(1)).to_rfc3339()),
                until: None,
                window: Window::Effective,
                format: Some(format),
                output: Some(dir.join(file)),
                objects: objects.map(|o| dir.join(o)),
                verify: false,
            };
            tokio::task::spawn_blocking(move || revoke::cli::report::run(&cfg, &args, print))
        };
        run(Format::Csv, "report.csv", Some("objects.csv"))
            .await
            .unwrap()
            .unwrap();
        run(Format::Json, "report.json", None)
            .await
            .unwrap()
            .unwrap();
        run(Format::Html, "report.html", None)
            .await
            .unwrap()
            .unwrap();

        let json: serde_json::Value = serde_json::from_str(&read(&dir, "report.json")).unwrap();
        let arr = json.as_array().unwrap();
        assert_eq!(arr.len(), 10);
        for r in arr {
            let id: uuid::Uuid = r["case_id"].as_str().unwrap().parse().unwrap();
            let expected =
                serde_json::to_value(rows.iter().find(|x| x.case_id == id).unwrap()).unwrap();
            assert_eq!(*r, expected, "JSON row of {id}");
        }

        let csv = parse_csv(&read(&dir, "report.csv"));
        assert_eq!(csv.len(), 11);
        let header = &csv[0];
        let col = |n: &str| {
            header
                .iter()
                .position(|h| h == n)
                .unwrap_or_else(|| panic!("{n}"))
        };
        for id in &ids {
            let lines: Vec<&Vec<String>> = csv[1..]
                .iter()
                .filter(|r| r[col("case_id")] == id.to_string())
                .collect();
            assert_eq!(lines.len(), 1, "case {id} once in the CSV");
            let (r, case) = (lines[0], &log.latest[id]);
            assert_eq!(r.len(), header.len());
            assert_eq!(r[col("identity_id")], case.identity_id);
            assert_eq!(r[col("state")], case.state.as_str());
            assert_eq!(r[col("requested_by")], "hr:people-ops");
            for kind in TargetKind::ALL {
                let st = &case.targets[&kind];
                assert_eq!(
                    r[col(&format!("{kind}_time_to_revoke_ms"))],
                    st.time_to_revoke_ms
                        .map(|v| v.to_string())
                        .unwrap_or_default(),
                    "{id} {kind}"
                );
                assert_eq!(
                    r[col(&format!("{kind}_objects"))],
                    st.objects.len().to_string()
                );
            }
        }
        let r0 = csv.iter().find(|r| r[0] == ids[0].to_string()).unwrap();
        assert!(
            r0[col("acks")].contains("cloud by alice@example.com"),
            "{:?}",
            r0[col("acks")]
        );
        assert!(
            r0[col("escalation_owners")].contains("cloud-platform <cloud-platform@example.com>")
        );
        let r2 = csv.iter().find(|r| r[0] == ids[2].to_string()).unwrap();
        assert_ne!(r2[col("open_escalations")], "0");

        let objects = parse_csv(&read(&dir, "objects.csv"));
        let total: usize = cases
            .iter()
            .flat_map(|c| c.targets.values())
            .map(|s| s.objects.len())
            .sum();
        assert_eq!(objects.len(), 1 + total);
        assert_eq!(
            objects.iter().filter(|r| r[5] == "manual_step").count(),
            acked.len()
        );

        let html = read(&dir, "report.html");
        assert!(html.contains("<svg"));
        let by_owner = &html
            [html.find("Open escalations by owner").unwrap()..html.find("<h2>Cases</h2>").unwrap()];
        let cloud = by_owner
            .find("cloud-platform &lt;cloud-platform@example.com&gt;")
            .expect("cloud-platform's open escalations");
        let entry = by_owner
            .find(&format!("#case-{}", ids[2]))
            .expect("E000002 under its owner");
        assert!(entry > cloud);
        assert!(
            !by_owner.contains(&ids[0].to_string()),
            "acknowledged escalation still listed open"
        );
        for id in &ids {
            assert!(
                html.contains(&format!("<tr id=\"case-{id}\"")),
                "case {id} in the table"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();

        stop_fleet(fleet).await;
    });
}
