//! RI001 orphaned-reference: a key refers to a parent row that does not exist.
//!
//! **What it checks.** For every relationship of the profile (declared foreign keys, the OpenDental
//! map, name matches; the ones introspection rejected are skipped), every child row whose key is
//! set must find its parent. "Set" honours the profile: NULL never counts, and when
//! `zero_means_none` holds, 0 (or an empty string) means "no parent" as OpenDental stores it.
//! Polymorphic keys are checked per discriminator value (`child_filter`: only rows with
//! `LinkType = 1` must point at `adjustment`), and definition keys only accept parents of their
//! category (`parent_filter`: `definition.Category = 1` for `adjustment.AdjType`).
//!
//! **Why it matters.** The raw OpenDental schema declares no foreign keys; dbt's `relationships`
//! tests and every join in the marts assume them. One orphan fails an error-severity test and
//! skips everything downstream (dbt_dental_models contract, §4.1).
//!
//! **Example.** Written once; it expands to one instance per relationship, with ids like
//! `ri.claimproc.ClaimNum->claim.ClaimNum` or `ri.payplanlink.FKey[LinkType=2]->procedurelog.ProcNum`:
//!
//! ```toml
//! [[rule]]
//! id = "ri"
//! kind = "orphaned-reference"
//! origins = ["declared", "opendental"]
//! ```

use super::{column, where_clause, CheckSql, Context};
use crate::db::quote_literal;
use crate::profile::{ColumnKind, Filter};
use crate::verify::rules::Reference;

pub fn build(context: &Context<'_>, reference: &Reference) -> CheckSql {
    let child = column("c", &reference.child_column);
    let parent = column("p", &reference.parent_column);
    let same_type = context.data_type(&reference.child_table, &reference.child_column)
        == context.data_type(&reference.parent_table, &reference.parent_column);
    let (child_value, parent_value) = if same_type {
        (child.clone(), parent)
    } else {
        (format!("{child}::text"), format!("{parent}::text"))
    };
    let scope = scope(context, reference, "c");
    let mut matching = vec![format!("{parent_value} = {child_value}")];

    if let Some(filter) = &reference.parent_filter {
        matching.push(filter_sql(context, &reference.parent_table, "p", filter));
    }
    let child_table = context.table(&reference.child_table);
    let checked = format!("select count(*) from {child_table} as c{}", where_clause(&scope));
    let mut offending_scope = scope;
    offending_scope.push(format!(
        "not exists (select 1 from {} as p{})",
        context.table(&reference.parent_table),
        where_clause(&matching)
    ));
    let offending = format!(
        "select {} from {child_table} as c{}",
        context.key(&reference.child_table, "c"),
        where_clause(&offending_scope)
    );
    CheckSql {
        checked: Some(checked),
        offending,
        ledger: None,
    }
}

/// The child rows a reference checks, under `alias`: a key is set (not null; not a "none"
/// sentinel when zero means none), and the child's discriminator matches.
pub fn scope(context: &Context<'_>, reference: &Reference, alias: &str) -> Vec<String> {
    let child = column(alias, &reference.child_column);
    let mut scope = vec![format!("{child} is not null")];
    if reference.zero_means_none {
        scope.push(
            match context.kind(&reference.child_table, &reference.child_column) {
                ColumnKind::Integer | ColumnKind::Decimal | ColumnKind::Float => format!("{child} <> 0"),
                _ => format!("{child}::text not in ('', '0')"),
            },
        );
    }
    if let Some(filter) = &reference.child_filter {
        scope.push(filter_sql(context, &reference.child_table, alias, filter));
    }
    scope
}

/// `column = value`, where the profile records the value as text. Boolean columns compare as 0/1
/// (OpenDental enums the DDL declared boolean: a value above 1 can never match).
fn filter_sql(context: &Context<'_>, table: &str, alias: &str, filter: &Filter) -> String {
    let expression = column(alias, &filter.column);
    match context.kind(table, &filter.column) {
        ColumnKind::Boolean => format!("{expression}::int::text = {}", quote_literal(&filter.value)),
        ColumnKind::Integer if filter.value.parse::<i64>().is_ok() => {
            format!("{expression} = {}", filter.value)
        }
        _ => format!("{expression}::text = {}", quote_literal(&filter.value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::ColumnKind::*;
    use crate::verify::checks::test_support;

    #[test]
    fn polymorphic_and_category_keys_filter_both_sides() {
        let profile = test_support::profile(&[
            (
                "payplanlink",
                &["PayPlanLinkNum"],
                &[
                    ("PayPlanLinkNum", Integer),
                    ("FKey", Integer),
                    ("LinkType", Boolean),
                ],
            ),
            ("procedurelog", &["ProcNum"], &[("ProcNum", Integer)]),
            (
                "definition",
                &["DefNum"],
                &[("DefNum", Integer), ("Category", Integer)],
            ),
        ]);
        let context = Context {
            profile: &profile,
            schema: "raw",
            as_of: test_support::as_of(),
        };
        let sql = build(
            &context,
            &Reference {
                child_table: "payplanlink".into(),
                child_column: "FKey".into(),
                parent_table: "procedurelog".into(),
                parent_column: "ProcNum".into(),
                zero_means_none: true,
                child_filter: Some(Filter {
                    column: "LinkType".into(),
                    value: "2".into(),
                }),
                parent_filter: None,
            },
        );
        assert_eq!(
            sql.offending,
            "select c.\"PayPlanLinkNum\" from \"raw\".\"payplanlink\" as c where c.\"FKey\" is not null \
             and c.\"FKey\" <> 0 and c.\"LinkType\"::int::text = '2' and not exists (select 1 from \
             \"raw\".\"procedurelog\" as p where p.\"ProcNum\" = c.\"FKey\")"
        );
        let sql = build(
            &context,
            &Reference {
                child_table: "payplanlink".into(),
                child_column: "FKey".into(),
                parent_table: "definition".into(),
                parent_column: "DefNum".into(),
                zero_means_none: false,
                child_filter: None,
                parent_filter: Some(Filter {
                    column: "Category".into(),
                    value: "1".into(),
                }),
            },
        );
        assert!(!sql.offending.contains("<> 0"), "{}", sql.offending);
        assert!(
            sql.offending
                .contains("where p.\"DefNum\" = c.\"FKey\" and p.\"Category\" = 1)"),
            "{}",
            sql.offending
        );
        assert_eq!(
            sql.checked.unwrap(),
            "select count(*) from \"raw\".\"payplanlink\" as c where c.\"FKey\" is not null"
        );
    }
}
