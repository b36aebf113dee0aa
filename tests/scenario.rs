//! The OpenDental scenario: volumes and the ledger in memory, then the contract items in SQL on a
//! generated demo (scale 0.2, as-of 2026-06-30), and determinism across --jobs.

use crate::support;

use chrono::NaiveDate;
use dentsynth::generate::plan;
use dentsynth::generate::scenario::opendental::{factory, Practice, FAMILY_TABLES};
use dentsynth::generate::Clock;

fn practice(scale: f64) -> (Practice, plan::Plan) {
    let profile = dentsynth::profile::builtin().unwrap();
    let plan = plan::build(&profile, scale);
    let clock = Clock::new(NaiveDate::from_ymd_opt(2026, 6, 30).unwrap(), 24);
    assert!(factory(&profile, &plan, 42, clock).is_some());
    (Practice::new(&profile, &plan, 42, clock), plan)
}

#[test]
fn a_polymorphic_key_with_a_one_valued_discriminator_is_drawn_from_its_target() {
    let profile = dentsynth::profile::builtin().unwrap();
    let plan = plan::build(&profile, 1.0);
    let source = |table: &str, column: &str| {
        plan.table(table)
            .unwrap()
            .columns
            .iter()
            .find(|c| c.name == column)
            .unwrap()
            .source
            .clone()
    };
    // FKeyType is always 0 (appointment), VerifyType always 2 (patplan): plain keys of the target.
    for (table, parent) in [
        ("entrylog", "appointment"),
        ("insverify", "patplan"),
        ("insverifyhist", "patplan"),
    ] {
        match source(table, "FKey") {
            plan::Source::Parent(p) => assert_eq!(p.parent_table, parent, "{table}.FKey"),
            other => panic!("{table}.FKey: {other:?}"),
        }
    }
    // task.ObjectType varies (1 on 91% of rows): KeyNum stays the "none" value.
    assert!(matches!(source("task", "KeyNum"), plan::Source::NoneValue));
}

#[test]
fn volumes_land_at_or_above_the_plan_and_every_family_balances() {
    let (practice, plan) = practice(0.2);
    let mut report = Vec::new();
    for (t, name) in FAMILY_TABLES.iter().enumerate() {
        let target = plan.table(name).unwrap().rows;
        let rows = practice.rows(t);
        report.push(format!("{name}: {rows} (target {target})"));
    }
    eprintln!("{}", report.join("\n"));
    // Volumes within 10% below and 60% above the plan. Not here: claimproc and paysplit, which
    // the simulation still leaves short (fidelity reports them), and recall, which follows the
    // contract's window instead (an adaptation).
    for name in [
        "patient",
        "appointment",
        "histappointment",
        "procedurelog",
        "claim",
        "payment",
    ] {
        let t = FAMILY_TABLES.iter().position(|n| *n == name).unwrap();
        let target = plan.table(name).unwrap().rows;
        assert!(practice.rows(t) * 10 >= target * 9, "{}", report.join("\n"));
        assert!(practice.rows(t) * 10 <= target * 16, "{}", report.join("\n"));
    }
    for family in 0..practice.families() {
        let rows = practice.simulate(family);
        let mut total = 0;
        for (index, patient) in rows.patients.iter().enumerate() {
            let index = index as u32;
            let fees: i64 = rows
                .procedures
                .iter()
                .filter(|p| p.patient == index && p.status == 2)
                .map(|p| p.fee)
                .sum();
            let ins: i64 = rows
                .claimprocs
                .iter()
                .filter(|c| c.patient == index && c.status == 1)
                .map(|c| c.paid)
                .sum();
            let adj: i64 = rows
                .adjustments
                .iter()
                .filter(|a| a.patient == index)
                .map(|a| a.amount)
                .sum();
            let paid: i64 = rows
                .splits
                .iter()
                .filter(|s| s.patient == index)
                .map(|s| s.amount)
                .sum();
            assert_eq!(patient.balance, fees - ins + adj - paid);
            total += patient.balance;
        }
        assert_eq!(rows.patients[0].aging.unwrap().total, total);
    }
}

fn generate(db: &support::TestDb, jobs: &str) {
    let output = support::dentsynth()
        .args([
            "generate",
            "--database-url",
            &db.url,
            "--scale",
            "0.2",
            "--as-of",
            "2026-06-30",
            "--jobs",
            jobs,
        ])
        .output()
        .unwrap();
    let (_, stderr) = support::text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
}

