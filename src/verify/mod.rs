//! verify: a database, a profile and rule instances -> `Vec<Finding>`.
//!
//! The engine. Every check is a query that returns the offending rows; the engine counts them and
//! keeps up to five sample keys in key order. All checks run in READ ONLY, REPEATABLE READ
//! transactions with a statement timeout: one coordinator exports its snapshot, and a small number
//! of worker connections import it, so every check sees the same data and nothing can be written.
//!
//! Violations are data (`Finding`), never errors; `VerifyError` is for the tool (unreachable
//! database, a missing table, a timeout, a rule whose SQL fails). This module never formats text
//! for people (that is `report`), and never imports the other stages: it meets them only through
//! the `Profile` and the database, so it can run unchanged against production as a baseline.

pub mod checks;
pub mod registry;
pub mod rules;

use std::collections::{BTreeSet, VecDeque};
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::NaiveDate;
use serde::Serialize;
use sqlx::{Connection, PgConnection, Row};

use crate::db::{quote_ident, quote_literal, DbError, Target};
use crate::profile::Profile;
use checks::CheckSql;
use rules::Instance;

/// How much a violated rule matters: `error` fails the run (exit 1), `warn` is reported only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warn,
}

impl fmt::Display for Severity {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Self::Error => "error",
            Self::Warn => "warn",
        })
    }
}

impl FromStr for Severity {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "error" => Ok(Self::Error),
            "warn" | "warning" => Ok(Self::Warn),
            other => Err(format!("severity {other:?} is neither \"error\" nor \"warn\"")),
        }
    }
}

/// The result of one rule instance. `violations == 0` means the rule holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The kind's stable code, e.g. `RI001`.
    pub code: &'static str,
    /// The kind's name, e.g. `orphaned-reference`.
    pub kind: &'static str,
    /// The rule instance's id, unique within a run.
    pub rule: String,
    /// The table the offending rows belong to.
    pub table: String,
    pub severity: Severity,
    /// Rows the rule looked at (None when unknown: a custom query without `checked_sql`).
    pub checked: Option<u64>,
    /// Offending rows (for duplicate-key: duplicated keys; for row-count: 1 when out of range).
    pub violations: u64,
    /// Up to five keys of offending rows, in key order, as text.
    pub samples: Vec<String>,
    /// Where the rule was written: `file:line`.
    pub location: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// ledger-imbalance only: the identity's terms and the residual's breakdown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ledger: Option<Ledger>,
}

impl Finding {
    pub fn failed(&self) -> bool {
        self.violations > 0
    }
}

/// The terms of `production = collections - adjustments + balance` over a ledger-imbalance rule's
/// scope, as SQL `numeric` text rounded to cents (see `checks::ledger_imbalance` for the signs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ledger {
    pub production: String,
    pub collections: String,
    /// Signed as stored: negative adjustments and insurance write-offs lower the balance.
    pub adjustments: String,
    /// production - collections + adjustments, from the transactions.
    pub ledger_balance: String,
    /// The same quantity as stored on the patient rows (EstBalance, BalTotal or the aging buckets).
    pub stored_balance: String,
    /// Sum over the offending rows of (ledger - stored).
    pub residual: String,
    /// The residual by (provider, month), largest first, at most ten rows.
    pub breakdown: Vec<ResidualShare>,
}

/// One part of a residual: the offending rows attributed to a provider and a month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResidualShare {
    /// The patient's (or guarantor's) primary provider, or `none`.
    pub provider: String,
    /// `YYYY-MM` of the latest transaction, or `none`.
    pub month: String,
    pub residual: String,
    /// Offending rows in this part.
    pub rows: u64,
}

/// How to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub schema: String,
    /// The as-of date; None = the generator's (from `dentsynth.manifest`), else `default_as_of`.
    pub as_of: Option<NaiveDate>,
    /// Used when neither `as_of` nor a manifest gives one (the command passes today).
    pub default_as_of: NaiveDate,
    pub statement_timeout: Duration,
    /// Worker connections.
    pub jobs: usize,
}

/// Where the as-of date came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsOfSource {
    Argument,
    Manifest,
    Default,
}

/// What a run produced.
#[derive(Debug, Clone)]
pub struct Run {
    pub as_of: NaiveDate,
    pub as_of_source: AsOfSource,
    /// One per rule instance, sorted by code then rule id.
    pub findings: Vec<Finding>,
}

