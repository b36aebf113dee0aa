//! Aggregate statistics of one table, computed in SQL: counts, fractions, percentiles and
//! histograms only. Values leave the database only for categorical columns that are not
//! identifying, and only when at least `min_group_size` rows share them.

use std::collections::BTreeMap;

use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::privacy::{identifying_by_kind, identifying_by_name, is_birth_date};
use super::{IntrospectError, Session};
use crate::db::quote_ident;
use crate::profile::{
    round, Categories, ColumnKind, ColumnStats, Distribution, TableStats, TableStructure, Temporal,
};

/// Columns with at most this many distinct values are categorical candidates.
const CATEGORICAL_MAX_DISTINCT: i64 = 50;
/// Enum and definition-key columns known from a map stay categorical up to this many values.
const MAPPED_CATEGORICAL_MAX_DISTINCT: i64 = 1000;
/// Columns per aggregate query (PostgreSQL allows 1,664 result columns).
const COLUMNS_PER_QUERY: usize = 24;

pub(crate) const PERCENTILE_ARRAY: &str = "array[0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99]::float8[]";

/// How a column is treated.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Treatment {
    /// Only null fraction and (text) length statistics.
    Identifying,
    /// Null fraction, sentinels and an age-band histogram.
    BirthDate,
    /// Everything that applies to its kind.
    Measured,
}

/// The `FROM` clause of a table: the table itself, or a repeatable Bernoulli sample of it.
pub(crate) struct Source {
    pub from: String,
    relation: String,
    sample: String,
    pub sample_percent: Option<f64>,
}

impl Source {
    pub(crate) fn new(session: &Session, table: &str, row_count: u64) -> Self {
        let relation = format!("{}.{}", quote_ident(&session.schema), quote_ident(table));
        match session.options.sample_rows {
            Some(limit) if row_count > limit && row_count > 0 => {
                let percent = round((limit as f64 * 100.0 / row_count as f64).clamp(0.0001, 100.0));
                let sample = format!("tablesample bernoulli ({percent}) repeatable (20261126)");
                Self {
                    from: format!("{relation} {sample}"),
                    relation,
                    sample,
                    sample_percent: Some(percent),
                }
            }
            _ => Self {
                from: relation.clone(),
                relation,
                sample: String::new(),
                sample_percent: None,
            },
        }
    }

    /// The FROM item with an alias (the alias goes before TABLESAMPLE).
    pub(crate) fn aliased(&self, alias: &str) -> String {
        format!("{} {alias} {}", self.relation, self.sample)
            .trim_end()
            .to_string()
    }
}

pub(crate) async fn row_count(
    session: &Session,
    connection: &mut PgConnection,
    table: &str,
) -> Result<u64, IntrospectError> {
    let sql = format!(
        "select count(*) from {}.{}",
        quote_ident(&session.schema),
        quote_ident(table)
    );
    let count: i64 = sqlx::query_scalar(&sql)
        .fetch_one(&mut *connection)
        .await
        .map_err(|error| session.error(error, &format!("counting rows of {table}")))?;
    Ok(count as u64)
}

