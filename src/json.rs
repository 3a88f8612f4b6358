//! A small, strict JSON (RFC 8259) parser and writer.
//!
//! Hand-written because the npm package's size budget demands it: measured with twiggy on
//! the release wasm, `serde_json` cost 18 KB of code, the float formatting and parsing it
//! pulls in (core's `flt2dec` Grisu/Dragon and `zmij`) about 14 KB of code plus tables in
//! the data segment, `BTreeMap` (its `Map`) 7.5 KB, and serde's visitors more. The core
//! needs none of that: it reads small JOSE headers, claims sets, JWKs and token responses,
//! and writes flat objects.
//!
//! - [`parse`] and [`parse_object`] take bytes and accept exactly RFC 8259: UTF-8,
//!   whitespace of `%x20 / %x09 / %x0A / %x0D` only, every string escape (surrogate pairs
//!   joined, lone surrogates refused), no raw control characters in strings, numbers per
//!   the grammar (no leading zeros, `+`, `.5`, `NaN` or `Infinity`), nothing after the
//!   value. Beyond the RFC, a member name repeated in any object is refused (RFC 7515 §4,
//!   RFC 7519 §4 and RFC 6749 §3.2 allow or require it, and no two parsers can then
//!   disagree on which value counts), and nesting deeper than [`MAX_DEPTH`] is refused so
//!   that hostile input cannot exhaust the stack. Capping the input size is the caller's.
//! - There are no floats anywhere: a [`Number`] keeps its validated text and converts it
//!   exactly ([`Number::as_u64`], [`Number::as_i64`], [`Number::floor_i64`]).
//! - [`Object`] keeps members in document order.
//! - [`write_str`] and [`ObjectWriter`] write compact JSON.
//!
//! ```
//! use edge_oauth::json::{self, ObjectWriter};
//!
//! let v = json::parse(br#"{"iat": 1.7e9, "aud": ["a", "b"], "sub": "\u00e9"}"#).unwrap();
//! assert_eq!(v["iat"].as_number().unwrap().floor_i64(), Some(1_700_000_000));
//! assert_eq!(v["aud"][1], "b");
//! assert_eq!(v["sub"], "é");
//! assert_eq!(json::parse(br#"{"a":1,"a":2}"#).unwrap_err().to_string(), r#"duplicate member "a""#);
//!
//! let text = ObjectWriter::new().string("kty", "EC").int("iat", -5).finish();
//! assert_eq!(text, r#"{"kty":"EC","iat":-5}"#);
//! ```

use alloc::{string::String, vec::Vec};
use core::fmt;
use core::ops::Index;

/// The deepest nesting of arrays and objects [`parse`] accepts (the top-level value counts
/// as one level).
///
/// ```
/// let deep = "[".repeat(edge_oauth::json::MAX_DEPTH + 1);
/// assert_eq!(edge_oauth::json::parse(deep.as_bytes()).unwrap_err().reason(), "nesting too deep");
/// ```
pub const MAX_DEPTH: usize = 32;

/// The largest exponent magnitude [`Number::floor_i64`] works with.
const MAX_EXPONENT: i64 = 10_000;

/// The longest member name an error repeats.
const MAX_NAME_IN_ERROR: usize = 32;

// ----- values ---------------------------------------------------------------------------

/// A JSON value.
///
/// ```
/// use edge_oauth::json::{parse, Value};
///
/// let v = parse(br#"[null, true, "x"]"#).unwrap();
/// assert!(v[0].is_null());
/// assert_eq!(v[1].as_bool(), Some(true));
/// assert_eq!(v[2].as_str(), Some("x"));
/// assert_eq!(v[9], Value::Null);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Value {
    /// `null`.
    #[default]
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, kept as its text.
    Number(Number),
    /// A string.
    String(String),
    /// An array.
    Array(Vec<Value>),
    /// An object.
    Object(Object),
}

static NULL: Value = Value::Null;

impl Value {
    /// Whether this is `null`.
    ///
    /// ```
    /// assert!(edge_oauth::json::Value::Null.is_null());
    /// ```
    #[must_use]
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Whether this is a string.
    ///
    /// ```
    /// assert!(edge_oauth::json::parse(br#""x""#).unwrap().is_string());
    /// ```
    #[must_use]
    pub fn is_string(&self) -> bool {
        matches!(self, Value::String(_))
    }

    /// The boolean, if this is one.
    ///
    /// ```
    /// assert_eq!(edge_oauth::json::parse(b"false").unwrap().as_bool(), Some(false));
    /// ```
    #[must_use]
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The string, if this is one.
    ///
    /// ```
    /// assert_eq!(edge_oauth::json::parse(b"1").unwrap().as_str(), None);
    /// ```
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The number, if this is one.
    ///
    /// ```
    /// assert!(edge_oauth::json::parse(b"-0.5").unwrap().as_number().is_some());
    /// ```
    #[must_use]
    pub fn as_number(&self) -> Option<&Number> {
        match self {
            Value::Number(n) => Some(n),
            _ => None,
        }
    }

    /// The number as a `u64`, if it is written as an integer in range (see
    /// [`Number::as_u64`]).
    ///
    /// ```
    /// assert_eq!(edge_oauth::json::parse(b"3600").unwrap().as_u64(), Some(3600));
    /// ```
    #[must_use]
    pub fn as_u64(&self) -> Option<u64> {
        self.as_number().and_then(Number::as_u64)
    }

    /// The number as an `i64`, if it is written as an integer in range (see
    /// [`Number::as_i64`]).
    ///
    /// ```
    /// assert_eq!(edge_oauth::json::parse(b"-1").unwrap().as_i64(), Some(-1));
    /// ```
    #[must_use]
    pub fn as_i64(&self) -> Option<i64> {
        self.as_number().and_then(Number::as_i64)
    }

    /// The array, if this is one.
    ///
    /// ```
    /// assert_eq!(edge_oauth::json::parse(b"[1]").unwrap().as_array().map(Vec::len), Some(1));
    /// ```
    #[must_use]
    pub fn as_array(&self) -> Option<&Vec<Value>> {
        match self {
            Value::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The object, if this is one.
    ///
    /// ```
    /// assert!(edge_oauth::json::parse(b"{}").unwrap().as_object().is_some());
    /// ```
    #[must_use]
    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    /// The member `name`, if this is an object that has it.
    ///
    /// ```
    /// let v = edge_oauth::json::parse(br#"{"a":true}"#).unwrap();
    /// assert_eq!(v.get("a").and_then(|a| a.as_bool()), Some(true));
    /// ```
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.as_object().and_then(|o| o.get(name))
    }

    /// Appends the compact JSON text of this value to `out`.
    ///
    /// ```
    /// let mut out = String::new();
    /// edge_oauth::json::parse(b" [ 1 , { \"a\" : null } ] ").unwrap().write(&mut out);
    /// assert_eq!(out, r#"[1,{"a":null}]"#);
    /// ```
    pub fn write(&self, out: &mut String) {
        match self {
            Value::Null => out.push_str("null"),
            Value::Bool(true) => out.push_str("true"),
            Value::Bool(false) => out.push_str("false"),
            Value::Number(n) => out.push_str(n.as_str()),
            Value::String(s) => write_str(out, s),
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Value::Object(object) => object.write(out),
        }
    }

    /// The compact JSON text of this value.
    ///
    /// ```
    /// let v = edge_oauth::json::parse(b"{ \"n\" : 1e3 }").unwrap();
    /// assert_eq!(v.to_json(), r#"{"n":1e3}"#);
    /// ```
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }
}

