//! Strict JWS compact serialization (RFC 7515) with ES256 (RFC 7518 §3.4).
//!
//! - [`decode`] splits a compact JWS into its protected header (a JSON object, duplicate
//!   members rejected), payload octets, signing input and signature, and checks the header
//!   against the caller's algorithm allow-list before anything is verified. `none` is not
//!   an algorithm here at all, `crit` is refused (this implementation understands no
//!   extension, RFC 7515 §4.1.11) and so is `b64` (RFC 7797).
//! - [`DecodedJws::verify_es256`] and [`verify_es256`] check a raw `R || S` ES256
//!   signature (64 octets, never DER) over the *received* octets.
//! - [`SigningInput`] is the sans-IO signing half: it hands out the ASCII
//!   `BASE64URL(header) || '.' || BASE64URL(payload)` and accepts a signature made by any
//!   backend (WebCrypto, an HSM...); [`SigningInput::sign_es256`] signs in the core with
//!   deterministic RFC 6979 nonces, so signing needs no RNG.
//!
//! ```
//! use edge_oauth::json::ObjectWriter;
//! use edge_oauth::jwk::EcPrivateJwk;
//! use edge_oauth::jws::{self, Algorithm, SigningInput};
//!
//! let key = EcPrivateJwk::parse(r#"{"kty":"EC","crv":"P-256",
//!     "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
//!     "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
//!     "d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}"#).unwrap();
//!
//! let header = ObjectWriter::new().string("alg", "ES256").string("typ", "JWT").finish();
//! let jwt = SigningInput::new(&header, br#"{"sub":"alice"}"#)
//!     .unwrap()
//!     .sign_es256(key.signing_key())
//!     .unwrap();
//!
//! let decoded = jws::decode(&jwt, &[Algorithm::Es256]).unwrap();
//! decoded.verify_es256(key.public()).unwrap();
//! assert_eq!(decoded.payload(), br#"{"sub":"alice"}"#);
//! assert_eq!(decoded.typ(), Some("JWT"));
//! ```

use alloc::{string::String, vec::Vec};
use core::fmt;

use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256, Sha384, Sha512};

use crate::base64url;
use crate::error::{Error, Result};
use crate::json::{self, Object, Value};
use crate::jwk::EcPublicJwk;

// ----- algorithms -----------------------------------------------------------------------

/// A JWS `alg` value (RFC 7518 §3.1, RFC 8037 §3.1). There is deliberately no variant
/// for `none`.
///
/// ```
/// use edge_oauth::jws::Algorithm;
///
/// assert_eq!(Algorithm::parse("ES256").unwrap(), Algorithm::Es256);
/// assert_eq!(Algorithm::parse("none").unwrap_err().code(), "JWS_ALG_NOT_ALLOWED");
/// assert!(Algorithm::Hs256.is_symmetric());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// ECDSA with P-256 and SHA-256. The only algorithm this crate signs and verifies.
    Es256,
    /// ECDSA with P-384 and SHA-384.
    Es384,
    /// ECDSA with P-521 and SHA-512.
    Es512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    Rs384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    Rs512,
    /// RSASSA-PSS with SHA-256.
    Ps256,
    /// RSASSA-PSS with SHA-384.
    Ps384,
    /// RSASSA-PSS with SHA-512.
    Ps512,
    /// EdDSA (RFC 8037).
    EdDsa,
    /// HMAC with SHA-256 (symmetric).
    Hs256,
    /// HMAC with SHA-384 (symmetric).
    Hs384,
    /// HMAC with SHA-512 (symmetric).
    Hs512,
}

