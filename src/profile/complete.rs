//! Completing an introspected OpenDental profile from the built-in one.
//!
//! A profile introspected from a practice describes that practice's shape, but it may lack what the
//! practice does not use (tables without rows), what introspect was not asked to copy (reference rows
//! of configuration tables) and relationships it did not find. The OpenDental simulation needs all of
//! them (fees, definitions, codes), so `generate`, `fidelity` and `verify` complete such a profile from
//! the built-in one before using it. The rules, applied in this order:
//!
//! 1. The user's schema is never changed: no table, column, key or index is added or altered, and
//!    only tables present in both profiles with the same columns (names and types) are touched.
//! 2. A table without rows (row count 0) takes the base's statistics when the base has rows; its row
//!    count is scaled by the ratio of patients (user / base; the base describes a 5,000-patient
//!    practice; 1 when either has no patients), and the note says "from the built-in profile".
//!    Reference tables among them keep the base's row count (configuration does not scale).
//! 3. A table without reference rows takes the base's reference rows when the base has some, minus
//!    the rows whose keys into another table with reference rows do not resolve there (the base's fee
//!    schedule against the user's own procedure codes, say), so that nothing is orphaned.
//! 4. A relationship of the base is added when the user's profile has none for its (child table, child
//!    column) and both tables and their columns exist; for a table filled by rule 2, a relationship the
//!    user's profile holds without data (verdict `no_data`) is replaced by the base's when the base's
//!    carries measurements (children per parent, lag).
//! 5. A behaviour (`profile::behaviour`) of the base is added when the user's profile has none of
//!    that name: introspect measures only some of them.
//!
//! Column-level gaps of tables that have rows are left alone: the user's measurements stand.

use std::collections::BTreeSet;

use super::{Profile, Relationship, Table, TableStructure, Verdict};

/// What [`complete_from`] took from the base profile.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Completion {
    /// The base profile's name.
    pub base: String,
    /// The factor applied to the base's row counts (user patients / base patients).
    pub ratio: f64,
    /// Tables without rows that took the base's statistics.
    pub tables: Vec<String>,
    /// Tables that took the base's reference rows, with the number of rows taken.
    pub reference_tables: Vec<(String, usize)>,
    /// Reference rows of the base left out because a key of theirs did not resolve.
    pub dropped_reference_rows: usize,
    /// Relationships added or replaced, as `child.column -> parent.column`.
    pub relationships: Vec<String>,
    /// Behaviours taken from the base (`profile::behaviour`), by name.
    pub behaviour: Vec<String>,
    /// Tables that would have been filled but whose columns differ from the base's.
    pub mismatched: Vec<String>,
}

impl Completion {
    /// Whether nothing was taken from the base.
    pub fn is_empty(&self) -> bool {
        self.tables.is_empty()
            && self.reference_tables.is_empty()
            && self.relationships.is_empty()
            && self.behaviour.is_empty()
    }

    /// One line for the user.
    pub fn summary(&self) -> String {
        if self.is_empty() {
            return format!("nothing to fill from the built-in profile {}", self.base);
        }
        let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
        let mut line = format!(
            "filled {} and {} from the built-in profile {} (row counts scaled by {}, the ratio of patients)",
            plural(self.tables.len(), "table"),
            plural(self.reference_tables.len(), "reference table"),
            self.base,
            super::round(self.ratio)
        );
        if !self.relationships.is_empty() {
            line.push_str(&format!(
                ", {} added",
                plural(self.relationships.len(), "relationship")
            ));
        }
        if !self.behaviour.is_empty() {
            line.push_str(&format!(
                ", behaviours not measured: {}",
                self.behaviour.join(", ")
            ));
        }
        if self.dropped_reference_rows > 0 {
            line.push_str(&format!(
                ", {} left out (keys not in this profile)",
                plural(self.dropped_reference_rows, "reference row")
            ));
        }
        if !self.mismatched.is_empty() {
            line.push_str(&format!(
                "; not filled (columns differ): {}",
                self.mismatched.join(", ")
            ));
        }
        line
    }
}

/// Whether two tables have the same columns: the same names with the same types, in any order.
pub fn same_columns(a: &TableStructure, b: &TableStructure) -> bool {
    let columns = |s: &TableStructure| -> BTreeSet<(String, String)> {
        s.columns
            .iter()
            .map(|c| (c.name.clone(), c.data_type.clone()))
            .collect()
    };
    columns(a) == columns(b)
}

