//! The report's unit tests: rows field by field, the window, CSV, JSON, HTML and the chart.

use super::csv::{num, t};
use super::*;
use crate::cases::fixtures::*;
use crate::cases::target_state_str;
use crate::verifier::Input;
use chrono::{Duration as D, TimeZone, Utc};
use revoke_shared::contract::{Case, CaseState, Outcome, TargetKind};

/// Splits RFC 4180 CSV into records of fields (the test's own reader).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
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
                assert_eq!(chars.next(), Some('\n'), "CR without LF");
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, '\n') => panic!("bare LF line end"),
            (false, c) => field.push(c),
        }
    }
    assert!(field.is_empty() && record.is_empty(), "last line not ended");
    records
}

/// Three cases an hour apart: closed; escalated (cloud manual, open); escalated then closed
/// by an acknowledgement with hostile text.
fn three_cases() -> Vec<Case> {
    let mut v = verifier();
    let closed = closed_case(&mut v, "E1", 0);
    let escalated = escalated_case(&mut v, "E2", 3600);
    let mut acked = escalated_case(&mut v, "E3", 7200);
    let ack = crate::cli::case::ack::AckRequest {
        target: TargetKind::Cloud,
        by: "=HYPERLINK(\"x\") <b>eve</b>".into(),
        note: "removed by hand, \"as asked\" & <script>alert(1)</script>".into(),
        removed_at: Some(t0() + D::seconds(7260)),
    };
    let now = t0() + D::seconds(7300);
    let crate::cli::case::ack::Decision::Publish(c) =
        crate::cli::case::ack::decide(&acked, &ack, now, "h").unwrap()
    else {
        panic!()
    };
    acked = apply(&mut v, Input::Confirmation(&c), now).unwrap();
    assert_eq!(acked.state, CaseState::Closed);
    vec![closed, escalated, acked]
}

#[test]
fn rows_hold_each_case_field_by_field() {
    let cases = three_cases();
    let rows = rows(&cases, None, None);
    assert_eq!(rows.len(), 3);
    for (row, case) in rows.iter().zip(&cases) {
        assert_eq!(row.case_id, case.case_id);
        assert_eq!(row.identity_id, case.identity_id);
        assert_eq!(row.identity_kind.as_deref(), Some("contractor"));
        assert_eq!(row.source.as_deref(), Some("urn:hr:test"));
        assert_eq!(row.event_id, case.event_id);
        assert_eq!(row.reason.as_deref(), Some("resignation"));
        assert_eq!(row.requested_by.as_deref(), Some("hr:bob"));
        assert_eq!(row.approved_by.as_deref(), Some("mgr:carol"));
        assert_eq!(row.effective_at, case.effective_at);
        assert_eq!(row.opened_at, case.opened_at);
        assert_eq!(row.deadline, case.deadline);
        assert_eq!(row.state, case.state.as_str());
        assert_eq!(row.verdict, crate::cases::verdict(case));
        assert_eq!(row.updated_at, case.updated_at);
        assert_eq!(row.closed_at, case.closed_at);
        assert_eq!(row.time_to_close_ms, case.time_to_close_ms());
        assert_eq!(row.revision, case.revision);
        assert_eq!(row.targets.len(), 5);
        for (kind, st) in &case.targets {
            let tr = &row.targets[kind];
            assert!(tr.required);
            assert_eq!(tr.state, target_state_str(st.state));
            assert_eq!(tr.outcome.as_deref(), st.outcome.map(|o| o.as_str()));
            assert_eq!(tr.instance.as_deref(), st.instance.as_deref());
            assert_eq!(tr.confirmed_at, st.confirmed_at);
            assert_eq!(tr.time_to_revoke_ms, st.time_to_revoke_ms);
            assert_eq!(tr.attempts, st.attempts);
            assert_eq!(tr.objects, st.objects.len());
            assert_eq!(
                tr.last_removed_at,
                st.objects.iter().filter_map(|o| o.removed_at).max()
            );
            assert_eq!(tr.error.as_deref(), st.error.as_deref());
        }
        assert_eq!(row.escalations.len(), case.escalations.len());
    }
    let (closed, escalated, acked) = (&rows[0], &rows[1], &rows[2]);
    assert_eq!(
        closed.targets[&TargetKind::Cloud].time_to_revoke_ms,
        Some(900)
    );
    assert_eq!(
        closed.targets[&TargetKind::Cloud].actors,
        vec!["cloud-w1 as svc-cloud".to_string()]
    );
    assert_eq!(
        closed.targets[&TargetKind::Saas].actors,
        vec!["saas-w1".to_string()]
    );
    assert_eq!(closed.time_to_close_ms, Some(400));
    assert!(closed.escalations.is_empty() && closed.acks.is_empty());

    assert_eq!(escalated.state, "escalated");
    assert_eq!(
        escalated.targets[&TargetKind::Cloud].state,
        "manual_required"
    );
    assert_eq!(
        escalated.targets[&TargetKind::Cloud].time_to_revoke_ms,
        None
    );
    let e = &escalated.escalations[0];
    assert_eq!(
        (
            e.reason.as_str(),
            e.targets.clone(),
            e.owner.as_str(),
            e.owner_contact.as_str(),
            e.open
        ),
        (
            "manual_required",
            vec!["cloud".to_string()],
            "cloud-platform",
            "cloud@example.com",
            true
        )
    );
    assert_eq!(e.raised_at, t0() + D::seconds(3600) + D::milliseconds(250));

    assert_eq!(acked.state, "closed");
    assert!(
        !acked.escalations[0].open,
        "resolved by the acknowledgement"
    );
    assert_eq!(acked.acks.len(), 1);
    assert_eq!(acked.acks[0].target, "cloud");
    assert_eq!(acked.acks[0].by, "=HYPERLINK(\"x\") <b>eve</b>");
    assert_eq!(acked.acks[0].removed_at, Some(t0() + D::seconds(7260)));
    assert_eq!(
        acked.targets[&TargetKind::Cloud].time_to_revoke_ms,
        Some(60_000)
    );
    assert_eq!(
        acked.targets[&TargetKind::Cloud].instance.as_deref(),
        Some("manual")
    );
    assert_eq!(acked.time_to_close_ms, Some(100_000));
}

