//! The practice set-up: everything the family simulation reads from the profile (reference keys,
//! fees, mixes, lags, calendar weights) plus the small practice tables (providers, users,
//! operatories, insurance plans) decided once.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, NaiveDate};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::generate::generic::Clock;
use crate::generate::plan::Plan;
use crate::profile::{Distribution, Profile, Table};

/// How far ahead future (scheduled) appointments are booked, in days.
pub const FUTURE_DAYS: i64 = 395;

/// The dbt contract's limit on distinct (appointment date, ProvNum) pairs since 2023-01-01
/// (dbt_dental_models.md §3.8: mart_appointment_summary and two other marts hold 1-10,000 rows).
pub const PROVIDER_DAYS: u64 = 10_000;

/// A weighted choice over values.
#[derive(Debug, Clone, Default)]
pub struct Mix<T> {
    items: Vec<(T, f64)>,
    total: f64,
}

impl<T: Clone> Mix<T> {
    pub fn new(items: Vec<(T, f64)>) -> Self {
        let items: Vec<(T, f64)> = items.into_iter().filter(|(_, w)| *w > 0.0).collect();
        let total = items.iter().map(|(_, w)| w).sum();
        Self { items, total }
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The number of distinct values.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// `expected` values on average, each value `v` appearing share(v) x expected times on average,
    /// so that the mix holds exactly whatever `expected` is: a value is included once with
    /// probability min(1, e) and repeated for the part of e above 1. A value repeats as soon as its
    /// own expectation exceeds 1 (drawing distinct values until enough are found would flatten the mix).
    pub fn proportional(&self, rng: &mut ChaCha8Rng, expected: f64) -> Vec<T> {
        let mut chosen = Vec::new();
        if self.total <= 0.0 {
            return chosen;
        }
        for (value, weight) in &self.items {
            let e = (weight / self.total * expected).max(0.0);
            let whole = e.floor();
            let times = whole as usize + usize::from(rng.gen::<f64>() < e - whole);
            chosen.extend(std::iter::repeat_n(value.clone(), times));
        }
        chosen
    }

    pub fn pick(&self, rng: &mut ChaCha8Rng) -> Option<T> {
        if self.items.is_empty() {
            return None;
        }
        let mut roll = rng.gen::<f64>() * self.total;
        for (value, weight) in &self.items {
            if roll < *weight {
                return Some(value.clone());
            }
            roll -= weight;
        }
        self.items.last().map(|(v, _)| v.clone())
    }

    /// The share of `value` (0 when absent).
    pub fn share(&self, predicate: impl Fn(&T) -> bool) -> f64 {
        if self.total <= 0.0 {
            return 0.0;
        }
        self.items
            .iter()
            .filter(|(v, _)| predicate(v))
            .map(|(_, w)| w)
            .sum::<f64>()
            / self.total
    }
}

/// The size an adjustment type states in its name: a share of the procedure's fee ("5% Cash
/// Discount") or an amount ("$25 Referral Credit").
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum StatedSize {
    Percent(f64),
    Cents(i64),
}

/// Reads the size a definition name states, if any.
pub fn stated_size(name: &str) -> Option<StatedSize> {
    let number = |text: &str| -> Option<f64> {
        let digits: String = text
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        digits.parse::<f64>().ok().filter(|n| *n > 0.0)
    };
    if let Some(at) = name.find('%') {
        let before: String = name[..at]
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect::<Vec<char>>()
            .into_iter()
            .rev()
            .collect();
        return number(&before).filter(|p| *p <= 100.0).map(StatedSize::Percent);
    }
    let at = name.find('$')?;
    number(&name[at + 1..]).map(|dollars| StatedSize::Cents((dollars * 100.0).round() as i64))
}

/// One procedure code with what the simulation needs about it.
#[derive(Debug, Clone)]
pub struct Code {
    pub num: u32,
    pub code: String,
    /// Standard (UCR) fee in cents.
    pub fee: i64,
    /// PPO allowed fee in cents.
    pub allowed: i64,
    /// Coverage percentage of its category (0 = not covered).
    pub percent: i64,
}

/// An insurance plan of the practice.
#[derive(Debug, Clone)]
pub struct PlanInfo {
    pub num: u32,
    pub carrier: u32,
    pub ppo: bool,
}

/// A recall type with its packed interval and trigger codes.
#[derive(Debug, Clone)]
pub struct RecallType {
    pub num: u32,
    pub interval: i64,
    pub triggers: Vec<u32>,
}

/// Per-driver intensities, tuned by the counting passes so that volumes land near the plan.
#[derive(Debug, Clone, Copy)]
pub struct Intensity {
    pub appointments: f64,
    /// Multiplier of the procedures beyond the first of a visit.
    pub procedures: f64,
    pub insured_visits: f64,
    pub estimates: f64,
    pub installments: f64,
    pub discounts: f64,
    pub recalls: f64,
    pub history: f64,
    pub subscriptions: f64,
    /// Probability that an active patient has a booked future appointment.
    pub future: f64,
    /// Probability that a visit with a secondary plan gets a secondary claim.
    pub secondary_claims: f64,
    /// Multiplier of the non-completed procedures per completed one (the status mix).
    pub others: f64,
    /// The share of insurance plans that are PPO (their write-offs are adjustments).
    pub ppo: f64,
    /// Probability that a paid visit gets an income transfer (a $0 payment of type 0).
    pub transfers: f64,
    /// Mean number of procedures an income transfer moves money to.
    pub transfer_splits: f64,
    /// The share of PPO claim lines whose allowed fee is below the office fee (written off); the
    /// others are paid on the office fee (codes the plan's schedule does not discount).
    pub writeoffs: f64,
    /// Multiplier of the chance that a patient with a visit has no recall (patients with recalls).
    pub recall_patients: f64,
    /// Probability that an appointment that did not happen carries planned procedures.
    pub attached: f64,
    /// Probability that a line of a received claim is paid nothing (on no check).
    pub denied: f64,
    /// Multiplier of the claim lag (the share of claims still out at as-of).
    pub claim_lag: f64,
    /// Probability that an insured patient's completed visit is billed (a claim).
    pub billed: f64,
    /// Multiplier of the chance that a patient who is not new has no first-visit date.
    pub first_visit_unknown: f64,
    /// The share of (plan, open day) pairs on which the plan's payer issues checks (its payment
    /// runs): fewer runs bundle more claims per check.
    pub check_runs: f64,
    /// Multiplier of the untreated share among insured patients (the uninsured make up the rest).
    pub insured_treated: f64,
    /// Multiplier of the chance that a treated patient is new (the new-patient share of visits).
    pub new_patients: f64,
    /// The share of patient portions never paid (they stay open and age: the AR over 90 days).
    pub unpaid: f64,
}

/// Starting points of the counting passes' tuning, near where the built-in profile settles (any
/// profile's own values are reached from here; closer starts need fewer passes).
impl Default for Intensity {
    fn default() -> Self {
        Self {
            appointments: 0.875,
            procedures: 0.55,
            insured_visits: 1.0,
            estimates: 0.85,
            installments: 1.6,
            discounts: 0.28,
            recalls: 1.0,
            history: 2.0,
            subscriptions: 0.3,
            future: 0.2,
            secondary_claims: 0.5,
            others: 1.0,
            ppo: 1.0 / 3.0,
            transfers: 0.1,
            transfer_splits: 2.0,
            writeoffs: 0.25,
            recall_patients: 1.0,
            attached: 0.13,
            denied: 0.25,
            claim_lag: 1.0,
            billed: 0.87,
            first_visit_unknown: 1.3,
            check_runs: 0.9,
            insured_treated: 0.3,
            new_patients: 0.69,
            unpaid: 0.04,
        }
    }
}

/// The tables of (user, target) pairs the set-up shapes: (table, target key column, target table).
/// A user's group memberships, appointment views and task-list subscriptions.
pub const USER_LINKS: [(&str, &str, &str); 3] = [
    ("usergroupattach", "UserGroupNum", "usergroup"),
    ("userodapptview", "ApptViewNum", "apptview"),
    ("tasksubscription", "TaskListNum", "tasklist"),
];

/// One of [`USER_LINKS`] at this plan: the plan's volume, capped at one row per user and target.
#[derive(Debug, Clone)]
pub struct UserLink {
    pub table: &'static str,
    pub column: &'static str,
    /// Rows of the target table.
    pub targets: u32,
    /// The plan's row target, and the rows made (at most users x targets).
    pub planned: u64,
    pub rows: u64,
}

impl UserLink {
    /// Row `index`: (UserNum, target key). Row i is user (i mod users) + 1 in its round i / users;
    /// a user starts at its `first` target (1-based) and takes the next one each round, so no pair
    /// repeats while there are no more rows than users x targets.
    pub fn pair(&self, users: u32, index: u64, first: impl Fn(u64) -> Option<i64>) -> (i64, i64) {
        let (users, targets) = (users.max(1) as u64, self.targets.max(1) as i64);
        let (user, round) = (index % users, (index / users) as i64);
        let start = first(user)
            .filter(|t| (1..=targets).contains(t))
            .unwrap_or((user as i64) % targets + 1);
        (user as i64 + 1, (start - 1 + round) % targets + 1)
    }
}

/// Everything the simulation reads, decided once per run.
#[derive(Debug, Clone)]
pub struct Setup {
    pub clock: Clock,
    pub patients: u64,
    pub dentists: Vec<u32>,
    pub hygienists: Vec<u32>,
    pub providers: u32,
    pub users: u32,
    /// Staff who are not providers (the employee table's rows).
    pub employees: u32,
    /// Rows of the benefit table (the plan's target).
    pub benefits: u64,
    /// The tables pairing users with rows of another table ([`USER_LINKS`]), each at most once.
    pub user_links: Vec<UserLink>,
    /// The image categories (definition category 18): the keys of users' expanded-category
    /// preferences (userodpref FkeyType 0).
    pub image_categories: Vec<i64>,
    /// Rows of userodpref and of referral (the plan's targets).
    pub preferences: u64,
    pub referrals: u64,
    /// Rows of employer and of sheetfielddef (the plan's targets).
    pub employers: u64,
    pub field_defs: u64,
    /// The sheet definitions' types (sheetdef reference rows: SheetDefNum -> SheetType): a
    /// sheet is of its definition's type.
    pub sheet_types: BTreeMap<i64, i64>,
    /// The prescription templates (rxdef reference rows: Drug, Sig, Disp, and whether the drug
    /// is controlled): what a patient's prescription says.
    pub prescriptions: Vec<([String; 3], bool)>,
    /// Where the practice's families live: the zipcode reference rows (Zip, City, State), each
    /// frequent one listed three times so that families favour them.
    pub places: Vec<[String; 3]>,
    /// Specialties of referring doctors: the provider specialties (definition category 35) other
    /// than general dentistry and hygiene.
    pub referral_specialties: Vec<i64>,
    /// The coverage categories with a percentage (covcat.DefaultPercent >= 0), by CovCatNum:
    /// what the simulation pays for the codes of their spans, and what a plan's coinsurance
    /// benefits state.
    pub coverage: Vec<(i64, i64)>,
    pub operatories: u32,
    pub carriers: u32,
    pub plans: Vec<PlanInfo>,
    pub codes: BTreeMap<u32, Code>,
    /// The codes of treatment visits and of procedures in other statuses: the profile's code mix
    /// less what hygiene and new-patient visits chart (set by the counting passes).
    pub code_mix: Mix<u32>,
    /// The profile's code mix (codes with a procedurecode row).
    pub code_target: Mix<u32>,
    /// The diagnostic, preventive and periodontal-maintenance part of the profile's code mix,
    /// charted at hygiene and new-patient visits.
    pub hygiene_mix: Mix<u32>,
    /// Named codes (by ProcCode) used by visit types.
    pub named: BTreeMap<String, u32>,
    pub family_size: Distribution,
    pub appointments_per_patient: Distribution,
    pub untreated_share: f64,
    pub procs_per_appointment: Distribution,
    pub recalls_per_patient: Distribution,
    pub without_recall: f64,
    /// The profile's share of procedures on no appointment (AptNum 0).
    pub unscheduled_procedures: Option<f64>,

