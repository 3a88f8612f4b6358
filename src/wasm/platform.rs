//! The platform APIs the package calls: WebCrypto (`crypto.subtle`), `fetch`, `Headers`,
//! `Response` and IndexedDB. Structural bindings looked up on `globalThis` at call time,
//! so one build works in browsers, workers and Node 20; nothing here holds logic.

use alloc::{string::String, vec::Vec};

use js_sys::{Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::{js_error, js_error_with_cause, object, set};
use crate::error::Error;

#[wasm_bindgen]
extern "C" {
    /// `SubtleCrypto`.
    pub(crate) type Subtle;

    #[wasm_bindgen(method, catch, js_name = generateKey)]
    fn generate_key(
        this: &Subtle,
        algorithm: &JsValue,
        extractable: bool,
        usages: &JsValue,
    ) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn sign(
        this: &Subtle,
        algorithm: &JsValue,
        key: &JsValue,
        data: &[u8],
    ) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch, js_name = exportKey)]
    fn export_key(this: &Subtle, format: &str, key: &JsValue) -> Result<Promise, JsValue>;

    /// The global `fetch`.
    #[wasm_bindgen(catch, js_name = fetch)]
    fn global_fetch(url: &str, init: &JsValue) -> Result<Promise, JsValue>;

    /// A Fetch `Response`.
    #[wasm_bindgen(typescript_type = "Response")]
    pub type Response;

    #[wasm_bindgen(method, getter)]
    pub(crate) fn status(this: &Response) -> u16;

    #[wasm_bindgen(method, getter)]
    pub(crate) fn headers(this: &Response) -> Headers;

    #[wasm_bindgen(method, catch)]
    fn text(this: &Response) -> Result<Promise, JsValue>;

    /// A Fetch `Headers`.
    pub(crate) type Headers;

    #[wasm_bindgen(constructor, catch)]
    pub(crate) fn new(init: &JsValue) -> Result<Headers, JsValue>;

    #[wasm_bindgen(method, catch)]
    fn get(this: &Headers, name: &str) -> Result<Option<String>, JsValue>;

    #[wasm_bindgen(method, catch)]
    pub(crate) fn set(this: &Headers, name: &str, value: &str) -> Result<(), JsValue>;
}

#[wasm_bindgen(module = "/src/wasm/idb.js")]
extern "C" {
    #[wasm_bindgen(catch, js_name = idbRequest)]
    fn idb_request(op: &str, key: &str, value: &JsValue) -> Result<Promise, JsValue>;
}

/// `globalThis[name]`, when it is an object or function.
fn global_member(name: &str) -> Option<JsValue> {
    Reflect::get(&js_sys::global(), &JsValue::from_str(name))
        .ok()
        .filter(|v| v.is_object() || v.is_function())
}

/// `globalThis.crypto.subtle`.
fn subtle() -> Result<Subtle, JsValue> {
    global_member("crypto")
        .and_then(|c| Reflect::get(&c, &JsValue::from_str("subtle")).ok())
        .filter(JsValue::is_object)
        .map(JsCast::unchecked_into)
        .ok_or_else(|| js_error(&Error::WebCryptoUnavailable))
}

/// Awaits a WebCrypto promise; a rejection becomes `WEBCRYPTO_FAILED` with the cause.
async fn crypto_await(
    promise: Result<Promise, JsValue>,
    what: &'static str,
) -> Result<JsValue, JsValue> {
    let fail = |cause: JsValue| js_error_with_cause(&Error::WebCryptoFailed(what), &cause);
    JsFuture::from(promise.map_err(fail)?).await.map_err(fail)
}

/// `{ name: "ECDSA", ...extra }`.
fn ecdsa(key: &str, value: &str) -> JsValue {
    let alg = object();
    set(&alg, "name", &JsValue::from_str("ECDSA"));
    set(&alg, key, &JsValue::from_str(value));
    alg
}

