//! An in-memory [`Store`] for native tests that enforces Workers KV's rules: a TTL must be
//! at least 60 seconds and keys at most 512 bytes. Time is a shared [`Clock`] so tests can
//! move it forward, and failures can be injected.
//!
//! Two modes:
//! - **exact** (the default): the atomic operations ([`Store::take`], [`Store::take_if`],
//!   [`Store::put_if_absent`], [`Store::compare_and_swap`]) hold exactly, as in the Durable
//!   Object store;
//! - **stale** ([`MemoryStore::stale_reads`]): like Workers KV seen from another location,
//!   every read answers the value as it was `lag` seconds ago, and the atomic operations
//!   are KV's best-effort read-then-write.
//!
//! With [`MemoryStore::keep_copies`] it also answers [`Store::copy`] like the Durable
//! Object store's per-isolate cache on the isolate that wrote the record: the stored value
//! of a state key, taken or not (a copy of a taken code is the stale case), so that the
//! grants' paths on a copy run in the server tests as they do on Workers.

use super::{
    Condition, PutIfAbsent, Store, StoreError, Swap, Taken, TakenIf, best_effort_compare_and_swap,
    best_effort_put_if_absent, best_effort_take, best_effort_take_if, best_effort_take_if_then_put,
    best_effort_untake, check_put,
};
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

/// One stored value.
#[derive(Clone, Debug)]
struct Entry {
    value: String,
    /// Expiry in Unix seconds.
    exp: Option<i64>,
    /// Set by an exact take: (receipt, kept until).
    taken: Option<(String, i64)>,
}

impl Entry {
    fn live(&self, now: i64) -> bool {
        match &self.taken {
            Some((_, until)) => *until > now,
            None => self.exp.is_none_or(|e| e > now),
        }
    }

    fn readable(&self, now: i64) -> bool {
        self.taken.is_none() && self.live(now)
    }
}

/// Every plain write, in order: (time, key, value and expiry, or `None` for a delete).
type Log = Vec<(i64, String, Option<(String, Option<i64>)>)>;

/// The in-memory store.
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    entries: Rc<RefCell<BTreeMap<String, Entry>>>,
    log: Rc<RefCell<Log>>,
    lag: Rc<Cell<Option<i64>>>,
    clock: Clock,
    fail_writes: Rc<RefCell<Option<StoreError>>>,
    fail_prefix: Rc<RefCell<Option<(String, StoreError)>>>,
    fail_after_prefix: Rc<RefCell<Option<(String, StoreError)>>>,
    copies: Rc<Cell<bool>>,
}

