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

    /// A string without escapes (None on an escape: serde_json decides those lines).
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.at;
        let bytes = self.text.as_bytes();
        // One pass: the closing quote ends it; an escape or a control character declines.
        let mut end = start;
        loop {
            match *bytes.get(end)? {
                b'"' => break,
                b'\\' | 0..=0x1f => return None,
                _ => end += 1,
            }
        }
        self.at = end + 1;
        Some(&self.text[start..end])
    }

    /// The text of a JSON number (strict grammar), and whether it is an integer.
    fn number(&mut self) -> Option<(&'a str, bool)> {
        self.skip_ws();
        let bytes = self.text.as_bytes();
        let start = self.at;
        let mut i = start;
        if bytes.get(i) == Some(&b'-') {
            i += 1;
        }
        match bytes.get(i)? {
            b'0' => i += 1,
            b'1'..=b'9' => {
                while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                    i += 1;
                }
            }
            _ => return None,
        }
        let mut integer = true;
        if bytes.get(i) == Some(&b'.') {
            integer = false;
            i += 1;
            let digits = i;
            while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == digits {
                return None;
            }
        }
        if let Some(b'e' | b'E') = bytes.get(i) {
            integer = false;
            i += 1;
            if let Some(b'+' | b'-') = bytes.get(i) {
                i += 1;
            }
            let digits = i;
            while bytes.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == digits {
                return None;
            }
        }
        self.at = i;
        Some((&self.text[start..i], integer))
    }

    fn borrowed(&mut self) -> Option<Cow<'a, str>> {
        self.string().map(Cow::Borrowed)
    }

    fn literal(&mut self, word: &str) -> bool {
        self.skip_ws();
        if self.text[self.at..].starts_with(word) {
            self.at += word.len();
            true
        } else {
            false
        }
    }

    fn null(&mut self) -> bool {
        self.literal("null")
    }

    fn i64(&mut self) -> Option<i64> {
        let (text, integer) = self.number()?;
        if !integer {
            return None;
        }
        text.parse().ok()
    }

    fn f64(&mut self) -> Option<f64> {
        let (text, _) = self.number()?;
        let value: f64 = text.parse().ok()?;
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
            EDGE_LINE.replace("\"ttff\":", "\"ttff_ms\":-0,\"x\":"),
            "{}".to_string(),
            "[]".to_string(),
        ];
        for v in &variants {
            agrees(v.as_bytes());
        }
        // Every prefix of a line, too.
        for end in 0..EDGE_LINE.len() {
            agrees(&EDGE_LINE.as_bytes()[..end]);
        }
    }
}
