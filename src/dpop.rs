//! DPoP: proof creation (client) and proof verification (server) per RFC 9449.
//!
//! Client side: a [`DpopKey`] (P-256) signs a fresh proof per request with
//! [`DpopKey::create_proof`]; [`proof_signing_input`] is the sans-IO variant for a key
//! that lives elsewhere (WebCrypto). Server side: [`verify_proof`] runs every check of
//! RFC 9449 §4.3 and fails with a distinct [`Error`] variant per check, and
//! [`Error::dpop_wire_error`] turns that into `invalid_dpop_proof` / `use_dpop_nonce` /
//! `invalid_token`.
//!
//! ```
//! use edge_oauth::dpop::{verify_proof, DpopKey, ProofOptions, VerifyPolicy};
//!
//! let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
//! let key = DpopKey::generate(&mut rng);
//! let proof = key
//!     .create_proof(&ProofOptions::new("POST", "https://as.example/oauth/token", 1_700_000_000), &mut rng)
//!     .unwrap();
//!
//! let verified = verify_proof(
//!     &proof,
//!     &VerifyPolicy::new("POST", "https://as.example/oauth/token", 1_700_000_002),
//! )
//! .unwrap();
//! assert_eq!(verified.jkt, key.thumbprint());
//! // The server records `verified.jti` (keyed by jkt) for the acceptance window.
//! ```
//!
//! # Verifier choices
//!
//! Where RFC 9449 leaves a choice, this verifier is strict:
//!
//! - **Algorithms**: only `ES256` can pass, and only if the policy allows it. `none` and
//!   HS* are never accepted, whatever the policy says. A `jwk` whose key type or curve
//!   cannot be used with `ES256` (e.g. `crv: P-384`) fails check 5
//!   ([`Error::DpopAlgNotAllowed`]).
//! - **`typ`** must be exactly `dpop+jwt`: `application/dpop+jwt` and `DPOP+JWT` are
//!   refused ([`Error::DpopTypInvalid`]). RFC 9449 §4.3 and §11.5 name the literal value.
//! - **Duplicate members** in the header, the payload or the `jwk` are refused
//!   ([`Error::DpopMalformed`]), so no two parsers can disagree on which value counts.
//! - **`htu`** in a proof must not carry a query or fragment (§4.2 defines it without
//!   them): such a proof fails check 9 ([`Error::DpopHtuMismatch`]). The request URI's
//!   query and fragment are ignored. Both sides are compared after RFC 3986 §6.2.2
//!   syntax-based and §6.2.3 scheme-based normalisation ([`normalize_htu`]); a URI with
//!   userinfo is refused.
//! - **`jti`** must be a non-empty string of at most [`MAX_JTI_LEN`] octets (§11.1: reject
//!   "unnecessarily large jti values"). Replay tracking is the caller's job: store
//!   [`VerifiedProof::jti`] keyed by the `jkt` for the acceptance window and answer
//!   [`Error::DpopJtiReplayed`] for a repeat.
//! - **`iat`** must be a JSON number; a non-integer NumericDate (RFC 7519 §2 allows it) is
//!   accepted and rounded down. The window is `[now - max_age, now + max_future]`,
//!   60 s / 5 s by default.
//! - **`nonce`** present but not a string fails as a malformed claim
//!   ([`Error::DpopClaimInvalid`], wire `invalid_dpop_proof`); a missing or different
//!   nonce when one is required gives `use_dpop_nonce`.
//! - **`ath`** is checked only when the policy carries an access token (a resource
//!   request); at the token endpoint it is ignored like any other extra claim.
//! - The `DPoP` header value must be one compact JWS: a comma- or whitespace-separated
//!   list of JWS-looking values is [`Error::DpopMultipleHeaders`]; anything else that is
//!   not compact JWS characters (e.g. the JSON serialization) is [`Error::DpopMalformed`].
//!   Proofs longer than [`MAX_PROOF_LEN`] are refused unparsed.

use alloc::string::{String, ToString};

use rand_core::CryptoRng;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::base64url;
use crate::error::{Error, Result};
use crate::json::{Object, ObjectWriter, Value};
use crate::jwk::{EcPrivateJwk, EcPublicJwk};
use crate::jws::{self, Algorithm, JsonProblem, SigningInput, parse_object};

/// The JOSE `typ` of a DPoP proof (RFC 9449 §4.2).
///
/// ```
/// assert_eq!(edge_oauth::dpop::TYP, "dpop+jwt");
/// ```
pub const TYP: &str = "dpop+jwt";
/// The longest `jti` the verifier accepts, in octets.
///
/// ```
/// assert_eq!(edge_oauth::dpop::MAX_JTI_LEN, 256);
/// ```
pub const MAX_JTI_LEN: usize = 256;
/// The longest `DPoP` header value the verifier parses, in octets.
///
/// ```
/// use edge_oauth::dpop::{verify_proof, VerifyPolicy, MAX_PROOF_LEN};
/// let huge = "a".repeat(MAX_PROOF_LEN + 1);
/// let policy = VerifyPolicy::new("POST", "https://as.example/token", 0);
/// assert_eq!(verify_proof(&huge, &policy).unwrap_err().code(), "DPOP_MALFORMED");
/// ```
pub const MAX_PROOF_LEN: usize = 16 * 1024;
/// Random octets in a generated `jti` (128 bits; RFC 9449 §4.2 asks for at least 96).
const JTI_OCTETS: usize = 16;

// ----- keys -----------------------------------------------------------------------------

/// A DPoP key pair (P-256, ES256). `Debug` prints only the public half; the private
/// scalar is zeroized on drop.
///
/// ```
/// use edge_oauth::dpop::DpopKey;
///
/// let key = DpopKey::from_private_jwk_json(r#"{"kty":"EC","crv":"P-256",
///     "x":"XcWe07sHAnFNOpsotxeg3Vlm5-eHyQr_wes4t1HK-_U",
///     "y":"3Gv8zr_Q8IeEyw7OFr9bfQjCSvONJgzmyJlbvFZO80k",
///     "d":"ecphCvUxFH0Ay874QennDfSNd357LCA9QVdDenqL9vM"}"#).unwrap();
/// assert_eq!(key.thumbprint(), "VIqXp_dbQ5G9BGpq6Gi9cYH2ZiAmVtMTo-MUc4zEGGo");
/// assert!(format!("{key:?}").contains("[redacted]"));
/// ```
pub struct DpopKey {
    key: EcPrivateJwk,
}

