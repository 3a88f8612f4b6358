//! DPoP (RFC 9449) on the server, natively, against the memory store: every check of
//! §4.3 at the token endpoint, `jti` replay, nonces (§8), `dpop_jkt` (§10), bound refresh
//! tokens (§5), the per-API policy, `/userinfo` (§7) and the vectors of
//! `../shared/vectors/vectors.json` (`dpop_generated_proofs`). Proofs are made with the
//! core's `DpopKey` (vector keys, explicit `iat`) or taken from the vectors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::*;
use edge_oauth::base64url;
use edge_oauth::dpop::{DpopKey, ProofOptions};
use edge_oauth_worker::config::Config;
use edge_oauth_worker::dpop::nonce_for_step;
use edge_oauth_worker::http::{HttpRequest, HttpResponse};
use edge_oauth_worker::jwt::sha256_b64;
use edge_oauth_worker::platform::NativePlatform;
use edge_oauth_worker::store::{Store, StoreError};
use edge_oauth_worker::testing::block_on;
use serde_json::{Value, json};

const TOKEN_URL: &str = "https://auth.example.com/oauth/token";
const PAR_URL: &str = "https://auth.example.com/oauth/par";
const USERINFO_URL: &str = "https://auth.example.com/userinfo";
const STRICT_API: &str = "https://strict.example.com";
const NONCE_SECRET: [u8; 32] = [9; 32];

fn dpop_vectors() -> Value {
    vectors()["dpop_generated_proofs"]["dpop_generated"].clone()
}

/// The vector case with this `id` in `dpop_vectors()["vectors"]`.
fn dpop_case<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap()
}

/// Vector key `dpop_key_1` or `dpop_key_2`.
fn key(name: &str) -> DpopKey {
    let jwk = &dpop_vectors()["private_keys"][name];
    DpopKey::from_private_jwk_json(&jwk.to_string()).unwrap()
}

fn rng() -> impl rand_core::CryptoRng {
    rand_core::UnwrapErr(getrandom::SysRng)
}

fn harness_with(max_age: Option<&str>) -> Harness {
    let v = vectors();
    let config = config(&v, None)
        .with_dpop_env(Some(&base64url::encode(&NONCE_SECRET)), max_age, None)
        .unwrap();
    let (clock, store) = Harness::clock_and_store();
    let code_grants = ["authorization_code", "refresh_token"];
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
    let mut strict = client(
        "m2m-nonce",
        "m2m",
        "client_secret_basic",
        &["client_credentials"],
        Some(M2M_SECRET),
        &[],
    );
    strict["dpop_nonce_required"] = json!(true);
    put(&store, "client:m2m-nonce", &strict);
    put(
        &store,
        "client:spa",
        &client("spa", "spa", "none", &code_grants, None, &[SPA_CB]),
    );
    let mut lax = client("spa-lax", "spa", "none", &code_grants, None, &[SPA_CB]);
    lax["dpop_nonce_required"] = json!(false);
    put(&store, "client:spa-lax", &lax);
    put(
        &store,
        "client:web",
        &client(
            "web",
            "regular_web",
            "client_secret_basic",
            &code_grants,
            Some(WEB_SECRET),
            &[WEB_CB],
        ),
    );
    put(
        &store,
        &format!("api:{API}"),
        &json!({"identifier": API, "scopes": ["read:items"], "token_lifetime": 3600, "allow_offline_access": true}),
    );
    put(
        &store,
        &format!("api:{STRICT_API}"),
        &json!({"identifier": STRICT_API, "scopes": ["read:items"], "token_lifetime": 3600, "allow_offline_access": true, "dpop": "required"}),
    );
    for (id, aud) in [("m2m", API), ("m2m", STRICT_API), ("m2m-nonce", API)] {
        put(
            &store,
            &format!("grant:{id}:{aud}"),
            &json!({"client_id": id, "audience": aud, "scopes": ["read:items"]}),
        );
    }
    put_alice(&store);
    let platform = NativePlatform::new(clock.clone());
    Harness::new(config, store, platform, clock)
}

fn harness() -> Harness {
    harness_with(None)
}

