//! End-to-end tests of the server logic, natively, against the memory store.
//! Test names cite the rule (`rules.md` item) or RFC section they check.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::*;
use edge_oauth::base64url;
use edge_oauth_worker::http::{HttpRequest, HttpResponse};
use edge_oauth_worker::jwt::{DecodedJwt, sha256_b64};
use edge_oauth_worker::platform::NativePlatform;
use edge_oauth_worker::store::StoreError;
use serde_json::{Value, json};

const POST_SECRET: &str = "post-secret-abcdefghijklmnopqrstuvwxyz01234";
const HS_SECRET: &str = "hs-secret-abcdefghijklmnopqrstuvwxyz0123456";

/// `common::client`, named "`{id}` app".
fn client(
    id: &str,
    app_type: &str,
    method: &str,
    grants: &[&str],
    secret: Option<&str>,
    redirect: &[&str],
) -> Value {
    let mut c = common::client(id, app_type, method, grants, secret, redirect);
    c["name"] = json!(format!("{id} app"));
    c
}

fn harness() -> Harness {
    let v = vectors();
    let config = config(&v, None);
    let (clock, store) = Harness::clock_and_store();

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
        "client:m2m-post",
        &client(
            "m2m-post",
            "m2m",
            "client_secret_post",
            &["client_credentials"],
            Some(POST_SECRET),
            &[],
        ),
    );
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
        "client:web",
        &client(
            "web",
            "regular_web",
            "client_secret_basic",
            &["authorization_code", "refresh_token"],
            Some(WEB_SECRET),
            &[WEB_CB, "https://web.example/other"],
        ),
    );
    let pk =
        &v["client_assertions"]["client_assertions"]["verifier_policy"]["registered_public_jwk"];
    let mut pkj = client(
        "client-abc",
        "m2m",
        "private_key_jwt",
        &["client_credentials"],
        None,
        &[],
    );
    pkj["jwks"] = json!({"keys": [pk]});
    put(&store, "client:client-abc", &pkj);
    let mut hs = client(
        "hs-client",
        "m2m",
        "client_secret_jwt",
        &["client_credentials"],
        Some(HS_SECRET),
        &[],
    );
    hs["client_secret_enc"] = json!(base64url::encode(format!("plain:{HS_SECRET}").as_bytes()));
    put(&store, "client:hs-client", &hs);
    // The CORS origin index the tenant CLI keeps (scripts/lib/tenant.mjs).
    put(
        &store,
        "origin:https://spa.example",
        &json!({"clients": ["client-abc", "hs-client", "m2m", "m2m-post", "spa", "web"]}),
    );

    put(
        &store,
        &format!("api:{API}"),
        &json!({"identifier": API, "name": "API", "scopes": ["read:items", "write:items"], "token_lifetime": 3600, "allow_offline_access": true}),
    );
    put(
        &store,
        "api:https://closed.example.com",
        &json!({"identifier": "https://closed.example.com", "scopes": ["read"], "allow_offline_access": false}),
    );
    for id in ["m2m", "m2m-post", "client-abc", "hs-client"] {
        put(
            &store,
            &format!("grant:{id}:{API}"),
            &json!({"client_id": id, "audience": API, "scopes": ["read:items", "write:items"]}),
        );
    }
    put_alice(&store);
    let platform = NativePlatform::new(clock.clone());
    Harness::new(config, store, platform, clock)
}

impl Harness {
    fn token(&self, body: &str) -> HttpResponse {
        self.token_with(body, &[])
    }

    fn token_with(&self, body: &str, headers: &[(&str, &str)]) -> HttpResponse {
        self.post("/oauth/token", body, headers)
    }

    fn m2m(&self, body: &str) -> HttpResponse {
        self.token_with(body, &[("authorization", &basic("m2m", M2M_SECRET))])
    }

    /// Runs /authorize + login and returns the code.
    fn code(&self, client_id: &str, redirect: &str, extra: &str) -> String {
        let resp = self.send(&HttpRequest::new(
            "GET",
            &format!("/authorize?response_type=code&client_id={client_id}&redirect_uri={}&state=xyz{extra}", enc(redirect)),
        ));
        assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
        let tx = hidden_tx(&resp);
        let resp = self.login(&tx, "alice@example.com", PASSWORD);
        assert_eq!(resp.status, 303);
        let location = resp.header("location").unwrap().to_owned();
        assert!(location.starts_with(redirect));
        query_param(&location, "code").unwrap()
    }

    fn login(&self, tx: &str, user: &str, password: &str) -> HttpResponse {
        self.send(&login_request(tx, user, password))
    }

    fn spa_code(&self, scope: &str) -> String {
        self.code("spa", SPA_CB, &format!("&code_challenge={CHALLENGE}&code_challenge_method=S256&nonce=n-0S6&audience={}&scope={}", enc(API), enc(scope)))
    }

    fn exchange_spa(&self, code: &str) -> HttpResponse {
        self.token(&format!("grant_type=authorization_code&client_id=spa&code={code}&redirect_uri={}&code_verifier={VERIFIER}", enc(SPA_CB)))
    }
}

fn assert_no_store(resp: &HttpResponse) {
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    assert_eq!(resp.header("pragma"), Some("no-cache"));
}

// ---------------------------------------------------------------- transport (A)

#[test]
fn rule_2_other_methods_get_405_with_allow_post() {
    let h = harness();
    let resp = h.send(&HttpRequest::new("GET", "/oauth/token"));
    assert_eq!(resp.status, 405);
    assert_eq!(resp.header("allow"), Some("POST"));
    assert_no_store(&resp);
}

/// An extension method is never taken for another one: `/authorize`, `/userinfo` and the
/// metadata answer it `405` with `Allow`, in RFC 6749 JSON, never with a page.
#[test]
fn rule_2_extension_methods_get_405_everywhere() {
    let h = harness();
    for path in [
        "/authorize?response_type=code&client_id=spa",
        "/userinfo",
        "/.well-known/openid-configuration",
        "/oauth/token",
    ] {
        let resp = h.send(&HttpRequest::new("PROPFIND", path));
        assert_eq!(resp.status, 405, "{path}");
        assert!(
            resp.header("allow").is_some_and(|a| !a.is_empty()),
            "{path}"
        );
        assert_eq!(json_str(&resp, "error"), "invalid_request", "{path}");
        assert_no_store(&resp);
    }
}

#[test]
fn rule_3_bad_utf8_and_bad_escape_are_invalid_request() {
    let h = harness();
    for body in [
        "grant_type=client_credentials&audience=%C3%28",
        "grant_type=client_credentials&x=%ZZ",
    ] {
        let resp = h.m2m(body);
        assert_eq!(
            (resp.status, error_of(&resp).as_str()),
            (400, "invalid_request"),
            "{body}"
        );
    }
}

#[test]
fn rule_3_body_over_16_kb_is_invalid_request() {
    let h = harness();
    let body = format!(
        "grant_type=client_credentials&pad={}",
        "a".repeat(17 * 1024)
    );
    let resp = h.m2m(&body);
    assert_eq!(
        (resp.status, error_of(&resp).as_str()),
        (400, "invalid_request")
    );
}

