//! Loading: safety checks, the build schema, parallel COPY, constraints, the swap, the manifest;
//! and the CSV / schema.sql / load.sql files of `--out-dir`.

use std::collections::{BTreeMap, VecDeque};
use std::fs;
use std::io::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use sha2::{Digest, Sha256};
use sqlx::{Connection, PgConnection};

use super::generic::{Clock, TableGenerator};
use super::plan::{self, Plan};
use super::quirks::{self, QuirkReport};
use super::scenario::{self, Adaptation, RowSource};
use super::value::{push_copy_row, push_csv_header, push_csv_row};
use super::{schema, GenerateError, Options, Sources};
use crate::db::{quote_ident, quote_literal, Target};
use crate::profile::Profile;

/// Rows per chunk handed from a generating thread to its COPY stream.
const CHUNK_BYTES: usize = 512 * 1024;

/// Progress callbacks (the command draws bars; generate never prints).
pub trait Progress: Send + Sync {
    fn table_started(&self, _table: &str, _rows: u64) {}
    fn rows_done(&self, _table: &str, _rows: u64) {}
    fn table_finished(&self, _table: &str) {}
    fn phase(&self, _name: &str) {}
}

impl Progress for () {}

/// What happened to one table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableReport {
    pub table: String,
    pub rows: u64,
    pub seconds: f64,
    /// SHA-256 of the table's rows in COPY text format, in key order: the generated rows as they
    /// were streamed, or, for a table that `--quirks` changed, PostgreSQL's COPY text of the table
    /// ordered by its primary key after the quirks.
    pub checksum: String,
}

/// The outcome of a run.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub tables: Vec<TableReport>,
    pub total_rows: u64,
    pub seconds: f64,
    /// Names of the scenarios that generated tables.
    pub scenarios: Vec<String>,
    /// Where the scenarios depart from the profile, and why.
    pub adaptations: Vec<Adaptation>,
    /// What each quirk of `--quirks` did (empty for the clean demo).
    pub quirks: Vec<QuirkReport>,
}

/// Generates the demo: into the database `target` (when `options.load`) and/or `options.out_dir`.
pub async fn generate(
    target: Option<&Target>,
    profile: &Profile,
    options: &Options,
    progress: Arc<dyn Progress>,
) -> Result<Manifest, GenerateError> {
    let started = Instant::now();
    if options.quirks != quirks::Mode::None && !(options.load && target.is_some()) {
        // The quirks are SQL run inside the database's build schema: without a load there is none.
        return Err(GenerateError::QuirksNeedDatabase {
            mode: options.quirks.to_string(),
        });
    }
    let initial = plan::build(profile, options.scale);
    let clock = Clock::new(options.as_of, options.months);
    let (sources, scenarios, plan, mut adaptations) = row_sources(profile, &initial, options.seed, clock);
    if options.quirks == quirks::Mode::None {
        adaptations.extend(quirks::left_out(profile));
    }

    if let Some(dir) = &options.out_dir {
        fs::create_dir_all(dir).map_err(|e| write_error(dir, e))?;
        let script = schema::full_script(profile, &options.schema);
        fs::write(dir.join("schema.sql"), script).map_err(|e| write_error(dir, e))?;
        fs::write(dir.join("load.sql"), load_script(profile, &plan, &options.schema))
            .map_err(|e| write_error(dir, e))?;
    }

    let (tables, quirks) = match (options.load, target) {
        (true, Some(target)) => {
            load_database(target, profile, &plan, &sources, options, &adaptations, progress).await?
        }
        _ => (
            write_files_only(&plan, &sources, options, progress).await?,
            Vec::new(),
        ),
    };
    let total_rows = tables.iter().map(|t| t.rows).sum();
    Ok(Manifest {
        tables,
        total_rows,
        seconds: started.elapsed().as_secs_f64(),
        scenarios,
        adaptations,
        quirks,
    })
}

