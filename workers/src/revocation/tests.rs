//! The run's unit tests: outcome rules, retries and `Retry-After`, lost answers, re-drives and
//! where evidence may claim `observed`.

use super::*;
use crate::adapters::sim::Simulator;
use crate::adapters::{ReadBack, RevokeResult, TargetError};
use revoke_shared::config::SimulatorConfig;
use revoke_shared::contract::{IdentityKind, Provenance, TargetKind};
use std::time::Duration;

/// Evidence of object `object_id` with `outcome`, read back as gone (what `target_outcome` and
/// `restore_plan` look at is the outcome alone).
pub(crate) fn evidence(object_id: &str, outcome: ObjectOutcome) -> ObjectEvidence {
    ObjectEvidence {
        object_kind: "k".into(),
        object_id: object_id.into(),
        sponsored: false,
        action: "lock".into(),
        outcome,
        removed_at: None,
        actor: Actor {
            worker_id: "w".into(),
            principal: "p".into(),
        },
        verified: true,
        provenance: Provenance::Observed,
        read_back: String::new(),
        error: None,
    }
}

fn ev(outcome: ObjectOutcome) -> ObjectEvidence {
    evidence("i", outcome)
}

#[test]
fn outcome_rules() {
    use ObjectOutcome::*;
    assert_eq!(target_outcome(&[]), Outcome::AlreadyAbsent);
    assert_eq!(target_outcome(&[ev(AlreadyAbsent)]), Outcome::AlreadyAbsent);
    assert_eq!(
        target_outcome(&[ev(AlreadyAbsent), ev(Revoked)]),
        Outcome::Revoked
    );
    assert_eq!(target_outcome(&[ev(Revoked), ev(Failed)]), Outcome::Failed);
    assert_eq!(
        target_outcome(&[ev(Failed), ev(ManualRequired)]),
        Outcome::ManualRequired
    );
    assert_eq!(
        outcome_for_error(&TargetError::Ambiguous("x".into())),
        Outcome::ManualRequired
    );
    assert_eq!(
        outcome_for_error(&TargetError::Transient("x".into())),
        Outcome::Failed
    );
    assert_eq!(
        outcome_for_error(&TargetError::rate_limited("x".into(), None)),
        Outcome::Failed
    );
}

/// Quick retries: three attempts within a second.
pub(crate) fn policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        initial: Duration::from_millis(1),
        max_delay: Duration::from_millis(2),
        max_total: Duration::from_secs(1),
    }
}

pub(crate) fn who() -> Identity {
    Identity {
        employee_id: "E1".into(),
        email: None,
        username: Some("ada".into()),
        kind: IdentityKind::Employee,
    }
}

/// `revoke_identity` of `who()` on `target`, as worker "w1", with the quick `policy()`.
async fn revoke_who(target: &dyn Target, m: &Metrics) -> RevocationReport {
    revoke_identity(target, &who(), "w1", &policy(), m).await
}

/// `revoke_who` on a fresh simulator of `kind` whose default config `set` changes: the report
/// and the metrics the run counted.
async fn revoke_on_simulator(
    kind: TargetKind,
    set: impl FnOnce(&mut SimulatorConfig),
) -> (RevocationReport, Metrics) {
    let mut config = SimulatorConfig::default();
    set(&mut config);
    let m = Metrics::new();
    let r = revoke_who(&Simulator::new(kind, config), &m).await;
    (r, m)
}

#[tokio::test]
async fn second_run_is_already_absent_with_the_original_times() {
    let sim = Simulator::new(TargetKind::Directory, SimulatorConfig::default());
    let m = Metrics::new();
    let first = revoke_who(&sim, &m).await;
    assert_eq!(first.outcome, Outcome::Revoked);
    assert!(first
        .objects
        .iter()
        .all(|o| o.verified && o.removed_at.is_some()));
    let second = revoke_who(&sim, &m).await;
    assert_eq!(second.outcome, Outcome::AlreadyAbsent);
    let times = |r: &RevocationReport| r.objects.iter().map(|o| o.removed_at).collect::<Vec<_>>();
    assert_eq!(times(&first), times(&second));
    assert!(sim.actions_for("E1").iter().all(|(_, n)| *n == 1));
}

