//! The behaviours introspect can measure (see `profile::behaviour`): aggregates over pairs of
//! dates in one row, never a value.

use std::collections::BTreeMap;

use sqlx::PgConnection;

use super::privacy::{identifying_by_name, is_birth_date};
use super::stats::PERCENTILE_ARRAY;
use super::{IntrospectError, Session};
use crate::db::quote_ident;
use crate::profile::{Behaviour, Distribution, TableStructure};

/// A behaviour measured as `later - earlier` in days over the rows of `table` where both are real
/// dates and the difference is not negative.
struct DayLag {
    name: &'static str,
    table: &'static str,
    earlier: &'static str,
    later: &'static str,
}

const DAY_LAGS: [DayLag; 2] = [
    DayLag {
        name: "booking_lead_days",
        table: "appointment",
        earlier: "SecDateTEntry",
        later: "AptDateTime",
    },
    DayLag {
        name: "claim_send_days",
        table: "claim",
        earlier: "DateService",
        later: "DateSent",
    },
];

/// Rows measured, min, max, mean and the seven percentiles.
type LagRow = (i64, Option<f64>, Option<f64>, Option<f64>, Option<Vec<f64>>);

/// Measures the behaviours of an OpenDental schema whose tables and columns are there. A behaviour
/// over fewer than `min_group_size` rows is left out (the built-in profile supplies it).
pub async fn measure(
    session: &Session,
    connection: &mut PgConnection,
    structures: &BTreeMap<String, TableStructure>,
) -> Result<BTreeMap<String, Behaviour>, IntrospectError> {
    let mut measured = BTreeMap::new();
    for lag in DAY_LAGS {
        let Some(structure) = structures.get(lag.table) else {
            continue;
        };
        // Both columns are dates that privacy lets through (a birth date never is).
        let usable = |c: &str| {
            structure.column(c).is_some_and(|c| {
                c.kind.is_temporal()
                    && !is_birth_date(&c.name, c.kind)
                    && !identifying_by_name(&c.name, c.kind)
            })
        };
        if !usable(lag.earlier) || !usable(lag.later) {
            continue;
        }
        let (earlier, later) = (quote_ident(lag.earlier), quote_ident(lag.later));
        let sql = format!(
            "select count(*), min(d)::float8, max(d)::float8, avg(d)::float8,
                    percentile_cont({PERCENTILE_ARRAY}) within group (order by d)
             from (select ({later}::date - {earlier}::date) as d from {}
                   where {earlier} >= '1900-01-02' and {later} >= '1900-01-02') lags
             where d >= 0",
            quote_ident(lag.table)
        );
        let context = format!("measuring {} on {}", lag.name, lag.table);
        let (rows, min, max, mean, percentiles): LagRow = sqlx::query_as(&sql)
            .fetch_one(&mut *connection)
            .await
            .map_err(|error| session.error(error, &context))?;
        if (rows as u64) < session.options.min_group_size.max(1) {
            continue;
        }
        if let Some(distribution) = Distribution::from_measured(min, max, mean, percentiles) {
            let source = format!(
                "introspect: {}.{} - {} in days over {rows} rows",
                lag.table, lag.later, lag.earlier
            );
            measured.insert(lag.name.to_string(), Behaviour { distribution, source });
        }
    }
    Ok(measured)
}
