//! `revoke publish`: HR events onto the terminations topic — CloudEvents read one JSON object a
//! line from a file or stdin (every line validated, and with `--sign` signed, before anything is
//! sent), or N synthetic leavers with `--generate`. Building and sending the events is `crate::hr`.

use super::error::CommandError;
use super::shell::{runtime, wait_for_topics};
use crate::hr::{publish_signed, synthetic_leaver, Mode};
use clap::Args;
use revoke_shared::config::Config;
use revoke_shared::contract::{parse_hr_event, HrEvent, RawMessage};
use revoke_shared::kafka::{KafkaError, Producer};
use revoke_shared::signing::{EventSigner, SignatureAttributes, SigningConfig};
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args, Debug)]
pub struct PublishArgs {
    /// JSONL file of CloudEvents; `-` or absent reads stdin.
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// Instead of reading input, publish this many synthetic leavers.
    #[arg(long, conflicts_with = "file")]
    pub generate: Option<usize>,
    /// CloudEvents `source` of generated events.
    #[arg(long, default_value = "urn:revoke:generated-hr")]
    pub source: String,
    /// Use CloudEvents binary mode (ce_* headers) instead of structured mode.
    #[arg(long)]
    pub binary: bool,
    /// Send lines as they are, without validation (to test how the fleet handles bad input).
    #[arg(long)]
    pub no_validate: bool,
    /// Sign every event with its source's key from `[[signing.keys]]` (an hmac-sha256 secret, or
    /// an ed25519 private key from private_key_env/private_key_file), carried as the CloudEvents
    /// extension attributes signature, signaturealg and signaturekeyid. Every event is signed
    /// before anything is sent.
    #[arg(long, conflicts_with = "no_validate")]
    pub sign: bool,
    /// With --sign: the key_id of the key to sign with (default: the first key listed for the
    /// source that can sign).
    #[arg(long, requires = "sign")]
    pub key_id: Option<String>,
}

/// `revoke publish`: waits for the terminations topic, publishes, prints how many were sent.
pub fn command(
    cfg: &Config,
    p: &PublishArgs,
    leader_wait: u64,
    emit: fn(&str),
) -> Result<(), CommandError> {
    wait_for_topics(cfg, &[&cfg.topics.terminations], leader_wait)?;
    let rt = runtime()?;
    rt.block_on(async {
        let producer =
            Producer::with_timeout(cfg, Duration::from_secs(60)).map_err(CommandError::usage)?;
        let mode = if p.binary {
            Mode::Binary
        } else {
            Mode::Structured
        };
        let mut signing = p
            .sign
            .then(|| Signing::new(&cfg.signing, p.key_id.as_deref()));
        let n = if let Some(n) = p.generate {
            let run = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
            let now = chrono::Utc::now();
            let events: Vec<_> = (0..n)
                .map(|i| synthetic_leaver(i, &p.source, &run, now))
                .collect();
            let events = match signing.as_mut() {
                Some(s) => s
                    .sign_all(events)
                    .map_err(|e| CommandError::usage(anyhow::anyhow!("signing: {e}")))?,
                None => events.into_iter().map(|ev| (ev, None)).collect(),
            };
            publish_signed(&producer, &cfg.topics.terminations, &events, mode)
                .await
                .map_err(CommandError::job)?
        } else {
            let max = cfg.consumer.max_event_bytes;
            let topic = cfg.topics.terminations.clone();
            match p.file.as_deref().filter(|f| f.as_os_str() != "-") {
                Some(path) => {
                    let f = std::fs::File::open(path).map_err(|e| {
                        CommandError::usage(anyhow::anyhow!("cannot open {}: {e}", path.display()))
                    })?;
                    publish_jsonl(
                        &producer,
                        &topic,
                        std::io::BufReader::new(f),
                        mode,
                        !p.no_validate,
                        max,
                        signing.as_mut(),
                    )
                    .await
                }
                None => {
                    publish_jsonl(
                        &producer,
                        &topic,
                        std::io::stdin().lock(),
                        mode,
                        !p.no_validate,
                        max,
                        signing.as_mut(),
                    )
                    .await
                }
            }
            .map_err(|e| match e {
                PublishError::Line { .. } | PublishError::Sign(_) => CommandError::usage(e),
                other => CommandError::job(other),
            })?
        };
        emit(&format!(
            "published {n} events to {}",
            cfg.topics.terminations
        ));
        Ok(())
    })
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
    use chrono::Utc;
    use revoke_shared::contract::IdentityKind;

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
