//! The profile: THE shared data model between introspect, generate and verify.
//!
//! A profile is a folder `introspection/<name>/` holding `profile.json` (format version, source,
//! settings, sequences, relationships, and the list of tables) and `tables/<table>.json` (structure,
//! statistics, optional reference rows). Files are canonical: sorted keys, floats rounded to six
//! significant digits, two-space indentation, a trailing newline, no timestamps.
//!
//! `complete` fills what an introspected OpenDental profile lacks from the built-in one (generate,
//! fidelity and verify apply it to a `--profile`).
//!
//! This module is plain data plus canonical read/write. It must not import sqlx, tokio or any other
//! module of the crate: it loads and saves without a database.

pub mod behaviour;
pub mod builtin;
pub mod calibration;
pub mod complete;
mod io;
pub mod stats;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use behaviour::Behaviour;
pub use builtin::builtin;
pub use complete::{complete_from, Completion};
pub use io::{content_hash, load, load_embedded, render, save, ProfileError, RenderedProfile};
pub use stats::{Categories, ColumnStats, Distribution, TableStats, Temporal};

/// Bumped whenever a change to these types would make old profiles read wrongly.
pub const FORMAT_VERSION: u32 = 1;

/// A whole profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub format_version: u32,
    pub name: String,
    pub source: Source,
    pub settings: Settings,
    #[serde(default)]
    pub sequences: Vec<Sequence>,
    #[serde(default)]
    pub relationships: Vec<Relationship>,
    /// Lags and shares between rows that the simulation needs ([`behaviour`]), by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub behaviour: BTreeMap<String, Behaviour>,
    /// Tables by name. Stored one file each under `tables/`; `profile.json` lists the names.
    #[serde(skip)]
    pub tables: BTreeMap<String, Table>,
}

/// Where the profile came from, without host names or credentials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// A human description, e.g. "PostgreSQL 15 database opendental_prod, schema raw".
    pub description: String,
    /// The database name (generate refuses to write into the database a profile came from).
    pub database: String,
    /// `pg_control_system().system_identifier`, when the role could read it.
    pub system_identifier: Option<String>,
    /// The introspected schema.
    pub schema: String,
    /// Server major version.
    pub server_version: String,
    /// Whether the OpenDental relationship map was applied.
    pub opendental: bool,
}

/// The settings introspect ran with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Categorical values seen fewer times than this are pooled, never listed.
    pub min_group_size: u64,
    /// Tables with more rows than this were sampled.
    pub sample_rows: Option<u64>,
    /// Calibration overlays applied on top of what was measured (file names, for provenance).
    #[serde(default)]
    pub calibration: Vec<String>,
}

/// One table: structure, statistics and (optionally) verbatim reference rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Table {
    pub name: String,
    pub structure: TableStructure,
    pub stats: TableStats,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<ReferenceData>,
}

/// Everything needed to recreate the table exactly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableStructure {
    /// In ordinal position order.
    pub columns: Vec<Column>,
    pub primary_key: Option<KeyConstraint>,
    #[serde(default)]
    pub unique_constraints: Vec<KeyConstraint>,
    #[serde(default)]
    pub check_constraints: Vec<CheckConstraint>,
    /// Indexes that do not back a primary key or unique constraint.
    #[serde(default)]
    pub indexes: Vec<Index>,
    #[serde(default)]
    pub foreign_keys: Vec<ForeignKey>,
}

impl TableStructure {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|column| column.name == name)
    }
}

/// A column, with its type as PostgreSQL prints it (`format_type`), e.g. `character varying(255)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    pub name: String,
    pub position: u32,
    pub data_type: String,
    pub kind: ColumnKind,
    pub nullable: bool,
    /// The default expression, unqualified (`nextval('t_id_seq'::regclass)`).
    pub default: Option<String>,
    /// `always` or `by default` for identity columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numeric_precision: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numeric_scale: Option<u32>,
}

/// The broad family of a column's type: what statistics apply and how values are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    Integer,
    Decimal,
    Float,
    Boolean,
    Text,
    Date,
    Timestamp,
    Time,
    Bytes,
    Json,
    Uuid,
    Other,
}

impl ColumnKind {
    /// Classifies a `pg_type.typname` (the udt name: `int8`, `varchar`, `timestamp`, ...).
    pub fn from_udt(udt: &str) -> Self {
        match udt {
            "int2" | "int4" | "int8" | "oid" => Self::Integer,
            "numeric" | "money" => Self::Decimal,
            "float4" | "float8" => Self::Float,
            "bool" => Self::Boolean,
            "varchar" | "bpchar" | "text" | "name" | "citext" => Self::Text,
            "date" => Self::Date,
            "timestamp" | "timestamptz" => Self::Timestamp,
            "time" | "timetz" | "interval" => Self::Time,
            "bytea" => Self::Bytes,
            "json" | "jsonb" => Self::Json,
            "uuid" => Self::Uuid,
            _ => Self::Other,
        }
    }

