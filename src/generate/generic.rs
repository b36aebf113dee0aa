//! The generic, profile-driven generator: rows for any table of any introspected schema.
//!
//! Each row draws from its own random stream (seed, table, row number), so rows can be generated
//! in any order, on any thread, with the same result. Keys are 1..n; foreign keys take parent keys
//! (following the children-per-parent distribution for the table's main parent); other values
//! follow the column statistics: null and sentinel fractions, categorical frequencies, percentiles,
//! calendar histograms, length percentiles.

use chrono::{Datelike, Duration, NaiveDate, NaiveTime};
use fake::faker::address::en::{CityName, StateAbbr, StreetName};
use fake::faker::company::en::CompanyName;
use fake::faker::lorem::en::Word;
use fake::faker::name::en::{FirstName, LastName};
use fake::Fake;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::plan::{ColumnPlan, ParentKeys, ParentRef, Source, TablePlan};
use super::rng::StreamKey;
use super::scenario::RowSource;
use super::value::Value;
use crate::profile::{ColumnKind, ColumnStats, Distribution, Table};

/// The simulated present and the history window.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    pub as_of: NaiveDate,
    /// First day of history.
    pub start: NaiveDate,
    /// Last day of history (the day before as-of): no generated date lies later.
    pub end: NaiveDate,
}

impl Clock {
    pub fn new(as_of: NaiveDate, months: u32) -> Self {
        let start = as_of
            .checked_sub_months(chrono::Months::new(months))
            .unwrap_or(as_of);
        Self {
            as_of,
            start,
            end: as_of - Duration::days(1),
        }
    }

    fn days(&self) -> i64 {
        (self.end - self.start).num_days().max(0)
    }
}

/// Generates the rows of one table.
pub struct TableGenerator {
    plan: TablePlan,
    reference: Option<crate::profile::ReferenceData>,
    rows_key: StreamKey,
    clock: Clock,
    columns: Vec<ColumnGenerator>,
}

struct ColumnGenerator {
    plan: ColumnPlan,
    /// Its date role within the row, when its values come from statistics (None otherwise).
    date_role: Option<DateRole>,
    /// For the ordered parent column: cumulative children counts per parent key (1-based order).
    cumulative: Option<Vec<u64>>,
    fake: FakeKind,
}

impl TableGenerator {
    pub fn new(plan: &TablePlan, table: &Table, seed: u64, clock: Clock) -> Self {
        let columns = plan
            .columns
            .iter()
            .map(|column| {
                let cumulative = match &column.source {
                    Source::Parent(parent) if parent.ordered => {
                        Some(children_weights(seed, &plan.name, &column.name, parent))
                    }
                    _ => None,
                };
                ColumnGenerator {
                    date_role: (matches!(column.source, Source::Stats(_)) && column.kind.is_temporal())
                        .then(|| date_role(&column.name)),
                    plan: column.clone(),
                    cumulative,
                    fake: FakeKind::for_column(&column.name),
                }
            })
            .collect();
        Self {
            plan: plan.clone(),
            reference: table.reference.clone(),
            rows_key: StreamKey::new(seed, &plan.name, "rows"),
            clock,
            columns,
        }
    }
}

impl RowSource for TableGenerator {
    fn rows(&self) -> u64 {
        self.plan.rows
    }

    /// The row with 0-based index `index` (its key is `index + 1`).
    fn row(&self, index: u64) -> Vec<Value> {
        if let Some(reference) = &self.reference {
            return self
                .plan
                .columns
                .iter()
                .map(|column| {
                    let position = reference.columns.iter().position(|c| *c == column.name);
                    match position.and_then(|p| reference.rows[index as usize].get(p).cloned().flatten()) {
                        Some(text) => Value::Raw(text),
                        None if column.nullable => Value::Null,
                        None => default_value(column),
                    }
                })
                .collect();
        }
        let mut rng = self.rows_key.stream(index);
        let mut row: Vec<Value> = self
            .columns
            .iter()
            .map(|column| column.value(index, self.plan.rows, &mut rng, &self.clock))
            .collect();
        order_dates(&self.columns, &mut row);
        row
    }
}