/// `generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"])`: a
/// non-extractable `CryptoKeyPair`.
pub(crate) async fn generate_p256_pair() -> Result<JsValue, JsValue> {
    let subtle = subtle()?;
    let usages = js_sys::Array::of2(&"sign".into(), &"verify".into());
    crypto_await(
        subtle.generate_key(&ecdsa("namedCurve", "P-256"), false, &usages),
        "generateKey (ECDSA P-256)",
    )
    .await
}

/// `exportKey("jwk", key)`, as JSON text for the core's strict parser.
pub(crate) async fn export_jwk_json(key: &JsValue) -> Result<String, JsValue> {
    let subtle = subtle()?;
    let jwk = crypto_await(subtle.export_key("jwk", key), "exportKey (jwk)").await?;
    js_sys::JSON::stringify(&jwk)
        .ok()
        .and_then(|s| s.as_string())
        .ok_or_else(|| js_error(&Error::WebCryptoFailed("exportKey returned no JWK")))
}

/// `sign({ name: "ECDSA", hash: "SHA-256" }, key, data)`: raw `r || s`.
pub(crate) async fn sign_es256(private_key: &JsValue, data: &[u8]) -> Result<Vec<u8>, JsValue> {
    let subtle = subtle()?;
    // WebCrypto copies `data` before sign() returns, so the view into wasm memory is not
    // used after this call.
    let signature = crypto_await(
        subtle.sign(&ecdsa("hash", "SHA-256"), private_key, data),
        "sign (ECDSA P-256 SHA-256)",
    )
    .await?;
    if !signature.is_instance_of::<js_sys::ArrayBuffer>() {
        return Err(js_error(&Error::WebCryptoFailed(
            "sign did not return an ArrayBuffer",
        )));
    }
    Ok(Uint8Array::new(&signature).to_vec())
}

/// One IndexedDB request (`get`, `put` or `delete`) on the package's key store.
pub(crate) async fn idb(op: &str, key: &str, value: &JsValue) -> Result<JsValue, JsValue> {
    if global_member("indexedDB").is_none() {
        return Err(js_error(&Error::StorageUnavailable));
    }
    let fail = |cause: JsValue| {
        js_error_with_cause(
            &Error::StorageFailed(match op {
                "put" => "could not store the key",
                "delete" => "could not delete the key",
                _ => "could not read the key",
            }),
            &cause,
        )
    };
    JsFuture::from(idb_request(op, key, value).map_err(fail)?)
        .await
        .map_err(fail)
}

/// A response read to the end: status, the headers a client needs, and the body text.
pub(crate) struct ReadResponse {
    pub status: u16,
    pub dpop_nonce: Option<String>,
    pub www_authenticate: Option<String>,
    pub body: String,
}

/// Reads a header; a `Headers` that throws counts as absent.
pub(crate) fn response_header(response: &Response, name: &str) -> Option<String> {
    response.headers().get(name).ok().flatten()
}

/// `fetch(url, init)`; a rejection (network, CORS, abort) is `FETCH_FAILED` with the cause.
pub(crate) async fn fetch(url: &str, init: &Object) -> Result<Response, JsValue> {
    let fail = |cause: JsValue| js_error_with_cause(&Error::FetchFailed, &cause);
    let response = JsFuture::from(global_fetch(url, init).map_err(fail)?)
        .await
        .map_err(fail)?;
    Ok(response.unchecked_into())
}

/// `fetch` followed by `response.text()`.
pub(crate) async fn fetch_text(url: &str, init: &Object) -> Result<ReadResponse, JsValue> {
    let response = fetch(url, init).await?;
    let fail = |cause: JsValue| js_error_with_cause(&Error::FetchFailed, &cause);
    let body = JsFuture::from(response.text().map_err(fail)?)
        .await
        .map_err(fail)?
        .as_string()
        .unwrap_or_default();
    Ok(ReadResponse {
        status: response.status(),
        dpop_nonce: response_header(&response, "DPoP-Nonce"),
        www_authenticate: response_header(&response, "WWW-Authenticate"),
        body,
    })
}
