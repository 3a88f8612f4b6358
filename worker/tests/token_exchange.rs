//! Token exchange (RFC 8693) natively, against the memory store: impersonation and
//! delegation (`act`, nested for chains, `may_act`), every narrowing rule (scope subset of
//! the subject token's and the client grant's, audiences only with a client grant,
//! lifetime), every refusal with its RFC error, key-bound subject tokens, ID tokens as
//! subjects, and refresh tokens tied to the subject token's family.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::*;
use edge_oauth::dpop::{DpopKey, ProofOptions};
use edge_oauth_worker::config::Config;
use edge_oauth_worker::grants::token_exchange::{
    ACCESS_TOKEN_TYPE, ID_TOKEN_TYPE, TOKEN_EXCHANGE_GRANT,
};
use edge_oauth_worker::http::{HttpRequest, HttpResponse};
use edge_oauth_worker::platform::NativePlatform;
use serde_json::{Value, json};

const DOCS: &str = "https://docs.example.com";
const RS_SECRET: &str = "rs-secret-abcdefghijklmnopqrstuvwxyz0123456";

fn harness() -> Harness {
    harness_with(|c| c)
}

fn harness_with(tweak: impl FnOnce(Config) -> Config) -> Harness {
    let v = vectors();
    let (clock, store) = Harness::clock_and_store();
    put(
        &store,
        "client:web",
        &client(
            "web",
            "regular_web",
            "client_secret_basic",
            &["authorization_code", "refresh_token", TOKEN_EXCHANGE_GRANT],
            Some(WEB_SECRET),
            &[WEB_CB],
        ),
    );
    put(
        &store,
        "client:rs",
        &client(
            "rs",
            "m2m",
            "client_secret_basic",
            &["client_credentials", TOKEN_EXCHANGE_GRANT],
            Some(RS_SECRET),
            &[],
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
        &format!("api:{API}"),
        &json!({"identifier": API, "scopes": ["read:items", "write:items"], "token_lifetime": 3600, "allow_offline_access": true}),
    );
    put(
        &store,
        &format!("api:{DOCS}"),
        &json!({"identifier": DOCS, "scopes": ["read:items", "read:docs"], "token_lifetime": 7200, "allow_offline_access": true}),
    );
    for (id, aud, scopes) in [
        ("rs", DOCS, json!(["read:items", "read:docs"])),
        ("rs", API, json!(["read:items"])),
        ("m2m", API, json!(["read:items"])),
        ("web", DOCS, json!(["read:items"])),
    ] {
        put(
            &store,
            &format!("grant:{id}:{aud}"),
            &json!({"client_id": id, "audience": aud, "scopes": scopes}),
        );
    }
    put_alice(&store);
    let platform = NativePlatform::new(clock.clone());
    Harness::new(tweak(config(&v, None)), store, platform, clock)
}

impl Harness {
    /// The web client's tokens for alice (code flow), with `scope` at the API.
    fn user_tokens(&self, scope: &str) -> Value {
        self.user_tokens_with(scope, "")
    }

    /// [`Self::user_tokens`] with `extra` (`&name=value...`) added to the authorization
    /// request.
    fn user_tokens_with(&self, scope: &str, extra: &str) -> Value {
        let resp = self.send(&HttpRequest::new(
            "GET",
            &format!(
                "/authorize?response_type=code&client_id=web&redirect_uri={}&scope={}&audience={}{extra}",
                enc(WEB_CB),
                enc(scope),
                enc(API)
            ),
        ));
        assert_eq!(resp.status, 200);
        let resp = self.send(&login_request(
            &hidden_tx(&resp),
            "alice@example.com",
            PASSWORD,
        ));
        let code = query_param(resp.header("location").unwrap(), "code").unwrap();
        let resp = self.post(
            "/oauth/token",
            &format!(
                "grant_type=authorization_code&code={code}&redirect_uri={}",
                enc(WEB_CB)
            ),
            &[("authorization", &basic("web", WEB_SECRET))],
        );
        assert_eq!(resp.status, 200, "{}", body(&resp));
        resp.json_body()
    }

    fn client_token(&self, id: &str, secret: &str) -> String {
        let resp = self.post(
            "/oauth/token",
            &format!("grant_type=client_credentials&audience={}", enc(API)),
            &[("authorization", &basic(id, secret))],
        );
        assert_eq!(resp.status, 200);
        json_str(&resp, "access_token")
    }

    fn exchange_as(&self, id: &str, secret: &str, params: &[(&str, &str)]) -> HttpResponse {
        self.exchange_with(id, secret, params, &[])
    }

    fn exchange_with(
        &self,
        id: &str,
        secret: &str,
        params: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> HttpResponse {
        let mut body = format!("grant_type={}", enc(TOKEN_EXCHANGE_GRANT));
        for (k, v) in params {
            body.push_str(&format!("&{k}={}", enc(v)));
        }
        let auth = basic(id, secret);
        let mut all = vec![("authorization", auth.as_str())];
        all.extend_from_slice(headers);
        self.post("/oauth/token", &body, &all)
    }

    fn exchange(&self, params: &[(&str, &str)]) -> HttpResponse {
        self.exchange_as("rs", RS_SECRET, params)
    }
}

fn body(resp: &HttpResponse) -> String {
    String::from_utf8_lossy(&resp.body).into_owned()
}

fn assert_error(resp: &HttpResponse, error: &str, description: &str) {
    assert_eq!(resp.status, 400, "{}", body(resp));
    assert_eq!(error_of(resp), error, "{}", body(resp));
    assert!(
        json_str(resp, "error_description").contains(description),
        "{}",
        body(resp)
    );
    assert_eq!(resp.header("cache-control"), Some("no-store"));
}

#[test]
fn rfc8693_2_2_1_impersonation_narrows_to_the_new_audience() {
    let h = harness();
    let user = h.user_tokens("read:items write:items");
    let subject = user["access_token"].as_str().unwrap();
    let resp = h.exchange(&[
        ("subject_token", subject),
        ("subject_token_type", ACCESS_TOKEN_TYPE),
        ("audience", DOCS),
        ("scope", "read:items"),
    ]);
    assert_eq!(resp.status, 200, "{}", body(&resp));
    let v = resp.json_body();
    assert_eq!(v["issued_token_type"], json!(ACCESS_TOKEN_TYPE));
    assert_eq!(v["token_type"], json!("Bearer"));
    assert_eq!(v["scope"], json!("read:items"));
    assert!(v.get("refresh_token").is_none());
    // Never beyond the subject token (3600 s at the API; the docs API allows 7200).
    assert_eq!(v["expires_in"], json!(3600));
    let at = claims(v["access_token"].as_str().unwrap());
    assert_eq!(at["sub"], json!("user|alice"));
    assert_eq!(at["aud"], json!(DOCS));
    assert_eq!(at["client_id"], json!("rs"));
    assert!(at.get("act").is_none());
    assert_eq!(
        at["exp"],
        claims(subject)["exp"],
        "the new token ends with the subject token"
    );
    // Without scope: everything the subject had that the client's grant allows.
    let resp = h.exchange(&[
        ("subject_token", subject),
        ("subject_token_type", ACCESS_TOKEN_TYPE),
        ("resource", DOCS),
    ]);
    assert_eq!(json_str(&resp, "scope"), "read:items");
    // Without audience: the subject token's own API (the client has a grant for it).
    let resp = h.exchange(&[
        ("subject_token", subject),
        ("subject_token_type", ACCESS_TOKEN_TYPE),
    ]);
    assert_eq!(resp.status, 200, "{}", body(&resp));
    assert_eq!(claims(&json_str(&resp, "access_token"))["aud"], json!(API));
    assert_eq!(json_str(&resp, "scope"), "read:items");
}

#[test]
fn rfc8693_4_1_delegation_puts_the_actor_in_act_nested_for_chains() {
    let h = harness();
    let user = h.user_tokens("read:items");
    let subject = user["access_token"].as_str().unwrap().to_owned();
    let actor = h.client_token("rs", RS_SECRET);
    let resp = h.exchange(&[
        ("subject_token", &subject),
        ("subject_token_type", ACCESS_TOKEN_TYPE),
        ("actor_token", &actor),
        ("actor_token_type", ACCESS_TOKEN_TYPE),
        ("audience", DOCS),
    ]);
    assert_eq!(resp.status, 200, "{}", body(&resp));
    let first = json_str(&resp, "access_token");
    let at = claims(&first);
    assert_eq!(at["sub"], json!("user|alice"));
    assert_eq!(at["act"], json!({"sub": "rs@clients"}));
    // The delegated token exchanged again with another actor: the chain nests.
    let second_actor = h.client_token("m2m", M2M_SECRET);
    let resp = h.exchange(&[
        ("subject_token", &first),
        ("subject_token_type", ACCESS_TOKEN_TYPE),
        ("actor_token", &second_actor),
        ("actor_token_type", ACCESS_TOKEN_TYPE),
    ]);
    assert_eq!(resp.status, 200, "{}", body(&resp));
    let at = claims(&json_str(&resp, "access_token"));
    assert_eq!(
        at["act"],
        json!({"sub": "m2m@clients", "act": {"sub": "rs@clients"}})
    );
    // Without an actor, a delegated subject stays delegated.
    let resp = h.exchange(&[
        ("subject_token", &first),
        ("subject_token_type", ACCESS_TOKEN_TYPE),
    ]);
    assert_eq!(
        claims(&json_str(&resp, "access_token"))["act"],
        json!({"sub": "rs@clients"})
    );
}

#[test]
fn rfc8693_2_1_widening_is_refused() {
    let h = harness();
    let user = h.user_tokens("read:items write:items");
    let subject = user["access_token"].as_str().unwrap();
    let base = [
        ("subject_token", subject),
        ("subject_token_type", ACCESS_TOKEN_TYPE),
    ];
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut p = base.to_vec();
        p.extend_from_slice(extra);
        h.exchange(&p)
    };
    // A scope the subject token does not have.
    assert_error(
        &with(&[("audience", DOCS), ("scope", "read:docs")]),
        "invalid_scope",
        "not in the subject token's scope",
    );
    // A scope the subject has but the client's grant for the audience does not.
    assert_error(
        &with(&[("audience", DOCS), ("scope", "read:items write:items")]),
        "invalid_scope",
        "grant for the audience does not include the scope write:items",
    );
    // An audience without a client grant, an unknown one, two different ones.
    let resp = h.exchange_as(
        "web",
        WEB_SECRET,
        &[
            ("subject_token", subject),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
            ("audience", API),
        ],
    );
    assert_error(
        &resp,
        "invalid_target",
        "may not exchange tokens for this audience",
    );
    assert_error(
        &with(&[("audience", "https://nope.example")]),
        "invalid_target",
        "not a known API",
    );
    assert_error(
        &with(&[("audience", DOCS), ("resource", API)]),
        "invalid_target",
        "different APIs",
    );
}

#[test]
fn rfc8693_2_2_2_refusals_are_precise() {
    let h = harness();
    let user = h.user_tokens("read:items");
    let subject = user["access_token"].as_str().unwrap();
    assert_error(
        &h.exchange(&[("subject_token_type", ACCESS_TOKEN_TYPE)]),
        "invalid_request",
        "subject_token is required",
    );
    assert_error(
        &h.exchange(&[("subject_token", subject)]),
        "invalid_request",
        "subject_token_type is required",
    );
    assert_error(
        &h.exchange(&[
            ("subject_token", subject),
            (
                "subject_token_type",
                "urn:ietf:params:oauth:token-type:saml2",
            ),
        ]),
        "invalid_request",
        "subject_token_type is not supported",
    );
    assert_error(
        &h.exchange(&[
            ("subject_token", subject),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
            ("actor_token", subject),
        ]),
        "invalid_request",
        "actor_token_type is required",
    );
    assert_error(
        &h.exchange(&[
            ("subject_token", subject),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
            (
                "requested_token_type",
                "urn:ietf:params:oauth:token-type:refresh_token",
            ),
        ]),
        "invalid_request",
        "requested_token_type is not supported",
    );
    // Tampered, of the wrong type, and expired.
    let mut tampered = subject.to_owned();
    tampered.pop();
    tampered.push(if subject.ends_with('A') { 'B' } else { 'A' });
    assert_error(
        &h.exchange(&[
            ("subject_token", &tampered),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
        ]),
        "invalid_request",
        "subject_token is invalid",
    );
    assert_error(
        &h.exchange(&[
            ("subject_token", subject),
            ("subject_token_type", ID_TOKEN_TYPE),
        ]),
        "invalid_request",
        "typ does not match",
    );
    // A client without the grant.
    let resp = h.post(
        "/oauth/token",
        &format!(
            "grant_type={}&subject_token={subject}&subject_token_type={}",
            enc(TOKEN_EXCHANGE_GRANT),
            enc(ACCESS_TOKEN_TYPE)
        ),
        &[("authorization", &basic("m2m", M2M_SECRET))],
    );
    assert_error(&resp, "unauthorized_client", "not allowed");
    h.clock.advance(3601);
    assert_error(
        &h.exchange(&[
            ("subject_token", subject),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
        ]),
        "invalid_request",
        "expired",
    );
}

#[test]
fn rfc8693_3_id_token_subject_only_from_its_own_client_and_without_scope() {
    let h = harness();
    let user = h.user_tokens("openid read:items");
    let id_token = user["id_token"].as_str().unwrap();
    // The web client exchanges its own ID token.
    let resp = h.exchange_as(
        "web",
        WEB_SECRET,
        &[
            ("subject_token", id_token),
            ("subject_token_type", ID_TOKEN_TYPE),
            ("audience", DOCS),
        ],
    );
    assert_eq!(resp.status, 200, "{}", body(&resp));
    let at = claims(&json_str(&resp, "access_token"));
    assert_eq!(at["sub"], json!("user|alice"));
    assert!(at.get("scope").is_none(), "an ID token carries no scope");
    // ...and may not widen into scopes.
    let resp = h.exchange_as(
        "web",
        WEB_SECRET,
        &[
            ("subject_token", id_token),
            ("subject_token_type", ID_TOKEN_TYPE),
            ("audience", DOCS),
            ("scope", "read:items"),
        ],
    );
    assert_error(&resp, "invalid_scope", "not in the subject token's scope");
    // Another client cannot use it.
    assert_error(
        &h.exchange(&[
            ("subject_token", id_token),
            ("subject_token_type", ID_TOKEN_TYPE),
            ("audience", DOCS),
        ]),
        "invalid_request",
        "issued to another client",
    );
    // Without an audience there is no API to default to.
    let resp = h.exchange_as(
        "web",
        WEB_SECRET,
        &[
            ("subject_token", id_token),
            ("subject_token_type", ID_TOKEN_TYPE),
        ],
    );
    assert_error(
        &resp,
        "invalid_request",
        "audience (or resource) is required",
    );
}

#[test]
fn rfc8693_subject_user_must_still_exist() {
    let h = harness();
    let user = h.user_tokens("read:items");
    let subject = user["access_token"].as_str().unwrap();
    block_on_delete(&h, "user:alice@example.com");
    assert_error(
        &h.exchange(&[
            ("subject_token", subject),
            ("subject_token_type", ACCESS_TOKEN_TYPE),
        ]),
        "invalid_request",
        "no longer exists",
    );
}

/// RFC 7009 §2.1 with RFC 8693 §2.2.2: once the session behind an access token is
/// revoked (the user signed out), the token, unexpired as it is, is no longer exchanged
/// into new ones: `invalid_request`, as for any unacceptable subject or actor token.
#[test]
fn rfc7009_2_1_the_access_token_of_a_revoked_session_is_not_exchanged() {
    let h = harness();
    let user = h.user_tokens("offline_access read:items");
    let subject = user["access_token"].as_str().unwrap();
    let params = [
        ("subject_token", subject),
        ("subject_token_type", ACCESS_TOKEN_TYPE),
        ("audience", DOCS),
    ];
    assert_eq!(h.exchange(&params).status, 200);
    let actor = [
        ("subject_token", h.client_token("m2m", M2M_SECRET)),
        ("subject_token_type", ACCESS_TOKEN_TYPE.to_owned()),
        ("actor_token", subject.to_owned()),
        ("actor_token_type", ACCESS_TOKEN_TYPE.to_owned()),
    ];
    let actor: Vec<(&str, &str)> = actor.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(h.exchange(&actor).status, 200, "as an actor");
    let resp = h.post(
        "/oauth/revoke",
        &format!(
            "token={}&token_type_hint=refresh_token",
            user["refresh_token"].as_str().unwrap()
        ),
        &[("authorization", &basic("web", WEB_SECRET))],
    );
    assert_eq!(resp.status, 200);
    assert_error(&h.exchange(&params), "invalid_request", "session has ended");
    assert_error(&h.exchange(&actor), "invalid_request", "session has ended");
}

/// A token exchanged without a family of its own names the subject's session (`sid`), as
/// the ID token of a session does: exchanging either after the session was revoked is
/// refused too, so one exchange before a revocation cannot carry the session past it.
#[test]
fn rfc7009_2_1_tokens_exchanged_or_issued_with_a_session_end_with_it() {
    let h = harness();
    let user = h.user_tokens("openid offline_access read:items");
    let subject = user["access_token"].as_str().unwrap();
    let id_token = user["id_token"].as_str().unwrap();
    let sid = claims(subject)["sid"].clone();
    assert_eq!(
        claims(id_token)["sid"],
        sid,
        "the ID token names the session"
    );
    let resp = h.exchange(&[
        ("subject_token", subject),
        ("subject_token_type", ACCESS_TOKEN_TYPE),
        ("audience", DOCS),
    ]);
    assert_eq!(resp.status, 200, "{}", body(&resp));
    let exchanged = json_str(&resp, "access_token");
    assert_eq!(
        claims(&exchanged)["sid"],
        sid,
        "the exchanged token names it too"
    );
    let again = [
        ("subject_token", exchanged.as_str()),
        ("subject_token_type", ACCESS_TOKEN_TYPE),
        ("audience", API),
    ];
    assert_eq!(h.exchange(&again).status, 200);
    let by_id_token = [
        ("subject_token", id_token),
        ("subject_token_type", ID_TOKEN_TYPE),
        ("audience", DOCS),
    ];
    assert_eq!(h.exchange_as("web", WEB_SECRET, &by_id_token).status, 200);
    let resp = h.post(
        "/oauth/revoke",
        &format!(
            "token={}&token_type_hint=refresh_token",
            user["refresh_token"].as_str().unwrap()
        ),
        &[("authorization", &basic("web", WEB_SECRET))],
    );
    assert_eq!(resp.status, 200);
    assert_error(&h.exchange(&again), "invalid_request", "session has ended");
    assert_error(
        &h.exchange_as("web", WEB_SECRET, &by_id_token),
        "invalid_request",
        "session has ended",
    );
}

/// Exchanged refresh-token families record the families they came from, and every refresh
/// reads them: a chain of exchanges stops at 8.
#[test]
fn rfc8693_a_chain_of_exchanged_sessions_stops_at_eight() {
    let h = harness_with(|c| c.with_token_exchange_refresh_tokens(Some("true")).unwrap());
    let user = h.user_tokens("offline_access read:items");
    let mut subject = user["access_token"].as_str().unwrap().to_owned();
    for depth in 1..=9 {
        let resp = h.exchange_as(
            "web",
            WEB_SECRET,
            &[
                ("subject_token", subject.as_str()),
                ("subject_token_type", ACCESS_TOKEN_TYPE),
                ("audience", DOCS),
                ("scope", "offline_access read:items"),
            ],
        );
        if depth <= 8 {
            assert_eq!(resp.status, 200, "{depth}: {}", body(&resp));
            assert!(resp.json_body().get("refresh_token").is_some());
            subject = json_str(&resp, "access_token");
        } else {
            assert_error(&resp, "invalid_request", "exchanged from 8 others");
        }
    }
}

/// A client-credentials token issued for an organization (its `org_id`) is exchanged while
/// the organization still enables that client's grant for the token's API; a client is no
/// member of an organization.
#[test]
fn rfc8693_an_organization_client_token_is_exchanged_while_the_organization_enables_it() {
    let h = harness();
    put(
        &h.app.store,
        &format!("grant:m2m:{API}"),
        &json!({"client_id": "m2m", "audience": API, "scopes": ["read:items"], "organization_usage": "allow"}),
    );
    let org = |grants: Value| json!({"id": "org_acme0000000000001", "name": "acme", "members": [], "client_grants": grants});
    put(
        &h.app.store,
        "org:org_acme0000000000001",
        &org(json!([{"client_id": "m2m", "audience": API}])),
    );
    put(
        &h.app.store,
        "org_name:acme",
        &json!({"id": "org_acme0000000000001"}),
    );
    let resp = h.post(
        "/oauth/token",
        &format!(
            "grant_type=client_credentials&audience={}&organization=acme",
            enc(API)
        ),
        &[("authorization", &basic("m2m", M2M_SECRET))],
    );
    assert_eq!(resp.status, 200, "{}", body(&resp));
    let token = json_str(&resp, "access_token");
    assert_eq!(claims(&token)["org_id"], "org_acme0000000000001");
    let params = [
        ("subject_token", token.as_str()),
        ("subject_token_type", ACCESS_TOKEN_TYPE),
        ("audience", DOCS),
    ];
    let resp = h.exchange(&params);
    assert_eq!(resp.status, 200, "{}", body(&resp));
    put(&h.app.store, "org:org_acme0000000000001", &org(json!([])));
    assert_error(
        &h.exchange(&params),
        "invalid_request",
        "no longer enabled by it",
    );
}

/// A subject token issued for an organization is exchanged only while its user is still
/// a member, and the new token names the organization as its record does now.
#[test]
fn rfc8693_an_organization_token_is_exchanged_only_for_a_member() {
    let h = harness_with(|c| c.with_organization_names(Some("true")).unwrap());
    let org = json!({"id": "org_acme0000000000001", "name": "acme", "members": ["user|alice"]});
    put(&h.app.store, "org:org_acme0000000000001", &org);
    put(
        &h.app.store,
        "org_name:acme",
        &json!({"id": "org_acme0000000000001"}),
    );
    let user = h.user_tokens_with("read:items", "&organization=acme");
    let subject = user["access_token"].as_str().unwrap();
    assert_eq!(claims(subject)["org_id"], "org_acme0000000000001");
    let params = [
        ("subject_token", subject),
        ("subject_token_type", ACCESS_TOKEN_TYPE),
        ("audience", DOCS),
    ];
    let resp = h.exchange(&params);
    assert_eq!(resp.status, 200, "{}", body(&resp));
    let exchanged = claims(&json_str(&resp, "access_token"));
    assert_eq!(exchanged["org_id"], "org_acme0000000000001");
    assert_eq!(exchanged["org_name"], "acme");
    put(
        &h.app.store,
        "org:org_acme0000000000001",
        &json!({"id": "org_acme0000000000001", "name": "acme-renamed", "members": ["user|alice"]}),
    );
    let resp = h.exchange(&params);
    assert_eq!(
        claims(&json_str(&resp, "access_token"))["org_name"],
        "acme-renamed"
    );
    put(
        &h.app.store,
        "org:org_acme0000000000001",
        &json!({"id": "org_acme0000000000001", "name": "acme", "members": []}),
    );
    assert_error(
        &h.exchange(&params),
        "invalid_request",
        "no longer a member of the organization",
    );
}

fn block_on_delete(h: &Harness, key: &str) {
    edge_oauth_worker::testing::block_on(edge_oauth_worker::store::Store::delete(
        &h.app.store,
        key,
    ))
    .unwrap();
}

#[test]
fn rfc9449_a_dpop_bound_subject_needs_a_proof_of_its_key() {
    let h = harness();
    let jwk = &vectors()["dpop_generated_proofs"]["dpop_generated"]["private_keys"]["dpop_key_1"];
    let key = DpopKey::from_private_jwk_json(&jwk.to_string()).unwrap();
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    let token_url = format!("{ISSUER}oauth/token");
    let proof = |key: &DpopKey| {
        key.create_proof(
            &ProofOptions::new("POST", &token_url, h.clock.now()),
            &mut rand_core::UnwrapErr(getrandom::SysRng),
        )
        .unwrap()
    };
    // A DPoP-bound client-credentials token of rs as the subject.
    let resp = h.post(
        "/oauth/token",
        &format!("grant_type=client_credentials&audience={}", enc(API)),
        &[
            ("authorization", &basic("rs", RS_SECRET)),
            (
                "dpop",
                &key.create_proof(
                    &ProofOptions::new("POST", &token_url, h.clock.now()),
                    &mut rng,
                )
                .unwrap(),
            ),
        ],
    );
    assert_eq!(resp.status, 200, "{}", body(&resp));
    let bound = json_str(&resp, "access_token");
    let params = [
        ("subject_token", bound.as_str()),
        ("subject_token_type", ACCESS_TOKEN_TYPE),
    ];
    assert_error(
        &h.exchange(&params),
        "invalid_request",
        "bound to a DPoP key",
    );
    let other = DpopKey::from_private_jwk_json(
        &vectors()["dpop_generated_proofs"]["dpop_generated"]["private_keys"]["dpop_key_2"]
            .to_string(),
    )
    .unwrap();
    let resp = h.exchange_with("rs", RS_SECRET, &params, &[("dpop", &proof(&other))]);
    assert_error(&resp, "invalid_request", "bound to a DPoP key");
    let resp = h.exchange_with("rs", RS_SECRET, &params, &[("dpop", &proof(&key))]);
    assert_eq!(resp.status, 200, "{}", body(&resp));
    assert_eq!(json_str(&resp, "token_type"), "DPoP");
    assert_eq!(
        claims(&json_str(&resp, "access_token"))["cnf"]["jkt"],
        json!(key.thumbprint())
    );
}

#[test]
fn rfc8693_refresh_token_only_with_the_setting_and_tied_to_the_subject_family() {
    // Off by default: no refresh token even with offline_access.
    let h = harness();
    let user = h.user_tokens("offline_access read:items");
    let subject = user["access_token"].as_str().unwrap();
    assert!(claims(subject).contains_key("sid"), "names its family");
    let params = [
        ("subject_token", subject),
        ("subject_token_type", ACCESS_TOKEN_TYPE),
        ("audience", DOCS),
        ("scope", "offline_access read:items"),
    ];
    let resp = h.exchange_as("web", WEB_SECRET, &params);
    assert_eq!(resp.status, 200, "{}", body(&resp));
    assert!(resp.json_body().get("refresh_token").is_none());
    assert_eq!(json_str(&resp, "scope"), "read:items");

    let h = harness_with(|c| c.with_token_exchange_refresh_tokens(Some("true")).unwrap());
    let user = h.user_tokens("offline_access read:items");
    let subject = user["access_token"].as_str().unwrap().to_owned();
    let subject_refresh = user["refresh_token"].as_str().unwrap().to_owned();
    let params = [
        ("subject_token", subject.as_str()),
        ("subject_token_type", ACCESS_TOKEN_TYPE),
        ("audience", DOCS),
        ("scope", "offline_access read:items"),
    ];
    let resp = h.exchange_as("web", WEB_SECRET, &params);
    assert_eq!(resp.status, 200, "{}", body(&resp));
    let exchanged = json_str(&resp, "refresh_token");
    let refresh = |token: &str| {
        h.post(
            "/oauth/token",
            &format!("grant_type=refresh_token&refresh_token={token}"),
            &[("authorization", &basic("web", WEB_SECRET))],
        )
    };
    let resp = refresh(&exchanged);
    assert_eq!(resp.status, 200, "{}", body(&resp));
    assert_eq!(claims(&json_str(&resp, "access_token"))["aud"], json!(DOCS));
    let exchanged = json_str(&resp, "refresh_token");
    // A client that lacks the refresh grant gets none (rs), and so does a subject
    // without a family (a client-credentials token).
    let resp = h.exchange(&[
        ("subject_token", subject.as_str()),
        ("subject_token_type", ACCESS_TOKEN_TYPE),
        ("audience", DOCS),
    ]);
    assert!(resp.json_body().get("refresh_token").is_none());
    // Revoking the subject token's family ends the exchanged one.
    let resp = h.post(
        "/oauth/revoke",
        &format!("token={subject_refresh}&token_type_hint=refresh_token"),
        &[("authorization", &basic("web", WEB_SECRET))],
    );
    assert_eq!(resp.status, 200);
    let resp = refresh(&exchanged);
    assert_eq!(error_of(&resp), "invalid_grant", "{}", body(&resp));
    // And a new exchange of the (still unexpired) subject token gets no new family.
    let resp = h.exchange_as("web", WEB_SECRET, &params);
    assert_error(&resp, "invalid_request", "session has ended");
}
