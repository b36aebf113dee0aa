//! introspect against a real PostgreSQL: structure round trip, privacy canaries, known
//! distributions, relationship confirmation, a SELECT-only role, reference tables, bad inputs, --check.

use crate::support;

use std::fs;
use std::path::Path;

use dentsynth::profile::{self, Origin, Profile, Verdict};
use support::{all_text_under, dentsynth, scratch_dir, text, TestDb};

/// A small "production" with canaries in identifying columns and known distributions.
const PRODUCTION: &str = r#"
create schema raw;
create table raw.patient (
    "PatNum" int8 primary key, "LName" varchar(100), "FName" varchar(100), "Email" varchar(255),
    "HmPhone" varchar(30), "SSN" varchar(12), "Birthdate" date, "Gender" int2, "PatStatus" int2,
    "Address" varchar(100), "Misc" text, "ChartNumber" varchar(20), "Guarantor" int8, "Fee" float8,
    "Zip" varchar(10), "Tier" varchar(10));
insert into raw.patient
select g, 'CANARYLNAME' || (g % 3), 'CANARYFNAME', 'canary' || g || '@canary.test', '555-CANARY-' || g,
       'SSNCANARY' || (g % 2), date '1980-01-01' + (g % 7000), (g % 2)::int2,
       (case when g % 10 < 6 then 0 when g % 10 < 9 then 1 else 2 end)::int2,
       'CANARYADDR', case when g % 20 = 0 then 'CANARYMISC' else 'misc-' || g end, 'CANARYCHART',
       ((g - 1) / 3) * 3 + 1, (g % 1000)::float8, 'CANARYZIP',
       case when g % 4 = 0 then 'gold' when g = 7 then 'rare' else 'basic' end
from generate_series(1, 3000) g;
create table raw.appointment (
    "AptNum" int8 primary key, "PatNum" int8, "AptStatus" int2, "AptDateTime" timestamp, "Note" text);
insert into raw.appointment
select g, case when g % 50 = 0 then 100000 + g else (g % 3000) + 1 end,
       (case when g % 10 < 7 then 2 when g % 10 < 9 then 1 else 5 end)::int2,
       timestamp '2024-01-01 08:00' + (g % 365) * interval '1 day' + (g % 9) * interval '1 hour',
       'CANARYNOTE ' || g
from generate_series(1, 9000) g;
create table raw.proc ("ProcNum" int8 primary key, "AptNum" int8, "ProcDate" date);
insert into raw.proc
select g, g, (timestamp '2024-01-01 08:00' + (g % 365) * interval '1 day')::date + (g % 5)
from generate_series(1, 4000) g;
create table raw.labcase ("LabCaseNum" int8 primary key, "PatNum" int8, "AptNum" int8);
insert into raw.labcase
select g, case when g % 2 = 0 then g + 100000 else g end, case when g % 5 = 0 then g else 0 end
from generate_series(1, 200) g;
create table raw.definition ("DefNum" int8 primary key, "Category" int2, "ItemName" varchar(255), "ItemValue" varchar(255));
insert into raw.definition values (1, 1, 'Discount', '-'), (2, 1, 'Writeoff', null), (3, 10, 'Check', 'O''Brien; "quoted"');
"#;

fn introspect(db: &TestDb, out: &Path, extra: &[&str]) -> (Option<i32>, String, String) {
    let output = dentsynth()
        .args(["introspect", "--database-url", &db.url, "--out"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    (output.status.code(), stdout, stderr)
}

fn production(label: &str) -> TestDb {
    let db = TestDb::new(label);
    support::block_on({
        let target = db.target.clone();
        move || async move {
            let mut connection = target.connect().await.unwrap();
            sqlx::raw_sql(PRODUCTION).execute(&mut connection).await.unwrap();
        }
    });
    db
}

fn relationship<'p>(
    profile: &'p Profile,
    child: &str,
    column: &str,
    parent: &str,
) -> &'p profile::Relationship {
    profile
        .relationships
        .iter()
        .find(|r| r.child_table == child && r.child_column == column && r.parent_table == parent)
        .unwrap_or_else(|| panic!("no relationship {child}.{column} -> {parent}"))
}

