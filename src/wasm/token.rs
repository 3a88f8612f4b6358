//! Token requests and responses (RFC 6749 §4, §5) for JavaScript. The options objects
//! are read and checked by the JS layer (`src/js/protocol.js`), which passes their
//! members as arguments.

use alloc::string::String;

use wasm_bindgen::prelude::*;

use super::{Json, js, js_error, js_string, opt_arg, string_arg};
use crate::error::Error;
use crate::token::client::origin;
use crate::token::request::{
    AuthorizationCodeGrant, ClientCredentialsGrant, RefreshTokenGrant, encode_basic_credentials,
};
use crate::token::response::{TokenSet, TokenType};

/// Builds the `application/x-www-form-urlencoded` body of an `authorization_code`
/// request, from the members of `AuthorizationCodeGrantOptions` (checked by
/// `authorizationCodeGrantBody` in the JS layer).
///
/// ```js
/// formBody(0, code, redirectUri, codeVerifier, "spa");
/// // "grant_type=authorization_code&code=...&redirect_uri=...&code_verifier=...&client_id=spa"
/// ```
pub fn authorization_code_grant_body(
    code: &JsValue,
    redirect_uri: &JsValue,
    code_verifier: &JsValue,
    client_id: &JsValue,
) -> Result<JsValue, JsValue> {
    let code = string_arg(code, "code must be a string")?;
    let redirect_uri = string_arg(redirect_uri, "redirectUri must be a string")?;
    let code_verifier = string_arg(code_verifier, "codeVerifier must be a string")?;
    let client_id = opt_arg(client_id, "clientId must be a string")?;
    form(
        AuthorizationCodeGrant {
            code: &code,
            redirect_uri: &redirect_uri,
            code_verifier: &code_verifier,
            client_id: client_id.as_deref(),
        }
        .to_form(),
    )
}

/// Builds the body of a `refresh_token` request (`RefreshTokenGrantOptions`, checked by
/// the JS layer).
///
/// ```js
/// formBody(1, refreshToken, "read:items", undefined);
/// ```
pub fn refresh_token_grant_body(
    refresh_token: &JsValue,
    scope: &JsValue,
    client_id: &JsValue,
) -> Result<JsValue, JsValue> {
    let refresh_token = string_arg(refresh_token, "refreshToken must be a string")?;
    let scope = opt_arg(scope, "scope must be a string")?;
    let client_id = opt_arg(client_id, "clientId must be a string")?;
    form(
        RefreshTokenGrant {
            refresh_token: &refresh_token,
            scope: scope.as_deref(),
            client_id: client_id.as_deref(),
        }
        .to_form(),
    )
}

/// Builds the body of a `client_credentials` request (`ClientCredentialsGrantOptions`,
/// checked by the JS layer).
///
/// ```js
/// formBody(2, "https://api.example.com", undefined, undefined, "read:items", undefined);
/// ```
pub fn client_credentials_grant_body(
    audience: &JsValue,
    resource: &JsValue,
    organization: &JsValue,
    scope: &JsValue,
    client_id: &JsValue,
) -> Result<JsValue, JsValue> {
    let audience = opt_arg(audience, "audience must be a string")?;
    let resource = opt_arg(resource, "resource must be a string")?;
    let organization = opt_arg(organization, "organization must be a string")?;
    let scope = opt_arg(scope, "scope must be a string")?;
    let client_id = opt_arg(client_id, "clientId must be a string")?;
    form(
        ClientCredentialsGrant {
            audience: audience.as_deref(),
            resource: resource.as_deref(),
            organization: organization.as_deref(),
            scope: scope.as_deref(),
            client_id: client_id.as_deref(),
        }
        .to_form(),
    )
}

