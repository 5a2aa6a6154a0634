//! The simulated cert-manager: its `certificates.cert-manager.io` CRD object, Certificate
//! status (Ready, notBefore, notAfter, renewalTime) and the `kubernetes.io/tls` Secret holding
//! a real PEM certificate (rcgen) whose validity is the Certificate's, so a client that parses
//! the Secret reads the same expiry as one that reads the Certificate.

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::clock::SimClock;
use super::resources::Res;
use super::state::WorldState;
use super::store::key_of;
use super::util::{fresh_uid, rfc3339};

/// cert-manager's default `spec.duration` (90 days).
pub const DEFAULT_DURATION: Duration = Duration::from_secs(86400 * 90);

/// A PEM certificate and its private key, valid from `not_before` to `not_after`.
pub struct Pem {
    pub cert: String,
    pub key: String,
}

/// Issue a self-signed certificate for `dns_names` (rcgen); `None` if rcgen refuses the input
/// (e.g. a name that is not a valid DNS name), which the caller reports as not ready.
pub fn issue(
    dns_names: &[String],
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Option<Pem> {
    let key = rcgen::KeyPair::generate().ok()?;
    let mut params = rcgen::CertificateParams::new(dns_names.to_vec()).ok()?;
    if let Some(cn) = dns_names.first() {
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, cn.as_str());
    }
    params.not_before = not_before;
    params.not_after = not_after;
    let cert = params.self_signed(&key).ok()?;
    Some(Pem {
        cert: cert.pem(),
        key: key.serialize_pem(),
    })
}

/// The CustomResourceDefinition clients look for to tell whether cert-manager is installed.
pub fn crd(clock: SimClock) -> Value {
    let col = |name: &str, ty: &str, path: &str, priority: u8| json!({"name": name, "type": ty, "jsonPath": path, "priority": priority});
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "certificates.cert-manager.io", "uid": fresh_uid(), "generation": 1,
            "creationTimestamp": clock.ago_rfc3339(Duration::from_secs(86400 * 200)),
            "labels": {"app": "cert-manager", "app.kubernetes.io/name": "cert-manager", "app.kubernetes.io/version": "v1.17.2"}},
        "spec": {
            "group": "cert-manager.io",
            "names": {"kind": "Certificate", "listKind": "CertificateList", "plural": "certificates",
                "singular": "certificate", "shortNames": ["cert", "certs"], "categories": ["cert-manager"]},
            "scope": "Namespaced",
            "versions": [{"name": "v1", "served": true, "storage": true,
                "subresources": {"status": {}},
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
                "additionalPrinterColumns": [
                    col("Ready", "string", ".status.conditions[?(@.type==\"Ready\")].status", 0),
                    col("Secret", "string", ".spec.secretName", 0),
                    col("Issuer", "string", ".spec.issuerRef.name", 1),
                    col("Status", "string", ".status.conditions[?(@.type==\"Ready\")].message", 1),
                    col("Age", "date", ".metadata.creationTimestamp", 0),
                ]}],
        },
        "status": {"acceptedNames": {"kind": "Certificate", "plural": "certificates"}, "storedVersions": ["v1"],
            "conditions": [{"type": "Established", "status": "True", "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"}]},
    })
}

fn b64(s: &str) -> String {
    STANDARD.encode(s.as_bytes())
}

/// The TLS Secret cert-manager writes for a Certificate (or, without cert-manager, the one an
/// Ingress's `spec.tls[].secretName` names).
pub fn tls_secret(ns: &str, name: &str, pem: &Pem, cert: Option<&Value>, created: &str) -> Value {
    let mut s = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": ns, "uid": fresh_uid(), "creationTimestamp": created},
        "type": "kubernetes.io/tls",
        "data": {"tls.crt": b64(&pem.cert), "tls.key": b64(&pem.key), "ca.crt": b64(&pem.cert)},
    });
    if let Some(c) = cert {
        let spec = &c["spec"];
        let names: Vec<&str> = spec["dnsNames"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        s["metadata"]["annotations"] = json!({
            "cert-manager.io/certificate-name": c["metadata"]["name"],
            "cert-manager.io/issuer-name": spec["issuerRef"]["name"],
            "cert-manager.io/issuer-kind": spec["issuerRef"]["kind"].as_str().unwrap_or("Issuer"),
            "cert-manager.io/issuer-group": "cert-manager.io",
            "cert-manager.io/common-name": names.first().copied().unwrap_or(""),
            "cert-manager.io/alt-names": names.join(","),
        });
        s["metadata"]["labels"] = json!({"controller.cert-manager.io/fao": "true"});
    }
    s
}

