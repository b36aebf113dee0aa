//! Test support: one managed PostgreSQL cluster per test run, a fresh database per test.
//!
//! The cluster lives in `target/tmp/test-cluster` and is started through the same module the
//! tool uses (`dentsynth::db::local`). Each test gets its own database, dropped when the test
//! passes and kept (its name printed) when it fails. A machine without PostgreSQL binaries
//! fails here with the install hint: tests are never skipped.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use dentsynth::db::local::LocalCluster;
use dentsynth::db::Target;

/// The folder of the shared test cluster.
pub fn cluster_home() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("test-cluster")
}

/// The shared test cluster, started once per test binary (idempotent across binaries).
pub fn cluster() -> &'static LocalCluster {
    static CLUSTER: OnceLock<LocalCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| {
        let cluster = LocalCluster::open(&cluster_home()).unwrap_or_else(|error| panic!("{error}"));
        cluster.start().unwrap_or_else(|error| panic!("{error}"));
        cluster
    })
}

/// A database of its own for one test.
pub struct TestDb {
    pub name: String,
    pub target: Target,
    pub url: String,
}

impl TestDb {
    /// Creates a fresh, empty database named after the test.
    pub fn new(label: &str) -> Self {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let cluster = cluster();
        let clean: String = label
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .take(30)
            .collect();
        let name = format!(
            "t_{clean}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let quoted = name.clone();
        block_on(move || async move {
            let name = quoted;
            let admin = cluster.target("postgres").unwrap();
            let mut connection = admin.connect().await.unwrap();
            sqlx::raw_sql(&format!("drop database if exists \"{name}\" with (force)"))
                .execute(&mut connection)
                .await
                .unwrap();
            sqlx::raw_sql(&format!("create database \"{name}\""))
                .execute(&mut connection)
                .await
                .unwrap();
        });
        let url = cluster.url(&name).unwrap();
        let target = Target::parse(&url).unwrap();
        Self { name, target, url }
    }

    /// Runs SQL text (several statements allowed) in this database.
    pub async fn execute(&self, sql: &str) {
        let mut connection = self.target.connect().await.unwrap();
        sqlx::raw_sql(sql).execute(&mut connection).await.unwrap();
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "test failed: kept database {} for debugging ({})",
                self.name,
                self.target.redacted()
            );
            return;
        }
        let name = self.name.clone();
        block_on(move || async move {
            let admin = cluster().target("postgres").unwrap();
            if let Ok(mut connection) = admin.connect().await {
                let _ = sqlx::raw_sql(&format!("drop database if exists \"{name}\" with (force)"))
                    .execute(&mut connection)
                    .await;
            }
        });
    }
}

/// Runs a future to completion on a private runtime in its own thread, so that it works both
/// inside and outside a tokio test.
pub fn block_on<M, F>(make: M) -> F::Output
where
    M: FnOnce() -> F + Send + 'static,
    F: std::future::Future,
    F::Output: Send + 'static,
{
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(make())
    })
    .join()
    .expect("support thread panicked")
}

/// The dentsynth binary with a clean environment (no DATABASE_URL, no DENTSYNTH_HOME).
pub fn dentsynth() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dentsynth"));
    command
        .env_remove("DATABASE_URL")
        .env_remove("DENTSYNTH_HOME")
        .env_remove("DENTSYNTH_PG_BIN");
    command
}

/// Stdout and stderr of a finished command, as text.
pub fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// A fresh, empty folder under target/tmp.
pub fn scratch_dir(label: &str) -> PathBuf {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "{label}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The OpenDental production schema fixture (422 tables in schema `raw`), ready to execute.
pub fn opendental_fixture_sql() -> String {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/opendental_raw_schema.sql");
    std::fs::read_to_string(path)
        .unwrap()
        .replace(" AUTHORIZATION postgres", "")
}

impl TestDb {
    /// A database with a fixed name (dropped first if a previous run left it behind).
    pub fn named(name: &str) -> Self {
        let cluster = cluster();
        let owned = name.to_string();
        block_on(move || async move {
            let admin = cluster.target("postgres").unwrap();
            let mut connection = admin.connect().await.unwrap();
            sqlx::raw_sql(&format!("drop database if exists \"{owned}\" with (force)"))
                .execute(&mut connection)
                .await
                .unwrap();
            sqlx::raw_sql(&format!("create database \"{owned}\""))
                .execute(&mut connection)
                .await
                .unwrap();
        });
        let url = cluster.url(name).unwrap();
        let target = Target::parse(&url).unwrap();
        Self {
            name: name.to_string(),
            target,
            url,
        }
    }

    /// Takes charge of a database that something else created (dropped like the others).
    pub fn adopt(name: &str) -> Self {
        let url = cluster().url(name).unwrap();
        let target = Target::parse(&url).unwrap();
        Self {
            name: name.to_string(),
            target,
            url,
        }
    }

    /// The URL of this database for another role.
    pub fn url_as(&self, user: &str, password: &str) -> String {
        let mut url = url::Url::parse(&self.url).unwrap();
        url.set_username(user).unwrap();
        url.set_password(Some(password)).unwrap();
        url.to_string()
    }

    /// Runs one query returning one text value.
    pub async fn scalar(&self, sql: &str) -> Option<String> {
        let mut connection = self.target.connect().await.unwrap();
        sqlx::query_scalar::<_, Option<String>>(sql)
            .fetch_one(&mut connection)
            .await
            .unwrap()
    }
}

/// Every file under `dir`, concatenated (for "no canary anywhere" checks).
pub fn all_text_under(dir: &std::path::Path) -> String {
    let mut text = String::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                text.push_str(&String::from_utf8_lossy(&std::fs::read(&path).unwrap()));
            }
        }
    }
    text
}