/// The `application/x-www-form-urlencoded` body of a request: `kind` 0
/// `authorization_code`, 1 `refresh_token`, 2 `client_credentials`, 3 device authorization,
/// 4 `device_code`, 5 revocation; `a` to `e` are the arguments of that body's function. One
/// export for the six: each export costs a shim and a JS wrapper of its own.
///
/// ```js
/// formBody(1, "rt-1", undefined, "spa"); // "grant_type=refresh_token&refresh_token=rt-1&client_id=spa"
/// ```
#[wasm_bindgen(js_name = formBody, unchecked_return_type = "string")]
pub fn form_body(
    kind: u32,
    a: &JsValue,
    b: &JsValue,
    c: &JsValue,
    d: &JsValue,
    e: &JsValue,
) -> Result<JsValue, JsValue> {
    match kind {
        0 => authorization_code_grant_body(a, b, c, d),
        1 => refresh_token_grant_body(a, b, c),
        2 => client_credentials_grant_body(a, b, c, d, e),
        3 => super::device::device_authorization_request_body(a, b, c, d),
        4 => super::device::device_code_grant_body(a, b),
        // 5
        _ => super::client::revocation_body(a, b, c),
    }
}

/// A form body as a JS string.
pub(crate) fn form(body: Result<String, Error>) -> Result<JsValue, JsValue> {
    Ok(js_string(&js(body)?))
}

/// An HTTP status code: a JS number that is an integer from 100 to 599 (a `u16`
/// parameter would wrap 65736 to 200, truncate 200.7 and coerce `"200"`).
pub(crate) fn http_status(value: &JsValue) -> Result<u16, JsValue> {
    match value.as_f64().and_then(super::safe_integer) {
        // In range: the conversion is exact.
        Some(n @ 100..=599) => Ok(n as u16),
        _ => Err(js_error(&Error::ArgumentInvalid(
            "status must be an integer from 100 to 599",
        ))),
    }
}

/// The JS `TokenSet` of a parsed response.
pub(crate) fn token_set_js(set_: &TokenSet) -> Result<JsValue, JsValue> {
    let token_type = match set_.token_type {
        TokenType::Bearer => "Bearer",
        TokenType::Dpop => "DPoP",
    };
    let mut out = Json::new()
        .string("accessToken", set_.access_token.as_str())
        .string("tokenType", token_type);
    if let Some(n) = set_.expires_in {
        out = out.uint("expiresIn", n);
    }
    if let Some(n) = set_.expires_at {
        out = out.uint("expiresAt", n);
    }
    out.opt_string(
        "refreshToken",
        set_.refresh_token.as_ref().map(|t| t.as_str()),
    )
    .opt_string("idToken", set_.id_token.as_ref().map(|t| t.as_str()))
    .opt_string("scope", set_.scope.as_deref())
    .into_js()
}

/// The origin (`scheme://host[:port]`, normalised) of an absolute http(s) URL; anything
/// else is `URL_INVALID` (or `ARGUMENT_INVALID` for a non-string).
///
/// ```js
/// endpointOrigin("HTTPS://Auth.Example.com:443/oauth/token"); // "https://auth.example.com"
/// ```
#[wasm_bindgen(js_name = endpointOrigin, unchecked_return_type = "string")]
pub fn endpoint_origin(
    #[wasm_bindgen(unchecked_param_type = "string")] url: &JsValue,
) -> Result<JsValue, JsValue> {
    let url = string_arg(url, "url must be a string")?;
    form(origin(&url))
}

/// The `Authorization` header value of `client_secret_basic` (RFC 6749 §2.3.1): `Basic`
/// and the base64 of the form-encoded id and secret.
///
/// ```js
/// basicCredentials("svc", secret); // "Basic c3ZjOn..."
/// ```
#[wasm_bindgen(js_name = basicCredentials, unchecked_return_type = "string")]
pub fn basic_credentials(
    #[wasm_bindgen(js_name = clientId, unchecked_param_type = "string")] client_id: &JsValue,
    #[wasm_bindgen(js_name = clientSecret, unchecked_param_type = "string")]
    client_secret: &JsValue,
) -> Result<JsValue, JsValue> {
    let id = string_arg(client_id, "clientId must be a string")?;
    let secret =
        zeroize::Zeroizing::new(string_arg(client_secret, "clientSecret must be a string")?);
    let header = js(encode_basic_credentials(&id, &secret))?;
    // Copied straight from the wiped buffer into a JS string.
    Ok(JsValue::from_str(header.as_str()))
}
