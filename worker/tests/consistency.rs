//! Exactly-once codes, race-free refresh rotation and replay markers, natively.
//!
//! Three stores: the exact [`MemoryStore`] (Durable Object semantics), the same store in
//! stale mode (Workers KV: a read answers the value of up to 60 s ago and the atomic
//! operations are a read then a write), and [`Yielding`], which hands control back to the
//! executor before every operation so that many requests run interleaved, as concurrent
//! requests do inside one Durable Object or worker isolate.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::*;
use edge_oauth_worker::http::{HttpRequest, HttpResponse};
use edge_oauth_worker::platform::NativePlatform;
use edge_oauth_worker::store::counting::{Backend, CountingStore, Counts};
use edge_oauth_worker::store::memory::MemoryStore;
use edge_oauth_worker::store::{Store, StoreError, Swap, Taken};
use edge_oauth_worker::{App, route};
use serde_json::{Value, json};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

const OVERLAP_API: &str = "https://overlap.example.com";
const SHORT_API: &str = "https://short.example.com";

fn seed(store: &MemoryStore) {
    let grants = ["authorization_code", "refresh_token"];
    put(
        store,
        "client:spa",
        &client("spa", "spa", "none", &grants, None, &[SPA_CB]),
    );
    put(
        store,
        "client:spa2",
        &client("spa2", "spa", "none", &grants, None, &[SPA_CB]),
    );
    put(
        store,
        "client:web",
        &client(
            "web",
            "regular_web",
            "client_secret_basic",
            &grants,
            Some(WEB_SECRET),
            &[WEB_CB],
        ),
    );
    put(
        store,
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
        store,
        &format!("grant:m2m:{API}"),
        &json!({"client_id": "m2m", "audience": API, "scopes": ["read:items"]}),
    );
    put(
        store,
        &format!("api:{API}"),
        &json!({"identifier": API, "scopes": ["read:items"], "token_lifetime": 3600, "allow_offline_access": true}),
    );
    put(
        store,
        &format!("api:{OVERLAP_API}"),
        &json!({"identifier": OVERLAP_API, "scopes": ["read:items"], "token_lifetime": 3600, "allow_offline_access": true, "refresh_token_overlap": 10}),
    );
    put(
        store,
        &format!("api:{SHORT_API}"),
        &json!({"identifier": SHORT_API, "scopes": ["read:items"], "token_lifetime": 3600, "allow_offline_access": true,
            "refresh_token_lifetime": 86_400, "refresh_token_idle_lifetime": 3_600}),
    );
    put_alice(store);
}

fn harness() -> Harness {
    let (clock, store) = Harness::clock_and_store();
    seed(&store);
    let platform = NativePlatform::new(clock.clone());
    Harness::new(config(&vectors(), None), store, platform, clock)
}

fn token_request(body: &str, headers: &[(&str, &str)]) -> HttpRequest {
    let mut req = HttpRequest::new("POST", "/oauth/token")
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_body(body.as_bytes().to_vec());
    for (n, v) in headers {
        req = req.with_header(n, v);
    }
    req
}

trait Flows {
    fn code_for(&self, client_id: &str, redirect: &str, aud: &str, pkce: bool) -> String;
    fn spa_code(&self, aud: &str) -> String;
    fn exchange_spa(&self, client_id: &str, code: &str) -> HttpResponse;
    fn exchange_web(&self, code: &str) -> HttpResponse;
    fn refresh(&self, token: &str) -> HttpResponse;
    fn spa_refresh_token(&self, aud: &str) -> String;
}

impl Flows for Harness {
    fn code_for(&self, client_id: &str, redirect: &str, aud: &str, pkce: bool) -> String {
        let challenge = if pkce {
            format!("&code_challenge={CHALLENGE}&code_challenge_method=S256")
        } else {
            String::new()
        };
        let resp = self.send(&HttpRequest::new(
            "GET",
            &format!(
                "/authorize?response_type=code&client_id={client_id}&redirect_uri={}&scope=openid%20offline_access%20read%3Aitems&audience={}{challenge}",
                enc(redirect),
                enc(aud)
            ),
        ));
        assert_eq!(resp.status, 200, "{}", String::from_utf8_lossy(&resp.body));
        let resp = self.send(&login_request(
            &hidden_tx(&resp),
            "alice@example.com",
            PASSWORD,
        ));
        assert_eq!(resp.status, 303);
        query_param(resp.header("location").unwrap(), "code").unwrap()
    }

    fn spa_code(&self, aud: &str) -> String {
        self.code_for("spa", SPA_CB, aud, true)
    }

    fn exchange_spa(&self, client_id: &str, code: &str) -> HttpResponse {
        self.send(&token_request(&spa_exchange_body(client_id, code), &[]))
    }

