//! introspect: the production schema and its aggregate statistics -> `Profile`.
//!
//! The only stage that touches production. Everything runs in READ ONLY, REPEATABLE READ
//! transactions that share one exported snapshot (one coordinator, `jobs` workers), with a
//! statement timeout and a lock timeout. Nothing is created, written or explicitly locked in the
//! source; a role with USAGE on the schema and SELECT on its tables is enough.
//!
//! Must not import `generate` or `verify`, and must never put a value of an identifying column into
//! the profile (see `privacy`).

mod behaviour;
mod opendental;
mod privacy;
mod relationships;
mod stats;
mod structure;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::{Connection, PgConnection, Row};

use crate::db::{quote_ident, DbError, Target};
use crate::profile::{
    Profile, ReferenceData, Relationship, Settings, Source, Table, TableStructure, FORMAT_VERSION,
};

pub use relationships::CONFIRM_INCLUSION;

/// The documented default list of OpenDental reference (configuration) tables.
pub const OPENDENTAL_REFERENCE_TABLES: &[&str] = &[
    "appointmenttype",
    "apptview",
    "autocode",
    "autocodeitem",
    "covcat",
    "covspan",
    "definition",
    "feesched",
    "procedurecode",
    "recalltrigger",
    "recalltype",
];

/// What to introspect and how.
#[derive(Debug, Clone)]
pub struct Options {
    /// The profile's name (its folder name under introspection/).
    pub name: String,
    pub schema: String,
    pub min_group_size: u64,
    /// Sample tables with more rows than this.
    pub sample_rows: Option<u64>,
    /// Tables to copy verbatim.
    pub reference_tables: Vec<String>,
    pub reference_max_rows: u64,
    pub statement_timeout: Duration,
    /// Worker connections besides the coordinator.
    pub jobs: usize,
    /// The source is a throw-away copy (a fixture): do not record its system identifier.
    pub fixture: bool,
}

/// Why introspection failed. Each message is one line naming the problem and the fix.
#[derive(Debug, thiserror::Error)]
pub enum IntrospectError {
    #[error(transparent)]
    Connect(#[from] DbError),
    #[error(
        "schema {schema:?} does not exist in database {database:?}: pass --schema with an existing schema"
    )]
    MissingSchema { schema: String, database: String },
    #[error("schema {schema:?} has no tables (or this role cannot see them): check --schema and the role's USAGE privilege")]
    EmptySchema { schema: String },
    #[error("permission denied while {context}: {message}; grant SELECT on every table of the schema to this role")]
    PermissionDenied { context: String, message: String },
    #[error("statement timeout while {context}: raise --statement-timeout or lower --sample-rows")]
    Timeout { context: String },
    #[error("lock timeout while {context}: another session holds an exclusive lock; try again later")]
    Locked { context: String },
    #[error("query failed while {context}: {message}")]
    Query { context: String, message: String },
    #[error("reference table {table:?} refused: {reason}")]
    ReferenceRefused { table: String, reason: String },
}

/// Shared, read-only state of one introspection run.
pub(crate) struct Session {
    pub schema: String,
    pub options: Options,
}

impl Session {
    /// Classifies a query error with what was being done.
    pub(crate) fn error(&self, error: sqlx::Error, context: &str) -> IntrospectError {
        let context = context.to_string();
        if let sqlx::Error::Database(database_error) = &error {
            let message = database_error.message().to_string();
            return match database_error.code().as_deref() {
                Some("42501") => IntrospectError::PermissionDenied { context, message },
                Some("57014") => IntrospectError::Timeout { context },
                Some("55P03") => IntrospectError::Locked { context },
                _ => IntrospectError::Query { context, message },
            };
        }
        IntrospectError::Query {
            context,
            message: error.to_string(),
        }
    }

    /// Opens a READ ONLY, REPEATABLE READ transaction with the timeouts and the search path set;
    /// imports `snapshot` when given.
    async fn begin(
        &self,
        connection: &mut PgConnection,
        snapshot: Option<&str>,
    ) -> Result<(), IntrospectError> {
        let mut statements = vec!["begin isolation level repeatable read read only".to_string()];
        if let Some(snapshot) = snapshot {
            statements.push(format!(
                "set transaction snapshot {}",
                crate::db::quote_literal(snapshot)
            ));
        }
        statements.push(format!(
            "set local statement_timeout = {}",
            self.options.statement_timeout.as_millis().max(1)
        ));
        statements.push("set local lock_timeout = 10000".to_string());
        statements.push(format!(
            "set local search_path = {}, pg_catalog",
            quote_ident(&self.schema)
        ));
        statements.push("set local extra_float_digits = 0".to_string());
        for statement in statements {
            sqlx::query(&statement)
                .execute(&mut *connection)
                .await
                .map_err(|error| self.error(error, "opening the read-only transaction"))?;
        }
        Ok(())
    }
}

/// One unit of work for the worker connections.
enum Work {
    Table(String),
    Relationship(usize),
}

enum Done {
    Table(String, Table),
    Relationship(usize, Relationship),
}

