//! The redirect leg for JavaScript: authorization URLs, pushed authorization requests,
//! the authorization response, server metadata and ID token claims. All synchronous.

use alloc::{string::String, vec::Vec};

use js_sys::{Array, Reflect};
use wasm_bindgen::prelude::*;

use super::{
    expect_object, get, js, js_error, json_to_js, now_seconds, object, opt_integer, opt_string,
    req_string, set, set_opt_str, string_arg,
};
use crate::authorize::{
    AuthorizationRequest, ResponseCheck, authorization_url_from_request_uri,
    parse_authorization_response, parse_par_response,
};
use crate::error::Error;
use crate::jws::Algorithm;
use crate::oidc::{
    DEFAULT_ID_TOKEN_ALGORITHMS, IdTokenValidation, ServerMetadata, validate_id_token,
};

#[wasm_bindgen]
extern "C" {
    /// The TypeScript `AuthorizationUrlOptions` interface.
    #[wasm_bindgen(typescript_type = "AuthorizationUrlOptions")]
    pub type JsAuthorizationUrlOptions;
    /// The TypeScript `AuthorizationRequestParams` interface.
    #[wasm_bindgen(typescript_type = "AuthorizationRequestParams")]
    pub type JsAuthorizationRequestParams;
    /// The TypeScript `AuthorizationResponseOptions` interface.
    #[wasm_bindgen(typescript_type = "AuthorizationResponseOptions")]
    pub type JsAuthorizationResponseOptions;
    /// The TypeScript `AuthorizationResponse` interface.
    #[wasm_bindgen(typescript_type = "AuthorizationResponse")]
    pub type JsAuthorizationResponse;
    /// The TypeScript `ParResponse` interface.
    #[wasm_bindgen(typescript_type = "ParResponse")]
    pub type JsParResponse;
    /// The TypeScript `ServerMetadata` interface.
    #[wasm_bindgen(typescript_type = "ServerMetadata")]
    pub type JsServerMetadata;
    /// The TypeScript `IdTokenValidationOptions` interface.
    #[wasm_bindgen(typescript_type = "IdTokenValidationOptions")]
    pub type JsIdTokenValidationOptions;
    /// The TypeScript `IdTokenClaims` interface.
    #[wasm_bindgen(typescript_type = "IdTokenClaims")]
    pub type JsIdTokenClaims;
}

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

/// The request parameters read from a JS options object, owned.
struct RequestParams {
    client_id: String,
    redirect_uri: String,
    code_challenge: String,
    scope: Option<String>,
    state: Option<String>,
    nonce: Option<String>,
    audience: Option<String>,
    organization: Option<String>,
    resource: Vec<String>,
    dpop_jkt: Option<String>,
    prompt: Option<String>,
    max_age: Option<u64>,
    login_hint: Option<String>,
    response_mode: Option<String>,
}

/// The names of the options that are request parameters besides `clientId`.
const PARAM_OPTIONS: [&str; 13] = [
    "redirectUri",
    "codeChallenge",
    "scope",
    "state",
    "nonce",
    "audience",
    "organization",
    "resource",
    "dpopJkt",
    "prompt",
    "maxAge",
    "loginHint",
    "responseMode",
];

/// The strings of a JS array; anything else (or a non-string item) is `ARGUMENT_INVALID`.
fn string_array(value: &JsValue, what: &'static str) -> Result<Vec<String>, JsValue> {
    if !Array::is_array(value) {
        return Err(js_error(&Error::ArgumentInvalid(what)));
    }
    let array = Array::from(value);
    let mut out = Vec::with_capacity(array.length() as usize);
    for item in array.iter() {
        out.push(
            item.as_string()
                .ok_or_else(|| js_error(&Error::ArgumentInvalid(what)))?,
        );
    }
    Ok(out)
}

fn read_resource(options: &JsValue) -> Result<Vec<String>, JsValue> {
    const MESSAGE: &str = "resource must be a string or an array of strings";
    match get(options, "resource") {
        None => Ok(Vec::new()),
        Some(v) => match v.as_string() {
            Some(one) => Ok(alloc::vec![one]),
            None => string_array(&v, MESSAGE),
        },
    }
}

