//! Kubernetes pod logs for the Logs pane (`[[targets.logs]]` with `source = "kubernetes"`).
//!
//! One task per configured source. It resolves the pod selector (`selector` as given, the
//! `spec.selector` of a `deploy/`, `sts/`, `ds/` or `job/` workload, or one pod by name for
//! `pod/NAME`), watches the matching pods and follows one log stream per (pod, container) whose
//! name matches `container` (the whole name, as a regex; all by default), up to `max_streams` at
//! once; the others wait for a free slot and are counted in `CapReached`. Each stream is one
//! `follow=true&timestamps=true` request; when it ends or fails while its container still runs
//! it is resumed from the second of the last line seen (`sinceTime`), and the overlap is dropped
//! with [`Resume`], so lines are neither repeated nor lost. A container that is not running
//! (crash-loop back-off) is resumed when the pod watch shows it running again.
//!
//! Stream ids: 0 is reserved for the source itself. It is opened only when something goes wrong
//! before or around the streams (no connection, workload not found, pod watch failing) and shows
//! `Reconnecting` with the reason while it lasts, `Following` once the pod watch works again, and
//! `Ended` for a configuration the task cannot run (a bad `container` regex). Pod streams are
//! numbered from 1 and never reused.
//!
//! All per-line work (splitting, parsing, dedup) happens in this task, never on the UI task:
//! lines are parsed once with [`parse_line`], checked against the stream's [`Resume`] and queued
//! in the [`LogSink`], which sends batches without blocking.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::pin::Pin;
use std::time::{Duration, Instant, SystemTime};

use futures::future::BoxFuture;
use futures::stream::{AbortHandle, BoxStream, FuturesUnordered, SelectAll};
use futures::{AsyncBufRead, AsyncBufReadExt, FutureExt, Stream, StreamExt};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, LogParams};
use kube::core::Selector;
use kube::runtime::watcher::{self, Event};
use kube::{Client, Resource, ResourceExt};
use regex::Regex;

use super::kubernetes::{Purpose, connect, connect_for, describe_error};
use crate::logs::dedup::Resume;
use crate::logs::line::MAX_LINE_BYTES;
use crate::logs::{LogEvent, LogLine, StreamId, StreamState, parse_line};
use crate::sources::log_sink::{BATCH_AGE, LogSink};
use watchfloor_core::config::{KubernetesConfig, LogsConfig};

/// The source's own pseudo-stream, for problems that are not one pod's.
pub const SOURCE_STREAM: StreamId = 0;

/// How far back the first read of a stream goes when neither `since` nor `tail` is set.
pub const DEFAULT_SINCE: Duration = Duration::from_secs(300);

/// Bytes kept of one line; the rest of an overlong line is skipped (`parse_line` marks it
/// truncated). Bounds memory against a stream that never sends a newline.
const LINE_LIMIT: usize = MAX_LINE_BYTES + 1;

/// Lines per `Lines` event when reading previous logs.
const PREVIOUS_BATCH: usize = 2_000;

/// How long to wait after a back-off message gives nothing to go on (kubelet's first back-off).
const CONTAINER_RETRY_GUESS: Duration = Duration::from_secs(10);

type Reader = Pin<Box<dyn AsyncBufRead + Send>>;

