//! The device authorization grant (RFC 8628) natively, against the memory store: the
//! device authorization response, every state of a device code (pending, approved,
//! denied, used, expired) and every polling answer, the `/activate` pages (code entry,
//! login, confirmation, CSRF, escaping, headers, the one message for bad codes, the rate
//! limit on guessing), DPoP binding and refresh tokens.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::*;
use edge_oauth::dpop::{DpopKey, ProofOptions};
use edge_oauth_worker::grants::device_code::{DEVICE_CODE_GRANT, normalize_user_code};
use edge_oauth_worker::http::{HttpRequest, HttpResponse};
use edge_oauth_worker::platform::NativePlatform;
use edge_oauth_worker::store::StoreError;
use serde_json::{Value, json};

const TV_SECRET: &str = "tv-secret-abcdefghijklmnopqrstuvwxyz0123456";

fn harness() -> Harness {
    harness_with_limit(None)
}

fn harness_with_limit(limit: Option<u32>) -> Harness {
    let v = vectors();
    let (clock, store) = Harness::clock_and_store();
    let mut tv = client(
        "tv",
        "spa",
        "none",
        &[DEVICE_CODE_GRANT, "refresh_token"],
        None,
        &[],
    );
    tv["name"] = json!("Living <Room> TV");
    put(&store, "client:tv", &tv);
    put(
        &store,
        "client:box",
        &client(
            "box",
            "regular_web",
            "client_secret_basic",
            &[DEVICE_CODE_GRANT],
            Some(TV_SECRET),
            &[],
        ),
    );
    let mut quick = client("quick", "spa", "none", &[DEVICE_CODE_GRANT], None, &[]);
    quick["device_code_lifetime"] = json!(30);
    put(&store, "client:quick", &quick);
    put(
        &store,
        "client:spa",
        &client(
            "spa",
            "spa",
            "none",
            &["authorization_code"],
            None,
            &[SPA_CB],
        ),
    );
    put(
        &store,
        &format!("api:{API}"),
        &json!({"identifier": API, "name": "API", "scopes": ["read:items", "write:items"], "token_lifetime": 3600, "allow_offline_access": true}),
    );
    put_alice(&store);
    let mut platform = NativePlatform::new(clock.clone());
    if let Some(limit) = limit {
        platform = platform.with_rate_limit(limit, 60);
    }
    Harness::new(config(&v, None), store, platform, clock)
}

fn html(resp: &HttpResponse) -> String {
    String::from_utf8(resp.body.clone()).unwrap()
}

/// The value of the hidden input `name` of a page.
fn hidden(resp: &HttpResponse, name: &str) -> String {
    let page = html(resp);
    let marker = format!("name=\"{name}\" value=\"");
    let start = page.find(&marker).unwrap() + marker.len();
    let end = start + page[start..].find('"').unwrap();
    page[start..end]
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}

fn own_post(path: &str, body: &str) -> HttpRequest {
    HttpRequest::new("POST", path)
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_header("origin", ISSUER.trim_end_matches('/'))
        .with_body(body.as_bytes().to_vec())
}

impl Harness {
    fn start(&self, client_id: &str, scope: &str) -> Value {
        let resp = self.post(
            "/oauth/device/code",
            &format!(
                "client_id={client_id}&scope={}&audience={}",
                enc(scope),
                enc(API)
            ),
            &[],
        );
        assert_eq!(resp.status, 200, "{}", html(&resp));
        resp.json_body()
    }

    fn poll(&self, client_id: &str, device_code: &str) -> HttpResponse {
        self.post(
            "/oauth/token",
            &format!(
                "grant_type={}&client_id={client_id}&device_code={}",
                enc(DEVICE_CODE_GRANT),
                enc(device_code)
            ),
            &[],
        )
    }

    fn activate(&self, user_code: &str) -> HttpResponse {
        self.send(&HttpRequest::new(
            "GET",
            &format!("/activate?user_code={}", enc(user_code)),
        ))
    }

    /// Code entry, login and the confirmation page for `user_code`.
    fn consent_page(&self, user_code: &str) -> HttpResponse {
        let login = self.activate(user_code);
        assert_eq!(login.status, 200, "{}", html(&login));
        let tx = hidden(&login, "device_tx");
        let resp = self.send(&own_post(
            "/activate/login",
            &format!(
                "device_tx={}&username={}&password={}",
                enc(&tx),
                enc("alice@example.com"),
                enc(PASSWORD)
            ),
        ));
        assert_eq!(resp.status, 200, "{}", html(&resp));
        resp
    }

