//! The one wait-with-deadline of the tests: poll a condition, fail with what was awaited and
//! the last state seen once the deadline passes. Never a sleep as synchronisation: the poll
//! interval only bounds how soon a condition that holds is noticed.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// How often a condition is looked at again.
const POLL: Duration = Duration::from_millis(50);

/// Polls `check` until it returns `Ok`, failing after `timeout` with the last `Err` seen.
pub async fn poll<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        match check().await {
            Ok(value) => return value,
            Err(state) => assert!(
                Instant::now() < deadline,
                "timed out after {timeout:?} waiting for {what}; last seen: {state}"
            ),
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Polls `holds` until it is true, failing after `timeout`.
pub async fn until(what: &str, timeout: Duration, mut holds: impl FnMut() -> bool) {
    poll(what, timeout, || {
        let result = if holds() {
            Ok(())
        } else {
            Err("not yet".to_string())
        };
        async move { result }
    })
    .await
}
