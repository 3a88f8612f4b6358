//! The decisions of a token client that do not need I/O: which origin a URL belongs to,
//! the per-origin `DPoP-Nonce` cache (RFC 9449 §8.2, §9), whether a response asks for a
//! retry with a nonce (§8, §9), and the `token_type` check after a DPoP request (§5).
//!
//! The JS `TokenClient` and `fetchWithDpop` are thin loops over these: send, remember
//! the nonce, retry at most once when [`is_use_dpop_nonce`] says so and
//! [`NonceCache::retry_nonce`] has a nonce other than the one the attempt carried, then
//! check the result.
//!
//! ```
//! use edge_oauth::token::client::{NonceCache, is_use_dpop_nonce};
//!
//! let mut nonces = NonceCache::new();
//! let url = "https://as.example/oauth/token";
//! assert_eq!(nonces.get(url), None);
//!
//! // First attempt: 400 use_dpop_nonce with a DPoP-Nonce header.
//! let body = r#"{"error":"use_dpop_nonce"}"#;
//! assert!(nonces.remember(url, Some("n-1")));
//! assert!(is_use_dpop_nonce(400, body, None));
//! // The attempt carried no nonce: retry once, with n-1.
//! assert_eq!(nonces.retry_nonce(url, None), Some("n-1"));
//! // Any other URL of the origin shares it.
//! assert_eq!(nonces.get("https://AS.example:443/oauth/revoke"), Some("n-1"));
//! ```

use alloc::{string::String, vec::Vec};

use super::response::parse_www_authenticate;
use super::response::{TokenSet, TokenType, parse_dpop_nonce, parse_error_response};
use crate::dpop::normalize_htu;
use crate::error::{Error, Result};

/// How many origins a [`NonceCache`] remembers; the oldest-sorting one is dropped past
/// that, so a client that talks to many origins cannot grow it without bound.
pub const MAX_NONCE_ORIGINS: usize = 32;

/// The origin of an absolute http(s) URL, `scheme://host[:port]`, normalised like `htu`
/// (lower-case scheme and host, no default port).
///
/// # Errors
///
/// [`Error::UrlInvalid`] as [`normalize_htu`].
///
/// ```
/// use edge_oauth::token::client::origin;
///
/// assert_eq!(origin("HTTPS://Auth.Example.com:443/oauth/token?x=1")?, "https://auth.example.com");
/// assert_eq!(origin("http://127.0.0.1:8787/userinfo")?, "http://127.0.0.1:8787");
/// assert_eq!(origin("/oauth/token").unwrap_err().code(), "URL_INVALID");
/// # Ok::<(), edge_oauth::Error>(())
/// ```
pub fn origin(url: &str) -> Result<String> {
    let mut normalized = normalize_htu(url)?;
    // normalize_htu always yields `scheme://authority/path`.
    let authority_start = normalized
        .as_bytes()
        .windows(3)
        .position(|w| w == b"://")
        .map_or(0, |i| i + 3);
    if let Some(slash) = normalized
        .get(authority_start..)
        .and_then(|rest| rest.find('/'))
    {
        normalized.truncate(authority_start + slash);
    }
    Ok(normalized)
}

/// The last `DPoP-Nonce` received from each origin (RFC 9449 §8.2: "the client MUST use
/// the new nonce value supplied for the next token request"). Authorization-server and
/// resource-server nonces are distinct (§9); keying by origin keeps them apart whenever
/// they are served from different origins, and a stale nonce costs one retry at most.
///
/// ```
/// use edge_oauth::token::client::NonceCache;
///
/// let mut nonces = NonceCache::new();
/// assert!(nonces.remember("https://as.example/token", Some("a")));
/// assert!(!nonces.remember("https://as.example/token", Some("a")), "not new");
/// assert!(!nonces.remember("https://as.example/token", Some("bad nonce")), "not NQCHAR");
/// assert!(!nonces.remember("https://as.example/token", None));
/// assert_eq!(nonces.get("https://as.example/other"), Some("a"));
/// assert_eq!(nonces.get("https://rs.example/"), None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NonceCache {
    /// `(origin, nonce)`, sorted by origin, at most [`MAX_NONCE_ORIGINS`]. A sorted `Vec`
    /// rather than a `BTreeMap`: the same order and lookups for a handful of entries,
    /// without the B-tree's code in the npm package's wasm.
    by_origin: Vec<(String, String)>,
}

