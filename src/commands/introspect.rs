//! `dentsynth introspect`: production schema and statistics -> a profile folder.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _};

use super::{print_line, Context, Outcome};
use crate::cli::IntrospectArgs;
use crate::db::Target;
use crate::introspect::{introspect, Options, OPENDENTAL_REFERENCE_TABLES};
use crate::profile::{self, calibration};

pub(super) async fn run(context: &Context, args: IntrospectArgs) -> anyhow::Result<Outcome> {
    let Some(url) = &args.connect.database_url else {
        bail!("introspect needs the database to read: pass --database-url (or set DATABASE_URL)");
    };
    let target = Target::parse(url)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("introspection").join(target.database()));
    let name = args.name.clone().unwrap_or_else(|| {
        out.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| target.database())
    });
    if let Some(calibration) = &args.calibration {
        if !calibration.is_file() {
            bail!(
                "calibration file {} does not exist: pass an existing --calibration FILE",
                calibration.display()
            );
        }
    }
    if !args.check {
        preflight_writable(&out)?;
    }
    let mut reference_tables = args.reference_table.clone();
    if args.reference_tables.as_deref() == Some("opendental") {
        reference_tables.extend(OPENDENTAL_REFERENCE_TABLES.iter().map(|t| t.to_string()));
    }
    reference_tables.sort();
    reference_tables.dedup();
    if !reference_tables.is_empty() {
        context.note(format!(
            "reference tables to copy verbatim: {}",
            reference_tables.join(", ")
        ));
    }
    let options = Options {
        name,
        schema: args.schema.clone(),
        min_group_size: args.min_group_size,
        sample_rows: args.sample_rows,
        reference_tables,
        reference_max_rows: args.reference_max_rows,
        statement_timeout: Duration::from_secs(args.statement_timeout),
        jobs: args.jobs as usize,
        fixture: args.fixture,
    };
    context.note(format!(
        "introspecting schema {} of {}",
        options.schema,
        target.redacted()
    ));
    let started = std::time::Instant::now();
    let mut profile = introspect(&target, &options).await?;
    if let Some(file) = &args.calibration {
        let label = relative_label(file, &out);
        calibration::apply(&mut profile, file, &label)?;
    }
    context.detail(format!("read in {:.1} s", started.elapsed().as_secs_f64()));

    if args.check {
        let fresh = profile::render(&profile);
        let on_disk = read_profile_files(&out)?;
        let diffs = crate::report::compare_files(&on_disk, &fresh);
        if diffs.is_empty() {
            context.note(format!(
                "{}: up to date ({} tables)",
                out.display(),
                profile.tables.len()
            ));
            return Ok(Outcome::Clean);
        }
        for diff in &diffs {
            print!("{diff}");
        }
        eprintln!(
            "{}: {} file(s) drifted; run the same command without --check to update the profile",
            out.display(),
            diffs.len()
        );
        return Ok(Outcome::Findings);
    }
    profile::save(&profile, &out)?;
    let relationships = profile.relationships.len();
    print_line(format!(
        "wrote {} ({} tables, {} relationships{})",
        out.display(),
        profile.tables.len(),
        relationships,
        if profile.source.opendental {
            ", OpenDental map applied"
        } else {
            ""
        }
    ))?;
    Ok(Outcome::Clean)
}

/// Fails early, before reading anything, when the output folder cannot be written.
fn preflight_writable(out: &Path) -> anyhow::Result<()> {
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let problem = || {
        format!(
            "cannot write to {}: choose a writable --out folder",
            out.display()
        )
    };
    fs::create_dir_all(parent).with_context(problem)?;
    let probe = parent.join(format!(".dentsynth-write-test-{}", std::process::id()));
    fs::write(&probe, b"").with_context(problem)?;
    let _ = fs::remove_file(&probe);
    Ok(())
}

/// The calibration file as recorded in the profile: relative to the profile folder when inside it.
fn relative_label(file: &Path, out: &Path) -> String {
    let absolute = |p: &Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let (file_abs, out_abs) = (absolute(file), absolute(out));
    file_abs
        .strip_prefix(&out_abs)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| {
            file.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        })
}

/// The files introspect owns in a profile folder (profile.json and tables/*.json).
fn read_profile_files(dir: &Path) -> anyhow::Result<BTreeMap<PathBuf, String>> {
    let mut files = BTreeMap::new();
    let profile = dir.join("profile.json");
    if profile.is_file() {
        files.insert(PathBuf::from("profile.json"), fs::read_to_string(&profile)?);
    }
    if let Ok(entries) = fs::read_dir(dir.join("tables")) {
        for entry in entries.flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "json") {
                let relative = PathBuf::from("tables").join(entry.file_name());
                files.insert(relative, fs::read_to_string(&path)?);
            }
        }
    }
    Ok(files)
}
