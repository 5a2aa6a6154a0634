//! Who watches a served console, what operators are doing, and which objects they hold.
//!
//! Every session joins on start and leaves when its [`Membership`] drops (a disconnect of any
//! kind), which also releases what it held. News of a remediation goes to every session of
//! the same target through a bounded broadcast: a session that falls behind loses old news,
//! never holds up the sender.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use tokio::sync::{broadcast, watch};

use crate::app::Viewer;
use crate::config::ServeRole;
use crate::remediation::Plan;

/// News kept for sessions that are behind.
const NEWS_CAPACITY: usize = 64;

pub struct Presence {
    state: Mutex<State>,
    news: broadcast::Sender<News>,
    /// How many sessions are joined, for headers to redraw when it changes.
    count: watch::Sender<usize>,
}

impl Default for Presence {
    fn default() -> Self {
        Self {
            state: Mutex::default(),
            news: broadcast::channel(NEWS_CAPACITY).0,
            count: watch::Sender::new(0),
        }
    }
}

#[derive(Default)]
struct State {
    next: u64,
    members: BTreeMap<u64, Member>,
    /// Objects under a remediation, by [`object_key`].
    holds: HashMap<String, Hold>,
}

struct Member {
    name: String,
    role: ServeRole,
    target: usize,
    target_name: String,
    since: SystemTime,
    last_input: SystemTime,
}

struct Hold {
    member: u64,
    name: String,
    /// What they are doing, e.g. `rollout undo deployment/platform-v2-api`.
    what: String,
}

/// A line for every session of a target, e.g. `alice: rollout undo … — dry run ok`.
#[derive(Debug, Clone)]
pub struct News {
    pub target: usize,
    /// The member it comes from (who sees it in their own dialog already).
    pub from: u64,
    pub text: String,
}

/// A session's place among the viewers; leaving (drop) releases its holds.
pub struct Membership {
    presence: Arc<Presence>,
    pub id: u64,
}

impl Drop for Membership {
    fn drop(&mut self) {
        let count = {
            let mut state = self.presence.lock();
            state.members.remove(&self.id);
            state.holds.retain(|_, hold| hold.member != self.id);
            state.members.len()
        };
        self.presence.count.send_replace(count);
    }
}

impl Presence {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Joins a session of `name` watching `target`.
    pub fn join(
        self: &Arc<Self>,
        name: &str,
        role: ServeRole,
        target: usize,
        target_name: &str,
        now: SystemTime,
    ) -> Membership {
        let (id, count) = {
            let mut state = self.lock();
            state.next += 1;
            let id = state.next;
            state.members.insert(
                id,
                Member {
                    name: name.to_string(),
                    role,
                    target,
                    target_name: target_name.to_string(),
                    since: now,
                    last_input: now,
                },
            );
            (id, state.members.len())
        };
        self.count.send_replace(count);
        Membership {
            presence: Arc::clone(self),
            id,
        }
    }

    pub fn count(&self) -> watch::Receiver<usize> {
        self.count.subscribe()
    }

    pub fn news(&self) -> broadcast::Receiver<News> {
        self.news.subscribe()
    }

    /// Every session, for `:who`, as `me` sees it.
    pub fn viewers(&self, me: u64) -> Vec<Viewer> {
        self.lock()
            .members
            .iter()
            .map(|(id, m)| Viewer {
                name: m.name.clone(),
                role: m.role.as_str(),
                target: m.target_name.clone(),
                since: m.since,
                last_input: m.last_input,
                me: *id == me,
            })
            .collect()
    }

    pub fn touched(&self, member: u64, now: SystemTime) {
        if let Some(m) = self.lock().members.get_mut(&member) {
            m.last_input = now;
        }
    }

    pub fn moved(&self, member: u64, target: usize, target_name: &str) {
        if let Some(m) = self.lock().members.get_mut(&member) {
            m.target = target;
            m.target_name = target_name.to_string();
        }
    }

