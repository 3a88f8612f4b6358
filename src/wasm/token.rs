//! Token requests and responses (RFC 6749 §4, §5) for JavaScript.

use alloc::string::String;

use wasm_bindgen::prelude::*;

use super::{
    expect_object, header, js, js_error, now_seconds, object, opt_string, req_string, set,
    string_arg,
};
use crate::error::Error;
use crate::token::client::origin;
use crate::token::request::{
    AuthorizationCodeGrant, ClientCredentialsGrant, RefreshTokenGrant, encode_basic_credentials,
};
use crate::token::response::{TokenSet, TokenType, parse_dpop_nonce, parse_token_response};

#[wasm_bindgen]
extern "C" {
    /// The TypeScript `AuthorizationCodeGrantOptions` interface.
    #[wasm_bindgen(typescript_type = "AuthorizationCodeGrantOptions")]
    pub type JsAuthorizationCodeGrantOptions;
    /// The TypeScript `RefreshTokenGrantOptions` interface.
    #[wasm_bindgen(typescript_type = "RefreshTokenGrantOptions")]
    pub type JsRefreshTokenGrantOptions;
    /// The TypeScript `ClientCredentialsGrantOptions` interface.
    #[wasm_bindgen(typescript_type = "ClientCredentialsGrantOptions")]
    pub type JsClientCredentialsGrantOptions;
    /// The TypeScript `TokenSet` interface.
    #[wasm_bindgen(typescript_type = "TokenSet")]
    pub type JsTokenSet;
    /// The TypeScript `HeadersLike` type.
    #[wasm_bindgen(typescript_type = "HeadersLike")]
    pub type JsHeadersLike;
}

/// Builds the `application/x-www-form-urlencoded` body of an `authorization_code` request.
///
/// ```js
/// const body = authorizationCodeGrantBody({ code, redirectUri, codeVerifier, clientId });
/// // "grant_type=authorization_code&code=...&redirect_uri=...&code_verifier=...&client_id=..."
/// ```
#[wasm_bindgen(js_name = authorizationCodeGrantBody)]
pub fn authorization_code_grant_body(
    options: &JsAuthorizationCodeGrantOptions,
) -> Result<String, JsValue> {
    expect_object(options, "options must be an object")?;
    let code = req_string(options, "code", "code must be a string")?;
    let redirect_uri = req_string(options, "redirectUri", "redirectUri must be a string")?;
    let code_verifier = req_string(options, "codeVerifier", "codeVerifier must be a string")?;
    let client_id = opt_string(options, "clientId", "clientId must be a string")?;
    let grant = AuthorizationCodeGrant {
        code: &code,
        redirect_uri: &redirect_uri,
        code_verifier: &code_verifier,
        client_id: client_id.as_deref(),
    };
    js(grant.to_form())
}

/// Builds the body of a `refresh_token` request.
///
/// ```js
/// const body = refreshTokenGrantBody({ refreshToken, scope: "read:items" });
/// ```
#[wasm_bindgen(js_name = refreshTokenGrantBody)]
pub fn refresh_token_grant_body(options: &JsRefreshTokenGrantOptions) -> Result<String, JsValue> {
    expect_object(options, "options must be an object")?;
    let refresh_token = req_string(options, "refreshToken", "refreshToken must be a string")?;
    let scope = opt_string(options, "scope", "scope must be a string")?;
    let client_id = opt_string(options, "clientId", "clientId must be a string")?;
    let grant = RefreshTokenGrant {
        refresh_token: &refresh_token,
        scope: scope.as_deref(),
        client_id: client_id.as_deref(),
    };
    js(grant.to_form())
}

/// Builds the body of a `client_credentials` request.
///
/// ```js
/// const body = clientCredentialsGrantBody({ audience: "https://api.example.com", scope: "read:items" });
/// ```
#[wasm_bindgen(js_name = clientCredentialsGrantBody)]
pub fn client_credentials_grant_body(
    options: &JsClientCredentialsGrantOptions,
) -> Result<String, JsValue> {
    expect_object(options, "options must be an object")?;
    let audience = opt_string(options, "audience", "audience must be a string")?;
    let resource = opt_string(options, "resource", "resource must be a string")?;
    let organization = opt_string(options, "organization", "organization must be a string")?;
    let scope = opt_string(options, "scope", "scope must be a string")?;
    let client_id = opt_string(options, "clientId", "clientId must be a string")?;
    let grant = ClientCredentialsGrant {
        audience: audience.as_deref(),
        resource: resource.as_deref(),
        organization: organization.as_deref(),
        scope: scope.as_deref(),
        client_id: client_id.as_deref(),
    };
    js(grant.to_form())
}

