//! `generate --quirks production` against a real PostgreSQL, on one quirky demo (scale 0.1, as-of
//! 2026-06-30) reused for every assertion: each quirk of the catalogue is present, at its rate;
//! `verify` reports the findings the quirks cause, which the clean demo's committed report does not
//! have; the checksums do not depend on --jobs; the CSV files carry the quirks; bad input writes
//! nothing.

use crate::support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use dentsynth::generate::quirks::{Kind, CATALOGUE};
use support::{dentsynth, scratch_dir, text, TestDb};

/// Per quirk, a query counting the rows that carry it. Each condition is absent from the clean demo
/// (no orphans, no such dates or amounts), so the count is the quirk's own.
const MEASURES: &[(&str, &str)] = &[
    // The clean demo has no Status-4 lines, so a Status-4 line on an existing claim with another
    // line is a copy (its original may since have been re-pointed by orphan.claimproc.ProcNum).
    (
        "duplicate.claimproc.supplemental",
        r#"select count(*) from raw.claimproc d where d."Status" = 4
           and d."ClaimNum" in (select "ClaimNum" from raw.claim)
           and exists (select 1 from raw.claimproc o where o."ClaimNum" = d."ClaimNum"
                       and o."ClaimProcNum" <> d."ClaimProcNum")"#,
    ),
    (
        "duplicate.insplan.case-variant",
        r#"select count(*) - count(distinct ("GroupNum", lower("GroupName"), "EmployerNum")) from raw.insplan"#,
    ),
    (
        "orphan.histappointment.AptNum",
        r#"select count(*) from raw.histappointment where "AptNum" not in (select "AptNum" from raw.appointment)"#,
    ),
    (
        "sentinel.patient.Birthdate.active",
        r#"select count(*) from raw.patient where "PatStatus" = 0 and "Birthdate" = '0001-01-01'"#,
    ),
    (
        "sentinel.patient.Birthdate.1900",
        r#"select count(*) from raw.patient where "Birthdate" = '1900-01-01'"#,
    ),
    (
        "sentinel.paysplit.ProcDate",
        r#"select count(*) from raw.paysplit where "ProcDate" = '0001-01-01'"#,
    ),
    (
        "sentinel.inssub.DateEffective",
        r#"select count(*) from raw.inssub where "DateEffective" = '0001-01-01'"#,
    ),
    (
        "sentinel.inssub.DateEffective.birthdate",
        r#"select count(*) from raw.inssub where "DateEffective" between '1949-01-01' and '1999-12-31'"#,
    ),
    (
        "sentinel.insverify.DateTimeEntry",
        r#"select count(*) from raw.insverify where "DateTimeEntry" = '0001-01-01 00:00:00'"#,
    ),
    (
        "orphan.paysplit.AdjNum",
        r#"select count(*) from raw.paysplit where "AdjNum" <> 0 and "AdjNum" not in (select "AdjNum" from raw.adjustment)"#,
    ),
    (
        "orphan.paysplit.ProcNum",
        r#"select count(*) from raw.paysplit where "ProcNum" <> 0 and "ProcNum" not in (select "ProcNum" from raw.procedurelog)"#,
    ),
    (
        "orphan.paysplit.PayNum",
        r#"select count(*) from raw.paysplit where "PayNum" not in (select "PayNum" from raw.payment)"#,
    ),
    (
        "orphan.claimproc.ProcNum",
        r#"select count(*) from raw.claimproc where "ClaimNum" <> 0 and "ProcNum" <> 0
           and "ProcNum" not in (select "ProcNum" from raw.procedurelog)"#,
    ),
    (
        "orphan.claimproc.ProcNum.estimate",
        r#"select count(*) from raw.claimproc where "ClaimNum" = 0 and "ProcNum" <> 0
           and "ProcNum" not in (select "ProcNum" from raw.procedurelog)"#,
    ),
    (
        "orphan.claimproc.ClaimNum",
        r#"select count(*) from raw.claimproc where "ClaimNum" <> 0 and "Status" = 4
           and "ClaimNum" not in (select "ClaimNum" from raw.claim)"#,
    ),
    (
        "orphan.adjustment.ProcNum",
        r#"select count(*) from raw.adjustment where "ProcNum" <> 0 and "ProcNum" not in (select "ProcNum" from raw.procedurelog)"#,
    ),
    (
        "orphan.procedurelog.PlannedAptNum",
        r#"select count(*) from raw.procedurelog where "PlannedAptNum" <> 0
           and "PlannedAptNum" not in (select "AptNum" from raw.appointment)"#,
    ),
    (
        "orphan.treatplanattach.ProcNum",
        r#"select count(*) from raw.treatplanattach where "ProcNum" not in (select "ProcNum" from raw.procedurelog)"#,
    ),
    (
        "orphan.refattach.ReferralNum",
        r#"select count(*) from raw.refattach where "ReferralNum" not in (select "ReferralNum" from raw.referral)"#,
    ),
    (
        "orphan.refattach.ProvNum",
        r#"select count(*) from raw.refattach where "ProvNum" <> 0 and "ProvNum" not in (select "ProvNum" from raw.provider)"#,
    ),
    (
        "orphan.patient.SecProv",
        r#"select count(*) from raw.patient where "SecProv" <> 0 and "SecProv" not in (select "ProvNum" from raw.provider)"#,
    ),
    (
        "orphan.patient.FeeSched",
        r#"select count(*) from raw.patient where "FeeSched" = 55 and 55 not in (select "FeeSchedNum" from raw.feesched)"#,
    ),
    (
        "orphan.scheduleop.ScheduleNum",
        r#"select count(*) from raw.scheduleop where "ScheduleNum" not in (select "ScheduleNum" from raw.schedule)"#,
    ),
    (
        "orphan.sheetfield.SheetNum",
        r#"select count(*) from raw.sheetfield where "SheetNum" not in (select "SheetNum" from raw.sheet)"#,
    ),
    (
        "orphan.insverifyhist.InsVerifyNum",
        r#"select count(*) from raw.insverifyhist where "InsVerifyNum" not in (select "InsVerifyNum" from raw.insverify)"#,
    ),
    (
        "orphan.statement.DocNum",
        r#"select count(*) from raw.statement where "DocNum" <> 0 and "DocNum" not in (select "DocNum" from raw.document)"#,
    ),
    (
        "orphan.insplan.FeeSched",
        r#"select count(*) from raw.insplan where "FeeSched" <> 0 and "FeeSched" not in (select "FeeSchedNum" from raw.feesched)"#,
    ),
    (
        "orphan.insplan.AllowedFeeSched",
        r#"select count(*) from raw.insplan where "AllowedFeeSched" <> 0
           and "AllowedFeeSched" not in (select "FeeSchedNum" from raw.feesched)"#,
    ),
    (
        "orphan.insplan.CopayFeeSched",
        r#"select count(*) from raw.insplan where "CopayFeeSched" <> 0
           and "CopayFeeSched" not in (select "FeeSchedNum" from raw.feesched)"#,
    ),
    (
        "orphan.insplan.CarrierNum",
        r#"select count(*) from raw.insplan where "CarrierNum" not in (select "CarrierNum" from raw.carrier)"#,
    ),
    (
        "amount.claimpayment.refund-positive",
        r#"select count(*) from raw.claimpayment where "PayType" in (645, 646, 647, 661) and "CheckAmt" > 0"#,
    ),
    (
        "amount.procedurelog.deleted-negative-fee",
        r#"select count(*) from raw.procedurelog where "ProcStatus" = 6 and "ProcFee" < 0 and "DateEntryC" = '0001-01-01'"#,
    ),
    (
        "amount.procedurelog.fee-x100",
        r#"select count(*) from raw.procedurelog where "ProcFee" >= 10000"#,
    ),
    (
        "amount.fee.Amount-x100",
        r#"select count(*) from raw.fee where "Amount" >= 10000"#,
    ),
    (
        "amount.claimproc.AllowedOverride-x100",
        r#"select count(*) from raw.claimproc where "AllowedOverride" >= 10000 and "AllowedOverride" = "FeeBilled" * 100"#,
    ),
    (
        "amount.claimproc.paid-above-billed",
        r#"select count(*) from raw.claimproc where "Status" = 1 and "FeeBilled" > 0 and "InsPayAmt" > "FeeBilled""#,
    ),
    (
        "amount.adjustment.extreme-discount",
        r#"select count(*) from raw.adjustment where "AdjAmt" <= -10000 and "AdjType" = 474"#,
    ),
    (
        "stale.appointment.scheduled-in-past",
        r#"select count(*) from raw.appointment where "AptStatus" = 1 and "AptDateTime" < '2026-06-30'"#,
    ),
    (
        "stale.procedurelog.DateComplete-before-ProcDate",
        r#"select count(*) from raw.procedurelog where "ProcStatus" = 2 and "DateComplete" > '0001-01-01'
           and "DateComplete" < "ProcDate""#,
    ),
    (
        "stale.inssub.DateTerm-before-DateEffective",
        r#"select count(*) from raw.inssub where "DateTerm" > '0001-01-01' and "DateTerm" < "DateEffective""#,
    ),
];

