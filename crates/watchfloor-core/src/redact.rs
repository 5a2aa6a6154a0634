//! The one redaction rule: credentials inside URLs and DSNs never reach any output.
//!
//! Every URL or DSN (and every error message that may quote one: reqwest, kube and
//! tokio-postgres errors do) goes through [`redact`] before it is drawn, logged, printed, put
//! in a snapshot or written to the audit file. Redacted: the password of a URL's userinfo,
//! query parameters and libpq `key=value` pairs whose names look secret. The rest stays, so the
//! operator can still tell which server is meant.

use std::borrow::Cow;

/// What a secret is replaced with.
pub const MASK: &str = "***";

/// Names of query parameters and `key=value` pairs whose values are secrets (compared
/// case-insensitively, `-` and `_` ignored; a name that contains one of these counts too,
/// e.g. `x-api-key`, `auth_token`, `client_secret`).
const SECRET_NAMES: &[&str] = &[
    "token",
    "key",
    "password",
    "passwd",
    "pwd",
    "secret",
    "signature",
    "sig",
    "auth",
    "credential",
    "session",
    "sslpassword",
];

/// Whether a parameter with this name carries a secret.
pub fn is_secret_name(name: &str) -> bool {
    let folded: String = name
        .chars()
        .filter(|c| *c != '-' && *c != '_')
        .flat_map(char::to_lowercase)
        .collect();
    if folded.is_empty() {
        return false;
    }
    // `sig` and `pwd` match exactly (they hide in ordinary words), the rest anywhere in the
    // name: over-redacting `keyboard=` is cheaper than leaking `api_key=`.
    SECRET_NAMES.iter().any(|secret| {
        if matches!(*secret, "sig" | "pwd") {
            folded == *secret
        } else {
            folded.contains(secret)
        }
    })
}

/// Redacts every URL and libpq DSN pair found in `text` (a URL, a DSN, or a sentence quoting
/// them). Borrows the input when there is nothing to hide.
pub fn redact(text: &str) -> Cow<'_, str> {
    if !might_hold_secret(text) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = next_url_start(rest) {
        let (before, from) = rest.split_at(start);
        out.push_str(&redact_pairs(before));
        let end = from
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`'))
            .unwrap_or(from.len());
        // Punctuation after a URL is not part of it (reqwest: "for url (http://…): …").
        let (mut url, _) = from.split_at(end);
        while let Some(last) = url.chars().last() {
            let unbalanced_paren =
                last == ')' && url.matches(')').count() > url.matches('(').count();
            if unbalanced_paren || matches!(last, ',' | '.' | ';' | ':' | ']') {
                url = &url[..url.len() - 1];
            } else {
                break;
            }
        }
        out.push_str(&redact_url(url));
        rest = &from[url.len()..];
    }
    out.push_str(&redact_pairs(rest));
    if out == text {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(out)
    }
}

/// [`redact`] into an owned string.
pub fn redacted(text: &str) -> String {
    redact(text).into_owned()
}

/// Redacts a string in place (no allocation when there is nothing to hide).
pub fn redact_in_place(text: &mut String) {
    if let Cow::Owned(clean) = redact(text) {
        *text = clean;
    }
}

/// Redacts every string inside a JSON value (object keys are field names and stay). Redacting
/// the structure rather than the printed JSON keeps it valid: a masked value cannot swallow a
/// closing quote.
pub fn redact_json(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(text) => redact_in_place(text),
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_json),
        serde_json::Value::Object(fields) => fields.values_mut().for_each(redact_json),
        serde_json::Value::Null | serde_json::Value::Bool(_) | serde_json::Value::Number(_) => {}
    }
}

/// Cheap pre-check: no `://`, `@`, `=` means no URL credentials, query or DSN pair.
fn might_hold_secret(text: &str) -> bool {
    text.contains("://") || text.contains('=') || text.contains('@')
}

/// Byte offset where the next `scheme://` starts.
fn next_url_start(text: &str) -> Option<usize> {
    let mut search_from = 0;
    while let Some(found) = text[search_from..].find("://") {
        let marker = search_from + found;
        let scheme_start = text[..marker]
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            .last()
            .map(|(i, _)| i);
        match scheme_start {
            Some(start) if text[start..marker].starts_with(|c: char| c.is_ascii_alphabetic()) => {
                return Some(start);
            }
            _ => search_from = marker + 3,
        }
    }
    None
}

/// Redacts one URL: the userinfo password and secret-looking query parameters.
fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_string();
    };
    let (scheme, rest) = url.split_at(scheme_end + 3);
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let mut out = String::from(scheme);
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            match userinfo.split_once(':') {
                Some((user, _password)) => {
                    out.push_str(user);
                    out.push(':');
                    out.push_str(MASK);
                }
                // A lone token as the user name (`https://TOKEN@host`) is a secret too.
                None if userinfo.len() >= 20 => out.push_str(MASK),
                None => out.push_str(userinfo),
            }
            out.push_str(&authority[at..]);
        }
        None => out.push_str(authority),
    }
    let (path_and_query, fragment) = match tail.find('#') {
        Some(hash) => tail.split_at(hash),
        None => (tail, ""),
    };
    match path_and_query.split_once('?') {
        Some((path, query)) => {
            out.push_str(path);
            out.push('?');
            let params: Vec<String> = query
                .split('&')
                .map(|param| match param.split_once('=') {
                    Some((name, value)) if is_secret_name(&percent_decoded(name)) => {
                        if value.is_empty() {
                            param.to_string()
                        } else {
                            format!("{name}={MASK}")
                        }
                    }
                    _ => param.to_string(),
                })
                .collect();
            out.push_str(&params.join("&"));
        }
        None => out.push_str(path_and_query),
    }
    out.push_str(fragment);
    out
}

