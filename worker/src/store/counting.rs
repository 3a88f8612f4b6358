//! [`CountingStore`]: a [`Store`] wrapper that counts the operations a request makes, as
//! the backend would see them. In [`Backend::Kv`] mode the atomic operations run as KV's
//! reads and writes (and are counted as such); in [`Backend::Durable`] mode every
//! operation on server state (codes, families, markers) is one Durable Object call and
//! only tenant records are KV reads ([`is_tenant_key`]).

use super::{
    Condition, PutIfAbsent, Store, StoreError, Swap, Taken, TakenIf, best_effort_compare_and_swap,
    best_effort_put_if_absent, best_effort_take, best_effort_take_if, best_effort_take_if_then_put,
    best_effort_untake, shard_of,
};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// Which backend the counts stand for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Workers KV only.
    Kv,
    /// Durable Objects for server state, KV for the tenant.
    Durable,
}

/// Operation counts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// KV reads (`get`, `list`).
    pub kv_reads: u32,
    /// KV writes (`put`, `delete`).
    pub kv_writes: u32,
    /// Durable Object calls.
    pub durable_calls: u32,
}

/// Whether `key` is a tenant record (kept in KV by every backend, written by the tenant
/// CLI): `client:`, `api:`, `grant:`, `user:`, `userid:`, `origin:`, `org:`,
/// `org_name:`, `role:`.
#[must_use]
pub fn is_tenant_key(key: &str) -> bool {
    matches!(
        super::key_kind(key),
        "client" | "api" | "grant" | "user" | "userid" | "origin" | "org" | "org_name" | "role"
    )
}

#[cfg(test)]
mod tenant_key_tests {
    use super::is_tenant_key;

    /// Every record the tenant CLI writes to KV is read from KV by the Durable Object
    /// store too: a tenant key routed to a state shard is never found there.
    #[test]
    fn every_tenant_record_key_is_a_tenant_key() {
        let keys = [
            crate::config::client_key("spa"),
            crate::config::api_key("https://api.example.com"),
            crate::config::grant_key("m2m", "https://api.example.com"),
            crate::config::user_key("ada@example.com"),
            crate::endpoints::userinfo::user_index_key("auth0|1"),
            crate::endpoints::cors::origin_key("https://app.example.com"),
            crate::orgs::org_key("org_0123456789abcdef"),
            crate::orgs::org_name_key("acme"),
            crate::rbac::role_key("rol_0123456789abcdef"),
        ];
        for key in &keys {
            assert!(is_tenant_key(key), "{key} must be read from KV");
        }
        for key in [
            "code:abc",
            "family:abc",
            "par:abc",
            "jti:abc:def",
            "assertion:a:b",
        ] {
            assert!(!is_tenant_key(key), "{key} is server state");
        }
    }
}

/// The counting wrapper. In [`Backend::Durable`] mode it also keeps the isolate copy of
/// `durable.rs` for [`Store::get_cached`] (the last value read or written per state key,
/// possibly stale), so a cached read costs no call, as on Workers.
#[derive(Clone, Debug)]
pub struct CountingStore<S> {
    inner: S,
    backend: Backend,
    counts: Rc<RefCell<Counts>>,
    copies: Rc<RefCell<BTreeMap<String, String>>>,
}

impl<S: Store> CountingStore<S> {
    /// Wraps `inner`, counting as `backend` would.
    pub fn new(inner: S, backend: Backend) -> Self {
        Self {
            inner,
            backend,
            counts: Rc::default(),
            copies: Rc::default(),
        }
    }

    fn keep(&self, key: &str, value: Option<&str>) {
        if self.backend == Backend::Durable && !is_tenant_key(key) {
            let mut copies = self.copies.borrow_mut();
            match value {
                Some(v) => copies.insert(key.to_owned(), v.to_owned()),
                None => copies.remove(key),
            };
        }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// The counts so far, and zero again.
    pub fn take_counts(&self) -> Counts {
        core::mem::take(&mut *self.counts.borrow_mut())
    }

    fn count(&self, key: &str, write: bool) {
        let mut c = self.counts.borrow_mut();
        if self.backend == Backend::Durable && !is_tenant_key(key) {
            c.durable_calls += 1;
        } else if write {
            c.kv_writes += 1;
        } else {
            c.kv_reads += 1;
        }
    }

    fn count_call(&self) {
        self.counts.borrow_mut().durable_calls += 1;
    }
}

impl<S: Store> Store for CountingStore<S> {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.count(key, false);
        let value = self.inner.get(key).await?;
        self.keep(key, value.as_deref());
        Ok(value)
    }

