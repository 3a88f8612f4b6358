//! JWTs for the server, on the core's strict `jws` and `jwk` modules: ES256 signing with
//! the configured keys (`kid` in the header), strict decoding of incoming JWTs (three
//! segments, strict base64url, no duplicate members in header or claims, `alg` from an
//! allow-list, no `crit`/`b64`), and ES256 / HS256 verification. RS256 / PS256
//! verification goes through [`crate::platform::Platform`] (WebCrypto on Workers).
//!
//! HS256 (for `client_secret_jwt`) is verified here with RustCrypto `hmac`: the core has
//! no HMAC yet.

use crate::config::ConfigError;
use edge_oauth::base64url;
use edge_oauth::jwk::{EcPrivateJwk, EcPublicJwk};
use edge_oauth::jws::{self, Algorithm};
use hmac::{Hmac, KeyInit, Mac};
use p256::ecdsa::VerifyingKey;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Every algorithm an incoming JWT may name; each use narrows it further.
const DECODE_ALGS: [Algorithm; 4] = [
    Algorithm::Es256,
    Algorithm::Rs256,
    Algorithm::Ps256,
    Algorithm::Hs256,
];

/// An ES256 signing key with its `kid`.
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    key: Arc<EcPrivateJwk>,
}

impl core::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("d", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// Parses a JSON array of ES256 private JWKs (`SIGNING_KEYS`).
    ///
    /// # Errors
    /// [`ConfigError`] when the JSON is not a non-empty array of valid P-256 private JWKs
    /// with distinct `kid`s.
    pub fn parse_set(json: &str) -> Result<Vec<Self>, ConfigError> {
        let value: Value =
            serde_json::from_str(json).map_err(|_| ConfigError("SIGNING_KEYS is not JSON"))?;
        let items = value
            .as_array()
            .filter(|a| !a.is_empty())
            .ok_or(ConfigError("SIGNING_KEYS must be a non-empty JSON array"))?;
        let keys = items
            .iter()
            .map(Self::from_jwk)
            .collect::<Result<Vec<_>, _>>()?;
        for (i, k) in keys.iter().enumerate() {
            if keys.iter().skip(i + 1).any(|o| o.kid == k.kid) {
                return Err(ConfigError("SIGNING_KEYS has a repeated kid"));
            }
        }
        Ok(keys)
    }

    /// Parses one ES256 private JWK (`kty` EC, `crv` P-256, `x`, `y`, `d`, `kid`).
    ///
    /// # Errors
    /// [`ConfigError`] when a member is missing or malformed or `d` does not match `x`/`y`.
    pub fn from_jwk(jwk: &Value) -> Result<Self, ConfigError> {
        let member = |name: &str| jwk.get(name).and_then(Value::as_str);
        if member("kty") != Some("EC") || member("crv") != Some("P-256") {
            return Err(ConfigError("signing key must be an EC P-256 JWK"));
        }
        let kid = member("kid")
            .filter(|k| !k.is_empty())
            .ok_or(ConfigError("signing key needs a kid"))?;
        // The core parser checks the curve point and that d matches x/y; it refuses
        // unknown members, so pass only the key material.
        let material = json!({
            "kty": "EC", "crv": "P-256",
            "x": member("x"), "y": member("y"), "d": member("d"),
        });
        let key = EcPrivateJwk::parse(&material.to_string())
            .map_err(|_| ConfigError("signing key is not a valid P-256 private JWK"))?;
        Ok(Self {
            kid: kid.to_owned(),
            key: Arc::new(key),
        })
    }

    /// The key id.
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public JWK as published in the JWKS.
    #[must_use]
    pub fn public_jwk(&self) -> Value {
        let public = self.key.public();
        json!({
            "kty": "EC",
            "crv": "P-256",
            "x": base64url::encode(public.x()),
            "y": base64url::encode(public.y()),
            "kid": self.kid,
            "alg": "ES256",
            "use": "sig",
        })
    }

    /// The verifying key.
    #[must_use]
    pub fn verifying_key(&self) -> &VerifyingKey {
        self.key.public().verifying_key()
    }

    /// The public half as the core's key type (for [`crate::platform::Platform::verify_es256_key`]).
    #[must_use]
    pub fn public(&self) -> &EcPublicJwk {
        self.key.public()
    }

    /// The ES256 signature (`r || s`, RFC 7518 §3.4) of `message`, in software (RFC 6979).
    ///
    /// # Errors
    /// [`JwtError::Key`] if the core refuses to sign (not expected with a parsed key).
    pub fn sign_raw(&self, message: &[u8]) -> Result<[u8; 64], JwtError> {
        jws::sign_es256_raw(message, self.key.signing_key()).map_err(|_| JwtError::Key)
    }

    /// The private scalar `d` as base64url, for a platform that imports the key
    /// (WebCrypto); zeroized on drop.
    #[must_use]
    pub fn private_d(&self) -> Zeroizing<String> {
        Zeroizing::new(base64url::encode(&self.key.signing_key().to_bytes()))
    }

    /// Signs `claims` as a compact JWS with header `{"alg":"ES256","typ":typ,"kid":kid}`.
    ///
    /// # Errors
    /// [`JwtError::Key`] if the core refuses to sign (not expected with a parsed key:
    /// RFC 6979 signing needs no RNG); callers answer `500 server_error`.
    pub fn sign(&self, typ: &str, claims: &Value) -> Result<String, JwtError> {
        // Members in lexicographic order (serde_json's map is sorted), no whitespace.
        let header = json!({"alg": "ES256", "kid": self.kid, "typ": typ}).to_string();
        jws::sign_es256(
            &header,
            claims.to_string().as_bytes(),
            self.key.signing_key(),
        )
        .map_err(|_| JwtError::Key)
    }
}