/// Why verification could not run. Each message is one line naming the problem and the fix.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Connect(#[from] DbError),
    #[error("schema {schema:?} does not exist in database {database:?}: pass --schema with the schema that was generated")]
    MissingSchema { schema: String, database: String },
    #[error("the database lacks tables that the rules check: {tables} (schema {schema:?}); is this a database generated from this profile?")]
    MissingTables { schema: String, tables: String },
    #[error("statement timeout in rule {rule} ({location}): raise --statement-timeout, or narrow the rule")]
    Timeout { rule: String, location: String },
    #[error("rule {rule} ({location}) tried to write, and verify runs read-only: {message}")]
    ReadOnly {
        rule: String,
        location: String,
        message: String,
    },
    #[error("rule {rule} ({location}) failed: {message}")]
    Rule {
        rule: String,
        location: String,
        message: String,
    },
    #[error("query failed while {context}: {message}")]
    Query { context: String, message: String },
}

/// Runs `instances` against `target` and returns one finding per instance.
pub async fn verify(
    target: &Target,
    profile: &Profile,
    instances: &[Instance],
    options: &Options,
) -> Result<Run, VerifyError> {
    let mut coordinator = target.connect().await?;
    begin(&mut coordinator, options, None, None).await?;

    let (database, schema_exists): (String, bool) = sqlx::query_as(
        "select current_database()::text, exists (select 1 from pg_catalog.pg_namespace where nspname = $1)",
    )
    .bind(&options.schema)
    .fetch_one(&mut coordinator)
    .await
    .map_err(|error| query_error(error, "looking up the schema"))?;
    if !schema_exists {
        return Err(VerifyError::MissingSchema {
            schema: options.schema.clone(),
            database,
        });
    }
    let needed: BTreeSet<String> = instances.iter().flat_map(|instance| instance.tables()).collect();
    let present: Vec<String> = sqlx::query_scalar(
        "select c.relname::text from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
         where n.nspname = $1 and c.relkind in ('r', 'p', 'v', 'm', 'f')",
    )
    .bind(&options.schema)
    .fetch_all(&mut coordinator)
    .await
    .map_err(|error| query_error(error, "listing the tables"))?;
    let present: BTreeSet<String> = present.into_iter().collect();
    let missing: Vec<&String> = needed.difference(&present).collect();
    if !missing.is_empty() {
        let mut list: Vec<String> = missing.iter().take(10).map(|t| t.to_string()).collect();
        if missing.len() > 10 {
            list.push(format!("and {} more", missing.len() - 10));
        }
        return Err(VerifyError::MissingTables {
            schema: options.schema.clone(),
            tables: list.join(", "),
        });
    }

    // Tables without a row: rules that need a row of their table to find anything are answered
    // without a query (most of a 422-table OpenDental schema is empty).
    // A table with no page on disk has no row (a table with pages may still be empty: then its
    // rules simply run).
    let empty: BTreeSet<String> = sqlx::query_scalar::<_, String>(
        "select c.relname::text from pg_catalog.pg_class c join pg_catalog.pg_namespace n on n.oid = c.relnamespace
         where n.nspname = $1 and c.relkind = 'r' and pg_catalog.pg_relation_size(c.oid) = 0",
    )
    .bind(&options.schema)
    .fetch_all(&mut coordinator)
    .await
    .map_err(|error| query_error(error, "finding the empty tables"))?
    .into_iter()
    .collect();

    let (as_of, as_of_source) = match options.as_of {
        Some(date) => (date, AsOfSource::Argument),
        None => match manifest_as_of(&mut coordinator, &options.schema).await? {
            Some(date) => (date, AsOfSource::Manifest),
            None => (options.default_as_of, AsOfSource::Default),
        },
    };
    sqlx::query(&format!(
        "set local dentsynth.as_of = {}",
        quote_literal(&as_of.to_string())
    ))
    .execute(&mut coordinator)
    .await
    .map_err(|error| query_error(error, "setting dentsynth.as_of"))?;
    let snapshot: String = sqlx::query_scalar("select pg_catalog.pg_export_snapshot()")
        .fetch_one(&mut coordinator)
        .await
        .map_err(|error| query_error(error, "exporting the snapshot"))?;

    let context = checks::Context {
        profile,
        schema: &options.schema,
        as_of,
    };
    let mut findings = Vec::new();
    let mut work: VecDeque<Work> = VecDeque::new();
    let mut scans: std::collections::BTreeMap<String, Vec<(usize, CheckSql, checks::Probe)>> =
        std::collections::BTreeMap::new();
    for (index, instance) in instances.iter().enumerate() {
        let sql = checks::build(&context, instance);
        if needs_a_row(instance) && empty.contains(&instance.table) {
            findings.push(clean(instance, sql.checked.as_ref().map(|_| 0)));
        } else if let Some(probe) = checks::probe(&context, instance) {
            scans
                .entry(probe.scan.clone())
                .or_default()
                .push((index, sql, probe));
        } else {
            work.push_back(Work::Check(index, sql, None));
        }
    }
    // Instances that share a scan are probed together (at most PROBES per query); alone, they
    // run as they are.
    for (_, group) in scans {
        if group.len() == 1 {
            let (index, sql, _) = group.into_iter().next().expect("one");
            work.push_front(Work::Check(index, sql, None));
            continue;
        }
        let mut group = group;
        while !group.is_empty() {
            let rest = group.split_off(group.len().min(PROBES));
            work.push_front(Work::Probe(std::mem::replace(&mut group, rest)));
        }
    }
    let queue = Arc::new(Mutex::new(work));
    let instances = Arc::new(instances.to_vec());
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..options.jobs.clamp(1, 64).min(instances.len().max(1)) {
        let mut connection = target.connect().await?;
        begin(&mut connection, options, Some(&snapshot), Some(as_of)).await?;
        let (queue, instances) = (queue.clone(), instances.clone());
        workers.spawn(async move {
            let mut done = Vec::new();
            loop {
                let next = queue.lock().expect("queue lock").pop_front();
                match next {
                    None => break,
                    Some(Work::Check(index, sql, checked)) => {
                        let instance = &instances[index];
                        done.push(run_check(&mut connection, instance, &sql, checked).await?);
                    }
                    Some(Work::Probe(group)) => {
                        // A failing probe names no culprit: its checks then run one by one, so
                        // that the failing rule reports its own error.
                        let Ok(counts) = run_probe(&mut connection, &group).await else {
                            let mut queue = queue.lock().expect("queue lock");
                            for (index, sql, _) in group {
                                queue.push_back(Work::Check(index, sql, None));
                            }
                            continue;
                        };
                        for ((index, sql, _), (checked, violations)) in group.into_iter().zip(counts) {
                            if violations == 0 {
                                done.push(clean(&instances[index], Some(checked)));
                            } else {
                                // Found something: the instance's own query, for its samples (the
                                // rows it checked are known).
                                queue.lock().expect("queue lock").push_back(Work::Check(
                                    index,
                                    sql,
                                    Some(checked),
                                ));
                            }
                        }
                    }
                }
            }
            let _ = connection.close().await;
            Ok::<_, VerifyError>(done)
        });
    }
    while let Some(result) = workers.join_next().await {
        match result {
            Ok(Ok(done)) => findings.extend(done),
            Ok(Err(error)) => {
                workers.abort_all();
                return Err(error);
            }
            Err(join_error) => {
                return Err(VerifyError::Query {
                    context: "running a worker".to_string(),
                    message: join_error.to_string(),
                })
            }
        }
    }
    let _ = coordinator.close().await;
    findings.sort_by(|a, b| (a.code, &a.rule).cmp(&(b.code, &b.rule)));
    Ok(Run {
        as_of,
        as_of_source,
        findings,
    })
}

