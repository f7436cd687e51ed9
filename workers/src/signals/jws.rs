//! JWS compact serialization (RFC 7515 §7.1) of a SET: header `typ: secevent+jwt` (RFC 8417
//! §2.3), the signing key's `alg` and `kid`.

use super::keys::SigningKey;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde_json::{json, Value};

/// The media type of a SET, in the JWS header's `typ` (without `application/`) and as the
/// push request's `Content-Type`.
pub const SET_TYP: &str = "secevent+jwt";

/// `claims` signed by `key`: `header.payload.signature`, each base64url without padding.
pub fn sign(key: &SigningKey, claims: &Value) -> String {
    let header = json!({"typ": SET_TYP, "alg": key.alg(), "kid": key.kid});
    let mut input = B64.encode(header.to_string());
    input.push('.');
    input.push_str(&B64.encode(claims.to_string()));
    let sig = B64.encode(key.sign(input.as_bytes()));
    input.push('.');
    input.push_str(&sig);
    input
}
