//! The synchronous decisions behind the JS `TokenClient` and `fetchWithDpop`
//! (`src/js/`): the per-origin nonce cache, whether an answer asks for a nonce retry,
//! the token response check after a (DPoP) request, and the RFC 7009 revocation body and
//! answer. The JS layer does the I/O and calls these for every protocol decision.

use alloc::string::String;

use wasm_bindgen::prelude::*;

use super::token::{form, http_status, token_set_js};
use super::{js_error, js_string, now_seconds, opt_arg, set as set_prop, string_arg};
use crate::error::Error;
use crate::token::client::{NonceCache as CoreNonceCache, is_use_dpop_nonce, require_dpop_bound};
use crate::token::request::TokenRevocation;
use crate::token::response::{parse_dpop_nonce, parse_error_response, parse_token_response};
use js_sys::Object;

/// A JS string, or `undefined`.
fn opt_string(value: Option<String>) -> JsValue {
    value.map_or(JsValue::UNDEFINED, |s| js_string(&s))
}

/// The last `DPoP-Nonce` per origin (RFC 9449 §8.2, §9), one per DPoP key.
///
/// ```js
/// const nonces = new NonceCache();
/// nonces.remember(url, response.headers.get("DPoP-Nonce"));
/// const retry = nonces.retryNonce(url, usedNonce); // a string, or undefined
/// ```
#[wasm_bindgen(js_name = NonceCache)]
pub struct NonceCache {
    inner: CoreNonceCache,
}

impl Default for NonceCache {
    fn default() -> Self {
        Self::new()
    }
}

#[wasm_bindgen(js_class = NonceCache)]
impl NonceCache {
    /// An empty cache.
    ///
    /// ```js
    /// new NonceCache().get("https://as.example/"); // undefined
    /// ```
    #[wasm_bindgen(constructor)]
    pub fn new() -> NonceCache {
        NonceCache {
            inner: CoreNonceCache::new(),
        }
    }

    /// The nonce for the next proof to `url`'s origin.
    ///
    /// ```js
    /// nonces.get("https://as.example/oauth/token");
    /// ```
    #[wasm_bindgen(js_name = get, unchecked_return_type = "string | undefined")]
    pub fn get(&self, #[wasm_bindgen(unchecked_param_type = "string")] url: &JsValue) -> JsValue {
        opt_string(
            url.as_string()
                .and_then(|url| self.inner.get(&url).map(String::from)),
        )
    }

    /// Records a response's `DPoP-Nonce` header (`null` when absent); a malformed one is
    /// ignored.
    ///
    /// ```js
    /// nonces.remember(url, res.headers.get("DPoP-Nonce"));
    /// ```
    #[wasm_bindgen(js_name = remember)]
    pub fn remember(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "string")] url: &JsValue,
        #[wasm_bindgen(unchecked_param_type = "string | null | undefined")] header: &JsValue,
    ) {
        if let Some(url) = url.as_string() {
            self.inner.remember(&url, header.as_string().as_deref());
        }
    }

    /// After a `use_dpop_nonce` answer to an attempt that carried `used`: the nonce to
    /// retry with, or `undefined` when nothing new is known.
    ///
    /// ```js
    /// const retry = nonces.retryNonce(url, used);
    /// ```
    #[wasm_bindgen(js_name = retryNonce, unchecked_return_type = "string | undefined")]
    pub fn retry_nonce(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] url: &JsValue,
        #[wasm_bindgen(unchecked_param_type = "string | undefined")] used: &JsValue,
    ) -> JsValue {
        let used = used.as_string();
        opt_string(url.as_string().and_then(|url| {
            self.inner
                .retry_nonce(&url, used.as_deref())
                .map(String::from)
        }))
    }
}

/// Whether an answer asks for a retry with a DPoP nonce: a `400`/`401` JSON error
/// `use_dpop_nonce` (RFC 9449 §8) or a `401` `WWW-Authenticate: DPoP
/// error="use_dpop_nonce"` challenge (§9).
///
/// ```js
/// isUseDpopNonce(res.status, bodyText, res.headers.get("WWW-Authenticate"));
/// ```
#[wasm_bindgen(js_name = isUseDpopNonce)]
pub fn is_use_dpop_nonce_js(
    #[wasm_bindgen(unchecked_param_type = "number")] status: &JsValue,
    #[wasm_bindgen(js_name = bodyText, unchecked_param_type = "string")] body_text: &JsValue,
    #[wasm_bindgen(js_name = wwwAuthenticate, unchecked_param_type = "string | null")]
    www_authenticate: &JsValue,
) -> Result<bool, JsValue> {
    let status = http_status(status)?;
    let body = body_text.as_string().unwrap_or_default();
    let challenge = www_authenticate.as_string();
    Ok(is_use_dpop_nonce(status, &body, challenge.as_deref()))
}

/// `err` with the token set the server issued as `err.tokens` (not enumerable: a logged
/// error does not print the tokens), so that the caller can revoke what it refuses.
fn with_tokens(err: JsValue, set: &JsValue) -> JsValue {
    let descriptor = Object::new();
    set_prop(descriptor.as_ref(), "value", set);
    set_prop(descriptor.as_ref(), "writable", &JsValue::TRUE);
    set_prop(descriptor.as_ref(), "configurable", &JsValue::TRUE);
    if let Some(obj) = err.dyn_ref::<Object>() {
        Object::define_property(obj, &JsValue::from_str("tokens"), &descriptor);
    }
    err
}