    fn decide(&self, user_code: &str, decision: &str) -> HttpResponse {
        let page = self.consent_page(user_code);
        let consent = hidden(&page, "consent");
        self.send(&own_post(
            "/activate/confirm",
            &format!("consent={}&decision={decision}", enc(&consent)),
        ))
    }
}

fn str_of(v: &Value, name: &str) -> String {
    v[name].as_str().unwrap().to_owned()
}

#[test]
fn rfc8628_3_2_device_authorization_response() {
    let h = harness();
    let v = h.start("tv", "openid read:items");
    let device_code = str_of(&v, "device_code");
    assert!(
        device_code.len() >= 43,
        "256 random bits, base64url: {device_code}"
    );
    let user_code = str_of(&v, "user_code");
    assert_eq!(user_code.len(), 9);
    assert_eq!(&user_code[4..5], "-");
    assert!(
        user_code
            .bytes()
            .filter(|b| *b != b'-')
            .all(|b| b"BCDFGHJKLMNPQRSTVWXZ".contains(&b))
    );
    assert_eq!(v["verification_uri"], json!(format!("{ISSUER}activate")));
    assert_eq!(
        v["verification_uri_complete"],
        json!(format!("{ISSUER}activate?user_code={user_code}"))
    );
    assert_eq!(v["expires_in"], json!(900));
    assert_eq!(v["interval"], json!(5));
    // Only the hash of the device code is stored.
    let keys = edge_oauth_worker::testing::block_on(edge_oauth_worker::store::Store::list(
        &h.app.store,
        "device:",
    ))
    .unwrap();
    assert_eq!(keys.len(), 1);
    assert!(!keys[0].contains(&device_code));
    let stored = edge_oauth_worker::testing::block_on(edge_oauth_worker::store::Store::get(
        &h.app.store,
        &keys[0],
    ))
    .unwrap()
    .unwrap();
    assert!(!stored.contains(&device_code));
    assert!(!stored.contains(&user_code.replace('-', "")));
}