/// The private members of an RSA JWK (RFC 7518 §6.3), base64url, as WebCrypto imports
/// them. Its `Debug` prints only the key size; the members zeroize on drop.
#[derive(Clone)]
pub struct RsaPrivateJwk {
    /// Modulus.
    pub n: String,
    /// Public exponent.
    pub e: String,
    /// Private exponent.
    pub d: Zeroizing<String>,
    /// First prime factor.
    pub p: Zeroizing<String>,
    /// Second prime factor.
    pub q: Zeroizing<String>,
    /// First factor CRT exponent.
    pub dp: Zeroizing<String>,
    /// Second factor CRT exponent.
    pub dq: Zeroizing<String>,
    /// First CRT coefficient.
    pub qi: Zeroizing<String>,
}

impl core::fmt::Debug for RsaPrivateJwk {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RsaPrivateJwk")
            .field(
                "bits",
                &(base64url::decode(&self.n).map_or(0, |n| n.len() * 8)),
            )
            .field("private", &"[redacted]")
            .finish()
    }
}

/// An RS256 signing key with its `kid` (RSASSA-PKCS1-v1_5 with SHA-256, RFC 7518 §3.3).
/// The signature is made by the platform ([`crate::platform::Platform::sign_rsa`]:
/// WebCrypto on Workers), so the key needs no RSA code in the wasm build.
#[derive(Clone)]
pub struct RsaSigningKey {
    kid: String,
    /// Shared: the configuration (and so this key) is copied for every request.
    jwk: Arc<RsaPrivateJwk>,
}

impl core::fmt::Debug for RsaSigningKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RsaSigningKey")
            .field("kid", &self.kid)
            .field("jwk", &self.jwk)
            .finish()
    }
}

/// The smallest RSA modulus accepted for signing, in bits (RFC 7518 §3.3: 2048 or larger).
pub const MIN_RSA_BITS: usize = 2048;

impl RsaSigningKey {
    /// Parses one RSA private JWK (`kty` RSA, `kid`, `n`, `e`, `d`, `p`, `q`, `dp`, `dq`,
    /// `qi`, strict base64url, a modulus of at least 2048 bits; `alg`, when present,
    /// `RS256`).
    ///
    /// # Errors
    /// [`ConfigError`] when a member is missing or malformed. Whether `d` matches `n` is
    /// found by the platform on first use (WebCrypto refuses an inconsistent key).
    pub fn from_jwk(jwk: &Value) -> Result<Self, ConfigError> {
        let member = |name: &str| jwk.get(name).and_then(Value::as_str);
        if member("kty") != Some("RSA") {
            return Err(ConfigError("signing key must be an RSA JWK"));
        }
        if member("alg").is_some_and(|a| a != "RS256") {
            return Err(ConfigError("an RSA signing key must have alg RS256"));
        }
        let kid = member("kid")
            .filter(|k| !k.is_empty())
            .ok_or(ConfigError("signing key needs a kid"))?;
        let part = |name: &str| -> Result<String, ConfigError> {
            member(name)
                .filter(|v| base64url::decode(v).is_ok_and(|b| !b.is_empty()))
                .map(str::to_owned)
                .ok_or(ConfigError(
                    "RSA signing key needs n, e, d, p, q, dp, dq and qi in base64url",
                ))
        };
        let n = part("n")?;
        if base64url::decode(&n).map_or(0, |b| b.len() * 8) < MIN_RSA_BITS {
            return Err(ConfigError("RSA signing key must be at least 2048 bits"));
        }
        Ok(Self {
            kid: kid.to_owned(),
            jwk: Arc::new(RsaPrivateJwk {
                n,
                e: part("e")?,
                d: Zeroizing::new(part("d")?),
                p: Zeroizing::new(part("p")?),
                q: Zeroizing::new(part("q")?),
                dp: Zeroizing::new(part("dp")?),
                dq: Zeroizing::new(part("dq")?),
                qi: Zeroizing::new(part("qi")?),
            }),
        })
    }