    fn exchange_web(&self, code: &str) -> HttpResponse {
        self.send(&token_request(
            &format!(
                "grant_type=authorization_code&code={code}&redirect_uri={}",
                enc(WEB_CB)
            ),
            &[("authorization", &basic("web", WEB_SECRET))],
        ))
    }

    fn refresh(&self, token: &str) -> HttpResponse {
        self.send(&token_request(&refresh_body("spa", token), &[]))
    }

    fn spa_refresh_token(&self, aud: &str) -> String {
        let resp = self.exchange_spa("spa", &self.spa_code(aud));
        assert_eq!(resp.status, 200, "{:?}", resp.json_body());
        json_str(&resp, "refresh_token")
    }
}

fn spa_exchange_body(client_id: &str, code: &str) -> String {
    format!(
        "grant_type=authorization_code&client_id={client_id}&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
        enc(SPA_CB)
    )
}

fn refresh_body(client_id: &str, token: &str) -> String {
    format!("grant_type=refresh_token&client_id={client_id}&refresh_token={token}")
}

// ------------------------------------------------- a store that interleaves requests

/// Wraps the exact memory store and yields to the executor once before every operation.
#[derive(Clone)]
struct Yielding(MemoryStore);

struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

impl Store for Yielding {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        YieldOnce(false).await;
        self.0.get(key).await
    }
    async fn put(&self, key: &str, value: &str, ttl: Option<u64>) -> Result<(), StoreError> {
        YieldOnce(false).await;
        self.0.put(key, value, ttl).await
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        YieldOnce(false).await;
        self.0.delete(key).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        YieldOnce(false).await;
        self.0.list(prefix).await
    }
    async fn take(&self, key: &str, receipt: &str, keep: u64) -> Result<Taken, StoreError> {
        YieldOnce(false).await;
        self.0.take(key, receipt, keep).await
    }
    async fn untake(&self, key: &str, receipt: &str) -> Result<(), StoreError> {
        YieldOnce(false).await;
        self.0.untake(key, receipt).await
    }
    async fn put_if_absent(
        &self,
        key: &str,
        value: &str,
        ttl: Option<u64>,
    ) -> Result<bool, StoreError> {
        YieldOnce(false).await;
        self.0.put_if_absent(key, value, ttl).await
    }
    async fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&str>,
        new: &str,
        ttl: Option<u64>,
    ) -> Result<Swap, StoreError> {
        YieldOnce(false).await;
        self.0.compare_and_swap(key, expected, new, ttl).await
    }
}

/// Runs all `requests` through `route` interleaved (round-robin polling) and returns the
/// responses in order.
fn concurrently(h: &Harness, requests: &[HttpRequest]) -> Vec<HttpResponse> {
    let app = App {
        config: config(&vectors(), None),
        store: Yielding(h.app.store.clone()),
        platform: h.app.platform.clone(),
    };
    let mut futures: Vec<Pin<Box<dyn Future<Output = HttpResponse> + '_>>> = requests
        .iter()
        .map(|r| Box::pin(route(&app, r)) as Pin<Box<dyn Future<Output = HttpResponse>>>)
        .collect();
    let mut out: Vec<Option<HttpResponse>> = requests.iter().map(|_| None).collect();
    let mut cx = Context::from_waker(Waker::noop());
    while out.iter().any(Option::is_none) {
        for (i, f) in futures.iter_mut().enumerate() {
            if out[i].is_none()
                && let Poll::Ready(resp) = f.as_mut().poll(&mut cx)
            {
                out[i] = Some(resp);
            }
        }
    }
    out.into_iter().map(Option::unwrap).collect()
}

fn statuses(resps: &[HttpResponse]) -> (usize, usize) {
    let ok = resps.iter().filter(|r| r.status == 200).count();
    let invalid = resps
        .iter()
        .filter(|r| r.status == 400 && error_of(r) == "invalid_grant")
        .count();
    (ok, invalid)
}

// ------------------------------------------------------------ review finding 1

