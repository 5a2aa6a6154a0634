//! Alerts: what Alertmanager (API v2) or Prometheus (`/api/v1/alerts`, `/api/v1/rules`) say is
//! firing, and the silences. Parsing their JSON, ranking worst first, grouping by alert name,
//! and matching silences the way Alertmanager does.

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use serde_json::Value;

/// Where a target's alerts come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertOrigin {
    Alertmanager,
    /// No Alertmanager configured: Prometheus' own view (firing and pending, no silences).
    Prometheus,
}

/// An alert's state, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlertState {
    Firing,
    /// Prometheus evaluates it as true but its `for` has not elapsed.
    Pending,
    /// Matched by a silence (`silenced_by` names it).
    Silenced,
    /// Muted by an inhibition rule (another alert fires).
    Inhibited,
}

impl AlertState {
    pub fn label(self) -> &'static str {
        match self {
            Self::Firing => "firing",
            Self::Pending => "pending",
            Self::Silenced => "silenced",
            Self::Inhibited => "inhibited",
        }
    }
}

/// The `severity` label ranked, worst first; unknown values rank after `info`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlertSeverity {
    Critical,
    Error,
    Warning,
    Info,
    Other,
}

impl AlertSeverity {
    pub fn of(labels: &BTreeMap<String, String>) -> Self {
        match labels
            .get("severity")
            .map(|s| s.to_ascii_lowercase())
            .as_deref()
        {
            Some("critical" | "page" | "emergency" | "fatal") => Self::Critical,
            Some("error" | "high" | "major") => Self::Error,
            Some("warning" | "warn" | "medium" | "minor") => Self::Warning,
            Some("info" | "informational" | "low" | "none") => Self::Info,
            _ => Self::Other,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// The `alertname` label.
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub state: AlertState,
    pub severity: AlertSeverity,
    /// Since when it fires (Alertmanager `startsAt`, Prometheus `activeAt`).
    pub starts_at: Option<SystemTime>,
    pub ends_at: Option<SystemTime>,
    pub generator_url: Option<String>,
    pub fingerprint: Option<String>,
    /// Silence ids that mute it.
    pub silenced_by: Vec<String>,
    /// Fingerprints of the alerts that inhibit it.
    pub inhibited_by: Vec<String>,
}

impl Alert {
    /// The runbook link, when an annotation gives one.
    pub fn runbook(&self) -> Option<&str> {
        ["runbook_url", "runbook"]
            .iter()
            .find_map(|k| self.annotations.get(*k))
            .map(String::as_str)
    }

    /// `summary`, else `description`, else `message`.
    pub fn summary(&self) -> Option<&str> {
        ["summary", "description", "message"]
            .iter()
            .find_map(|k| self.annotations.get(*k))
            .map(String::as_str)
    }
}

/// One matcher of a silence, serialised as Alertmanager's API v2 writes it
/// (`{name, value, isRegex, isEqual}`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Matcher {
    pub name: String,
    pub value: String,
    pub is_regex: bool,
    /// `false` for `!=` and `!~`.
    pub is_equal: bool,
}

impl Matcher {
    pub fn equal(name: &str, value: &str) -> Self {
        Self {
            name: name.to_string(),
            value: value.to_string(),
            is_regex: false,
            is_equal: true,
        }
    }

    /// A matcher as Alertmanager's JSON writes it (`{name, value, isRegex, isEqual}`;
    /// `isEqual` defaults to true, as in API versions before it existed).
    pub fn from_json(value: &Value) -> Option<Self> {
        Some(Self {
            name: value["name"].as_str()?.to_string(),
            value: value["value"].as_str()?.to_string(),
            is_regex: value["isRegex"].as_bool().unwrap_or(false),
            is_equal: value["isEqual"].as_bool().unwrap_or(true),
        })
    }

    /// As Alertmanager matches: a missing label is the empty string; regexes are anchored at
    /// both ends. An invalid regex matches nothing.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        let value = labels.get(&self.name).map_or("", String::as_str);
        let hit = if self.is_regex {
            regex::Regex::new(&format!("^(?:{})$", self.value)).is_ok_and(|re| re.is_match(value))
        } else {
            value == self.value
        };
        hit == self.is_equal
    }

