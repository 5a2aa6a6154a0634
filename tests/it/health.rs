//! Health endpoint checks against a local HTTP server (raw TCP, so it can also misbehave).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use watchfloor::event::SourceEvent;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use watchfloor::config::HealthConfig;
use watchfloor::event::SourceState;
use watchfloor::slo::{HealthCheck, HealthResult, HealthStatus};
use watchfloor::sources::health::{self, BODY_LIMIT};
use watchfloor::sources::kubernetes::Reporter;

/// What the server does with one request.
enum Reply {
    /// These bytes, then close.
    Raw(Vec<u8>),
    /// Never answer (the connection stays open until the test ends).
    Hang,
    /// `head`, then `total` bytes of body in `chunk`-sized writes with `pause` between them,
    /// counting what the kernel accepted in `written`; stops when the client goes away.
    Stream {
        head: Vec<u8>,
        chunk: usize,
        total: usize,
        pause: Option<Duration>,
        written: Arc<AtomicUsize>,
    },
}

/// Serves on 127.0.0.1:0; `reply` gets the request number (0-based). Returns the base URL and
/// the request counter.
async fn serve<F>(reply: F) -> (String, Arc<AtomicUsize>)
where
    F: Fn(usize) -> Reply + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let requests = Arc::new(AtomicUsize::new(0));
    let counter = requests.clone();
    let reply = Arc::new(reply);
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let reply = reply.clone();
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut socket = socket;
                if !read_request(&mut socket).await {
                    return;
                }
                let n = counter.fetch_add(1, Ordering::SeqCst);
                respond(socket, reply(n)).await;
            });
        }
    });
    (url, requests)
}

/// Reads up to the end of the request head.
async fn read_request(socket: &mut TcpStream) -> bool {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match socket.read(&mut buf).await {
            Ok(0) | Err(_) => return false,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
        if head.len() > 64 * 1024 {
            return false;
        }
    }
    true
}

async fn respond(mut socket: TcpStream, reply: Reply) {
    match reply {
        Reply::Raw(bytes) => {
            let _ = socket.write_all(&bytes).await;
            let _ = socket.shutdown().await;
        }
        Reply::Hang => {
            std::future::pending::<()>().await;
            drop(socket);
        }
        Reply::Stream {
            head,
            chunk,
            total,
            pause,
            written,
        } => {
            if socket.write_all(&head).await.is_err() {
                return;
            }
            let block = vec![b'x'; chunk];
            let mut sent = 0;
            while sent < total {
                let n = chunk.min(total - sent);
                if socket.write_all(&block[..n]).await.is_err() {
                    return;
                }
                sent += n;
                written.fetch_add(n, Ordering::SeqCst);
                if let Some(pause) = pause {
                    tokio::time::sleep(pause).await;
                }
            }
        }
    }
}

