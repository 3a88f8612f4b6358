//! [`Platform`] on Workers: `Date.now()`, `crypto.getRandomValues` (through getrandom),
//! and WebCrypto for PBKDF2, ES256 and RS256 signing, RSA signature verification and
//! AES-GCM.
//!
//! Signing keys are imported once per isolate (non-extractable `CryptoKey`s, cached by
//! algorithm, `kid` and public key): the import parses the JWK (for RSA the CRT members),
//! which costs more than a signature. An ES256 signature through WebCrypto runs as native
//! code in the runtime, several times faster than p256 compiled to wasm (README,
//! "Performance").

use crate::platform::{Platform, PlatformError};
use edge_oauth::base64url;
use edge_oauth::jwk::EcPublicJwk;
use js_sys::{Array, Object, Reflect, Uint8Array};
use std::cell::RefCell;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{CryptoKey, SubtleCrypto};

/// The Workers platform, with the Workers Rate Limiting binding when configured.
#[derive(Debug, Default)]
pub struct WebPlatform {
    limiter: Option<worker::RateLimiter>,
}

impl WebPlatform {
    /// A platform using `limiter` (`None`: no rate limiting, see [`crate::ratelimit`]).
    #[must_use]
    pub fn new(limiter: Option<worker::RateLimiter>) -> Self {
        Self { limiter }
    }
}

thread_local! {
    /// `crypto.subtle` of this isolate, looked up on first use.
    static SUBTLE: std::cell::OnceCell<SubtleCrypto> = const { std::cell::OnceCell::new() };
}

fn subtle() -> Result<SubtleCrypto, PlatformError> {
    if let Some(subtle) = SUBTLE.with(|s| s.get().cloned()) {
        return Ok(subtle);
    }
    let crypto = Reflect::get(&js_sys::global(), &JsValue::from_str("crypto"))
        .map_err(|_| PlatformError::Unsupported)?;
    if crypto.is_undefined() {
        return Err(PlatformError::Unsupported);
    }
    let subtle = crypto.unchecked_into::<web_sys::Crypto>().subtle();
    SUBTLE.with(|s| {
        let _ = s.set(subtle.clone());
    });
    Ok(subtle)
}

fn object(members: &[(&str, JsValue)]) -> Result<Object, PlatformError> {
    let obj = Object::new();
    for (k, v) in members {
        Reflect::set(&obj, &JsValue::from_str(k), v).map_err(|_| PlatformError::Crypto)?;
    }
    Ok(obj)
}

fn usages(list: &[&str]) -> JsValue {
    let arr = Array::new();
    for u in list {
        arr.push(&JsValue::from_str(u));
    }
    arr.into()
}

async fn await_promise(
    promise: Result<js_sys::Promise, JsValue>,
) -> Result<JsValue, PlatformError> {
    let promise = promise.map_err(|_| PlatformError::Crypto)?;
    JsFuture::from(promise)
        .await
        .map_err(|_| PlatformError::Crypto)
}

async fn import_raw(
    subtle: &SubtleCrypto,
    raw: &[u8],
    algorithm: &Object,
    usage: &[&str],
) -> Result<CryptoKey, PlatformError> {
    let data = Uint8Array::from(raw);
    let key = await_promise(subtle.import_key_with_object(
        "raw",
        &data,
        algorithm,
        false,
        &usages(usage),
    ))
    .await?;
    Ok(key.unchecked_into())
}

/// The most imported signing keys an isolate keeps (a key rotation adds one at a time).
const SIGNING_KEY_CACHE_ENTRIES: usize = 16;

thread_local! {
    /// Imported signing keys of this isolate: (algorithm, kid and public key) -> key.
    /// Borrowed only in [`cached_key`] and [`remember_key`], never across an await.
    static SIGNING_KEY_CACHE: RefCell<Vec<(String, CryptoKey)>> = const { RefCell::new(Vec::new()) };
}

fn cached_key(id: &str) -> Option<CryptoKey> {
    SIGNING_KEY_CACHE.with(|c| {
        c.borrow()
            .iter()
            .find(|(k, _)| k == id)
            .map(|(_, key)| key.clone())
    })
}

