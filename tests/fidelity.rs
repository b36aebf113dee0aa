//! fidelity against a real PostgreSQL: the built-in demo generated at scale 0.2 (as-of 2026-06-30)
//! is measured (the report's structure, and no judged statistic out of tolerance; the scale-1
//! default demo is held to the same in `tests/demo.rs`); then the same demo is set exactly on three targets and
//! tampered with, and fidelity must report exactly those three statistics and exit 1; and bad
//! inputs end with exit 2 and one line.
//!
//! One generated database serves the first test (generate is the slow part: 5-10 s in debug).

use crate::support;

use std::collections::BTreeSet;

use dentsynth::generate::plan;
use serde_json::Value;
use support::{dentsynth, text, TestDb};

fn execute(db: &TestDb, sql: &str) {
    let target = db.target.clone();
    let sql = sql.to_string();
    support::block_on(move || async move {
        let mut connection = target.connect().await.unwrap();
        sqlx::raw_sql(&sql).execute(&mut connection).await.unwrap();
    });
}

fn generate(db: &TestDb) {
    let output = dentsynth()
        .args([
            "--quiet",
            "generate",
            "--database-url",
            &db.url,
            "--scale",
            "0.2",
            "--as-of",
            "2026-06-30",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output).1);
}

/// `dentsynth fidelity` on `db`; returns the exit status, stdout and stderr.
fn fidelity(db: &TestDb, extra: &[&str]) -> (Option<i32>, String, String) {
    let output = dentsynth()
        .args(["--quiet", "fidelity", "--database-url", &db.url])
        .args(extra)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    (output.status.code(), stdout, stderr)
}

/// The JSON report; the exit status must agree with the statistics out of tolerance.
fn report(db: &TestDb) -> Value {
    let (status, stdout, stderr) = fidelity(db, &["--format", "json"]);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    let outside = report["summary"]["outside"].as_u64().unwrap();
    assert_eq!(status, Some(if outside > 0 { 1 } else { 0 }), "{stderr}");
    report
}

fn statistics(report: &Value) -> &Vec<Value> {
    report["statistics"].as_array().unwrap()
}

/// `table.column statistic [of parent]`, as the engine labels it.
fn label(statistic: &Value) -> String {
    let mut label = match statistic["column"].as_str() {
        Some(column) => format!(
            "{}.{} {}",
            statistic["table"].as_str().unwrap(),
            column,
            statistic["statistic"].as_str().unwrap()
        ),
        None => format!(
            "{} {}",
            statistic["table"].as_str().unwrap(),
            statistic["statistic"].as_str().unwrap()
        ),
    };
    if let Some(parent) = statistic["parent"].as_str() {
        label.push_str(&format!(" of {parent}"));
    }
    label
}

fn find<'a>(report: &'a Value, wanted: &str) -> &'a Value {
    statistics(report)
        .iter()
        .find(|s| label(s) == wanted)
        .unwrap_or_else(|| panic!("no statistic {wanted} in the report"))
}

fn outside(report: &Value) -> BTreeSet<String> {
    statistics(report)
        .iter()
        .filter(|s| s["verdict"] == "outside")
        .map(label)
        .collect()
}

fn describe(statistic: &Value) -> String {
    format!(
        "{}: target {}, achieved {}, deviation {}, tolerance {}, n {}",
        label(statistic),
        statistic["target"],
        statistic["achieved"],
        statistic["deviation"],
        statistic["tolerance"],
        statistic["population"]
    )
}

