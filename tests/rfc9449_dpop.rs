//! RFC 9449 (DPoP) vectors from `../shared/vectors/vectors.json`: the RFC's own examples
//! (`dpop_rfc9449_examples`), RFC 3986 `htu` normalisation (`htu_normalization`), and
//! every generated proof with the verdict it must get (`dpop_generated_proofs`), plus
//! proof creation round trips.

mod common;

use common::{core_json, s, serde_value, vectors};

use std::collections::BTreeSet;

use edge_oauth::Error;
use edge_oauth::dpop::{
    self, DpopKey, ProofOptions, VerifiedProof, VerifyPolicy, normalize_htu, proof_signing_input,
    verify_proof,
};
use edge_oauth::jwk::{EcPrivateJwk, EcPublicJwk};
use edge_oauth::jws::{self, Algorithm};
use serde_json::Value;

fn rng() -> rand_core::UnwrapErr<getrandom::SysRng> {
    rand_core::UnwrapErr(getrandom::SysRng)
}

// ----- RFC 9449 examples ----------------------------------------------------------------

fn rfc_examples() -> &'static Value {
    &vectors()["dpop_rfc9449_examples"]
}

fn rfc_proof(id: &str) -> &'static Value {
    rfc_examples()["rfc9449_example_proofs"]["proofs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .unwrap_or_else(|| panic!("no RFC 9449 example {id}"))
}

/// Verifies an RFC 9449 example proof at its `verify_at_time`, as the server of its
/// request would (a resource request carries its access token and binding).
fn verify_rfc_example(example: &Value) -> VerifiedProof {
    let request = &example["request"];
    let access_token = request["authorization"]
        .as_str()
        .map(|h| h.strip_prefix("DPoP ").expect("DPoP scheme"));
    let policy = VerifyPolicy {
        access_token,
        expected_jkt: access_token.map(|_| s(&example["jkt"])),
        ..VerifyPolicy::new(
            s(&request["method"]),
            s(&request["url"]),
            example["verify_at_time"].as_i64().unwrap(),
        )
    };
    let verified = verify_proof(s(&example["proof"]), &policy)
        .unwrap_or_else(|e| panic!("{}: {e}", example["id"]));
    assert_eq!(verified.jkt, s(&example["jkt"]));
    assert_eq!(verified.jti, s(&example["decoded_payload"]["jti"]));
    assert_eq!(
        verified.iat,
        example["decoded_payload"]["iat"].as_i64().unwrap()
    );
    assert_eq!(
        verified.jwk,
        EcPublicJwk::from_json_value(&core_json(&example["decoded_header"]["jwk"])).unwrap()
    );
    verified
}

#[test]
fn rfc9449_example_jkt() {
    let jwk = &rfc_examples()["rfc9449_example_proofs"]["public_jwk"];
    let key = EcPublicJwk::from_json_value(&core_json(jwk)).unwrap();
    assert_eq!(
        key.thumbprint(),
        "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
    );
    assert_eq!(
        edge_oauth::jwk::thumbprint(&jwk.to_string()).unwrap(),
        key.thumbprint()
    );
}

#[test]
fn rfc9449_4_1_figure_2_token_request_code() {
    verify_rfc_example(rfc_proof("rfc9449_fig2_token_request_code"));
}

#[test]
fn rfc9449_5_figure_7_token_request_refresh() {
    verify_rfc_example(rfc_proof("rfc9449_fig7_token_request_refresh"));
}

#[test]
fn rfc9449_7_1_figure_13_resource_request() {
    let example = rfc_proof("rfc9449_fig13_resource_request");
    verify_rfc_example(example);

    // The same proof without the token, or bound to another key, must fail check 12.
    let request = &example["request"];
    let now = example["verify_at_time"].as_i64().unwrap();
    let base = VerifyPolicy::new(s(&request["method"]), s(&request["url"]), now);
    let wrong_token = VerifyPolicy {
        access_token: Some("another-token"),
        ..base
    };
    assert_eq!(
        verify_proof(s(&example["proof"]), &wrong_token).unwrap_err(),
        Error::DpopAthMismatch
    );
    let wrong_key = VerifyPolicy {
        expected_jkt: Some("VIqXp_dbQ5G9BGpq6Gi9cYH2ZiAmVtMTo-MUc4zEGGo"),
        ..base
    };
    let err = verify_proof(s(&example["proof"]), &wrong_key).unwrap_err();
    assert_eq!(err, Error::DpopKeyMismatch);
    assert_eq!(err.dpop_wire_error(), Some("invalid_token"));
}

#[test]
fn rfc9449_every_example_proof_verifies() {
    for example in rfc_examples()["rfc9449_example_proofs"]["proofs"]
        .as_array()
        .unwrap()
    {
        verify_rfc_example(example);
    }
}