fn ttl_to_exp(now: i64, ttl: Option<u64>) -> Option<i64> {
    ttl.map(|t| now.saturating_add(i64::try_from(t).unwrap_or(i64::MAX)))
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

    /// Makes every following write to a key starting with `prefix` fail with `err` (a
    /// single shard or record kind out of reach), or stops failing with `None`.
    ///
    /// ```
    /// use edge_oauth_worker::store::{Store, StoreError, memory::MemoryStore};
    /// use edge_oauth_worker::testing::block_on;
    /// let store = MemoryStore::default();
    /// store.fail_writes_to(Some(("jti:", StoreError::RateLimited)));
    /// assert!(block_on(store.put("jti:k", "1", None)).is_err());
    /// assert!(block_on(store.put("code:c", "1", None)).is_ok());
    /// ```
    pub fn fail_writes_to(&self, failure: Option<(&str, StoreError)>) {
        *self.fail_prefix.borrow_mut() = failure.map(|(p, e)| (p.to_owned(), e));
    }

    /// Makes every following write to a key starting with `prefix` happen and then answer
    /// `err`, as a Durable Object call whose reply is lost after it committed; or stops
    /// with `None`.
    ///
    /// ```
    /// use edge_oauth_worker::store::{Store, StoreError, memory::MemoryStore};
    /// use edge_oauth_worker::testing::block_on;
    /// let store = MemoryStore::default();
    /// store.fail_after_writes_to(Some(("family:", StoreError::Backend("lost".into()))));
    /// assert!(block_on(store.put("family:f", "1", None)).is_err());
    /// assert_eq!(block_on(store.get("family:f")).unwrap().as_deref(), Some("1"));
    /// ```
    pub fn fail_after_writes_to(&self, failure: Option<(&str, StoreError)>) {
        *self.fail_after_prefix.borrow_mut() = failure.map(|(p, e)| (p.to_owned(), e));
    }

    /// Stale mode: from now on every read answers the value as of `lag` seconds ago and
    /// the atomic operations are best effort, as on Workers KV; `None` is exact again.
    pub fn stale_reads(&self, lag: Option<i64>) {
        self.lag.set(lag);
    }

    /// From now on [`Store::copy`] answers the stored value of a state key (see the module
    /// docs), or, with `false`, no copies (the default: an isolate that wrote nothing).
    pub fn keep_copies(&self, on: bool) {
        self.copies.set(on);
    }

    /// The number of live keys starting with `prefix`.
    #[must_use]
    pub fn count(&self, prefix: &str) -> usize {
        let now = self.clock.now();
        self.entries
            .borrow()
            .iter()
            .filter(|(k, e)| k.starts_with(prefix) && e.live(now))
            .count()
    }

    /// The TTL left on a key, in seconds (`None` when absent or without expiry).
    #[must_use]
    pub fn ttl(&self, key: &str) -> Option<i64> {
        let now = self.clock.now();
        self.entries.borrow().get(key).and_then(|e| match &e.taken {
            Some((_, until)) => Some(until - now),
            None => e.exp.map(|x| x - now),
        })
    }

    fn injected_failure(&self, key: &str) -> Result<(), StoreError> {
        if let Some((prefix, err)) = &*self.fail_prefix.borrow()
            && key.starts_with(prefix.as_str())
        {
            return Err(err.clone());
        }
        self.fail_writes.borrow().clone().map_or(Ok(()), Err)
    }

    /// The value of `key` as it was at `at` (stale mode).
    fn read_as_of(&self, key: &str, at: i64) -> Option<String> {
        let log = self.log.borrow();
        let (_, _, last) = log.iter().rev().find(|(t, k, _)| *t <= at && k == key)?;
        let (value, exp) = last.as_ref()?;
        exp.is_none_or(|e| e > self.clock.now())
            .then(|| value.clone())
    }

    fn record(&self, key: &str, write: Option<(String, Option<i64>)>) {
        self.log
            .borrow_mut()
            .push((self.clock.now(), key.to_owned(), write));
    }
}

impl Store for MemoryStore {
    fn copy(&self, key: &str) -> Option<String> {
        if !self.copies.get() || super::counting::is_tenant_key(key) {
            return None;
        }
        let now = self.clock.now();
        self.entries
            .borrow()
            .get(key)
            .filter(|e| e.live(now))
            .map(|e| e.value.clone())
    }

    async fn get(&self, key: &str) -> Result<Option<String>, StoreError> {
        let now = self.clock.now();
        if let Some(lag) = self.lag.get() {
            return Ok(self.read_as_of(key, now.saturating_sub(lag)));
        }
        Ok(self
            .entries
            .borrow()
            .get(key)
            .filter(|e| e.readable(now))
            .map(|e| e.value.clone()))
    }

    async fn put(&self, key: &str, value: &str, ttl: Option<u64>) -> Result<(), StoreError> {
        check_put(key, ttl)?;
        self.injected_failure(key)?;
        let exp = ttl_to_exp(self.clock.now(), ttl);
        self.record(key, Some((value.to_owned(), exp)));
        self.entries.borrow_mut().insert(
            key.to_owned(),
            Entry {
                value: value.to_owned(),
                exp,
                taken: None,
            },
        );
        if let Some((prefix, err)) = &*self.fail_after_prefix.borrow()
            && key.starts_with(prefix.as_str())
        {
            return Err(err.clone());
        }
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.injected_failure(key)?;
        self.record(key, None);
        self.entries.borrow_mut().remove(key);
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        let now = self.clock.now();
        Ok(self
            .entries
            .borrow()
            .iter()
            .filter(|(k, e)| k.starts_with(prefix) && e.readable(now))
            .map(|(k, _)| k.clone())
            .take(1000)
            .collect())
    }