impl DpopKey {
    /// Generates a fresh key pair from `rng`.
    ///
    /// ```
    /// # use edge_oauth::dpop::DpopKey;
    /// let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    /// let a = DpopKey::generate(&mut rng);
    /// let b = DpopKey::generate(&mut rng);
    /// assert_ne!(a.thumbprint(), b.thumbprint());
    /// ```
    #[must_use]
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        DpopKey {
            key: EcPrivateJwk::generate(rng),
        }
    }

    /// Uses the key of a private JWK.
    ///
    /// ```
    /// # use edge_oauth::{dpop::DpopKey, jwk::EcPrivateJwk};
    /// # let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    /// let jwk = EcPrivateJwk::generate(&mut rng);
    /// assert_eq!(DpopKey::from_jwk(&jwk).public_jwk(), jwk.public());
    /// ```
    #[must_use]
    pub fn from_jwk(jwk: &EcPrivateJwk) -> Self {
        DpopKey {
            key: EcPrivateJwk::from_signing_key(jwk.signing_key().clone()),
        }
    }

    /// Parses a private P-256 JWK (see [`EcPrivateJwk::parse`]).
    ///
    /// # Errors
    ///
    /// As [`EcPrivateJwk::parse`]: [`Error::JwkInvalid`], [`Error::JwkUnsupported`],
    /// [`Error::JwkKeyInvalid`].
    ///
    /// ```
    /// # use edge_oauth::dpop::DpopKey;
    /// let err = DpopKey::from_private_jwk_json(r#"{"kty":"RSA"}"#).unwrap_err();
    /// assert_eq!(err.code(), "JWK_UNSUPPORTED");
    /// ```
    pub fn from_private_jwk_json(json: &str) -> Result<Self> {
        Ok(DpopKey {
            key: EcPrivateJwk::parse(json)?,
        })
    }

    /// The public key, as it appears in the proofs' `jwk` header.
    ///
    /// ```
    /// # use edge_oauth::dpop::DpopKey;
    /// # let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    /// let key = DpopKey::generate(&mut rng);
    /// assert!(key.public_jwk().to_json().starts_with(r#"{"crv":"P-256","kty":"EC""#));
    /// ```
    #[must_use]
    pub fn public_jwk(&self) -> &EcPublicJwk {
        self.key.public()
    }

    /// The RFC 7638 thumbprint of the public key: the `jkt` / `dpop_jkt` value.
    ///
    /// ```
    /// # use edge_oauth::dpop::DpopKey;
    /// # let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    /// let key = DpopKey::generate(&mut rng);
    /// assert_eq!(key.thumbprint(), key.public_jwk().thumbprint());
    /// ```
    #[must_use]
    pub fn thumbprint(&self) -> String {
        self.key.public().thumbprint()
    }

    /// A copy of the private key as a JWK (to persist it, e.g. in IndexedDB).
    ///
    /// ```
    /// # use edge_oauth::dpop::DpopKey;
    /// # let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    /// let key = DpopKey::generate(&mut rng);
    /// let json = key.to_private_jwk().to_json();
    /// assert_eq!(DpopKey::from_private_jwk_json(&json).unwrap().thumbprint(), key.thumbprint());
    /// ```
    #[must_use]
    pub fn to_private_jwk(&self) -> EcPrivateJwk {
        EcPrivateJwk::from_signing_key(self.key.signing_key().clone())
    }

    /// Creates and signs a proof (ES256, deterministic RFC 6979 signature). `rng` is used
    /// only for the `jti` when [`ProofOptions::jti`] is `None`.
    ///
    /// # Errors
    ///
    /// As [`proof_signing_input`]: [`Error::ArgumentInvalid`] for a bad `htm`, `jti`,
    /// `nonce` or `access_token`, [`Error::UrlInvalid`] for a bad `htu`.
    ///
    /// ```
    /// use edge_oauth::dpop::{DpopKey, ProofOptions};
    ///
    /// let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    /// let key = DpopKey::generate(&mut rng);
    /// let options = ProofOptions {
    ///     nonce: Some("eyJ7S_zG.eyJH0-Z.HX4w-7v"),
    ///     access_token: Some("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
    ///     ..ProofOptions::new("GET", "https://resource.example.org/protectedresource?x=1", 1_562_262_618)
    /// };
    /// let proof = key.create_proof(&options, &mut rng).unwrap();
    /// assert_eq!(proof.split('.').count(), 3);
    /// ```
    pub fn create_proof<R: CryptoRng + ?Sized>(
        &self,
        options: &ProofOptions<'_>,
        rng: &mut R,
    ) -> Result<String> {
        proof_signing_input(self.key.public(), options, rng)?.sign_es256(self.key.signing_key())
    }
}

impl core::fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DpopKey")
            .field("public_jwk", self.key.public())
            .field("private", &"[redacted]")
            .finish()
    }
}

// ----- proof creation -------------------------------------------------------------------

/// What goes into a proof (RFC 9449 §4.2).
///
/// ```
/// use edge_oauth::dpop::ProofOptions;
///
/// let options = ProofOptions { jti: Some("my-jti-0001"), ..ProofOptions::new("POST", "https://as.example/token", 0) };
/// assert_eq!(options.htm, "POST");
/// assert_eq!(options.nonce, None);
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ProofOptions<'a> {
    /// The HTTP method of the request, exactly (`POST`, `GET`...).
    pub htm: &'a str,
    /// The request URI; its query and fragment are dropped and it is normalised.
    pub htu: &'a str,
    /// Creation time, NumericDate seconds (the caller's clock, corrected for skew).
    pub iat: i64,
    /// A caller-chosen `jti`; `None` (the default) generates 128 random bits.
    pub jti: Option<&'a str>,
    /// The last `DPoP-Nonce` received from this server, if any.
    pub nonce: Option<&'a str>,
    /// The access token sent with this request (resource requests only): adds `ath`.
    pub access_token: Option<&'a str>,
}

/// `access_token` prints as `[redacted]`: it is a bearer secret.
///
/// ```
/// # use edge_oauth::dpop::ProofOptions;
/// let o = ProofOptions { access_token: Some("secret-at"), ..ProofOptions::new("GET", "https://rs.example/", 0) };
/// assert!(!format!("{o:?}").contains("secret-at"));
/// ```
impl core::fmt::Debug for ProofOptions<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ProofOptions")
            .field("htm", &self.htm)
            .field("htu", &self.htu)
            .field("iat", &self.iat)
            .field("jti", &self.jti)
            .field("nonce", &self.nonce)
            .field("access_token", &self.access_token.map(|_| "[redacted]"))
            .finish()
    }
}

impl<'a> ProofOptions<'a> {
    /// Options with the three required values and no `jti`, `nonce` or `access_token`.
    ///
    /// ```
    /// # use edge_oauth::dpop::ProofOptions;
    /// let o = ProofOptions::new("POST", "https://as.example/token", 1_700_000_000);
    /// assert_eq!(o.iat, 1_700_000_000);
    /// ```
    #[must_use]
    pub const fn new(htm: &'a str, htu: &'a str, iat: i64) -> Self {
        ProofOptions {
            htm,
            htu,
            iat,
            jti: None,
            nonce: None,
            access_token: None,
        }
    }
}

