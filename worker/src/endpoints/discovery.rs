//! `/.well-known/openid-configuration`, `/.well-known/oauth-authorization-server`
//! (RFC 8414, OIDC Discovery) and `/.well-known/jwks.json`. Only what is implemented is
//! listed (rules.md items 114–124).

use super::cors;
use crate::App;
use crate::http::{HttpRequest, HttpResponse};
use crate::platform::Platform;
use crate::store::Store;
use serde_json::{Value, json};

/// The metadata document (the same for both well-known URLs).
#[must_use]
pub fn metadata<S: Store, P: Platform>(app: &App<S, P>) -> Value {
    let issuer = &app.config.issuer;
    // client_secret_jwt (HS256) works only with CLIENT_SECRET_KEY, which opens the
    // sealed secrets: advertised only then.
    let hs = app.config.client_secret_key.is_some();
    let mut auth_methods = vec!["client_secret_basic", "client_secret_post"];
    if hs {
        auth_methods.push("client_secret_jwt");
    }
    auth_methods.extend([
        "private_key_jwt",
        "tls_client_auth",
        "self_signed_tls_client_auth",
        "none",
    ]);
    // OIDC Discovery §3: RS256 MUST be listed; it is signed with the RSA key of
    // SIGNING_KEYS (without one, ID tokens are ES256 and RS256 is not claimed).
    let id_token_algs: Vec<&str> = if app.config.rsa_signing_keys.is_empty() {
        vec!["ES256"]
    } else {
        vec!["RS256", "ES256"]
    };
    let mut auth_algs = vec!["ES256", "RS256", "PS256"];
    if hs {
        auth_algs.push("HS256");
    }
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}authorize"),
        "token_endpoint": app.config.token_endpoint(),
        "userinfo_endpoint": app.config.userinfo_endpoint(),
        "jwks_uri": format!("{issuer}.well-known/jwks.json"),
        "revocation_endpoint": format!("{issuer}oauth/revoke"),
        "pushed_authorization_request_endpoint": format!("{issuer}oauth/par"),
        "device_authorization_endpoint": format!("{issuer}oauth/device/code"),
        "require_pushed_authorization_requests": false,
        // OIDC Discovery §3 (both default to true elsewhere): no request objects, by value
        // or by reference; the request_uri of a pushed request (RFC 9126) is separate.
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": super::token::GRANT_TYPES,
        "token_endpoint_auth_methods_supported": auth_methods,
        "token_endpoint_auth_signing_alg_values_supported": auth_algs,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_signing_alg_values_supported": auth_algs,
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": crate::grants::OIDC_SCOPES,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": id_token_algs,
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "azp", "email", "name"],
        "authorization_response_iss_parameter_supported": true,
        "dpop_signing_alg_values_supported": crate::dpop::SIGNING_ALGS,
        "tls_client_certificate_bound_access_tokens": true,
    })
}

/// Serves either metadata document.
pub fn handle_metadata<S: Store, P: Platform>(app: &App<S, P>, req: &HttpRequest) -> HttpResponse {
    if req.method != "GET" && req.method != "HEAD" {
        return super::method_not_allowed("GET, HEAD");
    }
    cors::public(
        HttpResponse::json(200, &metadata(app)).with_header("Cache-Control", "public, max-age=300"),
    )
}

/// Serves the JWKS: every configured key's public part (EC keys, then RSA keys).
pub fn handle_jwks<S: Store, P: Platform>(app: &App<S, P>, req: &HttpRequest) -> HttpResponse {
    if req.method != "GET" && req.method != "HEAD" {
        return super::method_not_allowed("GET, HEAD");
    }
    let keys: Vec<Value> = app
        .config
        .signing_keys
        .iter()
        .map(crate::jwt::SigningKey::public_jwk)
        .chain(
            app.config
                .rsa_signing_keys
                .iter()
                .map(crate::jwt::RsaSigningKey::public_jwk),
        )
        .collect();
    cors::public(
        HttpResponse::json(200, &json!({ "keys": keys }))
            .with_header("Cache-Control", "public, max-age=300"),
    )
}