/// Reads the structure, relationships and statistics of `options.schema` into a profile.
pub async fn introspect(target: &Target, options: &Options) -> Result<Profile, IntrospectError> {
    let session = Arc::new(Session {
        schema: options.schema.clone(),
        options: options.clone(),
    });
    let mut coordinator = target.connect().await?;
    session.begin(&mut coordinator, None).await?;

    let (database, version, visible_identifier): (String, String, bool) = sqlx::query_as(
        "select current_database()::text, current_setting('server_version'),
                has_function_privilege('pg_catalog.pg_control_system()', 'execute')",
    )
    .fetch_one(&mut coordinator)
    .await
    .map_err(|error| session.error(error, "reading the server's identity"))?;
    let system_identifier: Option<String> = if visible_identifier && !options.fixture {
        sqlx::query_scalar("select system_identifier::text from pg_catalog.pg_control_system()")
            .fetch_one(&mut coordinator)
            .await
            .map_err(|error| session.error(error, "reading the system identifier"))?
    } else {
        None
    };
    let schema_exists: bool =
        sqlx::query_scalar("select exists (select 1 from pg_catalog.pg_namespace where nspname = $1)")
            .bind(&options.schema)
            .fetch_one(&mut coordinator)
            .await
            .map_err(|error| session.error(error, "looking up the schema"))?;
    if !schema_exists {
        return Err(IntrospectError::MissingSchema {
            schema: options.schema.clone(),
            database,
        });
    }
    let snapshot: String = sqlx::query_scalar("select pg_catalog.pg_export_snapshot()")
        .fetch_one(&mut coordinator)
        .await
        .map_err(|error| session.error(error, "exporting the snapshot"))?;

    let structures = structure::read_tables(&session, &mut coordinator).await?;
    if structures.is_empty() {
        return Err(IntrospectError::EmptySchema {
            schema: options.schema.clone(),
        });
    }
    let sequences = structure::read_sequences(&session, &mut coordinator).await?;
    let table_names: BTreeSet<String> = structures.keys().cloned().collect();
    let map = opendental::Map::load();
    let is_opendental = opendental::looks_like_opendental(&map, &table_names);
    let map = is_opendental.then_some(map);
    let candidates = relationships::candidates(&structures, map.as_ref());

    // Refuse bad reference tables before any statistics are read.
    for table in &options.reference_tables {
        check_reference_table(&session, &mut coordinator, table, &structures, &candidates).await?;
    }

    let structures = Arc::new(structures);
    let map = Arc::new(map);
    let mut row_counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut tables: BTreeMap<String, Table> = BTreeMap::new();

    // Phase 1: statistics of every table; phase 2: relationships (they need the row counts).
    let table_work: VecDeque<Work> = structures.keys().map(|name| Work::Table(name.clone())).collect();
    for done in run_workers(
        target,
        &session,
        &snapshot,
        table_work,
        &structures,
        &map,
        &row_counts,
        &candidates,
    )
    .await?
    {
        if let Done::Table(name, table) = done {
            row_counts.insert(name.clone(), table.stats.row_count);
            tables.insert(name, table);
        }
    }
    let relationship_work: VecDeque<Work> = (0..candidates.len()).map(Work::Relationship).collect();
    let mut confirmed: Vec<Option<Relationship>> = vec![None; candidates.len()];
    for done in run_workers(
        target,
        &session,
        &snapshot,
        relationship_work,
        &structures,
        &map,
        &row_counts,
        &candidates,
    )
    .await?
    {
        if let Done::Relationship(index, relationship) = done {
            confirmed[index] = Some(relationship);
        }
    }
    let relationships: Vec<Relationship> = confirmed.into_iter().flatten().collect();

    for name in &options.reference_tables {
        let reference = reference_rows(&session, &mut coordinator, name, &structures[name]).await?;
        if let Some(table) = tables.get_mut(name) {
            table.reference = Some(reference);
        }
    }
    let behaviour = if is_opendental {
        behaviour::measure(&session, &mut coordinator, &structures).await?
    } else {
        BTreeMap::new()
    };
    let _ = coordinator.close().await;

    Ok(Profile {
        format_version: FORMAT_VERSION,
        name: options.name.clone(),
        source: Source {
            description: format!(
                "PostgreSQL {} database {database}, schema {}",
                version.split(['.', ' ']).next().unwrap_or_default(),
                options.schema
            ),
            database,
            system_identifier,
            schema: options.schema.clone(),
            server_version: version.split(['.', ' ']).next().unwrap_or_default().to_string(),
            opendental: is_opendental,
        },
        settings: Settings {
            min_group_size: options.min_group_size,
            sample_rows: options.sample_rows,
            calibration: Vec::new(),
        },
        sequences,
        relationships,
        behaviour,
        tables,
    })
}

