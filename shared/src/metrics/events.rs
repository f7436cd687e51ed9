//! What happens in a revoke process, as typed metric events: with `cases` (the verifier's gauges
//! of what it holds) and `lag` (consumer lag from librdkafka's statistics), the only code that
//! writes a series of [`Metrics`].
//!
//! One struct (or enum) per thing that happens; its `emit` names the series it updates and the
//! label values it writes. Label values come from the contract's enums (`TargetKind`, `Outcome`,
//! `CaseState`, `EscalationReason`) or from the enums here, so the set of values a label takes
//! is written down once. A label is a `&str` only where its value is a bounded name the process
//! is configured with (a consumer group) or a `&'static str` reason the code names (a dead
//! letter's reason, a refused input's reason).

use super::Metrics;
use crate::contract::{CaseState, EscalationReason, ObjectOutcome, Outcome, TargetKind};
use chrono::TimeDelta;
use prometheus::{IntCounter, IntGauge};
use std::time::Duration;

/// Something that happened, counted in [`Metrics`]. Emit it with [`Metrics::emit`].
pub trait MetricEvent {
    fn emit(self, metrics: &Metrics);
}

/// Seconds for a histogram; a span that runs backwards (clock skew) counts as zero.
fn seconds(span: TimeDelta) -> f64 {
    span.num_milliseconds().max(0) as f64 / 1000.0
}

// ---- Consuming -------------------------------------------------------------------------------

/// One consumer group's series (`revoke_events_consumed_total`, `revoke_events_handled_total`,
/// `revoke_in_flight`, `revoke_assigned_partitions`), bound to the group once: the consume loop
/// counts every record, and looking the label up each time would cost a hash and a lock per
/// record.
pub struct ConsumerSeries {
    consumed: IntCounter,
    handled: IntCounter,
    in_flight: IntGauge,
    assigned_partitions: IntGauge,
}

impl ConsumerSeries {
    /// The series of consumer group `group` (a configured name: bounded).
    pub fn new(metrics: &Metrics, group: &str) -> ConsumerSeries {
        ConsumerSeries {
            consumed: metrics.events_consumed.with_label_values(&[group]),
            handled: metrics.events_handled.with_label_values(&[group]),
            in_flight: metrics.in_flight.with_label_values(&[group]),
            assigned_partitions: metrics.assigned_partitions.with_label_values(&[group]),
        }
    }

    /// A record was read.
    pub fn record_read(&self) {
        self.consumed.inc();
    }

    /// A record was fully handled, its output acknowledged.
    pub fn record_handled(&self) {
        self.handled.inc();
    }

    /// Records read and not yet fully handled, now.
    pub fn in_flight(&self, records: usize) {
        self.in_flight.set(records as i64);
    }

    /// Partitions assigned to the group, now; returns whether that changed the count.
    pub fn assigned_partitions(&self, partitions: i64) -> bool {
        let changed = self.assigned_partitions.get() != partitions;
        self.assigned_partitions.set(partitions);
        changed
    }
}

/// A handler failed in a way that keeps its record in flight; it is retried.
pub struct HandlerRetried<'a> {
    /// The consumer group (a configured name: bounded).
    pub consumer: &'a str,
}

impl MetricEvent for HandlerRetried<'_> {
    fn emit(self, m: &Metrics) {
        m.handler_errors.with_label_values(&[self.consumer]).inc();
    }
}

/// A record was refused and its dead letter acknowledged.
pub struct DeadLettered<'a> {
    /// The consumer group that refused it (a configured name: bounded).
    pub consumer: &'a str,
    /// Why: one of the reasons the code names (`DeadLetter::reason`), hence `'static`.
    pub reason: &'static str,
}

impl MetricEvent for DeadLettered<'_> {
    fn emit(self, m: &Metrics) {
        m.dlq.with_label_values(&[self.consumer, self.reason]).inc();
    }
}

// ---- Workers -----------------------------------------------------------------------------------

/// A worker published its confirmation for one target.
pub struct TargetConfirmed {
    pub target: TargetKind,
    pub outcome: Outcome,
    /// From the termination's effective time to the last verified removal, when both are known.
    pub time_to_revoke: Option<TimeDelta>,
}

