//! The managed local PostgreSQL: a private cluster under `.dentsynth/` that dentsynth
//! initialises, starts, stops and hands out URLs for. It is the built-in default database.
//!
//! Layout of the home folder (default `./.dentsynth`):
//!
//! | path            | owner                     | what                                            |
//! |-----------------|---------------------------|-------------------------------------------------|
//! | `cluster.toml`  | the invoking user         | port, superuser name, server major version      |
//! | `password`      | the invoking user, 0600   | the generated superuser password                |
//! | `data/`         | the server user, 0700     | PGDATA                                          |
//! | `log/`          | the server user, 0700     | `server.log`                                    |
//! | `lock`          | the invoking user         | an advisory lock serialising start/stop         |
//!
//! The server listens on 127.0.0.1 only, on a free port remembered in `cluster.toml`, with no
//! Unix socket and scram-sha-256 authentication. initdb and postgres refuse to run as root, so
//! when dentsynth runs as root the server runs as the unprivileged system user `postgres`
//! (created when missing). This module must not print: it returns what happened and the
//! command decides what to say.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use rand::distributions::Alphanumeric;
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::Target;

/// The superuser that initdb creates in the managed cluster.
pub const SUPERUSER: &str = "dentsynth";
/// The database that generate and verify use by default.
pub const DEFAULT_DATABASE: &str = "opendental_demo";
/// The system user that runs the server when dentsynth runs as root.
const SERVER_USER_WHEN_ROOT: &str = "postgres";

const INSTALL_HINT: &str = "install the PostgreSQL server (Debian/Ubuntu: `apt-get install postgresql`; \
macOS: `brew install postgresql`), put its bin folder on PATH, or pass --database-url";

