//! Server-side printing: the meta.k8s.io/v1 `Table` kube-apiserver answers when a client's
//! Accept asks `application/json;as=Table;v=v1;g=meta.k8s.io` (`kubectl get`, kubetui). One
//! function per kind gives its columns and cells, as kube-apiserver's printers
//! (pkg/printers/internalversion) and cert-manager's additionalPrinterColumns define them;
//! kubectl adds the NAMESPACE column itself for `-A`, from each row's object.

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::resources::Res;
use super::util::parse_time;

/// How much of each object a row carries (`includeObject`): kubectl's default is Metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Include {
    None,
    Metadata,
    Object,
}

impl Include {
    /// From the `includeObject` query parameter (unknown values: the default).
    pub fn parse(v: Option<&str>) -> Include {
        match v {
            Some("None") => Include::None,
            Some("Object") => Include::Object,
            _ => Include::Metadata,
        }
    }
}

/// Whether an Accept header asks for a Table (any of its alternatives).
pub fn wants_table(accept: &str) -> bool {
    accept.split(',').any(|alt| {
        let params: Vec<&str> = alt.split(';').map(str::trim).collect();
        params.first() == Some(&"application/json")
            && params.contains(&"as=Table")
            && params.contains(&"g=meta.k8s.io")
    })
}

