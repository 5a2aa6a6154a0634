//! Kubernetes watches that prove they are live, and say why when they are not.
//!
//! kube's watcher is quiet while nothing changes, swallows bookmarks and re-watches silently,
//! so "no error yet" proves nothing: a frozen API server looks exactly like a quiet one. Here
//! liveness is proven instead of assumed:
//!
//! - every request has a bound: connect within [`CONNECT_WITHIN`], and no read may wait longer
//!   than [`ANSWER_WITHIN`] (the client's read timeout), so a hung server turns into an error;
//! - watches ask the server to end them after [`WATCH_RENEW_SECS`], so a healthy quiet watch is
//!   renewed that often, and each renewal is an answer from the server;
//! - an [`Answers`] layer in the client records, per resource path, when the server last
//!   answered 2xx; a watch's proof is its latest event or answer;
//! - a [`WatchSet`] reports the source `Live` at the time of its oldest watch's latest proof
//!   (so the console turns it stale when any watch stops proving), `Error` with the real retry
//!   time when any watch fails, and restarts a failed watch from a fresh list after its back-off,
//!   so after an outage the panes show the server's world, never the old one.

use super::backoff::Backoff;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::{BoxStream, SelectAll};
use http::{Request, Response};

use super::kubernetes::Reporter;

/// No connection to the API server within this is an error.
pub const CONNECT_WITHIN: Duration = Duration::from_secs(10);
/// No answer (no byte of a response) within this is an error.
pub const ANSWER_WITHIN: Duration = Duration::from_secs(20);
/// Server-side watch timeout: a quiet healthy watch is renewed, and so proven, this often.
pub const WATCH_RENEW_SECS: u32 = 10;
/// A Kubernetes source with no proof for longer than this is shown stale.
pub const STALE_AFTER: Duration = ANSWER_WITHIN;

/// When the API server last answered a request for each resource path (2xx responses only).
#[derive(Debug, Clone, Default)]
pub struct Answers(Arc<Mutex<HashMap<String, Instant>>>);

impl Answers {
    fn record(&self, path: &str) {
        if let Ok(mut answers) = self.0.lock() {
            answers.insert(path.to_string(), Instant::now());
        }
    }

    /// The last 2xx answer for `path`.
    pub fn last(&self, path: &str) -> Option<Instant> {
        self.0.lock().ok()?.get(path).copied()
    }
}

/// The client layer that fills [`Answers`].
#[derive(Debug, Clone)]
pub struct AnswersLayer(pub Answers);

impl<S> tower::Layer<S> for AnswersLayer {
    type Service = Witness<S>;
    fn layer(&self, inner: S) -> Witness<S> {
        Witness {
            inner,
            answers: self.0.clone(),
        }
    }
}

/// A client service that notes each successful answer's path.
#[derive(Debug, Clone)]
pub struct Witness<S> {
    inner: S,
    answers: Answers,
}

impl<S, ReqBody, ResBody> tower::Service<Request<ReqBody>> for Witness<S>
where
    S: tower::Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let path = request.uri().path().to_string();
        let answers = self.answers.clone();
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await?;
            if response.status().is_success() {
                answers.record(&path);
            }
            Ok(response)
        })
    }
}

/// One watch's output: `Ok(Some(item))` for something to forward, `Ok(None)` for progress with
/// nothing to forward yet (an initial list being buffered), `Err(reason)` for a failure.
pub type WatchStream<T> = BoxStream<'static, Result<Option<T>, String>>;

/// A watch the set can (re)start: its resource path (to read [`Answers`]) and how to start it.
pub struct WatchSpec<T> {
    pub path: String,
    pub start: Box<dyn Fn() -> WatchStream<T> + Send + Sync>,
}

/// `stream` up to and including its first error, then ended (and dropped) without being polled
/// again. A failed watch is restarted by the set from a fresh list after its back-off; kube's
/// watcher, polled after an error, would instead retry at once with no back-off of its own, and
/// a failed stream left running is polled for nothing. Worse, when its errors come without
/// waiting (its client's buffer worker gone while the runtime shuts down), such a stream is
/// ready at every poll and [`WatchSet::next`] never returned: the task could not be aborted and
/// the runtime could not be dropped.
fn until_first_error<T: Send + 'static>(stream: WatchStream<T>) -> WatchStream<T> {
    futures::stream::unfold(Some(stream), |stream| async move {
        let mut stream = stream?;
        let item = stream.next().await?;
        let rest = item.is_ok().then_some(stream);
        Some((item, rest))
    })
    .boxed()
}

/// What the owner of a [`WatchSet`] gets.
#[derive(Debug)]
pub enum Watched<T> {
    /// Something from watch number `watch`.
    Item { watch: usize, item: T },
    /// Watch number `watch` failed and was dropped; it starts again with a fresh list.
    Restarting { watch: usize },
}