#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    #[error("PostgreSQL server binaries not found ({missing} is missing): {INSTALL_HINT}")]
    BinariesMissing { missing: String },
    #[error("the local cluster in {home} is not initialised: run `dentsynth local start`")]
    NotInitialised { home: String },
    #[error("the local cluster in {home} is not running: run `dentsynth local start`")]
    NotRunning { home: String },
    #[error("{action} failed: {detail}")]
    Command { action: String, detail: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the cluster in {home} was made by PostgreSQL {data_version} but the binaries found are version {binaries_version}: install PostgreSQL {data_version}, or remove {home} to start afresh")]
    VersionMismatch {
        home: String,
        data_version: String,
        binaries_version: String,
    },
    #[error("{path} is damaged ({reason}): remove it and run `dentsynth local start` again")]
    BadState { path: String, reason: String },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> LocalError + '_ {
    move |source| LocalError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The PostgreSQL programs the cluster needs.
#[derive(Debug, Clone)]
pub struct Binaries {
    pub initdb: PathBuf,
    pub pg_ctl: PathBuf,
    pub postgres: PathBuf,
    pub psql: Option<PathBuf>,
    /// Major version, e.g. "15".
    pub major_version: String,
}

impl Binaries {
    /// Finds initdb, pg_ctl and postgres: only in `DENTSYNTH_PG_BIN` when it is set; otherwise on PATH,
    /// then in the usual package folders (`/usr/lib/postgresql/*/bin`, `/usr/pgsql-*/bin`, Homebrew's).
    /// When `preferred_major` is given (the version of an existing cluster), a folder of that version wins.
    pub fn locate(preferred_major: Option<&str>) -> Result<Self, LocalError> {
        let mut candidates: Vec<PathBuf> = Vec::new();
        // An explicit folder is authoritative: nothing else is searched.
        let explicit = std::env::var_os("DENTSYNTH_PG_BIN").filter(|dir| !dir.is_empty());
        if let Some(dir) = &explicit {
            candidates.push(PathBuf::from(dir));
        }
        let search_elsewhere = explicit.is_none();
        let mut package_dirs = versioned_dirs("/usr/lib/postgresql", "bin");
        package_dirs.extend(versioned_dirs("/usr/pgsql-", "bin"));
        for prefix in ["/opt/homebrew/opt", "/usr/local/opt"] {
            package_dirs.extend(prefixed_dirs(prefix, "postgresql", "bin"));
        }
        if let Some(major) = preferred_major {
            let (matching, other): (Vec<_>, Vec<_>) = package_dirs.into_iter().partition(|dir| {
                dir.to_string_lossy().contains(&format!("/{major}/"))
                    || dir.to_string_lossy().contains(&format!("@{major}/"))
            });
            candidates.extend(matching);
            package_dirs = other;
        }
        if search_elsewhere {
            if let Some(path) = std::env::var_os("PATH") {
                candidates.extend(std::env::split_paths(&path));
            }
            candidates.extend(package_dirs);
            candidates
                .extend(["/opt/homebrew/bin", "/usr/local/bin", "/usr/local/pgsql/bin"].map(PathBuf::from));
        } else {
            candidates.truncate(1);
        }

        let dir = candidates
            .iter()
            .find(|dir| {
                ["initdb", "pg_ctl", "postgres"]
                    .iter()
                    .all(|name| is_executable(&dir.join(name)))
            })
            .ok_or_else(|| {
                let missing = ["initdb", "pg_ctl", "postgres"]
                    .into_iter()
                    .find(|name| !candidates.iter().any(|dir| is_executable(&dir.join(name))))
                    .unwrap_or("initdb");
                LocalError::BinariesMissing {
                    missing: missing.to_string(),
                }
            })?;
        let dir = fs::canonicalize(dir.join("pg_ctl"))
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .unwrap_or_else(|| dir.clone());
        let pg_ctl = dir.join("pg_ctl");
        let output = run(Command::new(&pg_ctl).arg("--version"), "pg_ctl --version")?;
        let major_version =
            parse_major_version(&String::from_utf8_lossy(&output.stdout)).ok_or_else(|| {
                LocalError::Command {
                    action: "pg_ctl --version".into(),
                    detail: "unrecognised version text".into(),
                }
            })?;
        let psql = [dir.join("psql")]
            .into_iter()
            .chain(
                std::env::var_os("PATH")
                    .iter()
                    .flat_map(std::env::split_paths)
                    .map(|d| d.join("psql")),
            )
            .find(|p| is_executable(p));
        Ok(Self {
            initdb: dir.join("initdb"),
            pg_ctl,
            postgres: dir.join("postgres"),
            psql,
            major_version,
        })
    }
}

/// `/usr/lib/postgresql/<N>/bin`, newest first.
fn versioned_dirs(parent_or_prefix: &str, leaf: &str) -> Vec<PathBuf> {
    let (parent, prefix) = if parent_or_prefix.ends_with('-') {
        let path = Path::new(parent_or_prefix);
        (
            path.parent().unwrap_or(Path::new("/")).to_path_buf(),
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        )
    } else {
        (PathBuf::from(parent_or_prefix), String::new())
    };
    prefixed_dirs(&parent.to_string_lossy(), &prefix, leaf)
}

fn prefixed_dirs(parent: &str, prefix: &str, leaf: &str) -> Vec<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = fs::read_dir(parent)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let rest = name.strip_prefix(prefix)?;
            let version: u32 = rest
                .trim_start_matches('@')
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|digits| digits.parse().ok())
                .unwrap_or(0);
            Some((version, entry.path().join(leaf)))
        })
        .collect();
    found.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    found.into_iter().map(|(_, path)| path).collect()
}

fn parse_major_version(text: &str) -> Option<String> {
    // "pg_ctl (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)"
    let version = text.split(')').nth(1)?.split_whitespace().next()?;
    let major = version.split('.').next()?;
    major
        .chars()
        .all(|c| c.is_ascii_digit())
        .then(|| major.to_string())
}

fn is_executable(path: &Path) -> bool {
    fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// What `cluster.toml` remembers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct State {
    port: u16,
    superuser: String,
    major_version: String,
}

/// Whether the cluster exists and runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Status {
    NotInitialised,
    Stopped,
    Running { port: u16, pid: u32 },
}

/// What `start` did.
#[derive(Debug, Clone, PartialEq)]
pub struct Started {
    pub port: u16,
    pub initialised: bool,
    pub already_running: bool,
    /// Things worth telling the user (a stale pid file removed, a port changed, permissions widened).
    pub notes: Vec<String>,
}

/// The unprivileged account that runs the server when dentsynth runs as root.
#[derive(Debug, Clone)]
struct ServerUser {
    name: String,
    uid: u32,
    gid: u32,
}

/// A managed cluster in a home folder.
#[derive(Debug, Clone)]
pub struct LocalCluster {
    home: PathBuf,
    binaries: Binaries,
}

