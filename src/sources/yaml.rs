//! The YAML view's data: one object fetched fresh from the API server (a GET through the same
//! client as every other request), as `kubectl get -o yaml` prints it.

use kube::Resource;
use kube::api::{ApiResource, DynamicObject, GetParams, GroupVersionKind};
use kube::core::Request;
use tokio::sync::mpsc;

use super::kubernetes::{Purpose, connect_for, describe_error};
use crate::data::ObjectRef;
use crate::event::SourceEvent;
use watchfloor_core::config::KubernetesConfig;

/// Fetches `object` once and reports it (or why not) as `SourceEvent::Yaml`.
pub async fn run(
    config: KubernetesConfig,
    generation: u64,
    object: ObjectRef,
    tx: mpsc::Sender<SourceEvent>,
) {
    let yaml = fetch(&config, &object).await;
    let _ = tx
        .send(SourceEvent::Yaml {
            generation,
            object,
            yaml,
        })
        .await;
}

/// The object as YAML: the server's own JSON (keys in its order), not a typed round trip that
/// would drop fields this build does not know.
pub async fn fetch(config: &KubernetesConfig, object: &ObjectRef) -> Result<String, String> {
    let connection = connect_for(config, Purpose::Requests).await?;
    let gvk = GroupVersionKind::gvk(&object.group, &object.version, &object.kind);
    let resource = ApiResource::from_gvk_with_plural(&gvk, &object.plural);
    let url = DynamicObject::url_path(&resource, object.namespace.as_deref());
    let request = Request::new(url)
        .get(&object.name, &GetParams::default())
        .map_err(|e| format!("cannot ask for {}: {e}", object.label()))?;
    let text = connection
        .client
        .request_text(request)
        .await
        .map_err(|e| describe_error(&connection.server, &e))?;
    watchfloor_core::yaml::object_yaml(&text)
}
