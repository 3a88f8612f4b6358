//! The storage contract: a key-value store with Workers KV's rules, plus the three atomic
//! operations the grants need.
//!
//! - values are strings (JSON records), keys at most 512 bytes;
//! - an expiring write needs a TTL of at least 60 seconds;
//! - [`Store::take`]: read a single-use value and mark it taken in one step, keeping a
//!   receipt (authorization codes; any later one-time credential such as a device code);
//! - [`Store::take_if`]: the same take, only when the value meets a [`Condition`] the
//!   caller gives, checked in the same atomic step (a code is taken only by a request
//!   that passes its client, redirect URI and PKCE checks; any other leaves it as it was);
//! - [`Store::put_if_absent`]: write a replay marker unless it exists (assertion `jti`,
//!   DPoP `jti`);
//! - [`Store::compare_and_swap`]: replace a record only if it still holds what was read
//!   (a refresh-token family's current generation);
//! - [`Store::take_if_then_put`]: [`Store::take_if`] of a value the caller already holds a
//!   copy of, and when it is taken, a [`Store::put_if_absent`] of another key, in one step
//!   (a code exchange decided on this isolate's copy of the code: the code is taken and
//!   its refresh-token family started in one Durable Object call when both keys live in
//!   the same shard).
//!
//! The default methods implement the atomic operations as a read followed by a write:
//! that is all Workers KV allows, and it is best effort (two requests in flight at once,
//! or reading a stale copy up to about 60 s old in another location, can both succeed).
//! [`durable::DurableStore`] (wasm32) runs each of them as one SQLite transaction inside a
//! Durable Object, so they hold exactly; [`memory::MemoryStore`] runs them exactly too,
//! or, in its stale mode, exactly like KV.
//!
//! Backends: `kv::KvStore` (wasm32, Workers KV, the tenant records and the KV-only mode),
//! `durable::DurableStore` (wasm32, the default: server state in Durable Objects, tenant in
//! KV), [`memory::MemoryStore`] (native tests) and [`counting::CountingStore`] (a wrapper
//! that counts operations, for tests and measurements).

pub mod counting;
pub mod memory;

#[cfg(target_arch = "wasm32")]
pub mod kv;

#[cfg(target_arch = "wasm32")]
pub mod durable;

pub mod shard_sql;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// The smallest TTL Workers KV accepts, in seconds.
pub const MIN_TTL_SECONDS: u64 = 60;

/// The longest key Workers KV accepts, in bytes.
pub const MAX_KEY_BYTES: usize = 512;

/// A storage failure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// The backend refused the operation for rate (KV: 429, one write per key per second).
    RateLimited,
    /// The request broke a KV rule (TTL under 60 s, key too long, ...).
    Invalid(String),
    /// A stored value did not parse as the expected record.
    Corrupt(String),
    /// Any other backend failure.
    Backend(String),
}