impl Algorithm {
    /// Parses an `alg` name, case-sensitively.
    ///
    /// # Errors
    ///
    /// [`Error::JwsAlgNotAllowed`] for `none` and every unknown name.
    ///
    /// ```
    /// use edge_oauth::jws::Algorithm;
    /// assert_eq!(Algorithm::parse("PS256").unwrap(), Algorithm::Ps256);
    /// assert!(Algorithm::parse("es256").is_err());
    /// ```
    pub fn parse(name: &str) -> Result<Self> {
        Ok(match name {
            "ES256" => Algorithm::Es256,
            "ES384" => Algorithm::Es384,
            "ES512" => Algorithm::Es512,
            "RS256" => Algorithm::Rs256,
            "RS384" => Algorithm::Rs384,
            "RS512" => Algorithm::Rs512,
            "PS256" => Algorithm::Ps256,
            "PS384" => Algorithm::Ps384,
            "PS512" => Algorithm::Ps512,
            "EdDSA" => Algorithm::EdDsa,
            "HS256" => Algorithm::Hs256,
            "HS384" => Algorithm::Hs384,
            "HS512" => Algorithm::Hs512,
            _ => return Err(Error::JwsAlgNotAllowed),
        })
    }

    /// The registered name.
    ///
    /// ```
    /// assert_eq!(edge_oauth::jws::Algorithm::EdDsa.as_str(), "EdDSA");
    /// ```
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Es256 => "ES256",
            Algorithm::Es384 => "ES384",
            Algorithm::Es512 => "ES512",
            Algorithm::Rs256 => "RS256",
            Algorithm::Rs384 => "RS384",
            Algorithm::Rs512 => "RS512",
            Algorithm::Ps256 => "PS256",
            Algorithm::Ps384 => "PS384",
            Algorithm::Ps512 => "PS512",
            Algorithm::EdDsa => "EdDSA",
            Algorithm::Hs256 => "HS256",
            Algorithm::Hs384 => "HS384",
            Algorithm::Hs512 => "HS512",
        }
    }

    /// Whether this is a MAC algorithm (HS*), which must never be accepted where an
    /// asymmetric signature is required (DPoP proofs, `private_key_jwt`).
    ///
    /// ```
    /// use edge_oauth::jws::Algorithm;
    /// assert!(!Algorithm::Es256.is_symmetric());
    /// assert!(Algorithm::Hs512.is_symmetric());
    /// ```
    #[must_use]
    pub fn is_symmetric(self) -> bool {
        matches!(self, Algorithm::Hs256 | Algorithm::Hs384 | Algorithm::Hs512)
    }

    /// The exact signature length in octets for the ECDSA algorithms (RFC 7518 §3.4).
    fn ecdsa_signature_len(self) -> Option<usize> {
        match self {
            Algorithm::Es256 => Some(64),
            Algorithm::Es384 => Some(96),
            Algorithm::Es512 => Some(132),
            _ => None,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// ----- strict JSON ----------------------------------------------------------------------

/// Why a document was refused by [`parse_object`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JsonProblem {
    /// Not UTF-8 JSON at all (or nested too deeply).
    Syntax,
    /// An object (at any depth) repeats a member name.
    Duplicate,
    /// Valid JSON, but the top level is not an object.
    NotObject,
}

/// Parses UTF-8 JSON whose top level must be an object, rejecting duplicate member names
/// at any depth (RFC 7515 §4 and RFC 7519 §4 allow a parser to reject them; we do, so
/// that no two parsers can disagree on which value counts).
pub(crate) fn parse_object(bytes: &[u8]) -> core::result::Result<Object, JsonProblem> {
    match json::parse(bytes) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => Err(JsonProblem::NotObject),
        Err(e) if e.is_duplicate() => Err(JsonProblem::Duplicate),
        Err(_) => Err(JsonProblem::Syntax),
    }
}

