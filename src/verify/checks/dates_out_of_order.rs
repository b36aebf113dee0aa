//! DT001 dates-out-of-order: a date comes before one it must follow, or lies outside its window.
//!
//! **What it checks.** Three shapes, all ignoring dates that are not set (NULL, or OpenDental's
//! `0001-01-01` / `1900-01-01` sentinels):
//!
//! - `chain`: dates that must be in order, within a row (created <= updated) or across tables
//!   reached by `join` (procedure date <= claim sent <= claim received <= insurance check date).
//!   Every set date must be <= every later set date (< with `strict`), so a missing middle date
//!   does not hide the outer pair. A date compared with a timestamp compares by day.
//! - `sequence`: a timestamp that must increase along `order` within each `partition`
//!   (appointment-history rows per appointment), strictly with `strict`.
//! - `column` with `not_before` / `not_after`: a window, as literal dates or `as-of`, `as-of+N`,
//!   `as-of-N` (days). As with dbt's `<= current_date`, a timestamp is after `as-of` as soon as it
//!   is past midnight at the start of the as-of day.
//!
//! **Why it matters.** dbt_dental_models fails on future-dated completed appointments, claims
//! received before they were sent, payments edited before they were entered (contract §4.2), and
//! its staging silently drops rows dated before 2023-01-01 (§3.7); reports built on a demo with
//! dates out of order show negative lags and impossible timelines.
//!
//! **Example.**
//!
//! ```toml
//! [[rule]]
//! id = "dt.claim-timeline"
//! kind = "dates-out-of-order"
//! table = "claimproc"
//! join = [
//!   { from = "ProcNum", to = "procedurelog.ProcNum" },
//!   { from = "ClaimNum", to = "claim.ClaimNum" },
//!   { from = "ClaimPaymentNum", to = "claimpayment.ClaimPaymentNum" },
//! ]
//! chain = ["procedurelog.ProcDate", "claim.DateSent", "claim.DateReceived", "claimpayment.CheckDate"]
//! where = [{ column = "Status", in = [1, 4] }]
//! ```

use super::{column, is_set, where_clause, CheckSql, Context};
use crate::db::quote_ident;
use crate::profile::ColumnKind;
use crate::verify::rules::{ColumnRef, Dates};

