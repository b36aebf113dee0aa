//! fidelity: how closely a generated demo reproduces the profile it was generated from.
//!
//! For every table with a row target above 0 at the scale (`generate::plan`, the targets generate
//! uses), the engine measures in the database, and compares with the profile:
//! - the volume (row count vs the plan's target);
//! - per column: the null share (nullable columns), each sentinel's share, the categorical mix, and
//!   the weekday, month-of-year and hour-of-day mixes of dates and timestamps;
//! - per relationship with a children-per-parent distribution (not rejected): the mean number of
//!   children per parent that has any, and the share of parents without a child.
//!
//! Tolerances and the sample-size rule are in `math`. Values are compared as text the way
//! introspect records them (`value::text`, with `extra_float_digits = 0`), numbers by value and
//! booleans by truth, so that an authored "1.50" matches a demo's 1.5.
//!
//! One READ ONLY, REPEATABLE READ snapshot, exported by a coordinator and shared by worker
//! connections; two queries per table (one aggregate for the row count and every null and sentinel
//! share, one grouping-sets query for every mix) and one per relationship. The module never formats
//! text for people (that is `report::fidelity`), and from the other stages it uses only
//! `generate::plan`.

pub mod math;

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use sqlx::{Connection, PgConnection, Row};

use crate::db::{quote_ident, quote_literal, DbError, Target};
use crate::generate::plan;
use crate::profile::{self, ColumnKind, Profile, Relationship, Verdict as RelationshipVerdict};

/// How to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub schema: String,
    /// The scale the demo was generated at; None = the dentsynth manifest's.
    pub scale: Option<f64>,
    /// Only these tables (and relationships touching them); empty = every table.
    pub tables: Vec<String>,
    /// Worker connections.
    pub jobs: usize,
    pub statement_timeout: Duration,
}

/// Where the scale came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ScaleSource {
    Argument,
    Manifest,
}

/// What a statistic measures, which decides its tolerance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A row count: 10% relative, at least one row.
    Volume,
    /// A share of rows or parents: 10% relative, at least 0.01.
    Rate,
    /// A mean (children per parent): 10% relative, at least 0.01.
    Mean,
    /// A categorical or calendar mix: total variation distance at most 0.03.
    Mix,
}

/// Who wrote the target: authored by calibration (the profile carries a note), or measured by
/// introspect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Provenance {
    Authored,
    Measured,
}

impl Provenance {
    fn of(note: Option<&String>) -> Self {
        if note.is_some() {
            Self::Authored
        } else {
            Self::Measured
        }
    }
}

/// The outcome of one statistic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Within,
    Outside,
    /// Out of tolerance on purpose: the generator recorded in its manifest that it departs from
    /// the profile here, and why (`adaptation`). Not counted as a pass, nor as a miss.
    Adapted,
    /// The demo's population is below what the tolerance needs (never counted as a pass).
    NotJudged,
}

/// A target or an achieved value: a number, or shares by category.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Number(f64),
    Shares(BTreeMap<String, f64>),
}

/// The label under which a mix pools values the profile does not list.
pub const OTHER: &str = "(other)";

/// One compared statistic.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Statistic {
    pub table: String,
    /// The column (for relationships: the child's key column); None for the volume.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// `rows`, `nulls`, `sentinel '0'`, `mix`, `weekday mix`, `month mix`, `hour mix`,
    /// `children per parent`, `parents without children`.
    pub statistic: String,
    /// Relationships: the parent key, `table.column`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    pub kind: Kind,
    pub origin: Provenance,
    pub target: Value,
    /// None when the demo has no population to measure it over.
    pub achieved: Option<Value>,
    /// |achieved - target| (rows, share or mean), or the total variation distance of a mix.
    pub deviation: Option<f64>,
    /// The largest deviation within tolerance, in the same unit.
    pub tolerance: f64,
    /// What the statistic is measured over in the demo: rows, non-null rows, dated rows, parents.
    pub population: u64,
    /// The population the statistic needs to be judged (0 for volumes: always judged).
    pub required: u64,
    pub verdict: Verdict,
    /// Why the generator departs from the profile here (verdict `adapted`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adaptation: Option<String>,
}

impl Value {
    fn rounded(self) -> Self {
        match self {
            Value::Number(number) => Value::Number(profile::round(number)),
            Value::Shares(shares) => Value::Shares(
                shares
                    .into_iter()
                    .map(|(label, share)| (label, profile::round(share)))
                    .collect(),
            ),
        }
    }
}

impl Statistic {
    fn rounded(self) -> Self {
        Self {
            target: self.target.rounded(),
            achieved: self.achieved.map(Value::rounded),
            deviation: self.deviation.map(profile::round),
            tolerance: profile::round(self.tolerance),
            ..self
        }
    }

    /// An out-of-tolerance statistic the generator departs from on purpose becomes `Adapted`:
    /// the volume matches an adaptation of `rows`, a column's statistics one of that column.
    fn adapted(mut self, adaptations: &[Adaptation]) -> Self {
        if self.verdict != Verdict::Outside {
            return self;
        }
        let found = adaptations.iter().find(|a| {
            a.table == self.table
                && match &self.column {
                    None => a.statistic == "rows",
                    Some(column) => a.statistic == *column,
                }
        });
        if let Some(adaptation) = found {
            self.verdict = Verdict::Adapted;
            self.adaptation = Some(adaptation.reason.clone());
        }
        self
    }

    /// `appointment.AptStatus mix`, for messages.
    pub fn label(&self) -> String {
        let mut label = match &self.column {
            Some(column) => format!("{}.{} {}", self.table, column, self.statistic),
            None => format!("{} {}", self.table, self.statistic),
        };
        if let Some(parent) = &self.parent {
            label.push_str(&format!(" of {parent}"));
        }
        label
    }
}

