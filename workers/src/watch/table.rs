//! What `revoke verify` read, one row per object, as the table it prints, and its verdict (the
//! exit code). Pure.

use super::reread::NotReread;
use revoke_shared::contract::TargetKind;
use uuid::Uuid;

/// What reading one object of the evidence again showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    /// Still gone; the adapter's read-back in words.
    StillGone(String),
    /// Present again: the access returned. The read-back in words.
    Returned(String),
    /// The target could not be read (or no adapter is configured for it here).
    Unreadable(String),
    /// Not read again, and why.
    NotReread(NotReread),
    /// Found by discovery, not named in the evidence, and present: access re-provisioned under
    /// a new id since the case closed. The read-back in words.
    New(String),
    /// Found by discovery, not named in the evidence, but read back gone (created disabled,
    /// locked since): not a finding. The read-back in words.
    NewGone(String),
    /// Discovery at the target failed: what the leaver holds there now is unknown.
    DiscoveryFailed(String),
}

/// One object of one closed case, and what reading it again showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub case_id: Uuid,
    pub identity_id: String,
    pub kind: TargetKind,
    pub object_kind: String,
    pub object_id: String,
    pub reading: Reading,
}

impl Row {
    /// `case`'s row for an object at `kind`.
    pub fn of(
        case: &revoke_shared::contract::Case,
        kind: TargetKind,
        object_kind: &str,
        object_id: &str,
        reading: Reading,
    ) -> Row {
        Row {
            case_id: case.case_id,
            identity_id: case.identity_id.clone(),
            kind,
            object_kind: object_kind.to_string(),
            object_id: object_id.to_string(),
            reading,
        }
    }
}

/// The outcome of a re-verification, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Something the evidence says is gone is present again, or something it does not name is
    /// present (exit code 3).
    Returned,
    /// Nothing returned, but something could not be read (exit code 4): not a clean bill.
    Unreadable,
    /// Every object read again is still gone (exit code 0).
    StillGone,
}

impl Verdict {
    /// The exit code of `revoke verify` (1 and 2 are every command's: failed, bad usage).
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Returned => 3,
            Verdict::Unreadable => 4,
            Verdict::StillGone => 0,
        }
    }
}

pub fn verdict(rows: &[Row]) -> Verdict {
    if rows
        .iter()
        .any(|r| matches!(r.reading, Reading::Returned(_) | Reading::New(_)))
    {
        Verdict::Returned
    } else if rows.iter().any(|r| {
        matches!(
            r.reading,
            Reading::Unreadable(_) | Reading::DiscoveryFailed(_)
        )
    }) {
        Verdict::Unreadable
    } else {
        Verdict::StillGone
    }
}

/// How many of `rows` read as `f` says.
pub fn count(rows: &[Row], f: fn(&Reading) -> bool) -> usize {
    rows.iter().filter(|r| f(&r.reading)).count()
}

fn result_text(r: &Reading) -> String {
    match r {
        Reading::StillGone(d) => format!("still gone: {d}"),
        Reading::Returned(d) => format!("RETURNED: {d}"),
        Reading::Unreadable(e) => format!("could not read: {e}"),
        Reading::NotReread(why) => format!("not re-read: {}", why.as_str()),
        Reading::New(d) => format!("NEW: {}", super::reprovisioned::finding_text(d)),
        Reading::NewGone(d) => format!("not in the evidence, gone: {d}"),
        Reading::DiscoveryFailed(e) => format!("could not read: discovery failed: {e}"),
    }
}

