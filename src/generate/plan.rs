//! The plan: which tables get how many rows, in which order, and where each column's values come
//! from (a key sequence, a parent's keys, reference rows, or the column's statistics).

use std::collections::{BTreeMap, BTreeSet};

use crate::profile::{ColumnKind, ColumnStats, Distribution, Origin, Profile, Relationship, Table, Verdict};

/// Where a column's values come from.
#[derive(Debug, Clone)]
pub enum Source {
    /// 1, 2, 3, ... (a single-column primary key, or the first column of a unique constraint).
    Sequence,
    /// A key of a parent table.
    Parent(ParentRef),
    /// A polymorphic key whose target varies with another column: always the "none" value (when
    /// that column holds one value on every row, the key is a plain `Parent` of that target).
    NoneValue,
    /// Drawn from the column's statistics (possibly empty).
    Stats(Box<ColumnStats>),
}

/// The keys a child column may take.
#[derive(Debug, Clone)]
pub enum ParentKeys {
    /// Generated keys 1..=n.
    Range(u64),
    /// Explicit keys (reference rows), as text.
    List(Vec<String>),
}

impl ParentKeys {
    pub fn len(&self) -> u64 {
        match self {
            ParentKeys::Range(n) => *n,
            ParentKeys::List(list) => list.len() as u64,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A foreign-key column's plan.
#[derive(Debug, Clone)]
pub struct ParentRef {
    pub parent_table: String,
    pub keys: ParentKeys,
    pub zero_means_none: bool,
    /// Fraction of rows holding the "none" value 0.
    pub none_fraction: f64,
    pub null_fraction: f64,
    /// Children per parent (over parents with children) and the share of childless parents.
    pub children_per_parent: Option<Distribution>,
    pub parents_without_children: f64,
    /// Assign parents in key order with the exact children-per-parent counts (the table's main key).
    pub ordered: bool,
    /// For explicit keys: the profile's mix of them (cumulative shares), when it has one.
    pub mix: Vec<(String, f64)>,
}

/// One column of a planned table.
#[derive(Debug, Clone)]
pub struct ColumnPlan {
    pub name: String,
    pub kind: ColumnKind,
    pub data_type: String,
    pub nullable: bool,
    pub max_length: Option<u32>,
    pub numeric_scale: Option<u32>,
    pub numeric_precision: Option<u32>,
    pub source: Source,
}

/// One planned table.
#[derive(Debug, Clone)]
pub struct TablePlan {
    pub name: String,
    pub rows: u64,
    /// Rows copied verbatim from the profile's reference data.
    pub reference: bool,
    pub columns: Vec<ColumnPlan>,
}

impl TablePlan {
    /// Keys drawn from a range (1..n) into the tables `rows_of` knows range over their actual
    /// rows instead of the plan's targets (a scenario's tables may land above or below them).
    pub fn resize_parent_ranges(&mut self, rows_of: impl Fn(&str) -> Option<u64>) {
        for column in &mut self.columns {
            if let Source::Parent(parent) = &mut column.source {
                if let (Some(rows), ParentKeys::Range(_)) = (rows_of(&parent.parent_table), &parent.keys) {
                    parent.keys = ParentKeys::Range(rows);
                }
            }
        }
    }
}

/// The whole plan, tables in dependency order (parents first).
#[derive(Debug, Clone)]
pub struct Plan {
    pub tables: Vec<TablePlan>,
}

impl Plan {
    pub fn table(&self, name: &str) -> Option<&TablePlan> {
        self.tables.iter().find(|t| t.name == name)
    }

    pub fn total_rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }
}

/// Row target of a table at a scale: reference tables keep their rows; others scale, and a table
/// that has rows keeps at least one. (`build` does not scale a table that belongs to reference
/// rows alone.)
pub fn row_target(table: &Table, scale: f64) -> u64 {
    if let Some(reference) = &table.reference {
        return reference.rows.len() as u64;
    }
    let rows = table.stats.row_count;
    if rows == 0 {
        return 0;
    }
    ((rows as f64 * scale).round() as u64).max(1)
}

/// The relationship that drives a child column: declared first, then the OpenDental map, then name
/// matches; rejected ones never.
fn driving_relationship<'p>(profile: &'p Profile, table: &str, column: &str) -> Option<&'p Relationship> {
    profile
        .relationships
        .iter()
        .filter(|r| r.child_table == table && r.child_column == column && r.verdict != Verdict::Rejected)
        .filter(|r| profile.tables.contains_key(&r.parent_table))
        .min_by_key(|r| {
            // A polymorphic key whose discriminator always selects this target drives like a plain one.
            let polymorphic = r.child_filter.is_some() && !filter_always_holds(profile, r);
            (
                polymorphic,
                match r.origin {
                    Origin::Declared => 0,
                    Origin::Opendental => 1,
                    Origin::NameMatch => 2,
                },
            )
        })
}