    /// Key of the carriers' payment-run days (set from the seed by the practice).
    pub check_seed: u64,
    /// The claim lag in use (the profile's, scaled by `Intensity::claim_lag`).
    pub claim_lag: Distribution,
    /// The profile's claim lag.
    pub claim_lag_profile: Distribution,
    /// The profile's share of claims sent and not yet received (ClaimStatus S).
    pub sent_share: Option<f64>,
    /// The profile's share of claim lines on no check (claimproc.ClaimPaymentNum 0).
    pub unpaid_lines: Option<f64>,
    /// The profile's share of procedures without claim lines.
    pub procedures_without_lines: Option<f64>,
    pub pay_lag: Distribution,
    pub adjustment_lag: Distribution,
    pub active_share: f64,
    pub insured_share: f64,
    pub female_share: f64,
    pub birth_sentinel: f64,
    pub age_bands: Vec<(u32, u32, f64)>,
    pub first_visit_sentinel: f64,
    pub new_patient_share: f64,
    pub hygiene_share: f64,
    /// The share of visits other than new-patient visits that are hygiene visits, so that all
    /// visits (new-patient visits have a hygienist) give `hygiene_share`.
    pub hygiene_visit_share: f64,
    /// The share of completed visits with arrival, seating and dismissal times, so that the
    /// appointments' null share of `DateTimeArrived` matches the profile's.
    pub arrival_share: f64,
    pub secondary_share: f64,
    /// The share of claims sent to a secondary plan (ClaimType S).
    pub secondary_claim_share: f64,
    pub status_mix: Mix<i64>,
    pub future_share: f64,
    pub other_proc_mix: Mix<i64>,
    pub other_proc_ratio: f64,
    pub pattern_mix: Mix<String>,
    pub apt_type_mix: Mix<i64>,
    /// Month-of-year weights of visit days (tuned so that all appointments, the booked future
    /// included, follow `month_target`, the profile's).
    pub by_month: Vec<f64>,
    pub month_target: Vec<f64>,
    pub by_weekday: Vec<f64>,
    pub by_hour: Vec<f64>,
    /// Weekday weights of insurance checks (claimpayment.CheckDate) and patient payments
    /// (payment.PayDate).
    pub check_weekday: Vec<f64>,
    pub pay_weekday: Vec<f64>,
    pub pay_type_mix: Mix<i64>,
    pub ins_pay_type_mix: Mix<i64>,
    /// The profile's share of income transfers (type 0) among payments.
    pub transfer_share: f64,
    /// Adjustment types other than write-offs, with their sign (-1 discount, +1 charge).
    pub discount_type_mix: Mix<(i64, i64)>,
    /// The sizes adjustment types state in their definition names ("5% Senior Discount").
    pub stated_sizes: BTreeMap<i64, StatedSize>,
    pub writeoff_type: i64,
    /// The write-offs' share of adjustments (None: no type mix in the profile).
    pub writeoff_share: Option<f64>,
    /// Weekday weights of discounts and charges (the adjustment mix less the write-offs').
    pub discount_weekday: Vec<f64>,
    pub confirmed: Vec<i64>,
    pub billing_type: i64,
    pub recall_types: Vec<RecallType>,
    pub recall_type_mix: Mix<u32>,
    /// The profile's AR by aging bucket (0-30, 31-60, 61-90, over 90 days), as shares: the ratios of
    /// the means of patient.Bal_0_30 .. BalOver90 (None when the profile lacks them).
    pub aging_shares: Option<[f64; 4]>,
    /// The profile's behaviours (lags and shares between rows).
    pub behaviour: Behaviours,
    /// Commlog types (definition category 27) by DefNum, with OpenDental's ItemValue flag
    /// ("APPT", "RECALL", "FIN", ...).
    pub commlog_kinds: BTreeMap<i64, String>,
    /// The unearned type of a prepayment (definition category 29, PaySplitUnearnedType): the one
    /// named "Prepayment", else the first shown on the account (not hidden, ItemValue without
    /// OpenDental's "X" that keeps a type off the balance); None: no prepayments.
    pub prepayment_type: Option<i64>,
    /// The provider specialties (definition category 35) named General and Hygienist, if defined.
    pub specialties: (Option<i64>, Option<i64>),
    pub intensity: Intensity,
}

/// A whole number of days (not negative) drawn from a distribution in days (or of minutes from
/// one in minutes).
pub fn days(lag: &Distribution, rng: &mut ChaCha8Rng) -> i64 {
    lag.quantile(rng.gen()).round().max(0.0) as i64
}

/// The behaviours the simulation reads (`profile::behaviour`): the profile's, or the built-in
/// profile's where a profile was never completed.
#[derive(Debug, Clone)]
pub struct Behaviours {
    pub booking_lead: Distribution,
    pub claim_send: Distribution,
    pub reminder_lead: Distribution,
    pub pay_after_insurance: f64,
    pub statement_wait: Distribution,
    pub instalment_interval: Distribution,
    pub instalments_max: u32,
    pub transfer_fraction: Distribution,
    pub transfer_lag: Distribution,
    pub discount_fraction: Distribution,
    pub arrival_early: Distribution,
    pub check_issue: Distribution,
    pub schedule_entry: Distribution,
    pub coverage_before: Distribution,
    pub prepaid_share: f64,
    pub prepay_lead: Distribution,
    /// Deposits are rounded up to a multiple of this, in cents.
    pub prepay_round: i64,
    pub estimate_excess: Distribution,
}

impl Behaviours {
    /// Behaviour `name` of the profile, else of the built-in profile.
    pub fn get(profile: &Profile, name: &str) -> Distribution {
        static BUILTIN: std::sync::OnceLock<BTreeMap<String, crate::profile::Behaviour>> =
            std::sync::OnceLock::new();
        if let Some(b) = profile.behaviour.get(name) {
            return b.distribution.clone();
        }
        BUILTIN
            .get_or_init(|| crate::profile::builtin().map(|p| p.behaviour).unwrap_or_default())
            .get(name)
            .map(|b| b.distribution.clone())
            .unwrap_or_else(|| panic!("the built-in profile defines behaviour {name}"))
    }

