//! The redirect leg for JavaScript: authorization URLs, pushed authorization requests,
//! the authorization response, server metadata and ID token claims. All synchronous.
//!
//! The JS layer (`src/js/protocol.js`) reads and type-checks the options objects and
//! hands their members over as arguments, each a JS value (which crosses the boundary
//! without glue code) that is type-checked here, in the order of the members.

use alloc::{string::String, vec::Vec};

use wasm_bindgen::prelude::*;

use super::{
    Json, js, js_error, js_string, json_to_js, now_seconds, opt_arg, opt_non_negative, set,
    set_opt_str, string_arg, string_array, string_list,
};
use crate::authorize::{
    AuthorizationRequest, ResponseCheck, ResponseMode, authorization_url_from_request_uri,
    parse_authorization_response, parse_par_response,
};
use crate::error::Error;
use crate::jws::Algorithm;
use crate::oidc::{
    DEFAULT_ID_TOKEN_ALGORITHMS, IdTokenValidation, ServerMetadata, validate_id_token,
};

/// A JS error for a core error; an error redirect also gets `.error`,
/// `.errorDescription` and `.errorUri`.
fn redirect_error(err: &Error) -> JsValue {
    let js = js_error(err);
    if let Error::AuthorizationError(e) = err {
        set(&js, "error", &JsValue::from_str(&e.error));
        set_opt_str(&js, "errorDescription", e.error_description.as_deref());
        set_opt_str(&js, "errorUri", e.error_uri.as_deref());
    }
    js
}

/// The URL to send the browser to (with `authorizationEndpoint`) or, without it, the body
/// of a pushed authorization request (RFC 9126 §2.1), for the members of
/// `AuthorizationUrlOptions` (checked by `buildAuthorizationUrl` / `buildParRequestBody`
/// in the JS layer). `maxAge` is a non-negative safe integer.
///
/// ```js
/// authorizationRequest(endpoint, "spa", redirectUri, challenge, "openid", state, ...);
/// ```
#[wasm_bindgen(js_name = authorizationRequest, unchecked_return_type = "string")]
#[allow(clippy::too_many_arguments)]
pub fn authorization_request(
    #[wasm_bindgen(unchecked_param_type = "string | undefined")] endpoint: &JsValue,
    #[wasm_bindgen(js_name = clientId, unchecked_param_type = "string")] client_id: &JsValue,
    #[wasm_bindgen(js_name = redirectUri, unchecked_param_type = "string")] redirect_uri: &JsValue,
    #[wasm_bindgen(js_name = codeChallenge, unchecked_param_type = "string")]
    code_challenge: &JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | undefined")] scope: &JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | undefined")] state: &JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | undefined")] nonce: &JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | undefined")] audience: &JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | undefined")] organization: &JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | string[] | undefined")] resource: &JsValue,
    #[wasm_bindgen(js_name = dpopJkt, unchecked_param_type = "string | undefined")]
    dpop_jkt: &JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | undefined")] prompt: &JsValue,
    #[wasm_bindgen(js_name = maxAge, unchecked_param_type = "number | undefined")]
    max_age: &JsValue,
    #[wasm_bindgen(js_name = loginHint, unchecked_param_type = "string | undefined")]
    login_hint: &JsValue,
    #[wasm_bindgen(js_name = responseMode, unchecked_param_type = "string | undefined")]
    response_mode: &JsValue,
) -> Result<JsValue, JsValue> {
    let endpoint = opt_arg(endpoint, "authorizationEndpoint must be a string")?;
    let max_age = opt_non_negative(max_age, "maxAge must be a non-negative integer")?;
    let client_id = string_arg(client_id, "clientId must be a string")?;
    let redirect_uri = string_arg(redirect_uri, "redirectUri must be a string")?;
    let code_challenge = string_arg(code_challenge, "codeChallenge must be a string")?;
    let scope = opt_arg(scope, "scope must be a string")?;
    let state = opt_arg(state, "state must be a string")?;
    let nonce = opt_arg(nonce, "nonce must be a string")?;
    let audience = opt_arg(audience, "audience must be a string")?;
    let organization = opt_arg(organization, "organization must be a string")?;
    let resource = match resource.as_string() {
        Some(one) => alloc::vec![one],
        None => string_list(resource, "resource must be a string or an array of strings")?,
    };
    let resource: Vec<&str> = resource.iter().map(String::as_str).collect();
    let dpop_jkt = opt_arg(dpop_jkt, "dpopJkt must be a string")?;
    let prompt = opt_arg(prompt, "prompt must be a string")?;
    let login_hint = opt_arg(login_hint, "loginHint must be a string")?;
    let response_mode = opt_arg(response_mode, "responseMode must be a string")?;
    let request = AuthorizationRequest {
        scope: scope.as_deref(),
        state: state.as_deref(),
        nonce: nonce.as_deref(),
        audience: audience.as_deref(),
        organization: organization.as_deref(),
        resource: &resource,
        dpop_jkt: dpop_jkt.as_deref(),
        prompt: prompt.as_deref(),
        max_age,
        login_hint: login_hint.as_deref(),
        response_mode: response_mode.as_deref(),
        ..AuthorizationRequest::new(
            endpoint.as_deref().unwrap_or(""),
            &client_id,
            &redirect_uri,
            &code_challenge,
        )
    };
    let out = js(match endpoint {
        Some(_) => request.to_url(),
        None => request.to_par_body(),
    })?;
    Ok(js_string(&out))
}