impl MetricEvent for TargetConfirmed {
    fn emit(self, m: &Metrics) {
        let target = self.target.as_str();
        m.revocations
            .with_label_values(&[target, self.outcome.as_str()])
            .inc();
        if let Some(span) = self.time_to_revoke {
            m.time_to_revoke
                .with_label_values(&[target])
                .observe(seconds(span));
        }
    }
}

/// A worker finished with one object (account, membership, key, token …) on a target.
pub struct ObjectHandled {
    pub target: TargetKind,
    /// Labelled `owner="sponsored"` when true, `owner="human"` otherwise.
    pub sponsored: bool,
    pub outcome: ObjectOutcome,
}

impl MetricEvent for ObjectHandled {
    fn emit(self, m: &Metrics) {
        let owner = if self.sponsored { "sponsored" } else { "human" };
        let outcome = match self.outcome {
            ObjectOutcome::Revoked => "revoked",
            ObjectOutcome::AlreadyAbsent => "already_absent",
            ObjectOutcome::Failed => "failed",
            ObjectOutcome::ManualRequired => "manual_required",
        };
        m.objects
            .with_label_values(&[self.target.as_str(), owner, outcome])
            .inc();
    }
}

/// A call to a target failed transiently and is tried again.
pub struct TargetCallRetried {
    pub target: TargetKind,
}

impl MetricEvent for TargetCallRetried {
    fn emit(self, m: &Metrics) {
        m.retries.with_label_values(&[self.target.as_str()]).inc();
    }
}

// ---- Verifier ----------------------------------------------------------------------------------

/// The verifier published a version of a case.
pub struct CaseVersionPublished {
    pub state: CaseState,
}

impl MetricEvent for CaseVersionPublished {
    fn emit(self, m: &Metrics) {
        m.case_updates
            .with_label_values(&[self.state.as_str()])
            .inc();
    }
}

/// A case closed (its closing version published).
pub struct CaseClosed {
    /// Labelled `outcome="closed_after_escalation"` when true, `outcome="closed"` otherwise.
    pub after_escalation: bool,
    /// From the termination's effective time to the close.
    pub time_to_close: TimeDelta,
}

impl MetricEvent for CaseClosed {
    fn emit(self, m: &Metrics) {
        let outcome = if self.after_escalation {
            "closed_after_escalation"
        } else {
            "closed"
        };
        m.time_to_close
            .with_label_values(&[outcome])
            .observe(seconds(self.time_to_close));
    }
}

/// The verifier raised an escalation.
pub struct EscalationRaised {
    pub reason: EscalationReason,
}

impl MetricEvent for EscalationRaised {
    fn emit(self, m: &Metrics) {
        m.escalations
            .with_label_values(&[self.reason.as_str()])
            .inc();
    }
}

/// What the verifier records beside case versions (`revoke_verifier_notes_total{what}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerifierNote {
    /// A scheduled termination handed over to the workers (effective, and let through by the guard).
    Due,
    /// A target re-driven after transient failures.
    Redrive,
    /// A case sent to the blast-radius guard for release.
    Admit,
    /// After a rescind, a target's workers asked to give back what they revoked.
    RestoreRequested,
    /// A rescind of a closed case whose closing record had to be found by scanning the changelog.
    ClosedCaseScanned,
    RescindReplayed,
    RescindForUnknownCase,
    RescindAfterClose,
    CancelledBeforeEffective,
    ScheduledCaseWithoutTermination,
    RedriveWithoutTermination,
    TerminationJoinedLiveCase,
    RestoreReportForCaseNotRescinded,
    RestoreReportForUnknownCase,
    /// A worker reported a target a person had acknowledged, after the case closed.
    LateConfirmationAfterClose,
    StrayConfirmationDropped,
    RejectedByPerson,
    RestoreRejectedByPerson,
    ReleasedCaseWithoutTermination,
    /// A replay request (`revoke replay`) opened a replay case.
    ReplayOpened,
    /// A rescind ended a replay of the rescinded case that was under way.
    ReplayRescinded,
    /// An input the verifier refused (it is dead-lettered), by its dead-letter reason: one the
    /// code names, hence `'static`.
    Refused(&'static str),
}

