//! Findings -> text: a table (comfy-table), JSON, Markdown (for a CI step summary) and JUnit XML.
//!
//! Deterministic by construction: findings are sorted by code then rule id, and nothing reads the
//! clock, the host or the terminal (tables are rendered without TTY detection or wrapping), so the
//! same findings always give the same bytes and can be compared with a committed snapshot.

use std::fmt::Write as _;

use comfy_table::{presets, CellAlignment, ContentArrangement, Table};
use serde::Serialize;

use crate::verify::{registry::Kind, Finding, Severity};

/// The output formats of `dentsynth verify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Markdown,
    Junit,
}

/// The counts behind the summary line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Rule instances that ran.
    pub rules: usize,
    /// Error-severity rules with violations.
    pub errors: usize,
    /// Warn-severity rules with violations.
    pub warnings: usize,
}

impl Summary {
    pub fn of<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Self {
        let mut summary = Self {
            rules: 0,
            errors: 0,
            warnings: 0,
        };
        for finding in findings {
            summary.rules += 1;
            if finding.failed() {
                match finding.severity {
                    Severity::Error => summary.errors += 1,
                    Severity::Warn => summary.warnings += 1,
                }
            }
        }
        summary
    }

    /// `12 rules, 1 error finding, 0 warnings`.
    pub fn line(&self) -> String {
        let plural = |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        format!(
            "{}, {}, {}",
            plural(self.rules, "rule", "rules"),
            plural(self.errors, "error finding", "error findings"),
            plural(self.warnings, "warning", "warnings")
        )
    }
}

/// Renders findings in `format`; the text ends with a newline.
pub fn render(findings: &[Finding], format: Format) -> String {
    let mut sorted: Vec<&Finding> = findings.iter().collect();
    sorted.sort_by(|a, b| (a.code, &a.rule).cmp(&(b.code, &b.rule)));
    match format {
        Format::Table => table(&sorted),
        Format::Json => json(&sorted),
        Format::Markdown => markdown(&sorted),
        Format::Junit => junit(&sorted),
    }
}

fn checked_text(finding: &Finding) -> String {
    finding
        .checked
        .map(|n| n.to_string())
        .unwrap_or_else(|| "-".to_string())
}

fn samples_text(finding: &Finding) -> String {
    finding.samples.join(", ")
}

fn new_table(header: Vec<&str>) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::ASCII_FULL_CONDENSED)
        .force_no_tty()
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header);
    table
}

fn right_align(table: &mut Table, columns: &[usize]) {
    for index in columns {
        if let Some(column) = table.column_mut(*index) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
}

/// `production 10.00 = collections 4.00 - adjustments (-1.00) + balance 5.00; stored 6.00, residual -1.00`.
fn identity_line(finding: &Finding) -> Option<String> {
    let ledger = finding.ledger.as_ref()?;
    Some(format!(
        "production {} = collections {} - adjustments ({}) + balance {}; stored balance {}, residual {}",
        ledger.production,
        ledger.collections,
        ledger.adjustments,
        ledger.ledger_balance,
        ledger.stored_balance,
        ledger.residual
    ))
}

fn table(findings: &[&Finding]) -> String {
    let failed: Vec<&&Finding> = findings.iter().filter(|f| f.failed()).collect();
    let mut out = String::new();
    if failed.is_empty() {
        out.push_str("no findings\n");
    } else {
        let mut table = new_table(vec![
            "code",
            "rule",
            "severity",
            "table",
            "checked",
            "violations",
            "samples",
        ]);
        for finding in &failed {
            table.add_row(vec![
                finding.code.to_string(),
                finding.rule.clone(),
                finding.severity.to_string(),
                finding.table.clone(),
                checked_text(finding),
                finding.violations.to_string(),
                samples_text(finding),
            ]);
        }
        right_align(&mut table, &[4, 5]);
        let _ = writeln!(out, "{table}");
        for finding in failed.iter().filter(|f| f.ledger.is_some()) {
            let ledger = finding.ledger.as_ref().expect("filtered");
            let _ = writeln!(
                out,
                "\n{} {}: {}",
                finding.code,
                finding.rule,
                identity_line(finding).unwrap_or_default()
            );
            if !ledger.breakdown.is_empty() {
                let mut breakdown = new_table(vec!["provider", "month", "residual", "rows"]);
                for share in &ledger.breakdown {
                    breakdown.add_row(vec![
                        share.provider.clone(),
                        share.month.clone(),
                        share.residual.clone(),
                        share.rows.to_string(),
                    ]);
                }
                right_align(&mut breakdown, &[2, 3]);
                let _ = writeln!(out, "{breakdown}");
            }
        }
    }
    let _ = writeln!(out, "{}", Summary::of(findings.iter().copied()).line());
    out
}

fn json(findings: &[&Finding]) -> String {
    #[derive(Serialize)]
    struct Document<'a> {
        summary: Summary,
        findings: &'a [&'a Finding],
    }
    let document = Document {
        summary: Summary::of(findings.iter().copied()),
        findings,
    };
    let mut text = serde_json::to_string_pretty(&document).expect("findings serialise");
    text.push('\n');
    text
}

