//! Proof Key for Code Exchange (RFC 7636).
//!
//! The client side generates a [`CodeVerifier`] (32 CSPRNG octets, 43 base64url characters,
//! §4.1 and §7.1) and sends its S256 [`CodeChallenge`] (§4.2). The server side checks the
//! verifier it receives against the stored challenge with [`verify`], in constant time.
//!
//! `plain` exists only for completeness: it is refused unless a caller explicitly allows it
//! ([`CodeChallengeMethod::parse`]), and the client side never produces it (§7.2).
//!
//! ```
//! use edge_oauth::pkce::{self, CodeChallengeMethod, CodeVerifier};
//!
//! // RFC 7636 Appendix B.
//! let verifier = CodeVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").unwrap();
//! let challenge = verifier.challenge();
//! assert_eq!(challenge.as_str(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
//! assert!(pkce::verify(verifier.as_str(), challenge.as_str(), CodeChallengeMethod::S256).is_ok());
//! ```

use alloc::string::String;
use core::fmt;

use rand_core::CryptoRng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::base64url;
use crate::error::{Error, Result};

/// Minimum length of a code verifier (RFC 7636 §4.1).
///
/// ```
/// use edge_oauth::pkce::{CodeVerifier, MIN_LEN};
/// assert!(CodeVerifier::new("a".repeat(MIN_LEN)).is_ok());
/// assert!(CodeVerifier::new("a".repeat(MIN_LEN - 1)).is_err());
/// ```
pub const MIN_LEN: usize = 43;
/// Maximum length of a code verifier (RFC 7636 §4.1).
///
/// ```
/// use edge_oauth::pkce::{CodeVerifier, MAX_LEN};
/// assert!(CodeVerifier::new("a".repeat(MAX_LEN)).is_ok());
/// assert!(CodeVerifier::new("a".repeat(MAX_LEN + 1)).is_err());
/// ```
pub const MAX_LEN: usize = 128;

/// `unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"` (RFC 3986 §2.3), ASCII only.
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Checks `43*128unreserved`, naming the first rule that fails.
fn check_syntax(value: &str) -> core::result::Result<(), &'static str> {
    if value.is_empty() {
        return Err("must not be empty");
    }
    if !value.bytes().all(is_unreserved) {
        return Err("must contain only unreserved characters (A-Z a-z 0-9 - . _ ~)");
    }
    if value.len() < MIN_LEN {
        return Err("must be at least 43 characters");
    }
    if value.len() > MAX_LEN {
        return Err("must be at most 128 characters");
    }
    Ok(())
}

/// A PKCE `code_verifier`: 43 to 128 unreserved characters (RFC 7636 §4.1).
///
/// It is a secret until the token request: not `Clone`, `Debug` prints `[redacted]`, and
/// the memory is zeroized on drop.
///
/// ```
/// use edge_oauth::pkce::CodeVerifier;
///
/// let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
/// let verifier = CodeVerifier::generate(&mut rng);
/// assert_eq!(verifier.as_str().len(), 43);
/// assert_eq!(format!("{verifier:?}"), "CodeVerifier([redacted])");
/// ```
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct CodeVerifier(String);