/// The role of a date column within its row, read from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum DateRole {
    /// An ordinary date (an event, an entry stamp).
    Event,
    /// The steps of a round trip, in order: sent, received back, checked (`DateTimeSent`,
    /// `DateTimeRecd`, `DateTimeChecked` of a lab case).
    Sent,
    Received,
    Checked,
    /// The end of something that starts in the same row (`DateTimeEnd`, `DateTimeFinished`, ...).
    End,
    /// An edit or update stamp (`SecDateTEdit`, `DateTStamp`, `updated_at`, ...): the row's latest.
    Edit,
}

fn date_role(name: &str) -> DateRole {
    let lower = name.to_ascii_lowercase();
    if ["tedit", "tstamp", "updated", "edited", "modified"]
        .iter()
        .any(|f| lower.contains(f))
    {
        DateRole::Edit
    } else if lower.starts_with("datetimesent") || lower == "datesent" {
        DateRole::Sent
    } else if lower.starts_with("datetimerecd") || lower == "daterecd" || lower == "datereceived" {
        DateRole::Received
    } else if lower.starts_with("datetimechecked") {
        DateRole::Checked
    } else if [
        "finished",
        "dismissed",
        "dateend",
        "datestop",
        "datetimedue",
        "datetimeend",
        "enddate",
        "end_",
    ]
    .iter()
    .any(|f| lower.contains(f))
    {
        DateRole::End
    } else {
        DateRole::Event
    }
}

/// Keeps the dates of a row in order (created <= sent <= received <= checked <= ended <= edited):
/// each step is moved to no earlier than the row's dates of the roles before it. Unset values (NULL,
/// sentinels before 1900) are left alone. Every moved value stays within the history window,
/// because it becomes another value of the same row.
fn order_dates(columns: &[ColumnGenerator], row: &mut [Value]) {
    if !columns
        .iter()
        .any(|c| c.date_role.is_some_and(|r| r > DateRole::Event))
    {
        return;
    }
    let stamp = |value: &Value| match value {
        Value::Date(date) if date.year() > 1900 => Some(date.and_time(NaiveTime::MIN)),
        Value::Timestamp(stamp) if stamp.year() > 1900 => Some(*stamp),
        _ => None,
    };
    for role in [
        DateRole::Sent,
        DateRole::Received,
        DateRole::Checked,
        DateRole::End,
        DateRole::Edit,
    ] {
        let latest = columns
            .iter()
            .zip(row.iter())
            .filter(|(column, _)| column.date_role.is_some_and(|r| r < role))
            .filter_map(|(_, value)| stamp(value))
            .max();
        let Some(latest) = latest else { continue };
        for (column, value) in columns.iter().zip(row.iter_mut()) {
            if column.date_role != Some(role) {
                continue;
            }
            match value {
                Value::Timestamp(current) if current.year() > 1900 && *current < latest => *current = latest,
                Value::Date(current)
                    if current.year() > 1900 && current.and_time(NaiveTime::MIN) < latest =>
                {
                    *current = latest.date()
                }
                _ => {}
            }
        }
    }
}

impl ColumnGenerator {
    fn value(&self, index: u64, rows: u64, rng: &mut ChaCha8Rng, clock: &Clock) -> Value {
        let column = &self.plan;
        match &column.source {
            Source::Sequence => match column.kind {
                ColumnKind::Text => Value::Text((index + 1).to_string()),
                ColumnKind::Decimal | ColumnKind::Float => Value::Decimal((index + 1) as f64, 0),
                _ => Value::Int(index as i64 + 1),
            },
            Source::NoneValue => {
                if column.kind == ColumnKind::Text {
                    Value::Text(String::new())
                } else {
                    Value::Int(0)
                }
            }
            Source::Parent(parent) => self.parent_value(parent, index, rows, rng),
            Source::Stats(stats) => draw(column, stats, self.fake, rng, clock),
        }
    }

