//! [`DurableStore`]: server state in SQLite-backed Durable Objects, the tenant in KV.
//!
//! Codes, device codes, refresh-token families, PAR requests and replay markers live in the Durable
//! Object class [`StateShard`] (binding `OAUTH_STATE`, a `new_sqlite_classes` migration in
//! `worker/wrangler.toml`). A Durable Object runs one request at a time up to its first
//! await, and every operation here is synchronous SQL without an await, so each
//! [`Store`] call, [`Store::take`], [`Store::take_if`] (its condition checked inside the
//! object), [`Store::put_if_absent`] and
//! [`Store::compare_and_swap`] included, is one atomic step: exactly once, everywhere.
//!
//! **Sharding.** A key goes to the object named `shard-{n}-of-{SHARDS}`, where `n` is the
//! first four bytes of SHA-256 of the key's *owner* (its second `:`-segment: the family id
//! of `family:{id}`, the code hash of `code:{hash}`, the `jkt` of `jti:{jkt}:{..}`, the
//! client of `assertion:{client}:{..}`, the hash of `par:{hash}`) modulo [`SHARDS`] ([`shard_of`]). A
//! refresh token is `{family id}.{secret}`, so its shard is known without a lookup, and a
//! token request makes its state calls to one object (a DPoP proof's `jti` goes to its
//! key's shard). [`SHARDS`] is 64: one object handles on the order of a thousand simple
//! requests a second, so 64 spread a large tenant's sign-ins without a global bottleneck,
//! while each object still sees enough traffic to stay warm. Changing it moves most keys
//! to other objects (the count is part of the object name, so old and new never mix):
//! live codes and markers are lost (they last minutes), and so are refresh-token families
//! (users sign in again). Change it only together with a migration that copies rows.
//!
//! **Expiry.** Every row has its expiry; reads ignore expired rows, and every
//! [`SWEEP_EVERY`]th write of an object instance (its first included) also deletes up to
//! `SWEEP_ROWS * SWEEP_EVERY` expired rows of it: as many per write as a sweep of
//! [`SWEEP_ROWS`] on every write, so storage follows the live data and does not grow
//! without bound, for one sweep statement where there were [`SWEEP_EVERY`] (the sweep
//! was the costliest statement of a call: 9% of a DPoP token request, whose replay marker
//! is one write, in the isolate profile of `node bench/profile.mjs`).
//!
//! **Tenant.** Clients, APIs, grants, users and the origin index
//! ([`super::counting::is_tenant_key`]) stay in Workers KV: read-mostly data, written by
//! the tenant CLI, cached per isolate for [`super::kv::TENANT_CACHE_SECONDS`].

use super::counting::is_tenant_key;
use super::kv::KvStore;
use super::{
    Condition, PutIfAbsent, SHARDS, Store, StoreError, Swap, Taken, TakenIf,
    best_effort_take_if_then_put, check_put, shard_of,
};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::BTreeMap;
use worker::{ObjectNamespace, wasm_bindgen};

/// The Durable Object namespace binding.
pub const BINDING: &str = "OAUTH_STATE";

/// The text of a shard's `400` for a call it cannot read (also an operation it does not
/// know).
const MALFORMED_CALL: &str = "malformed state call";

/// How many expired rows a write removes at most, on average.
pub const SWEEP_ROWS: u32 = 32;

/// An object instance sweeps expired rows on every this many writes.
pub const SWEEP_EVERY: u32 = 8;

/// The object a key lives in: `shard-{n}-of-{SHARDS}`.
#[must_use]
pub fn shard_name(key: &str) -> String {
    format!("shard-{}-of-{SHARDS}", shard_of(key))
}

/// One operation sent to a shard.
#[derive(Debug, Serialize, Deserialize)]
struct Call {
    op: Op,
    key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ttl: Option<u64>,
    /// take_if: the condition the value must meet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    condition: Option<Condition>,
    /// take_if_then_put: what to write (if absent) once the value is taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    then: Option<Then>,
}