fn description(resp: &HttpResponse) -> String {
    resp.json_body()["error_description"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

#[track_caller]
fn assert_error(resp: &HttpResponse, status: u16, error: &str, description_part: &str) {
    assert_eq!(resp.status, status, "{:?}", resp.json_body());
    assert_eq!(error_of(resp), error, "{:?}", resp.json_body());
    assert!(
        description(resp).contains(description_part),
        "description {:?} lacks {description_part:?}",
        description(resp)
    );
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    assert_eq!(resp.header("content-type"), Some("application/json"));
}

/// A DPoP-bound token response to a client that must send nonces: it carries the next one.
#[track_caller]
fn assert_dpop_bound(resp: &HttpResponse, key: &DpopKey) -> String {
    let at = assert_bound(resp, key);
    assert!(
        resp.header("dpop-nonce").is_some(),
        "a DPoP response carries the next nonce"
    );
    at
}

/// A DPoP-bound token response to a client that need not send nonces: it is handed none
/// (RFC 9449 §11.3: a nonce provided must then be required).
#[track_caller]
fn assert_dpop_bound_without_nonce(resp: &HttpResponse, key: &DpopKey) -> String {
    let at = assert_bound(resp, key);
    assert_eq!(
        resp.header("dpop-nonce"),
        None,
        "no nonce for a client that need not send one"
    );
    at
}

#[track_caller]
fn assert_bound(resp: &HttpResponse, key: &DpopKey) -> String {
    assert_eq!(resp.status, 200, "{:?}", resp.json_body());
    let body = resp.json_body();
    assert_eq!(body["token_type"], "DPoP");
    let at = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(claims(&at)["cnf"], json!({"jkt": key.thumbprint()}));
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    at
}

/// `authorization` and, if given, `dpop` headers.
fn auth_headers<'a>(authorization: &'a str, dpop: Option<&'a str>) -> Vec<(&'a str, &'a str)> {
    let mut headers = vec![("authorization", authorization)];
    if let Some(p) = dpop {
        headers.push(("dpop", p));
    }
    headers
}

impl Harness {
    fn now(&self) -> i64 {
        self.clock.now()
    }

    fn nonce(&self) -> String {
        nonce_for_step(&NONCE_SECRET, self.now().div_euclid(300))
    }

    /// A proof for `POST {TOKEN_URL}` at the current time, with the current nonce or none.
    fn proof(&self, key: &DpopKey, nonce: bool) -> String {
        let n = self.nonce();
        let options = ProofOptions {
            nonce: nonce.then_some(n.as_str()),
            ..ProofOptions::new("POST", TOKEN_URL, self.now())
        };
        key.create_proof(&options, &mut rng()).unwrap()
    }

    fn token(&self, body: &str, headers: &[(&str, &str)]) -> HttpResponse {
        self.post("/oauth/token", body, headers)
    }

    /// client_credentials for `m2m` at `aud`, with the given DPoP header (if any).
    fn m2m(&self, aud: &str, dpop: Option<&str>) -> HttpResponse {
        let auth = basic("m2m", M2M_SECRET);
        self.token(
            &format!("grant_type=client_credentials&audience={}", enc(aud)),
            &auth_headers(&auth, dpop),
        )
    }

    /// /authorize + login for `client_id`; `extra` is appended to the query.
    fn code(&self, client_id: &str, redirect: &str, extra: &str) -> String {
        let resp = self.send(&HttpRequest::new(
            "GET",
            &format!("/authorize?response_type=code&client_id={client_id}&redirect_uri={}&state=s{extra}", enc(redirect)),
        ));
        assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
        self.login(&resp)
    }

    fn login(&self, page: &HttpResponse) -> String {
        let resp = self.send(&login_request(
            &hidden_tx(page),
            "alice@example.com",
            PASSWORD,
        ));
        assert_eq!(resp.status, 303);
        query_param(resp.header("location").unwrap(), "code").unwrap()
    }

    fn spa_code(&self, client_id: &str, aud: &str, extra: &str) -> String {
        self.code(client_id, SPA_CB, &format!(
            "&code_challenge={CHALLENGE}&code_challenge_method=S256&scope=openid%20offline_access%20read%3Aitems&audience={}{extra}",
            enc(aud)
        ))
    }

    fn exchange(&self, client_id: &str, code: &str, dpop: Option<&str>) -> HttpResponse {
        let body = format!(
            "grant_type=authorization_code&client_id={client_id}&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
            enc(SPA_CB)
        );
        match dpop {
            Some(p) => self.token(&body, &[("dpop", p)]),
            None => self.token(&body, &[]),
        }
    }

    fn web_exchange(&self, code: &str, dpop: Option<&str>) -> HttpResponse {
        let auth = basic("web", WEB_SECRET);
        self.token(
            &format!(
                "grant_type=authorization_code&code={code}&redirect_uri={}",
                enc(WEB_CB)
            ),
            &auth_headers(&auth, dpop),
        )
    }

    fn refresh(&self, client_id: &str, token: &str, dpop: Option<&str>) -> HttpResponse {
        let body = format!("grant_type=refresh_token&client_id={client_id}&refresh_token={token}");
        match dpop {
            Some(p) => self.token(&body, &[("dpop", p)]),
            None => self.token(&body, &[]),
        }
    }

    fn web_refresh(&self, token: &str, dpop: Option<&str>) -> HttpResponse {
        let auth = basic("web", WEB_SECRET);
        self.token(
            &format!("grant_type=refresh_token&refresh_token={token}"),
            &auth_headers(&auth, dpop),
        )
    }

    /// A DPoP-bound (key 1) user token set for the public `spa` client.
    fn spa_tokens(&self, aud: &str) -> (String, String) {
        let k1 = key("dpop_key_1");
        let code = self.spa_code("spa", aud, "");
        let resp = self.exchange("spa", &code, Some(&self.proof(&k1, true)));
        let at = assert_dpop_bound(&resp, &k1);
        (at, json_str(&resp, "refresh_token"))
    }

    fn userinfo(&self, method: &str, authorization: &str, dpop: Option<&str>) -> HttpResponse {
        let mut req =
            HttpRequest::new(method, "/userinfo").with_header("authorization", authorization);
        if let Some(p) = dpop {
            req = req.with_header("dpop", p);
        }
        self.send(&req)
    }
}

// ---------------------------------------------------------------- §5, §6.1: bound tokens

#[test]
fn rfc9449_5_client_credentials_with_proof_is_dpop_bound_with_cnf_jkt() {
    let h = harness();
    let k1 = key("dpop_key_1");
    let resp = h.m2m(API, Some(&h.proof(&k1, false)));
    let at = assert_dpop_bound_without_nonce(&resp, &k1);
    assert_eq!(k1.thumbprint(), dpop_vectors()["jkt"]["dpop_key_1"]);
    assert_eq!(claims(&at)["aud"], API);
    // Without a proof the same client gets a Bearer token without cnf.
    let bearer = h.m2m(API, None);
    assert_eq!(bearer.json_body()["token_type"], "Bearer");
    assert!(
        claims(bearer.json_body()["access_token"].as_str().unwrap())
            .get("cnf")
            .is_none()
    );
    assert!(bearer.header("dpop-nonce").is_none());
}

#[test]
fn rfc9449_4_3_generated_vectors_at_the_token_endpoint() {
    let v = dpop_vectors();
    let mut checked = 0;
    for case in v["vectors"].as_array().unwrap() {
        let id = case["id"].as_str().unwrap();
        let request = &case["request"];
        let overrides = case["verifier_overrides"].as_object().unwrap();
        if request["method"] != "POST" || request["url"] != TOKEN_URL || !overrides.is_empty() {
            continue; // resource, nonce, replay and binding vectors have their own tests
        }
        let expected = &case["expected"];
        let h = harness();
        let resp = h.m2m(API, Some(case["proof"].as_str().unwrap()));
        match &expected["valid"] {
            Value::Bool(true) => {
                assert_eq!(resp.status, 200, "{id}: {:?}", resp.json_body());
                let at = json_str(&resp, "access_token");
                assert_eq!(claims(&at)["cnf"]["jkt"], expected["jkt"], "{id}");
            }
            Value::Bool(false) => {
                assert_eq!(resp.status, 400, "{id}: {:?}", resp.json_body());
                assert_eq!(error_of(&resp), expected["error"], "{id}");
                // The client need not send nonces, so none is handed to it (§11.3).
                assert!(resp.header("dpop-nonce").is_none(), "{id}");
            }
            // Implementation-defined: this server follows the strict verdict.
            _ => {
                let strict = case["python_strict_verdict"]["valid"].as_bool().unwrap();
                assert_eq!(resp.status == 200, strict, "{id}: {:?}", resp.json_body());
            }
        }
        let proof = case["proof"].as_str().unwrap();
        assert!(
            proof.len() < 20 || !description(&resp).contains(&proof[..20]),
            "{id}: the proof is not echoed"
        );
        checked += 1;
    }
    assert!(checked >= 50, "only {checked} vectors ran");
}

#[test]
fn rfc9449_4_3_check_1_two_dpop_headers_are_refused() {
    let h = harness();
    let k1 = key("dpop_key_1");
    let (a, b) = (h.proof(&k1, false), h.proof(&k1, false));
    let auth = basic("m2m", M2M_SECRET);
    let body = format!("grant_type=client_credentials&audience={}", enc(API));
    // Two fields (as a native request can carry them) and one joined field (what
    // workerd makes of two fields).
    let two = h.token(
        &body,
        &[("authorization", &auth), ("dpop", &a), ("dpop", &b)],
    );
    assert_error(&two, 400, "invalid_dpop_proof", "more than one DPoP header");
    let joined = h.token(
        &body,
        &[("authorization", &auth), ("dpop", &format!("{a}, {b}"))],
    );
    assert_error(
        &joined,
        400,
        "invalid_dpop_proof",
        "more than one DPoP header",
    );
}

#[test]
fn rfc9449_4_3_checks_8_9_11_htm_htu_iat_with_precise_descriptions() {
    let h = harness();
    let k1 = key("dpop_key_1");
    let make = |htm: &str, htu: &str, iat: i64| {
        k1.create_proof(&ProofOptions::new(htm, htu, iat), &mut rng())
            .unwrap()
    };
    let cases = [
        (make("GET", TOKEN_URL, NOW), "htm does not match"),
        (
            make("POST", "https://auth.example.com/oauth/par", NOW),
            "htu does not match",
        ),
        (
            make("POST", "https://other.example.com/oauth/token", NOW),
            "htu does not match",
        ),
        (make("POST", TOKEN_URL, NOW - 61), "iat is too old"),
        (make("POST", TOKEN_URL, NOW + 6), "iat is in the future"),
    ];
    for (proof, why) in &cases {
        assert_error(&h.m2m(API, Some(proof)), 400, "invalid_dpop_proof", why);
    }
    // The edges of the default window (60 s back, 5 s ahead) pass; htu is compared after
    // RFC 3986 normalisation.
    assert_eq!(
        h.m2m(API, Some(&make("POST", TOKEN_URL, NOW - 60))).status,
        200
    );
    assert_eq!(
        h.m2m(API, Some(&make("POST", TOKEN_URL, NOW + 5))).status,
        200
    );
    let normalised = make("POST", "HTTPS://Auth.Example.COM:443/oauth/%74oken", NOW);
    assert_eq!(h.m2m(API, Some(&normalised)).status, 200);
}

#[test]
fn rfc9449_11_1_iat_window_is_configurable() {
    let h = harness_with(Some("10"));
    let k1 = key("dpop_key_1");
    let old = k1
        .create_proof(&ProofOptions::new("POST", TOKEN_URL, NOW - 11), &mut rng())
        .unwrap();
    assert_error(
        &h.m2m(API, Some(&old)),
        400,
        "invalid_dpop_proof",
        "iat is too old",
    );
    let fresh = k1
        .create_proof(&ProofOptions::new("POST", TOKEN_URL, NOW - 10), &mut rng())
        .unwrap();
    assert_eq!(h.m2m(API, Some(&fresh)).status, 200);
    let bad = Config::from_env(ISSUER, None, None, None);
    assert!(bad.is_err());
}

#[test]
fn rfc9449_11_1_jti_replay_is_invalid_dpop_proof_and_only_a_hash_is_stored() {
    let h = harness();
    let k1 = key("dpop_key_1");
    let options = ProofOptions {
        jti: Some("once-only-jti"),
        ..ProofOptions::new("POST", TOKEN_URL, NOW)
    };
    let proof = k1.create_proof(&options, &mut rng()).unwrap();
    assert_eq!(h.m2m(API, Some(&proof)).status, 200);
    let kv_key = format!("jti:{}:{}", k1.thumbprint(), sha256_b64(b"once-only-jti"));
    assert!(
        h.app.store.ttl(&kv_key).unwrap() >= 60,
        "kept at least KV's minimum TTL"
    );
    assert_eq!(h.app.store.count("jti:"), 1);
    h.clock.advance(2);
    assert_error(
        &h.m2m(API, Some(&proof)),
        400,
        "invalid_dpop_proof",
        "jti has already been used",
    );
    // The same jti from another key is another proof.
    let k2 = key("dpop_key_2");
    let other = k2.create_proof(&options, &mut rng()).unwrap();
    assert_eq!(h.m2m(API, Some(&other)).status, 200);
    // The vector: a jti already recorded within the window.
    let v = dpop_vectors();
    let case = dpop_case(&v, "replayed_jti");
    let h = harness();
    let proof = case["proof"].as_str().unwrap();
    assert_eq!(h.m2m(API, Some(proof)).status, 200);
    assert_error(
        &h.m2m(API, Some(proof)),
        400,
        "invalid_dpop_proof",
        "jti has already been used",
    );
}

#[test]
fn rfc9449_4_3_hostile_proofs_alg_none_hs256_private_jwk() {
    let v = dpop_vectors();
    for (id, why) in [
        ("alg_none", "alg is not allowed"),
        ("alg_hs256_oct_jwk", "alg is not allowed"),
        ("alg_hs256_ec_jwk_confusion", "alg is not allowed"),
        ("jwk_contains_private_d", "must not contain a private key"),
    ] {
        let case = dpop_case(&v, id);
        let h = harness();
        assert_error(
            &h.m2m(API, Some(case["proof"].as_str().unwrap())),
            400,
            "invalid_dpop_proof",
            why,
        );
    }
}

// ---------------------------------------------------------------- §8: nonces

#[test]
fn rfc9449_8_public_client_needs_a_nonce_then_round_trips() {
    let h = harness();
    let k1 = key("dpop_key_1");
    let code = h.spa_code("spa", API, "");
    let first = h.exchange("spa", &code, Some(&h.proof(&k1, false)));
    assert_error(&first, 400, "use_dpop_nonce", "nonce is required");
    let nonce = first.header("dpop-nonce").unwrap().to_owned();
    assert_eq!(nonce, h.nonce());
    // The code was not burnt: the retry with the nonce succeeds.
    let options = ProofOptions {
        nonce: Some(&nonce),
        ..ProofOptions::new("POST", TOKEN_URL, h.now())
    };
    let retry = h.exchange(
        "spa",
        &code,
        Some(&k1.create_proof(&options, &mut rng()).unwrap()),
    );
    assert_dpop_bound(&retry, &k1);
    assert_eq!(retry.header("dpop-nonce"), Some(nonce.as_str()));
}

#[test]
fn rfc9449_8_stale_or_wrong_nonce_gets_use_dpop_nonce_with_a_fresh_one() {
    let h = harness();
    let k1 = key("dpop_key_1");
    let old = h.nonce();
    let with = |nonce: &str, at: i64| {
        let options = ProofOptions {
            nonce: Some(nonce),
            ..ProofOptions::new("POST", TOKEN_URL, at)
        };
        k1.create_proof(&options, &mut rng()).unwrap()
    };
    // The previous step's nonce is still accepted...
    h.clock.advance(300);
    let code = h.spa_code("spa", API, "");
    assert_eq!(
        h.exchange("spa", &code, Some(&with(&old, h.now()))).status,
        200
    );
    // ...two steps later it is stale.
    h.clock.advance(300);
    let code = h.spa_code("spa", API, "");
    let stale = h.exchange("spa", &code, Some(&with(&old, h.now())));
    assert_error(&stale, 400, "use_dpop_nonce", "not the expected nonce");
    assert_eq!(stale.header("dpop-nonce"), Some(h.nonce().as_str()));
    assert_ne!(h.nonce(), old);
    let wrong = h.exchange("spa", &code, Some(&with("made-up", h.now())));
    assert_error(&wrong, 400, "use_dpop_nonce", "not the expected nonce");
    // A confidential client need not send one, but one it sends is checked; it is never
    // handed one (RFC 9449 §11.3), so a nonce that is not this server's is a bad proof.
    let bad = h.m2m(API, Some(&with("made-up", h.now())));
    assert_error(&bad, 400, "invalid_dpop_proof", "nonce");
    assert_eq!(bad.header("dpop-nonce"), None);
}

#[test]
fn rfc9449_8_nonce_requirement_is_configurable_per_client() {
    let h = harness();
    let k1 = key("dpop_key_1");
    // A public client with dpop_nonce_required: false.
    let code = h.spa_code("spa-lax", API, "");
    assert_dpop_bound_without_nonce(
        &h.exchange("spa-lax", &code, Some(&h.proof(&k1, false))),
        &k1,
    );
    // A confidential client with dpop_nonce_required: true.
    let auth = basic("m2m-nonce", M2M_SECRET);
    let body = format!("grant_type=client_credentials&audience={}", enc(API));
    let first = h.token(
        &body,
        &[("authorization", &auth), ("dpop", &h.proof(&k1, false))],
    );
    assert_error(&first, 400, "use_dpop_nonce", "nonce is required");
    let ok = h.token(
        &body,
        &[("authorization", &auth), ("dpop", &h.proof(&k1, true))],
    );
    assert_dpop_bound(&ok, &k1);
}

#[test]
fn rfc9449_8_vectors_nonce_missing_mismatch_and_not_a_string() {
    // The vectors' server nonce is fixed; here the server's own nonce differs from it, so
    // a proof carrying it is a mismatch and one without a nonce is missing.
    let v = dpop_vectors();
    for (id, error) in [
        ("valid_nonce_matches", "use_dpop_nonce"),
        ("nonce_required_but_missing", "use_dpop_nonce"),
        ("nonce_mismatch", "use_dpop_nonce"),
        ("nonce_not_string", "invalid_dpop_proof"),
    ] {
        let case = dpop_case(&v, id);
        let h = harness();
        let auth = basic("m2m-nonce", M2M_SECRET);
        let resp = h.token(
            &format!("grant_type=client_credentials&audience={}", enc(API)),
            &[
                ("authorization", &auth),
                ("dpop", case["proof"].as_str().unwrap()),
            ],
        );
        assert_error(&resp, 400, error, "");
        assert!(resp.header("dpop-nonce").is_some());
    }
}

// ---------------------------------------------------------------- §10: dpop_jkt

#[test]
fn rfc9449_10_dpop_jkt_binds_the_code_to_the_key() {
    let h = harness();
    let (k1, k2) = (key("dpop_key_1"), key("dpop_key_2"));
    let code = h.spa_code("spa", API, &format!("&dpop_jkt={}", k1.thumbprint()));
    let none = h.exchange("spa", &code, None);
    assert_error(&none, 400, "invalid_grant", "bound to a key (dpop_jkt)");
    let other = h.exchange("spa", &code, Some(&h.proof(&k2, true)));
    assert_error(&other, 400, "invalid_grant", "does not match dpop_jkt");
    // Neither attempt burnt the code.
    assert_dpop_bound(&h.exchange("spa", &code, Some(&h.proof(&k1, true))), &k1);
}

#[test]
fn rfc9449_10_malformed_dpop_jkt_is_an_invalid_request_redirect() {
    let h = harness();
    let resp = h.send(&HttpRequest::new(
        "GET",
        &format!("/authorize?response_type=code&client_id=spa&redirect_uri={}&code_challenge={CHALLENGE}&code_challenge_method=S256&dpop_jkt=short", enc(SPA_CB)),
    ));
    assert_eq!(resp.status, 302);
    let location = resp.header("location").unwrap();
    assert_eq!(
        query_param(location, "error").as_deref(),
        Some("invalid_request")
    );
}

#[test]
fn rfc9449_10_vector_dpop_jkt_mismatch_at_token_endpoint() {
    let v = dpop_vectors();
    let case = dpop_case(&v, "dpop_jkt_mismatch_at_token_endpoint");
    let h = harness();
    let code = h.code(
        "web",
        WEB_CB,
        &format!(
            "&dpop_jkt={}",
            case["verifier_overrides"]["code_dpop_jkt"]
                .as_str()
                .unwrap()
        ),
    );
    let resp = h.web_exchange(&code, Some(case["proof"].as_str().unwrap()));
    assert_error(
        &resp,
        400,
        case["expected"]["error"].as_str().unwrap(),
        "does not match dpop_jkt",
    );
}

#[test]
fn rfc9449_10_1_par_with_a_dpop_header_binds_the_code() {
    let h = harness();
    let (k1, k2) = (key("dpop_key_1"), key("dpop_key_2"));
    let par_proof = |k: &DpopKey| {
        k.create_proof(&ProofOptions::new("POST", PAR_URL, h.now()), &mut rng())
            .unwrap()
    };
    let auth = basic("web", WEB_SECRET);
    let body = format!(
        "response_type=code&redirect_uri={}&scope=openid",
        enc(WEB_CB)
    );
    // A mismatching dpop_jkt is refused.
    let mismatch = h.post(
        "/oauth/par",
        &format!("{body}&dpop_jkt={}", k2.thumbprint()),
        &[("authorization", &auth), ("dpop", &par_proof(&k1))],
    );
    assert_error(&mismatch, 400, "invalid_request", "dpop_jkt does not match");
    // A proof for the token endpoint is not one for PAR.
    let wrong_htu = h.post(
        "/oauth/par",
        &body,
        &[("authorization", &auth), ("dpop", &h.proof(&k1, false))],
    );
    assert_error(&wrong_htu, 400, "invalid_dpop_proof", "htu does not match");
    // The proof's key becomes dpop_jkt.
    let pushed = h.post(
        "/oauth/par",
        &body,
        &[("authorization", &auth), ("dpop", &par_proof(&k1))],
    );
    assert_eq!(pushed.status, 201, "{:?}", pushed.json_body());
    assert!(
        pushed.header("dpop-nonce").is_none(),
        "a confidential client need not send nonces and is handed none"
    );
    let request_uri = json_str(&pushed, "request_uri");
    let page = h.send(&HttpRequest::new(
        "GET",
        &format!("/authorize?client_id=web&request_uri={}", enc(&request_uri)),
    ));
    assert_eq!(page.status, 200);
    let code = h.login(&page);
    assert_error(
        &h.web_exchange(&code, Some(&h.proof(&k2, false))),
        400,
        "invalid_grant",
        "does not match dpop_jkt",
    );
    assert_dpop_bound_without_nonce(&h.web_exchange(&code, Some(&h.proof(&k1, false))), &k1);
}

// ---------------------------------------------------------------- §5: refresh tokens

#[test]
fn rfc9449_5_public_client_refresh_token_is_bound_to_the_key() {
    let h = harness();
    let (k1, k2) = (key("dpop_key_1"), key("dpop_key_2"));
    let (_, rt) = h.spa_tokens(API);
    let wrong = h.refresh("spa", &rt, Some(&h.proof(&k2, true)));
    assert_error(
        &wrong,
        400,
        "invalid_grant",
        "does not match the key the refresh token is bound to",
    );
    let bearer = h.refresh("spa", &rt, None);
    assert_error(
        &bearer,
        400,
        "invalid_grant",
        "refresh token is bound to a DPoP key",
    );
    // A key mismatch alone does not revoke the family: the right key still works...
    let ok = h.refresh("spa", &rt, Some(&h.proof(&k1, true)));
    assert_dpop_bound(&ok, &k1);
    let rotated = json_str(&ok, "refresh_token");
    assert_eq!(revoked_families(&h.app.store), 0);
    // ...and the rotated token stays bound.
    h.clock.advance(1);
    assert_error(
        &h.refresh("spa", &rotated, Some(&h.proof(&k2, true))),
        400,
        "invalid_grant",
        "does not match",
    );
    assert_dpop_bound(&h.refresh("spa", &rotated, Some(&h.proof(&k1, true))), &k1);
}

#[test]
fn rfc9449_5_vector_refresh_token_bound_to_other_key() {
    let v = dpop_vectors();
    let case = dpop_case(&v, "refresh_token_bound_to_other_key");
    let h = harness();
    let record = json!({
        "client_id": "spa-lax", "sub": "user|alice", "email": "alice@example.com",
        "name": "Alice", "scope": "offline_access read:items", "audience": API, "auth_time": NOW,
        "expires_at": NOW + 3600, "idle_lifetime": 3600, "last_used": NOW, "generation": 1,
        "current": sha256_b64(b"fam-1.bound-rt"), "rotated_at": NOW,
        "jkt": case["verifier_overrides"]["refresh_token_jkt"],
    });
    put(&h.app.store, "family:fam-1", &record);
    let resp = h.refresh(
        "spa-lax",
        "fam-1.bound-rt",
        Some(case["proof"].as_str().unwrap()),
    );
    assert_error(
        &resp,
        400,
        case["expected"]["error"].as_str().unwrap(),
        "does not match",
    );
    assert_eq!(
        revoked_families(&h.app.store),
        0,
        "not revoked for a key mismatch"
    );
}

#[test]
fn rfc9449_5_confidential_client_refresh_token_is_bound_to_the_client_not_the_key() {
    let h = harness();
    let (k1, k2) = (key("dpop_key_1"), key("dpop_key_2"));
    let code = h.code(
        "web",
        WEB_CB,
        &format!("&scope=openid%20offline_access&audience={}", enc(API)),
    );
    let first = h.web_exchange(&code, Some(&h.proof(&k1, false)));
    assert_dpop_bound_without_nonce(&first, &k1);
    let rt = json_str(&first, "refresh_token");
    let other_key = h.web_refresh(&rt, Some(&h.proof(&k2, false)));
    assert_dpop_bound_without_nonce(&other_key, &k2);
    let rt = json_str(&other_key, "refresh_token");
    h.clock.advance(1);
    let bearer = h.web_refresh(&rt, None);
    assert_eq!(bearer.status, 200, "{:?}", bearer.json_body());
    assert_eq!(bearer.json_body()["token_type"], "Bearer");
}

#[test]
fn rfc9449_5_unbound_public_refresh_token_becomes_bound_when_used_with_a_proof() {
    let h = harness();
    let k1 = key("dpop_key_1");
    let code = h.spa_code("spa", API, "");
    let rt = h.exchange("spa", &code, None).json_body()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let bound = h.refresh("spa", &rt, Some(&h.proof(&k1, true)));
    assert_dpop_bound(&bound, &k1);
    let rt = json_str(&bound, "refresh_token");
    assert_error(
        &h.refresh("spa", &rt, None),
        400,
        "invalid_grant",
        "bound to a DPoP key",
    );
}

/// RFC 9700 §4.14.2: a thief who redeems a stolen token of an unbound public-client family
/// with its own key must not turn the victim's later use of that token into a harmless key
/// mismatch: it is reuse, and the whole family (the thief's branch included) is revoked.
#[test]
fn rfc9700_4_14_2_binding_at_rotation_does_not_hide_reuse() {
    let h = harness();
    let thief = key("dpop_key_2");
    let code = h.spa_code("spa", API, "");
    let stolen = h.exchange("spa", &code, None).json_body()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let taken = h.refresh("spa", &stolen, Some(&h.proof(&thief, true)));
    assert_dpop_bound(&taken, &thief);
    let thief_rt = json_str(&taken, "refresh_token");
    h.clock.advance(1);
    // The victim presents the token it holds, without a proof (or with its own key).
    assert_error(&h.refresh("spa", &stolen, None), 400, "invalid_grant", "");
    // The family is gone: the thief's branch is dead too.
    assert_error(
        &h.refresh("spa", &thief_rt, Some(&h.proof(&thief, true))),
        400,
        "invalid_grant",
        "",
    );
}

// ---------------------------------------------------------------- per-API policy

#[test]
fn api_dpop_required_refuses_bearer_requests_with_invalid_dpop_proof() {
    let h = harness();
    let k1 = key("dpop_key_1");
    assert_error(
        &h.m2m(STRICT_API, None),
        400,
        "invalid_dpop_proof",
        "DPoP proof is required for this API",
    );
    assert_dpop_bound_without_nonce(&h.m2m(STRICT_API, Some(&h.proof(&k1, false))), &k1);
    // Code flow: refused without a proof, before the code is burnt.
    let code = h.spa_code("spa", STRICT_API, "");
    assert_error(
        &h.exchange("spa", &code, None),
        400,
        "invalid_dpop_proof",
        "required for this API",
    );
    let ok = h.exchange("spa", &code, Some(&h.proof(&k1, true)));
    assert_dpop_bound(&ok, &k1);
    // The optional API still takes Bearer requests.
    assert_eq!(h.m2m(API, None).status, 200);
}

// ---------------------------------------------------------------- §7: /userinfo

#[test]
fn rfc9449_7_1_userinfo_with_a_dpop_bound_token() {
    let h = harness();
    let (k1, k2) = (key("dpop_key_1"), key("dpop_key_2"));
    let (at, _) = h.spa_tokens(API);
    let scheme = format!("DPoP {at}");
    let rs_proof = |k: &DpopKey, htm: &str, htu: &str, token: Option<&str>| {
        let options = ProofOptions {
            access_token: token,
            ..ProofOptions::new(htm, htu, h.now())
        };
        k.create_proof(&options, &mut rng()).unwrap()
    };
    let ok = h.userinfo(
        "GET",
        &scheme,
        Some(&rs_proof(&k1, "GET", USERINFO_URL, Some(&at))),
    );
    assert_eq!(ok.status, 200, "{:?}", ok.json_body());
    assert_eq!(ok.json_body()["sub"], "user|alice");
    let post = h.userinfo(
        "POST",
        &scheme,
        Some(&rs_proof(&k1, "POST", USERINFO_URL, Some(&at))),
    );
    assert_eq!(post.status, 200);

    let challenge = |resp: &HttpResponse| resp.header("www-authenticate").unwrap_or("").to_owned();
    let refused = |resp: &HttpResponse, error: &str, why: &str| {
        assert_eq!(resp.status, 401, "{:?}", resp.json_body());
        assert_eq!(error_of(resp), error);
        let c = challenge(resp);
        assert!(c.starts_with("DPoP "), "{c}");
        assert!(c.contains(&format!("error=\"{error}\"")), "{c}");
        assert!(c.contains("algs=\"ES256\""), "{c}");
        assert!(
            description(resp).contains(why),
            "{:?} lacks {why}",
            description(resp)
        );
        assert_eq!(resp.header("cache-control"), Some("no-store"));
    };
    refused(
        &h.userinfo(
            "POST",
            &scheme,
            Some(&rs_proof(&k1, "GET", USERINFO_URL, Some(&at))),
        ),
        "invalid_dpop_proof",
        "htm",
    );
    refused(
        &h.userinfo(
            "GET",
            &scheme,
            Some(&rs_proof(&k1, "GET", TOKEN_URL, Some(&at))),
        ),
        "invalid_dpop_proof",
        "htu",
    );
    refused(
        &h.userinfo(
            "GET",
            &scheme,
            Some(&rs_proof(&k1, "GET", USERINFO_URL, None)),
        ),
        "invalid_dpop_proof",
        "ath is required",
    );
    refused(
        &h.userinfo(
            "GET",
            &scheme,
            Some(&rs_proof(&k1, "GET", USERINFO_URL, Some("another-token"))),
        ),
        "invalid_dpop_proof",
        "ath does not match",
    );
    refused(
        &h.userinfo(
            "GET",
            &scheme,
            Some(&rs_proof(&k2, "GET", USERINFO_URL, Some(&at))),
        ),
        "invalid_token",
        "key does not match",
    );
    refused(
        &h.userinfo("GET", &scheme, None),
        "invalid_dpop_proof",
        "proof is required",
    );
    let old = {
        let options = ProofOptions {
            access_token: Some(&at),
            ..ProofOptions::new("GET", USERINFO_URL, h.now() - 120)
        };
        k1.create_proof(&options, &mut rng()).unwrap()
    };
    refused(
        &h.userinfo("GET", &scheme, Some(&old)),
        "invalid_dpop_proof",
        "iat is too old",
    );
    let once = rs_proof(&k1, "GET", USERINFO_URL, Some(&at));
    assert_eq!(h.userinfo("GET", &scheme, Some(&once)).status, 200);
    refused(
        &h.userinfo("GET", &scheme, Some(&once)),
        "invalid_dpop_proof",
        "jti has already been used",
    );

    // §7.2: the bound token presented as a Bearer token.
    let bearer = h.userinfo("GET", &format!("Bearer {at}"), None);
    refused(&bearer, "invalid_token", "DPoP-bound");
    // A Bearer token presented with the DPoP scheme.
    let code = h.spa_code("spa", API, "");
    let plain = h.exchange("spa", &code, None).json_body()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let unbound = h.userinfo(
        "GET",
        &format!("DPoP {plain}"),
        Some(&rs_proof(&k1, "GET", USERINFO_URL, Some(&plain))),
    );
    refused(&unbound, "invalid_token", "not DPoP-bound");
    assert_eq!(
        h.userinfo("GET", &format!("Bearer {plain}"), None).status,
        200
    );
}

#[test]
fn rfc9449_7_1_userinfo_without_credentials_offers_both_schemes() {
    let h = harness();
    let resp = h.send(&HttpRequest::new("GET", "/userinfo"));
    assert_eq!(resp.status, 401);
    let challenges: Vec<&str> = resp
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("www-authenticate"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert!(challenges[0].starts_with("Bearer realm="));
    assert!(challenges[1].starts_with("DPoP ") && challenges[1].contains("algs=\"ES256\""));
}

// ---------------------------------------------------------------- CORS, discovery

#[test]
fn rfc9449_7_1_8_cors_exposes_dpop_nonce_and_allows_the_dpop_header() {
    let h = harness();
    let k1 = key("dpop_key_1");
    let pre = h.send(
        &HttpRequest::new("OPTIONS", "/oauth/token").with_header("origin", "https://spa.example"),
    );
    assert!(
        pre.header("access-control-allow-headers")
            .unwrap()
            .contains("DPoP")
    );
    let code = h.spa_code("spa", API, "");
    let body = format!(
        "grant_type=authorization_code&client_id=spa&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
        enc(SPA_CB)
    );
    let resp = h.token(
        &body,
        &[
            ("origin", "https://spa.example"),
            ("dpop", &h.proof(&k1, false)),
        ],
    );
    assert_eq!(error_of(&resp), "use_dpop_nonce");
    let exposed = resp.header("access-control-expose-headers").unwrap();
    assert!(exposed.contains("DPoP-Nonce") && exposed.contains("WWW-Authenticate"));
    let ui = h.send(&HttpRequest::new("OPTIONS", "/userinfo"));
    assert!(
        ui.header("access-control-allow-headers")
            .unwrap()
            .contains("DPoP")
    );
}

#[test]
fn rfc9449_5_1_discovery_lists_dpop_signing_algs() {
    let h = harness();
    let m = h
        .send(&HttpRequest::new(
            "GET",
            "/.well-known/openid-configuration",
        ))
        .json_body();
    assert_eq!(m["dpop_signing_alg_values_supported"], json!(["ES256"]));
}

// ---------------------------------------------------------------- junk requests

/// Review finding: every public-client token request wrote its DPoP `jti` marker before
/// any grant check. Nothing may be written before the checks that need no write passed.
#[test]
fn rfc9449_11_1_junk_token_requests_write_nothing() {
    let h = harness();
    let k1 = key("dpop_key_1");
    let before = h.app.store.count("");
    for _ in 0..50 {
        let resp = h.exchange("spa", "bogus", Some(&h.proof(&k1, true)));
        assert_error(&resp, 400, "invalid_grant", "invalid or expired");
    }
    assert_eq!(
        h.app.store.count(""),
        before,
        "50 requests with code=bogus wrote nothing"
    );
    // A valid request still records its proof.
    assert_eq!(h.m2m(API, Some(&h.proof(&k1, false))).status, 200);
    assert_eq!(h.app.store.count("jti:"), 1);
}

/// Failed public-client token requests are limited per client and per address (IPv6:
/// its /64); successes are neither counted nor refused.
#[test]
fn rule_12_failed_public_client_token_requests_are_rate_limited() {
    let mut h = harness();
    h.app.platform = NativePlatform::new(h.clock.clone()).with_rate_limit(20, 60);
    let bogus = |client: &str, ip: &str| {
        h.token(
            &format!("grant_type=authorization_code&client_id={client}&code=bogus&redirect_uri={}&code_verifier={VERIFIER}", enc(SPA_CB)),
            &[("cf-connecting-ip", ip)],
        )
    };
    // Per client: 20 failures from 20 different networks, then 429.
    for i in 0..20 {
        assert_eq!(bogus("spa", &format!("2001:db8:{i}::1")).status, 400);
    }
    let limited = bogus("spa", "2001:db8:99::1");
    assert_eq!(limited.status, 429, "{:?}", limited.json_body());
    assert_eq!(error_of(&limited), "invalid_grant");
    assert_eq!(limited.header("retry-after"), Some("60"));
    // Per /64: another client, 20 failures from addresses of one /64, then 429.
    for i in 0..20 {
        assert_eq!(
            bogus("spa-lax", &format!("2001:db8:aa:bb::{i:x}")).status,
            400
        );
    }
    assert_eq!(bogus("spa-lax", "2001:db8:aa:bb:ffff::1").status, 429);
    assert_eq!(
        bogus("spa-lax", "192.0.2.7").status,
        429,
        "the client is over too"
    );
    // A success from the same client and network is not refused.
    let code = h.spa_code("spa", API, "");
    let body = format!(
        "grant_type=authorization_code&client_id=spa&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
        enc(SPA_CB)
    );
    let ok = h.token(&body, &[("cf-connecting-ip", "2001:db8:99::2")]);
    assert_eq!(ok.status, 200, "{:?}", ok.json_body());
}

/// RFC 9449 §8: a nonce challenge is a protocol step, not a failure. With the client over
/// its failure limit (junk from anyone), a real user's first DPoP request still gets
/// `400 use_dpop_nonce`, which clients answer with a retry, never a `429` they give up on.
#[test]
fn rfc9449_8_nonce_challenge_is_not_rate_limited() {
    let mut h = harness();
    h.app.platform = NativePlatform::new(h.clock.clone()).with_rate_limit(20, 60);
    for i in 0..25 {
        h.token(
            &format!("grant_type=authorization_code&client_id=spa&code=bogus&redirect_uri={}&code_verifier={VERIFIER}", enc(SPA_CB)),
            &[("cf-connecting-ip", &format!("2001:db8:{i}::1"))],
        );
    }
    let k1 = key("dpop_key_1");
    let code = h.spa_code("spa", API, "");
    let body = format!(
        "grant_type=authorization_code&client_id=spa&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
        enc(SPA_CB)
    );
    let proof = h.proof(&k1, false);
    let challenge = h.token(
        &body,
        &[("dpop", &proof), ("cf-connecting-ip", "192.0.2.9")],
    );
    assert_eq!(challenge.status, 400, "{:?}", challenge.json_body());
    assert_eq!(error_of(&challenge), "use_dpop_nonce");
    let proof = h.proof(&k1, true);
    let ok = h.token(
        &body,
        &[("dpop", &proof), ("cf-connecting-ip", "192.0.2.9")],
    );
    assert_eq!(ok.status, 200, "{:?}", ok.json_body());
}

#[test]
fn rfc9449_storage_operations_of_a_dpop_client_credentials_request() {
    use edge_oauth_worker::store::counting::{Backend, CountingStore};
    let h = harness();
    let k1 = key("dpop_key_1");
    for backend in [Backend::Kv, Backend::Durable] {
        let store = CountingStore::new(h.app.store.clone(), backend);
        let app = edge_oauth_worker::App {
            config: harness().app.config,
            store: store.clone(),
            platform: h.app.platform.clone(),
        };
        let proof = h.proof(&k1, false);
        let req = HttpRequest::new("POST", "/oauth/token")
            .with_header("content-type", "application/x-www-form-urlencoded")
            .with_header("authorization", &basic("m2m", M2M_SECRET))
            .with_header("dpop", &proof)
            .with_body(format!(
                "grant_type=client_credentials&audience={}",
                enc(API)
            ));
        let resp = edge_oauth_worker::testing::block_on(edge_oauth_worker::route(&app, &req));
        assert_eq!(resp.status, 200);
        let counts = store.take_counts();
        println!("{backend:?}: DPoP client credentials {counts:?}");
        match backend {
            Backend::Kv => assert_eq!((counts.kv_reads, counts.kv_writes), (4, 1)),
            Backend::Durable => assert_eq!(counts.durable_calls, 1, "one insert-if-absent"),
        }
    }
}

// ---------------------------------------------------------------- §11.1: replays and reuse

/// A network attacker replaying a captured refresh request (the rotated-out token and its
/// proof) of a DPoP-bound family is refused for the replayed proof, before reuse detection:
/// the family lives on. The same token with a fresh proof of the bound key is reuse.
#[test]
fn rfc9449_11_1_replayed_refresh_request_of_a_bound_family_does_not_revoke() {
    let h = harness();
    let k1 = key("dpop_key_1");
    let (_, rt) = h.spa_tokens(API);
    let captured = h.proof(&k1, true);
    let first = h.refresh("spa", &rt, Some(&captured));
    assert_dpop_bound(&first, &k1);
    let next = json_str(&first, "refresh_token");
    let replay = h.refresh("spa", &rt, Some(&captured));
    assert_error(&replay, 400, "invalid_dpop_proof", "");
    assert_eq!(
        revoked_families(&h.app.store),
        0,
        "the replay revoked the family"
    );
    // The replayed proof with the current token is refused too, and changes nothing.
    assert_error(
        &h.refresh("spa", &next, Some(&captured)),
        400,
        "invalid_dpop_proof",
        "",
    );
    h.clock.advance(1);
    let ok = h.refresh("spa", &next, Some(&h.proof(&k1, true)));
    assert_dpop_bound(&ok, &k1);
    // Reuse of a rotated-out token with a valid, fresh proof of the bound key revokes.
    h.clock.advance(1);
    assert_error(
        &h.refresh("spa", &rt, Some(&h.proof(&k1, true))),
        400,
        "invalid_grant",
        "",
    );
    assert_eq!(revoked_families(&h.app.store), 1);
}

/// A rotated-out token of a family bound to a key, presented with another key or none, is
/// refused without revoking: whoever lacks the key cannot be told from an observer of the
/// request. This holds for a family bound at a rotation too, for the tokens issued after
/// the binding (those from before it are reuse, see
/// `rfc9700_4_14_2_binding_at_rotation_does_not_hide_reuse`).
#[test]
fn rfc9449_5_rotated_out_bound_token_without_the_key_does_not_revoke() {
    let h = harness();
    let (k1, k2) = (key("dpop_key_1"), key("dpop_key_2"));
    let code = h.spa_code("spa", API, "");
    let unbound = h.exchange("spa", &code, None).json_body()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let bound = json_str(
        &h.refresh("spa", &unbound, Some(&h.proof(&k1, true))),
        "refresh_token",
    );
    h.clock.advance(1);
    let current = json_str(
        &h.refresh("spa", &bound, Some(&h.proof(&k1, true))),
        "refresh_token",
    );
    h.clock.advance(1);
    assert_error(
        &h.refresh("spa", &bound, Some(&h.proof(&k2, true))),
        400,
        "invalid_grant",
        "does not match",
    );
    assert_error(
        &h.refresh("spa", &bound, None),
        400,
        "invalid_grant",
        "bound to a DPoP key",
    );
    assert_eq!(revoked_families(&h.app.store), 0);
    assert_dpop_bound(&h.refresh("spa", &current, Some(&h.proof(&k1, true))), &k1);
}

/// RFC 7009 §2.1 with RFC 9449 §5: an old token of a DPoP-bound family is useless without
/// the key (a key mismatch at the token endpoint), so `/oauth/revoke`, which proves no key,
/// does not let it end the session; the current token and the one it replaced still do.
#[test]
fn rfc7009_2_1_an_old_token_of_a_bound_family_does_not_revoke_it() {
    let h = harness();
    let k1 = key("dpop_key_1");
    let (_, r1) = h.spa_tokens(API);
    let r2 = json_str(
        &h.refresh("spa", &r1, Some(&h.proof(&k1, true))),
        "refresh_token",
    );
    h.clock.advance(1);
    let r3 = json_str(
        &h.refresh("spa", &r2, Some(&h.proof(&k1, true))),
        "refresh_token",
    );
    h.clock.advance(1);
    let _ = h.refresh("spa", &r1, None);
    assert_eq!(revoked_families(&h.app.store), 0);
    let revoke = |token: &str| {
        h.send(
            &HttpRequest::new("POST", "/oauth/revoke")
                .with_header("content-type", "application/x-www-form-urlencoded")
                .with_body(format!("client_id=spa&token={token}").into_bytes()),
        )
    };
    assert_eq!(revoke(&r1).status, 200);
    assert_eq!(
        revoked_families(&h.app.store),
        0,
        "an old token revoked a bound family"
    );
    let r4 = h.refresh("spa", &r3, Some(&h.proof(&k1, true)));
    assert_eq!(r4.status, 200);
    // The token just rotated out (the previous one) still revokes.
    assert_eq!(revoke(&r3).status, 200);
    assert_eq!(revoked_families(&h.app.store), 1);
}

/// Two copies of one DPoP exchange, proof and all, sent at the same instant (a proxy or
/// browser retrying the POST): the second may find the code taken before the first has
/// recorded the proof's `jti`. It is still a copy of that request: `invalid_dpop_proof`,
/// and the family the first one is issuing is not revoked. The interleaving is made here
/// by removing the `jti` marker the first exchange wrote.
#[test]
fn rfc9449_11_1_a_copy_of_the_exchange_before_its_jti_is_recorded_revokes_nothing() {
    let h = harness();
    let k1 = key("dpop_key_1");
    let code = h.spa_code("spa", API, "");
    let proof = h.proof(&k1, true);
    let rt = json_str(&h.exchange("spa", &code, Some(&proof)), "refresh_token");
    let markers = block_on(Store::list(&h.app.store, "jti:")).unwrap();
    assert_eq!(markers.len(), 1, "{markers:?}");
    block_on(Store::delete(&h.app.store, &markers[0])).unwrap();
    let copy = h.exchange("spa", &code, Some(&proof));
    assert_error(&copy, 400, "invalid_dpop_proof", "jti");
    assert_eq!(revoked_families(&h.app.store), 0);
    h.clock.advance(1);
    assert_dpop_bound(&h.refresh("spa", &rt, Some(&h.proof(&k1, true))), &k1);
}

/// A code exchange whose proof's `jti` marker cannot be written (the key's Durable Object
/// shard is out of reach) is a `500` that leaves the code usable: the marker is recorded
/// before the write that hands out tokens, so the client's retry with a fresh proof is
/// not a replay of the code. On the isolate that wrote the code (its copy) and on any
/// other.
#[test]
fn rfc9449_11_1_a_code_exchange_whose_jti_marker_cannot_be_written_leaves_the_code_usable() {
    for copies in [true, false] {
        let h = harness();
        h.app.store.keep_copies(copies);
        let k1 = key("dpop_key_1");
        let code = h.spa_code("spa", API, "");
        h.app
            .store
            .fail_writes_to(Some(("jti:", StoreError::Backend("out of reach".into()))));
        let failed = h.exchange("spa", &code, Some(&h.proof(&k1, true)));
        assert_error(&failed, 500, "server_error", "");
        h.app.store.fail_writes_to(None);
        assert_eq!(h.app.store.count("family:"), 0, "copies: {copies}");
        let retry = h.exchange("spa", &code, Some(&h.proof(&k1, true)));
        assert_dpop_bound(&retry, &k1);
        assert_eq!(revoked_families(&h.app.store), 0);
        h.clock.advance(1);
        let rt = json_str(&retry, "refresh_token");
        assert_dpop_bound(&h.refresh("spa", &rt, Some(&h.proof(&k1, true))), &k1);
    }
}

/// A code exchange with a proof whose `jti` was used before (RFC 9449 §11.1) is
/// `invalid_dpop_proof` and leaves the code usable: whoever replays a captured proof with
/// a code must not spend the code, nor make the client's own exchange look like a
/// replay that revokes.
#[test]
fn rfc9449_11_1_a_code_exchange_with_a_used_proof_leaves_the_code_usable() {
    for copies in [true, false] {
        let h = harness();
        h.app.store.keep_copies(copies);
        let k1 = key("dpop_key_1");
        let used = h.proof(&k1, true);
        let first = h.spa_code("spa", API, "");
        assert_dpop_bound(&h.exchange("spa", &first, Some(&used)), &k1);
        let code = h.spa_code("spa", API, "");
        let replay = h.exchange("spa", &code, Some(&used));
        assert_error(&replay, 400, "invalid_dpop_proof", "jti");
        let resp = h.exchange("spa", &code, Some(&h.proof(&k1, true)));
        assert_dpop_bound(&resp, &k1);
        assert_eq!(revoked_families(&h.app.store), 0, "copies: {copies}");
    }
}

/// A used code bound to a key (`dpop_jkt`) replayed without a proof of that key (the
/// captured body alone, or a proof of another key) is `invalid_grant` and revokes
/// nothing: whoever sent it does not hold the client's key, so it must not end the
/// client's session. The bound key itself revokes.
#[test]
fn rfc9449_10_replayed_code_without_the_dpop_jkt_key_does_not_revoke() {
    let k1 = key("dpop_key_1");
    let k2 = key("dpop_key_2");
    let h = harness();
    let code = h.spa_code("spa", API, &format!("&dpop_jkt={}", k1.thumbprint()));
    let rt = json_str(
        &h.exchange("spa", &code, Some(&h.proof(&k1, true))),
        "refresh_token",
    );
    for replay in [None, Some(h.proof(&k2, true))] {
        let res = h.exchange("spa", &code, replay.as_deref());
        assert_error(&res, 400, "invalid_grant", "");
        assert_eq!(revoked_families(&h.app.store), 0, "{replay:?}");
    }
    h.clock.advance(1);
    let rt2 = json_str(
        &h.refresh("spa", &rt, Some(&h.proof(&k1, true))),
        "refresh_token",
    );
    let fresh = h.exchange("spa", &code, Some(&h.proof(&k1, true)));
    assert_error(&fresh, 400, "invalid_grant", "already used");
    assert_eq!(revoked_families(&h.app.store), 1);
    assert_eq!(
        h.refresh("spa", &rt2, Some(&h.proof(&k1, true))).status,
        400
    );
}

/// A code without `dpop_jkt` redeemed first by someone else (a thief with the code and
/// its verifier, and a DPoP key of its own): the real client's replay, with its own key
/// or none, still revokes what the thief got (RFC 6749 §4.1.2). The key the family was
/// bound to is the thief's and cannot make the replay harmless.
#[test]
fn rfc6749_4_1_2_a_thief_who_redeems_first_with_its_own_key_is_still_revoked() {
    let thief = key("dpop_key_2");
    for replay in [None, Some(key("dpop_key_1"))] {
        let h = harness();
        let code = h.spa_code("spa", API, "");
        let stolen = json_str(
            &h.exchange("spa", &code, Some(&h.proof(&thief, true))),
            "refresh_token",
        );
        let proof = replay.as_ref().map(|k| h.proof(k, true));
        let res = h.exchange("spa", &code, proof.as_deref());
        assert_error(&res, 400, "invalid_grant", "already used");
        assert_eq!(revoked_families(&h.app.store), 1);
        h.clock.advance(1);
        assert_error(
            &h.refresh("spa", &stolen, Some(&h.proof(&thief, true))),
            400,
            "invalid_grant",
            "",
        );
    }
}

/// RFC 9449 §11.1 with RFC 6749 §4.1.2: a captured code exchange replayed with its own
/// proof is `invalid_dpop_proof` and revokes nothing (whoever replays it may hold no key);
/// the same code with a fresh proof of the key is a replay and revokes.
#[test]
fn rfc9449_11_1_replayed_code_exchange_with_its_proof_does_not_revoke() {
    let h = harness();
    let k1 = key("dpop_key_1");
    let code = h.spa_code("spa", API, "");
    let captured = h.proof(&k1, true);
    let rt = json_str(&h.exchange("spa", &code, Some(&captured)), "refresh_token");
    let replay = h.exchange("spa", &code, Some(&captured));
    assert_error(&replay, 400, "invalid_dpop_proof", "");
    assert_eq!(revoked_families(&h.app.store), 0);
    h.clock.advance(1);
    let rt2 = json_str(
        &h.refresh("spa", &rt, Some(&h.proof(&k1, true))),
        "refresh_token",
    );
    h.clock.advance(1);
    let fresh = h.exchange("spa", &code, Some(&h.proof(&k1, true)));
    assert_error(&fresh, 400, "invalid_grant", "already used");
    assert_eq!(revoked_families(&h.app.store), 1);
    assert_eq!(
        h.refresh("spa", &rt2, Some(&h.proof(&k1, true))).status,
        400
    );
}