    pub fn new(profile: &Profile) -> Self {
        let get = |name: &str| Self::get(profile, name);
        Self {
            booking_lead: get("booking_lead_days"),
            claim_send: get("claim_send_days"),
            reminder_lead: get("reminder_lead_days"),
            pay_after_insurance: get("pay_after_insurance").mean.clamp(0.0, 1.0),
            statement_wait: get("statement_wait_days"),
            instalment_interval: get("instalment_interval_days"),
            instalments_max: get("instalments_max").max.round().max(1.0) as u32,
            transfer_fraction: get("transfer_fraction"),
            transfer_lag: get("transfer_lag_days"),
            discount_fraction: get("discount_fraction"),
            arrival_early: get("arrival_early_minutes"),
            check_issue: get("check_issue_days"),
            schedule_entry: get("schedule_entry_days"),
            coverage_before: get("coverage_before_days"),
            prepaid_share: get("prepaid_share").mean.clamp(0.0, 1.0),
            prepay_lead: get("prepay_lead_days"),
            prepay_round: (get("prepay_round_dollars").mean.round().max(1.0) * 100.0) as i64,
            estimate_excess: get("estimate_excess_fraction"),
        }
    }
}

fn stats<'p>(profile: &'p Profile, table: &str) -> Option<&'p Table> {
    profile.tables.get(table)
}

fn categories(profile: &Profile, table: &str, column: &str) -> Vec<(String, f64)> {
    stats(profile, table)
        .and_then(|t| t.stats.columns.get(column))
        .and_then(|c| c.categories.as_ref())
        .map(|c| c.frequencies.iter().map(|(k, v)| (k.clone(), *v)).collect())
        .unwrap_or_default()
}

fn int_mix(profile: &Profile, table: &str, column: &str, keep: impl Fn(i64) -> bool) -> Mix<i64> {
    Mix::new(
        categories(profile, table, column)
            .into_iter()
            .filter_map(|(k, v)| k.parse::<i64>().ok().filter(|k| keep(*k)).map(|k| (k, v)))
            .collect(),
    )
}

fn share(profile: &Profile, table: &str, column: &str, value: &str, default: f64) -> f64 {
    let list = categories(profile, table, column);
    if list.is_empty() {
        return default;
    }
    list.iter()
        .find(|(k, _)| k == value)
        .map(|(_, v)| *v)
        .unwrap_or(0.0)
}

fn sentinel(profile: &Profile, table: &str, column: &str, value: &str) -> f64 {
    stats(profile, table)
        .and_then(|t| t.stats.columns.get(column))
        .and_then(|c| c.sentinels.get(value).copied())
        .unwrap_or(0.0)
}

