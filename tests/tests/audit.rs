//! The audit trail on a broker (embedded by default, real with `REVOKE_TEST_KAFKA`): a simulated
//! fleet where some leavers need a person (an ambiguous cloud account) or fail (vault), people
//! acknowledging the manual steps with `revoke case ack`, the cases closing with the
//! acknowledgement as evidence, and `revoke report` (CSV, JSON, HTML) checked field by field
//! against the case log. The last test runs the `revoke` binary for exit codes and output.

use chrono::{Duration as D, Utc};
use revoke::adapters::sim::Simulator;
use revoke::cases::CaseLog;
use revoke::cli::case::ack::AckArgs;
use revoke::cli::demo::wait_for_groups;
use revoke::cli::error::CommandError;
use revoke::cli::report::ReportArgs;
use revoke::fleet::Process;
use revoke::hr::Mode;
use revoke::report::{self, Format, Window};
use revoke_shared::config::{Config, SimulatorConfig};
use revoke_shared::contract::{
    case_id_for, Case, CaseState, Confirmation, EscalationReason, HrEvent, Owner, Provenance,
    TargetKind, TargetState,
};
use revoke_shared::metrics::{Health, Metrics};
use revoke_tests::TestEnv;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(90);

fn print(line: &str) {
    println!("{line}");
}

fn owners(cfg: &mut Config) {
    cfg.verifier.owners.insert(
        "cloud".into(),
        Owner {
            name: "cloud-platform".into(),
            contact: "cloud-platform@example.com".into(),
        },
    );
    cfg.verifier.owners.insert(
        "vault".into(),
        Owner {
            name: "vault-team".into(),
            contact: "vault-team@example.com".into(),
        },
    );
}

fn ack_args(case: &str, target: TargetKind, by: &str, note: &str, at: Option<String>) -> AckArgs {
    AckArgs {
        case: case.into(),
        target,
        by: by.into(),
        note: note.into(),
        removed_at: at,
    }
}

async fn ack(env: &TestEnv, args: AckArgs) -> Result<(), CommandError> {
    revoke::cli::case::ack::run(&env.cfg, &args, print).await
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "revoke-audit-{name}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Splits RFC 4180 CSV (CRLF line ends) into records of fields.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let (mut record, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {
                assert_eq!(chars.next(), Some('\n'));
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(record.is_empty() && field.is_empty(), "unterminated CSV");
    records
}

fn describe(log: &CaseLog, ids: &[uuid::Uuid]) -> String {
    ids.iter()
        .map(|id| match log.latest.get(id) {
            None => format!("{id}: no case"),
            Some(c) => format!(
                "{} {}: {:?}",
                c.identity_id,
                c.state.as_str(),
                c.targets
                    .iter()
                    .map(|(k, s)| (k.as_str(), s.state))
                    .collect::<Vec<_>>()
            ),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// What the simulators make of each leaver.
struct Expect {
    cloud_manual: bool,
    vault_failed: bool,
}

impl Expect {
    fn escalated(&self) -> bool {
        self.cloud_manual || self.vault_failed
    }
}

#[test]
fn manual_steps_acknowledged_close_their_cases_and_the_report_matches_the_log() {
    let mut env = TestEnv::new("audit");
    owners(&mut env.cfg);
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
        let mut workers = Vec::new();
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
            sims.insert(kind, sim.clone());
            workers.push(Process::Worker(sim).spawn(&env.cfg, metrics.clone(), health.clone()));
        }
        let verifier = Process::Verifier.spawn(&env.cfg, metrics.clone(), health.clone());
        assert!(wait_for_groups(&env.cfg, &metrics, WAIT).await);

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

        for w in workers {
            w.stop().await.unwrap();
        }
        verifier.stop().await.unwrap();
    });
}

fn read(dir: &Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap()
}