impl core::fmt::Display for StoreError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::RateLimited => f.write_str("storage rate limited"),
            Self::Invalid(m) => write!(f, "invalid storage operation: {m}"),
            Self::Corrupt(k) => write!(f, "stored record does not parse: {k}"),
            Self::Backend(m) => write!(f, "storage backend error: {m}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// A string key-value store with KV semantics. Futures are not `Send` (Workers are
/// single-threaded).
#[allow(async_fn_in_trait)]
pub trait Store {
    /// Reads a value.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn get(&self, key: &str) -> Result<Option<String>, StoreError>;

    /// Writes a value, expiring after `ttl` seconds when given (at least 60).
    ///
    /// # Errors
    /// [`StoreError::Invalid`] for a TTL under 60 s or a key over 512 bytes,
    /// [`StoreError::RateLimited`] when the backend throttles writes.
    async fn put(&self, key: &str, value: &str, ttl: Option<u64>) -> Result<(), StoreError>;

    /// Deletes a key (no error when absent).
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn delete(&self, key: &str) -> Result<(), StoreError>;

    /// Lists up to 1000 keys starting with `prefix`, in key order.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError>;

    /// Reads a value, or answers a copy this isolate read or wrote before without a round
    /// trip. The copy may be stale: use it only where a [`Store::compare_and_swap`] then
    /// checks it (a refresh-token rotation), and read again before any other decision.
    /// The default reads.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn get_cached(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.get(key).await
    }

    /// The copy of `key` this isolate read or wrote before, if it holds one, without any
    /// round trip (possibly stale, as [`Store::get_cached`]'s); `None` otherwise. Decide
    /// on it only through an operation that checks it ([`Store::take_if_then_put`]). The
    /// default holds no copies.
    fn copy(&self, key: &str) -> Option<String> {
        let _ = key;
        None
    }

    /// Takes a single-use value: when `key` holds a value not taken before, marks it taken,
    /// remembers `receipt` beside it for `keep` seconds (at least 60) and answers
    /// [`Taken::Now`]; a second take answers [`Taken::Before`] with the value and the first
    /// taker's receipt (so a replay can be told apart from an unknown key and traced).
    /// After a take, [`Store::get`] of the key answers `None` on the exact backends; on KV
    /// it may still answer the value until it expires.
    ///
    /// The default is KV's best effort ([`best_effort_take`]).
    ///
    /// # Errors
    /// [`StoreError`] on backend failure or an invalid key or TTL.
    async fn take(&self, key: &str, receipt: &str, keep: u64) -> Result<Taken, StoreError>
    where
        Self: Sized,
    {
        best_effort_take(self, key, receipt, keep).await
    }

    /// Gives back a value taken with `receipt` (the request that took it failed a later
    /// check, so the value must stay usable): afterwards it can be taken again. Does
    /// nothing when the value was not taken with this receipt.
    ///
    /// # Errors
    /// [`StoreError`] on backend failure.
    async fn untake(&self, key: &str, receipt: &str) -> Result<(), StoreError>
    where
        Self: Sized,
    {
        best_effort_untake(self, key, receipt).await
    }

    /// Takes a single-use value as [`Store::take`] does, but only when it meets
    /// `condition` ([`Condition::holds`]), decided in the same atomic step:
    /// [`TakenIf::Unmet`] with the value when it does not, and then the key is left exactly
    /// as it was (still takeable, nothing written). A value taken before answers
    /// [`TakenIf::Before`] whatever the condition.
    ///
    /// The default reads, then takes with [`Store::take`] (so it is as exact as the
    /// backend's take: a failed condition writes nothing); the Durable Object store does
    /// all of it in one call, the KV store as [`best_effort_take_if`].
    ///
    /// # Errors
    /// As [`Store::take`].
    async fn take_if(
        &self,
        key: &str,
        condition: &Condition,
        receipt: &str,
        keep: u64,
    ) -> Result<TakenIf, StoreError>
    where
        Self: Sized,
    {
        check_put(key, Some(keep))?;
        if let Some(value) = self.get(key).await?
            && !condition.holds(&value)
        {
            return Ok(TakenIf::Unmet(value));
        }
        Ok(match self.take(key, receipt, keep).await? {
            Taken::Now(value) if condition.holds(&value) => TakenIf::Now(value),
            // Changed between the read and the take: give it back untouched.
            Taken::Now(value) => {
                self.untake(key, receipt).await?;
                TakenIf::Unmet(value)
            }
            Taken::Before { value, receipt } => TakenIf::Before { value, receipt },
            Taken::Absent => TakenIf::Absent,
        })
    }

    /// [`Store::take_if`] of `key` when it meets `condition` **and still is `expected`**
    /// (a copy the caller decided on, from [`Store::copy`]), and, when it is taken and
    /// `then` is given, [`Store::put_if_absent`] of `then` in the same step. Answers the
    /// take as [`Store::take_if`] does (a value that is not `expected` is
    /// [`TakenIf::Unmet`] with what the key holds, and nothing is written) and whether
    /// `then` was written (`false` when it was not given, the take did not happen, or its
    /// key held something).
    ///
    /// The default is [`best_effort_take_if_then_put`] (a read, [`Store::take_if`], then
    /// [`Store::put_if_absent`]: as exact as the backend's own operations); the Durable
    /// Object store does it in one call when both keys live in the same shard.
    ///
    /// # Errors
    /// As [`Store::take`] and [`Store::put_if_absent`].
    async fn take_if_then_put(
        &self,
        key: &str,
        expected: &str,
        condition: &Condition,
        receipt: &str,
        keep: u64,
        then: Option<&PutIfAbsent<'_>>,
    ) -> Result<(TakenIf, bool), StoreError>
    where
        Self: Sized,
    {
        best_effort_take_if_then_put(self, key, expected, condition, receipt, keep, then).await
    }

    /// Writes `value` only when `key` holds nothing (live); `true` when it was written.
    /// Replay markers use it: `false` means "seen before".
    ///
    /// # Errors
    /// As [`Store::put`].
    async fn put_if_absent(
        &self,
        key: &str,
        value: &str,
        ttl: Option<u64>,
    ) -> Result<bool, StoreError>
    where
        Self: Sized,
    {
        best_effort_put_if_absent(self, key, value, ttl).await
    }

    /// Replaces the value of `key` with `new` only when it still is `expected` (`None`:
    /// absent). [`Swap::Done`] when replaced, else [`Swap::Conflict`] with what the key
    /// holds now.
    ///
    /// # Errors
    /// As [`Store::put`].
    async fn compare_and_swap(
        &self,
        key: &str,
        expected: Option<&str>,
        new: &str,
        ttl: Option<u64>,
    ) -> Result<Swap, StoreError>
    where
        Self: Sized,
    {
        best_effort_compare_and_swap(self, key, expected, new, ttl).await
    }
}

