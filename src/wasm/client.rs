//! `TokenClient` (RFC 6749 token requests and RFC 7009 revocation over `fetch`, with
//! DPoP) and `fetchWithDpop` (RFC 9449 §7 resource requests) for JavaScript.
//!
//! Each is a thin loop over the core: build the body ([`crate::token::request`]), sign a
//! proof with the key's current nonce for that origin, send, remember any `DPoP-Nonce`
//! ([`NonceCache`](crate::token::client::NonceCache)), retry exactly once when the
//! server asks for a nonce ([`is_use_dpop_nonce`]) and one other than the attempt's is
//! known ([`NonceCache::retry_nonce`](crate::token::client::NonceCache::retry_nonce)),
//! then parse and check the result ([`parse_token_response`], [`require_dpop_bound`]).

use alloc::{
    format,
    rc::Rc,
    string::{String, ToString},
};

use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::dpop::{JsPromiseVoid, KeyInner, ProofRequest, key_from_js};
use super::platform::{self, Headers, ReadResponse, Response};
use super::token::token_set_to_js;
use super::{
    expect_object, get, js, js_error, now_seconds, object, opt_string, req_string, set, string_arg,
};
use crate::error::Error;
use crate::token::ClientSecret;
use crate::token::client::{is_use_dpop_nonce, origin, require_dpop_bound};
use crate::token::request::{
    AuthorizationCodeGrant, ClientCredentialsGrant, RefreshTokenGrant, TokenRevocation,
    encode_basic_credentials,
};
use crate::token::response::{parse_dpop_nonce, parse_error_response, parse_token_response};

#[wasm_bindgen(typescript_custom_section)]
const TS_CLIENT: &'static str = r#"
/** How a `TokenClient` reaches and authenticates to the authorization server. */
export interface TokenClientOptions {
  /** The absolute URL of the token endpoint, e.g. `https://auth.example.com/oauth/token`. */
  tokenEndpoint: string;
  clientId: string;
  /** For confidential clients: sent as HTTP Basic (`client_secret_basic`). Without it the
   *  client is public and `client_id` goes in the body. */
  clientSecret?: string;
  /** Sign every token request with this key (RFC 9449) and require `token_type: DPoP`. */
  dpopKey?: DpopKey;
  /** The RFC 7009 revocation endpoint; defaults to `<origin of tokenEndpoint>/oauth/revoke`
   *  (Auth0's and edge-oauth's path). */
  revocationEndpoint?: string;
}

/** An `authorization_code` exchange (RFC 6749 §4.1.3 with PKCE, RFC 7636 §4.5). */
export interface ExchangeCodeOptions {
  code: string;
  /** Exactly the `redirect_uri` of the authorization request. */
  redirectUri: string;
  codeVerifier: string;
}

/** Options of a refresh (RFC 6749 §6). */
export interface RefreshOptions {
  /** Narrows the scope; omit to keep the original scope. */
  scope?: string;
}

/** A `client_credentials` request (RFC 6749 §4.4, Auth0 style). */
export interface ClientCredentialsOptions {
  /** The API identifier (Auth0's `audience`). */
  audience?: string;
  /** An RFC 8707 resource indicator. */
  resource?: string;
  /** An Auth0 organization id or name. */
  organization?: string;
  scope?: string;
}

/** Options of a revocation (RFC 7009 §2.1). */
export interface RevokeOptions {
  tokenTypeHint?: "access_token" | "refresh_token";
}

/** The credentials of a DPoP-protected resource request (RFC 9449 §7). */
export interface FetchWithDpopOptions {
  /** A DPoP-bound access token: sent as `Authorization: DPoP <token>`, hashed into `ath`. */
  accessToken: string;
  /** The key the token is bound to. */
  dpopKey: DpopKey;
}
"#;

