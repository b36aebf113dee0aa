//! verify against a real PostgreSQL: every check kind both ways (a clean mini practice, then the
//! same practice with planted violations, findings snapshotted with insta), the report formats,
//! --snapshot / --bless, bad inputs (exit 2 with one clear line), the built-in rule packs on the
//! full OpenDental schema, and proof that verify never writes.
//!
//! The fixture is a hand-written, OpenDental-shaped mini practice (12 tables, 3 patients in two
//! families) with a hand-written profile, so that these tests run in seconds. Its ledger, worked
//! by hand at as-of 2026-06-30 (see `CLEAN`): patient 1 owes 50.00, patient 2 125.00 (family A,
//! guarantor 1: BalTotal 175.00, aged 150.00 in 0-30 days and 25.00 over 90), patient 3 200.00
//! (family B, aged 61-90 days).

use crate::support;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use dentsynth::profile::{
    self, Column, ColumnKind, Filter, KeyConstraint, Origin, Profile, Relationship, Settings, Source, Table,
    TableStats, TableStructure, Verdict,
};
use support::{dentsynth, scratch_dir, text, TestDb};

const AS_OF: &str = "2026-06-30";

/// The mini schema: table -> columns (udt names); the first column is the primary key.
const SCHEMA: &[(&str, &[(&str, &str)])] = &[
    (
        "definition",
        &[
            ("DefNum", "int8"),
            ("Category", "int2"),
            ("ItemName", "varchar"),
            ("ItemValue", "varchar"),
        ],
    ),
    ("provider", &[("ProvNum", "int8"), ("Abbr", "varchar")]),
    (
        "patient",
        &[
            ("PatNum", "int8"),
            ("Guarantor", "int8"),
            ("PriProv", "int8"),
            ("PatStatus", "int2"),
            ("EstBalance", "float8"),
            ("BalTotal", "float8"),
            ("Bal_0_30", "float8"),
            ("Bal_31_60", "float8"),
            ("Bal_61_90", "float8"),
            ("BalOver90", "float8"),
            ("SecDateEntry", "date"),
            ("DateTStamp", "timestamp"),
        ],
    ),
    (
        "appointment",
        &[
            ("AptNum", "int8"),
            ("PatNum", "int8"),
            ("ProvNum", "int8"),
            ("AptStatus", "int2"),
            ("AptDateTime", "timestamp"),
        ],
    ),
    (
        "histappointment",
        &[
            ("HistApptNum", "int8"),
            ("AptNum", "int8"),
            ("HistApptAction", "int2"),
            ("HistDateTStamp", "timestamp"),
        ],
    ),
    (
        "procedurelog",
        &[
            ("ProcNum", "int8"),
            ("PatNum", "int8"),
            ("AptNum", "int8"),
            ("ProvNum", "int8"),
            ("ProcStatus", "int2"),
            ("ProcDate", "date"),
            ("ProcFee", "float8"),
            ("UnitQty", "int4"),
            ("BaseUnits", "int4"),
        ],
    ),
    (
        "claim",
        &[
            ("ClaimNum", "int8"),
            ("PatNum", "int8"),
            ("ClaimStatus", "bpchar"),
            ("DateService", "date"),
            ("DateSent", "date"),
            ("DateReceived", "date"),
        ],
    ),
    (
        "claimpayment",
        &[
            ("ClaimPaymentNum", "int8"),
            ("CheckDate", "date"),
            ("CheckAmt", "float8"),
        ],
    ),
    (
        "claimproc",
        &[
            ("ClaimProcNum", "int8"),
            ("ProcNum", "int8"),
            ("ClaimNum", "int8"),
            ("PatNum", "int8"),
            ("ProvNum", "int8"),
            ("Status", "int2"),
            ("InsPayAmt", "float8"),
            ("WriteOff", "float8"),
            ("DateCP", "date"),
            ("ClaimPaymentNum", "int8"),
            ("PayPlanNum", "int8"),
        ],
    ),
    (
        "adjustment",
        &[
            ("AdjNum", "int8"),
            ("PatNum", "int8"),
            ("ProvNum", "int8"),
            ("AdjType", "int8"),
            ("AdjAmt", "float8"),
            ("AdjDate", "date"),
            ("ProcNum", "int8"),
        ],
    ),
    (
        "payment",
        &[
            ("PayNum", "int8"),
            ("PatNum", "int8"),
            ("PayType", "int8"),
            ("PayAmt", "float8"),
            ("PayDate", "date"),
        ],
    ),
    (
        "paysplit",
        &[
            ("SplitNum", "int8"),
            ("PayNum", "int8"),
            ("PatNum", "int8"),
            ("ProvNum", "int8"),
            ("ProcNum", "int8"),
            ("SplitAmt", "float8"),
            ("DatePay", "date"),
            ("UnearnedType", "int8"),
        ],
    ),
    (
        "task",
        &[("TaskNum", "int8"), ("KeyNum", "int8"), ("ObjectType", "int2")],
    ),
];

