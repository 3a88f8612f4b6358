//! PKCE (RFC 7636) for JavaScript. `generatePkce` is these two in the JS layer.

use alloc::string::String;

use wasm_bindgen::prelude::*;

use super::{js, rng, string_arg};
use crate::pkce::CodeVerifier;

/// Generates a fresh `code_verifier` from 32 random bytes (43 characters).
///
/// ```js
/// const verifier = generateCodeVerifier(); // "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"-like
/// ```
#[wasm_bindgen(js_name = generateCodeVerifier)]
pub fn generate_code_verifier() -> Result<String, JsValue> {
    let verifier = CodeVerifier::generate(&mut rng());
    Ok(String::from(verifier.as_str()))
}

/// Computes the S256 `code_challenge` of a verifier, after checking that the verifier
/// is 43-128 characters from the unreserved set. A non-string is `ARGUMENT_INVALID`.
///
/// ```js
/// calculateCodeChallenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
/// // "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
/// ```
#[wasm_bindgen(js_name = calculateCodeChallenge)]
pub fn calculate_code_challenge(
    #[wasm_bindgen(unchecked_param_type = "string")] verifier: &JsValue,
) -> Result<String, JsValue> {
    let verifier = string_arg(verifier, "verifier must be a string")?;
    let verifier = js(CodeVerifier::new(verifier))?;
    Ok(String::from(verifier.challenge().as_str()))
}
