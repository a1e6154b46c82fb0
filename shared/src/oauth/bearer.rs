//! The bearer token of an `Authorization` header (RFC 6750 section 2.1).

/// Longest token accepted: ours are well under 1 KiB; anything near API Gateway's header
/// limit is an attack or a mistake.
pub const MAX_TOKEN_LEN: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BearerError {
    Missing,
    /// Not `Bearer <token>`, more than one token, or characters outside b64token.
    Malformed,
    Oversize,
}

impl BearerError {
    pub fn reason(self) -> &'static str {
        match self {
            BearerError::Missing => "missing_token",
            BearerError::Malformed => "malformed_authorization",
            BearerError::Oversize => "oversize_token",
        }
    }
}

/// `credentials = "Bearer" 1*SP b64token`; the scheme is case-insensitive (RFC 9110
/// section 11.1). Exactly one token: a second header joined in with a comma is refused.
pub fn bearer_token(header: Option<&str>) -> Result<&str, BearerError> {
    let header = header.ok_or(BearerError::Missing)?;
    if header.len() > MAX_TOKEN_LEN + 16 {
        return Err(BearerError::Oversize);
    }
    let (scheme, token) = header.split_once(' ').ok_or(BearerError::Malformed)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(BearerError::Malformed);
    }
    let token = token.trim_start_matches(' ');
    if token.len() > MAX_TOKEN_LEN {
        return Err(BearerError::Oversize);
    }
    // b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    let body = token.trim_end_matches('=');
    let valid = !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
    if valid {
        Ok(token)
    } else {
        Err(BearerError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_parsing_follows_rfc_6750() {
        assert_eq!(bearer_token(Some("Bearer abc.def-ghi")), Ok("abc.def-ghi"));
        assert_eq!(bearer_token(Some("bEaReR  abc")), Ok("abc"));
        assert_eq!(bearer_token(None), Err(BearerError::Missing));
        for bad in [
            "",
            "Bearer",
            "Bearer ",
            "Basic abc",
            "Bearer a b",
            "Bearer a,Bearer b",
            "Bearer a\tb",
            "Bearerabc",
        ] {
            assert_eq!(
                bearer_token(Some(bad)),
                Err(BearerError::Malformed),
                "{bad:?}"
            );
        }
        let long = format!("Bearer {}", "a".repeat(MAX_TOKEN_LEN + 1));
        assert_eq!(bearer_token(Some(&long)), Err(BearerError::Oversize));
    }
}
