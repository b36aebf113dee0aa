//! The managed local PostgreSQL, driven through the binary as a user would.

use crate::support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use sqlx::Connection;
use support::{dentsynth, scratch_dir, text};

fn local(home: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let output = dentsynth()
        .arg("--home")
        .arg(home)
        .arg("local")
        .args(args)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    (output.status.code(), stdout, stderr)
}

fn postmaster_pid(home: &Path) -> u32 {
    fs::read_to_string(home.join("data/postmaster.pid"))
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn lifecycle_start_twice_status_stop_and_stale_pid_recovery() {
    let home = scratch_dir("lifecycle");

    let (code, _, stdout_missing) = local(&home, &["status"]);
    assert_eq!(code, Some(1), "status before start: {stdout_missing}");

    let (code, url, stderr) = local(&home, &["start"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("initialised"), "{stderr}");
    let url = url.trim().to_string();
    assert!(
        url.starts_with("postgres://dentsynth:") && url.ends_with("/opendental_demo"),
        "{url}"
    );
    let first_pid = postmaster_pid(&home);

    // The second start is a no-op: same server, same URL.
    let (code, second_url, stderr) = local(&home, &["start"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("already running"), "{stderr}");
    assert_eq!(second_url.trim(), url);
    assert_eq!(postmaster_pid(&home), first_pid);

    let (code, status, _) = local(&home, &["status"]);
    assert_eq!(code, Some(0));
    assert!(status.starts_with("running: port "), "{status}");

    // The password file is private; the server listens on loopback only.
    let mode = fs::metadata(home.join("password")).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let settings: Vec<String> = support::block_on({
        let url = url.clone();
        move || async move {
            let mut connection = sqlx::PgConnection::connect(&url).await.unwrap();
            let mut values = Vec::new();
            for name in [
                "listen_addresses",
                "unix_socket_directories",
                "password_encryption",
            ] {
                let value: String = sqlx::query_scalar(&format!("show {name}"))
                    .fetch_one(&mut connection)
                    .await
                    .unwrap();
                values.push(value);
            }
            values
        }
    });
    assert_eq!(
        settings,
        vec![
            "127.0.0.1".to_string(),
            String::new(),
            "scram-sha-256".to_string()
        ]
    );

    // A crash: the postmaster is killed and leaves its pid file behind.
    let killed = Command::new("kill")
        .args(["-9", &first_pid.to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    wait_until(|| !Path::new(&format!("/proc/{first_pid}")).exists());
    assert!(
        home.join("data/postmaster.pid").exists(),
        "the crash should leave a pid file"
    );
    let (code, status, _) = local(&home, &["status"]);
    assert_eq!(code, Some(1));
    assert!(status.starts_with("stopped"), "{status}");
    let (code, recovered_url, stderr) = local(&home, &["start"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("stale postmaster.pid"), "{stderr}");
    assert_eq!(recovered_url.trim(), url, "the port and password are remembered");

    // A clean stop, then a second stop that is a no-op.
    let (code, _, stderr) = local(&home, &["stop"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("stopped"), "{stderr}");
    assert!(!home.join("data/postmaster.pid").exists());
    let (code, _, stderr) = local(&home, &["stop"]);
    assert_eq!(code, Some(0));
    assert!(stderr.contains("not running"), "{stderr}");

    // A pid file naming a process that does not exist (after a reboot, say).
    fs::write(home.join("data/postmaster.pid"), "4194000\n/nowhere\n0\n5432\n").unwrap();
    let (code, _, stderr) = local(&home, &["start"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("stale postmaster.pid"), "{stderr}");
    let (code, _, _) = local(&home, &["stop"]);
    assert_eq!(code, Some(0));
}

#[test]
fn the_url_works_in_sqlx_and_psql() {
    let home = scratch_dir("url");
    let (code, _, stderr) = local(&home, &["start"]);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, url, _) = local(&home, &["url", "--database", "postgres"]);
    assert_eq!(code, Some(0));
    let url = url.trim().to_string();

    let answer: i32 = support::block_on({
        let url = url.clone();
        move || async move {
            let mut connection = sqlx::PgConnection::connect(&url).await.unwrap();
            sqlx::query_scalar("select 40 + 2")
                .fetch_one(&mut connection)
                .await
                .unwrap()
        }
    });
    assert_eq!(answer, 42);

    let psql = dentsynth::db::local::Binaries::locate(None)
        .unwrap()
        .psql
        .expect("psql is installed with the server");
    let output = Command::new(psql)
        .args([&url, "-tAc", "select 6 * 7"])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert!(output.status.success(), "{stderr}");
    assert_eq!(stdout.trim(), "42");

    // `local psql` passes its trailing arguments to psql, on the default database.
    let (code, stdout, stderr) = local(&home, &["psql", "--", "-tAc", "select current_database()"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout.trim(), "opendental_demo");

    let (code, _, _) = local(&home, &["stop"]);
    assert_eq!(code, Some(0));
}

#[test]
fn missing_binaries_fail_with_the_install_hint() {
    let home = scratch_dir("nobinaries");
    let output = dentsynth()
        .arg("--home")
        .arg(&home)
        .args(["local", "start"])
        .env("DENTSYNTH_PG_BIN", home.join("empty"))
        .output()
        .unwrap();
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr.contains("apt-get install postgresql"), "{stderr}");
    assert!(stderr.contains("--database-url"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    assert!(!home.join("data").exists(), "nothing may be created");
}

#[test]
fn url_before_start_says_how_to_start() {
    let home = scratch_dir("nostart");
    let (code, _, stderr) = local(&home, &["url"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("dentsynth local start"), "{stderr}");
}

fn wait_until(condition: impl Fn() -> bool) {
    for _ in 0..100 {
        if condition() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("condition not reached within 10 s");
}
