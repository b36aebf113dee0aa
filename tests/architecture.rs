//! Enforces the module boundaries of ARCHITECTURE.md by reading the source:
//! - the stage modules (introspect, generate, verify) never import each other;
//! - `profile` imports nothing async (no sqlx, no tokio) and nothing else from the crate;
//! - `report` never touches a database;
//! - `fidelity` (the demo vs its profile) uses only `generate::plan` of the stages, never formats
//!   text, and no stage imports it.

use std::fs;
use std::path::{Path, PathBuf};

const STAGES: [&str; 3] = ["introspect", "generate", "verify"];

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    let single = dir.with_extension("rs");
    if single.is_file() {
        files.push(single);
    }
    while let Some(current) = stack.pop() {
        for entry in fs::read_dir(&current).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Lines of `source` that use one of `forbidden` (paths like `crate::generate` or crate names like `sqlx`).
fn violations(source: &str, forbidden: &[String]) -> Vec<String> {
    source
        .lines()
        .filter(|line| {
            let code = line.split("//").next().unwrap_or("");
            forbidden.iter().any(|item| {
                code.match_indices(item.as_str()).any(|(index, _)| {
                    let before = code[..index].chars().next_back();
                    let after = code[index + item.len()..].chars().next();
                    let bounded_before = before.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
                    let bounded_after = after.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
                    bounded_before && bounded_after
                })
            })
        })
        .map(str::to_string)
        .collect()
}

fn check_module(module: &str, forbidden: &[String]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(module);
    rust_files(&root)
        .into_iter()
        .flat_map(|file| {
            let source = fs::read_to_string(&file).unwrap();
            violations(&source, forbidden)
                .into_iter()
                .map(move |line| format!("{}: {}", file.display(), line.trim()))
        })
        .collect()
}

#[test]
fn stages_do_not_import_each_other() {
    let mut problems = Vec::new();
    for stage in STAGES {
        let forbidden: Vec<String> = STAGES
            .iter()
            .filter(|other| **other != stage)
            .flat_map(|other| [format!("crate::{other}"), format!("dentsynth::{other}")])
            .collect();
        problems.extend(check_module(stage, &forbidden));
    }
    assert!(
        problems.is_empty(),
        "a stage imports another:\n{}",
        problems.join("\n")
    );
}

#[test]
fn profile_is_plain_data() {
    let mut forbidden: Vec<String> = ["sqlx", "tokio"].map(String::from).to_vec();
    for module in [
        "cli",
        "commands",
        "db",
        "fidelity",
        "introspect",
        "generate",
        "verify",
        "report",
    ] {
        forbidden.push(format!("crate::{module}"));
    }
    let problems = check_module("profile", &forbidden);
    assert!(
        problems.is_empty(),
        "profile must stay plain data:\n{}",
        problems.join("\n")
    );
}

#[test]
fn report_never_touches_a_database() {
    let forbidden: Vec<String> = ["sqlx", "tokio", "crate::db"].map(String::from).to_vec();
    let problems = check_module("report", &forbidden);
    assert!(
        problems.is_empty(),
        "report must not touch a database:\n{}",
        problems.join("\n")
    );
}

#[test]
fn fidelity_uses_only_the_plan_of_the_stages() {
    let mut forbidden: Vec<String> = Vec::new();
    for module in ["introspect", "verify", "report", "cli", "commands"] {
        forbidden.push(format!("crate::{module}"));
    }
    for module in ["generic", "load", "rng", "scenario", "schema", "value"] {
        forbidden.push(format!("crate::generate::{module}"));
    }
    let mut problems = check_module("fidelity", &forbidden);
    // `generate` itself only through `generate::plan` (no `use crate::generate::{...}` or glob).
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/fidelity");
    for file in rust_files(&root) {
        let source = fs::read_to_string(&file).unwrap();
        for line in source.lines() {
            let code = line.split("//").next().unwrap_or("");
            for (index, _) in code.match_indices("crate::generate") {
                if !code[index..].starts_with("crate::generate::plan") {
                    problems.push(format!("{}: {}", file.display(), line.trim()));
                }
            }
        }
    }
    for stage in STAGES {
        let forbidden = vec!["crate::fidelity".to_string(), "dentsynth::fidelity".to_string()];
        problems.extend(check_module(stage, &forbidden));
    }
    assert!(
        problems.is_empty(),
        "fidelity may use generate::plan only, and no stage may use fidelity:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_checker_catches_violations() {
    // The rules above would pass vacuously if the scanner never matched: prove it matches.
    let forbidden = vec!["crate::generate".to_string(), "sqlx".to_string()];
    let source = "use crate::generate::plan;\nuse sqlx_like::x;\nlet a = crate::generated;\n// use sqlx;\nuse sqlx::PgPool;\n";
    assert_eq!(
        violations(source, &forbidden),
        vec!["use crate::generate::plan;", "use sqlx::PgPool;"]
    );
}
