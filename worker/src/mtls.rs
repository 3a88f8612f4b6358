//! Mutual-TLS client authentication and certificate-bound access tokens (RFC 8705).
//!
//! A Worker does not terminate TLS itself, so the client certificate comes from what
//! terminated it, in this order:
//! 1. Cloudflare's own mTLS on the hostname: `request.cf.tlsClientAuth`
//!    ([`CfTlsClientAuth`]: presented, verified, SHA-256 fingerprint, subject DN). It
//!    carries no certificate, so a subject alternative name cannot be checked from it,
//!    and a self-signed certificate is matched by its fingerprint (`x5t#S256`) only;
//! 2. Auth0's proxy headers: `client-certificate` (the URL-encoded PEM) and
//!    `client-certificate-ca-verified: SUCCESS`, accepted **only** when the request also
//!    carries `cname-api-key` equal to the worker secret `MTLS_PROXY_SECRET` (compared in
//!    constant time). Without that secret configured the headers are ignored, whatever
//!    they say: anyone can send a header.
//!
//! Methods (the client's registered `token_endpoint_auth_method`, RFC 8705 §2):
//! - `tls_client_auth`: the certificate must be verified by the TLS terminator's CA and
//!   match the one registered name: `tls_client_auth_subject_dn` (RFC 4514, compared
//!   after parsing both), `tls_client_auth_san_dns` (case-insensitive) or
//!   `tls_client_auth_san_uri` (exact);
//! - `self_signed_tls_client_auth`: the certificate must match a key of the client's
//!   `jwks`: by the key's `x5t#S256`, by the public key of its `x5c` certificate, or (EC
//!   P-256) by the key itself. No CA verification is needed (or possible) here.
//!
//! A client registered with `tls_client_certificate_bound_access_tokens` gets access
//! tokens with `cnf: {"x5t#S256": ...}` (§3.1), the SHA-256 of the DER certificate; such a
//! client must present a certificate at the token endpoint. `/userinfo` refuses a bound
//! token unless the request presents the same certificate (§3).
//!
//! X.509 is parsed with RustCrypto's `x509-cert`.

use crate::config::{AuthMethod, Client, Config};
use crate::error::OAuthError;
use crate::http::HttpRequest;
use crate::jwt::sha256_b64;
use edge_oauth::base64url;
use serde_json::Value;
use subtle::ConstantTimeEq;
use x509_cert::Certificate;
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::oid::db::rfc5912::{ID_EC_PUBLIC_KEY, SECP_256_R_1};
use x509_cert::der::{DecodePem, Encode};
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::name::Name;

/// Auth0's proxy header with the URL-encoded PEM certificate.
pub const PROXY_CERT_HEADER: &str = "client-certificate";
/// Auth0's proxy header saying the proxy verified the chain (`SUCCESS`).
pub const PROXY_VERIFIED_HEADER: &str = "client-certificate-ca-verified";
/// The shared-secret header a trusted proxy sends (Auth0's name for it).
pub const PROXY_SECRET_HEADER: &str = "cname-api-key";

/// The longest `client-certificate` header read (URL-encoded PEM).
pub const MAX_PROXY_CERT_BYTES: usize = 8 * 1024;

/// Cloudflare's `request.cf.tlsClientAuth`, the fields used here, as the runtime gives
/// them (strings).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CfTlsClientAuth {
    /// `certPresented`: `"1"` when the client presented a certificate.
    pub cert_presented: String,
    /// `certVerified`: `"SUCCESS"` when the chain verified against the zone's CA.
    pub cert_verified: String,
    /// `certSubjectDNRFC2253`.
    pub cert_subject_dn_rfc2253: String,
    /// `certFingerprintSHA256`: hex SHA-256 of the DER certificate.
    pub cert_fingerprint_sha256: String,
}

/// A client certificate the request presented.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientCertificate {
    /// Whether the TLS terminator verified the chain against its CA.
    pub verified: bool,
    /// base64url SHA-256 of the DER certificate (`x5t#S256`).
    pub x5t_s256: String,
    /// The subject DN, RFC 4514 (re-serialised after parsing).
    pub subject_dn: Option<String>,
    /// `dNSName` subject alternative names.
    pub san_dns: Vec<String>,
    /// `uniformResourceIdentifier` subject alternative names.
    pub san_uri: Vec<String>,
    /// The DER `SubjectPublicKeyInfo` (not known from `cf.tlsClientAuth`).
    pub spki_der: Option<Vec<u8>>,
    /// The public key point when the key is EC P-256 (RFC 5480).
    pub ec_p256_point: Option<Vec<u8>>,
}