/// Parses and checks the answer to a token request: the `TokenSet` of a valid `200`;
/// with `requireDpop`, a token that is not `DPoP` is `TOKEN_TYPE_MISMATCH` (RFC 9449 §5),
/// carrying the refused set as `err.tokens`; an error answer is `OAUTH_ERROR` carrying the
/// response's `DPoP-Nonce` (a malformed one is left out). `ARGUMENT_INVALID` when
/// `status` is not an integer from 100 to 599 or `bodyText` is not a string.
///
/// ```js
/// const tokens = answer(0, res.status, await res.text(), res.headers.get("DPoP-Nonce"), true);
/// ```
pub fn token_response(
    status: &JsValue,
    body_text: &JsValue,
    dpop_nonce: &JsValue,
    require_dpop: bool,
) -> Result<JsValue, JsValue> {
    let status = http_status(status)?;
    let body = string_arg(body_text, "bodyText must be a string")?;
    let now = u64::try_from(now_seconds()).unwrap_or(0);
    match parse_token_response(status, &body, now) {
        Ok(tokens) => {
            let set = token_set_js(&tokens)?;
            if require_dpop && let Err(e) = require_dpop_bound(&tokens) {
                return Err(with_tokens(js_error(&e), &set));
            }
            Ok(set)
        }
        Err(Error::OAuth(mut e)) => {
            e.dpop_nonce = dpop_nonce
                .as_string()
                .and_then(|n| parse_dpop_nonce(&n).ok());
            Err(js_error(&Error::OAuth(e)))
        }
        Err(e) => Err(js_error(&e)),
    }
}

/// The checked answer to a request: `kind` 0 a token request ([`token_response`]), 1 a
/// revocation ([`revocation_response`]: `undefined` on success), 2 a pushed authorization
/// request (`parse_par_response_js`, without `dpopNonce`), 3 a device authorization request
/// (`parse_device_authorization_response_js`, without `dpopNonce`). One export for the four:
/// each export costs a shim and a JS wrapper of its own.
///
/// ```js
/// const tokens = answer(0, res.status, await res.text(), res.headers.get("DPoP-Nonce"), true);
/// ```
#[wasm_bindgen(js_name = answer)]
pub fn answer(
    kind: u32,
    #[wasm_bindgen(unchecked_param_type = "number")] status: &JsValue,
    #[wasm_bindgen(js_name = bodyText, unchecked_param_type = "string")] body_text: &JsValue,
    #[wasm_bindgen(js_name = dpopNonce, unchecked_param_type = "string | null | undefined")]
    dpop_nonce: &JsValue,
    #[wasm_bindgen(js_name = requireDpop)] require_dpop: bool,
) -> Result<JsValue, JsValue> {
    match kind {
        0 => token_response(status, body_text, dpop_nonce, require_dpop),
        1 => revocation_response(status, body_text, dpop_nonce).map(|()| JsValue::UNDEFINED),
        2 => super::authorize::parse_par_response_js(status, body_text),
        // 3
        _ => super::device::parse_device_authorization_response_js(status, body_text),
    }
}

/// The `application/x-www-form-urlencoded` body of an RFC 7009 revocation request.
///
/// ```js
/// formBody(5, "rt-1", "refresh_token", "spa"); // "token=rt-1&token_type_hint=refresh_token&client_id=spa"
/// ```
pub fn revocation_body(
    token: &JsValue,
    token_type_hint: &JsValue,
    client_id: &JsValue,
) -> Result<JsValue, JsValue> {
    let token = string_arg(token, "token must be a string")?;
    let hint = opt_arg(token_type_hint, "tokenTypeHint must be a string")?;
    let client_id = opt_arg(client_id, "clientId must be a string")?;
    form(
        TokenRevocation {
            token: &token,
            token_type_hint: hint.as_deref(),
            client_id: client_id.as_deref(),
        }
        .to_form(),
    )
}

/// Checks the answer to a revocation (RFC 7009 §2.2): `200` is success (also for a
/// token the server did not know); anything else is `OAUTH_ERROR`, or
/// `TOKEN_RESPONSE_INVALID` when the body is not an RFC 6749 error.
///
/// ```js
/// answer(1, res.status, await res.text(), res.headers.get("DPoP-Nonce"), false);
/// ```
pub fn revocation_response(
    status: &JsValue,
    body_text: &JsValue,
    dpop_nonce: &JsValue,
) -> Result<(), JsValue> {
    let status = http_status(status)?;
    if status == 200 {
        return Ok(());
    }
    let body = string_arg(body_text, "bodyText must be a string")?;
    let nonce = dpop_nonce.as_string();
    Err(js_error(
        &match parse_error_response(status, &body, nonce.as_deref()) {
            Ok(e) => Error::OAuth(e),
            Err(_) => Error::TokenResponseInvalid("unexpected HTTP status"),
        },
    ))
}
