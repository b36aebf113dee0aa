//! The OpenDental practice simulation.
//!
//! The unit of simulation is the family ([`family::simulate_family`]): a pure function of the
//! profile-derived [`setup::Setup`], the seed and the family id, producing compact rows for every
//! core table with family-local keys. A counting pass simulates every family once (sequentially,
//! so the result never depends on `--jobs`) and records, per table, the cumulative row count per
//! family; a family's keys in table T are `offset(T, family) + 1 ...`. The counting pass is run a
//! few times to tune the per-driver intensities (visits, procedures, instalments, ...) so that
//! volumes land at or just above the plan's row targets (generic child tables draw their parent
//! keys from 1..target). Each owned table's row source binary-searches the family of a row index
//! and caches the last simulated family, so sequential reads simulate each family once per table.
//!
//! # Money and its sign convention
//!
//! All money is simulated in integer cents. Per patient, at as-of:
//!
//! ```text
//! EstBalance = Σ procedurelog.ProcFee (ProcStatus 2)
//!            + Σ adjustment.AdjAmt                  (write-offs and discounts are negative)
//!            − Σ claimproc.InsPayAmt (Status 1)     (claimproc.WriteOff is 0: write-offs are AdjType 188)
//!            − Σ paysplit.SplitAmt                (deposits and income transfers included)
//! ```
//!
//! i.e. production = insurance collections + patient collections − adjustments + AR. Per family the
//! guarantor's `BalTotal` is the sum of its members' `EstBalance`; the aging buckets
//! (`Bal_0_30` .. `BalOver90`) hold the charges (completed procedures, positive adjustments) by age
//! at as-of after applying every credit to the oldest bucket first, and `InsEst` the pending
//! (Status 0) `InsPayEst` (semantics §5.5). Other members carry 0 in those columns. A deposit
//! larger than what its visit cost, or a payment made before the insurance paid more than
//! estimated, leaves a credit: a negative `BalTotal` with nothing aged.

pub mod chairs;
pub mod family;
pub mod paperwork;
mod rows;
pub mod setup;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::{RowSource, Scenario};
use crate::generate::generic::{Clock, TableGenerator};
use crate::generate::plan::Plan;
use crate::generate::rng::StreamKey;
use crate::generate::value::Value;
use crate::profile::Profile;
use family::FamilyRows;
use setup::Setup;

/// The tables the family simulation produces, in a fixed order.
pub const FAMILY_TABLES: [&str; 14] = [
    "patient",
    "patientnote",
    "inssub",
    "patplan",
    "appointment",
    "histappointment",
    "procedurelog",
    "claim",
    "claimproc",
    "claimpayment",
    "payment",
    "paysplit",
    "adjustment",
    "recall",
];

/// Tables of the whole practice the scenario derives from the families' appointments (owned
/// when the plan has them): provider schedules and their operatories.
pub const CALENDAR_TABLES: [&str; 2] = ["schedule", "scheduleop"];

/// Insurance verifications and their history (owned when the plan has both): a verification is of
/// one of the practice's patient plans (VerifyType 2) or insurance plans (1), and its history rows
/// repeat what it verifies. The other columns are the generic generator's.
pub const VERIFICATION_TABLES: [&str; 2] = ["insverify", "insverifyhist"];

/// The owned tables whose rows belong to the whole practice rather than to one family, besides the
/// set-up ([`SETUP_TABLES`]): the checks (claimpayment, a family table whose rows are bundled
/// across families), the calendar and the verifications.
const PRACTICE_WIDE: [&str; 5] = [
    "claimpayment",
    "schedule",
    "scheduleop",
    "insverify",
    "insverifyhist",
];

/// Whether `table` is one of the practice's own tables ([`PRACTICE_WIDE`] or [`SETUP_TABLES`]),
/// whose rows [`Practice::practice_rows`] counts.
pub fn practice_table(table: &str) -> bool {
    PRACTICE_WIDE.contains(&table) || SETUP_TABLES.contains(&table)
}

/// The practice's set-up tables the simulation shapes (owned when the plan has them): providers
/// (hygienists are OpenDental's secondary providers; whoever sees patients is not hidden) and
/// chairs (in use: not hidden, a hygiene chair when most of its visits are hygiene visits, with
/// the dentist and hygienist seen there most) and insurance plans (each with the carrier the
/// simulation bills, none hidden: patients hold them). Their other columns are the generic
/// generator's. Also the carriers (named as their checks), the plans' benefits (coinsurance
/// states what the simulation pays), the users (each a provider's or a staff member's login), their
/// group memberships (each user first in its own UserGroupNum, no membership twice) and the staff
/// (reporting without cycles). Each user's appointment views and task-list subscriptions
/// ([`setup::USER_LINKS`]: no pair twice) and preferences (an expanded image category is one of
/// the practice's, none twice for a user). The referral sources: patients who refer others, and
/// referring specialists and marketing sources ([`rows::build_referral`]); the employers (local
/// addresses); the sheet definitions' fields (consecutive per definition, laid out in tab order).
pub const SETUP_TABLES: [&str; 14] = [
    "provider",
    "operatory",
    "carrier",
    "insplan",
    "benefit",
    "userod",
    "usergroupattach",
    "userodapptview",
    "tasksubscription",
    "userodpref",
    "employee",
    "referral",
    "employer",
    "sheetfielddef",
];

/// The dbt contract's window of staged recalls: rows with `DateDue` between 2023-01-01 and as-of
/// (dbt_dental_models.md §3.8, `stg_opendental__recall` 5,000-15,000, error severity).
pub const RECALL_WINDOW: (u64, u64) = (5_000, 15_000);

/// The dbt contract's patient window (int_patient_profile 1,000-100,000, dbt_dental_models.md §3.8).
pub const CONTRACT_PATIENTS: (u64, u64) = (1_000, 100_000);

/// The adaptation of a table whose volume is capped at `achieved` below its plan's `target`, with
/// the reason; none when the cap does not bind.
fn capped(
    table: &str,
    target: u64,
    achieved: u64,
    reason: impl FnOnce() -> String,
) -> Option<super::Adaptation> {
    (target > achieved).then(|| super::Adaptation {
        table: table.into(),
        statistic: "rows".into(),
        target: target as f64,
        achieved: achieved as f64,
        reason: reason(),
    })
}

/// One tuning step of an intensity toward a goal: goal / achieved, at most a halving or a doubling
/// per counting pass.
fn toward(goal: f64, achieved: f64) -> f64 {
    (goal / achieved).clamp(0.5, 2.0)
}

/// Index of a family table in [`FAMILY_TABLES`].
pub fn table_index(name: &str) -> Option<usize> {
    FAMILY_TABLES.iter().position(|t| *t == name)
}

fn family_counts(rows: &FamilyRows) -> [u64; 14] {
    [
        rows.patients.len() as u64,
        rows.patients.len() as u64,
        rows.inssubs.len() as u64,
        rows.patplans.len() as u64,
        rows.appointments.len() as u64,
        rows.history.len() as u64,
        rows.procedures.len() as u64,
        rows.claims.len() as u64,
        rows.claimprocs.len() as u64,
        rows.claimpayments.len() as u64,
        rows.payments.len() as u64,
        rows.splits.len() as u64,
        rows.adjustments.len() as u64,
        rows.recalls.len() as u64,
    ]
}

