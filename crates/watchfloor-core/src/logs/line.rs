//! One log line: parsed once, in the source task, into what the pane needs.

use std::borrow::Cow;
use std::fmt;
use std::time::{Duration, SystemTime};

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::StreamId;
use crate::text::{is_clean, sanitize_limited};

/// Severity, from JSON fields or common plain-text formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    #[default]
    Unknown,
    Trace,
    Debug,
    Info,
    Warn,
    Error,
    Fatal,
}

/// Where a line's message is kept, so that text the raw line already holds is stored once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A part of the raw line, by byte range: all of it (plain lines, JSON without a message),
    /// or a JSON message written without escapes. (No third variant: this one and `Own` share
    /// 16 bytes, as `Option<Box<str>>` would.)
    InRaw { start: u32, end: u32 },
    /// Text of its own (a JSON message that had escapes).
    Own(Box<str>),
}

impl Message {
    /// The whole raw line.
    fn whole(raw: &str) -> Self {
        Self::InRaw {
            start: 0,
            end: raw.len() as u32,
        }
    }

    /// `message` of the line `raw`: a range of it when the text is there verbatim.
    fn within(raw: &str, message: Box<str>) -> Self {
        match raw.find(&*message) {
            Some(start) => Self::InRaw {
                start: start as u32,
                end: (start + message.len()) as u32,
            },
            None => Self::Own(message),
        }
    }

    /// The message's text, given its line's `raw` text.
    fn text<'a>(&'a self, raw: &'a str) -> &'a str {
        match self {
            Self::InRaw { start, end } => {
                raw.get(*start as usize..*end as usize).unwrap_or_default()
            }
            Self::Own(text) => text,
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Self::Own(text) => text.len(),
            Self::InRaw { .. } => 0,
        }
    }
}

/// A parsed, sanitised line. Everything in it is safe to draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub stream: StreamId,
    pub received: SystemTime,
    /// The source's own timestamp (kube `timestamps=true` prefix, or a JSON `timestamp`/`time`/`ts`).
    pub timestamp: Option<SystemTime>,
    pub level: Level,
    /// Where the message is: read it with [`LogLine::message`].
    pub message: Message,
    /// Other JSON fields as `key=value` text, in the line's order (empty for plain lines).
    /// String values are unquoted; numbers, booleans and `null` as written; objects and arrays
    /// as compact JSON. Iterate with `line.fields.iter()` or `&line.fields`.
    pub fields: Fields,
    /// The whole line, sanitised, without the kube timestamp prefix.
    pub raw: Box<str>,
}

impl LogLine {
    /// The text the Logs pane shows first: the raw line in raw mode (or when the line has no
    /// message of its own), else the message.
    pub fn shown_text(&self, raw: bool) -> &str {
        if raw || self.fields.is_empty() && self.message().is_empty() {
            &self.raw
        } else {
            self.message()
        }
    }

    /// The message: JSON `message`/`msg`, else the line without its timestamp prefix.
    pub fn message(&self) -> &str {
        self.message.text(&self.raw)
    }

    /// The fields shown after the message (none in raw mode): those of `chosen` the line has,
    /// in the line's order.
    pub fn shown_fields<'a>(
        &'a self,
        raw: bool,
        chosen: &'a [String],
    ) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.fields
            .iter()
            .filter(move |(key, _)| !raw && chosen.iter().any(|c| c.as_str() == *key))
            .map(|(key, value)| (key, value.0))
    }

    /// The whole text as displayed: the shown text, then ` key=value` per shown field. The
    /// Logs filter matches this, so `/status=500` finds what the screen shows.
    pub fn displayed(&self, raw: bool, chosen: &[String]) -> std::borrow::Cow<'_, str> {
        let text = self.shown_text(raw);
        if raw || chosen.is_empty() {
            return std::borrow::Cow::Borrowed(text);
        }
        let mut fields = self.shown_fields(raw, chosen).peekable();
        if fields.peek().is_none() {
            return std::borrow::Cow::Borrowed(text);
        }
        let mut out = text.to_string();
        for (key, value) in fields {
            out.push(' ');
            out.push_str(key);
            out.push('=');
            out.push_str(value);
        }
        std::borrow::Cow::Owned(out)
    }

    /// When the line happened: the source's timestamp, else when it was received. Lines are
    /// ordered by it.
    pub fn time(&self) -> SystemTime {
        self.timestamp.unwrap_or(self.received)
    }

    /// The value of a JSON field kept in `fields` (the first, if the key repeats).
    pub fn field(&self, key: &str) -> Option<&str> {
        self.fields.get(key)
    }

    /// The JSON `request_id` (or `requestId`, `req_id`, `trace_id`), if the line has one.
    pub fn request_id(&self) -> Option<&str> {
        ["request_id", "requestId", "req_id", "trace_id"]
            .iter()
            .find_map(|k| self.field(k))
    }

    /// Whether the line was cut at [`MAX_LINE_BYTES`].
    pub fn is_truncated(&self) -> bool {
        self.raw.ends_with(TRUNCATED_MARKER)
    }

    /// Bytes this line owns on the heap (string contents, as requested from the allocator; its
    /// per-allocation overhead comes on top).
    pub fn heap_bytes(&self) -> usize {
        self.message.heap_bytes() + self.raw.len() + self.fields.heap_bytes()
    }

    /// Sizes of the heap allocations this line owns (0: none), for estimating allocator overhead.
    pub fn heap_allocations(&self) -> [usize; 3] {
        [
            self.message.heap_bytes(),
            self.raw.len(),
            self.fields.heap_bytes(),
        ]
    }
}

