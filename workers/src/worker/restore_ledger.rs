//! Which restore requests a worker may still carry out: a restore is a grant, so a genuine,
//! fleet-signed request copied and re-published later must not run again (after a new
//! termination of the same person it would give back what that termination took).
//!
//! The verifier writes each request once, dated (`requested_at`, inside the signed value); a
//! re-sent request (a target that confirmed after the rescind) carries a new date. So a copy is
//! the same `(request_id, requested_at)` seen again in another record of `revoke.restores` (the
//! same record again is its redelivery). Pure: the worker's shell asks `admit` before restoring
//! (which takes the request, so two copies in flight at once do not both run) and calls
//! `abandon` if it could not finish (the record is then redelivered and runs); unit tests drive
//! it with a clock.
//!
//! Bounded: a request older than `max_age` is refused outright, so only the window's requests
//! are remembered. The memory is this process's; across processes (another member of the
//! group, this one after a restart) `first_claim` decides from the fleet's claims log
//! (`revoke.restores.claims`, written and read by `restore_claim`).

use chrono::{DateTime, Duration, Utc};
use revoke_shared::contract::RestoreClaim;
use std::collections::HashMap;
use uuid::Uuid;

/// Why a restore request is not carried out: the dead-letter reason and what it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reason: &'static str,
    pub detail: String,
}

#[derive(Debug)]
pub struct RestoreLedger {
    max_age: Duration,
    /// Requests this process carried out (or is carrying out) within the window, by
    /// `(request_id, requested_at)`: the record that carried it (`partition/offset`) and when.
    carried: HashMap<(Uuid, DateTime<Utc>), (String, DateTime<Utc>)>,
}

impl RestoreLedger {
    pub fn new(max_age_secs: u64) -> RestoreLedger {
        RestoreLedger {
            max_age: Duration::seconds(i64::try_from(max_age_secs).unwrap_or(i64::MAX / 1000)),
            carried: HashMap::new(),
        }
    }

    /// Whether the request `id`, dated `requested_at`, carried by `record`, may be carried out
    /// at `now`; if so it is taken (a copy arriving meanwhile is refused). The same record again
    /// passes: whether its first delivery finished is the claims log's to say.
    pub fn admit(
        &mut self,
        id: Uuid,
        requested_at: DateTime<Utc>,
        record: &str,
        now: DateTime<Utc>,
    ) -> Result<(), Refusal> {
        self.forget_before(now - self.max_age);
        let age = now - requested_at;
        if age > self.max_age {
            return Err(Refusal {
                reason: "restore_stale",
                detail: format!(
                    "restore request {id} was made at {} ({} s ago), more than worker.restore_max_age_secs ({} s): a late copy may be a replay, and a restore is a grant, so nothing is given back (the case's owner restores by hand if it still should be)",
                    requested_at.to_rfc3339(),
                    age.num_seconds(),
                    self.max_age.num_seconds()
                ),
            });
        }
        if let Some((first, at)) = self.carried.get(&(id, requested_at)) {
            if first != record {
                return Err(Refusal {
                    reason: "restore_replayed",
                    detail: format!(
                        "restore request {id} of {} was already taken by this worker at {} (record {first} of the restores topic; this copy is record {record}): this copy gives nothing back",
                        requested_at.to_rfc3339(),
                        at.to_rfc3339()
                    ),
                });
            }
            return Ok(());
        }
        self.carried
            .insert((id, requested_at), (record.to_string(), now));
        Ok(())
    }

    /// The claimed request could not be finished (its report was not acknowledged): its
    /// redelivery must run.
    pub fn abandon(&mut self, id: Uuid, requested_at: DateTime<Utc>) {
        self.carried.remove(&(id, requested_at));
    }

    /// Requests remembered (for the gauge and the bound's test).
    pub fn len(&self) -> usize {
        self.carried.len()
    }

    pub fn is_empty(&self) -> bool {
        self.carried.is_empty()
    }

    /// Forgets requests dated before `cutoff`: `admit` refuses those by age anyway.
    fn forget_before(&mut self, cutoff: DateTime<Utc>) {
        self.carried
            .retain(|(_, requested_at), _| *requested_at >= cutoff);
    }
}

/// What the claims log says of a request a worker just claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimVerdict {
    /// The first claim of the request (or of its record, whose earlier delivery did not finish).
    Run,
    /// This very record was carried out before (a redelivery after its report was sent):
    /// nothing to do, and nothing wrong.
    AlreadyCarriedOut,
    /// Not carried out: a copy (another record of the request was taken first) or too old.
    Refused(Refusal),
}

/// The verdict on `mine` from `earlier`, the claims before it in the claims log. One from another
/// record of `revoke.restores` means that record (the original or an earlier copy) was taken
/// first: this one is a copy, wherever and whenever it was published. One from the same record
/// is this record's earlier delivery: done, or to be run again.
pub fn first_claim(mine: &RestoreClaim, earlier: &[RestoreClaim]) -> ClaimVerdict {
    let same_request =
        |c: &&RestoreClaim| c.request_id == mine.request_id && c.requested_at == mine.requested_at;
    if let Some(c) = earlier
        .iter()
        .filter(same_request)
        .find(|c| c.record != mine.record)
    {
        return ClaimVerdict::Refused(Refusal {
            reason: "restore_replayed",
            detail: format!(
                "restore request {} of {} was already taken by worker {} at {} (record {} of the restores topic; this copy is record {}): this copy gives nothing back",
                mine.request_id,
                mine.requested_at.to_rfc3339(),
                c.worker.id,
                c.claimed_at.to_rfc3339(),
                c.record,
                mine.record
            ),
        });
    }
    if earlier.iter().filter(same_request).any(|c| c.done) {
        return ClaimVerdict::AlreadyCarriedOut;
    }
    ClaimVerdict::Run
}