/// What a counting pass found: rows per family table, and the counts the tuning targets.
#[derive(Default)]
struct Tally {
    totals: [u64; 14],
    /// Recalls due in [2023-01-01, as-of].
    recall_window: u64,
    /// Booked (status 1) appointments.
    future: u64,
    /// Claims to secondary plans.
    secondary_claims: u64,
    /// Completed procedures, and the others.
    completed: u64,
    other_procedures: u64,
    /// Income transfers (type-0 payments).
    transfers: u64,
    /// Insurance write-offs (adjustments of the write-off type).
    writeoffs: u64,
    /// Patients with at least one recall.
    recall_patients: u64,
    /// Procedures on an appointment: all, and the completed ones.
    on_appointments: u64,
    completed_on_appointments: u64,
    /// Claims not received at as-of; claim lines paid (on a check); received lines.
    unreceived: u64,
    paid_lines: u64,
    received_lines: u64,
    /// Procedures without claim lines.
    without_lines: u64,
    /// First visits of new patients.
    new_patients: u64,
    /// Patients without a first-visit date.
    first_visit_unknown: u64,
    /// The checks: amount per (check date, plan), over all families.
    checks: BTreeMap<(chrono::NaiveDate, u32), i64>,
    /// Procedures charted at hygiene and new-patient visits, per code.
    hygiene_codes: BTreeMap<u32, u64>,
    /// Every appointment as booked, in key order (only in the pass that records offsets).
    bookings: Vec<chairs::Booking>,
    /// Appointments by month of year (all statuses, the future included), and completed ones.
    months: [u64; 12],
    completed_months: [u64; 12],
    /// The final pass: the appointments paperwork is anchored to.
    anchors: paperwork::Anchors,
    /// AR at as-of by aging bucket (cents): 0-30, 31-60, 61-90, over 90 days.
    aging: [i64; 4],
}

/// The shared state of the scenario: set-up, family sizes and per-table offsets.
pub struct Practice {
    pub setup: Setup,
    pub seed: u64,
    pub sizes: Vec<u32>,
    /// Per family table: rows before each family (len = families + 1).
    pub offsets: Vec<Vec<u64>>,
    /// Recalls due between 2023-01-01 and as-of (the contract's staged recalls).
    pub recall_window: u64,
    /// Whether the recall volume was changed to bring the window inside the contract's.
    pub recall_adapted: bool,
    /// The claim payments (checks): (check date, plan) and amount, in key order.
    pub checks: Vec<((chrono::NaiveDate, u32), i64)>,
    /// Where and when each appointment takes place, and the provider schedules.
    pub calendar: chairs::Calendar,
    /// Rows of insverify and insverifyhist (the plan's), and of insplan (the keys of type-1
    /// verifications).
    pub verifications: (u64, u64, u64),
    /// The appointments paperwork is anchored to ([`paperwork`]).
    pub anchors: paperwork::Anchors,
    /// The plan's rows of each paperwork table.
    pub paperwork_rows: BTreeMap<String, u64>,
    /// How each chair (operatory 1..) is used.
    pub chair_use: Vec<chairs::ChairUse>,
}

