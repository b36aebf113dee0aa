//! Rule files: TOML parsing, and validation against the profile before any query runs.
//!
//! A rule file holds `[[rule]]` tables; each names a check kind (by code or name) and the kind's
//! parameters. Every mistake (malformed TOML, an unknown field, kind, table or column, a value the
//! column cannot hold) is an error naming the file and line, computed from the `toml` crate's spans.
//! orphaned-reference rules are not written per relationship: one rule expands to an instance per
//! relationship of the profile (rejected ones skipped). rules/README.md documents the format.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use std::path::Path;

use include_dir::{include_dir, Dir};
use serde::Deserialize;
use toml::Spanned;

use super::checks::{ledger_imbalance::Scope, status_inconsistency::Situation};
use super::registry::{self, Kind};
use super::Severity;
use crate::profile::{ColumnKind, Filter, Origin, Profile, Table, Verdict};

static BUILTIN: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/rules");

/// The text of one rule file and the label its messages use (`rules/dates.toml`, or the path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFile {
    pub label: String,
    pub text: String,
}

impl RuleFile {
    fn name(&self) -> &str {
        self.label.rsplit(['/', '\\']).next().unwrap_or(&self.label)
    }
}

/// Where something was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}:{}", self.file, self.line)
    }
}

/// Why the rules cannot be used. Each message is one line that names the file and line.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("{location}: {message}")]
    Invalid { location: Location, message: String },
    #[error("cannot read rules from {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("--select {selector:?} matches no check kind; known: {known}")]
    UnknownSelector { selector: String, known: String },
}

/// A validated rule instance: one query's worth of checking.
#[derive(Debug, Clone)]
pub struct Instance {
    pub id: String,
    pub kind: Kind,
    /// The table its offending rows belong to.
    pub table: String,
    pub severity: Severity,
    pub description: Option<String>,
    pub location: Location,
    pub spec: Spec,
}

/// The kind-specific, validated parameters.
#[derive(Debug, Clone)]
pub enum Spec {
    Orphan(Reference),
    Dates(Dates),
    Ledger {
        scope: Scope,
        tolerance: f64,
        /// The transaction tables the profile has (procedurelog always; the others when present).
        sources: Vec<String>,
    },
    Status(Situation),
    RowCount {
        conditions: Vec<Condition>,
        min: Option<u64>,
        max: Option<u64>,
    },
    NotNull {
        column: String,
        conditions: Vec<Condition>,
    },
    Unique {
        columns: Vec<String>,
        conditions: Vec<Condition>,
    },
    Accepted(Accepted),
    Custom {
        sql: String,
        checked_sql: Option<String>,
    },
}

/// One relationship to check (from the profile).
#[derive(Debug, Clone)]
pub struct Reference {
    pub child_table: String,
    pub child_column: String,
    pub parent_table: String,
    pub parent_column: String,
    pub zero_means_none: bool,
    pub child_filter: Option<Filter>,
    pub parent_filter: Option<Filter>,
}

/// The three shapes of dates-out-of-order.
#[derive(Debug, Clone)]
pub enum Dates {
    /// Every set date in `columns` is <= (or < when strict) every later one; columns may belong to
    /// tables reached through `joins`.
    Chain {
        columns: Vec<ColumnRef>,
        joins: Vec<Join>,
        strict: bool,
        conditions: Vec<Condition>,
    },
    /// `column` increases along `order` within each `partition`.
    Sequence {
        column: String,
        partition: Vec<String>,
        order: Vec<String>,
        strict: bool,
        conditions: Vec<Condition>,
    },
    /// `column` lies within [not_before, not_after].
    Bounds {
        column: String,
        not_before: Option<Value>,
        not_after: Option<Value>,
        conditions: Vec<Condition>,
    },
}

/// `table.column`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnRef {
    pub table: String,
    pub column: String,
}

/// A left join from a column of a table already in the query to a column of a new table.
#[derive(Debug, Clone)]
pub struct Join {
    pub from: ColumnRef,
    pub to: ColumnRef,
}

/// A literal (as text, validated against its column's type) or the as-of date plus some days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Literal(String),
    AsOf(i64),
}

/// One `where` condition (all conditions of a rule must hold for a row to be in scope).
#[derive(Debug, Clone)]
pub struct Condition {
    pub column: ColumnRef,
    pub test: Test,
}

#[derive(Debug, Clone)]
pub enum Test {
    In(Vec<Value>),
    NotIn(Vec<Value>),
    /// Inclusive bounds.
    Range {
        from: Option<Value>,
        to: Option<Value>,
    },
    /// `null = true`: is null; `null = false`: is not null.
    Null(bool),
}

/// value-not-accepted parameters: any combination of a set, a rejected set, bounds and a pattern.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub column: String,
    pub conditions: Vec<Condition>,
    pub accepted: Option<Vec<Value>>,
    pub rejected: Option<Vec<Value>>,
    pub min: Option<Value>,
    pub max: Option<Value>,
    pub pattern: Option<String>,
}

impl Instance {
    /// Every table the instance's queries read.
    pub fn tables(&self) -> Vec<String> {
        let mut tables = vec![self.table.clone()];
        match &self.spec {
            Spec::Orphan(reference) => tables.push(reference.parent_table.clone()),
            Spec::Dates(Dates::Chain { joins, .. }) => {
                tables.extend(joins.iter().map(|join| join.to.table.clone()))
            }
            Spec::Status(situation) => tables.extend(situation.required().iter().map(|(t, _)| t.to_string())),
            Spec::Ledger { sources, .. } => tables.extend(sources.iter().cloned()),
            Spec::Custom { .. } => tables.clear(),
            _ => {}
        }
        tables.sort();
        tables.dedup();
        tables
    }
}

// ---------------------------------------------------------------------------------------------
// Reading

/// The rule files embedded in the binary (the committed `rules/*.toml`), in name order.
pub fn builtin() -> Vec<RuleFile> {
    let mut files: Vec<RuleFile> = BUILTIN
        .files()
        .filter(|file| file.path().extension().is_some_and(|e| e == "toml"))
        .filter_map(|file| {
            Some(RuleFile {
                label: format!("rules/{}", file.path().display()),
                text: file.contents_utf8()?.to_string(),
            })
        })
        .collect();
    files.sort_by(|a, b| a.label.cmp(&b.label));
    files
}