fn data_type(udt: &str) -> &'static str {
    match udt {
        "int8" => "bigint",
        "int4" => "integer",
        "int2" => "smallint",
        "float8" => "double precision",
        "date" => "date",
        "timestamp" => "timestamp without time zone",
        "varchar" => "character varying(255)",
        "bpchar" => "character(1)",
        other => panic!("no type for {other}"),
    }
}

fn ddl() -> String {
    let mut sql = String::from("create schema raw;\n");
    for (table, columns) in SCHEMA {
        let list: Vec<String> = columns
            .iter()
            .map(|(name, udt)| format!("\"{name}\" {}", data_type(udt)))
            .collect();
        sql.push_str(&format!(
            "create table raw.{table} ({}, primary key (\"{}\"));\n",
            list.join(", "),
            columns[0].0
        ));
    }
    sql
}

/// A clean practice at as-of 2026-06-30. Every stored balance follows from the ledger.
const CLEAN: &str = r#"
insert into raw.definition values
  (1, 1, 'Discount', '-'), (2, 1, 'Charge', '+'), (5, 2, 'Unconfirmed', ''),
  (10, 10, 'Check', ''), (29, 29, 'Prepayment', ''), (30, 29, 'Treatment plan prepayment', 'X');
insert into raw.provider values (1, 'DOC1'), (2, 'HYG1');
-- Family A: 1 (guarantor) and 2; family B: 3.
insert into raw.patient values
  (1, 1, 1, 0, 50, 175, 150, 0, 0, 25, '2025-01-10', '2026-03-25 10:00'),
  (2, 1, 2, 0, 125, 0, 0, 0, 0, 0, '2025-01-10', '2026-06-10 12:00'),
  (3, 3, 2, 0, 200, 200, 0, 0, 200, 0, '2025-06-01', '2026-05-01 09:00');
insert into raw.appointment values
  (10, 1, 1, 2, '2026-03-02 09:00'), (11, 2, 2, 2, '2026-06-10 10:00'),
  (12, 3, 2, 1, '2026-07-15 08:00'), (13, 3, 2, 5, '2026-05-01 08:00'),
  (14, 3, 1, 2, '2026-04-20 14:00');
insert into raw.histappointment values
  (1, 10, 0, '2026-02-20 08:00'), (2, 10, 1, '2026-03-02 11:00'),
  (3, 11, 0, '2026-05-01 08:00'), (4, 11, 1, '2026-06-10 11:00'),
  (5, 13, 0, '2026-04-01 08:00'), (6, 13, 2, '2026-05-01 08:30');
insert into raw.procedurelog values
  (100, 1, 10, 1, 2, '2026-03-02', 200, 1, 0),
  (101, 1, 10, 1, 2, '2026-03-02', 100, 1, 0),
  (102, 2, 11, 2, 2, '2026-06-10', 150, 1, 0),
  (103, 3, 12, 2, 1, '2026-07-15', 80, 1, 0),
  (104, 3, 14, 1, 2, '2026-04-20', 300, 1, 0),
  (105, 3, 0, 2, 1, '2026-08-01', 60, 1, 0);
insert into raw.claim values
  (50, 1, 'R', '2026-03-02', '2026-03-03', '2026-03-20'),
  (51, 3, 'S', '2026-04-20', '2026-04-21', null);
insert into raw.claimpayment values (70, '2026-03-25', 170);
-- Received lines pay 120 + 50 with a 30 write-off; claim 51 is pending (status 0: not in the balance).
insert into raw.claimproc values
  (500, 100, 50, 1, 1, 1, 120, 30, '2026-03-25', 70, 0),
  (501, 101, 50, 1, 1, 1, 50, 0, '2026-03-25', 70, 0),
  (502, 104, 51, 3, 1, 0, 0, 40, null, 0, 0),
  (503, 103, 0, 3, 2, 6, 0, 0, null, 0, 0);
