//! The demo's simulated database and cache (`watchfloor demo`, `watchfloor sim`), behind the
//! same traits as a real server: a `[[targets.postgres]]` whose dsn, or a `[[targets.redis]]`
//! whose url, is `simulated+http://HOST:PORT` reads the simulator's `/sim/postgres` or
//! `/sim/redis` instead of a server (the choice is made in [`super::backends`]). The figures go
//! through the same analysis as a real server's, and are marked `simulated` so the pane labels
//! them; sessions are chosen by the same rule as on a real server.
//!
//! Built with the `demo` feature only.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use crate::db::postgres::{PgSample, Session, Signal, signal_targets};
use crate::db::redis::{parse_client_list, parse_info};
use crate::text::sanitize_truncated;

use super::backends::{Killed, PgProbe, PgSignal, RedisKill, RedisProbe, RedisSample, Signalled};
use super::backoff::Backoff;
use super::postgres::{LinkDown, PgLink};

/// Bound on one request to the simulator.
const TIMEOUT: Duration = Duration::from_secs(3);
/// Longest error reason (characters).
const MAX_REASON: usize = 300;

/// One HTTP client for the simulator at `base` (`http://HOST:PORT`).
struct Simulator {
    base: String,
    client: Result<reqwest::Client, String>,
}

impl Simulator {
    fn new(base: String) -> Self {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .map_err(|e| reason(&e.to_string()));
        Self { base, client }
    }

    fn client(&self) -> Result<&reqwest::Client, String> {
        self.client.as_ref().map_err(Clone::clone)
    }

    async fn get(&self, path: &str) -> Result<serde_json::Value, String> {
        let response = self
            .client()?
            .get(format!("{}{path}", self.base))
            .send()
            .await;
        answer(response).await
    }

    async fn post(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, String> {
        let response = self
            .client()?
            .post(format!("{}{path}", self.base))
            .json(body)
            .send()
            .await;
        answer(response).await
    }
}

fn reason(text: &str) -> String {
    sanitize_truncated(&format!("simulator: {text}"), MAX_REASON)
}

async fn answer(
    response: Result<reqwest::Response, reqwest::Error>,
) -> Result<serde_json::Value, String> {
    let response = response.map_err(|e| reason(&e.to_string()))?;
    if !response.status().is_success() {
        return Err(format!("simulator answered {}", response.status()));
    }
    response.json().await.map_err(|e| reason(&e.to_string()))
}

/// The simulated PostgreSQL.
pub struct SimulatedPostgres {
    simulator: Simulator,
    /// Consecutive failed samples (the retry delay grows with them).
    backoff: Mutex<Backoff>,
}

impl SimulatedPostgres {
    pub fn new(base: String) -> Self {
        Self {
            simulator: Simulator::new(base),
            backoff: Mutex::new(Backoff::STANDARD),
        }
    }

    async fn read(&self) -> Result<PgSample, String> {
        let value = self.simulator.get("/sim/postgres").await?;
        let mut sample: PgSample =
            serde_json::from_value(value).map_err(|e| reason(&e.to_string()))?;
        sample.simulated = true;
        Ok(sample)
    }

    async fn terminate(&self, signal: Signal) -> Result<Signalled, String> {
        // The rule is applied to a fresh sample just before acting.
        let sample = self.read().await?;
        let pids: Vec<i32> = signal_targets(&sample, signal)?
            .iter()
            .map(|s| s.pid)
            .collect();
        let signalled = match signal {
            // The simulator has no running queries to cancel: a cancel succeeds and changes
            // nothing, as a cancel of a query that just finished would on a real server.
            Signal::Cancel(_) => pids,
            Signal::Terminate(_) | Signal::TerminateIdle(_) if pids.is_empty() => pids,
            Signal::Terminate(_) | Signal::TerminateIdle(_) => {
                let value = self
                    .simulator
                    .post("/sim/postgres", &serde_json::json!({ "terminate": pids }))
                    .await?;
                let done: Vec<i32> =
                    serde_json::from_value(value["terminated"].clone()).unwrap_or_default();
                let failed = pids
                    .iter()
                    .filter(|p| !done.contains(p))
                    .map(|p| (*p, "no such session (already gone?)".to_string()))
                    .collect();
                return Ok(Signalled {
                    signalled: pids.into_iter().filter(|p| done.contains(p)).collect(),
                    failed,
                    simulated: true,
                });
            }
        };
        Ok(Signalled {
            signalled,
            failed: Vec::new(),
            simulated: true,
        })
    }
}

impl PgProbe for SimulatedPostgres {
    fn sample(&self) -> BoxFuture<'_, Result<PgSample, LinkDown>> {
        Box::pin(async move {
            let result = self.read().await;
            let mut backoff = self.backoff.lock().unwrap_or_else(PoisonError::into_inner);
            match result {
                Ok(sample) => {
                    backoff.succeeded();
                    Ok(sample)
                }
                Err(reason) => Err(LinkDown {
                    reason,
                    retry_in: backoff.failed(),
                }),
            }
        })
    }

    fn sql_link(self: Arc<Self>) -> Option<Arc<PgLink>> {
        None
    }
}

impl PgSignal for SimulatedPostgres {
    fn preview(&self, signal: Signal) -> BoxFuture<'_, Result<Vec<Session>, String>> {
        Box::pin(async move {
            let sample = self.read().await?;
            Ok(signal_targets(&sample, signal)?
                .into_iter()
                .cloned()
                .collect())
        })
    }

    fn signal(&self, signal: Signal) -> BoxFuture<'_, Result<Signalled, String>> {
        Box::pin(self.terminate(signal))
    }
}

/// The simulated Redis.
pub struct SimulatedRedis {
    simulator: Simulator,
    /// The probe's clock, for rates.
    clock: Instant,
}

impl SimulatedRedis {
    pub fn new(base: String) -> Self {
        Self {
            simulator: Simulator::new(base),
            clock: Instant::now(),
        }
    }
}

impl RedisProbe for SimulatedRedis {
    fn sample(&self, deadline: Duration) -> BoxFuture<'_, Result<RedisSample, String>> {
        Box::pin(async move {
            let value = tokio::time::timeout(deadline, self.simulator.get("/sim/redis"))
                .await
                .unwrap_or_else(|_| {
                    Err(format!(
                        "simulator: no answer within {}",
                        humantime::format_duration(deadline)
                    ))
                })?;
            Ok(RedisSample {
                info: parse_info(value["info"].as_str().unwrap_or_default()),
                clients: parse_client_list(value["clients"].as_str().unwrap_or_default()),
                at: self.clock.elapsed().as_secs_f64(),
                client_list_error: None,
                simulated: true,
            })
        })
    }
}

impl RedisKill for SimulatedRedis {
    fn client_list(&self, _id: u64) -> BoxFuture<'_, Result<String, String>> {
        Box::pin(async move {
            let value = self.simulator.get("/sim/redis").await?;
            Ok(value["clients"].as_str().unwrap_or_default().to_string())
        })
    }

    fn kill(&self, _id: u64) -> BoxFuture<'_, Result<Killed, String>> {
        Box::pin(async { Ok(Killed::Simulated) })
    }
}