/// The `*.toml` files of a folder, in name order.
pub fn read_dir(dir: &Path) -> Result<Vec<RuleFile>, RuleError> {
    let read_error = |reason: String| RuleError::Read {
        path: dir.display().to_string(),
        reason,
    };
    if !dir.is_dir() {
        return Err(read_error(
            "no such folder; pass --rules with a folder of *.toml rule files".into(),
        ));
    }
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map_err(|error| read_error(error.to_string()))?
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.is_file() && path.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(read_error("the folder holds no *.toml rule files".into()));
    }
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).map_err(|error| RuleError::Read {
                path: path.display().to_string(),
                reason: error.to_string(),
            })?;
            Ok(RuleFile {
                label: path.display().to_string(),
                text,
            })
        })
        .collect()
}

/// The built-in files (unless `use_builtin` is false) with the user's files: a user file with the
/// same name as a built-in one replaces it, the others add to them.
pub fn combine(builtin: Vec<RuleFile>, user: Vec<RuleFile>, use_builtin: bool) -> Vec<RuleFile> {
    let user_names: BTreeSet<String> = user.iter().map(|file| file.name().to_string()).collect();
    let mut files: Vec<RuleFile> = if use_builtin {
        builtin
            .into_iter()
            .filter(|file| !user_names.contains(file.name()))
            .collect()
    } else {
        Vec::new()
    };
    files.extend(user);
    files
}

// ---------------------------------------------------------------------------------------------
// The TOML shapes

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    #[allow(dead_code)]
    pack: Option<RawPack>,
    #[serde(default)]
    rule: Vec<RawRule>,
}

/// Metadata of a file (documentation only).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct RawPack {
    name: Option<String>,
    description: Option<String>,
    reference: Option<String>,
}

type S<T> = Spanned<T>;
type List<T> = S<Vec<S<T>>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: S<String>,
    kind: S<String>,
    severity: Option<S<String>>,
    description: Option<S<String>>,
    #[allow(dead_code)] // documentation only: where the rule comes from
    reference: Option<S<String>>,
    table: Option<S<String>>,
    column: Option<S<String>>,
    columns: Option<List<String>>,
    #[serde(rename = "where")]
    conditions: Option<List<RawCondition>>,
    accepted: Option<List<toml::Value>>,
    rejected: Option<List<toml::Value>>,
    min: Option<S<toml::Value>>,
    max: Option<S<toml::Value>>,
    pattern: Option<S<String>>,
    chain: Option<List<String>>,
    join: Option<List<RawJoin>>,
    sequence: Option<S<String>>,
    partition: Option<List<String>>,
    order: Option<List<String>>,
    strict: Option<S<bool>>,
    not_before: Option<S<toml::Value>>,
    not_after: Option<S<toml::Value>>,
    scope: Option<S<String>>,
    tolerance: Option<S<toml::Value>>,
    condition: Option<S<String>>,
    sql: Option<S<String>>,
    checked_sql: Option<S<String>>,
    origins: Option<List<String>>,
    tables: Option<List<String>>,
    exclude: Option<List<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCondition {
    column: S<String>,
    #[serde(rename = "in")]
    in_values: Option<List<toml::Value>>,
    not_in: Option<List<toml::Value>>,
    from: Option<S<toml::Value>>,
    to: Option<S<toml::Value>>,
    null: Option<S<bool>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJoin {
    from: S<String>,
    to: S<String>,
}

impl RawRule {
    /// The optional fields that are present, with their spans.
    fn present(&self) -> Vec<(&'static str, Range<usize>)> {
        fn span<T>(field: &Option<S<T>>) -> Option<Range<usize>> {
            field.as_ref().map(|value| value.span())
        }
        let fields = [
            ("table", span(&self.table)),
            ("column", span(&self.column)),
            ("columns", span(&self.columns)),
            ("where", span(&self.conditions)),
            ("accepted", span(&self.accepted)),
            ("rejected", span(&self.rejected)),
            ("min", span(&self.min)),
            ("max", span(&self.max)),
            ("pattern", span(&self.pattern)),
            ("chain", span(&self.chain)),
            ("join", span(&self.join)),
            ("sequence", span(&self.sequence)),
            ("partition", span(&self.partition)),
            ("order", span(&self.order)),
            ("strict", span(&self.strict)),
            ("not_before", span(&self.not_before)),
            ("not_after", span(&self.not_after)),
            ("scope", span(&self.scope)),
            ("tolerance", span(&self.tolerance)),
            ("condition", span(&self.condition)),
            ("sql", span(&self.sql)),
            ("checked_sql", span(&self.checked_sql)),
            ("origins", span(&self.origins)),
            ("tables", span(&self.tables)),
            ("exclude", span(&self.exclude)),
        ];
        fields
            .into_iter()
            .filter_map(|(name, span)| span.map(|span| (name, span)))
            .collect()
    }
}

/// The fields each kind accepts besides id, kind, severity, description and reference.
fn allowed_fields(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::OrphanedReference => &["origins", "tables", "exclude"],
        Kind::DatesOutOfOrder => &[
            "table",
            "where",
            "chain",
            "join",
            "strict",
            "sequence",
            "partition",
            "order",
            "column",
            "not_before",
            "not_after",
        ],
        Kind::LedgerImbalance => &["scope", "tolerance"],
        Kind::StatusInconsistency => &["condition"],
        Kind::RowCountOutOfRange => &["table", "where", "min", "max"],
        Kind::NullInRequiredColumn => &["table", "columns", "where"],
        Kind::DuplicateKey => &["table", "columns", "where"],
        Kind::ValueNotAccepted => &[
            "table", "column", "where", "accepted", "rejected", "min", "max", "pattern",
        ],
        Kind::CustomQuery => &["sql", "checked_sql", "table"],
    }
}

// ---------------------------------------------------------------------------------------------
// Validation

