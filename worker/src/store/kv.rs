//! [`Store`] on Workers KV (binding `OAUTH_KV`): the tenant records for every backend,
//! and all state in the KV-only mode (`STORE = "kv"`), where the atomic operations are the
//! contract's best-effort defaults (a read, then a write); [`Store::take_if`] is
//! [`super::best_effort_take_if`] (the same reads and write as a take).
//!
//! Tenant records ([`super::counting::is_tenant_key`]) are cached per isolate for
//! [`TENANT_CACHE_SECONDS`]: a changed client, API or user takes effect within that time
//! (plus KV's own propagation, up to about 60 s across locations). Writes and deletes
//! through this store drop the isolate's cached copy.

use super::counting::is_tenant_key;
use super::{Condition, Store, StoreError, TakenIf, best_effort_take_if, check_put};
use std::cell::RefCell;
use std::collections::BTreeMap;

/// How long an isolate keeps a tenant record it read, in seconds.
pub const TENANT_CACHE_SECONDS: f64 = 10.0;

/// The most tenant records an isolate keeps.
const TENANT_CACHE_ENTRIES: usize = 512;

thread_local! {
    /// key -> (value or absent, expiry in ms since the epoch).
    static TENANT_CACHE: RefCell<BTreeMap<String, (Option<String>, f64)>> =
        const { RefCell::new(BTreeMap::new()) };
}

fn cached(key: &str, now_ms: f64) -> Option<Option<String>> {
    TENANT_CACHE.with(|c| {
        c.borrow()
            .get(key)
            .filter(|(_, until)| *until > now_ms)
            .map(|(v, _)| v.clone())
    })
}

fn remember(key: &str, value: Option<String>, now_ms: f64) {
    TENANT_CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= TENANT_CACHE_ENTRIES {
            c.retain(|_, (_, until)| *until > now_ms);
            if c.len() >= TENANT_CACHE_ENTRIES {
                c.clear();
            }
        }
        c.insert(
            key.to_owned(),
            (value, now_ms + TENANT_CACHE_SECONDS * 1000.0),
        );
    });
}

fn forget(key: &str) {
    TENANT_CACHE.with(|c| {
        c.borrow_mut().remove(key);
    });
}

/// The Workers KV store.
pub struct KvStore(worker::kv::KvStore);

impl KvStore {
    /// Wraps a KV namespace binding.
    #[must_use]
    pub fn new(kv: worker::kv::KvStore) -> Self {
        Self(kv)
    }
}

/// Maps a KV error; a `429 Too Many Requests` (KV allows one write per key per second)
/// becomes [`StoreError::RateLimited`]. The message is kept for logs, never for clients.
fn map_err(err: &worker::kv::KvError) -> StoreError {
    let text = err.to_string();
    if text.contains("429") || text.contains("Too Many Requests") || text.contains("rate limit") {
        StoreError::RateLimited
    } else {
        StoreError::Backend(text)
    }
}

impl Store for KvStore {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        if !is_tenant_key(key) {
            return self.0.get(key).text().await.map_err(|e| map_err(&e));
        }
        let now_ms = js_sys::Date::now();
        if let Some(hit) = cached(key, now_ms) {
            return Ok(hit);
        }
        let value = self.0.get(key).text().await.map_err(|e| map_err(&e))?;
        remember(key, value.clone(), now_ms);
        Ok(value)
    }

    async fn put(&self, key: &str, value: &str, ttl: Option<u64>) -> Result<(), StoreError> {
        check_put(key, ttl)?;
        forget(key);
        let mut builder = self.0.put(key, value).map_err(|e| map_err(&e))?;
        if let Some(ttl) = ttl {
            builder = builder.expiration_ttl(ttl);
        }
        builder.execute().await.map_err(|e| map_err(&e))
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        forget(key);
        self.0.delete(key).await.map_err(|e| map_err(&e))
    }

    async fn take_if(
        &self,
        key: &str,
        condition: &Condition,
        receipt: &str,
        keep: u64,
    ) -> Result<TakenIf, StoreError> {
        best_effort_take_if(self, key, condition, receipt, keep).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let response = self
            .0
            .list()
            .prefix(prefix.to_owned())
            .limit(1000)
            .execute()
            .await
            .map_err(|e| map_err(&e))?;
        Ok(response.keys.into_iter().map(|k| k.name).collect())
    }
}
