//! DPoP keys and proofs (RFC 9449) and JWK thumbprints (RFC 7638) for JavaScript.
//!
//! One `DpopKey` class, two backends:
//!
//! - **webcrypto** (`DpopKey.generateNonExtractable()`, `load()`, `fromCryptoKeyPair()`):
//!   a WebCrypto `CryptoKeyPair`. The core builds the proof's signing input
//!   ([`proof_signing_input`]), `crypto.subtle.sign` signs it, and the core appends the
//!   raw `r || s` ([`SigningInput::finish`](crate::jws::SigningInput::finish)): the
//!   private key never enters wasm memory. Proofs are asynchronous.
//! - **p256** (`DpopKey.generate()`, `fromJwk()`): the private scalar lives in wasm
//!   memory and the core signs (RFC 6979). Proofs are also available synchronously.

use alloc::{rc::Rc, string::String};
use core::cell::RefCell;

use js_sys::{Function, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::platform;
use super::{
    expect_object, get, js, js_error, js_error_with_cause, json_to_js, jwk_json, now_seconds,
    object, opt_integer, opt_string, req_string, rng, set, string_arg,
};
use crate::dpop::{DpopKey as CoreDpopKey, ProofOptions, proof_signing_input};
use crate::error::Error;
use crate::jwk::{self, EcPublicJwk};
use crate::token::client::NonceCache;

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

/**
 * Where a DpopKey's private key lives: `"webcrypto"` (a WebCrypto CryptoKey, usually
 * non-extractable) or `"p256"` (a P-256 scalar inside the wasm module).
 */
export type DpopKeyBackend = "p256" | "webcrypto";

"#;

#[wasm_bindgen]
extern "C" {
    /// The TypeScript `PublicJwk` interface.
    #[wasm_bindgen(typescript_type = "PublicJwk")]
    pub type JsPublicJwk;
    /// The TypeScript `PrivateJwk` interface.
    #[wasm_bindgen(typescript_type = "PrivateJwk")]
    pub type JsPrivateJwk;
    /// What `fromJwk` takes: a private JWK object or its JSON text.
    #[wasm_bindgen(typescript_type = "PrivateJwk | string")]
    pub type JsPrivateJwkOrJson;
    /// The TypeScript `Jwk` interface.
    #[wasm_bindgen(typescript_type = "Jwk | string")]
    pub type JsJwk;
    /// The TypeScript `CreateProofOptions` interface.
    #[wasm_bindgen(typescript_type = "CreateProofOptions")]
    pub type JsCreateProofOptions;
    /// The TypeScript `DpopKeyBackend` type.
    #[wasm_bindgen(typescript_type = "DpopKeyBackend")]
    pub type JsDpopKeyBackend;
    /// A WebCrypto `CryptoKeyPair`.
    #[wasm_bindgen(typescript_type = "CryptoKeyPair")]
    pub type JsCryptoKeyPair;
    /// `Promise<string>`.
    #[wasm_bindgen(typescript_type = "Promise<string>")]
    pub type JsPromiseString;
    /// `Promise<DpopKey>`.
    #[wasm_bindgen(typescript_type = "Promise<DpopKey>")]
    pub type JsPromiseDpopKey;
    /// `Promise<DpopKey | undefined>`.
    #[wasm_bindgen(typescript_type = "Promise<DpopKey | undefined>")]
    pub type JsPromiseOptionalDpopKey;
    /// `Promise<void>`.
    #[wasm_bindgen(typescript_type = "Promise<void>")]
    pub type JsPromiseVoid;
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

// ----- the key and its backends ----------------------------------------------------------

/// Where the private key lives.
enum Backend {
    /// In wasm memory; the core signs.
    P256(CoreDpopKey),
    /// A WebCrypto key pair; `crypto.subtle.sign` signs.
    WebCrypto {
        pair: JsValue,
        private_key: JsValue,
        public: EcPublicJwk,
    },
}

/// The state behind a JS `DpopKey`, shared with the `TokenClient`s and `fetchWithDpop`
/// calls that use it (they hold an `Rc`, so a key stays usable by them even after the
/// application drops its `DpopKey`).
pub(crate) struct KeyInner {
    backend: Backend,
    thumbprint: String,
    /// The last `DPoP-Nonce` per origin, for the requests this key signs.
    pub(crate) nonces: RefCell<NonceCache>,
}

impl KeyInner {
    fn new(backend: Backend) -> Rc<KeyInner> {
        let thumbprint = match &backend {
            Backend::P256(key) => key.thumbprint(),
            Backend::WebCrypto { public, .. } => public.thumbprint(),
        };
        Rc::new(KeyInner {
            backend,
            thumbprint,
            nonces: RefCell::new(NonceCache::new()),
        })
    }

    fn public_jwk(&self) -> &EcPublicJwk {
        match &self.backend {
            Backend::P256(key) => key.public_jwk(),
            Backend::WebCrypto { public, .. } => public,
        }
    }

    /// Signs a proof with either backend.
    pub(crate) async fn proof(&self, options: &ProofOptions<'_>) -> Result<String, JsValue> {
        match &self.backend {
            Backend::P256(key) => js(key.create_proof(options, &mut rng())),
            Backend::WebCrypto {
                private_key,
                public,
                ..
            } => {
                let input = js(proof_signing_input(public, options, &mut rng()))?;
                let signature =
                    platform::sign_es256(private_key, input.as_str().as_bytes()).await?;
                js(input.finish(&signature))
            }
        }
    }
}

std::thread_local! {
    /// Hands a key's state from `DpopKey.__share()` to [`key_from_js`] (one synchronous
    /// call; wasm runs on one thread).
    static SHARED: RefCell<Option<Rc<KeyInner>>> = const { RefCell::new(None) };
}

/// The state of a JS `DpopKey` found in an options object, without consuming the JS
/// object (wasm-bindgen's own conversion would detach it from the application).
pub(crate) fn key_from_js(value: &JsValue, what: &'static str) -> Result<Rc<KeyInner>, JsValue> {
    let invalid = || js_error(&Error::ArgumentInvalid(what));
    let share = get(value, "__share")
        .and_then(|f| f.dyn_into::<Function>().ok())
        .ok_or_else(invalid)?;
    SHARED.with(|slot| slot.borrow_mut().take());
    let called = share.call0(value);
    // Always empty the slot, whatever the call did: a `__share` that lends a key and
    // then throws must not leave that key's state behind.
    let shared = SHARED.with(|slot| slot.borrow_mut().take());
    called.map_err(|_| invalid())?;
    shared.ok_or_else(invalid)
}

/// The owned form of [`ProofOptions`], read from a JS options object.
pub(crate) struct ProofRequest {
    pub htm: String,
    pub htu: String,
    pub iat: i64,
    pub jti: Option<String>,
    pub nonce: Option<String>,
    pub access_token: Option<String>,
}

impl ProofRequest {
    fn read(options: &JsValue) -> Result<ProofRequest, JsValue> {
        expect_object(options, "createProof options must be an object")?;
        Ok(ProofRequest {
            htm: req_string(options, "htm", "htm must be a string")?,
            htu: req_string(options, "htu", "htu must be a string")?,
            nonce: opt_string(options, "nonce", "nonce must be a string")?,
            access_token: opt_string(options, "accessToken", "accessToken must be a string")?,
            jti: opt_string(options, "jti", "jti must be a string")?,
            iat: opt_integer(options, "iat", "iat must be an integer number of seconds")?
                .unwrap_or_else(now_seconds),
        })
    }

    pub(crate) fn options(&self) -> ProofOptions<'_> {
        ProofOptions {
            htm: &self.htm,
            htu: &self.htu,
            iat: self.iat,
            jti: self.jti.as_deref(),
            nonce: self.nonce.as_deref(),
            access_token: self.access_token.as_deref(),
        }
    }
}

/// The members of a WebCrypto key pair that make it a usable ES256 DPoP key: an ECDSA
/// P-256 private key with the `sign` usage, whose public half exports as a valid JWK and
/// verifies a test signature (so a mismatched pair is refused up front).
async fn from_key_pair(pair: JsValue, check_match: bool) -> Result<DpopKey, JsValue> {
    const SHAPE: &str =
        "keyPair must be a CryptoKeyPair of ECDSA P-256 keys whose private key can sign";
    let invalid = || js_error(&Error::ArgumentInvalid(SHAPE));
    let private_key = get(&pair, "privateKey").ok_or_else(invalid)?;
    let public_key = get(&pair, "publicKey").ok_or_else(invalid)?;
    let algorithm = get(&private_key, "algorithm").ok_or_else(invalid)?;
    let usages = get(&private_key, "usages").ok_or_else(invalid)?;
    let is = |v: &JsValue, key: &str, want: &str| {
        get(v, key).and_then(|x| x.as_string()).as_deref() == Some(want)
    };
    let can_sign = js_sys::Array::is_array(&usages)
        && js_sys::Array::from(&usages).includes(&JsValue::from_str("sign"), 0);
    if !is(&private_key, "type", "private")
        || !is(&algorithm, "name", "ECDSA")
        || !is(&algorithm, "namedCurve", "P-256")
        || !can_sign
    {
        return Err(invalid());
    }
    let public = js(EcPublicJwk::parse(
        &platform::export_jwk_json(&public_key).await?,
    ))?;
    if check_match {
        const PROBE: &[u8] = b"edge-oauth key pair check";
        let signature = platform::sign_es256(&private_key, PROBE).await?;
        if crate::jws::verify_es256(PROBE, &signature, public.verifying_key()).is_err() {
            return Err(js_error(&Error::ArgumentInvalid(
                "keyPair.privateKey does not belong to keyPair.publicKey",
            )));
        }
    }
    Ok(DpopKey {
        inner: KeyInner::new(Backend::WebCrypto {
            pair,
            private_key,
            public,
        }),
    })
}

/// Reads a storage name: a non-empty string.
fn key_name(name: &JsValue) -> Result<String, JsValue> {
    const WHAT: &str = "name must be a non-empty string";
    let name = string_arg(name, WHAT)?;
    if name.is_empty() {
        return Err(js_error(&Error::ArgumentInvalid(WHAT)));
    }
    Ok(name)
}

/// What `persist` stores: a versioned record around the structured-cloneable pair.
const RECORD_FORMAT: &str = "edge-oauth/dpop-key@1";

/// An ES256 DPoP key (P-256) with one of two backends.
///
/// **Which one to pick.** In browsers and workers use
/// `await DpopKey.generateNonExtractable()`: a WebCrypto key the page can sign with but
/// never read, so script injection can use it only while it runs and never exfiltrate
/// it; `persist` / `load` keep it across reloads in IndexedDB. Use `DpopKey.generate()`
/// (the `p256` backend) in runtimes without WebCrypto, when you need `createProofSync`,
/// or for deterministic tests with a fixed key (`fromJwk`); its private key is a value
/// in wasm memory that `toJwk()` can export.
///
/// ```js
/// const key = (await DpopKey.load("session")) ?? (await DpopKey.generateNonExtractable());
/// await key.persist("session");
/// const proof = await key.createProof({ htm: "POST", htu: "https://auth.example.com/oauth/token" });
/// ```
#[wasm_bindgen(js_name = DpopKey)]
pub struct DpopKey {
    inner: Rc<KeyInner>,
}

#[wasm_bindgen(js_class = DpopKey)]
impl DpopKey {
    /// Generates a fresh P-256 key from the platform CSPRNG (the `p256` backend: the
    /// private key lives in wasm memory).
    ///
    /// ```js
    /// const key = DpopKey.generate();
    /// const proof = key.createProofSync({ htm: "POST", htu: tokenEndpoint });
    /// ```
    #[wasm_bindgen(js_name = generate)]
    pub fn generate() -> Result<DpopKey, JsValue> {
        Ok(DpopKey {
            inner: KeyInner::new(Backend::P256(CoreDpopKey::generate(&mut rng()))),
        })
    }

    /// Imports a private EC P-256 JWK (object or JSON text), checked strictly (the `p256`
    /// backend).
    ///
    /// ```js
    /// const key = DpopKey.fromJwk(savedPrivateJwk);
    /// ```
    #[wasm_bindgen(js_name = fromJwk)]
    pub fn from_jwk(
        #[wasm_bindgen(js_name = privateJwk)] private_jwk: &JsPrivateJwkOrJson,
    ) -> Result<DpopKey, JsValue> {
        let json = jwk_json(
            private_jwk,
            "privateJwk must be a JWK object or JSON string",
        )?;
        let key = js(CoreDpopKey::from_private_jwk_json(&json))?;
        Ok(DpopKey {
            inner: KeyInner::new(Backend::P256(key)),
        })
    }

    /// Generates a non-extractable WebCrypto P-256 key pair (the `webcrypto` backend, the
    /// browser default): `crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" },
    /// false, ["sign", "verify"])`. Works in browsers (secure contexts), workers and
    /// Node 20. Rejects with `WEBCRYPTO_UNAVAILABLE` where `crypto.subtle` is missing.
    ///
    /// ```js
    /// const key = await DpopKey.generateNonExtractable();
    /// key.backend; // "webcrypto"
    /// ```
    #[wasm_bindgen(js_name = generateNonExtractable)]
    pub fn generate_non_extractable() -> JsPromiseDpopKey {
        future_to_promise(async {
            let pair = platform::generate_p256_pair().await?;
            Ok(from_key_pair(pair, false).await?.into())
        })
        .unchecked_into()
    }

    /// Wraps an existing WebCrypto ECDSA P-256 `CryptoKeyPair` (e.g. one made by another
    /// library). The pair is checked: key types, curve, the `sign` usage, and a test
    /// signature that the public key must verify.
    ///
    /// ```js
    /// const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, false, ["sign", "verify"]);
    /// const key = await DpopKey.fromCryptoKeyPair(pair);
    /// ```
    #[wasm_bindgen(js_name = fromCryptoKeyPair)]
    pub fn from_crypto_key_pair(
        #[wasm_bindgen(js_name = keyPair)] key_pair: &JsCryptoKeyPair,
    ) -> JsPromiseDpopKey {
        let pair: JsValue = key_pair.into();
        future_to_promise(async move { Ok(from_key_pair(pair, true).await?.into()) })
            .unchecked_into()
    }

    /// Loads a key stored by [`persist`](Self::persist) from IndexedDB (database
    /// `edge-oauth`, store `dpop-keys`). Resolves to `undefined` when nothing is stored
    /// under `name`. Rejects with `STORAGE_UNAVAILABLE` outside browsers (Node has no
    /// IndexedDB) and `STORAGE_FAILED` if the stored value is not a usable key.
    ///
    /// ```js
    /// const key = (await DpopKey.load("session")) ?? (await DpopKey.generateNonExtractable());
    /// ```
    #[wasm_bindgen(js_name = load)]
    pub fn load(
        #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
    ) -> JsPromiseOptionalDpopKey {
        future_to_promise(async move {
            let name = key_name(&name)?;
            let record = platform::idb("get", &name, &JsValue::UNDEFINED).await?;
            if record.is_undefined() {
                return Ok(JsValue::UNDEFINED);
            }
            let unusable = |cause: &JsValue| {
                js_error_with_cause(
                    &Error::StorageFailed("the stored value is not a usable DPoP key"),
                    cause,
                )
            };
            let format_ok = get(&record, "format")
                .and_then(|f| f.as_string())
                .as_deref()
                == Some(RECORD_FORMAT);
            let pair = get(&record, "keyPair")
                .filter(|_| format_ok)
                .ok_or_else(|| unusable(&record))?;
            Ok(from_key_pair(pair, true)
                .await
                .map_err(|e| unusable(&e))?
                .into())
        })
        .unchecked_into()
    }

    /// Deletes the key stored under `name` in IndexedDB (nothing happens if there is
    /// none), e.g. at logout.
    ///
    /// ```js
    /// await DpopKey.remove("session");
    /// ```
    #[wasm_bindgen(js_name = remove)]
    pub fn remove(#[wasm_bindgen(unchecked_param_type = "string")] name: JsValue) -> JsPromiseVoid {
        future_to_promise(async move {
            let name = key_name(&name)?;
            platform::idb("delete", &name, &JsValue::UNDEFINED).await?;
            Ok(JsValue::UNDEFINED)
        })
        .unchecked_into()
    }

    /// Stores this WebCrypto key in IndexedDB under `name`, by structured clone: a
    /// non-extractable key stays non-extractable, and its bytes never reach JS or wasm.
    ///
    /// A `p256` key is refused (`KEY_BACKEND_UNSUPPORTED`): its private key would be
    /// stored as readable data, which is what the WebCrypto backend exists to avoid. If
    /// you accept that, store `key.toJwk()` yourself and restore it with `fromJwk`.
    ///
    /// ```js
    /// const key = await DpopKey.generateNonExtractable();
    /// await key.persist("session");
    /// ```
    #[wasm_bindgen(js_name = persist)]
    pub fn persist(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] name: JsValue,
    ) -> JsPromiseVoid {
        let inner = Rc::clone(&self.inner);
        future_to_promise(async move {
            let name = key_name(&name)?;
            let Backend::WebCrypto { pair, .. } = &inner.backend else {
                return Err(js_error(&Error::KeyBackendUnsupported(
                    "persist stores WebCrypto keys only (DpopKey.generateNonExtractable); store toJwk() of a p256 key yourself",
                )));
            };
            let record = object();
            set(&record, "format", &JsValue::from_str(RECORD_FORMAT));
            set(&record, "keyPair", pair);
            platform::idb("put", &name, &record).await?;
            Ok(JsValue::UNDEFINED)
        })
        .unchecked_into()
    }

    /// `"webcrypto"` or `"p256"`: where the private key lives.
    ///
    /// ```js
    /// DpopKey.generate().backend; // "p256"
    /// ```
    #[wasm_bindgen(getter, js_name = backend)]
    pub fn backend(&self) -> JsDpopKeyBackend {
        let name = match self.inner.backend {
            Backend::P256(_) => "p256",
            Backend::WebCrypto { .. } => "webcrypto",
        };
        JsValue::from_str(name).unchecked_into()
    }

    /// The WebCrypto `CryptoKeyPair` of a `webcrypto` key (e.g. to hand it to another
    /// library); `undefined` for a `p256` key.
    ///
    /// ```js
    /// key.keyPair?.privateKey.extractable; // false
    /// ```
    #[wasm_bindgen(getter, js_name = keyPair)]
    pub fn key_pair(&self) -> Option<JsCryptoKeyPair> {
        match &self.inner.backend {
            Backend::P256(_) => None,
            Backend::WebCrypto { pair, .. } => Some(pair.clone().unchecked_into()),
        }
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
        self.inner.thumbprint.clone()
    }

    /// Exports the private JWK of a `p256` key, e.g. to persist it. Keep it secret. A
    /// `webcrypto` key cannot be exported (`KEY_BACKEND_UNSUPPORTED`).
    ///
    /// ```js
    /// const jwk = DpopKey.generate().toJwk(); // { kty, crv, x, y, d }
    /// ```
    #[wasm_bindgen(js_name = toJwk)]
    pub fn to_jwk(&self) -> Result<JsPrivateJwk, JsValue> {
        let Backend::P256(key) = &self.inner.backend else {
            return Err(js_error(&Error::KeyBackendUnsupported(
                "toJwk: a WebCrypto key is not exported",
            )));
        };
        let json = key.to_private_jwk().to_json();
        Ok(json_to_js(json.as_str())?.unchecked_into())
    }

    /// Creates a DPoP proof JWT (`typ: dpop+jwt`, ES256) for one request, with either
    /// backend. Invalid options reject the promise with a coded error.
    ///
    /// ```js
    /// const proof = await key.createProof({
    ///   htm: "GET",
    ///   htu: "https://api.example.com/items",
    ///   accessToken, // adds ath
    ///   nonce,       // the last DPoP-Nonce from that server
    /// });
    /// ```
    #[wasm_bindgen(js_name = createProof)]
    pub fn create_proof(&self, options: &JsCreateProofOptions) -> JsPromiseString {
        let request = match ProofRequest::read(options) {
            Ok(r) => r,
            Err(e) => return Promise::reject(&e).unchecked_into(),
        };
        if let Backend::P256(key) = &self.inner.backend {
            // Nothing to wait for: settle at once.
            return match js(key.create_proof(&request.options(), &mut rng())) {
                Ok(proof) => Promise::resolve(&JsValue::from(proof)),
                Err(e) => Promise::reject(&e),
            }
            .unchecked_into();
        }
        let inner = Rc::clone(&self.inner);
        future_to_promise(async move { Ok(inner.proof(&request.options()).await?.into()) })
            .unchecked_into()
    }

    /// Creates a DPoP proof synchronously: `p256` keys only (a WebCrypto key signs
    /// asynchronously and throws `KEY_BACKEND_UNSUPPORTED` here).
    ///
    /// ```js
    /// const key = DpopKey.generate();
    /// const proof = key.createProofSync({ htm: "POST", htu: "https://auth.example.com/oauth/token" });
    /// ```
    #[wasm_bindgen(js_name = createProofSync)]
    pub fn create_proof_sync(&self, options: &JsCreateProofOptions) -> Result<String, JsValue> {
        let request = ProofRequest::read(options)?;
        let Backend::P256(key) = &self.inner.backend else {
            return Err(js_error(&Error::KeyBackendUnsupported(
                "createProofSync needs a p256 key; await createProof() with a WebCrypto key",
            )));
        };
        js(key.create_proof(&request.options(), &mut rng()))
    }

    /// Internal: lends this key's state to `TokenClient` / `fetchWithDpop`.
    #[doc(hidden)]
    #[wasm_bindgen(js_name = __share, skip_typescript)]
    pub fn share(&self) {
        SHARED.with(|slot| *slot.borrow_mut() = Some(Rc::clone(&self.inner)));
    }
}

#[cfg(all(test, target_arch = "wasm32"))]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

    /// A `__share` that lends a real key and then throws is refused, and leaves no
    /// `Rc<KeyInner>` behind in the slot.
    #[wasm_bindgen_test]
    fn key_from_js_empties_the_slot_when_share_throws() {
        let real: JsValue = DpopKey::generate().expect("key").into();
        let fake = object();
        set(&fake, "real", &real);
        let share = Function::new_no_args("this.real.__share(); throw new Error('boom');");
        set(&fake, "__share", &share);
        let err = key_from_js(&fake, "dpopKey must be a DpopKey")
            .err()
            .expect("refused");
        assert_eq!(
            get(&err, "code").and_then(|c| c.as_string()).as_deref(),
            Some("ARGUMENT_INVALID")
        );
        assert!(
            SHARED.with(|slot| slot.borrow().is_none()),
            "stale key state"
        );
        // The real key still lends itself.
        assert!(key_from_js(&real, "dpopKey must be a DpopKey").is_ok());
        assert!(SHARED.with(|slot| slot.borrow().is_none()));
    }
}
