//! The `revoke` binary: `case ack` and `report`, their output and exit codes.

use super::*;

/// A small fleet with one leaver whose cloud account is ambiguous, driven through the `revoke`
/// binary: `revoke case`, `revoke case ack`, `revoke report`, and their exit codes.
#[test]
fn the_binary_acknowledges_reports_and_exits_with_the_right_codes() {
    let env = env_with_owners("audit-cli");
    env.block_on(async {
        let metrics = Metrics::new();
        let health = Health::new();
        let (events, id, fleet) = publish_with_ambiguous_cloud(&env, &metrics, &health, 2).await;
        let other = case_id_for(&events[1].source, &events[1].id);
        let escalated = |l: &CaseLog| {
            l.latest
                .get(&id)
                .is_some_and(|c| c.state == CaseState::Escalated)
                && l.latest
                    .get(&other)
                    .is_some_and(|c| c.state == CaseState::Closed)
        };
        let log = env.wait_cases(WAIT, escalated).await;
        assert!(escalated(&log), "{}", describe(&log, &[id, other]));

        let t = &env.cfg.topics;
        let vars: Vec<(&str, String)> = vec![
            ("KAFKA_BROKERS", env.cfg.kafka.brokers.clone()),
            ("REVOKE_TOPICS__TERMINATIONS", t.terminations.clone()),
            ("REVOKE_TOPICS__CONFIRMATIONS", t.confirmations.clone()),
            ("REVOKE_TOPICS__CASES", t.cases.clone()),
            ("REVOKE_TOPICS__ESCALATIONS", t.escalations.clone()),
            ("REVOKE_TOPICS__DLQ", t.dlq.clone()),
            ("REVOKE_LOG", "warn".into()),
        ];
        let bin = revoke_tests::procs::revoke_bin();
        let revoke = |args: Vec<String>| {
            let bin = bin.clone();
            let vars = vars.clone();
            async move {
                tokio::task::spawn_blocking(move || {
                    std::process::Command::new(bin)
                        .args(&args)
                        .env_remove("REVOKE_CONFIG")
                        .envs(vars)
                        .stdin(std::process::Stdio::null())
                        .output()
                        .expect("run revoke")
                })
                .await
                .unwrap()
            }
        };
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<String>>();
        let text = |o: &std::process::Output| {
            format!(
                "exit {:?}\nstdout:\n{}\nstderr:\n{}",
                o.status.code(),
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )
        };
        // `revoke case ack <case> --target <target> --by <by> --note <note>`.
        let cli_ack = |case: &str, target: &str, by: &str, note: &str| {
            s(&[
                "case", "ack", case, "--target", target, "--by", by, "--note", note,
            ])
        };
        // The command exited with `code` and `said` (its stdout or stderr) names `needle`.
        let exits_saying = |out: &std::process::Output, code: i32, said: &[u8], needle: &str| {
            assert_eq!(out.status.code(), Some(code), "{}", text(out));
            assert!(
                String::from_utf8_lossy(said).contains(needle),
                "{}",
                text(out)
            );
        };
        let shows_all = |shown: &str, needles: &[&str]| {
            for needle in needles {
                assert!(shown.contains(needle), "lacks {needle:?}:\n{shown}");
            }
        };

        // The whole chain of the escalated case.
        let out = revoke(s(&["case", &id.to_string()])).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let shown = String::from_utf8_lossy(&out.stdout).to_string();
        shows_all(
            &shown,
            &[
                "state escalated",
                "requested by hr:people-ops, approved by mgr:line-manager",
                "target cloud: manual_required",
                "manual_required for cloud -> owner cloud-platform <cloud-platform@example.com> (open)",
                "verdict: escalated as of",
            ],
        );

        // Usage errors: exit 2, nothing read or published.
        let case = id.to_string();
        for args in [
            cli_ack(&case, "cloud", "", "x"),
            cli_ack(&case, "printer", "a", "x"),
            s(&["case", "ack", &case, "--target", "cloud", "--by", "a"]),
            [cli_ack(&case, "cloud", "a", "x"), s(&["--removed-at", "soon"])].concat(),
            s(&["report", "--since", "last tuesday"]),
            s(&["report", "--since", "2026-11-02", "--until", "2026-11-01"]),
            s(&["report", "--format", "pdf"]),
        ] {
            let out = revoke(args.clone()).await;
            assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        }
        // Job failures: exit 1 with a message naming what is wrong.
        let unknown = uuid::Uuid::new_v4().to_string();
        let out = revoke(cli_ack(&unknown, "cloud", "a", "x")).await;
        exits_saying(&out, 1, &out.stderr, "no case");

        // The acknowledgement: exit 0, it says what was recorded, and the case closes with it.
        let out = revoke(cli_ack(
            &events[0].subject,
            "cloud",
            "carol@example.com",
            "merged the duplicate accounts and disabled both",
        ))
        .await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        shows_all(
            &String::from_utf8_lossy(&out.stdout),
            &[
                "recorded acknowledgement ack:",
                "attested by carol@example.com: merged the duplicate accounts",
                "(attested, not verified) and closes the case",
            ],
        );
        let log = wait_in_state(&env, id, CaseState::Closed).await;
        let cloud = &log.latest[&id].targets[&TargetKind::Cloud];
        assert_eq!(cloud.objects[0].actor.principal, "carol@example.com");
        // In the record on the broker, as written (not through our reader): attested, not verified.
        let raw: Vec<serde_json::Value> = env.read_json(&env.cfg.topics.cases).await;
        let last = raw
            .iter()
            .rfind(|c| c["case_id"] == id.to_string())
            .unwrap();
        for (target, provenance, verified) in [("cloud", "attested", false), ("vault", "observed", true)] {
            let o = &last["targets"][target]["objects"][0];
            assert_eq!(
                (&o["provenance"], &o["verified"]),
                (&provenance.into(), &verified.into()),
                "{last}"
            );
        }

        // Again: the case is closed, nothing to record, success.
        let out = revoke(cli_ack(&case, "cloud", "carol@example.com", "again")).await;
        exits_saying(&out, 0, &out.stdout, "already closed");
        let confirmations: Vec<Confirmation> = env.read_json(&env.cfg.topics.confirmations).await;
        assert_eq!(
            confirmations.len(),
            11,
            "10 from workers, 1 acknowledgement"
        );

        let out = revoke(s(&["case", &case])).await;
        let shown = String::from_utf8_lossy(&out.stdout).to_string();
        shows_all(
            &shown,
            &[
                "attested by carol@example.com (not verified)",
                "verified false, attested",
                "verdict: closed at",
                "verified by read-back on 4 targets, attested by carol@example.com on 1",
            ],
        );

        // The report to a file (format from the extension) and CSV to stdout.
        let dir = temp_dir("cli");
        let file = dir.join("audit.html");
        let out = revoke(s(&[
            "report",
            "--since",
            "2000-01-01",
            "--output",
            file.to_str().unwrap(),
        ]))
        .await;
        exits_saying(&out, 0, &out.stdout, "wrote 2 cases");
        let html = std::fs::read_to_string(&file).unwrap();
        assert!(
            html.starts_with("<!DOCTYPE html>") && html.contains("<svg") && html.contains(&case)
        );
        assert!(html.contains("carol@example.com"));
        let out = revoke(s(&["report", "--format", "csv"])).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let csv = parse_csv(&String::from_utf8_lossy(&out.stdout));
        assert_eq!(csv.len(), 3, "header and two cases");
        let col = |name: &str| csv[0].iter().position(|h| h == name).unwrap();
        let row = csv.iter().find(|r| r[0] == case).unwrap();
        assert_eq!(row[col("cloud_provenance")], "attested");
        assert_eq!(row[col("vault_provenance")], "observed");
        assert!(row[col("verdict")].contains("attested by carol@example.com on 1"));
        assert!(!row[col("verdict")].contains("every required target verified"));
        let out = revoke(s(&["report", "--format", "json"])).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let row = json
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["case_id"] == case)
            .unwrap();
        assert_eq!(row["targets"]["cloud"]["provenance"], "attested");
        assert_eq!(
            (&row["verified_targets"], &row["attested_targets"]),
            (&4.into(), &1.into())
        );
        // A window with no case: a header only, still success.
        let out = revoke(s(&["report", "--until", "2000-01-01"])).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert_eq!(parse_csv(&String::from_utf8_lossy(&out.stdout)).len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();

        stop_fleet(fleet).await;
    });
}
