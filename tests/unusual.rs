//! The "unusual production": a profile introspected from a small planted production with unusual
//! mixes yields a demo with those mixes, within the fidelity tolerances.
//!
//! 1. The built-in demo (scale 0.3, seed 7) is generated into a database and made unusual with SQL:
//!    many broken (5) and unscheduled-list (3) appointments and no planned (6) ones, a Tuesday to
//!    Saturday practice (Monday visits moved to the Saturday before), patient payments on cheques and
//!    Care Credit instead of cards, another procedure code mix, appointments booked 2-4 days ahead,
//!    a third of the commlog and two thirds of the sheet fields gone, and the perio charts and tasks
//!    emptied.
//! 2. `introspect --reference-tables opendental` reads it into a profile.
//! 3. `generate --profile` fills a demo from it at scale 1 (the planted sizes); the emptied tables,
//!    and the reference rows introspect did not copy (fee, claimform, program, and the 11 catalogs:
//!    allergydef ... zipcode), come from the built-in profile.
//! 4. `fidelity` judges the planted statistics within tolerance, and the demo really is unusual
//!    (far from the built-in profile), so the test cannot pass by accident.
//! 5. `verify` runs on the demo: its summary is printed; referential integrity and every
//!    error-level rule must hold.
//!
//! What the simulation does not reproduce yet is printed, not asserted (see the end of the test).

use crate::support;

use std::path::Path;
use std::time::Instant;

use serde_json::Value;
use support::{dentsynth, scratch_dir, text, TestDb};

/// The planted changes. Every statement keeps the data plausible for introspect.
const PLANT: &str = r#"
-- Status: every planned (6) visit and one completed (2) visit in eight are broken (5) or on the
-- unscheduled list (3).
update raw.appointment set "AptStatus" = case when "AptStatus" = 6 then 5 else 3 end
 where "AptStatus" = 6 or ("AptStatus" = 2 and "AptNum" % 8 = 0);
-- A Tuesday to Saturday practice: Monday visits move to the Saturday before, at the same time.
update raw.appointment set "AptDateTime" = "AptDateTime" - interval '2 days'
 where extract(isodow from "AptDateTime") = 1;
-- Patient payments: 90% cheques (DefNum 69), 10% Care Credit (391), both payment types (category 10).
update raw.payment set "PayType" = case when "PayNum" % 10 < 9 then 69 else 391 end;
-- Procedure codes: two thirds of the most frequent code become code 1.
update raw.procedurelog set "CodeNum" = 1 where "CodeNum" = 24 and "ProcNum" % 3 <> 0;
-- A short-notice practice: every past appointment was booked 2 to 4 days ahead (the booked future
-- ones keep their dates and booking days).
update raw.appointment
   set "SecDateTEntry" = "AptDateTime" - interval '1 day' * (2 + "AptNum" % 3)
 where "AptDateTime" >= '1900-01-02' and "AptDateTime" < '2026-06-30';
-- Volumes.
delete from raw.commlog where "CommlogNum" % 3 = 0;
delete from raw.sheetfield where "SheetFieldNum" % 3 <> 0;
-- A practice without perio charts or tasks.
truncate raw.periomeasure, raw.perioexam, raw.taskunread, raw.taskhist, raw.task;
"#;

/// The tables the plant empties: the built-in profile fills them.
const EMPTIED: [&str; 5] = ["perioexam", "periomeasure", "task", "taskhist", "taskunread"];

fn execute(db: &TestDb, sql: &str) {
    let target = db.target.clone();
    let sql = sql.to_string();
    support::block_on(move || async move {
        let mut connection = target.connect().await.unwrap();
        sqlx::raw_sql(&sql).execute(&mut connection).await.unwrap();
    });
}

fn count(db: &TestDb, sql: &str) -> i64 {
    let target = db.target.clone();
    let sql = sql.to_string();
    support::block_on(move || async move {
        let mut connection = target.connect().await.unwrap();
        sqlx::query_scalar::<_, i64>(&sql)
            .fetch_one(&mut connection)
            .await
            .unwrap()
    })
}

/// Runs dentsynth; exit status, stdout, stderr.
fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let output = dentsynth().args(args).output().unwrap();
    let (stdout, stderr) = text(&output);
    (output.status.code(), stdout, stderr)
}