    /// `name="value"`, `name=~"re"`, `name!="value"`, `name!~"re"`.
    pub fn text(&self) -> String {
        let op = match (self.is_equal, self.is_regex) {
            (true, false) => "=",
            (true, true) => "=~",
            (false, false) => "!=",
            (false, true) => "!~",
        };
        format!("{}{op}{:?}", self.name, self.value)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SilenceState {
    Active,
    Pending,
    Expired,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Silence {
    pub id: String,
    pub matchers: Vec<Matcher>,
    pub created_by: String,
    pub comment: String,
    pub starts_at: Option<SystemTime>,
    pub ends_at: Option<SystemTime>,
    pub state: SilenceState,
}

impl Silence {
    /// Whether every matcher matches `labels`.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        !self.matchers.is_empty() && self.matchers.iter().all(|m| m.matches(labels))
    }
}

/// An alerting rule, from Prometheus' `/api/v1/rules`.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertRule {
    pub name: String,
    pub query: String,
    /// `for`, in seconds.
    pub for_secs: f64,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub health: String,
    pub last_error: Option<String>,
}

/// One refresh of a target's alerts.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertsReport {
    pub origin: AlertOrigin,
    /// Worst first (see [`rank`]).
    pub alerts: Vec<Alert>,
    pub silences: Vec<Silence>,
    /// Empty when the rules could not be read (they only add detail).
    pub rules: Vec<AlertRule>,
    /// Alertmanager's `/api/v2/status`, when it could be read (it only adds detail).
    pub status: Option<AlertmanagerStatus>,
}

/// What Alertmanager says of itself (`GET /api/v2/status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertmanagerStatus {
    pub version: String,
    /// `ready`, `settling` (a member still gossiping its state in) or `disabled` (no cluster).
    pub cluster: String,
    /// Cluster peers, this one included (0 without a cluster).
    pub peers: usize,
    pub uptime: Option<SystemTime>,
}

impl AlertmanagerStatus {
    /// One line for the detail: `Alertmanager 0.25.0 · cluster ready, 3 peers · up since …`.
    pub fn summary(&self) -> String {
        let cluster = match self.cluster.as_str() {
            "disabled" => "no cluster".to_string(),
            state => format!(
                "cluster {state}, {} peer{}",
                self.peers,
                if self.peers == 1 { "" } else { "s" }
            ),
        };
        format!("Alertmanager {} · {cluster}", self.version)
    }

    /// A cluster that is still settling can answer with silences it has not received yet.
    pub fn settling(&self) -> bool {
        self.cluster == "settling"
    }
}

/// Parses `GET /api/v2/status`.
pub fn parse_status(body: &[u8]) -> Result<AlertmanagerStatus, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("Alertmanager status: not JSON: {e}"))?;
    if !value.is_object() {
        return Err("Alertmanager status: not a JSON object".into());
    }
    let text = |v: &Value| crate::text::sanitize(v.as_str().unwrap_or("unknown"));
    Ok(AlertmanagerStatus {
        version: text(&value["versionInfo"]["version"]),
        cluster: text(&value["cluster"]["status"]),
        peers: value["cluster"]["peers"].as_array().map_or(0, Vec::len),
        uptime: time(&value["uptime"]),
    })
}

impl AlertsReport {
    /// The rule an alert comes from, when known.
    pub fn rule_of(&self, alert: &Alert) -> Option<&AlertRule> {
        self.rules.iter().find(|r| {
            r.name == alert.name && r.labels.iter().all(|(k, v)| alert.labels.get(k) == Some(v))
        })
    }

    /// Silences (active or pending) whose matchers match `alert`.
    pub fn silences_of<'a>(&'a self, alert: &'a Alert) -> impl Iterator<Item = &'a Silence> + 'a {
        self.silences.iter().filter(move |s| {
            s.state != SilenceState::Expired
                && (alert.silenced_by.contains(&s.id) || s.matches(&alert.labels))
        })
    }
}

/// Sorts worst first: state, then severity, then the longest-firing, then name and labels.
pub fn rank(alerts: &mut [Alert]) {
    alerts.sort_by(|a, b| {
        (a.state, a.severity)
            .cmp(&(b.state, b.severity))
            .then_with(|| a.starts_at.cmp(&b.starts_at))
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.labels.cmp(&b.labels))
    });
}