/// Error findings the quirks cause besides one RI001 per orphaned column: negative and x100
/// amounts outside the contract's ranges, ledgers the duplicated and inflated money no longer
/// balances, and a stale Scheduled appointment with completed procedures.
const OTHER_FINDINGS: &[&str] = &[
    "dbt.av.procedurelog.ProcFee",
    "dbt.av.fee.Amount",
    "fb.patient",
    "fb.family",
    "fb.practice",
    "st.appointment.scheduled-with-completed-procedure",
];

fn generate(db: &TestDb, extra: &[&str]) -> String {
    let output = dentsynth()
        .args(["generate", "--database-url", &db.url])
        .args([
            "--scale",
            "0.1",
            "--as-of",
            "2026-06-30",
            "--quirks",
            "production",
        ])
        .args(extra)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    stdout
}

fn checksums(db: &TestDb) -> Vec<(String, i64, String)> {
    let target = db.target.clone();
    support::block_on(move || async move {
        let mut c = target.connect().await.unwrap();
        sqlx::query_as::<_, (String, i64, String)>(
            "select table_name, row_count, checksum from dentsynth.manifest_table where schema_name = 'raw' order by 1",
        )
        .fetch_all(&mut c)
        .await
        .unwrap()
    })
}

/// Measured count, table rows and the manifest's record (target, rows) per quirk.
type Measured = BTreeMap<String, (i64, i64, i64, i64)>;