/// Computes the statistics of one table. `mapped_categorical` says whether a column is known to hold
/// enum values or definition keys.
pub(crate) async fn table_stats(
    session: &Session,
    connection: &mut PgConnection,
    table: &str,
    structure: &TableStructure,
    mapped_categorical: &(dyn Fn(&str) -> bool + Sync),
) -> Result<TableStats, IntrospectError> {
    let row_count = row_count(session, connection, table).await?;
    let mut stats = TableStats {
        row_count,
        ..Default::default()
    };
    if row_count == 0 {
        return Ok(stats);
    }
    let source = Source::new(session, table, row_count);
    stats.sample_percent = source.sample_percent;
    let context = |what: &str| format!("{what} of {table}");

    for chunk in structure.columns.chunks(COLUMNS_PER_QUERY) {
        let mut select = vec!["count(*)".to_string()];
        let mut plans = Vec::new();
        for column in chunk {
            let treatment = if is_birth_date(&column.name, column.kind) {
                Treatment::BirthDate
            } else if identifying_by_kind(column.kind) || identifying_by_name(&column.name, column.kind) {
                Treatment::Identifying
            } else {
                Treatment::Measured
            };
            let plan = ColumnPlan::new(&column.name, column.kind, treatment, select.len());
            select.extend(plan.expressions.iter().cloned());
            plans.push(plan);
        }
        let sql = format!("select {} from {}", select.join(", "), source.from);
        let row = sqlx::query(&sql)
            .fetch_one(&mut *connection)
            .await
            .map_err(|error| session.error(error, &context("measuring columns")))?;
        let sampled: i64 = row.try_get(0).unwrap_or(0);
        for plan in plans {
            let column_stats = plan.read(&row, sampled.max(0) as u64)?;
            stats.columns.insert(plan.name.clone(), column_stats);
        }
    }

    // Second pass: histograms, categories and age bands, one query each where they apply.
    for column in &structure.columns {
        let Some(column_stats) = stats.columns.get_mut(&column.name) else {
            continue;
        };
        let quoted = quote_ident(&column.name);
        let non_null = (1.0 - column_stats.null_fraction) > 0.0;
        if !non_null {
            continue;
        }
        if column_stats.age_bands.is_some() {
            column_stats.age_bands = Some(age_bands(session, connection, &source, &quoted, table).await?);
            continue;
        }
        if column_stats.identifying {
            continue;
        }
        if column.kind.is_temporal() && column_stats.temporal.is_some() {
            let temporal = temporal(session, connection, &source, &quoted, column.kind, table).await?;
            column_stats.temporal = temporal;
        }
        let distinct = column_stats.distinct.unwrap_or(0) as i64;
        let mapped = mapped_categorical(&column.name);
        let candidate = column.kind == ColumnKind::Boolean
            || (distinct > 0 && distinct <= CATEGORICAL_MAX_DISTINCT && !column.kind.is_temporal())
            || (mapped && distinct <= MAPPED_CATEGORICAL_MAX_DISTINCT);
        if candidate
            && matches!(
                column.kind,
                ColumnKind::Integer | ColumnKind::Boolean | ColumnKind::Text | ColumnKind::Decimal
            )
        {
            column_stats.categories = Some(
                categories(
                    session,
                    connection,
                    &source,
                    &quoted,
                    table,
                    session.options.min_group_size,
                )
                .await?,
            );
        } else if column.kind == ColumnKind::Text {
            // Not a small categorical set: free text counts as identifying.
            *column_stats = ColumnStats {
                identifying: true,
                null_fraction: column_stats.null_fraction,
                length: column_stats.length.take(),
                ..Default::default()
            };
        }
    }
    Ok(stats)
}

/// The aggregate expressions for one column and where their results sit in the row.
struct ColumnPlan {
    name: String,
    kind: ColumnKind,
    treatment: Treatment,
    first: usize,
    expressions: Vec<String>,
    sentinels: Vec<&'static str>,
}

impl ColumnPlan {
    fn new(name: &str, kind: ColumnKind, treatment: Treatment, first: usize) -> Self {
        let q = quote_ident(name);
        let mut expressions = vec![format!("count({q})")];
        let mut sentinels = Vec::new();
        let length = |expressions: &mut Vec<String>| {
            expressions.push(format!("min(char_length({q}))::float8"));
            expressions.push(format!("max(char_length({q}))::float8"));
            expressions.push(format!("avg(char_length({q}))::float8"));
            expressions.push(format!(
                "percentile_cont({PERCENTILE_ARRAY}) within group (order by char_length({q}))"
            ));
        };
        match treatment {
            Treatment::Identifying => {
                if kind == ColumnKind::Text {
                    length(&mut expressions);
                }
            }
            Treatment::BirthDate => {
                sentinels = vec!["0001-01-01", "1900-01-01"];
                expressions.push(format!("count(*) filter (where {q} < '0001-01-02')"));
                expressions.push(format!(
                    "count(*) filter (where {q} >= '1900-01-01' and {q} < '1900-01-02')"
                ));
            }
            Treatment::Measured => {
                if !matches!(kind, ColumnKind::Json | ColumnKind::Bytes | ColumnKind::Other) {
                    expressions.push(format!("count(distinct {q})"));
                }
                match kind {
                    ColumnKind::Integer | ColumnKind::Decimal | ColumnKind::Float => {
                        sentinels = vec!["0", "-1"];
                        expressions.push(format!("count(*) filter (where {q} = 0)"));
                        expressions.push(format!("count(*) filter (where {q} = -1)"));
                        let regular = format!("filter (where {q} <> 0 and {q} <> -1)");
                        expressions.push(format!("min({q}::float8) {regular}"));
                        expressions.push(format!("max({q}::float8) {regular}"));
                        expressions.push(format!("avg({q}::float8) {regular}"));
                        expressions.push(format!(
                            "percentile_cont({PERCENTILE_ARRAY}) within group (order by {q}::float8) {regular}"
                        ));
                    }
                    ColumnKind::Text => {
                        sentinels = vec!["", "0"];
                        expressions.push(format!("count(*) filter (where {q} = '')"));
                        expressions.push(format!("count(*) filter (where {q} = '0')"));
                        length(&mut expressions);
                    }
                    ColumnKind::Date | ColumnKind::Timestamp => {
                        sentinels = vec!["0001-01-01", "1900-01-01"];
                        expressions.push(format!("count(*) filter (where {q} < '0001-01-02')"));
                        expressions.push(format!(
                            "count(*) filter (where {q} >= '1900-01-01' and {q} < '1900-01-02')"
                        ));
                        expressions.push(format!("(min({q}) filter (where {q} >= '1900-01-02'))::text"));
                        expressions.push(format!("(max({q}) filter (where {q} >= '1900-01-02'))::text"));
                    }
                    _ => {}
                }
            }
        }
        Self {
            name: name.to_string(),
            kind,
            treatment,
            first,
            expressions,
            sentinels,
        }
    }

