//! The command line: help, bad flags, and bad connection URLs (one clear line, exit 2, no password).

use crate::support;

use support::{cluster, dentsynth, text};

#[test]
fn help_lists_every_command_with_examples() {
    let output = dentsynth().arg("--help").output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    let (stdout, _) = text(&output);
    for needle in ["local", "ping", "--quiet", "--verbose", "--home", "Examples:"] {
        assert!(stdout.contains(needle), "help lacks {needle}:\n{stdout}");
    }
    for command in [&["local"][..], &["ping"], &["local", "start"]] {
        let output = dentsynth().args(command).arg("--help").output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{command:?}");
        let (stdout, _) = text(&output);
        assert!(stdout.contains("Usage:"), "{command:?}: {stdout}");
    }
    for command in ["local", "ping"] {
        let (stdout, _) = text(&dentsynth().args([command, "--help"]).output().unwrap());
        assert!(
            stdout.contains("Examples:"),
            "{command} help has no example:\n{stdout}"
        );
    }
}

#[test]
fn version_is_printed() {
    let output = dentsynth().arg("--version").output().unwrap();
    assert_eq!(output.status.code(), Some(0));
    assert!(text(&output).0.starts_with("dentsynth "));
}

#[test]
fn bad_flags_exit_2_with_a_clear_message() {
    for args in [
        &["--bogus"][..],
        &["local", "explode"],
        &["ping", "--database-url"],
        &["-q", "-v", "local", "status"],
    ] {
        let output = dentsynth().args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let (_, stderr) = text(&output);
        assert!(stderr.starts_with("error:"), "{args:?}: {stderr}");
    }
    // No command at all: the usage, on stderr, and exit 2.
    let output = dentsynth().output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output).1.contains("Usage: dentsynth"));
}

#[test]
fn the_help_never_shows_the_database_url_from_the_environment() {
    let output = dentsynth()
        .args(["ping", "--help"])
        .env("DATABASE_URL", "postgres://u:envsecret@localhost/x")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert!(!stdout.contains("envsecret") && !stderr.contains("envsecret"));
}

/// Runs `ping` against a URL and checks: exit 2, a single line on stderr, the expected phrase,
/// and no trace of the password anywhere.
fn assert_ping_fails(url: &str, password: &str, phrase: &str, through_environment: bool) {
    let mut command = dentsynth();
    command.arg("ping");
    if through_environment {
        command.env("DATABASE_URL", url);
    } else {
        command.args(["--database-url", url]);
    }
    let output = command.output().unwrap();
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{url}: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "not one line: {stderr}");
    assert!(stderr.contains(phrase), "{stderr} lacks {phrase}");
    assert!(
        !stderr.contains(password) && !stdout.contains(password),
        "password leaked: {stderr}"
    );
}

#[test]
fn a_malformed_url_is_one_line_and_exit_2() {
    assert_ping_fails(
        "postgres//admin:hunter2hunter2@db",
        "hunter2hunter2",
        "invalid database URL",
        false,
    );
    assert_ping_fails(
        "mysql://admin:hunter2hunter2@db/x",
        "hunter2hunter2",
        "not postgres",
        false,
    );
    assert_ping_fails(
        "postgres://admin:hunter2hunter2@db:notaport/x",
        "hunter2hunter2",
        "invalid database URL",
        true,
    );
}

#[test]
fn an_unreachable_host_is_one_line_and_exit_2() {
    // Port 1 on loopback: nothing listens there.
    assert_ping_fails(
        "postgres://admin:hunter2hunter2@127.0.0.1:1/x",
        "hunter2hunter2",
        "connection refused",
        false,
    );
    assert_ping_fails(
        "postgres://admin:hunter2hunter2@no-such-host.invalid/x",
        "hunter2hunter2",
        "cannot connect",
        true,
    );
}

#[test]
fn a_wrong_password_is_one_line_and_exit_2() {
    let good = cluster().url("postgres").unwrap();
    let parsed = url::Url::parse(&good).unwrap();
    let mut bad = parsed.clone();
    bad.set_password(Some("wrongpassword123")).unwrap();
    assert_ping_fails(
        bad.as_str(),
        "wrongpassword123",
        "password authentication failed",
        false,
    );
    // The real password must not leak either when the database is missing.
    let mut missing = parsed.clone();
    missing.set_path("/no_such_database");
    assert_ping_fails(
        missing.as_str(),
        parsed.password().unwrap(),
        "does not exist",
        true,
    );
}

#[test]
fn ping_reports_the_server() {
    let url = cluster().url("postgres").unwrap();
    let output = dentsynth()
        .args(["ping", "--database-url", &url])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("server version: 1"), "{stdout}");
    assert!(stdout.contains("database: postgres"), "{stdout}");
    let password = url::Url::parse(&url).unwrap().password().unwrap().to_string();
    assert!(!stdout.contains(&password), "ping printed the password");
}