#[wasm_bindgen]
extern "C" {
    /// The TypeScript `TokenClientOptions` interface.
    #[wasm_bindgen(typescript_type = "TokenClientOptions")]
    pub type JsTokenClientOptions;
    /// The TypeScript `ExchangeCodeOptions` interface.
    #[wasm_bindgen(typescript_type = "ExchangeCodeOptions")]
    pub type JsExchangeCodeOptions;
    /// The TypeScript `RefreshOptions` interface.
    #[wasm_bindgen(typescript_type = "RefreshOptions")]
    pub type JsRefreshOptions;
    /// The TypeScript `ClientCredentialsOptions` interface.
    #[wasm_bindgen(typescript_type = "ClientCredentialsOptions")]
    pub type JsClientCredentialsOptions;
    /// The TypeScript `RevokeOptions` interface.
    #[wasm_bindgen(typescript_type = "RevokeOptions")]
    pub type JsRevokeOptions;
    /// The TypeScript `FetchWithDpopOptions` interface.
    #[wasm_bindgen(typescript_type = "FetchWithDpopOptions")]
    pub type JsFetchWithDpopOptions;
    /// `RequestInit`.
    #[wasm_bindgen(typescript_type = "RequestInit")]
    pub type JsRequestInit;
    /// `string | URL`.
    #[wasm_bindgen(typescript_type = "string | URL")]
    pub type JsUrlLike;
    /// `Promise<TokenSet>`.
    #[wasm_bindgen(typescript_type = "Promise<TokenSet>")]
    pub type JsPromiseTokenSet;
    /// `Promise<Response>`.
    #[wasm_bindgen(typescript_type = "Promise<Response>")]
    pub type JsPromiseResponse;
}

/// What a `TokenClient` holds.
struct ClientInner {
    token_endpoint: String,
    revocation_endpoint: String,
    client_id: String,
    client_secret: Option<ClientSecret>,
    key: Option<Rc<KeyInner>>,
}

/// An absolute http(s) URL, checked by the core.
fn endpoint(options: &JsValue, key: &str, what: &'static str) -> Result<Option<String>, JsValue> {
    let Some(url) = opt_string(options, key, what)? else {
        return Ok(None);
    };
    js(origin(&url))?;
    Ok(Some(url))
}

impl ClientInner {
    /// The request headers: form body, JSON answer, Basic credentials for a
    /// confidential client.
    fn headers(&self) -> Result<JsValue, JsValue> {
        let headers = object();
        set(
            &headers,
            "content-type",
            &"application/x-www-form-urlencoded".into(),
        );
        set(&headers, "accept", &"application/json".into());
        if let Some(secret) = &self.client_secret {
            // Zeroizing: the Rust copy of the header is wiped once it is handed to JS.
            let basic = js(encode_basic_credentials(&self.client_id, secret.as_str()))?;
            set(
                &headers,
                "authorization",
                &JsValue::from_str(basic.as_str()),
            );
        }
        Ok(headers)
    }

    /// `client_id` goes in the body only for public clients (RFC 6749 §2.3.1 forbids
    /// using two authentication methods).
    fn body_client_id(&self) -> Option<&str> {
        self.client_secret
            .is_none()
            .then_some(self.client_id.as_str())
    }

    /// POSTs a form to `url`, with a fresh proof per attempt when the client has a key.
    async fn post(&self, url: &str, body: &str, with_proof: bool) -> Result<ReadResponse, JsValue> {
        let key = self.key.as_ref().filter(|_| with_proof);
        // The nonce of the retry, chosen from the cache after the first answer.
        let mut retry_nonce: Option<String> = None;
        loop {
            let retrying = retry_nonce.is_some();
            let headers = self.headers()?;
            let mut used_nonce = None;
            if let Some(key) = key {
                used_nonce = retry_nonce
                    .take()
                    .or_else(|| key.nonces.borrow().get(url).map(ToString::to_string));
                let request = ProofRequest {
                    htm: "POST".into(),
                    htu: url.into(),
                    iat: now_seconds(),
                    jti: None,
                    nonce: used_nonce.clone(),
                    access_token: None,
                };
                let proof = key.proof(&request.options()).await?;
                set(&headers, "dpop", &JsValue::from_str(&proof));
            }
            let init = object();
            set(&init, "method", &"POST".into());
            set(&init, "headers", &headers);
            set(&init, "body", &JsValue::from_str(body));
            let response = platform::fetch_text(url, init.unchecked_ref()).await?;
            if let Some(k) = &self.key {
                k.nonces
                    .borrow_mut()
                    .remember(url, response.dpop_nonce.as_deref());
            }
            if let Some(key) = key.filter(|_| !retrying)
                && is_use_dpop_nonce(
                    response.status,
                    &response.body,
                    response.www_authenticate.as_deref(),
                )
            {
                // Retry when a nonce other than the one this attempt carried is known,
                // whether this answer or a concurrent one stored it.
                retry_nonce = key
                    .nonces
                    .borrow()
                    .retry_nonce(url, used_nonce.as_deref())
                    .map(ToString::to_string);
                if retry_nonce.is_some() {
                    continue;
                }
            }
            return Ok(response);
        }
    }

