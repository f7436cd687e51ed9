//! The valid-but-weird records: accepted, and they revoke exactly the identity they are keyed by.

use super::*;

impl Gen {
    /// The valid-but-weird: accepted, and each must revoke exactly its own identity.
    pub(super) fn weird(&mut self) {
        let revokes = |id: &str| Revokes(id.to_string());
        for (i, id) in WEIRD_IDS.iter().enumerate() {
            let mut v = event(id, &format!("weird-id-{i}"));
            v["data"]["identity"]["username"] = (*id).into();
            v["data"]["identity"]["email"] = format!("weird{i}@example.com").into();
            if i % 2 == 0 {
                self.keyed("weird_valid", id, bytes(&v), vec![], revokes(id));
            } else {
                let (h, body) = to_binary(&v);
                self.keyed("weird_valid", id, body, h, revokes(id));
            }
        }
        // Metacharacter usernames and emails on ordinary ids.
        for (i, name) in [
            "*",
            "B*",
            "*)(uid=*",
            "\" or userName pr \"",
            "../B0001",
            "B0001\\",
        ]
        .iter()
        .enumerate()
        {
            let id = format!("W{i:04}");
            let mut v = event(&id, &format!("weird-name-{i}"));
            v["data"]["identity"]["username"] = (*name).into();
            v["data"]["identity"]["email"] =
                format!("{}@example.com", name.replace(['"', ' ', '\\'], "")).into();
            if name.contains('(') || name.contains('/') {
                v["data"]["identity"]["email"] = format!("w{i}@example.com").into();
            }
            self.keyed("weird_valid", &id, bytes(&v), vec![], revokes(&id));
        }
        // Legitimate non-ASCII names, single-script and in NFC.
        for (i, name) in ["José", "Müller", "王小明", "Ελένη", "Сергей", "やまだ"]
            .iter()
            .enumerate()
        {
            let id = format!("U{i:04}");
            let mut v = event(&id, &format!("weird-unicode-{i}"));
            v["data"]["identity"]["username"] = (*name).into();
            v["data"]["identity"]["email"] = format!("{name}@example.com").into();
            self.keyed("weird_valid", &id, bytes(&v), vec![], revokes(&id));
        }
        // Exactly at the size limit (padded with JSON white space): accepted.
        let id = "X0001";
        let mut b = bytes(&event(id, "weird-at-limit"));
        b.resize(self.limit, b' ');
        self.keyed("weird_valid", id, b, vec![], revokes(id));
        // Header names in capitals (matched case-insensitively).
        let id = "X0002";
        let (h, body) = to_binary(&event(id, "weird-caps"));
        let h = h
            .into_iter()
            .map(|(k, v)| (k.to_ascii_uppercase(), v))
            .collect();
        self.keyed("weird_valid", id, body, h, revokes(id));
        // Two ce_subject headers, the first consistent with key and body: only it counts.
        let id = "X0003";
        let (mut h, body) = to_binary(&event(id, "weird-dup-header"));
        h.push((b"ce_subject".to_vec(), bystander(3).into_bytes()));
        self.keyed("weird_valid", id, body, h, revokes(id));
        // A structured event with stray ce_* headers naming a bystander: structured mode reads
        // the body only (no ce_specversion), so the bystander is not touched.
        let id = "X0004";
        let h = vec![
            (b"ce_subject".to_vec(), bystander(4).into_bytes()),
            (b"ce_id".to_vec(), b"forged".to_vec()),
        ];
        self.keyed(
            "weird_valid",
            id,
            bytes(&event(id, "weird-stray-headers")),
            h,
            revokes(id),
        );
        // Duplicate JSON keys: the last `subject` wins, and it must match the key.
        let id = "X0005";
        let s = String::from_utf8(bytes(&event(id, "weird-dup-key"))).expect("ASCII");
        let s = s.replacen('{', &format!("{{\"subject\":\"{}\",", bystander(5)), 1);
        self.keyed("weird_valid", id, s.into_bytes(), vec![], revokes(id));
        // An unknown extension attribute with a big value: ignored.
        let id = "X0006";
        let mut v = event(id, "weird-extension");
        v["comexampleblob"] = "Z".repeat(self.limit / 2).into();
        self.keyed("weird_valid", id, bytes(&v), vec![], revokes(id));
        // `application/cloudevents+json` with parameters.
        let id = "X0007";
        let mut v = event(id, "weird-ct");
        v["datacontenttype"] = "application/cloudevents+json; charset=utf-8".into();
        self.keyed("weird_valid", id, bytes(&v), vec![], revokes(id));
        // ASCII spelled as \u escapes.
        let id = "X0008";
        let s = String::from_utf8(bytes(&event(id, "weird-escapes"))).expect("ASCII");
        let s = s.replace("\"X0008\"", "\"\\u0058\\u0030\\u0030\\u0030\\u0038\"");
        self.keyed("weird_valid", id, s.into_bytes(), vec![], revokes(id));
        // A header whose *name* is not UTF-8, on a structured event (headers unread).
        let id = "X0009";
        self.keyed(
            "weird_valid",
            id,
            bytes(&event(id, "weird-header-name")),
            vec![(b"x-\xFF\xFEname".to_vec(), b"v".to_vec())],
            revokes(id),
        );
    }
}