/// `value["name"]`: the member, or `null` when this is not an object or has no such
/// member (never panics).
impl Index<&str> for Value {
    type Output = Value;
    fn index(&self, name: &str) -> &Value {
        self.get(name).unwrap_or(&NULL)
    }
}

/// `value[i]`: the element, or `null` when this is not an array or is too short (never
/// panics).
impl Index<usize> for Value {
    type Output = Value;
    fn index(&self, i: usize) -> &Value {
        self.as_array().and_then(|a| a.get(i)).unwrap_or(&NULL)
    }
}

impl PartialEq<str> for Value {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == Some(other)
    }
}

impl PartialEq<&str> for Value {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == Some(*other)
    }
}

impl PartialEq<bool> for Value {
    fn eq(&self, other: &bool) -> bool {
        self.as_bool() == Some(*other)
    }
}

impl PartialEq<i64> for Value {
    fn eq(&self, other: &i64) -> bool {
        self.as_i64() == Some(*other)
    }
}

impl PartialEq<i32> for Value {
    fn eq(&self, other: &i32) -> bool {
        self.as_i64() == Some(i64::from(*other))
    }
}

impl PartialEq<u64> for Value {
    fn eq(&self, other: &u64) -> bool {
        self.as_u64() == Some(*other)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::String(String::from(s))
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::String(s)
    }
}

impl From<Object> for Value {
    fn from(o: Object) -> Self {
        Value::Object(o)
    }
}

// ----- objects --------------------------------------------------------------------------

/// A JSON object: members in document order, no name twice.
///
/// ```
/// let o = edge_oauth::json::parse_object(br#"{"b":1,"a":2}"#).unwrap();
/// assert_eq!(o.iter().map(|(k, _)| k).collect::<Vec<_>>(), ["b", "a"]);
/// assert_eq!(o["a"], 2);
/// assert!(o.contains_key("b") && !o.contains_key("c"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Object {
    members: Vec<(String, Value)>,
}

impl Object {
    /// An empty object.
    ///
    /// ```
    /// assert!(edge_oauth::json::Object::new().is_empty());
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Object {
            members: Vec::new(),
        }
    }

    /// The value of member `name`.
    ///
    /// ```
    /// let o = edge_oauth::json::parse_object(br#"{"a":"x"}"#).unwrap();
    /// assert_eq!(o.get("a").and_then(|v| v.as_str()), Some("x"));
    /// ```
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.members.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// The value of member `name`, mutably.
    ///
    /// ```
    /// let mut o = edge_oauth::json::parse_object(br#"{"a":1}"#).unwrap();
    /// *o.get_mut("a").unwrap() = "b".into();
    /// assert_eq!(o["a"], "b");
    /// ```
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Value> {
        self.members
            .iter_mut()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// Whether member `name` is present.
    ///
    /// ```
    /// assert!(!edge_oauth::json::Object::new().contains_key("a"));
    /// ```
    #[must_use]
    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Sets member `name`, replacing (in place) and returning an earlier value.
    ///
    /// ```
    /// let mut o = edge_oauth::json::Object::new();
    /// assert_eq!(o.insert("a", "x".into()), None);
    /// assert_eq!(o.insert("a", "y".into()), Some("x".into()));
    /// assert_eq!(o.to_json(), r#"{"a":"y"}"#);
    /// ```
    pub fn insert(&mut self, name: &str, value: Value) -> Option<Value> {
        match self.get_mut(name) {
            Some(slot) => Some(core::mem::replace(slot, value)),
            None => {
                self.members.push((String::from(name), value));
                None
            }
        }
    }

    /// The number of members.
    ///
    /// ```
    /// assert_eq!(edge_oauth::json::parse_object(br#"{"a":1,"b":2}"#).unwrap().len(), 2);
    /// ```
    #[must_use]
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether there are no members.
    ///
    /// ```
    /// assert!(edge_oauth::json::parse_object(b"{}").unwrap().is_empty());
    /// ```
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The members in document order.
    ///
    /// ```
    /// let o = edge_oauth::json::parse_object(br#"{"a":1}"#).unwrap();
    /// assert_eq!(o.iter().next().map(|(k, v)| (k, v.as_u64())), Some(("a", Some(1))));
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.members.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Appends the compact JSON text of this object to `out`.
    ///
    /// ```
    /// let mut out = String::new();
    /// edge_oauth::json::parse_object(b"{ }").unwrap().write(&mut out);
    /// assert_eq!(out, "{}");
    /// ```
    pub fn write(&self, out: &mut String) {
        out.push('{');
        for (i, (name, value)) in self.members.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_str(out, name);
            out.push(':');
            value.write(out);
        }
        out.push('}');
    }

    /// The compact JSON text of this object.
    ///
    /// ```
    /// let o = edge_oauth::json::parse_object(br#"{"a" : [ ] }"#).unwrap();
    /// assert_eq!(o.to_json(), r#"{"a":[]}"#);
    /// ```
    #[must_use]
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }
}

/// `object["name"]`: the member, or `null` when absent (never panics).
impl Index<&str> for Object {
    type Output = Value;
    fn index(&self, name: &str) -> &Value {
        self.get(name).unwrap_or(&NULL)
    }
}

/// The members, by value, in document order.
impl IntoIterator for Object {
    type Item = (String, Value);
    type IntoIter = alloc::vec::IntoIter<(String, Value)>;
    fn into_iter(self) -> Self::IntoIter {
        self.members.into_iter()
    }
}

// ----- numbers --------------------------------------------------------------------------

/// A JSON number, kept as its validated text (no floats: conversions are exact).
///
/// ```
/// use edge_oauth::json::parse;
///
/// let n = parse(b"1.6999999995e9").unwrap().as_number().unwrap().clone();
/// assert_eq!(n.as_str(), "1.6999999995e9");
/// assert!(!n.is_integer());
/// assert_eq!(n.as_i64(), None);
/// assert_eq!(n.floor_i64(), Some(1_699_999_999));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Number {
    text: String,
}

/// The parts of a validated number: sign, integer digits, fraction digits, exponent text
/// (sign included, empty when absent).
struct Parts<'a> {
    negative: bool,
    int: &'a [u8],
    frac: &'a [u8],
    exp: &'a [u8],
}

