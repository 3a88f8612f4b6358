//! Rate limiting (rules.md item 12: "MUST protect any endpoint utilizing password
//! authentication against brute force attacks"), and a brake on unauthenticated KV writes.
//!
//! On Workers the limiter is the Workers Rate Limiting binding `RATE_LIMITER`
//! (`[[ratelimits]]` in worker/wrangler.toml: 20 requests per key per 60 s; `wrangler dev`
//! simulates it in memory). Natively it is [`MemoryRateLimiter`] on the test clock. The
//! grant and endpoint logic only sees [`crate::platform::Platform::rate_limit`].
//!
//! What is counted, each under its own key:
//! - `POST /authorize/login`: every attempt, before the password is checked, under
//!   `login-email:{sha256(lowercased email)}` and `login-ip:{prefix}` ([`ip_prefix`]: the
//!   IPv4 address, or the /64 of an IPv6 address, of `CF-Connecting-IP`); over the
//!   limit the form answers `429` with a plain message (a correct password is refused
//!   too, so guessing stops). A browser with the account's device cookie counts under
//!   `login-device:{sha256(its MAC)}` instead of the account ([`crate::users`]);
//! - client authentication *failures* (token, revocation and PAR endpoints), under
//!   `client-auth:{client_id}`; over the limit the failure is answered `429`
//!   `invalid_client` with `Retry-After: 60` instead of `401` (secrets are 256-bit random,
//!   so this caps noise rather than guessing; a success is never counted);
//! - `POST /oauth/par` from public clients (each one is an unauthenticated KV write),
//!   under `par:{client_id}:{prefix}`; over the limit `429 invalid_request`
//!   with `Retry-After: 60`;
//! - failed token requests of public clients, under `token-fail-client:{client_id}` and
//!   `token-fail-ip:{ip_prefix(CF-Connecting-IP)}`; over either limit the failure is
//!   answered `429` (same `error`, `Retry-After: 60`). Successes are not counted.
//!
//! - `POST /oauth/device/code` from public clients under `device-code:{client_id}:{prefix}`,
//!   and every user-code lookup of `/activate` under `activate-ip:{prefix}` (over the
//!   limit the page answers `429` and looks nothing up).
//!
//! Without the binding (a misconfigured deployment) the server fails *open*: requests
//! are allowed and a warning without secrets is logged, so logins keep working.

use crate::http::HttpRequest;
use crate::jwt::sha256_b64;
use crate::store::memory::Clock;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// The name of the Workers Rate Limiting binding.
pub const BINDING: &str = "RATE_LIMITER";

/// `Retry-After` of a `429`, in seconds (the binding's period).
pub const RETRY_AFTER_SECONDS: u32 = 60;

/// A counter per key: `allow` counts one request and says whether it is within the limit.
#[allow(async_fn_in_trait)]
pub trait RateLimiter {
    /// Counts a request under `key`; `false` when the key is over its limit.
    async fn allow(&self, key: &str) -> bool;
}

/// The key for login attempts on one account.
#[must_use]
pub fn login_email_key(email: &str) -> String {
    format!(
        "login-email:{}",
        sha256_b64(email.trim().to_lowercase().as_bytes())
    )
}

/// The key for login attempts from a browser that sends the device cookie `mac` of the
/// account ([`crate::users::login_allowed`]): counted instead of the account.
#[must_use]
pub fn login_device_key(mac: &str) -> String {
    format!("login-device:{}", sha256_b64(mac.as_bytes()))
}

/// The key for login attempts from one address ([`ip_prefix`]: an IPv6 client by its /64).
#[must_use]
pub fn login_ip_key(ip: &str) -> String {
    format!("login-ip:{}", ip_prefix(ip))
}

