//! The command line, declared with clap derive. Doc comments are the help text.
//!
//! This module declares; it does not decide. No logic, no I/O: `commands` turns these values into work.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const TOP_EXAMPLES: &str = "\
Examples:
  dentsynth local start                 start the built-in PostgreSQL under ./.dentsynth
  dentsynth local url                   print its connection URL (for psql, sqlx, dbt)
  dentsynth ping --database-url postgres://me@db.example.com/analytics

Exit status: 0 clean, 1 findings (or: the local cluster is not running), 2 the tool failed.";

/// PHI-free, production-shaped demo databases for OpenDental dbt projects.
///
/// dentsynth reads the structure and aggregate statistics of a production database,
/// fills a demo database that behaves like it without a single real patient, and verifies
/// the demo with a rules engine.
#[derive(Debug, Parser)]
#[command(name = "dentsynth", version, after_help = TOP_EXAMPLES, propagate_version = true)]
pub struct Cli {
    /// Print only errors and results.
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    pub quiet: bool,

    /// Print more detail about what is being done (repeat for more).
    #[arg(long, short, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// Folder of the managed local PostgreSQL (default: ./.dentsynth).
    #[arg(long, global = true, env = "DENTSYNTH_HOME", value_name = "DIR")]
    pub home: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage the built-in local PostgreSQL cluster (the default database).
    #[command(after_help = "\
Examples:
  dentsynth local start        initialise once, then start (a no-op when running)
  dentsynth local status       is it running, on which port, where is its data
  dentsynth local url          print the URL of database opendental_demo
  dentsynth local psql         open psql on it
  dentsynth local stop         stop it cleanly")]
    Local(LocalArgs),

    /// Check that a database is reachable and print what it is.
    ///
    /// Connects with --database-url (or DATABASE_URL, or the local cluster when neither is
    /// given), and prints the server version, the database and the cluster's system identifier.
    #[command(after_help = "\
Examples:
  dentsynth ping                                           the local cluster
  dentsynth ping --database-url postgres://me@localhost/analytics
  DATABASE_URL=postgres://me@host/db?sslmode=require dentsynth ping")]
    Ping(PingArgs),
}

/// Connection arguments shared by every command that talks to a database.
#[derive(Debug, Clone, Args)]
pub struct ConnectArgs {
    /// PostgreSQL connection URL, e.g. postgres://user:password@host:5432/db?sslmode=require
    /// (default: the managed local cluster).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, value_name = "URL")]
    pub database_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct LocalArgs {
    #[command(subcommand)]
    pub action: LocalAction,
}

#[derive(Debug, Subcommand)]
pub enum LocalAction {
    /// Initialise the cluster if needed and start it; a no-op when it is already running.
    Start,
    /// Stop the cluster cleanly; a no-op when it is not running.
    Stop,
    /// Say whether the cluster is running (exit 0) or not (exit 1).
    Status,
    /// Print the connection URL of a database in the cluster.
    Url {
        /// Database name.
        #[arg(long, default_value = "opendental_demo")]
        database: String,
    },
    /// Open psql on a database in the cluster (starting the cluster if needed).
    Psql {
        /// Database name.
        #[arg(long, default_value = "opendental_demo")]
        database: String,
        /// Further arguments passed to psql, after `--`.
        #[arg(last = true)]
        psql_args: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub struct PingArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
}
