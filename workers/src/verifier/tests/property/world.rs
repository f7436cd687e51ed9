//! The random worlds a property run plays: leavers, what each target reports, and the
//! shuffled schedule of inputs.

use super::super::kit::*;

/// What one target of one identity reports over the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// One verified success.
    Verified,
    /// A failure and a verified success (in whatever order they end up).
    RetriedThenVerified,
    /// Only failures.
    Fails,
    /// Only unverified successes.
    Unverified,
}

pub struct Leaver {
    pub ev: HrEvent,
    pub plans: BTreeMap<TargetKind, Plan>,
    /// Published before its effective time: scheduled, handed over once when due.
    pub dated: bool,
    /// HR takes the termination back at some point: while it is scheduled, open, escalated or
    /// after it closed (wherever the shuffle puts it, but always after the termination itself:
    /// both are on the identity's partition of the HR topic).
    pub rescinded: bool,
    /// Shared Signals receivers of the case: (name, an overdue record, a delivered record).
    pub receivers: Vec<(String, bool, bool)>,
}

impl Leaver {
    pub fn expect_closed(&self) -> bool {
        self.plans
            .values()
            .all(|p| matches!(p, Plan::Verified | Plan::RetriedThenVerified))
    }

    /// Closed at the end of the run: every target verified, and never rescinded.
    pub fn ends_closed(&self) -> bool {
        self.expect_closed() && !self.rescinded
    }

    pub fn targets_planned(&self, wanted: &[Plan]) -> BTreeSet<TargetKind> {
        self.plans
            .iter()
            .filter(|(_, p)| wanted.contains(p))
            .map(|(t, _)| *t)
            .collect()
    }
}

/// One generated run: the policy, the leavers and the schedule of inputs with their instants.
/// Restore reports are not in the schedule: the simulated workers answer the restore requests
/// the verifier publishes (see `Workers`).
pub struct World {
    pub policy: VerifierConfig,
    pub leavers: Vec<Leaver>,
    pub schedule: Vec<(Step, DateTime<Utc>)>,
}

pub fn is_rescind(step: &Step, identity: &str) -> bool {
    matches!(step, Step::Hr(ev) if ev.kind == HrEventKind::Rescinded && ev.subject == identity)
}

pub fn is_signal(step: &Step, identity: &str) -> bool {
    matches!(step, Step::Signal(d) if d.identity_id == identity)
}

pub fn is_termination(step: &Step, identity: &str) -> bool {
    matches!(step, Step::Hr(ev) if ev.kind == HrEventKind::Termination && ev.subject == identity)
}

