//! [`Store`] on Workers KV (binding `OAUTH_KV`).

use super::{Store, StoreError, check_put};

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
        self.0.get(key).text().await.map_err(|e| map_err(&e))
    }

    async fn put(&self, key: &str, value: &str, ttl: Option<u64>) -> Result<(), StoreError> {
        check_put(key, ttl)?;
        let mut builder = self.0.put(key, value).map_err(|e| map_err(&e))?;
        if let Some(ttl) = ttl {
            builder = builder.expiration_ttl(ttl);
        }
        builder.execute().await.map_err(|e| map_err(&e))
    }

    async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.0.delete(key).await.map_err(|e| map_err(&e))
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