/// The counts of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub statistics: usize,
    pub within: usize,
    pub outside: usize,
    pub adapted: usize,
    pub not_judged: usize,
}

/// The demo's manifest, when it names another profile than the one compared with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GeneratedFrom {
    pub profile_name: String,
    /// Whether the manifest's profile hash equals the compared profile's.
    pub same_content: bool,
}

/// What a run produced.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub profile: String,
    pub schema: String,
    pub scale: f64,
    pub scale_source: ScaleSource,
    /// Set when the dentsynth manifest says the demo came from a different profile (or content).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated_from: Option<GeneratedFrom>,
    /// Sorted by table, column, statistic.
    pub statistics: Vec<Statistic>,
}

impl Report {
    pub fn summary(&self) -> Summary {
        let count = |verdict| self.statistics.iter().filter(|s| s.verdict == verdict).count();
        Summary {
            statistics: self.statistics.len(),
            within: count(Verdict::Within),
            outside: count(Verdict::Outside),
            adapted: count(Verdict::Adapted),
            not_judged: count(Verdict::NotJudged),
        }
    }
}

/// Why the comparison could not run. Each message is one line naming the problem and the fix.
#[derive(Debug, thiserror::Error)]
pub enum FidelityError {
    #[error(transparent)]
    Connect(#[from] DbError),
    #[error("--table {table:?} is not a table of profile {profile}: name a table of the profile")]
    UnknownTable { table: String, profile: String },
    #[error("schema {schema:?} does not exist in database {database:?}: pass --schema with the schema that was generated")]
    MissingSchema { schema: String, database: String },
    #[error("schema {schema:?} has no dentsynth manifest to read the scale from: pass --scale with the scale the demo was generated at")]
    NoScale { schema: String },
    #[error("the database lacks tables of the profile: {tables} (schema {schema:?}); is this a demo generated from this profile?")]
    MissingTables { schema: String, tables: String },
    #[error("the database lacks columns of the profile: {columns} (schema {schema:?}); is this a demo generated from this profile?")]
    MissingColumns { schema: String, columns: String },
    #[error("statement timeout while {context}: raise --statement-timeout")]
    Timeout { context: String },
    #[error("query failed while {context}: {message}")]
    Query { context: String, message: String },
}

/// Measures the demo in `target` (schema `options.schema`) and compares it with `profile`.
pub async fn compare(target: &Target, profile: &Profile, options: &Options) -> Result<Report, FidelityError> {
    for table in &options.tables {
        if !profile.tables.contains_key(table) {
            return Err(FidelityError::UnknownTable {
                table: table.clone(),
                profile: profile.name.clone(),
            });
        }
    }
    let mut coordinator = target.connect().await?;
    begin(&mut coordinator, options, None).await?;
    let (database, schema_exists): (String, bool) = sqlx::query_as(
        "select current_database()::text, exists (select 1 from pg_catalog.pg_namespace where nspname = $1)",
    )
    .bind(&options.schema)
    .fetch_one(&mut coordinator)
    .await
    .map_err(|error| query_error(error, "looking up the schema"))?;
    if !schema_exists {
        return Err(FidelityError::MissingSchema {
            schema: options.schema.clone(),
            database,
        });
    }
    let manifest = read_manifest(&mut coordinator, &options.schema).await?;
    let (scale, scale_source) = match (options.scale, manifest.as_ref().and_then(|m| m.scale)) {
        (Some(scale), _) => (scale, ScaleSource::Argument),
        (None, Some(scale)) => (scale, ScaleSource::Manifest),
        (None, None) => {
            return Err(FidelityError::NoScale {
                schema: options.schema.clone(),
            })
        }
    };
    let adaptations = manifest
        .as_ref()
        .map(|m| m.adaptations.clone())
        .unwrap_or_default();
    let generated_from = manifest.and_then(|m| {
        let same_content = m.profile_hash == profile::content_hash(profile);
        (m.profile_name != profile.name || !same_content).then_some(GeneratedFrom {
            profile_name: m.profile_name,
            same_content,
        })
    });

    let catalog = read_catalog(&mut coordinator, &options.schema).await?;
    let work = Work::build(profile, &plan::build(profile, scale), &options.tables, &catalog);
    work.check_present(&catalog, &options.schema)?;

    let snapshot: String = sqlx::query_scalar("select pg_catalog.pg_export_snapshot()")
        .fetch_one(&mut coordinator)
        .await
        .map_err(|error| query_error(error, "exporting the snapshot"))?;
    let done = run_queries(target, options, &snapshot, &work).await?;
    let _ = coordinator.close().await;

    // Judged at full precision; reported, like profiles, to six significant digits.
    let mut statistics: Vec<Statistic> = work
        .assemble(done)
        .into_iter()
        .map(|statistic| statistic.rounded().adapted(&adaptations))
        .collect();
    statistics.sort_by_key(sort_key);
    Ok(Report {
        profile: profile.name.clone(),
        schema: options.schema.clone(),
        scale,
        scale_source,
        generated_from,
        statistics,
    })
}

/// Table, then the volume, then columns by name (statistics in a fixed order), relationships last.
fn sort_key(statistic: &Statistic) -> (String, u8, String, u8, String, String) {
    let order = [
        "rows",
        "nulls",
        "sentinel",
        "mix",
        "weekday mix",
        "month mix",
        "hour mix",
        "children per parent",
        "parents without children",
    ]
    .iter()
    .position(|prefix| {
        statistic.statistic == *prefix || statistic.statistic.starts_with(&format!("{prefix} '"))
    })
    .unwrap_or(9) as u8;
    let group = match (&statistic.column, &statistic.parent) {
        (None, _) => 0,
        (Some(_), None) => 1,
        (Some(_), Some(_)) => 2,
    };
    (
        statistic.table.clone(),
        group,
        statistic.column.clone().unwrap_or_default(),
        order,
        statistic.statistic.clone(),
        statistic.parent.clone().unwrap_or_default(),
    )
}

struct Manifest {
    scale: Option<f64>,
    profile_name: String,
    profile_hash: String,
    adaptations: Vec<Adaptation>,
}

/// A departure the generator recorded (`arguments -> 'adaptations'` of the manifest): the table,
/// the statistic (`rows` or a column) and why.
#[derive(Debug, Clone, serde::Deserialize)]
struct Adaptation {
    table: String,
    statistic: String,
    reason: String,
}

async fn read_manifest(
    connection: &mut PgConnection,
    schema: &str,
) -> Result<Option<Manifest>, FidelityError> {
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
    let row: Option<(Option<String>, String, String, Option<String>)> = sqlx::query_as(
        "select arguments ->> 'scale', profile_name, profile_hash, arguments ->> 'adaptations'
         from dentsynth.manifest where schema_name = $1",
    )
    .bind(schema)
    .fetch_optional(&mut *connection)
    .await
    .map_err(|error| query_error(error, "reading the dentsynth manifest"))?;
    Ok(
        row.map(|(scale, profile_name, profile_hash, adaptations)| Manifest {
            scale: scale
                .and_then(|text| text.parse::<f64>().ok())
                .filter(|s| s.is_finite() && *s > 0.0),
            profile_name,
            profile_hash,
            adaptations: adaptations
                .and_then(|text| serde_json::from_str(&text).ok())
                .unwrap_or_default(),
        }),
    )
}

/// The schema's tables and their columns' kinds (from the database, not the profile).
type Catalog = BTreeMap<String, BTreeMap<String, ColumnKind>>;

async fn read_catalog(connection: &mut PgConnection, schema: &str) -> Result<Catalog, FidelityError> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "select c.relname::text, a.attname::text, t.typname::text
         from pg_catalog.pg_class c
         join pg_catalog.pg_namespace n on n.oid = c.relnamespace
         join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
         join pg_catalog.pg_type t on t.oid = a.atttypid
         where n.nspname = $1 and c.relkind in ('r', 'p', 'v', 'm', 'f')",
    )
    .bind(schema)
    .fetch_all(&mut *connection)
    .await
    .map_err(|error| query_error(error, "listing the tables"))?;
    let mut catalog = Catalog::new();
    for (table, column, udt) in rows {
        catalog
            .entry(table)
            .or_default()
            .insert(column, ColumnKind::from_udt(&udt));
    }
    Ok(catalog)
}

