//! Connections, identifier quoting and the managed local PostgreSQL.
//!
//! Every message this module produces names the target by its redacted URL: a password never
//! reaches a terminal, a log or an error chain.

pub mod local;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};

/// Why a database could not be reached. Each variant's text is one line that names the problem and the fix.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("invalid database URL {url}: {reason}; expected postgres://user:password@host:port/database")]
    InvalidUrl { url: String, reason: String },
    #[error("cannot connect to {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("password authentication failed for {url}: check the user name and password")]
    Authentication { url: String },
    #[error("database {database:?} does not exist on {url}: create it or name another one")]
    UnknownDatabase { url: String, database: String },
    #[error("query failed on {url}: {reason}")]
    Query { url: String, reason: String },
}

/// A parsed connection target: the options for sqlx and a printable, password-free name.
#[derive(Debug, Clone)]
pub struct Target {
    options: PgConnectOptions,
    redacted: String,
    password: Option<String>,
}

impl Target {
    /// Parses a `postgres://` or `postgresql://` URL. Errors never contain the password.
    pub fn parse(raw: &str) -> Result<Self, DbError> {
        let raw = raw.trim();
        let parsed = url::Url::parse(raw).map_err(|error| DbError::InvalidUrl {
            url: redact_unparsed(raw),
            reason: error.to_string(),
        })?;
        let redacted = redact(&parsed);
        if !matches!(parsed.scheme(), "postgres" | "postgresql") {
            return Err(DbError::InvalidUrl {
                url: redacted,
                reason: format!("the scheme is {:?}, not postgres", parsed.scheme()),
            });
        }
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(DbError::InvalidUrl {
                url: redacted,
                reason: "no host".to_string(),
            });
        }
        let password = parsed.password().map(|p| {
            url::form_urlencoded::parse(format!("p={p}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        });
        let options = PgConnectOptions::from_str(raw)
            .map_err(|error| DbError::InvalidUrl {
                url: redacted.clone(),
                reason: scrub(&error.to_string(), password.as_deref()),
            })?
            .disable_statement_logging()
            .application_name("dentsynth");
        Ok(Self {
            options,
            redacted,
            password,
        })
    }

    /// The URL with its password replaced by `***`.
    pub fn redacted(&self) -> &str {
        &self.redacted
    }

    /// The database name, as the server will see it.
    pub fn database(&self) -> String {
        self.options
            .get_database()
            .map(str::to_string)
            .unwrap_or_else(|| self.options.get_username().to_string())
    }

    /// The same server and credentials, another database.
    pub fn with_database(&self, database: &str) -> Self {
        let mut redacted = url::Url::parse(&self.redacted).expect("redacted URL parses");
        redacted.set_path(&format!("/{database}"));
        Self {
            options: self.options.clone().database(database),
            redacted: redacted.to_string(),
            password: self.password.clone(),
        }
    }

    pub fn options(&self) -> &PgConnectOptions {
        &self.options
    }

    /// Opens one connection, with a bounded wait, and a one-line error that names the fix.
    pub async fn connect(&self) -> Result<PgConnection, DbError> {
        let attempt = tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&self.options));
        match attempt.await {
            Ok(Ok(connection)) => Ok(connection),
            Ok(Err(error)) => Err(self.classify(error)),
            Err(_) => Err(DbError::Connect {
                url: self.redacted.clone(),
                reason: format!(
                    "no answer within {} s; check the host, the port and any firewall",
                    CONNECT_TIMEOUT.as_secs()
                ),
            }),
        }
    }

    /// Opens a pool of up to `size` connections (the first is opened eagerly to surface errors).
    pub async fn pool(&self, size: u32) -> Result<PgPool, DbError> {
        let pool = PgPoolOptions::new()
            .max_connections(size.max(1))
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_lazy_with(self.options.clone());
        match pool.acquire().await {
            Ok(_) => Ok(pool),
            Err(error) => Err(self.classify(error)),
        }
    }

    /// Turns a sqlx error into a one-line, password-free message.
    pub fn classify(&self, error: sqlx::Error) -> DbError {
        let url = self.redacted.clone();
        if let sqlx::Error::Database(database_error) = &error {
            match database_error.code().as_deref() {
                Some("28P01") => return DbError::Authentication { url },
                Some("3D000") => {
                    return DbError::UnknownDatabase {
                        url,
                        database: self.database(),
                    }
                }
                _ => {}
            }
            return DbError::Query {
                url,
                reason: scrub(database_error.message(), self.password.as_deref()),
            };
        }
        let reason = match &error {
            sqlx::Error::Io(io) => match io.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    "connection refused; is the server running on that host and port?".to_string()
                }
                _ if io.to_string().contains("failed to lookup address") => {
                    "unknown host name; check the host in the URL".to_string()
                }
                _ => io.to_string(),
            },
            sqlx::Error::Tls(tls) => {
                format!("TLS failed ({tls}); try sslmode=disable or sslmode=require in the URL")
            }
            sqlx::Error::PoolTimedOut => format!(
                "no connection within {} s; check the host, the port and any firewall",
                CONNECT_TIMEOUT.as_secs()
            ),
            other => other.to_string(),
        };
        DbError::Connect {
            url,
            reason: scrub(&reason, self.password.as_deref()),
        }
    }
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Replaces the password in a parsed URL with `***`.
fn redact(url: &url::Url) -> String {
    let mut copy = url.clone();
    if copy.password().is_some() {
        let _ = copy.set_password(Some("***"));
    }
    // Query parameters may carry a password too (`?password=...`).
    let pairs: Vec<(String, String)> = copy
        .query_pairs()
        .map(|(key, value)| {
            let value = if key.eq_ignore_ascii_case("password") {
                "***".to_string()
            } else {
                value.into_owned()
            };
            (key.into_owned(), value)
        })
        .collect();
    if !pairs.is_empty() {
        copy.query_pairs_mut().clear().extend_pairs(pairs);
    }
    copy.to_string()
}

