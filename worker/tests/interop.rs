//! Interoperability and hardening: client-assertion lifetimes as Authlib signs them
//! (RFC 7523 §3), malformed parameter syntax (RFC 6749 Appendix A), one authentication
//! method per request (RFC 6750 §2, RFC 9449 §7.1), login CSRF, rate-limit keys of IPv6
//! clients, HSTS (RFC 6797), and RS256 ID tokens (OIDC Core §15.1).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use edge_oauth::jwk::EcPrivateJwk;
use edge_oauth::jws;
use edge_oauth_worker::config::Config;
use edge_oauth_worker::http::{HttpRequest, HttpResponse};
use edge_oauth_worker::jwt::DecodedJwt;
use edge_oauth_worker::platform::{NativePlatform, Platform};
use edge_oauth_worker::ratelimit::{ip_prefix, login_ip_key, par_key};
use edge_oauth_worker::store::Store;
use edge_oauth_worker::testing::block_on;
use serde_json::{Value, json};

const ASSERTION_CLIENT: &str = "client-abc";

fn harness_with(config: Config, rate_limit: Option<u32>) -> Harness {
    let v = vectors();
    let (clock, store) = Harness::clock_and_store();
    put(
        &store,
        "client:spa",
        &client(
            "spa",
            "spa",
            "none",
            &["authorization_code", "refresh_token"],
            None,
            &[SPA_CB],
        ),
    );
    put(
        &store,
        "client:m2m",
        &client(
            "m2m",
            "m2m",
            "client_secret_basic",
            &["client_credentials"],
            Some(M2M_SECRET),
            &[],
        ),
    );
    let mut pkj = client(
        ASSERTION_CLIENT,
        "m2m",
        "private_key_jwt",
        &["client_credentials"],
        None,
        &[],
    );
    pkj["jwks"] = json!({"keys": [
        v["client_assertions"]["client_assertions"]["verifier_policy"]["registered_public_jwk"]
    ]});
    put(&store, &format!("client:{ASSERTION_CLIENT}"), &pkj);
    put(
        &store,
        &format!("api:{API}"),
        &json!({"identifier": API, "scopes": ["read:items"], "token_lifetime": 3600, "allow_offline_access": true}),
    );
    for id in ["m2m", ASSERTION_CLIENT] {
        put(
            &store,
            &format!("grant:{id}:{API}"),
            &json!({"client_id": id, "audience": API, "scopes": ["read:items"]}),
        );
    }
    put_alice(&store);
    let mut platform = NativePlatform::new(clock.clone());
    if let Some(limit) = rate_limit {
        platform = platform.with_rate_limit(limit, 60);
    }
    Harness::new(config, store, platform, clock)
}

fn harness() -> Harness {
    harness_with(config(&vectors(), None), None)
}

/// An ES256 client assertion of `client-abc` signed with the vectors' client key.
fn assertion(jti: &str, exp: i64) -> String {
    let v = vectors();
    let mut jwk = v["client_assertions"]["client_assertions"]["signing_private_jwk"].clone();
    if let Some(o) = jwk.as_object_mut() {
        o.retain(|k, _| ["kty", "crv", "x", "y", "d"].contains(&k.as_str()));
    }
    let key = EcPrivateJwk::parse(&jwk.to_string()).unwrap();
    let claims = json!({
        "iss": ASSERTION_CLIENT, "sub": ASSERTION_CLIENT, "aud": ISSUER,
        "jti": jti, "iat": NOW, "exp": exp,
    });
    jws::sign_es256(
        r#"{"alg":"ES256","kid":"client-key-1"}"#,
        claims.to_string().as_bytes(),
        key.signing_key(),
    )
    .unwrap()
}