/// One row source per table with rows: a scenario's when it owns the table, else the generic one.
/// Returns the plan adjusted to the scenarios' actual row counts, so that generic children of a
/// scenario-owned table draw keys that exist.
fn row_sources(
    profile: &Profile,
    plan: &Plan,
    seed: u64,
    clock: Clock,
) -> (Sources, Vec<String>, Plan, Vec<Adaptation>) {
    let scenarios: Vec<Box<dyn scenario::Scenario>> = scenario::registry()
        .into_iter()
        .filter_map(|factory| factory(profile, plan, seed, clock))
        .collect();
    let mut used: Vec<String> = Vec::new();
    let mut owned: BTreeMap<String, Arc<dyn RowSource>> = BTreeMap::new();
    for table_plan in &plan.tables {
        if let Some(scenario) = scenarios.iter().find(|s| s.owns(&table_plan.name)) {
            if !used.iter().any(|name| name == scenario.name()) {
                used.push(scenario.name().to_string());
            }
            owned.insert(table_plan.name.clone(), scenario.source(&table_plan.name));
        }
    }
    let mut adjusted = plan.clone();
    for table_plan in &mut adjusted.tables {
        if let Some(source) = owned.get(&table_plan.name) {
            table_plan.rows = source.rows();
        }
        table_plan.resize_parent_ranges(|parent| owned.get(parent).map(|source| source.rows()));
    }
    let sources = adjusted
        .tables
        .iter()
        .filter_map(|table_plan| {
            let source: Arc<dyn RowSource> = match owned.get(&table_plan.name) {
                Some(source) => source.clone(),
                None if table_plan.rows > 0 => Arc::new(TableGenerator::new(
                    table_plan,
                    &profile.tables[&table_plan.name],
                    seed,
                    clock,
                )),
                None => return None,
            };
            (source.rows() > 0).then(|| (table_plan.name.clone(), source))
        })
        .collect();
    let adaptations = scenarios
        .iter()
        .filter(|s| used.iter().any(|name| name == s.name()))
        .flat_map(|s| s.adaptations())
        .collect();
    (Arc::new(sources), used, adjusted, adaptations)
}

fn write_error(path: &Path, error: impl std::fmt::Display) -> GenerateError {
    GenerateError::Write {
        path: path.display().to_string(),
        message: error.to_string(),
    }
}

/// The encoded rows of one table, streamed in chunks from a generating thread.
struct Encoded {
    receiver: tokio::sync::mpsc::Receiver<String>,
    done: tokio::task::JoinHandle<Result<(u64, String), GenerateError>>,
}

/// Starts generating a table on a blocking thread: COPY text chunks go to the channel; CSV (when
/// `csv` is set) goes to the file. Returns the row count and checksum when finished.
fn encode(
    table: String,
    source: Arc<dyn RowSource>,
    csv: Option<(std::path::PathBuf, Vec<String>)>,
    progress: Arc<dyn Progress>,
    send_copy: bool,
) -> Encoded {
    let (sender, receiver) = tokio::sync::mpsc::channel::<String>(4);
    let done = tokio::task::spawn_blocking(move || {
        let rows = source.rows();
        let mut hasher = Sha256::new();
        let mut buffer = String::with_capacity(CHUNK_BYTES + 4096);
        let mut csv_file = match &csv {
            Some((path, columns)) => {
                let mut file =
                    std::io::BufWriter::new(fs::File::create(path).map_err(|e| write_error(path, e))?);
                let mut header = String::new();
                push_csv_header(&mut header, columns);
                file.write_all(header.as_bytes())
                    .map_err(|e| write_error(path, e))?;
                Some((file, path.clone()))
            }
            None => None,
        };
        let mut csv_buffer = String::new();
        let mut pending = 0u64;
        for index in 0..rows {
            let row = source.row(index);
            push_copy_row(&mut buffer, &row);
            if csv_file.is_some() {
                push_csv_row(&mut csv_buffer, &row);
            }
            pending += 1;
            if buffer.len() >= CHUNK_BYTES || index + 1 == rows {
                hasher.update(buffer.as_bytes());
                if let Some((file, path)) = csv_file.as_mut() {
                    file.write_all(csv_buffer.as_bytes())
                        .map_err(|e| write_error(path, e))?;
                    csv_buffer.clear();
                }
                let chunk = std::mem::replace(&mut buffer, String::with_capacity(CHUNK_BYTES + 4096));
                if send_copy && sender.blocking_send(chunk).is_err() {
                    return Err(GenerateError::Interrupted);
                }
                progress.rows_done(&table, pending);
                pending = 0;
            }
        }
        if let Some((mut file, path)) = csv_file {
            file.flush().map_err(|e| write_error(&path, e))?;
        }
        Ok((rows, format!("{:x}", hasher.finalize())))
    });
    Encoded { receiver, done }
}

