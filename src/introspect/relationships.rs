//! Relationships: declared foreign keys, the OpenDental map, and name-based candidates, each
//! confirmed or rejected by counts alone (rows with a value, "none" sentinels, orphans).

use std::collections::{BTreeMap, BTreeSet};

use sqlx::PgConnection;

use super::opendental::Map;
use super::stats::{Source, PERCENTILE_ARRAY};
use super::{IntrospectError, Session};
use crate::db::{quote_ident, quote_literal};
use crate::profile::{
    round, ColumnKind, Distribution, Evidence, Lag, Origin, Relationship, TableStructure, Verdict,
};

/// A relationship is confirmed when at least this share of its values has a parent.
pub const CONFIRM_INCLUSION: f64 = 0.9;

/// Every candidate relationship of the schema, sorted, without evidence yet.
pub(crate) fn candidates(tables: &BTreeMap<String, TableStructure>, map: Option<&Map>) -> Vec<Relationship> {
    let mut found: BTreeMap<(String, String, String, String, Option<String>), Relationship> = BTreeMap::new();
    let mut add = |relationship: Relationship| {
        let key = (
            relationship.child_table.clone(),
            relationship.child_column.clone(),
            relationship.parent_table.clone(),
            relationship.parent_column.clone(),
            relationship
                .child_filter
                .as_ref()
                .map(|f| format!("{}={}", f.column, f.value)),
        );
        found.entry(key).or_insert(relationship);
    };
    let column_kind =
        |table: &str, column: &str| tables.get(table).and_then(|t| t.column(column)).map(|c| c.kind);

    // Declared foreign keys (single-column ones are checked like the others).
    for (table, structure) in tables {
        for key in &structure.foreign_keys {
            if key.columns.len() == 1 && key.ref_columns.len() == 1 {
                add(new_relationship(
                    table,
                    &key.columns[0],
                    &key.ref_table,
                    &key.ref_columns[0],
                    Origin::Declared,
                    false,
                ));
            }
        }
    }
    let mut covered: BTreeSet<(String, String)> = BTreeSet::new();
    if let Some(map) = map {
        for key in &map.keys {
            if column_kind(&key.child_table, &key.child_column).is_none()
                || column_kind(&key.parent_table, &key.parent_column).is_none()
            {
                continue;
            }
            if let Some(filter) = &key.child_filter {
                if column_kind(&key.child_table, &filter.column).is_none() {
                    continue;
                }
            }
            let mut relationship = new_relationship(
                &key.child_table,
                &key.child_column,
                &key.parent_table,
                &key.parent_column,
                Origin::Opendental,
                key.zero_means_none,
            );
            relationship.child_filter = key.child_filter.clone();
            relationship.parent_filter = key.parent_filter.clone();
            covered.insert((key.child_table.clone(), key.child_column.clone()));
            add(relationship);
        }
        covered.extend(map.not_plain_keys.iter().cloned());
    }

    // Name matches: a column named like another table's single-column primary key, or `<table>_id`.
    let mut primary_keys: BTreeMap<String, (String, ColumnKind)> = BTreeMap::new();
    for (table, structure) in tables {
        if let Some(pk) = &structure.primary_key {
            if pk.columns.len() == 1 {
                if let Some(column) = structure.column(&pk.columns[0]) {
                    primary_keys.insert(table.clone(), (column.name.clone(), column.kind));
                }
            }
        }
    }
    for (child, structure) in tables {
        let own_key = structure
            .primary_key
            .as_ref()
            .filter(|pk| pk.columns.len() == 1)
            .map(|pk| pk.columns[0].as_str());
        for column in &structure.columns {
            // A table's own single-column key says nothing about direction: not a candidate.
            if covered.contains(&(child.clone(), column.name.clone()))
                || own_key == Some(column.name.as_str())
            {
                continue;
            }
            for (parent, (pk, pk_kind)) in &primary_keys {
                if parent == child || *pk_kind != column.kind {
                    continue;
                }
                let generic_id = pk == "id" && column.name.eq_ignore_ascii_case(&format!("{parent}_id"));
                let same_name = pk != "id" && column.name == *pk;
                if same_name || generic_id {
                    add(new_relationship(
                        child,
                        &column.name,
                        parent,
                        pk,
                        Origin::NameMatch,
                        column.kind == ColumnKind::Integer,
                    ));
                }
            }
        }
    }
    found.into_values().collect()
}