impl LocalCluster {
    /// The home folder from `--home` / `DENTSYNTH_HOME`, or `./.dentsynth`.
    pub fn default_home(explicit: Option<&Path>) -> PathBuf {
        let home = explicit
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from(".dentsynth"));
        std::path::absolute(&home).unwrap_or(home)
    }

    /// Opens the cluster description for a home folder; finds the binaries (nothing is started).
    pub fn open(home: &Path) -> Result<Self, LocalError> {
        let home = std::path::absolute(home).map_err(io_error(home))?;
        let data_version = fs::read_to_string(home.join("data").join("PG_VERSION"))
            .ok()
            .map(|v| v.trim().to_string());
        let binaries = Binaries::locate(data_version.as_deref())?;
        if let Some(data_version) = data_version {
            if data_version != binaries.major_version {
                return Err(LocalError::VersionMismatch {
                    home: home.display().to_string(),
                    data_version,
                    binaries_version: binaries.major_version,
                });
            }
        }
        Ok(Self { home, binaries })
    }

    pub fn home(&self) -> &Path {
        &self.home
    }

    pub fn binaries(&self) -> &Binaries {
        &self.binaries
    }

    fn data_dir(&self) -> PathBuf {
        self.home.join("data")
    }

    fn log_dir(&self) -> PathBuf {
        self.home.join("log")
    }

    pub fn log_file(&self) -> PathBuf {
        self.log_dir().join("server.log")
    }

    fn state_file(&self) -> PathBuf {
        self.home.join("cluster.toml")
    }

    fn password_file(&self) -> PathBuf {
        self.home.join("password")
    }

    fn is_initialised(&self) -> bool {
        self.data_dir().join("PG_VERSION").is_file()
            && self.state_file().is_file()
            && self.password_file().is_file()
    }

    fn read_state(&self) -> Result<State, LocalError> {
        let path = self.state_file();
        let text = fs::read_to_string(&path).map_err(io_error(&path))?;
        toml::from_str(&text).map_err(|error| LocalError::BadState {
            path: path.display().to_string(),
            reason: error.message().to_string(),
        })
    }

    fn write_state(&self, state: &State) -> Result<(), LocalError> {
        let path = self.state_file();
        let text = toml::to_string(state).expect("state serialises");
        write_atomically(&path, text.as_bytes(), 0o644)
    }

    fn password(&self) -> Result<String, LocalError> {
        let path = self.password_file();
        let text = fs::read_to_string(&path).map_err(io_error(&path))?;
        Ok(text.trim().to_string())
    }

    /// Is the cluster running? Reads the pid file and checks that its process is a live postgres.
    pub fn status(&self) -> Result<Status, LocalError> {
        if !self.is_initialised() {
            return Ok(Status::NotInitialised);
        }
        Ok(match self.live_postmaster() {
            Some((pid, port)) => Status::Running { port, pid },
            None => Status::Stopped,
        })
    }

    /// The pid and port of a live postmaster for this data folder, if any.
    fn live_postmaster(&self) -> Option<(u32, u16)> {
        let text = fs::read_to_string(self.data_dir().join("postmaster.pid")).ok()?;
        let mut lines = text.lines();
        let pid: u32 = lines.next()?.trim().parse().ok()?;
        let port: u16 = lines.nth(2)?.trim().parse().ok()?;
        process_is_postgres(pid).then_some((pid, port))
    }

    /// Initialises the cluster when needed, then starts it. A no-op when it is already running.
    pub fn start(&self) -> Result<Started, LocalError> {
        fs::create_dir_all(&self.home).map_err(io_error(&self.home))?;
        let _lock = self.lock()?;
        let mut notes = Vec::new();
        let server_user = server_user(&mut notes)?;
        if let Some(user) = &server_user {
            widen_traversal(&self.home, user, &mut notes)?;
        }
        let mut initialised = false;
        if !self.is_initialised() {
            self.initialise(server_user.as_ref())?;
            initialised = true;
        }
        let mut state = self.read_state()?;
        if let Some((_, port)) = self.live_postmaster() {
            return Ok(Started {
                port,
                initialised,
                already_running: true,
                notes,
            });
        }
        let pid_file = self.data_dir().join("postmaster.pid");
        if pid_file.exists() {
            fs::remove_file(&pid_file).map_err(io_error(&pid_file))?;
            notes.push(
                "removed a stale postmaster.pid left by a server that is no longer running".to_string(),
            );
        }
        if !port_is_free(state.port) {
            let port = free_port()?;
            notes.push(format!(
                "port {} is taken; the cluster now uses port {port}",
                state.port
            ));
            state.port = port;
            self.write_state(&state)?;
        }
        let log_file = self.log_file();
        let mut command = Command::new(&self.binaries.pg_ctl);
        command
            .arg("start")
            .arg("--pgdata")
            .arg(self.data_dir())
            .arg("--log")
            .arg(&log_file)
            .args(["--wait", "--timeout", "60", "--silent"])
            .arg("-o")
            .arg(format!("-p {}", state.port));
        if let Err(error) = run(
            as_server_user(&mut command, server_user.as_ref()),
            "starting the local cluster",
        ) {
            return Err(with_log_tail(error, &log_file));
        }
        Ok(Started {
            port: state.port,
            initialised,
            already_running: false,
            notes,
        })
    }

    /// Stops the cluster (fast shutdown). Returns false when it was not running.
    pub fn stop(&self) -> Result<bool, LocalError> {
        if !self.is_initialised() {
            return Ok(false);
        }
        let _lock = self.lock()?;
        if self.live_postmaster().is_none() {
            return Ok(false);
        }
        let mut notes = Vec::new();
        let server_user = server_user(&mut notes)?;
        let mut command = Command::new(&self.binaries.pg_ctl);
        command.arg("stop").arg("--pgdata").arg(self.data_dir()).args([
            "--mode",
            "fast",
            "--wait",
            "--timeout",
            "60",
            "--silent",
        ]);
        run(
            as_server_user(&mut command, server_user.as_ref()),
            "stopping the local cluster",
        )?;
        Ok(true)
    }

    /// The URL of a database in the cluster (the cluster must be initialised).
    pub fn url(&self, database: &str) -> Result<String, LocalError> {
        if !self.is_initialised() {
            return Err(LocalError::NotInitialised {
                home: self.home.display().to_string(),
            });
        }
        let state = self.read_state()?;
        let password = self.password()?;
        Ok(format!(
            "postgres://{}:{}@127.0.0.1:{}/{}",
            state.superuser, password, state.port, database
        ))
    }

    /// A connection target for a database in the running cluster.
    pub fn target(&self, database: &str) -> Result<Target, LocalError> {
        if self.live_postmaster().is_none() {
            return Err(LocalError::NotRunning {
                home: self.home.display().to_string(),
            });
        }
        let url = self.url(database)?;
        Target::parse(&url).map_err(|error| LocalError::BadState {
            path: self.state_file().display().to_string(),
            reason: error.to_string(),
        })
    }

    /// Creates a database in the running cluster unless it exists.
    pub async fn ensure_database(&self, database: &str) -> Result<(), super::DbError> {
        let admin = self.target("postgres").map_err(|error| super::DbError::Connect {
            url: self.home.display().to_string(),
            reason: error.to_string(),
        })?;
        let mut connection = admin.connect().await?;
        let exists: bool = sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
            .bind(database)
            .fetch_one(&mut connection)
            .await
            .map_err(|error| admin.classify(error))?;
        if !exists {
            let statement = format!("create database {}", super::quote_ident(database));
            if let Err(error) = sqlx::raw_sql(&statement).execute(&mut connection).await {
                // Another process may have created it meanwhile.
                if !matches!(&error, sqlx::Error::Database(e) if e.code().as_deref() == Some("42P04")) {
                    return Err(admin.classify(error));
                }
            }
        }
        Ok(())
    }

    /// An environment for psql: the URL without its password, and PGPASSWORD.
    pub fn psql_command(&self, database: &str) -> Result<Command, LocalError> {
        let psql = self
            .binaries
            .psql
            .clone()
            .ok_or_else(|| LocalError::BinariesMissing {
                missing: "psql".to_string(),
            })?;
        let state = self.read_state()?;
        let mut command = Command::new(psql);
        command
            .arg(format!(
                "postgres://{}@127.0.0.1:{}/{}",
                state.superuser, state.port, database
            ))
            .env("PGPASSWORD", self.password()?);
        Ok(command)
    }

    fn lock(&self) -> Result<File, LocalError> {
        let path = self.home.join("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_error(&path))?;
        file.lock().map_err(io_error(&path))?;
        Ok(file)
    }

    fn initialise(&self, server_user: Option<&ServerUser>) -> Result<(), LocalError> {
        let data = self.data_dir();
        let log = self.log_dir();
        // A half-made data folder from an interrupted initialisation is useless: start it afresh.
        if data.exists() {
            fs::remove_dir_all(&data).map_err(io_error(&data))?;
        }
        for dir in [&data, &log] {
            fs::create_dir_all(dir).map_err(io_error(dir))?;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io_error(dir))?;
            if let Some(user) = server_user {
                std::os::unix::fs::chown(dir, Some(user.uid), Some(user.gid)).map_err(io_error(dir))?;
            }
        }
        let password: String = rand::rngs::OsRng
            .sample_iter(&Alphanumeric)
            .take(32)
            .map(char::from)
            .collect();
        write_atomically(&self.password_file(), format!("{password}\n").as_bytes(), 0o600)?;
        // initdb reads the password from a file that the server user can read; remove it afterwards.
        let pwfile = log.join("initdb.pw");
        write_atomically(&pwfile, password.as_bytes(), 0o600)?;
        if let Some(user) = server_user {
            std::os::unix::fs::chown(&pwfile, Some(user.uid), Some(user.gid)).map_err(io_error(&pwfile))?;
        }
        let mut command = Command::new(&self.binaries.initdb);
        command
            .arg("--pgdata")
            .arg(&data)
            .arg(format!("--username={SUPERUSER}"))
            .arg(format!("--pwfile={}", pwfile.display()))
            .args([
                "--auth-host=scram-sha-256",
                "--auth-local=scram-sha-256",
                "--encoding=UTF8",
                "--no-locale",
                "--no-instructions",
            ]);
        let result = run(as_server_user(&mut command, server_user), "initdb");
        let _ = fs::remove_file(&pwfile);
        result?;

        let conf = data.join("postgresql.conf");
        let mut file = OpenOptions::new()
            .append(true)
            .open(&conf)
            .map_err(io_error(&conf))?;
        file.write_all(SERVER_SETTINGS.as_bytes())
            .map_err(io_error(&conf))?;
        let hba = data.join("pg_hba.conf");
        fs::write(&hba, HBA).map_err(io_error(&hba))?;
        if let Some(user) = server_user {
            std::os::unix::fs::chown(&hba, Some(user.uid), Some(user.gid)).map_err(io_error(&hba))?;
        }
        let state = State {
            port: free_port()?,
            superuser: SUPERUSER.to_string(),
            major_version: self.binaries.major_version.clone(),
        };
        self.write_state(&state)
    }
}