/// Best-effort redaction of a string that is not even a URL: everything between the scheme and
/// the last `@` (where user and password would be) and any `password=` parameter become `***`.
fn redact_unparsed(raw: &str) -> String {
    let mut text = raw.to_string();
    if let Some(at) = text.rfind('@') {
        let authority_start = text.find("://").map(|i| i + 3).filter(|i| *i <= at).unwrap_or(0);
        text.replace_range(authority_start..at, "***");
    }
    if let Some(position) = text.to_ascii_lowercase().find("password=") {
        let end = text[position..]
            .find('&')
            .map(|i| position + i)
            .unwrap_or(text.len());
        text.replace_range(position + "password=".len()..end, "***");
    }
    text
}

/// Removes every occurrence of the password from a message.
fn scrub(message: &str, password: Option<&str>) -> String {
    match password {
        Some(password) if !password.is_empty() => message.replace(password, "***"),
        _ => message.to_string(),
    }
}

/// Quotes an SQL identifier (`"name"`, inner quotes doubled).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes an SQL string literal (`'text'`, inner quotes doubled).
pub fn quote_literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_passwords_everywhere() {
        let target = Target::parse("postgres://alice:s3cret@db.example.com:5432/analytics").unwrap();
        assert_eq!(
            target.redacted(),
            "postgres://alice:***@db.example.com:5432/analytics"
        );
        let target = Target::parse("postgres://alice@db/x?password=s3cret&sslmode=require").unwrap();
        assert!(!target.redacted().contains("s3cret"), "{}", target.redacted());
        assert!(target.redacted().contains("sslmode=require"));
        assert_eq!(
            redact_unparsed("postgres://a:pw@ho st/db"),
            "postgres://***@ho st/db"
        );
    }

    #[test]
    fn bad_urls_are_rejected_without_the_password() {
        for raw in [
            "mysql://u:topsecret@h/d",
            "postgres://u:topsecret@/d",
            "not a url topsecret@",
        ] {
            let error = Target::parse(raw).unwrap_err().to_string();
            assert!(error.starts_with("invalid database URL"), "{error}");
            assert!(!error.contains("topsecret"), "{error}");
        }
    }

    #[test]
    fn identifiers_and_literals_are_quoted() {
        assert_eq!(quote_ident("AptNum"), "\"AptNum\"");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_literal("O'Brien"), "'O''Brien'");
    }

    #[test]
    fn with_database_changes_only_the_database() {
        let target = Target::parse("postgres://u:pw@localhost:5433/postgres").unwrap();
        let other = target.with_database("opendental_demo");
        assert_eq!(other.database(), "opendental_demo");
        assert_eq!(
            other.redacted(),
            "postgres://u:***@localhost:5433/opendental_demo"
        );
    }
}
