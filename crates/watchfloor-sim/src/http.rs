//! Routing: one fallback handler parses Kubernetes REST paths and dispatches.

use std::sync::Arc;
use std::time::Duration;

use axum::body::to_bytes;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::response::Response;
use serde_json::{Value, json};

use super::Shared;
use super::discovery::{self, Features};
use super::faults::RequestRecord;
use super::logs::{self, LogQuery};
use super::metrics;
use super::patch::{self, PatchKind};
use super::policy::Attrs;
use super::resources::Res;
use super::respond;
use super::selectors::{FieldSelector, LabelSelector};
use super::status::{ApiError, success_status};
use super::table::{self, Include};
use super::util::{parse_query, parse_time};
use super::watch::{self, WatchParams};
use super::writes;

/// What a path names.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    Version,
    CoreVersions,
    Groups,
    Group(String),
    Resources(String, String),
    Ssar,
    Object {
        res: Res,
        ns: Option<String>,
        name: Option<String>,
        sub: Option<String>,
    },
    /// `/openapi/v2`: an empty document (kubectl apply's client-side validation downloads it
    /// and skips kinds it does not describe).
    OpenApiV2,
    /// metrics.k8s.io/v1beta1 (served only when the metrics API is installed).
    Metrics(metrics::Query),
    /// In a served group version, but no such resource: a `NotFound` Status.
    Unknown,
    /// Outside every served group version: kube-apiserver's plain-text `404 page not found`
    /// (what an uninstalled CRD or aggregated API answers).
    NoPage,
}

/// Whether `sub` is a subresource `res` has.
fn has_sub(res: Res, sub: Option<&str>) -> bool {
    match sub {
        None => true,
        Some("status") => res.has_status_subresource(),
        Some("log" | "eviction") => res == Res::Pod,
        Some("scale") => res == Res::Deployment,
        Some(_) => false,
    }
}

pub fn parse_path(path: &str, features: Features) -> Target {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (group, version, rest) = match segs.as_slice() {
        ["version"] => return Target::Version,
        ["openapi", "v2"] => return Target::OpenApiV2,
        ["api"] => return Target::CoreVersions,
        ["apis"] => return Target::Groups,
        ["apis", g] => return Target::Group((*g).to_string()),
        ["api", v] => return Target::Resources(String::new(), (*v).to_string()),
        ["apis", g, v] => return Target::Resources((*g).to_string(), (*v).to_string()),
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return Target::NoPage,
    };
    if discovery::resources(group, version, features).is_none() {
        return Target::NoPage;
    }
    if group == "metrics.k8s.io" {
        return metrics::Query::parse(rest).map_or(Target::Unknown, Target::Metrics);
    }
    if group == "authorization.k8s.io" && version == "v1" && rest == ["selfsubjectaccessreviews"] {
        return Target::Ssar;
    }
    let (ns, rest) = match rest {
        ["namespaces", ns, plural, tail @ ..]
            if Res::from_path(group, version, plural).is_some_and(Res::namespaced) =>
        {
            (Some((*ns).to_string()), [&[*plural][..], tail].concat())
        }
        other => (None, other.to_vec()),
    };
    let Some(res) = rest.first().and_then(|p| Res::from_path(group, version, p)) else {
        return Target::Unknown;
    };
    if rest.len() > 3
        || (res.namespaced() && ns.is_none() && rest.len() > 1)
        || !has_sub(res, rest.get(2).copied())
    {
        return Target::Unknown;
    }
    Target::Object {
        res,
        ns,
        name: rest.get(1).map(|s| (*s).to_string()),
        sub: rest.get(2).map(|s| (*s).to_string()),
    }
}

fn param<'a>(q: &'a [(String, String)], k: &str) -> Option<&'a str> {
    q.iter().find(|(a, _)| a == k).map(|(_, v)| v.as_str())
}

fn flag(q: &[(String, String)], k: &str) -> bool {
    matches!(param(q, k), Some("true") | Some("1") | Some("")) && q.iter().any(|(a, _)| a == k)
}