/// The write of a `take_if_then_put` call.
#[derive(Debug, Serialize, Deserialize)]
struct Then {
    key: String,
    value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ttl: Option<u64>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Op {
    Get,
    Put,
    Delete,
    Take,
    TakeIf,
    Untake,
    PutIfAbsent,
    CompareAndSwap,
    TakeIfThenPut,
}

/// A shard's answer.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Reply {
    /// put_if_absent / compare_and_swap: written; take: taken now.
    #[serde(default)]
    ok: bool,
    #[serde(default)]
    value: Option<String>,
    /// take, take_if: the first taker's receipt when taken before (take_if: a value
    /// without a receipt did not meet the condition).
    #[serde(default)]
    receipt: Option<String>,
    /// take_if_then_put: the `then` write happened.
    #[serde(default, skip_serializing_if = "core::ops::Not::not")]
    written: bool,
}

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// A stub of a [`StateShard`] object, for its RPC method.
    #[wasm_bindgen(extends = worker::worker_sys::DurableObject)]
    type ShardStub;

    /// `stub.run(call)`: the object's [`StateShard::run_call`]; resolves the reply's JSON.
    #[wasm_bindgen(method, catch, js_name = run)]
    fn run(this: &ShardStub, call: &str) -> Result<js_sys::Promise, wasm_bindgen::JsValue>;
}

/// What the runtime answers an RPC call to a method the object does not have, or to an
/// object whose class has no RPC at all: the call did not run.
const NO_RPC_METHOD: [&str; 2] = ["does not implement the method", "does not support RPC"];

/// What the reply of a conditional take says: taken now, taken before (with the first
/// receipt), there but not meeting the condition, or absent. The isolate's copy of `key`
/// goes unless the value is still there untaken (a copy of a taken code would let the
/// next request decide, and sign its tokens, on it before the take refuses it); with
/// `copy_unmet` the value that did not meet the condition becomes the copy.
fn taken_if(
    key: &str,
    ok: bool,
    value: Option<String>,
    receipt: Option<String>,
    copy_unmet: bool,
) -> TakenIf {
    match (ok, value, receipt) {
        (false, Some(value), None) => {
            if copy_unmet {
                cache_set(key, Some(&value));
            }
            TakenIf::Unmet(value)
        }
        (true, Some(value), _) => {
            cache_set(key, None);
            TakenIf::Now(value)
        }
        (false, Some(value), Some(receipt)) => {
            cache_set(key, None);
            TakenIf::Before { value, receipt }
        }
        _ => {
            cache_set(key, None);
            TakenIf::Absent
        }
    }
}

/// Calls `value[Symbol.dispose]()` when it has one: an RPC stub or call result, released
/// as soon as the call is done instead of being held to the end of the request.
fn dispose(value: &wasm_bindgen::JsValue) {
    use wasm_bindgen::JsCast;
    if let Ok(f) = js_sys::Reflect::get(value, &js_sys::Symbol::dispose())
        && let Some(f) = f.dyn_ref::<js_sys::Function>()
    {
        let _ = f.call0(value);
    }
}

/// The text of a JavaScript error or thrown string.
fn js_message(err: &wasm_bindgen::JsValue) -> String {
    use wasm_bindgen::JsCast;
    err.as_string()
        .or_else(|| {
            err.dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
        })
        .unwrap_or_else(|| "state shard call failed".into())
}

/// How many state records an isolate keeps for [`Store::get_cached`].
const STATE_CACHE_ENTRIES: usize = 1024;

thread_local! {
    /// The last value this isolate read or wrote per state key (possibly stale).
    static STATE_CACHE: RefCell<BTreeMap<String, String>> = const { RefCell::new(BTreeMap::new()) };
}

fn cache_set(key: &str, value: Option<&str>) {
    STATE_CACHE.with(|c| {
        let mut c = c.borrow_mut();
        match value {
            Some(v) => {
                if c.len() >= STATE_CACHE_ENTRIES && !c.contains_key(key) {
                    c.clear();
                }
                c.insert(key.to_owned(), v.to_owned());
            }
            None => {
                c.remove(key);
            }
        }
    });
}

fn cache_get(key: &str) -> Option<String> {
    STATE_CACHE.with(|c| c.borrow().get(key).cloned())
}

/// The store of the worker: tenant keys in KV, everything else in a [`StateShard`].
/// [`Store::get_cached`] answers this isolate's last copy of a state record without a
/// round trip, so a refresh on a warm isolate is one call: the compare-and-swap.
pub struct DurableStore {
    kv: KvStore,
    shards: ObjectNamespace,
}

