//! The resource kinds the simulated API server stores, with their discovery metadata.

/// A stored resource kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Res {
    Pod,
    Event,
    Namespace,
    Node,
    Secret,
    Deployment,
    ReplicaSet,
    StatefulSet,
    DaemonSet,
    Job,
    CronJob,
    HorizontalPodAutoscaler,
    Ingress,
    ResourceClaim,
    PodDisruptionBudget,
    /// cert-manager's `Certificate` (a CRD; absent when the scenario runs without cert-manager).
    Certificate,
    /// apiextensions.k8s.io/v1 CustomResourceDefinition (cert-manager's, so clients detect it).
    CustomResourceDefinition,
}

impl Res {
    pub const ALL: [Res; 17] = [
        Res::Pod,
        Res::Event,
        Res::Namespace,
        Res::Node,
        Res::Secret,
        Res::Deployment,
        Res::ReplicaSet,
        Res::StatefulSet,
        Res::DaemonSet,
        Res::Job,
        Res::CronJob,
        Res::HorizontalPodAutoscaler,
        Res::Ingress,
        Res::ResourceClaim,
        Res::PodDisruptionBudget,
        Res::Certificate,
        Res::CustomResourceDefinition,
    ];

    /// API group ("" for core).
    pub fn group(self) -> &'static str {
        match self {
            Res::Pod | Res::Event | Res::Namespace | Res::Node | Res::Secret => "",
            Res::Deployment | Res::ReplicaSet | Res::StatefulSet | Res::DaemonSet => "apps",
            Res::Job | Res::CronJob => "batch",
            Res::HorizontalPodAutoscaler => "autoscaling",
            Res::Ingress => "networking.k8s.io",
            Res::ResourceClaim => "poolboy.gpte.redhat.com",
            Res::PodDisruptionBudget => "policy",
            Res::Certificate => "cert-manager.io",
            Res::CustomResourceDefinition => "apiextensions.k8s.io",
        }
    }

    /// The served (and preferred) version of the kind's group.
    pub fn version(self) -> &'static str {
        match self {
            Res::HorizontalPodAutoscaler => "v2",
            _ => "v1",
        }
    }

    pub fn api_version(self) -> &'static str {
        match self {
            Res::Pod | Res::Event | Res::Namespace | Res::Node | Res::Secret => "v1",
            Res::Deployment | Res::ReplicaSet | Res::StatefulSet | Res::DaemonSet => "apps/v1",
            Res::Job | Res::CronJob => "batch/v1",
            Res::HorizontalPodAutoscaler => "autoscaling/v2",
            Res::Ingress => "networking.k8s.io/v1",
            Res::ResourceClaim => "poolboy.gpte.redhat.com/v1",
            Res::PodDisruptionBudget => "policy/v1",
            Res::Certificate => "cert-manager.io/v1",
            Res::CustomResourceDefinition => "apiextensions.k8s.io/v1",
        }
    }

    pub fn plural(self) -> &'static str {
        match self {
            Res::Pod => "pods",
            Res::Event => "events",
            Res::Namespace => "namespaces",
            Res::Node => "nodes",
            Res::Secret => "secrets",
            Res::Deployment => "deployments",
            Res::ReplicaSet => "replicasets",
            Res::StatefulSet => "statefulsets",
            Res::DaemonSet => "daemonsets",
            Res::Job => "jobs",
            Res::CronJob => "cronjobs",
            Res::HorizontalPodAutoscaler => "horizontalpodautoscalers",
            Res::Ingress => "ingresses",
            Res::ResourceClaim => "resourceclaims",
            Res::PodDisruptionBudget => "poddisruptionbudgets",
            Res::Certificate => "certificates",
            Res::CustomResourceDefinition => "customresourcedefinitions",
        }
    }

    pub fn singular(self) -> &'static str {
        match self {
            Res::Pod => "pod",
            Res::Event => "event",
            Res::Namespace => "namespace",
            Res::Node => "node",
            Res::Secret => "secret",
            Res::Deployment => "deployment",
            Res::ReplicaSet => "replicaset",
            Res::StatefulSet => "statefulset",
            Res::DaemonSet => "daemonset",
            Res::Job => "job",
            Res::CronJob => "cronjob",
            Res::HorizontalPodAutoscaler => "horizontalpodautoscaler",
            Res::Ingress => "ingress",
            Res::ResourceClaim => "resourceclaim",
            Res::PodDisruptionBudget => "poddisruptionbudget",
            Res::Certificate => "certificate",
            Res::CustomResourceDefinition => "customresourcedefinition",
        }
    }

    pub fn kind(self) -> &'static str {
        match self {
            Res::Pod => "Pod",
            Res::Event => "Event",
            Res::Namespace => "Namespace",
            Res::Node => "Node",
            Res::Secret => "Secret",
            Res::Deployment => "Deployment",
            Res::ReplicaSet => "ReplicaSet",
            Res::StatefulSet => "StatefulSet",
            Res::DaemonSet => "DaemonSet",
            Res::Job => "Job",
            Res::CronJob => "CronJob",
            Res::HorizontalPodAutoscaler => "HorizontalPodAutoscaler",
            Res::Ingress => "Ingress",
            Res::ResourceClaim => "ResourceClaim",
            Res::PodDisruptionBudget => "PodDisruptionBudget",
            Res::Certificate => "Certificate",
            Res::CustomResourceDefinition => "CustomResourceDefinition",
        }
    }

    pub fn namespaced(self) -> bool {
        !matches!(
            self,
            Res::Namespace | Res::Node | Res::CustomResourceDefinition
        )
    }

    /// Short names as kube-apiserver (and cert-manager's CRD) declare them.
    pub fn short_names(self) -> &'static [&'static str] {
        match self {
            Res::Pod => &["po"],
            Res::Event => &["ev"],
            Res::Namespace => &["ns"],
            Res::Node => &["no"],
            Res::Secret | Res::Job => &[],
            Res::Deployment => &["deploy"],
            Res::ReplicaSet => &["rs"],
            Res::StatefulSet => &["sts"],
            Res::DaemonSet => &["ds"],
            Res::CronJob => &["cj"],
            Res::HorizontalPodAutoscaler => &["hpa"],
            Res::Ingress => &["ing"],
            Res::ResourceClaim => &["rc", "rcs"],
            Res::PodDisruptionBudget => &["pdb"],
            Res::Certificate => &["cert", "certs"],
            Res::CustomResourceDefinition => &["crd", "crds"],
        }
    }

    /// Whether writes to the main resource keep the stored status (status subresource).
    pub fn has_status_subresource(self) -> bool {
        !matches!(
            self,
            Res::Event | Res::Node | Res::Secret | Res::CustomResourceDefinition
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
                | Res::Job
                | Res::CronJob
                | Res::HorizontalPodAutoscaler
                | Res::Ingress
                | Res::ResourceClaim
                | Res::Certificate
                | Res::CustomResourceDefinition
        )
    }

    /// Custom resources: strategic merge patches answer 415, as kube-apiserver does for CRDs.
    pub fn is_custom(self) -> bool {
        matches!(self, Res::ResourceClaim | Res::Certificate)
    }

    /// Look a kind up by its API group, version and plural name.
    pub fn from_path(group: &str, version: &str, plural: &str) -> Option<Res> {
        Res::ALL
            .into_iter()
            .find(|r| r.group() == group && r.plural() == plural && r.version() == version)
    }
}