#[test]
fn the_built_in_demo_is_measured_and_tampering_is_caught() {
    let db = TestDb::new("fidelity_demo");
    generate(&db);

    // (a) The untouched demo: the report's structure.
    let pristine = report(&db);
    let summary = &pristine["summary"];
    let count = |key: &str| summary[key].as_u64().unwrap();
    assert_eq!(
        count("within") + count("outside") + count("adapted") + count("not_judged"),
        count("statistics")
    );
    assert_eq!(count("statistics") as usize, statistics(&pristine).len());
    assert_eq!(pristine["scale"], 0.2);
    assert_eq!(pristine["scale_source"], "manifest");
    eprintln!(
        "fidelity of the built-in demo at scale 0.2: {}",
        serde_json::to_string(summary).unwrap()
    );
    let misses: Vec<String> = statistics(&pristine)
        .iter()
        .filter(|s| s["verdict"] == "outside")
        .map(describe)
        .collect();
    assert!(
        misses.is_empty(),
        "the built-in demo at scale 0.2 is out of tolerance:\n{}",
        misses.join("\n")
    );

    // Every table with a row target has its volume judged against the plan's target.
    let profile = dentsynth::profile::builtin().unwrap();
    let plan = plan::build(&profile, 0.2);
    let volumes: Vec<&Value> = statistics(&pristine)
        .iter()
        .filter(|s| s["kind"] == "volume")
        .collect();
    let planned: Vec<&plan::TablePlan> = plan.tables.iter().filter(|t| t.rows > 0).collect();
    assert_eq!(volumes.len(), planned.len());
    for table in planned {
        let volume = find(&pristine, &format!("{} rows", table.name));
        assert_eq!(volume["target"].as_f64().unwrap(), table.rows as f64);
        assert_ne!(volume["verdict"], "not_judged", "{}", describe(volume));
    }
    // Mixes, rates, calendars and relationships are all there; the big ones are judged; the
    // built-in profile's statistics are authored.
    let judged = |wanted: &str| {
        let statistic = find(&pristine, wanted);
        assert_ne!(statistic["verdict"], "not_judged", "{}", describe(statistic));
        assert_eq!(statistic["origin"], "authored", "{}", describe(statistic));
    };
    judged("appointment.ClinicNum mix");
    judged("appointment.DateTimeArrived nulls");
    judged("appointment.ProvBarText sentinel ''");
    judged("histappointment.AptNum children per parent of appointment.AptNum");
    let hours = find(&pristine, "appointment.AptDateTime hour mix");
    assert_eq!(hours["kind"], "mix");
    assert_eq!(hours["target"].as_object().unwrap().len(), 24);
    find(&pristine, "appointment.AptDateTime weekday mix");
    find(
        &pristine,
        "procedurelog.PatNum parents without children of patient.PatNum",
    );
    // Statistics over too few rows are reported as not judged, with the rows they need.
    let unjudged: Vec<&Value> = statistics(&pristine)
        .iter()
        .filter(|s| s["verdict"] == "not_judged")
        .collect();
    assert!(!unjudged.is_empty());
    for statistic in unjudged {
        assert!(
            statistic["population"].as_u64() < statistic["required"].as_u64(),
            "{}",
            describe(statistic)
        );
    }

    // The table: the summary line last; --all adds the passing and unjudged statistics.
    let (_, table, _) = fidelity(&db, &[]);
    let last = table.lines().last().unwrap();
    assert!(
        last.starts_with(&format!("{} statistics: ", count("statistics"))),
        "{table}"
    );
    assert_eq!(
        table.lines().filter(|l| l.starts_with("| ")).count() as u64,
        count("outside") + u64::from(count("outside") > 0),
        "{table}"
    );
    let (_, all, _) = fidelity(&db, &["--all"]);
    assert!(
        all.contains("| ok ") && all.contains("not judged (needs "),
        "{all}"
    );
    // --table keeps that table's statistics and the relationships that touch it.
    let (_, one, stderr) = fidelity(&db, &["--table", "histappointment", "--format", "json"]);
    let one: Value = serde_json::from_str(&one).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    assert!(!statistics(&one).is_empty());
    assert!(statistics(&one).iter().all(|s| s["table"] == "histappointment"));

    // (b) Tampering. First set three statistics exactly on target (the status mix by rank, an
    // always-empty text column) and leave a generic table's exact volume, so that the baseline has
    // them within tolerance whatever the generator's tuning; then break them.
    execute(
        &db,
        r#"update raw.appointment a set "AptStatus" = case
               when r.q < 78 then 1 when r.q < 766 then 2 when r.q < 832 then 3 when r.q < 862 then 5 else 6 end,
             "ProvBarText" = ''
           from (select "AptNum", (row_number() over (order by "AptNum") - 1) * 1000 / count(*) over () as q
                 from raw.appointment) r
           where r."AptNum" = a."AptNum";"#,
    );
    let baseline = report(&db);
    let tampered_statistics = [
        "appointment.AptStatus mix",
        "appointment.ProvBarText sentinel ''",
        "sheetfield rows",
    ];
    for wanted in tampered_statistics {
        let statistic = find(&baseline, wanted);
        assert_eq!(statistic["verdict"], "within", "{}", describe(statistic));
    }
    execute(
        &db,
        r#"update raw.appointment set "AptStatus" = 5 where "AptStatus" = 2 and "AptNum" % 2 = 0;
           update raw.appointment set "ProvBarText" = 'x' where "AptNum" % 5 = 0;
           delete from raw.sheetfield where "SheetFieldNum" % 10 < 3;"#,
    );
    let tampered = report(&db);
    let (before, after) = (outside(&baseline), outside(&tampered));
    let appeared: BTreeSet<String> = after.difference(&before).cloned().collect();
    let disappeared: BTreeSet<String> = before.difference(&after).cloned().collect();
    assert_eq!(
        appeared,
        tampered_statistics.iter().map(|s| s.to_string()).collect(),
        "newly out of tolerance"
    );
    assert!(disappeared.is_empty(), "{disappeared:?}");
    let status = find(&tampered, "appointment.AptStatus mix");
    assert!(
        status["deviation"].as_f64().unwrap() > 0.3,
        "{}",
        describe(status)
    );
    assert!(
        status["achieved"]["5"].as_f64().unwrap() > 0.3,
        "{}",
        describe(status)
    );
    let empty = find(&tampered, "appointment.ProvBarText sentinel ''");
    assert!(
        (empty["achieved"].as_f64().unwrap() - 0.8).abs() < 0.001,
        "{}",
        describe(empty)
    );
    let sheets = find(&tampered, "sheetfield rows");
    let target = sheets["target"].as_f64().unwrap();
    let achieved = sheets["achieved"].as_f64().unwrap();
    assert!((achieved / target - 0.7).abs() < 0.01, "{}", describe(sheets));
    let (status, table, _) = fidelity(&db, &[]);
    assert_eq!(status, Some(1));
    assert!(
        table.contains("| sheetfield ") && table.contains("| AptStatus "),
        "{table}"
    );
}