/// `table.column statistic [of parent]`, as fidelity labels it.
fn label(statistic: &Value) -> String {
    let mut label = statistic["table"].as_str().unwrap().to_string();
    if let Some(column) = statistic["column"].as_str() {
        label.push('.');
        label.push_str(column);
    }
    label.push(' ');
    label.push_str(statistic["statistic"].as_str().unwrap());
    if let Some(parent) = statistic["parent"].as_str() {
        label.push_str(&format!(" of {parent}"));
    }
    label
}

fn find<'a>(report: &'a Value, wanted: &str) -> &'a Value {
    report["statistics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| label(s) == wanted)
        .unwrap_or_else(|| panic!("no statistic {wanted} in the report"))
}

fn describe(statistic: &Value) -> String {
    format!(
        "{}: target {}, achieved {}, deviation {}, tolerance {}, n {} (needs {}), {}",
        label(statistic),
        statistic["target"],
        statistic["achieved"],
        statistic["deviation"],
        statistic["tolerance"],
        statistic["population"],
        statistic["required"],
        statistic["verdict"]
    )
}

/// The share of `key` in a mix statistic's target or achieved map.
fn share(map: &Value, key: &str) -> f64 {
    map[key].as_f64().unwrap_or(0.0)
}

/// The share of a categorical value in the built-in profile.
fn builtin_share(table: &str, column: &str, value: &str) -> f64 {
    let profile = dentsynth::profile::builtin().unwrap();
    let categories = profile.tables[table].stats.columns[column]
        .categories
        .clone()
        .unwrap();
    categories.frequencies.get(value).copied().unwrap_or(0.0)
}

/// The share of a weekday (0 = Monday) in the built-in profile's calendar of a column.
fn builtin_weekday_share(table: &str, column: &str, weekday: usize) -> f64 {
    let profile = dentsynth::profile::builtin().unwrap();
    let temporal = profile.tables[table].stats.columns[column]
        .temporal
        .clone()
        .unwrap();
    let total: u64 = temporal.by_weekday.iter().sum();
    temporal.by_weekday[weekday] as f64 / total as f64
}

fn row_count(profile: &Path, table: &str) -> u64 {
    dentsynth::profile::load(profile).unwrap().tables[table]
        .stats
        .row_count
}

