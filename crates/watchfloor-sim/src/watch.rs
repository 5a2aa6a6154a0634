//! Watch streams: backlog since a resourceVersion, live events, bookmarks, 410 as an ERROR event.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Bytes;
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::Shared;
use super::resources::Res;
use super::respond;
use super::selectors::{FieldSelector, LabelSelector};
use super::status::ApiError;
use super::table::{self, Include};
use time::OffsetDateTime;

#[derive(Debug, Clone)]
pub struct WatchParams {
    pub res: Res,
    pub ns: Option<String>,
    pub labels: LabelSelector,
    pub fields: FieldSelector,
    pub rv: Option<String>,
    pub bookmarks: bool,
    pub send_initial: bool,
    pub timeout: Option<Duration>,
    /// `kubectl get -w`: each event's object is a one-row Table.
    pub table: Option<Include>,
}

impl WatchParams {
    fn wants(&self, res: Res, obj: &Value) -> bool {
        res == self.res
            && self
                .ns
                .as_deref()
                .is_none_or(|ns| obj["metadata"]["namespace"] == ns)
            && self.labels.matches(obj)
            && self.fields.matches(obj)
    }
}

fn line(kind: &str, obj: &Value) -> String {
    format!("{{\"type\":\"{kind}\",\"object\":{obj}}}\n")
}

/// An object event as the watch asked for it: the object, or a one-row Table of it.
fn event_line(p: &WatchParams, kind: &str, obj: &Value, now: OffsetDateTime) -> String {
    match p.table {
        None => line(kind, obj),
        Some(include) => {
            let meta = json!({"resourceVersion": obj["metadata"]["resourceVersion"]});
            let t = table::table(p.res, &meta, &table::row(p.res, obj, now, include));
            format!("{{\"type\":\"{kind}\",\"object\":{t}}}\n")
        }
    }
}

fn expired_line(rv: u64, oldest: u64) -> String {
    let status = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": format!("too old resource version: {rv} ({oldest})"),
        "reason": "Expired", "code": 410
    });
    line("ERROR", &status)
}

