//! Client-side rate control for one target: a token bucket (requests per second + burst), an
//! adaptive ceiling (AIMD) for servers that answer 429 without saying when to come back, and
//! pauses for servers that do say (`Retry-After`, `RateLimit-*`, `X-RateLimit-*`).
//!
//! Everything here is a pure decision over an injected clock (`Instant`s and, for HTTP dates,
//! a `DateTime<Utc>` passed in): the async shell that sleeps and holds concurrency permits is
//! `revoke::adapters::limit`. That keeps the arithmetic unit-tested without waiting.

use chrono::{DateTime, Utc};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The longest pause a server hint may impose. A hint further out is taken as this: a garbage
/// header (or a misread epoch) must not silence a target for days.
pub const MAX_HINT: Duration = Duration::from_secs(3600);
/// Multiplicative decrease on a 429 without a hint (Graph-style): keep 70% of the rate.
pub const DECREASE: f64 = 0.7;
/// The adaptive rate never drops below this (requests per second).
pub const MIN_RATE: f64 = 0.1;
/// At most one cut per this long: a server's window stays spent until it rolls over, so every
/// request until then is refused — one overload, not one cut per refusal (which would collapse
/// the rate to the floor within a window).
pub const CUT_INTERVAL: Duration = Duration::from_secs(1);

/// A target's configured limits (`rate_limit_per_sec`, `burst`, `max_concurrency`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LimitSettings {
    /// Ceiling in requests per second; `None`: no client-side rate until the server throttles.
    pub rate_per_sec: Option<f64>,
    /// Tokens the bucket holds: how many requests may go back to back after a quiet spell.
    pub burst: u32,
    /// Requests in flight at once; `None`: unbounded.
    pub max_concurrency: Option<usize>,
}

impl LimitSettings {
    /// True when any limit is set (the gate is worth installing).
    pub fn is_set(&self) -> bool {
        self.rate_per_sec.is_some() || self.max_concurrency.is_some()
    }
}

/// What a caller must do before sending.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Decision {
    /// Send now; a token was taken.
    Go,
    /// Ask again after this long (a token is not yet available, or the target is paused).
    Wait(Duration),
}

/// Token bucket + AIMD + server-announced pauses for one target.
#[derive(Debug, Clone)]
pub struct RateControl {
    /// The configured ceiling: the effective rate never exceeds it.
    ceiling: Option<f64>,
    burst: f64,
    /// Current rate; `None` while unlimited (no ceiling configured and never throttled).
    effective: Option<f64>,
    tokens: f64,
    last_refill: Option<Instant>,
    /// No request before this (a server hint).
    paused_until: Option<Instant>,
    /// When the rate was last cut: 429s for requests sent before it are echoes of the same
    /// overload and must not cut again (a burst of in-flight 429s is one signal, not N).
    last_cut: Option<Instant>,
    /// The rate in force at the last cut: the additive step is a share of it.
    cut_from: f64,
    /// Smoothed interval between grants, to know the rate actually sent when unlimited.
    ewma_interval: Option<f64>,
    last_grant: Option<Instant>,
    /// Successes within the last `CUT_INTERVAL`: what the server accepted just now is the best
    /// estimate of its limit when it refuses without saying more.
    recent_ok: VecDeque<Instant>,
}

/// Successes remembered for the estimate (bounds memory at very high rates).
const MAX_RECENT: usize = 100_000;

impl RateControl {
    pub fn new(settings: &LimitSettings) -> RateControl {
        let burst = settings.burst.max(1) as f64;
        RateControl {
            ceiling: settings.rate_per_sec,
            burst,
            effective: settings.rate_per_sec,
            tokens: burst,
            last_refill: None,
            paused_until: None,
            last_cut: None,
            cut_from: settings.rate_per_sec.unwrap_or(0.0),
            ewma_interval: None,
            last_grant: None,
            recent_ok: VecDeque::new(),
        }
    }

    /// The rate now allowed (requests per second); `None` when unlimited.
    pub fn effective_rate(&self) -> Option<f64> {
        self.effective
    }

    pub fn paused_until(&self) -> Option<Instant> {
        self.paused_until
    }