/// A line's JSON fields, compact: every key and value in one allocation, each followed by a NUL
/// (which sanitised text never contains). Keys and values are sanitised on the way in.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Fields {
    text: Box<str>,
}

impl Fields {
    pub fn new() -> Self {
        Self::default()
    }

    /// Pairs in order. Keys are `&str`; values are [`FieldText`] (which derefs to `&str`).
    pub fn iter(&self) -> FieldsIter<'_> {
        FieldsIter { rest: &self.text }
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    pub fn len(&self) -> usize {
        self.text.bytes().filter(|b| *b == 0).count() / 2
    }

    /// The value of the first field with this key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Bytes owned on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.text.len()
    }
}

impl<K: AsRef<str>, V: AsRef<str>> FromIterator<(K, V)> for Fields {
    /// Builds from pairs, sanitising each key and value.
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        let mut text = String::new();
        for (key, value) in pairs {
            push_clean(&mut text, key.as_ref());
            push_clean(&mut text, value.as_ref());
        }
        Self {
            text: text.into_boxed_str(),
        }
    }
}

impl From<Vec<(Box<str>, Box<str>)>> for Fields {
    fn from(pairs: Vec<(Box<str>, Box<str>)>) -> Self {
        pairs.into_iter().collect()
    }
}

impl fmt::Debug for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.iter().map(|(k, v)| (k, v.as_str())))
            .finish()
    }
}

impl<'a> IntoIterator for &'a Fields {
    type Item = (&'a str, FieldText<'a>);
    type IntoIter = FieldsIter<'a>;
    fn into_iter(self) -> FieldsIter<'a> {
        self.iter()
    }
}

/// Iterator over [`Fields`].
#[derive(Debug, Clone)]
pub struct FieldsIter<'a> {
    rest: &'a str,
}

impl<'a> Iterator for FieldsIter<'a> {
    type Item = (&'a str, FieldText<'a>);
    fn next(&mut self) -> Option<Self::Item> {
        let (key, rest) = self.rest.split_once('\0')?;
        let (value, rest) = rest.split_once('\0')?;
        self.rest = rest;
        Some((key, FieldText(value)))
    }
}

/// A field's value. Derefs to `&str`, so code written for the `&Box<str>` values `fields` used to
/// hold (`&**value`, `value.chars()`, `{value}`) works unchanged; `as_str()` is the text.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldText<'a>(pub &'a str);

impl<'a> FieldText<'a> {
    pub fn as_str(&self) -> &'a str {
        self.0
    }
}

impl<'a> std::ops::Deref for FieldText<'a> {
    type Target = &'a str;
    fn deref(&self) -> &&'a str {
        &self.0
    }
}

impl AsRef<str> for FieldText<'_> {
    fn as_ref(&self) -> &str {
        self.0
    }
}

impl fmt::Display for FieldText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl fmt::Debug for FieldText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.0, f)
    }
}

impl PartialEq<str> for FieldText<'_> {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for FieldText<'_> {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

/// Appends `text` sanitised (at most `MAX_LINE_BYTES`, marked if cut) and a NUL.
fn push_clean(out: &mut String, text: &str) {
    let (clean, cut) = sanitize_limited(text, MAX_LINE_BYTES);
    out.push_str(&clean);
    if cut {
        out.push_str(TRUNCATED_MARKER);
    }
    out.push('\0');
}

/// Lines longer than this are truncated with a marker.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Appended to a line cut at [`MAX_LINE_BYTES`].
pub const TRUNCATED_MARKER: &str = " …[truncated]";

/// Parses one line of bytes. `kube_timestamps`: the line starts with an RFC 3339 timestamp and a
/// space (kube's `timestamps=true`). Invalid UTF-8 becomes U+FFFD; controls and escape sequences
/// are removed; tabs are expanded. A line over [`MAX_LINE_BYTES`] is cut there (on a character
/// boundary) and ends with [`TRUNCATED_MARKER`]; each text (`raw`, `message`, field keys and
/// values) is at most `MAX_LINE_BYTES` plus the marker.
pub fn parse_line(
    stream: StreamId,
    bytes: &[u8],
    kube_timestamps: bool,
    received: SystemTime,
) -> LogLine {
    let bytes = trim_line_end(bytes);
    let (bytes, mut truncated) = cut_bytes(bytes, MAX_LINE_BYTES);
    // `from_utf8` is the fast check for the common valid case; invalid bytes become U+FFFD.
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    };
    let (timestamp, rest) = if kube_timestamps {
        split_timestamp(&text)
    } else {
        (None, &*text)
    };
    let (clean, cut) = sanitize_limited(rest, MAX_LINE_BYTES);
    truncated |= cut;
    // Nothing was sanitised away: positions in `rest` are positions in `raw`.
    let verbatim = matches!(clean, Cow::Borrowed(_));
    let raw: Box<str> = if truncated {
        [&*clean, TRUNCATED_MARKER].concat().into()
    } else {
        clean.into()
    };