/// Parses every file and validates every rule against the profile, expanding orphaned-reference
/// rules into one instance per relationship. Nothing touches a database.
pub fn load(files: &[RuleFile], profile: &Profile) -> Result<Vec<Instance>, RuleError> {
    let mut instances = Vec::new();
    for file in files {
        let parsed: RawFile = toml::from_str(&file.text).map_err(|error| RuleError::Invalid {
            location: Location {
                file: file.label.clone(),
                line: error
                    .span()
                    .map(|span| line_of(&file.text, span.start))
                    .unwrap_or(1),
            },
            message: error.message().trim().replace('\n', " "),
        })?;
        let validator = Validator { file, profile };
        for rule in &parsed.rule {
            instances.extend(validator.rule(rule)?);
        }
    }
    let mut seen: BTreeMap<&str, &Location> = BTreeMap::new();
    for instance in &instances {
        if let Some(first) = seen.insert(&instance.id, &instance.location) {
            return Err(RuleError::Invalid {
                location: instance.location.clone(),
                message: format!(
                    "rule id {:?} is already used at {first}; every rule needs its own id",
                    instance.id
                ),
            });
        }
    }
    Ok(instances)
}

/// Keeps the instances whose kind matches one of `selectors` (codes, code prefixes or names);
/// all of them when `selectors` is empty. A selector that matches no kind is an error.
pub fn select(instances: Vec<Instance>, selectors: &[String]) -> Result<Vec<Instance>, RuleError> {
    if selectors.is_empty() {
        return Ok(instances);
    }
    for selector in selectors {
        if !registry::KINDS
            .iter()
            .any(|entry| registry::selects(selector, entry.kind))
        {
            return Err(RuleError::UnknownSelector {
                selector: selector.clone(),
                known: registry::known_kinds(),
            });
        }
    }
    Ok(instances
        .into_iter()
        .filter(|instance| {
            selectors
                .iter()
                .any(|selector| registry::selects(selector, instance.kind))
        })
        .collect())
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset.min(text.len()))
        .map(|before| before.matches('\n').count() + 1)
        .unwrap_or(1)
}

struct Validator<'a> {
    file: &'a RuleFile,
    profile: &'a Profile,
}