/// What kube-apiserver answers a watch from a resourceVersion it has not reached (e.g. a
/// client that outlived a restored or restarted server): an ERROR event, 504 Timeout with the
/// `ResourceVersionTooLarge` cause.
fn too_large_line(rv: u64, current: u64) -> String {
    let status = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": format!("Too large resource version: {rv}, current: {current}"),
        "reason": "Timeout", "code": 504,
        "details": {"causes": [{"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}], "retryAfterSeconds": 1}
    });
    line("ERROR", &status)
}

fn bookmark_line(res: Res, rv: u64, initial_end: bool) -> String {
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if initial_end {
        meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    line(
        "BOOKMARK",
        &json!({"kind": res.kind(), "apiVersion": res.api_version(), "metadata": meta}),
    )
}

enum Start {
    /// Replay from this RV.
    From(u64),
    /// Synthetic ADDED events for current state, then live.
    Current,
}

/// Validate and start a watch; the body streams until timeout, a fault, or the client leaves.
pub fn start(sh: Arc<Shared>, p: WatchParams) -> Result<Response, ApiError> {
    let start = match p.rv.as_deref() {
        None | Some("") | Some("0") => Start::Current,
        Some(_) if p.send_initial => Start::Current,
        Some(s) => Start::From(s.parse().map_err(|_| {
            ApiError::bad_request(format!(
                "resourceVersion: Invalid value: \"{s}\": must be numeric"
            ))
        })?),
    };
    let (tx, rx) = mpsc::channel::<Bytes>(64);
    // Subscribe before spawning so a fault fired right after the response is not missed.
    let signals = Signals {
        rv: sh.rv_tx.subscribe(),
        gen_: sh.faults.watch_gen.subscribe(),
        stop: sh.stop.subscribe(),
    };
    tokio::spawn(run(sh, p, start, signals, tx));
    Ok(respond::stream("application/json", rx))
}

async fn send(sh: &Shared, tx: &mpsc::Sender<Bytes>, s: String) -> bool {
    if sh.faults.split_chunks.load(Ordering::Relaxed) && s.len() > 2 {
        let mut cut = s.len() / 2;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        let (a, b) = s.split_at(cut);
        let (a, b) = (a.to_string(), b.to_string());
        if tx.send(Bytes::from(a)).await.is_err() {
            return false;
        }
        // Give hyper a chance to flush the first half as its own chunk.
        tokio::task::yield_now().await;
        return tx.send(Bytes::from(b)).await.is_ok();
    }
    tx.send(Bytes::from(s)).await.is_ok()
}

struct Signals {
    rv: tokio::sync::watch::Receiver<u64>,
    gen_: tokio::sync::watch::Receiver<u64>,
    stop: tokio::sync::watch::Receiver<bool>,
}

async fn run(
    sh: Arc<Shared>,
    p: WatchParams,
    start: Start,
    signals: Signals,
    tx: mpsc::Sender<Bytes>,
) {
    let Signals {
        rv: mut rv_rx,
        gen_: mut gen_rx,
        stop: mut stop_rx,
    } = signals;
    let deadline = p.timeout.map(|t| Instant::now() + t);
    let mut cursor = match start {
        Start::From(rv) => {
            let current = sh.with(|w| w.store.rv());
            if rv > current {
                let _ = send(&sh, &tx, too_large_line(rv, current)).await;
                return;
            }
            let expired = sh.with(|w| w.store.events_since(rv).err());
            if let Some(oldest) = expired {
                let _ = send(&sh, &tx, expired_line(rv, oldest)).await;
                return;
            }
            rv
        }
        Start::Current => {
            let (lines, rv) = sh.with(|w| {
                let now = w.store.clock.wall();
                let lines: Vec<String> = w
                    .store
                    .iter(p.res, p.ns.as_deref(), None)
                    .filter(|o| p.wants(p.res, o))
                    .map(|o| event_line(&p, "ADDED", o, now))
                    .collect();
                (lines, w.store.rv())
            });
            for l in lines {
                if !send(&sh, &tx, l).await {
                    return;
                }
            }
            if p.send_initial && !send(&sh, &tx, bookmark_line(p.res, rv, true)).await {
                return;
            }
            rv
        }
    };
    let interval = sh.bookmark_interval();
    let mut next_bookmark = Instant::now() + interval;
    loop {
        // Drain the backlog in batches.
        loop {
            let batch = sh.with(|w| match w.store.events_since(cursor) {
                Err(oldest) => Err(oldest),
                Ok(entries) => {
                    let now = w.store.clock.wall();
                    let mut last = cursor;
                    let mut lines = Vec::new();
                    for e in entries.iter().take(1000) {
                        last = e.rv;
                        if p.wants(e.res, &e.object) {
                            lines.push(event_line(&p, e.kind.as_str(), &e.object, now));
                        }
                    }
                    Ok((lines, last))
                }
            });
            match batch {
                Err(oldest) => {
                    let _ = send(&sh, &tx, expired_line(cursor, oldest)).await;
                    return;
                }
                Ok((lines, last)) => {
                    let done = last == cursor;
                    for l in lines {
                        if !send(&sh, &tx, l).await {
                            return;
                        }
                    }
                    cursor = last;
                    if done {
                        break;
                    }
                }
            }
        }
        let far = Instant::now() + Duration::from_secs(3600 * 24);
        tokio::select! {
            r = rv_rx.changed() => if r.is_err() { return },
            _ = gen_rx.changed() => return,
            _ = stop_rx.changed() => return,
            _ = tokio::time::sleep_until(deadline.unwrap_or(far)) => return,
            _ = tokio::time::sleep_until(next_bookmark) => {
                next_bookmark = Instant::now() + interval;
                if p.bookmarks && !send(&sh, &tx, bookmark_line(p.res, cursor, false)).await {
                    return;
                }
            }
            _ = tx.closed() => return,
        }
    }
}
