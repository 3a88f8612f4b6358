//! Plain HTTP request and response types, and their conversions to and from `worker` types.
//!
//! Handlers take an [`HttpRequest`] and return an [`HttpResponse`]; neither names a
//! `worker::` type, so every handler runs natively under `cargo test`.

use serde::Serialize;

/// The largest request body the server reads (16 KiB). Larger bodies are refused.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// An incoming HTTP request, already read into memory. Its `Debug` shows the method,
/// path and header names only: values, query and body may hold credentials.
#[derive(Clone, Default)]
pub struct HttpRequest {
    /// The method, upper case (`GET`, `POST`, ...; any other method as sent, upper-cased).
    pub method: String,
    /// `scheme://host[:port]` of the request URL, without a trailing slash.
    pub origin: String,
    /// The path of the request URL, starting with `/`.
    pub path: String,
    /// The raw query string, without the `?`, if there was one.
    pub query: Option<String>,
    /// Header fields with lower-cased names. From the runtime: those of
    /// [`REQUEST_HEADERS`] that are present, in that order (the runtime joins repeated
    /// fields with `, `).
    pub headers: Vec<(String, String)>,
    /// The body (at most [`MAX_BODY_BYTES`] bytes).
    pub body: Vec<u8>,
    /// True when the body was larger than [`MAX_BODY_BYTES`] and was not kept.
    pub body_too_large: bool,
    /// Cloudflare's `request.cf.tlsClientAuth` (mTLS on the hostname), when present. A
    /// request from the runtime leaves it `None` and reads it on first use instead
    /// ([`HttpRequest::cf_tls_client_auth`]).
    pub tls_client_auth: Option<crate::mtls::CfTlsClientAuth>,
    /// Where `request.cf.tlsClientAuth` is read from when first asked for.
    pub cf_source: Option<CfSource>,
}

/// Reads `request.cf.tlsClientAuth` of a runtime request once, when a handler first
/// needs it. The runtime builds the whole `cf` object (geolocation, bot and TLS details)
/// on the first read of `request.cf`: 7% of the worker's time per `/userinfo` request,
/// which never needs it unless the token is certificate-bound (profiled with
/// `node bench/profile.mjs --flows userinfo`).
#[derive(Clone)]
pub struct CfSource(std::rc::Rc<CfSourceInner>);

struct CfSourceInner {
    read: Box<dyn Fn() -> Option<crate::mtls::CfTlsClientAuth>>,
    value: std::cell::OnceCell<Option<crate::mtls::CfTlsClientAuth>>,
}

impl CfSource {
    /// A source that calls `read` on first use and keeps what it returned.
    ///
    /// ```
    /// use edge_oauth_worker::http::{CfSource, HttpRequest};
    /// use edge_oauth_worker::mtls::CfTlsClientAuth;
    /// use std::{cell::Cell, rc::Rc};
    /// let reads = Rc::new(Cell::new(0));
    /// let counter = Rc::clone(&reads);
    /// let mut req = HttpRequest::new("POST", "/oauth/token");
    /// req.cf_source = Some(CfSource::new(move || {
    ///     counter.set(counter.get() + 1);
    ///     Some(CfTlsClientAuth { cert_presented: "1".into(), ..Default::default() })
    /// }));
    /// assert_eq!(reads.get(), 0); // not read until asked for
    /// assert_eq!(req.cf_tls_client_auth().map(|a| a.cert_presented.as_str()), Some("1"));
    /// assert_eq!(req.clone().cf_tls_client_auth().map(|a| a.cert_presented.as_str()), Some("1"));
    /// assert_eq!(reads.get(), 1); // then kept, also by clones of the request
    /// ```
    pub fn new(read: impl Fn() -> Option<crate::mtls::CfTlsClientAuth> + 'static) -> Self {
        Self(std::rc::Rc::new(CfSourceInner {
            read: Box::new(read),
            value: std::cell::OnceCell::new(),
        }))
    }

    fn get(&self) -> Option<&crate::mtls::CfTlsClientAuth> {
        self.0.value.get_or_init(|| (self.0.read)()).as_ref()
    }
}

impl core::fmt::Debug for HttpRequest {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("HttpRequest")
            .field("method", &self.method)
            .field("origin", &self.origin)
            .field("path", &self.path)
            .field("query", &self.query.as_ref().map(|_| "[redacted]"))
            .field("header_names", &names)
            .field("body_len", &self.body.len())
            .field("body_too_large", &self.body_too_large)
            .finish()
    }
}