/// Follows the logs of the pods `config` selects until the console drops `sink`. Streams are
/// labelled `pod/container`; the first read of each goes back `since` (default 5 minutes) or
/// `tail` lines.
pub async fn run(kubernetes: KubernetesConfig, config: LogsConfig, mut sink: LogSink) {
    let what = config
        .workload
        .as_deref()
        .or(config.selector.as_deref())
        .unwrap_or("?");
    let mut source = SourceStream::new(format!(
        "{}/{what}",
        config.namespace.as_deref().unwrap_or("?")
    ));
    let Some(namespace) = config.namespace.clone() else {
        source
            .fatal(
                &mut sink,
                "source = \"kubernetes\" needs `namespace`".into(),
            )
            .await;
        return;
    };
    let containers = match ContainerMatch::new(config.container.as_deref()) {
        Ok(containers) => containers,
        Err(reason) => {
            source.fatal(&mut sink, reason).await;
            return;
        }
    };

    let mut backoff = super::backoff::Backoff::STANDARD;
    // Two clients: requests and the pod watch are bounded (a hung server becomes an error);
    // log streams are not (a quiet container is not a fault).
    let (client, streams_client) = loop {
        if sink.is_closed() {
            return;
        }
        let both = match connect_for(&kubernetes, Purpose::Requests).await {
            Ok(requests) => connect_for(&kubernetes, Purpose::Streams)
                .await
                .map(|streams| (requests.client, streams.client)),
            Err(e) => Err(e),
        };
        match both {
            Ok(both) => break both,
            Err(reason) => {
                let delay = backoff.failed();
                if !source
                    .problem(&mut sink, format!("cannot connect: {reason}"), delay)
                    .await
                    || !pause(&sink, delay).await
                {
                    return;
                }
            }
        }
    };
    let selector = loop {
        if sink.is_closed() {
            return;
        }
        match resolve_selector(&client, &namespace, &config).await {
            Ok(selector) => break selector,
            Err(Problem::Fatal(reason)) => {
                source.fatal(&mut sink, reason).await;
                return;
            }
            Err(Problem::Retry(reason)) => {
                let delay = backoff.failed();
                if !source.problem(&mut sink, reason, delay).await || !pause(&sink, delay).await {
                    return;
                }
            }
        }
    };
    tracing::debug!(namespace, ?selector, "following pod logs");

    let watch_api: Api<Pod> = Api::namespaced(client, &namespace);
    let api: Api<Pod> = Api::namespaced(streams_client, &namespace);
    let start_watch = |delay: Duration| {
        let watcher = watcher::watcher(watch_api.clone(), selector.watch_config());
        // A failed pod watch starts again from a fresh list, so recovery is seen (a silent
        // re-watch would never say the source is healthy again).
        futures::stream::once(async move {
            tokio::time::sleep(delay).await;
            watcher
        })
        .flatten()
        .boxed()
    };
    let mut pod_watch = start_watch(Duration::ZERO);
    let first = FirstRead {
        since: config
            .since
            .or(config.tail.is_none().then_some(DEFAULT_SINCE)),
        tail: config.tail.map(|n| i64::try_from(n).unwrap_or(i64::MAX)),
    };
    let mut follower = Follower::new(api, sink, source, containers, first, config.max_streams);
    let mut tick = tokio::time::interval(BATCH_AGE);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if follower.sink.is_closed() {
            return;
        }
        tokio::select! {
            event = pod_watch.next() => match event {
                Some(event) => {
                    if let Some(delay) = follower.on_watch(event).await {
                        pod_watch = start_watch(delay);
                    }
                }
                None => pod_watch = start_watch(Duration::ZERO),
            },
            Some((id, generation, read)) = follower.readers.next(), if !follower.readers.is_empty() => {
                follower.on_read(id, generation, read).await;
                follower.sink.flush_due();
            }
            Some((id, generation)) = follower.timers.next(), if !follower.timers.is_empty() => {
                follower.on_timer(id, generation).await;
            }
            _ = tick.tick() => follower.sink.flush_due(),
        }
    }
}

/// Reads the logs of a container's previous run once (`previous=true`, no follow) as stream `id`,
/// labelled `pod/container (previous)`, then ends it with "previous container logs" (or the
/// reason it could not be read). Without `container`, the pod's first crash-looping container
/// with a previous run is read (else the first that restarted, else the first).
pub async fn previous(
    kubernetes: KubernetesConfig,
    namespace: String,
    pod: String,
    container: Option<String>,
    id: StreamId,
    mut sink: LogSink,
) {
    let client = match connect(&kubernetes).await {
        Ok((client, _)) => client,
        Err(reason) => {
            let label = format!("{pod}/{} (previous)", container.as_deref().unwrap_or("?"));
            if sink.event(LogEvent::StreamOpened { id, label }).await {
                let reason = format!("cannot connect: {reason}");
                sink.state(id, StreamState::Ended { reason }).await;
            }
            return;
        }
    };
    let api: Api<Pod> = Api::namespaced(client, &namespace);
    let container = match container {
        Some(container) => Ok(container),
        None => match api.get(&pod).await {
            Ok(object) => previous_container(&object).ok_or_else(|| "pod has no containers".into()),
            Err(error) => Err(describe(&error)),
        },
    };
    let label = format!("{pod}/{} (previous)", container.as_deref().unwrap_or("?"));
    if !sink.event(LogEvent::StreamOpened { id, label }).await {
        return;
    }
    let reason = match container {
        Err(reason) => reason,
        Ok(container) => {
            let params = LogParams {
                container: Some(container),
                previous: true,
                timestamps: true,
                ..LogParams::default()
            };
            match api.log_stream(&pod, &params).await {
                Err(error) => describe(&error),
                Ok(reader) => {
                    let mut reader: Reader = Box::pin(reader);
                    match read_to_end(&mut reader, id, &mut sink).await {
                        Some(Ok(())) => "previous container logs".into(),
                        Some(Err(error)) => {
                            format!("previous container logs (read failed: {error})")
                        }
                        None => return,
                    }
                }
            }
        }
    };
    sink.state(id, StreamState::Ended { reason }).await;
}

/// Sends every line of `reader` as `Lines` events that wait for room (a one-shot read must
/// not lose its tail, and nothing is left pending when the task ends). `None`: the console is
/// gone.
async fn read_to_end(
    reader: &mut Reader,
    id: StreamId,
    sink: &mut LogSink,
) -> Option<std::io::Result<()>> {
    let mut batch: Vec<LogLine> = Vec::new();
    let mut oldest = Instant::now();
    loop {
        let mut bytes = Vec::new();
        let result = next_line(reader, &mut bytes).await;
        if !bytes.is_empty() && result.is_ok() {
            if batch.is_empty() {
                oldest = Instant::now();
            }
            batch.push(parse_line(id, &bytes, true, SystemTime::now()));
        }
        let more = matches!(result, Ok(true));
        if !batch.is_empty()
            && (!more || batch.len() >= PREVIOUS_BATCH || oldest.elapsed() >= BATCH_AGE)
            && !sink
                .event(LogEvent::Lines(std::mem::take(&mut batch)))
                .await
        {
            return None;
        }
        if !more {
            return Some(result.map(|_| ()));
        }
    }
}

