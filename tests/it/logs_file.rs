//! The file log source against real files: tail at startup, appends, rotation, copytruncate,
//! globs, late files, long lines, hostile bytes and error recovery. Every wait is a receive
//! with a deadline; files are written between receives.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::time::Duration;
use watchfloor::event::SourceEvent;

use tokio::sync::mpsc;
use watchfloor::logs::{LogEvent, LogLine, StreamId, StreamState};
use watchfloor::sources::log_sink::LogSink;

const DEADLINE: Duration = Duration::from_secs(20);

/// A running file source and everything it has said so far.
struct Follow {
    rx: mpsc::Receiver<SourceEvent>,
    task: tokio::task::JoinHandle<()>,
    opened: Vec<(StreamId, String)>,
    states: Vec<(StreamId, StreamState)>,
    lines: Vec<LogLine>,
}

impl Follow {
    fn start(path: &Path) -> Self {
        let text = format!(
            "[[targets]]\nname = \"t\"\n\n[[targets.logs]]\nsource = \"file\"\npath = '{}'\n",
            path.display()
        );
        let config = watchfloor::config::parse(Path::new("t.toml"), &text).expect("valid config");
        let logs = config.targets[0].logs[0].clone();
        let (tx, rx) = mpsc::channel(1024);
        let sink = LogSink::new(tx, 1, 0);
        let task = tokio::spawn(watchfloor::sources::logs_file::run(logs, sink));
        Self {
            rx,
            task,
            opened: Vec::new(),
            states: Vec::new(),
            lines: Vec::new(),
        }
    }

    /// Receives until `done` holds; fails after `DEADLINE`.
    async fn until(&mut self, what: &str, done: impl Fn(&Self) -> bool) {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        while !done(self) {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(SourceEvent::Logs {
                    generation, event, ..
                })) => {
                    assert_eq!(generation, 1);
                    self.apply(event);
                }
                Ok(Some(_)) => {}
                Ok(None) => panic!("the source ended while waiting for {what}"),
                Err(_) => panic!(
                    "timed out waiting for {what}\nopened: {:?}\nstates: {:?}\nlines: {:?}",
                    self.opened,
                    self.states,
                    self.texts()
                ),
            }
        }
    }

    async fn until_line(&mut self, text: &str) {
        self.until(&format!("line {text:?}"), |f| {
            f.lines.iter().any(|l| &*l.raw == text)
        })
        .await;
    }

    fn apply(&mut self, event: LogEvent) {
        match event {
            LogEvent::StreamOpened { id, label } => {
                assert!(
                    self.opened.iter().all(|(known, _)| *known != id),
                    "stream {id} opened twice"
                );
                self.opened.push((id, label));
            }
            LogEvent::StreamState { id, state } => self.states.push((id, state)),
            LogEvent::Lines(lines) => {
                for line in lines {
                    for text in [&*line.raw, line.message()] {
                        assert!(!text.chars().any(char::is_control), "control in {text:?}");
                    }
                    assert!(
                        self.opened.iter().any(|(id, _)| *id == line.stream),
                        "line from a stream never opened: {line:?}"
                    );
                    self.lines.push(line);
                }
            }
            LogEvent::Dropped(n) => panic!("{n} lines dropped"),
            LogEvent::CapReached { .. } => {}
            LogEvent::Closed { reason } => panic!("a source never closes itself: {reason}"),
        }
    }

    fn texts(&self) -> Vec<&str> {
        self.lines.iter().map(|l| &*l.raw).collect()
    }

    fn texts_of(&self, id: StreamId) -> Vec<&str> {
        self.lines
            .iter()
            .filter(|l| l.stream == id)
            .map(|l| &*l.raw)
            .collect()
    }

    fn id_of(&self, path: &Path) -> Option<StreamId> {
        let label = path.display().to_string();
        self.opened
            .iter()
            .find(|(_, l)| *l == label)
            .map(|(id, _)| *id)
    }

    fn last_state(&self, id: StreamId) -> Option<&StreamState> {
        self.states
            .iter()
            .rev()
            .find(|(s, _)| *s == id)
            .map(|(_, state)| state)
    }

    /// Drops the console's end: the task must end by itself.
    async fn stop(self) {
        drop(self.rx);
        tokio::time::timeout(DEADLINE, self.task)
            .await
            .expect("the task ends when the console is gone")
            .expect("the task did not panic");
    }
}

