//! SQL001 custom-query: a query written by the user returned offending rows.
//!
//! **What it checks.** Anything SQL can say. The rule's `sql` is a SELECT that returns the
//! offending rows, first column = the row's key (it orders the samples). It runs like every other
//! check: inside the read-only transaction, with the statement timeout, `search_path` set to the
//! verified schema (so tables can be named unqualified), and the as-of date available as
//! `current_setting('dentsynth.as_of')::date`. An optional `checked_sql` returns the number of rows
//! looked at. A query that tries to write fails the run (exit 2): verify never writes.
//!
//! **Why it matters.** Contract rules that span tables in ways no other kind expresses (a window on
//! distinct (date, provider) pairs; paysplits that reference both a procedure and an adjustment)
//! and project-specific invariants, without writing Rust.
//!
//! **Example.**
//!
//! ```toml
//! [[rule]]
//! id = "dbt.sql.paysplit-proc-and-adj"
//! kind = "custom-query"
//! table = "paysplit"
//! sql = '''
//! select "SplitNum" from paysplit where "ProcNum" <> 0 and "AdjNum" <> 0
//! '''
//! ```

use super::CheckSql;

pub fn build(sql: &str, checked_sql: Option<&str>) -> CheckSql {
    CheckSql {
        checked: checked_sql.map(str::to_string),
        offending: sql.to_string(),
        ledger: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_is_used_as_written() {
        let sql = build("select 1 where false", Some("select 7"));
        assert_eq!(sql.offending, "select 1 where false");
        assert_eq!(sql.checked.as_deref(), Some("select 7"));
    }
}
