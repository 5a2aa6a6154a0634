//! Fixtures shared by the integration tests.
#![allow(dead_code)]

pub mod fault_proxy;
pub mod headless;
pub mod pg_server;
pub mod wait;
