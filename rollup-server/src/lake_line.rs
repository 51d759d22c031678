//! One line of a lake object: the fields a load uses, parsed fast.
//!
//! Decoding is most of a load's work, and nearly every line is what the edge wrote: a flat JSON object
//! of short strings and numbers. [`parse_line`] reads those with a scanner made for them and hands
//! anything else (escapes, numbers in unusual forms, repeated keys, malformed input) to serde_json,
//! so the answer is always serde_json's: the fast path either returns what serde_json would, or
//! declines. A test and the batch_loader fuzz target compare both on every input.

use serde::{Deserialize, Deserializer};
use std::borrow::Cow;

/// JSON text kept as written (the `props` object).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawJson<'a>(pub &'a str);

impl<'de: 'a, 'a> Deserialize<'de> for RawJson<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw: &'de serde_json::value::RawValue = Deserialize::deserialize(d)?;
        Ok(RawJson(raw.get()))
    }
}

/// One stored event line, with the fields a load uses (others are ignored).
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
pub struct LakeEvent<'a> {
    #[serde(borrow)]
    pub tenant_id: Cow<'a, str>,
    #[serde(borrow)]
    pub eid: Cow<'a, str>,
    #[serde(borrow, rename = "type")]
    pub event_type: Cow<'a, str>,
    pub ts: i64,
    #[serde(default)]
    pub received_at: Option<i64>,
    #[serde(borrow, default)]
    pub anonymous_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub user_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub session_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub view_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub content_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub content_type: Option<Cow<'a, str>>,
    #[serde(default)]
    pub duration_s: Option<f64>,
    #[serde(default)]
    pub position_s: Option<f64>,
    #[serde(borrow, default)]
    pub page_url: Option<Cow<'a, str>>,
    #[serde(default)]
    pub ttff_ms: Option<i64>,
    #[serde(default)]
    pub watched_ms: Option<i64>,
    #[serde(default)]
    pub rebuffer_ms: Option<i64>,
    #[serde(default)]
    pub played: Option<Vec<[f64; 2]>>,
    #[serde(default)]
    pub fatal: Option<bool>,
    #[serde(borrow, default)]
    pub props: Option<RawJson<'a>>,
    #[serde(borrow, default)]
    pub browser: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub os: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub device_type: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub device_brand: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub device_model: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub continent: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub country: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub subdivision: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub timezone: Option<Cow<'a, str>>,
}

/// Parses a line (None: not an event).
pub fn parse_line(line: &[u8]) -> Option<LakeEvent<'_>> {
    match parse_fast(line) {
        Some(event) => Some(event),
        None => serde_json::from_slice(line).ok(),
    }
}

