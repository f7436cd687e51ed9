//! The corpus against the contract: replayed through the parser, written as the fuzzer's seeds,
//! and the same for the same seed.

use super::*;
use revoke_shared::contract::{parse_hr_event, HrEventKind};

/// The corpus through the parser, no broker: every expectation holds, with the test's
/// small limit and with the default 256 KiB one (the oversize records are then simply
/// large, so only the records sized against the limit change).
#[test]
fn corpus_matches_the_contract() {
    let limit = 8 * 1024;
    let corpus = Corpus::generate(7, 10_000, limit);
    assert!(corpus.refused().count() >= 10_000);
    let families = corpus.count_by_family();
    assert!(families.len() >= 20, "{families:?}");
    let mut wrong = Vec::new();
    for (i, r) in corpus.records.iter().enumerate() {
        let got = parse_hr_event(&r.raw("hr.terminations", 0, i as i64), limit);
        let ok = match (&r.expect, &got) {
            (Dlq(reason), Err(e)) => e.reason() == *reason,
            (Revokes(id), Ok(ev)) => {
                ev.subject == *id
                    && ev.data.identity.employee_id == *id
                    && r.key.as_deref() == Some(id.as_bytes())
                    && ev.kind == HrEventKind::Termination
                    && !ev.is_scheduled()
                    && r.event_id().as_deref() == Some(ev.id.as_str())
            }
            _ => false,
        };
        if !ok {
            wrong.push(format!(
                "{} expected {:?}, got {:?}; key {:?} payload {:?}",
                r.family,
                r.expect,
                got.map(|e| e.subject)
                    .map_err(|e| (e.reason(), e.to_string())),
                r.key
                    .as_ref()
                    .map(|k| String::from_utf8_lossy(k).into_owned()),
                r.payload
                    .as_ref()
                    .map(|p| String::from_utf8_lossy(&p[..p.len().min(160)]).into_owned()),
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} records not as expected:\n{}",
        wrong.len(),
        corpus.records.len(),
        wrong[..wrong.len().min(20)].join("\n")
    );
    // No accepted record names a bystander, and accepted identities are distinct.
    let accepted: Vec<_> = corpus
        .records
        .iter()
        .filter_map(|r| match &r.expect {
            Revokes(id) => Some(id.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(accepted.len(), corpus.accepted_identities().len());
    for b in &corpus.bystanders {
        assert!(!corpus.accepted_identities().contains(b));
    }
    // With the default limit every record parses the same, except those sized by the limit.
    for (i, r) in corpus.records.iter().enumerate() {
        let got = parse_hr_event(&r.raw("t", 0, i as i64), 256 * 1024);
        if r.family != "oversize" && r.family != "weird_valid" {
            assert_eq!(
                got.map(|_| ()).map_err(|e| e.reason()),
                match r.expect {
                    Dlq(reason) => Err(reason),
                    Revokes(_) => Ok(()),
                },
                "{}",
                r.family
            );
        }
    }
    // And the default limit itself: one byte over 256 KiB is refused unread.
    let big = HostileRecord {
        family: "oversize",
        key: Some(b"E1".to_vec()),
        payload: Some(vec![b' '; 256 * 1024 + 1]),
        headers: vec![],
        expect: Dlq("oversize"),
    };
    assert_eq!(
        parse_hr_event(&big.raw("t", 0, 0), 256 * 1024)
            .unwrap_err()
            .reason(),
        "oversize"
    );
}

/// Writes the fuzz target's seed corpus (docs/testing.md, "Fuzzing the event parser") into `REVOKE_FUZZ_CORPUS`:
/// `REVOKE_FUZZ_CORPUS=fuzz/corpus/parse_event cargo test -p revoke-tests --lib write_fuzz_seed_corpus`.
/// Without it, into a fresh temporary directory, so that every run proves the writer.
#[test]
fn write_fuzz_seed_corpus() {
    let tmp = std::env::temp_dir().join(format!("revoke-seeds-{}", uuid::Uuid::new_v4()));
    let dir = std::env::var_os("REVOKE_FUZZ_CORPUS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| tmp.clone());
    // The fuzz target parses with a 4 KiB limit too: the oversize family is sized for it.
    let n = Corpus::generate(7, 10_000, 4096)
        .write_seed_corpus(&dir)
        .unwrap();
    println!("{n} seeds in {}", dir.display());
    assert!(n > 1000);
    let files = std::fs::read_dir(&dir).unwrap().count();
    assert!(files >= n, "{files} files for {n} seeds");
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn generation_is_deterministic_and_seeded() {
    let a = Corpus::generate(1, 2_000, 4096);
    let b = Corpus::generate(1, 2_000, 4096);
    let c = Corpus::generate(2, 2_000, 4096);
    let enc = |c: &Corpus| -> Vec<Vec<u8>> { c.records.iter().map(encode_fuzz_input).collect() };
    assert_eq!(enc(&a), enc(&b));
    assert_ne!(enc(&a), enc(&c));
}
