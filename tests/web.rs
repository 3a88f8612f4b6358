//! Browser tests of every JS export, run in headless Chromium by
//! `wasm-pack test --headless --chrome`. Values come from RFC 7636 Appendix B,
//! RFC 7638 §3.1 and RFC 9449 §4.2 / §6.1 (see `../shared/vectors/vectors.json`).
#![cfg(all(target_arch = "wasm32", feature = "wasm"))]

use edge_oauth::wasm::{
    DpopKey, authorization_code_grant_body, calculate_code_challenge, calculate_jwk_thumbprint,
    client_credentials_grant_body, generate_code_verifier, generate_pkce, parse_token_response_js,
    refresh_token_grant_body,
};
use js_sys::{JSON, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn obj(json: &str) -> JsValue {
    JSON::parse(json).expect("test JSON")
}

fn prop(v: &JsValue, key: &str) -> JsValue {
    Reflect::get(v, &JsValue::from_str(key)).expect("property")
}

fn code_of(err: JsValue) -> String {
    assert!(
        err.is_instance_of::<js_sys::Error>(),
        "not an Error: {err:?}"
    );
    prop(&err, "code").as_string().expect("code is a string")
}

fn b64url_decode(s: &str) -> Vec<u8> {
    edge_oauth::base64url::decode(s).expect("base64url")
}

const RFC9449_JWK: &str = r#"{"kty":"EC","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA","crv":"P-256"}"#;
const RFC7638_RSA: &str = r#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#;
const DPOP_KEY_1: &str = r#"{"kty":"EC","crv":"P-256","x":"XcWe07sHAnFNOpsotxeg3Vlm5-eHyQr_wes4t1HK-_U","y":"3Gv8zr_Q8IeEyw7OFr9bfQjCSvONJgzmyJlbvFZO80k","d":"ecphCvUxFH0Ay874QennDfSNd357LCA9QVdDenqL9vM"}"#;

#[wasm_bindgen_test]
fn generate_code_verifier_is_43_unreserved_chars_and_fresh() {
    let a = generate_code_verifier().expect("verifier");
    let b = generate_code_verifier().expect("verifier");
    assert_eq!(a.len(), 43);
    assert!(
        a.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-._~".contains(&c))
    );
    assert_ne!(a, b);
    assert_eq!(b64url_decode(&a).len(), 32);
}

#[wasm_bindgen_test]
fn rfc7636_appendix_b_challenge() {
    let challenge = calculate_code_challenge(&"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into())
        .expect("challenge");
    assert_eq!(challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

#[wasm_bindgen_test]
fn rfc7636_4_1_short_verifier_is_rejected_with_code() {
    let err = calculate_code_challenge(&"a".repeat(42).into()).unwrap_err();
    assert_eq!(code_of(err), "PKCE_VERIFIER_INVALID");
}

#[wasm_bindgen_test]
fn generate_pkce_returns_a_matching_pair() {
    let pkce: JsValue = generate_pkce().expect("pkce").into();
    let verifier = prop(&pkce, "codeVerifier").as_string().expect("verifier");
    let challenge = prop(&pkce, "codeChallenge").as_string().expect("challenge");
    assert_eq!(
        prop(&pkce, "codeChallengeMethod").as_string().as_deref(),
        Some("S256")
    );
    assert_eq!(
        calculate_code_challenge(&verifier.into()).expect("challenge"),
        challenge
    );
}

#[wasm_bindgen_test]
fn rfc9449_example_jkt_from_object_and_string() {
    let expected = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
    let from_obj = calculate_jwk_thumbprint(obj(RFC9449_JWK).unchecked_ref()).expect("jkt");
    let from_str =
        calculate_jwk_thumbprint(JsValue::from_str(RFC9449_JWK).unchecked_ref()).expect("jkt");
    assert_eq!(from_obj, expected);
    assert_eq!(from_str, expected);
}

#[wasm_bindgen_test]
fn rfc7638_3_1_rsa_thumbprint() {
    let jkt = calculate_jwk_thumbprint(obj(RFC7638_RSA).unchecked_ref()).expect("jkt");
    assert_eq!(jkt, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

#[wasm_bindgen_test]
fn thumbprint_of_a_non_object_is_argument_invalid() {
    let err = calculate_jwk_thumbprint(JsValue::from_f64(1.0).unchecked_ref()).unwrap_err();
    assert_eq!(code_of(err), "ARGUMENT_INVALID");
}

#[wasm_bindgen_test]
fn dpop_key_from_jwk_round_trips_and_has_the_vector_thumbprint() {
    let key = DpopKey::from_jwk(obj(DPOP_KEY_1).unchecked_ref()).expect("key");
    assert_eq!(
        key.thumbprint(),
        "VIqXp_dbQ5G9BGpq6Gi9cYH2ZiAmVtMTo-MUc4zEGGo"
    );
    let public: JsValue = key.public_jwk().expect("public").into();
    assert_eq!(prop(&public, "kty").as_string().as_deref(), Some("EC"));
    assert_eq!(prop(&public, "crv").as_string().as_deref(), Some("P-256"));
    assert!(
        prop(&public, "d").is_undefined(),
        "public JWK must not carry d"
    );
    let private: JsValue = key.to_jwk().expect("private").into();
    assert_eq!(
        prop(&private, "d").as_string().as_deref(),
        Some("ecphCvUxFH0Ay874QennDfSNd357LCA9QVdDenqL9vM")
    );
    let again = DpopKey::from_jwk(private.unchecked_ref()).expect("re-import");
    assert_eq!(again.thumbprint(), key.thumbprint());
}

#[wasm_bindgen_test]
fn dpop_key_from_public_jwk_is_rejected() {
    let err = DpopKey::from_jwk(obj(RFC9449_JWK).unchecked_ref())
        .err()
        .expect("must fail");
    assert_eq!(code_of(err), "JWK_INVALID");
}

#[wasm_bindgen_test]
fn dpop_proof_verifies_with_the_core_verifier() {
    let key = DpopKey::generate().expect("key");
    let options = obj(
        r#"{"htm":"GET","htu":"https://api.example.com/items?x=1#f","accessToken":"tok","nonce":"n-1","iat":1700000000,"jti":"jti-123456789"}"#,
    );
    let proof = key
        .create_proof_sync(options.unchecked_ref())
        .expect("proof");
    let policy = edge_oauth::dpop::VerifyPolicy {
        nonce: Some("n-1"),
        access_token: Some("tok"),
        ..edge_oauth::dpop::VerifyPolicy::new("GET", "https://api.example.com/items", 1_700_000_000)
    };
    let verified = edge_oauth::dpop::verify_proof(&proof, &policy).expect("valid proof");
    assert_eq!(verified.jkt, key.thumbprint());
    assert_eq!(verified.jti, "jti-123456789");
    assert_eq!(verified.iat, 1_700_000_000);
}

#[wasm_bindgen_test]
fn dpop_proof_defaults_iat_to_now_and_jti_to_random() {
    let key = DpopKey::generate().expect("key");
    let options = obj(r#"{"htm":"POST","htu":"https://auth.example.com/oauth/token"}"#);
    let a = key
        .create_proof_sync(options.unchecked_ref())
        .expect("proof");
    let b = key
        .create_proof_sync(options.unchecked_ref())
        .expect("proof");
    let now = (js_sys::Date::now() / 1000.0) as i64;
    let policy =
        edge_oauth::dpop::VerifyPolicy::new("POST", "https://auth.example.com/oauth/token", now);
    let va = edge_oauth::dpop::verify_proof(&a, &policy).expect("valid");
    let vb = edge_oauth::dpop::verify_proof(&b, &policy).expect("valid");
    assert!((va.iat - now).abs() <= 2);
    assert_ne!(va.jti, vb.jti);
    assert!(b64url_decode(&va.jti).len() >= 16);
}

#[wasm_bindgen_test]
fn dpop_proof_options_are_type_checked() {
    let key = DpopKey::generate().expect("key");
    let bad = obj(r#"{"htm":"POST","htu":42}"#);
    assert_eq!(
        code_of(key.create_proof_sync(bad.unchecked_ref()).unwrap_err()),
        "ARGUMENT_INVALID"
    );
    let bad_iat = obj(r#"{"htm":"POST","htu":"https://a.example/t","iat":1.5}"#);
    assert_eq!(
        code_of(key.create_proof_sync(bad_iat.unchecked_ref()).unwrap_err()),
        "ARGUMENT_INVALID"
    );
    let relative = obj(r#"{"htm":"POST","htu":"/oauth/token"}"#);
    assert_eq!(
        code_of(key.create_proof_sync(relative.unchecked_ref()).unwrap_err()),
        "URL_INVALID"
    );
}

fn form(body: &str) -> Vec<(String, String)> {
    edge_oauth::token::request::FormParams::parse(body.as_bytes())
        .expect("form")
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[wasm_bindgen_test]
fn authorization_code_grant_body_has_every_field() {
    let options = obj(
        r#"{"code":"SplxlOBeZQQYbYS6WxSbIA","redirectUri":"https://client.example.com/cb","codeVerifier":"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk","clientId":"s6BhdRkqt3"}"#,
    );
    let body = authorization_code_grant_body(options.unchecked_ref()).expect("body");
    let fields = form(&body);
    assert_eq!(
        fields[0],
        ("grant_type".into(), "authorization_code".into())
    );
    assert!(fields.contains(&(
        "redirect_uri".into(),
        "https://client.example.com/cb".into()
    )));
    assert!(fields.contains(&("client_id".into(), "s6BhdRkqt3".into())));
    assert!(fields.contains(&(
        "code_verifier".into(),
        "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into()
    )));
}

#[wasm_bindgen_test]
fn authorization_code_grant_body_rejects_a_bad_verifier() {
    let options =
        obj(r#"{"code":"c","redirectUri":"https://c.example/cb","codeVerifier":"short"}"#);
    let err = authorization_code_grant_body(options.unchecked_ref()).unwrap_err();
    assert_eq!(code_of(err), "PKCE_VERIFIER_INVALID");
}

#[wasm_bindgen_test]
fn refresh_and_client_credentials_bodies() {
    let body = refresh_token_grant_body(
        obj(r#"{"refreshToken":"tGzv3JOkF0XG5Qx2TlKWIA","scope":"read write"}"#).unchecked_ref(),
    )
    .expect("body");
    let fields = form(&body);
    assert_eq!(fields[0], ("grant_type".into(), "refresh_token".into()));
    assert!(fields.contains(&("scope".into(), "read write".into())));

    let body = client_credentials_grant_body(
        obj(r#"{"audience":"https://api.example.com","organization":"org_1"}"#).unchecked_ref(),
    )
    .expect("body");
    let fields = form(&body);
    assert_eq!(
        fields[0],
        ("grant_type".into(), "client_credentials".into())
    );
    assert!(fields.contains(&("audience".into(), "https://api.example.com".into())));
    assert!(fields.contains(&("organization".into(), "org_1".into())));

    let err = refresh_token_grant_body(obj("{}").unchecked_ref()).unwrap_err();
    assert_eq!(code_of(err), "ARGUMENT_INVALID");
}

#[wasm_bindgen_test]
fn parse_token_response_success() {
    let body = r#"{"access_token":"Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU","token_type":"dpop","expires_in":2677,"refresh_token":"Q..Zkm29lexi8VnWg2zPW1x-tgGad0Ibc3s3EwM_Ni4-g","scope":"openid"}"#;
    let set: JsValue = parse_token_response_js(&200.into(), &body.into(), None)
        .expect("ok")
        .into();
    assert_eq!(prop(&set, "tokenType").as_string().as_deref(), Some("DPoP"));
    assert_eq!(prop(&set, "expiresIn").as_f64(), Some(2677.0));
    let now = js_sys::Date::now() / 1000.0;
    let expires_at = prop(&set, "expiresAt").as_f64().expect("expiresAt");
    assert!((expires_at - (now + 2677.0)).abs() <= 2.0);
    assert_eq!(
        prop(&set, "refreshToken").as_string().as_deref(),
        Some("Q..Zkm29lexi8VnWg2zPW1x-tgGad0Ibc3s3EwM_Ni4-g")
    );
    assert!(prop(&set, "idToken").is_undefined());
}

#[wasm_bindgen_test]
fn parse_token_response_oauth_error_carries_the_wire_fields() {
    let headers = web_sys_free_headers();
    let err = parse_token_response_js(
        &400.into(),
        &r#"{"error":"use_dpop_nonce","error_description":"Authorization server requires nonce in DPoP proof"}"#.into(),
        Some(headers.unchecked_into()),
    )
    .err()
    .expect("must fail");
    assert_eq!(
        prop(&err, "code").as_string().as_deref(),
        Some("OAUTH_ERROR")
    );
    assert_eq!(
        prop(&err, "error").as_string().as_deref(),
        Some("use_dpop_nonce")
    );
    assert_eq!(prop(&err, "status").as_f64(), Some(400.0));
    assert_eq!(
        prop(&err, "dpopNonce").as_string().as_deref(),
        Some("eyJ7S_zG.eyJH0-Z.HX4w-7v")
    );
    assert!(
        prop(&err, "errorDescription")
            .as_string()
            .is_some_and(|d| d.contains("nonce"))
    );
}

/// A real `Headers` instance, built through JS so the test needs no web-sys.
fn web_sys_free_headers() -> JsValue {
    let ctor = Reflect::get(&js_sys::global(), &JsValue::from_str("Headers")).expect("Headers");
    let ctor: js_sys::Function = ctor.unchecked_into();
    let init = Object::new();
    Reflect::set(
        &init,
        &"DPoP-Nonce".into(),
        &"eyJ7S_zG.eyJH0-Z.HX4w-7v".into(),
    )
    .expect("set");
    Reflect::construct(&ctor, &js_sys::Array::of1(&init)).expect("new Headers")
}

#[wasm_bindgen_test]
fn parse_token_response_rejects_missing_token_type() {
    let err = parse_token_response_js(&200.into(), &r#"{"access_token":"x"}"#.into(), None)
        .err()
        .expect("must fail");
    assert_eq!(code_of(err), "TOKEN_RESPONSE_INVALID");
    let err = parse_token_response_js(&200.into(), &"not json".into(), None)
        .err()
        .expect("must fail");
    assert_eq!(code_of(err), "TOKEN_RESPONSE_NOT_JSON");
}

// ----- the WebCrypto backend and IndexedDB persistence (issue 4) -----------------------

use edge_oauth::wasm::TokenClient;
use js_sys::Promise;
use wasm_bindgen::convert::TryFromJsValue;
use wasm_bindgen_futures::JsFuture;

async fn settle(promise: impl Into<JsValue>) -> Result<JsValue, JsValue> {
    JsFuture::from(promise.into().unchecked_into::<Promise>()).await
}

async fn webcrypto_key() -> DpopKey {
    let v = settle(DpopKey::generate_non_extractable())
        .await
        .expect("generateNonExtractable");
    DpopKey::try_from_js_value(v).expect("a DpopKey")
}

fn subtle() -> JsValue {
    prop(&prop(&js_sys::global(), "crypto"), "subtle")
}

/// Verifies a proof with the core's RFC 9449 §4.3 verifier.
fn verify(
    proof: &str,
    htm: &str,
    htu: &str,
    token: Option<&str>,
) -> edge_oauth::dpop::VerifiedProof {
    let now = (js_sys::Date::now() / 1000.0) as i64;
    let policy = edge_oauth::dpop::VerifyPolicy {
        access_token: token,
        ..edge_oauth::dpop::VerifyPolicy::new(htm, htu, now)
    };
    edge_oauth::dpop::verify_proof(proof, &policy).expect("the core verifier accepts the proof")
}

#[wasm_bindgen_test]
async fn webcrypto_key_is_non_extractable_and_its_proofs_verify() {
    let key = webcrypto_key().await;
    assert_eq!(
        JsValue::from(key.backend()).as_string().as_deref(),
        Some("webcrypto")
    );
    let pair: JsValue = key.key_pair().expect("a CryptoKeyPair").into();
    let private_key = prop(&pair, "privateKey");
    assert_eq!(prop(&private_key, "extractable").as_bool(), Some(false));
    assert_eq!(
        prop(&private_key, "type").as_string().as_deref(),
        Some("private")
    );

    // WebCrypto itself refuses to export the private key.
    let export: js_sys::Function = prop(&subtle(), "exportKey").unchecked_into();
    let attempt = export
        .call2(&subtle(), &"jwk".into(), &private_key)
        .expect("exportKey returns a promise");
    assert!(
        settle(attempt).await.is_err(),
        "exportKey of the private key must fail"
    );

    // Its public half is the key's publicJwk, and its thumbprint the key's.
    let public: JsValue = key.public_jwk().expect("public").into();
    assert!(prop(&public, "d").is_undefined());
    assert_eq!(
        calculate_jwk_thumbprint(public.unchecked_ref()).expect("thumbprint"),
        key.thumbprint()
    );

    let options =
        obj(r#"{"htm":"GET","htu":"https://api.example.com/items?x=1","accessToken":"tok"}"#);
    let proof = settle(key.create_proof(options.unchecked_ref()))
        .await
        .expect("proof")
        .as_string()
        .expect("a string");
    let verified = verify(&proof, "GET", "https://api.example.com/items", Some("tok"));
    assert_eq!(verified.jkt, key.thumbprint());

    // Synchronous signing and export are p256-only.
    let sync = key.create_proof_sync(options.unchecked_ref()).unwrap_err();
    assert_eq!(code_of(sync), "KEY_BACKEND_UNSUPPORTED");
    assert_eq!(
        code_of(key.to_jwk().err().expect("fails")),
        "KEY_BACKEND_UNSUPPORTED"
    );
    let bad = obj(r#"{"htm":"GET","htu":"/relative"}"#);
    let err = settle(key.create_proof(bad.unchecked_ref()))
        .await
        .unwrap_err();
    assert_eq!(code_of(err), "URL_INVALID");
}

#[wasm_bindgen_test]
async fn p256_create_proof_is_a_promise_too() {
    let key = DpopKey::from_jwk(obj(DPOP_KEY_1).unchecked_ref()).expect("key");
    assert_eq!(
        JsValue::from(key.backend()).as_string().as_deref(),
        Some("p256")
    );
    assert!(key.key_pair().is_none());
    let options =
        obj(r#"{"htm":"POST","htu":"https://as.example/token","iat":1700000000,"jti":"j-1"}"#);
    let promised = settle(key.create_proof(options.unchecked_ref()))
        .await
        .expect("proof")
        .as_string()
        .expect("string");
    // RFC 6979: the same input gives the same signature, so both forms agree exactly.
    assert_eq!(
        promised,
        key.create_proof_sync(options.unchecked_ref())
            .expect("sync")
    );
}

#[wasm_bindgen_test]
async fn indexeddb_persist_and_load_round_trip_keeps_a_working_non_extractable_key() {
    let name = format!("web-test-{}", js_sys::Math::random());
    let key = webcrypto_key().await;
    settle(key.persist(name.clone().into()))
        .await
        .expect("persist");

    let loaded = settle(DpopKey::load(name.clone().into()))
        .await
        .expect("load");
    let loaded = DpopKey::try_from_js_value(loaded).expect("a DpopKey");
    assert_eq!(loaded.thumbprint(), key.thumbprint());
    assert_eq!(
        JsValue::from(loaded.backend()).as_string().as_deref(),
        Some("webcrypto")
    );
    let pair: JsValue = loaded.key_pair().expect("pair").into();
    assert_eq!(
        prop(&prop(&pair, "privateKey"), "extractable").as_bool(),
        Some(false)
    );

    let options = obj(r#"{"htm":"POST","htu":"https://as.example/oauth/token"}"#);
    let proof = settle(loaded.create_proof(options.unchecked_ref()))
        .await
        .expect("proof")
        .as_string()
        .expect("string");
    assert_eq!(
        verify(&proof, "POST", "https://as.example/oauth/token", None).jkt,
        key.thumbprint()
    );

    settle(DpopKey::remove(name.clone().into()))
        .await
        .expect("remove");
    let gone = settle(DpopKey::load(name.into()))
        .await
        .expect("load after remove");
    assert!(gone.is_undefined());
    let missing = settle(DpopKey::load("never-stored".into()))
        .await
        .expect("load");
    assert!(missing.is_undefined());
}

#[wasm_bindgen_test]
async fn persist_refuses_p256_keys_and_empty_names() {
    let p256 = DpopKey::generate().expect("key");
    let err = settle(p256.persist("x".into())).await.unwrap_err();
    assert_eq!(code_of(err), "KEY_BACKEND_UNSUPPORTED");
    let key = webcrypto_key().await;
    let err = settle(key.persist(String::new().into())).await.unwrap_err();
    assert_eq!(code_of(err), "ARGUMENT_INVALID");
}

#[wasm_bindgen_test]
fn token_client_checks_its_options_and_derives_the_revocation_endpoint() {
    let key = DpopKey::generate().expect("key");
    let options =
        obj(r#"{"tokenEndpoint":"https://auth.example.com/oauth/token","clientId":"spa"}"#);
    set_prop(&options, "dpopKey", &JsValue::from(key));
    let client = TokenClient::new(options.unchecked_ref()).expect("client");
    assert_eq!(
        client.revocation_endpoint(),
        "https://auth.example.com/oauth/revoke"
    );
    let bad = obj(r#"{"tokenEndpoint":"/oauth/token","clientId":"spa"}"#);
    assert_eq!(
        code_of(TokenClient::new(bad.unchecked_ref()).err().expect("fails")),
        "URL_INVALID"
    );
}

fn set_prop(target: &JsValue, key: &str, value: &JsValue) {
    Reflect::set(target, &JsValue::from_str(key), value).expect("set");
}
