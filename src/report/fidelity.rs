//! A fidelity report -> text: a table (comfy-table) or JSON.
//!
//! The table lists the statistics out of tolerance (every statistic with `all`) and ends with the
//! summary line; JSON always holds every statistic, the summary and the tolerances. Deterministic:
//! the engine sorts the statistics, and nothing here reads the clock, the host or the terminal.

use std::fmt::Write as _;

use comfy_table::{presets, CellAlignment, ContentArrangement, Table};
use serde::Serialize;

use crate::fidelity::{math, Kind, Provenance, Report, Statistic, Summary, Value, Verdict};

/// The output formats of `dentsynth fidelity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
}

/// Categories shown per mix in the table (those that differ most).
const SHOWN_CATEGORIES: usize = 4;

/// Renders `report`; with `all`, the table lists passing and unjudged statistics too. Ends with a
/// newline.
pub fn render(report: &Report, format: Format, all: bool) -> String {
    match format {
        Format::Table => table(report, all),
        Format::Json => json(report),
    }
}

/// `412 statistics: 318 within tolerance, 3 out of tolerance, 91 not judged (too few demo rows)`.
pub fn summary_line(summary: &Summary) -> String {
    let plural = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let adapted = if summary.adapted > 0 {
        format!(", {} adapted by the generator", summary.adapted)
    } else {
        String::new()
    };
    format!(
        "{}: {} within tolerance, {} out of tolerance{adapted}, {} not judged (too few demo rows)",
        plural(summary.statistics, "statistic", "statistics"),
        summary.within,
        summary.outside,
        summary.not_judged
    )
}

fn table(report: &Report, all: bool) -> String {
    let summary = report.summary();
    let shown: Vec<&Statistic> = report
        .statistics
        .iter()
        .filter(|s| all || s.verdict == Verdict::Outside)
        .collect();
    let mut out = String::new();
    if shown.is_empty() {
        out.push_str(if report.statistics.is_empty() {
            "no statistic to compare\n"
        } else {
            "no statistic out of tolerance\n"
        });
    } else {
        let mut header = vec![
            "table",
            "column",
            "statistic",
            "origin",
            "n",
            "target",
            "achieved",
            "deviation",
            "tolerance",
        ];
        if all {
            header.push("verdict");
        }
        let mut table = Table::new();
        table
            .load_preset(presets::ASCII_FULL_CONDENSED)
            .force_no_tty()
            .set_content_arrangement(ContentArrangement::Disabled)
            .set_header(header);
        for statistic in &shown {
            let (target, achieved) = values_text(statistic);
            let mut row = vec![
                statistic.table.clone(),
                statistic.column.clone().unwrap_or_default(),
                statistic_text(statistic),
                match statistic.origin {
                    Provenance::Authored => "authored",
                    Provenance::Measured => "measured",
                }
                .to_string(),
                match statistic.kind {
                    Kind::Volume => String::new(),
                    _ => statistic.population.to_string(),
                },
                target,
                achieved,
                deviation_text(statistic),
                tolerance_text(statistic),
            ];
            if all {
                row.push(verdict_text(statistic));
            }
            table.add_row(row);
        }
        for index in [4, 7, 8] {
            if let Some(column) = table.column_mut(index) {
                column.set_cell_alignment(CellAlignment::Right);
            }
        }
        let _ = writeln!(out, "{table}");
    }
    if !all {
        for statistic in report.statistics.iter().filter(|s| s.verdict == Verdict::Adapted) {
            let (target, achieved) = values_text(statistic);
            let _ = writeln!(
                out,
                "adapted: {} {target} -> {achieved}: {}",
                statistic.label(),
                statistic.adaptation.as_deref().unwrap_or_default()
            );
        }
    }
    let mut line = summary_line(&summary);
    if !all && summary.not_judged > 0 {
        line.push_str("; --all lists every statistic with the rows it needs");
    }
    let _ = writeln!(out, "{line}");
    out
}

fn statistic_text(statistic: &Statistic) -> String {
    match &statistic.parent {
        Some(parent) => format!("{} of {parent}", statistic.statistic),
        None => statistic.statistic.clone(),
    }
}

fn number(kind: Kind, value: f64) -> String {
    match kind {
        Kind::Volume => format!("{value:.0}"),
        Kind::Rate => format!("{value:.4}"),
        Kind::Mean | Kind::Mix => format!("{value:.3}"),
    }
}