impl Practice {
    pub fn new(profile: &Profile, plan: &Plan, seed: u64, clock: Clock) -> Self {
        let mut setup = Setup::new(profile, plan, clock);
        setup.check_seed = {
            use rand::Rng;
            StreamKey::new(seed, "opendental", "check-runs").stream(0).gen()
        };
        // Families until the patient target is reached (the last one truncated).
        let mut sizes = Vec::new();
        let mut patients = 0u64;
        while patients < setup.patients {
            let size =
                family::family_size(&setup, seed, sizes.len() as u64).min((setup.patients - patients) as u32);
            sizes.push(size);
            patients += size as u64;
        }
        let target = |t: &str| plan.table(t).map(|p| p.rows).unwrap_or(0) as f64;
        // Tune the intensities: a few counting passes, each scaling a driver by target / actual.
        for _ in 0..10 {
            let t = Self::count(&setup, seed, &sizes, None);
            let i = &mut setup.intensity;
            let ratio = |table: &str, actual: u64| {
                let goal = target(table);
                if actual == 0 || goal == 0.0 {
                    1.0
                } else {
                    toward(goal, actual as f64).powf(0.8)
                }
            };
            let at = |name: &str| t.totals[table_index(name).expect("family table")];
            i.appointments *= ratio("appointment", at("appointment"));
            // Claims: the share of insured visits billed; insured patients visit more often only
            // once every visit is billed.
            let step = ratio("claim", at("claim"));
            if step < 1.0 && i.insured_visits > 1.0 {
                i.insured_visits = (i.insured_visits * step).max(1.0);
            } else if step > 1.0 && i.billed >= 1.0 {
                i.insured_visits = (i.insured_visits * step).min(4.0);
            } else {
                i.billed = (i.billed * step).clamp(0.05, 1.0);
            }
            i.procedures *= ratio("procedurelog", at("procedurelog"));
            i.estimates = (i.estimates * ratio("claimproc", at("claimproc"))).clamp(0.0, 1.0);
            // The status mix: non-completed procedures per completed one.
            if t.completed > 0 && t.other_procedures > 0 && setup.other_proc_ratio > 0.0 {
                let achieved = t.other_procedures as f64 / t.completed as f64;
                i.others = (i.others * toward(setup.other_proc_ratio, achieved)).clamp(0.1, 10.0);
            }
            i.installments = (i.installments * ratio("payment", at("payment"))).clamp(0.0, 3.0);
            // Adjustments: write-offs (PPO plans) and the rest (discounts, charges) each at the
            // profile's share of the volume; without a type mix, discounts fill the volume and
            // PPO plans give way only when write-offs alone exceed it.
            let adjustments = ratio("adjustment", at("adjustment"));
            let others = at("adjustment") - t.writeoffs;
            match setup.writeoff_share {
                Some(share) => {
                    let goal = target("adjustment");
                    let scale = |goal: f64, actual: u64| {
                        if actual == 0 {
                            2.0
                        } else {
                            toward(goal, actual as f64).powf(0.8)
                        }
                    };
                    if goal > 0.0 {
                        // The PPO lines written off: a fine-grained knob even when a small
                        // practice has a handful of plans; more PPO plans once every line is.
                        let step = scale(goal * share, t.writeoffs);
                        if i.writeoffs >= 1.0 && step > 1.0 {
                            i.ppo = (i.ppo * step).clamp(0.0, 1.0);
                        } else {
                            i.writeoffs = (i.writeoffs * step).clamp(0.0, 1.0);
                        }
                        i.discounts = (i.discounts * scale(goal * (1.0 - share), others)).clamp(0.0, 1.0);
                    }
                }
                None => {
                    i.discounts = (i.discounts * adjustments).clamp(0.0, 1.0);
                    if adjustments < 1.0 && i.discounts < 0.01 {
                        i.ppo = (i.ppo * adjustments).clamp(0.0, 1.0);
                    }
                }
            }
            for plan in setup.plans.iter_mut() {
                plan.ppo = setup::is_ppo(plan.num, i.ppo);
            }
            // Procedures on appointments that did not happen: the profile's share of procedures
            // on no appointment.
            if let Some(unscheduled) = setup.unscheduled_procedures {
                let goal =
                    (1.0 - unscheduled) * at("procedurelog") as f64 - t.completed_on_appointments as f64;
                let current = (t.on_appointments - t.completed_on_appointments) as f64;
                i.attached = if goal <= 0.0 {
                    0.0
                } else if current > 0.0 {
                    (i.attached * toward(goal, current)).clamp(0.0, 1.0)
                } else {
                    (i.attached * 2.0).clamp(0.05, 1.0)
                };
            }
            // Claims still out at as-of: the profile's share of sent claims, by the pace of the
            // carriers (the claim lag scaled).
            if let (Some(sent), true) = (setup.sent_share, at("claim") > 0) {
                let achieved = t.unreceived as f64 / at("claim") as f64;
                if sent > 0.0 && achieved > 0.0 {
                    i.claim_lag = (i.claim_lag * toward(sent, achieved).powf(0.8)).clamp(0.2, 3.0);
                    setup.claim_lag = setup::scaled(&setup.claim_lag_profile, i.claim_lag);
                }
            }
            // Received lines paid nothing (on no check): the profile's share of claim lines with a
            // payment (1 - the ClaimPaymentNum 0 share).
            if let (Some(unpaid), true) = (setup.unpaid_lines, t.received_lines > 0) {
                let goal = (1.0 - unpaid) * at("claimproc") as f64;
                if t.paid_lines > 0 {
                    let kept = (1.0 - i.denied) * toward(goal, t.paid_lines as f64);
                    i.denied = (1.0 - kept).clamp(0.0, 0.9);
                }
            }
            // Procedures without claim lines: the profile's share, by treating the insured more
            // often than the uninsured.
            if let (Some(goal), true) = (setup.procedures_without_lines, at("procedurelog") > 0) {
                let achieved = t.without_lines as f64 / at("procedurelog") as f64;
                if goal > 0.0 && achieved > 0.0 {
                    i.insured_treated =
                        (i.insured_treated * toward(goal, achieved).powf(0.8)).clamp(0.0, 1.0);
                }
            }
            // New patients: the profile's share of first visits among appointments.
            if t.new_patients > 0 && at("appointment") > 0 && setup.new_patient_share > 0.0 {
                let achieved = t.new_patients as f64 / at("appointment") as f64;
                i.new_patients =
                    (i.new_patients * toward(setup.new_patient_share, achieved)).clamp(0.01, 5.0);
            }
            // Patients without a first-visit date: the profile's share of all patients.
            if setup.first_visit_sentinel > 0.0 && t.first_visit_unknown > 0 && setup.patients > 0 {
                let achieved = t.first_visit_unknown as f64 / setup.patients as f64;
                i.first_visit_unknown = (i.first_visit_unknown
                    * toward(setup.first_visit_sentinel, achieved))
                .clamp(0.0, 1.0 / setup.first_visit_sentinel);
            }
            // Payment splits: income transfers move money to more procedures when the profile has
            // more splits than the payments of visits give.
            if t.transfers > 0 {
                let step = ratio("paysplit", at("paysplit"));
                i.transfer_splits = (i.transfer_splits * step.powf(3.0)).clamp(1.0, 20.0);
            }
            // Checks: payers pay on fewer days when the profile has fewer checks per claim.
            let goal = target("claimpayment");
            if goal > 0.0 && !t.checks.is_empty() {
                let step = toward(goal, t.checks.len() as f64);
                i.check_runs = (i.check_runs * step).clamp(0.005, 1.0);
            }
            i.recalls *= ratio("recall", at("recall"));
            // Patients with recalls: the profile's share of patients (the others have none).
            let with = 1.0 - setup.without_recall;
            if with > 0.0 && setup.without_recall > 0.0 && setup.patients > 0 {
                let achieved = t.recall_patients as f64 / setup.patients as f64;
                // More patients with recalls: a smaller chance of none, and the reverse.
                let step = toward(achieved, with);
                i.recall_patients = (i.recall_patients * step).clamp(0.0, 1.0 / setup.without_recall);
            }
            i.history *= ratio("histappointment", at("histappointment"));
            i.subscriptions = (i.subscriptions * ratio("inssub", at("inssub"))).clamp(0.0, 1.0);
            // Secondary claims: the profile's share of ClaimType S.
            let share = t.secondary_claims as f64 / at("claim").max(1) as f64;
            if share > 0.0 {
                i.secondary_claims =
                    (i.secondary_claims * toward(setup.secondary_claim_share, share)).clamp(0.0, 1.0);
            } else if setup.secondary_claim_share > 0.0 {
                i.secondary_claims = (i.secondary_claims * 2.0).min(1.0);
            }
            // Income transfers: the profile's share of type-0 payments.
            if setup.transfer_share > 0.0 {
                let share = t.transfers as f64 / at("payment").max(1) as f64;
                i.transfers = if share > 0.0 {
                    (i.transfers * toward(setup.transfer_share, share)).clamp(0.0, 1.0)
                } else {
                    (i.transfers * 2.0).min(1.0)
                };
            } else {
                i.transfers = 0.0;
            }
            // Booked future appointments: the profile's share of scheduled (status 1) ones.
            let share = t.future as f64 / at("appointment").max(1) as f64;
            if share > 0.0 && setup.future_share > 0.0 {
                i.future = (i.future * toward(setup.future_share, share)).clamp(0.0, 1.0);
            }
            // Open balances: the profile's share of AR over 90 days, by portions never paid.
            if let Some(shares) = setup.aging_shares {
                let total: i64 = t.aging.iter().sum();
                let achieved = t.aging[3] as f64 / total.max(1) as f64;
                i.unpaid = if achieved > 0.0 && shares[3] > 0.0 {
                    (i.unpaid * toward(shares[3], achieved)).clamp(0.0, 0.5)
                } else if shares[3] > 0.0 {
                    (i.unpaid * 2.0).clamp(0.001, 0.5)
                } else {
                    0.0
                };
            }
            // Procedure codes: treatment visits and other statuses take what hygiene visits leave.
            setup.retarget_codes(&t.hygiene_codes, target("procedurelog"));
            // Month of year: the profile's mix holds for the appointments (the booked future tail
            // included, which crowds the months after as-of) and for the completed visits (which
            // date procedures and claims). The visit-day weights serve both: they are tuned until
            // the average of the two mixes is the profile's, splitting the tail's tilt between them.
            let share =
                |counts: &[u64; 12], m: usize| counts[m] as f64 / counts.iter().sum::<u64>().max(1) as f64;
            let goal_total: f64 = setup.month_target.iter().sum();
            if goal_total > 0.0 {
                for (m, weight) in setup.by_month.iter_mut().enumerate() {
                    let goal = setup.month_target[m] / goal_total;
                    let achieved = (share(&t.months, m) + share(&t.completed_months, m)) / 2.0;
                    if goal > 0.0 && achieved > 0.0 {
                        *weight *= toward(goal, achieved);
                    }
                }
            }
        }
        // The contract's window of recalls due (staged recalls) takes precedence over the recall
        // volume: more or fewer recall rows per patient until the count due in the window lands
        // inside it with a margin.
        let (low, high) = (RECALL_WINDOW.0 as f64 * 1.05, RECALL_WINDOW.1 as f64 * 0.95);
        let mut recall_window = 0;
        let mut recall_adapted = false;
        // Below the contract's patient window the contract cannot hold anyway: keep the profile's
        // recall volume rather than 10 or more recalls per patient.
        let rounds = if setup.patients >= CONTRACT_PATIENTS.0 {
            12
        } else {
            1
        };
        for _ in 0..rounds {
            let window = Self::count(&setup, seed, &sizes, None).recall_window;
            recall_window = window;
            let window = window as f64;
            if window >= low && window <= high {
                break;
            }
            let goal = if window < low { low * 1.03 } else { high * 0.97 };
            setup.intensity.recalls *= (goal / window.max(1.0)).clamp(0.2, 5.0);
            recall_adapted = true;
        }
        let mut offsets = vec![vec![0u64]; FAMILY_TABLES.len()];
        let tally = Self::count(&setup, seed, &sizes, Some(&mut offsets));
        let checks = tally.checks.into_iter().collect();
        let (open, close) = setup.opening_hours();
        let calendar = chairs::seat(&tally.bookings, setup.operatories, open, close);
        let chair_use = chairs::usage(&tally.bookings, &calendar.chairs, setup.operatories);
        let mut anchors = tally.anchors;
        anchors.seat(|global| calendar.chairs.get(global as usize).map(|c| c.start));
        Self {
            setup,
            seed,
            sizes,
            offsets,
            recall_window,
            recall_adapted,
            checks,
            calendar,
            verifications: (
                plan.table("insverify").map(|t| t.rows).unwrap_or(0),
                plan.table("insverifyhist").map(|t| t.rows).unwrap_or(0),
                plan.table("insplan").map(|t| t.rows).unwrap_or(0),
            ),
            anchors,
            chair_use,
            paperwork_rows: paperwork::PAPERWORK_TABLES
                .iter()
                .filter_map(|t| plan.table(t).map(|p| (t.to_string(), p.rows)))
                .collect(),
        }
    }

