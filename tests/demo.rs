//! The default demo, as CI builds it: the built-in profile, seed 42, as-of 2026-06-30, scale 1,
//! verified with every built-in rule against the committed report `snapshots/opendental/verify.txt`.
//! A generator change that alters any finding shows up here as a diff; accept it deliberately with
//! `dentsynth verify --as-of 2026-06-30 --snapshot snapshots/opendental/verify.txt --bless`.
//! The same demo is then measured against the built-in profile: no judged statistic may be out of
//! tolerance (`dentsynth fidelity` exits 0).

use crate::support;

use std::path::Path;

use support::{dentsynth, text, TestDb};

#[test]
fn the_default_demo_matches_its_committed_verify_snapshot() {
    let demo = TestDb::new("default_demo_snapshot");
    let output = dentsynth()
        .args([
            "generate",
            "--database-url",
            &demo.url,
            "--seed",
            "42",
            "--as-of",
            "2026-06-30",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output).1);

    let snapshot = Path::new(env!("CARGO_MANIFEST_DIR")).join("snapshots/opendental/verify.txt");
    // The committed report itself must be clean: the default demo passes every built-in rule.
    let committed = std::fs::read_to_string(&snapshot).unwrap();
    assert!(
        committed.contains(" 0 error findings,"),
        "the committed snapshot records error findings:\n{committed}"
    );
    let output = dentsynth()
        .args([
            "verify",
            "--database-url",
            &demo.url,
            "--as-of",
            "2026-06-30",
            "--snapshot",
        ])
        .arg(&snapshot)
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert_eq!(
        output.status.code(),
        Some(0),
        "the default demo's verify report drifted from {}:\n{stdout}\n{stderr}",
        snapshot.display()
    );

    // Fidelity: every judged statistic of the built-in profile within tolerance (exit 0; 1 lists
    // the misses).
    let output = dentsynth()
        .args(["fidelity", "--database-url", &demo.url])
        .output()
        .unwrap();
    let (stdout, stderr) = text(&output);
    assert_eq!(
        output.status.code(),
        Some(0),
        "the default demo is out of tolerance somewhere:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains(" 0 out of tolerance"), "{stdout}");

    // AR ages like the profile's: the built-in share over 90 days is 0.352 (production_aggregates.md
    // §11, the ratio of the aging columns' means). AR is what the buckets hold: credit balances are
    // apart, as production reports them.
    let target = demo.target.clone();
    let over_90: f64 = support::block_on(move || async move {
        let mut c = target.connect().await.unwrap();
        sqlx::query_scalar(
            r#"select (sum("BalOver90") / nullif(sum("Bal_0_30" + "Bal_31_60" + "Bal_61_90" + "BalOver90"), 0))::float8 from raw.patient where "Guarantor" = "PatNum""#,
        )
        .fetch_one(&mut c)
        .await
        .unwrap()
    });
    assert!(
        (over_90 - 0.352).abs() < 0.05,
        "AR over 90 days: {over_90:.3} of AR at scale 1, profile 0.352"
    );

    // Prepayments: about 1% of paying visits start with a deposit (the built-in prepaid_share), and
    // what a deposit left over, or a payment made before the insurance paid more than estimated, is a
    // credit balance: a guarantor below zero with nothing to age. Credits total about production's
    // 14% of AR ($45,239 against $312,909, production_aggregates.md §11).
    let target = demo.target.clone();
    let (deposits, payments, credits, aged_credits, credit_share): (i64, i64, i64, i64, f64) =
        support::block_on(move || async move {
            let mut c = target.connect().await.unwrap();
            sqlx::query_as(
                r#"select (select count(*) from raw.paysplit where "UnearnedType" <> 0 and "SplitAmt" > 0 and "ProcNum" = 0),
                          (select count(*) from raw.payment where "PayType" <> 0),
                          (select count(*) from raw.patient where "Guarantor" = "PatNum" and "BalTotal" < 0),
                          (select count(*) from raw.patient where "Guarantor" = "PatNum" and "BalTotal" < 0
                             and "Bal_0_30" + "Bal_31_60" + "Bal_61_90" + "BalOver90" <> 0),
                          (select (-sum("BalTotal") filter (where "BalTotal" < 0)
                                   / sum("BalTotal") filter (where "BalTotal" > 0))::float8
                             from raw.patient where "Guarantor" = "PatNum")"#,
            )
            .fetch_one(&mut c)
            .await
            .unwrap()
        });
    let share = deposits as f64 / payments as f64;
    assert!(
        (0.003..0.02).contains(&share),
        "{deposits} deposits of {payments} payments"
    );
    assert!(credits > 0, "no family has a credit balance");
    assert_eq!(aged_credits, 0, "a family in credit has aged charges");
    assert!(
        (0.07..0.25).contains(&credit_share),
        "credits are {credit_share:.3} of AR at scale 1, production 0.145"
    );
}