/// Appended to postgresql.conf: loopback only, no Unix socket, and settings for a disposable,
/// rebuildable demo (wal_level minimal lets COPY into a table created in the same transaction skip WAL).
const SERVER_SETTINGS: &str = "
# --- dentsynth managed cluster ---
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
password_encryption = 'scram-sha-256'
wal_level = minimal
max_wal_senders = 0
synchronous_commit = off
shared_buffers = 256MB
maintenance_work_mem = 256MB
work_mem = 16MB
max_wal_size = 4GB
checkpoint_timeout = 30min
max_connections = 100
";

const HBA: &str = "# dentsynth managed cluster: TCP on loopback only, scram-sha-256 passwords.
# TYPE  DATABASE  USER  ADDRESS       METHOD
host    all       all   127.0.0.1/32  scram-sha-256
";

/// Wraps a command so that it runs as the server user (when dentsynth runs as root), from `/`,
/// without PG* variables that could redirect it.
fn as_server_user<'c>(command: &'c mut Command, user: Option<&ServerUser>) -> &'c mut Command {
    for variable in [
        "PGDATA",
        "PGPORT",
        "PGHOST",
        "PGUSER",
        "PGDATABASE",
        "PGPASSWORD",
        "PGOPTIONS",
    ] {
        command.env_remove(variable);
    }
    command.current_dir("/");
    if let Some(user) = user {
        command
            .uid(user.uid)
            .gid(user.gid)
            .env("HOME", "/")
            .env("USER", &user.name);
    }
    command
}