/// [`Store::take`] as a read of `taken:{key}`, a read of `key`, then a write of
/// `taken:{key}` (Workers KV: best effort).
///
/// # Errors
/// As [`Store::take`].
pub async fn best_effort_take<S: Store>(
    store: &S,
    key: &str,
    receipt: &str,
    keep: u64,
) -> Result<Taken, StoreError> {
    let receipt_key = taken_key(key);
    check_put(&receipt_key, Some(keep))?;
    if let Some(kept) = get_json::<S, TakenRecord>(store, &receipt_key).await? {
        return Ok(Taken::Before {
            value: kept.value,
            receipt: kept.receipt,
        });
    }
    let Some(value) = store.get(key).await? else {
        return Ok(Taken::Absent);
    };
    let kept = TakenRecord {
        value: value.clone(),
        receipt: receipt.to_owned(),
    };
    put_json(store, &receipt_key, &kept, Some(keep)).await?;
    Ok(Taken::Now(value))
}

/// [`Store::take_if`] as [`best_effort_take`] with the condition checked between the read
/// of `key` and the write of `taken:{key}` (Workers KV: best effort; an unmet condition
/// writes nothing).
///
/// # Errors
/// As [`Store::take`].
pub async fn best_effort_take_if<S: Store>(
    store: &S,
    key: &str,
    condition: &Condition,
    receipt: &str,
    keep: u64,
) -> Result<TakenIf, StoreError> {
    let receipt_key = taken_key(key);
    check_put(&receipt_key, Some(keep))?;
    if let Some(kept) = get_json::<S, TakenRecord>(store, &receipt_key).await? {
        return Ok(TakenIf::Before {
            value: kept.value,
            receipt: kept.receipt,
        });
    }
    let Some(value) = store.get(key).await? else {
        return Ok(TakenIf::Absent);
    };
    if !condition.holds(&value) {
        return Ok(TakenIf::Unmet(value));
    }
    let kept = TakenRecord {
        value: value.clone(),
        receipt: receipt.to_owned(),
    };
    put_json(store, &receipt_key, &kept, Some(keep)).await?;
    Ok(TakenIf::Now(value))
}

/// The write of [`Store::take_if_then_put`]: `value` under `key` unless it holds
/// something, expiring after `ttl` seconds when given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PutIfAbsent<'a> {
    /// The key.
    pub key: &'a str,
    /// The value.
    pub value: &'a str,
    /// Its TTL (at least 60 s).
    pub ttl: Option<u64>,
}

/// [`Store::take_if_then_put`] from the other operations: a read of `key` (a value that
/// is not `expected` answers [`TakenIf::Unmet`] and writes nothing), [`Store::take_if`],
/// then [`Store::put_if_absent`] of `then` when taken (as exact as those operations of
/// `store`).
///
/// # Errors
/// As [`Store::take_if_then_put`].
pub async fn best_effort_take_if_then_put<S: Store>(
    store: &S,
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
    if let Some(value) = store.get(key).await?
        && value != expected
    {
        return Ok((TakenIf::Unmet(value), false));
    }
    match store.take_if(key, condition, receipt, keep).await? {
        TakenIf::Now(value) if value != expected => {
            // Changed between the read and the take: give it back untouched.
            store.untake(key, receipt).await?;
            Ok((TakenIf::Unmet(value), false))
        }
        TakenIf::Now(value) => {
            let written = match then {
                Some(then) => store.put_if_absent(then.key, then.value, then.ttl).await?,
                None => false,
            };
            Ok((TakenIf::Now(value), written))
        }
        other => Ok((other, false)),
    }
}