insert into raw.adjustment values (80, 2, 2, 1, -15, '2026-06-10', 102);
insert into raw.payment values
  (90, 1, 10, 50, '2026-03-02'), (91, 1, 10, 10, '2026-06-10'),
  (92, 3, 10, 100, '2026-04-20'), (93, 3, 10, 25, '2026-05-02');
-- Split 903 is a hidden (ItemValue 'X') treatment-plan prepayment: not in the balance.
insert into raw.paysplit values
  (900, 90, 1, 1, 100, 50, '2026-03-02', 0),
  (901, 91, 2, 2, 102, 10, '2026-06-10', 0),
  (902, 92, 3, 1, 104, 100, '2026-04-20', 0),
  (903, 93, 3, 2, 0, 25, '2026-05-02', 30);
insert into raw.task values (1, 1, 1), (2, 10, 2), (3, 0, 0);
"#;

/// Relationships of the mini profile: (child, column, parent, parent column, zero means none,
/// child filter, parent filter, origin, verdict).
#[allow(clippy::type_complexity)]
const RELATIONSHIPS: &[(
    &str,
    &str,
    &str,
    &str,
    bool,
    Option<(&str, &str)>,
    Option<(&str, &str)>,
    Origin,
    Verdict,
)] = &[
    (
        "patient",
        "Guarantor",
        "patient",
        "PatNum",
        false,
        None,
        None,
        Origin::Opendental,
        Verdict::Confirmed,
    ),
    // Rejected by introspection: never checked, even when orphaned.
    (
        "patient",
        "PriProv",
        "provider",
        "ProvNum",
        false,
        None,
        None,
        Origin::Opendental,
        Verdict::Rejected,
    ),
    (
        "appointment",
        "PatNum",
        "patient",
        "PatNum",
        false,
        None,
        None,
        Origin::Opendental,
        Verdict::Confirmed,
    ),
    (
        "procedurelog",
        "PatNum",
        "patient",
        "PatNum",
        false,
        None,
        None,
        Origin::Opendental,
        Verdict::Confirmed,
    ),
    (
        "procedurelog",
        "AptNum",
        "appointment",
        "AptNum",
        true,
        None,
        None,
        Origin::Opendental,
        Verdict::Confirmed,
    ),
    (
        "claim",
        "PatNum",
        "patient",
        "PatNum",
        false,
        None,
        None,
        Origin::Opendental,
        Verdict::Confirmed,
    ),
    (
        "claimproc",
        "ClaimNum",
        "claim",
        "ClaimNum",
        true,
        None,
        None,
        Origin::Opendental,
        Verdict::Confirmed,
    ),
    (
        "claimproc",
        "ProcNum",
        "procedurelog",
        "ProcNum",
        true,
        None,
        None,
        Origin::Opendental,
        Verdict::Confirmed,
    ),
    (
        "claimproc",
        "ClaimPaymentNum",
        "claimpayment",
        "ClaimPaymentNum",
        true,
        None,
        None,
        Origin::Opendental,
        Verdict::NoData,
    ),
    (
        "adjustment",
        "AdjType",
        "definition",
        "DefNum",
        false,
        None,
        Some(("Category", "1")),
        Origin::Opendental,
        Verdict::Confirmed,
    ),
    (
        "paysplit",
        "PayNum",
        "payment",
        "PayNum",
        false,
        None,
        None,
        Origin::Opendental,
        Verdict::Confirmed,
    ),
    (
        "paysplit",
        "UnearnedType",
        "definition",
        "DefNum",
        true,
        None,
        Some(("Category", "29")),
        Origin::Opendental,
        Verdict::Confirmed,
    ),
    (
        "task",
        "KeyNum",
        "patient",
        "PatNum",
        true,
        Some(("ObjectType", "1")),
        None,
        Origin::Opendental,
        Verdict::Confirmed,
    ),
    (
        "task",
        "KeyNum",
        "appointment",
        "AptNum",
        true,
        Some(("ObjectType", "2")),
        None,
        Origin::Opendental,
        Verdict::Confirmed,
    ),
    (
        "histappointment",
        "AptNum",
        "appointment",
        "AptNum",
        false,
        None,
        None,
        Origin::NameMatch,
        Verdict::Confirmed,
    ),
];

