//! `pods/{name}/log`: container output derived from the pod's status timestamps and profile,
//! so ten thousand pods cost nothing until someone reads their logs.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::response::Response;
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::sync::mpsc;

use super::Shared;
use super::behavior::{LogStyle, Profile};
use super::pods;
use super::resources::Res;
use super::respond;
use super::status::ApiError;
use super::util::{fnv, parse_time, rfc3339_nano};

/// Lines kept per running container instance.
const HISTORY: u64 = 2000;

#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    pub container: Option<String>,
    pub follow: bool,
    pub previous: bool,
    pub tail: Option<usize>,
    pub since_seconds: Option<i64>,
    pub since_time: Option<OffsetDateTime>,
    pub timestamps: bool,
    pub limit_bytes: Option<usize>,
}

/// One run of a container.
#[derive(Debug, Clone, PartialEq)]
struct Instance {
    start: OffsetDateTime,
    end: Option<OffsetDateTime>,
    crashes: bool,
}

struct Source {
    seed: String,
    profile: Profile,
    speed: f64,
}

const STARTUP: [&str; 6] = [
    "starting service version={image}",
    "loading configuration from /etc/app/config.yaml",
    "connecting to database host=postgres.platform.svc port=5432",
    "running schema migrations",
    "registering HTTP routes",
    "listening on :8080",
];

const PATHS: [&str; 6] = [
    "/api/v2/catalog/items",
    "/api/v2/resourceclaims",
    "/healthz",
    "/api/v2/workshops",
    "/api/v2/users/me",
    "/metrics",
];

fn healthy_line(src: &Source, idx: u64, ts: OffsetDateTime) -> String {
    let h = fnv(&[&src.seed, &idx.to_string()]);
    let path = PATHS[(h % PATHS.len() as u64) as usize];
    let (level, status) = match h % 100 {
        0 => ("error", 500),
        1..=4 => ("warn", 429),
        _ => ("info", 200),
    };
    let ms = (h >> 8) % 240 + 1;
    let rid = format!(
        "req-{:08x}",
        fnv(&[&src.seed, &idx.to_string(), "rid"]) as u32
    );
    match src.profile.style {
        LogStyle::Json => json!({
            "ts": rfc3339_nano(ts), "level": level, "logger": "http", "msg": "request completed",
            "method": "GET", "path": path, "status": status, "duration_ms": ms, "request_id": rid
        })
        .to_string(),
        LogStyle::Plain => format!(
            "{:<5} [http] GET {path} status={status} duration={ms}ms request_id={rid}",
            level.to_uppercase()
        ),
    }
}

fn script_line(src: &Source, text: &str, level: &str, image: &str, ts: OffsetDateTime) -> String {
    let text = text.replace("{image}", image);
    match src.profile.style {
        LogStyle::Json => {
            json!({"ts": rfc3339_nano(ts), "level": level, "logger": "main", "msg": text})
                .to_string()
        }
        LogStyle::Plain => format!("{:<5} [main] {text}", level.to_uppercase()),
    }
}

fn crash_lines(src: &Source, image: &str, ts: OffsetDateTime) -> Vec<(OffsetDateTime, String)> {
    let rid = format!("req-{:08x}", fnv(&[&src.seed, "crash"]) as u32);
    let mut out = vec![(
        ts,
        match src.profile.style {
            LogStyle::Json => json!({"ts": rfc3339_nano(ts), "level": "error", "logger": "main", "msg": src.profile.crash_message, "request_id": rid}).to_string(),
            LogStyle::Plain => format!("ERROR [main] {} request_id={rid}", src.profile.crash_message),
        },
    )];
    let _ = image;
    for l in [
        "goroutine 1 [running]:",
        "main.mustConnect(0xc000124000)",
        "\t/src/cmd/server/main.go:88 +0x1a5",
        "main.main()",
        "\t/src/cmd/server/main.go:41 +0x2f",
        "exit status 1",
    ] {
        out.push((ts, l.to_string()));
    }
    out
}