#[tokio::test]
async fn transient_errors_are_retried_and_counted() {
    let (r, m) = revoke_on_simulator(TargetKind::Saas, |c| c.flaky_rate = 1.0).await;
    assert_eq!(r.outcome, Outcome::Revoked, "{:?}", r.error);
    assert!(r.attempts > r.objects.len() as u32 * 2 + 1);
    assert!(m.retries.with_label_values(&["saas"]).get() > 0);
}

#[test]
fn a_retry_waits_at_least_the_servers_retry_after_within_the_total_time() {
    let p = RetryPolicy {
        max_attempts: 5,
        initial: Duration::from_millis(100),
        max_delay: Duration::from_secs(1),
        max_total: Duration::from_secs(10),
    };
    let ms = Duration::from_millis;
    assert_eq!(next_wait(&p, ms(0), ms(100), None), Some(ms(100)));
    assert_eq!(
        next_wait(&p, ms(0), ms(100), Some(ms(3000))),
        Some(ms(3000))
    );
    assert_eq!(next_wait(&p, ms(0), ms(800), Some(ms(20))), Some(ms(800)));
    // Past the total time: give up rather than retry early or wait beyond the bound.
    assert_eq!(next_wait(&p, ms(8000), ms(100), Some(ms(3000))), None);
    assert_eq!(next_wait(&p, ms(0), ms(100), Some(ms(60_000))), None);
    assert_eq!(next_wait(&p, ms(9900), ms(100), None), Some(ms(100)));
}

/// The names a fake target answers with: its kind and instance (what its evidence records) and
/// the principal "p". The fakes below differ only in what `discover`, `revoke` and `verify` do.
macro_rules! fake_target_names {
    ($kind:ident, $instance:literal) => {
        fn kind(&self) -> TargetKind {
            TargetKind::$kind
        }
        fn instance(&self) -> &str {
            $instance
        }
        fn principal(&self) -> &str {
            "p"
        }
    };
}

/// An object a fake target finds: `kind`/`id`, not sponsored, to be undone by `action`.
fn held(kind: &str, id: &str, action: &str) -> Holding {
    Holding {
        object_kind: kind.into(),
        object_id: id.into(),
        sponsored: false,
        action: action.into(),
    }
}

/// A target that answers 429 with `Retry-After` a few times, recording when each call came.
struct Throttling {
    calls: std::sync::Mutex<Vec<std::time::Instant>>,
    throttle: usize,
    retry_after: Duration,
}

#[async_trait::async_trait]
impl Target for Throttling {
    fake_target_names!(Saas, "t");
    async fn discover(&self, _: &Identity) -> Result<Vec<Holding>, TargetError> {
        let mut calls = self.calls.lock().unwrap();
        calls.push(std::time::Instant::now());
        if calls.len() <= self.throttle {
            return Err(TargetError::rate_limited(
                "listing users: HTTP 429".into(),
                Some(self.retry_after),
            ));
        }
        Ok(Vec::new())
    }
    async fn revoke(&self, _: &Identity, _: &Holding) -> Result<RevokeResult, TargetError> {
        unreachable!()
    }
    async fn verify(
        &self,
        _: &Identity,
        _: &Holding,
    ) -> Result<crate::adapters::ReadBack, TargetError> {
        unreachable!()
    }
}