/// Each check is a query counting violations (0 = the item holds).
const CHECKS: &[(&str, &str)] = &[
    (
        "ledger per patient",
        r#"with l as (
        select p."PatNum", p."EstBalance",
          coalesce((select sum("ProcFee") from raw.procedurelog x where x."PatNum" = p."PatNum" and x."ProcStatus" = 2), 0)
        + coalesce((select sum("AdjAmt") from raw.adjustment x where x."PatNum" = p."PatNum"), 0)
        - coalesce((select sum("InsPayAmt" + "WriteOff") from raw.claimproc x where x."PatNum" = p."PatNum" and x."Status" in (1, 4)), 0)
        - coalesce((select sum("SplitAmt") from raw.paysplit x where x."PatNum" = p."PatNum"), 0) as ledger
        from raw.patient p)
      select count(*) from l where abs("EstBalance" - ledger) > 0.005"#,
    ),
    (
        "ledger per family (guarantor BalTotal)",
        r#"select count(*) from raw.patient g where g."Guarantor" = g."PatNum"
        and abs(g."BalTotal" - (select sum("EstBalance") from raw.patient m where m."Guarantor" = g."PatNum")) > 0.005"#,
    ),
    (
        "ledger practice-wide",
        r#"select count(*) from (select
          (select sum("ProcFee") from raw.procedurelog where "ProcStatus" = 2)
        + (select coalesce(sum("AdjAmt"), 0) from raw.adjustment)
        - (select coalesce(sum("InsPayAmt" + "WriteOff"), 0) from raw.claimproc where "Status" in (1, 4))
        - (select coalesce(sum("SplitAmt"), 0) from raw.paysplit) as ledger,
          (select sum("BalTotal") from raw.patient where "Guarantor" = "PatNum") as ar) t
        where abs(ledger - ar) > 0.005"#,
    ),
    (
        "non-guarantors carry no aging",
        r#"select count(*) from raw.patient where "Guarantor" <> "PatNum"
        and ("Bal_0_30" <> 0 or "Bal_31_60" <> 0 or "Bal_61_90" <> 0 or "BalOver90" <> 0 or "BalTotal" <> 0 or "InsEst" <> 0)"#,
    ),
    (
        "aging buckets >= 0 and sum <= BalTotal when positive",
        r#"select count(*) from raw.patient where "Guarantor" = "PatNum"
        and ("Bal_0_30" < 0 or "Bal_31_60" < 0 or "Bal_61_90" < 0 or "BalOver90" < 0
             or ("BalTotal" >= 0 and abs("Bal_0_30" + "Bal_31_60" + "Bal_61_90" + "BalOver90" - "BalTotal") > 0.005))"#,
    ),
    (
        "aging recomputed from the ledger",
        r#"with fam as (select "PatNum", "Guarantor" from raw.patient),
      charges as (select f."Guarantor" g, x."ProcDate" d, x."ProcFee" a from raw.procedurelog x join fam f using ("PatNum") where x."ProcStatus" = 2
                  union all select f."Guarantor", x."AdjDate", x."AdjAmt" from raw.adjustment x join fam f using ("PatNum") where x."AdjAmt" > 0
                  union all select f."Guarantor", x."DatePay", -x."SplitAmt" from raw.paysplit x join fam f using ("PatNum") where x."SplitAmt" < 0),
      credits as (select g, sum(a) c from (
                  select f."Guarantor" g, -x."AdjAmt" a from raw.adjustment x join fam f using ("PatNum") where x."AdjAmt" < 0
                  union all select f."Guarantor", x."InsPayAmt" + x."WriteOff" from raw.claimproc x join fam f using ("PatNum") where x."Status" in (1, 4)
                  union all select f."Guarantor", x."SplitAmt" from raw.paysplit x join fam f using ("PatNum") where x."SplitAmt" > 0) t group by g),
      b as (select g,
              sum(a) filter (where date '2026-06-30' - d <= 30) b0,
              sum(a) filter (where date '2026-06-30' - d between 31 and 60) b1,
              sum(a) filter (where date '2026-06-30' - d between 61 and 90) b2,
              sum(a) filter (where date '2026-06-30' - d > 90) b3 from charges group by g),
      aged as (select b.g, coalesce(b0, 0) b0, coalesce(b1, 0) b1, coalesce(b2, 0) b2, coalesce(b3, 0) b3, coalesce(c.c, 0) c
               from b left join credits c using (g)),
      r as (select g,
              greatest(b3 - c, 0) r3,
              greatest(b2 - greatest(c - b3, 0), 0) r2,
              greatest(b1 - greatest(c - b3 - b2, 0), 0) r1,
              greatest(b0 - greatest(c - b3 - b2 - b1, 0), 0) r0 from aged)
      select count(*) from raw.patient p left join r on r.g = p."PatNum" where p."Guarantor" = p."PatNum"
        and (abs(p."Bal_0_30" - coalesce(r0, 0)) > 0.005 or abs(p."Bal_31_60" - coalesce(r1, 0)) > 0.005
             or abs(p."Bal_61_90" - coalesce(r2, 0)) > 0.005 or abs(p."BalOver90" - coalesce(r3, 0)) > 0.005)"#,
    ),
    (
        "InsEst = pending InsPayEst",
        r#"select count(*) from raw.patient g where g."Guarantor" = g."PatNum" and abs(g."InsEst" -
        coalesce((select sum(c."InsPayEst") from raw.claimproc c join raw.patient m on m."PatNum" = c."PatNum"
                  where m."Guarantor" = g."PatNum" and c."Status" = 0), 0)) > 0.005"#,
    ),
    (
        "AptStatus in {1,2,3,5,6}",
        r#"select count(*) from raw.appointment where "AptStatus" not in (1, 2, 3, 5, 6)"#,
    ),
    (
        "completed appointments before as-of, scheduled after",
        r#"select count(*) from raw.appointment
        where ("AptStatus" = 2 and "AptDateTime" >= '2026-06-30') or ("AptStatus" = 1 and "AptDateTime" < '2026-06-30')"#,
    ),
    (
        "ProcDate = date(AptDateTime)",
        r#"select count(*) from raw.procedurelog p join raw.appointment a on a."AptNum" = p."AptNum"
        where p."AptNum" <> 0 and p."ProcDate" <> a."AptDateTime"::date"#,
    ),
    (
        "procedures dated >= 2023 and completed before as-of",
        r#"select count(*) from raw.procedurelog
        where "ProcDate" < '2023-01-01' or ("ProcStatus" = 2 and "ProcDate" >= '2026-06-30')"#,
    ),
    (
        "DateComplete/DateEntryC for status 2",
        r#"select count(*) from raw.procedurelog
        where "ProcStatus" = 2 and ("DateComplete" <> "ProcDate" or "DateEntryC" <> "ProcDate")"#,
    ),
    (
        "claim dates",
        r#"select count(*) from raw.claim where "DateSent" < "DateService"
        or ("ClaimStatus" = 'R' and ("DateReceived" < "DateSent" or "DateReceived" >= '2026-06-30'))
        or "ClaimStatus" not in ('R', 'S')"#,
    ),
    (
        "claim money = sum of its claimprocs",
        r#"select count(*) from raw.claim c where abs(c."ClaimFee" - (select sum("FeeBilled") from raw.claimproc p where p."ClaimNum" = c."ClaimNum")) > 0.005
        or abs(c."InsPayAmt" - (select sum("InsPayAmt") from raw.claimproc p where p."ClaimNum" = c."ClaimNum")) > 0.005"#,
    ),
    (
        "claimproc ProcDate = procedure date",
        r#"select count(*) from raw.claimproc c join raw.procedurelog p using ("ProcNum") where c."ProcDate" <> p."ProcDate""#,
    ),
    (
        "claimproc status 6 iff ClaimNum 0",
        r#"select count(*) from raw.claimproc where ("Status" = 6) <> ("ClaimNum" = 0)"#,
    ),
    (
        "CheckAmt = sum InsPayAmt and DateCP = CheckDate",
        r#"select count(*) from raw.claimpayment cp where
        abs(cp."CheckAmt" - (select sum("InsPayAmt") from raw.claimproc c where c."ClaimPaymentNum" = cp."ClaimPaymentNum")) > 0.005
        or exists (select 1 from raw.claimproc c where c."ClaimPaymentNum" = cp."ClaimPaymentNum" and c."DateCP" <> cp."CheckDate")"#,
    ),
    (
        "PayAmt = sum SplitAmt and DatePay = PayDate",
        r#"select count(*) from raw.payment p where
        abs(p."PayAmt" - (select sum("SplitAmt") from raw.paysplit s where s."PayNum" = p."PayNum")) > 0.005
        or exists (select 1 from raw.paysplit s where s."PayNum" = p."PayNum" and s."DatePay" <> p."PayDate")"#,
    ),
    (
        "paysplit ProcNum xor AdjNum (unearned income: neither)",
        r#"select count(*) from raw.paysplit where ("ProcNum" <> 0 and "AdjNum" <> 0)
           or ("ProcNum" = 0 and "AdjNum" = 0 and "UnearnedType" = 0)"#,
    ),
    (
        "PayType 0 => PayAmt 0",
        r#"select count(*) from raw.payment where "PayType" = 0 and "PayAmt" <> 0"#,
    ),
    (
        "money dated before as-of",
        r#"select (select count(*) from raw.payment where "PayDate" >= '2026-06-30' or "PayDate" < '2023-01-01')
        + (select count(*) from raw.adjustment where "AdjDate" >= '2026-06-30' or "AdjDate" < '2023-01-01')
        + (select count(*) from raw.claimpayment where "CheckDate" >= '2026-06-30' or "CheckDate" < '2023-01-01')"#,
    ),
    (
        "ClinicNum all 0",
        r#"select (select count(*) from raw.appointment where "ClinicNum" <> 0) + (select count(*) from raw.procedurelog where "ClinicNum" <> 0)
        + (select count(*) from raw.claim where "ClinicNum" <> 0) + (select count(*) from raw.payment where "ClinicNum" <> 0)
        + (select count(*) from raw.paysplit where "ClinicNum" <> 0) + (select count(*) from raw.adjustment where "ClinicNum" <> 0)
        + (select count(*) from raw.patient where "ClinicNum" <> 0) + (select count(*) from raw.claimpayment where "ClinicNum" <> 0)"#,
    ),
    (
        "guarantor resolves and points at itself",
        r#"select count(*) from raw.patient p where not exists
        (select 1 from raw.patient g where g."PatNum" = p."Guarantor" and g."Guarantor" = g."PatNum")"#,
    ),
    (
        "hygiene appointments carry a hygienist",
        r#"select count(*) from raw.appointment where "IsHygiene" and "ProvHyg" = 0"#,
    ),
    (
        "arrived <= seated <= dismissed",
        r#"select count(*) from raw.appointment where "DateTimeSeated" < "DateTimeArrived" or "DateTimeDismissed" < "DateTimeSeated""#,
    ),
    (
        "history: creation row, increasing stamps, final status, <= yesterday",
        r#"select (select count(*) from raw.appointment a where not exists
          (select 1 from raw.histappointment h where h."AptNum" = a."AptNum"))
        + (select count(*) from raw.histappointment where "HistDateTStamp" >= '2026-06-30' or "HistDateTStamp" < '2023-01-01')
        + (select count(*) from (select "HistDateTStamp" <= lag("HistDateTStamp") over (partition by "AptNum" order by "HistApptNum") bad
             from raw.histappointment) t where bad)
        + (select count(*) from raw.appointment a where a."AptStatus" in (2, 5) and a."AptStatus" <> (select h."AptStatus" from raw.histappointment h
             where h."AptNum" = a."AptNum" order by h."HistDateTStamp" desc limit 1))"#,
    ),
    (
        "recall: status 0, type with a trigger",
        r#"select count(*) from raw.recall r where "RecallStatus" <> 0
        or not exists (select 1 from raw.recalltrigger t where t."RecallTypeNum" = r."RecallTypeNum")"#,
    ),
    (
        "adjustments: provider, and the sign of the type's definition (- discounts, + charges)",
        r#"select count(*) from raw.adjustment a where "ProvNum" = 0 or "AdjAmt" = 0
        or not exists (select 1 from raw.definition d where d."DefNum" = a."AdjType" and d."Category" = 1
                       and d."ItemValue" = case when a."AdjAmt" > 0 then '+' else '-' end)"#,
    ),
    (
        "patplan and inssub resolve",
        r#"select (select count(*) from raw.patplan p where not exists (select 1 from raw.inssub s where s."InsSubNum" = p."InsSubNum"))
        + (select count(*) from raw.inssub s where not exists (select 1 from raw.patient p where p."PatNum" = s."Subscriber"))
        + (select count(*) from raw.claimproc c where not exists (select 1 from raw.procedurelog p where p."ProcNum" = c."ProcNum"))"#,
    ),
    (
        "insurance verifications verify existing patient plans, and their history repeats it",
        r#"select (select count(*) from raw.insverify v where v."VerifyType" = 2
                    and not exists (select 1 from raw.patplan p where p."PatPlanNum" = v."FKey"))
           + (select count(*) from raw.insverifyhist h join raw.insverify v using ("InsVerifyNum")
              where h."FKey" <> v."FKey" or h."VerifyType" <> v."VerifyType")"#,
    ),
    (
        "no active patient with a sentinel birth date",
        r#"select count(*) from raw.patient where "PatStatus" = 0 and "Birthdate" = '0001-01-01'"#,
    ),
    (
        "perio charts on a completed hygiene visit of the patient, by its hygienist",
        r#"select count(*) from raw.perioexam p where not exists (select 1 from raw.appointment a
             where a."PatNum" = p."PatNum" and a."AptStatus" = 2 and a."ProvHyg" = p."ProvNum"
               and a."AptDateTime"::date = p."ExamDate")"#,
    ),
    (
        "documents, sheets and treatment plans on a completed visit of the patient",
        r#"select (select count(*) from raw.document d where not exists (select 1 from raw.appointment a
                     where a."PatNum" = d."PatNum" and a."AptStatus" = 2 and a."AptDateTime"::date = d."DateCreated"::date))
           + (select count(*) from raw.sheet d where not exists (select 1 from raw.appointment a
                     where a."PatNum" = d."PatNum" and a."AptStatus" = 2 and a."AptDateTime"::date = d."DateTimeSheet"::date))
           + (select count(*) from raw.treatplan d where not exists (select 1 from raw.appointment a
                     where a."PatNum" = d."PatNum" and a."AptStatus" = 2 and a."AptDateTime"::date = d."DateTP"))"#,
    ),
    (
        "referrals attached at the patient's new-patient visit",
        r#"select count(*) from raw.refattach r where not exists (select 1 from raw.appointment a
             where a."PatNum" = r."PatNum" and a."AptStatus" = 2 and a."IsNewPatient"
               and a."AptDateTime"::date = r."RefDate")"#,
    ),
    (
        "prescriptions and lab cases at a treatment visit of the patient, statements to guarantors, tasks after a visit, medical history at an exam",
        r#"select (select count(*) from raw.rxpat r where not exists (select 1 from raw.appointment a
                     where a."PatNum" = r."PatNum" and a."AptStatus" = 2 and a."ProvNum" = r."ProvNum"
                       and a."AptDateTime"::date = r."RxDate"))
           + (select count(*) from raw.labcase l join raw.appointment a using ("AptNum")
                     where a."PatNum" <> l."PatNum" or a."AptDateTime"::date <> l."DateTimeCreated"::date)
           + (select count(*) from raw.statement s join raw.patient p using ("PatNum")
                     where p."Guarantor" <> p."PatNum")
           + (select count(*) from raw.task t where t."ObjectType" = 1 and not exists (select 1 from raw.appointment a
                     where a."PatNum" = t."KeyNum" and a."AptStatus" = 2 and a."AptDateTime"::date = t."DateTimeEntry"::date))
           + (select count(*) from raw.taskhist h join raw.task t using ("TaskNum")
                     where h."KeyNum" <> t."KeyNum" or h."ObjectType" <> t."ObjectType")
           + (select count(*) from raw.disease d where not exists (select 1 from raw.appointment a
                     where a."PatNum" = d."PatNum" and a."AptStatus" = 2 and a."AptDateTime"::date = d."DateTStamp"::date))"#,
    ),
    (
        "a plan's attached procedures and a procedure's notes are of the same patient; claim snapshots repeat their line, tracking follows the sending",
        r#"select (select count(*) from raw.treatplanattach a join raw.treatplan t using ("TreatPlanNum")
                     join raw.procedurelog p using ("ProcNum") where p."PatNum" <> t."PatNum")
           + (select count(*) from raw.procnote n join raw.procedurelog p using ("ProcNum")
                     where p."PatNum" <> n."PatNum")
           + (select count(*) from raw.proctp x join raw.treatplan t using ("TreatPlanNum")
                     where x."PatNum" <> t."PatNum" or x."DateTP" <> t."DateTP")
           + (select count(*) from raw.claimsnapshot x join raw.claimproc c using ("ClaimProcNum")
                     where x."ProcNum" <> c."ProcNum" or (c."ClaimNum" <> 0 and x."Fee" <> c."FeeBilled"))
           + (select count(*) from raw.statementprod x join raw.statement s using ("StatementNum")
                     join raw.procedurelog p on x."ProdType" = 0 and p."ProcNum" = x."FKey"
                     join raw.patient q on q."PatNum" = p."PatNum" where q."Guarantor" <> s."PatNum")
           + (select count(*) from raw.eobattach e join raw.claimpayment c using ("ClaimPaymentNum")
                     where e."DateTCreated" >= '1900-01-02' and e."DateTCreated"::date <> c."CheckDate")
           + (select count(*) from raw.insbluebook b where not exists (select 1 from raw.claimproc c
                     where c."ProcNum" = b."ProcNum" and c."ClaimNum" = b."ClaimNum" and c."PlanNum" = b."PlanNum"
                       and c."Status" = 1 and c."InsPayAmt" = b."InsPayAmt"))
           + (select count(*) from raw.insbluebook b join raw.insplan i using ("PlanNum")
                     where i."CarrierNum" <> b."CarrierNum")
           + (select count(*) from raw.insplan i where i."IsHidden"
                     and exists (select 1 from raw.inssub s where s."PlanNum" = i."PlanNum"))
           + (select count(*) from raw.claimtracking x join raw.claim c using ("ClaimNum")
                     where x."DateTimeEntry" >= '1900-01-02' and x."DateTimeEntry"::date < c."DateSent")"#,
    ),
    (
        "hygienists are secondary providers, and nobody who sees patients or holds them is hidden",
        r#"select (select count(*) from raw.provider p where p."IsSecondary" <>
                     (exists (select 1 from raw.appointment a where a."ProvHyg" = p."ProvNum")
                      and not exists (select 1 from raw.appointment a where a."ProvNum" = p."ProvNum")))
           + (select count(*) from raw.provider p where p."IsHidden"
                     and exists (select 1 from raw.appointment a where p."ProvNum" in (a."ProvNum", a."ProvHyg")))
           + (select count(*) from raw.operatory o where o."IsHidden"
                     and exists (select 1 from raw.appointment a where a."Op" = o."OperatoryNum" and a."AptStatus" in (1, 2, 4, 5)))"#,
    ),
    (
        "a sheet's fields follow distinct field definitions of its sheet definition; group-note items share their group's visit",
        r#"select (select count(*) from raw.sheetfield f join raw.sheet s using ("SheetNum")
                     left join raw.sheetfielddef d using ("SheetFieldDefNum")
                     where d."SheetDefNum" is distinct from s."SheetDefNum")
           + (select count(*) - count(distinct ("SheetNum", "SheetFieldDefNum")) from raw.sheetfield)
           + (select count(*) from raw.procgroupitem i join raw.procedurelog g on g."ProcNum" = i."GroupNum"
                     join raw.procedurelog p on p."ProcNum" = i."ProcNum"
                     where i."ProcNum" = i."GroupNum" or g."AptNum" <> p."AptNum" or g."AptNum" = 0
                       or g."ProcStatus" <> 2 or p."ProcStatus" <> 2)
           + (select count(*) - count(distinct ("ProcNum", "GroupNum")) from raw.procgroupitem)"#,
    ),
    (
        "patient links join two patients at the new patient's first visit; an appointment's log entry is its booking",
        r#"select (select count(*) from raw.patientlink l where l."PatNumFrom" = l."PatNumTo"
                     or not exists (select 1 from raw.appointment a where a."PatNum" = l."PatNumTo"
                       and a."IsNewPatient" and a."AptStatus" = 2 and a."AptDateTime"::date = l."DateTimeLink"::date)
                     or not exists (select 1 from raw.patient p where p."PatNum" = l."PatNumFrom"))
           + (select count(*) from raw.entrylog e where not e."FKeyType" and not exists (select 1 from raw.appointment a
                     where a."AptNum" = e."FKey" and a."SecDateTEntry" = e."EntryDateTime"))"#,
    ),
    (
        "coinsurance benefits state what the simulation pays; a benefit names a category or a code; logins and staff; carriers named as their checks",
        r#"select (select count(*) from raw.benefit b join raw.covcat c using ("CovCatNum")
                     where b."BenefitType" = 1 and b."Percent" <> c."DefaultPercent")
           + (select count(*) from raw.benefit where "CovCatNum" <> 0 and ("CodeNum" <> 0 or "CodeGroupNum" <> 0))
           + (select count(*) from raw.benefit where "PatPlanNum" <> 0
                     or not exists (select 1 from raw.insplan i where i."PlanNum" = benefit."PlanNum"))
           + (select count(*) from raw.benefit b join raw.claimproc c on c."PlanNum" = b."PlanNum" and c."Status" = 1
                     join raw.procedurelog p using ("ProcNum") join raw.procedurecode pc on pc."CodeNum" = p."CodeNum"
                     join raw.covspan s on pc."ProcCode" between s."FromCode" and s."ToCode" and s."CovCatNum" = b."CovCatNum"
                     where b."BenefitType" = 1 and c."FeeBilled" > 0 and c."InsPayAmt" > c."FeeBilled" * b."Percent" / 100.0 + 0.01)
           + (select count(*) from raw.userod where "ProvNum" <> 0 and "EmployeeNum" <> 0)
           + (select count(*) - count(distinct "ProvNum") from raw.userod where "ProvNum" <> 0)
           + (select count(*) - count(distinct "EmployeeNum") from raw.userod where "EmployeeNum" <> 0)
           + (select count(*) from raw.employee where "ReportsTo" >= "EmployeeNum")
           + (select count(*) from raw.claimpayment p join raw.claimproc cp using ("ClaimPaymentNum")
                     join raw.insplan i on i."PlanNum" = cp."PlanNum" join raw.carrier c on c."CarrierNum" = i."CarrierNum"
                     where c."CarrierName" <> p."CarrierName")
           + (select count(*) from raw.userod u join raw.provider p using ("ProvNum")
                     where lower(p."Abbr") <> u."UserName")
           + (select count(*) - count(distinct ("UserNum", "UserGroupNum")) from raw.usergroupattach)
           + (select count(*) from raw.userod u where u."UserGroupNum" <> 0 and u."UserNum" <= (select count(*) from raw.usergroupattach)
                     and not exists (select 1 from raw.usergroupattach a where a."UserNum" = u."UserNum" and a."UserGroupNum" = u."UserGroupNum"))"#,
    ),
    (
        "users' views, subscriptions and expanded image categories are distinct; only new tasks are unread, never by their writer",
        r#"select (select count(*) - count(distinct ("UserNum", "ApptViewNum")) from raw.userodapptview)
           + (select count(*) - count(distinct ("UserNum", "TaskListNum")) from raw.tasksubscription)
           + (select count(*) from raw.tasksubscription where "TaskNum" <> 0)
           + (select count(*) - count(distinct ("UserNum", "Fkey")) from raw.userodpref where "FkeyType" = 0)
           + (select count(*) from raw.userodpref p where "FkeyType" = 0 and not exists (
                     select 1 from raw.definition d where d."DefNum" = p."Fkey" and d."Category" = 18))
           + (select count(*) - count(distinct ("TaskNum", "UserNum")) from raw.taskunread)
           + (select count(*) from raw.taskunread u join raw.task t using ("TaskNum")
                     where t."TaskStatus" <> 0 or t."UserNum" = u."UserNum")
           + (select count(*) from raw.taskunread u where not exists (select 1 from raw.task t where t."TaskNum" = u."TaskNum"))"#,
    ),
    (
        "catalogs are the profile's: a sheet has its definition's type, a prescription one of the templates' drugs (controlled as the template says)",
        r#"select (select count(*) from raw.sheet s join raw.sheetdef d using ("SheetDefNum") where s."SheetType" <> d."SheetType")
           + (select count(*) from raw.rxpat r where not exists (
                     select 1 from raw.rxdef d where d."Drug" = r."Drug" and d."IsControlled" = r."IsControlled"))
           + (select count(*) from raw.medication where "MedName" !~ '^[A-Z]')
           + (select count(*) from raw.tasklist l where "Parent" <> 0 and not exists (
                     select 1 from raw.tasklist p where p."TaskListNum" = l."Parent" and p."Parent" = 0))"#,
    ),
    (
        "a family lives at its guarantor's address, in one of the practice's ZIP codes, as employers do; a referral is a patient, a specialist or a source that is no person; a sheet definition's fields are consecutive, in tab order",
        r#"select (select count(*) from raw.patient p join raw.patient g on g."PatNum" = p."Guarantor"
                     where (p."Address", p."HmPhone", p."Zip") is distinct from (g."Address", g."HmPhone", g."Zip"))
           + (select count(*) from raw.patient p where not exists (
                     select 1 from raw.zipcode z where z."ZipCodeDigits" = p."Zip" and z."City" = p."City" and z."State" = p."State"))
           + (select count(*) from raw.referral where ("PatNum" > 0 and ("IsDoctor" or "NotPerson"))
                     or ("IsDoctor" and ("NotPerson" or "Specialty" = 0))
                     or ("NotPerson" and "FName" <> '')
                     or "Telephone" !~ '^[0-9]{10}$')
           + (select count(*) from raw.employer e where not exists (
                     select 1 from raw.zipcode z where z."ZipCodeDigits" = e."Zip" and z."State" = e."State"))
           + (select count(*) from (select "SheetDefNum" from raw.sheetfielddef group by 1
                     having max("SheetFieldDefNum") - min("SheetFieldDefNum") + 1 <> count(*)
                         or count(distinct "TabOrder") <> count(*)) x)"#,
    ),
    (
        "a deposit is one unearned split on no procedure, by a provider, paid before its transfer; a transfer pairs -a unearned with +a on a procedure",
        r#"select (select count(*) from raw.paysplit s join raw.payment p using ("PayNum")
                     where s."UnearnedType" <> 0 and p."PayType" <> 0
                       and (s."ProcNum" <> 0 or s."ProvNum" = 0 or s."SplitAmt" <> p."PayAmt" or s."SplitAmt" <= 0))
           + (select count(*) from raw.paysplit s join raw.payment p using ("PayNum")
                     where p."PayNote" = 'INCOME TRANSFER'
                       and not ((s."UnearnedType" <> 0 and s."ProcNum" = 0 and s."SplitAmt" < 0)
                                or (s."UnearnedType" = 0 and s."ProcNum" <> 0 and s."SplitAmt" > 0)))
           + (select count(*) from raw.payment t where t."PayNote" = 'INCOME TRANSFER' and not exists (
                     select 1 from raw.payment d join raw.paysplit s using ("PayNum")
                     where d."PatNum" = t."PatNum" and s."UnearnedType" <> 0 and s."SplitAmt" > 0 and d."PayDate" < t."PayDate"))"#,
    ),
    (
        "a perio exam's readings are consecutive rows entered on the exam's day",
        r#"select (select count(*) from raw.periomeasure m join raw.perioexam e using ("PerioExamNum")
                     where m."SecDateTEntry" >= '1900-01-02' and m."SecDateTEntry"::date <> e."ExamDate")
           + (select count(*) from (select "PerioExamNum" from raw.periomeasure group by 1
                     having max("PerioMeasureNum") - min("PerioMeasureNum") + 1 <> count(*)) x)"#,
    ),
    (
        "appointment notices name an appointment of the patient, 1-3 days before it (the built-in reminder lead)",
        r#"select count(*) from raw.commlog c
           where c."CommType" = 224 and not exists (select 1 from raw.appointment a
             where a."AptNum"::text = substring(c."Note" from 'appt #([0-9]+)') and a."PatNum" = c."PatNum"
               and c."CommDateTime" < a."AptDateTime"
               and c."CommDateTime"::date >= a."AptDateTime"::date - 3)"#,
    ),
];