impl NonceCache {
    /// An empty cache.
    ///
    /// ```
    /// assert_eq!(edge_oauth::token::client::NonceCache::new().get("https://a.example/"), None);
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The nonce to put into the next proof for `url`, if its origin sent one.
    ///
    /// ```
    /// # use edge_oauth::token::client::NonceCache;
    /// let mut nonces = NonceCache::new();
    /// nonces.remember("https://a.example/x", Some("n"));
    /// assert_eq!(nonces.get("not a url"), None);
    /// ```
    #[must_use]
    pub fn get(&self, url: &str) -> Option<&str> {
        let origin = origin(url).ok()?;
        let i = self.find(&origin).ok()?;
        self.by_origin.get(i).map(|(_, nonce)| nonce.as_str())
    }

    /// Records the `DPoP-Nonce` header of a response from `url` (any status). Returns
    /// `true` when the cache changed. A header that is not `1*NQCHAR` (§8.1) is ignored,
    /// as is a URL that is not absolute http(s).
    ///
    /// Whether to retry is not this answer: a concurrent request to the same origin may
    /// have stored the nonce already. Ask [`retry_nonce`](Self::retry_nonce).
    ///
    /// ```
    /// # use edge_oauth::token::client::NonceCache;
    /// let mut nonces = NonceCache::new();
    /// assert!(nonces.remember("https://a.example/x", Some("n-1")));
    /// assert!(nonces.remember("https://a.example/x", Some("n-2")));
    /// assert_eq!(nonces.get("https://a.example/"), Some("n-2"));
    /// ```
    pub fn remember(&mut self, url: &str, header: Option<&str>) -> bool {
        let Some(nonce) = header.and_then(|h| parse_dpop_nonce(h).ok()) else {
            return false;
        };
        let Ok(origin) = origin(url) else {
            return false;
        };
        match self.find(&origin) {
            Ok(i) => match self.by_origin.get_mut(i) {
                Some((_, cached)) if *cached == nonce => false,
                Some((_, cached)) => {
                    *cached = nonce;
                    true
                }
                None => false,
            },
            Err(mut i) => {
                if self.by_origin.len() >= MAX_NONCE_ORIGINS {
                    // The first-sorting origin makes room.
                    self.by_origin.remove(0);
                    i = i.saturating_sub(1);
                }
                self.by_origin.insert(i, (origin, nonce));
                true
            }
        }
    }

    /// Where `origin` is (`Ok`), or where it would be inserted (`Err`).
    fn find(&self, origin: &str) -> core::result::Result<usize, usize> {
        self.by_origin
            .binary_search_by(|(o, _)| o.as_str().cmp(origin))
    }

    /// After a `use_dpop_nonce` answer ([`is_use_dpop_nonce`]) to an attempt whose proof
    /// carried `used` (and after [`remember`](Self::remember)ing the answer's
    /// `DPoP-Nonce`): the nonce to retry with, i.e. the one now cached for the origin of
    /// `url`, when it differs from `used`. `None` when there is nothing new to try, so
    /// a retry would fail the same way.
    ///
    /// It does not matter who stored the nonce: when two requests to one origin run
    /// concurrently, the first answer stores it and the second answer carries the same
    /// value, yet the second request was sent without it and must be retried too.
    /// The caller still retries at most once per request.
    ///
    /// ```
    /// # use edge_oauth::token::client::NonceCache;
    /// let url = "https://as.example/token";
    /// let mut nonces = NonceCache::new();
    /// // Two concurrent requests went out without a nonce; both get `use_dpop_nonce`.
    /// assert!(nonces.remember(url, Some("n")));
    /// assert_eq!(nonces.retry_nonce(url, None), Some("n"));
    /// assert!(!nonces.remember(url, Some("n")), "the cache did not change...");
    /// assert_eq!(nonces.retry_nonce(url, None), Some("n"), "...but the second retries too");
    /// // A request that already carried `n` has nothing new to try.
    /// assert_eq!(nonces.retry_nonce(url, Some("n")), None);
    /// ```
    #[must_use]
    pub fn retry_nonce(&self, url: &str, used: Option<&str>) -> Option<&str> {
        self.get(url).filter(|cached| Some(*cached) != used)
    }
}