    async fn get_cached(&self, key: &str) -> Result<Option<String>, StoreError> {
        if let Some(copy) = self.copies.borrow().get(key) {
            return Ok(Some(copy.clone()));
        }
        self.get(key).await
    }

    fn copy(&self, key: &str) -> Option<String> {
        self.copies.borrow().get(key).cloned()
    }

    async fn put(&self, key: &str, value: &str, ttl: Option<u64>) -> Result<(), StoreError> {
        self.count(key, true);
        self.inner.put(key, value, ttl).await?;
        self.keep(key, Some(value));
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.count(key, true);
        self.keep(key, None);
        self.inner.delete(key).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.count(prefix, false);
        self.inner.list(prefix).await
    }

    async fn take(&self, key: &str, receipt: &str, keep: u64) -> Result<Taken, StoreError> {
        match self.backend {
            Backend::Kv => best_effort_take(self, key, receipt, keep).await,
            Backend::Durable => {
                self.count_call();
                self.inner.take(key, receipt, keep).await
            }
        }
    }

    async fn take_if(
        &self,
        key: &str,
        condition: &Condition,
        receipt: &str,
        keep: u64,
    ) -> Result<TakenIf, StoreError> {
        match self.backend {
            Backend::Kv => best_effort_take_if(self, key, condition, receipt, keep).await,
            Backend::Durable => {
                self.count_call();
                self.inner.take_if(key, condition, receipt, keep).await
            }
        }
    }

    /// Durable: one call when both keys live in the same shard (as `durable.rs`), else the
    /// calls of [`best_effort_take_if_then_put`].
    async fn take_if_then_put(
        &self,
        key: &str,
        expected: &str,
        condition: &Condition,
        receipt: &str,
        keep: u64,
        then: Option<&PutIfAbsent<'_>>,
    ) -> Result<(TakenIf, bool), StoreError> {
        let one_shard = then.is_none_or(|t| shard_of(t.key) == shard_of(key));
        if self.backend == Backend::Kv || !one_shard {
            return best_effort_take_if_then_put(
                self, key, expected, condition, receipt, keep, then,
            )
            .await;
        }
        self.count_call();
        let (taken, written) = self
            .inner
            .take_if_then_put(key, expected, condition, receipt, keep, then)
            .await?;
        match &taken {
            TakenIf::Now(_) => self.keep(key, None),
            TakenIf::Unmet(current) => self.keep(key, Some(current)),
            _ => {}
        }
        if written && let Some(then) = then {
            self.keep(then.key, Some(then.value));
        }
        Ok((taken, written))
    }

    async fn untake(&self, key: &str, receipt: &str) -> Result<(), StoreError> {
        match self.backend {
            Backend::Kv => best_effort_untake(self, key, receipt).await,
            Backend::Durable => {
                self.count_call();
                self.inner.untake(key, receipt).await
            }
        }
    }

    async fn put_if_absent(
        &self,
        key: &str,
        value: &str,
        ttl: Option<u64>,
    ) -> Result<bool, StoreError> {
        match self.backend {
            Backend::Kv => best_effort_put_if_absent(self, key, value, ttl).await,
            Backend::Durable => {
                self.count_call();
                let written = self.inner.put_if_absent(key, value, ttl).await?;
                if written {
                    self.keep(key, Some(value));
                }
                Ok(written)
            }
        }
    }

    async fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&str>,
        new: &str,
        ttl: Option<u64>,
    ) -> Result<Swap, StoreError> {
        match self.backend {
            Backend::Kv => best_effort_compare_and_swap(self, key, expected, new, ttl).await,
            Backend::Durable => {
                self.count_call();
                let swap = self.inner.compare_and_swap(key, expected, new, ttl).await?;
                match &swap {
                    Swap::Done => self.keep(key, Some(new)),
                    Swap::Conflict(current) => self.keep(key, current.as_deref()),
                }
                Ok(swap)
            }
        }
    }
}
