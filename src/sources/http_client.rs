//! The HTTP client of an HTTP backend (Prometheus, Alertmanager): rustls, the configured
//! credentials (bearer token or basic auth, secrets resolved here), extra headers (marked
//! sensitive, never logged), a custom CA, timeouts.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};

use watchfloor_core::config::Secret;

/// How to reach one backend.
pub struct Access<'a> {
    /// For messages: `Prometheus`, `Alertmanager`.
    pub what: &'a str,
    pub token: Option<&'a Secret>,
    pub username: Option<&'a str>,
    pub password: Option<&'a Secret>,
    pub headers: &'a BTreeMap<String, Secret>,
    pub ca_file: Option<&'a Path>,
    /// Accept any certificate (the config warns about it).
    pub insecure_skip_verify: bool,
    pub timeout: Duration,
}

/// Builds the client, or says what in the config is wrong.
pub fn build(access: &Access<'_>) -> Result<reqwest::Client, String> {
    let what = access.what;
    let mut headers = HeaderMap::new();
    for (name, secret) in access.headers {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|e| format!("invalid {what} header name {name:?}: {e}"))?;
        let value = secret
            .resolve()
            .map_err(|e| format!("{what} header {name}: {e}"))?;
        let mut value = HeaderValue::from_str(&value)
            .map_err(|_| format!("{what} header {name}: the value is not a valid header value"))?;
        value.set_sensitive(true);
        headers.insert(name, value);
    }
    let token = access
        .token
        .map(|t| t.resolve().map_err(|e| format!("{what} token: {e}")))
        .transpose()?;
    let password = access
        .password
        .map(|p| p.resolve().map_err(|e| format!("{what} password: {e}")))
        .transpose()?;
    match (token, access.username, password) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(format!(
                "{what}: set either `token` or `username`/`password`, not both"
            ));
        }
        (Some(token), None, None) => {
            let mut value = HeaderValue::from_str(&format!("Bearer {}", token.trim()))
                .map_err(|_| format!("{what} token: not a valid header value"))?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        (None, Some(user), password) => {
            use base64::Engine;
            let raw = format!("{user}:{}", password.unwrap_or_default());
            let encoded = base64::engine::general_purpose::STANDARD.encode(raw);
            let mut value = HeaderValue::from_str(&format!("Basic {encoded}"))
                .map_err(|_| format!("{what} username: not a valid header value"))?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        (None, None, Some(_)) => {
            return Err(format!("{what}: `password` needs a `username`"));
        }
        (None, None, None) => {}
    }
    let timeout = access.timeout;
    let mut builder = reqwest::Client::builder()
        .default_headers(headers)
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .user_agent(concat!("watchfloor/", env!("CARGO_PKG_VERSION")));
    if let Some(path) = &access.ca_file {
        let pem = std::fs::read(path)
            .map_err(|e| format!("cannot read {what} ca_file {}: {e}", path.display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
            format!(
                "{what} ca_file {}: not PEM certificates: {e}",
                path.display()
            )
        })?;
        if certs.is_empty() {
            return Err(format!(
                "{what} ca_file {}: no PEM certificate in the file",
                path.display()
            ));
        }
        builder = builder.tls_certs_merge(certs);
    }
    if access.insecure_skip_verify {
        builder = builder.danger_accept_invalid_certs(true);
    }
    builder.build().map_err(|e| {
        format!(
            "cannot build the {what} client: {}",
            super::prometheus::error_chain(&e)
        )
    })
}