impl Number {
    /// The number exactly as written in the document.
    ///
    /// ```
    /// assert_eq!(edge_oauth::json::parse(b"-0.0E+1").unwrap().as_number().unwrap().as_str(), "-0.0E+1");
    /// ```
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    fn parts(&self) -> Parts<'_> {
        let bytes = self.text.as_bytes();
        let (negative, rest) = match bytes.split_first() {
            Some((b'-', rest)) => (true, rest),
            _ => (false, bytes),
        };
        let int_len = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        let (int, rest) = rest.split_at(int_len);
        let (frac, exp) = match rest.split_first() {
            Some((b'.', after)) => {
                let n = after.iter().take_while(|b| b.is_ascii_digit()).count();
                after.split_at(n)
            }
            _ => (&rest[..0], rest),
        };
        // `exp` is empty or `e`/`E`, an optional sign, digits.
        let exp = exp.get(1..).unwrap_or(&[]);
        Parts {
            negative,
            int,
            frac,
            exp,
        }
    }

    /// Whether the number is written without a fraction or an exponent (`1.0` and `1e0`
    /// are not, though their value is an integer).
    ///
    /// ```
    /// use edge_oauth::json::parse;
    /// assert!(parse(b"-12").unwrap().as_number().unwrap().is_integer());
    /// assert!(!parse(b"12.0").unwrap().as_number().unwrap().is_integer());
    /// ```
    #[must_use]
    pub fn is_integer(&self) -> bool {
        !self.text.bytes().any(|b| matches!(b, b'.' | b'e' | b'E'))
    }

    /// The value as a `u64` if the number is written as an integer (no fraction, no
    /// exponent, no minus sign) and is in range.
    ///
    /// ```
    /// use edge_oauth::json::parse;
    /// assert_eq!(parse(b"18446744073709551615").unwrap().as_u64(), Some(u64::MAX));
    /// assert_eq!(parse(b"18446744073709551616").unwrap().as_u64(), None);
    /// assert_eq!(parse(b"1e3").unwrap().as_u64(), None);
    /// assert_eq!(parse(b"-0").unwrap().as_u64(), None);
    /// ```
    #[must_use]
    pub fn as_u64(&self) -> Option<u64> {
        let p = self.parts();
        if p.negative || !self.is_integer() {
            return None;
        }
        digits_u64(p.int)
    }

    /// The value as an `i64` if the number is written as an integer (no fraction, no
    /// exponent) and is in range.
    ///
    /// ```
    /// use edge_oauth::json::parse;
    /// assert_eq!(parse(b"-9223372036854775808").unwrap().as_i64(), Some(i64::MIN));
    /// assert_eq!(parse(b"9223372036854775808").unwrap().as_i64(), None);
    /// assert_eq!(parse(b"-0").unwrap().as_i64(), Some(0));
    /// ```
    #[must_use]
    pub fn as_i64(&self) -> Option<i64> {
        let p = self.parts();
        if !self.is_integer() {
            return None;
        }
        let magnitude = digits_u64(p.int)?;
        if p.negative {
            0i64.checked_sub_unsigned(magnitude)
        } else {
            i64::try_from(magnitude).ok()
        }
    }

    /// The exact floor of the value, whatever its form (fraction, exponent), saturated to
    /// the `i64` range; the work is bounded by the length of the text. `None` only for an
    /// exponent beyond ±10000, which no sensible value needs. Meant for NumericDate
    /// claims (RFC 7519 §2), which need not be integers.
    ///
    /// ```
    /// use edge_oauth::json::parse;
    /// let floor = |t: &str| parse(t.as_bytes()).unwrap().as_number().unwrap().floor_i64();
    /// assert_eq!(floor("1.9"), Some(1));
    /// assert_eq!(floor("-1.5"), Some(-2));
    /// assert_eq!(floor("-2.0"), Some(-2));
    /// assert_eq!(floor("17e-1"), Some(1));
    /// assert_eq!(floor("1e30"), Some(i64::MAX));
    /// assert_eq!(floor("-1e30"), Some(i64::MIN));
    /// assert_eq!(floor("1e99999"), None);
    /// ```
    #[must_use]
    pub fn floor_i64(&self) -> Option<i64> {
        let p = self.parts();
        let exp = exponent(p.exp)?;
        // Value = ±0.DIGITS × 10^point, DIGITS = int ++ frac.
        let point = i64::try_from(p.int.len()).ok()? + exp;
        let digits = p.int.iter().chain(p.frac.iter()).copied();
        let mut magnitude: u64 = 0;
        let mut saturated = false;
        let mut fraction = false;
        let mut index: i64 = 0;
        for d in digits {
            if index < point {
                if !saturated {
                    match magnitude
                        .checked_mul(10)
                        .and_then(|m| m.checked_add(u64::from(d - b'0')))
                    {
                        Some(m) => magnitude = m,
                        None => saturated = true,
                    }
                }
            } else if d != b'0' {
                fraction = true;
                break;
            }
            index += 1;
        }
        // Trailing zeros when the exponent moves the point past the digits.
        while index < point && !saturated && magnitude != 0 {
            match magnitude.checked_mul(10) {
                Some(m) => magnitude = m,
                None => saturated = true,
            }
            index += 1;
        }
        Some(if p.negative {
            let m = if saturated {
                u64::MAX
            } else {
                magnitude.saturating_add(u64::from(fraction))
            };
            0i64.checked_sub_unsigned(m).unwrap_or(i64::MIN)
        } else if saturated {
            i64::MAX
        } else {
            i64::try_from(magnitude).unwrap_or(i64::MAX)
        })
    }
}

/// Parses ASCII digits into a `u64`, `None` on overflow.
fn digits_u64(digits: &[u8]) -> Option<u64> {
    digits.iter().try_fold(0u64, |acc, d| {
        acc.checked_mul(10)?.checked_add(u64::from(d - b'0'))
    })
}

/// The exponent (`[+-]digits`, or empty for none), `None` beyond ±[`MAX_EXPONENT`].
fn exponent(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    let mut value: i64 = 0;
    for d in digits {
        value = value * 10 + i64::from(d - b'0');
        if value > MAX_EXPONENT {
            return None;
        }
    }
    Some(if negative { -value } else { value })
}

// ----- errors ---------------------------------------------------------------------------

/// Why [`parse`] refused a document: a static reason, where it was found, and for a
/// repeated member its name (truncated, with anything but printable ASCII replaced).
///
/// ```
/// let e = edge_oauth::json::parse(br#"{"a":{"b\n":1,"b\n":2}}"#).unwrap_err();
/// assert_eq!(e.reason(), "duplicate member");
/// assert_eq!(e.member(), Some("b?"));
/// assert_eq!(e.depth(), 2);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    reason: &'static str,
    offset: usize,
    depth: usize,
    member: Option<String>,
}

