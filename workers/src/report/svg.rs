//! The time-to-revoke chart of the HTML page: per target p50/p90/max as an inline SVG bar chart,
//! and `esc`, the escaping of record text for the chart and the page.

use super::model::Row;
use revoke_shared::contract::TargetKind;
use std::collections::BTreeMap;

/// Escapes text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Time-to-revoke statistics of one target over the rows (verified targets only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spread {
    pub n: usize,
    pub p50: i64,
    pub p90: i64,
    pub max: i64,
}

/// Nearest-rank percentile of sorted values (`q` in 0..=1).
fn percentile(sorted: &[i64], q: f64) -> i64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// Per target kind, the spread of `time_to_revoke_ms` (kinds without values are left out).
pub fn spreads(rows: &[Row]) -> BTreeMap<TargetKind, Spread> {
    let mut out = BTreeMap::new();
    for k in TargetKind::ALL {
        let mut v: Vec<i64> = rows
            .iter()
            .filter_map(|r| r.targets.get(&k).and_then(|t| t.time_to_revoke_ms))
            .collect();
        if v.is_empty() {
            continue;
        }
        v.sort_unstable();
        out.insert(
            k,
            Spread {
                n: v.len(),
                p50: percentile(&v, 0.5),
                p90: percentile(&v, 0.9),
                max: *v.last().expect("not empty"),
            },
        );
    }
    out
}

fn ms_label(ms: i64) -> String {
    if ms.abs() < 1000 {
        format!("{ms} ms")
    } else if ms.abs() < 120_000 {
        format!("{:.1} s", ms as f64 / 1000.0)
    } else if ms.abs() < 7_200_000 {
        format!("{:.1} min", ms as f64 / 60_000.0)
    } else {
        format!("{:.1} h", ms as f64 / 3_600_000.0)
    }
}

/// The time-to-revoke chart: per target three horizontal bars (p50, p90, max), one scale.
pub fn chart_svg(spreads: &BTreeMap<TargetKind, Spread>) -> String {
    use std::fmt::Write;
    let bar_h = 12;
    let gap = 4;
    let group_h = 3 * (bar_h + gap) + 14;
    let left = 150.0;
    let width = 760.0;
    let plot = width - left - 90.0;
    let height = 30 + group_h * spreads.len().max(1) as i32;
    let top = spreads.values().map(|s| s.max).max().unwrap_or(0).max(1) as f64;
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="time to revoke per target: p50, p90 and max">"#
    );
    let _ = write!(
        s,
        r##"<g font-family="sans-serif" font-size="11"><rect x="{left}" y="4" width="10" height="10" fill="#4c78a8"/><text x="{}" y="13">p50</text><rect x="{}" y="4" width="10" height="10" fill="#f58518"/><text x="{}" y="13">p90</text><rect x="{}" y="4" width="10" height="10" fill="#e45756"/><text x="{}" y="13">max</text></g>"##,
        left + 14.0,
        left + 50.0,
        left + 64.0,
        left + 100.0,
        left + 114.0
    );
    if spreads.is_empty() {
        let _ = write!(
            s,
            r#"<text x="10" y="45" font-family="sans-serif" font-size="12">no verified target with a time to revoke in this period</text>"#
        );
    }
    for (i, (kind, sp)) in spreads.iter().enumerate() {
        let y0 = 24 + i as i32 * group_h;
        let _ = write!(
            s,
            r##"<text x="8" y="{}" font-family="sans-serif" font-size="12" font-weight="bold">{}</text><text x="8" y="{}" font-family="sans-serif" font-size="11" fill="#555">n = {}</text>"##,
            y0 + 14,
            esc(kind.as_str()),
            y0 + 30,
            sp.n
        );
        for (j, (label, v, color)) in [
            ("p50", sp.p50, "#4c78a8"),
            ("p90", sp.p90, "#f58518"),
            ("max", sp.max, "#e45756"),
        ]
        .into_iter()
        .enumerate()
        {
            let y = y0 + 4 + j as i32 * (bar_h + gap);
            let w = (v.max(0) as f64 / top * plot).max(1.0);
            let _ = write!(
                s,
                r#"<rect x="{left}" y="{y}" width="{w:.1}" height="{bar_h}" fill="{color}"><title>{} {label} {v} ms</title></rect><text x="{:.1}" y="{}" font-family="sans-serif" font-size="11">{}</text>"#,
                esc(kind.as_str()),
                left + w + 4.0,
                y + bar_h - 2,
                esc(&ms_label(v))
            );
        }
    }
    s.push_str("</svg>");
    s
}