#[test]
fn window_is_half_open_on_effective_time_or_opened() {
    let mut cases = three_cases();
    let at = |s: i64| Some(t0() + D::seconds(s));
    let ids = |rows: Vec<Row>| {
        rows.iter()
            .map(|r| r.identity_id.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(rows(&cases, at(0), at(3600))), vec!["E1"]);
    assert_eq!(ids(rows(&cases, at(1), at(7201))), vec!["E2", "E3"]);
    assert_eq!(ids(rows(&cases, None, at(7200))), vec!["E1", "E2"]);
    assert!(rows(&cases, at(9000), None).is_empty());
    // Effective time and opened_at differ: a case opened late is placed by its effective time.
    cases[0].opened_at = t0() + D::seconds(5000);
    assert_eq!(ids(rows(&cases, at(0), at(3600))), vec!["E1"]);
    assert_eq!(
        ids(rows_by(&cases, at(0), at(3600), Window::Opened)),
        Vec::<String>::new()
    );
    assert_eq!(
        ids(rows_by(&cases, at(3600), None, Window::Opened)),
        vec!["E2", "E1", "E3"]
    );
    // A pending case has no effective time: its opened_at places it.
    cases[1].effective_at = None;
    cases[1].opened_at = t0() + D::seconds(10);
    assert_eq!(ids(rows(&cases, at(0), at(3600))), vec!["E1", "E2"]);
}

#[test]
fn times_are_rfc3339_or_dates() {
    let day = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    assert_eq!(parse_time("2026-11-01", false).unwrap(), day);
    assert_eq!(parse_time("2026-11-01", true).unwrap(), day + D::days(1));
    assert_eq!(parse_time("2026-11-01T02:00:00+02:00", true).unwrap(), day);
    assert!(parse_time("last week", false)
        .unwrap_err()
        .contains("neither"));
    assert!(parse_time("2026-13-01", false).is_err());
}

#[test]
fn csv_has_fixed_columns_and_quotes_per_rfc4180() {
    let cases = three_cases();
    let rows = rows(&cases, None, None);
    let text = to_csv(&rows);
    let records = parse_csv(&text);
    let header = &records[0];
    assert_eq!(header.len(), 17 + 5 * 11 + 5 + 6 + 2 + 3);
    assert_eq!(header[0], "case_id");
    assert!(header.contains(&"cicd_time_to_revoke_ms".to_string()));
    assert_eq!(records.len(), 4);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    for (rec, row) in records[1..].iter().zip(&rows) {
        assert_eq!(rec.len(), header.len());
        assert_eq!(rec[col("case_id")], row.case_id.to_string());
        assert_eq!(rec[col("identity_id")], row.identity_id);
        assert_eq!(rec[col("state")], row.state);
        assert_eq!(rec[col("effective_at")], t(row.effective_at));
        assert_eq!(rec[col("time_to_close_ms")], num(row.time_to_close_ms));
        for k in TargetKind::ALL {
            assert_eq!(
                rec[col(&format!("{k}_time_to_revoke_ms"))],
                num(row.targets[&k].time_to_revoke_ms)
            );
            assert_eq!(rec[col(&format!("{k}_state"))], row.targets[&k].state);
            assert_eq!(
                rec[col(&format!("{k}_objects"))],
                row.targets[&k].objects.to_string()
            );
        }
    }
    let esc = &records[2];
    assert_eq!(
        esc[col("escalation_owners")],
        "cloud-platform <cloud@example.com>"
    );
    assert_eq!(esc[col("open_escalations")], "1");
    assert!(
        esc[col("escalations")].starts_with("manual_required cloud at 2026-11-24T10:00:00.250Z")
    );
    let acked = &records[3];
    assert_eq!(acked[col("open_escalations")], "0");
    assert_eq!(
        acked[col("acks")],
        "cloud by =HYPERLINK(\"x\") <b>eve</b> (unauthenticated) removed 2026-11-24T11:01:00Z: removed by hand, \"as asked\" & <script>alert(1)</script>"
    );
    assert_eq!(
        acked[col("cloud_actors")],
        "revoke-cli@h as =HYPERLINK(\"x\") <b>eve</b>"
    );
    // Raw quoting: a quote doubled inside a quoted field.
    assert!(
        text.contains(",\"revoke-cli@h as =HYPERLINK(\"\"x\"\") <b>eve</b>\","),
        "{text}"
    );
    assert_eq!(csv_field("a,b", true), "\"a,b\"");
    assert_eq!(csv_field("line\nbreak", true), "\"line\nbreak\"");
    assert_eq!(csv_field("-1", false), "-1");
    assert_eq!(csv_field("-cmd", true), "'-cmd");
    assert_eq!(csv_field("@SUM(A1)", true), "'@SUM(A1)");
    assert_eq!(csv_field("plain", true), "plain");
    assert_eq!(to_csv(&[]).lines().count(), 1, "header only");
}

#[test]
fn objects_csv_has_one_row_per_object() {
    let cases = three_cases();
    let refs: Vec<&Case> = cases.iter().collect();
    let records = parse_csv(&objects_csv(&refs));
    let total: usize = cases
        .iter()
        .flat_map(|c| c.targets.values())
        .map(|s| s.objects.len())
        .sum();
    assert_eq!(records.len(), 1 + total);
    let manual: Vec<&Vec<String>> = records.iter().filter(|r| r[5] == "manual_step").collect();
    assert_eq!(manual.len(), 1);
    assert_eq!(manual[0][2], "cloud");
    assert_eq!(manual[0][4], "manual");
    assert_eq!(manual[0][12], "'=HYPERLINK(\"x\") <b>eve</b>");
    // A person's word: never verified, provenance attested; workers' objects observed.
    assert_eq!(manual[0][13], "false");
    assert_eq!(manual[0][14], "attested");
    assert!(records[1..]
        .iter()
        .filter(|r| r[5] != "manual_step" && r[13] == "true")
        .all(|r| r[14] == "observed"));
}

#[test]
fn json_is_an_array_of_the_rows() {
    let cases = three_cases();
    let rows = rows(&cases, None, None);
    let v: serde_json::Value = serde_json::from_str(&to_json(&rows)).unwrap();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 3);
    assert_eq!(v, serde_json::to_value(&rows).unwrap());
    assert_eq!(arr[1]["state"], "escalated");
    assert_eq!(arr[1]["targets"]["cloud"]["state"], "manual_required");
    assert_eq!(arr[1]["escalations"][0]["owner"], "cloud-platform");
    assert_eq!(arr[0]["targets"]["cloud"]["time_to_revoke_ms"], 900);
    assert_eq!(arr[0]["effective_at"], "2026-11-24T09:00:00Z");
    assert_eq!(arr[2]["acks"][0]["by"], "=HYPERLINK(\"x\") <b>eve</b>");
    // Closed on a person's word for cloud: attested, counted apart from the read-backs.
    assert_eq!(arr[2]["targets"]["cloud"]["provenance"], "attested");
    assert_eq!(arr[2]["targets"]["vault"]["provenance"], "observed");
    assert_eq!(arr[1]["targets"]["cloud"]["provenance"], "not_checked");
    assert_eq!(
        (&arr[2]["verified_targets"], &arr[2]["attested_targets"]),
        (&4.into(), &1.into())
    );
    assert_eq!(
        (&arr[0]["verified_targets"], &arr[0]["attested_targets"]),
        (&5.into(), &0.into())
    );
    assert!(arr[2]["verdict"].as_str().unwrap().contains(
        "verified by read-back on 4 targets, attested by =HYPERLINK(\"x\") <b>eve</b> on 1"
    ));
    assert_eq!(to_json(&[]), "[]");
}