fn http(status: u16, content_type: &str, body: &[u8]) -> Reply {
    let mut bytes = format!(
        "HTTP/1.1 {status} Whatever\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    bytes.extend_from_slice(body);
    Reply::Raw(bytes)
}

fn json(status: u16, body: &str) -> Reply {
    http(status, "application/json", body.as_bytes())
}

/// One `[[targets.health]]` entry, through the real config parser.
fn config(url: &str, extra: &str) -> HealthConfig {
    let text = format!(
        "[[targets]]\nname = \"t\"\n\n[[targets.health]]\nname = \"api\"\nurl = \"{url}\"\n{extra}\n"
    );
    let config = watchfloor::config::parse(Path::new("t.toml"), &text).expect("config parses");
    config.targets[0].health[0].clone()
}

async fn check_once(config: &HealthConfig, previous: u32) -> HealthResult {
    let client = health::client(config).expect("client");
    health::check(&client, config, previous).await
}

fn checks(result: &HealthResult) -> Vec<(&str, &str, Option<&str>)> {
    result
        .checks
        .iter()
        .map(|c| {
            (
                c.name.as_str(),
                c.status.as_str(),
                c.response_time.as_deref(),
            )
        })
        .collect()
}

/// No control character, no bidi or other invisible format control, in any string.
fn assert_clean(result: &HealthResult) {
    let mut strings = vec![&result.name, &result.url];
    strings.extend(result.body_status.iter());
    strings.extend(result.error.iter());
    for HealthCheck {
        name,
        status,
        response_time,
    } in &result.checks
    {
        strings.push(name);
        strings.push(status);
        strings.extend(response_time.iter());
    }
    for text in strings {
        for c in text.chars() {
            assert!(
                !c.is_control()
                    && !matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{061c}' | '\u{feff}' | '\u{2028}' | '\u{2029}'),
                "{c:?} in {text:?} of {result:#?}"
            );
        }
    }
}

#[tokio::test]
async fn healthy_json_with_a_map_of_checks() {
    let (url, _) = serve(|_| {
        json(
            200,
            r#"{"status": "ok", "checks": {"db": {"status": "ok", "response_time": "12ms"}, "cache": {"status": "healthy", "responseTime": 3}}}"#,
        )
    })
    .await;
    let config = config(&format!("{url}/healthz/detailed"), "");
    let result = check_once(&config, 0).await;
    assert_eq!(result.status, HealthStatus::Ok, "{result:#?}");
    assert_eq!(result.http_status, Some(200));
    assert!(result.latency_ms.is_some());
    assert_eq!(result.body_status.as_deref(), Some("ok"));
    assert_eq!(
        checks(&result),
        [
            ("cache", "healthy", Some("3ms")),
            ("db", "ok", Some("12ms"))
        ]
    );
    assert_eq!(result.error, None);
    assert_eq!(result.consecutive_failures, 0);
    assert_eq!(result.name, "api");
    assert_eq!(result.url, format!("{url}/healthz/detailed"));
    assert!(result.checked_at.is_some());
}

#[tokio::test]
async fn degraded_json_with_a_list_of_checks() {
    let (url, _) = serve(|_| {
        json(
            200,
            r#"{"status": "degraded", "checks": [{"name": "db", "status": "ok", "response_time": 12}, {"name": "queue", "status": "warn", "response_time": "250ms"}]}"#,
        )
    })
    .await;
    let result = check_once(&config(&url, ""), 0).await;
    assert_eq!(result.status, HealthStatus::Degraded, "{result:#?}");
    assert_eq!(result.body_status.as_deref(), Some("degraded"));
    assert_eq!(
        checks(&result),
        [("db", "ok", Some("12ms")), ("queue", "warn", Some("250ms"))]
    );
    assert_eq!(result.error, None);
    assert_eq!(result.consecutive_failures, 0);
}

#[tokio::test]
async fn body_status_down_is_a_failure_even_with_200() {
    let (url, _) = serve(|_| {
        json(
            200,
            r#"{"status": "down", "checks": {"db": {"status": "fail"}}}"#,
        )
    })
    .await;
    let result = check_once(&config(&url, ""), 0).await;
    assert_eq!(result.status, HealthStatus::Down, "{result:#?}");
    assert_eq!(result.consecutive_failures, 1);
    assert_eq!(result.body_status.as_deref(), Some("down"));
    assert_eq!(checks(&result), [("db", "fail", None)]);
    assert!(result.error.as_deref().unwrap().contains("down"));
    assert_eq!(result.http_status, Some(200));
}

#[tokio::test]
async fn slow_endpoint_times_out() {
    let (url, requests) = serve(|_| Reply::Hang).await;
    let config = config(&url, "timeout = \"300ms\"");
    let started = Instant::now();
    let result = check_once(&config, 0).await;
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(300) && elapsed < Duration::from_secs(2),
        "{elapsed:?}"
    );
    assert_eq!(
        requests.load(Ordering::SeqCst),
        1,
        "the request reached the server"
    );
    assert_eq!(result.status, HealthStatus::Down, "{result:#?}");
    assert_eq!(result.error.as_deref(), Some("timed out after 300ms"));
    assert_eq!(result.latency_ms, None);
    assert_eq!(result.http_status, None);
    assert_eq!(result.consecutive_failures, 1);
}

