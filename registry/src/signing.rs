//! Ed25519 signatures over a policy version.
//!
//! The signed message binds the policy name, the module's SHA-256 and the
//! config's SHA-256, so a signature cannot be moved to another policy or
//! paired with another config. Keys are PKCS#8 / SPKI PEM files; trusted keys
//! are also written as base64 of the raw 32-byte public key, the form the
//! authorizer's `AUTHZ_TRUSTED_KEYS` takes.

use authz_engine::sha256_hex;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// Why a key or signature could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SigningError {
    /// The file is not an Ed25519 key in the expected form.
    #[error("not an Ed25519 {kind} key: {reason}")]
    BadKey {
        /// `private` or `public`.
        kind: &'static str,
        /// Parser's explanation.
        reason: String,
    },
    /// The system's random source failed.
    #[error("no randomness available: {0}")]
    Random(String),
}

/// What is signed for `policy` at these digests.
pub fn message(policy: &str, module_sha256: &str, config_sha256: &str) -> Vec<u8> {
    format!("authz-policy-signature:v1\n{policy}\n{module_sha256}\n{config_sha256}\n").into_bytes()
}

/// What is signed for native code compiled from a version of `policy` for
/// `arch`: the code's digest, bound to the module and config it was compiled
/// from (and pre-initialized with).
pub fn code_message(policy: &str, module_sha256: &str, config_sha256: &str, arch: &str, code_sha256: &str) -> Vec<u8> {
    format!("authz-native-code-signature:v1\n{policy}\n{module_sha256}\n{config_sha256}\n{arch}\n{code_sha256}\n")
        .into_bytes()
}

/// A public key as the authorizer is configured with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrustedKey(VerifyingKey);

impl TrustedKey {
    /// Parses base64 of the raw 32-byte key, or an SPKI PEM document.
    pub fn parse(text: &str) -> Result<Self, SigningError> {
        let bad = |reason: String| SigningError::BadKey { kind: "public", reason };
        let text = text.trim();
        if text.starts_with("-----BEGIN") {
            return VerifyingKey::from_public_key_pem(text).map(TrustedKey).map_err(|e| bad(e.to_string()));
        }
        let raw = STANDARD.decode(text).map_err(|e| bad(e.to_string()))?;
        let raw: [u8; 32] = raw.try_into().map_err(|_| bad("expected 32 bytes".to_owned()))?;
        VerifyingKey::from_bytes(&raw).map(TrustedKey).map_err(|e| bad(e.to_string()))
    }

    /// Base64 of the raw key.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0.as_bytes())
    }

    /// Short, stable identifier: the first 16 hex digits of the key's SHA-256.
    pub fn key_id(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes())).chars().take(16).collect()
    }

    /// Whether `signature` (base64) is this key's signature of `message`.
    pub fn verifies(&self, message: &[u8], signature: &str) -> bool {
        let Ok(bytes) = STANDARD.decode(signature) else {
            return false;
        };
        let Ok(signature) = Signature::from_slice(&bytes) else {
            return false;
        };
        self.0.verify_strict(message, &signature).is_ok()
    }
}

/// A private signing key.
pub struct SigningKeyPair(SigningKey);