/// Alerts of one name: how many, in which states, and what tells them apart.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertGroup {
    pub name: String,
    /// The worst instance's state and severity.
    pub state: AlertState,
    pub severity: AlertSeverity,
    /// Indexes into the report's alerts, worst first.
    pub members: Vec<usize>,
    /// Labels whose values differ between the instances (none for a single instance).
    pub varying: Vec<String>,
    pub firing: usize,
}

/// Groups ranked alerts by name, the worst group first.
pub fn groups(alerts: &[Alert]) -> Vec<AlertGroup> {
    let mut by_name: Vec<AlertGroup> = Vec::new();
    for (index, alert) in alerts.iter().enumerate() {
        match by_name.iter_mut().find(|g| g.name == alert.name) {
            Some(group) => group.members.push(index),
            None => by_name.push(AlertGroup {
                name: alert.name.clone(),
                state: alert.state,
                severity: alert.severity,
                members: vec![index],
                varying: Vec::new(),
                firing: 0,
            }),
        }
    }
    for group in &mut by_name {
        let members: Vec<&Alert> = group.members.iter().map(|i| &alerts[*i]).collect();
        group.firing = members
            .iter()
            .filter(|a| a.state == AlertState::Firing)
            .count();
        group.varying = varying_labels(&members);
    }
    by_name
}

/// Labels (not `alertname`) whose values are not the same on every alert of `alerts`.
pub fn varying_labels(alerts: &[&Alert]) -> Vec<String> {
    if alerts.len() < 2 {
        return Vec::new();
    }
    let names: BTreeSet<&String> = alerts.iter().flat_map(|a| a.labels.keys()).collect();
    names
        .into_iter()
        .filter(|name| name.as_str() != "alertname")
        .filter(|name| {
            let first = alerts[0].labels.get(*name);
            alerts.iter().any(|a| a.labels.get(*name) != first)
        })
        .cloned()
        .collect()
}

/// The matchers a silence of these alerts starts from: the identifying labels (see
/// [`identifying_matchers`]) that every one of them has with the same value, so the silence
/// covers the whole group and nothing else that shares fewer labels.
pub fn silence_matchers(alerts: &[&Alert]) -> Vec<Matcher> {
    let Some(first) = alerts.first() else {
        return Vec::new();
    };
    identifying_matchers(first)
        .into_iter()
        .filter(|m| {
            alerts
                .iter()
                .all(|a| a.labels.get(&m.name) == Some(&m.value))
        })
        .collect()
}

/// A matcher as people type it and Alertmanager prints it: `name="value"`, `name=~"regex"`,
/// `name!="value"`, `name!~"regex"`; quotes are optional (`name=value`). The name must be a
/// label name, the regex must compile; the error says what is wrong.
pub fn parse_matcher(text: &str) -> Result<Matcher, String> {
    let text = text.trim();
    let name_end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(text.len());
    let name = &text[..name_end];
    let valid_name = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !valid_name {
        return Err(format!(
            "a matcher is name=\"value\" (or =~, !=, !~) with a label name first, not {text:?}"
        ));
    }
    let rest = text[name_end..].trim_start();
    let (is_equal, is_regex, rest) = if let Some(r) = rest.strip_prefix("=~") {
        (true, true, r)
    } else if let Some(r) = rest.strip_prefix("!~") {
        (false, true, r)
    } else if let Some(r) = rest.strip_prefix("!=") {
        (false, false, r)
    } else if let Some(r) = rest.strip_prefix('=') {
        (true, false, r)
    } else {
        return Err(format!(
            "{name}: an operator =, !=, =~ or !~ must follow the label name"
        ));
    };
    let rest = rest.trim();
    let value = match rest.strip_prefix('"') {
        Some(quoted) => {
            let mut value = String::new();
            let mut chars = quoted.chars();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.push(chars.next().ok_or("a value cannot end with \\")?),
                    '"' => {
                        closed = true;
                        break;
                    }
                    c => value.push(c),
                }
            }
            if !closed || !chars.as_str().trim().is_empty() {
                return Err(format!(
                    "{name}: the quoted value is not closed where it should be"
                ));
            }
            value
        }
        None => rest.to_string(),
    };
    if is_regex && let Err(e) = regex::Regex::new(&format!("^(?:{value})$")) {
        return Err(format!("{name}: not a regular expression: {e}"));
    }
    Ok(Matcher {
        name: name.to_string(),
        value,
        is_regex,
        is_equal,
    })
}

