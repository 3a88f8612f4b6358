//! The `edge-oauth/p256` entry: a DPoP key (RFC 9449, ES256) whose private scalar lives
//! in wasm memory. The core signs (RFC 6979), so proofs are available synchronously; the
//! build keeps the field and point arithmetic inlined, with the precomputed base-point
//! tables (`[profile.release-p256]` and scripts/build.sh, feature `std`).
//!
//! The JS `DpopKey` class of `src/js/` wraps a [`P256Key`] as its `p256` backend.

use alloc::string::String;

use wasm_bindgen::prelude::*;

use zeroize::Zeroizing;

use super::{js, js_error, rng};
use crate::dpop::{DpopKey, ProofOptions};
use crate::error::Error;
use crate::json::{self, Value};
use crate::jws::Algorithm;
use crate::oidc::{DEFAULT_ID_TOKEN_ALGORITHMS, verify_id_token_signature};

/// `Number.MAX_SAFE_INTEGER`: larger JS numbers are not exact integers.
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// A P-256 DPoP key in wasm memory (internal to the JS layer; applications use
/// `DpopKey.generate()` and `DpopKey.fromJwk()` of `edge-oauth/p256`).
///
/// ```js
/// const key = P256Key.generate();
/// const proof = key.createProof({ htm: "POST", htu: tokenEndpoint });
/// ```
#[wasm_bindgen(js_name = P256Key)]
pub struct P256Key {
    key: DpopKey,
}

#[wasm_bindgen(js_class = P256Key)]
impl P256Key {
    /// Generates a fresh key from the platform CSPRNG.
    ///
    /// ```js
    /// const key = P256Key.generate();
    /// ```
    #[wasm_bindgen(js_name = generate)]
    pub fn generate() -> P256Key {
        P256Key {
            key: DpopKey::generate(&mut rng()),
        }
    }

    /// Imports a private EC P-256 JWK from its JSON text, checked strictly (`src/js/p256.js`
    /// turns a JWK object into that text). The text is wiped when the import is done.
    ///
    /// ```js
    /// const key = P256Key.fromJwk(JSON.stringify(savedPrivateJwk));
    /// ```
    #[wasm_bindgen(js_name = fromJwk)]
    pub fn from_jwk(
        #[wasm_bindgen(js_name = privateJwkJson)] private_jwk_json: String,
    ) -> Result<P256Key, JsValue> {
        let json = Zeroizing::new(private_jwk_json);
        Ok(P256Key {
            key: js(DpopKey::from_private_jwk_json(&json))?,
        })
    }

    /// The canonical public JWK as JSON text.
    ///
    /// ```js
    /// JSON.parse(key.publicJwkJson); // { crv, kty, x, y }
    /// ```
    #[wasm_bindgen(getter, js_name = publicJwkJson)]
    pub fn public_jwk_json(&self) -> String {
        self.key.public_jwk().to_json()
    }

    /// The RFC 7638 thumbprint of the public key.
    ///
    /// ```js
    /// key.thumbprint;
    /// ```
    #[wasm_bindgen(getter)]
    pub fn thumbprint(&self) -> String {
        self.key.thumbprint()
    }

    /// The private JWK as JSON text. Keep it secret.
    ///
    /// ```js
    /// JSON.parse(key.privateJwkJson()); // { crv, d, kty, x, y }
    /// ```
    #[wasm_bindgen(js_name = privateJwkJson, unchecked_return_type = "string")]
    pub fn private_jwk_json(&self) -> JsValue {
        // Copied straight from the wiped buffer into a JS string: no Rust copy is left.
        JsValue::from_str(self.key.to_private_jwk().to_json().as_str())
    }

    /// Signs a proof synchronously. The members of `CreateProofOptions` come as plain
    /// arguments, already type-checked by `src/js/p256.js` (reading them from a JS object
    /// here cost about 4 KB of glue per member); `iat` must be an integer number of seconds.
    ///
    /// ```js
    /// key.createProof("GET", htu, Math.floor(Date.now() / 1000), undefined, nonce, accessToken);
    /// ```
    #[wasm_bindgen(js_name = createProof)]
    pub fn create_proof(
        &self,
        htm: &str,
        htu: &str,
        iat: f64,
        jti: Option<String>,
        nonce: Option<String>,
        #[wasm_bindgen(js_name = accessToken)] access_token: Option<String>,
    ) -> Result<String, JsValue> {
        if iat.fract() != 0.0 || iat.abs() > MAX_SAFE_INTEGER {
            return Err(js_error(&Error::ArgumentInvalid(
                "iat must be an integer number of seconds",
            )));
        }
        let options = ProofOptions {
            htm,
            htu,
            // Integral and in range (checked above): the conversion is exact.
            iat: iat as i64,
            jti: jti.as_deref(),
            nonce: nonce.as_deref(),
            access_token: access_token.as_deref(),
        };
        js(self.key.create_proof(&options, &mut rng()))
    }
}

/// Verifies an ID token's ES256 signature against a JWKS (JSON text), for the default
/// entry's `validateIdTokenClaims({ jwks })`, which carries no P-256 arithmetic (internal
/// to the JS layer: `src/js/claims.js` checks that `idToken` is a string and turns `jwks`
/// into its JSON text). `algorithms` is the JSON text of the accepted `alg` names, or
/// `undefined` for the default list.
///
/// ```js
/// verifyIdTokenSignature(idToken, JSON.stringify(jwks), JSON.stringify(["ES256"]));
/// ```
#[wasm_bindgen(js_name = verifyIdTokenSignature)]
pub fn verify_id_token_signature_js(
    #[wasm_bindgen(js_name = idToken)] id_token: &str,
    #[wasm_bindgen(js_name = jwksJson)] jwks_json: &str,
    #[wasm_bindgen(js_name = algorithmsJson)] algorithms_json: Option<String>,
) -> Result<(), JsValue> {
    const ALGORITHMS: &str = "algorithms must be an array of JWS alg names";
    let algorithms = match algorithms_json {
        None => DEFAULT_ID_TOKEN_ALGORITHMS.to_vec(),
        Some(text) => {
            let Ok(Value::Array(names)) = json::parse(text.as_bytes()) else {
                return Err(js_error(&Error::ArgumentInvalid(ALGORITHMS)));
            };
            let mut out = alloc::vec::Vec::with_capacity(names.len());
            for name in &names {
                let name = name
                    .as_str()
                    .ok_or_else(|| js_error(&Error::ArgumentInvalid(ALGORITHMS)))?;
                out.push(js(Algorithm::parse(name))?);
            }
            out
        }
    };
    js(verify_id_token_signature(id_token, &algorithms, jwks_json))
}
