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

/// Without cert-manager, the certificates are the TLS Secrets that Ingresses name: each
/// such Secret's row (from [`tls_secret_row`]) with the Ingresses (namespace, name, the Secrets
/// it names) that name it, sorted; a Secret no Ingress names is left out.
pub fn ingress_certificates<'a>(
    ingresses: impl Iterator<Item = (&'a str, &'a str, &'a [String])>,
    secrets: impl Iterator<Item = &'a CertificateRow>,
) -> Vec<CertificateRow> {
    let mut naming: std::collections::BTreeMap<(&str, &str), Vec<String>> =
        std::collections::BTreeMap::new();
    for (namespace, ingress, names) in ingresses {
        for secret in names {
            naming
                .entry((namespace, secret.as_str()))
                .or_default()
                .push(ingress.to_string());
        }
    }
    secrets
        .filter_map(|row| {
            let mut ingresses = naming
                .get(&(row.namespace.as_str(), row.name.as_str()))?
                .clone();
            ingresses.sort();
            ingresses.dedup();
            let mut row = row.clone();
            row.source = CertSource::IngressSecret { ingresses };
            Some(row)
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use k8s_openapi::ByteString;
    use serde_json::json;

    use super::*;

    const DAY: u64 = 86_400;

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_714_557_600) // 2024-05-01T10:00:00Z
    }

    fn expiring_in(days: i64, ready: Option<bool>) -> CertificateRow {
        let offset = Duration::from_secs(days.unsigned_abs() * DAY);
        CertificateRow {
            namespace: "shop".into(),
            name: "web-tls".into(),
            secret: Some("web-tls".into()),
            dns_names: vec!["shop.example.com".into()],
            ready,
            ready_message: None,
            not_after: Some(if days >= 0 {
                now() + offset
            } else {
                now() - offset
            }),
            renewal_time: None,
            source: CertSource::CertManager,
        }
    }

    fn check(row: &CertificateRow) -> (Health, String) {
        cert_check(row, now(), CERT_WARN, CERT_CRIT)
    }

    #[test]
    fn expiry_windows() {
        assert_eq!(
            check(&expiring_in(-2, Some(true))),
            (Health::Crit, "expired 2d ago".into())
        );
        assert_eq!(
            check(&expiring_in(2, Some(true))),
            (Health::Crit, "expires in 2d".into())
        );
        assert_eq!(
            check(&expiring_in(5, Some(true))),
            (Health::Warn, "expires in 5d".into())
        );
        assert_eq!(
            check(&expiring_in(30, Some(true))),
            (Health::Ok, "expires in 30d".into())
        );
        assert_eq!(
            check(&expiring_in(30, None)).0,
            Health::Ok,
            "Unknown readiness alone"
        );
        let mut not_ready = expiring_in(30, Some(false));
        not_ready.ready_message = Some("Issuing certificate as Secret does not exist".into());
        assert_eq!(
            check(&not_ready),
            (
                Health::Crit,
                "not ready: Issuing certificate as Secret does not exist (expires in 30d)".into()
            )
        );
        let mut unissued = expiring_in(30, None);
        unissued.not_after = None;
        assert_eq!(check(&unissued), (Health::Warn, "expiry unknown".into()));
        let mut overdue = expiring_in(30, Some(true));
        overdue.renewal_time = Some(now() - Duration::from_secs(2 * DAY));
        assert_eq!(
            check(&overdue),
            (Health::Warn, "renewal overdue by 2d; expires in 30d".into())
        );
        // Narrower windows from the config.
        let five = expiring_in(5, Some(true));
        let narrow = cert_check(
            &five,
            now(),
            Duration::from_secs(4 * DAY),
            Duration::from_secs(DAY),
        );
        assert_eq!(narrow.0, Health::Ok);
    }

    #[test]
    fn cert_manager_certificates_from_json() {
        let row = certificate_row(&json!({
            "apiVersion": "cert-manager.io/v1", "kind": "Certificate",
            "metadata": {"name": "shop-tls", "namespace": "shop"},
            "spec": {"secretName": "shop-tls-secret", "dnsNames": ["shop.example.com", "www.shop.example.com"]},
            "status": {
                "conditions": [{"type": "Issuing", "status": "False"},
                               {"type": "Ready", "status": "True", "reason": "Ready",
                                "message": "Certificate is up to date and has not expired"}],
                "notAfter": "2024-05-06T10:00:00Z",
                "renewalTime": "2024-05-04T10:00:00Z",
            },
        }))
        .unwrap();
        assert_eq!(row.secret.as_deref(), Some("shop-tls-secret"));
        assert_eq!(row.dns_names.len(), 2);
        assert_eq!(row.ready, Some(true));
        assert_eq!(
            row.ready_message.as_deref(),
            Some("Certificate is up to date and has not expired")
        );
        assert_eq!(row.source, CertSource::CertManager);
        assert_eq!(check(&row), (Health::Warn, "expires in 5d".into()));
        assert!(certificate_row(&json!({"metadata": {}})).is_none());
        assert!(certificate_row(&json!("junk")).is_none());
        let bare =
            certificate_row(&json!({"metadata": {"name": "x"}, "status": {"notAfter": "soon"}}))
                .unwrap();
        assert_eq!((bare.ready, bare.not_after), (None, None));
    }

    fn secret(data: Option<&[u8]>) -> Secret {
        let mut secret = Secret::default();
        secret.metadata.name = Some("web-tls".into());
        secret.metadata.namespace = Some("shop".into());
        secret.data = data.map(|crt| {
            BTreeMap::from([
                ("tls.crt".to_string(), ByteString(crt.to_vec())),
                ("tls.key".to_string(), ByteString(b"secret".to_vec())),
            ])
        });
        secret
    }

    #[test]
    fn tls_secrets_read_a_real_certificate() {
        let mut params =
            rcgen::CertificateParams::new(vec!["shop.example.com".to_string()]).unwrap();
        params.not_after = rcgen::date_time_ymd(2024, 5, 6);
        let key = rcgen::KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        // A key first, then the certificate: the first CERTIFICATE block counts.
        let bundle = format!("{}{pem}", key.serialize_pem());
        let row = tls_secret_row(&secret(Some(bundle.as_bytes())), vec!["shop".into()]);
        assert_eq!(row.ready, Some(true), "{:?}", row.ready_message);
        assert_eq!(row.dns_names, ["shop.example.com"]);
        assert_eq!(row.secret.as_deref(), Some("web-tls"));
        assert_eq!(
            row.source,
            CertSource::IngressSecret {
                ingresses: vec!["shop".into()]
            }
        );
        assert_eq!(
            row.not_after,
            Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_714_953_600))
        );
        assert_eq!(check(&row), (Health::Warn, "expires in 4d14h".into()));
    }

    #[test]
    fn bad_pem_is_a_not_ready_row_never_a_panic() {
        let cases: [(Option<&[u8]>, &str); 5] = [
            (None, "the Secret has no tls.crt"),
            (Some(b""), "tls.crt: no PEM certificate"),
            (Some(b"\xff\xfe garbage"), "tls.crt: no PEM certificate"),
            (
                Some(b"-----BEGIN CERTIFICATE-----\n!!!notbase64\n-----END CERTIFICATE-----\n"),
                "tls.crt: bad PEM",
            ),
            (
                Some(b"-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n"),
                "tls.crt: not an X.509 certificate",
            ),
        ];
        for (data, says) in cases {
            let row = tls_secret_row(&secret(data), vec![]);
            assert_eq!(row.ready, Some(false));
            let message = row.ready_message.clone().unwrap_or_default();
            assert!(message.starts_with(says), "{message}");
            assert_eq!(check(&row).0, Health::Crit);
        }
        let truncated = b"-----BEGIN CERTIFICATE-----\naGVsbG8=\n";
        let row = tls_secret_row(&secret(Some(truncated)), vec![]);
        assert_eq!(row.ready, Some(false));
    }

    #[test]
    fn ingress_tls_secrets_once_each() {
        let ingress: Ingress = serde_json::from_value(json!({
            "metadata": {"name": "shop", "namespace": "shop"},
            "spec": {"tls": [
                {"hosts": ["a.example"], "secretName": "a-tls"},
                {"hosts": ["b.example"], "secretName": "a-tls"},
                {"hosts": ["c.example"]},
                {"secretName": ""},
                {"secretName": "c-tls"},
            ]},
        }))
        .unwrap();
        assert_eq!(ingress_tls_secrets(&ingress), ["a-tls", "c-tls"]);
        assert!(ingress_tls_secrets(&Ingress::default()).is_empty());
    }
}
