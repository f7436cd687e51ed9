//! The names a signature travels under on a record: the CloudEvents extension attributes of
//! HR's signature and the Kafka header of the fleet's. A leaf, so that the readers, the writers
//! and the error messages all spell them from one place.

/// CloudEvents extension attribute holding the signature (base64).
pub const ATTR_SIGNATURE: &str = "signature";
/// CloudEvents extension attribute naming the algorithm.
pub const ATTR_ALGORITHM: &str = "signaturealg";
/// CloudEvents extension attribute naming the key (optional).
pub const ATTR_KEY_ID: &str = "signaturekeyid";

/// Kafka header on the records the verifier hands to the workers while signing is required:
/// `hmac-sha256=<hex>` over the topic, key, value and `FLEET_SIGNED_HEADERS` (see
/// `fleet_signature`).
pub const FLEET_SIGNATURE_HEADER: &str = "revoke_fleet_signature";
