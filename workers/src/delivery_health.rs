//! The failing/stuck bookkeeping of a delivery that retries without limit (`revoke webhook`,
//! `revoke signals`): a gauge of deliveries failing now, a gauge of those failing past
//! `alert_after`, and `/healthz` failing while any is stuck. A `Tracking` guard per delivery
//! undoes its share however the delivery ends (delivered, refused, stopped, or its task
//! aborted), so the gauges and `/healthz` cannot drift.

use revoke_shared::metrics::{Health, MetricEvent, Metrics, SignalTrouble, WebhookTrouble};
use std::marker::PhantomData;
use std::sync::Mutex;

/// The four gauge moves of one delivery process's metrics.
pub trait TroubleEvent: MetricEvent {
    const FAILING_BEGAN: Self;
    const FAILING_ENDED: Self;
    const STUCK_BEGAN: Self;
    const STUCK_ENDED: Self;
}

impl TroubleEvent for WebhookTrouble {
    const FAILING_BEGAN: Self = WebhookTrouble::FailingBegan;
    const FAILING_ENDED: Self = WebhookTrouble::FailingEnded;
    const STUCK_BEGAN: Self = WebhookTrouble::StuckBegan;
    const STUCK_ENDED: Self = WebhookTrouble::StuckEnded;
}

impl TroubleEvent for SignalTrouble {
    const FAILING_BEGAN: Self = SignalTrouble::FailingBegan;
    const FAILING_ENDED: Self = SignalTrouble::FailingEnded;
    const STUCK_BEGAN: Self = SignalTrouble::StuckBegan;
    const STUCK_ENDED: Self = SignalTrouble::StuckEnded;
}

/// Deliveries failing past `alert_after`, reported on `/healthz`.
struct Stuck {
    count: usize,
    latest: String,
}

/// Says what is stuck on `/healthz`, from the count and the latest stuck delivery.
type Describe = Box<dyn Fn(usize, &str) -> String + Send + Sync>;

/// One delivery process's component on `/healthz` and its failing/stuck gauges.
pub struct DeliveryHealth<E: TroubleEvent> {
    metrics: Metrics,
    health: Health,
    component: String,
    stuck: Mutex<Stuck>,
    describe: Describe,
    events: PhantomData<fn() -> E>,
}

impl<E: TroubleEvent> DeliveryHealth<E> {
    /// `describe(count, latest)` is the `/healthz` text while `count` deliveries are stuck.
    pub fn new(
        metrics: Metrics,
        health: Health,
        component: String,
        describe: impl Fn(usize, &str) -> String + Send + Sync + 'static,
    ) -> DeliveryHealth<E> {
        DeliveryHealth {
            metrics,
            health,
            component,
            stuck: Mutex::new(Stuck {
                count: 0,
                latest: String::new(),
            }),
            describe: Box::new(describe),
            events: PhantomData,
        }
    }

    /// The component is on `/healthz`, healthy.
    pub fn open(&self) {
        self.health.set_ok(&self.component);
    }

    /// The component leaves `/healthz` (the process stops).
    pub fn close(&self) {
        self.health.remove(&self.component);
    }

    /// The guard of one delivery.
    pub fn track(&self) -> Tracking<'_, E> {
        Tracking {
            owner: self,
            failing: false,
            stuck: false,
        }
    }

    fn report(&self, st: &Stuck) {
        if st.count == 0 {
            self.health.set_ok(&self.component);
        } else {
            self.health
                .set_failing(&self.component, (self.describe)(st.count, &st.latest));
        }
    }
}

/// Keeps the gauges and `/healthz` right however a delivery ends.
pub struct Tracking<'a, E: TroubleEvent> {
    owner: &'a DeliveryHealth<E>,
    failing: bool,
    stuck: bool,
}

impl<E: TroubleEvent> Tracking<'_, E> {
    /// An attempt failed: the delivery counts as failing until it ends.
    pub fn failing(&mut self) {
        if !self.failing {
            self.failing = true;
            self.owner.metrics.emit(E::FAILING_BEGAN);
        }
    }

    /// The delivery failed `alert_after` times: it counts as stuck, `why`, until it ends.
    pub fn stuck(&mut self, why: String) {
        if !self.stuck {
            self.stuck = true;
            self.owner.metrics.emit(E::STUCK_BEGAN);
            let mut st = self.owner.stuck.lock().expect("stuck lock");
            st.count += 1;
            st.latest = why;
            self.owner.report(&st);
        }
    }
}

impl<E: TroubleEvent> Drop for Tracking<'_, E> {
    fn drop(&mut self) {
        if self.failing {
            self.owner.metrics.emit(E::FAILING_ENDED);
        }
        if self.stuck {
            self.owner.metrics.emit(E::STUCK_ENDED);
            let mut st = self.owner.stuck.lock().expect("stuck lock");
            st.count -= 1;
            self.owner.report(&st);
        }
    }
}
