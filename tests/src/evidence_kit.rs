//! Evidence keys for a test fleet: the process's Ed25519 seed in a file and its public key
//! listed in `[[signing.evidence_keys]]` — under both roles, since a test fleet runs the
//! verifier and the workers in one process with one config (production gives each its own).

use revoke_shared::config::{Config, EvidenceKey, EvidenceRole};
use revoke_shared::signing::RecordSigner;
use std::path::Path;

/// Writes `seed` (hex) to `dir/evidence.key`, points `cfg` at it and lists its public key for
/// the verifier and the workers. Returns the signer (as `verifier`), for its public key.
pub fn use_evidence_key(cfg: &mut Config, dir: &Path, seed: [u8; 32]) -> RecordSigner {
    let hex: String = seed.iter().map(|b| format!("{b:02x}")).collect();
    let file = dir.join("evidence.key");
    std::fs::write(&file, format!("{hex}\n")).expect("write the evidence key");
    cfg.signing.evidence_key_env = None;
    cfg.signing.evidence_key_file = Some(file.display().to_string());
    let signer = RecordSigner::from_seed("verifier", &seed);
    for role in [EvidenceRole::Verifier, EvidenceRole::Worker] {
        if !cfg
            .signing
            .evidence_keys
            .iter()
            .any(|k| k.role == role && k.public_key == signer.public_key_text())
        {
            cfg.signing.evidence_keys.push(EvidenceKey {
                public_key: signer.public_key_text(),
                role,
                retired: false,
            });
        }
    }
    signer
}