    /// A token request: POST, then parse, then check the token type.
    async fn token_request(&self, body: String) -> Result<JsValue, JsValue> {
        let response = self.post(&self.token_endpoint, &body, true).await?;
        let now = u64::try_from(now_seconds()).unwrap_or(0);
        match parse_token_response(response.status, &response.body, now) {
            Ok(tokens) => {
                if self.key.is_some() {
                    js(require_dpop_bound(&tokens))?;
                }
                Ok(token_set_to_js(&tokens).into())
            }
            Err(Error::OAuth(mut e)) => {
                e.dpop_nonce = response
                    .dpop_nonce
                    .as_deref()
                    .and_then(|n| parse_dpop_nonce(n).ok());
                Err(js_error(&Error::OAuth(e)))
            }
            Err(e) => Err(js_error(&e)),
        }
    }
}

/// A small OAuth 2.0 client for one token endpoint, over the global `fetch` (browsers,
/// workers, Node 20).
///
/// With a `dpopKey` every token request carries a fresh DPoP proof; the last
/// `DPoP-Nonce` of each origin is cached on the key, a `use_dpop_nonce` answer (a 400
/// error body, or a 401 `WWW-Authenticate: DPoP error="use_dpop_nonce"`) is retried
/// exactly once with the new nonce, and a token that comes back with `token_type`
/// other than `DPoP` is refused (`TOKEN_TYPE_MISMATCH`, RFC 9449 §5). Every failure is an
/// `EdgeOAuthError`: `OAUTH_ERROR` with `.error`, `.errorDescription`, `.status`,
/// `.dpopNonce` for a server error, `FETCH_FAILED` with `.cause` for a network error.
///
/// ```js
/// const dpopKey = await DpopKey.generateNonExtractable();
/// const client = new TokenClient({ tokenEndpoint: "https://auth.example.com/oauth/token", clientId: "spa", dpopKey });
/// const tokens = await client.exchangeCode({ code, redirectUri, codeVerifier });
/// const res = await fetchWithDpop("https://api.example.com/items", {}, { accessToken: tokens.accessToken, dpopKey });
/// ```
#[wasm_bindgen(js_name = TokenClient)]
pub struct TokenClient {
    inner: Rc<ClientInner>,
}

#[wasm_bindgen(js_class = TokenClient)]
impl TokenClient {
    /// Checks the options: `tokenEndpoint` (and `revocationEndpoint`) must be absolute
    /// http(s) URLs (`URL_INVALID`), `clientId` a non-empty string, `dpopKey` a `DpopKey`.
    ///
    /// ```js
    /// const m2m = new TokenClient({ tokenEndpoint, clientId: "svc", clientSecret: process.env.SECRET });
    /// ```
    #[wasm_bindgen(constructor)]
    pub fn new(options: &JsTokenClientOptions) -> Result<TokenClient, JsValue> {
        expect_object(options, "TokenClient options must be an object")?;
        let token_endpoint = endpoint(options, "tokenEndpoint", "tokenEndpoint must be a string")?
            .ok_or_else(|| js_error(&Error::ArgumentInvalid("tokenEndpoint must be a string")))?;
        let client_id = req_string(options, "clientId", "clientId must be a string")?;
        if client_id.is_empty() {
            return Err(js_error(&Error::ArgumentInvalid(
                "clientId must not be empty",
            )));
        }
        let client_secret = opt_string(options, "clientSecret", "clientSecret must be a string")?
            .map(ClientSecret::new);
        let key = match get(options, "dpopKey") {
            None => None,
            Some(v) => Some(key_from_js(&v, "dpopKey must be a DpopKey")?),
        };
        let revocation_endpoint = match endpoint(
            options,
            "revocationEndpoint",
            "revocationEndpoint must be a string",
        )? {
            Some(url) => url,
            None => format!("{}/oauth/revoke", js(origin(&token_endpoint))?),
        };
        Ok(TokenClient {
            inner: Rc::new(ClientInner {
                token_endpoint,
                revocation_endpoint,
                client_id,
                client_secret,
                key,
            }),
        })
    }

