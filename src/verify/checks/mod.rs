//! Check kinds, one file each: what the kind checks, why it matters, an example rule, the SQL
//! builder and its tests. A builder turns a validated rule instance into SQL text; the engine runs
//! it. Every query is a read; every identifier is quoted with `db::quote_ident`, every literal with
//! `db::quote_literal`; money is summed as `numeric`.
//!
//! The contract between builders and the engine (`CheckSql`): `checked` returns one number (the
//! rows in scope); `offending` returns the offending rows, first column = the row's key (its
//! primary key, a `row(...)` of a composite key, or `ctid`), which orders the samples.

pub mod custom_query;
pub mod dates_out_of_order;
pub mod duplicate_key;
pub mod ledger_imbalance;
pub mod null_in_required_column;
pub mod orphaned_reference;
pub mod row_count_out_of_range;
pub mod status_inconsistency;
pub mod value_not_accepted;

use chrono::NaiveDate;

use super::rules::{Condition, Instance, Spec, Test, Value};
use crate::db::{quote_ident, quote_literal};
use crate::profile::{ColumnKind, Profile};

/// The SQL of one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckSql {
    /// One number: the rows the check looks at (None: unknown).
    pub checked: Option<String>,
    /// The offending rows; the first column is the key.
    pub offending: String,
    /// ledger-imbalance only.
    pub ledger: Option<LedgerSql>,
}

/// The extra queries of ledger-imbalance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerSql {
    /// One row: production, collections, adjustments, ledger balance, stored balance, residual (text),
    /// then the count of offending rows (int8) and up to five of their keys (text[]), in key order:
    /// the ledger's transactions are summed once for the verdict and the totals together.
    pub totals: String,
    /// Rows of (provider, month, residual, rows), at most ten.
    pub breakdown: String,
}

/// What builders need besides the instance.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    pub profile: &'a Profile,
    pub schema: &'a str,
    pub as_of: NaiveDate,
}

/// A check that one aggregate over its table can settle when it finds nothing: the instances of
/// a table with the same `where` share one scan (`count(*) filter (...)` per instance), and only
/// those with violations run their own query for samples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// `from <table> as t [where <the rule's conditions>]`: the scan the instances share.
    pub scan: String,
    /// The rows the instance checks, within the scan.
    pub checked: String,
    /// The offending rows, within the scan.
    pub violation: String,
}

/// The probe of an instance, for the kinds whose offending rows are one table's rows matching a
/// predicate (null-in-required-column, value-not-accepted). Orphaned-reference and duplicate-key
/// instances probe only the rows in their scope (their violations need a join or a grouping):
/// the shared scan counts what they check, and they run their own query only when that count is
/// not zero (with the count known), so their separate counting scan is saved.
pub fn probe(context: &Context<'_>, instance: &Instance) -> Option<Probe> {
    let scan = |conditions: &[Condition]| {
        format!(
            "from {} as t{}",
            context.table(&instance.table),
            where_clause(&context.conditions(conditions))
        )
    };
    match &instance.spec {
        Spec::NotNull {
            column: name,
            conditions,
        } => Some(Probe {
            scan: scan(conditions),
            checked: "true".to_string(),
            violation: format!("{} is null", column("t", name)),
        }),
        Spec::Accepted(accepted) => {
            let (checked, violation) = value_not_accepted::predicates(context, accepted);
            Some(Probe {
                scan: scan(&accepted.conditions),
                checked,
                violation,
            })
        }
        Spec::Orphan(reference) if reference.child_table == instance.table => {
            let in_scope = orphaned_reference::scope(context, reference, "t").join(" and ");
            Some(Probe {
                scan: scan(&[]),
                checked: in_scope.clone(),
                violation: in_scope,
            })
        }
        Spec::Unique { columns, conditions } => {
            let in_scope = columns
                .iter()
                .map(|c| format!("{} is not null", column("t", c)))
                .collect::<Vec<_>>()
                .join(" and ");
            let in_scope = if in_scope.is_empty() {
                "true".to_string()
            } else {
                in_scope
            };
            Some(Probe {
                scan: scan(conditions),
                checked: in_scope.clone(),
                violation: in_scope,
            })
        }
        _ => None,
    }
}