/// Whether a silence of `matchers` would be valid in Alertmanager's eyes: at least one matcher,
/// and at least one that does not match the empty string (Alertmanager refuses a silence that
/// would match every alert).
pub fn check_silence_matchers(matchers: &[Matcher]) -> Result<(), String> {
    if matchers.is_empty() {
        return Err("a silence needs at least one matcher".into());
    }
    let empty = BTreeMap::new();
    if matchers.iter().all(|m| m.matches(&empty)) {
        return Err(
            "every matcher matches the empty string: the silence would mute every alert; \
                    add one that names a label's value"
                .into(),
        );
    }
    Ok(())
}

/// The query string that asks Alertmanager (`GET /api/v2/alerts`) for the alerts `matchers`
/// match, by its own matching: every state, each matcher a `filter` parameter. Not limited to
/// a receiver: a silence mutes whatever it matches, whoever is paged for it.
pub fn filter_query(matchers: &[Matcher]) -> String {
    alerts_query(None, matchers)
}

/// The query string for the alerts pane: every state, only those routed to a receiver matching
/// `receiver` (a regex, as Alertmanager takes it) when one is configured.
pub fn list_query(receiver: Option<&str>) -> String {
    alerts_query(receiver, &[])
}

fn alerts_query(receiver: Option<&str>, matchers: &[Matcher]) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in [
        ("active", "true"),
        ("silenced", "true"),
        ("inhibited", "true"),
        ("unprocessed", "true"),
    ] {
        query.append_pair(key, value);
    }
    if let Some(receiver) = receiver {
        query.append_pair("receiver", receiver);
    }
    for matcher in matchers {
        query.append_pair("filter", &matcher.text());
    }
    query.finish()
}

/// `DELETE` this path to expire silence `id` (an id from a server goes into the URL only
/// percent-encoded).
pub fn expire_path(id: &str) -> String {
    let id: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
    format!("/api/v2/silence/{}", id.replace('+', "%20"))
}

/// The body of `POST /api/v2/silences`.
pub fn silence_body(
    matchers: &[Matcher],
    starts_at: SystemTime,
    ends_at: SystemTime,
    created_by: &str,
    comment: &str,
) -> Value {
    let time = crate::timestamp::rfc3339_system;
    serde_json::json!({
        "matchers": matchers,
        "startsAt": time(starts_at),
        "endsAt": time(ends_at),
        "createdBy": created_by,
        "comment": comment,
    })
}

/// The labels that identify an alert for a silence: every label but those that change with
/// every evaluation or say nothing about the source.
pub fn identifying_matchers(alert: &Alert) -> Vec<Matcher> {
    const NOISE: [&str; 2] = ["severity", "prometheus"];
    alert
        .labels
        .iter()
        .filter(|(k, _)| !NOISE.contains(&k.as_str()))
        .map(|(k, v)| Matcher::equal(k, v))
        .collect()
}

fn time(value: &Value) -> Option<SystemTime> {
    let text = value.as_str()?;
    let at = crate::timestamp::parse_rfc3339(text)?;
    // Alertmanager writes 0001-01-01 for "unset".
    (at.year() > 1970).then(|| SystemTime::from(at))
}

fn strings(value: &Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                    (k.clone(), v)
                })
                .collect()
        })
        .unwrap_or_default()
}

