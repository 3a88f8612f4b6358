//! Property tests for every parser of untrusted input in the core, on stable Rust (the
//! `fuzz/` cargo-fuzz targets cover the same parsers with coverage guidance on nightly).
//!
//! Each property runs on generated inputs and on mutations of a seed corpus (RFC examples
//! and the shared vectors): no parser panics, what the strict JSON module accepts
//! `serde_json` accepts with the same value, and the form and Basic codecs round-trip.
//! proptest's seed is fixed by its config (`PROPTEST_RNG_SEED` changes it), so a run is
//! reproducible; the whole file takes a few seconds.

use edge_oauth::dpop::{VerifyPolicy, verify_proof};
use edge_oauth::jws::{self, Algorithm};
use edge_oauth::token::device::parse_device_authorization_response;
use edge_oauth::token::request::{
    FormParams, decode_basic_credentials, encode_basic_credentials, encode_form,
};
use edge_oauth::token::response::{
    parse_dpop_nonce, parse_error_response, parse_token_response, parse_www_authenticate,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, RngSeed};

/// RFC 9449 §4.1 Figure 2.
const DPOP_PROOF: &str = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg";
const DPOP_IAT: i64 = 1_562_262_616;

/// Seeds: RFC 8259 §13 examples, RFC 6749 §5.1 / §5.2 bodies, edge cases.
const JSON_SEEDS: &[&str] = &[
    r#"{"Image":{"Width":800,"Height":600,"Title":"View from 15th Floor","Thumbnail":{"Url":"http://www.example.com/image/481989943","Height":125,"Width":100},"Animated":false,"IDs":[116,943,234,38793]}}"#,
    r#"[{"precision":"zip","Latitude":37.7668,"Longitude":-122.3959,"Address":"","City":"SAN FRANCISCO","State":"CA","Zip":"94107","Country":"US"}]"#,
    r#"{"access_token":"2YotnFZFEjr1zCsicMWpAA","token_type":"example","expires_in":3600,"refresh_token":"tGzv3JOkF0XG5Qx2TlKWIA","example_parameter":"example_value"}"#,
    r#"{"error":"invalid_request"}"#,
    r#""\u00e9\ud83d\ude00\n\t\"\\\/""#,
    "-0.0e+10",
    "[1e308,-1E-308,0,123456789012345678901234567890]",
    "{\"a\":[[[[{}]]]],\"b\":null,\"c\":true}",
];

/// RFC 8628 §3.2: the example answer, and edge cases of each member.
const DEVICE_SEEDS: &[&str] = &[
    r#"{"device_code":"GmRhmhcxhwAzkoEqiMEg_DnyEysNkuNhszIySk9eS","user_code":"WDJB-MJHT","verification_uri":"https://example.com/device","verification_uri_complete":"https://example.com/device?user_code=WDJB-MJHT","expires_in":1800,"interval":5}"#,
    r#"{"device_code":"d","user_code":"\u00e9\u2028","verification_uri":"http://[::1]:8787/activate","expires_in":4294967295,"interval":4294967295}"#,
    r#"{"error":"slow_down","error_description":"x"}"#,
];

const WWW_AUTHENTICATE_SEEDS: &[&str] = &[
    r#"Bearer realm="example", error="invalid_token", error_description="The access token expired""#,
    r#"DPoP error="use_dpop_nonce", error_description="Authorization server requires nonce in DPoP proof", algs="ES256""#,
    r#"Basic realm="x", DPoP algs="ES256 PS256", Bearer"#,
    "Newauth realm=\"apps\", type=1, title=\"Login to \\\"apps\\\"\", Basic realm=\"simple\"",
];

fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        rng_algorithm: RngAlgorithm::ChaCha,
        rng_seed: RngSeed::Fixed(0x6564_6765_6f61_7574),
        ..Config::default()
    }
}

/// JSON values as serde_json builds them (object keys unique by construction).
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(serde_json::Value::from),
        any::<String>().prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(any::<String>(), inner, 0..8)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Up to four random edits (insert, delete, replace a byte) of `text`.
fn mutated(seeds: Vec<String>) -> impl Strategy<Value = Vec<u8>> {
    let edits = prop::collection::vec((0..3u8, any::<prop::sample::Index>(), any::<u8>()), 0..5);
    (prop::sample::select(seeds), edits).prop_map(|(seed, edits)| {
        let mut bytes = seed.into_bytes();
        for (op, at, byte) in edits {
            let len = bytes.len();
            match op {
                0 => bytes.insert(at.index(len + 1), byte),
                1 if len > 0 => {
                    bytes.remove(at.index(len));
                }
                _ if len > 0 => bytes[at.index(len)] = byte,
                _ => bytes.push(byte),
            }
        }
        bytes
    })
}

/// The JSON module accepts `bytes` only if serde_json does, with the same value.
fn json_agrees(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(ours) = edge_oauth::json::parse(bytes) {
        let theirs = serde_json::from_slice::<serde_json::Value>(bytes);
        // The one input both need not accept: numbers keep their text here (RFC 8259 §6
        // leaves range to the implementation), serde_json refuses a float that overflows.
        if theirs
            .as_ref()
            .is_err_and(|e| e.to_string().starts_with("number out of range"))
        {
            return Ok(());
        }
        let theirs: serde_json::Value = theirs.map_err(|e| {
            TestCaseError::fail(format!(
                "json accepted what serde_json refuses ({e}): {:?}",
                String::from_utf8_lossy(bytes)
            ))
        })?;
        let round_trip: serde_json::Value = serde_json::from_str(&ours.to_json())
            .map_err(|e| TestCaseError::fail(format!("to_json is not JSON: {e}")))?;
        prop_assert_eq!(round_trip, theirs);
    }
    Ok(())
}