impl DurableStore {
    /// The store over a KV namespace (tenant) and the `OAUTH_STATE` namespace.
    #[must_use]
    pub fn new(kv: KvStore, shards: ObjectNamespace) -> Self {
        Self { kv, shards }
    }

    /// Sends one call to the key's shard: its JSON through the object's RPC method `run`
    /// (one string each way, [`StateShard::run_call`]), not an HTTP request: no `Request`
    /// or `Response` objects, headers or body streams per call. When the object answers
    /// that it has no such method (a version from before it, during a rollout), the call
    /// has not run and goes as a `POST` through the stub's `fetch` instead.
    async fn call(&self, call: &Call) -> Result<Reply, StoreError> {
        use wasm_bindgen_futures::JsFuture;
        let stub: ShardStub = self
            .shards
            .get_by_name(&shard_name(&call.key))
            .map_err(|e| StoreError::Backend(e.to_string()))?
            .into_rpc();
        let body = serde_json::to_string(call).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let answer = match stub.run(&body) {
            Ok(promise) => {
                let answer = JsFuture::from(promise.clone()).await;
                dispose(&promise);
                answer
            }
            Err(err) => Err(err),
        };
        let text = match answer {
            Ok(text) => Ok(text.as_string().unwrap_or_default()),
            Err(err) => {
                let message = js_message(&err);
                if NO_RPC_METHOD.iter().any(|m| message.contains(m)) {
                    Self::call_fetch(&stub, body).await
                } else {
                    Err(StoreError::Backend(message))
                }
            }
        };
        dispose(&stub);
        let text = text?;
        serde_json::from_str(&text).map_err(|e| StoreError::Backend(e.to_string()))
    }

    /// [`Self::call`] as a `POST` of the call through the stub's `fetch`, the reply read
    /// with one `text()`.
    async fn call_fetch(stub: &ShardStub, body: String) -> Result<String, StoreError> {
        use wasm_bindgen::JsCast;
        use wasm_bindgen_futures::JsFuture;
        let js = |e: wasm_bindgen::JsValue| StoreError::Backend(js_message(&e));
        let stub: &worker::worker_sys::DurableObject = stub.unchecked_ref();
        let init = web_sys::RequestInit::new();
        init.set_method("POST");
        init.set_body(&wasm_bindgen::JsValue::from_str(&body));
        let req = web_sys::Request::new_with_str_and_init("https://state.edge-oauth/", &init)
            .map_err(js)?;
        let resp: web_sys::Response = JsFuture::from(stub.fetch_with_request(&req).map_err(js)?)
            .await
            .map_err(js)?
            .dyn_into()
            .map_err(js)?;
        let text = JsFuture::from(resp.text().map_err(js)?)
            .await
            .map_err(js)?
            .as_string()
            .unwrap_or_default();
        if resp.status() != 200 {
            return Err(StoreError::Backend(format!("state shard: {text}")));
        }
        Ok(text)
    }

    fn op(op: Op, key: &str) -> Call {
        Call {
            op,
            key: key.to_owned(),
            value: None,
            expected: None,
            ttl: None,
            condition: None,
            then: None,
        }
    }
}