/// Parses a JSON object strictly: UTF-8, RFC 8259 syntax, and no member name repeated at
/// any depth (see [`crate::json`]).
///
/// # Errors
///
/// [`Error::JsonInvalid`] saying whether the text is not JSON, repeats a member, or is not
/// an object.
///
/// ```
/// use edge_oauth::jws::parse_json_object;
///
/// assert!(parse_json_object(br#"{"a":{"b":1}}"#).is_ok());
/// let err = parse_json_object(br#"{"a":{"b":1,"b":2}}"#).unwrap_err();
/// assert_eq!(err.to_string(), "invalid JSON: duplicate member");
/// assert!(parse_json_object(b"[1]").is_err());
/// ```
pub fn parse_json_object(bytes: &[u8]) -> Result<Object> {
    parse_object(bytes).map_err(|p| {
        Error::JsonInvalid(match p {
            JsonProblem::Syntax => "not valid UTF-8 JSON",
            JsonProblem::Duplicate => "duplicate member",
            JsonProblem::NotObject => "not a JSON object",
        })
    })
}

// ----- decoding -------------------------------------------------------------------------

/// A compact JWS whose structure and header have been checked, but whose signature has
/// not (yet) been verified. Produced by [`decode`].
///
/// ```
/// use edge_oauth::jws::{decode, Algorithm};
///
/// // RFC 7515 Appendix A.3.
/// let jws = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";
/// let decoded = decode(jws, &[Algorithm::Es256]).unwrap();
/// assert_eq!(decoded.alg(), Algorithm::Es256);
/// assert_eq!(decoded.signature().len(), 64);
/// assert!(decoded.signing_input().starts_with("eyJhbGciOiJFUzI1NiJ9."));
/// assert_eq!(decoded.claims().unwrap()["iss"], "joe");
/// ```
#[derive(Debug, Clone)]
pub struct DecodedJws<'a> {
    header: Object,
    alg: Algorithm,
    payload: Vec<u8>,
    signing_input: &'a str,
    signature: Vec<u8>,
}

/// Decodes a compact JWS strictly and checks its protected header.
///
/// Checks, in order: exactly three `.`-separated segments; each strict unpadded
/// base64url; the header a UTF-8 JSON object without duplicate members; `alg` a string
/// naming an algorithm in `allowed`; no `crit`; no `b64`; `typ`, `cty` and `kid` strings
/// when present. The payload is returned as octets (it need not be JSON).
///
/// # Errors
///
/// - [`Error::JwsMalformed`] for the wrong number of segments, bad base64url, or a header
///   that is not a JSON object;
/// - [`Error::JwsHeaderInvalid`] for a duplicate or mistyped header member, or `b64`;
/// - [`Error::JwsAlgNotAllowed`] if `alg` is `none`, unknown, or not in `allowed`;
/// - [`Error::JwsCritUnsupported`] if the header has `crit`.
///
/// ```
/// use edge_oauth::jws::{decode, Algorithm};
///
/// let none = "eyJhbGciOiJub25lIn0.e30.";
/// assert_eq!(decode(none, &[Algorithm::Es256]).unwrap_err().code(), "JWS_ALG_NOT_ALLOWED");
/// assert_eq!(decode("a.b", &[Algorithm::Es256]).unwrap_err().code(), "JWS_MALFORMED");
/// ```
pub fn decode<'a>(compact: &'a str, allowed: &[Algorithm]) -> Result<DecodedJws<'a>> {
    let mut parts = compact.split('.');
    let (Some(h64), Some(p64), Some(s64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::JwsMalformed(
            "a compact JWS has exactly three segments",
        ));
    };
    // `h64.len() + 1 + p64.len()` is a prefix of `compact` ending before the second dot.
    let signing_input = compact
        .get(..h64.len() + 1 + p64.len())
        .ok_or(Error::JwsMalformed(
            "a compact JWS has exactly three segments",
        ))?;

    let header_bytes = base64url::decode(h64)
        .map_err(|_| Error::JwsMalformed("the header is not unpadded base64url"))?;
    let payload = base64url::decode(p64)
        .map_err(|_| Error::JwsMalformed("the payload is not unpadded base64url"))?;
    let signature = base64url::decode(s64)
        .map_err(|_| Error::JwsMalformed("the signature is not unpadded base64url"))?;

    let header = parse_object(&header_bytes).map_err(|p| match p {
        JsonProblem::Duplicate => Error::JwsHeaderInvalid("the header repeats a member"),
        JsonProblem::Syntax | JsonProblem::NotObject => {
            Error::JwsMalformed("the header is not a JSON object")
        }
    })?;

    let alg = match header.get("alg") {
        Some(Value::String(name)) => Algorithm::parse(name)?,
        Some(_) => return Err(Error::JwsHeaderInvalid("alg must be a string")),
        None => return Err(Error::JwsHeaderInvalid("alg is missing")),
    };
    if !allowed.contains(&alg) {
        return Err(Error::JwsAlgNotAllowed);
    }
    if header.contains_key("crit") {
        // RFC 7515 §4.1.11: every listed extension must be understood; we understand none.
        return Err(Error::JwsCritUnsupported);
    }
    if header.contains_key("b64") {
        return Err(Error::JwsHeaderInvalid(
            "b64 (RFC 7797 unencoded payload) is not supported",
        ));
    }
    for (name, msg) in [
        ("typ", "typ must be a string"),
        ("cty", "cty must be a string"),
        ("kid", "kid must be a string"),
    ] {
        if header.get(name).is_some_and(|v| !v.is_string()) {
            return Err(Error::JwsHeaderInvalid(msg));
        }
    }

    Ok(DecodedJws {
        header,
        alg,
        payload,
        signing_input,
        signature,
    })
}