fn remember_key(id: String, key: CryptoKey) {
    SIGNING_KEY_CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= SIGNING_KEY_CACHE_ENTRIES {
            c.clear();
        }
        c.push((id, key));
    });
}

/// The key `id` of this isolate, imported from `key_data` (a JWK) on first use as a
/// non-extractable key for `usage` (`sign`, or `verify` for a public key).
async fn imported_key(
    subtle: &SubtleCrypto,
    id: String,
    key_data: impl FnOnce() -> Result<Object, PlatformError>,
    algorithm: &Object,
    usage: &str,
) -> Result<CryptoKey, PlatformError> {
    if let Some(key) = cached_key(&id) {
        return Ok(key);
    }
    let key: CryptoKey = await_promise(subtle.import_key_with_object(
        "jwk",
        &key_data()?,
        algorithm,
        false,
        &usages(&[usage]),
    ))
    .await?
    .unchecked_into();
    remember_key(id, key.clone());
    Ok(key)
}

/// `{name: "ECDSA", namedCurve: "P-256"}`, the import algorithm of every ES256 key.
fn ecdsa_p256() -> Result<Object, PlatformError> {
    cached_params(&ECDSA_P256, &[("name", "ECDSA"), ("namedCurve", "P-256")])
}

/// `{name: "ECDSA", hash: "SHA-256"}`: ES256 signing and verification parameters.
fn ecdsa_sha256() -> Result<Object, PlatformError> {
    cached_params(&ECDSA_SHA256, &[("name", "ECDSA"), ("hash", "SHA-256")])
}

thread_local! {
    /// The ES256 parameter objects, made once per isolate: WebCrypto reads an algorithm
    /// object when it is called and keeps nothing of it, and making them per call was
    /// 3% of a DPoP token request (two `Reflect.set` each, `node bench/profile.mjs`).
    static ECDSA_P256: std::cell::OnceCell<Object> = const { std::cell::OnceCell::new() };
    static ECDSA_SHA256: std::cell::OnceCell<Object> = const { std::cell::OnceCell::new() };
    /// The RS256 ones, likewise: the import algorithm and the signing parameters.
    static RSASSA_SHA256: std::cell::OnceCell<Object> = const { std::cell::OnceCell::new() };
    static RSASSA: std::cell::OnceCell<Object> = const { std::cell::OnceCell::new() };
}

/// The object `members` describes, made on first use and kept in `cell`.
fn cached_params(
    cell: &'static std::thread::LocalKey<std::cell::OnceCell<Object>>,
    members: &[(&str, &str)],
) -> Result<Object, PlatformError> {
    if let Some(obj) = cell.with(|c| c.get().cloned()) {
        return Ok(obj);
    }
    let members: Vec<(&str, JsValue)> = members
        .iter()
        .map(|(k, v)| (*k, JsValue::from_str(v)))
        .collect();
    let obj = object(&members)?;
    cell.with(|c| {
        let _ = c.set(obj.clone());
    });
    Ok(obj)
}

/// The most P-256 verification keys an isolate keeps: DPoP proof keys and clients'
/// registered keys come and go, so the cache is bounded (emptied when full, like
/// [`SIGNING_KEY_CACHE_ENTRIES`]) and never holds more than this many `CryptoKey`s.
pub const VERIFY_KEY_CACHE_ENTRIES: usize = 64;

thread_local! {
    /// Imported public keys of this isolate: the uncompressed point -> key. Borrowed only
    /// synchronously in [`verify_key`], never across an await.
    static VERIFY_KEY_CACHE: RefCell<crate::platform::BoundedCache<[u8; 65], CryptoKey>> =
        const { RefCell::new(crate::platform::BoundedCache::new(VERIFY_KEY_CACHE_ENTRIES)) };
}