/// `tchar` (RFC 9110 §5.6.2): an HTTP method is a `token`.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `NQCHAR = %x21 / %x23-5B / %x5D-7E` (RFC 9449 §8.1).
fn is_nqchar(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x5b | 0x5d..=0x7e)
}

/// Builds the signing input of a proof for `public`, for signing outside the core (e.g.
/// with a non-extractable WebCrypto key). Header: `typ` `dpop+jwt`, `alg` `ES256`, and
/// `jwk` with only `kty`, `crv`, `x`, `y`. Payload: `jti`, `htm`, `htu` (normalised,
/// without query and fragment), `iat`, plus `nonce` and `ath` when given.
///
/// # Errors
///
/// - [`Error::ArgumentInvalid`] if `htm` is not an HTTP method token, `jti` is empty or
///   longer than [`MAX_JTI_LEN`], `nonce` is not `1*NQCHAR`, or `access_token` is empty;
/// - [`Error::UrlInvalid`] if `htu` is not an absolute http(s) URI ([`normalize_htu`]).
///
/// ```
/// use edge_oauth::dpop::{proof_signing_input, verify_proof, DpopKey, ProofOptions, VerifyPolicy};
///
/// let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
/// let key = DpopKey::generate(&mut rng);
/// let input = proof_signing_input(
///     key.public_jwk(),
///     &ProofOptions::new("POST", "https://as.example/token", 100),
///     &mut rng,
/// )
/// .unwrap();
/// // ... sign input.as_str() with WebCrypto (ECDSA P-256 SHA-256, raw r||s) ...
/// # let signature = edge_oauth::jws::sign_es256_raw(
/// #     input.as_str().as_bytes(), key.to_private_jwk().signing_key()).unwrap();
/// let proof = input.finish(&signature).unwrap();
/// assert!(verify_proof(&proof, &VerifyPolicy::new("POST", "https://as.example/token", 100)).is_ok());
/// ```
pub fn proof_signing_input<R: CryptoRng + ?Sized>(
    public: &EcPublicJwk,
    options: &ProofOptions<'_>,
    rng: &mut R,
) -> Result<SigningInput> {
    ProofHeader::new(public).signing_input(options, rng)
}

/// The protected header of every proof of one key, `{"alg":"ES256","jwk":{...},
/// "typ":"dpop+jwt"}`, base64url-encoded once: a key that signs many proofs (the JS
/// layer's WebCrypto keys) keeps it and encodes only the claims per proof.
///
/// ```
/// use edge_oauth::dpop::{proof_signing_input, ProofHeader, ProofOptions};
/// use edge_oauth::jwk::EcPublicJwk;
///
/// let jwk = EcPublicJwk::parse(r#"{"kty":"EC","crv":"P-256","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"}"#).unwrap();
/// let options = ProofOptions { jti: Some("j-1"), ..ProofOptions::new("GET", "https://rs.example/", 1) };
/// let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
/// let header = ProofHeader::new(&jwk);
/// assert_eq!(
///     header.signing_input(&options, &mut rng).unwrap().as_str(),
///     proof_signing_input(&jwk, &options, &mut rng).unwrap().as_str()
/// );
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofHeader {
    encoded: String,
}

impl ProofHeader {
    /// The header for `public` (members in lexicographic order; `jwk` with only `crv`,
    /// `kty`, `x`, `y`).
    ///
    /// ```
    /// # use edge_oauth::{dpop::ProofHeader, jwk::EcPublicJwk};
    /// # let jwk = EcPublicJwk::parse(r#"{"kty":"EC","crv":"P-256","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"}"#).unwrap();
    /// assert!(ProofHeader::new(&jwk).encoded().starts_with("eyJhbGciOiJFUzI1NiIsImp3ayI6"));
    /// ```
    #[must_use]
    pub fn new(public: &EcPublicJwk) -> Self {
        let header = ObjectWriter::new()
            .string("alg", Algorithm::Es256.as_str())
            .raw("jwk", &public.to_json())
            .string("typ", TYP)
            .finish();
        ProofHeader {
            encoded: base64url::encode(header.as_bytes()),
        }
    }

    /// `BASE64URL(header)`, the first segment of every proof of the key.
    ///
    /// ```
    /// # use edge_oauth::{dpop::ProofHeader, jwk::EcPublicJwk};
    /// # let jwk = EcPublicJwk::parse(r#"{"kty":"EC","crv":"P-256","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"}"#).unwrap();
    /// assert!(!ProofHeader::new(&jwk).encoded().contains('='));
    /// ```
    #[must_use]
    pub fn encoded(&self) -> &str {
        &self.encoded
    }

    /// The signing input of one proof with this header: as [`proof_signing_input`].
    ///
    /// # Errors
    ///
    /// As [`proof_signing_input`].
    ///
    /// ```
    /// # use edge_oauth::{dpop::{ProofHeader, ProofOptions}, jwk::EcPublicJwk};
    /// # let jwk = EcPublicJwk::parse(r#"{"kty":"EC","crv":"P-256","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA"}"#).unwrap();
    /// let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    /// let err = ProofHeader::new(&jwk).signing_input(&ProofOptions::new("G ET", "https://rs.example/", 1), &mut rng);
    /// assert_eq!(err.unwrap_err().code(), "ARGUMENT_INVALID");
    /// ```
    pub fn signing_input<R: CryptoRng + ?Sized>(
        &self,
        options: &ProofOptions<'_>,
        rng: &mut R,
    ) -> Result<SigningInput> {
        proof_signing_input_with(&self.encoded, options, rng)
    }
}

fn proof_signing_input_with<R: CryptoRng + ?Sized>(
    encoded_header: &str,
    options: &ProofOptions<'_>,
    rng: &mut R,
) -> Result<SigningInput> {
    if options.htm.is_empty() || !options.htm.bytes().all(is_tchar) {
        return Err(Error::ArgumentInvalid("htm must be an HTTP method"));
    }
    let htu = normalize_htu(options.htu)?;
    let jti = match options.jti {
        Some("") => {
            return Err(Error::ArgumentInvalid("jti must not be empty"));
        }
        Some(jti) if jti.len() > MAX_JTI_LEN => {
            return Err(Error::ArgumentInvalid("jti must be at most 256 octets"));
        }
        Some(jti) => jti.to_string(),
        None => {
            let mut octets = [0u8; JTI_OCTETS];
            rng.fill_bytes(&mut octets);
            base64url::encode(&octets)
        }
    };

    if let Some(nonce) = options.nonce
        && (nonce.is_empty() || !nonce.bytes().all(is_nqchar))
    {
        return Err(Error::ArgumentInvalid(
            "nonce must be 1*NQCHAR (printable ASCII without \" and \\)",
        ));
    }
    if options.access_token == Some("") {
        return Err(Error::ArgumentInvalid("access_token must not be empty"));
    }

    // Members in lexicographic order, as in the header.
    let mut claims = ObjectWriter::new();
    if let Some(token) = options.access_token {
        claims = claims.string("ath", &ath(token));
    }
    claims = claims
        .string("htm", options.htm)
        .string("htu", &htu)
        .int("iat", options.iat)
        .string("jti", &jti);
    if let Some(nonce) = options.nonce {
        claims = claims.string("nonce", nonce);
    }
    Ok(SigningInput::from_encoded_header(
        Algorithm::Es256,
        encoded_header,
        claims.finish().as_bytes(),
    ))
}

