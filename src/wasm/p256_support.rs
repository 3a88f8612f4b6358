//! What the default entry does for `edge-oauth/p256`, whose wasm only signs and verifies
//! bytes (`super::p256`): reading a private JWK strictly, and picking the keys and bytes
//! an ES256 ID token is verified with. `src/js/p256.js` joins the two modules.

use alloc::string::String;
use alloc::vec::Vec;

use js_sys::{Object, Uint8Array};
use wasm_bindgen::prelude::*;
use zeroize::Zeroizing;

use super::{js, js_error, set};
use crate::error::Error;
use crate::json::{self, Value};
use crate::jwk::PrivateJwkMembers;
use crate::jws::Algorithm;
use crate::oidc::{DEFAULT_ID_TOKEN_ALGORITHMS, id_token_signature_keys};

/// Reads a private EC P-256 JWK (JSON text) as strictly as the core's `EcPrivateJwk::parse`,
/// except the checks that need P-256 arithmetic (`d` in range and matching `x` and `y`,
/// which `edge-oauth/p256`'s `P256Key.fromMembers` makes), and returns `d || x || y`
/// (96 octets). The text and every Rust copy of `d` are wiped (internal to the JS layer:
/// the caller wipes the returned array once the key is made).
///
/// ```js
/// const members = privateJwkMembers(JSON.stringify(jwk));
/// ```
#[wasm_bindgen(js_name = privateJwkMembers)]
pub fn private_jwk_members(
    #[wasm_bindgen(js_name = privateJwkJson)] private_jwk_json: String,
) -> Result<Uint8Array, JsValue> {
    let json = Zeroizing::new(private_jwk_json);
    let members = js(PrivateJwkMembers::parse(&json))?;
    let mut bytes = Zeroizing::new([0u8; 96]);
    bytes[..32].copy_from_slice(members.d.as_slice());
    bytes[32..64].copy_from_slice(&members.x);
    bytes[64..].copy_from_slice(&members.y);
    // Copied from the wiped stack buffer into a new JS array: no copy in the wasm heap.
    Ok(Uint8Array::from(bytes.as_slice()))
}

/// What verifying an ES256 ID token against a JWKS (JSON text) takes, as
/// `{ input, signature, keys }`: the JWS signing input, the raw signature and the candidate
/// keys' `x || y` one after the other (64 octets each, in the set's order), one of which
/// must verify it (`verify` of `edge-oauth/p256`; none is `JWS_SIGNATURE_INVALID`).
/// `algorithms` is the JSON text of the accepted `alg` names, or `undefined` for the
/// default list (internal to the JS layer: `src/js/claims.js` checks the arguments' types).
///
/// ```js
/// const { input, signature, keys } = idTokenSignatureKeys(idToken, JSON.stringify(jwks), undefined);
/// ```
#[wasm_bindgen(js_name = idTokenSignatureKeys)]
pub fn id_token_signature_keys_js(
    #[wasm_bindgen(js_name = idToken)] id_token: &str,
    #[wasm_bindgen(js_name = jwksJson)] jwks_json: &str,
    #[wasm_bindgen(js_name = algorithmsJson)] algorithms_json: Option<String>,
) -> Result<JsValue, JsValue> {
    const ALGORITHMS: &str = "algorithms must be an array of JWS alg names";
    let algorithms = match algorithms_json {
        None => DEFAULT_ID_TOKEN_ALGORITHMS.to_vec(),
        Some(text) => {
            let Ok(Value::Array(names)) = json::parse(text.as_bytes()) else {
                return Err(js_error(&Error::ArgumentInvalid(ALGORITHMS)));
            };
            let mut out = Vec::with_capacity(names.len());
            for name in &names {
                let name = name
                    .as_str()
                    .ok_or_else(|| js_error(&Error::ArgumentInvalid(ALGORITHMS)))?;
                out.push(js(Algorithm::parse(name))?);
            }
            out
        }
    };
    let (decoded, keys) = js(id_token_signature_keys(id_token, &algorithms, jwks_json))?;
    let mut points = Vec::with_capacity(64 * keys.len());
    for key in &keys {
        points.extend_from_slice(key.x());
        points.extend_from_slice(key.y());
    }
    let out: JsValue = Object::new().into();
    set(&out, "input", &JsValue::from_str(decoded.signing_input()));
    set(
        &out,
        "signature",
        &Uint8Array::from(decoded.signature()).into(),
    );
    set(&out, "keys", &Uint8Array::from(points.as_slice()).into());
    Ok(out)
}
