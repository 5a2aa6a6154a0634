//! The simulator's Prometheus API (`/api/v1/query`, `/api/v1/query_range`) and its
//! `/healthz/detailed` endpoint: the incident's bad rollout burns the platform-v2-api
//! availability SLO fast enough to page, and a rollback brings the short-window burn down.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use watchfloor_sim::{Res, Scenario, Sim, SimOptions};

use crate::support::wait::poll_advancing;

/// Deadline for a condition the simulated clock is advanced towards.
const WAIT: Duration = Duration::from_secs(60);

const NS: &str = "platform-v2-stable";
const OBJECTIVE: f64 = 0.995;
const PAGE: f64 = 14.4;

fn errors(window: &str) -> String {
    format!(r#"sum(rate(http_requests_total{{namespace="{NS}",code=~"5.."}}[{window}]))"#)
}

fn total(window: &str) -> String {
    format!(r#"sum(rate(http_requests_total{{namespace="{NS}"}}[{window}]))"#)
}

async fn start(scenario: &str, speed: f64) -> Sim {
    Sim::start(
        Scenario::builtin(scenario).expect("scenario"),
        "127.0.0.1:0".parse().expect("addr"),
        SimOptions {
            request_log: None,
            speed,
        },
    )
    .await
    .expect("sim")
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs_f64()
}

/// GET `path` with `params`; returns (HTTP status, JSON body).
async fn get(sim: &Sim, path: &str, params: &[(&str, &str)]) -> (u16, Value) {
    let url = reqwest::Url::parse_with_params(&format!("http://{}{path}", sim.addr), params)
        .expect("url");
    let resp = reqwest::get(url).await.expect("request");
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(ct.starts_with("application/json"), "content-type {ct}");
    (status, resp.json().await.expect("json body"))
}

/// Checks an instant vector's shape and returns its single value (`None` for an empty result).
fn vector_value(body: &Value) -> Option<f64> {
    assert_eq!(body["status"], "success", "{body}");
    assert_eq!(body["data"]["resultType"], "vector", "{body}");
    let result = body["data"]["result"].as_array().expect("result array");
    let first = result.first()?;
    assert_eq!(result.len(), 1, "{body}");
    assert_eq!(first["metric"], serde_json::json!({}), "{body}");
    let value = first["value"].as_array().expect("value pair");
    assert_eq!(value.len(), 2, "{body}");
    let t = value[0].as_f64().expect("numeric timestamp");
    assert!((t - now()).abs() < 60.0, "timestamp {t} is not now");
    let s = value[1].as_str().expect("sample value is a string");
    Some(s.parse::<f64>().expect("sample parses as f64"))
}

async fn instant(sim: &Sim, query: &str) -> Option<f64> {
    instant_at(sim, query, &now().to_string()).await
}

async fn instant_at(sim: &Sim, query: &str, time: &str) -> Option<f64> {
    let (status, body) = get(sim, "/api/v1/query", &[("query", query), ("time", time)]).await;
    assert_eq!(status, 200, "{query}: {body}");
    vector_value(&body)
}

/// Burn rate over `window` from the two queries the demo's SLO config sends.
async fn burn(sim: &Sim, window: &str) -> f64 {
    let e = instant(sim, &errors(window)).await.expect("errors series");
    let t = instant(sim, &total(window)).await.expect("total series");
    assert!(t > 0.0, "no traffic over {window}");
    (e / t) / (1.0 - OBJECTIVE)
}

async fn health(sim: &Sim) -> (u16, Value) {
    get(sim, "/healthz/detailed", &[]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_rollout_pages_and_rollback_clears_the_short_window() {
    let sim = start("incident", 30.0).await;
    let b5 = burn(&sim, "5m").await;
    let b1h = burn(&sim, "1h").await;
    assert!(b5 > PAGE, "5m burn {b5}");
    assert!(b1h > PAGE, "1h burn {b1h}");
    // The rollout began 25 minutes before start: the 6h window is diluted.
    let b6h = burn(&sim, "6h").await;
    assert!(b6h < b1h && b6h > 1.0, "6h burn {b6h} vs 1h {b1h}");
    // The ratio as one query, in the form the console's SLO source sends, agrees.
    let ratio = instant(
        &sim,
        &format!("(({}) or vector(0)) / ({})", errors("5m"), total("5m")),
    )
    .await
    .expect("ratio");
    assert!(
        (ratio / (1.0 - OBJECTIVE) - b5).abs() < 1.0,
        "ratio {ratio}"
    );

    let (code, body) = health(&sim).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["status"], "degraded", "{body}");
    assert_eq!(
        body["checks"]["platform-v2-api"]["status"], "degraded",
        "{body}"
    );
    assert_eq!(body["checks"]["database"]["status"], "ok", "{body}");
    assert!(
        body["checks"]["database"]["response_time"]
            .as_str()
            .is_some_and(|s| s.ends_with("ms")),
        "{body}"
    );

    // Roll back to 6.3.1 (what `kubectl rollout undo` does to the template).
    sim.world()
        .mutate(Res::Deployment, NS, "platform-v2-api", |d| {
            d["spec"]["template"]["spec"]["containers"][0]["image"] =
                "quay.io/gpte/platform-v2-api:6.3.1".into();
        })
        .expect("deployment");
    sim.world().tick();

    // Simulated time: each look that fails moves the world a second (30 s of model time) on.
    let world = sim.world();
    let step = Duration::from_secs(1);
    let body = poll_advancing(
        "health ok after the rollback",
        &world,
        step,
        WAIT,
        || async {
            let (_, body) = health(&sim).await;
            if body["status"] == "ok" {
                Ok(body)
            } else {
                Err(body.to_string())
            }
        },
    )
    .await;
    assert_eq!(body["checks"]["platform-v2-api"]["status"], "ok", "{body}");

    let cleared = poll_advancing("the 5m burn under the page", &world, step, WAIT, || async {
        let b = burn(&sim, "5m").await;
        if b < PAGE {
            Ok(b)
        } else {
            Err(format!("5m burn {b}"))
        }
    })
    .await;
    // The long window remembers the bad half hour: it decays over the hour.
    let b1h = burn(&sim, "1h").await;
    assert!(
        b1h > PAGE,
        "1h burn {b1h} fell as fast as the 5m one ({cleared})"
    );
    // Eventually the short window sees only the baseline (0.1% errors = burn 0.2).
    poll_advancing(
        "the 5m burn at the baseline",
        &world,
        step,
        WAIT,
        || async {
            let b = burn(&sim, "5m").await;
            if (b - 0.2).abs() < 0.01 {
                Ok(())
            } else {
                Err(format!("5m burn {b}"))
            }
        },
    )
    .await;
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_range_shows_the_synthesised_past() {
    let sim = start("incident", 1.0).await;
    let end = now().floor();
    let start = end - 3600.0;
    let q = format!("({}) / ({})", errors("5m"), total("5m"));
    let (status, body) = get(
        &sim,
        "/api/v1/query_range",
        &[
            ("query", q.as_str()),
            ("start", &start.to_string()),
            ("end", &end.to_string()),
            ("step", "60"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "success", "{body}");
    assert_eq!(body["data"]["resultType"], "matrix", "{body}");
    let series = body["data"]["result"].as_array().expect("result");
    assert_eq!(series.len(), 1, "{body}");
    let values = series[0]["values"].as_array().expect("values");
    assert_eq!(values.len(), 61, "{body}");
    let points: Vec<(f64, f64)> = values
        .iter()
        .map(|p| {
            let t = p[0].as_f64().expect("timestamp");
            let v: f64 = p[1].as_str().expect("string value").parse().expect("f64");
            (t, v)
        })
        .collect();
    assert_eq!(points[0].0, start);
    assert_eq!(points[60].0, end);
    // 40 minutes ago: before the bad rollout (25 minutes before start), the healthy baseline.
    let (_, before) = points[20];
    assert!((before - 0.001).abs() < 1e-9, "ratio 40m ago: {before}");
    // 10 minutes ago: a quarter of the traffic hits the crash-looping revision 7 pod.
    let (_, during) = points[50];
    assert!(during > 0.2 && during < 0.3, "ratio 10m ago: {during}");

    // The same via POST with a form body, and step as a duration.
    let mut form = reqwest::Url::parse("http://x/").expect("url");
    form.query_pairs_mut()
        .append_pair("query", &q)
        .append_pair("start", &start.to_string())
        .append_pair("end", &end.to_string())
        .append_pair("step", "5m");
    let resp = reqwest::Client::new()
        .post(format!("http://{}/api/v1/query_range", sim.addr))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form.query().unwrap_or("").to_string())
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.expect("json");
    assert_eq!(
        body["data"]["result"][0]["values"].as_array().map(Vec::len),
        Some(13),
        "{body}"
    );
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calm_platform_burns_only_the_baseline() {
    let sim = start("calm", 1.0).await;
    for w in ["5m", "1h", "30d"] {
        let b = burn(&sim, w).await;
        assert!((b - 0.2).abs() < 1e-6, "{w} burn {b}");
    }
    let (code, body) = health(&sim).await;
    assert_eq!((code, body["status"].as_str()), (200, Some("ok")), "{body}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_scalars_and_empty_results() {
    let sim = start("incident", 1.0).await;
    // Unknown namespace and unknown metric: no series, an empty vector (not 0).
    assert_eq!(
        instant(
            &sim,
            r#"sum(rate(http_requests_total{namespace="nope"}[5m]))"#
        )
        .await,
        None
    );
    assert_eq!(
        instant(&sim, "sum(rate(other_metric_total[5m]))").await,
        None
    );
    assert_eq!(
        instant(
            &sim,
            &format!(
                r#"{} / sum(rate(http_requests_total{{code="418"}}[5m]))"#,
                errors("5m")
            )
        )
        .await,
        None
    );
    // `or vector(0)` fills a missing errors series, as the console sends it.
    assert_eq!(
        instant(
            &sim,
            r#"(sum(rate(http_requests_total{namespace="nope"}[5m])) or vector(0)) + 1"#
        )
        .await,
        Some(1.0)
    );
    // The good/total form agrees with errors/total.
    let at = now().to_string();
    let good = instant_at(
        &sim,
        &format!(
            r#"1 - ((sum(rate(http_requests_total{{namespace="{NS}",code!~"5.."}}[1h]))) / ({}))"#,
            total("1h")
        ),
        &at,
    )
    .await
    .expect("good ratio");
    let bad = instant_at(
        &sim,
        &format!("({}) / ({})", errors("1h"), total("1h")),
        &at,
    )
    .await
    .expect("error ratio");
    assert!((good - bad).abs() < 1e-6, "{good} vs {bad}");
    // Every deployment serves 50 req/s.
    let t = instant(&sim, &total("1h")).await.expect("total");
    assert!((t - 50.0).abs() < 1e-6, "{t}");
    // Scalars: string values incl. the specials.
    for (q, want) in [
        ("1/0", "+Inf"),
        ("0/0", "NaN"),
        ("-(2 * 3)", "-6"),
        ("1e-7", "1e-07"),
    ] {
        let (status, body) = get(
            &sim,
            "/api/v1/query",
            &[("query", q), ("time", "1700000000.5")],
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["resultType"], "scalar", "{body}");
        assert_eq!(
            body["data"]["result"][0].as_f64(),
            Some(1_700_000_000.5),
            "{body}"
        );
        assert_eq!(body["data"]["result"][1], want, "{q}: {body}");
    }
    // RFC 3339 time.
    let (status, body) = get(
        &sim,
        "/api/v1/query",
        &[
            ("query", "1"),
            ("time", "2024-01-01T00:00:00Z"),
            ("timeout", "10s"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["result"][0].as_f64(), Some(1_704_067_200.0));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_promql_and_bad_parameters_are_bad_data() {
    let sim = start("incident", 1.0).await;
    let t = now().to_string();
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        (
            "/api/v1/query",
            vec![("query", "rate(http_requests_total[5m])")],
        ),
        ("/api/v1/query", vec![("query", "http_requests_total")]),
        (
            "/api/v1/query",
            vec![("query", "sum by (code) (rate(http_requests_total[5m]))")],
        ),
        (
            "/api/v1/query",
            vec![("query", "histogram_quantile(0.9, sum(rate(x[5m])))")],
        ),
        (
            "/api/v1/query",
            vec![("query", "sum(rate(http_requests_total[5m]")],
        ),
        ("/api/v1/query", vec![("query", "")]),
        ("/api/v1/query", vec![("query", "1 or vector(0)")]),
        ("/api/v1/query", vec![("query", "1"), ("time", "yesterday")]),
        ("/api/v1/query", vec![("query", "1"), ("timeout", "soon")]),
        (
            "/api/v1/query_range",
            vec![("query", "1"), ("start", &t), ("end", &t), ("step", "0")],
        ),
        (
            "/api/v1/query_range",
            vec![("query", "1"), ("start", "0"), ("end", &t), ("step", "1")],
        ),
    ];
    for (path, params) in cases {
        let (status, body) = get(&sim, path, &params).await;
        assert_eq!(status, 400, "{path} {params:?}: {body}");
        assert_eq!(body["status"], "error", "{body}");
        assert_eq!(body["errorType"], "bad_data", "{body}");
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{body}"
        );
    }
    sim.shutdown().await;
}
