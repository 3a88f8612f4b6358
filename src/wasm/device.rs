//! The device authorization grant (RFC 8628) for JavaScript: the request bodies, the
//! strict parse of the device authorization answer, and the polling decision behind
//! `TokenClient.pollDeviceToken` (`src/js/device.js`). All synchronous.

use alloc::string::String;

use wasm_bindgen::prelude::*;

use super::token::http_status;
use super::{expect_object, js, js_error, now_seconds, object, opt_string, req_string, set};
use super::{set_opt_str, string_arg};
use crate::error::Error;
use crate::token::device::{
    DeviceAuthorizationRequest, DeviceCodeGrant, next_poll_interval,
    parse_device_authorization_response,
};

#[wasm_bindgen]
extern "C" {
    /// The TypeScript `DeviceAuthorizationRequestOptions` interface.
    #[wasm_bindgen(typescript_type = "DeviceAuthorizationRequestOptions")]
    pub type JsDeviceAuthorizationRequestOptions;
    /// The TypeScript `DeviceCodeGrantOptions` interface.
    #[wasm_bindgen(typescript_type = "DeviceCodeGrantOptions")]
    pub type JsDeviceCodeGrantOptions;
    /// The TypeScript `DeviceAuthorization` interface.
    #[wasm_bindgen(typescript_type = "DeviceAuthorization")]
    pub type JsDeviceAuthorization;
}

/// The `application/x-www-form-urlencoded` body of a device authorization request.
///
/// ```js
/// deviceAuthorizationRequestBody({ scope: "openid", audience: "https://api.example.com", clientId: "tv" });
/// // "scope=openid&audience=https%3A%2F%2Fapi.example.com&client_id=tv"
/// ```
#[wasm_bindgen(js_name = deviceAuthorizationRequestBody)]
pub fn device_authorization_request_body(
    options: &JsDeviceAuthorizationRequestOptions,
) -> Result<String, JsValue> {
    expect_object(options, "options must be an object")?;
    let scope = opt_string(options, "scope", "scope must be a string")?;
    let audience = opt_string(options, "audience", "audience must be a string")?;
    let resource = opt_string(options, "resource", "resource must be a string")?;
    let client_id = opt_string(options, "clientId", "clientId must be a string")?;
    js(DeviceAuthorizationRequest {
        scope: scope.as_deref(),
        audience: audience.as_deref(),
        resource: resource.as_deref(),
        client_id: client_id.as_deref(),
    }
    .to_form())
}

/// The body of a device access token request (`grant_type=urn:ietf:params:oauth:grant-type:device_code`).
///
/// ```js
/// const body = deviceCodeGrantBody({ deviceCode: authorization.deviceCode, clientId: "tv" });
/// ```
#[wasm_bindgen(js_name = deviceCodeGrantBody)]
pub fn device_code_grant_body(options: &JsDeviceCodeGrantOptions) -> Result<String, JsValue> {
    expect_object(options, "options must be an object")?;
    let device_code = zeroize::Zeroizing::new(req_string(
        options,
        "deviceCode",
        "deviceCode must be a string",
    )?);
    let client_id = opt_string(options, "clientId", "clientId must be a string")?;
    js(DeviceCodeGrant {
        device_code: &device_code,
        client_id: client_id.as_deref(),
    }
    .to_form())
}

/// Parses the answer of the device authorization endpoint, strictly: the
/// `DeviceAuthorization` of a valid `200`, `OAUTH_ERROR` for an error answer,
/// `DEVICE_AUTHORIZATION_RESPONSE_INVALID` (or `URL_INSECURE`) naming the member that is
/// missing or malformed. `expiresAt` is now + `expiresIn`, in seconds.
///
/// ```js
/// const authorization = parseDeviceAuthorizationResponse(res.status, await res.text());
/// console.log(`Open ${authorization.verificationUri} and enter ${authorization.userCode}`);
/// ```
#[wasm_bindgen(js_name = parseDeviceAuthorizationResponse)]
pub fn parse_device_authorization_response_js(
    #[wasm_bindgen(unchecked_param_type = "number")] status: &JsValue,
    #[wasm_bindgen(js_name = bodyText, unchecked_param_type = "string")] body_text: &JsValue,
) -> Result<JsDeviceAuthorization, JsValue> {
    let status = http_status(status)?;
    let body = string_arg(body_text, "bodyText must be a string")?;
    let now = u64::try_from(now_seconds()).unwrap_or(0);
    let a = js(parse_device_authorization_response(status, &body, now))?;
    let out = object();
    set(
        &out,
        "deviceCode",
        &JsValue::from_str(a.device_code.as_str()),
    );
    set(&out, "userCode", &JsValue::from_str(&a.user_code));
    set(
        &out,
        "verificationUri",
        &JsValue::from_str(&a.verification_uri),
    );
    set_opt_str(
        &out,
        "verificationUriComplete",
        a.verification_uri_complete.as_deref(),
    );
    // The parser bounds both below 2^32 and the clock is far below 2^52: exact.
    set(&out, "expiresIn", &JsValue::from_f64(a.expires_in as f64));
    set(&out, "expiresAt", &JsValue::from_f64(a.expires_at as f64));
    set(&out, "interval", &JsValue::from_f64(a.interval as f64));
    Ok(out.unchecked_into())
}

/// After a polling request answered with the RFC 6749 `error` code: the seconds to wait
/// before the next poll (the same `interval` after `authorization_pending`, 5 more after
/// `slow_down`: RFC 8628 §3.5), or `undefined` to stop polling.
///
/// ```js
/// nextDevicePollInterval("slow_down", 5); // 10
/// nextDevicePollInterval("access_denied", 5); // undefined
/// ```
#[wasm_bindgen(js_name = nextDevicePollInterval)]
pub fn next_device_poll_interval(
    #[wasm_bindgen(unchecked_param_type = "string")] error: &JsValue,
    #[wasm_bindgen(unchecked_param_type = "number")] interval: &JsValue,
) -> Result<Option<f64>, JsValue> {
    let error = string_arg(error, "error must be a string")?;
    let interval = match interval.as_f64().and_then(super::safe_integer) {
        Some(n @ 1..=4_294_967_295) => n as u64,
        _ => {
            return Err(js_error(&Error::ArgumentInvalid(
                "interval must be a positive integer number of seconds",
            )));
        }
    };
    // At most 2^32 + 4: exact as a JS number.
    Ok(next_poll_interval(&error, interval).map(|n| n as f64))
}
