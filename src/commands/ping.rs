//! `dentsynth ping`: connect to a database and say what it is.

use super::{default_database, print_line, Context, Outcome};
use crate::cli::PingArgs;

pub(super) async fn run(context: &Context, args: PingArgs) -> anyhow::Result<Outcome> {
    let target = context.target(&args.connect, default_database()).await?;
    let mut connection = target.connect().await?;
    let (version, database): (String, String) =
        sqlx::query_as("select current_setting('server_version'), current_database()")
            .fetch_one(&mut connection)
            .await
            .map_err(|error| target.classify(error))?;
    // pg_control_system() is restricted to privileged roles on some servers: report what is visible.
    let system_identifier: Option<String> =
        sqlx::query_scalar("select system_identifier::text from pg_control_system()")
            .fetch_one(&mut connection)
            .await
            .ok();
    print_line(format!("ok: {}", target.redacted()))?;
    print_line(format!("server version: {version}"))?;
    print_line(format!("database: {database}"))?;
    print_line(format!(
        "system identifier: {}",
        system_identifier
            .as_deref()
            .unwrap_or("(not visible to this role)")
    ))?;
    context.detail("connection closed");
    Ok(Outcome::Clean)
}