    /// The key id.
    #[must_use]
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The private JWK members, for the platform's signer.
    #[must_use]
    pub fn private_jwk(&self) -> &RsaPrivateJwk {
        &self.jwk
    }

    /// The public JWK as published in the JWKS.
    #[must_use]
    pub fn public_jwk(&self) -> Value {
        json!({
            "kty": "RSA",
            "n": self.jwk.n,
            "e": self.jwk.e,
            "kid": self.kid,
            "alg": "RS256",
            "use": "sig",
        })
    }
}

/// Parses `SIGNING_KEYS`: a JSON array of private JWKs, EC P-256 (ES256) and RSA
/// (RS256), with distinct `kid`s. At least one EC key is required (access tokens are
/// ES256 by default); the first key of each type signs with its algorithm, every key is
/// published.
///
/// # Errors
/// [`ConfigError`] for malformed JSON or keys, a repeated `kid`, or no EC key.
pub fn parse_signing_keys(
    json: &str,
) -> Result<(Vec<SigningKey>, Vec<RsaSigningKey>), ConfigError> {
    let value: Value =
        serde_json::from_str(json).map_err(|_| ConfigError("SIGNING_KEYS is not JSON"))?;
    let items = value
        .as_array()
        .filter(|a| !a.is_empty())
        .ok_or(ConfigError("SIGNING_KEYS must be a non-empty JSON array"))?;
    let mut ec = Vec::new();
    let mut rsa = Vec::new();
    for item in items {
        if item.get("kty").and_then(Value::as_str) == Some("RSA") {
            rsa.push(RsaSigningKey::from_jwk(item)?);
        } else {
            ec.push(SigningKey::from_jwk(item)?);
        }
    }
    if ec.is_empty() {
        return Err(ConfigError("SIGNING_KEYS needs an EC P-256 (ES256) key"));
    }
    let kids: Vec<&str> = ec
        .iter()
        .map(SigningKey::kid)
        .chain(rsa.iter().map(RsaSigningKey::kid))
        .collect();
    for (i, k) in kids.iter().enumerate() {
        if kids.iter().skip(i + 1).any(|o| o == k) {
            return Err(ConfigError("SIGNING_KEYS has a repeated kid"));
        }
    }
    Ok((ec, rsa))
}

/// The JWS signing input `b64(header).b64(claims)` for a header
/// `{"alg":alg,"kid":kid,"typ":typ}` (members sorted, no whitespace).
#[must_use]
pub fn signing_input(alg: &str, kid: &str, typ: &str, claims: &Value) -> String {
    let header = json!({"alg": alg, "kid": kid, "typ": typ}).to_string();
    format!(
        "{}.{}",
        base64url::encode(header.as_bytes()),
        base64url::encode(claims.to_string().as_bytes())
    )
}

/// Why a JWT was refused (kept coarse: callers map every variant to one wire error).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JwtError {
    /// Not three strict base64url segments with JSON object header and payload.
    Malformed,
    /// `alg` missing, `none`, or not allowed here.
    Algorithm,
    /// A `crit` header (no extensions are understood).
    Critical,
    /// No usable key.
    Key,
    /// The signature or MAC does not verify.
    Signature,
}

/// A decoded, not yet verified, compact JWS.
#[derive(Clone, Debug)]
pub struct DecodedJwt {
    /// The protected header.
    pub header: Map<String, Value>,
    /// The claims.
    pub claims: Map<String, Value>,
    /// The ASCII signing input `b64(header).b64(payload)`.
    pub signing_input: String,
    /// The decoded signature bytes.
    pub signature: Vec<u8>,
}