/// [`Store::untake`] as a read and a delete of `taken:{key}` (best effort).
///
/// # Errors
/// As [`Store::untake`].
pub async fn best_effort_untake<S: Store>(
    store: &S,
    key: &str,
    receipt: &str,
) -> Result<(), StoreError> {
    let receipt_key = taken_key(key);
    if let Some(kept) = get_json::<S, TakenRecord>(store, &receipt_key).await?
        && kept.receipt == receipt
    {
        store.delete(&receipt_key).await?;
    }
    Ok(())
}

/// [`Store::put_if_absent`] as a read, then a write (best effort).
///
/// # Errors
/// As [`Store::put_if_absent`].
pub async fn best_effort_put_if_absent<S: Store>(
    store: &S,
    key: &str,
    value: &str,
    ttl: Option<u64>,
) -> Result<bool, StoreError> {
    check_put(key, ttl)?;
    if store.get(key).await?.is_some() {
        return Ok(false);
    }
    store.put(key, value, ttl).await?;
    Ok(true)
}

/// [`Store::compare_and_swap`] as a read, then a write (best effort).
///
/// # Errors
/// As [`Store::compare_and_swap`].
pub async fn best_effort_compare_and_swap<S: Store>(
    store: &S,
    key: &str,
    expected: Option<&str>,
    new: &str,
    ttl: Option<u64>,
) -> Result<Swap, StoreError> {
    check_put(key, ttl)?;
    let current = store.get(key).await?;
    if current.as_deref() != expected {
        return Ok(Swap::Conflict(current));
    }
    store.put(key, new, ttl).await?;
    Ok(Swap::Done)
}

/// The answer of [`Store::take`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Taken {
    /// The value, taken by this call.
    Now(String),
    /// Taken before: the value and the receipt of the call that took it.
    Before {
        /// The value as it was taken.
        value: String,
        /// The first taker's receipt.
        receipt: String,
    },
    /// Nothing under the key (never written, or expired).
    Absent,
}

/// The answer of [`Store::take_if`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TakenIf {
    /// The value met the condition and is taken by this call.
    Now(String),
    /// Taken before: the value and the receipt of the call that took it.
    Before {
        /// The value as it was taken.
        value: String,
        /// The first taker's receipt.
        receipt: String,
    },
    /// The value did not meet the condition; it is left as it was.
    Unmet(String),
    /// Nothing under the key (never written, or expired).
    Absent,
}

/// A condition on the top-level fields of a JSON object record, for [`Store::take_if`]:
/// each named field must hold one of its allowed values, `None` standing for a field that
/// is absent or `null`. Only string fields can match a `Some`; a field of another type
/// meets no condition on it. It is data, so a Durable Object can check it where the record
/// lives.
///
/// ```
/// use edge_oauth_worker::store::Condition;
///
/// let c = Condition::default()
///     .field("client_id", &[Some("spa")])
///     .field("dpop_jkt", &[None, Some("jkt-1")]);
/// assert!(c.holds(r#"{"client_id":"spa"}"#));
/// assert!(c.holds(r#"{"client_id":"spa","dpop_jkt":"jkt-1"}"#));
/// assert!(!c.holds(r#"{"client_id":"spa","dpop_jkt":"jkt-2"}"#));
/// assert!(!c.holds(r#"{"client_id":"web"}"#));
/// assert!(!c.holds("not json"));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Condition(pub Vec<(String, Vec<Option<String>>)>);

impl Condition {
    /// Adds: field `name` holds one of `allowed` (an empty list can never hold).
    #[must_use]
    pub fn field(mut self, name: &str, allowed: &[Option<&str>]) -> Self {
        self.0.push((
            name.to_owned(),
            allowed.iter().map(|v| v.map(str::to_owned)).collect(),
        ));
        self
    }

