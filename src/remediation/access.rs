//! The access review cache: what the cluster said the identity may do, per question (verb,
//! group, resource, subresource, namespace), for a minute.
//!
//! A question is asked when the selected row's offers need its answer ([`super::plan::
//! access_checks`]) and the cache has none, or one older than [`ACCESS_TTL`]; never again while
//! it is in flight. Nothing needed, nothing asked: a read-only console, or one whose cursor
//! is on a database, asks nothing; moving over rows of namespaces already asked about asks
//! nothing; an idle console asks the selected row's questions again once a minute. An expired
//! answer is still shown until the new one arrives. Pure: time comes in as `now`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::Failure;
use super::kube_exec::AccessCheck;
use super::plan::PermissionView;

/// How long an answer is trusted before it is asked again (when still needed).
pub const ACCESS_TTL: Duration = Duration::from_secs(60);

/// Answers by question, when each was asked, and the questions in flight.
#[derive(Debug, Clone, Default)]
pub struct AccessCache {
    /// When each answered question was asked.
    asked: BTreeMap<AccessCheck, SystemTime>,
    /// Questions sent and not answered yet, with when they were sent.
    in_flight: BTreeMap<AccessCheck, SystemTime>,
    view: PermissionView,
}

/// Whether `at` is at least [`ACCESS_TTL`] before `now` (a clock that went back counts as
/// fresh: the next tick forward settles it).
fn expired(at: SystemTime, now: SystemTime) -> bool {
    now.duration_since(at).is_ok_and(|age| age >= ACCESS_TTL)
}

impl AccessCache {
    /// Of `needed`, the questions to send now: never asked, or answered [`ACCESS_TTL`] ago or
    /// more; not in flight (unless sent that long ago and never answered). They are marked in
    /// flight.
    pub fn to_ask(&mut self, needed: &[AccessCheck], now: SystemTime) -> Vec<AccessCheck> {
        let mut ask = Vec::new();
        for check in needed {
            if let Some(sent) = self.in_flight.get(check)
                && !expired(*sent, now)
            {
                continue;
            }
            if let Some(at) = self.asked.get(check)
                && !expired(*at, now)
            {
                continue;
            }
            self.in_flight.insert(check.clone(), now);
            ask.push(check.clone());
        }
        ask
    }

    /// Answers arrived. Each counts from when it was sent (so an answer is never trusted for
    /// longer than a minute after the question); one that was not in flight counts from `now`.
    pub fn answered(
        &mut self,
        answers: Vec<(AccessCheck, Result<bool, Failure>)>,
        now: SystemTime,
    ) {
        if answers.is_empty() {
            return;
        }
        let mut map = (*self.view.answers).clone();
        for (check, answer) in answers {
            let sent = self.in_flight.remove(&check).unwrap_or(now);
            self.asked.insert(check.clone(), sent);
            map.insert(check, answer);
        }
        self.view = PermissionView {
            answers: Arc::new(map),
        };
    }

    /// Every answer is due again (the server refused what a cached answer allowed): each is
    /// asked again when next needed, and kept until the new one arrives.
    pub fn expire(&mut self) {
        self.asked.clear();
    }

    /// The answers, for the planner (cheap to clone).
    pub fn view(&self) -> PermissionView {
        self.view.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(namespace: &str, verb: &str) -> AccessCheck {
        AccessCheck {
            namespace: namespace.into(),
            verb: verb.into(),
            group: "apps".into(),
            resource: "deployments".into(),
            subresource: None,
        }
    }

    fn at(seconds: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000 + seconds)
    }

    #[test]
    fn each_question_once_a_minute_and_never_twice_in_flight() {
        let mut cache = AccessCache::default();
        let needed = [check("a", "patch"), check("b", "patch")];
        assert_eq!(cache.to_ask(&needed, at(0)), needed);
        // In flight: not again, however often the row is looked at.
        assert!(cache.to_ask(&needed, at(1)).is_empty());
        cache.answered(
            vec![
                (needed[0].clone(), Ok(true)),
                (needed[1].clone(), Ok(false)),
            ],
            at(2),
        );
        assert!(cache.to_ask(&needed, at(30)).is_empty());
        assert!(cache.to_ask(&needed, at(59)).is_empty());
        // A minute after it was asked, and still needed: asked again; the old answer stays
        // until the new one comes.
        assert_eq!(cache.to_ask(&needed[..1], at(60)), needed[..1]);
        assert!(cache.view().denied(&needed[1..]).is_some());
        assert!(cache.to_ask(&needed[..1], at(61)).is_empty());
        // A new question is asked at once.
        assert_eq!(cache.to_ask(&[check("c", "patch")], at(61)).len(), 1);
    }

    #[test]
    fn an_answer_lost_in_flight_is_asked_again_after_a_minute() {
        let mut cache = AccessCache::default();
        let needed = [check("a", "patch")];
        assert_eq!(cache.to_ask(&needed, at(0)).len(), 1);
        assert!(cache.to_ask(&needed, at(59)).is_empty());
        assert_eq!(cache.to_ask(&needed, at(60)).len(), 1);
    }

    #[test]
    fn nothing_needed_nothing_asked() {
        let mut cache = AccessCache::default();
        for second in 0..600 {
            assert!(cache.to_ask(&[], at(second)).is_empty());
        }
    }

    #[test]
    fn expired_answers_are_asked_again_and_kept_meanwhile() {
        let mut cache = AccessCache::default();
        let needed = [check("a", "patch")];
        cache.to_ask(&needed, at(0));
        cache.answered(vec![(needed[0].clone(), Ok(false))], at(1));
        assert!(cache.to_ask(&needed, at(2)).is_empty());
        cache.expire();
        assert_eq!(cache.to_ask(&needed, at(3)), needed);
        assert!(cache.view().denied(&needed).is_some());
    }

    #[test]
    fn answers_reach_the_planner() {
        let mut cache = AccessCache::default();
        let needed = [check("a", "patch")];
        cache.to_ask(&needed, at(0));
        assert_eq!(cache.view().denied(&needed), None);
        cache.answered(vec![(needed[0].clone(), Ok(false))], at(1));
        assert_eq!(
            cache.view().denied(&needed).as_deref(),
            Some("not allowed: patch deployments.apps in a")
        );
    }
}
