//! The storage contract: a key-value store with Workers KV's rules.
//!
//! - values are strings (JSON records), keys at most 512 bytes;
//! - an expiring write needs a TTL of at least 60 seconds;
//! - there is no atomic read-modify-write or "take": single use is enforced by a
//!   read followed by a write or delete, which is best effort under KV's eventual
//!   consistency (see the README: a Durable Object would make it strict).
//!
//! `kv::KvStore` (wasm32 only) backs it with Workers KV; [`memory::MemoryStore`] is the
//! native test double and enforces the same rules.

pub mod memory;

#[cfg(target_arch = "wasm32")]
pub mod kv;

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

/// The `kind` part of a `kind:rest` key (for error messages that must not leak hashes).
#[must_use]
pub fn key_kind(key: &str) -> &str {
    key.split(':').next().unwrap_or_default()
}