    fn refill(&mut self, now: Instant) {
        if let (Some(rate), Some(last)) = (self.effective, self.last_refill) {
            let dt = now.saturating_duration_since(last).as_secs_f64();
            self.tokens = (self.tokens + dt * rate).min(self.burst);
        }
        self.last_refill = Some(now);
    }

    /// May a request go now? Takes a token when it may.
    pub fn poll(&mut self, now: Instant) -> Decision {
        if let Some(until) = self.paused_until {
            if now < until {
                return Decision::Wait(until - now);
            }
            self.paused_until = None;
        }
        self.refill(now);
        let Some(rate) = self.effective else {
            self.note_grant(now);
            return Decision::Go;
        };
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            self.note_grant(now);
            Decision::Go
        } else {
            // At least a millisecond: a zero wait would spin.
            let secs = (1.0 - self.tokens) / rate;
            Decision::Wait(Duration::from_secs_f64(secs).max(Duration::from_millis(1)))
        }
    }

    fn note_grant(&mut self, now: Instant) {
        if let Some(prev) = self.last_grant {
            let dt = now.saturating_duration_since(prev).as_secs_f64();
            self.ewma_interval = Some(match self.ewma_interval {
                None => dt,
                Some(e) => 0.8 * e + 0.2 * dt,
            });
        }
        self.last_grant = Some(now);
    }

    fn forget_old(&mut self, now: Instant) {
        while self
            .recent_ok
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) > CUT_INTERVAL)
        {
            self.recent_ok.pop_front();
        }
    }

    /// The rate actually being sent, as measured from grants (requests per second).
    fn observed_rate(&self) -> Option<f64> {
        self.ewma_interval.filter(|i| *i > 0.0).map(|i| 1.0 / i)
    }

    /// The target answered a request granted at `sent` with "too many requests".
    /// `hint`: how long the server asked us to stay away, if it said.
    pub fn on_throttled(&mut self, now: Instant, sent: Instant, hint: Option<Duration>) {
        match hint {
            Some(h) => {
                // The server said when: nobody calls before then. Then resume with an empty
                // bucket, so the first seconds after the pause are not a burst.
                let until = now + h.min(MAX_HINT);
                let until = self.paused_until.map_or(until, |p| p.max(until));
                self.paused_until = Some(until);
                self.tokens = 0.0;
                self.last_refill = Some(until);
            }
            None => {
                if self
                    .last_cut
                    .is_some_and(|c| sent < c || now < c + CUT_INTERVAL)
                {
                    return;
                }
                // Cut from the rate in force (or, unlimited, the rate being sent) — or from what
                // the server accepted in the last interval when that is lower: a client that
                // was far above the limit lands near it in one step instead of many.
                self.forget_old(now);
                let accepted = self.recent_ok.len() as f64 / CUT_INTERVAL.as_secs_f64();
                let mut current = self
                    .effective
                    .or_else(|| self.observed_rate())
                    .or(self.ceiling)
                    .unwrap_or(1.0);
                if accepted >= 1.0 {
                    current = current.min(accepted);
                }
                self.cut_from = current;
                let mut cut = (current * DECREASE).max(MIN_RATE);
                if let Some(c) = self.ceiling {
                    cut = cut.min(c);
                }
                self.effective = Some(cut);
                self.tokens = 0.0;
                self.last_refill = Some(now);
                self.last_cut = Some(now);
            }
        }
    }

    /// A request succeeded: the adaptive rate climbs back additively — about 5% of the rate at
    /// the last cut per second's worth of successes — never above the configured ceiling.
    /// `hint`: a pause the server announced on a success (`RateLimit-Remaining: 0` + reset).
    pub fn on_success(&mut self, now: Instant, hint: Option<Duration>) {
        self.forget_old(now);
        if self.recent_ok.len() < MAX_RECENT {
            self.recent_ok.push_back(now);
        }
        if let Some(h) = hint {
            let until = now + h.min(MAX_HINT);
            self.paused_until = Some(self.paused_until.map_or(until, |p| p.max(until)));
        }
        let (Some(rate), true) = (self.effective, self.last_cut.is_some()) else {
            return;
        };
        let step = (self.cut_from * 0.05).max(0.5) / rate;
        let mut next = rate + step;
        if let Some(c) = self.ceiling {
            next = next.min(c);
        }
        self.refill(now);
        self.effective = Some(next);
    }
}