fn mini_profile() -> Profile {
    let mut tables = BTreeMap::new();
    for (name, columns) in SCHEMA {
        let table = Table {
            name: name.to_string(),
            structure: TableStructure {
                columns: columns
                    .iter()
                    .enumerate()
                    .map(|(index, (column, udt))| Column {
                        name: column.to_string(),
                        position: index as u32 + 1,
                        data_type: data_type(udt).to_string(),
                        kind: ColumnKind::from_udt(udt),
                        nullable: index > 0,
                        default: None,
                        identity: None,
                        max_length: None,
                        numeric_precision: None,
                        numeric_scale: None,
                    })
                    .collect(),
                primary_key: Some(KeyConstraint {
                    name: format!("{name}_pkey"),
                    columns: vec![columns[0].0.to_string()],
                }),
                unique_constraints: vec![],
                check_constraints: vec![],
                indexes: vec![],
                foreign_keys: vec![],
            },
            stats: TableStats::default(),
            reference: None,
        };
        tables.insert(name.to_string(), table);
    }
    let filter = |pair: Option<(&str, &str)>| {
        pair.map(|(column, value)| Filter {
            column: column.to_string(),
            value: value.to_string(),
        })
    };
    Profile {
        format_version: profile::FORMAT_VERSION,
        name: "mini".to_string(),
        source: Source {
            description: "hand-written mini OpenDental practice for the verify tests".to_string(),
            database: "mini".to_string(),
            system_identifier: None,
            schema: "raw".to_string(),
            server_version: "15".to_string(),
            opendental: true,
        },
        settings: Settings {
            min_group_size: 10,
            sample_rows: None,
            calibration: vec![],
        },
        sequences: vec![],
        relationships: RELATIONSHIPS
            .iter()
            .map(
                |(
                    child,
                    column,
                    parent,
                    parent_column,
                    zero,
                    child_filter,
                    parent_filter,
                    origin,
                    verdict,
                )| {
                    Relationship {
                        child_table: child.to_string(),
                        child_column: column.to_string(),
                        parent_table: parent.to_string(),
                        parent_column: parent_column.to_string(),
                        origin: *origin,
                        zero_means_none: *zero,
                        child_filter: filter(*child_filter),
                        parent_filter: filter(*parent_filter),
                        verdict: *verdict,
                        evidence: None,
                        children_per_parent: None,
                        parents_without_children: None,
                        lag: None,
                        note: None,
                    }
                },
            )
            .collect(),
        behaviour: Default::default(),
        tables,
    }
}

/// The mini profile, saved once per test binary.
fn profile_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = scratch_dir("verify-profile").join("mini");
        profile::save(&mini_profile(), &dir).unwrap();
        dir
    })
}

const RULES: &str = "tests/fixtures/verify/rules";

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh database holding the clean mini practice.
fn practice(label: &str) -> TestDb {
    let db = TestDb::new(label);
    execute(&db, &format!("{}{CLEAN}", ddl()));
    db
}

fn execute(db: &TestDb, sql: &str) {
    let target = db.target.clone();
    let sql = sql.to_string();
    support::block_on(move || async move {
        let mut connection = target.connect().await.unwrap();
        sqlx::raw_sql(&sql).execute(&mut connection).await.unwrap();
    });
}

/// `dentsynth verify` on `db` with the mini profile (as it is: `--no-fill`, so that the built-in
/// profile adds none of its relationships), the test rules only, as of 2026-06-30.
fn verify(db: &TestDb, extra: &[&str]) -> (Option<i32>, String, String) {
    let output = dentsynth()
        .current_dir(manifest_dir())
        .args(["--quiet", "verify", "--database-url", &db.url, "--profile"])
        .arg(profile_dir())
        .arg("--no-fill")
        .args(["--rules", RULES, "--no-default-rules", "--as-of", AS_OF])
        .args(extra)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    (output.status.code(), stdout, stderr)
}

/// Runs one kind on the clean practice (exit 0, snapshot), plants violations, runs it again
/// (exit 1, snapshot).
fn both_ways(code: &str, plant: &str) {
    let label = code.to_ascii_lowercase();
    let db = practice(&label);
    let (status, stdout, stderr) = verify(&db, &["--select", code, "--format", "json"]);
    assert_eq!(
        status,
        Some(0),
        "the clean practice has {code} findings:\n{stdout}\n{stderr}"
    );
    let clean: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(clean["summary"]["errors"], 0, "{stdout}");
    assert_eq!(clean["summary"]["warnings"], 0, "{stdout}");
    assert!(clean["summary"]["rules"].as_u64().unwrap() > 0);
    insta::assert_snapshot!(format!("{label}_clean"), stdout);

    execute(&db, plant);
    let (status, stdout, stderr) = verify(&db, &["--select", code, "--format", "json"]);
    assert_eq!(
        status,
        Some(1),
        "planted {code} violations were not found:\n{stdout}\n{stderr}"
    );
    insta::assert_snapshot!(format!("{label}_planted"), stdout);
}

