//! Lowercase hexadecimal, written straight into a `String`. `hex::encode` collects the text
//! char by char through an iterator; the authorizer hex-encodes a digest on every decision
//! (the usage-plan key, the jti digest in its log line) and that iterator was a tenth of a
//! cached decision's time (issue #21 goal 1).

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// `prefix` followed by two lowercase hex digits per byte of `bytes`, in one allocation.
pub fn prefixed_lower_hex(prefix: &str, bytes: &[u8]) -> String {
    let mut text = String::with_capacity(prefix.len() + 2 * bytes.len());
    text.push_str(prefix);
    for &byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_is_two_lowercase_digits() {
        let bytes: Vec<u8> = (0..=255).collect();
        let expected: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(prefixed_lower_hex("", &bytes), expected);
        assert_eq!(prefixed_lower_hex("evt_", &[0x0a, 0xf0]), "evt_0af0");
        assert_eq!(prefixed_lower_hex("x", &[]), "x");
    }
}
