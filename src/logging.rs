//! watchfloor's own logs go to a file, never to the terminal it draws on, and every line is
//! redacted ([`crate::redact`]) on its way there: ours, and those of the libraries (reqwest,
//! hyper, kube, tokio-postgres at debug and trace level quote URLs and DSNs).

use std::io::{self, Write};
use std::path::PathBuf;

use tracing_appender::non_blocking::WorkerGuard;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// `$XDG_STATE_HOME/watchfloor/watchfloor.log`, else `~/.local/state/watchfloor/watchfloor.log`.
pub fn log_path() -> Option<PathBuf> {
    let state = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    Some(state.join("watchfloor").join("watchfloor.log"))
}

/// Installs the file logger; level from `WATCHFLOOR_LOG` (default `info`). Logging is skipped,
/// silently, when the file cannot be created: the console must still run.
pub fn init() -> Option<WorkerGuard> {
    let path = log_path()?;
    let dir = path.parent()?;
    std::fs::create_dir_all(dir).ok()?;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .ok()?;
    let (writer, guard) = tracing_appender::non_blocking(file);
    let filter =
        EnvFilter::try_from_env("WATCHFLOOR_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Redacting(writer))
        .with_ansi(false)
        .try_init()
        .ok()?;
    Some(guard)
}

/// A [`MakeWriter`] whose writers redact what they write. The fmt layer formats each event into
/// one buffer and writes it with one `write_all`, so every event is redacted whole, however its
/// fields quote a URL.
#[derive(Debug, Clone)]
pub struct Redacting<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for Redacting<M> {
    type Writer = RedactingWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter(self.0.make_writer())
    }

    fn make_writer_for(&'a self, meta: &tracing::Metadata<'_>) -> Self::Writer {
        RedactingWriter(self.0.make_writer_for(meta))
    }
}

/// Writes the redacted form of every buffer it is given (reporting the whole buffer written).
#[derive(Debug)]
pub struct RedactingWriter<W>(W);

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        match crate::redact::redact(&text) {
            std::borrow::Cow::Borrowed(_) => self.0.write_all(buf)?,
            std::borrow::Cow::Owned(clean) => self.0.write_all(clean.as_bytes())?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn every_event_is_redacted_fields_and_message() {
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(Redacting(move || sink.clone()))
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let url = "http://alice:PLANTED1@prom:9090/api/v1/query?token=PLANTED2";
            tracing::trace!(%url, "fetching");
            tracing::debug!("connecting with host=db password=PLANTED3 dbname=app");
            tracing::warn!(error = "error sending request for url (https://h/x?api_key=PLANTED4)");
        });
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text.lines().count(), 3, "{text}");
        assert!(!text.contains("PLANTED"), "{text}");
        assert!(
            text.contains("http://alice:***@prom:9090/api/v1/query?token=***"),
            "{text}"
        );
        assert!(text.contains("password=*** dbname=app"), "{text}");
    }
}
