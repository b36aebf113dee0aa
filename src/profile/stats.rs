//! Aggregate statistics: what a generator needs to match a table's shape, and nothing that could
//! identify anyone. Every number is a count, a fraction or a percentile; values appear only for
//! categorical columns, and only values seen at least `min_group_size` times.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The sentinel values whose fractions are recorded (OpenDental's "none" markers).
pub const SENTINELS: [&str; 5] = ["0", "", "0001-01-01", "1900-01-01", "-1"];

/// The percentiles recorded for every distribution, as fractions and as keys.
pub const PERCENTILES: [(f64, &str); 7] = [
    (0.01, "p01"),
    (0.05, "p05"),
    (0.25, "p25"),
    (0.50, "p50"),
    (0.75, "p75"),
    (0.95, "p95"),
    (0.99, "p99"),
];

/// Statistics of one table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableStats {
    /// Exact row count of the source (or the authored target at scale 1).
    pub row_count: u64,
    /// When the column statistics come from a sample: the sampled share of rows (percent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_percent: Option<f64>,
    /// Per column, by name.
    #[serde(default)]
    pub columns: BTreeMap<String, ColumnStats>,
    /// Provenance of authored numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Statistics of one column. Identifying columns carry only `null_fraction` and `length`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnStats {
    /// Treated as identifying: no value of it is ever recorded.
    pub identifying: bool,
    pub null_fraction: f64,
    /// Fraction of all rows holding each sentinel (only sentinels that occur).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub sentinels: BTreeMap<String, f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distinct: Option<u64>,
    /// Numbers: min, max, mean and percentiles.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numeric: Option<Distribution>,
    /// Dates and timestamps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temporal: Option<Temporal>,
    /// Categorical columns: frequent values and the pooled rest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub categories: Option<Categories>,
    /// Text: length percentiles (in characters) of non-null values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<Distribution>,
    /// Birth dates: fraction per age band (years at the profile's reference date), small bands pooled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_bands: Option<BTreeMap<String, f64>>,
    /// Provenance of authored numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A numeric distribution: min, max, mean and the 1/5/25/50/75/95/99th percentiles.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Distribution {
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    pub p01: f64,
    pub p05: f64,
    pub p25: f64,
    pub p50: f64,
    pub p75: f64,
    pub p95: f64,
    pub p99: f64,
}

impl Distribution {
    /// The percentile points as (fraction, value), with min and max as the 0 and 1 ends.
    pub fn points(&self) -> [(f64, f64); 9] {
        [
            (0.0, self.min),
            (0.01, self.p01),
            (0.05, self.p05),
            (0.25, self.p25),
            (0.50, self.p50),
            (0.75, self.p75),
            (0.95, self.p95),
            (0.99, self.p99),
            (1.0, self.max),
        ]
    }

    /// Builds a distribution from min, max, mean and the seven percentiles in `PERCENTILES` order.
    pub fn from_parts(min: f64, max: f64, mean: f64, percentiles: [f64; 7]) -> Self {
        let r = super::round;
        Self {
            min: r(min),
            max: r(max),
            mean: r(mean),
            p01: r(percentiles[0]),
            p05: r(percentiles[1]),
            p25: r(percentiles[2]),
            p50: r(percentiles[3]),
            p75: r(percentiles[4]),
            p95: r(percentiles[5]),
            p99: r(percentiles[6]),
        }
    }

    /// A distribution read from a query's min, max, mean and `PERCENTILES` array; None when the
    /// query found no values.
    pub fn from_measured(
        min: Option<f64>,
        max: Option<f64>,
        mean: Option<f64>,
        percentiles: Option<Vec<f64>>,
    ) -> Option<Self> {
        match (min, max, mean, percentiles) {
            (Some(min), Some(max), Some(mean), Some(p)) if p.len() == PERCENTILES.len() => Some(
                Self::from_parts(min, max, mean, [p[0], p[1], p[2], p[3], p[4], p[5], p[6]]),
            ),
            _ => None,
        }
    }

    /// The share of values at or below `x` (the inverse of [`Distribution::quantile`]).
    pub fn cdf(&self, x: f64) -> f64 {
        let points = self.points();
        if x < points[0].1 {
            return 0.0;
        }
        for pair in points.windows(2) {
            let ((q0, v0), (q1, v1)) = (pair[0], pair[1]);
            if x < v1 {
                return if v1 > v0 {
                    q0 + (q1 - q0) * (x - v0) / (v1 - v0)
                } else {
                    q1
                };
            }
        }
        1.0
    }

    /// The value at quantile `q` (0..=1), interpolating linearly between the recorded points.
    pub fn quantile(&self, q: f64) -> f64 {
        let points = self.points();
        let q = q.clamp(0.0, 1.0);
        for pair in points.windows(2) {
            let ((q0, v0), (q1, v1)) = (pair[0], pair[1]);
            if q <= q1 {
                if q1 == q0 {
                    return v1;
                }
                return v0 + (v1 - v0) * (q - q0) / (q1 - q0);
            }
        }
        self.max
    }
}

/// Dates and timestamps: range and calendar histograms (counts).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Temporal {
    /// ISO date (or timestamp) of the earliest and latest non-sentinel value (absent when authored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<String>,
    /// Counts by calendar month, `YYYY-MM`.
    #[serde(default)]
    pub by_month: BTreeMap<String, u64>,
    /// Counts by month of year, January first (12 entries).
    pub by_month_of_year: Vec<u64>,
    /// Counts by ISO weekday, Monday first (7 entries).
    pub by_weekday: Vec<u64>,
    /// Counts by hour of day (24 entries; timestamps only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub by_hour: Vec<u64>,
}

/// A categorical column's frequent values (as text) with their fractions of non-null rows.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Categories {
    pub frequencies: BTreeMap<String, f64>,
    /// The share of non-null rows whose values were each seen fewer than `min_group_size` times.
    pub other: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_between_points() {
        let d = Distribution::from_parts(0.0, 100.0, 50.0, [1.0, 5.0, 25.0, 50.0, 75.0, 95.0, 99.0]);
        assert_eq!(d.quantile(0.0), 0.0);
        assert_eq!(d.quantile(0.5), 50.0);
        assert!((d.quantile(0.375) - 37.5).abs() < 1e-9);
        assert_eq!(d.quantile(1.0), 100.0);
    }

    #[test]
    fn the_cdf_inverts_the_quantiles() {
        let d = Distribution::from_parts(0.0, 365.0, 70.0, [0.0, 2.0, 11.0, 34.0, 147.0, 193.0, 238.0]);
        for q in [0.05, 0.2, 0.25, 0.5, 0.6, 0.75, 0.95, 0.99] {
            assert!((d.cdf(d.quantile(q)) - q).abs() < 1e-9, "{q}");
        }
        assert_eq!(d.cdf(-1.0), 0.0);
        assert_eq!(d.cdf(400.0), 1.0);
    }
}
