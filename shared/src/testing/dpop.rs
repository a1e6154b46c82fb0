//! A DPoP client's key for tests: proofs as RFC 9449 section 4.2 describes them, or with any
//! header or claim changed, to show each check refuses what it should.

use crate::domain::Timestamp;
use crate::dpop::proof::access_token_hash;
use crate::signing::{generate_key, PreparedKey, SigningAlgorithm};
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicU64, Ordering};

pub struct DpopKey {
    algorithm: SigningAlgorithm,
    key: PreparedKey,
    /// The public key as the proof header carries it.
    pub jwk: Value,
    proofs: AtomicU64,
}

impl DpopKey {
    /// A fresh EdDSA key (`Es256` and `Rs256` also work).
    pub fn generate(algorithm: SigningAlgorithm) -> Self {
        let key = generate_key(algorithm, "dpop").expect("key generation");
        let key_pair = PreparedKey::from_pkcs8(algorithm, &key.pkcs8).expect("a usable key");
        let mut jwk = key.public_jwk;
        for member in ["kid", "alg", "use"] {
            jwk.as_object_mut().map(|map| map.remove(member));
        }
        DpopKey {
            algorithm,
            key: key_pair,
            jwk,
            proofs: AtomicU64::new(0),
        }
    }

    /// The key's JWK SHA-256 thumbprint (RFC 7638), what `cnf.jkt` carries.
    pub fn jkt(&self) -> String {
        let jwk: Jwk = serde_json::from_value(self.jwk.clone()).expect("a JWK");
        jwk.thumbprint(ThumbprintHash::SHA256).expect("thumbprint")
    }

    /// The header and claims of a good proof for `method` and `url` at `iat`, bound to
    /// `access_token` (with `ath`) when one is given; a new `jti` each time.
    pub fn parts(
        &self,
        method: &str,
        url: &str,
        access_token: Option<&str>,
        iat: Timestamp,
    ) -> (Value, Value) {
        let n = self.proofs.fetch_add(1, Ordering::SeqCst);
        let header = json!({
            "typ": "dpop+jwt",
            "alg": self.algorithm.jws_name(),
            "jwk": self.jwk,
        });
        let mut claims = json!({
            "jti": format!("{}-{n}", &self.jkt()[..8]),
            "htm": method,
            "htu": url,
            "iat": iat.as_secs(),
        });
        if let Some(token) = access_token {
            claims["ath"] = Value::from(access_token_hash(token));
        }
        (header, claims)
    }

    /// A good proof (see `parts`).
    pub fn proof(
        &self,
        method: &str,
        url: &str,
        access_token: Option<&str>,
        iat: Timestamp,
    ) -> String {
        let (header, claims) = self.parts(method, url, access_token, iat);
        self.sign(&header, &claims)
    }

    /// Any header and claims, signed with this key under its own algorithm.
    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        self.key
            .compact(header.to_string().as_bytes(), claims.to_string().as_bytes())
            .expect("signing")
    }
}
