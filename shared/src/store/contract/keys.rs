//! Contract properties of the signing keys (`KeyStore`): stored and listed as written.

use super::{at, T0};
use crate::domain::*;
use crate::ports::Store;
use std::sync::Arc;

pub async fn signing_keys_round_trip<S: Store>(store: Arc<S>) {
    let key = SigningKey {
        kid: KeyId::parse("key_1").unwrap(),
        algorithm: "RS256".into(),
        public_jwk: serde_json::json!({"kty": "RSA", "n": "abc", "e": "AQAB", "kid": "key_1"}),
        private_key: SealedPrivateKey {
            scheme: "local".into(),
            blob: "c2VhbGVk".into(),
        },
        created_at: T0,
        signs_from: at(60),
        retire_at: None,
    };
    store.put_signing_key(&key).await.unwrap();
    let mut retired = key.clone();
    retired.kid = KeyId::parse("key_0").unwrap();
    retired.retire_at = Some(at(3600));
    store.put_signing_key(&retired).await.unwrap();
    let mut keys = store.list_signing_keys().await.unwrap();
    keys.sort_by(|a, b| a.kid.cmp(&b.kid));
    assert_eq!(keys, vec![retired, key]);
}

/// Registers this file's properties with `contract_suite!`: one test each, on a fresh store.
macro_rules! properties {
    ($make:expr) => {
        $crate::store::contract::register!($make, keys;
            signing_keys_round_trip,
        );
    };
}
pub(crate) use properties;
