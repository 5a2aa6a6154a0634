//! The silence dialog as pure state: the matchers (start from the alert's identifying labels;
//! remove any, add `name="value"`, `name=~"regex"`, `!=`, `!~`), a duration picked from a few
//! or typed, and a required comment. Submitting it yields the silence's parameters for the
//! planner, which checks them again.

use std::time::Duration;

use crossterm::event::KeyEvent;
use ratatui_textarea::TextArea;

use crate::alerts::{Matcher, parse_matcher};
use crate::remediation::plan::{MAX_SILENCE_SECS, SilenceParams};

/// The durations offered, then `custom` (typed: `90m`, `1h30m`, `3d`).
pub const DURATIONS: [(&str, u64); 4] = [
    ("30m", 30 * 60),
    ("1h", 3600),
    ("2h", 2 * 3600),
    ("4h", 4 * 3600),
];

/// The field with the keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Matchers,
    Add,
    Duration,
    Comment,
}

impl Field {
    const ORDER: [Self; 4] = [Self::Matchers, Self::Add, Self::Duration, Self::Comment];

    fn step(self, forward: bool) -> Self {
        let at = Self::ORDER.iter().position(|f| *f == self).unwrap_or(0);
        let n = Self::ORDER.len();
        Self::ORDER[if forward {
            (at + 1) % n
        } else {
            (at + n - 1) % n
        }]
    }
}

/// What a key did to the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormOutcome {
    /// Still editing.
    Editing,
    /// Checked: plan and preview this silence.
    Submit(SilenceParams),
}

#[derive(Debug)]
pub struct SilenceForm {
    pub matchers: Vec<Matcher>,
    /// The matcher under the cursor in the list.
    pub selected: usize,
    /// A new matcher being typed.
    pub add: TextArea<'static>,
    /// Index into [`DURATIONS`]; `DURATIONS.len()` is the typed duration.
    pub duration: usize,
    pub custom: TextArea<'static>,
    pub comment: TextArea<'static>,
    pub field: Field,
    /// Why the last submit was refused, shown under the fields.
    pub error: Option<String>,
}

fn input() -> TextArea<'static> {
    let mut input = TextArea::default();
    input.set_cursor_line_style(ratatui::style::Style::default());
    input
}

fn text_of(input: &TextArea<'_>) -> String {
    input.lines().first().cloned().unwrap_or_default()
}

impl SilenceForm {
    /// The form for an alert group: its matchers, 2h, the comment focused (it is required).
    pub fn new(matchers: Vec<Matcher>) -> Self {
        Self {
            matchers,
            selected: 0,
            add: input(),
            duration: 2,
            custom: input(),
            comment: input(),
            field: Field::Comment,
            error: None,
        }
    }

    /// The duration chosen, or why the typed one is not one.
    pub fn duration_secs(&self) -> Result<u64, String> {
        if let Some((_, secs)) = DURATIONS.get(self.duration) {
            return Ok(*secs);
        }
        let text = text_of(&self.custom);
        let secs = humantime::parse_duration(text.trim())
            .map_err(|e| {
                format!(
                    "duration {:?}: {e} (e.g. 90m, 1h30m, 3d)",
                    crate::text::sanitize(text.trim())
                )
            })?
            .as_secs();
        if !(60..=MAX_SILENCE_SECS).contains(&secs) {
            return Err("a silence lasts from one minute to 30 days".into());
        }
        Ok(secs)
    }

    /// The duration as shown: `2h`, or the typed text.
    pub fn duration_label(&self) -> String {
        match DURATIONS.get(self.duration) {
            Some((label, _)) => (*label).to_string(),
            None => humantime::format_duration(Duration::from_secs(
                self.duration_secs().unwrap_or_default(),
            ))
            .to_string(),
        }
    }

