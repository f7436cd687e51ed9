//! What `/healthz` reports: the liveness of each component of a process.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// Liveness of the components in a process. `/healthz` answers 200 only while every registered
/// component reports healthy, and says which are not.
#[derive(Clone, Default)]
pub struct Health {
    inner: Arc<Mutex<BTreeMap<String, Result<(), String>>>>,
}

impl Health {
    pub fn new() -> Health {
        Health::default()
    }

    pub fn set_ok(&self, component: &str) {
        self.inner
            .lock()
            .expect("health lock")
            .insert(component.to_string(), Ok(()));
    }

    pub fn set_failing(&self, component: &str, why: impl Into<String>) {
        self.inner
            .lock()
            .expect("health lock")
            .insert(component.to_string(), Err(why.into()));
    }

    pub fn remove(&self, component: &str) {
        self.inner.lock().expect("health lock").remove(component);
    }

    /// `Ok(report)` when healthy, `Err(report)` otherwise.
    pub fn report(&self) -> Result<String, String> {
        let map = self.inner.lock().expect("health lock");
        let mut text = String::new();
        let mut healthy = true;
        for (name, state) in map.iter() {
            match state {
                Ok(()) => text.push_str(&format!("{name}: ok\n")),
                Err(why) => {
                    healthy = false;
                    text.push_str(&format!("{name}: failing: {why}\n"));
                }
            }
        }
        if healthy {
            Ok(text)
        } else {
            Err(text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_reports_failing_components() {
        let h = Health::new();
        h.set_ok("a");
        assert!(h.report().is_ok());
        h.set_failing("b", "broker unreachable");
        let r = h.report().unwrap_err();
        assert!(r.contains("b: failing: broker unreachable"));
    }
}
