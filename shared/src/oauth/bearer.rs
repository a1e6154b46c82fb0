//! The access token of an `Authorization` header: `Bearer` (RFC 6750 section 2.1) or `DPoP`
//! (RFC 9449 section 7.1, the same token68 syntax).

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

pub use crate::dpop::TokenScheme;

/// b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=" (RFC 6750
/// section 2.1): the bytes allowed before the padding.
const B64TOKEN: [bool; 256] = {
    let mut allowed = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        allowed[byte] =
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
        byte += 1;
    }
    allowed
};

/// `credentials = "Bearer" 1*SP b64token`; the scheme is case-insensitive (RFC 9110
/// section 11.1). Exactly one token: a second header joined in with a comma is refused.
pub fn bearer_token(header: Option<&str>) -> Result<&str, BearerError> {
    match presented_token(header)? {
        (TokenScheme::Bearer, token) => Ok(token),
        (TokenScheme::Dpop, _) => Err(BearerError::Malformed),
    }
}

/// As `bearer_token`, also taking the `DPoP` scheme (RFC 9449 section 7.1).
pub fn presented_token(header: Option<&str>) -> Result<(TokenScheme, &str), BearerError> {
    let header = header.ok_or(BearerError::Missing)?;
    if header.len() > MAX_TOKEN_LEN + 16 {
        return Err(BearerError::Oversize);
    }
    let (scheme, token) = header.split_once(' ').ok_or(BearerError::Malformed)?;
    let scheme = if scheme.eq_ignore_ascii_case("bearer") {
        TokenScheme::Bearer
    } else if scheme.eq_ignore_ascii_case("dpop") {
        TokenScheme::Dpop
    } else {
        return Err(BearerError::Malformed);
    };
    let token = token.trim_start_matches(' ');
    if token.len() > MAX_TOKEN_LEN {
        return Err(BearerError::Oversize);
    }
    let body = token.trim_end_matches('=');
    // Every byte checked without a branch per byte: the authorizer reads every token it
    // decides on through here (issue #21 goal 1).
    let valid = !body.is_empty()
        && body
            .bytes()
            .fold(true, |valid, b| valid & B64TOKEN[usize::from(b)]);
    if valid {
        Ok((scheme, token))
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
            "Bearer ab\u{e9}cd",
            "Bearer ab=cd",
            "Bearer ==",
            "Bearer \u{ff}",
        ] {
            assert_eq!(
                bearer_token(Some(bad)),
                Err(BearerError::Malformed),
                "{bad:?}"
            );
        }
        assert_eq!(
            presented_token(Some("DPoP abc.def")),
            Ok((TokenScheme::Dpop, "abc.def"))
        );
        assert_eq!(
            bearer_token(Some("DPoP abc")),
            Err(BearerError::Malformed),
            "a bearer-only endpoint refuses the DPoP scheme"
        );
        let long = format!("Bearer {}", "a".repeat(MAX_TOKEN_LEN + 1));
        assert_eq!(bearer_token(Some(&long)), Err(BearerError::Oversize));
    }

    #[test]
    fn only_b64token_characters_make_a_token() {
        let allowed = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/";
        for byte in 0u8..=127 {
            let header = format!("Bearer ab{}cd", char::from(byte));
            let expected = if allowed.contains(char::from(byte)) {
                Ok(&header[7..])
            } else {
                Err(BearerError::Malformed)
            };
            assert_eq!(bearer_token(Some(&header)), expected, "byte {byte}");
        }
        assert_eq!(bearer_token(Some("Bearer ab+/cd==")), Ok("ab+/cd=="));
        // Bytes of multi-byte UTF-8 characters are never token characters.
        assert!((128..=255).all(|byte| !B64TOKEN[byte]));
    }
}
