//! The authorization table behind SelfSubjectAccessReview and every real verb.

/// One rule; empty fields and `*` match anything. First match wins; no match = allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub verb: String,
    pub group: String,
    pub resource: String,
    pub subresource: String,
    pub namespace: String,
    pub allowed: bool,
}

impl Rule {
    /// A deny rule; pass `"*"` (or "") for wildcards. `resource` may be `res/sub`.
    pub fn deny(verb: &str, group: &str, resource: &str, namespace: &str) -> Rule {
        let (resource, sub) = resource.split_once('/').unwrap_or((resource, ""));
        Rule {
            verb: verb.into(),
            group: group.into(),
            resource: resource.into(),
            subresource: sub.into(),
            namespace: namespace.into(),
            allowed: false,
        }
    }

    pub fn allow(verb: &str, group: &str, resource: &str, namespace: &str) -> Rule {
        Rule {
            allowed: true,
            ..Rule::deny(verb, group, resource, namespace)
        }
    }

    fn matches(&self, a: &Attrs) -> bool {
        let m = |rule: &str, v: &str| rule.is_empty() || rule == "*" || rule == v;
        m(&self.verb, &a.verb)
            && m(&self.group, &a.group)
            && m(&self.resource, &a.resource)
            && (self.subresource == "*" || self.subresource == a.subresource)
            && m(&self.namespace, &a.namespace)
    }
}

/// Request attributes being authorised.
#[derive(Debug, Clone, Default)]
pub struct Attrs {
    pub verb: String,
    pub group: String,
    pub resource: String,
    pub subresource: String,
    pub namespace: String,
}

#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub rules: Vec<Rule>,
}

impl Policy {
    pub fn allowed(&self, a: &Attrs) -> bool {
        self.rules
            .iter()
            .find(|r| r.matches(a))
            .is_none_or(|r| r.allowed)
    }
}