impl CodeVerifier {
    /// Generates a verifier from 32 octets of `rng` (256 bits), base64url-encoded to 43
    /// characters, as RFC 7636 §4.1 recommends.
    ///
    /// ```
    /// use edge_oauth::pkce::CodeVerifier;
    ///
    /// let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    /// let a = CodeVerifier::generate(&mut rng);
    /// let b = CodeVerifier::generate(&mut rng);
    /// assert_ne!(a.as_str(), b.as_str());
    /// assert!(CodeVerifier::new(a.as_str()).is_ok());
    /// ```
    #[must_use]
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut octets = Zeroizing::new([0u8; 32]);
        rng.fill_bytes(octets.as_mut());
        CodeVerifier(base64url::encode(octets.as_ref()))
    }

    /// Wraps an existing verifier after checking its syntax.
    ///
    /// # Errors
    ///
    /// [`Error::PkceVerifierInvalid`] naming the rule that failed: empty, a character
    /// outside the unreserved set, fewer than 43 or more than 128 characters.
    ///
    /// ```
    /// use edge_oauth::pkce::CodeVerifier;
    ///
    /// assert!(CodeVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").is_ok());
    /// let err = CodeVerifier::new("a".repeat(42)).unwrap_err();
    /// assert_eq!(err.code(), "PKCE_VERIFIER_INVALID");
    /// assert_eq!(err.to_string(), "invalid PKCE code_verifier: must be at least 43 characters");
    /// assert!(CodeVerifier::new(format!("{}+", "a".repeat(42))).is_err());
    /// ```
    pub fn new(value: impl Into<String>) -> Result<Self> {
        // Wrap first so a rejected value is zeroized too.
        let value = CodeVerifier(value.into());
        check_syntax(&value.0).map_err(Error::PkceVerifierInvalid)?;
        Ok(value)
    }

    /// The verifier, to send as `code_verifier` in the token request.
    ///
    /// ```
    /// # use edge_oauth::pkce::CodeVerifier;
    /// let v = CodeVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").unwrap();
    /// assert_eq!(v.as_str(), "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
    /// ```
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The S256 challenge: `BASE64URL(SHA256(ASCII(code_verifier)))` (RFC 7636 §4.2).
    ///
    /// ```
    /// # use edge_oauth::pkce::{CodeChallengeMethod, CodeVerifier};
    /// let v = CodeVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").unwrap();
    /// let c = v.challenge();
    /// assert_eq!(c.as_str(), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    /// assert_eq!(c.method(), CodeChallengeMethod::S256);
    /// ```
    #[must_use]
    pub fn challenge(&self) -> CodeChallenge {
        CodeChallenge {
            value: s256(&self.0),
            method: CodeChallengeMethod::S256,
        }
    }
}

impl fmt::Debug for CodeVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CodeVerifier([redacted])")
    }
}

fn s256(verifier: &str) -> String {
    base64url::encode(&Sha256::digest(verifier.as_bytes()))
}

/// A `code_challenge_method` (RFC 7636 §4.3).
///
/// ```
/// use edge_oauth::pkce::CodeChallengeMethod;
///
/// assert_eq!(CodeChallengeMethod::parse("S256", false).unwrap(), CodeChallengeMethod::S256);
/// assert!(CodeChallengeMethod::parse("plain", false).is_err());
/// assert_eq!(CodeChallengeMethod::parse("plain", true).unwrap().as_str(), "plain");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeChallengeMethod {
    /// `S256`: the challenge is the base64url SHA-256 of the verifier. Mandatory to
    /// implement, and the only method a client should use.
    S256,
    /// `plain`: the challenge is the verifier itself. "SHOULD NOT be used" (§7.2).
    Plain,
}

impl CodeChallengeMethod {
    /// Parses a method name. The comparison is exact (`s256` is not `S256`), and `plain`
    /// is accepted only when `allow_plain` is set.
    ///
    /// # Errors
    ///
    /// [`Error::PkceMethodUnsupported`] for any other value, and for `plain` unless
    /// `allow_plain` is `true`.
    ///
    /// ```
    /// use edge_oauth::pkce::CodeChallengeMethod;
    /// assert_eq!(
    ///     CodeChallengeMethod::parse("s256", true).unwrap_err().code(),
    ///     "PKCE_METHOD_UNSUPPORTED"
    /// );
    /// ```
    pub fn parse(value: &str, allow_plain: bool) -> Result<Self> {
        match value {
            "S256" => Ok(CodeChallengeMethod::S256),
            "plain" if allow_plain => Ok(CodeChallengeMethod::Plain),
            _ => Err(Error::PkceMethodUnsupported),
        }
    }

    /// The wire name: `S256` or `plain`.
    ///
    /// ```
    /// assert_eq!(edge_oauth::pkce::CodeChallengeMethod::S256.as_str(), "S256");
    /// ```
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            CodeChallengeMethod::S256 => "S256",
            CodeChallengeMethod::Plain => "plain",
        }
    }
}

