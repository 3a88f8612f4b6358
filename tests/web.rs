//! Browser tests of every JS export, run in headless Chromium by
//! `wasm-pack test --headless --chrome`. The exports take the members of the options
//! objects as arguments (`src/js/protocol.js` takes the objects apart; the node:test suite
//! covers the objects). Values come from RFC 7636 Appendix B,
//! RFC 7638 §3.1 and RFC 9449 §4.2 / §6.1 (see `../shared/vectors/vectors.json`).
#![cfg(all(target_arch = "wasm32", feature = "wasm"))]

use edge_oauth::wasm::{
    DpopPublicKey, NonceCache, P256Key, answer, authorization_code_grant_body,
    calculate_code_challenge, calculate_jwk_thumbprint, client_credentials_grant_body,
    finish_proof, form_body, generate_code_verifier, private_jwk_members, refresh_token_grant_body,
    token_response, verify_es256_js,
};
use js_sys::{JSON, Reflect};
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

/// A string result.
fn text(result: Result<JsValue, JsValue>) -> Result<String, JsValue> {
    result.map(|v| v.as_string().expect("a string"))
}

fn b64url_decode(s: &str) -> Vec<u8> {
    edge_oauth::base64url::decode(s).expect("base64url")
}

const RFC9449_JWK: &str = r#"{"kty":"EC","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA","crv":"P-256"}"#;
const RFC7638_RSA: &str = r#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#;
const DPOP_KEY_1: &str = r#"{"kty":"EC","crv":"P-256","x":"XcWe07sHAnFNOpsotxeg3Vlm5-eHyQr_wes4t1HK-_U","y":"3Gv8zr_Q8IeEyw7OFr9bfQjCSvONJgzmyJlbvFZO80k","d":"ecphCvUxFH0Ay874QennDfSNd357LCA9QVdDenqL9vM"}"#;