/// Runs a command to completion; a failure carries its exit status and the last line it printed.
fn run(command: &mut Command, action: &str) -> Result<Output, LocalError> {
    let output = command.output().map_err(|error| LocalError::Command {
        action: action.to_string(),
        detail: error.to_string(),
    })?;
    if output.status.success() {
        return Ok(output);
    }
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let last = text
        .lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or("")
        .trim();
    Err(LocalError::Command {
        action: action.to_string(),
        detail: format!(
            "{} ({})",
            if last.is_empty() { "no output" } else { last },
            output.status
        ),
    })
}

fn with_log_tail(error: LocalError, log_file: &Path) -> LocalError {
    let tail = fs::read_to_string(log_file).ok().and_then(|text| {
        text.lines()
            .rev()
            .find(|line| line.contains("FATAL") || line.contains("ERROR"))
            .map(str::to_string)
    });
    match (error, tail) {
        (LocalError::Command { action, detail }, Some(tail)) => LocalError::Command {
            action,
            detail: format!("{detail}; server log: {tail} (see {})", log_file.display()),
        },
        (error, _) => error,
    }
}

fn effective_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// When running as root, the account that runs the server (created when missing).
fn server_user(notes: &mut Vec<String>) -> Result<Option<ServerUser>, LocalError> {
    if effective_uid() != 0 {
        return Ok(None);
    }
    if let Some(user) = lookup_user(SERVER_USER_WHEN_ROOT) {
        return Ok(Some(user));
    }
    run(
        Command::new("useradd").args([
            "--system",
            "--user-group",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--shell",
            "/usr/sbin/nologin",
            SERVER_USER_WHEN_ROOT,
        ]),
        "creating the system user postgres (initdb refuses to run as root)",
    )?;
    notes.push(format!(
        "created the system user {SERVER_USER_WHEN_ROOT} to run the server (PostgreSQL refuses root)"
    ));
    lookup_user(SERVER_USER_WHEN_ROOT)
        .map(Some)
        .ok_or_else(|| LocalError::Command {
            action: "creating the system user postgres".into(),
            detail: "useradd succeeded but the user cannot be found".into(),
        })
}