/// The container whose previous logs to show when none is named.
fn previous_container(pod: &Pod) -> Option<String> {
    let names: Vec<&str> = pod
        .spec
        .as_ref()
        .map(|s| s.containers.iter().map(|c| c.name.as_str()).collect())
        .unwrap_or_default();
    let statuses = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or_default();
    let status = |name: &str| statuses.iter().find(|s| s.name == name);
    let has_previous = |s: &ContainerStatus| {
        s.last_state
            .as_ref()
            .is_some_and(|l| l.terminated.is_some())
    };
    let crash_looping = |s: &ContainerStatus| {
        s.state
            .as_ref()
            .and_then(|st| st.waiting.as_ref())
            .and_then(|w| w.reason.as_deref())
            == Some("CrashLoopBackOff")
    };
    names
        .iter()
        .find(|n| status(n).is_some_and(|s| has_previous(s) && crash_looping(s)))
        .or_else(|| names.iter().find(|n| status(n).is_some_and(has_previous)))
        .or_else(|| names.first())
        .map(|n| (*n).to_string())
}

/// Which containers of a pod to follow: all, or those whose name matches the configured name or
/// regex as a whole (`api` matches only `api`; `api|proxy`, `.*-proxy` are patterns).
#[derive(Debug, Clone)]
enum ContainerMatch {
    All,
    Pattern(Regex),
}

impl ContainerMatch {
    fn new(spec: Option<&str>) -> Result<Self, String> {
        match spec.map(str::trim) {
            None | Some("" | "*") => Ok(Self::All),
            Some(spec) => Regex::new(&format!("^(?:{spec})$"))
                .map(Self::Pattern)
                .map_err(|e| format!("container {spec:?} is not a valid name or regex: {e}")),
        }
    }

    fn matches(&self, name: &str) -> bool {
        match self {
            Self::All => true,
            Self::Pattern(re) => re.is_match(name),
        }
    }
}

enum Problem {
    /// The configuration cannot work; retrying will not help.
    Fatal(String),
    /// Worth retrying (no connection, workload not there yet, forbidden for now).
    Retry(String),
}

/// Which pods to watch: a label selector, or one pod by name (`pod/NAME`, as the Pods pane
/// opens it).
#[derive(Debug, Clone, PartialEq, Eq)]
enum PodSelection {
    Labels(String),
    Named(String),
}

impl PodSelection {
    fn watch_config(&self) -> watcher::Config {
        match self {
            Self::Labels(selector) => super::kubernetes::watch_config().labels(selector),
            Self::Named(name) => {
                super::kubernetes::watch_config().fields(&format!("metadata.name={name}"))
            }
        }
    }
}

/// The pods to follow: `selector` as given, or the workload's `spec.selector`.
async fn resolve_selector(
    client: &Client,
    namespace: &str,
    config: &LogsConfig,
) -> Result<PodSelection, Problem> {
    if let Some(selector) = &config.selector {
        return Ok(PodSelection::Labels(selector.clone()));
    }
    let Some(workload) = config.workload.as_deref() else {
        return Err(Problem::Fatal(
            "source = \"kubernetes\" needs `selector` or `workload`".into(),
        ));
    };
    let bad = || {
        Problem::Fatal(format!(
            "{workload:?} must be deploy/NAME, sts/NAME, ds/NAME, job/NAME or pod/NAME"
        ))
    };
    let (kind, name) = workload.split_once('/').ok_or_else(bad)?;
    if name.is_empty() {
        return Err(bad());
    }
    let found = match kind {
        "pod" | "po" | "pods" => return Ok(PodSelection::Named(name.to_string())),
        "deploy" | "deployment" | "deployments" => {
            get_selector(client, namespace, name, |d: Deployment| {
                d.spec.map(|s| s.selector)
            })
            .await
        }
        "sts" | "statefulset" | "statefulsets" => {
            get_selector(client, namespace, name, |s: StatefulSet| {
                s.spec.map(|s| s.selector)
            })
            .await
        }
        "ds" | "daemonset" | "daemonsets" => {
            get_selector(client, namespace, name, |d: DaemonSet| {
                d.spec.map(|s| s.selector)
            })
            .await
        }
        "job" | "jobs" => {
            let selector = get_selector(client, namespace, name, |j: Job| {
                j.spec.and_then(|s| s.selector)
            })
            .await;
            // A Job without a selector yet: its pods carry `job-name`.
            selector.map(|s| {
                s.or_else(|| {
                    Some(LabelSelector {
                        match_labels: Some([("job-name".to_string(), name.to_string())].into()),
                        ..LabelSelector::default()
                    })
                })
            })
        }
        _ => return Err(bad()),
    };
    let selector = match found {
        Ok(Some(selector)) => selector,
        Ok(None) => return Err(Problem::Retry(format!("{workload} has no selector yet"))),
        Err(kube::Error::Api(status)) if status.code == 404 => {
            return Err(Problem::Retry(format!(
                "{workload} not found in namespace {namespace}"
            )));
        }
        Err(error) => return Err(Problem::Retry(format!("{workload}: {}", describe(&error)))),
    };
    let selector = Selector::try_from(selector)
        .map_err(|e| Problem::Fatal(format!("{workload}: unusable selector: {e}")))?;
    if selector.selects_all() {
        return Err(Problem::Fatal(format!(
            "{workload} has an empty selector (it would select every pod)"
        )));
    }
    Ok(PodSelection::Labels(selector.to_string()))
}