fn string_list(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn alert_from(labels: BTreeMap<String, String>, annotations: BTreeMap<String, String>) -> Alert {
    Alert {
        name: labels.get("alertname").cloned().unwrap_or_default(),
        severity: AlertSeverity::of(&labels),
        labels,
        annotations,
        state: AlertState::Firing,
        starts_at: None,
        ends_at: None,
        generator_url: None,
        fingerprint: None,
        silenced_by: Vec::new(),
        inhibited_by: Vec::new(),
    }
}

/// `GET /api/v2/alerts` (Alertmanager), ranked.
pub fn parse_alertmanager_alerts(body: &[u8]) -> Result<Vec<Alert>, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("Alertmanager alerts: not JSON: {e}"))?;
    let items = value
        .as_array()
        .ok_or("Alertmanager alerts: not a JSON array")?;
    let mut alerts: Vec<Alert> = items
        .iter()
        .map(|item| {
            let mut alert = alert_from(strings(&item["labels"]), strings(&item["annotations"]));
            alert.starts_at = time(&item["startsAt"]);
            alert.ends_at = time(&item["endsAt"]);
            alert.generator_url = item["generatorURL"]
                .as_str()
                .filter(|s| !s.is_empty())
                .map(str::to_string);
            alert.fingerprint = item["fingerprint"].as_str().map(str::to_string);
            alert.silenced_by = string_list(&item["status"]["silencedBy"]);
            alert.inhibited_by = string_list(&item["status"]["inhibitedBy"]);
            alert.state = if !alert.silenced_by.is_empty() {
                AlertState::Silenced
            } else if !alert.inhibited_by.is_empty() {
                AlertState::Inhibited
            } else {
                AlertState::Firing
            };
            alert
        })
        .collect();
    rank(&mut alerts);
    Ok(alerts)
}

/// `GET /api/v2/silences` (Alertmanager): active and pending first, then the newest.
pub fn parse_silences(body: &[u8]) -> Result<Vec<Silence>, String> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| format!("Alertmanager silences: not JSON: {e}"))?;
    let items = value
        .as_array()
        .ok_or("Alertmanager silences: not a JSON array")?;
    let mut silences: Vec<Silence> = items
        .iter()
        .filter_map(|item| {
            let state = match item["status"]["state"].as_str()? {
                "active" => SilenceState::Active,
                "pending" => SilenceState::Pending,
                _ => SilenceState::Expired,
            };
            let matchers = item["matchers"]
                .as_array()?
                .iter()
                .filter_map(Matcher::from_json)
                .collect();
            Some(Silence {
                id: item["id"].as_str()?.to_string(),
                matchers,
                created_by: item["createdBy"].as_str().unwrap_or_default().to_string(),
                comment: item["comment"].as_str().unwrap_or_default().to_string(),
                starts_at: time(&item["startsAt"]),
                ends_at: time(&item["endsAt"]),
                state,
            })
        })
        .collect();
    silences.sort_by(|a, b| a.state.cmp(&b.state).then(b.starts_at.cmp(&a.starts_at)));
    Ok(silences)
}

/// The `data` of a Prometheus API answer, or its error.
fn prometheus_data(body: &[u8], what: &str) -> Result<Value, String> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| format!("Prometheus {what}: not JSON: {e}"))?;
    if value["status"] != "success" {
        let error = value["error"].as_str().unwrap_or("no error message");
        return Err(format!("Prometheus {what}: {error}"));
    }
    Ok(value["data"].clone())
}

/// `GET /api/v1/alerts` (Prometheus): firing and pending, ranked.
pub fn parse_prometheus_alerts(body: &[u8]) -> Result<Vec<Alert>, String> {
    let data = prometheus_data(body, "alerts")?;
    let items = data["alerts"]
        .as_array()
        .ok_or("Prometheus alerts: no `alerts` list")?;
    let mut alerts: Vec<Alert> = items
        .iter()
        .filter_map(|item| {
            let state = match item["state"].as_str()? {
                "firing" => AlertState::Firing,
                "pending" => AlertState::Pending,
                _ => return None,
            };
            let mut alert = alert_from(strings(&item["labels"]), strings(&item["annotations"]));
            alert.state = state;
            alert.starts_at = time(&item["activeAt"]);
            Some(alert)
        })
        .collect();
    rank(&mut alerts);
    Ok(alerts)
}