impl Store for DurableStore {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        if is_tenant_key(key) {
            return self.kv.get(key).await;
        }
        let value = self.call(&Self::op(Op::Get, key)).await?.value;
        cache_set(key, value.as_deref());
        Ok(value)
    }

    fn copy(&self, key: &str) -> Option<String> {
        if is_tenant_key(key) {
            return None;
        }
        cache_get(key)
    }

    async fn get_cached(&self, key: &str) -> Result<Option<String>, StoreError> {
        if !is_tenant_key(key)
            && let Some(hit) = cache_get(key)
        {
            return Ok(Some(hit));
        }
        self.get(key).await
    }

    async fn put(&self, key: &str, value: &str, ttl: Option<u64>) -> Result<(), StoreError> {
        if is_tenant_key(key) {
            return self.kv.put(key, value, ttl).await;
        }
        check_put(key, ttl)?;
        let call = Call {
            value: Some(value.to_owned()),
            ttl,
            ..Self::op(Op::Put, key)
        };
        self.call(&call).await?;
        cache_set(key, Some(value));
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        if is_tenant_key(key) {
            return self.kv.delete(key).await;
        }
        cache_set(key, None);
        self.call(&Self::op(Op::Delete, key)).await.map(|_| ())
    }

    /// Lists tenant keys (KV); server state is not listable.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.kv.list(prefix).await
    }

    async fn take(&self, key: &str, receipt: &str, keep: u64) -> Result<Taken, StoreError> {
        check_put(key, Some(keep))?;
        let call = Call {
            value: Some(receipt.to_owned()),
            ttl: Some(keep),
            ..Self::op(Op::Take, key)
        };
        let reply = self.call(&call).await?;
        Ok(match (reply.ok, reply.value, reply.receipt) {
            (true, Some(value), _) => Taken::Now(value),
            (false, Some(value), Some(receipt)) => Taken::Before { value, receipt },
            _ => Taken::Absent,
        })
    }

    /// One call: the object checks the condition and takes in the same step.
    async fn take_if(
        &self,
        key: &str,
        condition: &Condition,
        receipt: &str,
        keep: u64,
    ) -> Result<TakenIf, StoreError> {
        check_put(key, Some(keep))?;
        let call = Call {
            value: Some(receipt.to_owned()),
            ttl: Some(keep),
            condition: Some(condition.clone()),
            ..Self::op(Op::TakeIf, key)
        };
        let reply = self.call(&call).await?;
        Ok(taken_if(key, reply.ok, reply.value, reply.receipt, false))
    }

    /// One call when both keys live in the same shard (a code exchange picks its family
    /// id so that they do): the object compares, checks, takes and writes in one step.
    /// Otherwise, or when the object answers that it does not know the operation (an
    /// older version during a rollout), the calls of [`best_effort_take_if_then_put`].
    async fn take_if_then_put(
        &self,
        key: &str,
        expected: &str,
        condition: &Condition,
        receipt: &str,
        keep: u64,
        then: Option<&PutIfAbsent<'_>>,
    ) -> Result<(TakenIf, bool), StoreError> {
        check_put(key, Some(keep))?;
        if let Some(then) = then {
            check_put(then.key, then.ttl)?;
        }
        let one_shard = then.is_none_or(|t| shard_of(t.key) == shard_of(key));
        if !one_shard {
            return best_effort_take_if_then_put(
                self, key, expected, condition, receipt, keep, then,
            )
            .await;
        }
        let call = Call {
            value: Some(receipt.to_owned()),
            expected: Some(expected.to_owned()),
            ttl: Some(keep),
            condition: Some(condition.clone()),
            then: then.map(|t| Then {
                key: t.key.to_owned(),
                value: t.value.to_owned(),
                ttl: t.ttl,
            }),
            ..Self::op(Op::TakeIfThenPut, key)
        };
        let reply = match self.call(&call).await {
            Ok(reply) => reply,
            Err(StoreError::Backend(message)) if message.contains(MALFORMED_CALL) => {
                return best_effort_take_if_then_put(
                    self, key, expected, condition, receipt, keep, then,
                )
                .await;
            }
            Err(err) => return Err(err),
        };
        let taken = taken_if(key, reply.ok, reply.value, reply.receipt, true);
        if reply.written
            && let Some(then) = then
        {
            cache_set(then.key, Some(then.value));
        }
        Ok((taken, reply.written))
    }

    async fn untake(&self, key: &str, receipt: &str) -> Result<(), StoreError> {
        let call = Call {
            value: Some(receipt.to_owned()),
            ..Self::op(Op::Untake, key)
        };
        self.call(&call).await.map(|_| ())
    }

    async fn put_if_absent(
        &self,
        key: &str,
        value: &str,
        ttl: Option<u64>,
    ) -> Result<bool, StoreError> {
        check_put(key, ttl)?;
        let call = Call {
            value: Some(value.to_owned()),
            ttl,
            ..Self::op(Op::PutIfAbsent, key)
        };
        let written = self.call(&call).await?.ok;
        if written {
            cache_set(key, Some(value));
        }
        Ok(written)
    }

    async fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&str>,
        new: &str,
        ttl: Option<u64>,
    ) -> Result<Swap, StoreError> {
        check_put(key, ttl)?;
        let call = Call {
            value: Some(new.to_owned()),
            expected: expected.map(str::to_owned),
            ttl,
            ..Self::op(Op::CompareAndSwap, key)
        };
        let reply = self.call(&call).await?;
        Ok(if reply.ok {
            cache_set(key, Some(new));
            Swap::Done
        } else {
            cache_set(key, reply.value.as_deref());
            Swap::Conflict(reply.value)
        })
    }
}