impl ClientCertificate {
    /// Parses a PEM certificate.
    ///
    /// # Errors
    /// `invalid_client` when it is not one well-formed X.509 certificate.
    pub fn from_pem(pem: &str, verified: bool) -> Result<Self, OAuthError> {
        let malformed = || OAuthError::invalid_client("the client certificate is malformed");
        let cert = Certificate::from_pem(pem.trim().as_bytes()).map_err(|_| malformed())?;
        let der = cert.to_der().map_err(|_| malformed())?;
        Self::from_parsed(&cert, &der, verified).ok_or_else(malformed)
    }

    /// From a parsed certificate and its DER encoding.
    fn from_parsed(cert: &Certificate, der: &[u8], verified: bool) -> Option<Self> {
        let tbs = cert.tbs_certificate();
        let mut san_dns = Vec::new();
        let mut san_uri = Vec::new();
        if let Some((_, san)) = tbs.get_extension::<SubjectAltName>().ok()? {
            for name in san.0 {
                match name {
                    GeneralName::DnsName(n) => san_dns.push(n.to_string()),
                    GeneralName::UniformResourceIdentifier(u) => san_uri.push(u.to_string()),
                    _ => {}
                }
            }
        }
        let spki = tbs.subject_public_key_info();
        let p256 = spki.algorithm.oid == ID_EC_PUBLIC_KEY
            && spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
                == Some(SECP_256_R_1);
        Some(Self {
            verified,
            x5t_s256: sha256_b64(der),
            subject_dn: Some(tbs.subject().to_string()),
            san_dns,
            san_uri,
            spki_der: spki.to_der().ok(),
            ec_p256_point: p256.then(|| spki.subject_public_key.raw_bytes().to_vec()),
        })
    }

    /// From Cloudflare's `tlsClientAuth`, when a certificate was presented.
    fn from_cf(cf: &CfTlsClientAuth) -> Option<Self> {
        if cf.cert_presented != "1" {
            return None;
        }
        let fingerprint = decode_hex(cf.cert_fingerprint_sha256.trim())?;
        if fingerprint.len() != 32 {
            return None;
        }
        Some(Self {
            verified: cf.cert_verified == "SUCCESS",
            x5t_s256: base64url::encode(&fingerprint),
            subject_dn: normalize_dn(&cf.cert_subject_dn_rfc2253),
            san_dns: Vec::new(),
            san_uri: Vec::new(),
            spki_der: None,
            ec_p256_point: None,
        })
    }
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect()
}

/// An RFC 4514 DN parsed and serialised again, so spacing and case of attribute names
/// do not matter; `None` when it does not parse.
#[must_use]
pub fn normalize_dn(dn: &str) -> Option<String> {
    dn.trim().parse::<Name>().ok().map(|n| n.to_string())
}

/// The client certificate of a request, from `cf.tlsClientAuth` or, with the shared
/// secret, from the trusted proxy's headers (see the module docs); `None` when there is
/// none.
///
/// # Errors
/// `invalid_client` when a trusted proxy sent a malformed certificate.
pub fn presented(
    config: &Config,
    req: &HttpRequest,
) -> Result<Option<ClientCertificate>, OAuthError> {
    if let Some(cert) = req
        .cf_tls_client_auth()
        .and_then(ClientCertificate::from_cf)
    {
        return Ok(Some(cert));
    }
    if !trusted_proxy(config, req) {
        return Ok(None);
    }
    let Some(encoded) = req
        .header(PROXY_CERT_HEADER)
        .filter(|v| !v.trim().is_empty())
    else {
        return Ok(None);
    };
    if encoded.len() > MAX_PROXY_CERT_BYTES {
        return Err(OAuthError::invalid_client(
            "the client certificate is malformed",
        ));
    }
    let pem = percent_encoding::percent_decode_str(encoded.trim())
        .decode_utf8()
        .map_err(|_| OAuthError::invalid_client("the client certificate is malformed"))?;
    let verified = req
        .header(PROXY_VERIFIED_HEADER)
        .is_some_and(|v| v.trim() == "SUCCESS");
    ClientCertificate::from_pem(&pem, verified).map(Some)
}