impl JsonError {
    fn new(reason: &'static str, offset: usize) -> Self {
        JsonError {
            reason,
            offset,
            depth: 0,
            member: None,
        }
    }

    /// What is wrong: `"invalid UTF-8"`, `"duplicate member"`, `"nesting too deep"`,
    /// `"not an object"`, `"trailing data"`, `"unexpected end"`, ...
    ///
    /// ```
    /// assert_eq!(edge_oauth::json::parse(b"{} x").unwrap_err().reason(), "trailing data");
    /// ```
    #[must_use]
    pub fn reason(&self) -> &'static str {
        self.reason
    }

    /// Whether the document is JSON whose objects repeat a member name.
    ///
    /// ```
    /// assert!(edge_oauth::json::parse(br#"[{"a":1,"a":1}]"#).unwrap_err().is_duplicate());
    /// ```
    #[must_use]
    pub fn is_duplicate(&self) -> bool {
        self.member.is_some()
    }

    /// The repeated member's name, sanitised, for a `"duplicate member"` error.
    ///
    /// ```
    /// let e = edge_oauth::json::parse(br#"{"scope":1,"scope":2}"#).unwrap_err();
    /// assert_eq!(e.member(), Some("scope"));
    /// ```
    #[must_use]
    pub fn member(&self) -> Option<&str> {
        self.member.as_deref()
    }

    /// For a `"duplicate member"` error, the nesting depth of the object that repeats the
    /// member (1 for the top-level object); 0 otherwise.
    ///
    /// ```
    /// assert_eq!(edge_oauth::json::parse(br#"{"a":1,"a":1}"#).unwrap_err().depth(), 1);
    /// ```
    #[must_use]
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// The byte offset at which the problem was found.
    ///
    /// ```
    /// assert_eq!(edge_oauth::json::parse(b"[1,]").unwrap_err().offset(), 3);
    /// ```
    #[must_use]
    pub fn offset(&self) -> usize {
        self.offset
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason)?;
        if let Some(name) = &self.member {
            f.write_str(" \"")?;
            f.write_str(name)?;
            f.write_str("\"")?;
        }
        Ok(())
    }
}

/// A member name fit to appear in an error message: printable ASCII other than `"` and
/// `\`, at most [`MAX_NAME_IN_ERROR`] characters (then `...`).
fn sanitize(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if i == MAX_NAME_IN_ERROR {
            out.push_str("...");
            break;
        }
        out.push(if matches!(c, ' '..='~') && c != '"' && c != '\\' {
            c
        } else {
            '?'
        });
    }
    out
}

// ----- parsing --------------------------------------------------------------------------

/// Parses one JSON value from UTF-8 bytes (see the [module docs](self) for what is
/// refused).
///
/// # Errors
///
/// [`JsonError`] naming the first problem found.
///
/// ```
/// use edge_oauth::json::parse;
///
/// // RFC 8259 §13.
/// let v = parse(br#"[
///   { "precision": "zip", "Latitude": 37.7668, "Longitude": -122.3959,
///     "Address": "", "City": "SAN FRANCISCO", "State": "CA", "Zip": "94107",
///     "Country": "US" }
/// ]"#).unwrap();
/// assert_eq!(v[0]["City"], "SAN FRANCISCO");
/// assert_eq!(parse(b"\"Hello world!\"").unwrap(), "Hello world!");
/// assert_eq!(parse(b"42").unwrap(), 42);
/// for bad in [&b"01"[..], b"+1", b".5", b"1.", b"NaN", b"[1,]", b"{\"a\":1,}", b"'x'", b"\xff"] {
///     assert!(parse(bad).is_err());
/// }
/// ```
pub fn parse(bytes: &[u8]) -> Result<Value, JsonError> {
    let text = core::str::from_utf8(bytes)
        .map_err(|e| JsonError::new("invalid UTF-8", e.valid_up_to()))?;
    let mut parser = Parser { text, pos: 0 };
    parser.skip_ws();
    let value = parser.value(1)?;
    parser.skip_ws();
    if parser.pos != text.len() {
        return Err(parser.error("trailing data"));
    }
    Ok(value)
}