    /// The token endpoint URL.
    ///
    /// ```js
    /// client.tokenEndpoint; // "https://auth.example.com/oauth/token"
    /// ```
    #[wasm_bindgen(getter, js_name = tokenEndpoint)]
    pub fn token_endpoint(&self) -> String {
        self.inner.token_endpoint.clone()
    }

    /// The revocation endpoint URL (the option, or `<origin>/oauth/revoke`).
    ///
    /// ```js
    /// client.revocationEndpoint; // "https://auth.example.com/oauth/revoke"
    /// ```
    #[wasm_bindgen(getter, js_name = revocationEndpoint)]
    pub fn revocation_endpoint(&self) -> String {
        self.inner.revocation_endpoint.clone()
    }

    /// Exchanges an authorization code (with its PKCE verifier) for tokens.
    ///
    /// ```js
    /// const tokens = await client.exchangeCode({ code, redirectUri: "https://app.example.com/", codeVerifier });
    /// ```
    #[wasm_bindgen(js_name = exchangeCode)]
    pub fn exchange_code(&self, options: &JsExchangeCodeOptions) -> JsPromiseTokenSet {
        let inner = Rc::clone(&self.inner);
        let options: JsValue = options.into();
        future_to_promise(async move {
            expect_object(&options, "exchangeCode options must be an object")?;
            let code = req_string(&options, "code", "code must be a string")?;
            let redirect_uri = req_string(&options, "redirectUri", "redirectUri must be a string")?;
            let code_verifier =
                req_string(&options, "codeVerifier", "codeVerifier must be a string")?;
            let body = js(AuthorizationCodeGrant {
                code: &code,
                redirect_uri: &redirect_uri,
                code_verifier: &code_verifier,
                client_id: inner.body_client_id(),
            }
            .to_form())?;
            inner.token_request(body).await
        })
        .unchecked_into()
    }

    /// Uses a refresh token. With a `dpopKey`, the proof comes from the same key the
    /// refresh token is bound to.
    ///
    /// ```js
    /// const next = await client.refresh(tokens.refreshToken);
    /// const narrower = await client.refresh(tokens.refreshToken, { scope: "read:items" });
    /// ```
    #[wasm_bindgen(js_name = refresh)]
    pub fn refresh(
        &self,
        #[wasm_bindgen(js_name = refreshToken, unchecked_param_type = "string")]
        refresh_token: JsValue,
        options: Option<JsRefreshOptions>,
    ) -> JsPromiseTokenSet {
        let inner = Rc::clone(&self.inner);
        let options: JsValue = options.map(Into::into).unwrap_or(JsValue::UNDEFINED);
        future_to_promise(async move {
            let refresh_token = string_arg(&refresh_token, "refreshToken must be a string")?;
            let scope = optional_options(&options, "refresh options must be an object")?
                .map(|o| opt_string(&o, "scope", "scope must be a string"))
                .transpose()?
                .flatten();
            let body = js(RefreshTokenGrant {
                refresh_token: &refresh_token,
                scope: scope.as_deref(),
                client_id: inner.body_client_id(),
            }
            .to_form())?;
            inner.token_request(body).await
        })
        .unchecked_into()
    }

