//! The offline re-derivation against a verifier run the way the shell runs it: inputs applied a
//! few milliseconds after they were recorded, the clock ticking on its own phase. The cases it
//! published are re-derived equal from the records; a case record altered, removed or made up
//! on the cases topic is reported, field by field.

use super::inputs::{merge, Recorded};
use super::run::Source;
use super::*;
use crate::verifier::machine::{Effect, Input, Roster, Verifier};
use crate::verifier::tests::kit::{
    at, confirmation, ok, policy, termination, transient, Duration, HrEvent, Outcome, ALL,
};
use revoke_shared::config::{Config, Person, Role};
use revoke_shared::contract::{
    Confirmation, RawMessage, ReplayRequest, TargetKind, REPLAY_REQUEST_SCHEMA,
};

fn config() -> Config {
    Config {
        verifier: revoke_shared::config::VerifierConfig {
            deadline_secs: 100,
            ..policy()
        },
        people: vec![Person {
            id: "alice".into(),
            name: "Alice".into(),
            contact: "alice@example.com".into(),
            roles: vec![Role::Approver],
            public_key: None,
            previous_public_keys: Vec::new(),
        }],
        ..Config::default()
    }
}

fn msg(topic: &str, key: &str, payload: Vec<u8>, offset: i64) -> RawMessage {
    RawMessage {
        topic: topic.into(),
        partition: 0,
        offset,
        key: Some(key.as_bytes().to_vec()),
        payload: Some(payload),
        headers: Vec::new(),
        timestamp_ms: None,
    }
}

/// The inputs of a day's work, recorded at `(secs, record)`: E1 closes, E2's cloud fails
/// transiently and closes on its re-drive, E3 never confirms (its deadline passes), and E1's
/// closed case is replayed through the directory, which held the account again.
fn inputs(cfg: &Config) -> Vec<(i64, Source, RawMessage)> {
    let t = &cfg.topics;
    let mut out = Vec::new();
    let mut off = 0;
    let mut next = || {
        off += 1;
        off
    };
    let hr = |ev: &HrEvent, o| {
        msg(
            &t.terminations,
            &ev.subject,
            serde_json::to_vec(&ev.to_structured_json()).unwrap(),
            o,
        )
    };
    let conf = |c: &Confirmation, o| {
        msg(
            &t.confirmations,
            &c.identity_id,
            serde_json::to_vec(c).unwrap(),
            o,
        )
    };
    let (e1, e2, e3) = (
        termination("E1", "evt-1", at(0)),
        termination("E2", "evt-2", at(0)),
        termination("E3", "evt-3", at(0)),
    );
    for ev in [&e1, &e2, &e3] {
        out.push((0, Source::Terminations, hr(ev, next())));
    }
    for (i, k) in ALL.iter().enumerate() {
        out.push((
            2 + i as i64,
            Source::Confirmations,
            conf(&ok(&e1, *k, at(2 + i as i64)), next()),
        ));
        if *k != TargetKind::Cloud {
            out.push((
                2 + i as i64,
                Source::Confirmations,
                conf(&ok(&e2, *k, at(2 + i as i64)), next()),
            ));
        }
    }
    out.push((
        8,
        Source::Confirmations,
        conf(&transient(&e2, TargetKind::Cloud, at(8)), next()),
    ));
    let mut again = ok(&e2, TargetKind::Cloud, at(75));
    again.redrive = 1;
    out.push((75, Source::Confirmations, conf(&again, next())));
    let request = ReplayRequest {
        schema: REPLAY_REQUEST_SCHEMA.into(),
        replay_id: uuid::Uuid::from_u128(9),
        case_id: e1.case_id(),
        identity_id: "E1".into(),
        targets: vec![TargetKind::Directory],
        from: at(-10),
        to: at(10),
        by: "alice".into(),
        at: at(300),
        note: None,
        signature: None,
    };
    out.push((
        300,
        Source::Confirmations,
        msg(
            &t.confirmations,
            "E1",
            serde_json::to_vec(&request).unwrap(),
            next(),
        ),
    ));
    let mut found = confirmation(&e1, TargetKind::Directory, Outcome::Revoked, true, at(302));
    found.case_id = request.replay_case_id();
    found.replay = Some(request.replay_id);
    out.push((302, Source::Confirmations, conf(&found, next())));
    out
}

