//! The `edge-oauth/p256` entry: a DPoP key (RFC 9449, ES256) whose private scalar lives
//! in wasm memory. The core signs (RFC 6979), so proofs are available synchronously; the
//! build keeps the crypto crates at `opt-level = 3` with the precomputed base-point
//! tables (`[profile.release-p256]`, feature `std`).
//!
//! The JS `DpopKey` class of `src/js/` wraps a [`P256Key`] as its `p256` backend.

use alloc::string::String;

use wasm_bindgen::prelude::*;

use super::{ProofRequest, js, jwk_json, rng};
use crate::dpop::DpopKey;

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

    /// Imports a private EC P-256 JWK (object or JSON text), checked strictly.
    ///
    /// ```js
    /// const key = P256Key.fromJwk(savedPrivateJwk);
    /// ```
    #[wasm_bindgen(js_name = fromJwk)]
    pub fn from_jwk(
        #[wasm_bindgen(js_name = privateJwk)] private_jwk: &JsValue,
    ) -> Result<P256Key, JsValue> {
        let json = jwk_json(
            private_jwk,
            "privateJwk must be a JWK object or JSON string",
        )?;
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

    /// Signs a proof (`CreateProofOptions`) synchronously.
    ///
    /// ```js
    /// key.createProof({ htm: "GET", htu, accessToken });
    /// ```
    #[wasm_bindgen(js_name = createProof)]
    pub fn create_proof(&self, options: &JsValue) -> Result<String, JsValue> {
        let request = ProofRequest::read(options)?;
        js(self.key.create_proof(&request.options(), &mut rng()))
    }
}