    let json = if !truncated && rest.trim_start().starts_with('{') {
        parse_json(rest, timestamp.is_some())
    } else {
        None
    };
    match json {
        Some(json) => {
            // (the message, whether it is the line's own message rather than the whole line)
            let (message, own) = match json.message {
                Some(JsonMessage::At(range)) if !range.is_empty() => {
                    match rest.get(range.clone()) {
                        Some(_) if verbatim => (
                            Message::InRaw {
                                start: range.start as u32,
                                end: range.end as u32,
                            },
                            true,
                        ),
                        Some(text) => (Message::within(&raw, clean_box(Cow::Borrowed(text))), true),
                        None => (Message::whole(&raw), false),
                    }
                }
                Some(JsonMessage::Own(text)) if !text.is_empty() => (Message::Own(text), true),
                _ => (Message::whole(&raw), false),
            };
            let level = match json.level {
                Some(level) => level,
                None if own => plain_level(message.text(&raw)),
                None => Level::Unknown,
            };
            LogLine {
                stream,
                received,
                timestamp: timestamp.or(json.timestamp),
                level,
                message,
                fields: json.fields,
                raw,
            }
        }
        None => LogLine {
            stream,
            received,
            timestamp,
            level: plain_level(&raw),
            message: Message::whole(&raw),
            fields: Fields::new(),
            raw,
        },
    }
}

fn trim_line_end(mut bytes: &[u8]) -> &[u8] {
    while let [head @ .., b'\n' | b'\r'] = bytes {
        bytes = head;
    }
    bytes
}

/// Cuts to at most `max` bytes without splitting a (valid) UTF-8 sequence.
fn cut_bytes(bytes: &[u8], max: usize) -> (&[u8], bool) {
    if bytes.len() <= max {
        return (bytes, false);
    }
    let mut cut = max;
    // The first byte left out must not continue a character that starts before the cut.
    while cut > max.saturating_sub(3) && (bytes[cut] & 0xc0) == 0x80 {
        cut -= 1;
    }
    if (bytes[cut] & 0xc0) == 0x80 {
        cut = max; // not valid UTF-8 there anyway
    }
    (&bytes[..cut], true)
}

/// Splits kube's `2026-11-23T01:02:03.123456789Z ` prefix.
fn split_timestamp(text: &str) -> (Option<SystemTime>, &str) {
    match text.split_once(' ') {
        Some((first, rest)) if first.len() >= 20 && first.as_bytes()[4] == b'-' => {
            match parse_time(first) {
                Some(at) => (Some(at), rest),
                None => (None, text),
            }
        }
        _ => (None, text),
    }
}

/// RFC 3339 (`Z`, an offset, or none), with a `T` or a space.
fn parse_time(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    if let Ok(at) = humantime::parse_rfc3339_weak(text) {
        return Some(at);
    }
    crate::timestamp::parse_rfc3339(text).map(SystemTime::from)
}

/// An integer as Unix time: seconds, or milli/micro/nanoseconds by magnitude.
fn epoch_int(value: u64) -> Option<SystemTime> {
    let since = match value {
        0 => return None,
        100_000_000_000_000_000.. => Duration::from_nanos(value),
        100_000_000_000_000.. => Duration::from_micros(value),
        100_000_000_000.. => Duration::from_millis(value),
        _ => Duration::from_secs(value),
    };
    SystemTime::UNIX_EPOCH.checked_add(since)
}

/// A number as Unix time: seconds, or milli/micro/nanoseconds by magnitude.
fn epoch_time(value: f64) -> Option<SystemTime> {
    if !value.is_finite() || value <= 0.0 {
        return None;
    }
    let secs = if value >= 1e17 {
        value / 1e9
    } else if value >= 1e14 {
        value / 1e6
    } else if value >= 1e11 {
        value / 1e3
    } else {
        value
    };
    SystemTime::UNIX_EPOCH.checked_add(Duration::try_from_secs_f64(secs).ok()?)
}

/// A level name, any case, without allocating.
fn level_word(word: &str) -> Option<Level> {
    let word = word.trim().as_bytes();
    let mut buf = [0u8; 11];
    if word.len() > buf.len() {
        return None;
    }
    let lower = &mut buf[..word.len()];
    lower.copy_from_slice(word);
    lower.make_ascii_lowercase();
    Some(match &*lower {
        b"trace" | b"trc" => Level::Trace,
        b"debug" | b"dbg" => Level::Debug,
        b"info" | b"inf" | b"information" | b"notice" => Level::Info,
        b"warn" | b"warning" | b"wrn" => Level::Warn,
        b"error" | b"err" | b"eror" => Level::Error,
        b"fatal" | b"ftl" | b"critical" | b"crit" | b"panic" | b"emerg" | b"emergency"
        | b"alert" => Level::Fatal,
        _ => return None,
    })
}

/// A JSON level value: a name, a one-letter name, or a number (syslog 0..=7 as in GELF, or
/// pino/bunyan 10..=60).
fn json_level(value: &Scalar<'_>) -> Option<Level> {
    match value {
        Scalar::Str(s) => level_word(s).or_else(|| match s.trim().as_bytes() {
            [c] => Some(match c.to_ascii_lowercase() {
                b't' => Level::Trace,
                b'd' => Level::Debug,
                b'i' => Level::Info,
                b'w' => Level::Warn,
                b'e' => Level::Error,
                b'f' | b'c' => Level::Fatal,
                _ => return None,
            }),
            _ => None,
        }),
        Scalar::Int(n) => numeric_level(*n),
        Scalar::UInt(n) => numeric_level(i64::try_from(*n).ok()?),
        _ => None,
    }
}

