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
            let build = |p: &str| RegexBuilder::new(p).case_insensitive(true).size_limit(1 << 20).build();
            if let Ok(regex) = build(pattern).or_else(|_| build(&regex::escape(pattern))) {
                list.push(regex);
            }
        }
    }

    pub fn is_active(&self) -> bool {
        !self.include.is_empty() || !self.exclude.is_empty() || self.min_level.is_some() || self.stream.is_some()
    }

    pub fn matches(&self, line: &LogLine) -> bool {
        if self.min_level.is_some_and(|min| line.level < min) {
            return false;
        }
        if self.stream.is_some_and(|s| s != line.stream) {
            return false;
        }
        self.include.iter().all(|r| r.is_match(&line.raw)) && !self.exclude.iter().any(|r| r.is_match(&line.raw))
    }

    /// Byte ranges in `text` matched by the include patterns, for highlighting.
    pub fn highlights(&self, text: &str) -> Vec<std::ops::Range<usize>> {
        let mut ranges: Vec<_> = self.include.iter().flat_map(|r| r.find_iter(text).map(|m| m.range())).filter(|r| !r.is_empty()).collect();
        ranges.sort_by_key(|r| r.start);
        ranges
    }
}
