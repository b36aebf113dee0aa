//! The OpenDental relationship map, embedded as data (see `opendental/PROVENANCE.md`).

use std::collections::{BTreeMap, BTreeSet};

use crate::profile::Filter;

const FKS: &str = include_str!("opendental/fks.tsv");
const POLYMORPHIC: &str = include_str!("opendental/polymorphic_fks.tsv");
const DEFCAT: &str = include_str!("opendental/defcat_columns.tsv");
const ENUMS: &str = include_str!("opendental/enum_columns.tsv");

/// One candidate relationship from the map.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MappedKey {
    pub child_table: String,
    pub child_column: String,
    pub parent_table: String,
    pub parent_column: String,
    pub zero_means_none: bool,
    pub child_filter: Option<Filter>,
    pub parent_filter: Option<Filter>,
}

/// The whole map.
#[derive(Debug, Default)]
pub(crate) struct Map {
    pub keys: Vec<MappedKey>,
    /// Columns whose names look like keys but are not (`ref_table = NONE`), and polymorphic ones.
    pub not_plain_keys: BTreeSet<(String, String)>,
    /// Columns holding enum values.
    pub enum_columns: BTreeSet<(String, String)>,
}

fn rows(text: &str) -> impl Iterator<Item = Vec<&str>> {
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('\t').collect())
}

impl Map {
    pub fn load() -> Self {
        let mut map = Map::default();
        // Definition keys carry a category filter on the parent side.
        let mut defcat: BTreeMap<(String, String), String> = BTreeMap::new();
        for fields in rows(DEFCAT) {
            if fields.len() >= 3 && !fields[2].is_empty() {
                defcat.insert(
                    (fields[0].to_string(), fields[1].to_string()),
                    fields[2].to_string(),
                );
            }
        }
        for fields in rows(FKS) {
            if fields.len() < 5 {
                continue;
            }
            let (table, column, ref_table, ref_column) = (fields[0], fields[1], fields[2], fields[3]);
            match ref_table {
                "NONE" | "POLYMORPHIC" => {
                    map.not_plain_keys.insert((table.to_string(), column.to_string()));
                }
                _ => {
                    let parent_filter = (ref_table == "definition")
                        .then(|| defcat.get(&(table.to_string(), column.to_string())))
                        .flatten()
                        .map(|value| Filter {
                            column: "Category".to_string(),
                            value: value.clone(),
                        });
                    map.keys.push(MappedKey {
                        child_table: table.to_string(),
                        child_column: column.to_string(),
                        parent_table: ref_table.to_string(),
                        parent_column: ref_column.to_string(),
                        zero_means_none: fields[4] == "yes",
                        child_filter: None,
                        parent_filter,
                    });
                }
            }
        }
        for fields in rows(POLYMORPHIC) {
            // table column discriminator_column discriminator_enum discriminator_value member ref_table ref_column
            if fields.len() < 8 || fields[6].is_empty() || fields[4].is_empty() {
                continue;
            }
            map.keys.push(MappedKey {
                child_table: fields[0].to_string(),
                child_column: fields[1].to_string(),
                parent_table: fields[6].to_string(),
                parent_column: fields[7].to_string(),
                zero_means_none: true,
                child_filter: Some(Filter {
                    column: fields[2].to_string(),
                    value: fields[4].to_string(),
                }),
                parent_filter: None,
            });
        }
        for fields in rows(ENUMS) {
            if fields.len() >= 2 {
                map.enum_columns
                    .insert((fields[0].to_string(), fields[1].to_string()));
            }
        }
        map
    }

    /// The tables the map talks about.
    pub fn tables(&self) -> BTreeSet<&str> {
        self.keys.iter().map(|k| k.child_table.as_str()).collect()
    }

    pub fn is_categorical(&self, table: &str, column: &str) -> bool {
        self.enum_columns
            .contains(&(table.to_string(), column.to_string()))
            || self.keys.iter().any(|k| {
                k.child_table == table
                    && k.child_column == column
                    && (k.parent_filter.is_some() || CONFIGURATION_TABLES.contains(&k.parent_table.as_str()))
            })
    }
}

/// Practice configuration tables (not people): keys into them are categorical, so a practice's
/// procedure-code, recall-type and appointment-type mixes are kept (with the usual minimum group
/// size) even when the practice uses hundreds of codes.
const CONFIGURATION_TABLES: [&str; 5] = [
    "procedurecode",
    "recalltype",
    "appointmenttype",
    "feesched",
    "covcat",
];

/// Does a schema with these tables look like OpenDental? At least 80% of the map's child tables exist,
/// and the core ones (patient, procedurelog, appointment) are there.
pub(crate) fn looks_like_opendental(map: &Map, tables: &BTreeSet<String>) -> bool {
    let known = map.tables();
    let present = known.iter().filter(|t| tables.contains(**t)).count();
    ["patient", "procedurelog", "appointment"]
        .iter()
        .all(|t| tables.contains(*t))
        && present * 5 >= known.len() * 4
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_map_loads_with_filters() {
        let map = Map::load();
        assert!(map.keys.len() > 700, "{}", map.keys.len());
        let adj = map
            .keys
            .iter()
            .find(|k| k.child_table == "adjustment" && k.child_column == "AdjType")
            .unwrap();
        assert_eq!(adj.parent_table, "definition");
        assert_eq!(adj.parent_filter.as_ref().unwrap().value, "1");
        assert!(map.keys.iter().any(|k| k.child_filter.is_some()));
        assert!(map
            .not_plain_keys
            .contains(&("claim".to_string(), "OrigRefNum".to_string())));
        assert!(map.is_categorical("appointment", "AptStatus"));
    }
}