/// Opens the READ ONLY, REPEATABLE READ transaction with its timeouts and the text settings
/// introspect uses.
async fn begin(
    connection: &mut PgConnection,
    options: &Options,
    snapshot: Option<&str>,
) -> Result<(), FidelityError> {
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
    statements.push("set local datestyle = 'ISO, YMD'".to_string());
    // Grouping sets hash in one pass when their tables fit in memory.
    statements.push("set local work_mem = '64MB'".to_string());
    for statement in statements {
        sqlx::query(&statement)
            .execute(&mut *connection)
            .await
            .map_err(|error| query_error(error, "opening the read-only transaction"))?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// What to measure

/// A share of a table's rows: the rows counted by `condition`, over all rows.
struct RateWork {
    column: String,
    statistic: String,
    condition: String,
    target: f64,
    origin: Provenance,
}

/// How a demo value (as text) maps to a label of the target mix.
enum Labels {
    /// Categories: known labels by canonical value; anything else is pooled as `OTHER`.
    Categories {
        kind: ColumnKind,
        known: HashMap<String, String>,
    },
    /// Calendar parts: the value is a 1-based index into these labels.
    Calendar(&'static [&'static str]),
}

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const HOURS: [&str; 24] = [
    "00", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13", "14", "15", "16",
    "17", "18", "19", "20", "21", "22", "23",
];

impl Labels {
    fn label(&self, value: &str) -> String {
        match self {
            Labels::Categories { kind, known } => known
                .get(&canonical(*kind, value))
                .cloned()
                .unwrap_or_else(|| OTHER.to_string()),
            // isodow and month count from 1; hours from 0.
            Labels::Calendar(names) => value
                .parse::<usize>()
                .ok()
                .and_then(|i| {
                    if names.len() == HOURS.len() {
                        Some(i)
                    } else {
                        i.checked_sub(1)
                    }
                })
                .and_then(|i| names.get(i))
                .map(|name| name.to_string())
                .unwrap_or_else(|| OTHER.to_string()),
        }
    }
}

/// A value as compared: numbers by value, booleans by truth, everything else as written.
fn canonical(kind: ColumnKind, text: &str) -> String {
    match kind {
        ColumnKind::Integer | ColumnKind::Decimal | ColumnKind::Float => match text.trim().parse::<f64>() {
            Ok(0.0) => "0".to_string(),
            Ok(number) => number.to_string(),
            Err(_) => text.to_string(),
        },
        ColumnKind::Boolean => match text.trim().to_ascii_lowercase().as_str() {
            "t" | "true" | "1" | "y" | "yes" | "on" => "true".to_string(),
            "f" | "false" | "0" | "n" | "no" | "off" => "false".to_string(),
            other => other.to_string(),
        },
        _ => text.to_string(),
    }
}

/// A mix over one grouping expression (text; NULL rows are not part of the mix).
struct MixWork {
    column: String,
    statistic: String,
    expression: String,
    target: BTreeMap<String, f64>,
    labels: Labels,
    origin: Provenance,
}

struct TableWork {
    name: String,
    target_rows: u64,
    origin: Provenance,
    rates: Vec<RateWork>,
    mixes: Vec<MixWork>,
    /// Columns the statistics need (checked against the catalog).
    columns: BTreeSet<String>,
}

struct RelationshipWork {
    relationship: Relationship,
    sql: String,
    /// Mean children per parent and the spread of single counts.
    children: Option<(f64, f64)>,
    childless: Option<f64>,
    origin: Provenance,
    weight: u64,
}

struct Work {
    tables: Vec<TableWork>,
    relationships: Vec<RelationshipWork>,
}

/// The SQL condition for a sentinel, following introspect's definitions.
fn sentinel_condition(kind: ColumnKind, quoted: &str, value: &str) -> String {
    match kind {
        ColumnKind::Integer | ColumnKind::Decimal | ColumnKind::Float if value.parse::<f64>().is_ok() => {
            format!("{quoted} = {value}")
        }
        ColumnKind::Text => format!("{quoted} = {}", quote_literal(value)),
        ColumnKind::Date | ColumnKind::Timestamp if value == "0001-01-01" => {
            format!("{quoted} < '0001-01-02'")
        }
        ColumnKind::Date | ColumnKind::Timestamp if value == "1900-01-01" => {
            format!("{quoted} >= '1900-01-01' and {quoted} < '1900-01-02'")
        }
        _ => format!("{quoted}::text = {}", quote_literal(value)),
    }
}

/// Counts (Monday first, January first, midnight first) as shares by label; None when all zero.
fn calendar_shares(counts: &[u64], names: &[&str]) -> Option<BTreeMap<String, f64>> {
    if counts.len() != names.len() || counts.iter().sum::<u64>() == 0 {
        return None;
    }
    let shares = counts
        .iter()
        .zip(names)
        .map(|(count, name)| (name.to_string(), *count as f64))
        .collect();
    Some(math::normalise(&shares))
}

impl Work {
    fn build(profile: &Profile, plan: &plan::Plan, only: &[String], catalog: &Catalog) -> Self {
        let wanted = |table: &str| only.is_empty() || only.iter().any(|t| t == table);
        let targets: BTreeMap<&str, u64> = plan.tables.iter().map(|t| (t.name.as_str(), t.rows)).collect();
        let mut tables = Vec::new();
        for (name, table) in &profile.tables {
            let target_rows = targets.get(name.as_str()).copied().unwrap_or(0);
            if target_rows == 0 || !wanted(name) {
                continue;
            }
            let demo_columns = catalog.get(name);
            let mut work = TableWork {
                name: name.clone(),
                target_rows,
                origin: Provenance::of(
                    table
                        .stats
                        .note
                        .as_ref()
                        .or(table.reference.as_ref().and_then(|r| r.note.as_ref())),
                ),
                rates: Vec::new(),
                mixes: Vec::new(),
                columns: BTreeSet::new(),
            };
            for (column_name, stats) in &table.stats.columns {
                let Some(column) = table.structure.column(column_name) else {
                    continue;
                };
                // The database's own type decides the SQL (the profile's when the column is missing:
                // then the run stops before any query).
                let kind = demo_columns
                    .and_then(|c| c.get(column_name))
                    .copied()
                    .unwrap_or(column.kind);
                let quoted = quote_ident(column_name);
                let origin = Provenance::of(stats.note.as_ref());
                let before = work.rates.len() + work.mixes.len();
                if column.nullable {
                    work.rates.push(RateWork {
                        column: column_name.clone(),
                        statistic: "nulls".to_string(),
                        condition: format!("{quoted} is null"),
                        target: stats.null_fraction,
                        origin,
                    });
                }
                for (value, share) in &stats.sentinels {
                    work.rates.push(RateWork {
                        column: column_name.clone(),
                        statistic: format!("sentinel '{value}'"),
                        condition: sentinel_condition(kind, &quoted, value),
                        target: *share,
                        origin,
                    });
                }
                if !stats.identifying {
                    if let Some(categories) = &stats.categories {
                        let mut target: BTreeMap<String, f64> = categories.frequencies.clone();
                        if categories.other > 1e-9 {
                            target.insert(OTHER.to_string(), categories.other);
                        }
                        let target = math::normalise(&target);
                        let known = categories
                            .frequencies
                            .keys()
                            .map(|label| (canonical(kind, label), label.clone()))
                            .collect();
                        if !target.is_empty() {
                            work.mixes.push(MixWork {
                                column: column_name.clone(),
                                statistic: "mix".to_string(),
                                expression: format!("{quoted}::text"),
                                target,
                                labels: Labels::Categories { kind, known },
                                origin,
                            });
                        }
                    }
                    if let (Some(temporal), true) = (&stats.temporal, kind.is_temporal()) {
                        let dated = |part: &str| {
                            format!("(case when {quoted} >= '1900-01-02' then extract({part} from {quoted})::int4 end)::text")
                        };
                        let mut calendar: Vec<(&str, &Vec<u64>, &'static [&'static str], String)> = vec![
                            ("weekday mix", &temporal.by_weekday, &WEEKDAYS, dated("isodow")),
                            ("month mix", &temporal.by_month_of_year, &MONTHS, dated("month")),
                        ];
                        if kind == ColumnKind::Timestamp {
                            calendar.push(("hour mix", &temporal.by_hour, &HOURS, dated("hour")));
                        }
                        for (statistic, counts, names, expression) in calendar {
                            if let Some(target) = calendar_shares(counts, names) {
                                work.mixes.push(MixWork {
                                    column: column_name.clone(),
                                    statistic: statistic.to_string(),
                                    expression,
                                    target,
                                    labels: Labels::Calendar(names),
                                    origin,
                                });
                            }
                        }
                    }
                }
                if work.rates.len() + work.mixes.len() > before {
                    work.columns.insert(column_name.clone());
                }
            }
            tables.push(work);
        }

        let mut relationships = Vec::new();
        for relationship in &profile.relationships {
            if relationship.verdict == RelationshipVerdict::Rejected
                || relationship.children_per_parent.is_none()
            {
                continue;
            }
            let (child, parent) = (&relationship.child_table, &relationship.parent_table);
            let (Some(child_rows), Some(parent_rows)) =
                (targets.get(child.as_str()), targets.get(parent.as_str()))
            else {
                continue;
            };
            if *child_rows == 0 || *parent_rows == 0 || !(wanted(child) || wanted(parent)) {
                continue;
            }
            let (Some(child_kind), Some(parent_kind)) = (
                profile.tables[child]
                    .structure
                    .column(&relationship.child_column)
                    .map(|c| c.kind),
                profile.tables[parent]
                    .structure
                    .column(&relationship.parent_column)
                    .map(|c| c.kind),
            ) else {
                continue;
            };
            let kind_of = |table: &str, column: &str, fallback: ColumnKind| {
                catalog
                    .get(table)
                    .and_then(|c| c.get(column))
                    .copied()
                    .unwrap_or(fallback)
            };
            let child_kind = kind_of(child, &relationship.child_column, child_kind);
            let parent_kind = kind_of(parent, &relationship.parent_column, parent_kind);
            let distribution = relationship.children_per_parent.as_ref().expect("filtered");
            relationships.push(RelationshipWork {
                sql: relationship_sql(relationship, child_kind, parent_kind),
                children: Some((distribution.mean, math::quantile_sd(&distribution.points()))),
                childless: relationship.parents_without_children,
                origin: Provenance::of(relationship.note.as_ref()),
                weight: child_rows + parent_rows,
                relationship: relationship.clone(),
            });
        }
        Self {
            tables,
            relationships,
        }
    }

    /// Every table and column the statistics read must exist in the database.
    fn check_present(&self, catalog: &Catalog, schema: &str) -> Result<(), FidelityError> {
        let mut missing_tables = BTreeSet::new();
        let mut missing_columns = BTreeSet::new();
        let mut need = |table: &str, column: Option<&str>| match (catalog.get(table), column) {
            (None, _) => {
                missing_tables.insert(table.to_string());
            }
            (Some(columns), Some(column)) if !columns.contains_key(column) => {
                missing_columns.insert(format!("{table}.{column}"));
            }
            _ => {}
        };
        for table in &self.tables {
            need(&table.name, None);
            for column in &table.columns {
                need(&table.name, Some(column));
            }
        }
        for work in &self.relationships {
            let r = &work.relationship;
            need(&r.child_table, Some(&r.child_column));
            need(&r.parent_table, Some(&r.parent_column));
            for filter in r.child_filter.iter() {
                need(&r.child_table, Some(&filter.column));
            }
            for filter in r.parent_filter.iter() {
                need(&r.parent_table, Some(&filter.column));
            }
        }
        let list = |items: BTreeSet<String>| {
            let total = items.len();
            let mut shown: Vec<String> = items.into_iter().take(10).collect();
            if total > 10 {
                shown.push(format!("and {} more", total - 10));
            }
            shown.join(", ")
        };
        if !missing_tables.is_empty() {
            return Err(FidelityError::MissingTables {
                schema: schema.to_string(),
                tables: list(missing_tables),
            });
        }
        if !missing_columns.is_empty() {
            return Err(FidelityError::MissingColumns {
                schema: schema.to_string(),
                columns: list(missing_columns),
            });
        }
        Ok(())
    }
}