fn seeds(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

proptest! {
    #![proptest_config(config(1_000))]

    /// Differential: every value serde_json writes, the strict parser reads back as the
    /// same value.
    #[test]
    fn json_reads_what_serde_json_writes(value in json_value()) {
        let text = serde_json::to_string(&value).unwrap();
        let ours = edge_oauth::json::parse(text.as_bytes());
        prop_assert!(ours.is_ok(), "refused {text}: {:?}", ours.err());
        json_agrees(text.as_bytes())?;
    }

    /// Differential on mutated seeds: no panic; accepted only with serde_json's value.
    #[test]
    fn json_mutations_agree_with_serde_json(bytes in mutated(seeds(JSON_SEEDS))) {
        json_agrees(&bytes)?;
    }

    #[test]
    fn json_arbitrary_bytes_do_not_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        json_agrees(&bytes)?;
    }

    /// RFC 6749 Appendix B: what encode_form writes, FormParams reads back (names unique,
    /// empty values dropped as omitted, §3.2).
    #[test]
    fn form_codec_round_trips(pairs in prop::collection::btree_map("[^\u{0}]{1,12}", any::<String>(), 0..8)) {
        let body = encode_form(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let parsed = FormParams::parse(body.as_bytes());
        prop_assert!(parsed.is_ok(), "{body}: {:?}", parsed.err());
        let parsed = parsed.unwrap();
        for (k, v) in &pairs {
            let want = if v.is_empty() { None } else { Some(v.as_str()) };
            prop_assert_eq!(parsed.get(k), want);
        }
    }

    #[test]
    fn form_parse_never_panics(bytes in mutated(seeds(&[
        "grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA&redirect_uri=https%3A%2F%2Fclient%2Eexample%2Ecom%2Fcb",
        "a=%C3%A9&b=+%2B&c=",
    ]))) {
        let _ = FormParams::parse(&bytes);
    }

    /// RFC 6749 §2.3.1: Basic credentials round-trip, whatever the characters.
    #[test]
    fn basic_credentials_round_trip(id in any::<String>(), secret in any::<String>()) {
        if let Ok(header) = encode_basic_credentials(&id, &secret) {
            let decoded = decode_basic_credentials(header.as_str());
            prop_assert!(decoded.is_ok(), "{:?}", decoded.err());
            prop_assert_eq!(decoded.unwrap(), (id, secret));
        }
    }

    #[test]
    fn basic_decode_never_panics(value in mutated(seeds(&[
        "Basic czZCaGRSa3F0Mzo3RmpmcDBaQnIxS3REUmJuZlZkbUl3",
        "basic   YTpi",
    ]))) {
        let _ = decode_basic_credentials(&String::from_utf8_lossy(&value));
    }

    /// A mutated JWS never decodes into something that still verifies, and never panics.
    #[test]
    fn jws_mutations_never_verify(bytes in mutated(seeds(&[DPOP_PROOF]))) {
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let all = [Algorithm::Es256, Algorithm::Rs256, Algorithm::Ps256, Algorithm::Hs256];
        if let Ok(decoded) = jws::decode(&text, &all) {
            let _ = decoded.claims();
            let _ = decoded.typ();
        }
        let policy = VerifyPolicy::new("POST", "https://server.example.com/token", DPOP_IAT);
        let verified = verify_proof(&text, &policy);
        prop_assert!(verified.is_err() || text == DPOP_PROOF, "a mutated proof verified: {text}");
    }

    /// Token-endpoint answers: success and error parsing never panic on any body/status.
    #[test]
    fn token_responses_never_panic(
        status in prop_oneof![Just(200u16), Just(400u16), Just(401u16), any::<u16>()],
        body in mutated(seeds(JSON_SEEDS)),
        nonce in proptest::option::of("[ -~]{0,40}"),
    ) {
        let body = String::from_utf8_lossy(&body);
        let _ = parse_token_response(status, &body, 1_700_000_000);
        let _ = parse_error_response(status, &body, nonce.as_deref());
        if let Some(n) = &nonce {
            let _ = parse_dpop_nonce(n);
        }
    }

    /// RFC 8628 §3.2 answers: no panic on any body, status or clock; a success keeps
    /// its bounds (positive lifetimes, an expiry that is now + expires_in).
    #[test]
    fn device_authorization_responses_never_panic(
        status in prop_oneof![Just(200u16), Just(400u16), any::<u16>()],
        body in mutated(seeds(DEVICE_SEEDS)),
        now in prop_oneof![Just(1_700_000_000u64), any::<u64>()],
    ) {
        let body = String::from_utf8_lossy(&body);
        if let Ok(a) = parse_device_authorization_response(status, &body, now) {
            prop_assert!(a.expires_in > 0 && a.expires_in <= u64::from(u32::MAX));
            prop_assert!(a.interval > 0 && a.interval <= u64::from(u32::MAX));
            prop_assert_eq!(a.expires_at, now + a.expires_in);
            prop_assert!(!a.device_code.as_str().is_empty() && !a.user_code.is_empty());
        }
    }

    /// RFC 9110 §11.6.1 challenges: no panic; every challenge parsed has a scheme.
    #[test]
    fn www_authenticate_never_panics(value in mutated(seeds(WWW_AUTHENTICATE_SEEDS))) {
        let value = String::from_utf8_lossy(&value);
        if let Ok(challenges) = parse_www_authenticate(&value) {
            for c in &challenges {
                let _ = c.param("error");
            }
        }
    }
}

/// The whole shared vectors file: both parsers agree on it (a large, real seed).
#[test]
fn json_agrees_with_serde_json_on_the_vectors_file() {
    let text = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/vectors/vectors.json"
    ))
    .unwrap();
    assert!(edge_oauth::json::parse(&text).is_ok());
    json_agrees(&text).unwrap();
}
