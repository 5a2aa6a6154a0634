//! Certificates: cert-manager `Certificate`s (cert-manager.io/v1) when the CRD exists, else
//! the TLS Secrets that Ingresses reference, read with x509-parser; and the expiry rule.

use std::time::{Duration, SystemTime};

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::networking::v1::Ingress;
use serde_json::Value;
use x509_parser::extensions::GeneralName;
use x509_parser::pem::Pem;

use super::short_duration;
use crate::model::{Health, parse_time};

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum CertSource {
    /// A cert-manager `Certificate`.
    CertManager,
    /// A `kubernetes.io/tls` Secret, named by these Ingresses' `spec.tls`.
    IngressSecret { ingresses: Vec<String> },
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CertificateRow {
    pub namespace: String,
    /// The Certificate's name, or the Secret's for an Ingress secret.
    pub name: String,
    /// The Secret holding the key pair.
    pub secret: Option<String>,
    pub dns_names: Vec<String>,
    /// cert-manager's Ready condition (`None`: Unknown or absent); for a Secret, whether its
    /// certificate parsed.
    pub ready: Option<bool>,
    pub ready_message: Option<String>,
    #[serde(skip)]
    pub not_after: Option<SystemTime>,
    #[serde(skip)]
    pub renewal_time: Option<SystemTime>,
    pub source: CertSource,
}

fn string(value: &Value, path: &[&str]) -> Option<String> {
    let mut value = value;
    for key in path {
        value = value.get(key)?;
    }
    value.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
}

/// A cert-manager `Certificate` from its JSON; `None` without a name.
pub fn certificate_row(obj: &Value) -> Option<CertificateRow> {
    let name = string(obj, &["metadata", "name"])?;
    let ready_condition = obj
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|c| c.get("type").and_then(Value::as_str) == Some("Ready"));
    let ready = ready_condition
        .and_then(|c| c.get("status"))
        .and_then(Value::as_str)
        .and_then(|s| match s {
            "True" => Some(true),
            "False" => Some(false),
            _ => None,
        });
    let ready_message =
        ready_condition.and_then(|c| string(c, &["message"]).or_else(|| string(c, &["reason"])));
    Some(CertificateRow {
        namespace: string(obj, &["metadata", "namespace"]).unwrap_or_default(),
        name,
        secret: string(obj, &["spec", "secretName"]),
        dns_names: obj
            .pointer("/spec/dnsNames")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        ready,
        ready_message,
        not_after: string(obj, &["status", "notAfter"])
            .as_deref()
            .and_then(parse_time),
        renewal_time: string(obj, &["status", "renewalTime"])
            .as_deref()
            .and_then(parse_time),
        source: CertSource::CertManager,
    })
}

/// A TLS Secret's certificate (the first of `tls.crt`, the leaf by convention). `ready` says
/// whether it parsed; when not, `ready_message` says why.
pub fn tls_secret_row(secret: &Secret, ingresses: Vec<String>) -> CertificateRow {
    let name = secret.metadata.name.clone().unwrap_or_default();
    let mut row = CertificateRow {
        namespace: secret.metadata.namespace.clone().unwrap_or_default(),
        secret: Some(name.clone()),
        name,
        dns_names: Vec::new(),
        ready: Some(false),
        ready_message: None,
        not_after: None,
        renewal_time: None,
        source: CertSource::IngressSecret { ingresses },
    };
    let crt = secret.data.as_ref().and_then(|d| d.get("tls.crt"));
    match crt.map(|c| leaf(&c.0)) {
        None => row.ready_message = Some("the Secret has no tls.crt".into()),
        Some(Err(why)) => row.ready_message = Some(format!("tls.crt: {why}")),
        Some(Ok((not_after, dns_names))) => {
            row.ready = Some(true);
            row.not_after = not_after;
            row.dns_names = dns_names;
        }
    }
    row
}

/// How many PEM blocks are looked through for a certificate (a key may come first).
const PEM_BLOCKS: usize = 8;

/// The first certificate's notAfter and DNS names.
fn leaf(pem: &[u8]) -> Result<(Option<SystemTime>, Vec<String>), String> {
    let mut blocks = Pem::iter_from_buffer(pem).take(PEM_BLOCKS);
    let block = loop {
        match blocks.next() {
            None => return Err("no PEM certificate".into()),
            Some(Err(e)) => return Err(format!("bad PEM: {e}")),
            Some(Ok(block)) if block.label == "CERTIFICATE" => break block,
            Some(Ok(_)) => {}
        }
    };
    let cert = block
        .parse_x509()
        .map_err(|e| format!("not an X.509 certificate: {e}"))?;
    let seconds = cert.validity().not_after.timestamp();
    let not_after = if seconds >= 0 {
        SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(seconds.unsigned_abs()))
    } else {
        SystemTime::UNIX_EPOCH.checked_sub(Duration::from_secs(seconds.unsigned_abs()))
    };
    let dns_names = cert
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    GeneralName::DNSName(name) => Some((*name).to_owned()),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    Ok((not_after, dns_names))
}

/// The Secrets an Ingress serves TLS from (`spec.tls[].secretName`), each once.
pub fn ingress_tls_secrets(ing: &Ingress) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let tls = ing.spec.as_ref().and_then(|s| s.tls.as_ref());
    for name in tls
        .into_iter()
        .flatten()
        .filter_map(|t| t.secret_name.as_ref())
    {
        if !name.is_empty() && !names.contains(name) {
            names.push(name.clone());
        }
    }
    names
}

/// The expiry window defaults (config `cert_warn`, `cert_crit`).
pub const CERT_WARN: Duration = Duration::from_secs(14 * 86_400);
pub const CERT_CRIT: Duration = Duration::from_secs(3 * 86_400);

/// cert-manager renews ahead of time; a renewal this late is failing.
const RENEWAL_GRACE: Duration = Duration::from_secs(3600);

/// The expiry rule: not ready, expired, or expiring within `crit_within` is Crit; within
/// `warn_within`, a renewal overdue by an hour, or no known expiry is Warn; Ok otherwise.
pub fn cert_check(
    row: &CertificateRow,
    now: SystemTime,
    warn_within: Duration,
    crit_within: Duration,
) -> (Health, String) {
    let remaining = row.not_after.map(|t| t.duration_since(now));
    let expiry = match &remaining {
        Some(Ok(left)) => format!("expires in {}", short_duration(*left)),
        Some(Err(past)) => format!("expired {} ago", short_duration(past.duration())),
        None => "expiry unknown".to_owned(),
    };
    if row.ready == Some(false) {
        let why = row.ready_message.as_deref().unwrap_or("not ready");
        let text = match remaining {
            Some(_) => format!("not ready: {why} ({expiry})"),
            None => format!("not ready: {why}"),
        };
        return (Health::Crit, text);
    }
    match remaining {
        Some(Err(_)) => (Health::Crit, expiry),
        Some(Ok(left)) if left < crit_within => (Health::Crit, expiry),
        Some(Ok(left)) if left < warn_within => (Health::Warn, expiry),
        None => (Health::Warn, expiry),
        Some(Ok(_)) => match row
            .renewal_time
            .and_then(|due| now.duration_since(due).ok())
        {
            Some(late) if late > RENEWAL_GRACE => (
                Health::Warn,
                format!("renewal overdue by {}; {expiry}", short_duration(late)),
            ),
            _ => (Health::Ok, expiry),
        },
    }
}
