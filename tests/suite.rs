//! The integration tests, linked as one test binary so that `make test` links the crate once and
//! the harness runs the slow database tests of different files side by side. Each file under
//! `tests/` stays a module of its own; `tests/support/mod.rs` is their shared helper.

#[path = "support/mod.rs"]
mod support;

#[path = "architecture.rs"]
mod architecture;
#[path = "cli.rs"]
mod cli;
#[path = "demo.rs"]
mod demo;
#[path = "fidelity.rs"]
mod fidelity;
#[path = "generate.rs"]
mod generate;
#[path = "introspect.rs"]
mod introspect;
#[path = "local_cluster.rs"]
mod local_cluster;
#[path = "quirks.rs"]
mod quirks;
#[path = "scenario.rs"]
mod scenario;
#[path = "unusual.rs"]
mod unusual;
#[path = "verify.rs"]
mod verify;