async fn get_selector<K>(
    client: &Client,
    namespace: &str,
    name: &str,
    selector: fn(K) -> Option<LabelSelector>,
) -> Result<Option<LabelSelector>, kube::Error>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    api.get(name).await.map(selector)
}

/// A short reason for the pane: the API's own message when there is one.
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if let Some(kube::Error::Api(status)) = e.downcast_ref::<kube::Error>()
            && !status.message.is_empty()
        {
            return format!("{} ({})", status.message, status.code);
        }
        cause = e.source();
    }
    describe_error("the API server", error)
}

/// Sleeps `delay`, waking early when the console is gone. False then.
async fn pause(sink: &LogSink, delay: Duration) -> bool {
    let until = tokio::time::Instant::now() + delay;
    loop {
        if sink.is_closed() {
            return false;
        }
        let now = tokio::time::Instant::now();
        if now >= until {
            return true;
        }
        tokio::time::sleep((until - now).min(Duration::from_millis(250))).await;
    }
}

/// Stream 0: the source's own problems, opened on the first one.
struct SourceStream {
    label: String,
    opened: bool,
    failing: bool,
}

impl SourceStream {
    fn new(label: String) -> Self {
        Self {
            label,
            opened: false,
            failing: false,
        }
    }

    async fn open(&mut self, sink: &mut LogSink) -> bool {
        if self.opened {
            return true;
        }
        self.opened = true;
        let label = self.label.clone();
        sink.event(LogEvent::StreamOpened {
            id: SOURCE_STREAM,
            label,
        })
        .await
    }

    /// Reports a problem that is being retried. False when the console is gone.
    async fn problem(&mut self, sink: &mut LogSink, reason: String, retry_in: Duration) -> bool {
        tracing::warn!(source = %self.label, %reason, "kubernetes logs");
        if !self.open(sink).await {
            return false;
        }
        self.failing = true;
        let retry_at = SystemTime::now() + retry_in;
        sink.state(
            SOURCE_STREAM,
            StreamState::Reconnecting { reason, retry_at },
        )
        .await
    }

    async fn healthy(&mut self, sink: &mut LogSink) {
        if self.failing {
            self.failing = false;
            sink.state(SOURCE_STREAM, StreamState::Following).await;
        }
    }

    async fn fatal(&mut self, sink: &mut LogSink, reason: String) {
        tracing::warn!(source = %self.label, %reason, "kubernetes logs: giving up");
        if self.open(sink).await {
            sink.state(SOURCE_STREAM, StreamState::Ended { reason })
                .await;
        }
    }
}

/// What a stream's first request asks for.
#[derive(Debug, Clone, Copy)]
struct FirstRead {
    since: Option<Duration>,
    tail: Option<i64>,
}

/// What the pod watch says about one followed container.
#[derive(Debug, Clone)]
struct ContainerView {
    name: String,
    running: bool,
    /// Running, or ran at least once: there is something to read.
    has_logs: bool,
    restarts: i32,
    /// "waiting: CrashLoopBackOff", "terminated: Completed (exit 0)".
    state: String,
    /// When a crash-looping container is expected to start again.
    restart_at: Option<SystemTime>,
}

#[derive(Debug, Clone)]
struct PodView {
    name: String,
    uid: String,
    created: Option<Timestamp>,
    terminating: bool,
    /// Succeeded or Failed: its containers will not run again.
    finished: bool,
    /// The containers that match, in spec order.
    containers: Vec<ContainerView>,
}

impl PodView {
    fn new(pod: &Pod, matcher: &ContainerMatch) -> Self {
        let statuses = pod
            .status
            .as_ref()
            .and_then(|s| s.container_statuses.as_deref())
            .unwrap_or_default();
        let containers = pod
            .spec
            .as_ref()
            .map(|s| s.containers.as_slice())
            .unwrap_or_default()
            .iter()
            .filter(|c| matcher.matches(&c.name))
            .map(|c| container_view(&c.name, statuses.iter().find(|s| s.name == c.name)))
            .collect();
        let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
        Self {
            name: pod.name_any(),
            uid: pod.uid().unwrap_or_default(),
            created: pod.creation_timestamp().map(|t| t.0),
            terminating: pod.metadata.deletion_timestamp.is_some(),
            finished: matches!(phase, Some("Succeeded" | "Failed")),
            containers,
        }
    }