impl<'a> DecodedJws<'a> {
    /// The protected header.
    ///
    /// ```
    /// # use edge_oauth::jws::{decode, Algorithm};
    /// let d = decode("eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIn0.e30.AA", &[Algorithm::Es256]).unwrap();
    /// assert_eq!(d.header()["kid"], "k1");
    /// ```
    #[must_use]
    pub fn header(&self) -> &Object {
        &self.header
    }

    /// The `alg`, already checked against the allow-list.
    ///
    /// ```
    /// # use edge_oauth::jws::{decode, Algorithm};
    /// let d = decode("eyJhbGciOiJFUzI1NiJ9.e30.AA", &[Algorithm::Es256]).unwrap();
    /// assert_eq!(d.alg(), Algorithm::Es256);
    /// ```
    #[must_use]
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// The header's `typ`, if present (compare it exactly; see RFC 8725 §3.11).
    ///
    /// ```
    /// # use edge_oauth::jws::{decode, Algorithm};
    /// let d = decode("eyJhbGciOiJFUzI1NiJ9.e30.AA", &[Algorithm::Es256]).unwrap();
    /// assert_eq!(d.typ(), None);
    /// ```
    #[must_use]
    pub fn typ(&self) -> Option<&str> {
        self.header.get("typ").and_then(Value::as_str)
    }

    /// The header's `kid`, if present.
    ///
    /// ```
    /// # use edge_oauth::jws::{decode, Algorithm};
    /// let d = decode("eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIn0.e30.AA", &[Algorithm::Es256]).unwrap();
    /// assert_eq!(d.kid(), Some("k1"));
    /// ```
    #[must_use]
    pub fn kid(&self) -> Option<&str> {
        self.header.get("kid").and_then(Value::as_str)
    }