#[cfg(test)]
mod tests {
    use super::*;
    use revoke_shared::contract::{WorkerInfo, RESTORE_CLAIM_SCHEMA};

    fn claim(id: Uuid, requested_at: DateTime<Utc>, record: &str, worker: &str) -> RestoreClaim {
        RestoreClaim {
            schema: RESTORE_CLAIM_SCHEMA.into(),
            request_id: id,
            requested_at,
            record: record.into(),
            worker: WorkerInfo {
                id: worker.into(),
                version: "t".into(),
            },
            claimed_at: requested_at,
            done: false,
        }
    }

    /// Across processes: the first record claimed runs; a claim of another record (a copy,
    /// wherever it was published) is refused naming the first; the same record again (its
    /// redelivery after a crash) runs, unless it was done; other requests, or the same one
    /// dated anew, do not count.
    #[test]
    fn the_first_claim_of_a_request_runs_fleet_wide() {
        let (id, at) = (Uuid::new_v4(), t(0));
        let genuine = claim(id, at, "2/17", "w-a");
        assert_eq!(first_claim(&genuine, &[]), ClaimVerdict::Run);
        let unrelated = [
            claim(Uuid::new_v4(), at, "1/3", "w-b"),
            claim(id, t(30), "3/9", "w-b"),
        ];
        assert_eq!(first_claim(&genuine, &unrelated), ClaimVerdict::Run);
        let copy = claim(id, at, "0/42", "w-b");
        let ClaimVerdict::Refused(r) = first_claim(&copy, &[unrelated[0].clone(), genuine.clone()])
        else {
            panic!("a copy runs")
        };
        assert_eq!(r.reason, "restore_replayed");
        assert!(
            r.detail.contains("w-a") && r.detail.contains("2/17"),
            "{}",
            r.detail
        );
        let redelivered = claim(id, at, "2/17", "w-c");
        assert_eq!(
            first_claim(&redelivered, std::slice::from_ref(&genuine)),
            ClaimVerdict::Run
        );
        let mut done = genuine.clone();
        done.done = true;
        assert_eq!(
            first_claim(&redelivered, &[genuine.clone(), done.clone()]),
            ClaimVerdict::AlreadyCarriedOut
        );
        // A copy stays a copy once the original is done.
        assert!(matches!(
            first_claim(&copy, &[genuine, done]),
            ClaimVerdict::Refused(_)
        ));
    }

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn a_request_runs_once_and_a_copy_is_refused() {
        let mut l = RestoreLedger::new(900);
        let id = Uuid::new_v4();
        assert_eq!(l.admit(id, t(0), "0/7", t(1)), Ok(()));
        // A copy while the first is still running, and one later.
        for now in [t(1), t(60)] {
            let r = l.admit(id, t(0), "3/12", now).unwrap_err();
            assert_eq!(r.reason, "restore_replayed");
            assert!(
                r.detail.contains(&id.to_string()) && r.detail.contains("0/7"),
                "{}",
                r.detail
            );
        }
        // The same record again (redelivered after a rebalance): the claims log decides.
        assert_eq!(l.admit(id, t(0), "0/7", t(61)), Ok(()));
        // Abandoned (its report was not acknowledged): a redelivery, even elsewhere, runs.
        let other = Uuid::new_v4();
        assert_eq!(l.admit(other, t(0), "1/1", t(3)), Ok(()));
        l.abandon(other, t(0));
        assert_eq!(l.admit(other, t(0), "1/2", t(4)), Ok(()));
    }

    /// The verifier re-sends a request (a target confirmed after the rescind) with a new date:
    /// that is a new grant decision, not a copy.
    #[test]
    fn a_re_sent_request_with_a_new_date_runs() {
        let mut l = RestoreLedger::new(900);
        let id = Uuid::new_v4();
        l.admit(id, t(0), "0/1", t(1)).unwrap();
        assert_eq!(l.admit(id, t(30), "0/2", t(31)), Ok(()));
    }

    #[test]
    fn a_request_older_than_the_window_is_refused_and_forgotten() {
        let mut l = RestoreLedger::new(900);
        let id = Uuid::new_v4();
        assert_eq!(
            l.admit(id, t(0), "0/1", t(900)),
            Ok(()),
            "exactly the window"
        );
        let r = l.admit(id, t(0), "0/1", t(901)).unwrap_err();
        assert_eq!(r.reason, "restore_stale");
        assert!(r.detail.contains("900 s"), "{}", r.detail);
        assert!(l.is_empty(), "nothing older than the window is kept");
    }

    #[test]
    fn memory_holds_only_the_window() {
        let mut l = RestoreLedger::new(60);
        for i in 0..1_000 {
            let now = t(i);
            let id = Uuid::new_v4();
            l.admit(id, now, "0/1", now).unwrap();
        }
        assert!(l.len() <= 61, "{} remembered", l.len());
    }
}