/// The table: a header, one line per object (case, identity, target, object, result), in the
/// rows' order, and a summary line.
pub fn render(rows: &[Row], cases: usize) -> String {
    let header = ["CASE", "IDENTITY", "TARGET", "OBJECT", "RESULT"];
    let lines: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                r.case_id.to_string(),
                r.identity_id.clone(),
                r.kind.as_str().to_string(),
                format!("{} {}", r.object_kind, r.object_id),
                result_text(&r.reading),
            ]
        })
        .collect();
    let mut width = header.map(str::len);
    for l in &lines {
        for (w, cell) in width.iter_mut().zip(l) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let row = |cells: [&str; 5]| -> String {
        let mut s = String::new();
        for (i, (cell, w)) in cells.iter().zip(width).enumerate() {
            if i == 4 {
                s.push_str(cell);
            } else {
                s.push_str(&format!("{cell:<w$}  "));
            }
        }
        s
    };
    let mut out = String::new();
    if !lines.is_empty() {
        out.push_str(&row(header));
        out.push('\n');
        for l in &lines {
            out.push_str(&row([&l[0], &l[1], &l[2], &l[3], &l[4]]));
            out.push('\n');
        }
    }
    let count = |f: fn(&Reading) -> bool| count(rows, f);
    let gone = count(|r| matches!(r, Reading::StillGone(_)));
    let returned = count(|r| matches!(r, Reading::Returned(_)));
    let unreadable = count(|r| matches!(r, Reading::Unreadable(_)));
    let skipped = count(|r| matches!(r, Reading::NotReread(_)));
    let new = count(|r| matches!(r, Reading::New(_)));
    let new_gone = count(|r| matches!(r, Reading::NewGone(_)));
    let undiscovered = count(|r| matches!(r, Reading::DiscoveryFailed(_)));
    out.push_str(&format!(
        "{cases} closed case{}: {} object{} re-read — {gone} still gone, {returned} RETURNED, {unreadable} could not be read; {skipped} not re-read; not in the evidence: {new} NEW, {new_gone} gone; {undiscovered} discover{} failed",
        if cases == 1 { "" } else { "s" },
        gone + returned + unreadable,
        if gone + returned + unreadable == 1 { "" } else { "s" },
        if undiscovered == 1 { "y" } else { "ies" },
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(object_id: &str, reading: Reading) -> Row {
        Row {
            case_id: Uuid::nil(),
            identity_id: "E1".into(),
            kind: TargetKind::Saas,
            object_kind: "account".into(),
            object_id: object_id.into(),
            reading,
        }
    }

    #[test]
    fn the_worst_reading_decides_the_exit_code() {
        let gone = row("a", Reading::StillGone("inactive".into()));
        let back = row("b", Reading::Returned("active".into()));
        let err = row("c", Reading::Unreadable("timeout".into()));
        let skip = row("d", Reading::NotReread(NotReread::RevokedForGood));
        assert_eq!(verdict(&[]), Verdict::StillGone);
        assert_eq!(verdict(&[gone.clone(), skip.clone()]), Verdict::StillGone);
        assert_eq!(verdict(&[gone.clone(), err.clone()]), Verdict::Unreadable);
        assert_eq!(verdict(&[err, back, gone]).exit_code(), 3);
        assert_eq!(Verdict::Unreadable.exit_code(), 4);
        assert_eq!(Verdict::StillGone.exit_code(), 0);
        assert_eq!(verdict(&[skip]).exit_code(), 0);

        // Discovery: something present the evidence does not name is access returned; found but
        // gone is clean; a failed discovery is not a clean bill.
        let new = row("e", Reading::New("member listed".into()));
        let new_gone = row("f", Reading::NewGone("inactive".into()));
        let undiscovered = row("g", Reading::DiscoveryFailed("timeout".into()));
        assert_eq!(verdict(std::slice::from_ref(&new)), Verdict::Returned);
        assert_eq!(verdict(std::slice::from_ref(&new_gone)), Verdict::StillGone);
        assert_eq!(
            verdict(&[new_gone.clone(), undiscovered.clone()]),
            Verdict::Unreadable
        );
        assert_eq!(verdict(&[undiscovered, new_gone, new]).exit_code(), 3);
    }

    #[test]
    fn the_table_says_per_object_what_was_read() {
        let rows = [
            row("Users/1", Reading::StillGone("inactive".into())),
            row("Users/22", Reading::Returned("active: true".into())),
            row("Users/3", Reading::Unreadable("503 from the target".into())),
            row("tok", Reading::NotReread(NotReread::RevokedForGood)),
            row(
                "Users/9",
                Reading::New("GET /Users/{id}: still active".into()),
            ),
            row("Users/8", Reading::NewGone("inactive".into())),
            row("sso", Reading::DiscoveryFailed("HTTP 503".into())),
        ];
        let t = render(&rows, 1);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 9, "{t}");
        assert!(
            lines[0].starts_with("CASE ") && lines[0].ends_with("RESULT"),
            "{t}"
        );
        assert!(
            lines[1].contains("saas") && lines[1].ends_with("still gone: inactive"),
            "{t}"
        );
        assert!(
            lines[2].contains("account Users/22") && lines[2].ends_with("RETURNED: active: true"),
            "{t}"
        );
        assert!(
            lines[3].ends_with("could not read: 503 from the target"),
            "{t}"
        );
        assert!(lines[4].ends_with("not re-read: revoked for good"), "{t}");
        assert!(
            lines[5].contains("account Users/9")
                && lines[5].ends_with(
                    "NEW: re-provisioned: not in the evidence, present now: GET /Users/{id}: still active"
                ),
            "{t}"
        );
        assert!(
            lines[6].ends_with("not in the evidence, gone: inactive"),
            "{t}"
        );
        assert!(
            lines[7].ends_with("could not read: discovery failed: HTTP 503"),
            "{t}"
        );
        // Columns line up: every result starts where the header's does.
        let at = lines[0].find("RESULT").unwrap();
        for l in &lines[1..8] {
            assert!(
                ["still", "RETURNED", "could", "not ", "NEW"]
                    .iter()
                    .any(|p| l[at..].starts_with(p)),
                "{t}"
            );
        }
        assert_eq!(
            lines[8],
            "1 closed case: 3 objects re-read — 1 still gone, 1 RETURNED, 1 could not be read; 1 not re-read; not in the evidence: 1 NEW, 1 gone; 1 discovery failed"
        );
        assert_eq!(
            render(&[], 0),
            "0 closed cases: 0 objects re-read — 0 still gone, 0 RETURNED, 0 could not be read; 0 not re-read; not in the evidence: 0 NEW, 0 gone; 0 discoveries failed"
        );
    }
}
