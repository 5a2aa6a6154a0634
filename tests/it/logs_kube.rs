//! Kubernetes pod logs (`sources::logs_kube`) against the simulated API server over a real
//! socket: following a deployment's pods as they come and go, resuming ended streams without
//! duplicates or gaps, crash-looping containers, previous logs, the stream cap and the source's
//! own problems. Every wait is on an event with a deadline.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use watchfloor::event::SourceEvent;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, LogParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use tokio::sync::mpsc;
use tokio::time::Instant;
use watchfloor::config::{KubernetesConfig, LogsConfig, parse};
use watchfloor::logs::{LogEvent, LogLine, StreamId, StreamState, parse_line};
use watchfloor::sources::log_sink::LogSink;
use watchfloor::sources::logs_kube;
use watchfloor_sim::{Res, Scenario, Sim, SimOptions};

const NS: &str = "platform-v2-stable";
const API: &str = "platform-v2-api";
const LONG: Duration = Duration::from_secs(60);

struct Fixture {
    sim: Sim,
    client: Client,
    kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

async fn fixture(scenario: &str, speed: f64) -> Fixture {
    let sim = Sim::start(
        Scenario::builtin(scenario).expect("scenario"),
        "127.0.0.1:0".parse().expect("addr"),
        SimOptions {
            request_log: None,
            speed,
        },
    )
    .await
    .expect("sim starts");
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    sim.write_kubeconfig(&kubeconfig, "sim")
        .expect("kubeconfig");
    let kc = Kubeconfig::read_from(&kubeconfig).expect("read kubeconfig");
    let options = KubeConfigOptions {
        context: Some("sim".into()),
        ..Default::default()
    };
    let cfg = Config::from_custom_kubeconfig(kc, &options)
        .await
        .expect("config");
    let client = Client::try_from(cfg).expect("client");
    Fixture {
        sim,
        client,
        kubeconfig,
        _dir: dir,
    }
}

impl Fixture {
    /// The target's `[targets.kubernetes]` and its one `[[targets.logs]]` entry.
    fn config(&self, logs: &str) -> (KubernetesConfig, LogsConfig) {
        let text = format!(
            "[[targets]]\nname = \"sim\"\n[targets.kubernetes]\nkubeconfig = {:?}\ncontext = \"sim\"\n\
             [[targets.logs]]\nsource = \"kubernetes\"\n{logs}",
            self.kubeconfig.display().to_string()
        );
        let config = parse(Path::new("t.toml"), &text).expect("config parses");
        let target = &config.targets[0];
        (
            target.kubernetes.clone().expect("kubernetes"),
            target.logs[0].clone(),
        )
    }

    /// Names of the pods of `deployment` in `ns`, as the world has them now.
    fn pods_of(&self, ns: &str, app: &str) -> BTreeSet<String> {
        self.sim
            .world()
            .list(Res::Pod, Some(ns))
            .iter()
            .filter(|p| p["metadata"]["labels"]["app"] == app)
            .filter_map(|p| p["metadata"]["name"].as_str().map(String::from))
            .collect()
    }

    /// What the server has for a container between `first` and `last` (inclusive), as
    /// (timestamp, sanitised line) pairs: what `kubectl logs --timestamps --since-time` shows.
    async fn history(
        &self,
        ns: &str,
        pod: &str,
        container: &str,
        previous: bool,
        window: Option<(SystemTime, SystemTime)>,
    ) -> Vec<(Option<SystemTime>, String)> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), ns);
        let since_time = window.map(|(first, _)| {
            let secs = first
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            Timestamp::from_second(secs as i64).unwrap()
        });
        let params = LogParams {
            container: Some(container.into()),
            timestamps: true,
            previous,
            since_time,
            ..LogParams::default()
        };
        let text = api.logs(pod, &params).await.expect("reference logs");
        text.lines()
            .map(|l| parse_line(0, l.as_bytes(), true, SystemTime::now()))
            .filter(|l| {
                window.is_none_or(|(first, last)| {
                    l.timestamp.is_some_and(|t| t >= first && t <= last)
                })
            })
            .map(|l| (l.timestamp, l.raw.to_string()))
            .collect()
    }
}

