//! Strict request parameters: `application/x-www-form-urlencoded` (RFC 6749 Appendix B,
//! parsed by the core's `FormParams`) and `application/json` (as Auth0 accepts), into one
//! map.
//!
//! Both refuse a repeated parameter (even when one occurrence is empty, rules.md item 6),
//! bad UTF-8 or bad percent-escapes (item 3); JSON also refuses non-string values and
//! anything but a top-level object. Empty values count as absent (item 4); unknown
//! parameters are kept and ignored by the handlers (item 5).

use std::collections::BTreeMap;

/// Why parameters were refused (all become `invalid_request`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamsError {
    /// A parameter occurs more than once.
    Duplicate,
    /// A `%` not followed by two hex digits.
    BadEscape,
    /// The decoded octets are not UTF-8.
    BadUtf8,
    /// The JSON is malformed, not an object, or has a non-string value.
    BadJson,
}

impl ParamsError {
    /// A fixed description for `error_description`.
    #[must_use]
    pub fn describe(self) -> &'static str {
        match self {
            Self::Duplicate => "a parameter was included more than once",
            Self::BadEscape => "the body has a malformed percent-escape",
            Self::BadUtf8 => "the body is not valid UTF-8",
            Self::BadJson => "the JSON body must be an object of string values",
        }
    }
}

/// Decoded parameters (empty values dropped). Its `Debug` lists the names only: values
/// may be secrets, passwords or codes.
#[derive(Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Params(BTreeMap<String, String>);

impl core::fmt::Debug for Params {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|k| (k, "[redacted]")))
            .finish()
    }
}

impl Params {
    /// Parses `application/x-www-form-urlencoded` octets strictly.
    ///
    /// # Errors
    /// [`ParamsError`] for a repeated name, a bad escape or bad UTF-8.
    pub fn from_form(body: &[u8]) -> Result<Self, ParamsError> {
        let form =
            edge_oauth::token::request::FormParams::parse(body).map_err(|e| match e.code() {
                "FORM_DUPLICATE_PARAMETER" => ParamsError::Duplicate,
                "FORM_UTF8_INVALID" => ParamsError::BadUtf8,
                _ => ParamsError::BadEscape,
            })?;
        Ok(Self(
            form.iter()
                .map(|(n, v)| (n.to_owned(), v.to_owned()))
                .collect(),
        ))
    }

    /// Parses a JSON object whose values are all strings. serde_json's map keeps the last
    /// of repeated members, so duplicates are detected by a custom visitor.
    ///
    /// # Errors
    /// [`ParamsError`] for malformed JSON, a non-object, a non-string value or a repeated
    /// member.
    pub fn from_json(body: &[u8]) -> Result<Self, ParamsError> {
        let text = core::str::from_utf8(body).map_err(|_| ParamsError::BadUtf8)?;
        let mut duplicate = false;
        let seed = StrictStringMapSeed {
            duplicate: &mut duplicate,
        };
        let mut de = serde_json::Deserializer::from_str(text);
        let parsed = serde::de::DeserializeSeed::deserialize(seed, &mut de).and_then(|map| {
            de.end()?;
            Ok(map)
        });
        let mut map = match parsed {
            Ok(map) => map,
            Err(_) if duplicate => return Err(ParamsError::Duplicate),
            Err(_) => return Err(ParamsError::BadJson),
        };
        map.retain(|_, v| !v.is_empty());
        Ok(Self(map))
    }

    /// A parameter (never empty).
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Whether a parameter is present.
    #[must_use]
    pub fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// The first protocol parameter (one of [`PROTOCOL_PARAMETERS`]) whose value holds a
    /// control character (U+0000 to U+001F, U+007F to U+009F). RFC 6749 Appendix A
    /// allows only `VSCHAR` (`%x20-7E`) in `client_id`, `client_secret`, `code`,
    /// `refresh_token`, `state`..., `NQCHAR` in `scope`, and no CR or LF even in
    /// `username` and `password`: such a value is malformed (`invalid_request`), never
    /// looked up. Unknown parameters are ignored (§3.2), so they are not checked.
    ///
    /// ```
    /// use edge_oauth_worker::params::Params;
    /// let params = Params::from_form(b"grant_type=client_credentials&client_id=a%00b").unwrap();
    /// assert_eq!(params.control_character(), Some("client_id"));
    /// let params = Params::from_form(b"client_id=abc&unknown=%07").unwrap();
    /// assert_eq!(params.control_character(), None);
    /// ```
    #[must_use]
    pub fn control_character(&self) -> Option<&'static str> {
        PROTOCOL_PARAMETERS.iter().copied().find(|name| {
            self.get(name)
                .is_some_and(|v| v.chars().any(char::is_control))
        })
    }

    /// Adds a parameter (tests and internal use).
    pub fn insert(&mut self, name: &str, value: &str) {
        if !value.is_empty() {
            self.0.insert(name.to_owned(), value.to_owned());
        }
    }
}

