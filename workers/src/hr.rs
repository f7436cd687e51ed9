//! The HR side: building termination events and publishing them (`revoke publish`).

use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use revoke_shared::contract::{
    parse_hr_event, HrData, HrEvent, HrEventKind, Identity, IdentityKind, RawMessage,
};
use revoke_shared::kafka::{KafkaError, Producer};
use revoke_shared::signing::{EventSigner, SignatureAttributes, SigningConfig};
use std::collections::BTreeMap;
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

/// `revoke publish --sign`: signs each event with the configured key of its source (one
/// signer per source, read once). Secrets stay inside the signers and are never printed.
pub struct Signing<'a> {
    cfg: &'a SigningConfig,
    key_id: Option<&'a str>,
    signers: BTreeMap<String, EventSigner>,
}

impl<'a> Signing<'a> {
    /// Signs with `key_id`, or else each source's first key that can sign.
    pub fn new(cfg: &'a SigningConfig, key_id: Option<&'a str>) -> Signing<'a> {
        Signing {
            cfg,
            key_id,
            signers: BTreeMap::new(),
        }
    }

    pub fn sign(&mut self, ev: &HrEvent) -> Result<SignatureAttributes, String> {
        if !self.signers.contains_key(&ev.source) {
            let signer = self.cfg.signer(&ev.source, self.key_id)?;
            self.signers.insert(ev.source.clone(), signer);
        }
        Ok(self.signers[&ev.source].sign(ev))
    }

    /// Signs every event, or says why one cannot be (nothing is signed half-way).
    pub fn sign_all(
        &mut self,
        events: Vec<HrEvent>,
    ) -> Result<Vec<(HrEvent, Option<SignatureAttributes>)>, String> {
        events
            .into_iter()
            .map(|ev| self.sign(&ev).map(|sig| (ev, Some(sig))))
            .collect()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("line {line}: {why}")]
    Line { line: usize, why: String },
    #[error("signing: {0}")]
    Sign(String),
    #[error("reading input: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Kafka(#[from] KafkaError),
}

/// One JSONL line: a structured CloudEvent. Validated like the workers would, unless `validate`
/// is off (for feeding deliberately bad input to a test fleet), in which case it is sent as is,
/// keyed by its `subject` when it has one. A valid line keeps the signature attributes it came
/// with (events signed by HR's own tooling go out signed).
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // one per input line, held until the batch is sent
pub enum Line {
    Valid(HrEvent, SignatureAttributes),
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
    let ev = parse_hr_event(&msg, max_bytes).map_err(|e| e.to_string())?;
    let sig = SignatureAttributes::of(&msg).map_err(|e| e.to_string())?;
    Ok(Line::Valid(ev, sig))
}

/// Reads JSONL from `input`, validates every line first (nothing is sent if one is bad), then
/// publishes. Blank lines are skipped. With `signing`, every valid line is signed (replacing any
/// signature it came with) before anything is sent; it needs `validate`.
pub async fn publish_jsonl(
    producer: &Producer,
    topic: &str,
    input: impl BufRead,
    mode: Mode,
    validate: bool,
    max_bytes: usize,
    mut signing: Option<&mut Signing<'_>>,
) -> Result<usize, PublishError> {
    if signing.is_some() && !validate {
        return Err(PublishError::Sign(
            "only validated lines can be signed (drop --no-validate)".into(),
        ));
    }
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
            Line::Valid(ev, sig) => {
                let sig = match signing.as_deref_mut() {
                    Some(s) => Some(s.sign(&ev).map_err(PublishError::Sign)?),
                    None => (!sig.is_empty()).then_some(sig),
                };
                valid.push((ev, sig));
            }
            Line::Raw { key, bytes } => raw.push((key, bytes)),
        }
    }
    let mut n = publish_signed(producer, topic, &valid, mode).await?;
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
            Line::Valid(back, sig) => {
                assert_eq!(back, ev);
                assert!(sig.is_empty());
            }
            Line::Raw { .. } => panic!("validated line came back raw"),
        }
        assert_eq!(ev.data.identity.kind, IdentityKind::Contractor);
    }

    #[test]
    fn signed_lines_keep_their_signature_and_sign_signs_with_the_source_key() {
        use revoke_shared::secret::Secret;
        use revoke_shared::signing::{Algorithm, KeyConfig};
        let secret = "a-shared-secret-of-at-least-32-bytes";
        let ev = synthetic_leaver(1, "urn:hr:workday", "run1", Utc::now());
        let sig = revoke_shared::signing::EventSigner::hmac(Secret::new(secret), Some("k1".into()))
            .sign(&ev);
        let mut value = ev.to_structured_json();
        sig.add_to_structured(&mut value);
        match parse_line(&value.to_string(), true, 1 << 16).unwrap() {
            Line::Valid(back, kept) => {
                assert_eq!(back, ev);
                assert_eq!(kept, sig);
            }
            Line::Raw { .. } => panic!("validated line came back raw"),
        }

        let path = std::env::temp_dir().join(format!("revoke-hr-{}.key", uuid::Uuid::new_v4()));
        std::fs::write(&path, secret).unwrap();
        let mut cfg = revoke_shared::config::Config::default();
        cfg.signing.required = true;
        cfg.signing.keys = vec![KeyConfig {
            source: "urn:hr:workday".into(),
            key_id: Some("k1".into()),
            algorithm: Algorithm::HmacSha256,
            public_key: None,
            secret_env: None,
            secret_file: Some(path.display().to_string()),
            private_key_env: None,
            private_key_file: None,
        }];
        let mut signing = Signing::new(&cfg.signing, None);
        let signed = signing.sign_all(vec![ev.clone()]).unwrap();
        assert_eq!(signed[0].1.as_ref(), Some(&sig));
        let keys = cfg.signing.key_set().unwrap();
        assert_eq!(keys.verify(&ev, &sig), Ok(()));
        let stranger = synthetic_leaver(2, "urn:hr:rogue", "run1", Utc::now());
        let err = signing.sign_all(vec![stranger]).unwrap_err();
        assert!(
            err.contains("urn:hr:rogue") && !err.contains(secret),
            "{err}"
        );
        std::fs::remove_file(path).ok();
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
