//! How `revoke case` shows replays (`revoke replay`): on a replay case, which case it replays,
//! at whose request and through which targets; on any target whose report came from a replay's
//! run, that replay.

use super::render::ts;
use revoke_shared::contract::{Case, TargetStatus};
use std::fmt::Write;

/// The replay section of a replay case (nothing for any other case).
pub fn write_replay(s: &mut String, case: &Case) {
    let Some(r) = case.replay.as_deref() else {
        return;
    };
    let q = &r.request;
    let targets: Vec<&str> = case.required_targets.iter().map(|t| t.as_str()).collect();
    let _ = writeln!(
        s,
        "  REPLAY of case {} ({} when replayed{}): replay {} by {} ({}) at {}, through {}",
        r.of_case,
        r.of_state.as_str(),
        r.of_closed_at
            .map(|t| format!(", closed at {}", ts(t)))
            .unwrap_or_default(),
        q.replay_id,
        q.by,
        r.authenticity.as_str(),
        ts(q.at),
        targets.join(", ")
    );
    let _ = writeln!(
        s,
        "    selected by terminations recorded from {} to {}{}",
        ts(q.from),
        ts(q.to),
        q.note
            .as_deref()
            .map(|n| format!("; note: {n}"))
            .unwrap_or_default()
    );
    for k in &r.skipped {
        let _ = writeln!(s, "    skipped {}: {}", k.target, k.why);
    }
}

/// `, by replay R` for a target status a replay's run made (in a replay case, or counted for
/// the live case it replays).
pub fn replay_mark(st: &TargetStatus) -> String {
    st.signed
        .as_ref()
        .and_then(|s| s.replay)
        .map(|r| format!(", by replay {r}"))
        .unwrap_or_default()
}

/// The verdict of a replay case starts by saying it is one.
pub fn verdict_prefix(case: &Case) -> String {
    case.replay
        .as_deref()
        .map(|r| format!("replay of case {}: ", r.of_case))
        .unwrap_or_default()
}