/// Whether a response asks the client to retry with a DPoP nonce:
///
/// - an authorization server answers `400` (or `401`) with the JSON error
///   `use_dpop_nonce` (RFC 9449 §8);
/// - a resource server answers `401` with a `WWW-Authenticate: DPoP` challenge whose
///   `error` is `use_dpop_nonce` (§9).
///
/// The caller retries **once**, and only when a nonce other than the one the attempt
/// carried is known for the origin ([`NonceCache::retry_nonce`]).
///
/// ```
/// use edge_oauth::token::client::is_use_dpop_nonce;
///
/// assert!(is_use_dpop_nonce(401, "", Some(r#"DPoP error="use_dpop_nonce", algs="ES256""#)));
/// assert!(!is_use_dpop_nonce(401, "", Some(r#"DPoP error="invalid_token""#)));
/// assert!(!is_use_dpop_nonce(400, r#"{"error":"invalid_grant"}"#, None));
/// assert!(!is_use_dpop_nonce(200, r#"{"error":"use_dpop_nonce"}"#, None));
/// ```
#[must_use]
pub fn is_use_dpop_nonce(status: u16, body: &str, www_authenticate: Option<&str>) -> bool {
    if status != 400 && status != 401 {
        return false;
    }
    if parse_error_response(status, body, None).is_ok_and(|e| e.error == "use_dpop_nonce") {
        return true;
    }
    status == 401
        && www_authenticate
            .and_then(|h| parse_www_authenticate(h).ok())
            .is_some_and(|challenges| {
                challenges
                    .iter()
                    .any(|c| c.scheme_is("DPoP") && c.param("error") == Some("use_dpop_nonce"))
            })
}