/// Whether the request carries the shared secret of a trusted proxy: `cname-api-key`
/// equal to `MTLS_PROXY_SECRET`; always false when that secret is not configured.
fn trusted_proxy(config: &Config, req: &HttpRequest) -> bool {
    let (Some(secret), Some(sent)) = (
        config.mtls_proxy_secret.as_ref(),
        req.header(PROXY_SECRET_HEADER),
    ) else {
        return false;
    };
    // Hashes of equal length, compared in constant time.
    let expected = sha256_b64(secret);
    let got = sha256_b64(sent.trim().as_bytes());
    bool::from(expected.as_bytes().ct_eq(got.as_bytes()))
        && req.header_count(PROXY_SECRET_HEADER) == 1
}

/// Authenticates a client registered for `tls_client_auth` or
/// `self_signed_tls_client_auth` with the presented certificate.
///
/// # Errors
/// `invalid_client` when there is no certificate or it does not match the registration.
pub fn authenticate_client(
    client: &Client,
    cert: Option<&ClientCertificate>,
) -> Result<(), OAuthError> {
    let failed = || OAuthError::invalid_client("client authentication failed");
    let cert = cert.ok_or_else(failed)?;
    let ok = match client.token_endpoint_auth_method {
        AuthMethod::TlsClientAuth => cert.verified && matches_registered_name(client, cert),
        AuthMethod::SelfSignedTlsClientAuth => matches_registered_key(client, cert),
        _ => false,
    };
    if ok { Ok(()) } else { Err(failed()) }
}

/// RFC 8705 §2.1.2: exactly one registered name, and the certificate has it.
fn matches_registered_name(client: &Client, cert: &ClientCertificate) -> bool {
    match (
        client.tls_client_auth_subject_dn.as_deref(),
        client.tls_client_auth_san_dns.as_deref(),
        client.tls_client_auth_san_uri.as_deref(),
    ) {
        (Some(dn), None, None) => {
            normalize_dn(dn).is_some_and(|dn| cert.subject_dn.as_deref() == Some(dn.as_str()))
        }
        (None, Some(dns), None) => cert.san_dns.iter().any(|n| n.eq_ignore_ascii_case(dns)),
        (None, None, Some(uri)) => cert.san_uri.iter().any(|u| u == uri),
        _ => false,
    }
}

/// RFC 8705 §2.2: a key of the client's JWKS is the certificate's.
fn matches_registered_key(client: &Client, cert: &ClientCertificate) -> bool {
    let keys = client
        .jwks
        .as_ref()
        .and_then(|j| j.get("keys"))
        .and_then(Value::as_array);
    keys.is_some_and(|keys| keys.iter().any(|k| key_matches(k, cert)))
}

fn key_matches(jwk: &Value, cert: &ClientCertificate) -> bool {
    if jwk
        .get("x5t#S256")
        .and_then(Value::as_str)
        .is_some_and(|t| bool::from(t.as_bytes().ct_eq(cert.x5t_s256.as_bytes())))
    {
        return true;
    }
    let Some(spki) = cert.spki_der.as_deref() else {
        return false;
    };
    // The public key of the x5c certificate (base64, not base64url: RFC 7517 §4.7).
    let x5c_spki = jwk
        .get("x5c")
        .and_then(Value::as_array)
        .and_then(|chain| chain.first())
        .and_then(Value::as_str)
        .filter(|b64| b64.len() <= MAX_PROXY_CERT_BYTES && b64.is_ascii())
        .and_then(|b64| {
            // As PEM (RFC 7468: lines of 64 characters) for the one PEM/DER decoder.
            let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
            for line in b64.as_bytes().chunks(64) {
                pem.push_str(core::str::from_utf8(line).ok()?);
                pem.push('\n');
            }
            pem.push_str("-----END CERTIFICATE-----\n");
            ClientCertificate::from_pem(&pem, false).ok()?.spki_der
        });
    if x5c_spki.as_deref() == Some(spki) {
        return true;
    }
    ec_point(jwk).is_some_and(|point| cert.ec_p256_point.as_deref() == Some(point.as_slice()))
}

/// The uncompressed SEC1 point `04 || x || y` of an EC P-256 JWK.
fn ec_point(jwk: &Value) -> Option<Vec<u8>> {
    if jwk.get("kty").and_then(Value::as_str) != Some("EC")
        || jwk.get("crv").and_then(Value::as_str) != Some("P-256")
    {
        return None;
    }
    let x = base64url::decode(jwk.get("x")?.as_str()?).ok()?;
    let y = base64url::decode(jwk.get("y")?.as_str()?).ok()?;
    if x.len() != 32 || y.len() != 32 {
        return None;
    }
    let mut point = vec![0x04];
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    Some(point)
}