    /// Whether the JSON object `value` meets every clause (a value that is not a JSON
    /// object meets none).
    #[must_use]
    pub fn holds(&self, value: &str) -> bool {
        let Ok(serde_json::Value::Object(record)) = serde_json::from_str(value) else {
            return false;
        };
        self.0.iter().all(|(name, allowed)| {
            let field = match record.get(name) {
                None | Some(serde_json::Value::Null) => None,
                Some(serde_json::Value::String(s)) => Some(s.as_str()),
                Some(_) => return false,
            };
            allowed.iter().any(|a| a.as_deref() == field)
        })
    }
}

/// The answer of [`Store::compare_and_swap`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Swap {
    /// The new value is written.
    Done,
    /// The key held something else (given), nothing was written.
    Conflict(Option<String>),
}

/// `taken:{key}`: what the best-effort [`Store::take`] keeps for a taken value.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct TakenRecord {
    /// The value as taken.
    pub value: String,
    /// The taker's receipt.
    pub receipt: String,
}

/// The key under which the best-effort [`Store::take`] keeps its receipt.
#[must_use]
pub fn taken_key(key: &str) -> String {
    format!("taken:{key}")
}

/// Reads and parses a JSON record.
///
/// # Errors
/// [`StoreError::Corrupt`] when the value does not parse as `T`.
pub async fn get_json<S: Store, T: DeserializeOwned>(
    store: &S,
    key: &str,
) -> Result<Option<T>, StoreError> {
    match store.get(key).await? {
        None => Ok(None),
        Some(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|_| StoreError::Corrupt(key_kind(key).to_owned())),
    }
}

/// Serialises and writes a JSON record.
///
/// # Errors
/// As [`Store::put`].
pub async fn put_json<S: Store, T: Serialize>(
    store: &S,
    key: &str,
    value: &T,
    ttl: Option<u64>,
) -> Result<(), StoreError> {
    let text = serde_json::to_string(value).map_err(|e| StoreError::Invalid(e.to_string()))?;
    store.put(key, &text, ttl).await
}

/// Checks a key and TTL against KV's rules (shared by both implementations).
///
/// # Errors
/// [`StoreError::Invalid`] for an empty or over-long key or a TTL under 60 s.
pub fn check_put(key: &str, ttl: Option<u64>) -> Result<(), StoreError> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err(StoreError::Invalid("key must be 1..=512 bytes".into()));
    }
    if ttl.is_some_and(|t| t < MIN_TTL_SECONDS) {
        return Err(StoreError::Invalid(
            "expiration TTL must be at least 60 seconds".into(),
        ));
    }
    Ok(())
}

/// The number of Durable Object shards of the server state (see `durable.rs` before
/// changing it: most keys move to other objects).
pub const SHARDS: u32 = 64;

/// The shard of a key, `0..SHARDS`: the first four bytes of SHA-256 of its owner (the
/// second `:`-segment: family id, code hash, `jkt`, client id), so all state of one
/// family, code or key lives in one object and any isolate finds it without a lookup.
#[must_use]
pub fn shard_of(key: &str) -> u32 {
    use sha2::Digest;
    let owner = key.split(':').nth(1).unwrap_or(key);
    let digest = sha2::Sha256::digest(owner.as_bytes());
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % SHARDS
}

/// The `kind` part of a `kind:rest` key (for error messages that must not leak hashes).
#[must_use]
pub fn key_kind(key: &str) -> &str {
    key.split(':').next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_of_is_stable_and_keyed_by_the_owner() {
        // Stable across builds: the shard of a live family must never move.
        assert_eq!(shard_of("family:abc"), shard_of("family:abc"));
        assert_eq!(
            shard_of("jti:SOMEJKT:h1"),
            shard_of("jti:SOMEJKT:h2"),
            "one key's markers live together"
        );
        let spread: std::collections::BTreeSet<u32> =
            (0..1000).map(|i| shard_of(&format!("code:{i}"))).collect();
        assert!(spread.len() > 60, "codes spread over the shards");
        assert!(spread.iter().all(|s| *s < SHARDS));
        // SHA-256("abc") starts with ba 78 16 bf.
        assert_eq!(shard_of("family:abc"), 0xba78_16bf % SHARDS);
    }
}
