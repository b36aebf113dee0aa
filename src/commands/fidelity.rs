//! `dentsynth fidelity`: a demo database + the profile it came from -> a fidelity report.

use std::io::Write;
use std::time::Duration;

use anyhow::bail;

use super::{default_database, load_profile, Context, Outcome};
use crate::cli::{FidelityArgs, FidelityFormat};
use crate::db::DbError;
use crate::fidelity::{self, FidelityError, Options, ScaleSource};
use crate::report::{self, fidelity::Format};

pub(super) async fn run(context: &Context, args: FidelityArgs) -> anyhow::Result<Outcome> {
    let (profile, completion) = load_profile(args.profile.as_deref(), !args.no_fill)?;
    if let Some(completion) = &completion {
        context.note(completion.summary());
    }
    let local = args.connect.database_url.is_none();
    // Without --database-url: the managed cluster's demo database, which this command never creates.
    let target = context.existing_target(&args.connect, default_database())?;
    let jobs = args.jobs.map(|j| j as usize).unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
            .min(8)
    });
    let options = Options {
        schema: args.schema.clone(),
        scale: args.scale,
        tables: args.tables.clone(),
        jobs,
        statement_timeout: Duration::from_secs_f64(args.statement_timeout),
    };
    context.note(format!(
        "comparing schema {} of {} with profile {}",
        args.schema,
        target.redacted(),
        profile.name
    ));
    let report = match fidelity::compare(&target, &profile, &options).await {
        Ok(report) => report,
        Err(FidelityError::Connect(DbError::UnknownDatabase { url, database })) if local => bail!(
            "database {database:?} does not exist on {url}: run `dentsynth generate` first, or pass --database-url"
        ),
        Err(error) => return Err(error.into()),
    };
    context.note(format!(
        "scale {}{}",
        report.scale,
        match report.scale_source {
            ScaleSource::Argument => "",
            ScaleSource::Manifest => " (the generator's, from the dentsynth manifest)",
        }
    ));
    if let Some(from) = &report.generated_from {
        let source = if from.profile_name == report.profile {
            format!("another version of profile {}", from.profile_name)
        } else {
            format!("profile {}", from.profile_name)
        };
        context.note(format!(
            "warning: the dentsynth manifest says schema {} was generated from {source}, so its targets may differ from these; pass --profile with the profile it was generated from",
            report.schema
        ));
    }
    let format = match args.format {
        FidelityFormat::Table => Format::Table,
        FidelityFormat::Json => Format::Json,
    };
    let text = report::fidelity::render(&report, format, args.all);
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(if report.summary().outside > 0 {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}
