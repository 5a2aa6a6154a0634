//! The five panes and their order.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PaneId {
    Pods,
    Slo,
    Db,
    Claims,
    Logs,
}

impl PaneId {
    pub const ALL: [Self; 5] = [Self::Pods, Self::Slo, Self::Db, Self::Claims, Self::Logs];

    pub fn title(self) -> &'static str {
        match self {
            Self::Pods => "Pods",
            Self::Slo => "SLO burn",
            Self::Db => "DB connections",
            Self::Claims => "Stuck claims",
            Self::Logs => "Logs",
        }
    }

    /// The key that focuses this pane (1-5).
    pub fn number(self) -> usize {
        self.index() + 1
    }

    pub fn index(self) -> usize {
        Self::ALL.iter().position(|p| *p == self).unwrap_or(0)
    }

    pub fn next(self) -> Self {
        Self::ALL[(self.index() + 1) % Self::ALL.len()]
    }

    pub fn prev(self) -> Self {
        Self::ALL[(self.index() + Self::ALL.len() - 1) % Self::ALL.len()]
    }

    /// What to configure to fill this pane, for the "not configured" message.
    pub fn config_hint(self) -> &'static str {
        match self {
            Self::Pods => "add [targets.kubernetes]",
            Self::Slo => "add [targets.prometheus] with [[targets.slo]], or [[targets.health]]",
            Self::Db => "add [[targets.postgres]] or [[targets.redis]]",
            Self::Claims => "add [[targets.claims]]",
            Self::Logs => "add [[targets.logs]]",
        }
    }
}

/// What the Pods pane lists: pods, a kind of workload, or one of the platform checks.
/// `v` cycles the workloads ([`PodsMode::WORKLOADS`]); `:nodes`, `:events`, `:certs` and
/// `:hpa` open the others (and `v` from there goes back to pods).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum PodsMode {
    #[default]
    Pods,
    Deployments,
    StatefulSets,
    DaemonSets,
    Jobs,
    CronJobs,
    Hpas,
    Nodes,
    Events,
    Certificates,
}

impl PodsMode {
    pub const ALL: [Self; 10] = [
        Self::Pods,
        Self::Deployments,
        Self::StatefulSets,
        Self::DaemonSets,
        Self::Jobs,
        Self::CronJobs,
        Self::Hpas,
        Self::Nodes,
        Self::Events,
        Self::Certificates,
    ];

    /// What `v` cycles through, in order.
    pub const WORKLOADS: [Self; 6] = [
        Self::Pods,
        Self::Deployments,
        Self::StatefulSets,
        Self::DaemonSets,
        Self::Jobs,
        Self::CronJobs,
    ];

    /// The next view of `v`: the next workload kind, or pods from a platform check.
    pub fn next(self) -> Self {
        match Self::WORKLOADS.iter().position(|m| *m == self) {
            Some(i) => Self::WORKLOADS[(i + 1) % Self::WORKLOADS.len()],
            None => Self::Pods,
        }
    }

    /// A platform check's or a workload kind's view other than pods and deployments (rows in
    /// `VisibleRows::platform`).
    pub fn is_platform(self) -> bool {
        !matches!(self, Self::Pods | Self::Deployments)
    }

    /// What the rows are called (pane title, messages).
    pub fn noun(self) -> &'static str {
        match self {
            Self::Pods => "pods",
            Self::Deployments => "deployments",
            Self::StatefulSets => "statefulsets",
            Self::DaemonSets => "daemonsets",
            Self::Jobs => "jobs",
            Self::CronJobs => "cronjobs",
            Self::Hpas => "HPAs",
            Self::Nodes => "nodes",
            Self::Events => "warning events",
            Self::Certificates => "certificates",
        }
    }

    /// The `:` commands that open this view (the first is the one the help names).
    pub fn commands(self) -> &'static [&'static str] {
        match self {
            Self::Pods => &["pods", "po"],
            Self::Deployments => &["deploy", "deployments", "deployment"],
            Self::StatefulSets => &["sts", "statefulsets", "statefulset"],
            Self::DaemonSets => &["ds", "daemonsets", "daemonset"],
            Self::Jobs => &["jobs", "job"],
            Self::CronJobs => &["cronjobs", "cj", "cronjob"],
            Self::Hpas => &["hpa", "hpas", "horizontalpodautoscalers"],
            Self::Nodes => &["nodes", "no", "node"],
            Self::Events => &["events", "ev"],
            Self::Certificates => &["certs", "certificates", "cert"],
        }
    }

    /// The view a `:` command names.
    pub fn from_command(command: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|m| m.commands().contains(&command))
    }
}
