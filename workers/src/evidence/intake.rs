//! The verifier's check of a worker's confirmation as it arrives: with evidence keys
//! configured, its Ed25519 signature must be a worker key's, current and matching the record as
//! published; with `[signing] required`, an unsigned one is refused too. A person's
//! acknowledgement (`target.instance == "manual"`) is checked as a person's decision elsewhere.

use revoke_shared::config::EvidenceRole;
use revoke_shared::signing::{EvidenceKeys, EvidenceRefusal};
use serde_json::Value;

/// Checks the confirmation `payload` (as published). `Err((reason, detail))` for the DLQ.
pub fn check_worker_confirmation(
    payload: &[u8],
    keys: &EvidenceKeys,
    required: bool,
    what: &str,
) -> Result<(), (&'static str, String)> {
    if keys.is_empty() && !required {
        return Ok(());
    }
    let value: Value = serde_json::from_slice(payload)
        .map_err(|e| ("malformed_confirmation", format!("{what}: not JSON: {e}")))?;
    match keys.check(&value, EvidenceRole::Worker, true) {
        Ok(_) => Ok(()),
        Err(EvidenceRefusal::Unsigned) if !required => Ok(()),
        Err(e) => Err((
            e.reason(),
            format!("{what}: the worker's Ed25519 signature is refused: {e}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use revoke_shared::config::EvidenceKey;
    use revoke_shared::signing::RecordSigner;
    use serde_json::json;

    #[test]
    fn refused_unless_signed_by_a_current_worker_key() {
        let worker = RecordSigner::from_seed("worker", &[4; 32]);
        let keys = EvidenceKeys::from_config(&[EvidenceKey {
            public_key: worker.public_key_text(),
            role: EvidenceRole::Worker,
            retired: false,
        }])
        .unwrap();
        let mut good = json!({"outcome": "revoked", "case_id": "c"});
        worker.sign_value(&mut good);
        let bytes = |v: &Value| serde_json::to_vec(v).unwrap();
        assert!(check_worker_confirmation(&bytes(&good), &keys, true, "r").is_ok());
        let mut altered = good.clone();
        altered["outcome"] = json!("already_absent");
        assert_eq!(
            check_worker_confirmation(&bytes(&altered), &keys, false, "r")
                .unwrap_err()
                .0,
            "confirmation_bad_signature"
        );
        let unsigned = json!({"outcome": "revoked"});
        assert!(check_worker_confirmation(&bytes(&unsigned), &keys, false, "r").is_ok());
        assert_eq!(
            check_worker_confirmation(&bytes(&unsigned), &keys, true, "r")
                .unwrap_err()
                .0,
            "confirmation_unsigned"
        );
        let mut stranger = json!({"outcome": "revoked"});
        RecordSigner::from_seed("worker", &[5; 32]).sign_value(&mut stranger);
        assert_eq!(
            check_worker_confirmation(&bytes(&stranger), &keys, false, "r")
                .unwrap_err()
                .0,
            "confirmation_unknown_key"
        );
        // No keys and signing not required: nothing is checked.
        assert!(
            check_worker_confirmation(&bytes(&altered), &EvidenceKeys::default(), false, "r")
                .is_ok()
        );
    }
}