#[tokio::test]
async fn retry_after_is_honoured_and_a_too_long_one_fails_naming_it() {
    // The policy's own backoff is 1–2 ms; the server asks for 150 ms.
    let t = Throttling {
        calls: Default::default(),
        throttle: 2,
        retry_after: Duration::from_millis(150),
    };
    let r = revoke_who(&t, &Metrics::new()).await;
    assert_eq!(r.outcome, Outcome::AlreadyAbsent, "{:?}", r.error);
    let calls = t.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 3);
    for w in calls.windows(2) {
        assert!(
            w[1] - w[0] >= Duration::from_millis(150),
            "{:?}",
            w[1] - w[0]
        );
    }

    // Retry-After beyond the policy's total time (1 s): no early retry, a failure naming it.
    let t = Throttling {
        calls: Default::default(),
        throttle: 10,
        retry_after: Duration::from_secs(30),
    };
    let r = revoke_who(&t, &Metrics::new()).await;
    assert_eq!(r.outcome, Outcome::Failed);
    assert_eq!(t.calls.lock().unwrap().len(), 1);
    let e = r.error.unwrap();
    assert!(e.contains("429") && e.contains("Retry-After 30.0 s"), "{e}");
}

#[tokio::test]
async fn permanent_failure_is_reported_not_retried() {
    let (r, m) = revoke_on_simulator(TargetKind::Cloud, |c| c.fail_rate = 1.0).await;
    assert_eq!(r.outcome, Outcome::Failed);
    assert!(r.error.unwrap().contains("403"));
    assert_eq!(m.retries.with_label_values(&["cloud"]).get(), 0);
}

#[tokio::test]
async fn ambiguous_match_requires_a_person() {
    let sim = Simulator::new(TargetKind::Vault, SimulatorConfig::default());
    sim.mark_ambiguous("E1");
    let r = revoke_who(&sim, &Metrics::new()).await;
    assert_eq!(r.outcome, Outcome::ManualRequired);
    assert!(r.objects.is_empty());
}

/// A target whose calls fail as told: discovery, and per object (by id) the revoke.
struct Failing {
    discover: Option<TargetError>,
    revoke: Vec<(String, Option<TargetError>)>,
}

#[async_trait::async_trait]
impl Target for Failing {
    fake_target_names!(Vault, "f");
    async fn discover(&self, _: &Identity) -> Result<Vec<Holding>, TargetError> {
        if let Some(e) = &self.discover {
            return Err(e.clone());
        }
        Ok(self
            .revoke
            .iter()
            .map(|(id, _)| held("token", id, "revoke"))
            .collect())
    }
    async fn revoke(&self, _: &Identity, h: &Holding) -> Result<RevokeResult, TargetError> {
        match self.revoke.iter().find(|(id, _)| *id == h.object_id) {
            Some((_, Some(e))) => Err(e.clone()),
            _ => Ok(RevokeResult::Revoked { removed_at: None }),
        }
    }
    async fn verify(&self, _: &Identity, _: &Holding) -> Result<ReadBack, TargetError> {
        Ok(ReadBack {
            gone: true,
            removed_at: None,
            detail: "gone".into(),
        })
    }
}

/// A failure is worth running again later only when every error behind it was transient.
#[tokio::test]
async fn a_failure_is_retryable_only_when_every_error_was_transient() {
    let down = || TargetError::Transient("connection refused".into());
    let denied = || TargetError::Permanent("HTTP 403 permission denied".into());
    // The run's (outcome, retryable) on a target failing as told.
    let run = |discover: Option<TargetError>, revoke: Vec<(&str, Option<TargetError>)>| {
        let revoke = revoke
            .into_iter()
            .map(|(id, e)| (id.to_string(), e))
            .collect();
        async move {
            let r = revoke_who(&Failing { discover, revoke }, &Metrics::new()).await;
            (r.outcome, r.retryable)
        }
    };

    assert_eq!(run(Some(down()), vec![]).await, (Outcome::Failed, true));
    assert_eq!(run(Some(denied()), vec![]).await, (Outcome::Failed, false));

    let r = run(None, vec![("a", None), ("b", Some(down()))]).await;
    assert_eq!(r, (Outcome::Failed, true));
    let r = run(None, vec![("a", Some(down())), ("b", Some(denied()))]).await;
    assert_eq!(r, (Outcome::Failed, false));
    // Success is never "retryable".
    assert_eq!(
        run(None, vec![("a", None)]).await,
        (Outcome::Revoked, false)
    );
}

