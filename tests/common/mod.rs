//! Vector loading shared by the root crate's vector tests (`rfc9449_dpop.rs`,
//! `rfc_pkce_jwk_jws.rs`).

#![allow(dead_code)]

use std::sync::OnceLock;

use serde_json::Value;

/// `../shared/vectors/vectors.json`, read once.
pub fn vectors() -> &'static Value {
    static VECTORS: OnceLock<Value> = OnceLock::new();
    VECTORS.get_or_init(|| {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/vectors/vectors.json"
        );
        let text = std::fs::read_to_string(path).expect("read vectors.json");
        serde_json::from_str(&text).expect("parse vectors.json")
    })
}

/// A string member of the vectors (panics when it is not a string).
pub fn s(v: &Value) -> &str {
    v.as_str().expect("string")
}

/// The core's own (strict) JSON value for a vectors.json value.
pub fn core_json(v: &Value) -> edge_oauth::json::Value {
    edge_oauth::json::parse(v.to_string().as_bytes()).expect("core JSON")
}

/// A core JSON object as a serde_json value, to compare with vectors.json.
pub fn serde_value(o: &edge_oauth::json::Object) -> Value {
    serde_json::from_str(&o.to_json()).expect("serde JSON")
}
