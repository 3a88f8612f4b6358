//! Who may get what: organizations, role-based access per API, and the password grant,
//! natively against the memory store. Test names cite the rule or document they check.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::*;
use edge_oauth_worker::http::{HttpRequest, HttpResponse};
use edge_oauth_worker::platform::NativePlatform;
use serde_json::{Value, json};

const SECOND_SECRET: &str = "second-secret-abcdefghijklmnopqrstuvwxyz0123";

fn harness_with(org_names: bool, rate_limit: Option<u32>) -> Harness {
    let v = vectors();
    let mut config = config(&v, None);
    if org_names {
        config = config.with_organization_names(Some("true")).unwrap();
    }
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
        "client:m2m-two",
        &client(
            "m2m-two",
            "m2m",
            "client_secret_basic",
            &["client_credentials"],
            Some(SECOND_SECRET),
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
            &["authorization_code", "refresh_token", "password"],
            Some(WEB_SECRET),
            &[WEB_CB],
        ),
    );
    put(
        &store,
        &format!("api:{API}"),
        &json!({"identifier": API, "scopes": ["read:items", "write:items", "admin"],
            "token_lifetime": 3600, "allow_offline_access": true}),
    );
    put(
        &store,
        "api:https://rbac.example.com",
        &json!({"identifier": "https://rbac.example.com", "scopes": ["read:docs", "write:docs", "delete:docs"],
            "token_lifetime": 600, "allow_offline_access": true, "enforce_rbac": true, "permissions_claim": true}),
    );
    put(
        &store,
        &format!("grant:m2m:{API}"),
        &json!({"client_id": "m2m", "audience": API, "scopes": ["read:items"], "organization_usage": "allow"}),
    );
    put(
        &store,
        &format!("grant:m2m-two:{API}"),
        &json!({"client_id": "m2m-two", "audience": API, "scopes": ["read:items"]}),
    );
    put(
        &store,
        "org:org_acme0000000000001",
        &json!({"id": "org_acme0000000000001", "name": "acme", "display_name": "Acme Inc.",
            "members": ["user|alice"],
            "client_grants": [{"client_id": "m2m", "audience": API}, {"client_id": "m2m-two", "audience": API}]}),
    );
    put(
        &store,
        "org_name:acme",
        &json!({"id": "org_acme0000000000001"}),
    );
    put(
        &store,
        "org:org_other000000000002",
        &json!({"id": "org_other000000000002", "name": "other", "members": ["user|bob"], "client_grants": []}),
    );
    put(
        &store,
        "org_name:other",
        &json!({"id": "org_other000000000002"}),
    );
    put(
        &store,
        "role:rol_reader",
        &json!({"id": "rol_reader", "name": "reader", "permissions": [
            {"audience": "https://rbac.example.com", "scope": "read:docs"},
            {"audience": API, "scope": "admin"}]}),
    );
    put(
        &store,
        "role:rol_writer",
        &json!({"id": "rol_writer", "name": "writer", "permissions": [
            {"audience": "https://rbac.example.com", "scope": "write:docs"},
            {"audience": "https://rbac.example.com", "scope": "read:docs"}]}),
    );
    let mut alice = user_record("user|alice", "alice@example.com", "Alice", 1000);
    alice["roles"] = json!(["rol_reader"]);
    put(&store, "user:alice@example.com", &alice);
    let bob = user_record("user|bob", "bob@example.com", "Bob", 1000);
    put(&store, "user:bob@example.com", &bob);
    let mut platform = NativePlatform::new(clock.clone());
    if let Some(limit) = rate_limit {
        platform = platform.with_rate_limit(limit, 60);
    }
    Harness::new(config, store, platform, clock)
}

fn harness() -> Harness {
    harness_with(false, None)
}

fn m2m(h: &Harness, id: &str, secret: &str, extra: &str) -> HttpResponse {
    h.post(
        "/oauth/token",
        &format!("grant_type=client_credentials&audience={}{extra}", enc(API)),
        &[("authorization", &basic(id, secret))],
    )
}

