//! The verifier's memory per case, measured: a counting allocator tracks the bytes the pure
//! state machine holds after N held, N open and N closed cases (the Kafka shell adds its own
//! buffers, not counted here), at two sizes, and prints bytes per case from the slope between
//! them (what one more case costs, fixed costs left out), plus the time to rebuild N closed
//! cases from their changelog records (parsing the JSON included) and the time of one tick
//! with N closed cases. Asserts nothing.
//!
//!   cargo bench -p revoke-tests --bench verifier_memory -- --cases 10000 --cases 50000
//!
//! Targets (issues 11 and 16): <= 2 KiB per open or held case, <= 150 B per closed case.

use chrono::Duration;
use revoke::verifier::guard::Guard;
use revoke::verifier::{Effect, Input, Verifier};
use revoke_shared::config::{GuardConfig, VerifierConfig};
use revoke_shared::contract::{Case, GuardEntry, TargetKind};
use revoke_tests::bench_cases::{report, t0, termination};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Instant;

/// Bytes currently allocated by the whole process.
struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LIVE.fetch_add(l.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        LIVE.fetch_sub(l.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LIVE.fetch_add(new as isize - l.size() as isize, Ordering::Relaxed);
        unsafe { System.realloc(p, l, new) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

fn live() -> isize {
    LIVE.load(Ordering::Relaxed)
}

fn policy(guard: bool) -> VerifierConfig {
    VerifierConfig {
        guard: GuardConfig {
            enabled: guard,
            max_terminations: 0,
            ..GuardConfig::default()
        },
        ..VerifierConfig::default()
    }
}

/// Bytes the verifier holds after `n` cases in the given shape (what dropping it frees), and for
/// `closed` the case records it published (for the rebuild).
fn measure(n: usize, shape: &str) -> (isize, Vec<Case>) {
    let mut v = Verifier::new(policy(shape == "held"));
    let mut guard = Guard::new(policy(true).guard);
    let mut closed = Vec::new();
    let now = t0();
    for i in 0..n {
        let ev = termination(i);
        let effects = v.apply(Input::Hr(&ev), now);
        if shape == "held" {
            for e in effects {
                if let Effect::Admit(a) = e {
                    for j in guard.apply(i as i64, &GuardEntry::Admission(a)) {
                        drop(v.apply(Input::Guard(&j), now));
                    }
                }
            }
        } else if shape == "closed" {
            drop(effects);
            for k in TargetKind::ALL {
                for e in v.apply(Input::Confirmation(&report(&ev, k)), now) {
                    if let Effect::Case(c) = e {
                        if c.state == revoke_shared::contract::CaseState::Closed {
                            closed.push(c);
                        }
                    }
                }
            }
        }
    }
    drop(guard);
    let with = live();
    drop(v);
    (with - live(), closed)
}

/// What a verifier with `n` closed cases spends: rebuilding them from their changelog records
/// (the JSON as published: parsing included, reading from the broker not), and one tick (which
/// runs every second, and per input in `revoke cases rebuild --check`).
fn rebuild_and_tick(n: usize, records: Vec<Case>) {
    let bytes: Vec<Vec<u8>> = records
        .into_iter()
        .map(|c| serde_json::to_vec(&c).expect("a case serialises"))
        .collect();
    let total: usize = bytes.iter().map(Vec::len).sum();
    let mut v = Verifier::new(policy(false));
    let started = Instant::now();
    for b in &bytes {
        let case: Case = serde_json::from_slice(b).expect("a case parses");
        v.restore(case);
    }
    let rebuild = started.elapsed().as_secs_f64();
    let closed = (0..n)
        .filter(|i| v.is_closed(&termination(*i).case_id()))
        .count();
    println!(
        "  rebuild of {n} closed cases from their records ({:.0} B each, {:.0} MB; parse and restore): {rebuild:.2} s, {:.1} µs per case, {:.0} MB/s ({closed} closed)",
        total as f64 / n as f64,
        total as f64 / 1e6,
        rebuild * 1e6 / n as f64,
        total as f64 / 1e6 / rebuild
    );
    const TICKS: u32 = 20;
    let started = Instant::now();
    for k in 0..TICKS {
        drop(v.apply(Input::Tick, t0() + Duration::seconds(1 + i64::from(k))));
    }
    println!(
        "  one tick with {n} closed cases: {:.3} ms",
        started.elapsed().as_secs_f64() * 1e3 / f64::from(TICKS)
    );
}

fn main() {
    let mut sizes: Vec<usize> = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--cases" {
            if let Some(n) = args.next().and_then(|v| v.parse().ok()) {
                sizes.push(n);
            }
        }
    }
    if sizes.len() < 2 {
        sizes = vec![10_000, 50_000];
    }
    sizes.sort_unstable();
    let (a, b) = (sizes[0], sizes[sizes.len() - 1]);
    println!(
        "verifier memory per case (pure state machine; counting allocator), {a} and {b} cases"
    );
    for shape in ["open", "held", "closed"] {
        let (small, _) = measure(a, shape);
        let (large, records) = measure(b, shape);
        let slope = (large - small) as f64 / (b - a) as f64;
        let target = if shape == "closed" { 150.0 } else { 2048.0 };
        println!(
            "  {shape:>6}: {small:>12} B at {a}, {large:>12} B at {b}: {slope:>8.0} B per case (target <= {target:.0} B: ratio {:.2})",
            slope / target
        );
        if shape == "closed" {
            rebuild_and_tick(b, records);
        }
    }
}
