//! The data the panes show, as kept by the app: small rows keyed by namespace/name, plus the
//! worst-first orderings that drawing reads (computed once per batch of updates, not per frame).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::model::claims::{ClaimRow, sort_worst_first as sort_claims};
use crate::model::deployments::{DeploymentRow, severity as deployment_severity};
use crate::model::pods::{PodRow, PodSummary, pod_summary, severity as pod_severity};

/// `(namespace, name)`.
pub type ObjectKey = (String, String);

/// One API object as the API server names it: enough to GET it (`y` shows its YAML).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectRef {
    /// The API group, `""` for the core group.
    pub group: String,
    pub version: String,
    pub kind: String,
    /// The resource's plural, as in its URL (`pods`, `resourceclaims`).
    pub plural: String,
    /// `None` for a cluster-scoped object.
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectRef {
    pub fn pod(namespace: &str, name: &str) -> Self {
        Self::namespaced("", "v1", "Pod", "pods", namespace, name)
    }

    pub fn deployment(namespace: &str, name: &str) -> Self {
        Self::namespaced("apps", "v1", "Deployment", "deployments", namespace, name)
    }

    fn namespaced(
        group: &str,
        version: &str,
        kind: &str,
        plural: &str,
        namespace: &str,
        name: &str,
    ) -> Self {
        Self {
            group: group.into(),
            version: version.into(),
            kind: kind.into(),
            plural: plural.into(),
            namespace: Some(namespace.into()),
            name: name.into(),
        }
    }

    /// `apps/v1`, or `v1` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `deployment/NAMESPACE/NAME` (`kind/NAME` when cluster-scoped), unsanitised.
    pub fn label(&self) -> String {
        let kind = self.kind.to_lowercase();
        match &self.namespace {
            Some(namespace) => format!("{kind}/{namespace}/{}", self.name),
            None => format!("{kind}/{}", self.name),
        }
    }
}

/// A ReplicaSet, as far as rollouts and pod ownership need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicaSetRow {
    pub namespace: String,
    pub name: String,
    /// The controlling Deployment's name.
    pub deployment: Option<String>,
    pub revision: Option<i64>,
    pub images: Vec<String>,
    pub replicas: u32,
}

/// A change to one kind's rows, as a watcher reports it.
#[derive(Debug, Clone)]
pub enum RowUpdate<R> {
    /// A (re)list finished: these are all the rows of `namespace` (`None`: all namespaces).
    Replace {
        namespace: Option<String>,
        rows: Vec<R>,
    },
    Upsert(R),
    Remove(ObjectKey),
}

/// Rows with a key.
pub trait Keyed {
    fn key(&self) -> ObjectKey;
}

impl Keyed for PodRow {
    fn key(&self) -> ObjectKey {
        (self.namespace.clone(), self.name.clone())
    }
}

impl Keyed for DeploymentRow {
    fn key(&self) -> ObjectKey {
        (self.namespace.clone(), self.name.clone())
    }
}

impl Keyed for ReplicaSetRow {
    fn key(&self) -> ObjectKey {
        (self.namespace.clone(), self.name.clone())
    }
}

/// Applies a watcher's update to a keyed table.
pub fn apply_update<R: Keyed>(table: &mut BTreeMap<ObjectKey, R>, update: RowUpdate<R>) {
    match update {
        RowUpdate::Replace { namespace, rows } => {
            match &namespace {
                Some(ns) => table.retain(|(row_ns, _), _| row_ns != ns),
                None => table.clear(),
            }
            table.extend(rows.into_iter().map(|row| (row.key(), row)));
        }
        RowUpdate::Upsert(row) => {
            table.insert(row.key(), row);
        }
        RowUpdate::Remove(key) => {
            table.remove(&key);
        }
    }
}

/// Everything watched from Kubernetes for the current target.
#[derive(Debug, Clone, Default)]
pub struct KubeData {
    pub pods: BTreeMap<ObjectKey, PodRow>,
    pub deployments: BTreeMap<ObjectKey, DeploymentRow>,
    pub replicasets: BTreeMap<ObjectKey, ReplicaSetRow>,
    /// Claims per claims source (index into the target's `claims` entries).
    pub claims: BTreeMap<usize, Vec<ClaimRow>>,
    /// Worst-first orderings, rebuilt by `reorder` after changes. Shared (not copied) by every
    /// view that shows them unfiltered and unsorted.
    pub pods_order: Arc<[ObjectKey]>,
    pub deployments_order: Arc<[ObjectKey]>,
    /// How those orders spread over namespaces (see [`crate::model::spread`]).
    pub pods_spread: crate::model::Spread,
    pub deployments_spread: crate::model::Spread,
    pub claims_sorted: Vec<ClaimRow>,
    /// Totals and crit/warn counts per namespace, for the Pods pane title.
    pub pod_summary: Option<PodSummary>,
    dirty: bool,
}

/// How rows with these keys, in this order, spread over namespaces.
pub fn spread_of(keys: &[ObjectKey]) -> crate::model::Spread {
    crate::model::spread(keys.iter().map(|(namespace, _)| namespace.as_str()))
}

/// Whether `order` already lists the keys of `sorted` in the same order: most updates move no
/// row, and keeping the shared order saves copying (and freeing) every key.
fn same_order<T>(order: &[ObjectKey], sorted: &[(&ObjectKey, &T)]) -> bool {
    order.len() == sorted.len() && order.iter().zip(sorted).all(|(a, (b, _))| a == *b)
}

/// What changed, from a Kubernetes source.
#[derive(Debug, Clone)]
pub enum KubeUpdate {
    Pods(RowUpdate<PodRow>),
    Deployments(RowUpdate<DeploymentRow>),
    ReplicaSets(RowUpdate<ReplicaSetRow>),
    /// All current claims of one claims source.
    Claims {
        source: usize,
        rows: Vec<ClaimRow>,
    },
}

