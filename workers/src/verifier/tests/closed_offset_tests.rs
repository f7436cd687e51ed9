//! A closed case keeps where its closing record is in the changelog, so a rescind after close
//! reads that one record back: noted when the broker acknowledges the close, kept across a
//! rebuild, moved on by a later closing record, and dropped once a rescind reopens the case.

use super::kit::*;

#[test]
fn a_closed_case_keeps_its_closing_records_offset() {
    let mut v = verifier();
    let (_, closed) = open_and_close(&mut v, "E1", "evt-1");
    assert_eq!(closed.state, CaseState::Closed);
    let id = closed.case_id;
    // Not known until the broker acknowledged the record.
    assert_eq!(v.closed_offset(&id), None);
    v.note_closed_offset(&id, 41);
    assert_eq!(v.closed_offset(&id), Some(41));
    // A later closing record of the same case (a late acknowledgement re-published) wins.
    v.note_closed_offset(&id, 57);
    v.note_closed_offset(&id, 41);
    assert_eq!(v.closed_offset(&id), Some(57));

    // Rebuilt from the changelog: the record's own offset.
    let mut rebuilt = verifier();
    rebuilt.restore_at(closed.clone(), 12);
    assert_eq!(rebuilt.closed_offset(&id), Some(12));

    // A rescind reopens the case: no closed marker, no offset; a stray note changes nothing.
    let effects = v.apply(
        Input::RescindClosed(&rescind("E1", "r-1", Some("evt-1")), &closed),
        at(100),
    );
    assert_eq!(
        case_records(&effects).pop().unwrap().state,
        CaseState::Rescinded
    );
    v.note_closed_offset(&id, 99);
    assert_eq!(v.closed_offset(&id), None);
    assert!(!v.is_closed(&id));
}

#[test]
fn a_live_case_has_no_closed_offset() {
    let mut v = verifier();
    let (_, case) = open(&mut v, "E1", "evt-1", at(0), at(0));
    v.note_closed_offset(&case.case_id, 5);
    assert_eq!(v.closed_offset(&case.case_id), None);
    let mut rebuilt = verifier();
    rebuilt.restore_at(case.clone(), 5);
    assert_eq!(rebuilt.closed_offset(&case.case_id), None);
}
