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