    fn parent_value(&self, parent: &ParentRef, index: u64, rows: u64, rng: &mut ChaCha8Rng) -> Value {
        let column = &self.plan;
        let roll: f64 = rng.gen();
        let none = || {
            if column.kind == ColumnKind::Text {
                Value::Text(String::new())
            } else {
                Value::Int(0)
            }
        };
        if roll < parent.null_fraction {
            return Value::Null;
        }
        if parent.keys.is_empty() {
            return if column.nullable && !parent.zero_means_none {
                Value::Null
            } else {
                none()
            };
        }
        if roll < parent.null_fraction + parent.none_fraction {
            return none();
        }
        if !parent.mix.is_empty() {
            let pick: f64 = rng.gen();
            let index = parent
                .mix
                .partition_point(|(_, cumulative)| *cumulative <= pick)
                .min(parent.mix.len() - 1);
            return Value::Raw(parent.mix[index].0.clone());
        }
        let position = match &self.cumulative {
            Some(cumulative) if cumulative.last().copied().unwrap_or(0) > 0 => {
                let total = *cumulative.last().expect("non-empty");
                let slot = (index as u128 * total as u128 / rows.max(1) as u128) as u64;
                cumulative.partition_point(|&c| c <= slot) as u64
            }
            _ => rng.gen_range(0..parent.keys.len()),
        };
        match &parent.keys {
            ParentKeys::Range(_) => match column.kind {
                ColumnKind::Text => Value::Text((position + 1).to_string()),
                _ => Value::Int(position as i64 + 1),
            },
            ParentKeys::List(list) => Value::Raw(list[position as usize].clone()),
        }
    }
}

/// Cumulative children counts per parent: each parent draws its count from the distribution (or 0
/// with the childless share), from its own stream.
fn children_weights(seed: u64, table: &str, column: &str, parent: &ParentRef) -> Vec<u64> {
    let key = StreamKey::new(seed, table, &format!("children-per-parent:{column}"));
    let distribution = parent.children_per_parent.clone().unwrap_or(Distribution {
        min: 1.0,
        max: 1.0,
        mean: 1.0,
        p01: 1.0,
        p05: 1.0,
        p25: 1.0,
        p50: 1.0,
        p75: 1.0,
        p95: 1.0,
        p99: 1.0,
    });
    let mut total = 0u64;
    (0..parent.keys.len())
        .map(|k| {
            let mut rng = key.stream(k);
            let count = if rng.gen::<f64>() < parent.parents_without_children {
                0
            } else {
                distribution.quantile(rng.gen()).round().max(1.0) as u64
            };
            total += count;
            total
        })
        .collect()
}

/// Draws one value from a column's statistics.
fn draw(
    column: &ColumnPlan,
    stats: &ColumnStats,
    fake: FakeKind,
    rng: &mut ChaCha8Rng,
    clock: &Clock,
) -> Value {
    let roll: f64 = rng.gen();
    let mut threshold = if column.nullable { stats.null_fraction } else { 0.0 };
    if roll < threshold {
        return Value::Null;
    }
    // A sentinel that is also a listed category already has its share in the categories (over
    // non-null rows): drawing it here as well would count it twice.
    let listed = |value: &str| {
        stats
            .categories
            .as_ref()
            .is_some_and(|c| c.frequencies.contains_key(value))
    };
    for (sentinel, fraction) in &stats.sentinels {
        if listed(sentinel) {
            continue;
        }
        threshold += fraction;
        if roll < threshold {
            if let Some(value) = sentinel_value(sentinel, column) {
                return value;
            }
        }
    }
    if let Some(categories) = &stats.categories {
        let pick: f64 = rng.gen();
        let mut cumulative = 0.0;
        for (value, fraction) in &categories.frequencies {
            cumulative += fraction;
            if pick < cumulative {
                if let Some(value) = category_value(value, column) {
                    return value;
                }
            }
        }
        // The pooled rest: a value outside the listed ones when the column's statistics give one
        // in a few tries, else a listed value in proportion (never a listed value out of turn).
        let named: Vec<Value> = categories
            .frequencies
            .keys()
            .filter_map(|v| category_value(v, column))
            .collect();
        for _ in 0..4 {
            let value = regular_value(column, stats, fake, rng, clock);
            if !named.contains(&value) {
                return value;
            }
        }
        let total: f64 = categories.frequencies.values().sum();
        let mut pick = rng.gen::<f64>() * total;
        for (value, fraction) in &categories.frequencies {
            if pick < *fraction {
                if let Some(value) = category_value(value, column) {
                    return value;
                }
            }
            pick -= fraction;
        }
    }
    regular_value(column, stats, fake, rng, clock)
}