impl fmt::Display for CodeChallengeMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `code_challenge` together with its method.
///
/// ```
/// use edge_oauth::pkce::{CodeChallenge, CodeChallengeMethod};
///
/// let c = CodeChallenge::parse("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", CodeChallengeMethod::S256)
///     .unwrap();
/// assert_eq!(c.method().as_str(), "S256");
/// assert!(CodeChallenge::parse("too-short", CodeChallengeMethod::S256).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CodeChallenge {
    value: String,
    method: CodeChallengeMethod,
}

impl CodeChallenge {
    /// Checks a challenge received by a server (RFC 7636 §4.2): for S256 exactly 43
    /// base64url characters encoding 32 octets; for plain the verifier syntax.
    ///
    /// # Errors
    ///
    /// [`Error::PkceChallengeInvalid`] naming the rule that failed.
    ///
    /// ```
    /// use edge_oauth::pkce::{CodeChallenge, CodeChallengeMethod};
    /// let err = CodeChallenge::parse("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM=", CodeChallengeMethod::S256)
    ///     .unwrap_err();
    /// assert_eq!(err.code(), "PKCE_CHALLENGE_INVALID");
    /// ```
    pub fn parse(value: &str, method: CodeChallengeMethod) -> Result<Self> {
        check_challenge(value, method)?;
        Ok(CodeChallenge {
            value: String::from(value),
            method,
        })
    }

    /// The challenge, to send as `code_challenge`.
    ///
    /// ```
    /// # use edge_oauth::pkce::CodeVerifier;
    /// let v = CodeVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").unwrap();
    /// assert_eq!(v.challenge().as_str().len(), 43);
    /// ```
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.value
    }

    /// The method, to send as `code_challenge_method`.
    ///
    /// ```
    /// # use edge_oauth::pkce::{CodeChallengeMethod, CodeVerifier};
    /// let v = CodeVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").unwrap();
    /// assert_eq!(v.challenge().method(), CodeChallengeMethod::S256);
    /// ```
    #[must_use]
    pub fn method(&self) -> CodeChallengeMethod {
        self.method
    }
}

fn check_challenge(value: &str, method: CodeChallengeMethod) -> Result<()> {
    match method {
        CodeChallengeMethod::S256 => {
            if value.len() != 43 {
                return Err(Error::PkceChallengeInvalid(
                    "an S256 challenge must be 43 base64url characters",
                ));
            }
            base64url::decode_array::<32>(value).map_err(|_| {
                Error::PkceChallengeInvalid("an S256 challenge must be 43 base64url characters")
            })?;
            Ok(())
        }
        CodeChallengeMethod::Plain => check_syntax(value).map_err(Error::PkceChallengeInvalid),
    }
}

/// Server side: checks `verifier` against the `challenge` bound to the authorization code,
/// using the bound `method` (RFC 7636 §4.6). The verifier's syntax is checked first; the
/// final comparison is constant-time.
///
/// # Errors
///
/// - [`Error::PkceVerifierInvalid`] if the verifier is not `43*128unreserved`;
/// - [`Error::PkceChallengeInvalid`] if the stored challenge is malformed;
/// - [`Error::PkceMismatch`] if they do not match (the server answers `invalid_grant`).
///
/// ```
/// use edge_oauth::pkce::{verify, CodeChallengeMethod};
///
/// let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/// assert!(verify(verifier, challenge, CodeChallengeMethod::S256).is_ok());
/// let other = "eBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
/// assert_eq!(
///     verify(other, challenge, CodeChallengeMethod::S256).unwrap_err().code(),
///     "PKCE_MISMATCH"
/// );
/// ```
pub fn verify(verifier: &str, challenge: &str, method: CodeChallengeMethod) -> Result<()> {
    check_syntax(verifier).map_err(Error::PkceVerifierInvalid)?;
    check_challenge(challenge, method)?;
    let computed = match method {
        CodeChallengeMethod::S256 => Zeroizing::new(s256(verifier)),
        CodeChallengeMethod::Plain => Zeroizing::new(String::from(verifier)),
    };
    // Lengths are public (43 for S256); `ct_eq` on slices of different length is false.
    if bool::from(computed.as_bytes().ct_eq(challenge.as_bytes())) {
        Ok(())
    } else {
        Err(Error::PkceMismatch)
    }
}
