//! The device authorization grant (RFC 8628) for JavaScript: the request bodies, the
//! strict parse of the device authorization answer, and the polling decision behind
//! `TokenClient.pollDeviceToken` (`src/js/device.js`). All synchronous.

use wasm_bindgen::prelude::*;

use super::token::{form, http_status};
use super::{Json, js, js_error, now_seconds, opt_arg, string_arg};
use crate::error::Error;
use crate::token::device::{
    DeviceAuthorizationRequest, DeviceCodeGrant, next_poll_interval,
    next_poll_interval_after_no_answer, parse_device_authorization_response,
};

/// The `application/x-www-form-urlencoded` body of a device authorization request
/// (`DeviceAuthorizationRequestOptions`, checked by the JS layer).
///
/// ```js
/// formBody(3, "openid", "https://api.example.com", undefined, "tv");
/// // "scope=openid&audience=https%3A%2F%2Fapi.example.com&client_id=tv"
/// ```
pub fn device_authorization_request_body(
    scope: &JsValue,
    audience: &JsValue,
    resource: &JsValue,
    client_id: &JsValue,
) -> Result<JsValue, JsValue> {
    let scope = opt_arg(scope, "scope must be a string")?;
    let audience = opt_arg(audience, "audience must be a string")?;
    let resource = opt_arg(resource, "resource must be a string")?;
    let client_id = opt_arg(client_id, "clientId must be a string")?;
    form(
        DeviceAuthorizationRequest {
            scope: scope.as_deref(),
            audience: audience.as_deref(),
            resource: resource.as_deref(),
            client_id: client_id.as_deref(),
        }
        .to_form(),
    )
}

/// The body of a device access token request
/// (`grant_type=urn:ietf:params:oauth:grant-type:device_code`; `DeviceCodeGrantOptions`,
/// checked by the JS layer).
///
/// ```js
/// const body = formBody(4, authorization.deviceCode, "tv");
/// ```
pub fn device_code_grant_body(
    device_code: &JsValue,
    client_id: &JsValue,
) -> Result<JsValue, JsValue> {
    let device_code =
        zeroize::Zeroizing::new(string_arg(device_code, "deviceCode must be a string")?);
    let client_id = opt_arg(client_id, "clientId must be a string")?;
    form(
        DeviceCodeGrant {
            device_code: &device_code,
            client_id: client_id.as_deref(),
        }
        .to_form(),
    )
}

/// Parses the answer of the device authorization endpoint, strictly: the
/// `DeviceAuthorization` of a valid `200`, `OAUTH_ERROR` for an error answer,
/// `DEVICE_AUTHORIZATION_RESPONSE_INVALID` (or `URL_INSECURE`) naming the member that is
/// missing or malformed. `expiresAt` is now + `expiresIn`, in seconds.
///
/// ```js
/// const authorization = answer(3, res.status, await res.text());
/// console.log(`Open ${authorization.verificationUri} and enter ${authorization.userCode}`);
/// ```
pub fn parse_device_authorization_response_js(
    status: &JsValue,
    body_text: &JsValue,
) -> Result<JsValue, JsValue> {
    let status = http_status(status)?;
    let body = string_arg(body_text, "bodyText must be a string")?;
    let now = u64::try_from(now_seconds()).unwrap_or(0);
    let a = js(parse_device_authorization_response(status, &body, now))?;
    // The parser bounds the numbers below 2^32 and the clock is far below 2^52: exact.
    Json::new()
        .string("deviceCode", a.device_code.as_str())
        .string("userCode", &a.user_code)
        .string("verificationUri", &a.verification_uri)
        .opt_string(
            "verificationUriComplete",
            a.verification_uri_complete.as_deref(),
        )
        .uint("expiresIn", a.expires_in)
        .uint("expiresAt", a.expires_at)
        .uint("interval", a.interval)
        .into_js()
}

/// After a polling request answered with the RFC 6749 `error` code: the seconds to wait
/// before the next poll (the same `interval` after `authorization_pending`, 5 more after
/// `slow_down`: RFC 8628 §3.5), or `undefined` to stop polling. `error` `undefined`: the
/// request got no answer (the connection failed), and the interval doubles (§3.5).
///
/// ```js
/// nextDevicePollInterval("slow_down", 5); // 10
/// nextDevicePollInterval("access_denied", 5); // undefined
/// nextDevicePollInterval(undefined, 5); // 10
/// ```
#[wasm_bindgen(js_name = nextDevicePollInterval)]
pub fn next_device_poll_interval(
    #[wasm_bindgen(unchecked_param_type = "string | undefined")] error: &JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] interval: &JsValue,
) -> Result<Option<f64>, JsValue> {
    let error = opt_arg(error, "error must be a string")?;
    let interval = match interval.as_f64().and_then(super::safe_integer) {
        Some(n @ 1..=4_294_967_295) => n as u64,
        _ => {
            return Err(js_error(&Error::ArgumentInvalid(
                "interval must be a positive integer number of seconds",
            )));
        }
    };
    // At most 2^32 + 4: exact as a JS number.
    Ok(match error {
        Some(error) => next_poll_interval(&error, interval),
        None => Some(next_poll_interval_after_no_answer(interval)),
    }
    .map(|n| n as f64))
}