/// A report row against its case record, field by field.
fn assert_report_row(row: &report::Row, case: &Case) {
    assert_eq!(row.identity_id, case.identity_id);
    assert_eq!(
        row.identity_kind.as_deref(),
        case.identity.as_ref().map(|i| i.kind.as_str())
    );
    assert_eq!(row.source, case.source);
    assert_eq!(row.event_id, case.event_id);
    assert_eq!(row.requested_by, case.requested_by);
    assert_eq!(row.approved_by, case.approved_by);
    assert_eq!(row.effective_at, case.effective_at);
    assert_eq!(row.opened_at, case.opened_at);
    assert_eq!(row.state, case.state.as_str());
    assert_eq!(row.closed_at, case.closed_at);
    assert_eq!(row.updated_at, case.updated_at);
    assert_eq!(row.time_to_close_ms, case.time_to_close_ms());
    assert_eq!(row.targets.len(), case.targets.len());
    for (kind, st) in &case.targets {
        let t = &row.targets[kind];
        assert_eq!(t.state, revoke::cases::target_state_str(st.state));
        assert_eq!(t.outcome.as_deref(), st.outcome.map(|o| o.as_str()));
        assert_eq!(t.instance.as_deref(), st.instance.as_deref());
        assert_eq!(t.time_to_revoke_ms, st.time_to_revoke_ms);
        assert_eq!(t.objects, st.objects.len());
        assert_eq!(
            t.last_removed_at,
            st.objects.iter().filter_map(|o| o.removed_at).max()
        );
        for o in &st.objects {
            assert!(t
                .actors
                .contains(&format!("{} as {}", o.actor.worker_id, o.actor.principal)));
        }
    }
    assert_eq!(row.escalations.len(), case.escalations.len());
    for (r, e) in row.escalations.iter().zip(&case.escalations) {
        assert_eq!(r.reason, e.reason.as_str());
        assert_eq!(r.owner, e.owner.name);
        assert_eq!(r.owner_contact, e.owner.contact);
        assert_eq!(r.raised_at, e.raised_at);
        assert_eq!(r.open, revoke::cases::escalation_is_open(case, e));
    }
    let acks = revoke::cases::acknowledgements(case);
    assert_eq!(row.acks.len(), acks.len());
    for (r, a) in row.acks.iter().zip(&acks) {
        assert_eq!(
            (r.target.as_str(), &r.by, &r.note),
            (a.target.as_str(), &a.by, &a.note)
        );
    }
}

/// A small fleet with one leaver whose cloud account is ambiguous, driven through the `revoke`
/// binary: `revoke case`, `revoke case ack`, `revoke report`, and their exit codes.
#[test]
fn the_binary_acknowledges_reports_and_exits_with_the_right_codes() {
    let mut env = TestEnv::new("audit-cli");
    owners(&mut env.cfg);
    env.block_on(async {
        let metrics = Metrics::new();
        let health = Health::new();
        let events = env.leavers(2);
        let id = case_id_for(&events[0].source, &events[0].id);
        let mut workers = Vec::new();
        for kind in TargetKind::ALL {
            let sim = Arc::new(Simulator::new(kind, SimulatorConfig::default()));
            if kind == TargetKind::Cloud {
                sim.mark_ambiguous(&events[0].subject);
            }
            workers.push(Process::Worker(sim).spawn(&env.cfg, metrics.clone(), health.clone()));
        }
        let verifier = Process::Verifier.spawn(&env.cfg, metrics.clone(), health.clone());
        assert!(wait_for_groups(&env.cfg, &metrics, WAIT).await);
        env.publish(&events, Mode::Structured).await;
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

        // The whole chain of the escalated case.
        let out = revoke(s(&["case", &id.to_string()])).await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let shown = String::from_utf8_lossy(&out.stdout).to_string();
        for needle in [
            "state escalated",
            "requested by hr:people-ops, approved by mgr:line-manager",
            "target cloud: manual_required",
            "manual_required for cloud -> owner cloud-platform <cloud-platform@example.com> (open)",
            "verdict: escalated as of",
        ] {
            assert!(shown.contains(needle), "lacks {needle:?}:\n{shown}");
        }

        // Usage errors: exit 2, nothing read or published.
        let case = id.to_string();
        for args in [
            s(&[
                "case", "ack", &case, "--target", "cloud", "--by", "", "--note", "x",
            ]),
            s(&[
                "case", "ack", &case, "--target", "printer", "--by", "a", "--note", "x",
            ]),
            s(&["case", "ack", &case, "--target", "cloud", "--by", "a"]),
            s(&[
                "case",
                "ack",
                &case,
                "--target",
                "cloud",
                "--by",
                "a",
                "--note",
                "x",
                "--removed-at",
                "soon",
            ]),
            s(&["report", "--since", "last tuesday"]),
            s(&["report", "--since", "2026-11-02", "--until", "2026-11-01"]),
            s(&["report", "--format", "pdf"]),
        ] {
            let out = revoke(args.clone()).await;
            assert_eq!(out.status.code(), Some(2), "{args:?}: {}", text(&out));
        }
        // Job failures: exit 1 with a message naming what is wrong.
        let unknown = uuid::Uuid::new_v4().to_string();
        let out = revoke(s(&[
            "case", "ack", &unknown, "--target", "cloud", "--by", "a", "--note", "x",
        ]))
        .await;
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("no case"),
            "{}",
            text(&out)
        );

        // The acknowledgement: exit 0, it says what was recorded, and the case closes with it.
        let out = revoke(s(&[
            "case",
            "ack",
            &events[0].subject,
            "--target",
            "cloud",
            "--by",
            "carol@example.com",
            "--note",
            "merged the duplicate accounts and disabled both",
        ]))
        .await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        let said = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(said.contains("recorded acknowledgement ack:"), "{said}");
        assert!(
            said.contains("attested by carol@example.com: merged the duplicate accounts"),
            "{said}"
        );
        assert!(
            said.contains("(attested, not verified) and closes the case"),
            "{said}"
        );
        let closed = |l: &CaseLog| {
            l.latest
                .get(&id)
                .is_some_and(|c| c.state == CaseState::Closed)
        };
        let log = env.wait_cases(WAIT, closed).await;
        assert!(closed(&log), "{}", describe(&log, &[id]));
        let cloud = &log.latest[&id].targets[&TargetKind::Cloud];
        assert_eq!(cloud.objects[0].actor.principal, "carol@example.com");
        // In the record on the broker, as written (not through our reader): attested, not verified.
        let raw: Vec<serde_json::Value> = env.read_json(&env.cfg.topics.cases).await;
        let last = raw
            .iter()
            .rfind(|c| c["case_id"] == id.to_string())
            .unwrap();
        let o = &last["targets"]["cloud"]["objects"][0];
        assert_eq!(
            (&o["provenance"], &o["verified"]),
            (&"attested".into(), &false.into()),
            "{last}"
        );
        let o = &last["targets"]["vault"]["objects"][0];
        assert_eq!(
            (&o["provenance"], &o["verified"]),
            (&"observed".into(), &true.into()),
            "{last}"
        );

        // Again: the case is closed, nothing to record, success.
        let out = revoke(s(&[
            "case",
            "ack",
            &case,
            "--target",
            "cloud",
            "--by",
            "carol@example.com",
            "--note",
            "again",
        ]))
        .await;
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("already closed"),
            "{}",
            text(&out)
        );
        let confirmations: Vec<Confirmation> = env.read_json(&env.cfg.topics.confirmations).await;
        assert_eq!(
            confirmations.len(),
            11,
            "10 from workers, 1 acknowledgement"
        );

        let out = revoke(s(&["case", &case])).await;
        let shown = String::from_utf8_lossy(&out.stdout).to_string();
        for needle in [
            "attested by carol@example.com (not verified)",
            "verified false, attested",
            "verdict: closed at",
            "verified by read-back on 4 targets, attested by carol@example.com on 1",
        ] {
            assert!(shown.contains(needle), "lacks {needle:?}:\n{shown}");
        }

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
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("wrote 2 cases"),
            "{}",
            text(&out)
        );
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

        for w in workers {
            w.stop().await.unwrap();
        }
        verifier.stop().await.unwrap();
    });
}

