//! `dentsynth generate`: a profile -> the demo database (and/or CSV files).

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex};

use comfy_table::{presets::UTF8_BORDERS_ONLY, Cell, CellAlignment, Table};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{default_database, load_profile, print_line, Context, Outcome, Verbosity};
use crate::cli::GenerateArgs;
use crate::generate::{generate, Options, Progress, QuirksMode};
use crate::profile;

pub(super) async fn run(context: &Context, args: GenerateArgs) -> anyhow::Result<Outcome> {
    let quirks: QuirksMode = args.quirks.parse()?;
    if quirks != QuirksMode::None && args.no_load {
        // Refused before anything is printed or written (generate refuses it too).
        return Err(crate::generate::GenerateError::QuirksNeedDatabase {
            mode: quirks.to_string(),
        }
        .into());
    }
    let (profile, completion) = load_profile(args.profile.as_deref(), !args.no_fill)?;
    if let Some(completion) = &completion {
        context.note(completion.summary());
        if !completion.tables.is_empty() {
            context.detail(format!("  tables without rows: {}", completion.tables.join(", ")));
        }
        if !completion.reference_tables.is_empty() {
            let tables: Vec<String> = completion
                .reference_tables
                .iter()
                .map(|(table, rows)| format!("{table} ({rows} rows)"))
                .collect();
            context.detail(format!("  reference rows: {}", tables.join(", ")));
        }
        for relationship in &completion.relationships {
            context.detail(format!("  relationship {relationship}"));
        }
    }
    let as_of = args.as_of.unwrap_or_else(|| chrono::Local::now().date_naive());
    let jobs = args.jobs.map(|j| j as usize).unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .min(8)
    });
    let options = Options {
        schema: args.schema.clone(),
        seed: args.seed,
        scale: args.scale,
        as_of,
        months: args.months,
        jobs,
        force: args.force,
        out_dir: args.out_dir.clone(),
        load: !args.no_load,
        profile_name: profile.name.clone(),
        profile_hash: profile::content_hash(&profile),
        quirks,
    };
    let target = if options.load {
        Some(context.target(&args.connect, default_database()).await?)
    } else {
        None
    };
    let progress: Arc<dyn Progress> =
        if context.verbosity > Verbosity::Quiet && std::io::stderr().is_terminal() {
            Arc::new(Bars::new())
        } else {
            Arc::new(())
        };
    context.note(format!(
        "generating profile {} (seed {}, scale {}, as-of {}, {} months, {} jobs{}){}",
        profile.name,
        options.seed,
        options.scale,
        options.as_of,
        options.months,
        options.jobs,
        match options.quirks {
            QuirksMode::None => String::new(),
            mode => format!(", quirks {mode}"),
        },
        target
            .as_ref()
            .map(|t| format!(" into {} schema {}", t.redacted(), options.schema))
            .unwrap_or_default()
    ));
    let generation = generate(target.as_ref(), &profile, &options, progress.clone());
    let manifest = tokio::select! {
        result = generation => result?,
        _ = tokio::signal::ctrl_c() => {
            // The build schema is dropped by the next run; the demo is untouched.
            return Err(crate::generate::GenerateError::Interrupted.into());
        }
    };
    drop(progress);

    if context.verbosity > Verbosity::Quiet {
        let mut table = Table::new();
        table
            .load_preset(UTF8_BORDERS_ONLY)
            .set_header(vec!["table", "rows", "seconds"]);
        let mut rows: Vec<_> = manifest.tables.iter().filter(|t| t.rows > 0).collect();
        rows.sort_by(|a, b| b.rows.cmp(&a.rows).then(a.table.cmp(&b.table)));
        for report in rows {
            table.add_row(vec![
                Cell::new(&report.table),
                Cell::new(report.rows).set_alignment(CellAlignment::Right),
                Cell::new(format!("{:.2}", report.seconds)).set_alignment(CellAlignment::Right),
            ]);
        }
        print_line(table)?;
    }
    let mut reasons = std::collections::BTreeSet::new();
    for adaptation in &manifest.adaptations {
        if !reasons.insert(adaptation.reason.as_str()) {
            continue;
        }
        context.note(format!(
            "{}.{} {} (profile {}): {}",
            adaptation.table, adaptation.statistic, adaptation.achieved, adaptation.target, adaptation.reason
        ));
    }
    let seconds = manifest.seconds.max(1e-9);
    print_line(format!(
        "generated {} rows in {} tables in {:.1} s ({:.0} rows/s)",
        manifest.total_rows,
        manifest.tables.iter().filter(|t| t.rows > 0).count(),
        seconds,
        manifest.total_rows as f64 / seconds
    ))?;
    if options.quirks != QuirksMode::None {
        let rows: u64 = manifest.quirks.iter().map(|q| q.rows).sum();
        print_line(format!(
            "quirks {}: {} quirks changed or added {} rows (dentsynth.manifest_quirk)",
            options.quirks,
            manifest.quirks.len(),
            rows
        ))?;
        for quirk in &manifest.quirks {
            context.detail(format!(
                "  {} {}.{}: {} rows (target {})",
                quirk.id, quirk.table, quirk.column, quirk.rows, quirk.target
            ));
        }
    }
    if let Some(dir) = &options.out_dir {
        print_line(format!(
            "wrote CSV files, schema.sql and load.sql to {}",
            dir.display()
        ))?;
    }
    if let Some(target) = &target {
        if args.connect.database_url.is_none() {
            let cluster = crate::db::local::LocalCluster::open(&context.home)?;
            print_line(format!("demo database: {}", cluster.url(default_database())?))?;
            print_line(format!(
                "psql: dentsynth local psql   (schema {})",
                options.schema
            ))?;
        } else {
            print_line(format!(
                "demo database: {} (schema {})",
                target.redacted(),
                options.schema
            ))?;
        }
    }
    Ok(Outcome::Clean)
}

/// Progress bars per table on a terminal.
struct Bars {
    multi: MultiProgress,
    bars: Mutex<BTreeMap<String, ProgressBar>>,
}

impl Bars {
    fn new() -> Self {
        Self {
            multi: MultiProgress::with_draw_target(ProgressDrawTarget::stderr()),
            bars: Mutex::new(BTreeMap::new()),
        }
    }
}

impl Progress for Bars {
    fn table_started(&self, table: &str, rows: u64) {
        let bar = self.multi.add(ProgressBar::new(rows));
        bar.set_style(
            ProgressStyle::with_template("{prefix:>24} {bar:30} {pos:>9}/{len:<9} {per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_prefix(table.to_string());
        self.bars.lock().expect("bars").insert(table.to_string(), bar);
    }

    fn rows_done(&self, table: &str, rows: u64) {
        if let Some(bar) = self.bars.lock().expect("bars").get(table) {
            bar.inc(rows);
        }
    }

    fn table_finished(&self, table: &str) {
        if let Some(bar) = self.bars.lock().expect("bars").remove(table) {
            bar.finish_and_clear();
        }
    }

    fn phase(&self, name: &str) {
        let _ = self.multi.println(format!("{name}..."));
    }
}
