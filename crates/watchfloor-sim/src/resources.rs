//! The resource kinds the simulated API server stores, with their discovery metadata.

/// A stored resource kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Res {
    Pod,
    Event,
    Namespace,
    Node,
    Deployment,
    ReplicaSet,
    StatefulSet,
    DaemonSet,
    ResourceClaim,
    PodDisruptionBudget,
}

impl Res {
    pub const ALL: [Res; 10] = [
        Res::Pod,
        Res::Event,
        Res::Namespace,
        Res::Node,
        Res::Deployment,
        Res::ReplicaSet,
        Res::StatefulSet,
        Res::DaemonSet,
        Res::ResourceClaim,
        Res::PodDisruptionBudget,
    ];

    /// API group ("" for core).
    pub fn group(self) -> &'static str {
        match self {
            Res::Pod | Res::Event | Res::Namespace | Res::Node => "",
            Res::Deployment | Res::ReplicaSet | Res::StatefulSet | Res::DaemonSet => "apps",
            Res::ResourceClaim => "poolboy.gpte.redhat.com",
            Res::PodDisruptionBudget => "policy",
        }
    }

    pub fn api_version(self) -> &'static str {
        match self.group() {
            "" => "v1",
            "apps" => "apps/v1",
            "policy" => "policy/v1",
            _ => "poolboy.gpte.redhat.com/v1",
        }
    }

    pub fn plural(self) -> &'static str {
        match self {
            Res::Pod => "pods",
            Res::Event => "events",
            Res::Namespace => "namespaces",
            Res::Node => "nodes",
            Res::Deployment => "deployments",
            Res::ReplicaSet => "replicasets",
            Res::StatefulSet => "statefulsets",
            Res::DaemonSet => "daemonsets",
            Res::ResourceClaim => "resourceclaims",
            Res::PodDisruptionBudget => "poddisruptionbudgets",
        }
    }

    pub fn singular(self) -> &'static str {
        match self {
            Res::Pod => "pod",
            Res::Event => "event",
            Res::Namespace => "namespace",
            Res::Node => "node",
            Res::Deployment => "deployment",
            Res::ReplicaSet => "replicaset",
            Res::StatefulSet => "statefulset",
            Res::DaemonSet => "daemonset",
            Res::ResourceClaim => "resourceclaim",
            Res::PodDisruptionBudget => "poddisruptionbudget",
        }
    }

    pub fn kind(self) -> &'static str {
        match self {
            Res::Pod => "Pod",
            Res::Event => "Event",
            Res::Namespace => "Namespace",
            Res::Node => "Node",
            Res::Deployment => "Deployment",
            Res::ReplicaSet => "ReplicaSet",
            Res::StatefulSet => "StatefulSet",
            Res::DaemonSet => "DaemonSet",
            Res::ResourceClaim => "ResourceClaim",
            Res::PodDisruptionBudget => "PodDisruptionBudget",
        }
    }

    pub fn namespaced(self) -> bool {
        !matches!(self, Res::Namespace | Res::Node)
    }

    pub fn short_names(self) -> &'static [&'static str] {
        match self {
            Res::Pod => &["po"],
            Res::Event => &["ev"],
            Res::Namespace => &["ns"],
            Res::Node => &["no"],
            Res::Deployment => &["deploy"],
            Res::ReplicaSet => &["rs"],
            Res::StatefulSet => &["sts"],
            Res::DaemonSet => &["ds"],
            Res::ResourceClaim => &["rc", "rcs"],
            Res::PodDisruptionBudget => &["pdb"],
        }
    }

    /// Whether writes to the main resource keep the stored status (status subresource).
    pub fn has_status_subresource(self) -> bool {
        matches!(
            self,
            Res::Pod
                | Res::Deployment
                | Res::ReplicaSet
                | Res::StatefulSet
                | Res::DaemonSet
                | Res::ResourceClaim
                | Res::Namespace
                | Res::PodDisruptionBudget
        )
    }

    /// Whether spec changes bump `metadata.generation`.
    pub fn tracks_generation(self) -> bool {
        matches!(
            self,
            Res::Deployment
                | Res::ReplicaSet
                | Res::StatefulSet
                | Res::DaemonSet
                | Res::ResourceClaim
        )
    }

    /// Look a kind up by its API group and plural name.
    pub fn from_path(group: &str, version: &str, plural: &str) -> Option<Res> {
        Res::ALL.into_iter().find(|r| {
            r.group() == group
                && r.plural() == plural
                && version == "v1"
                && (!group.is_empty() || r.api_version() == "v1")
        })
    }
}