fn label(text: &str) -> String {
    if text.is_empty() {
        "''".to_string()
    } else {
        text.to_string()
    }
}

/// Target and achieved cells. Mixes show the categories that differ most, in the same order in
/// both cells.
fn values_text(statistic: &Statistic) -> (String, String) {
    match (&statistic.target, &statistic.achieved) {
        (Value::Number(target), achieved) => (
            number(statistic.kind, *target),
            match achieved {
                Some(Value::Number(achieved)) => number(statistic.kind, *achieved),
                _ => "-".to_string(),
            },
        ),
        (Value::Shares(target), achieved) => {
            let empty = std::collections::BTreeMap::new();
            let achieved_shares = match achieved {
                Some(Value::Shares(shares)) => shares,
                _ => &empty,
            };
            let mut labels: Vec<&String> = target.keys().chain(achieved_shares.keys()).collect();
            labels.sort();
            labels.dedup();
            let share = |shares: &std::collections::BTreeMap<String, f64>, label: &str| {
                shares.get(label).copied().unwrap_or(0.0)
            };
            labels.sort_by(|a, b| {
                let gap = |l: &str| (share(target, l) - share(achieved_shares, l)).abs();
                gap(b).total_cmp(&gap(a)).then(a.cmp(b))
            });
            let more = labels.len().saturating_sub(SHOWN_CATEGORIES);
            let cell = |shares: &std::collections::BTreeMap<String, f64>| {
                let mut parts: Vec<String> = labels
                    .iter()
                    .take(SHOWN_CATEGORIES)
                    .map(|l| format!("{} {:.3}", label(l), share(shares, l)))
                    .collect();
                if more > 0 {
                    parts.push(format!("+{more} more"));
                }
                parts.join(", ")
            };
            (
                cell(target),
                if achieved.is_some() {
                    cell(achieved_shares)
                } else {
                    "-".to_string()
                },
            )
        }
    }
}

fn deviation_text(statistic: &Statistic) -> String {
    let Some(deviation) = statistic.deviation else {
        return "-".to_string();
    };
    match (statistic.kind, &statistic.target, &statistic.achieved) {
        (Kind::Mix, _, _) => format!("TVD {deviation:.3}"),
        (kind, Value::Number(target), Some(Value::Number(achieved))) => {
            let signed = achieved - target;
            let text = match kind {
                Kind::Volume => format!("{signed:+.0}"),
                Kind::Rate => format!("{signed:+.4}"),
                _ => format!("{signed:+.3}"),
            };
            if *target != 0.0 {
                format!("{text} ({:+.1}%)", 100.0 * signed / target)
            } else {
                text
            }
        }
        _ => format!("{deviation}"),
    }
}

fn tolerance_text(statistic: &Statistic) -> String {
    match statistic.kind {
        Kind::Mix => format!("TVD <= {:.2}", statistic.tolerance),
        kind => format!("±{}", number(kind, statistic.tolerance)),
    }
}

fn verdict_text(statistic: &Statistic) -> String {
    match statistic.verdict {
        Verdict::Within => "ok".to_string(),
        Verdict::Outside => "OUT".to_string(),
        Verdict::Adapted => format!("adapted: {}", statistic.adaptation.as_deref().unwrap_or_default()),
        Verdict::NotJudged => format!("not judged (needs {})", statistic.required),
    }
}

#[derive(Serialize)]
struct Tolerances {
    mix_tvd: f64,
    relative: f64,
    rate_floor: f64,
    volume_floor_rows: f64,
    min_rate_population: u64,
    min_mix_population: u64,
}

