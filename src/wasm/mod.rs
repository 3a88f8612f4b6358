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
//! and its cross-tab single flight) is the package's public face: it re-exports the
//! functions here that are public API and calls the others for every protocol decision.
//!
//! This is the only module that names wasm-bindgen, js-sys or getrandom. Every export is
//! a thin shell over a core value: it reads its arguments strictly (a wrong type is an
//! `ARGUMENT_INVALID` error, never a silent coercion), calls the core, and turns a core
//! [`Error`] into a JS `Error` whose `.code` is the stable library code.

// Each entry compiles only the helpers its exports use.
#![cfg_attr(not(all(feature = "wasm", feature = "wasm-p256")), allow(dead_code))]

use alloc::string::String;

use js_sys::{Function, Object, Reflect};
use wasm_bindgen::prelude::*;
use zeroize::Zeroizing;

use crate::error::Error;

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
    build_authorization_url, build_par_request_body, parse_authorization_response_js,
    parse_par_response_js, parse_server_metadata, validate_id_token_claims,
};
#[cfg(feature = "wasm")]
pub use client::{
    NonceCache, is_use_dpop_nonce_js, revocation_body, revocation_response, token_response,
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
pub use pkce::{calculate_code_challenge, generate_code_verifier, generate_pkce};
#[cfg(feature = "wasm")]
pub use token::{
    authorization_code_grant_body, basic_credentials, client_credentials_grant_body,
    endpoint_origin, parse_token_response_js, refresh_token_grant_body,
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

/// A fresh plain object.
pub(crate) fn object() -> JsValue {
    Object::new().into()
}

/// Reads `obj[key]`: `None` when it is `undefined` or `null`.
pub(crate) fn get(obj: &JsValue, key: &str) -> Option<JsValue> {
    Reflect::get(obj, &JsValue::from_str(key))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

/// Checks that an options argument is a plain object.
pub(crate) fn expect_object(value: &JsValue, what: &'static str) -> Result<(), JsValue> {
    if value.is_object() && !value.is_function() && !js_sys::Array::is_array(value) {
        Ok(())
    } else {
        Err(js_error(&Error::ArgumentInvalid(what)))
    }
}

/// Reads an optional string member; any other type is `ARGUMENT_INVALID` naming it.
pub(crate) fn opt_string(
    obj: &JsValue,
    key: &str,
    what: &'static str,
) -> Result<Option<String>, JsValue> {
    match get(obj, key) {
        None => Ok(None),
        Some(v) => v
            .as_string()
            .map(Some)
            .ok_or_else(|| js_error(&Error::ArgumentInvalid(what))),
    }
}

/// Reads a required string member.
pub(crate) fn req_string(obj: &JsValue, key: &str, what: &'static str) -> Result<String, JsValue> {
    opt_string(obj, key, what)?.ok_or_else(|| js_error(&Error::ArgumentInvalid(what)))
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

/// Reads an optional integer member (a finite JS number with no fraction, in the safe
/// integer range).
pub(crate) fn opt_integer(
    obj: &JsValue,
    key: &str,
    what: &'static str,
) -> Result<Option<i64>, JsValue> {
    match get(obj, key) {
        None => Ok(None),
        Some(v) => match v.as_f64().and_then(safe_integer) {
            Some(n) => Ok(Some(n)),
            None => Err(js_error(&Error::ArgumentInvalid(what))),
        },
    }
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

/// Accepts a JWK either as a JS object or as a JSON string and returns its JSON text,
/// wiped when dropped: it may be a private key.
pub(crate) fn jwk_json(value: &JsValue, what: &'static str) -> Result<Zeroizing<String>, JsValue> {
    if let Some(s) = value.as_string() {
        return Ok(Zeroizing::new(s));
    }
    expect_object(value, what)?;
    js_sys::JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .map(Zeroizing::new)
        .ok_or_else(|| js_error(&Error::ArgumentInvalid(what)))
}

/// Parses a JSON text produced by the core into a JS value.
pub(crate) fn json_to_js(json: &str) -> Result<JsValue, JsValue> {
    js_sys::JSON::parse(json).map_err(|_| js_error(&Error::JsonInvalid("internal JSON")))
}

/// Reads one header from a `Headers` instance, a `Map`-like object with `get`, or a plain
/// object whose keys are compared case-insensitively.
pub(crate) fn header(headers: &JsValue, name: &str) -> Result<Option<String>, JsValue> {
    if headers.is_undefined() || headers.is_null() {
        return Ok(None);
    }
    expect_object(
        headers,
        "headers must be a Headers instance or a plain object",
    )?;
    if let Some(get_fn) = get(headers, "get").and_then(|f| f.dyn_into::<Function>().ok()) {
        let v = get_fn
            .call1(headers, &JsValue::from_str(name))
            .map_err(|_| js_error(&Error::ArgumentInvalid("headers.get failed")))?;
        return Ok(v.as_string());
    }
    let entries = Object::entries(headers.unchecked_ref());
    for entry in entries.iter() {
        let key = Reflect::get_u32(&entry, 0).ok().and_then(|k| k.as_string());
        if key.is_some_and(|k| k.eq_ignore_ascii_case(name)) {
            let v = Reflect::get_u32(&entry, 1).unwrap_or(JsValue::UNDEFINED);
            return match v.as_string() {
                Some(s) => Ok(Some(s)),
                None => Err(js_error(&Error::ArgumentInvalid(
                    "header values must be strings",
                ))),
            };
        }
    }
    Ok(None)
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
