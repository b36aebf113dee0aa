//! `--quirks production`: the data-quality quirks of the real production database, at its rates.
//!
//! The default demo is clean: every error-severity rule of `verify` holds on it. Some users want to
//! test their own data-cleaning logic, so this mode adds what production really looks like: sentinel
//! dates where the contract expects real ones, orphaned keys (MyISAM, no foreign keys, hard deletes),
//! duplicated lines, negative and extreme amounts, and a few stale states. The facts and counts are
//! those of `../shared/calibration/production_aggregates.md` §15 and the sections it cites, copied
//! with their provenance into `introspection/opendental/README.md` ("Production quirks"); a unit
//! test keeps that table and this catalogue in step.
//!
//! # How a quirk is applied
//!
//! Each quirk is one SQL statement run inside the build schema after the COPY phase and before any
//! key or index exists, so a failed run leaves the previous demo untouched (the build schema is
//! dropped) and the swap publishes clean rows and quirks together. A quirk affects
//! `n = max(1, round(rate x rows))` rows of its table (`rows` = the rows generated for it; rates are
//! production's affected rows over production's rows of that table, so they follow `--scale`; a
//! quirk is never rounded away, so every quirk is present even in a small demo). The `n` rows are
//! the first candidates in the order of a score, the first 60 bits of
//! `md5("<seed>/<quirk id>/<key>")`, then the key: a pure function of the seed, the quirk and the
//! row's key, evaluated on rows that are themselves a function of the seed, so the result never
//! depends on `--jobs`. Keys that must not exist ("orphans") are taken above the parent table's
//! largest key. Copies (duplicates) are inserted first, from clean rows, then the updates run in
//! catalogue order; candidate filters keep one quirk from undoing another.
//!
//! No randomness and no clock: this module only writes SQL text. `load` runs it and records, per
//! quirk, the rows it touched in the run manifest (`dentsynth.manifest_quirk`).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::db::{quote_ident, quote_literal};
use crate::profile::Profile;

/// Which quirks a run adds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Mode {
    /// The clean demo.
    #[default]
    None,
    /// Production's data-quality quirks, at production's rates.
    Production,
}

impl Mode {
    /// The accepted spellings, for messages and help.
    pub const ACCEPTED: [&'static str; 2] = ["none", "production"];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::None => "none",
            Mode::Production => "production",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown `--quirks` value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown --quirks mode {0:?}: the accepted values are none and production")]
pub struct UnknownMode(pub String);

impl FromStr for Mode {
    type Err = UnknownMode;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "none" => Ok(Mode::None),
            "production" => Ok(Mode::Production),
            other => Err(UnknownMode(other.to_string())),
        }
    }
}

/// The family a quirk belongs to (production_aggregates.md §15 items).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// §15.1: 0001-01-01 / 1900-01-01 for "unset", and dates typed into the wrong field.
    SentinelDate,
    /// §15.5: keys whose parent row does not exist.
    Orphan,
    /// §15.6: repeated lines.
    Duplicate,
    /// §15.7: negative and extreme amounts.
    Amount,
    /// §15.9: states and dates that contradict each other.
    Stale,
}

/// What a quirk's statement does. SQL fragments see the row as `t`, and the chosen row's rank
/// (1..n, in score order) as `c.rank` and its score (a non-negative bigint) as `c.h`. Two
/// placeholders: `{max:table.Column}` is the largest value of that column (0 for an empty table),
/// `{schema}` the build schema.
#[derive(Debug, Clone, Copy)]
enum Action {
    /// Overwrite columns of `n` rows chosen among those matching `filter`.
    Update {
        filter: &'static str,
        set: &'static [(&'static str, &'static str)],
    },
    /// Insert copies of `n` rows chosen among those matching `filter`, with new keys above the
    /// table's largest; `set` overrides columns of the copies.
    Copy {
        filter: &'static str,
        set: &'static [(&'static str, &'static str)],
    },
    /// Copy whole appointment histories (in score order of their AptNum, until `n` rows) under
    /// appointment numbers that do not exist: the history of hard-deleted appointments.
    CopyHistories,
}

/// One entry of the catalogue.
#[derive(Debug, Clone, Copy)]
pub struct Quirk {
    /// Stable identifier: `<kind>.<table>.<column>[.<variant>]`.
    pub id: &'static str,
    pub kind: Kind,
    pub table: &'static str,
    /// The column the quirk is about (the key, for duplicates).
    pub column: &'static str,
    /// What the quirk does, in words.
    pub what: &'static str,
    /// Production's affected rows ...
    pub count: f64,
    /// ... among this many rows of the table (or of the scope the count was taken in).
    pub of: f64,
    /// Where the numbers come from (production_aggregates.md sections).
    pub source: &'static str,
    action: Action,
}

/// What the clean demo leaves out of the profile: the statistics that production's sentinel-date
/// quirks make (a share of `0001-01-01` where the clean demo has a real date), as adaptations,
/// so that fidelity reports them as departures with their reason rather than as misses.
pub fn left_out(profile: &crate::profile::Profile) -> Vec<super::scenario::Adaptation> {
    CATALOGUE
        .iter()
        .filter(|q| q.kind == Kind::SentinelDate && q.id.split('.').count() == 3)
        .filter(|q| profile.tables.contains_key(q.table))
        .map(|q| super::scenario::Adaptation {
            table: q.table.to_string(),
            statistic: q.column.to_string(),
            target: q.rate(),
            achieved: 0.0,
            reason: "a production quirk the clean demo leaves out (sentinel dates, production_aggregates.md §15.1); --quirks production adds it".to_string(),
        })
        .collect()
}

impl Quirk {
    /// Affected rows per row of the table.
    pub fn rate(&self) -> f64 {
        self.count / self.of
    }