#[tokio::test]
async fn http_500_is_down_then_critical_then_recovers() {
    let (url, _) = serve(|n| match n {
        0 | 1 => json(
            500,
            r#"{"status": "down", "checks": {"db": {"status": "down"}}}"#,
        ),
        _ => http(200, "text/plain", b"ok"),
    })
    .await;
    let config = config(&url, "");
    let client = health::client(&config).expect("client");

    let first = health::check(&client, &config, 0).await;
    assert_eq!(first.status, HealthStatus::Down, "{first:#?}");
    assert_eq!(first.consecutive_failures, 1);
    assert_eq!(first.http_status, Some(500));
    assert!(first.latency_ms.is_some());
    assert_eq!(first.error.as_deref(), Some("HTTP 500 (expected 200)"));
    // The body of a failing endpoint is still read: it says what is wrong.
    assert_eq!(checks(&first), [("db", "down", None)]);

    let second = health::check(&client, &config, first.consecutive_failures).await;
    assert_eq!(second.status, HealthStatus::Critical, "{second:#?}");
    assert_eq!(second.consecutive_failures, 2);

    let third = health::check(&client, &config, second.consecutive_failures).await;
    assert_eq!(third.status, HealthStatus::Ok, "{third:#?}");
    assert_eq!(third.consecutive_failures, 0);
    assert_eq!(third.error, None);
}

#[tokio::test]
async fn expect_status_is_honoured() {
    let (url, _) = serve(|_| http(204, "text/plain", b"")).await;
    let ok = check_once(&config(&url, "expect_status = 204"), 0).await;
    assert_eq!(ok.status, HealthStatus::Ok, "{ok:#?}");
    let wrong = check_once(&config(&url, ""), 3).await;
    assert_eq!(wrong.status, HealthStatus::Critical);
    assert_eq!(wrong.consecutive_failures, 4);
    assert_eq!(wrong.error.as_deref(), Some("HTTP 204 (expected 200)"));
}

#[tokio::test]
async fn connection_refused() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let config = config(&format!("http://127.0.0.1:{port}/healthz"), "");
    let result = check_once(&config, 0).await;
    assert_eq!(result.status, HealthStatus::Down, "{result:#?}");
    assert_eq!(result.error.as_deref(), Some("connection refused"));
    assert_eq!(result.latency_ms, None);
    assert_eq!(result.http_status, None);
    let again = check_once(&config, result.consecutive_failures).await;
    assert_eq!(again.status, HealthStatus::Critical);
}

#[tokio::test]
async fn invalid_url_is_a_readable_failure() {
    // `check-config` rejects it, so the config is valid first and broken afterwards.
    let mut config = config("http://127.0.0.1:9/healthz", "");
    config.url = "not a url \u{1b}[2J".into();
    let result = check_once(&config, 0).await;
    assert_eq!(result.status, HealthStatus::Down, "{result:#?}");
    assert!(
        result.error.as_deref().unwrap().starts_with("invalid URL"),
        "{result:#?}"
    );
    assert_clean(&result);
}

