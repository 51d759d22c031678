//! One line of a lake object: the fields a load uses, parsed fast.
//!
//! Decoding is most of a load's work, and nearly every line is what the edge wrote: a flat JSON object
//! of short strings and numbers, without spaces. [`LineParser`] reads those with a scanner made for
//! them and hands anything else (escapes, numbers in unusual forms, repeated keys, malformed input)
//! to serde_json, so the answer is always serde_json's: the fast path either returns what
//! serde_json would, or declines. A test and the batch_loader fuzz target compare both on every
//! input.
//!
//! The fast path first maps the line's quotes, 16 bytes at a time (`index_line`); a line with no
//! backslash and no control byte has every string end at its next quote, so keys and string values
//! are read off the map with no scanning. Keys are found by their bytes read as two words and a
//! perfect hash (`KEY_TABLE`). Lines with spaces between tokens take a slower scanner over the
//! same map (`parse_spaced`).

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

/// Played ranges `[from, to]` of an event. An event carries one or two (the played spans since its
/// last heartbeat), kept inline: a heap allocation and free per event was ~2 % of a load's CPU.
#[derive(Debug, Clone, Default)]
pub struct Ranges {
    inline: [[f64; 2]; 2],
    len: usize,
    /// Every range, once there are more than fit inline.
    more: Vec<[f64; 2]>,
}

impl Ranges {
    pub fn push(&mut self, range: [f64; 2]) {
        if self.more.is_empty() {
            if let Some(slot) = self.inline.get_mut(self.len) {
                *slot = range;
                self.len += 1;
                return;
            }
            self.more.extend_from_slice(&self.inline);
        }
        self.more.push(range);
    }

    pub fn as_slice(&self) -> &[[f64; 2]] {
        if self.more.is_empty() {
            &self.inline[..self.len]
        } else {
            &self.more
        }
    }
}

impl PartialEq for Ranges {
    fn eq(&self, other: &Ranges) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl<'de> Deserialize<'de> for Ranges {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let all: Vec<[f64; 2]> = Deserialize::deserialize(d)?;
        let mut ranges = Ranges::default();
        for range in all {
            ranges.push(range);
        }
        Ok(ranges)
    }
}