/// The part of a client address a rate-limit key counts under: an IPv4 address as it is,
/// an IPv6 address by its /64 (one subscriber usually holds a whole /64, so counting each
/// address would let one subnet spray without limit), written as the first four hextets
/// in lower case followed by `::/64`. An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`)
/// counts as its IPv4 address. Anything else (not an IP address) is `invalid`, so garbage
/// in `CF-Connecting-IP` shares one bucket instead of making new ones.
///
/// ```
/// use edge_oauth_worker::ratelimit::ip_prefix;
/// assert_eq!(ip_prefix("203.0.113.7"), "203.0.113.7");
/// assert_eq!(ip_prefix("2001:DB8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
/// assert_eq!(ip_prefix("2001:db8::1"), "2001:db8:0:0::/64");
/// assert_eq!(ip_prefix("::ffff:192.0.2.1"), "192.0.2.1");
/// assert_eq!(ip_prefix("not an address"), "invalid");
/// ```
#[must_use]
pub fn ip_prefix(ip: &str) -> String {
    let ip = ip.trim();
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => v4.to_string(),
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Err(_) => "invalid".to_owned(),
    }
}

/// The client's address as Cloudflare gives it (`CF-Connecting-IP`); `None` without the
/// header or when it is longer than any address (64 bytes), so a forged value never
/// becomes a long rate-limit key.
///
/// ```
/// # use edge_oauth_worker::http::HttpRequest;
/// # use edge_oauth_worker::ratelimit::client_ip;
/// let req = HttpRequest::new("POST", "/oauth/token").with_header("cf-connecting-ip", "203.0.113.7");
/// assert_eq!(client_ip(&req), Some("203.0.113.7"));
/// assert_eq!(client_ip(&HttpRequest::new("POST", "/oauth/token")), None);
/// ```
#[must_use]
pub fn client_ip(req: &HttpRequest) -> Option<&str> {
    req.header("cf-connecting-ip").filter(|ip| ip.len() <= 64)
}

/// The key for failed client authentications of one client.
#[must_use]
pub fn client_auth_key(client_id: &str) -> String {
    format!("client-auth:{client_id}")
}

/// The key for pushed authorization requests of a public client from one address
/// ([`ip_prefix`]).
#[must_use]
pub fn par_key(client_id: &str, ip: &str) -> String {
    format!("par:{client_id}:{}", ip_prefix(ip))
}

/// The key for failed token requests of one public client.
#[must_use]
pub fn token_failure_client_key(client_id: &str) -> String {
    format!("token-fail-client:{client_id}")
}

/// The key for failed public-client token requests from one address (IPv6: its /64).
#[must_use]
pub fn token_failure_ip_key(ip: &str) -> String {
    format!("token-fail-ip:{}", ip_prefix(ip))
}

/// The key for device authorization requests of a public client from one address
/// ([`ip_prefix`]): each one is an unauthenticated write, as a pushed request.
#[must_use]
pub fn device_authorization_key(client_id: &str, ip: &str) -> String {
    format!("device-code:{client_id}:{}", ip_prefix(ip))
}

/// The key for user-code lookups on `/activate` from one address ([`ip_prefix`]): a user
/// code has about 34.5 bits, so guessing is slowed per address.
#[must_use]
pub fn activate_ip_key(ip: &str) -> String {
    format!("activate-ip:{}", ip_prefix(ip))
}

/// A fixed-window limiter in memory (as `wrangler dev` simulates the binding): at most
/// `limit` requests per key per `period` seconds of the shared [`Clock`].
#[derive(Clone, Debug, Default)]
pub struct MemoryRateLimiter {
    limit: u32,
    period: i64,
    clock: Clock,
    /// (window number, count per key).
    buckets: Rc<RefCell<(i64, BTreeMap<String, u32>)>>,
}

impl MemoryRateLimiter {
    /// A limiter allowing `limit` requests per key per `period` seconds.
    #[must_use]
    pub fn new(clock: Clock, limit: u32, period: i64) -> Self {
        Self {
            limit,
            period: period.max(1),
            clock,
            buckets: Rc::default(),
        }
    }
}

impl RateLimiter for MemoryRateLimiter {
    async fn allow(&self, key: &str) -> bool {
        let window = self.clock.now().div_euclid(self.period);
        let mut buckets = self.buckets.borrow_mut();
        if buckets.0 != window {
            *buckets = (window, BTreeMap::new());
        }
        let count = buckets.1.entry(key.to_owned()).or_insert(0);
        if *count >= self.limit {
            return false;
        }
        *count += 1;
        true
    }
}