/// A stolen refresh token redeemed where the rotation is not visible yet (KV's stale
/// reads) must not start a second live branch: the family has one current token, so the
/// losing branch trips reuse detection at its next use and the family dies.
#[test]
fn rfc9700_4_14_2_stale_read_does_not_fork_a_refresh_family() {
    let h = harness();
    let r1 = h.spa_refresh_token(API);
    h.app.store.stale_reads(Some(60));
    h.clock.advance(61);
    let client = h.refresh(&r1);
    assert_eq!(client.status, 200, "{:?}", client.json_body());
    // The attacker, one second later, at a location that still sees generation 1.
    h.clock.advance(1);
    let attacker = h.refresh(&r1);
    let mut branches = vec![json_str(&client, "refresh_token")];
    if attacker.status == 200 {
        branches.push(json_str(&attacker, "refresh_token"));
    }
    // Both branches keep rotating, each after the other's writes became visible.
    let mut alive = branches.len();
    for _ in 0..5 {
        for branch in &mut branches {
            if branch.is_empty() {
                continue;
            }
            h.clock.advance(61);
            let resp = h.refresh(branch);
            if resp.status == 200 {
                *branch = json_str(&resp, "refresh_token");
            } else {
                assert_eq!(error_of(&resp), "invalid_grant");
                branch.clear();
                alive -= 1;
            }
        }
    }
    assert_eq!(alive, 0, "a forked family was detected and revoked");
    h.app.store.stale_reads(None);
    assert_eq!(revoked_families(&h.app.store), 1);
}

/// With exact storage a rotated token presented again revokes at once, and of many
/// simultaneous rotations of one token exactly one succeeds.
#[test]
fn rfc9700_4_14_2_concurrent_rotations_have_one_winner_then_reuse_revokes() {
    let h = harness();
    let r1 = h.spa_refresh_token(API);
    let requests: Vec<HttpRequest> = (0..16)
        .map(|_| token_request(&refresh_body("spa", &r1), &[]))
        .collect();
    let resps = concurrently(&h, &requests);
    assert_eq!(
        statuses(&resps),
        (1, 15),
        "one successor, the rest invalid_grant"
    );
    let winner = resps.iter().find(|r| r.status == 200).unwrap();
    let r2 = json_str(winner, "refresh_token");
    assert_eq!(
        error_of(&h.refresh(&r2)),
        "invalid_grant",
        "the losers' reuse revoked the family"
    );
}

// ------------------------------------------------------------ review finding 2

/// A used code replayed with some other (public) `client_id` is refused and revokes
/// nothing; replayed by its own client it revokes the family issued from it.
#[test]
fn rfc6749_4_1_2_code_replay_revokes_only_for_the_codes_own_client() {
    let h = harness();
    let code = h.code_for("web", WEB_CB, API, false);
    let first = h.exchange_web(&code);
    assert_eq!(first.status, 200, "{:?}", first.json_body());
    let rt = json_str(&first, "refresh_token");
    // The leaked used code, sent as the public client `spa`.
    let replay = h.send(&token_request(
        &format!(
            "grant_type=authorization_code&client_id=spa&code={code}&redirect_uri={}",
            enc(WEB_CB)
        ),
        &[],
    ));
    assert_eq!(error_of(&replay), "invalid_grant");
    assert_eq!(revoked_families(&h.app.store), 0);
    let refreshed = h.send(&token_request(
        &format!("grant_type=refresh_token&refresh_token={rt}"),
        &[("authorization", &basic("web", WEB_SECRET))],
    ));
    assert_eq!(
        refreshed.status,
        200,
        "the web client's session survives: {:?}",
        refreshed.json_body()
    );
    // The real client replaying its own code: the family is revoked.
    let own = h.exchange_web(&code);
    assert_eq!(error_of(&own), "invalid_grant");
    assert_eq!(revoked_families(&h.app.store), 1);
}

/// A public client's used code replayed without its PKCE verifier revokes nothing.
#[test]
fn rfc6749_4_1_2_public_code_replay_revokes_only_with_the_verifier() {
    let h = harness();
    let code = h.spa_code(API);
    let first = h.exchange_spa("spa", &code);
    assert_eq!(first.status, 200);
    let no_verifier = h.send(&token_request(
        &format!(
            "grant_type=authorization_code&client_id=spa&code={code}&redirect_uri={}",
            enc(SPA_CB)
        ),
        &[],
    ));
    assert_eq!(error_of(&no_verifier), "invalid_grant");
    let other_client = h.exchange_spa("spa2", &code);
    assert_eq!(error_of(&other_client), "invalid_grant");
    assert_eq!(revoked_families(&h.app.store), 0);
    assert_eq!(error_of(&h.exchange_spa("spa", &code)), "invalid_grant");
    assert_eq!(revoked_families(&h.app.store), 1);
}

/// On the KV store (stale reads) the replay check is best effort, but it still never
/// revokes another client's family.
#[test]
fn rfc6749_4_1_2_kv_code_replay_by_another_client_revokes_nothing() {
    let h = harness();
    h.app.store.stale_reads(Some(0));
    let code = h.code_for("web", WEB_CB, API, false);
    assert_eq!(h.exchange_web(&code).status, 200);
    h.clock.advance(1);
    let replay = h.send(&token_request(
        &format!(
            "grant_type=authorization_code&client_id=spa&code={code}&redirect_uri={}",
            enc(WEB_CB)
        ),
        &[],
    ));
    assert_eq!(error_of(&replay), "invalid_grant");
    assert_eq!(revoked_families(&h.app.store), 0);
}