    async fn take(&self, key: &str, receipt: &str, keep: u64) -> Result<Taken, StoreError> {
        if self.lag.get().is_some() {
            return best_effort_take(self, key, receipt, keep).await;
        }
        check_put(key, Some(keep))?;
        let now = self.clock.now();
        let mut entries = self.entries.borrow_mut();
        let Some(entry) = entries.get_mut(key).filter(|e| e.live(now)) else {
            return Ok(Taken::Absent);
        };
        if let Some((first, _)) = &entry.taken {
            return Ok(Taken::Before {
                value: entry.value.clone(),
                receipt: first.clone(),
            });
        }
        self.injected_failure(key)?;
        let until = ttl_to_exp(now, Some(keep)).unwrap_or(i64::MAX);
        entry.taken = Some((receipt.to_owned(), until));
        Ok(Taken::Now(entry.value.clone()))
    }

    async fn take_if(
        &self,
        key: &str,
        condition: &Condition,
        receipt: &str,
        keep: u64,
    ) -> Result<TakenIf, StoreError> {
        if self.lag.get().is_some() {
            return best_effort_take_if(self, key, condition, receipt, keep).await;
        }
        check_put(key, Some(keep))?;
        let now = self.clock.now();
        let mut entries = self.entries.borrow_mut();
        let Some(entry) = entries.get_mut(key).filter(|e| e.live(now)) else {
            return Ok(TakenIf::Absent);
        };
        if let Some((first, _)) = &entry.taken {
            return Ok(TakenIf::Before {
                value: entry.value.clone(),
                receipt: first.clone(),
            });
        }
        if !condition.holds(&entry.value) {
            return Ok(TakenIf::Unmet(entry.value.clone()));
        }
        self.injected_failure(key)?;
        let until = ttl_to_exp(now, Some(keep)).unwrap_or(i64::MAX);
        entry.taken = Some((receipt.to_owned(), until));
        Ok(TakenIf::Now(entry.value.clone()))
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
        if self.lag.get().is_some() {
            return best_effort_take_if_then_put(
                self, key, expected, condition, receipt, keep, then,
            )
            .await;
        }
        check_put(key, Some(keep))?;
        if let Some(then) = then {
            check_put(then.key, then.ttl)?;
        }
        let now = self.clock.now();
        {
            let mut entries = self.entries.borrow_mut();
            let Some(entry) = entries.get_mut(key).filter(|e| e.live(now)) else {
                return Ok((TakenIf::Absent, false));
            };
            if let Some((first, _)) = &entry.taken {
                return Ok((
                    TakenIf::Before {
                        value: entry.value.clone(),
                        receipt: first.clone(),
                    },
                    false,
                ));
            }
            if entry.value != expected || !condition.holds(&entry.value) {
                return Ok((TakenIf::Unmet(entry.value.clone()), false));
            }
            // One transaction: a failing write of either key writes neither.
            self.injected_failure(key)?;
            if let Some(then) = then {
                self.injected_failure(then.key)?;
            }
            let until = ttl_to_exp(now, Some(keep)).unwrap_or(i64::MAX);
            entry.taken = Some((receipt.to_owned(), until));
        }
        let written = match then {
            Some(then) => self.put_if_absent(then.key, then.value, then.ttl).await?,
            None => false,
        };
        Ok((TakenIf::Now(expected.to_owned()), written))
    }

    async fn untake(&self, key: &str, receipt: &str) -> Result<(), StoreError> {
        if self.lag.get().is_some() {
            return best_effort_untake(self, key, receipt).await;
        }
        let mut entries = self.entries.borrow_mut();
        if let Some(entry) = entries.get_mut(key)
            && entry.taken.as_ref().is_some_and(|(r, _)| r == receipt)
        {
            self.injected_failure(key)?;
            entry.taken = None;
        }
        Ok(())
    }

