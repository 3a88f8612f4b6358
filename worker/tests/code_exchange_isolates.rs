//! The code exchange across isolates: the one-call path on an isolate's copy of the code,
//! the two-call path, and the fallback while an older Durable Object does not know
//! `take_if_then_put` (a rollout), interleaved step by step. A code has at most one
//! winner, a hostile request costs the real client nothing, a stale copy never decides,
//! and a shard-picked family id is well formed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use common::*;
use edge_oauth_worker::http::{HttpRequest, HttpResponse};
use edge_oauth_worker::platform::NativePlatform;
use edge_oauth_worker::store::counting::{Backend, CountingStore};
use edge_oauth_worker::store::memory::MemoryStore;
use edge_oauth_worker::store::{
    Condition, PutIfAbsent, Store, StoreError, Swap, Taken, TakenIf, best_effort_take_if_then_put,
};
use edge_oauth_worker::testing::block_on;
use edge_oauth_worker::{App, route};
use serde_json::{Value, json};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

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
        &format!("api:{API}"),
        &json!({"identifier": API, "scopes": ["read:items"], "token_lifetime": 3600, "allow_offline_access": true}),
    );
    put_alice(store);
}

fn harness() -> Harness {
    let (clock, store) = Harness::clock_and_store();
    seed(&store);
    let platform = NativePlatform::new(clock.clone());
    Harness::new(config(&vectors(), None), store, platform, clock)
}

fn token_request(body: &str) -> HttpRequest {
    HttpRequest::new("POST", "/oauth/token")
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_body(body.as_bytes().to_vec())
}

fn spa_code(h: &Harness) -> String {
    let resp = h.send(&HttpRequest::new(
        "GET",
        &format!(
            "/authorize?response_type=code&client_id=spa&redirect_uri={}&scope=openid%20offline_access%20read%3Aitems&audience={}&code_challenge={CHALLENGE}&code_challenge_method=S256",
            enc(SPA_CB),
            enc(API)
        ),
    ));
    assert_eq!(resp.status, 200);
    let resp = h.send(&login_request(
        &hidden_tx(&resp),
        "alice@example.com",
        PASSWORD,
    ));
    assert_eq!(resp.status, 303);
    query_param(resp.header("location").unwrap(), "code").unwrap()
}

fn legit(code: &str) -> String {
    format!(
        "grant_type=authorization_code&client_id=spa&code={code}&redirect_uri={}&code_verifier={VERIFIER}",
        enc(SPA_CB)
    )
}

fn code_key(code: &str) -> String {
    format!(
        "code:{}",
        edge_oauth_worker::jwt::sha256_b64(code.as_bytes())
    )
}

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

/// One isolate's view of the shared exact store: yields before every operation.
/// `legacy`: the shard does not know take_if_then_put (rollout), so the worker's
/// fallback (read, take_if, put_if_absent) runs.
#[derive(Clone)]
struct Iso {
    mem: MemoryStore,
    legacy: bool,
    /// Every compare-and-swap fails without writing (an overloaded shard, or a conflict
    /// whose reply is lost).
    failing_swaps: bool,
}