fn sentinel_value(sentinel: &str, column: &ColumnPlan) -> Option<Value> {
    match (column.kind, sentinel) {
        (ColumnKind::Integer, "0" | "-1") => Some(Value::Int(sentinel.parse().ok()?)),
        (ColumnKind::Decimal | ColumnKind::Float, "0" | "-1") => Some(Value::Decimal(
            sentinel.parse().ok()?,
            column.numeric_scale.unwrap_or(2),
        )),
        (ColumnKind::Text, "" | "0") => Some(Value::Text(sentinel.to_string())),
        (ColumnKind::Date, "0001-01-01" | "1900-01-01") => {
            Some(Value::Date(NaiveDate::parse_from_str(sentinel, "%Y-%m-%d").ok()?))
        }
        (ColumnKind::Timestamp, "0001-01-01" | "1900-01-01") => Some(Value::Timestamp(
            NaiveDate::parse_from_str(sentinel, "%Y-%m-%d")
                .ok()?
                .and_time(NaiveTime::MIN),
        )),
        _ => None,
    }
}

fn category_value(value: &str, column: &ColumnPlan) -> Option<Value> {
    match column.kind {
        ColumnKind::Integer => value
            .parse::<i64>()
            .ok()
            .map(|v| Value::Int(clamp_integer(v, &column.data_type))),
        ColumnKind::Boolean => match value {
            "true" | "t" | "1" => Some(Value::Bool(true)),
            "false" | "f" | "0" => Some(Value::Bool(false)),
            _ => None,
        },
        ColumnKind::Text => Some(Value::Text(fit(value.to_string(), column.max_length))),
        ColumnKind::Decimal | ColumnKind::Float => value.parse::<f64>().ok().map(|v| decimal(v, column)),
        _ => Some(Value::Raw(value.to_string())),
    }
}