impl Validator<'_> {
    fn at(&self, span: Range<usize>) -> Location {
        Location {
            file: self.file.label.clone(),
            line: line_of(&self.file.text, span.start),
        }
    }

    fn error(&self, span: Range<usize>, message: impl Into<String>) -> RuleError {
        RuleError::Invalid {
            location: self.at(span),
            message: message.into(),
        }
    }

    fn rule(&self, rule: &RawRule) -> Result<Vec<Instance>, RuleError> {
        let id = rule.id.get_ref().trim();
        if id.is_empty() || id.chars().any(char::is_whitespace) {
            return Err(self.error(rule.id.span(), "a rule id must be non-empty and without spaces"));
        }
        let kind = Kind::lookup(rule.kind.get_ref()).ok_or_else(|| {
            self.error(
                rule.kind.span(),
                format!(
                    "unknown check kind {:?}; known: {}",
                    rule.kind.get_ref(),
                    registry::known_kinds()
                ),
            )
        })?;
        let allowed = allowed_fields(kind);
        for (field, span) in rule.present() {
            if !allowed.contains(&field) {
                return Err(self.error(
                    span,
                    format!(
                        "field `{field}` does not apply to {kind}; it takes: {}",
                        allowed.join(", ")
                    ),
                ));
            }
        }
        let severity = match &rule.severity {
            Some(severity) => severity
                .get_ref()
                .parse::<Severity>()
                .map_err(|message| self.error(severity.span(), message))?,
            None => Severity::Error,
        };
        let base = Instance {
            id: id.to_string(),
            kind,
            table: String::new(),
            severity,
            description: rule.description.as_ref().map(|d| d.get_ref().trim().to_string()),
            location: self.at(rule.id.span()),
            spec: Spec::Custom {
                sql: String::new(),
                checked_sql: None,
            },
        };
        let with = |table: &str, spec: Spec| Instance {
            table: table.to_string(),
            spec,
            ..base.clone()
        };
        match kind {
            Kind::OrphanedReference => self.orphans(rule, &base),
            Kind::NullInRequiredColumn => {
                let (table, _) = self.table(rule)?;
                let conditions = self.conditions(rule, table, &[])?;
                let columns = self.required_list(rule, &rule.columns, "columns", table)?;
                Ok(columns
                    .into_iter()
                    .map(|column| Instance {
                        id: format!("{id}.{column}"),
                        ..with(
                            table,
                            Spec::NotNull {
                                column,
                                conditions: conditions.clone(),
                            },
                        )
                    })
                    .collect())
            }
            Kind::DuplicateKey => {
                let (table, _) = self.table(rule)?;
                let conditions = self.conditions(rule, table, &[])?;
                let columns = self.required_list(rule, &rule.columns, "columns", table)?;
                Ok(vec![with(table, Spec::Unique { columns, conditions })])
            }
            Kind::RowCountOutOfRange => {
                let (table, _) = self.table(rule)?;
                let conditions = self.conditions(rule, table, &[])?;
                let count = |field: &Option<S<toml::Value>>| -> Result<Option<u64>, RuleError> {
                    match field {
                        None => Ok(None),
                        Some(value) => match value.get_ref() {
                            toml::Value::Integer(n) if *n >= 0 => Ok(Some(*n as u64)),
                            _ => Err(self.error(value.span(), "a row count must be a whole number >= 0")),
                        },
                    }
                };
                let (min, max) = (count(&rule.min)?, count(&rule.max)?);
                if min.is_none() && max.is_none() {
                    return Err(self.error(rule.id.span(), format!("{kind} needs `min`, `max` or both")));
                }
                if let (Some(low), Some(high), Some(span)) = (min, max, rule.max.as_ref().map(|m| m.span())) {
                    if low > high {
                        return Err(self.error(span, format!("max {high} is below min {low}")));
                    }
                }
                Ok(vec![with(table, Spec::RowCount { conditions, min, max })])
            }
            Kind::ValueNotAccepted => self.accepted(rule, &base).map(|instance| vec![instance]),
            Kind::DatesOutOfOrder => self.dates(rule, &base).map(|instance| vec![instance]),
            Kind::LedgerImbalance => {
                let scope_field = rule
                    .scope
                    .as_ref()
                    .ok_or_else(|| self.error(rule.id.span(), format!("{kind} needs `scope`")))?;
                let scope = Scope::parse(scope_field.get_ref()).ok_or_else(|| {
                    self.error(
                        scope_field.span(),
                        format!(
                            "unknown scope {:?}; known: {}",
                            scope_field.get_ref(),
                            Scope::ALL.map(|s| s.name()).join(", ")
                        ),
                    )
                })?;
                let tolerance = match &rule.tolerance {
                    None => 0.005,
                    Some(value) => match value.get_ref() {
                        toml::Value::Float(x) if *x >= 0.0 && x.is_finite() => *x,
                        toml::Value::Integer(n) if *n >= 0 => *n as f64,
                        _ => return Err(self.error(value.span(), "tolerance must be a number >= 0")),
                    },
                };
                for (table, columns) in scope.required() {
                    self.require(scope_field.span(), table, columns)?;
                }
                let mut sources = vec!["procedurelog".to_string()];
                for (table, columns) in Scope::OPTIONAL {
                    if self.profile.table(table).is_some() {
                        self.require(scope_field.span(), table, columns)?;
                        sources.push(table.to_string());
                    }
                }
                Ok(vec![with(
                    "patient",
                    Spec::Ledger {
                        scope,
                        tolerance,
                        sources,
                    },
                )])
            }
            Kind::StatusInconsistency => {
                let field = rule
                    .condition
                    .as_ref()
                    .ok_or_else(|| self.error(rule.id.span(), format!("{kind} needs `condition`")))?;
                let situation = Situation::parse(field.get_ref()).ok_or_else(|| {
                    self.error(
                        field.span(),
                        format!(
                            "unknown condition {:?}; known: {}",
                            field.get_ref(),
                            Situation::ALL.map(|s| s.name()).join(", ")
                        ),
                    )
                })?;
                for (table, columns) in situation.required() {
                    self.require(field.span(), table, columns)?;
                }
                Ok(vec![with(situation.table(), Spec::Status(situation))])
            }
            Kind::CustomQuery => {
                let sql = rule
                    .sql
                    .as_ref()
                    .ok_or_else(|| self.error(rule.id.span(), format!("{kind} needs `sql`")))?;
                let clean = |text: &str| text.trim().trim_end_matches(';').trim().to_string();
                if clean(sql.get_ref()).is_empty() {
                    return Err(self.error(sql.span(), "`sql` is empty"));
                }
                let table = match &rule.table {
                    Some(table) => self.table_named(table)?.to_string(),
                    None => "(query)".to_string(),
                };
                Ok(vec![with(
                    &table,
                    Spec::Custom {
                        sql: clean(sql.get_ref()),
                        checked_sql: rule.checked_sql.as_ref().map(|s| clean(s.get_ref())),
                    },
                )])
            }
        }
    }

    /// The rule's `table`, required, and known to the profile.
    fn table<'r>(&self, rule: &'r RawRule) -> Result<(&'r str, &Table), RuleError> {
        let field = rule
            .table
            .as_ref()
            .ok_or_else(|| self.error(rule.id.span(), "this kind needs `table`"))?;
        let name = self.table_named(field)?;
        Ok((name, self.profile.table(name).expect("checked")))
    }

    fn table_named<'r>(&self, field: &'r S<String>) -> Result<&'r str, RuleError> {
        let name = field.get_ref().as_str();
        if self.profile.table(name).is_some() {
            return Ok(name);
        }
        let hint = suggestion(name, self.profile.tables.keys().map(String::as_str));
        Err(self.error(
            field.span(),
            format!(
                "unknown table {name:?}: the profile {:?} has no such table{hint}",
                self.profile.name
            ),
        ))
    }

    /// Checks that `column` exists in `table`.
    fn column(&self, span: Range<usize>, table: &str, column: &str) -> Result<ColumnKind, RuleError> {
        let Some(structure) = self.profile.table(table).map(|t| &t.structure) else {
            return Err(self.error(
                span,
                format!(
                    "unknown table {table:?}: the profile {:?} has no such table",
                    self.profile.name
                ),
            ));
        };
        match structure.column(column) {
            Some(found) => Ok(found.kind),
            None => {
                let hint = suggestion(column, structure.columns.iter().map(|c| c.name.as_str()));
                Err(self.error(
                    span,
                    format!("unknown column {column:?}: table {table:?} has no such column{hint}"),
                ))
            }
        }
    }

    fn require(&self, span: Range<usize>, table: &str, columns: &[&str]) -> Result<(), RuleError> {
        for column in columns {
            self.column(span.clone(), table, column)?;
        }
        Ok(())
    }

    fn required_list(
        &self,
        rule: &RawRule,
        field: &Option<List<String>>,
        name: &str,
        table: &str,
    ) -> Result<Vec<String>, RuleError> {
        let list = field
            .as_ref()
            .ok_or_else(|| self.error(rule.id.span(), format!("this kind needs `{name}`")))?;
        if list.get_ref().is_empty() {
            return Err(self.error(list.span(), format!("`{name}` is empty")));
        }
        list.get_ref()
            .iter()
            .map(|column| {
                self.column(column.span(), table, column.get_ref())?;
                Ok(column.get_ref().clone())
            })
            .collect()
    }

    /// Resolves `column` or `table.column` among `tables` (the first is the rule's own table).
    fn column_ref(&self, field: &S<String>, tables: &[&str]) -> Result<(ColumnRef, ColumnKind), RuleError> {
        let text = field.get_ref();
        let (table, column) = match text.split_once('.') {
            Some((table, column)) if tables.contains(&table) => (table, column),
            Some((table, _)) if tables.len() > 1 || self.profile.table(table).is_some() => {
                return Err(self.error(
                    field.span(),
                    format!(
                        "{text:?} names table {table:?}, which this rule does not read (it reads {})",
                        tables.join(", ")
                    ),
                ))
            }
            _ => (tables[0], text.as_str()),
        };
        let kind = self.column(field.span(), table, column)?;
        Ok((
            ColumnRef {
                table: table.to_string(),
                column: column.to_string(),
            },
            kind,
        ))
    }

    fn conditions(&self, rule: &RawRule, table: &str, joined: &[&str]) -> Result<Vec<Condition>, RuleError> {
        let Some(list) = &rule.conditions else {
            return Ok(Vec::new());
        };
        let mut tables = vec![table];
        tables.extend_from_slice(joined);
        list.get_ref()
            .iter()
            .map(|raw| {
                let raw_ref = raw.get_ref();
                let (column, kind) = self.column_ref(&raw_ref.column, &tables)?;
                let values = |list: &List<toml::Value>| -> Result<Vec<Value>, RuleError> {
                    if list.get_ref().is_empty() {
                        return Err(self.error(list.span(), "the list of values is empty"));
                    }
                    list.get_ref().iter().map(|v| self.value(v, kind)).collect()
                };
                let tests: Vec<Test> = [
                    raw_ref.in_values.as_ref().map(values).transpose()?.map(Test::In),
                    raw_ref.not_in.as_ref().map(values).transpose()?.map(Test::NotIn),
                    if raw_ref.from.is_some() || raw_ref.to.is_some() {
                        Some(Test::Range {
                            from: raw_ref.from.as_ref().map(|v| self.value(v, kind)).transpose()?,
                            to: raw_ref.to.as_ref().map(|v| self.value(v, kind)).transpose()?,
                        })
                    } else {
                        None
                    },
                    raw_ref.null.as_ref().map(|null| Test::Null(*null.get_ref())),
                ]
                .into_iter()
                .flatten()
                .collect();
                match <[Test; 1]>::try_from(tests) {
                    Ok([test]) => Ok(Condition { column, test }),
                    Err(_) => Err(self.error(
                        raw.span(),
                        "a condition needs exactly one test: `in`, `not_in`, `from`/`to`, or `null`",
                    )),
                }
            })
            .collect()
    }

    /// A literal for a column of `kind`, or `as-of[+-N]` for dates.
    fn value(&self, raw: &S<toml::Value>, kind: ColumnKind) -> Result<Value, RuleError> {
        let bad = |what: &str| self.error(raw.span(), format!("{} is not {what}", raw.get_ref()));
        let text = match raw.get_ref() {
            toml::Value::String(text) => text.clone(),
            toml::Value::Integer(n) => n.to_string(),
            toml::Value::Float(x) => x.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Datetime(datetime) => datetime.to_string(),
            _ => return Err(bad("a single value (string, number, boolean or date)")),
        };
        if let Some(days) = parse_as_of(&text) {
            if !kind.is_temporal() {
                return Err(bad("usable here: as-of applies to date and timestamp columns"));
            }
            return Ok(Value::AsOf(days));
        }
        let valid = match kind {
            ColumnKind::Integer => text.parse::<i64>().is_ok(),
            ColumnKind::Decimal | ColumnKind::Float => text.parse::<f64>().is_ok_and(f64::is_finite),
            ColumnKind::Boolean => matches!(text.as_str(), "true" | "false" | "0" | "1"),
            ColumnKind::Date => chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d").is_ok(),
            ColumnKind::Timestamp => {
                chrono::NaiveDate::parse_from_str(&text, "%Y-%m-%d").is_ok()
                    || chrono::NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S").is_ok()
                    || chrono::NaiveDateTime::parse_from_str(&text, "%Y-%m-%dT%H:%M:%S").is_ok()
            }
            _ => true,
        };
        if !valid {
            let expected = match kind {
                ColumnKind::Integer => "a whole number (the column is an integer)",
                ColumnKind::Decimal | ColumnKind::Float => "a number (the column is numeric)",
                ColumnKind::Boolean => "a boolean (the column is boolean: true, false, 0 or 1)",
                ColumnKind::Date => "a date (YYYY-MM-DD or as-of, as-of+N, as-of-N)",
                _ => "a timestamp (YYYY-MM-DD[ HH:MM:SS] or as-of, as-of+N, as-of-N)",
            };
            return Err(bad(expected));
        }
        Ok(Value::Literal(text))
    }

    fn orphans(&self, rule: &RawRule, base: &Instance) -> Result<Vec<Instance>, RuleError> {
        let origins: Option<Vec<Origin>> = match &rule.origins {
            None => None,
            Some(list) => Some(
                list.get_ref()
                    .iter()
                    .map(|origin| match origin.get_ref().as_str() {
                        "declared" => Ok(Origin::Declared),
                        "opendental" => Ok(Origin::Opendental),
                        "name_match" => Ok(Origin::NameMatch),
                        other => Err(self.error(
                            origin.span(),
                            format!("unknown origin {other:?}; known: declared, opendental, name_match"),
                        )),
                    })
                    .collect::<Result<_, _>>()?,
            ),
        };
        let tables: Option<Vec<String>> = match &rule.tables {
            None => None,
            Some(list) => Some(
                list.get_ref()
                    .iter()
                    .map(|table| self.table_named(table).map(str::to_string))
                    .collect::<Result<_, _>>()?,
            ),
        };
        let mut excluded: Vec<(String, String)> = Vec::new();
        if let Some(list) = &rule.exclude {
            for item in list.get_ref() {
                let Some((table, column)) = item.get_ref().split_once('.') else {
                    return Err(self.error(item.span(), "write exclusions as table.column"));
                };
                self.column(item.span(), table, column)?;
                excluded.push((table.to_string(), column.to_string()));
            }
        }
        let mut instances = Vec::new();
        for relationship in &self.profile.relationships {
            if relationship.verdict == Verdict::Rejected
                || origins
                    .as_ref()
                    .is_some_and(|o| !o.contains(&relationship.origin))
                || tables
                    .as_ref()
                    .is_some_and(|t| !t.contains(&relationship.child_table))
                || excluded
                    .iter()
                    .any(|(t, c)| *t == relationship.child_table && *c == relationship.child_column)
            {
                continue;
            }
            let span = rule.id.span();
            let problem = |message: String| {
                self.error(
                    span.clone(),
                    format!("the profile's relationship {}: {message}", relationship.label()),
                )
            };
            for (table, column) in [
                (&relationship.child_table, &relationship.child_column),
                (&relationship.parent_table, &relationship.parent_column),
            ]
            .into_iter()
            .chain(
                relationship
                    .child_filter
                    .iter()
                    .map(|f| (&relationship.child_table, &f.column)),
            )
            .chain(
                relationship
                    .parent_filter
                    .iter()
                    .map(|f| (&relationship.parent_table, &f.column)),
            ) {
                let known = self
                    .profile
                    .table(table)
                    .is_some_and(|t| t.structure.column(column).is_some());
                if !known {
                    return Err(problem(format!(
                        "{table}.{column} is not in the profile's tables"
                    )));
                }
            }
            let filter = relationship
                .child_filter
                .as_ref()
                .map(|f| format!("[{}={}]", f.column, f.value))
                .unwrap_or_default();
            instances.push(Instance {
                id: format!(
                    "{}.{}.{}{filter}->{}.{}",
                    base.id,
                    relationship.child_table,
                    relationship.child_column,
                    relationship.parent_table,
                    relationship.parent_column
                ),
                table: relationship.child_table.clone(),
                spec: Spec::Orphan(Reference {
                    child_table: relationship.child_table.clone(),
                    child_column: relationship.child_column.clone(),
                    parent_table: relationship.parent_table.clone(),
                    parent_column: relationship.parent_column.clone(),
                    zero_means_none: relationship.zero_means_none,
                    child_filter: relationship.child_filter.clone(),
                    parent_filter: relationship.parent_filter.clone(),
                }),
                ..base.clone()
            });
        }
        Ok(instances)
    }

    fn accepted(&self, rule: &RawRule, base: &Instance) -> Result<Instance, RuleError> {
        let (table, _) = self.table(rule)?;
        let column_field = rule
            .column
            .as_ref()
            .ok_or_else(|| self.error(rule.id.span(), "value-not-accepted needs `column`"))?;
        let kind = self.column(column_field.span(), table, column_field.get_ref())?;
        let conditions = self.conditions(rule, table, &[])?;
        let list = |field: &Option<List<toml::Value>>| -> Result<Option<Vec<Value>>, RuleError> {
            match field {
                None => Ok(None),
                Some(list) if list.get_ref().is_empty() => {
                    Err(self.error(list.span(), "the list of values is empty"))
                }
                Some(list) => list
                    .get_ref()
                    .iter()
                    .map(|v| self.value(v, kind))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Some),
            }
        };
        let bound = |field: &Option<S<toml::Value>>| field.as_ref().map(|v| self.value(v, kind)).transpose();
        let accepted = Accepted {
            column: column_field.get_ref().clone(),
            conditions,
            accepted: list(&rule.accepted)?,
            rejected: list(&rule.rejected)?,
            min: bound(&rule.min)?,
            max: bound(&rule.max)?,
            pattern: rule.pattern.as_ref().map(|p| p.get_ref().clone()),
        };
        if accepted.accepted.is_none()
            && accepted.rejected.is_none()
            && accepted.min.is_none()
            && accepted.max.is_none()
            && accepted.pattern.is_none()
        {
            return Err(self.error(
                rule.id.span(),
                "value-not-accepted needs at least one of `accepted`, `rejected`, `min`, `max`, `pattern`",
            ));
        }
        Ok(Instance {
            table: table.to_string(),
            spec: Spec::Accepted(accepted),
            ..base.clone()
        })
    }

    fn dates(&self, rule: &RawRule, base: &Instance) -> Result<Instance, RuleError> {
        let (table, structure) = self.table(rule)?;
        let strict = rule.strict.as_ref().map(|s| *s.get_ref()).unwrap_or(false);
        let shapes = [
            rule.chain.is_some(),
            rule.sequence.is_some(),
            rule.column.is_some(),
        ];
        if shapes.iter().filter(|present| **present).count() != 1 {
            return Err(self.error(
                rule.id.span(),
                "dates-out-of-order needs exactly one of `chain` (dates in order), `sequence` (a date increasing per group) or `column` (with not_before/not_after)",
            ));
        }
        let temporal = |span: Range<usize>, kind: ColumnKind, name: &str| {
            if kind.is_temporal() {
                Ok(())
            } else {
                Err(self.error(span, format!("{name} is not a date or timestamp column")))
            }
        };
        let spec = if let Some(chain) = &rule.chain {
            if rule.not_before.is_some()
                || rule.not_after.is_some()
                || rule.partition.is_some()
                || rule.order.is_some()
            {
                return Err(self.error(chain.span(), "`chain` takes `join`, `strict` and `where` only"));
            }
            let mut joined: Vec<&str> = Vec::new();
            let mut joins = Vec::new();
            if let Some(list) = &rule.join {
                for raw in list.get_ref() {
                    let raw = raw.get_ref();
                    let mut reachable = vec![table];
                    reachable.extend(joined.iter().copied());
                    let (from, _) = self.column_ref(&raw.from, &reachable)?;
                    let Some((to_table, to_column)) = raw.to.get_ref().split_once('.') else {
                        return Err(self.error(raw.to.span(), "write `to` as table.column"));
                    };
                    let to_table =
                        self.profile
                            .table(to_table)
                            .map(|t| t.name.as_str())
                            .ok_or_else(|| {
                                self.error(
                                    raw.to.span(),
                                    format!("unknown table {to_table:?}: the profile has no such table"),
                                )
                            })?;
                    if to_table == table || joined.contains(&to_table) {
                        return Err(self.error(
                            raw.to.span(),
                            format!("table {to_table:?} is already in this rule"),
                        ));
                    }
                    self.column(raw.to.span(), to_table, to_column)?;
                    joined.push(to_table);
                    joins.push(Join {
                        from,
                        to: ColumnRef {
                            table: to_table.to_string(),
                            column: to_column.to_string(),
                        },
                    });
                }
            }
            let mut tables = vec![table];
            tables.extend(joined.iter().copied());
            if chain.get_ref().len() < 2 {
                return Err(self.error(chain.span(), "a chain needs at least two dates"));
            }
            let mut columns = Vec::new();
            for item in chain.get_ref() {
                let (column, kind) = self.column_ref(item, &tables)?;
                temporal(item.span(), kind, item.get_ref())?;
                columns.push(column);
            }
            Dates::Chain {
                columns,
                joins,
                strict,
                conditions: self.conditions(rule, table, &joined)?,
            }
        } else if let Some(sequence) = &rule.sequence {
            if rule.join.is_some() || rule.not_before.is_some() || rule.not_after.is_some() {
                return Err(self.error(
                    sequence.span(),
                    "`sequence` takes `partition`, `order`, `strict` and `where` only",
                ));
            }
            let kind = self.column(sequence.span(), table, sequence.get_ref())?;
            temporal(sequence.span(), kind, sequence.get_ref())?;
            let partition = self.required_list(rule, &rule.partition, "partition", table)?;
            let order = match &rule.order {
                Some(_) => self.required_list(rule, &rule.order, "order", table)?,
                None => match &structure.structure.primary_key {
                    Some(key) => key.columns.clone(),
                    None => {
                        return Err(self.error(
                            sequence.span(),
                            format!("table {table:?} has no primary key: give `order`"),
                        ))
                    }
                },
            };
            Dates::Sequence {
                column: sequence.get_ref().clone(),
                partition,
                order,
                strict,
                conditions: self.conditions(rule, table, &[])?,
            }
        } else {
            let column = rule.column.as_ref().expect("one shape is present");
            if rule.join.is_some()
                || rule.partition.is_some()
                || rule.order.is_some()
                || rule.strict.is_some()
            {
                return Err(self.error(
                    column.span(),
                    "`column` takes `not_before`, `not_after` and `where` only",
                ));
            }
            let kind = self.column(column.span(), table, column.get_ref())?;
            temporal(column.span(), kind, column.get_ref())?;
            let bound =
                |field: &Option<S<toml::Value>>| field.as_ref().map(|v| self.value(v, kind)).transpose();
            let (not_before, not_after) = (bound(&rule.not_before)?, bound(&rule.not_after)?);
            if not_before.is_none() && not_after.is_none() {
                return Err(self.error(column.span(), "`column` needs `not_before`, `not_after` or both"));
            }
            Dates::Bounds {
                column: column.get_ref().clone(),
                not_before,
                not_after,
                conditions: self.conditions(rule, table, &[])?,
            }
        };
        Ok(Instance {
            table: table.to_string(),
            spec: Spec::Dates(spec),
            ..base.clone()
        })
    }
}