impl Store for Iso {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        YieldOnce(false).await;
        self.mem.get(key).await
    }
    async fn put(&self, key: &str, value: &str, ttl: Option<u64>) -> Result<(), StoreError> {
        YieldOnce(false).await;
        self.mem.put(key, value, ttl).await
    }
    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        YieldOnce(false).await;
        self.mem.delete(key).await
    }
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        YieldOnce(false).await;
        self.mem.list(prefix).await
    }
    async fn take(&self, key: &str, receipt: &str, keep: u64) -> Result<Taken, StoreError> {
        YieldOnce(false).await;
        self.mem.take(key, receipt, keep).await
    }
    async fn untake(&self, key: &str, receipt: &str) -> Result<(), StoreError> {
        YieldOnce(false).await;
        self.mem.untake(key, receipt).await
    }
    async fn take_if(
        &self,
        key: &str,
        condition: &Condition,
        receipt: &str,
        keep: u64,
    ) -> Result<TakenIf, StoreError> {
        YieldOnce(false).await;
        self.mem.take_if(key, condition, receipt, keep).await
    }
    async fn take_if_then_put(
        &self,
        key: &str,
        expected: &str,
        condition: &Condition,
        receipt: &str,
        keep: u64,
        then: Option<&PutIfAbsent<'_>>,
    ) -> Result<(TakenIf, bool), StoreError> {
        if self.legacy {
            return best_effort_take_if_then_put(
                self, key, expected, condition, receipt, keep, then,
            )
            .await;
        }
        YieldOnce(false).await;
        self.mem
            .take_if_then_put(key, expected, condition, receipt, keep, then)
            .await
    }
    async fn put_if_absent(
        &self,
        key: &str,
        value: &str,
        ttl: Option<u64>,
    ) -> Result<bool, StoreError> {
        YieldOnce(false).await;
        self.mem.put_if_absent(key, value, ttl).await
    }
    async fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&str>,
        new: &str,
        ttl: Option<u64>,
    ) -> Result<Swap, StoreError> {
        YieldOnce(false).await;
        if self.failing_swaps {
            return Err(StoreError::Backend("the call failed".into()));
        }
        self.mem.compare_and_swap(key, expected, new, ttl).await
    }
}

/// An isolate: legacy shard or not, holding the code's copy or not.
fn isolate(h: &Harness, legacy: bool, copy_of: Option<&str>) -> CountingStore<Iso> {
    let store = CountingStore::new(
        Iso {
            mem: h.app.store.clone(),
            legacy,
            failing_swaps: false,
        },
        Backend::Durable,
    );
    if let Some(code) = copy_of {
        let key = code_key(code);
        let value = block_on(h.app.store.get(&key)).unwrap().unwrap();
        block_on(store.put(&key, &value, Some(60))).unwrap();
        assert_eq!(store.copy(&key).as_deref(), Some(value.as_str()));
    }
    store
}