#[tokio::test]
async fn garbage_never_reaches_the_result_raw() {
    let binary: Vec<u8> = (0..=255u8)
        .chain(*b"\x1b]0;pwned\x07\x1b[2J\xff\xfe\xc3\x28\x9b31m\xe2\x80\xae")
        .collect();
    let hostile_json = "{\"status\": \"\\u001b]0;pwned\\u0007ok\\u202e\", \"checks\": {\"\\u001b[31mdb\\u0000\": {\"status\": \"\\u009b2Jfail\\r\\n\", \"response_time\": \"\\u001b[5m12ms\"}}}";
    let hostile_list = "{\"status\": \"\\u0007down\", \"checks\": [{\"name\": \"\\u001bPq\\u001b\\\\q\", \"status\": \"\\u2066ok\"}]}";
    let garbage_head = b"\x1b]0;pwned\x07HTTP/9.9 \xff\xfe garbage\r\n\r\n".to_vec();
    let bodies: Vec<(u16, Vec<u8>)> = vec![
        (200, binary.clone()),
        (500, binary),
        (200, hostile_json.as_bytes().to_vec()),
        (503, hostile_list.as_bytes().to_vec()),
        (200, b"{\"status\": \"ok\", \"checks\": [".to_vec()),
        (200, "[".repeat(10_000).into_bytes()),
    ];
    let count = bodies.len();
    let (url, _) = serve(move |n| {
        if n < count {
            let (status, body) = &bodies[n];
            http(*status, "application/json", body)
        } else {
            Reply::Raw(garbage_head.clone())
        }
    })
    .await;
    let config = config(&url, "timeout = \"5s\"");
    let client = health::client(&config).expect("client");
    let mut results = Vec::new();
    for _ in 0..=count {
        let result = health::check(&client, &config, 0).await;
        assert_clean(&result);
        results.push(result);
    }
    // Binary with 200: fine, nothing parsed.
    assert_eq!(results[0].status, HealthStatus::Ok, "{:#?}", results[0]);
    assert_eq!(
        (results[0].body_status.as_ref(), results[0].checks.len()),
        (None, 0)
    );
    assert_eq!(results[0].error, None);
    assert_eq!(results[1].error.as_deref(), Some("HTTP 500 (expected 200)"));
    // Escapes are removed before the status is judged.
    assert_eq!(results[2].status, HealthStatus::Ok, "{:#?}", results[2]);
    assert_eq!(results[2].body_status.as_deref(), Some("ok"));
    assert_eq!(
        checks(&results[2]),
        [("db", "fail⏎", Some("12ms"))],
        "{:#?}",
        results[2]
    );
    assert_eq!(results[3].status, HealthStatus::Down);
    assert_eq!(checks(&results[3]), [("q", "ok", None)]);
    // Truncated JSON and absurd nesting are just "not JSON".
    assert_eq!(results[4].status, HealthStatus::Ok, "{:#?}", results[4]);
    assert_eq!(results[5].status, HealthStatus::Ok, "{:#?}", results[5]);
    // Not HTTP at all.
    assert_eq!(results[6].status, HealthStatus::Down, "{:#?}", results[6]);
    assert!(results[6].error.is_some());
}