// ------------------------------------------------------------ finding 4, natively

#[test]
fn rfc6749_4_1_2_concurrent_redemptions_of_one_code_have_one_winner() {
    let h = harness();
    for n in [2, 16] {
        let code = h.spa_code(API);
        let requests: Vec<HttpRequest> = (0..n)
            .map(|_| token_request(&spa_exchange_body("spa", &code), &[]))
            .collect();
        let resps = concurrently(&h, &requests);
        assert_eq!(statuses(&resps), (1, n - 1), "{n} simultaneous redemptions");
    }
}

#[test]
fn rfc6749_4_1_2_failed_check_gives_the_code_back() {
    let h = harness();
    let code = h.spa_code(API);
    let wrong = h.send(&token_request(
        &format!(
            "grant_type=authorization_code&client_id=spa&code={code}&redirect_uri={}&code_verifier={}",
            enc(SPA_CB),
            "x".repeat(43)
        ),
        &[],
    ));
    assert_eq!(error_of(&wrong), "invalid_grant");
    assert_eq!(h.exchange_spa("spa", &code).status, 200);
    assert_eq!(error_of(&h.exchange_spa("spa", &code)), "invalid_grant");
}

// ------------------------------------------------------------ overlap window, lifetimes

#[test]
fn auth0_rotation_overlap_same_successor_within_the_window_then_reuse_revokes() {
    let h = harness();
    let r1 = h.spa_refresh_token(OVERLAP_API);
    let requests: Vec<HttpRequest> = (0..16)
        .map(|_| token_request(&refresh_body("spa", &r1), &[]))
        .collect();
    let resps = concurrently(&h, &requests);
    assert_eq!(statuses(&resps).0, 16, "all 16 succeed within the window");
    let successors: std::collections::BTreeSet<String> =
        resps.iter().map(|r| json_str(r, "refresh_token")).collect();
    assert_eq!(successors.len(), 1, "all get the same successor");
    let r2 = successors.into_iter().next().unwrap();
    // Another client presenting it is refused and revokes nothing.
    let other = h.send(&token_request(&refresh_body("spa2", &r1), &[]));
    assert_eq!(error_of(&other), "invalid_grant");
    h.clock.advance(5);
    assert_eq!(h.refresh(&r1).status, 200, "still within 10 s");
    // The successor keeps working; after the window r2 is reused -> revoked.
    let third = h.refresh(&r2);
    assert_eq!(third.status, 200);
    let r3 = json_str(&third, "refresh_token");
    h.clock.advance(11);
    assert_eq!(error_of(&h.refresh(&r2)), "invalid_grant");
    assert_eq!(
        error_of(&h.refresh(&r3)),
        "invalid_grant",
        "reuse after the window revoked the family"
    );
}

#[test]
fn auth0_rotation_overlap_is_off_by_default() {
    let h = harness();
    let r1 = h.spa_refresh_token(API);
    let r2 = json_str(&h.refresh(&r1), "refresh_token");
    assert_eq!(error_of(&h.refresh(&r1)), "invalid_grant");
    assert_eq!(error_of(&h.refresh(&r2)), "invalid_grant");
}

#[test]
fn refresh_family_absolute_and_idle_lifetimes_per_api() {
    let h = harness();
    // Idle: unused for an hour, the family ends.
    let rt = h.spa_refresh_token(SHORT_API);
    h.clock.advance(3_601);
    assert_eq!(error_of(&h.refresh(&rt)), "invalid_grant");
    // Absolute: used every 50 minutes, it still ends a day after the code exchange.
    let mut rt = h.spa_refresh_token(SHORT_API);
    let mut used = 0;
    for _ in 0..40 {
        h.clock.advance(3_000);
        let resp = h.refresh(&rt);
        if resp.status != 200 {
            break;
        }
        used += 1;
        rt = json_str(&resp, "refresh_token");
    }
    assert_eq!(
        used, 28,
        "86400 / 3000 = 28 refreshes within the absolute lifetime"
    );
    // The defaults: 15 days idle.
    let rt = h.spa_refresh_token(API);
    h.clock.advance(15 * 86_400);
    assert_eq!(error_of(&h.refresh(&rt)), "invalid_grant");
}