fn regular_value(
    column: &ColumnPlan,
    stats: &ColumnStats,
    fake: FakeKind,
    rng: &mut ChaCha8Rng,
    clock: &Clock,
) -> Value {
    match column.kind {
        ColumnKind::Integer => {
            let value = stats
                .numeric
                .as_ref()
                .map(|d| d.quantile(rng.gen()).round() as i64)
                .unwrap_or(0);
            Value::Int(clamp_integer(value, &column.data_type))
        }
        ColumnKind::Decimal | ColumnKind::Float => {
            let value = stats
                .numeric
                .as_ref()
                .map(|d| d.quantile(rng.gen()))
                .unwrap_or(0.0);
            decimal(value, column)
        }
        ColumnKind::Boolean => Value::Bool(rng.gen_bool(0.5)),
        ColumnKind::Text => Value::Text(fit(fake_text(fake, stats, rng), column.max_length)),
        ColumnKind::Date => {
            if fake == FakeKind::BirthDate {
                Value::Date(birth_date(stats, rng, clock))
            } else {
                Value::Date(history_date(stats, rng, clock))
            }
        }
        ColumnKind::Timestamp => {
            let date = if fake == FakeKind::BirthDate {
                birth_date(stats, rng, clock)
            } else {
                history_date(stats, rng, clock)
            };
            let hour = weighted_index(
                stats
                    .temporal
                    .as_ref()
                    .map(|t| t.by_hour.as_slice())
                    .unwrap_or(&[]),
                rng,
            )
            .map(|h| h as u32)
            .unwrap_or_else(|| rng.gen_range(8..17));
            let time =
                NaiveTime::from_hms_opt(hour.min(23), rng.gen_range(0..12) * 5, 0).unwrap_or(NaiveTime::MIN);
            Value::Timestamp(date.and_time(time))
        }
        ColumnKind::Time => Value::Time(
            NaiveTime::from_hms_opt(rng.gen_range(7..19), rng.gen_range(0..12) * 5, 0)
                .unwrap_or(NaiveTime::MIN),
        ),
        ColumnKind::Uuid => {
            let bits: u128 = rng.gen();
            let hex = format!("{bits:032x}");
            Value::Text(format!(
                "{}-{}-{}-{}-{}",
                &hex[0..8],
                &hex[8..12],
                &hex[12..16],
                &hex[16..20],
                &hex[20..32]
            ))
        }
        ColumnKind::Json => Value::Text("{}".to_string()),
        ColumnKind::Bytes | ColumnKind::Other => default_value(column),
    }
}

/// A value for a NOT NULL column that nothing else fills.
fn default_value(column: &ColumnPlan) -> Value {
    match column.kind {
        ColumnKind::Integer => Value::Int(0),
        ColumnKind::Decimal | ColumnKind::Float => Value::Decimal(0.0, column.numeric_scale.unwrap_or(2)),
        ColumnKind::Boolean => Value::Bool(false),
        ColumnKind::Text => Value::Text(String::new()),
        ColumnKind::Bytes => Value::Text("\\x".to_string()),
        ColumnKind::Json => Value::Text("{}".to_string()),
        _ if column.nullable => Value::Null,
        _ => Value::Text(String::new()),
    }
}

fn clamp_integer(value: i64, data_type: &str) -> i64 {
    let (low, high) = match data_type {
        "smallint" => (i16::MIN as i64, i16::MAX as i64),
        "integer" => (i32::MIN as i64, i32::MAX as i64),
        _ => (i64::MIN, i64::MAX),
    };
    value.clamp(low, high)
}

/// Rounds to the column's scale (2 for floats: amounts) and keeps within its precision.
fn decimal(value: f64, column: &ColumnPlan) -> Value {
    let scale = column.numeric_scale.unwrap_or(2).min(6);
    let factor = 10f64.powi(scale as i32);
    let mut rounded = (value * factor).round() / factor;
    if let (ColumnKind::Decimal, Some(precision)) = (column.kind, column.numeric_precision) {
        let limit = 10f64.powi(precision as i32 - scale as i32) - 1.0 / factor;
        rounded = rounded.clamp(-limit, limit);
    }
    Value::Decimal(rounded, scale)
}

/// Truncates to the column's character length.
fn fit(text: String, max_length: Option<u32>) -> String {
    match max_length {
        Some(limit) if text.chars().count() > limit as usize => text.chars().take(limit as usize).collect(),
        _ => text,
    }
}