/// The verifier as the shell runs it: each input 7 ms after it was recorded, ticks every
/// second at a phase of its own (0.3 s); returns the latest version of each case published.
fn live_run(cfg: &Config, inputs: &[(i64, Source, RawMessage)]) -> Actual {
    let mut v = Verifier::new(cfg.verifier.clone()).with_roster(Roster::from_config(cfg));
    let mut latest: HashMap<Uuid, Case> = HashMap::new();
    let keep = |effects: Vec<Effect>, latest: &mut HashMap<Uuid, Case>| {
        for e in effects {
            if let Effect::Case(c) = e {
                latest.insert(c.case_id, c);
            }
        }
    };
    let mut clock = at(0) + Duration::milliseconds(300);
    for (secs, source, m) in inputs {
        let now = at(*secs) + Duration::milliseconds(7);
        while clock < now {
            keep(v.apply(Input::Tick, clock), &mut latest);
            clock += Duration::seconds(1);
        }
        let effects = match source {
            Source::Terminations => {
                let ev = revoke_shared::signing::parse_hr_input(m, cfg).unwrap();
                v.apply(Input::Hr(&ev), now)
            }
            Source::Confirmations => {
                let keys = revoke_shared::signing::EvidenceKeys::from_config(&[]).unwrap();
                let checks = crate::verifier::shell::intake::Checks {
                    fleet: None,
                    evidence_keys: &keys,
                    people: &cfg.people,
                    signing_required: false,
                };
                match crate::verifier::shell::intake::classify(m, &checks).unwrap() {
                    crate::verifier::shell::intake::Classified::Confirmation(c) => {
                        v.apply(Input::Confirmation(&c), now)
                    }
                    crate::verifier::shell::intake::Classified::Replay(r, raw) => {
                        let closed = latest.get(&r.case_id).cloned();
                        v.apply(Input::Replay(&r, &raw, closed.as_ref()), now)
                    }
                    other => panic!("{other:?}"),
                }
            }
            Source::Guard => unreachable!(),
        };
        keep(effects, &mut latest);
    }
    for _ in 0..200 {
        keep(v.apply(Input::Tick, clock), &mut latest);
        clock += Duration::seconds(1);
    }
    let mut a = Actual::default();
    for c in latest.into_values() {
        a.times.extend(clock_times(&c));
        a.partitions.insert(c.case_id, vec![0]);
        a.latest.insert(c.case_id, c);
    }
    a
}

fn steps(inputs: &[(i64, Source, RawMessage)], actual: &Actual) -> Vec<inputs::Step> {
    let stream: Vec<Recorded> = inputs
        .iter()
        .map(|(secs, source, m)| Recorded {
            source: *source,
            msg: m.clone(),
            at: at(*secs),
        })
        .collect();
    let mut by_source: BTreeMap<Source, Vec<Recorded>> = BTreeMap::new();
    for r in stream {
        by_source.entry(r.source).or_default().push(r);
    }
    merge(by_source.into_values().collect(), actual.times.clone())
}

#[test]
fn a_verifier_s_cases_are_re_derived_equal_from_its_inputs() {
    let cfg = config();
    let inputs = inputs(&cfg);
    let actual = live_run(&cfg, &inputs);
    // What the day made: E1 closed, its replay closed with access found again, E2 closed after
    // its re-drive, E3 escalated at its deadline.
    assert_eq!(actual.latest.len(), 4);
    let states: Vec<&str> = {
        let mut v: Vec<&str> = actual.latest.values().map(|c| c.state.as_str()).collect();
        v.sort();
        v
    };
    assert_eq!(states, ["closed", "closed", "closed", "escalated"]);
    let report = check(&cfg, steps(&inputs, &actual), &actual).unwrap();
    assert!(report.equal(), "{:#?}", report.different);
    assert_eq!((report.actual, report.derived), (4, 4));
    assert_eq!(report.counts.terminations, 3);
}

#[test]
fn an_altered_removed_or_made_up_case_record_is_a_difference() {
    let cfg = config();
    let inputs = inputs(&cfg);
    let mut actual = live_run(&cfg, &inputs);
    let e1 = termination("E1", "evt-1", at(0)).case_id();
    let e3 = termination("E3", "evt-3", at(0)).case_id();
    // E1's latest version re-published with the directory's evidence changed; E3's removed; a
    // case nobody terminated added.
    let mut forged = actual.latest[&e1].clone();
    forged.revision += 1;
    forged
        .targets
        .get_mut(&TargetKind::Directory)
        .unwrap()
        .objects[0]
        .read_back = "locked (trust me)".into();
    actual.latest.insert(e1, forged);
    let gone = actual.latest.remove(&e3).unwrap();
    let mut made_up = gone.clone();
    made_up.case_id = Uuid::from_u128(1234);
    actual.latest.insert(made_up.case_id, made_up);
    actual.partitions.insert(Uuid::from_u128(1234), vec![0]);
    let report = check(&cfg, steps(&inputs, &actual), &actual).unwrap();
    assert!(!report.equal());
    match &report.different[&e1].1 {
        CaseDifference::Fields(d, n) => {
            assert_eq!(*n, 1, "{d:?}");
            assert_eq!(d[0].field, "targets.directory.objects[0].read_back");
            assert_eq!(d[0].actual, "\"locked (trust me)\"");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(report.different[&e3].1, CaseDifference::Missing);
    assert_eq!(
        report.different[&Uuid::from_u128(1234)].1,
        CaseDifference::NotDerived
    );
    assert_eq!(report.different.len(), 3);
}
