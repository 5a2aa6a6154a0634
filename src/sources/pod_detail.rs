//! The pod detail view's data: the full pod fetched once, then its Events followed by watch
//! while the view is open.

use std::time::SystemTime;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Event as K8sEvent, Pod};
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use tokio::sync::mpsc;

use super::kubernetes::connect;
use crate::data::ObjectKey;
use crate::event::{EventRow, PodDetail, SourceEvent};
use crate::model::pods::container_details;
use watchfloor_core::config::KubernetesConfig;

/// How many events the view keeps (newest).
const MAX_EVENTS: usize = 50;

fn event_row(event: &K8sEvent) -> EventRow {
    let last_seen = event
        .last_timestamp
        .as_ref()
        .map(|t| SystemTime::from(t.0))
        .or_else(|| event.event_time.as_ref().map(|t| SystemTime::from(t.0)))
        .or_else(|| {
            event
                .metadata
                .creation_timestamp
                .as_ref()
                .map(|t| SystemTime::from(t.0))
        });
    EventRow {
        warning: event.type_.as_deref() == Some("Warning"),
        reason: event.reason.clone().unwrap_or_default(),
        message: event.message.clone().unwrap_or_default(),
        count: event.count.and_then(|c| u32::try_from(c).ok()).unwrap_or(1),
        last_seen,
    }
}

/// Runs until aborted (the view closed) or the console is gone.
pub async fn run(
    config: KubernetesConfig,
    generation: u64,
    key: ObjectKey,
    tx: mpsc::Sender<SourceEvent>,
) {
    let send = |detail: Result<PodDetail, String>| {
        let tx = tx.clone();
        let key = key.clone();
        async move {
            tx.send(SourceEvent::PodDetail {
                generation,
                key,
                detail,
            })
            .await
            .is_ok()
        }
    };
    let (namespace, name) = key.clone();
    let client = match connect(&config).await {
        Ok((client, _)) => client,
        Err(e) => {
            send(Err(e)).await;
            return;
        }
    };
    let pod = match Api::<Pod>::namespaced(client.clone(), &namespace)
        .get(&name)
        .await
    {
        Ok(pod) => pod,
        Err(e) => {
            send(Err(e.to_string())).await;
            return;
        }
    };
    let mut detail = PodDetail {
        containers: container_details(&pod),
        events: Vec::new(),
    };
    if !send(Ok(detail.clone())).await {
        return;
    }
    let events: Api<K8sEvent> = Api::namespaced(client, &namespace);
    let selector = format!("involvedObject.name={name},involvedObject.kind=Pod");
    let mut stream = watcher::watcher(events, watcher::Config::default().fields(&selector))
        .default_backoff()
        .boxed();
    let mut seen: std::collections::BTreeMap<String, EventRow> = std::collections::BTreeMap::new();
    while let Some(event) = stream.next().await {
        match event {
            Ok(Event::Init) => seen.clear(),
            Ok(Event::InitApply(e) | Event::Apply(e)) => {
                seen.insert(e.metadata.name.clone().unwrap_or_default(), event_row(&e));
            }
            Ok(Event::Delete(e)) => {
                seen.remove(&e.metadata.name.clone().unwrap_or_default());
            }
            Ok(Event::InitDone) => {}
            Err(e) => tracing::debug!(error = %e, "pod events watch"),
        }
        let mut rows: Vec<EventRow> = seen.values().cloned().collect();
        rows.sort_by_key(|row| std::cmp::Reverse(row.last_seen));
        rows.truncate(MAX_EVENTS);
        if rows != detail.events {
            detail.events = rows;
            if !send(Ok(detail.clone())).await {
                return;
            }
        }
    }
}