    /// Takes `plan`'s object for `member`, or says who holds it. Taking it again is fine.
    pub fn hold(&self, member: u64, plan: &Plan) -> Result<(), String> {
        let mut state = self.lock();
        let Some(name) = state.members.get(&member).map(|m| m.name.clone()) else {
            return Err("this session has ended".into());
        };
        let key = object_key(plan);
        match state.holds.get(&key) {
            Some(hold) if hold.member != member => Err(format!(
                "{} is held by {}, who is running {}; try again when they are done",
                plan.object, hold.name, hold.what
            )),
            _ => {
                state.holds.insert(
                    key,
                    Hold {
                        member,
                        name,
                        what: headline(plan),
                    },
                );
                Ok(())
            }
        }
    }

    /// Lets `plan`'s object go, if `member` holds it.
    pub fn release(&self, member: u64, plan: &Plan) {
        let key = object_key(plan);
        let mut state = self.lock();
        if state.holds.get(&key).is_some_and(|h| h.member == member) {
            state.holds.remove(&key);
        }
    }

    /// Tells every session of `target` (lost for sessions too far behind).
    pub fn tell(&self, target: usize, from: u64, text: String) {
        let _ = self.news.send(News { target, from, text });
    }
}

/// One object of one target: the same workload, session or client however it was reached.
fn object_key(plan: &Plan) -> String {
    format!("{}\u{1f}{:?}\u{1f}{}", plan.target, plan.place, plan.object)
}

/// A remediation in a few words: `rollout undo deployment/platform-v2-api to revision 6`.
pub fn headline(plan: &Plan) -> String {
    let mut text = format!("{} {}", plan.action.name(), plan.object);
    if !plan.change.is_empty() {
        text.push_str(" (");
        text.push_str(&plan.change);
        text.push(')');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remediation::{ActionKind, Place};

    fn plan(object: &str) -> Plan {
        Plan {
            target: "prod".into(),
            place: Place::Kubernetes {
                context: "c".into(),
                namespace: "ns".into(),
            },
            action: ActionKind::RolloutUndo {
                name: object.into(),
                to_revision: 6,
            },
            object: format!("deployment/{object}"),
            change: "to revision 6".into(),
            confirm_text: None,
        }
    }

    #[test]
    fn a_second_operator_is_told_who_holds_the_object_until_it_is_released() {
        let presence = Arc::new(Presence::default());
        let t0 = SystemTime::UNIX_EPOCH;
        let alice = presence.join("alice", ServeRole::Operator, 0, "prod", t0);
        let bob = presence.join("bob", ServeRole::Operator, 0, "prod", t0);
        let api = plan("api");
        presence.hold(alice.id, &api).unwrap();
        presence.hold(alice.id, &api).unwrap();
        let refused = presence.hold(bob.id, &api).unwrap_err();
        assert!(refused.contains("held by alice"), "{refused}");
        assert!(
            refused.contains("rollout undo deployment/api (to revision 6)"),
            "{refused}"
        );
        // Another object is free.
        presence.hold(bob.id, &plan("web")).unwrap();
        // Only the holder releases.
        presence.release(bob.id, &api);
        assert!(presence.hold(bob.id, &api).is_err());
        presence.release(alice.id, &api);
        presence.hold(bob.id, &api).unwrap();
    }

    #[test]
    fn leaving_releases_holds_and_counts_down() {
        let presence = Arc::new(Presence::default());
        let t0 = SystemTime::UNIX_EPOCH;
        let count = presence.count();
        let alice = presence.join("alice", ServeRole::Operator, 0, "prod", t0);
        let bob = presence.join("bob", ServeRole::Observer, 0, "prod", t0);
        assert_eq!(*count.borrow(), 2);
        let who = presence.viewers(bob.id);
        assert_eq!(who.len(), 2);
        assert!(who[1].me && who[1].role == "observer" && !who[0].me);
        presence.hold(alice.id, &plan("api")).unwrap();
        drop(alice);
        assert_eq!(*count.borrow(), 1);
        presence.hold(bob.id, &plan("api")).unwrap();
    }
}
