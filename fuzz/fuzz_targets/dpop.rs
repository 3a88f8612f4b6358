//! DPoP proof verification (RFC 9449 §4.3), the whole check list, on any input: no panic,
//! and only the RFC's own example proof verifies under its policy.
#![no_main]

use edge_oauth::dpop::{VerifyPolicy, normalize_htu, verify_proof};
use libfuzzer_sys::fuzz_target;

const PROOF: &str = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    let policy = VerifyPolicy::new("POST", "https://server.example.com/token", 1_562_262_616);
    if verify_proof(text, &policy).is_ok() {
        assert_eq!(text, PROOF, "only the example proof verifies");
    }
    let resource = VerifyPolicy {
        access_token: Some("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
        expected_jkt: Some("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"),
        nonce: Some("eyJ7S_zG.eyJH0-Z.HX4w-7v"),
        ..policy
    };
    let _ = verify_proof(text, &resource);
    let _ = normalize_htu(text);
});