/// The relationship's numbers in the demo, defined as introspect measures them: child rows with a
/// value (not NULL, not the "none" sentinel, within the child filter), grouped by key, joined to the
/// parent rows (within the parent filter). Returns parents, childless parents, parents with
/// children, and their children.
fn relationship_sql(relationship: &Relationship, child_kind: ColumnKind, parent_kind: ColumnKind) -> String {
    let c = format!("c.{}", quote_ident(&relationship.child_column));
    let p = format!("p.{}", quote_ident(&relationship.parent_column));
    let (c_key, p_key) = if child_kind == parent_kind {
        (c.clone(), p.clone())
    } else {
        (format!("{c}::text"), format!("{p}::text"))
    };
    let none = if relationship.zero_means_none {
        match child_kind {
            ColumnKind::Text => format!("({c} = '' or {c} = '0')"),
            ColumnKind::Integer | ColumnKind::Decimal | ColumnKind::Float => format!("{c} = 0"),
            _ => "false".to_string(),
        }
    } else {
        "false".to_string()
    };
    let child_filter = relationship
        .child_filter
        .as_ref()
        .map(|f| {
            format!(
                " and c.{}::text = {}",
                quote_ident(&f.column),
                quote_literal(&f.value)
            )
        })
        .unwrap_or_default();
    let parent_filter = relationship
        .parent_filter
        .as_ref()
        .map(|f| {
            format!(
                " and p.{}::text = {}",
                quote_ident(&f.column),
                quote_literal(&f.value)
            )
        })
        .unwrap_or_default();
    format!(
        "with g as materialized (
             select {c_key} as k, count(*)::int8 as n from {child} c
             where {c} is not null and not {none}{child_filter} group by 1),
         parents as (select {p_key} as k from {parent} p where {p} is not null{parent_filter})
         select count(*)::int8, count(*) filter (where g.k is null)::int8, count(g.k)::int8,
                coalesce(sum(g.n), 0)::int8
         from parents left join g on g.k = parents.k",
        child = quote_ident(&relationship.child_table),
        parent = quote_ident(&relationship.parent_table),
    )
}

