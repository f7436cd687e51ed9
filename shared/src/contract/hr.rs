//! HR input on `hr.terminations`: CloudEvents 1.0, structured or binary content mode.
//!
//! Parsing is a pure function of the Kafka record (`RawMessage`) so that every rejection path is
//! unit-tested without a broker.

use super::json_schema::patterns;
use super::{check_identifier, ContractError, MAX_EMAIL_BYTES, MAX_ID_BYTES, MAX_USERNAME_BYTES};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub const TYPE_TERMINATION_V1: &str = "identity.termination.v1";
pub const TYPE_RESCINDED_V1: &str = "identity.termination_rescinded.v1";
/// Kafka protocol binding: binary mode carries `content-type` as a plain header.
pub const CE_CONTENT_TYPE_HEADER: &str = "content-type";

/// Namespace for deterministic case ids: the same HR event always opens the same case, so a
/// replayed or duplicated event can never open a second one.
const CASE_NAMESPACE: Uuid = Uuid::from_u128(0x7265766f_6b65_4361_7365_000000000001);

/// A Kafka record, detached from the client library. Everything the parsers need, nothing more.
#[derive(Debug, Clone, Default)]
pub struct RawMessage {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub payload: Option<Vec<u8>>,
    pub headers: Vec<(String, Vec<u8>)>,
    pub timestamp_ms: Option<i64>,
}

impl RawMessage {
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_slice())
    }

    pub fn key_str(&self) -> Option<String> {
        self.key
            .as_ref()
            .map(|k| String::from_utf8_lossy(k).into_owned())
    }

    /// A binary-mode record as a consumer receives it: `key`, the `ce_*` `headers` and `body`
    /// that `HrEvent::to_binary` gives (the other fields left at their defaults).
    pub fn binary(key: Option<Vec<u8>>, headers: Vec<(String, String)>, body: Vec<u8>) -> Self {
        RawMessage {
            key,
            payload: Some(body),
            headers: headers
                .into_iter()
                .map(|(k, v)| (k, v.into_bytes()))
                .collect(),
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum IdentityKind {
    Employee,
    Contractor,
    Service,
}

impl IdentityKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IdentityKind::Employee => "employee",
            IdentityKind::Contractor => "contractor",
            IdentityKind::Service => "service",
        }
    }
}

/// Who is leaving, as HR names them. Adapters look people up by these attributes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    /// The identity id: equal to the event's `subject` and the Kafka key.
    #[schemars(length(min = 1, max = MAX_ID_BYTES), pattern(patterns::identity()))]
    pub employee_id: String,
    /// `local@domain`, exactly one `@`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = MAX_EMAIL_BYTES), pattern(patterns::email()))]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = MAX_USERNAME_BYTES), pattern(patterns::identity()))]
    pub username: Option<String>,
    pub kind: IdentityKind,
}

/// The CloudEvents `data` of both HR event types.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HrData {
    pub identity: Identity,
    /// When access must be gone (RFC 3339). Required for terminations; optional for rescinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_FREE_TEXT_BYTES), pattern(patterns::free_text()))]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_FREE_TEXT_BYTES), pattern(patterns::free_text()))]
    pub requested_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_FREE_TEXT_BYTES), pattern(patterns::free_text()))]
    pub approved_by: Option<String>,
    /// For a rescind: the id of the termination event it cancels (optional; else the identity's
    /// latest case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = MAX_FREE_TEXT_BYTES), pattern(patterns::free_text()))]
    pub rescinds: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HrEventKind {
    Termination,
    Rescinded,
}

/// A validated HR event. Only ever built by [`parse_hr_event`] (or tests), so holders can trust it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HrEvent {
    pub id: String,
    pub source: String,
    /// The identity id: also the Kafka key.
    pub subject: String,
    pub time: DateTime<Utc>,
    pub kind: HrEventKind,
    pub data: HrData,
}