/// `key` imported for ECDSA P-256 verification (`raw`: the uncompressed point), once per
/// isolate while it stays in [`VERIFY_KEY_CACHE`].
async fn verify_key(subtle: &SubtleCrypto, key: &EcPublicJwk) -> Result<CryptoKey, PlatformError> {
    let mut point = [4u8; 65];
    point[1..33].copy_from_slice(key.x());
    point[33..].copy_from_slice(key.y());
    if let Some(found) = VERIFY_KEY_CACHE.with(|c| c.borrow().get(&point).cloned()) {
        return Ok(found);
    }
    let data = Uint8Array::from(&point[..]);
    let imported: CryptoKey = await_promise(subtle.import_key_with_object(
        "raw",
        &data,
        &ecdsa_p256()?,
        true,
        &usages(&["verify"]),
    ))
    .await?
    .unchecked_into();
    VERIFY_KEY_CACHE.with(|c| c.borrow_mut().insert(point, imported.clone()));
    Ok(imported)
}

impl Platform for WebPlatform {
    async fn rate_limit(&self, key: &str) -> bool {
        let Some(limiter) = &self.limiter else {
            return true;
        };
        match limiter.limit(key.to_owned()).await {
            Ok(outcome) => outcome.success,
            Err(_) => {
                // Fail open (availability): the key is not logged, it may name an account.
                worker::console_warn!("edge-oauth: the rate limiter failed; request allowed");
                true
            }
        }
    }

    fn now(&self) -> i64 {
        // Milliseconds as f64; the integer part in seconds fits i64 for any real date.
        #[allow(clippy::cast_possible_truncation)]
        let secs = (js_sys::Date::now() / 1000.0).floor() as i64;
        secs
    }

    async fn pbkdf2_sha256(
        &self,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> Result<[u8; 32], PlatformError> {
        let subtle = subtle()?;
        let key = import_raw(
            &subtle,
            password,
            &object(&[("name", JsValue::from_str("PBKDF2"))])?,
            &["deriveBits"],
        )
        .await?;
        let params = object(&[
            ("name", JsValue::from_str("PBKDF2")),
            ("hash", JsValue::from_str("SHA-256")),
            ("salt", Uint8Array::from(salt).into()),
            ("iterations", JsValue::from_f64(f64::from(iterations))),
        ])?;
        let bits = await_promise(subtle.derive_bits_with_object(&params, &key, 256)).await?;
        let bytes = Uint8Array::new(&bits).to_vec();
        <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| PlatformError::Crypto)
    }