// ---------------------------------------------------------------------------------------------
// Running the queries

#[derive(Debug, Clone, Copy)]
enum Job {
    Rates(usize),
    Mixes(usize),
    Relationship(usize),
}

enum Done {
    /// count(*), then one count per rate.
    Rates(usize, Vec<u64>),
    /// (mix index, value, rows).
    Mixes(usize, Vec<(usize, Option<String>, u64)>),
    /// parents, childless parents, parents with children, children.
    Relationship(usize, [u64; 4]),
}

struct Prepared {
    job: Job,
    sql: String,
    context: String,
}

fn prepare(work: &Work) -> Vec<Prepared> {
    let mut jobs: Vec<(u64, Prepared)> = Vec::new();
    for (index, table) in work.tables.iter().enumerate() {
        let relation = quote_ident(&table.name);
        let mut select = vec!["count(*)::int8".to_string()];
        select.extend(
            table
                .rates
                .iter()
                .map(|rate| format!("count(*) filter (where {})::int8", rate.condition)),
        );
        jobs.push((
            table.target_rows * (1 + table.rates.len() as u64 / 8),
            Prepared {
                job: Job::Rates(index),
                sql: format!("select {} from {relation}", select.join(", ")),
                context: format!("counting rows of {}", table.name),
            },
        ));
        if !table.mixes.is_empty() {
            let set = table
                .mixes
                .iter()
                .enumerate()
                .map(|(i, mix)| format!("when grouping({}) = 0 then {i}", mix.expression))
                .collect::<Vec<_>>()
                .join(" ");
            let value = table
                .mixes
                .iter()
                .map(|mix| format!("when grouping({0}) = 0 then {0}", mix.expression))
                .collect::<Vec<_>>()
                .join(" ");
            let sets = table
                .mixes
                .iter()
                .map(|mix| format!("({})", mix.expression))
                .collect::<Vec<_>>()
                .join(", ");
            jobs.push((
                table.target_rows * (1 + table.mixes.len() as u64 / 4),
                Prepared {
                    job: Job::Mixes(index),
                    sql: format!(
                        "select (case {set} end)::int4, (case {value} end), count(*)::int8 from {relation} group by grouping sets ({sets})"
                    ),
                    context: format!("counting values of {}", table.name),
                },
            ));
        }
    }
    for (index, relationship) in work.relationships.iter().enumerate() {
        jobs.push((
            relationship.weight,
            Prepared {
                job: Job::Relationship(index),
                sql: relationship.sql.clone(),
                context: format!("counting children of {}", relationship.relationship.label()),
            },
        ));
    }
    // The longest first, so that the workers finish together.
    jobs.sort_by_key(|job| std::cmp::Reverse(job.0));
    jobs.into_iter().map(|(_, job)| job).collect()
}