fn append(path: &Path, bytes: &[u8]) {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    file.write_all(bytes).unwrap();
}

#[tokio::test]
async fn shows_the_last_lines_then_follows_appends() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let existing: String = (1..=500).map(|i| format!("line {i}\n")).collect();
    fs::write(&path, existing).unwrap();

    let mut follow = Follow::start(&path);
    follow.until_line("line 500").await;
    assert_eq!(follow.opened, [(0, path.display().to_string())]);

    append(&path, b"crlf line\r\nhalf a");
    append(&path, b" line\n");
    append(&path, b"last\n");
    follow.until_line("last").await;

    let mut expected: Vec<String> = (301..=500).map(|i| format!("line {i}")).collect();
    expected.extend(["crlf line", "half a line", "last"].map(String::from));
    assert_eq!(follow.texts(), expected);
    assert!(follow.lines.iter().all(|l| l.stream == 0));
    assert!(follow.states.is_empty(), "{:?}", follow.states);
    follow.stop().await;
}

#[tokio::test]
async fn the_tail_of_a_big_file_starts_at_a_whole_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.log");
    // 100 lines of 1000 bytes: the last 64 KiB hold 65 whole lines and the end of one more.
    let lines: Vec<String> = (0..100)
        .map(|i| format!("{i:03}:{}", "x".repeat(995)))
        .collect();
    fs::write(
        &path,
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .unwrap();

    let mut follow = Follow::start(&path);
    follow.until_line(&lines[99]).await;
    append(&path, b"next\n");
    follow.until_line("next").await;

    let mut expected: Vec<&str> = lines[35..].iter().map(String::as_str).collect();
    expected.push("next");
    assert_eq!(follow.texts(), expected);
    follow.stop().await;
}

#[tokio::test]
async fn rotation_by_rename_loses_and_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    fs::write(&path, "a1\n").unwrap();

    let mut follow = Follow::start(&path);
    follow.until_line("a1").await;

    // Written to the old file before it is renamed away, and to the new one at once.
    append(&path, b"a2\na3\n");
    fs::rename(&path, dir.path().join("app.log.1")).unwrap();
    append(&path, b"b1\nb2\n");
    follow.until_line("b2").await;
    append(&path, b"b3\n");
    follow.until_line("b3").await;

    assert_eq!(follow.texts(), ["a1", "a2", "a3", "b1", "b2", "b3"]);
    assert_eq!(follow.opened.len(), 1, "one path, one stream");
    assert!(follow.lines.iter().all(|l| l.stream == 0));

    // A second rotation, this time with a moment without any file at the path.
    append(&path, b"b4\n");
    fs::rename(&path, dir.path().join("app.log.2")).unwrap();
    follow
        .until("waiting for the path", |f| {
            matches!(f.last_state(0), Some(StreamState::Reconnecting { .. }))
        })
        .await;
    append(&path, b"c1\n");
    follow.until_line("c1").await;
    assert_eq!(
        follow.texts(),
        ["a1", "a2", "a3", "b1", "b2", "b3", "b4", "c1"]
    );
    follow.stop().await;
}