/// Figure 7 reuses Figure 2's `jti` 2680 s later: a replay store that keeps a `jti` for
/// the acceptance window (keyed by jkt and jti) accepts both.
#[test]
fn rfc9449_11_1_same_jti_after_window_is_not_a_replay() {
    let first = verify_rfc_example(rfc_proof("rfc9449_fig2_token_request_code"));
    let second = verify_rfc_example(rfc_proof("rfc9449_fig7_token_request_refresh"));
    assert_eq!(first.jti, second.jti);
    let window = 60 + 5;
    let mut store: Vec<(String, String, i64)> = Vec::new();
    for proof in [first, second] {
        store.retain(|(_, _, expires)| *expires > proof.iat);
        assert!(
            !store
                .iter()
                .any(|(jkt, jti, _)| *jkt == proof.jkt && *jti == proof.jti)
        );
        store.push((proof.jkt, proof.jti, proof.iat + window));
    }
}

#[test]
fn rfc9449_7_1_ath() {
    let v = &rfc_examples()["rfc9449_ath"];
    let computed = dpop::ath(s(&v["access_token"]));
    assert_eq!(computed, s(&v["ath_expected_from_rfc"]));
    assert_eq!(computed, s(&v["ath_computed"]));
    for (name, wrong) in v["wrong_variants"].as_object().unwrap() {
        assert_ne!(computed, s(wrong), "{name}");
    }
}

#[test]
fn rfc9449_6_1_cnf_jwt() {
    let v = &rfc_examples()["rfc9449_cnf_jwt"];
    // The AS key of Figures 8-9 is not published: only the shape can be checked.
    let decoded = jws::decode(s(&v["jwt"]), &[Algorithm::Es256]).unwrap();
    assert_eq!(serde_value(decoded.header()), v["decoded_header"]);
    let claims = decoded.claims().unwrap();
    assert_eq!(serde_value(&claims), v["decoded_payload"]);
    let key = EcPublicJwk::from_json_value(&core_json(
        &rfc_examples()["rfc9449_example_proofs"]["public_jwk"],
    ))
    .unwrap();
    assert_eq!(claims["cnf"]["jkt"], key.thumbprint().as_str());
}

// ----- htu normalisation ----------------------------------------------------------------

