//! Events (core/v1) as `kubectl get events` shows them, and grouped by involved object and
//! reason with counts (`x12 over 5m`).

use std::time::SystemTime;

use k8s_openapi::api::core::v1::Event;

use super::short_duration;
use crate::model::{elapsed, from_timestamp, system_time};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EventRow {
    pub namespace: String,
    /// The Event object's own name (its key).
    pub name: String,
    pub involved_kind: String,
    pub involved_name: String,
    pub involved_namespace: String,
    pub reason: String,
    pub message: String,
    pub count: u32,
    #[serde(skip)]
    pub first: Option<SystemTime>,
    #[serde(skip)]
    pub last: Option<SystemTime>,
    /// `type: Warning`.
    pub warning: bool,
    /// `kubelet, node-1`, or the reporting controller.
    pub source: String,
}

/// One event, its times and count as kubectl prints them: first seen is `firstTimestamp`, else
/// `eventTime`; last seen is the series' `lastObservedTime` when there is a series, else
/// `lastTimestamp`, else first seen; the count is the series' count, else `count`, else 1. The
/// creation time stands in when none is set.
pub fn event_row(e: &Event) -> EventRow {
    let created = e.metadata.creation_timestamp.as_ref().and_then(system_time);
    let event_time = e.event_time.as_ref().and_then(|t| from_timestamp(t.0));
    let first = e
        .first_timestamp
        .as_ref()
        .and_then(system_time)
        .or(event_time)
        .or(created);
    let series_last = e
        .series
        .as_ref()
        .and_then(|s| s.last_observed_time.as_ref())
        .and_then(|t| from_timestamp(t.0));
    let last = series_last
        .or_else(|| e.last_timestamp.as_ref().and_then(system_time))
        .or(first);
    let count = e
        .series
        .as_ref()
        .and_then(|s| s.count)
        .or(e.count)
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| *n > 0)
        .unwrap_or(1);
    let source = match e.source.as_ref() {
        Some(s) if s.component.as_deref().is_some_and(|c| !c.is_empty()) => {
            match s.host.as_deref().filter(|h| !h.is_empty()) {
                Some(host) => format!("{}, {host}", s.component.as_deref().unwrap_or_default()),
                None => s.component.clone().unwrap_or_default(),
            }
        }
        _ => e
            .reporting_component
            .clone()
            .filter(|c| !c.is_empty())
            .unwrap_or_default(),
    };
    let involved = &e.involved_object;
    EventRow {
        namespace: e.metadata.namespace.clone().unwrap_or_default(),
        name: e.metadata.name.clone().unwrap_or_default(),
        involved_kind: involved.kind.clone().unwrap_or_default(),
        involved_name: involved.name.clone().unwrap_or_default(),
        involved_namespace: involved.namespace.clone().unwrap_or_default(),
        reason: e.reason.clone().unwrap_or_default(),
        message: e.message.clone().unwrap_or_default().trim().to_owned(),
        count,
        first,
        last,
        warning: e.type_.as_deref() == Some("Warning"),
        source,
    }
}

/// The events of one object with one reason.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EventGroup {
    pub involved_kind: String,
    pub involved_name: String,
    pub namespace: String,
    pub reason: String,
    /// The latest event's message.
    pub message: String,
    /// Summed over the group's events.
    pub count: u32,
    #[serde(skip)]
    pub first: Option<SystemTime>,
    #[serde(skip)]
    pub last: Option<SystemTime>,
    /// Any of them a Warning.
    pub warning: bool,
}

/// Groups by (namespace, involved kind, involved name, reason), newest first (then by
/// namespace, kind, name, reason, so the order is stable).
pub fn group_events<'a>(
    rows: impl Iterator<Item = &'a EventRow>,
    warnings_only: bool,
) -> Vec<EventGroup> {
    let mut groups: std::collections::BTreeMap<(&str, &str, &str, &str), EventGroup> =
        std::collections::BTreeMap::new();
    for row in rows.filter(|r| r.warning || !warnings_only) {
        let key = (
            row.namespace.as_str(),
            row.involved_kind.as_str(),
            row.involved_name.as_str(),
            row.reason.as_str(),
        );
        match groups.get_mut(&key) {
            None => {
                groups.insert(
                    key,
                    EventGroup {
                        involved_kind: row.involved_kind.clone(),
                        involved_name: row.involved_name.clone(),
                        namespace: row.namespace.clone(),
                        reason: row.reason.clone(),
                        message: row.message.clone(),
                        count: row.count,
                        first: row.first,
                        last: row.last,
                        warning: row.warning,
                    },
                );
            }
            Some(group) => {
                group.count = group.count.saturating_add(row.count);
                if row.last >= group.last {
                    group.message.clone_from(&row.message);
                    group.last = row.last;
                }
                group.first = match (group.first, row.first) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                group.warning |= row.warning;
            }
        }
    }
    let mut groups: Vec<EventGroup> = groups.into_values().collect();
    // Stable: among equal times the key order (namespace, kind, name, reason) stays.
    groups.sort_by_key(|g| std::cmp::Reverse(g.last));
    groups
}

