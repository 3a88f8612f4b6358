//! JSON Web Keys (RFC 7517, RFC 7518 §6.2) for P-256, and RFC 7638 thumbprints.
//!
//! - [`EcPublicJwk`] is a validated P-256 public key: `kty` `EC`, `crv` `P-256`, `x` and
//!   `y` exactly 32 octets each (43 base64url characters, RFC 7518 §6.2.1.2: a coordinate
//!   with its leading zero stripped is refused), the point on the curve, and no private
//!   member. Optional members (`kid`, `use`, `alg`, `key_ops`...) are allowed and
//!   dropped; `alg`, if present, must be `ES256`, and `use`, if present, `sig`.
//! - [`EcPrivateJwk`] adds `d`, checked to be in range and to match `x`/`y`. Its `Debug`
//!   prints `[redacted]` and the scalar is zeroized on drop.
//! - [`thumbprint`] computes the RFC 7638 SHA-256 thumbprint of any EC, RSA or OKP JWK
//!   from its required members only, so private and optional members do not change it.
//!
//! ```
//! use edge_oauth::jwk::EcPublicJwk;
//!
//! // RFC 9449 §4.2 / §6.1.
//! let jwk = EcPublicJwk::parse(r#"{"kty":"EC","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
//!     "y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA","crv":"P-256"}"#).unwrap();
//! assert_eq!(jwk.thumbprint(), "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
//! ```

use alloc::string::String;
use core::fmt;

use p256::ecdsa::{SigningKey, VerifyingKey};
use p256::elliptic_curve::point::AffineCoordinates;
use rand_core::CryptoRng;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::base64url;
use crate::error::{Error, Result};
use crate::json::{Object, ObjectWriter, Value};
use crate::jws::{JsonProblem, parse_object};

/// Members that make a JWK private (RFC 7518 §6.2.2, §6.3.2, §6.4; RFC 8037 §2).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// A parsed JWK whose private member strings are zeroized on drop (best effort: the
/// caller still owns the JSON text).
struct ScrubbedJwk(Object);

impl Drop for ScrubbedJwk {
    fn drop(&mut self) {
        for name in PRIVATE_MEMBERS {
            if let Some(Value::String(s)) = self.0.get_mut(name) {
                s.zeroize();
            }
        }
    }
}

impl core::ops::Deref for ScrubbedJwk {
    type Target = Object;
    fn deref(&self) -> &Object {
        &self.0
    }
}

fn parse_jwk_object(json: &str) -> Result<ScrubbedJwk> {
    parse_object(json.as_bytes()).map(ScrubbedJwk).map_err(|p| {
        Error::JwkInvalid(match p {
            JsonProblem::Syntax => "not valid JSON",
            JsonProblem::Duplicate => "a member is repeated",
            JsonProblem::NotObject => "not a JSON object",
        })
    })
}

/// Reads a member that must be a string if present.
fn opt_str<'a>(jwk: &'a Object, name: &str, msg: &'static str) -> Result<Option<&'a str>> {
    match jwk.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Error::JwkInvalid(msg)),
    }
}

/// Reads a required string member.
fn req_str<'a>(jwk: &'a Object, name: &str, msg: &'static str) -> Result<&'a str> {
    opt_str(jwk, name, msg)?.ok_or(Error::JwkInvalid(msg))
}

/// Checks `kty` = `EC` and `crv` = `P-256`, and the optional `alg` / `use` members.
fn check_p256_header(jwk: &Object) -> Result<()> {
    match req_str(jwk, "kty", "kty must be a string")? {
        "EC" => {}
        _ => return Err(Error::JwkUnsupported("kty must be EC")),
    }
    match req_str(jwk, "crv", "crv must be a string")? {
        "P-256" => {}
        _ => return Err(Error::JwkUnsupported("crv must be P-256")),
    }
    if opt_str(jwk, "alg", "alg must be a string")?.is_some_and(|alg| alg != "ES256") {
        return Err(Error::JwkUnsupported("alg of a P-256 key must be ES256"));
    }
    if opt_str(jwk, "use", "use must be a string")?.is_some_and(|u| u != "sig") {
        return Err(Error::JwkUnsupported("use must be sig"));
    }
    Ok(())
}