fn verb_of(method: &Method, target: &Target, q: &[(String, String)]) -> &'static str {
    match target {
        Target::Object { name, sub, .. } => match (method.as_str(), name.is_some(), sub.as_deref())
        {
            ("GET", false, _) if flag(q, "watch") => "watch",
            ("GET", false, _) => "list",
            ("GET", true, Some("log")) => "get",
            ("GET", true, _) => "get",
            ("POST", true, Some("eviction")) => "create",
            ("POST", _, _) => "create",
            ("PUT", _, _) => "update",
            ("PATCH", _, _) => "patch",
            ("DELETE", false, _) => "deletecollection",
            ("DELETE", true, _) => "delete",
            _ => "unknown",
        },
        Target::Ssar => "create",
        // Its own verb: pollers of the metrics API are counted apart from LISTs of watched kinds.
        Target::Metrics(_) => "metrics",
        Target::Unknown | Target::NoPage => "unknown",
        _ => "discovery",
    }
}

/// The axum fallback handler: every request comes through here.
pub async fn handle(State(sh): State<Arc<Shared>>, req: Request) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let raw_query = req.uri().query().unwrap_or("").to_string();
    let headers = req.headers().clone();
    let body = to_bytes(req.into_body(), 64 << 20)
        .await
        .unwrap_or_default();
    // The simulated Prometheus and health endpoint: no faults, not in the request log.
    match path.as_str() {
        "/api/v1/query" | "/api/v1/query_range" | "/api/v1/status/buildinfo" => {
            return super::prometheus::serve(&sh, &method, &path, &raw_query, &headers, &body);
        }
        "/healthz/detailed" => return super::health::serve(&sh, &method),
        "/sim/postgres" => return super::db::serve_postgres(&sh, &method, &body),
        "/sim/redis" => return super::db::serve_redis(&sh, &method),
        _ => {}
    }
    // The simulated Alertmanager and Prometheus alerting API: not in the request log either.
    if let Some(answer) = super::alerting::serve(&sh, &method, &path, &raw_query, &body) {
        return answer;
    }
    let latency = sh.faults.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let q = parse_query(&raw_query);
    let features = sh.with(|w| w.features);
    let target = parse_path(&path, features);
    let verb = verb_of(&method, &target, &q);
    let verb_label = match (&target, verb) {
        (Target::Object { sub: Some(s), .. }, "get") if s == "log" => "logs",
        _ => verb,
    };
    // A change to the world: not a read, not an access review, not a dry run.
    let is_change = method != axum::http::Method::GET
        && !path.ends_with("/selfsubjectaccessreviews")
        && !raw_query.contains("dryRun");
    let resp = match sh.faults.take_failure_for(is_change) {
        Some(code) => respond::error(&ApiError::injected(code)),
        None => match dispatch(&sh, &method, target, verb, &q, &headers, &body, features) {
            Ok(r) => r,
            Err(e) => respond::error(&e),
        },
    };
    sh.faults.record(RequestRecord {
        method: method.to_string(),
        path,
        query: raw_query,
        status: resp.status().as_u16(),
        verb: verb_label.to_string(),
    });
    resp
}