/// `verifier.attestation_allowed` without `cloud`: a person's acknowledgement of the cloud step is
/// recorded on the broker as `attested` (never verified), but the target stays `unverified` and
/// the case does not close; `revoke case` and the report say so.
#[test]
fn an_attestation_the_policy_does_not_accept_leaves_the_case_open() {
    let mut env = TestEnv::new("audit-attest");
    owners(&mut env.cfg);
    env.cfg.verifier.attestation_allowed = vec![TargetKind::Directory, TargetKind::Saas];
    env.block_on(async {
        let metrics = Metrics::new();
        let health = Health::new();
        let events = env.leavers(1);
        let id = case_id_for(&events[0].source, &events[0].id);
        let mut workers = Vec::new();
        for kind in TargetKind::ALL {
            let sim = Arc::new(Simulator::new(kind, SimulatorConfig::default()));
            if kind == TargetKind::Cloud {
                sim.mark_ambiguous(&events[0].subject);
            }
            workers.push(Process::Worker(sim).spawn(&env.cfg, metrics.clone(), health.clone()));
        }
        let verifier = Process::Verifier.spawn(&env.cfg, metrics.clone(), health.clone());
        assert!(wait_for_groups(&env.cfg, &metrics, WAIT).await);
        env.publish(&events, Mode::Structured).await;
        let escalated = |l: &CaseLog| {
            l.latest
                .get(&id)
                .is_some_and(|c| c.state == CaseState::Escalated)
        };
        let log = env.wait_cases(WAIT, escalated).await;
        assert!(escalated(&log), "{}", describe(&log, &[id]));

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

        for w in workers {
            w.stop().await.unwrap();
        }
        verifier.stop().await.unwrap();
    });
}
