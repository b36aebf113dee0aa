//! generate: profile -> demo database (and/or CSV files).
//!
//! Plan (table order, row targets) -> value generation (generic, or a scenario for the tables it
//! owns) -> COPY encoding and loading. Writes only the target: a build schema filled by parallel
//! COPY (each table created and loaded in one transaction), the `--quirks` statements (`quirks`),
//! constraints and indexes afterwards, then swapped in for the old schema in one transaction, with the run manifest. Must not import
//! `introspect` or `verify`; randomness comes only from `rng`; "now" is the explicit `as_of`.

pub mod generic;
mod load;
pub mod plan;
pub mod quirks;
pub mod rng;
pub mod scenario;
pub mod schema;
pub mod value;

use std::path::PathBuf;
use std::sync::Arc;

use chrono::NaiveDate;

pub use generic::Clock;
pub use load::{generate, Manifest, Progress, TableReport};
pub use quirks::{Mode as QuirksMode, QuirkReport};

/// Everything a run depends on besides the profile and the target.
#[derive(Debug, Clone)]
pub struct Options {
    pub schema: String,
    pub seed: u64,
    pub scale: f64,
    pub as_of: NaiveDate,
    pub months: u32,
    pub jobs: usize,
    pub force: bool,
    /// Write CSV files, schema.sql and load.sql here.
    pub out_dir: Option<PathBuf>,
    /// Load into the database (false: only write --out-dir).
    pub load: bool,
    /// The profile's name and content hash, for the manifest.
    pub profile_name: String,
    pub profile_hash: String,
    /// Data-quality quirks to add (`--quirks`; none = the clean demo).
    pub quirks: QuirksMode,
}

/// Why a run failed or was refused. One line each, naming the problem and the fix.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error(transparent)]
    Connect(#[from] crate::db::DbError),
    #[error("refusing to write into database {database:?}: it is the database the profile was introspected from (same system identifier and name); generate into a separate demo database")]
    SourceDatabase { database: String },
    #[error("refusing to write into schema {schema:?}: it holds data but no dentsynth manifest (it was not made by dentsynth); pass --force to replace it, or choose another --schema")]
    ForeignData { schema: String },
    #[error("no privilege to create a schema in database {database:?}: grant CREATE on the database to this role, or use another database")]
    NoCreatePrivilege { database: String },
    #[error(
        "another dentsynth generate is writing schema {schema:?} in this database: wait for it to finish"
    )]
    Busy { schema: String },
    #[error("{context}: {message}")]
    Query { context: String, message: String },
    #[error("cannot write {path}: {message}")]
    Write { path: String, message: String },
    #[error("interrupted: the previous demo is untouched")]
    Interrupted,
    #[error("--quirks {mode} changes the rows inside the database, so it needs a database load: drop --no-load (the CSV files of --out-dir then carry the quirks too)")]
    QuirksNeedDatabase { mode: String },
}

impl GenerateError {
    pub(crate) fn query(context: impl Into<String>, error: impl std::fmt::Display) -> Self {
        GenerateError::Query {
            context: context.into(),
            message: error.to_string(),
        }
    }
}

/// A shared, thread-safe handle on the row source of each table.
pub(crate) type Sources = Arc<Vec<(String, Arc<dyn scenario::RowSource>)>>;