fn access_claims(resp: &HttpResponse) -> serde_json::Map<String, Value> {
    assert_eq!(resp.status, 200, "{:?}", resp.json_body());
    claims(&json_str(resp, "access_token"))
}

fn get_json(h: &Harness, key: &str) -> Value {
    use edge_oauth_worker::store::Store;
    let text = edge_oauth_worker::testing::block_on(h.app.store.get(key))
        .unwrap()
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

// ---------------------------------------------------------------- organizations: M2M

#[test]
fn auth0_m2m_organization_usage_deny_refuses_any_organization() {
    let h = harness();
    // m2m-two's grant has no organization_usage: deny, Auth0's default.
    for org in ["acme", "org_acme0000000000001"] {
        let resp = m2m(
            &h,
            "m2m-two",
            SECOND_SECRET,
            &format!("&organization={org}"),
        );
        assert_eq!(
            (resp.status, error_of(&resp).as_str()),
            (403, "access_denied"),
            "{org}"
        );
        assert_eq!(resp.header("cache-control"), Some("no-store"));
    }
    // Without the parameter the grant works as before, and the token has no org_id.
    let c = access_claims(&m2m(&h, "m2m-two", SECOND_SECRET, ""));
    assert!(c.get("org_id").is_none());
}

#[test]
fn auth0_m2m_organization_must_have_enabled_the_client_grant() {
    let h = harness();
    // By id and by name (case-insensitive), the same organization.
    for org in ["org_acme0000000000001", "acme", "ACME"] {
        let c = access_claims(&m2m(&h, "m2m", M2M_SECRET, &format!("&organization={org}")));
        assert_eq!(c["org_id"], "org_acme0000000000001", "{org}");
        assert!(c.get("org_name").is_none(), "no org_name unless configured");
        assert_eq!(c["sub"], "m2m@clients");
    }
    // Another organization that did not enable the grant, and one that does not exist:
    // the same answer, so the response does not tell which organizations exist.
    let other = m2m(&h, "m2m", M2M_SECRET, "&organization=other");
    let unknown = m2m(&h, "m2m", M2M_SECRET, "&organization=org_123");
    for resp in [&other, &unknown] {
        assert_eq!(
            (resp.status, error_of(resp).as_str()),
            (403, "access_denied")
        );
    }
    assert_eq!(other.body, unknown.body);
    // Malformed: invalid_request.
    let resp = m2m(&h, "m2m", M2M_SECRET, "&organization=a%20b");
    assert_eq!(
        (resp.status, error_of(&resp).as_str()),
        (400, "invalid_request")
    );
}

#[test]
fn auth0_m2m_organization_usage_require_needs_the_parameter() {
    let h = harness();
    put(
        &h.app.store,
        &format!("grant:m2m:{API}"),
        &json!({"client_id": "m2m", "audience": API, "scopes": ["read:items"], "organization_usage": "require"}),
    );
    let resp = m2m(&h, "m2m", M2M_SECRET, "");
    assert_eq!(
        (resp.status, error_of(&resp).as_str()),
        (400, "invalid_request")
    );
    let c = access_claims(&m2m(&h, "m2m", M2M_SECRET, "&organization=acme"));
    assert_eq!(c["org_id"], "org_acme0000000000001");
}

#[test]
fn auth0_m2m_disabling_the_grant_for_the_organization_stops_it() {
    let h = harness();
    access_claims(&m2m(&h, "m2m", M2M_SECRET, "&organization=acme"));
    let mut org = get_json(&h, "org:org_acme0000000000001");
    org["client_grants"] = json!([{"client_id": "m2m-two", "audience": API}]);
    put(&h.app.store, "org:org_acme0000000000001", &org);
    let resp = m2m(&h, "m2m", M2M_SECRET, "&organization=acme");
    assert_eq!(resp.status, 403);
}

#[test]
fn auth0_org_name_claim_only_when_the_tenant_setting_asks() {
    let h = harness_with(true, None);
    let c = access_claims(&m2m(
        &h,
        "m2m",
        M2M_SECRET,
        "&organization=org_acme0000000000001",
    ));
    assert_eq!(c["org_id"], "org_acme0000000000001");
    assert_eq!(c["org_name"], "acme");
}

#[test]
fn org_name_setting_must_be_true_or_false() {
    let v = vectors();
    assert!(
        config(&v, None)
            .with_organization_names(Some("yes"))
            .is_err()
    );
    assert!(
        !config(&v, None)
            .with_organization_names(Some(""))
            .unwrap()
            .organization_name_in_tokens
    );
}

// ---------------------------------------------------------------- organizations: login

fn authorize(h: &Harness, extra: &str) -> HttpResponse {
    h.send(&HttpRequest::new(
        "GET",
        &format!(
            "/authorize?response_type=code&client_id=spa&redirect_uri={}&state=xyz&code_challenge={CHALLENGE}&code_challenge_method=S256&nonce=n1{extra}",
            enc(SPA_CB)
        ),
    ))
}

/// /authorize + login as `user`; returns the login response.
fn login_as(h: &Harness, extra: &str, user: &str, password: &str) -> HttpResponse {
    let page = authorize(h, extra);
    assert_eq!(page.status, 200, "{}", String::from_utf8_lossy(&page.body));
    h.send(&login_request(&hidden_tx(&page), user, password))
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

fn refresh(h: &Harness, token: &str) -> HttpResponse {
    h.post(
        "/oauth/token",
        &format!(
            "grant_type=refresh_token&client_id=spa&refresh_token={}",
            enc(token)
        ),
        &[],
    )
}

#[test]
fn auth0_authorize_organization_member_gets_org_id_in_code_tokens_and_refresh() {
    let h = harness_with(true, None);
    let scope = enc("openid offline_access read:items");
    let resp = login_as(
        &h,
        &format!("&organization=acme&audience={}&scope={scope}", enc(API)),
        "alice@example.com",
        PASSWORD,
    );
    assert_eq!(resp.status, 303);
    let code = query_param(resp.header("location").unwrap(), "code").unwrap();
    let tokens = exchange(&h, &code);
    let c = access_claims(&tokens);
    assert_eq!(c["org_id"], "org_acme0000000000001");
    assert_eq!(c["org_name"], "acme");
    let id = claims(&json_str(&tokens, "id_token"));
    assert_eq!(id["org_id"], "org_acme0000000000001");
    assert_eq!(id["org_name"], "acme");
    // A refresh keeps the organization.
    let next = refresh(&h, &json_str(&tokens, "refresh_token"));
    let c = access_claims(&next);
    assert_eq!(c["org_id"], "org_acme0000000000001");
    assert_eq!(
        claims(&json_str(&next, "id_token"))["org_id"],
        "org_acme0000000000001"
    );
    // Removed from the organization: the family stops.
    let mut org = get_json(&h, "org:org_acme0000000000001");
    org["members"] = json!([]);
    put(&h.app.store, "org:org_acme0000000000001", &org);
    let resp = refresh(&h, &json_str(&next, "refresh_token"));
    assert_eq!(
        (resp.status, error_of(&resp).as_str()),
        (400, "invalid_grant")
    );
}

#[test]
fn auth0_authorize_organization_non_member_is_access_denied() {
    let h = harness();
    let resp = login_as(&h, "&organization=other", "alice@example.com", PASSWORD);
    assert_eq!(resp.status, 303);
    let location = resp.header("location").unwrap();
    assert!(location.starts_with(SPA_CB));
    assert_eq!(
        query_param(location, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(query_param(location, "state").as_deref(), Some("xyz"));
    assert!(query_param(location, "code").is_none());
    // Without an organization the same user logs in, and the token has no org_id.
    let resp = login_as(&h, "", "alice@example.com", PASSWORD);
    let code = query_param(resp.header("location").unwrap(), "code").unwrap();
    assert!(access_claims(&exchange(&h, &code)).get("org_id").is_none());
}

#[test]
fn auth0_authorize_unknown_organization_is_redirected_invalid_request() {
    let h = harness();
    let resp = authorize(&h, "&organization=org_nope");
    assert_eq!(resp.status, 302);
    let location = resp.header("location").unwrap();
    assert_eq!(
        query_param(location, "error").as_deref(),
        Some("invalid_request")
    );
}

#[test]
fn auth0_code_of_a_member_removed_before_the_exchange_is_invalid_grant() {
    let h = harness();
    let resp = login_as(&h, "&organization=acme", "alice@example.com", PASSWORD);
    let code = query_param(resp.header("location").unwrap(), "code").unwrap();
    put(
        &h.app.store,
        "org:org_acme0000000000001",
        &json!({"id": "org_acme0000000000001", "name": "acme", "members": []}),
    );
    let resp = exchange(&h, &code);
    assert_eq!(
        (resp.status, error_of(&resp).as_str()),
        (400, "invalid_grant")
    );
    assert!(
        resp.json_body()["error_description"]
            .as_str()
            .unwrap()
            .contains("no longer a member")
    );
    // Nothing was issued, so the code was not used up: once she is a member again (within
    // its lifetime), it works, once.
    put(
        &h.app.store,
        "org:org_acme0000000000001",
        &json!({"id": "org_acme0000000000001", "name": "acme", "members": ["user|alice"]}),
    );
    let resp = exchange(&h, &code);
    assert_eq!(resp.status, 200, "{:?}", resp.json_body());
    assert_eq!(
        claims(&json_str(&resp, "access_token"))["org_id"],
        "org_acme0000000000001"
    );
    let again = exchange(&h, &code);
    assert_eq!(
        (again.status, error_of(&again).as_str()),
        (400, "invalid_grant")
    );
}

// ---------------------------------------------------------------- RBAC per API

const RBAC_API: &str = "https://rbac.example.com";

/// A code flow for `user` at `audience` with `scope`; returns the token response.
fn user_tokens(h: &Harness, user: &str, audience: &str, scope: &str) -> HttpResponse {
    let resp = login_as(
        h,
        &format!("&audience={}&scope={}", enc(audience), enc(scope)),
        user,
        PASSWORD,
    );
    assert_eq!(resp.status, 303);
    let code = query_param(resp.header("location").unwrap(), "code").unwrap();
    exchange(h, &code)
}

#[test]
fn auth0_rbac_user_gets_only_the_scopes_their_roles_grant_and_scope_says_so() {
    let h = harness();
    let resp = user_tokens(
        &h,
        "alice@example.com",
        RBAC_API,
        "openid read:docs write:docs",
    );
    // RFC 6749 §3.3: the response's scope is what was granted.
    assert_eq!(json_str(&resp, "scope"), "openid read:docs");
    let c = access_claims(&resp);
    assert_eq!(c["scope"], "openid read:docs");
    // permissions_claim: every permission of the user's roles for this API, not the
    // other API's (the reader role also grants `admin` at API).
    assert_eq!(c["permissions"], json!(["read:docs"]));
}

#[test]
fn auth0_rbac_user_without_roles_gets_no_api_scope() {
    let h = harness();
    let resp = user_tokens(&h, "bob@example.com", RBAC_API, "openid read:docs");
    assert_eq!(json_str(&resp, "scope"), "openid");
    assert_eq!(access_claims(&resp)["permissions"], json!([]));
}

#[test]
fn auth0_rbac_off_grants_every_requested_scope_without_permissions() {
    let h = harness();
    let resp = user_tokens(&h, "bob@example.com", API, "read:items write:items");
    assert_eq!(json_str(&resp, "scope"), "read:items write:items");
    assert!(access_claims(&resp).get("permissions").is_none());
}

#[test]
fn auth0_rbac_permissions_list_all_role_permissions_and_refresh_follows_role_changes() {
    let h = harness();
    let mut alice = get_json(&h, "user:alice@example.com");
    alice["roles"] = json!(["rol_reader", "rol_writer", "rol_deleted"]);
    put(&h.app.store, "user:alice@example.com", &alice);
    let resp = user_tokens(
        &h,
        "alice@example.com",
        RBAC_API,
        "offline_access read:docs write:docs delete:docs",
    );
    assert_eq!(
        json_str(&resp, "scope"),
        "offline_access read:docs write:docs"
    );
    let c = access_claims(&resp);
    assert_eq!(c["permissions"], json!(["read:docs", "write:docs"]));
    // The writer role is taken away: the next refresh narrows the token.
    alice["roles"] = json!(["rol_reader"]);
    put(&h.app.store, "user:alice@example.com", &alice);
    let next = refresh(&h, &json_str(&resp, "refresh_token"));
    assert_eq!(json_str(&next, "scope"), "offline_access read:docs");
    assert_eq!(access_claims(&next)["permissions"], json!(["read:docs"]));
}

#[test]
fn auth0_rbac_permissions_claim_lists_unrequested_permissions_too() {
    let h = harness();
    let mut alice = get_json(&h, "user:alice@example.com");
    alice["roles"] = json!(["rol_writer"]);
    put(&h.app.store, "user:alice@example.com", &alice);
    let resp = user_tokens(&h, "alice@example.com", RBAC_API, "read:docs");
    assert_eq!(json_str(&resp, "scope"), "read:docs");
    assert_eq!(
        access_claims(&resp)["permissions"],
        json!(["write:docs", "read:docs"])
    );
}

#[test]
fn auth0_rbac_client_credentials_permissions_are_the_granted_scopes() {
    let h = harness();
    put(
        &h.app.store,
        &format!("grant:m2m:{RBAC_API}"),
        &json!({"client_id": "m2m", "audience": RBAC_API, "scopes": ["read:docs", "write:docs"]}),
    );
    let resp = h.post(
        "/oauth/token",
        &format!(
            "grant_type=client_credentials&audience={}&scope=read:docs",
            enc(RBAC_API)
        ),
        &[("authorization", &basic("m2m", M2M_SECRET))],
    );
    assert_eq!(access_claims(&resp)["permissions"], json!(["read:docs"]));
    // An API without RBAC: no permissions claim.
    assert!(
        access_claims(&m2m(&h, "m2m", M2M_SECRET, ""))
            .get("permissions")
            .is_none()
    );
}

// ---------------------------------------------------------------- the password grant

fn password_grant(h: &Harness, body: &str, headers: &[(&str, &str)]) -> HttpResponse {
    h.post("/oauth/token", body, headers)
}

fn web_password(h: &Harness, user: &str, password: &str, extra: &str) -> HttpResponse {
    password_grant(
        h,
        &format!(
            "grant_type=password&username={}&password={}{extra}",
            enc(user),
            enc(password)
        ),
        &[
            ("authorization", &basic("web", WEB_SECRET)),
            ("cf-connecting-ip", "203.0.113.7"),
        ],
    )
}

#[test]
fn rfc6749_4_3_password_grant_issues_access_id_and_refresh_tokens() {
    let h = harness();
    let resp = web_password(
        &h,
        "Alice@Example.com",
        PASSWORD,
        &format!(
            "&audience={}&scope={}",
            enc(API),
            enc("openid email offline_access read:items")
        ),
    );
    assert_eq!(resp.status, 200, "{:?}", resp.json_body());
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    assert_eq!(
        json_str(&resp, "scope"),
        "openid email offline_access read:items"
    );
    let c = access_claims(&resp);
    assert_eq!(c["sub"], "user|alice");
    assert_eq!(c["client_id"], "web");
    assert_eq!(c["aud"], json!([API, format!("{ISSUER}userinfo")]));
    let id = claims(&json_str(&resp, "id_token"));
    assert_eq!(id["aud"], "web");
    assert_eq!(id["email"], "alice@example.com");
    assert!(id.get("nonce").is_none());
    // The refresh token works like one from a code.
    let next = password_grant(
        &h,
        &format!(
            "grant_type=refresh_token&refresh_token={}",
            enc(&json_str(&resp, "refresh_token"))
        ),
        &[("authorization", &basic("web", WEB_SECRET))],
    );
    assert_eq!(next.status, 200, "{:?}", next.json_body());
    // /userinfo knows the user (the subject index is written as at login).
    let info = h.send(&HttpRequest::new("GET", "/userinfo").with_header(
        "authorization",
        &format!("Bearer {}", json_str(&resp, "access_token")),
    ));
    assert_eq!(info.status, 200);
    assert_eq!(info.json_body()["email"], "alice@example.com");
}

#[test]
fn rfc6749_4_3_password_grant_without_openid_or_offline_access() {
    let h = harness();
    let resp = web_password(
        &h,
        "alice@example.com",
        PASSWORD,
        &format!("&audience={}&scope=read:items", enc(API)),
    );
    assert_eq!(resp.status, 200);
    let body = resp.json_body();
    assert!(body.get("id_token").is_none());
    assert!(body.get("refresh_token").is_none());
    assert_eq!(access_claims(&resp)["aud"], API);
    // offline_access at an API that does not allow it: no refresh token, and the scope
    // says so (RFC 6749 §3.3).
    put(
        &h.app.store,
        &format!("api:{API}"),
        &json!({"identifier": API, "scopes": ["read:items"], "allow_offline_access": false}),
    );
    let resp = web_password(
        &h,
        "alice@example.com",
        PASSWORD,
        &format!(
            "&audience={}&scope={}",
            enc(API),
            enc("offline_access read:items")
        ),
    );
    assert_eq!(json_str(&resp, "scope"), "read:items");
    assert!(resp.json_body().get("refresh_token").is_none());
}

#[test]
fn rfc6749_4_3_wrong_password_and_unknown_email_get_the_same_answer() {
    let h = harness();
    let wrong = web_password(&h, "alice@example.com", "not the password", "");
    let unknown = web_password(&h, "nobody@example.com", PASSWORD, "");
    for resp in [&wrong, &unknown] {
        assert_eq!(
            (resp.status, error_of(resp).as_str()),
            (400, "invalid_grant")
        );
        assert_eq!(resp.header("cache-control"), Some("no-store"));
    }
    assert_eq!(wrong.body, unknown.body);
    // Missing credentials are a malformed request.
    let resp = password_grant(
        &h,
        "grant_type=password&username=alice%40example.com",
        &[("authorization", &basic("web", WEB_SECRET))],
    );
    assert_eq!(error_of(&resp), "invalid_request");
}

#[test]
fn rfc6749_4_3_unknown_email_costs_one_pbkdf2_with_the_configured_count() {
    // The login form's check, shared: with PASSWORD_ITERATIONS set, a user hashed with
    // another count is refused like an unknown email.
    let mut h = harness();
    h.app.config.password_iterations = Some(2000);
    let resp = web_password(&h, "alice@example.com", PASSWORD, "");
    assert_eq!(error_of(&resp), "invalid_grant");
}

#[test]
fn auth0_password_grant_rate_limit_is_too_many_attempts_for_the_right_password_too() {
    let h = harness_with(false, Some(3));
    for _ in 0..3 {
        assert_eq!(
            error_of(&web_password(&h, "alice@example.com", "guess", "")),
            "invalid_grant"
        );
    }
    let resp = web_password(&h, "alice@example.com", PASSWORD, "");
    assert_eq!(
        (resp.status, error_of(&resp).as_str()),
        (429, "too_many_attempts")
    );
    assert_eq!(resp.header("retry-after"), Some("60"));
    // The login form counts under the same keys: it is locked too.
    let page = authorize(&h, "");
    let resp = h.send(
        &login_request(&hidden_tx(&page), "alice@example.com", PASSWORD)
            .with_header("cf-connecting-ip", "198.51.100.1"),
    );
    assert_eq!(resp.status, 429);
    // A minute later it works again.
    h.clock.advance(60);
    assert_eq!(
        web_password(&h, "alice@example.com", PASSWORD, "").status,
        200
    );
}

/// The device cookie of the login form (which a browser that signed in holds) lifts
/// nothing at the password grant: any client can send a Cookie header, so the grant
/// keeps the per-account limit (rules.md item 12).
#[test]
fn rule_12_a_device_cookie_lifts_no_limit_of_the_password_grant() {
    let h = harness_with(false, Some(3));
    let page = authorize(&h, "");
    let signed_in = h.send(
        &login_request(&hidden_tx(&page), "alice@example.com", PASSWORD)
            .with_header("cf-connecting-ip", "198.51.100.1"),
    );
    assert_eq!(signed_in.status, 303);
    let cookie = signed_in.header("set-cookie").unwrap();
    let cookie = cookie.split(';').next().unwrap().to_owned();
    let statuses: Vec<u16> = (0..4)
        .map(|i| {
            password_grant(
                &h,
                "grant_type=password&username=alice%40example.com&password=guess",
                &[
                    ("authorization", &basic("web", WEB_SECRET)),
                    ("cf-connecting-ip", &format!("192.0.2.{i}")),
                    ("cookie", &cookie),
                ],
            )
            .status
        })
        .collect();
    assert_eq!(statuses, [400, 400, 429, 429], "the sign-in counted one");
}

#[test]
fn rfc9700_2_4_password_grant_is_off_unless_the_client_enables_it() {
    let h = harness();
    // The M2M client and the SPA do not list the grant.
    let resp = password_grant(
        &h,
        &format!(
            "grant_type=password&username=alice%40example.com&password={}",
            enc(PASSWORD)
        ),
        &[("authorization", &basic("m2m", M2M_SECRET))],
    );
    assert_eq!(
        (resp.status, error_of(&resp).as_str()),
        (400, "unauthorized_client")
    );
    // A public client that lists it still needs allow_public_password_grant.
    let mut spa = client(
        "spa",
        "spa",
        "none",
        &["authorization_code", "refresh_token", "password"],
        None,
        &[SPA_CB],
    );
    put(&h.app.store, "client:spa", &spa);
    let body = format!(
        "grant_type=password&client_id=spa&username=alice%40example.com&password={}",
        enc(PASSWORD)
    );
    assert_eq!(
        error_of(&password_grant(&h, &body, &[])),
        "unauthorized_client"
    );
    spa["allow_public_password_grant"] = json!(true);
    put(&h.app.store, "client:spa", &spa);
    assert_eq!(password_grant(&h, &body, &[]).status, 200);
}

#[test]
fn auth0_password_realm_grant_takes_the_database_realm_only() {
    let h = harness();
    let body = |realm: &str| {
        format!(
            "grant_type={}&username=alice%40example.com&password={}{realm}",
            enc("http://auth0.com/oauth/grant-type/password-realm"),
            enc(PASSWORD)
        )
    };
    let auth = basic("web", WEB_SECRET);
    let headers = [("authorization", auth.as_str())];
    let ok = password_grant(
        &h,
        &body("&realm=Username-Password-Authentication"),
        &headers,
    );
    assert_eq!(ok.status, 200, "{:?}", ok.json_body());
    assert_eq!(
        error_of(&password_grant(&h, &body("&realm=google-oauth2"), &headers)),
        "invalid_request"
    );
    assert_eq!(
        error_of(&password_grant(&h, &body(""), &headers)),
        "invalid_request"
    );
}

#[test]
fn rfc6749_4_3_password_grant_scope_and_audience_are_checked_and_rbac_applies() {
    let h = harness();
    let resp = web_password(
        &h,
        "alice@example.com",
        PASSWORD,
        &format!("&audience={}&scope=read:items%20delete:all", enc(API)),
    );
    assert_eq!(error_of(&resp), "invalid_scope");
    let resp = web_password(
        &h,
        "alice@example.com",
        PASSWORD,
        "&audience=https%3A%2F%2Fnope",
    );
    assert_eq!(
        (resp.status, error_of(&resp).as_str()),
        (403, "access_denied")
    );
    let resp = web_password(
        &h,
        "alice@example.com",
        PASSWORD,
        &format!(
            "&audience={}&scope={}",
            enc(RBAC_API),
            enc("read:docs write:docs")
        ),
    );
    assert_eq!(json_str(&resp, "scope"), "read:docs");
    assert_eq!(access_claims(&resp)["permissions"], json!(["read:docs"]));
}