    /// Requests a token for the client itself (`client_credentials`).
    ///
    /// ```js
    /// const tokens = await m2m.clientCredentials({ audience: "https://api.example.com", scope: "read:items" });
    /// ```
    #[wasm_bindgen(js_name = clientCredentials)]
    pub fn client_credentials(
        &self,
        options: Option<JsClientCredentialsOptions>,
    ) -> JsPromiseTokenSet {
        let inner = Rc::clone(&self.inner);
        let options: JsValue = options.map(Into::into).unwrap_or(JsValue::UNDEFINED);
        future_to_promise(async move {
            let o = optional_options(&options, "clientCredentials options must be an object")?
                .unwrap_or_else(object);
            let audience = opt_string(&o, "audience", "audience must be a string")?;
            let resource = opt_string(&o, "resource", "resource must be a string")?;
            let organization = opt_string(&o, "organization", "organization must be a string")?;
            let scope = opt_string(&o, "scope", "scope must be a string")?;
            let body = js(ClientCredentialsGrant {
                audience: audience.as_deref(),
                resource: resource.as_deref(),
                organization: organization.as_deref(),
                scope: scope.as_deref(),
                client_id: inner.body_client_id(),
            }
            .to_form())?;
            inner.token_request(body).await
        })
        .unchecked_into()
    }

    /// Revokes an access or refresh token at the revocation endpoint (RFC 7009). Resolves
    /// to `undefined` on `200` (also for a token the server did not know, §2.2); rejects
    /// with `OAUTH_ERROR` otherwise. No DPoP proof is sent: RFC 7009 and RFC 9449 define
    /// none for revocation.
    ///
    /// ```js
    /// await client.revoke(tokens.refreshToken, { tokenTypeHint: "refresh_token" });
    /// ```
    #[wasm_bindgen(js_name = revoke)]
    pub fn revoke(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] token: JsValue,
        options: Option<JsRevokeOptions>,
    ) -> JsPromiseVoid {
        let inner = Rc::clone(&self.inner);
        let options: JsValue = options.map(Into::into).unwrap_or(JsValue::UNDEFINED);
        future_to_promise(async move {
            let token = string_arg(&token, "token must be a string")?;
            let hint = optional_options(&options, "revoke options must be an object")?
                .map(|o| opt_string(&o, "tokenTypeHint", "tokenTypeHint must be a string"))
                .transpose()?
                .flatten();
            let body = js(TokenRevocation {
                token: &token,
                token_type_hint: hint.as_deref(),
                client_id: inner.body_client_id(),
            }
            .to_form())?;
            let response = inner.post(&inner.revocation_endpoint, &body, false).await?;
            if response.status == 200 {
                return Ok(JsValue::UNDEFINED);
            }
            Err(js_error(&match parse_error_response(
                response.status,
                &response.body,
                response.dpop_nonce.as_deref(),
            ) {
                Ok(e) => Error::OAuth(e),
                Err(_) => Error::TokenResponseInvalid("unexpected HTTP status"),
            }))
        })
        .unchecked_into()
    }
}

/// An optional options object: `undefined` / `null` is `None`, an object is `Some`.
fn optional_options(value: &JsValue, what: &'static str) -> Result<Option<JsValue>, JsValue> {
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    expect_object(value, what)?;
    Ok(Some(value.clone()))
}

/// The method as `fetch` sends it: the six standard methods are upper-cased (Fetch
/// "normalize a method"), anything else is kept as given.
fn normalize_method(method: &str) -> String {
    for standard in ["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"] {
        if method.eq_ignore_ascii_case(standard) {
            return standard.into();
        }
    }
    method.into()
}

