//! NN001 null-in-required-column: a column that must be filled holds NULL.
//!
//! **What it checks.** Each listed column of the table, optionally only on the rows that match the
//! rule's `where` conditions, is never NULL. One rule lists several columns and expands to one
//! instance per column (`dbt.nn.claim` -> `dbt.nn.claim.ClaimFee`, ...), so that each finding maps
//! to one dbt `not_null` test.
//!
//! **Why it matters.** The raw OpenDental DDL declares only primary keys NOT NULL; dbt_dental_models
//! has ~1,900 `not_null` tests, and a NULL in any error-severity one fails `dbt build` and skips
//! every model downstream (contract §7.1). A conditional rule covers tests such as "DateEntryC is
//! set for completed procedures".
//!
//! **Example.**
//!
//! ```toml
//! [[rule]]
//! id = "dbt.nn.procedurelog.completed"
//! kind = "null-in-required-column"
//! table = "procedurelog"
//! columns = ["DateEntryC", "DateComplete"]
//! where = [{ column = "ProcStatus", in = [2] }]
//! ```

use super::{column, where_clause, CheckSql, Context};
use crate::verify::rules::Condition;

pub fn build(context: &Context<'_>, table: &str, name: &str, conditions: &[Condition]) -> CheckSql {
    let scope = context.conditions(conditions);
    let mut offending = scope.clone();
    offending.push(format!("{} is null", column("t", name)));
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
    use crate::verify::rules::{ColumnRef, Test, Value};

    #[test]
    fn conditional_not_null() {
        let profile = test_support::profile(&[(
            "procedurelog",
            &["ProcNum"],
            &[
                ("ProcNum", Integer),
                ("ProcStatus", Integer),
                ("DateEntryC", Date),
            ],
        )]);
        let context = Context {
            profile: &profile,
            schema: "raw",
            as_of: test_support::as_of(),
        };
        let condition = Condition {
            column: ColumnRef {
                table: "procedurelog".into(),
                column: "ProcStatus".into(),
            },
            test: Test::In(vec![Value::Literal("2".into())]),
        };
        let sql = build(&context, "procedurelog", "DateEntryC", &[condition]);
        assert_eq!(
            sql.offending,
            "select t.\"ProcNum\" from \"raw\".\"procedurelog\" as t where t.\"ProcStatus\" in ('2') and t.\"DateEntryC\" is null"
        );
        assert_eq!(
            sql.checked.unwrap(),
            "select count(*) from \"raw\".\"procedurelog\" as t where t.\"ProcStatus\" in ('2')"
        );
    }
}
