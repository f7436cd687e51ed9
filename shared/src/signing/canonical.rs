//! The bytes that are signed: the JSON Canonicalization Scheme (RFC 8785) form of the parsed
//! event (see the `signing` module documentation for why not the bytes on the wire).

use crate::contract::HrEvent;

/// The bytes that are signed: the canonical form of `ev` (see the `signing` module
/// documentation).
pub fn canonical_bytes(ev: &HrEvent) -> Vec<u8> {
    use serde_json::{Map, Value};
    let time = |t: &chrono::DateTime<chrono::Utc>| {
        Value::String(t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
    };
    let text = |s: &str| Value::String(s.to_string());
    let d = &ev.data;
    let who = &d.identity;
    let mut identity = Map::new();
    identity.insert("employee_id".into(), text(&who.employee_id));
    identity.insert("kind".into(), text(who.kind.as_str()));
    if let Some(v) = &who.email {
        identity.insert("email".into(), text(v));
    }
    if let Some(v) = &who.username {
        identity.insert("username".into(), text(v));
    }
    let mut data = Map::new();
    data.insert("identity".into(), Value::Object(identity));
    if let Some(t) = &d.effective_at {
        data.insert("effective_at".into(), time(t));
    }
    for (path, v) in d.free_text() {
        if let (Some(k), Some(v)) = (path.strip_prefix("data."), v) {
            data.insert(k.into(), text(v));
        }
    }
    let mut top = Map::new();
    top.insert("data".into(), Value::Object(data));
    top.insert("id".into(), text(&ev.id));
    top.insert("source".into(), text(&ev.source));
    top.insert("specversion".into(), text("1.0"));
    top.insert("subject".into(), text(&ev.subject));
    top.insert("time".into(), time(&ev.time));
    top.insert("type".into(), text(ev.type_str()));
    jcs(&Value::Object(top))
}

/// The RFC 8785 (JCS) form of a JSON value: keys sorted by UTF-16 code units, no white space.
/// Used for every signed or digested record (HR events above; case versions, confirmations and
/// decisions in `record`).
pub(crate) fn jcs(v: &serde_json::Value) -> Vec<u8> {
    let mut out = String::new();
    write_jcs(v, &mut out);
    out.into_bytes()
}

/// RFC 8785 serialisation for the values the canonical form holds (objects and strings; the
/// other JSON types are written as serde_json does, which for them is JCS too).
fn write_jcs(v: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match v {
        Value::Object(m) => {
            // JCS orders keys by their UTF-16 code units.
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::to_string(k).expect("strings serialise"));
                out.push(':');
                write_jcs(&m[k], out);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_jcs(x, out);
            }
            out.push(']');
        }
        // Strings: serde_json escapes exactly `"`, `\` and control characters, with the same
        // short forms and lowercase \u00xx as JCS.
        other => out.push_str(&serde_json::to_string(other).expect("JSON values serialise")),
    }
}
