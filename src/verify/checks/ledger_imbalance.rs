//! FB001 ledger-imbalance: stored balances or aging disagree with production, collections and
//! adjustments.
//!
//! **What it checks.** The accounting identity, per patient, per family and practice-wide:
//!
//! ```text
//! production = collections - adjustments + AR        (AR: the balance still owed)
//! ```
//!
//! **Sign convention** (OpenDental's, as its ledger computes it: `Ledgers.cs`
//! `GetTransQueryString`, branch 24_3, summarised in ../shared/opendental/semantics.md §5.5):
//!
//! - *production*: completed procedures (ProcStatus 2), `ProcFee × (UnitQty + BaseUnits)` on
//!   ProcDate, positive;
//! - *collections*, positive numbers that lower the balance: patient payments (`paysplit.SplitAmt`
//!   on DatePay, except splits of a *hidden* unearned type: a DefCat-29 definition with a non-empty
//!   ItemValue) and insurance payments (`claimproc.InsPayAmt` on DateCP, unless the line is on a
//!   payment plan) of claimprocs in status 1 Received, 4 Supplemental, 5 CapClaim or 7 CapComplete
//!   whose procedure is complete (or that are paid "by total", ProcNum 0);
//! - *adjustments*, signed as stored: `adjustment.AdjAmt` on AdjDate (negative = a write-down, a
//!   discount) and insurance write-offs (`claimproc.WriteOff` of the same claimprocs) entered as
//!   negative adjustments;
//! - *AR* = production - collections + adjustments. Pending insurance (claimprocs in status 0) does
//!   not lower the balance.
//!
//! Every amount is cast to SQL `numeric` before it is summed; a difference of `tolerance` or more
//! (default 0.005: to the cent) is a violation. The stored side, per `scope`:
//!
//! - `patient`: `patient.EstBalance`, the patient's own balance (TT/Patient.cs);
//! - `family`: `patient.BalTotal` of the guarantor (Guarantor = PatNum) holds the whole family's
//!   balance and every other member holds 0 (LEDGERS `ComputeAging`);
//! - `practice`: the sum of `BalTotal` over all patients equals the sum of all transactions;
//! - `aging`: the guarantor's `Bal_0_30`, `Bal_31_60`, `Bal_61_90` and `BalOver90`: the family's
//!   charges (positive transactions) bucketed by age at the as-of date, with all credits applied to
//!   the oldest bucket first, no bucket below 0; other members hold 0.
//!
//! When a rule fails, the finding carries the identity's terms over the scope and the residual
//! (ledger - stored, over the offending rows) broken down by the patient's (for families, the
//! guarantor's) primary provider and the month of the latest transaction. The stored balance has
//! no provider or month of its own; this attribution says whose patients, and since when, the
//! balances stopped following the ledger. Payment plans are not modelled (the charges of
//! `payplancharge` depend on the PayPlansVersion preference); neither is `InsEst`.
//!
//! **Why it matters.** The AR marts of dbt_dental_models read `patient.BalTotal`, `EstBalance`
//! and the aging buckets (contract §4.3 item 12); a demo whose balances do not follow from its
//! transactions shows AR that no report can explain, and aging that contradicts the ledger.
//!
//! **Example.**
//!
//! ```toml
//! [[rule]]
//! id = "fb.family"
//! kind = "ledger-imbalance"
//! scope = "family"
//! ```

use super::{CheckSql, Context, LedgerSql};

/// What the stored side of the identity is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Patient,
    Family,
    Practice,
    Aging,
}

type Required = &'static [(&'static str, &'static [&'static str])];

const PROCEDURES: (&str, &[&str]) = ("procedurelog", &["PatNum", "ProcDate", "ProcFee", "ProcStatus"]);

impl Scope {
    pub const ALL: [Self; 4] = [Self::Patient, Self::Family, Self::Practice, Self::Aging];

    /// Transaction tables used when the profile has them, with the columns they then need.
    pub const OPTIONAL: Required = &[
        (
            "claimproc",
            &["PatNum", "ProcNum", "Status", "InsPayAmt", "WriteOff", "DateCP"],
        ),
        ("adjustment", &["PatNum", "AdjAmt", "AdjDate"]),
        ("paysplit", &["PatNum", "SplitAmt", "DatePay"]),
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Patient => "patient",
            Self::Family => "family",
            Self::Practice => "practice",
            Self::Aging => "aging",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == text.trim())
    }

    /// The tables and columns every rule of this scope needs.
    pub fn required(self) -> Required {
        match self {
            Self::Patient => &[("patient", &["PatNum", "EstBalance", "PriProv"]), PROCEDURES],
            Self::Family | Self::Practice => &[
                ("patient", &["PatNum", "Guarantor", "BalTotal", "PriProv"]),
                PROCEDURES,
            ],
            Self::Aging => &[
                (
                    "patient",
                    &[
                        "PatNum",
                        "Guarantor",
                        "PriProv",
                        "Bal_0_30",
                        "Bal_31_60",
                        "Bal_61_90",
                        "BalOver90",
                    ],
                ),
                PROCEDURES,
            ],
        }
    }
}