    fn container(&self, name: &str) -> Option<&ContainerView> {
        self.containers.iter().find(|c| c.name == name)
    }
}

fn container_view(name: &str, status: Option<&ContainerStatus>) -> ContainerView {
    let state = status.and_then(|s| s.state.as_ref());
    let last = status.and_then(|s| s.last_state.as_ref());
    let running = state.is_some_and(|s| s.running.is_some());
    let terminated = state.and_then(|s| s.terminated.as_ref());
    let waiting = state.and_then(|s| s.waiting.as_ref());
    let has_logs = running || terminated.is_some() || last.is_some_and(|l| l.terminated.is_some());
    let described = if running {
        "running".to_string()
    } else if let Some(t) = terminated {
        format!(
            "terminated: {} (exit {})",
            t.reason.as_deref().unwrap_or("Terminated"),
            t.exit_code
        )
    } else if let Some(w) = waiting {
        format!(
            "waiting: {}",
            w.reason.as_deref().unwrap_or("ContainerCreating")
        )
    } else {
        "not started".to_string()
    };
    // "back-off 40s restarting failed container=..." after the last run finished.
    let restart_at = waiting
        .and_then(|w| w.message.as_deref())
        .and_then(|m| m.strip_prefix("back-off "))
        .and_then(|m| m.split_whitespace().next())
        .and_then(go_duration)
        .zip(
            last.and_then(|l| l.terminated.as_ref())
                .and_then(|t| t.finished_at.as_ref()),
        )
        .map(|(backoff, finished)| system_time(finished.0) + backoff);
    ContainerView {
        name: name.to_string(),
        running,
        has_logs,
        restarts: status.map_or(0, |s| s.restart_count),
        state: described,
        restart_at,
    }
}

/// Go's `1m20s`, `40s`, `1h0m0s` (whole units only).
fn go_duration(text: &str) -> Option<Duration> {
    let mut total = 0u64;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let n: u64 = number.parse().ok()?;
        number.clear();
        total += n * match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
    }
    number.is_empty().then(|| Duration::from_secs(total))
}

fn system_time(at: Timestamp) -> SystemTime {
    let seconds = at.as_second();
    if seconds >= 0 {
        SystemTime::UNIX_EPOCH + Duration::from_secs(seconds.unsigned_abs())
    } else {
        SystemTime::UNIX_EPOCH
    }
}

