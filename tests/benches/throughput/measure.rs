//! One run's figures (time, CPU, latency percentiles) and how they are printed.

use super::*;

#[derive(Debug, Clone, Default)]
pub(crate) struct Run {
    pub(crate) pipeline: &'static str,
    pub(crate) leavers: usize,
    /// Records written to Kafka (acknowledged).
    pub(crate) produced: u64,
    /// Records delivered to the pipeline's consumer groups.
    pub(crate) consumed: u64,
    pub(crate) produced_bytes: u64,
    /// From the first produce to the end condition.
    pub(crate) secs: f64,
    /// How long producing the N HR events took (inside `secs`).
    pub(crate) publish_secs: f64,
    /// CPU time (user + system) of this process over `secs` (with the embedded broker this
    /// includes the broker; a real broker's CPU is not counted).
    pub(crate) cpu_secs: f64,
    /// CPU time of the broker (`BENCH_BROKER_PID`) over `secs`.
    pub(crate) broker_cpu_secs: Option<f64>,
    /// revoke only: time to close (closed_at - effective_at) of the closed cases.
    pub(crate) ttc_p50_ms: Option<i64>,
    pub(crate) ttc_p99_ms: Option<i64>,
    /// revoke only: average record sizes read back from the topics.
    pub(crate) avg_confirmation_bytes: Option<u64>,
    pub(crate) avg_case_bytes: Option<u64>,
    /// revoke only: (confirmation + case records read back, produced).
    pub(crate) read_back: (u64, u64),
    pub(crate) case_versions: u64,
    pub(crate) finished: bool,
    pub(crate) note: String,
}

impl Run {
    pub(crate) fn leavers_per_sec(&self) -> f64 {
        self.leavers as f64 / self.secs
    }
    fn moved(&self) -> u64 {
        self.produced + self.consumed
    }
}

/// CPU seconds (user + system) used by this process so far.
pub(crate) fn cpu_seconds() -> f64 {
    proc_cpu_seconds("self")
}

/// CPU seconds of the broker process named by `BENCH_BROKER_PID` (a real broker's JVM), if set.
pub(crate) fn broker_cpu_seconds() -> Option<f64> {
    let pid = std::env::var("BENCH_BROKER_PID")
        .ok()
        .filter(|p| !p.is_empty())?;
    let s = proc_cpu_seconds(pid.trim());
    s.is_finite().then_some(s)
}

fn proc_cpu_seconds(pid: &str) -> f64 {
    // Fields 14 and 15 of /proc/PID/stat, in clock ticks (USER_HZ, 100 on Linux).
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return f64::NAN;
    };
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return f64::NAN;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| {
        f.get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    // `rest` starts at field 3 (state), so field 14 is index 11.
    (tick(11) + tick(12)) / 100.0
}

pub(crate) fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    Some(sorted[idx.min(sorted.len() - 1)])
}

/// A time limit proportional to the work: generous, only there so a stalled broker ends the run.
pub(crate) fn time_limit(n: usize) -> Duration {
    Duration::from_secs(120 + (n as u64) / 50)
}

pub(crate) fn row(i: usize, r: &Run) -> String {
    if r.secs == 0.0 {
        return format!(
            "  {:>3}  {:<12} {:>7}  {}",
            i, r.pipeline, r.leavers, r.note
        );
    }
    let mark = if r.finished { "" } else { "  (UNFINISHED)" };
    format!(
        "  {:>3}  {:<12} {:>7} {:>9} {:>9} {:>9} {:>8.1} {:>8.2} {:>8.2} {:>10.0} {:>10.0} {:>7.1} {:>7.2} {:>9}{mark}",
        i,
        r.pipeline,
        r.leavers,
        r.produced,
        r.consumed,
        r.moved(),
        r.produced_bytes as f64 / 1e6,
        r.secs,
        r.publish_secs,
        r.leavers_per_sec(),
        r.moved() as f64 / r.secs,
        r.produced_bytes as f64 / 1e6 / r.secs,
        r.cpu_secs,
        r.broker_cpu_secs.map(|c| format!("{c:.2}")).unwrap_or_else(|| "-".into()),
    )
}

pub(crate) fn median(mut v: Vec<f64>) -> Option<f64> {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    Some(v[v.len() / 2])
}
