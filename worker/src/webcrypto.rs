//! [`Platform`] on Workers: `Date.now()`, `crypto.getRandomValues` (through getrandom),
//! and WebCrypto for PBKDF2, RS256 signing, RSA signature verification and AES-GCM.

use crate::platform::{Platform, PlatformError};
use js_sys::{Array, Object, Reflect, Uint8Array};
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

fn subtle() -> Result<SubtleCrypto, PlatformError> {
    let crypto = Reflect::get(&js_sys::global(), &JsValue::from_str("crypto"))
        .map_err(|_| PlatformError::Unsupported)?;
    if crypto.is_undefined() {
        return Err(PlatformError::Unsupported);
    }
    Ok(crypto.unchecked_into::<web_sys::Crypto>().subtle())
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
        let key_data = object(&[
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
        ])?;
        let algorithm = object(&[
            ("name", JsValue::from_str("RSASSA-PKCS1-v1_5")),
            ("hash", JsValue::from_str("SHA-256")),
        ])?;
        let key: CryptoKey = await_promise(subtle.import_key_with_object(
            "jwk",
            &key_data,
            &algorithm,
            false,
            &usages(&["sign"]),
        ))
        .await?
        .unchecked_into();
        let params = object(&[("name", JsValue::from_str("RSASSA-PKCS1-v1_5"))])?;
        let signature =
            await_promise(subtle.sign_with_object_and_u8_array(&params, &key, message)).await?;
        Ok(Uint8Array::new(&signature).to_vec())
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