#[test]
fn rfc3986_6_2_htu_normalization() {
    let group = &vectors()["htu_normalization"]["htu_normalization"];
    let expected = normalize_htu(s(&group["expected_token_endpoint"])).unwrap();
    assert_eq!(expected, s(&group["expected_token_endpoint"]));
    let cases = group["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 16);
    for case in cases {
        let input = s(&case["htu_or_request_uri"]);
        let verdict = &case["matches_expected_after_rfc3986_normalization"];
        let normalized = normalize_htu(input);
        match verdict {
            Value::Bool(true) => {
                assert_eq!(normalized.as_deref(), Ok(expected.as_str()), "{input}");
            }
            Value::Bool(false) => {
                let normalized = normalized.unwrap_or_else(|e| panic!("{input}: {e}"));
                assert_ne!(normalized, expected, "{input}");
                // Our normal form agrees with the independent RFC 3986 reference.
                assert_eq!(normalized, s(&case["python_rfc3986_normalized"]), "{input}");
            }
            // The request URI's query and fragment are ignored (check 9)...
            Value::String(v) if v == "ignore-query" || v == "ignore-fragment" => {
                assert_eq!(normalized.as_deref(), Ok(expected.as_str()), "{input}");
            }
            // ...and userinfo is refused (recommended).
            Value::String(v) if v == "implementation_defined" => {
                assert_eq!(case["python_rfc3986_normalized"], "userinfo-present");
                assert_eq!(normalized.unwrap_err().code(), "URL_INVALID", "{input}");
            }
            other => panic!("unexpected verdict {other} for {input}"),
        }
    }
}

#[test]
fn rfc3986_6_2_htu_normalization_edge_cases() {
    let ok = |input: &str, out: &str| assert_eq!(normalize_htu(input).unwrap(), out, "{input}");
    ok("http://A.Example:80", "http://a.example/");
    ok("https://a.example:/x", "https://a.example/x");
    ok("https://a.example:0443/x", "https://a.example/x");
    ok("https://a.example/a/b/c/./../../g", "https://a.example/a/g");
    ok(
        "https://a.example/%7e%41%2f%2a",
        "https://a.example/~A%2F%2A",
    );
    ok("https://%41.example/", "https://a.example/");
    ok(
        "https://[2001:DB8::1]:8443/t",
        "https://[2001:db8::1]:8443/t",
    );
    ok("https://a.example/..", "https://a.example/");
    let bad = |input: &str| {
        assert_eq!(
            normalize_htu(input).unwrap_err().code(),
            "URL_INVALID",
            "{input}"
        )
    };
    bad("");
    bad("/oauth/token");
    bad("ftp://a.example/");
    bad("https:/a.example/");
    bad("https:///path");
    bad("https://a.example:99999/");
    bad("https://a.example:x/");
    bad("https://a.example/%zz");
    bad("https://a.example/%2");
    bad("https://a.example/a b");
    bad("https://a.example/é");
    bad("https://user:pw@a.example/");
    bad("https://[::1/");
}

/// The query and fragment of a request URL are dropped before any check: they may hold
/// whatever `fetch` sends (`?q=a b`, `?filter={"a":1}`, `?q=a|b`), and `htu` never
/// carries them. Non-ASCII before the query is refused with a message that says what to
/// do (WHATWG URL would percent-encode the path: `new URL(url).href` does it).
#[test]
fn rfc9449_4_2_request_url_query_and_fragment_are_not_checked() {
    for url in [
        "https://a.example/items?q=a b",
        r#"https://a.example/items?filter={"a":1}"#,
        "https://a.example/items?q=a|b",
        "https://a.example/items?q=\u{e4}#frag ment^",
        "https://a.example/items#{x}",
        "https://a.example/items?",
    ] {
        assert_eq!(
            normalize_htu(url).unwrap(),
            "https://a.example/items",
            "{url}"
        );
        let proof = key_1()
            .create_proof(&ProofOptions::new("GET", url, NOW), &mut rng())
            .unwrap();
        assert_eq!(decode_parts(&proof).1["htu"], "https://a.example/items");
        verify_proof(&proof, &VerifyPolicy::new("GET", url, NOW)).unwrap();
    }
    // Before the query, RFC 3986 still rules.
    for url in [
        "https://a.example/a b?x",
        "https://a.example/{x}",
        "https://a.exa mple/",
    ] {
        let err = normalize_htu(url).unwrap_err();
        assert_eq!(err.code(), "URL_INVALID", "{url}");
    }
    for url in [
        "https://a.example/items/\u{e4}",
        "https://a.example/items/\u{e4}?q=1",
        "https://b\u{fc}cher.example/",
    ] {
        let err = normalize_htu(url).unwrap_err();
        assert_eq!(err.code(), "URL_INVALID", "{url}");
        assert!(err.to_string().contains("non-ASCII"), "{err}");
        assert!(err.to_string().contains("percent-encode"), "{err}");
    }
    // The percent-encoded form (what new URL(url).href and fetch send) works.
    assert_eq!(
        normalize_htu("https://a.example/items/%c3%a4").unwrap(),
        "https://a.example/items/%C3%A4"
    );
}

/// The claim is another matter: an `htu` claim with a query or fragment is refused
/// whatever characters they hold (the request URL may have them, the claim may not).
#[test]
fn rfc9449_4_3_check_9_htu_claim_with_query_is_still_refused() {
    let key = key_1();
    let jwk = EcPrivateJwk::parse(&key.to_private_jwk().to_json()).unwrap();
    let header = format!(
        r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{}}}"#,
        key.public_jwk().to_json()
    );
    for htu in [
        "https://a.example/items?q=a b",
        "https://a.example/items?q=1",
        "https://a.example/items#f",
        "https://a.example/items/\u{e4}",
    ] {
        let claims = serde_json::json!({"jti": "j-1", "htm": "GET", "htu": htu, "iat": NOW});
        let proof =
            jws::sign_es256(&header, claims.to_string().as_bytes(), jwk.signing_key()).unwrap();
        let err = verify_proof(
            &proof,
            &VerifyPolicy::new("GET", "https://a.example/items?q=a b", NOW),
        )
        .unwrap_err();
        assert_eq!(err.code(), "DPOP_HTU_MISMATCH", "{htu}");
    }
}

// ----- generated proofs -----------------------------------------------------------------

/// What our verifier (plus the server logic the test models) answers for a vector.
#[derive(Debug, Clone, Copy)]
enum Expect {
    /// The proof is accepted.
    Valid,
    /// The proof is refused with this error code.
    Invalid(&'static str),
    /// The proof is valid, but its key is not the one the code / refresh token is bound
    /// to (`code_dpop_jkt` / `refresh_token_jkt`): the server answers `invalid_grant`.
    ValidButNotBoundKey,
}

/// RFC 9449 §4.3 check number of each error code.
fn check_number(code: &str) -> u64 {
    match code {
        "DPOP_MULTIPLE_HEADERS" => 1,
        "DPOP_MALFORMED" => 2,
        "DPOP_CLAIM_INVALID" => 3,
        "DPOP_TYP_INVALID" => 4,
        "DPOP_ALG_NOT_ALLOWED" => 5,
        "DPOP_JWK_INVALID" | "DPOP_SIGNATURE_INVALID" => 6,
        "DPOP_JWK_PRIVATE" => 7,
        "DPOP_HTM_MISMATCH" => 8,
        "DPOP_HTU_MISMATCH" => 9,
        "DPOP_NONCE_MISSING" | "DPOP_NONCE_MISMATCH" => 10,
        "DPOP_IAT_TOO_OLD" | "DPOP_IAT_IN_FUTURE" | "DPOP_JTI_REPLAYED" => 11,
        "DPOP_ATH_MISSING" | "DPOP_ATH_MISMATCH" | "DPOP_KEY_MISMATCH" => 12,
        other => panic!("not a DPoP error code: {other}"),
    }
}

/// Vectors where we (legitimately, checks run in any order) report another check than
/// the vector's `rfc9449_4_3_check`.
const OTHER_CHECK: &[(&str, u64)] = &[
    // A non-string nonce is a malformed claim for us (check 3, wire invalid_dpop_proof as
    // the vector expects); checks 10's errors mean use_dpop_nonce.
    ("nonce_not_string", 3),
    // Strict JSON: a repeated header member makes the JWS malformed (check 2), as the
    // strict reference says; the vector lists check 4.
    ("duplicate_typ_member", 2),
];

fn generated_group() -> &'static Value {
    &vectors()["dpop_generated_proofs"]["dpop_generated"]
}

