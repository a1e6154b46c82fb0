//! Secrets are newtypes with a redacted `Debug`, an explicit `.secret()` accessor and no
//! `Clone`, so one cannot slip into a log line or be reused by accident (design rule 4).
//! What we store is never the secret itself but its SHA-256 digest.

use super::Rng;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;
use subtle::ConstantTimeEq;

macro_rules! secret_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub struct $name(String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                $name(value.into())
            }

            pub fn secret(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "(<redacted>)"))
            }
        }
    };
}

secret_type!(/// A user's password as typed; only ever hashed or verified.
    Password);
secret_type!(/// A confidential client's secret as presented at the token endpoint.
    ClientSecret);
secret_type!(/// A bearer value handed to a client or browser: authorization code, refresh token,
    /// session cookie. 256 bits from the OS RNG, base64url without padding.
    OpaqueToken);

/// Bytes of randomness in every opaque token: 256 bits (design section 4).
pub const OPAQUE_TOKEN_BYTES: usize = 32;

impl OpaqueToken {
    pub fn generate(rng: &dyn Rng) -> Self {
        let mut bytes = [0u8; OPAQUE_TOKEN_BYTES];
        rng.fill(&mut bytes);
        OpaqueToken(URL_SAFE_NO_PAD.encode(bytes))
    }

    pub fn digest(&self) -> TokenDigest {
        TokenDigest::of(self.secret())
    }
}

impl ClientSecret {
    pub fn generate(rng: &dyn Rng) -> Self {
        ClientSecret(OpaqueToken::generate(rng).0)
    }
}

/// SHA-256 of a bearer value, hex. This is what the store keys codes, refresh tokens and
/// sessions by, so a leaked table does not leak usable tokens (design rule 8).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TokenDigest(String);

/// The digest's bytes a log prefix shows: 48 bits, 12 hex digits.
const LOG_PREFIX_BYTES: usize = 6;

impl TokenDigest {
    pub fn of(value: &str) -> Self {
        TokenDigest(crate::lower_hex::prefixed_lower_hex(
            "",
            &Sha256::digest(value.as_bytes()),
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A short prefix that identifies a token in logs and audit records without revealing it.
    pub fn log_prefix(&self) -> &str {
        &self.0[..(2 * LOG_PREFIX_BYTES).min(self.0.len())]
    }

    /// `TokenDigest::of(value).log_prefix()`, hex-encoding only the bytes it shows (the
    /// authorizer writes one per decision line).
    pub fn log_prefix_of(value: &str) -> String {
        let digest = Sha256::digest(value.as_bytes());
        crate::lower_hex::prefixed_lower_hex("", &digest[..LOG_PREFIX_BYTES])
    }
}

/// A stored client secret: SHA-256 of a 256-bit random value. A slow password hash buys
/// nothing against brute force of a value with that much entropy, and the token endpoint
/// checks it on every call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretHash(TokenDigest);

impl SecretHash {
    pub fn of(secret: &ClientSecret) -> Self {
        SecretHash(TokenDigest::of(secret.secret()))
    }

    /// Security rule 9: secrets compare in constant time.
    pub fn verify(&self, presented: &ClientSecret) -> bool {
        let presented = TokenDigest::of(presented.secret());
        constant_time_eq(self.0.as_str().as_bytes(), presented.as_str().as_bytes())
    }
}

/// Security rule 9: comparisons of secrets, codes and verifiers are constant-time.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::SeqRng;

    #[test]
    fn debug_never_shows_the_secret() {
        let password = Password::new("hunter2");
        let token = OpaqueToken::new("abc");
        assert_eq!(format!("{password:?}"), "Password(<redacted>)");
        assert!(!format!("{token:?}").contains("abc"));
    }

    #[test]
    fn opaque_tokens_carry_256_bits() {
        let token = OpaqueToken::generate(&SeqRng::new(7));
        assert_eq!(URL_SAFE_NO_PAD.decode(token.secret()).unwrap().len(), 32);
        assert_eq!(token.digest().as_str().len(), 64);
        assert_ne!(token.digest().as_str(), token.secret());
    }

    #[test]
    fn client_secret_hash_verifies_only_the_right_secret() {
        let secret = ClientSecret::generate(&SeqRng::new(3));
        let hash = SecretHash::of(&secret);
        assert!(hash.verify(&ClientSecret::new(secret.secret())));
        assert!(!hash.verify(&ClientSecret::new("wrong")));
    }

    #[test]
    fn a_log_prefix_is_the_digests_first_twelve_hex_digits() {
        // `printf jti-1 | sha256sum`
        let digest = TokenDigest::of("jti-1");
        assert_eq!(digest.as_str().len(), 64);
        assert_eq!(digest.log_prefix(), &digest.as_str()[..12]);
        assert_eq!(TokenDigest::log_prefix_of("jti-1"), digest.log_prefix());
        assert_eq!(
            digest.as_str(),
            "5964da055ae31cf8eb7230e190a504899c6f60f07f9f1cd3cade9fbf226e8c28"
        );
    }
}
