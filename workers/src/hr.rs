//! The HR side: building termination events and publishing them (`revoke publish`).

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use revoke_shared::contract::{
    parse_hr_event, HrData, HrEvent, HrEventKind, Identity, IdentityKind, RawMessage,
};
use revoke_shared::kafka::{KafkaError, Producer};
use std::io::BufRead;

/// How events are put on the topic (CloudEvents Kafka protocol binding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The whole CloudEvent as the JSON value.
    Structured,
    /// Attributes as `ce_*` headers, `data` as the value.
    Binary,
}

/// A synthetic leaver, numbered `i`; the mix of identity kinds is deterministic.
pub fn synthetic_leaver(i: usize, source: &str, run: &str, effective_at: DateTime<Utc>) -> HrEvent {
    let id = format!("E{i:06}");
    let kind = match i % 10 {
        7 => IdentityKind::Contractor,
        9 => IdentityKind::Service,
        _ => IdentityKind::Employee,
    };
    HrEvent {
        id: format!("{run}-{i}"),
        source: source.to_string(),
        subject: id.clone(),
        time: Utc::now(),
        kind: HrEventKind::Termination,
        data: HrData {
            identity: Identity {
                employee_id: id,
                email: Some(format!("user{i}@example.com")),
                username: Some(format!("user{i}")),
                kind,
            },
            effective_at: Some(effective_at),
            reason: Some("resignation".into()),
            requested_by: Some("hr:people-ops".into()),
            approved_by: Some("mgr:line-manager".into()),
            rescinds: None,
        },
    }
}

/// Publishes validated events, many in flight at once; returns when all are acknowledged.
pub async fn publish_events(
    producer: &Producer,
    topic: &str,
    events: &[HrEvent],
    mode: Mode,
) -> Result<usize, KafkaError> {
    let results: Vec<Result<(i32, i64), KafkaError>> = stream::iter(events.iter())
        .map(|ev| async move {
            match mode {
                Mode::Structured => {
                    producer
                        .send_json(topic, &ev.subject, &ev.to_structured_json(), None)
                        .await
                }
                Mode::Binary => {
                    let (headers, body) = ev.to_binary();
                    let hs: Vec<(&str, &str)> = headers
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect();
                    producer
                        .send_bytes(topic, &ev.subject, &body, &hs, None)
                        .await
                }
            }
        })
        .buffer_unordered(1024)
        .collect()
        .await;
    let mut n = 0;
    for r in results {
        r?;
        n += 1;
    }
    Ok(n)
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("line {line}: {why}")]
    Line { line: usize, why: String },
    #[error("reading input: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Kafka(#[from] KafkaError),
}

/// One JSONL line: a structured CloudEvent. Validated like the workers would, unless `validate`
/// is off (for feeding deliberately bad input to a test fleet), in which case it is sent as is,
/// keyed by its `subject` when it has one.
#[derive(Debug)]
pub enum Line {
    Valid(HrEvent),
    Raw { key: Option<String>, bytes: Vec<u8> },
}

pub fn parse_line(text: &str, validate: bool, max_bytes: usize) -> Result<Line, String> {
    if !validate {
        let key = serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| {
                v.get("subject")
                    .and_then(|s| s.as_str())
                    .map(str::to_string)
            });
        return Ok(Line::Raw {
            key,
            bytes: text.as_bytes().to_vec(),
        });
    }
    let subject = serde_json::from_str::<serde_json::Value>(text)
        .map_err(|e| format!("not JSON: {e}"))?
        .get("subject")
        .and_then(|s| s.as_str())
        .map(str::to_string)
        .ok_or("no `subject` (the identity id, used as the Kafka key)")?;
    let msg = RawMessage {
        key: Some(subject.into_bytes()),
        payload: Some(text.as_bytes().to_vec()),
        ..Default::default()
    };
    parse_hr_event(&msg, max_bytes)
        .map(Line::Valid)
        .map_err(|e| e.to_string())
}

/// Reads JSONL from `input`, validates every line first (nothing is sent if one is bad), then
/// publishes. Blank lines are skipped.
pub async fn publish_jsonl(
    producer: &Producer,
    topic: &str,
    input: impl BufRead,
    mode: Mode,
    validate: bool,
    max_bytes: usize,
) -> Result<usize, PublishError> {
    let mut valid = Vec::new();
    let mut raw = Vec::new();
    for (i, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match parse_line(&line, validate, max_bytes)
            .map_err(|why| PublishError::Line { line: i + 1, why })?
        {
            Line::Valid(ev) => valid.push(ev),
            Line::Raw { key, bytes } => raw.push((key, bytes)),
        }
    }
    let mut n = publish_events(producer, topic, &valid, mode).await?;
    for (key, bytes) in raw {
        producer
            .send_bytes(topic, key.as_deref().unwrap_or(""), &bytes, &[], None)
            .await?;
        n += 1;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_leavers_validate() {
        let ev = synthetic_leaver(7, "urn:hr:demo", "run1", Utc::now());
        let line = ev.to_structured_json().to_string();
        match parse_line(&line, true, 1 << 16).unwrap() {
            Line::Valid(back) => assert_eq!(back, ev),
            Line::Raw { .. } => panic!("validated line came back raw"),
        }
        assert_eq!(ev.data.identity.kind, IdentityKind::Contractor);
    }

    #[test]
    fn invalid_lines_are_refused_with_the_reason() {
        assert!(parse_line("{", true, 1024)
            .unwrap_err()
            .contains("not JSON"));
        let err = parse_line(r#"{"subject":"E1","specversion":"1.0"}"#, true, 1024).unwrap_err();
        assert!(err.contains("type"), "{err}");
        assert!(matches!(
            parse_line("{", false, 1024).unwrap(),
            Line::Raw { key: None, .. }
        ));
    }
}