fn coordinate(jwk: &Object, name: &str) -> Result<[u8; 32]> {
    let (type_msg, len_msg) = if name == "x" {
        (
            "x must be a string",
            "x must be 43 base64url characters (32 octets)",
        )
    } else {
        (
            "y must be a string",
            "y must be 43 base64url characters (32 octets)",
        )
    };
    let text = req_str(jwk, name, type_msg)?;
    base64url::decode_array::<32>(text).map_err(|_| Error::JwkInvalid(len_msg))
}

// ----- public key -----------------------------------------------------------------------

/// A validated P-256 public key in JWK form.
///
/// ```
/// use edge_oauth::jwk::EcPublicJwk;
///
/// let json = r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
///     "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","kid":"k1"}"#;
/// let jwk = EcPublicJwk::parse(json).unwrap();
/// assert_eq!(
///     jwk.to_json(),
///     r#"{"crv":"P-256","kty":"EC","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#
/// );
///
/// let private = json.replace(r#""kid":"k1""#, r#""d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI""#);
/// assert_eq!(EcPublicJwk::parse(&private).unwrap_err().code(), "JWK_PRIVATE_MEMBER");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct EcPublicJwk {
    x: [u8; 32],
    y: [u8; 32],
    /// Absent in the default npm entry (feature `wasm` alone), which never verifies: it
    /// checks the point with [`crate::curve`] instead of p256's arithmetic.
    #[cfg(not(all(feature = "wasm", not(feature = "wasm-p256"))))]
    key: VerifyingKey,
}

impl EcPublicJwk {
    /// Parses a public JWK from JSON text (duplicate members rejected).
    ///
    /// # Errors
    ///
    /// - [`Error::JwkInvalid`] for bad JSON or a missing / mistyped / short member;
    /// - [`Error::JwkPrivateMember`] if `d`, `p`, `q`, `dp`, `dq`, `qi`, `oth` or `k` is
    ///   present (checked first);
    /// - [`Error::JwkUnsupported`] for a `kty` other than `EC`, a `crv` other than
    ///   `P-256`, an `alg` other than `ES256` or a `use` other than `sig`;
    /// - [`Error::JwkKeyInvalid`] if the point is not on P-256.
    ///
    /// ```
    /// use edge_oauth::jwk::EcPublicJwk;
    /// let err = EcPublicJwk::parse(r#"{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}"#).unwrap_err();
    /// assert_eq!(err.code(), "JWK_UNSUPPORTED");
    /// ```
    pub fn parse(json: &str) -> Result<Self> {
        Self::from_map(&parse_jwk_object(json)?.0)
    }

    /// Builds the key from an already parsed JSON value (e.g. a JWS header's `jwk`).
    ///
    /// # Errors
    ///
    /// As [`parse`](Self::parse); [`Error::JwkInvalid`] if `value` is not an object.
    ///
    /// ```
    /// use edge_oauth::jwk::EcPublicJwk;
    /// let v = edge_oauth::json::parse(br#"{"kty":"EC","crv":"P-256",
    ///     "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    ///     "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#).unwrap();
    /// assert!(EcPublicJwk::from_json_value(&v).is_ok());
    /// assert!(EcPublicJwk::from_json_value(&"k".into()).is_err());
    /// ```
    pub fn from_json_value(value: &Value) -> Result<Self> {
        match value {
            Value::Object(map) => Self::from_map(map),
            _ => Err(Error::JwkInvalid("not a JSON object")),
        }
    }