async fn run_queries(
    target: &Target,
    options: &Options,
    snapshot: &str,
    work: &Work,
) -> Result<Vec<Done>, FidelityError> {
    let jobs = prepare(work);
    if jobs.is_empty() {
        return Ok(Vec::new());
    }
    let workers_wanted = options.jobs.clamp(1, 64).min(jobs.len());
    let queue = Arc::new(Mutex::new(jobs.into_iter().collect::<VecDeque<_>>()));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..workers_wanted {
        let mut connection = target.connect().await?;
        begin(&mut connection, options, Some(snapshot)).await?;
        let queue = queue.clone();
        workers.spawn(async move {
            let mut done = Vec::new();
            loop {
                let next = queue.lock().expect("queue lock").pop_front();
                let Some(prepared) = next else { break };
                done.push(run_one(&mut connection, &prepared).await?);
            }
            let _ = connection.close().await;
            Ok::<_, FidelityError>(done)
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
                return Err(FidelityError::Query {
                    context: "running a worker".to_string(),
                    message: join_error.to_string(),
                })
            }
        }
    }
    Ok(all)
}

fn count(value: i64) -> u64 {
    value.max(0) as u64
}

async fn run_one(connection: &mut PgConnection, prepared: &Prepared) -> Result<Done, FidelityError> {
    let fail = |error: sqlx::Error| statement_error(error, &prepared.context);
    // Each query runs once: the simple query protocol (one round trip, no prepared statement).
    match prepared.job {
        Job::Rates(index) => {
            let row = sqlx::Executor::fetch_one(&mut *connection, prepared.sql.as_str())
                .await
                .map_err(fail)?;
            let counts = (0..row.len())
                .map(|i| row.try_get::<i64, _>(i).map(count))
                .collect::<Result<Vec<u64>, _>>()
                .map_err(fail)?;
            Ok(Done::Rates(index, counts))
        }
        Job::Mixes(index) => {
            let rows = sqlx::Executor::fetch_all(&mut *connection, prepared.sql.as_str())
                .await
                .map_err(fail)?;
            let mut groups = Vec::with_capacity(rows.len());
            for row in rows {
                let set: Option<i32> = row.try_get(0).map_err(fail)?;
                let value: Option<String> = row.try_get(1).map_err(fail)?;
                let rows: i64 = row.try_get(2).map_err(fail)?;
                if let Some(set) = set {
                    groups.push((set.max(0) as usize, value, count(rows)));
                }
            }
            Ok(Done::Mixes(index, groups))
        }
        Job::Relationship(index) => {
            let row = sqlx::Executor::fetch_one(&mut *connection, prepared.sql.as_str())
                .await
                .map_err(fail)?;
            let mut values = [0u64; 4];
            for (i, value) in values.iter_mut().enumerate() {
                *value = count(row.try_get::<i64, _>(i).map_err(fail)?);
            }
            Ok(Done::Relationship(index, values))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Judging

/// A rate or mean: judged when the population reaches `required`.
fn judge_number(
    base: Statistic,
    target: f64,
    achieved: Option<f64>,
    tolerance: f64,
    population: u64,
    required: u64,
) -> Statistic {
    let deviation = achieved.map(|a| (a - target).abs());
    let verdict = match deviation {
        Some(deviation) if population >= required => {
            if math::within(deviation, tolerance) {
                Verdict::Within
            } else {
                Verdict::Outside
            }
        }
        Some(deviation)
            if math::beyond_noise(
                deviation,
                tolerance,
                population,
                required,
                math::MIN_RATE_POPULATION,
            ) =>
        {
            Verdict::Outside
        }
        _ => Verdict::NotJudged,
    };
    Statistic {
        target: Value::Number(target),
        achieved: achieved.map(Value::Number),
        deviation,
        tolerance,
        population,
        required,
        verdict,
        ..base
    }
}

fn skeleton(table: &str, column: Option<&str>, statistic: &str, kind: Kind, origin: Provenance) -> Statistic {
    Statistic {
        table: table.to_string(),
        column: column.map(str::to_string),
        statistic: statistic.to_string(),
        parent: None,
        kind,
        origin,
        target: Value::Number(0.0),
        achieved: None,
        deviation: None,
        tolerance: 0.0,
        population: 0,
        required: 0,
        verdict: Verdict::NotJudged,
        adaptation: None,
    }
}

impl Work {
    fn assemble(&self, done: Vec<Done>) -> Vec<Statistic> {
        let mut rates: HashMap<usize, Vec<u64>> = HashMap::new();
        let mut mixes: HashMap<usize, Vec<(usize, Option<String>, u64)>> = HashMap::new();
        let mut relationships: HashMap<usize, [u64; 4]> = HashMap::new();
        for item in done {
            match item {
                Done::Rates(index, counts) => {
                    rates.insert(index, counts);
                }
                Done::Mixes(index, groups) => {
                    mixes.insert(index, groups);
                }
                Done::Relationship(index, values) => {
                    relationships.insert(index, values);
                }
            }
        }
        let mut statistics = Vec::new();
        for (index, table) in self.tables.iter().enumerate() {
            let counts = rates.remove(&index).unwrap_or_default();
            let rows = counts.first().copied().unwrap_or(0);
            let target = table.target_rows as f64;
            let deviation = (rows as f64 - target).abs();
            let tolerance = math::volume_tolerance(target);
            statistics.push(Statistic {
                target: Value::Number(target),
                achieved: Some(Value::Number(rows as f64)),
                deviation: Some(deviation),
                tolerance,
                population: rows,
                required: 0,
                verdict: if math::within(deviation, tolerance) {
                    Verdict::Within
                } else {
                    Verdict::Outside
                },
                ..skeleton(&table.name, None, "rows", Kind::Volume, table.origin)
            });
            for (i, rate) in table.rates.iter().enumerate() {
                let hits = counts.get(i + 1).copied().unwrap_or(0);
                let achieved = (rows > 0).then(|| hits as f64 / rows as f64);
                statistics.push(judge_number(
                    skeleton(
                        &table.name,
                        Some(&rate.column),
                        &rate.statistic,
                        Kind::Rate,
                        rate.origin,
                    ),
                    rate.target,
                    achieved,
                    math::rate_tolerance(rate.target),
                    rows,
                    math::share_required(rate.target),
                ));
            }
            let groups = mixes.remove(&index).unwrap_or_default();
            for (i, mix) in table.mixes.iter().enumerate() {
                let mut counts: BTreeMap<String, u64> = BTreeMap::new();
                for (set, value, rows) in &groups {
                    if *set != i {
                        continue;
                    }
                    if let Some(value) = value {
                        *counts.entry(mix.labels.label(value)).or_default() += rows;
                    }
                }
                let population: u64 = counts.values().sum();
                let achieved = (population > 0).then(|| {
                    counts
                        .iter()
                        .map(|(label, rows)| (label.clone(), *rows as f64 / population as f64))
                        .collect::<BTreeMap<_, _>>()
                });
                let deviation = achieved
                    .as_ref()
                    .map(|a| math::mix_deviation(&mix.target, a, OTHER));
                let shares: Vec<f64> = mix.target.values().copied().collect();
                let required = math::mix_required(&shares);
                let verdict = match deviation {
                    Some(d) if population >= required => {
                        if math::within(d, math::MIX_TOLERANCE) {
                            Verdict::Within
                        } else {
                            Verdict::Outside
                        }
                    }
                    Some(d)
                        if math::beyond_noise(
                            d,
                            math::MIX_TOLERANCE,
                            population,
                            required,
                            math::MIN_MIX_POPULATION,
                        ) =>
                    {
                        Verdict::Outside
                    }
                    _ => Verdict::NotJudged,
                };
                statistics.push(Statistic {
                    target: Value::Shares(mix.target.clone()),
                    achieved: achieved.map(Value::Shares),
                    deviation,
                    tolerance: math::MIX_TOLERANCE,
                    population,
                    required,
                    verdict,
                    ..skeleton(
                        &table.name,
                        Some(&mix.column),
                        &mix.statistic,
                        Kind::Mix,
                        mix.origin,
                    )
                });
            }
        }
        for (index, work) in self.relationships.iter().enumerate() {
            let [parents, childless, with_children, children] =
                relationships.remove(&index).unwrap_or_default();
            let r = &work.relationship;
            let parent = Some(format!("{}.{}", r.parent_table, r.parent_column));
            if let Some((mean, sd)) = work.children {
                let achieved = (with_children > 0).then(|| children as f64 / with_children as f64);
                statistics.push(judge_number(
                    Statistic {
                        parent: parent.clone(),
                        ..skeleton(
                            &r.child_table,
                            Some(&r.child_column),
                            "children per parent",
                            Kind::Mean,
                            work.origin,
                        )
                    },
                    mean,
                    achieved,
                    math::rate_tolerance(mean),
                    with_children,
                    math::mean_required(mean, sd),
                ));
            }
            if let Some(share) = work.childless {
                let achieved = (parents > 0).then(|| childless as f64 / parents as f64);
                statistics.push(judge_number(
                    Statistic {
                        parent: parent.clone(),
                        ..skeleton(
                            &r.child_table,
                            Some(&r.child_column),
                            "parents without children",
                            Kind::Rate,
                            work.origin,
                        )
                    },
                    share,
                    achieved,
                    math::rate_tolerance(share),
                    parents,
                    math::share_required(share),
                ));
            }
        }
        statistics
    }
}

fn statement_error(error: sqlx::Error, context: &str) -> FidelityError {
    if let sqlx::Error::Database(database_error) = &error {
        if database_error.code().as_deref() == Some("57014") {
            return FidelityError::Timeout {
                context: context.to_string(),
            };
        }
    }
    query_error(error, context)
}

fn query_error(error: sqlx::Error, context: &str) -> FidelityError {
    let message = match &error {
        sqlx::Error::Database(database_error) => database_error.message().to_string(),
        other => other.to_string(),
    };
    FidelityError::Query {
        context: context.to_string(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_compare_by_number_and_truth() {
        assert_eq!(
            canonical(ColumnKind::Decimal, "1.50"),
            canonical(ColumnKind::Decimal, "1.5")
        );
        assert_eq!(canonical(ColumnKind::Float, "-0"), "0");
        assert_eq!(canonical(ColumnKind::Integer, "7"), "7");
        assert_eq!(canonical(ColumnKind::Boolean, "t"), "true");
        assert_eq!(canonical(ColumnKind::Text, " R"), " R");
        let labels = Labels::Categories {
            kind: ColumnKind::Decimal,
            known: [(canonical(ColumnKind::Decimal, "0.00"), "0.00".to_string())]
                .into_iter()
                .collect(),
        };
        assert_eq!(labels.label("0"), "0.00");
        assert_eq!(labels.label("5.25"), OTHER);
        assert_eq!(Labels::Calendar(&WEEKDAYS).label("7"), "Sun");
        assert_eq!(Labels::Calendar(&WEEKDAYS).label("0"), OTHER);
        assert_eq!(Labels::Calendar(&HOURS).label("0"), "00");
        assert_eq!(Labels::Calendar(&HOURS).label("16"), "16");
        assert_eq!(Labels::Calendar(&MONTHS).label("1"), MONTHS[0]);
    }

    #[test]
    fn sentinels_follow_introspect() {
        let q = "\"X\"";
        assert_eq!(sentinel_condition(ColumnKind::Integer, q, "-1"), "\"X\" = -1");
        assert_eq!(sentinel_condition(ColumnKind::Text, q, ""), "\"X\" = ''");
        assert_eq!(
            sentinel_condition(ColumnKind::Date, q, "0001-01-01"),
            "\"X\" < '0001-01-02'"
        );
        assert_eq!(
            sentinel_condition(ColumnKind::Timestamp, q, "1900-01-01"),
            "\"X\" >= '1900-01-01' and \"X\" < '1900-01-02'"
        );
        assert_eq!(
            sentinel_condition(ColumnKind::Boolean, q, "0"),
            "\"X\"::text = '0'"
        );
    }

    #[test]
    fn calendar_counts_become_shares() {
        let shares = calendar_shares(&[1, 1, 1, 1, 1, 0, 0], &WEEKDAYS).unwrap();
        assert!((shares["Mon"] - 0.2).abs() < 1e-12 && shares["Sun"] == 0.0);
        assert!(calendar_shares(&[0; 7], &WEEKDAYS).is_none());
        assert!(calendar_shares(&[], &MONTHS).is_none());
    }

    #[test]
    fn statistics_sort_volume_first_then_columns_then_relationships() {
        let base = |column: Option<&str>, statistic: &str, parent: Option<&str>| Statistic {
            parent: parent.map(str::to_string),
            ..skeleton("t", column, statistic, Kind::Rate, Provenance::Measured)
        };
        let mut list = [
            base(Some("A"), "children per parent", Some("p.K")),
            base(Some("B"), "mix", None),
            base(Some("B"), "sentinel '0'", None),
            base(Some("B"), "nulls", None),
            base(None, "rows", None),
        ];
        list.sort_by_key(sort_key);
        let order: Vec<String> = list.iter().map(Statistic::label).collect();
        assert_eq!(
            order,
            [
                "t rows",
                "t.B nulls",
                "t.B sentinel '0'",
                "t.B mix",
                "t.A children per parent of p.K"
            ]
        );
    }
}

#[cfg(test)]
mod adaptation_tests {
    use super::*;

    fn statistic(column: Option<&str>, verdict: Verdict) -> Statistic {
        Statistic {
            verdict,
            ..skeleton("recall", column, "rows", Kind::Volume, Provenance::Authored)
        }
    }

    #[test]
    fn only_a_miss_the_manifest_explains_becomes_adapted() {
        let adaptations = vec![Adaptation {
            table: "recall".into(),
            statistic: "rows".into(),
            reason: "the contract's window".into(),
        }];
        let volume = statistic(None, Verdict::Outside).adapted(&adaptations);
        assert_eq!(volume.verdict, Verdict::Adapted);
        assert_eq!(volume.adaptation.as_deref(), Some("the contract's window"));
        // A column of the same table is not covered by an adaptation of its rows.
        let column = statistic(Some("PatNum"), Verdict::Outside).adapted(&adaptations);
        assert_eq!(column.verdict, Verdict::Outside);
        // Within tolerance stays within; nothing recorded stays outside.
        assert_eq!(
            statistic(None, Verdict::Within).adapted(&adaptations).verdict,
            Verdict::Within
        );
        assert_eq!(
            statistic(None, Verdict::Outside).adapted(&[]).verdict,
            Verdict::Outside
        );
    }
}
