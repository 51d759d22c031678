//! A small JSON text writer (and an array splitter) for the SDK's own events.
//!
//! Events are built straight into JSON text and queued as text: no `serde_json::Value` in memory,
//! no float formatting (numbers are written from whole milliseconds), no `core::fmt`. This keeps
//! the shipped wasm small; the edge parses and validates the result like any client's.

use alloc::string::String;
use alloc::vec::Vec;

/// Writes an integer.
pub fn write_int(out: &mut String, value: i64) {
    if value < 0 {
        out.push('-');
    }
    write_digits(out, value.unsigned_abs());
}

/// Most significant digit first, by recursion: no buffer to index, so no bounds-check panic (and
/// its message formatting) in the wasm.
fn write_digits(out: &mut String, value: u64) {
    if value >= 10 {
        write_digits(out, value / 10);
    }
    out.push(digit(value % 10));
}

/// The ASCII digit of `n` (0 to 15: lower-case hex beyond 9).
pub fn digit(n: u64) -> char {
    let n = (n & 0xf) as u8;
    char::from(if n < 10 { b'0' + n } else { b'a' + n - 10 })
}

/// Rounds half away from zero to a whole number (`f64::round` is not in `core`). Saturates; NaN
/// gives 0.
pub fn round_i64(x: f64) -> i64 {
    if x >= 0.0 {
        (x + 0.5) as i64
    } else {
        (x - 0.5) as i64
    }
}

/// Writes a number rounded to 3 decimals (milliseconds for seconds), without trailing zeros:
/// `10.1`, `0.125`, `42`.
pub fn write_num(out: &mut String, value: f64) {
    let thousandths = round_i64(value * 1000.0);
    if thousandths < 0 {
        out.push('-');
    }
    let abs = thousandths.unsigned_abs();
    write_digits(out, abs / 1000);
    let decimals = [abs / 100 % 10, abs / 10 % 10, abs % 10];
    let shown = match decimals {
        [0, 0, 0] => 0,
        [_, 0, 0] => 1,
        [_, _, 0] => 2,
        _ => 3,
    };
    if shown > 0 {
        out.push('.');
    }
    for &d in decimals.iter().take(shown) {
        out.push(digit(d));
    }
}

/// Writes a string literal, escaping what JSON requires.
pub fn write_str(out: &mut String, value: &str) {
    out.push('"');
    // The bytes since the last escape are copied as they are. Every byte of a multi-byte UTF-8
    // sequence is 0x80 or more, so the escaped (ASCII) bytes are character boundaries.
    let mut run = 0;
    for (i, b) in value.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0..=0x1f => "\\u00",
            _ => continue,
        };
        out.push_str(value.get(run..i).unwrap_or_default());
        out.push_str(escape);
        if escape.len() == 4 {
            out.push(digit(u64::from(b >> 4)));
            out.push(digit(u64::from(b)));
        }
        run = i + 1;
    }
    out.push_str(value.get(run..).unwrap_or_default());
    out.push('"');
}

/// A JSON object being written. Keys are the SDK's own field names (plain ASCII, never escaped);
/// each key is written once by the caller.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonObject {
    text: String,
}

impl Default for JsonObject {
    fn default() -> Self {
        JsonObject::new()
    }
}

impl JsonObject {
    /// An empty object.
    pub fn new() -> JsonObject {
        JsonObject {
            text: String::from("{"),
        }
    }

    fn key(&mut self, key: &str) -> &mut String {
        if self.text.len() > 1 {
            self.text.push(',');
        }
        self.text.push('"');
        self.text.push_str(key);
        self.text.push_str("\":");
        &mut self.text
    }

    /// A string field.
    pub fn str(&mut self, key: &str, value: &str) {
        write_str(self.key(key), value);
    }

    /// An integer field.
    pub fn int(&mut self, key: &str, value: i64) {
        write_int(self.key(key), value);
    }

    /// A number field, rounded to 3 decimals.
    pub fn num(&mut self, key: &str, value: f64) {
        write_num(self.key(key), value);
    }

    /// A `true` field.
    pub fn yes(&mut self, key: &str) {
        self.key(key).push_str("true");
    }

    /// A field whose value is JSON text already (an object or array).
    pub fn raw(&mut self, key: &str, json: &str) {
        self.key(key).push_str(json);
    }

    /// The fields of another object (its text without the braces), appended.
    pub fn extend(&mut self, other: &JsonObject) {
        if other.text.len() > 1 {
            if self.text.len() > 1 {
                self.text.push(',');
            }
            self.text.push_str(other.text.get(1..).unwrap_or_default());
        }
    }

    /// The finished object's text.
    pub fn finish(mut self) -> String {
        self.text.push('}');
        self.text
    }
}

