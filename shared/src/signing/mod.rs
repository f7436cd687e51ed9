//! Signed HR events: per-source keys, the canonical form that is signed, and verification.
//!
//! With `[signing] required = true`, every consumer of `hr.terminations` (each worker group and
//! the verifier) accepts an HR event only when it carries a valid signature by a key configured
//! for the event's `source`; anything else goes to the DLQ and revokes nothing. Verification is a
//! pure function of the parsed event, its signature attributes and the keys ([`KeySet::verify`]).
//!
//! **Where the signature travels.** As three CloudEvents extension attributes, so it survives
//! either content mode and readers that do not know about it ignore it:
//!
//! | attribute (structured) / header (binary) | value |
//! | --- | --- |
//! | `signature` / `ce_signature` | base64 (standard alphabet, padded) of the HMAC-SHA256 tag (32 bytes) or the Ed25519 signature (64 bytes) |
//! | `signaturealg` / `ce_signaturealg` | `hmac-sha256` or `ed25519` |
//! | `signaturekeyid` / `ce_signaturekeyid` | optional: the `key_id` of the key used (rotation) |
//!
//! **What is signed** ([`canonical_bytes`]): not the bytes on the wire, but a canonical form of
//! the *parsed* event, so that structured and binary mode, white space, key order, `null` versus
//! absent, time zone offsets and re-serialisation (as when the event is re-published) all give
//! the same bytes. It is the UTF-8 of the JSON Canonicalization Scheme (RFC 8785) form of
//!
//! ```text
//! {"data":{"approved_by":..,"effective_at":..,"identity":{"email":..,"employee_id":..,"kind":..,"username":..},
//!          "reason":..,"requested_by":..,"rescinds":..},
//!  "id":..,"source":..,"specversion":"1.0","subject":..,"time":..,"type":..}
//! ```
//!
//! keys sorted, no white space, optional `data` fields that are absent or `null` left out, and
//! both times (`time`, `data.effective_at`) in UTC as RFC 3339 with `Z` and as many fractional
//! digits as needed (none, 3, 6 or 9). Every attribute that decides what is revoked, for whom and
//! when is covered; `datacontenttype` and the signature attributes are not.
//!
//! **Replays.** A signature proves who wrote an event, not that it is new: a replayed event with
//! a valid signature has the same `source` and `id`, hence the same case id, and the verifier
//! absorbs it as a duplicate (workers find nothing left to revoke).
//!
//! **Where it lives.** The settings (`[signing]`: [`SigningConfig`], [`KeyConfig`],
//! [`Algorithm`]) are data in `crate::config`; this module reads them, never the other way round.
//!
//! - `keys`: the verification keys read from the settings, kept per config.
//! - `verify`: checking a signature with them; `error`: why a check refused a record.
//! - `signer`: making a signature (`revoke publish --sign`).
//! - `canonical`: the bytes that are signed.
//! - `attributes`: where a signature travels on a record; `wire_names`: under which names.
//! - `fleet`: the fleet's own MAC on what the verifier hands to the workers.
//! - `admission`: the checks every consumer of HR input applies before it acts on a record.
//! - `record`: Ed25519 signatures and digests of the records evidence is made of (case versions,
//!   confirmations, people's decisions); `people`: whether a decision is proven to be its
//!   person's; `evidence`: the fleet's evidence keys (verifier, workers) and their checks.

mod admission;
mod attributes;
mod canonical;
mod error;
mod evidence;
mod fleet;
mod keys;
mod people;
mod record;
mod signer;
mod verify;
mod wire_names;

pub use crate::config::{Algorithm, EvidenceKey, EvidenceRole, KeyConfig, SigningConfig};
pub use admission::{check_fleet_signature, parse_hr_input, HrRefusal};
pub use attributes::SignatureAttributes;
pub use canonical::canonical_bytes;
pub use error::SignatureError;
pub use evidence::{evidence_signer, EvidenceKeys, EvidenceRefusal, PublishedKey};
pub use fleet::{fleet_signature, fleet_signature_matches, FLEET_SIGNED_HEADERS};
pub use keys::{KeySet, MIN_HMAC_SECRET_BYTES};
pub use people::{check_decision, person_key, DecisionRefusal};
pub use record::{
    key_id_of, public_key, public_key_id, record_canonical, record_digest, sha256_text,
    signature_of, signed_bytes, verify_record, verify_with, RecordSignatureError, RecordSigner,
    RECORD_ALGORITHM, SIGNATURE_FIELD,
};
pub use signer::{ed25519_public_key, EventSigner};
pub use wire_names::{ATTR_ALGORITHM, ATTR_KEY_ID, ATTR_SIGNATURE, FLEET_SIGNATURE_HEADER};

#[cfg(test)]
mod tests;
