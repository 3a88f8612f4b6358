//! The authorization, PAR and metadata endpoints against their specifications: client
//! assertions at PAR (RFC 9126 §2), `POST /authorize` (OIDC Core §3.1.2.1), the
//! `WWW-Authenticate` challenge of every `401 invalid_client` (RFC 9110 §15.5.2,
//! RFC 6749 §5.2) and the request-object metadata (OIDC Discovery §3, OIDC Core §6.2).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use edge_oauth::jwk::EcPrivateJwk;
use edge_oauth::jws;
use edge_oauth_worker::http::{HttpRequest, HttpResponse};
use edge_oauth_worker::store::Store;
use edge_oauth_worker::testing::block_on;
use serde_json::{Value, json};

const POST_SECRET: &str = "post-secret-abcdefghijklmnopqrstuvwxyz01234";
/// A `private_key_jwt` client of the authorization code flow (the vectors' client key).
const PKJ: &str = "pkj-web";
const PAR_URL: &str = "https://auth.example.com/oauth/par";
const TOKEN_URL: &str = "https://auth.example.com/oauth/token";
const CHALLENGE_HEADER: &str = "Basic realm=\"https://auth.example.com/\"";

fn harness() -> Harness {
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
    put(
        &store,
        "client:web-post",
        &client(
            "web-post",
            "regular_web",
            "client_secret_post",
            &["authorization_code", "refresh_token", "client_credentials"],
            Some(POST_SECRET),
            &[WEB_CB],
        ),
    );
    let mut pkj = client(
        PKJ,
        "regular_web",
        "private_key_jwt",
        &["authorization_code", "client_credentials"],
        None,
        &[WEB_CB],
    );
    pkj["jwks"] = json!({"keys": [
        v["client_assertions"]["client_assertions"]["verifier_policy"]["registered_public_jwk"]
    ]});
    put(&store, &format!("client:{PKJ}"), &pkj);
    put(
        &store,
        &format!("api:{API}"),
        &json!({"identifier": API, "scopes": ["read:items"], "token_lifetime": 3600, "allow_offline_access": true}),
    );
    for id in ["m2m", "web-post", PKJ] {
        put(
            &store,
            &format!("grant:{id}:{API}"),
            &json!({"client_id": id, "audience": API, "scopes": ["read:items"]}),
        );
    }
    put_alice(&store);
    let platform = edge_oauth_worker::platform::NativePlatform::new(clock.clone());
    Harness::new(config(&v, None), store, platform, clock)
}

/// An ES256 client assertion of [`PKJ`] with the given `aud`, signed with the vectors' key.
fn assertion(aud: &Value, jti: &str) -> String {
    let v = vectors();
    let mut jwk = v["client_assertions"]["client_assertions"]["signing_private_jwk"].clone();
    if let Some(o) = jwk.as_object_mut() {
        o.retain(|k, _| ["kty", "crv", "x", "y", "d"].contains(&k.as_str()));
    }
    let key = EcPrivateJwk::parse(&jwk.to_string()).unwrap();
    let claims = json!({
        "iss": PKJ, "sub": PKJ, "aud": aud, "jti": jti, "iat": NOW, "exp": NOW + 60,
    });
    jws::sign_es256(
        r#"{"alg":"ES256","kid":"client-key-1"}"#,
        claims.to_string().as_bytes(),
        key.signing_key(),
    )
    .unwrap()
}