#[tokio::test]
async fn huge_streamed_body_is_cut_off() {
    const HUGE: usize = 50 * 1024 * 1024;
    let written = Arc::new(AtomicUsize::new(0));
    let counter = written.clone();
    // No Content-Length: the body runs until the server closes, so only the streaming limit
    // can stop it.
    let (url, _) = serve(move |_| Reply::Stream {
        head: b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n{\"status\": \"down\", \"pad\": \"".to_vec(),
        chunk: 64 * 1024,
        total: HUGE,
        pause: None,
        written: counter.clone(),
    })
    .await;
    let config = config(&url, "timeout = \"5s\"");
    let started = Instant::now();
    let result = check_once(&config, 0).await;
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    assert_eq!(result.status, HealthStatus::Ok, "{result:#?}");
    assert_eq!(result.http_status, Some(200));
    assert_eq!(result.body_status, None);
    assert_eq!(
        result.error.as_deref(),
        Some(format!("body over {} KiB; not read", BODY_LIMIT / 1024).as_str())
    );
    // The client stopped reading: the server could only hand the kernel a few socket buffers'
    // worth, nowhere near the whole body.
    let sent = written.load(Ordering::SeqCst);
    assert!(sent < 16 * 1024 * 1024, "server wrote {sent} bytes");
}

#[tokio::test]
async fn huge_declared_body_is_not_read() {
    const HUGE: usize = 50 * 1024 * 1024;
    let written = Arc::new(AtomicUsize::new(0));
    let counter = written.clone();
    let (url, _) = serve(move |_| Reply::Stream {
        head: format!(
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {HUGE}\r\n\r\n"
        )
        .into_bytes(),
        chunk: 64 * 1024,
        total: HUGE,
        pause: None,
        written: counter.clone(),
    })
    .await;
    let result = check_once(&config(&url, "timeout = \"5s\""), 0).await;
    assert_eq!(result.status, HealthStatus::Ok, "{result:#?}");
    assert!(result.error.as_deref().unwrap().contains("not read"));
    let sent = written.load(Ordering::SeqCst);
    assert!(sent < 16 * 1024 * 1024, "server wrote {sent} bytes");
}

#[tokio::test]
async fn slowly_streamed_body_stops_at_the_timeout() {
    let written = Arc::new(AtomicUsize::new(0));
    let counter = written.clone();
    let (url, _) = serve(move |_| Reply::Stream {
        head: b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
            .to_vec(),
        chunk: 1024,
        total: 50 * 1024 * 1024,
        pause: Some(Duration::from_millis(10)),
        written: counter.clone(),
    })
    .await;
    let config = config(&url, "timeout = \"500ms\"");
    let started = Instant::now();
    let result = check_once(&config, 0).await;
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");
    // The endpoint answered in time with the expected status; only the body is missing.
    assert_eq!(result.status, HealthStatus::Ok, "{result:#?}");
    assert!(result.latency_ms.is_some());
    assert_eq!(
        result.error.as_deref(),
        Some("body not complete after 500ms; not read")
    );
}

#[tokio::test]
async fn plain_text_200_is_ok() {
    let (url, _) = serve(|_| http(200, "text/plain; charset=utf-8", b"OK\n")).await;
    let result = check_once(&config(&url, ""), 1).await;
    assert_eq!(result.status, HealthStatus::Ok, "{result:#?}");
    assert_eq!(result.consecutive_failures, 0, "a success resets the count");
    assert_eq!(result.body_status, None);
    assert!(result.checks.is_empty());
    assert_eq!(result.error, None);
}

/// Receives the next `Action::Health`, noting whether a `Live` source state came by.
async fn next_health(
    rx: &mut mpsc::Receiver<SourceEvent>,
    live: &mut usize,
) -> (u64, usize, HealthResult) {
    loop {
        let action = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .expect("an action within 10s")
            .expect("channel open");
        match action {
            SourceEvent::Health {
                generation,
                index,
                result,
            } => return (generation, index, result),
            SourceEvent::State {
                generation,
                index,
                state,
                ..
            } => {
                assert_eq!((generation, index), (7, 3));
                assert_eq!(state, SourceState::Live);
                *live += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn run_reports_every_interval() {
    let (url, requests) = serve(|n| match n {
        0 | 1 => http(503, "text/plain", b"starting"),
        _ => json(200, r#"{"status": "up"}"#),
    })
    .await;
    let config = config(&url, "interval = \"100ms\"\ntimeout = \"2s\"");
    let (tx, mut rx) = mpsc::channel(16);
    let reporter = Reporter {
        tx,
        generation: 7,
        index: 3,
    };
    let task = tokio::spawn(health::run(config, 2, reporter));
    let started = Instant::now();
    let mut live = 0;
    let mut seen = Vec::new();
    for _ in 0..4 {
        let (generation, index, result) = next_health(&mut rx, &mut live).await;
        assert_eq!((generation, index), (7, 2));
        seen.push((result.status, result.consecutive_failures));
    }
    assert_eq!(
        seen,
        [
            (HealthStatus::Down, 1),
            (HealthStatus::Critical, 2),
            (HealthStatus::Ok, 0),
            (HealthStatus::Ok, 0)
        ]
    );
    // Four checks at 100ms intervals: the first at once, then at least 300ms more.
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(live >= 3, "Live after each completed check ({live})");
    assert!(requests.load(Ordering::SeqCst) >= 4);

    // The console going away ends the task.
    drop(rx);
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("run ends once the console is gone")
        .expect("run did not panic");
}