/// The `ath` claim for an access token: `BASE64URL(SHA-256(ASCII(token)))` (RFC 9449
/// §4.2).
///
/// ```
/// // RFC 9449 §7.1.
/// assert_eq!(
///     edge_oauth::dpop::ath("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
///     "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
/// );
/// ```
#[must_use]
pub fn ath(access_token: &str) -> String {
    base64url::encode(&Sha256::digest(access_token.as_bytes()))
}

// ----- htu normalisation ----------------------------------------------------------------
//
// Hand-written: the `url` crate needs std and implements WHATWG URL, which neither decodes
// percent-encoded unreserved characters nor rejects userinfo; RFC 9449 §4.3 asks for the
// RFC 3986 §6.2.2 / §6.2.3 normalisations, which are small enough to do here.

/// `unreserved` (RFC 3986 §2.3).
fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// `sub-delims` (RFC 3986 §2.2).
fn is_sub_delim(b: u8) -> bool {
    b"!$&'()*+,;=".contains(&b)
}

/// Any character that may appear in a URI (RFC 3986 §2).
fn is_uri_char(b: u8) -> bool {
    is_unreserved(b) || is_sub_delim(b) || b":/?#[]@%".contains(&b)
}

/// §6.2.2.1 / §6.2.2.2: decodes escapes of unreserved characters, upper-cases the hex
/// digits of the others (never decoding twice), and optionally lower-cases the rest.
/// `allowed` says which literal characters the component may contain.
fn normalize_percent(
    input: &str,
    lowercase: bool,
    allowed: fn(u8) -> bool,
) -> core::result::Result<String, &'static str> {
    use crate::hex::UPPER as HEX;
    let mut out = String::with_capacity(input.len());
    let mut bytes = input.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let (Some(hi), Some(lo)) = (
                bytes.next().and_then(crate::hex::value),
                bytes.next().and_then(crate::hex::value),
            ) else {
                return Err("malformed percent-escape");
            };
            let value = (hi << 4) | lo;
            if is_unreserved(value) {
                let c = if lowercase {
                    value.to_ascii_lowercase()
                } else {
                    value
                };
                out.push(char::from(c));
            } else {
                // `hi` and `lo` are below 16 (from `crate::hex::value`).
                out.push('%');
                out.push(char::from(HEX[usize::from(hi)]));
                out.push(char::from(HEX[usize::from(lo)]));
            }
        } else if allowed(b) {
            let c = if lowercase { b.to_ascii_lowercase() } else { b };
            out.push(char::from(c));
        } else {
            return Err("a character is not allowed in this part of the URI");
        }
    }
    Ok(out)
}

/// `reg-name` characters other than pct-encoded (RFC 3986 §3.2.2).
fn is_reg_name_char(b: u8) -> bool {
    is_unreserved(b) || is_sub_delim(b)
}

/// `path-abempty` characters other than pct-encoded: `pchar` and `/` (RFC 3986 §3.3).
fn is_path_char(b: u8) -> bool {
    is_unreserved(b) || is_sub_delim(b) || matches!(b, b':' | b'@' | b'/')
}

/// `remove_dot_segments` (RFC 3986 §5.2.4), for a path that is empty or starts with `/`.
fn remove_dot_segments(mut input: &str) -> String {
    fn pop_segment(output: &mut String) {
        match output.rfind('/') {
            Some(i) => output.truncate(i),
            None => output.clear(),
        }
    }
    let mut output = String::with_capacity(input.len());
    while !input.is_empty() {
        if let Some(rest) = input.strip_prefix("../") {
            input = rest;
        } else if let Some(rest) = input.strip_prefix("./") {
            input = rest;
        } else if input.starts_with("/./") {
            input = input.get(2..).unwrap_or("");
        } else if input == "/." {
            input = "/";
        } else if input.starts_with("/../") {
            input = input.get(3..).unwrap_or("");
            pop_segment(&mut output);
        } else if input == "/.." {
            input = "/";
            pop_segment(&mut output);
        } else if input == "." || input == ".." {
            input = "";
        } else {
            let skip = usize::from(input.starts_with('/'));
            let end = input
                .get(skip..)
                .and_then(|rest| rest.find('/'))
                .map_or(input.len(), |i| i + skip);
            // `end` is at a '/' or the end: a character boundary (split without a panic path).
            let (segment, rest) = input.split_at_checked(end).unwrap_or((input, ""));
            output.push_str(segment);
            input = rest;
        }
    }
    output
}

