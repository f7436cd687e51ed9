//! Tamper-evident evidence: case versions chained by digest and signed by the verifier,
//! confirmations signed by the workers, and the checks an auditor runs on them.
//!
//! - `chain`: sealing a case version as it is published (prev_digest, signature), the shell's
//!   last digest per live case.
//! - `keys`: the public keys a check trusts (fleet roles and people), from config or a packet.
//! - `check`: the pure check of a case's versions as read (signatures, chain, embedded reports,
//!   people's decisions) into findings.
//! - `embedded`: the reports and decisions a version embeds, checked; `render`: the printed
//!   result.
//! - `guard_decisions`: people's approvals and rejections of held batches, which a case names
//!   only by digest, checked against the guard log's records (or a packet's copies).
//! - `intake`: the verifier's check of a worker's signed confirmation as it arrives.
//! - `read`: reading every version from the cases topic (the only I/O here).
//! - `packet`: the self-contained evidence packet (`revoke evidence export|verify`).

pub mod chain;
pub mod check;
pub mod embedded;
pub mod guard_decisions;
pub mod intake;
pub mod keys;
pub mod packet;
pub mod read;
pub mod render;

/// The signature `signer` makes over `record` as it will be published (its `signature` field
/// left out), to set in the record's own `signature` field before it is serialised: the record
/// is then sent as its type serialises it, so a rebuilt copy gives the same bytes.
pub fn signature_over<T: serde::Serialize>(
    signer: &revoke_shared::signing::RecordSigner,
    record: &T,
) -> Option<revoke_shared::contract::RecordSignature> {
    let v = signer.sign(record).ok()?;
    revoke_shared::signing::signature_of(&v).ok().flatten()
}