impl HrData {
    /// The optional free-text fields, by their path in the event (`data.reason`, …): the one
    /// list that validation checks and the signature covers (`signing::canonical_bytes`), so a
    /// field added here is both checked and signed.
    pub fn free_text(&self) -> [(&'static str, &Option<String>); 4] {
        [
            ("data.reason", &self.reason),
            ("data.requested_by", &self.requested_by),
            ("data.approved_by", &self.approved_by),
            ("data.rescinds", &self.rescinds),
        ]
    }
}

impl HrEvent {
    /// The case this termination opens (or, for a rescind, refers to when `rescinds` is given).
    pub fn case_id(&self) -> Uuid {
        match (&self.kind, &self.data.rescinds) {
            (HrEventKind::Rescinded, Some(term_id)) => case_id_for(&self.source, term_id),
            _ => case_id_for(&self.source, &self.id),
        }
    }

    /// A termination dated in the future: workers leave it to the verifier, which keeps it as a
    /// `scheduled` case and re-publishes it on the due topic when its effective time comes.
    /// Decided from the event alone (its `effective_at` against its own `time`), so the worker
    /// and the verifier always agree, whenever and in whichever order they read it. An
    /// `effective_at` within `SCHEDULE_SLACK_SECS` of the event's time means "now".
    pub fn is_scheduled(&self) -> bool {
        self.kind == HrEventKind::Termination
            && self
                .data
                .effective_at
                .is_some_and(|e| e > self.time + chrono::Duration::seconds(SCHEDULE_SLACK_SECS))
    }

    pub fn type_str(&self) -> &'static str {
        match self.kind {
            HrEventKind::Termination => TYPE_TERMINATION_V1,
            HrEventKind::Rescinded => TYPE_RESCINDED_V1,
        }
    }

    /// Structured-mode CloudEvents JSON for this event (what `revoke publish` writes).
    pub fn to_structured_json(&self) -> serde_json::Value {
        serde_json::json!({
            "specversion": "1.0",
            "type": self.type_str(),
            "source": self.source,
            "id": self.id,
            "subject": self.subject,
            "time": self.time.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            "datacontenttype": "application/json",
            "data": self.data,
        })
    }

    /// Binary-mode Kafka headers (`ce_*`) and body for this event.
    pub fn to_binary(&self) -> (Vec<(String, String)>, Vec<u8>) {
        let headers = vec![
            ("ce_specversion".to_string(), "1.0".to_string()),
            ("ce_type".to_string(), self.type_str().to_string()),
            ("ce_source".to_string(), self.source.clone()),
            ("ce_id".to_string(), self.id.clone()),
            ("ce_subject".to_string(), self.subject.clone()),
            (
                "ce_time".to_string(),
                self.time
                    .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            ),
            (
                CE_CONTENT_TYPE_HEADER.to_string(),
                "application/json".to_string(),
            ),
        ];
        let body = serde_json::to_vec(&self.data).expect("HrData always serialises");
        (headers, body)
    }
}

/// The longest free-text field of `data` (`reason`, `requested_by`, `approved_by`, `rescinds`).
pub const MAX_FREE_TEXT_BYTES: usize = 1024;

/// How far past its own `time` an event's `effective_at` must lie to be scheduled, not immediate.
pub const SCHEDULE_SLACK_SECS: i64 = 1;

/// The deterministic case id of the termination `event_id` from `source`.
pub fn case_id_for(source: &str, event_id: &str) -> Uuid {
    let mut name = Vec::with_capacity(source.len() + event_id.len() + 1);
    name.extend_from_slice(source.as_bytes());
    name.push(0);
    name.extend_from_slice(event_id.as_bytes());
    Uuid::new_v5(&CASE_NAMESPACE, &name)
}

/// The CloudEvents attributes, wherever they came from (JSON body or `ce_*` headers).
#[derive(Debug, Default)]
struct Attributes {
    specversion: Option<String>,
    r#type: Option<String>,
    source: Option<String>,
    id: Option<String>,
    subject: Option<String>,
    time: Option<String>,
    datacontenttype: Option<String>,
}

