//! Authored calibration: statistics written by people (with their sources) laid over a profile,
//! for profiles whose source holds no representative data (the built-in OpenDental profile is
//! introspected from an empty fixture schema). The file format is documented in
//! `introspection/opendental/README.md`.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde::Deserialize;

use super::{round, Categories, Distribution, Profile, ProfileError, ReferenceData, Temporal};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalibrationFile {
    #[serde(default)]
    meta: Option<toml::Value>,
    #[serde(default)]
    tables: BTreeMap<String, TableCalibration>,
    #[serde(default)]
    relationships: Vec<RelationshipCalibration>,
    #[serde(default)]
    reference: BTreeMap<String, ReferenceCalibration>,
    #[serde(default)]
    behaviour: BTreeMap<String, BehaviourCalibration>,
}

/// `[behaviour.<name>]`: one of `value` (always that), `uniform = [low, high]`, or a whole
/// `distribution`, with its source.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct BehaviourCalibration {
    source: String,
    value: Option<f64>,
    uniform: Option<[f64; 2]>,
    distribution: Option<Distribution>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableCalibration {
    rows: u64,
    source: String,
    #[serde(default)]
    columns: BTreeMap<String, ColumnCalibration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnCalibration {
    source: String,
    null_fraction: Option<f64>,
    #[serde(default)]
    sentinels: BTreeMap<String, f64>,
    #[serde(default)]
    frequencies: BTreeMap<String, f64>,
    numeric: Option<Distribution>,
    by_month_of_year: Option<Vec<f64>>,
    by_weekday: Option<Vec<f64>>,
    by_hour: Option<Vec<f64>>,
    age_bands: Option<BTreeMap<String, f64>>,
    length: Option<Distribution>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RelationshipCalibration {
    child: String,
    parent: String,
    source: String,
    children_per_parent: Option<Distribution>,
    parents_without_children: Option<f64>,
    lag_days: Option<LagCalibration>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LagCalibration {
    child_column: String,
    parent_column: String,
    min: f64,
    max: f64,
    mean: f64,
    p01: f64,
    p05: f64,
    p25: f64,
    p50: f64,
    p75: f64,
    p95: f64,
    p99: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReferenceCalibration {
    source: String,
    file: String,
}

/// Lays the calibration file `path` over `profile`. `label` is how the file is recorded in the
/// profile's settings (a path relative to the profile folder).
pub fn apply(profile: &mut Profile, path: &Path, label: &str) -> Result<(), ProfileError> {
    let display = path.display().to_string();
    let text = fs::read_to_string(path).map_err(|_| ProfileError::Missing {
        path: display.clone(),
    })?;
    let file: CalibrationFile = toml::from_str(&text).map_err(|error| {
        let (line, column) = error
            .span()
            .map(|span| line_and_column(&text, span.start))
            .unwrap_or((0, 0));
        ProfileError::Parse {
            path: display.clone(),
            line,
            column,
            message: error.message().to_string(),
        }
    })?;
    let _ = file.meta;
    let bad = |message: String| ProfileError::Inconsistent {
        path: display.clone(),
        message,
    };

    for (table_name, calibration) in &file.tables {
        let table = profile
            .tables
            .get_mut(table_name)
            .ok_or_else(|| bad(format!("table {table_name} is not in the profile")))?;
        table.stats.row_count = calibration.rows;
        table.stats.note = Some(calibration.source.clone());
        for (column_name, authored) in &calibration.columns {
            if table.structure.column(column_name).is_none() {
                return Err(bad(format!(
                    "column {table_name}.{column_name} is not in the profile"
                )));
            }
            let stats = table.stats.columns.entry(column_name.clone()).or_default();
            stats.note = Some(authored.source.clone());
            if let Some(fraction) = authored.null_fraction {
                stats.null_fraction = fraction;
            }
            if !authored.sentinels.is_empty() {
                stats.sentinels = authored.sentinels.clone();
            }
            if !authored.frequencies.is_empty() {
                let total: f64 = authored.frequencies.values().sum();
                if total > 1.0 + 1e-6 {
                    return Err(bad(format!(
                        "{table_name}.{column_name}: frequencies add up to {total}, more than 1"
                    )));
                }
                stats.categories = Some(Categories {
                    frequencies: authored
                        .frequencies
                        .iter()
                        .map(|(k, v)| (k.clone(), round(*v)))
                        .collect(),
                    other: round((1.0 - total).max(0.0)),
                });
            }
            if let Some(numeric) = &authored.numeric {
                stats.numeric = Some(numeric.clone());
            }
            if let Some(length) = &authored.length {
                stats.length = Some(length.clone());
            }
            if let Some(bands) = &authored.age_bands {
                stats.age_bands = Some(bands.clone());
            }
            let histograms = [
                &authored.by_month_of_year,
                &authored.by_weekday,
                &authored.by_hour,
            ];
            if histograms.iter().any(|h| h.is_some()) {
                let temporal = stats.temporal.get_or_insert_with(Temporal::default);
                for (weights, expected, slot) in [
                    (&authored.by_month_of_year, 12, &mut temporal.by_month_of_year),
                    (&authored.by_weekday, 7, &mut temporal.by_weekday),
                    (&authored.by_hour, 24, &mut temporal.by_hour),
                ] {
                    if let Some(weights) = weights {
                        if weights.len() != expected {
                            return Err(bad(format!(
                                "{table_name}.{column_name}: {} weights where {expected} are needed",
                                weights.len()
                            )));
                        }
                        *slot = to_counts(weights);
                    }
                }
            }
        }
    }

    for authored in &file.relationships {
        let (child_table, child_column) = split(&authored.child)
            .ok_or_else(|| bad(format!("child {:?} is not table.column", authored.child)))?;
        let (parent_table, parent_column) = split(&authored.parent)
            .ok_or_else(|| bad(format!("parent {:?} is not table.column", authored.parent)))?;
        let relationship = profile
            .relationships
            .iter_mut()
            .find(|r| {
                r.child_table == child_table
                    && r.child_column == child_column
                    && r.parent_table == parent_table
                    && r.parent_column == parent_column
            })
            .ok_or_else(|| {
                bad(format!(
                    "relationship {} -> {} is not in the profile",
                    authored.child, authored.parent
                ))
            })?;
        relationship.note = Some(authored.source.clone());
        if let Some(distribution) = &authored.children_per_parent {
            relationship.children_per_parent = Some(distribution.clone());
        }
        if let Some(fraction) = authored.parents_without_children {
            relationship.parents_without_children = Some(fraction);
        }
        if let Some(lag) = &authored.lag_days {
            relationship.lag = Some(super::Lag {
                child_column: lag.child_column.clone(),
                parent_column: lag.parent_column.clone(),
                days: Distribution::from_parts(
                    lag.min,
                    lag.max,
                    lag.mean,
                    [lag.p01, lag.p05, lag.p25, lag.p50, lag.p75, lag.p95, lag.p99],
                ),
            });
        }
    }

    for (name, authored) in &file.behaviour {
        let distribution = match (authored.value, authored.uniform, &authored.distribution) {
            (Some(v), None, None) => super::behaviour::uniform(v, v),
            (None, Some([low, high]), None) if low <= high => super::behaviour::uniform(low, high),
            (None, None, Some(d)) => d.clone(),
            _ => {
                return Err(bad(format!(
                    "behaviour {name} needs exactly one of value, uniform = [low, high] (low <= high) or distribution"
                )))
            }
        };
        super::behaviour::check(name, &distribution).map_err(bad)?;
        profile.behaviour.insert(
            name.clone(),
            super::Behaviour {
                distribution,
                source: authored.source.clone(),
            },
        );
    }

    for (table_name, reference) in &file.reference {
        let csv_path = path.parent().unwrap_or(Path::new(".")).join(&reference.file);
        let csv_display = csv_path.display().to_string();
        let table = profile
            .tables
            .get_mut(table_name)
            .ok_or_else(|| bad(format!("reference table {table_name} is not in the profile")))?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .from_path(&csv_path)
            .map_err(|_| ProfileError::Missing {
                path: csv_display.clone(),
            })?;
        let columns: Vec<String> = reader
            .headers()
            .map_err(|error| csv_error(&csv_display, error))?
            .iter()
            .map(str::to_string)
            .collect();
        for column in &columns {
            if table.structure.column(column).is_none() {
                return Err(ProfileError::Inconsistent {
                    path: csv_display.clone(),
                    message: format!("column {column} is not in table {table_name}"),
                });
            }
        }
        // `\N` is NULL; an empty cell is an empty string in a text column and NULL elsewhere.
        let is_text: Vec<bool> = columns
            .iter()
            .map(|c| {
                table
                    .structure
                    .column(c)
                    .is_some_and(|c| c.kind == super::ColumnKind::Text)
            })
            .collect();
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|error| csv_error(&csv_display, error))?;
            rows.push(
                record
                    .iter()
                    .zip(&is_text)
                    .map(|(cell, text)| match cell {
                        "\\N" => None,
                        "" if !*text => None,
                        other => Some(other.to_string()),
                    })
                    .collect(),
            );
        }
        table.reference = Some(ReferenceData {
            columns,
            rows,
            note: Some(reference.source.clone()),
        });
    }
    profile.settings.calibration.push(label.to_string());
    Ok(())
}

fn csv_error(path: &str, error: csv::Error) -> ProfileError {
    let line = error.position().map(|p| p.line() as usize).unwrap_or(0);
    ProfileError::Parse {
        path: path.to_string(),
        line,
        column: 1,
        message: error.to_string(),
    }
}

fn split(qualified: &str) -> Option<(&str, &str)> {
    qualified.split_once('.')
}

/// Relative weights -> integer counts per thousand, so that histograms stay integers.
fn to_counts(weights: &[f64]) -> Vec<u64> {
    let total: f64 = weights.iter().filter(|w| **w > 0.0).sum();
    weights
        .iter()
        .map(|w| {
            if total > 0.0 {
                (w.max(0.0) / total * 1000.0).round() as u64
            } else {
                0
            }
        })
        .collect()
}

fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map(|i| offset - i).unwrap_or(offset + 1);
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_become_per_mille_counts() {
        assert_eq!(to_counts(&[1.0, 1.0, 2.0]), vec![250, 250, 500]);
        assert_eq!(line_and_column("a\nbc\nd", 3), (2, 2));
    }
}