#[test]
fn refresh_token_carries_its_family_and_only_hashes_are_stored() {
    let h = harness();
    let rt = h.spa_refresh_token(API);
    let (family, _) = rt.split_once('.').unwrap();
    let text = block_on_get(&h.app.store, &format!("family:{family}"));
    assert!(!text.contains(&rt), "the token itself is not stored");
    let record: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        record["current"],
        json!(edge_oauth_worker::jwt::sha256_b64(rt.as_bytes()))
    );
    assert_eq!(record["generation"], 1);
}

fn block_on_get(store: &MemoryStore, key: &str) -> String {
    edge_oauth_worker::testing::block_on(store.get(key))
        .unwrap()
        .unwrap()
}

// ------------------------------------------------------------ storage operations per flow

fn counted(backend: Backend) -> (Harness, CountingStore<MemoryStore>) {
    let h = harness();
    let counting = CountingStore::new(h.app.store.clone(), backend);
    (h, counting)
}

fn count_request(
    h: &Harness,
    store: &CountingStore<MemoryStore>,
    req: &HttpRequest,
) -> (u16, Counts, Value) {
    let app = App {
        config: config(&vectors(), None),
        store: store.clone(),
        platform: h.app.platform.clone(),
    };
    let _ = store.take_counts();
    let resp = edge_oauth_worker::testing::block_on(route(&app, req));
    (resp.status, store.take_counts(), resp.json_body())
}

/// Prints the storage operations of a code exchange, a refresh and a client-credentials
/// request on each backend (the figures of the report), and checks the hot paths: on the
/// Durable Object store a refresh on a warm isolate is one call (the compare-and-swap).
#[test]
fn storage_operations_per_flow() {
    for backend in [Backend::Kv, Backend::Durable] {
        let (h, store) = counted(backend);
        let code = h.spa_code(API);
        let (status, exchange, body) = count_request(
            &h,
            &store,
            &token_request(&spa_exchange_body("spa", &code), &[]),
        );
        assert_eq!(status, 200);
        let rt = body["refresh_token"].as_str().unwrap().to_owned();
        let (status, refresh, body) =
            count_request(&h, &store, &token_request(&refresh_body("spa", &rt), &[]));
        assert_eq!(status, 200);
        let cold_rt = body["refresh_token"].as_str().unwrap().to_owned();
        let (_, cold, _) = count_request(
            &h,
            &CountingStore::new(h.app.store.clone(), backend),
            &token_request(&refresh_body("spa", &cold_rt), &[]),
        );
        let (status, cc, _) = count_request(
            &h,
            &store,
            &token_request(
                &format!("grant_type=client_credentials&audience={}", enc(API)),
                &[("authorization", &basic("m2m", M2M_SECRET))],
            ),
        );
        assert_eq!(status, 200);
        println!(
            "{backend:?}: code exchange {exchange:?}; refresh (warm isolate) {refresh:?}; refresh (cold isolate) {cold:?}; client credentials {cc:?}"
        );
        if backend == Backend::Durable {
            assert_eq!(
                exchange.durable_calls, 2,
                "a code this isolate did not issue: take the code, start the family"
            );
            assert_eq!(refresh.durable_calls, 1, "the compare-and-swap alone");
            assert_eq!(cold.durable_calls, 2, "read the family, swap it");
            assert_eq!(cc.durable_calls, 0);
        }
        let code = h.spa_code(API);
        issued_here(&store, &code);
        let (status, here, _) = count_request(
            &h,
            &store,
            &token_request(&spa_exchange_body("spa", &code), &[]),
        );
        assert_eq!(status, 200);
        println!("{backend:?}: code exchange, code issued by this isolate {here:?}");
        if backend == Backend::Durable {
            assert_eq!(
                here.durable_calls, 1,
                "take the code and start the family in its shard, in one call"
            );
        }
    }
}

/// Gives `store` (an isolate) the copy of `code`'s record it keeps when it writes the code
/// at `/authorize` (the write is counted there, not by the exchange that follows).
fn issued_here(store: &CountingStore<MemoryStore>, code: &str) {
    let key = format!(
        "code:{}",
        edge_oauth_worker::jwt::sha256_b64(code.as_bytes())
    );
    let value = block_on_get(store.inner(), &key);
    edge_oauth_worker::testing::block_on(store.put(&key, &value, Some(60))).unwrap();
    let _ = store.take_counts();
}

