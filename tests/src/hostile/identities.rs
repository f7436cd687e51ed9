//! Families of records whose identity is the attack: poisoned characters, metacharacters aimed at
//! other people, hostile rescinds.

use super::*;

impl Gen {
    /// An identity value carrying something no identity may carry.
    pub(super) fn poisoned_identity(&mut self, base: &str) -> (String, &'static str) {
        match self.rng.below(9) {
            0..=3 => {
                let (what, c) = *self.rng.pick(FORBIDDEN_CHARS);
                let at = self.rng.below(base.len() + 1);
                let mut s = base.to_string();
                s.insert(at, c);
                (s, what)
            }
            4 => (full_width(base), "full_width"),
            5 => {
                let compat = *self.rng.pick(COMPAT);
                (format!("{base}{compat}"), "compatibility")
            }
            6 => {
                // One Latin letter swapped for its Cyrillic/Greek twin (base has letters).
                let (latin, twin) = *self.rng.pick(LOOK_ALIKES);
                let s = format!("{}{latin}", base);
                let at = s.rfind(latin).expect("just added");
                let mut out = s.clone();
                out.replace_range(at..at + latin.len_utf8(), &twin.to_string());
                (format!("{out}x"), "mixed_script")
            }
            7 => {
                // Whole-script look-alikes of bystanders and of ASCII words.
                let v = *self.rng.pick(&[
                    "\u{0412}0001",             // "B0001" with a Cyrillic В
                    "\u{0392}0002",             // "B0002" with a Greek Β
                    "\u{0441}\u{0435}\u{043E}", // "ceo"
                    "\u{0440}\u{0430}\u{0443}", // "pay"
                    "\u{0391}\u{0392}\u{0395}", // "ABE" in Greek
                ]);
                (v.to_string(), "confusable")
            }
            _ => {
                let v = *self
                    .rng
                    .pick(&["", " ", "   ", "\u{3000}", " B0001", "B0001 "]);
                (v.to_string(), "blank")
            }
        }
    }

    pub(super) fn identity_characters(&mut self) {
        let (id, evt) = self.fresh();
        let base = if self.rng.below(2) == 0 {
            self.victim()
        } else {
            id.clone()
        };
        let (bad, _what) = self.poisoned_identity(&base);
        let mut v = event(&id, &evt);
        let key = match self.rng.below(4) {
            // As the identity id: key, subject and employee_id all carry it.
            0 | 1 => {
                v = event(&bad, &evt);
                bad.clone()
            }
            2 => {
                v["data"]["identity"]["username"] = bad.clone().into();
                id.clone()
            }
            _ => {
                // In the email's local part; a blank value as the whole email.
                v["data"]["identity"]["email"] = if bad.trim().is_empty() {
                    bad.clone()
                } else {
                    format!("{bad}@example.com")
                }
                .into();
                id.clone()
            }
        };
        let binary = self.rng.below(3) == 0;
        let (headers, payload) = if binary {
            to_binary(&v)
        } else {
            (vec![], bytes(&v))
        };
        self.keyed(
            "identity_chars",
            &key,
            payload,
            headers,
            Dlq("invalid_identity"),
        );
    }

    /// Wildcards and injections aimed at other identities, each with one more defect that
    /// keeps it out; the defect decides the reason.
    pub(super) fn metacharacters_aimed_at_others(&mut self) {
        let (_, evt) = self.fresh();
        let victim = self.victim();
        let meta = *self.rng.pick(&[
            "*",
            "B*",
            "B000*",
            "*)(uid=*",
            "*)(|(uid=*",
            "\" or userName pr \"",
            "B0001\" or userName sw \"B",
            "../",
            "../B0001",
            "%2e%2e/B0001",
            "..%2fB0001",
        ]);
        let (bad, _) = self.poisoned_identity(meta);
        match self.rng.below(4) {
            0 => {
                // The wildcard as key, a victim as subject and identity.
                let v = event(&victim, &evt);
                self.structured("meta_aimed", meta, &v, "key_mismatch");
            }
            1 => {
                // The wildcard as subject and key, the victim as the identity.
                let mut v = event(meta, &evt);
                v["data"]["identity"]["employee_id"] = victim.into();
                self.structured("meta_aimed", meta, &v, "invalid_field");
            }
            2 => {
                // A wildcard with a NUL, bidi or look-alike in it, as the identity id.
                let v = event(&bad, &evt);
                self.structured("meta_aimed", &bad, &v, "invalid_identity");
            }
            _ => {
                // A wildcard username with a poisoned character.
                let (id, _) = self.fresh();
                let mut v = event(&id, &evt);
                v["data"]["identity"]["username"] = bad.into();
                self.structured("meta_aimed", &id, &v, "invalid_identity");
            }
        }
    }

    pub(super) fn hostile_rescinds(&mut self) {
        let (id, evt) = self.fresh();
        let victim = self.victim();
        let mut v = event(&id, &evt);
        v["type"] = "identity.termination_rescinded.v1".into();
        v["data"]
            .as_object_mut()
            .expect("data")
            .remove("effective_at");
        v["data"]["rescinds"] = "hostile-0".into();
        match self.rng.below(4) {
            0 => {
                let (bad, _) = self.poisoned_identity(&victim);
                let mut w = event(&bad, &evt);
                w["type"] = v["type"].clone();
                w["data"]["rescinds"] = "hostile-0".into();
                self.structured("rescind", &bad, &w, "invalid_identity");
            }
            1 => self.structured("rescind", &victim, &v, "key_mismatch"),
            2 => {
                v["data"]["rescinds"] = "evt\u{0}".into();
                self.structured("rescind", &id, &v, "invalid_field");
            }
            _ => {
                v["data"]["identity"]["employee_id"] = victim.into();
                self.structured("rescind", &id, &v, "invalid_field");
            }
        }
    }
}