/// When cert-manager renews: `renewBefore` ahead of expiry, else a third of the duration.
pub fn renewal_time(
    spec: &Value,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> OffsetDateTime {
    let before = spec["renewBefore"]
        .as_str()
        .and_then(|s| humantime::parse_duration(s).ok())
        .map_or((not_after - not_before) / 3, |d| {
            time::Duration::try_from(d).unwrap_or(time::Duration::ZERO)
        });
    not_after - before
}

/// A Certificate's status as cert-manager writes it once issued (Ready while not expired).
pub fn issued_status(
    spec: &Value,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    now: OffsetDateTime,
) -> Value {
    let renewal = renewal_time(spec, not_before, not_after);
    let (ready, reason, message) = if now >= not_after {
        (
            "False",
            "Expired",
            format!("Certificate expired on {}", rfc3339(not_after)),
        )
    } else {
        (
            "True",
            "Ready",
            "Certificate is up to date and has not expired".to_string(),
        )
    };
    let mut conditions = vec![
        json!({"type": "Ready", "status": ready, "reason": reason, "message": message,
        "lastTransitionTime": rfc3339(not_before), "observedGeneration": 1}),
    ];
    if now >= renewal {
        // Renewal is due and has not happened: cert-manager keeps an Issuing condition up.
        conditions.push(json!({"type": "Issuing", "status": "True", "reason": "Renewing",
            "message": format!("Renewing certificate as renewal was scheduled at {}", rfc3339(renewal)),
            "lastTransitionTime": rfc3339(renewal), "observedGeneration": 1}));
    }
    json!({
        "conditions": conditions,
        "notBefore": rfc3339(not_before),
        "notAfter": rfc3339(not_after),
        "renewalTime": rfc3339(renewal),
        "revision": 1,
    })
}

fn dns_names(c: &Value) -> Vec<String> {
    let mut names: Vec<String> = c["spec"]["dnsNames"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    if names.is_empty()
        && let Some(cn) = c["spec"]["commonName"].as_str()
    {
        names.push(cn.to_string());
    }
    names
}

impl WorldState {
    /// Issue Certificates nobody has issued yet (created by a client): a fresh certificate
    /// valid for `spec.duration` from now, its Secret, and a Ready status.
    pub(crate) fn reconcile_certificates(&mut self) {
        let pending: Vec<Value> = self
            .store
            .iter(Res::Certificate, None, None)
            .filter(|c| c["status"].get("notAfter").is_none())
            .map(|c| (**c).clone())
            .collect();
        let now = self.store.clock.wall();
        for mut c in pending {
            let (ns, _) = key_of(&c);
            let duration = c["spec"]["duration"]
                .as_str()
                .and_then(|s| humantime::parse_duration(s).ok())
                .unwrap_or(DEFAULT_DURATION);
            let not_after = now + duration;
            let names = dns_names(&c);
            let secret_name = c["spec"]["secretName"].as_str().unwrap_or("").to_string();
            match issue(&names, now, not_after).filter(|_| !secret_name.is_empty()) {
                Some(pem) => {
                    let secret = tls_secret(&ns, &secret_name, &pem, Some(&c), &rfc3339(now));
                    self.put_secret(secret);
                    c["status"] = issued_status(&c["spec"], now, not_after, now);
                }
                None => {
                    c["status"] = json!({"conditions": [{"type": "Ready", "status": "False", "reason": "Failed",
                        "message": "The certificate request has failed to complete and will be retried: invalid dnsNames or secretName",
                        "lastTransitionTime": rfc3339(now), "observedGeneration": 1}],
                        // Marks it as looked at, so it is not retried on every pass.
                        "notAfter": null, "failedIssuanceAttempts": 1});
                }
            }
            self.store.put(Res::Certificate, c);
        }
    }

    /// Create or replace a Secret (keeping the existing one's uid and creation time).
    pub(crate) fn put_secret(&mut self, mut secret: Value) {
        let (ns, name) = key_of(&secret);
        if let Some(old) = self.store.get(Res::Secret, &ns, &name) {
            secret["metadata"]["uid"] = old["metadata"]["uid"].clone();
            secret["metadata"]["creationTimestamp"] = old["metadata"]["creationTimestamp"].clone();
        }
        self.store.put(Res::Secret, secret);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_a_real_pem() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let pem = issue(
            &["shop.example.com".into()],
            now,
            now + Duration::from_secs(86400 * 5),
        );
        let pem = pem.expect("issued");
        assert!(pem.cert.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(pem.key.contains("PRIVATE KEY"));
    }

    #[test]
    fn renewal_defaults_to_a_third_of_the_duration() {
        let nb = OffsetDateTime::UNIX_EPOCH;
        let na = nb + Duration::from_secs(86400 * 90);
        assert_eq!(
            renewal_time(&json!({}), nb, na),
            nb + Duration::from_secs(86400 * 60)
        );
        let st = issued_status(&json!({}), nb, na, nb + Duration::from_secs(86400 * 85));
        assert_eq!(st["conditions"][0]["status"], "True");
        assert_eq!(st["conditions"][1]["type"], "Issuing");
        let st = issued_status(&json!({}), nb, na, na);
        assert_eq!(st["conditions"][0]["reason"], "Expired");
    }
}