fn assert_fails(result: (Option<i32>, String, String), expected: &[&str]) {
    let (status, stdout, stderr) = result;
    assert_eq!(status, Some(2), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    for part in expected {
        assert!(stderr.contains(part), "expected {part:?} in: {stderr}");
    }
}

#[test]
fn bad_inputs_exit_2_with_one_line() {
    let db = TestDb::new("fidelity_bad_inputs");
    execute(
        &db,
        "create schema raw; create table raw.patient (\"PatNum\" bigint);",
    );
    // No manifest and no --scale.
    assert_fails(
        fidelity(&db, &[]),
        &["schema \"raw\" has no dentsynth manifest", "pass --scale"],
    );
    // An unknown schema.
    assert_fails(
        fidelity(&db, &["--schema", "nope", "--scale", "1"]),
        &["schema \"nope\" does not exist", "--schema"],
    );
    // A schema that is not a demo of the profile.
    assert_fails(
        fidelity(&db, &["--scale", "1"]),
        &["the database lacks tables of the profile: ", "appointment"],
    );
    // A table the profile does not have, and a profile folder that is not one.
    assert_fails(
        fidelity(&db, &["--scale", "1", "--table", "patients"]),
        &["--table \"patients\" is not a table of profile opendental"],
    );
    let missing = support::scratch_dir("fidelity-no-profile");
    assert_fails(
        fidelity(
            &db,
            &[
                "--scale",
                "1",
                "--profile",
                &missing.join("nothing").display().to_string(),
            ],
        ),
        &["nothing"],
    );
    // A bad --scale is refused by the argument parser (exit 2 as well).
    let (status, _, stderr) = fidelity(&db, &["--scale", "0"]);
    assert_eq!(status, Some(2), "{stderr}");
}
