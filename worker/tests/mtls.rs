//! RFC 8705: mutual-TLS client authentication and certificate-bound access tokens,
//! natively. The CA, the CA-issued client certificate and the self-signed certificate
//! are generated per run with the `openssl` command-line tool.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use base64ct::{Base64, Encoding};
use common::*;
use edge_oauth::base64url;
use edge_oauth_worker::http::{CfSource, HttpRequest, HttpResponse};
use edge_oauth_worker::mtls::{CfTlsClientAuth, ClientCertificate};
use edge_oauth_worker::platform::NativePlatform;
use serde_json::{Value, json};
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::rc::Rc;
use std::sync::OnceLock;

const PROXY_SECRET: &str = "proxy-secret-abcdefghijklmnopqrstuvwxyz0123";
const SUBJECT_DN: &str = "CN=client.example.com,O=Example Corp";

/// The generated certificates (PEM) and the DER SHA-256 (hex) of each.
struct Certs {
    client: String,
    self_signed: String,
    other_self_signed: String,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command-line tool generates the test certificates");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn certs() -> &'static Certs {
    static CERTS: OnceLock<Certs> = OnceLock::new();
    CERTS.get_or_init(|| {
        let dir: PathBuf =
            std::env::temp_dir().join(format!("edge-oauth-mtls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ];
        let mut ca = vec!["req", "-x509"];
        ca.extend(ec);
        ca.extend([
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-subj",
            "/CN=Test CA",
            "-days",
            "2",
        ]);
        openssl(&dir, &ca);
        let mut csr = vec!["req"];
        csr.extend(ec);
        csr.extend([
            "-keyout",
            "client.key",
            "-out",
            "client.csr",
            "-subj",
            "/O=Example Corp/CN=client.example.com",
        ]);
        openssl(&dir, &csr);
        std::fs::write(
            dir.join("ext.cnf"),
            "subjectAltName=DNS:client.example.com,URI:spiffe://example.com/client\n",
        )
        .unwrap();
        openssl(
            &dir,
            &[
                "x509",
                "-req",
                "-in",
                "client.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "client.pem",
                "-days",
                "2",
                "-extfile",
                "ext.cnf",
            ],
        );
        for name in ["self", "other"] {
            let mut args = vec!["req", "-x509"];
            args.extend(ec);
            let key = format!("{name}.key");
            let pem = format!("{name}.pem");
            let subj = format!("/CN={name}-signed client");
            args.extend(["-keyout", &key, "-out", &pem, "-subj", &subj, "-days", "2"]);
            openssl(&dir, &args);
        }
        let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
        let certs = Certs {
            client: read("client.pem"),
            self_signed: read("self.pem"),
            other_self_signed: read("other.pem"),
        };
        let _ = std::fs::remove_dir_all(&dir);
        certs
    })
}

/// The DER of a PEM certificate.
fn der(pem: &str) -> Vec<u8> {
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    Base64::decode_vec(&b64).unwrap()
}

fn parsed(pem: &str) -> ClientCertificate {
    ClientCertificate::from_pem(pem, false).unwrap()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The public EC JWK of a certificate's key.
fn ec_jwk(pem: &str) -> Value {
    let point = parsed(pem).ec_p256_point.unwrap();
    json!({"kty": "EC", "crv": "P-256",
        "x": base64url::encode(&point[1..33]), "y": base64url::encode(&point[33..65])})
}

fn mtls_client(id: &str, method: &str, extra: Value) -> Value {
    let mut c = client(id, "m2m", method, &["client_credentials"], None, &[]);
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

fn harness(proxy_secret: Option<&str>) -> Harness {
    let v = vectors();
    let config = config(&v, None)
        .with_mtls_proxy_secret(proxy_secret)
        .unwrap();
    let (clock, store) = Harness::clock_and_store();
    let c = certs();
    put(
        &store,
        &format!("api:{API}"),
        &json!({"identifier": API, "scopes": ["read:items"], "token_lifetime": 3600}),
    );
    let clients = [
        mtls_client(
            "dn",
            "tls_client_auth",
            json!({"tls_client_auth_subject_dn": SUBJECT_DN,
            "tls_client_certificate_bound_access_tokens": true}),
        ),
        mtls_client(
            "san-dns",
            "tls_client_auth",
            json!({"tls_client_auth_san_dns": "CLIENT.example.com"}),
        ),
        mtls_client(
            "san-uri",
            "tls_client_auth",
            json!({"tls_client_auth_san_uri": "spiffe://example.com/client"}),
        ),
        mtls_client(
            "wrong-dn",
            "tls_client_auth",
            json!({"tls_client_auth_subject_dn": "CN=someone else,O=Example Corp"}),
        ),
        mtls_client(
            "ss-x5t",
            "self_signed_tls_client_auth",
            json!({"jwks": {"keys": [{"kty": "EC", "x5t#S256": parsed(&c.self_signed).x5t_s256}]}}),
        ),
        mtls_client(
            "ss-key",
            "self_signed_tls_client_auth",
            json!({"jwks": {"keys": [ec_jwk(&c.self_signed)]}}),
        ),
        mtls_client(
            "ss-x5c",
            "self_signed_tls_client_auth",
            json!({"jwks": {"keys": [{"kty": "EC",
            "x5c": [Base64::encode_string(&der(&c.self_signed))]}]}}),
        ),
    ];
    for record in clients {
        let id = record["client_id"].as_str().unwrap().to_owned();
        put(&store, &format!("client:{id}"), &record);
        put(
            &store,
            &format!("grant:{id}:{API}"),
            &json!({"client_id": id, "audience": API, "scopes": ["read:items"]}),
        );
    }
    // A web app that authenticates with its CA-issued certificate and whose tokens are
    // bound to it, for /userinfo.
    let mut web = client(
        "mtls-web",
        "regular_web",
        "tls_client_auth",
        &["authorization_code"],
        None,
        &[WEB_CB],
    );
    web["tls_client_auth_san_dns"] = json!("client.example.com");
    web["tls_client_certificate_bound_access_tokens"] = json!(true);
    put(&store, "client:mtls-web", &web);
    put_alice(&store);
    Harness::new(config, store, NativePlatform::new(clock.clone()), clock)
}

/// Proxy headers: the URL-encoded PEM, `SUCCESS` when `verified`, and the shared secret.
fn proxy_headers(pem: &str, verified: bool, secret: Option<&str>) -> Vec<(String, String)> {
    let mut h = vec![(
        "client-certificate".to_owned(),
        edge_oauth_worker::params::form_encode(pem),
    )];
    if verified {
        h.push(("client-certificate-ca-verified".into(), "SUCCESS".into()));
    }
    if let Some(s) = secret {
        h.push(("cname-api-key".into(), s.into()));
    }
    h
}

fn cc_request(id: &str, headers: &[(String, String)]) -> HttpRequest {
    let mut req = HttpRequest::new("POST", "/oauth/token")
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_body(format!(
            "grant_type=client_credentials&client_id={id}&audience={}",
            enc(API)
        ));
    for (n, v) in headers {
        req = req.with_header(n, v);
    }
    req
}

fn cf_auth(pem: &str, verified: bool) -> CfTlsClientAuth {
    let cert = parsed(pem);
    CfTlsClientAuth {
        cert_presented: "1".into(),
        cert_verified: if verified {
            "SUCCESS"
        } else {
            "FAILED:self signed certificate"
        }
        .into(),
        cert_subject_dn_rfc2253: cert.subject_dn.unwrap(),
        cert_fingerprint_sha256: hex(&base64url::decode(&cert.x5t_s256).unwrap()),
    }
}

fn status_error(resp: &HttpResponse) -> (u16, String) {
    (resp.status, error_of(resp))
}

#[test]
fn rfc8705_2_1_tls_client_auth_through_the_trusted_proxy() {
    let h = harness(Some(PROXY_SECRET));
    let c = certs();
    let headers = proxy_headers(&c.client, true, Some(PROXY_SECRET));
    for id in ["dn", "san-dns", "san-uri"] {
        let resp = h.send(&cc_request(id, &headers));
        assert_eq!(resp.status, 200, "{id}: {:?}", resp.json_body());
    }
    // The registered name must match.
    assert_eq!(
        status_error(&h.send(&cc_request("wrong-dn", &headers))),
        (401, "invalid_client".into())
    );
    // tls_client_auth needs the proxy's CA verification.
    let unverified = proxy_headers(&c.client, false, Some(PROXY_SECRET));
    assert_eq!(
        status_error(&h.send(&cc_request("dn", &unverified))),
        (401, "invalid_client".into())
    );
    // No certificate at all.
    assert_eq!(
        status_error(&h.send(&cc_request("san-dns", &[]))),
        (401, "invalid_client".into())
    );
}

#[test]
fn rfc8705_proxy_headers_are_ignored_without_the_shared_secret() {
    let c = certs();
    // The secret is not configured: a forged header authenticates no one.
    let h = harness(None);
    for secret in [None, Some(PROXY_SECRET)] {
        let headers = proxy_headers(&c.client, true, secret);
        assert_eq!(
            status_error(&h.send(&cc_request("san-dns", &headers))),
            (401, "invalid_client".into()),
            "{secret:?}"
        );
        let headers = proxy_headers(&c.self_signed, true, secret);
        assert_eq!(
            status_error(&h.send(&cc_request("ss-x5t", &headers))),
            (401, "invalid_client".into())
        );
    }
    // Configured, but the request carries another value, or none.
    let h = harness(Some(PROXY_SECRET));
    for secret in [None, Some("proxy-secret-abcdefghijklmnopqrstuvwxyz0124")] {
        let headers = proxy_headers(&c.client, true, secret);
        assert_eq!(
            status_error(&h.send(&cc_request("san-dns", &headers))),
            (401, "invalid_client".into()),
            "{secret:?}"
        );
    }
}

#[test]
fn rfc8705_2_2_self_signed_tls_client_auth_by_x5t_key_or_x5c() {
    let h = harness(Some(PROXY_SECRET));
    let c = certs();
    // No CA verification is needed for a self-signed certificate.
    let headers = proxy_headers(&c.self_signed, false, Some(PROXY_SECRET));
    for id in ["ss-x5t", "ss-key", "ss-x5c"] {
        let resp = h.send(&cc_request(id, &headers));
        assert_eq!(resp.status, 200, "{id}: {:?}", resp.json_body());
    }
    let other = proxy_headers(&c.other_self_signed, true, Some(PROXY_SECRET));
    for id in ["ss-x5t", "ss-key", "ss-x5c"] {
        assert_eq!(
            status_error(&h.send(&cc_request(id, &other))),
            (401, "invalid_client".into()),
            "{id}"
        );
    }
    // A malformed certificate from the trusted proxy.
    let bad = proxy_headers(
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----",
        true,
        Some(PROXY_SECRET),
    );
    assert_eq!(
        status_error(&h.send(&cc_request("ss-x5t", &bad))),
        (401, "invalid_client".into())
    );
}

#[test]
fn rfc8705_cloudflare_tls_client_auth_is_used_first() {
    // Simulated request.cf.tlsClientAuth (wrangler dev cannot present a client
    // certificate, so this path is tested natively only).
    let h = harness(None);
    let c = certs();
    let mut req = cc_request("dn", &[]);
    req.tls_client_auth = Some(cf_auth(&c.client, true));
    let resp = h.send(&req);
    assert_eq!(resp.status, 200, "{:?}", resp.json_body());
    let x5t = parsed(&c.client).x5t_s256;
    assert_eq!(
        claims(&json_str(&resp, "access_token"))["cnf"]["x5t#S256"],
        x5t
    );
    // Not verified by the zone's CA: tls_client_auth fails, a self-signed match works.
    req.tls_client_auth = Some(cf_auth(&c.client, false));
    assert_eq!(status_error(&h.send(&req)), (401, "invalid_client".into()));
    let mut req = cc_request("ss-x5t", &[]);
    req.tls_client_auth = Some(cf_auth(&c.self_signed, false));
    assert_eq!(h.send(&req).status, 200);
    // cf has no SAN: a SAN registration cannot match from it.
    let mut req = cc_request("san-dns", &[]);
    req.tls_client_auth = Some(cf_auth(&c.client, true));
    assert_eq!(status_error(&h.send(&req)), (401, "invalid_client".into()));
    // Not presented: nothing.
    let mut req = cc_request("dn", &[]);
    req.tls_client_auth = Some(CfTlsClientAuth {
        cert_presented: "0".into(),
        ..cf_auth(&c.client, true)
    });
    assert_eq!(h.send(&req).status, 401);
}

/// A request whose `request.cf.tlsClientAuth` is read through a counting [`CfSource`],
/// as the runtime's requests are (on first use only).
fn lazily(mut req: HttpRequest, auth: CfTlsClientAuth) -> (HttpRequest, Rc<Cell<u32>>) {
    let reads = Rc::new(Cell::new(0));
    let counter = Rc::clone(&reads);
    req.cf_source = Some(CfSource::new(move || {
        counter.set(counter.get() + 1);
        Some(auth.clone())
    }));
    (req, reads)
}

#[test]
fn rfc8705_cloudflare_tls_client_auth_is_read_once_and_only_when_needed() {
    let h = harness(Some(PROXY_SECRET));
    let c = certs();
    // The token endpoint authenticates (and binds) with the certificate: read once.
    let (req, reads) = lazily(cc_request("dn", &[]), cf_auth(&c.client, true));
    let resp = h.send(&req);
    assert_eq!(resp.status, 200, "{:?}", resp.json_body());
    assert_eq!(
        claims(&json_str(&resp, "access_token"))["cnf"]["x5t#S256"],
        parsed(&c.client).x5t_s256
    );
    assert_eq!(reads.get(), 1);
    // A token request that presents nothing through cf fails as before, after one read.
    let (req, reads) = lazily(
        cc_request("dn", &[]),
        CfTlsClientAuth {
            cert_presented: "0".into(),
            ..cf_auth(&c.client, true)
        },
    );
    assert_eq!(status_error(&h.send(&req)), (401, "invalid_client".into()));
    assert_eq!(reads.get(), 1);
    // A client that neither authenticates with a certificate nor has bound tokens: its
    // token request never reads it.
    put(
        &h.app.store,
        "client:plain",
        &client(
            "plain",
            "m2m",
            "client_secret_post",
            &["client_credentials"],
            Some("s3cret"),
            &[],
        ),
    );
    put(
        &h.app.store,
        &format!("grant:plain:{API}"),
        &json!({"client_id": "plain", "audience": API, "scopes": ["read:items"]}),
    );
    let plain = HttpRequest::new("POST", "/oauth/token")
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_body(format!(
            "grant_type=client_credentials&client_id=plain&client_secret=s3cret&audience={}",
            enc(API)
        ));
    let (req, reads) = lazily(plain, cf_auth(&c.client, true));
    let resp = h.send(&req);
    assert_eq!(resp.status, 200, "{:?}", resp.json_body());
    assert!(
        claims(&json_str(&resp, "access_token"))
            .get("cnf")
            .is_none()
    );
    assert_eq!(reads.get(), 0);
    // /userinfo with a token that is not certificate-bound never reads it.
    for token in ["not-a-jwt", "a.b.c"] {
        let (req, reads) = lazily(
            HttpRequest::new("GET", "/userinfo")
                .with_header("authorization", &format!("Bearer {token}")),
            cf_auth(&c.client, true),
        );
        assert_eq!(status_error(&h.send(&req)), (401, "invalid_token".into()));
        assert_eq!(reads.get(), 0);
    }
}

#[test]
fn rfc8705_3_1_bound_tokens_carry_cnf_x5t_s256_only_when_registered() {
    let h = harness(Some(PROXY_SECRET));
    let c = certs();
    let headers = proxy_headers(&c.client, true, Some(PROXY_SECRET));
    let bound = claims(&json_str(
        &h.send(&cc_request("dn", &headers)),
        "access_token",
    ));
    assert_eq!(bound["cnf"]["x5t#S256"], parsed(&c.client).x5t_s256);
    assert_eq!(
        parsed(&c.client).x5t_s256,
        edge_oauth_worker::jwt::sha256_b64(&der(&c.client))
    );
    let unbound = claims(&json_str(
        &h.send(&cc_request("san-dns", &headers)),
        "access_token",
    ));
    assert!(unbound.get("cnf").is_none());
}

#[test]
fn rfc8705_3_userinfo_refuses_a_bound_token_without_the_same_certificate() {
    let h = harness(Some(PROXY_SECRET));
    let c = certs();
    let page = h.send(&HttpRequest::new(
        "GET",
        &format!(
            "/authorize?response_type=code&client_id=mtls-web&redirect_uri={}&scope=openid%20email",
            enc(WEB_CB)
        ),
    ));
    assert_eq!(page.status, 200);
    let login = h.send(&login_request(
        &hidden_tx(&page),
        "alice@example.com",
        PASSWORD,
    ));
    let code = query_param(login.header("location").unwrap(), "code").unwrap();
    let headers = proxy_headers(&c.client, true, Some(PROXY_SECRET));
    let mut req = HttpRequest::new("POST", "/oauth/token")
        .with_header("content-type", "application/x-www-form-urlencoded")
        .with_body(format!(
            "grant_type=authorization_code&client_id=mtls-web&code={code}&redirect_uri={}",
            enc(WEB_CB)
        ));
    for (n, v) in &headers {
        req = req.with_header(n, v);
    }
    let tokens = h.send(&req);
    assert_eq!(tokens.status, 200, "{:?}", tokens.json_body());
    let at = json_str(&tokens, "access_token");
    assert_eq!(claims(&at)["cnf"]["x5t#S256"], parsed(&c.client).x5t_s256);
    let userinfo = |extra: &[(String, String)]| {
        let mut req = HttpRequest::new("GET", "/userinfo")
            .with_header("authorization", &format!("Bearer {at}"));
        for (n, v) in extra {
            req = req.with_header(n, v);
        }
        h.send(&req)
    };
    let ok = userinfo(&headers);
    assert_eq!(ok.status, 200, "{:?}", ok.json_body());
    assert_eq!(ok.json_body()["email"], "alice@example.com");
    for other in [
        Vec::new(),
        proxy_headers(&c.self_signed, true, Some(PROXY_SECRET)),
        proxy_headers(&c.client, true, None),
    ] {
        let resp = userinfo(&other);
        assert_eq!(status_error(&resp), (401, "invalid_token".into()));
        assert!(
            resp.header("www-authenticate")
                .unwrap()
                .contains("invalid_token")
        );
    }
}

#[test]
fn rfc8705_3_a_certificate_bound_client_must_present_a_certificate() {
    let h = harness(Some(PROXY_SECRET));
    let mut web = client(
        "bound-secret",
        "m2m",
        "client_secret_basic",
        &["client_credentials"],
        Some(M2M_SECRET),
        &[],
    );
    web["tls_client_certificate_bound_access_tokens"] = json!(true);
    put(&h.app.store, "client:bound-secret", &web);
    put(
        &h.app.store,
        &format!("grant:bound-secret:{API}"),
        &json!({"client_id": "bound-secret", "audience": API, "scopes": ["read:items"]}),
    );
    let body = format!("grant_type=client_credentials&audience={}", enc(API));
    let auth = basic("bound-secret", M2M_SECRET);
    let resp = h.post("/oauth/token", &body, &[("authorization", &auth)]);
    assert_eq!(status_error(&resp), (400, "invalid_request".into()));
    let headers = proxy_headers(&certs().self_signed, false, Some(PROXY_SECRET));
    let mut with: Vec<(&str, &str)> = headers
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    with.push(("authorization", &auth));
    let resp = h.post("/oauth/token", &body, &with);
    assert_eq!(resp.status, 200);
    assert_eq!(
        claims(&json_str(&resp, "access_token"))["cnf"]["x5t#S256"],
        parsed(&certs().self_signed).x5t_s256
    );
}

#[test]
fn rfc8705_discovery_lists_the_methods_and_bound_tokens() {
    let h = harness(None);
    let m = h
        .send(&HttpRequest::new(
            "GET",
            "/.well-known/openid-configuration",
        ))
        .json_body();
    let methods = m["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap();
    assert!(methods.contains(&json!("tls_client_auth")));
    assert!(methods.contains(&json!("self_signed_tls_client_auth")));
    assert_eq!(m["tls_client_certificate_bound_access_tokens"], true);
}

#[test]
fn rfc8705_proxy_secret_must_be_long() {
    let v = vectors();
    assert!(
        config(&v, None)
            .with_mtls_proxy_secret(Some("short"))
            .is_err()
    );
    assert!(
        config(&v, None)
            .with_mtls_proxy_secret(Some(""))
            .unwrap()
            .mtls_proxy_secret
            .is_none()
    );
}
