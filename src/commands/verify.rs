//! `dentsynth verify`: a database + profile + rules -> findings -> a report (or a snapshot diff).

use std::fs;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context as _};

use super::{default_database, load_profile, Context, Outcome};
use crate::cli::{ReportFormat, VerifyArgs};
use crate::db::DbError;
use crate::report::{self, findings::Format, findings::Summary};
use crate::verify::{self, rules, AsOfSource, Options, VerifyError};

pub(super) async fn run(context: &Context, args: VerifyArgs) -> anyhow::Result<Outcome> {
    let (profile, completion) = load_profile(args.profile.as_deref(), !args.no_fill)?;
    if let Some(completion) = &completion {
        context.note(completion.summary());
    }
    let user_rules = match &args.rules {
        Some(dir) => rules::read_dir(dir)?,
        None => Vec::new(),
    };
    let files = rules::combine(rules::builtin(), user_rules, !args.no_default_rules);
    let instances = rules::select(rules::load(&files, &profile)?, &args.select)?;
    if instances.is_empty() {
        bail!("no rules to run: the rule files hold none of the selected kinds; check --select and --rules");
    }
    context.detail(format!(
        "{} rule instances from {} file(s), profile {}",
        instances.len(),
        files.len(),
        profile.name
    ));

    let local = args.connect.database_url.is_none();
    // Without --database-url: the managed cluster's demo database, which this command never creates.
    let target = context.existing_target(&args.connect, default_database())?;
    context.note(format!(
        "verifying schema {} of {} with {} rule{}",
        args.schema,
        target.redacted(),
        instances.len(),
        if instances.len() == 1 { "" } else { "s" }
    ));
    let options = Options {
        schema: args.schema.clone(),
        as_of: args.as_of,
        default_as_of: chrono::Local::now().date_naive(),
        statement_timeout: Duration::from_secs_f64(args.statement_timeout),
        jobs: args.jobs as usize,
    };
    let run = match verify::verify(&target, &profile, &instances, &options).await {
        Ok(run) => run,
        Err(VerifyError::Connect(DbError::UnknownDatabase { url, database })) if local => bail!(
            "database {database:?} does not exist on {url}: run `dentsynth generate` first, or pass --database-url"
        ),
        Err(error) => return Err(error.into()),
    };
    context.note(format!(
        "as of {}{}",
        run.as_of,
        match run.as_of_source {
            AsOfSource::Argument => "",
            AsOfSource::Manifest => " (the generator's, from the dentsynth manifest)",
            AsOfSource::Default => " (today: no --as-of and no dentsynth manifest)",
        }
    ));

    let format = match args.format {
        ReportFormat::Table => Format::Table,
        ReportFormat::Json => Format::Json,
        ReportFormat::Markdown => Format::Markdown,
        ReportFormat::Junit => Format::Junit,
    };
    let text = report::findings::render(&run.findings, format);
    let summary = Summary::of(&run.findings);

    let Some(snapshot) = &args.snapshot else {
        write_stdout(&text)?;
        return Ok(if summary.errors > 0 {
            Outcome::Findings
        } else {
            Outcome::Clean
        });
    };
    if args.bless {
        write_snapshot(snapshot, &text)?;
        context.note(format!("wrote {} ({})", snapshot.display(), summary.line()));
        return Ok(Outcome::Clean);
    }
    let on_disk = match fs::read_to_string(snapshot) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            context.note(format!("{} does not exist yet", snapshot.display()));
            String::new()
        }
        Err(error) => {
            return Err(error).with_context(|| format!("cannot read the snapshot {}", snapshot.display()))
        }
    };
    match report::unified_diff(&snapshot.display().to_string(), &on_disk, &text) {
        None => {
            context.note(format!("{}: up to date ({})", snapshot.display(), summary.line()));
            Ok(Outcome::Clean)
        }
        Some(diff) => {
            write_stdout(&diff)?;
            eprintln!(
                "{}: the report drifted ({}); if the change is intended, run the same command with --bless",
                snapshot.display(),
                summary.line()
            );
            Ok(Outcome::Findings)
        }
    }
}

fn write_stdout(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(())
}

fn write_snapshot(path: &Path, text: &str) -> anyhow::Result<()> {
    let problem = || format!("cannot write the snapshot {}", path.display());
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).with_context(problem)?;
    }
    fs::write(path, text).with_context(problem)
}