#[test]
fn rfc8628_3_1_client_authentication_grant_scope_and_audience() {
    let h = harness();
    // A client without the grant.
    let resp = h.post("/oauth/device/code", "client_id=spa", &[]);
    assert_eq!(resp.status, 400);
    assert_eq!(error_of(&resp), "unauthorized_client");
    // A confidential client must authenticate.
    let resp = h.post("/oauth/device/code", "client_id=box", &[]);
    assert_eq!(resp.status, 401);
    assert_eq!(error_of(&resp), "invalid_client");
    let resp = h.post(
        "/oauth/device/code",
        "scope=openid",
        &[("authorization", &basic("box", TV_SECRET))],
    );
    assert_eq!(resp.status, 200);
    // Unknown scope, unknown API.
    let resp = h.post("/oauth/device/code", "client_id=tv&scope=admin", &[]);
    assert_eq!(error_of(&resp), "invalid_scope");
    let resp = h.post(
        "/oauth/device/code",
        "client_id=tv&audience=https%3A%2F%2Fnope.example",
        &[],
    );
    assert_eq!(error_of(&resp), "access_denied");
    let resp = h.post(
        "/oauth/device/code",
        "client_id=tv&resource=https%3A%2F%2Fnope.example",
        &[],
    );
    assert_eq!(error_of(&resp), "invalid_target");
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    // None of the refused requests wrote a device record.
    assert_eq!(h.app.store.count("device:"), 1);
    // The discovery document names the endpoint and the grant.
    let meta = h.send(&HttpRequest::new(
        "GET",
        "/.well-known/openid-configuration",
    ));
    let meta = meta.json_body();
    assert_eq!(
        meta["device_authorization_endpoint"],
        json!(format!("{ISSUER}oauth/device/code"))
    );
    assert!(
        meta["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&json!(DEVICE_CODE_GRANT))
    );
}

#[test]
fn rfc8628_3_5_pending_slow_down_and_interval_growth() {
    let h = harness();
    let v = h.start("tv", "read:items");
    let dc = str_of(&v, "device_code");
    let resp = h.poll("tv", &dc);
    assert_eq!(resp.status, 400);
    assert_eq!(error_of(&resp), "authorization_pending");
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    // Again at once: too fast; the interval is now 10 s.
    h.clock.advance(1);
    let resp = h.poll("tv", &dc);
    assert_eq!(error_of(&resp), "slow_down");
    assert!(json_str(&resp, "error_description").contains("10 seconds"));
    // 6 s later is still under the new interval of 10 s.
    h.clock.advance(6);
    assert_eq!(error_of(&h.poll("tv", &dc)), "slow_down");
    // Interval 15 now: waiting it out gives pending again.
    h.clock.advance(15);
    assert_eq!(error_of(&h.poll("tv", &dc)), "authorization_pending");
    // Many polls of a public client are not counted as failures (no 429).
    for _ in 0..30 {
        h.clock.advance(16);
        assert_eq!(h.poll("tv", &dc).status, 400);
    }
}

#[test]
fn rfc8628_3_5_pending_polls_of_a_public_client_are_not_rate_limited_failures() {
    let h = harness_with_limit(Some(5));
    let v = h.start("tv", "read:items");
    let dc = str_of(&v, "device_code");
    for _ in 0..12 {
        h.clock.advance(5);
        let resp = h.poll("tv", &dc);
        assert_eq!(resp.status, 400);
        assert_eq!(error_of(&resp), "authorization_pending");
    }
}

#[test]
fn rfc8628_3_5_approved_gives_exactly_one_token_set_then_used() {
    let h = harness();
    let v = h.start("tv", "openid offline_access read:items");
    let dc = str_of(&v, "device_code");
    let uc = str_of(&v, "user_code");
    let page = h.consent_page(&uc.to_lowercase());
    let body = html(&page);
    assert!(body.contains("Living &lt;Room&gt; TV"), "escaped name");
    assert!(body.contains("<li>read:items</li>"));
    assert!(body.contains("value=\"allow\"") && body.contains("value=\"deny\""));
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    // Still pending until the user decides.
    assert_eq!(error_of(&h.poll("tv", &dc)), "authorization_pending");
    let consent = hidden(&page, "consent");
    let done = h.send(&own_post(
        "/activate/confirm",
        &format!("consent={}&decision=allow", enc(&consent)),
    ));
    assert_eq!(done.status, 200);
    assert!(html(&done).contains("Device connected"));
    h.clock.advance(5);
    let resp = h.poll("tv", &dc);
    assert_eq!(resp.status, 200, "{}", html(&resp));
    let at = claims(&json_str(&resp, "access_token"));
    assert_eq!(at["sub"], json!("user|alice"));
    assert_eq!(at["client_id"], json!("tv"));
    assert!(resp.json_body()["id_token"].is_string());
    let refresh = json_str(&resp, "refresh_token");
    // Exactly one success: the device code is used up.
    h.clock.advance(5);
    let again = h.poll("tv", &dc);
    assert_eq!(error_of(&again), "invalid_grant");
    // A second "Allow" with the same consent form changes nothing.
    let replay = h.send(&own_post(
        "/activate/confirm",
        &format!("consent={}&decision=allow", enc(&consent)),
    ));
    assert_eq!(replay.status, 400);
    // The refresh token works.
    let resp = h.post(
        "/oauth/token",
        &format!("grant_type=refresh_token&client_id=tv&refresh_token={refresh}"),
        &[],
    );
    assert_eq!(resp.status, 200, "{}", html(&resp));
    // The user code no longer opens anything.
    let resp = h.activate(&uc);
    assert_eq!(resp.status, 400);
}

/// A poll after approval whose signature fails (the signing backend is out) is a `500`
/// that leaves the approval usable: the tokens are signed before the device code is
/// marked used, so the device's next poll gets them instead of "already used".
#[test]
fn rfc8628_3_5_a_poll_whose_signature_fails_leaves_the_approval_usable() {
    let h = harness();
    let v = h.start("tv", "openid offline_access read:items");
    let dc = str_of(&v, "device_code");
    let uc = str_of(&v, "user_code");
    let consent = hidden(&h.consent_page(&uc), "consent");
    let done = h.send(&own_post(
        "/activate/confirm",
        &format!("consent={}&decision=allow", enc(&consent)),
    ));
    assert_eq!(done.status, 200);
    h.clock.advance(5);
    h.app.platform.fail_next_signatures(1);
    let failed = h.poll("tv", &dc);
    assert_eq!(failed.status, 500, "{}", html(&failed));
    assert_eq!(error_of(&failed), "server_error");
    h.clock.advance(5);
    let resp = h.poll("tv", &dc);
    assert_eq!(resp.status, 200, "{}", html(&resp));
    let refresh = json_str(&resp, "refresh_token");
    assert_eq!(
        claims(&json_str(&resp, "access_token"))["sid"],
        json!(refresh.split('.').next().unwrap()),
        "the access token names its session"
    );
    h.clock.advance(5);
    assert_eq!(error_of(&h.poll("tv", &dc)), "invalid_grant");
    let refreshed = h.post(
        "/oauth/token",
        &format!("grant_type=refresh_token&client_id=tv&refresh_token={refresh}"),
        &[],
    );
    assert_eq!(refreshed.status, 200, "{}", html(&refreshed));
}

/// A poll whose refresh-token family cannot be written (its Durable Object shard is out
/// of reach) is a `500` that leaves the approval for the device's next poll: it was
/// spent before the family was written, and is given back when nothing was handed out.
#[test]
fn rfc8628_3_5_a_poll_whose_family_cannot_be_written_leaves_the_approval_usable() {
    let h = harness();
    let v = h.start("tv", "openid offline_access read:items");
    let dc = str_of(&v, "device_code");
    h.decide(&str_of(&v, "user_code"), "allow");
    h.clock.advance(5);
    h.app.store.fail_writes_to(Some((
        "family:",
        StoreError::Backend("out of reach".into()),
    )));
    let failed = h.poll("tv", &dc);
    assert_eq!(failed.status, 500, "{}", html(&failed));
    assert_eq!(error_of(&failed), "server_error");
    assert_eq!(failed.header("cache-control"), Some("no-store"));
    h.app.store.fail_writes_to(None);
    h.clock.advance(5);
    let resp = h.poll("tv", &dc);
    assert_eq!(resp.status, 200, "{}", html(&resp));
    let refresh = json_str(&resp, "refresh_token");
    h.clock.advance(5);
    assert_eq!(error_of(&h.poll("tv", &dc)), "invalid_grant", "used once");
    let refreshed = h.post(
        "/oauth/token",
        &format!("grant_type=refresh_token&client_id=tv&refresh_token={refresh}"),
        &[],
    );
    assert_eq!(refreshed.status, 200, "{}", html(&refreshed));
}

#[test]
fn rfc8628_3_5_no_refresh_token_without_the_refresh_grant() {
    let h = harness();
    let resp = h.post(
        "/oauth/device/code",
        &format!("scope=offline_access%20read%3Aitems&audience={}", enc(API)),
        &[("authorization", &basic("box", TV_SECRET))],
    );
    let v = resp.json_body();
    h.decide(&str_of(&v, "user_code"), "allow");
    let resp = h.post(
        "/oauth/token",
        &format!(
            "grant_type={}&device_code={}",
            enc(DEVICE_CODE_GRANT),
            enc(&str_of(&v, "device_code"))
        ),
        &[("authorization", &basic("box", TV_SECRET))],
    );
    assert_eq!(resp.status, 200, "{}", html(&resp));
    assert!(resp.json_body().get("refresh_token").is_none());
    assert_eq!(json_str(&resp, "scope"), "read:items");
}

#[test]
fn rfc8628_3_5_denied_is_access_denied_and_stays_so() {
    let h = harness();
    let v = h.start("tv", "read:items");
    let dc = str_of(&v, "device_code");
    let done = h.decide(&str_of(&v, "user_code"), "deny");
    assert_eq!(done.status, 200);
    assert!(html(&done).contains("denied"));
    let resp = h.poll("tv", &dc);
    assert_eq!(resp.status, 400);
    assert_eq!(error_of(&resp), "access_denied");
    h.clock.advance(10);
    assert_eq!(error_of(&h.poll("tv", &dc)), "access_denied");
}

#[test]
fn rfc8628_3_5_expired_token_after_expiry() {
    let h = harness();
    let resp = h.post("/oauth/device/code", "client_id=quick", &[]);
    let v = resp.json_body();
    assert_eq!(v["expires_in"], json!(30));
    let dc = str_of(&v, "device_code");
    let uc = str_of(&v, "user_code");
    let login = h.activate(&uc);
    assert_eq!(login.status, 200);
    h.clock.advance(31);
    assert_eq!(error_of(&h.poll("quick", &dc)), "expired_token");
    // The pages no longer accept it, with the one message.
    let resp = h.activate(&uc);
    assert_eq!(resp.status, 400);
    assert!(html(&resp).contains("That code is not valid"));
    // An approval after the expiry is refused too.
    let tx = hidden(&login, "device_tx");
    let resp = h.send(&own_post(
        "/activate/login",
        &format!(
            "device_tx={}&username={}&password={}",
            enc(&tx),
            enc("alice@example.com"),
            enc(PASSWORD)
        ),
    ));
    assert_eq!(resp.status, 400);
}

#[test]
fn rfc8628_3_4_unknown_device_code_another_client_and_missing_code() {
    let h = harness();
    let v = h.start("tv", "read:items");
    let dc = str_of(&v, "device_code");
    assert_eq!(
        error_of(&h.poll("tv", "not-a-device-code")),
        "invalid_grant"
    );
    let resp = h.post(
        "/oauth/token",
        &format!("grant_type={}&client_id=tv", enc(DEVICE_CODE_GRANT)),
        &[],
    );
    assert_eq!(error_of(&resp), "invalid_request");
    let resp = h.post(
        "/oauth/token",
        &format!(
            "grant_type={}&device_code={}",
            enc(DEVICE_CODE_GRANT),
            enc(&dc)
        ),
        &[("authorization", &basic("box", TV_SECRET))],
    );
    assert_eq!(error_of(&resp), "invalid_grant");
    assert!(json_str(&resp, "error_description").contains("another client"));
    // A client without the grant.
    let resp = h.poll("spa", &dc);
    assert_eq!(error_of(&resp), "unauthorized_client");
}

#[test]
fn rfc8628_3_3_user_code_is_case_insensitive_dash_optional_and_unknown_reveals_nothing() {
    let h = harness();
    let v = h.start("tv", "read:items");
    let uc = str_of(&v, "user_code");
    assert_eq!(
        normalize_user_code(&uc.to_lowercase()),
        normalize_user_code(&uc)
    );
    for typed in [uc.clone(), uc.to_lowercase(), uc.replace('-', "")] {
        let resp = h.activate(&typed);
        assert_eq!(resp.status, 200, "{typed}");
        assert!(html(&resp).contains("action=\"/activate/login\""));
    }
    // Unknown, malformed and script-bearing codes: the same message, the input escaped.
    let unknown = html(&h.activate("BCDF-GHJK"));
    let malformed = html(&h.activate("\"><script>alert(1)</script>"));
    assert!(unknown.contains("That code is not valid"));
    assert!(malformed.contains("That code is not valid"));
    assert!(!malformed.contains("<script>"));
    assert!(malformed.contains("&lt;script&gt;"));
    // The entry page.
    let entry = h.send(&HttpRequest::new("GET", "/activate"));
    assert_eq!(entry.status, 200);
    let body = html(&entry);
    assert!(body.contains("<label for=\"user_code\">"));
    assert!(body.contains("lang=\"en\""));
    assert_eq!(entry.header("x-frame-options"), Some("DENY"));
    assert!(
        entry
            .header("content-security-policy")
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
    assert_eq!(entry.header("cache-control"), Some("no-store"));
}

#[test]
fn rfc8628_5_1_user_code_guessing_is_rate_limited_per_address() {
    let h = harness_with_limit(Some(5));
    let v = h.start("tv", "read:items");
    let uc = str_of(&v, "user_code");
    let from = |ip: &str, code: &str| {
        h.send(
            &HttpRequest::new("GET", &format!("/activate?user_code={code}"))
                .with_header("cf-connecting-ip", ip),
        )
    };
    for _ in 0..5 {
        assert_eq!(from("2001:db8:1:2::7", "BCDF-GHJK").status, 400);
    }
    // The sixth from the same /64 is refused, even with the right code.
    let resp = from("2001:db8:1:2::99", &uc);
    assert_eq!(resp.status, 429);
    assert_eq!(resp.header("retry-after"), Some("60"));
    // Another address is not affected.
    assert_eq!(from("203.0.113.9", &uc).status, 200);
}

#[test]
fn rfc6749_10_12_activate_forms_need_this_servers_origin() {
    let h = harness();
    let v = h.start("tv", "read:items");
    let login = h.activate(&str_of(&v, "user_code"));
    let tx = hidden(&login, "device_tx");
    let body = format!(
        "device_tx={}&username={}&password={}",
        enc(&tx),
        enc("alice@example.com"),
        enc(PASSWORD)
    );
    let cross = HttpRequest::new("POST", "/activate/login")
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_header("origin", "https://evil.example")
        .with_body(body.as_bytes().to_vec());
    assert_eq!(h.send(&cross).status, 403);
    let page = h.consent_page(&str_of(&v, "user_code"));
    let consent = hidden(&page, "consent");
    let cross = HttpRequest::new("POST", "/activate/confirm")
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_header("origin", "null")
        .with_body(format!("consent={}&decision=allow", enc(&consent)).into_bytes());
    assert_eq!(h.send(&cross).status, 403);
    // A tampered consent form is refused.
    let tampered = format!("x{consent}");
    let resp = h.send(&own_post(
        "/activate/confirm",
        &format!("consent={}&decision=allow", enc(&tampered)),
    ));
    assert_eq!(resp.status, 400);
    // A login form's field is no consent form (different purpose).
    let resp = h.send(&own_post(
        "/activate/confirm",
        &format!("consent={}&decision=allow", enc(&tx)),
    ));
    assert_eq!(resp.status, 400);
    assert_eq!(
        error_of(&h.poll("tv", &str_of(&v, "device_code"))),
        "authorization_pending"
    );
}

#[test]
fn rfc8628_activate_login_wrong_password_leaks_nothing() {
    let h = harness();
    let v = h.start("tv", "read:items");
    let login = h.activate(&str_of(&v, "user_code"));
    let tx = hidden(&login, "device_tx");
    let attempt = |user: &str| {
        h.send(&own_post(
            "/activate/login",
            &format!(
                "device_tx={}&username={}&password=nope",
                enc(&tx),
                enc(user)
            ),
        ))
    };
    let wrong = attempt("alice@example.com");
    let unknown = attempt("bob@example.com");
    assert_eq!(wrong.status, 401);
    assert_eq!(unknown.status, 401);
    assert!(html(&wrong).contains("Wrong email or password."));
    assert_eq!(
        html(&wrong).replace("alice@example.com", ""),
        html(&unknown)
            .replace("bob@example.com", "")
            .replace(&hidden(&unknown, "device_tx"), &hidden(&wrong, "device_tx"))
    );
}

#[test]
fn rfc9449_device_tokens_are_bound_to_the_proof_key() {
    let h = harness();
    let v = h.start("tv", "offline_access read:items");
    h.decide(&str_of(&v, "user_code"), "allow");
    let jwk = &vectors()["dpop_generated_proofs"]["dpop_generated"]["private_keys"]["dpop_key_1"];
    let key = DpopKey::from_private_jwk_json(&jwk.to_string()).unwrap();
    // Public clients need a nonce; get one from the first answer.
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    let proof = key
        .create_proof(
            &ProofOptions::new("POST", &format!("{ISSUER}oauth/token"), h.clock.now()),
            &mut rng,
        )
        .unwrap();
    let body = format!(
        "grant_type={}&client_id=tv&device_code={}",
        enc(DEVICE_CODE_GRANT),
        enc(&str_of(&v, "device_code"))
    );
    let first = h.post("/oauth/token", &body, &[("dpop", &proof)]);
    assert_eq!(error_of(&first), "use_dpop_nonce");
    let nonce = first.header("dpop-nonce").unwrap().to_owned();
    let proof = key
        .create_proof(
            &ProofOptions {
                nonce: Some(&nonce),
                ..ProofOptions::new("POST", &format!("{ISSUER}oauth/token"), h.clock.now())
            },
            &mut rng,
        )
        .unwrap();
    let resp = h.post("/oauth/token", &body, &[("dpop", &proof)]);
    assert_eq!(resp.status, 200, "{}", html(&resp));
    assert_eq!(json_str(&resp, "token_type"), "DPoP");
    let at = claims(&json_str(&resp, "access_token"));
    assert_eq!(at["cnf"]["jkt"], json!(key.thumbprint().as_str()));
    // The public client's refresh token is bound to that key: without a proof, refused.
    let refresh = json_str(&resp, "refresh_token");
    let resp = h.post(
        "/oauth/token",
        &format!("grant_type=refresh_token&client_id=tv&refresh_token={refresh}"),
        &[],
    );
    assert_eq!(error_of(&resp), "invalid_grant");
}

/// A poll with a proof whose `jti` was used before (RFC 9449 §11.1) is
/// `invalid_dpop_proof`, and the approval stays for the device's poll with a fresh proof:
/// the `jti` is recorded before the approval is spent.
#[test]
fn rfc9449_11_1_a_poll_with_a_used_proof_leaves_the_approval_usable() {
    let h = harness();
    let jwk = &vectors()["dpop_generated_proofs"]["dpop_generated"]["private_keys"]["dpop_key_1"];
    let key = DpopKey::from_private_jwk_json(&jwk.to_string()).unwrap();
    let body = |dc: &str| {
        format!(
            "grant_type={}&client_id=tv&device_code={}",
            enc(DEVICE_CODE_GRANT),
            enc(dc)
        )
    };
    let approved = || {
        let v = h.start("tv", "offline_access read:items");
        h.decide(&str_of(&v, "user_code"), "allow");
        str_of(&v, "device_code")
    };
    let (first, second) = (approved(), approved());
    let proof = |nonce: Option<&str>| {
        key.create_proof(
            &ProofOptions {
                nonce,
                ..ProofOptions::new("POST", &format!("{ISSUER}oauth/token"), h.clock.now())
            },
            &mut rand_core::UnwrapErr(getrandom::SysRng),
        )
        .unwrap()
    };
    let challenge = h.post("/oauth/token", &body(&first), &[("dpop", &proof(None))]);
    assert_eq!(error_of(&challenge), "use_dpop_nonce");
    let nonce = challenge.header("dpop-nonce").unwrap().to_owned();
    let used = proof(Some(&nonce));
    let resp = h.post("/oauth/token", &body(&first), &[("dpop", &used)]);
    assert_eq!(resp.status, 200, "{}", html(&resp));
    let replay = h.post("/oauth/token", &body(&second), &[("dpop", &used)]);
    assert_eq!(error_of(&replay), "invalid_dpop_proof", "{}", html(&replay));
    let resp = h.post(
        "/oauth/token",
        &body(&second),
        &[("dpop", &proof(Some(&nonce)))],
    );
    assert_eq!(resp.status, 200, "{}", html(&resp));
    assert_eq!(json_str(&resp, "token_type"), "DPoP");
}

#[test]
fn fetch_origin_null_with_same_origin_metadata_is_a_browsers_own_form_post() {
    // Our pages are served with Referrer-Policy: no-referrer, so Chromium posts their forms
    // with `Origin: null` and `Sec-Fetch-Site: same-origin`: both login forms accept that,
    // and still refuse `null` from elsewhere.
    let h = harness();
    let v = h.start("tv", "read:items");
    let login = h.activate(&str_of(&v, "user_code"));
    let body = format!(
        "device_tx={}&username={}&password={}",
        enc(&hidden(&login, "device_tx")),
        enc("alice@example.com"),
        enc(PASSWORD)
    );
    let post = |site: &str| {
        HttpRequest::new("POST", "/activate/login")
            .with_header("content-type", "application/x-www-form-urlencoded")
            .with_header("origin", "null")
            .with_header("sec-fetch-site", site)
            .with_body(body.as_bytes().to_vec())
    };
    assert_eq!(h.send(&post("cross-site")).status, 403);
    assert_eq!(h.send(&post("same-origin")).status, 200);
    // The same at /authorize/login.
    put(
        &h.app.store,
        "client:web",
        &client(
            "web",
            "regular_web",
            "client_secret_basic",
            &["authorization_code"],
            Some(TV_SECRET),
            &[WEB_CB],
        ),
    );
    let page = h.send(&HttpRequest::new(
        "GET",
        &format!(
            "/authorize?response_type=code&client_id=web&redirect_uri={}",
            enc(WEB_CB)
        ),
    ));
    assert_eq!(page.status, 200);
    let req = HttpRequest::new("POST", "/authorize/login")
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_header("origin", "null")
        .with_header("sec-fetch-site", "same-origin")
        .with_body(
            format!(
                "tx={}&username={}&password={}",
                enc(&hidden_tx(&page)),
                enc("alice@example.com"),
                enc(PASSWORD)
            )
            .into_bytes(),
        );
    assert_eq!(h.send(&req).status, 303);
}