    fn from_map(jwk: &Object) -> Result<Self> {
        if PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(m)) {
            return Err(Error::JwkPrivateMember);
        }
        check_p256_header(jwk)?;
        let x = coordinate(jwk, "x")?;
        let y = coordinate(jwk, "y")?;
        Self::from_coordinates(&x, &y)
    }

    /// Builds the key from its big-endian affine coordinates.
    ///
    /// # Errors
    ///
    /// [`Error::JwkKeyInvalid`] if `(x, y)` is not a point on P-256.
    ///
    /// ```
    /// use edge_oauth::jwk::EcPublicJwk;
    /// assert_eq!(
    ///     EcPublicJwk::from_coordinates(&[1; 32], &[2; 32]).unwrap_err().code(),
    ///     "JWK_KEY_INVALID"
    /// );
    /// ```
    #[cfg(all(feature = "wasm", not(feature = "wasm-p256")))]
    pub fn from_coordinates(x: &[u8; 32], y: &[u8; 32]) -> Result<Self> {
        if crate::curve::is_on_curve(x, y) {
            Ok(EcPublicJwk { x: *x, y: *y })
        } else {
            Err(Error::JwkKeyInvalid)
        }
    }

    /// Builds the key from its big-endian affine coordinates.
    ///
    /// # Errors
    ///
    /// [`Error::JwkKeyInvalid`] if `(x, y)` is not a point on P-256.
    ///
    /// ```
    /// use edge_oauth::jwk::EcPublicJwk;
    /// assert_eq!(
    ///     EcPublicJwk::from_coordinates(&[1; 32], &[2; 32]).unwrap_err().code(),
    ///     "JWK_KEY_INVALID"
    /// );
    /// ```
    #[cfg(not(all(feature = "wasm", not(feature = "wasm-p256"))))]
    pub fn from_coordinates(x: &[u8; 32], y: &[u8; 32]) -> Result<Self> {
        let mut sec1 = [0u8; 65];
        sec1[0] = 0x04;
        sec1[1..33].copy_from_slice(x);
        sec1[33..].copy_from_slice(y);
        let key = VerifyingKey::from_sec1_bytes(&sec1).map_err(|_| Error::JwkKeyInvalid)?;
        Ok(EcPublicJwk { x: *x, y: *y, key })
    }

    /// Wraps a p256 verifying key.
    ///
    /// ```
    /// # use edge_oauth::jwk::EcPublicJwk;
    /// # let jwk = EcPublicJwk::parse(r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#).unwrap();
    /// assert_eq!(EcPublicJwk::from_verifying_key(jwk.verifying_key()), jwk);
    /// ```
    #[must_use]
    pub fn from_verifying_key(key: &VerifyingKey) -> Self {
        let point = key.as_affine();
        EcPublicJwk {
            x: point.x().into(),
            y: point.y().into(),
            #[cfg(not(all(feature = "wasm", not(feature = "wasm-p256"))))]
            key: *key,
        }
    }

    /// The canonical JSON form, members in lexicographic order and nothing else:
    /// `{"crv":"P-256","kty":"EC","x":"...","y":"..."}`. This is also the RFC 7638
    /// thumbprint input.
    ///
    /// ```
    /// # use edge_oauth::jwk::EcPublicJwk;
    /// # let jwk = EcPublicJwk::parse(r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#).unwrap();
    /// assert!(jwk.to_json().starts_with(r#"{"crv":"P-256","kty":"EC","x":"#));
    /// ```
    #[must_use]
    pub fn to_json(&self) -> String {
        ObjectWriter::new()
            .string("crv", "P-256")
            .string("kty", "EC")
            .string("x", &base64url::encode(&self.x))
            .string("y", &base64url::encode(&self.y))
            .finish()
    }

    /// The same members as [`to_json`](Self::to_json), as a JSON value (to embed in a
    /// JWS header).
    ///
    /// ```
    /// # use edge_oauth::jwk::EcPublicJwk;
    /// # let jwk = EcPublicJwk::parse(r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#).unwrap();
    /// assert_eq!(jwk.to_json_value()["kty"], "EC");
    /// ```
    #[must_use]
    pub fn to_json_value(&self) -> Value {
        let mut object = Object::new();
        object.insert("crv", "P-256".into());
        object.insert("kty", "EC".into());
        object.insert("x", base64url::encode(&self.x).into());
        object.insert("y", base64url::encode(&self.y).into());
        Value::Object(object)
    }

    /// The RFC 7638 SHA-256 thumbprint, base64url (the DPoP `jkt`, RFC 9449 §6.1).
    ///
    /// ```
    /// # use edge_oauth::jwk::EcPublicJwk;
    /// # let jwk = EcPublicJwk::parse(r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#).unwrap();
    /// assert_eq!(jwk.thumbprint(), "oKIywvGUpTVTyxMQ3bwIIeQUudfr_CkLMjCE19ECD-U");
    /// ```
    #[must_use]
    pub fn thumbprint(&self) -> String {
        base64url::encode(&Sha256::digest(self.to_json().as_bytes()))
    }

    /// The p256 verifying key.
    ///
    /// ```
    /// # use edge_oauth::jwk::EcPublicJwk;
    /// # let jwk = EcPublicJwk::parse(r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#).unwrap();
    /// assert_eq!(jwk.verifying_key().to_sec1_point(false).as_bytes().len(), 65);
    /// ```
    #[must_use]
    #[cfg(not(all(feature = "wasm", not(feature = "wasm-p256"))))]
    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// The big-endian `x` coordinate.
    ///
    /// ```
    /// # use edge_oauth::jwk::EcPublicJwk;
    /// # let jwk = EcPublicJwk::parse(r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#).unwrap();
    /// assert_eq!(jwk.x()[0], 0x7f);
    /// ```
    #[must_use]
    pub fn x(&self) -> &[u8; 32] {
        &self.x
    }

    /// The big-endian `y` coordinate.
    ///
    /// ```
    /// # use edge_oauth::jwk::EcPublicJwk;
    /// # let jwk = EcPublicJwk::parse(r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#).unwrap();
    /// assert_eq!(jwk.y()[0], 0xc7);
    /// ```
    #[must_use]
    pub fn y(&self) -> &[u8; 32] {
        &self.y
    }
}