fn numeric_level(n: i64) -> Option<Level> {
    Some(match n {
        0..=2 => Level::Fatal,
        3 => Level::Error,
        4 => Level::Warn,
        5 | 6 => Level::Info,
        7 => Level::Debug,
        10..=19 => Level::Trace,
        20..=29 => Level::Debug,
        30..=39 => Level::Info,
        40..=49 => Level::Warn,
        50..=59 => Level::Error,
        60.. => Level::Fatal,
        _ => return None,
    })
}

/// Levels in common plain formats: syslog `<3>`, klog `E1123 ...`, logfmt `level=info`,
/// `[warn]`/`[ERROR]`/`[core:error]`, an upper-case word near the start (`ERROR ...`,
/// `2026-... WARN ...`, `ERROR:root:...`, zerolog's `INF`), or a leading `error:`.
fn plain_level(text: &str) -> Level {
    let bytes = text.as_bytes();
    // Syslog priority: severity is the priority modulo 8.
    if let [b'<', rest @ ..] = bytes
        && let Some(end) = rest.iter().take(4).position(|b| *b == b'>')
        && end > 0
        && let Ok(priority) = text[1..=end].parse::<u8>()
        && priority <= 191
        && let Some(level) = numeric_level(i64::from(priority % 8))
    {
        return level;
    }
    // klog: `E1123 01:02:03.123456 ...`.
    if bytes.len() > 6 && bytes[1..5].iter().all(u8::is_ascii_digit) && bytes[5] == b' ' {
        match bytes[0] {
            b'I' => return Level::Info,
            b'W' => return Level::Warn,
            b'E' => return Level::Error,
            b'F' => return Level::Fatal,
            _ => {}
        }
    }
    // logfmt: `level=`, `lvl=` or `severity=`, starting the line or after a space or comma
    // (not `?level=` in a URL).
    let mut from = 0;
    while let Some(eq) = text[from..].find('=') {
        let at = from + eq;
        from = at + 1;
        let start = bytes[..at]
            .iter()
            .rposition(|b| !b.is_ascii_alphabetic())
            .map_or(0, |i| i + 1);
        if matches!(&text[start..at], "level" | "lvl" | "severity")
            && (start == 0 || matches!(bytes[start - 1], b' ' | b','))
        {
            let value = text[from..].trim_start_matches('"');
            let end = value
                .find(|c: char| !c.is_ascii_alphabetic())
                .unwrap_or(value.len());
            if let Some(level) = level_word(&value[..end]) {
                return level;
            }
        }
    }
    // Look near the start only, so a word in the message body does not set the level.
    let head = &text[..crate::text::floor_char_boundary(text, 160)];
    // `[warn]`, `[ERROR]`, `[core:error]`: a short bracketed word.
    let mut rest = head;
    while let Some(open) = rest.find('[') {
        let after = &rest[open + 1..];
        match after.bytes().take(25).position(|b| b == b']') {
            Some(close) => {
                let inside = &after[..close];
                if let Some(level) = level_word(inside.rsplit(':').next().unwrap_or(inside)) {
                    return level;
                }
                rest = &after[close + 1..];
            }
            None => rest = after,
        }
    }
    if let Some(first) = head.split(':').next()
        && first.len() < head.len()
        && first.bytes().all(|b| b.is_ascii_lowercase())
        && let Some(level) = level_word(first)
    {
        return level;
    }
    for word in head
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|w| !w.is_empty())
        .take(8)
    {
        if word.len() >= 3
            && word.bytes().all(|b| b.is_ascii_uppercase())
            && let Some(level) = level_word(word)
        {
            return level;
        }
    }
    Level::Unknown
}

/// What a JSON line contributes to its `LogLine`.
#[derive(Default)]
struct Json {
    message: Option<JsonMessage>,
    level: Option<Level>,
    timestamp: Option<SystemTime>,
    fields: Fields,
}

/// Where a JSON line's message is.
enum JsonMessage {
    /// Written without escapes and clean: this byte range of the parsed text.
    At(std::ops::Range<usize>),
    /// Unescaped (and sanitised) into text of its own.
    Own(Box<str>),
}

/// Parses a JSON object line without building a `serde_json::Value`: keys and string values are
/// borrowed from the line unless they contain escapes, and only what is kept is allocated.
/// `None` if the line is not exactly one JSON object.
fn parse_json(text: &str, has_timestamp: bool) -> Option<Json> {
    thread_local! {
        /// Where the fields text is built before one exact allocation (no growth or shrinking
        /// reallocations per line).
        static SCRATCH: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
    }
    SCRATCH.with(|scratch| {
        let mut fields = scratch.try_borrow_mut().ok()?;
        fields.clear();
        let mut json = Json::default();
        let mut de = serde_json::Deserializer::from_str(text);
        let visitor = ObjectVisitor {
            json: &mut json,
            fields: &mut fields,
            has_timestamp,
            base: text.as_ptr() as usize,
        };
        de.deserialize_map(visitor).ok()?;
        de.end().ok()?;
        json.fields = Fields {
            text: Box::from(fields.as_str()),
        };
        if fields.capacity() > 4 * MAX_LINE_BYTES {
            *fields = String::new(); // do not keep a huge buffer after an unusual line
        }
        Some(json)
    })
}