    /// The text input the keys type into, if the focused field is one.
    pub fn focused_input(&mut self) -> Option<&mut TextArea<'static>> {
        match self.field {
            Field::Add => Some(&mut self.add),
            Field::Comment => Some(&mut self.comment),
            Field::Duration if self.duration == DURATIONS.len() => Some(&mut self.custom),
            Field::Duration | Field::Matchers => None,
        }
    }

    /// A form command (from the keymap's `Form` context).
    pub fn command(&mut self, command: super::keymap::ModalCommand) -> FormOutcome {
        use super::keymap::ModalCommand as M;
        match command {
            M::FormNextField | M::FormPrevField => {
                self.field = self.field.step(command == M::FormNextField);
            }
            M::FormUp if self.field == Field::Matchers => {
                self.selected = self.selected.saturating_sub(1);
            }
            M::FormDown if self.field == Field::Matchers => {
                self.selected = (self.selected + 1).min(self.matchers.len().saturating_sub(1));
            }
            // Up and Down elsewhere move between fields, as in most forms.
            M::FormUp | M::FormDown => self.field = self.field.step(command == M::FormDown),
            M::FormRemove if self.field == Field::Matchers && !self.matchers.is_empty() => {
                self.matchers.remove(self.selected);
                self.selected = self.selected.min(self.matchers.len().saturating_sub(1));
                self.error = None;
            }
            M::FormPrevChoice | M::FormNextChoice if self.field == Field::Duration => {
                let n = DURATIONS.len() + 1;
                self.duration = if command == M::FormNextChoice {
                    (self.duration + 1) % n
                } else {
                    (self.duration + n - 1) % n
                };
                self.error = None;
            }
            M::FormSubmit if self.field == Field::Add && !text_of(&self.add).trim().is_empty() => {
                self.add_typed_matcher();
            }
            M::FormSubmit => return self.submit(),
            _ => {}
        }
        FormOutcome::Editing
    }

    /// A key no form command takes: typed into the focused text field.
    pub fn type_key(&mut self, key: KeyEvent) {
        if let Some(input) = self.focused_input() {
            input.input(key);
            self.error = None;
        }
    }

    fn add_typed_matcher(&mut self) {
        match parse_matcher(&text_of(&self.add)) {
            Ok(matcher) => {
                if let Some(at) = self.matchers.iter().position(|m| m.name == matcher.name) {
                    // One matcher per label: the typed one replaces it.
                    self.matchers[at] = matcher;
                    self.selected = at;
                } else {
                    self.matchers.push(matcher);
                    self.selected = self.matchers.len() - 1;
                }
                self.add = input();
                self.error = None;
            }
            Err(e) => self.error = Some(e),
        }
    }

    /// The silence, or the first thing that keeps it from being one (shown in the form).
    fn submit(&mut self) -> FormOutcome {
        let checked = (|| {
            if !text_of(&self.add).trim().is_empty() {
                return Err("press Enter in the matcher field to add it, or clear it".to_string());
            }
            crate::alerts::check_silence_matchers(&self.matchers)?;
            let duration_secs = self.duration_secs()?;
            let comment = text_of(&self.comment).trim().to_string();
            if comment.is_empty() {
                return Err("a silence needs a comment (why, and who follows it up)".to_string());
            }
            Ok(SilenceParams {
                matchers: self.matchers.clone(),
                duration_secs,
                comment,
            })
        })();
        match checked {
            Ok(params) => FormOutcome::Submit(params),
            Err(e) => {
                self.error = Some(e);
                FormOutcome::Editing
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::keymap::ModalCommand as M;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    fn type_text(form: &mut SilenceForm, text: &str) {
        for c in text.chars() {
            form.type_key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
        }
    }

    fn form() -> SilenceForm {
        SilenceForm::new(vec![
            Matcher::equal("alertname", "HighErrorRate"),
            Matcher::equal("namespace", "platform-v2"),
        ])
    }

    #[test]
    fn the_comment_is_required_and_the_default_is_two_hours() {
        let mut form = form();
        assert_eq!(form.field, Field::Comment);
        assert_eq!(form.command(M::FormSubmit), FormOutcome::Editing);
        assert!(form.error.as_deref().unwrap().contains("comment"));
        type_text(&mut form, "rolling back, see INC-42");
        let FormOutcome::Submit(params) = form.command(M::FormSubmit) else {
            panic!("{:?}", form.error)
        };
        assert_eq!(params.duration_secs, 7200);
        assert_eq!(params.comment, "rolling back, see INC-42");
        assert_eq!(params.matchers.len(), 2);
    }

    #[test]
    fn matchers_are_removed_added_and_replaced_by_label() {
        let mut form = form();
        form.command(M::FormNextField); // Comment -> Matchers
        assert_eq!(form.field, Field::Matchers);
        form.command(M::FormDown);
        form.command(M::FormRemove);
        assert_eq!(
            form.matchers,
            [Matcher::equal("alertname", "HighErrorRate")]
        );
        form.command(M::FormNextField); // -> Add
        type_text(&mut form, "pod=~\"api-.*\"");
        form.command(M::FormSubmit);
        assert_eq!(form.matchers[1].text(), "pod=~\"api-.*\"");
        type_text(&mut form, "alertname=Other");
        form.command(M::FormSubmit);
        assert_eq!(form.matchers[0], Matcher::equal("alertname", "Other"));
        type_text(&mut form, "bad matcher");
        form.command(M::FormSubmit);
        assert!(form.error.is_some());
        assert_eq!(form.matchers.len(), 2, "nothing added");
    }

    #[test]
    fn durations_cycle_and_a_typed_one_is_checked() {
        let mut form = form();
        form.field = Field::Duration;
        form.command(M::FormNextChoice);
        assert_eq!(form.duration_secs(), Ok(4 * 3600));
        form.command(M::FormNextChoice);
        assert_eq!(form.duration, DURATIONS.len(), "custom");
        type_text(&mut form, "90m");
        assert_eq!(form.duration_secs(), Ok(5400));
        assert_eq!(form.duration_label(), "1h 30m");
        type_text(&mut form, "x");
        assert!(form.duration_secs().is_err());
        form.command(M::FormNextChoice);
        assert_eq!(form.duration_secs(), Ok(30 * 60), "wraps to 30m");
    }

    #[test]
    fn a_silence_of_everything_is_refused() {
        let mut form = form();
        form.field = Field::Matchers;
        form.command(M::FormRemove);
        form.command(M::FormRemove);
        form.field = Field::Comment;
        type_text(&mut form, "why");
        assert_eq!(form.command(M::FormSubmit), FormOutcome::Editing);
        assert!(
            form.error
                .as_deref()
                .unwrap()
                .contains("at least one matcher")
        );
    }
}