/// What tells two relationships apart: child, parent and the child filter (polymorphic keys).
type Identity = (String, String, String, String, Option<(String, String)>);

fn identity(r: &Relationship) -> Identity {
    (
        r.child_table.clone(),
        r.child_column.clone(),
        r.parent_table.clone(),
        r.parent_column.clone(),
        r.child_filter
            .as_ref()
            .map(|f| (f.column.clone(), f.value.clone())),
    )
}

/// Whether a table carries reference rows (an empty copy counts as none).
fn has_rows(table: &Table) -> bool {
    table.reference.as_ref().is_some_and(|r| !r.rows.is_empty())
}

/// Completes `profile` from `base` (the built-in profile) by the rules of this module.
pub fn complete_from(profile: &mut Profile, base: &Profile) -> Completion {
    let patients = |p: &Profile| p.table("patient").map(|t| t.stats.row_count).unwrap_or(0);
    let (mine, theirs) = (patients(profile), patients(base));
    let ratio = if mine > 0 && theirs > 0 {
        mine as f64 / theirs as f64
    } else {
        1.0
    };
    let mut completion = Completion {
        base: base.name.clone(),
        ratio,
        ..Default::default()
    };
    let from = format!("from the built-in profile {}", base.name);

    // Rule 2: tables without rows.
    let mut filled: BTreeSet<String> = BTreeSet::new();
    for (name, table) in profile.tables.iter_mut() {
        let Some(theirs) = base.tables.get(name) else {
            continue;
        };
        let wanted = table.stats.row_count == 0 && theirs.stats.row_count > 0;
        let wants_reference = !has_rows(table) && has_rows(theirs);
        if !(wanted || wants_reference) {
            continue;
        }
        if !same_columns(&table.structure, &theirs.structure) {
            completion.mismatched.push(name.clone());
            continue;
        }
        if wanted {
            let mut stats = theirs.stats.clone();
            stats.row_count = if has_rows(theirs) {
                theirs.stats.row_count
            } else {
                ((theirs.stats.row_count as f64 * ratio).round() as u64).max(1)
            };
            stats.note = Some(match &theirs.stats.note {
                Some(note) => format!(
                    "{from}, row count scaled by {} (the ratio of patients): {note}",
                    super::round(ratio)
                ),
                None => format!(
                    "{from}, row count scaled by {} (the ratio of patients)",
                    super::round(ratio)
                ),
            });
            table.stats = stats;
            filled.insert(name.clone());
            completion.tables.push(name.clone());
        }
    }

    // Rule 3: reference rows, then the rows whose keys do not resolve are left out (to a fixed point:
    // leaving out a row may orphan another).
    let mut taken: BTreeSet<String> = BTreeSet::new();
    for (name, table) in profile.tables.iter_mut() {
        let Some(theirs) = base.tables.get(name) else {
            continue;
        };
        if has_rows(table) || !has_rows(theirs) || !same_columns(&table.structure, &theirs.structure) {
            continue;
        }
        let mut reference = theirs.reference.clone().expect("has rows");
        reference.note = Some(match &reference.note {
            Some(note) => format!("{from}: {note}"),
            None => from.clone(),
        });
        table.reference = Some(reference);
        taken.insert(name.clone());
    }
    loop {
        let mut dropped = 0;
        for name in &taken {
            let keep = resolvable_rows(profile, base, name);
            let table = profile.tables.get_mut(name).expect("taken from the profile");
            let reference = table.reference.as_mut().expect("taken");
            let before = reference.rows.len();
            let mut index = 0;
            reference.rows.retain(|_| {
                index += 1;
                keep[index - 1]
            });
            dropped += before - reference.rows.len();
        }
        completion.dropped_reference_rows += dropped;
        if dropped == 0 {
            break;
        }
    }
    for name in &taken {
        let rows = profile.tables[name]
            .reference
            .as_ref()
            .map(|r| r.rows.len())
            .unwrap_or(0);
        completion.reference_tables.push((name.clone(), rows));
    }

    // Rule 4: relationships.
    let has_column = |p: &Profile, table: &str, column: &str| {
        p.table(table).and_then(|t| t.structure.column(column)).is_some()
    };
    let covered: BTreeSet<(String, String)> = profile
        .relationships
        .iter()
        .map(|r| (r.child_table.clone(), r.child_column.clone()))
        .collect();
    let measured = |r: &Relationship| r.children_per_parent.is_some() || r.lag.is_some();
    let mut added = Vec::new();
    let mut replaced: BTreeSet<Identity> = BTreeSet::new();
    for relationship in &base.relationships {
        let fits = has_column(profile, &relationship.child_table, &relationship.child_column)
            && has_column(profile, &relationship.parent_table, &relationship.parent_column)
            && relationship
                .child_filter
                .iter()
                .all(|f| has_column(profile, &relationship.child_table, &f.column))
            && relationship
                .parent_filter
                .iter()
                .all(|f| has_column(profile, &relationship.parent_table, &f.column));
        if !fits {
            continue;
        }
        let pair = (
            relationship.child_table.clone(),
            relationship.child_column.clone(),
        );
        let replace = filled.contains(&relationship.child_table)
            && measured(relationship)
            && profile
                .relationships
                .iter()
                .any(|r| r.verdict == Verdict::NoData && identity(r) == identity(relationship));
        if covered.contains(&pair) && !replace {
            continue;
        }
        if replace {
            replaced.insert(identity(relationship));
        }
        let mut copy = relationship.clone();
        copy.note = Some(match &relationship.note {
            Some(note) => format!("{from}: {note}"),
            None => from.clone(),
        });
        completion.relationships.push(copy.label());
        added.push(copy);
    }
    if !added.is_empty() {
        profile
            .relationships
            .retain(|r| !(r.verdict == Verdict::NoData && replaced.contains(&identity(r))));
        profile.relationships.extend(added);
        profile.relationships.sort_by_key(identity);
    }
    completion.relationships.sort();

    // Rule 5: behaviours the user's profile did not measure.
    for (name, behaviour) in &base.behaviour {
        if !profile.behaviour.contains_key(name) {
            let mut copy = behaviour.clone();
            copy.source = format!("{from}: {}", behaviour.source);
            profile.behaviour.insert(name.clone(), copy);
            completion.behaviour.push(name.clone());
        }
    }
    completion
}