/// Writes `items` (JSON texts) as an array.
pub fn write_array<'a>(out: &mut String, items: impl IntoIterator<Item = &'a String>) {
    out.push('[');
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(item);
    }
    out.push(']');
}

/// The objects of a JSON array of objects, each as its own text; `None` unless `text` is one.
/// Strings (with escapes) and nesting are respected; values are not otherwise validated.
pub fn split_object_array(text: &str) -> Option<Vec<&str>> {
    let mut items = Vec::new();
    // `depth` counts the open brackets, the array's own included.
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let (mut start, mut comma, mut closed) = (0usize, false, false);
    for (i, &b) in text.as_bytes().iter().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match (depth, b) {
            (_, b' ' | b'\n' | b'\r' | b'\t') => {}
            _ if closed => return None,
            (0, b'[') => depth = 1,
            // An object opens the array or follows a comma.
            (1, b'{') if items.is_empty() || comma => {
                (start, comma, depth) = (i, false, 2);
            }
            (1, b',') if !items.is_empty() && !comma => comma = true,
            (1, b']') if !comma => (closed, depth) = (true, 0),
            (0 | 1, _) => return None,
            (_, b'"') => in_string = true,
            (_, b'{' | b'[') => depth += 1,
            (_, b'}' | b']') => {
                depth -= 1;
                if depth == 1 {
                    if b != b'}' {
                        return None;
                    }
                    items.push(text.get(start..=i)?);
                }
            }
            _ => {}
        }
    }
    closed.then_some(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    fn num(x: f64) -> String {
        let mut s = String::new();
        write_num(&mut s, x);
        s
    }

    #[test]
    fn integers_are_written_like_rust_prints_them() {
        for v in [0, 7, -7, 10, 1_700_000_000_123, i64::MAX, i64::MIN] {
            let mut s = String::new();
            write_int(&mut s, v);
            assert_eq!(s, v.to_string());
        }
    }

    #[test]
    fn numbers_keep_milliseconds_and_drop_trailing_zeros() {
        assert_eq!(num(0.0), "0");
        assert_eq!(num(10.1), "10.1");
        assert_eq!(num(0.125), "0.125");
        assert_eq!(num(1.2345), "1.235");
        assert_eq!(num(-2.05), "-2.05");
        assert_eq!(num(-0.0004), "0");
        assert_eq!(num(596.48), "596.48");
        assert_eq!(num(f64::NAN), "0");
        assert_eq!(num(7.009), "7.009");
        assert_eq!(num(7.09), "7.09");
    }

    #[test]
    fn strings_are_escaped_so_json_parsers_read_them_back() {
        let nasty = "a \"quoted\" \\ back\nslash\t\u{1}\u{1f} é 🎬";
        let mut o = JsonObject::new();
        o.str("s", nasty);
        o.int("n", -3);
        o.num("x", 1.5);
        o.yes("t");
        o.raw("r", "[[0,1.2]]");
        let parsed: Value = serde_json::from_str(&o.finish()).expect("valid JSON");
        assert_eq!(
            parsed,
            json!({"s": nasty, "n": -3, "x": 1.5, "t": true, "r": [[0, 1.2]]})
        );
    }

    #[test]
    fn objects_extend_with_another_objects_fields() {
        let mut a = JsonObject::new();
        a.int("a", 1);
        let mut b = JsonObject::new();
        b.str("b", "x");
        a.extend(&b);
        a.extend(&JsonObject::new());
        let mut empty = JsonObject::new();
        empty.extend(&b);
        assert_eq!(a.finish(), r#"{"a":1,"b":"x"}"#);
        assert_eq!(empty.finish(), r#"{"b":"x"}"#);
        assert_eq!(JsonObject::new().finish(), "{}");
    }

    #[test]
    fn an_array_of_objects_splits_into_its_objects() {
        let text = r#" [ {"a":"x,}]\"{"}, {"b":[1,{"c":2}]} ,{}] "#;
        assert_eq!(
            split_object_array(text),
            Some(vec![r#"{"a":"x,}]\"{"}"#, r#"{"b":[1,{"c":2}]}"#, "{}"])
        );
        assert_eq!(split_object_array("[]"), Some(vec![]));
        let mut out = String::new();
        write_array(&mut out, &[String::from("{}"), String::from(r#"{"a":1}"#)]);
        assert_eq!(out, r#"[{},{"a":1}]"#);
    }

    #[test]
    fn anything_but_an_array_of_objects_is_refused() {
        for bad in [
            "",
            "null",
            "{}",
            "[1,2]",
            "[{}",
            "[{},]",
            r#"[{"a":"]"#,
            "[{]}",
            "[}{]",
            "[{} {}]",
            "[,{}]",
            "[{}] x",
            "[{}][]",
        ] {
            assert_eq!(split_object_array(bad), None, "{bad}");
        }
    }
}