/// A code exchange decided on the isolate's copy of the code (one call) is still single
/// use: a second redemption is `invalid_grant` and, from the code's own client with its
/// verifier, revokes the family the first one started; the family lives in the code's
/// shard.
#[test]
fn rfc6749_4_1_2_one_call_exchange_is_single_use_and_replay_revokes() {
    let (h, store) = counted(Backend::Durable);
    let code = h.spa_code(API);
    issued_here(&store, &code);
    let body = spa_exchange_body("spa", &code);
    let (status, _, first) = count_request(&h, &store, &token_request(&body, &[]));
    assert_eq!(status, 200, "{first:?}");
    let rt = first["refresh_token"].as_str().unwrap().to_owned();
    let family = rt.split_once('.').unwrap().0.to_owned();
    let code_key = format!(
        "code:{}",
        edge_oauth_worker::jwt::sha256_b64(code.as_bytes())
    );
    assert_eq!(
        edge_oauth_worker::store::shard_of(&format!("family:{family}")),
        edge_oauth_worker::store::shard_of(&code_key)
    );
    for store_of_replay in [
        store.clone(),
        CountingStore::new(h.app.store.clone(), Backend::Durable),
    ] {
        let (status, _, replay) = count_request(&h, &store_of_replay, &token_request(&body, &[]));
        assert_eq!(
            (status, replay["error"].as_str()),
            (400, Some("invalid_grant"))
        );
    }
    assert_eq!(
        error_of(&h.refresh(&rt)),
        "invalid_grant",
        "the family is revoked"
    );
    assert_eq!(revoked_families(&h.app.store), 1);
}

