//! `GET|POST /userinfo` (OIDC Core §5.3) with a Bearer access token (RFC 6750) whose
//! audience includes `{issuer}userinfo`. Returns `sub`, plus `email` and `name` per
//! scope. A bad token is `401` with a `WWW-Authenticate: Bearer` challenge.

use super::cors;
use crate::App;
use crate::config::{User, user_key};
use crate::grants::has_scope;
use crate::http::{HttpRequest, HttpResponse};
use crate::jwt::DecodedJwt;
use crate::platform::Platform;
use crate::store::{Store, get_json};
use serde_json::{Map, Value, json};

/// `userid:{user_id}` → `{"email": ...}`: the server's own index from subject to user
/// record, written at login.
#[must_use]
pub fn user_index_key(user_id: &str) -> String {
    format!("userid:{user_id}")
}

/// Handles `/userinfo`.
pub async fn handle<S: Store, P: Platform>(app: &App<S, P>, req: &HttpRequest) -> HttpResponse {
    match req.method.as_str() {
        "OPTIONS" => {
            return HttpResponse::empty(204)
                .with_header("Access-Control-Allow-Origin", "*")
                .with_header("Access-Control-Allow-Methods", "GET, POST")
                .with_header("Access-Control-Allow-Headers", "Authorization")
                .with_header("Access-Control-Max-Age", "600");
        }
        "GET" | "POST" => {}
        _ => return super::method_not_allowed("GET, POST"),
    }
    let realm: String = app
        .config
        .issuer
        .chars()
        .filter(|c| *c != '"' && *c != '\\')
        .collect();
    let challenge = |error: Option<&str>| {
        let value = match error {
            None => format!("Bearer realm=\"{realm}\""),
            Some(e) => format!(
                "Bearer realm=\"{realm}\", error=\"invalid_token\", error_description=\"{e}\""
            ),
        };
        cors::public(
            HttpResponse::json(
                401,
                &json!({"error": if error.is_some() { "invalid_token" } else { "invalid_request" },
                        "error_description": error.unwrap_or("a Bearer access token is required")}),
            )
            .with_header("WWW-Authenticate", &value)
            .no_store(),
        )
    };
    let Some(token) = req
        .header("authorization")
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, t)| t.trim())
    else {
        return challenge(None);
    };
    let claims = match verify_access_token(app, token) {
        Ok(claims) => claims,
        Err(why) => return challenge(Some(why)),
    };
    let Some(sub) = claims.get("sub").and_then(Value::as_str) else {
        return challenge(Some("the token has no subject"));
    };
    let scope = claims
        .get("scope")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let email = match get_json::<S, Value>(&app.store, &user_index_key(sub)).await {
        Ok(Some(v)) => v.get("email").and_then(Value::as_str).map(str::to_owned),
        Ok(None) => None,
        Err(e) => return crate::error::OAuthError::from(e).to_response(),
    };
    let user = match email {
        Some(email) => match get_json::<S, User>(&app.store, &user_key(&email)).await {
            Ok(u) => u.filter(|u| u.user_id == sub),
            Err(e) => return crate::error::OAuthError::from(e).to_response(),
        },
        None => None,
    };
    let Some(user) = user else {
        return challenge(Some("the user no longer exists"));
    };
    let mut out = Map::new();
    out.insert("sub".into(), json!(user.user_id));
    if has_scope(scope, "email") {
        out.insert("email".into(), json!(user.email));
    }
    if has_scope(scope, "profile") {
        out.insert("name".into(), json!(user.name));
    }
    cors::public(HttpResponse::json(200, &Value::Object(out)).no_store())
}

/// Verifies an access token issued by this server for `/userinfo` (RFC 9068 §4).
///
/// # Errors
/// A fixed reason string for the challenge.
pub fn verify_access_token<S: Store, P: Platform>(
    app: &App<S, P>,
    token: &str,
) -> Result<Map<String, Value>, &'static str> {
    let jwt = DecodedJwt::decode(token).map_err(|_| "the access token is malformed")?;
    if !matches!(jwt.header_str("typ"), Some("at+jwt" | "application/at+jwt")) {
        return Err("the token is not an access token");
    }
    let kid = jwt.header_str("kid").unwrap_or_default();
    let key = app
        .config
        .signing_keys
        .iter()
        .find(|k| k.kid() == kid)
        .ok_or("the token was not signed by this server")?;
    jwt.verify_es256(key.verifying_key())
        .map_err(|_| "the token signature is invalid")?;
    if jwt.claim_str("iss") != Some(app.config.issuer.as_str()) {
        return Err("the token was issued by another server");
    }
    let now = app.platform.now();
    if jwt.claim_i64("exp").is_none_or(|exp| exp <= now) {
        return Err("the access token expired");
    }
    let userinfo = app.config.userinfo_endpoint();
    let aud_ok = match jwt.claims.get("aud") {
        Some(Value::String(a)) => *a == userinfo,
        Some(Value::Array(list)) => list.iter().any(|a| a.as_str() == Some(userinfo.as_str())),
        _ => false,
    };
    if !aud_ok {
        return Err("the token audience does not include userinfo");
    }
    Ok(jwt.claims)
}