/// `at`, rounded down to its second: `sinceTime` has second precision (kube rounds to the
/// nearest second, which could skip the lines of the last half second), and [`Resume`] drops the
/// lines repeated from that second on.
fn whole_second(at: SystemTime) -> Timestamp {
    let seconds = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    Timestamp::from_second(i64::try_from(seconds).unwrap_or(0)).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// What a log request yields.
#[derive(Debug)]
enum Read {
    /// The server answered; lines follow.
    Opened,
    /// One complete line, with its newline.
    Line(Vec<u8>),
    /// The stream is over: EOF (with the bytes of an unfinished last line, if any) or an error.
    End {
        partial: Option<Vec<u8>>,
        error: Option<String>,
    },
}

/// One follow request as a stream of [`Read`]s.
fn read_stream(api: Api<Pod>, pod: String, params: LogParams) -> impl Stream<Item = Read> + Send {
    enum State {
        Open(Box<(Api<Pod>, String, LogParams)>),
        Reading(Reader),
        Done,
    }
    futures::stream::unfold(
        State::Open(Box::new((api, pod, params))),
        |state| async move {
            match state {
                State::Open(request) => match request.0.log_stream(&request.1, &request.2).await {
                    Ok(reader) => Some((Read::Opened, State::Reading(Box::pin(reader)))),
                    Err(error) => Some((
                        Read::End {
                            partial: None,
                            error: Some(describe(&error)),
                        },
                        State::Done,
                    )),
                },
                State::Reading(mut reader) => {
                    let mut bytes = Vec::with_capacity(256);
                    match next_line(&mut reader, &mut bytes).await {
                        Ok(true) => Some((Read::Line(bytes), State::Reading(reader))),
                        Ok(false) => Some((
                            Read::End {
                                partial: (!bytes.is_empty()).then_some(bytes),
                                error: None,
                            },
                            State::Done,
                        )),
                        // A line cut by a broken connection is read again on resume.
                        Err(error) => Some((
                            Read::End {
                                partial: None,
                                error: Some(format!("log stream failed: {error}")),
                            },
                            State::Done,
                        )),
                    }
                }
                State::Done => None,
            }
        },
    )
}

/// Reads one line into `bytes` (at most `LINE_LIMIT` bytes are kept). `Ok(true)`: a complete
/// line; `Ok(false)`: EOF, `bytes` holds an unfinished last line if any.
async fn next_line(reader: &mut Reader, bytes: &mut Vec<u8>) -> std::io::Result<bool> {
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(false);
        }
        let (used, complete) = match available.iter().position(|b| *b == b'\n') {
            Some(end) => (end + 1, true),
            None => (available.len(), false),
        };
        let room = LINE_LIMIT.saturating_sub(bytes.len());
        bytes.extend_from_slice(&available[..used.min(room)]);
        reader.consume_unpin(used);
        if complete {
            return Ok(true);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// A request is open (or being opened).
    Reading,
    /// Waiting for the retry timer.
    Retry,
    /// The container is not running; resume when the pod watch shows a new run (`restarts`
    /// changed) or the container running.
    Container { restarts: i32 },
}

/// One followed container.
struct Follow {
    pod: String,
    uid: String,
    container: String,
    resume: Resume,
    /// When the first request was made.
    first_request: Option<Instant>,
    phase: Phase,
    /// Bumped for each request and timer; reads and timers of older ones are ignored.
    generation: u64,
    /// Consecutive requests that ended without a new line.
    backoff: super::backoff::Backoff,
    /// The current request delivered at least one new line.
    fresh: bool,
    reader: Option<AbortHandle>,
    /// The state last sent for it.
    shown: StreamState,
}

type Tagged = (StreamId, u64, Read);

struct Follower {
    api: Api<Pod>,
    sink: LogSink,
    source: SourceStream,
    containers: ContainerMatch,
    first: FirstRead,
    max_streams: usize,
    /// Matching pods by name, as the watch last showed them.
    pods: BTreeMap<String, PodView>,
    /// Pods of a relist in progress.
    relist: Option<BTreeMap<String, PodView>>,
    watch_backoff: super::backoff::Backoff,
    streams: HashMap<StreamId, Follow>,
    by_container: HashMap<(String, String), StreamId>,
    /// (pod uid, container) whose stream ended for good: not followed again.
    done: HashSet<(String, String)>,
    next_id: StreamId,
    readers: SelectAll<BoxStream<'static, Tagged>>,
    timers: FuturesUnordered<BoxFuture<'static, (StreamId, u64)>>,
    /// The last `CapReached` sent (active, waiting).
    cap: Option<(usize, usize)>,
}

impl Follower {
    fn new(
        api: Api<Pod>,
        sink: LogSink,
        source: SourceStream,
        containers: ContainerMatch,
        first: FirstRead,
        max_streams: usize,
    ) -> Self {
        Self {
            api,
            sink,
            source,
            containers,
            first,
            max_streams,
            pods: BTreeMap::new(),
            relist: None,
            watch_backoff: super::backoff::Backoff::STANDARD,
            streams: HashMap::new(),
            by_container: HashMap::new(),
            done: HashSet::new(),
            next_id: SOURCE_STREAM + 1,
            readers: SelectAll::new(),
            timers: FuturesUnordered::new(),
            cap: None,
        }
    }

    /// Applies a pod watch event; on a failure, returns after how long to start the watch again.
    async fn on_watch(&mut self, event: Result<Event<Pod>, watcher::Error>) -> Option<Duration> {
        let event = match event {
            // 410 Expired: kube's watcher relists by itself.
            Err(watcher::Error::WatchError(status)) if status.code == 410 => return None,
            Ok(event) => event,
            Err(error) => {
                let delay = self.watch_backoff.failed();
                let reason = format!("watching pods: {}", describe(&error));
                self.source.problem(&mut self.sink, reason, delay).await;
                return Some(delay);
            }
        };
        self.watch_backoff.succeeded();
        match event {
            Event::Init => {
                self.relist = Some(BTreeMap::new());
                return None;
            }
            Event::InitApply(pod) => {
                let view = PodView::new(&pod, &self.containers);
                self.relist
                    .get_or_insert_with(BTreeMap::new)
                    .insert(view.name.clone(), view);
                return None;
            }
            Event::InitDone => {
                self.pods = self.relist.take().unwrap_or_default();
                self.source.healthy(&mut self.sink).await;
            }
            Event::Apply(pod) => {
                let view = PodView::new(&pod, &self.containers);
                self.pods.insert(view.name.clone(), view);
                self.source.healthy(&mut self.sink).await;
            }
            Event::Delete(pod) => {
                self.pods.remove(&pod.name_any());
                self.source.healthy(&mut self.sink).await;
            }
        }
        self.reconcile().await;
        None
    }

    /// Ends the streams of pods that are gone, resumes containers that run again, opens streams
    /// for new containers up to the cap and reports the cap.
    async fn reconcile(&mut self) {
        let gone: Vec<StreamId> = self
            .streams
            .iter()
            .filter(|(_, s)| self.pods.get(&s.pod).is_none_or(|p| p.uid != s.uid))
            .map(|(id, _)| *id)
            .collect();
        for id in gone {
            self.end(id, "pod deleted".into()).await;
        }

        let mut wake = Vec::new();
        let mut over = Vec::new();
        for (id, s) in &self.streams {
            let Phase::Container { restarts } = s.phase else {
                continue;
            };
            let Some(pod) = self.pods.get(&s.pod) else {
                continue;
            };
            match pod.container(&s.container) {
                Some(c) if c.running || c.restarts != restarts => wake.push(*id),
                Some(c) if pod.finished || pod.terminating => over.push((*id, c.state.clone())),
                _ => {}
            }
        }
        for id in wake {
            self.start_reader(id);
        }
        for (id, state) in over {
            self.end(id, format!("container {state}")).await;
        }

        let uids: HashSet<&str> = self.pods.values().map(|p| p.uid.as_str()).collect();
        self.done.retain(|(uid, _)| uids.contains(uid.as_str()));

        let mut pods: Vec<&PodView> = self.pods.values().collect();
        pods.sort_by(|a, b| (a.created, &a.name).cmp(&(b.created, &b.name)));
        let mut candidates = Vec::new();
        for pod in pods {
            for c in &pod.containers {
                let key = (pod.name.clone(), c.name.clone());
                if c.has_logs
                    && !self.by_container.contains_key(&key)
                    && !self.done.contains(&(pod.uid.clone(), c.name.clone()))
                {
                    candidates.push((key, pod.uid.clone()));
                }
            }
        }
        let free = self.max_streams.saturating_sub(self.streams.len());
        let waiting = candidates.len().saturating_sub(free);
        for ((pod, container), uid) in candidates.into_iter().take(free) {
            self.open(pod, container, uid).await;
        }
        let now = (self.streams.len(), waiting);
        let was_waiting = self.cap.is_some_and(|(_, w)| w > 0);
        if (waiting > 0 || was_waiting) && self.cap != Some(now) {
            self.cap = Some(now);
            let (active, waiting) = now;
            self.sink
                .event(LogEvent::CapReached { active, waiting })
                .await;
        }
    }

    async fn open(&mut self, pod: String, container: String, uid: String) {
        let id = self.next_id;
        self.next_id += 1;
        let label = format!("{pod}/{container}");
        self.by_container
            .insert((pod.clone(), container.clone()), id);
        self.streams.insert(
            id,
            Follow {
                pod,
                uid,
                container,
                resume: Resume::default(),
                first_request: None,
                phase: Phase::Reading,
                generation: 0,
                backoff: super::backoff::Backoff::STANDARD,
                fresh: false,
                reader: None,
                shown: StreamState::Following,
            },
        );
        self.sink.event(LogEvent::StreamOpened { id, label }).await;
        self.start_reader(id);
    }

    /// Opens a follow request: the configured window the first time, then from the second of
    /// the last line seen.
    fn start_reader(&mut self, id: StreamId) {
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        let mut params = LogParams {
            container: Some(s.container.clone()),
            follow: true,
            timestamps: true,
            ..LogParams::default()
        };
        match (s.resume.since(), s.first_request) {
            (Some(last), _) => params.since_time = Some(whole_second(last)),
            // Nothing seen yet: the first window, stretched by the time since it was asked for.
            (None, Some(at)) => {
                let window = self.first.since.map_or(1, |d| d.as_secs().max(1));
                let elapsed = at.elapsed().as_secs() + 1;
                params.since_seconds = Some(i64::try_from(window + elapsed).unwrap_or(i64::MAX));
            }
            (None, None) => {
                params.since_seconds = self
                    .first
                    .since
                    .map(|d| i64::try_from(d.as_secs().max(1)).unwrap_or(i64::MAX));
                params.tail_lines = self.first.tail;
            }
        }
        s.first_request.get_or_insert_with(Instant::now);
        s.generation += 1;
        s.phase = Phase::Reading;
        s.fresh = false;
        if let Some(old) = s.reader.take() {
            old.abort();
        }
        let generation = s.generation;
        let (reader, handle) = futures::stream::abortable(
            read_stream(self.api.clone(), s.pod.clone(), params).map(move |r| (id, generation, r)),
        );
        s.reader = Some(handle);
        self.readers.push(reader.boxed());
    }

    async fn on_read(&mut self, id: StreamId, generation: u64, read: Read) {
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        if s.generation != generation {
            return;
        }
        match read {
            Read::Line(bytes) => {
                let line = parse_line(id, &bytes, true, SystemTime::now());
                if s.resume.is_new(line.timestamp, &bytes) {
                    s.fresh = true;
                    self.sink.push(line);
                }
            }
            Read::Opened => {
                if s.shown != StreamState::Following {
                    s.shown = StreamState::Following;
                    self.sink.state(id, StreamState::Following).await;
                }
            }
            Read::End { partial, error } => {
                s.reader = None;
                self.after_end(id, partial, error).await;
                self.reconcile().await;
            }
        }
    }

    /// A request ended: end the stream, wait for the container, or retry with backoff.
    async fn after_end(&mut self, id: StreamId, partial: Option<Vec<u8>>, error: Option<String>) {
        let Some(s) = self.streams.get(&id) else {
            return;
        };
        let pod = self.pods.get(&s.pod).filter(|p| p.uid == s.uid);
        let container = pod.and_then(|p| p.container(&s.container));
        enum Next {
            End(String),
            Wait(i32, String, SystemTime),
            Retry(String),
        }
        let next = match (pod, container) {
            (Some(pod), Some(c)) if !c.running && (pod.finished || pod.terminating) => {
                Next::End(format!("container {}", c.state))
            }
            (Some(_), Some(c)) if !c.running => Next::Wait(
                c.restarts,
                format!("container {}", c.state),
                c.restart_at
                    .filter(|at| *at > SystemTime::now())
                    .unwrap_or_else(|| SystemTime::now() + CONTAINER_RETRY_GUESS),
            ),
            (Some(_), Some(_)) => Next::Retry(error.unwrap_or_else(|| "log stream ended".into())),
            _ => Next::End("pod deleted".into()),
        };
        // An unfinished last line is final unless the stream is resumed (which reads it again).
        if let Some(bytes) = partial
            && !matches!(next, Next::Retry(_))
            && let Some(s) = self.streams.get_mut(&id)
        {
            let line = parse_line(id, &bytes, true, SystemTime::now());
            if s.resume.is_new(line.timestamp, &bytes) {
                self.sink.push(line);
            }
        }
        match next {
            Next::End(reason) => self.end(id, reason).await,
            Next::Wait(restarts, reason, retry_at) => {
                self.wait_for_container(id, restarts, reason, retry_at)
                    .await;
            }
            Next::Retry(reason) => self.retry(id, reason).await,
        }
    }

    async fn wait_for_container(
        &mut self,
        id: StreamId,
        restarts: i32,
        reason: String,
        retry_at: SystemTime,
    ) {
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        s.generation += 1;
        s.phase = Phase::Container { restarts };
        s.backoff.succeeded();
        let state = StreamState::Reconnecting { reason, retry_at };
        if s.shown != state {
            s.shown = state.clone();
            self.sink.state(id, state).await;
        }
    }

    async fn retry(&mut self, id: StreamId, reason: String) {
        let Some(s) = self.streams.get_mut(&id) else {
            return;
        };
        if s.fresh {
            s.backoff.succeeded();
        }
        let delay = s.backoff.failed();
        s.generation += 1;
        s.phase = Phase::Retry;
        let generation = s.generation;
        self.timers.push(
            tokio::time::sleep(delay)
                .map(move |()| (id, generation))
                .boxed(),
        );
        tracing::debug!(stream = id, %reason, ?delay, "log stream reconnecting");
        let state = StreamState::Reconnecting {
            reason,
            retry_at: SystemTime::now() + delay,
        };
        s.shown = state.clone();
        self.sink.state(id, state).await;
    }

    async fn on_timer(&mut self, id: StreamId, generation: u64) {
        let Some(s) = self.streams.get(&id) else {
            return;
        };
        if s.generation != generation || s.phase != Phase::Retry {
            return;
        }
        let container = self
            .pods
            .get(&s.pod)
            .filter(|p| p.uid == s.uid)
            .and_then(|p| p.container(&s.container));
        match container {
            // Crashed meanwhile: wait for its next run rather than re-reading the last one.
            Some(c) if !c.running => {
                let (restarts, reason) = (c.restarts, format!("container {}", c.state));
                let at = c
                    .restart_at
                    .filter(|at| *at > SystemTime::now())
                    .unwrap_or_else(|| SystemTime::now() + CONTAINER_RETRY_GUESS);
                self.wait_for_container(id, restarts, reason, at).await;
                self.reconcile().await;
            }
            _ => self.start_reader(id),
        }
    }

    /// Ends a stream for good and frees its slot (the caller reconciles).
    async fn end(&mut self, id: StreamId, reason: String) {
        let Some(s) = self.streams.remove(&id) else {
            return;
        };
        if let Some(reader) = s.reader {
            reader.abort();
        }
        self.by_container.remove(&(s.pod, s.container.clone()));
        self.done.insert((s.uid, s.container));
        self.sink.state(id, StreamState::Ended { reason }).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_names_and_patterns() {
        let all = ContainerMatch::new(None).unwrap();
        assert!(all.matches("anything"));
        let name = ContainerMatch::new(Some("api")).unwrap();
        assert!(name.matches("api"));
        assert!(!name.matches("api-proxy"));
        let pattern = ContainerMatch::new(Some("api|.*-proxy")).unwrap();
        assert!(pattern.matches("api") && pattern.matches("oauth-proxy"));
        assert!(!pattern.matches("worker"));
        assert!(ContainerMatch::new(Some("(")).is_err());
    }

    #[test]
    fn go_durations() {
        assert_eq!(go_duration("40s"), Some(Duration::from_secs(40)));
        assert_eq!(go_duration("1m20s"), Some(Duration::from_secs(80)));
        assert_eq!(go_duration("5m0s"), Some(Duration::from_secs(300)));
        assert_eq!(go_duration("40"), None);
        assert_eq!(go_duration("1.5s"), None);
    }

    #[test]
    fn resume_point_is_rounded_down() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_900);
        assert_eq!(whole_second(at).as_second(), 1_700_000_000);
    }
}
