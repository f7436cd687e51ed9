//! The text `revoke case --verify` and `revoke report --verify` print.

use super::check::CaseCheck;

/// The text `--verify` prints: per case a summary line, then each finding named.
pub fn render(checks: &[CaseCheck]) -> String {
    let mut s = String::new();
    for c in checks {
        let revs = match (c.first_revision, c.last_revision) {
            (Some(a), Some(b)) => format!("revisions {a}..{b}"),
            _ => "revisions ?".into(),
        };
        let signed = if c.signed == 0 {
            "unsigned".to_string()
        } else {
            format!("{} signed by the verifier", c.signed)
        };
        s.push_str(&format!(
            "case {}: {} — {} versions ({revs}), {signed}; worker reports: {} verified, {} unsigned; decisions: {} verified ({} from the guard log)\n",
            c.case_id,
            if c.ok() { "OK" } else { "FAILED" },
            c.versions,
            c.reports_verified,
            c.reports_unsigned,
            c.decisions_verified,
            c.guard_decisions_verified
        ));
        for f in &c.findings {
            let rev = f.revision.map_or("?".into(), |r| r.to_string());
            s.push_str(&format!(
                "  {:<16} revision {rev} at {}: {}\n",
                f.kind.as_str().to_uppercase(),
                f.at,
                f.detail
            ));
        }
    }
    s
}
