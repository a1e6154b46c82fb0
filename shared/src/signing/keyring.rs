use super::generate::SigningAlgorithm;
use super::seal::{KeySealer, SealError};
use crate::domain::{KeyId, SigningKey, Timestamp};
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{DecodingKey, EncodingKey, Header};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum KeyringError {
    #[error("no signing key is active: create one with `xecure keys rotate`")]
    NoActiveKey,
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
    key: EncodingKey,
}

/// The keys one container works with, built once per cold start (or reload): the one key it
/// signs with, unsealed, and every published public key, parsed.
pub struct Keyring {
    signer: Option<ActiveSigner>,
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
        let current = published
            .iter()
            .filter(|key| key.signs_from <= now)
            .max_by_key(|key| (key.signs_from, key.created_at));
        let signer = match (sealer, current) {
            (Some(sealer), Some(key)) => {
                let algorithm = algorithm_of(key)?;
                let pkcs8 = sealer.unseal(&key.kid, &key.private_key).await?;
                let encoding = match algorithm {
                    SigningAlgorithm::EdDsa => EncodingKey::from_ed_der(&pkcs8),
                    SigningAlgorithm::Es256 => EncodingKey::from_ec_der(&pkcs8),
                };
                Some(ActiveSigner {
                    kid: key.kid.clone(),
                    algorithm,
                    key: encoding,
                })
            }
            _ => None,
        };
        Ok(Keyring {
            signer,
            verifiers,
            jwks,
        })
    }

    /// Signs `claims` as a JWT of type `typ` with the active key.
    pub fn sign<T: Serialize>(&self, typ: &str, claims: &T) -> Result<String, KeyringError> {
        let signer = self.signer.as_ref().ok_or(KeyringError::NoActiveKey)?;
        let mut header = Header::new(signer.algorithm.jsonwebtoken());
        header.typ = Some(typ.to_owned());
        header.kid = Some(signer.kid.to_string());
        jsonwebtoken::encode(&header, claims, &signer.key)
            .map_err(|e| KeyringError::Sign(e.to_string()))
    }

    pub fn verifier(&self, kid: &str) -> Option<&VerifyingKey> {
        self.verifiers.get(kid)
    }

    /// The JWK Set (RFC 7517 section 5) of every published key.
    pub fn jwks(&self) -> &Value {
        &self.jwks
    }

    pub fn signing_kid(&self) -> Option<&KeyId> {
        self.signer.as_ref().map(|signer| &signer.kid)
    }
}