/// Parses a JSON document whose top level must be an object.
///
/// # Errors
///
/// As [`parse`], and `"not an object"` for any other top-level value.
///
/// ```
/// use edge_oauth::json::parse_object;
/// assert_eq!(parse_object(br#"{"a":1}"#).unwrap()["a"], 1);
/// assert_eq!(parse_object(b"[]").unwrap_err().reason(), "not an object");
/// ```
pub fn parse_object(bytes: &[u8]) -> Result<Object, JsonError> {
    match parse(bytes)? {
        Value::Object(object) => Ok(object),
        _ => Err(JsonError::new("not an object", 0)),
    }
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn error(&self, reason: &'static str) -> JsonError {
        JsonError::new(reason, self.pos)
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn next(&mut self) -> Result<u8, JsonError> {
        let b = self.peek().ok_or(self.error("unexpected end"))?;
        self.pos += 1;
        Ok(b)
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect_literal(&mut self, literal: &str) -> Result<(), JsonError> {
        if self.text.as_bytes()[self.pos..].starts_with(literal.as_bytes()) {
            self.pos += literal.len();
            Ok(())
        } else {
            Err(self.error("invalid literal"))
        }
    }

    /// A value; `depth` is the nesting level an array or object here would have.
    fn value(&mut self, depth: usize) -> Result<Value, JsonError> {
        match self.peek() {
            None => Err(self.error("unexpected end")),
            Some(b'{') => self.object(depth).map(Value::Object),
            Some(b'[') => self.array(depth).map(Value::Array),
            Some(b'"') => self.string().map(Value::String),
            Some(b't') => self.expect_literal("true").map(|()| Value::Bool(true)),
            Some(b'f') => self.expect_literal("false").map(|()| Value::Bool(false)),
            Some(b'n') => self.expect_literal("null").map(|()| Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number().map(Value::Number),
            Some(_) => Err(self.error("expected a value")),
        }
    }

    fn array(&mut self, depth: usize) -> Result<Vec<Value>, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nesting too deep"));
        }
        self.pos += 1; // '['
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(items);
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth + 1)?);
            self.skip_ws();
            match self.next()? {
                b',' => {}
                b']' => return Ok(items),
                _ => {
                    self.pos -= 1;
                    return Err(self.error("expected ',' or ']'"));
                }
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Object, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nesting too deep"));
        }
        let start = self.pos;
        self.pos += 1; // '{'
        let mut members = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Object { members });
        }
        loop {
            self.skip_ws();
            match self.peek() {
                Some(b'"') => {}
                None => return Err(self.error("unexpected end")),
                Some(_) => return Err(self.error("expected a member name")),
            }
            let name = self.string()?;
            self.skip_ws();
            if self.next()? != b':' {
                self.pos -= 1;
                return Err(self.error("expected ':'"));
            }
            self.skip_ws();
            let value = self.value(depth + 1)?;
            members.push((name, value));
            self.skip_ws();
            match self.next()? {
                b',' => {}
                b'}' => break,
                _ => {
                    self.pos -= 1;
                    return Err(self.error("expected ',' or '}'"));
                }
            }
        }
        if let Some(name) = repeated_name(&members) {
            return Err(JsonError {
                reason: "duplicate member",
                offset: start,
                depth,
                member: Some(sanitize(name)),
            });
        }
        Ok(Object { members })
    }

    fn string(&mut self) -> Result<String, JsonError> {
        self.pos += 1; // '"'
        let mut out = String::new();
        loop {
            // Copy the run of plain characters up to the next '"', '\' or control
            // character (all ASCII, so the slice ends on a character boundary).
            let rest = &self.text.as_bytes()[self.pos..];
            let run = rest
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                .ok_or(JsonError::new("unterminated string", self.text.len()))?;
            out.push_str(self.text.get(self.pos..self.pos + run).unwrap_or_default());
            self.pos += run;
            match self.next()? {
                b'"' => return Ok(out),
                b'\\' => {
                    let c = match self.next()? {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => {
                            self.pos -= 1;
                            return Err(self.error("invalid escape"));
                        }
                    };
                    out.push(c);
                }
                _ => {
                    self.pos -= 1;
                    return Err(self.error("control character in string"));
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let mut v = 0;
        for _ in 0..4 {
            let d = match self.next()? {
                b @ b'0'..=b'9' => b - b'0',
                b @ b'a'..=b'f' => b - b'a' + 10,
                b @ b'A'..=b'F' => b - b'A' + 10,
                _ => {
                    self.pos -= 1;
                    return Err(self.error("invalid \\u escape"));
                }
            };
            v = v * 16 + u32::from(d);
        }
        Ok(v)
    }

    /// After `\u`: one code point, joining a UTF-16 surrogate pair.
    fn unicode_escape(&mut self) -> Result<char, JsonError> {
        let start = self.pos - 2;
        let first = self.hex4()?;
        let code = match first {
            0xD800..=0xDBFF => {
                if !self.text.as_bytes()[self.pos..].starts_with(b"\\u") {
                    return Err(JsonError::new("lone surrogate", start));
                }
                self.pos += 2;
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(JsonError::new("lone surrogate", start));
                }
                0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            }
            0xDC00..=0xDFFF => return Err(JsonError::new("lone surrogate", start)),
            _ => first,
        };
        char::from_u32(code).ok_or(JsonError::new("lone surrogate", start))
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    /// `number = [ minus ] int [ frac ] [ exp ]` (RFC 8259 §6).
    fn number(&mut self) -> Result<Number, JsonError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => {
                self.pos += 1;
                if matches!(self.peek(), Some(b'0'..=b'9')) {
                    return Err(self.error("leading zero in number"));
                }
            }
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.error("invalid number")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.error("invalid number"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.error("invalid number"));
            }
        }
        Ok(Number {
            // ASCII digits, signs and points: always on character boundaries.
            text: String::from(self.text.get(start..self.pos).unwrap_or_default()),
        })
    }
}

/// A member name that occurs twice, if any. Small objects are compared pairwise; larger
/// ones are sorted, so that hostile input costs O(n log n), not O(n²).
fn repeated_name(members: &[(String, Value)]) -> Option<&str> {
    const PAIRWISE_MAX: usize = 16;
    if members.len() <= PAIRWISE_MAX {
        for (i, (name, _)) in members.iter().enumerate() {
            if members[..i].iter().any(|(other, _)| other == name) {
                return Some(name);
            }
        }
        return None;
    }
    let mut names: Vec<&str> = members.iter().map(|(name, _)| name.as_str()).collect();
    heapsort(&mut names);
    names.windows(2).find(|w| w[0] == w[1]).map(|w| w[0])
}

/// In-place heapsort. Hand-written for size: `sort_unstable` adds about 3 KB of wasm
/// (ipnsort's quicksort, pivot and small-sort paths) for this one cold path.
fn heapsort(v: &mut [&str]) {
    let n = v.len();
    for root in (0..n / 2).rev() {
        sift_down(v, root, n);
    }
    for end in (1..n).rev() {
        v.swap(0, end);
        sift_down(v, 0, end);
    }
}

fn sift_down(v: &mut [&str], mut root: usize, end: usize) {
    loop {
        let mut child = 2 * root + 1;
        if child >= end {
            return;
        }
        if child + 1 < end && v[child] < v[child + 1] {
            child += 1;
        }
        if v[root] >= v[child] {
            return;
        }
        v.swap(root, child);
        root = child;
    }
}

// ----- writing --------------------------------------------------------------------------