const PLANT_RI: &str = r#"
-- An orphaned claim, a polymorphic orphan (ObjectType 2 -> appointment 777), an adjustment type
-- from the wrong definition category, and a hidden orphan on a rejected relationship (PriProv 99).
insert into raw.claimproc values (504, 104, 999, 3, 1, 0, 0, 0, null, 0, 0);
insert into raw.task values (4, 777, 2), (5, 0, 2);
insert into raw.adjustment values (81, 3, 1, 10, -5, '2026-06-01', 0);
update raw.patient set "PriProv" = 99 where "PatNum" = 3;
insert into raw.histappointment values (7, 888, 0, '2026-06-01 08:00');
"#;

const PLANT_DT: &str = r#"
-- Claim received before it was sent; a payment before its appointment; a history row stamped
-- before the previous one; a completed appointment after as-of; a patient stamped before entry.
update raw.claim set "DateReceived" = '2026-03-01' where "ClaimNum" = 50;
update raw.paysplit set "DatePay" = '2026-06-01' where "SplitNum" = 901;
insert into raw.histappointment values (8, 10, 1, '2026-03-01 12:00');
insert into raw.appointment values (15, 1, 1, 2, '2026-07-02 09:00');
update raw.patient set "DateTStamp" = '2024-12-31 23:00' where "PatNum" = 3;
insert into raw.procedurelog values (106, 3, 0, 1, 1, '0001-01-01', 0, 1, 0), (107, 3, 0, 1, 1, '2022-12-31', 0, 1, 0);
"#;

const PLANT_FB: &str = r#"
-- Patient 2's own balance forgets the adjustment; the guarantor's total and aging forget a payment
-- of 5.00 made by patient 1 in May (provider 1).
update raw.patient set "EstBalance" = 140 where "PatNum" = 2;
insert into raw.payment values (94, 1, 10, 5, '2026-05-15');
insert into raw.paysplit values (904, 94, 1, 1, 101, 5, '2026-05-15', 0);
update raw.patient set "EstBalance" = 45 where "PatNum" = 1;
update raw.patient set "BalTotal" = 175 where "PatNum" = 1;
"#;

const PLANT_ST: &str = r#"
-- A broken appointment with completed work; a completed appointment whose procedure is dated
-- another day; a claim without lines; a received claim without a received date or payment.
insert into raw.procedurelog values (106, 3, 13, 2, 2, '2026-05-01', 0, 1, 0);
update raw.procedurelog set "ProcDate" = '2026-04-21' where "ProcNum" = 104;
insert into raw.claim values (52, 2, 'U', '2026-06-10', null, null);
update raw.claim set "ClaimStatus" = 'R' where "ClaimNum" = 51;
insert into raw.procedurelog values (107, 3, 12, 2, 2, '2026-07-15', 0, 1, 0);
update raw.procedurelog set "AptNum" = 10 where "ProcNum" = 105;
"#;

const PLANT_VOL: &str = r#"
insert into raw.patient values (4, 4, 1, 0, 0, 0, 0, 0, 0, 0, '2026-01-01', '2026-01-01 08:00');
insert into raw.appointment values (16, 4, 1, 2, '2026-02-01 09:00'), (17, 4, 1, 2, '2026-02-02 09:00');
insert into raw.task values (6, 0, 9);
"#;

const PLANT_NN: &str = r#"
update raw.procedurelog set "ProcDate" = null where "ProcNum" in (103, 105);
update raw.procedurelog set "PatNum" = null where "ProcNum" = 105;
update raw.claim set "ClaimStatus" = 'R' where "ClaimNum" = 51;
"#;

const PLANT_UQ: &str = r#"
insert into raw.definition values (11, 10, 'Check', 'dup');
insert into raw.claimproc values (505, 100, 50, 1, 1, 4, 0, 0, '2026-04-01', 70, 0);
"#;