/// `GET /api/v1/rules?type=alert` (Prometheus): every alerting rule.
pub fn parse_prometheus_rules(body: &[u8]) -> Result<Vec<AlertRule>, String> {
    let data = prometheus_data(body, "rules")?;
    let groups = data["groups"]
        .as_array()
        .ok_or("Prometheus rules: no `groups` list")?;
    Ok(groups
        .iter()
        .filter_map(|g| g["rules"].as_array())
        .flatten()
        .filter(|r| r["type"] == "alerting")
        .map(|r| AlertRule {
            name: r["name"].as_str().unwrap_or_default().to_string(),
            query: r["query"].as_str().unwrap_or_default().to_string(),
            for_secs: r["duration"].as_f64().unwrap_or(0.0),
            labels: strings(&r["labels"]),
            annotations: strings(&r["annotations"]),
            health: r["health"].as_str().unwrap_or_default().to_string(),
            last_error: r["lastError"]
                .as_str()
                .filter(|e| !e.is_empty())
                .map(str::to_string),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matchers_parse_as_alertmanager_prints_them() {
        let m = parse_matcher(r#"namespace="platform-v2""#).unwrap();
        assert_eq!(m, Matcher::equal("namespace", "platform-v2"));
        let m = parse_matcher(r#" pod =~ "api-.*" "#).unwrap();
        assert!(m.is_regex && m.is_equal && m.value == "api-.*");
        let m = parse_matcher("severity!=info").unwrap();
        assert!(!m.is_regex && !m.is_equal && m.value == "info");
        let m = parse_matcher(r#"job!~"a|b""#).unwrap();
        assert!(m.is_regex && !m.is_equal);
        let m = parse_matcher(r#"msg="say \"hi\"""#).unwrap();
        assert_eq!(m.value, r#"say "hi""#);
        assert_eq!(parse_matcher(&m.text()).unwrap(), m, "text() reads back");
        for bad in [
            "",
            "=x",
            "9a=b",
            "name",
            "name~x",
            r#"a="open"#,
            r#"a="x" y"#,
            "a=~(",
        ] {
            assert!(parse_matcher(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn silence_matchers_keep_what_every_alert_of_the_group_shares() {
        let alert = |pod: &str| {
            let mut labels = BTreeMap::new();
            for (k, v) in [
                ("alertname", "KubePodCrashLooping"),
                ("namespace", "poolboy"),
                ("severity", "warning"),
                ("pod", pod),
            ] {
                labels.insert(k.to_string(), v.to_string());
            }
            alert_from(labels, BTreeMap::new())
        };
        let (a, b) = (alert("op-1"), alert("op-2"));
        let texts = |ms: Vec<Matcher>| ms.iter().map(Matcher::text).collect::<Vec<_>>();
        assert_eq!(
            texts(silence_matchers(&[&a, &b])),
            [
                r#"alertname="KubePodCrashLooping""#,
                r#"namespace="poolboy""#
            ]
        );
        assert_eq!(
            texts(silence_matchers(&[&a])),
            [
                r#"alertname="KubePodCrashLooping""#,
                r#"namespace="poolboy""#,
                r#"pod="op-1""#
            ]
        );
        assert!(check_silence_matchers(&silence_matchers(&[&a])).is_ok());
        assert!(check_silence_matchers(&[]).is_err());
        assert!(check_silence_matchers(&[parse_matcher("x!=y").unwrap()]).is_err());
    }

    #[test]
    fn the_filter_query_and_the_silence_body_are_alertmanagers() {
        let ms = [
            Matcher::equal("alertname", "A B"),
            parse_matcher(r#"pod=~"x.*""#).unwrap(),
        ];
        assert_eq!(
            filter_query(&ms),
            "active=true&silenced=true&inhibited=true&unprocessed=true\
             &filter=alertname%3D%22A+B%22&filter=pod%3D%7E%22x.*%22"
        );
        let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000);
        let body = silence_body(
            &ms,
            at,
            at + std::time::Duration::from_secs(3600),
            "alice",
            "why",
        );
        assert_eq!(body["matchers"][1]["isRegex"], true);
        assert_eq!(body["matchers"][1]["isEqual"], true);
        assert_eq!(body["startsAt"], "2027-01-15T08:00:00Z");
        assert_eq!(body["endsAt"], "2027-01-15T09:00:00Z");
        assert_eq!(body["createdBy"], "alice");
    }

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const AM_ALERTS: &str = r#"[
      {"labels":{"alertname":"PodRestarts","severity":"warning","pod":"api-1","namespace":"shop"},
       "annotations":{"summary":"api-1 restarts","runbook_url":"https://runbooks/restarts"},
       "startsAt":"2026-12-06T06:00:00Z","endsAt":"2026-12-06T07:00:00Z","fingerprint":"a1",
       "generatorURL":"http://prom/graph","status":{"state":"active","silencedBy":[],"inhibitedBy":[]}},
      {"labels":{"alertname":"PodRestarts","severity":"warning","pod":"api-2","namespace":"shop"},
       "annotations":{},"startsAt":"2026-12-06T05:00:00Z","fingerprint":"a2",
       "status":{"state":"suppressed","silencedBy":["s1"],"inhibitedBy":[]}},
      {"labels":{"alertname":"HighErrorRate","severity":"critical","service":"api"},
       "annotations":{"description":"5% errors"},"startsAt":"2026-12-06T06:30:00Z","fingerprint":"b1",
       "status":{"state":"active","silencedBy":[],"inhibitedBy":[]}},
      {"labels":{"alertname":"DiskLow","severity":"info"},"annotations":{},
       "startsAt":"0001-01-01T00:00:00Z","fingerprint":"c1",
       "status":{"state":"suppressed","silencedBy":[],"inhibitedBy":["b1"]}}
    ]"#;

    #[test]
    fn alertmanager_alerts_are_ranked_worst_first_with_their_states() {
        let alerts = parse_alertmanager_alerts(AM_ALERTS.as_bytes()).unwrap();
        let seen: Vec<(&str, AlertState)> =
            alerts.iter().map(|a| (a.name.as_str(), a.state)).collect();
        assert_eq!(
            seen,
            vec![
                ("HighErrorRate", AlertState::Firing),
                ("PodRestarts", AlertState::Firing),
                ("PodRestarts", AlertState::Silenced),
                ("DiskLow", AlertState::Inhibited),
            ]
        );
        assert_eq!(alerts[0].severity, AlertSeverity::Critical);
        assert_eq!(alerts[0].summary(), Some("5% errors"));
        assert_eq!(alerts[1].runbook(), Some("https://runbooks/restarts"));
        assert_eq!(alerts[2].silenced_by, vec!["s1".to_string()]);
        assert_eq!(alerts[3].starts_at, None, "the year 1 means unset");
        let groups = groups(&alerts);
        assert_eq!(groups.len(), 3);
        assert_eq!(groups[1].name, "PodRestarts");
        assert_eq!(groups[1].members, vec![1, 2]);
        assert_eq!(groups[1].firing, 1);
        assert_eq!(groups[1].varying, vec!["pod".to_string()]);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for body in ["", "{", "{}", "[1, \"x\", null]", "null"] {
            let _ = parse_alertmanager_alerts(body.as_bytes());
            let _ = parse_silences(body.as_bytes());
            let _ = parse_prometheus_alerts(body.as_bytes());
            let _ = parse_prometheus_rules(body.as_bytes());
        }
        assert!(parse_alertmanager_alerts(b"{}").is_err());
        assert_eq!(parse_alertmanager_alerts(b"[1, null]").unwrap().len(), 2);
    }

    #[test]
    fn matchers_match_as_alertmanager_does() {
        let l = labels(&[("alertname", "PodRestarts"), ("pod", "api-1")]);
        assert!(Matcher::equal("pod", "api-1").matches(&l));
        assert!(!Matcher::equal("pod", "api").matches(&l));
        let re = |value: &str, is_equal: bool| Matcher {
            name: "pod".into(),
            value: value.into(),
            is_regex: true,
            is_equal,
        };
        assert!(re("api-.*", true).matches(&l));
        assert!(!re("api", true).matches(&l), "anchored at both ends");
        assert!(re("web-.*", false).matches(&l));
        assert!(
            !re("(", true).matches(&l),
            "an invalid regex matches nothing"
        );
        // A missing label is the empty string.
        assert!(Matcher::equal("team", "").matches(&l));
        assert_eq!(re("api-.*", false).text(), "pod!~\"api-.*\"");
    }

    #[test]
    fn silences_parse_and_match() {
        let body = r#"[
          {"id":"s1","status":{"state":"active"},"matchers":[{"name":"pod","value":"api-2","isRegex":false,"isEqual":true}],
           "createdBy":"alice","comment":"fixing","startsAt":"2026-12-06T05:00:00Z","endsAt":"2026-12-06T09:00:00Z"},
          {"id":"s0","status":{"state":"expired"},"matchers":[],"createdBy":"bob","comment":"old"}
        ]"#;
        let silences = parse_silences(body.as_bytes()).unwrap();
        assert_eq!(silences[0].id, "s1");
        assert_eq!(silences[1].state, SilenceState::Expired);
        let alerts = parse_alertmanager_alerts(AM_ALERTS.as_bytes()).unwrap();
        let report = AlertsReport {
            origin: AlertOrigin::Alertmanager,
            alerts,
            silences,
            rules: Vec::new(),
            status: None,
        };
        let silenced = &report.alerts[2];
        let ids: Vec<&str> = report
            .silences_of(silenced)
            .map(|s| s.id.as_str())
            .collect();
        assert_eq!(ids, vec!["s1"]);
        assert_eq!(report.silences_of(&report.alerts[0]).count(), 0);
        // A silence without matchers matches nothing.
        assert!(!report.silences[1].matches(&report.alerts[0].labels));
    }

    #[test]
    fn prometheus_alerts_and_rules() {
        let alerts = r#"{"status":"success","data":{"alerts":[
          {"labels":{"alertname":"Slow","severity":"warning"},"annotations":{},"state":"pending","activeAt":"2026-12-06T06:00:00Z","value":"1e+00"},
          {"labels":{"alertname":"Down","severity":"critical"},"annotations":{},"state":"firing","activeAt":"2026-12-06T06:10:00Z","value":"1"},
          {"labels":{"alertname":"Odd"},"annotations":{},"state":"inactive"}
        ]}}"#;
        let alerts = parse_prometheus_alerts(alerts.as_bytes()).unwrap();
        assert_eq!(alerts.len(), 2);
        assert_eq!(
            (alerts[0].name.as_str(), alerts[0].state),
            ("Down", AlertState::Firing)
        );
        assert_eq!(alerts[1].state, AlertState::Pending);
        let rules = r#"{"status":"success","data":{"groups":[{"name":"g","rules":[
          {"type":"alerting","name":"Slow","query":"latency > 1","duration":3600,"labels":{"severity":"warning"},"annotations":{},"health":"ok","lastError":""},
          {"type":"recording","name":"x","query":"sum(y)"}
        ]}]}}"#;
        let rules = parse_prometheus_rules(rules.as_bytes()).unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0].for_secs, 3600.0);
        assert_eq!(rules[0].last_error, None);
        let report = AlertsReport {
            origin: AlertOrigin::Prometheus,
            alerts,
            silences: Vec::new(),
            rules,
            status: None,
        };
        assert_eq!(
            report.rule_of(&report.alerts[1]).map(|r| r.query.as_str()),
            Some("latency > 1")
        );
        assert!(
            parse_prometheus_alerts(br#"{"status":"error","error":"boom"}"#)
                .unwrap_err()
                .contains("boom")
        );
    }

    #[test]
    fn identifying_matchers_leave_out_severity() {
        let alerts = parse_alertmanager_alerts(AM_ALERTS.as_bytes()).unwrap();
        let texts: Vec<String> = identifying_matchers(&alerts[1])
            .iter()
            .map(Matcher::text)
            .collect();
        assert_eq!(
            texts,
            vec![
                "alertname=\"PodRestarts\"",
                "namespace=\"shop\"",
                "pod=\"api-1\""
            ]
        );
    }

    #[test]
    fn status_says_version_and_cluster() {
        let body = br#"{"cluster":{"name":"01H","peers":[{"address":"10.0.0.1:9094","name":"a"},{"address":"10.0.0.2:9094","name":"b"}],"status":"settling"},
            "versionInfo":{"version":"0.25.0","revision":"x"},"uptime":"2026-12-06T06:00:00.000Z","config":{"original":""}}"#;
        let status = parse_status(body).unwrap();
        assert_eq!(
            status.summary(),
            "Alertmanager 0.25.0 · cluster settling, 2 peers"
        );
        assert!(status.settling());
        assert!(status.uptime.is_some());
        let alone = parse_status(
            br#"{"cluster":{"status":"disabled"},"versionInfo":{"version":"0.27.0\u001b[2J"}}"#,
        )
        .unwrap();
        assert_eq!(alone.summary(), "Alertmanager 0.27.0 · no cluster");
        assert!(parse_status(b"[]").is_err());
        assert!(parse_status(b"<html>").is_err());
    }
}