/// What the sink delivered, folded per stream.
struct Events {
    rx: mpsc::Receiver<SourceEvent>,
    opened: BTreeMap<StreamId, String>,
    states: BTreeMap<StreamId, Vec<StreamState>>,
    lines: BTreeMap<StreamId, Vec<LogLine>>,
    caps: Vec<(usize, usize)>,
    active: usize,
    max_active: usize,
}

fn new_sink() -> (LogSink, Events) {
    let (tx, rx) = mpsc::channel(4096);
    let events = Events {
        rx,
        opened: BTreeMap::new(),
        states: BTreeMap::new(),
        lines: BTreeMap::new(),
        caps: Vec::new(),
        active: 0,
        max_active: 0,
    };
    (LogSink::new(tx, 1, 0), events)
}

impl Events {
    fn record(&mut self, event: LogEvent) {
        match event {
            LogEvent::StreamOpened { id, label } => {
                assert!(
                    self.opened.insert(id, label.clone()).is_none(),
                    "stream {id} opened twice ({label})"
                );
                if id != logs_kube::SOURCE_STREAM {
                    self.active += 1;
                    self.max_active = self.max_active.max(self.active);
                }
            }
            LogEvent::StreamState { id, state } => {
                assert!(
                    self.opened.contains_key(&id),
                    "state of unknown stream {id}"
                );
                if matches!(state, StreamState::Ended { .. }) && id != logs_kube::SOURCE_STREAM {
                    self.active -= 1;
                }
                self.states.entry(id).or_default().push(state);
            }
            LogEvent::Lines(lines) => {
                for line in lines {
                    assert!(
                        self.opened.contains_key(&line.stream),
                        "line of unknown stream"
                    );
                    self.lines.entry(line.stream).or_default().push(line);
                }
            }
            LogEvent::Dropped(n) => panic!("{n} lines dropped"),
            LogEvent::CapReached { active, waiting } => self.caps.push((active, waiting)),
            LogEvent::Closed { reason } => panic!("a source never closes itself: {reason}"),
        }
    }