/// Builds the SQL of one instance.
pub fn build(context: &Context<'_>, instance: &Instance) -> CheckSql {
    match &instance.spec {
        Spec::Orphan(reference) => orphaned_reference::build(context, reference),
        Spec::Dates(dates) => dates_out_of_order::build(context, &instance.table, dates),
        Spec::Ledger {
            scope,
            tolerance,
            sources,
        } => ledger_imbalance::build(context, *scope, *tolerance, sources),
        Spec::Status(situation) => status_inconsistency::build(context, *situation),
        Spec::RowCount { conditions, min, max } => {
            row_count_out_of_range::build(context, &instance.table, conditions, *min, *max)
        }
        Spec::NotNull { column, conditions } => {
            null_in_required_column::build(context, &instance.table, column, conditions)
        }
        Spec::Unique { columns, conditions } => {
            duplicate_key::build(context, &instance.table, columns, conditions)
        }
        Spec::Accepted(accepted) => value_not_accepted::build(context, &instance.table, accepted),
        Spec::Custom { sql, checked_sql } => custom_query::build(sql, checked_sql.as_deref()),
    }
}

impl Context<'_> {
    /// `"schema"."table"`.
    pub fn table(&self, name: &str) -> String {
        format!("{}.{}", quote_ident(self.schema), quote_ident(name))
    }

    /// The key expression of `table` under `alias`: its primary key column, a `row(...)` of a
    /// composite key, or `ctid` when it has none.
    pub fn key(&self, table: &str, alias: &str) -> String {
        let key = self
            .profile
            .table(table)
            .and_then(|t| t.structure.primary_key.as_ref())
            .map(|key| key.columns.clone())
            .unwrap_or_default();
        match key.as_slice() {
            [] => format!("{alias}.ctid"),
            [single] => column(alias, single),
            several => format!(
                "row({})",
                several
                    .iter()
                    .map(|c| column(alias, c))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }

    /// The kind of a column (Other when the profile does not know it).
    pub fn kind(&self, table: &str, column: &str) -> ColumnKind {
        self.profile
            .table(table)
            .and_then(|t| t.structure.column(column))
            .map(|c| c.kind)
            .unwrap_or(ColumnKind::Other)
    }

    /// The data type of a column as the profile records it.
    pub fn data_type(&self, table: &str, column: &str) -> Option<&str> {
        self.profile
            .table(table)
            .and_then(|t| t.structure.column(column))
            .map(|c| c.data_type.as_str())
    }

    /// A value as SQL: a quoted literal (PostgreSQL coerces it to the column's type), or the
    /// as-of date (plus its offset) as a date literal.
    pub fn value(&self, value: &Value) -> String {
        match value {
            Value::Literal(text) => quote_literal(text),
            Value::AsOf(days) => date_literal(self.as_of + chrono::Duration::days(*days)),
        }
    }

    /// One condition, with `alias(table)` giving the alias of each table.
    pub fn condition(&self, condition: &Condition, alias: &dyn Fn(&str) -> String) -> String {
        let expression = column(&alias(&condition.column.table), &condition.column.column);
        let list = |values: &[Value]| {
            values
                .iter()
                .map(|v| self.value(v))
                .collect::<Vec<_>>()
                .join(", ")
        };
        match &condition.test {
            Test::In(values) => format!("{expression} in ({})", list(values)),
            Test::NotIn(values) => {
                format!("({expression} is null or {expression} not in ({}))", list(values))
            }
            Test::Range { from, to } => {
                let mut parts = Vec::new();
                if let Some(from) = from {
                    parts.push(format!("{expression} >= {}", self.value(from)));
                }
                if let Some(to) = to {
                    parts.push(format!("{expression} <= {}", self.value(to)));
                }
                format!("({})", parts.join(" and "))
            }
            Test::Null(true) => format!("{expression} is null"),
            Test::Null(false) => format!("{expression} is not null"),
        }
    }

    /// Every condition, for a query over one table aliased `t`.
    pub fn conditions(&self, conditions: &[Condition]) -> Vec<String> {
        conditions
            .iter()
            .map(|condition| self.condition(condition, &|_| "t".to_string()))
            .collect()
    }
}

/// `alias."column"`.
pub fn column(alias: &str, name: &str) -> String {
    format!("{alias}.{}", quote_ident(name))
}

/// `date 'YYYY-MM-DD'`.
pub fn date_literal(date: NaiveDate) -> String {
    format!("date {}", quote_literal(&date.format("%Y-%m-%d").to_string()))
}

/// ` where a and b`, or nothing.
pub fn where_clause(parts: &[String]) -> String {
    if parts.is_empty() {
        String::new()
    } else {
        format!(" where {}", parts.join(" and "))
    }
}

/// A date or timestamp that is set: not NULL and after OpenDental's "not set" sentinels
/// (0001-01-01 and 1900-01-01, which dbt_dental_models' `clean_opendental_date` maps to NULL).
pub fn is_set(expression: &str) -> String {
    format!("({expression} is not null and {expression} > date '1900-01-01')")
}

#[cfg(test)]
pub(crate) mod test_support {
    //! A small profile for the builders' unit tests.
    use std::collections::BTreeMap;

    use crate::profile::{
        Column, ColumnKind, KeyConstraint, Profile, Settings, Source, Table, TableStats, TableStructure,
    };

    /// (table, primary key columns, columns with their kinds).
    pub type TableSpec<'a> = (&'a str, &'a [&'a str], &'a [(&'a str, ColumnKind)]);

    pub fn profile(tables: &[TableSpec<'_>]) -> Profile {
        let mut map = BTreeMap::new();
        for (name, key, columns) in tables {
            map.insert(
                name.to_string(),
                Table {
                    name: name.to_string(),
                    structure: TableStructure {
                        columns: columns
                            .iter()
                            .enumerate()
                            .map(|(index, (column, kind))| Column {
                                name: column.to_string(),
                                position: index as u32 + 1,
                                data_type: match kind {
                                    ColumnKind::Integer => "bigint",
                                    ColumnKind::Date => "date",
                                    ColumnKind::Timestamp => "timestamp without time zone",
                                    ColumnKind::Float => "double precision",
                                    ColumnKind::Boolean => "boolean",
                                    _ => "text",
                                }
                                .to_string(),
                                kind: *kind,
                                nullable: true,
                                default: None,
                                identity: None,
                                max_length: None,
                                numeric_precision: None,
                                numeric_scale: None,
                            })
                            .collect(),
                        primary_key: (!key.is_empty()).then(|| KeyConstraint {
                            name: format!("{name}_pkey"),
                            columns: key.iter().map(|k| k.to_string()).collect(),
                        }),
                        unique_constraints: vec![],
                        check_constraints: vec![],
                        indexes: vec![],
                        foreign_keys: vec![],
                    },
                    stats: TableStats::default(),
                    reference: None,
                },
            );
        }
        Profile {
            format_version: crate::profile::FORMAT_VERSION,
            name: "unit".into(),
            source: Source {
                description: "unit".into(),
                database: "unit".into(),
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
            tables: map,
        }
    }

    pub fn as_of() -> chrono::NaiveDate {
        chrono::NaiveDate::from_ymd_opt(2026, 6, 30).unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::ColumnKind::*;
    use crate::verify::rules::ColumnRef;

    #[test]
    fn keys_conditions_and_as_of_render_as_sql() {
        let profile = test_support::profile(&[
            (
                "claim",
                &["ClaimNum"],
                &[("ClaimNum", Integer), ("DateSent", Date)],
            ),
            ("pair", &["A", "B"], &[("A", Integer), ("B", Integer)]),
            ("loose", &[], &[("A", Integer)]),
        ]);
        let context = Context {
            profile: &profile,
            schema: "raw",
            as_of: test_support::as_of(),
        };
        assert_eq!(context.table("claim"), "\"raw\".\"claim\"");
        assert_eq!(context.key("claim", "t"), "t.\"ClaimNum\"");
        assert_eq!(context.key("pair", "t"), "row(t.\"A\", t.\"B\")");
        assert_eq!(context.key("loose", "t"), "t.ctid");
        let condition = Condition {
            column: ColumnRef {
                table: "claim".into(),
                column: "DateSent".into(),
            },
            test: Test::Range {
                from: Some(Value::Literal("2023-01-01".into())),
                to: Some(Value::AsOf(-1)),
            },
        };
        assert_eq!(
            context.conditions(&[condition]),
            vec!["(t.\"DateSent\" >= '2023-01-01' and t.\"DateSent\" <= date '2026-06-29')"]
        );
        assert_eq!(where_clause(&[]), "");
        assert_eq!(is_set("x"), "(x is not null and x > date '1900-01-01')");
    }
}
