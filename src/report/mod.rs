//! report: findings, fidelity reports and artefacts -> text. Snapshot comparison (unified diffs with
//! `similar`).
//!
//! Never touches a database.

pub mod fidelity;
pub mod findings;

use std::collections::BTreeMap;
use std::path::PathBuf;

use similar::TextDiff;

/// A unified diff of `old` (on disk) against `new` (freshly computed), or None when equal.
pub fn unified_diff(path: &str, old: &str, new: &str) -> Option<String> {
    if old == new {
        return None;
    }
    let diff = TextDiff::from_lines(old, new);
    Some(
        diff.unified_diff()
            .context_radius(3)
            .header(&format!("a/{path}"), &format!("b/{path}"))
            .to_string(),
    )
}

/// Compares two sets of files (relative path -> text). Returns the diffs, in path order, for every
/// file that differs, is missing on one side, or is extra.
pub fn compare_files(on_disk: &BTreeMap<PathBuf, String>, fresh: &BTreeMap<PathBuf, String>) -> Vec<String> {
    let mut paths: Vec<&PathBuf> = on_disk.keys().chain(fresh.keys()).collect();
    paths.sort();
    paths.dedup();
    paths
        .into_iter()
        .filter_map(|path| {
            let old = on_disk.get(path).map(String::as_str).unwrap_or("");
            let new = fresh.get(path).map(String::as_str).unwrap_or("");
            unified_diff(&path.display().to_string(), old, new)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_files_have_no_diff_and_changes_show_both_lines() {
        assert!(unified_diff("x", "a\n", "a\n").is_none());
        let diff = unified_diff("x.json", "a\nb\n", "a\nc\n").unwrap();
        assert!(
            diff.contains("--- a/x.json") && diff.contains("-b") && diff.contains("+c"),
            "{diff}"
        );
    }

    #[test]
    fn missing_and_extra_files_are_reported() {
        let mut disk = BTreeMap::new();
        disk.insert(PathBuf::from("old.json"), "x\n".to_string());
        let mut fresh = BTreeMap::new();
        fresh.insert(PathBuf::from("new.json"), "y\n".to_string());
        assert_eq!(compare_files(&disk, &fresh).len(), 2);
    }
}
