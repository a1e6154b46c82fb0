use super::generate::SigningAlgorithm;
use super::prepared::PreparedKey;
use super::seal::{KeySealer, SealError};
use crate::domain::{KeyId, SigningKey, Timestamp};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{DecodingKey, Header};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum KeyringError {
    #[error("no signing key is active: create one with `xecure keys rotate`")]
    NoActiveKey,
    #[error("no {0} signing key is active: create one with `xecure keys rotate --algorithm {0}`")]
    NoKeyFor(SigningAlgorithm),
    #[error("signing key {kid} is unusable: {why}")]
    BadKey { kid: String, why: String },
    #[error(transparent)]
    Seal(#[from] SealError),
    #[error("cannot sign: {0}")]
    Sign(String),
}

/// A published public key, parsed once.
pub struct VerifyingKey {
    pub kid: KeyId,
    pub algorithm: SigningAlgorithm,
    pub key: DecodingKey,
}

struct ActiveSigner {
    kid: KeyId,
    algorithm: SigningAlgorithm,
    key: PreparedKey,
}

/// The keys one container works with, built once per cold start (or reload): the key it
/// signs with for each algorithm, unsealed, and every published public key, parsed.
pub struct Keyring {
    /// The current key of each algorithm that has one.
    signers: HashMap<SigningAlgorithm, ActiveSigner>,
    /// Which of them signs access tokens: the newest key of an algorithm that may.
    access_algorithm: Option<SigningAlgorithm>,
    verifiers: HashMap<String, VerifyingKey>,
    jwks: Value,
}

fn algorithm_of(key: &SigningKey) -> Result<SigningAlgorithm, KeyringError> {
    SigningAlgorithm::parse(&key.algorithm).map_err(|e| KeyringError::BadKey {
        kid: key.kid.to_string(),
        why: e.to_string(),
    })
}

/// Published: not yet retired. A key is published before it signs and stays published until
/// every token it signed has expired.
fn is_published(key: &SigningKey, now: Timestamp) -> bool {
    key.retire_at
        .is_none_or(|retire_at| !retire_at.has_passed(now))
}

impl Keyring {
    /// Builds the keyring from the stored keys. Only the signing key is unsealed (one KMS
    /// Decrypt in AWS). `can_sign` false (the authorizer) skips unsealing altogether.
    pub async fn load(
        keys: Vec<SigningKey>,
        sealer: Option<&dyn KeySealer>,
        now: Timestamp,
    ) -> Result<Keyring, KeyringError> {
        let published: Vec<SigningKey> = keys
            .into_iter()
            .filter(|key| is_published(key, now))
            .collect();
        let mut verifiers = HashMap::new();
        for key in &published {
            let jwk: Jwk = serde_json::from_value(key.public_jwk.clone()).map_err(|e| {
                KeyringError::BadKey {
                    kid: key.kid.to_string(),
                    why: e.to_string(),
                }
            })?;
            let decoding = DecodingKey::from_jwk(&jwk).map_err(|e| KeyringError::BadKey {
                kid: key.kid.to_string(),
                why: e.to_string(),
            })?;
            verifiers.insert(
                key.kid.to_string(),
                VerifyingKey {
                    kid: key.kid.clone(),
                    algorithm: algorithm_of(key)?,
                    key: decoding,
                },
            );
        }
        let jwks = json!({ "keys": published.iter().map(|key| key.public_jwk.clone()).collect::<Vec<_>>() });
        // Each lane has its own current key (rotation replaces keys within a lane,
        // `rotate_signing_key`): access tokens are signed EdDSA or ES256, and ID tokens
        // may be signed RS256 (OIDC Core section 15.1) or with the access lane's key. A key
        // a newer one of its lane has replaced signs nothing more, even of its algorithm: it
        // leaves the JWKS one token lifetime after the switch, before what it would sign expires.
        let mut current: HashMap<bool, (SigningAlgorithm, &SigningKey)> = HashMap::new();
        for key in published.iter().filter(|key| key.signs_from <= now) {
            let algorithm = algorithm_of(key)?;
            let lane = algorithm.signs_access_tokens();
            // The newest created: a key created later replaced every earlier one, even one
            // scheduled to sign after it (an emergency rotation during a publish-ahead).
            let newer = current.get(&lane).is_none_or(|(_, held)| {
                (key.created_at, key.signs_from) > (held.created_at, held.signs_from)
            });
            if newer {
                current.insert(lane, (algorithm, key));
            }
        }
        let access_algorithm = current.get(&true).map(|(algorithm, _)| *algorithm);
        let mut signers = HashMap::new();
        if let Some(sealer) = sealer {
            for (algorithm, key) in current.into_values() {
                match Self::signer(sealer, algorithm, key).await {
                    Ok(signer) => {
                        signers.insert(algorithm, signer);
                    }
                    Err(error) if algorithm.signs_access_tokens() => return Err(error),
                    // An unusable ID-token key must not stop access tokens: that lane is
                    // left out (its clients get a clean 503 before anything is spent).
                    Err(error) => {
                        tracing::error!(%error, "ID token signing key unusable; RS256 ID tokens unavailable")
                    }
                }
            }
        }
        Ok(Keyring {
            signers,
            access_algorithm,
            verifiers,
            jwks,
        })
    }

    /// `key` unsealed and parsed for signing.
    async fn signer(
        sealer: &dyn KeySealer,
        algorithm: SigningAlgorithm,
        key: &SigningKey,
    ) -> Result<ActiveSigner, KeyringError> {
        let der = sealer.unseal(&key.kid, &key.private_key).await?;
        let prepared =
            PreparedKey::from_pkcs8(algorithm, &der).map_err(|why| KeyringError::BadKey {
                kid: key.kid.to_string(),
                why,
            })?;
        Ok(ActiveSigner {
            kid: key.kid.clone(),
            algorithm,
            key: prepared,
        })
    }

    fn access_signer(&self) -> Option<&ActiveSigner> {
        self.access_algorithm
            .and_then(|algorithm| self.signers.get(&algorithm))
    }

    /// Signs `claims` as a JWT of type `typ` with the active access-token key.
    pub fn sign<T: Serialize>(&self, typ: &str, claims: &T) -> Result<String, KeyringError> {
        let signer = self.access_signer().ok_or(KeyringError::NoActiveKey)?;
        Self::sign_as(signer, typ, claims)
    }

    /// Signs `claims` as a JWT of type `typ` with the current key of `algorithm`.
    pub fn sign_with<T: Serialize>(
        &self,
        algorithm: SigningAlgorithm,
        typ: &str,
        claims: &T,
    ) -> Result<String, KeyringError> {
        let signer = self
            .signers
            .get(&algorithm)
            .ok_or(KeyringError::NoKeyFor(algorithm))?;
        Self::sign_as(signer, typ, claims)
    }

    /// The algorithms this keyring can sign with now.
    pub fn signing_algorithms(&self) -> impl Iterator<Item = SigningAlgorithm> + '_ {
        SigningAlgorithm::ALL
            .into_iter()
            .filter(|algorithm| self.signers.contains_key(algorithm))
    }

    fn sign_as<T: Serialize>(
        signer: &ActiveSigner,
        typ: &str,
        claims: &T,
    ) -> Result<String, KeyringError> {
        let mut header = Header::new(signer.algorithm.jsonwebtoken());
        header.typ = Some(typ.to_owned());
        header.kid = Some(signer.kid.to_string());
        signer.key.sign(&header, claims).map_err(KeyringError::Sign)
    }

    pub fn verifier(&self, kid: &str) -> Option<&VerifyingKey> {
        self.verifiers.get(kid)
    }

    /// The JWK Set (RFC 7517 section 5) of every published key.
    pub fn jwks(&self) -> &Value {
        &self.jwks
    }

    /// The key access tokens are signed with now.
    pub fn signing_kid(&self) -> Option<&KeyId> {
        self.access_signer().map(|signer| &signer.kid)
    }
}