    /// Where the simulation departs from the plan's volumes for the contract's sake.
    /// `patients_per_scale`: the profile's patients at scale 1.
    pub fn adaptations(&self, plan: &Plan, patients_per_scale: f64) -> Vec<super::Adaptation> {
        let mut list = Vec::new();
        let recall = self.rows(table_index("recall").expect("family table"));
        let target = plan.table("recall").map(|t| t.rows).unwrap_or(0);
        if target > 0 && self.recall_adapted {
            let reason = format!(
                "{} recalls are due between 2023-01-01 and as-of: the dbt contract's stg_opendental__recall window is {}-{} (dbt_dental_models.md §3.8)",
                self.recall_window, RECALL_WINDOW.0, RECALL_WINDOW.1
            );
            // The volume, and with it the recalls per patient.
            for statistic in ["rows", "PatNum"] {
                list.push(super::Adaptation {
                    table: "recall".into(),
                    statistic: statistic.into(),
                    target: target as f64,
                    achieved: recall as f64,
                    reason: reason.clone(),
                });
            }
        }
        let dentists = self.setup.providers as usize - self.setup.hygienists.len();
        if self.setup.dentists.len() < dentists {
            list.push(super::Adaptation {
                table: "appointment".into(),
                statistic: "ProvNum".into(),
                target: dentists as f64,
                achieved: self.setup.dentists.len() as f64,
                reason: format!(
                    "only {} of {} dentists see patients: distinct (appointment day, provider) pairs since 2023 must stay under the dbt contract's {} (dbt_dental_models.md §3.8)",
                    self.setup.dentists.len(), dentists, setup::PROVIDER_DAYS
                ),
            });
        }
        // Provider schedules follow the appointments: their volume is the practice's provider
        // days, whatever the profile's schedule volume.
        for table in CALENDAR_TABLES {
            let Some(target) = plan.table(table).map(|t| t.rows).filter(|t| *t > 0) else {
                continue;
            };
            let achieved = self.practice_rows(table);
            if (achieved as f64 / target as f64 - 1.0).abs() > 0.1 {
                list.push(super::Adaptation {
                    table: table.into(),
                    statistic: "rows".into(),
                    target: target as f64,
                    achieved: achieved as f64,
                    reason: format!(
                        "provider schedules are derived from the appointments: one per provider and day with patients ({} days), with the chairs used",
                        self.calendar.days.len()
                    ),
                });
            }
        }
        let patients = self.rows(0);
        if !(CONTRACT_PATIENTS.0..=CONTRACT_PATIENTS.1).contains(&patients) {
            let per_scale = patients_per_scale;
            list.push(super::Adaptation {
                table: "patient".into(),
                statistic: "rows".into(),
                target: patients as f64,
                achieved: patients as f64,
                reason: format!(
                    "the dbt contract needs {}-{} patients (int_patient_profile, dbt_dental_models.md §3.8), which with this profile is --scale {:.2} to {:.1}",
                    CONTRACT_PATIENTS.0, CONTRACT_PATIENTS.1,
                    CONTRACT_PATIENTS.0 as f64 / per_scale.max(1.0), CONTRACT_PATIENTS.1 as f64 / per_scale.max(1.0)
                ),
            });
        }
        let target = plan.table("procgroupitem").map(|t| t.rows).unwrap_or(0);
        list.extend(capped("procgroupitem", target, self.group_pairs(), || {
            format!(
                "a group-note item pairs two completed procedures of one visit, each pair once (the contract's UQ(ProcNum, GroupNum), dbt_dental_models.md §2): the visits hold {} pairs",
                self.group_pairs()
            )
        }));
        for link in &self.setup.user_links {
            list.extend(capped(link.table, link.planned, link.rows, || {
                format!(
                    "a user is linked to each {} at most once: {} users x {} targets",
                    link.column, self.setup.users, link.targets
                )
            }));
        }
        list
    }

    /// The distinct (group, item) procedure pairs the visits hold: the most group-note items.
    pub fn group_pairs(&self) -> u64 {
        (self.anchors.groups.len() + self.anchors.more_groups.len()) as u64
    }