impl VerifierNote {
    /// The `what` label value.
    pub fn as_str(self) -> &'static str {
        match self {
            VerifierNote::Due => "due",
            VerifierNote::Redrive => "redrive",
            VerifierNote::Admit => "admit",
            VerifierNote::RestoreRequested => "restore_requested",
            VerifierNote::ClosedCaseScanned => "closed_case_scanned",
            VerifierNote::RescindReplayed => "rescind_replayed",
            VerifierNote::RescindForUnknownCase => "rescind_for_unknown_case",
            VerifierNote::RescindAfterClose => "rescind_after_close",
            VerifierNote::CancelledBeforeEffective => "cancelled_before_effective",
            VerifierNote::ScheduledCaseWithoutTermination => "scheduled_case_without_termination",
            VerifierNote::RedriveWithoutTermination => "redrive_without_termination",
            VerifierNote::TerminationJoinedLiveCase => "termination_joined_live_case",
            VerifierNote::RestoreReportForCaseNotRescinded => {
                "restore_report_for_case_not_rescinded"
            }
            VerifierNote::RestoreReportForUnknownCase => "restore_report_for_unknown_case",
            VerifierNote::LateConfirmationAfterClose => "late_confirmation_after_close",
            VerifierNote::StrayConfirmationDropped => "stray_confirmation_dropped",
            VerifierNote::RejectedByPerson => "rejected_by_person",
            VerifierNote::RestoreRejectedByPerson => "restore_rejected_by_person",
            VerifierNote::ReleasedCaseWithoutTermination => "released_case_without_termination",
            VerifierNote::ReplayOpened => "replay_opened",
            VerifierNote::ReplayRescinded => "replay_rescinded",
            VerifierNote::Refused(reason) => reason,
        }
    }
}

impl std::fmt::Display for VerifierNote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl MetricEvent for VerifierNote {
    fn emit(self, m: &Metrics) {
        m.verifier_notes.with_label_values(&[self.as_str()]).inc();
    }
}

/// Whether the process is ready now (what `/readyz` answers), read when `/metrics` is scraped.
pub struct Readiness(pub bool);

impl MetricEvent for Readiness {
    fn emit(self, m: &Metrics) {
        m.ready.set(i64::from(self.0));
    }
}

/// What the blast-radius guard now keeps in memory (the verifier's guard counts in this).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GuardMemory {
    /// Verdicts kept on released requests (each forgotten two windows after its release).
    pub released: usize,
    /// Held cases: undecided, in an undecided batch (never forgotten). Also exported as
    /// `revoke_guard_held_cases`.
    pub held: usize,
    /// Verdicts kept on decided cases (never forgotten, a small entry each).
    pub decided: usize,
    /// Batches with a case still undecided.
    pub held_batches: usize,
    /// Fully decided batches still listed (for two windows after their last decision).
    pub decided_batches: usize,
    /// Fully decided batches no longer listed: their why and decisions only.
    pub settled_batches: usize,
}

impl MetricEvent for GuardMemory {
    fn emit(self, m: &Metrics) {
        let set = |g: &prometheus::IntGaugeVec, label: &str, n: usize| {
            g.with_label_values(&[label]).set(n as i64)
        };
        set(&m.guard_verdicts, "released", self.released);
        set(&m.guard_verdicts, "held", self.held);
        set(&m.guard_verdicts, "decided", self.decided);
        set(&m.guard_batches, "held", self.held_batches);
        set(&m.guard_batches, "decided", self.decided_batches);
        set(&m.guard_batches, "settled", self.settled_batches);
        m.guard_held_cases.set(self.held as i64);
    }
}

// ---- Webhook -----------------------------------------------------------------------------------

/// One webhook delivery attempt of an escalation.
pub enum WebhookAttempt {
    /// The receiver answered 2xx, `after` the escalation's first attempt (retries included).
    Delivered { after: Duration },
    /// It failed; the delivery is retried.
    Retry,
}