/// Runs work items over `jobs` connections that all import the coordinator's snapshot.
#[allow(clippy::too_many_arguments)]
async fn run_workers(
    target: &Target,
    session: &Arc<Session>,
    snapshot: &str,
    work: VecDeque<Work>,
    structures: &Arc<BTreeMap<String, TableStructure>>,
    map: &Arc<Option<opendental::Map>>,
    row_counts: &BTreeMap<String, u64>,
    candidates: &[Relationship],
) -> Result<Vec<Done>, IntrospectError> {
    let queue = Arc::new(Mutex::new(work));
    let row_counts = Arc::new(row_counts.clone());
    let candidates = Arc::new(candidates.to_vec());
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..session.options.jobs.max(1) {
        let mut connection = target.connect().await?;
        session.begin(&mut connection, Some(snapshot)).await?;
        let (queue, session, structures, map, row_counts, candidates) = (
            queue.clone(),
            session.clone(),
            structures.clone(),
            map.clone(),
            row_counts.clone(),
            candidates.clone(),
        );
        workers.spawn(async move {
            let mut done = Vec::new();
            loop {
                let next = queue.lock().expect("queue lock").pop_front();
                let Some(item) = next else { break };
                match item {
                    Work::Table(name) => {
                        let structure = &structures[&name];
                        let mapped = |column: &str| {
                            map.as_ref()
                                .as_ref()
                                .is_some_and(|m| m.is_categorical(&name, column))
                        };
                        let stats =
                            stats::table_stats(&session, &mut connection, &name, structure, &mapped).await?;
                        done.push(Done::Table(
                            name.clone(),
                            Table {
                                name,
                                structure: structure.clone(),
                                stats,
                                reference: None,
                            },
                        ));
                    }
                    Work::Relationship(index) => {
                        let relationship = relationships::confirm(
                            &session,
                            &mut connection,
                            candidates[index].clone(),
                            &structures,
                            &row_counts,
                        )
                        .await?;
                        done.push(Done::Relationship(index, relationship));
                    }
                }
            }
            let _ = connection.close().await;
            Ok::<_, IntrospectError>(done)
        });
    }
    let mut all = Vec::new();
    while let Some(result) = workers.join_next().await {
        match result {
            Ok(Ok(done)) => all.extend(done),
            Ok(Err(error)) => {
                workers.abort_all();
                return Err(error);
            }
            Err(join_error) => {
                return Err(IntrospectError::Query {
                    context: "running a worker".to_string(),
                    message: join_error.to_string(),
                })
            }
        }
    }
    Ok(all)
}

/// A reference table must exist, hold no patient key and be small.
async fn check_reference_table(
    session: &Session,
    connection: &mut PgConnection,
    table: &str,
    structures: &BTreeMap<String, TableStructure>,
    candidates: &[Relationship],
) -> Result<(), IntrospectError> {
    let refused = |reason: String| IntrospectError::ReferenceRefused {
        table: table.to_string(),
        reason,
    };
    let Some(structure) = structures.get(table) else {
        return Err(refused(format!("no such table in schema {}", session.schema)));
    };
    let patient_tables = ["patient", "patients", "person", "people"];
    let patient_key = structure.columns.iter().find(|column| {
        let lower = column.name.to_ascii_lowercase();
        lower.contains("patnum")
            || lower.contains("patient")
            || lower == "guarantor"
            || candidates.iter().any(|r| {
                r.child_table == table
                    && r.child_column == column.name
                    && patient_tables.contains(&r.parent_table.as_str())
            })
    });
    if let Some(column) = patient_key {
        return Err(refused(format!(
            "column {} refers to patients; only configuration tables without patient data can be copied",
            column.name
        )));
    }
    let rows = stats::row_count(session, connection, table).await?;
    if rows > session.options.reference_max_rows {
        return Err(refused(format!(
            "{rows} rows is more than --reference-max-rows {}; raise it if this really is a lookup table",
            session.options.reference_max_rows
        )));
    }
    Ok(())
}

/// Copies a reference table verbatim, as text, ordered by its primary key (or all columns).
async fn reference_rows(
    session: &Session,
    connection: &mut PgConnection,
    table: &str,
    structure: &TableStructure,
) -> Result<ReferenceData, IntrospectError> {
    let columns: Vec<String> = structure.columns.iter().map(|c| c.name.clone()).collect();
    let select: Vec<String> = columns
        .iter()
        .map(|c| format!("{}::text", quote_ident(c)))
        .collect();
    let order: Vec<String> = match &structure.primary_key {
        Some(pk) => pk.columns.iter().map(|c| quote_ident(c)).collect(),
        None => (1..=columns.len()).map(|i| i.to_string()).collect(),
    };
    let sql = format!(
        "select {} from {}.{} order by {}",
        select.join(", "),
        quote_ident(&session.schema),
        quote_ident(table),
        order.join(", ")
    );
    let rows = sqlx::query(&sql)
        .fetch_all(&mut *connection)
        .await
        .map_err(|error| session.error(error, &format!("copying reference table {table}")))?;
    let rows = rows
        .iter()
        .map(|row| {
            (0..columns.len())
                .map(|i| row.try_get::<Option<String>, _>(i).ok().flatten())
                .collect()
        })
        .collect();
    Ok(ReferenceData {
        columns,
        rows,
        note: None,
    })
}
