//! DPoP keys and proofs (RFC 9449) and JWK thumbprints (RFC 7638) for JavaScript.

use alloc::string::String;

use wasm_bindgen::prelude::*;

use super::{
    expect_object, js, json_to_js, jwk_json, now_seconds, opt_integer, opt_string, req_string, rng,
};
use crate::dpop::{DpopKey as CoreDpopKey, ProofOptions};
use crate::jwk;

#[wasm_bindgen(typescript_custom_section)]
const TS_DPOP: &'static str = r#"
/** A public EC P-256 JWK. */
export interface PublicJwk {
  kty: "EC";
  crv: "P-256";
  /** base64url of the 32-byte x coordinate. */
  x: string;
  /** base64url of the 32-byte y coordinate. */
  y: string;
}

/** A private EC P-256 JWK. Keep it secret. */
export interface PrivateJwk extends PublicJwk {
  /** base64url of the 32-byte private scalar. */
  d: string;
}

/** Any JWK whose RFC 7638 thumbprint can be computed (EC P-256 or RSA). */
export interface Jwk {
  kty: string;
  [member: string]: unknown;
}

/** What a DPoP proof is for. */
export interface CreateProofOptions {
  /** The HTTP method of the request, e.g. `"POST"`. */
  htm: string;
  /** The request URL; its query and fragment are dropped. */
  htu: string;
  /** The last `DPoP-Nonce` the server sent. */
  nonce?: string;
  /** The access token, when calling a resource server (adds `ath`). */
  accessToken?: string;
  /** Issued-at in seconds since the epoch; defaults to now. */
  iat?: number;
  /** A unique proof id; defaults to 128 random bits. */
  jti?: string;
}
"#;

#[wasm_bindgen]
extern "C" {
    /// The TypeScript `PublicJwk` interface.
    #[wasm_bindgen(typescript_type = "PublicJwk")]
    pub type JsPublicJwk;
    /// The TypeScript `PrivateJwk` interface.
    #[wasm_bindgen(typescript_type = "PrivateJwk")]
    pub type JsPrivateJwk;
    /// The TypeScript `Jwk` interface.
    #[wasm_bindgen(typescript_type = "Jwk | string")]
    pub type JsJwk;
    /// The TypeScript `CreateProofOptions` interface.
    #[wasm_bindgen(typescript_type = "CreateProofOptions")]
    pub type JsCreateProofOptions;
}

/// Computes the RFC 7638 SHA-256 thumbprint of an EC P-256 or RSA JWK (object or JSON
/// text), base64url-encoded.
///
/// ```js
/// calculateJwkThumbprint({ kty: "EC", crv: "P-256", x: "l8tF...", y: "9VE4..." });
/// // "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
/// ```
#[wasm_bindgen(js_name = calculateJwkThumbprint)]
pub fn calculate_jwk_thumbprint(jwk: &JsJwk) -> Result<String, JsValue> {
    let json = jwk_json(jwk, "jwk must be a JWK object or JSON string")?;
    js(jwk::thumbprint(&json))
}

/// An ES256 DPoP key whose private half stays in wasm memory (the `p256` backend).
///
/// ```js
/// const key = DpopKey.generate();
/// const proof = key.createProof({ htm: "POST", htu: "https://auth.example.com/oauth/token" });
/// ```
#[wasm_bindgen(js_name = DpopKey)]
pub struct DpopKey {
    inner: CoreDpopKey,
}

#[wasm_bindgen(js_class = DpopKey)]
impl DpopKey {
    /// Generates a fresh P-256 key from the platform CSPRNG.
    ///
    /// ```js
    /// const key = DpopKey.generate();
    /// ```
    #[wasm_bindgen(js_name = generate)]
    pub fn generate() -> Result<DpopKey, JsValue> {
        Ok(DpopKey {
            inner: CoreDpopKey::generate(&mut rng()),
        })
    }

    /// Imports a private EC P-256 JWK (object or JSON text), checked strictly.
    ///
    /// ```js
    /// const key = DpopKey.fromJwk(savedPrivateJwk);
    /// ```
    #[wasm_bindgen(js_name = fromJwk)]
    pub fn from_jwk(private_jwk: &JsPrivateJwk) -> Result<DpopKey, JsValue> {
        let json = jwk_json(
            private_jwk,
            "privateJwk must be a JWK object or JSON string",
        )?;
        let inner = js(CoreDpopKey::from_private_jwk_json(&json))?;
        Ok(DpopKey { inner })
    }

    /// The public JWK (`kty`, `crv`, `x`, `y`) that proofs carry.
    ///
    /// ```js
    /// key.publicJwk; // { kty: "EC", crv: "P-256", x: "...", y: "..." }
    /// ```
    #[wasm_bindgen(getter, js_name = publicJwk)]
    pub fn public_jwk(&self) -> Result<JsPublicJwk, JsValue> {
        Ok(json_to_js(&self.inner.public_jwk().to_json())?.unchecked_into())
    }

    /// The RFC 7638 thumbprint of the public key: the `jkt` a server binds tokens to.
    ///
    /// ```js
    /// key.thumbprint; // "VIqXp_dbQ5G9BGpq6Gi9cYH2ZiAmVtMTo-MUc4zEGGo"-like
    /// ```
    #[wasm_bindgen(getter, js_name = thumbprint)]
    pub fn thumbprint(&self) -> String {
        self.inner.thumbprint()
    }

    /// Exports the private JWK, e.g. to persist the key. Keep it secret.
    ///
    /// ```js
    /// const jwk = key.toJwk(); // { kty, crv, x, y, d }
    /// ```
    #[wasm_bindgen(js_name = toJwk)]
    pub fn to_jwk(&self) -> Result<JsPrivateJwk, JsValue> {
        let json = self.inner.to_private_jwk().to_json();
        Ok(json_to_js(json.as_str())?.unchecked_into())
    }

    /// Creates a DPoP proof JWT (`typ: dpop+jwt`, ES256) for one request.
    ///
    /// ```js
    /// const proof = key.createProof({
    ///   htm: "GET",
    ///   htu: "https://api.example.com/items",
    ///   accessToken, // adds ath
    ///   nonce,       // the last DPoP-Nonce from that server
    /// });
    /// ```
    #[wasm_bindgen(js_name = createProof)]
    pub fn create_proof(&self, options: &JsCreateProofOptions) -> Result<String, JsValue> {
        expect_object(options, "createProof options must be an object")?;
        let htm = req_string(options, "htm", "htm must be a string")?;
        let htu = req_string(options, "htu", "htu must be a string")?;
        let nonce = opt_string(options, "nonce", "nonce must be a string")?;
        let access_token = opt_string(options, "accessToken", "accessToken must be a string")?;
        let jti = opt_string(options, "jti", "jti must be a string")?;
        let iat = opt_integer(options, "iat", "iat must be an integer number of seconds")?
            .unwrap_or_else(now_seconds);
        let opts = ProofOptions {
            htm: &htm,
            htu: &htu,
            iat,
            jti: jti.as_deref(),
            nonce: nonce.as_deref(),
            access_token: access_token.as_deref(),
        };
        js(self.inner.create_proof(&opts, &mut rng()))
    }
}
