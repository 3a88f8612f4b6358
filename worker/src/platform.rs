//! Platform services the grant logic needs but must not pick itself: the clock,
//! randomness, and the crypto only WebCrypto provides on Workers (PBKDF2 for user
//! passwords, RS256/PS256 client assertions, AES-GCM for sealed client secrets).
//!
//! [`NativePlatform`] is the native (test) implementation; `webcrypto::WebPlatform` is the
//! Workers one.

use crate::ratelimit::{MemoryRateLimiter, RateLimiter};
use crate::store::memory::Clock;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// A platform failure (opaque on purpose: crypto errors give no hints).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlatformError {
    /// The operation is not available on this platform.
    Unsupported,
    /// The crypto backend failed (bad key, bad input, ...).
    Crypto,
    /// The random number generator failed.
    Random,
}

/// The services the server logic takes from its platform.
#[allow(async_fn_in_trait)]
pub trait Platform {
    /// The current time in Unix seconds.
    fn now(&self) -> i64;

    /// Fills `buf` from a CSPRNG.
    ///
    /// # Errors
    /// [`PlatformError::Random`] when the generator fails.
    fn fill_random(&self, buf: &mut [u8]) -> Result<(), PlatformError> {
        getrandom::fill(buf).map_err(|_| PlatformError::Random)
    }

