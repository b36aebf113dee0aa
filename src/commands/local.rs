//! `dentsynth local start | stop | status | url | psql`: the managed local PostgreSQL.

use std::os::unix::process::CommandExt;

use anyhow::Context as _;

use super::{print_line, Context, Outcome};
use crate::cli::{LocalAction, LocalArgs};
use crate::db::local::{LocalCluster, Status, DEFAULT_DATABASE};

pub(super) fn run(
    context: &Context,
    args: LocalArgs,
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<Outcome> {
    let cluster = LocalCluster::open(&context.home)?;
    match args.action {
        LocalAction::Start => {
            start(context, &cluster, runtime)?;
            print_line(cluster.url(DEFAULT_DATABASE)?)?;
            Ok(Outcome::Clean)
        }
        LocalAction::Stop => {
            if cluster.stop()? {
                context.note(format!(
                    "stopped the local cluster in {}",
                    cluster.home().display()
                ));
            } else {
                context.note(format!(
                    "the local cluster in {} is not running",
                    cluster.home().display()
                ));
            }
            Ok(Outcome::Clean)
        }
        LocalAction::Status => match cluster.status()? {
            Status::Running { port, pid } => {
                print_line(format!(
                    "running: port {port}, pid {pid}, data {}",
                    cluster.home().join("data").display()
                ))?;
                Ok(Outcome::Clean)
            }
            Status::Stopped => {
                print_line(format!("stopped: data {}", cluster.home().join("data").display()))?;
                Ok(Outcome::Findings)
            }
            Status::NotInitialised => {
                print_line(format!(
                    "not initialised: {} (run `dentsynth local start`)",
                    cluster.home().display()
                ))?;
                Ok(Outcome::Findings)
            }
        },
        LocalAction::Url { database } => {
            if !matches!(cluster.status()?, Status::Running { .. }) {
                context.note("note: the local cluster is not running; start it with `dentsynth local start`");
            }
            print_line(cluster.url(&database)?)?;
            Ok(Outcome::Clean)
        }
        LocalAction::Psql { database, psql_args } => {
            start(context, &cluster, runtime)?;
            runtime.block_on(cluster.ensure_database(&database))?;
            let mut command = cluster.psql_command(&database)?;
            command.args(psql_args);
            let error = command.exec();
            Err(error).context("could not run psql")
        }
    }
}

/// Starts the cluster (a no-op when running) and makes sure the default database exists.
fn start(context: &Context, cluster: &LocalCluster, runtime: &tokio::runtime::Runtime) -> anyhow::Result<()> {
    let started = cluster.start()?;
    for note in &started.notes {
        context.note(note);
    }
    if started.initialised {
        context.note(format!(
            "initialised a PostgreSQL {} cluster in {}",
            cluster.binaries().major_version,
            cluster.home().display()
        ));
    }
    if started.already_running {
        context.note(format!(
            "the local cluster is already running on port {}",
            started.port
        ));
    } else {
        context.note(format!("started the local cluster on 127.0.0.1:{}", started.port));
    }
    context.detail(format!("server log: {}", cluster.log_file().display()));
    runtime.block_on(cluster.ensure_database(DEFAULT_DATABASE))?;
    Ok(())
}