/// Lines of `inst` with timestamps in `(from, to]`.
fn lines_between(
    src: &Source,
    image: &str,
    inst: &Instance,
    from: Option<OffsetDateTime>,
    to: OffsetDateTime,
) -> Vec<(OffsetDateTime, String)> {
    let mut out = Vec::new();
    let after = |t: OffsetDateTime| from.is_none_or(|f| t > f) && t <= to;
    let speed = if src.speed > 0.0 { src.speed } else { 1.0 };
    if inst.crashes {
        let step = Duration::from_secs_f64(0.4 / speed);
        for (i, text) in STARTUP.iter().enumerate().take(4) {
            let t = inst.start + step * i as u32;
            if inst.end.is_some_and(|e| t > e) {
                break;
            }
            if after(t) {
                out.push((t, script_line(src, text, "info", image, t)));
            }
        }
        if let Some(end) = inst.end {
            out.extend(
                crash_lines(src, image, end)
                    .into_iter()
                    .filter(|(t, _)| after(*t)),
            );
        }
        return out;
    }
    for (i, text) in STARTUP.iter().enumerate() {
        let t = inst.start + Duration::from_millis(50 * i as u64);
        if after(t) {
            out.push((t, script_line(src, text, "info", image, t)));
        }
    }
    let rate = src.profile.rate.max(0.0) * speed;
    if rate <= 0.0 {
        return out;
    }
    let base = inst.start + Duration::from_millis(300);
    let to = inst.end.map_or(to, |e| e.min(to));
    let idx_at = |t: OffsetDateTime| -> i64 { ((t - base).as_seconds_f64() * rate).floor() as i64 };
    let hi = idx_at(to);
    if hi < 0 {
        return out;
    }
    let lo = from
        .map_or(0, |f| idx_at(f) + 1)
        .max(0)
        .max(hi - HISTORY as i64 + 1);
    for i in lo..=hi {
        let t = base + Duration::from_secs_f64(i as f64 / rate);
        if after(t) {
            out.push((t, healthy_line(src, i as u64, t)));
        }
    }
    out
}

struct Target {
    inst: Instance,
    image: String,
    running: bool,
}