/// The URL after a pushed authorization request (RFC 9126 §4): `client_id` and
/// `request_uri` only.
///
/// ```js
/// authorizationUrlFromRequestUri(endpoint, "spa", requestUri);
/// ```
#[wasm_bindgen(js_name = authorizationUrlFromRequestUri, unchecked_return_type = "string")]
pub fn authorization_url_from_request_uri_js(
    #[wasm_bindgen(unchecked_param_type = "string")] endpoint: &JsValue,
    #[wasm_bindgen(js_name = clientId, unchecked_param_type = "string")] client_id: &JsValue,
    #[wasm_bindgen(js_name = requestUri, unchecked_param_type = "string")] request_uri: &JsValue,
) -> Result<JsValue, JsValue> {
    let endpoint = string_arg(endpoint, "authorizationEndpoint must be a string")?;
    let client_id = string_arg(client_id, "clientId must be a string")?;
    let request_uri = string_arg(request_uri, "requestUri must be a string")?;
    let url = js(authorization_url_from_request_uri(
        &endpoint,
        &client_id,
        &request_uri,
    ))?;
    Ok(js_string(&url))
}

/// Parses the response of a pushed authorization request (RFC 9126 §2.2) into the JSON
/// text of a `ParResponse`: status 201 with `request_uri` and `expires_in`, both
/// required. Any other status is read as an RFC 6749 error and thrown as `OAUTH_ERROR`;
/// anything malformed is `PAR_RESPONSE_INVALID` naming the member.
///
/// ```js
/// const { requestUri, expiresIn } = answer(2, res.status, await res.text());
/// ```
pub fn parse_par_response_js(status: &JsValue, body: &JsValue) -> Result<JsValue, JsValue> {
    let status = super::token::http_status(status)?;
    let body = string_arg(body, "body must be a string")?;
    let response = js(parse_par_response(status, &body))?;
    let now = u64::try_from(now_seconds()).unwrap_or(0);
    // Lifetimes are far below 2^53: the numbers are exact in JS.
    Json::new()
        .string("requestUri", &response.request_uri)
        .uint("expiresIn", response.expires_in)
        .uint("expiresAt", now.saturating_add(response.expires_in))
        .into_js()
}

/// Parses and checks the URL the browser came back with (RFC 6749 §4.1.2, RFC 9207),
/// into an `AuthorizationResponse`: `iss` when present or advertised
/// (first), then `state`, then an `error` redirect, then the `code`. Every failure has
/// its own code (`AUTHORIZATION_RESPONSE_*`), and `AUTHORIZATION_ERROR` (with `.error`,
/// `.errorDescription`, `.errorUri`) for an error redirect. `state` is `undefined` when
/// the request sent none. The response is read from the fragment when `responseMode` is
/// `"fragment"` or, without it, when the fragment has `code`, `state`, `error` or `iss`;
/// from the query otherwise (`AUTHORIZATION_RESPONSE_AMBIGUOUS` when both have them,
/// `AUTHORIZATION_RESPONSE_MODE_MISMATCH` when only the part not named has them).
///
/// ```js
/// const { code } = parseAuthorizationResponse(location.href, saved.state, issuer, true, "fragment");
/// ```
#[wasm_bindgen(
    js_name = parseAuthorizationResponse,
    unchecked_return_type = "AuthorizationResponse"
)]
pub fn parse_authorization_response_js(
    #[wasm_bindgen(unchecked_param_type = "string")] url: &JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | undefined")] state: &JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | undefined")] issuer: &JsValue,
    #[wasm_bindgen(js_name = issParameterSupported, unchecked_param_type = "boolean | undefined")]
    iss_parameter_supported: &JsValue,
    #[wasm_bindgen(js_name = responseMode, unchecked_param_type = "string | undefined")]
    response_mode: &JsValue,
) -> Result<JsValue, JsValue> {
    let url = string_arg(url, "url must be a string, a URL or a Location")?;
    let state = opt_arg(
        state,
        "state must be a string (or null when the request sent none)",
    )?;
    let issuer = opt_arg(issuer, "issuer must be a string")?;
    let iss_parameter_supported = if iss_parameter_supported.is_null_or_undefined() {
        false
    } else {
        iss_parameter_supported.as_bool().ok_or_else(|| {
            js_error(&Error::ArgumentInvalid(
                "issParameterSupported must be a boolean",
            ))
        })?
    };
    const MODE: &str = "responseMode must be \"query\" or \"fragment\"";
    let response_mode = match opt_arg(response_mode, MODE)?.as_deref() {
        None => None,
        Some("query") => Some(ResponseMode::Query),
        Some("fragment") => Some(ResponseMode::Fragment),
        Some(_) => return Err(js_error(&Error::ArgumentInvalid(MODE))),
    };
    let check = ResponseCheck {
        issuer: issuer.as_deref(),
        iss_parameter_supported,
        response_mode,
        ..ResponseCheck::new(state.as_deref())
    };
    let response = parse_authorization_response(&url, &check).map_err(|e| redirect_error(&e))?;
    Json::new()
        .string("code", response.code.as_str())
        .opt_string("state", response.state.as_deref())
        .opt_string("iss", response.iss.as_deref())
        .into_js()
}