/// Removes on the first call but loses the answer (a timeout); every later call finds the
/// object absent. `lost` says whether the first call is lost at all.
struct LostFirstAnswer {
    lost: bool,
    calls: AtomicU32,
}

#[async_trait::async_trait]
impl Target for LostFirstAnswer {
    fake_target_names!(Saas, "s");
    async fn discover(&self, _: &Identity) -> Result<Vec<Holding>, TargetError> {
        Ok(vec![held(
            "group_membership",
            "Groups/g/members/u",
            "remove_membership",
        )])
    }
    async fn revoke(&self, _: &Identity, _: &Holding) -> Result<RevokeResult, TargetError> {
        match self.calls.fetch_add(1, Ordering::Relaxed) {
            0 if self.lost => Err(TargetError::Transient("timed out after 2 s".into())),
            _ => Ok(RevokeResult::AlreadyAbsent { removed_at: None }),
        }
    }
    async fn verify(&self, _: &Identity, _: &Holding) -> Result<ReadBack, TargetError> {
        Ok(ReadBack {
            gone: true,
            removed_at: None,
            detail: "not a member".into(),
        })
    }
}

/// A call that timed out after the target removed the object, then a retry that finds it
/// gone: this run removed it (so a re-drive re-checks it and the closing evidence names it).
/// Found absent at the first call, it stays `already_absent`.
#[tokio::test]
async fn absent_on_a_retry_after_a_lost_answer_counts_as_revoked_by_this_run() {
    for (lost, outcome) in [
        (true, ObjectOutcome::Revoked),
        (false, ObjectOutcome::AlreadyAbsent),
    ] {
        let t = LostFirstAnswer {
            lost,
            calls: AtomicU32::new(0),
        };
        let r = revoke_who(&t, &Metrics::new()).await;
        let o = &r.objects[0];
        assert_eq!(
            (o.outcome, o.verified),
            (outcome, true),
            "lost answer: {lost}"
        );
        assert_eq!(
            o.read_back.contains("answer was lost"),
            lost,
            "{}",
            o.read_back
        );
        assert_eq!(o.action, if lost { "remove_membership" } else { "none" });
    }
}

/// Discovery finds nothing any more; the re-check list names what an earlier run acted on.
struct AfterLostAnswer;

#[async_trait::async_trait]
impl Target for AfterLostAnswer {
    fake_target_names!(Vault, "v");
    async fn discover(&self, _: &Identity) -> Result<Vec<Holding>, TargetError> {
        Ok(vec![held("token", "still-listed", "revoke")])
    }
    async fn revoke(&self, _: &Identity, _: &Holding) -> Result<RevokeResult, TargetError> {
        Ok(RevokeResult::Revoked { removed_at: None })
    }
    async fn verify(&self, _: &Identity, h: &Holding) -> Result<ReadBack, TargetError> {
        match h.object_id.as_str() {
            "lingering" => Ok(ReadBack {
                gone: false,
                removed_at: None,
                detail: "token is valid".into(),
            }),
            "unreachable" => Err(TargetError::Transient("connection refused".into())),
            _ => Ok(ReadBack {
                gone: true,
                removed_at: None,
                detail: "no such token".into(),
            }),
        }
    }
}

fn holding(id: &str) -> RecheckObject {
    RecheckObject {
        object_kind: "token".into(),
        object_id: id.into(),
        sponsored: id == "sponsored-gone",
        action: "revoke".into(),
        removed_at: None,
    }
}