#[test]
fn percentiles_are_nearest_rank() {
    let mut v = verifier();
    let cases: Vec<Case> = (1..=10)
        .map(|i| {
            case_with(
                &mut v,
                &format!("P{i}"),
                i * 10,
                &[(TargetKind::Vault, Outcome::Revoked, i * 100)],
            )
        })
        .collect();
    let sp = spreads(&rows(&cases, None, None));
    assert_eq!(sp.len(), 1, "only vault has times");
    assert_eq!(
        sp[&TargetKind::Vault],
        Spread {
            n: 10,
            p50: 500,
            p90: 900,
            max: 1000
        }
    );
}

#[test]
fn html_is_self_contained_escaped_and_groups_open_escalations_by_owner() {
    let cases = three_cases();
    let rows = rows(&cases, None, None);
    let html = to_html(&rows, t0() + D::hours(3));
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("Generated 2026-11-24T12:00:00.000Z. 3 cases."));
    // Summary counts by state.
    assert!(
        html.contains("<tr class=\"closed\"><td>closed</td><td class=\"num\">2</td></tr>"),
        "{html}"
    );
    assert!(
        html.contains("<tr class=\"escalated\"><td>escalated</td><td class=\"num\">1</td></tr>")
    );
    assert!(html.contains("Open escalations: 1. Acknowledgements by hand: 1."));
    // The chart: inline SVG, one group per target with times; the cloud max is the ack's 60 s.
    assert!(html.contains("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    assert!(html.contains("<title>cloud max 60000 ms</title>"), "{html}");
    assert!(html.contains("<title>vault p50 300 ms</title>"));
    // Open escalations grouped by owner, linking to the case row.
    let owners = html.find("Open escalations by owner").unwrap();
    let table = html.find("<h2>Cases</h2>").unwrap();
    let section = &html[owners..table];
    assert!(
        section.contains("cloud-platform &lt;cloud@example.com&gt; — 1 open"),
        "{section}"
    );
    assert!(section.contains(&format!("href=\"#case-{}\"", rows[1].case_id)));
    assert!(
        !section.contains(&rows[2].case_id.to_string()),
        "resolved escalation listed"
    );
    assert!(html.contains(&format!(
        "<tr id=\"case-{}\" class=\"escalated\">",
        rows[1].case_id
    )));
    // Every text escaped; nothing external, nothing executable.
    assert!(!html.contains("<script"), "unescaped script");
    assert!(!html.contains("<b>eve"), "unescaped markup");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("=HYPERLINK(&quot;x&quot;) &lt;b&gt;eve&lt;/b&gt;"));
    for banned in ["<link", "src=", "@import", "url("] {
        assert!(!html.contains(banned), "{banned}");
    }
    // An empty report is still a page, saying there is nothing.
    let empty = to_html(&[], t0());
    assert!(empty.contains("0 cases") && empty.contains("<svg") && empty.contains("<p>None.</p>"));
}