/// Probes per shared-scan query (two aggregates each).
const PROBES: usize = 200;

/// A unit of a worker's work: one check (with the rows it checks when a probe counted them), or
/// the probes of checks that share a scan.
enum Work {
    Check(usize, CheckSql, Option<u64>),
    Probe(Vec<(usize, CheckSql, checks::Probe)>),
}

/// A finding without violations (the rule's identity and the rows it checked).
fn clean(instance: &Instance, checked: Option<u64>) -> Finding {
    Finding {
        code: instance.kind.code(),
        kind: instance.kind.name(),
        rule: instance.id.clone(),
        table: instance.table.clone(),
        severity: instance.severity,
        checked,
        violations: 0,
        samples: Vec::new(),
        location: instance.location.to_string(),
        description: instance.description.clone(),
        ledger: None,
    }
}

/// One scan for a group of probes: per instance, the rows checked and the offending rows.
async fn run_probe(
    connection: &mut PgConnection,
    group: &[(usize, CheckSql, checks::Probe)],
) -> Result<Vec<(u64, u64)>, sqlx::Error> {
    let columns: Vec<String> = group
        .iter()
        .map(|(_, _, p)| {
            format!(
                "count(*) filter (where {})::int8, count(*) filter (where {})::int8",
                p.checked, p.violation
            )
        })
        .collect();
    let sql = format!("select {} {}", columns.join(", "), group[0].2.scan);
    // Inside a savepoint: a failure must not abort the worker's transaction (its snapshot).
    sqlx::Executor::execute(&mut *connection, "savepoint probe").await?;
    let row = match sqlx::Executor::fetch_one(&mut *connection, sql.as_str()).await {
        Ok(row) => row,
        Err(error) => {
            sqlx::Executor::execute(&mut *connection, "rollback to savepoint probe").await?;
            return Err(error);
        }
    };
    sqlx::Executor::execute(&mut *connection, "release savepoint probe").await?;
    Ok((0..group.len())
        .map(|i| {
            let checked = row.get::<i64, _>(2 * i).max(0) as u64;
            let violations = row.get::<i64, _>(2 * i + 1).max(0) as u64;
            (checked, violations)
        })
        .collect())
}

