//! Browser tests of the redirect-leg exports (RFC 6749 §4.1, RFC 9126, RFC 9207, RFC 8414,
//! OIDC Core §3.1.3.7), run in headless Chromium by `wasm-pack test --headless --chrome`:
//! URLs read back by the browser's `URL`, the JS error members, and ES256 ID tokens
//! verified against a JWKS in the browser's wasm. The exports take the members of the
//! options objects as arguments (`src/js/protocol.js` takes the objects apart; the
//! node:test suite covers the objects).
#![cfg(all(target_arch = "wasm32", feature = "wasm"))]

use edge_oauth::jwk::EcPrivateJwk;
use edge_oauth::wasm::{
    authorization_request, parse_authorization_response_js, parse_server_metadata,
    validate_id_token_claims,
};
use js_sys::{Function, JSON, Reflect};
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

/// `new URL(href)` of the browser.
fn url(href: &str) -> JsValue {
    let ctor: Function = prop(&js_sys::global(), "URL").unchecked_into();
    Reflect::construct(&ctor, &js_sys::Array::of1(&JsValue::from_str(href))).expect("URL")
}

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

#[wasm_bindgen_test]
fn rfc6749_4_1_1_the_url_reads_back_with_url_search_params() {
    let u = JsValue::UNDEFINED;
    let resource = obj(r#"["https://r1.example/","https://r2.example/"]"#);
    let href = authorization_request(
        &"https://as.example/authorize".into(),
        &"spa".into(),
        &"https://app.example/".into(),
        &CHALLENGE.into(),
        &u,
        &"a&b".into(),
        &u,
        &u,
        &u,
        &resource,
        &u,
        &u,
        &u,
        &u,
        &u,
    )
    .expect("url")
    .as_string()
    .expect("a string");
    let params = prop(&url(&href), "searchParams");
    let get = |name: &str| {
        let f: Function = prop(&params, "get").unchecked_into();
        f.call1(&params, &JsValue::from_str(name))
            .expect("get")
            .as_string()
    };
    assert_eq!(get("state").as_deref(), Some("a&b"));
    assert_eq!(get("code_challenge_method").as_deref(), Some("S256"));
    let get_all: Function = prop(&params, "getAll").unchecked_into();
    let resources = get_all
        .call1(&params, &JsValue::from_str("resource"))
        .expect("getAll");
    assert_eq!(js_sys::Array::from(&resources).length(), 2);
}

#[wasm_bindgen_test]
fn rfc9207_2_4_a_url_href_and_the_typed_error_redirect() {
    let check = |href: JsValue| {
        parse_authorization_response_js(
            &href,
            &"s".into(),
            &"https://as.example/".into(),
            &JsValue::TRUE,
            &JsValue::UNDEFINED,
        )
    };
    // The href of a `URL`, as the JS layer passes it.
    let ok = check(prop(
        &url("https://app.example/?code=c1&state=s&iss=https%3A%2F%2Fas.example%2F"),
        "href",
    ))
    .expect("response");
    assert_eq!(prop(&ok, "code").as_string().as_deref(), Some("c1"));

    let missing =
        check(prop(&url("https://app.example/?code=c1&state=s"), "href")).expect_err("an error");
    assert_eq!(code_of(missing), "AUTHORIZATION_RESPONSE_ISS_MISSING");

    let err = check(JsValue::from_str(
        "https://app.example/?error=login_required&error_description=Sign+in&state=s&iss=https%3A%2F%2Fas.example%2F",
    ))
    .expect_err("an error");
    assert_eq!(
        prop(&err, "error").as_string().as_deref(),
        Some("login_required")
    );
    assert_eq!(
        prop(&err, "errorDescription").as_string().as_deref(),
        Some("Sign in")
    );
    assert_eq!(code_of(err), "AUTHORIZATION_ERROR");
}

#[wasm_bindgen_test]
fn rfc6749_3_1_2_a_fragment_response_to_a_redirect_uri_with_a_query() {
    let check = |href: &str, mode: JsValue| {
        parse_authorization_response_js(
            &prop(&url(href), "href"),
            &"s".into(),
            &"https://as.example/".into(),
            &JsValue::TRUE,
            &mode,
        )
    };
    let back = "https://app.example/cb?tenant=a#code=c1&state=s&iss=https%3A%2F%2Fas.example%2F";
    for mode in [JsValue::UNDEFINED, JsValue::NULL, "fragment".into()] {
        let ok = check(back, mode).expect("response");
        assert_eq!(prop(&ok, "code").as_string().as_deref(), Some("c1"));
    }
    let mismatch = check(back, "query".into()).expect_err("an error");
    assert_eq!(code_of(mismatch), "AUTHORIZATION_RESPONSE_MODE_MISMATCH");
    let both = check(
        "https://app.example/cb?code=c0#code=c1&state=s&iss=https%3A%2F%2Fas.example%2F",
        JsValue::UNDEFINED,
    )
    .expect_err("an error");
    assert_eq!(code_of(both), "AUTHORIZATION_RESPONSE_AMBIGUOUS");
    for bad in [JsValue::from_str("form_post"), JsValue::from_f64(1.0)] {
        assert_eq!(
            code_of(check(back, bad).expect_err("an error")),
            "ARGUMENT_INVALID"
        );
    }
}

#[wasm_bindgen_test]
fn rfc8414_3_3_metadata_in_the_browser() {
    let doc = r#"{"issuer":"https://as.example/","token_endpoint":"https://as.example/oauth/token","response_types_supported":["code"]}"#;
    let m = parse_server_metadata(&doc.into(), &"https://as.example/".into()).expect("metadata");
    assert_eq!(
        prop(&m, "tokenEndpoint").as_string().as_deref(),
        Some("https://as.example/oauth/token")
    );
    let err =
        parse_server_metadata(&doc.into(), &"https://as.example".into()).expect_err("an error");
    assert_eq!(code_of(err), "METADATA_ISSUER_MISMATCH");
}

#[wasm_bindgen_test]
fn oidc_core_3_1_3_7_es256_id_token_verified_against_the_jwks() {
    let key = EcPrivateJwk::parse(
        r#"{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","d":"jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI"}"#,
    )
    .expect("key");
    let claims =
        r#"{"iss":"https://as.example/","sub":"u1","aud":"spa","exp":2000,"iat":1000,"nonce":"n"}"#;
    let token = edge_oauth::jws::sign_es256(
        r#"{"alg":"ES256","kid":"k1"}"#,
        claims.as_bytes(),
        key.signing_key(),
    )
    .expect("token");
    let jwks = format!(
        r#"{{"keys":[{{"kid":"k1",{}}}]}}"#,
        key.public()
            .to_json()
            .trim_start_matches('{')
            .trim_end_matches('}')
    );
    let validate = |now: f64| {
        let u = JsValue::UNDEFINED;
        validate_id_token_claims(
            &token.as_str().into(),
            &"https://as.example/".into(),
            &"spa".into(),
            &"n".into(),
            &u,
            &u,
            &u,
            &now.into(),
            &u,
            &u,
            &jwks.as_str().into(),
        )
    };
    let out = validate(1500.0).expect("claims");
    assert_eq!(prop(&out, "sub").as_string().as_deref(), Some("u1"));

    let err = validate(2100.0).expect_err("an error");
    assert_eq!(code_of(err), "ID_TOKEN_EXPIRED");
}
