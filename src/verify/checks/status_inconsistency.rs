//! ST001 status-inconsistency: a status disagrees with the rows that should accompany it.
//!
//! **What it checks.** One of these OpenDental conditions (the rule's `condition`), each taken from
//! OpenDental's own database-maintenance checks (DatabaseMaintenances.cs, branch 24_3, cited as
//! DBM#Method in ../shared/opendental/semantics.md) or from the dbt contract:
//!
//! - `completed-appointment-without-completed-procedure`: an appointment with AptStatus 2
//!   (Complete) has no completed procedure (ProcStatus 2) attached by AptNum on its date, or has
//!   one on another date (DBM#ProcedurelogAttachedToWrongApptDate; contract §4.3 item 13).
//! - `completed-appointment-with-planned-procedure`: a Complete appointment still carries a
//!   treatment-planned procedure, ProcStatus 1 (DBM#AppointmentCompleteWithTpAttached).
//! - `scheduled-appointment-with-completed-procedure`: AptStatus 1 (Scheduled) with a completed
//!   procedure (DBM#AppointmentScheduledWithCompletedProcs).
//! - `broken-appointment-with-completed-procedure`: AptStatus 5 (Broken) with a completed
//!   procedure: a visit that did not happen produced work.
//! - `claim-without-claim-procedures`: a claim has no claimproc row (DBM#ClaimDeleteWithNoClaimProcs).
//! - `received-claim-without-payment`: a claim with ClaimStatus R (received) has no DateReceived,
//!   or no claimproc in status 1 (Received) or 4 (Supplemental), or a paid line (InsPayAmt <> 0)
//!   without a ClaimPaymentNum (DBM#ClaimProcStatusNotMatchClaim; contract §7 item 11).
//!
//! **Why it matters.** Production in dbt_dental_models is counted per appointment through
//! `procedurelog.AptNum` on the same date; a Complete appointment without completed procedures
//! shows zero production, and received claims without payment data fail the claim-payment tests.
//!
//! **Example.**
//!
//! ```toml
//! [[rule]]
//! id = "st.claim-without-claim-procedures"
//! kind = "status-inconsistency"
//! condition = "claim-without-claim-procedures"
//! ```

use super::{column, is_set, where_clause, CheckSql, Context};

/// The conditions status-inconsistency knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Situation {
    CompletedAppointmentWithoutCompletedProcedure,
    CompletedAppointmentWithPlannedProcedure,
    ScheduledAppointmentWithCompletedProcedure,
    BrokenAppointmentWithCompletedProcedure,
    ClaimWithoutClaimProcedures,
    ReceivedClaimWithoutPayment,
}

type Required = &'static [(&'static str, &'static [&'static str])];

const APPOINTMENT_PROCEDURES: Required = &[
    ("appointment", &["AptNum", "AptStatus", "AptDateTime"]),
    ("procedurelog", &["AptNum", "ProcStatus", "ProcDate"]),
];
const CLAIM_PROCEDURES: Required = &[("claim", &["ClaimNum"]), ("claimproc", &["ClaimNum"])];
const CLAIM_PAYMENTS: Required = &[
    ("claim", &["ClaimNum", "ClaimStatus", "DateReceived"]),
    (
        "claimproc",
        &["ClaimNum", "Status", "InsPayAmt", "ClaimPaymentNum"],
    ),
];

impl Situation {
    pub const ALL: [Self; 6] = [
        Self::CompletedAppointmentWithoutCompletedProcedure,
        Self::CompletedAppointmentWithPlannedProcedure,
        Self::ScheduledAppointmentWithCompletedProcedure,
        Self::BrokenAppointmentWithCompletedProcedure,
        Self::ClaimWithoutClaimProcedures,
        Self::ReceivedClaimWithoutPayment,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::CompletedAppointmentWithoutCompletedProcedure => {
                "completed-appointment-without-completed-procedure"
            }
            Self::CompletedAppointmentWithPlannedProcedure => "completed-appointment-with-planned-procedure",
            Self::ScheduledAppointmentWithCompletedProcedure => {
                "scheduled-appointment-with-completed-procedure"
            }
            Self::BrokenAppointmentWithCompletedProcedure => "broken-appointment-with-completed-procedure",
            Self::ClaimWithoutClaimProcedures => "claim-without-claim-procedures",
            Self::ReceivedClaimWithoutPayment => "received-claim-without-payment",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == text.trim())
    }

    /// The table whose rows are reported.
    pub fn table(self) -> &'static str {
        match self {
            Self::ClaimWithoutClaimProcedures | Self::ReceivedClaimWithoutPayment => "claim",
            _ => "appointment",
        }
    }

    /// The tables and columns the condition reads (validated against the profile).
    pub fn required(self) -> Required {
        match self {
            Self::ClaimWithoutClaimProcedures => CLAIM_PROCEDURES,
            Self::ReceivedClaimWithoutPayment => CLAIM_PAYMENTS,
            _ => APPOINTMENT_PROCEDURES,
        }
    }
}

