//! The strict JSON module, differential against serde_json: whatever it accepts,
//! serde_json accepts with the same value (serde_json may refuse an overflowing float,
//! which this module keeps as text), and its output is JSON again.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(ours) = edge_oauth::json::parse(data) else {
        return;
    };
    let theirs = match serde_json::from_slice::<serde_json::Value>(data) {
        Ok(v) => v,
        Err(e) if e.to_string().starts_with("number out of range") => return,
        Err(e) => panic!("json accepted what serde_json refuses: {e}"),
    };
    let round_trip: serde_json::Value =
        serde_json::from_str(&ours.to_json()).expect("to_json writes JSON");
    assert_eq!(round_trip, theirs);
    let _ = edge_oauth::json::parse_object(data);
});
