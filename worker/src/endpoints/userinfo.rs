//! `GET|POST /userinfo` (OIDC Core §5.3) with a Bearer (RFC 6750) or DPoP-bound
//! (RFC 9449 §7) access token whose audience includes `{issuer}userinfo`. Returns `sub`,
//! plus `email` and `name` per scope. A bad token is `401` with a `WWW-Authenticate`
//! challenge for the scheme used. A certificate-bound token (`cnf.x5t#S256`, RFC 8705 §3)
//! needs the same client certificate on the request ([`crate::mtls::presented`]).

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

/// How the access token was presented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scheme {
    Bearer,
    Dpop,
}

/// A `401` with its `WWW-Authenticate` challenge(s) and a JSON body.
fn challenge(realm: &str, scheme: Option<Scheme>, error: Option<(&str, &str)>) -> HttpResponse {
    let quoted = |s: &str| -> String { s.chars().filter(|c| *c != '"' && *c != '\\').collect() };
    let algs = crate::dpop::SIGNING_ALGS.join(" ");
    let mut response = HttpResponse::json(
        401,
        &json!({
            "error": error.map_or("invalid_request", |(code, _)| code),
            "error_description": error.map_or(
                "an access token is required (Bearer, or DPoP with a proof)",
                |(_, description)| description,
            ),
        }),
    );
    response = match (scheme, error) {
        // No usable credentials: offer both schemes (RFC 9449 §7.1, RFC 6750 §3).
        (None, _) | (_, None) => response
            .with_header("WWW-Authenticate", &format!("Bearer realm=\"{realm}\""))
            .with_header(
                "WWW-Authenticate",
                &format!("DPoP realm=\"{realm}\", algs=\"{algs}\""),
            ),
        (Some(Scheme::Bearer), Some((code, description))) => response.with_header(
            "WWW-Authenticate",
            &format!(
                "Bearer realm=\"{realm}\", error=\"{code}\", error_description=\"{}\"",
                quoted(description)
            ),
        ),
        (Some(Scheme::Dpop), Some((code, description))) => response.with_header(
            "WWW-Authenticate",
            &format!(
                "DPoP realm=\"{realm}\", error=\"{code}\", error_description=\"{}\", algs=\"{algs}\"",
                quoted(description)
            ),
        ),
    };
    cors::public(response.no_store())
}

/// `400 invalid_request` with a Bearer challenge (RFC 6750 §3.1).
fn malformed(realm: &str, description: &str) -> HttpResponse {
    cors::public(
        HttpResponse::json(
            400,
            &json!({"error": "invalid_request", "error_description": description}),
        )
        .with_header(
            "WWW-Authenticate",
            &format!("Bearer realm=\"{realm}\", error=\"invalid_request\""),
        )
        .no_store(),
    )
}

/// Whether an `access_token` is also sent in the query or a form body (RFC 6750 §2.2,
/// §2.3), which this server does not accept as a method of its own.
fn token_elsewhere(req: &HttpRequest) -> bool {
    let in_query = req.query.as_deref().is_some_and(|q| {
        crate::params::Params::from_form(q.as_bytes()).is_ok_and(|p| p.contains("access_token"))
    });
    let in_body = req.media_type().as_deref() == Some("application/x-www-form-urlencoded")
        && crate::params::Params::from_form(&req.body).is_ok_and(|p| p.contains("access_token"));
    in_query || in_body
}