/// Calls a DPoP-protected resource (RFC 9449 §7): `fetch(url, init)` with
/// `Authorization: DPoP <accessToken>` and a fresh proof carrying `htm`, `htu` and `ath`.
/// If the resource server answers `401` with `WWW-Authenticate: DPoP
/// error="use_dpop_nonce"`, the request is sent once more with the origin's newest
/// nonce, unless the request already carried it (§9); nonces are cached per origin on
/// the key. Resolves to the `Response`,
/// whatever its status.
///
/// `url` must be absolute. A retry resends `init.body`, so use a replayable body
/// (string, `URLSearchParams`, `FormData`, `Blob`, `ArrayBuffer`), not a stream.
///
/// ```js
/// const res = await fetchWithDpop("https://api.example.com/items", { method: "GET" },
///   { accessToken: tokens.accessToken, dpopKey });
/// if (res.ok) console.log(await res.json());
/// ```
#[wasm_bindgen(js_name = fetchWithDpop)]
pub fn fetch_with_dpop(
    url: &JsUrlLike,
    init: Option<JsRequestInit>,
    options: &JsFetchWithDpopOptions,
) -> JsPromiseResponse {
    let url: JsValue = url.into();
    let init: JsValue = init.map(Into::into).unwrap_or(JsValue::UNDEFINED);
    let options: JsValue = options.into();
    future_to_promise(async move {
        let url = match url.as_string() {
            Some(u) => u,
            None => get(&url, "href")
                .and_then(|h| h.as_string())
                .ok_or_else(|| js_error(&Error::ArgumentInvalid("url must be a string or URL")))?,
        };
        js(origin(&url))?;
        expect_object(&options, "fetchWithDpop options must be an object")?;
        let access_token = req_string(&options, "accessToken", "accessToken must be a string")?;
        let key = get(&options, "dpopKey")
            .ok_or_else(|| js_error(&Error::ArgumentInvalid("dpopKey must be a DpopKey")))
            .and_then(|k| key_from_js(&k, "dpopKey must be a DpopKey"))?;
        let init =
            optional_options(&init, "init must be a RequestInit object")?.unwrap_or_else(object);
        let method = normalize_method(
            &opt_string(&init, "method", "init.method must be a string")?
                .unwrap_or_else(|| "GET".into()),
        );
        let invalid_headers = |_| {
            js_error(&Error::ArgumentInvalid(
                "init.headers are not valid headers",
            ))
        };
        let headers = Headers::new(&get(&init, "headers").unwrap_or(JsValue::UNDEFINED))
            .map_err(invalid_headers)?;
        headers
            .set("authorization", &format!("DPoP {access_token}"))
            .map_err(|_| {
                js_error(&Error::ArgumentInvalid(
                    "accessToken is not a valid header value",
                ))
            })?;

        // The nonce of the retry, chosen from the cache after the first answer.
        let mut retry_nonce: Option<String> = None;
        loop {
            let retrying = retry_nonce.is_some();
            let used_nonce = retry_nonce
                .take()
                .or_else(|| key.nonces.borrow().get(&url).map(ToString::to_string));
            let request = ProofRequest {
                htm: method.clone(),
                htu: url.clone(),
                iat: now_seconds(),
                jti: None,
                nonce: used_nonce.clone(),
                access_token: Some(access_token.clone()),
            };
            let proof = key.proof(&request.options()).await?;
            headers
                .set("dpop", &proof)
                .map_err(|_| js_error(&Error::ArgumentInvalid("proof header")))?;
            let attempt = Object::assign(&Object::new(), init.unchecked_ref());
            let _ = Reflect::set(&attempt, &"method".into(), &JsValue::from_str(&method));
            let _ = Reflect::set(&attempt, &"headers".into(), &headers);
            let response: Response = platform::fetch(&url, &attempt).await?;
            key.nonces.borrow_mut().remember(
                &url,
                platform::response_header(&response, "DPoP-Nonce").as_deref(),
            );
            let challenge = platform::response_header(&response, "WWW-Authenticate");
            if !retrying
                && response.status() == 401
                && is_use_dpop_nonce(401, "", challenge.as_deref())
            {
                // Retry when a nonce other than the one this attempt carried is known,
                // whether this answer or a concurrent one stored it.
                retry_nonce = key
                    .nonces
                    .borrow()
                    .retry_nonce(&url, used_nonce.as_deref())
                    .map(ToString::to_string);
                if retry_nonce.is_some() {
                    continue;
                }
            }
            return Ok(response.into());
        }
    })
    .unchecked_into()
}