    fn read(&self, row: &PgRow, sampled: u64) -> Result<ColumnStats, IntrospectError> {
        let mut index = self.first;
        let mut next = || {
            index += 1;
            index - 1
        };
        let get_count = |i: usize| -> u64 { row.try_get::<i64, _>(i).unwrap_or(0).max(0) as u64 };
        let fraction = |count: u64| {
            if sampled == 0 {
                0.0
            } else {
                round(count as f64 / sampled as f64)
            }
        };
        let non_null = get_count(next());
        let mut stats = ColumnStats {
            identifying: self.treatment != Treatment::Measured,
            null_fraction: fraction(sampled - non_null.min(sampled)),
            ..Default::default()
        };
        let read_distribution = |row: &PgRow, start: usize| -> Option<Distribution> {
            let min: Option<f64> = row.try_get(start).ok().flatten();
            let max: Option<f64> = row.try_get(start + 1).ok().flatten();
            let mean: Option<f64> = row.try_get(start + 2).ok().flatten();
            let percentiles: Option<Vec<f64>> = row.try_get(start + 3).ok().flatten();
            Distribution::from_measured(min, max, mean, percentiles)
        };
        match self.treatment {
            Treatment::Identifying => {
                if self.kind == ColumnKind::Text {
                    stats.length = read_distribution(row, next());
                }
            }
            Treatment::BirthDate => {
                for sentinel in &self.sentinels {
                    let count = get_count(next());
                    if count > 0 {
                        stats.sentinels.insert(sentinel.to_string(), fraction(count));
                    }
                }
                stats.age_bands = Some(BTreeMap::new());
            }
            Treatment::Measured => {
                if !matches!(
                    self.kind,
                    ColumnKind::Json | ColumnKind::Bytes | ColumnKind::Other
                ) {
                    stats.distinct = Some(get_count(next()));
                }
                for sentinel in &self.sentinels {
                    let count = get_count(next());
                    if count > 0 {
                        stats.sentinels.insert(sentinel.to_string(), fraction(count));
                    }
                }
                match self.kind {
                    ColumnKind::Integer | ColumnKind::Decimal | ColumnKind::Float => {
                        let start = next();
                        stats.numeric = read_distribution(row, start);
                    }
                    ColumnKind::Text => {
                        let start = next();
                        stats.length = read_distribution(row, start);
                    }
                    ColumnKind::Date | ColumnKind::Timestamp => {
                        let min: Option<String> = row.try_get(next()).ok().flatten();
                        let max: Option<String> = row.try_get(next()).ok().flatten();
                        if let (Some(min), Some(max)) = (min, max) {
                            stats.temporal = Some(Temporal {
                                min: Some(min),
                                max: Some(max),
                                ..Default::default()
                            });
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(stats)
    }
}

async fn temporal(
    session: &Session,
    connection: &mut PgConnection,
    source: &Source,
    quoted: &str,
    kind: ColumnKind,
    table: &str,
) -> Result<Option<Temporal>, IntrospectError> {
    let hour = if kind == ColumnKind::Timestamp {
        format!("extract(hour from {quoted})::int4")
    } else {
        "0".to_string()
    };
    let sql = format!(
        "select to_char({quoted}, 'YYYY-MM'), extract(isodow from {quoted})::int4, {hour},
                count(*), min({quoted})::text, max({quoted})::text
         from {} where {quoted} >= '1900-01-02'
         group by grouping sets ((1), (2), (3), ())",
        source.from
    );
    type Row = (
        Option<String>,
        Option<i32>,
        Option<i32>,
        i64,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<Row> = sqlx::query_as(&sql)
        .fetch_all(&mut *connection)
        .await
        .map_err(|error| session.error(error, &format!("dating {table}")))?;
    let mut temporal = Temporal {
        by_month_of_year: vec![0; 12],
        by_weekday: vec![0; 7],
        by_hour: if kind == ColumnKind::Timestamp {
            vec![0; 24]
        } else {
            Vec::new()
        },
        ..Default::default()
    };
    let mut seen = false;
    for (month, weekday, hour, count, min, max) in rows {
        let count = count.max(0) as u64;
        match (month, weekday, hour) {
            (Some(month), None, None) => {
                if let Some(index) = month.get(5..7).and_then(|m| m.parse::<usize>().ok()) {
                    temporal.by_month_of_year[index - 1] += count;
                }
                temporal.by_month.insert(month, count);
            }
            (None, Some(weekday), None) => temporal.by_weekday[(weekday as usize).clamp(1, 7) - 1] += count,
            (None, None, Some(hour)) if kind == ColumnKind::Timestamp => {
                temporal.by_hour[(hour as usize).min(23)] += count;
            }
            (None, None, None) => {
                if let (Some(min), Some(max)) = (min, max) {
                    temporal.min = Some(min);
                    temporal.max = Some(max);
                    seen = true;
                }
            }
            _ => {}
        }
    }
    Ok(seen.then_some(temporal))
}

async fn categories(
    session: &Session,
    connection: &mut PgConnection,
    source: &Source,
    quoted: &str,
    table: &str,
    min_group_size: u64,
) -> Result<Categories, IntrospectError> {
    let sql = format!(
        "select {quoted}::text, count(*) from {} where {quoted} is not null group by 1",
        source.from
    );
    let rows: Vec<(String, i64)> = sqlx::query_as(&sql)
        .fetch_all(&mut *connection)
        .await
        .map_err(|error| session.error(error, &format!("counting categories of {table}")))?;
    let total: i64 = rows.iter().map(|(_, count)| *count).sum();
    let mut categories = Categories::default();
    let mut pooled = 0i64;
    for (value, count) in rows {
        if count as u64 >= min_group_size {
            categories
                .frequencies
                .insert(value, round(count as f64 / total.max(1) as f64));
        } else {
            pooled += count;
        }
    }
    categories.other = round(pooled as f64 / total.max(1) as f64);
    Ok(categories)
}

/// Five-year age bands at the database's current date; bands smaller than `min_group_size` are
/// pooled under "suppressed".
async fn age_bands(
    session: &Session,
    connection: &mut PgConnection,
    source: &Source,
    quoted: &str,
    table: &str,
) -> Result<BTreeMap<String, f64>, IntrospectError> {
    let sql = format!(
        "select least(greatest(floor(extract(year from age(current_date, {quoted}::date)) / 5) * 5, 0), 85)::int4,
                count(*)
         from {} where {quoted} >= '1900-01-02' group by 1",
        source.from
    );
    let rows: Vec<(i32, i64)> = sqlx::query_as(&sql)
        .fetch_all(&mut *connection)
        .await
        .map_err(|error| session.error(error, &format!("banding ages in {table}")))?;
    let total: i64 = rows.iter().map(|(_, count)| *count).sum();
    let mut bands = BTreeMap::new();
    let mut suppressed = 0i64;
    for (start, count) in rows {
        if (count as u64) < session.options.min_group_size {
            suppressed += count;
            continue;
        }
        let label = if start >= 85 {
            "85+".to_string()
        } else {
            format!("{start:02}-{:02}", start + 4)
        };
        bands.insert(label, round(count as f64 / total.max(1) as f64));
    }
    if suppressed > 0 {
        bands.insert(
            "suppressed".to_string(),
            round(suppressed as f64 / total.max(1) as f64),
        );
    }
    Ok(bands)
}