impl fmt::Debug for EcPublicJwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EcPublicJwk")
            .field("crv", &"P-256")
            .field("x", &base64url::encode(&self.x))
            .field("y", &base64url::encode(&self.y))
            .finish()
    }
}

// ----- private key ----------------------------------------------------------------------

/// A P-256 private key in JWK form. `Debug` prints `[redacted]` for `d`; the scalar is
/// zeroized on drop (by p256's `SigningKey`). Not `Clone` by accident: use
/// [`to_json`](Self::to_json) and [`parse`](Self::parse) to copy it deliberately.
///
/// ```
/// use edge_oauth::jwk::EcPrivateJwk;
///
/// let key = EcPrivateJwk::parse(r#"{"kty":"EC","crv":"P-256",
///     "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
///     "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
///     "d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}"#).unwrap();
/// assert!(format!("{key:?}").contains("[redacted]"));
/// assert!(!format!("{key:?}").contains("jpsQ"));
/// ```
pub struct EcPrivateJwk {
    signing: SigningKey,
    public: EcPublicJwk,
}

impl ZeroizeOnDrop for EcPrivateJwk {}

impl EcPrivateJwk {
    /// Generates a new key from `rng`.
    ///
    /// ```
    /// use edge_oauth::jwk::EcPrivateJwk;
    /// let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    /// let key = EcPrivateJwk::generate(&mut rng);
    /// assert_eq!(key.public().thumbprint().len(), 43);
    /// ```
    #[must_use]
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        use p256::elliptic_curve::Generate;
        Self::from_signing_key(SigningKey::generate_from_rng(rng))
    }

    /// Parses a private JWK: the public members as for [`EcPublicJwk::parse`] plus `d`
    /// (exactly 32 octets, in `[1, n-1]`), which must match `x` and `y`. RSA private
    /// members are refused; optional members are dropped.
    ///
    /// # Errors
    ///
    /// [`Error::JwkInvalid`] for bad JSON or a missing / mistyped / short member,
    /// [`Error::JwkUnsupported`] for another key type or curve, [`Error::JwkKeyInvalid`]
    /// if `d` is out of range or does not match the public point.
    ///
    /// ```
    /// use edge_oauth::jwk::EcPrivateJwk;
    /// let err = EcPrivateJwk::parse(r#"{"kty":"EC","crv":"P-256",
    ///     "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    ///     "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#).unwrap_err();
    /// assert_eq!(err.to_string(), "invalid JWK: d must be a string");
    /// ```
    pub fn parse(json: &str) -> Result<Self> {
        let members = PrivateJwkMembers::parse(json)?;
        Self::from_members(&members)
    }

    /// The key of members already read by [`PrivateJwkMembers::parse`]: `d` must be in
    /// `[1, n-1]` and `(x, y)` must be its public point (so on the curve).
    ///
    /// # Errors
    ///
    /// [`Error::JwkKeyInvalid`] if `d` is out of range or does not match `x` and `y`.
    ///
    /// ```
    /// use edge_oauth::jwk::{EcPrivateJwk, PrivateJwkMembers};
    /// let json = r#"{"kty":"EC","crv":"P-256",
    ///     "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
    ///     "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
    ///     "d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}"#;
    /// let mut members = PrivateJwkMembers::parse(json).unwrap();
    /// assert!(EcPrivateJwk::from_members(&members).is_ok());
    /// members.y[31] ^= 1;
    /// assert_eq!(EcPrivateJwk::from_members(&members).unwrap_err().code(), "JWK_KEY_INVALID");
    /// ```
    pub fn from_members(members: &PrivateJwkMembers) -> Result<Self> {
        let signing =
            SigningKey::from_slice(members.d.as_ref()).map_err(|_| Error::JwkKeyInvalid)?;
        let key = Self::from_signing_key(signing);
        if key.public.x != members.x || key.public.y != members.y {
            return Err(Error::JwkKeyInvalid);
        }
        Ok(key)
    }

    /// Wraps a p256 signing key.
    ///
    /// ```
    /// # use edge_oauth::jwk::EcPrivateJwk;
    /// # let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    /// let a = EcPrivateJwk::generate(&mut rng);
    /// let b = EcPrivateJwk::from_signing_key(a.signing_key().clone());
    /// assert_eq!(a.public(), b.public());
    /// ```
    #[must_use]
    pub fn from_signing_key(signing: SigningKey) -> Self {
        let public = EcPublicJwk::from_verifying_key(signing.verifying_key());
        EcPrivateJwk { signing, public }
    }

    /// The private JWK as JSON, members in lexicographic order:
    /// `{"crv":"P-256","d":"...","kty":"EC","x":"...","y":"..."}`. The returned string
    /// is zeroized when dropped.
    ///
    /// ```
    /// # use edge_oauth::jwk::EcPrivateJwk;
    /// # let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    /// let key = EcPrivateJwk::generate(&mut rng);
    /// let again = EcPrivateJwk::parse(&key.to_json()).unwrap();
    /// assert_eq!(key.public(), again.public());
    /// ```
    #[must_use]
    pub fn to_json(&self) -> Zeroizing<String> {
        let d = Zeroizing::new(self.signing.to_bytes());
        let d64 = Zeroizing::new(base64url::encode(d.as_slice()));
        // Sized up front so the secret is never left behind in a reallocated buffer.
        let mut out = Zeroizing::new(String::with_capacity(192));
        out.push_str(r#"{"crv":"P-256","d":""#);
        out.push_str(&d64);
        out.push_str(r#"","kty":"EC","x":""#);
        out.push_str(&base64url::encode(&self.public.x));
        out.push_str(r#"","y":""#);
        out.push_str(&base64url::encode(&self.public.y));
        out.push_str(r#""}"#);
        out
    }

    /// The public half.
    ///
    /// ```
    /// # use edge_oauth::jwk::EcPrivateJwk;
    /// # let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    /// let key = EcPrivateJwk::generate(&mut rng);
    /// assert!(!key.public().to_json().contains("\"d\""));
    /// ```
    #[must_use]
    pub fn public(&self) -> &EcPublicJwk {
        &self.public
    }

    /// The p256 signing key.
    ///
    /// ```
    /// # use edge_oauth::jwk::EcPrivateJwk;
    /// # let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    /// let key = EcPrivateJwk::generate(&mut rng);
    /// let sig = edge_oauth::jws::sign_es256_raw(b"m", key.signing_key()).unwrap();
    /// assert!(edge_oauth::jws::verify_es256(b"m", &sig, key.public().verifying_key()).is_ok());
    /// ```
    #[must_use]
    pub fn signing_key(&self) -> &SigningKey {
        &self.signing
    }
}

/// The members of a private P-256 JWK, decoded and checked as far as that is possible
/// without P-256 arithmetic: everything [`EcPrivateJwk::parse`] checks except that `d` is
/// in range and matches `x` and `y` ([`EcPrivateJwk::from_members`]). The default npm
/// entry reads a private JWK with it and `edge-oauth/p256` checks the key. `d` is zeroized
/// on drop.
///
/// ```
/// use edge_oauth::jwk::PrivateJwkMembers;
/// let err = PrivateJwkMembers::parse(r#"{"kty":"EC","crv":"P-256",
///     "x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
///     "y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#).unwrap_err();
/// assert_eq!(err.to_string(), "invalid JWK: d must be a string");
/// ```
pub struct PrivateJwkMembers {
    /// The private scalar, big-endian (not yet checked to be in range).
    pub d: Zeroizing<[u8; 32]>,
    /// The big-endian `x` coordinate.
    pub x: [u8; 32],
    /// The big-endian `y` coordinate.
    pub y: [u8; 32],
}

impl PrivateJwkMembers {
    /// Parses a private JWK's JSON text: `kty` `EC`, `crv` `P-256`, `alg` (if present)
    /// `ES256`, `use` (if present) `sig`, no RSA or symmetric private member, and `x`, `y`,
    /// `d` exactly 32 octets each (43 base64url characters).
    ///
    /// # Errors
    ///
    /// [`Error::JwkInvalid`] for bad JSON or a missing / mistyped / short member,
    /// [`Error::JwkUnsupported`] for another key type, curve, `alg` or `use`.
    ///
    /// ```
    /// use edge_oauth::jwk::PrivateJwkMembers;
    /// let err = PrivateJwkMembers::parse(r#"{"kty":"RSA"}"#).unwrap_err();
    /// assert_eq!(err.code(), "JWK_UNSUPPORTED");
    /// ```
    pub fn parse(json: &str) -> Result<Self> {
        let jwk = parse_jwk_object(json)?;
        if ["p", "q", "dp", "dq", "qi", "oth", "k"]
            .iter()
            .any(|m| jwk.contains_key(m))
        {
            return Err(Error::JwkInvalid(
                "an EC key has no p, q, dp, dq, qi, oth or k",
            ));
        }
        check_p256_header(&jwk)?;
        let x = coordinate(&jwk, "x")?;
        let y = coordinate(&jwk, "y")?;
        let d_text = req_str(&jwk, "d", "d must be a string")?;
        let d = Zeroizing::new(
            base64url::decode_array::<32>(d_text)
                .map_err(|_| Error::JwkInvalid("d must be 43 base64url characters (32 octets)"))?,
        );
        Ok(PrivateJwkMembers { d, x, y })
    }
}

impl fmt::Debug for PrivateJwkMembers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateJwkMembers")
            .field("x", &base64url::encode(&self.x))
            .field("y", &base64url::encode(&self.y))
            .field("d", &"[redacted]")
            .finish()
    }
}

impl fmt::Debug for EcPrivateJwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EcPrivateJwk")
            .field("public", &self.public)
            .field("d", &"[redacted]")
            .finish()
    }
}