/// Normalises an absolute http(s) URI and strips its query and fragment. Returns the
/// normalised URI and whether a query or fragment was present.
///
/// Only the scheme, authority and path are checked: `htu` never carries the query or
/// fragment, and request URLs have whatever `fetch` accepts there (`?q=a b`,
/// `?filter={"a":1}`).
fn normalize_uri(uri: &str) -> core::result::Result<(String, bool), &'static str> {
    if uri.is_empty() {
        return Err("must not be empty");
    }
    let (before_fragment, fragment) = match uri.split_once('#') {
        Some((a, f)) => (a, Some(f)),
        None => (uri, None),
    };
    let (rest, query) = match before_fragment.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (before_fragment, None),
    };
    let had_extra = query.is_some() || fragment.is_some();
    if !rest.is_ascii() {
        // WHATWG URL would percent-encode a non-ASCII path and punycode a host; here that
        // is the caller's job, so that the proof's htu is exactly what the server sees.
        return Err(
            "contains a non-ASCII character before the query: percent-encode the path as UTF-8 and give the host in punycode (new URL(url).href does both)",
        );
    }
    if !rest.bytes().all(is_uri_char) {
        return Err("contains a character that is not allowed in a URI");
    }

    // §6.2.2.1: the scheme is case-insensitive; only http and https make sense for htu.
    let (scheme, hier) = rest
        .split_once(':')
        .ok_or("must be an absolute URI (scheme://host/path)")?;
    let scheme = if scheme.eq_ignore_ascii_case("https") {
        "https"
    } else if scheme.eq_ignore_ascii_case("http") {
        "http"
    } else {
        return Err("the scheme must be http or https");
    };
    let after_slashes = hier
        .strip_prefix("//")
        .ok_or("must have an authority (scheme://host)")?;
    let (authority, path) = match after_slashes.find('/') {
        Some(i) => after_slashes
            .split_at_checked(i)
            .unwrap_or((after_slashes, "")),
        None => (after_slashes, ""),
    };
    if authority.contains('@') {
        return Err("userinfo is not allowed");
    }

    // host [ ":" port ]
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']').ok_or("malformed IP literal")?;
        let (literal, after) = authority
            .split_at_checked(end + 1)
            .ok_or("malformed IP literal")?;
        let inner = literal
            .get(1..literal.len() - 1)
            .ok_or("malformed IP literal")?;
        if inner.is_empty()
            || !inner
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return Err("malformed IP literal");
        }
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':').ok_or("malformed authority")?),
        };
        (literal.to_ascii_lowercase(), port)
    } else {
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        };
        let host = normalize_percent(host, true, is_reg_name_char)?;
        (host, port)
    };
    if host.is_empty() {
        return Err("the host must not be empty");
    }

    // §6.2.3: an empty port and the scheme's default port are omitted.
    let default_port = if scheme == "https" { 443 } else { 80 };
    let port = match port {
        None | Some("") => None,
        Some(p) => {
            if p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return Err("the port must be a number");
            }
            let n: u32 = p.parse().map_err(|_| "the port must be a number")?;
            if n > 65_535 {
                return Err("the port must be at most 65535");
            }
            (n != default_port).then_some(n)
        }
    };

    // §6.2.2.2 then §6.2.2.3; §6.2.3: an empty path is "/".
    let path = remove_dot_segments(&normalize_percent(path, false, is_path_char)?);
    let path = if path.is_empty() { "/" } else { path.as_str() };

    let mut out = String::with_capacity(uri.len());
    out.push_str(scheme);
    out.push_str("://");
    out.push_str(&host);
    if let Some(port) = port {
        out.push(':');
        crate::json::write_u64(&mut out, u64::from(port));
    }
    out.push_str(path);
    Ok((out, had_extra))
}

/// Normalises a URI for `htu` comparison (RFC 9449 §4.3 check 9): RFC 3986 §6.2.2
/// syntax-based normalisation (lower-case scheme and host, decode percent-encoded
/// unreserved characters and upper-case the hex of the remaining escapes, remove dot
/// segments) and §6.2.3 scheme-based normalisation (drop the default port, empty path is
/// `/`). The query and fragment are removed. Nothing is decoded twice, `%2F` stays
/// `%2F`, and the path keeps its case.
///
/// # Errors
///
/// [`Error::UrlInvalid`] if the input is not an absolute `http`/`https` URI with a host,
/// contains userinfo, characters outside RFC 3986 (non-ASCII included: percent-encode
/// the path) before the query, a malformed escape or a bad port. The query and fragment
/// are not checked: they are dropped.
///
/// ```
/// use edge_oauth::dpop::normalize_htu;
///
/// assert_eq!(
///     normalize_htu("HTTPS://Auth.Example.COM:443/oauth/x/../%74oken?x=1").unwrap(),
///     "https://auth.example.com/oauth/token"
/// );
/// assert_eq!(normalize_htu("https://a.example/%2574").unwrap(), "https://a.example/%2574");
/// assert_eq!(normalize_htu("https://user@a.example/").unwrap_err().code(), "URL_INVALID");
/// ```
pub fn normalize_htu(uri: &str) -> Result<String> {
    normalize_uri(uri)
        .map(|(normalized, _)| normalized)
        .map_err(Error::UrlInvalid)
}

// ----- verification ---------------------------------------------------------------------

/// What the server expects of a proof.
///
/// ```
/// use edge_oauth::dpop::VerifyPolicy;
///
/// let policy = VerifyPolicy {
///     nonce: Some("server-nonce"),
///     ..VerifyPolicy::new("POST", "https://as.example/oauth/token", 1_700_000_000)
/// };
/// assert_eq!(policy.max_age, 60);
/// assert_eq!(policy.max_future, 5);
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct VerifyPolicy<'a> {
    /// The request method.
    pub htm: &'a str,
    /// The request URI (the server's configured public URL of the endpoint, ideally);
    /// its query and fragment are ignored.
    pub htu: &'a str,
    /// The current time, NumericDate seconds.
    pub now: i64,
    /// How old a proof's `iat` may be, in seconds (default 60).
    pub max_age: u64,
    /// How far in the future a proof's `iat` may be, in seconds (default 5).
    pub max_future: u64,
    /// Allowed `alg` values (default `[ES256]`); only `ES256` can ever pass.
    pub allowed_algs: &'a [Algorithm],
    /// The nonce the server requires, if it has provided one to the client.
    pub nonce: Option<&'a str>,
    /// The access token presented with the request (resource server): requires `ath`.
    pub access_token: Option<&'a str>,
    /// The thumbprint the access token is bound to (`cnf.jkt`): requires that key.
    pub expected_jkt: Option<&'a str>,
}

/// `access_token` prints as `[redacted]`: it is a bearer secret.
///
/// ```
/// # use edge_oauth::dpop::VerifyPolicy;
/// let p = VerifyPolicy { access_token: Some("secret-at"), ..VerifyPolicy::new("GET", "https://rs.example/", 0) };
/// assert!(!format!("{p:?}").contains("secret-at"));
/// ```
impl core::fmt::Debug for VerifyPolicy<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("VerifyPolicy")
            .field("htm", &self.htm)
            .field("htu", &self.htu)
            .field("now", &self.now)
            .field("max_age", &self.max_age)
            .field("max_future", &self.max_future)
            .field("allowed_algs", &self.allowed_algs)
            .field("nonce", &self.nonce)
            .field("access_token", &self.access_token.map(|_| "[redacted]"))
            .field("expected_jkt", &self.expected_jkt)
            .finish()
    }
}

impl<'a> VerifyPolicy<'a> {
    /// A policy with the defaults: 60 s maximum age, 5 s future skew, ES256 only, no
    /// nonce, no access token, no key binding.
    ///
    /// ```
    /// # use edge_oauth::{dpop::VerifyPolicy, jws::Algorithm};
    /// let p = VerifyPolicy::new("GET", "https://rs.example/items", 0);
    /// assert_eq!(p.allowed_algs, &[Algorithm::Es256]);
    /// ```
    #[must_use]
    pub const fn new(htm: &'a str, htu: &'a str, now: i64) -> Self {
        VerifyPolicy {
            htm,
            htu,
            now,
            max_age: 60,
            max_future: 5,
            allowed_algs: &[Algorithm::Es256],
            nonce: None,
            access_token: None,
            expected_jkt: None,
        }
    }
}