pub fn build(context: &Context<'_>, situation: Situation) -> CheckSql {
    let procedures = context.table("procedurelog");
    let claimprocs = context.table("claimproc");
    // Membership tests against uncorrelated subqueries, so that PostgreSQL hashes each subquery once
    // (the raw tables have no index on AptNum or ClaimNum; a correlated EXISTS under OR would scan
    // the child table once per parent row).
    let attached = |status: u8| {
        format!(
            "a.\"AptNum\" in (select p.\"AptNum\" from {procedures} as p where p.\"ProcStatus\" = {status})"
        )
    };
    let (table, alias, scope, violation): (&str, &str, Vec<String>, String) = match situation {
        Situation::CompletedAppointmentWithoutCompletedProcedure => (
            "appointment",
            "a",
            vec!["a.\"AptStatus\" = 2".into()],
            // Clean: at least one completed procedure, and every completed one dated on the visit day.
            format!(
                "not ((a.\"AptNum\", a.\"AptDateTime\"::date, a.\"AptDateTime\"::date) in \
                 (select p.\"AptNum\", min(p.\"ProcDate\"), max(p.\"ProcDate\") from {procedures} as p \
                 where p.\"ProcStatus\" = 2 group by p.\"AptNum\" having count(*) = count(p.\"ProcDate\")))"
            ),
        ),
        Situation::CompletedAppointmentWithPlannedProcedure => (
            "appointment",
            "a",
            vec!["a.\"AptStatus\" = 2".into()],
            attached(1),
        ),
        Situation::ScheduledAppointmentWithCompletedProcedure => (
            "appointment",
            "a",
            vec!["a.\"AptStatus\" = 1".into()],
            attached(2),
        ),
        Situation::BrokenAppointmentWithCompletedProcedure => (
            "appointment",
            "a",
            vec!["a.\"AptStatus\" = 5".into()],
            attached(2),
        ),
        Situation::ClaimWithoutClaimProcedures => (
            "claim",
            "c",
            vec![],
            format!(
                "not (c.\"ClaimNum\" in (select cp.\"ClaimNum\" from {claimprocs} as cp where cp.\"ClaimNum\" is not null))"
            ),
        ),
        Situation::ReceivedClaimWithoutPayment => {
            let received = format!(
                "select cp.\"ClaimNum\" from {claimprocs} as cp where cp.\"Status\" in (1, 4) and cp.\"ClaimNum\" is not null"
            );
            (
                "claim",
                "c",
                vec!["c.\"ClaimStatus\" = 'R'".into()],
                format!(
                    "(not {} or not (c.\"ClaimNum\" in ({received})) or c.\"ClaimNum\" in ({received} \
                     and cp.\"InsPayAmt\" <> 0 and coalesce(cp.\"ClaimPaymentNum\", 0) = 0))",
                    is_set(&column("c", "DateReceived"))
                ),
            )
        }
    };
    let mut offending = scope.clone();
    offending.push(violation);
    CheckSql {
        checked: Some(format!(
            "select count(*) from {} as {alias}{}",
            context.table(table),
            where_clause(&scope)
        )),
        offending: format!(
            "select {} from {} as {alias}{}",
            context.key(table, alias),
            context.table(table),
            where_clause(&offending)
        ),
        ledger: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::ColumnKind::*;
    use crate::verify::checks::test_support;

    #[test]
    fn names_round_trip_and_tables_are_right() {
        for situation in Situation::ALL {
            assert_eq!(Situation::parse(situation.name()), Some(situation));
            assert_eq!(situation.required()[0].0, situation.table());
        }
        assert_eq!(Situation::parse("nope"), None);
    }

    #[test]
    fn completed_appointments_need_completed_procedures_on_their_date() {
        let profile = test_support::profile(&[
            (
                "appointment",
                &["AptNum"],
                &[
                    ("AptNum", Integer),
                    ("AptStatus", Integer),
                    ("AptDateTime", Timestamp),
                ],
            ),
            (
                "procedurelog",
                &["ProcNum"],
                &[
                    ("ProcNum", Integer),
                    ("AptNum", Integer),
                    ("ProcStatus", Integer),
                    ("ProcDate", Date),
                ],
            ),
        ]);
        let context = Context {
            profile: &profile,
            schema: "raw",
            as_of: test_support::as_of(),
        };
        let sql = build(&context, Situation::CompletedAppointmentWithoutCompletedProcedure);
        assert!(sql.offending.starts_with(
            "select a.\"AptNum\" from \"raw\".\"appointment\" as a where a.\"AptStatus\" = 2 and not ((a.\"AptNum\", a.\"AptDateTime\"::date, a.\"AptDateTime\"::date) in"
        ), "{}", sql.offending);
        assert!(sql.offending.contains("min(p.\"ProcDate\"), max(p.\"ProcDate\")"));
        assert!(sql
            .offending
            .contains("where p.\"ProcStatus\" = 2 group by p.\"AptNum\""));
        assert_eq!(
            sql.checked.unwrap(),
            "select count(*) from \"raw\".\"appointment\" as a where a.\"AptStatus\" = 2"
        );
    }
}