// ----- thumbprints ----------------------------------------------------------------------

/// The RFC 7638 SHA-256 thumbprint (base64url) of a JWK given as JSON text.
///
/// Only the required members enter the hash, in lexicographic order: `crv,kty,x,y` for
/// `EC`, `e,kty,n` for `RSA`, `crv,kty,x` for `OKP` (RFC 8037 §2). Private and optional
/// members are ignored, so a private key has the same thumbprint as its public key
/// (RFC 7638 §3.2.1). Member values are validated: EC coordinates must be full length
/// for `P-256`, `P-384` and `P-521` (and a P-256 point must be on the curve), OKP `x`
/// the right length for its curve, RSA `n` and `e` non-empty base64url without leading
/// zero octets.
///
/// # Errors
///
/// [`Error::JwkInvalid`] for bad JSON or a missing / malformed member,
/// [`Error::JwkUnsupported`] for another `kty` (e.g. `oct`) or curve,
/// [`Error::JwkKeyInvalid`] for a P-256 point not on the curve.
///
/// ```
/// use edge_oauth::jwk::thumbprint;
///
/// // RFC 8037 Appendix A.3.
/// let okp = r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
/// assert_eq!(thumbprint(okp).unwrap(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
/// assert_eq!(thumbprint(r#"{"kty":"oct","k":"AA"}"#).unwrap_err().code(), "JWK_UNSUPPORTED");
/// ```
pub fn thumbprint(jwk_json: &str) -> Result<String> {
    let jwk = parse_jwk_object(jwk_json)?;
    let canonical = match req_str(&jwk, "kty", "kty must be a string")? {
        "EC" => {
            let crv = req_str(&jwk, "crv", "crv must be a string")?;
            let x = req_str(&jwk, "x", "x must be a string")?;
            let y = req_str(&jwk, "y", "y must be a string")?;
            let (crv, len) = match crv {
                "P-256" => ("P-256", 32),
                "P-384" => ("P-384", 48),
                "P-521" => ("P-521", 66),
                _ => return Err(Error::JwkUnsupported("crv must be P-256, P-384 or P-521")),
            };
            check_b64_len(x, len, "x must be a full-length base64url coordinate")?;
            check_b64_len(y, len, "y must be a full-length base64url coordinate")?;
            if crv == "P-256" {
                let x = coordinate(&jwk, "x")?;
                let y = coordinate(&jwk, "y")?;
                EcPublicJwk::from_coordinates(&x, &y)?;
            }
            ObjectWriter::new()
                .string("crv", crv)
                .string("kty", "EC")
                .string("x", x)
                .string("y", y)
                .finish()
        }
        "RSA" => {
            let e = req_str(&jwk, "e", "e must be a string")?;
            let n = req_str(&jwk, "n", "n must be a string")?;
            check_unsigned(e, "e must be base64url without leading zero octets")?;
            check_unsigned(n, "n must be base64url without leading zero octets")?;
            ObjectWriter::new()
                .string("e", e)
                .string("kty", "RSA")
                .string("n", n)
                .finish()
        }
        "OKP" => {
            let crv = req_str(&jwk, "crv", "crv must be a string")?;
            let x = req_str(&jwk, "x", "x must be a string")?;
            let (crv, len) = match crv {
                "Ed25519" => ("Ed25519", 32),
                "X25519" => ("X25519", 32),
                "Ed448" => ("Ed448", 57),
                "X448" => ("X448", 56),
                _ => {
                    return Err(Error::JwkUnsupported(
                        "crv must be Ed25519, X25519, Ed448 or X448",
                    ));
                }
            };
            check_b64_len(x, len, "x must be a full-length base64url key")?;
            ObjectWriter::new()
                .string("crv", crv)
                .string("kty", "OKP")
                .string("x", x)
                .finish()
        }
        _ => return Err(Error::JwkUnsupported("kty must be EC, RSA or OKP")),
    };
    Ok(base64url::encode(&Sha256::digest(canonical.as_bytes())))
}

fn check_b64_len(value: &str, len: usize, msg: &'static str) -> Result<()> {
    match base64url::decode(value) {
        Ok(bytes) if bytes.len() == len => Ok(()),
        _ => Err(Error::JwkInvalid(msg)),
    }
}

/// RFC 7518 §6.3.1: `n` and `e` are unsigned big-endian integers in the minimum number
/// of octets (a single zero octet for zero).
fn check_unsigned(value: &str, msg: &'static str) -> Result<()> {
    match base64url::decode(value) {
        Ok(bytes) if !bytes.is_empty() && (bytes.len() == 1 || bytes.first() != Some(&0)) => Ok(()),
        _ => Err(Error::JwkInvalid(msg)),
    }
}