/// A proof that passed [`verify_proof`].
///
/// ```
/// # use edge_oauth::dpop::{verify_proof, DpopKey, ProofOptions, VerifyPolicy};
/// # let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
/// # let key = DpopKey::generate(&mut rng);
/// let options = ProofOptions { jti: Some("jti-1"), ..ProofOptions::new("POST", "https://as.example/t", 10) };
/// let proof = key.create_proof(&options, &mut rng).unwrap();
/// let v = verify_proof(&proof, &VerifyPolicy::new("POST", "https://as.example/t", 10)).unwrap();
/// assert_eq!((v.jti.as_str(), v.iat), ("jti-1", 10));
/// assert_eq!(&v.jwk, key.public_jwk());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedProof {
    /// The RFC 7638 thumbprint of the proof key (`cnf.jkt`, `dpop_jkt`).
    pub jkt: String,
    /// The proof's `jti`, for the caller's replay store.
    pub jti: String,
    /// The proof's `iat` (rounded down if it was not an integer).
    pub iat: i64,
    /// The proof key.
    pub jwk: EcPublicJwk,
}

/// Checks 1 and 2 on the raw header value, before any decoding.
fn check_header_value(value: &str) -> Result<()> {
    fn is_jws_char(b: u8) -> bool {
        b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')
    }
    if value.is_empty() {
        return Err(Error::DpopMalformed("the DPoP header is empty"));
    }
    if value.len() > MAX_PROOF_LEN {
        return Err(Error::DpopMalformed("the proof is too large"));
    }
    if value.bytes().all(is_jws_char) {
        return Ok(());
    }
    // Several header fields combined into one (RFC 9110 §5.3), or a list in one value.
    let mut parts = value
        .split([',', ' ', '\t'])
        .filter(|p| !p.is_empty())
        .peekable();
    let all_jws = value
        .split([',', ' ', '\t'])
        .filter(|p| !p.is_empty())
        .all(|p| p.bytes().all(is_jws_char));
    if all_jws && parts.next().is_some() && parts.peek().is_some() {
        return Err(Error::DpopMultipleHeaders);
    }
    Err(Error::DpopMalformed("not a compact JWS"))
}

fn map_jws_error(e: Error) -> Error {
    match e {
        Error::JwsAlgNotAllowed => Error::DpopAlgNotAllowed,
        Error::JwsMalformed(why) | Error::JwsHeaderInvalid(why) => Error::DpopMalformed(why),
        Error::JwsCritUnsupported => {
            Error::DpopMalformed("crit names an extension this verifier does not support")
        }
        _ => Error::DpopMalformed("not a compact JWS"),
    }
}

fn map_jwk_error(e: Error) -> Error {
    match e {
        Error::JwkPrivateMember => Error::DpopJwkPrivate,
        // A key that cannot be used with ES256 (another kty or crv): check 5.
        Error::JwkUnsupported(_) => Error::DpopAlgNotAllowed,
        Error::JwkInvalid(why) => Error::DpopJwkInvalid(why),
        Error::JwkKeyInvalid => Error::DpopJwkInvalid("the point is not on P-256"),
        _ => Error::DpopJwkInvalid("not a valid P-256 public key"),
    }
}

/// Reads a required, non-empty string claim.
fn string_claim<'c>(
    claims: &'c Object,
    name: &str,
    missing: &'static str,
    mistyped: &'static str,
) -> Result<&'c str> {
    match claims.get(name) {
        None => Err(Error::DpopClaimInvalid(missing)),
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(_) => Err(Error::DpopClaimInvalid(mistyped)),
    }
}

/// A NumericDate (RFC 7519 §2): any JSON number, rounded down exactly (saturating).
fn numeric_date(value: &Value) -> Option<i64> {
    value.as_number()?.floor_i64()
}

fn ct_str_eq(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// Verifies a DPoP proof against `policy`: every check of RFC 9449 §4.3 except replay,
/// which needs the server's store (record [`VerifiedProof::jti`], keyed by the `jkt`,
/// for the acceptance window).
///
/// Checks run in this order, each with its own error: single well-formed header value
/// (1, 2), JWS structure and header (2), `alg` (5), `typ` (4), `jwk` (6, 7), signature
/// (6), payload and required claims (2, 3), `htm` (8), `htu` (9), `nonce` (10), `iat`
/// (11), `ath` and key binding (12).
///
/// # Errors
///
/// - [`Error::DpopMultipleHeaders`]: check 1, several values;
/// - [`Error::DpopMalformed`]: check 2, not one strict compact JWS with a JSON object
///   header and payload (duplicate members, `crit`, `b64`, bad base64url...);
/// - [`Error::DpopAlgNotAllowed`]: check 5, `alg` not ES256 / not allowed, or a `jwk`
///   not usable with ES256;
/// - [`Error::DpopTypInvalid`]: check 4;
/// - [`Error::DpopJwkInvalid`], [`Error::DpopJwkPrivate`], [`Error::DpopSignatureInvalid`]:
///   checks 6 and 7;
/// - [`Error::DpopClaimInvalid`]: check 3, `jti`, `htm`, `htu`, `iat` missing or
///   mistyped, `jti` too long, `nonce` / `ath` not a string;
/// - [`Error::DpopHtmMismatch`], [`Error::DpopHtuMismatch`]: checks 8 and 9;
/// - [`Error::DpopNonceMissing`], [`Error::DpopNonceMismatch`]: check 10;
/// - [`Error::DpopIatTooOld`], [`Error::DpopIatInFuture`]: check 11;
/// - [`Error::DpopAthMissing`], [`Error::DpopAthMismatch`], [`Error::DpopKeyMismatch`]:
///   check 12;
/// - [`Error::UrlInvalid`] if `policy.htu` itself is not a valid URI (a server bug).
///
/// ```
/// use edge_oauth::dpop::{verify_proof, VerifyPolicy};
///
/// // RFC 9449 §4.1 Figure 2.
/// let proof = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg";
/// let policy = VerifyPolicy::new("POST", "https://server.example.com/token", 1_562_262_616);
/// let verified = verify_proof(proof, &policy).unwrap();
/// assert_eq!(verified.jkt, "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
///
/// let later = VerifyPolicy { now: 1_562_262_616 + 3600, ..policy };
/// assert_eq!(verify_proof(proof, &later).unwrap_err().code(), "DPOP_IAT_TOO_OLD");
/// let get = VerifyPolicy { htm: "GET", ..policy };
/// assert_eq!(verify_proof(proof, &get).unwrap_err().dpop_wire_error(), Some("invalid_dpop_proof"));
/// ```
#[cfg(not(all(feature = "wasm", not(feature = "wasm-p256"))))]
pub fn verify_proof(proof: &str, policy: &VerifyPolicy<'_>) -> Result<VerifiedProof> {
    let parsed = parse_proof(proof, policy)?;
    parsed.verify_signature()?;
    parsed.check_claims(policy)
}

/// A DPoP proof whose header value, JWS structure, `alg`, `typ` and embedded `jwk`
/// passed checks 1, 2 and 4 to 7 of RFC 9449 §4.3, but whose signature has not been
/// checked yet: the sans-IO half of [`verify_proof`] for a caller that verifies the
/// ES256 signature with its own crypto (WebCrypto), then calls
/// [`ParsedProof::check_claims`]. The checks run in
/// [`verify_proof`]'s order when the caller verifies [`ParsedProof::signing_input`] and
/// [`ParsedProof::signature`] under [`ParsedProof::jwk`] between the two calls, and
/// refuses with [`Error::DpopSignatureInvalid`] if that fails.
///
/// ```
/// use edge_oauth::dpop::{parse_proof, VerifyPolicy};
/// use edge_oauth::jws::verify_es256;
///
/// // RFC 9449 §4.1 Figure 2.
/// let proof = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg";
/// let policy = VerifyPolicy::new("POST", "https://server.example.com/token", 1_562_262_616);
/// let parsed = parse_proof(proof, &policy).unwrap();
/// // Any ES256 verifier (here the core's own, in software).
/// let message = parsed.signing_input().as_bytes();
/// assert!(verify_es256(message, parsed.signature(), parsed.jwk().verifying_key()).is_ok());
/// let verified = parsed.check_claims(&policy).unwrap();
/// assert_eq!(verified.jkt, "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
/// ```
#[derive(Debug, Clone)]
pub struct ParsedProof<'a> {
    decoded: jws::DecodedJws<'a>,
    jwk: EcPublicJwk,
}

