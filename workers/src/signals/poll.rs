//! Poll delivery (RFC 8936): a queue of SETs per poll receiver, offered in poll answers and
//! delivered when the receiver acknowledges them (`ack`) or reports an error for them
//! (`setErrs`).

use chrono::{DateTime, Utc};
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, Notify};

/// An offered SET not acknowledged within this time is offered again.
pub const REOFFER_AFTER: Duration = Duration::from_secs(30);

/// What the receiver said about a SET.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PollAnswer {
    Acked(DateTime<Utc>),
    /// `setErrs`: (error code, description).
    Error(String, String),
}

struct Pending {
    jti: String,
    jws: String,
    offered_at: Option<Instant>,
    waiter: Option<oneshot::Sender<PollAnswer>>,
}

#[derive(Default)]
pub struct PollQueue {
    pending: Mutex<VecDeque<Pending>>,
    pub notify: Notify,
}

impl PollQueue {
    /// Queues a SET; the returned receiver resolves when it is acknowledged or refused. A SET
    /// already queued (same jti) is replaced, its earlier waiter told nothing more.
    pub fn offer(&self, jti: &str, jws: String) -> oneshot::Receiver<PollAnswer> {
        let (tx, rx) = oneshot::channel();
        let mut q = self.pending.lock().expect("poll lock");
        q.retain(|p| p.jti != jti);
        q.push_back(Pending {
            jti: jti.to_string(),
            jws,
            offered_at: None,
            waiter: Some(tx),
        });
        drop(q);
        self.notify.notify_waiters();
        rx
    }

    /// Applies a receiver's `ack`s and `setErrs`; unknown jtis are ignored (acknowledged twice,
    /// or from before a restart).
    pub fn answer(&self, jti: &str, answer: PollAnswer) {
        let mut q = self.pending.lock().expect("poll lock");
        if let Some(i) = q.iter().position(|p| p.jti == jti) {
            if let Some(p) = q.remove(i) {
                if let Some(w) = p.waiter {
                    let _ = w.send(answer);
                }
            }
        }
    }

    /// Up to `max` SETs to offer now (never offered, or offered longer than `REOFFER_AFTER`
    /// ago), marked offered; and whether more are waiting.
    pub fn take(&self, max: usize) -> (Vec<(String, String)>, bool) {
        let mut q = self.pending.lock().expect("poll lock");
        let now = Instant::now();
        let mut out = Vec::new();
        let mut more = false;
        for p in q.iter_mut() {
            if p.offered_at
                .is_some_and(|t| now.duration_since(t) < REOFFER_AFTER)
            {
                continue;
            }
            if out.len() == max {
                more = true;
                break;
            }
            p.offered_at = Some(now);
            out.push((p.jti.clone(), p.jws.clone()));
        }
        (out, more)
    }

    /// Forgets a SET whose delivery was given up (the process stops).
    pub fn withdraw(&self, jti: &str) {
        self.pending
            .lock()
            .expect("poll lock")
            .retain(|p| p.jti != jti);
    }
}