    /// Simulates every family once: totals per table, the recalls due in [2023-01-01, as-of), and
    /// (when asked) the cumulative offsets.
    fn count(setup: &Setup, seed: u64, sizes: &[u32], mut offsets: Option<&mut Vec<Vec<u64>>>) -> Tally {
        let mut t = Tally::default();
        let low = chrono::NaiveDate::from_ymd_opt(2023, 1, 1).expect("valid");
        for (family, size) in sizes.iter().enumerate() {
            let rows = family::simulate_family(setup, seed, family as u64, *size, None);
            t.recall_window += rows
                .recalls
                .iter()
                .filter(|r| r.due >= low && r.due <= setup.clock.as_of)
                .count() as u64;
            t.future += rows.appointments.iter().filter(|a| a.status == 1).count() as u64;
            for a in &rows.appointments {
                let m = chrono::Datelike::month0(&a.when.date()) as usize;
                t.months[m] += 1;
                if a.status == 2 {
                    t.completed_months[m] += 1;
                }
            }
            t.secondary_claims += rows.claims.iter().filter(|c| c.secondary).count() as u64;
            let done = rows.procedures.iter().filter(|p| p.status == 2).count() as u64;
            t.completed += done;
            t.other_procedures += rows.procedures.len() as u64 - done;
            t.transfers += rows.payments.iter().filter(|p| p.pay_type == 0).count() as u64;
            t.writeoffs += rows
                .adjustments
                .iter()
                .filter(|a| a.adj_type == setup.writeoff_type)
                .count() as u64;
            let mut with_recall: Vec<u32> = rows.recalls.iter().map(|r| r.patient).collect();
            with_recall.dedup();
            t.recall_patients += with_recall.len() as u64;
            t.unreceived += rows.claims.iter().filter(|c| c.received.is_none()).count() as u64;
            let mut lined = vec![false; rows.procedures.len()];
            for c in &rows.claimprocs {
                lined[c.procedure as usize] = true;
            }
            t.without_lines += lined.iter().filter(|l| !**l).count() as u64;
            t.new_patients += rows.appointments.iter().filter(|a| a.new_patient).count() as u64;
            t.first_visit_unknown += rows.patients.iter().filter(|p| p.first_visit.is_none()).count() as u64;
            if let Some(aging) = rows.patients.first().and_then(|g| g.aging) {
                for (sum, bucket) in
                    t.aging
                        .iter_mut()
                        .zip([aging.b0_30, aging.b31_60, aging.b61_90, aging.over90])
                {
                    *sum += bucket;
                }
            }
            for p in &rows.procedures {
                let Some(a) = p.appointment else { continue };
                t.on_appointments += 1;
                if p.status == 2 {
                    t.completed_on_appointments += 1;
                    if rows.appointments[a as usize].hygienist.is_some() {
                        *t.hygiene_codes.entry(p.code).or_default() += 1;
                    }
                }
            }
            for part in &rows.claimpayments {
                *t.checks.entry((part.date, part.plan)).or_default() += part.amount;
            }
            t.paid_lines += rows.claimprocs.iter().filter(|c| c.payment.is_some()).count() as u64;
            t.received_lines += rows.claimprocs.iter().filter(|c| c.status == 1).count() as u64;
            if offsets.is_some() {
                let at = |name: &str| t.totals[table_index(name).expect("family table")];
                let start = paperwork::FamilyStart {
                    appointment: at("appointment"),
                    patient: at("patient"),
                    procedure: at("procedurelog"),
                    claim: at("claim"),
                };
                t.anchors.add(family, &rows, setup.clock.end, start);
                t.bookings
                    .extend(rows.appointments.iter().map(|a| chairs::Booking {
                        date: a.when.date(),
                        start: chrono::Timelike::num_seconds_from_midnight(&a.when.time()) / 60,
                        length: a.pattern.len() as u32 * 5,
                        prov: a.prov,
                        hygienist: a.hygienist,
                        seated: matches!(a.status, 1 | 2 | 4 | 5),
                    }));
            }
            let counts = family_counts(&rows);
            for (table, c) in counts.iter().enumerate() {
                t.totals[table] += c;
                if let Some(offsets) = offsets.as_deref_mut() {
                    offsets[table].push(t.totals[table]);
                }
            }
        }
        t
    }

    pub fn families(&self) -> usize {
        self.sizes.len()
    }

    pub fn rows(&self, table: usize) -> u64 {
        if FAMILY_TABLES[table] == "claimpayment" {
            return self.checks.len() as u64;
        }
        *self.offsets[table].last().unwrap_or(&0)
    }

    /// Rows of a table of the whole practice ([`practice_table`]).
    pub fn practice_rows(&self, table: &str) -> u64 {
        match table {
            "claimpayment" => self.checks.len() as u64,
            "schedule" => self.calendar.days.len() as u64,
            "scheduleop" => self.calendar.schedule_ops.len() as u64,
            "insverify" => self.verifications.0,
            "insverifyhist" => self.verifications.1,
            "provider" => self.setup.providers as u64,
            "operatory" => self.setup.operatories as u64,
            "insplan" => self.setup.plans.len() as u64,
            "benefit" => self.setup.benefits,
            "carrier" => self.setup.carriers as u64,
            "userod" => self.setup.users as u64,
            "employee" => self.setup.employees as u64,
            "userodpref" => self.setup.preferences,
            "referral" => self.setup.referrals,
            "employer" => self.setup.employers,
            "sheetfielddef" => self.setup.field_defs,
            link => self
                .setup
                .user_link(link)
                .map(|l| l.rows)
                .unwrap_or_else(|| unreachable!("{link} is not a practice table")),
        }
    }

    /// What verification `index` (0-based) of type `verify_type` verifies: a patient plan (2) or
    /// an insurance plan (1), spread over all of them; 0 for any other type.
    pub fn verified(&self, index: u64, verify_type: i64) -> i64 {
        let patplans = self.rows(table_index("patplan").expect("family table"));
        let targets = match verify_type {
            1 => self.verifications.2,
            2 => patplans,
            _ => 0,
        };
        if targets == 0 {
            0
        } else {
            (index % targets) as i64 + 1
        }
    }

    /// The key (ClaimPaymentNum) of the check for `plan` issued on `date`.
    pub fn check_key(&self, plan: u32, date: chrono::NaiveDate) -> i64 {
        self.checks
            .binary_search_by(|(key, _)| key.cmp(&(date, plan)))
            .map(|i| i as i64 + 1)
            .unwrap_or(0)
    }

    /// The family holding row `index` of table `table`, and the row's local index.
    pub fn locate(&self, table: usize, index: u64) -> (usize, u64) {
        let offsets = &self.offsets[table];
        let family = offsets.partition_point(|&c| c <= index).saturating_sub(1);
        (family, index - offsets[family])
    }

    /// The global key of a family-local row.
    pub fn key(&self, table: &str, family: usize, local: u32) -> i64 {
        let t = table_index(table).expect("family table");
        (self.offsets[t][family] + local as u64 + 1) as i64
    }

    pub fn simulate(&self, family: usize) -> FamilyRows {
        let apt = table_index("appointment").expect("family table");
        let (from, to) = (self.offsets[apt][family], self.offsets[apt][family + 1]);
        let chairs = self.calendar.chairs.get(from as usize..to as usize);
        family::simulate_family(&self.setup, self.seed, family as u64, self.sizes[family], chairs)
    }
}

/// The scenario: owns the family tables.
pub struct OpenDental {
    practice: Arc<Practice>,
    /// Which sheet and field definition each sheetfield row has (when the plan has sheets, their
    /// fields and field definitions).
    sheet_fields: Option<Arc<paperwork::SheetFields>>,
    /// Which new task and user each taskunread row pairs (when the plan has tasks and users).
    task_unread: Option<Arc<paperwork::TaskUnread>>,
    adaptations: Vec<super::Adaptation>,
    generators: BTreeMap<String, Arc<TableGenerator>>,
    columns: BTreeMap<String, Arc<Vec<String>>>,
}