#[test]
fn a_profile_of_an_unusual_production_yields_a_demo_of_that_shape() {
    let started = Instant::now();
    let dir = scratch_dir("unusual");
    let profile_dir = dir.join("profile");
    let profile = profile_dir.to_str().unwrap();

    // 1. The planted production.
    let planted = TestDb::new("unusual_planted");
    let (code, _, stderr) = run(&[
        "--quiet",
        "generate",
        "--database-url",
        &planted.url,
        "--scale",
        "0.3",
        "--as-of",
        "2026-06-30",
        "--seed",
        "7",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    execute(&planted, PLANT);
    let planted_code_1 = count(
        &planted,
        r#"select (1000 * count(*) filter (where "CodeNum" = 1) / count(*))::int8 from raw.procedurelog"#,
    );
    eprintln!("planted in {:.1} s", started.elapsed().as_secs_f64());

    // 2. Its profile.
    let (code, _, stderr) = run(&[
        "--quiet",
        "introspect",
        "--database-url",
        &planted.url,
        "--out",
        profile,
        "--name",
        "planted",
        "--reference-tables",
        "opendental",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    drop(planted);
    for table in EMPTIED {
        assert_eq!(row_count(&profile_dir, table), 0, "{table} was emptied");
    }
    assert_eq!(row_count(&profile_dir, "commlog"), 1600);
    eprintln!("introspected in {:.1} s", started.elapsed().as_secs_f64());

    // 3. The demo, at the planted sizes; the note says what the built-in profile filled.
    let demo = TestDb::new("unusual_demo");
    let (code, _, stderr) = run(&[
        "generate",
        "--profile",
        profile,
        "--database-url",
        &demo.url,
        "--scale",
        "1",
        "--as-of",
        "2026-06-30",
    ]);
    assert_eq!(code, Some(0), "{stderr}");
    let note = stderr
        .lines()
        .find(|line| line.starts_with("filled "))
        .unwrap_or_else(|| panic!("no fill note: {stderr}"));
    eprintln!("generate: {note}");
    assert!(
        note.starts_with(&format!(
            "filled {} tables and 14 reference tables from the built-in profile opendental",
            EMPTIED.len()
        )),
        "{note}"
    );
    assert!(note.contains("scaled by 0.3"), "{note}");
    for table in EMPTIED {
        let rows = count(&demo, &format!("select count(*) from raw.{table}"));
        assert!(rows > 0, "{table} is filled from the built-in profile");
    }
    // The built-in fee schedules priced the procedures (introspect does not copy fee rows): the
    // reference holds 200 codes on each of its 3 schedules.
    assert_eq!(count(&demo, "select count(*) from raw.fee"), 600);
    assert!(
        count(
            &demo,
            r#"select count(*) from raw.procedurelog where "ProcStatus" = 2 and "ProcFee" > 0"#
        ) > 1000
    );
    // The completion lives in memory: the profile folder is unchanged.
    assert_eq!(row_count(&profile_dir, "perioexam"), 0);
    // Behaviour: introspect measured the booking lead (2-4 days), and the demo books that far
    // ahead, where the built-in practice books up to three months ahead.
    let profile_json: Value =
        serde_json::from_str(&std::fs::read_to_string(profile_dir.join("profile.json")).unwrap()).unwrap();
    let lead = &profile_json["behaviour"]["booking_lead_days"];
    assert!(
        lead["source"].as_str().unwrap().starts_with("introspect:"),
        "{lead}"
    );
    assert_eq!(lead["distribution"]["p50"], 3.0, "{lead}");
    assert!(note.contains("behaviours not measured"), "{note}");
    assert!(!note.contains("booking_lead_days"), "{note}");
    let demo_lead = count(
        &demo,
        r#"select percentile_disc(0.5) within group (order by "AptDateTime"::date - "SecDateTEntry"::date)::int8
           from raw.appointment where "AptDateTime" < '2026-06-30'"#,
    );
    let builtin_lead = dentsynth::profile::builtin().unwrap().behaviour["booking_lead_days"]
        .distribution
        .p50;
    eprintln!("booking lead: demo median {demo_lead} days, built-in median {builtin_lead}");
    assert!((2..=4).contains(&demo_lead), "demo median lead {demo_lead}");
    assert!(builtin_lead > 20.0);
    eprintln!("generated in {:.1} s", started.elapsed().as_secs_f64());

    // 4. Fidelity.
    let (code, stdout, stderr) = run(&[
        "fidelity",
        "--profile",
        profile,
        "--database-url",
        &demo.url,
        "--format",
        "json",
    ]);
    assert!(matches!(code, Some(0 | 1)), "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    // fidelity completes the profile as generate did: the same profile, by the manifest's hash.
    assert!(stderr.contains(note), "{stderr}");
    assert!(!stderr.contains("another version"), "{stderr}");
    eprintln!(
        "fidelity of the demo against the planted profile: {}",
        serde_json::to_string(&report["summary"]).unwrap()
    );
    for statistic in report["statistics"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["verdict"] == "outside")
    {
        eprintln!("  out of tolerance: {}", describe(statistic));
    }

    // The planted statistics: judged (enough demo rows) and within tolerance.
    let mut planted_statistics = vec![
        "appointment.AptStatus mix".to_string(),
        "appointment.AptDateTime weekday mix".to_string(),
        "payment.PayType mix".to_string(),
        "commlog rows".to_string(),
        "sheetfield rows".to_string(),
    ];
    planted_statistics.extend(EMPTIED.iter().map(|t| format!("{t} rows")));
    for wanted in &planted_statistics {
        let statistic = find(&report, wanted);
        eprintln!("  planted: {}", describe(statistic));
        assert_eq!(statistic["verdict"], "within", "{}", describe(statistic));
    }
    // The emptied tables' targets are the built-in profile's, scaled (so authored, with a note).
    for table in EMPTIED {
        let volume = find(&report, &format!("{table} rows"));
        assert!(volume["target"].as_f64().unwrap() > 0.0, "{}", describe(volume));
        assert_eq!(volume["origin"], "authored", "{}", describe(volume));
    }
    assert_eq!(find(&report, "commlog rows")["target"], 1600.0);

    // The demo is really unusual: far from the built-in profile on every planted mix.
    let status = find(&report, "appointment.AptStatus mix");
    let broken = share(&status["achieved"], "5");
    assert!(
        broken > 0.14 && broken > builtin_share("appointment", "AptStatus", "5") + 0.1,
        "{}",
        describe(status)
    );
    assert!(share(&status["achieved"], "6") < 0.01, "{}", describe(status));
    let weekdays = find(&report, "appointment.AptDateTime weekday mix");
    assert!(
        share(&weekdays["achieved"], "Mon") < 0.01,
        "{}",
        describe(weekdays)
    );
    assert!(
        builtin_weekday_share("appointment", "AptDateTime", 0) > 0.1,
        "the built-in practice works on Mondays"
    );
    assert!(
        share(&weekdays["achieved"], "Sat") > builtin_weekday_share("appointment", "AptDateTime", 5) + 0.1,
        "{}",
        describe(weekdays)
    );
    let pay_types = find(&report, "payment.PayType mix");
    assert!(
        share(&pay_types["achieved"], "69") > 0.85 && builtin_share("payment", "PayType", "69") < 0.5,
        "{}",
        describe(pay_types)
    );
    assert!(
        share(&pay_types["achieved"], "71") < 0.01,
        "{}",
        describe(pay_types)
    );

    // Not reproduced yet (printed for the record; see the report of the unusual branch): the code
    // mix (introspect keeps no CodeNum mix, so the simulation falls back to a few codes) and with it
    // the production that drives the payment volume.
    let demo_code_1 = count(
        &demo,
        r#"select (1000 * count(*) filter (where "CodeNum" = 1) / count(*))::int8 from raw.procedurelog"#,
    );
    eprintln!(
        "  not asserted: procedurelog share of CodeNum 1: planted {:.3}, demo {:.3}",
        planted_code_1 as f64 / 1000.0,
        demo_code_1 as f64 / 1000.0
    );
    eprintln!("  not asserted: {}", describe(find(&report, "payment rows")));

    // --no-fill: the profile as it is (no rows for the emptied tables), and the manifest's profile
    // is then another version of it.
    let (_, stdout, stderr) = run(&[
        "fidelity",
        "--no-fill",
        "--profile",
        profile,
        "--database-url",
        &demo.url,
        "--format",
        "json",
        "--table",
        "perioexam",
    ]);
    let unfilled: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    assert!(unfilled["statistics"].as_array().unwrap().is_empty(), "{stdout}");
    assert!(
        stderr.contains("generated from another version of profile planted"),
        "{stderr}"
    );
    eprintln!("fidelity done in {:.1} s", started.elapsed().as_secs_f64());

    // 5. verify on the demo, with the planted profile.
    let (code, stdout, stderr) = run(&[
        "--quiet",
        "verify",
        "--database-url",
        &demo.url,
        "--profile",
        profile,
        "--format",
        "json",
    ]);
    assert!(matches!(code, Some(0 | 1)), "{stderr}");
    let findings: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"));
    eprintln!(
        "verify of the demo: {}",
        serde_json::to_string(&findings["summary"]).unwrap()
    );
    let violated: Vec<&Value> = findings["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["violations"].as_u64().unwrap() > 0)
        .collect();
    for finding in &violated {
        eprintln!(
            "  {} {} ({}): {} of {} rows",
            finding["code"].as_str().unwrap(),
            finding["rule"].as_str().unwrap(),
            finding["severity"].as_str().unwrap(),
            finding["violations"],
            finding["checked"]
        );
    }
    // What the built-in profile filled holds together: no orphaned reference anywhere.
    let orphans: Vec<&str> = violated
        .iter()
        .filter(|f| f["code"] == "RI001")
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(orphans.is_empty(), "orphaned references: {orphans:?}");
    // And every built-in rule, the dbt contract pack included, holds at error level on the demo of
    // the planted practice too (a generic patient link joining a patient to itself once did not).
    let errors: Vec<&str> = violated
        .iter()
        .filter(|f| f["severity"] == "error")
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(errors.is_empty(), "error findings: {errors:?}");
    assert_eq!(findings["summary"]["errors"], 0, "{}", findings["summary"]);
    assert_eq!(code, Some(0), "{stderr}");
    eprintln!("done in {:.1} s", started.elapsed().as_secs_f64());
}