/// A day in the history window, following month-of-year and weekday weights.
fn history_date(stats: &ColumnStats, rng: &mut ChaCha8Rng, clock: &Clock) -> NaiveDate {
    let days = clock.days();
    let temporal = stats.temporal.as_ref();
    let by_month = temporal.map(|t| t.by_month_of_year.as_slice()).unwrap_or(&[]);
    let by_weekday = temporal.map(|t| t.by_weekday.as_slice()).unwrap_or(&[]);
    let max_month = by_month.iter().copied().max().unwrap_or(0) as f64;
    let max_weekday = by_weekday.iter().copied().max().unwrap_or(0) as f64;
    let mut candidate = clock.start;
    for _ in 0..32 {
        candidate = clock.start + Duration::days(rng.gen_range(0..=days));
        let month_weight = if max_month > 0.0 {
            by_month[candidate.month0() as usize] as f64 / max_month
        } else {
            1.0
        };
        let weekday_weight = if max_weekday > 0.0 {
            by_weekday[candidate.weekday().num_days_from_monday() as usize] as f64 / max_weekday
        } else {
            1.0
        };
        if rng.gen::<f64>() < month_weight * weekday_weight {
            break;
        }
    }
    candidate
}

/// A birth date from the age bands (ages at as-of).
fn birth_date(stats: &ColumnStats, rng: &mut ChaCha8Rng, clock: &Clock) -> NaiveDate {
    let bands: Vec<(u32, u32, f64)> = stats
        .age_bands
        .iter()
        .flatten()
        .filter_map(|(label, weight)| {
            if let Some(start) = label.strip_suffix('+') {
                Some((start.parse().ok()?, start.parse::<u32>().ok()? + 10, *weight))
            } else {
                let (low, high) = label.split_once('-')?;
                Some((low.parse().ok()?, high.parse().ok()?, *weight))
            }
        })
        .collect();
    let total: f64 = bands.iter().map(|b| b.2).sum();
    let age = if total > 0.0 {
        let mut pick = rng.gen::<f64>() * total;
        let mut chosen = (0, 90);
        for (low, high, weight) in &bands {
            if pick < *weight {
                chosen = (*low, *high);
                break;
            }
            pick -= weight;
        }
        rng.gen_range(chosen.0..=chosen.1)
    } else {
        rng.gen_range(0..=90)
    };
    let birthday = clock
        .as_of
        .with_year(clock.as_of.year() - age as i32)
        .unwrap_or(clock.as_of);
    birthday - Duration::days(rng.gen_range(1..365))
}

fn weighted_index(weights: &[u64], rng: &mut ChaCha8Rng) -> Option<usize> {
    let total: u64 = weights.iter().sum();
    if total == 0 {
        return None;
    }
    let mut pick = rng.gen_range(0..total);
    for (index, weight) in weights.iter().enumerate() {
        if pick < *weight {
            return Some(index);
        }
        pick -= weight;
    }
    None
}

/// Which fake value a text (or date) column gets, by its name: contact details that belong to
/// nobody (555-01xx phone numbers, example.* e-mail domains, SSNs in the never-issued 000 area).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FakeKind {
    FirstName,
    LastName,
    Initial,
    Email,
    Phone,
    Ssn,
    Street,
    City,
    State,
    Zip,
    /// A company's name (carriers, employers, pharmacies): fake's fictional companies.
    Company,
    BirthDate,
    Words,
}

impl FakeKind {
    pub fn for_column(name: &str) -> Self {
        let lower = name.to_ascii_lowercase();
        let has = |fragment: &str| lower.contains(fragment);
        if has("birth") {
            FakeKind::BirthDate
        } else if has("email") {
            FakeKind::Email
        } else if has("phone") || has("wireless") || has("fax") {
            FakeKind::Phone
        } else if has("ssn") || has("socsec") {
            FakeKind::Ssn
        } else if lower == "lname" || has("lastname") || has("surname") {
            FakeKind::LastName
        } else if lower == "fname" || has("firstname") || lower == "preferred" {
            FakeKind::FirstName
        } else if lower == "mininitial" || lower == "mname" || has("middle") {
            FakeKind::Initial
        } else if has("address") {
            FakeKind::Street
        } else if has("city") {
            FakeKind::City
        } else if lower == "state" || has("stateabbr") {
            FakeKind::State
        } else if has("zip") || has("postal") {
            FakeKind::Zip
        } else if matches!(lower.as_str(), "carriername" | "empname" | "storename") {
            FakeKind::Company
        } else {
            FakeKind::Words
        }
    }
}