/// Whether an HTTP answer means "slow down": every 429, and a 503 that says when to come back
/// (a 503 without a hint is an ordinary outage, retried with the usual backoff).
pub fn is_rate_limited(status: u16, hint: Option<Duration>) -> bool {
    status == 429 || (status == 503 && hint.is_some())
}

/// How long a server asked the client to stay away, from its answer's headers (`get` looks a
/// header up by lower-case name). `now` is the current wall-clock time, for HTTP dates and epoch
/// resets. Read, in order:
/// - `Retry-After`: delta-seconds or an HTTP date (RFC 9110 §10.2.3);
/// - `RateLimit: …;r=0;t=N` / `RateLimit: limit=…, remaining=0, reset=N` (IETF draft,
///   structured forms);
/// - `RateLimit-Reset` (IETF draft: delta-seconds; GitLab: a Unix time), `X-RateLimit-Reset`
///   (GitHub: Unix time), `X-Rate-Limit-Reset` (Okta: Unix time) — a value above 10⁹ is a Unix
///   time, else seconds from now; `RateLimit-ResetTime` (GitLab: an HTTP date).
///
/// Reset headers count only when the request was throttled or the matching remaining count is 0
/// (a reset alone only says when the window rolls over, not that it is spent).
pub fn server_hint<'a>(
    get: impl Fn(&str) -> Option<&'a str>,
    throttled: bool,
    now: DateTime<Utc>,
) -> Option<Duration> {
    if let Some(d) = get("retry-after").and_then(|v| parse_retry_after(v, now)) {
        return Some(d.min(MAX_HINT));
    }
    if let Some(v) = get("ratelimit") {
        let (remaining, reset) = structured_ratelimit(v);
        if let Some(r) = reset {
            if throttled || remaining == Some(0) {
                return Some(Duration::from_secs(r).min(MAX_HINT));
            }
        }
    }
    for (remaining, reset) in [
        ("ratelimit-remaining", "ratelimit-reset"),
        ("x-ratelimit-remaining", "x-ratelimit-reset"),
        ("x-rate-limit-remaining", "x-rate-limit-reset"),
    ] {
        let left = get(remaining).and_then(|v| v.trim().parse::<u64>().ok());
        if !(throttled || left == Some(0)) {
            continue;
        }
        if let Some(d) = get(reset).and_then(|v| parse_reset(v, now)) {
            return Some(d.min(MAX_HINT));
        }
        if remaining == "ratelimit-remaining" {
            if let Some(d) = get("ratelimit-resettime").and_then(|v| http_date_from_now(v, now)) {
                return Some(d.min(MAX_HINT));
            }
        }
    }
    None
}

/// `Retry-After`: delta-seconds (a fraction accepted) or an HTTP date; a date in the past is 0.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0)
            .then(|| Duration::from_secs_f64(secs.min(MAX_HINT.as_secs_f64())));
    }
    http_date_from_now(v, now)
}

fn http_date_from_now(v: &str, now: DateTime<Utc>) -> Option<Duration> {
    let when = DateTime::parse_from_rfc2822(v.trim())
        .ok()?
        .with_timezone(&Utc);
    Some((when - now).to_std().unwrap_or(Duration::ZERO))
}

/// A reset value: a Unix time when above 10⁹ (no window is 30 years long), else seconds.
fn parse_reset(v: &str, now: DateTime<Utc>) -> Option<Duration> {
    let n: f64 = v.trim().parse().ok()?;
    if !n.is_finite() || n < 0.0 {
        return None;
    }
    if n > 1e9 {
        let at = DateTime::<Utc>::from_timestamp_millis((n * 1000.0) as i64)?;
        Some((at - now).to_std().unwrap_or(Duration::ZERO))
    } else {
        Some(Duration::from_secs_f64(n.min(MAX_HINT.as_secs_f64())))
    }
}