async fn write_files_only(
    plan: &Plan,
    sources: &Sources,
    options: &Options,
    progress: Arc<dyn Progress>,
) -> Result<Vec<TableReport>, GenerateError> {
    let mut reports = Vec::new();
    for (name, source) in sources.iter() {
        let started = Instant::now();
        progress.table_started(name, source.rows());
        let csv = options
            .out_dir
            .as_ref()
            .map(|dir| (dir.join(format!("{name}.csv")), column_names(plan, name)));
        let mut encoded = encode(name.clone(), source.clone(), csv, progress.clone(), false);
        encoded.receiver.close();
        let (rows, checksum) = encoded
            .done
            .await
            .map_err(|e| GenerateError::query("generating", e))??;
        progress.table_finished(name);
        reports.push(TableReport {
            table: name.clone(),
            rows,
            seconds: started.elapsed().as_secs_f64(),
            checksum,
        });
    }
    reports.sort_by(|a, b| a.table.cmp(&b.table));
    Ok(reports)
}

fn column_names(plan: &Plan, table: &str) -> Vec<String> {
    plan.table(table)
        .map(|t| t.columns.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default()
}

/// The name of the build schema for a target schema.
fn build_schema_name(schema: &str) -> String {
    format!("dentsynth_build_{schema}")
}

async fn execute(connection: &mut PgConnection, sql: &str, context: &str) -> Result<(), GenerateError> {
    sqlx::Executor::execute(&mut *connection, sql)
        .await
        .map(|_| ())
        .map_err(|error| match &error {
            sqlx::Error::Database(e) => GenerateError::query(context, e.message()),
            other => GenerateError::query(context, other),
        })
}

/// Creates the target database (through the server's `postgres` database) when it does not exist.
async fn create_database(target: &Target) -> Result<(), GenerateError> {
    let database = target.database();
    let admin = target.with_database("postgres");
    let mut connection = admin.connect().await?;
    let statement = format!("create database {}", quote_ident(&database));
    match sqlx::Executor::execute(&mut connection, statement.as_str()).await {
        Ok(_) => Ok(()),
        // Created meanwhile by someone else: fine.
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42P04") => Ok(()),
        Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some("42501") => {
            Err(GenerateError::NoCreatePrivilege { database })
        }
        Err(error) => Err(GenerateError::query(
            format!("creating database {database}"),
            error,
        )),
    }
}

/// Refusals that must happen before anything is written.
async fn preflight(
    connection: &mut PgConnection,
    profile: &Profile,
    options: &Options,
) -> Result<(), GenerateError> {
    let (database, can_create, visible): (String, bool, bool) = sqlx::query_as(
        "select current_database()::text, has_database_privilege(current_database(), 'CREATE'),
                has_function_privilege('pg_catalog.pg_control_system()', 'execute')",
    )
    .fetch_one(&mut *connection)
    .await
    .map_err(|e| GenerateError::query("reading the target's identity", e))?;
    let identifier: Option<String> = if visible {
        sqlx::query_scalar("select system_identifier::text from pg_catalog.pg_control_system()")
            .fetch_one(&mut *connection)
            .await
            .map_err(|e| GenerateError::query("reading the system identifier", e))?
    } else {
        None
    };
    let source = &profile.source;
    let same_name = source.database == database;
    let same_cluster = match (&source.system_identifier, &identifier) {
        (Some(a), Some(b)) => a == b,
        // Without both identifiers, the name alone decides: better a refusal than a write into production.
        _ => true,
    };
    if same_name && same_cluster && source.system_identifier.is_some() {
        return Err(GenerateError::SourceDatabase { database });
    }
    if same_name && source.system_identifier.is_none() && !profile.settings.calibration.is_empty() {
        // A fixture-made profile (no identifier) names a scratch database: no production to protect.
    } else if same_name && same_cluster {
        return Err(GenerateError::SourceDatabase { database });
    }

    let schema_exists: bool =
        sqlx::query_scalar("select exists (select 1 from pg_namespace where nspname = $1)")
            .bind(&options.schema)
            .fetch_one(&mut *connection)
            .await
            .map_err(|e| GenerateError::query("looking up the schema", e))?;
    if schema_exists && !options.force {
        let has_manifest: bool = sqlx::query_scalar(
            "select exists (select 1 from information_schema.tables where table_schema = 'dentsynth' and table_name = 'manifest')",
        )
        .fetch_one(&mut *connection)
        .await
        .map_err(|e| GenerateError::query("looking for the manifest", e))?;
        let managed = if has_manifest {
            sqlx::query_scalar::<_, bool>(
                "select exists (select 1 from dentsynth.manifest where schema_name = $1)",
            )
            .bind(&options.schema)
            .fetch_one(&mut *connection)
            .await
            .map_err(|e| GenerateError::query("reading the manifest", e))?
        } else {
            false
        };
        if !managed && schema_has_data(connection, &options.schema).await? {
            return Err(GenerateError::ForeignData {
                schema: options.schema.clone(),
            });
        }
    }
    if !can_create {
        return Err(GenerateError::NoCreatePrivilege { database });
    }
    Ok(())
}

async fn schema_has_data(connection: &mut PgConnection, schema: &str) -> Result<bool, GenerateError> {
    let tables: Vec<String> = sqlx::query_scalar(
        "select c.relname::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = $1 and c.relkind in ('r', 'p') order by 1",
    )
    .bind(schema)
    .fetch_all(&mut *connection)
    .await
    .map_err(|e| GenerateError::query("listing the schema's tables", e))?;
    for table in tables {
        let sql = format!(
            "select exists (select 1 from {}.{})",
            quote_ident(schema),
            quote_ident(&table)
        );
        let has_rows: bool = sqlx::query_scalar(&sql)
            .fetch_one(&mut *connection)
            .await
            .map_err(|e| GenerateError::query(format!("reading {schema}.{table}"), e))?;
        if has_rows {
            return Ok(true);
        }
    }
    Ok(false)
}

async fn load_database(
    target: &Target,
    profile: &Profile,
    plan: &Plan,
    sources: &Sources,
    options: &Options,
    adaptations: &[Adaptation],
    progress: Arc<dyn Progress>,
) -> Result<(Vec<TableReport>, Vec<QuirkReport>), GenerateError> {
    let mut coordinator = match target.connect().await {
        Err(crate::db::DbError::UnknownDatabase { .. }) => {
            create_database(target).await?;
            target.connect().await?
        }
        other => other?,
    };
    execute(
        &mut coordinator,
        "set client_min_messages = warning",
        "configuring the session",
    )
    .await?;
    preflight(&mut coordinator, profile, options).await?;
    let lock_key = format!("dentsynth generate {}", options.schema);
    let locked: bool = sqlx::query_scalar("select pg_try_advisory_lock(hashtext($1))")
        .bind(&lock_key)
        .fetch_one(&mut coordinator)
        .await
        .map_err(|e| GenerateError::query("taking the advisory lock", e))?;
    if !locked {
        return Err(GenerateError::Busy {
            schema: options.schema.clone(),
        });
    }
    let build = build_schema_name(&options.schema);
    let result = build_and_swap(
        target,
        &mut coordinator,
        profile,
        plan,
        sources,
        options,
        adaptations,
        &build,
        progress,
    )
    .await;
    if result.is_err() {
        // Best effort: leave no half-built schema behind (a SIGKILL is cleaned up by the next run).
        let _ = execute(
            &mut coordinator,
            &format!("drop schema if exists {} cascade", quote_ident(&build)),
            "cleaning up",
        )
        .await;
    }
    let _ = coordinator.close().await;
    result
}

#[allow(clippy::too_many_arguments)]
async fn build_and_swap(
    target: &Target,
    coordinator: &mut PgConnection,
    profile: &Profile,
    plan: &Plan,
    sources: &Sources,
    options: &Options,
    adaptations: &[Adaptation],
    build: &str,
    progress: Arc<dyn Progress>,
) -> Result<(Vec<TableReport>, Vec<QuirkReport>), GenerateError> {
    let b = quote_ident(build);
    execute(
        coordinator,
        &format!("drop schema if exists {b} cascade; create schema {b}"),
        "creating the build schema",
    )
    .await?;
    execute(
        coordinator,
        &format!("set search_path = {b}, pg_catalog"),
        "setting the search path",
    )
    .await?;
    let create = schema::create_statements(profile, build);
    let (sequences, rest): (Vec<String>, Vec<String>) =
        create.into_iter().partition(|s| s.starts_with("create sequence"));
    let (owned_by, _tables): (Vec<String>, Vec<String>) =
        rest.into_iter().partition(|s| s.starts_with("alter sequence"));
    for statement in &sequences {
        execute(coordinator, statement, "creating sequences").await?;
    }

    // Phase 1: every table created and filled by COPY in one transaction, in parallel.
    progress.phase("loading");
    let with_rows: std::collections::BTreeMap<String, Arc<dyn RowSource>> = sources
        .iter()
        .map(|(name, source)| (name.clone(), source.clone()))
        .collect();
    // Largest tables first, so that the parallel workers finish together.
    let mut order: Vec<&String> = profile.tables.keys().collect();
    order.sort_by_key(|name| std::cmp::Reverse(with_rows.get(*name).map(|s| s.rows()).unwrap_or(0)));
    let queue: Arc<Mutex<VecDeque<String>>> = Arc::new(Mutex::new(order.into_iter().cloned().collect()));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..options.jobs.max(1) {
        let mut connection = target.connect().await?;
        let (queue, with_rows, progress) = (queue.clone(), with_rows.clone(), progress.clone());
        let profile_tables: Arc<std::collections::BTreeMap<String, String>> = Arc::new(
            profile
                .tables
                .iter()
                .map(|(name, table)| (name.clone(), schema::create_table(table, build)))
                .collect(),
        );
        let build = build.to_string();
        let out_dir = options.out_dir.clone();
        let columns: std::collections::BTreeMap<String, Vec<String>> = plan
            .tables
            .iter()
            .map(|t| (t.name.clone(), t.columns.iter().map(|c| c.name.clone()).collect()))
            .collect();
        workers.spawn(async move {
            let mut reports = Vec::new();
            execute(
                &mut connection,
                &format!(
                    "set search_path = {}, pg_catalog; set client_min_messages = warning",
                    quote_ident(&build)
                ),
                "configuring a worker",
            )
            .await?;
            loop {
                let next = queue.lock().expect("queue lock").pop_front();
                let Some(name) = next else { break };
                let started = Instant::now();
                execute(&mut connection, "begin", "starting a load transaction").await?;
                execute(
                    &mut connection,
                    &profile_tables[&name],
                    &format!("creating table {name}"),
                )
                .await?;
                let mut report = TableReport {
                    table: name.clone(),
                    rows: 0,
                    seconds: 0.0,
                    checksum: format!("{:x}", Sha256::new().finalize()),
                };
                if let Some(source) = with_rows.get(&name) {
                    progress.table_started(&name, source.rows());
                    let csv = out_dir
                        .as_ref()
                        .map(|dir| (dir.join(format!("{name}.csv")), columns[&name].clone()));
                    let (rows, checksum) = copy_table(
                        &mut connection,
                        &build,
                        &name,
                        source.clone(),
                        csv,
                        progress.clone(),
                    )
                    .await?;
                    report.rows = rows;
                    report.checksum = checksum;
                    progress.table_finished(&name);
                }
                execute(&mut connection, "commit", &format!("committing table {name}")).await?;
                report.seconds = started.elapsed().as_secs_f64();
                reports.push(report);
            }
            Ok::<_, GenerateError>((connection, reports))
        });
    }
    let mut connections = Vec::new();
    let mut reports = Vec::new();
    while let Some(joined) = workers.join_next().await {
        match joined {
            Ok(Ok((connection, mut done))) => {
                connections.push(connection);
                reports.append(&mut done);
            }
            Ok(Err(error)) => {
                workers.abort_all();
                return Err(error);
            }
            Err(error) => return Err(GenerateError::query("a loading worker failed", error)),
        }
    }
    reports.sort_by(|a, b| a.table.cmp(&b.table));

    // Phase 1b: the quirks of --quirks, inside the build schema, before any key or index exists.
    let quirk_reports = apply_quirks(coordinator, profile, options, build, &mut reports, &progress).await?;

    // Phase 2: keys, checks and indexes per table in parallel; foreign keys; sequences; statistics.
    progress.phase("indexing");
    for statement in &owned_by {
        execute(coordinator, statement, "attaching sequences").await?;
    }
    let (per_table, foreign_keys) = schema::constraint_statements(profile, build);
    let mut analyze: Vec<Vec<String>> = reports
        .iter()
        .filter(|r| r.rows > 0)
        .map(|r| vec![format!("analyze {b}.{}", quote_ident(&r.table))])
        .collect();
    run_parallel(&mut connections, per_table).await?;
    for statement in &foreign_keys {
        execute(coordinator, statement, "adding foreign keys").await?;
    }
    for statement in sequence_positions(profile, build, &reports) {
        execute(
            coordinator,
            &statement,
            "moving sequences past the generated keys",
        )
        .await?;
    }
    progress.phase("analyzing");
    analyze.sort();
    run_parallel(&mut connections, analyze).await?;
    for connection in connections {
        let _ = connection.close().await;
    }

    // Phase 3: swap the build schema in and record the manifest, in one transaction.
    progress.phase("swapping");
    let s = quote_ident(&options.schema);
    let old = quote_ident(&format!("dentsynth_old_{}", options.schema));
    let mut swap = String::from("begin;\n");
    swap.push_str(&format!("drop schema if exists {old} cascade;\n"));
    swap.push_str(&format!(
        "do $$ begin if exists (select 1 from pg_namespace where nspname = {}) then execute 'alter schema {} rename to {}'; end if; end $$;\n",
        quote_literal(&options.schema),
        s.replace('\'', "''"),
        old.replace('\'', "''")
    ));
    swap.push_str(&format!("alter schema {b} rename to {s};\n"));
    swap.push_str(&format!("drop schema if exists {old} cascade;\n"));
    swap.push_str(&manifest_sql(
        profile,
        options,
        adaptations,
        &reports,
        &quirk_reports,
    ));
    swap.push_str("commit;\n");
    execute(coordinator, &swap, "swapping the new schema in").await?;
    Ok((reports, quirk_reports))
}

/// Runs the statements of `--quirks` in the build schema (in catalogue order, each committed on its
/// own: a failure drops the whole build schema), then recomputes the row count and checksum of every
/// table they changed, and rewrites its CSV file when there is an --out-dir.
async fn apply_quirks(
    connection: &mut PgConnection,
    profile: &Profile,
    options: &Options,
    build: &str,
    reports: &mut [TableReport],
    progress: &Arc<dyn Progress>,
) -> Result<Vec<QuirkReport>, GenerateError> {
    if options.quirks == quirks::Mode::None {
        return Ok(Vec::new());
    }
    progress.phase("quirks");
    let rows: BTreeMap<String, u64> = reports.iter().map(|r| (r.table.clone(), r.rows)).collect();
    let planned = quirks::plan(options.quirks, profile, build, options.seed, &rows);
    let mut applied = Vec::new();
    for step in &planned {
        let context = format!("applying quirk {}", step.quirk.id);
        let done = sqlx::Executor::execute(&mut *connection, step.sql.as_str())
            .await
            .map_err(|error| match &error {
                sqlx::Error::Database(e) => GenerateError::query(&context, e.message()),
                other => GenerateError::query(&context, other),
            })?;
        applied.push(QuirkReport {
            id: step.quirk.id.to_string(),
            table: step.quirk.table.to_string(),
            column: step.quirk.column.to_string(),
            rate: step.quirk.rate(),
            target: step.target,
            rows: done.rows_affected(),
        });
    }
    // Output settings pinned, so that the COPY text (and so the checksum) never depends on the server's.
    execute(
        connection,
        "set datestyle = 'ISO, MDY'; set intervalstyle = 'postgres'; set extra_float_digits = 1; set timezone = 'UTC'",
        "pinning the output settings",
    )
    .await?;
    for table in quirks::touched_tables(&planned) {
        let started = Instant::now();
        let select = ordered_select(profile, build, &table);
        let mut hasher = Sha256::new();
        let mut rows = 0u64;
        copy_out(
            connection,
            &format!("copy ({select}) to stdout"),
            &format!("checksumming table {table}"),
            |chunk| {
                rows += chunk.iter().filter(|b| **b == b'\n').count() as u64;
                hasher.update(chunk);
                Ok(())
            },
        )
        .await?;
        if let Some(dir) = &options.out_dir {
            let path = dir.join(format!("{table}.csv"));
            let mut file =
                std::io::BufWriter::new(fs::File::create(&path).map_err(|e| write_error(&path, e))?);
            copy_out(
                connection,
                &format!("copy ({select}) to stdout with (format csv, header true)"),
                &format!("rewriting {}", path.display()),
                |chunk| file.write_all(chunk).map_err(|e| write_error(&path, e)),
            )
            .await?;
            file.flush().map_err(|e| write_error(&path, e))?;
        }
        if let Some(report) = reports.iter_mut().find(|r| r.table == table) {
            report.rows = rows;
            report.checksum = format!("{:x}", hasher.finalize());
            report.seconds += started.elapsed().as_secs_f64();
        }
    }
    Ok(applied)
}

/// `select * from <build>.<table> order by <primary key>` (every column when there is no key).
fn ordered_select(profile: &Profile, build: &str, table: &str) -> String {
    let structure = &profile.tables[table].structure;
    let order: Vec<String> = match &structure.primary_key {
        Some(key) if !key.columns.is_empty() => key.columns.iter().map(|c| quote_ident(c)).collect(),
        _ => (1..=structure.columns.len()).map(|i| i.to_string()).collect(),
    };
    format!(
        "select * from {}.{} order by {}",
        quote_ident(build),
        quote_ident(table),
        order.join(", ")
    )
}

/// Streams `COPY ... TO STDOUT` into `sink`, chunk by chunk (memory stays bounded at any scale).
async fn copy_out(
    connection: &mut PgConnection,
    statement: &str,
    context: &str,
    mut sink: impl FnMut(&[u8]) -> Result<(), GenerateError>,
) -> Result<(), GenerateError> {
    let mut stream = connection
        .copy_out_raw(statement)
        .await
        .map_err(|e| GenerateError::query(context, e))?;
    while let Some(chunk) = std::future::poll_fn(|cx| stream.as_mut().poll_next(cx)).await {
        let chunk = chunk.map_err(|e| GenerateError::query(context, e))?;
        sink(&chunk)?;
    }
    Ok(())
}

/// Runs groups of statements over the connections: each group in order on one connection.
async fn run_parallel(
    connections: &mut Vec<PgConnection>,
    groups: Vec<Vec<String>>,
) -> Result<(), GenerateError> {
    let queue = Arc::new(Mutex::new(VecDeque::from(groups)));
    let mut workers = tokio::task::JoinSet::new();
    for mut connection in connections.drain(..) {
        let queue = queue.clone();
        workers.spawn(async move {
            loop {
                let next = queue.lock().expect("queue lock").pop_front();
                let Some(group) = next else { break };
                for statement in group {
                    execute(&mut connection, &statement, "adding keys and indexes").await?;
                }
            }
            Ok::<_, GenerateError>(connection)
        });
    }
    while let Some(joined) = workers.join_next().await {
        match joined {
            Ok(Ok(connection)) => connections.push(connection),
            Ok(Err(error)) => {
                workers.abort_all();
                return Err(error);
            }
            Err(error) => return Err(GenerateError::query("an indexing worker failed", error)),
        }
    }
    Ok(())
}

/// Streams one table's rows into `COPY ... FROM STDIN WITH (FREEZE)` (allowed because the table was
/// created in the same transaction: the rows are written frozen, so no vacuum has to revisit them).
async fn copy_table(
    connection: &mut PgConnection,
    build: &str,
    table: &str,
    source: Arc<dyn RowSource>,
    csv: Option<(std::path::PathBuf, Vec<String>)>,
    progress: Arc<dyn Progress>,
) -> Result<(u64, String), GenerateError> {
    let statement = format!(
        "copy {}.{} from stdin with (freeze)",
        quote_ident(build),
        quote_ident(table)
    );
    let context = format!("loading table {table}");
    let mut copy = connection
        .copy_in_raw(&statement)
        .await
        .map_err(|e| GenerateError::query(&context, e))?;
    let mut encoded = encode(table.to_string(), source, csv, progress, true);
    while let Some(chunk) = encoded.receiver.recv().await {
        if let Err(error) = copy.send(chunk.into_bytes()).await {
            encoded.receiver.close();
            let _ = copy.abort("dentsynth: generation failed").await;
            return Err(GenerateError::query(&context, error));
        }
    }
    let result = encoded
        .done
        .await
        .map_err(|e| GenerateError::query(&context, e))?;
    match result {
        Ok(outcome) => {
            copy.finish()
                .await
                .map_err(|e| GenerateError::query(&context, e))?;
            Ok(outcome)
        }
        Err(error) => {
            let _ = copy.abort("dentsynth: generation failed").await;
            Err(error)
        }
    }
}

/// `setval` for every sequence whose column got rows: owned sequences, and the `<table>_<Column>_seq`
/// naming convention for sequences that no column owns.
fn sequence_positions(profile: &Profile, build: &str, reports: &[TableReport]) -> Vec<String> {
    let rows: std::collections::BTreeMap<&str, u64> =
        reports.iter().map(|r| (r.table.as_str(), r.rows)).collect();
    let mut statements = Vec::new();
    for sequence in &profile.sequences {
        let owner = sequence
            .owned_by
            .clone()
            .and_then(|o| o.split_once('.').map(|(t, c)| (t.to_string(), c.to_string())));
        let owner = owner.or_else(|| {
            profile.tables.values().find_map(|table| {
                table.structure.columns.iter().find_map(|column| {
                    (format!("{}_{}_seq", table.name, column.name) == sequence.name)
                        .then(|| (table.name.clone(), column.name.clone()))
                })
            })
        });
        let Some((table, column)) = owner else { continue };
        if rows.get(table.as_str()).copied().unwrap_or(0) == 0 {
            continue;
        }
        statements.push(format!(
            "select setval({}, greatest((select max({})::bigint from {}.{}), 1))",
            quote_literal(&format!("{}.{}", quote_ident(build), quote_ident(&sequence.name))),
            quote_ident(&column),
            quote_ident(build),
            quote_ident(&table)
        ));
    }
    statements
}

/// The run manifest: schema `dentsynth`, one row per generated schema and one per table.
fn manifest_sql(
    profile: &Profile,
    options: &Options,
    adaptations: &[Adaptation],
    reports: &[TableReport],
    quirk_reports: &[QuirkReport],
) -> String {
    let arguments = serde_json::json!({
        "seed": options.seed,
        "scale": options.scale,
        "as_of": options.as_of.to_string(),
        "months": options.months,
        "schema": options.schema,
        "profile": options.profile_name,
        "adaptations": adaptations,
        "quirks": options.quirks.as_str(),
    });
    let schema = quote_literal(&options.schema);
    let mut sql = String::from(
        "create schema if not exists dentsynth;
create table if not exists dentsynth.manifest (
    schema_name text primary key, tool_version text not null, arguments jsonb not null,
    profile_name text not null, profile_hash text not null, source_database text not null, total_rows bigint not null);
create table if not exists dentsynth.manifest_table (
    schema_name text not null, table_name text not null, row_count bigint not null, checksum text not null,
    primary key (schema_name, table_name));
create table if not exists dentsynth.manifest_quirk (
    schema_name text not null, quirk_id text not null, table_name text not null, column_name text not null,
    rate double precision not null, target_rows bigint not null, row_count bigint not null,
    primary key (schema_name, quirk_id));\n",
    );
    sql.push_str(&format!(
        "delete from dentsynth.manifest_table where schema_name = {schema};\n"
    ));
    sql.push_str(&format!(
        "delete from dentsynth.manifest_quirk where schema_name = {schema};\n"
    ));
    sql.push_str(&format!(
        "delete from dentsynth.manifest where schema_name = {schema};\n"
    ));
    sql.push_str(&format!(
        "insert into dentsynth.manifest values ({schema}, {}, {}::jsonb, {}, {}, {}, {});\n",
        quote_literal(env!("CARGO_PKG_VERSION")),
        quote_literal(&arguments.to_string()),
        quote_literal(&options.profile_name),
        quote_literal(&options.profile_hash),
        quote_literal(&profile.source.database),
        reports.iter().map(|r| r.rows).sum::<u64>()
    ));
    for chunk in reports.chunks(200) {
        let values: Vec<String> = chunk
            .iter()
            .map(|r| {
                format!(
                    "({schema}, {}, {}, {})",
                    quote_literal(&r.table),
                    r.rows,
                    quote_literal(&r.checksum)
                )
            })
            .collect();
        sql.push_str(&format!(
            "insert into dentsynth.manifest_table values {};\n",
            values.join(", ")
        ));
    }
    for quirk in quirk_reports {
        sql.push_str(&format!(
            "insert into dentsynth.manifest_quirk values ({schema}, {}, {}, {}, {}, {}, {});\n",
            quote_literal(&quirk.id),
            quote_literal(&quirk.table),
            quote_literal(&quirk.column),
            quirk.rate,
            quirk.target,
            quirk.rows
        ));
    }
    sql
}

/// A psql script that loads the CSV files of `--out-dir` (the same recipe: tables, data, keys).
fn load_script(profile: &Profile, plan: &Plan, schema_name: &str) -> String {
    let mut script = format!(
        "-- Load the dentsynth CSV files in this folder: psql \"$DATABASE_URL\" -v ON_ERROR_STOP=1 -f load.sql\n\\set ON_ERROR_STOP on\ncreate schema if not exists {0};\nset search_path = {0}, pg_catalog;\n",
        quote_ident(schema_name)
    );
    for statement in schema::create_statements(profile, schema_name) {
        script.push_str(&statement);
        script.push_str(";\n");
    }
    for table in plan.tables.iter().filter(|t| t.rows > 0) {
        script.push_str(&format!(
            "\\copy {}.{} from '{}.csv' with (format csv, header true)\n",
            quote_ident(schema_name),
            quote_ident(&table.name),
            table.name
        ));
    }
    let (per_table, foreign_keys) = schema::constraint_statements(profile, schema_name);
    for statement in per_table.into_iter().flatten().chain(foreign_keys) {
        script.push_str(&statement);
        script.push_str(";\n");
    }
    script.push_str("analyze;\n");
    script
}
