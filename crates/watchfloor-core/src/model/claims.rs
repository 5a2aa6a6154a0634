//! Stuck-claim classification: Poolboy `ResourceClaim` heuristics and a generic path-based rule
//! for any other CRD. SQL-backed work items use the same row.

use std::cmp::Ordering;
use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::{Health, elapsed, parse_time};
use crate::text::format_age;
use crate::text::sanitize_truncated;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ClaimRow {
    /// The `[[targets.claims]]` entry it came from.
    pub source: String,
    pub namespace: Option<String>,
    pub name: String,
    /// Display state, e.g. `provisioning`, `Pending`, `approval pending`.
    pub state: String,
    /// Since when the claim has been in this state (or exists, when unknown).
    #[serde(skip)]
    pub since: Option<SystemTime>,
    pub stuck: bool,
    /// The human reason the classifier found, e.g. `provisioning for 3h05m (> 1h)`.
    pub why: String,
    pub health: Health,
    /// The claim's status and related object references, pretty-printed for the detail view.
    #[serde(skip)]
    pub detail: Option<String>,
}

/// How long deletion or end-of-lifespan cleanup may take before it counts as held.
const CLEANUP_GRACE: Duration = Duration::from_secs(5 * 60);
/// Kopf retries of one handler from which the operator counts as failing, not retrying.
const KOPF_RETRIES_STUCK: u64 = 5;
/// AnarchySubject states that should pass, with the Anarchy action that drives each.
const TRANSITIONS: [(&str, &str); 4] = [
    ("provisioning", "provision"),
    ("starting", "start"),
    ("stopping", "stop"),
    ("destroying", "destroy"),
];

/// Classifies a Poolboy `ResourceClaim` with the heuristics of `kubernetes.md` §4.
pub fn classify_resource_claim(
    source: &str,
    obj: &Value,
    stuck_after: Duration,
    now: SystemTime,
) -> ClaimRow {
    let claim = PoolboyClaim::new(obj);
    let finding = Finding::pick(claim.findings(stuck_after, now));
    build_row(
        source,
        obj,
        claim.state(),
        claim.since(),
        finding,
        claim.settled(),
    )
}

/// Classifies any object by a state path (e.g. `status.phase`) and an optional boolean ready
/// path. Paths are dotted; numeric segments index arrays (`status.conditions.0.status`).
pub fn classify_generic(
    source: &str,
    obj: &Value,
    state_path: &str,
    ready_path: Option<&str>,
    stuck_states: &[String],
    stuck_after: Duration,
    now: SystemTime,
) -> ClaimRow {
    let state = value_at(obj, state_path).and_then(scalar_text);
    let ready = ready_path.map(|path| value_at(obj, path).and_then(truthy));
    let since = newest_transition(obj).or_else(|| created(obj));
    let age = since.map_or(Duration::ZERO, |t| elapsed(now, t));
    let stuck_state = state.as_deref().filter(|s| {
        stuck_states
            .iter()
            .any(|stuck| stuck.eq_ignore_ascii_case(s))
    });

    let mut findings: Vec<Finding> = deletion_held(obj, now).into_iter().collect();
    if let Some(state) = stuck_state {
        let what = format!("{state} for {}", format_age(age));
        findings.push(Finding::timed(what, age, stuck_after));
    }
    if ready == Some(Some(false)) {
        let what = format!("not ready for {}", format_age(age));
        findings.push(Finding::timed(what, age, stuck_after));
    }
    let settled = stuck_state.is_none() && ready.is_none_or(|r| r == Some(true));
    let state = state.unwrap_or_else(|| "-".into());
    build_row(source, obj, state, since, Finding::pick(findings), settled)
}

/// Classifies a row from a SQL work queue: stuck once it has been in `state` too long.
pub fn classify_work_item(
    source: &str,
    id: &str,
    state: &str,
    since: SystemTime,
    detail: Option<&str>,
    stuck_after: Duration,
    now: SystemTime,
) -> ClaimRow {
    let age = elapsed(now, since);
    let mut finding = Finding::timed(format!("{state} for {}", format_age(age)), age, stuck_after);
    if let Some(detail) = detail.map(str::trim).filter(|d| !d.is_empty()) {
        finding.why = format!("{} — {detail}", finding.why);
    }
    ClaimRow {
        source: source.into(),
        namespace: None,
        name: id.into(),
        state: state.into(),
        since: Some(since),
        stuck: finding.stuck,
        why: finding.why,
        health: if finding.stuck {
            Health::Crit
        } else {
            Health::Warn
        },
        detail: None,
    }
}

/// The name and state of the synthetic row a queue backlog shows as.
pub const BACKLOG: &str = "backlog";
/// The name of the row that counts work items past the read cap.
pub const NOT_READ: &str = "(more)";
/// Longest id, state and WHY detail kept for the table; the detail view keeps more.
const ID_CHARS: usize = 200;
const STATE_CHARS: usize = 64;
const WHY_DETAIL_CHARS: usize = 160;
const DETAIL_LINE_CHARS: usize = 300;
const DETAIL_LINES: usize = 40;

/// One row of a SQL work-queue query as read from the server: untrusted text, sanitised by
/// [`work_item_rows`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkItem {
    pub id: String,
    pub state: String,
    /// `None` when the query returned NULL (or an infinite timestamp): the age is unknown.
    pub since: Option<SystemTime>,
    pub detail: Option<String>,
}

/// The rows of one SQL claims source: every item the query returned (stuck past
/// `stuck_after`, else in progress), then a [`backlog_row`] when `total` passes
/// `backlog_over`, then a row counting the items past the read cap when `total` exceeds what
/// was read. `total` is how many items the query returned in all.
pub fn work_item_rows(
    source: &str,
    items: &[WorkItem],
    total: u64,
    stuck_after: Duration,
    backlog_over: Option<u64>,
    now: SystemTime,
) -> Vec<ClaimRow> {
    let mut rows: Vec<ClaimRow> = items
        .iter()
        .map(|item| work_item_row(source, item, stuck_after, now))
        .collect();
    let oldest = items.iter().filter_map(|item| item.since).min();
    if let Some(over) = backlog_over {
        rows.extend(backlog_row(source, total, over, oldest, now));
    }
    let read = items.len() as u64;
    if total > read {
        let more = total - read;
        rows.push(ClaimRow {
            source: source.into(),
            namespace: None,
            name: NOT_READ.into(),
            state: "not read".into(),
            since: None,
            stuck: false,
            why: format!(
                "{more} more {} not read (the oldest {read} are shown)",
                items_word(more)
            ),
            health: Health::Warn,
            detail: None,
        });
    }
    rows
}