fn measure(db: &TestDb) -> (Measured, Option<String>) {
    let target = db.target.clone();
    support::block_on(move || async move {
        let mut c = target.connect().await.unwrap();
        let mut measured = BTreeMap::new();
        for (id, sql) in MEASURES {
            let quirk = CATALOGUE
                .iter()
                .find(|q| q.id == *id)
                .unwrap_or_else(|| panic!("{id}"));
            let count: i64 = sqlx::query_scalar(sql)
                .fetch_one(&mut c)
                .await
                .unwrap_or_else(|e| panic!("{id}: {e}"));
            let rows: i64 = sqlx::query_scalar(&format!("select count(*) from raw.{}", quirk.table))
                .fetch_one(&mut c)
                .await
                .unwrap();
            let (target, recorded): (i64, i64) = sqlx::query_as(
                "select target_rows, row_count from dentsynth.manifest_quirk where schema_name = 'raw' and quirk_id = $1",
            )
            .bind(id)
            .fetch_one(&mut c)
            .await
            .unwrap_or_else(|e| panic!("{id} is not in the manifest: {e}"));
            measured.insert(id.to_string(), (count, rows, target, recorded));
        }
        let mode: Option<String> = sqlx::query_scalar(
            "select arguments ->> 'quirks' from dentsynth.manifest where schema_name = 'raw'",
        )
        .fetch_one(&mut c)
        .await
        .unwrap();
        (measured, mode)
    })
}