/// The request header fields the server reads (lower case). A request from the runtime
/// is read with one `Headers.get` per name, not by listing all of its fields: the
/// runtime's `Headers` iterator cost more than the rest of reading the request (9% of a
/// code exchange in the isolate profile, `node bench/profile.mjs`). Reading any other
/// name from an [`HttpRequest`] is a bug, which debug builds (the tests) assert.
pub const REQUEST_HEADERS: [&str; 11] = [
    "authorization",
    "dpop",
    "origin",
    "content-type",
    "content-length",
    "sec-fetch-site",
    "cf-connecting-ip",
    "cookie",
    crate::mtls::PROXY_SECRET_HEADER,
    crate::mtls::PROXY_CERT_HEADER,
    crate::mtls::PROXY_VERIFIED_HEADER,
];

/// Whether `name` is one of [`REQUEST_HEADERS`] (case-insensitively).
fn is_read_header(name: &str) -> bool {
    REQUEST_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name))
}

/// The first value of header `name` (compared case-insensitively) in `headers`.
fn first_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

impl HttpRequest {
    /// `request.cf.tlsClientAuth`: the one set on the request, else the one its
    /// [`CfSource`] reads (once, on the first call).
    #[must_use]
    pub fn cf_tls_client_auth(&self) -> Option<&crate::mtls::CfTlsClientAuth> {
        self.tls_client_auth
            .as_ref()
            .or_else(|| self.cf_source.as_ref().and_then(CfSource::get))
    }

    /// A request with the given method and path (and optional `?query`) on origin
    /// `http://localhost`; a convenience for tests.
    #[must_use]
    pub fn new(method: &str, path_and_query: &str) -> Self {
        let (path, query) = match path_and_query.split_once('?') {
            Some((p, q)) => (p.to_owned(), Some(q.to_owned())),
            None => (path_and_query.to_owned(), None),
        };
        Self {
            method: method.to_owned(),
            origin: "http://localhost".to_owned(),
            path,
            query,
            ..Self::default()
        }
    }

    /// Adds a header (builder style).
    #[must_use]
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        self
    }

    /// Sets the body (builder style); marks it too large past [`MAX_BODY_BYTES`].
    #[must_use]
    pub fn with_body(mut self, body: impl Into<Vec<u8>>) -> Self {
        let body = body.into();
        if body.len() > MAX_BODY_BYTES {
            self.body_too_large = true;
            self.body = Vec::new();
        } else {
            self.body = body;
        }
        self
    }

    /// The first value of a header (name compared case-insensitively).
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        debug_assert!(is_read_header(name), "{name} is not in REQUEST_HEADERS");
        first_header(&self.headers, name)
    }

    /// How many times a header occurs (workerd joins repeated fields with `, `, so this is
    /// mostly 0 or 1 in production).
    #[must_use]
    pub fn header_count(&self, name: &str) -> usize {
        debug_assert!(is_read_header(name), "{name} is not in REQUEST_HEADERS");
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .count()
    }

    /// The one `Authorization` field of the request, if any.
    ///
    /// A request may use one authentication method only (RFC 6750 §2, RFC 9449 §7.1,
    /// RFC 6749 §2.3). Two `Authorization` fields arrive joined by the runtime into one
    /// value (`Bearer AT, DPoP AT`); the credentials of every scheme used here (Basic,
    /// Bearer, DPoP) are a single `token68`, which has no comma, so a comma means more than
    /// one field.
    ///
    /// # Errors
    /// [`MultipleAuthorization`] when the field occurs more than once or its value holds
    /// a comma.
    ///
    /// ```
    /// use edge_oauth_worker::http::HttpRequest;
    /// let req = HttpRequest::new("GET", "/userinfo").with_header("Authorization", "Bearer a, DPoP a");
    /// assert!(req.authorization().is_err());
    /// let req = HttpRequest::new("GET", "/userinfo").with_header("Authorization", "Bearer abc");
    /// assert_eq!(req.authorization(), Ok(Some("Bearer abc")));
    /// ```
    pub fn authorization(&self) -> Result<Option<&str>, MultipleAuthorization> {
        if self.header_count("authorization") > 1 {
            return Err(MultipleAuthorization);
        }
        match self.header("authorization") {
            Some(value) if value.contains(',') => Err(MultipleAuthorization),
            other => Ok(other),
        }
    }

    /// Whether the request came over TLS, or over plain HTTP to a loopback host
    /// (`127.0.0.0/8`, `localhost`, `[::1]`: local development), rules.md items 1, 10.
    #[must_use]
    pub fn is_secure_or_loopback(&self) -> bool {
        if self.origin.starts_with("https://") {
            return true;
        }
        self.origin
            .strip_prefix("http://")
            .is_some_and(|authority| is_loopback_host(host_of(authority)))
    }

    /// The media type of `Content-Type`, lower-cased, without parameters.
    #[must_use]
    pub fn media_type(&self) -> Option<String> {
        self.header("content-type").map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
    }
}

