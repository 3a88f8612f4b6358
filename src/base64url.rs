//! Strict unpadded base64url (RFC 4648 §5, as JOSE and PKCE use it: RFC 7515 §2).
//!
//! Decoding refuses padding, whitespace, characters outside the URL-safe alphabet, a
//! length that leaves a single trailing character, and non-zero trailing bits, so every
//! byte string has exactly one accepted encoding. The work is done by RustCrypto's
//! constant-time `base64ct`.

use alloc::{string::String, vec::Vec};

use base64ct::{Base64UrlUnpadded, Encoding};

use crate::error::{Error, Result};

/// Encodes bytes as unpadded base64url.
///
/// ```
/// assert_eq!(edge_oauth::base64url::encode(b"foobar"), "Zm9vYmFy");
/// assert_eq!(edge_oauth::base64url::encode(&[0xfb, 0xff]), "-_8");
/// ```
#[must_use]
pub fn encode(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// Decodes strict unpadded base64url.
///
/// # Errors
///
/// [`Error::Base64urlInvalid`] for padding, whitespace, characters outside the alphabet,
/// an impossible length, or non-canonical trailing bits.
///
/// ```
/// use edge_oauth::base64url::decode;
/// assert_eq!(decode("Zm9vYg").unwrap(), b"foob");
/// assert_eq!(decode("Zm9vYg==").unwrap_err().code(), "BASE64URL_INVALID");
/// assert!(decode("+/8").is_err());
/// ```
pub fn decode(input: &str) -> Result<Vec<u8>> {
    Base64UrlUnpadded::decode_vec(input).map_err(|_| Error::Base64urlInvalid)
}

/// Decodes strict unpadded base64url into a fixed-size array, failing unless the decoded
/// length is exactly `N`.
///
/// # Errors
///
/// [`Error::Base64urlInvalid`] for bad encoding or a decoded length other than `N`.
///
/// ```
/// let x: [u8; 3] = edge_oauth::base64url::decode_array("Zm9v").unwrap();
/// assert_eq!(&x, b"foo");
/// assert!(edge_oauth::base64url::decode_array::<4>("Zm9v").is_err());
/// ```
pub fn decode_array<const N: usize>(input: &str) -> Result<[u8; N]> {
    let mut out = [0u8; N];
    let decoded =
        Base64UrlUnpadded::decode(input, &mut out).map_err(|_| Error::Base64urlInvalid)?;
    if decoded.len() != N {
        return Err(Error::Base64urlInvalid);
    }
    Ok(out)
}