pub use shard::StateShard;

/// The Durable Object class (its `#[durable_object]` glue has no docs of its own).
#[allow(missing_docs)]
mod shard {
    use super::{Call, MALFORMED_CALL, Op, Reply, SWEEP_EVERY, SWEEP_ROWS};
    use crate::store::shard_sql as sql;
    use serde::Deserialize;
    use serde::de::IgnoredAny;
    use std::cell::Cell;
    use worker::{
        DurableObject, Env, Request, Response, SqlStorage, SqlStorageValue, State, durable_object,
        wasm_bindgen,
    };

    /// One shard of the server state: a SQLite table `kv(key, value, expires_at, receipt,
    /// value_expires_at)`. A row with a `receipt` is taken: invisible to `get`, kept until
    /// `expires_at` (the take's `keep`) so a second take can name the first.
    #[durable_object]
    pub struct StateShard {
        sql: SqlStorage,
        /// Writes of this instance so far (the sweep runs on every [`SWEEP_EVERY`]th).
        writes: Cell<u32>,
    }

    #[derive(Deserialize)]
    struct Row {
        value: String,
        receipt: Option<String>,
    }

    fn now_seconds() -> i64 {
        // Unix seconds from the platform clock; well inside f64's exact integers.
        #[allow(clippy::cast_possible_truncation)]
        let secs = (js_sys::Date::now() / 1000.0).floor() as i64;
        secs
    }

    fn expiry(now: i64, ttl: Option<u64>) -> SqlStorageValue {
        match ttl {
            Some(t) => SqlStorageValue::Integer(
                now.saturating_add(i64::try_from(t).unwrap_or(i64::MAX / 2)),
            ),
            None => SqlStorageValue::Null,
        }
    }

    impl StateShard {
        fn live_row(&self, key: &str, now: i64) -> worker::Result<Option<Row>> {
            let rows: Vec<Row> = self
                .sql
                .exec(sql::LIVE_ROW, vec![key.into(), now.into()])?
                .to_array()?;
            Ok(rows.into_iter().next())
        }

        fn write(&self, key: &str, value: &str, ttl: Option<u64>, now: i64) -> worker::Result<()> {
            self.sql
                .exec(sql::WRITE, vec![key.into(), value.into(), expiry(now, ttl)])?;
            Ok(())
        }

        /// Runs `statement` (one with `RETURNING`) and says whether it returned a row: for
        /// an `INSERT` or `UPDATE`, whether it wrote one.
        fn returns_a_row(
            &self,
            statement: &str,
            params: Vec<SqlStorageValue>,
        ) -> worker::Result<bool> {
            let rows: Vec<IgnoredAny> = self.sql.exec(statement, params)?.to_array()?;
            Ok(!rows.is_empty())
        }

        /// Writes `key` unless a live row holds it (as [`Self::live_row`] sees it: no row, or
        /// only an expired one, is absent), in one statement: the upsert's `WHERE` leaves a
        /// live row as it is, and `RETURNING` says whether a row was written.
        fn write_if_absent(
            &self,
            key: &str,
            value: &str,
            ttl: Option<u64>,
            now: i64,
        ) -> worker::Result<bool> {
            self.returns_a_row(
                sql::WRITE_IF_ABSENT,
                vec![key.into(), value.into(), expiry(now, ttl), now.into()],
            )
        }

        /// Replaces the value of `key` if a live row that is not taken holds exactly
        /// `expected`, in one statement (what a compare-and-swap with the row's value
        /// expected does: the same columns as [`Self::write`]). Returns whether it did.
        fn swap_if_equal(
            &self,
            key: &str,
            expected: &str,
            value: &str,
            ttl: Option<u64>,
            now: i64,
        ) -> worker::Result<bool> {
            self.returns_a_row(
                sql::SWAP_IF_EQUAL,
                vec![
                    value.into(),
                    expiry(now, ttl),
                    key.into(),
                    expected.into(),
                    now.into(),
                ],
            )
        }

