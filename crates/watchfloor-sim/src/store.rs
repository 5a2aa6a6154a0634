//! Object storage with one global resourceVersion counter and a compacting event log.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Bound;
use std::sync::Arc;

use serde_json::{Value, json};

use super::clock::SimClock;
use super::resources::Res;
use super::status::ApiError;
use super::util::fresh_uid;

/// `(namespace, name)`; namespace is "" for cluster-scoped kinds.
pub type Key = (String, String);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One entry of the watch event log.
#[derive(Debug, Clone)]
pub struct LogEntry {
    pub rv: u64,
    pub res: Res,
    pub kind: EventType,
    pub object: Arc<Value>,
}

/// Events kept before the log is compacted on its own.
const MAX_LOG: usize = 50_000;

#[derive(Debug, Default)]
pub struct Store {
    /// The world's clock: the apiserver stamps objects with it.
    pub clock: SimClock,
    rv: u64,
    objects: HashMap<Res, BTreeMap<Key, Arc<Value>>>,
    log: VecDeque<LogEntry>,
    /// Every event with `rv <= compacted` is gone from the log.
    compacted: u64,
}

pub fn key_of(obj: &Value) -> Key {
    let meta = &obj["metadata"];
    (
        meta["namespace"].as_str().unwrap_or("").to_string(),
        meta["name"].as_str().unwrap_or("").to_string(),
    )
}

pub fn rv_of(obj: &Value) -> u64 {
    obj["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

impl Store {
    pub fn rv(&self) -> u64 {
        self.rv
    }

    /// Drop the whole event log and move the RV on: a watch from any earlier RV gets 410 Expired.
    pub fn compact(&mut self) {
        self.rv += 1;
        self.log.clear();
        self.compacted = self.rv;
    }

    pub fn get(&self, res: Res, ns: &str, name: &str) -> Option<Arc<Value>> {
        self.objects
            .get(&res)?
            .get(&(ns.to_string(), name.to_string()))
            .cloned()
    }

    pub fn count(&self, res: Res) -> usize {
        self.objects.get(&res).map_or(0, BTreeMap::len)
    }

    /// Objects of `res` in key order, optionally in one namespace, strictly after `after`.
    pub fn iter<'a>(
        &'a self,
        res: Res,
        ns: Option<&'a str>,
        after: Option<&Key>,
    ) -> Box<dyn Iterator<Item = &'a Arc<Value>> + 'a> {
        let Some(map) = self.objects.get(&res) else {
            return Box::new(std::iter::empty());
        };
        let start = match (after, ns) {
            (Some(k), _) => Bound::Excluded(k.clone()),
            (None, Some(ns)) => Bound::Included((ns.to_string(), String::new())),
            (None, None) => Bound::Unbounded,
        };
        let it = map.range((start, Bound::Unbounded)).map(|(_, v)| v);
        match ns {
            Some(ns) => Box::new(it.take_while(move |v| v["metadata"]["namespace"] == ns)),
            None => Box::new(it),
        }
    }

    fn bump(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    fn record(&mut self, res: Res, kind: EventType, object: Arc<Value>) {
        self.log.push_back(LogEntry {
            rv: self.rv,
            res,
            kind,
            object,
        });
        if self.log.len() > MAX_LOG {
            let drop = self.log.len() - MAX_LOG / 2;
            for _ in 0..drop {
                if let Some(e) = self.log.pop_front() {
                    self.compacted = e.rv;
                }
            }
        }
    }

    /// Fill server-owned metadata and insert a new object; `AlreadyExists` if present.
    pub fn create(&mut self, res: Res, mut obj: Value) -> Result<Arc<Value>, ApiError> {
        let key = key_of(&obj);
        if key.1.is_empty() {
            return Err(ApiError::invalid(res, "", "metadata.name: Required value"));
        }
        if self.get(res, &key.0, &key.1).is_some() {
            return Err(ApiError::already_exists(res, &key.1));
        }
        obj["kind"] = json!(res.kind());
        obj["apiVersion"] = json!(res.api_version());
        let meta = &mut obj["metadata"];
        if meta.get("uid").is_none_or(|u| !u.is_string()) {
            meta["uid"] = json!(fresh_uid());
        }
        if meta.get("creationTimestamp").is_none_or(|t| !t.is_string()) {
            meta["creationTimestamp"] = json!(self.clock.rfc3339());
        }
        if res.tracks_generation() {
            meta["generation"] = json!(1);
        }
        if let Some(m) = meta.as_object_mut() {
            m.remove("deletionTimestamp");
        }
        Ok(self.put(res, obj))
    }

    /// Store `obj` (insert or replace), bump RV and record ADDED/MODIFIED.
    pub fn put(&mut self, res: Res, mut obj: Value) -> Arc<Value> {
        let rv = self.bump();
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        let key = key_of(&obj);
        let obj = Arc::new(obj);
        let previous = self
            .objects
            .entry(res)
            .or_default()
            .insert(key, obj.clone());
        let kind = if previous.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.record(res, kind, obj.clone());
        obj
    }

    /// Insert without recording an event (bulk scenario load; history starts compacted).
    pub fn load(&mut self, res: Res, mut obj: Value) {
        let rv = self.bump();
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        let key = key_of(&obj);
        self.objects
            .entry(res)
            .or_default()
            .insert(key, Arc::new(obj));
        self.compacted = self.rv;
    }

    /// Remove an object, recording DELETED with a fresh RV.
    pub fn remove(&mut self, res: Res, ns: &str, name: &str) -> Option<Arc<Value>> {
        let old = self
            .objects
            .get_mut(&res)?
            .remove(&(ns.to_string(), name.to_string()))?;
        let rv = self.bump();
        let mut obj = (*old).clone();
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        let obj = Arc::new(obj);
        self.record(res, EventType::Deleted, obj.clone());
        Some(obj)
    }

    /// Log entries with `rv > since`; `Err(oldest)` when `since` was compacted away.
    pub fn events_since(&self, since: u64) -> Result<&[LogEntry], u64> {
        if since < self.compacted {
            return Err(self.compacted);
        }
        let (a, b) = self.log.as_slices();
        // The log is tiny in tests; keep the lookup simple but logarithmic.
        let pos_a = a.partition_point(|e| e.rv <= since);
        if pos_a < a.len() {
            // The caller reads the remainder of `a` first, then comes back for `b`.
            return Ok(&a[pos_a..]);
        }
        let pos_b = b.partition_point(|e| e.rv <= since);
        Ok(&b[pos_b..])
    }
}
