//! WWW-Authenticate challenges (RFC 9110 §11.6.1, RFC 6750 §3, RFC 9449 §7.1): no panic.
#![no_main]

use edge_oauth::token::response::parse_www_authenticate;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    if let Ok(challenges) = parse_www_authenticate(text) {
        for c in &challenges {
            let _ = (c.param("error"), c.param("realm"), c.scheme_is("DPoP"));
        }
    }
});