fn json(report: &Report) -> String {
    #[derive(Serialize)]
    struct Document<'a> {
        summary: Summary,
        tolerances: Tolerances,
        #[serde(flatten)]
        report: &'a Report,
    }
    let document = Document {
        summary: report.summary(),
        tolerances: Tolerances {
            mix_tvd: math::MIX_TOLERANCE,
            relative: math::RELATIVE_TOLERANCE,
            rate_floor: math::RATE_FLOOR,
            volume_floor_rows: math::VOLUME_FLOOR,
            min_rate_population: math::MIN_RATE_POPULATION,
            min_mix_population: math::MIN_MIX_POPULATION,
        },
        report,
    };
    let mut text = serde_json::to_string_pretty(&document).expect("the report serialises");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fidelity::ScaleSource;
    use std::collections::BTreeMap;

    fn statistic(
        kind: Kind,
        target: Value,
        achieved: Value,
        deviation: f64,
        tolerance: f64,
        verdict: Verdict,
    ) -> Statistic {
        Statistic {
            table: "appointment".to_string(),
            column: (kind != Kind::Volume).then(|| "AptStatus".to_string()),
            statistic: match kind {
                Kind::Volume => "rows",
                Kind::Mix => "mix",
                _ => "nulls",
            }
            .to_string(),
            parent: None,
            kind,
            origin: Provenance::Authored,
            target,
            achieved: Some(achieved),
            deviation: Some(deviation),
            tolerance,
            population: 3000,
            required: if verdict == Verdict::NotJudged { 5000 } else { 400 },
            verdict,
            adaptation: None,
        }
    }

    fn shares(pairs: &[(&str, f64)]) -> BTreeMap<String, f64> {
        pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }

    fn report() -> Report {
        Report {
            profile: "opendental".to_string(),
            schema: "raw".to_string(),
            scale: 0.2,
            scale_source: ScaleSource::Manifest,
            generated_from: None,
            statistics: vec![
                statistic(
                    Kind::Volume,
                    Value::Number(3000.0),
                    Value::Number(2100.0),
                    900.0,
                    300.0,
                    Verdict::Outside,
                ),
                statistic(
                    Kind::Rate,
                    Value::Number(0.45),
                    Value::Number(0.44),
                    0.01,
                    0.045,
                    Verdict::Within,
                ),
                statistic(
                    Kind::Mix,
                    Value::Shares(shares(&[("2", 0.7), ("5", 0.3)])),
                    Value::Shares(shares(&[("2", 0.35), ("5", 0.65)])),
                    0.35,
                    0.03,
                    Verdict::NotJudged,
                ),
            ],
        }
    }

    #[test]
    fn an_adapted_statistic_is_listed_with_its_reason_and_counted_apart() {
        let mut report = report();
        let outside = report
            .statistics
            .iter_mut()
            .find(|s| s.verdict == Verdict::Outside)
            .unwrap();
        outside.verdict = Verdict::Adapted;
        outside.adaptation = Some("the contract's window".into());
        let text = render(&report, Format::Table, false);
        assert!(
            text.contains("adapted: appointment rows 3000 -> 2100: the contract's window"),
            "{text}"
        );
        assert!(
            text.contains("0 out of tolerance, 1 adapted by the generator, 1 not judged"),
            "{text}"
        );
    }

    #[test]
    fn the_table_lists_what_is_out_of_tolerance_and_counts_the_rest() {
        let text = render(&report(), Format::Table, false);
        assert!(text.contains("| appointment |"), "{text}");
        assert!(text.contains("-900 (-30.0%)") && text.contains("±300"), "{text}");
        assert!(!text.contains("nulls") && !text.contains("TVD"), "{text}");
        assert!(
            text.ends_with(
                "3 statistics: 1 within tolerance, 1 out of tolerance, 1 not judged (too few demo rows); --all lists every statistic with the rows it needs\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn all_lists_every_statistic_with_its_verdict() {
        let text = render(&report(), Format::Table, true);
        assert!(text.contains("| OUT"), "{text}");
        assert!(text.contains("| ok"), "{text}");
        assert!(text.contains("not judged (needs 5000)"), "{text}");
        assert!(
            text.contains("5 0.300, 2 0.700") && text.contains("5 0.650, 2 0.350"),
            "{text}"
        );
        assert!(
            text.contains("TVD 0.350") && text.contains("TVD <= 0.03"),
            "{text}"
        );
        assert!(text.contains("-0.0100 (-2.2%)"), "{text}");
    }

    #[test]
    fn json_holds_every_statistic_and_the_summary() {
        let value: serde_json::Value = serde_json::from_str(&render(&report(), Format::Json, false)).unwrap();
        assert_eq!(value["summary"]["outside"], 1);
        assert_eq!(value["summary"]["not_judged"], 1);
        assert_eq!(value["scale"], 0.2);
        assert_eq!(value["statistics"].as_array().unwrap().len(), 3);
        assert_eq!(value["statistics"][2]["target"]["5"], 0.3);
        assert_eq!(value["statistics"][2]["verdict"], "not_judged");
        assert_eq!(value["tolerances"]["mix_tvd"], 0.03);
    }
}