fn assertion_params(assertion: &str) -> String {
    format!(
        "client_assertion_type={}&client_assertion={assertion}",
        enc("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    )
}

fn web_authorization_request() -> String {
    format!(
        "response_type=code&redirect_uri={}&scope=openid&state=s1",
        enc(WEB_CB)
    )
}

fn status_error(resp: &HttpResponse) -> (u16, String) {
    (resp.status, error_of(resp))
}

fn body_text(resp: &HttpResponse) -> String {
    String::from_utf8_lossy(&resp.body).into_owned()
}

// ----------------------------------------------- client assertions at PAR

#[test]
fn rfc9126_2_par_accepts_an_assertion_whose_aud_is_the_par_endpoint() {
    let h = harness();
    let par = |aud: Value, jti: &str| {
        h.post(
            "/oauth/par",
            &format!(
                "{}&{}",
                web_authorization_request(),
                assertion_params(&assertion(&aud, jti))
            ),
            &[],
        )
    };
    // RFC 9126 §2: the issuer, the token endpoint or the PAR endpoint.
    for (aud, jti) in [
        (json!(PAR_URL), "par-1"),
        (json!(ISSUER), "par-2"),
        (json!(TOKEN_URL), "par-3"),
    ] {
        let resp = par(aud.clone(), jti);
        assert_eq!(resp.status, 201, "{aud}: {:?}", resp.json_body());
        assert!(json_str(&resp, "request_uri").starts_with("urn:ietf:params:oauth:request_uri:"));
    }
    // Still a single string: an array, even of the PAR endpoint alone, is refused.
    let resp = par(json!([PAR_URL]), "par-4");
    assert_eq!(status_error(&resp), (401, "invalid_client".to_owned()));
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    // Another URL of the server is not an audience.
    let resp = par(json!(format!("{ISSUER}oauth/revoke")), "par-5");
    assert_eq!(status_error(&resp), (401, "invalid_client".to_owned()));
}

#[test]
fn rfc7523_3_the_par_endpoint_is_no_audience_at_the_token_or_revocation_endpoint() {
    let h = harness();
    let token = h.post(
        "/oauth/token",
        &format!(
            "grant_type=client_credentials&audience={}&{}",
            enc(API),
            assertion_params(&assertion(&json!(PAR_URL), "tok-1"))
        ),
        &[],
    );
    assert_eq!(status_error(&token), (401, "invalid_client".to_owned()));
    assert!(json_str(&token, "error_description").contains("aud"));
    let revoke = h.post(
        "/oauth/revoke",
        &format!(
            "token=abc&{}",
            assertion_params(&assertion(&json!(PAR_URL), "rev-1"))
        ),
        &[],
    );
    assert_eq!(status_error(&revoke), (401, "invalid_client".to_owned()));
    // The issuer still works there.
    let token = h.post(
        "/oauth/token",
        &format!(
            "grant_type=client_credentials&audience={}&{}",
            enc(API),
            assertion_params(&assertion(&json!(ISSUER), "tok-2"))
        ),
        &[],
    );
    assert_eq!(token.status, 200, "{:?}", token.json_body());
}

// ----------------------------------------------------------- POST /authorize

fn post_authorize(h: &Harness, body: &str, headers: &[(&str, &str)]) -> HttpResponse {
    h.post("/authorize", body, headers)
}

fn spa_request(extra: &str) -> String {
    format!(
        "response_type=code&client_id=spa&redirect_uri={}&scope=openid&state=st&code_challenge={CHALLENGE}&code_challenge_method=S256{extra}",
        enc(SPA_CB)
    )
}

#[test]
fn oidc_core_3_1_2_1_post_authorize_runs_the_same_flow_as_get() {
    let h = harness();
    let page = post_authorize(&h, &spa_request(""), &[]);
    assert_eq!(page.status, 200, "{}", body_text(&page));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert!(body_text(&page).contains("action=\"/authorize/login\""));
    let login = h.send(&login_request(
        &hidden_tx(&page),
        "alice@example.com",
        PASSWORD,
    ));
    assert_eq!(login.status, 303);
    let location = login.header("location").unwrap();
    assert!(location.starts_with(SPA_CB));
    assert_eq!(query_param(location, "state").as_deref(), Some("st"));
    let code = query_param(location, "code").unwrap();
    let token = h.post(
        "/oauth/token",
        &format!(
            "grant_type=authorization_code&client_id=spa&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
            enc(SPA_CB)
        ),
        &[],
    );
    assert_eq!(token.status, 200, "{:?}", token.json_body());

    // A charset parameter on the media type is fine.
    let page = h.send(
        &HttpRequest::new("POST", "/authorize")
            .with_header(
                "content-type",
                "Application/X-WWW-Form-URLEncoded; charset=UTF-8",
            )
            .with_body(spa_request("").into_bytes()),
    );
    assert_eq!(page.status, 200, "{}", body_text(&page));

    // Redirected errors are the same as for GET: state and iss included.
    for (extra, error) in [
        ("&prompt=none", "login_required"),
        ("&scope=admin", "invalid_scope"),
        ("&request=eyJ9", "request_not_supported"),
    ] {
        let body = spa_request(extra).replace("&scope=openid", "");
        let resp = post_authorize(&h, &body, &[]);
        assert_eq!(resp.status, 302, "{extra}");
        let location = resp.header("location").unwrap();
        assert!(location.starts_with(SPA_CB), "{extra}");
        assert_eq!(query_param(location, "error").as_deref(), Some(error));
        assert_eq!(query_param(location, "state").as_deref(), Some("st"));
        assert_eq!(query_param(location, "iss").as_deref(), Some(ISSUER));
    }
    let get = h.send(&HttpRequest::new(
        "GET",
        &format!("/authorize?{}", spa_request("&prompt=none")),
    ));
    let post = post_authorize(&h, &spa_request("&prompt=none"), &[]);
    assert_eq!(get.status, post.status);
    assert_eq!(get.header("location"), post.header("location"));
}

#[test]
fn oidc_core_3_1_2_1_post_authorize_uses_a_pushed_request_like_get() {
    let h = harness();
    let pushed = h.post(
        "/oauth/par",
        &format!(
            "client_id=spa&{}",
            spa_request("").replace("client_id=spa&", "")
        ),
        &[],
    );
    assert_eq!(pushed.status, 201, "{:?}", pushed.json_body());
    let request_uri = json_str(&pushed, "request_uri");
    let page = post_authorize(
        &h,
        &format!("client_id=spa&request_uri={}", enc(&request_uri)),
        &[],
    );
    assert_eq!(page.status, 200, "{}", body_text(&page));
    assert!(body_text(&page).contains("name=\"tx\""));
}

#[test]
fn oidc_core_3_1_2_1_post_authorize_is_parsed_strictly() {
    let h = harness();
    let page_400 = |resp: &HttpResponse, what: &str| {
        assert_eq!(resp.status, 400, "{what}: {}", body_text(resp));
        assert!(
            resp.header("content-type")
                .is_some_and(|c| c.starts_with("text/html")),
            "{what}"
        );
        assert_eq!(resp.header("cache-control"), Some("no-store"), "{what}");
        assert!(resp.header("location").is_none(), "{what}");
    };
    // A repeated parameter, bad percent-encoding, a control character.
    page_400(
        &post_authorize(&h, &format!("{}&state=again", spa_request("")), &[]),
        "repeated",
    );
    page_400(
        &post_authorize(&h, &format!("{}&nonce=%zz", spa_request("")), &[]),
        "bad encoding",
    );
    page_400(
        &post_authorize(&h, &format!("{}&nonce=a%00b", spa_request("")), &[]),
        "control character",
    );
    // Another media type, or none.
    for content_type in [
        Some("application/json"),
        Some("text/plain"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let mut req =
            HttpRequest::new("POST", "/authorize").with_body(spa_request("").into_bytes());
        if let Some(c) = content_type {
            req = req.with_header("content-type", c);
        }
        page_400(&h.send(&req), &format!("{content_type:?}"));
    }
    let json_body = json!({"response_type": "code", "client_id": "spa"}).to_string();
    let req = HttpRequest::new("POST", "/authorize")
        .with_header("content-type", "application/json")
        .with_body(json_body.into_bytes());
    page_400(&h.send(&req), "JSON");
    // A body over the size cap.
    let big = format!("{}&nonce={}", spa_request(""), "n".repeat(20 * 1024));
    page_400(&post_authorize(&h, &big, &[]), "too large");
    // Parameters in the query as well as the body, whichever are complete.
    let req = HttpRequest::new("POST", "/authorize?client_id=spa")
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_body(spa_request("").into_bytes());
    page_400(&h.send(&req), "query and body");
    let req = HttpRequest::new("POST", &format!("/authorize?{}", spa_request("")))
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_body(Vec::new());
    page_400(&h.send(&req), "query with an empty body");
    // The client and redirect URI checks are the same as for GET.
    page_400(
        &post_authorize(
            &h,
            &spa_request("").replace("client_id=spa", "client_id=ghost"),
            &[],
        ),
        "unknown client",
    );
    page_400(
        &post_authorize(
            &h,
            &spa_request("").replace(&enc(SPA_CB), &enc("https://evil.example/cb")),
            &[],
        ),
        "unregistered redirect_uri",
    );
    // Methods other than GET, HEAD and POST are still 405, with the new Allow.
    let resp = h.send(&HttpRequest::new("PUT", "/authorize"));
    assert_eq!(resp.status, 405);
    assert_eq!(resp.header("allow"), Some("GET, HEAD, POST"));
}

/// A cross-site page auto-submitting a form to `/authorize` gets what a cross-site link to
/// `GET /authorize` gets: the login page, with nothing written and nobody signed in, even
/// when it adds the login form's fields.
#[test]
fn oidc_core_3_1_2_1_cross_site_post_authorize_only_shows_the_login_page() {
    let h = harness();
    let page = h.send(&HttpRequest::new(
        "GET",
        &format!("/authorize?{}", spa_request("")),
    ));
    let tx = hidden_tx(&page);
    let keys_before = block_on(h.app.store.list("")).unwrap();
    let body = format!(
        "{}&tx={}&username={}&password={}",
        spa_request(""),
        enc(&tx),
        enc("alice@example.com"),
        enc(PASSWORD)
    );
    for headers in [
        vec![
            ("origin", "https://evil.example"),
            ("sec-fetch-site", "cross-site"),
        ],
        vec![("origin", "null"), ("sec-fetch-site", "cross-site")],
        vec![],
    ] {
        let resp = post_authorize(&h, &body, &headers);
        assert_eq!(resp.status, 200, "{headers:?}: {}", body_text(&resp));
        assert!(resp.header("location").is_none());
        let html = body_text(&resp);
        assert!(html.contains("action=\"/authorize/login\""));
        assert!(!html.contains("alice@example.com"));
        assert_eq!(resp.header("x-frame-options"), Some("DENY"));
    }
    assert_eq!(block_on(h.app.store.list("")).unwrap(), keys_before);
    assert_eq!(h.app.store.count("code:"), 0);
    // The login step itself still refuses a cross-site post.
    let login = h.send(
        &HttpRequest::new("POST", "/authorize/login")
            .with_header("content-type", "application/x-www-form-urlencoded")
            .with_header("origin", "https://evil.example")
            .with_body(format!(
                "tx={}&username={}&password={}",
                enc(&tx),
                enc("alice@example.com"),
                enc(PASSWORD)
            )),
    );
    assert_eq!(login.status, 403);
    assert_eq!(h.app.store.count("code:"), 0);
}

// ------------------------------------------------ WWW-Authenticate on 401

#[track_caller]
fn assert_challenged(resp: &HttpResponse, what: &str) {
    assert_eq!(
        status_error(resp),
        (401, "invalid_client".to_owned()),
        "{what}"
    );
    assert_eq!(
        resp.header("www-authenticate"),
        Some(CHALLENGE_HEADER),
        "{what}"
    );
    assert_eq!(resp.header("cache-control"), Some("no-store"), "{what}");
}

#[test]
fn rfc9110_15_5_2_every_401_invalid_client_carries_a_challenge() {
    let h = harness();
    let cc = format!("grant_type=client_credentials&audience={}", enc(API));
    // client_secret_post with a wrong secret, or a secret without client_id.
    let resp = h.post(
        "/oauth/token",
        &format!("{cc}&client_id=web-post&client_secret=wrong"),
        &[],
    );
    assert_challenged(&resp, "client_secret_post");
    let resp = h.post("/oauth/token", &format!("{cc}&client_secret=wrong"), &[]);
    assert_challenged(&resp, "client_secret without client_id");
    // No client authentication at all; a confidential client presenting itself as public.
    assert_challenged(&h.post("/oauth/token", &cc, &[]), "none");
    assert_challenged(
        &h.post("/oauth/token", &format!("{cc}&client_id=m2m"), &[]),
        "confidential client as none",
    );
    assert_challenged(
        &h.post("/oauth/token", &format!("{cc}&client_id=ghost"), &[]),
        "unknown public client",
    );
    // A bad client assertion: malformed, wrong audience, replayed.
    assert_challenged(
        &h.post(
            "/oauth/token",
            &format!("{cc}&{}", assertion_params("a.b.c")),
            &[],
        ),
        "malformed assertion",
    );
    let bad_aud = assertion(&json!("https://other.example/"), "c-1");
    assert_challenged(
        &h.post(
            "/oauth/token",
            &format!("{cc}&{}", assertion_params(&bad_aud)),
            &[],
        ),
        "assertion aud",
    );
    let good = assertion(&json!(ISSUER), "c-2");
    let first = h.post(
        "/oauth/token",
        &format!("{cc}&{}", assertion_params(&good)),
        &[],
    );
    assert_eq!(first.status, 200, "{:?}", first.json_body());
    assert_challenged(
        &h.post(
            "/oauth/token",
            &format!("{cc}&{}", assertion_params(&good)),
            &[],
        ),
        "replayed assertion",
    );
    // The same at PAR and at the revocation endpoint.
    assert_challenged(
        &h.post(
            "/oauth/par",
            &format!(
                "{}&client_id=web-post&client_secret=wrong",
                web_authorization_request()
            ),
            &[],
        ),
        "PAR client_secret_post",
    );
    assert_challenged(
        &h.post(
            "/oauth/par",
            &format!(
                "{}&{}",
                web_authorization_request(),
                assertion_params(&bad_aud)
            ),
            &[],
        ),
        "PAR assertion",
    );
    assert_challenged(
        &h.post(
            "/oauth/revoke",
            "token=abc&client_id=web-post&client_secret=wrong",
            &[],
        ),
        "revocation client_secret_post",
    );
    assert_challenged(
        &h.post("/oauth/revoke", "token=abc", &[]),
        "revocation without client",
    );
    // Basic keeps its challenge.
    assert_challenged(
        &h.post(
            "/oauth/token",
            &cc,
            &[("authorization", &basic("m2m", "wrong"))],
        ),
        "Basic",
    );
    // Errors that are not 401 invalid_client get no challenge.
    let resp = h.post(
        "/oauth/token",
        &format!("{cc}&client_id=web-post&client_secret=x&client_assertion=y"),
        &[],
    );
    assert_eq!(status_error(&resp), (400, "invalid_request".to_owned()));
    assert!(resp.header("www-authenticate").is_none());
    // The right secret still works.
    let ok = h.post(
        "/oauth/token",
        &format!("{cc}&client_id=web-post&client_secret={POST_SECRET}"),
        &[],
    );
    assert_eq!(ok.status, 200, "{:?}", ok.json_body());
}

// ------------------------------------------------------------ request objects

#[test]
fn oidc_discovery_3_request_parameters_are_declared_unsupported() {
    let h = harness();
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let m = h.send(&HttpRequest::new("GET", path)).json_body();
        assert_eq!(m["request_uri_parameter_supported"], json!(false), "{path}");
        assert_eq!(m["request_parameter_supported"], json!(false), "{path}");
        // PAR (and its request_uri) stays available.
        assert_eq!(
            m["pushed_authorization_request_endpoint"],
            json!(PAR_URL),
            "{path}"
        );
        assert_eq!(m["require_pushed_authorization_requests"], json!(false));
    }
}

#[test]
fn oidc_core_6_2_a_request_uri_that_is_not_pushed_is_redirected_as_not_supported() {
    let h = harness();
    for uri in [
        "https://client.example/request.jwt",
        "urn:example:request",
        "urn:ietf:params:oauth:request_uri",
    ] {
        let resp = h.send(&HttpRequest::new(
            "GET",
            &format!("/authorize?{}&request_uri={}", spa_request(""), enc(uri)),
        ));
        assert_eq!(resp.status, 302, "{uri}: {}", body_text(&resp));
        let location = resp.header("location").unwrap();
        assert!(location.starts_with(SPA_CB), "{uri}");
        assert_eq!(
            query_param(location, "error").as_deref(),
            Some("request_uri_not_supported"),
            "{uri}"
        );
        assert_eq!(query_param(location, "state").as_deref(), Some("st"));
        assert_eq!(query_param(location, "iss").as_deref(), Some(ISSUER));
    }
    // Without a valid client and redirect URI it is an error page, never a redirect.
    for query in [
        format!("client_id=ghost&redirect_uri={}", enc(SPA_CB)),
        format!(
            "client_id=spa&redirect_uri={}",
            enc("https://evil.example/")
        ),
        format!("redirect_uri={}", enc(SPA_CB)),
    ] {
        let resp = h.send(&HttpRequest::new(
            "GET",
            &format!(
                "/authorize?{query}&request_uri={}",
                enc("https://client.example/r")
            ),
        ));
        assert_eq!(resp.status, 400, "{query}");
        assert!(resp.header("location").is_none(), "{query}");
    }
    // A pushed request_uri that is unknown or expired is still the error page.
    let resp = h.send(&HttpRequest::new(
        "GET",
        &format!(
            "/authorize?client_id=spa&request_uri={}",
            enc("urn:ietf:params:oauth:request_uri:nope")
        ),
    ));
    assert_eq!(resp.status, 400);
    assert!(resp.header("location").is_none());
}