#[tokio::test]
async fn copytruncate_starts_over_from_the_top() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    fs::write(&path, "t1\nt2\n").unwrap();

    let mut follow = Follow::start(&path);
    follow.until_line("t2").await;

    // copytruncate: copy, truncate in place, and the writer carries on, here to exactly the old
    // size, so only the content tells the file was rewritten.
    fs::copy(&path, dir.path().join("app.log.1")).unwrap();
    OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&path)
        .unwrap();
    append(&path, b"n1\nn2\n");
    follow.until_line("n2").await;
    append(&path, b"n3\n");
    follow.until_line("n3").await;

    assert_eq!(follow.texts(), ["t1", "t2", "n1", "n2", "n3"]);

    // Truncated to below the read position, then a shorter line.
    File::create(&path).unwrap();
    append(&path, b"s\n");
    follow.until_line("s").await;
    append(&path, b"s2\n");
    follow.until_line("s2").await;
    assert_eq!(follow.texts(), ["t1", "t2", "n1", "n2", "n3", "s", "s2"]);
    follow.stop().await;
}

#[tokio::test]
async fn a_glob_follows_files_that_appear_later() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.log");
    let b = dir.path().join("b.log");
    let notes = dir.path().join("notes.txt");
    fs::write(&a, "a-old\n").unwrap();
    fs::write(&notes, "not a log\n").unwrap();

    let mut follow = Follow::start(&dir.path().join("*.log"));
    follow.until_line("a-old").await;

    // Appears later: read from its start, as its own stream.
    fs::write(&b, "b1\nb2\n").unwrap();
    follow.until_line("b2").await;
    let a_id = follow.id_of(&a).expect("a.log opened");
    let b_id = follow.id_of(&b).expect("b.log opened");
    assert_ne!(a_id, b_id);
    assert_eq!(follow.texts_of(b_id), ["b1", "b2"]);

    append(&a, b"a-new\n");
    append(&notes, b"still not\n");
    follow.until_line("a-new").await;
    assert_eq!(follow.texts_of(a_id), ["a-old", "a-new"]);

    // Removed: its stream ends; the other goes on.
    fs::remove_file(&b).unwrap();
    follow
        .until("b.log to end", |f| {
            matches!(f.last_state(b_id), Some(StreamState::Ended { .. }))
        })
        .await;
    append(&a, b"a-last\n");
    follow.until_line("a-last").await;

    assert_eq!(follow.opened.len(), 2, "{:?}", follow.opened);
    assert!(follow.id_of(&notes).is_none());
    assert_eq!(follow.texts(), ["a-old", "b1", "b2", "a-new", "a-last"]);
    follow.stop().await;
}

#[tokio::test]
async fn a_file_rotated_into_the_glob_is_not_read_twice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let rotated = dir.path().join("app.log.1");
    fs::write(&path, "x1\n").unwrap();

    let mut follow = Follow::start(&dir.path().join("app.log*"));
    follow.until_line("x1").await;

    // The writer keeps its descriptor across the rename, as many do until told to reopen.
    let mut writer = OpenOptions::new().append(true).open(&path).unwrap();
    fs::rename(&path, &rotated).unwrap();
    fs::write(&path, "y1\n").unwrap();
    follow.until_line("y1").await;
    writer.write_all(b"x2\n").unwrap();
    follow.until_line("x2").await;
    follow
        .until("app.log.1 to be opened", |f| f.id_of(&rotated).is_some())
        .await;
    writer.write_all(b"x3\n").unwrap();
    follow.until_line("x3").await;

    let mut texts = follow.texts();
    texts.sort_unstable();
    assert_eq!(texts, ["x1", "x2", "x3", "y1"], "each line once");
    let rotated_id = follow.id_of(&rotated);
    assert_eq!(follow.lines.last().map(|l| l.stream), rotated_id);
    assert_eq!(
        follow.texts_of(follow.id_of(&path).unwrap())[..2],
        ["x1", "y1"]
    );
    follow.stop().await;
}