/// `coalesce(alias."Column", 0)::numeric`.
fn money(alias: &str, column: &str) -> String {
    format!("coalesce({alias}.\"{column}\", 0)::numeric")
}

/// The transactions: one row per ledger entry with its production, collections and adjustments.
fn transactions(context: &Context<'_>, sources: &[String]) -> String {
    let has = |table: &str| sources.iter().any(|s| s == table);
    let column_exists = |table: &str, column: &str| {
        context
            .profile
            .table(table)
            .is_some_and(|t| t.structure.column(column).is_some())
    };
    let procedures = context.table("procedurelog");
    let units = match (
        column_exists("procedurelog", "UnitQty"),
        column_exists("procedurelog", "BaseUnits"),
    ) {
        (true, true) => " * (coalesce(p.\"UnitQty\", 1) + coalesce(p.\"BaseUnits\", 0))::numeric",
        (true, false) => " * coalesce(p.\"UnitQty\", 1)::numeric",
        _ => "",
    };
    let mut parts = vec![format!(
        "select p.\"PatNum\" as pat, p.\"ProcDate\"::date as day, {}{units} as production, \
         0::numeric as collections, 0::numeric as adjustments from {procedures} as p where p.\"ProcStatus\" = 2",
        money("p", "ProcFee")
    )];
    if has("claimproc") {
        let paid = if column_exists("claimproc", "PayPlanNum") {
            format!(
                "case when coalesce(cp.\"PayPlanNum\", 0) = 0 then {} else 0 end",
                money("cp", "InsPayAmt")
            )
        } else {
            money("cp", "InsPayAmt")
        };
        parts.push(format!(
            "select cp.\"PatNum\", cp.\"DateCP\"::date, 0, {paid}, -{} from {} as cp \
             where cp.\"Status\" in (1, 4, 5, 7) and (coalesce(cp.\"ProcNum\", 0) = 0 or exists \
             (select 1 from {procedures} as pp where pp.\"ProcNum\" = cp.\"ProcNum\" and pp.\"ProcStatus\" = 2))",
            money("cp", "WriteOff"),
            context.table("claimproc")
        ));
    }
    if has("adjustment") {
        parts.push(format!(
            "select a.\"PatNum\", a.\"AdjDate\"::date, 0, 0, {} from {} as a",
            money("a", "AdjAmt"),
            context.table("adjustment")
        ));
    }
    if has("paysplit") {
        let hidden = column_exists("paysplit", "UnearnedType")
            && ["DefNum", "Category", "ItemValue"]
                .iter()
                .all(|c| column_exists("definition", c));
        let filter = if hidden {
            format!(
                " where coalesce(s.\"UnearnedType\", 0) not in (select d.\"DefNum\" from {} as d \
                 where d.\"Category\" = 29 and coalesce(d.\"ItemValue\", '') <> '')",
                context.table("definition")
            )
        } else {
            String::new()
        };
        parts.push(format!(
            "select s.\"PatNum\", s.\"DatePay\"::date, 0, {}, 0 from {} as s{filter}",
            money("s", "SplitAmt"),
            context.table("paysplit")
        ));
    }
    parts.join(" union all ")
}

/// Per-group sums of the transactions: `group` is an expression over `tx` (and `m`, the member).
fn sums(group: &str, from: &str) -> String {
    format!(
        "select {group} as grp, sum(tx.production) as production, sum(tx.collections) as collections, \
         sum(tx.adjustments) as adjustments, sum(tx.production - tx.collections + tx.adjustments) as balance, \
         max(tx.day) as last_day from {from} group by 1"
    )
}