/// Resolve which container run a request reads, with the apiserver's error messages.
fn resolve(
    pod: &Value,
    container: &str,
    previous: bool,
    crashes: bool,
) -> Result<Target, ApiError> {
    let name = pod["metadata"]["name"].as_str().unwrap_or("");
    let statuses = pod["status"]["containerStatuses"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let cs = statuses.iter().find(|c| c["name"] == container);
    let image = pods::containers(pod)
        .into_iter()
        .find(|(c, _)| c == container)
        .map(|(_, i)| i)
        .unwrap_or_default();
    let waiting_err = |reason: &str| {
        ApiError::bad_request(format!(
            "container \"{container}\" in pod \"{name}\" is waiting to start: {reason}"
        ))
    };
    let Some(cs) = cs else {
        return Err(waiting_err("ContainerCreating"));
    };
    let term = &cs["lastState"]["terminated"];
    let term_inst = || -> Option<Instance> {
        Some(Instance {
            start: parse_time(term["startedAt"].as_str()?)?,
            end: Some(parse_time(term["finishedAt"].as_str()?)?),
            crashes,
        })
    };
    if previous {
        let inst = term_inst().ok_or_else(|| {
            ApiError::bad_request(format!(
                "previous terminated container \"{container}\" in pod \"{name}\" not found"
            ))
        })?;
        return Ok(Target {
            inst,
            image,
            running: false,
        });
    }
    if let Some(started) = cs["state"]["running"]["startedAt"]
        .as_str()
        .and_then(parse_time)
    {
        return Ok(Target {
            inst: Instance {
                start: started,
                end: None,
                crashes,
            },
            image,
            running: true,
        });
    }
    if let Some(inst) = term_inst() {
        return Ok(Target {
            inst,
            image,
            running: false,
        });
    }
    let reason = cs["state"]["waiting"]["reason"]
        .as_str()
        .unwrap_or("ContainerCreating");
    Err(waiting_err(
        if reason == "ImagePullBackOff" || reason == "ErrImagePull" {
            "trying and failing to pull image"
        } else {
            reason
        },
    ))
}

fn render(lines: &[(OffsetDateTime, String)], timestamps: bool) -> String {
    let mut s = String::new();
    for (t, l) in lines {
        if timestamps {
            s.push_str(&rfc3339_nano(*t));
            s.push(' ');
        }
        s.push_str(l);
        s.push('\n');
    }
    s
}

/// Serve a log request.
pub fn serve(sh: Arc<Shared>, ns: &str, name: &str, q: LogQuery) -> Result<Response, ApiError> {
    let (pod, profiles, speed) = sh.with(|w| {
        let pod = w.store.get(Res::Pod, ns, name);
        let prof = pod.as_ref().map(|p| w.profiles_for(p)).unwrap_or_default();
        (pod, prof, w.speed)
    });
    let pod = pod.ok_or_else(|| ApiError::not_found(Res::Pod, name))?;
    let names: Vec<String> = pods::containers(&pod).into_iter().map(|(c, _)| c).collect();
    let container = match &q.container {
        Some(c) if !c.is_empty() => {
            if !names.contains(c) {
                return Err(ApiError::bad_request(format!(
                    "container {c} is not valid for pod {name}"
                )));
            }
            c.clone()
        }
        _ if names.len() == 1 => names[0].clone(),
        _ => {
            return Err(ApiError::bad_request(format!(
                "a container name must be specified for pod {name}, choose one of: [{}]",
                names.join(" ")
            )));
        }
    };
    let idx = names.iter().position(|c| *c == container).unwrap_or(0);
    let profile = profiles
        .get(idx)
        .cloned()
        .unwrap_or_else(|| sh.with(|w| w.rules.profile("", None)));
    let target = resolve(&pod, &container, q.previous, profile.behavior.crashes())?;
    let src = Source {
        seed: format!("{ns}/{name}/{container}"),
        profile,
        speed,
    };
    let now = sh.with(|w| w.store.clock.wall());
    let since = match (q.since_seconds, q.since_time) {
        (Some(s), _) => Some(now - Duration::from_secs(s.max(0) as u64)),
        (None, t) => t,
    };
    // `since` is inclusive: step back one nanosecond for the exclusive lower bound.
    let from = since.map(|t| t - Duration::from_nanos(1));
    let mut lines = lines_between(&src, &target.image, &target.inst, from, now);
    if let Some(n) = q.tail {
        let skip = lines.len().saturating_sub(n);
        lines.drain(..skip);
    }
    let mut first = render(&lines, q.timestamps);
    let mut budget = q.limit_bytes;
    if let Some(b) = budget {
        if first.len() >= b {
            let mut cut = b;
            while !first.is_char_boundary(cut) {
                cut -= 1;
            }
            first.truncate(cut);
            return Ok(respond::raw(200, "text/plain", first));
        }
        budget = Some(b - first.len());
    }
    if !q.follow || !target.running {
        return Ok(respond::raw(200, "text/plain", first));
    }
    let (tx, rx) = mpsc::channel::<Bytes>(16);
    let last = lines.last().map(|(t, _)| *t).unwrap_or(now).max(now);
    let (ns, name) = (ns.to_string(), name.to_string());
    let signals = (sh.faults.log_gen.subscribe(), sh.stop.subscribe());
    tokio::spawn(follow(
        sh,
        signals,
        ns,
        name,
        container,
        src,
        target,
        first,
        last,
        budget,
        q.timestamps,
        tx,
    ));
    Ok(respond::stream("text/plain", rx))
}

#[allow(clippy::too_many_arguments)]
async fn follow(
    sh: Arc<Shared>,
    signals: (
        tokio::sync::watch::Receiver<u64>,
        tokio::sync::watch::Receiver<bool>,
    ),
    ns: String,
    name: String,
    container: String,
    src: Source,
    target: Target,
    first: String,
    mut last: OffsetDateTime,
    mut budget: Option<usize>,
    timestamps: bool,
    tx: mpsc::Sender<Bytes>,
) {
    let (mut gen_rx, mut stop_rx) = signals;
    if !first.is_empty() && tx.send(Bytes::from(first)).await.is_err() {
        return;
    }
    let mut inst = target.inst.clone();
    loop {
        let pause = Duration::from_millis(200);
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = gen_rx.changed() => return,
            _ = stop_rx.changed() => return,
            _ = tx.closed() => return,
        }
        // Has this run ended (crashed, pod gone)?
        let pod = sh.with(|w| w.store.get(Res::Pod, &ns, &name));
        let mut ended = pod.is_none() || pod.as_deref().is_some_and(pods::is_terminating);
        if let Some(p) = &pod
            && let Ok(t) = resolve(p, &container, false, inst.crashes)
            && (!t.running || t.inst.start != inst.start)
        {
            ended = true;
            if t.inst.start == inst.start {
                inst = t.inst;
            }
        }
        let now = sh.with(|w| w.store.clock.wall());
        let lines = lines_between(&src, &target.image, &inst, Some(last), now);
        if let Some((t, _)) = lines.last() {
            last = *t;
        }
        let mut chunk = render(&lines, timestamps);
        if let Some(b) = budget.as_mut() {
            if chunk.len() >= *b {
                let mut cut = *b;
                while !chunk.is_char_boundary(cut) {
                    cut -= 1;
                }
                chunk.truncate(cut);
                let _ = tx.send(Bytes::from(chunk)).await;
                return;
            }
            *b -= chunk.len();
        }
        if !chunk.is_empty() && tx.send(Bytes::from(chunk)).await.is_err() {
            return;
        }
        if ended {
            return;
        }
    }
}
