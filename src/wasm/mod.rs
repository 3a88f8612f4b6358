//! The synchronous JavaScript face of the core, built by `scripts/build.sh` into `pkg/`.
//!
//! Two wasm modules come from here:
//!
//! - feature `wasm`, `pkg/edge_oauth_bg.wasm`: PKCE, thumbprints, the DPoP signing input
//!   for a WebCrypto key, token bodies, strict parsing and the nonce cache. No signing.
//! - feature `wasm-p256`, `pkg/edge_oauth_p256_bg.wasm`: a P-256 key in wasm memory that
//!   signs synchronously, and ES256 verification, over bytes (the default module reads
//!   the JWKs and JWSs and builds the proofs around it).
//!
//! The hand-written JS layer in `src/js/` (fetch, WebCrypto, IndexedDB, the token store
//! and its cross-tab single flight) is the package's public face: it calls the functions
//! here for every protocol decision. An options object is taken apart in JS
//! (`src/js/protocol.js`): the exports take its members as arguments, each a `JsValue`
//! (which crosses the boundary without glue code, where a property read from wasm costs
//! an import call and a type check per member), and results that are objects come back
//! as one `JSON.parse` of the core's JSON text.
//!
//! This is the only module that names wasm-bindgen, js-sys or getrandom. Every export is
//! a thin shell over a core value: it reads its arguments strictly (a wrong type is an
//! `ARGUMENT_INVALID` error, never a silent coercion), calls the core, and turns a core
//! [`Error`] into a JS `Error` whose `.code` is the stable library code.

// Each entry compiles only the helpers its exports use.
#![cfg_attr(not(all(feature = "wasm", feature = "wasm-p256")), allow(dead_code))]

use alloc::{string::String, vec::Vec};

use js_sys::Reflect;
use wasm_bindgen::prelude::*;

use crate::error::Error;
use crate::json::{self, ObjectWriter};

#[cfg(feature = "wasm")]
mod authorize;
#[cfg(feature = "wasm")]
mod client;
#[cfg(feature = "wasm")]
mod device;
#[cfg(feature = "wasm")]
mod dpop;
#[cfg(feature = "wasm-p256")]
mod p256;
#[cfg(feature = "wasm")]
mod p256_support;
#[cfg(feature = "wasm")]
mod pkce;
#[cfg(feature = "wasm")]
mod token;

#[cfg(feature = "wasm")]
pub use authorize::{
    authorization_request, authorization_url_from_request_uri_js, parse_authorization_response_js,
    parse_par_response_js, parse_server_metadata, validate_id_token_claims,
};
#[cfg(feature = "wasm")]
pub use client::{
    NonceCache, answer, is_use_dpop_nonce_js, revocation_body, revocation_response, token_response,
};
#[cfg(feature = "wasm")]
pub use device::{
    device_authorization_request_body, device_code_grant_body, next_device_poll_interval,
    parse_device_authorization_response_js,
};
#[cfg(feature = "wasm")]
pub use dpop::{DpopPublicKey, calculate_jwk_thumbprint, finish_proof};
#[cfg(feature = "wasm-p256")]
pub use p256::{P256Key, verify_es256_js};
#[cfg(feature = "wasm")]
pub use p256_support::{id_token_signature_keys_js, private_jwk_members};
#[cfg(feature = "wasm")]
pub use pkce::{calculate_code_challenge, generate_code_verifier};
#[cfg(feature = "wasm")]
pub use token::{
    authorization_code_grant_body, basic_credentials, client_credentials_grant_body,
    endpoint_origin, form_body, refresh_token_grant_body,
};

/// Turns a core error into a JS `Error` with `.code` (and the OAuth error members).
pub(crate) fn js_error(err: &Error) -> JsValue {
    let js = js_sys::Error::new(&err.message());
    js.set_name("EdgeOAuthError");
    let obj: &JsValue = js.as_ref();
    set(obj, "code", &JsValue::from_str(err.code()));
    if let Error::OAuth(resp) = err {
        set(obj, "error", &JsValue::from_str(&resp.error));
        set_opt_str(obj, "errorDescription", resp.error_description.as_deref());
        set_opt_str(obj, "errorUri", resp.error_uri.as_deref());
        set(obj, "status", &JsValue::from(resp.status));
        set_opt_str(obj, "dpopNonce", resp.dpop_nonce.as_deref());
    }
    js.into()
}

/// Maps a core result into a JS result.
pub(crate) fn js<T>(result: Result<T, Error>) -> Result<T, JsValue> {
    result.map_err(|e| js_error(&e))
}

/// Sets `obj[key] = value`. Setting a property on a fresh plain object cannot fail.
pub(crate) fn set(obj: &JsValue, key: &str, value: &JsValue) {
    let _ = Reflect::set(obj, &JsValue::from_str(key), value);
}

/// Sets `obj[key]` when `value` is present.
pub(crate) fn set_opt_str(obj: &JsValue, key: &str, value: Option<&str>) {
    if let Some(v) = value {
        set(obj, key, &JsValue::from_str(v));
    }
}

