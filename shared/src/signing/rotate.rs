use super::generate::{generate_key, SigningAlgorithm};
use super::keyring::KeyringError;
use super::seal::KeySealer;
use crate::domain::{KeyId, SigningKey, Timestamp};
use crate::ports::{KeyPublisher, KeyStore, Rng};
use std::time::Duration;

/// Creates a new signing key (security: generated here, sealed at once, never shown).
///
/// Rotation publishes before it signs: the new key enters the JWKS now and signs only from
/// `now + publish_ahead`, so verifiers that cached the old JWKS see it before any token
/// carries its kid. Every older key stops at that instant and stays published for
/// `old_tokens_live` more (the longest access-token lifetime plus leeway), then retires.
/// The very first key signs at once: no verifier can hold a stale key set yet.
pub async fn rotate_signing_key<S: KeyStore + KeyPublisher + ?Sized>(
    store: &S,
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
    // Only the very first key signs at once: once any key is published, verifiers may hold
    // a cached JWKS, so even the first key of a new lane is published ahead.
    let first = existing.is_empty();
    // Keys rotate within their lane: access-token keys (EdDSA, ES256) replace one another,
    // and RS256 keys (ID tokens only) replace RS256 keys; neither retires the other.
    let lane = algorithm.signs_access_tokens();
    let existing: Vec<SigningKey> = existing
        .into_iter()
        .filter(|key| {
            SigningAlgorithm::parse(&key.algorithm)
                .is_ok_and(|theirs| theirs.signs_access_tokens() == lane)
        })
        .collect();
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

/// Creates an RS256 key if none is published, so ID tokens can always be signed RS256 (OpenID
/// Connect Core section 15.1: "MUST support ... RS256"). Returns the key it created, which
/// signs `publish_ahead` from now (zero only where no verifier can have read the JWKS yet).
pub async fn ensure_id_token_key<S: KeyStore + KeyPublisher + ?Sized>(
    store: &S,
    sealer: &dyn KeySealer,
    rng: &dyn Rng,
    now: Timestamp,
    publish_ahead: Duration,
    old_tokens_live: Duration,
) -> Result<Option<SigningKey>, KeyringError> {
    let keys = store
        .list_signing_keys()
        .await
        .map_err(|e| KeyringError::Sign(e.to_string()))?;
    let has_rsa = keys.iter().any(|key| {
        key.algorithm == SigningAlgorithm::Rs256.jws_name()
            && key.retire_at.is_none_or(|at| !at.has_passed(now))
    });
    if has_rsa {
        return Ok(None);
    }
    let key = rotate_signing_key(
        store,
        sealer,
        rng,
        SigningAlgorithm::Rs256,
        now,
        publish_ahead,
        old_tokens_live,
    )
    .await?;
    Ok(Some(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::{Keyring, LocalKeySealer};
    use crate::store::embedded::EmbeddedStore;
    use crate::testing::SeqRng;

    fn minutes(m: u64) -> Duration {
        Duration::from_secs(m * 60)
    }

    #[tokio::test]
    async fn rotation_publishes_before_signing_and_retires_after_the_last_token() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let sealer = LocalKeySealer::open(dir.path()).unwrap();
        let rng = SeqRng::new(9);
        let t0 = Timestamp::from_secs(1_900_000_000);
        let keyring_at = |now| {
            let (store, sealer) = (&store, &sealer);
            async move {
                Keyring::load(
                    store.list_signing_keys().await.unwrap(),
                    Some(sealer as &dyn KeySealer),
                    now,
                )
                .await
                .unwrap()
            }
        };
        let first = rotate_signing_key(
            &store,
            &sealer,
            &rng,
            SigningAlgorithm::EdDsa,
            t0,
            minutes(10),
            minutes(15),
        )
        .await
        .unwrap();
        assert_eq!(first.signs_from, t0, "the first key signs at once");
        assert_eq!(keyring_at(t0).await.signing_kid(), Some(&first.kid));

        let t1 = t0.plus(minutes(60));
        let second = rotate_signing_key(
            &store,
            &sealer,
            &rng,
            SigningAlgorithm::Es256,
            t1,
            minutes(10),
            minutes(15),
        )
        .await
        .unwrap();
        // Published at once, signing only after the publish-ahead window.
        let during_window = keyring_at(t1.plus(minutes(5))).await;
        assert_eq!(during_window.signing_kid(), Some(&first.kid));
        assert_eq!(during_window.jwks()["keys"].as_array().unwrap().len(), 2);
        let after_switch = keyring_at(t1.plus(minutes(10))).await;
        assert_eq!(after_switch.signing_kid(), Some(&second.kid));
        assert!(
            after_switch.verifier(first.kid.as_str()).is_some(),
            "old tokens still verify"
        );
        // The old key leaves the JWKS once its last token (signed just before the switch) expired.
        let after_retire = keyring_at(t1.plus(minutes(25))).await;
        assert!(after_retire.verifier(first.kid.as_str()).is_none());
        assert_eq!(after_retire.jwks()["keys"].as_array().unwrap().len(), 1);
        let stored = store.list_signing_keys().await.unwrap();
        assert!(
            stored
                .iter()
                .all(|key| !serde_json::to_string(key).unwrap().contains("PRIVATE")),
            "sealed at rest"
        );
    }

    #[tokio::test]
    async fn rs256_keys_sign_id_tokens_in_their_own_lane() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let sealer = LocalKeySealer::open(dir.path()).unwrap();
        let rng = SeqRng::new(3);
        let t0 = Timestamp::from_secs(1_900_000_000);
        let rotate = |algorithm, now| {
            let (store, sealer, rng) = (&store, &sealer, &rng);
            async move {
                rotate_signing_key(store, sealer, rng, algorithm, now, minutes(10), minutes(15))
                    .await
                    .unwrap()
            }
        };
        let eddsa = rotate(SigningAlgorithm::EdDsa, t0).await;
        let t1 = t0.plus(minutes(1));
        let rsa = rotate(SigningAlgorithm::Rs256, t1).await;
        assert_eq!(
            rsa.signs_from,
            t1.plus(minutes(10)),
            "a JWKS was already served: even a new lane's first key is published ahead"
        );
        let t1 = rsa.signs_from;
        let keys = store.list_signing_keys().await.unwrap();
        assert!(
            keys.iter().all(|key| key.retire_at.is_none()),
            "neither lane retires the other"
        );
        let keyring = Keyring::load(keys, Some(&sealer as &dyn KeySealer), t1)
            .await
            .unwrap();
        assert_eq!(
            keyring.signing_kid(),
            Some(&eddsa.kid),
            "access tokens stay EdDSA"
        );
        assert_eq!(
            keyring.signing_algorithms().collect::<Vec<_>>(),
            [SigningAlgorithm::Rs256, SigningAlgorithm::EdDsa]
        );
        let claims = serde_json::json!({ "sub": "u", "exp": 1_900_000_600_i64 });
        let token = keyring
            .sign_with(SigningAlgorithm::Rs256, "JWT", &claims)
            .unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
        assert_eq!(header.kid.as_deref(), Some(rsa.kid.as_str()));
        let verifier = keyring.verifier(rsa.kid.as_str()).unwrap();
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        jsonwebtoken::decode::<serde_json::Value>(&token, &verifier.key, &validation)
            .expect("the published RSA JWK verifies the signature");
        assert!(matches!(
            keyring.sign_with(SigningAlgorithm::Es256, "JWT", &claims),
            Err(KeyringError::NoKeyFor(SigningAlgorithm::Es256))
        ));
    }

    #[tokio::test]
    async fn a_key_created_later_replaces_one_scheduled_to_sign_later() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let sealer = LocalKeySealer::open(dir.path()).unwrap();
        let rng = SeqRng::new(5);
        let t0 = Timestamp::from_secs(1_900_000_000);
        let rotate = |ahead, now| {
            let (store, sealer, rng) = (&store, &sealer, &rng);
            async move {
                rotate_signing_key(
                    store,
                    sealer,
                    rng,
                    SigningAlgorithm::EdDsa,
                    now,
                    ahead,
                    minutes(30),
                )
                .await
                .unwrap()
            }
        };
        rotate(minutes(0), t0).await;
        // A scheduled rotation, then an emergency one during its publish-ahead window.
        let scheduled = rotate(minutes(15), t0.plus(minutes(1))).await;
        let emergency = rotate(minutes(0), t0.plus(minutes(2))).await;
        let at = t0.plus(minutes(20));
        let keyring = Keyring::load(
            store.list_signing_keys().await.unwrap(),
            Some(&sealer as &dyn KeySealer),
            at,
        )
        .await
        .unwrap();
        assert!(scheduled.signs_from <= at, "both could sign by now");
        assert_eq!(
            keyring.signing_kid(),
            Some(&emergency.kid),
            "the newest replaced it"
        );
    }
}