    /// The payload octets, exactly as received.
    ///
    /// ```
    /// # use edge_oauth::jws::{decode, Algorithm};
    /// let d = decode("eyJhbGciOiJFUzI1NiJ9.e30.AA", &[Algorithm::Es256]).unwrap();
    /// assert_eq!(d.payload(), b"{}");
    /// ```
    #[must_use]
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The JWS signing input `BASE64URL(header) '.' BASE64URL(payload)`, as received.
    ///
    /// ```
    /// # use edge_oauth::jws::{decode, Algorithm};
    /// let d = decode("eyJhbGciOiJFUzI1NiJ9.e30.AA", &[Algorithm::Es256]).unwrap();
    /// assert_eq!(d.signing_input(), "eyJhbGciOiJFUzI1NiJ9.e30");
    /// ```
    #[must_use]
    pub fn signing_input(&self) -> &'a str {
        self.signing_input
    }

    /// The decoded signature octets.
    ///
    /// ```
    /// # use edge_oauth::jws::{decode, Algorithm};
    /// let d = decode("eyJhbGciOiJFUzI1NiJ9.e30.AA", &[Algorithm::Es256]).unwrap();
    /// assert_eq!(d.signature(), [0u8]);
    /// ```
    #[must_use]
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// Parses the payload as a JWT claims set: a UTF-8 JSON object without duplicate
    /// members (RFC 7519 §7.2 steps 9-10).
    ///
    /// # Errors
    ///
    /// [`Error::JwsMalformed`] if the payload is not such an object.
    ///
    /// ```
    /// # use edge_oauth::jws::{decode, Algorithm};
    /// let d = decode("eyJhbGciOiJFUzI1NiJ9.eyJhIjoxfQ.AA", &[Algorithm::Es256]).unwrap();
    /// assert_eq!(d.claims().unwrap()["a"], 1);
    /// ```
    pub fn claims(&self) -> Result<Object> {
        parse_object(&self.payload).map_err(|p| {
            Error::JwsMalformed(match p {
                JsonProblem::Duplicate => "the payload repeats a member",
                JsonProblem::Syntax | JsonProblem::NotObject => "the payload is not a JSON object",
            })
        })
    }

    /// Verifies the ES256 signature with `key`.
    ///
    /// # Errors
    ///
    /// [`Error::JwsAlgNotAllowed`] if the header's `alg` is not `ES256`;
    /// [`Error::JwsSignatureInvalid`] if the signature does not verify (for any reason).
    ///
    /// ```
    /// # use edge_oauth::{jwk::EcPublicJwk, jws::{decode, Algorithm}};
    /// let key = EcPublicJwk::parse(r#"{"kty":"EC","crv":"P-256",
    ///   "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    ///   "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#).unwrap();
    /// let d = decode("eyJhbGciOiJFUzI1NiJ9.e30.AA", &[Algorithm::Es256]).unwrap();
    /// assert_eq!(d.verify_es256(&key).unwrap_err().code(), "JWS_SIGNATURE_INVALID");
    /// ```
    #[cfg(not(all(feature = "wasm", not(feature = "wasm-p256"))))]
    pub fn verify_es256(&self, key: &EcPublicJwk) -> Result<()> {
        if self.alg != Algorithm::Es256 {
            return Err(Error::JwsAlgNotAllowed);
        }
        verify_es256(
            self.signing_input.as_bytes(),
            &self.signature,
            key.verifying_key(),
        )
    }
}

/// Verifies a raw ES256 signature (`R || S`, 64 octets, RFC 7518 §3.4) over `message`.
/// DER, any other length, and `r` or `s` outside `[1, n-1]` are refused. High-S
/// signatures verify, as RFC 7518 requires (ECDSA is malleable; never key anything on
/// signature bytes).
///
/// # Errors
///
/// [`Error::JwsSignatureInvalid`], deliberately without saying why.
///
/// ```
/// use edge_oauth::jwk::EcPrivateJwk;
/// use edge_oauth::jws::verify_es256;
///
/// # let key = EcPrivateJwk::parse(r#"{"kty":"EC","crv":"P-256",
/// #   "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
/// #   "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
/// #   "d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}"#).unwrap();
/// let sig = edge_oauth::jws::sign_es256_raw(b"hello", key.signing_key()).unwrap();
/// assert!(verify_es256(b"hello", &sig, key.public().verifying_key()).is_ok());
/// assert!(verify_es256(b"hellO", &sig, key.public().verifying_key()).is_err());
/// assert!(verify_es256(b"hello", &[0u8; 64], key.public().verifying_key()).is_err());
/// ```
pub fn verify_es256(message: &[u8], signature: &[u8], key: &VerifyingKey) -> Result<()> {
    if signature.len() != 64 {
        return Err(Error::JwsSignatureInvalid);
    }
    let signature = Signature::from_slice(signature).map_err(|_| Error::JwsSignatureInvalid)?;
    key.verify(message, &signature)
        .map_err(|_| Error::JwsSignatureInvalid)
}

