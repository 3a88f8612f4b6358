//! HTTP Basic client credentials (RFC 6749 §2.3.1, RFC 7617): decoding never panics, and
//! decoded credentials encode and decode to themselves.
#![no_main]

use edge_oauth::token::request::{decode_basic_credentials, encode_basic_credentials};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    if let Ok((id, secret)) = decode_basic_credentials(text) {
        let header = encode_basic_credentials(&id, &secret).expect("decoded credentials encode");
        assert_eq!(
            decode_basic_credentials(header.as_str()).expect("round trip"),
            (id, secret)
        );
    }
});