/// Parses and validates a token endpoint response (RFC 6749 §5.1, §5.2).
///
/// Returns the `TokenSet` for a valid 200 response. Throws an `EdgeOAuthError`: with code
/// `OAUTH_ERROR` and `.error`, `.errorDescription`, `.status`, `.dpopNonce` for an error
/// response, or with the code of the exact problem for anything malformed.
/// `ARGUMENT_INVALID` when `status` is not an integer from 100 to 599 or `bodyText` is
/// not a string.
///
/// ```js
/// const res = await fetch(tokenEndpoint, { method: "POST", body, headers });
/// const tokens = parseTokenResponse(res.status, await res.text(), res.headers);
/// ```
#[wasm_bindgen(js_name = parseTokenResponse)]
pub fn parse_token_response_js(
    #[wasm_bindgen(unchecked_param_type = "number")] status: &JsValue,
    #[wasm_bindgen(js_name = bodyText, unchecked_param_type = "string")] body_text: &JsValue,
    headers: Option<JsHeadersLike>,
) -> Result<JsTokenSet, JsValue> {
    let status = http_status(status)?;
    let body_text = string_arg(body_text, "bodyText must be a string")?;
    let headers: JsValue = headers.map(Into::into).unwrap_or(JsValue::UNDEFINED);
    let now = u64::try_from(now_seconds()).unwrap_or(0);
    let set_ = match parse_token_response(status, &body_text, now) {
        Ok(set_) => set_,
        Err(Error::OAuth(mut resp)) => {
            resp.dpop_nonce =
                header(&headers, "DPoP-Nonce")?.and_then(|v| parse_dpop_nonce(&v).ok());
            return Err(js_error(&Error::OAuth(resp)));
        }
        Err(e) => return Err(js_error(&e)),
    };
    Ok(token_set_to_js(&set_))
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
pub(crate) fn token_set_to_js(set_: &TokenSet) -> JsTokenSet {
    let out = object();
    set(
        &out,
        "accessToken",
        &JsValue::from_str(set_.access_token.as_str()),
    );
    let token_type = match set_.token_type {
        TokenType::Bearer => "Bearer",
        TokenType::Dpop => "DPoP",
    };
    set(&out, "tokenType", &JsValue::from_str(token_type));
    if let Some(n) = set_.expires_in {
        // Token lifetimes are far below 2^53: the conversion is exact.
        set(&out, "expiresIn", &JsValue::from_f64(n as f64));
    }
    if let Some(n) = set_.expires_at {
        set(&out, "expiresAt", &JsValue::from_f64(n as f64));
    }
    if let Some(t) = &set_.refresh_token {
        set(&out, "refreshToken", &JsValue::from_str(t.as_str()));
    }
    if let Some(t) = &set_.id_token {
        set(&out, "idToken", &JsValue::from_str(t.as_str()));
    }
    if let Some(s) = &set_.scope {
        set(&out, "scope", &JsValue::from_str(s));
    }
    out.unchecked_into()
}

/// The origin (`scheme://host[:port]`, normalised) of an absolute http(s) URL; anything
/// else is `URL_INVALID` (or `ARGUMENT_INVALID` for a non-string).
///
/// ```js
/// endpointOrigin("HTTPS://Auth.Example.com:443/oauth/token"); // "https://auth.example.com"
/// ```
#[wasm_bindgen(js_name = endpointOrigin)]
pub fn endpoint_origin(
    #[wasm_bindgen(unchecked_param_type = "string")] url: &JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] what: &JsValue,
) -> Result<String, JsValue> {
    let Some(url) = url.as_string() else {
        let mut message = String::from("invalid argument: ");
        message.push_str(&what.as_string().unwrap_or_default());
        let js = js_sys::Error::new(&message);
        js.set_name("EdgeOAuthError");
        super::set(&js, "code", &JsValue::from_str("ARGUMENT_INVALID"));
        return Err(js.into());
    };
    js(origin(&url))
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