/// Runs each request on its own isolate, all interleaved.
fn race(h: &Harness, jobs: Vec<(CountingStore<Iso>, HttpRequest)>) -> Vec<HttpResponse> {
    let apps: Vec<(App<CountingStore<Iso>, NativePlatform>, HttpRequest)> = jobs
        .into_iter()
        .map(|(store, req)| {
            (
                App {
                    config: config(&vectors(), None),
                    store,
                    platform: h.app.platform.clone(),
                },
                req,
            )
        })
        .collect();
    let mut futures: Vec<Pin<Box<dyn Future<Output = HttpResponse> + '_>>> = apps
        .iter()
        .map(|(app, req)| Box::pin(route(app, req)) as Pin<Box<dyn Future<Output = HttpResponse>>>)
        .collect();
    let mut out: Vec<Option<HttpResponse>> = futures.iter().map(|_| None).collect();
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

/// Invariant 1: concurrent exchanges of one code on isolates with and without copies, on
/// the one-call shard and on the rollout fallback, never both get tokens; the winner's
/// family is revoked by the replay.
#[test]
fn concurrent_exchanges_across_isolates_have_at_most_one_winner() {
    // (legacy shard, holds copy) per isolate
    let setups: &[&[(bool, bool)]] = &[
        &[(false, true), (false, true)],
        &[(false, true), (false, false)],
        &[(false, false), (false, true)],
        &[(false, true), (true, true)],
        &[(true, true), (false, true)],
        &[(true, true), (true, true)],
        &[(true, true), (true, false)],
        &[(false, true), (false, true), (true, true), (false, false)],
    ];
    for setup in setups {
        let h = harness();
        let code = spa_code(&h);
        let jobs = setup
            .iter()
            .map(|&(legacy, copy)| {
                (
                    isolate(&h, legacy, copy.then_some(code.as_str())),
                    token_request(&legit(&code)),
                )
            })
            .collect();
        let resps = race(&h, jobs);
        let ok: Vec<&HttpResponse> = resps.iter().filter(|r| r.status == 200).collect();
        assert!(ok.len() <= 1, "{setup:?}: {} winners", ok.len());
        for r in &resps {
            if r.status != 200 {
                assert_eq!(
                    (r.status, error_of(r).as_str()),
                    (400, "invalid_grant"),
                    "{setup:?}"
                );
            }
        }
        if let Some(winner) = ok.first() {
            let rt = json_str(winner, "refresh_token");
            let refresh = h.send(&token_request(&format!(
                "grant_type=refresh_token&client_id=spa&refresh_token={rt}"
            )));
            assert_eq!(
                error_of(&refresh),
                "invalid_grant",
                "{setup:?}: family must be revoked by the replay"
            );
        }
        println!("{setup:?}: {} winner(s)", ok.len());
    }
}

/// Invariant 2: hostile requests on isolates holding the copy (one-call and fallback),
/// racing the real client, cost the real client nothing.
#[test]
fn hostile_requests_on_copy_isolates_never_cost_the_user() {
    let attacks = hostile_code_exchange_bodies();
    for attack in &attacks {
        for legacy in [false, true] {
            let h = harness();
            let code = spa_code(&h);
            let mut jobs: Vec<(CountingStore<Iso>, HttpRequest)> = (0..6)
                .map(|i| {
                    (
                        isolate(&h, legacy ^ (i % 2 == 0), Some(&code)),
                        token_request(&attack.replace("{code}", &code)),
                    )
                })
                .collect();
            jobs.push((
                isolate(&h, legacy, Some(&code)),
                token_request(&legit(&code)),
            ));
            let resps = race(&h, jobs);
            let real = resps.last().unwrap();
            assert_eq!(
                real.status,
                200,
                "{attack} legacy={legacy}: {:?}",
                real.json_body()
            );
            assert!(
                resps[..6].iter().all(|r| error_of(r) == "invalid_grant"),
                "{attack}"
            );
            assert_eq!(revoked_families(&h.app.store), 0);
        }
    }
}

/// Invariant 3: a copy from an older write that would pass where the stored record fails
/// (other client; longer expiry) yields nothing and leaves the code to the real client.
#[test]
fn stale_copy_never_skips_a_check_of_the_stored_record() {
    for legacy in [false, true] {
        // The copy names client spa2, the stored record spa.
        let h = harness();
        let code = spa_code(&h);
        let key = code_key(&code);
        let stored = block_on(h.app.store.get(&key)).unwrap().unwrap();
        let store = isolate(&h, legacy, None);
        let mut copy: Value = serde_json::from_str(&stored).unwrap();
        copy["client_id"] = json!("spa2");
        block_on(store.put(&key, &copy.to_string(), Some(60))).unwrap();
        block_on(h.app.store.put(&key, &stored, Some(60))).unwrap();
        let body = legit(&code).replace("client_id=spa&", "client_id=spa2&");
        let resps = race(&h, vec![(store.clone(), token_request(&body))]);
        assert_eq!(error_of(&resps[0]), "invalid_grant", "legacy={legacy}");
        assert_eq!(h.app.store.count("family:"), 0, "nothing written");
        let resps = race(&h, vec![(store, token_request(&legit(&code)))]);
        assert_eq!(
            resps[0].status, 200,
            "legacy={legacy}: real client still redeems"
        );

        // Expired stored record, copy claims a later expiry (its storage row still lives).
        let h = harness();
        let code = spa_code(&h);
        let key = code_key(&code);
        let stored = block_on(h.app.store.get(&key)).unwrap().unwrap();
        let mut rec: Value = serde_json::from_str(&stored).unwrap();
        let exp = rec["expires_at"].as_i64().unwrap();
        rec["expires_at"] = json!(exp - 30);
        block_on(h.app.store.put(&key, &rec.to_string(), Some(60))).unwrap();
        let store = isolate(&h, legacy, None);
        let mut copy = rec.clone();
        copy["expires_at"] = json!(exp + 300);
        block_on(store.put(&key, &copy.to_string(), Some(60))).unwrap();
        block_on(h.app.store.put(&key, &rec.to_string(), Some(60))).unwrap();
        h.clock.advance(31);
        let resps = race(&h, vec![(store, token_request(&legit(&code)))]);
        assert_eq!(
            error_of(&resps[0]),
            "invalid_grant",
            "legacy={legacy}: expired"
        );
        assert_eq!(h.app.store.count("family:"), 0);
    }
}

/// Invariant 4: the shard-picked family id is well formed (22 base64url chars, as
/// random_id) and lands in the requested shard for every shard.
#[test]
fn family_id_in_shard_is_well_formed_for_every_shard() {
    use edge_oauth_worker::store::{SHARDS, shard_of};
    let (clock, _) = Harness::clock_and_store();
    let platform = NativePlatform::new(clock);
    let mut seen = std::collections::BTreeSet::new();
    for shard in 0..SHARDS {
        for _ in 0..20 {
            let id = edge_oauth_worker::grants::family_id_in_shard(&platform, shard).unwrap();
            assert_eq!(id.len(), 22);
            assert!(
                id.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            );
            assert_eq!(shard_of(&format!("family:{id}")), shard);
            assert!(seen.insert(id));
        }
    }
    // Out-of-range shard: bounded, no panic, falls back to random_id.
    let id = edge_oauth_worker::grants::family_id_in_shard(&platform, SHARDS + 1).unwrap();
    assert_eq!(id.len(), 22);
}

/// Invariant 2/3 on the copy path: a check that only `check()` makes (the API is gone,
/// or now wants DPoP) fails on the isolate holding the copy with the two-call path's
/// answer, and the code stays usable.
#[test]
fn copy_path_api_checks_fail_and_leave_the_code() {
    for legacy in [false, true] {
        let h = harness();
        let code = spa_code(&h);
        let store = isolate(&h, legacy, Some(&code));
        let api_key = format!("api:{API}");
        let api = block_on(h.app.store.get(&api_key)).unwrap().unwrap();
        let mut dpop: Value = serde_json::from_str(&api).unwrap();
        dpop["dpop"] = json!("required");
        block_on(h.app.store.put(&api_key, &dpop.to_string(), None)).unwrap();
        let resps = race(&h, vec![(store.clone(), token_request(&legit(&code)))]);
        assert_eq!(
            (resps[0].status, error_of(&resps[0]).as_str()),
            (400, "invalid_dpop_proof"),
            "legacy={legacy}"
        );
        block_on(h.app.store.delete(&api_key)).unwrap();
        let resps = race(&h, vec![(store.clone(), token_request(&legit(&code)))]);
        assert_eq!(
            error_of(&resps[0]),
            "invalid_grant",
            "legacy={legacy}: API gone"
        );
        assert_eq!(h.app.store.count("family:"), 0);
        block_on(h.app.store.put(&api_key, &api, None)).unwrap();
        let resps = race(&h, vec![(store, token_request(&legit(&code)))]);
        assert_eq!(
            resps[0].status, 200,
            "legacy={legacy}: the code was left usable"
        );
    }
}

/// The one call is one call, and its family lands in the code's shard (so a test would
/// notice if the copy path silently always fell back).
#[test]
fn copy_path_is_taken() {
    let h = harness();
    let code = spa_code(&h);
    let store = isolate(&h, false, Some(&code));
    let _ = store.take_counts();
    let resps = race(&h, vec![(store.clone(), token_request(&legit(&code)))]);
    assert_eq!(resps[0].status, 200);
    assert_eq!(store.take_counts().durable_calls, 1);
}

/// Two refreshes of one token at the same second, on two isolates, the second one's
/// compare-and-swap failing without writing: it must not take the first one's rotation
/// (an identical record but for its own random rotation id) for its own, so at most one
/// of them gets tokens, and the family is revoked for the reuse.
#[test]
fn a_refresh_whose_swap_fails_never_takes_another_requests_rotation_for_its_own() {
    let h = harness();
    let code = spa_code(&h);
    let resp = h.send(&token_request(&legit(&code)));
    assert_eq!(resp.status, 200);
    let r1 = json_str(&resp, "refresh_token");
    let body = format!("grant_type=refresh_token&client_id=spa&refresh_token={r1}");
    let failing = CountingStore::new(
        Iso {
            mem: h.app.store.clone(),
            legacy: false,
            failing_swaps: true,
        },
        Backend::Durable,
    );
    let out = race(
        &h,
        vec![
            (isolate(&h, false, None), token_request(&body)),
            (failing, token_request(&body)),
        ],
    );
    let ok = out.iter().filter(|r| r.status == 200).count();
    assert_eq!(
        ok,
        1,
        "{:?}",
        out.iter().map(|r| r.status).collect::<Vec<_>>()
    );
}