/// A copy that no longer matches the stored code (taken by another isolate, or changed)
/// decides nothing: a taken code is a replay, a changed one is decided on the stored
/// record; a request that fails a check on the copy is answered as on the stored record
/// and leaves the code to the real client.
#[test]
fn rfc6749_4_1_2_one_call_exchange_on_a_stale_or_failing_copy() {
    let (h, store) = counted(Backend::Durable);
    // Redeemed elsewhere after this isolate wrote it.
    let code = h.spa_code(API);
    issued_here(&store, &code);
    let elsewhere = h.exchange_spa("spa", &code);
    assert_eq!(elsewhere.status, 200);
    let (status, _, body) = count_request(
        &h,
        &store,
        &token_request(&spa_exchange_body("spa", &code), &[]),
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(
        error_of(&h.refresh(&json_str(&elsewhere, "refresh_token"))),
        "invalid_grant",
        "the replay by the code's own client revoked the family"
    );
    // This isolate's copy differs from the stored record: decided on the stored one.
    let code = h.spa_code(API);
    let key = format!(
        "code:{}",
        edge_oauth_worker::jwt::sha256_b64(code.as_bytes())
    );
    let stored = block_on_get(&h.app.store, &key);
    let mut copy: Value = serde_json::from_str(&stored).unwrap();
    copy["scope"] = json!("openid");
    edge_oauth_worker::testing::block_on(store.put(&key, &copy.to_string(), Some(60))).unwrap();
    edge_oauth_worker::testing::block_on(h.app.store.put(&key, &stored, Some(60))).unwrap();
    let (status, counts, body) = count_request(
        &h,
        &store,
        &token_request(&spa_exchange_body("spa", &code), &[]),
    );
    assert_eq!(status, 200, "{body:?}");
    assert!(
        body["refresh_token"].is_string(),
        "the stored scope (offline_access) counts"
    );
    assert_eq!(
        counts.durable_calls, 3,
        "the stale try, then take and start"
    );
    // A wrong verifier on a fresh copy: the precise error, the code untouched.
    let code = h.spa_code(API);
    issued_here(&store, &code);
    let (status, counts, body) = count_request(
        &h,
        &store,
        &token_request(
            &format!(
                "grant_type=authorization_code&client_id=spa&code={code}&redirect_uri={}&code_verifier={}",
                enc(SPA_CB),
                "x".repeat(43)
            ),
            &[],
        ),
    );
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(counts.durable_calls, 1, "the conditional take alone");
    let (status, _, _) = count_request(
        &h,
        &store,
        &token_request(&spa_exchange_body("spa", &code), &[]),
    );
    assert_eq!(status, 200, "the real client still redeems it");
}

/// An isolate's copy of a family may be stale: a newer token still rotates (decided again
/// on a fresh read), and a token rotated elsewhere is still detected as reuse.
#[test]
fn rfc9700_4_14_2_stale_isolate_copy_neither_refuses_nor_forks() {
    let h = harness();
    let isolate = CountingStore::new(h.app.store.clone(), Backend::Durable);
    let code = h.spa_code(API);
    let (_, _, body) = count_request(
        &h,
        &isolate,
        &token_request(&spa_exchange_body("spa", &code), &[]),
    );
    let r1 = body["refresh_token"].as_str().unwrap().to_owned();
    // Another isolate rotates r1 -> r2; this isolate still holds generation 1.
    let r2 = json_str(&h.refresh(&r1), "refresh_token");
    let (status, _, body) =
        count_request(&h, &isolate, &token_request(&refresh_body("spa", &r2), &[]));
    assert_eq!(status, 200, "the newer token rotates: {body:?}");
    let r3 = body["refresh_token"].as_str().unwrap().to_owned();
    // Another isolate rotates r3 -> r4; r3 presented here (copy says current) is reuse.
    let r4 = json_str(&h.refresh(&r3), "refresh_token");
    let (status, _, body) =
        count_request(&h, &isolate, &token_request(&refresh_body("spa", &r3), &[]));
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(
        error_of(&h.refresh(&r4)),
        "invalid_grant",
        "the family is revoked"
    );
}

// ------------------------------------------------------------ a forged secret is not reuse

/// A family id is public (every access token carries it as `sid`): a token under it with
/// a secret the family never issued is `invalid_grant` and changes nothing, whatever its
/// shape; the real token keeps working. Only a token the family really issued and has
/// rotated out is reuse.
#[test]
fn rfc9700_4_14_2_forged_secret_under_a_known_family_is_not_reuse() {
    let h = harness();
    let r1 = h.spa_refresh_token(API);
    let (family, secret) = r1.split_once('.').unwrap();
    let forged = [
        format!("{family}.forged"),
        format!("{family}.{}", "A".repeat(secret.len())),
        format!("{family}.{}", "A".repeat(43)),
        format!("{family}.{}", "A".repeat(59)),
        format!("{family}.{}", "A".repeat(64)),
    ];
    for token in &forged {
        let resp = h.refresh(token);
        assert_eq!(error_of(&resp), "invalid_grant", "{token}");
        assert_eq!(
            revoked_families(&h.app.store),
            0,
            "{token} revoked the family"
        );
    }
    let r2 = h.refresh(&r1);
    assert_eq!(r2.status, 200, "the session survives: {:?}", r2.json_body());
    let r2 = json_str(&r2, "refresh_token");
    // A forgery after a rotation changes nothing either.
    for token in &forged {
        assert_eq!(error_of(&h.refresh(token)), "invalid_grant");
    }
    assert_eq!(revoked_families(&h.app.store), 0);
    assert_eq!(h.refresh(&r2).status, 200);
}

/// Every token the family issued and rotated out is recognised as reuse, not only the
/// one rotated last: the thief who rotates many times in a row cannot make the victim's
/// older token look unknown.
#[test]
fn rfc9700_4_14_2_any_rotated_out_generation_is_reuse() {
    let h = harness();
    let victims = h.spa_refresh_token(API);
    let mut rt = victims.clone();
    for _ in 0..40 {
        rt = json_str(&h.refresh(&rt), "refresh_token");
    }
    assert_eq!(error_of(&h.refresh(&victims)), "invalid_grant");
    assert_eq!(revoked_families(&h.app.store), 1, "generation 1 is reuse");
    assert_eq!(
        error_of(&h.refresh(&rt)),
        "invalid_grant",
        "the thief's branch ends"
    );
}

/// Tokens of families started before the tagged format (a plain random secret) keep
/// working: the current one rotates, and the one it replaced is still reuse. An older
/// untagged one cannot be told from a forgery: it is refused and changes nothing.
#[test]
fn rfc9700_4_14_2_families_from_before_keep_working() {
    let h = harness();
    let now = h.clock.now();
    for family in ["fam-a", "fam-b"] {
        let record = json!({
            "client_id": "spa", "sub": "user|alice", "email": "alice@example.com",
            "name": "Alice", "scope": "openid offline_access read:items", "audience": API,
            "auth_time": now, "expires_at": now + 3600, "idle_lifetime": 3600, "last_used": now,
            "generation": 4, "rotated_at": now,
            "current": edge_oauth_worker::jwt::sha256_b64(format!("{family}.current-secret").as_bytes()),
            "previous": edge_oauth_worker::jwt::sha256_b64(format!("{family}.previous-secret").as_bytes()),
        });
        put(&h.app.store, &format!("family:{family}"), &record);
    }
    assert_eq!(error_of(&h.refresh("fam-a.older-secret")), "invalid_grant");
    assert_eq!(revoked_families(&h.app.store), 0, "unknown, not reuse");
    assert_eq!(
        error_of(&h.refresh("fam-a.previous-secret")),
        "invalid_grant"
    );
    assert_eq!(
        revoked_families(&h.app.store),
        1,
        "the token it replaced is reuse"
    );
    let next = h.refresh("fam-b.current-secret");
    assert_eq!(next.status, 200, "{:?}", next.json_body());
    let next = json_str(&next, "refresh_token");
    assert!(next.starts_with("fam-b."));
    let newest = h.refresh(&next);
    assert_eq!(newest.status, 200, "the tagged successor rotates");
    assert_eq!(
        error_of(&h.refresh("fam-b.current-secret")),
        "invalid_grant"
    );
    assert_eq!(
        revoked_families(&h.app.store),
        1,
        "two rotations back, untagged: unknown"
    );
    assert_eq!(error_of(&h.refresh(&next)), "invalid_grant");
    assert_eq!(
        revoked_families(&h.app.store),
        2,
        "a tagged token rotated out is reuse"
    );
}

// ------------------------------------------------------------ failed code checks take nothing

/// Whoever holds a leaked code but not the verifier (or the client, or the redirect URI)
/// cannot make the real client's exchange fail: a request that fails those checks leaves
/// the code exactly as it was, even while it runs interleaved with the real exchange.
#[test]
fn rfc6749_4_1_2_failed_checks_leave_the_code_untouched_for_the_real_client() {
    let h = harness();
    for attack in hostile_code_exchange_bodies() {
        let code = h.spa_code(API);
        let mut requests: Vec<HttpRequest> = (0..8)
            .map(|_| token_request(&attack.replace("{code}", &code), &[]))
            .collect();
        requests.push(token_request(&spa_exchange_body("spa", &code), &[]));
        let resps = concurrently(&h, &requests);
        let real = resps.last().unwrap();
        assert_eq!(real.status, 200, "{attack}: {:?}", real.json_body());
        assert!(
            resps[..8].iter().all(|r| error_of(r) == "invalid_grant"),
            "{attack}"
        );
        assert_eq!(revoked_families(&h.app.store), 0);
    }
}

/// Forged secrets are failures like any other for the limits of public clients: past the
/// limit they are answered 429, and the family still lives.
#[test]
fn rfc9700_4_14_2_forged_secrets_count_toward_the_failure_limits() {
    let mut h = harness();
    h.app.platform = NativePlatform::new(h.clock.clone()).with_rate_limit(20, 60);
    let rt = h.spa_refresh_token(API);
    let (family, _) = rt.split_once('.').unwrap();
    let forge = |i: usize| {
        h.send(&token_request(
            &refresh_body("spa", &format!("{family}.guess{i}")),
            &[("cf-connecting-ip", "2001:db8:1::1")],
        ))
    };
    for i in 0..20 {
        assert_eq!(error_of(&forge(i)), "invalid_grant");
    }
    assert_eq!(forge(20).status, 429);
    assert_eq!(revoked_families(&h.app.store), 0);
    assert_eq!(h.refresh(&rt).status, 200, "successes are never refused");
}

/// RFC 7009 §2.1: any token the family issued revokes it, an older one too (a tab that
/// logs out with the token it holds); a forged secret under its id revokes nothing.
#[test]
fn rfc7009_2_1_any_issued_token_revokes_its_family_a_forged_one_nothing() {
    let h = harness();
    let r1 = h.spa_refresh_token(API);
    let r2 = json_str(&h.refresh(&r1), "refresh_token");
    let r3 = json_str(&h.refresh(&r2), "refresh_token");
    let (family, _) = r1.split_once('.').unwrap();
    let revoke = |token: &str| {
        h.send(
            &HttpRequest::new("POST", "/oauth/revoke")
                .with_header("content-type", "application/x-www-form-urlencoded")
                .with_body(format!("client_id=spa&token={token}").into_bytes()),
        )
    };
    assert_eq!(revoke(&format!("{family}.forged")).status, 200);
    assert_eq!(revoked_families(&h.app.store), 0);
    assert_eq!(revoke(&r1).status, 200);
    assert_eq!(revoked_families(&h.app.store), 1);
    assert_eq!(error_of(&h.refresh(&r3)), "invalid_grant");
}

/// A code exchange that fails its checks costs one Durable Object call (the conditional
/// take) and writes nothing on either backend.
#[test]
fn rfc6749_4_1_2_failed_check_is_one_call_and_writes_nothing() {
    for backend in [Backend::Kv, Backend::Durable] {
        let (h, store) = counted(backend);
        let code = h.spa_code(API);
        let (status, counts, _) = count_request(
            &h,
            &store,
            &token_request(
                &format!(
                    "grant_type=authorization_code&client_id=spa&code={code}&redirect_uri={}&code_verifier={}",
                    enc(SPA_CB),
                    "x".repeat(43)
                ),
                &[],
            ),
        );
        println!("{backend:?}: failed code exchange {counts:?}");
        assert_eq!(status, 400);
        assert_eq!(counts.kv_writes, 0);
        if backend == Backend::Durable {
            assert_eq!(counts.durable_calls, 1);
        }
        assert_eq!(h.app.store.count("taken:"), 0);
    }
}