        /// A compare-and-swap: `value` replaces the live, untaken value of the key when it
        /// is `call.expected` (`None`: no such value). With a value expected (a refresh-token
        /// rotation) the swap is one statement, and the current value is read for the reply
        /// only when it did not happen.
        fn compare_and_swap(&self, call: &Call, value: &str, now: i64) -> worker::Result<Reply> {
            if let Some(expected) = call.expected.as_deref()
                && self.swap_if_equal(&call.key, expected, value, call.ttl, now)?
            {
                return Ok(Reply {
                    ok: true,
                    ..Reply::default()
                });
            }
            let current = self
                .live_row(&call.key, now)?
                .filter(|r| r.receipt.is_none())
                .map(|r| r.value);
            // With a value expected this is a conflict: the statement above would have
            // swapped it (nothing runs between the two).
            if call.expected.is_none() && current.is_none() {
                self.write(&call.key, value, call.ttl, now)?;
                return Ok(Reply {
                    ok: true,
                    ..Reply::default()
                });
            }
            Ok(Reply {
                value: current,
                ..Reply::default()
            })
        }

        /// Takes the row of `call.key` for `receipt` (it was read live and untaken just
        /// before): kept until `now + call.ttl`, its own expiry saved for an untake.
        fn take_row(&self, call: &Call, receipt: &str, now: i64) -> worker::Result<()> {
            self.sql.exec(
                sql::TAKE,
                vec![
                    receipt.into(),
                    expiry(now, call.ttl),
                    call.key.as_str().into(),
                ],
            )?;
            Ok(())
        }

        /// The reply to a take of `taken` (the value the row held): after the call's `then`
        /// is written unless its key holds a live row.
        fn after_take(
            &self,
            call: &Call,
            taken: Option<String>,
            now: i64,
        ) -> worker::Result<Reply> {
            let written = match &call.then {
                Some(then) => self.write_if_absent(&then.key, &then.value, then.ttl, now)?,
                None => false,
            };
            Ok(Reply {
                ok: true,
                value: taken,
                written,
                ..Reply::default()
            })
        }

        /// Takes the row of `call.key` (as the take of [`Self::run`] does, receipt `receipt`)
        /// if it is live, not taken, and holds exactly `call.expected`, and that value meets
        /// `call.condition`: one statement. Returns whether it took it; `false` (nothing
        /// changed, no statement run) also without an expected value, or when the condition
        /// is absent or not met by the copy.
        fn take_expected(&self, call: &Call, receipt: &str, now: i64) -> worker::Result<bool> {
            let Some(expected) = call.expected.as_deref() else {
                return Ok(false);
            };
            if !call.condition.as_ref().is_some_and(|c| c.holds(expected)) {
                return Ok(false);
            }
            self.returns_a_row(
                sql::TAKE_EXPECTED,
                vec![
                    receipt.into(),
                    expiry(now, call.ttl),
                    call.key.as_str().into(),
                    expected.into(),
                    now.into(),
                ],
            )
        }

        fn sweep(&self, now: i64) -> worker::Result<()> {
            self.sql.exec(
                sql::SWEEP,
                vec![now.into(), i64::from(SWEEP_ROWS * SWEEP_EVERY).into()],
            )?;
            Ok(())
        }

