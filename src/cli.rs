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

    /// Read a database's structure and aggregate statistics into a PHI-free profile.
    ///
    /// Runs in one read-only transaction (a consistent snapshot shared by the worker connections)
    /// with a statement timeout; never writes to the source. Identifying columns keep only their null
    /// fraction and length statistics; categorical values seen fewer than --min-group-size times are
    /// pooled. Writes introspection/<name>/profile.json and one file per table, atomically.
    #[command(after_help = "\
Examples:
  dentsynth introspect --database-url postgres://reader@prod-replica/opendental --out introspection/clinic
  dentsynth introspect --database-url \"$PROD_URL\" --sample-rows 200000 --reference-tables opendental
  dentsynth introspect --database-url \"$PROD_URL\" --out introspection/clinic --check   (exit 1 on drift)")]
    Introspect(IntrospectArgs),

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
pub struct IntrospectArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,

    /// Schema to read.
    #[arg(long, default_value = "raw")]
    pub schema: String,

    /// Output folder (default: introspection/<database name>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Profile name (default: the output folder's name).
    #[arg(long)]
    pub name: Option<String>,

    /// Categorical values seen fewer times than this are pooled, never listed.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(2..))]
    pub min_group_size: u64,

    /// Sample (TABLESAMPLE BERNOULLI, repeatable) the column statistics of tables with more rows than this.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub sample_rows: Option<u64>,

    /// Copy this configuration table verbatim (repeatable); refused if it has a patient key or too many rows.
    #[arg(long = "reference-table", value_name = "TABLE")]
    pub reference_table: Vec<String>,

    /// Copy a documented list of reference tables: `opendental` = appointmenttype, apptview, autocode,
    /// autocodeitem, covcat, covspan, definition, feesched, procedurecode, recalltrigger, recalltype.
    #[arg(long = "reference-tables", value_name = "LIST", value_parser = ["opendental"])]
    pub reference_tables: Option<String>,

    /// Refuse reference tables with more rows than this.
    #[arg(long, default_value_t = 5000)]
    pub reference_max_rows: u64,

    /// Lay authored statistics (a calibration TOML file, with sources) over what was measured.
    #[arg(long, value_name = "FILE")]
    pub calibration: Option<PathBuf>,

    /// The source is a throw-away copy (a fixture): do not record its system identifier.
    #[arg(long)]
    pub fixture: bool,

    /// Worker connections (each imports the same snapshot).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub jobs: u64,

    /// Statement timeout, in seconds.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..))]
    pub statement_timeout: u64,

    /// Compare with the profile on disk instead of writing it; exit 1 with a unified diff on drift.
    #[arg(long)]
    pub check: bool,
}

#[derive(Debug, Args)]
pub struct PingArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
}
