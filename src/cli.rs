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
  dentsynth verify                      check the local demo against the built-in rules
  dentsynth fidelity                    compare the local demo's statistics with the profile

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

    /// Fill a demo database from a profile: exact DDL, calibrated rows, deterministic by seed.
    ///
    /// Builds into a private schema with parallel COPY, adds keys and indexes, then swaps it in for
    /// the target schema in one transaction: a failed or killed run leaves the previous demo
    /// untouched. Without --database-url it uses the managed local cluster's database
    /// opendental_demo. Refuses to write into the profile's source database, and into a schema that
    /// holds data but no dentsynth manifest (unless --force). An introspected OpenDental --profile
    /// is completed from the built-in profile first (tables without rows, reference rows,
    /// relationships it lacks; see --no-fill), and a note says what was filled.
    #[command(after_help = "\
Examples:
  dentsynth generate                                  built-in profile into the local cluster
  dentsynth generate --seed 7 --scale 0.2 --as-of 2026-06-30
  dentsynth generate --profile introspection/clinic --database-url postgres://me@localhost/demo
  dentsynth generate --profile introspection/clinic --no-fill   the profile as it is, nothing filled
  dentsynth generate --out-dir demo-csv --no-load     CSV files + schema.sql + load.sql only
  dentsynth generate --quirks production              with production's data-quality quirks")]
    Generate(GenerateArgs),

    /// Check a demo database against the profile and the rules; report the findings.
    ///
    /// Runs every rule instance of the built-in rules/ (plus or instead of --rules) as a query for
    /// offending rows, in parallel over a few connections that share one READ ONLY snapshot, with a
    /// statement timeout: verify never writes. Rules are validated against the profile before any
    /// query runs. Check kinds: RI001 orphaned-reference, DT001 dates-out-of-order, FB001
    /// ledger-imbalance, ST001 status-inconsistency, VOL001 row-count-out-of-range, NN001
    /// null-in-required-column, UQ001 duplicate-key, AV001 value-not-accepted, SQL001 custom-query.
    /// Exit 1 when an error-severity rule has violations (warnings do not fail), or, with
    /// --snapshot, when the report differs from the file.
    #[command(after_help = "\
Examples:
  dentsynth verify                                    the local demo, built-in profile and rules
  dentsynth verify --select FB --select RI001         only the ledger and referential checks
  dentsynth verify --rules my-rules --format json     add my rule files; JSON report
  dentsynth verify --format markdown >> \"$GITHUB_STEP_SUMMARY\"
  dentsynth verify --format junit > verify.xml        for CI test reporting
  dentsynth verify --snapshot snapshots/opendental/verify.txt          exit 1 with a diff on drift
  dentsynth verify --snapshot snapshots/opendental/verify.txt --bless  accept the new report")]
    Verify(VerifyArgs),

    /// Compare a generated demo's aggregates with the profile it was generated from.
    ///
    /// For every table with rows at the scale: the row count against the plan's target (within 10%),
    /// each column's null and sentinel shares (within 10%, at least 0.01), categorical mixes and the
    /// weekday, month and hour mixes of dates (total variation distance at most 0.03), and per
    /// relationship the mean children per parent and the share of childless parents (within 10%).
    /// A statistic whose demo population is too small for its tolerance (a correct generator would
    /// miss it by chance more than once in a thousand runs) is reported as not judged, never as a
    /// pass. Read-only: one READ ONLY snapshot shared by a few connections. Exit 1 when a judged
    /// statistic is out of tolerance.
    #[command(after_help = "\
Examples:
  dentsynth fidelity                                  the local demo against the built-in profile
  dentsynth fidelity --all                            every statistic, with its verdict
  dentsynth fidelity --table appointment --table procedurelog
  dentsynth fidelity --database-url \"$DEMO_URL\" --scale 0.2 --format json
  dentsynth fidelity --profile introspection/clinic --schema raw")]
    Fidelity(FidelityArgs),

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
pub struct GenerateArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,

    /// Profile folder (default: the built-in introspection/opendental).
    #[arg(long, value_name = "DIR")]
    pub profile: Option<PathBuf>,

    /// Use the --profile as it is: do not fill what an introspected OpenDental profile lacks (tables
    /// without rows, reference rows, relationships) from the built-in profile.
    #[arg(long)]
    pub no_fill: bool,

    /// Target schema.
    #[arg(long, default_value = "raw")]
    pub schema: String,

    /// Random seed: the same seed, profile, scale, as-of and months give the same database.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,

    /// Row counts relative to the profile (1.0 = the profile's volumes).
    #[arg(long, default_value_t = 1.0, value_parser = parse_scale)]
    pub scale: f64,

    /// The simulated present, YYYY-MM-DD (default: today).
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub as_of: Option<chrono::NaiveDate>,

    /// Months of history before --as-of.
    #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..=600))]
    pub months: u32,

    /// Parallel connections (default: the number of cores, at most 8).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub jobs: Option<u64>,

    /// Replace a schema that holds data without a dentsynth manifest.
    #[arg(long)]
    pub force: bool,

    /// Also write the data as CSV files, with schema.sql and load.sql, into this folder.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,

    /// Only write --out-dir; do not load a database.
    #[arg(long, requires = "out_dir")]
    pub no_load: bool,

    /// Data-quality quirks to add: none (the clean demo) or production (the real production
    /// database's sentinel dates, orphaned keys, duplicates, negative and extreme amounts and stale
    /// states, at production's rates; see introspection/opendental/README.md). Needs a database load.
    #[arg(long, value_name = "none|production", default_value = "none")]
    pub quirks: String,
}

