//! PKCE (RFC 7636) for JavaScript. `generatePkce` is these two in the JS layer.

use wasm_bindgen::prelude::*;

use super::{js, js_string, rng, string_arg};
use crate::pkce::CodeVerifier;

/// Generates a fresh `code_verifier` from 32 random bytes (43 characters).
///
/// ```js
/// const verifier = generateCodeVerifier(); // "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"-like
/// ```
#[wasm_bindgen(js_name = generateCodeVerifier, unchecked_return_type = "string")]
pub fn generate_code_verifier() -> JsValue {
    js_string(CodeVerifier::generate(&mut rng()).as_str())
}

/// Computes the S256 `code_challenge` of a verifier, after checking that the verifier
/// is 43-128 characters from the unreserved set. A non-string is `ARGUMENT_INVALID`.
///
/// ```js
/// calculateCodeChallenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
/// // "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
/// ```
#[wasm_bindgen(js_name = calculateCodeChallenge, unchecked_return_type = "string")]
pub fn calculate_code_challenge(
    #[wasm_bindgen(unchecked_param_type = "string")] verifier: &JsValue,
) -> Result<JsValue, JsValue> {
    let verifier = string_arg(verifier, "verifier must be a string")?;
    let verifier = js(CodeVerifier::new(verifier))?;
    Ok(js_string(verifier.challenge().as_str()))
}
