//! One PostgreSQL connection from a `[[targets.postgres]]` entry: the DSN (libpq key/value or
//! URL), the password secret, `sslmode` as libpq means it (over rustls), and a session set up
//! so a monitoring query can never stall the console (`statement_timeout`, `lock_timeout`).

use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio_postgres::config::SslMode;

use crate::text::sanitize;
use watchfloor_core::config::PostgresConfig;

/// Applied when the DSN sets no `connect_timeout`.
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How the server's certificate is checked, from `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verify {
    /// `disable`, `prefer`, `require`: libpq encrypts without checking the certificate
    /// (unless a root certificate is given).
    None,
    /// `verify-ca`: the chain must lead to a trusted root.
    Ca,
    /// `verify-full`: the chain and the host name.
    Full,
}

/// The parsed DSN, ready to connect.
#[derive(Debug)]
pub struct Target {
    pub config: tokio_postgres::Config,
    verify: Verify,
    root_cert: Option<String>,
}

/// The config's check of a `[[targets.postgres]]` DSN: parsed as [`parse`] will parse it when
/// the source connects (the password secret is applied after parsing; it is not checked here).
pub fn check_dsn(entry: &PostgresConfig) -> Result<(), String> {
    let dsn_only = PostgresConfig {
        password: None,
        ..entry.clone()
    };
    let Err(mut why) = parse(&dsn_only) else {
        return Ok(());
    };
    // tokio-postgres says only "invalid connection string"; its cause says which part.
    if let Ok(dsn) = entry.dsn.resolve()
        && let Err(error) = dsn.trim().parse::<tokio_postgres::Config>()
        && let Some(cause) = std::error::Error::source(&error)
    {
        let cause = sanitize(&cause.to_string());
        if !why.contains(&cause) {
            why = format!("{why}: {cause}");
        }
    }
    Err(why)
}

/// Parses the entry's DSN: libpq key/value (`host=… dbname=…`) or a `postgres://` URL.
/// `verify-ca` / `verify-full` and `sslrootcert`, which tokio-postgres does not parse, are taken
/// out first and honoured here. Errors never contain the DSN (it may hold a password).
pub fn parse(entry: &PostgresConfig) -> Result<Target, String> {
    let dsn = entry
        .dsn
        .resolve()
        .map_err(|e| format!("dsn of {:?}: {e}", entry.name))?;
    let (dsn, sslmode) = take_option(&dsn, "sslmode");
    let (dsn, root_cert) = take_option(&dsn, "sslrootcert");
    let verify = match sslmode.as_deref() {
        Some("verify-ca") => Verify::Ca,
        Some("verify-full") => Verify::Full,
        _ => Verify::None,
    };
    let mut config: tokio_postgres::Config = dsn.parse().map_err(|e: tokio_postgres::Error| {
        format!(
            "dsn of {:?} is not valid: {}",
            entry.name,
            sanitize(&e.to_string())
        )
    })?;
    config.ssl_mode(match sslmode.as_deref() {
        None | Some("prefer") | Some("allow") => SslMode::Prefer,
        Some("disable") => SslMode::Disable,
        Some("require" | "verify-ca" | "verify-full") => SslMode::Require,
        Some(other) => {
            return Err(format!(
                "dsn of {:?}: unknown sslmode {:?} (disable, allow, prefer, require, verify-ca, verify-full)",
                entry.name,
                sanitize(other)
            ));
        }
    });
    if let Some(password) = &entry.password {
        config.password(password.resolve()?);
    }
    if config.get_user().is_none() {
        let user = std::env::var("PGUSER")
            .or_else(|_| std::env::var("USER"))
            .unwrap_or_else(|_| "postgres".into());
        config.user(user);
    }
    if config.get_application_name().is_none() {
        config.application_name("watchfloor");
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
    }
    Ok(Target {
        config,
        verify,
        root_cert,
    })
}

/// Connects, spawns the connection task and sets the session's timeouts. The client's queries
/// fail after `statement_timeout` on the server; callers still bound each call with their own
/// deadline, since a stalled network never delivers the server's error.
pub async fn connect(
    target: &Target,
    statement_timeout: Duration,
) -> Result<tokio_postgres::Client, String> {
    let client = match target.config.get_ssl_mode() {
        SslMode::Disable => {
            let (client, connection) = target
                .config
                .connect(tokio_postgres::NoTls)
                .await
                .map_err(|e| describe_error(&e))?;
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::debug!(error = %e, "postgres connection ended");
                }
            });
            client
        }
        _ => {
            let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls_config(target)?);
            let (client, connection) = target
                .config
                .connect(tls)
                .await
                .map_err(|e| describe_error(&e))?;
            tokio::spawn(async move {
                if let Err(e) = connection.await {
                    tracing::debug!(error = %e, "postgres connection ended");
                }
            });
            client
        }
    };
    let ms = statement_timeout.as_millis().clamp(1, i32::MAX as u128);
    client
        .batch_execute(&format!(
            "SET statement_timeout = {ms}; SET lock_timeout = {ms}; \
             SET idle_in_transaction_session_timeout = 0"
        ))
        .await
        .map_err(|e| describe_error(&e))?;
    Ok(client)
}

/// The server's message (with SQLSTATE) when there is one, else the client's; sanitised.
pub fn describe_error(error: &tokio_postgres::Error) -> String {
    let text = match error.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => {
            let mut text = error.to_string();
            let mut source = std::error::Error::source(error);
            while let Some(cause) = source {
                let cause = cause.to_string();
                if !text.contains(&cause) {
                    text.push_str(": ");
                    text.push_str(&cause);
                }
                source = cause_source(source);
            }
            text
        }
    };
    sanitize(&text)
}