#[wasm_bindgen_test]
fn generate_code_verifier_is_43_unreserved_chars_and_fresh() {
    let a = generate_code_verifier().as_string().expect("verifier");
    let b = generate_code_verifier().as_string().expect("verifier");
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
    let challenge = text(calculate_code_challenge(
        &"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into(),
    ))
    .expect("challenge");
    assert_eq!(challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
}

#[wasm_bindgen_test]
fn rfc7636_4_1_short_verifier_is_rejected_with_code() {
    let err = calculate_code_challenge(&"a".repeat(42).into()).unwrap_err();
    assert_eq!(code_of(err), "PKCE_VERIFIER_INVALID");
}

/// `generatePkce()` of the JS layer: a fresh verifier and its challenge.
#[wasm_bindgen_test]
fn a_generated_verifier_has_a_valid_challenge() {
    let verifier = generate_code_verifier().as_string().expect("verifier");
    let challenge = text(calculate_code_challenge(&verifier.clone().into())).expect("challenge");
    assert_eq!(challenge.len(), 43);
    assert_ne!(challenge, verifier);
}

/// The thumbprint of a JWK's JSON text.
fn thumbprint(json: &JsValue) -> Result<String, JsValue> {
    calculate_jwk_thumbprint(json).map(|t| t.as_string().expect("a string"))
}

#[wasm_bindgen_test]
fn rfc9449_example_jkt_from_object_and_string() {
    let expected = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
    // An object is stringified by the JS layer, with the browser's JSON.stringify.
    let from_obj =
        thumbprint(&JSON::stringify(&obj(RFC9449_JWK)).expect("JSON").into()).expect("jkt");
    let from_str = thumbprint(&JsValue::from_str(RFC9449_JWK)).expect("jkt");
    assert_eq!(from_obj, expected);
    assert_eq!(from_str, expected);
}

#[wasm_bindgen_test]
fn rfc7638_3_1_rsa_thumbprint() {
    let jkt = thumbprint(&RFC7638_RSA.into()).expect("jkt");
    assert_eq!(jkt, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
}

#[wasm_bindgen_test]
fn thumbprint_of_a_non_string_is_argument_invalid() {
    let err = thumbprint(&JsValue::from_f64(1.0)).unwrap_err();
    assert_eq!(code_of(err), "ARGUMENT_INVALID");
}

/// A p256 key from a private JWK as `src/js/p256.js` makes it: the default module reads
/// the JWK strictly, the p256 module checks `d` against `x` and `y` and keeps the key.
fn p256_from_jwk(json: &str) -> Result<P256Key, JsValue> {
    let members = private_jwk_members(json.to_string())?;
    P256Key::from_members(members.to_vec()).ok_or(JsValue::NULL)
}

/// The public key of a p256 key in the default module, as `src/js/p256.js` holds it.
fn public_of(key: &P256Key) -> DpopPublicKey {
    let xy = key.public_key();
    let json = format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
        edge_oauth::base64url::encode(&xy[..32]),
        edge_oauth::base64url::encode(&xy[32..])
    );
    DpopPublicKey::new(&json.into()).expect("public key")
}

/// A proof of a p256 key (with its public key), as `DpopKey.createProofSync` makes it.
fn p256_proof(
    (key, public): (&P256Key, &DpopPublicKey),
    htm: &str,
    htu: &str,
    iat: Option<f64>,
    jti: Option<&str>,
    nonce: Option<&str>,
    access_token: Option<&str>,
) -> Result<String, JsValue> {
    let text = |v: Option<&str>| v.map_or(JsValue::UNDEFINED, JsValue::from_str);
    let input = public.proof_input(
        &htm.into(),
        &htu.into(),
        &text(nonce),
        &text(access_token),
        &iat.map_or(JsValue::UNDEFINED, JsValue::from_f64),
        &text(jti),
    )?;
    let input = input.as_string().ok_or("the signing input is a string")?;
    let signature = js_sys::Uint8Array::from(key.sign(&input).as_slice());
    let proof = finish_proof(&input.as_str().into(), &signature)?;
    proof
        .as_string()
        .ok_or_else(|| "the proof is a string".into())
}

#[wasm_bindgen_test]
fn dpop_key_from_jwk_round_trips_and_has_the_vector_thumbprint() {
    let key = p256_from_jwk(DPOP_KEY_1).expect("key");
    let public = public_of(&key);
    assert_eq!(
        public.thumbprint().as_string().as_deref(),
        Some("VIqXp_dbQ5G9BGpq6Gi9cYH2ZiAmVtMTo-MUc4zEGGo")
    );
    let jwk = obj(DPOP_KEY_1);
    let public_jwk = obj(&public.jwk_json().as_string().expect("jwkJson"));
    for name in ["kty", "crv", "x", "y"] {
        assert_eq!(
            prop(&public_jwk, name).as_string(),
            prop(&jwk, name).as_string()
        );
    }
    assert!(
        prop(&public_jwk, "d").is_undefined(),
        "public JWK must not carry d"
    );
    let d = key.private_key().to_vec();
    assert_eq!(
        edge_oauth::base64url::encode(&d),
        "ecphCvUxFH0Ay874QennDfSNd357LCA9QVdDenqL9vM"
    );
    let private_json = format!(
        r#"{{"kty":"EC","crv":"P-256","x":"{}","y":"{}","d":"{}"}}"#,
        prop(&public_jwk, "x").as_string().expect("x"),
        prop(&public_jwk, "y").as_string().expect("y"),
        edge_oauth::base64url::encode(&d)
    );
    let again = p256_from_jwk(&private_json).expect("re-import");
    assert_eq!(
        public_of(&again).thumbprint().as_string(),
        public.thumbprint().as_string()
    );
    assert_eq!(again.public_key(), key.public_key());
}

#[wasm_bindgen_test]
fn dpop_key_from_public_jwk_is_rejected() {
    let err = p256_from_jwk(RFC9449_JWK).err().expect("must fail");
    assert_eq!(code_of(err), "JWK_INVALID");
}

#[wasm_bindgen_test]
fn p256_key_from_members_checks_d_against_x_and_y() {
    let members = private_jwk_members(DPOP_KEY_1.to_string())
        .expect("members")
        .to_vec();
    assert_eq!(members.len(), 96);
    assert!(P256Key::from_members(members.clone()).is_some());
    // y changed: no longer d's point (and not on the curve).
    let mut wrong_y = members.clone();
    wrong_y[95] ^= 1;
    assert!(P256Key::from_members(wrong_y).is_none());
    // Another key's point.
    let other = P256Key::generate().public_key();
    let mut other_point = members.clone();
    other_point[32..].copy_from_slice(&other);
    assert!(P256Key::from_members(other_point).is_none());
    // d = 0 and d = n are out of range.
    let n = b64url_decode("_____wAAAAD__________7zm-q2nF56E87nKwvxjJVE");
    for d in [vec![0u8; 32], n] {
        let mut out_of_range = members.clone();
        out_of_range[..32].copy_from_slice(&d);
        assert!(P256Key::from_members(out_of_range).is_none());
    }
    for len in [0, 64, 95, 97] {
        assert!(P256Key::from_members(vec![1; len]).is_none());
    }
}

#[wasm_bindgen_test]
fn p256_verify_takes_the_point_the_message_and_r_s() {
    let key = p256_from_jwk(DPOP_KEY_1).expect("key");
    let point = key.public_key();
    let signature = key.sign("eyJhbGciOiJFUzI1NiJ9.e30");
    assert_eq!(signature.len(), 64);
    assert!(verify_es256_js(
        &point,
        "eyJhbGciOiJFUzI1NiJ9.e30",
        &signature
    ));
    assert!(!verify_es256_js(
        &point,
        "eyJhbGciOiJFUzI1NiJ9.e31",
        &signature
    ));
    let mut flipped = signature.clone();
    flipped[10] ^= 1;
    assert!(!verify_es256_js(
        &point,
        "eyJhbGciOiJFUzI1NiJ9.e30",
        &flipped
    ));
    assert!(!verify_es256_js(
        &point,
        "eyJhbGciOiJFUzI1NiJ9.e30",
        &signature[..63]
    ));
    assert!(!verify_es256_js(
        &point[..63],
        "eyJhbGciOiJFUzI1NiJ9.e30",
        &signature
    ));
    let mut off_curve = point.clone();
    off_curve[63] ^= 1;
    assert!(!verify_es256_js(
        &off_curve,
        "eyJhbGciOiJFUzI1NiJ9.e30",
        &signature
    ));
    assert!(!verify_es256_js(
        &P256Key::generate().public_key(),
        "eyJhbGciOiJFUzI1NiJ9.e30",
        &signature
    ));
}

#[wasm_bindgen_test]
fn dpop_proof_verifies_with_the_core_verifier() {
    let key = P256Key::generate();
    let public = public_of(&key);
    let proof = p256_proof(
        (&key, &public),
        "GET",
        "https://api.example.com/items?x=1#f",
        Some(1_700_000_000.0),
        Some("jti-123456789"),
        Some("n-1"),
        Some("tok"),
    )
    .expect("proof");
    let policy = edge_oauth::dpop::VerifyPolicy {
        nonce: Some("n-1"),
        access_token: Some("tok"),
        ..edge_oauth::dpop::VerifyPolicy::new("GET", "https://api.example.com/items", 1_700_000_000)
    };
    let verified = edge_oauth::dpop::verify_proof(&proof, &policy).expect("valid proof");
    assert_eq!(Some(verified.jkt), public.thumbprint().as_string());
    assert_eq!(verified.jti, "jti-123456789");
    assert_eq!(verified.iat, 1_700_000_000);
}

#[wasm_bindgen_test]
fn dpop_proof_defaults_jti_to_random_and_iat_to_now() {
    let key = P256Key::generate();
    let public = public_of(&key);
    let now = (js_sys::Date::now() / 1000.0).floor() as i64;
    let htu = "https://auth.example.com/oauth/token";
    let a = p256_proof((&key, &public), "POST", htu, None, None, None, None).expect("proof");
    let b = p256_proof((&key, &public), "POST", htu, None, None, None, None).expect("proof");
    let policy =
        edge_oauth::dpop::VerifyPolicy::new("POST", "https://auth.example.com/oauth/token", now);
    let va = edge_oauth::dpop::verify_proof(&a, &policy).expect("valid");
    let vb = edge_oauth::dpop::verify_proof(&b, &policy).expect("valid");
    assert!((va.iat - now).abs() <= 2);
    assert_ne!(va.jti, vb.jti);
    assert!(b64url_decode(&va.jti).len() >= 16);
}

#[wasm_bindgen_test]
fn dpop_proof_arguments_are_checked() {
    // The option types (and a fractional or unsafe `iat`) are checked in src/js/key.js
    // (tests/js/p256.test.mjs); the default module refuses a relative `htu`.
    let key = P256Key::generate();
    let public = public_of(&key);
    assert_eq!(
        code_of(
            p256_proof(
                (&key, &public),
                "POST",
                "/oauth/token",
                Some(0.0),
                None,
                None,
                None
            )
            .unwrap_err()
        ),
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

/// A form body returned as a JS string.
fn body(result: Result<JsValue, JsValue>) -> Result<String, JsValue> {
    result.map(|b| b.as_string().expect("a string"))
}

#[wasm_bindgen_test]
fn authorization_code_grant_body_has_every_field() {
    let body = body(authorization_code_grant_body(
        &"SplxlOBeZQQYbYS6WxSbIA".into(),
        &"https://client.example.com/cb".into(),
        &"dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk".into(),
        &"s6BhdRkqt3".into(),
    ))
    .expect("body");
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
    let err = body(authorization_code_grant_body(
        &"c".into(),
        &"https://c.example/cb".into(),
        &"short".into(),
        &JsValue::UNDEFINED,
    ))
    .unwrap_err();
    assert_eq!(code_of(err), "PKCE_VERIFIER_INVALID");
}

#[wasm_bindgen_test]
fn refresh_and_client_credentials_bodies() {
    let u = JsValue::UNDEFINED;
    let refresh = body(refresh_token_grant_body(
        &"tGzv3JOkF0XG5Qx2TlKWIA".into(),
        &"read write".into(),
        &u,
    ))
    .expect("body");
    let fields = form(&refresh);
    assert_eq!(fields[0], ("grant_type".into(), "refresh_token".into()));
    assert!(fields.contains(&("scope".into(), "read write".into())));

    let credentials = body(client_credentials_grant_body(
        &"https://api.example.com".into(),
        &u,
        &"org_1".into(),
        &u,
        &u,
    ))
    .expect("body");
    let fields = form(&credentials);
    assert_eq!(
        fields[0],
        ("grant_type".into(), "client_credentials".into())
    );
    assert!(fields.contains(&("audience".into(), "https://api.example.com".into())));
    assert!(fields.contains(&("organization".into(), "org_1".into())));

    let err = body(refresh_token_grant_body(&u, &u, &u)).unwrap_err();
    assert_eq!(code_of(err), "ARGUMENT_INVALID");
    let err = body(refresh_token_grant_body(&"rt".into(), &5.into(), &u)).unwrap_err();
    assert_eq!(code_of(err), "ARGUMENT_INVALID");
}

#[wasm_bindgen_test]
fn form_body_is_the_export_of_the_six_bodies() {
    let u = JsValue::UNDEFINED;
    let refresh = body(form_body(1, &"rt-1".into(), &u, &"spa".into(), &u, &u)).expect("body");
    assert_eq!(
        refresh,
        body(refresh_token_grant_body(&"rt-1".into(), &u, &"spa".into())).expect("body")
    );
    let revocation = body(form_body(
        5,
        &"rt-1".into(),
        &"refresh_token".into(),
        &"spa".into(),
        &u,
        &u,
    ))
    .expect("body");
    assert_eq!(
        revocation,
        "token=rt-1&token_type_hint=refresh_token&client_id=spa"
    );
    let err = form_body(0, &"c".into(), &u, &u, &u, &u).unwrap_err();
    assert_eq!(code_of(err), "ARGUMENT_INVALID");
}

#[wasm_bindgen_test]
fn answer_is_the_export_of_the_four_response_checks() {
    let u = JsValue::UNDEFINED;
    let body = r#"{"access_token":"a","token_type":"Bearer"}"#;
    let set = answer(0, &200.into(), &body.into(), &u, false).expect("token set");
    assert_eq!(prop(&set, "accessToken").as_string().as_deref(), Some("a"));
    let err = answer(0, &200.into(), &body.into(), &u, true).unwrap_err();
    assert_eq!(code_of(err), "TOKEN_TYPE_MISMATCH");
    assert!(
        answer(1, &200.into(), &u, &u, false)
            .expect("revoked")
            .is_undefined()
    );
    let err = answer(
        1,
        &400.into(),
        &r#"{"error":"invalid_request"}"#.into(),
        &u,
        false,
    );
    assert_eq!(code_of(err.unwrap_err()), "OAUTH_ERROR");
    let par = r#"{"request_uri":"urn:example:1","expires_in":60}"#;
    let out = answer(2, &201.into(), &par.into(), &u, false).expect("par");
    assert_eq!(
        prop(&out, "requestUri").as_string().as_deref(),
        Some("urn:example:1")
    );
    let err = answer(3, &200.into(), &"{}".into(), &u, false).unwrap_err();
    assert_eq!(code_of(err), "DEVICE_AUTHORIZATION_RESPONSE_INVALID");
}

#[wasm_bindgen_test]
fn parse_token_response_success() {
    let body = r#"{"access_token":"Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU","token_type":"dpop","expires_in":2677,"refresh_token":"Q..Zkm29lexi8VnWg2zPW1x-tgGad0Ibc3s3EwM_Ni4-g","scope":"openid"}"#;
    let set = token_response(&200.into(), &body.into(), &JsValue::NULL, false).expect("ok");
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
    // The JS layer reads the header (from `Headers` or a plain object) and passes it.
    let err = token_response(
        &400.into(),
        &r#"{"error":"use_dpop_nonce","error_description":"Authorization server requires nonce in DPoP proof"}"#.into(),
        &"eyJ7S_zG.eyJH0-Z.HX4w-7v".into(),
        false,
    )
    .expect_err("must fail");
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

#[wasm_bindgen_test]
fn parse_token_response_rejects_missing_token_type() {
    let err = token_response(
        &200.into(),
        &r#"{"access_token":"x"}"#.into(),
        &JsValue::NULL,
        false,
    )
    .expect_err("must fail");
    assert_eq!(code_of(err), "TOKEN_RESPONSE_INVALID");
    let err = token_response(&200.into(), &"not json".into(), &JsValue::NULL, false)
        .expect_err("must fail");
    assert_eq!(code_of(err), "TOKEN_RESPONSE_NOT_JSON");
}

// ----- the sans-IO proof of a WebCrypto key --------------------------------------------

use js_sys::{Function, Promise, Uint8Array};
use wasm_bindgen_futures::JsFuture;

async fn settle(promise: JsValue) -> Result<JsValue, JsValue> {
    JsFuture::from(promise.unchecked_into::<Promise>()).await
}

fn subtle() -> JsValue {
    prop(&prop(&js_sys::global(), "crypto"), "subtle")
}

/// `crypto.subtle[method](...args)`, awaited.
async fn subtle_call(method: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let f: Function = prop(&subtle(), method).unchecked_into();
    let args: js_sys::Array = args.iter().collect();
    settle(f.apply(&subtle(), &args).expect("a promise")).await
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
async fn webcrypto_signs_the_core_signing_input_and_the_proof_verifies() {
    let pair = subtle_call(
        "generateKey",
        &[
            obj(r#"{"name":"ECDSA","namedCurve":"P-256"}"#),
            JsValue::FALSE,
            obj(r#"["sign","verify"]"#),
        ],
    )
    .await
    .expect("generateKey");
    let private_key = prop(&pair, "privateKey");
    assert_eq!(prop(&private_key, "extractable").as_bool(), Some(false));
    let jwk = subtle_call("exportKey", &["jwk".into(), prop(&pair, "publicKey")])
        .await
        .expect("exportKey");
    let json = JSON::stringify(&jwk)
        .expect("json")
        .as_string()
        .expect("string");
    let key = DpopPublicKey::new(&json.into()).expect("public key");
    let jwk_json = key.jwk_json().as_string().expect("jwkJson");
    let canonical = obj(&jwk_json);
    assert!(
        prop(&canonical, "ext").is_undefined(),
        "only crv, kty, x, y"
    );
    assert_eq!(
        thumbprint(&key.jwk_json()).expect("thumbprint"),
        key.thumbprint().as_string().expect("thumbprint")
    );

    let u = JsValue::UNDEFINED;
    let input = text(key.proof_input(
        &"GET".into(),
        &"https://api.example.com/items?x=1".into(),
        &u,
        &"tok".into(),
        &u,
        &u,
    ))
    .expect("signing input");
    let bytes = Uint8Array::from(input.as_bytes());
    let signature = subtle_call(
        "sign",
        &[
            obj(r#"{"name":"ECDSA","hash":"SHA-256"}"#),
            private_key,
            bytes.into(),
        ],
    )
    .await
    .expect("sign");
    let signature = Uint8Array::new(&signature);
    let proof = text(finish_proof(&input.clone().into(), &signature)).expect("proof");
    let verified = verify(&proof, "GET", "https://api.example.com/items", Some("tok"));
    assert_eq!(Some(verified.jkt), key.thumbprint().as_string());

    // Only a raw 64-octet r || s with in-range scalars completes a proof.
    for bad in [vec![0u8; 64], vec![1u8; 70], Vec::new()] {
        let err =
            finish_proof(&input.clone().into(), &Uint8Array::from(bad.as_slice())).unwrap_err();
        assert_eq!(code_of(err), "JWS_SIGNATURE_INVALID");
    }
    let err = key
        .proof_input(&"GET".into(), &"/relative".into(), &u, &u, &u, &u)
        .unwrap_err();
    assert_eq!(code_of(err), "URL_INVALID");
    let err = key
        .proof_input(&"GET".into(), &5.into(), &u, &u, &u, &u)
        .unwrap_err();
    assert_eq!(code_of(err), "ARGUMENT_INVALID");
    let err = DpopPublicKey::new(&r#"{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}"#.into())
        .err()
        .expect("fails");
    assert_eq!(code_of(err), "JWK_INVALID");
}

#[wasm_bindgen_test]
fn nonce_cache_is_per_origin_and_retries_only_with_a_new_nonce() {
    let mut nonces = NonceCache::new();
    let url: JsValue = "https://as.example/oauth/token".into();
    nonces.remember(&url, &"n-1".into());
    nonces.remember(&url, &"bad nonce with spaces".into());
    assert_eq!(
        nonces.get(&"https://AS.example:443/x".into()).as_string(),
        Some("n-1".into())
    );
    assert!(nonces.get(&"https://rs.example/".into()).is_undefined());
    assert_eq!(
        nonces.retry_nonce(&url, &JsValue::UNDEFINED).as_string(),
        Some("n-1".into())
    );
    assert!(nonces.retry_nonce(&url, &"n-1".into()).is_undefined());
}

#[wasm_bindgen_test]
fn proof_input_refuses_an_iat_that_is_no_safe_integer() {
    let key = p256_from_jwk(DPOP_KEY_1).expect("key");
    let public = public_of(&key);
    for iat in [1.5, f64::NAN, f64::INFINITY, 9_007_199_254_740_992.0] {
        let err = public
            .proof_input(
                &"POST".into(),
                &"https://as.example/token".into(),
                &JsValue::UNDEFINED,
                &JsValue::UNDEFINED,
                &iat.into(),
                &JsValue::UNDEFINED,
            )
            .expect_err("iat is refused");
        assert_eq!(code_of(err), "ARGUMENT_INVALID", "iat {iat}");
    }
    let err = public
        .proof_input(
            &"POST".into(),
            &"https://as.example/token".into(),
            &JsValue::UNDEFINED,
            &JsValue::UNDEFINED,
            &"1700000000".into(),
            &JsValue::UNDEFINED,
        )
        .expect_err("a string iat is refused");
    assert_eq!(code_of(err), "ARGUMENT_INVALID");
}

#[wasm_bindgen_test]
fn p256_key_signs_deterministically_rfc6979() {
    let key = p256_from_jwk(DPOP_KEY_1).expect("key");
    let public = public_of(&key);
    let input = public
        .proof_input(
            &"POST".into(),
            &"https://as.example/token".into(),
            &JsValue::UNDEFINED,
            &JsValue::UNDEFINED,
            &1_700_000_000.0.into(),
            &"j-1".into(),
        )
        .expect("input")
        .as_string()
        .expect("the signing input is a string");
    // RFC 6979: the same input gives the same signature.
    assert_eq!(key.sign(&input), key.sign(&input));
}
