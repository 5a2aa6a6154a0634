//! One served SSH session: what the server hands the viewer behind it (who it is, its terminal,
//! its input, its output). The viewer is [`super::viewer`].
//!
//! The seam: the connection handler turns `pty-req`, `window-change` and channel data into
//! [`SessionInput`]s on a bounded channel; the viewer writes through [`Output`], whose `write`
//! waits while the client's SSH window is full (the back-pressure a viewer must honour by
//! dropping frames, never by queueing them). The server, not the viewer, ends a session on
//! shutdown or idleness (see `super::run_session`): a viewer only returns when it is done.

use std::net::SocketAddr;
use std::sync::Arc;

use russh::ChannelId;
use russh::server::Handle;
use tokio::sync::mpsc;

use super::keys::Identity;

/// What the client's terminal sends after the shell started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionInput {
    /// `window-change`: the terminal's new size.
    Resize { cols: u16, rows: u16 },
    /// Bytes typed (or pasted), as the terminal encodes them.
    Bytes(Vec<u8>),
}

/// Capacity of a session's input channel: the handler waits (and so stops reading that
/// client's socket) when the viewer falls this far behind.
pub const INPUT_CAPACITY: usize = 64;

/// A viewer's terminal as the client described it in `pty-req`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Terminal {
    /// `TERM` of the client, e.g. `xterm-256color`.
    pub term: String,
    pub cols: u16,
    pub rows: u16,
    /// `COLORTERM`, when the client sent it (read for colours only; env requests are refused).
    pub colorterm: Option<String>,
}

/// Everything a viewer gets.
pub struct ViewerSession {
    pub who: Arc<Identity>,
    pub peer: Option<SocketAddr>,
    pub terminal: Terminal,
    pub input: mpsc::Receiver<SessionInput>,
    pub output: Output,
}

/// The session channel's output. Cloneable; writes wait for the client's SSH window.
#[derive(Clone)]
pub struct Output {
    handle: Handle,
    channel: ChannelId,
}

/// The session is gone: nothing more can be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

impl Output {
    pub fn new(handle: Handle, channel: ChannelId) -> Self {
        Self { handle, channel }
    }

    /// Sends bytes to the client's terminal, waiting while its window is full.
    pub async fn write(&self, bytes: impl Into<Vec<u8>>) -> Result<(), Closed> {
        self.handle
            .data(self.channel, bytes.into())
            .await
            .map_err(|_| Closed)
    }

    /// Ends the session: exit status, EOF and close (each best effort: the client may be gone).
    pub async fn close(&self, exit_status: u32) {
        let _ = self
            .handle
            .exit_status_request(self.channel, exit_status)
            .await;
        let _ = self.handle.eof(self.channel).await;
        let _ = self.handle.close(self.channel).await;
    }
}