impl SigningKeyPair {
    /// A new random key.
    pub fn generate() -> Result<Self, SigningError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| SigningError::Random(e.to_string()))?;
        Ok(SigningKeyPair(SigningKey::from_bytes(&seed)))
    }

    /// Parses a PKCS#8 PEM private key.
    pub fn from_pem(pem: &str) -> Result<Self, SigningError> {
        SigningKey::from_pkcs8_pem(pem)
            .map(SigningKeyPair)
            .map_err(|e| SigningError::BadKey { kind: "private", reason: e.to_string() })
    }

    /// PKCS#8 PEM of the private key.
    pub fn private_pem(&self) -> Result<String, SigningError> {
        self.0
            .to_pkcs8_pem(LineEnding::LF)
            .map(|pem| pem.to_string())
            .map_err(|e| SigningError::BadKey { kind: "private", reason: e.to_string() })
    }

    /// SPKI PEM of the public key.
    pub fn public_pem(&self) -> Result<String, SigningError> {
        self.0
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| SigningError::BadKey { kind: "public", reason: e.to_string() })
    }

    /// The public half.
    pub fn public(&self) -> TrustedKey {
        TrustedKey(self.0.verifying_key())
    }

    /// Base64 signature of `message`.
    pub fn sign(&self, message: &[u8]) -> String {
        STANDARD.encode(self.0.sign(message).to_bytes())
    }

    /// Signs a version of `policy` made of `module` and `config`: the
    /// `(signature, key id)` a [`crate::Publication`] carries.
    pub fn sign_version(&self, policy: &str, module: &[u8], config: &[u8]) -> (String, String) {
        (self.sign(&message(policy, &sha256_hex(module), &sha256_hex(config))), self.public().key_id())
    }

    /// Signs native code compiled for `arch` from a version of `policy`.
    pub fn sign_code(&self, policy: &str, module: &[u8], config: &[u8], arch: &str, code: Vec<u8>) -> SignedCode {
        let signed = code_message(policy, &sha256_hex(module), &sha256_hex(config), arch, &sha256_hex(&code));
        SignedCode { arch: arch.to_owned(), code, signature: self.sign(&signed), key_id: self.public().key_id() }
    }
}

/// Native code and its signature, as [`crate::Publication`] carries it.
#[derive(Clone, Debug)]
pub struct SignedCode {
    /// `aarch64` or `x86_64`.
    pub arch: String,
    /// The code.
    pub code: Vec<u8>,
    /// Base64 signature of [`code_message`].
    pub signature: String,
    /// Which key signed it.
    pub key_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify_round_trip_through_pem_and_base64() {
        let pair = SigningKeyPair::generate().unwrap();
        let reloaded = SigningKeyPair::from_pem(&pair.private_pem().unwrap()).unwrap();
        let msg = message("notes", "aa", "bb");
        let sig = reloaded.sign(&msg);
        let from_b64 = TrustedKey::parse(&pair.public().to_base64()).unwrap();
        let from_pem = TrustedKey::parse(&pair.public_pem().unwrap()).unwrap();
        assert_eq!(from_b64, from_pem);
        assert!(from_b64.verifies(&msg, &sig));
        assert!(!from_b64.verifies(&message("other", "aa", "bb"), &sig), "bound to the policy name");
        assert!(!from_b64.verifies(&message("notes", "aa", "cc"), &sig), "bound to the config");
        assert!(!from_b64.verifies(&msg, "not base64!"));
        let code = reloaded.sign_code("notes", b"module", b"config", "aarch64", b"code".to_vec());
        let code_msg = |arch: &str, code: &[u8]| {
            code_message("notes", &sha256_hex(b"module"), &sha256_hex(b"config"), arch, &sha256_hex(code))
        };
        assert!(from_b64.verifies(&code_msg("aarch64", b"code"), &code.signature));
        assert!(!from_b64.verifies(&code_msg("x86_64", b"code"), &code.signature), "bound to the architecture");
        assert!(!from_b64.verifies(&code_msg("aarch64", b"other"), &code.signature), "bound to the code");
        assert!(!from_b64.verifies(&msg, &code.signature), "not a version signature");
        let stranger = SigningKeyPair::generate().unwrap().public();
        assert!(!stranger.verifies(&msg, &sig));
        assert_eq!(from_b64.key_id().len(), 16);
    }

    #[test]
    fn bad_keys_are_reported() {
        assert!(TrustedKey::parse("c2hvcnQ=").is_err());
        assert!(TrustedKey::parse("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----").is_err());
        assert!(SigningKeyPair::from_pem("nope").is_err());
    }
}