/// Handles `/userinfo`.
///
/// - `Authorization: Bearer <token>`: the token must not be DPoP-bound; a bound one is
///   refused with `WWW-Authenticate: DPoP error="invalid_token"` (RFC 9449 §7.2).
/// - `Authorization: DPoP <token>` with a `DPoP` proof: the token must be bound
///   (`cnf.jkt`), and the proof must pass every check of RFC 9449 §4.3 for this request
///   (`htm` the method used, `htu` the issuer-derived userinfo URL, `ath` of the token,
///   its key the bound one, `jti` not seen before). Failures are `401` with
///   `WWW-Authenticate: DPoP error="invalid_dpop_proof"` (or `"invalid_token"` for the
///   key binding), `algs="ES256"`. No nonce is required here.
pub async fn handle<S: Store, P: Platform>(app: &App<S, P>, req: &HttpRequest) -> HttpResponse {
    match req.method.as_str() {
        "OPTIONS" => {
            return HttpResponse::empty(204)
                .with_header("Access-Control-Allow-Origin", "*")
                .with_header("Access-Control-Allow-Methods", "GET, POST")
                .with_header("Access-Control-Allow-Headers", "Authorization, DPoP")
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
    // One method only (RFC 6750 §2, RFC 9449 §7.1): two Authorization fields, or a
    // token in the header and in the body or query, are `400 invalid_request` (§3.1).
    let Ok(authorization) = req.authorization() else {
        return malformed(&realm, "the request has more than one Authorization field");
    };
    if authorization.is_some() && token_elsewhere(req) {
        return malformed(
            &realm,
            "the request uses more than one method to send the token",
        );
    }
    let presented = authorization
        .and_then(|v| v.trim().split_once(' '))
        .and_then(|(scheme, token)| {
            if scheme.eq_ignore_ascii_case("bearer") {
                Some((Scheme::Bearer, token.trim()))
            } else if scheme.eq_ignore_ascii_case("dpop") {
                Some((Scheme::Dpop, token.trim()))
            } else {
                None
            }
        });
    let Some((scheme, token)) = presented else {
        return challenge(&realm, None, None);
    };
    let invalid_token = |why: &str| challenge(&realm, Some(scheme), Some(("invalid_token", why)));
    let claims = match verify_access_token(app, token).await {
        Ok(claims) => claims,
        Err(why) => return invalid_token(why),
    };
    let bound = claims
        .get("cnf")
        .and_then(|c| c.get("jkt"))
        .and_then(Value::as_str);
    match (scheme, bound) {
        (Scheme::Bearer, None) => {}
        (Scheme::Bearer, Some(_)) => {
            return challenge(
                &realm,
                Some(Scheme::Dpop),
                Some((
                    "invalid_token",
                    "the access token is DPoP-bound: use the DPoP scheme with a proof",
                )),
            );
        }
        (Scheme::Dpop, None) => return invalid_token("the access token is not DPoP-bound"),
        (Scheme::Dpop, Some(jkt)) => {
            let htu = app.config.userinfo_endpoint();
            match crate::dpop::verify_resource_request(app, req, &htu, token, jkt).await {
                Ok(_) => {}
                Err(crate::dpop::DpopFailure::Proof(err)) => {
                    let code = match err.dpop_wire_error() {
                        Some("invalid_token") => "invalid_token",
                        _ => "invalid_dpop_proof",
                    };
                    return challenge(&realm, Some(Scheme::Dpop), Some((code, &err.to_string())));
                }
                Err(crate::dpop::DpopFailure::Store(err)) => {
                    return crate::error::OAuthError::from(err).to_response();
                }
            }
        }
    }
    // RFC 8705 §3: a certificate-bound token only with the same client certificate.
    if let Some(bound) = claims
        .get("cnf")
        .and_then(|c| c.get("x5t#S256"))
        .and_then(Value::as_str)
    {
        let presented = crate::mtls::presented(&app.config, req).ok().flatten();
        if presented.is_none_or(|c| c.x5t_s256 != bound) {
            return invalid_token(
                "the access token is bound to a client certificate the request did not present",
            );
        }
    }
    let Some(sub) = claims.get("sub").and_then(Value::as_str) else {
        return invalid_token("the token has no subject");
    };
    let scope = claims
        .get("scope")
        .and_then(Value::as_str)
        .unwrap_or_default();
    // OIDC Core §5.3: userinfo is for OpenID Connect tokens; RFC 6750 §3.1.
    if !has_scope(scope, "openid") {
        let name = if scheme == Scheme::Dpop {
            "DPoP"
        } else {
            "Bearer"
        };
        return cors::public(
            HttpResponse::json(
                403,
                &json!({
                    "error": "insufficient_scope",
                    "error_description": "the access token was not granted the openid scope",
                }),
            )
            .with_header(
                "WWW-Authenticate",
                &format!(
                    "{name} realm=\"{realm}\", error=\"insufficient_scope\", scope=\"openid\""
                ),
            )
            .no_store(),
        );
    }
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
        return invalid_token("the user no longer exists");
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
pub async fn verify_access_token<S: Store, P: Platform>(
    app: &App<S, P>,
    token: &str,
) -> Result<Map<String, Value>, &'static str> {
    let jwt = DecodedJwt::decode(token).map_err(|_| "the access token is malformed")?;
    if !matches!(jwt.header_str("typ"), Some("at+jwt" | "application/at+jwt")) {
        return Err("the token is not an access token");
    }
    let jwt = verify_server_jwt(app, jwt).await?;
    if jwt
        .claim_i64("exp")
        .is_none_or(|exp| exp <= app.platform.now())
    {
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

/// Checks that a decoded JWT was signed by one of this server's keys (ES256, or RS256
/// through the platform) and that its `iss` is this issuer; expiry and audience are the
/// caller's. Used for access tokens here and for the tokens a token exchange presents.
///
/// # Errors
/// A fixed reason string.
pub async fn verify_server_jwt<S: Store, P: Platform>(
    app: &App<S, P>,
    jwt: DecodedJwt,
) -> Result<DecodedJwt, &'static str> {
    let kid = jwt.header_str("kid").unwrap_or_default();
    let not_ours = "the token was not signed by this server";
    let bad_signature = "the token signature is invalid";
    if let Some(key) = app.config.signing_keys.iter().find(|k| k.kid() == kid) {
        if jwt.alg() != "ES256" {
            return Err(bad_signature);
        }
        // These bytes verified with this key before (crate::verified): no second check
        // until the token expires.
        let now = app.platform.now();
        let exp = jwt.claim_i64("exp");
        let input = jwt.signing_input.as_bytes();
        let known = exp.is_some()
            && crate::verified::with(|m| m.contains(kid, key.public(), input, &jwt.signature, now));
        if !known {
            let ok = app
                .platform
                .verify_es256(key, input, &jwt.signature)
                .await
                .unwrap_or(false);
            if !ok {
                return Err(bad_signature);
            }
            if let Some(exp) = exp {
                crate::verified::with(|m| {
                    m.remember(kid, key.public(), input, &jwt.signature, exp, now);
                });
            }
        }
    } else {
        let key = app
            .config
            .rsa_signing_keys
            .iter()
            .find(|k| k.kid() == kid)
            .ok_or(not_ours)?;
        if jwt.alg() != "RS256" {
            return Err(bad_signature);
        }
        let ok = app
            .platform
            .verify_rsa(
                "RS256",
                &key.public_jwk(),
                jwt.signing_input.as_bytes(),
                &jwt.signature,
            )
            .await
            .unwrap_or(false);
        if !ok {
            return Err(bad_signature);
        }
    }
    if jwt.claim_str("iss") != Some(app.config.issuer.as_str()) {
        return Err("the token was issued by another server");
    }
    Ok(jwt)
}