/// Declares every field a load reads from a lake line: its name, its key in the line, the scanner
/// method that reads its value, and its type. The struct, the key table ([`KEYS`]) and both fast
/// paths' dispatch come from this one list, so a new field is one line here. String fields are read
/// `by borrowed`; a required field must be in every line.
macro_rules! lake_event {
    (
        required { $($(#[$rattr:meta])* $r:ident = $rkey:literal by $rread:ident: $rty:ty,)* }
        optional { $($(#[$oattr:meta])* $o:ident = $okey:literal by $oread:ident: $oty:ty,)* }
    ) => {
        /// One stored event line, with the fields a load uses (others are ignored).
        #[derive(Debug, Default, Clone, PartialEq, Deserialize)]
        pub struct LakeEvent<'a> {
            $($(#[$rattr])* #[serde(rename = $rkey)] pub $r: $rty,)*
            $($(#[$oattr])* #[serde(default, rename = $okey)] pub $o: $oty,)*
        }

        #[allow(non_camel_case_types, dead_code)]
        enum Field {
            $($r,)*
            $($o,)*
        }

        /// Each field's number: its bit in the set of keys a line has.
        #[allow(non_upper_case_globals)]
        mod field {
            $(pub const $r: u32 = super::Field::$r as u32;)*
            $(pub const $o: u32 = super::Field::$o as u32;)*
        }

        /// The keys a load reads, each with its field number.
        const KEYS: [(&str, u32); [$($rkey,)* $($okey,)*].len()] =
            [$(($rkey, field::$r),)* $(($okey, field::$o),)*];

        /// The fields every line must have, as bits.
        const REQUIRED: u64 = 0 $(| (1 << field::$r))*;

        /// The string field of number `f` (`None` if it holds something else).
        #[inline(always)]
        fn string_slot<'e, 'a>(e: &'e mut LakeEvent<'a>, f: u32) -> Option<StringSlot<'e, 'a>> {
            match f {
                $(field::$r => string_slot!($rread, required, e.$r),)*
                $(field::$o => string_slot!($oread, optional, e.$o),)*
                _ => None,
            }
        }

        /// Reads the non-string value of field `f` from `s` (the compact path, past a string or
        /// `null`; the caller declines what returns `None`).
        #[inline(always)]
        fn read_value<'a>(e: &mut LakeEvent<'a>, f: u32, s: &mut Scan<'a, '_>) -> Option<()> {
            match f {
                $(field::$r => read_value!($rread, required, e.$r, s),)*
                $(field::$o => read_value!($oread, optional, e.$o, s),)*
                _ => None,
            }
        }

        /// Reads the value of known field `f` from `s`, `null` included (the spaced path).
        #[inline(always)]
        fn read_spaced<'a>(e: &mut LakeEvent<'a>, f: u32, s: &mut Scan<'a, '_>) -> Option<()> {
            match f {
                $(field::$r => e.$r = s.$rread()?,)*
                $(field::$o => e.$o = s.opt(Scan::$oread)?,)*
                _ => return None,
            }
            Some(())
        }
    };
}

/// Where a string value goes: a required field, or an optional one.
enum StringSlot<'e, 'a> {
    Required(&'e mut Cow<'a, str>),
    Optional(&'e mut Option<Cow<'a, str>>),
}

macro_rules! string_slot {
    (borrowed, required, $place:expr) => {
        Some(StringSlot::Required(&mut $place))
    };
    (borrowed, optional, $place:expr) => {
        Some(StringSlot::Optional(&mut $place))
    };
    ($other:ident, $req:ident, $place:expr) => {
        None
    };
}

macro_rules! read_value {
    // A string field holding something else: declined.
    (borrowed, $req:ident, $place:expr, $s:ident) => {
        None
    };
    ($read:ident, required, $place:expr, $s:ident) => {{
        $place = $s.$read()?;
        Some(())
    }};
    ($read:ident, optional, $place:expr, $s:ident) => {{
        $place = Some($s.$read()?);
        Some(())
    }};
}

lake_event! {
    required {
        #[serde(borrow)]
        tenant_id = "tenant_id" by borrowed: Cow<'a, str>,
        #[serde(borrow)]
        eid = "eid" by borrowed: Cow<'a, str>,
        #[serde(borrow)]
        event_type = "type" by borrowed: Cow<'a, str>,
        ts = "ts" by i64: i64,
    }
    optional {
        received_at = "received_at" by i64: Option<i64>,
        #[serde(borrow)]
        anonymous_id = "anonymous_id" by borrowed: Option<Cow<'a, str>>,
        #[serde(borrow)]
        user_id = "user_id" by borrowed: Option<Cow<'a, str>>,
        #[serde(borrow)]
        session_id = "session_id" by borrowed: Option<Cow<'a, str>>,
        #[serde(borrow)]
        view_id = "view_id" by borrowed: Option<Cow<'a, str>>,
        #[serde(borrow)]
        content_id = "content_id" by borrowed: Option<Cow<'a, str>>,
        #[serde(borrow)]
        content_type = "content_type" by borrowed: Option<Cow<'a, str>>,
        duration_s = "duration_s" by f64: Option<f64>,
        position_s = "position_s" by f64: Option<f64>,
        #[serde(borrow)]
        page_url = "page_url" by borrowed: Option<Cow<'a, str>>,
        #[serde(borrow)]
        player_name = "player_name" by borrowed: Option<Cow<'a, str>>,
        ttff_ms = "ttff_ms" by i64: Option<i64>,
        watched_ms = "watched_ms" by i64: Option<i64>,
        rebuffer_ms = "rebuffer_ms" by i64: Option<i64>,
        played = "played" by ranges: Option<Ranges>,
        fatal = "fatal" by bool: Option<bool>,
        business_error = "business_error" by bool: Option<bool>,
        seek_ms = "seek_ms" by i64: Option<i64>,
        // serde_json takes any JSON value as raw text here; objects are what the edge writes.
        #[serde(borrow)]
        props = "props" by raw_object: Option<RawJson<'a>>,
        #[serde(borrow)]
        browser = "browser" by borrowed: Option<Cow<'a, str>>,
        #[serde(borrow)]
        os = "os" by borrowed: Option<Cow<'a, str>>,
        #[serde(borrow)]
        device_type = "device_type" by borrowed: Option<Cow<'a, str>>,
        #[serde(borrow)]
        device_brand = "device_brand" by borrowed: Option<Cow<'a, str>>,
        #[serde(borrow)]
        device_model = "device_model" by borrowed: Option<Cow<'a, str>>,
        #[serde(borrow)]
        continent = "continent" by borrowed: Option<Cow<'a, str>>,
        #[serde(borrow)]
        country = "country" by borrowed: Option<Cow<'a, str>>,
        #[serde(borrow)]
        subdivision = "subdivision" by borrowed: Option<Cow<'a, str>>,
        #[serde(borrow)]
        timezone = "timezone" by borrowed: Option<Cow<'a, str>>,
    }
}

impl LakeEvent<'_> {
    /// Why this event cannot have happened, if it cannot: a number outside its physical range
    /// (`event_schema::limits::NUMBER_RANGES`, which the edge enforces), or a time outside
    /// 1970 ..= 9999. The edge refuses such events; one in the lake is quarantined.
    pub fn impossible_value(&self) -> Option<String> {
        use event_schema::limits::{self, NumberRange};
        let outside = |range: &NumberRange, value: f64, shown: &dyn std::fmt::Display| {
            (!range.contains(value)).then(|| {
                format!(
                    "`{}` is {shown}, which cannot happen: {}",
                    range.field, range.because
                )
            })
        };
        for (field, value) in [("ts", Some(self.ts)), ("received_at", self.received_at)] {
            if let Some(ms) = value.filter(|ms| !(0..=limits::MAX_TIME_MS).contains(ms)) {
                return Some(format!(
                    "`{field}` is {ms}, which is not a time between 1970 and 9999 in epoch ms"
                ));
            }
        }
        let counts = [
            (&limits::TTFF_MS, self.ttff_ms),
            (&limits::WATCHED_MS, self.watched_ms),
            (&limits::REBUFFER_MS, self.rebuffer_ms),
            (&limits::SEEK_MS, self.seek_ms),
        ];
        for (range, value) in counts {
            if let Some(reason) = value.and_then(|v| outside(range, v as f64, &v)) {
                return Some(reason);
            }
        }
        let seconds = [
            (&limits::POSITION_S, self.position_s),
            (&limits::DURATION_S, self.duration_s),
        ];
        for (range, value) in seconds {
            if let Some(reason) = value.and_then(|v| outside(range, v, &v)) {
                return Some(reason);
            }
        }
        let played = self.played.as_ref().map_or(&[][..], Ranges::as_slice);
        played
            .iter()
            .flatten()
            .find_map(|&end| outside(&limits::PLAYED_S, end, &end))
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

/// Parses lines, keeping its scratch space (a line's quote map) from one line to the next.
pub struct LineParser {
    quotes: QuoteMap,
}

impl Default for LineParser {
    fn default() -> LineParser {
        LineParser {
            quotes: [0; MAX_FAST_LINE / 64],
        }
    }
}

impl LineParser {
    /// Parses `line` onto the end of `events`; false (and `events` as it was) if it is not an event.
    /// The event is parsed in place: an event is ~600 bytes, and moving each one from a parser's
    /// result into a batch cost ~4 % of a load's CPU.
    pub fn push_line<'a>(&mut self, line: &'a [u8], events: &mut Vec<LakeEvent<'a>>) -> bool {
        events.push(LakeEvent::default());
        let Some(event) = events.last_mut() else {
            return false;
        };
        if self.parse_fast(line, event).is_some() {
            return true;
        }
        match serde_json::from_slice(line) {
            Ok(parsed) => {
                *event = parsed;
                true
            }
            Err(_) => {
                events.pop();
                false
            }
        }
    }

    /// The fast path, into `event` (a default one): None unless the line is a flat event object
    /// the scanner reads exactly as serde_json would (`event` is then left in any state).
    fn parse_fast<'a>(&mut self, line: &'a [u8], event: &mut LakeEvent<'a>) -> Option<()> {
        if line.len() > MAX_FAST_LINE || !index_line(line, &mut self.quotes) {
            return None;
        }
        // simdutf8's check costs a fraction of std's (which was ~3 % of a load's CPU).
        let text = simdutf8::basic::from_utf8(line).ok()?;
        let quotes = &self.quotes[..line.len().div_ceil(64)];
        if parse_compact(text, quotes, event).is_some() {
            return Some(());
        }
        *event = LakeEvent::default();
        parse_spaced(text, quotes, event)
    }
}

/// The fast path on its own (tests and [`fast_path_agrees`]).
fn parse_fast(line: &[u8]) -> Option<LakeEvent<'_>> {
    let mut event = LakeEvent::default();
    LineParser::default().parse_fast(line, &mut event)?;
    Some(event)
}

/// The longest line the fast path reads (its quote map lives on the stack); longer lines, which the
/// edge writes only for events with large `props`, go to serde_json.
const MAX_FAST_LINE: usize = 4096;

/// One word per 64 bytes of a line: bit `i % 64` of word `i / 64` is set when byte `i` is a quote.
type QuoteMap = [u64; MAX_FAST_LINE / 64];

/// One pass over a line, before any parsing: where its quotes are (written over the words of
/// `quotes` the line covers), and whether it is plain, that is neither a backslash nor a
/// control character (bytes 0-31) in it. In a plain line every string ends at the next quote, and
/// whitespace between tokens is only spaces; the edge writes such lines, and the scanner declines
/// the others (escapes, pretty-printed or malformed text) to serde_json. Sixteen bytes at a time
/// with SSE2, which every x86-64 CPU has.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
fn index_line(line: &[u8], quotes: &mut QuoteMap) -> bool {
    use safe_arch::{
        bitor_m128i, cmp_eq_mask_i8_m128i, load_unaligned_m128i, m128i, move_mask_i8_m128i,
        set_splat_i8_m128i, sub_saturating_u8_m128i, zeroed_m128i,
    };
    let quote = set_splat_i8_m128i(b'"' as i8);
    let backslash = set_splat_i8_m128i(b'\\' as i8);
    let space = set_splat_i8_m128i(b' ' as i8);
    // Per 16 bytes: the quotes' bits; and, into `special`, a nonzero byte for each control byte
    // (32 minus it, saturating, is nonzero only below 32) or backslash.
    let block = |bytes: &[u8; 16], special: &mut m128i| -> u64 {
        let bytes = load_unaligned_m128i(bytes);
        let odd = bitor_m128i(
            sub_saturating_u8_m128i(space, bytes),
            cmp_eq_mask_i8_m128i(bytes, backslash),
        );
        *special = bitor_m128i(*special, odd);
        u64::from(move_mask_i8_m128i(cmp_eq_mask_i8_m128i(bytes, quote)) as u16)
    };
    // Per 64 bytes: a word of the map.
    let word = |bytes: &[u8], special: &mut m128i| -> u64 {
        let mut bits = 0;
        for (i, sixteen) in bytes.chunks_exact(16).enumerate() {
            if let Ok(sixteen) = sixteen.try_into() {
                bits |= block(sixteen, special) << (16 * i);
            }
        }
        bits
    };
    let mut special = zeroed_m128i();
    let mut words = line.chunks_exact(64);
    for (bits, bytes) in quotes.iter_mut().zip(&mut words) {
        *bits = word(bytes, &mut special);
    }
    let rest = words.remainder();
    if let (false, Some(bits)) = (rest.is_empty(), quotes.get_mut(line.len() / 64)) {
        // The last bytes, padded with spaces (neither quotes nor special).
        let mut padded = [b' '; 64];
        padded[..rest.len()].copy_from_slice(rest);
        *bits = word(&padded, &mut special);
    }
    move_mask_i8_m128i(cmp_eq_mask_i8_m128i(special, zeroed_m128i())) == 0xFFFF
}

/// [`index_line`] a byte at a time, for other CPUs (and, in the tests, to check the SSE2 one).
#[cfg_attr(all(target_arch = "x86_64", target_feature = "sse2"), allow(dead_code))]
fn index_line_bytewise(line: &[u8], quotes: &mut QuoteMap) -> bool {
    let words = line.len().div_ceil(64).min(quotes.len());
    quotes[..words].fill(0);
    for (i, &b) in line.iter().enumerate() {
        if b < 0x20 || b == b'\\' {
            return false;
        }
        if b == b'"' {
            quotes[i / 64] |= 1 << (i % 64);
        }
    }
    true
}

#[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
use index_line_bytewise as index_line;

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
/// Eight bytes at a time: a 13-digit timestamp is two steps, not thirteen.
fn take_digits(bytes: &[u8], i: &mut usize, mantissa: &mut u64) -> usize {
    const ZEROS: u64 = 0x3030_3030_3030_3030;
    const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
    let from = *i;
    while let Some(eight) = bytes.get(*i..*i + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(eight);
        // Each byte minus '0': a digit is 0-9. A byte below '0' wraps to a high bit (borrowing
        // from the bytes after it, which are past the first non-digit and so do not count); one
        // above '9' reaches a high bit when 118 is added (carries likewise go only upward).
        let digits = u64::from_le_bytes(word).wrapping_sub(ZEROS);
        let non_digits = (digits | digits.wrapping_add(0x7676_7676_7676_7676)) & HIGH_BITS;
        let count = if non_digits == 0 {
            8
        } else {
            non_digits.trailing_zeros() as usize / 8
        };
        if count == 0 {
            break;
        }
        *mantissa = mantissa
            .wrapping_mul(POWERS_OF_TEN_U64[count])
            .wrapping_add(eight_digits(digits << (8 * (8 - count))));
        *i += count;
        if count < 8 {
            return *i - from;
        }
    }
    while let Some(&d) = bytes.get(*i).filter(|d| d.is_ascii_digit()) {
        *mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(d - b'0'));
        *i += 1;
    }
    *i - from
}

/// The number written by eight digit values (0-9), the first in the lowest byte (leading zeros
/// allowed): pairs, then fours, then all eight, each a multiply and a shift.
fn eight_digits(digits: u64) -> u64 {
    let pairs = (digits.wrapping_mul(10) + (digits >> 8)) & 0x00FF_00FF_00FF_00FF;
    let fours = (pairs.wrapping_mul(100) + (pairs >> 16)) & 0x0000_FFFF_0000_FFFF;
    (fours.wrapping_mul(10_000) + (fours >> 32)) & 0xFFFF_FFFF
}

/// 10^n for n in 0..=8.
const POWERS_OF_TEN_U64: [u64; 9] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
];

/// The powers of ten a double holds exactly.
const POWERS_OF_TEN: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// The scanner: a cursor over one plain line (valid UTF-8, checked once up front), with the line's
/// quotes ([`index_line`]).
struct Scan<'a, 'q> {
    text: &'a str,
    at: usize,
    /// The line's quote map, as many words as the line needs.
    quotes: &'q [u64],
}

impl<'a> Scan<'a, '_> {
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

    /// The first quote at or after `from`.
    fn next_quote(&self, from: usize) -> Option<usize> {
        let mut word = from / 64;
        let mut bits = self.quotes.get(word)? & (u64::MAX << (from % 64));
        while bits == 0 {
            word += 1;
            bits = *self.quotes.get(word)?;
        }
        Some(word * 64 + bits.trailing_zeros() as usize)
    }

    /// A string: it ends at the next quote, since a plain line has no escape. Inlined: a line has
    /// some 60 strings, and a call cost as much as the rest.
    #[inline(always)]
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.at;
        let end = self.next_quote(start)?;
        self.at = end + 1;
        self.text.get(start..end)
    }

    /// A JSON number (strict grammar).
    #[inline(always)]
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
    fn ranges(&mut self) -> Option<Ranges> {
        self.eat(b'[')?;
        let mut out = Ranges::default();
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

/// A key of at most 16 bytes as two little-endian words, zero past its end. Keys of a plain line
/// have no zero byte, so the words name the key.
const fn key_words(key: &[u8]) -> (u64, u64) {
    let (mut lo, mut hi) = (0u64, 0u64);
    let mut i = 0;
    while i < key.len() && i < 16 {
        if i < 8 {
            lo |= (key[i] as u64) << (8 * i);
        } else {
            hi |= (key[i] as u64) << (8 * (i - 8));
        }
        i += 1;
    }
    (lo, hi)
}

/// [`KEY_TABLE`] has `1 << SLOT_BITS` slots: about four per key, so that a multiplier giving every
/// key its own slot is found within a few dozen tries.
const SLOT_BITS: u32 = 7;

// The scanner reads a key as two 8-byte words.
const _: () = {
    let mut k = 0;
    while k < KEYS.len() {
        assert!(
            KEYS[k].0.len() <= 16,
            "a key of the lake line is at most 16 bytes"
        );
        k += 1;
    }
};

/// Where a key sits in a table of `1 << SLOT_BITS` slots under multiplier `m`, from its first eight
/// bytes and its length (no two of [`KEYS`] share both).
const fn slot_of(m: u64, lo: u64, len: usize) -> usize {
    ((lo ^ len as u64).wrapping_mul(m) >> (64 - SLOT_BITS)) as usize
}

/// Whether multiplier `m` gives every one of [`KEYS`] its own slot.
const fn separates_keys(m: u64) -> bool {
    let mut taken = [false; 1 << SLOT_BITS];
    let mut k = 0;
    while k < KEYS.len() {
        let (lo, _) = key_words(KEYS[k].0.as_bytes());
        let slot = slot_of(m, lo, KEYS[k].0.len());
        if taken[slot] {
            return false;
        }
        taken[slot] = true;
        k += 1;
    }
    true
}

/// The first odd multiplier of a fixed sequence that gives every key its own slot, found at
/// compile time (adding a key may pick another).
const MULTIPLIER: u64 = {
    let mut m: u64 = 0x0613_8C58_3C06_F837;
    let mut tries = 0;
    while !separates_keys(m) {
        tries += 1;
        assert!(
            tries < 100_000,
            "no multiplier separates the keys: raise SLOT_BITS (or two keys share their first 8 bytes and length)"
        );
        m = m
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407)
            | 1;
    }
    m
};

/// Where a key sits in [`KEY_TABLE`]. One multiply: the lookup is on the path of every key.
const fn key_slot(lo: u64, len: usize) -> usize {
    slot_of(MULTIPLIER, lo, len)
}

/// [`KEYS`] by [`key_slot`]: the key's words and field number (`u32::MAX`: no key).
const KEY_TABLE: [(u64, u64, u32); 1 << SLOT_BITS] = {
    let mut table = [(0u64, 0u64, u32::MAX); 1 << SLOT_BITS];
    let mut k = 0;
    while k < KEYS.len() {
        let (lo, hi) = key_words(KEYS[k].0.as_bytes());
        table[key_slot(lo, KEYS[k].0.len())] = (lo, hi, KEYS[k].1);
        k += 1;
    }
    table
};

/// The field number of a key given by its words and length, if it is one of [`KEYS`].
#[inline(always)]
fn field_of_words(lo: u64, hi: u64, len: usize) -> Option<u32> {
    let (key_lo, key_hi, field) = KEY_TABLE[key_slot(lo, len)];
    (key_lo == lo && key_hi == hi && field != u32::MAX).then_some(field)
}

/// The field number of a known key.
fn field_of(key: &str) -> Option<u32> {
    if key.len() > 16 {
        return None;
    }
    let (lo, hi) = key_words(key.as_bytes());
    field_of_words(lo, hi, key.len())
}

/// The field number of the key of `len` bytes at `start` of a plain line: its words are read
/// straight off the line (16 bytes, masked to the key), when the line has that many left.
#[inline(always)]
fn field_at(bytes: &[u8], start: usize, len: usize) -> Option<u32> {
    if len > 16 {
        return None;
    }
    let Some(sixteen) = bytes.get(start..start + 16) else {
        let (lo, hi) = key_words(bytes.get(start..start + len)?);
        return field_of_words(lo, hi, len);
    };
    let word = |from: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&sixteen[from..from + 8]);
        u64::from_le_bytes(w)
    };
    // The low `n` bytes of a word, for n in 0..=8.
    const MASKS: [u64; 9] = [
        0,
        0xFF,
        0xFFFF,
        0xFF_FFFF,
        0xFFFF_FFFF,
        0xFF_FFFF_FFFF,
        0xFFFF_FFFF_FFFF,
        0xFF_FFFF_FFFF_FFFF,
        u64::MAX,
    ];
    field_of_words(
        word(0) & MASKS[len.min(8)],
        word(8) & MASKS[len.saturating_sub(8).min(8)],
        len,
    )
}