/// `x12 over 5m` as kubectl prints a repeated event (since the first); `""` for a single one.
pub fn count_text(group: &EventGroup, now: SystemTime) -> String {
    if group.count <= 1 {
        return String::new();
    }
    match group.first {
        Some(first) => format!(
            "x{} over {}",
            group.count,
            short_duration(elapsed(now, first))
        ),
        None => format!("x{}", group.count),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;
    use crate::model::parse_time;

    fn at(text: &str) -> SystemTime {
        parse_time(text).unwrap()
    }

    fn event(name: &str, extra: Value) -> EventRow {
        let mut value = json!({
            "metadata": {"name": name, "namespace": "shop", "creationTimestamp": "2024-05-01T09:00:00Z"},
            "involvedObject": {"kind": "Pod", "name": "api-1", "namespace": "shop"},
            "reason": "BackOff", "message": "Back-off restarting failed container",
            "type": "Warning", "source": {"component": "kubelet", "host": "node-1"},
        });
        if let (Some(base), Some(extra)) = (value.as_object_mut(), extra.as_object()) {
            base.extend(extra.clone());
        }
        event_row(&serde_json::from_value(value).unwrap())
    }

    #[test]
    fn times_and_counts_as_kubectl_reads_them() {
        let legacy = event(
            "a",
            json!({"count": 12, "firstTimestamp": "2024-05-01T10:00:00Z",
            "lastTimestamp": "2024-05-01T10:05:00Z"}),
        );
        assert_eq!(legacy.count, 12);
        assert_eq!(legacy.first, Some(at("2024-05-01T10:00:00Z")));
        assert_eq!(legacy.last, Some(at("2024-05-01T10:05:00Z")));
        assert_eq!(legacy.source, "kubelet, node-1");
        assert!(legacy.warning);
        let series = event(
            "b",
            json!({"eventTime": "2024-05-01T10:00:00.000000Z",
            "series": {"count": 4, "lastObservedTime": "2024-05-01T10:03:00.000000Z"},
            "source": {}, "reportingComponent": "scheduler"}),
        );
        assert_eq!(series.count, 4);
        assert_eq!(series.first, Some(at("2024-05-01T10:00:00Z")));
        assert_eq!(series.last, Some(at("2024-05-01T10:03:00Z")));
        assert_eq!(series.source, "scheduler");
        let bare = event("c", json!({"type": "Normal"}));
        assert_eq!(bare.count, 1);
        assert_eq!(
            bare.first,
            Some(at("2024-05-01T09:00:00Z")),
            "creation stands in"
        );
        assert_eq!(bare.last, bare.first);
        assert!(!bare.warning);
        let empty = event_row(&Event::default());
        assert_eq!((empty.count, empty.first), (1, None));
    }

    #[test]
    fn grouped_by_object_and_reason_newest_first() {
        let rows = [
            event(
                "a",
                json!({"count": 10, "firstTimestamp": "2024-05-01T10:00:00Z",
                "lastTimestamp": "2024-05-01T10:04:00Z", "message": "older"}),
            ),
            event(
                "b",
                json!({"count": 2, "firstTimestamp": "2024-05-01T10:01:00Z",
                "lastTimestamp": "2024-05-01T10:05:00Z", "message": "newest"}),
            ),
            event(
                "c",
                json!({"reason": "Unhealthy", "lastTimestamp": "2024-05-01T10:06:00Z",
                "firstTimestamp": "2024-05-01T10:06:00Z"}),
            ),
            event(
                "d",
                json!({"type": "Normal", "reason": "Pulled", "lastTimestamp": "2024-05-01T10:07:00Z"}),
            ),
            event(
                "e",
                json!({"involvedObject": {"kind": "Node", "name": "node-1"},
                "reason": "BackOff", "lastTimestamp": "2024-05-01T09:30:00Z"}),
            ),
        ];
        let groups = group_events(rows.iter(), true);
        let summary: Vec<(&str, &str, u32)> = groups
            .iter()
            .map(|g| (g.involved_name.as_str(), g.reason.as_str(), g.count))
            .collect();
        assert_eq!(
            summary,
            [
                ("api-1", "Unhealthy", 1),
                ("api-1", "BackOff", 12),
                ("node-1", "BackOff", 1)
            ]
        );
        let backoff = &groups[1];
        assert_eq!(backoff.message, "newest");
        assert_eq!(backoff.first, Some(at("2024-05-01T10:00:00Z")));
        assert_eq!(backoff.last, Some(at("2024-05-01T10:05:00Z")));
        assert_eq!(
            count_text(backoff, at("2024-05-01T10:05:00Z")),
            "x12 over 5m"
        );
        assert_eq!(count_text(&groups[0], at("2024-05-01T10:06:00Z")), "");
        let all = group_events(rows.iter(), false);
        assert_eq!(all.len(), 4);
        assert_eq!(all[0].reason, "Pulled");
    }
}