impl DecodedJwt {
    /// Strictly decodes a compact JWS: three segments, strict base64url, JSON objects,
    /// `alg` present and not `none`, no `crit`.
    ///
    /// # Errors
    /// [`JwtError`] for any deviation.
    pub fn decode(token: &str) -> Result<Self, JwtError> {
        let decoded = jws::decode(token, &DECODE_ALGS).map_err(|e| match e.code() {
            "JWS_ALG_NOT_ALLOWED" => JwtError::Algorithm,
            "JWS_CRIT_UNSUPPORTED" => JwtError::Critical,
            _ => JwtError::Malformed,
        })?;
        let claims = decoded.claims().map_err(|_| JwtError::Malformed)?;
        // The core checked the JSON strictly (no duplicate members at any depth); the
        // worker keeps its records as serde_json values.
        let to_map = |object: &edge_oauth::json::Object| {
            serde_json::from_str::<Map<String, Value>>(&object.to_json())
                .map_err(|_| JwtError::Malformed)
        };
        Ok(Self {
            header: to_map(decoded.header())?,
            claims: to_map(&claims)?,
            signing_input: decoded.signing_input().to_owned(),
            signature: decoded.signature().to_vec(),
        })
    }

    /// The header `alg`.
    #[must_use]
    pub fn alg(&self) -> &str {
        self.header
            .get("alg")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    /// A string header member.
    #[must_use]
    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }

    /// A string claim.
    #[must_use]
    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// An integer claim (a JSON number without fraction).
    #[must_use]
    pub fn claim_i64(&self, name: &str) -> Option<i64> {
        self.claims.get(name).and_then(Value::as_i64)
    }

    /// Verifies an ES256 signature (raw R||S, 64 bytes) with a P-256 key.
    ///
    /// # Errors
    /// [`JwtError::Algorithm`] unless `alg` is ES256, [`JwtError::Signature`] otherwise.
    pub fn verify_es256(&self, key: &VerifyingKey) -> Result<(), JwtError> {
        if self.alg() != "ES256" {
            return Err(JwtError::Algorithm);
        }
        jws::verify_es256(self.signing_input.as_bytes(), &self.signature, key)
            .map_err(|_| JwtError::Signature)
    }

    /// Verifies an HS256 MAC in constant time.
    ///
    /// # Errors
    /// [`JwtError::Algorithm`] unless `alg` is HS256, [`JwtError::Signature`] otherwise.
    pub fn verify_hs256(&self, secret: &[u8]) -> Result<(), JwtError> {
        if self.alg() != "HS256" {
            return Err(JwtError::Algorithm);
        }
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| JwtError::Key)?;
        mac.update(self.signing_input.as_bytes());
        let expected = mac.finalize().into_bytes();
        if bool::from(expected.as_slice().ct_eq(&self.signature)) {
            Ok(())
        } else {
            Err(JwtError::Signature)
        }
    }
}

/// A P-256 public key from a public EC JWK (`kty` EC, `crv` P-256, `x`, `y`); a JWK
/// holding `d` is refused.
///
/// # Errors
/// [`JwtError::Key`] when the JWK is not a valid P-256 public key.
pub fn es256_key_from_jwk(jwk: &Value) -> Result<EcPublicJwk, JwtError> {
    // The core parser refuses unknown members: keep the key material only (a `d` is kept
    // so that a private key is refused, not silently stripped).
    let mut material = Map::new();
    for name in ["kty", "crv", "x", "y", "d"] {
        if let Some(v) = jwk.get(name) {
            material.insert(name.into(), v.clone());
        }
    }
    EcPublicJwk::parse(&Value::Object(material).to_string()).map_err(|_| JwtError::Key)
}

/// base64url(SHA-256(data)).
#[must_use]
pub fn sha256_b64(data: &[u8]) -> String {
    base64url::encode(&Sha256::digest(data))
}

/// OIDC `at_hash` for ES256: base64url of the left half of SHA-256 of the ASCII token
/// (OIDC Core §3.1.3.6).
#[must_use]
pub fn at_hash(access_token: &str) -> String {
    jws::oidc_hash(access_token, Algorithm::Es256).unwrap_or_default()
}