fn generated_vector(id: &str) -> &'static Value {
    generated_group()["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == id)
        .unwrap_or_else(|| panic!("no generated vector {id}"))
}

/// Runs the verifier as the server would: `verify_proof`, then the replay store
/// (`seen_jti`), then the code / refresh-token key binding.
fn run_server(vector: &Value) -> (Result<VerifiedProof, Error>, Option<&str>) {
    let policy_v = &generated_group()["verifier_policy"];
    let overrides = &vector["verifier_overrides"];
    let request = &vector["request"];
    let nonce = overrides
        .get("server_nonce")
        .unwrap_or(&policy_v["server_nonce"])
        .as_str();
    let allowed: Vec<Algorithm> = policy_v["allowed_algs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| Algorithm::parse(s(a)).unwrap())
        .collect();
    let policy = VerifyPolicy {
        max_age: policy_v["iat_max_age_seconds"].as_u64().unwrap(),
        max_future: policy_v["iat_max_future_seconds"].as_u64().unwrap(),
        allowed_algs: &allowed,
        nonce,
        access_token: request["access_token"].as_str(),
        expected_jkt: request["access_token_cnf_jkt"].as_str(),
        ..VerifyPolicy::new(
            s(&request["method"]),
            s(&request["url"]),
            policy_v["now"].as_i64().unwrap(),
        )
    };
    let seen: Vec<&str> = overrides
        .get("seen_jti")
        .unwrap_or(&policy_v["seen_jti"])
        .as_array()
        .unwrap()
        .iter()
        .map(s)
        .collect();
    let result = verify_proof(s(&vector["proof"]), &policy).and_then(|v| {
        if seen.contains(&v.jti.as_str()) {
            Err(Error::DpopJtiReplayed)
        } else {
            Ok(v)
        }
    });
    let bound_jkt = overrides
        .get("code_dpop_jkt")
        .or_else(|| overrides.get("refresh_token_jkt"))
        .and_then(Value::as_str);
    (result, bound_jkt)
}

fn check_generated(id: &str, expect: Expect) {
    let vector = generated_vector(id);
    let expected = &vector["expected"];
    let (result, bound_jkt) = run_server(vector);

    // Our verdict must be the vector's, or for implementation_defined the recommended one.
    let accepted = matches!(expect, Expect::Valid);
    match &expected["valid"] {
        Value::Bool(valid) => assert_eq!(accepted, *valid, "{id}: verdict"),
        Value::String(v) if v == "implementation_defined" => {
            let recommended = s(&expected["recommended"]);
            if recommended.starts_with("reject") {
                assert!(!accepted, "{id}: recommended {recommended}");
            } else if recommended.starts_with("accept") {
                assert!(accepted, "{id}: recommended {recommended}");
            } else {
                assert!(recommended.starts_with("either"), "{id}: {recommended}");
            }
        }
        other => panic!("{id}: unexpected expected.valid {other}"),
    }

    match expect {
        Expect::Valid => {
            let verified = result.unwrap_or_else(|e| panic!("{id}: expected valid, got {e}"));
            assert_eq!(verified.jkt, s(&expected["jkt"]), "{id}: jkt");
            assert!(bound_jkt.is_none(), "{id}");
        }
        Expect::ValidButNotBoundKey => {
            assert_eq!(expected["proof_valid"], true, "{id}");
            let verified =
                result.unwrap_or_else(|e| panic!("{id}: expected a valid proof, got {e}"));
            assert_eq!(verified.jkt, s(&expected["jkt"]), "{id}: jkt");
            let bound = bound_jkt.unwrap_or_else(|| panic!("{id}: no bound jkt"));
            assert_ne!(verified.jkt, bound, "{id}: the server must refuse the key");
            assert_eq!(expected["error"], "invalid_grant", "{id}");
        }
        Expect::Invalid(code) => {
            let err = match result {
                Ok(v) => panic!("{id}: expected {code}, got a valid proof for {}", v.jkt),
                Err(e) => e,
            };
            assert_eq!(err.code(), code, "{id}: {err}");
            assert!(!err.to_string().is_empty());
            if let Some(check) = expected["rfc9449_4_3_check"].as_u64() {
                let ours = OTHER_CHECK
                    .iter()
                    .find(|(other, _)| *other == id)
                    .map_or(check, |(_, n)| *n);
                assert_eq!(check_number(code), ours, "{id}: RFC 9449 §4.3 check");
            }
            if let Some(wire) = expected["error"].as_str() {
                assert_eq!(err.dpop_wire_error(), Some(wire), "{id}: wire error");
            } else {
                assert_eq!(err.dpop_wire_error(), Some("invalid_dpop_proof"), "{id}");
            }
        }
    }
}

macro_rules! generated {
    ($($id:ident => $expect:expr;)*) => {
        /// One test per `dpop_generated_proofs` vector, named after its id.
        mod rfc9449_4_3_generated {
            use super::*;
            $(
                #[test]
                fn $id() {
                    check_generated(stringify!($id), $expect);
                }
            )*
        }

        const GENERATED_IDS: &[&str] = &[$(stringify!($id)),*];
    };
}

use Expect::{Invalid, Valid, ValidButNotBoundKey};

generated! {
    valid_minimal => Valid;
    valid_jwk_with_optional_members => Valid;
    valid_request_url_has_query => Valid;
    // Conditional vectors: valid with RFC 3986 §6.2.2 / §6.2.3 normalisation.
    valid_htu_uppercase_host_scheme => Valid;
    valid_htu_explicit_default_port => Valid;
    valid_htu_percent_encoded_unreserved => Valid;
    valid_iat_slightly_future => Valid;
    valid_nonce_matches => Valid;
    valid_resource_request_with_ath => Valid;
    valid_extra_claims_ignored => Valid;
    htu_wrong_path => Invalid("DPOP_HTU_MISMATCH");
    htu_wrong_host => Invalid("DPOP_HTU_MISMATCH");
    htu_http_scheme => Invalid("DPOP_HTU_MISMATCH");
    htu_trailing_slash => Invalid("DPOP_HTU_MISMATCH");
    htu_path_case => Invalid("DPOP_HTU_MISMATCH");
    htu_other_port => Invalid("DPOP_HTU_MISMATCH");
    // implementation_defined, recommended reject: htu is defined without query/fragment.
    htu_contains_query => Invalid("DPOP_HTU_MISMATCH");
    htu_contains_fragment => Invalid("DPOP_HTU_MISMATCH");
    htu_relative => Invalid("DPOP_HTU_MISMATCH");
    htm_wrong => Invalid("DPOP_HTM_MISMATCH");
    htm_lowercase => Invalid("DPOP_HTM_MISMATCH");
    typ_missing => Invalid("DPOP_TYP_INVALID");
    typ_jwt => Invalid("DPOP_TYP_INVALID");
    typ_at_jwt => Invalid("DPOP_TYP_INVALID");
    // implementation_defined, "either": we compare typ byte-exactly.
    typ_application_prefix => Invalid("DPOP_TYP_INVALID");
    typ_uppercase => Invalid("DPOP_TYP_INVALID");
    alg_none => Invalid("DPOP_ALG_NOT_ALLOWED");
    alg_hs256_oct_jwk => Invalid("DPOP_ALG_NOT_ALLOWED");
    alg_hs256_ec_jwk_confusion => Invalid("DPOP_ALG_NOT_ALLOWED");
    alg_rs256_with_ec_key => Invalid("DPOP_ALG_NOT_ALLOWED");
    alg_es384_with_p256_key => Invalid("DPOP_ALG_NOT_ALLOWED");
    alg_es256_with_p384_crv_label => Invalid("DPOP_ALG_NOT_ALLOWED");
    jwk_contains_private_d => Invalid("DPOP_JWK_PRIVATE");
    jwk_missing => Invalid("DPOP_JWK_INVALID");
    jwk_replaced_by_kid => Invalid("DPOP_JWK_INVALID");
    jwk_not_a_json_object => Invalid("DPOP_JWK_INVALID");
    jwk_point_not_on_curve => Invalid("DPOP_JWK_INVALID");
    jwk_x_leading_zero_stripped => Invalid("DPOP_JWK_INVALID");
    jwk_mismatched_key => Invalid("DPOP_SIGNATURE_INVALID");
    signature_tampered => Invalid("DPOP_SIGNATURE_INVALID");
    payload_tampered_after_signing => Invalid("DPOP_SIGNATURE_INVALID");
    segments_with_padding => Invalid("DPOP_MALFORMED");
    signature_der_encoded => Invalid("DPOP_SIGNATURE_INVALID");
    missing_jti => Invalid("DPOP_CLAIM_INVALID");
    missing_iat => Invalid("DPOP_CLAIM_INVALID");
    missing_htm => Invalid("DPOP_CLAIM_INVALID");
    missing_htu => Invalid("DPOP_CLAIM_INVALID");
    jti_not_string => Invalid("DPOP_CLAIM_INVALID");
    jti_empty => Invalid("DPOP_CLAIM_INVALID");
    // implementation_defined, recommended reject: jti is capped at 256 octets.
    jti_huge => Invalid("DPOP_CLAIM_INVALID");
    iat_string => Invalid("DPOP_CLAIM_INVALID");
    // implementation_defined, recommended accept: a non-integer NumericDate is rounded down.
    iat_float => Valid;
    iat_stale => Invalid("DPOP_IAT_TOO_OLD");
    iat_far_future => Invalid("DPOP_IAT_IN_FUTURE");
    iat_negative => Invalid("DPOP_IAT_TOO_OLD");
    replayed_jti => Invalid("DPOP_JTI_REPLAYED");
    nonce_required_but_missing => Invalid("DPOP_NONCE_MISSING");
    nonce_mismatch => Invalid("DPOP_NONCE_MISMATCH");
    nonce_not_string => Invalid("DPOP_CLAIM_INVALID");
    resource_ath_missing => Invalid("DPOP_ATH_MISSING");
    resource_ath_wrong_token => Invalid("DPOP_ATH_MISMATCH");
    resource_ath_includes_scheme => Invalid("DPOP_ATH_MISMATCH");
    resource_ath_padded => Invalid("DPOP_ATH_MISMATCH");
    resource_key_not_bound_to_token => Invalid("DPOP_KEY_MISMATCH");
    crit_unknown_header => Invalid("DPOP_MALFORMED");
    b64_false_header => Invalid("DPOP_MALFORMED");
    // implementation_defined, recommended reject: duplicate JSON members are refused.
    duplicate_typ_member => Invalid("DPOP_MALFORMED");
    payload_json_array => Invalid("DPOP_MALFORMED");
    payload_not_json => Invalid("DPOP_MALFORMED");
    header_not_json => Invalid("DPOP_MALFORMED");
    payload_invalid_utf8 => Invalid("DPOP_MALFORMED");
    jwe_five_segments => Invalid("DPOP_MALFORMED");
    jws_json_serialization => Invalid("DPOP_MALFORMED");
    empty_header_value => Invalid("DPOP_MALFORMED");
    dpop_jkt_mismatch_at_token_endpoint => ValidButNotBoundKey;
    refresh_token_bound_to_other_key => ValidButNotBoundKey;
}

#[test]
fn rfc9449_4_3_every_generated_vector_has_a_test() {
    let in_file: BTreeSet<&str> = generated_group()["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| s(&v["id"]))
        .collect();
    let tested: BTreeSet<&str> = GENERATED_IDS.iter().copied().collect();
    assert_eq!(in_file, tested);
    assert_eq!(GENERATED_IDS.len(), tested.len(), "an id is listed twice");
}

#[test]
fn rfc9449_4_3_generated_keys_and_jkt() {
    let group = generated_group();
    for (name, jwk) in group["private_keys"].as_object().unwrap() {
        let key = DpopKey::from_private_jwk_json(&jwk.to_string()).unwrap();
        if let Some(jkt) = group["jkt"][name.as_str()].as_str() {
            assert_eq!(key.thumbprint(), jkt, "{name}");
        }
    }
    assert_eq!(
        dpop::ath(s(&group["example_access_token"])),
        s(&group["example_access_token_ath"])
    );
}

// ----- checks not covered by the vectors ------------------------------------------------

fn key_1() -> DpopKey {
    let jwk = &generated_group()["private_keys"]["dpop_key_1"];
    DpopKey::from_private_jwk_json(&jwk.to_string()).unwrap()
}

const NOW: i64 = 1_700_000_000;
const TOKEN_URL: &str = "https://auth.example.com/oauth/token";

#[test]
fn rfc9449_4_3_check_1_multiple_headers() {
    let proof = key_1()
        .create_proof(&ProofOptions::new("POST", TOKEN_URL, NOW), &mut rng())
        .unwrap();
    let policy = VerifyPolicy::new("POST", TOKEN_URL, NOW);
    for combined in [
        format!("{proof}, {proof}"),
        format!("{proof},{proof}"),
        format!("{proof} {proof}"),
    ] {
        assert_eq!(
            verify_proof(&combined, &policy).unwrap_err(),
            Error::DpopMultipleHeaders
        );
    }
    assert_eq!(
        verify_proof(&format!("{proof} "), &policy)
            .unwrap_err()
            .code(),
        "DPOP_MALFORMED"
    );
    let huge = "a".repeat(dpop::MAX_PROOF_LEN + 1);
    assert_eq!(
        verify_proof(&huge, &policy).unwrap_err().code(),
        "DPOP_MALFORMED"
    );
}

#[test]
fn rfc9449_4_3_check_5_policy_without_es256_refuses_everything() {
    let proof = key_1()
        .create_proof(&ProofOptions::new("POST", TOKEN_URL, NOW), &mut rng())
        .unwrap();
    for allowed in [&[][..], &[Algorithm::Hs256][..], &[Algorithm::Rs256][..]] {
        let policy = VerifyPolicy {
            allowed_algs: allowed,
            ..VerifyPolicy::new("POST", TOKEN_URL, NOW)
        };
        assert_eq!(
            verify_proof(&proof, &policy).unwrap_err(),
            Error::DpopAlgNotAllowed
        );
    }
}

#[test]
fn rfc9449_4_3_check_11_window_edges() {
    let key = key_1();
    let at = |iat: i64| {
        let proof = key
            .create_proof(&ProofOptions::new("POST", TOKEN_URL, iat), &mut rng())
            .unwrap();
        verify_proof(&proof, &VerifyPolicy::new("POST", TOKEN_URL, NOW)).map(|v| v.iat)
    };
    assert_eq!(at(NOW - 60), Ok(NOW - 60));
    assert_eq!(at(NOW + 5), Ok(NOW + 5));
    assert_eq!(at(NOW - 61), Err(Error::DpopIatTooOld));
    assert_eq!(at(NOW + 6), Err(Error::DpopIatInFuture));
    assert_eq!(at(i64::MIN), Err(Error::DpopIatTooOld));
    assert_eq!(at(i64::MAX), Err(Error::DpopIatInFuture));
}

#[test]
fn rfc9449_4_3_implementation_defined_iat_float_rounds_down() {
    let (result, _) = run_server(generated_vector("iat_float"));
    assert_eq!(result.unwrap().iat, 1_699_999_995);
}

#[test]
fn rfc9449_4_3_invalid_server_htu_is_a_config_error() {
    let proof = key_1()
        .create_proof(&ProofOptions::new("POST", TOKEN_URL, NOW), &mut rng())
        .unwrap();
    let policy = VerifyPolicy::new("POST", "/oauth/token", NOW);
    assert_eq!(
        verify_proof(&proof, &policy).unwrap_err().code(),
        "URL_INVALID"
    );
}

// ----- proof creation -------------------------------------------------------------------

fn decode_parts(
    proof: &str,
) -> (
    serde_json::Map<String, Value>,
    serde_json::Map<String, Value>,
) {
    let decoded = jws::decode(proof, &[Algorithm::Es256]).unwrap();
    (
        serde_json::from_str(&decoded.header().to_json()).unwrap(),
        serde_json::from_str(&decoded.claims().unwrap().to_json()).unwrap(),
    )
}

#[test]
fn rfc9449_4_2_created_proof_shape() {
    let key = key_1();
    let proof = key
        .create_proof(
            &ProofOptions::new(
                "POST",
                "HTTPS://Auth.Example.com:443/oauth/token?x=1#f",
                NOW,
            ),
            &mut rng(),
        )
        .unwrap();
    let (header, claims) = decode_parts(&proof);
    assert_eq!(
        Value::Object(header),
        serde_json::json!({
            "typ": "dpop+jwt",
            "alg": "ES256",
            "jwk": {
                "kty": "EC",
                "crv": "P-256",
                "x": "XcWe07sHAnFNOpsotxeg3Vlm5-eHyQr_wes4t1HK-_U",
                "y": "3Gv8zr_Q8IeEyw7OFr9bfQjCSvONJgzmyJlbvFZO80k"
            }
        })
    );
    assert_eq!(claims["htm"], "POST");
    assert_eq!(claims["htu"], TOKEN_URL);
    assert_eq!(claims["iat"], NOW);
    assert!(claims.get("nonce").is_none() && claims.get("ath").is_none());
    // 128 random bits.
    let jti = s(&claims["jti"]);
    assert_eq!(edge_oauth::base64url::decode(jti).unwrap().len(), 16);

    let verified = verify_proof(&proof, &VerifyPolicy::new("POST", TOKEN_URL, NOW)).unwrap();
    assert_eq!(verified.jkt, "VIqXp_dbQ5G9BGpq6Gi9cYH2ZiAmVtMTo-MUc4zEGGo");
    assert_eq!(verified.jti, jti);
}

#[test]
fn rfc9449_7_1_created_resource_proof_verifies_with_ath_and_binding() {
    let key = key_1();
    let group = generated_group();
    let token = s(&group["example_access_token"]);
    let nonce = "eyJ7S_zG.eyJH0-Z.HX4w-7v";
    let options = ProofOptions {
        nonce: Some(nonce),
        access_token: Some(token),
        ..ProofOptions::new("GET", "https://api.example.com/v1/items", NOW)
    };
    let proof = key.create_proof(&options, &mut rng()).unwrap();
    let (_, claims) = decode_parts(&proof);
    assert_eq!(claims["ath"], s(&group["example_access_token_ath"]));
    assert_eq!(claims["nonce"], nonce);
    let policy = VerifyPolicy {
        nonce: Some(nonce),
        access_token: Some(token),
        expected_jkt: Some(s(&group["jkt"]["dpop_key_1"])),
        ..VerifyPolicy::new("GET", "https://api.example.com/v1/items", NOW)
    };
    assert!(verify_proof(&proof, &policy).is_ok());
    let other_key = VerifyPolicy {
        expected_jkt: Some(s(&group["jkt"]["dpop_key_2"])),
        ..policy
    };
    assert_eq!(
        verify_proof(&proof, &other_key).unwrap_err(),
        Error::DpopKeyMismatch
    );
}

#[test]
fn rfc6979_created_proofs_are_deterministic_for_equal_inputs() {
    let key = key_1();
    let options = ProofOptions {
        jti: Some("fixed-jti-0001"),
        ..ProofOptions::new("POST", TOKEN_URL, NOW)
    };
    let a = key.create_proof(&options, &mut rng()).unwrap();
    let b = key.create_proof(&options, &mut rng()).unwrap();
    assert_eq!(a, b);
    let c = key
        .create_proof(&ProofOptions::new("POST", TOKEN_URL, NOW), &mut rng())
        .unwrap();
    assert_ne!(a, c);
}

#[test]
fn rfc9449_4_2_proof_signing_input_sans_io() {
    let key = key_1();
    let options = ProofOptions::new("POST", TOKEN_URL, NOW);
    let input = proof_signing_input(key.public_jwk(), &options, &mut rng()).unwrap();
    assert!(input.as_str().is_ascii());
    assert_eq!(input.alg(), Algorithm::Es256);
    // Signed by "another backend".
    let private = key.to_private_jwk();
    let signature = jws::sign_es256_raw(input.as_str().as_bytes(), private.signing_key()).unwrap();
    // A DER signature is refused, raw R||S accepted.
    assert_eq!(
        input.finish(&[0x30; 71]).unwrap_err().code(),
        "JWS_SIGNATURE_INVALID"
    );
    let proof = input.finish(&signature).unwrap();
    let verified = verify_proof(&proof, &VerifyPolicy::new("POST", TOKEN_URL, NOW)).unwrap();
    assert_eq!(verified.jkt, key.thumbprint());
}

#[test]
fn rfc9449_4_2_invalid_proof_options() {
    let key = key_1();
    let create = |options: ProofOptions<'_>| key.create_proof(&options, &mut rng()).unwrap_err();
    let base = ProofOptions::new("POST", TOKEN_URL, NOW);
    assert_eq!(
        create(ProofOptions { htm: "", ..base }).code(),
        "ARGUMENT_INVALID"
    );
    assert_eq!(
        create(ProofOptions {
            htm: "PO ST",
            ..base
        })
        .code(),
        "ARGUMENT_INVALID"
    );
    assert_eq!(
        create(ProofOptions {
            htu: "/token",
            ..base
        })
        .code(),
        "URL_INVALID"
    );
    assert_eq!(
        create(ProofOptions {
            htu: "https://u@auth.example.com/",
            ..base
        })
        .code(),
        "URL_INVALID"
    );
    assert_eq!(
        create(ProofOptions {
            jti: Some(""),
            ..base
        })
        .code(),
        "ARGUMENT_INVALID"
    );
    let long = "j".repeat(257);
    assert_eq!(
        create(ProofOptions {
            jti: Some(&long),
            ..base
        })
        .code(),
        "ARGUMENT_INVALID"
    );
    assert_eq!(
        create(ProofOptions {
            nonce: Some("a\"b"),
            ..base
        })
        .code(),
        "ARGUMENT_INVALID"
    );
    assert_eq!(
        create(ProofOptions {
            nonce: Some(""),
            ..base
        })
        .code(),
        "ARGUMENT_INVALID"
    );
    assert_eq!(
        create(ProofOptions {
            access_token: Some(""),
            ..base
        })
        .code(),
        "ARGUMENT_INVALID"
    );
}

#[test]
fn dpop_key_round_trip_and_redaction() {
    let mut rng = rng();
    let key = DpopKey::generate(&mut rng);
    let json = key.to_private_jwk().to_json();
    let again = DpopKey::from_private_jwk_json(&json).unwrap();
    assert_eq!(again.thumbprint(), key.thumbprint());
    assert_eq!(again.public_jwk(), key.public_jwk());
    let from_jwk = DpopKey::from_jwk(&EcPrivateJwk::parse(&json).unwrap());
    assert_eq!(from_jwk.thumbprint(), key.thumbprint());

    let d = s(&serde_json::from_str::<Value>(&json).unwrap()["d"]).to_owned();
    for debug in [format!("{key:?}"), format!("{:?}", key.to_private_jwk())] {
        assert!(debug.contains("[redacted]"), "{debug}");
        assert!(!debug.contains(&d), "{debug}");
    }
}
