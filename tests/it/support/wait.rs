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

/// Like [`poll`] for conditions that need the simulated world's time to pass (rollouts, grace
/// periods, burn windows): between looks the world's clock moves `step` ahead, so the test does
/// not wait on the wall clock for what the simulator would take minutes to do.
pub async fn poll_advancing<T, F, Fut>(
    what: &str,
    world: &watchfloor_sim::World,
    step: Duration,
    timeout: Duration,
    mut check: F,
) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    poll(what, timeout, || {
        let looked = check();
        let world = world.clone();
        async move {
            let result = looked.await;
            if result.is_err() {
                world.advance(step);
            }
            result
        }
    })
    .await
}

/// While the returned guard lives, the simulated world's clock runs `factor` times faster than
/// the wall clock (on top of the simulator's speed): for waits that go through a console's own
/// loop, where [`poll_advancing`] cannot step in between looks.
pub fn fast_forward(world: &watchfloor_sim::World, factor: u32) -> FastForward {
    let world = world.clone();
    let extra = POLL * factor.saturating_sub(1);
    FastForward(tokio::spawn(async move {
        loop {
            tokio::time::sleep(POLL).await;
            world.advance(extra);
        }
    }))
}

/// Stops the fast-forward when dropped.
pub struct FastForward(tokio::task::JoinHandle<()>);

impl Drop for FastForward {
    fn drop(&mut self) {
        self.0.abort();
    }
}