    /// PBKDF2-HMAC-SHA256 with a 32-byte output.
    ///
    /// # Errors
    /// [`PlatformError::Crypto`] when the backend fails.
    async fn pbkdf2_sha256(
        &self,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> Result<[u8; 32], PlatformError>;

    /// Verifies an `RS256` or `PS256` signature with a public RSA JWK.
    ///
    /// # Errors
    /// [`PlatformError::Unsupported`] where RSA is not available, [`PlatformError::Crypto`]
    /// for an unusable key.
    async fn verify_rsa(
        &self,
        alg: &str,
        jwk: &serde_json::Value,
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, PlatformError>;

    /// Signs `message` with RS256 (RSASSA-PKCS1-v1_5 with SHA-256, RFC 7518 §3.3) under a
    /// private RSA JWK; returns the signature (as long as the modulus).
    ///
    /// # Errors
    /// [`PlatformError::Unsupported`] where RSA is not available, [`PlatformError::Crypto`]
    /// for an unusable key.
    async fn sign_rsa(
        &self,
        jwk: &crate::jwt::RsaPrivateJwk,
        message: &[u8],
    ) -> Result<Vec<u8>, PlatformError>;

    /// Signs `message` with ES256 (ECDSA P-256 with SHA-256, RFC 7518 §3.4) under `key`;
    /// returns the 64-byte `r || s` signature. The default signs in software (p256,
    /// RFC 6979); on Workers the runtime's WebCrypto signs with the key imported once per
    /// isolate (`webcrypto::WebPlatform`).
    ///
    /// # Errors
    /// [`PlatformError::Crypto`] when the backend cannot sign.
    async fn sign_es256(
        &self,
        key: &crate::jwt::SigningKey,
        message: &[u8],
    ) -> Result<Vec<u8>, PlatformError> {
        key.sign_raw(message)
            .map(|signature| signature.to_vec())
            .map_err(|_| PlatformError::Crypto)
    }

    /// Verifies an ES256 signature (`r || s`) of `message` under this server's own signing
    /// key (its access tokens at `/userinfo`): [`Platform::verify_es256_key`] with the
    /// key's public half.
    ///
    /// # Errors
    /// [`PlatformError::Crypto`] when the backend fails (a wrong signature is `Ok(false)`).
    async fn verify_es256(
        &self,
        key: &crate::jwt::SigningKey,
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, PlatformError> {
        self.verify_es256_key(key.public(), message, signature)
            .await
    }

    /// Verifies an ES256 signature (`r || s`, 64 octets; any other length is `Ok(false)`)
    /// of `message` under a P-256 public key: a DPoP proof's `jwk`, a client's registered
    /// key, or this server's own. The default verifies in software (p256); on Workers the
    /// runtime's WebCrypto verifies natively, the key imported once per isolate
    /// (`webcrypto::WebPlatform`, a bounded cache).
    ///
    /// # Errors
    /// [`PlatformError::Crypto`] when the backend fails (a wrong signature is `Ok(false)`).
    async fn verify_es256_key(
        &self,
        key: &edge_oauth::jwk::EcPublicJwk,
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, PlatformError> {
        Ok(edge_oauth::jws::verify_es256(message, signature, key.verifying_key()).is_ok())
    }

    /// Counts a request under a rate-limit `key` ([`crate::ratelimit`]); `false` when the
    /// key is over its limit. The default allows everything (no limiter configured).
    async fn rate_limit(&self, key: &str) -> bool {
        let _ = key;
        true
    }

    /// Opens a sealed client secret: AES-256-GCM, `sealed = iv (12 bytes) || ciphertext+tag`,
    /// additional data = the `client_id` in UTF-8.
    ///
    /// # Errors
    /// [`PlatformError::Crypto`] when the ciphertext does not open.
    async fn open_client_secret(
        &self,
        key: &[u8],
        client_id: &str,
        sealed: &[u8],
    ) -> Result<Vec<u8>, PlatformError>;
}

/// A per-isolate cache that never holds more than its capacity: inserting a new key into a
/// full cache empties it first (the entries are cheap to make again; an isolate lives for
/// many requests, so an unbounded map would grow with every distinct key it ever saw).
///
/// ```
/// use edge_oauth_worker::platform::BoundedCache;
///
/// let mut cache = BoundedCache::new(2);
/// cache.insert("a", 1);
/// cache.insert("b", 2);
/// cache.insert("c", 3); // full: emptied, then "c"
/// assert_eq!((cache.get(&"a"), cache.get(&"c"), cache.len()), (None, Some(&3), 1));
/// ```
#[derive(Debug, Clone)]
pub struct BoundedCache<K, V> {
    capacity: usize,
    entries: std::collections::BTreeMap<K, V>,
}

impl<K: Ord, V> BoundedCache<K, V> {
    /// An empty cache of at most `capacity` entries (at least one).
    #[must_use]
    pub const fn new(capacity: usize) -> Self {
        Self {
            capacity: if capacity == 0 { 1 } else { capacity },
            entries: std::collections::BTreeMap::new(),
        }
    }

    /// The value of `key`, if cached.
    #[must_use]
    pub fn get(&self, key: &K) -> Option<&V> {
        self.entries.get(key)
    }

    /// Caches `value` under `key` (replacing an older value of the same key).
    pub fn insert(&mut self, key: K, value: V) {
        if self.entries.len() >= self.capacity && !self.entries.contains_key(&key) {
            self.entries.clear();
        }
        self.entries.insert(key, value);
    }

    /// How many entries are cached.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the cache is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// PBKDF2-HMAC-SHA256 (RFC 8018 §5.2) in software, one 32-byte block.
///
/// # Errors
/// [`PlatformError::Crypto`] for zero iterations.
pub fn pbkdf2_hmac_sha256(
    password: &[u8],
    salt: &[u8],
    iterations: u32,
) -> Result<[u8; 32], PlatformError> {
    if iterations == 0 {
        return Err(PlatformError::Crypto);
    }
    let prf = Hmac::<Sha256>::new_from_slice(password).map_err(|_| PlatformError::Crypto)?;
    let mut mac = prf.clone();
    mac.update(salt);
    mac.update(&1u32.to_be_bytes());
    let mut u: [u8; 32] = mac.finalize().into_bytes().into();
    let mut out = u;
    for _ in 1..iterations {
        let mut mac = prf.clone();
        mac.update(&u);
        u = mac.finalize().into_bytes().into();
        for (o, x) in out.iter_mut().zip(u.iter()) {
            *o ^= x;
        }
    }
    Ok(out)
}

/// The native platform: a settable clock, the OS CSPRNG, software PBKDF2, RS256 with
/// RustCrypto `rsa` (PS256 and AES-GCM are WebCrypto only); for tests,
/// a sealed secret of the form `b"plain:" || secret` opens to `secret`. No rate limit
/// unless [`NativePlatform::with_rate_limit`] sets one.
#[derive(Clone, Debug, Default)]
pub struct NativePlatform {
    /// The clock.
    pub clock: Clock,
    /// The rate limiter (`None`: unlimited).
    pub limiter: Option<MemoryRateLimiter>,
    /// How many of the next signatures fail ([`Self::fail_next_signatures`]).
    failing_signatures: std::rc::Rc<std::cell::Cell<u32>>,
}

impl NativePlatform {
    /// A native platform on a shared clock.
    #[must_use]
    pub fn new(clock: Clock) -> Self {
        Self {
            clock,
            limiter: None,
            failing_signatures: std::rc::Rc::default(),
        }
    }

    /// Makes the next `n` signatures (ES256 or RS256) fail with [`PlatformError::Crypto`],
    /// as a backend outage would: for tests of what a grant leaves behind when its tokens
    /// cannot be signed.
    ///
    /// ```
    /// use edge_oauth_worker::platform::NativePlatform;
    /// use edge_oauth_worker::store::memory::Clock;
    /// let platform = NativePlatform::new(Clock::new(0));
    /// platform.fail_next_signatures(1);
    /// ```
    pub fn fail_next_signatures(&self, n: u32) {
        self.failing_signatures.set(n);
    }

    /// Counts one signature against [`Self::fail_next_signatures`]: `Err` when it fails.
    fn signature_allowed(&self) -> Result<(), PlatformError> {
        match self.failing_signatures.get() {
            0 => Ok(()),
            n => {
                self.failing_signatures.set(n - 1);
                Err(PlatformError::Crypto)
            }
        }
    }

    /// Adds a memory rate limiter: `limit` requests per key per `period` seconds
    /// (builder style).
    #[must_use]
    pub fn with_rate_limit(mut self, limit: u32, period: i64) -> Self {
        self.limiter = Some(MemoryRateLimiter::new(self.clock.clone(), limit, period));
        self
    }
}

impl Platform for NativePlatform {
    fn now(&self) -> i64 {
        self.clock.now()
    }

    async fn pbkdf2_sha256(
        &self,
        password: &[u8],
        salt: &[u8],
        iterations: u32,
    ) -> Result<[u8; 32], PlatformError> {
        pbkdf2_hmac_sha256(password, salt, iterations)
    }

    async fn rate_limit(&self, key: &str) -> bool {
        match &self.limiter {
            Some(limiter) => limiter.allow(key).await,
            None => true,
        }
    }

    async fn verify_rsa(
        &self,
        alg: &str,
        jwk: &serde_json::Value,
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, PlatformError> {
        #[cfg(not(target_arch = "wasm32"))]
        return native_rsa::verify(alg, jwk, message, signature);
        #[cfg(target_arch = "wasm32")]
        {
            let _ = (alg, jwk, message, signature);
            Err(PlatformError::Unsupported)
        }
    }

    async fn sign_rsa(
        &self,
        jwk: &crate::jwt::RsaPrivateJwk,
        message: &[u8],
    ) -> Result<Vec<u8>, PlatformError> {
        self.signature_allowed()?;
        #[cfg(not(target_arch = "wasm32"))]
        return native_rsa::sign(jwk, message);
        #[cfg(target_arch = "wasm32")]
        {
            let _ = (jwk, message);
            Err(PlatformError::Unsupported)
        }
    }

    async fn sign_es256(
        &self,
        key: &crate::jwt::SigningKey,
        message: &[u8],
    ) -> Result<Vec<u8>, PlatformError> {
        self.signature_allowed()?;
        key.sign_raw(message)
            .map(|signature| signature.to_vec())
            .map_err(|_| PlatformError::Crypto)
    }

    async fn open_client_secret(
        &self,
        _key: &[u8],
        _client_id: &str,
        sealed: &[u8],
    ) -> Result<Vec<u8>, PlatformError> {
        sealed
            .strip_prefix(b"plain:")
            .map(<[u8]>::to_vec)
            .ok_or(PlatformError::Unsupported)
    }
}

/// RS256 for the native platform, with RustCrypto `rsa` (never in the wasm build, where
/// WebCrypto does it).
#[cfg(not(target_arch = "wasm32"))]
mod native_rsa {
    use super::PlatformError;
    use crate::jwt::RsaPrivateJwk;
    use edge_oauth::base64url;
    use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
    use rsa::sha2::Sha256;
    use rsa::signature::{SignatureEncoding, Signer, Verifier};
    use rsa::{BigUint, RsaPrivateKey, RsaPublicKey};

    fn uint(b64: &str) -> Result<BigUint, PlatformError> {
        base64url::decode(b64)
            .map(|b| BigUint::from_bytes_be(&b))
            .map_err(|_| PlatformError::Crypto)
    }

    pub fn sign(jwk: &RsaPrivateJwk, message: &[u8]) -> Result<Vec<u8>, PlatformError> {
        let key = RsaPrivateKey::from_components(
            uint(&jwk.n)?,
            uint(&jwk.e)?,
            uint(&jwk.d)?,
            vec![uint(&jwk.p)?, uint(&jwk.q)?],
        )
        .map_err(|_| PlatformError::Crypto)?;
        key.validate().map_err(|_| PlatformError::Crypto)?;
        let signer = SigningKey::<Sha256>::new(key);
        let signature = signer
            .try_sign(message)
            .map_err(|_| PlatformError::Crypto)?;
        Ok(signature.to_vec())
    }

    pub fn verify(
        alg: &str,
        jwk: &serde_json::Value,
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, PlatformError> {
        // PS256 stays WebCrypto-only.
        if alg != "RS256" {
            return Err(PlatformError::Unsupported);
        }
        if jwk.get("d").is_some() {
            return Err(PlatformError::Crypto);
        }
        let member = |name: &str| {
            jwk.get(name)
                .and_then(serde_json::Value::as_str)
                .ok_or(PlatformError::Crypto)
        };
        let key = RsaPublicKey::new(uint(member("n")?)?, uint(member("e")?)?)
            .map_err(|_| PlatformError::Crypto)?;
        let Ok(signature) = Signature::try_from(signature) else {
            return Ok(false);
        };
        Ok(VerifyingKey::<Sha256>::new(key)
            .verify(message, &signature)
            .is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::{BoundedCache, NativePlatform, Platform, pbkdf2_hmac_sha256};
    use crate::store::memory::Clock;
    use crate::testing::block_on;

    #[test]
    fn bounded_cache_never_exceeds_its_capacity() {
        let mut cache = BoundedCache::new(64);
        for i in 0u32..10_000 {
            cache.insert(i, i * 2);
            assert!(cache.len() <= 64, "{} entries after {i}", cache.len());
            assert_eq!(cache.get(&i), Some(&(i * 2)), "the newest entry is kept");
        }
        // Replacing a key of a full cache keeps the others.
        let mut full = BoundedCache::new(2);
        full.insert("a", 1);
        full.insert("b", 2);
        full.insert("a", 3);
        assert_eq!(
            (full.get(&"a"), full.get(&"b"), full.len()),
            (Some(&3), Some(&2), 2)
        );
        assert!(!full.is_empty());
        let zero: BoundedCache<u8, u8> = BoundedCache::new(0);
        assert!(zero.is_empty());
    }

    #[test]
    fn rfc7518_3_4_verify_es256_key_refuses_a_bad_signature() {
        let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
        let key = edge_oauth::jwk::EcPrivateJwk::generate(&mut rng);
        let sig = edge_oauth::jws::sign_es256_raw(b"message", key.signing_key()).unwrap();
        let platform = NativePlatform::new(Clock::new(0));
        let verify = |m: &[u8], s: &[u8]| block_on(platform.verify_es256_key(key.public(), m, s));
        assert_eq!(verify(b"message", &sig), Ok(true));
        assert_eq!(verify(b"messagf", &sig), Ok(false));
        let mut flipped = sig;
        flipped[10] ^= 1;
        assert_eq!(verify(b"message", &flipped), Ok(false));
        assert_eq!(verify(b"message", &sig[..63]), Ok(false));
    }

    /// RFC 7914 §11 test vector for PBKDF2-HMAC-SHA256 (P="passwd", S="salt", c=1).
    #[test]
    fn rfc7914_section_11_pbkdf2_sha256() {
        let out = pbkdf2_hmac_sha256(b"passwd", b"salt", 1).unwrap();
        assert_eq!(
            out[..16],
            [
                0x55, 0xac, 0x04, 0x6e, 0x56, 0xe3, 0x08, 0x9f, 0xec, 0x16, 0x91, 0xc2, 0x25, 0x44,
                0xb6, 0x05
            ]
        );
    }
}