const PLANT_AV: &str = r#"
update raw.appointment set "AptStatus" = 4 where "AptNum" = 12;
update raw.claim set "ClaimStatus" = 'P' where "ClaimNum" = 51;
update raw.procedurelog set "ProcFee" = -5 where "ProcNum" = 104;
update raw.procedurelog set "ProcFee" = 12000 where "ProcNum" = 101;
insert into raw.definition values (12, 40, 'lowercase', ''), (13, 41, 'Forbidden', '');
"#;

const PLANT_SQL: &str = r#"
update raw.payment set "PayAmt" = 60 where "PayNum" = 90;
insert into raw.payment values (95, 2, 10, 0, '2026-07-01');
"#;

#[test]
fn orphaned_reference_both_ways() {
    both_ways("RI001", PLANT_RI);
}

#[test]
fn dates_out_of_order_both_ways() {
    both_ways("DT001", PLANT_DT);
}

#[test]
fn ledger_imbalance_both_ways() {
    both_ways("FB001", PLANT_FB);
}

#[test]
fn status_inconsistency_both_ways() {
    both_ways("ST001", PLANT_ST);
}

#[test]
fn row_count_out_of_range_both_ways() {
    both_ways("VOL001", PLANT_VOL);
}

#[test]
fn null_in_required_column_both_ways() {
    both_ways("NN001", PLANT_NN);
}

#[test]
fn duplicate_key_both_ways() {
    both_ways("UQ001", PLANT_UQ);
}

#[test]
fn value_not_accepted_both_ways() {
    both_ways("AV001", PLANT_AV);
}

#[test]
fn custom_query_both_ways() {
    both_ways("SQL001", PLANT_SQL);
}

/// Every plant at once, in the three human formats.
fn everything_planted(label: &str) -> TestDb {
    let db = practice(label);
    execute(&db, PLANT_RI);
    execute(&db, PLANT_SQL);
    execute(&db, PLANT_FB);
    db
}

#[test]
fn table_markdown_and_junit_reports() {
    let db = everything_planted("formats");
    for format in ["table", "markdown", "junit"] {
        let (status, stdout, stderr) = verify(&db, &["--format", format]);
        assert_eq!(status, Some(1), "{stderr}");
        insta::assert_snapshot!(format!("report_{format}"), stdout);
    }
    // Warnings alone do not fail the run.
    let (status, stdout, stderr) = verify(&db, &["--select", "RI001", "--format", "table"]);
    assert_eq!(status, Some(1), "{stdout}{stderr}");
    let clean = practice("warn_only");
    execute(
        &clean,
        "insert into raw.histappointment values (7, 888, 0, '2026-06-01 08:00');",
    );
    let (status, stdout, _) = verify(&clean, &["--select", "RI001"]);
    assert_eq!(status, Some(0), "a warning exits 0:\n{stdout}");
    assert!(
        stdout.contains("ri.inferred.histappointment.AptNum->appointment.AptNum"),
        "{stdout}"
    );
    assert!(stdout.ends_with("0 error findings, 1 warning\n"), "{stdout}");
}

#[test]
fn snapshot_drift_and_bless() {
    let db = practice("snapshot");
    let dir = scratch_dir("verify-snapshot");
    let file = dir.join("verify.txt");
    let file_arg = file.display().to_string();
    // Missing: drift (exit 1) with a diff that adds every line.
    let (status, stdout, stderr) = verify(&db, &["--snapshot", &file_arg]);
    assert_eq!(status, Some(1), "{stderr}");
    assert!(stdout.contains("+no findings"), "{stdout}");
    assert!(stderr.contains("--bless"), "{stderr}");
    // Bless writes it; the same data then matches.
    let (status, _, stderr) = verify(&db, &["--snapshot", &file_arg, "--bless"]);
    assert_eq!(status, Some(0), "{stderr}");
    let blessed = fs::read_to_string(&file).unwrap();
    assert!(blessed.starts_with("no findings\n"), "{blessed}");
    let (status, stdout, stderr) = verify(&db, &["--snapshot", &file_arg]);
    assert_eq!((status, stdout.as_str()), (Some(0), ""), "{stderr}");
    // Data changes: drift, shown as a unified diff of the report.
    execute(&db, PLANT_SQL);
    let (status, stdout, _) = verify(&db, &["--snapshot", &file_arg]);
    assert_eq!(status, Some(1));
    assert!(stdout.contains(&format!("--- a/{file_arg}")), "{stdout}");
    assert!(
        stdout.contains("-no findings") && stdout.contains("+| SQL001"),
        "{stdout}"
    );
}