/// Rule ids of the error findings (violations > 0) of a JSON report.
fn error_findings(json: &str) -> BTreeSet<String> {
    let report: serde_json::Value = serde_json::from_str(json).unwrap();
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "error" && f["violations"].as_u64().unwrap_or(0) > 0)
        .map(|f| f["rule"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn production_quirks_land_at_their_rates_verify_finds_them_and_jobs_do_not_matter() {
    // Every quirk has a measure, and every measure a quirk.
    let measured_ids: BTreeSet<&str> = MEASURES.iter().map(|(id, _)| *id).collect();
    let catalogue_ids: BTreeSet<&str> = CATALOGUE.iter().map(|q| q.id).collect();
    assert_eq!(measured_ids, catalogue_ids);

    let quirky = TestDb::new("quirks_jobs2");
    let again = TestDb::new("quirks_jobs1");
    let csv = scratch_dir("quirks-csv");
    let stdout = generate(&quirky, &["--jobs", "2"]);
    assert!(
        stdout.contains(&format!("quirks production: {} quirks", CATALOGUE.len())),
        "{stdout}"
    );
    generate(&again, &["--jobs", "1", "--out-dir", csv.to_str().unwrap()]);

    // Determinism: the same seed gives the same quirky database whatever --jobs is.
    let (first, second) = (checksums(&quirky), checksums(&again));
    assert!(first.len() > 80);
    assert_eq!(first, second);

    // Per quirk: present, close to rate x rows, and what the manifest recorded.
    let (measured, mode) = measure(&quirky);
    assert_eq!(mode.as_deref(), Some("production"));
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for quirk in CATALOGUE {
        let (count, rows, target, recorded) = measured[quirk.id];
        let expected = quirk.rate() * rows as f64;
        // Rounding at small counts (a quirk always touches at least one row) plus 10%: copies add
        // rows to the table after the target was set, and whole histories overshoot a little.
        let tolerance = 1.0 + 0.1 * expected;
        report.push(format!(
            "{:<48} {:>5} of {:>6} rows (rate x rows {:.1}, target {target})",
            quirk.id, count, rows, expected
        ));
        if count < 1 || (count as f64 - expected).abs() > tolerance || count != recorded {
            failures.push(format!(
                "{}: measured {count}, expected {expected:.1} +- {tolerance:.1}, manifest {recorded}",
                quirk.id
            ));
        }
    }
    eprintln!("quirks at scale 0.1:\n{}", report.join("\n"));
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // The CSV files of --out-dir carry the quirks (rewritten after them).
    let mut reader = csv::Reader::from_path(csv.join("histappointment.csv")).unwrap();
    let records = reader.records().count() as i64;
    let histories = second.iter().find(|t| t.0 == "histappointment").unwrap().1;
    assert_eq!(
        records, histories,
        "histappointment.csv lacks the copied histories"
    );
    let sentinels = csv::Reader::from_path(csv.join("insverify.csv"))
        .unwrap()
        .records()
        .filter(|r| r.as_ref().unwrap().iter().any(|v| v == "0001-01-01 00:00:00"))
        .count() as i64;
    assert_eq!(sentinels, measured["sentinel.insverify.DateTimeEntry"].0);

    // verify: one RI001 error finding per orphaned column, and the other findings the quirks cause.
    let output = dentsynth()
        .args(["verify", "--database-url", &quirky.url, "--format", "json"])
        .output()
        .unwrap();
    let (json, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let findings = error_findings(&json);
    let mut expected: Vec<String> = CATALOGUE
        .iter()
        .filter(|q| q.kind == Kind::Orphan)
        .map(|q| format!("ri.{}.{}->", q.table, q.column))
        .collect();
    expected.extend(OTHER_FINDINGS.iter().map(|s| s.to_string()));
    let missing: Vec<&String> = expected
        .iter()
        .filter(|e| {
            !findings
                .iter()
                .any(|f| f == *e || (e.ends_with("->") && f.starts_with(*e)))
        })
        .collect();
    assert!(
        missing.is_empty(),
        "verify lacks {missing:?}; it found {findings:?}"
    );

    // The clean demo's committed report (kept current by tests/demo.rs) has none of them.
    let clean = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots/opendental/verify.txt"),
    )
    .unwrap();
    for finding in &expected {
        assert!(
            !clean.contains(&format!(" {finding}")),
            "the clean demo already reports {finding}"
        );
    }
    assert!(
        findings.len() >= expected.len() && clean.contains(" 0 error findings,"),
        "{findings:?}"
    );
}

#[test]
fn bad_quirks_input_exits_2_with_one_line_and_writes_nothing() {
    let db = TestDb::new("quirks_bad");
    let dir = scratch_dir("quirks-bad");
    let cases: [(&[&str], &[&str]); 2] = [
        (&["--quirks", "bogus"], &["bogus", "none", "production"]),
        (
            &[
                "--quirks",
                "production",
                "--no-load",
                "--out-dir",
                dir.to_str().unwrap(),
            ],
            &["--quirks production", "--no-load"],
        ),
    ];
    for (args, phrases) in cases {
        let output = dentsynth()
            .args(["generate", "--database-url", &db.url, "--scale", "0.2"])
            .args(args)
            .output()
            .unwrap();
        let (_, stderr) = text(&output);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "not one line: {stderr}");
        assert!(stderr.starts_with("error:"), "{stderr}");
        for phrase in phrases {
            assert!(stderr.contains(phrase), "{args:?}: {stderr}");
        }
    }
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "files were written");
    let schemas = support::block_on({
        let target = db.target.clone();
        move || async move {
            let mut c = target.connect().await.unwrap();
            sqlx::query_scalar::<_, i64>(
                "select count(*) from pg_namespace where nspname = 'raw' or nspname like 'dentsynth%'",
            )
            .fetch_one(&mut c)
            .await
            .unwrap()
        }
    });
    assert_eq!(schemas, 0, "nothing may be written");
}
