//! The public keys a check trusts: the fleet's evidence keys (signer `verifier` or `worker`)
//! and people's keys (signer = the person's id), with key ids, roles and whether retired. Built
//! from config (`[[signing.evidence_keys]]`, `[[people]]`) for `revoke case --verify`, or read
//! from a packet / a pinned key file for `revoke evidence verify`.

use ed25519_dalek::VerifyingKey;
use revoke_shared::config::Config;
use revoke_shared::signing::{key_id_of, EvidenceKeys};
use serde::{Deserialize, Serialize};

/// Whose key: the fleet's (a role of the fleet) or a person's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyOwner {
    Fleet,
    Person,
}

/// One public key, as a packet and a pinned key file list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicKeyEntry {
    pub owner: KeyOwner,
    /// The name its records carry as `signature.signer`: `verifier`, `worker`, or a person's id.
    pub signer: String,
    /// For a person: their roles (approver, attester, reviewer, owner); for the fleet: its role.
    #[serde(default)]
    pub roles: Vec<String>,
    pub key_id: String,
    /// The 32-byte Ed25519 public key, base64.
    pub public_key: String,
    /// Rotated away: verifies what it signed before, signs nothing new.
    #[serde(default)]
    pub retired: bool,
}

/// A decoded trusted key.
#[derive(Debug, Clone)]
pub struct TrustedKey {
    pub entry: PublicKeyEntry,
    pub key: VerifyingKey,
}

/// The keys a check trusts.
#[derive(Debug, Clone, Default)]
pub struct TrustedKeys {
    keys: Vec<TrustedKey>,
}

fn b64(k: &VerifyingKey) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(k.to_bytes())
}

/// Decodes a public key written as hex or base64 (32 bytes), refusing weak keys: as config
/// reads it.
fn decode_key(text: &str) -> Result<VerifyingKey, String> {
    revoke_shared::signing::public_key(text)
}

impl TrustedKeys {
    /// The keys `[[signing.evidence_keys]]` and `[[people]]` publish (a person's
    /// `previous_public_keys` as retired).
    pub fn from_config(cfg: &Config) -> Result<TrustedKeys, String> {
        let mut keys = Vec::new();
        for k in EvidenceKeys::from_config(&cfg.signing.evidence_keys)?.keys() {
            keys.push(TrustedKey {
                entry: PublicKeyEntry {
                    owner: KeyOwner::Fleet,
                    signer: k.role.as_str().into(),
                    roles: vec![k.role.as_str().into()],
                    key_id: k.key_id.clone(),
                    public_key: b64(&k.key),
                    retired: k.retired,
                },
                key: k.key,
            });
        }
        for p in &cfg.people {
            let current = p.public_key.iter().map(|k| (k, false));
            let previous = p.previous_public_keys.iter().map(|k| (k, true));
            for (text, retired) in current.chain(previous) {
                let key = decode_key(text)
                    .map_err(|why| format!("people {:?}: public key {why}", p.id))?;
                keys.push(TrustedKey {
                    entry: PublicKeyEntry {
                        owner: KeyOwner::Person,
                        signer: p.id.clone(),
                        roles: p.roles.iter().map(|r| r.as_str().to_string()).collect(),
                        key_id: key_id_of(&key),
                        public_key: b64(&key),
                        retired,
                    },
                    key,
                });
            }
        }
        Ok(TrustedKeys { keys })
    }

    /// From listed entries (a packet's keys, a pinned key file). The key id is recomputed from
    /// the key: an entry whose `key_id` does not match its key is refused.
    pub fn from_entries(entries: &[PublicKeyEntry]) -> Result<TrustedKeys, String> {
        let mut keys = Vec::new();
        for (i, e) in entries.iter().enumerate() {
            let key = decode_key(&e.public_key)
                .map_err(|why| format!("key {i} ({}): public_key {why}", e.signer))?;
            if key_id_of(&key) != e.key_id {
                return Err(format!(
                    "key {i} ({}): key_id {} is not the id of its public key ({})",
                    e.signer,
                    e.key_id,
                    key_id_of(&key)
                ));
            }
            let mut entry = e.clone();
            entry.public_key = b64(&key);
            keys.push(TrustedKey { entry, key });
        }
        Ok(TrustedKeys { keys })
    }

    pub fn entries(&self) -> Vec<PublicKeyEntry> {
        self.keys.iter().map(|k| k.entry.clone()).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether any key signs as `verifier` (then every case version must be signed).
    pub fn has_verifier(&self) -> bool {
        self.keys
            .iter()
            .any(|k| k.entry.owner == KeyOwner::Fleet && k.entry.signer == "verifier")
    }

    /// The key `signer` signed with under `key_id`, owned by `owner`.
    pub fn find(&self, owner: KeyOwner, signer: &str, key_id: &str) -> Option<&TrustedKey> {
        self.keys.iter().find(|k| {
            k.entry.owner == owner && k.entry.signer == signer && k.entry.key_id == key_id
        })
    }

    /// Only the entries also in `pinned` (same owner, signer and key): what an auditor trusts
    /// when a packet carries its own keys. Returns the kept keys and the entries dropped.
    pub fn pinned_by(&self, pinned: &TrustedKeys) -> (TrustedKeys, Vec<PublicKeyEntry>) {
        let (kept, dropped): (Vec<TrustedKey>, Vec<TrustedKey>) =
            self.keys.iter().cloned().partition(|k| {
                pinned.keys.iter().any(|p| {
                    p.entry.owner == k.entry.owner
                        && p.entry.signer == k.entry.signer
                        && p.key == k.key
                })
            });
        // A pinned key's retired mark wins over the packet's.
        let kept = kept
            .into_iter()
            .map(|mut k| {
                if let Some(p) = pinned.keys.iter().find(|p| p.key == k.key) {
                    k.entry.retired = p.entry.retired;
                }
                k
            })
            .collect();
        (
            TrustedKeys { keys: kept },
            dropped.into_iter().map(|k| k.entry).collect(),
        )
    }
}