    /// How many rows the quirk affects in a table of `rows` rows: at least one when there are rows.
    pub fn target(&self, rows: u64) -> u64 {
        if rows == 0 {
            return 0;
        }
        ((self.rate() * rows as f64).round() as u64).max(1)
    }
}

const SENTINEL: &str = "date '0001-01-01'";

/// The catalogue, in the order the quirks are applied (copies first, from clean rows).
pub static CATALOGUE: &[Quirk] = &[
    // ---- duplicates (copies of clean rows, so inserted first) ----
    Quirk {
        id: "duplicate.claimproc.supplemental",
        kind: Kind::Duplicate,
        table: "claimproc",
        column: "ClaimProcNum",
        what: "an extra claimproc line for the same claim and procedure: a supplemental (Status 4) with FeeBilled 0 carrying the payment again",
        count: 3430.0,
        of: 230128.0,
        source: "production_aggregates.md §8 and §15.6: about 3,430 fan-out extras from several claimprocs per claim and procedure (resubmits and supplementals with FeeBilled 0 and a payment); of 230,128 claimproc rows (§1.1)",
        action: Action::Copy {
            filter: r#"t."ClaimNum" <> 0 and t."Status" = 1"#,
            set: &[
                ("Status", "4"),
                ("FeeBilled", "0"),
                ("InsPayEst", "0"),
                ("DedApplied", "0"),
            ],
        },
    },
    Quirk {
        id: "duplicate.insplan.case-variant",
        kind: Kind::Duplicate,
        table: "insplan",
        column: "PlanNum",
        what: "a second plan with the same GroupNum, carrier and employer whose GroupName differs only in case (\"UPS\" / \"ups\")",
        count: 57.0,
        of: 6381.0,
        source: "production_aggregates.md §7 and §15.6: 57 duplicated GroupNum + carrier + employer combinations, including case variants; of 6,381 insplan rows (§1.1)",
        action: Action::Copy {
            filter: "true",
            set: &[(
                "GroupName",
                r#"case when t."GroupName" = upper(t."GroupName") then lower(t."GroupName") else upper(t."GroupName") end"#,
            )],
        },
    },
    Quirk {
        id: "orphan.histappointment.AptNum",
        kind: Kind::Orphan,
        table: "histappointment",
        column: "AptNum",
        what: "history rows of hard-deleted appointments: whole histories copied under AptNums that no appointment has",
        count: 13273.0,
        of: 237000.0,
        source: "production_aggregates.md §4.5 and §15.5: about 3,116 hard-deleted appointments still have about 13,273 history rows; of about 237,000 history rows in the same 2023-onward scope (§1.4, §4.5; §1.1's 27,805 is after a 2026 purge)",
        action: Action::CopyHistories,
    },
    // ---- sentinel dates and dates typed into the wrong field ----
    Quirk {
        id: "sentinel.patient.Birthdate.active",
        kind: Kind::SentinelDate,
        table: "patient",
        column: "Birthdate",
        what: "an active patient (PatStatus 0) with birth date 0001-01-01 (the clean demo keeps that sentinel on inactive patients only)",
        count: 496.0,
        of: 35135.0,
        source: "production_aggregates.md §2 and §15.1: of about 2,614 missing birth dates, 496 are active patients; of 35,135 patient rows (§1.1)",
        action: Action::Update {
            filter: r#"t."PatStatus" = 0 and t."Birthdate" > date '1900-01-01'"#,
            set: &[("Birthdate", SENTINEL)],
        },
    },
    Quirk {
        id: "sentinel.patient.Birthdate.1900",
        kind: Kind::SentinelDate,
        table: "patient",
        column: "Birthdate",
        what: "birth date 1900-01-01 (an age above 120)",
        count: 10.0,
        of: 35135.0,
        source: "production_aggregates.md §2 and §15.1: 9-11 patients (midpoint 10) have DOB 1900-01-01; of 35,135 patient rows (§1.1)",
        action: Action::Update {
            filter: r#"t."Birthdate" > date '1900-01-01'"#,
            set: &[("Birthdate", "date '1900-01-01'")],
        },
    },
    Quirk {
        id: "sentinel.paysplit.ProcDate",
        kind: Kind::SentinelDate,
        table: "paysplit",
        column: "ProcDate",
        what: "ProcDate 0001-01-01 on a payment split",
        count: 85654.0,
        of: 1488763.0,
        source: "production_aggregates.md §9 and §15.1: about 85,654 splits have ProcDate 0001-01-01; of 1,488,763 paysplit rows (§1.1)",
        action: Action::Update {
            filter: r#"t."ProcDate" > date '1900-01-01'"#,
            set: &[("ProcDate", SENTINEL)],
        },
    },
    Quirk {
        id: "sentinel.inssub.DateEffective",
        kind: Kind::SentinelDate,
        table: "inssub",
        column: "DateEffective",
        what: "an empty (0001-01-01) effective date on a subscription",
        count: 943.0,
        of: 15010.0,
        source: "production_aggregates.md §7 and §15.1: 943 subscriptions (about 7% of active ones) have DateEffective 0001-01-01; of 15,010 inssub rows (§1.1)",
        action: Action::Update {
            filter: r#"t."DateEffective" > date '1999-12-31'"#,
            set: &[("DateEffective", SENTINEL)],
        },
    },
    Quirk {
        id: "sentinel.inssub.DateEffective.birthdate",
        kind: Kind::SentinelDate,
        table: "inssub",
        column: "DateEffective",
        what: "a birth date typed into the effective date (a day in 1949-1998)",
        count: 20.0,
        of: 15010.0,
        source: "production_aggregates.md §7: 20 subscriptions have a birth date (1949-1999) typed into DateEffective; of 15,010 inssub rows (§1.1)",
        action: Action::Update {
            filter: r#"t."DateEffective" > date '1999-12-31'"#,
            set: &[("DateEffective", "date '1949-01-01' + (c.h % 18262)::int")],
        },
    },
    Quirk {
        id: "sentinel.insverify.DateTimeEntry",
        kind: Kind::SentinelDate,
        table: "insverify",
        column: "DateTimeEntry",
        what: "an insurance verification without a creation time (0001-01-01 00:00:00)",
        count: 6975.0,
        of: 28025.0,
        source: "production_aggregates.md §7 and §15.1: 6,975 verification rows have no creation date; of 28,025 insverify rows (§1.1)",
        action: Action::Update {
            filter: r#"t."DateTimeEntry" > timestamp '1900-01-01 00:00:00'"#,
            set: &[("DateTimeEntry", "timestamp '0001-01-01 00:00:00'")],
        },
    },
    // ---- orphans ----
    Quirk {
        id: "orphan.paysplit.AdjNum",
        kind: Kind::Orphan,
        table: "paysplit",
        column: "AdjNum",
        what: "a split attached to an adjustment that no longer exists (ProcNum 0)",
        count: 1431.0,
        of: 1488763.0,
        source: "production_aggregates.md §9 and §15.5: 1,431 splits point at missing adjustments; of 1,488,763 paysplit rows (§1.1)",
        action: Action::Update {
            filter: r#"t."AdjNum" = 0"#,
            set: &[
                ("ProcNum", "0"),
                ("AdjNum", "{max:adjustment.AdjNum} + c.rank"),
            ],
        },
    },
    Quirk {
        id: "orphan.paysplit.ProcNum",
        kind: Kind::Orphan,
        table: "paysplit",
        column: "ProcNum",
        what: "a split attached to a procedure that no longer exists",
        count: 7327.0,
        of: 1488763.0,
        source: "production_aggregates.md §5, §9 and §15.5: 7,327 splits point at missing procedures; of 1,488,763 paysplit rows (§1.1)",
        action: Action::Update {
            filter: r#"t."ProcNum" <> 0"#,
            set: &[("ProcNum", "{max:procedurelog.ProcNum} + c.rank")],
        },
    },
    Quirk {
        id: "orphan.paysplit.PayNum",
        kind: Kind::Orphan,
        table: "paysplit",
        column: "PayNum",
        what: "a split of a payment that was deleted",
        count: 8.0,
        of: 1488763.0,
        source: "production_aggregates.md §9: 8 splits point at 3 deleted payments; of 1,488,763 paysplit rows (§1.1)",
        action: Action::Update {
            filter: "true",
            set: &[("PayNum", "{max:payment.PayNum} + c.rank")],
        },
    },
    Quirk {
        id: "orphan.claimproc.ProcNum",
        kind: Kind::Orphan,
        table: "claimproc",
        column: "ProcNum",
        what: "a claimproc on a claim whose procedure no longer exists",
        count: 3368.0,
        of: 230128.0,
        source: "production_aggregates.md §5, §8 and §15.5: 3,002 claimprocs point at deleted procedures plus 366 recent ones at ProcNums that do not exist (3,368); of 230,128 claimproc rows (§1.1)",
        action: Action::Update {
            // Pending and received lines (production does not say which); pending ones alone are
            // too few at small scales for the rate.
            filter: r#"t."ClaimNum" <> 0 and t."Status" in (0, 1) and t."ProcNum" <> 0"#,
            set: &[("ProcNum", "{max:procedurelog.ProcNum} + c.rank")],
        },
    },
    Quirk {
        id: "orphan.claimproc.ProcNum.estimate",
        kind: Kind::Orphan,
        table: "claimproc",
        column: "ProcNum",
        what: "an estimate (ClaimNum 0) whose procedure no longer exists",
        count: 4627.0,
        of: 93215.0,
        source: "production_aggregates.md §8 and §15.5: 4,627 ClaimNum-0 rows point at procedures that no longer exist; of the 93,215 claimproc rows of the 2023-onward fact they were counted in",
        action: Action::Update {
            filter: r#"t."ClaimNum" = 0 and t."ProcNum" <> 0"#,
            set: &[("ProcNum", "{max:procedurelog.ProcNum} + c.rank")],
        },
    },
    Quirk {
        id: "orphan.claimproc.ClaimNum",
        kind: Kind::Orphan,
        table: "claimproc",
        column: "ClaimNum",
        what: "a supplemental claimproc (Status 4) whose claim no longer exists",
        count: 11.0,
        of: 230128.0,
        source: "production_aggregates.md §8 and §15.5: 11 orphan supplemental claimprocs point at missing claims; of 230,128 claimproc rows (§1.1)",
        action: Action::Update {
            filter: r#"t."ClaimNum" <> 0 and t."Status" = 0"#,
            set: &[("ClaimNum", "{max:claim.ClaimNum} + c.rank"), ("Status", "4")],
        },
    },
    Quirk {
        id: "orphan.adjustment.ProcNum",
        kind: Kind::Orphan,
        table: "adjustment",
        column: "ProcNum",
        what: "an adjustment attached to a procedure that no longer exists",
        count: 72.0,
        of: 262946.0,
        source: "production_aggregates.md §5: 72 adjustments point at deleted procedures; of 262,946 adjustment rows (§1.1)",
        action: Action::Update {
            filter: r#"t."ProcNum" <> 0"#,
            set: &[("ProcNum", "{max:procedurelog.ProcNum} + c.rank")],
        },
    },
    Quirk {
        id: "orphan.procedurelog.PlannedAptNum",
        kind: Kind::Orphan,
        table: "procedurelog",
        column: "PlannedAptNum",
        what: "a procedure pointing at a planned appointment that no longer exists",
        count: 44.0,
        of: 101142.0,
        source: "production_aggregates.md §5: 44 procedures point at planned appointments that no longer exist; of the about 101,142 staged procedures the staging model counts (§1.4)",
        action: Action::Update {
            filter: r#"t."PlannedAptNum" = 0"#,
            set: &[("PlannedAptNum", "{max:appointment.AptNum} + c.rank")],
        },
    },
    Quirk {
        id: "orphan.treatplanattach.ProcNum",
        kind: Kind::Orphan,
        table: "treatplanattach",
        column: "ProcNum",
        what: "a treatment-plan attachment whose procedure is not in procedurelog",
        count: 26860.0,
        of: 55180.0,
        source: "production_aggregates.md §14 and §15.5: 49% (26,860) of treatplanattach rows point at procedures not in procedurelog; of the 55,180 rows of that count (§1.1 now lists 59,423)",
        action: Action::Update {
            filter: "true",
            set: &[("ProcNum", "{max:procedurelog.ProcNum} + c.rank")],
        },
    },
    Quirk {
        id: "orphan.refattach.ReferralNum",
        kind: Kind::Orphan,
        table: "refattach",
        column: "ReferralNum",
        what: "a referral attachment whose referral no longer exists",
        count: 497.0,
        of: 8674.0,
        source: "production_aggregates.md §14 and §15.5: 497 refattach rows point at missing referrals; of 8,674 refattach rows (§1.1)",
        action: Action::Update {
            filter: "true",
            set: &[("ReferralNum", "{max:referral.ReferralNum} + c.rank")],
        },
    },
    Quirk {
        id: "orphan.refattach.ProvNum",
        kind: Kind::Orphan,
        table: "refattach",
        column: "ProvNum",
        what: "a referral attachment naming a provider that does not exist (one of three deleted ProvNums)",
        count: 994.0,
        of: 8674.0,
        source: "production_aggregates.md §14: about 994 refattach rows point at missing providers; of 8,674 refattach rows (§1.1)",
        action: Action::Update {
            filter: "true",
            set: &[("ProvNum", "{max:provider.ProvNum} + 1 + c.h % 3")],
        },
    },
    Quirk {
        id: "orphan.patient.SecProv",
        kind: Kind::Orphan,
        table: "patient",
        column: "SecProv",
        what: "a secondary provider that does not exist (one of three deleted ProvNums)",
        count: 4662.0,
        of: 35135.0,
        source: "production_aggregates.md §2 and §15.5: 4,662 patients have SecProv 0 or a ProvNum that does not exist (the source does not split the two; all are made missing here, an upper bound); of 35,135 patient rows (§1.1)",
        action: Action::Update {
            filter: "true",
            set: &[("SecProv", "{max:provider.ProvNum} + 1 + c.h % 3")],
        },
    },
    Quirk {
        id: "orphan.patient.FeeSched",
        kind: Kind::Orphan,
        table: "patient",
        column: "FeeSched",
        what: "fee schedule 55, which does not exist",
        count: 3.0,
        of: 35135.0,
        source: "production_aggregates.md §2 and §15.10: 3 patients have FeeSched 55, a value not in feesched; of 35,135 patient rows (§1.1)",
        action: Action::Update {
            filter: "true",
            set: &[(
                "FeeSched",
                r#"case when exists (select 1 from {schema}."feesched" f where f."FeeSchedNum" = 55) then {max:feesched.FeeSchedNum} + 1 else 55 end"#,
            )],
        },
    },
    Quirk {
        id: "orphan.scheduleop.ScheduleNum",
        kind: Kind::Orphan,
        table: "scheduleop",
        column: "ScheduleNum",
        what: "a schedule-operatory link whose schedule no longer exists",
        count: 16364.0,
        of: 42316.0,
        source: "production_aggregates.md §3 and §15.5: about 16,364 scheduleop rows point at missing schedules; of 42,316 scheduleop rows (§1.1)",
        action: Action::Update {
            filter: "true",
            set: &[("ScheduleNum", "{max:schedule.ScheduleNum} + c.rank")],
        },
    },
    Quirk {
        id: "orphan.sheetfield.SheetNum",
        kind: Kind::Orphan,
        table: "sheetfield",
        column: "SheetNum",
        what: "a sheet field whose sheet no longer exists",
        count: 2977.0,
        of: 1657007.0,
        source: "production_aggregates.md §14 and §15.5: 2,977 sheetfields point at missing sheets; of 1,657,007 sheetfield rows (§1.1)",
        action: Action::Update {
            filter: "true",
            set: &[("SheetNum", "{max:sheet.SheetNum} + c.rank")],
        },
    },
    Quirk {
        id: "orphan.insverifyhist.InsVerifyNum",
        kind: Kind::Orphan,
        table: "insverifyhist",
        column: "InsVerifyNum",
        what: "a verification history row without its insverify row",
        count: 1987.0,
        of: 52327.0,
        source: "production_aggregates.md §7 and §15.5: 1,987 history rows have no parent insverify row; of 52,327 insverifyhist rows (§1.1)",
        action: Action::Update {
            filter: "true",
            set: &[("InsVerifyNum", "{max:insverify.InsVerifyNum} + c.rank")],
        },
    },
    Quirk {
        id: "orphan.statement.DocNum",
        kind: Kind::Orphan,
        table: "statement",
        column: "DocNum",
        what: "a statement pointing at a document that does not exist",
        count: 25.0,
        of: 31620.0,
        source: "production_aggregates.md §14: 25 statements point at missing documents; of 31,620 statement rows (§1.1)",
        action: Action::Update {
            filter: "true",
            set: &[("DocNum", "{max:document.DocNum} + c.rank")],
        },
    },
    Quirk {
        id: "orphan.insplan.FeeSched",
        kind: Kind::Orphan,
        table: "insplan",
        column: "FeeSched",
        what: "a plan pointing at a deleted fee schedule",
        count: 22.0,
        of: 6381.0,
        source: "production_aggregates.md §7: 22 plans point at deleted fee schedules; of 6,381 insplan rows (§1.1)",
        action: Action::Update {
            filter: "true",
            set: &[("FeeSched", "{max:feesched.FeeSchedNum} + c.rank")],
        },
    },
    Quirk {
        id: "orphan.insplan.AllowedFeeSched",
        kind: Kind::Orphan,
        table: "insplan",
        column: "AllowedFeeSched",
        what: "a plan pointing at a deleted allowed-fee schedule",
        count: 11.0,
        of: 6381.0,
        source: "production_aggregates.md §7: 11 plans point at deleted allowed-fee schedules; of 6,381 insplan rows (§1.1)",
        action: Action::Update {
            filter: "true",
            set: &[("AllowedFeeSched", "{max:feesched.FeeSchedNum} + c.rank")],
        },
    },
    Quirk {
        id: "orphan.insplan.CopayFeeSched",
        kind: Kind::Orphan,
        table: "insplan",
        column: "CopayFeeSched",
        what: "a plan pointing at a deleted copay schedule",
        count: 3.0,
        of: 6381.0,
        source: "production_aggregates.md §7: 3 plans point at deleted copay schedules; of 6,381 insplan rows (§1.1)",
        action: Action::Update {
            filter: "true",
            set: &[("CopayFeeSched", "{max:feesched.FeeSchedNum} + c.rank")],
        },
    },
    Quirk {
        id: "orphan.insplan.CarrierNum",
        kind: Kind::Orphan,
        table: "insplan",
        column: "CarrierNum",
        what: "a plan without a carrier (CarrierNum 0)",
        count: 1.0,
        of: 6381.0,
        source: "production_aggregates.md §7: one plan has no carrier; of 6,381 insplan rows (§1.1)",
        action: Action::Update {
            filter: "true",
            set: &[("CarrierNum", "0")],
        },
    },
    // ---- negative and extreme amounts ----
    Quirk {
        id: "amount.claimpayment.refund-positive",
        kind: Kind::Amount,
        table: "claimpayment",
        column: "PayType",
        what: "an insurance check on a refund pay type (645, 646, 647 or 661) with a positive amount",
        count: 257.0,
        of: 22677.0,
        source: "production_aggregates.md §8 and §15.7: 257 refund-type checks have positive amounts; of 22,677 claimpayment rows (§1.1)",
        action: Action::Update {
            filter: r#"t."CheckAmt" > 0"#,
            set: &[("PayType", "(array[645, 646, 647, 661])[1 + c.h % 4]")],
        },
    },
    Quirk {
        id: "amount.procedurelog.deleted-negative-fee",
        kind: Kind::Amount,
        table: "procedurelog",
        column: "ProcFee",
        what: "a deleted procedure (ProcStatus 6) with a negative fee and DateEntryC 0001-01-01",
        count: 3273.0,
        of: 818050.0,
        source: "production_aggregates.md §5 and §15.7: 3,273 status-6 procedures have a negative ProcFee and DateEntryC 0001-01-01; of 818,050 procedurelog rows (§1.1)",
        action: Action::Update {
            filter: r#"t."ProcStatus" = 6 and t."ProcFee" > 0"#,
            set: &[("ProcFee", r#"-t."ProcFee""#), ("DateEntryC", SENTINEL)],
        },
    },
    Quirk {
        id: "amount.procedurelog.fee-x100",
        kind: Kind::Amount,
        table: "procedurelog",
        column: "ProcFee",
        what: "a x100 decimal typo in a procedure fee ($150-$260 becomes $15,000-$26,000, like $116.11 -> $11,611 and $255 -> $25,500)",
        count: 17.0,
        of: 101142.0,
        source: "production_aggregates.md §5, §6 and §15.7: 17 procedures above $15k (decimal errors of x100 among them); of the about 101,142 staged procedures the staging model counts (§1.4)",
        action: Action::Update {
            filter: r#"t."ProcFee" between 150 and 260"#,
            set: &[("ProcFee", r#"t."ProcFee" * 100"#)],
        },
    },
    Quirk {
        id: "amount.fee.Amount-x100",
        kind: Kind::Amount,
        table: "fee",
        column: "Amount",
        what: "a x100 decimal typo in a fee schedule amount ($11,611 for $116.11)",
        count: 3.0,
        of: 80845.0,
        source: "production_aggregates.md §6 and §15.7: 3 fee rows carry x100 decimal errors ($11,611 and 2 x $25,500); of 80,845 fee rows (§1.1)",
        action: Action::Update {
            filter: r#"t."Amount" between 100 and 260"#,
            set: &[("Amount", r#"t."Amount" * 100"#)],
        },
    },
    Quirk {
        id: "amount.claimproc.AllowedOverride-x100",
        kind: Kind::Amount,
        table: "claimproc",
        column: "AllowedOverride",
        what: "an allowed amount 100 times the billed fee ($10,380 against $103.80)",
        count: 3.0,
        of: 93215.0,
        source: "production_aggregates.md §8 and §15.7: allowed amounts of $10,380, $10,934 and $252,252 against billed amounts of about $100-$250 (3 rows); of the 93,215 claimproc rows of the fact they were found in",
        action: Action::Update {
            filter: r#"t."FeeBilled" between 100 and 250"#,
            set: &[("AllowedOverride", r#"t."FeeBilled" * 100"#)],
        },
    },
    Quirk {
        id: "amount.claimproc.paid-above-billed",
        kind: Kind::Amount,
        table: "claimproc",
        column: "InsPayAmt",
        what: "insurance paid more than billed (100.3% to 3,122% of FeeBilled)",
        count: 30.0,
        of: 93215.0,
        source: "production_aggregates.md §8 and §15.7: 30 claimprocs show paid > billed (100.3% to 3,122%); of the 93,215 claimproc rows of the fact they were found in",
        action: Action::Update {
            filter: r#"t."Status" = 1 and t."FeeBilled" > 0"#,
            set: &[(
                "InsPayAmt",
                r#"round((t."FeeBilled" * (1.003 + (c.h % 30218) / 1000.0))::numeric, 2)"#,
            )],
        },
    },
    Quirk {
        id: "amount.adjustment.extreme-discount",
        kind: Kind::Amount,
        table: "adjustment",
        column: "AdjAmt",
        what: "a provider discount (AdjType 474) of -$10,246 to -$27,680, more than the procedure's fee",
        count: 104.0,
        of: 262946.0,
        source: "production_aggregates.md §10 and §15.7: provider and employee discounts of -$27,680, -$14,340, -$12,636 and -$10,246 leave 98-109 procedures (midpoint 104) with a negative effective fee; of 262,946 adjustment rows (§1.1)",
        action: Action::Update {
            filter: r#"t."AdjAmt" < 0"#,
            set: &[
                ("AdjAmt", "(array[-27680, -14340, -12636, -10246])[1 + c.h % 4]"),
                ("AdjType", "474"),
            ],
        },
    },
    // ---- stale states ----
    Quirk {
        id: "stale.appointment.scheduled-in-past",
        kind: Kind::Stale,
        table: "appointment",
        column: "AptStatus",
        what: "a past appointment still Scheduled (AptStatus 1)",
        count: 8.0,
        of: 16088.0,
        source: "production_aggregates.md §4.1 and §15.9: 8 of 16,088 past appointments are still Scheduled (an earlier count gave 409)",
        action: Action::Update {
            filter: r#"t."AptStatus" = 2"#,
            set: &[("AptStatus", "1")],
        },
    },
    Quirk {
        id: "stale.procedurelog.DateComplete-before-ProcDate",
        kind: Kind::Stale,
        table: "procedurelog",
        column: "DateComplete",
        what: "a completed procedure whose DateComplete is 1-30 days before its ProcDate",
        count: 21.0,
        of: 101142.0,
        source: "production_aggregates.md §5 and §15.9: 21 procedures have DateComplete earlier than ProcDate; of the about 101,142 staged procedures the staging model counts (§1.4)",
        action: Action::Update {
            filter: r#"t."ProcStatus" = 2 and t."ProcDate" > date '1900-01-01'"#,
            set: &[("DateComplete", r#"t."ProcDate" - (1 + c.h % 30)::int"#)],
        },
    },
    Quirk {
        id: "stale.inssub.DateTerm-before-DateEffective",
        kind: Kind::Stale,
        table: "inssub",
        column: "DateTerm",
        what: "a subscription terminated 1-365 days before it took effect",
        count: 1.0,
        of: 15010.0,
        source: "production_aggregates.md §7: 1 subscription has its termination before its effective date; of 15,010 inssub rows (§1.1)",
        action: Action::Update {
            filter: r#"t."DateEffective" > date '1999-12-31'"#,
            set: &[("DateTerm", r#"t."DateEffective" - (1 + c.h % 365)::int"#)],
        },
    },
];

/// One quirk's statement for a run.
#[derive(Debug, Clone)]
pub struct Planned {
    pub quirk: &'static Quirk,
    /// Rows the quirk aims at (fewer when fewer rows qualify).
    pub target: u64,
    pub sql: String,
}

/// What a quirk did in a run (the manifest's `dentsynth.manifest_quirk` rows).
#[derive(Debug, Clone, PartialEq)]
pub struct QuirkReport {
    pub id: String,
    pub table: String,
    pub column: String,
    pub rate: f64,
    pub target: u64,
    /// Rows updated or inserted.
    pub rows: u64,
}

/// The quirks of a mode.
pub fn catalogue(mode: Mode) -> &'static [Quirk] {
    match mode {
        Mode::None => &[],
        Mode::Production => CATALOGUE,
    }
}

/// The statements of a run, in order: one per quirk whose table has rows and whose table and
/// columns (its own and the parents it names) the profile has. `rows` = rows generated per table.
pub fn plan(
    mode: Mode,
    profile: &Profile,
    schema: &str,
    seed: u64,
    rows: &BTreeMap<String, u64>,
) -> Vec<Planned> {
    catalogue(mode)
        .iter()
        .filter(|quirk| applicable(quirk, profile))
        .filter_map(|quirk| {
            let target = quirk.target(rows.get(quirk.table).copied().unwrap_or(0));
            (target > 0).then(|| Planned {
                quirk,
                target,
                sql: statement(quirk, profile, schema, seed, target),
            })
        })
        .collect()
}

/// The tables a list of planned quirks changes (sorted, once each).
pub fn touched_tables(planned: &[Planned]) -> Vec<String> {
    let mut tables: Vec<String> = planned.iter().map(|p| p.quirk.table.to_string()).collect();
    tables.sort();
    tables.dedup();
    tables
}

/// The single-column primary key of a table.
fn key_column<'p>(profile: &'p Profile, table: &str) -> Option<&'p str> {
    let key = profile.tables.get(table)?.structure.primary_key.as_ref()?;
    match key.columns.as_slice() {
        [single] => Some(single.as_str()),
        _ => None,
    }
}

fn has_column(profile: &Profile, table: &str, column: &str) -> bool {
    profile
        .tables
        .get(table)
        .is_some_and(|t| t.structure.column(column).is_some())
}

/// The `{max:table.Column}` references of a fragment.
fn max_references(fragment: &str) -> Vec<(&str, &str)> {
    fragment
        .match_indices("{max:")
        .filter_map(|(start, _)| {
            let rest = &fragment[start + 5..];
            let reference = &rest[..rest.find('}')?];
            reference.split_once('.')
        })
        .collect()
}

fn fragments(quirk: &Quirk) -> Vec<&'static str> {
    match quirk.action {
        Action::Update { filter, set } | Action::Copy { filter, set } => std::iter::once(filter)
            .chain(set.iter().map(|(_, expression)| *expression))
            .collect(),
        Action::CopyHistories => Vec::new(),
    }
}

/// Whether the profile has everything the quirk names.
fn applicable(quirk: &Quirk, profile: &Profile) -> bool {
    if key_column(profile, quirk.table).is_none() || !has_column(profile, quirk.table, quirk.column) {
        return false;
    }
    let columns_ok = match quirk.action {
        Action::Update { set, .. } | Action::Copy { set, .. } => set
            .iter()
            .all(|(column, _)| has_column(profile, quirk.table, column)),
        Action::CopyHistories => has_column(profile, "appointment", "AptNum"),
    };
    columns_ok
        && fragments(quirk)
            .iter()
            .flat_map(|fragment| max_references(fragment))
            .all(|(table, column)| has_column(profile, table, column))
}

/// Replaces `{schema}` and `{max:table.Column}` in a fragment.
fn expand(fragment: &str, schema: &str) -> String {
    let s = quote_ident(schema);
    let mut text = fragment.replace("{schema}", &s);
    for (table, column) in max_references(fragment) {
        text = text.replace(
            &format!("{{max:{table}.{column}}}"),
            &format!(
                "(select coalesce(max(m.{c}), 0) from {s}.{t} m)",
                c = quote_ident(column),
                t = quote_ident(table)
            ),
        );
    }
    text
}

/// The score of a row: the first 60 bits of md5("<seed>/<quirk id>/<key>"), a non-negative bigint.
fn score(seed: u64, id: &str, key: &str) -> String {
    format!(
        "('x' || substr(md5({} || {key}::text), 1, 15))::bit(60)::bigint",
        quote_literal(&format!("{seed}/{id}/"))
    )
}

/// The chosen rows: key, score `h` and rank 1..n among the candidates.
fn chosen(quirk: &Quirk, schema: &str, key: &str, filter: &str, seed: u64, n: u64) -> String {
    let k = format!("t.{}", quote_ident(key));
    let h = score(seed, quirk.id, &k);
    format!(
        "with c as (select {k} as key, {h} as h, row_number() over (order by {h}, {k}) as rank \
         from {s}.{t} as t where {filter} order by 2, 1 limit {n})",
        s = quote_ident(schema),
        t = quote_ident(quirk.table),
        filter = expand(filter, schema),
    )
}

/// The SQL statement of one quirk affecting `n` rows.
fn statement(quirk: &Quirk, profile: &Profile, schema: &str, seed: u64, n: u64) -> String {
    let key = key_column(profile, quirk.table).expect("checked by applicable");
    let s = quote_ident(schema);
    let t = quote_ident(quirk.table);
    let k = quote_ident(key);
    let columns: Vec<&str> = profile.tables[quirk.table]
        .structure
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    let column_list = columns
        .iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ");
    match quirk.action {
        Action::Update { filter, set } => {
            let assignments = set
                .iter()
                .map(|(column, expression)| {
                    format!("{} = {}", quote_ident(column), expand(expression, schema))
                })
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "{} update {s}.{t} as t set {assignments} from c where t.{k} = c.key",
                chosen(quirk, schema, key, filter, seed, n)
            )
        }
        Action::Copy { filter, set } => {
            let overrides: BTreeMap<&str, &str> = set.iter().copied().collect();
            let values = columns
                .iter()
                .map(|column| {
                    if *column == key {
                        expand(&format!("{{max:{}.{}}} + c.rank", quirk.table, key), schema)
                    } else if let Some(expression) = overrides.get(column) {
                        expand(expression, schema)
                    } else {
                        format!("t.{}", quote_ident(column))
                    }
                })
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "{} insert into {s}.{t} ({column_list}) select {values} from {s}.{t} as t join c on t.{k} = c.key",
                chosen(quirk, schema, key, filter, seed, n)
            )
        }
        Action::CopyHistories => {
            let apt = quote_ident("AptNum");
            let h = score(seed, quirk.id, &format!("t.{apt}"));
            let values = columns
                .iter()
                .map(|column| match *column {
                    c if c == key => format!(
                        "{} + row_number() over (order by c.rank, t.{k})",
                        expand(&format!("{{max:{}.{}}}", quirk.table, key), schema)
                    ),
                    "AptNum" => format!("{} + c.rank", expand("{max:appointment.AptNum}", schema)),
                    other => format!("t.{}", quote_ident(other)),
                })
                .collect::<Vec<_>>()
                .join(", ");
            format!(
                "with a as (select t.{apt} as apt, count(*) as n, {h} as h from {s}.{t} as t group by t.{apt}), \
                 r as (select apt, n, row_number() over (order by h, apt) as rank, sum(n) over (order by h, apt) as upto from a), \
                 c as (select apt, rank from r where upto - n < {n}) \
                 insert into {s}.{t} ({column_list}) select {values} from {s}.{t} as t join c on t.{apt} = c.apt"
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(profile: &Profile, scale: f64) -> BTreeMap<String, u64> {
        profile
            .tables
            .iter()
            .map(|(name, table)| {
                (
                    name.clone(),
                    (table.stats.row_count as f64 * scale).round() as u64,
                )
            })
            .collect()
    }

    #[test]
    fn modes_parse_and_unknown_ones_name_the_accepted_values() {
        assert_eq!("none".parse::<Mode>(), Ok(Mode::None));
        assert_eq!("production".parse::<Mode>(), Ok(Mode::Production));
        assert_eq!(Mode::default(), Mode::None);
        let error = "bogus".parse::<Mode>().unwrap_err().to_string();
        for accepted in Mode::ACCEPTED {
            assert!(error.contains(accepted), "{error}");
        }
        assert!(error.contains("bogus") && !error.contains('\n'), "{error}");
        assert!(catalogue(Mode::None).is_empty());
    }

    #[test]
    fn ids_are_unique_and_rates_are_shares() {
        let mut ids: Vec<&str> = CATALOGUE.iter().map(|q| q.id).collect();
        ids.sort();
        let before = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), before, "duplicate quirk ids");
        for quirk in CATALOGUE {
            assert!(quirk.rate() > 0.0 && quirk.rate() < 1.0, "{}", quirk.id);
            assert!(
                quirk.source.contains("production_aggregates.md §"),
                "{}",
                quirk.id
            );
            assert!(quirk.id.contains(quirk.table), "{}", quirk.id);
        }
    }

    #[test]
    fn targets_follow_the_rate_and_never_round_a_quirk_away() {
        let quirk = CATALOGUE
            .iter()
            .find(|q| q.id == "sentinel.paysplit.ProcDate")
            .unwrap();
        assert_eq!(quirk.target(0), 0);
        assert_eq!(quirk.target(1_488_763), 85_654);
        assert_eq!(quirk.target(2_801), 161);
        let rare = CATALOGUE
            .iter()
            .find(|q| q.id == "orphan.paysplit.PayNum")
            .unwrap();
        assert_eq!(rare.target(2_801), 1);
    }

    #[test]
    fn every_quirk_applies_to_the_built_in_profile() {
        let profile = crate::profile::builtin().unwrap();
        let missing: Vec<&str> = CATALOGUE
            .iter()
            .filter(|q| !applicable(q, &profile))
            .map(|q| q.id)
            .collect();
        assert!(missing.is_empty(), "{missing:?}");
        let planned = plan(Mode::Production, &profile, "b", 42, &rows(&profile, 0.2));
        assert_eq!(planned.len(), CATALOGUE.len());
        assert!(plan(Mode::None, &profile, "b", 42, &rows(&profile, 0.2)).is_empty());
    }

    #[test]
    fn statements_are_a_function_of_the_seed_and_name_no_unknown_placeholder() {
        let profile = crate::profile::builtin().unwrap();
        let counts = rows(&profile, 0.2);
        let a = plan(Mode::Production, &profile, "dentsynth_build_raw", 7, &counts);
        let b = plan(Mode::Production, &profile, "dentsynth_build_raw", 7, &counts);
        let c = plan(Mode::Production, &profile, "dentsynth_build_raw", 8, &counts);
        for ((a, b), c) in a.iter().zip(&b).zip(&c) {
            assert_eq!(a.sql, b.sql);
            assert_ne!(a.sql, c.sql, "{}", a.quirk.id);
            assert!(a.sql.contains(&format!("'7/{}/'", a.quirk.id)), "{}", a.sql);
            assert!(
                !a.sql.contains("{max:") && !a.sql.contains("{schema}"),
                "{}",
                a.sql
            );
            assert!(a.sql.contains("\"dentsynth_build_raw\""), "{}", a.sql);
            assert!(
                a.sql.contains(&format!("limit {}", a.target)) || a.sql.contains(&format!("< {}", a.target))
            );
        }
        let orphan = a
            .iter()
            .find(|p| p.quirk.id == "orphan.paysplit.ProcNum")
            .unwrap();
        assert!(
            orphan
                .sql
                .contains("\"ProcNum\" = (select coalesce(max(m.\"ProcNum\"), 0) from \"dentsynth_build_raw\".\"procedurelog\" m) + c.rank"),
            "{}",
            orphan.sql
        );
        assert_eq!(
            touched_tables(&a).len(),
            touched_tables(&a)
                .iter()
                .collect::<std::collections::BTreeSet<_>>()
                .len()
        );
    }

    #[test]
    fn quirks_the_profile_cannot_hold_are_left_out() {
        let mut profile = crate::profile::builtin().unwrap();
        profile.tables.remove("referral");
        profile.tables.remove("sheetfield");
        let planned = plan(Mode::Production, &profile, "b", 1, &rows(&profile, 1.0));
        assert!(planned
            .iter()
            .all(|p| p.quirk.id != "orphan.refattach.ReferralNum" && p.quirk.table != "sheetfield"));
        assert!(planned.iter().any(|p| p.quirk.id == "orphan.refattach.ProvNum"));
    }

    /// The provenance table of introspection/opendental/README.md lists every quirk with its numbers.
    #[test]
    fn the_readme_table_matches_the_catalogue() {
        let readme = include_str!("../../introspection/opendental/README.md");
        let section = readme
            .split("## Production quirks")
            .nth(1)
            .expect("the README has a Production quirks section");
        let listed = section.lines().filter(|l| l.starts_with("| `")).count();
        assert_eq!(listed, CATALOGUE.len(), "one README row per quirk");
        for quirk in CATALOGUE {
            let line = section
                .lines()
                .find(|l| l.starts_with(&format!("| `{}` |", quirk.id)))
                .unwrap_or_else(|| panic!("README lacks {}", quirk.id));
            for number in [
                thousands(quirk.count),
                thousands(quirk.of),
                format!("{:.6}", quirk.rate()),
            ] {
                assert!(
                    line.contains(&number),
                    "README row of {} lacks {number}: {line}",
                    quirk.id
                );
            }
            assert!(
                line.contains(&format!("{}.{}", quirk.table, quirk.column)),
                "{line}"
            );
        }
    }

    fn thousands(value: f64) -> String {
        let digits = format!("{}", value.round() as u64);
        let mut out = String::new();
        for (index, digit) in digits.chars().enumerate() {
            if index > 0 && (digits.len() - index) % 3 == 0 {
                out.push(',');
            }
            out.push(digit);
        }
        out
    }
}