/// A plain line's quotes in order, from its quote map.
struct Quotes<'q> {
    map: &'q [u64],
    word: usize,
    /// The quotes of `map[word]` not yet taken.
    bits: u64,
}

impl<'q> Quotes<'q> {
    fn new(map: &'q [u64]) -> Quotes<'q> {
        Quotes {
            map,
            word: 0,
            bits: map.first().copied().unwrap_or(0),
        }
    }

    /// The next quote's place.
    #[inline(always)]
    fn next(&mut self) -> Option<usize> {
        while self.bits == 0 {
            self.word += 1;
            self.bits = *self.map.get(self.word)?;
        }
        let at = self.word * 64 + self.bits.trailing_zeros() as usize;
        self.bits &= self.bits - 1;
        Some(at)
    }

    /// Passes over the quotes before `at` (ones another reader went through).
    fn skip_to(&mut self, at: usize) {
        self.word = at / 64;
        self.bits = self
            .map
            .get(self.word)
            .map_or(0, |w| w & (u64::MAX << (at % 64)));
    }

    /// The quotes of the string that opens at `at`.
    #[inline(always)]
    fn span(&mut self, at: usize) -> Option<(usize, usize)> {
        if self.next()? != at {
            return None;
        }
        Some((at, self.next()?))
    }

    /// The string that opens at `at` (its text, and the place after its closing quote).
    #[inline(always)]
    fn string<'a>(&mut self, text: &'a str, at: usize) -> Option<(&'a str, usize)> {
        let (open, close) = self.span(at)?;
        Some((text.get(open + 1..close)?, close + 1))
    }
}

