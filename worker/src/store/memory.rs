//! An in-memory [`Store`] for native tests that enforces Workers KV's rules: a TTL must be
//! at least 60 seconds, keys at most 512 bytes, and there is no atomic take. Time is a
//! shared [`Clock`] so tests can move it forward, and failures can be injected.

use super::{Store, StoreError, check_put};
use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

/// A settable clock in Unix seconds, shared between the store and the test platform.
#[derive(Clone, Debug, Default)]
pub struct Clock(Rc<Cell<i64>>);

impl Clock {
    /// A clock set to `now`.
    #[must_use]
    pub fn new(now: i64) -> Self {
        Self(Rc::new(Cell::new(now)))
    }

    /// The current time.
    #[must_use]
    pub fn now(&self) -> i64 {
        self.0.get()
    }

    /// Moves time forward by `seconds`.
    pub fn advance(&self, seconds: i64) {
        self.0.set(self.0.get().saturating_add(seconds));
    }
}

/// Key → (value, expiry in Unix seconds).
type Entries = BTreeMap<String, (String, Option<i64>)>;

/// The in-memory store.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    entries: Rc<RefCell<Entries>>,
    clock: Clock,
    fail_writes: Rc<RefCell<Option<StoreError>>>,
}

impl MemoryStore {
    /// An empty store reading time from `clock`.
    #[must_use]
    pub fn new(clock: Clock) -> Self {
        Self {
            clock,
            ..Self::default()
        }
    }

    /// Makes every following write fail with `err` (e.g. [`StoreError::RateLimited`]), or
    /// stops failing with `None`.
    pub fn fail_writes(&self, err: Option<StoreError>) {
        *self.fail_writes.borrow_mut() = err;
    }

    /// The number of live keys starting with `prefix`.
    #[must_use]
    pub fn count(&self, prefix: &str) -> usize {
        let now = self.clock.now();
        self.entries
            .borrow()
            .iter()
            .filter(|(k, (_, exp))| k.starts_with(prefix) && exp.is_none_or(|e| e > now))
            .count()
    }

    /// The TTL left on a key, in seconds (`None` when absent or without expiry).
    #[must_use]
    pub fn ttl(&self, key: &str) -> Option<i64> {
        let now = self.clock.now();
        self.entries
            .borrow()
            .get(key)
            .and_then(|(_, exp)| exp.map(|e| e - now))
    }

    fn injected_failure(&self) -> Result<(), StoreError> {
        self.fail_writes.borrow().clone().map_or(Ok(()), Err)
    }
}

impl Store for MemoryStore {
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        let now = self.clock.now();
        let mut entries = self.entries.borrow_mut();
        let expired = match entries.get(key) {
            None => return Ok(None),
            Some((value, exp)) => {
                if exp.is_none_or(|e| e > now) {
                    return Ok(Some(value.clone()));
                }
                true
            }
        };
        if expired {
            entries.remove(key);
        }
        Ok(None)
    }

    async fn put(&self, key: &str, value: &str, ttl: Option<u64>) -> Result<(), StoreError> {
        check_put(key, ttl)?;
        self.injected_failure()?;
        let exp = ttl.map(|t| {
            self.clock
                .now()
                .saturating_add(i64::try_from(t).unwrap_or(i64::MAX))
        });
        self.entries
            .borrow_mut()
            .insert(key.to_owned(), (value.to_owned(), exp));
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.injected_failure()?;
        self.entries.borrow_mut().remove(key);
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let now = self.clock.now();
        Ok(self
            .entries
            .borrow()
            .iter()
            .filter(|(k, (_, exp))| k.starts_with(prefix) && exp.is_none_or(|e| e > now))
            .map(|(k, _)| k.clone())
            .take(1000)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::block_on;

    #[test]
    fn kv_contract_ttl_below_60_seconds_is_refused() {
        let store = MemoryStore::new(Clock::new(1_000));
        let err = block_on(store.put("code:x", "v", Some(59))).unwrap_err();
        assert!(matches!(err, StoreError::Invalid(_)));
        assert!(block_on(store.put("code:x", "v", Some(60))).is_ok());
    }

    #[test]
    fn kv_contract_values_expire_after_ttl() {
        let clock = Clock::new(1_000);
        let store = MemoryStore::new(clock.clone());
        block_on(store.put("code:x", "v", Some(60))).unwrap();
        clock.advance(59);
        assert_eq!(block_on(store.get("code:x")).unwrap().as_deref(), Some("v"));
        clock.advance(1);
        assert_eq!(block_on(store.get("code:x")).unwrap(), None);
    }

    #[test]
    fn kv_contract_get_is_not_a_take() {
        let store = MemoryStore::new(Clock::new(0));
        block_on(store.put("k", "v", None)).unwrap();
        assert!(block_on(store.get("k")).unwrap().is_some());
        assert!(block_on(store.get("k")).unwrap().is_some());
        block_on(store.delete("k")).unwrap();
        assert!(block_on(store.get("k")).unwrap().is_none());
    }

    #[test]
    fn kv_contract_key_longer_than_512_bytes_is_refused() {
        let store = MemoryStore::new(Clock::new(0));
        let key = "k".repeat(513);
        assert!(block_on(store.put(&key, "v", None)).is_err());
    }

    #[test]
    fn kv_contract_list_by_prefix_and_injected_rate_limit() {
        let store = MemoryStore::new(Clock::new(0));
        block_on(store.put("client:a", "1", None)).unwrap();
        block_on(store.put("client:b", "2", None)).unwrap();
        block_on(store.put("api:x", "3", None)).unwrap();
        assert_eq!(
            block_on(store.list("client:")).unwrap(),
            vec!["client:a".to_owned(), "client:b".to_owned()]
        );
        store.fail_writes(Some(StoreError::RateLimited));
        assert_eq!(
            block_on(store.put("client:c", "x", None)),
            Err(StoreError::RateLimited)
        );
        store.fail_writes(None);
        assert!(block_on(store.put("client:c", "x", None)).is_ok());
    }
}