#[test]
fn rule_3_other_content_type_is_invalid_request() {
    let h = harness();
    let req = HttpRequest::new("POST", "/oauth/token")
        .with_header("content-type", "text/plain")
        .with_body(b"grant_type=client_credentials".to_vec());
    assert_eq!(error_of(&h.send(&req)), "invalid_request");
}

#[test]
fn rule_6_repeated_parameter_is_invalid_request() {
    let h = harness();
    let resp = h.m2m(&format!(
        "grant_type=client_credentials&audience={}&audience={}",
        enc(API),
        enc(API)
    ));
    assert_eq!(
        (resp.status, error_of(&resp).as_str()),
        (400, "invalid_request")
    );
    assert_no_store(&resp);
}

#[test]
fn auth0_json_body_is_accepted_and_strict() {
    let h = harness();
    let json_req = |body: &str| {
        HttpRequest::new("POST", "/oauth/token")
            .with_header("content-type", "application/json")
            .with_body(body.as_bytes().to_vec())
    };
    let ok = h.send(&json_req(&json!({"grant_type": "client_credentials", "client_id": "m2m-post", "client_secret": POST_SECRET, "audience": API}).to_string()));
    assert_eq!(ok.status, 200, "{:?}", ok.json_body());
    let bad = h.send(&json_req(r#"{"grant_type":"client_credentials","client_id":"m2m-post","client_secret":"x","audience":1}"#));
    assert_eq!(error_of(&bad), "invalid_request");
    let dup = h.send(&json_req(
        r#"{"grant_type":"client_credentials","grant_type":"client_credentials"}"#,
    ));
    assert_eq!(error_of(&dup), "invalid_request");
}

#[test]
fn rule_8_credentials_in_query_are_invalid_request() {
    let h = harness();
    let req = HttpRequest::new("POST", &format!("/oauth/token?client_secret={M2M_SECRET}"))
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_body(format!("grant_type=client_credentials&client_id=m2m-post&client_secret={POST_SECRET}&audience={}", enc(API)));
    assert_eq!(error_of(&h.send(&req)), "invalid_request");
}

#[test]
fn rule_9_two_authentication_methods_are_invalid_request() {
    let h = harness();
    let resp = h.m2m(&format!(
        "grant_type=client_credentials&client_secret={M2M_SECRET}&audience={}",
        enc(API)
    ));
    assert_eq!(
        (resp.status, error_of(&resp).as_str()),
        (400, "invalid_request")
    );
}

#[test]
fn rule_34_missing_and_unknown_grant_type() {
    let h = harness();
    assert_eq!(error_of(&h.m2m("audience=x")), "invalid_request");
    assert_eq!(
        error_of(&h.m2m("grant_type=implicit")),
        "unsupported_grant_type"
    );
    // Implemented, but not enabled for this client (worker/tests/access.rs).
    assert_eq!(
        error_of(&h.m2m("grant_type=password")),
        "unauthorized_client"
    );
}

// ---------------------------------------------------------------- client authentication

#[test]
fn rfc6749_2_3_1_basic_with_form_encoded_credentials() {
    let h = harness();
    let v = vectors();
    let case = &v["client_secret_basic"]["client_secret_basic"]["constructed"][1];
    let id = case["client_id"].as_str().unwrap();
    let secret = case["client_secret"].as_str().unwrap();
    put(
        &h.app.store,
        &format!("client:{id}"),
        &client(
            id,
            "m2m",
            "client_secret_basic",
            &["client_credentials"],
            Some(secret),
            &[],
        ),
    );
    put(
        &h.app.store,
        &format!("grant:{id}:{API}"),
        &json!({"client_id": id, "audience": API, "scopes": ["read:items"]}),
    );
    let auth = case["authorization"].as_str().unwrap();
    let resp = h.token_with(
        &format!("grant_type=client_credentials&audience={}", enc(API)),
        &[("authorization", auth)],
    );
    assert_eq!(resp.status, 200, "{:?}", resp.json_body());
    assert_eq!(
        claims(resp.json_body()["access_token"].as_str().unwrap())["client_id"],
        json!(id)
    );
}

#[test]
fn rule_38_basic_failure_is_401_with_www_authenticate() {
    let h = harness();
    let resp = h.token_with(
        &format!("grant_type=client_credentials&audience={}", enc(API)),
        &[("authorization", &basic("m2m", "wrong"))],
    );
    assert_eq!(
        (resp.status, error_of(&resp).as_str()),
        (401, "invalid_client")
    );
    assert_eq!(
        resp.header("www-authenticate"),
        Some("Basic realm=\"https://auth.example.com/\"")
    );
    assert_no_store(&resp);
    // The pitfall vector: an unencoded colon in the id splits on the first colon.
    let pit = "Basic Y2xpZW50OndpdGg6Y29sb25zOnBAc3M=";
    let resp = h.token_with("grant_type=client_credentials", &[("authorization", pit)]);
    assert_eq!(
        (resp.status, error_of(&resp).as_str()),
        (401, "invalid_client")
    );
    // Malformed base64.
    let resp = h.token_with(
        "grant_type=client_credentials",
        &[("authorization", "Basic !!!")],
    );
    assert_eq!(resp.status, 401);
    assert!(resp.header("www-authenticate").is_some());
}

#[test]
fn rule_11_client_secret_post() {
    let h = harness();
    let ok = h.token(&format!(
        "grant_type=client_credentials&client_id=m2m-post&client_secret={POST_SECRET}&audience={}",
        enc(API)
    ));
    assert_eq!(ok.status, 200);
    let bad = h.token(&format!(
        "grant_type=client_credentials&client_id=m2m-post&client_secret=nope&audience={}",
        enc(API)
    ));
    assert_eq!(
        (bad.status, error_of(&bad).as_str()),
        (401, "invalid_client")
    );
    // RFC 9110 §15.5.2: a 401 carries a challenge, whichever method the client used.
    assert_eq!(
        bad.header("www-authenticate"),
        Some("Basic realm=\"https://auth.example.com/\"")
    );
}

#[test]
fn registered_method_is_enforced() {
    let h = harness();
    // m2m is registered for client_secret_basic: its correct secret in the body fails.
    let resp = h.token(&format!(
        "grant_type=client_credentials&client_id=m2m&client_secret={M2M_SECRET}&audience={}",
        enc(API)
    ));
    assert_eq!(
        (resp.status, error_of(&resp).as_str()),
        (401, "invalid_client")
    );
    // A confidential client cannot present itself as public.
    let resp = h.token(&format!(
        "grant_type=client_credentials&client_id=m2m&audience={}",
        enc(API)
    ));
    assert_eq!(error_of(&resp), "invalid_client");
    // No client at all.
    let resp = h.token("grant_type=client_credentials");
    assert_eq!(
        (resp.status, error_of(&resp).as_str()),
        (401, "invalid_client")
    );
    // Unknown client.
    let resp = h.token_with(
        "grant_type=client_credentials",
        &[("authorization", &basic("ghost", "x"))],
    );
    assert_eq!(error_of(&resp), "invalid_client");
}

fn assertion_request(assertion: &str, extra: &str) -> String {
    format!(
        "grant_type=client_credentials&audience={}&client_assertion_type={}&client_assertion={assertion}{extra}",
        enc(API),
        enc("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    )
}

/// Every vector of `client_assertions` (RFC 7523 §3, OIDC Core §9) through the endpoint.
#[test]
fn rfc7523_section_3_client_assertion_vectors() {
    let v = vectors();
    let cases = v["client_assertions"]["client_assertions"]["vectors"]
        .as_array()
        .unwrap();
    let mut checked = 0;
    for case in cases {
        let id = case["id"].as_str().unwrap();
        let h = harness();
        let assertion = case["client_assertion"].as_str().unwrap_or_default();
        let extra = if id == "client_id_param_mismatch" {
            "&client_id=other-client"
        } else {
            ""
        };
        let expect_ok = match &case["expected"]["valid"] {
            Value::Bool(b) => *b,
            // Policy: arrays and far-future exp are refused (the recommendation).
            _ => false,
        };
        if id == "replayed_jti" {
            // Present the valid assertion with the same jti first.
            let first = cases
                .iter()
                .find(|c| c["id"] == "valid_aud_issuer")
                .unwrap();
            let resp = h.token(&assertion_request(
                first["client_assertion"].as_str().unwrap(),
                "",
            ));
            assert_eq!(resp.status, 200);
        }
        if id == "client_secret_jwt_valid_hs256" {
            let secret = case["client_secret"]
                .as_str()
                .or_else(|| case["secret"].as_str())
                .expect("secret in vector");
            let iss = case["claims"]["iss"].as_str().unwrap();
            let mut c = client(
                iss,
                "m2m",
                "client_secret_jwt",
                &["client_credentials"],
                Some(secret),
                &[],
            );
            c["client_secret_enc"] = json!(base64url::encode(format!("plain:{secret}").as_bytes()));
            put(&h.app.store, &format!("client:{iss}"), &c);
            put(
                &h.app.store,
                &format!("grant:{iss}:{API}"),
                &json!({"client_id": iss, "audience": API, "scopes": ["read:items"]}),
            );
        }
        let resp = h.token(&assertion_request(assertion, extra));
        if expect_ok {
            assert_eq!(resp.status, 200, "{id}: {:?}", resp.json_body());
        } else {
            assert_eq!(resp.status, 401, "{id}: {:?}", resp.json_body());
            assert_eq!(error_of(&resp), "invalid_client", "{id}");
        }
        checked += 1;
    }
    assert!(checked >= 15);
}

#[test]
fn rule_103_hs256_not_accepted_for_private_key_jwt_and_es256_not_for_client_secret_jwt() {
    let h = harness();
    let header = base64url::encode(br#"{"alg":"HS256"}"#);
    let payload = base64url::encode(
        json!({"iss":"client-abc","sub":"client-abc","aud":ISSUER,"exp":NOW+60,"jti":"x"})
            .to_string()
            .as_bytes(),
    );
    let input = format!("{header}.{payload}");
    let mac = edge_oauth_worker::jwt::hmac_sha256(b"anything", input.as_bytes());
    let resp = h.token(&assertion_request(
        &format!("{input}.{}", base64url::encode(&mac)),
        "",
    ));
    assert_eq!(
        (resp.status, error_of(&resp).as_str()),
        (401, "invalid_client")
    );

    // A correct HS256 assertion for the client_secret_jwt client works.
    let payload = base64url::encode(json!({"iss":"hs-client","sub":"hs-client","aud":format!("{ISSUER}oauth/token"),"exp":NOW+60,"jti":"y"}).to_string().as_bytes());
    let input = format!("{header}.{payload}");
    let mac = edge_oauth_worker::jwt::hmac_sha256(HS_SECRET.as_bytes(), input.as_bytes());
    let resp = h.token(&assertion_request(
        &format!("{input}.{}", base64url::encode(&mac)),
        "",
    ));
    assert_eq!(resp.status, 200, "{:?}", resp.json_body());
}

#[test]
fn rule_97_wrong_assertion_type_is_invalid_request() {
    let h = harness();
    let body = format!(
        "grant_type=client_credentials&client_assertion_type=urn:x&client_assertion=a.b.c&audience={}",
        enc(API)
    );
    assert_eq!(error_of(&h.token(&body)), "invalid_request");
}

// ---------------------------------------------------------------- client credentials (B.2)

#[test]
fn rfc6749_4_4_client_credentials_success_shape() {
    let h = harness();
    let resp = h.m2m(&format!(
        "grant_type=client_credentials&audience={}",
        enc(API)
    ));
    assert_eq!(resp.status, 200);
    assert_no_store(&resp);
    let body = resp.json_body();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "read:items write:items");
    assert!(
        body.get("refresh_token").is_none(),
        "rule 23: no refresh token"
    );
    assert!(body.get("id_token").is_none());
    // RFC 9068 §2.1, §2.2.
    let at = body["access_token"].as_str().unwrap();
    let jwt = DecodedJwt::decode(at).unwrap();
    assert_eq!(jwt.header_str("typ"), Some("at+jwt"));
    assert_eq!(jwt.header_str("kid"), Some("as-key-1"));
    jwt.verify_es256(h.app.config.signing_keys[0].verifying_key())
        .unwrap();
    let c = jwt.claims;
    assert_eq!(c["iss"], ISSUER);
    assert_eq!(c["sub"], "m2m@clients");
    assert_eq!(c["aud"], API);
    assert_eq!(c["client_id"], "m2m");
    assert_eq!(c["iat"], NOW);
    assert_eq!(c["exp"], NOW + 3600);
    assert!(c["jti"].as_str().unwrap().len() >= 22);
}

#[test]
fn client_credentials_scope_must_be_subset_and_an_unknown_organization_is_refused() {
    let h = harness();
    let resp = h.m2m(&format!(
        "grant_type=client_credentials&audience={}&scope=read:items",
        enc(API)
    ));
    assert_eq!(resp.status, 200);
    let c = claims(resp.json_body()["access_token"].as_str().unwrap());
    assert_eq!(c["scope"], "read:items");
    assert!(c.get("org_id").is_none());
    // An organization is never copied into the token unchecked (worker/tests/access.rs).
    let resp = h.m2m(&format!(
        "grant_type=client_credentials&audience={}&scope=read:items&organization=org_123",
        enc(API)
    ));
    assert_eq!(
        (resp.status, error_of(&resp).as_str()),
        (403, "access_denied")
    );
    let resp = h.m2m(&format!(
        "grant_type=client_credentials&audience={}&scope=read:items%20admin",
        enc(API)
    ));
    assert_eq!(
        (resp.status, error_of(&resp).as_str()),
        (400, "invalid_scope")
    );
}

#[test]
fn client_credentials_audience_without_grant_is_access_denied_resource_is_invalid_target() {
    let h = harness();
    let resp = h.m2m("grant_type=client_credentials&audience=https%3A%2F%2Fclosed.example.com");
    assert_eq!(
        (resp.status, error_of(&resp).as_str()),
        (403, "access_denied")
    );
    let resp = h.m2m("grant_type=client_credentials&audience=https%3A%2F%2Fnope.example");
    assert_eq!(error_of(&resp), "access_denied");
    let resp = h.m2m("grant_type=client_credentials&resource=https%3A%2F%2Fnope.example");
    assert_eq!(
        (resp.status, error_of(&resp).as_str()),
        (400, "invalid_target")
    );
    let resp = h.m2m(&format!(
        "grant_type=client_credentials&resource={}",
        enc(API)
    ));
    assert_eq!(resp.status, 200);
    let resp = h.m2m("grant_type=client_credentials");
    assert_eq!(error_of(&resp), "access_denied");
}

#[test]
fn rule_22_24_public_client_or_unregistered_grant_is_unauthorized_client() {
    let h = harness();
    let resp = h.token(&format!(
        "grant_type=client_credentials&client_id=spa&audience={}",
        enc(API)
    ));
    assert_eq!(
        (resp.status, error_of(&resp).as_str()),
        (400, "unauthorized_client")
    );
    let resp = h.m2m("grant_type=refresh_token&refresh_token=x");
    assert_eq!(error_of(&resp), "unauthorized_client");
}

#[test]
fn kv_rate_limit_is_503_temporarily_unavailable_with_retry_after() {
    let h = harness();
    let code = h.spa_code("openid offline_access read:items");
    h.app.store.fail_writes(Some(StoreError::RateLimited));
    let resp = h.exchange_spa(&code);
    assert_eq!(
        (resp.status, error_of(&resp).as_str()),
        (503, "temporarily_unavailable")
    );
    assert_eq!(resp.header("retry-after"), Some("1"));
    assert_no_store(&resp);
}

// ---------------------------------------------------------------- authorization code (B.1, D)

#[test]
fn rfc6749_4_1_3_code_exchange_with_pkce_and_oidc() {
    let h = harness();
    let code = h.spa_code("openid profile email offline_access read:items");
    assert!(
        base64url::decode(&code).unwrap().len() >= 16,
        "rule 14: >= 128 bits"
    );
    // Stored only as its hash, with a 60 s TTL.
    assert_eq!(
        h.app
            .store
            .ttl(&format!("code:{}", sha256_b64(code.as_bytes()))),
        Some(60)
    );
    let resp = h.exchange_spa(&code);
    assert_eq!(resp.status, 200, "{:?}", resp.json_body());
    assert_no_store(&resp);
    let body = resp.json_body();
    assert_eq!(
        body["scope"],
        "openid profile email offline_access read:items"
    );
    assert!(body["refresh_token"].is_string());
    let at = body["access_token"].as_str().unwrap();
    let c = claims(at);
    assert_eq!(c["sub"], "user|alice");
    assert_eq!(c["aud"], json!([API, format!("{ISSUER}userinfo")]));
    assert_eq!(c["client_id"], "spa");
    // OIDC Core §2, §3.1.3.6.
    let id = DecodedJwt::decode(body["id_token"].as_str().unwrap()).unwrap();
    id.verify_es256(h.app.config.signing_keys[0].verifying_key())
        .unwrap();
    let ic = id.claims;
    assert_eq!(ic["iss"], ISSUER);
    assert_eq!(ic["aud"], "spa");
    assert_eq!(ic["azp"], "spa");
    assert_eq!(ic["nonce"], "n-0S6");
    assert_eq!(ic["auth_time"], NOW);
    assert_eq!(ic["email"], "alice@example.com");
    assert_eq!(ic["name"], "Alice");
    assert_eq!(ic["at_hash"], json!(edge_oauth_worker::jwt::at_hash(at)));
}

#[test]
fn rule_19_code_replay_is_invalid_grant_and_revokes_refresh_tokens() {
    let h = harness();
    let code = h.spa_code("openid offline_access read:items");
    let first = h.exchange_spa(&code);
    assert_eq!(first.status, 200);
    let refresh = json_str(&first, "refresh_token");
    let replay = h.exchange_spa(&code);
    assert_eq!(
        (replay.status, error_of(&replay).as_str()),
        (400, "invalid_grant")
    );
    let resp = h.token(&format!(
        "grant_type=refresh_token&client_id=spa&refresh_token={refresh}"
    ));
    assert_eq!(
        error_of(&resp),
        "invalid_grant",
        "the refresh token from a replayed code is revoked"
    );
}

#[test]
fn rule_18_expired_code_is_invalid_grant() {
    let h = harness();
    let code = h.spa_code("openid");
    h.clock.advance(61);
    assert_eq!(error_of(&h.exchange_spa(&code)), "invalid_grant");
}

#[test]
fn rule_17c_code_of_another_client_is_invalid_grant() {
    let h = harness();
    let code = h.spa_code("openid");
    let body = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
        enc(SPA_CB)
    );
    let resp = h.token_with(&body, &[("authorization", &basic("web", WEB_SECRET))]);
    assert_eq!(error_of(&resp), "invalid_grant");
    // The code is still usable by its own client.
    assert_eq!(h.exchange_spa(&code).status, 200);
}

#[test]
fn rule_17e_redirect_uri_must_be_identical() {
    let h = harness();
    let code = h.spa_code("openid");
    let base =
        format!("grant_type=authorization_code&client_id=spa&code={code}&code_verifier={VERIFIER}");
    assert_eq!(error_of(&h.token(&base)), "invalid_grant");
    assert_eq!(
        error_of(&h.token(&format!(
            "{base}&redirect_uri={}",
            enc("https://spa.example/cb/")
        ))),
        "invalid_grant"
    );
    assert_eq!(
        h.token(&format!("{base}&redirect_uri={}", enc(SPA_CB)))
            .status,
        200
    );
}

#[test]
fn rfc7636_4_6_wrong_or_malformed_verifier_is_invalid_grant() {
    let h = harness();
    let code = h.spa_code("openid");
    for verifier in [
        "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXX",
        "short",
        &"a".repeat(129),
    ] {
        let resp = h.token(&format!("grant_type=authorization_code&client_id=spa&code={code}&redirect_uri={}&code_verifier={verifier}", enc(SPA_CB)));
        assert_eq!(error_of(&resp), "invalid_grant", "{verifier}");
    }
}

#[test]
fn rule_51_pkce_downgrade_is_refused_both_ways() {
    let h = harness();
    // Challenge sent, verifier missing.
    let code = h.spa_code("openid");
    let resp = h.token(&format!(
        "grant_type=authorization_code&client_id=spa&code={code}&redirect_uri={}",
        enc(SPA_CB)
    ));
    assert_eq!(error_of(&resp), "invalid_grant");
    // No challenge (confidential client), verifier sent.
    let code = h.code("web", WEB_CB, "&scope=openid");
    let auth = basic("web", WEB_SECRET);
    let body = format!(
        "grant_type=authorization_code&code={code}&redirect_uri={}",
        enc(WEB_CB)
    );
    let resp = h.token_with(
        &format!("{body}&code_verifier={VERIFIER}"),
        &[("authorization", &auth)],
    );
    assert_eq!(error_of(&resp), "invalid_grant");
    // Without the verifier the confidential client succeeds.
    assert_eq!(h.token_with(&body, &[("authorization", &auth)]).status, 200);
}

#[test]
fn rule_17a_confidential_client_must_authenticate_for_code() {
    let h = harness();
    let code = h.code("web", WEB_CB, "&scope=openid");
    let resp = h.token(&format!(
        "grant_type=authorization_code&client_id=web&code={code}&redirect_uri={}",
        enc(WEB_CB)
    ));
    assert_eq!(
        (resp.status, error_of(&resp).as_str()),
        (401, "invalid_client")
    );
}

#[test]
fn missing_code_is_invalid_request_unknown_code_invalid_grant() {
    let h = harness();
    assert_eq!(
        error_of(&h.token("grant_type=authorization_code&client_id=spa")),
        "invalid_request"
    );
    assert_eq!(
        error_of(&h.token("grant_type=authorization_code&client_id=spa&code=nope")),
        "invalid_grant"
    );
}

// ---------------------------------------------------------------- refresh (B.3)

fn first_refresh(h: &Harness, scope: &str) -> String {
    let resp = h.exchange_spa(&h.spa_code(scope));
    assert_eq!(resp.status, 200);
    json_str(&resp, "refresh_token")
}

#[test]
fn rule_29_refresh_rotates_and_reuse_revokes_the_family() {
    let h = harness();
    let r1 = first_refresh(&h, "openid offline_access read:items");
    let resp = h.token(&format!(
        "grant_type=refresh_token&client_id=spa&refresh_token={r1}"
    ));
    assert_eq!(resp.status, 200, "{:?}", resp.json_body());
    assert_no_store(&resp);
    let body = resp.json_body();
    let r2 = body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    // OIDC Core §12.2: new ID token without nonce, same auth_time.
    let ic = claims(body["id_token"].as_str().unwrap());
    assert!(ic.get("nonce").is_none());
    assert_eq!(ic["auth_time"], NOW);
    // Reuse of r1 → invalid_grant and r2 dies with the family.
    let reuse = h.token(&format!(
        "grant_type=refresh_token&client_id=spa&refresh_token={r1}"
    ));
    assert_eq!(error_of(&reuse), "invalid_grant");
    let after = h.token(&format!(
        "grant_type=refresh_token&client_id=spa&refresh_token={r2}"
    ));
    assert_eq!(error_of(&after), "invalid_grant");
}

/// `retry`, a refresh after a failed one, rotated the family: nothing was revoked, its
/// access token names the session, and its successor refreshes.
#[track_caller]
fn assert_session_continues(h: &Harness, retry: &HttpResponse) {
    assert_eq!(retry.status, 200, "{:?}", retry.json_body());
    assert_eq!(revoked_families(&h.app.store), 0);
    let r2 = json_str(retry, "refresh_token");
    assert_eq!(
        claims(&json_str(retry, "access_token"))["sid"],
        r2.split('.').next().unwrap(),
        "the access token names its session"
    );
    let next = h.token(&format!(
        "grant_type=refresh_token&client_id=spa&refresh_token={r2}"
    ));
    assert_eq!(next.status, 200, "{:?}", next.json_body());
}

/// A refresh whose signature fails (the signing backend is out) is a `500` that changes
/// nothing: the tokens are signed before the family rotates, so the client's retry with
/// the same refresh token is a rotation, not a reuse that ends the session.
#[test]
fn a_refresh_whose_signature_fails_leaves_the_family_as_it_was() {
    let h = harness();
    let r1 = first_refresh(&h, "openid offline_access read:items");
    let refresh = || {
        h.token(&format!(
            "grant_type=refresh_token&client_id=spa&refresh_token={r1}"
        ))
    };
    for _ in 0..2 {
        h.app.platform.fail_next_signatures(1);
        let failed = refresh();
        assert_eq!(failed.status, 500, "{:?}", failed.json_body());
        assert_eq!(error_of(&failed), "server_error");
        assert_no_store(&failed);
    }
    assert_session_continues(&h, &refresh());
}

/// A code exchange whose signature fails is a `500` that leaves the code usable: the
/// tokens are signed before anything is written for the exchange, so the client's retry
/// gets them, instead of `invalid_grant` for a code it never got tokens for. (The first
/// failure, on the isolate's copy of the code record, falls back to the stored record,
/// whose exchange signs again: two failures make the `500`.)
#[test]
fn a_code_exchange_whose_signature_fails_leaves_the_code_usable() {
    let h = harness();
    let code = h.spa_code("openid offline_access read:items");
    h.app.platform.fail_next_signatures(2);
    let failed = h.exchange_spa(&code);
    assert_eq!(failed.status, 500, "{:?}", failed.json_body());
    assert_eq!(error_of(&failed), "server_error");
    assert_no_store(&failed);
    let retry = h.exchange_spa(&code);
    assert_eq!(retry.status, 200, "{:?}", retry.json_body());
    let body = retry.json_body();
    let rt = body["refresh_token"].as_str().unwrap();
    let family = rt.split('.').next().unwrap();
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["sid"],
        family,
        "the access token names its session"
    );
    let refreshed = h.token(&format!(
        "grant_type=refresh_token&client_id=spa&refresh_token={rt}"
    ));
    assert_eq!(refreshed.status, 200, "{:?}", refreshed.json_body());
    assert_eq!(
        claims(refreshed.json_body()["access_token"].as_str().unwrap())["sid"],
        family
    );
    assert_eq!(
        error_of(&h.exchange_spa(&code)),
        "invalid_grant",
        "the code is used once it was redeemed"
    );
    // One failure: the request itself succeeds on the stored record.
    let code = h.spa_code("openid offline_access read:items");
    h.app.platform.fail_next_signatures(1);
    assert_eq!(h.exchange_spa(&code).status, 200);
}

/// A code exchange whose refresh-token family cannot be written (its Durable Object
/// shard is out of reach) is a `500` that leaves the code usable, so the client's retry
/// gets the tokens instead of `invalid_grant` (and a revocation) for a code it never got
/// tokens for: on the isolate that wrote the code the take and the family are one
/// transaction; on any other the taken code is given back.
#[test]
fn a_code_exchange_whose_family_cannot_be_written_leaves_the_code_usable() {
    for copies in [true, false] {
        let h = harness();
        h.app.store.keep_copies(copies);
        let code = h.spa_code("openid offline_access read:items");
        h.app.store.fail_writes_to(Some((
            "family:",
            StoreError::Backend("out of reach".into()),
        )));
        let failed = h.exchange_spa(&code);
        assert_eq!(failed.status, 500, "{:?}", failed.json_body());
        assert_eq!(error_of(&failed), "server_error");
        assert_no_store(&failed);
        h.app.store.fail_writes_to(None);
        let retry = h.exchange_spa(&code);
        assert_session_continues(&h, &retry);
        assert_eq!(
            error_of(&h.exchange_spa(&code)),
            "invalid_grant",
            "copies: {copies}: the code is used once it was redeemed"
        );
    }
}

/// A refresh whose store call fails after the rotation committed (a Durable Object call
/// whose reply is lost) still answers with the successor: the family holding exactly this
/// rotation shows it happened. A `500` would leave the client a spent token, whose retry
/// is reuse and ends the session.
#[test]
fn a_refresh_whose_reply_is_lost_after_it_committed_still_answers() {
    let h = harness();
    let r1 = first_refresh(&h, "openid offline_access read:items");
    h.app
        .store
        .fail_after_writes_to(Some(("family:", StoreError::Backend("reply lost".into()))));
    let resp = h.token(&format!(
        "grant_type=refresh_token&client_id=spa&refresh_token={r1}"
    ));
    h.app.store.fail_after_writes_to(None);
    assert_session_continues(&h, &resp);
}

/// A code exchange whose store call fails after it committed (the take and the new family
/// are written, the reply is lost) still answers with the tokens, on the isolate that
/// wrote the code and on any other: the family holding exactly this request's record
/// shows it happened.
#[test]
fn a_code_exchange_whose_reply_is_lost_after_it_committed_still_answers() {
    for copies in [true, false] {
        let h = harness();
        h.app.store.keep_copies(copies);
        let code = h.spa_code("openid offline_access read:items");
        h.app
            .store
            .fail_after_writes_to(Some(("family:", StoreError::Backend("reply lost".into()))));
        let resp = h.exchange_spa(&code);
        h.app.store.fail_after_writes_to(None);
        assert_eq!(resp.status, 200, "copies: {copies}: {:?}", resp.json_body());
        assert_session_continues(&h, &resp);
    }
}

#[test]
fn rule_26_27_scope_may_only_narrow_and_the_family_keeps_its_scope() {
    let h = harness();
    let r1 = first_refresh(&h, "openid offline_access read:items");
    let wider = h.token(&format!(
        "grant_type=refresh_token&client_id=spa&refresh_token={r1}&scope=read:items%20write:items"
    ));
    assert_eq!(error_of(&wider), "invalid_scope");
    let narrow = h.token(&format!(
        "grant_type=refresh_token&client_id=spa&refresh_token={r1}&scope=read:items"
    ));
    assert_eq!(narrow.status, 200);
    let body = narrow.json_body();
    assert_eq!(body["scope"], "read:items");
    assert!(body.get("id_token").is_none());
    let r2 = body["refresh_token"].as_str().unwrap();
    let full = h.token(&format!(
        "grant_type=refresh_token&client_id=spa&refresh_token={r2}"
    ));
    assert_eq!(
        full.json_body()["scope"],
        "openid offline_access read:items"
    );
}

#[test]
fn rule_28_refresh_token_is_bound_to_its_client() {
    let h = harness();
    let r1 = first_refresh(&h, "offline_access read:items");
    let resp = h.token_with(
        &format!("grant_type=refresh_token&refresh_token={r1}"),
        &[("authorization", &basic("web", WEB_SECRET))],
    );
    assert_eq!(error_of(&resp), "invalid_grant");
    // Still valid for its own client.
    assert_eq!(
        h.token(&format!(
            "grant_type=refresh_token&client_id=spa&refresh_token={r1}"
        ))
        .status,
        200
    );
}

#[test]
fn refresh_only_with_offline_access_and_api_permission() {
    let h = harness();
    let resp = h.exchange_spa(&h.spa_code("openid read:items"));
    assert!(resp.json_body().get("refresh_token").is_none());
    let code = h.code(
        "spa",
        SPA_CB,
        &format!(
            "&code_challenge={CHALLENGE}&code_challenge_method=S256&audience={}&scope=offline_access%20read",
            enc("https://closed.example.com")
        ),
    );
    let resp = h.exchange_spa(&code);
    assert_eq!(resp.status, 200);
    assert!(resp.json_body().get("refresh_token").is_none());
}

#[test]
fn rule_25_expired_or_unknown_refresh_token_is_invalid_grant() {
    let h = harness();
    let r1 = first_refresh(&h, "offline_access read:items");
    h.clock.advance(31 * 86_400);
    assert_eq!(
        error_of(&h.token(&format!(
            "grant_type=refresh_token&client_id=spa&refresh_token={r1}"
        ))),
        "invalid_grant"
    );
    assert_eq!(
        error_of(&h.token("grant_type=refresh_token&client_id=spa&refresh_token=nope")),
        "invalid_grant"
    );
    assert_eq!(
        error_of(&h.token("grant_type=refresh_token&client_id=spa")),
        "invalid_request"
    );
}

// ---------------------------------------------------------------- revoke, userinfo

#[test]
fn rfc7009_revoke_refresh_token_family() {
    let h = harness();
    let r1 = first_refresh(&h, "offline_access read:items");
    let revoke = |body: String| {
        h.send(
            &HttpRequest::new("POST", "/oauth/revoke")
                .with_header("content-type", "application/x-www-form-urlencoded")
                .with_body(body),
        )
    };
    assert_eq!(revoke(format!("client_id=spa&token={r1}")).status, 200);
    assert_eq!(
        error_of(&h.token(&format!(
            "grant_type=refresh_token&client_id=spa&refresh_token={r1}"
        ))),
        "invalid_grant"
    );
    assert_eq!(revoke("client_id=spa&token=unknown".into()).status, 200);
    assert_eq!(error_of(&revoke("client_id=spa".into())), "invalid_request");
    assert_eq!(
        h.send(&HttpRequest::new("GET", "/oauth/revoke")).status,
        405
    );
}

/// RFC 7009 §2.2: a forged token naming another client's session (its family id, which
/// any access token of the session carries as `sid`) is an invalid token, `200`, and says
/// nothing about that session; a token the family really issued, sent by another client,
/// is refused (§2.1) and revokes nothing.
#[test]
fn rfc7009_2_2_a_forged_token_of_another_clients_session_is_200() {
    let h = harness();
    let r1 = first_refresh(&h, "offline_access read:items");
    let family = r1.split('.').next().unwrap();
    let revoke_as_web = |token: &str| {
        h.post(
            "/oauth/revoke",
            &format!("token={token}"),
            &[("authorization", &basic("web", WEB_SECRET))],
        )
    };
    let forged = format!("{family}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    let resp = revoke_as_web(&forged);
    assert_eq!(resp.status, 200, "{:?}", resp.json_body());
    let resp = revoke_as_web(&r1);
    assert_eq!(resp.status, 400);
    assert_eq!(error_of(&resp), "invalid_grant");
    assert_no_store(&resp);
    assert_eq!(revoked_families(&h.app.store), 0);
    let next = h.token(&format!(
        "grant_type=refresh_token&client_id=spa&refresh_token={r1}"
    ));
    assert_eq!(next.status, 200, "{:?}", next.json_body());
}

#[test]
fn oidc_core_5_3_userinfo() {
    let h = harness();
    let resp = h.exchange_spa(&h.spa_code("openid email read:items"));
    let user_at = json_str(&resp, "access_token");
    let bearer = |t: &str| {
        HttpRequest::new("GET", "/userinfo").with_header("authorization", &format!("Bearer {t}"))
    };
    let info = h.send(&bearer(&user_at));
    assert_eq!(info.status, 200);
    assert_eq!(
        info.json_body(),
        json!({"sub": "user|alice", "email": "alice@example.com"})
    );
    // Again: the signature is known now (worker/src/verified.rs); nothing else is skipped.
    assert_eq!(h.send(&bearer(&user_at)).json_body(), info.json_body());
    let (signed, signature) = user_at.rsplit_once('.').unwrap();
    let (header, _) = signed.split_once('.').unwrap();
    let mut other_signature = signature.to_owned().into_bytes();
    other_signature[10] = if other_signature[10] == b'A' {
        b'B'
    } else {
        b'A'
    };
    let other_signature = String::from_utf8(other_signature).unwrap();
    let mut claims = claims(&user_at);
    // A payload that would pass every other check (and show the profile too).
    claims.insert("scope".into(), json!("openid email profile read:items"));
    let other_payload = edge_oauth::base64url::encode(&serde_json::to_vec(&claims).unwrap());
    for forged in [
        format!("{signed}.{other_signature}"),
        format!("{header}.{other_payload}.{signature}"),
    ] {
        let resp = h.send(&bearer(&forged));
        assert_eq!(resp.status, 401, "{forged}");
        assert!(
            resp.header("www-authenticate")
                .unwrap()
                .contains("error=\"invalid_token\"")
        );
    }
    let bad = h.send(&bearer("nope"));
    assert_eq!(bad.status, 401);
    assert!(
        bad.header("www-authenticate")
            .unwrap()
            .contains("error=\"invalid_token\"")
    );
    let none = h.send(&HttpRequest::new("GET", "/userinfo"));
    assert_eq!(none.status, 401);
    assert!(
        none.header("www-authenticate")
            .unwrap()
            .starts_with("Bearer realm=")
    );
    // A client-credentials token is not for userinfo.
    let m2m = h.m2m(&format!(
        "grant_type=client_credentials&audience={}",
        enc(API)
    ));
    let m2m_at = json_str(&m2m, "access_token");
    assert_eq!(h.send(&bearer(&m2m_at)).status, 401);
    // Expired (the API's lifetime is 3600 s).
    h.clock.advance(3601);
    assert_eq!(h.send(&bearer(&user_at)).status, 401);
}

// ---------------------------------------------------------------- /authorize

#[test]
fn rfc6749_4_1_2_1_unregistered_redirect_is_an_error_page_not_a_redirect() {
    let h = harness();
    let resp = h.send(&HttpRequest::new("GET", &format!("/authorize?response_type=code&client_id=spa&redirect_uri={}&code_challenge={CHALLENGE}&code_challenge_method=S256", enc("https://evil.example/cb"))));
    assert_eq!(resp.status, 400);
    assert!(resp.header("location").is_none());
    let resp = h.send(&HttpRequest::new(
        "GET",
        "/authorize?response_type=code&client_id=ghost",
    ));
    assert_eq!(resp.status, 400);
    let resp = h.send(&HttpRequest::new(
        "GET",
        "/authorize?client_id=spa&client_id=web",
    ));
    assert_eq!(resp.status, 400);
}

/// Rule 44 (RFC 7636 §4.3, §4.4.1): without `code_challenge_method` the method is
/// `plain`, which this server does not support: `invalid_request`, never a silent S256
/// (a `plain` client would only fail later, at the token endpoint).
#[test]
fn rfc7636_4_3_absent_code_challenge_method_is_invalid_request() {
    let h = harness();
    let resp = h.send(&HttpRequest::new(
        "GET",
        &format!(
            "/authorize?response_type=code&client_id=spa&redirect_uri={}&state=s1&code_challenge={CHALLENGE}",
            enc(SPA_CB)
        ),
    ));
    assert_eq!(resp.status, 302);
    let loc = resp.header("location").unwrap();
    assert!(loc.starts_with(SPA_CB), "{loc}");
    assert_eq!(
        query_param(loc, "error").as_deref(),
        Some("invalid_request")
    );
    assert!(
        query_param(loc, "error_description")
            .unwrap()
            .contains("code_challenge_method"),
        "{loc}"
    );
    assert_eq!(query_param(loc, "state").as_deref(), Some("s1"));
}

#[test]
fn rfc6749_4_1_2_1_other_errors_redirect_with_state_and_iss() {
    let h = harness();
    let get = |q: &str| {
        h.send(&HttpRequest::new(
            "GET",
            &format!(
                "/authorize?client_id=spa&redirect_uri={}&state=s1{q}",
                enc(SPA_CB)
            ),
        ))
    };
    let cases = [
        ("&response_type=token", "unsupported_response_type"),
        ("&response_type=code", "invalid_request"), // rule 52: PKCE required for public clients
        (
            &format!("&response_type=code&code_challenge={CHALLENGE}&code_challenge_method=plain"),
            "invalid_request",
        ),
        (
            &format!(
                "&response_type=code&code_challenge={CHALLENGE}&code_challenge_method=S256&scope=admin"
            ),
            "invalid_scope",
        ),
        (
            &format!(
                "&response_type=code&code_challenge={CHALLENGE}&code_challenge_method=S256&audience=https%3A%2F%2Fnope"
            ),
            "access_denied",
        ),
        (
            &format!(
                "&response_type=code&code_challenge={CHALLENGE}&code_challenge_method=S256&prompt=none"
            ),
            "login_required",
        ),
    ];
    for (q, error) in cases {
        let resp = get(q);
        assert_eq!(resp.status, 302, "{q}");
        let loc = resp.header("location").unwrap();
        assert!(loc.starts_with(SPA_CB), "{loc}");
        assert_eq!(query_param(loc, "error").as_deref(), Some(error), "{q}");
        assert_eq!(query_param(loc, "state").as_deref(), Some("s1"));
        assert_eq!(query_param(loc, "iss").as_deref(), Some(ISSUER));
    }
}

#[test]
fn login_form_is_accessible_and_wrong_password_leaks_nothing() {
    let h = harness();
    let resp = h.send(&HttpRequest::new("GET", &format!("/authorize?response_type=code&client_id=spa&redirect_uri={}&code_challenge={CHALLENGE}&code_challenge_method=S256", enc(SPA_CB))));
    assert_eq!(resp.status, 200);
    let html = String::from_utf8(resp.body.clone()).unwrap();
    assert!(html.contains("<html lang=\"en\">"));
    assert!(html.contains("<label for=\"username\">"));
    assert!(html.contains("autocomplete=\"current-password\""));
    assert_eq!(resp.header("x-frame-options"), Some("DENY"));
    let tx = hidden_tx(&resp);
    let wrong = h.login(&tx, "alice@example.com", "nope");
    let unknown = h.login(&tx, "bob@example.com", "nope");
    assert_eq!(wrong.status, 401);
    assert_eq!(unknown.status, 401);
    let strip = |r: &HttpResponse| {
        String::from_utf8(r.body.clone())
            .unwrap()
            .replace("bob@example.com", "alice@example.com")
    };
    assert_eq!(
        strip(&wrong),
        strip(&unknown),
        "same page for unknown user and wrong password"
    );
    assert!(strip(&wrong).contains("role=\"alert\""));
    // A tampered transaction is refused.
    let tampered = format!("{}x", tx);
    assert_eq!(
        h.login(&tampered, "alice@example.com", PASSWORD).status,
        400
    );
    // An expired one too.
    h.clock.advance(601);
    assert_eq!(h.login(&tx, "alice@example.com", PASSWORD).status, 400);
}

#[test]
fn login_redirects_303_with_code_state_and_iss() {
    let h = harness();
    let resp = h.send(&HttpRequest::new(
        "GET",
        &format!(
            "/authorize?response_type=code&client_id=spa&code_challenge={CHALLENGE}&code_challenge_method=S256&state=abc"
        ),
    ));
    assert_eq!(
        resp.status, 200,
        "single registered redirect URI may be omitted"
    );
    let resp = h.login(&hidden_tx(&resp), "Alice@Example.com", PASSWORD);
    assert_eq!(resp.status, 303);
    let loc = resp.header("location").unwrap();
    assert_eq!(query_param(loc, "state").as_deref(), Some("abc"));
    assert_eq!(query_param(loc, "iss").as_deref(), Some(ISSUER));
    // redirect_uri was omitted at /authorize: the token request may omit it too.
    let code = query_param(loc, "code").unwrap();
    let resp = h.token(&format!(
        "grant_type=authorization_code&client_id=spa&code={code}&code_verifier={VERIFIER}"
    ));
    assert_eq!(resp.status, 200, "{:?}", resp.json_body());
}

// ---------------------------------------------------------------- discovery, CORS

#[test]
fn rfc8414_metadata_lists_only_what_is_implemented() {
    let h = harness();
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let m = h.send(&HttpRequest::new("GET", path)).json_body();
        assert_eq!(m["issuer"], ISSUER);
        assert_eq!(m["token_endpoint"], format!("{ISSUER}oauth/token"));
        assert_eq!(
            m["grant_types_supported"],
            json!([
                "authorization_code",
                "client_credentials",
                "refresh_token",
                "password",
                "http://auth0.com/oauth/grant-type/password-realm",
                "urn:ietf:params:oauth:grant-type:device_code",
                "urn:ietf:params:oauth:grant-type:token-exchange"
            ])
        );
        assert_eq!(
            m["device_authorization_endpoint"],
            format!("{ISSUER}oauth/device/code")
        );
        assert_eq!(m["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(m["response_types_supported"], json!(["code"]));
        assert_eq!(m["dpop_signing_alg_values_supported"], json!(["ES256"]));
        assert_eq!(
            m["pushed_authorization_request_endpoint"],
            format!("{ISSUER}oauth/par")
        );
        assert!(
            !m["token_endpoint_auth_signing_alg_values_supported"]
                .as_array()
                .unwrap()
                .contains(&json!("none"))
        );
    }
    let jwks = h
        .send(&HttpRequest::new("GET", "/.well-known/jwks.json"))
        .json_body();
    assert_eq!(jwks["keys"][0]["kid"], "as-key-1");
    assert!(jwks["keys"][0].get("d").is_none());
}

#[test]
fn cors_only_for_registered_origins_including_preflight() {
    let h = harness();
    let pre = |origin: &str| {
        h.send(&HttpRequest::new("OPTIONS", "/oauth/token").with_header("origin", origin))
    };
    let ok = pre("https://spa.example");
    assert_eq!(ok.status, 204);
    assert_eq!(
        ok.header("access-control-allow-origin"),
        Some("https://spa.example")
    );
    assert!(
        pre("https://evil.example")
            .header("access-control-allow-origin")
            .is_none()
    );
    let code = h.spa_code("openid");
    let resp = h.token_with(
        &format!("grant_type=authorization_code&client_id=spa&code={code}&redirect_uri={}&code_verifier={VERIFIER}", enc(SPA_CB)),
        &[("origin", "https://spa.example")],
    );
    assert_eq!(resp.status, 200);
    assert_eq!(
        resp.header("access-control-allow-origin"),
        Some("https://spa.example")
    );
    let resp = h.token_with(
        "grant_type=refresh_token&client_id=spa&refresh_token=x",
        &[("origin", "https://evil.example")],
    );
    assert!(resp.header("access-control-allow-origin").is_none());
}

#[test]
fn unknown_path_is_404_json() {
    let h = harness();
    assert_eq!(h.send(&HttpRequest::new("GET", "/nope")).status, 404);
}

// ---------------------------------------------------------------- PAR (RFC 9126)

fn par(h: &Harness, body: &str, headers: &[(&str, &str)]) -> HttpResponse {
    let mut req = HttpRequest::new("POST", "/oauth/par")
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_body(body.as_bytes().to_vec());
    for (n, v) in headers {
        req = req.with_header(n, v);
    }
    h.send(&req)
}

#[test]
fn rfc9126_pushed_request_then_authorize_with_request_uri() {
    let h = harness();
    let body = format!(
        "client_id=spa&response_type=code&redirect_uri={}&scope=openid&state=p1&code_challenge={CHALLENGE}&code_challenge_method=S256",
        enc(SPA_CB)
    );
    let resp = par(&h, &body, &[]);
    assert_eq!(resp.status, 201, "{:?}", resp.json_body());
    assert_no_store(&resp);
    let request_uri = json_str(&resp, "request_uri");
    assert!(request_uri.starts_with("urn:ietf:params:oauth:request_uri:"));
    assert_eq!(resp.json_body()["expires_in"], 60);
    // Extra query parameters are ignored in favour of the pushed ones.
    let page = h.send(&HttpRequest::new(
        "GET",
        &format!(
            "/authorize?client_id=spa&request_uri={}&scope=admin",
            enc(&request_uri)
        ),
    ));
    assert_eq!(page.status, 200);
    let login = h.login(&hidden_tx(&page), "alice@example.com", PASSWORD);
    let loc = login.header("location").unwrap();
    assert_eq!(query_param(loc, "state").as_deref(), Some("p1"));
    let code = query_param(loc, "code").unwrap();
    assert_eq!(h.exchange_spa(&code).status, 200);
    // Another client cannot use it, and it expires.
    let other = h.send(&HttpRequest::new(
        "GET",
        &format!("/authorize?client_id=web&request_uri={}", enc(&request_uri)),
    ));
    assert_eq!(other.status, 400);
    h.clock.advance(61);
    let late = h.send(&HttpRequest::new(
        "GET",
        &format!("/authorize?client_id=spa&request_uri={}", enc(&request_uri)),
    ));
    assert_eq!(late.status, 400);
}

#[test]
fn rfc9126_par_errors_are_json() {
    let h = harness();
    let resp = par(
        &h,
        &format!(
            "client_id=spa&response_type=code&redirect_uri={}",
            enc("https://evil.example/")
        ),
        &[],
    );
    assert_eq!(error_of(&resp), "invalid_request");
    let resp = par(
        &h,
        &format!(
            "client_id=spa&response_type=code&redirect_uri={}&code_challenge={CHALLENGE}&code_challenge_method=S256&scope=admin",
            enc(SPA_CB)
        ),
        &[],
    );
    assert_eq!(error_of(&resp), "invalid_scope");
    let resp = par(&h, "client_id=spa&request_uri=urn:x", &[]);
    assert_eq!(error_of(&resp), "invalid_request");
    let resp = par(
        &h,
        &format!("response_type=code&redirect_uri={}", enc(WEB_CB)),
        &[("authorization", &basic("web", "wrong"))],
    );
    assert_eq!(
        (resp.status, error_of(&resp).as_str()),
        (401, "invalid_client")
    );
    let resp = par(
        &h,
        &format!("response_type=code&redirect_uri={}", enc(WEB_CB)),
        &[("authorization", &basic("web", WEB_SECRET))],
    );
    assert_eq!(resp.status, 201);
}