struct Slot<T> {
    spec: WatchSpec<T>,
    /// Has delivered its first item since it was (re)started: its list is in.
    listed: bool,
    /// The latest event from this watch.
    last_event: Option<Instant>,
    /// When it failed, why, and when it starts again.
    failed: Option<Failure>,
    backoff: Backoff,
}

struct Failure {
    reason: String,
    at: Instant,
    restart_at: Instant,
    /// Started again; waiting for its fresh list.
    restarted: bool,
}

impl<T> Slot<T> {
    /// The latest proof that this watch works: an event, or a 2xx answer since it last failed.
    fn proof(&self, answers: &Answers) -> Option<Instant> {
        let answered = answers
            .last(&self.spec.path)
            .filter(|at| self.failed.as_ref().is_none_or(|f| *at > f.at));
        self.last_event.max(answered)
    }
}

/// What the set last told the console, to report only changes.
#[derive(Debug, Clone, PartialEq)]
enum Told {
    Nothing,
    Live(Instant),
    Error(String, Instant),
}

/// An item of a running watch: which watch, which start of it, and the item (`None`: ended).
type Tagged<T> = (usize, u64, Option<Result<Option<T>, String>>);

/// Several watches of one source, supervised together (see the module docs).
pub struct WatchSet<T> {
    slots: Vec<Slot<T>>,
    running: SelectAll<BoxStream<'static, Tagged<T>>>,
    /// Bumped per restart so items of a dropped stream are ignored.
    generations: Vec<u64>,
    /// Stops each watch's running stream. A failed stream must stop, not just be ignored:
    /// kube's watcher retries at once by itself, and a stream that is always ready would keep
    /// this task busy (and its runtime from shutting down) for ever.
    stops: Vec<Option<futures::stream::AbortHandle>>,
    answers: Answers,
    server: String,
    told: Told,
}

