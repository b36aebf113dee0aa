//! dentsynth: PHI-free, production-shaped demo databases for OpenDental dbt projects.
//!
//! The crate is organised by stage (see ARCHITECTURE.md): `cli` declares the command line,
//! `commands` turns arguments into calls, `db` owns connections and the managed local PostgreSQL.

pub mod cli;
pub mod commands;
pub mod db;
pub mod fidelity;
pub mod generate;
pub mod introspect;
pub mod profile;
pub mod report;
pub mod verify;