#[test]
fn a_rescinded_case_reports_its_restores_and_the_open_restore_escalation() {
    let mut v = verifier();
    let closed = closed_case(&mut v, "R1", 0);
    let now = t0() + D::minutes(5);
    let rescinded = rescind(&mut v, &closed, now);
    let case = restore_all(&mut v, &rescinded, now + D::seconds(2));
    assert_eq!(case.state, CaseState::Rescinded);
    let rows = rows([&case], None, None);
    let r = &rows[0];
    assert_eq!(r.state, "rescinded");
    assert_eq!(r.rescinded_by.as_deref(), Some("hr:dave"));
    assert_eq!(
        r.restores.len(),
        4,
        "saas held nothing, so it restores nothing"
    );
    let vault = r.restores.iter().find(|x| x.target == "vault").unwrap();
    assert_eq!((vault.objects, vault.given_back), (2, 1));
    assert_eq!(vault.finished_at, now + D::seconds(2));
    assert_eq!(
        vault.left_for_a_person,
        vec!["account vault:R1:2 (irreversible): a revoked token cannot be restored; issue a new one".to_string()]
    );
    let open: Vec<(&str, &str)> = r
        .escalations
        .iter()
        .filter(|e| e.open)
        .map(|e| (e.reason.as_str(), e.owner.as_str()))
        .collect();
    assert_eq!(open, vec![("restore_incomplete", "vault-team")]);
    let csv = parse_csv(&to_csv(&rows));
    let col = csv[0].iter().position(|h| h == "restores").unwrap();
    assert!(csv[1][col].contains("vault: 1 of 2 given back at 2026-11-24T09:05:02Z, left: account vault:R1:2 (irreversible)"), "{}", csv[1][col]);
    let html = to_html(&rows, now);
    let by_owner = &html
        [html.find("Open escalations by owner").unwrap()..html.find("<h2>Cases</h2>").unwrap()];
    assert!(
        by_owner.contains("vault-team &lt;vault@example.com&gt; — 1 open"),
        "{by_owner}"
    );
    assert!(by_owner.contains("restore_incomplete for vault"));
    assert!(html.contains("vault: 1 of 2 given back<br>left: account vault:R1:2 (irreversible)"));
}

