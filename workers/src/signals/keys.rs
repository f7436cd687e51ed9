//! The keys SETs are signed with: read from PKCS#8 PEM (an env var or a file, never inline),
//! each with its `kid` and `alg`, and published as a JWK (RFC 7517; EC keys per RFC 7518 §6.2,
//! Ed25519 per RFC 8037).

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use revoke_shared::config::SignalKeyConfig;
use revoke_shared::secret::Secret;
use serde_json::{json, Value};

/// A private signing key with its id. `Debug` shows the id and algorithm only.
pub struct SigningKey {
    pub kid: String,
    key: Key,
}

enum Key {
    Es256(p256::ecdsa::SigningKey),
    EdDsa(ed25519_dalek::SigningKey),
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({} {})", self.alg(), self.kid)
    }
}

impl SigningKey {
    /// Reads `c`'s PEM from where it says. The error names the key (`signals.keys[i]`), never
    /// the key material.
    pub fn from_config(i: usize, c: &SignalKeyConfig) -> Result<SigningKey, String> {
        let at = format!("signals.keys[{i}] (kid {:?})", c.kid);
        let pem =
            Secret::from_env_or_file(c.private_key_env.as_deref(), c.private_key_file.as_deref())
                .map_err(|e| format!("{at}: {e}"))?;
        SigningKey::from_pem(&c.kid, &c.alg, &pem).map_err(|e| format!("{at}: {e}"))
    }

    /// A key from its PKCS#8 PEM text, which must match `alg` (`ES256` or `EdDSA`).
    pub fn from_pem(kid: &str, alg: &str, pem: &Secret) -> Result<SigningKey, String> {
        let key = match alg {
            "ES256" => {
                use p256::pkcs8::DecodePrivateKey;
                p256::ecdsa::SigningKey::from_pkcs8_pem(pem.expose().trim())
                    .map(Key::Es256)
                    .map_err(|_| "is not a PKCS#8 PEM P-256 private key (alg ES256)".to_string())?
            }
            "EdDSA" => {
                use ed25519_dalek::pkcs8::DecodePrivateKey;
                ed25519_dalek::SigningKey::from_pkcs8_pem(pem.expose().trim())
                    .map(Key::EdDsa)
                    .map_err(|_| {
                        "is not a PKCS#8 PEM Ed25519 private key (alg EdDSA)".to_string()
                    })?
            }
            other => return Err(format!("alg {other:?} is not ES256 or EdDSA")),
        };
        Ok(SigningKey {
            kid: kid.to_string(),
            key,
        })
    }

    pub fn alg(&self) -> &'static str {
        match self.key {
            Key::Es256(_) => "ES256",
            Key::EdDsa(_) => "EdDSA",
        }
    }

    /// The JWS signature of `input` (ES256: the 64-byte `r || s` of RFC 7518 §3.4, deterministic
    /// per RFC 6979; EdDSA: the 64-byte Ed25519 signature).
    pub fn sign(&self, input: &[u8]) -> Vec<u8> {
        use p256::ecdsa::signature::Signer;
        match &self.key {
            Key::Es256(k) => {
                let sig: p256::ecdsa::Signature = k.sign(input);
                sig.to_bytes().to_vec()
            }
            Key::EdDsa(k) => k.sign(input).to_bytes().to_vec(),
        }
    }

    /// The public half as a JWK, with `kid`, `alg` and `use: sig`.
    pub fn public_jwk(&self) -> Value {
        match &self.key {
            Key::Es256(k) => {
                let point = k.verifying_key().to_sec1_point(false);
                let b = point.as_bytes();
                json!({"kty": "EC", "crv": "P-256", "x": B64.encode(&b[1..33]),
                       "y": B64.encode(&b[33..65]), "kid": self.kid, "alg": "ES256", "use": "sig"})
            }
            Key::EdDsa(k) => json!({"kty": "OKP", "crv": "Ed25519",
                "x": B64.encode(k.verifying_key().as_bytes()), "kid": self.kid, "alg": "EdDSA", "use": "sig"}),
        }
    }
}

/// The JWKS document of `keys` (all of them: receivers may hold SETs signed by an older one).
pub fn jwks(keys: &[SigningKey]) -> Value {
    json!({"keys": keys.iter().map(SigningKey::public_jwk).collect::<Vec<_>>()})
}
