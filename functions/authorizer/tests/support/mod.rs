//! An authorizer over an embedded store with one published EdDSA key whose private half the
//! tests keep, so they can sign good tokens and forge bad ones.
#![allow(dead_code)] // each test binary uses a different part of this

use authorizer::handler::{decide_value, AuthorizerApp};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use xecure::authorizer::routes::RouteTable;
use xecure::authorizer::{Authorizer, AuthorizerConfig};
use xecure::config::OAuthConfig;
use xecure::domain::*;
use xecure::jwt::AccessTokenClaims;
use xecure::ports::{
    Clock, KeyPublisher, KeyStore, ProofReplayStore, RevocationStore, Store, SystemClock,
};
use xecure::signing::{generate_key, SigningAlgorithm};
use xecure::testing::{FixedClock, World};

pub const ISSUER: &str = "https://auth.example";
pub const KID: &str = "key_test1";
pub const ARN_PREFIX: &str = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod";

pub struct Harness {
    pub app: AuthorizerApp,
    pub store: Arc<dyn Store>,
    pub clock: Arc<FixedClock>,
    pub pkcs8: Vec<u8>,
    pub public_jwk: Value,
    _world: World,
}

pub async fn publish_key(store: &dyn KeyPublisher, kid: &str, now: Timestamp) -> (Vec<u8>, Value) {
    let generated = generate_key(SigningAlgorithm::EdDsa, kid).unwrap();
    store
        .put_signing_key(&SigningKey {
            kid: KeyId::parse(kid).unwrap(),
            algorithm: "EdDSA".into(),
            public_jwk: generated.public_jwk.clone(),
            // The authorizer never unseals: it verifies with the public half only.
            private_key: SealedPrivateKey {
                scheme: "test".into(),
                blob: String::new(),
            },
            created_at: now,
            signs_from: now,
            retire_at: None,
        })
        .await
        .unwrap();
    (generated.pkcs8, generated.public_jwk)
}

pub async fn harness() -> Harness {
    harness_with(|store| store).await
}

/// `revocations` may wrap the store (to make polls fail).
pub async fn harness_with(
    revocations: impl FnOnce(Arc<dyn Store>) -> Arc<dyn RevocationStore>,
) -> Harness {
    harness_with_stores(revocations, |store| store).await
}

/// As `harness_with`; `keys` may wrap the store the published keys are read from.
pub async fn harness_with_stores(
    revocations: impl FnOnce(Arc<dyn Store>) -> Arc<dyn RevocationStore>,
    keys: impl FnOnce(Arc<dyn Store>) -> Arc<dyn KeyStore>,
) -> Harness {
    build(World::embedded(), revocations, keys, |store| store).await
}

/// The authorizer over `world`'s store (DynamoDB on moto, to count its calls).
pub async fn harness_on(world: World) -> Harness {
    build(world, |store| store, |store| store, |store| store).await
}

/// `proofs` may wrap the store DPoP proofs are marked used in (to make it fail).
pub async fn harness_with_proofs(
    proofs: impl FnOnce(Arc<dyn Store>) -> Arc<dyn ProofReplayStore>,
) -> Harness {
    build(World::embedded(), |store| store, |store| store, proofs).await
}

async fn build(
    world: World,
    revocations: impl FnOnce(Arc<dyn Store>) -> Arc<dyn RevocationStore>,
    keys: impl FnOnce(Arc<dyn Store>) -> Arc<dyn KeyStore>,
    proofs: impl FnOnce(Arc<dyn Store>) -> Arc<dyn ProofReplayStore>,
) -> Harness {
    let store = world.store.clone();
    let clock = Arc::new(FixedClock::at(SystemClock.now()));
    let (pkcs8, public_jwk) = publish_key(store.as_ref(), KID, clock.now()).await;
    let config = AuthorizerConfig::new(&OAuthConfig::for_issuer(ISSUER));
    let gateway = Authorizer::load(
        keys(store.clone()),
        revocations(store.clone()),
        proofs(store.clone()),
        Arc::new(RouteTable::built_in().unwrap()),
        config,
        clock.clone(),
    )
    .await
    .unwrap();
    Harness {
        app: AuthorizerApp {
            authorizer: gateway,
            http_simple: false,
        },
        store,
        clock,
        pkcs8,
        public_jwk,
        _world: world,
    }
}

impl Harness {
    pub fn now_secs(&self) -> i64 {
        self.clock.now().as_secs()
    }

    /// Claims of a good token for `scope`, issued now for ten minutes.
    pub fn claims(&self, scope: &str) -> Value {
        let now = self.now_secs();
        json!({
            "iss": ISSUER, "sub": "usr_alice", "aud": format!("{ISSUER}/api"),
            "exp": now + 600, "iat": now, "jti": "jti-1", "client_id": "photo-app",
            "scope": scope, "gid": "grt_1", "fid": "fam_1",
        })
    }

    pub fn sign_with(&self, header: Header, claims: &Value) -> String {
        let key = EncodingKey::from_ed_der(&self.pkcs8);
        jsonwebtoken::encode(&header, claims, &key).unwrap()
    }

    pub fn header(&self) -> Header {
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some("at+jwt".into());
        header.kid = Some(KID.into());
        header
    }

    pub fn token(&self, scope: &str) -> String {
        self.sign_with(self.header(), &self.claims(scope))
    }

    pub fn advance(&self, by: Duration) {
        self.clock.advance(by);
    }

    /// A REST TOKEN event for `METHOD /path`.
    pub fn token_event(&self, authorization: &str, method: &str, path: &str) -> Value {
        json!({
            "type": "TOKEN",
            "authorizationToken": authorization,
            "methodArn": format!("{ARN_PREFIX}/{method}{path}"),
        })
    }

    pub async fn run(&self, event: Value) -> (Result<Value, authorizer::events::Refusal>, Value) {
        decide_value(&self.app, &event).await
    }

    /// Runs a TOKEN event and returns the deny reason, or "allow".
    pub async fn reason(&self, authorization: &str, method: &str, path: &str) -> String {
        let (_, log) = self
            .run(self.token_event(authorization, method, path))
            .await;
        log["reason"].as_str().unwrap().to_owned()
    }
}

pub fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap())
}

pub fn revocation(target: RevocationTarget, at: Timestamp) -> Revocation {
    Revocation {
        id: EventId::parse(&format!("evt_{}", at.as_millis())).unwrap(),
        at,
        target,
        expires_at: at.plus(Duration::from_secs(3600)),
    }
}

pub fn claims_of(value: Value) -> AccessTokenClaims {
    serde_json::from_value(value).unwrap()
}
