//! Test support: a `block_on` for the (never really pending) futures of the native store,
//! and a platform that records its ES256 verifications.

use crate::platform::{NativePlatform, Platform, PlatformError};
use crate::store::memory::Clock;
use edge_oauth::jwk::EcPublicJwk;
use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

/// Runs a future to completion on the current thread. The native store and platform
/// never return `Pending` for long, so polling in a loop with a no-op waker is enough.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::yield_now();
    }
}

/// The native platform, except that ES256 verification under a key
/// ([`Platform::verify_es256_key`]) is counted and may be overridden (`answer`), as
/// WebCrypto's verdict would be on Workers: tests see that a signature is checked by the
/// platform and that its verdict is the one that counts.
pub struct RecordingPlatform {
    inner: NativePlatform,
    /// How many times `verify_es256_key` was called.
    pub calls: Cell<u32>,
    answer: Option<Result<bool, PlatformError>>,
}

impl RecordingPlatform {
    /// At time `now`; `answer` (`None`: verify in software) is every verification's result.
    #[must_use]
    pub fn new(now: i64, answer: Option<Result<bool, PlatformError>>) -> Self {
        Self {
            inner: NativePlatform::new(Clock::new(now)),
            calls: Cell::new(0),
            answer,
        }
    }
}

impl Platform for RecordingPlatform {
    fn now(&self) -> i64 {
        self.inner.now()
    }
    async fn pbkdf2_sha256(
        &self,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> Result<[u8; 32], PlatformError> {
        self.inner.pbkdf2_sha256(password, salt, iterations).await
    }
    async fn verify_rsa(
        &self,
        alg: &str,
        jwk: &serde_json::Value,
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, PlatformError> {
        self.inner.verify_rsa(alg, jwk, message, signature).await
    }
    async fn sign_rsa(
        &self,
        jwk: &crate::jwt::RsaPrivateJwk,
        message: &[u8],
    ) -> Result<Vec<u8>, PlatformError> {
        self.inner.sign_rsa(jwk, message).await
    }
    async fn verify_es256_key(
        &self,
        key: &EcPublicJwk,
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, PlatformError> {
        self.calls.set(self.calls.get() + 1);
        match &self.answer {
            Some(answer) => answer.clone(),
            None => self.inner.verify_es256_key(key, message, signature).await,
        }
    }
    async fn open_client_secret(
        &self,
        key: &[u8],
        client_id: &str,
        sealed: &[u8],
    ) -> Result<Vec<u8>, PlatformError> {
        self.inner.open_client_secret(key, client_id, sealed).await
    }
}