fn assertion_body(assertion: &str) -> String {
    format!(
        "grant_type=client_credentials&audience={}&client_assertion_type={}&client_assertion={assertion}",
        enc(API),
        enc("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    )
}

// ------------------------------------------------------ client-assertion lifetime (2)

#[test]
fn rfc7523_3_assertion_exp_an_hour_ahead_is_accepted_and_its_jti_kept_until_exp() {
    let h = harness();
    // Authlib: exp = iat + 3600.
    let first = assertion("authlib-1", NOW + 3600);
    let resp = h.post("/oauth/token", &assertion_body(&first), &[]);
    assert_eq!(resp.status, 200, "{:?}", resp.json_body());
    // The jti stays used for as long as the assertion would be valid.
    h.clock.advance(3500);
    let replay = h.post("/oauth/token", &assertion_body(&first), &[]);
    assert_eq!(
        (replay.status, error_of(&replay).as_str()),
        (401, "invalid_client")
    );
    assert!(json_str(&replay, "error_description").contains("jti was already used"));
    // More than an hour (plus 30 s skew) ahead is refused.
    let h = harness();
    let far = h.post(
        "/oauth/token",
        &assertion_body(&assertion("authlib-2", NOW + 3600 + 31)),
        &[],
    );
    assert_eq!(error_of(&far), "invalid_client");
    assert!(json_str(&far, "error_description").contains("3600 seconds ahead"));
}

#[test]
fn rfc7523_3_client_assertion_max_lifetime_var_sets_the_cap() {
    let config = config(&vectors(), None)
        .with_assertion_max_lifetime(Some("300"))
        .unwrap();
    let h = harness_with(config, None);
    let resp = h.post(
        "/oauth/token",
        &assertion_body(&assertion("short-1", NOW + 3600)),
        &[],
    );
    assert_eq!(error_of(&resp), "invalid_client");
    let resp = h.post(
        "/oauth/token",
        &assertion_body(&assertion("short-2", NOW + 300)),
        &[],
    );
    assert_eq!(resp.status, 200, "{:?}", resp.json_body());
    for bad in ["59", "86401", "1h", "-5"] {
        assert!(
            config_of_lifetime(bad).is_err(),
            "CLIENT_ASSERTION_MAX_LIFETIME={bad}"
        );
    }
}

fn config_of_lifetime(value: &str) -> Result<Config, edge_oauth_worker::config::ConfigError> {
    config(&vectors(), None).with_assertion_max_lifetime(Some(value))
}

// --------------------------------------------------- VSCHAR (RFC 6749 Appendix A) (3)

#[track_caller]
fn assert_invalid_request(resp: &HttpResponse, what: &str) {
    assert_eq!(
        (resp.status, error_of(resp).as_str()),
        (400, "invalid_request"),
        "{what}: {:?}",
        resp.json_body()
    );
    assert_eq!(resp.header("cache-control"), Some("no-store"), "{what}");
}

#[test]
fn rfc6749_appendix_a_control_characters_are_invalid_request() {
    let h = harness();
    let cases = [
        (
            "client_id",
            "grant_type=authorization_code&client_id=spa%00&code=abc",
        ),
        (
            "client_secret",
            "grant_type=client_credentials&client_id=m2m&client_secret=x%00y",
        ),
        (
            "code",
            "grant_type=authorization_code&client_id=spa&code=ab%00c",
        ),
        (
            "refresh_token",
            "grant_type=refresh_token&client_id=spa&refresh_token=%0Aabc",
        ),
        (
            "scope",
            "grant_type=client_credentials&client_id=spa&scope=read%7F",
        ),
        (
            "state",
            "grant_type=client_credentials&client_id=spa&state=%1B",
        ),
    ];
    for (name, body) in cases {
        let resp = h.post("/oauth/token", body, &[]);
        assert_invalid_request(&resp, name);
        assert!(
            json_str(&resp, "error_description").contains(name),
            "{name}: {:?}",
            resp.json_body()
        );
    }
    // JSON bodies and Basic credentials too.
    let resp = h.send(
        &HttpRequest::new("POST", "/oauth/token")
            .with_header("content-type", "application/json")
            .with_body(br#"{"grant_type":"client_credentials","client_id":"m2m\u0000"}"#.to_vec()),
    );
    assert_invalid_request(&resp, "JSON client_id");
    let resp = h.post(
        "/oauth/token",
        "grant_type=client_credentials",
        &[("authorization", &basic("m2m\u{0}", M2M_SECRET))],
    );
    assert_invalid_request(&resp, "Basic client_id");
    let resp = h.post(
        "/oauth/revoke",
        "token=abc%00",
        &[("authorization", &basic("m2m", M2M_SECRET))],
    );
    assert_invalid_request(&resp, "revocation token");
    let resp = h.post("/oauth/par", "client_id=spa%00&response_type=code", &[]);
    assert_invalid_request(&resp, "PAR client_id");
    // An unknown parameter is ignored, control characters or not (RFC 6749 §3.2).
    let resp = h.post(
        "/oauth/token",
        &format!("grant_type=client_credentials&audience={}&x=%00", enc(API)),
        &[("authorization", &basic("m2m", M2M_SECRET))],
    );
    assert_eq!(resp.status, 200, "{:?}", resp.json_body());
    // /authorize shows an error page, it redirects nowhere.
    let resp = h.send(&HttpRequest::new(
        "GET",
        &format!(
            "/authorize?response_type=code&client_id=spa&redirect_uri={}&code_challenge={CHALLENGE}&code_challenge_method=S256&state=a%00b",
            enc(SPA_CB)
        ),
    ));
    assert_eq!(resp.status, 400);
    assert!(resp.header("location").is_none());
    assert!(String::from_utf8_lossy(&resp.body).contains("control character"));
}

// ------------------------------------------- one Authorization field (RFC 6750 §2) (4)

#[test]
fn rfc6750_2_rfc9449_7_1_two_authorization_fields_are_invalid_request() {
    let h = harness();
    let token = json_str(
        &h.post(
            "/oauth/token",
            &format!("grant_type=client_credentials&audience={}", enc(API)),
            &[("authorization", &basic("m2m", M2M_SECRET))],
        ),
        "access_token",
    );
    // The runtime joins two fields with ", ".
    let joined = HttpRequest::new("GET", "/userinfo")
        .with_header("authorization", &format!("Bearer {token}, DPoP {token}"));
    let two = HttpRequest::new("GET", "/userinfo")
        .with_header("authorization", &format!("Bearer {token}"))
        .with_header("authorization", &format!("DPoP {token}"));
    for (what, req) in [("joined", joined), ("two fields", two)] {
        let resp = h.send(&req);
        assert_invalid_request(&resp, what);
        let challenge = resp.header("www-authenticate").unwrap();
        assert!(
            challenge.starts_with("Bearer ") && challenge.contains("error=\"invalid_request\""),
            "{challenge}"
        );
    }
    // A header and a form-body token at once.
    let resp = h.send(
        &HttpRequest::new("POST", "/userinfo")
            .with_header("authorization", &format!("Bearer {token}"))
            .with_header("content-type", "application/x-www-form-urlencoded")
            .with_body(format!("access_token={token}").into_bytes()),
    );
    assert_invalid_request(&resp, "header and body");
    // Where client credentials are read: token, revocation and PAR endpoints.
    let both = format!("{}, {}", basic("m2m", M2M_SECRET), basic("m2m", M2M_SECRET));
    for (path, body) in [
        (
            "/oauth/token",
            format!("grant_type=client_credentials&audience={}", enc(API)),
        ),
        ("/oauth/revoke", "token=abc".to_owned()),
        ("/oauth/par", "response_type=code".to_owned()),
    ] {
        let resp = h.post(path, &body, &[("authorization", &both)]);
        assert_invalid_request(&resp, path);
    }
}

// ------------------------------------------------------------------ login CSRF (7)

fn tx_of(h: &Harness) -> String {
    let page = h.send(&HttpRequest::new(
        "GET",
        &format!(
            "/authorize?response_type=code&client_id=spa&redirect_uri={}&code_challenge={CHALLENGE}&code_challenge_method=S256&scope=openid",
            enc(SPA_CB)
        ),
    ));
    assert_eq!(page.status, 200);
    hidden_tx(&page)
}

fn login_without_origin(tx: &str) -> HttpRequest {
    HttpRequest::new("POST", "/authorize/login")
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_body(format!(
            "tx={}&username={}&password={}",
            enc(tx),
            enc("alice@example.com"),
            enc(PASSWORD)
        ))
}

#[test]
fn rfc9700_4_4_1_8_login_csrf_requires_the_issuer_origin() {
    let h = harness();
    let tx = tx_of(&h);
    for (what, req) in [
        ("no Origin", login_without_origin(&tx)),
        (
            "another site",
            login_without_origin(&tx).with_header("origin", "https://attacker.example"),
        ),
        (
            "Origin: null",
            login_without_origin(&tx).with_header("origin", "null"),
        ),
        (
            "cross-site fetch metadata",
            login_without_origin(&tx).with_header("sec-fetch-site", "cross-site"),
        ),
        (
            "a wrong Origin beats same-origin metadata",
            login_without_origin(&tx)
                .with_header("origin", "https://attacker.example")
                .with_header("sec-fetch-site", "same-origin"),
        ),
        (
            "issuer host on another scheme",
            login_without_origin(&tx).with_header("origin", "http://auth.example.com"),
        ),
    ] {
        let resp = h.send(&req);
        assert_eq!(resp.status, 403, "{what}");
        assert!(resp.header("location").is_none(), "{what}");
        assert_eq!(resp.header("cache-control"), Some("no-store"), "{what}");
    }
    // From the issuer's page: Origin, or (without one) Sec-Fetch-Site: same-origin.
    let resp = h.send(&login_request(&tx, "alice@example.com", PASSWORD));
    assert_eq!(resp.status, 303);
    let tx = tx_of(&h);
    let resp = h.send(&login_without_origin(&tx).with_header("sec-fetch-site", "same-origin"));
    assert_eq!(resp.status, 303);
}

// ------------------------------------------------------ rate-limit keys of IPv6 (8)

#[test]
fn rule_12_ip_prefix_keys_ipv6_by_its_64() {
    assert_eq!(ip_prefix("203.0.113.7"), "203.0.113.7");
    assert_eq!(ip_prefix(" 203.0.113.7 "), "203.0.113.7");
    assert_eq!(ip_prefix("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
    assert_eq!(
        ip_prefix("2001:DB8:1:2:ffff:ffff:ffff:ffff"),
        "2001:db8:1:2::/64"
    );
    assert_eq!(ip_prefix("2001:db8::1"), "2001:db8:0:0::/64");
    assert_eq!(ip_prefix("::1"), "0:0:0:0::/64");
    assert_eq!(ip_prefix("::ffff:192.0.2.1"), "192.0.2.1");
    for garbage in [
        "",
        "unknown",
        "1.2.3",
        "2001:db8::1::2",
        "[2001:db8::1]",
        "a\0b",
    ] {
        assert_eq!(ip_prefix(garbage), "invalid", "{garbage:?}");
    }
    assert_eq!(
        login_ip_key("2001:db8:1:2::a"),
        login_ip_key("2001:db8:1:2::b")
    );
    assert_ne!(
        login_ip_key("2001:db8:1:2::a"),
        login_ip_key("2001:db8:1:3::a")
    );
    assert_eq!(
        par_key("spa", "2001:db8:1:2::a"),
        par_key("spa", "2001:db8:1:2:9::")
    );
}

#[test]
fn rule_12_logins_from_one_ipv6_64_share_one_limit() {
    let h = harness_with(config(&vectors(), None), Some(3));
    let tx = tx_of(&h);
    let login = |user: &str, ip: &str| {
        h.send(&login_request(&tx, user, "wrong").with_header("cf-connecting-ip", ip))
            .status
    };
    for i in 1..=3 {
        assert_eq!(
            login(&format!("u{i}@example.com"), &format!("2001:db8:1:2::{i}")),
            401
        );
    }
    assert_eq!(login("u9@example.com", "2001:db8:1:2:abcd::9"), 429);
    assert_eq!(login("u9@example.com", "2001:db8:1:3::9"), 401);
}

// ------------------------------------------------------------------------ HSTS (9)

#[test]
fn rfc6797_hsts_on_every_https_response() {
    let h = harness();
    let https = |mut req: HttpRequest| {
        req.origin = "https://auth.example.com".to_owned();
        req
    };
    let requests = [
        HttpRequest::new("GET", "/.well-known/openid-configuration"),
        HttpRequest::new("GET", "/.well-known/jwks.json"),
        HttpRequest::new("GET", "/nowhere"),
        HttpRequest::new("GET", "/authorize?client_id=nobody"),
        HttpRequest::new("GET", "/userinfo"),
        HttpRequest::new("POST", "/oauth/token"),
        HttpRequest::new("OPTIONS", "/oauth/token").with_header("origin", "https://spa.example"),
        login_without_origin("x"),
    ];
    for req in requests {
        let path = req.path.clone();
        let resp = h.send(&https(req.clone()));
        assert_eq!(
            resp.header("strict-transport-security"),
            Some("max-age=31536000"),
            "{path}"
        );
        // Plain HTTP (loopback development): browsers ignore it, none is sent.
        assert!(
            h.send(&req).header("strict-transport-security").is_none(),
            "{path}"
        );
    }
    let token = h.send(&https(
        HttpRequest::new("POST", "/oauth/token")
            .with_header("content-type", "application/x-www-form-urlencoded")
            .with_header("authorization", &basic("m2m", M2M_SECRET))
            .with_body(format!("grant_type=client_credentials&audience={}", enc(API)).into_bytes()),
    ));
    assert_eq!(token.status, 200);
    assert_eq!(
        token.header("strict-transport-security"),
        Some("max-age=31536000")
    );
}

// ------------------------------------------------------- RS256 ID tokens (1)

const RSA_API: &str = "https://rsa-api.example.com";

/// Logs alice in for `spa` (PKCE) with `scope` (and `audience`) and exchanges the code.
/// A code for `spa` through /authorize and the login form.
fn login_code(h: &Harness, scope: &str, audience: Option<&str>) -> String {
    let mut url = format!(
        "/authorize?response_type=code&client_id=spa&redirect_uri={}&code_challenge={CHALLENGE}&code_challenge_method=S256&scope={}&nonce=n1",
        enc(SPA_CB),
        enc(scope)
    );
    if let Some(aud) = audience {
        url.push_str(&format!("&audience={}", enc(aud)));
    }
    let page = h.send(&HttpRequest::new("GET", &url));
    assert_eq!(page.status, 200, "{}", String::from_utf8_lossy(&page.body));
    let resp = h.send(&login_request(
        &hidden_tx(&page),
        "alice@example.com",
        PASSWORD,
    ));
    assert_eq!(resp.status, 303);
    query_param(resp.header("location").unwrap(), "code").unwrap()
}

fn exchange(h: &Harness, code: &str) -> HttpResponse {
    h.post(
        "/oauth/token",
        &format!(
            "grant_type=authorization_code&client_id=spa&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
            enc(SPA_CB)
        ),
        &[],
    )
}

fn user_tokens(h: &Harness, scope: &str, audience: Option<&str>) -> Value {
    let resp = exchange(h, &login_code(h, scope, audience));
    assert_eq!(resp.status, 200, "{:?}", resp.json_body());
    resp.json_body()
}

/// A deployment without a key for the algorithm an API asks for fails the exchange before
/// the code is used up: once the key (or the API) is fixed, the same code still works.
#[test]
fn signing_failure_does_not_use_up_the_code() {
    let h = harness();
    let api = |alg: Option<&str>| {
        let mut record = json!({"identifier": RSA_API, "scopes": ["read"]});
        if let Some(alg) = alg {
            record["signing_alg"] = json!(alg);
        }
        put(&h.app.store, &format!("api:{RSA_API}"), &record);
    };
    api(Some("RS256"));
    let code = login_code(&h, "openid read", Some(RSA_API));
    let failed = exchange(&h, &code);
    assert_eq!(failed.status, 500, "{:?}", failed.json_body());
    assert_eq!(error_of(&failed), "server_error");
    api(None);
    let ok = exchange(&h, &code);
    assert_eq!(ok.status, 200, "{:?}", ok.json_body());
}

fn rsa_harness() -> Harness {
    let h = harness_with(config_with_rsa(&vectors()), None);
    put(
        &h.app.store,
        &format!("api:{RSA_API}"),
        &json!({"identifier": RSA_API, "scopes": ["read"], "signing_alg": "RS256"}),
    );
    h
}

#[track_caller]
fn verify_rs256(h: &Harness, token: &str) -> DecodedJwt {
    let jwt = DecodedJwt::decode(token).unwrap();
    assert_eq!(jwt.alg(), "RS256");
    assert_eq!(jwt.header_str("kid"), Some("as-rsa-1"));
    let jwks = h
        .send(&HttpRequest::new("GET", "/.well-known/jwks.json"))
        .json_body();
    let key = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == "as-rsa-1")
        .unwrap()
        .clone();
    assert!(
        block_on(h.app.platform.verify_rsa(
            "RS256",
            &key,
            jwt.signing_input.as_bytes(),
            &jwt.signature
        ))
        .unwrap()
    );
    jwt
}

/// The native RS256 verifier agrees with OIDC Core Appendix A.3's example ID token.
#[test]
fn oidc_core_appendix_a_3_example_id_token_verifies_rs256() {
    let v = vectors();
    let case = &v["oidc"]["oidc_example_id_token"];
    let jwt = DecodedJwt::decode(case["id_token"].as_str().unwrap()).unwrap();
    let platform = NativePlatform::default();
    let verify = |signature: &[u8]| {
        block_on(platform.verify_rsa(
            "RS256",
            &case["public_jwk"],
            jwt.signing_input.as_bytes(),
            signature,
        ))
        .unwrap()
    };
    assert!(verify(&jwt.signature));
    let mut tampered = jwt.signature.clone();
    tampered[10] ^= 1;
    assert!(!verify(&tampered));
}

#[test]
fn oidc_core_15_1_id_tokens_are_rs256_by_default_and_published() {
    let h = rsa_harness();
    let body = user_tokens(&h, "openid email", None);
    let id = verify_rs256(&h, body["id_token"].as_str().unwrap());
    assert_eq!(id.header_str("typ"), Some("JWT"));
    assert_eq!(id.claims["aud"], "spa");
    assert_eq!(id.claims["nonce"], "n1");
    // OIDC Core §3.1.3.6: at_hash of the access token, which stays ES256.
    let at = body["access_token"].as_str().unwrap();
    assert_eq!(
        id.claims["at_hash"],
        json!(edge_oauth_worker::jwt::at_hash(at))
    );
    let at_jwt = DecodedJwt::decode(at).unwrap();
    assert_eq!(at_jwt.alg(), "ES256");
    at_jwt
        .verify_es256(h.app.config.signing_keys[0].verifying_key())
        .unwrap();
    // Discovery says so; the JWKS publishes the public part only.
    let meta = h
        .send(&HttpRequest::new(
            "GET",
            "/.well-known/openid-configuration",
        ))
        .json_body();
    assert_eq!(
        meta["id_token_signing_alg_values_supported"],
        json!(["RS256", "ES256"])
    );
    let jwks = h
        .send(&HttpRequest::new("GET", "/.well-known/jwks.json"))
        .json_body();
    let rsa = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kty"] == "RSA")
        .unwrap();
    assert_eq!(rsa["alg"], "RS256");
    assert_eq!(rsa["use"], "sig");
    for private in ["d", "p", "q", "dp", "dq", "qi"] {
        assert!(rsa.get(private).is_none(), "{private} published");
    }
}

#[test]
fn oidc_registration_2_client_may_register_es256_id_tokens() {
    let h = rsa_harness();
    let mut spa: Value =
        serde_json::from_str(&block_on(h.app.store.get("client:spa")).unwrap().unwrap()).unwrap();
    spa["id_token_signed_response_alg"] = json!("ES256");
    put(&h.app.store, "client:spa", &spa);
    let body = user_tokens(&h, "openid", None);
    let id = DecodedJwt::decode(body["id_token"].as_str().unwrap()).unwrap();
    assert_eq!(id.alg(), "ES256");
    id.verify_es256(h.app.config.signing_keys[0].verifying_key())
        .unwrap();
    // An algorithm the server does not sign is a server error, not a silent fallback.
    spa["id_token_signed_response_alg"] = json!("HS256");
    put(&h.app.store, "client:spa", &spa);
    let h2 = &h;
    let page = h2.send(&HttpRequest::new(
        "GET",
        &format!(
            "/authorize?response_type=code&client_id=spa&redirect_uri={}&code_challenge={CHALLENGE}&code_challenge_method=S256&scope=openid",
            enc(SPA_CB)
        ),
    ));
    let resp = h2.send(&login_request(
        &hidden_tx(&page),
        "alice@example.com",
        PASSWORD,
    ));
    let code = query_param(resp.header("location").unwrap(), "code").unwrap();
    let resp = h2.post(
        "/oauth/token",
        &format!(
            "grant_type=authorization_code&client_id=spa&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
            enc(SPA_CB)
        ),
        &[],
    );
    assert_eq!(
        (resp.status, error_of(&resp).as_str()),
        (500, "server_error")
    );
}

#[test]
fn rfc9068_access_tokens_are_rs256_when_their_api_asks() {
    let h = rsa_harness();
    let body = user_tokens(&h, "openid read", Some(RSA_API));
    let at = body["access_token"].as_str().unwrap();
    let jwt = verify_rs256(&h, at);
    assert_eq!(jwt.header_str("typ"), Some("at+jwt"));
    assert_eq!(
        jwt.claims["aud"],
        json!([RSA_API, format!("{ISSUER}userinfo")])
    );
    // /userinfo accepts it.
    let resp = h.send(
        &HttpRequest::new("GET", "/userinfo").with_header("authorization", &format!("Bearer {at}")),
    );
    assert_eq!(resp.status, 200, "{:?}", resp.json_body());
    assert_eq!(resp.json_body()["sub"], "user|alice");
    // A forged RS256 signature is refused.
    let forged = format!(
        "{}.{}",
        jwt.signing_input,
        edge_oauth::base64url::encode(&[7u8; 256])
    );
    let resp = h.send(
        &HttpRequest::new("GET", "/userinfo")
            .with_header("authorization", &format!("Bearer {forged}")),
    );
    assert_eq!(resp.status, 401);
    // Other APIs keep ES256.
    let body = user_tokens(&h, "openid read:items", Some(API));
    let jwt = DecodedJwt::decode(body["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(jwt.alg(), "ES256");
}

#[test]
fn oidc_discovery_3_without_an_rsa_key_id_tokens_stay_es256() {
    let h = harness();
    let body = user_tokens(&h, "openid", None);
    let id = DecodedJwt::decode(body["id_token"].as_str().unwrap()).unwrap();
    assert_eq!(id.alg(), "ES256");
    let meta = h
        .send(&HttpRequest::new(
            "GET",
            "/.well-known/openid-configuration",
        ))
        .json_body();
    assert_eq!(
        meta["id_token_signing_alg_values_supported"],
        json!(["ES256"])
    );
}

#[test]
fn signing_keys_rsa_members_are_checked() {
    let v = vectors();
    let mut ec =
        v["rfc9068_access_token"]["rfc9068_example_access_token"]["as_private_jwk"].clone();
    ec["kid"] = json!("as-key-1");
    let tx = edge_oauth::base64url::encode(&[7u8; 32]);
    let from = |keys: Value| Config::from_env(ISSUER, Some(&keys.to_string()), Some(&tx), None);
    assert!(from(json!([ec.clone(), rsa_signing_jwk()])).is_ok());
    // RSA alone: access tokens need an EC key.
    assert!(from(json!([rsa_signing_jwk()])).is_err());
    let mut no_q = rsa_signing_jwk();
    no_q.as_object_mut().unwrap().remove("q");
    assert!(from(json!([ec.clone(), no_q])).is_err());
    let mut ps = rsa_signing_jwk();
    ps["alg"] = json!("PS256");
    assert!(from(json!([ec.clone(), ps])).is_err());
    let mut same_kid = rsa_signing_jwk();
    same_kid["kid"] = json!("as-key-1");
    assert!(from(json!([ec.clone(), same_kid])).is_err());
    let mut small = rsa_signing_jwk();
    small["n"] = json!(edge_oauth::base64url::encode(&[0xc5u8; 128]));
    assert!(from(json!([ec, small])).is_err());
    // Debug never shows the private members.
    let config = config_with_rsa(&v);
    let debug = format!("{:?}", config.rsa_signing_keys);
    let d = rsa_signing_jwk()["d"].as_str().unwrap().to_owned();
    assert!(
        !debug.contains(&d[..20]) && debug.contains("[redacted]"),
        "{debug}"
    );
}