/// Parses server metadata (RFC 8414 / OIDC Discovery) fetched for `expectedIssuer`,
/// strictly: `issuer` must equal `expectedIssuer` exactly (`METADATA_ISSUER_MISMATCH`),
/// `token_endpoint` and `response_types_supported` are required, every endpoint is https
/// (http only on a loopback host: `URL_INSECURE` otherwise), and every member has its
/// type (`METADATA_INVALID` naming it). Returns the members camelCase.
///
/// ```js
/// const metadata = parseServerMetadata(await res.text(), "https://auth.example.com/");
/// metadata.tokenEndpoint; // "https://auth.example.com/oauth/token"
/// ```
#[wasm_bindgen(js_name = parseServerMetadata, unchecked_return_type = "ServerMetadata")]
pub fn parse_server_metadata(
    #[wasm_bindgen(unchecked_param_type = "string")] json: &JsValue,
    #[wasm_bindgen(js_name = expectedIssuer, unchecked_param_type = "string")]
    expected_issuer: &JsValue,
) -> Result<JsValue, JsValue> {
    let json = string_arg(json, "json must be the response text (a string)")?;
    let expected_issuer = string_arg(expected_issuer, "expectedIssuer must be a string")?;
    let m = js(ServerMetadata::parse(&json, &expected_issuer))?;
    Json::new()
        .string("issuer", &m.issuer)
        .opt_string("authorizationEndpoint", m.authorization_endpoint.as_deref())
        .string("tokenEndpoint", &m.token_endpoint)
        .opt_string("jwksUri", m.jwks_uri.as_deref())
        .opt_string("userinfoEndpoint", m.userinfo_endpoint.as_deref())
        .opt_string("revocationEndpoint", m.revocation_endpoint.as_deref())
        .opt_string("introspectionEndpoint", m.introspection_endpoint.as_deref())
        .opt_string(
            "pushedAuthorizationRequestEndpoint",
            m.pushed_authorization_request_endpoint.as_deref(),
        )
        .opt_string("endSessionEndpoint", m.end_session_endpoint.as_deref())
        .opt_string(
            "deviceAuthorizationEndpoint",
            m.device_authorization_endpoint.as_deref(),
        )
        .bool(
            "requirePushedAuthorizationRequests",
            m.require_pushed_authorization_requests,
        )
        .bool(
            "authorizationResponseIssParameterSupported",
            m.authorization_response_iss_parameter_supported,
        )
        .list("responseTypesSupported", &m.response_types_supported)
        .list("responseModesSupported", &m.response_modes_supported)
        .list("grantTypesSupported", &m.grant_types_supported)
        .list("scopesSupported", &m.scopes_supported)
        .list(
            "codeChallengeMethodsSupported",
            &m.code_challenge_methods_supported,
        )
        .list(
            "tokenEndpointAuthMethodsSupported",
            &m.token_endpoint_auth_methods_supported,
        )
        .list(
            "dpopSigningAlgValuesSupported",
            &m.dpop_signing_alg_values_supported,
        )
        .list(
            "idTokenSigningAlgValuesSupported",
            &m.id_token_signing_alg_values_supported,
        )
        .into_js()
}