/// One work item: [`classify_work_item`] with sanitised text, or a Warn row when the query
/// gave no `since` (its age cannot be judged). The detail view gets the whole row.
pub fn work_item_row(
    source: &str,
    item: &WorkItem,
    stuck_after: Duration,
    now: SystemTime,
) -> ClaimRow {
    let id = sanitize_truncated(&item.id, ID_CHARS);
    let state = sanitize_truncated(&item.state, STATE_CHARS);
    let detail = item
        .detail
        .as_deref()
        .map(|d| sanitize_truncated(d.trim(), WHY_DETAIL_CHARS));
    let row = match item.since {
        Some(since) => classify_work_item(
            source,
            &id,
            &state,
            since,
            detail.as_deref(),
            stuck_after,
            now,
        ),
        None => {
            let mut why = format!("{state} since an unknown time (since is NULL)");
            if let Some(detail) = detail.as_deref().filter(|d| !d.is_empty()) {
                why = format!("{why} — {detail}");
            }
            ClaimRow {
                source: source.into(),
                namespace: None,
                name: id.clone(),
                state: state.clone(),
                since: None,
                stuck: false,
                why,
                health: Health::Warn,
                detail: None,
            }
        }
    };
    ClaimRow {
        detail: Some(work_item_detail(&id, &state, item)),
        ..row
    }
}

/// A queue backlog as a stuck condition: one Crit row when more than `over` items are pending.
/// Its `since` is the oldest item's, so it sorts with the oldest stuck work and its age is how
/// long the oldest pending item has waited.
pub fn backlog_row(
    source: &str,
    pending: u64,
    over: u64,
    oldest: Option<SystemTime>,
    now: SystemTime,
) -> Option<ClaimRow> {
    if pending <= over {
        return None;
    }
    let mut why = format!("{pending} {} pending (> {over})", items_word(pending));
    let mut detail = format!("pending    {pending}\nthreshold  {over} (backlog_over)");
    if let Some(oldest) = oldest {
        let age = format_age(elapsed(now, oldest));
        why.push_str(&format!(", oldest for {age}"));
        detail.push_str(&format!(
            "\noldest     {} ({age} ago)",
            crate::timestamp::rfc3339_system(oldest)
        ));
    }
    Some(ClaimRow {
        source: source.into(),
        namespace: None,
        name: BACKLOG.into(),
        state: BACKLOG.into(),
        since: oldest,
        stuck: true,
        why,
        health: Health::Crit,
        detail: Some(detail),
    })
}

fn items_word(n: u64) -> &'static str {
    if n == 1 { "item" } else { "items" }
}

/// The detail view of a work item: its columns, the detail text line by line.
fn work_item_detail(id: &str, state: &str, item: &WorkItem) -> String {
    let since = item
        .since
        .map_or_else(|| "NULL".into(), crate::timestamp::rfc3339_system);
    let mut text = format!("id         {id}\nstate      {state}\nsince      {since}");
    if let Some(detail) = item.detail.as_deref().filter(|d| !d.trim().is_empty()) {
        text.push_str("\ndetail");
        for line in detail.lines().take(DETAIL_LINES) {
            text.push_str("\n  ");
            text.push_str(&sanitize_truncated(line, DETAIL_LINE_CHARS));
        }
        if detail.lines().nth(DETAIL_LINES).is_some() {
            text.push_str("\n  …");
        }
    }
    text
}

/// Worst health (stuck) first, then the oldest `since`, then by source, namespace and name.
pub fn sort_worst_first(rows: &mut [ClaimRow]) {
    rows.sort_by(|a, b| {
        a.health
            .cmp(&b.health)
            .then_with(|| oldest_first(a.since, b.since))
            .then_with(|| a.source.cmp(&b.source))
            .then_with(|| a.namespace.cmp(&b.namespace))
            .then_with(|| a.name.cmp(&b.name))
    });
}

fn oldest_first(a: Option<SystemTime>, b: Option<SystemTime>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.cmp(&b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}

/// What one heuristic found: a reason the claim is stuck, or a note while it is not (yet).
#[derive(Debug, Default)]
struct Finding {
    stuck: bool,
    why: String,
}

impl Finding {
    fn stuck(why: impl Into<String>) -> Self {
        Self {
            stuck: true,
            why: why.into(),
        }
    }

    fn note(why: impl Into<String>) -> Self {
        Self {
            stuck: false,
            why: why.into(),
        }
    }

    /// Stuck once `age` passes `limit`, naming the limit: `provisioning for 3h05m (> 1h00m)`.
    fn timed(what: String, age: Duration, limit: Duration) -> Self {
        if age > limit {
            Self::stuck(format!("{what} (> {})", format_age(limit)))
        } else {
            Self::note(what)
        }
    }

    /// The first stuck finding, else the first note; findings come in priority order.
    fn pick(findings: Vec<Self>) -> Self {
        let (stuck, notes): (Vec<_>, Vec<_>) = findings.into_iter().partition(|f| f.stuck);
        stuck.into_iter().chain(notes).next().unwrap_or_default()
    }
}

fn build_row(
    source: &str,
    obj: &Value,
    state: String,
    since: Option<SystemTime>,
    finding: Finding,
    settled: bool,
) -> ClaimRow {
    let health = match (finding.stuck, settled) {
        (true, _) => Health::Crit,
        (false, false) => Health::Warn,
        (false, true) => Health::Ok,
    };
    ClaimRow {
        source: source.into(),
        namespace: str_at(obj, "/metadata/namespace").map(Into::into),
        name: str_at(obj, "/metadata/name").unwrap_or_default().into(),
        state,
        since,
        stuck: finding.stuck,
        why: finding.why,
        health,
        detail: None,
    }
}

/// Heuristic 7a, for any object: a deletion that finalizers have held for a while.
fn deletion_held(obj: &Value, now: SystemTime) -> Option<Finding> {
    let deleted = time_at(obj, "/metadata/deletionTimestamp")?;
    let finalizers: Vec<&str> = obj
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if finalizers.is_empty() {
        return None;
    }
    let age = elapsed(now, deleted);
    Some(if age > CLEANUP_GRACE {
        Finding::stuck(format!(
            "deletion held by finalizers: {} (for {})",
            finalizers.join(", "),
            format_age(age)
        ))
    } else {
        Finding::note(format!("deleting for {}", format_age(age)))
    })
}

/// A Poolboy `ResourceClaim` as untyped JSON; `status` is `Null` when absent.
struct PoolboyClaim<'a> {
    obj: &'a Value,
    status: &'a Value,
}