fn fake_text(kind: FakeKind, stats: &ColumnStats, rng: &mut ChaCha8Rng) -> String {
    match kind {
        FakeKind::FirstName => FirstName().fake_with_rng(rng),
        FakeKind::LastName => LastName().fake_with_rng(rng),
        FakeKind::Initial => ((b'A' + rng.gen_range(0..26)) as char).to_string(),
        FakeKind::Email => {
            let first: String = FirstName().fake_with_rng(rng);
            let last: String = LastName().fake_with_rng(rng);
            let domain = ["example.com", "example.org", "example.net"][rng.gen_range(0..3)];
            format!(
                "{}.{}{}@{domain}",
                first.to_lowercase(),
                last.to_lowercase(),
                rng.gen_range(1..100)
            )
        }
        FakeKind::Phone => format!("({}) 555-01{:02}", rng.gen_range(201..990), rng.gen_range(0..100)),
        FakeKind::Ssn => format!("000-{:02}-{:04}", rng.gen_range(1..100), rng.gen_range(1..10000)),
        FakeKind::Street => {
            // fake's street names carry their suffix ("Lucas Vista").
            let street: String = StreetName().fake_with_rng(rng);
            format!("{} {street}", rng.gen_range(10..9999))
        }
        FakeKind::City => CityName().fake_with_rng(rng),
        FakeKind::State => StateAbbr().fake_with_rng(rng),
        // Five digits always (the dbt project pads ZIP codes to five).
        FakeKind::Zip => format!("{:05}", rng.gen_range(1001..99951)),
        FakeKind::Company => CompanyName().fake_with_rng(rng),
        FakeKind::BirthDate | FakeKind::Words => {
            let target = stats
                .length
                .as_ref()
                .map(|d| d.quantile(rng.gen()).round() as usize)
                .unwrap_or(12);
            let mut text = String::new();
            while text.len() < target {
                if !text.is_empty() {
                    text.push(' ');
                }
                let word: String = Word().fake_with_rng(rng);
                text.push_str(&word);
            }
            text.chars()
                .take(target)
                .collect::<String>()
                .trim_end()
                .to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::plan::{ColumnPlan, Source};

    fn column(name: &str, kind: ColumnKind) -> ColumnGenerator {
        ColumnGenerator {
            plan: ColumnPlan {
                name: name.to_string(),
                kind,
                data_type: "timestamp without time zone".to_string(),
                nullable: true,
                max_length: None,
                numeric_scale: None,
                numeric_precision: None,
                source: Source::Stats(Box::default()),
            },
            cumulative: None,
            fake: FakeKind::Words,
            date_role: Some(date_role(name)),
        }
    }

    #[test]
    fn a_row_keeps_created_before_ended_before_edited() {
        let at = |day: u32| {
            Value::Timestamp(
                NaiveDate::from_ymd_opt(2025, 3, day)
                    .unwrap()
                    .and_hms_opt(9, 0, 0)
                    .unwrap(),
            )
        };
        let columns = [
            column("DateTimeOriginal", ColumnKind::Timestamp),
            column("DateTimeFinished", ColumnKind::Timestamp),
            column("SecDateTEdit", ColumnKind::Timestamp),
            column("DateTimeEntry", ColumnKind::Timestamp),
        ];
        let mut row = vec![at(20), at(5), at(1), at(10)];
        order_dates(&columns, &mut row);
        assert_eq!(row, vec![at(20), at(20), at(20), at(10)]);
        // Unset values stay unset.
        let mut row = vec![at(20), Value::Null, Value::Null, at(10)];
        order_dates(&columns, &mut row);
        assert_eq!(row[1], Value::Null);
        assert_eq!(date_role("DateTStamp"), DateRole::Edit);
        assert_eq!(date_role("DateTimeEnd"), DateRole::End);
        assert_eq!(date_role("AptDateTime"), DateRole::Event);
    }
}