/// Checks the `token_type` of a response to a request that carried a DPoP proof: it
/// must be `DPoP`, otherwise the token is not bound to the key and the client discards
/// it (RFC 9449 §5; rules K.128).
///
/// # Errors
///
/// [`Error::TokenTypeMismatch`] for a `Bearer` token.
///
/// ```
/// use edge_oauth::token::{client::require_dpop_bound, parse_token_response};
///
/// let bearer = parse_token_response(200, r#"{"access_token":"a","token_type":"bearer"}"#, 0)?;
/// assert_eq!(require_dpop_bound(&bearer).unwrap_err().code(), "TOKEN_TYPE_MISMATCH");
/// let dpop = parse_token_response(200, r#"{"access_token":"a","token_type":"dpop"}"#, 0)?;
/// assert!(require_dpop_bound(&dpop).is_ok());
/// # Ok::<(), edge_oauth::Error>(())
/// ```
pub fn require_dpop_bound(tokens: &TokenSet) -> Result<()> {
    match tokens.token_type {
        TokenType::Dpop => Ok(()),
        TokenType::Bearer => Err(Error::TokenTypeMismatch),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn origin_drops_path_query_and_default_port() {
        assert_eq!(
            origin("https://a.example/p/q?x#f").unwrap(),
            "https://a.example"
        );
        assert_eq!(origin("http://a.example:80").unwrap(), "http://a.example");
        assert_eq!(
            origin("http://a.example:8080/").unwrap(),
            "http://a.example:8080"
        );
        assert_eq!(
            origin("ftp://a.example/").unwrap_err().code(),
            "URL_INVALID"
        );
    }

    #[test]
    fn rfc9449_8_2_the_newest_nonce_wins_per_origin() {
        let mut c = NonceCache::new();
        assert!(c.remember("https://as.example/token", Some("one")));
        assert!(c.remember("https://rs.example/api", Some("two")));
        assert!(c.remember("https://as.example/token", Some("three")));
        assert_eq!(c.get("https://as.example/x"), Some("three"));
        assert_eq!(c.get("https://rs.example/y"), Some("two"));
        assert!(!c.remember("https://as.example/token", Some("")));
        assert!(!c.remember("https://as.example/token", Some("a\"b")));
        assert!(!c.remember("/relative", Some("n")));
        assert_eq!(c.get("https://as.example/x"), Some("three"));
    }

    #[test]
    fn the_cache_keeps_the_order_and_eviction_of_a_sorted_map() {
        // A model: BTreeMap, dropping its first entry when a new origin comes in full.
        let mut model = alloc::collections::BTreeMap::<String, String>::new();
        let mut c = NonceCache::new();
        let mut seed = 7u32;
        for step in 0..2000 {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let host = (seed >> 8) % 50;
            let nonce = ["a", "b"][(seed >> 20) as usize % 2];
            let url = format!("https://h{host}.example/p");
            let origin = format!("https://h{host}.example");
            let changed = model.get(&origin).map(String::as_str) != Some(nonce);
            if changed {
                if !model.contains_key(&origin) && model.len() >= MAX_NONCE_ORIGINS {
                    model.pop_first();
                }
                model.insert(origin.clone(), nonce.into());
            }
            assert_eq!(c.remember(&url, Some(nonce)), changed, "step {step}");
            let entries: Vec<(String, String)> = model.clone().into_iter().collect();
            assert_eq!(c.by_origin, entries, "step {step}");
        }
    }

    #[test]
    fn the_cache_is_bounded() {
        let mut c = NonceCache::new();
        for i in 0..(MAX_NONCE_ORIGINS + 10) {
            assert!(c.remember(&format!("https://h{i}.example/"), Some("n")));
        }
        assert_eq!(c.by_origin.len(), MAX_NONCE_ORIGINS);
    }

    #[test]
    fn rfc9449_8_concurrent_requests_both_retry_with_the_nonce_they_lacked() {
        let url = "https://as.example/oauth/token";
        let mut c = NonceCache::new();
        // Requests 1 and 2 go out without a nonce; both answers carry n.
        assert!(c.remember(url, Some("n")));
        assert_eq!(c.retry_nonce(url, None), Some("n"));
        assert!(!c.remember(url, Some("n")));
        assert_eq!(c.retry_nonce(url, None), Some("n"));
        // The retries carry n: another use_dpop_nonce with n again is not retried.
        assert!(!c.remember(url, Some("n")));
        assert_eq!(c.retry_nonce(url, Some("n")), None);
    }

    #[test]
    fn rfc9449_8_retry_nonce_follows_the_cache_not_the_answer() {
        let url = "https://as.example/oauth/token";
        let mut c = NonceCache::new();
        // No nonce known at all: nothing to retry with.
        assert_eq!(c.retry_nonce(url, None), None);
        // An answer without a usable header, but a concurrent answer stored n-2.
        assert!(c.remember("https://as.example/other", Some("n-2")));
        assert!(!c.remember(url, Some("not nqchar \"")));
        assert_eq!(c.retry_nonce(url, Some("n-1")), Some("n-2"));
        // The nonce rotated since the attempt: retry with the new one.
        assert!(c.remember(url, Some("n-3")));
        assert_eq!(c.retry_nonce(url, Some("n-2")), Some("n-3"));
        assert_eq!(c.retry_nonce(url, Some("n-3")), None);
        // Other origins and bad URLs have nothing.
        assert_eq!(c.retry_nonce("https://rs.example/", None), None);
        assert_eq!(c.retry_nonce("/relative", None), None);
    }

    #[test]
    fn rfc9449_8_and_9_nonce_challenges() {
        let body = r#"{"error":"use_dpop_nonce","error_description":"Authorization server requires nonce in DPoP proof"}"#;
        assert!(is_use_dpop_nonce(400, body, None));
        assert!(is_use_dpop_nonce(401, body, None));
        assert!(!is_use_dpop_nonce(403, body, None));
        assert!(!is_use_dpop_nonce(400, "not json", None));
        assert!(is_use_dpop_nonce(
            401,
            "",
            Some(
                r#"DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof""#
            )
        ));
        assert!(is_use_dpop_nonce(
            401,
            "",
            Some(r#"Bearer realm="x", dpop ERROR=use_dpop_nonce"#)
        ));
        assert!(!is_use_dpop_nonce(
            401,
            "",
            Some(r#"Bearer error="use_dpop_nonce""#)
        ));
        assert!(!is_use_dpop_nonce(
            400,
            "",
            Some(r#"DPoP error="use_dpop_nonce""#)
        ));
        assert!(!is_use_dpop_nonce(401, "", Some(r#"DPoP error="#)));
    }
}