fn read_params(options: &JsValue) -> Result<RequestParams, JsValue> {
    let max_age = match opt_integer(options, "maxAge", "maxAge must be a non-negative integer")? {
        None => None,
        Some(n) => Some(u64::try_from(n).map_err(|_| {
            js_error(&Error::ArgumentInvalid(
                "maxAge must be a non-negative integer",
            ))
        })?),
    };
    Ok(RequestParams {
        client_id: req_string(options, "clientId", "clientId must be a string")?,
        redirect_uri: req_string(options, "redirectUri", "redirectUri must be a string")?,
        code_challenge: req_string(options, "codeChallenge", "codeChallenge must be a string")?,
        scope: opt_string(options, "scope", "scope must be a string")?,
        state: opt_string(options, "state", "state must be a string")?,
        nonce: opt_string(options, "nonce", "nonce must be a string")?,
        audience: opt_string(options, "audience", "audience must be a string")?,
        organization: opt_string(options, "organization", "organization must be a string")?,
        resource: read_resource(options)?,
        dpop_jkt: opt_string(options, "dpopJkt", "dpopJkt must be a string")?,
        prompt: opt_string(options, "prompt", "prompt must be a string")?,
        max_age,
        login_hint: opt_string(options, "loginHint", "loginHint must be a string")?,
        response_mode: opt_string(options, "responseMode", "responseMode must be a string")?,
    })
}

