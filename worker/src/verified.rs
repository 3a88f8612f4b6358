//! A per-isolate memo of ES256 signatures this server has verified on its own JWTs (the
//! access tokens presented at `/userinfo`), so that a token presented again skips the
//! signature check until it expires.
//!
//! An entry is the SHA-256 of the verifying key's `kid` and public point, the JWS signing
//! input and the signature: a hit means these very bytes were verified with this very
//! key, so a key rotated under the same `kid`, a changed payload or another signature
//! all miss. Neither the token nor its claims are kept, only the digest and the token's
//! `exp` (an entry is never used at or past it). At most [`CAPACITY`] entries: expired
//! ones are dropped first, then the oldest. Everything else about the token (`exp`,
//! `aud`, `iss`, the DPoP binding, the user) is still checked on every request.
//!
//! The signature check is the largest single step of a Bearer `/userinfo` request (the
//! WebCrypto verify and its await: about 10% of the isolate's time per request,
//! `node bench/profile.mjs --flows userinfo`), and clients call `/userinfo` with the same
//! token again and again.

use edge_oauth::jwk::EcPublicJwk;
use sha2::{Digest, Sha256};
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};

/// The most signatures remembered per isolate (each entry about 100 bytes).
pub(crate) const CAPACITY: usize = 1024;

/// Remembered signatures: digest → the token's `exp`, with the insertion order.
#[derive(Default)]
pub(crate) struct VerifiedSignatures {
    entries: HashMap<[u8; 32], i64>,
    order: VecDeque<[u8; 32]>,
}

/// The memo key of one signature under one key.
fn digest(kid: &str, key: &EcPublicJwk, signing_input: &[u8], signature: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    // Each variable-length part is preceded by its length, so no two inputs collide by
    // moving bytes from one part to the next.
    for part in [kid.as_bytes(), key.x(), key.y(), signing_input, signature] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.finalize().into()
}

impl VerifiedSignatures {
    /// Whether this signature was verified with this key and its token has not expired.
    #[must_use]
    pub(crate) fn contains(
        &self,
        kid: &str,
        key: &EcPublicJwk,
        signing_input: &[u8],
        signature: &[u8],
        now: i64,
    ) -> bool {
        self.entries
            .get(&digest(kid, key, signing_input, signature))
            .is_some_and(|&exp| now < exp)
    }

    /// Remembers a signature that verified, for a token that expires at `exp`; nothing
    /// when it has expired already.
    pub(crate) fn remember(
        &mut self,
        kid: &str,
        key: &EcPublicJwk,
        signing_input: &[u8],
        signature: &[u8],
        exp: i64,
        now: i64,
    ) {
        if exp <= now {
            return;
        }
        if self.entries.len() >= CAPACITY {
            self.entries.retain(|_, e| now < *e);
            let entries = &self.entries;
            self.order.retain(|d| entries.contains_key(d));
        }
        while self.entries.len() >= CAPACITY {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            self.entries.remove(&oldest);
        }
        let d = digest(kid, key, signing_input, signature);
        if self.entries.insert(d, exp).is_none() {
            self.order.push_back(d);
        }
    }

    /// The number of entries.
    #[cfg(test)]
    #[must_use]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there is none.
    #[cfg(test)]
    #[must_use]
    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

thread_local! {
    /// This isolate's memo. Borrowed only inside [`with`], never across an await.
    static MEMO: RefCell<VerifiedSignatures> = RefCell::default();
}

/// Runs `f` on this isolate's memo.
pub(crate) fn with<R>(f: impl FnOnce(&mut VerifiedSignatures) -> R) -> R {
    MEMO.with(|m| f(&mut m.borrow_mut()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two P-256 public keys: RFC 7515 A.3 and RFC 9449 §4.1.
    fn key(which: u8) -> EcPublicJwk {
        let (x, y) = if which == 1 {
            (
                "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
            )
        } else {
            (
                "l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs",
                "9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA",
            )
        };
        EcPublicJwk::parse(&format!(
            r#"{{"kty":"EC","crv":"P-256","x":"{x}","y":"{y}"}}"#
        ))
        .unwrap()
    }

    #[test]
    fn a_key_rotated_under_the_same_kid_misses() {
        let mut memo = VerifiedSignatures::default();
        memo.remember("k", &key(1), b"h.p", b"s", 10, 0);
        assert!(memo.contains("k", &key(1), b"h.p", b"s", 0));
        assert!(!memo.contains("k", &key(2), b"h.p", b"s", 0));
        assert!(!memo.contains("k", &key(1), b"h.p", b"t", 0));
        // Bytes moved between parts are another input.
        assert!(!memo.contains("k", &key(1), b"h.", b"ps", 0));
    }

    #[test]
    fn a_hit_needs_the_same_kid_input_signature_and_an_unexpired_token() {
        let mut memo = VerifiedSignatures::default();
        assert!(!memo.contains("k1", &key(1), b"h.p", b"sig", 100));
        memo.remember("k1", &key(1), b"h.p", b"sig", 200, 100);
        assert!(memo.contains("k1", &key(1), b"h.p", b"sig", 199));
        assert!(!memo.contains("k1", &key(1), b"h.p", b"sig", 200));
        assert!(!memo.contains("k2", &key(1), b"h.p", b"sig", 100));
        assert!(!memo.contains("k1", &key(1), b"h.q", b"sig", 100));
    }

    #[test]
    fn expired_tokens_are_not_remembered() {
        let mut memo = VerifiedSignatures::default();
        memo.remember("k", &key(1), b"h.p", b"s", 5, 5);
        assert!(memo.is_empty());
    }

    #[test]
    fn it_never_holds_more_than_capacity_and_drops_expired_entries_first() {
        let k = key(1);
        let mut memo = VerifiedSignatures::default();
        // Half of them expire at 10, the other half at 1000.
        for i in 0..CAPACITY {
            let exp = if i % 2 == 0 { 10 } else { 1000 };
            memo.remember("k", &k, &i.to_be_bytes(), b"s", exp, 0);
        }
        assert_eq!(memo.len(), CAPACITY);
        memo.remember("k", &k, b"new", b"s", 1000, 20);
        assert_eq!(memo.len(), CAPACITY / 2 + 1);
        assert!(memo.contains("k", &k, &1usize.to_be_bytes(), b"s", 20));
        assert!(memo.contains("k", &k, b"new", b"s", 20));
        // Full of live entries: the oldest goes.
        for i in 0..CAPACITY {
            memo.remember("k", &k, &(i + 10_000).to_be_bytes(), b"s", 1000, 20);
        }
        assert_eq!(memo.len(), CAPACITY);
        assert!(!memo.contains("k", &k, &1usize.to_be_bytes(), b"s", 20));
        assert!(memo.contains("k", &k, &(CAPACITY + 9_999).to_be_bytes(), b"s", 20));
    }
}