#[test]
fn the_demo_keeps_the_ledger_and_the_contract_and_is_the_same_whatever_the_jobs() {
    let one = support::TestDb::new("scenario_jobs1");
    let four = support::TestDb::new("scenario_jobs4");
    generate(&one, "1");
    generate(&four, "4");
    let target = one.target.clone();
    let (failures, volumes, window) = support::block_on(move || async move {
        let mut c = target.connect().await.unwrap();
        let mut failures = Vec::new();
        for (label, sql) in CHECKS {
            let bad: i64 = sqlx::query_scalar(&format!("select ({sql})::int8"))
                .fetch_one(&mut c)
                .await
                .unwrap_or_else(|e| panic!("{label}: {e}"));
            if bad != 0 {
                failures.push(format!("{label}: {bad}"));
            }
        }
        let mut volumes = Vec::new();
        for table in FAMILY_TABLES {
            let n: i64 = sqlx::query_scalar(&format!("select count(*) from raw.{table}"))
                .fetch_one(&mut c)
                .await
                .unwrap();
            volumes.push(format!("{table} {n}"));
        }
        let (b0, b31, b61, over_90): (f64, f64, f64, f64) = sqlx::query_as(
            r#"select sum("Bal_0_30")::float8, sum("Bal_31_60")::float8, sum("Bal_61_90")::float8,
                      (sum("BalOver90") / nullif(sum("Bal_0_30" + "Bal_31_60" + "Bal_61_90" + "BalOver90"), 0))::float8
               from raw.patient where "Guarantor" = "PatNum""#,
        )
        .fetch_one(&mut c)
        .await
        .unwrap();
        // AR has every aging bucket. The built-in profile's share over 90 days is 0.352
        // (production_aggregates.md §11); at scale 0.2 (1,000 patients) a few large unpaid
        // balances decide it (0.32 to 0.46 over recent generator versions), so the bound here is
        // 0.15; `tests/demo.rs` holds the default scale-1 demo to 0.05.
        assert!(
            b0 > 0.0 && b31 > 0.0 && b61 > 0.0 && over_90 > 0.0,
            "empty aging bucket"
        );
        assert!(
            (over_90 - 0.352).abs() < 0.15,
            "AR over 90 days: {over_90:.3} of AR, profile 0.352"
        );
        let window: i64 = sqlx::query_scalar(
            r#"select count(*) from raw.recall where "DateDue" >= '2023-01-01' and "DateDue" <= '2026-06-30'"#,
        )
        .fetch_one(&mut c)
        .await
        .unwrap();
        (failures, volumes, window)
    });
    eprintln!(
        "volumes at scale 0.2: {}; recalls due in window {window}",
        volumes.join(", ")
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The contract's staged-recall window holds even at scale 0.2 (volumes adapt).
    assert!(
        (5_000..=15_000).contains(&window),
        "{window} recalls due in [2023-01-01, as-of]: outside the contract's 5,000-15,000"
    );
    // Every built-in rule, the dbt contract pack included: zero error findings at scale 0.2.
    let (status, stdout, stderr) = verify(&one);
    assert_eq!(status, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains(" 0 error findings"), "{stdout}");
    // Warnings come only from the contract's warn-level tests that production itself fails (README
    // of the rules: OpenDental's -1 and 0001-01-01 placeholders, encoded recall intervals, ...);
    // the other packs (schedule, dates, status, ledger, referential) raise none.
    // Prepayments are unearned income on no procedure, as production's are (rules/README.md).
    let warnings: Vec<&str> = stdout.lines().filter(|l| l.contains("| warn ")).collect();
    assert!(
        warnings
            .iter()
            .all(|l| l.contains("dbt.w.") || l.contains("dbt.sql.paysplit-allocated ")),
        "{}",
        warnings.join("\n")
    );
    let (a, b) = (checksums(&one), checksums(&four));
    assert!(!a.is_empty());
    assert_eq!(a, b);
    // The calendar rules can fail: book a completed appointment into the chair and time of
    // another one (the second copy is no longer needed intact).
    let target = four.target.clone();
    support::block_on(move || async move {
        let mut c = target.connect().await.unwrap();
        let moved = sqlx::query(
            r#"update raw.appointment a set "Op" = o."Op", "AptDateTime" = o."AptDateTime"
               from (select "AptNum", "Op", "AptDateTime" from raw.appointment
                     where "AptStatus" = 2 order by "AptNum" limit 1) o
               where a."AptNum" = (select min("AptNum") from raw.appointment
                                   where "AptStatus" = 2 and "AptNum" > o."AptNum")"#,
        )
        .execute(&mut c)
        .await
        .unwrap();
        assert_eq!(moved.rows_affected(), 1);
        // The paperwork rules can fail: an appointment notice filed under another patient.
        let refiled = sqlx::query(
            r#"update raw.commlog set "PatNum" = "PatNum" + 1
               where "CommlogNum" = (select min("CommlogNum") from raw.commlog where "Note" ~ 'appt #[0-9]+')"#,
        )
        .execute(&mut c)
        .await
        .unwrap();
        assert_eq!(refiled.rows_affected(), 1);
        // The transfer rule can fail: one side of a prepayment's income transfer changes.
        let unbalanced = sqlx::query(
            r#"update raw.paysplit set "SplitAmt" = "SplitAmt" + 1
               where "SplitNum" = (select min(s."SplitNum") from raw.paysplit s join raw.payment p using ("PayNum")
                                   where p."PayNote" = 'INCOME TRANSFER')"#,
        )
        .execute(&mut c)
        .await
        .unwrap();
        assert_eq!(unbalanced.rows_affected(), 1);
    });
    let (status, stdout, stderr) = verify(&four);
    assert_eq!(status, Some(1), "{stdout}\n{stderr}");
    assert!(stdout.contains("sch.chair-double-booked"), "{stdout}");
    assert!(stdout.contains("pw.notice-of-another-patient"), "{stdout}");
    assert!(stdout.contains("fb.transfer-pairs"), "{stdout}");
}

/// `dentsynth verify` with every built-in rule, as of the demo's as-of: exit status, stdout, stderr.
fn verify(db: &support::TestDb) -> (Option<i32>, String, String) {
    let output = support::dentsynth()
        .args(["verify", "--database-url", &db.url, "--as-of", "2026-06-30"])
        .output()
        .unwrap();
    let (stdout, stderr) = support::text(&output);
    (output.status.code(), stdout, stderr)
}

fn checksums(db: &support::TestDb) -> Vec<(String, String)> {
    let target = db.target.clone();
    support::block_on(move || async move {
        let mut c = target.connect().await.unwrap();
        sqlx::query_as::<_, (String, String)>(
            "select table_name, checksum from dentsynth.manifest_table where schema_name = 'raw' order by 1",
        )
        .fetch_all(&mut c)
        .await
        .unwrap()
    })
}