/// Checks 1, 2 and 4 to 7 of [`verify_proof`] (everything before the signature), without
/// crypto: the caller verifies the signature itself and then calls
/// [`ParsedProof::check_claims`].
///
/// # Errors
/// [`Error::DpopMultipleHeaders`], [`Error::DpopMalformed`], [`Error::DpopAlgNotAllowed`],
/// [`Error::DpopTypInvalid`], [`Error::DpopJwkInvalid`], [`Error::DpopJwkPrivate`], as
/// [`verify_proof`] reports them.
///
/// ```
/// use edge_oauth::dpop::{parse_proof, VerifyPolicy};
/// let policy = VerifyPolicy::new("POST", "https://as.example/token", 0);
/// assert_eq!(parse_proof("a.b", &policy).unwrap_err().code(), "DPOP_MALFORMED");
/// ```
pub fn parse_proof<'a>(proof: &'a str, policy: &VerifyPolicy<'_>) -> Result<ParsedProof<'a>> {
    // Checks 1 and 2.
    check_header_value(proof)?;
    let allowed: &[Algorithm] = if policy.allowed_algs.contains(&Algorithm::Es256) {
        &[Algorithm::Es256]
    } else {
        &[]
    };
    let decoded = jws::decode(proof, allowed).map_err(map_jws_error)?;
    let header = decoded.header();

    // Check 4.
    if header.get("typ").and_then(Value::as_str) != Some(TYP) {
        return Err(Error::DpopTypInvalid);
    }

    // Checks 6 and 7: the embedded key (its signature is the caller's next step).
    let jwk = match header.get("jwk") {
        None => return Err(Error::DpopJwkInvalid("the jwk header is missing")),
        Some(value) => EcPublicJwk::from_json_value(value).map_err(map_jwk_error)?,
    };
    Ok(ParsedProof { decoded, jwk })
}

