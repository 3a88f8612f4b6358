//! Token requests and responses (RFC 6749 §3.2, §4.1.3, §4.4.2, §5, §6), the device
//! authorization grant (RFC 8628, [`device`]), and the secret newtypes they carry.
//!
//! Every token, code and client secret is a newtype whose [`Debug`](core::fmt::Debug)
//! prints `[redacted]`, whose equality is constant-time for equal lengths, and whose
//! memory is zeroized on drop. The raw value is reachable only through `as_str()`, so a
//! secret never ends up in a log by accident.

use alloc::string::String;
use core::fmt;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

pub mod client;
pub mod device;
pub mod request;
pub mod response;

pub use request::{
    AuthorizationCodeGrant, ClientCredentialsGrant, FormParams, RefreshTokenGrant, TokenRevocation,
    decode_basic_credentials, encode_basic_credentials, encode_form,
};
pub use response::{
    Challenge, ErrorResponse, TokenSet, TokenType, parse_dpop_nonce, parse_error_response,
    parse_token_response, parse_www_authenticate,
};

macro_rules! secret_newtype {
    ($(#[$meta:meta])* $name:ident, $example:literal) => {
        $(#[$meta])*
        ///
        /// `Debug` prints `[redacted]`, `==` compares in constant time (the length is not
        /// secret), and the value is zeroized when dropped.
        ///
        /// ```
        #[doc = concat!("use edge_oauth::token::", stringify!($name), ";")]
        ///
        #[doc = concat!("let secret = ", stringify!($name), "::new(\"", $example, "\");")]
        #[doc = concat!("assert_eq!(secret.as_str(), \"", $example, "\");")]
        #[doc = concat!("assert_eq!(format!(\"{secret:?}\"), \"", stringify!($name), "([redacted])\");")]
        /// ```
        #[derive(Clone, Zeroize, ZeroizeOnDrop)]
        pub struct $name(String);

        impl $name {
            /// Wraps a value. No syntax check is made: parsers and request builders
            /// validate values where the RFC gives them a syntax.
            ///
            /// ```
            #[doc = concat!("let secret = edge_oauth::token::", stringify!($name), "::new(String::from(\"", $example, "\"));")]
            #[doc = concat!("assert_eq!(secret.as_str(), \"", $example, "\");")]
            /// ```
            #[must_use]
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            /// The secret value. Handle with care: do not log it.
            ///
            /// ```
            #[doc = concat!("let secret = edge_oauth::token::", stringify!($name), "::new(\"", $example, "\");")]
            #[doc = concat!("assert_eq!(secret.as_str().len(), ", stringify!($example), ".len());")]
            /// ```
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([redacted])"))
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
            }
        }

        impl Eq for $name {}
    };
}

secret_newtype!(
    /// An OAuth 2.0 access token (RFC 6749 §1.4).
    AccessToken,
    "2YotnFZFEjr1zCsicMWpAA"
);
secret_newtype!(
    /// An OAuth 2.0 refresh token (RFC 6749 §1.5).
    RefreshToken,
    "tGzv3JOkF0XG5Qx2TlKWIA"
);
secret_newtype!(
    /// An authorization code (RFC 6749 §1.3.1, §4.1.2).
    AuthorizationCode,
    "SplxlOBeZQQYbYS6WxSbIA"
);
secret_newtype!(
    /// A client secret (RFC 6749 §2.3.1).
    ClientSecret,
    "7Fjfp0ZBr1KtDRbnfVdmIw"
);
secret_newtype!(
    /// A device verification code (RFC 8628 §3.2): whoever holds it can poll for the
    /// tokens once the user approves.
    DeviceCode,
    "GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS"
);
secret_newtype!(
    /// An OpenID Connect ID token (OIDC Core §2), kept opaque here: validating it is
    /// the JWS / JWT layer's job.
    IdToken,
    "eyJhbGciOiJFUzI1NiJ9.e30.c2ln"
);

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn debug_is_redacted() {
        assert_eq!(
            format!("{:?}", AccessToken::new("s3cr3t")),
            "AccessToken([redacted])"
        );
        assert_eq!(
            format!("{:?}", RefreshToken::new("s3cr3t")),
            "RefreshToken([redacted])"
        );
        assert_eq!(
            format!("{:?}", AuthorizationCode::new("s3cr3t")),
            "AuthorizationCode([redacted])"
        );
        assert_eq!(
            format!("{:?}", ClientSecret::new("s3cr3t")),
            "ClientSecret([redacted])"
        );
        assert_eq!(
            format!("{:?}", IdToken::new("s3cr3t")),
            "IdToken([redacted])"
        );
    }

    #[test]
    fn equality_compares_values() {
        assert_eq!(AccessToken::new("abc"), AccessToken::new("abc"));
        assert_ne!(AccessToken::new("abc"), AccessToken::new("abd"));
        assert_ne!(AccessToken::new("abc"), AccessToken::new("abcd"));
    }

    #[test]
    fn zeroize_clears_the_value() {
        let mut t = RefreshToken::new("s3cr3t");
        t.zeroize();
        assert_eq!(t.as_str(), "");
    }
}