impl KubeData {
    pub fn apply(&mut self, update: KubeUpdate) {
        match update {
            KubeUpdate::Pods(u) => apply_update(&mut self.pods, u),
            KubeUpdate::Deployments(u) => apply_update(&mut self.deployments, u),
            KubeUpdate::ReplicaSets(u) => apply_update(&mut self.replicasets, u),
            KubeUpdate::Claims { source, rows } => {
                self.claims.insert(source, rows);
            }
        }
        self.dirty = true;
    }

    /// Rebuilds the orderings if anything changed since the last call.
    pub fn reorder(&mut self) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        // The tables iterate in namespace/name order; a stable sort by severity keeps that
        // order among equals, so no row is cloned and no name compared.
        let mut pods: Vec<(&ObjectKey, &PodRow)> = self.pods.iter().collect();
        pods.sort_by_key(|(_, row)| pod_severity(row));
        if !same_order(&self.pods_order, &pods) {
            self.pods_order = pods.iter().map(|(key, _)| (*key).clone()).collect();
            self.pods_spread = spread_of(&self.pods_order);
        }
        self.pod_summary = Some(pod_summary(self.pods.values()));
        let mut deployments: Vec<(&ObjectKey, &DeploymentRow)> = self.deployments.iter().collect();
        deployments.sort_by_key(|(_, row)| deployment_severity(row));
        if !same_order(&self.deployments_order, &deployments) {
            self.deployments_order = deployments.iter().map(|(key, _)| (*key).clone()).collect();
            self.deployments_spread = spread_of(&self.deployments_order);
        }
        let mut claims: Vec<ClaimRow> = self.claims.values().flatten().cloned().collect();
        sort_claims(&mut claims);
        self.claims_sorted = claims;
    }

    /// Pods worst first.
    pub fn pods_sorted(&self) -> impl Iterator<Item = &PodRow> {
        self.pods_order.iter().filter_map(|k| self.pods.get(k))
    }

    pub fn deployments_sorted(&self) -> impl Iterator<Item = &DeploymentRow> {
        self.deployments_order
            .iter()
            .filter_map(|k| self.deployments.get(k))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rs(ns: &str, name: &str) -> ReplicaSetRow {
        ReplicaSetRow {
            namespace: ns.into(),
            name: name.into(),
            deployment: None,
            revision: None,
            images: vec![],
            replicas: 1,
        }
    }

    #[test]
    fn object_refs_name_their_api_version_and_kind() {
        let pod = ObjectRef::pod("shop", "api-1");
        assert_eq!(
            (pod.api_version(), pod.label()),
            ("v1".into(), "pod/shop/api-1".into())
        );
        let deployment = ObjectRef::deployment("shop", "api");
        assert_eq!(deployment.api_version(), "apps/v1");
        assert_eq!(deployment.label(), "deployment/shop/api");
        let cluster = ObjectRef {
            namespace: None,
            ..deployment
        };
        assert_eq!(cluster.label(), "deployment/api");
    }

    #[test]
    fn replace_is_scoped_to_its_namespace() {
        let mut table = BTreeMap::new();
        apply_update(
            &mut table,
            RowUpdate::Replace {
                namespace: Some("a".into()),
                rows: vec![rs("a", "1"), rs("a", "2")],
            },
        );
        apply_update(
            &mut table,
            RowUpdate::Replace {
                namespace: Some("b".into()),
                rows: vec![rs("b", "1")],
            },
        );
        apply_update(
            &mut table,
            RowUpdate::Replace {
                namespace: Some("a".into()),
                rows: vec![rs("a", "3")],
            },
        );
        let keys: Vec<_> = table.keys().cloned().collect();
        assert_eq!(
            keys,
            vec![("a".into(), "3".into()), ("b".into(), "1".into())]
        );
        apply_update(&mut table, RowUpdate::Remove(("b".into(), "1".into())));
        apply_update(&mut table, RowUpdate::Upsert(rs("c", "9")));
        assert_eq!(table.len(), 2);
        apply_update(
            &mut table,
            RowUpdate::Replace {
                namespace: None,
                rows: vec![],
            },
        );
        assert!(table.is_empty());
    }

    fn pod(name: &str, health: crate::model::Health) -> PodRow {
        PodRow {
            namespace: "ns".into(),
            name: name.into(),
            ready: 0,
            total: 1,
            status: String::new(),
            health,
            restarts: 0,
            last_restart: None,
            created: None,
            node: None,
            owner: None,
        }
    }

    #[test]
    fn an_update_that_moves_no_row_keeps_the_shared_order() {
        use crate::model::Health;
        let mut kube = KubeData::default();
        for name in ["a", "b", "c"] {
            kube.apply(KubeUpdate::Pods(RowUpdate::Upsert(pod(name, Health::Ok))));
        }
        kube.reorder();
        let before = kube.pods_order.clone();
        let mut b = pod("b", Health::Ok);
        b.status = "Running".into();
        kube.apply(KubeUpdate::Pods(RowUpdate::Upsert(b)));
        kube.reorder();
        assert!(
            Arc::ptr_eq(&before, &kube.pods_order),
            "same order, same keys"
        );
        kube.apply(KubeUpdate::Pods(RowUpdate::Upsert(pod("c", Health::Crit))));
        kube.reorder();
        let names: Vec<&str> = kube.pods_order.iter().map(|k| k.1.as_str()).collect();
        assert_eq!(
            names,
            ["c", "a", "b"],
            "a row that moves rebuilds the order"
        );
    }
}