/// Kinds whose violations are rows of the rule's own table: nothing to find when it is empty.
/// (Volume windows, the ledger and custom queries can fail on an empty table and always run.)
fn needs_a_row(instance: &Instance) -> bool {
    matches!(
        instance.kind.code(),
        "RI001" | "DT001" | "ST001" | "NN001" | "UQ001" | "AV001"
    )
}

/// Opens the READ ONLY, REPEATABLE READ transaction with its timeouts, search path and as-of.
async fn begin(
    connection: &mut PgConnection,
    options: &Options,
    snapshot: Option<&str>,
    as_of: Option<NaiveDate>,
) -> Result<(), VerifyError> {
    let mut statements = vec!["begin isolation level repeatable read read only".to_string()];
    if let Some(snapshot) = snapshot {
        statements.push(format!("set transaction snapshot {}", quote_literal(snapshot)));
    }
    statements.push(format!(
        "set local statement_timeout = {}",
        options.statement_timeout.as_millis().max(1)
    ));
    statements.push("set local lock_timeout = 10000".to_string());
    statements.push(format!(
        "set local search_path = {}, pg_catalog",
        quote_ident(&options.schema)
    ));
    statements.push("set local extra_float_digits = 0".to_string());
    if let Some(as_of) = as_of {
        statements.push(format!(
            "set local dentsynth.as_of = {}",
            quote_literal(&as_of.to_string())
        ));
    }
    for statement in statements {
        sqlx::query(&statement)
            .execute(&mut *connection)
            .await
            .map_err(|error| query_error(error, "opening the read-only transaction"))?;
    }
    Ok(())
}

/// The generator's as-of date for `schema`, when the database has a dentsynth manifest.
async fn manifest_as_of(
    connection: &mut PgConnection,
    schema: &str,
) -> Result<Option<NaiveDate>, VerifyError> {
    let readable: bool = sqlx::query_scalar(
        "select to_regclass('dentsynth.manifest') is not null
            and has_table_privilege('dentsynth.manifest', 'select')",
    )
    .fetch_one(&mut *connection)
    .await
    .map_err(|error| query_error(error, "looking for the dentsynth manifest"))?;
    if !readable {
        return Ok(None);
    }
    let text: Option<String> =
        sqlx::query_scalar("select arguments ->> 'as_of' from dentsynth.manifest where schema_name = $1")
            .bind(schema)
            .fetch_optional(&mut *connection)
            .await
            .map_err(|error| query_error(error, "reading the dentsynth manifest"))?
            .flatten();
    Ok(text.and_then(|text| NaiveDate::parse_from_str(&text, "%Y-%m-%d").ok()))
}