    async fn verify_rsa(
        &self,
        alg: &str,
        jwk: &serde_json::Value,
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, PlatformError> {
        let name = match alg {
            "RS256" => "RSASSA-PKCS1-v1_5",
            "PS256" => "RSA-PSS",
            _ => return Err(PlatformError::Unsupported),
        };
        let n = jwk.get("n").and_then(serde_json::Value::as_str);
        let e = jwk.get("e").and_then(serde_json::Value::as_str);
        let (Some(n), Some(e)) = (n, e) else {
            return Err(PlatformError::Crypto);
        };
        if jwk.get("d").is_some() {
            return Err(PlatformError::Crypto);
        }
        let subtle = subtle()?;
        let key_data = object(&[
            ("kty", JsValue::from_str("RSA")),
            ("n", JsValue::from_str(n)),
            ("e", JsValue::from_str(e)),
            ("ext", JsValue::TRUE),
        ])?;
        let algorithm = object(&[
            ("name", JsValue::from_str(name)),
            ("hash", JsValue::from_str("SHA-256")),
        ])?;
        let key: CryptoKey = await_promise(subtle.import_key_with_object(
            "jwk",
            &key_data,
            &algorithm,
            false,
            &usages(&["verify"]),
        ))
        .await?
        .unchecked_into();
        let params = if name == "RSA-PSS" {
            object(&[
                ("name", JsValue::from_str(name)),
                ("saltLength", JsValue::from_f64(32.0)),
            ])?
        } else {
            object(&[("name", JsValue::from_str(name))])?
        };
        let ok = await_promise(
            subtle.verify_with_object_and_u8_array_and_u8_array(&params, &key, signature, message),
        )
        .await?;
        Ok(ok.as_bool().unwrap_or(false))
    }

    async fn sign_rsa(
        &self,
        jwk: &crate::jwt::RsaPrivateJwk,
        message: &[u8],
    ) -> Result<Vec<u8>, PlatformError> {
        let subtle = subtle()?;
        let algorithm = cached_params(
            &RSASSA_SHA256,
            &[("name", "RSASSA-PKCS1-v1_5"), ("hash", "SHA-256")],
        )?;
        let key_data = || {
            object(&[
                ("kty", JsValue::from_str("RSA")),
                ("alg", JsValue::from_str("RS256")),
                ("n", JsValue::from_str(&jwk.n)),
                ("e", JsValue::from_str(&jwk.e)),
                ("d", JsValue::from_str(&jwk.d)),
                ("p", JsValue::from_str(&jwk.p)),
                ("q", JsValue::from_str(&jwk.q)),
                ("dp", JsValue::from_str(&jwk.dp)),
                ("dq", JsValue::from_str(&jwk.dq)),
                ("qi", JsValue::from_str(&jwk.qi)),
                ("ext", JsValue::FALSE),
            ])
        };
        let id = format!("RS256 {} {}", jwk.e, jwk.n);
        let key = imported_key(&subtle, id, key_data, &algorithm, "sign").await?;
        let params = cached_params(&RSASSA, &[("name", "RSASSA-PKCS1-v1_5")])?;
        let signature =
            await_promise(subtle.sign_with_object_and_u8_array(&params, &key, message)).await?;
        Ok(Uint8Array::new(&signature).to_vec())
    }

    async fn sign_es256(
        &self,
        key: &crate::jwt::SigningKey,
        message: &[u8],
    ) -> Result<Vec<u8>, PlatformError> {
        let subtle = subtle()?;
        let public = key.public();
        let (x, y) = (base64url::encode(public.x()), base64url::encode(public.y()));
        let key_data = || {
            object(&[
                ("kty", JsValue::from_str("EC")),
                ("crv", JsValue::from_str("P-256")),
                ("x", JsValue::from_str(&x)),
                ("y", JsValue::from_str(&y)),
                ("d", JsValue::from_str(&key.private_d())),
                ("ext", JsValue::FALSE),
            ])
        };
        let id = format!("ES256 {} {x} {y}", key.kid());
        let crypto_key = imported_key(&subtle, id, key_data, &ecdsa_p256()?, "sign").await?;
        // WebCrypto's ECDSA signature is r || s (IEEE P1363), the JWS form.
        let signature = await_promise(subtle.sign_with_object_and_u8_array(
            &ecdsa_sha256()?,
            &crypto_key,
            message,
        ))
        .await?;
        Ok(Uint8Array::new(&signature).to_vec())
    }

    async fn verify_es256_key(
        &self,
        key: &EcPublicJwk,
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, PlatformError> {
        if signature.len() != 64 {
            return Ok(false);
        }
        let subtle = subtle()?;
        let crypto_key = verify_key(&subtle, key).await?;
        let ok = await_promise(subtle.verify_with_object_and_u8_array_and_u8_array(
            &ecdsa_sha256()?,
            &crypto_key,
            signature,
            message,
        ))
        .await?;
        Ok(ok.as_bool().unwrap_or(false))
    }

    async fn open_client_secret(
        &self,
        key: &[u8],
        client_id: &str,
        sealed: &[u8],
    ) -> Result<Vec<u8>, PlatformError> {
        if key.len() != 32 || sealed.len() < 12 + 16 {
            return Err(PlatformError::Crypto);
        }
        let (iv, ciphertext) = sealed.split_at(12);
        let subtle = subtle()?;
        let key = import_raw(
            &subtle,
            key,
            &object(&[("name", JsValue::from_str("AES-GCM"))])?,
            &["decrypt"],
        )
        .await?;
        let params = object(&[
            ("name", JsValue::from_str("AES-GCM")),
            ("iv", Uint8Array::from(iv).into()),
            (
                "additionalData",
                Uint8Array::from(client_id.as_bytes()).into(),
            ),
        ])?;
        let plain =
            await_promise(subtle.decrypt_with_object_and_u8_array(&params, &key, ciphertext))
                .await?;
        Ok(Uint8Array::new(&plain).to_vec())
    }
}