/// Signs `message` with ES256 and returns the raw 64-octet `R || S` signature. The nonce
/// is derived deterministically (RFC 6979), so no RNG is needed.
///
/// # Errors
///
/// [`Error::JwkKeyInvalid`] if the signing primitive fails (it does not for a valid key).
///
/// ```
/// # use edge_oauth::jwk::EcPrivateJwk;
/// # let key = EcPrivateJwk::parse(r#"{"kty":"EC","crv":"P-256",
/// #   "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
/// #   "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
/// #   "d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}"#).unwrap();
/// let a = edge_oauth::jws::sign_es256_raw(b"msg", key.signing_key()).unwrap();
/// let b = edge_oauth::jws::sign_es256_raw(b"msg", key.signing_key()).unwrap();
/// assert_eq!(a, b); // RFC 6979
/// ```
pub fn sign_es256_raw(message: &[u8], key: &SigningKey) -> Result<[u8; 64]> {
    let signature: Signature = key.try_sign(message).map_err(|_| Error::JwkKeyInvalid)?;
    Ok(signature.to_bytes().into())
}

// ----- signing (sans-IO) ----------------------------------------------------------------

/// The JWS signing input, ready to be signed by the core or by another backend.
///
/// Built from a protected header (which must carry a supported `alg`) and the payload
/// octets. [`as_str`](Self::as_str) is what gets signed; [`finish`](Self::finish) takes
/// the signature and returns the compact JWS.
///
/// ```
/// use edge_oauth::jws::{self, Algorithm, SigningInput};
/// # use edge_oauth::jwk::EcPrivateJwk;
/// # let key = EcPrivateJwk::parse(r#"{"kty":"EC","crv":"P-256",
/// #   "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
/// #   "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
/// #   "d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}"#).unwrap();
///
/// let input = SigningInput::new(r#"{"alg":"ES256"}"#, b"{}").unwrap();
/// assert_eq!(input.as_str(), "eyJhbGciOiJFUzI1NiJ9.e30");
///
/// // Pretend another backend (e.g. WebCrypto) made the signature:
/// let signature = jws::sign_es256_raw(input.as_str().as_bytes(), key.signing_key()).unwrap();
/// let compact = input.finish(&signature).unwrap();
/// jws::decode(&compact, &[Algorithm::Es256]).unwrap().verify_es256(key.public()).unwrap();
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningInput {
    text: String,
    alg: Algorithm,
}

impl SigningInput {
    /// Encodes the protected header `header_json` (JSON text, used byte for byte: write it
    /// compactly, e.g. with [`json::ObjectWriter`]) with `payload`. The header is parsed
    /// strictly to check its `alg`.
    ///
    /// # Errors
    ///
    /// [`Error::JwsHeaderInvalid`] if the header is not a JSON object, repeats a member,
    /// or has no string `alg`, and [`Error::JwsAlgNotAllowed`] if `alg` is `none` or
    /// unknown.
    ///
    /// ```
    /// use edge_oauth::jws::SigningInput;
    /// assert_eq!(SigningInput::new(r#"{"alg":"none"}"#, b"").unwrap_err().code(), "JWS_ALG_NOT_ALLOWED");
    /// assert_eq!(SigningInput::new(r#"{"alg":1}"#, b"").unwrap_err().code(), "JWS_HEADER_INVALID");
    /// assert_eq!(
    ///     SigningInput::new(r#"{"alg":"ES256","alg":"ES256"}"#, b"").unwrap_err().code(),
    ///     "JWS_HEADER_INVALID"
    /// );
    /// ```
    pub fn new(header_json: &str, payload: &[u8]) -> Result<Self> {
        let header = parse_object(header_json.as_bytes()).map_err(|p| match p {
            JsonProblem::Duplicate => Error::JwsHeaderInvalid("the header repeats a member"),
            JsonProblem::Syntax | JsonProblem::NotObject => {
                Error::JwsHeaderInvalid("the header is not a JSON object")
            }
        })?;
        let alg = match header.get("alg") {
            Some(Value::String(name)) => Algorithm::parse(name)?,
            Some(_) => return Err(Error::JwsHeaderInvalid("alg must be a string")),
            None => return Err(Error::JwsHeaderInvalid("alg is missing")),
        };
        Ok(Self::from_parts(alg, header_json, payload))
    }

