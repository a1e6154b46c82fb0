use super::generate::{generate_key, SigningAlgorithm};
use super::keyring::KeyringError;
use super::seal::KeySealer;
use crate::domain::{KeyId, SigningKey, Timestamp};
use crate::ports::{KeyStore, Rng};
use std::time::Duration;

/// Creates a new signing key (security: generated here, sealed at once, never shown).
///
/// Rotation publishes before it signs: the new key enters the JWKS now and signs only from
/// `now + publish_ahead`, so verifiers that cached the old JWKS see it before any token
/// carries its kid. Every older key stops at that instant and stays published for
/// `old_tokens_live` more (the longest access-token lifetime plus leeway), then retires.
/// The very first key signs at once: no verifier can hold a stale key set yet.
pub async fn rotate_signing_key(
    store: &dyn KeyStore,
    sealer: &dyn KeySealer,
    rng: &dyn Rng,
    algorithm: SigningAlgorithm,
    now: Timestamp,
    publish_ahead: Duration,
    old_tokens_live: Duration,
) -> Result<SigningKey, KeyringError> {
    let existing = store
        .list_signing_keys()
        .await
        .map_err(|e| KeyringError::Sign(e.to_string()))?;
    let first = existing.is_empty();
    let kid = KeyId::generate(rng);
    let generated =
        generate_key(algorithm, kid.as_str()).map_err(|e| KeyringError::Sign(e.to_string()))?;
    let key = SigningKey {
        private_key: sealer.seal(&kid, &generated.pkcs8).await?,
        kid,
        algorithm: algorithm.jws_name().to_owned(),
        public_jwk: generated.public_jwk,
        created_at: now,
        signs_from: if first { now } else { now.plus(publish_ahead) },
        retire_at: None,
    };
    store
        .put_signing_key(&key)
        .await
        .map_err(|e| KeyringError::Sign(e.to_string()))?;
    let retire_at = key.signs_from.plus(old_tokens_live);
    for mut old in existing
        .into_iter()
        .filter(|old| old.retire_at.is_none_or(|at| at > retire_at))
    {
        old.retire_at = Some(retire_at);
        store
            .put_signing_key(&old)
            .await
            .map_err(|e| KeyringError::Sign(e.to_string()))?;
    }
    Ok(key)
}