impl RequestParams {
    fn build<'a>(&'a self, endpoint: &'a str, resource: &'a [&'a str]) -> AuthorizationRequest<'a> {
        AuthorizationRequest {
            scope: self.scope.as_deref(),
            state: self.state.as_deref(),
            nonce: self.nonce.as_deref(),
            audience: self.audience.as_deref(),
            organization: self.organization.as_deref(),
            resource,
            dpop_jkt: self.dpop_jkt.as_deref(),
            prompt: self.prompt.as_deref(),
            max_age: self.max_age,
            login_hint: self.login_hint.as_deref(),
            response_mode: self.response_mode.as_deref(),
            ..AuthorizationRequest::new(
                endpoint,
                &self.client_id,
                &self.redirect_uri,
                &self.code_challenge,
            )
        }
    }
}

/// Builds the URL to send the browser to for an authorization request with PKCE S256
/// (RFC 6749 §4.1.1, RFC 7636 §4.3), or, with `requestUri`, the URL after a pushed
/// authorization request (RFC 9126 §4: `client_id` and `request_uri` only).
///
/// Throws `URL_INVALID` / `URL_INSECURE` for the endpoint, `REQUEST_PARAMETER_MISSING` /
/// `REQUEST_PARAMETER_INVALID` / `PKCE_CHALLENGE_INVALID` naming the parameter,
/// `ARGUMENT_INVALID` for a mistyped option or for request parameters next to
/// `requestUri`.
///
/// ```js
/// const { codeVerifier, codeChallenge } = generatePkce();
/// location.assign(buildAuthorizationUrl({
///   authorizationEndpoint: "https://auth.example.com/authorize",
///   clientId: "spa", redirectUri: location.origin + "/", codeChallenge,
///   scope: "openid offline_access", state, nonce, dpopJkt: key.thumbprint,
/// }));
/// ```
#[wasm_bindgen(js_name = buildAuthorizationUrl)]
pub fn build_authorization_url(options: &JsAuthorizationUrlOptions) -> Result<String, JsValue> {
    expect_object(options, "options must be an object")?;
    let endpoint = req_string(
        options,
        "authorizationEndpoint",
        "authorizationEndpoint must be a string",
    )?;
    if let Some(request_uri) = opt_string(options, "requestUri", "requestUri must be a string")? {
        if PARAM_OPTIONS.iter().any(|k| get(options, k).is_some()) {
            return Err(js_error(&Error::ArgumentInvalid(
                "with requestUri the URL carries only clientId and requestUri (RFC 9126 §4): the other parameters belong in the pushed request",
            )));
        }
        let client_id = req_string(options, "clientId", "clientId must be a string")?;
        return js(authorization_url_from_request_uri(
            &endpoint,
            &client_id,
            &request_uri,
        ));
    }
    let params = read_params(options)?;
    let resource: Vec<&str> = params.resource.iter().map(String::as_str).collect();
    js(params.build(&endpoint, &resource).to_url())
}

/// Builds the `application/x-www-form-urlencoded` body of a pushed authorization
/// request (RFC 9126 §2.1): the parameters of `buildAuthorizationUrl` (an
/// `authorizationEndpoint` in the options is ignored). Send it with `POST` to the
/// metadata's `pushed_authorization_request_endpoint`, with client authentication if the
/// client has any and a DPoP proof if it binds tokens to a key.
///
/// ```js
/// const body = buildParRequestBody({ clientId: "spa", redirectUri, codeChallenge, scope: "openid", state });
/// const res = await fetch(parEndpoint, { method: "POST", body, headers: { "content-type": "application/x-www-form-urlencoded" } });
/// const { requestUri } = parseParResponse(res.status, await res.text());
/// ```
#[wasm_bindgen(js_name = buildParRequestBody)]
pub fn build_par_request_body(options: &JsAuthorizationRequestParams) -> Result<String, JsValue> {
    expect_object(options, "options must be an object")?;
    if get(options, "requestUri").is_some() {
        return Err(js_error(&Error::ArgumentInvalid(
            "requestUri is not allowed in a pushed request (RFC 9126 §2.1)",
        )));
    }
    let params = read_params(options)?;
    let resource: Vec<&str> = params.resource.iter().map(String::as_str).collect();
    js(params.build("", &resource).to_par_body())
}

/// Parses the response of a pushed authorization request (RFC 9126 §2.2): status 201
/// with `request_uri` and `expires_in`, both required. Any other status is read as an
/// RFC 6749 error and thrown as `OAUTH_ERROR` (with `.error`, `.errorDescription`,
/// `.status`); anything malformed is `PAR_RESPONSE_INVALID` naming the member.
///
/// ```js
/// const { requestUri, expiresIn } = parseParResponse(res.status, await res.text());
/// location.assign(buildAuthorizationUrl({ authorizationEndpoint, clientId: "spa", requestUri }));
/// ```
#[wasm_bindgen(js_name = parseParResponse)]
pub fn parse_par_response_js(
    #[wasm_bindgen(unchecked_param_type = "number")] status: &JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] body: &JsValue,
) -> Result<JsParResponse, JsValue> {
    let status = super::token::http_status(status)?;
    let body = string_arg(body, "body must be a string")?;
    let response = js(parse_par_response(status, &body))?;
    let out = object();
    set(
        &out,
        "requestUri",
        &JsValue::from_str(&response.request_uri),
    );
    // Lifetimes are far below 2^53: the conversions are exact.
    set(
        &out,
        "expiresIn",
        &JsValue::from_f64(response.expires_in as f64),
    );
    let now = u64::try_from(now_seconds()).unwrap_or(0);
    set(
        &out,
        "expiresAt",
        &JsValue::from_f64(now.saturating_add(response.expires_in) as f64),
    );
    Ok(out.unchecked_into())
}

/// Reads the URL argument: a string, or a `URL` / `Location` (its `href`).
fn url_arg(value: &JsValue) -> Result<String, JsValue> {
    if let Some(s) = value.as_string() {
        return Ok(s);
    }
    if let Some(href) = value
        .is_object()
        .then(|| get(value, "href").and_then(|h| h.as_string()))
        .flatten()
    {
        return Ok(href);
    }
    Err(js_error(&Error::ArgumentInvalid(
        "url must be a string, a URL or a Location",
    )))
}

/// Parses and checks the URL the browser came back with (RFC 6749 §4.1.2, RFC 9207):
/// `iss` when present or advertised (first), then `state`, then an `error` redirect,
/// then the `code`. Every failure has its own code: `AUTHORIZATION_RESPONSE_ISS_MISMATCH`,
/// `AUTHORIZATION_RESPONSE_ISS_MISSING`, `AUTHORIZATION_RESPONSE_STATE_MISMATCH`,
/// `AUTHORIZATION_RESPONSE_STATE_MISSING`, `AUTHORIZATION_RESPONSE_STATE_UNEXPECTED`,
/// `AUTHORIZATION_RESPONSE_PARAMETER_REPEATED`, `AUTHORIZATION_RESPONSE_CODE_MISSING`,
/// `AUTHORIZATION_RESPONSE_INVALID`, and `AUTHORIZATION_ERROR` (with `.error`,
/// `.errorDescription`, `.errorUri`) for an error redirect.
///
/// ```js
/// const { code } = parseAuthorizationResponse(location.href, {
///   state: saved.state, issuer: metadata.issuer,
///   issParameterSupported: metadata.authorizationResponseIssParameterSupported,
/// });
/// ```
#[wasm_bindgen(js_name = parseAuthorizationResponse)]
pub fn parse_authorization_response_js(
    #[wasm_bindgen(unchecked_param_type = "string | URL | Location")] url: &JsValue,
    options: &JsAuthorizationResponseOptions,
) -> Result<JsAuthorizationResponse, JsValue> {
    let url = url_arg(url)?;
    expect_object(options, "options must be an object")?;
    // `state` must be given: a string, or null when the request sent none. A forgotten
    // state must not silently turn the CSRF check off.
    let state_value = Reflect::get(options, &JsValue::from_str("state"))
        .map_err(|_| js_error(&Error::ArgumentInvalid("options.state is unreadable")))?;
    let state = if state_value.is_null() {
        None
    } else {
        Some(state_value.as_string().ok_or_else(|| {
            js_error(&Error::ArgumentInvalid(
                "state must be a string (or null when the request sent none)",
            ))
        })?)
    };
    let issuer = opt_string(options, "issuer", "issuer must be a string")?;
    let iss_parameter_supported = match get(options, "issParameterSupported") {
        None => false,
        Some(v) => v.as_bool().ok_or_else(|| {
            js_error(&Error::ArgumentInvalid(
                "issParameterSupported must be a boolean",
            ))
        })?,
    };
    let check = ResponseCheck {
        issuer: issuer.as_deref(),
        iss_parameter_supported,
        ..ResponseCheck::new(state.as_deref())
    };
    let response = parse_authorization_response(&url, &check).map_err(|e| redirect_error(&e))?;
    let out = object();
    set(&out, "code", &JsValue::from_str(response.code.as_str()));
    set_opt_str(&out, "state", response.state.as_deref());
    set_opt_str(&out, "iss", response.iss.as_deref());
    Ok(out.unchecked_into())
}

fn set_list(out: &JsValue, key: &str, items: &[String]) {
    let array = Array::new();
    for item in items {
        array.push(&JsValue::from_str(item));
    }
    set(out, key, &array);
}

/// Parses server metadata (RFC 8414 / OIDC Discovery) fetched for `expectedIssuer`,
/// strictly: `issuer` must equal `expectedIssuer` exactly (`METADATA_ISSUER_MISMATCH`),
/// `token_endpoint` and `response_types_supported` are required, every endpoint is https
/// (http only on a loopback host: `URL_INSECURE` otherwise), and every member has its
/// type (`METADATA_INVALID` naming it). Returns the members camelCase.
///
/// ```js
/// const res = await fetch("https://auth.example.com/.well-known/openid-configuration");
/// const metadata = parseServerMetadata(await res.text(), "https://auth.example.com/");
/// metadata.tokenEndpoint; // "https://auth.example.com/oauth/token"
/// ```
#[wasm_bindgen(js_name = parseServerMetadata)]
pub fn parse_server_metadata(
    #[wasm_bindgen(unchecked_param_type = "string")] json: &JsValue,
    #[wasm_bindgen(js_name = expectedIssuer, unchecked_param_type = "string")]
    expected_issuer: &JsValue,
) -> Result<JsServerMetadata, JsValue> {
    let json = string_arg(json, "json must be the response text (a string)")?;
    let expected_issuer = string_arg(expected_issuer, "expectedIssuer must be a string")?;
    let m = js(ServerMetadata::parse(&json, &expected_issuer))?;
    let out = object();
    set(&out, "issuer", &JsValue::from_str(&m.issuer));
    set_opt_str(
        &out,
        "authorizationEndpoint",
        m.authorization_endpoint.as_deref(),
    );
    set(&out, "tokenEndpoint", &JsValue::from_str(&m.token_endpoint));
    set_opt_str(&out, "jwksUri", m.jwks_uri.as_deref());
    set_opt_str(&out, "userinfoEndpoint", m.userinfo_endpoint.as_deref());
    set_opt_str(&out, "revocationEndpoint", m.revocation_endpoint.as_deref());
    set_opt_str(
        &out,
        "introspectionEndpoint",
        m.introspection_endpoint.as_deref(),
    );
    set_opt_str(
        &out,
        "pushedAuthorizationRequestEndpoint",
        m.pushed_authorization_request_endpoint.as_deref(),
    );
    set_opt_str(
        &out,
        "endSessionEndpoint",
        m.end_session_endpoint.as_deref(),
    );
    set_opt_str(
        &out,
        "deviceAuthorizationEndpoint",
        m.device_authorization_endpoint.as_deref(),
    );
    set(
        &out,
        "requirePushedAuthorizationRequests",
        &JsValue::from_bool(m.require_pushed_authorization_requests),
    );
    set(
        &out,
        "authorizationResponseIssParameterSupported",
        &JsValue::from_bool(m.authorization_response_iss_parameter_supported),
    );
    set_list(&out, "responseTypesSupported", &m.response_types_supported);
    set_list(&out, "responseModesSupported", &m.response_modes_supported);
    set_list(&out, "grantTypesSupported", &m.grant_types_supported);
    set_list(&out, "scopesSupported", &m.scopes_supported);
    set_list(
        &out,
        "codeChallengeMethodsSupported",
        &m.code_challenge_methods_supported,
    );
    set_list(
        &out,
        "tokenEndpointAuthMethodsSupported",
        &m.token_endpoint_auth_methods_supported,
    );
    set_list(
        &out,
        "dpopSigningAlgValuesSupported",
        &m.dpop_signing_alg_values_supported,
    );
    set_list(
        &out,
        "idTokenSigningAlgValuesSupported",
        &m.id_token_signing_alg_values_supported,
    );
    Ok(out.unchecked_into())
}

fn string_list(options: &JsValue, key: &str, what: &'static str) -> Result<Vec<String>, JsValue> {
    match get(options, key) {
        None => Ok(Vec::new()),
        Some(v) => string_array(&v, what),
    }
}

fn non_negative(options: &JsValue, key: &str, what: &'static str) -> Result<Option<u64>, JsValue> {
    match opt_integer(options, key, what)? {
        None => Ok(None),
        Some(n) => u64::try_from(n)
            .map(Some)
            .map_err(|_| js_error(&Error::ArgumentInvalid(what))),
    }
}

/// Validates an ID token's claims (OIDC Core §3.1.3.7): `iss`, `aud` (a string or an
/// array; other audiences only when trusted), `azp` with several audiences, `exp`,
/// `iat` (with the leeway), `nonce`, `at_hash` (§3.1.3.6) and `auth_time` against
/// `maxAge`, and returns the claims. With `jwks`, the ES256 signature is verified first.
/// Throws one code per check (`ID_TOKEN_ISS_MISMATCH`, `ID_TOKEN_AUD_MISMATCH`,
/// `ID_TOKEN_EXPIRED`, `ID_TOKEN_NONCE_MISMATCH`, `ID_TOKEN_AT_HASH_MISMATCH`, ...).
///
/// ```js
/// const tokens = await client.exchangeCode({ code, redirectUri, codeVerifier });
/// const claims = validateIdTokenClaims(tokens.idToken, {
///   issuer: metadata.issuer, clientId: "spa", nonce: saved.nonce, accessToken: tokens.accessToken,
/// });
/// claims.sub; // "auth0|42"
/// ```
#[wasm_bindgen(js_name = validateIdTokenClaims)]
pub fn validate_id_token_claims(
    #[wasm_bindgen(js_name = idToken, unchecked_param_type = "string")] id_token: &JsValue,
    options: &JsIdTokenValidationOptions,
) -> Result<JsIdTokenClaims, JsValue> {
    let id_token = string_arg(id_token, "idToken must be a string")?;
    expect_object(options, "options must be an object")?;
    let issuer = req_string(options, "issuer", "issuer must be a string")?;
    let client_id = req_string(options, "clientId", "clientId must be a string")?;
    let nonce = opt_string(options, "nonce", "nonce must be a string")?;
    let access_token = opt_string(options, "accessToken", "accessToken must be a string")?;
    let max_age = non_negative(options, "maxAge", "maxAge must be a non-negative integer")?;
    let leeway = non_negative(options, "leeway", "leeway must be a non-negative integer")?;
    let now = match get(options, "now") {
        None => u64::try_from(now_seconds()).unwrap_or(0),
        Some(v) => match v.as_f64() {
            // Seconds; a fraction is floored like NumericDate claims.
            // Non-negative: the truncation is the floor.
            Some(n) if (0.0..=9_007_199_254_740_991.0).contains(&n) => n as u64,
            _ => {
                return Err(js_error(&Error::ArgumentInvalid(
                    "now must be a non-negative number of seconds",
                )));
            }
        },
    };
    let trusted = string_list(
        options,
        "trustedAudiences",
        "trustedAudiences must be an array of strings",
    )?;
    let trusted: Vec<&str> = trusted.iter().map(String::as_str).collect();
    let algorithms: Vec<Algorithm> = match get(options, "algorithms") {
        None => DEFAULT_ID_TOKEN_ALGORITHMS.to_vec(),
        Some(v) => {
            let names = string_array(&v, "algorithms must be an array of JWS alg names")?;
            let mut out = Vec::with_capacity(names.len());
            for name in &names {
                out.push(js(Algorithm::parse(name))?);
            }
            out
        }
    };
    let jwks = match get(options, "jwks") {
        None => None,
        Some(v) if v.is_string() => v.as_string(),
        Some(v) => {
            expect_object(&v, "jwks must be a JWKS object or its JSON text")?;
            Some(
                js_sys::JSON::stringify(&v)
                    .ok()
                    .and_then(|s| s.as_string())
                    .ok_or_else(|| {
                        js_error(&Error::ArgumentInvalid(
                            "jwks must be a JWKS object or its JSON text",
                        ))
                    })?,
            )
        }
    };
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
    Ok(json_to_js(&claims.claims.to_json())?.unchecked_into())
}