pub fn generate(rng: &mut Rng) -> World {
    let mut policy = policy();
    if rng.chance(50) {
        // Unresolved escalations climb (the default path serves every target here).
        policy.escalation_paths.insert(
            "default".into(),
            vec![step("lead", 1800), step("ciso", 5400)],
        );
    }
    let n = 1 + rng.below(6) as usize;
    let mut leavers = Vec::new();
    let mut inputs: Vec<Step> = Vec::new();
    let mut after_all: Vec<Step> = Vec::new();
    for i in 0..n {
        let mut ev = termination(
            &format!("E{i}"),
            &format!("evt-{i}"),
            at(rng.below(1200) as i64),
        );
        let effective = ev.data.effective_at.unwrap();
        let dated = rng.chance(25);
        if dated {
            ev.time = effective - Duration::seconds(2 + rng.below(900) as i64);
            assert!(ev.is_scheduled());
        }
        let mut plans = BTreeMap::new();
        let mut mine = vec![Step::Hr(ev.clone())];
        for t in ALL {
            let plan = match rng.below(100) {
                0..=54 => Plan::Verified,
                55..=69 => Plan::RetriedThenVerified,
                70..=87 => Plan::Fails,
                _ => Plan::Unverified,
            };
            plans.insert(t, plan);
            let when = effective + Duration::seconds(rng.below(600) as i64);
            // Half the failures are transient only: the verifier plans re-drives for them.
            let fail = if rng.chance(50) { transient } else { failed };
            match plan {
                Plan::Verified => mine.push(Step::Conf(ok(&ev, t, when))),
                Plan::RetriedThenVerified => {
                    mine.push(Step::Conf(fail(&ev, t, when)));
                    mine.push(Step::Conf(ok(&ev, t, when + Duration::seconds(30))));
                }
                Plan::Fails => mine.push(Step::Conf(fail(&ev, t, when))),
                Plan::Unverified => mine.push(Step::Conf(unverified(&ev, t, when))),
            }
        }
        // A rescind, naming its termination or not (then it applies to the identity's latest).
        let rescinded = rng.chance(30);
        let mut last = Vec::new();
        if rescinded {
            let names = rng.chance(50).then(|| ev.id.clone());
            let r = Step::Hr(rescind(&ev.subject, &format!("r-{i}"), names.as_deref()));
            // Half of them anywhere among the leaver's inputs, half after everything (mostly
            // after the case closed or escalated).
            if rng.chance(50) {
                mine.push(r);
            } else {
                last.push(r);
            }
        }
        // Shared Signals: receivers that accepted, were overdue first, or never accepted; the
        // records anywhere after the termination (reordered among themselves too), or after
        // everything (mostly after the case closed).
        let mut receivers = Vec::new();
        let mut signals = Vec::new();
        if rng.chance(40) {
            let case = Case::opened(ev.case_id(), &ev.subject, Vec::new(), t0());
            let base = (effective - t0()).num_seconds();
            for name in ["crm", "wiki"].iter().take(1 + rng.below(2) as usize) {
                let (overdue, delivered) = match rng.below(3) {
                    0 => (true, false),
                    1 => (true, true),
                    _ => (false, true),
                };
                let jti = format!("{name}-1");
                if overdue {
                    let d = delivery(&case, name, DeliveryOutcome::Overdue, &[&jti], base + 700);
                    signals.push(Step::Signal(d));
                }
                if delivered {
                    let d = delivery(&case, name, DeliveryOutcome::Delivered, &[&jti], base + 900);
                    signals.push(Step::Signal(d));
                }
                receivers.push((name.to_string(), overdue, delivered));
            }
        }
        if rng.chance(50) {
            mine.extend(signals);
        } else {
            last.extend(signals);
        }
        // Duplicates: the very same record again (at-least-once), or a re-run's re-emission.
        for step in mine.clone() {
            if rng.chance(25) {
                mine.push(step.clone());
            }
            if let Step::Conf(c) = &step {
                if rng.chance(10) {
                    mine.push(Step::Conf(reemitted(c, 120)));
                }
            }
        }
        for step in last.clone() {
            if rng.chance(25) {
                last.push(step);
            }
        }
        inputs.extend(mine);
        after_all.extend(last);
        leavers.push(Leaver {
            ev,
            plans,
            dated,
            rescinded,
            receivers,
        });
    }
    rng.shuffle(&mut inputs);
    inputs.extend(after_all);
    // HR order per identity: no copy of a rescind before the first copy of its termination;
    // and signals are only sent for a case the transmitter read, so after it too.
    for l in &leavers {
        let id = &l.ev.subject;
        loop {
            let first_term = inputs.iter().position(|s| is_termination(s, id)).unwrap();
            let after = |s: &Step| is_rescind(s, id) || is_signal(s, id);
            match inputs[..first_term].iter().position(after) {
                Some(r) => inputs.swap(r, first_term),
                None => break,
            }
        }
    }

    // A clock that moves by a random step before each input; ticks sprinkled in. Some seeds
    // move slowly (no deadline passes), some fast (most do).
    let max_step = 1 + rng.below(400);
    let mut now = t0();
    let mut schedule = Vec::new();
    for input in inputs {
        now += Duration::seconds(rng.below(max_step) as i64);
        if rng.chance(20) {
            schedule.push((Step::Tick, now));
        }
        schedule.push((input, now));
    }
    // The last tick comes after every effective time, so every dated case has been handed over.
    let latest = leavers
        .iter()
        .filter_map(|l| l.ev.data.effective_at)
        .max()
        .unwrap_or(now);
    schedule.push((Step::Tick, now.max(latest + Duration::seconds(1))));
    World {
        policy,
        leavers,
        schedule,
    }
}