/// Whether every row of the child table passes the relationship's child filter: the filter column
/// is never NULL and holds only the filter's value (booleans as 0/1 or false/true).
fn filter_always_holds(profile: &Profile, relationship: &Relationship) -> bool {
    let Some(filter) = &relationship.child_filter else {
        return true;
    };
    let Some(stats) = profile
        .tables
        .get(&relationship.child_table)
        .and_then(|t| t.stats.columns.get(&filter.column))
    else {
        return false;
    };
    let canonical = |value: &str| match value {
        "false" => "0".to_string(),
        "true" => "1".to_string(),
        other => other.to_string(),
    };
    let Some(categories) = &stats.categories else {
        return false;
    };
    stats.null_fraction == 0.0
        && categories.other == 0.0
        && categories
            .frequencies
            .iter()
            .filter(|(_, share)| **share > 0.0)
            .all(|(value, _)| canonical(value) == canonical(&filter.value))
        && categories.frequencies.values().any(|share| *share > 0.0)
}

/// Whether `name` is configuration that belongs to reference rows alone: it has relationships,
/// and every parent but itself carries reference rows (sheetfielddef, the fields of the sheet
/// definitions). Like its parents, it does not scale with the practice.
fn belongs_to_reference(profile: &Profile, name: &str) -> bool {
    let has_reference = |t: &str| {
        profile
            .tables
            .get(t)
            .and_then(|t| t.reference.as_ref())
            .is_some_and(|r| !r.rows.is_empty())
    };
    let mut parents = profile
        .relationships
        .iter()
        .filter(|r| r.child_table == name && r.parent_table != name && r.verdict != Verdict::Rejected)
        .peekable();
    parents.peek().is_some() && !has_reference(name) && parents.all(|r| has_reference(&r.parent_table))
}

/// Builds the plan for a profile at a scale.
pub fn build(profile: &Profile, scale: f64) -> Plan {
    let targets: BTreeMap<&str, u64> = profile
        .tables
        .iter()
        .map(|(name, table)| {
            let scale = if belongs_to_reference(profile, name) {
                1.0
            } else {
                scale
            };
            (name.as_str(), row_target(table, scale))
        })
        .collect();
    let mut tables = Vec::new();
    for (name, table) in &profile.tables {
        let rows = targets[name.as_str()];
        let sequence_columns = sequence_columns(table);
        let mut ordered_taken = false;
        let mut columns = Vec::new();
        for column in &table.structure.columns {
            let stats = table.stats.columns.get(&column.name).cloned().unwrap_or_default();
            let source = if sequence_columns.contains(column.name.as_str()) {
                Source::Sequence
            } else if let Some(relationship) = driving_relationship(profile, name, &column.name) {
                if !filter_always_holds(profile, relationship) {
                    Source::NoneValue
                } else {
                    let parent = &profile.tables[&relationship.parent_table];
                    let keys = parent_keys(parent, relationship, targets[relationship.parent_table.as_str()]);
                    let ordered = !ordered_taken
                        && relationship.parent_table != *name
                        && matches!(keys, ParentKeys::Range(_))
                        && relationship.children_per_parent.is_some();
                    ordered_taken |= ordered;
                    let mix = key_mix(&keys, &stats);
                    Source::Parent(ParentRef {
                        mix,
                        parent_table: relationship.parent_table.clone(),
                        keys,
                        zero_means_none: relationship.zero_means_none,
                        // The "none" share: measured as a sentinel, or authored as the category "0".
                        none_fraction: if relationship.zero_means_none {
                            stats
                                .sentinels
                                .get("0")
                                .or_else(|| stats.categories.as_ref().and_then(|c| c.frequencies.get("0")))
                                .copied()
                                .unwrap_or(0.0)
                        } else {
                            0.0
                        },
                        null_fraction: if column.nullable { stats.null_fraction } else { 0.0 },
                        children_per_parent: relationship.children_per_parent.clone(),
                        parents_without_children: relationship.parents_without_children.unwrap_or(0.0),
                        ordered,
                    })
                }
            } else {
                Source::Stats(Box::new(stats))
            };
            columns.push(ColumnPlan {
                name: column.name.clone(),
                kind: column.kind,
                data_type: column.data_type.clone(),
                nullable: column.nullable,
                max_length: column.max_length,
                numeric_scale: column.numeric_scale,
                numeric_precision: column.numeric_precision,
                source,
            });
        }
        tables.push(TablePlan {
            name: name.clone(),
            rows,
            reference: table.reference.is_some(),
            columns,
        });
    }
    Plan {
        tables: dependency_order(tables),
    }
}

