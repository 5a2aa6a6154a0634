//! Log filters: `/` text with regex includes and `!` excludes, a minimum level, one source.

use regex::{Regex, RegexBuilder};

use super::{Level, LogLine, StreamId};

#[derive(Debug, Clone, Default)]
pub struct LogFilter {
    /// The text as typed, e.g. `error|timeout !healthz`.
    pub text: String,
    include: Vec<Regex>,
    exclude: Vec<Regex>,
    pub min_level: Option<Level>,
    pub stream: Option<StreamId>,
}

impl LogFilter {
    /// Words separated by spaces: a word starting with `!` excludes, others include (all must
    /// match). Case-insensitive regexes; an invalid regex matches literally.
    pub fn set_text(&mut self, text: &str) {
        self.text = text.to_string();
        self.include.clear();
        self.exclude.clear();
        for word in text.split_whitespace() {
            let (list, pattern) = match word.strip_prefix('!') {
                Some(p) if !p.is_empty() => (&mut self.exclude, p),
                Some(_) => continue,
                None => (&mut self.include, word),
            };
            let build = |p: &str| {
                RegexBuilder::new(p)
                    .case_insensitive(true)
                    .size_limit(1 << 20)
                    .build()
            };
            if let Ok(regex) = build(pattern).or_else(|_| build(&regex::escape(pattern))) {
                list.push(regex);
            }
        }
    }

    pub fn is_active(&self) -> bool {
        !self.include.is_empty()
            || !self.exclude.is_empty()
            || self.min_level.is_some()
            || self.stream.is_some()
    }

    /// Whether `line` passes, its text matched as the Logs pane displays it (raw, or message
    /// and the `chosen` fields: see [`LogLine::displayed`]).
    pub fn matches(&self, line: &LogLine, raw: bool, chosen: &[String]) -> bool {
        if self.min_level.is_some_and(|min| line.level < min) {
            return false;
        }
        if self.stream.is_some_and(|s| s != line.stream) {
            return false;
        }
        if self.include.is_empty() && self.exclude.is_empty() {
            return true;
        }
        let text = line.displayed(raw, chosen);
        self.include.iter().all(|r| r.is_match(&text))
            && !self.exclude.iter().any(|r| r.is_match(&text))
    }

    /// Byte ranges in `text` matched by the include patterns, for highlighting: sorted, with
    /// overlapping or touching matches merged, on character boundaries.
    pub fn highlights(&self, text: &str) -> Vec<std::ops::Range<usize>> {
        let mut ranges: Vec<_> = self
            .include
            .iter()
            .flat_map(|r| r.find_iter(text).map(|m| m.range()))
            .filter(|r| !r.is_empty())
            .collect();
        ranges.sort_by_key(|r| (r.start, r.end));
        let mut merged: Vec<std::ops::Range<usize>> = Vec::with_capacity(ranges.len());
        for range in ranges {
            match merged.last_mut() {
                Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
                _ => merged.push(range),
            }
        }
        merged
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::logs::parse_line;

    fn line(stream: StreamId, text: &str) -> LogLine {
        parse_line(stream, text.as_bytes(), false, SystemTime::UNIX_EPOCH)
    }

    #[test]
    fn empty_filter_matches_everything() {
        let filter = LogFilter::default();
        assert!(!filter.is_active());
        assert!(filter.matches(&line(0, "anything"), true, &[]));
    }

    #[test]
    fn include_and_exclude() {
        let mut filter = LogFilter::default();
        filter.set_text("error|timeout !healthz");
        assert!(filter.is_active());
        assert_eq!(filter.text, "error|timeout !healthz");
        assert!(filter.matches(&line(0, "ERROR: upstream Timeout"), true, &[]));
        assert!(filter.matches(&line(0, "request timeout after 5s"), true, &[]));
        assert!(!filter.matches(&line(0, "GET /healthz error"), true, &[]));
        assert!(!filter.matches(&line(0, "all good"), true, &[]));
        // Every include must match.
        filter.set_text("GET 500");
        assert!(filter.matches(&line(0, "GET /orders 500"), true, &[]));
        assert!(!filter.matches(&line(0, "GET /orders 200"), true, &[]));
        // Only excludes.
        filter.set_text("!debug");
        assert!(filter.matches(&line(0, "info line"), true, &[]));
        assert!(!filter.matches(&line(0, "DEBUG line"), true, &[]));
        // A lone `!` is ignored; an invalid regex matches literally.
        filter.set_text("! a(b");
        assert!(filter.matches(&line(0, "x a(b y"), true, &[]));
        assert!(!filter.matches(&line(0, "ab"), true, &[]));
        // JSON lines match on the whole line, fields included.
        filter.set_text("req-42");
        assert!(filter.matches(
            &line(0, r#"{"msg":"done","request_id":"req-42"}"#),
            true,
            &[]
        ));
        // Cleared.
        filter.set_text("  ");
        assert!(!filter.is_active());
    }

    #[test]
    fn min_level_and_stream() {
        let mut filter = LogFilter {
            min_level: Some(Level::Warn),
            ..LogFilter::default()
        };
        assert!(filter.is_active());
        assert!(filter.matches(&line(0, "ERROR boom"), true, &[]));
        assert!(filter.matches(&line(0, "WARN careful"), true, &[]));
        assert!(!filter.matches(&line(0, "INFO fine"), true, &[]));
        assert!(!filter.matches(&line(0, "no level"), true, &[]));
        filter.min_level = None;
        filter.stream = Some(2);
        assert!(filter.matches(&line(2, "x"), true, &[]));
        assert!(!filter.matches(&line(3, "x"), true, &[]));
        filter.set_text("x");
        filter.min_level = Some(Level::Info);
        assert!(!filter.matches(&line(2, "x"), true, &[]));
        assert!(filter.matches(&line(2, "INFO x"), true, &[]));
    }

    #[test]
    fn highlights_are_sorted_and_merged() {
        let mut filter = LogFilter::default();
        filter.set_text("err error !skip o");
        let text = "an Error, an err and more";
        let ranges = filter.highlights(text);
        // "Error" (err + error + o merged), "err", and each "o".
        assert_eq!(ranges, [3..8, 13..16, 22..23]);
        for pair in ranges.windows(2) {
            assert!(pair[0].end < pair[1].start);
        }
        filter.set_text("é");
        assert_eq!(filter.highlights("aéb"), vec![1..3]);
        filter.set_text("!only-exclude");
        assert!(filter.highlights("only-exclude").is_empty());
    }

    #[test]
    fn the_filter_matches_what_the_pane_displays() {
        let json = crate::logs::parse_line(
            0,
            br#"{"level":"error","msg":"GET /orders","status":500,"pod":"api-1"}"#,
            false,
            std::time::SystemTime::UNIX_EPOCH,
        );
        let chosen = ["status".to_string()];
        let mut filter = LogFilter::default();
        filter.set_text("status=500");
        assert!(
            filter.matches(&json, false, &chosen),
            "message + chosen fields"
        );
        assert!(
            !filter.matches(&json, true, &chosen),
            "raw shows \"status\":500"
        );
        filter.set_text("pod=api");
        assert!(
            !filter.matches(&json, false, &chosen),
            "pod is not displayed"
        );
        filter.set_text(r#""status":500"#);
        assert!(filter.matches(&json, true, &chosen));
        assert_eq!(json.displayed(false, &chosen), "GET /orders status=500");
    }
}