#[test]
fn no_canary_leaves_and_known_distributions_come_back() {
    let db = production("privacy");
    let out = scratch_dir("privacy").join("profile");
    let (code, stdout, stderr) = introspect(&db, &out, &["--reference-table", "definition"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("wrote"), "{stdout}");

    let everything = all_text_under(&out);
    for canary in ["CANARY", "canary", "555-", "SSNCANARY", "misc-", "1980-", "1999-"] {
        assert!(!everything.contains(canary), "{canary} leaked into the profile");
    }

    let profile = profile::load(&out).unwrap();
    let patient = profile.table("patient").unwrap();
    assert_eq!(patient.stats.row_count, 3000);
    let columns = &patient.stats.columns;
    for identifying in [
        "LName",
        "FName",
        "Email",
        "HmPhone",
        "SSN",
        "Address",
        "Misc",
        "ChartNumber",
        "Zip",
    ] {
        let stats = &columns[identifying];
        assert!(stats.identifying, "{identifying} should be identifying");
        assert!(
            stats.categories.is_none() && stats.numeric.is_none() && stats.distinct.is_none(),
            "{identifying}"
        );
        assert!(
            stats.length.is_some(),
            "{identifying} keeps its length statistics"
        );
    }
    // The mix of PatStatus: 60 / 30 / 10.
    let status = columns["PatStatus"].categories.as_ref().unwrap();
    assert!((status.frequencies["0"] - 0.6).abs() < 1e-6);
    assert!((status.frequencies["1"] - 0.3).abs() < 1e-6);
    assert!((status.frequencies["2"] - 0.1).abs() < 1e-6);
    // A small categorical text column: frequent values listed, the value seen once pooled.
    let tier = columns["Tier"].categories.as_ref().unwrap();
    assert!(!columns["Tier"].identifying);
    assert!(tier.frequencies.contains_key("gold") && tier.frequencies.contains_key("basic"));
    assert!(!tier.frequencies.contains_key("rare") && tier.other > 0.0);
    // Fee is uniform on 0..999 with 0 as a sentinel in 3 rows of 3000.
    let fee = columns["Fee"].numeric.as_ref().unwrap();
    assert!((fee.p50 - 500.0).abs() < 5.0, "{fee:?}");
    assert!((fee.mean - 500.0).abs() < 5.0, "{fee:?}");
    assert!((columns["Fee"].sentinels["0"] - 0.001).abs() < 1e-6);
    // Birth dates: age bands only.
    let birth = &columns["Birthdate"];
    assert!(birth.identifying && birth.temporal.is_none());
    let bands = birth.age_bands.as_ref().unwrap();
    assert!(!bands.is_empty());
    assert!((bands.values().sum::<f64>() - 1.0).abs() < 1e-3);

    // Appointments: status mix, dates by hour and month.
    let appointment = profile.table("appointment").unwrap();
    let apt = &appointment.stats.columns;
    let status = apt["AptStatus"].categories.as_ref().unwrap();
    assert!((status.frequencies["2"] - 0.7).abs() < 1e-6);
    let temporal = apt["AptDateTime"].temporal.as_ref().unwrap();
    assert_eq!(temporal.by_hour[8..17].iter().sum::<u64>(), 9000);
    assert_eq!(temporal.by_month_of_year.iter().sum::<u64>(), 9000);
    assert_eq!(temporal.min.as_deref(), Some("2024-01-01 08:00:00"));
    assert!(apt["Note"].identifying);

    // The reference table is copied exactly, quotes and NULL included.
    let reference = profile.table("definition").unwrap().reference.as_ref().unwrap();
    assert_eq!(
        reference.columns,
        vec!["DefNum", "Category", "ItemName", "ItemValue"]
    );
    assert_eq!(reference.rows.len(), 3);
    assert_eq!(
        reference.rows[1],
        vec![Some("2".into()), Some("1".into()), Some("Writeoff".into()), None]
    );
    assert_eq!(reference.rows[2][3].as_deref(), Some("O'Brien; \"quoted\""));
}

#[test]
fn inferred_relationships_are_confirmed_or_rejected_by_counts() {
    let db = production("relationships");
    let out = scratch_dir("relationships").join("profile");
    let (code, _, stderr) = introspect(&db, &out, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    let profile = profile::load(&out).unwrap();
    assert!(!profile.source.opendental, "a small schema is not OpenDental");

    // 2% planted orphans: confirmed, with the numbers.
    let apt = relationship(&profile, "appointment", "PatNum", "patient");
    assert_eq!(apt.origin, Origin::NameMatch);
    assert_eq!(apt.verdict, Verdict::Confirmed);
    let evidence = apt.evidence.as_ref().unwrap();
    assert_eq!(evidence.rows_with_value, 9000);
    assert_eq!(evidence.orphans, 180);
    assert!((evidence.inclusion_ratio - 0.98).abs() < 1e-9);
    // Every patient gets 3 slots; the orphaned slots are all of 60 patients' (g = 50, 100, ... mod 3000).
    let per_parent = apt.children_per_parent.as_ref().unwrap();
    assert_eq!(
        (per_parent.min, per_parent.mean, per_parent.max),
        (3.0, 3.0, 3.0),
        "{per_parent:?}"
    );
    assert_eq!(apt.parents_without_children, Some(0.02));

    // 50% orphans: rejected.
    let lab = relationship(&profile, "labcase", "PatNum", "patient");
    assert_eq!(lab.verdict, Verdict::Rejected);
    assert_eq!(lab.evidence.as_ref().unwrap().orphans, 100);

    // The "none" sentinel is counted apart, not as orphans.
    let lab_apt = relationship(&profile, "labcase", "AptNum", "appointment");
    let evidence = lab_apt.evidence.as_ref().unwrap();
    assert_eq!(
        (evidence.rows_with_value, evidence.rows_none, evidence.orphans),
        (40, 160, 0)
    );
    assert_eq!(lab_apt.verdict, Verdict::Confirmed);

    // The lag between a procedure's date and its appointment's: 0..4 days, mean 2.
    let proc = relationship(&profile, "proc", "AptNum", "appointment");
    let lag = proc.lag.as_ref().unwrap();
    assert_eq!(
        (lag.child_column.as_str(), lag.parent_column.as_str()),
        ("ProcDate", "AptDateTime")
    );
    assert_eq!((lag.days.min, lag.days.max), (0.0, 4.0));
    assert!((lag.days.mean - 2.0).abs() < 0.01);
}

#[test]
fn sampled_tables_say_so_and_stay_within_sampling_error() {
    let db = production("sampled");
    let out = scratch_dir("sampled").join("profile");
    let (code, _, stderr) = introspect(&db, &out, &["--sample-rows", "2000"]);
    assert_eq!(code, Some(0), "{stderr}");
    let profile = profile::load(&out).unwrap();
    assert_eq!(profile.settings.sample_rows, Some(2000));
    let appointment = profile.table("appointment").unwrap();
    assert_eq!(appointment.stats.row_count, 9000, "the row count stays exact");
    let percent = appointment.stats.sample_percent.unwrap();
    assert!((percent - 22.2222).abs() < 0.01, "{percent}");
    let status = appointment.stats.columns["AptStatus"]
        .categories
        .as_ref()
        .unwrap();
    assert!((status.frequencies["2"] - 0.7).abs() < 0.05, "{status:?}");
    assert!(profile
        .table("definition")
        .unwrap()
        .stats
        .sample_percent
        .is_none());
}

#[test]
fn a_select_only_role_succeeds_and_the_source_is_unchanged() {
    let db = production("readonly");
    let role = format!("reader_{}", std::process::id());
    support::block_on({
        let target = db.target.clone();
        let role = role.clone();
        move || async move {
            let mut connection = target.connect().await.unwrap();
            let sql = format!(
                "drop role if exists {role}; create role {role} login password 'readerpw';
                 grant usage on schema raw to {role}; grant select on all tables in schema raw to {role};"
            );
            sqlx::raw_sql(&sql).execute(&mut connection).await.unwrap();
        }
    });
    let fingerprint = "select md5(string_agg(t::text, ',' order by t::text)) from (
        select 'p' || p::text as t from raw.patient p union all select 'a' || a::text from raw.appointment a
        union all select c.relname::text || c.relkind::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'raw') t";
    let before = support::block_on({
        let db_target = db.target.clone();
        move || async move {
            let mut connection = db_target.connect().await.unwrap();
            sqlx::query_scalar::<_, String>(fingerprint)
                .fetch_one(&mut connection)
                .await
                .unwrap()
        }
    });
    let out = scratch_dir("readonly").join("profile");
    let output = dentsynth()
        .args([
            "introspect",
            "--database-url",
            &db.url_as(&role, "readerpw"),
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let profile = profile::load(&out).unwrap();
    assert_eq!(profile.table("patient").unwrap().stats.row_count, 3000);
    // PostgreSQL 15 lets every role read pg_control_system(): the identifier is recorded when visible.
    let superuser_view = support::block_on({
        let target = db.target.clone();
        move || async move {
            let mut connection = target.connect().await.unwrap();
            sqlx::query_scalar::<_, String>("select system_identifier::text from pg_control_system()")
                .fetch_one(&mut connection)
                .await
                .unwrap()
        }
    });
    assert_eq!(profile.source.system_identifier, Some(superuser_view));
    let after = support::block_on({
        let db_target = db.target.clone();
        move || async move {
            let mut connection = db_target.connect().await.unwrap();
            sqlx::query_scalar::<_, String>(fingerprint)
                .fetch_one(&mut connection)
                .await
                .unwrap()
        }
    });
    assert_eq!(before, after, "introspect changed the source");

    // Permission denied on one table: a clear error, exit 2, and no profile on disk.
    support::block_on({
        let target = db.target.clone();
        let role = role.clone();
        move || async move {
            let mut connection = target.connect().await.unwrap();
            sqlx::raw_sql(&format!("revoke select on raw.labcase from {role}"))
                .execute(&mut connection)
                .await
                .unwrap();
        }
    });
    let denied_out = scratch_dir("denied").join("profile");
    let output = dentsynth()
        .args([
            "introspect",
            "--database-url",
            &db.url_as(&role, "readerpw"),
            "--out",
        ])
        .arg(&denied_out)
        .output()
        .unwrap();
    let (_, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("permission denied") && stderr.contains("labcase"),
        "{stderr}"
    );
    let errors: Vec<&str> = stderr.lines().filter(|line| line.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        stderr.trim_end().ends_with(errors[0]),
        "the error is the last line: {stderr}"
    );
    assert!(!denied_out.exists(), "no partial profile");
    assert!(!stderr.contains("readerpw"));
}

#[test]
fn a_table_with_a_patient_key_is_refused_as_reference() {
    let db = production("refused");
    let out = scratch_dir("refused").join("profile");
    let (code, _, stderr) = introspect(&db, &out, &["--reference-table", "appointment"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("reference table \"appointment\" refused") && stderr.contains("PatNum"),
        "{stderr}"
    );
    assert!(!out.exists());
    let (code, _, stderr) = introspect(
        &db,
        &out,
        &["--reference-table", "definition", "--reference-max-rows", "2"],
    );
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--reference-max-rows"), "{stderr}");
    let (code, _, stderr) = introspect(&db, &out, &["--reference-table", "nosuchtable"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("no such table"), "{stderr}");
    assert!(!out.exists());
}

#[test]
fn bad_inputs_exit_2_and_leave_nothing() {
    let db = production("badinputs");
    let dir = scratch_dir("badinputs");
    let out = dir.join("profile");
    // Missing schema.
    let (code, _, stderr) = introspect(&db, &out, &["--schema", "nope"]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("schema \"nope\" does not exist"), "{stderr}");
    // Unreachable host.
    let output = dentsynth()
        .args([
            "introspect",
            "--database-url",
            "postgres://u:pw@127.0.0.1:1/x",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output).1.contains("connection refused"));
    // An unwritable --out: a path below a regular file.
    fs::write(dir.join("file"), "").unwrap();
    let (code, _, stderr) = introspect(&db, &dir.join("file/profile"), &[]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("cannot write to"), "{stderr}");
    // No database at all.
    let output = dentsynth()
        .args(["introspect", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output).1.contains("--database-url"));
    assert!(!out.exists(), "nothing may be written");
    let leftovers: Vec<_> = fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(
        leftovers,
        vec![std::ffi::OsString::from("file")],
        "no staging folders left"
    );
}

#[test]
fn check_mode_passes_when_unchanged_and_diffs_on_drift() {
    let db = production("check");
    let out = scratch_dir("check").join("profile");
    let (code, _, stderr) = introspect(&db, &out, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, _, stderr) = introspect(&db, &out, &["--check"]);
    assert_eq!(code, Some(0), "{stderr}");
    // The source changes: one more gold patient.
    support::block_on({
        let target = db.target.clone();
        move || async move {
            let mut connection = target.connect().await.unwrap();
            sqlx::raw_sql("update raw.patient set \"PatStatus\" = 2 where \"PatNum\" <= 300")
                .execute(&mut connection)
                .await
                .unwrap();
        }
    });
    let (code, stdout, stderr) = introspect(&db, &out, &["--check"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stdout.contains("--- a/tables/patient.json") && stdout.contains("+++ b/tables/patient.json"),
        "{stdout}"
    );
    assert!(stderr.contains("without --check"), "{stderr}");
}

#[test]
fn the_structure_round_trips_through_a_profile() {
    let source = TestDb::new("roundtrip_source");
    let copy = TestDb::new("roundtrip_copy");
    let sql = support::opendental_fixture_sql();
    support::block_on({
        let target = source.target.clone();
        move || async move {
            let mut connection = target.connect().await.unwrap();
            sqlx::raw_sql(&sql).execute(&mut connection).await.unwrap();
        }
    });
    let dir = scratch_dir("roundtrip");
    let (code, _, stderr) = introspect(&source, &dir.join("a"), &[]);
    assert_eq!(code, Some(0), "{stderr}");
    let first = profile::load(&dir.join("a")).unwrap();
    assert_eq!(first.tables.len(), 422);
    assert!(first.source.opendental);
    assert!(first
        .sequences
        .iter()
        .any(|s| s.owned_by.as_deref() == Some("etl_load_status.id")));

    let script = dentsynth::generate::schema::full_script(&first, "raw");
    support::block_on({
        let target = copy.target.clone();
        move || async move {
            let mut connection = target.connect().await.unwrap();
            sqlx::raw_sql(&script).execute(&mut connection).await.unwrap();
        }
    });
    let (code, _, stderr) = introspect(&copy, &dir.join("b"), &[]);
    assert_eq!(code, Some(0), "{stderr}");
    let second = profile::load(&dir.join("b")).unwrap();
    assert_eq!(first.sequences, second.sequences);
    for (name, table) in &first.tables {
        assert_eq!(
            table.structure, second.tables[name].structure,
            "structure of {name} differs"
        );
    }
    assert_eq!(first.relationships, second.relationships);
}

#[test]
fn the_built_in_profile_is_up_to_date() {
    // `introspect --check` on the fixture, exactly as introspection/opendental/README.md builds it.
    let db = TestDb::named("opendental_fixture");
    let sql = support::opendental_fixture_sql();
    support::block_on({
        let target = db.target.clone();
        move || async move {
            let mut connection = target.connect().await.unwrap();
            sqlx::raw_sql(&sql).execute(&mut connection).await.unwrap();
        }
    });
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = root.join("introspection/opendental");
    let output = dentsynth()
        .current_dir(root)
        .args([
            "introspect",
            "--database-url",
            &db.url,
            "--name",
            "opendental",
            "--fixture",
            "--out",
        ])
        .arg(&out)
        .arg("--calibration")
        .arg(out.join("calibration/calibration.toml"))
        .arg("--check")
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert_eq!(
        output.status.code(),
        Some(0),
        "the built-in profile drifted; rebuild it as introspection/opendental/README.md says\n{stderr}\n{}",
        stdout.chars().take(4000).collect::<String>()
    );
}
