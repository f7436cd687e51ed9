//! What this process delivered, remembered (bounded, oldest forgotten first) so a newer version
//! of a case does not send a SET again before the case records it as accepted.

use std::collections::{HashSet, VecDeque};

pub struct Delivered {
    cap: usize,
    order: VecDeque<(String, String)>,
    set: HashSet<(String, String)>,
}

impl Delivered {
    pub fn new(cap: usize) -> Delivered {
        Delivered {
            cap: cap.max(1),
            order: VecDeque::new(),
            set: HashSet::new(),
        }
    }

    pub fn contains(&self, receiver: &str, jti: &str) -> bool {
        self.set.contains(&(receiver.to_string(), jti.to_string()))
    }

    pub fn insert(&mut self, receiver: &str, jti: &str) {
        let k = (receiver.to_string(), jti.to_string());
        if self.set.insert(k.clone()) {
            self.order.push_back(k);
            while self.order.len() > self.cap {
                if let Some(old) = self.order.pop_front() {
                    self.set.remove(&old);
                }
            }
        }
    }
}
