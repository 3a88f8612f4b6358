//! Hex digits for percent-encoding (RFC 3986 §2.1), shared by the form codec
//! ([`crate::token`]) and the `htu` normalization of [`crate::dpop`].

/// Upper-case hex digits, by value (RFC 3986 §2.1 prefers upper case).
pub(crate) const UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// The value of one hex digit, if `b` is one (either case).
pub(crate) fn value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}