/// The Babylon AnarchySubject behind one `status.resources[]` entry.
struct Subject<'a> {
    current: &'a str,
    desired: Option<&'a str>,
    state: &'a Value,
}

impl Subject<'_> {
    fn failed(&self) -> bool {
        self.current.ends_with("-failed")
    }

    fn transition_action(&self) -> Option<&'static str> {
        TRANSITIONS
            .iter()
            .find(|(state, _)| *state == self.current)
            .map(|(_, action)| *action)
    }

    /// When Anarchy started the action behind the current transition (its tower job).
    fn transition_started(&self) -> Option<SystemTime> {
        let action = self.transition_action()?;
        time_at(
            self.state,
            &format!("/status/towerJobs/{action}/startTimestamp"),
        )
    }
}

impl<'a> PoolboyClaim<'a> {
    fn new(obj: &'a Value) -> Self {
        Self {
            obj,
            status: &obj["status"],
        }
    }

    fn resources(&self) -> &'a [Value] {
        self.status["resources"]
            .as_array()
            .map_or(&[], Vec::as_slice)
    }

    fn subjects(&self) -> impl Iterator<Item = Subject<'a>> {
        self.resources().iter().filter_map(|resource| {
            let state = &resource["state"];
            let vars = state.pointer("/spec/vars")?;
            Some(Subject {
                current: vars["current_state"].as_str()?,
                desired: vars["desired_state"].as_str(),
                state,
            })
        })
    }

    /// The subject that matters most: a failed one, else a transitioning one, else the first.
    fn main_subject(&self) -> Option<Subject<'a>> {
        self.subjects()
            .find(Subject::failed)
            .or_else(|| self.subjects().find(|s| s.transition_action().is_some()))
            .or_else(|| self.subjects().next())
    }

    fn approval(&self) -> Option<&'a str> {
        str_at(self.status, "/approval/state")
    }

    fn ready(&self) -> bool {
        match self.status["ready"].as_bool() {
            Some(ready) => ready,
            // Poolboy before `status.ready`: a started subject is the best readiness signal.
            None => self.main_subject().is_some_and(|s| s.current == "started"),
        }
    }

    /// Ready, or deliberately stopped: nothing for on-call to look at.
    fn settled(&self) -> bool {
        self.ready()
            || self
                .main_subject()
                .is_some_and(|s| s.current == "stopped" && s.desired.is_none_or(|d| d == "stopped"))
    }

    /// The requested lifespan start, when it is still ahead (creation waits for it).
    fn starts_in(&self, now: SystemTime) -> Option<Duration> {
        let start = time_at(self.obj, "/spec/lifespan/start")?;
        start.duration_since(now).ok().filter(|d| !d.is_zero())
    }

    fn state(&self) -> String {
        if let Some(subject) = self.main_subject() {
            return subject.current.into();
        }
        if self.obj.pointer("/metadata/deletionTimestamp").is_some() {
            return "deleting".into();
        }
        if let Some(summary) = str_at(self.status, "/summary/state") {
            return summary.into();
        }
        match self.approval() {
            Some(approval @ ("pending" | "rejected")) => format!("approval {approval}"),
            _ if self.status.get("resourceHandle").is_none() => "unbound".into(),
            _ if self.ready() => "ready".into(),
            _ => "not ready".into(),
        }
    }

    /// The state change time is rarely recorded; a subject's running tower job is the one
    /// exception, else the lifespan start or the creation time stand in.
    fn since(&self) -> Option<SystemTime> {
        self.main_subject()
            .and_then(|s| s.transition_started())
            .or_else(|| self.start())
    }

    /// When the claim's lifespan started, else when it was created.
    fn start(&self) -> Option<SystemTime> {
        time_at(self.status, "/lifespan/start").or_else(|| created(self.obj))
    }

    fn age(&self, now: SystemTime) -> Duration {
        self.since().map_or(Duration::ZERO, |t| elapsed(now, t))
    }

    /// Every heuristic that applies, most specific first.
    fn findings(&self, stuck_after: Duration, now: SystemTime) -> Vec<Finding> {
        let mut found: Vec<Finding> = deletion_held(self.obj, now).into_iter().collect();
        found.extend(self.approval_finding(stuck_after, now));
        found.extend(self.validation_error().map(Finding::stuck));
        found.extend(
            self.subjects()
                .find(Subject::failed)
                .map(|s| Finding::stuck(format!("AnarchySubject {}", s.current))),
        );
        if self.status["healthy"].as_bool() == Some(false) {
            found.push(Finding::stuck("unhealthy"));
        }
        found.extend(self.lifespan_ended(now));
        found.extend(self.kopf_failures());
        found.extend(self.waiting(stuck_after, now));
        found.extend(self.unbound(stuck_after, now));
        found.extend(self.subject_lag(stuck_after, now));
        found.extend(self.never_ready(stuck_after, now));
        found
    }

    /// Heuristic 2: rejected is final; pending is stuck once nobody approved it in time.
    fn approval_finding(&self, stuck_after: Duration, now: SystemTime) -> Option<Finding> {
        let message = str_at(self.status, "/approval/message").filter(|m| !m.trim().is_empty());
        match self.approval()? {
            "rejected" => Some(Finding::stuck(match message {
                Some(message) => format!("approval rejected: {}", first_line(message)),
                None => "approval rejected".into(),
            })),
            "pending" => {
                let age = self.age(now);
                let what = format!("approval pending for {}", format_age(age));
                Some(Finding::timed(what, age, stuck_after))
            }
            _ => None,
        }
    }

    /// Heuristic 3: the first provider or resource validation error.
    fn validation_error(&self) -> Option<String> {
        let provider_errors = self.status.pointer("/provider/validationErrors");
        let provider = provider_errors
            .and_then(Value::as_array)
            .and_then(|errors| errors.first())
            .map(error_text);
        let resource = || {
            self.resources()
                .iter()
                .filter_map(|r| r.get("validationError").filter(|e| !e.is_null()))
                .map(error_text)
                .next()
        };
        provider
            .or_else(resource)
            .map(|error| format!("validation error: {error}"))
    }

    /// Heuristic 7b: the claim outlived its lifespan by more than cleanup takes.
    fn lifespan_ended(&self, now: SystemTime) -> Option<Finding> {
        let end = time_at(self.status, "/lifespan/end")
            .or_else(|| time_at(self.obj, "/spec/lifespan/end"))?;
        let ago = now.duration_since(end).ok()?;
        let why = format!("lifespan ended {} ago", format_age(ago));
        Some(if ago > CLEANUP_GRACE {
            Finding::stuck(why)
        } else {
            Finding::note(why)
        })
    }

    /// Heuristic 8: kopf handlers that failed for good, keep retrying, or report an error.
    fn kopf_failures(&self) -> Vec<Finding> {
        let Some(progress) = self
            .status
            .pointer("/kopf/progress")
            .and_then(Value::as_object)
        else {
            return Vec::new();
        };
        progress
            .iter()
            .filter_map(|(handler, p)| {
                let retries = p["retries"].as_u64().unwrap_or(0);
                let message = p["message"].as_str().map(first_line).unwrap_or_default();
                let suffix = if message.is_empty() {
                    String::new()
                } else {
                    format!(": {message}")
                };
                if p["failure"].as_bool() == Some(true) {
                    Some(Finding::stuck(format!("handler {handler} failed{suffix}")))
                } else if retries >= KOPF_RETRIES_STUCK {
                    let why = format!("handler {handler} retried {retries} times{suffix}");
                    Some(Finding::stuck(why))
                } else if !message.is_empty() {
                    Some(Finding::note(format!("handler {handler} retrying{suffix}")))
                } else {
                    None
                }
            })
            .collect()
    }

    /// Heuristic 4: a resource waiting on something, or never created, for too long.
    fn waiting(&self, stuck_after: Duration, now: SystemTime) -> Vec<Finding> {
        let age = self.age(now);
        let bound = self.status.get("resourceHandle").is_some();
        self.resources()
            .iter()
            .enumerate()
            .filter_map(|(i, resource)| {
                let what = match resource["waitingFor"].as_str() {
                    Some(waiting_for) => format!("waiting for {waiting_for}"),
                    None if bound && resource.get("reference").is_none() => {
                        let name = resource["name"]
                            .as_str()
                            .map_or_else(|| i.to_string(), Into::into);
                        format!("resource {name} not created")
                    }
                    None => return None,
                };
                let what = format!("{what} for {}", format_age(age));
                Some(Finding::timed(what, age, stuck_after))
            })
            .collect()
    }

    /// Heuristic 1: no ResourceHandle long after creation (unless the lifespan starts later).
    fn unbound(&self, stuck_after: Duration, now: SystemTime) -> Option<Finding> {
        if self.status.get("resourceHandle").is_some() {
            return None;
        }
        if let Some(wait) = self.starts_in(now) {
            return Some(Finding::note(format!("starts in {}", format_age(wait))));
        }
        let age = created(self.obj).map_or(Duration::ZERO, |t| elapsed(now, t));
        let what = format!("no ResourceHandle bound after {}", format_age(age));
        Some(Finding::timed(what, age, stuck_after))
    }

    /// Heuristic 5: an AnarchySubject that stays in a transition for too long.
    fn subject_lag(&self, stuck_after: Duration, now: SystemTime) -> Vec<Finding> {
        let claim_start = self.start();
        self.subjects()
            .filter_map(|s| {
                if s.transition_action().is_none() {
                    // Nothing records when `desired_state` changed, so a mismatch is only a note.
                    let desired = s.desired.filter(|d| *d != s.current && !s.failed())?;
                    return Some(Finding::note(format!(
                        "desired {desired}, still {}",
                        s.current
                    )));
                }
                let since = s.transition_started().or(claim_start);
                let age = since.map_or(Duration::ZERO, |t| elapsed(now, t));
                let what = format!("{} for {}", s.current, format_age(age));
                Some(Finding::timed(what, age, stuck_after))
            })
            .collect()
    }

    /// Heuristic 5: never ready (no `lifespan.firstReady`) long after it started; an unbound
    /// claim is heuristic 1's.
    fn never_ready(&self, stuck_after: Duration, now: SystemTime) -> Option<Finding> {
        if self.ready()
            || self.status.pointer("/lifespan/firstReady").is_some()
            || self.status.get("resourceHandle").is_none()
        {
            return None;
        }
        let age = self.age(now);
        let what = format!("not ready after {}", format_age(age));
        Some(Finding::timed(what, age, stuck_after))
    }
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> Option<&'a str> {
    value.pointer(pointer)?.as_str()
}

