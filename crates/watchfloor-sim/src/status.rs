//! API errors rendered as `Status` JSON with the matching HTTP code.

use serde_json::{Value, json};

use super::resources::Res;

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

impl ApiError {
    pub fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    fn with_details(mut self, res: Res, name: &str) -> Self {
        let mut d = json!({"name": name, "kind": res.plural()});
        if !res.group().is_empty() {
            d["group"] = json!(res.group());
        }
        self.details = Some(d);
        self
    }

    fn qualified(res: Res) -> String {
        if res.group().is_empty() {
            res.plural().to_string()
        } else {
            format!("{}.{}", res.plural(), res.group())
        }
    }

    pub fn not_found(res: Res, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{} \"{}\" not found", Self::qualified(res), name),
        )
        .with_details(res, name)
    }

    pub fn already_exists(res: Res, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{}\" already exists", Self::qualified(res), name),
        )
        .with_details(res, name)
    }

    pub fn conflict(res: Res, name: &str, why: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{}\": {}",
                Self::qualified(res),
                name,
                why
            ),
        )
        .with_details(res, name)
    }

    pub fn invalid(res: Res, name: &str, why: &str) -> Self {
        Self::new(
            422,
            "Invalid",
            format!("{} \"{}\" is invalid: {}", res.kind(), name, why),
        )
        .with_details(res, name)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
    }

    pub fn unsupported_media(message: impl Into<String>) -> Self {
        Self::new(415, "UnsupportedMediaType", message)
    }

    /// What kube-apiserver answers for an unknown resource in a served group version.
    pub fn page_not_found() -> Self {
        let mut e = Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        );
        e.details = Some(json!({}));
        e
    }

    pub fn forbidden(verb: &str, res_label: &str, group: &str, ns: &str, name: &str) -> Self {
        let scope = if ns.is_empty() {
            "at the cluster scope".to_string()
        } else {
            format!("in the namespace \"{ns}\"")
        };
        let what = if name.is_empty() {
            String::new()
        } else {
            format!(" \"{name}\"")
        };
        let mut e = Self::new(
            403,
            "Forbidden",
            format!(
                "{res_label}{what} is forbidden: User \"system:serviceaccount:watchfloor:sim\" cannot {verb} resource \"{res_label}\" in API group \"{group}\" {scope}"
            ),
        );
        e.details = Some(json!({"name": name, "kind": res_label, "group": group}));
        e
    }

    /// The injected-fault error for `code`.
    pub fn injected(code: u16) -> Self {
        match code {
            403 => Self::new(403, "Forbidden", "forbidden (injected fault)"),
            404 => Self::new(404, "NotFound", "not found (injected fault)"),
            409 => Self::new(409, "Conflict", "conflict (injected fault)"),
            410 => Self::new(410, "Expired", "expired (injected fault)"),
            429 => Self::new(
                429,
                "TooManyRequests",
                "the server has received too many requests and has asked us to try again later (injected fault)",
            ),
            503 => Self::new(
                503,
                "ServiceUnavailable",
                "the server is currently unable to handle the request (injected fault)",
            ),
            504 => Self::new(
                504,
                "Timeout",
                "the server was unable to return a response in the time allotted (injected fault)",
            ),
            c => Self::new(
                c,
                "InternalError",
                "Internal error occurred: injected fault",
            ),
        }
    }

    pub fn to_status(&self) -> Value {
        let mut s = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(d) = &self.details {
            s["details"] = d.clone();
        }
        s
    }
}

/// `Status` Success, as returned by some deletes.
pub fn success_status(res: Res, name: &str, uid: &str) -> Value {
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {"name": name, "group": res.group(), "kind": res.plural(), "uid": uid}
    })
}