/// Runs one check: the rows in scope, the offending rows (count and samples), and for the ledger
/// the identity's terms and the residual's breakdown.
/// `known`: the rows in scope when a probe already counted them.
async fn run_check(
    connection: &mut PgConnection,
    instance: &Instance,
    sql: &CheckSql,
    known: Option<u64>,
) -> Result<Finding, VerifyError> {
    let fail = |error: sqlx::Error| rule_error(error, instance);
    let checked = match (&sql.checked, known) {
        (_, Some(known)) => Some(known),
        (Some(checked_sql), None) => {
            let count_sql = format!("select ({checked_sql})::int8");
            let count: Option<i64> = sqlx::Executor::fetch_one(&mut *connection, count_sql.as_str())
                .await
                .map_err(fail)?
                .get(0);
            Some(count.unwrap_or(0).max(0) as u64)
        }
        (None, None) => None,
    };
    // The offending rows are a MATERIALIZED CTE so that the LIMIT of the samples cannot talk the
    // planner into a nested loop over the whole check (every row is counted anyway).
    // Checks run once each: the simple query protocol (one round trip, no prepared statement).
    // The ledger's totals query also gives the verdict (its transactions are summed once).
    let totals = match &sql.ledger {
        Some(ledger_sql) => Some(
            sqlx::Executor::fetch_one(&mut *connection, ledger_sql.totals.as_str())
                .await
                .map_err(fail)?,
        ),
        None => None,
    };
    let (violations, samples) = match &totals {
        Some(totals) => (
            totals.get::<i64, _>(6).max(0) as u64,
            totals
                .get::<Option<Vec<Option<String>>>, _>(7)
                .unwrap_or_default()
                .into_iter()
                .map(|k| k.unwrap_or_else(|| "NULL".to_string()))
                .collect(),
        ),
        None => {
            let offending_sql = format!(
                "with q(k) as materialized ({}) select count(*) over ()::int8, q.k::text from q order by q.k nulls last limit 5",
                sql.offending
            );
            let rows = sqlx::Executor::fetch_all(&mut *connection, offending_sql.as_str())
                .await
                .map_err(fail)?;
            let violations = rows
                .first()
                .map(|row| row.get::<i64, _>(0).max(0) as u64)
                .unwrap_or(0);
            let samples: Vec<String> = rows
                .iter()
                .map(|row| {
                    row.get::<Option<String>, _>(1)
                        .unwrap_or_else(|| "NULL".to_string())
                })
                .collect();
            (violations, samples)
        }
    };
    let ledger = match (&sql.ledger, totals) {
        (Some(ledger_sql), Some(totals)) => {
            let text = |index: usize| {
                totals
                    .get::<Option<String>, _>(index)
                    .unwrap_or_else(|| "0.00".to_string())
            };
            let breakdown = if violations > 0 {
                sqlx::Executor::fetch_all(&mut *connection, ledger_sql.breakdown.as_str())
                    .await
                    .map_err(fail)?
                    .iter()
                    .map(|row| ResidualShare {
                        provider: row.get::<String, _>(0),
                        month: row.get::<String, _>(1),
                        residual: row.get::<String, _>(2),
                        rows: row.get::<i64, _>(3).max(0) as u64,
                    })
                    .collect()
            } else {
                Vec::new()
            };
            Some(Ledger {
                production: text(0),
                collections: text(1),
                adjustments: text(2),
                ledger_balance: text(3),
                stored_balance: text(4),
                residual: text(5),
                breakdown,
            })
        }
        _ => None,
    };
    Ok(Finding {
        violations,
        samples,
        ledger,
        ..clean(instance, checked)
    })
}

fn rule_error(error: sqlx::Error, instance: &Instance) -> VerifyError {
    let rule = instance.id.clone();
    let location = instance.location.to_string();
    if let sqlx::Error::Database(database_error) = &error {
        let message = database_error.message().to_string();
        return match database_error.code().as_deref() {
            Some("57014") => VerifyError::Timeout { rule, location },
            Some("25006") => VerifyError::ReadOnly {
                rule,
                location,
                message,
            },
            _ => VerifyError::Rule {
                rule,
                location,
                message,
            },
        };
    }
    VerifyError::Rule {
        rule,
        location,
        message: error.to_string(),
    }
}

fn query_error(error: sqlx::Error, context: &str) -> VerifyError {
    let message = match &error {
        sqlx::Error::Database(database_error) => database_error.message().to_string(),
        other => other.to_string(),
    };
    VerifyError::Query {
        context: context.to_string(),
        message,
    }
}