    /// Receives events until `done` holds; panics at the deadline with what was seen.
    async fn wait(&mut self, what: &str, timeout: Duration, mut done: impl FnMut(&Self) -> bool) {
        let deadline = Instant::now() + timeout;
        while !done(self) {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(SourceEvent::Logs { event, .. })) => self.record(event),
                Ok(Some(_)) => {}
                Ok(None) => panic!("the source ended while waiting for {what}"),
                Err(_) => panic!(
                    "timed out waiting for {what}: opened {:?}, states {:?}, lines {:?}, caps {:?}",
                    self.opened,
                    self.states,
                    self.lines
                        .iter()
                        .map(|(id, l)| (id, l.len()))
                        .collect::<Vec<_>>(),
                    self.caps
                ),
            }
        }
    }

    fn id(&self, label: &str) -> Option<StreamId> {
        self.opened
            .iter()
            .find(|(_, l)| l.as_str() == label)
            .map(|(id, _)| *id)
    }

    fn count(&self, id: StreamId) -> usize {
        self.lines.get(&id).map_or(0, Vec::len)
    }

    fn ended(&self, id: StreamId) -> Option<&str> {
        self.states.get(&id)?.iter().find_map(|s| match s {
            StreamState::Ended { reason } => Some(reason.as_str()),
            _ => None,
        })
    }

    fn pod_streams(&self) -> Vec<StreamId> {
        self.opened
            .keys()
            .copied()
            .filter(|id| *id != logs_kube::SOURCE_STREAM)
            .collect()
    }

    /// A stream's lines as (timestamp, sanitised line), in arrival order.
    fn seen(&self, id: StreamId) -> Vec<(Option<SystemTime>, String)> {
        self.lines
            .get(&id)
            .map(|ls| {
                ls.iter()
                    .map(|l| (l.timestamp, l.raw.to_string()))
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Every line has a kube timestamp, they never go back in time, and no line comes twice.
fn assert_ordered_unique(seen: &[(Option<SystemTime>, String)], what: &str) {
    assert!(
        seen.iter().all(|(t, _)| t.is_some()),
        "{what}: a line without timestamp"
    );
    for pair in seen.windows(2) {
        assert!(pair[0].0 <= pair[1].0, "{what}: out of order: {pair:?}");
    }
    let unique: BTreeSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "{what}: duplicate lines");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follows_a_deployment_as_pods_come_and_go() {
    let fx = fixture("calm", 20.0).await;
    let (kubernetes, logs) = fx.config(
        "namespace = \"platform-v2-stable\"\nworkload = \"deploy/platform-v2-api\"\ntail = 3",
    );
    let (sink, mut events) = new_sink();
    let task = tokio::spawn(logs_kube::run(kubernetes, logs, sink));

    let pods = fx.pods_of(NS, API);
    assert_eq!(pods.len(), 3);
    events
        .wait("a stream per pod, with lines", LONG, |e| {
            e.opened.len() == 3 && e.opened.keys().all(|id| e.count(*id) >= 6)
        })
        .await;
    let labels: BTreeSet<String> = events.opened.values().cloned().collect();
    let expected: BTreeSet<String> = pods.iter().map(|p| format!("{p}/{API}")).collect();
    assert_eq!(labels, expected);
    assert!(
        !events.opened.contains_key(&logs_kube::SOURCE_STREAM),
        "no problem to report"
    );

    // A pod that does not match, then one that does (the deployment's labels).
    let world = fx.sim.world();
    let image = "quay.io/gpte/platform-v2-api:6.3.1";
    world.add_pod(NS, "unrelated-worker", image, &[("app", "other")]);
    world.add_pod(NS, "platform-v2-api-manual", image, &[("app", API)]);
    let label = "platform-v2-api-manual/platform-v2-api";
    events
        .wait("the new pod's stream and lines", LONG, |e| {
            e.id(label).is_some_and(|id| e.count(id) >= 3)
        })
        .await;
    assert!(
        !events
            .opened
            .values()
            .any(|l| l.starts_with("unrelated-worker/")),
        "a pod the selector does not match is not followed"
    );
    let manual = events.id(label).unwrap();

    // Deleted: its stream ends and is not reopened.
    world.remove(Res::Pod, NS, "platform-v2-api-manual");
    events
        .wait("the deleted pod's stream to end", LONG, |e| {
            e.ended(manual).is_some()
        })
        .await;
    assert_eq!(events.ended(manual), Some("pod deleted"));
    for id in events.pod_streams() {
        assert_ordered_unique(&events.seen(id), &events.opened[&id]);
    }

    // The console goes away: the task ends.
    drop(events);
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the task ends when the sink is closed")
        .expect("no panic");
    fx.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumes_ended_streams_without_duplicates_or_gaps() {
    let fx = fixture("calm", 20.0).await;
    let (kubernetes, logs) = fx.config(
        "namespace = \"platform-v2-stable\"\nselector = \"app=platform-v2-api\"\ncontainer = \"platform-v2-api\"\ntail = 10",
    );
    let (sink, mut events) = new_sink();
    let task = tokio::spawn(logs_kube::run(kubernetes, logs, sink));
    events
        .wait("three streams with lines", LONG, |e| {
            e.opened.len() == 3 && e.opened.keys().all(|id| e.count(*id) >= 20)
        })
        .await;
    let ids = events.pod_streams();

    for round in 1..=2 {
        let before: BTreeMap<StreamId, (usize, usize)> = ids
            .iter()
            .map(|id| {
                (
                    *id,
                    (events.count(*id), events.states.get(id).map_or(0, Vec::len)),
                )
            })
            .collect();
        fx.sim.faults().end_log_streams();
        events
            .wait(
                &format!("round {round}: reconnect and more lines"),
                LONG,
                |e| {
                    ids.iter().all(|id| {
                        let (lines, states) = before[id];
                        let after = &e.states.get(id).map_or(&[][..], Vec::as_slice)[states..];
                        let reconnecting = after
                            .iter()
                            .position(|s| matches!(s, StreamState::Reconnecting { .. }));
                        let following = reconnecting.and_then(|r| {
                            after[r..].iter().position(|s| *s == StreamState::Following)
                        });
                        following.is_some() && e.count(*id) >= lines + 40
                    })
                },
            )
            .await;
    }

    // Compare with what the server has for the same span: same lines, same order.
    let requests = fx.sim.faults().requests();
    for id in &ids {
        let seen = events.seen(*id);
        assert_ordered_unique(&seen, &events.opened[id]);
        let pod = events.opened[id].split('/').next().unwrap().to_string();
        let first = seen.first().unwrap().0.unwrap();
        let last = seen.last().unwrap().0.unwrap();
        let history = fx.history(NS, &pod, API, false, Some((first, last))).await;
        assert_eq!(seen.len(), history.len(), "{pod}: line count");
        assert_eq!(seen, history, "{pod}: lines differ from the server's");
        let resumed = requests
            .iter()
            .filter(|r| r.verb == "logs" && r.path.contains(&pod) && r.query.contains("sinceTime="))
            .count();
        assert!(resumed >= 2, "{pod}: resumed with sinceTime ({resumed})");
    }
    task.abort();
    fx.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follows_a_crash_looping_container_across_restarts() {
    let fx = fixture("incident", 20.0).await;
    let (kubernetes, logs) =
        fx.config("namespace = \"anarchy-operator\"\nworkload = \"deploy/anarchy-operator\"");
    let (sink, mut events) = new_sink();
    let task = tokio::spawn(logs_kube::run(kubernetes, logs, sink));
    let crash = "401 Unauthorized";
    // The last run's crash at once (the container is in back-off), then each new run's.
    events
        .wait("two runs' crashes", LONG, |e| {
            e.pod_streams().first().is_some_and(|id| {
                e.lines
                    .get(id)
                    .into_iter()
                    .flatten()
                    .filter(|l| l.raw.contains(crash))
                    .map(|l| l.timestamp)
                    .collect::<BTreeSet<_>>()
                    .len()
                    >= 2
            })
        })
        .await;
    let id = events.pod_streams()[0];
    assert_eq!(events.pod_streams().len(), 1);
    let states = &events.states[&id];
    assert!(
        states.iter().any(|s| matches!(s,
            StreamState::Reconnecting { reason, .. } if reason.contains("CrashLoopBackOff"))),
        "waits for the container while it is in back-off: {states:?}"
    );
    assert!(states.contains(&StreamState::Following), "{states:?}");
    assert_eq!(events.ended(id), None);
    assert_ordered_unique(&events.seen(id), &events.opened[&id]);
    task.abort();
    fx.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn previous_container_logs_of_a_crash_looping_pod() {
    // Real time: the pod stays in back-off (its previous run fixed) for the whole test.
    let fx = fixture("incident", 1.0).await;
    let (kubernetes, _) = fx.config("namespace = \"x\"\nselector = \"a=b\"");
    let ns = "anarchy-operator";
    let pod = fx
        .pods_of(ns, "anarchy-operator")
        .into_iter()
        .next()
        .expect("operator pod");

    let (sink, mut events) = new_sink();
    tokio::spawn(logs_kube::previous(
        kubernetes.clone(),
        ns.into(),
        pod.clone(),
        None,
        7,
        sink,
    ));
    events
        .wait("the previous logs, read once", LONG, |e| {
            e.ended(7).is_some()
        })
        .await;
    assert_eq!(
        events.opened[&7],
        format!("{pod}/anarchy-operator (previous)")
    );
    assert_eq!(events.ended(7), Some("previous container logs"));
    assert_eq!(events.states[&7].len(), 1, "no other state");
    let seen = events.seen(7);
    assert!(
        seen.iter().any(|(_, l)| l.contains("401 Unauthorized")),
        "{seen:?}"
    );
    let history = fx.history(ns, &pod, "anarchy-operator", true, None).await;
    assert_eq!(seen, history);

    // A container that never restarted has no previous logs: the reason says so.
    let healthy = fx
        .pods_of("poolboy", "poolboy")
        .into_iter()
        .next()
        .expect("pod");
    let (sink, mut events) = new_sink();
    tokio::spawn(logs_kube::previous(
        kubernetes,
        "poolboy".into(),
        healthy.clone(),
        Some("poolboy".into()),
        3,
        sink,
    ));
    events
        .wait("the previous logs' failure", LONG, |e| e.ended(3).is_some())
        .await;
    assert_eq!(events.opened[&3], format!("{healthy}/poolboy (previous)"));
    let reason = events.ended(3).unwrap();
    assert!(reason.contains("previous terminated container"), "{reason}");
    assert_eq!(events.count(3), 0);
    fx.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caps_concurrent_streams() {
    let fx = fixture("calm", 20.0).await;
    let (kubernetes, logs) = fx.config(
        "namespace = \"platform-v2-stable\"\nworkload = \"deploy/platform-v2-api\"\ntail = 1\nmax_streams = 2",
    );
    let (sink, mut events) = new_sink();
    let task = tokio::spawn(logs_kube::run(kubernetes, logs, sink));
    events.wait("the cap", LONG, |e| !e.caps.is_empty()).await;
    assert_eq!(events.caps, vec![(2, 1)]);
    events
        .wait("lines from both followed pods", LONG, |e| {
            e.opened.len() == 2 && e.opened.keys().all(|id| e.count(*id) >= 5)
        })
        .await;
    assert_eq!(
        events.opened.len(),
        2,
        "only two streams: {:?}",
        events.opened
    );

    // One followed pod goes: the waiting one takes its place (and the replacement the
    // ReplicaSet creates waits in turn).
    let followed: BTreeSet<String> = events
        .opened
        .values()
        .map(|l| l.split('/').next().unwrap().to_string())
        .collect();
    let waiting: Vec<String> = fx.pods_of(NS, API).difference(&followed).cloned().collect();
    assert_eq!(waiting.len(), 1);
    let gone = followed.iter().next().unwrap().clone();
    let gone_id = events.id(&format!("{gone}/{API}")).unwrap();
    fx.sim.world().remove(Res::Pod, NS, &gone);
    let next = format!("{}/{API}", waiting[0]);
    events
        .wait("the waiting pod's stream", LONG, |e| {
            e.id(&next).is_some_and(|id| e.count(id) >= 1) && e.caps.last() == Some(&(2, 1))
        })
        .await;
    assert_eq!(events.ended(gone_id), Some("pod deleted"));
    assert_eq!(events.max_active, 2, "never more than the cap");
    assert_eq!(events.opened.len(), 3);
    assert!(
        events.caps.contains(&(2, 0)),
        "the cap cleared: {:?}",
        events.caps
    );
    task.abort();
    fx.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_source_problems_on_stream_zero() {
    let fx = fixture("calm", 20.0).await;

    // Forbidden twice, then fine: stream 0 says why and when it retries, then recovers.
    fx.sim.faults().fail_next(403, 2);
    let (kubernetes, logs) = fx.config(
        "namespace = \"platform-v2-stable\"\nworkload = \"deploy/platform-v2-api\"\ntail = 1",
    );
    let (sink, mut events) = new_sink();
    let task = tokio::spawn(logs_kube::run(kubernetes.clone(), logs, sink));
    events
        .wait("recovery and a stream", LONG, |e| {
            e.states
                .get(&0)
                .is_some_and(|s| s.last() == Some(&StreamState::Following))
                && e.pod_streams().iter().any(|id| e.count(*id) >= 1)
        })
        .await;
    assert_eq!(
        events.opened[&0],
        "platform-v2-stable/deploy/platform-v2-api"
    );
    let problems: Vec<&StreamState> = events.states[&0]
        .iter()
        .filter(|s| matches!(s, StreamState::Reconnecting { .. }))
        .collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    for problem in problems {
        let StreamState::Reconnecting { reason, retry_at } = problem else {
            unreachable!()
        };
        assert!(reason.contains("403"), "{reason}");
        assert!(*retry_at > SystemTime::now() - Duration::from_secs(60));
    }
    task.abort();

    // A workload that does not exist: retried, and said.
    let (_, logs) = fx.config("namespace = \"platform-v2-stable\"\nworkload = \"deploy/nope\"");
    let (sink, mut events) = new_sink();
    let task = tokio::spawn(logs_kube::run(kubernetes.clone(), logs, sink));
    events
        .wait("the missing workload", LONG, |e| e.states.contains_key(&0))
        .await;
    let StreamState::Reconnecting { reason, .. } = &events.states[&0][0] else {
        panic!("{:?}", events.states)
    };
    assert_eq!(
        reason,
        "deploy/nope not found in namespace platform-v2-stable"
    );
    task.abort();

    // A container pattern that is not a regex: the source ends, saying why.
    // (`check-config` rejects it, so the config is valid first and broken afterwards.)
    let (_, mut logs) = fx.config("namespace = \"platform-v2-stable\"\nselector = \"app=x\"");
    logs.container = Some("(".into());
    let (sink, mut events) = new_sink();
    let task = tokio::spawn(logs_kube::run(kubernetes, logs, sink));
    events
        .wait("the bad container pattern", LONG, |e| e.ended(0).is_some())
        .await;
    assert!(
        events
            .ended(0)
            .unwrap()
            .contains("not a valid name or regex")
    );
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("ends")
        .expect("no panic");
    fx.sim.shutdown().await;
}

/// Through a headless console: `l` on a deployment opens ad-hoc streams beside the configured
/// source's; `x` in the Logs pane closes them through the runtime (their task cancelled, their
/// streams ended, their lines kept) while the configured source keeps following.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn x_stops_the_ad_hoc_streams_and_keeps_the_configured_source() {
    use crate::support::headless::Headless;
    use watchfloor::app::{ADHOC_SOURCE, App, Effect};
    use watchfloor::policy::ReadOnlyInputs;

    let fx = fixture("calm", 20.0).await;
    let text = format!(
        "[[targets]]\nname = \"sim\"\n[targets.kubernetes]\nkubeconfig = {:?}\ncontext = \"sim\"\n\
         [[targets.logs]]\nsource = \"kubernetes\"\nnamespace = \"{NS}\"\nworkload = \"deploy/{API}\"\n",
        fx.kubeconfig.display().to_string()
    );
    let mut c = Headless::start(&text, ReadOnlyInputs::default());
    let lines_of = |app: &App, source: usize| -> u64 {
        app.data
            .logs
            .streams
            .values()
            .filter(|s| s.source == source)
            .map(|s| s.lines)
            .sum()
    };
    let following = |app: &App, source: usize| app.data.logs.open_streams(source);

    // The catalog's deployment, in the Deployments view: `l` follows its pods ad hoc.
    c.press_str("1v");
    let wanted = (
        "babylon-catalog".to_string(),
        "babylon-catalog-api".to_string(),
    );
    let w = wanted.clone();
    c.settle_until("the catalog deployment", LONG, move |app| {
        app.view.visible.deployments.contains(&w) && !app.view.visible.pods.is_empty()
    })
    .await;
    // Its pods too (the streams are opened for the pods the Pods pane knows).
    c.settle_until("the catalog's pods", LONG, |app| {
        app.data
            .kube
            .pods
            .values()
            .any(|p| p.namespace == "babylon-catalog")
    })
    .await;
    let at = c
        .app
        .view
        .visible
        .deployments
        .iter()
        .position(|k| *k == wanted)
        .expect("row");
    c.press_str("g");
    for _ in 0..at {
        c.press_str("j");
    }
    let mark = c.effects_seen().len();
    c.press_str("l");
    let adhoc = match &c.effects_seen()[mark..] {
        [Effect::OpenLogs { source, .. }, ..] => *source,
        other => panic!("no stream opened: {other:?}"),
    };
    assert!(adhoc > ADHOC_SOURCE);
    c.settle_until("ad-hoc and configured lines", LONG, move |app| {
        following(app, adhoc) > 0
            && lines_of(app, adhoc) >= 3
            && following(app, 0) > 0
            && lines_of(app, 0) >= 3
    })
    .await;
    assert_eq!(c.app.view.adhoc_sources(&c.app.data), [adhoc]);

    // x: one effect, for the ad-hoc source alone.
    let mark = c.effects_seen().len();
    c.press_str("x");
    assert_eq!(
        &c.effects_seen()[mark..],
        [Effect::CloseLogs {
            generation: c.app.data.generation,
            sources: vec![adhoc],
        }]
    );
    c.settle_until("the ad-hoc streams ended", LONG, move |app| {
        app.data.logs.closed.contains(&adhoc) && following(app, adhoc) == 0
    })
    .await;
    for stream in c
        .app
        .data
        .logs
        .streams
        .values()
        .filter(|s| s.source == adhoc)
    {
        assert!(
            matches!(&stream.state, StreamState::Ended { reason } if reason == "stopped by the operator"),
            "{stream:?}"
        );
    }
    // The configured source goes on; the stopped one adds nothing more.
    let stopped_at = lines_of(&c.app, adhoc);
    let configured_at = lines_of(&c.app, 0);
    c.settle_until("more lines of the configured source", LONG, move |app| {
        lines_of(app, 0) >= configured_at + 6
    })
    .await;
    assert!(
        following(&c.app, 0) > 0,
        "the configured streams still follow"
    );
    assert_eq!(lines_of(&c.app, adhoc), stopped_at, "no line after x");
    assert!(c.app.view.adhoc_sources(&c.app.data).is_empty());
    fx.sim.shutdown().await;
}
