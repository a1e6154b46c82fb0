use crate::domain::error::DomainError;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{
    EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use std::fmt;

/// JWS algorithms Xecure signs with. Measured on our 2-core machine (design section 4):
/// sign EdDSA 31 us, ES256 48 us (RS256 1.8 ms rules it out for issuing at 10,000 tokens/s);
/// verify EdDSA 63 us, ES256 92 us. EdDSA is the default; the choice is configuration.
/// RS256 signs ID tokens only: OpenID Connect Core section 15.1 makes it mandatory for them,
/// and one 1.8 ms signature per sign-in is affordable where one per access token is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SigningAlgorithm {
    EdDsa,
    Es256,
    Rs256,
}

impl SigningAlgorithm {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        match raw {
            "EdDSA" => Ok(SigningAlgorithm::EdDsa),
            "ES256" => Ok(SigningAlgorithm::Es256),
            "RS256" => Ok(SigningAlgorithm::Rs256),
            other => Err(DomainError::invalid(
                "signing algorithm",
                format!("'{other}' is not supported (EdDSA, ES256 or RS256)"),
            )),
        }
    }

    /// Every algorithm, in the order metadata lists them.
    pub const ALL: [SigningAlgorithm; 3] = [
        SigningAlgorithm::Rs256,
        SigningAlgorithm::EdDsa,
        SigningAlgorithm::Es256,
    ];

    /// Whether this algorithm may sign access tokens: RS256 is kept to ID tokens (its
    /// signature costs ~50 times EdDSA's, design section 4).
    pub fn signs_access_tokens(self) -> bool {
        self != SigningAlgorithm::Rs256
    }

    /// The algorithm `client` registered for its ID tokens (OIDC Registration section 2
    /// `id_token_signed_response_alg`: "The default, if omitted, is RS256").
    pub fn for_id_tokens_of(client: &crate::domain::Client) -> Self {
        client
            .openid
            .id_token_signed_response_alg
            .as_deref()
            .and_then(|name| Self::parse(name).ok())
            .unwrap_or(SigningAlgorithm::Rs256)
    }

    /// The JWS `alg` name (RFC 7518 section 3.1, RFC 8037 section 3.1).
    pub fn jws_name(self) -> &'static str {
        match self {
            SigningAlgorithm::EdDsa => "EdDSA",
            SigningAlgorithm::Es256 => "ES256",
            SigningAlgorithm::Rs256 => "RS256",
        }
    }

    pub fn jsonwebtoken(self) -> jsonwebtoken::Algorithm {
        match self {
            SigningAlgorithm::EdDsa => jsonwebtoken::Algorithm::EdDSA,
            SigningAlgorithm::Es256 => jsonwebtoken::Algorithm::ES256,
            SigningAlgorithm::Rs256 => jsonwebtoken::Algorithm::RS256,
        }
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.jws_name())
    }
}

/// A fresh key pair: the private half as PKCS#8 DER (to be sealed at once) and the public
/// half as a JWK (RFC 7517) carrying `kid`, `alg` and `use`.
pub struct GeneratedKey {
    pub pkcs8: Vec<u8>,
    pub public_jwk: Value,
}

impl fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "GeneratedKey {{ pkcs8: <redacted>, public_jwk: {} }}",
            self.public_jwk
        )
    }
}

pub fn generate_key(algorithm: SigningAlgorithm, kid: &str) -> Result<GeneratedKey, DomainError> {
    let failed = |what: &str| DomainError::invalid("signing key", format!("{what} failed"));
    let rng = SystemRandom::new();
    match algorithm {
        SigningAlgorithm::EdDsa => {
            let pkcs8 =
                Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| failed("Ed25519 generation"))?;
            let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref())
                .map_err(|_| failed("Ed25519 parsing"))?;
            // RFC 8037 section 2: an Ed25519 public key is an OKP JWK with `x`.
            let public_jwk = json!({
                "kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
                "kid": kid, "alg": "EdDSA", "use": "sig",
            });
            Ok(GeneratedKey {
                pkcs8: pkcs8.as_ref().to_vec(),
                public_jwk,
            })
        }
        SigningAlgorithm::Es256 => {
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .map_err(|_| failed("P-256 generation"))?;
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
                .map_err(|_| failed("P-256 parsing"))?;
            // Uncompressed point: 0x04 || x (32 bytes) || y (32 bytes); RFC 7518 section 6.2.1.
            let point = pair.public_key().as_ref();
            let (x, y) = point[1..].split_at(32);
            let public_jwk = json!({
                "kty": "EC", "crv": "P-256", "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
                "kid": kid, "alg": "ES256", "use": "sig",
            });
            Ok(GeneratedKey {
                pkcs8: pkcs8.as_ref().to_vec(),
                public_jwk,
            })
        }
        SigningAlgorithm::Rs256 => {
            // RFC 7518 section 3.3: "A key of size 2048 bits or larger MUST be used".
            let pair = RsaKeyPair::generate(KeySize::Rsa2048)
                .map_err(|_| failed("RSA-2048 generation"))?;
            let pkcs8 = pair.as_der().map_err(|_| failed("RSA PKCS#8 encoding"))?;
            let public = pair.public_key();
            // RFC 7518 section 6.3.1: `n` and `e` as unsigned big-endian, no leading zeros.
            let public_jwk = json!({
                "kty": "RSA",
                "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
                "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
                "kid": kid, "alg": "RS256", "use": "sig",
            });
            Ok(GeneratedKey {
                pkcs8: pkcs8.as_ref().to_vec(),
                public_jwk,
            })
        }
    }
}