fn cause_source<'a>(
    error: Option<&'a (dyn std::error::Error + 'static)>,
) -> Option<&'a (dyn std::error::Error + 'static)> {
    error.and_then(std::error::Error::source)
}

/// Removes `name=value` from a key/value DSN or `name=value` from a URL's query string,
/// returning the rest and the value.
fn take_option(dsn: &str, name: &str) -> (String, Option<String>) {
    let trimmed = dsn.trim();
    if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
        let Some((base, query)) = trimmed.split_once('?') else {
            return (trimmed.to_string(), None);
        };
        let mut value = None;
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| match pair.split_once('=') {
                Some((key, v)) if key == name => {
                    value = Some(v.to_string());
                    false
                }
                _ => true,
            })
            .collect();
        let rest = if kept.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", kept.join("&"))
        };
        return (rest, value);
    }
    // key/value: `key = value` pairs separated by spaces; values may be single-quoted.
    let mut value = None;
    let mut rest = String::new();
    let mut chars = trimmed.char_indices().peekable();
    let mut start = 0;
    let mut pairs = Vec::new();
    let mut in_quote = false;
    let mut after_eq = false;
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' if in_quote => {
                chars.next();
            }
            '\'' => in_quote = !in_quote,
            '=' if !in_quote => after_eq = true,
            c if c.is_whitespace() && !in_quote && after_eq => {
                // The end of a pair, unless the value has not started yet (`key = value`).
                let pair = trimmed[start..i].trim();
                if !pair.ends_with('=') {
                    pairs.push(pair.to_string());
                    start = i;
                    after_eq = false;
                }
            }
            _ => {}
        }
    }
    let last = trimmed[start..].trim();
    if !last.is_empty() {
        pairs.push(last.to_string());
    }
    for pair in pairs {
        match pair.split_once('=') {
            Some((key, v)) if key.trim() == name => {
                value = Some(v.trim().trim_matches('\'').to_string());
            }
            _ => {
                if !rest.is_empty() {
                    rest.push(' ');
                }
                rest.push_str(&pair);
            }
        }
    }
    (rest, value)
}

fn tls_config(target: &Target) -> Result<rustls::ClientConfig, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = &target.root_cert {
        use rustls::pki_types::pem::PemObject;
        let certs =
            CertificateDer::pem_file_iter(path).map_err(|e| format!("sslrootcert {path}: {e}"))?;
        for cert in certs {
            let cert = cert.map_err(|e| format!("sslrootcert {path}: {e}"))?;
            roots
                .add(cert)
                .map_err(|e| format!("sslrootcert {path}: {e}"))?;
        }
    }
    let verify = match (target.verify, target.root_cert.is_some()) {
        // libpq: with a root certificate file, `require` behaves like `verify-ca`.
        (Verify::None, true) => Verify::Ca,
        (verify, _) => verify,
    };
    let config = match verify {
        Verify::Full => builder.with_root_certificates(roots).with_no_client_auth(),
        Verify::Ca => {
            let inner = rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .build()
            .map_err(|e| e.to_string())?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(ChainOnly { inner }))
                .with_no_client_auth()
        }
        Verify::None => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(EncryptOnly { provider }))
            .with_no_client_auth(),
    };
    Ok(config)
}

/// `verify-ca`: the chain must be trusted; a name mismatch is accepted, as libpq does.
#[derive(Debug)]
struct ChainOnly {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForName))
            | Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// `require` without a root certificate: encrypted, certificate not checked (libpq's meaning).
/// Signatures are still verified, so the session is bound to the presented key.
#[derive(Debug)]
struct EncryptOnly {
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_taken_from_key_value_dsns() {
        let (rest, mode) = take_option("host=db sslmode=verify-full dbname=app", "sslmode");
        assert_eq!(mode.as_deref(), Some("verify-full"));
        assert_eq!(rest, "host=db dbname=app");
        let (rest, cert) = take_option(
            "host = db sslrootcert = '/etc/ca root.pem' user=x",
            "sslrootcert",
        );
        assert_eq!(cert.as_deref(), Some("/etc/ca root.pem"));
        assert_eq!(rest, "host = db user=x");
    }

    #[test]
    fn options_are_taken_from_urls() {
        let (rest, mode) = take_option(
            "postgres://u@db:5432/app?sslmode=require&connect_timeout=3",
            "sslmode",
        );
        assert_eq!(mode.as_deref(), Some("require"));
        assert_eq!(rest, "postgres://u@db:5432/app?connect_timeout=3");
        let (rest, mode) = take_option("postgresql://db/app?sslmode=disable", "sslmode");
        assert_eq!(mode.as_deref(), Some("disable"));
        assert_eq!(rest, "postgresql://db/app");
    }

    #[test]
    fn a_bad_dsn_is_an_error_without_the_dsn() {
        let entry: PostgresConfig =
            toml::from_str("name = \"db\"\ndsn = \"host=x password=hunter2 nonsense\"").unwrap();
        let error = parse(&entry).unwrap_err();
        assert!(error.contains("\"db\""), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
    }

    #[test]
    fn sslmode_maps_to_tls() {
        let entry: PostgresConfig =
            toml::from_str("name = \"db\"\ndsn = \"host=127.0.0.1 user=app sslmode=verify-full\"")
                .unwrap();
        let target = parse(&entry).unwrap();
        assert_eq!(target.config.get_ssl_mode(), SslMode::Require);
        assert_eq!(target.verify, Verify::Full);
        assert_eq!(target.config.get_application_name(), Some("watchfloor"));
        tls_config(&target).unwrap();
    }
}