/// The origin (`scheme://host[:port]`), path and query of a request URL as the runtime
/// serializes it (WHATWG: scheme and host lower-cased, default port dropped, path
/// starting with `/`, no fragment), split by hand: `None` for anything else (no `://`,
/// user info, a scheme other than `http` / `https`), which the caller parses fully.
///
/// ```
/// use edge_oauth_worker::http::split_request_url;
/// assert_eq!(
///     split_request_url("https://auth.example.com/oauth/token?a=1"),
///     Some(("https://auth.example.com", "/oauth/token", Some("a=1")))
/// );
/// assert_eq!(split_request_url("http://127.0.0.1:8787/"), Some(("http://127.0.0.1:8787", "/", None)));
/// assert_eq!(split_request_url("https://user@example.com/"), None);
/// ```
#[must_use]
pub fn split_request_url(url: &str) -> Option<(&str, &str, Option<&str>)> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let authority_end = rest.find('/')?;
    let (authority, path_and_query) = rest.split_at(authority_end);
    if authority.is_empty() || authority.contains('@') || path_and_query.contains('#') {
        return None;
    }
    let origin = url.get(..url.len() - path_and_query.len())?;
    Some(match path_and_query.split_once('?') {
        Some((path, query)) => (origin, path, Some(query)),
        None => (origin, path_and_query, None),
    })
}

/// More than one `Authorization` field (see [`HttpRequest::authorization`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MultipleAuthorization;

/// The host of an `authority` (`host[:port]`, `[v6][:port]`), without the port.
#[must_use]
pub fn host_of(authority: &str) -> &str {
    if authority.starts_with('[') {
        return authority
            .find(']')
            .map_or(authority, |end| &authority[..=end]);
    }
    authority.split(':').next().unwrap_or_default()
}

/// Whether `host` is a loopback host: `localhost`, `[::1]` or an IPv4 address in
/// `127.0.0.0/8` (dotted decimal, four parts).
#[must_use]
pub fn is_loopback_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") || host == "[::1]" {
        return true;
    }
    let parts: Vec<&str> = host.split('.').collect();
    parts.len() == 4
        && parts[0] == "127"
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.len() <= 3 && p.parse::<u8>().is_ok())
}

/// An outgoing HTTP response. Its `Debug` shows the status and header names only: the
/// body and values (`Location` with a code, tokens) may be secret.
#[derive(Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// Header fields (names as written).
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Vec<u8>,
}

impl core::fmt::Debug for HttpResponse {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        f.debug_struct("HttpResponse")
            .field("status", &self.status)
            .field("header_names", &names)
            .field("body_len", &self.body.len())
            .finish()
    }
}

impl HttpResponse {
    /// An empty response with a status.
    #[must_use]
    pub fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A JSON response (`application/json`).
    #[must_use]
    pub fn json<T: Serialize + ?Sized>(status: u16, value: &T) -> Self {
        // Serialising our own plain structs and `serde_json::Value`s cannot fail; fall
        // back to an empty object rather than panic.
        let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
        Self::empty(status)
            .with_header("Content-Type", "application/json")
            .with_header("X-Content-Type-Options", "nosniff")
            .with_body(body)
    }

    /// An HTML page (`text/html; charset=utf-8`) with a strict security policy and no caching.
    #[must_use]
    pub fn html(status: u16, page: String) -> Self {
        Self::empty(status)
            .with_header("Content-Type", "text/html; charset=utf-8")
            .with_header("X-Content-Type-Options", "nosniff")
            .with_header(
                "Content-Security-Policy",
                "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'",
            )
            .with_header("X-Frame-Options", "DENY")
            .with_header("Referrer-Policy", "no-referrer")
            .with_header("Cache-Control", "no-store")
            .with_header("Pragma", "no-cache")
            .with_body(page.into_bytes())
    }

    /// A redirect (`303 See Other` after a form post, `302 Found` otherwise).
    #[must_use]
    pub fn redirect(status: u16, location: &str) -> Self {
        Self::empty(status)
            .with_header("Location", location)
            .with_header("Cache-Control", "no-store")
            .with_header("Referrer-Policy", "no-referrer")
    }

    /// Adds a header (builder style).
    #[must_use]
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Replaces the body (builder style).
    #[must_use]
    pub fn with_body(mut self, body: Vec<u8>) -> Self {
        self.body = body;
        self
    }