fn lookup_user(name: &str) -> Option<ServerUser> {
    let from_getent = Command::new("getent")
        .args(["passwd", name])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned());
    let text = from_getent.or_else(|| fs::read_to_string("/etc/passwd").ok())?;
    text.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.len() < 4 || fields[0] != name {
            return None;
        }
        Some(ServerUser {
            name: name.to_string(),
            uid: fields[2].parse().ok()?,
            gid: fields[3].parse().ok()?,
        })
    })
}

/// The server user must be able to reach the data folder: give "others" search (not read)
/// permission on each ancestor that lacks it.
fn widen_traversal(home: &Path, user: &ServerUser, notes: &mut Vec<String>) -> Result<(), LocalError> {
    for dir in home.ancestors() {
        let metadata = fs::metadata(dir).map_err(io_error(dir))?;
        let mode = metadata.permissions().mode();
        let reachable = mode & 0o001 != 0
            || (metadata.uid() == user.uid && mode & 0o100 != 0)
            || (metadata.gid() == user.gid && mode & 0o010 != 0);
        if !reachable {
            fs::set_permissions(dir, fs::Permissions::from_mode(mode | 0o001)).map_err(io_error(dir))?;
            notes.push(format!(
                "allowed the server user {} to pass through {} (chmod o+x)",
                user.name,
                dir.display()
            ));
        }
    }
    Ok(())
}

fn process_is_postgres(pid: u32) -> bool {
    if pid == 0 || pid > i32::MAX as u32 {
        return false;
    }
    // SAFETY: kill with signal 0 only checks that the process exists.
    let alive = unsafe { libc::kill(pid as i32, 0) } == 0
        || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    if !alive {
        return false;
    }
    match fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(cmdline) => String::from_utf8_lossy(&cmdline).contains("postgres"),
        // No /proc (macOS): trust the liveness check.
        Err(_) => !Path::new("/proc/self").exists(),
    }
}

fn port_is_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

fn free_port() -> Result<u16, LocalError> {
    let listener = TcpListener::bind(("127.0.0.1", 0)).map_err(io_error(Path::new("127.0.0.1:0")))?;
    let port = listener
        .local_addr()
        .map_err(io_error(Path::new("127.0.0.1:0")))?
        .port();
    Ok(port)
}

/// Writes a file through a temporary sibling and a rename, with the given mode from the start.
fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> Result<(), LocalError> {
    let temporary = path.with_extension("tmp");
    let mut file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(mode)
        .open(&temporary)
        .map_err(io_error(&temporary))?;
    file.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(io_error(&temporary))?;
    file.write_all(bytes).map_err(io_error(&temporary))?;
    file.sync_all().map_err(io_error(&temporary))?;
    fs::rename(&temporary, path).map_err(io_error(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn major_version_is_read_from_pg_ctl() {
        assert_eq!(
            parse_major_version("pg_ctl (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)\n").as_deref(),
            Some("15")
        );
        assert_eq!(
            parse_major_version("pg_ctl (PostgreSQL) 17.2\n").as_deref(),
            Some("17")
        );
        assert_eq!(parse_major_version("garbage"), None);
    }

    #[test]
    fn a_dead_pid_is_not_postgres() {
        assert!(!process_is_postgres(0));
        assert!(!process_is_postgres(u32::MAX));
        // The current process is alive but is not postgres.
        assert!(!process_is_postgres(std::process::id()));
    }
}