impl ParsedProof<'_> {
    /// The JWS signing input (`header.payload`, ASCII) the signature covers.
    ///
    /// ```
    /// # use edge_oauth::dpop::{parse_proof, DpopKey, ProofOptions, VerifyPolicy};
    /// # let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    /// # let key = DpopKey::generate(&mut rng);
    /// let proof = key.create_proof(&ProofOptions::new("GET", "https://rs.example/", 5), &mut rng).unwrap();
    /// let parsed = parse_proof(&proof, &VerifyPolicy::new("GET", "https://rs.example/", 5)).unwrap();
    /// assert!(proof.starts_with(&format!("{}.", parsed.signing_input())));
    /// ```
    #[must_use]
    pub fn signing_input(&self) -> &str {
        self.decoded.signing_input()
    }

    /// The signature octets (for ES256, `r || s`; any other length never verifies).
    ///
    /// ```
    /// # use edge_oauth::dpop::{parse_proof, DpopKey, ProofOptions, VerifyPolicy};
    /// # let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    /// # let key = DpopKey::generate(&mut rng);
    /// let proof = key.create_proof(&ProofOptions::new("GET", "https://rs.example/", 5), &mut rng).unwrap();
    /// let parsed = parse_proof(&proof, &VerifyPolicy::new("GET", "https://rs.example/", 5)).unwrap();
    /// assert_eq!(parsed.signature().len(), 64);
    /// ```
    #[must_use]
    pub fn signature(&self) -> &[u8] {
        self.decoded.signature()
    }

    /// The proof key from the `jwk` header (a public P-256 key, checked on the curve).
    ///
    /// ```
    /// # use edge_oauth::dpop::{parse_proof, DpopKey, ProofOptions, VerifyPolicy};
    /// # let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    /// # let key = DpopKey::generate(&mut rng);
    /// let proof = key.create_proof(&ProofOptions::new("GET", "https://rs.example/", 5), &mut rng).unwrap();
    /// let parsed = parse_proof(&proof, &VerifyPolicy::new("GET", "https://rs.example/", 5)).unwrap();
    /// assert_eq!(parsed.jwk(), key.public_jwk());
    /// ```
    #[must_use]
    pub fn jwk(&self) -> &EcPublicJwk {
        &self.jwk
    }

    /// Check 6's signature, in software (p256).
    ///
    /// # Errors
    /// [`Error::DpopSignatureInvalid`].
    ///
    /// ```
    /// # use edge_oauth::dpop::{parse_proof, DpopKey, ProofOptions, VerifyPolicy};
    /// # let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    /// # let key = DpopKey::generate(&mut rng);
    /// let proof = key.create_proof(&ProofOptions::new("GET", "https://rs.example/", 5), &mut rng).unwrap();
    /// let policy = VerifyPolicy::new("GET", "https://rs.example/", 5);
    /// assert!(parse_proof(&proof, &policy).unwrap().verify_signature().is_ok());
    /// ```
    #[cfg(not(all(feature = "wasm", not(feature = "wasm-p256"))))]
    pub fn verify_signature(&self) -> Result<()> {
        self.decoded
            .verify_es256(&self.jwk)
            .map_err(|_| Error::DpopSignatureInvalid)
    }

    /// Checks 2, 3 and 8 to 12 (claims, `htm`, `htu`, `nonce`, `iat`, `ath`, key binding)
    /// once the caller has verified the signature; the result is what [`verify_proof`]
    /// returns.
    ///
    /// # Errors
    /// [`Error::DpopMalformed`], [`Error::DpopClaimInvalid`], [`Error::DpopHtmMismatch`],
    /// [`Error::DpopHtuMismatch`], [`Error::DpopNonceMissing`],
    /// [`Error::DpopNonceMismatch`], [`Error::DpopIatTooOld`], [`Error::DpopIatInFuture`],
    /// [`Error::DpopAthMissing`], [`Error::DpopAthMismatch`], [`Error::DpopKeyMismatch`],
    /// [`Error::UrlInvalid`], as [`verify_proof`] reports them.
    ///
    /// ```
    /// # use edge_oauth::dpop::{parse_proof, DpopKey, ProofOptions, VerifyPolicy};
    /// # let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    /// # let key = DpopKey::generate(&mut rng);
    /// let proof = key.create_proof(&ProofOptions::new("GET", "https://rs.example/", 5), &mut rng).unwrap();
    /// let policy = VerifyPolicy::new("GET", "https://rs.example/", 5);
    /// let parsed = parse_proof(&proof, &policy).unwrap();
    /// let post = VerifyPolicy { htm: "POST", ..policy };
    /// assert_eq!(parsed.check_claims(&post).unwrap_err().code(), "DPOP_HTM_MISMATCH");
    /// assert_eq!(parsed.check_claims(&policy).unwrap().iat, 5);
    /// ```
    pub fn check_claims(&self, policy: &VerifyPolicy<'_>) -> Result<VerifiedProof> {
        let decoded = &self.decoded;
        let jwk = &self.jwk;
        // Checks 2 and 3: the claims.
        let claims = parse_object(decoded.payload()).map_err(|p| {
            Error::DpopMalformed(match p {
                JsonProblem::Duplicate => "the payload repeats a member",
                JsonProblem::Syntax | JsonProblem::NotObject => "the payload is not a JSON object",
            })
        })?;
        let jti = string_claim(
            &claims,
            "jti",
            "jti is missing",
            "jti must be a non-empty string",
        )?;
        if jti.len() > MAX_JTI_LEN {
            return Err(Error::DpopClaimInvalid("jti is longer than 256 octets"));
        }
        let htm = string_claim(
            &claims,
            "htm",
            "htm is missing",
            "htm must be a non-empty string",
        )?;
        let htu = string_claim(
            &claims,
            "htu",
            "htu is missing",
            "htu must be a non-empty string",
        )?;
        let iat = match claims.get("iat") {
            None => return Err(Error::DpopClaimInvalid("iat is missing")),
            Some(value) => numeric_date(value).ok_or(Error::DpopClaimInvalid(
                "iat must be a number (NumericDate)",
            ))?,
        };
        let nonce = match claims.get("nonce") {
            None => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(_) => return Err(Error::DpopClaimInvalid("nonce must be a string")),
        };

        // Check 8: methods are case-sensitive (RFC 9110 §9.1).
        if htm != policy.htm {
            return Err(Error::DpopHtmMismatch);
        }

        // Check 9.
        let expected_htu = normalize_htu(policy.htu)?;
        match normalize_uri(htu) {
            Ok((normalized, false)) if normalized == expected_htu => {}
            _ => return Err(Error::DpopHtuMismatch),
        }

        // Check 10.
        if let Some(expected) = policy.nonce {
            match nonce {
                None => return Err(Error::DpopNonceMissing),
                Some(n) if n != expected => return Err(Error::DpopNonceMismatch),
                Some(_) => {}
            }
        }

        // Check 11 (replay is the caller's).
        let now = i128::from(policy.now);
        let iat_wide = i128::from(iat);
        if iat_wide < now - i128::from(policy.max_age) {
            return Err(Error::DpopIatTooOld);
        }
        if iat_wide > now + i128::from(policy.max_future) {
            return Err(Error::DpopIatInFuture);
        }

        // Check 12.
        if let Some(token) = policy.access_token {
            let presented = match claims.get("ath") {
                None => return Err(Error::DpopAthMissing),
                Some(Value::String(s)) => s,
                Some(_) => return Err(Error::DpopClaimInvalid("ath must be a string")),
            };
            if !ct_str_eq(presented, &ath(token)) {
                return Err(Error::DpopAthMismatch);
            }
        }
        let jkt = jwk.thumbprint();
        if let Some(expected) = policy.expected_jkt
            && !ct_str_eq(&jkt, expected)
        {
            return Err(Error::DpopKeyMismatch);
        }

        Ok(VerifiedProof {
            jkt,
            jti: jti.to_string(),
            iat,
            jwk: jwk.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 3986 §5.2.4's own examples, and the edges around the root.
    #[test]
    fn rfc3986_5_2_4_remove_dot_segments() {
        assert_eq!(remove_dot_segments("/a/b/c/./../../g"), "/a/g");
        assert_eq!(remove_dot_segments("mid/content=5/../6"), "mid/6");
        assert_eq!(remove_dot_segments("/../../x"), "/x");
        assert_eq!(remove_dot_segments("/a/."), "/a/");
        assert_eq!(remove_dot_segments("/a/.."), "/");
        assert_eq!(remove_dot_segments("/a/.b/..c"), "/a/.b/..c");
        assert_eq!(remove_dot_segments(""), "");
    }

    #[test]
    fn debug_of_options_and_policy_redacts_the_access_token() {
        use alloc::format;
        let options = ProofOptions {
            access_token: Some("at-secret-1"),
            nonce: Some("n-1"),
            ..ProofOptions::new("GET", "https://rs.example/items", 7)
        };
        assert_eq!(
            format!("{options:?}"),
            r#"ProofOptions { htm: "GET", htu: "https://rs.example/items", iat: 7, jti: None, nonce: Some("n-1"), access_token: Some("[redacted]") }"#
        );
        let policy = VerifyPolicy {
            access_token: Some("at-secret-2"),
            expected_jkt: Some("jkt-1"),
            ..VerifyPolicy::new("GET", "https://rs.example/items", 7)
        };
        let debug = format!("{policy:?}");
        assert!(!debug.contains("at-secret-2"), "{debug}");
        assert!(
            debug.contains(r#"access_token: Some("[redacted]")"#),
            "{debug}"
        );
        assert!(debug.contains(r#"expected_jkt: Some("jkt-1")"#), "{debug}");
        assert!(
            format!("{:?}", ProofOptions::new("GET", "https://rs.example/", 0))
                .contains("access_token: None")
        );
    }

    #[test]
    fn floor_of_numeric_dates() {
        let date = |text: &str| numeric_date(&crate::json::parse(text.as_bytes()).unwrap());
        assert_eq!(date("1.5"), Some(1));
        assert_eq!(date("-1.5"), Some(-2));
        assert_eq!(date("-2.0"), Some(-2));
        assert_eq!(date("1.9"), Some(1));
        assert_eq!(date("18446744073709551615"), Some(i64::MAX));
        assert_eq!(date("\"1\""), None);
    }
}