/// Parses and validates one record from `hr.terminations`.
///
/// Binary mode is chosen when a `ce_specversion` header is present, structured mode otherwise.
/// The key must equal the subject: a record can only ever speak for the identity it is keyed by.
pub fn parse_hr_event(msg: &RawMessage, max_bytes: usize) -> Result<HrEvent, ContractError> {
    let payload = msg.payload.as_deref().unwrap_or_default();
    if payload.len() > max_bytes {
        return Err(ContractError::Oversize {
            size: payload.len(),
            limit: max_bytes,
        });
    }
    if payload.is_empty() {
        return Err(ContractError::Empty);
    }
    let (attrs, data) = if msg.header("ce_specversion").is_some() {
        binary_mode(msg, payload)?
    } else {
        structured_mode(payload)?
    };

    let specversion = attrs
        .specversion
        .ok_or(ContractError::MissingField("specversion"))?;
    if specversion != "1.0" {
        return Err(ContractError::SpecVersion(specversion));
    }
    let ty = attrs.r#type.ok_or(ContractError::MissingField("type"))?;
    let kind = match ty.as_str() {
        TYPE_TERMINATION_V1 => HrEventKind::Termination,
        TYPE_RESCINDED_V1 => HrEventKind::Rescinded,
        _ => return Err(ContractError::UnknownType(ty)),
    };
    if let Some(ct) = attrs.datacontenttype {
        let media = ct
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        if media != "application/json" && !media.ends_with("+json") {
            return Err(ContractError::ContentType(ct));
        }
    }
    let id = attrs.id.ok_or(ContractError::MissingField("id"))?;
    check_identifier("id", &id)?;
    let source = attrs.source.ok_or(ContractError::MissingField("source"))?;
    check_identifier("source", &source)?;
    let subject = attrs
        .subject
        .ok_or(ContractError::MissingField("subject"))?;
    super::identity_check::check_subject(&subject)?;
    check_identifier("subject", &subject)?;
    let time = attrs.time.ok_or(ContractError::MissingField("time"))?;
    let time = parse_time("time", &time)?;

    let data = data.ok_or(ContractError::MissingField("data"))?;
    let data: HrData =
        serde_json::from_value(data).map_err(|e| ContractError::Shape(format!("data: {e}")))?;
    super::identity_check::check_identity(&data.identity)?;
    validate_data(kind, &subject, &data)?;

    match msg.key.as_deref() {
        None => return Err(ContractError::MissingKey),
        Some(k) if k != subject.as_bytes() => {
            return Err(ContractError::KeyMismatch {
                key: String::from_utf8_lossy(k).into_owned(),
                subject,
            })
        }
        Some(_) => {}
    }
    Ok(HrEvent {
        id,
        source,
        subject,
        time,
        kind,
        data,
    })
}

fn structured_mode(
    payload: &[u8],
) -> Result<(Attributes, Option<serde_json::Value>), ContractError> {
    let value: serde_json::Value =
        serde_json::from_slice(payload).map_err(|e| ContractError::MalformedJson(e.to_string()))?;
    let serde_json::Value::Object(mut obj) = value else {
        return Err(ContractError::Shape(
            "top level must be a JSON object".into(),
        ));
    };
    let mut attrs = Attributes::default();
    for (name, slot) in [
        ("specversion", &mut attrs.specversion),
        ("type", &mut attrs.r#type),
        ("source", &mut attrs.source),
        ("id", &mut attrs.id),
        ("subject", &mut attrs.subject),
        ("time", &mut attrs.time),
        ("datacontenttype", &mut attrs.datacontenttype),
    ] {
        match obj.remove(name) {
            None | Some(serde_json::Value::Null) => {}
            Some(serde_json::Value::String(s)) => *slot = Some(s),
            Some(other) => {
                return Err(ContractError::Shape(format!(
                    "attribute `{name}` must be a string, found {}",
                    json_type(&other)
                )))
            }
        }
    }
    if obj.contains_key("data_base64") {
        return Err(ContractError::Shape(
            "data_base64 is not accepted; send JSON data".into(),
        ));
    }
    Ok((attrs, obj.remove("data")))
}

fn binary_mode(
    msg: &RawMessage,
    payload: &[u8],
) -> Result<(Attributes, Option<serde_json::Value>), ContractError> {
    let header = |name: &'static str| -> Result<Option<String>, ContractError> {
        msg.header(name)
            .map(|v| {
                String::from_utf8(v.to_vec()).map_err(|_| ContractError::InvalidField {
                    field: name,
                    why: "header is not UTF-8".into(),
                })
            })
            .transpose()
    };
    let attrs = Attributes {
        specversion: header("ce_specversion")?,
        r#type: header("ce_type")?,
        source: header("ce_source")?,
        id: header("ce_id")?,
        subject: header("ce_subject")?,
        time: header("ce_time")?,
        datacontenttype: header(CE_CONTENT_TYPE_HEADER)?,
    };
    let data: serde_json::Value =
        serde_json::from_slice(payload).map_err(|e| ContractError::MalformedJson(e.to_string()))?;
    Ok((attrs, Some(data)))
}