/// Redacts `name=value` pairs outside URLs (libpq DSNs `password=… user=…`, headers
/// quoted in messages). A quoted value (`password='a b'`) is masked whole.
fn redact_pairs(text: &str) -> Cow<'_, str> {
    if !text.contains('=') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(eq) = rest.find('=') {
        let name_start = rest[..eq]
            .char_indices()
            .rev()
            .take_while(|(_, c)| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            .last()
            .map_or(eq, |(i, _)| i);
        let name = &rest[name_start..eq];
        out.push_str(&rest[..=eq]);
        let value = &rest[eq + 1..];
        if !is_secret_name(name) {
            rest = value;
            continue;
        }
        let value_len = match value.chars().next() {
            Some(quote @ ('\'' | '"')) => {
                // Up to the closing quote (libpq allows `\'` inside).
                let mut escaped = false;
                let mut end = value.len();
                for (i, c) in value.char_indices().skip(1) {
                    if escaped {
                        escaped = false;
                    } else if c == '\\' {
                        escaped = true;
                    } else if c == quote {
                        end = i + 1;
                        break;
                    }
                }
                end
            }
            _ => value
                .find(|c: char| c.is_whitespace() || matches!(c, '&' | ',' | ';' | ')'))
                .unwrap_or(value.len()),
        };
        if value_len > 0 {
            out.push_str(MASK);
        }
        rest = &value[value_len..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

/// `%XX` decoding for parameter names (`access%5Ftoken`), lossy.
fn percent_decoded(name: &str) -> String {
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Some(byte) = std::str::from_utf8(&bytes[i + 1..i + 3])
                .ok()
                .and_then(|hex| u8::from_str_radix(hex, 16).ok())
        {
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn userinfo_password_is_masked_user_kept() {
        assert_eq!(
            redact("http://alice:hunter2@prom.example:9090/api"),
            "http://alice:***@prom.example:9090/api"
        );
        assert_eq!(
            redact("postgres://app:s3cr%40t@db:5432/app?sslmode=require"),
            "postgres://app:***@db:5432/app?sslmode=require"
        );
        assert_eq!(
            redact("redis://:pw@127.0.0.1:6379/0"),
            "redis://:***@127.0.0.1:6379/0"
        );
    }

    #[test]
    fn secret_query_parameters_are_masked() {
        assert_eq!(
            redact("https://h/healthz?token=abc&verbose=1&api_key=zz&X-Amz-Signature=f00"),
            "https://h/healthz?token=***&verbose=1&api_key=***&X-Amz-Signature=***"
        );
        assert_eq!(
            redact("https://h/x?access%5Ftoken=abc"),
            "https://h/x?access%5Ftoken=***"
        );
        assert_eq!(redact("https://h/x?keyboard=1"), "https://h/x?keyboard=***");
        assert_eq!(redact("https://h/x?page=2#frag"), "https://h/x?page=2#frag");
    }

    #[test]
    fn urls_inside_sentences_are_found() {
        assert_eq!(
            redact("error sending request for url (http://u:p@h:1/q?token=t): connection refused"),
            "error sending request for url (http://u:***@h:1/q?token=***): connection refused"
        );
        assert_eq!(
            redact("no answer from \"https://u:p@h\" within 20s"),
            "no answer from \"https://u:***@h\" within 20s"
        );
    }

    #[test]
    fn libpq_pairs_are_masked() {
        assert_eq!(
            redact("host=db user=app password=hunter2 dbname=app"),
            "host=db user=app password=*** dbname=app"
        );
        assert_eq!(
            redact("host=db password='a b\\' c' dbname=app"),
            "host=db password=*** dbname=app"
        );
        assert_eq!(redact("sslpassword=x"), "sslpassword=***");
    }

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(redact("connection refused"), Cow::Borrowed(_)));
        assert!(matches!(
            redact("http://127.0.0.1:9090/api/v1/query"),
            Cow::Borrowed(_)
        ));
        assert!(matches!(redact("sslmode=require"), Cow::Borrowed(_)));
    }

    #[test]
    fn json_strings_are_redacted_and_stay_valid() {
        let mut value = serde_json::json!({
            "dsn": "host=db password=pw",
            "nested": [{"url": "http://u:p@h/?token=t"}, 3, null],
            "password=x": "keys stay",
        });
        redact_json(&mut value);
        assert_eq!(
            value,
            serde_json::json!({
                "dsn": "host=db password=***",
                "nested": [{"url": "http://u:***@h/?token=***"}, 3, null],
                "password=x": "keys stay",
            })
        );
    }

    #[test]
    fn long_bare_userinfo_is_a_token() {
        assert_eq!(
            redact("https://ghp_0123456789abcdefghijkl@example.com/"),
            "https://***@example.com/"
        );
        assert_eq!(
            redact("https://bob@example.com/"),
            "https://bob@example.com/"
        );
    }
}