fn parse_scale(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number; pass e.g. --scale 0.5"))?;
    if !value.is_finite() || value <= 0.0 {
        return Err(format!("{text} is not above 0; pass e.g. --scale 0.5"));
    }
    if value > 1000.0 {
        return Err(format!("{text} is above the supported maximum of 1000"));
    }
    Ok(value)
}

fn parse_date(text: &str) -> Result<chrono::NaiveDate, String> {
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("{text:?} is not a date; use YYYY-MM-DD, e.g. 2026-06-30"))
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,

    /// Schema to verify.
    #[arg(long, default_value = "raw")]
    pub schema: String,

    /// Profile folder (default: the built-in introspection/opendental).
    #[arg(long, value_name = "DIR")]
    pub profile: Option<PathBuf>,

    /// Use the --profile as it is: do not fill what an introspected OpenDental profile lacks (tables
    /// without rows, reference rows, relationships) from the built-in profile.
    #[arg(long)]
    pub no_fill: bool,

    /// Folder of *.toml rule files, added to the built-in rules (a file with the name of a built-in
    /// one replaces it).
    #[arg(long, value_name = "DIR")]
    pub rules: Option<PathBuf>,

    /// Use only the --rules folder, none of the built-in rules.
    #[arg(long, requires = "rules")]
    pub no_default_rules: bool,

    /// Run only these check kinds: codes (RI001), code prefixes (RI, DT) or names
    /// (orphaned-reference); repeatable or comma-separated.
    #[arg(long, value_name = "CODE", num_args = 1.., value_delimiter = ',')]
    pub select: Vec<String>,

    /// The date the data is "as of" (windows such as "not after as-of", and aging). Default: the
    /// generator's as-of from the dentsynth manifest, else today.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_date)]
    pub as_of: Option<chrono::NaiveDate>,

    /// Report format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,

    /// Compare the report (in --format) with this committed file: exit 1 with a unified diff on drift.
    #[arg(long, value_name = "FILE")]
    pub snapshot: Option<PathBuf>,

    /// Write the report to the --snapshot file instead of comparing.
    #[arg(long, requires = "snapshot")]
    pub bless: bool,

    /// Worker connections (each imports the same snapshot).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=32))]
    pub jobs: u64,

    /// Statement timeout per query, in seconds (fractions allowed, e.g. 0.5).
    #[arg(long, default_value = "300", value_name = "SECONDS", value_parser = parse_seconds)]
    pub statement_timeout: f64,
}

/// The formats of the verify report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    /// A table of the rules with violations, and a summary line.
    Table,
    /// Every rule's result, with the summary.
    Json,
    /// For a CI step summary.
    Markdown,
    /// JUnit XML: one test case per rule.
    Junit,
}

fn parse_seconds(text: &str) -> Result<f64, String> {
    let value: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds; pass e.g. 30 or 0.5"))?;
    if !(0.001..=86_400.0).contains(&value) {
        return Err(format!("{text} is outside 0.001..86400 seconds"));
    }
    Ok(value)
}

#[derive(Debug, Args)]
pub struct FidelityArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,

    /// Schema holding the demo.
    #[arg(long, default_value = "raw")]
    pub schema: String,

    /// Profile folder the demo was generated from (default: the built-in introspection/opendental).
    #[arg(long, value_name = "DIR")]
    pub profile: Option<PathBuf>,

    /// Use the --profile as it is: do not fill what an introspected OpenDental profile lacks (tables
    /// without rows, reference rows, relationships) from the built-in profile.
    #[arg(long)]
    pub no_fill: bool,

    /// The scale the demo was generated at (default: the dentsynth manifest's, for --schema).
    #[arg(long, value_parser = parse_scale)]
    pub scale: Option<f64>,

    /// Report format.
    #[arg(long, value_enum, default_value_t = FidelityFormat::Table)]
    pub format: FidelityFormat,

    /// List every statistic (within tolerance and not judged too), not only those out of tolerance.
    #[arg(long)]
    pub all: bool,

    /// Only this table's statistics, and relationships that touch it; repeatable or comma-separated.
    #[arg(long = "table", value_name = "TABLE", value_delimiter = ',')]
    pub tables: Vec<String>,

    /// Worker connections (default: the number of cores, at most 8).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=32))]
    pub jobs: Option<u64>,

    /// Statement timeout per query, in seconds (fractions allowed, e.g. 0.5).
    #[arg(long, default_value = "300", value_name = "SECONDS", value_parser = parse_seconds)]
    pub statement_timeout: f64,
}

/// The formats of the fidelity report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FidelityFormat {
    /// The statistics out of tolerance (all of them with --all), and a summary line.
    Table,
    /// Every statistic with target, achieved value, tolerance and verdict, and the summary.
    Json,
}

#[derive(Debug, Args)]
pub struct PingArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
}