/// Appends `s` as a JSON string: quoted, with `"` and `\` escaped, the control characters
/// that have one in their short form (`\b \f \n \r \t`) and the others as `\u00XX`.
/// Everything else, non-ASCII included, is written as is.
///
/// ```
/// let mut out = String::new();
/// edge_oauth::json::write_str(&mut out, "a\"b\\c\n\u{1}é");
/// assert_eq!(out, r#""a\"b\\c\n\u0001é""#);
/// ```
pub fn write_str(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(s.len() + 2);
    out.push('"');
    // Char by char, without slicing `s`: no char-boundary panic path in the wasm.
    for c in s.chars() {
        let short = match c {
            '"' => '"',
            '\\' => '\\',
            '\u{8}' => 'b',
            '\u{c}' => 'f',
            '\n' => 'n',
            '\r' => 'r',
            '\t' => 't',
            '\0'..='\u{1f}' => 'u',
            _ => {
                out.push(c);
                continue;
            }
        };
        out.push('\\');
        out.push(short);
        if short == 'u' {
            let b = c as u8;
            out.push_str("00");
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
    out.push('"');
}

/// Appends the decimal digits of `n`.
fn write_int(out: &mut String, n: i64) {
    if n < 0 {
        out.push('-');
    }
    write_u64(out, n.unsigned_abs());
}

/// Appends the decimal digits of `magnitude` (without `core::fmt`, which the wasm entries
/// leave out).
pub(crate) fn write_u64(out: &mut String, mut magnitude: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (magnitude % 10) as u8;
        magnitude /= 10;
        if magnitude == 0 {
            break;
        }
    }
    for &d in &buf[i..] {
        out.push(char::from(d));
    }
}

/// Writes a flat JSON object member by member, in the order given, without whitespace
/// (JWS headers, JWT claims, and RFC 7638 canonical JWKs when the members are given in
/// lexicographic order). Names are not checked for repeats: that is the caller's.
///
/// ```
/// use edge_oauth::json::ObjectWriter;
///
/// let jwk = ObjectWriter::new().string("crv", "P-256").string("kty", "EC").finish();
/// let header = ObjectWriter::new()
///     .string("alg", "ES256")
///     .raw("jwk", &jwk)
///     .string("typ", "dpop+jwt")
///     .finish();
/// assert_eq!(header, r#"{"alg":"ES256","jwk":{"crv":"P-256","kty":"EC"},"typ":"dpop+jwt"}"#);
/// assert_eq!(ObjectWriter::new().finish(), "{}");
/// ```
#[derive(Debug, Clone)]
pub struct ObjectWriter {
    out: String,
}

impl Default for ObjectWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl ObjectWriter {
    /// An empty object.
    ///
    /// ```
    /// assert_eq!(edge_oauth::json::ObjectWriter::new().finish(), "{}");
    /// ```
    #[must_use]
    pub fn new() -> Self {
        ObjectWriter {
            out: String::from("{"),
        }
    }

    fn name(&mut self, name: &str) {
        if self.out.len() > 1 {
            self.out.push(',');
        }
        write_str(&mut self.out, name);
        self.out.push(':');
    }

    /// Adds a string member.
    ///
    /// ```
    /// let o = edge_oauth::json::ObjectWriter::new().string("a", "\"").finish();
    /// assert_eq!(o, r#"{"a":"\""}"#);
    /// ```
    #[must_use]
    pub fn string(mut self, name: &str, value: &str) -> Self {
        self.name(name);
        write_str(&mut self.out, value);
        self
    }

    /// Adds an integer member.
    ///
    /// ```
    /// let o = edge_oauth::json::ObjectWriter::new().int("min", i64::MIN).int("z", 0).finish();
    /// assert_eq!(o, r#"{"min":-9223372036854775808,"z":0}"#);
    /// ```
    #[must_use]
    pub fn int(mut self, name: &str, value: i64) -> Self {
        self.name(name);
        write_int(&mut self.out, value);
        self
    }

    /// Adds a boolean member.
    ///
    /// ```
    /// let o = edge_oauth::json::ObjectWriter::new().bool("ok", true).finish();
    /// assert_eq!(o, r#"{"ok":true}"#);
    /// ```
    #[must_use]
    pub fn bool(mut self, name: &str, value: bool) -> Self {
        self.name(name);
        self.out.push_str(if value { "true" } else { "false" });
        self
    }

    /// Adds a member whose value is `json`, already JSON text (not checked).
    ///
    /// ```
    /// let o = edge_oauth::json::ObjectWriter::new().raw("a", "[1,2]").finish();
    /// assert_eq!(o, r#"{"a":[1,2]}"#);
    /// ```
    #[must_use]
    pub fn raw(mut self, name: &str, json: &str) -> Self {
        self.name(name);
        self.out.push_str(json);
        self
    }

    /// Closes the object and returns its text.
    ///
    /// ```
    /// let o = edge_oauth::json::ObjectWriter::new().string("k", "v").finish();
    /// assert_eq!(o, r#"{"k":"v"}"#);
    /// ```
    #[must_use]
    pub fn finish(mut self) -> String {
        self.out.push('}');
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::borrow::ToOwned;
    use alloc::string::ToString;
    use alloc::{format, vec};

    fn reason(text: &str) -> &'static str {
        parse(text.as_bytes()).unwrap_err().reason()
    }

    fn floor(text: &str) -> Option<i64> {
        parse(text.as_bytes())
            .unwrap()
            .as_number()
            .unwrap()
            .floor_i64()
    }

    #[test]
    fn rfc8259_13_examples() {
        let image = br#"{
          "Image": {
              "Width":  800,
              "Height": 600,
              "Title":  "View from 15th Floor",
              "Thumbnail": {
                  "Url":    "http://www.example.com/image/481989943",
                  "Height": 125,
                  "Width":  100
              },
              "Animated" : false,
              "IDs": [116, 943, 234, 38793]
            }
        }"#;
        let v = parse(image).unwrap();
        assert_eq!(v["Image"]["Width"], 800);
        assert_eq!(
            v["Image"]["Thumbnail"]["Url"],
            "http://www.example.com/image/481989943"
        );
        assert_eq!(v["Image"]["Animated"], false);
        assert_eq!(v["Image"]["IDs"][3], 38793);
        assert_eq!(
            v.to_json(),
            r#"{"Image":{"Width":800,"Height":600,"Title":"View from 15th Floor","Thumbnail":{"Url":"http://www.example.com/image/481989943","Height":125,"Width":100},"Animated":false,"IDs":[116,943,234,38793]}}"#
        );
        let places = br#"[
          { "precision": "zip", "Latitude":  37.7668, "Longitude": -122.3959,
            "Address": "", "City": "SAN FRANCISCO", "State": "CA", "Zip": "94107", "Country": "US" },
          { "precision": "zip", "Latitude":  37.371991, "Longitude": -122.026020,
            "Address": "", "City": "SUNNYVALE", "State": "CA", "Zip": "94085", "Country": "US" }
        ]"#;
        let v = parse(places).unwrap();
        assert_eq!(
            v[1]["Longitude"].as_number().unwrap().as_str(),
            "-122.026020"
        );
        assert_eq!(v[1]["Latitude"].as_number().unwrap().floor_i64(), Some(37));
        assert_eq!(
            v[0]["Longitude"].as_number().unwrap().floor_i64(),
            Some(-123)
        );
        // Bare scalars are JSON texts too (§2).
        assert_eq!(parse(b"\"Hello world!\"").unwrap(), "Hello world!");
        assert_eq!(parse(b"42").unwrap(), 42);
        assert_eq!(parse(b"true").unwrap(), true);
        assert!(parse(b" null ").unwrap().is_null());
    }

    #[test]
    fn rfc8259_2_whitespace() {
        assert!(parse(b" \t\r\n{ \t\r\n\"a\" \t\r\n: \t\r\n[ 1 , 2 ] \t\r\n} \t\r\n").is_ok());
        for bad in ["\u{c}{}", "{}\u{b}", "\u{a0}1", "\u{feff}{}", "\u{2028}1"] {
            assert!(parse(bad.as_bytes()).is_err(), "{bad:?}");
        }
        assert_eq!(reason(""), "unexpected end");
        assert_eq!(reason("   "), "unexpected end");
    }

    #[test]
    fn rfc8259_literals_and_structure() {
        for (text, why) in [
            ("tru", "invalid literal"),
            ("True", "expected a value"),
            ("nul", "invalid literal"),
            ("[1,]", "expected a value"),
            ("[,1]", "expected a value"),
            ("[1 2]", "expected ',' or ']'"),
            ("[1", "unexpected end"),
            ("{\"a\":1,}", "expected a member name"),
            ("{\"a\" 1}", "expected ':'"),
            ("{\"a\":1 \"b\":2}", "expected ',' or '}'"),
            ("{a:1}", "expected a member name"),
            ("{'a':1}", "expected a member name"),
            ("{1:1}", "expected a member name"),
            ("{\"a\":}", "expected a value"),
            ("{\"a\"", "unexpected end"),
            ("{}}", "trailing data"),
            ("1 2", "trailing data"),
            ("{} x", "trailing data"),
            ("[] // c", "trailing data"),
            ("/* c */ []", "expected a value"),
            ("'x'", "expected a value"),
        ] {
            assert_eq!(reason(text), why, "{text:?}");
        }
        assert_eq!(parse(b"[]").unwrap(), Value::Array(vec![]));
        assert_eq!(parse(b"{}").unwrap(), Value::Object(Object::new()));
        assert_eq!(parse(b"[[],{},[{}]]").unwrap().to_json(), "[[],{},[{}]]");
    }

    #[test]
    fn rfc8259_6_numbers() {
        for good in [
            "0",
            "-0",
            "1",
            "-1",
            "10",
            "0.5",
            "-0.0",
            "1e5",
            "1E5",
            "1e+5",
            "1e-5",
            "1.5e05",
            "123456789012345678901234567890",
            "1e999999999",
        ] {
            let v = parse(good.as_bytes()).unwrap();
            assert_eq!(v.as_number().unwrap().as_str(), good);
        }
        for bad in [
            "01",
            "-01",
            "00",
            "+1",
            ".5",
            "1.",
            "1.e5",
            "1e",
            "1e+",
            "-",
            "--1",
            "-a",
            "NaN",
            "Infinity",
            "-Infinity",
            "0x10",
            "1_000",
            "1,5",
        ] {
            let r = reason(bad);
            assert!(
                matches!(
                    r,
                    "invalid number"
                        | "leading zero in number"
                        | "trailing data"
                        | "expected a value"
                ),
                "{bad}: {r}"
            );
        }
        assert_eq!(reason("01"), "leading zero in number");
        assert_eq!(reason("1."), "invalid number");
    }

    #[test]
    fn integer_conversions_are_exact() {
        let n = |t: &str| parse(t.as_bytes()).unwrap().as_number().unwrap().clone();
        assert_eq!(n("0").as_u64(), Some(0));
        assert_eq!(n("18446744073709551615").as_u64(), Some(u64::MAX));
        assert_eq!(n("18446744073709551616").as_u64(), None);
        assert_eq!(n("-1").as_u64(), None);
        assert_eq!(n("3600.0").as_u64(), None);
        assert_eq!(n("3600.5").as_u64(), None);
        assert_eq!(n("1e3").as_u64(), None);
        assert_eq!(n("9223372036854775807").as_i64(), Some(i64::MAX));
        assert_eq!(n("9223372036854775808").as_i64(), None);
        assert_eq!(n("-9223372036854775808").as_i64(), Some(i64::MIN));
        assert_eq!(n("-9223372036854775809").as_i64(), None);
        assert_eq!(n("-0").as_i64(), Some(0));
        assert!(n("-7").is_integer());
        assert!(!n("7.0").is_integer() && !n("7e0").is_integer() && !n("7E0").is_integer());
    }

    #[test]
    fn floor_of_tricky_numbers() {
        assert_eq!(floor("1.6999999995e9"), Some(1_699_999_999));
        assert_eq!(floor("1.7e9"), Some(1_700_000_000));
        assert_eq!(
            floor("1700000000.999999999999999999999"),
            Some(1_700_000_000)
        );
        assert_eq!(floor("0"), Some(0));
        assert_eq!(floor("-0"), Some(0));
        assert_eq!(floor("-0.0"), Some(0));
        assert_eq!(floor("0.1"), Some(0));
        assert_eq!(floor("-0.1"), Some(-1));
        assert_eq!(floor("1.5"), Some(1));
        assert_eq!(floor("-1.5"), Some(-2));
        assert_eq!(floor("-2.0"), Some(-2));
        assert_eq!(floor("-2.000000000000000000001"), Some(-3));
        assert_eq!(floor("25e-1"), Some(2));
        assert_eq!(floor("-25e-1"), Some(-3));
        assert_eq!(floor("0.00017e4"), Some(1));
        assert_eq!(floor("1e-10000"), Some(0));
        assert_eq!(floor("-1e-10000"), Some(-1));
        assert_eq!(floor("0e10000"), Some(0));
        assert_eq!(floor("0.000e-5"), Some(0));
        assert_eq!(floor("12E+2"), Some(1200));
        assert_eq!(floor("9223372036854775807"), Some(i64::MAX));
        assert_eq!(floor("9223372036854775808"), Some(i64::MAX));
        assert_eq!(floor("18446744073709551615"), Some(i64::MAX));
        assert_eq!(floor("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(floor("-9223372036854775807.5"), Some(i64::MIN));
        assert_eq!(floor("-9223372036854775808.5"), Some(i64::MIN));
        assert_eq!(floor("-9223372036854775807.1"), Some(i64::MIN));
        assert_eq!(floor("-9223372036854775806.1"), Some(i64::MIN + 1));
        assert_eq!(floor("1e10000"), Some(i64::MAX));
        assert_eq!(floor("-1e10000"), Some(i64::MIN));
        assert_eq!(floor("1e10001"), None);
        assert_eq!(floor("1e-10001"), None);
        assert_eq!(floor("1e99999999999999999999999"), None);
        // The work is bounded by the text: a long mantissa, a large exponent.
        let long = format!("0.{}1e10000", "0".repeat(5000));
        assert_eq!(floor(&long), Some(i64::MAX));
        let long = format!("1{}e-5000", "0".repeat(5000));
        assert_eq!(floor(&long), Some(1));
    }

    #[test]
    fn strings_and_escapes() {
        let s = |t: &str| parse(t.as_bytes()).unwrap().as_str().unwrap().to_owned();
        assert_eq!(s(r#""\"\\\/\b\f\n\r\t""#), "\"\\/\u{8}\u{c}\n\r\t");
        assert_eq!(s(r#""\u0041\u00e9\u00E9\u20ac""#), "Aéé€");
        assert_eq!(s(r#""\u0000""#), "\0");
        assert_eq!(s("\"é€😀\u{7f}\""), "é€😀\u{7f}");
        // RFC 8259 §7: G clef as a surrogate pair.
        assert_eq!(s(r#""\uD834\uDD1E""#), "\u{1d11e}");
        assert_eq!(s(r#""\ud83d\ude00x""#), "😀x");
        for (text, why) in [
            (r#""\uD834""#, "lone surrogate"),
            (r#""\uD834x""#, "lone surrogate"),
            (r#""\uD834\n""#, "lone surrogate"),
            (r#""\uD834\u0041""#, "lone surrogate"),
            (r#""\uD834\uD834""#, "lone surrogate"),
            (r#""\uDD1E""#, "lone surrogate"),
            (r#""\uDD1E\uD834""#, "lone surrogate"),
            (r#""\u12""#, "invalid \\u escape"),
            (r#""\u12G4""#, "invalid \\u escape"),
            (r#""\x41""#, "invalid escape"),
            (r#""\'""#, "invalid escape"),
            (r#""\U0041""#, "invalid escape"),
            ("\"a\nb\"", "control character in string"),
            ("\"a\tb\"", "control character in string"),
            ("\"\u{0}\"", "control character in string"),
            ("\"\u{1f}\"", "control character in string"),
            ("\"abc", "unterminated string"),
            ("\"abc\\", "unexpected end"),
            ("\"\\u00", "unexpected end"),
        ] {
            assert_eq!(reason(text), why, "{text:?}");
        }
    }

    #[test]
    fn utf8_is_required() {
        for bad in [
            &b"\"\xff\""[..],
            b"\"\xc3\"",
            b"\"\xed\xa0\x80\"", // an encoded surrogate
            b"\"\xc0\xaf\"",     // overlong
            b"{\"\xe9\":1}",
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.reason(), "invalid UTF-8");
            assert_eq!(e.offset(), bad.iter().position(|&b| b >= 0x80).unwrap());
        }
    }

    #[test]
    fn duplicates_are_refused_at_any_depth() {
        let e = parse(br#"{"a":1,"a":2}"#).unwrap_err();
        assert_eq!(
            (e.reason(), e.member(), e.depth()),
            ("duplicate member", Some("a"), 1)
        );
        assert_eq!(e.to_string(), "duplicate member \"a\"");
        assert!(e.is_duplicate());
        let e = parse(br#"{"x":[{"y":{"b":1,"c":0,"b":2}}]}"#).unwrap_err();
        assert_eq!((e.member(), e.depth()), (Some("b"), 4));
        // Escapes are decoded before comparing.
        assert_eq!(
            parse(br#"{"a":1,"\u0061":2}"#).unwrap_err().member(),
            Some("a")
        );
        // Names differing only in case or normalisation are distinct.
        assert!(parse(br#"{"a":1,"A":2,"\u00e9":3,"e\u0301":4}"#).is_ok());
        // Same names in sibling objects are fine.
        assert!(parse(br#"[{"a":1},{"a":1}]"#).is_ok());
        // Large objects take the sorting path.
        let many: Vec<String> = (0..100).map(|i| format!("\"m{i}\":{i}")).collect();
        let ok = format!("{{{}}}", many.join(","));
        assert_eq!(parse_object(ok.as_bytes()).unwrap().len(), 100);
        let dup = format!("{{{},\"m42\":0}}", many.join(","));
        assert_eq!(parse(dup.as_bytes()).unwrap_err().member(), Some("m42"));
        // The name is sanitised and truncated.
        let e = parse(br#"{"a\"\\\u0000\u00e9":1,"a\"\\\u0000\u00e9":2}"#).unwrap_err();
        assert_eq!(e.member(), Some("a????"));
        let long = "n".repeat(100);
        let e = parse(format!(r#"{{"{long}":1,"{long}":2}}"#).as_bytes()).unwrap_err();
        assert_eq!(e.member().unwrap(), format!("{}...", &long[..32]));
        // Other errors carry no member.
        assert_eq!(parse(b"[").unwrap_err().member(), None);
        assert!(!parse(b"[").unwrap_err().is_duplicate());
    }

    #[test]
    fn heapsort_sorts() {
        for n in 0..40 {
            let owned: Vec<String> = (0..n).map(|i| format!("k{}", (i * 7919) % 41)).collect();
            let mut v: Vec<&str> = owned.iter().map(String::as_str).collect();
            let mut expected = v.clone();
            expected.sort_unstable();
            heapsort(&mut v);
            assert_eq!(v, expected);
        }
    }

    #[test]
    fn depth_limit() {
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert!(parse(nested(MAX_DEPTH).as_bytes()).is_ok());
        assert_eq!(reason(&nested(MAX_DEPTH + 1)), "nesting too deep");
        let objects = |n: usize| format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n));
        assert!(parse(objects(MAX_DEPTH).as_bytes()).is_ok());
        assert_eq!(reason(&objects(MAX_DEPTH + 1)), "nesting too deep");
        // Hostile depth fails fast without touching the stack limit.
        assert_eq!(reason(&"[".repeat(1_000_000)), "nesting too deep");
        assert_eq!(reason(&"{\"a\":".repeat(1_000_000)), "nesting too deep");
    }

    #[test]
    fn parse_object_wants_an_object() {
        for text in ["[]", "1", "\"{}\"", "null"] {
            assert_eq!(
                parse_object(text.as_bytes()).unwrap_err().reason(),
                "not an object"
            );
        }
        assert_eq!(parse_object(b"{").unwrap_err().reason(), "unexpected end");
    }

    #[test]
    fn object_access() {
        let mut o = parse_object(br#"{"z":1,"a":{"b":[true]}}"#).unwrap();
        assert_eq!(o.len(), 2);
        assert!(!o.is_empty());
        assert_eq!(o["a"]["b"][0], true);
        assert!(o["missing"].is_null());
        assert!(o["z"]["not an object"].is_null());
        assert!(o["a"][0].is_null());
        assert_eq!(o.insert("z", Value::Null), Some(parse(b"1").unwrap()));
        assert_eq!(o.insert("y", "x".into()), None);
        assert_eq!(o.to_json(), r#"{"z":null,"a":{"b":[true]},"y":"x"}"#);
        let names: Vec<String> = o.into_iter().map(|(k, _)| k).collect();
        assert_eq!(names, ["z", "a", "y"]);
    }

    #[test]
    fn writer_escapes_and_round_trips() {
        let mut all = String::new();
        for c in 0u8..0x80 {
            all.push(char::from(c));
        }
        all.push_str("é€😀\u{2028}");
        let mut out = String::new();
        write_str(&mut out, &all);
        assert!(out.starts_with(r#""\u0000\u0001"#));
        assert!(out.contains(r#"\b\t\n\u000b\f\r\u000e"#));
        assert!(out.contains(r##"!\"#"##));
        assert!(out.contains(r#"[\\]"#));
        assert!(out.contains("~\u{7f}é€😀\u{2028}\""));
        assert_eq!(parse(out.as_bytes()).unwrap(), all.as_str());

        let text = ObjectWriter::new()
            .string("s", "a\"b")
            .int("i", -42)
            .int("max", i64::MAX)
            .bool("t", true)
            .bool("f", false)
            .raw("o", r#"{"k":[1]}"#)
            .finish();
        assert_eq!(
            text,
            r#"{"s":"a\"b","i":-42,"max":9223372036854775807,"t":true,"f":false,"o":{"k":[1]}}"#
        );
        let v = parse_object(text.as_bytes()).unwrap();
        assert_eq!(v["i"], -42i64);
        assert_eq!(v["max"], i64::MAX);
        assert_eq!(v.to_json(), text);
    }
}