/// `(remaining, reset seconds)` from a structured `RateLimit` header: the draft-07+ form
/// `"policy";r=0;t=5` and the older `limit=10, remaining=0, reset=5`.
fn structured_ratelimit(v: &str) -> (Option<u64>, Option<u64>) {
    let (mut remaining, mut reset) = (None, None);
    for part in v.split([';', ',']) {
        let Some((k, val)) = part.split_once('=') else {
            continue;
        };
        let n = val.trim().trim_matches('"').parse::<u64>().ok();
        match k.trim() {
            "r" | "remaining" => remaining = remaining.or(n),
            "t" | "reset" => reset = reset.or(n),
            _ => {}
        }
    }
    (remaining, reset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn limited(rate: f64, burst: u32) -> RateControl {
        RateControl::new(&LimitSettings {
            rate_per_sec: Some(rate),
            burst,
            max_concurrency: None,
        })
    }

    /// No configured rate: only the server's refusals set one.
    fn unlimited() -> RateControl {
        RateControl::new(&LimitSettings {
            rate_per_sec: None,
            burst: 1,
            max_concurrency: None,
        })
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// An unlimited control that let `n` requests go, one every `gap_ms` from `t0`.
    fn unlimited_that_sent(t0: Instant, n: u64, gap_ms: u64) -> RateControl {
        let mut c = unlimited();
        for i in 0..n {
            assert_eq!(c.poll(t0 + ms(gap_ms * i)), Decision::Go);
        }
        c
    }

    /// Grants at `now` until the bucket says wait; returns how many went.
    fn drain(c: &mut RateControl, now: Instant) -> usize {
        let mut n = 0;
        while c.poll(now) == Decision::Go {
            n += 1;
            assert!(n < 10_000, "never stops granting");
        }
        n
    }

    #[test]
    fn burst_then_refill_at_the_rate() {
        let t0 = Instant::now();
        let mut c = limited(10.0, 3);
        assert_eq!(drain(&mut c, t0), 3, "a full bucket lets the burst through");
        match c.poll(t0) {
            Decision::Wait(d) => assert!((99..=101).contains(&d.as_millis()), "{d:?}"),
            Decision::Go => panic!("empty bucket granted"),
        }
        // 250 ms at 10/s refills 2.5 tokens: two go, the third waits ~50 ms.
        assert_eq!(drain(&mut c, t0 + ms(250)), 2);
        match c.poll(t0 + ms(250)) {
            Decision::Wait(d) => assert!((49..=51).contains(&d.as_millis()), "{d:?}"),
            Decision::Go => panic!(),
        }
        // A long quiet spell refills only up to the burst.
        assert_eq!(drain(&mut c, t0 + Duration::from_secs(60)), 3);
    }

    #[test]
    fn a_paced_client_never_exceeds_rate_times_window_plus_burst() {
        // Simulated time: a caller that polls, and on Wait advances the clock by the wait.
        let t0 = Instant::now();
        let mut c = limited(20.0, 2);
        let mut now = t0;
        let mut sent = Vec::new();
        while now < t0 + Duration::from_secs(10) {
            match c.poll(now) {
                Decision::Go => sent.push(now),
                Decision::Wait(d) => now += d,
            }
        }
        // Any one-second window holds at most rate + burst requests; the total is the rate.
        for (i, start) in sent.iter().enumerate() {
            let in_window = sent[i..]
                .iter()
                .take_while(|t| **t < *start + Duration::from_secs(1))
                .count();
            assert!(in_window <= 22, "{in_window} in a window");
        }
        assert!((200..=203).contains(&sent.len()), "{}", sent.len());
    }

    #[test]
    fn unlimited_until_configured_or_throttled() {
        let t0 = Instant::now();
        let mut c = RateControl::new(&LimitSettings {
            rate_per_sec: None,
            burst: 1,
            max_concurrency: Some(4),
        });
        assert_eq!(c.effective_rate(), None);
        for i in 0..1000 {
            assert_eq!(c.poll(t0 + ms(i)), Decision::Go);
        }
    }

    #[test]
    fn retry_after_pauses_every_call_until_then() {
        let t0 = Instant::now();
        let mut c = limited(100.0, 10);
        c.on_throttled(t0, t0, Some(Duration::from_secs(3)));
        assert_eq!(c.poll(t0), Decision::Wait(Duration::from_secs(3)));
        assert_eq!(
            c.poll(t0 + ms(2500)),
            Decision::Wait(ms(500)),
            "no call before the advertised time"
        );
        // A shorter hint from an older request does not shorten the pause.
        c.on_throttled(t0 + ms(10), t0, Some(Duration::from_secs(1)));
        assert_eq!(c.poll(t0 + ms(2999)), Decision::Wait(ms(1)));
        // After it: calls resume, paced from an empty bucket (no burst at the reopening).
        assert!(matches!(c.poll(t0 + ms(3000)), Decision::Wait(_)));
        assert_eq!(c.poll(t0 + ms(3011)), Decision::Go);
        assert_eq!(
            c.effective_rate(),
            Some(100.0),
            "a hint pauses, it does not cut"
        );
        // A hint never pauses beyond the cap.
        c.on_throttled(t0, t0, Some(Duration::from_secs(10 * 86_400)));
        assert_eq!(c.paused_until(), Some(t0 + MAX_HINT));
    }

    #[test]
    fn a_429_without_a_hint_cuts_the_rate_then_it_recovers_additively_to_the_ceiling() {
        let t0 = Instant::now();
        let mut c = limited(20.0, 1);
        c.on_throttled(t0, t0, None);
        assert_eq!(c.effective_rate(), Some(20.0 * DECREASE));
        // The other in-flight requests' 429s (sent before the cut) are the same signal, and so
        // are the refusals until the server's window rolls over.
        for _ in 0..5 {
            c.on_throttled(t0 + ms(5), t0 - ms(1), None);
        }
        c.on_throttled(t0 + ms(900), t0 + ms(800), None);
        assert_eq!(c.effective_rate(), Some(20.0 * DECREASE));
        // A 429 after that, for a request sent after the cut, cuts again.
        c.on_throttled(t0 + ms(1100), t0 + ms(1050), None);
        let twice = 20.0 * DECREASE * DECREASE;
        assert!((c.effective_rate().unwrap() - twice).abs() < 1e-9);
        // Successes climb back: linearly (about one request/s per second of successes at this
        // rate), and never above the configured ceiling.
        let mut now = t0 + ms(1100);
        let mut seen = vec![c.effective_rate().unwrap()];
        for _ in 0..2000 {
            now += ms(50);
            c.on_success(now, None);
            seen.push(c.effective_rate().unwrap());
        }
        assert!(seen.windows(2).all(|w| w[1] >= w[0]), "monotone recovery");
        assert!(seen.iter().all(|r| *r <= 20.0));
        assert_eq!(c.effective_rate(), Some(20.0), "back at the ceiling");
        let after_10 = seen[10];
        assert!(after_10 > twice && after_10 < twice + 1.0, "{after_10}");
    }

    #[test]
    fn the_cut_rate_paces_requests() {
        let t0 = Instant::now();
        let mut c = limited(10.0, 1);
        c.on_throttled(t0, t0, None);
        assert_eq!(
            c.poll(t0),
            Decision::Wait(Duration::from_secs_f64(1.0 / 7.0))
        );
        assert!(c.poll(t0 + ms(142)) != Decision::Go);
        assert_eq!(c.poll(t0 + ms(143)), Decision::Go);
    }

    #[test]
    fn unlimited_cuts_from_the_rate_it_was_sending() {
        let t0 = Instant::now();
        // 50 requests/s, then a Graph-style 429.
        let mut c = unlimited_that_sent(t0, 50, 20);
        let now = t0 + ms(1000);
        c.on_throttled(now, now, None);
        let r = c.effective_rate().unwrap();
        assert!((r - 50.0 * DECREASE).abs() < 0.5, "{r}");
        assert!(matches!(c.poll(now), Decision::Wait(_)));
        // The rate never falls below the floor.
        for i in 0..200 {
            let t = now + Duration::from_secs(i + 1);
            c.on_throttled(t, t, None);
        }
        assert_eq!(c.effective_rate(), Some(MIN_RATE));
    }

    #[test]
    fn far_above_the_limit_the_cut_lands_near_what_the_server_accepted() {
        let t0 = Instant::now();
        // Sending 500/s; the server accepted 40 in the last second, then refuses.
        let mut c = unlimited_that_sent(t0, 500, 2);
        for i in 0..40 {
            c.on_success(t0 + ms(25 * i), None);
        }
        let now = t0 + ms(1000);
        c.on_throttled(now, now, None);
        let r = c.effective_rate().unwrap();
        assert!((r - 40.0 * DECREASE).abs() < 1e-9, "{r}");
    }

    #[test]
    fn remaining_zero_on_a_success_pauses_until_the_reset() {
        let t0 = Instant::now();
        let mut c = limited(100.0, 5);
        c.on_success(t0, Some(Duration::from_secs(2)));
        assert_eq!(c.poll(t0 + ms(1500)), Decision::Wait(ms(500)));
        assert_eq!(c.poll(t0 + ms(2000)), Decision::Go);
    }

    fn hint(pairs: &[(&str, &str)], throttled: bool, now: DateTime<Utc>) -> Option<Duration> {
        let h: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            .collect();
        server_hint(|k| h.get(k).map(String::as_str), throttled, now)
    }

    #[test]
    fn which_answers_are_rate_limits() {
        assert!(is_rate_limited(429, None));
        assert!(is_rate_limited(429, Some(ms(1))));
        assert!(is_rate_limited(503, Some(ms(1))));
        assert!(!is_rate_limited(503, None));
        assert!(!is_rate_limited(500, Some(ms(1))));
        assert!(!is_rate_limited(200, Some(ms(1))));
    }

    #[test]
    fn retry_after_in_seconds_or_as_a_date() {
        let now = DateTime::parse_from_rfc3339("2024-05-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let s = Duration::from_secs;
        assert_eq!(hint(&[("Retry-After", "30")], true, now), Some(s(30)));
        assert_eq!(hint(&[("Retry-After", " 0 ")], true, now), Some(s(0)));
        assert_eq!(hint(&[("Retry-After", "1.5")], true, now), Some(ms(1500)));
        assert_eq!(
            hint(
                &[("Retry-After", "Wed, 01 May 2024 10:01:05 GMT")],
                true,
                now
            ),
            Some(s(65))
        );
        assert_eq!(
            hint(
                &[("Retry-After", "Wed, 01 May 2024 09:00:00 GMT")],
                true,
                now
            ),
            Some(s(0)),
            "a date in the past: go now"
        );
        assert_eq!(hint(&[("Retry-After", "soon")], true, now), None);
        assert_eq!(hint(&[("Retry-After", "-5")], true, now), None);
        assert_eq!(
            hint(&[("Retry-After", "99999999")], true, now),
            Some(MAX_HINT)
        );
        assert_eq!(hint(&[], true, now), None, "Graph-style: no hint at all");
    }

    #[test]
    fn ratelimit_headers_in_their_ietf_and_vendor_forms() {
        let now = DateTime::from_timestamp(1_714_557_600, 0).unwrap();
        let s = Duration::from_secs;
        // (whether the answer was a 429, the pause in seconds they ask for, headers): a table.
        #[rustfmt::skip]
        let cases: [(bool, Option<u64>, &[(&str, &str)]); 10] = [
            // IETF draft: delta-seconds.
            (false, Some(7), &[("RateLimit-Remaining", "0"), ("RateLimit-Reset", "7")]),
            // GitLab: RateLimit-Reset as a Unix time (and RateLimit-ResetTime as a date).
            (true, Some(12), &[("RateLimit-Reset", "1714557612")]),
            (true, Some(9), &[("RateLimit-ResetTime", "Wed, 01 May 2024 10:00:09 GMT")]),
            // GitHub / Okta: X-RateLimit-Reset and X-Rate-Limit-Reset as Unix times.
            (false, Some(30), &[("X-RateLimit-Remaining", "0"), ("X-RateLimit-Reset", "1714557630")]),
            (true, Some(5), &[("X-Rate-Limit-Remaining", "0"), ("X-Rate-Limit-Reset", "1714557605")]),
            // Structured draft forms.
            (false, Some(4), &[("RateLimit", "\"default\";r=0;t=4")]),
            (false, Some(6), &[("RateLimit", "limit=100, remaining=0, reset=6")]),
            // Budget left on a success: the reset is only when the window rolls, not a pause.
            (false, None, &[("RateLimit-Remaining", "12"), ("RateLimit-Reset", "7")]),
            (false, None, &[("RateLimit", "\"default\";r=3;t=4")]),
            // Retry-After wins over the reset headers.
            (true, Some(2), &[("Retry-After", "2"), ("RateLimit-Reset", "7")]),
        ];
        for (throttled, pause, headers) in cases {
            assert_eq!(hint(headers, throttled, now), pause.map(s), "{headers:?}");
        }
    }
}