fn constant(value: f64) -> Distribution {
    Distribution {
        min: value,
        max: value,
        mean: value,
        p01: value,
        p05: value,
        p25: value,
        p50: value,
        p75: value,
        p95: value,
        p99: value,
    }
}

fn relationship<'p>(
    profile: &'p Profile,
    child: &str,
    column: &str,
) -> Option<&'p crate::profile::Relationship> {
    profile.relationships.iter().find(|r| {
        r.child_table == child && r.child_column == column && r.verdict != crate::profile::Verdict::Rejected
    })
}

/// Whether a boolean cell of a reference row is true (CSV files write `true`, PostgreSQL `t`).
fn reference_flag(cell: &str) -> bool {
    matches!(cell, "t" | "true" | "1")
}

/// Reference rows of a table as maps column -> text.
pub fn reference_rows(profile: &Profile, table: &str) -> Vec<BTreeMap<String, String>> {
    let Some(reference) = stats(profile, table).and_then(|t| t.reference.as_ref()) else {
        return Vec::new();
    };
    reference
        .rows
        .iter()
        .map(|row| {
            reference
                .columns
                .iter()
                .zip(row)
                .filter_map(|(c, v)| v.clone().map(|v| (c.clone(), v)))
                .collect()
        })
        .collect()
}

fn cents(text: &str) -> i64 {
    (text.parse::<f64>().unwrap_or(0.0) * 100.0).round() as i64
}

fn temporal(profile: &Profile, table: &str, column: &str) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let t = stats(profile, table)
        .and_then(|t| t.stats.columns.get(column))
        .and_then(|c| c.temporal.clone())
        .unwrap_or_default();
    let f = |v: &Vec<u64>, n: usize| {
        if v.len() == n && v.iter().any(|x| *x > 0) {
            v.iter().map(|x| *x as f64).collect()
        } else {
            vec![1.0; n]
        }
    };
    let mut weekday = f(&t.by_weekday, 7);
    if t.by_weekday.is_empty() {
        weekday[6] = 0.0;
    }
    let mut hour = f(&t.by_hour, 24);
    if t.by_hour.is_empty() {
        hour = (0..24)
            .map(|h| if (8..17).contains(&h) { 1.0 } else { 0.0 })
            .collect();
    }
    (f(&t.by_month_of_year, 12), weekday, hour)
}