#[allow(clippy::too_many_arguments)]
fn dispatch(
    sh: &Arc<Shared>,
    method: &Method,
    target: Target,
    verb: &str,
    q: &[(String, String)],
    headers: &HeaderMap,
    body: &[u8],
    features: Features,
) -> Result<Response, ApiError> {
    let get_only = |v: Option<Value>| match v {
        None => Ok(respond::page_not_found()),
        Some(_) if method != Method::GET => Err(ApiError::method_not_allowed()),
        Some(v) => Ok(respond::json(200, &v)),
    };
    match target {
        Target::Version => get_only(Some(discovery::version())),
        Target::CoreVersions => get_only(Some(discovery::core_versions(sh.addr()))),
        Target::Groups => get_only(Some(discovery::groups(features))),
        Target::Group(g) => get_only(discovery::group(&g, features)),
        Target::Resources(g, v) => get_only(discovery::resources(&g, &v, features)),
        Target::NoPage => Ok(respond::page_not_found()),
        Target::OpenApiV2 if method == Method::GET => {
            let accept = headers
                .get(header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            // client-go asks for protobuf, where an empty body is an empty Document.
            if accept.contains("protobuf") {
                Ok(respond::raw(200, discovery::OPENAPI_V2_PROTOBUF, ""))
            } else {
                Ok(respond::json(200, &discovery::openapi_v2()))
            }
        }
        Target::OpenApiV2 => Err(ApiError::method_not_allowed()),
        Target::Metrics(query) => {
            if method != Method::GET {
                return Err(ApiError::method_not_allowed());
            }
            let labels = LabelSelector::parse(param(q, "labelSelector").unwrap_or(""))
                .map_err(ApiError::bad_request)?;
            let fields = FieldSelector::parse(param(q, "fieldSelector").unwrap_or(""))
                .map_err(ApiError::bad_request)?;
            let doc = sh.with(|w| metrics::serve(w, &query, &labels, &fields))?;
            Ok(respond::json(200, &doc))
        }
        Target::Ssar => {
            if method != Method::POST {
                return Err(ApiError::method_not_allowed());
            }
            let ct = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if ct.starts_with("application/vnd.kubernetes.protobuf") {
                let req = super::proto::decode_ssar(body).ok_or_else(|| {
                    ApiError::bad_request("error decoding protobuf SelfSubjectAccessReview")
                })?;
                return ssar(sh, req.to_string().as_bytes());
            }
            ssar(sh, body)
        }
        Target::Unknown => Err(ApiError::page_not_found()),
        Target::Object { res, ns, name, sub } => {
            let attrs = Attrs {
                verb: verb.to_string(),
                group: if sub.as_deref() == Some("eviction") {
                    String::new()
                } else {
                    res.group().to_string()
                },
                resource: res.plural().to_string(),
                subresource: sub.clone().unwrap_or_default(),
                namespace: ns.clone().unwrap_or_default(),
            };
            if !sh.with(|w| w.policy.allowed(&attrs)) {
                let label = match &sub {
                    Some(s) => format!("{}/{s}", res.plural()),
                    None => res.plural().to_string(),
                };
                return Err(ApiError::forbidden(
                    verb,
                    &label,
                    res.group(),
                    ns.as_deref().unwrap_or(""),
                    name.as_deref().unwrap_or(""),
                ));
            }
            object(sh, method, res, ns, name, sub, q, headers, body)
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn object(
    sh: &Arc<Shared>,
    method: &Method,
    res: Res,
    ns: Option<String>,
    name: Option<String>,
    sub: Option<String>,
    q: &[(String, String)],
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    let nss = ns.clone().unwrap_or_default();
    let dry_run = param(q, "dryRun") == Some("All");
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    // kubectl 1.32 sends typed clients' bodies as protobuf: read the kinds proto.rs knows,
    // refuse the rest as kube-apiserver refuses an unknown media type.
    let decoded;
    let body = if ctype.starts_with("application/vnd.kubernetes.protobuf") && !body.is_empty() {
        decoded = super::proto::decode_object(body)
            .filter(|v| method == Method::POST && v["kind"] == res.kind())
            .ok_or_else(|| {
                ApiError::unsupported_media(
                    "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml",
                )
            })?
            .to_string();
        decoded.as_bytes()
    } else {
        body
    };
    // Server-side printing: `kubectl get` asks for a Table first (kubetui only for one).
    let as_table = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(table::wants_table)
        .then(|| Include::parse(param(q, "includeObject")));
    match (method.as_str(), name, sub.as_deref()) {
        ("GET", None, None) => {
            let labels = LabelSelector::parse(param(q, "labelSelector").unwrap_or(""))
                .map_err(ApiError::bad_request)?;
            let fields = FieldSelector::parse(param(q, "fieldSelector").unwrap_or(""))
                .map_err(ApiError::bad_request)?;
            if flag(q, "watch") {
                let timeout = param(q, "timeoutSeconds")
                    .and_then(|s| s.parse::<u64>().ok())
                    .filter(|s| *s > 0)
                    .map(Duration::from_secs);
                return watch::start(
                    sh.clone(),
                    WatchParams {
                        res,
                        ns,
                        labels,
                        fields,
                        rv: param(q, "resourceVersion").map(String::from),
                        bookmarks: flag(q, "allowWatchBookmarks"),
                        send_initial: flag(q, "sendInitialEvents"),
                        timeout,
                        table: as_table,
                    },
                );
            }
            let limit = param(q, "limit")
                .and_then(|s| s.parse::<usize>().ok())
                .filter(|n| *n > 0);
            let body = writes::list(
                sh,
                res,
                ns.as_deref(),
                &labels,
                &fields,
                limit,
                param(q, "continue"),
                as_table,
            )?;
            Ok(respond::json_string(200, body))
        }
        ("GET", Some(n), None) | ("GET", Some(n), Some("status")) => {
            let obj = sh
                .with(|w| w.store.get(res, &nss, &n))
                .ok_or_else(|| ApiError::not_found(res, &n))?;
            match as_table {
                Some(include) => {
                    let now = sh.with(|w| w.store.clock.wall());
                    let meta = json!({"resourceVersion": obj["metadata"]["resourceVersion"]});
                    let row = table::row(res, &obj, now, include);
                    Ok(respond::json_string(200, table::table(res, &meta, &row)))
                }
                None => Ok(respond::json(200, &obj)),
            }
        }
        ("GET", Some(n), Some("log")) if res == Res::Pod => {
            let num = |k: &str| param(q, k).and_then(|s| s.parse::<i64>().ok());
            let lq = LogQuery {
                container: param(q, "container").map(String::from),
                follow: flag(q, "follow"),
                previous: flag(q, "previous"),
                tail: num("tailLines").filter(|n| *n >= 0).map(|n| n as usize),
                since_seconds: num("sinceSeconds"),
                since_time: param(q, "sinceTime").and_then(parse_time),
                timestamps: flag(q, "timestamps"),
                limit_bytes: num("limitBytes").filter(|n| *n > 0).map(|n| n as usize),
            };
            logs::serve(sh.clone(), &nss, &n, lq)
        }
        ("GET", Some(n), Some("scale")) if res == Res::Deployment => {
            let d = sh
                .with(|w| w.store.get(res, &nss, &n))
                .ok_or_else(|| ApiError::not_found(res, &n))?;
            Ok(respond::json(200, &writes::scale_of(&d)))
        }
        ("POST", None, None) => {
            let obj: Value = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding body: {e}")))?;
            let created = writes::create(sh, res, ns.as_deref(), obj, dry_run)?;
            Ok(respond::json(201, &created))
        }
        ("POST", Some(n), Some("eviction")) if res == Res::Pod => {
            let grace = sh
                .with(|w| w.store.get(res, &nss, &n))
                .ok_or_else(|| ApiError::not_found(res, &n))?["spec"]["terminationGracePeriodSeconds"]
                .as_u64()
                .unwrap_or(30);
            if !dry_run {
                sh.with(|w| w.delete_pod(&nss, &n, grace));
            }
            Ok(respond::json(
                201,
                &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
            ))
        }
        ("PUT", Some(n), sub) => {
            let obj: Value = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding body: {e}")))?;
            let out = writes::replace(sh, res, &nss, &n, sub, obj, dry_run)?;
            Ok(respond::json(200, &out))
        }
        ("PATCH", Some(n), sub) => {
            let kind = patch::kind_from_content_type(ctype)?;
            if kind == PatchKind::Strategic && res.is_custom() {
                return Err(ApiError::unsupported_media(
                    "strategic merge patch is not supported for custom resources",
                ));
            }
            let out = writes::patch(sh, res, &nss, &n, sub, kind, body, dry_run)?;
            Ok(respond::json(200, &out))
        }
        ("DELETE", Some(n), None) => {
            let opts: Value = if body.iter().all(u8::is_ascii_whitespace) {
                json!({})
            } else {
                serde_json::from_slice(body).map_err(|e| {
                    ApiError::bad_request(format!("error decoding DeleteOptions: {e}"))
                })?
            };
            let grace = opts["gracePeriodSeconds"]
                .as_i64()
                .or_else(|| param(q, "gracePeriodSeconds").and_then(|s| s.parse().ok()));
            let dry = dry_run
                || opts["dryRun"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|v| v == "All"));
            match writes::delete(sh, res, &nss, &n, grace, &opts["preconditions"], dry)? {
                writes::Deleted::Object(v) => Ok(respond::json(200, &v)),
                writes::Deleted::Gone(uid) => {
                    Ok(respond::json(200, &success_status(res, &n, &uid)))
                }
            }
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

fn ssar(sh: &Arc<Shared>, body: &[u8]) -> Result<Response, ApiError> {
    let req: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("error decoding body: {e}")))?;
    let spec = req["spec"].clone();
    let ra = &spec["resourceAttributes"];
    let s = |v: &Value| v.as_str().unwrap_or("").to_string();
    let allowed = if ra.is_object() {
        let attrs = Attrs {
            verb: s(&ra["verb"]),
            group: s(&ra["group"]),
            resource: s(&ra["resource"]),
            subresource: s(&ra["subresource"]),
            namespace: s(&ra["namespace"]),
        };
        sh.with(|w| w.policy.allowed(&attrs))
    } else {
        true
    };
    let mut status = json!({"allowed": allowed});
    if allowed {
        status["reason"] = json!("allowed by the simulated policy");
    } else {
        status["denied"] = json!(true);
    }
    Ok(respond::json(
        201,
        &json!({
            "kind": "SelfSubjectAccessReview",
            "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": null},
            "spec": spec,
            "status": status,
        }),
    ))
}