    async fn put_if_absent(
        &self,
        key: &str,
        value: &str,
        ttl: Option<u64>,
    ) -> Result<bool, StoreError> {
        if self.lag.get().is_some() {
            return best_effort_put_if_absent(self, key, value, ttl).await;
        }
        check_put(key, ttl)?;
        let now = self.clock.now();
        if self.entries.borrow().get(key).is_some_and(|e| e.live(now)) {
            return Ok(false);
        }
        self.put(key, value, ttl).await?;
        Ok(true)
    }

    async fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&str>,
        new: &str,
        ttl: Option<u64>,
    ) -> Result<Swap, StoreError> {
        if self.lag.get().is_some() {
            return best_effort_compare_and_swap(self, key, expected, new, ttl).await;
        }
        check_put(key, ttl)?;
        let current = self.get(key).await?;
        if current.as_deref() != expected {
            return Ok(Swap::Conflict(current));
        }
        self.put(key, new, ttl).await?;
        Ok(Swap::Done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::block_on;

    /// The contract of [`Store::take_if`], for any store: an unmet condition leaves the
    /// value exactly as it was (readable, takeable, nothing written); a met one takes it
    /// once; a second take answers the first receipt whatever the condition.
    pub(crate) fn take_if_contract<S: Store>(store: &S, read_after_take: bool) {
        let value = r#"{"client_id":"spa","code_challenge":"abc"}"#;
        block_on(store.put("code:c", value, Some(60))).unwrap();
        let right = Condition::default()
            .field("client_id", &[Some("spa")])
            .field("code_challenge", &[Some("abc")]);
        let wrong = Condition::default()
            .field("client_id", &[Some("spa")])
            .field("code_challenge", &[Some("xyz")]);
        let never = Condition::default().field("client_id", &[]);
        for c in [&wrong, &never] {
            assert_eq!(
                block_on(store.take_if("code:c", c, "r-bad", 600)).unwrap(),
                TakenIf::Unmet(value.to_owned())
            );
            assert_eq!(
                block_on(store.get("code:c")).unwrap().as_deref(),
                Some(value),
                "untouched"
            );
        }
        assert_eq!(
            block_on(store.take_if("code:c", &right, "r-1", 600)).unwrap(),
            TakenIf::Now(value.to_owned())
        );
        if !read_after_take {
            assert_eq!(block_on(store.get("code:c")).unwrap(), None);
        }
        for c in [&right, &wrong] {
            assert_eq!(
                block_on(store.take_if("code:c", c, "r-2", 600)).unwrap(),
                TakenIf::Before {
                    value: value.to_owned(),
                    receipt: "r-1".to_owned()
                }
            );
        }
        assert_eq!(
            block_on(store.take_if("code:none", &right, "r", 600)).unwrap(),
            TakenIf::Absent
        );
        assert!(block_on(store.take_if("code:c", &right, "r", 59)).is_err());
    }

    #[test]
    fn contract_take_if_exact_stale_and_counted() {
        let store = MemoryStore::new(Clock::new(1_000));
        take_if_contract(&store, false);
        let stale = MemoryStore::new(Clock::new(1_000));
        stale.stale_reads(Some(0));
        take_if_contract(&stale, true);
        for backend in [
            crate::store::counting::Backend::Kv,
            crate::store::counting::Backend::Durable,
        ] {
            let counted = crate::store::counting::CountingStore::new(
                MemoryStore::new(Clock::new(1_000)),
                backend,
            );
            take_if_contract(&counted, backend == crate::store::counting::Backend::Kv);
        }
    }

    /// The contract of [`Store::take_if_then_put`], for any store: a value that is not
    /// the expected copy, or misses the condition, is left as it was and nothing is
    /// written; a met one is taken once and the other key written unless it holds
    /// something; a second take answers the first receipt and writes nothing.
    pub(crate) fn take_if_then_put_contract<S: Store>(store: &S) {
        let value = r#"{"client_id":"spa"}"#;
        block_on(store.put("code:c", value, Some(60))).unwrap();
        let spa = Condition::default().field("client_id", &[Some("spa")]);
        let web = Condition::default().field("client_id", &[Some("web")]);
        let family = PutIfAbsent {
            key: "family:f",
            value: "first",
            ttl: Some(600),
        };
        let stale = r#"{"client_id":"spa","old":true}"#;
        for (expected, c) in [(stale, &spa), (value, &web)] {
            assert_eq!(
                block_on(store.take_if_then_put(
                    "code:c",
                    expected,
                    c,
                    "r-bad",
                    600,
                    Some(&family)
                ))
                .unwrap(),
                (TakenIf::Unmet(value.to_owned()), false)
            );
            assert_eq!(
                block_on(store.get("family:f")).unwrap(),
                None,
                "nothing written"
            );
        }
        assert_eq!(
            block_on(store.take_if_then_put("code:c", value, &spa, "r-1", 600, Some(&family)))
                .unwrap(),
            (TakenIf::Now(value.to_owned()), true)
        );
        assert_eq!(
            block_on(store.get("family:f")).unwrap().as_deref(),
            Some("first")
        );
        let second = PutIfAbsent {
            value: "second",
            ..family
        };
        assert_eq!(
            block_on(store.take_if_then_put("code:c", value, &spa, "r-2", 600, Some(&second)))
                .unwrap(),
            (
                TakenIf::Before {
                    value: value.to_owned(),
                    receipt: "r-1".to_owned()
                },
                false
            )
        );
        assert_eq!(
            block_on(store.get("family:f")).unwrap().as_deref(),
            Some("first")
        );
        // Taken, but the other key already holds something: not overwritten.
        block_on(store.put("code:d", value, Some(60))).unwrap();
        assert_eq!(
            block_on(store.take_if_then_put("code:d", value, &spa, "r-3", 600, Some(&second)))
                .unwrap(),
            (TakenIf::Now(value.to_owned()), false)
        );
        assert_eq!(
            block_on(store.get("family:f")).unwrap().as_deref(),
            Some("first")
        );
        // Without a write.
        block_on(store.put("code:e", value, Some(60))).unwrap();
        assert_eq!(
            block_on(store.take_if_then_put("code:e", value, &spa, "r-4", 600, None)).unwrap(),
            (TakenIf::Now(value.to_owned()), false)
        );
        assert_eq!(
            block_on(store.take_if_then_put("code:none", value, &spa, "r", 600, Some(&family)))
                .unwrap(),
            (TakenIf::Absent, false)
        );
        assert!(block_on(store.take_if_then_put("code:c", value, &spa, "r", 59, None)).is_err());
    }

    #[test]
    fn contract_take_if_then_put_exact_stale_and_counted() {
        take_if_then_put_contract(&MemoryStore::new(Clock::new(1_000)));
        let stale = MemoryStore::new(Clock::new(1_000));
        stale.stale_reads(Some(0));
        take_if_then_put_contract(&stale);
        for backend in [
            crate::store::counting::Backend::Kv,
            crate::store::counting::Backend::Durable,
        ] {
            let counted = crate::store::counting::CountingStore::new(
                MemoryStore::new(Clock::new(1_000)),
                backend,
            );
            take_if_then_put_contract(&counted);
        }
    }

    #[test]
    fn contract_take_if_unmet_writes_nothing() {
        let store = MemoryStore::new(Clock::new(1_000));
        block_on(store.put("code:c", r#"{"client_id":"spa"}"#, Some(60))).unwrap();
        let writes = store.log.borrow().len();
        let wrong = Condition::default().field("client_id", &[Some("web")]);
        store.fail_writes(Some(StoreError::RateLimited));
        assert!(matches!(
            block_on(store.take_if("code:c", &wrong, "r", 600)),
            Ok(TakenIf::Unmet(_))
        ));
        store.fail_writes(None);
        assert_eq!(store.log.borrow().len(), writes);
        assert_eq!(store.count("taken:"), 0);
    }

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