/// Validates an ID token's claims (OIDC Core §3.1.3.7): `iss`, `aud` (a string or an
/// array; other audiences only when trusted), `azp` with several audiences, `exp`,
/// `iat` and `nbf` (with the leeway), `nonce`, `at_hash` (§3.1.3.6) and `auth_time`
/// against `maxAge`, and returns the claims. With `jwks`, the ES256 signature is
/// verified first (where the module carries P-256 arithmetic). The members of
/// `IdTokenValidationOptions` come as arguments, checked by `validateIdTokenClaims` in
/// the JS layer: `maxAge` and `leeway` non-negative safe integers, `now` a non-negative
/// number of seconds (`undefined` for now). Throws one code per check
/// (`ID_TOKEN_ISS_MISMATCH`, `ID_TOKEN_AUD_MISMATCH`, `ID_TOKEN_EXPIRED`, ...).
///
/// ```js
/// const claims = validateIdTokenClaims(idToken, issuer, "spa", nonce, accessToken);
/// claims.sub; // "auth0|42"
/// ```
#[wasm_bindgen(js_name = validateIdTokenClaims, unchecked_return_type = "IdTokenClaims")]
#[allow(clippy::too_many_arguments)]
pub fn validate_id_token_claims(
    #[wasm_bindgen(js_name = idToken, unchecked_param_type = "string")] id_token: &JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] issuer: &JsValue,
    #[wasm_bindgen(js_name = clientId, unchecked_param_type = "string")] client_id: &JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | undefined")] nonce: &JsValue,
    #[wasm_bindgen(js_name = accessToken, unchecked_param_type = "string | undefined")]
    access_token: &JsValue,
    #[wasm_bindgen(js_name = maxAge, unchecked_param_type = "number | undefined")]
    max_age: &JsValue,
    #[wasm_bindgen(unchecked_param_type = "number | undefined")] leeway: &JsValue,
    #[wasm_bindgen(unchecked_param_type = "number | undefined")] now: &JsValue,
    #[wasm_bindgen(js_name = trustedAudiences, unchecked_param_type = "string[] | undefined")]
    trusted_audiences: &JsValue,
    #[wasm_bindgen(unchecked_param_type = "string[] | undefined")] algorithms: &JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | undefined")] jwks: &JsValue,
) -> Result<JsValue, JsValue> {
    let id_token = string_arg(id_token, "idToken must be a string")?;
    let issuer = string_arg(issuer, "issuer must be a string")?;
    let client_id = string_arg(client_id, "clientId must be a string")?;
    let nonce = opt_arg(nonce, "nonce must be a string")?;
    let access_token = opt_arg(access_token, "accessToken must be a string")?;
    let max_age = opt_non_negative(max_age, "maxAge must be a non-negative integer")?;
    let leeway = opt_non_negative(leeway, "leeway must be a non-negative integer")?;
    let now = if now.is_null_or_undefined() {
        u64::try_from(now_seconds()).unwrap_or(0)
    } else {
        match now.as_f64() {
            // Seconds; a fraction is floored like NumericDate claims.
            // Non-negative: the truncation is the floor.
            Some(n) if (0.0..=9_007_199_254_740_991.0).contains(&n) => n as u64,
            _ => {
                return Err(js_error(&Error::ArgumentInvalid(
                    "now must be a non-negative number of seconds",
                )));
            }
        }
    };
    let trusted = string_list(
        trusted_audiences,
        "trustedAudiences must be an array of strings",
    )?;
    let trusted: Vec<&str> = trusted.iter().map(String::as_str).collect();
    let algorithms: Vec<Algorithm> = if algorithms.is_null_or_undefined() {
        DEFAULT_ID_TOKEN_ALGORITHMS.to_vec()
    } else {
        {
            let names = string_array(algorithms, "algorithms must be an array of JWS alg names")?;
            let mut out = Vec::with_capacity(names.len());
            for name in &names {
                out.push(js(Algorithm::parse(name))?);
            }
            out
        }
    };
    let jwks = opt_arg(jwks, "jwks must be a JWKS object or its JSON text")?;
    let validation = IdTokenValidation {
        nonce: nonce.as_deref(),
        access_token: access_token.as_deref(),
        max_age,
        leeway: leeway.unwrap_or(60),
        trusted_audiences: &trusted,
        algorithms: &algorithms,
        jwks: jwks.as_deref(),
        ..IdTokenValidation::new(&issuer, &client_id, now)
    };
    let claims = js(validate_id_token(&id_token, &validation))?;
    json_to_js(&claims.claims.to_json())
}