impl MetricEvent for WebhookAttempt {
    fn emit(self, m: &Metrics) {
        match self {
            WebhookAttempt::Delivered { after } => {
                m.webhook_deliveries.with_label_values(&["delivered"]).inc();
                m.webhook_delivery_seconds.observe(after.as_secs_f64());
            }
            WebhookAttempt::Retry => m.webhook_deliveries.with_label_values(&["retry"]).inc(),
        }
    }
}

/// An escalation's webhook delivery started or stopped failing (`revoke_webhook_failing`), or
/// being stuck: failing `escalations.webhook_alert_after` times or more (`revoke_webhook_stuck`).
pub enum WebhookTrouble {
    FailingBegan,
    FailingEnded,
    StuckBegan,
    StuckEnded,
}

impl MetricEvent for WebhookTrouble {
    fn emit(self, m: &Metrics) {
        match self {
            WebhookTrouble::FailingBegan => m.webhook_failing.inc(),
            WebhookTrouble::FailingEnded => m.webhook_failing.dec(),
            WebhookTrouble::StuckBegan => m.webhook_stuck.inc(),
            WebhookTrouble::StuckEnded => m.webhook_stuck.dec(),
        }
    }
}

// ---- After a case closed (`revoke verify`, `revoke watch`) --------------------------------------

/// Access seen again after a case closed, published as a finding.
pub struct AccessFound {
    pub kind: crate::contract::FindingKind,
    pub target: TargetKind,
}

impl MetricEvent for AccessFound {
    fn emit(self, m: &Metrics) {
        m.watch_findings
            .with_label_values(&[self.kind.as_str(), self.target.as_str()])
            .inc();
    }
}

/// Which read of a target after a case closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterCloseRead {
    /// An object the evidence says is gone, read again (`Target::verify`).
    Reverify,
    /// The target's sign-in log (`Target::sign_ins_since`).
    SignIns,
}

/// One read of a target after a case closed: answered, or failed (retried at the next round).
pub struct TargetReadAfterClose {
    pub target: TargetKind,
    pub read: AfterCloseRead,
    pub ok: bool,
}

impl MetricEvent for TargetReadAfterClose {
    fn emit(self, m: &Metrics) {
        let read = match self.read {
            AfterCloseRead::Reverify => "reverify",
            AfterCloseRead::SignIns => "sign_ins",
        };
        let result = if self.ok { "ok" } else { "error" };
        m.watch_reads
            .with_label_values(&[self.target.as_str(), read, result])
            .inc();
    }
}

/// A target's adapter reads no sign-in log: the watch skips it (idempotent: a gauge at 1).
pub struct NoSignInLog(pub TargetKind);

impl MetricEvent for NoSignInLog {
    fn emit(self, m: &Metrics) {
        m.watch_no_sign_in_log
            .with_label_values(&[self.0.as_str()])
            .set(1);
    }
}

/// Closed cases the watch holds within its window, now.
pub struct WatchedCases(pub usize);

impl MetricEvent for WatchedCases {
    fn emit(self, m: &Metrics) {
        m.watch_cases.set(self.0 as i64);
    }
}

// ---- Shared Signals ------------------------------------------------------------------------------