/// Columns that take 1, 2, 3, ...: the single-column primary key and the first column of each
/// single- or multi-column key, so that every key is unique by construction.
fn sequence_columns(table: &Table) -> BTreeSet<&str> {
    let mut columns = BTreeSet::new();
    let structure = &table.structure;
    for key in structure
        .primary_key
        .iter()
        .chain(structure.unique_constraints.iter())
    {
        if let Some(first) = key.columns.first() {
            columns.insert(first.as_str());
        }
    }
    for index in structure.indexes.iter().filter(|i| i.unique) {
        if let Some(first) = index_first_column(&index.definition, table) {
            columns.insert(first);
        }
    }
    columns
}

/// The first column named in a unique index definition (`btree ("Col", ...)`).
fn index_first_column<'t>(definition: &str, table: &'t Table) -> Option<&'t str> {
    let inside = definition.split_once('(')?.1;
    let first = inside.split([',', ')']).next()?.trim().trim_matches('"');
    table.structure.column(first).map(|c| c.name.as_str())
}

/// The profile's categorical mix over explicit parent keys (keys it does not list, or lists but the
/// parent lacks, are dropped), as cumulative shares normalised to 1; empty when there is none.
fn key_mix(keys: &ParentKeys, stats: &ColumnStats) -> Vec<(String, f64)> {
    let (ParentKeys::List(list), Some(categories)) = (keys, &stats.categories) else {
        return Vec::new();
    };
    let known: BTreeSet<&str> = list.iter().map(String::as_str).collect();
    let chosen: Vec<(&String, f64)> = categories
        .frequencies
        .iter()
        .filter(|(value, share)| known.contains(value.as_str()) && **share > 0.0)
        .map(|(value, share)| (value, *share))
        .collect();
    let total: f64 = chosen.iter().map(|(_, share)| share).sum();
    let mut cumulative = 0.0;
    chosen
        .into_iter()
        .map(|(value, share)| {
            cumulative += share / total;
            (value.clone(), cumulative)
        })
        .collect()
}

/// The keys a parent offers: reference rows (filtered by the relationship's parent filter) or 1..=n.
fn parent_keys(parent: &Table, relationship: &Relationship, rows: u64) -> ParentKeys {
    let Some(reference) = &parent.reference else {
        return ParentKeys::Range(rows);
    };
    let key_index = reference
        .columns
        .iter()
        .position(|c| *c == relationship.parent_column);
    let filter_index = relationship.parent_filter.as_ref().and_then(|f| {
        reference
            .columns
            .iter()
            .position(|c| *c == f.column)
            .map(|i| (i, f.value.as_str()))
    });
    let keys = reference
        .rows
        .iter()
        .filter(|row| match filter_index {
            Some((index, value)) => row.get(index).and_then(|v| v.as_deref()) == Some(value),
            None => true,
        })
        .filter_map(|row| key_index.and_then(|i| row.get(i).cloned().flatten()))
        .collect();
    ParentKeys::List(keys)
}

/// Parents before children (ties and cycles broken by name), so that loading can follow the order.
fn dependency_order(tables: Vec<TablePlan>) -> Vec<TablePlan> {
    let names: BTreeSet<String> = tables.iter().map(|t| t.name.clone()).collect();
    let mut parents: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for table in &tables {
        let entry = parents.entry(table.name.clone()).or_default();
        for column in &table.columns {
            if let Source::Parent(parent) = &column.source {
                if parent.parent_table != table.name && names.contains(&parent.parent_table) {
                    entry.insert(parent.parent_table.clone());
                }
            }
        }
    }
    let mut by_name: BTreeMap<String, TablePlan> = tables.into_iter().map(|t| (t.name.clone(), t)).collect();
    let mut ordered = Vec::new();
    let mut placed: BTreeSet<String> = BTreeSet::new();
    while !by_name.is_empty() {
        let ready: Vec<String> = by_name
            .keys()
            .filter(|name| parents[*name].iter().all(|p| placed.contains(p)))
            .cloned()
            .collect();
        let batch = if ready.is_empty() {
            // A cycle: take the first remaining table by name.
            vec![by_name.keys().next().cloned().expect("non-empty")]
        } else {
            ready
        };
        for name in batch {
            placed.insert(name.clone());
            ordered.push(by_name.remove(&name).expect("present"));
        }
    }
    ordered
}
