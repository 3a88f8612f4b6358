//! PKCE (RFC 7636), JWK thumbprint (RFC 7638 / 7518 / 8037), ES256 JWS (RFC 7515 /
//! 7518), RFC 9068 access-token and OIDC hash vectors from
//! `../shared/vectors/vectors.json`.

mod common;

use common::{core_json, s, serde_value, vectors};

use std::collections::BTreeSet;
use std::convert::Infallible;

use edge_oauth::jwk::{self, EcPrivateJwk, EcPublicJwk};
use edge_oauth::jws::{self, Algorithm, SigningInput};
use edge_oauth::pkce::{self, CodeChallenge, CodeChallengeMethod, CodeVerifier};
use edge_oauth::{base64url, dpop};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn octets(v: &Value) -> Vec<u8> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|b| u8::try_from(b.as_u64().unwrap()).unwrap())
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An "RNG" that replays fixed octets (to reproduce RFC 7636 Appendix B).
struct ReplayRng(Vec<u8>);

impl rand_core::TryRng for ReplayRng {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        assert!(dst.len() <= self.0.len(), "replay RNG exhausted");
        let rest = self.0.split_off(dst.len());
        dst.copy_from_slice(&self.0);
        self.0 = rest;
        Ok(())
    }
}

impl rand_core::TryCryptoRng for ReplayRng {}

// ----- PKCE -----------------------------------------------------------------------------

#[test]
fn rfc7636_appendix_b() {
    let v = &vectors()["pkce"]["pkce_rfc7636_appendix_b"];
    let random = octets(&v["random_octets"]);
    assert_eq!(random.len(), 32);

    // generate() turns the RFC's 32 random octets into the RFC's verifier.
    let verifier = CodeVerifier::generate(&mut ReplayRng(random));
    assert_eq!(verifier.as_str(), s(&v["code_verifier"]));
    assert_eq!(
        Sha256::digest(verifier.as_str().as_bytes()).as_slice(),
        octets(&v["sha256_of_verifier_octets"])
    );

    let challenge = verifier.challenge();
    assert_eq!(challenge.as_str(), s(&v["code_challenge"]));
    assert_eq!(challenge.method().as_str(), s(&v["code_challenge_method"]));
    assert_eq!(
        CodeVerifier::new(s(&v["code_verifier"]))
            .unwrap()
            .challenge(),
        challenge
    );
    pkce::verify(
        s(&v["code_verifier"]),
        s(&v["code_challenge"]),
        CodeChallengeMethod::S256,
    )
    .unwrap();
}