impl<T: Send + 'static> WatchSet<T> {
    pub fn new(specs: Vec<WatchSpec<T>>, answers: Answers, server: String) -> Self {
        let mut set = Self {
            slots: Vec::new(),
            running: SelectAll::new(),
            generations: vec![0; specs.len()],
            stops: (0..specs.len()).map(|_| None).collect(),
            answers,
            server,
            told: Told::Nothing,
        };
        for spec in specs {
            set.slots.push(Slot {
                spec,
                listed: false,
                last_event: None,
                failed: None,
                backoff: Backoff::STANDARD,
            });
        }
        for watch in 0..set.slots.len() {
            set.launch(watch);
        }
        set
    }

    fn launch(&mut self, watch: usize) {
        self.generations[watch] += 1;
        let generation = self.generations[watch];
        let (stream, stop) =
            futures::stream::abortable(until_first_error((self.slots[watch].spec.start)()));
        if let Some(previous) = self.stops[watch].replace(stop) {
            previous.abort();
        }
        // Tag each item, and say when the stream ends (`None`).
        let tagged = stream
            .map(move |item| (watch, generation, Some(item)))
            .chain(futures::stream::once(
                async move { (watch, generation, None) },
            ));
        self.running.push(tagged.boxed());
        self.slots[watch].listed = false;
    }

    /// The next thing to forward. Reports the source's state through `reporter` as it goes;
    /// `None` when the console is gone.
    pub async fn next(&mut self, reporter: &Reporter) -> Option<Watched<T>> {
        let mut check = tokio::time::interval(Duration::from_secs(1));
        check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // Items that come back ready at once (an ignored one, an empty list step) must
            // not starve the runtime: yield when this task's budget is spent.
            tokio::task::consume_budget().await;
            let restart_at = self
                .slots
                .iter()
                .filter_map(|s| {
                    s.failed
                        .as_ref()
                        .filter(|f| !f.restarted)
                        .map(|f| f.restart_at)
                })
                .min();
            let far = Instant::now() + Duration::from_secs(3600);
            let restart = tokio::time::sleep_until(restart_at.unwrap_or(far).into());
            tokio::select! {
                Some((watch, generation, item)) = self.running.next(), if !self.running.is_empty() => {
                    if generation != self.generations[watch] {
                        continue;
                    }
                    let now = Instant::now();
                    match item {
                        Some(Ok(item)) => {
                            let slot = &mut self.slots[watch];
                            slot.last_event = Some(now);
                            if let Some(item) = item {
                                slot.listed = true;
                                if slot.failed.take().is_some() {
                                    tracing::info!(server = %self.server, path = %slot.spec.path, "watch recovered");
                                }
                                slot.backoff.succeeded();
                                if !self.report(reporter).await {
                                    return None;
                                }
                                return Some(Watched::Item { watch, item });
                            }
                        }
                        Some(Err(reason)) => {
                            if !self.fail(watch, reason, reporter).await {
                                return None;
                            }
                            return Some(Watched::Restarting { watch });
                        }
                        None => {
                            let reason = format!("the watch of {} ended", self.slots[watch].spec.path);
                            if !self.fail(watch, reason, reporter).await {
                                return None;
                            }
                            return Some(Watched::Restarting { watch });
                        }
                    }
                }
                () = restart => {
                    let now = Instant::now();
                    let due: Vec<usize> = (0..self.slots.len())
                        .filter(|w| self.slots[*w].failed.as_ref().is_some_and(|f| !f.restarted && f.restart_at <= now))
                        .collect();
                    for watch in due {
                        // Keep the failure (and the error shown) until the fresh list is in.
                        if let Some(failed) = &mut self.slots[watch].failed {
                            failed.restarted = true;
                        }
                        self.launch(watch);
                    }
                }
                _ = check.tick() => {
                    if !self.report(reporter).await {
                        return None;
                    }
                }
            }
        }
    }

    async fn fail(&mut self, watch: usize, reason: String, reporter: &Reporter) -> bool {
        // The failed stream ends after its error (`until_first_error`) and is stopped here
        // too; the new generation ignores its end, or anything of a stream that ended without
        // an error.
        self.generations[watch] += 1;
        if let Some(stop) = self.stops[watch].take() {
            stop.abort();
        }
        let slot = &mut self.slots[watch];
        slot.listed = false;
        let delay = slot.backoff.failed();
        let now = Instant::now();
        tracing::warn!(server = %self.server, path = %slot.spec.path, %reason, retry_in = ?delay, "kubernetes watch failed");
        slot.failed = Some(Failure {
            reason,
            at: now,
            restart_at: now + delay,
            restarted: false,
        });
        self.report(reporter).await
    }

    /// Tells the console the source's state when it changed: an error while any watch has
    /// failed (the most recent failure), live at the oldest proof once every watch has listed.
    async fn report(&mut self, reporter: &Reporter) -> bool {
        let latest_failure = self
            .slots
            .iter()
            .filter_map(|s| s.failed.as_ref())
            .max_by_key(|f| f.at);
        if let Some(failure) = latest_failure {
            let told = Told::Error(failure.reason.clone(), failure.restart_at);
            if self.told == told {
                return true;
            }
            self.told = told;
            let retry_in = failure
                .restart_at
                .saturating_duration_since(Instant::now())
                .min(Duration::from_secs(3600));
            return reporter.error(failure.reason.clone(), retry_in).await;
        }
        if !self.slots.iter().all(|s| s.listed) {
            return true;
        }
        let proofs: Option<Vec<Instant>> =
            self.slots.iter().map(|s| s.proof(&self.answers)).collect();
        let Some(oldest) = proofs.and_then(|p| p.into_iter().min()) else {
            return true;
        };
        if self.told == Told::Live(oldest) {
            return true;
        }
        self.told = Told::Live(oldest);
        let at = SystemTime::now()
            .checked_sub(oldest.elapsed())
            .unwrap_or_else(SystemTime::now);
        reporter.live_at(at).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::sync::mpsc;

    use super::*;

    /// A failed watch is dropped at its error, not kept running with its items ignored: kube's
    /// watcher retries at once (no back-off of its own) each time it is polled after an error,
    /// and when that error is immediate (its client's buffer worker gone while the runtime shuts
    /// down) a failed stream kept in the set made `next` loop forever without yielding, so the
    /// task could neither be aborted nor the runtime dropped.
    #[tokio::test]
    async fn a_failed_watch_is_dropped_and_next_waits_for_its_restart() {
        let polls = Arc::new(AtomicUsize::new(0));
        let counted = polls.clone();
        let spec = WatchSpec {
            path: "/api/v1/pods".into(),
            start: Box::new(move || {
                let counted = counted.clone();
                // As kube's watcher whose client is closed: an error at every poll, at once.
                futures::stream::repeat_with(move || {
                    let n = counted.fetch_add(1, Ordering::SeqCst) + 1;
                    assert!(n <= 100, "the failed watch was polled {n} times");
                    Err::<Option<()>, _>("the client is closed".to_string())
                })
                .boxed()
            }),
        };
        let (tx, _rx) = mpsc::channel(16);
        let reporter = Reporter {
            tx,
            generation: 0,
            index: 0,
        };
        let mut set = WatchSet::new(vec![spec], Answers::default(), "https://k8s".into());
        assert!(matches!(
            set.next(&reporter).await,
            Some(Watched::Restarting { watch: 0 })
        ));
        // The restart is a second away: until then `next` waits, and the failed stream is gone.
        let waited = tokio::time::timeout(Duration::from_millis(200), set.next(&reporter)).await;
        assert!(waited.is_err(), "nothing to return before the restart");
        assert_eq!(polls.load(Ordering::SeqCst), 1);
    }
}
