//! Which restore requests a worker may still carry out: a restore is a grant, so a genuine,
//! fleet-signed request copied and re-published later must not run again (after a new
//! termination of the same person it would give back what that termination took).
//!
//! The verifier writes each request once, dated (`requested_at`, inside the signed value); a
//! re-sent request (a target that confirmed after the rescind) carries a new date. So a copy is
//! the same `(request_id, requested_at)` seen again. Pure: the worker's shell asks `admit`
//! before restoring (which claims the request, so two copies in flight at once do not both run)
//! and calls `abandon` if it could not finish (the record is then redelivered and runs); unit
//! tests drive it with a clock.
//!
//! Bounded: a request older than `max_age` is refused outright, so only the window's requests
//! are remembered. Limit: the memory is this process's — a copy of a request that another
//! process of the group (or this one before a restart) carried out is refused only once it is
//! older than `max_age`.

use chrono::{DateTime, Duration, Utc};
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
    /// `(request_id, requested_at)`, with when it took them.
    carried: HashMap<(Uuid, DateTime<Utc>), DateTime<Utc>>,
}

impl RestoreLedger {
    pub fn new(max_age_secs: u64) -> RestoreLedger {
        RestoreLedger {
            max_age: Duration::seconds(i64::try_from(max_age_secs).unwrap_or(i64::MAX / 1000)),
            carried: HashMap::new(),
        }
    }

    /// Whether the request `id`, dated `requested_at`, may be carried out at `now`; if so it is
    /// claimed (a copy arriving meanwhile is refused).
    pub fn admit(
        &mut self,
        id: Uuid,
        requested_at: DateTime<Utc>,
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
        if let Some(at) = self.carried.get(&(id, requested_at)) {
            return Err(Refusal {
                reason: "restore_replayed",
                detail: format!(
                    "restore request {id} of {} was already taken by this worker at {}: this copy gives nothing back",
                    requested_at.to_rfc3339(),
                    at.to_rfc3339()
                ),
            });
        }
        self.carried.insert((id, requested_at), now);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn a_request_runs_once_and_a_copy_is_refused() {
        let mut l = RestoreLedger::new(900);
        let id = Uuid::new_v4();
        assert_eq!(l.admit(id, t(0), t(1)), Ok(()));
        // A copy while the first is still running, and one later.
        for now in [t(1), t(60)] {
            let r = l.admit(id, t(0), now).unwrap_err();
            assert_eq!(r.reason, "restore_replayed");
            assert!(r.detail.contains(&id.to_string()), "{}", r.detail);
        }
        // Abandoned (its report was not acknowledged): the redelivery runs.
        let other = Uuid::new_v4();
        assert_eq!(l.admit(other, t(0), t(3)), Ok(()));
        l.abandon(other, t(0));
        assert_eq!(l.admit(other, t(0), t(4)), Ok(()));
    }

    /// The verifier re-sends a request (a target confirmed after the rescind) with a new date:
    /// that is a new grant decision, not a copy.
    #[test]
    fn a_re_sent_request_with_a_new_date_runs() {
        let mut l = RestoreLedger::new(900);
        let id = Uuid::new_v4();
        l.admit(id, t(0), t(1)).unwrap();
        assert_eq!(l.admit(id, t(30), t(31)), Ok(()));
    }

    #[test]
    fn a_request_older_than_the_window_is_refused_and_forgotten() {
        let mut l = RestoreLedger::new(900);
        let id = Uuid::new_v4();
        assert_eq!(l.admit(id, t(0), t(900)), Ok(()), "exactly the window");
        let r = l.admit(id, t(0), t(901)).unwrap_err();
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
            l.admit(id, now, now).unwrap();
        }
        assert!(l.len() <= 61, "{} remembered", l.len());
    }
}