/// Whether the fast path agrees with serde_json on `line` (it declined, or both read the same): what
/// the batch_loader fuzz target checks on every line.
pub fn fast_path_agrees(line: &[u8]) -> bool {
    match parse_fast(line) {
        None => true,
        Some(fast) => serde_json::from_slice::<LakeEvent<'_>>(line).ok() == Some(fast),
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// The high bit of the bytes of `word` (little-endian) that are 0. Only the lowest flagged byte is
/// sure to be one (bytes above it may be flagged by the borrow of the subtraction), which is all a
/// scan for the first one needs, and a zero result is exact.
fn zero_bytes(word: u64) -> u64 {
    word.wrapping_sub(ONES) & !word & HIGH_BITS
}

/// Whether `line` has neither a backslash nor a control character (bytes 0-31): then every string in
/// it ends at the next quote, and whitespace between tokens is only spaces. The edge writes such
/// lines; the scanner declines the others (escapes, pretty-printed or malformed text) to serde_json.
fn plain(line: &[u8]) -> bool {
    let special = |word: u64| {
        // A control byte (below 0x20, high bit clear) or a backslash. A zero result is exact.
        let control = word.wrapping_sub(ONES * 0x20) & !word & HIGH_BITS;
        control | zero_bytes(word ^ (ONES * u64::from(b'\\')))
    };
    let mut words = line.chunks_exact(8);
    let mut found = 0;
    for word in &mut words {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        found |= special(u64::from_le_bytes(bytes));
    }
    found == 0 && !words.remainder().iter().any(|&b| b < 0x20 || b == b'\\')
}

/// A number as scanned.
struct Number<'a> {
    text: &'a str,
    /// Neither a fraction nor an exponent.
    integer: bool,
    /// Without an exponent and with at most 19 digits: the sign, the digits as an integer, and how
    /// many of them follow the point.
    exact: Option<(bool, u64, usize)>,
}

/// Reads the ASCII digits at `*i` on into `mantissa` (wrapping past 19 digits); how many there were.
fn take_digits(bytes: &[u8], i: &mut usize, mantissa: &mut u64) -> usize {
    let from = *i;
    while let Some(&d) = bytes.get(*i).filter(|d| d.is_ascii_digit()) {
        *mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
        *i += 1;
    }
    *i - from
}

/// The powers of ten a double holds exactly.
const POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The scanner: a cursor over one line (valid UTF-8, checked once up front).
struct Scan<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Scan<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        self.skip_ws();
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// A string (the line has no escape and no control character: [`plain`]). Inlined: a line has
    /// some 50 strings, most shorter than 16 bytes, and a call cost as much as the scan.
    #[inline(always)]
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.at;
        let rest = &self.text.as_bytes()[start..];
        // Eight bytes at a time to the closing quote (a byte loop here was half of the scanner's
        // time).
        let mut words = rest.chunks_exact(8);
        let mut len = 0;
        for word in &mut words {
            let word = u64::from_le_bytes(word.try_into().ok()?);
            let quotes = zero_bytes(word ^ (ONES * u64::from(b'"')));
            if quotes != 0 {
                len += (quotes.trailing_zeros() / 8) as usize;
                return self.string_of(start, len);
            }
            len += 8;
        }
        len += words.remainder().iter().position(|&b| b == b'"')?;
        self.string_of(start, len)
    }

    /// The `len` bytes at `start`, before a closing quote.
    fn string_of(&mut self, start: usize, len: usize) -> Option<&'a str> {
        self.at = start + len + 1;
        self.text.get(start..start + len)
    }

    /// A JSON number (strict grammar).
    fn number(&mut self) -> Option<Number<'a>> {
        self.skip_ws();
        let bytes = self.text.as_bytes();
        let start = self.at;
        let mut i = start;
        let negative = bytes.get(i) == Some(&b'-');
        if negative {
            i += 1;
        }
        // The digits as one integer (exact while there are at most 19 of them).
        let mut mantissa = 0u64;
        let mut digits = 0usize;
        match bytes.get(i)? {
            b'0' => {
                i += 1;
                digits += 1;
            }
            b'1'..=b'9' => digits += take_digits(bytes, &mut i, &mut mantissa),
            _ => return None,
        }
        let mut fraction = None;
        if bytes.get(i) == Some(&b'.') {
            i += 1;
            let count = take_digits(bytes, &mut i, &mut mantissa);
            digits += count;
            if count == 0 {
                return None;
            }
            fraction = Some(count);
        }
        let mut exponent = false;
        if let Some(b'e' | b'E') = bytes.get(i) {
            exponent = true;
            i += 1;
            if let Some(b'+' | b'-') = bytes.get(i) {
                i += 1;
            }
            let from = i;
            while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == from {
                return None;
            }
        }
        self.at = i;
        Some(Number {
            text: &self.text[start..i],
            integer: fraction.is_none() && !exponent,
            exact: (digits <= 19 && !exponent).then_some((
                negative,
                mantissa,
                fraction.unwrap_or(0),
            )),
        })
    }

    fn borrowed(&mut self) -> Option<Cow<'a, str>> {
        self.string().map(Cow::Borrowed)
    }

    fn literal(&mut self, word: &str) -> bool {
        self.skip_ws();
        let found =
            self.text.as_bytes().get(self.at..self.at + word.len()) == Some(word.as_bytes());
        if found {
            self.at += word.len();
        }
        found
    }

    fn null(&mut self) -> bool {
        self.literal("null")
    }

    fn i64(&mut self) -> Option<i64> {
        let number = self.number()?;
        if !number.integer {
            return None;
        }
        match number.exact {
            // serde_json reads `-0` as a float, which no integer field takes.
            Some((true, 0, _)) => None,
            // At most 18 digits always fit.
            Some((negative, mantissa, _)) if mantissa < 1_000_000_000_000_000_000 => {
                let value = mantissa as i64;
                Some(if negative { -value } else { value })
            }
            _ => number.text.parse().ok(),
        }
    }

    fn f64(&mut self) -> Option<f64> {
        let number = self.number()?;
        // Digits that fit a double exactly, over an exact power of ten: one correctly rounded
        // division gives the correctly rounded value, as a full parse would (the fast path of
        // every correct float parser). Anything else is parsed in full.
        if let Some((negative, mantissa, fraction)) = number.exact {
            if mantissa <= 1 << 53 && fraction < POWERS_OF_TEN.len() {
                let value = mantissa as f64 / POWERS_OF_TEN[fraction];
                return Some(if negative { -value } else { value });
            }
        }
        let value: f64 = number.text.parse().ok()?;
        value.is_finite().then_some(value)
    }

    fn opt<T>(&mut self, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        if self.null() {
            Some(None)
        } else {
            read(self).map(Some)
        }
    }

    fn bool(&mut self) -> Option<bool> {
        if self.literal("true") {
            Some(true)
        } else if self.literal("false") {
            Some(false)
        } else {
            None
        }
    }

    /// `[[from, to], ...]`.
    fn ranges(&mut self) -> Option<Vec<[f64; 2]>> {
        self.eat(b'[')?;
        let mut out = Vec::new();
        if self.eat(b']').is_some() {
            return Some(out);
        }
        loop {
            self.eat(b'[')?;
            let from = self.f64()?;
            self.eat(b',')?;
            let to = self.f64()?;
            self.eat(b']')?;
            out.push([from, to]);
            self.skip_ws();
            match self.peek()? {
                b',' => self.at += 1,
                b']' => {
                    self.at += 1;
                    return Some(out);
                }
                _ => return None,
            }
        }
    }

    /// Skips any JSON value, checking its syntax; `depth` bounds nesting as serde_json does.
    fn skip_value(&mut self, depth: usize) -> Option<()> {
        if depth > 100 {
            return None;
        }
        self.skip_ws();
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'{' => {
                self.at += 1;
                if self.eat(b'}').is_some() {
                    return Some(());
                }
                loop {
                    self.string()?;
                    self.eat(b':')?;
                    self.skip_value(depth + 1)?;
                    self.skip_ws();
                    match self.peek()? {
                        b',' => self.at += 1,
                        b'}' => {
                            self.at += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b'[' => {
                self.at += 1;
                if self.eat(b']').is_some() {
                    return Some(());
                }
                loop {
                    self.skip_value(depth + 1)?;
                    self.skip_ws();
                    match self.peek()? {
                        b',' => self.at += 1,
                        b']' => {
                            self.at += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b't' => self.literal("true").then_some(()),
            b'f' => self.literal("false").then_some(()),
            b'n' => self.null().then_some(()),
            _ => self.number().map(drop),
        }
    }

    /// A JSON object kept as its text.
    fn raw_object(&mut self) -> Option<RawJson<'a>> {
        self.skip_ws();
        if self.peek()? != b'{' {
            return None;
        }
        let start = self.at;
        self.skip_value(1)?;
        Some(RawJson(&self.text[start..self.at]))
    }
}

/// The field index of a known key (see `parse_fast`), matched by length first: a line has ~30 keys.
fn field_of(key: &str) -> Option<u32> {
    Some(match key.len() {
        2 => match key {
            "ts" => 3,
            "os" => 21,
            _ => return None,
        },
        3 => match key {
            "eid" => 1,
            _ => return None,
        },
        4 => match key {
            "type" => 2,
            _ => return None,
        },
        5 => match key {
            "fatal" => 18,
            "props" => 19,
            _ => return None,
        },
        6 => match key {
            "played" => 17,
            _ => return None,
        },
        7 => match key {
            "user_id" => 6,
            "view_id" => 8,
            "ttff_ms" => 14,
            "browser" => 20,
            "country" => 26,
            _ => return None,
        },
        8 => match key {
            "page_url" => 13,
            "timezone" => 28,
            _ => return None,
        },
        9 => match key {
            "tenant_id" => 0,
            "continent" => 25,
            _ => return None,
        },
        10 => match key {
            "session_id" => 7,
            "content_id" => 9,
            "duration_s" => 11,
            "position_s" => 12,
            "watched_ms" => 15,
            _ => return None,
        },
        11 => match key {
            "received_at" => 4,
            "rebuffer_ms" => 16,
            "device_type" => 22,
            "subdivision" => 27,
            _ => return None,
        },
        12 => match key {
            "anonymous_id" => 5,
            "content_type" => 10,
            "device_brand" => 23,
            "device_model" => 24,
            _ => return None,
        },
        _ => return None,
    })
}

/// The fast path: None unless the line is a flat event object the scanner reads exactly as
/// serde_json would.
fn parse_fast(line: &[u8]) -> Option<LakeEvent<'_>> {
    if !plain(line) {
        return None;
    }
    let text = std::str::from_utf8(line).ok()?;
    let mut s = Scan { text, at: 0 };
    let mut e = LakeEvent::default();
    let (mut tenant, mut eid, mut kind, mut ts) = (false, false, false, false);
    // Each known key once (serde_json refuses a repeated field).
    let mut seen = 0u32;
    let mut once = |bit: u32| -> Option<()> {
        let first = seen & (1 << bit) == 0;
        seen |= 1 << bit;
        first.then_some(())
    };
    s.eat(b'{')?;
    if s.eat(b'}').is_none() {
        loop {
            let key = s.string()?;
            s.eat(b':')?;
            match field_of(key).unwrap_or(u32::MAX) {
                0 => {
                    once(0)?;
                    e.tenant_id = Cow::Borrowed(s.string()?);
                    tenant = true;
                }
                1 => {
                    once(1)?;
                    e.eid = Cow::Borrowed(s.string()?);
                    eid = true;
                }
                2 => {
                    once(2)?;
                    e.event_type = Cow::Borrowed(s.string()?);
                    kind = true;
                }
                3 => {
                    once(3)?;
                    e.ts = s.i64()?;
                    ts = true;
                }
                4 => {
                    once(4)?;
                    e.received_at = s.opt(Scan::i64)?;
                }
                5 => {
                    once(5)?;
                    e.anonymous_id = s.opt(Scan::borrowed)?;
                }
                6 => {
                    once(6)?;
                    e.user_id = s.opt(Scan::borrowed)?;
                }
                7 => {
                    once(7)?;
                    e.session_id = s.opt(Scan::borrowed)?;
                }
                8 => {
                    once(8)?;
                    e.view_id = s.opt(Scan::borrowed)?;
                }
                9 => {
                    once(9)?;
                    e.content_id = s.opt(Scan::borrowed)?;
                }
                10 => {
                    once(10)?;
                    e.content_type = s.opt(Scan::borrowed)?;
                }
                11 => {
                    once(11)?;
                    e.duration_s = s.opt(Scan::f64)?;
                }
                12 => {
                    once(12)?;
                    e.position_s = s.opt(Scan::f64)?;
                }
                13 => {
                    once(13)?;
                    e.page_url = s.opt(Scan::borrowed)?;
                }
                14 => {
                    once(14)?;
                    e.ttff_ms = s.opt(Scan::i64)?;
                }
                15 => {
                    once(15)?;
                    e.watched_ms = s.opt(Scan::i64)?;
                }
                16 => {
                    once(16)?;
                    e.rebuffer_ms = s.opt(Scan::i64)?;
                }
                17 => {
                    once(17)?;
                    e.played = s.opt(Scan::ranges)?;
                }
                18 => {
                    once(18)?;
                    e.fatal = s.opt(Scan::bool)?;
                }
                19 => {
                    once(19)?;
                    // serde_json takes any JSON value as raw text here; objects are what the edge writes.
                    e.props = s.opt(Scan::raw_object)?;
                }
                20 => {
                    once(20)?;
                    e.browser = s.opt(Scan::borrowed)?;
                }
                21 => {
                    once(21)?;
                    e.os = s.opt(Scan::borrowed)?;
                }
                22 => {
                    once(22)?;
                    e.device_type = s.opt(Scan::borrowed)?;
                }
                23 => {
                    once(23)?;
                    e.device_brand = s.opt(Scan::borrowed)?;
                }
                24 => {
                    once(24)?;
                    e.device_model = s.opt(Scan::borrowed)?;
                }
                25 => {
                    once(25)?;
                    e.continent = s.opt(Scan::borrowed)?;
                }
                26 => {
                    once(26)?;
                    e.country = s.opt(Scan::borrowed)?;
                }
                27 => {
                    once(27)?;
                    e.subdivision = s.opt(Scan::borrowed)?;
                }
                28 => {
                    once(28)?;
                    e.timezone = s.opt(Scan::borrowed)?;
                }
                _ => s.skip_value(1)?,
            }
            s.skip_ws();
            match s.peek()? {
                b',' => s.at += 1,
                b'}' => {
                    s.at += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    s.skip_ws();
    (s.at == text.len() && tenant && eid && kind && ts).then_some(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EDGE_LINE: &str = r#"{"tenant_id":"hooli","key_id":"genkey","received_at":1793809240555,"type":"heartbeat","ts":1793809240234,"eid":"view-47-3","anonymous_id":"anon-hooli-24590","session_id":"sess-1","view_id":"view-47","content_id":"content-0441","content_type":"series","duration_s":981.0,"position_s":10.0,"page_url":"https://blog.example.org/watch/content-0441?utm_source=gen0","player_name":"html5","watched_ms":10000,"rebuffer_ms":0,"played":[[0.0,10.0],[12.5,1e1]],"props":{"plan":"free","n":[1,{"x":null}]},"browser":"Safari","browser_version":"120.0","os":"iOS","device_type":"tablet","device_model":"iPad","continent":"AS","country":"JP","subdivision":"13","timezone":"Asia/Tokyo","colo":"FRA","fatal":false}"#;

    fn agrees(line: &[u8]) {
        assert!(fast_path_agrees(line), "{}", String::from_utf8_lossy(line));
    }

    #[test]
    fn edge_lines_take_the_fast_path_and_read_as_serde_does() {
        let fast = parse_fast(EDGE_LINE.as_bytes()).expect("fast path");
        assert_eq!(fast.played, Some(vec![[0.0, 10.0], [12.5, 10.0]]));
        assert_eq!(
            fast.props,
            Some(RawJson(r#"{"plan":"free","n":[1,{"x":null}]}"#))
        );
        agrees(EDGE_LINE.as_bytes());
    }

    #[test]
    fn everything_else_is_serde_jsons_call() {
        let variants = [
            EDGE_LINE.replace("\"hooli\"", "\"ho\\u006fli\""), // escape: serde decides
            EDGE_LINE.replace("\"ts\":1793809240234", "\"ts\":1.5"),
            EDGE_LINE.replace("\"ts\":1793809240234", "\"ts\":01"),
            EDGE_LINE.replace("\"fatal\":false", "\"fatal\":false,\"ts\":1"), // repeated key
            EDGE_LINE.replace("[[0.0,10.0],", "[[0.0,10.0,3.0],"),
            EDGE_LINE
                .replace("\"props\":{", "\"props\":[{")
                .replace("null}]}", "null}]}]"),
            EDGE_LINE.replace("\"eid\":\"view-47-3\",", ""),
            EDGE_LINE.replace("\"duration_s\":981.0", "\"duration_s\":null"),
            EDGE_LINE.replace(",\"colo\"", " ,\n \"colo\" "),
            EDGE_LINE.replace("\"FRA\"", "\"FR\tA\""),
            format!("{EDGE_LINE} x"),
            format!("  {EDGE_LINE}  "),
            EDGE_LINE.replace("\"duration_s\":981.0", "\"duration_s\":1e999"),
            EDGE_LINE.replace("\"watched_ms\":", "\"ttff_ms\":-0,\"watched_ms\":"),
            "{}".to_string(),
            "[]".to_string(),
        ];
        for v in &variants {
            agrees(v.as_bytes());
        }
        // Numbers of every form, in float and integer fields (the scanner computes the short ones
        // itself, and must land on the same value as a full parse).
        let numbers = [
            "0",
            "-0",
            "0.0",
            "-0.0",
            "7",
            "-7",
            "0.1",
            "0.3",
            "4.35",
            "-1.5",
            "2308.0",
            "1e1",
            "1E2",
            "1.5e-3",
            "0.30000000000000004",
            "9007199254740992",
            "9007199254740993",
            "9007199254740993.0",
            "123456789012345678",
            "999999999999999999",
            "1000000000000000000",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "99999999999999999999",
            "1.0000000000000000000001",
            "17.1234567890123456789",
            "0.0000000000000000000000001",
            "1234567.891",
            "0.99999999999999999",
            "1e22",
            "1e23",
            "00",
            "-",
            "1.",
            ".5",
            "1e",
        ];
        for n in numbers {
            for field in [
                "\"duration_s\":981.0",
                "\"ts\":1793809240234",
                "\"watched_ms\":10000",
            ] {
                let key = &field[..field.find(':').expect("key") + 1];
                agrees(EDGE_LINE.replace(field, &format!("{key}{n}")).as_bytes());
            }
        }
        // And many random decimals.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let whole = next() % 10u64.pow((next() % 12) as u32 + 1);
            let places = (next() % 12) as usize;
            let fraction = format!("{:0places$}", next() % 10u64.pow(places as u32));
            let n = if places == 0 {
                whole.to_string()
            } else {
                format!("{whole}.{fraction}")
            };
            let n = if next() % 4 == 0 { format!("-{n}") } else { n };
            let line = EDGE_LINE.replace("\"position_s\":10.0", &format!("\"position_s\":{n}"));
            assert!(
                parse_fast(line.as_bytes()).is_some(),
                "{n} takes the fast path"
            );
            agrees(line.as_bytes());
        }
        // Every prefix of a line, too.
        for end in 0..EDGE_LINE.len() {
            agrees(&EDGE_LINE.as_bytes()[..end]);
        }
    }
}