#[tokio::test]
async fn waits_for_a_file_that_does_not_exist_yet() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("later.log");

    let mut follow = Follow::start(&path);
    follow
        .until("the waiting state", |f| {
            matches!(f.last_state(0), Some(StreamState::Reconnecting { reason, .. }) if reason.contains("waiting"))
        })
        .await;
    assert_eq!(follow.opened, [(0, path.display().to_string())]);

    // Appeared after startup: all of it is new.
    fs::write(&path, "first\nsecond\n").unwrap();
    follow.until_line("second").await;
    assert_eq!(follow.last_state(0), Some(&StreamState::Following));
    assert_eq!(follow.texts(), ["first", "second"]);
    follow.stop().await;
}

#[tokio::test]
async fn a_long_line_arriving_in_pieces_is_shown_once_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long.log");
    fs::write(&path, "").unwrap();

    let mut follow = Follow::start(&path);
    // Opened is sent after the first read: from here on, everything written is new.
    follow.until("the stream", |f| !f.opened.is_empty()).await;

    let piece = "y".repeat(8 * 1024);
    for _ in 0..10 {
        append(&path, piece.as_bytes());
    }
    append(&path, b"\nafter\n");
    follow.until_line("after").await;

    let texts = follow.texts();
    assert_eq!(texts.len(), 2, "one long line, then the next");
    let long = texts[0];
    assert!(
        long.ends_with("…[truncated]"),
        "{:?}",
        long.get(long.len() - 40..)
    );
    assert_eq!(
        long.trim_end_matches(" …[truncated]"),
        "y".repeat(watchfloor::logs::line::MAX_LINE_BYTES)
    );
    assert_eq!(texts[1], "after");
    follow.stop().await;
}

#[tokio::test]
async fn escape_sequences_and_invalid_utf8_come_out_sanitized() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hostile.log");
    fs::write(&path, "").unwrap();

    let mut follow = Follow::start(&path);
    follow.until("the stream", |f| !f.opened.is_empty()).await;
    append(
        &path,
        b"esc \x1b[31mred\x1b[0m osc \x1b]0;title\x07 bad \xff\xfe csi \xc2\x9b2J bell\x07 nul\x00 bs\x08 end\r\n",
    );
    append(
        &path,
        b"{\"level\":\"error\",\"msg\":\"json \\u001b[2Jclear \\u0007\",\"k\\u001b]8;;x\\u0007\":\"v\\r\"}\n",
    );
    append(&path, b"next\n");
    follow.until_line("next").await;

    // `apply` has checked that no line has a control character in `raw` or `message`.
    let texts = follow.texts();
    assert_eq!(texts.len(), 3, "{texts:?}");
    let plain = texts[0];
    assert!(plain.starts_with("esc red osc "), "{plain:?}");
    assert!(
        plain.contains('\u{fffd}'),
        "invalid UTF-8 shows as U+FFFD: {plain:?}"
    );
    assert!(!plain.contains("title") && !plain.contains("[31m") && !plain.contains("2J"));
    assert!(plain.ends_with(" end"), "CRLF is one line end: {plain:?}");
    let json = &follow.lines[1];
    assert_eq!(json.message(), "json clear ");
    for (key, value) in &json.fields {
        assert!(!key.chars().any(char::is_control) && !value.chars().any(char::is_control));
    }
    follow.stop().await;
}

#[tokio::test]
async fn an_unreadable_path_is_retried_until_it_is_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    // A directory where the file should be: an error, retried with backoff.
    fs::create_dir(&path).unwrap();

    let mut follow = Follow::start(&path);
    follow
        .until("the error state", |f| {
            matches!(f.last_state(0), Some(StreamState::Reconnecting { reason, .. }) if reason.contains("directory"))
        })
        .await;

    fs::remove_dir(&path).unwrap();
    fs::write(&path, "recovered\n").unwrap();
    follow.until_line("recovered").await;
    assert_eq!(follow.last_state(0), Some(&StreamState::Following));
    assert_eq!(follow.texts(), ["recovered"]);
    follow.stop().await;
}