/// The factory registered in `registry()`: applies to OpenDental profiles with the core tables.
pub fn factory(profile: &Profile, plan: &Plan, seed: u64, clock: Clock) -> Option<Box<dyn Scenario>> {
    if !profile.source.opendental {
        return None;
    }
    let required = ["procedurecode", "provider", "insplan", "definition", "fee"];
    if FAMILY_TABLES
        .iter()
        .chain(required.iter())
        .any(|t| plan.table(t).is_none())
    {
        return None;
    }
    if plan.table("patient").map(|t| t.rows).unwrap_or(0) == 0 {
        return None;
    }
    let practice = Arc::new(Practice::new(profile, plan, seed, clock));
    let mut generators = BTreeMap::new();
    let mut columns = BTreeMap::new();
    let calendar = CALENDAR_TABLES.into_iter().filter(|t| plan.table(t).is_some());
    let verifications = VERIFICATION_TABLES
        .into_iter()
        .filter(|_| VERIFICATION_TABLES.iter().all(|t| plan.table(t).is_some()));
    let paperwork = paperwork::PAPERWORK_TABLES
        .into_iter()
        .filter(|t| plan.table(t).is_some());
    let set_up = SETUP_TABLES.into_iter().filter(|t| plan.table(t).is_some());
    // Unread tasks follow the tasks (paperwork) and the users.
    let unread = ["taskunread"].into_iter().filter(|_| {
        ["taskunread", "task", "userod"]
            .iter()
            .all(|t| plan.table(t).is_some())
    });
    let owned: Vec<&str> = FAMILY_TABLES
        .into_iter()
        .chain(calendar)
        .chain(verifications)
        .chain(paperwork)
        .chain(set_up)
        .chain(unread)
        .collect();
    // The columns the simulation leaves to the generic generator draw keys that exist: a key into
    // a table the practice fills ranges over its actual rows, not the plan's target.
    let rows_of = |table: &str| -> Option<u64> {
        if let Some(index) = table_index(table) {
            Some(practice.rows(index))
        } else if practice_table(table) {
            Some(practice.practice_rows(table))
        } else {
            None
        }
    };
    let mut plan = plan.clone();
    for table_plan in plan
        .tables
        .iter_mut()
        .filter(|t| owned.contains(&t.name.as_str()))
    {
        table_plan.resize_parent_ranges(rows_of);
    }
    let plan = &plan;
    for name in owned {
        let table_plan = plan.table(name).expect("checked");
        generators.insert(
            name.to_string(),
            Arc::new(TableGenerator::new(
                table_plan,
                &profile.tables[name],
                seed,
                clock,
            )),
        );
        columns.insert(
            name.to_string(),
            Arc::new(
                table_plan
                    .columns
                    .iter()
                    .map(|c| c.name.clone())
                    .collect::<Vec<_>>(),
            ),
        );
    }
    // A sheet's fields follow its sheet definition's field definitions (the generic rows' keys).
    let sheet_fields = match (
        generators.get("sheet"),
        plan.table("sheetfielddef"),
        plan.table("sheetfield"),
    ) {
        (Some(sheets), Some(defs), Some(fields)) if generators.contains_key("sheetfield") => {
            let key_of = |generator: &TableGenerator, columns: &[String], index: u64| {
                rows::Row::new(columns, generator.row(index))
                    .int_value("SheetDefNum")
                    .unwrap_or(0)
            };
            let sheet_defs: Vec<i64> = (0..sheets.rows())
                .map(|i| key_of(sheets, &columns["sheet"], i))
                .collect();
            let def_generator = TableGenerator::new(defs, &profile.tables["sheetfielddef"], seed, clock);
            let def_columns: Vec<String> = defs.columns.iter().map(|c| c.name.clone()).collect();
            let field_defs: Vec<i64> = (0..defs.rows)
                .map(|i| {
                    rows::field_def_sheet(&practice.setup, i as usize)
                        .unwrap_or_else(|| key_of(&def_generator, &def_columns, i))
                })
                .collect();
            Some(Arc::new(paperwork::SheetFields::new(
                &sheet_defs,
                &field_defs,
                fields.rows,
            )))
        }
        _ => None,
    };
    // Only new tasks are unread, first by the users subscribed to their list.
    let task_unread = match (generators.get("task"), generators.contains_key("taskunread")) {
        (Some(tasks), true) => {
            let task_rows: Vec<(i64, i64, i64)> = (0..tasks.rows())
                .map(|i| {
                    let row = rows::Row::new(&columns["task"], tasks.row(i));
                    let value = |c: &str| row.int_value(c).unwrap_or(0);
                    (value("TaskStatus"), value("TaskListNum"), value("UserNum"))
                })
                .collect();
            let setup = &practice.setup;
            let subscriptions: Vec<(i64, i64)> = setup
                .user_link("tasksubscription")
                .filter(|_| generators.contains_key("tasksubscription"))
                .map(|link| {
                    (0..link.rows)
                        .map(|i| link.pair(setup.users, i, |_| None))
                        .collect()
                })
                .unwrap_or_default();
            Some(Arc::new(paperwork::TaskUnread::new(
                &task_rows,
                &subscriptions,
                setup.users,
            )))
        }
        _ => None,
    };
    let mut adaptations = practice.adaptations(plan, profile.tables["patient"].stats.row_count as f64);
    if let (Some(unread), Some(target)) = (&task_unread, plan.table("taskunread").map(|t| t.rows)) {
        adaptations.extend(capped("taskunread", target, unread.capacity(), || {
            "a task is unread only while new, and never by its writer: there are no more (new task, other user) pairs".into()
        }));
    }
    Some(Box::new(OpenDental {
        task_unread,
        sheet_fields,
        adaptations,
        practice,
        generators,
        columns,
    }))
}

impl Scenario for OpenDental {
    fn name(&self) -> &'static str {
        "opendental"
    }

    fn owns(&self, table: &str) -> bool {
        self.generators.contains_key(table)
    }

    fn adaptations(&self) -> Vec<super::Adaptation> {
        self.adaptations.clone()
    }

    fn source(&self, table: &str) -> Arc<dyn RowSource> {
        if paperwork::PAPERWORK_TABLES.contains(&table) {
            // A task's history rows rebuild their task.
            let parent = (table == "taskhist")
                .then(|| Some((self.generators.get("task")?.clone(), self.columns["task"].clone())))
                .flatten();
            return Arc::new(PaperworkSource {
                practice: self.practice.clone(),
                table: table.to_string(),
                rows: match table {
                    // No more group-note items than distinct pairs (an adaptation).
                    "procgroupitem" => self.generators[table].rows().min(self.practice.group_pairs()),
                    _ => self.generators[table].rows(),
                },
                generator: self.generators[table].clone(),
                columns: self.columns[table].clone(),
                cache: FamilyCache::default(),
                parent,
                sheet_fields: self.sheet_fields.clone(),
            });
        }
        if let (Some(unread), "taskunread") = (&self.task_unread, table) {
            return Arc::new(TaskUnreadSource {
                unread: unread.clone(),
                rows: self.generators[table].rows().min(unread.capacity()),
                generator: self.generators[table].clone(),
                columns: self.columns[table].clone(),
            });
        }
        if practice_table(table) {
            let parent = match table {
                "insverifyhist" => Some("insverify"),
                "usergroupattach" => Some("userod"),
                _ => None,
            }
            .and_then(|p| Some((self.generators.get(p)?.clone(), self.columns[p].clone())));
            return Arc::new(PracticeSource {
                practice: self.practice.clone(),
                table: table.to_string(),
                generator: self.generators[table].clone(),
                columns: self.columns[table].clone(),
                parent,
            });
        }
        let index = table_index(table).expect("owned table");
        Arc::new(FamilySource {
            practice: self.practice.clone(),
            table: index,
            generator: self.generators[table].clone(),
            columns: self.columns[table].clone(),
            cache: FamilyCache::default(),
        })
    }
}