/// Reads a string argument. wasm-bindgen's release glue does not type-check a `String`
/// parameter (a number or an object traps the module, `undefined` throws a bare
/// `TypeError`), so exports take a `JsValue` typed `string` for TypeScript and check it
/// here: anything but a JS string primitive is `ARGUMENT_INVALID` naming it.
pub(crate) fn string_arg(value: &JsValue, what: &'static str) -> Result<String, JsValue> {
    value
        .as_string()
        .ok_or_else(|| js_error(&Error::ArgumentInvalid(what)))
}

/// Reads an optional string argument: `undefined` / `null` is `None`, any other
/// non-string `ARGUMENT_INVALID` naming it.
pub(crate) fn opt_arg(value: &JsValue, what: &'static str) -> Result<Option<String>, JsValue> {
    if value.is_null_or_undefined() {
        return Ok(None);
    }
    string_arg(value, what).map(Some)
}

/// Reads an optional non-negative integer argument (a JS number with no fraction, at
/// most 2^53 - 1): `undefined` / `null` is `None`.
pub(crate) fn opt_non_negative(
    value: &JsValue,
    what: &'static str,
) -> Result<Option<u64>, JsValue> {
    if value.is_null_or_undefined() {
        return Ok(None);
    }
    match value.as_f64().and_then(safe_integer).map(u64::try_from) {
        Some(Ok(n)) => Ok(Some(n)),
        _ => Err(js_error(&Error::ArgumentInvalid(what))),
    }
}

/// A string result: a JS string made in one call (the glue of a returned `String` frees
/// the wasm copy in JS, for every export that returns one).
pub(crate) fn js_string(s: &str) -> JsValue {
    JsValue::from_str(s)
}

/// Parses a JSON text produced by the core into a JS value.
pub(crate) fn json_to_js(json: &str) -> Result<JsValue, JsValue> {
    js_sys::JSON::parse(json).map_err(|_| js_error(&Error::JsonInvalid("internal JSON")))
}

/// `n` as an integer when it is one in the safe range (±(2^53 - 1)): no fraction, not
/// NaN or infinite. (No `f64::fract` without std: the range check comes first, so the
/// conversion either is exact or drops a fraction, which the comparison then sees.)
pub(crate) fn safe_integer(n: f64) -> Option<i64> {
    const MAX: f64 = 9_007_199_254_740_991.0;
    if !(-MAX..=MAX).contains(&n) {
        return None;
    }
    let i = n as i64;
    (i as f64 == n).then_some(i)
}

/// The strings of a JS array; anything else (or a non-string item) is `ARGUMENT_INVALID`.
pub(crate) fn string_array(value: &JsValue, what: &'static str) -> Result<Vec<String>, JsValue> {
    if !js_sys::Array::is_array(value) {
        return Err(js_error(&Error::ArgumentInvalid(what)));
    }
    let array = js_sys::Array::from(value);
    let mut out = Vec::with_capacity(array.length() as usize);
    for item in array.iter() {
        out.push(string_arg(&item, what)?);
    }
    Ok(out)
}

/// An optional list argument: `undefined` / `null` is empty, else a JS array of strings.
pub(crate) fn string_list(value: &JsValue, what: &'static str) -> Result<Vec<String>, JsValue> {
    if value.is_null_or_undefined() {
        return Ok(Vec::new());
    }
    string_array(value, what)
}

/// A result object, written as JSON text and made a JS object by one `JSON.parse` (a
/// property write across the boundary per member is no smaller in wasm).
pub(crate) struct Json(ObjectWriter);

impl Json {
    pub(crate) fn new() -> Self {
        Json(ObjectWriter::new())
    }

    pub(crate) fn string(self, name: &str, value: &str) -> Self {
        Json(self.0.string(name, value))
    }

    /// A string member when `value` is present (absent otherwise, as a property left unset).
    pub(crate) fn opt_string(self, name: &str, value: Option<&str>) -> Self {
        match value {
            Some(v) => self.string(name, v),
            None => self,
        }
    }

    /// A number member, written exactly (`JSON.parse` then rounds it to the nearest JS
    /// number, as `value as f64` does): lifetimes may be as large as the core accepts.
    pub(crate) fn uint(self, name: &str, value: u64) -> Self {
        let mut digits = String::new();
        crate::json::write_u64(&mut digits, value);
        Json(self.0.raw(name, &digits))
    }

    pub(crate) fn bool(self, name: &str, value: bool) -> Self {
        Json(self.0.bool(name, value))
    }

    /// An array of strings.
    pub(crate) fn list(self, name: &str, items: &[String]) -> Self {
        let mut out = String::from("[");
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            json::write_str(&mut out, item);
        }
        out.push(']');
        Json(self.0.raw(name, &out))
    }

    /// Closes the object and makes it a JS object.
    pub(crate) fn into_js(self) -> Result<JsValue, JsValue> {
        json_to_js(&self.0.finish())
    }
}

/// The current time in whole seconds since the Unix epoch, from `Date.now()`.
pub(crate) fn now_seconds() -> i64 {
    // Date.now() is a finite millisecond count well inside i64 range.
    // Positive: the truncation is the floor.
    (js_sys::Date::now() / 1000.0) as i64
}

/// The platform CSPRNG (`crypto.getRandomValues`), as an infallible rand_core RNG.
///
/// `getRandomValues` only fails when the platform has no CSPRNG at all; nothing in this
/// package can work then, so that failure aborts instead of returning an error.
pub(crate) fn rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}