struct ObjectVisitor<'j> {
    json: &'j mut Json,
    /// `Fields` text under construction.
    fields: &'j mut String,
    /// The line had a kube timestamp: JSON times are kept as fields.
    has_timestamp: bool,
    /// Address of the parsed text, to tell where a borrowed value lies in it.
    base: usize,
}

impl<'de> Visitor<'de> for ObjectVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let json = self.json;
        let fields = self.fields;
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            let value: Scalar<'de> = map.next_value()?;
            match &*key {
                "message" | "msg" if json.message.is_none() => {
                    json.message = Some(match value {
                        // Borrowed: no escapes, so the text is the line's own bytes.
                        Scalar::Str(Cow::Borrowed(text))
                            if is_clean(text) && text.len() <= MAX_LINE_BYTES =>
                        {
                            let start = (text.as_ptr() as usize).saturating_sub(self.base);
                            JsonMessage::At(start..start + text.len())
                        }
                        value => JsonMessage::Own(clean_box(value.into_text())),
                    });
                    continue;
                }
                "level" | "severity" | "lvl" | "levelname" | "log.level"
                    if json.level.is_none() =>
                {
                    if let Some(level) = json_level(&value) {
                        json.level = Some(level);
                        continue;
                    }
                }
                "timestamp" | "time" | "ts" | "@timestamp"
                    if json.timestamp.is_none() && !self.has_timestamp =>
                {
                    let at = match &value {
                        Scalar::Str(s) => parse_time(s),
                        Scalar::Int(n) => u64::try_from(*n).ok().and_then(epoch_int),
                        Scalar::UInt(n) => epoch_int(*n),
                        Scalar::Float(n) => epoch_time(*n),
                        _ => None,
                    };
                    if at.is_some() {
                        json.timestamp = at;
                        continue;
                    }
                }
                _ => {}
            }
            push_clean(fields, &key);
            push_clean(fields, &value.into_text());
        }
        Ok(())
    }
}

/// Sanitised and boxed, reusing an owned string's buffer when it needs no change.
fn clean_box(text: Cow<'_, str>) -> Box<str> {
    if is_clean(&text) && text.len() <= MAX_LINE_BYTES {
        return match text {
            Cow::Borrowed(s) => Box::from(s),
            Cow::Owned(s) => s.into_boxed_str(),
        };
    }
    let (clean, cut) = sanitize_limited(&text, MAX_LINE_BYTES);
    if cut {
        [&*clean, TRUNCATED_MARKER].concat().into()
    } else {
        clean.into()
    }
}

/// An object key, borrowed when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// A field value: scalars as they are, objects and arrays as compact JSON text.
enum Scalar<'de> {
    Str(Cow<'de, str>),
    Int(i64),
    UInt(u64),
    Float(f64),
    Bool(bool),
    Null,
    Json(String),
}

impl<'de> Scalar<'de> {
    fn into_text(self) -> Cow<'de, str> {
        match self {
            Scalar::Str(s) => s,
            Scalar::Int(n) => Cow::Owned(n.to_string()),
            Scalar::UInt(n) => Cow::Owned(n.to_string()),
            Scalar::Float(n) => Cow::Owned(
                serde_json::Number::from_f64(n).map_or_else(|| n.to_string(), |n| n.to_string()),
            ),
            Scalar::Bool(b) => Cow::Borrowed(if b { "true" } else { "false" }),
            Scalar::Null => Cow::Borrowed("null"),
            Scalar::Json(s) => Cow::Owned(s),
        }
    }
}