/// The last family a row source simulated: sequential reads simulate each family once.
#[derive(Default)]
struct FamilyCache(Mutex<Option<(usize, Arc<FamilyRows>)>>);

impl FamilyCache {
    fn get(&self, practice: &Practice, family: usize) -> Arc<FamilyRows> {
        let mut cache = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match cache.as_ref() {
            Some((cached, rows)) if *cached == family => rows.clone(),
            _ => {
                let rows = Arc::new(practice.simulate(family));
                *cache = Some((family, rows.clone()));
                rows
            }
        }
    }
}

/// Rows of one family table.
struct FamilySource {
    practice: Arc<Practice>,
    table: usize,
    generator: Arc<TableGenerator>,
    columns: Arc<Vec<String>>,
    cache: FamilyCache,
}

impl RowSource for FamilySource {
    fn rows(&self) -> u64 {
        self.practice.rows(self.table)
    }

    fn row(&self, index: u64) -> Vec<Value> {
        let (family, local) = self.practice.locate(self.table, index);
        let rows = self.cache.get(&self.practice, family);
        let base = self.generator.row(index);
        let mut row = rows::Row::new(&self.columns, base);
        rows::build(
            &self.practice,
            FAMILY_TABLES[self.table],
            family,
            local as usize,
            &rows,
            &mut row,
        );
        if FAMILY_TABLES[self.table] == "patient" {
            // A family lives together, near the practice: the guarantor's street and home phone,
            // and one of the practice's ZIP codes.
            if local > 0 {
                let guarantor = rows::Row::new(&self.columns, self.generator.row(index - local));
                row.copy_from(&guarantor, &["Address", "Address2", "HmPhone"]);
            }
            if let Some([zip, city, state]) = self.practice.setup.place(family as u64) {
                for (column, text) in [("Zip", zip), ("City", city), ("State", state)] {
                    row.set(column, Value::Text(text.clone()));
                }
            }
        }
        row.values
    }
}

/// Rows of the tables the practice derives over all families: claimpayment (one check per plan
/// and payment-run day), schedule (one per provider and working day), scheduleop (its chairs),
/// insverify (one of the practice's plans verified) and insverifyhist (repeating it).
struct PracticeSource {
    practice: Arc<Practice>,
    table: String,
    generator: Arc<TableGenerator>,
    columns: Arc<Vec<String>>,
    /// insverifyhist: the insverify generator and columns, to rebuild a history row's verification.
    parent: Option<(Arc<TableGenerator>, Arc<Vec<String>>)>,
}

impl RowSource for PracticeSource {
    fn rows(&self) -> u64 {
        self.practice.practice_rows(&self.table)
    }

    fn row(&self, index: u64) -> Vec<Value> {
        let base = self.generator.row(index);
        let mut row = rows::Row::new(&self.columns, base);
        let index = index as usize;
        match self.table.as_str() {
            "claimpayment" => rows::build_check(&self.practice, index, &mut row),
            "schedule" => rows::build_schedule(&self.practice, index, &mut row),
            "scheduleop" => rows::build_schedule_op(&self.practice, index, &mut row),
            "insverify" => rows::build_verification(&self.practice, index, &mut row),
            "provider" => rows::build_provider(&self.practice, index, &mut row),
            "operatory" => rows::build_operatory(&self.practice, index, &mut row),
            "benefit" => rows::build_benefit(&self.practice, index, &mut row),
            "carrier" => rows::build_carrier(&self.practice, index, &mut row),
            "userod" => rows::build_user(&self.practice, index, &mut row),
            "employee" => rows::build_employee(index, &mut row),
            "referral" => rows::build_referral(&self.practice.setup, index, &mut row),
            "employer" => rows::build_employer(&self.practice.setup, index, &mut row),
            "sheetfielddef" => rows::build_field_def(&self.practice.setup, index, &mut row),
            "insplan" => {
                let plan = index as u32 + 1;
                row.int("CarrierNum", self.practice.setup.carrier_of(plan) as i64);
                row.flag("IsHidden", false);
            }
            "userodpref" => {
                // Preference `index` belongs to user (index mod users) + 1; an expanded image
                // category (FkeyType 0) is the next of the practice's for that user each round.
                let setup = &self.practice.setup;
                let users = setup.users.max(1) as usize;
                let (user, round) = (index % users, index / users);
                row.int("UserNum", user as i64 + 1);
                let categories = &setup.image_categories;
                if row.int_value("FkeyType") == Some(0) && !categories.is_empty() {
                    row.int("Fkey", categories[(user + round) % categories.len()]);
                }
            }
            "insverifyhist" => {
                // A history row repeats what its verification verifies.
                let parent = row.key_index("InsVerifyNum");
                if let (Some(parent), Some(verification)) = (parent, &self.parent) {
                    let (generator, columns) = verification;
                    let base = generator.row(parent as u64);
                    let mut parent_row = rows::Row::new(columns, base);
                    rows::build_verification(&self.practice, parent, &mut parent_row);
                    row.copy_from(&parent_row, &["VerifyType", "FKey"]);
                }
            }
            link => {
                // A user's group memberships start at its own UserGroupNum; its views and
                // subscriptions spread the users over the targets.
                let setup = &self.practice.setup;
                let link = setup.user_link(link).expect("a practice table");
                // (Only usergroupattach has the users as its parent.)
                let own = |user: u64| {
                    let (generator, columns) = self.parent.as_ref()?;
                    rows::Row::new(columns, generator.row(user)).int_value("UserGroupNum")
                };
                let (user, target) = link.pair(setup.users, index as u64, own);
                row.int("UserNum", user);
                row.int(link.column, target);
                if link.table == "tasksubscription" {
                    // A subscription to a whole list names no single task.
                    row.int("TaskNum", 0);
                }
            }
        }
        row.values
    }
}

/// Rows of taskunread: a new task, unread by another user ([`paperwork::TaskUnread`]).
struct TaskUnreadSource {
    unread: Arc<paperwork::TaskUnread>,
    rows: u64,
    generator: Arc<TableGenerator>,
    columns: Arc<Vec<String>>,
}

