//! A signing key parsed once, and the compact JWS (RFC 7515 section 7.1) it signs.
//!
//! `jsonwebtoken::encode` parses the PKCS#8 key again for every token, and for Ed25519 and
//! P-256 that parse derives the public key: one more scalar multiplication per token than the
//! signature itself (5.9 % of `xecure serve`'s CPU under token load, perf; issue #21). The key
//! pair is kept parsed here and the three parts are joined as jsonwebtoken joins them:
//! base64url without padding of the header's and the claims' JSON, and of the signature.

use super::generate::SigningAlgorithm;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, Header};
use serde::Serialize;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeyPair as RsaKeyPair;
use aws_lc_rs::signature::{
    EcdsaKeyPair, Ed25519KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256,
};

/// A private key of one algorithm, parsed from its PKCS#8 DER (how every key is sealed).
pub enum PreparedKey {
    EdDsa(Ed25519KeyPair),
    /// JWS ES256 is the fixed-length `r || s` signature (RFC 7518 section 3.4).
    Es256(EcdsaKeyPair),
    Rs256(RsaKeyPair),
}

impl std::fmt::Debug for PreparedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PreparedKey([redacted])")
    }
}

impl PreparedKey {
    /// Parses and checks the whole key, so a bad key is found at load, not at its first
    /// signature.
    pub fn from_pkcs8(algorithm: SigningAlgorithm, pkcs8: &[u8]) -> Result<Self, String> {
        Ok(match algorithm {
            SigningAlgorithm::EdDsa => {
                PreparedKey::EdDsa(Ed25519KeyPair::from_pkcs8(pkcs8).map_err(|e| e.to_string())?)
            }
            SigningAlgorithm::Es256 => PreparedKey::Es256(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8)
                    .map_err(|e| e.to_string())?,
            ),
            SigningAlgorithm::Rs256 => {
                PreparedKey::Rs256(RsaKeyPair::from_pkcs8(pkcs8).map_err(|e| e.to_string())?)
            }
        })
    }

    /// The JWS signature of `message` under this key's algorithm.
    pub fn signature(&self, message: &[u8]) -> Result<Vec<u8>, String> {
        match self {
            PreparedKey::EdDsa(pair) => pair
                .try_sign(message)
                .map(|signature| signature.as_ref().to_vec())
                .map_err(|e| e.to_string()),
            PreparedKey::Es256(pair) => pair
                .sign(&SystemRandom::new(), message)
                .map(|signature| signature.as_ref().to_vec())
                .map_err(|e| e.to_string()),
            PreparedKey::Rs256(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    message,
                    &mut signature,
                )
                .map_err(|e| e.to_string())?;
                Ok(signature)
            }
        }
    }

    /// The JWS algorithm this key signs with.
    fn algorithm(&self) -> Algorithm {
        match self {
            PreparedKey::EdDsa(_) => Algorithm::EdDSA,
            PreparedKey::Es256(_) => Algorithm::ES256,
            PreparedKey::Rs256(_) => Algorithm::RS256,
        }
    }

    /// The compact JWS of `claims` under `header`, whose `alg` must be this key's (as
    /// jsonwebtoken's `encode` checked).
    pub fn sign<T: Serialize>(&self, header: &Header, claims: &T) -> Result<String, String> {
        if header.alg != self.algorithm() {
            return Err(format!(
                "a {:?} key cannot sign as {:?}",
                self.algorithm(),
                header.alg
            ));
        }
        let header = serde_json::to_vec(header).map_err(|e| e.to_string())?;
        let claims = serde_json::to_vec(claims).map_err(|e| e.to_string())?;
        self.compact(&header, &claims)
    }

    /// The compact JWS of a header and claims already serialized as JSON, whatever they
    /// say (the tests' DPoP proofs carry headers no issuer would write).
    pub fn compact(&self, header_json: &[u8], claims_json: &[u8]) -> Result<String, String> {
        let mut token = URL_SAFE_NO_PAD.encode(header_json);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(claims_json, &mut token);
        let signature = self.signature(token.as_bytes())?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut token);
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signing::generate_key;
    use jsonwebtoken::jwk::Jwk;
    use jsonwebtoken::{DecodingKey, Validation};

    #[test]
    fn tokens_verify_with_jsonwebtoken_and_a_header_of_another_algorithm_is_refused() {
        for algorithm in SigningAlgorithm::ALL {
            let key = generate_key(algorithm, "test").unwrap();
            let prepared = PreparedKey::from_pkcs8(algorithm, &key.pkcs8).unwrap();
            let header = Header::new(algorithm.jsonwebtoken());
            let token = prepared
                .sign(&header, &serde_json::json!({"sub": "s"}))
                .unwrap();
            let jwk: Jwk = serde_json::from_value(key.public_jwk.clone()).unwrap();
            let mut validation = Validation::new(algorithm.jsonwebtoken());
            validation.required_spec_claims.clear();
            validation.validate_exp = false;
            let decoded = jsonwebtoken::decode::<serde_json::Value>(
                &token,
                &DecodingKey::from_jwk(&jwk).unwrap(),
                &validation,
            )
            .unwrap();
            assert_eq!(decoded.claims["sub"], "s", "{algorithm}");
            let other = SigningAlgorithm::ALL
                .into_iter()
                .find(|other| *other != algorithm)
                .unwrap();
            assert!(prepared
                .sign(&Header::new(other.jsonwebtoken()), &serde_json::json!({}))
                .is_err());
        }
    }
}