/// The fast path for lines without whitespace between tokens, as the edge writes them: each key
/// and string value is read off the line's quote map, with no scanning. None if the line has any
/// other form (then [`parse_spaced`] reads it).
fn parse_compact<'a>(text: &'a str, map: &[u64], e: &mut LakeEvent<'a>) -> Option<()> {
    let bytes = text.as_bytes();
    if bytes.first() != Some(&b'{') {
        return None;
    }
    let mut quotes = Quotes::new(map);
    // Each known key once (serde_json refuses a repeated field).
    let mut seen = 0u64;
    let mut at = 1;
    loop {
        let (open, close) = quotes.span(at)?;
        if bytes.get(close + 1) != Some(&b':') {
            return None;
        }
        at = close + 2;
        let field = field_at(bytes, open + 1, close - open - 1);
        if let Some(field) = field {
            if seen & (1 << field) != 0 {
                return None;
            }
            seen |= 1 << field;
        }
        let first = *bytes.get(at)?;
        match field {
            Some(f) if first == b'"' => {
                let (value, after) = quotes.string(text, at)?;
                match string_slot(e, f)? {
                    StringSlot::Required(slot) => *slot = Cow::Borrowed(value),
                    StringSlot::Optional(slot) => *slot = Some(Cow::Borrowed(value)),
                }
                at = after;
            }
            None if first == b'"' => at = quotes.string(text, at)?.1,
            // `null` leaves an optional field out; a required one cannot be null.
            Some(f) if first == b'n' && REQUIRED & (1 << f) == 0 => {
                if bytes.get(at..at + 4) != Some(b"null") {
                    return None;
                }
                at += 4;
            }
            // Numbers and other values: the spaced scanner's readers, from here.
            _ => {
                let mut s = Scan {
                    text,
                    at,
                    quotes: map,
                };
                match field {
                    Some(f) => read_value(e, f, &mut s)?,
                    None => s.skip_value(1)?,
                }
                // Past a value that may hold quotes (props, or an unknown key's value).
                if first == b'{' || field.is_none() {
                    quotes.skip_to(s.at);
                }
                at = s.at;
            }
        }
        match bytes.get(at)? {
            b',' => at += 1,
            b'}' => {
                at += 1;
                break;
            }
            _ => return None,
        }
    }
    (at == bytes.len() && seen & REQUIRED == REQUIRED).then_some(())
}