    /// Adds `Cache-Control: no-store` and `Pragma: no-cache` unless already present.
    #[must_use]
    pub fn no_store(mut self) -> Self {
        if self.header("cache-control").is_none() {
            self = self.with_header("Cache-Control", "no-store");
        }
        if self.header("pragma").is_none() {
            self = self.with_header("Pragma", "no-cache");
        }
        self
    }

    /// The first value of a header (name compared case-insensitively).
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        first_header(&self.headers, name)
    }

    /// The body parsed as JSON (`Value::Null` when it is not JSON); a convenience for tests.
    #[must_use]
    pub fn json_body(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

#[cfg(target_arch = "wasm32")]
mod convert {
    //! Conversions between the plain types and `worker` types.

    use super::{HttpRequest, HttpResponse, MAX_BODY_BYTES};
    use futures_util::StreamExt;

    impl HttpRequest {
        /// Reads a `worker::Request` into memory, keeping at most [`MAX_BODY_BYTES`] of body.
        ///
        /// # Errors
        /// When the URL or the body stream cannot be read.
        pub async fn from_worker(req: &mut worker::Request) -> worker::Result<Self> {
            // A second handle on the same JS object (`web_sys::Request::clone` would copy the
            // request).
            let same: &wasm_bindgen::JsValue = req.inner();
            Self::from_web(wasm_bindgen::JsCast::unchecked_into(same.clone())).await
        }

        /// Reads the runtime's `Request` into memory, keeping at most [`MAX_BODY_BYTES`] of
        /// body, with few calls into JavaScript: one `Headers.get` per field the server reads
        /// ([`super::REQUEST_HEADERS`]; `request.cf` only when asked for, [`super::CfSource`]),
        /// and a body whose
        /// `Content-Length` is declared (and within the limit) is read with one
        /// `arrayBuffer()`; a body of unknown length is streamed, and dropped past the limit.
        ///
        /// # Errors
        /// When the URL, the headers or the body cannot be read.
        pub async fn from_web(req: web_sys::Request) -> worker::Result<Self> {
            let raw_url = req.url();
            // The runtime's URL is already normalized: split by hand (the `url` crate's
            // parse was 3.5% of a code exchange), parsed fully only when unusual.
            let (origin, path, query) = match super::split_request_url(&raw_url) {
                Some((origin, path, query)) => {
                    (origin.to_owned(), path.to_owned(), query.map(str::to_owned))
                }
                None => {
                    let url: worker::Url = raw_url.parse().map_err(|_| {
                        worker::Error::RustError("the request URL does not parse".into())
                    })?;
                    (
                        url.origin().ascii_serialization(),
                        url.path().to_owned(),
                        url.query().map(str::to_owned),
                    )
                }
            };
            let headers = header_list(&req.headers())?;
            let content_length = super::first_header(&headers, "content-length")
                .map(|v| v.trim().parse::<usize>().ok());
            let declared_too_large = content_length.flatten().is_some_and(|n| n > MAX_BODY_BYTES);
            // Upper case, as the handlers compare it; an extension method (`PROPFIND`)
            // stays what it is, so the endpoints answer it 405.
            let method = req.method().to_ascii_uppercase();
            let mut body = Vec::new();
            let mut body_too_large = declared_too_large;
            // Read on first use (CfSource): most requests never need it.
            let cf_source = {
                // The same JS object (not `Request.clone()`, which would tee the body).
                let req = <web_sys::Request as Clone>::clone(&req);
                super::CfSource::new(move || cf_tls_client_auth(&req))
            };
            if !declared_too_large && method != "GET" && method != "HEAD" {
                match content_length {
                    Some(Some(_)) => {
                        let buffer =
                            wasm_bindgen_futures::JsFuture::from(req.array_buffer()?).await?;
                        let bytes = js_sys::Uint8Array::new(&buffer);
                        if bytes.length() as usize > MAX_BODY_BYTES {
                            body_too_large = true;
                        } else {
                            body = bytes.to_vec();
                        }
                    }
                    _ => {
                        let mut req = worker::Request::from(req);
                        if let Ok(mut stream) = req.stream() {
                            while let Some(chunk) = stream.next().await {
                                let chunk = chunk?;
                                if body.len() + chunk.len() > MAX_BODY_BYTES {
                                    body_too_large = true;
                                    body.clear();
                                    break;
                                }
                                body.extend_from_slice(&chunk);
                            }
                        }
                    }
                }
            }
            Ok(Self {
                method,
                origin,
                path,
                query,
                headers,
                body,
                body_too_large,
                tls_client_auth: None,
                cf_source: Some(cf_source),
            })
        }
    }

    /// The fields of `headers` the server reads ([`super::REQUEST_HEADERS`]), one
    /// `Headers.get` each (the runtime joins repeated fields with `, `).
    fn header_list(headers: &web_sys::Headers) -> worker::Result<Vec<(String, String)>> {
        let mut list = Vec::new();
        for name in super::REQUEST_HEADERS {
            if let Some(value) = headers.get(name)? {
                list.push((name.to_owned(), value));
            }
        }
        Ok(list)
    }

    /// `request.cf.tlsClientAuth`, read field by field without the getters of
    /// `worker::TlsClientAuth` (they panic on a missing field); `None` without one.
    fn cf_tls_client_auth(req: &web_sys::Request) -> Option<crate::mtls::CfTlsClientAuth> {
        use js_sys::Reflect;
        use wasm_bindgen::JsValue;
        let cf = Reflect::get(req, &JsValue::from_str("cf"))
            .ok()
            .filter(JsValue::is_object)?;
        let auth = Reflect::get(&cf, &JsValue::from_str("tlsClientAuth"))
            .ok()
            .filter(JsValue::is_object)?;
        let field = |name: &str| {
            Reflect::get(&auth, &JsValue::from_str(name))
                .ok()
                .and_then(|v| v.as_string())
                .unwrap_or_default()
        };
        Some(crate::mtls::CfTlsClientAuth {
            cert_presented: field("certPresented"),
            cert_verified: field("certVerified"),
            cert_subject_dn_rfc2253: field("certSubjectDNRFC2253"),
            cert_fingerprint_sha256: field("certFingerprintSHA256"),
        })
    }

    impl HttpResponse {
        /// Converts into a `worker::Response`.
        ///
        /// # Errors
        /// When a header name or value is not acceptable to the runtime.
        pub fn into_worker(self) -> worker::Result<worker::Response> {
            self.into_web().map(worker::Response::from)
        }

        /// Converts into the runtime's `Response` with few calls into JavaScript: the
        /// header list crosses as one JSON text (`new Response(body, {status, headers})`),
        /// the body as one copy.
        ///
        /// # Errors
        /// When a header name or value is not acceptable to the runtime.
        pub fn into_web(self) -> worker::Result<web_sys::Response> {
            let init = web_sys::ResponseInit::new();
            init.set_status(self.status);
            if !self.headers.is_empty() {
                let text = serde_json::to_string(&self.headers)
                    .map_err(|e| worker::Error::RustError(e.to_string()))?;
                init.set_headers(&js_sys::JSON::parse(&text)?);
            }
            let response = if self.body.is_empty() {
                web_sys::Response::new_with_opt_str_and_init(None, &init)?
            } else {
                let body = js_sys::Uint8Array::from(self.body.as_slice());
                web_sys::Response::new_with_opt_buffer_source_and_init(Some(&body), &init)?
            };
            Ok(response)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{HttpRequest, REQUEST_HEADERS, split_request_url};

    /// Only the listed fields are read from the runtime's request, so a handler that asks
    /// for another one is caught by the tests.
    #[test]
    #[should_panic(expected = "x-forwarded-for is not in REQUEST_HEADERS")]
    fn reading_an_unlisted_header_is_caught_in_debug_builds() {
        let req = HttpRequest::new("GET", "/").with_header("x-forwarded-for", "192.0.2.1");
        let _ = req.header("x-forwarded-for");
    }

    #[test]
    fn listed_headers_are_read_in_any_case() {
        let req = HttpRequest::new("GET", "/").with_header("DPoP", "proof");
        assert_eq!(req.header("dpop"), Some("proof"));
        assert_eq!(req.header_count("DPOP"), 1);
        assert!(REQUEST_HEADERS.iter().all(|h| h.to_ascii_lowercase() == *h));
    }

    /// The hand split agrees with WHATWG serializations the runtime produces, and leaves
    /// everything unusual to the full parser.
    #[test]
    fn split_request_url_of_serialized_urls() {
        assert_eq!(
            split_request_url("http://[::1]:8787/authorize?a=b?c&d=%20"),
            Some(("http://[::1]:8787", "/authorize", Some("a=b?c&d=%20")))
        );
        assert_eq!(
            split_request_url("https://a.example/x?"),
            Some(("https://a.example", "/x", Some("")))
        );
        for unusual in [
            "https://a.example",
            "https:///x",
            "https://u:p@a.example/",
            "https://a.example/#f",
            "ftp://a.example/",
            "a.example/x",
        ] {
            assert_eq!(split_request_url(unusual), None, "{unusual}");
        }
    }
}