    pub fn is_numeric(self) -> bool {
        matches!(self, Self::Integer | Self::Decimal | Self::Float)
    }

    pub fn is_temporal(self) -> bool {
        matches!(self, Self::Date | Self::Timestamp)
    }
}

/// A primary key or unique constraint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyConstraint {
    pub name: String,
    pub columns: Vec<String>,
}

/// A check constraint, as `pg_get_constraintdef` prints it (`CHECK (...)`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckConstraint {
    pub name: String,
    pub definition: String,
}

/// An index, as `pg_get_indexdef` prints it from `USING` on (`btree ("Col")`, with any predicate).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Index {
    pub name: String,
    pub unique: bool,
    pub definition: String,
}

/// A declared foreign key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForeignKey {
    pub name: String,
    pub columns: Vec<String>,
    pub ref_table: String,
    pub ref_columns: Vec<String>,
    /// As `pg_get_constraintdef` prints it, for exact recreation.
    pub definition: String,
}

/// A sequence in the schema.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sequence {
    pub name: String,
    pub data_type: String,
    pub start: i64,
    pub increment: i64,
    pub min_value: i64,
    pub max_value: i64,
    pub cache: i64,
    pub cycle: bool,
    /// `table.column` that owns it (serial columns), if any.
    pub owned_by: Option<String>,
}

/// How a relationship became known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// A declared foreign key.
    Declared,
    /// The OpenDental map (fks.tsv, polymorphic_fks.tsv, defcat_columns.tsv).
    Opendental,
    /// A column named like another table's single-column primary key.
    NameMatch,
}

/// What the counts said about an inferred relationship.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Declared by the database: enforced, nothing to confirm.
    Declared,
    /// Enough values, and (nearly) all of them found in the parent.
    Confirmed,
    /// Too many orphans.
    Rejected,
    /// No values to judge by (empty table, or only "none" sentinels).
    NoData,
}

/// A child column that refers to a parent key, declared or inferred.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Relationship {
    pub child_table: String,
    pub child_column: String,
    pub parent_table: String,
    pub parent_column: String,
    pub origin: Origin,
    /// 0 (or an empty string) in the child means "no parent".
    pub zero_means_none: bool,
    /// Polymorphic keys: the relationship holds only for child rows where this column has this value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub child_filter: Option<Filter>,
    /// Definition keys: only parent rows with this value (e.g. `Category` = 1) are valid targets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_filter: Option<Filter>,
    pub verdict: Verdict,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    /// Children per parent, over parents with at least one child.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub children_per_parent: Option<Distribution>,
    /// Fraction of parent rows with no child at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parents_without_children: Option<f64>,
    /// The lag between a date of the child and a date of its parent, in days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag: Option<Lag>,
    /// Provenance of authored numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Relationship {
    /// `child.column -> parent.column`, for messages.
    pub fn label(&self) -> String {
        format!(
            "{}.{} -> {}.{}",
            self.child_table, self.child_column, self.parent_table, self.parent_column
        )
    }
}

/// `column = value` (value as text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    pub column: String,
    pub value: String,
}

/// The counts behind a verdict. No values, only counts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    /// Child rows holding a non-null, non-sentinel value.
    pub rows_with_value: u64,
    /// Child rows holding the "none" sentinel (0 or empty).
    pub rows_none: u64,
    /// Child rows whose value has no parent.
    pub orphans: u64,
    /// (rows_with_value - orphans) / rows_with_value.
    pub inclusion_ratio: f64,
}

/// `child_column - parent_column`, in days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lag {
    pub child_column: String,
    pub parent_column: String,
    pub days: Distribution,
}

/// Rows copied verbatim from a small configuration table, as text (NULL as None), ordered by key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceData {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
    /// Provenance when authored rather than copied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Profile {
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.get(name)
    }
}

/// Rounds to six significant digits, so that re-running introspect on the same data gives the same
/// text and diffs stay small.
pub fn round(value: f64) -> f64 {
    if value == 0.0 || !value.is_finite() {
        return if value.is_finite() { 0.0 } else { value };
    }
    let magnitude = value.abs().log10().floor() as i32;
    let factor = 10f64.powi(5 - magnitude);
    let rounded = (value * factor).round() / factor;
    if rounded == 0.0 {
        0.0
    } else {
        rounded
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_keeps_six_significant_digits() {
        assert_eq!(round(0.123456789), 0.123457);
        assert_eq!(round(123456.789), 123457.0);
        assert_eq!(round(-0.0), 0.0);
        assert_eq!(round(1e-9), 1e-9);
    }

    #[test]
    fn kinds_from_udt_names() {
        assert_eq!(ColumnKind::from_udt("int8"), ColumnKind::Integer);
        assert_eq!(ColumnKind::from_udt("bpchar"), ColumnKind::Text);
        assert_eq!(ColumnKind::from_udt("timestamp"), ColumnKind::Timestamp);
        assert_eq!(ColumnKind::from_udt("tsvector"), ColumnKind::Other);
    }
}