impl<'de> Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ScalarVisitor;
        impl<'de> Visitor<'de> for ScalarVisitor {
            type Value = Scalar<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Bool(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar<'de>, E> {
                Ok(Scalar::UInt(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Float(v))
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Str(Cow::Owned(v)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Null)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Scalar<'de>, A::Error> {
                let value =
                    serde_json::Value::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
                Ok(Scalar::Json(value.to_string()))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Scalar<'de>, A::Error> {
                let value =
                    serde_json::Value::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(Scalar::Json(value.to_string()))
            }
        }
        deserializer.deserialize_any(ScalarVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64, nanos: u32) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::new(secs, nanos)
    }

    fn parse(text: &str) -> LogLine {
        parse_line(7, text.as_bytes(), false, at(0, 0))
    }

    fn assert_safe(text: &str) {
        for c in text.chars() {
            assert!(!c.is_control(), "control {c:?} in {text:?}");
            assert!(
                !matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{061c}' | '\u{feff}'),
                "bidi {c:?} in {text:?}"
            );
        }
    }

    fn assert_line_safe(line: &LogLine) {
        assert_safe(&line.raw);
        assert_safe(line.message());
        for (k, v) in &line.fields {
            assert_safe(k);
            assert_safe(&v);
        }
    }

    const TYPICAL: &str = r#"{"level":"info","ts":"2026-11-23T01:02:03.123456Z","msg":"request completed","request_id":"7f3c9a2e-4b1d-4e8a-9c2f-1a2b3c4d5e6f","method":"GET","path":"/api/v1/orders/12345","status":200,"duration_ms":12.5,"ok":true,"user":null}"#;

    #[test]
    fn parses_json_fields_in_order() {
        let line = parse(TYPICAL);
        assert_eq!(line.stream, 7);
        assert_eq!(line.level, Level::Info);
        assert_eq!(line.timestamp, Some(at(1_795_395_723, 123_456_000)));
        assert_eq!(line.message(), "request completed");
        assert_eq!(
            line.request_id(),
            Some("7f3c9a2e-4b1d-4e8a-9c2f-1a2b3c4d5e6f")
        );
        let fields: Vec<(&str, &str)> = line.fields.iter().map(|(k, v)| (k, v.as_str())).collect();
        assert_eq!(
            fields,
            [
                ("request_id", "7f3c9a2e-4b1d-4e8a-9c2f-1a2b3c4d5e6f"),
                ("method", "GET"),
                ("path", "/api/v1/orders/12345"),
                ("status", "200"),
                ("duration_ms", "12.5"),
                ("ok", "true"),
                ("user", "null")
            ]
        );
        assert_eq!(line.field("status"), Some("200"));
        assert_eq!(line.fields.len(), 7);
        assert_eq!(&*line.raw, TYPICAL);
        assert!(!line.is_truncated());
    }

    #[test]
    fn json_variants() {
        let line = parse(
            r#"{"message":"m1","msg":"m2","severity":"WARNING","timestamp":"2026-11-23T02:02:03+01:00"}"#,
        );
        assert_eq!((line.message(), line.level), ("m1", Level::Warn));
        assert_eq!(line.field("msg"), Some("m2"));
        assert_eq!(line.timestamp, Some(at(1_795_395_723, 0)));
        // Numeric levels (pino, GELF) and epoch timestamps (zap: seconds; others: millis).
        let line = parse(r#"{"level":50,"time":1795395723123,"msg":"boom"}"#);
        assert_eq!(
            (line.level, line.timestamp),
            (Level::Error, Some(at(1_795_395_723, 123_000_000)))
        );
        let line = parse(r#"{"level":"warn","ts":1795395723.5,"msg":"x"}"#);
        assert_eq!(
            (line.level, line.timestamp),
            (Level::Warn, Some(at(1_795_395_723, 500_000_000)))
        );
        assert_eq!(
            parse(r#"{"level":3,"short_message":"x"}"#).level,
            Level::Error
        );
        assert_eq!(
            parse(r#"{"levelname":"CRITICAL","msg":"x"}"#).level,
            Level::Fatal
        );
        assert_eq!(parse(r#"{"lvl":"E","msg":"x"}"#).level, Level::Error);
        // An unknown level or an unparsable time stays visible as a field.
        let line = parse(r#"{"level":"verbose","time":"yesterday","msg":"x"}"#);
        assert_eq!((line.level, line.timestamp), (Level::Unknown, None));
        assert_eq!(
            (line.field("level"), line.field("time")),
            (Some("verbose"), Some("yesterday"))
        );
        // No level field: the message's own.
        assert_eq!(parse(r#"{"msg":"ERROR: disk full"}"#).level, Level::Error);
        // Nested values as compact JSON; escapes decoded then sanitised.
        let line =
            parse(r#"{"msg":"a\tb\u001b[31mred\n","ctx":{"k": [1, "two"]},"k\u202eey":"v\u0007"}"#);
        assert_eq!(line.message(), "a       bred⏎");
        assert_eq!(line.field("ctx"), Some(r#"{"k":[1,"two"]}"#));
        assert_eq!(line.field("key"), Some("v"));
        assert_line_safe(&line);
        // No message: the whole line.
        let line = parse(r#"{"level":"error","code":7}"#);
        assert_eq!(line.message(), r#"{"level":"error","code":7}"#);
        // Not an object, or not only one: a plain line.
        for text in [
            r#"{"msg":"a"} trailing"#,
            r#"{"msg":"#,
            "[1,2]",
            r#"{"a":1}{"b":2}"#,
        ] {
            let line = parse(text);
            assert!(line.fields.is_empty(), "{text}");
            assert_eq!(line.message(), text);
        }
    }

    #[test]
    fn json_time_with_kube_prefix_is_a_field() {
        let text = format!("2026-11-23T01:02:03.123456789Z {TYPICAL}");
        let line = parse_line(1, text.as_bytes(), true, at(0, 0));
        assert_eq!(line.timestamp, Some(at(1_795_395_723, 123_456_789)));
        assert_eq!(line.field("ts"), Some("2026-11-23T01:02:03.123456Z"));
        assert_eq!(&*line.raw, TYPICAL);
    }

    #[test]
    fn plain_levels() {
        let cases = [
            (
                "time=2026-11-23T01:02:03Z level=warn msg=\"slow\"",
                Level::Warn,
            ),
            ("ts=1 lvl=error msg=x", Level::Error),
            ("level=\"debug\" msg=x", Level::Debug),
            ("GET /search?level=error 200", Level::Unknown),
            ("[WARN] disk almost full", Level::Warn),
            (
                "2026-11-23 01:02:03,123 ERROR [main] com.example.App - boom",
                Level::Error,
            ),
            (
                "2026-11-23T01:02:03.123Z  INFO 1 --- [main] o.s.b.StartupInfoLogger : Started",
                Level::Info,
            ),
            ("WARN something", Level::Warn),
            (
                "E1123 01:02:03.123456       1 controller.go:42] sync failed",
                Level::Error,
            ),
            (
                "I1123 01:02:03.123456       1 main.go:10] started",
                Level::Info,
            ),
            (
                "W1123 01:02:03.123456       1 main.go:10] careful",
                Level::Warn,
            ),
            (
                "F1123 01:02:03.123456       1 main.go:10] dead",
                Level::Fatal,
            ),
            ("ERROR:root:something failed", Level::Error),
            ("WARNING:urllib3.connectionpool:Retrying", Level::Warn),
            (
                "2026/11/23 01:02:03 [error] 31#31: *1 open() failed",
                Level::Error,
            ),
            (
                "2026/11/23 01:02:03 [notice] 1#1: start worker processes",
                Level::Info,
            ),
            (
                "[Mon Nov 23 01:02:03.123456 2026] [core:error] [pid 12] AH00124: oops",
                Level::Error,
            ),
            ("<3>kernel: something broke", Level::Error),
            ("<30>systemd[1]: Started", Level::Info),
            ("<12>warning", Level::Warn),
            ("2026-11-23T01:02:03Z INF request served", Level::Info),
            ("panic: runtime error: index out of range", Level::Fatal),
            ("\u{1b}[31mERROR\u{1b}[0m coloured level", Level::Error),
            (
                "10.0.0.1 - - [23/Nov/2026:01:02:03 +0000] \"GET / HTTP/1.1\" 200 612",
                Level::Unknown,
            ),
            (
                "just a message mentioning an error later on",
                Level::Unknown,
            ),
            ("E12345678 is an error code", Level::Unknown),
            ("", Level::Unknown),
        ];
        for (text, level) in cases {
            assert_eq!(parse(text).level, level, "{text:?}");
        }
    }

    #[test]
    fn kube_timestamp_prefix() {
        let line = parse_line(
            0,
            b"2026-11-23T01:02:03.123456789Z hello world\n",
            true,
            at(0, 0),
        );
        assert_eq!(line.timestamp, Some(at(1_795_395_723, 123_456_789)));
        assert_eq!((&*line.raw, line.message()), ("hello world", "hello world"));
        // Not a timestamp: kept.
        let line = parse_line(0, b"not-a-timestamp-at-all hello", true, at(0, 0));
        assert_eq!(
            (line.timestamp, &*line.raw),
            (None, "not-a-timestamp-at-all hello")
        );
        // Without the flag the prefix is text.
        let line = parse_line(0, b"2026-11-23T01:02:03Z hello", false, at(0, 0));
        assert_eq!(
            (line.timestamp, &*line.raw),
            (None, "2026-11-23T01:02:03Z hello")
        );
        assert_eq!(line.received, at(0, 0));
    }

    #[test]
    fn hostile_lines_are_safe() {
        let corpus: Vec<Vec<u8>> = vec![
            b"\x1b[31mred\x1b[0m \x1b[2J\x1b[H\x1b[10;10H\x1b[?1049h".to_vec(),
            b"\x1b]0;pwned\x07\x1b]2;pwned\x1b\\title".to_vec(),
            b"\x1b]52;c;cm0gLXJmIC8K\x07clipboard".to_vec(),
            b"\x1b]8;;https://evil.example\x1b\\click\x1b]8;;\x1b\\".to_vec(),
            b"\x1b]4;1;rgb:ff/00/00\x07palette\x1b]104\x07".to_vec(),
            b"\x1bPq#0;2;0;0;0\x1b\\dcs \x1b_apc\x1b\\ \x1b^pm\x1b\\ \x1bXsos\x1b\\".to_vec(),
            "8-bit \u{9b}31m csi \u{9d}0;title\u{9c} osc".as_bytes().to_vec(),
            b"esc at end \x1b".to_vec(),
            b"unterminated osc \x1b]0;rest of the line".to_vec(),
            b"nul \x00 bytes \x00\x00 and bell \x07 bs \x08".to_vec(),
            b"invalid utf-8 \xff\xfe \xc3 \xe2\x82 \x9b31m".to_vec(),
            "bidi \u{202e}reversed\u{202c} \u{2067}iso\u{2069} \u{200f}".as_bytes().to_vec(),
            b"tabs\tand\tmore\t".to_vec(),
            br#"{"msg":"\u001b]0;title\u0007json \u202e","level":"error","\u001b[2Jkey":"\u009b2J"}"#.to_vec(),
        ];
        for bytes in &corpus {
            let line = parse_line(0, bytes, false, at(0, 0));
            assert_line_safe(&line);
            assert!(
                !line.raw.contains("pwned")
                    && !line.raw.contains("evil")
                    && !line.raw.contains("rgb:"),
                "{:?}",
                line.raw
            );
        }
        let line = parse_line(0, b"invalid \xff utf-8", false, at(0, 0));
        assert_eq!(&*line.raw, "invalid \u{fffd} utf-8");
        let line = parse_line(0, b"a\tb", false, at(0, 0));
        assert_eq!(&*line.raw, "a       b");
        let line = parse(r#"{"msg":"\u001b]0;title\u0007json \u202e","level":"error"}"#);
        assert_eq!((line.message(), line.level), ("json ", Level::Error));
    }

    #[test]
    fn long_lines_are_truncated_with_marker() {
        // 1 MiB of 3-byte characters: the cut never splits one.
        let big = "€".repeat(1024 * 1024 / 3);
        let line = parse_line(0, big.as_bytes(), false, at(0, 0));
        assert!(line.is_truncated());
        let body = line.raw.strip_suffix(TRUNCATED_MARKER).unwrap();
        assert!(body.len() <= MAX_LINE_BYTES && body.len() > MAX_LINE_BYTES - 4);
        assert!(body.chars().all(|c| c == '€'), "split character at the cut");
        assert_eq!(line.message(), &*line.raw);
        // 1 MiB of ASCII, of tabs (expansion is bounded too), of escape sequences, one JSON line.
        for big in [
            "x".repeat(1 << 20),
            "\t".repeat(1 << 20),
            "\x1b[31m".repeat(1 << 17),
            format!(r#"{{"msg":"{}"}}"#, "y".repeat(1 << 20)),
        ] {
            let line = parse_line(0, big.as_bytes(), false, at(0, 0));
            assert!(line.raw.len() <= MAX_LINE_BYTES + TRUNCATED_MARKER.len());
            assert_line_safe(&line);
        }
        let line = parse_line(0, "\t".repeat(1 << 20).as_bytes(), false, at(0, 0));
        assert!(line.is_truncated());
        // Exactly the limit (plus a newline) is not truncated.
        let exact = format!("{}\n", "z".repeat(MAX_LINE_BYTES));
        assert!(!parse_line(0, exact.as_bytes(), false, at(0, 0)).is_truncated());
        // A tab-heavy JSON message is bounded as well.
        let json = format!(r#"{{"msg":"{}"}}"#, "\\t".repeat(20_000));
        let line = parse_line(0, json.as_bytes(), false, at(0, 0));
        assert!(line.message().len() <= MAX_LINE_BYTES + TRUNCATED_MARKER.len());
    }

    #[test]
    fn a_json_message_is_read_from_where_the_raw_line_holds_it() {
        let now = SystemTime::UNIX_EPOCH;
        // After a kube timestamp prefix.
        let line = parse_line(
            0,
            br#"2026-11-23T01:02:03.000000001Z {"level":"warn","msg":"disk slow","n":1}"#,
            true,
            now,
        );
        assert_eq!((line.message(), line.level), ("disk slow", Level::Warn));
        assert_eq!(line.heap_allocations()[0], 0);
        // Something elsewhere in the line was sanitised: the message is still itself.
        let bidi = "{\"msg\":\"ok then\",\"x\":\"a\u{202e}b\"}";
        let line = parse_line(0, bidi.as_bytes(), false, now);
        assert!(!line.raw.contains('\u{202e}'), "{:?}", line.raw);
        assert_eq!(line.message(), "ok then");
        assert_safe(&line.raw);
        // The level comes from the message when no field says it; none without a message.
        assert_eq!(parse(r#"{"msg":"ERROR: boom"}"#).level, Level::Error);
        assert_eq!(parse(r#"{"code":"ERROR: boom"}"#).level, Level::Unknown);
    }

    #[test]
    fn heap_bytes_counts_contents() {
        let line = parse("plain");
        // The message is the raw line: stored once.
        assert_eq!(line.heap_bytes(), 5);
        assert_eq!(line.heap_allocations(), [0, 5, 0]);
        // A message the raw line holds verbatim is a range of it; one with escapes its own.
        let line = parse(r#"{"msg":"m","k":"v"}"#);
        assert_eq!(line.heap_bytes(), 19 + 4);
        assert_eq!(line.heap_allocations(), [0, 19, 4]);
        assert_eq!(line.message(), "m");
        let line = parse(r#"{"msg":"a\"b","k":"v"}"#);
        assert_eq!(line.message(), "a\"b");
        assert_eq!(line.heap_allocations(), [3, 22, 4]);
    }

    #[test]
    fn fields_api() {
        let fields: Fields = [
            ("a", "1"),
            ("empty", ""),
            ("", "no key"),
            ("bad\u{1b}[2J\0key", "v\u{202e}\t!"),
        ]
        .into_iter()
        .collect();
        assert_eq!(fields.len(), 4);
        assert!(!fields.is_empty() && Fields::new().is_empty());
        assert_eq!(Fields::new().len(), 0);
        let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k, v.as_str())).collect();
        assert_eq!(
            pairs,
            [
                ("a", "1"),
                ("empty", ""),
                ("", "no key"),
                ("badkey", "v       !")
            ]
        );
        assert_eq!(
            (fields.get("a"), fields.get("empty"), fields.get("zz")),
            (Some("1"), Some(""), None)
        );
        // The ways the UI and tests use it: `&**k`, `&**value`, Display, `str` methods.
        let wanted = ["a".to_string()];
        for (key, value) in fields
            .iter()
            .filter(|(k, _)| wanted.iter().any(|f| f.as_str() == &**k))
        {
            #[allow(clippy::explicit_auto_deref)] // the pattern `ui::logs` uses
            let text: &str = &**value;
            assert_eq!(
                (format!("{key}={value}"), text, value.chars().count()),
                ("a=1".to_string(), "1", 1)
            );
            assert!(value == "1");
        }
        for (key, value) in &fields {
            assert!(!key.chars().any(char::is_control) && !value.chars().any(char::is_control));
        }
        assert_eq!(
            format!("{fields:?}"),
            r#"{"a": "1", "empty": "", "": "no key", "badkey": "v       !"}"#
        );
        let boxed: Vec<(Box<str>, Box<str>)> = vec![("k".into(), "v".into())];
        assert_eq!(Fields::from(boxed).get("k"), Some("v"));
    }
}
