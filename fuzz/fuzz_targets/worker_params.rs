//! The worker's request parameters (form and JSON bodies), IP prefixes and incoming JWTs:
//! no panic; JSON parameters agree with serde_json on objects of strings.
#![no_main]

use edge_oauth_worker::params::Params;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Params::from_form(data).map(|p| p.control_character());
    if let Ok(params) = Params::from_json(data) {
        let theirs: std::collections::BTreeMap<String, String> =
            serde_json::from_slice(data).expect("serde_json reads what Params::from_json read");
        for (k, v) in &theirs {
            assert_eq!(params.get(k), (!v.is_empty()).then_some(v.as_str()));
        }
    }
    let text = String::from_utf8_lossy(data);
    let _ = edge_oauth_worker::ratelimit::ip_prefix(&text);
    let _ = edge_oauth_worker::jwt::DecodedJwt::decode(&text);
});
