//! The authorization, PAR and metadata endpoints against their specifications: client
//! assertions at PAR (RFC 9126 §2), `POST /authorize` (OIDC Core §3.1.2.1), the
//! `WWW-Authenticate` challenge of every `401 invalid_client` (RFC 9110 §15.5.2,
//! RFC 6749 §5.2) and the request-object metadata (OIDC Discovery §3, OIDC Core §6.2).

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use common::*;
use edge_oauth::jwk::EcPrivateJwk;
use edge_oauth::jws;
use edge_oauth_worker::http::HttpResponse;
use serde_json::{Value, json};

const POST_SECRET: &str = "post-secret-abcdefghijklmnopqrstuvwxyz01234";
/// A `private_key_jwt` client of the authorization code flow (the vectors' client key).
const PKJ: &str = "pkj-web";
const PAR_URL: &str = "https://auth.example.com/oauth/par";
const TOKEN_URL: &str = "https://auth.example.com/oauth/token";

fn harness() -> Harness {
    let v = vectors();
    let (clock, store) = Harness::clock_and_store();
    put(
        &store,
        "client:spa",
        &client(
            "spa",
            "spa",
            "none",
            &["authorization_code", "refresh_token"],
            None,
            &[SPA_CB],
        ),
    );
    put(
        &store,
        "client:m2m",
        &client(
            "m2m",
            "m2m",
            "client_secret_basic",
            &["client_credentials"],
            Some(M2M_SECRET),
            &[],
        ),
    );
    put(
        &store,
        "client:web-post",
        &client(
            "web-post",
            "regular_web",
            "client_secret_post",
            &["authorization_code", "refresh_token", "client_credentials"],
            Some(POST_SECRET),
            &[WEB_CB],
        ),
    );
    let mut pkj = client(
        PKJ,
        "regular_web",
        "private_key_jwt",
        &["authorization_code", "client_credentials"],
        None,
        &[WEB_CB],
    );
    pkj["jwks"] = json!({"keys": [
        v["client_assertions"]["client_assertions"]["verifier_policy"]["registered_public_jwk"]
    ]});
    put(&store, &format!("client:{PKJ}"), &pkj);
    put(
        &store,
        &format!("api:{API}"),
        &json!({"identifier": API, "scopes": ["read:items"], "token_lifetime": 3600, "allow_offline_access": true}),
    );
    for id in ["m2m", "web-post", PKJ] {
        put(
            &store,
            &format!("grant:{id}:{API}"),
            &json!({"client_id": id, "audience": API, "scopes": ["read:items"]}),
        );
    }
    put_alice(&store);
    let platform = edge_oauth_worker::platform::NativePlatform::new(clock.clone());
    Harness::new(config(&v, None), store, platform, clock)
}

/// An ES256 client assertion of [`PKJ`] with the given `aud`, signed with the vectors' key.
fn assertion(aud: &Value, jti: &str) -> String {
    let v = vectors();
    let mut jwk = v["client_assertions"]["client_assertions"]["signing_private_jwk"].clone();
    if let Some(o) = jwk.as_object_mut() {
        o.retain(|k, _| ["kty", "crv", "x", "y", "d"].contains(&k.as_str()));
    }
    let key = EcPrivateJwk::parse(&jwk.to_string()).unwrap();
    let claims = json!({
        "iss": PKJ, "sub": PKJ, "aud": aud, "jti": jti, "iat": NOW, "exp": NOW + 60,
    });
    jws::sign_es256(
        r#"{"alg":"ES256","kid":"client-key-1"}"#,
        claims.to_string().as_bytes(),
        key.signing_key(),
    )
    .unwrap()
}

fn assertion_params(assertion: &str) -> String {
    format!(
        "client_assertion_type={}&client_assertion={assertion}",
        enc("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
    )
}

fn web_authorization_request() -> String {
    format!(
        "response_type=code&redirect_uri={}&scope=openid&state=s1",
        enc(WEB_CB)
    )
}

fn status_error(resp: &HttpResponse) -> (u16, String) {
    (resp.status, error_of(resp))
}

// ----------------------------------------------- client assertions at PAR

#[test]
fn rfc9126_2_par_accepts_an_assertion_whose_aud_is_the_par_endpoint() {
    let h = harness();
    let par = |aud: Value, jti: &str| {
        h.post(
            "/oauth/par",
            &format!(
                "{}&{}",
                web_authorization_request(),
                assertion_params(&assertion(&aud, jti))
            ),
            &[],
        )
    };
    // RFC 9126 §2: the issuer, the token endpoint or the PAR endpoint.
    for (aud, jti) in [
        (json!(PAR_URL), "par-1"),
        (json!(ISSUER), "par-2"),
        (json!(TOKEN_URL), "par-3"),
    ] {
        let resp = par(aud.clone(), jti);
        assert_eq!(resp.status, 201, "{aud}: {:?}", resp.json_body());
        assert!(json_str(&resp, "request_uri").starts_with("urn:ietf:params:oauth:request_uri:"));
    }
    // Still a single string: an array, even of the PAR endpoint alone, is refused.
    let resp = par(json!([PAR_URL]), "par-4");
    assert_eq!(status_error(&resp), (401, "invalid_client".to_owned()));
    assert_eq!(resp.header("cache-control"), Some("no-store"));
    // Another URL of the server is not an audience.
    let resp = par(json!(format!("{ISSUER}oauth/revoke")), "par-5");
    assert_eq!(status_error(&resp), (401, "invalid_client".to_owned()));
}

#[test]
fn rfc7523_3_the_par_endpoint_is_no_audience_at_the_token_or_revocation_endpoint() {
    let h = harness();
    let token = h.post(
        "/oauth/token",
        &format!(
            "grant_type=client_credentials&audience={}&{}",
            enc(API),
            assertion_params(&assertion(&json!(PAR_URL), "tok-1"))
        ),
        &[],
    );
    assert_eq!(status_error(&token), (401, "invalid_client".to_owned()));
    assert!(json_str(&token, "error_description").contains("aud"));
    let revoke = h.post(
        "/oauth/revoke",
        &format!(
            "token=abc&{}",
            assertion_params(&assertion(&json!(PAR_URL), "rev-1"))
        ),
        &[],
    );
    assert_eq!(status_error(&revoke), (401, "invalid_client".to_owned()));
    // The issuer still works there.
    let token = h.post(
        "/oauth/token",
        &format!(
            "grant_type=client_credentials&audience={}&{}",
            enc(API),
            assertion_params(&assertion(&json!(ISSUER), "tok-2"))
        ),
        &[],
    );
    assert_eq!(token.status, 200, "{:?}", token.json_body());
}
