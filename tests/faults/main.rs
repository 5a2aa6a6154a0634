//! The fault suite: each backend behind a loopback fault proxy (accept-and-hang, refuse, reset,
//! slow drip, HTTP 500, garbage body), driving a headless console through each fault and back.
//! Asserted: no `live` while faulted, the reason, the data age, and recovery after the fault.
//! Detection and recovery times are printed (`--nocapture`) for BENCHMARKS.md.

#[path = "../support/fault_proxy.rs"]
mod fault_proxy;
#[path = "../support/headless.rs"]
mod headless;

// Test names start with `fault_` so `scripts/test` can run this binary on its own with every
// case at once (they mostly wait on timers): `cargo test --test faults -- --test-threads 16`.
#[path = "kube.rs"]
mod fault_kube;
#[path = "polled.rs"]
mod fault_polled;
