//! One file per subcommand: arguments -> typed configuration -> stage -> output.
//!
//! This is the only layer that knows about flags, paths and standard output. Library code returns
//! typed errors; commands add context with anyhow. Errors end as one line on stderr and exit 2.

mod fidelity;
mod generate;
mod introspect;
mod local;
mod ping;
mod verify;

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;

use crate::cli::{Cli, Command, ConnectArgs};
use crate::db::local::{LocalCluster, DEFAULT_DATABASE};
use crate::db::Target;
use crate::profile::{self, Completion, Profile};

/// How a command ended when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Exit 0.
    Clean,
    /// Exit 1: findings, drift, or (for `local status`) not running.
    Findings,
}

/// How much to print besides results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    Quiet,
    Normal,
    Verbose,
}

/// What every command gets besides its own arguments.
#[derive(Debug, Clone)]
pub struct Context {
    pub verbosity: Verbosity,
    pub home: std::path::PathBuf,
}

impl Context {
    /// A progress or status note on stderr (hidden by --quiet).
    pub fn note(&self, message: impl std::fmt::Display) {
        if self.verbosity >= Verbosity::Normal {
            eprintln!("{message}");
        }
    }

    /// Detail shown only with --verbose.
    pub fn detail(&self, message: impl std::fmt::Display) {
        if self.verbosity >= Verbosity::Verbose {
            eprintln!("{message}");
        }
    }

    /// The connection target: --database-url / DATABASE_URL, or the managed local cluster's
    /// database `database` (started and created when needed).
    pub async fn target(&self, connect: &ConnectArgs, database: &str) -> anyhow::Result<Target> {
        if let Some(url) = &connect.database_url {
            return Ok(Target::parse(url)?);
        }
        let (cluster, started) = self.start_local()?;
        if !started.already_running {
            self.note(format!("started the local cluster on port {}", started.port));
        }
        cluster.ensure_database(database).await?;
        Ok(cluster.target(database)?)
    }

    /// Like [`Context::target`], for commands that only read: the local cluster is started, but
    /// its database is never created (a missing one is the caller's error to explain).
    pub fn existing_target(&self, connect: &ConnectArgs, database: &str) -> anyhow::Result<Target> {
        if let Some(url) = &connect.database_url {
            return Ok(Target::parse(url)?);
        }
        let (cluster, _) = self.start_local()?;
        Ok(cluster.target(database)?)
    }

    /// Opens and starts the managed cluster, passing its notes on.
    fn start_local(&self) -> anyhow::Result<(LocalCluster, crate::db::local::Started)> {
        let cluster = LocalCluster::open(&self.home)?;
        let started = cluster.start()?;
        for note in &started.notes {
            self.note(note);
        }
        Ok((cluster, started))
    }
}

/// Parses the command line, runs it, and maps the outcome to 0 (clean), 1 (findings) or 2 (failure).
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let code = error.exit_code();
            let _ = error.print();
            return ExitCode::from(u8::try_from(code).unwrap_or(2));
        }
    };
    match run(cli) {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Findings) => ExitCode::from(1),
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            let mut message = String::from("error: ");
            for (index, cause) in error.chain().enumerate() {
                let text = cause.to_string();
                if index > 0 {
                    // Skip causes whose text the previous line already carries.
                    if message.contains(&text) {
                        continue;
                    }
                    message.push_str(": ");
                }
                message.push_str(&text);
            }
            let _ = writeln!(std::io::stderr(), "{}", message.replace('\n', " "));
            ExitCode::from(2)
        }
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let context = Context {
        verbosity: if cli.quiet {
            Verbosity::Quiet
        } else if cli.verbose > 0 {
            Verbosity::Verbose
        } else {
            Verbosity::Normal
        },
        home: LocalCluster::default_home(cli.home.as_deref()),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match cli.command {
        Command::Local(args) => local::run(&context, args, &runtime),
        Command::Generate(args) => runtime.block_on(generate::run(&context, args)),
        Command::Introspect(args) => runtime.block_on(introspect::run(&context, args)),
        Command::Ping(args) => runtime.block_on(ping::run(&context, args)),
        Command::Verify(args) => runtime.block_on(verify::run(&context, args)),
        Command::Fidelity(args) => runtime.block_on(fidelity::run(&context, args)),
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Writes one line of results to stdout.
pub(crate) fn print_line(text: impl std::fmt::Display) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{text}")?;
    Ok(())
}

pub(crate) fn default_database() -> &'static str {
    DEFAULT_DATABASE
}

/// The profile a command works with: the built-in one, or `--profile DIR`; an introspected OpenDental
/// profile is completed from the built-in one (`profile::complete`) unless `fill` is false, so that
/// generate, fidelity and verify all see the same profile. Returns what was filled, if anything ran.
pub(crate) fn load_profile(
    dir: Option<&std::path::Path>,
    fill: bool,
) -> anyhow::Result<(Profile, Option<Completion>)> {
    let builtin = || profile::builtin().context("the built-in profile is damaged");
    let Some(dir) = dir else {
        return Ok((builtin()?, None));
    };
    let mut loaded = profile::load(dir)?;
    if !fill || !loaded.source.opendental {
        return Ok((loaded, None));
    }
    let completion = profile::complete_from(&mut loaded, &builtin()?);
    Ok((loaded, Some(completion)))
}