/// One column: name, type, priority (0 = always; 1 = `-o wide`), description.
struct Col(&'static str, &'static str, u8, &'static str);

const NAME: Col = Col(
    "Name",
    "string",
    0,
    "Name must be unique within a namespace.",
);
const AGE: Col = Col(
    "Age",
    "string",
    0,
    "CreationTimestamp is a timestamp representing the server time when this object was created.",
);
const CONTAINERS: Col = Col(
    "Containers",
    "string",
    1,
    "Names of each container in the template.",
);
const IMAGES: Col = Col(
    "Images",
    "string",
    1,
    "Images referenced by each container in the template.",
);
const SELECTOR: Col = Col("Selector", "string", 1, "Label selector for pods.");

fn columns(res: Res) -> Vec<Col> {
    match res {
        Res::Pod => vec![
            NAME,
            Col(
                "Ready",
                "string",
                0,
                "The aggregate readiness state of this pod for accepting traffic.",
            ),
            Col(
                "Status",
                "string",
                0,
                "The aggregate status of the containers in this pod.",
            ),
            Col(
                "Restarts",
                "string",
                0,
                "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
            ),
            AGE,
            Col("IP", "string", 1, "IP address allocated to the pod."),
            Col("Node", "string", 1, "Name of the Node this pod runs on."),
            Col(
                "Nominated Node",
                "string",
                1,
                "Name of the node nominated by the scheduler.",
            ),
            Col("Readiness Gates", "string", 1, "Pod readiness gates."),
        ],
        Res::Deployment => vec![
            NAME,
            Col("Ready", "string", 0, "Number of the pod with ready state"),
            Col(
                "Up-to-date",
                "integer",
                0,
                "Total number of non-terminated pods targeted by this deployment that have the desired template spec.",
            ),
            Col(
                "Available",
                "integer",
                0,
                "Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.",
            ),
            AGE,
            CONTAINERS,
            IMAGES,
            SELECTOR,
        ],
        Res::ReplicaSet => vec![
            NAME,
            Col(
                "Desired",
                "integer",
                0,
                "Replicas is the number of desired replicas.",
            ),
            Col(
                "Current",
                "integer",
                0,
                "Replicas is the most recently observed number of replicas.",
            ),
            Col(
                "Ready",
                "integer",
                0,
                "The number of ready replicas for this replica set.",
            ),
            AGE,
            CONTAINERS,
            IMAGES,
            SELECTOR,
        ],
        Res::StatefulSet => vec![
            NAME,
            Col("Ready", "string", 0, "Number of the pod with ready state"),
            AGE,
            CONTAINERS,
            IMAGES,
        ],
        Res::DaemonSet => vec![
            NAME,
            Col(
                "Desired",
                "integer",
                0,
                "The total number of nodes that should be running the daemon pod.",
            ),
            Col(
                "Current",
                "integer",
                0,
                "The number of nodes that are running at least 1 daemon pod.",
            ),
            Col(
                "Ready",
                "integer",
                0,
                "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.",
            ),
            Col(
                "Up-to-date",
                "integer",
                0,
                "The total number of nodes that are running updated daemon pod",
            ),
            Col(
                "Available",
                "integer",
                0,
                "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available.",
            ),
            Col(
                "Node Selector",
                "string",
                0,
                "NodeSelector is a selector which must be true for the pod to fit on a node.",
            ),
            AGE,
            CONTAINERS,
            IMAGES,
            SELECTOR,
        ],
        Res::Job => vec![
            NAME,
            Col("Status", "string", 0, "Status of the job."),
            Col(
                "Completions",
                "string",
                0,
                "The desired number of successfully finished pods the job should be run with.",
            ),
            Col(
                "Duration",
                "string",
                0,
                "Time required to complete the job.",
            ),
            AGE,
            CONTAINERS,
            IMAGES,
            SELECTOR,
        ],
        Res::CronJob => vec![
            NAME,
            Col("Schedule", "string", 0, "The schedule in Cron format."),
            Col(
                "Timezone",
                "string",
                0,
                "The time zone name for the given schedule.",
            ),
            Col(
                "Suspend",
                "boolean",
                0,
                "This flag tells the controller to suspend subsequent executions.",
            ),
            Col(
                "Active",
                "integer",
                0,
                "A list of pointers to currently running jobs.",
            ),
            Col(
                "Last Schedule",
                "string",
                0,
                "Information when was the last time the job was successfully scheduled.",
            ),
            AGE,
            CONTAINERS,
            IMAGES,
            SELECTOR,
        ],
        Res::HorizontalPodAutoscaler => vec![
            NAME,
            Col("Reference", "string", 0, "Reference to target resource"),
            Col("Targets", "string", 0, "Current and target utilization"),
            Col("MinPods", "string", 0, "Minimum number of replicas"),
            Col("MaxPods", "integer", 0, "Maximum number of replicas"),
            Col("Replicas", "integer", 0, "Current number of replicas"),
            AGE,
        ],
        Res::Node => vec![
            NAME,
            Col("Status", "string", 0, "The status of the node"),
            Col("Roles", "string", 0, "The roles of the node"),
            AGE,
            Col(
                "Version",
                "string",
                0,
                "Kubelet Version reported by the node.",
            ),
            Col(
                "Internal-IP",
                "string",
                1,
                "List of addresses reachable to the node. Queried from cloud provider, if available.",
            ),
            Col(
                "External-IP",
                "string",
                1,
                "List of addresses reachable to the node. Queried from cloud provider, if available.",
            ),
            Col(
                "OS-Image",
                "string",
                1,
                "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
            ),
            Col(
                "Kernel-Version",
                "string",
                1,
                "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
            ),
            Col(
                "Container-Runtime",
                "string",
                1,
                "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
            ),
        ],
        Res::Namespace => vec![
            NAME,
            Col("Status", "string", 0, "The status of the namespace"),
            AGE,
        ],
        Res::Event => vec![
            Col(
                "Last Seen",
                "string",
                0,
                "The last time this event was seen.",
            ),
            Col(
                "Type",
                "string",
                0,
                "Type of this event (Normal, Warning), new types could be added in the future.",
            ),
            Col(
                "Reason",
                "string",
                0,
                "This should be a short, machine understandable string that gives the reason for this event being generated.",
            ),
            Col(
                "Object",
                "string",
                0,
                "The object that this event is about.",
            ),
            Col(
                "Subobject",
                "string",
                1,
                "The subobject that this event is about.",
            ),
            Col("Source", "string", 1, "The component reporting this event."),
            Col(
                "Message",
                "string",
                0,
                "A human-readable description of the status of this operation.",
            ),
            Col(
                "First Seen",
                "string",
                1,
                "The first time this event was seen.",
            ),
            Col(
                "Count",
                "string",
                1,
                "The number of times this event has occurred.",
            ),
            Col(
                "Name",
                "string",
                1,
                "Name must be unique within a namespace.",
            ),
        ],
        Res::Secret => vec![
            NAME,
            Col("Type", "string", 0, "The type of the secret"),
            Col("Data", "integer", 0, "The number of entries in the secret"),
            AGE,
        ],
        Res::Ingress => vec![
            NAME,
            Col(
                "Class",
                "string",
                0,
                "The name of the IngressClass resource that should be used for ingress.",
            ),
            Col(
                "Hosts",
                "string",
                0,
                "Hosts that incoming requests are matched against before the ingress rule",
            ),
            Col(
                "Address",
                "string",
                0,
                "Address is a list containing ingress points for the load-balancer",
            ),
            Col(
                "Ports",
                "string",
                0,
                "Ports of TLS configurations that open",
            ),
            AGE,
        ],
        Res::PodDisruptionBudget => vec![
            NAME,
            Col(
                "Min Available",
                "string",
                0,
                "The minimum number of pods that must be available.",
            ),
            Col(
                "Max Unavailable",
                "string",
                0,
                "The maximum number of pods that may be unavailable.",
            ),
            Col(
                "Allowed Disruptions",
                "integer",
                0,
                "Calculated number of pods that may be disrupted at this time.",
            ),
            AGE,
        ],
        // cert-manager's additionalPrinterColumns (Age is a `date` column there).
        Res::Certificate => vec![
            NAME,
            Col("Ready", "string", 0, ""),
            Col("Secret", "string", 0, ""),
            Col("Issuer", "string", 1, ""),
            Col("Status", "string", 1, ""),
            Col(
                "Age",
                "date",
                0,
                "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.",
            ),
        ],
        Res::CustomResourceDefinition => vec![NAME, Col("Created At", "date", 0, "")],
        // A CRD without printer columns: what kube-apiserver's default table shows.
        Res::ResourceClaim => vec![NAME, AGE],
    }
}

fn column_definitions(res: Res) -> Vec<Value> {
    columns(res)
        .into_iter()
        .map(|Col(name, ty, priority, description)| {
            let format = if name == "Name" && priority == 0 {
                "name"
            } else {
                ""
            };
            json!({"name": name, "type": ty, "format": format, "description": description, "priority": priority})
        })
        .collect()
}

/// kubectl's `duration.HumanDuration`: "45s", "3m20s", "2h5m", "36h", "4d5h", "120d", "2y30d".
pub fn human_duration(secs: i64) -> String {
    if secs < -1 {
        return "<invalid>".into();
    }
    if secs < 0 {
        return "0s".into();
    }
    if secs < 120 {
        return format!("{secs}s");
    }
    let minutes = secs / 60;
    if minutes < 10 {
        return match secs % 60 {
            0 => format!("{minutes}m"),
            s => format!("{minutes}m{s}s"),
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        return match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h{m}m"),
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        return match hours % 24 {
            0 => format!("{}d", hours / 24),
            h => format!("{}d{h}h", hours / 24),
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        return match (hours / 24) % 365 {
            0 => format!("{}y", hours / 24 / 365),
            d => format!("{}y{d}d", hours / 24 / 365),
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// The age of a timestamp field, or `<unknown>` as kubectl prints a missing one.
fn since(ts: &Value, now: OffsetDateTime) -> String {
    match ts.as_str().and_then(parse_time) {
        Some(t) => human_duration((now - t).whole_seconds()),
        None => "<unknown>".into(),
    }
}

fn age(o: &Value, now: OffsetDateTime) -> Value {
    json!(since(&o["metadata"]["creationTimestamp"], now))
}

fn name(o: &Value) -> Value {
    o["metadata"]["name"].clone()
}

fn int(v: &Value) -> Value {
    json!(v.as_i64().unwrap_or(0))
}

fn str_or_none(v: &Value) -> Value {
    match v.as_str() {
        Some(s) if !s.is_empty() => json!(s),
        _ => json!("<none>"),
    }
}

/// Containers, images and selector of a workload's pod template (the `-o wide` columns).
fn template_cells(o: &Value, with_selector: bool) -> Vec<Value> {
    let cs = o["spec"]["template"]["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let join = |k: &str| {
        cs.iter()
            .filter_map(|c| c[k].as_str())
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut out = vec![json!(join("name")), json!(join("image"))];
    if with_selector {
        out.push(json!(selector_string(&o["spec"]["selector"])));
    }
    out
}

fn selector_string(sel: &Value) -> String {
    let mut parts: Vec<String> = sel["matchLabels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect()
        })
        .unwrap_or_default();
    for e in sel["matchExpressions"].as_array().into_iter().flatten() {
        let vals: Vec<&str> = e["values"]
            .as_array()
            .map(|vs| vs.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let key = e["key"].as_str().unwrap_or("");
        parts.push(match e["operator"].as_str().unwrap_or("") {
            "In" => format!("{key} in ({})", vals.join(",")),
            "NotIn" => format!("{key} notin ({})", vals.join(",")),
            "Exists" => key.to_string(),
            _ => format!("!{key}"),
        });
    }
    if parts.is_empty() {
        "<none>".into()
    } else {
        parts.join(",")
    }
}

fn pod(o: &Value, now: OffsetDateTime) -> Vec<Value> {
    let st = &o["status"];
    let statuses = st["containerStatuses"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let total = o["spec"]["containers"].as_array().map_or(0, Vec::len);
    let ready = statuses.iter().filter(|c| c["ready"] == true).count();
    let restarts: u64 = statuses
        .iter()
        .map(|c| c["restartCount"].as_u64().unwrap_or(0))
        .sum();
    let last_restart = statuses
        .iter()
        .filter_map(|c| c["lastState"]["terminated"]["finishedAt"].as_str())
        .filter_map(parse_time)
        .max();
    let restarts = match last_restart {
        Some(t) if restarts > 0 => format!(
            "{restarts} ({} ago)",
            human_duration((now - t).whole_seconds())
        ),
        _ => restarts.to_string(),
    };
    let mut reason = st["reason"]
        .as_str()
        .or_else(|| st["phase"].as_str())
        .unwrap_or("Unknown")
        .to_string();
    for c in &statuses {
        if let Some(r) = c["state"]["waiting"]["reason"]
            .as_str()
            .filter(|r| !r.is_empty())
        {
            reason = r.to_string();
        } else if let Some(r) = c["state"]["terminated"]["reason"].as_str() {
            reason = r.to_string();
        }
    }
    if o["metadata"]
        .get("deletionTimestamp")
        .is_some_and(|d| !d.is_null())
    {
        reason = "Terminating".into();
    }
    let ip = st["podIP"].as_str().unwrap_or("<none>");
    vec![
        name(o),
        json!(format!("{ready}/{total}")),
        json!(reason),
        json!(restarts),
        age(o, now),
        json!(ip),
        str_or_none(&o["spec"]["nodeName"]),
        str_or_none(&st["nominatedNodeName"]),
        json!("<none>"),
    ]
}

fn deployment(o: &Value, now: OffsetDateTime) -> Vec<Value> {
    let (spec, st) = (&o["spec"], &o["status"]);
    let mut out = vec![
        name(o),
        json!(format!(
            "{}/{}",
            st["readyReplicas"].as_u64().unwrap_or(0),
            spec["replicas"].as_u64().unwrap_or(0)
        )),
        int(&st["updatedReplicas"]),
        int(&st["availableReplicas"]),
        age(o, now),
    ];
    out.extend(template_cells(o, true));
    out
}

fn replicaset(o: &Value, now: OffsetDateTime) -> Vec<Value> {
    let mut out = vec![
        name(o),
        int(&o["spec"]["replicas"]),
        int(&o["status"]["replicas"]),
        int(&o["status"]["readyReplicas"]),
        age(o, now),
    ];
    out.extend(template_cells(o, true));
    out
}

fn statefulset(o: &Value, now: OffsetDateTime) -> Vec<Value> {
    let mut out = vec![
        name(o),
        json!(format!(
            "{}/{}",
            o["status"]["readyReplicas"].as_u64().unwrap_or(0),
            o["spec"]["replicas"].as_u64().unwrap_or(1)
        )),
        age(o, now),
    ];
    out.extend(template_cells(o, false));
    out
}

fn daemonset(o: &Value, now: OffsetDateTime) -> Vec<Value> {
    let st = &o["status"];
    let node_selector = o["spec"]["template"]["spec"]["nodeSelector"]
        .as_object()
        .filter(|m| !m.is_empty())
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_else(|| "<none>".into());
    let mut out = vec![
        name(o),
        int(&st["desiredNumberScheduled"]),
        int(&st["currentNumberScheduled"]),
        int(&st["numberReady"]),
        int(&st["updatedNumberScheduled"]),
        int(&st["numberAvailable"]),
        json!(node_selector),
        age(o, now),
    ];
    out.extend(template_cells(o, true));
    out
}

fn condition<'a>(o: &'a Value, ty: &str) -> Option<&'a Value> {
    o["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == ty)
}

fn condition_true(o: &Value, ty: &str) -> bool {
    condition(o, ty).is_some_and(|c| c["status"] == "True")
}

fn job(o: &Value, now: OffsetDateTime) -> Vec<Value> {
    let (spec, st) = (&o["spec"], &o["status"]);
    let status = if condition_true(o, "Complete") {
        "Complete"
    } else if condition_true(o, "Failed") {
        "Failed"
    } else if condition_true(o, "Suspended") {
        "Suspended"
    } else {
        "Running"
    };
    let completions = match spec["completions"].as_u64() {
        Some(n) => format!("{}/{n}", st["succeeded"].as_u64().unwrap_or(0)),
        None => format!(
            "{}/1 of {}",
            st["succeeded"].as_u64().unwrap_or(0),
            spec["parallelism"].as_u64().unwrap_or(1)
        ),
    };
    let start = st["startTime"].as_str().and_then(parse_time);
    let end = st["completionTime"].as_str().and_then(parse_time);
    let duration = match (start, end) {
        (Some(s), Some(e)) => human_duration((e - s).whole_seconds()),
        (Some(s), None) => human_duration((now - s).whole_seconds()),
        _ => String::new(),
    };
    let mut out = vec![
        name(o),
        json!(status),
        json!(completions),
        json!(duration),
        age(o, now),
    ];
    out.extend(template_cells(o, true));
    out
}

fn cronjob(o: &Value, now: OffsetDateTime) -> Vec<Value> {
    let (spec, st) = (&o["spec"], &o["status"]);
    let last = match st["lastScheduleTime"].as_str() {
        Some(_) => since(&st["lastScheduleTime"], now),
        None => "<none>".into(),
    };
    let tpl = &spec["jobTemplate"]["spec"]["template"]["spec"]["containers"];
    let join = |k: &str| {
        tpl.as_array()
            .map(|cs| {
                cs.iter()
                    .filter_map(|c| c[k].as_str())
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default()
    };
    vec![
        name(o),
        spec["schedule"].clone(),
        str_or_none(&spec["timeZone"]),
        // kube-apiserver prints the bool as a word ("True"/"False"), not a JSON bool.
        json!(if spec["suspend"] == true {
            "True"
        } else {
            "False"
        }),
        json!(st["active"].as_array().map_or(0, Vec::len)),
        json!(last),
        age(o, now),
        json!(join("name")),
        json!(join("image")),
        json!(selector_string(&spec["jobTemplate"]["spec"]["selector"])),
    ]
}

/// `cpu: 45%/70%` per metric, as kubectl 1.32 formats HPA targets.
fn hpa_targets(o: &Value) -> String {
    let current = o["status"]["currentMetrics"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let specs = o["spec"]["metrics"].as_array().cloned().unwrap_or_default();
    if specs.is_empty() {
        return "<none>".into();
    }
    specs
        .iter()
        .map(|m| {
            let res = &m["resource"];
            let metric = res["name"].as_str().unwrap_or("");
            let target = &res["target"];
            let cur = current
                .iter()
                .find(|c| c["resource"]["name"] == metric)
                .map(|c| &c["resource"]["current"]);
            match target["averageUtilization"].as_i64() {
                Some(t) => {
                    let c = cur
                        .and_then(|c| c["averageUtilization"].as_i64())
                        .map_or("<unknown>".to_string(), |c| format!("{c}%"));
                    format!("{metric}: {c}/{t}%")
                }
                None => {
                    let t = target["averageValue"].as_str().unwrap_or("");
                    let c = cur
                        .and_then(|c| c["averageValue"].as_str())
                        .unwrap_or("<unknown>");
                    format!("{metric}: {c}/{t}")
                }
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn hpa(o: &Value, now: OffsetDateTime) -> Vec<Value> {
    let (spec, st) = (&o["spec"], &o["status"]);
    let target = &spec["scaleTargetRef"];
    vec![
        name(o),
        json!(format!(
            "{}/{}",
            target["kind"].as_str().unwrap_or(""),
            target["name"].as_str().unwrap_or("")
        )),
        json!(hpa_targets(o)),
        json!(spec["minReplicas"].as_i64().unwrap_or(1).to_string()),
        int(&spec["maxReplicas"]),
        int(&st["currentReplicas"]),
        age(o, now),
    ]
}

fn node(o: &Value, now: OffsetDateTime) -> Vec<Value> {
    let mut status = if condition_true(o, "Ready") {
        "Ready".to_string()
    } else if condition(o, "Ready").is_some() {
        "NotReady".to_string()
    } else {
        "Unknown".to_string()
    };
    if o["spec"]["unschedulable"] == true {
        status.push_str(",SchedulingDisabled");
    }
    let roles: Vec<&str> = o["metadata"]["labels"]
        .as_object()
        .map(|m| {
            m.keys()
                .filter_map(|k| k.strip_prefix("node-role.kubernetes.io/"))
                .collect()
        })
        .unwrap_or_default();
    let address = |ty: &str| {
        o["status"]["addresses"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["type"] == ty))
            .and_then(|x| x["address"].as_str())
            .unwrap_or("<none>")
            .to_string()
    };
    let info = &o["status"]["nodeInfo"];
    vec![
        name(o),
        json!(status),
        json!(if roles.is_empty() {
            "<none>".to_string()
        } else {
            roles.join(",")
        }),
        age(o, now),
        info["kubeletVersion"].clone(),
        json!(address("InternalIP")),
        json!(address("ExternalIP")),
        info["osImage"].clone(),
        info["kernelVersion"].clone(),
        info["containerRuntimeVersion"].clone(),
    ]
}

fn namespace(o: &Value, now: OffsetDateTime) -> Vec<Value> {
    vec![name(o), o["status"]["phase"].clone(), age(o, now)]
}

fn event(o: &Value, now: OffsetDateTime) -> Vec<Value> {
    let inv = &o["involvedObject"];
    let last = if o["lastTimestamp"].is_string() {
        &o["lastTimestamp"]
    } else {
        &o["eventTime"]
    };
    let source = match (
        o["source"]["component"].as_str(),
        o["source"]["host"].as_str(),
    ) {
        (Some(c), Some(h)) => format!("{c}, {h}"),
        (Some(c), None) => c.to_string(),
        _ => String::new(),
    };
    vec![
        json!(since(last, now)),
        o["type"].clone(),
        o["reason"].clone(),
        json!(format!(
            "{}/{}",
            inv["kind"].as_str().unwrap_or("").to_lowercase(),
            inv["name"].as_str().unwrap_or("")
        )),
        json!(inv["fieldPath"].as_str().unwrap_or("")),
        json!(source),
        o["message"].clone(),
        json!(since(&o["firstTimestamp"], now)),
        json!(o["count"].as_i64().unwrap_or(1).to_string()),
        name(o),
    ]
}

fn secret(o: &Value, now: OffsetDateTime) -> Vec<Value> {
    let data = o["data"].as_object().map_or(0, serde_json::Map::len)
        + o["stringData"].as_object().map_or(0, serde_json::Map::len);
    vec![
        name(o),
        json!(o["type"].as_str().unwrap_or("Opaque")),
        json!(data),
        age(o, now),
    ]
}

fn ingress(o: &Value, now: OffsetDateTime) -> Vec<Value> {
    let spec = &o["spec"];
    let hosts: Vec<&str> = spec["rules"]
        .as_array()
        .map(|rs| rs.iter().filter_map(|r| r["host"].as_str()).collect())
        .unwrap_or_default();
    let address: Vec<&str> = o["status"]["loadBalancer"]["ingress"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x["ip"].as_str().or_else(|| x["hostname"].as_str()))
                .collect()
        })
        .unwrap_or_default();
    let tls = spec["tls"].as_array().is_some_and(|t| !t.is_empty());
    vec![
        name(o),
        str_or_none(&spec["ingressClassName"]),
        json!(if hosts.is_empty() {
            "*".to_string()
        } else {
            hosts.join(",")
        }),
        json!(address.join(",")),
        json!(if tls { "80, 443" } else { "80" }),
        age(o, now),
    ]
}

fn pdb(o: &Value, now: OffsetDateTime) -> Vec<Value> {
    let spec = &o["spec"];
    let show = |v: &Value| match v {
        Value::Null => json!("N/A"),
        Value::Number(n) => json!(n.to_string()),
        other => other.clone(),
    };
    vec![
        name(o),
        show(&spec["minAvailable"]),
        show(&spec["maxUnavailable"]),
        int(&o["status"]["disruptionsAllowed"]),
        age(o, now),
    ]
}

fn certificate(o: &Value, now: OffsetDateTime) -> Vec<Value> {
    let ready = condition(o, "Ready");
    vec![
        name(o),
        json!(ready.and_then(|c| c["status"].as_str()).unwrap_or("")),
        o["spec"]["secretName"].clone(),
        o["spec"]["issuerRef"]["name"].clone(),
        json!(ready.and_then(|c| c["message"].as_str()).unwrap_or("")),
        age(o, now),
    ]
}

fn crd(o: &Value, _now: OffsetDateTime) -> Vec<Value> {
    vec![name(o), o["metadata"]["creationTimestamp"].clone()]
}

fn cells(res: Res, o: &Value, now: OffsetDateTime) -> Vec<Value> {
    match res {
        Res::Pod => pod(o, now),
        Res::Deployment => deployment(o, now),
        Res::ReplicaSet => replicaset(o, now),
        Res::StatefulSet => statefulset(o, now),
        Res::DaemonSet => daemonset(o, now),
        Res::Job => job(o, now),
        Res::CronJob => cronjob(o, now),
        Res::HorizontalPodAutoscaler => hpa(o, now),
        Res::Node => node(o, now),
        Res::Namespace => namespace(o, now),
        Res::Event => event(o, now),
        Res::Secret => secret(o, now),
        Res::Ingress => ingress(o, now),
        Res::PodDisruptionBudget => pdb(o, now),
        Res::Certificate => certificate(o, now),
        Res::CustomResourceDefinition => crd(o, now),
        Res::ResourceClaim => vec![name(o), age(o, now)],
    }
}

/// One row (serialised): cells, and the object as `include` asks.
pub fn row(res: Res, o: &Value, now: OffsetDateTime, include: Include) -> String {
    let mut r = json!({"cells": cells(res, o, now)});
    match include {
        Include::None => {}
        Include::Metadata => {
            r["object"] = json!({
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": o["metadata"],
            });
        }
        Include::Object => r["object"] = o.clone(),
    }
    r.to_string()
}

/// A Table of already rendered rows; `metadata` as a list's (resourceVersion, continue).
pub fn table(res: Res, metadata: &Value, rows: &str) -> String {
    format!(
        "{{\"kind\":\"Table\",\"apiVersion\":\"meta.k8s.io/v1\",\"metadata\":{metadata},\"columnDefinitions\":{},\"rows\":[{rows}]}}",
        Value::Array(column_definitions(res))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_headers() {
        assert!(wants_table(
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"
        ));
        assert!(wants_table(
            "application/json; as=Table; v=v1; g=meta.k8s.io"
        ));
        assert!(!wants_table("application/json"));
        assert!(!wants_table(
            "application/vnd.kubernetes.protobuf,application/json"
        ));
    }

    #[test]
    fn human_durations_match_kubectl() {
        for (secs, want) in [
            (5, "5s"),
            (119, "119s"),
            (200, "3m20s"),
            (600, "10m"),
            (3600 * 5 + 60 * 7, "5h7m"),
            (3600 * 30, "30h"),
            (86400 * 4 + 3600 * 5, "4d5h"),
            (86400 * 120, "120d"),
            (86400 * (365 * 2 + 30), "2y30d"),
        ] {
            assert_eq!(human_duration(secs), want, "{secs}");
        }
    }

    #[test]
    fn every_kind_has_as_many_cells_as_columns() {
        let now = OffsetDateTime::UNIX_EPOCH;
        for res in Res::ALL {
            let o = json!({"metadata": {"name": "x"}, "spec": {}, "status": {}});
            assert_eq!(cells(res, &o, now).len(), columns(res).len(), "{res:?}");
        }
    }

    #[test]
    fn pod_status_prefers_waiting_reasons() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let p = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "a"}]},
            "status": {"phase": "Running", "containerStatuses": [
                {"ready": false, "restartCount": 3, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}});
        let c = pod(&p, now);
        assert_eq!(c[1], "0/1");
        assert_eq!(c[2], "CrashLoopBackOff");
        assert_eq!(c[3], "3");
    }

    #[test]
    fn hpa_targets_show_utilisation() {
        let h = json!({"spec": {"metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]},
            "status": {"currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 160}}}]}});
        assert_eq!(hpa_targets(&h), "cpu: 160%/70%");
    }
}
