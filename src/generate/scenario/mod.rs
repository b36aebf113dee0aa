//! Scenarios: domain simulations that own a group of tables and their cross-table logic.
//!
//! The generic generator fills every table from its statistics. A scenario replaces it for the
//! tables it owns: it sees the whole plan (row targets, key spaces), the seed and the clock, and
//! hands back a row source per owned table. Row sources must be deterministic functions of
//! (seed, table, row index), like the generic generator, so that `--jobs` never changes the data.

pub mod opendental;

use super::generic::Clock;
use super::plan::Plan;
use super::value::Value;
use crate::profile::Profile;

/// Rows of one table, addressable by index so that any thread can produce any row.
pub trait RowSource: Send + Sync {
    /// How many rows the table gets.
    fn rows(&self) -> u64;
    /// The row at `index` (0-based), one value per column in the table's column order.
    fn row(&self, index: u64) -> Vec<Value>;
}

/// A place where a scenario departs from the profile's statistics, and why (the dbt contract's row
/// windows take precedence over the profile's volumes, for instance). Printed by `generate` and
/// recorded in the run manifest, so that the fidelity report can tell a deliberate departure from
/// a miss.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Adaptation {
    pub table: String,
    /// What departs: `rows`, or a column name.
    pub statistic: String,
    /// The profile's value (scaled) and what the scenario produces instead.
    pub target: f64,
    pub achieved: f64,
    pub reason: String,
}

/// A simulation owning a group of tables.
pub trait Scenario: Send + Sync {
    /// A short name for messages and the run manifest.
    fn name(&self) -> &'static str;
    /// Whether this scenario generates `table`.
    fn owns(&self, table: &str) -> bool;
    /// The row source for an owned table.
    fn source(&self, table: &str) -> std::sync::Arc<dyn RowSource>;
    /// Where the scenario departs from the profile, and why.
    fn adaptations(&self) -> Vec<Adaptation> {
        Vec::new()
    }
}

/// Builds the scenarios that apply to a profile. Each scenario decides from the profile whether it
/// applies (the OpenDental practice simulation looks for OpenDental's tables).
pub type ScenarioFactory = fn(&Profile, &Plan, u64, Clock) -> Option<Box<dyn Scenario>>;

/// The registered scenarios, in priority order (the first that owns a table wins).
pub fn registry() -> Vec<ScenarioFactory> {
    vec![opendental::factory]
}