    /// The signing input for a header the caller built itself with this `alg`.
    pub(crate) fn from_parts(alg: Algorithm, header_json: &str, payload: &[u8]) -> Self {
        Self::from_encoded_header(alg, &base64url::encode(header_json.as_bytes()), payload)
    }

    /// The signing input for a header the caller built and encoded itself with this `alg`.
    pub(crate) fn from_encoded_header(
        alg: Algorithm,
        encoded_header: &str,
        payload: &[u8],
    ) -> Self {
        let payload = base64url::encode(payload);
        let mut text = String::with_capacity(encoded_header.len() + 1 + payload.len());
        text.push_str(encoded_header);
        text.push('.');
        text.push_str(&payload);
        SigningInput { text, alg }
    }

    /// The ASCII signing input `BASE64URL(header) '.' BASE64URL(payload)`: the exact
    /// octets to sign.
    ///
    /// ```
    /// # use edge_oauth::jws::SigningInput;
    /// # let header = r#"{"alg":"ES256"}"#;
    /// let input = SigningInput::new(&header, b"").unwrap();
    /// assert_eq!(input.as_str(), "eyJhbGciOiJFUzI1NiJ9.");
    /// ```
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The `alg` of the header, i.e. how the signature must be made.
    ///
    /// ```
    /// # use edge_oauth::jws::{Algorithm, SigningInput};
    /// # let header = r#"{"alg":"ES256"}"#;
    /// assert_eq!(SigningInput::new(&header, b"").unwrap().alg(), Algorithm::Es256);
    /// ```
    #[must_use]
    pub fn alg(&self) -> Algorithm {
        self.alg
    }

    /// Appends a signature made elsewhere and returns the compact JWS. For the ECDSA
    /// algorithms the signature must be raw `R || S` of the exact length (64 octets for
    /// ES256, which WebCrypto produces); for ES256 `r` and `s` must also be in range.
    ///
    /// # Errors
    ///
    /// [`Error::JwsSignatureInvalid`] for an empty signature, a wrong ECDSA length (e.g. a
    /// DER signature), or out-of-range ES256 scalars.
    ///
    /// ```
    /// # use edge_oauth::jws::SigningInput;
    /// # let header = r#"{"alg":"ES256"}"#;
    /// let input = SigningInput::new(&header, b"{}").unwrap();
    /// assert_eq!(input.finish(&[1u8; 70]).unwrap_err().code(), "JWS_SIGNATURE_INVALID");
    /// ```
    pub fn finish(&self, signature: &[u8]) -> Result<String> {
        if signature.is_empty() {
            return Err(Error::JwsSignatureInvalid);
        }
        if let Some(len) = self.alg.ecdsa_signature_len()
            && signature.len() != len
        {
            return Err(Error::JwsSignatureInvalid);
        }
        if self.alg == Algorithm::Es256 {
            Signature::from_slice(signature).map_err(|_| Error::JwsSignatureInvalid)?;
        }
        let mut out = String::with_capacity(self.text.len() + 1 + signature.len() * 4 / 3 + 2);
        out.push_str(&self.text);
        out.push('.');
        out.push_str(&base64url::encode(signature));
        Ok(out)
    }

