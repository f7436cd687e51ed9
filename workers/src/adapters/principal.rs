//! The principal an adapter acts as, recorded as the actor in evidence: configured, or learnt
//! from the target at start-up (the owner of the token it was given), else a stand-in naming the
//! instance until it is learnt.

use std::sync::OnceLock;

#[derive(Debug)]
pub struct Principal {
    known: OnceLock<String>,
    fallback: String,
}

impl Principal {
    /// `configured` when the table names one; `fallback` (e.g. `vault:<instance>`) until then.
    pub fn new(configured: Option<String>, fallback: String) -> Principal {
        let known = OnceLock::new();
        if let Some(p) = configured {
            let _ = known.set(p);
        }
        Principal { known, fallback }
    }

    /// Records what the target says the credential is, unless configured or learnt already.
    pub fn learn(&self, principal: String) {
        let _ = self.known.set(principal);
    }

    pub fn get(&self) -> &str {
        self.known.get().map_or(&self.fallback, String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_wins_and_the_first_answer_sticks() {
        let p = Principal::new(None, "vault:a".into());
        assert_eq!(p.get(), "vault:a");
        p.learn("ci (accessor x)".into());
        p.learn("other".into());
        assert_eq!(p.get(), "ci (accessor x)");
        let c = Principal::new(Some("revoker".into()), "vault:a".into());
        c.learn("token-owner".into());
        assert_eq!(c.get(), "revoker");
    }
}
