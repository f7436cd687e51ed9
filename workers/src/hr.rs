//! The HR side: building termination events and publishing them (for `revoke publish`, the
//! demo and the tests; reading and signing JSONL input is `cli::publish`).

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use revoke_shared::contract::{HrData, HrEvent, HrEventKind, Identity, IdentityKind};
use revoke_shared::kafka::{KafkaError, Producer};
use revoke_shared::signing::SignatureAttributes;

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
    publish(producer, topic, events.iter().map(|ev| (ev, None)), mode).await
}

/// Publishes validated events each with its signature attributes (none: unsigned), as
/// CloudEvents extension attributes (`signature`, `signaturealg`, `signaturekeyid`) in either
/// mode; returns when all are acknowledged.
pub async fn publish_signed(
    producer: &Producer,
    topic: &str,
    events: &[(HrEvent, Option<SignatureAttributes>)],
    mode: Mode,
) -> Result<usize, KafkaError> {
    publish(
        producer,
        topic,
        events.iter().map(|(ev, sig)| (ev, sig.as_ref())),
        mode,
    )
    .await
}

async fn publish<'a>(
    producer: &Producer,
    topic: &str,
    events: impl Iterator<Item = (&'a HrEvent, Option<&'a SignatureAttributes>)>,
    mode: Mode,
) -> Result<usize, KafkaError> {
    let results: Vec<Result<(i32, i64), KafkaError>> = stream::iter(events)
        .map(|(ev, sig)| async move {
            match mode {
                Mode::Structured => {
                    let mut value = ev.to_structured_json();
                    if let Some(sig) = sig {
                        sig.add_to_structured(&mut value);
                    }
                    producer.send_json(topic, &ev.subject, &value, None).await
                }
                Mode::Binary => {
                    let (mut headers, body) = ev.to_binary();
                    if let Some(sig) = sig {
                        sig.add_to_binary(&mut headers);
                    }
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