/// `as-of` -> 0, `as-of+30` -> 30, `as-of-1` -> -1 (days).
fn parse_as_of(text: &str) -> Option<i64> {
    let rest = text.trim().strip_prefix("as-of")?;
    if rest.is_empty() {
        return Some(0);
    }
    let (sign, digits) = match rest.split_at(1) {
        ("+", digits) => (1, digits),
        ("-", digits) => (-1, digits),
        _ => return None,
    };
    digits.trim().parse::<i64>().ok().map(|days| sign * days)
}

/// `; did you mean "X"?` for the closest candidate, when one is close enough.
fn suggestion<'a>(wanted: &str, candidates: impl Iterator<Item = &'a str>) -> String {
    let lower = wanted.to_ascii_lowercase();
    let best = candidates
        .map(|candidate| (edit_distance(&lower, &candidate.to_ascii_lowercase()), candidate))
        .min();
    match best {
        Some((distance, candidate)) if distance <= (wanted.len() / 3).max(2) => {
            format!(" (did you mean {candidate:?}?)")
        }
        _ => String::new(),
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            current.push((previous[j] + cost).min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Relationship;

    /// The shared mini profile of the check tests, with two relationships (one rejected).
    fn profile() -> Profile {
        use ColumnKind::*;
        let mut profile = crate::verify::checks::test_support::profile(&[
            (
                "patient",
                &["PatNum"],
                &[("PatNum", Integer), ("Guarantor", Integer), ("LName", Text)],
            ),
            (
                "claim",
                &["ClaimNum"],
                &[
                    ("ClaimNum", Integer),
                    ("PatNum", Integer),
                    ("DateService", Date),
                    ("DateSent", Date),
                    ("ClaimStatus", Text),
                ],
            ),
        ]);
        profile.relationships = vec![
            Relationship {
                child_table: "claim".into(),
                child_column: "PatNum".into(),
                parent_table: "patient".into(),
                parent_column: "PatNum".into(),
                origin: Origin::Opendental,
                zero_means_none: false,
                child_filter: None,
                parent_filter: None,
                verdict: Verdict::Confirmed,
                evidence: None,
                children_per_parent: None,
                parents_without_children: None,
                lag: None,
                note: None,
            },
            Relationship {
                child_table: "patient".into(),
                child_column: "Guarantor".into(),
                parent_table: "patient".into(),
                parent_column: "PatNum".into(),
                origin: Origin::NameMatch,
                zero_means_none: false,
                child_filter: None,
                parent_filter: None,
                verdict: Verdict::Rejected,
                evidence: None,
                children_per_parent: None,
                parents_without_children: None,
                lag: None,
                note: None,
            },
        ];
        profile
    }

    fn load_text(text: &str) -> Result<Vec<Instance>, RuleError> {
        load(
            &[RuleFile {
                label: "rules/test.toml".into(),
                text: text.into(),
            }],
            &profile(),
        )
    }

    fn error(text: &str) -> String {
        load_text(text).unwrap_err().to_string()
    }

    #[test]
    fn a_valid_file_expands_not_null_per_column_and_references_per_relationship() {
        let instances = load_text(
            r#"
[pack]
description = "test"

[[rule]]
id = "nn.claim"
kind = "NN001"
table = "claim"
columns = ["PatNum", "DateService"]
where = [{ column = "ClaimStatus", in = ["R", "S"] }]

[[rule]]
id = "ri"
kind = "orphaned-reference"
severity = "warn"
"#,
        )
        .unwrap();
        let ids: Vec<&str> = instances.iter().map(|i| i.id.as_str()).collect();
        assert_eq!(
            ids,
            vec![
                "nn.claim.PatNum",
                "nn.claim.DateService",
                "ri.claim.PatNum->patient.PatNum"
            ],
            "the rejected relationship is skipped"
        );
        assert_eq!(instances[2].severity, Severity::Warn);
        assert_eq!(instances[0].location.to_string(), "rules/test.toml:6");
    }

    #[test]
    fn malformed_toml_names_the_file_and_line() {
        let message = error("[[rule]]\nid = \"x\"\nkind = \"NN001\"\ntable = \n");
        assert!(message.starts_with("rules/test.toml:4: "), "{message}");
    }

    #[test]
    fn unknown_kind_table_column_and_field_name_the_line() {
        let message = error("[[rule]]\nid = \"x\"\nkind = \"NN009\"\n");
        assert!(
            message.starts_with("rules/test.toml:3: unknown check kind \"NN009\""),
            "{message}"
        );
        let message =
            error("[[rule]]\nid = \"x\"\nkind = \"NN001\"\ntable = \"claims\"\ncolumns = [\"PatNum\"]\n");
        assert!(
            message.starts_with("rules/test.toml:4: unknown table \"claims\""),
            "{message}"
        );
        assert!(message.contains("did you mean \"claim\""), "{message}");
        let message = error(
            "[[rule]]\nid = \"x\"\nkind = \"NN001\"\ntable = \"claim\"\ncolumns = [\n  \"PatNum\",\n  \"DateSend\",\n]\n",
        );
        assert!(
            message.starts_with("rules/test.toml:7: unknown column \"DateSend\""),
            "{message}"
        );
        assert!(message.contains("did you mean \"DateSent\""), "{message}");
        let message = error("[[rule]]\nid = \"x\"\nkind = \"NN001\"\ntable = \"claim\"\ncolumns = [\"PatNum\"]\npattern = \"x\"\n");
        assert!(
            message.starts_with("rules/test.toml:6: field `pattern` does not apply"),
            "{message}"
        );
        let message =
            error("[[rule]]\nid = \"x\"\nkind = \"NN001\"\ntable = \"claim\"\ncolumnz = [\"PatNum\"]\n");
        assert!(
            message.starts_with("rules/test.toml:5: unknown field `columnz`"),
            "{message}"
        );
    }

    #[test]
    fn values_must_fit_their_column() {
        let message = error(
            "[[rule]]\nid = \"x\"\nkind = \"AV001\"\ntable = \"claim\"\ncolumn = \"PatNum\"\naccepted = [1, \"two\"]\n",
        );
        assert!(
            message.starts_with("rules/test.toml:6: \"two\" is not a whole number"),
            "{message}"
        );
        let message = error(
            "[[rule]]\nid = \"x\"\nkind = \"DT001\"\ntable = \"claim\"\ncolumn = \"DateSent\"\nnot_after = \"tomorrow\"\n",
        );
        assert!(message.contains("is not a date"), "{message}");
        let instances = load_text(
            "[[rule]]\nid = \"x\"\nkind = \"DT001\"\ntable = \"claim\"\ncolumn = \"DateSent\"\nnot_after = \"as-of-1\"\nnot_before = 2023-01-01\n",
        )
        .unwrap();
        match &instances[0].spec {
            Spec::Dates(Dates::Bounds {
                not_before,
                not_after,
                ..
            }) => {
                assert_eq!(not_after, &Some(Value::AsOf(-1)));
                assert_eq!(not_before, &Some(Value::Literal("2023-01-01".into())));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn duplicate_ids_are_refused_with_both_places() {
        let message = error(
            "[[rule]]\nid = \"x\"\nkind = \"VOL001\"\ntable = \"claim\"\nmin = 1\n\n[[rule]]\nid = \"x\"\nkind = \"VOL001\"\ntable = \"patient\"\nmin = 1\n",
        );
        assert!(
            message.starts_with("rules/test.toml:8: rule id \"x\" is already used at rules/test.toml:2"),
            "{message}"
        );
    }

    #[test]
    fn user_files_replace_built_in_files_of_the_same_name() {
        let file = |label: &str| RuleFile {
            label: label.into(),
            text: String::new(),
        };
        let combined = combine(
            vec![file("rules/a.toml"), file("rules/b.toml")],
            vec![file("/tmp/mine/b.toml"), file("/tmp/mine/c.toml")],
            true,
        );
        let labels: Vec<&str> = combined.iter().map(|f| f.label.as_str()).collect();
        assert_eq!(
            labels,
            vec!["rules/a.toml", "/tmp/mine/b.toml", "/tmp/mine/c.toml"]
        );
        assert_eq!(combine(vec![file("rules/a.toml")], vec![], false), vec![]);
    }

    #[test]
    fn selection_by_code_prefix_and_unknown_selectors() {
        let instances = load_text(
            "[[rule]]\nid = \"v\"\nkind = \"VOL001\"\ntable = \"claim\"\nmin = 1\n\n[[rule]]\nid = \"r\"\nkind = \"RI001\"\n",
        )
        .unwrap();
        assert_eq!(select(instances.clone(), &["VOL".into()]).unwrap().len(), 1);
        assert_eq!(select(instances.clone(), &[]).unwrap().len(), 2);
        let message = select(instances, &["XX1".into()]).unwrap_err().to_string();
        assert!(message.contains("matches no check kind"), "{message}");
    }

    #[test]
    fn as_of_offsets_parse() {
        assert_eq!(parse_as_of("as-of"), Some(0));
        assert_eq!(parse_as_of("as-of+30"), Some(30));
        assert_eq!(parse_as_of("as-of-1"), Some(-1));
        assert_eq!(parse_as_of("as-ofx"), None);
        assert_eq!(parse_as_of("2024-01-01"), None);
    }

    #[test]
    fn the_built_in_rules_validate_against_the_built_in_profile() {
        let profile = crate::profile::builtin().unwrap();
        let instances = load(&builtin(), &profile).unwrap_or_else(|error| panic!("{error}"));
        for kind in registry::KINDS.map(|entry| entry.kind) {
            assert!(
                instances.iter().any(|instance| instance.kind == kind),
                "no built-in rule of kind {kind}"
            );
        }
        let orphans = instances
            .iter()
            .filter(|i| i.kind == Kind::OrphanedReference)
            .count();
        let usable = profile
            .relationships
            .iter()
            .filter(|r| r.verdict != Verdict::Rejected)
            .count();
        assert_eq!(
            orphans, usable,
            "one instance per relationship that was not rejected"
        );
    }

    #[test]
    fn the_built_in_files_parse() {
        for file in builtin() {
            let parsed: Result<RawFile, _> = toml::from_str(&file.text);
            assert!(
                parsed.is_ok(),
                "{}: {:?}",
                file.label,
                parsed.err().map(|e| e.to_string())
            );
        }
    }
}