/// What became of one SET for one receiver (`revoke signals`).
pub enum SignalOutcome<'a> {
    /// Accepted (push: 202; poll: acknowledged), `after` its first attempt.
    Delivered {
        receiver: &'a str,
        via: &'a str,
        after: Duration,
    },
    /// A push failed; it is retried.
    Retry { receiver: &'a str },
    /// Refused for good (dead-lettered).
    Refused { receiver: &'a str },
    /// Not accepted within the receiver's SLA (reported once per case).
    Overdue { receiver: &'a str },
    /// Not planned: the case lacks what the receiver's subject format needs.
    Skipped { receiver: &'a str, reason: &'a str },
}

impl MetricEvent for SignalOutcome<'_> {
    fn emit(self, m: &Metrics) {
        let count = |r: &str, o: &str| m.signals_sets.with_label_values(&[r, o]).inc();
        match self {
            SignalOutcome::Delivered {
                receiver,
                via,
                after,
            } => {
                count(receiver, "delivered");
                m.signals_delivery_seconds
                    .with_label_values(&[via])
                    .observe(after.as_secs_f64());
            }
            SignalOutcome::Retry { receiver } => count(receiver, "retry"),
            SignalOutcome::Refused { receiver } => count(receiver, "refused"),
            SignalOutcome::Overdue { receiver } => count(receiver, "overdue"),
            SignalOutcome::Skipped { receiver, reason } => m
                .signals_skipped
                .with_label_values(&[receiver, reason])
                .inc(),
        }
    }
}

/// A SET's delivery started or stopped failing (`revoke_signals_failing`), or being stuck
/// (`revoke_signals_stuck`).
pub enum SignalTrouble {
    FailingBegan,
    FailingEnded,
    StuckBegan,
    StuckEnded,
}

impl MetricEvent for SignalTrouble {
    fn emit(self, m: &Metrics) {
        match self {
            SignalTrouble::FailingBegan => m.signals_failing.inc(),
            SignalTrouble::FailingEnded => m.signals_failing.dec(),
            SignalTrouble::StuckBegan => m.signals_stuck.inc(),
            SignalTrouble::StuckEnded => m.signals_stuck.dec(),
        }
    }
}

#[cfg(test)]
mod tests {
    //! Each event family renders exactly the series today's dashboards and docs
    //! (`docs/operations.md`) name: a renamed metric, label or value fails here.

    use super::*;

    fn assert_renders(m: &Metrics, series: &[&str]) {
        let text = m.render();
        for s in series {
            assert!(text.contains(s), "{s} not in\n{text}");
        }
    }

    #[test]
    fn consumer_series() {
        let m = Metrics::new();
        let c = ConsumerSeries::new(&m, "revoke-worker-vault");
        c.record_read();
        c.record_read();
        c.record_handled();
        c.in_flight(1);
        assert!(c.assigned_partitions(3));
        assert!(!c.assigned_partitions(3));
        m.emit(HandlerRetried {
            consumer: "revoke-worker-vault",
        });
        m.emit(DeadLettered {
            consumer: "revoke-verifier",
            reason: "malformed",
        });
        assert_renders(
            &m,
            &[
                r#"revoke_events_consumed_total{consumer="revoke-worker-vault"} 2"#,
                r#"revoke_events_handled_total{consumer="revoke-worker-vault"} 1"#,
                r#"revoke_in_flight{consumer="revoke-worker-vault"} 1"#,
                r#"revoke_assigned_partitions{consumer="revoke-worker-vault"} 3"#,
                r#"revoke_handler_errors_total{consumer="revoke-worker-vault"} 1"#,
                r#"revoke_dlq_total{consumer="revoke-verifier",reason="malformed"} 1"#,
            ],
        );
    }

    #[test]
    fn worker_events() {
        let m = Metrics::new();
        m.emit(TargetConfirmed {
            target: TargetKind::Vault,
            outcome: Outcome::Revoked,
            time_to_revoke: Some(TimeDelta::milliseconds(1500)),
        });
        m.emit(TargetConfirmed {
            target: TargetKind::Saas,
            outcome: Outcome::ManualRequired,
            time_to_revoke: None,
        });
        m.emit(ObjectHandled {
            target: TargetKind::Vault,
            sponsored: false,
            outcome: ObjectOutcome::AlreadyAbsent,
        });
        m.emit(ObjectHandled {
            target: TargetKind::Cloud,
            sponsored: true,
            outcome: ObjectOutcome::ManualRequired,
        });
        m.emit(TargetCallRetried {
            target: TargetKind::Saas,
        });
        assert_renders(
            &m,
            &[
                r#"revoke_revocations_total{outcome="revoked",target="vault"} 1"#,
                r#"revoke_revocations_total{outcome="manual_required",target="saas"} 1"#,
                r#"revoke_time_to_revoke_seconds_sum{target="vault"} 1.5"#,
                r#"revoke_time_to_revoke_seconds_count{target="vault"} 1"#,
                r#"revoke_objects_total{outcome="already_absent",owner="human",target="vault"} 1"#,
                r#"revoke_objects_total{outcome="manual_required",owner="sponsored",target="cloud"} 1"#,
                r#"revoke_retries_total{target="saas"} 1"#,
            ],
        );
        assert!(!m
            .render()
            .contains(r#"revoke_time_to_revoke_seconds_count{target="saas"}"#));
    }

    #[test]
    fn verifier_events() {
        let m = Metrics::new();
        m.emit(CaseVersionPublished {
            state: CaseState::Closed,
        });
        m.emit(CaseClosed {
            after_escalation: false,
            time_to_close: TimeDelta::seconds(2),
        });
        m.emit(CaseClosed {
            after_escalation: true,
            // clock skew: counted as zero
            time_to_close: TimeDelta::seconds(-5),
        });
        m.emit(EscalationRaised {
            reason: EscalationReason::BlastRadiusHold,
        });
        let mut counts = crate::metrics::CaseCounts::default();
        for _ in 0..4 {
            counts.add(CaseState::Open);
        }
        m.emit(counts);
        m.emit(GuardMemory {
            released: 1,
            held: 2,
            decided: 3,
            held_batches: 4,
            decided_batches: 5,
            settled_batches: 6,
        });
        assert_renders(
            &m,
            &[
                r#"revoke_case_updates_total{state="closed"} 1"#,
                r#"revoke_time_to_close_seconds_sum{outcome="closed"} 2"#,
                r#"revoke_time_to_close_seconds_sum{outcome="closed_after_escalation"} 0"#,
                r#"revoke_escalations_total{reason="blast_radius_hold"} 1"#,
                "revoke_open_cases 4",
                r#"revoke_guard_verdicts{verdict="released"} 1"#,
                r#"revoke_guard_verdicts{verdict="held"} 2"#,
                r#"revoke_guard_verdicts{verdict="decided"} 3"#,
                r#"revoke_guard_batches{state="held"} 4"#,
                r#"revoke_guard_batches{state="decided"} 5"#,
                r#"revoke_guard_batches{state="settled"} 6"#,
                "revoke_guard_held_cases 2",
            ],
        );
    }

    #[test]
    fn verifier_notes_keep_their_label_values() {
        let m = Metrics::new();
        let notes = [
            (VerifierNote::Due, "due"),
            (VerifierNote::Redrive, "redrive"),
            (VerifierNote::Admit, "admit"),
            (VerifierNote::RestoreRequested, "restore_requested"),
            (VerifierNote::ClosedCaseScanned, "closed_case_scanned"),
            (VerifierNote::RescindReplayed, "rescind_replayed"),
            (VerifierNote::ReplayOpened, "replay_opened"),
            (VerifierNote::ReplayRescinded, "replay_rescinded"),
            (
                VerifierNote::RescindForUnknownCase,
                "rescind_for_unknown_case",
            ),
            (VerifierNote::RescindAfterClose, "rescind_after_close"),
            (
                VerifierNote::CancelledBeforeEffective,
                "cancelled_before_effective",
            ),
            (
                VerifierNote::ScheduledCaseWithoutTermination,
                "scheduled_case_without_termination",
            ),
            (
                VerifierNote::RedriveWithoutTermination,
                "redrive_without_termination",
            ),
            (
                VerifierNote::TerminationJoinedLiveCase,
                "termination_joined_live_case",
            ),
            (
                VerifierNote::RestoreReportForCaseNotRescinded,
                "restore_report_for_case_not_rescinded",
            ),
            (
                VerifierNote::RestoreReportForUnknownCase,
                "restore_report_for_unknown_case",
            ),
            (
                VerifierNote::LateConfirmationAfterClose,
                "late_confirmation_after_close",
            ),
            (
                VerifierNote::StrayConfirmationDropped,
                "stray_confirmation_dropped",
            ),
            (VerifierNote::RejectedByPerson, "rejected_by_person"),
            (
                VerifierNote::RestoreRejectedByPerson,
                "restore_rejected_by_person",
            ),
            (
                VerifierNote::ReleasedCaseWithoutTermination,
                "released_case_without_termination",
            ),
            (
                VerifierNote::Refused("rescind_wrong_source"),
                "rescind_wrong_source",
            ),
        ];
        for (note, _) in notes {
            m.emit(note);
        }
        let series: Vec<String> = notes
            .iter()
            .map(|(_, what)| format!(r#"revoke_verifier_notes_total{{what="{what}"}} 1"#))
            .collect();
        assert_renders(&m, &series.iter().map(String::as_str).collect::<Vec<_>>());
    }

    #[test]
    fn webhook_events() {
        let m = Metrics::new();
        m.emit(WebhookAttempt::Retry);
        m.emit(WebhookAttempt::Retry);
        m.emit(WebhookAttempt::Delivered {
            after: Duration::from_millis(250),
        });
        m.emit(WebhookTrouble::FailingBegan);
        m.emit(WebhookTrouble::FailingBegan);
        m.emit(WebhookTrouble::FailingEnded);
        m.emit(WebhookTrouble::StuckBegan);
        assert_renders(
            &m,
            &[
                r#"revoke_webhook_deliveries_total{outcome="retry"} 2"#,
                r#"revoke_webhook_deliveries_total{outcome="delivered"} 1"#,
                "revoke_webhook_delivery_seconds_sum 0.25",
                "revoke_webhook_delivery_seconds_count 1",
                "revoke_webhook_failing 1",
                "revoke_webhook_stuck 1",
            ],
        );
    }

    #[test]
    fn after_close_events() {
        use crate::contract::FindingKind;
        let m = Metrics::new();
        m.emit(AccessFound {
            kind: FindingKind::AccessReturned,
            target: TargetKind::Saas,
        });
        m.emit(AccessFound {
            kind: FindingKind::SignInAfterDeparture,
            target: TargetKind::Directory,
        });
        m.emit(TargetReadAfterClose {
            target: TargetKind::Saas,
            read: AfterCloseRead::Reverify,
            ok: true,
        });
        m.emit(TargetReadAfterClose {
            target: TargetKind::Directory,
            read: AfterCloseRead::SignIns,
            ok: false,
        });
        m.emit(NoSignInLog(TargetKind::Vault));
        m.emit(NoSignInLog(TargetKind::Vault));
        m.emit(WatchedCases(7));
        assert_renders(
            &m,
            &[
                r#"revoke_watch_findings_total{kind="access_returned",target="saas"} 1"#,
                r#"revoke_watch_findings_total{kind="access_after_departure",target="directory"} 1"#,
                r#"revoke_watch_reads_total{read="reverify",result="ok",target="saas"} 1"#,
                r#"revoke_watch_reads_total{read="sign_ins",result="error",target="directory"} 1"#,
                r#"revoke_watch_no_sign_in_log{target="vault"} 1"#,
                "revoke_watch_cases 7",
            ],
        );
    }

    #[test]
    fn signal_events() {
        let m = Metrics::new();
        m.emit(SignalOutcome::Retry { receiver: "app" });
        m.emit(SignalOutcome::Delivered {
            receiver: "app",
            via: "push",
            after: Duration::from_millis(500),
        });
        m.emit(SignalOutcome::Skipped {
            receiver: "app",
            reason: "no_email",
        });
        m.emit(SignalOutcome::Overdue { receiver: "app" });
        m.emit(SignalTrouble::StuckBegan);
        assert_renders(
            &m,
            &[
                r#"revoke_signals_sets_total{outcome="retry",receiver="app"} 1"#,
                r#"revoke_signals_sets_total{outcome="delivered",receiver="app"} 1"#,
                r#"revoke_signals_sets_total{outcome="overdue",receiver="app"} 1"#,
                r#"revoke_signals_skipped_total{reason="no_email",receiver="app"} 1"#,
                r#"revoke_signals_delivery_seconds_sum{via="push"} 0.5"#,
                "revoke_signals_stuck 1",
            ],
        );
    }
}