#[test]
fn rfc7636_4_1_4_2_additional_verifiers() {
    for v in vectors()["pkce"]["pkce_additional"].as_array().unwrap() {
        let text = s(&v["code_verifier"]);
        assert_eq!(text.len() as u64, v["length"].as_u64().unwrap());
        let verifier = CodeVerifier::new(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let s256 = s(&v["code_challenge_S256"]);
        assert_eq!(verifier.challenge().as_str(), s256, "{}", v["note"]);
        pkce::verify(text, s256, CodeChallengeMethod::S256).unwrap();
        CodeChallenge::parse(s256, CodeChallengeMethod::S256).unwrap();

        let plain = s(&v["code_challenge_plain"]);
        assert_eq!(plain, text);
        pkce::verify(text, plain, CodeChallengeMethod::Plain).unwrap();
        // The S256 challenge is not a valid plain match, and vice versa.
        assert!(pkce::verify(text, s256, CodeChallengeMethod::Plain).is_err());
        assert!(pkce::verify(text, plain, CodeChallengeMethod::S256).is_err());
    }
}

#[test]
fn rfc7636_4_1_invalid_verifiers() {
    let challenge = s(&vectors()["pkce"]["pkce_rfc7636_appendix_b"]["code_challenge"]);
    let invalid = vectors()["pkce"]["pkce_invalid_verifiers"]
        .as_array()
        .unwrap();
    assert_eq!(invalid.len(), 10);
    for v in invalid {
        let text = s(&v["code_verifier"]);
        let reason = s(&v["reason"]);
        let err = CodeVerifier::new(text).unwrap_err();
        assert_eq!(err.code(), "PKCE_VERIFIER_INVALID", "{reason}");
        // The verifier is checked before the comparison: a malformed verifier is not a
        // mere mismatch.
        let err = pkce::verify(text, challenge, CodeChallengeMethod::S256).unwrap_err();
        assert_eq!(err.code(), "PKCE_VERIFIER_INVALID", "{reason}");
    }
    let msg = |t: &str| CodeVerifier::new(t).unwrap_err().to_string();
    assert_eq!(
        msg(&"a".repeat(42)),
        "invalid PKCE code_verifier: must be at least 43 characters"
    );
    assert_eq!(
        msg(&"a".repeat(129)),
        "invalid PKCE code_verifier: must be at most 128 characters"
    );
    assert_eq!(msg(""), "invalid PKCE code_verifier: must not be empty");
    assert!(msg(&format!("{}+", "a".repeat(42))).contains("unreserved"));
}

#[test]
fn rfc7636_4_6_mismatch() {
    let v = &vectors()["pkce"]["pkce_rfc7636_appendix_b"];
    let other = "eBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    let err = pkce::verify(other, s(&v["code_challenge"]), CodeChallengeMethod::S256).unwrap_err();
    assert_eq!(err.code(), "PKCE_MISMATCH");
    // A malformed stored challenge is reported as such.
    let err = pkce::verify(s(&v["code_verifier"]), "short", CodeChallengeMethod::S256).unwrap_err();
    assert_eq!(err.code(), "PKCE_CHALLENGE_INVALID");
    let padded = format!("{}=", s(&v["code_challenge"]));
    assert!(CodeChallenge::parse(&padded, CodeChallengeMethod::S256).is_err());
}

#[test]
fn rfc7636_4_3_method_parsing() {
    assert_eq!(
        CodeChallengeMethod::parse("S256", false).unwrap(),
        CodeChallengeMethod::S256
    );
    for (value, allow_plain) in [
        ("plain", false),
        ("s256", true),
        ("", true),
        ("SHA256", true),
    ] {
        assert_eq!(
            CodeChallengeMethod::parse(value, allow_plain)
                .unwrap_err()
                .code(),
            "PKCE_METHOD_UNSUPPORTED"
        );
    }
    assert_eq!(
        CodeChallengeMethod::parse("plain", true).unwrap(),
        CodeChallengeMethod::Plain
    );
}

#[test]
fn rfc7636_7_1_generated_verifiers() {
    let mut rng = rand_core::UnwrapErr(getrandom::SysRng);
    let mut seen = BTreeSet::new();
    for _ in 0..32 {
        let v = CodeVerifier::generate(&mut rng);
        assert_eq!(v.as_str().len(), 43);
        assert_eq!(base64url::decode(v.as_str()).unwrap().len(), 32);
        assert!(seen.insert(v.as_str().to_owned()));
        assert_eq!(format!("{v:?}"), "CodeVerifier([redacted])");
    }
}

// ----- JWK thumbprints ------------------------------------------------------------------

fn thumbprint_vector(id: &str) -> &'static Value {
    vectors()["jwk_thumbprint"]["jwk_thumbprints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == id)
        .unwrap_or_else(|| panic!("no thumbprint vector {id}"))
}

/// Checks one `jwk_thumbprints` vector: the thumbprint from the JSON text, the canonical
/// JSON and its hash, and for P-256 keys the parsed public (or private) key.
fn check_thumbprint(v: &Value) {
    let id = s(&v["id"]);
    let jwk_json = v["jwk"].to_string();
    let tp = jwk::thumbprint(&jwk_json).unwrap_or_else(|e| panic!("{id}: {e}"));
    assert_eq!(tp, s(&v["thumbprint_manual"]), "{id}");
    assert_eq!(tp, s(&v["thumbprint_jose"]), "{id}");
    if let Some(rfc) = v["expected_from_rfc"].as_str() {
        assert_eq!(tp, rfc, "{id}");
    }
    let canonical = s(&v["canonical_json"]);
    let digest = Sha256::digest(canonical.as_bytes());
    assert_eq!(hex(&digest), s(&v["sha256_hex"]), "{id}");
    assert_eq!(base64url::encode(&digest), tp, "{id}");
    if let Some(expected) = v.get("expected_sha256_octets_from_rfc") {
        assert_eq!(digest.as_slice(), octets(expected), "{id}");
    }
    assert_eq!(
        s(&v["thumbprint_uri_jose"]),
        format!("urn:ietf:params:oauth:jwk-thumbprint:sha-256:{tp}"),
        "{id}"
    );

    if v["jwk"]["kty"] == "EC" && v["jwk"]["crv"] == "P-256" {
        let public = if v["jwk"].get("d").is_some() {
            // A private JWK is not a public one...
            assert_eq!(
                EcPublicJwk::parse(&jwk_json).unwrap_err().code(),
                "JWK_PRIVATE_MEMBER",
                "{id}"
            );
            // ...but has the same thumbprint as its public half.
            let private = EcPrivateJwk::parse(&jwk_json).unwrap_or_else(|e| panic!("{id}: {e}"));
            private.public().clone()
        } else {
            EcPublicJwk::parse(&jwk_json).unwrap_or_else(|e| panic!("{id}: {e}"))
        };
        assert_eq!(public.thumbprint(), tp, "{id}");
        assert_eq!(public.to_json(), canonical, "{id}");
    }
}

#[test]
fn rfc7638_3_1_rsa() {
    check_thumbprint(thumbprint_vector("rfc7638_3_1_rsa"));
}

#[test]
fn rfc9449_6_1_example_ec_jkt() {
    check_thumbprint(thumbprint_vector("rfc9449_example_ec"));
}

#[test]
fn rfc7515_a3_ec_thumbprint() {
    check_thumbprint(thumbprint_vector("rfc7515_a3_ec"));
}

#[test]
fn rfc8037_a3_okp() {
    check_thumbprint(thumbprint_vector("rfc8037_a3_okp"));
}

#[test]
fn rfc7638_generated_dpop_key_1() {
    check_thumbprint(thumbprint_vector("generated_dpop_key_1"));
}

#[test]
fn rfc7638_generated_dpop_key_2() {
    check_thumbprint(thumbprint_vector("generated_dpop_key_2"));
}

#[test]
fn rfc7638_generated_client_key_1() {
    check_thumbprint(thumbprint_vector("generated_client_key_1"));
}

#[test]
fn rfc7518_6_2_1_2_generated_leading_zero_x() {
    check_thumbprint(thumbprint_vector("generated_leading_zero_x"));
}

#[test]
fn rfc7638_3_2_generated_dpop_key_1_with_extra_members() {
    check_thumbprint(thumbprint_vector("generated_dpop_key_1_with_extra_members"));
}

#[test]
fn rfc7638_every_thumbprint_vector() {
    let all = vectors()["jwk_thumbprint"]["jwk_thumbprints"]
        .as_array()
        .unwrap();
    assert_eq!(all.len(), 9);
    all.iter().for_each(check_thumbprint);
}

#[test]
fn rfc7518_6_2_1_invalid_jwks() {
    let expected = [
        ("ec_x_leading_zero_stripped", "JWK_INVALID"),
        ("ec_point_not_on_curve", "JWK_KEY_INVALID"),
        ("ec_missing_y", "JWK_INVALID"),
        ("ec_wrong_crv_for_es256", "JWK_UNSUPPORTED"),
    ];
    let all = vectors()["jwk_thumbprint"]["jwk_invalid"]
        .as_array()
        .unwrap();
    assert_eq!(all.len(), expected.len());
    for (id, code) in expected {
        let v = all.iter().find(|v| v["id"] == id).unwrap();
        let json = v["jwk"].to_string();
        assert_eq!(EcPublicJwk::parse(&json).unwrap_err().code(), code, "{id}");
        assert_eq!(
            EcPublicJwk::from_json_value(&core_json(&v["jwk"]))
                .unwrap_err()
                .code(),
            code,
            "{id}"
        );
        // No thumbprint for an invalid key either (a P-384 key needs 48-octet coordinates).
        assert!(jwk::thumbprint(&json).is_err(), "{id}");
    }
}

#[test]
fn rfc7517_strict_jwk_parsing() {
    let good = r#"{"kty":"EC","crv":"P-256","x":"XcWe07sHAnFNOpsotxeg3Vlm5-eHyQr_wes4t1HK-_U","y":"3Gv8zr_Q8IeEyw7OFr9bfQjCSvONJgzmyJlbvFZO80k""#;
    let parse = |extra: &str| EcPublicJwk::parse(&format!("{good}{extra}}}"));
    assert!(parse("").is_ok());
    assert!(parse(r#","kid":"k","use":"sig","alg":"ES256","key_ops":["verify"]"#).is_ok());
    assert_eq!(parse(r#","kty":"EC""#).unwrap_err().code(), "JWK_INVALID");
    assert_eq!(
        parse(r#","alg":"RS256""#).unwrap_err().code(),
        "JWK_UNSUPPORTED"
    );
    assert_eq!(
        parse(r#","use":"enc""#).unwrap_err().code(),
        "JWK_UNSUPPORTED"
    );
    for private in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
        assert_eq!(
            parse(&format!(r#","{private}":"AA""#)).unwrap_err().code(),
            "JWK_PRIVATE_MEMBER",
            "{private}"
        );
    }
    // Padded coordinates are not base64url.
    let padded = good.replace("_U\"", "_U=\"");
    assert_eq!(
        EcPublicJwk::parse(&format!("{padded}}}"))
            .unwrap_err()
            .code(),
        "JWK_INVALID"
    );
    assert_eq!(
        jwk::thumbprint(r#"{"kty":"oct","k":"AA"}"#)
            .unwrap_err()
            .code(),
        "JWK_UNSUPPORTED"
    );
    assert_eq!(jwk::thumbprint("[]").unwrap_err().code(), "JWK_INVALID");
    assert_eq!(
        jwk::thumbprint(r#"{"kty":"RSA","e":"AQAB","n":"AAE"}"#)
            .unwrap_err()
            .code(),
        "JWK_INVALID"
    );
}

#[test]
fn rfc7517_private_jwk_must_match_its_public_key() {
    let keys = &vectors()["dpop_generated_proofs"]["dpop_generated"]["private_keys"];
    let mut mixed = keys["dpop_key_1"].clone();
    mixed["d"] = keys["dpop_key_2"]["d"].clone();
    assert_eq!(
        EcPrivateJwk::parse(&mixed.to_string()).unwrap_err().code(),
        "JWK_KEY_INVALID"
    );
    let mut zero = keys["dpop_key_1"].clone();
    zero["d"] = Value::from(base64url::encode(&[0u8; 32]));
    assert_eq!(
        EcPrivateJwk::parse(&zero.to_string()).unwrap_err().code(),
        "JWK_KEY_INVALID"
    );
    let key = EcPrivateJwk::parse(&keys["leading_zero_x_key"].to_string()).unwrap();
    assert_eq!(key.public().x()[0], 0);
    let round = EcPrivateJwk::parse(&key.to_json()).unwrap();
    assert_eq!(round.public(), key.public());
    assert_eq!(
        serde_json::from_str::<Value>(&key.to_json()).unwrap(),
        keys["leading_zero_x_key"]
    );
}

// ----- ES256 JWS ------------------------------------------------------------------------

fn es256() -> &'static Value {
    &vectors()["es256"]
}

#[test]
fn rfc7515_a3_es256() {
    let v = &es256()["es256_rfc7515_a3"];
    let key = EcPrivateJwk::parse(&v["private_jwk"].to_string()).unwrap();
    let compact = s(&v["compact_jws"]);
    let decoded = jws::decode(compact, &[Algorithm::Es256]).unwrap();
    assert_eq!(serde_value(decoded.header()), v["decoded_header"]);
    // Verified over the received octets (the payload has CRLFs and is not canonical).
    assert_eq!(decoded.payload(), s(&v["payload_utf8"]).as_bytes());
    decoded.verify_es256(key.public()).unwrap();

    // Re-signing the same input with RFC 6979 verifies too (and is deterministic).
    let mut header = serde_json::Map::new();
    header.insert("alg".into(), "ES256".into());
    let header = serde_json::to_string(&header).unwrap();
    let input = SigningInput::new(&header, s(&v["payload_utf8"]).as_bytes()).unwrap();
    assert_eq!(input.as_str(), decoded.signing_input());
    let a = input.sign_es256(key.signing_key()).unwrap();
    assert_eq!(a, input.sign_es256(key.signing_key()).unwrap());
    jws::decode(&a, &[Algorithm::Es256])
        .unwrap()
        .verify_es256(key.public())
        .unwrap();
}

#[test]
fn rfc7518_3_4_es256_generated_valid() {
    let group = &es256()["es256_generated_valid"];
    let private = EcPrivateJwk::parse(&group["private_jwk"].to_string()).unwrap();
    let public = EcPublicJwk::from_json_value(&core_json(&group["public_jwk"])).unwrap();
    assert_eq!(private.public(), &public);
    let vectors = group["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 4);
    for v in vectors {
        let id = s(&v["id"]);
        assert_eq!(v["expected_valid"], true);
        let decoded = jws::decode(s(&v["compact_jws"]), &[Algorithm::Es256]).unwrap();
        assert_eq!(serde_value(decoded.header()), v["protected_header"], "{id}");
        assert_eq!(decoded.payload(), s(&v["payload_utf8"]).as_bytes(), "{id}");
        decoded
            .verify_es256(&public)
            .unwrap_or_else(|e| panic!("{id}: {e}"));

        // Our own signature over the same header and payload verifies too.
        let ours = jws::sign_es256(
            &v["protected_header"].to_string(),
            s(&v["payload_utf8"]).as_bytes(),
            private.signing_key(),
        )
        .unwrap();
        jws::decode(&ours, &[Algorithm::Es256])
            .unwrap()
            .verify_es256(&public)
            .unwrap_or_else(|e| panic!("{id}: {e}"));
    }
}

#[test]
fn rfc7518_3_4_es256_must_fail() {
    let expected = [
        ("sig_last_byte_bitflip", "JWS_SIGNATURE_INVALID"),
        ("sig_first_byte_bitflip", "JWS_SIGNATURE_INVALID"),
        ("payload_modified", "JWS_SIGNATURE_INVALID"),
        ("header_alg_changed_to_ES384", "JWS_ALG_NOT_ALLOWED"),
        ("header_reserialized_with_space", "JWS_SIGNATURE_INVALID"),
        ("r_s_swapped", "JWS_SIGNATURE_INVALID"),
        ("der_encoded_signature", "JWS_SIGNATURE_INVALID"),
        ("truncated_63_bytes", "JWS_SIGNATURE_INVALID"),
        ("extended_65_bytes", "JWS_SIGNATURE_INVALID"),
        ("r_zero", "JWS_SIGNATURE_INVALID"),
        ("s_zero", "JWS_SIGNATURE_INVALID"),
        ("r_equals_n", "JWS_SIGNATURE_INVALID"),
        ("all_zero_signature", "JWS_SIGNATURE_INVALID"),
        ("alg_none_empty_sig", "JWS_ALG_NOT_ALLOWED"),
        ("signature_with_padding", "JWS_MALFORMED"),
        ("two_segments", "JWS_MALFORMED"),
        ("four_segments", "JWS_MALFORMED"),
        ("hs256_with_public_key_as_secret", "JWS_ALG_NOT_ALLOWED"),
        ("valid_sig_wrong_key", "JWS_SIGNATURE_INVALID"),
    ];
    let all = es256()["es256_must_fail"].as_array().unwrap();
    let ids: BTreeSet<&str> = all.iter().map(|v| s(&v["id"])).collect();
    assert_eq!(ids, expected.iter().map(|(id, _)| *id).collect());
    for (id, code) in expected {
        let v = all.iter().find(|v| v["id"] == id).unwrap();
        assert_eq!(v["expected_valid"], false, "{id}");
        let key = EcPublicJwk::from_json_value(&core_json(&v["verify_with"])).unwrap();
        let result = jws::decode(s(&v["jws"]), &[Algorithm::Es256])
            .and_then(|decoded| decoded.verify_es256(&key));
        assert_eq!(result.unwrap_err().code(), code, "{id}: {}", v["reason"]);
    }
}

#[test]
fn rfc7518_3_4_es256_malleability() {
    let v = &es256()["es256_malleability"];
    let key = EcPublicJwk::from_json_value(&core_json(&v["verify_with"])).unwrap();
    assert_eq!(v["expected_valid_both"], true);
    for field in ["low_s_jws", "high_s_jws"] {
        jws::decode(s(&v[field]), &[Algorithm::Es256])
            .unwrap()
            .verify_es256(&key)
            .unwrap_or_else(|e| panic!("{field}: {e}"));
    }
}

fn decode_code(compact: &str) -> &'static str {
    match jws::decode(compact, &[Algorithm::Es256]) {
        Ok(_) => "OK",
        Err(e) => e.code(),
    }
}

#[test]
fn rfc7515_strict_decoding() {
    let b = |json: &str| base64url::encode(json.as_bytes());
    let decode = |header: &str| decode_code(&format!("{}.e30.AA", b(header)));
    assert_eq!(decode(r#"{"alg":"ES256"}"#), "OK");
    assert_eq!(
        decode(r#"{"alg":"ES256","alg":"ES256"}"#),
        "JWS_HEADER_INVALID"
    );
    assert_eq!(
        decode(r#"{"alg":"ES256","crit":["exp"],"exp":1}"#),
        "JWS_CRIT_UNSUPPORTED"
    );
    assert_eq!(
        decode(r#"{"alg":"ES256","b64":false}"#),
        "JWS_HEADER_INVALID"
    );
    assert_eq!(decode(r#"{"alg":"ES256","typ":1}"#), "JWS_HEADER_INVALID");
    assert_eq!(decode(r#"{"alg":256}"#), "JWS_HEADER_INVALID");
    assert_eq!(decode(r#"{"typ":"JWT"}"#), "JWS_HEADER_INVALID");
    assert_eq!(decode(r#"{"alg":"none"}"#), "JWS_ALG_NOT_ALLOWED");
    assert_eq!(decode(r#"{"alg":"HS256"}"#), "JWS_ALG_NOT_ALLOWED");
    assert_eq!(decode(r#"["alg"]"#), "JWS_MALFORMED");
    assert_eq!(decode("not json"), "JWS_MALFORMED");
    assert_eq!(decode_code("..."), "JWS_MALFORMED");
    assert_eq!(decode_code(""), "JWS_MALFORMED");

    // Duplicate claims are caught when the payload is read as a claims set.
    let compact = format!("{}.{}.AA", b(r#"{"alg":"ES256"}"#), b(r#"{"a":1,"a":2}"#));
    let decoded = jws::decode(&compact, &[Algorithm::Es256]).unwrap();
    assert_eq!(decoded.claims().unwrap_err().code(), "JWS_MALFORMED");
}

// ----- RFC 9068 access token ------------------------------------------------------------

#[test]
fn rfc9068_2_example_access_token() {
    let v = &vectors()["rfc9068_access_token"]["rfc9068_example_access_token"];
    let private = EcPrivateJwk::parse(&v["as_private_jwk"].to_string()).unwrap();
    let public = EcPublicJwk::from_json_value(&core_json(&v["as_public_jwk"])).unwrap();
    assert_eq!(private.public(), &public);

    let token = s(&v["access_token"]);
    let decoded = jws::decode(token, &[Algorithm::Es256]).unwrap();
    assert_eq!(decoded.typ(), Some("at+jwt"));
    assert_eq!(decoded.kid(), v["as_public_jwk"]["kid"].as_str());
    decoded.verify_es256(&public).unwrap();
    let claims = decoded.claims().unwrap();
    assert_eq!(serde_value(&claims), v["claims"]);
    for claim in ["iss", "exp", "aud", "sub", "client_id", "iat", "jti"] {
        assert!(claims.contains_key(claim), "RFC 9068 §2.2 requires {claim}");
    }

    // cnf.jkt is the thumbprint of the DPoP key the token is bound to (RFC 9449 §6.1).
    let dpop_key =
        &vectors()["dpop_generated_proofs"]["dpop_generated"]["private_keys"]["dpop_key_1"];
    let jkt = EcPrivateJwk::parse(&dpop_key.to_string())
        .unwrap()
        .public()
        .thumbprint();
    assert_eq!(claims["cnf"]["jkt"], jkt.as_str());
    assert_eq!(dpop::ath(token), s(&v["ath_for_this_token"]));

    // Minting the same claims with our signer gives a token that verifies the same way.
    let mut header = serde_json::Map::new();
    header.insert("alg".into(), "ES256".into());
    header.insert("typ".into(), "at+jwt".into());
    header.insert("kid".into(), v["as_public_jwk"]["kid"].clone());
    let header = serde_json::to_string(&header).unwrap();
    let minted = jws::sign_es256(&header, decoded.payload(), private.signing_key()).unwrap();
    let again = jws::decode(&minted, &[Algorithm::Es256]).unwrap();
    again.verify_es256(&public).unwrap();
    assert_eq!(again.claims().unwrap(), claims);
}

// ----- OIDC -----------------------------------------------------------------------------

#[test]
fn oidc_core_3_1_3_6_at_hash_and_c_hash() {
    let v = &vectors()["oidc"]["oidc_hashes"];
    let at = &v["at_hash"];
    let computed = jws::oidc_hash(
        s(&at["access_token"]),
        Algorithm::parse(s(&at["alg"])).unwrap(),
    )
    .unwrap();
    assert_eq!(computed, s(&at["expected_from_spec"]));
    assert_eq!(computed, s(&at["computed"]));

    let c = &v["c_hash"];
    let computed = jws::oidc_hash(s(&c["code"]), Algorithm::parse(s(&c["alg"])).unwrap()).unwrap();
    assert_eq!(computed, s(&c["expected_from_spec"]));

    let es = &v["at_hash_es256_dpop_example"];
    assert_eq!(
        jws::oidc_hash(s(&es["access_token"]), Algorithm::Es256).unwrap(),
        s(&es["computed"])
    );
    assert_eq!(
        jws::oidc_hash("x", Algorithm::EdDsa).unwrap_err().code(),
        "JWS_ALG_NOT_ALLOWED"
    );
}

/// OIDC Core Appendix A.3. The token is RS256: this crate has no RSA verifier, so only
/// the structure, the claims and `at_hash` are checked; an ES256-only verifier refuses it.
#[test]
fn oidc_core_a_3_example_id_token() {
    let v = &vectors()["oidc"]["oidc_example_id_token"];
    let token = s(&v["id_token"]);
    assert_eq!(
        jws::decode(token, &[Algorithm::Es256]).unwrap_err().code(),
        "JWS_ALG_NOT_ALLOWED"
    );
    let decoded = jws::decode(token, &[Algorithm::Rs256]).unwrap();
    assert_eq!(decoded.alg(), Algorithm::Rs256);
    assert_eq!(decoded.kid(), v["public_jwk"]["kid"].as_str());
    assert_eq!(decoded.signature().len(), 256);
    let claims = decoded.claims().unwrap();
    assert_eq!(serde_value(&claims), v["decoded_payload"]);
    let at = &vectors()["oidc"]["oidc_hashes"]["at_hash"];
    assert_eq!(
        claims["at_hash"],
        jws::oidc_hash(s(&at["access_token"]), Algorithm::Rs256)
            .unwrap()
            .as_str()
    );
    // ES256 verification of an RS256 token is refused before any crypto.
    let any_key =
        EcPublicJwk::from_json_value(&core_json(&es256()["es256_generated_valid"]["public_jwk"]))
            .unwrap();
    assert_eq!(
        decoded.verify_es256(&any_key).unwrap_err().code(),
        "JWS_ALG_NOT_ALLOWED"
    );
    // The RSA key still has an RFC 7638 thumbprint.
    assert_eq!(
        jwk::thumbprint(&v["public_jwk"].to_string()).unwrap().len(),
        43
    );
}