    /// Signs with ES256 in the core (deterministic RFC 6979 nonces) and returns the
    /// compact JWS.
    ///
    /// # Errors
    ///
    /// [`Error::JwsAlgNotAllowed`] if the header's `alg` is not `ES256`.
    ///
    /// ```
    /// # use edge_oauth::{jwk::EcPrivateJwk, jws::SigningInput};
    /// # let key = EcPrivateJwk::parse(r#"{"kty":"EC","crv":"P-256",
    /// #   "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    /// #   "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
    /// #   "d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}"#).unwrap();
    /// let jws = SigningInput::new(r#"{"alg":"ES256"}"#, b"{}").unwrap().sign_es256(key.signing_key()).unwrap();
    /// assert_eq!(jws.split('.').count(), 3);
    /// ```
    pub fn sign_es256(&self, key: &SigningKey) -> Result<String> {
        if self.alg != Algorithm::Es256 {
            return Err(Error::JwsAlgNotAllowed);
        }
        let signature = sign_es256_raw(self.text.as_bytes(), key)?;
        self.finish(&signature)
    }
}

/// Signs `payload` under `header` with ES256 and returns the compact JWS; shorthand for
/// [`SigningInput::new`] followed by [`SigningInput::sign_es256`].
///
/// # Errors
///
/// As [`SigningInput::new`], and [`Error::JwsAlgNotAllowed`] unless `alg` is `ES256`.
///
/// ```
/// # use edge_oauth::{jwk::EcPrivateJwk, jws::{self, Algorithm}};
/// # let key = EcPrivateJwk::parse(r#"{"kty":"EC","crv":"P-256",
/// #   "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
/// #   "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
/// #   "d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}"#).unwrap();
/// let jwt = jws::sign_es256(r#"{"alg":"ES256","typ":"at+jwt"}"#, br#"{"sub":"a"}"#, key.signing_key())
///     .unwrap();
/// jws::decode(&jwt, &[Algorithm::Es256]).unwrap().verify_es256(key.public()).unwrap();
/// ```
pub fn sign_es256(header_json: &str, payload: &[u8], key: &SigningKey) -> Result<String> {
    SigningInput::new(header_json, payload)?.sign_es256(key)
}

// ----- OIDC hashes ----------------------------------------------------------------------

/// The OpenID Connect `at_hash` / `c_hash` of `value` (OIDC Core §3.1.3.6, §3.3.2.11):
/// base64url of the left-most half of the hash that `alg` uses.
///
/// # Errors
///
/// [`Error::JwsAlgNotAllowed`] for `EdDSA`, whose hash depends on the curve.
///
/// ```
/// use edge_oauth::jws::{oidc_hash, Algorithm};
///
/// // OIDC Core Appendix A.3.
/// assert_eq!(
///     oidc_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y", Algorithm::Rs256).unwrap(),
///     "77QmUPtjPfzWtF2AnpK9RQ"
/// );
/// ```
pub fn oidc_hash(value: &str, alg: Algorithm) -> Result<String> {
    let bytes = value.as_bytes();
    Ok(match alg {
        Algorithm::Es256 | Algorithm::Rs256 | Algorithm::Ps256 | Algorithm::Hs256 => {
            left_half_b64(&Sha256::digest(bytes))
        }
        Algorithm::Es384 | Algorithm::Rs384 | Algorithm::Ps384 | Algorithm::Hs384 => {
            left_half_b64(&Sha384::digest(bytes))
        }
        Algorithm::Es512 | Algorithm::Rs512 | Algorithm::Ps512 | Algorithm::Hs512 => {
            left_half_b64(&Sha512::digest(bytes))
        }
        Algorithm::EdDsa => return Err(Error::JwsAlgNotAllowed),
    })
}

fn left_half_b64(digest: &[u8]) -> String {
    let (left, _) = digest.split_at(digest.len() / 2);
    base64url::encode(left)
}