fn validate_data(kind: HrEventKind, subject: &str, data: &HrData) -> Result<(), ContractError> {
    let who = &data.identity;
    check_identifier("data.identity.employee_id", &who.employee_id)?;
    if who.employee_id != subject {
        return Err(ContractError::InvalidField {
            field: "data.identity.employee_id",
            why: format!("{:?} differs from subject {:?}", who.employee_id, subject),
        });
    }
    if let Some(u) = &who.username {
        check_identifier("data.identity.username", u)?;
    }
    if let Some(e) = &who.email {
        check_identifier("data.identity.email", e)?;
        let parts: Vec<&str> = e.split('@').collect();
        if parts.len() != 2 || parts[0].is_empty() || parts[1].is_empty() {
            return Err(ContractError::InvalidField {
                field: "data.identity.email",
                why: "is not an address of the form local@domain".into(),
            });
        }
    }
    for (field, v) in data.free_text() {
        if let Some(v) = v {
            if v.chars().any(char::is_control) {
                return Err(ContractError::InvalidField {
                    field,
                    why: "contains control characters".into(),
                });
            }
            if v.len() > MAX_FREE_TEXT_BYTES {
                return Err(ContractError::InvalidField {
                    field,
                    why: format!("is {} bytes, over {MAX_FREE_TEXT_BYTES}", v.len()),
                });
            }
        }
    }
    if kind == HrEventKind::Termination && data.effective_at.is_none() {
        return Err(ContractError::MissingField("data.effective_at"));
    }
    Ok(())
}

fn parse_time(field: &'static str, s: &str) -> Result<DateTime<Utc>, ContractError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| ContractError::InvalidField {
            field,
            why: format!("{s:?} is not RFC 3339: {e}"),
        })
}

fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn structured(subject: &str) -> serde_json::Value {
        serde_json::json!({
            "specversion": "1.0",
            "type": "identity.termination.v1",
            "source": "urn:hr:workday",
            "id": "evt-1",
            "subject": subject,
            "time": "2026-11-24T09:00:00Z",
            "datacontenttype": "application/json",
            "data": {
                "identity": {"employee_id": subject, "email": "ada@example.com", "username": "ada", "kind": "employee"},
                "effective_at": "2026-11-24T09:00:00Z",
                "reason": "resignation",
                "requested_by": "hr:bob",
                "approved_by": "mgr:carol"
            }
        })
    }

    fn msg(key: Option<&str>, body: &[u8]) -> RawMessage {
        RawMessage {
            topic: "hr.terminations".into(),
            key: key.map(|k| k.as_bytes().to_vec()),
            payload: Some(body.to_vec()),
            ..Default::default()
        }
    }

    fn parse(v: &serde_json::Value, key: Option<&str>) -> Result<HrEvent, ContractError> {
        parse_hr_event(&msg(key, &serde_json::to_vec(v).unwrap()), 256 * 1024)
    }

    #[test]
    fn structured_round_trip() {
        let ev = parse(&structured("E1"), Some("E1")).unwrap();
        assert_eq!(ev.kind, HrEventKind::Termination);
        assert_eq!(ev.data.identity.username.as_deref(), Some("ada"));
        let again = parse(&ev.to_structured_json(), Some("E1")).unwrap();
        assert_eq!(ev, again);
    }

    #[test]
    fn binary_round_trip() {
        let ev = parse(&structured("E1"), Some("E1")).unwrap();
        let (headers, body) = ev.to_binary();
        let m = RawMessage::binary(Some(b"E1".to_vec()), headers, body);
        assert_eq!(parse_hr_event(&m, 1 << 20).unwrap(), ev);
    }

    #[test]
    fn case_id_is_deterministic_per_source_and_event() {
        let a = case_id_for("hr", "1");
        assert_eq!(a, case_id_for("hr", "1"));
        assert_ne!(a, case_id_for("hr", "2"));
        assert_ne!(a, case_id_for("hr2", "1"));
        // no ambiguity from concatenation
        assert_ne!(case_id_for("a", "bc"), case_id_for("ab", "c"));
    }

    #[test]
    fn rescind_refers_to_the_termination_case() {
        let term = parse(&structured("E1"), Some("E1")).unwrap();
        let mut v = structured("E1");
        v["type"] = "identity.termination_rescinded.v1".into();
        v["id"] = "evt-2".into();
        v["data"]["rescinds"] = "evt-1".into();
        v["data"].as_object_mut().unwrap().remove("effective_at");
        let r = parse(&v, Some("E1")).unwrap();
        assert_eq!(r.kind, HrEventKind::Rescinded);
        assert_eq!(r.case_id(), term.case_id());
    }

    fn reason_of(v: &serde_json::Value, key: Option<&str>) -> &'static str {
        parse(v, key).unwrap_err().reason()
    }

    #[test]
    fn rejections_have_bounded_reasons() {
        let good = structured("E1");
        // Records that are no JSON object at all.
        let raw: [(&[u8], &str); 4] = [
            (b"{not json", "malformed_json"),
            (b"", "empty"),
            (&[b' '; 2000], "oversize"),
            (b"[1,2]", "wrong_shape"),
        ];
        for (payload, reason) in raw {
            let e = parse_hr_event(&msg(Some("E1"), payload), 1024).unwrap_err();
            assert_eq!(e.reason(), reason, "{payload:?}");
        }
        assert_eq!(reason_of(&good, None), "missing_key");
        assert_eq!(reason_of(&good, Some("E2")), "key_mismatch");

        // One change to the good event each, and the reason it is refused for.
        #[rustfmt::skip]
        let changes: [(fn(&mut serde_json::Value), &str); 12] = [
            (|v| v["type"] = "identity.termination.v2".into(), "unknown_type"),
            (|v| v["specversion"] = "0.3".into(), "unsupported_specversion"),
            (|v| v["id"] = 42.into(), "wrong_shape"),
            (|v| { v.as_object_mut().unwrap().remove("subject"); }, "missing_field"),
            (|v| v["time"] = "yesterday".into(), "invalid_field"),
            (|v| v["datacontenttype"] = "text/xml".into(), "unsupported_content_type"),
            (|v| v["data"]["identity"]["kind"] = "robot".into(), "wrong_shape"),
            (|v| v["data"]["identity"]["employee_id"] = "E2".into(), "invalid_field"),
            (|v| v["data"]["identity"]["username"] = "ada\u{0000}".into(), "invalid_identity"),
            (|v| v["data"]["identity"]["email"] = "a@b@c".into(), "invalid_field"),
            (|v| { v["data"].as_object_mut().unwrap().remove("effective_at"); }, "missing_field"),
            (|v| v["data"]["surprise"] = 1.into(), "wrong_shape"),
        ];
        for (change, reason) in changes {
            let mut v = good.clone();
            change(&mut v);
            assert_eq!(reason_of(&v, Some("E1")), reason, "{v}");
        }
    }

    #[test]
    fn binary_mode_with_missing_header_is_rejected() {
        let m = RawMessage {
            key: Some(b"E1".to_vec()),
            payload: Some(b"{}".to_vec()),
            headers: vec![("ce_specversion".into(), b"1.0".to_vec())],
            ..Default::default()
        };
        assert_eq!(
            parse_hr_event(&m, 1024).unwrap_err().reason(),
            "missing_field"
        );
    }
}