pub fn build(context: &Context<'_>, table: &str, dates: &Dates) -> CheckSql {
    match dates {
        Dates::Chain {
            columns,
            joins,
            strict,
            conditions,
        } => {
            let alias = |name: &str| quote_ident(name);
            let mut from = format!("{} as {}", context.table(table), alias(table));
            for join in joins {
                let left = column(&alias(&join.from.table), &join.from.column);
                let right = column(&alias(&join.to.table), &join.to.column);
                let same = context.data_type(&join.from.table, &join.from.column)
                    == context.data_type(&join.to.table, &join.to.column);
                let on = if same {
                    format!("{right} = {left}")
                } else {
                    format!("{right}::text = {left}::text")
                };
                from.push_str(&format!(
                    " left join {} as {} on {on}",
                    context.table(&join.to.table),
                    alias(&join.to.table)
                ));
            }
            let scope: Vec<String> = conditions
                .iter()
                .map(|condition| context.condition(condition, &|t| alias(t)))
                .collect();
            let mut pairs = Vec::new();
            for (index, earlier) in columns.iter().enumerate() {
                for later in &columns[index + 1..] {
                    pairs.push(out_of_order(context, earlier, later, *strict, &alias));
                }
            }
            let mut offending = scope.clone();
            offending.push(format!("({})", pairs.join(" or ")));
            CheckSql {
                checked: Some(format!("select count(*) from {from}{}", where_clause(&scope))),
                offending: format!(
                    "select {} from {from}{}",
                    context.key(table, &alias(table)),
                    where_clause(&offending)
                ),
                ledger: None,
            }
        }
        Dates::Sequence {
            column: name,
            partition,
            order,
            strict,
            conditions,
        } => {
            let value = column("t", name);
            let mut scope = context.conditions(conditions);
            scope.push(is_set(&value));
            let list = |columns: &[String]| {
                columns
                    .iter()
                    .map(|c| column("t", c))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let inner = format!(
                "select {} as k, {value} as value, lag({value}) over (partition by {} order by {}) as previous \
                 from {} as t{}",
                context.key(table, "t"),
                list(partition),
                list(order),
                context.table(table),
                where_clause(&scope)
            );
            let operator = if *strict { ">=" } else { ">" };
            CheckSql {
                checked: Some(format!(
                    "select count(*) from {} as t{}",
                    context.table(table),
                    where_clause(&scope)
                )),
                offending: format!(
                    "select k from ({inner}) as s where s.previous is not null and s.previous {operator} s.value"
                ),
                ledger: None,
            }
        }
        Dates::Bounds {
            column: name,
            not_before,
            not_after,
            conditions,
        } => {
            let value = column("t", name);
            let mut scope = context.conditions(conditions);
            scope.push(is_set(&value));
            let mut outside = Vec::new();
            if let Some(bound) = not_before {
                outside.push(format!("{value} < {}", context.value(bound)));
            }
            if let Some(bound) = not_after {
                outside.push(format!("{value} > {}", context.value(bound)));
            }
            let mut offending = scope.clone();
            offending.push(format!("({})", outside.join(" or ")));
            CheckSql {
                checked: Some(format!(
                    "select count(*) from {} as t{}",
                    context.table(table),
                    where_clause(&scope)
                )),
                offending: format!(
                    "select {} from {} as t{}",
                    context.key(table, "t"),
                    context.table(table),
                    where_clause(&offending)
                ),
                ledger: None,
            }
        }
    }
}

/// Both dates set and `earlier` after `later` (or equal, when strict). Compares by day when either
/// side is a date.
fn out_of_order(
    context: &Context<'_>,
    earlier: &ColumnRef,
    later: &ColumnRef,
    strict: bool,
    alias: &dyn Fn(&str) -> String,
) -> String {
    let a = column(&alias(&earlier.table), &earlier.column);
    let b = column(&alias(&later.table), &later.column);
    let by_day = context.kind(&earlier.table, &earlier.column) == ColumnKind::Date
        || context.kind(&later.table, &later.column) == ColumnKind::Date;
    let (left, right) = if by_day {
        (format!("{a}::date"), format!("{b}::date"))
    } else {
        (a.clone(), b.clone())
    };
    let operator = if strict { ">=" } else { ">" };
    format!(
        "({} and {} and {left} {operator} {right})",
        is_set(&a),
        is_set(&b)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::ColumnKind::*;
    use crate::verify::checks::test_support;
    use crate::verify::rules::{Join, Value};

    fn context_profile() -> crate::profile::Profile {
        test_support::profile(&[
            (
                "paysplit",
                &["SplitNum"],
                &[("SplitNum", Integer), ("ProcNum", Integer), ("DatePay", Date)],
            ),
            (
                "procedurelog",
                &["ProcNum"],
                &[("ProcNum", Integer), ("AptNum", Integer)],
            ),
            (
                "appointment",
                &["AptNum"],
                &[("AptNum", Integer), ("AptDateTime", Timestamp)],
            ),
            (
                "histappointment",
                &["HistApptNum"],
                &[
                    ("HistApptNum", Integer),
                    ("AptNum", Integer),
                    ("HistDateTStamp", Timestamp),
                ],
            ),
        ])
    }

    fn column_ref(table: &str, column: &str) -> ColumnRef {
        ColumnRef {
            table: table.into(),
            column: column.into(),
        }
    }

    #[test]
    fn a_chain_joins_and_compares_dates_with_timestamps_by_day() {
        let profile = context_profile();
        let context = Context {
            profile: &profile,
            schema: "raw",
            as_of: test_support::as_of(),
        };
        let sql = build(
            &context,
            "paysplit",
            &Dates::Chain {
                columns: vec![
                    column_ref("appointment", "AptDateTime"),
                    column_ref("paysplit", "DatePay"),
                ],
                joins: vec![
                    Join {
                        from: column_ref("paysplit", "ProcNum"),
                        to: column_ref("procedurelog", "ProcNum"),
                    },
                    Join {
                        from: column_ref("procedurelog", "AptNum"),
                        to: column_ref("appointment", "AptNum"),
                    },
                ],
                strict: false,
                conditions: vec![],
            },
        );
        assert_eq!(
            sql.offending,
            "select \"paysplit\".\"SplitNum\" from \"raw\".\"paysplit\" as \"paysplit\" left join \"raw\".\"procedurelog\" \
             as \"procedurelog\" on \"procedurelog\".\"ProcNum\" = \"paysplit\".\"ProcNum\" left join \"raw\".\"appointment\" \
             as \"appointment\" on \"appointment\".\"AptNum\" = \"procedurelog\".\"AptNum\" where (((\"appointment\".\"AptDateTime\" \
             is not null and \"appointment\".\"AptDateTime\" > date '1900-01-01') and (\"paysplit\".\"DatePay\" is not null and \
             \"paysplit\".\"DatePay\" > date '1900-01-01') and \"appointment\".\"AptDateTime\"::date > \"paysplit\".\"DatePay\"::date))"
        );
    }

    #[test]
    fn a_sequence_uses_lag_and_bounds_use_as_of() {
        let profile = context_profile();
        let context = Context {
            profile: &profile,
            schema: "raw",
            as_of: test_support::as_of(),
        };
        let sql = build(
            &context,
            "histappointment",
            &Dates::Sequence {
                column: "HistDateTStamp".into(),
                partition: vec!["AptNum".into()],
                order: vec!["HistApptNum".into()],
                strict: true,
                conditions: vec![],
            },
        );
        assert!(
            sql.offending.contains(
                "lag(t.\"HistDateTStamp\") over (partition by t.\"AptNum\" order by t.\"HistApptNum\")"
            ) && sql.offending.ends_with("s.previous >= s.value"),
            "{}",
            sql.offending
        );
        let sql = build(
            &context,
            "appointment",
            &Dates::Bounds {
                column: "AptDateTime".into(),
                not_before: Some(Value::Literal("2023-01-01".into())),
                not_after: Some(Value::AsOf(0)),
                conditions: vec![],
            },
        );
        assert!(
            sql.offending
                .ends_with("(t.\"AptDateTime\" < '2023-01-01' or t.\"AptDateTime\" > date '2026-06-30')"),
            "{}",
            sql.offending
        );
    }
}