#[test]
fn escalations_up_the_path_show_their_level_everywhere() {
    let mut p = policy();
    p.escalation_paths.insert(
        "cloud".into(),
        vec![revoke_shared::config::EscalationStep {
            name: "cloud-lead".into(),
            contact: "cloud-lead@example.com".into(),
            after_secs: 600,
        }],
    );
    let mut v = crate::verifier::Verifier::new(p);
    escalated_case(&mut v, "E2", 0);
    let case = apply(&mut v, Input::Tick, t0() + D::seconds(601)).expect("climbed");
    let cases = vec![case];
    let rows = rows(&cases, None, None);
    let levels: Vec<(u32, &str)> = rows[0]
        .escalations
        .iter()
        .map(|e| (e.level, e.owner.as_str()))
        .collect();
    assert_eq!(levels, vec![(0, "cloud-platform"), (1, "cloud-lead")]);
    assert!(rows[0].escalations.iter().all(|e| e.open));

    let csv = parse_csv(&to_csv(&rows));
    let col = |name: &str| csv[0].iter().position(|h| h == name).unwrap();
    let escalations = &csv[1][col("escalations")];
    assert!(
        escalations.starts_with("manual_required cloud at ")
            && escalations.contains("; manual_required cloud (level 1) at "),
        "{escalations}"
    );
    assert_eq!(
        csv[1][col("escalation_owners")],
        "cloud-platform <cloud@example.com>; cloud-lead <cloud-lead@example.com>"
    );
    assert_eq!(csv[1][col("open_escalations")], "2");

    let json: serde_json::Value = serde_json::from_str(&to_json(&rows)).unwrap();
    assert_eq!(json[0]["escalations"][0]["level"], 0);
    assert_eq!(json[0]["escalations"][1]["level"], 1);

    let html = to_html(&rows, t0());
    assert!(
        html.contains(
            "manual_required cloud → cloud-lead (level 1) &lt;cloud-lead@example.com&gt;"
        ),
        "{html}"
    );
    assert!(
        html.contains("manual_required for cloud (level 1), raised"),
        "{html}"
    );
    assert!(
        html.contains("cloud-platform &lt;cloud@example.com&gt; — 1 open"),
        "{html}"
    );
    assert!(
        html.contains("cloud-lead &lt;cloud-lead@example.com&gt; — 1 open"),
        "{html}"
    );
}