/// The fast path for plain lines in any spacing.
fn parse_spaced<'a>(text: &'a str, quotes: &[u64], e: &mut LakeEvent<'a>) -> Option<()> {
    let mut s = Scan {
        text,
        at: 0,
        quotes,
    };
    // Each known key once (serde_json refuses a repeated field).
    let mut seen = 0u64;
    s.eat(b'{')?;
    if s.eat(b'}').is_none() {
        loop {
            let key = s.string()?;
            s.eat(b':')?;
            match field_of(key) {
                Some(f) => {
                    if seen & (1 << f) != 0 {
                        return None;
                    }
                    seen |= 1 << f;
                    read_spaced(e, f, &mut s)?;
                }
                None => s.skip_value(1)?,
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
    (s.at == text.len() && seen & REQUIRED == REQUIRED).then_some(())
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
        assert_eq!(
            fast.played.as_ref().map(Ranges::as_slice),
            Some(&[[0.0, 10.0], [12.5, 10.0]][..])
        );
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

    /// A small xorshift generator (tests must not depend on a seed-less source).
    fn xorshift(mut state: u64) -> impl FnMut() -> u64 {
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        }
    }

    #[test]
    fn edge_lines_take_the_compact_path_and_spaced_lines_the_other() {
        fn compact_and_spaced(line: &str) -> (Option<LakeEvent<'_>>, Option<LakeEvent<'_>>) {
            let mut map: QuoteMap = [0; MAX_FAST_LINE / 64];
            assert!(index_line(line.as_bytes(), &mut map));
            let words = &map[..line.len().div_ceil(64)];
            let (mut compact, mut spaced) = (LakeEvent::default(), LakeEvent::default());
            (
                parse_compact(line, words, &mut compact).map(|()| compact),
                parse_spaced(line, words, &mut spaced).map(|()| spaced),
            )
        }
        let (compact, spaced) = compact_and_spaced(EDGE_LINE);
        let compact = compact.expect("compact");
        assert_eq!(Some(compact.clone()), spaced);
        assert_eq!(
            Some(compact),
            serde_json::from_str::<LakeEvent<'_>>(EDGE_LINE).ok()
        );
        let spaced = EDGE_LINE.replace(",\"colo\"", " , \"colo\" ");
        let (compact, spaced_event) = compact_and_spaced(&spaced);
        assert_eq!(compact, None);
        assert!(spaced_event.is_some());
        agrees(spaced.as_bytes());
    }

    #[test]
    fn ranges_keep_every_range_inline_or_not() {
        for n in 0..6 {
            let all: Vec<[f64; 2]> = (0..n).map(|i| [f64::from(i), f64::from(i) + 0.5]).collect();
            let mut ranges = Ranges::default();
            for &r in &all {
                ranges.push(r);
            }
            assert_eq!(ranges.as_slice(), &all[..]);
            let json = serde_json::to_string(&all).expect("json");
            let parsed: Ranges = serde_json::from_str(&json).expect("ranges");
            assert_eq!(parsed, ranges);
            // The fast path reads them as serde_json does.
            agrees(
                EDGE_LINE
                    .replace("[[0.0,10.0],[12.5,1e1]]", &json)
                    .as_bytes(),
            );
        }
        // Equal when their ranges are, whatever was left in unused slots.
        let (mut a, mut b) = (Ranges::default(), Ranges::default());
        a.push([1.0, 2.0]);
        b.inline[1] = [7.0, 8.0];
        b.push([1.0, 2.0]);
        assert_eq!(a, b);
        b.push([3.0, 4.0]);
        assert_ne!(a, b);
    }

    #[test]
    fn the_sse2_index_matches_a_byte_loop() {
        let mut next = xorshift(0x2545_F491_4F6C_DD1D);
        // Mostly letters, with quotes, backslashes, control bytes, bytes above 127 and spaces.
        let alphabet = b"abcXYZ019:,{}[]\"\"\"  \\\x00\x01\x1f\x7f\x80\xc3\xa9\xff";
        // One pair of maps for all lines, as a parser keeps its map from line to line.
        let (mut fast, mut slow): (QuoteMap, QuoteMap) =
            ([0; MAX_FAST_LINE / 64], [0; MAX_FAST_LINE / 64]);
        for len in (0..300usize).chain([1000, 4095, 4096]) {
            for _ in 0..20 {
                let special = next().is_multiple_of(4);
                let line: Vec<u8> = (0..len)
                    .map(|_| {
                        let b = alphabet[(next() % alphabet.len() as u64) as usize];
                        if !special && (b < 0x20 || b == b'\\') {
                            b'x'
                        } else {
                            b
                        }
                    })
                    .collect();
                let plain = index_line_bytewise(&line, &mut slow);
                assert_eq!(index_line(&line, &mut fast), plain, "{line:?}");
                if plain {
                    let words = len.div_ceil(64);
                    assert_eq!(fast[..words], slow[..words], "{line:?}");
                }
            }
        }
    }

    #[test]
    fn keys_are_found_by_their_words_and_nothing_else_is() {
        for (key, field) in KEYS {
            assert_eq!(field_of(key), Some(field), "{key}");
            // Read off a line, with 16 bytes to spare and without.
            let line = format!("\"{key}\":\"0123456789abcdef\"");
            assert_eq!(
                field_at(line.as_bytes(), 1, key.len()),
                Some(field),
                "{key}"
            );
            assert_eq!(field_at(key.as_bytes(), 0, key.len()), Some(field), "{key}");
            for other in [
                format!("{key}_"),
                format!("_{key}"),
                key[..key.len() - 1].to_string(),
                key.to_uppercase(),
                format!("{key}{}", "x".repeat(16)),
            ] {
                assert_eq!(field_of(&other), None, "{other}");
                let line = format!("\"{other}\":\"0123456789abcdef\"");
                assert_eq!(field_at(line.as_bytes(), 1, other.len()), None, "{other}");
            }
        }
        assert_eq!(field_of(""), None);
        assert_eq!(field_at(b"\"\":1", 1, 0), None);
    }

    #[test]
    fn digits_read_eight_at_a_time_as_one_at_a_time() {
        let mut next = xorshift(0x9E37_79B9_7F4A_7C15);
        for _ in 0..20_000 {
            let digits = (next() % 25) as usize;
            let mut text: Vec<u8> = (0..digits).map(|_| b'0' + (next() % 10) as u8).collect();
            // What follows: another token, a byte just outside '0'-'9', or the line's end.
            match next() % 4 {
                0 => text.extend_from_slice(b",\"x\":1}"),
                1 => text.push(b'/'),
                2 => text.push(b':'),
                _ => {}
            }
            let (mut at, mut mantissa) = (0, 0u64);
            let count = take_digits(&text, &mut at, &mut mantissa);
            let expected = text
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .fold(0u64, |m, &d| {
                    m.wrapping_mul(10).wrapping_add(u64::from(d - b'0'))
                });
            assert_eq!((count, at), (digits, digits), "{text:?}");
            assert_eq!(mantissa, expected, "{text:?}");
        }
    }

    #[test]
    fn mutated_edge_lines_read_as_serde_does() {
        let mut next = xorshift(0xD1B5_4A32_D192_ED03);
        let bytes = b"\"{}[],:0123456789.-eEnulltruefalse x\\";
        for _ in 0..30_000 {
            let mut line = EDGE_LINE.as_bytes().to_vec();
            for _ in 0..1 + next() % 3 {
                let at = (next() % line.len() as u64) as usize;
                let byte = bytes[(next() % bytes.len() as u64) as usize];
                match next() % 3 {
                    0 => line[at] = byte,
                    1 => line.insert(at, byte),
                    _ => {
                        line.remove(at);
                    }
                }
            }
            agrees(&line);
        }
    }
}