impl RowSource for TaskUnreadSource {
    fn rows(&self) -> u64 {
        self.rows
    }

    fn row(&self, index: u64) -> Vec<Value> {
        let mut row = rows::Row::new(&self.columns, self.generator.row(index));
        if let Some((task, user)) = self.unread.pair(index) {
            row.int("TaskNum", task);
            row.int("UserNum", user);
        }
        row.values
    }
}

/// Rows of a paperwork table ([`paperwork`]): the generic row, anchored to a visit.
struct PaperworkSource {
    practice: Arc<Practice>,
    table: String,
    rows: u64,
    generator: Arc<TableGenerator>,
    columns: Arc<Vec<String>>,
    cache: FamilyCache,
    /// taskhist: the task generator and columns, to rebuild a history row's task.
    parent: Option<(Arc<TableGenerator>, Arc<Vec<String>>)>,
    /// sheetfield: each field's sheet and field definition.
    sheet_fields: Option<Arc<paperwork::SheetFields>>,
}

impl RowSource for PaperworkSource {
    fn rows(&self) -> u64 {
        self.rows
    }

    fn row(&self, index: u64) -> Vec<Value> {
        let base = self.generator.row(index);
        let mut row = rows::Row::new(&self.columns, base);
        let practice = &self.practice;
        let anchors = &practice.anchors;
        let plans = practice.paperwork_rows.get("treatplan").copied().unwrap_or(0);
        match self.table.as_str() {
            table @ ("treatplanattach" | "proctp") => {
                // The plan's visit, as the treatplan row of that key was anchored.
                let plan = row.key_index("TreatPlanNum");
                if let Some(visit) = plan.and_then(|i| anchors.visit("treatplan", i as u64, plans)) {
                    let rows = self.cache.get(practice, visit.family as usize);
                    paperwork::build_attachment(practice, table, index, visit, &rows, &mut row);
                }
            }
            "claimsnapshot" => {
                let key = row.key_index("ClaimProcNum");
                if let Some(line) = key.and_then(|i| anchors.lines.get(i)) {
                    paperwork::build_snapshot(practice, line, &mut row);
                }
            }
            "claimtracking" => {
                let key = row.key_index("ClaimNum");
                if let Some(claim) = key.and_then(|i| anchors.claims.get(i)) {
                    paperwork::build_tracking(practice, index, claim, &mut row);
                }
            }
            "taskhist" => {
                let task = row.key_index("TaskNum");
                let tasks = practice.paperwork_rows.get("task").copied().unwrap_or(0);
                if let (Some(task), Some((generator, columns))) = (task, &self.parent) {
                    let index = task as u64;
                    if let Some(visit) = anchors.visit("task", index, tasks) {
                        let mut task = rows::Row::new(columns, generator.row(index));
                        paperwork::build(practice, "task", index, visit, &mut task);
                        row.copy_from(
                            &task,
                            &[
                                "KeyNum",
                                "ObjectType",
                                "DateTask",
                                "DateTimeEntry",
                                "DateTimeOriginal",
                            ],
                        );
                        if let Some(edited) = task.get("SecDateTEdit").cloned() {
                            row.set("DateTStamp", edited);
                        }
                    }
                }
            }
            "insbluebook" => paperwork::build_bluebook(practice, index, self.rows, &mut row),
            "insbluebooklog" => {
                let key = row.key_index("ClaimProcNum");
                if let Some(line) = key.and_then(|i| anchors.lines.get(i)) {
                    paperwork::build_bluebook_log(practice, line, &mut row);
                }
            }
            "eobattach" => {
                // Scanned when the check came in.
                let key = row.key_index("ClaimPaymentNum");
                if let Some(((day, _), _)) = key.and_then(|i| practice.checks.get(i)) {
                    paperwork::restamp(&mut row, "DateTCreated", *day, practice.setup.clock.end);
                }
            }
            "statementprod" => {
                // A line of the statement's family: one of its procedures (ProdType 0) or
                // adjustments (1), by the row's key.
                let statements = practice.paperwork_rows.get("statement").copied().unwrap_or(0);
                let statement = row.key_index("StatementNum");
                let visit = statement.and_then(|i| anchors.visit("statement", i as u64, statements));
                let target = match row.int_value("ProdType") {
                    Some(0) => Some("procedurelog"),
                    Some(1) => Some("adjustment"),
                    _ => None,
                };
                if let (Some(visit), Some(target)) = (visit, target) {
                    let t = table_index(target).expect("family table");
                    let family = visit.family as usize;
                    let (from, to) = (practice.offsets[t][family], practice.offsets[t][family + 1]);
                    if to > from {
                        let key = from + index % (to - from) + 1;
                        row.set("FKey", Value::Int(key as i64));
                    }
                }
            }
            "periomeasure" => {
                let exams = practice.paperwork_rows.get("perioexam").copied().unwrap_or(0);
                if exams > 0 {
                    // The readings of an exam are consecutive rows, entered on its day (their
                    // teeth and values keep the profile's mixes).
                    let exam = paperwork::spread(index, self.rows, exams as usize) as u64;
                    row.set("PerioExamNum", Value::Int(exam as i64 + 1));
                    if let Some(visit) = anchors.visit("perioexam", exam, exams) {
                        paperwork::build(practice, "periomeasure", index, visit, &mut row);
                    }
                }
            }
            "procgroupitem" => {
                // An item of a visit's group note: rows spread evenly over the visits' (group,
                // item) pairs, distinct while the pairs outnumber the rows.
                // The visits' other ordered pairs join only when the first pairs run out.
                let (first, more) = (&anchors.groups, &anchors.more_groups);
                let pairs = if self.rows as usize <= first.len() {
                    first.len()
                } else {
                    first.len() + more.len()
                };
                if pairs > 0 {
                    let at = paperwork::spread(index, self.rows, pairs);
                    let (group, item) = first.get(at).copied().unwrap_or_else(|| more[at - first.len()]);
                    row.set("GroupNum", Value::Int(group as i64));
                    row.set("ProcNum", Value::Int(item as i64));
                }
            }
            "sheetfield" => {
                // A field of its sheet, after one of the sheet definition's field definitions,
                // signed (when it is) on the sheet's day.
                let sheets = practice.paperwork_rows.get("sheet").copied().unwrap_or(0);
                let field = self.sheet_fields.as_ref().and_then(|l| l.field(index));
                if let Some((sheet, def)) = field {
                    row.set("SheetNum", Value::Int(sheet as i64 + 1));
                    row.set("SheetFieldDefNum", Value::Int(def));
                    if let Some(visit) = anchors.visit("sheet", sheet, sheets) {
                        paperwork::restamp(&mut row, "DateTimeSig", visit.date, practice.setup.clock.end);
                    }
                }
            }
            "procnote" => {
                let key = row.key_index("ProcNum");
                if let Some(procedure) = key.and_then(|i| anchors.procedures.get(i)) {
                    paperwork::build_note(practice, procedure, &mut row);
                }
            }
            table => {
                if let Some(visit) = anchors.visit(table, index, self.rows) {
                    paperwork::build(practice, table, index, visit, &mut row);
                }
            }
        }
        row.values
    }
}