/// What came after close, in every format: per case the findings counted and listed, the
/// Shared Signals receivers by outcome; the HTML page counts the cases with access returned and
/// with sign-ins after departure.
#[test]
fn findings_and_signal_deliveries_are_counted_in_every_format() {
    let mut v = verifier();
    let cases = vec![
        closed_case(&mut v, "E1", 0),
        signalled_case(&mut v, "E2", 10),
        reopened_case(&mut v, "E3", 20),
    ];
    let rows = rows(&cases, None, None);
    let (plain, signalled, reopened) = (&rows[0], &rows[1], &rows[2]);
    assert_eq!(
        (plain.access_returned, plain.sign_ins_after_departure),
        (0, 0)
    );
    assert!(plain.findings.is_empty() && plain.signals.is_empty());
    assert_eq!(signalled.state, "closed");
    assert_eq!(reopened.state, "escalated");
    assert_eq!(
        (reopened.access_returned, reopened.sign_ins_after_departure),
        (1, 1)
    );
    assert_eq!(reopened.findings[0].kind, "access_returned");
    assert_eq!(reopened.findings[0].object, "account E3-directory");
    assert_eq!(reopened.findings[0].read_back, "enabled=true");
    let crm = &signalled.signals[0];
    assert_eq!(
        (
            crm.receiver.as_str(),
            crm.outcome.as_str(),
            crm.sets,
            crm.delivered
        ),
        ("crm", "delivered", 2, 2)
    );
    assert_eq!(signalled.signals[1].outcome, "overdue");
    assert!(reopened
        .escalations
        .iter()
        .filter(|e| e.reason != "signal_undelivered")
        .all(|e| e.open));

    let records = parse_csv(&to_csv(&rows));
    let col = |name: &str| records[0].iter().position(|h| h == name).unwrap();
    let cell = |r: usize, name: &str| records[r][col(name)].clone();
    assert_eq!(cell(1, "access_returned"), "0");
    assert_eq!(cell(3, "access_returned"), "1");
    assert_eq!(cell(3, "access_after_departure"), "1");
    assert!(cell(3, "findings")
        .starts_with("access_returned directory (default) account E3-directory at "));
    assert!(cell(3, "findings").contains("access_after_departure vault (default) sign_in login-7"));
    assert_eq!(
        (
            cell(2, "signal_receivers_delivered"),
            cell(2, "signal_receivers_overdue")
        ),
        ("1".into(), "1".into())
    );
    assert!(cell(2, "signals").contains("crm: delivered (2 of 2 SETs accepted, last at "));
    assert!(cell(2, "signals").contains("wiki: overdue (0 of 1 SETs accepted)"));

    let json: serde_json::Value = serde_json::from_str(&to_json(&rows)).unwrap();
    assert_eq!(json[2]["access_returned"], 1);
    assert_eq!(json[2]["sign_ins_after_departure"], 1);
    assert_eq!(json[2]["findings"][1]["kind"], "access_after_departure");
    assert_eq!(json[1]["signals"][1]["outcome"], "overdue");

    let html = to_html(&rows, Utc::now());
    for needle in [
        "<h2>After close</h2>",
        "<td>cases with access returned</td><td class=\"num\">1</td>",
        "<td>cases with sign-ins after departure</td><td class=\"num\">1</td>",
        "<td>Shared Signals receivers delivered</td><td class=\"num\">2</td>",
        "<td>Shared Signals receivers overdue</td><td class=\"num\">2</td>",
        "<strong>access_returned</strong> directory (default) account E3-directory",
        "signals to wiki: overdue, 0 of 1 SETs accepted",
    ] {
        assert!(html.contains(needle), "lacks {needle:?}");
    }
}