/// One line on stderr, starting with `error:`, and exit 2.
fn assert_fails(result: (Option<i32>, String, String), expected: &[&str]) {
    let (status, stdout, stderr) = result;
    assert_eq!(status, Some(2), "stdout: {stdout}\nstderr: {stderr}");
    let line = stderr.trim_end();
    assert!(!line.contains('\n'), "one line expected: {stderr}");
    assert!(line.starts_with("error: "), "{stderr}");
    for part in expected {
        assert!(line.contains(part), "{part:?} missing from: {stderr}");
    }
}

fn verify_with_rules(db: &TestDb, files: &[(&str, &str)], extra: &[&str]) -> (Option<i32>, String, String) {
    let dir = scratch_dir("verify-rules");
    for (name, text) in files {
        fs::write(dir.join(name), text).unwrap();
    }
    let output = dentsynth()
        .args(["--quiet", "verify", "--database-url", &db.url, "--profile"])
        .arg(profile_dir())
        .arg("--no-fill")
        .arg("--rules")
        .arg(&dir)
        .args(["--no-default-rules", "--as-of", AS_OF])
        .args(extra)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    (output.status.code(), stdout, stderr)
}

#[test]
fn bad_inputs_exit_2_with_one_clear_line() {
    let db = practice("bad_inputs");
    // Malformed TOML: file and line.
    assert_fails(
        verify_with_rules(
            &db,
            &[(
                "broken.toml",
                "[[rule]]\nid = \"x\"\nkind = \"NN001\"\ntable = [\n",
            )],
            &[],
        ),
        &["broken.toml:5: "],
    );
    // An unknown column: file, line, the column and a suggestion.
    assert_fails(
        verify_with_rules(
            &db,
            &[(
                "columns.toml",
                "[[rule]]\nid = \"nn\"\nkind = \"NN001\"\ntable = \"claim\"\ncolumns = [\n  \"PatNum\",\n  \"DateRecieved\",\n]\n",
            )],
            &[],
        ),
        &[
            "columns.toml:7: unknown column \"DateRecieved\"",
            "did you mean \"DateReceived\"",
        ],
    );
    // A query that fails in the database names its own rule, even when it shares a scan with
    // others (two value checks on claim, one with a regex PostgreSQL rejects).
    assert_fails(
        verify_with_rules(
            &db,
            &[(
                "regex.toml",
                "[[rule]]\nid = \"fine\"\nkind = \"AV001\"\ntable = \"claim\"\ncolumn = \"ClaimStatus\"\npattern = \"^[A-Z]\"\n\n\
                 [[rule]]\nid = \"broken-regex\"\nkind = \"AV001\"\ntable = \"claim\"\ncolumn = \"PatNum\"\npattern = \"(\"\n",
            )],
            &[],
        ),
        &["broken-regex"],
    );
    // An unknown kind and an unknown table.
    assert_fails(
        verify_with_rules(
            &db,
            &[("kind.toml", "[[rule]]\nid = \"k\"\nkind = \"XX001\"\n")],
            &[],
        ),
        &["kind.toml:3: unknown check kind \"XX001\""],
    );
    assert_fails(
        verify_with_rules(
            &db,
            &[(
                "table.toml",
                "[[rule]]\nid = \"t\"\nkind = \"VOL001\"\ntable = \"patients\"\nmin = 1\n",
            )],
            &[],
        ),
        &[
            "table.toml:4: unknown table \"patients\"",
            "did you mean \"patient\"",
        ],
    );
    // An unknown --select.
    assert_fails(
        verify(&db, &["--select", "ZZ"]),
        &["--select \"ZZ\" matches no check kind"],
    );
    // An unreachable database (nothing listens on port 1).
    let output = dentsynth()
        .args([
            "--quiet",
            "verify",
            "--database-url",
            "postgres://u:secretpw@127.0.0.1:1/db",
            "--profile",
        ])
        .arg(profile_dir())
        .arg("--no-fill")
        .args([
            "--rules",
            &manifest_dir().join(RULES).display().to_string(),
            "--no-default-rules",
        ])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert_fails(
        (output.status.code(), stdout, stderr.clone()),
        &[
            "cannot connect to postgres://u:***@127.0.0.1:1/db",
            "connection refused",
        ],
    );
    assert!(!stderr.contains("secretpw"), "{stderr}");
    // A statement timeout.
    assert_fails(
        verify_with_rules(
            &db,
            &[(
                "slow.toml",
                "[[rule]]\nid = \"slow\"\nkind = \"SQL001\"\nsql = \"select 1 from pg_sleep(5)\"\n",
            )],
            &["--statement-timeout", "0.2"],
        ),
        &[
            "statement timeout in rule slow (",
            "slow.toml:2)",
            "--statement-timeout",
        ],
    );
    // A table the profile has but the database lacks.
    execute(&db, "drop table raw.task;");
    assert_fails(
        verify(&db, &["--select", "RI001"]),
        &["the database lacks tables that the rules check: task"],
    );
    // A schema that does not exist.
    assert_fails(
        verify(&db, &["--schema", "nope"]),
        &["schema \"nope\" does not exist"],
    );
}