pub fn build(context: &Context<'_>, scope: Scope, tolerance: f64, sources: &[String]) -> CheckSql {
    let patients = context.table("patient");
    let tolerance = format!("{tolerance}::numeric");
    let guarantor = "coalesce(pt.\"Guarantor\", pt.\"PatNum\")";
    let zero = |name: &str| format!("coalesce({name}, 0)");
    let terms = "coalesce(l.production, 0) as production, coalesce(l.collections, 0) as collections, \
                 coalesce(l.adjustments, 0) as adjustments";
    // ledger_rows(k, provider, last_day, production, collections, adjustments, ledger, stored, off)
    let rows = match scope {
        Scope::Patient => format!(
            "per_patient as ({}), ledger_rows as (select pt.\"PatNum\" as k, pt.\"PriProv\" as provider, l.last_day, {terms}, \
             {} as ledger, {} as stored from {patients} as pt left join per_patient as l on l.grp = pt.\"PatNum\")",
            sums("tx.pat", "tx"),
            zero("l.balance"),
            money("pt", "EstBalance")
        ),
        Scope::Family => format!(
            "per_family as ({}), ledger_rows as (select pt.\"PatNum\" as k, pt.\"PriProv\" as provider, l.last_day, {terms}, \
             case when pt.\"PatNum\" = {guarantor} then {} else 0 end as ledger, {} as stored \
             from {patients} as pt left join per_family as l on l.grp = pt.\"PatNum\")",
            sums(
                "m.fam",
                &format!(
                    "tx join (select pt.\"PatNum\" as pat, {guarantor} as fam from {patients} as pt) as m on m.pat = tx.pat"
                )
            ),
            zero("l.balance"),
            money("pt", "BalTotal")
        ),
        Scope::Practice => format!(
            "per_family as ({}), stored_by_family as (select {guarantor} as grp, sum({}) as stored from {patients} as pt group by 1), \
             ledger_rows as (select coalesce(l.grp, s.grp) as k, g.\"PriProv\" as provider, l.last_day, {terms}, \
             {} as ledger, {} as stored from per_family as l full join stored_by_family as s on s.grp = l.grp \
             left join {patients} as g on g.\"PatNum\" = coalesce(l.grp, s.grp))",
            sums(
                &format!("coalesce({guarantor}, tx.pat)"),
                &format!("tx left join {patients} as pt on pt.\"PatNum\" = tx.pat")
            ),
            money("pt", "BalTotal"),
            zero("l.balance"),
            zero("s.stored")
        ),
        Scope::Aging => {
            let age = format!(
                "({} - coalesce(tx.day, date '0001-01-01'))",
                super::date_literal(context.as_of)
            );
            let charge = |condition: &str| {
                format!("sum(case when tx.amount > 0 and {condition} then tx.amount else 0 end)")
            };
            format!(
                "members as (select pt.\"PatNum\" as pat, {guarantor} as fam from {patients} as pt), \
                 per_family as ({}), \
                 charges as (select m.fam as grp, {} as c0, {} as c1, {} as c2, {} as c3, \
                 -sum(case when tx.amount < 0 then tx.amount else 0 end) as credits from \
                 (select pat, day, production - collections + adjustments as amount from tx) as tx \
                 join members as m on m.pat = tx.pat group by 1), \
                 a3 as (select grp, c0, c1, c2, greatest(c3 - credits, 0) as r3, greatest(credits - c3, 0) as left3 from charges), \
                 a2 as (select grp, c0, c1, r3, greatest(c2 - left3, 0) as r2, greatest(left3 - c2, 0) as left2 from a3), \
                 a1 as (select grp, c0, r3, r2, greatest(c1 - left2, 0) as r1, greatest(left2 - c1, 0) as left1 from a2), \
                 aged as (select grp, greatest(c0 - left1, 0) as r0, r1, r2, r3 from a1), \
                 expected as (select pt.\"PatNum\" as k, pt.\"PriProv\" as provider, \
                 case when pt.\"PatNum\" = {guarantor} then true else false end as head, \
                 l.last_day, {terms}, ag.r0, ag.r1, ag.r2, ag.r3, \
                 {} as s0, {} as s1, {} as s2, {} as s3 \
                 from {patients} as pt left join per_family as l on l.grp = pt.\"PatNum\" \
                 left join aged as ag on ag.grp = pt.\"PatNum\"), \
                 ledger_rows as (select k, provider, last_day, production, collections, adjustments, \
                 case when head then coalesce(r0, 0) + coalesce(r1, 0) + coalesce(r2, 0) + coalesce(r3, 0) else 0 end as ledger, \
                 s0 + s1 + s2 + s3 as stored, \
                 (abs(case when head then coalesce(r0, 0) else 0 end - s0) >= {tolerance} \
                 or abs(case when head then coalesce(r1, 0) else 0 end - s1) >= {tolerance} \
                 or abs(case when head then coalesce(r2, 0) else 0 end - s2) >= {tolerance} \
                 or abs(case when head then coalesce(r3, 0) else 0 end - s3) >= {tolerance}) as off_buckets from expected)",
                sums("m.fam", "tx join members as m on m.pat = tx.pat"),
                charge(&format!("{age} <= 30")),
                charge(&format!("{age} between 31 and 60")),
                charge(&format!("{age} between 61 and 90")),
                charge(&format!("{age} > 90")),
                money("pt", "Bal_0_30"),
                money("pt", "Bal_31_60"),
                money("pt", "Bal_61_90"),
                money("pt", "BalOver90"),
            )
        }
    };
    let off = match scope {
        Scope::Aging => "off_buckets".to_string(),
        Scope::Practice => "ledger <> stored".to_string(),
        _ => format!("abs(ledger - stored) >= {tolerance}"),
    };
    let with = format!(
        "with tx as ({}), {rows}, judged as (select *, ({off}) as off from ledger_rows)",
        transactions(context, sources)
    );
    let offending = match scope {
        Scope::Practice => format!(
            "{with} select 'practice'::text from judged having abs(coalesce(sum(ledger - stored), 0)) >= {tolerance}"
        ),
        _ => format!("{with} select k from judged where off"),
    };
    let checked = match scope {
        Scope::Practice => "select 1".to_string(),
        _ => format!("select count(*) from {patients}"),
    };
    let cents = |expression: &str| format!("round(coalesce({expression}, 0), 2)::text");
    let verdict = match scope {
        Scope::Practice => format!(
            "case when abs(coalesce(sum(ledger - stored), 0)) >= {tolerance} then 1 else 0 end::int8, \
             case when abs(coalesce(sum(ledger - stored), 0)) >= {tolerance} then array['practice'] else array[]::text[] end"
        ),
        _ => "count(*) filter (where off)::int8, \
              (array_agg(k::text order by k nulls last) filter (where off))[1:5]"
            .to_string(),
    };
    let totals = format!(
        "{with} select {}, {}, {}, {}, {}, {}, {verdict} from judged",
        cents("sum(production)"),
        cents("sum(collections)"),
        cents("sum(adjustments)"),
        cents("sum(ledger)"),
        cents("sum(stored)"),
        cents("sum(ledger - stored) filter (where off)")
    );
    let breakdown = format!(
        "{with} select coalesce(provider::text, 'none'), coalesce(to_char(last_day, 'YYYY-MM'), 'none'), \
         round(sum(ledger - stored), 2)::text, count(*)::int8 from judged where off group by 1, 2 \
         order by abs(sum(ledger - stored)) desc, 1, 2 limit 10"
    );
    CheckSql {
        checked: Some(checked),
        offending,
        ledger: Some(LedgerSql { totals, breakdown }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::ColumnKind::*;
    use crate::verify::checks::test_support;

    #[test]
    fn scopes_parse_and_the_transactions_follow_the_profile() {
        for scope in Scope::ALL {
            assert_eq!(Scope::parse(scope.name()), Some(scope));
        }
        let profile = test_support::profile(&[
            (
                "procedurelog",
                &["ProcNum"],
                &[
                    ("ProcNum", Integer),
                    ("PatNum", Integer),
                    ("ProcDate", Date),
                    ("ProcFee", Float),
                    ("ProcStatus", Integer),
                    ("UnitQty", Integer),
                    ("BaseUnits", Integer),
                ],
            ),
            (
                "paysplit",
                &["SplitNum"],
                &[
                    ("SplitNum", Integer),
                    ("PatNum", Integer),
                    ("SplitAmt", Float),
                    ("DatePay", Date),
                ],
            ),
        ]);
        let context = Context {
            profile: &profile,
            schema: "raw",
            as_of: test_support::as_of(),
        };
        let sql = transactions(&context, &["procedurelog".into(), "paysplit".into()]);
        assert!(
            sql.contains("coalesce(p.\"ProcFee\", 0)::numeric * (coalesce(p.\"UnitQty\", 1) + coalesce(p.\"BaseUnits\", 0))::numeric"),
            "{sql}"
        );
        assert!(
            sql.ends_with("select s.\"PatNum\", s.\"DatePay\"::date, 0, coalesce(s.\"SplitAmt\", 0)::numeric, 0 from \"raw\".\"paysplit\" as s"),
            "without UnitQty/definition columns the optional parts drop out: {sql}"
        );
        assert!(!sql.contains("claimproc"));
        let check = build(&context, Scope::Practice, 0.005, &["procedurelog".into()]);
        assert!(check.offending.ends_with(
            "select 'practice'::text from judged having abs(coalesce(sum(ledger - stored), 0)) >= 0.005::numeric"
        ));
        assert_eq!(check.checked.as_deref(), Some("select 1"));
    }
}