fn markdown_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn markdown(findings: &[&Finding]) -> String {
    let summary = Summary::of(findings.iter().copied());
    let mut out = String::from("## dentsynth verify\n\n");
    let _ = writeln!(out, "**{}**\n", summary.line());
    let failed: Vec<&&Finding> = findings.iter().filter(|f| f.failed()).collect();
    if failed.is_empty() {
        out.push_str("No findings: every rule holds.\n");
        return out;
    }
    out.push_str("| code | rule | severity | table | checked | violations | samples |\n");
    out.push_str("|---|---|---|---|---:|---:|---|\n");
    for finding in &failed {
        let _ = writeln!(
            out,
            "| {} | `{}` | {} | {} | {} | {} | {} |",
            finding.code,
            markdown_cell(&finding.rule),
            finding.severity,
            markdown_cell(&finding.table),
            checked_text(finding),
            finding.violations,
            markdown_cell(&samples_text(finding))
        );
    }
    for finding in failed.iter().filter(|f| f.ledger.is_some()) {
        let ledger = finding.ledger.as_ref().expect("filtered");
        let _ = writeln!(
            out,
            "\n### {} `{}`\n\n{}\n",
            finding.code,
            markdown_cell(&finding.rule),
            identity_line(finding).unwrap_or_default()
        );
        if !ledger.breakdown.is_empty() {
            out.push_str("| provider | month | residual | rows |\n|---|---|---:|---:|\n");
            for share in &ledger.breakdown {
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} |",
                    markdown_cell(&share.provider),
                    share.month,
                    share.residual,
                    share.rows
                );
            }
        }
    }
    out
}

fn xml(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => escaped.push(' '),
            c => escaped.push(c),
        }
    }
    escaped
}

/// One line saying what is wrong.
fn failure_message(finding: &Finding) -> String {
    let summary = Kind::lookup(finding.code)
        .map(|kind| kind.entry().summary)
        .unwrap_or("violations");
    match finding.checked {
        Some(checked) => format!(
            "{} violation(s) in {checked} row(s) of {}: {summary}",
            finding.violations, finding.table
        ),
        None => format!(
            "{} violation(s) in {}: {summary}",
            finding.violations, finding.table
        ),
    }
}