fn new_relationship(
    child: &str,
    column: &str,
    parent: &str,
    parent_column: &str,
    origin: Origin,
    zero_means_none: bool,
) -> Relationship {
    Relationship {
        child_table: child.to_string(),
        child_column: column.to_string(),
        parent_table: parent.to_string(),
        parent_column: parent_column.to_string(),
        origin,
        zero_means_none,
        child_filter: None,
        parent_filter: None,
        verdict: if origin == Origin::Declared {
            Verdict::Declared
        } else {
            Verdict::NoData
        },
        evidence: None,
        children_per_parent: None,
        parents_without_children: None,
        lag: None,
        note: None,
    }
}

/// Counts the evidence for one relationship and, when it holds, its shape: children per parent and
/// the lag between the two tables' main dates.
pub(crate) async fn confirm(
    session: &Session,
    connection: &mut PgConnection,
    mut relationship: Relationship,
    tables: &BTreeMap<String, TableStructure>,
    row_counts: &BTreeMap<String, u64>,
) -> Result<Relationship, IntrospectError> {
    let child_structure = &tables[&relationship.child_table];
    let parent_structure = &tables[&relationship.parent_table];
    let child_kind = child_structure
        .column(&relationship.child_column)
        .map(|c| c.kind)
        .unwrap_or(ColumnKind::Other);
    let parent_kind = parent_structure
        .column(&relationship.parent_column)
        .map(|c| c.kind)
        .unwrap_or(ColumnKind::Other);
    let child_rows = row_counts.get(&relationship.child_table).copied().unwrap_or(0);
    let context = format!("checking {}", relationship.label());
    if child_rows == 0 {
        relationship.evidence = Some(Evidence {
            rows_with_value: 0,
            rows_none: 0,
            orphans: 0,
            inclusion_ratio: 0.0,
        });
        return Ok(relationship);
    }
    let child_source = Source::new(session, &relationship.child_table, child_rows);
    let parent_relation = format!(
        "{}.{}",
        quote_ident(&session.schema),
        quote_ident(&relationship.parent_table)
    );
    let c = format!("c.{}", quote_ident(&relationship.child_column));
    let p = format!("p.{}", quote_ident(&relationship.parent_column));
    let (c_cmp, p_cmp) = if child_kind == parent_kind {
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
    let child_where = relationship
        .child_filter
        .as_ref()
        .map(|f| {
            format!(
                "where c.{}::text = {}",
                quote_ident(&f.column),
                quote_literal(&f.value)
            )
        })
        .unwrap_or_default();
    let parent_and = relationship
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
    let valid = format!("{c} is not null and not {none}");
    // Orphans through a hash join on the distinct parent keys (a NOT EXISTS inside an aggregate
    // FILTER would run once per child row).
    let sql = format!(
        "select count(*) filter (where {valid}),
                count(*) filter (where {none}),
                count(*) filter (where {valid} and parents.k is null)
         from {} left join (select distinct {p_cmp} as k from {parent_relation} p where true{parent_and}) parents
                on parents.k = {c_cmp}
         {child_where}",
        child_source.aliased("c")
    );
    let (with_value, none_rows, orphans): (i64, i64, i64) = sqlx::query_as(&sql)
        .fetch_one(&mut *connection)
        .await
        .map_err(|error| session.error(error, &context))?;
    let inclusion = if with_value > 0 {
        round((with_value - orphans) as f64 / with_value as f64)
    } else {
        0.0
    };
    relationship.evidence = Some(Evidence {
        rows_with_value: with_value as u64,
        rows_none: none_rows as u64,
        orphans: orphans as u64,
        inclusion_ratio: inclusion,
    });
    if relationship.verdict != Verdict::Declared {
        relationship.verdict = if with_value == 0 {
            Verdict::NoData
        } else if inclusion >= CONFIRM_INCLUSION {
            Verdict::Confirmed
        } else {
            Verdict::Rejected
        };
    }
    if with_value == 0 || relationship.verdict == Verdict::Rejected {
        return Ok(relationship);
    }

    // Children per parent, over parents with at least one child; and parents with none.
    let child_and = if child_where.is_empty() {
        String::new()
    } else {
        child_where.replacen("where", "and", 1)
    };
    let sql = format!(
        "select min(n)::float8, max(n)::float8, avg(n)::float8,
                percentile_cont({PERCENTILE_ARRAY}) within group (order by n)
         from (select {c} as k, count(*) as n from {} where {valid} {child_and}
                 and exists (select 1 from {parent_relation} p where {p_cmp} = {c_cmp}{parent_and}) group by 1) g",
        child_source.aliased("c")
    );
    let (min, max, mean, percentiles): (Option<f64>, Option<f64>, Option<f64>, Option<Vec<f64>>) =
        sqlx::query_as(&sql)
            .fetch_one(&mut *connection)
            .await
            .map_err(|error| session.error(error, &context))?;
    if let Some(distribution) = Distribution::from_measured(min, max, mean, percentiles) {
        relationship.children_per_parent = Some(distribution);
    }
    if child_source.sample_percent.is_none() {
        let parent_filter_where = relationship
            .parent_filter
            .as_ref()
            .map(|f| {
                format!(
                    "where p.{}::text = {}",
                    quote_ident(&f.column),
                    quote_literal(&f.value)
                )
            })
            .unwrap_or_default();
        let sql = format!(
            "select count(*), count(*) filter (where children.k is null)
             from {parent_relation} p
             left join (select distinct {c_cmp} as k from {} where {valid} {child_and}) children on children.k = {p_cmp}
             {parent_filter_where}",
            child_source.aliased("c")
        );
        let (parents, childless): (i64, i64) = sqlx::query_as(&sql)
            .fetch_one(&mut *connection)
            .await
            .map_err(|error| session.error(error, &context))?;
        if parents > 0 {
            relationship.parents_without_children = Some(round(childless as f64 / parents as f64));
        }
    }

    // Lag between the child's and the parent's main dates.
    if let (Some(child_date), Some(parent_date)) = (main_date(child_structure), main_date(parent_structure)) {
        let cd = format!("c.{}", quote_ident(&child_date));
        let pd = format!("p.{}", quote_ident(&parent_date));
        let sql = format!(
            "select min(d)::float8, max(d)::float8, avg(d)::float8,
                    percentile_cont({PERCENTILE_ARRAY}) within group (order by d)
             from (select ({cd}::date - {pd}::date) as d
                   from {} join {parent_relation} p on {p_cmp} = {c_cmp}{parent_and}
                   where {valid} {child_and} and {cd} >= '1900-01-02' and {pd} >= '1900-01-02') lags",
            child_source.aliased("c")
        );
        let (min, max, mean, percentiles): (Option<f64>, Option<f64>, Option<f64>, Option<Vec<f64>>) =
            sqlx::query_as(&sql)
                .fetch_one(&mut *connection)
                .await
                .map_err(|error| session.error(error, &context))?;
        if let Some(days) = Distribution::from_measured(min, max, mean, percentiles) {
            relationship.lag = Some(Lag {
                child_column: child_date,
                parent_column: parent_date,
                days,
            });
        }
    }
    Ok(relationship)
}

/// The table's main business date: the first date or timestamp column that is not an audit stamp.
pub(crate) fn main_date(structure: &TableStructure) -> Option<String> {
    structure
        .columns
        .iter()
        .filter(|c| c.kind.is_temporal())
        .find(|c| {
            let lower = c.name.to_ascii_lowercase();
            ![
                "tstamp", "sec", "entry", "edit", "birth", "created", "updated", "loaded", "_at",
            ]
            .iter()
            .any(|audit| lower.contains(audit))
        })
        .map(|c| c.name.clone())
}
