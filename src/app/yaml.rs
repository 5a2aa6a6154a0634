//! The YAML view (`y`): the selected Kubernetes object (a pod, a deployment, a claim), fetched
//! fresh from the API server and shown as `kubectl get -o yaml` prints it, over the pane's list
//! or detail view. It scrolls like a detail view (by screen rows, wrapped lines counted, a page
//! at a time); `y` again fetches it again; Esc returns to where it was opened, the row that was
//! selected still selected.

use super::data::{Data, YamlResult};
use super::drawn::{self, FALLBACK_PAGE};
use super::keymap::Command;
use super::pane::{PaneId, PodsMode};
use super::view::{Screen, View};
use super::{Effect, RowId, ToastLevel};
use crate::data::ObjectRef;
use watchfloor_core::config::ClaimSource;

/// A YAML view open over a pane.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlView {
    pub object: ObjectRef,
    /// How far it is scrolled, in screen rows.
    pub scroll: usize,
    /// The view's answer count when it was (last) asked for: older answers are not shown.
    pub asked: u64,
    /// The row selected when it opened, selected again when it closes.
    pub row: Option<RowId>,
}

/// What `y` says where there is nothing to show.
const NOTHING: &str = "y shows the YAML of a pod, a deployment or a claim (none selected)";

impl View {
    /// `y`: opens the YAML view of the focused pane's selected object, or fetches the open one
    /// again.
    pub(super) fn open_yaml(&mut self, data: &Data) -> Vec<Effect> {
        let focus = self.focus;
        if let Some(open) = &mut self.panes[focus.index()].yaml {
            open.asked = self.answers.count;
            return vec![Effect::OpenYaml {
                generation: data.generation,
                object: open.object.clone(),
            }];
        }
        let object = match self.screen(data).yaml_target(focus) {
            Ok(object) => object,
            Err(why) => {
                self.toast(ToastLevel::Info, why);
                return vec![];
            }
        };
        let screen = self.screen(data);
        let row = screen.row_identity(focus, self.panes[focus.index()].selected);
        self.panes[focus.index()].yaml = Some(YamlView {
            object: object.clone(),
            scroll: 0,
            asked: self.answers.count,
            row,
        });
        self.drawn.forget_detail(focus);
        vec![Effect::OpenYaml {
            generation: data.generation,
            object,
        }]
    }

    /// A command while the focused pane shows a YAML view: movement scrolls it, Esc closes it,
    /// `y` fetches it again; the pane's own commands (filter, sort, remediations, ...) do
    /// nothing over it. `None`: not the YAML view's business (help, focus, zoom, freeze, ...).
    pub(super) fn yaml_command(&mut self, data: &Data, command: Command) -> Option<Vec<Effect>> {
        let focus = self.focus;
        let detail = self.drawn.detail(focus);
        let open = self.panes[focus.index()].yaml.as_mut()?;
        let (height, end) = match detail {
            Some((height, end)) => (height.max(1), Some(end)),
            None => (FALLBACK_PAGE, None),
        };
        let height = isize::try_from(height).unwrap_or(isize::MAX);
        let scroll = &mut open.scroll;
        match command {
            Command::Up => *scroll = drawn::scroll_by(*scroll, -1, end),
            Command::Down => *scroll = drawn::scroll_by(*scroll, 1, end),
            Command::PageUp => *scroll = drawn::scroll_by(*scroll, -height, end),
            Command::PageDown => *scroll = drawn::scroll_by(*scroll, height, end),
            Command::Top => *scroll = 0,
            Command::Bottom => *scroll = end.unwrap_or(usize::from(u16::MAX)),
            Command::Back => return Some(self.close_yaml(focus)),
            Command::Yaml => return Some(self.open_yaml(data)),
            Command::Quit
            | Command::Help
            | Command::FocusNext
            | Command::FocusPrev
            | Command::Focus(_)
            | Command::Zoom
            | Command::CommandLine
            | Command::Freeze
            | Command::NextTarget
            | Command::CopyReport => return None,
            _ => {}
        }
        Some(vec![])
    }

    /// Closes the YAML view of `pane`: back to its list or detail, on the row it was opened on.
    fn close_yaml(&mut self, pane: PaneId) -> Vec<Effect> {
        let view = &mut self.panes[pane.index()];
        let Some(open) = view.yaml.take() else {
            return vec![];
        };
        view.reselect = open.row;
        self.view_dirty = true;
        // The view below measures itself again when drawn.
        self.drawn.forget_detail(pane);
        vec![Effect::CloseYaml]
    }
}

impl<'a> Screen<'a> {
    /// The object `y` shows in `pane`: the selected pod or deployment (Pods pane, list or
    /// detail), or claim (Stuck claims pane, from a custom resource); or what to tell the
    /// operator instead.
    pub fn yaml_target(&self, pane: PaneId) -> Result<ObjectRef, &'static str> {
        if !self.pane_shows_data(pane) {
            return Err(NOTHING);
        }
        let view = &self.view.panes[pane.index()];
        let kube = self.visible_kube();
        match pane {
            PaneId::Pods if view.mode == PodsMode::Deployments => self
                .view
                .visible
                .deployments
                .get(view.selected)
                .and_then(|key| kube.deployments.get(key))
                .map(|d| ObjectRef::deployment(&d.namespace, &d.name))
                .ok_or(NOTHING),
            PaneId::Pods if view.mode.is_platform() => self
                .view
                .visible
                .platform
                .get(view.selected)
                .and_then(|key| super::platform::object_of(kube, view.mode, key))
                .ok_or("this row has no YAML to show (a TLS Secret holds a private key)"),
            PaneId::Pods => self
                .selected_pod()
                .map(|p| ObjectRef::pod(&p.namespace, &p.name))
                .ok_or(NOTHING),
            PaneId::Claims => {
                let claim = self
                    .view
                    .visible
                    .claims
                    .get(view.selected)
                    .and_then(|i| kube.claims_sorted.get(*i))
                    .ok_or(NOTHING)?;
                let config = self
                    .target()
                    .and_then(|t| t.claims.iter().find(|c| c.display_name() == claim.source))
                    .ok_or(NOTHING)?;
                if *config.source.get_ref() != ClaimSource::Crd {
                    return Err("this claim is a row of a SQL query: it has no YAML");
                }
                let field = |value: &Option<String>| value.clone().unwrap_or_default();
                Ok(ObjectRef {
                    group: field(&config.group),
                    version: field(&config.version),
                    kind: field(&config.kind),
                    plural: field(&config.plural),
                    namespace: claim.namespace.clone(),
                    name: claim.name.clone(),
                })
            }
            PaneId::Slo | PaneId::Db | PaneId::Logs => Err(NOTHING),
        }
    }

    /// The YAML view open over `pane`, with the answer to its question once it came: shown even
    /// while the display is frozen (the operator asked for it now).
    pub fn yaml(&self, pane: PaneId) -> Option<(&'a YamlView, Option<&'a YamlResult>)> {
        let open = self.view.panes[pane.index()].yaml.as_ref()?;
        let answer = self
            .view
            .answers
            .yaml
            .as_ref()
            .filter(|y| y.object == open.object && y.revision > open.asked);
        Some((open, answer))
    }
}