/// A uniform number in [0, 1) from a 64-bit key (SplitMix64's finaliser): for decisions that are
/// a fixed function of a key derived from the seed, too many to give each its own stream.
pub fn unit(key: u64) -> f64 {
    let mut z = key.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

/// Diagnostic (D0), preventive (D1) and periodontal-maintenance codes: what a hygiene visit
/// charts.
pub fn is_hygiene_code(code: &str) -> bool {
    code.starts_with("D0")
        || code.starts_with("D1")
        || ["D4341", "D4342", "D4346", "D4355", "D4910"].contains(&code)
}

/// A distribution of lags scaled by `factor`.
pub fn scaled(lag: &Distribution, factor: f64) -> Distribution {
    Distribution {
        min: lag.min * factor,
        max: lag.max * factor,
        mean: lag.mean * factor,
        p01: lag.p01 * factor,
        p05: lag.p05 * factor,
        p25: lag.p25 * factor,
        p50: lag.p50 * factor,
        p75: lag.p75 * factor,
        p95: lag.p95 * factor,
        p99: lag.p99 * factor,
    }
}

/// Whether plan `num` is a PPO plan when a share `share` of plans are: a fixed spread over plan
/// numbers (golden-ratio hashing), so that raising the share only adds plans.
pub fn is_ppo(num: u32, share: f64) -> bool {
    ((num as f64 * 0.618_033_988_75).fract()) < share
}

/// Decodes OpenDental's packed interval (days, weeks, months, years in bytes 0..3).
pub fn add_interval(date: NaiveDate, packed: i64) -> NaiveDate {
    let days = packed & 0xff;
    let weeks = (packed >> 8) & 0xff;
    let months = (packed >> 16) & 0xff;
    let years = (packed >> 24) & 0xff;
    let shifted = date
        .checked_add_months(chrono::Months::new((years * 12 + months) as u32))
        .unwrap_or(date);
    shifted + Duration::days(days + 7 * weeks)
}

impl Setup {
    pub fn new(profile: &Profile, plan: &Plan, clock: Clock) -> Self {
        let target = |t: &str| plan.table(t).map(|p| p.rows).unwrap_or(0);
        let patients = target("patient").max(1);
        // Provider keys must exist in the provider table (generic, 1..target): with a single
        // provider, the dentist is also the hygienist.
        let providers = target("provider").max(1) as u32;
        // As many hygienists as the profile's appointments name (ProvHyg), else the behaviour's
        // share of the providers; at least one, and at least one dentist.
        let named_hygienists = categories(profile, "appointment", "ProvHyg")
            .iter()
            .filter(|(k, _)| k.parse::<i64>().is_ok_and(|k| k > 0))
            .count() as u32;
        let hygienist_count = if named_hygienists > 0 {
            named_hygienists
        } else {
            let share = Behaviours::get(profile, "hygienist_share").mean;
            (providers as f64 * share).round() as u32
        }
        .max(1)
        .min(providers.saturating_sub(1));
        let mut dentists: Vec<u32> = (1..=providers - hygienist_count).collect();
        let hygienists: Vec<u32> = if hygienist_count == 0 {
            dentists.clone()
        } else {
            (providers - hygienist_count + 1..=providers).collect()
        };
        let users = target("userod").max(1) as u32;
        let employees = target("employee") as u32;
        let benefits = target("benefit");
        let user_links = USER_LINKS
            .iter()
            .map(|&(table, column, target_table)| {
                let targets = target(target_table) as u32;
                let planned = target(table);
                UserLink {
                    table,
                    column,
                    targets,
                    planned,
                    rows: planned.min(users as u64 * targets as u64),
                }
            })
            .collect();
        let operatories = target("operatory").max(1) as u32;
        let carriers = target("carrier").max(1) as u32;
        let plan_count = target("insplan").max(1) as u32;
        // PPO plans: the profile's share of plans with a fee schedule is tiny; OpenDental's PPO
        // write-offs need PlanType 'p'. A plan is PPO when its number is a multiple of 3.
        let plans = (1..=plan_count)
            .map(|num| PlanInfo {
                num,
                carrier: (num - 1) % carriers + 1,
                ppo: is_ppo(num, Intensity::default().ppo),
            })
            .collect();

        // Coverage percentage by code range.
        let covcats: BTreeMap<String, i64> = reference_rows(profile, "covcat")
            .into_iter()
            .filter_map(|r| {
                Some((
                    r.get("CovCatNum")?.clone(),
                    r.get("DefaultPercent")?.parse().ok()?,
                ))
            })
            .collect();
        let mut coverage: Vec<(i64, i64)> = covcats
            .iter()
            .filter_map(|(num, percent)| Some((num.parse().ok()?, *percent)))
            .filter(|(_, percent)| *percent >= 0)
            .collect();
        coverage.sort_unstable();
        let spans: Vec<(String, String, i64)> = reference_rows(profile, "covspan")
            .into_iter()
            .filter_map(|r| {
                let percent = *covcats.get(r.get("CovCatNum")?)?;
                Some((r.get("FromCode")?.clone(), r.get("ToCode")?.clone(), percent))
            })
            .collect();
        let mut standard: BTreeMap<u32, i64> = BTreeMap::new();
        let mut allowed_fees: BTreeMap<u32, i64> = BTreeMap::new();
        for row in reference_rows(profile, "fee") {
            let (Some(code), Some(amount)) = (row.get("CodeNum"), row.get("Amount")) else {
                continue;
            };
            let Ok(code) = code.parse::<u32>() else { continue };
            match row.get("FeeSched").map(|s| s.as_str()) {
                Some("8286") => {
                    allowed_fees.insert(code, cents(amount));
                }
                Some("8292") | None => {
                    standard.insert(code, cents(amount));
                }
                _ => {}
            }
        }
        let allowed_share = Behaviours::get(profile, "allowed_fee_fraction")
            .mean
            .clamp(0.0, 1.0);
        let mut codes = BTreeMap::new();
        let mut named = BTreeMap::new();
        for row in reference_rows(profile, "procedurecode") {
            let (Some(num), Some(code)) = (row.get("CodeNum"), row.get("ProcCode")) else {
                continue;
            };
            let Ok(num) = num.parse::<u32>() else { continue };
            let fee = standard.get(&num).copied().unwrap_or(0);
            let percent = spans
                .iter()
                .find(|(from, to, _)| code.as_str() >= from.as_str() && code.as_str() <= to.as_str())
                .map(|(_, _, p)| (*p).max(0))
                .unwrap_or(0);
            // The allowed fee is the 8286 schedule's, else the profile's share of the office fee.
            let allowed = allowed_fees
                .get(&num)
                .copied()
                .unwrap_or((fee as f64 * allowed_share).round() as i64)
                .min(fee);
            named.insert(code.clone(), num);
            codes.insert(
                num,
                Code {
                    num,
                    code: code.clone(),
                    fee,
                    allowed,
                    percent,
                },
            );
        }
        let code_mix: Mix<u32> = Mix::new(
            categories(profile, "procedurelog", "CodeNum")
                .into_iter()
                .filter_map(|(k, v)| {
                    k.parse::<u32>()
                        .ok()
                        .filter(|k| codes.contains_key(k))
                        .map(|k| (k, v))
                })
                .collect(),
        );
        // A profile without a code mix (too many distinct codes for an older introspect, say):
        // every priced code, equally likely, so that visits still have procedures.
        let code_mix = if code_mix.is_empty() {
            Mix::new(
                codes
                    .values()
                    .filter(|c| c.fee > 0)
                    .map(|c| (c.num, 1.0))
                    .collect(),
            )
        } else {
            code_mix
        };
        let hygiene_mix = Mix::new(
            code_mix
                .items
                .iter()
                .filter(|(k, _)| is_hygiene_code(&codes[k].code))
                .cloned()
                .collect(),
        );

        let rel_dist = |child: &str, column: &str, default: f64| {
            relationship(profile, child, column)
                .and_then(|r| r.children_per_parent.clone())
                .unwrap_or_else(|| constant(default))
        };
        let rel_without = |child: &str, column: &str| {
            relationship(profile, child, column)
                .and_then(|r| r.parents_without_children)
                .unwrap_or(0.0)
        };
        let lag = |child: &str, column: &str, default: f64| {
            relationship(profile, child, column)
                .and_then(|r| r.lag.as_ref().map(|l| l.days.clone()))
                .unwrap_or_else(|| constant(default))
        };

        let age_bands = stats(profile, "patient")
            .and_then(|t| t.stats.columns.get("Birthdate"))
            .and_then(|c| c.age_bands.clone())
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(label, weight)| {
                if let Some(start) = label.strip_suffix('+') {
                    let start: u32 = start.parse().ok()?;
                    Some((start, start + 10, weight))
                } else {
                    let (low, high) = label.split_once('-')?;
                    Some((low.parse().ok()?, high.parse().ok()?, weight))
                }
            })
            .collect();

        let status_all = int_mix(profile, "appointment", "AptStatus", |s| {
            [1, 2, 3, 5, 6].contains(&s)
        });
        let future_share = if status_all.is_empty() {
            0.08
        } else {
            status_all.share(|s| *s == 1)
        };
        let status_mix = if status_all.is_empty() {
            Mix::new(vec![(2, 0.75), (5, 0.05), (3, 0.07), (6, 0.13)])
        } else {
            Mix::new(
                status_all
                    .items
                    .iter()
                    .filter(|(s, _)| *s != 1)
                    .cloned()
                    .collect(),
            )
        };
        let proc_status = int_mix(profile, "procedurelog", "ProcStatus", |s| (1..=8).contains(&s));
        let completed = proc_status.share(|s| *s == 2).max(0.01);
        let other_proc_mix = Mix::new(
            proc_status
                .items
                .iter()
                .filter(|(s, _)| *s != 2)
                .cloned()
                .collect(),
        );
        let other_proc_ratio = (1.0 - completed) / completed;

        let (by_month, by_weekday, by_hour) = temporal(profile, "appointment", "AptDateTime");
        let weekday_or = |table: &str, column: &str| {
            let has = stats(profile, table)
                .and_then(|t| t.stats.columns.get(column))
                .and_then(|c| c.temporal.as_ref())
                .map(|t| t.by_weekday.iter().any(|x| *x > 0))
                .unwrap_or(false);
            if has {
                temporal(profile, table, column).1
            } else {
                by_weekday.clone()
            }
        };
        let check_weekday = weekday_or("claimpayment", "CheckDate");
        let pay_weekday = weekday_or("payment", "PayDate");
        // Chair capacity against the contract: the appointment marts are grained by day x
        // provider and hold at most PROVIDER_DAYS rows, so no more dentists see patients than the
        // open days since 2023 (history plus the booked future) allow. The others stay in the
        // provider table as former providers, as in production (8 of 58 licensed).
        let open_days = {
            let first = clock
                .start
                .max(NaiveDate::from_ymd_opt(2023, 1, 1).expect("valid"));
            let last = clock.as_of + Duration::days(FUTURE_DAYS);
            (0..=(last - first).num_days())
                .filter(|d| {
                    by_weekday[(first + Duration::days(*d)).weekday().num_days_from_monday() as usize] > 0.0
                })
                .count()
                .max(1)
        };
        let seeing = ((PROVIDER_DAYS as f64 * 0.95) / open_days as f64)
            .floor()
            .max(1.0) as usize;
        dentists.truncate(seeing.max(1));
        let pattern_mix = Mix::new(
            categories(profile, "appointment", "Pattern")
                .into_iter()
                .filter(|(k, _)| !k.is_empty())
                .collect(),
        );
        let definitions = reference_rows(profile, "definition");
        let defs_in = |category: &str| -> Vec<(i64, String)> {
            definitions
                .iter()
                .filter(|r| r.get("Category").map(|c| c.as_str()) == Some(category))
                .filter_map(|r| {
                    Some((
                        r.get("DefNum")?.parse().ok()?,
                        r.get("ItemValue").cloned().unwrap_or_default(),
                    ))
                })
                .collect()
        };
        let adjustment_signs: BTreeMap<i64, String> = defs_in("1").into_iter().collect();
        let stated_sizes: BTreeMap<i64, StatedSize> = definitions
            .iter()
            .filter(|r| r.get("Category").map(|c| c.as_str()) == Some("1"))
            .filter_map(|r| {
                let num = r.get("DefNum")?.parse().ok()?;
                Some((num, stated_size(r.get("ItemName")?)?))
            })
            .collect();
        let pay_types: Vec<i64> = defs_in("10").into_iter().map(|(d, _)| d).collect();
        let ins_pay_types: Vec<i64> = defs_in("32").into_iter().map(|(d, _)| d).collect();
        let writeoff_type = 188;
        // Adjustments other than write-offs, with their sign: discounts (-) lower what the patient
        // owes, charges (+, reallocations, administrative adjustments) raise it.
        let adjustment_types = int_mix(profile, "adjustment", "AdjType", |t| {
            t != writeoff_type && adjustment_signs.contains_key(&t)
        });
        let discount_type_mix = Mix::new(
            adjustment_types
                .items
                .iter()
                .map(|(t, w)| {
                    let sign = if adjustment_signs.get(t).map(|s| s == "+").unwrap_or(false) {
                        1
                    } else {
                        -1
                    };
                    ((*t, sign), *w)
                })
                .collect(),
        );
        // The write-offs' share of all adjustments (None: the profile has no type mix).
        let all_adjustment_types = int_mix(profile, "adjustment", "AdjType", |_| true);
        let writeoff_share =
            (!all_adjustment_types.is_empty()).then(|| all_adjustment_types.share(|t| *t == writeoff_type));
        // Discounts and charges fill the adjustment weekday mix around the write-offs, which are
        // posted on check days: each weekday gets what the write-offs leave of its share.
        let discount_weekday = {
            let normal = |v: &[f64]| {
                let total: f64 = v.iter().sum::<f64>().max(1e-9);
                v.iter().map(|x| x / total).collect::<Vec<f64>>()
            };
            let all = normal(&weekday_or("adjustment", "AdjDate"));
            let checks = normal(&check_weekday);
            let w = writeoff_share.unwrap_or(0.0);
            let rest: Vec<f64> = (0..7).map(|d| (all[d] - w * checks[d]).max(0.0)).collect();
            if rest.iter().sum::<f64>() > 0.0 {
                rest
            } else {
                all
            }
        };
        // Patient payments: positive types with a definition (type 0 transfers need amount 0 and
        // type 72 refunds are negative; the simulation posts neither).
        let pay_type_mix = int_mix(profile, "payment", "PayType", |t| {
            t != 0 && t != 72 && pay_types.contains(&t)
        });
        let ins_pay_type_mix = int_mix(profile, "claimpayment", "PayType", |t| {
            ins_pay_types.contains(&t) && ![645, 646, 647, 661].contains(&t)
        });
        let confirmed: Vec<i64> = defs_in("2").into_iter().map(|(d, _)| d).collect();
        let billing_type = defs_in("4").first().map(|(d, _)| *d).unwrap_or(0);

        let triggers = reference_rows(profile, "recalltrigger");
        let recall_types: Vec<RecallType> = reference_rows(profile, "recalltype")
            .into_iter()
            .filter_map(|r| {
                let num: u32 = r.get("RecallTypeNum")?.parse().ok()?;
                let interval: i64 = r.get("DefaultInterval")?.parse().ok()?;
                let list: Vec<u32> = triggers
                    .iter()
                    .filter(|t| t.get("RecallTypeNum").and_then(|v| v.parse::<u32>().ok()) == Some(num))
                    .filter_map(|t| t.get("CodeNum")?.parse().ok())
                    .collect();
                (interval > 0 && !list.is_empty()).then_some(RecallType {
                    num,
                    interval,
                    triggers: list,
                })
            })
            .collect();
        let recall_type_mix = Mix::new(
            categories(profile, "recall", "RecallTypeNum")
                .into_iter()
                .filter_map(|(k, v)| {
                    let k: u32 = k.parse().ok()?;
                    recall_types.iter().any(|t| t.num == k).then_some((k, v))
                })
                .collect(),
        );

        let patplan_per_patient = rel_dist("patplan", "PatNum", 1.0).mean;
        let new_patient_share = share(profile, "appointment", "IsNewPatient", "true", 0.08);
        let hygiene_share = share(profile, "appointment", "IsHygiene", "true", 0.45);
        let hygiene_visit_share =
            ((hygiene_share - new_patient_share) / (1.0 - new_patient_share).max(0.05)).clamp(0.0, 1.0);
        let arrived = 1.0
            - stats(profile, "appointment")
                .and_then(|t| t.stats.columns.get("DateTimeArrived"))
                .map(|c| c.null_fraction)
                .unwrap_or(0.45);
        // Broken appointments always carry an arrival (see the simulation); completed ones make up
        // the rest of the profile's non-null share.
        let completed_share = (1.0 - future_share) * status_mix.share(|s| *s == 2);
        let broken_share = (1.0 - future_share) * status_mix.share(|s| *s == 5);
        let arrival_share = ((arrived - broken_share) / completed_share.max(0.01)).clamp(0.0, 1.0);
        let specialties = {
            let named = |name: &str| {
                definitions
                    .iter()
                    .filter(|r| r.get("Category").map(|c| c.as_str()) == Some("35"))
                    .find(|r| r.get("ItemName").is_some_and(|n| n.eq_ignore_ascii_case(name)))
                    .and_then(|r| r.get("DefNum")?.parse().ok())
            };
            (named("General"), named("Hygienist"))
        };
        Self {
            clock,
            patients,
            dentists,
            hygienists,
            providers,
            users,
            employees,
            benefits,
            user_links,
            preferences: target("userodpref"),
            referrals: target("referral"),
            employers: target("employer"),
            field_defs: target("sheetfielddef"),
            sheet_types: reference_rows(profile, "sheetdef")
                .iter()
                .filter_map(|r| {
                    Some((
                        r.get("SheetDefNum")?.parse().ok()?,
                        r.get("SheetType")?.parse().ok()?,
                    ))
                })
                .collect(),
            places: reference_rows(profile, "zipcode")
                .iter()
                .filter_map(|r| {
                    let text = |c: &str| r.get(c).cloned().filter(|v| !v.is_empty());
                    let place = [text("ZipCodeDigits")?, text("City")?, text("State")?];
                    let frequent = r.get("IsFrequent").is_some_and(|f| reference_flag(f));
                    Some(vec![place; if frequent { 3 } else { 1 }])
                })
                .flatten()
                .collect(),
            prescriptions: reference_rows(profile, "rxdef")
                .iter()
                .filter_map(|r| {
                    let text = |c: &str| r.get(c).cloned().unwrap_or_default();
                    r.get("Drug").filter(|d| !d.is_empty())?;
                    let controlled = r.get("IsControlled").is_some_and(|c| reference_flag(c));
                    Some(([text("Drug"), text("Sig"), text("Disp")], controlled))
                })
                .collect(),
            coverage,
            operatories,
            carriers,
            plans,
            codes,
            code_target: code_mix.clone(),
            code_mix,
            hygiene_mix,
            named,
            family_size: rel_dist("patient", "Guarantor", 1.0),
            appointments_per_patient: rel_dist("appointment", "PatNum", 3.0),
            untreated_share: rel_without("appointment", "PatNum"),
            procs_per_appointment: rel_dist("procedurelog", "AptNum", 1.0),
            recalls_per_patient: rel_dist("recall", "PatNum", 1.0),
            without_recall: rel_without("recall", "PatNum"),
            unscheduled_procedures: stats(profile, "procedurelog")
                .and_then(|t| t.stats.columns.get("AptNum"))
                .and_then(|c| c.sentinels.get("0").copied()),

            check_seed: 0,
            claim_lag: lag("claimproc", "ClaimNum", 30.0),
            claim_lag_profile: lag("claimproc", "ClaimNum", 30.0),
            procedures_without_lines: relationship(profile, "claimproc", "ProcNum")
                .and_then(|r| r.parents_without_children),
            unpaid_lines: stats(profile, "claimproc")
                .and_then(|t| t.stats.columns.get("ClaimPaymentNum"))
                .and_then(|c| c.sentinels.get("0").copied()),
            sent_share: (!categories(profile, "claim", "ClaimStatus").is_empty())
                .then(|| share(profile, "claim", "ClaimStatus", "S", 0.0)),
            pay_lag: lag("paysplit", "ProcNum", 0.0),
            adjustment_lag: lag("adjustment", "ProcNum", 0.0),
            active_share: share(profile, "patient", "PatStatus", "0", 0.65),
            insured_share: share(profile, "patient", "HasIns", "1", 0.6),
            female_share: share(profile, "patient", "Gender", "1", 0.5),
            birth_sentinel: sentinel(profile, "patient", "Birthdate", "0001-01-01"),
            age_bands,
            first_visit_sentinel: sentinel(profile, "patient", "DateFirstVisit", "0001-01-01"),
            new_patient_share,
            hygiene_share,
            hygiene_visit_share,
            arrival_share,
            secondary_share: (patplan_per_patient - 1.0).clamp(0.0, 1.0),
            secondary_claim_share: share(profile, "claim", "ClaimType", "S", 0.0),
            status_mix,
            future_share,
            other_proc_mix,
            other_proc_ratio,
            pattern_mix,
            apt_type_mix: int_mix(profile, "appointment", "AppointmentTypeNum", |t| {
                (0..=12).contains(&t)
            }),
            month_target: by_month.clone(),
            by_month,
            by_weekday,
            by_hour,
            check_weekday,
            pay_weekday,
            pay_type_mix,
            ins_pay_type_mix,
            transfer_share: share(profile, "payment", "PayType", "0", 0.0),
            discount_type_mix,
            stated_sizes,
            aging_shares: {
                let means: Vec<f64> = ["Bal_0_30", "Bal_31_60", "Bal_61_90", "BalOver90"]
                    .iter()
                    .filter_map(|c| {
                        stats(profile, "patient")?
                            .stats
                            .columns
                            .get(*c)?
                            .numeric
                            .as_ref()
                            .map(|n| n.mean.max(0.0))
                    })
                    .collect();
                let total: f64 = means.iter().sum();
                (means.len() == 4 && total > 0.0).then(|| {
                    [
                        means[0] / total,
                        means[1] / total,
                        means[2] / total,
                        means[3] / total,
                    ]
                })
            },
            writeoff_type,
            writeoff_share,
            discount_weekday,
            confirmed,
            billing_type,
            recall_types,
            recall_type_mix,
            behaviour: Behaviours::new(profile),
            commlog_kinds: defs_in("27").into_iter().collect(),
            image_categories: defs_in("18").into_iter().map(|(d, _)| d).collect(),
            prepayment_type: {
                let shown: Vec<&BTreeMap<String, String>> = definitions
                    .iter()
                    .filter(|r| r.get("Category").map(|c| c.as_str()) == Some("29"))
                    .filter(|r| !r.get("IsHidden").is_some_and(|h| reference_flag(h)))
                    .filter(|r| !r.get("ItemValue").is_some_and(|v| v.contains('X')))
                    .collect();
                let num = |r: &&BTreeMap<String, String>| r.get("DefNum")?.parse::<i64>().ok();
                shown
                    .iter()
                    .find(|r| {
                        r.get("ItemName")
                            .is_some_and(|n| n.eq_ignore_ascii_case("Prepayment"))
                    })
                    .and_then(num)
                    .or_else(|| shown.iter().filter_map(num).min())
            },
            referral_specialties: defs_in("35")
                .into_iter()
                .map(|(d, _)| d)
                .filter(|d| {
                    let (general, hygienist) = specialties;
                    Some(*d) != general && Some(*d) != hygienist
                })
                .collect(),
            specialties,
            intensity: Intensity::default(),
        }
    }

    /// The place (Zip, City, State) of whatever `key` numbers (a family, a referral, an employer):
    /// one of [`Setup::places`], well mixed so that neighbouring keys land apart; `None` when the
    /// profile has no ZIP codes.
    pub fn place(&self, key: u64) -> Option<&[String; 3]> {
        // Fibonacci hashing mixes the key.
        let mixed = (key.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as usize;
        (!self.places.is_empty()).then(|| &self.places[mixed % self.places.len()])
    }

    /// The user link of `table` ([`USER_LINKS`]), if it is one.
    pub fn user_link(&self, table: &str) -> Option<&UserLink> {
        self.user_links.iter().find(|l| l.table == table)
    }

    /// The day an appointment on `date` was booked: the profile's booking lead before it. A future
    /// appointment (after as-of) was booked by yesterday: its lead is redrawn until it reaches back
    /// that far, or else it is the longest lead there is (and at most yesterday).
    pub fn booking_day(&self, rng: &mut ChaCha8Rng, date: NaiveDate, future: bool) -> NaiveDate {
        let lead = &self.behaviour.booking_lead;
        if !future {
            return date - Duration::days(days(lead, rng));
        }
        let needed = (date - self.clock.end).num_days();
        for _ in 0..16 {
            let ahead = days(lead, rng);
            if ahead >= needed {
                return date - Duration::days(ahead);
            }
        }
        (date - Duration::days(lead.max.round() as i64)).min(self.clock.end)
    }

    /// Days ahead of as-of of a booked future appointment: density proportional to the share of
    /// booking leads at least that long (drawn by rejection; the longest lead bounds it).
    pub fn days_ahead(&self, rng: &mut ChaCha8Rng) -> i64 {
        let lead = &self.behaviour.booking_lead;
        let longest = lead.max.max(1.0);
        let mut x = 1.0;
        for _ in 0..64 {
            x = rng.gen::<f64>() * longest;
            if rng.gen::<f64>() < 1.0 - lead.cdf(x) {
                break;
            }
        }
        x.round().max(1.0) as i64
    }

    /// A day in [low, high] following the month-of-year and weekday weights.
    pub fn day(&self, rng: &mut ChaCha8Rng, low: NaiveDate, high: NaiveDate) -> NaiveDate {
        let span = (high - low).num_days().max(0);
        let max_month = self.by_month.iter().cloned().fold(0.0, f64::max).max(1e-9);
        let max_weekday = self.by_weekday.iter().cloned().fold(0.0, f64::max).max(1e-9);
        let mut candidate = low;
        for _ in 0..64 {
            candidate = low + Duration::days(rng.gen_range(0..=span));
            let weight = self.by_month[candidate.month0() as usize] / max_month
                * self.by_weekday[candidate.weekday().num_days_from_monday() as usize]
                / max_weekday;
            if rng.gen::<f64>() < weight {
                return candidate;
            }
        }
        // Fall back to the next open weekday.
        Self::next_on(candidate, &self.by_weekday)
    }

    /// `from` plus a lag drawn from `lag`, on a weekday drawn by `weekday`'s weights: lags are
    /// redrawn while the weekday is rejected, so that both the lag's distribution and the weekday
    /// mix hold (shifting to the next open day would pile weekends onto Mondays).
    pub fn lagged(
        &self,
        rng: &mut ChaCha8Rng,
        from: NaiveDate,
        lag: &Distribution,
        weekday: &[f64],
    ) -> NaiveDate {
        let max = weekday.iter().cloned().fold(0.0, f64::max).max(1e-9);
        let weight = |d: NaiveDate| weekday[d.weekday().num_days_from_monday() as usize] / max;
        let mut candidate = from;
        for _ in 0..32 {
            candidate = from + Duration::days(days(lag, rng));
            if rng.gen::<f64>() < weight(candidate) {
                return candidate;
            }
        }
        // A lag with little spread (same-day payments): walk forward from it instead.
        for _ in 0..14 {
            candidate += Duration::days(1);
            if rng.gen::<f64>() < weight(candidate) {
                return candidate;
            }
        }
        Self::next_on(candidate, weekday)
    }

    /// Whether `code` is a prophylaxis (adult or child).
    pub fn is_prophy(&self, code: u32) -> bool {
        self.codes
            .get(&code)
            .is_some_and(|c| c.code == "D1110" || c.code == "D1120")
    }

    /// Treatment visits and other statuses draw what hygiene and new-patient visits leave of the
    /// profile's code mix: each code's target count (its share of `procedures`) less the count
    /// `placed` at those visits.
    pub fn retarget_codes(&mut self, placed: &BTreeMap<u32, u64>, procedures: f64) {
        let residual: Vec<(u32, f64)> = self
            .code_target
            .items
            .iter()
            .map(|(code, share)| {
                let left =
                    share / self.code_target.total * procedures - *placed.get(code).unwrap_or(&0) as f64;
                (*code, left.max(0.0))
            })
            .collect();
        let residual = Mix::new(residual);
        if !residual.is_empty() {
            self.code_mix = residual;
        }
    }

    /// The plan numbered `num`.
    pub fn plan(&self, num: u32) -> Option<&PlanInfo> {
        self.plans.iter().find(|p| p.num == num)
    }

    /// The carrier of a plan.
    pub fn carrier_of(&self, plan: u32) -> u32 {
        self.plan(plan).map(|p| p.carrier).unwrap_or(1)
    }

    /// The coverage percentage of a procedure code (0: not covered or unknown).
    pub fn percent(&self, code: u32) -> i64 {
        self.codes.get(&code).map(|c| c.percent).unwrap_or(0)
    }

    /// The first payment run for `plan` on or after `from` (the check date of a claim processed
    /// by then). A day is a run day of the plan's payer by a fixed draw per (plan, day), against
    /// the tuned share of runs times the day's check-weekday weight. Checks are per plan, not per
    /// carrier: a carrier pays its groups (employers, regional offices) on separate checks.
    pub fn check_day(&self, plan: u32, from: NaiveDate) -> NaiveDate {
        let max = self.check_weekday.iter().cloned().fold(0.0, f64::max);
        let run_day = |day: NaiveDate| {
            let weight = self.check_weekday[day.weekday().num_days_from_monday() as usize];
            if weight <= 0.0 || max <= 0.0 {
                return false;
            }
            let u = unit(self.check_seed ^ ((plan as u64) << 32) ^ day.num_days_from_ce() as u64);
            u < self.intensity.check_runs * weight / max
        };
        (0..42)
            .map(|k| from + Duration::days(k))
            .find(|d| run_day(*d))
            .unwrap_or_else(|| Self::next_on(from, &self.check_weekday))
    }

    /// The first day on or after `date` whose weekday has weight.
    pub fn next_on(date: NaiveDate, weekday: &[f64]) -> NaiveDate {
        let mut day = date;
        for _ in 0..7 {
            if weekday[day.weekday().num_days_from_monday() as usize] > 0.0 {
                break;
            }
            day += Duration::days(1);
        }
        day
    }

    /// An hour following the hour weights.
    pub fn hour(&self, rng: &mut ChaCha8Rng) -> u32 {
        let total: f64 = self.by_hour.iter().sum();
        let mut roll = rng.gen::<f64>() * total;
        for (hour, weight) in self.by_hour.iter().enumerate() {
            if roll < *weight {
                return hour as u32;
            }
            roll -= weight;
        }
        9
    }

    /// The practice's day, in minutes after midnight: from the first hour of the profile's
    /// appointment hour mix to the end of the last.
    pub fn opening_hours(&self) -> (u32, u32) {
        let hours: Vec<u32> = (0..self.by_hour.len() as u32)
            .filter(|h| self.by_hour[*h as usize] > 0.0)
            .collect();
        match (hours.first(), hours.last()) {
            (Some(first), Some(last)) => (first * 60, (last + 1) * 60),
            _ => (8 * 60, 17 * 60),
        }
    }

    /// Whether the practice is open on `date` (weekday weight > 0).
    pub fn open(&self, date: NaiveDate) -> bool {
        self.by_weekday[date.weekday().num_days_from_monday() as usize] > 0.0
    }

    pub fn code(&self, name: &str) -> Option<u32> {
        self.named.get(name).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adjustment_names_state_their_size() {
        assert_eq!(stated_size("5% Senior Discount"), Some(StatedSize::Percent(5.0)));
        assert_eq!(stated_size("Discount 12.5%"), Some(StatedSize::Percent(12.5)));
        assert_eq!(stated_size("$25 Referral Credit"), Some(StatedSize::Cents(2500)));
        assert_eq!(stated_size("Professional Discount"), None);
        assert_eq!(stated_size("% off"), None);
    }
}