/// HMAC-SHA256.
#[must_use]
pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so this never falls back.
    Hmac::<Sha256>::new_from_slice(key).map_or([0; 32], |mut mac| {
        mac.update(data);
        mac.finalize().into_bytes().into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vectors() -> Value {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/vectors/vectors.json"
        ))
        .unwrap();
        serde_json::from_str(&text).unwrap()
    }

    #[test]
    fn oidc_core_3_1_3_6_at_hash_es256() {
        let v = vectors();
        let case = &v["oidc"]["oidc_hashes"]["at_hash_es256_dpop_example"];
        assert_eq!(
            at_hash(case["access_token"].as_str().unwrap()),
            case["computed"].as_str().unwrap()
        );
        let case = &v["oidc"]["oidc_hashes"]["at_hash"];
        assert_eq!(
            at_hash(case["access_token"].as_str().unwrap()),
            case["expected_from_spec"].as_str().unwrap()
        );
    }

    #[test]
    fn rfc9068_example_access_token_verifies_and_signs_round_trip() {
        let v = vectors();
        let case = &v["rfc9068_access_token"]["rfc9068_example_access_token"];
        let key = es256_key_from_jwk(&case["as_public_jwk"]).unwrap();
        let jwt = DecodedJwt::decode(case["access_token"].as_str().unwrap()).unwrap();
        jwt.verify_es256(key.verifying_key()).unwrap();
        assert_eq!(jwt.header_str("typ"), Some("at+jwt"));

        let mut private = case["as_private_jwk"].clone();
        private["kid"] = json!("as-key-1");
        let signer = SigningKey::from_jwk(&private).unwrap();
        let token = signer.sign("at+jwt", &case["claims"]).unwrap();
        let decoded = DecodedJwt::decode(&token).unwrap();
        decoded.verify_es256(signer.verifying_key()).unwrap();
        assert_eq!(decoded.header_str("kid"), Some("as-key-1"));
        assert_eq!(decoded.claims, *case["claims"].as_object().unwrap());
    }

    /// The platform signs `signing_input` (WebCrypto on Workers); natively the default
    /// `sign_raw` must give exactly the JWS of `sign` (RFC 6979 is deterministic), and the
    /// `d` handed to an importing platform is the key's own.
    #[test]
    fn rfc7518_3_4_es256_signing_input_and_raw_signature_equal_sign() {
        let v = vectors();
        let case = &v["rfc9068_access_token"]["rfc9068_example_access_token"];
        let mut private = case["as_private_jwk"].clone();
        private["kid"] = json!("as-key-1");
        let signer = SigningKey::from_jwk(&private).unwrap();
        let input = signing_input("ES256", signer.kid(), "at+jwt", &case["claims"]);
        let raw = signer.sign_raw(input.as_bytes()).unwrap();
        assert_eq!(
            format!("{input}.{}", base64url::encode(&raw)),
            signer.sign("at+jwt", &case["claims"]).unwrap()
        );
        assert_eq!(
            signer.private_d().as_str(),
            case["as_private_jwk"]["d"].as_str().unwrap()
        );
        let copy = signer.clone();
        assert_eq!(copy.sign_raw(b"m").unwrap(), signer.sign_raw(b"m").unwrap());

        // The platform's defaults (software): what it signs verifies, a changed message not.
        use crate::platform::Platform;
        use crate::testing::block_on;
        let platform =
            crate::platform::NativePlatform::new(crate::store::memory::Clock::new(1_700_000_000));
        let signature = block_on(platform.sign_es256(&signer, input.as_bytes())).unwrap();
        assert_eq!(signature, raw.to_vec());
        assert!(block_on(platform.verify_es256(&signer, input.as_bytes(), &signature)).unwrap());
        assert!(!block_on(platform.verify_es256(&signer, b"other", &signature)).unwrap());
        assert!(
            !block_on(platform.verify_es256(&signer, input.as_bytes(), &signature[..63])).unwrap()
        );
    }

    #[test]
    fn rfc7515_alg_none_and_crit_are_refused() {
        let none = format!(
            "{}.{}.",
            base64url::encode(br#"{"alg":"none"}"#),
            base64url::encode(b"{}")
        );
        assert_eq!(DecodedJwt::decode(&none).unwrap_err(), JwtError::Algorithm);
        let crit = format!(
            "{}.{}.AA",
            base64url::encode(br#"{"alg":"ES256","crit":["b64"]}"#),
            base64url::encode(b"{}")
        );
        assert_eq!(DecodedJwt::decode(&crit).unwrap_err(), JwtError::Critical);
        assert_eq!(DecodedJwt::decode("a.b").unwrap_err(), JwtError::Malformed);
        assert_eq!(
            DecodedJwt::decode("a.b.c.d").unwrap_err(),
            JwtError::Malformed
        );
    }

    #[test]
    fn signing_key_with_mismatched_public_part_is_refused() {
        let v = vectors();
        let mut private =
            v["rfc9068_access_token"]["rfc9068_example_access_token"]["as_private_jwk"].clone();
        private["kid"] = json!("k");
        private["x"] =
            v["client_assertions"]["client_assertions"]["verifier_policy"]["registered_public_jwk"]
                ["x"]
                .clone();
        assert!(SigningKey::from_jwk(&private).is_err());
    }
}