fn junit(findings: &[&Finding]) -> String {
    let summary = Summary::of(findings.iter().copied());
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"dentsynth verify\" tests=\"{}\" failures=\"{}\" errors=\"0\">",
        summary.rules, summary.errors
    );
    let mut codes: Vec<&str> = findings.iter().map(|f| f.code).collect();
    codes.dedup();
    for code in codes {
        let group: Vec<&&Finding> = findings.iter().filter(|f| f.code == code).collect();
        let name = group.first().map(|f| f.kind).unwrap_or_default();
        let failures = group
            .iter()
            .filter(|f| f.failed() && f.severity == Severity::Error)
            .count();
        let _ = writeln!(
            out,
            "  <testsuite name=\"{code} {name}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">",
            group.len()
        );
        for finding in group {
            let _ = write!(
                out,
                "    <testcase classname=\"{code}.{name}\" name=\"{}\"",
                xml(&finding.rule)
            );
            if !finding.failed() {
                out.push_str("/>\n");
                continue;
            }
            out.push_str(">\n");
            let mut detail = format!("table: {}\nlocation: {}", finding.table, finding.location);
            if !finding.samples.is_empty() {
                let _ = write!(detail, "\nsamples: {}", samples_text(finding));
            }
            if let Some(line) = identity_line(finding) {
                let _ = write!(detail, "\n{line}");
            }
            if let Some(description) = &finding.description {
                let _ = write!(detail, "\n{description}");
            }
            match finding.severity {
                Severity::Error => {
                    let _ = writeln!(
                        out,
                        "      <failure type=\"error\" message=\"{}\">{}</failure>",
                        xml(&failure_message(finding)),
                        xml(&detail)
                    );
                }
                Severity::Warn => {
                    let _ = writeln!(
                        out,
                        "      <system-out>warning: {}\n{}</system-out>",
                        xml(&failure_message(finding)),
                        xml(&detail)
                    );
                }
            }
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::{Ledger, ResidualShare};

    fn finding(
        code: &'static str,
        kind: &'static str,
        rule: &str,
        severity: Severity,
        violations: u64,
    ) -> Finding {
        Finding {
            code,
            kind,
            rule: rule.to_string(),
            table: "claim".to_string(),
            severity,
            checked: Some(10),
            violations,
            samples: (1..=violations.min(5)).map(|n| n.to_string()).collect(),
            location: "rules/x.toml:3".to_string(),
            description: None,
            ledger: None,
        }
    }

    fn findings() -> Vec<Finding> {
        let mut ledger = finding("FB001", "ledger-imbalance", "fb.family", Severity::Error, 1);
        ledger.table = "patient".into();
        ledger.ledger = Some(Ledger {
            production: "100.00".into(),
            collections: "60.00".into(),
            adjustments: "-10.00".into(),
            ledger_balance: "30.00".into(),
            stored_balance: "25.00".into(),
            residual: "5.00".into(),
            breakdown: vec![ResidualShare {
                provider: "2".into(),
                month: "2026-05".into(),
                residual: "5.00".into(),
                rows: 1,
            }],
        });
        vec![
            finding(
                "VOL001",
                "row-count-out-of-range",
                "vol.claim",
                Severity::Error,
                0,
            ),
            finding(
                "AV001",
                "value-not-accepted",
                "av.claim|status",
                Severity::Warn,
                2,
            ),
            ledger,
        ]
    }

    #[test]
    fn the_summary_counts_failed_rules_by_severity() {
        let summary = Summary::of(&findings());
        assert_eq!(
            summary,
            Summary {
                rules: 3,
                errors: 1,
                warnings: 1
            }
        );
        assert_eq!(summary.line(), "3 rules, 1 error finding, 1 warning");
    }

    #[test]
    fn the_table_lists_failed_rules_in_code_order_with_the_ledger() {
        let text = render(&findings(), Format::Table);
        let av = text.find("AV001").unwrap();
        let fb = text.find("FB001").unwrap();
        assert!(av < fb, "{text}");
        assert!(!text.contains("VOL001"), "passing rules are not listed: {text}");
        assert!(
            text.contains("production 100.00 = collections 60.00 - adjustments (-10.00) + balance 30.00"),
            "{text}"
        );
        assert!(text.ends_with("3 rules, 1 error finding, 1 warning\n"), "{text}");
        assert_eq!(text, render(&findings(), Format::Table), "deterministic");
        let clean = render(&findings()[..1], Format::Table);
        assert_eq!(clean, "no findings\n1 rule, 0 error findings, 0 warnings\n");
    }

    #[test]
    fn json_markdown_and_junit_are_well_formed() {
        let json: serde_json::Value = serde_json::from_str(&render(&findings(), Format::Json)).unwrap();
        assert_eq!(json["summary"]["errors"], 1);
        assert_eq!(json["findings"].as_array().unwrap().len(), 3);
        assert_eq!(json["findings"][0]["code"], "AV001");
        let markdown = render(&findings(), Format::Markdown);
        assert!(
            markdown.contains("| AV001 | `av.claim\\|status` | warn |"),
            "{markdown}"
        );
        let junit = render(&findings(), Format::Junit);
        assert!(junit.starts_with("<?xml"), "{junit}");
        assert!(
            junit.contains("<testsuites name=\"dentsynth verify\" tests=\"3\" failures=\"1\""),
            "{junit}"
        );
        assert!(junit.contains("name=\"av.claim|status\""), "{junit}");
        assert!(junit.contains("<testcase classname=\"VOL001.row-count-out-of-range\" name=\"vol.claim\"/>"));
        assert!(junit.contains("<failure type=\"error\""), "{junit}");
        assert_eq!(junit.matches("<testsuite ").count(), 3);
        assert_eq!(xml("a<b&\"c\""), "a&lt;b&amp;&quot;c&quot;");
    }
}