/// The parameters of the authorization, token, revocation and PAR endpoints whose
/// syntax [`Params::control_character`] checks.
pub const PROTOCOL_PARAMETERS: [&str; 24] = [
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
    "grant_type",
    "code",
    "code_verifier",
    "redirect_uri",
    "refresh_token",
    "scope",
    "state",
    "nonce",
    "audience",
    "resource",
    "organization",
    "token",
    "token_type_hint",
    "response_type",
    "response_mode",
    "code_challenge",
    "code_challenge_method",
    "dpop_jkt",
    "request_uri",
    "username",
];

/// Deserialises a JSON object of strings, refusing a repeated member and recording that
/// it did so in a typed flag (serde_json's error text is not an API).
struct StrictStringMapSeed<'a> {
    duplicate: &'a mut bool,
}

impl<'de> serde::de::DeserializeSeed<'de> for StrictStringMapSeed<'_> {
    type Value = BTreeMap<String, String>;

    fn deserialize<D: serde::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Self::Value, D::Error> {
        struct Visitor<'a> {
            duplicate: &'a mut bool,
        }
        impl<'de> serde::de::Visitor<'de> for Visitor<'_> {
            type Value = BTreeMap<String, String>;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("an object of string values")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut access: A,
            ) -> Result<Self::Value, A::Error> {
                let mut map = BTreeMap::new();
                while let Some((k, v)) = access.next_entry::<String, String>()? {
                    if map.insert(k, v).is_some() {
                        *self.duplicate = true;
                        return Err(serde::de::Error::custom("repeated member"));
                    }
                }
                Ok(map)
            }
        }
        deserializer.deserialize_map(Visitor {
            duplicate: self.duplicate,
        })
    }
}

/// Percent-encodes for a query component (everything but unreserved characters).
#[must_use]
pub fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Escapes text for HTML element content and attribute values.
#[must_use]
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// Every case of `vectors.json` → `form_body_parsing` (RFC 6749 §3.2, Appendix B).
    #[test]
    fn rfc6749_appendix_b_form_body_parsing_vectors() {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/vectors/vectors.json"
        ))
        .unwrap();
        let v: Value = serde_json::from_str(&text).unwrap();
        let cases = v["form_body_parsing"]["form_body_parsing"]["cases"]
            .as_array()
            .unwrap();
        assert!(cases.len() >= 10);
        for case in cases {
            let body = case["body"].as_str().unwrap();
            let got = Params::from_form(body.as_bytes());
            match &case["expect"] {
                Value::String(s) if s == "error:invalid_request" => {
                    assert!(got.is_err(), "{body} should be refused");
                }
                // Recommended: refuse a duplicate even if one value is empty.
                Value::String(s) if s == "implementation_defined" => {
                    assert_eq!(got, Err(ParamsError::Duplicate), "{body}");
                }
                // NUL in a code: accepted here, refused later as an unknown code.
                Value::String(_) => {}
                Value::Object(expect) => {
                    let got = got.unwrap();
                    for (k, want) in expect {
                        assert_eq!(got.get(k), want.as_str(), "{body}");
                    }
                    // Names are case-sensitive: `Grant_Type` is kept but is not `grant_type`.
                    for name in ["grant_type", "scope", "code"] {
                        if !expect.contains_key(name) {
                            assert_eq!(got.get(name), None, "{body}");
                        }
                    }
                }
                other => panic!("unexpected expectation {other}"),
            }
        }
    }

    #[test]
    fn json_body_must_be_an_object_of_unique_strings() {
        let ok = Params::from_json(br#"{"grant_type":"client_credentials","scope":""}"#).unwrap();
        assert_eq!(ok.get("grant_type"), Some("client_credentials"));
        assert_eq!(ok.get("scope"), None);
        assert_eq!(
            Params::from_json(br#"{"a":"1","a":"2"}"#),
            Err(ParamsError::Duplicate)
        );
        assert_eq!(Params::from_json(br#"{"a":1}"#), Err(ParamsError::BadJson));
        assert_eq!(
            Params::from_json(br#"{"a":null}"#),
            Err(ParamsError::BadJson)
        );
        assert_eq!(Params::from_json(br#"["a"]"#), Err(ParamsError::BadJson));
        assert_eq!(
            Params::from_json(b"{\"a\":\"\xff\"}"),
            Err(ParamsError::BadUtf8)
        );
    }
}
