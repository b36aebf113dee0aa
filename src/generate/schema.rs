//! DDL from a profile: the exact structure of every table, in any target schema.
//!
//! Split in two phases for fast loading: `create_statements` makes sequences and bare tables
//! (columns, types, defaults, NOT NULL); `constraint_statements` adds primary keys, unique and
//! check constraints, indexes and declared foreign keys after the data is in. Names inside
//! expressions (sequence defaults, foreign-key targets) are unqualified and resolve through the
//! search_path, which the loader sets to the target schema.

use crate::db::quote_ident;
use crate::profile::{Profile, Table};

/// Sequences, then tables without constraints.
pub fn create_statements(profile: &Profile, schema: &str) -> Vec<String> {
    let s = quote_ident(schema);
    let mut statements = Vec::new();
    for sequence in &profile.sequences {
        statements.push(format!(
            "create sequence {s}.{} as {} increment by {} minvalue {} maxvalue {} start with {} cache {} {}",
            quote_ident(&sequence.name),
            sequence.data_type,
            sequence.increment,
            sequence.min_value,
            sequence.max_value,
            sequence.start,
            sequence.cache,
            if sequence.cycle { "cycle" } else { "no cycle" }
        ));
    }
    for table in profile.tables.values() {
        statements.push(create_table(table, schema));
    }
    for sequence in &profile.sequences {
        if let Some((table, column)) = sequence.owned_by.as_deref().and_then(|o| o.split_once('.')) {
            statements.push(format!(
                "alter sequence {s}.{} owned by {s}.{}.{}",
                quote_ident(&sequence.name),
                quote_ident(table),
                quote_ident(column)
            ));
        }
    }
    statements
}

/// `CREATE TABLE` with columns only.
pub fn create_table(table: &Table, schema: &str) -> String {
    let columns: Vec<String> = table
        .structure
        .columns
        .iter()
        .map(|column| {
            let mut text = format!("{} {}", quote_ident(&column.name), column.data_type);
            if let Some(identity) = &column.identity {
                text.push_str(&format!(" generated {identity} as identity"));
            } else if let Some(default) = &column.default {
                text.push_str(&format!(" default {default}"));
            }
            if !column.nullable {
                text.push_str(" not null");
            }
            text
        })
        .collect();
    format!(
        "create table {}.{} (\n    {}\n)",
        quote_ident(schema),
        quote_ident(&table.name),
        columns.join(",\n    ")
    )
}

/// Primary keys, unique and check constraints and indexes (per table, so that they can run in
/// parallel), then declared foreign keys (which need every referenced key to exist).
pub fn constraint_statements(profile: &Profile, schema: &str) -> (Vec<Vec<String>>, Vec<String>) {
    let s = quote_ident(schema);
    let mut per_table = Vec::new();
    let mut foreign_keys = Vec::new();
    for table in profile.tables.values() {
        let t = format!("{s}.{}", quote_ident(&table.name));
        let mut statements = Vec::new();
        let structure = &table.structure;
        if let Some(pk) = &structure.primary_key {
            statements.push(format!(
                "alter table {t} add constraint {} primary key ({})",
                quote_ident(&pk.name),
                column_list(&pk.columns)
            ));
        }
        for unique in &structure.unique_constraints {
            statements.push(format!(
                "alter table {t} add constraint {} unique ({})",
                quote_ident(&unique.name),
                column_list(&unique.columns)
            ));
        }
        for check in &structure.check_constraints {
            statements.push(format!(
                "alter table {t} add constraint {} {}",
                quote_ident(&check.name),
                check.definition
            ));
        }
        for index in &structure.indexes {
            statements.push(format!(
                "create {}index {} on {t} using {}",
                if index.unique { "unique " } else { "" },
                quote_ident(&index.name),
                index.definition
            ));
        }
        if !statements.is_empty() {
            per_table.push(statements);
        }
        for key in &structure.foreign_keys {
            foreign_keys.push(format!(
                "alter table {t} add constraint {} {}",
                quote_ident(&key.name),
                key.definition
            ));
        }
    }
    (per_table, foreign_keys)
}

/// Everything, in order, for one schema: used by `--out-dir` (schema.sql) and the structure round trip.
pub fn full_script(profile: &Profile, schema: &str) -> String {
    let mut script = format!(
        "create schema if not exists {0};\nset search_path = {0}, pg_catalog;\n",
        quote_ident(schema)
    );
    for statement in create_statements(profile, schema) {
        script.push_str(&statement);
        script.push_str(";\n");
    }
    let (per_table, foreign_keys) = constraint_statements(profile, schema);
    for statement in per_table.into_iter().flatten().chain(foreign_keys) {
        script.push_str(&statement);
        script.push_str(";\n");
    }
    script
}

fn column_list(columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}
