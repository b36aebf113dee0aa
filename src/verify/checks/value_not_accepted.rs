//! AV001 value-not-accepted: a value lies outside the accepted set, range or pattern.
//!
//! **What it checks.** Every non-NULL value of the column, on the rows in scope (the rule's
//! `where`), is in `accepted` (when given), is not in `rejected`, lies within `min`..=`max`, and
//! matches the PostgreSQL regular expression `pattern` (compared as text). NULLs are left to
//! null-in-required-column, as dbt's `accepted_values` leaves them.
//!
//! **Why it matters.** dbt_dental_models hard-codes the production clinic's codes: appointment
//! statuses {1, 2, 3, 5, 6}, claim statuses without `P`, the DefNums of payment types, ClinicNum 0
//! only. A realistic value the models do not list still fails an error-severity test (contract §3).
//!
//! **Example.**
//!
//! ```toml
//! [[rule]]
//! id = "dbt.av.claim.ClaimStatus"
//! kind = "value-not-accepted"
//! table = "claim"
//! column = "ClaimStatus"
//! accepted = ["R", "S", "H", "W", "U", "I"]
//! ```

use super::{column, where_clause, CheckSql, Context};
use crate::db::quote_literal;
use crate::verify::rules::{Accepted, Value};

/// The rows in scope beyond the rule's `where` (the column is set), and what makes one wrong.
pub fn predicates(context: &Context<'_>, accepted: &Accepted) -> (String, String) {
    let expression = column("t", &accepted.column);
    let set = format!("{expression} is not null");
    let list = |values: &[Value]| {
        values
            .iter()
            .map(|v| context.value(v))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut wrong = Vec::new();
    if let Some(values) = &accepted.accepted {
        wrong.push(format!("{expression} not in ({})", list(values)));
    }
    if let Some(values) = &accepted.rejected {
        wrong.push(format!("{expression} in ({})", list(values)));
    }
    if let Some(min) = &accepted.min {
        wrong.push(format!("{expression} < {}", context.value(min)));
    }
    if let Some(max) = &accepted.max {
        wrong.push(format!("{expression} > {}", context.value(max)));
    }
    if let Some(pattern) = &accepted.pattern {
        wrong.push(format!("{expression}::text !~ {}", quote_literal(pattern)));
    }
    let violation = format!("{set} and ({})", wrong.join(" or "));
    (set, violation)
}

pub fn build(context: &Context<'_>, table: &str, accepted: &Accepted) -> CheckSql {
    let (set, violation) = predicates(context, accepted);
    let mut scope = context.conditions(&accepted.conditions);
    let mut offending = scope.clone();
    scope.push(set);
    offending.push(violation);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::ColumnKind::*;
    use crate::verify::checks::test_support;

    #[test]
    fn sets_bounds_and_patterns_combine() {
        let profile = test_support::profile(&[(
            "procedurecode",
            &["CodeNum"],
            &[("CodeNum", Integer), ("ProcCode", Text)],
        )]);
        let context = Context {
            profile: &profile,
            schema: "raw",
            as_of: test_support::as_of(),
        };
        let sql = build(
            &context,
            "procedurecode",
            &Accepted {
                column: "ProcCode".into(),
                conditions: vec![],
                accepted: None,
                rejected: Some(vec![Value::Literal("D0000".into())]),
                min: None,
                max: None,
                pattern: Some("^D[0-9]".into()),
            },
        );
        assert_eq!(
            sql.offending,
            "select t.\"CodeNum\" from \"raw\".\"procedurecode\" as t where t.\"ProcCode\" is not null and \
             (t.\"ProcCode\" in ('D0000') or t.\"ProcCode\"::text !~ '^D[0-9]')"
        );
    }
}
