//! A loopback TCP proxy that injects faults between watchfloor and a backend: pass through,
//! accept and hang (a stopped or overloaded server), refuse (nothing listens), reset every
//! connection, drip bytes slowly, answer HTTP 500, or answer a garbage HTTP body.
//!
//! Include it with `#[path = "support/fault_proxy.rs"] mod fault_proxy;`. Changing the fault
//! applies to new connections and to the ones already open (a hang freezes them, refuse and
//! reset cut them), as a real fault would.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward bytes both ways.
    Pass,
    /// Accept connections, never answer; open connections stop moving (like SIGSTOP).
    Hang,
    /// Nothing listens: connections are refused; open connections are cut.
    Refuse,
    /// Every connection, open or new, is reset (RST).
    Reset,
    /// Forward a byte at a time, slowly.
    Drip,
    /// Answer every request with HTTP 500.
    Http500,
    /// Answer every request with 200 and a body that is not what the client expects.
    Garbage,
}

pub struct FaultProxy {
    pub addr: SocketAddr,
    upstream: Arc<Mutex<SocketAddr>>,
    fault: watch::Sender<Fault>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    /// Starts a proxy on a free loopback port in front of `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let (fault, rx) = watch::channel(Fault::Pass);
        let upstream = Arc::new(Mutex::new(upstream));
        let task = tokio::spawn(serve(listener, addr, upstream.clone(), rx));
        Self {
            addr,
            upstream,
            fault,
            task,
        }
    }

    /// Sends new connections to another server (a backend restarted elsewhere).
    pub fn set_upstream(&self, upstream: SocketAddr) {
        *self.upstream.lock().unwrap() = upstream;
    }

    pub fn set(&self, fault: Fault) {
        self.fault.send_replace(fault);
    }

    pub fn fault(&self) -> Fault {
        *self.fault.borrow()
    }

    /// `host:port` of the proxy.
    pub fn host_port(&self) -> String {
        self.addr.to_string()
    }
}

/// Binds `addr` again after a refusal (the port was ours; SO_REUSEADDR lets it come back).
async fn rebind(addr: SocketAddr) -> TcpListener {
    loop {
        let socket = TcpSocket::new_v4().expect("socket");
        let _ = socket.set_reuseaddr(true);
        if socket.bind(addr).is_ok()
            && let Ok(listener) = socket.listen(1024)
        {
            return listener;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn serve(
    listener: TcpListener,
    addr: SocketAddr,
    upstream: Arc<Mutex<SocketAddr>>,
    mut fault: watch::Receiver<Fault>,
) {
    let mut listener = Some(listener);
    // Connections held open without an answer while hanging.
    let held: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
    loop {
        let current = *fault.borrow_and_update();
        if current == Fault::Refuse {
            // Close the port so connects are refused, until the fault changes.
            listener = None;
            held.lock().unwrap().clear();
            if fault.changed().await.is_err() {
                return;
            }
            continue;
        }
        if current != Fault::Hang {
            held.lock().unwrap().clear();
        }
        let active = match &listener {
            Some(l) => l,
            None => {
                listener = Some(rebind(addr).await);
                continue;
            }
        };
        tokio::select! {
            changed = fault.changed() => if changed.is_err() { return },
            accepted = active.accept() => {
                let Ok((client, _)) = accepted else { continue };
                match current {
                    Fault::Hang => held.lock().unwrap().push(client),
                    Fault::Reset => reset(client),
                    Fault::Http500 => {
                        tokio::spawn(answer(client, "500 Internal Server Error", "text/plain", "injected fault: 500\n".into(), fault.clone()));
                    }
                    Fault::Garbage => {
                        let body = "\u{1b}]0;pwned\u{7}<html>this is not the API you are looking for</html>{\"broken\":";
                        tokio::spawn(answer(client, "200 OK", "application/json", body.into(), fault.clone()));
                    }
                    Fault::Pass | Fault::Drip => {
                        let upstream = *upstream.lock().unwrap();
                        tokio::spawn(forward(client, upstream, fault.clone()));
                    }
                    Fault::Refuse => {}
                }
            }
        }
    }
}

/// Closes with RST (linger 0) rather than FIN. (The deprecation warns that a non-zero linger
/// blocks on drop; a zero linger resets at once.)
#[allow(deprecated)]
fn reset(client: TcpStream) {
    let _ = client.set_linger(Some(Duration::ZERO));
    drop(client);
}

/// Reads one request's head (best effort) and answers it; keeps answering on the connection
/// while the fault lasts, and closes it when the fault changes.
async fn answer(
    mut client: TcpStream,
    status: &'static str,
    content_type: &'static str,
    body: String,
    mut fault: watch::Receiver<Fault>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    let mode = *fault.borrow_and_update();
    loop {
        tokio::select! {
            read = client.read(&mut buf) => match read {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            },
            changed = fault.changed() => {
                if changed.is_err() || *fault.borrow() != mode {
                    return;
                }
                continue;
            }
        }
        let response = format!(
            "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        if client.write_all(response.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// Forwards both ways while the fault allows; a hang freezes the connection, refuse and reset
/// cut it, a drip slows it to a byte every 50 ms.
async fn forward(client: TcpStream, upstream: SocketAddr, fault: watch::Receiver<Fault>) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        reset(client);
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let up = pipe(client_read, server_write, fault.clone());
    let down = pipe(server_read, client_write, fault);
    tokio::select! {
        _ = up => {}
        _ = down => {}
    }
}

async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut fault: watch::Receiver<Fault>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let current = *fault.borrow_and_update();
        match current {
            // Open connections are cut, so the next request meets the fault.
            Fault::Refuse | Fault::Reset | Fault::Http500 | Fault::Garbage => {
                let _ = to.shutdown().await;
                return;
            }
            Fault::Hang => {
                // Frozen: nothing moves until the fault changes.
                if fault.changed().await.is_err() {
                    return;
                }
                continue;
            }
            Fault::Pass | Fault::Drip => {}
        }
        let read = tokio::select! {
            changed = fault.changed() => {
                if changed.is_err() { return }
                continue;
            }
            read = from.read(&mut buf) => read,
        };
        let n = match read {
            Ok(0) | Err(_) => {
                let _ = to.shutdown().await;
                return;
            }
            Ok(n) => n,
        };
        if current == Fault::Drip {
            for byte in &buf[..n] {
                if to.write_all(std::slice::from_ref(byte)).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        } else if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
