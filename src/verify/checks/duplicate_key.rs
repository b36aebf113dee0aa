//! UQ001 duplicate-key: a combination of columns that must be unique appears more than once.
//!
//! **What it checks.** Among the rows in scope (the rule's `where`) whose listed columns are all
//! non-NULL, no combination of values appears twice. The violations are the duplicated
//! combinations (as dbt's `unique` test counts them), and the samples show those values.
//!
//! **Why it matters.** The raw schema enforces only primary keys, but dbt_dental_models joins
//! lookups without fan-out protection: two `fee` rows for one (FeeSched, CodeNum), or two
//! definitions with the same ItemValue in categories 2-7, duplicate rows downstream and fail the
//! `unique` tests on procedure and provider ids (contract §4.1, item 4).
//!
//! **Example.**
//!
//! ```toml
//! [[rule]]
//! id = "dbt.uq.fee"
//! kind = "duplicate-key"
//! table = "fee"
//! columns = ["FeeSched", "CodeNum"]
//! ```

use super::{column, where_clause, CheckSql, Context};
use crate::verify::rules::Condition;

pub fn build(context: &Context<'_>, table: &str, columns: &[String], conditions: &[Condition]) -> CheckSql {
    let mut scope = context.conditions(conditions);
    scope.extend(columns.iter().map(|c| format!("{} is not null", column("t", c))));
    let list: Vec<String> = columns.iter().map(|c| column("t", c)).collect();
    let key = if list.len() == 1 {
        list[0].clone()
    } else {
        format!("row({})", list.join(", "))
    };
    CheckSql {
        checked: Some(format!(
            "select count(*) from {} as t{}",
            context.table(table),
            where_clause(&scope)
        )),
        offending: format!(
            "select {key} from {} as t{} group by {} having count(*) > 1",
            context.table(table),
            where_clause(&scope),
            list.join(", ")
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
    fn groups_on_the_listed_columns() {
        let profile = test_support::profile(&[(
            "fee",
            &["FeeNum"],
            &[("FeeNum", Integer), ("FeeSched", Integer), ("CodeNum", Integer)],
        )]);
        let context = Context {
            profile: &profile,
            schema: "raw",
            as_of: test_support::as_of(),
        };
        let sql = build(&context, "fee", &["FeeSched".into(), "CodeNum".into()], &[]);
        assert_eq!(
            sql.offending,
            "select row(t.\"FeeSched\", t.\"CodeNum\") from \"raw\".\"fee\" as t where t.\"FeeSched\" is not null \
             and t.\"CodeNum\" is not null group by t.\"FeeSched\", t.\"CodeNum\" having count(*) > 1"
        );
    }
}
