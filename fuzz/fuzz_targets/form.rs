//! The strict form codec (RFC 6749 Appendix B): no panic; what it parses, encode_form
//! writes back into a body that parses to the same parameters.
#![no_main]

use edge_oauth::token::request::{FormParams, encode_form};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(form) = FormParams::parse(data) else {
        return;
    };
    let body = encode_form(form.iter());
    let again = FormParams::parse(body.as_bytes()).expect("re-encoded form parses");
    for (name, value) in form.iter() {
        assert_eq!(again.get(name), Some(value));
    }
    assert_eq!(again.len(), form.len());
});