#[tokio::test]
async fn a_re_drive_reads_back_what_an_earlier_run_did_without_hearing_back() {
    let m = Metrics::new();
    let run = |recheck: Vec<RecheckObject>| {
        let m = m.clone();
        async move {
            revoke_identity_rechecking(&AfterLostAnswer, &who(), "w1", &policy(), &m, &recheck)
                .await
        }
    };
    // Gone: in the evidence as revoked, verified now, saying how it was found.
    let r = run(vec![holding("sponsored-gone"), holding("still-listed")]).await;
    assert_eq!(r.outcome, Outcome::Revoked);
    let ids: Vec<&str> = r.objects.iter().map(|o| o.object_id.as_str()).collect();
    assert_eq!(
        ids,
        vec!["still-listed", "sponsored-gone"],
        "a discovered one is not doubled"
    );
    let o = &r.objects[1];
    assert!(o.verified && o.sponsored && o.removed_at.is_some());
    assert_eq!(o.outcome, ObjectOutcome::Revoked);
    assert!(
        o.read_back.starts_with("re-checked on a re-drive"),
        "{}",
        o.read_back
    );
    // Still present although discovery no longer lists it: a person looks (not retryable).
    let r = run(vec![holding("lingering")]).await;
    assert_eq!((r.outcome, r.retryable), (Outcome::Failed, false));
    assert!(r.error.unwrap().contains("a person should look"));
    // Unreachable: failed, and worth another re-drive.
    let r = run(vec![holding("unreachable")]).await;
    assert_eq!((r.outcome, r.retryable), (Outcome::Failed, true));
}

/// Each object's read-back decides what it may claim: one per path of `revoke_one`.
struct EveryPath;

#[async_trait::async_trait]
impl Target for EveryPath {
    fake_target_names!(Saas, "s");
    async fn discover(&self, _: &Identity) -> Result<Vec<Holding>, TargetError> {
        Ok(["gone", "absent", "present", "unreadable", "refused"]
            .iter()
            .map(|id| held("account", id, "deactivate"))
            .collect())
    }
    async fn revoke(&self, _: &Identity, h: &Holding) -> Result<RevokeResult, TargetError> {
        match h.object_id.as_str() {
            "refused" => Err(TargetError::Permanent("HTTP 403".into())),
            "absent" => Ok(RevokeResult::AlreadyAbsent { removed_at: None }),
            _ => Ok(RevokeResult::Revoked { removed_at: None }),
        }
    }
    async fn verify(&self, _: &Identity, h: &Holding) -> Result<ReadBack, TargetError> {
        match h.object_id.as_str() {
            "present" => Ok(ReadBack {
                gone: false,
                removed_at: None,
                detail: "active=true".into(),
            }),
            "unreadable" => Err(TargetError::Permanent("HTTP 500 on read".into())),
            _ => Ok(ReadBack {
                gone: true,
                removed_at: None,
                detail: "active=false".into(),
            }),
        }
    }
}

#[tokio::test]
async fn provenance_is_observed_only_where_a_read_back_showed_it_gone() {
    let r = revoke_who(&EveryPath, &Metrics::new()).await;
    let got: Vec<(&str, Provenance, bool)> = r
        .objects
        .iter()
        .map(|o| (o.object_id.as_str(), o.provenance, o.verified))
        .collect();
    assert_eq!(
        got,
        vec![
            ("gone", Provenance::Observed, true),
            ("absent", Provenance::Observed, true),
            ("present", Provenance::NotChecked, false),
            ("unreadable", Provenance::NotChecked, false),
            ("refused", Provenance::NotChecked, false),
        ]
    );
    // The re-check of a re-drive: the same rule.
    let recheck = [
        holding("sponsored-gone"),
        holding("lingering"),
        holding("unreachable"),
    ];
    let r = revoke_identity_rechecking(
        &AfterLostAnswer,
        &who(),
        "w1",
        &policy(),
        &Metrics::new(),
        &recheck,
    )
    .await;
    let got: Vec<(&str, Provenance)> = r
        .objects
        .iter()
        .map(|o| (o.object_id.as_str(), o.provenance))
        .collect();
    assert_eq!(
        got,
        vec![
            ("still-listed", Provenance::Observed),
            ("sponsored-gone", Provenance::Observed),
            ("lingering", Provenance::NotChecked),
            ("unreachable", Provenance::NotChecked),
        ]
    );
}
