//! Demonstrating Proof of Possession (RFC 9449): proofs, the `DPoP` authorization scheme, and
//! the one-time use of a proof's `jti`.

pub mod binding;
pub mod nonce;
pub mod proof;

pub use proof::{verify_proof, ProofContext, ProofRejection, VerifiedProof, PROOF_ALGORITHMS};

/// The authentication scheme an access token came under (`oauth::bearer` parses it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenScheme {
    Bearer,
    /// RFC 9449 section 7.1: a DPoP-bound token, with a proof in the `DPoP` header.
    Dpop,
}

/// What identifies a used proof: its key and its `jti` (section 11.1: a `jti` is unique per
/// key; two keys may pick the same one).
pub fn used_proof_id(proof: &VerifiedProof) -> crate::domain::TokenDigest {
    crate::domain::TokenDigest::of(&format!("{}.{}", proof.jkt, proof.jti))
}

/// The request header that carries a proof (RFC 9449 section 4.1).
pub const DPOP_HEADER: &str = "DPoP";

/// The names of `PROOF_ALGORITHMS`: what metadata advertises for proofs and client
/// assertions.
pub fn algorithm_names() -> Vec<&'static str> {
    PROOF_ALGORITHMS.iter().map(|(name, _)| *name).collect()
}

/// The same, space-separated: the `algs` of a `DPoP` challenge (section 7.1).
pub fn proof_algorithm_names() -> String {
    algorithm_names().join(" ")
}

/// The request's `DPoP` header, if any (section 4.3 point 1: "there is not more than one
/// DPoP HTTP request header field"), as visible ASCII: what the token endpoint, UserInfo
/// and the gateway's events all read.
pub fn proof_header(
    headers: &lambda_http::http::HeaderMap,
) -> Result<Option<&str>, ProofRejection> {
    let mut values = headers.get_all(DPOP_HEADER).iter();
    let first = values.next();
    if values.next().is_some() {
        return Err(ProofRejection::Repeated);
    }
    first
        .map(|value| {
            value
                .to_str()
                .map_err(|_| ProofRejection::Malformed("not visible ASCII".into()))
        })
        .transpose()
}
