//! What a new password must be, after NIST SP 800-63B section 5.1.1.2 ("Memorized Secret
//! Verifiers"): at least 8 characters; no composition rules (no "one digit, one capital");
//! and not a value known to be commonly used or breached, checked against the 100,000 most
//! common passwords (`shared/data/`, shipped compressed in the binary, looked up in a set),
//! nor repetitive or sequential characters, nor the account's own name (the context-specific
//! words of the same section). Every rule applies alike to a password an operator sets with
//! `xecure user add|passwd` and one a user chooses on the account page.

use crate::domain::Password;
use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

/// NIST SP 800-63B 5.1.1.2: "at least 8 characters in length".
pub const MIN_CHARS: usize = 8;
/// Longest password, in bytes: the login refuses to hash longer input
/// (`oauth::login::MAX_PASSWORD_LEN` is this), so no one can set one they could not use.
pub const MAX_BYTES: usize = 1024;

/// The compressed list (see shared/data/README.md).
const COMMON_DEFLATED: &[u8] = include_bytes!("../data/common-passwords-100k.deflate");

/// How many passwords the list holds.
pub const COMMON_COUNT: usize = 100_000;

/// The list as text, one password a line.
fn common_list() -> String {
    match miniz_oxide::inflate::decompress_to_vec(COMMON_DEFLATED) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(error) => {
            // Compiled in and pinned by a test: this cannot happen short of a broken build.
            tracing::error!(?error, "the common-password list does not decompress");
            String::new()
        }
    }
}

/// The list as a set of lower-cased entries (96,518 once case is folded), built once on
/// first use.
static COMMON: LazyLock<HashSet<Box<str>>> = LazyLock::new(|| {
    common_list()
        .lines()
        .filter(|line| !line.is_empty())
        .map(|line| line.to_lowercase().into_boxed_str())
        .collect()
});

/// Why a password was refused; the message is meant for the person choosing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    TooShort,
    TooLong,
    Common,
    Repetitive,
    Username,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Refusal::TooShort => "Use at least 8 characters. A few unrelated words make a long password that is easy to remember.",
            Refusal::TooLong => "That password is too long (at most 1024 bytes).",
            Refusal::Common => "That password is one of the most commonly used ones, which attackers try first. Choose another.",
            Refusal::Repetitive => "That password is a repeated or sequential run of characters (like aaaaaaaa or 12345678). Choose another.",
            Refusal::Username => "The password must not be the username.",
        })
    }
}

/// Checks a password someone is choosing for the account `username`.
pub fn check_new_password(password: &Password, username: &str) -> Result<(), Refusal> {
    let secret = password.secret();
    if secret.len() > MAX_BYTES {
        return Err(Refusal::TooLong);
    }
    if secret.chars().count() < MIN_CHARS {
        return Err(Refusal::TooShort);
    }
    let lowered = secret.to_lowercase();
    if lowered == username.to_lowercase() {
        return Err(Refusal::Username);
    }
    if is_run(&lowered) {
        return Err(Refusal::Repetitive);
    }
    if is_common(&lowered) {
        return Err(Refusal::Common);
    }
    Ok(())
}

/// A set lookup in the common-password list (case-insensitive).
pub fn is_common(password: &str) -> bool {
    COMMON.contains(password.to_lowercase().as_str())
}

/// One character repeated, or each character one code point above (or below) the last:
/// `aaaaaaaa`, `12345678`, `hgfedcba`.
fn is_run(password: &str) -> bool {
    let points: Vec<i64> = password.chars().map(|c| i64::from(u32::from(c))).collect();
    let steps: HashSet<i64> = points.windows(2).map(|w| w[1] - w[0]).collect();
    steps.len() == 1 && steps.iter().all(|step| step.abs() <= 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(password: &str) -> Result<(), Refusal> {
        check_new_password(&Password::new(password), "alice")
    }

    #[test]
    fn the_shipped_list_holds_the_100000_most_common_passwords() {
        assert_eq!(common_list().lines().count(), COMMON_COUNT);
        assert_eq!(COMMON.len(), 96_518, "distinct once lower-cased");
        for common in ["password", "12345678", "iloveyou", "PASSWORD", "Sunshine1"] {
            assert!(is_common(common), "{common}");
        }
        assert!(!is_common("correct horse battery staple"));
    }

    #[test]
    fn nist_rules_refuse_short_common_repetitive_and_own_name_passwords() {
        assert_eq!(check("1234567"), Err(Refusal::TooShort));
        assert_eq!(check("seven77"), Err(Refusal::TooShort));
        assert_eq!(check("password"), Err(Refusal::Common));
        assert_eq!(check("12345678"), Err(Refusal::Repetitive));
        assert_eq!(check("qwertyuiop"), Err(Refusal::Common));
        assert_eq!(check("football1"), Err(Refusal::Common));
        assert_eq!(check("zzzzzzzzzz"), Err(Refusal::Repetitive));
        assert_eq!(check("hgfedcba"), Err(Refusal::Repetitive));
        assert_eq!(
            check_new_password(&Password::new("Margaret-Hamilton"), "margaret-hamilton"),
            Err(Refusal::Username)
        );
        assert_eq!(check(&"x".repeat(1025)), Err(Refusal::TooLong));
    }

    #[test]
    fn no_composition_rules_any_long_uncommon_password_passes() {
        for fine in [
            "correct horse battery staple",
            "tangerine otter",
            "lowercaseonlyisfine",
            "ÄÖÜ mit Umlauten",
            "日本語のパスワード",
        ] {
            assert_eq!(check(fine), Ok(()), "{fine}");
        }
    }
}
