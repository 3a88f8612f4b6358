//! DPoP proofs (RFC 9449) for a WebCrypto key, and JWK thumbprints (RFC 7638).
//!
//! The private key never enters wasm: [`DpopPublicKey::proof_input`] builds the
//! proof's header and claims for the key's public JWK, `crypto.subtle.sign` (in
//! `src/js/`) signs them, and [`finish_proof`] appends the raw `r || s`. Only the
//! `edge-oauth/p256` entry (`super::p256`) signs inside wasm.

use js_sys::Uint8Array;
use wasm_bindgen::prelude::*;

use super::{js, js_error, js_string, now_seconds, opt_arg, rng, string_arg};
use crate::base64url;
use crate::dpop::{ProofHeader, ProofOptions};
use crate::error::Error;
use crate::jwk::{self, EcPublicJwk};

/// Computes the RFC 7638 SHA-256 thumbprint of an EC or RSA JWK (its JSON text: the JS
/// layer's `calculateJwkThumbprint` stringifies an object), base64url-encoded. The text
/// is wiped when dropped: it may be a private key.
///
/// ```js
/// calculateJwkThumbprint('{"kty":"EC","crv":"P-256","x":"l8tF...","y":"9VE4..."}');
/// // "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
/// ```
#[wasm_bindgen(js_name = calculateJwkThumbprint, unchecked_return_type = "string")]
pub fn calculate_jwk_thumbprint(
    #[wasm_bindgen(js_name = jwkJson, unchecked_param_type = "string")] jwk_json: &JsValue,
) -> Result<JsValue, JsValue> {
    let json = zeroize::Zeroizing::new(string_arg(
        jwk_json,
        "jwk must be a JWK object or JSON string",
    )?);
    Ok(JsValue::from_str(&js(jwk::thumbprint(&json))?))
}

/// The public half of a WebCrypto DPoP key, parsed strictly once and kept for its
/// proofs (internal to the JS layer).
///
/// ```js
/// const key = new DpopPublicKey(JSON.stringify(await crypto.subtle.exportKey("jwk", pair.publicKey)));
/// const input = key.proofInput("POST", tokenEndpoint, undefined, undefined, undefined, undefined);
/// ```
#[wasm_bindgen(js_name = DpopPublicKey)]
pub struct DpopPublicKey {
    key: EcPublicJwk,
    /// The protected header of every proof of the key, encoded once.
    header: ProofHeader,
}

#[wasm_bindgen(js_class = DpopPublicKey)]
impl DpopPublicKey {
    /// Parses an EC P-256 public JWK (JSON text): `JWK_*` errors as the core's parser.
    ///
    /// ```js
    /// new DpopPublicKey('{"kty":"EC","crv":"P-256","x":"...","y":"..."}');
    /// ```
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(js_name = jwkJson, unchecked_param_type = "string")] jwk_json: &JsValue,
    ) -> Result<DpopPublicKey, JsValue> {
        let json = string_arg(jwk_json, "jwkJson must be a string")?;
        let key = js(EcPublicJwk::parse(&json))?;
        Ok(DpopPublicKey {
            header: ProofHeader::new(&key),
            key,
        })
    }

    /// The canonical public JWK as JSON text (`crv`, `kty`, `x`, `y`).
    ///
    /// ```js
    /// JSON.parse(key.jwkJson); // { crv: "P-256", kty: "EC", x, y }
    /// ```
    #[wasm_bindgen(getter, js_name = jwkJson, unchecked_return_type = "string")]
    pub fn jwk_json(&self) -> JsValue {
        js_string(&self.key.to_json())
    }

    /// The RFC 7638 thumbprint (the `jkt`).
    ///
    /// ```js
    /// key.thumbprint; // "0ZcOCORZ..."
    /// ```
    #[wasm_bindgen(getter, unchecked_return_type = "string")]
    pub fn thumbprint(&self) -> JsValue {
        js_string(&self.key.thumbprint())
    }

    /// The ASCII JWS signing input of a proof, to be signed with ECDSA P-256 SHA-256 and
    /// completed by [`finish_proof`]. The members of `CreateProofOptions` come as
    /// arguments, already type-checked by the JS layer (`DpopKey.createProof`): one
    /// JS value per member instead of a property read each. `iat` is an integer number of
    /// seconds, `undefined` for now.
    ///
    /// ```js
    /// const input = key.proofInput("GET", htu, nonce, accessToken, undefined, undefined);
    /// ```
    #[wasm_bindgen(js_name = proofInput, unchecked_return_type = "string")]
    pub fn proof_input(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] htm: &JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] htu: &JsValue,
        #[wasm_bindgen(unchecked_param_type = "string | undefined")] nonce: &JsValue,
        #[wasm_bindgen(js_name = accessToken, unchecked_param_type = "string | undefined")]
        access_token: &JsValue,
        #[wasm_bindgen(unchecked_param_type = "number | undefined")] iat: &JsValue,
        #[wasm_bindgen(unchecked_param_type = "string | undefined")] jti: &JsValue,
    ) -> Result<JsValue, JsValue> {
        let htm = string_arg(htm, "htm must be a string")?;
        let htu = string_arg(htu, "htu must be a string")?;
        let nonce = opt_arg(nonce, "nonce must be a string")?;
        let access_token = opt_arg(access_token, "accessToken must be a string")?;
        let jti = opt_arg(jti, "jti must be a string")?;
        let iat = if iat.is_null_or_undefined() {
            now_seconds()
        } else {
            iat.as_f64().and_then(super::safe_integer).ok_or_else(|| {
                js_error(&Error::ArgumentInvalid(
                    "iat must be an integer number of seconds",
                ))
            })?
        };
        let options = ProofOptions {
            htm: &htm,
            htu: &htu,
            iat,
            jti: jti.as_deref(),
            nonce: nonce.as_deref(),
            access_token: access_token.as_deref(),
        };
        let input = js(self.header.signing_input(&options, &mut rng()))?;
        Ok(js_string(input.as_str()))
    }
}

/// Completes a proof: `input '.' BASE64URL(signature)`, after checking that the signature
/// is a raw ES256 `r || s` (64 octets, both scalars in range), which WebCrypto produces.
///
/// ```js
/// const proof = finishProof(input, new Uint8Array(await crypto.subtle.sign(alg, privateKey, bytes)));
/// ```
#[wasm_bindgen(js_name = finishProof, unchecked_return_type = "string")]
pub fn finish_proof(
    #[wasm_bindgen(unchecked_param_type = "string")] input: &JsValue,
    signature: &Uint8Array,
) -> Result<JsValue, JsValue> {
    let mut out = string_arg(input, "input must be a string")?;
    let signature = signature.to_vec();
    if !crate::curve::is_es256_signature_shape(&signature) {
        return Err(js_error(&Error::JwsSignatureInvalid));
    }
    out.push('.');
    out.push_str(&base64url::encode(&signature));
    Ok(js_string(&out))
}