        /// Runs one call: synchronous SQL only, so no other call of the object interleaves
        /// with it; the RPC method runs it inside `transactionSync` (worker/entry.mjs), so
        /// a call that fails after a statement wrote leaves nothing behind.
        fn run(&self, call: &Call) -> worker::Result<Reply> {
            let now = now_seconds();
            let value = call.value.as_deref().unwrap_or_default();
            let reply = match call.op {
                Op::Get => Reply {
                    value: self
                        .live_row(&call.key, now)?
                        .filter(|r| r.receipt.is_none())
                        .map(|r| r.value),
                    ..Reply::default()
                },
                Op::Put => {
                    self.write(&call.key, value, call.ttl, now)?;
                    Reply::default()
                }
                Op::Delete => {
                    self.sql.exec(sql::DELETE, vec![call.key.as_str().into()])?;
                    Reply::default()
                }
                Op::Take => match self.live_row(&call.key, now)? {
                    None => Reply::default(),
                    Some(Row {
                        value: taken,
                        receipt: Some(first),
                    }) => Reply {
                        value: Some(taken),
                        receipt: Some(first),
                        ..Reply::default()
                    },
                    Some(Row { value: taken, .. }) => {
                        self.take_row(call, value, now)?;
                        Reply {
                            ok: true,
                            value: Some(taken),
                            ..Reply::default()
                        }
                    }
                },
                // take_if_then_put when the row holds the caller's copy and the copy meets
                // the condition: the take is one statement (no read first).
                Op::TakeIfThenPut if self.take_expected(call, value, now)? => {
                    self.after_take(call, call.expected.clone(), now)?
                }
                // take_if is take_if_then_put without the copy to compare and with nothing
                // to write after (its calls carry no `then`). A take_if_then_put gets here
                // when `take_expected` took nothing (or ran no statement): this reads the
                // row for the reply.
                Op::TakeIf | Op::TakeIfThenPut => match self.live_row(&call.key, now)? {
                    None => Reply::default(),
                    Some(Row {
                        value: taken,
                        receipt: Some(first),
                    }) => Reply {
                        value: Some(taken),
                        receipt: Some(first),
                        ..Reply::default()
                    },
                    // Not the caller's copy, or not met: the row stays exactly as it is.
                    Some(Row { value: current, .. })
                        if (call.op == Op::TakeIfThenPut
                            && call.expected.as_deref() != Some(current.as_str()))
                            || !call.condition.as_ref().is_some_and(|c| c.holds(&current)) =>
                    {
                        Reply {
                            value: Some(current),
                            ..Reply::default()
                        }
                    }
                    Some(Row { value: taken, .. }) => {
                        self.take_row(call, value, now)?;
                        self.after_take(call, Some(taken), now)?
                    }
                },
                Op::Untake => {
                    self.sql
                        .exec(sql::UNTAKE, vec![call.key.as_str().into(), value.into()])?;
                    Reply::default()
                }
                Op::PutIfAbsent => Reply {
                    ok: self.write_if_absent(&call.key, value, call.ttl, now)?,
                    ..Reply::default()
                },
                Op::CompareAndSwap => self.compare_and_swap(call, value, now)?,
            };
            if call.op != Op::Get {
                let writes = self.writes.get();
                // The sweep only deletes expired rows, one statement: when it fails the
                // call's own step stands, and its reply must say what that step did.
                if writes.is_multiple_of(SWEEP_EVERY) {
                    let _ = self.sweep(now);
                }
                self.writes.set(writes.wrapping_add(1));
            }
            Ok(reply)
        }
    }

    #[wasm_bindgen::prelude::wasm_bindgen]
    impl StateShard {
        /// The RPC method `run`: one call (its JSON) in, the reply (JSON) out, as
        /// [`Self::run`] in one synchronous step. A call that does not parse throws
        /// [`MALFORMED_CALL`], a storage failure `state shard error: ...`.
        ///
        /// # Errors
        /// Those two, as JavaScript errors.
        #[wasm_bindgen(js_name = run)]
        pub fn run_call(&self, call: &str) -> Result<String, js_sys::Error> {
            let Ok(call) = serde_json::from_str::<Call>(call) else {
                return Err(js_sys::Error::new(MALFORMED_CALL));
            };
            let reply = self
                .run(&call)
                .map_err(|err| js_sys::Error::new(&format!("state shard error: {err}")))?;
            serde_json::to_string(&reply).map_err(|err| js_sys::Error::new(&err.to_string()))
        }
    }

    impl DurableObject for StateShard {
        fn new(state: State, _env: Env) -> Self {
            let sql = state.storage().sql();
            // Idempotent; a failure here surfaces as an error of the first call.
            let _ = sql.exec(sql::CREATE_TABLE, None);
            let _ = sql.exec(sql::CREATE_INDEX, None);
            Self {
                sql,
                writes: Cell::new(0),
            }
        }

        async fn fetch(&self, req: Request) -> worker::Result<Response> {
            let mut req = req;
            let Ok(call) = req.json::<Call>().await else {
                return Response::error(MALFORMED_CALL, 400);
            };
            match self.run(&call) {
                Ok(reply) => Response::from_json(&reply),
                Err(err) => Response::error(format!("state shard error: {err}"), 500),
            }
        }
    }
}