/// A text fingerprint of everything in the database that verify could change.
fn fingerprint(db: &TestDb) -> String {
    let target = db.target.clone();
    support::block_on(move || async move {
        let mut connection = target.connect().await.unwrap();
        let tables: Vec<String> = sqlx::query_scalar(
            "select format('%I.%I', table_schema, table_name) from information_schema.tables
             where table_schema not in ('pg_catalog', 'information_schema') order by 1",
        )
        .fetch_all(&mut connection)
        .await
        .unwrap();
        let mut text = format!("tables: {tables:?}\n");
        for table in tables {
            let digest: String = sqlx::query_scalar(&format!(
                "select coalesce(md5(string_agg(t::text, '|' order by t::text)), '') from {table} t"
            ))
            .fetch_one(&mut connection)
            .await
            .unwrap();
            text.push_str(&format!("{table}: {digest}\n"));
        }
        let objects: Vec<String> = sqlx::query_scalar(
            "select format('%s %s', c.relkind, c.relname) from pg_class c join pg_namespace n on n.oid = c.relnamespace
             where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast') order by 1",
        )
        .fetch_all(&mut connection)
        .await
        .unwrap();
        text.push_str(&format!("objects: {objects:?}\n"));
        text
    })
}

#[test]
fn verify_never_writes() {
    let db = everything_planted("never_writes");
    execute(
        &db,
        r#"create function raw.sneaky() returns bigint language sql as
           $$ insert into raw.payment values (999, 1, 10, 1, '2026-01-01') returning "PayNum" $$;"#,
    );
    let before = fingerprint(&db);
    let (status, _, stderr) = verify(&db, &["--format", "json"]);
    assert_eq!(status, Some(1), "{stderr}");
    // A rule that tries to write is stopped by the read-only transaction, and says so.
    assert_fails(
        verify_with_rules(
            &db,
            &[(
                "write.toml",
                "[[rule]]\nid = \"writer\"\nkind = \"SQL001\"\nsql = \"select raw.sneaky()\"\n",
            )],
            &[],
        ),
        &[
            "rule writer (",
            "tried to write, and verify runs read-only",
            "read-only transaction",
        ],
    );
    assert_fails(
        verify_with_rules(
            &db,
            &[(
                "ddl.toml",
                "[[rule]]\nid = \"ddl\"\nkind = \"SQL001\"\nsql = \"select 1; create table raw.x (a int)\"\n",
            )],
            &[],
        ),
        &["rule ddl ("],
    );
    assert_eq!(before, fingerprint(&db), "verify changed the database");
}

#[test]
fn the_built_in_rules_run_on_the_opendental_schema() {
    // The built-in profile and rule packs against the real 422-table schema, empty: every query
    // must be valid SQL there, and an empty database must fail the dbt contract's volume windows.
    let db = TestDb::new("builtin_rules");
    execute(&db, &support::opendental_fixture_sql());
    let output = dentsynth()
        .current_dir(manifest_dir())
        .args(["--quiet", "verify", "--database-url", &db.url, "--as-of", AS_OF])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stdout.contains("dbt.vol.patient"), "{stdout}");
    // The summary's rule count follows the built-in profile's relationships; the findings do not.
    let (table, summary) = stdout.trim_end().rsplit_once('\n').unwrap();
    assert!(
        summary.ends_with(" rules, 12 error findings, 4 warnings"),
        "{summary}"
    );
    insta::assert_snapshot!("builtin_rules_on_empty_opendental", table);
}
