//! One log line: parsed once, in the source task, into what the pane needs.

use std::time::SystemTime;

use super::StreamId;

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

/// A parsed, sanitised line. Everything in it is safe to draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    pub stream: StreamId,
    pub received: SystemTime,
    /// The source's own timestamp (kube `timestamps=true` prefix, or a JSON `timestamp`/`time`/`ts`).
    pub timestamp: Option<SystemTime>,
    pub level: Level,
    /// The message: JSON `message`/`msg`, else the line without its timestamp prefix.
    pub message: Box<str>,
    /// Other JSON fields as `key=value` text, in the line's order (empty for plain lines).
    pub fields: Vec<(Box<str>, Box<str>)>,
    /// The whole line, sanitised, without the kube timestamp prefix.
    pub raw: Box<str>,
}

/// Lines longer than this are truncated with a marker.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Parses one line of bytes. `kube_timestamps`: the line starts with an RFC 3339 timestamp and a
/// space (kube's `timestamps=true`). Invalid UTF-8 becomes U+FFFD; controls and escape sequences
/// are removed; tabs are expanded.
pub fn parse_line(stream: StreamId, bytes: &[u8], kube_timestamps: bool, received: SystemTime) -> LogLine {
    let truncated = bytes.len() > MAX_LINE_BYTES;
    let bytes = &bytes[..bytes.len().min(MAX_LINE_BYTES)];
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_end_matches(['\n', '\r']);
    let (timestamp, rest) = if kube_timestamps { split_timestamp(text) } else { (None, text) };
    let mut raw = crate::text::sanitize(rest);
    if truncated {
        raw.push_str(" …[truncated]");
    }
    let mut line = LogLine {
        stream,
        received,
        timestamp,
        level: Level::Unknown,
        message: Box::from(""),
        fields: Vec::new(),
        raw: Box::from(""),
    };
    if let Some(json) = rest.trim_start().starts_with('{').then(|| serde_json::from_str::<serde_json::Value>(rest).ok()).flatten()
        && let Some(object) = json.as_object()
    {
        for (key, value) in object {
            let text = match value {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            match key.as_str() {
                "message" | "msg" => line.message = crate::text::sanitize(&text).into(),
                "level" | "severity" | "lvl" => line.level = level_word(&text).unwrap_or(Level::Unknown),
                "timestamp" | "time" | "ts" | "@timestamp" if line.timestamp.is_none() => {
                    line.timestamp = humantime::parse_rfc3339_weak(&text).ok();
                }
                _ => line.fields.push((crate::text::sanitize(key).into(), crate::text::sanitize(&text).into())),
            }
        }
    } else {
        line.level = plain_level(rest);
        line.message = raw.clone().into();
    }
    if line.message.is_empty() {
        line.message = raw.clone().into();
    }
    line.raw = raw.into();
    line
}

/// Splits kube's `2026-11-23T01:02:03.123456789Z ` prefix.
fn split_timestamp(text: &str) -> (Option<SystemTime>, &str) {
    match text.split_once(' ') {
        Some((first, rest)) if first.len() >= 20 && first.as_bytes()[4] == b'-' => {
            match humantime::parse_rfc3339_weak(first) {
                Ok(at) => (Some(at), rest),
                Err(_) => (None, text),
            }
        }
        _ => (None, text),
    }
}

fn level_word(word: &str) -> Option<Level> {
    Some(match word.trim().to_ascii_lowercase().as_str() {
        "trace" | "trc" => Level::Trace,
        "debug" | "dbg" => Level::Debug,
        "info" | "inf" | "information" | "notice" => Level::Info,
        "warn" | "warning" | "wrn" => Level::Warn,
        "error" | "err" | "eror" => Level::Error,
        "fatal" | "critical" | "crit" | "panic" | "emerg" | "alert" => Level::Fatal,
        _ => return None,
    })
}

/// Levels in common plain formats: `ERROR ...`, `[warn]`, `level=info`, klog's `E1123 ...`.
fn plain_level(text: &str) -> Level {
    if let Some(rest) = text.split("level=").nth(1) {
        let word: String = rest.trim_start_matches('"').chars().take_while(|c| c.is_ascii_alphabetic()).collect();
        if let Some(level) = level_word(&word) {
            return level;
        }
    }
    let bytes = text.as_bytes();
    if bytes.len() > 5 && matches!(bytes[0], b'I' | b'W' | b'E' | b'F') && bytes[1..5].iter().all(u8::is_ascii_digit) {
        return match bytes[0] {
            b'I' => Level::Info,
            b'W' => Level::Warn,
            b'E' => Level::Error,
            _ => Level::Fatal,
        };
    }
    for word in text.split(|c: char| !c.is_ascii_alphabetic()).filter(|w| !w.is_empty()).take(6) {
        if word.len() >= 4 && word.chars().all(|c| c.is_ascii_uppercase())
            && let Some(level) = level_word(word)
        {
            return level;
        }
    }
    Level::Unknown
}
