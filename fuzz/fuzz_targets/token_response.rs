//! Token-endpoint answers (RFC 6749 §5.1, §5.2): success and error parsing and the
//! DPoP-Nonce header never panic, whatever the status, body and header.
#![no_main]

use edge_oauth::token::response::{parse_dpop_nonce, parse_error_response, parse_token_response};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (status, rest) = match data {
        [a, b, rest @ ..] => (u16::from_be_bytes([*a, *b]), rest),
        _ => return,
    };
    let text = String::from_utf8_lossy(rest);
    let (body, header) = text.split_once('\n').unwrap_or((&text, ""));
    let _ = parse_token_response(status, body, 1_700_000_000);
    let _ = parse_error_response(status, body, Some(header));
    let _ = parse_dpop_nonce(header);
});