fn time_at(value: &Value, pointer: &str) -> Option<SystemTime> {
    str_at(value, pointer).and_then(parse_time)
}

fn created(obj: &Value) -> Option<SystemTime> {
    time_at(obj, "/metadata/creationTimestamp")
}

/// The latest `status.conditions[].lastTransitionTime`: when the object last changed state.
fn newest_transition(obj: &Value) -> Option<SystemTime> {
    obj.pointer("/status/conditions")?
        .as_array()?
        .iter()
        .filter_map(|c| c["lastTransitionTime"].as_str().and_then(parse_time))
        .max()
}

/// Follows a dotted path; numeric segments index arrays.
fn value_at<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    path.trim_start_matches('.')
        .split('.')
        .filter(|segment| !segment.is_empty())
        .try_fold(obj, |value, segment| match value {
            Value::Array(items) => items.get(segment.parse::<usize>().ok()?),
            _ => value.get(segment),
        })
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Bool(_) | Value::Number(_) => Some(value.to_string()),
        _ => None,
    }
}

/// A boolean, or the strings Kubernetes conditions use for one.
fn truthy(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(text) if text.eq_ignore_ascii_case("true") => Some(true),
        Value::String(text) if text.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

/// Validation errors are strings, but tolerate objects with a `message`.
fn error_text(error: &Value) -> String {
    match error {
        Value::String(text) => first_line(text).to_owned(),
        _ => error["message"]
            .as_str()
            .map_or_else(|| error.to_string(), |m| first_line(m).to_owned()),
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default().trim()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    fn now() -> SystemTime {
        at("2024-05-01T12:00:00Z")
    }

    fn at(text: &str) -> SystemTime {
        parse_time(text).expect("a valid timestamp")
    }

    /// A ResourceClaim created at `created` with the given `status` (may be `Null`).
    fn claim(created: &str, status: Value) -> Value {
        let mut obj = json!({
            "apiVersion": "poolboy.gpte.redhat.com/v1",
            "kind": "ResourceClaim",
            "metadata": {
                "name": "ocp4-cluster.prod-abc12", "namespace": "user-alice",
                "creationTimestamp": created,
                "finalizers": ["poolboy.gpte.redhat.com"],
            },
            "spec": {"resources": [{"name": "ocp4-cluster", "provider": {"name": "babylon"}}]},
        });
        if !status.is_null() {
            obj["status"] = status;
        }
        obj
    }

    /// A bound claim's status whose one resource is an AnarchySubject in `current`.
    fn babylon_status(current: &str, desired: &str, ready: bool) -> Value {
        json!({
            "resourceHandle": {"apiVersion": "poolboy.gpte.redhat.com/v1",
                               "kind": "ResourceHandle", "name": "guid-x7k2p",
                               "namespace": "poolboy"},
            "lifespan": {"start": "2024-05-01T08:00:00Z", "end": "2024-05-03T08:00:00Z"},
            "healthy": true,
            "ready": ready,
            "resources": [{
                "name": "ocp4-cluster",
                "reference": {"apiVersion": "anarchy.gpte.redhat.com/v1",
                              "kind": "AnarchySubject", "name": "ocp4-cluster.prod-x7k2p",
                              "namespace": "babylon-anarchy"},
                "state": {
                    "apiVersion": "anarchy.gpte.redhat.com/v1", "kind": "AnarchySubject",
                    "spec": {"vars": {"current_state": current, "desired_state": desired}},
                },
            }],
        })
    }

    fn classify(obj: &Value) -> ClaimRow {
        classify_resource_claim("babylon", obj, HOUR, now())
    }

    fn verdict(row: &ClaimRow) -> (&str, bool, &str, Health) {
        (row.state.as_str(), row.stuck, row.why.as_str(), row.health)
    }

    #[test]
    fn ready_claim_is_ok_with_no_reason() {
        let mut status = babylon_status("started", "started", true);
        status["lifespan"]["firstReady"] = json!("2024-05-01T08:40:00Z");
        let row = classify(&claim("2024-05-01T07:59:00Z", status));
        assert_eq!(
            row,
            ClaimRow {
                source: "babylon".into(),
                namespace: Some("user-alice".into()),
                name: "ocp4-cluster.prod-abc12".into(),
                state: "started".into(),
                since: Some(at("2024-05-01T08:00:00Z")),
                stuck: false,
                why: String::new(),
                health: Health::Ok,
                detail: None,
            }
        );
    }

    #[test]
    fn unbound_claim_is_stuck_after_the_threshold() {
        let old = classify(&claim("2024-05-01T10:00:00Z", Value::Null));
        assert_eq!(
            verdict(&old),
            (
                "unbound",
                true,
                "no ResourceHandle bound after 2h00m (> 1h00m)",
                Health::Crit
            )
        );
        assert_eq!(old.since, Some(at("2024-05-01T10:00:00Z")));
        let young = classify(&claim("2024-05-01T11:40:00Z", json!({})));
        assert_eq!(
            verdict(&young),
            (
                "unbound",
                false,
                "no ResourceHandle bound after 20m00s",
                Health::Warn
            )
        );
    }

    #[test]
    fn claim_scheduled_for_later_is_not_stuck_unbound() {
        let mut obj = claim("2024-04-30T12:00:00Z", Value::Null);
        obj["spec"]["lifespan"] = json!({"start": "2024-05-01T14:00:00Z"});
        let row = classify(&obj);
        assert_eq!(
            verdict(&row),
            ("unbound", false, "starts in 2h00m", Health::Warn)
        );
    }

    #[test]
    fn rejected_approval_is_stuck_at_once() {
        let status =
            json!({"approval": {"state": "rejected", "message": "Quota exceeded.\nAsk admin."}});
        let row = classify(&claim("2024-05-01T11:59:00Z", status));
        assert_eq!(
            verdict(&row),
            (
                "approval rejected",
                true,
                "approval rejected: Quota exceeded.",
                Health::Crit
            )
        );
    }

    #[test]
    fn pending_approval_is_stuck_after_the_threshold() {
        let status = json!({"approval": {"state": "pending"}});
        let old = classify(&claim("2024-05-01T10:00:00Z", status.clone()));
        assert_eq!(
            verdict(&old),
            (
                "approval pending",
                true,
                "approval pending for 2h00m (> 1h00m)",
                Health::Crit
            )
        );
        let young = classify(&claim("2024-05-01T11:50:00Z", status));
        assert_eq!(
            verdict(&young),
            (
                "approval pending",
                false,
                "approval pending for 10m00s",
                Health::Warn
            )
        );
    }

    #[test]
    fn validation_errors_are_stuck_at_once() {
        let status = json!({"provider": {"name": "babylon", "validationErrors": [
            "spec.parameterValues.region: 'mars' is not one of ['us-east-1', 'eu-west-1']",
        ]}});
        let row = classify(&claim("2024-05-01T11:59:00Z", status));
        assert!(row.stuck);
        assert_eq!(
            row.why,
            "validation error: spec.parameterValues.region: 'mars' is not one of ['us-east-1', 'eu-west-1']"
        );

        let mut status = babylon_status("new", "started", false);
        status["resources"][0]["validationError"] = json!("vars.guid: required");
        let row = classify(&claim("2024-05-01T11:59:00Z", status));
        assert_eq!(
            (row.stuck, row.why.as_str()),
            (true, "validation error: vars.guid: required")
        );
    }

    #[test]
    fn waiting_resources_are_stuck_after_the_threshold() {
        let mut status = babylon_status("new", "started", false);
        status["resources"][0]["waitingFor"] = json!("Linked ResourceProvider");
        let row = classify(&claim("2024-05-01T07:59:00Z", status));
        assert_eq!(
            (row.stuck, row.why.as_str()),
            (
                true,
                "waiting for Linked ResourceProvider for 4h00m (> 1h00m)"
            )
        );
    }

    #[test]
    fn bound_resource_never_created_is_stuck() {
        let mut status = babylon_status("new", "started", false);
        status["resources"][0] = json!({"name": "ocp4-cluster", "provider": {"name": "babylon"}});
        let row = classify(&claim("2024-05-01T07:59:00Z", status));
        assert_eq!(
            verdict(&row),
            (
                "not ready",
                true,
                "resource ocp4-cluster not created for 4h00m (> 1h00m)",
                Health::Crit
            )
        );
    }

    #[test]
    fn failed_anarchy_subject_is_stuck_at_once() {
        let status = babylon_status("provision-failed", "started", false);
        let row = classify(&claim("2024-05-01T11:59:00Z", status));
        assert_eq!(
            verdict(&row),
            (
                "provision-failed",
                true,
                "AnarchySubject provision-failed",
                Health::Crit
            )
        );
    }

    #[test]
    fn long_transition_is_stuck_from_the_lifespan_start() {
        let mut status = babylon_status("provisioning", "started", false);
        status["lifespan"]["start"] = json!("2024-05-01T08:55:00Z");
        let row = classify(&claim("2024-05-01T08:55:00Z", status));
        assert_eq!(
            verdict(&row),
            (
                "provisioning",
                true,
                "provisioning for 3h05m (> 1h00m)",
                Health::Crit
            )
        );
    }

    #[test]
    fn transition_is_timed_from_its_tower_job_when_known() {
        let mut status = babylon_status("stopping", "stopped", false);
        status["lifespan"]["firstReady"] = json!("2024-05-01T08:40:00Z");
        status["resources"][0]["state"]["status"] = json!({"towerJobs": {
            "provision": {"startTimestamp": "2024-05-01T08:00:00Z",
                          "completeTimestamp": "2024-05-01T08:40:00Z"},
            "stop": {"startTimestamp": "2024-05-01T11:40:00Z", "completeTimestamp": null},
        }});
        let row = classify(&claim("2024-05-01T07:59:00Z", status));
        assert_eq!(
            verdict(&row),
            ("stopping", false, "stopping for 20m00s", Health::Warn)
        );
        assert_eq!(row.since, Some(at("2024-05-01T11:40:00Z")));
    }

    #[test]
    fn desired_state_mismatch_is_only_a_note() {
        let mut status = babylon_status("stopped", "started", false);
        status["lifespan"]["firstReady"] = json!("2024-05-01T08:40:00Z");
        let row = classify(&claim("2024-05-01T07:59:00Z", status));
        assert_eq!(
            verdict(&row),
            (
                "stopped",
                false,
                "desired started, still stopped",
                Health::Warn
            )
        );
    }

    #[test]
    fn deliberately_stopped_claim_is_settled() {
        let mut status = babylon_status("stopped", "stopped", false);
        status["lifespan"]["firstReady"] = json!("2024-05-01T08:40:00Z");
        let row = classify(&claim("2024-05-01T07:59:00Z", status));
        assert_eq!(verdict(&row), ("stopped", false, "", Health::Ok));
    }

    #[test]
    fn never_ready_claim_is_stuck_after_the_threshold() {
        let mut status = babylon_status("started", "started", false);
        status["summary"] = json!({"state": "started"});
        let row = classify(&claim("2024-05-01T07:59:00Z", status));
        assert_eq!(
            verdict(&row),
            (
                "started",
                true,
                "not ready after 4h00m (> 1h00m)",
                Health::Crit
            )
        );
    }

    #[test]
    fn unhealthy_claim_is_stuck() {
        let mut status = babylon_status("started", "started", true);
        status["healthy"] = json!(false);
        let row = classify(&claim("2024-05-01T07:59:00Z", status));
        assert_eq!(verdict(&row), ("started", true, "unhealthy", Health::Crit));
    }

    #[test]
    fn deletion_held_by_finalizers_is_stuck_after_a_grace() {
        let status = babylon_status("destroying", "destroyed", false);
        let mut obj = claim("2024-05-01T07:59:00Z", status);
        obj["metadata"]["deletionTimestamp"] = json!("2024-05-01T11:48:00Z");
        let row = classify(&obj);
        assert_eq!(
            verdict(&row),
            (
                "destroying",
                true,
                "deletion held by finalizers: poolboy.gpte.redhat.com (for 12m00s)",
                Health::Crit
            )
        );

        obj["metadata"]["deletionTimestamp"] = json!("2024-05-01T11:59:00Z");
        obj["status"]["resources"][0]["state"]["status"] = json!({"towerJobs": {
            "destroy": {"startTimestamp": "2024-05-01T11:59:00Z"}}});
        let row = classify(&obj);
        assert_eq!((row.stuck, row.why.as_str()), (false, "deleting for 1m00s"));

        let mut plain = claim("2024-05-01T07:59:00Z", json!({}));
        plain["metadata"]["deletionTimestamp"] = json!("2024-05-01T11:00:00Z");
        plain["metadata"]["finalizers"] = json!([]);
        assert_eq!(classify(&plain).state, "deleting");
    }

    #[test]
    fn ended_lifespan_is_stuck() {
        let mut status = babylon_status("started", "started", true);
        status["lifespan"]["end"] = json!("2024-05-01T11:40:00Z");
        let row = classify(&claim("2024-05-01T07:59:00Z", status));
        assert_eq!(
            (row.stuck, row.why.as_str()),
            (true, "lifespan ended 20m00s ago")
        );

        let mut status = babylon_status("started", "started", true);
        status["lifespan"]["end"] = json!("2024-05-01T11:59:30Z");
        let row = classify(&claim("2024-05-01T07:59:00Z", status));
        assert_eq!(
            (row.stuck, row.why.as_str()),
            (false, "lifespan ended 30s ago")
        );
    }

    #[test]
    fn kopf_handler_failures() {
        let mut status = babylon_status("started", "started", true);
        status["kopf"] = json!({"progress": {"resourceclaim_event": {
            "started": "2024-05-01T11:00:00Z", "retries": 7,
            "message": "ResourceHandle guid-x7k2p not found\nTraceback ..."}}});
        let row = classify(&claim("2024-05-01T07:59:00Z", status.clone()));
        assert_eq!(
            (row.stuck, row.why.as_str()),
            (
                true,
                "handler resourceclaim_event retried 7 times: ResourceHandle guid-x7k2p not found"
            )
        );

        status["kopf"]["progress"]["resourceclaim_event"]["retries"] = json!(1);
        let row = classify(&claim("2024-05-01T07:59:00Z", status.clone()));
        assert_eq!(
            verdict(&row),
            (
                "started",
                false,
                "handler resourceclaim_event retrying: ResourceHandle guid-x7k2p not found",
                Health::Ok
            )
        );

        status["kopf"]["progress"]["resourceclaim_event"]["failure"] = json!(true);
        let row = classify(&claim("2024-05-01T07:59:00Z", status));
        assert_eq!(
            row.why,
            "handler resourceclaim_event failed: ResourceHandle guid-x7k2p not found"
        );
    }

    #[test]
    fn state_falls_back_to_summary_then_readiness() {
        let status = json!({"resourceHandle": {"name": "guid-1"}, "ready": true,
                            "summary": {"state": "running"}});
        assert_eq!(
            classify(&claim("2024-05-01T07:59:00Z", status)).state,
            "running"
        );
        let status = json!({"resourceHandle": {"name": "guid-1"}, "ready": true});
        let row = classify(&claim("2024-05-01T07:59:00Z", status));
        assert_eq!(verdict(&row), ("ready", false, "", Health::Ok));
        let status = json!({"resourceHandle": {"name": "guid-1"}, "ready": false,
                            "lifespan": {"firstReady": "2024-05-01T08:00:00Z"}});
        let row = classify(&claim("2024-05-01T07:59:00Z", status));
        assert_eq!(verdict(&row), ("not ready", false, "", Health::Warn));
    }

    #[test]
    fn the_most_specific_stuck_reason_wins() {
        let status = json!({"approval": {"state": "rejected"}});
        let row = classify(&claim("2024-04-01T00:00:00Z", status));
        assert_eq!(row.why, "approval rejected");
    }

    #[test]
    fn malformed_claims_do_not_panic() {
        for obj in [
            json!(null),
            json!("claim"),
            json!({"metadata": {"creationTimestamp": "yesterday"}, "status": "weird"}),
            json!({"status": {"resources": {"not": "a list"}, "lifespan": {"end": 17},
                              "approval": {"state": 3}, "kopf": {"progress": [1, 2]},
                              "provider": {"validationErrors": "bad"}}}),
            json!({"status": {"resources": [null, 4, {"state": {"spec": {"vars": {
                "current_state": 7}}}}], "resourceHandle": {}}}),
        ] {
            let row = classify(&obj);
            assert_eq!(row.name, "");
            assert!(!row.stuck, "{obj}: {}", row.why);
        }
        let odd =
            json!({"status": {"provider": {"validationErrors": [{"message": "bad region"}]}}});
        assert_eq!(classify(&odd).why, "validation error: bad region");
    }

    fn crd(status: Value) -> Value {
        json!({
            "apiVersion": "example.com/v1", "kind": "Sandbox",
            "metadata": {"name": "sb-1", "namespace": "labs",
                         "creationTimestamp": "2024-05-01T08:00:00Z"},
            "status": status,
        })
    }

    fn generic(obj: &Value, ready_path: Option<&str>) -> ClaimRow {
        let stuck_states = ["pending".to_owned(), "Provisioning".to_owned()];
        classify_generic(
            "sandboxes",
            obj,
            "status.phase",
            ready_path,
            &stuck_states,
            HOUR,
            now(),
        )
    }

    #[test]
    fn generic_stuck_state_is_timed_from_the_newest_condition() {
        let obj = crd(json!({"phase": "Pending", "conditions": [
            {"type": "Scheduled", "status": "True", "lastTransitionTime": "2024-05-01T08:00:00Z"},
            {"type": "Ready", "status": "False", "lastTransitionTime": "2024-05-01T10:00:00Z"},
        ]}));
        let row = generic(&obj, None);
        assert_eq!(
            verdict(&row),
            ("Pending", true, "Pending for 2h00m (> 1h00m)", Health::Crit)
        );
        assert_eq!(row.since, Some(at("2024-05-01T10:00:00Z")));
        assert_eq!(
            (row.source.as_str(), row.namespace.as_deref()),
            ("sandboxes", Some("labs"))
        );
    }

    #[test]
    fn generic_stuck_state_within_threshold_is_a_warning() {
        let obj = crd(json!({"phase": "provisioning", "conditions": [
            {"type": "Ready", "status": "False", "lastTransitionTime": "2024-05-01T11:30:00Z"},
        ]}));
        let row = generic(&obj, None);
        assert_eq!(
            verdict(&row),
            (
                "provisioning",
                false,
                "provisioning for 30m00s",
                Health::Warn
            )
        );
    }

    #[test]
    fn generic_ready_path_false_is_stuck_after_the_threshold() {
        let obj = crd(json!({"phase": "Running", "ready": false}));
        let row = generic(&obj, Some("status.ready"));
        assert_eq!(
            verdict(&row),
            (
                "Running",
                true,
                "not ready for 4h00m (> 1h00m)",
                Health::Crit
            )
        );
        assert_eq!(row.since, Some(at("2024-05-01T08:00:00Z")));

        let obj = crd(json!({"phase": "Running", "conditions": [
            {"type": "Ready", "status": "False", "lastTransitionTime": "2024-05-01T11:55:00Z"},
        ]}));
        let row = generic(&obj, Some(".status.conditions.0.status"));
        assert_eq!(
            verdict(&row),
            ("Running", false, "not ready for 5m00s", Health::Warn)
        );
    }

    #[test]
    fn generic_healthy_and_odd_objects() {
        let obj = crd(json!({"phase": "Running", "ready": "True"}));
        assert_eq!(
            verdict(&generic(&obj, Some("status.ready"))),
            ("Running", false, "", Health::Ok)
        );
        let unknown_ready = generic(&crd(json!({"phase": "Running"})), Some("status.ready"));
        assert_eq!(
            verdict(&unknown_ready),
            ("Running", false, "", Health::Warn)
        );

        let numeric = generic(&crd(json!({"phase": 3})), None);
        assert_eq!(numeric.state, "3");
        let missing = generic(&json!({"status": [1]}), Some("status.9.ready"));
        assert_eq!(verdict(&missing), ("-", false, "", Health::Warn));
        assert_eq!(missing.since, None);
    }

    #[test]
    fn generic_deletion_held_by_finalizers() {
        let mut obj = crd(json!({"phase": "Running"}));
        obj["metadata"]["deletionTimestamp"] = json!("2024-05-01T10:00:00Z");
        obj["metadata"]["finalizers"] = json!(["example.com/cleanup", "other/fin"]);
        let row = generic(&obj, None);
        assert_eq!(
            row.why,
            "deletion held by finalizers: example.com/cleanup, other/fin (for 2h00m)"
        );
        assert!(row.stuck);
    }

    #[test]
    fn work_items_are_stuck_after_the_threshold() {
        let limit = Duration::from_secs(30 * 60);
        let since = at("2024-05-01T09:50:00Z");
        let row = classify_work_item(
            "orders-db",
            "job-4711",
            "pending",
            since,
            Some(" worker w3 lost its lease "),
            limit,
            now(),
        );
        assert_eq!(
            row,
            ClaimRow {
                source: "orders-db".into(),
                namespace: None,
                name: "job-4711".into(),
                state: "pending".into(),
                since: Some(since),
                stuck: true,
                why: "pending for 2h10m (> 30m00s) — worker w3 lost its lease".into(),
                health: Health::Crit,
                detail: None,
            }
        );

        let fresh = classify_work_item(
            "q",
            "7",
            "running",
            at("2024-05-01T11:55:00Z"),
            Some(""),
            limit,
            now(),
        );
        assert_eq!(
            verdict(&fresh),
            ("running", false, "running for 5m00s", Health::Warn)
        );
        let future = classify_work_item(
            "q",
            "8",
            "queued",
            at("2024-05-01T13:00:00Z"),
            None,
            limit,
            now(),
        );
        assert_eq!(future.why, "queued for 0s");
    }

    fn item(id: &str, state: &str, since: Option<&str>, detail: Option<&str>) -> WorkItem {
        WorkItem {
            id: id.into(),
            state: state.into(),
            since: since.map(at),
            detail: detail.map(Into::into),
        }
    }

    #[test]
    fn work_item_rows_classify_every_item_and_keep_the_detail() {
        let items = [
            item(
                "1001",
                "Pending",
                Some("2024-05-01T08:55:00Z"),
                Some("no adjuster\nline 2"),
            ),
            item("1002", "Provisioning", Some("2024-05-01T11:50:00Z"), None),
            item("1003", "Pending", None, Some("clock lost")),
        ];
        let rows = work_item_rows("claims-db", &items, 3, HOUR, Some(3), now());
        assert_eq!(rows.len(), 3, "no backlog row at the threshold: {rows:#?}");
        assert_eq!(
            verdict(&rows[0]),
            (
                "Pending",
                true,
                "Pending for 3h05m (> 1h00m) — no adjuster⏎line 2",
                Health::Crit
            )
        );
        assert_eq!(rows[0].namespace, None);
        assert_eq!(rows[0].name, "1001");
        assert_eq!(rows[0].source, "claims-db");
        assert_eq!(
            rows[0].detail.as_deref(),
            Some(
                "id         1001\nstate      Pending\nsince      2024-05-01T08:55:00Z\n\
                 detail\n  no adjuster\n  line 2"
            )
        );
        assert_eq!(
            verdict(&rows[1]),
            (
                "Provisioning",
                false,
                "Provisioning for 10m00s",
                Health::Warn
            )
        );
        assert_eq!(
            verdict(&rows[2]),
            (
                "Pending",
                false,
                "Pending since an unknown time (since is NULL) — clock lost",
                Health::Warn
            )
        );
        assert_eq!(rows[2].since, None);
    }

    #[test]
    fn work_item_text_is_sanitised_and_bounded() {
        let long_id = "x".repeat(500);
        let items = [item(
            &long_id,
            "Pend\x1b[31ming",
            Some("2024-05-01T11:00:00Z"),
            Some("\x1b]0;pwned\x07evil"),
        )];
        let rows = work_item_rows("q", &items, 1, HOUR, None, now());
        let row = &rows[0];
        assert_eq!(row.name.chars().count(), ID_CHARS);
        assert!(row.name.ends_with('…'));
        assert_eq!(row.state, "Pending");
        assert!(
            !row.why.contains('\x1b') && row.why.ends_with("— evil"),
            "{}",
            row.why
        );
        assert!(row.detail.as_deref().is_some_and(|d| !d.contains('\x1b')));
    }

    #[test]
    fn a_backlog_past_the_threshold_is_one_stuck_row() {
        assert_eq!(backlog_row("q", 1000, 1000, None, now()), None);
        let oldest = at("2024-05-01T08:55:00Z");
        let row = backlog_row("q", 1234, 1000, Some(oldest), now()).expect("a backlog row");
        assert_eq!(
            row,
            ClaimRow {
                source: "q".into(),
                namespace: None,
                name: BACKLOG.into(),
                state: BACKLOG.into(),
                since: Some(oldest),
                stuck: true,
                why: "1234 items pending (> 1000), oldest for 3h05m".into(),
                health: Health::Crit,
                detail: Some(
                    "pending    1234\nthreshold  1000 (backlog_over)\n\
                     oldest     2024-05-01T08:55:00Z (3h05m ago)"
                        .into()
                ),
            }
        );
        let one = backlog_row("q", 1, 0, None, now()).expect("a backlog row");
        assert_eq!(one.why, "1 item pending (> 0)");
        assert_eq!(one.since, None);
    }

    #[test]
    fn rows_count_the_backlog_and_what_the_cap_left_out() {
        let items = [
            item("a", "Pending", Some("2024-05-01T11:30:00Z"), None),
            item("b", "Pending", Some("2024-05-01T11:40:00Z"), None),
        ];
        let mut rows = work_item_rows("q", &items, 1500, HOUR, Some(1000), now());
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[2].name, BACKLOG);
        assert_eq!(
            rows[2].why,
            "1500 items pending (> 1000), oldest for 30m00s"
        );
        assert_eq!(rows[3].name, NOT_READ);
        assert_eq!(
            verdict(&rows[3]),
            (
                "not read",
                false,
                "1498 more items not read (the oldest 2 are shown)",
                Health::Warn
            )
        );
        sort_worst_first(&mut rows);
        let names: Vec<_> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, [BACKLOG, "a", "b", NOT_READ]);
    }

    #[test]
    fn timestamps_out_of_the_calendar_do_not_panic() {
        let far = SystemTime::UNIX_EPOCH + Duration::from_secs(9_000_000_000_000);
        assert_eq!(crate::timestamp::rfc3339_system(far), "@9000000000000");
        assert_eq!(
            crate::timestamp::rfc3339_system(at("2024-05-01T12:00:00Z")),
            "2024-05-01T12:00:00Z"
        );
    }

    fn row(name: &str, health: Health, since: Option<&str>) -> ClaimRow {
        ClaimRow {
            source: "s".into(),
            namespace: None,
            name: name.into(),
            state: String::new(),
            since: since.map(at),
            stuck: health == Health::Crit,
            why: String::new(),
            health,
            detail: None,
        }
    }

    #[test]
    fn sorts_stuck_first_then_oldest() {
        let mut rows = vec![
            row("ok-old", Health::Ok, Some("2024-01-01T00:00:00Z")),
            row("warn", Health::Warn, Some("2024-05-01T00:00:00Z")),
            row("stuck-unknown", Health::Crit, None),
            row("stuck-new", Health::Crit, Some("2024-05-01T10:00:00Z")),
            row("stuck-old", Health::Crit, Some("2024-04-01T10:00:00Z")),
        ];
        sort_worst_first(&mut rows);
        let names: Vec<_> = rows.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            ["stuck-old", "stuck-new", "stuck-unknown", "warn", "ok-old"]
        );
    }
}
