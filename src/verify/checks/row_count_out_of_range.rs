//! VOL001 row-count-out-of-range: a table (or a filtered part of it) has too few or too many rows.
//!
//! **What it checks.** The number of rows in scope (the rule's `where`) lies within `min`..=`max`
//! (either bound may be left out). A violation is one row whose key is the count itself.
//!
//! **Why it matters.** dbt_dental_models gates its build on row-count windows
//! (`expect_table_row_count_to_be_between`, `at_least_one`, `equal_rowcount`): 5,000-15,000 staged
//! recalls, 100-10,000 definitions, at least one history row, an empty `clinic` table... A demo
//! outside a window fails the build although every row is valid (contract §3.8 and §7 items 1-3).
//! The same kind keeps a generator's volumes within expected windows.
//!
//! **Example.**
//!
//! ```toml
//! [[rule]]
//! id = "dbt.vol.recall"
//! kind = "row-count-out-of-range"
//! table = "recall"
//! where = [{ column = "DateDue", from = "2023-01-01", to = "as-of" }]
//! min = 5000
//! max = 15000
//! ```

use super::{where_clause, CheckSql, Context};
use crate::verify::rules::Condition;

pub fn build(
    context: &Context<'_>,
    table: &str,
    conditions: &[Condition],
    min: Option<u64>,
    max: Option<u64>,
) -> CheckSql {
    let count = format!(
        "select count(*) from {} as t{}",
        context.table(table),
        where_clause(&context.conditions(conditions))
    );
    let mut outside = Vec::new();
    if let Some(min) = min {
        outside.push(format!("n < {min}"));
    }
    if let Some(max) = max {
        outside.push(format!("n > {max}"));
    }
    CheckSql {
        checked: Some(count.clone()),
        offending: format!(
            "select n from ({count}) as counted(n) where {}",
            outside.join(" or ")
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
    fn either_bound_may_be_absent() {
        let profile = test_support::profile(&[("clinic", &["ClinicNum"], &[("ClinicNum", Integer)])]);
        let context = Context {
            profile: &profile,
            schema: "raw",
            as_of: test_support::as_of(),
        };
        let sql = build(&context, "clinic", &[], None, Some(0));
        assert_eq!(
            sql.offending,
            "select n from (select count(*) from \"raw\".\"clinic\" as t) as counted(n) where n > 0"
        );
        let sql = build(&context, "clinic", &[], Some(1), Some(9));
        assert!(
            sql.offending.ends_with("where n < 1 or n > 9"),
            "{}",
            sql.offending
        );
    }
}