/// For each reference row of `name`, whether every key of it into a table with reference rows
/// resolves there (the base's relationships say which columns are keys).
fn resolvable_rows(profile: &Profile, base: &Profile, name: &str) -> Vec<bool> {
    let table: &Table = &profile.tables[name];
    let reference = table.reference.as_ref().expect("reference rows");
    let mut keep = vec![true; reference.rows.len()];
    for relationship in base
        .relationships
        .iter()
        .filter(|r| r.child_table == name && r.verdict != Verdict::Rejected && r.child_filter.is_none())
    {
        let Some(parent) = profile
            .table(&relationship.parent_table)
            .and_then(|p| p.reference.as_ref())
        else {
            continue;
        };
        let Some(child_index) = reference
            .columns
            .iter()
            .position(|c| *c == relationship.child_column)
        else {
            continue;
        };
        let Some(key_index) = parent
            .columns
            .iter()
            .position(|c| *c == relationship.parent_column)
        else {
            continue;
        };
        let filter = relationship.parent_filter.as_ref().and_then(|f| {
            parent
                .columns
                .iter()
                .position(|c| *c == f.column)
                .map(|i| (i, f.value.as_str()))
        });
        let keys: BTreeSet<&str> = parent
            .rows
            .iter()
            .filter(|row| match filter {
                Some((i, value)) => row.get(i).and_then(|v| v.as_deref()) == Some(value),
                None => true,
            })
            .filter_map(|row| row.get(key_index).and_then(|v| v.as_deref()))
            .collect();
        for (row, keep) in reference.rows.iter().zip(keep.iter_mut()) {
            let Some(value) = row.get(child_index).and_then(|v| v.as_deref()) else {
                continue;
            };
            let none = relationship.zero_means_none && (value == "0" || value.is_empty());
            if !none && !keys.contains(value) {
                *keep = false;
            }
        }
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::{
        Categories, Column, ColumnKind, ColumnStats, Filter, Origin, ReferenceData, Settings, Source,
        TableStats, FORMAT_VERSION,
    };

    fn column(name: &str, data_type: &str) -> Column {
        Column {
            name: name.into(),
            position: 1,
            data_type: data_type.into(),
            kind: ColumnKind::from_udt(if data_type == "bigint" { "int8" } else { "text" }),
            nullable: true,
            default: None,
            identity: None,
            max_length: None,
            numeric_precision: None,
            numeric_scale: None,
        }
    }

    fn table(name: &str, columns: &[&str], rows: u64) -> Table {
        Table {
            name: name.into(),
            structure: TableStructure {
                columns: columns.iter().map(|c| column(c, "bigint")).collect(),
                primary_key: None,
                unique_constraints: vec![],
                check_constraints: vec![],
                indexes: vec![],
                foreign_keys: vec![],
            },
            stats: TableStats {
                row_count: rows,
                ..Default::default()
            },
            reference: None,
        }
    }

    fn reference(columns: &[&str], rows: &[&[&str]]) -> ReferenceData {
        ReferenceData {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows: rows
                .iter()
                .map(|r| r.iter().map(|v| Some(v.to_string())).collect())
                .collect(),
            note: None,
        }
    }

    fn relationship(child: &str, column: &str, parent: &str, parent_column: &str) -> Relationship {
        Relationship {
            child_table: child.into(),
            child_column: column.into(),
            parent_table: parent.into(),
            parent_column: parent_column.into(),
            origin: Origin::Opendental,
            zero_means_none: true,
            child_filter: None,
            parent_filter: None,
            verdict: Verdict::NoData,
            evidence: None,
            children_per_parent: None,
            parents_without_children: None,
            lag: None,
            note: None,
        }
    }

    fn profile(name: &str, tables: Vec<Table>) -> Profile {
        Profile {
            format_version: FORMAT_VERSION,
            name: name.into(),
            source: Source {
                description: "test".into(),
                database: name.into(),
                system_identifier: None,
                schema: "raw".into(),
                server_version: "15".into(),
                opendental: true,
            },
            settings: Settings {
                min_group_size: 10,
                sample_rows: None,
                calibration: vec![],
            },
            sequences: vec![],
            relationships: vec![],
            behaviour: Default::default(),
            tables: tables.into_iter().map(|t| (t.name.clone(), t)).collect(),
        }
    }

    /// The base: 5,000 patients, 8,000 commlog rows with a mode mix, 600 perio exams, definitions and
    /// a fee schedule as reference rows.
    fn base() -> Profile {
        let mut commlog = table("commlog", &["CommlogNum", "PatNum", "Mode_"], 8000);
        commlog.stats.columns.insert(
            "Mode_".into(),
            ColumnStats {
                categories: Some(Categories {
                    frequencies: [("1".to_string(), 0.7), ("2".to_string(), 0.3)].into(),
                    other: 0.0,
                }),
                ..Default::default()
            },
        );
        commlog.stats.note = Some("authored".into());
        let mut definition = table("definition", &["DefNum", "Category"], 3);
        definition.reference = Some(reference(
            &["DefNum", "Category"],
            &[&["1", "10"], &["2", "10"], &["3", "1"]],
        ));
        let mut fee = table("fee", &["FeeNum", "CodeNum"], 3);
        fee.reference = Some(reference(
            &["FeeNum", "CodeNum"],
            &[&["1", "1"], &["2", "2"], &["3", "0"]],
        ));
        let mut code = table("procedurecode", &["CodeNum"], 2);
        code.reference = Some(reference(&["CodeNum"], &[&["1"], &["2"]]));
        let mut base = profile(
            "opendental",
            vec![
                table("patient", &["PatNum"], 5000),
                commlog,
                table("perioexam", &["PerioExamNum", "PatNum"], 600),
                table("wide", &["WideNum", "Extra"], 100),
                definition,
                fee,
                code,
            ],
        );
        let mut perio = relationship("perioexam", "PatNum", "patient", "PatNum");
        perio.children_per_parent = Some(crate::profile::Distribution {
            mean: 1.5,
            ..Default::default()
        });
        base.relationships = vec![
            relationship("commlog", "PatNum", "patient", "PatNum"),
            perio,
            relationship("fee", "CodeNum", "procedurecode", "CodeNum"),
        ];
        base
    }

    /// The user's practice: 1,500 patients, commlog with rows, perioexam empty, definitions measured
    /// but not copied, its own procedure codes, no fee rows; "wide" has a column the base lacks.
    fn user() -> Profile {
        let mut user = profile(
            "clinic",
            vec![
                table("patient", &["PatNum"], 1500),
                table("commlog", &["CommlogNum", "PatNum", "Mode_"], 900),
                table("perioexam", &["PerioExamNum", "PatNum"], 0),
                table("wide", &["WideNum", "Extra", "Mine"], 0),
                table("definition", &["DefNum", "Category"], 40),
                table("fee", &["FeeNum", "CodeNum"], 0),
                table("procedurecode", &["CodeNum"], 2),
                table("onlymine", &["OnlyNum"], 0),
            ],
        );
        user.tables.get_mut("procedurecode").unwrap().reference =
            Some(reference(&["CodeNum"], &[&["1"], &["2"]]));
        user.relationships = vec![relationship("perioexam", "PatNum", "patient", "PatNum")];
        user
    }

    #[test]
    fn an_empty_table_takes_the_base_statistics_scaled_by_patients() {
        let mut user = user();
        let completion = complete_from(&mut user, &base());
        let perio = &user.tables["perioexam"];
        assert_eq!(perio.stats.row_count, 180, "600 x 1500 / 5000");
        let note = perio.stats.note.as_deref().unwrap();
        assert!(note.contains("from the built-in profile opendental"), "{note}");
        assert!((completion.ratio - 0.3).abs() < 1e-12);
        assert!(completion.tables.contains(&"perioexam".to_string()));
        // A table with rows keeps its own statistics, column gaps included.
        let commlog = &user.tables["commlog"];
        assert_eq!(commlog.stats.row_count, 900);
        assert!(commlog.stats.columns.is_empty() && commlog.stats.note.is_none());
        // A table the base lacks is left alone.
        assert_eq!(user.tables["onlymine"].stats.row_count, 0);
    }

    #[test]
    fn the_schema_is_never_changed() {
        let mut user = user();
        let before: Vec<(String, TableStructure)> = user
            .tables
            .iter()
            .map(|(n, t)| (n.clone(), t.structure.clone()))
            .collect();
        let completion = complete_from(&mut user, &base());
        let after: Vec<(String, TableStructure)> = user
            .tables
            .iter()
            .map(|(n, t)| (n.clone(), t.structure.clone()))
            .collect();
        assert_eq!(before, after);
        // A table whose columns differ is not filled, and says so.
        assert_eq!(user.tables["wide"].stats.row_count, 0);
        assert_eq!(completion.mismatched, vec!["wide".to_string()]);
        assert!(completion.summary().contains("not filled (columns differ): wide"));
        // No table of the base only is added.
        assert!(!user.tables.contains_key("nope"));
        assert_eq!(user.tables.len(), 8);
    }

    #[test]
    fn reference_rows_come_from_the_base_when_missing() {
        let mut user = user();
        let completion = complete_from(&mut user, &base());
        let definition = &user.tables["definition"];
        // Measured with rows: the statistics stay, the reference rows arrive.
        assert_eq!(definition.stats.row_count, 40);
        let rows = &definition.reference.as_ref().unwrap().rows;
        assert_eq!(rows.len(), 3);
        assert!(definition
            .reference
            .as_ref()
            .unwrap()
            .note
            .as_deref()
            .unwrap()
            .contains("from the built-in profile"));
        // An empty reference table: the base's statistics unscaled and its rows.
        let fee = &user.tables["fee"];
        assert_eq!(fee.stats.row_count, 3);
        assert_eq!(fee.reference.as_ref().unwrap().rows.len(), 3);
        assert_eq!(
            completion.reference_tables,
            vec![("definition".to_string(), 3), ("fee".to_string(), 3)]
        );
        // The user's own reference rows are never replaced.
        let mut own = self::user();
        own.tables.get_mut("definition").unwrap().reference =
            Some(reference(&["DefNum", "Category"], &[&["9", "10"]]));
        complete_from(&mut own, &base());
        assert_eq!(own.tables["definition"].reference.as_ref().unwrap().rows.len(), 1);
    }

    #[test]
    fn base_reference_rows_whose_keys_do_not_resolve_are_left_out() {
        // The user copied its own procedure codes: only code 2 of the base's is there.
        let mut user = user();
        user.tables.get_mut("procedurecode").unwrap().reference =
            Some(reference(&["CodeNum"], &[&["2"], &["7"]]));
        let completion = complete_from(&mut user, &base());
        let fee = user.tables["fee"].reference.as_ref().unwrap();
        let codes: Vec<&str> = fee.rows.iter().map(|r| r[1].as_deref().unwrap()).collect();
        // Code 1 is unknown here; 0 means "none" and stays.
        assert_eq!(codes, vec!["2", "0"]);
        assert_eq!(completion.dropped_reference_rows, 1);
        assert!(completion.summary().contains("1 reference row left out"));
    }

    #[test]
    fn relationships_are_added_where_missing_and_filled_tables_take_measured_ones() {
        let mut user = user();
        let completion = complete_from(&mut user, &base());
        let find = |child: &str, column: &str| {
            user.relationships
                .iter()
                .filter(|r| r.child_table == child && r.child_column == column)
                .collect::<Vec<_>>()
        };
        // Missing in the user's profile: added.
        let commlog = find("commlog", "PatNum");
        assert_eq!(commlog.len(), 1);
        assert!(commlog[0].note.as_deref().unwrap().contains("built-in"));
        // perioexam was filled and the user's relationship had no data: the base's measured one.
        let perio = find("perioexam", "PatNum");
        assert_eq!(perio.len(), 1);
        assert_eq!(perio[0].children_per_parent.as_ref().unwrap().mean, 1.5);
        assert_eq!(
            completion.relationships,
            vec![
                "commlog.PatNum -> patient.PatNum".to_string(),
                "fee.CodeNum -> procedurecode.CodeNum".to_string(),
                "perioexam.PatNum -> patient.PatNum".to_string(),
            ]
        );
        // The user's measured relationship is never replaced.
        let mut measured = self::user();
        measured.tables.get_mut("perioexam").unwrap().stats.row_count = 10;
        measured.relationships[0].verdict = Verdict::Confirmed;
        complete_from(&mut measured, &base());
        let perio: Vec<&Relationship> = measured
            .relationships
            .iter()
            .filter(|r| r.child_table == "perioexam")
            .collect();
        assert_eq!(perio.len(), 1);
        assert_eq!(perio[0].verdict, Verdict::Confirmed);
        assert!(perio[0].children_per_parent.is_none());
    }

    #[test]
    fn only_the_measured_branch_of_a_polymorphic_key_is_replaced() {
        let branch = |parent: &str, value: &str| {
            let mut r = relationship("perioexam", "PatNum", parent, "PatNum");
            r.child_filter = Some(Filter {
                column: "PerioExamNum".into(),
                value: value.into(),
            });
            r
        };
        let mut base = base();
        base.relationships.retain(|r| r.child_table != "perioexam");
        let mut measured = branch("patient", "1");
        measured.children_per_parent = Some(crate::profile::Distribution {
            mean: 2.0,
            ..Default::default()
        });
        base.relationships.push(measured);
        base.relationships.push(branch("commlog", "2"));
        let mut user = user();
        user.relationships = vec![branch("patient", "1"), branch("commlog", "2")];
        complete_from(&mut user, &base);
        let perio: Vec<&Relationship> = user
            .relationships
            .iter()
            .filter(|r| r.child_table == "perioexam")
            .collect();
        assert_eq!(perio.len(), 2, "{perio:?}");
        assert_eq!(perio[0].parent_table, "commlog");
        assert!(perio[0].note.is_none(), "the unmeasured branch stays the user's");
        assert_eq!(perio[1].children_per_parent.as_ref().unwrap().mean, 2.0);
    }

    #[test]
    fn a_relationship_needs_both_tables_and_columns() {
        let mut base = base();
        base.relationships
            .push(relationship("commlog", "Mode_", "nosuchtable", "X"));
        let mut filtered = relationship("commlog", "CommlogNum", "definition", "DefNum");
        filtered.parent_filter = Some(Filter {
            column: "Missing".into(),
            value: "1".into(),
        });
        base.relationships.push(filtered);
        let mut user = user();
        complete_from(&mut user, &base);
        assert!(!user
            .relationships
            .iter()
            .any(|r| r.parent_table == "nosuchtable" || r.child_column == "CommlogNum"));
    }

    #[test]
    fn without_patients_the_ratio_is_one_and_an_empty_completion_says_so() {
        let mut user = user();
        user.tables.get_mut("patient").unwrap().stats.row_count = 0;
        let completion = complete_from(&mut user, &base());
        assert_eq!(completion.ratio, 1.0);
        assert_eq!(user.tables["patient"].stats.row_count, 5000);
        assert_eq!(user.tables["perioexam"].stats.row_count, 600);
        let mut again = user.clone();
        let second = complete_from(&mut again, &base());
        assert!(second.is_empty(), "{second:?}");
        assert_eq!(again, user, "completing twice changes nothing more");
        assert!(second.summary().starts_with("nothing to fill"));
        let summary = completion.summary();
        assert!(
            summary
                .starts_with("filled 3 tables and 2 reference tables from the built-in profile opendental"),
            "{summary}"
        );
    }
}
