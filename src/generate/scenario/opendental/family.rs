//! One family's life at the practice: a pure function of (set-up, seed, family id).
//!
//! All keys inside `FamilyRows` are local indexes (0-based within the family and table); the
//! row builders add the family's offsets. Amounts are integer cents, so the ledger balances to
//! the cent by construction.

use chrono::{Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::chairs::Chair;
use super::setup::{add_interval, days, Setup, StatedSize, FUTURE_DAYS};
use crate::generate::rng::StreamKey;

pub struct Patient {
    pub female: bool,
    pub birth: Option<NaiveDate>,
    pub status: i64,
    pub first_visit: Option<NaiveDate>,
    pub pri_prov: u32,
    pub insured: bool,
    pub position: i64,
    pub last_name: u32,
    /// Own balance (cents): the ledger sum.
    pub balance: i64,
    /// Guarantor only: family aging.
    pub aging: Option<Aging>,
    pub entry: NaiveDate,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Aging {
    pub b0_30: i64,
    pub b31_60: i64,
    pub b61_90: i64,
    pub over90: i64,
    pub total: i64,
    pub ins_est: i64,
}

pub struct InsSub {
    pub plan: u32,
    pub subscriber: u32,
    pub effective: NaiveDate,
}

pub struct PatPlan {
    pub patient: u32,
    pub inssub: u32,
    pub ordinal: i64,
    pub relationship: i64,
}

pub struct Appointment {
    pub patient: u32,
    pub when: NaiveDateTime,
    pub status: i64,
    pub pattern: String,
    pub prov: u32,
    pub hygienist: Option<u32>,
    pub op: u32,
    pub new_patient: bool,
    pub apt_type: i64,
    pub confirmed: i64,
    pub created: NaiveDateTime,
    /// When it was booked, before the chair's start time bounded it (`created` is this, at most
    /// a minute before the start): lets a visit recorded before seating follow its seat.
    pub booked: NaiveDateTime,
    pub arrived: Option<NaiveDateTime>,
}

pub struct History {
    pub appointment: u32,
    pub stamp: NaiveDateTime,
    pub action: i64,
    pub status: i64,
}

pub struct Procedure {
    pub patient: u32,
    pub appointment: Option<u32>,
    pub code: u32,
    pub date: NaiveDate,
    pub fee: i64,
    pub status: i64,
    pub prov: u32,
}

pub struct Claim {
    pub patient: u32,
    pub plan: u32,
    pub inssub: u32,
    pub prov: u32,
    pub service: NaiveDate,
    pub sent: NaiveDate,
    pub received: Option<NaiveDate>,
    pub fee: i64,
    pub estimate: i64,
    pub paid: i64,
    /// A claim to the secondary plan (ClaimType S).
    pub secondary: bool,
}

pub struct ClaimProc {
    pub procedure: u32,
    pub claim: Option<u32>,
    pub patient: u32,
    pub prov: u32,
    pub plan: u32,
    pub inssub: u32,
    pub status: i64,
    pub fee: i64,
    pub estimate: i64,
    pub paid: i64,
    pub percent: i64,
    pub allowed: i64,
    pub write_off_estimate: i64,
    pub payment: Option<u32>,
    pub date_cp: Option<NaiveDate>,
    pub proc_date: NaiveDate,
}

impl ClaimProc {
    /// An estimate line (status 6, on no claim) of `(inssub, plan)` for a procedure; the amounts
    /// are 0 until set with struct update syntax.
    fn estimate_line(
        procedure: u32,
        patient: u32,
        prov: u32,
        (inssub, plan): (u32, u32),
        date: NaiveDate,
    ) -> Self {
        ClaimProc {
            procedure,
            claim: None,
            patient,
            prov,
            plan,
            inssub,
            status: 6,
            fee: 0,
            estimate: 0,
            paid: 0,
            percent: 0,
            allowed: 0,
            write_off_estimate: 0,
            payment: None,
            date_cp: None,
            proc_date: date,
        }
    }

    /// The estimate line of a procedure not (yet) on a claim: the plan's share of `fee` at
    /// `percent`, the fee as the allowed amount.
    fn planned(
        procedure: u32,
        patient: u32,
        prov: u32,
        plan: (u32, u32),
        date: NaiveDate,
        fee: i64,
        percent: i64,
    ) -> Self {
        ClaimProc {
            estimate: fee * percent / 100,
            percent,
            allowed: fee,
            ..Self::estimate_line(procedure, patient, prov, plan, date)
        }
    }
}

/// A family's part of a check: the family's claims of one plan paid on that day.
pub struct ClaimPayment {
    pub date: NaiveDate,
    pub amount: i64,
    pub plan: u32,
}

pub struct Payment {
    pub patient: u32,
    pub date: NaiveDate,
    pub amount: i64,
    pub pay_type: i64,
    /// An income transfer of a prepayment (PayNote "INCOME TRANSFER", dbt_dental_models.md §3.4).
    pub transfer: bool,
}

/// [`Split::procedure`] of a split on no procedure (unearned income).
pub const NO_PROCEDURE: u32 = u32::MAX;

pub struct Split {
    pub payment: u32,
    pub patient: u32,
    /// The family-local procedure, or [`NO_PROCEDURE`].
    pub procedure: u32,
    /// paysplit.UnearnedType: 0, or the prepayment definition.
    pub unearned: i64,
    pub amount: i64,
    pub date: NaiveDate,
    pub prov: u32,
    pub proc_date: NaiveDate,
}

pub struct Adjustment {
    pub patient: u32,
    pub date: NaiveDate,
    pub amount: i64,
    pub adj_type: i64,
    pub procedure: u32,
    pub prov: u32,
    pub proc_date: NaiveDate,
}

pub struct Recall {
    pub patient: u32,
    pub recall_type: u32,
    pub interval: i64,
    pub previous: Option<NaiveDate>,
    pub due: NaiveDate,
    pub scheduled: Option<NaiveDate>,
}

#[derive(Default)]
pub struct FamilyRows {
    pub patients: Vec<Patient>,
    pub inssubs: Vec<InsSub>,
    pub patplans: Vec<PatPlan>,
    pub appointments: Vec<Appointment>,
    pub history: Vec<History>,
    pub procedures: Vec<Procedure>,
    pub claims: Vec<Claim>,
    pub claimprocs: Vec<ClaimProc>,
    pub claimpayments: Vec<ClaimPayment>,
    pub payments: Vec<Payment>,
    pub splits: Vec<Split>,
    pub adjustments: Vec<Adjustment>,
    pub recalls: Vec<Recall>,
}

fn at(date: NaiveDate, hour: u32, minute: u32) -> NaiveDateTime {
    date.and_time(NaiveTime::from_hms_opt(hour.min(23), minute.min(59), 0).unwrap_or(NaiveTime::MIN))
}

fn pick<T: Clone>(rng: &mut ChaCha8Rng, list: &[T]) -> T {
    list[rng.gen_range(0..list.len())].clone()
}

/// A count from a distribution scaled by an intensity, with stochastic rounding (at least 1).
fn count(rng: &mut ChaCha8Rng, value: f64) -> usize {
    let floor = value.floor();
    let extra = if rng.gen::<f64>() < value - floor {
        1.0
    } else {
        0.0
    };
    (floor + extra).max(0.0) as usize
}

/// The family's size: the guarantor's children-per-parent count (1 to 5 in the built-in profile).
pub fn family_size(setup: &Setup, seed: u64, family: u64) -> u32 {
    let mut rng = StreamKey::new(seed, "opendental", "family-size").stream(family);
    (setup.family_size.quantile(rng.gen()).round().max(1.0) as u32).min(12)
}

/// Simulates one family of `size` members.
/// `chairs`: the seating of the family's appointments (operatory and start), once the practice's
/// calendar is known; the counting passes run without it and keep the requested times.
pub fn simulate_family(
    setup: &Setup,
    seed: u64,
    family: u64,
    size: u32,
    chairs: Option<&[Chair]>,
) -> FamilyRows {
    let mut rng = StreamKey::new(seed, "opendental", "family").stream(family);
    let clock = setup.clock;
    let intensity = setup.intensity;
    let history_start = clock
        .start
        .max(NaiveDate::from_ymd_opt(2023, 1, 1).expect("valid"));
    let mut rows = FamilyRows::default();
    let last_name = rng.gen::<u32>();
    // Insured families by a low-discrepancy sequence over family ids (golden-ratio steps): the
    // insured share of a few thousand families is then the profile's, not the profile's plus or
    // minus sampling noise of whole families. The rng draw stays, so the stream is unchanged.
    let _ = rng.gen::<f64>();
    let family_insured = (family as f64 * 0.618_033_988_749_895).fract() < setup.insured_share;

    // Members: the guarantor first (an adult), then spouse and children.
    for member in 0..size {
        let female = rng.gen::<f64>() < setup.female_share;
        let birth = if rng.gen::<f64>() < setup.birth_sentinel {
            None
        } else {
            let age = if member >= 2 {
                rng.gen_range(1..18)
            } else {
                draw_age(setup, &mut rng).max(19)
            };
            let year = clock.as_of.year() - age as i32;
            Some(NaiveDate::from_ymd_opt(year, 1, 1).expect("valid") + Duration::days(rng.gen_range(0..365)))
        };
        // Patients without a birth date are never active (below), so the others are active a
        // little more often: the practice-wide share stays the profile's.
        let active =
            rng.gen::<f64>() < setup.active_share / (1.0 - setup.birth_sentinel).max(0.05) && birth.is_some();
        let status = if active { 0 } else { rng.gen_range(1..=2) };
        rows.patients.push(Patient {
            female,
            birth,
            status,
            first_visit: None,
            pri_prov: pick(&mut rng, &setup.dentists),
            insured: family_insured,
            position: match member {
                0 => 1,
                1 => 1,
                _ => 2,
            },
            last_name,
            balance: 0,
            aging: None,
            entry: history_start,
        });
    }
    // A patient with a sentinel birth date must not be active (contract §7.1: active patients with
    // communications need a birth date).
    for patient in rows.patients.iter_mut() {
        if patient.birth.is_none() && patient.status == 0 {
            patient.status = 1;
        }
    }

    // Insurance: the guarantor subscribes; other adults sometimes hold their own subscription;
    // some patients carry a secondary plan.
    if family_insured && !setup.plans.is_empty() {
        let plan = pick(&mut rng, &setup.plans).num;
        let effective = history_start - Duration::days(days(&setup.behaviour.coverage_before, &mut rng));
        rows.inssubs.push(InsSub {
            plan,
            subscriber: 0,
            effective,
        });
        for member in 0..size {
            let mut inssub = 0;
            let mut relationship = if member == 0 {
                0
            } else if member == 1 {
                1
            } else {
                2
            };
            if member == 1 && rng.gen::<f64>() < intensity.subscriptions {
                rows.inssubs.push(InsSub {
                    plan: pick(&mut rng, &setup.plans).num,
                    subscriber: member,
                    effective,
                });
                inssub = rows.inssubs.len() as u32 - 1;
                relationship = 0;
            }
            rows.patplans.push(PatPlan {
                patient: member,
                inssub,
                ordinal: 1,
                relationship,
            });
            if rng.gen::<f64>() < setup.secondary_share {
                rows.inssubs.push(InsSub {
                    plan: pick(&mut rng, &setup.plans).num,
                    subscriber: member,
                    effective,
                });
                rows.patplans.push(PatPlan {
                    patient: member,
                    inssub: rows.inssubs.len() as u32 - 1,
                    ordinal: 2,
                    relationship: 0,
                });
            }
        }
    }

    let patient_key = StreamKey::new(seed, "opendental", "family-patient");
    let visit_key = StreamKey::new(seed, "opendental", "family-visit");
    for member in 0..size {
        let mut patient_rng = patient_key.stream(family << 8 | member as u64);
        let keys = (visit_key, family << 8 | member as u64);
        simulate_patient(
            setup,
            &mut patient_rng,
            keys,
            &mut rows,
            member,
            history_start,
            chairs,
        );
    }
    settle(setup, &mut rows);
    rows
}

fn draw_age(setup: &Setup, rng: &mut ChaCha8Rng) -> u32 {
    let total: f64 = setup.age_bands.iter().map(|b| b.2).sum();
    if total <= 0.0 {
        return rng.gen_range(19..80);
    }
    let mut roll = rng.gen::<f64>() * total;
    for (low, high, weight) in &setup.age_bands {
        if roll < *weight {
            return rng.gen_range(*low..=*high);
        }
        roll -= weight;
    }
    40
}

fn age_at(birth: Option<NaiveDate>, date: NaiveDate) -> u32 {
    birth.map(|b| date.years_since(b).unwrap_or(0)).unwrap_or(40)
}

/// The largest charge (positive adjustment) on one procedure, and the largest overpayment of one,
/// in cents: the contract's int_ar_balance floors a procedure's balance at -$2,000
/// (dbt_dental_models.md §4.3 item 12), and both move it that way.
const CHARGE_LIMIT: i64 = 100_000;

/// The patient's visits, procedures, insurance and payments.
fn simulate_patient(
    setup: &Setup,
    rng: &mut ChaCha8Rng,
    keys: (StreamKey, u64),
    rows: &mut FamilyRows,
    member: u32,
    history_start: NaiveDate,
    chairs: Option<&[Chair]>,
) {
    let clock = setup.clock;
    let intensity = setup.intensity;
    let primary = rows
        .patplans
        .iter()
        .find(|p| p.patient == member && p.ordinal == 1)
        .map(|p| (p.inssub, rows.inssubs[p.inssub as usize].plan));
    let secondary = rows
        .patplans
        .iter()
        .find(|p| p.patient == member && p.ordinal == 2)
        .filter(|_| primary.is_some())
        .map(|p| (p.inssub, rows.inssubs[p.inssub as usize].plan));
    let insured = primary.is_some();
    // Patients never treated are more often uninsured (at the tuned tilt): the untreated share
    // over all patients stays the profile's, and the share of procedures without claim lines
    // follows the profile's (in production nearly every treated patient has claim lines).
    let untreated = {
        let (u, i, k) = (
            setup.untreated_share,
            setup.insured_share,
            intensity.insured_treated,
        );
        if insured {
            u * k
        } else if i < 1.0 {
            ((u - i * u * k) / (1.0 - i)).clamp(0.0, 1.0)
        } else {
            u
        }
    };
    let treated = rng.gen::<f64>() >= untreated;
    // Patients who never come (the profile's share of patients without appointments) are not new
    // patients either; the others are new a little more often, so the new-patient share holds.
    let new_patient = treated
        && rng.gen::<f64>()
            < (setup.new_patient_share * setup.appointments_per_patient.mean * intensity.new_patients
                / (1.0 - setup.untreated_share).max(0.05))
            .min(0.9);
    let first_visit = if new_patient {
        setup.day(rng, history_start, clock.end - Duration::days(30))
    } else {
        let low = NaiveDate::from_ymd_opt(2023, 1, 1).expect("valid");
        let high = (history_start - Duration::days(1)).max(low);
        low + Duration::days(rng.gen_range(0..=(high - low).num_days().max(0)))
    };
    {
        let patient = &mut rows.patients[member as usize];
        patient.insured = insured;
        patient.entry = if new_patient { first_visit } else { history_start };
        patient.first_visit = if !new_patient
            && rng.gen::<f64>() < setup.first_visit_sentinel * intensity.first_visit_unknown
        {
            None
        } else {
            Some(first_visit)
        };
    }
    if !treated && !new_patient {
        recalls_from_before(setup, keys, rows, member, history_start);
        return;
    }
    let active = rows.patients[member as usize].status == 0;
    let u: f64 = rng.gen();
    let visits = count(
        rng,
        setup.appointments_per_patient.quantile(u)
            * intensity.appointments
            * if insured { intensity.insured_visits } else { 1.0 },
    )
    .max(1);
    // Inactive patients keep their full count of visits, thinned out towards as-of (below): the
    // visits they no longer make balance the ones new patients add (a steady practice).
    let start = if new_patient { first_visit } else { history_start };
    // Inactive patients are leaving over the history: their visits thin out towards as-of (a
    // density falling linearly), mirroring new patients' visits, which thicken after they join;
    // together with the regulars the practice's volume stays steady (no ramp).
    let span = (clock.end - start).num_days().max(0);
    let mut dates: Vec<NaiveDate> = (0..visits)
        .map(|i| {
            if i == 0 && new_patient {
                first_visit
            } else if active {
                setup.day(rng, start, clock.end)
            } else {
                let around = start + Duration::days(((1.0 - rng.gen::<f64>().sqrt()) * span as f64) as i64);
                setup.day(rng, around, (around + Duration::days(6)).min(clock.end))
            }
        })
        .collect();
    dates.sort();
    let birth = rows.patients[member as usize].birth;
    let pri_prov = rows.patients[member as usize].pri_prov;
    let future = active && rng.gen::<f64>() < intensity.future;
    let mut all: Vec<(NaiveDate, bool)> = dates.into_iter().map(|d| (d, false)).collect();
    if future {
        // Booked ahead as the practice books: an appointment x days ahead is already on the books
        // when its booking lead is at least x, so the days ahead follow the lead's survival curve
        // (many next month, recall visits months ahead, a few a year out).
        let ahead = setup.days_ahead(rng).clamp(1, FUTURE_DAYS - 30);
        let mut day = clock.as_of + Duration::days(ahead);
        while !setup.open(day) {
            day += Duration::days(1);
        }
        all.push((day, true));
    }
    let mut completed_dates = Vec::new();
    let recall_draw: [f64; 2] = [rng.gen(), rng.gen()];
    let mut recall_rng = keys.0.stream(keys.1 << 12 | 0xfff);
    for (index, (date, is_future)) in all.into_iter().enumerate() {
        let mut visit_rng = keys.0.stream(keys.1 << 12 | index as u64);
        let rng = &mut visit_rng;
        let status = if is_future {
            1
        } else {
            setup.status_mix.pick(rng).unwrap_or(2)
        };
        let first = index == 0 && new_patient;
        let hygiene = !first && rng.gen::<f64>() < setup.hygiene_visit_share;
        let hygienist = if hygiene || first {
            Some(pick(rng, &setup.hygienists))
        } else {
            None
        };
        let requested = at(date, setup.hour(rng), rng.gen_range(0..4) * 15);
        let requested_op = rng.gen_range(1..=setup.operatories);
        // The seat the practice's calendar gave it (same day; at most 23:55).
        let seat = chairs.and_then(|c| c.get(rows.appointments.len())).copied();
        let when = match seat {
            Some(c) => {
                let minute = c.start.min(23 * 60 + 55);
                at(date, minute / 60, minute % 60)
            }
            None => requested,
        };
        // Booked the profile's booking lead ahead, during office hours (the profile's appointment
        // hours); a future appointment was booked by yesterday.
        let booked = setup.booking_day(rng, date, is_future);
        let booked = at(
            booked.max(history_start.min(date)),
            setup.hour(rng),
            rng.gen_range(0..60),
        );
        let created = booked.min(when - Duration::minutes(1));
        // A broken appointment always carries its arrival time: without it the appointment mart
        // counts it twice (lost-appointment rate above 100%, dbt_dental_models.md §4.4 item 15).
        let arrived = match status {
            2 if rng.gen::<f64>() < setup.arrival_share => {
                Some(when - Duration::minutes(days(&setup.behaviour.arrival_early, rng)))
            }
            5 => Some(when - Duration::minutes(days(&setup.behaviour.arrival_early, rng))),
            _ => None,
        };
        let apt_index = rows.appointments.len() as u32;
        rows.appointments.push(Appointment {
            patient: member,
            when,
            status,
            pattern: setup
                .pattern_mix
                .pick(rng)
                .unwrap_or_else(|| "/XXXXXX/".to_string()),
            prov: pri_prov,
            hygienist,
            op: seat.map(|c| c.op).unwrap_or(requested_op),
            new_patient: first,
            apt_type: setup.apt_type_mix.pick(rng).unwrap_or(0),
            confirmed: if setup.confirmed.is_empty() {
                0
            } else {
                pick(rng, &setup.confirmed)
            },
            created,
            booked,
            arrived,
        });
        // History: created, a few changes, and the final status.
        let mut stamps = vec![created];
        let u: f64 = rng.gen();
        let changes = count(rng, intensity.history * u * 2.0);
        let last_possible = if is_future { at(clock.end, 18, 0) } else { when };
        // Changes at fractions of the time between creation and the appointment, each at least a
        // minute after the one before (the count never depends on the time the calendar gave).
        let span = (last_possible - created).num_minutes().max(2) as f64;
        let mut fractions: Vec<f64> = (0..changes).map(|_| rng.gen::<f64>()).collect();
        fractions.sort_by(f64::total_cmp);
        for f in fractions {
            let stamp = created + Duration::minutes(1 + (f * (span - 1.0)) as i64);
            let after = *stamps.last().expect("one") + Duration::minutes(1);
            stamps.push(stamp.max(after));
        }
        for (i, stamp) in stamps.iter().enumerate() {
            rows.history.push(History {
                appointment: apt_index,
                stamp: *stamp,
                action: 1,
                status: if matches!(status, 1 | 2 | 5) || i == 0 {
                    1
                } else {
                    status
                },
            });
        }
        if status == 2 || status == 5 {
            let stamp = (when + Duration::minutes(60 + rng.gen_range(0..120)))
                .max(*stamps.last().expect("one") + Duration::minutes(1));
            rows.history.push(History {
                appointment: apt_index,
                stamp,
                action: if status == 5 { 2 } else { 1 },
                status,
            });
        }
        if status != 2 {
            continue;
        }
        completed_dates.push(date);
        // Procedures of the visit.
        let child = age_at(birth, date) < 14;
        let prophy = if child {
            setup.code("D1120")
        } else {
            setup.code("D1110")
        };
        let mut codes: Vec<u32> = Vec::new();
        // One procedure, and the profile's extra ones per appointment scaled by the tuned
        // intensity (so that the volume responds to it even when most visits chart one).
        let u: f64 = rng.gen();
        let extra = (setup.procs_per_appointment.quantile(u) - 1.0).max(0.0) * intensity.procedures;
        let n = 1 + count(rng, extra);
        if (first || hygiene) && !setup.hygiene_mix.is_empty() {
            // Hygiene and new-patient visits chart diagnostic, preventive and periodontal codes in
            // the profile's proportions (children get the child prophylaxis).
            for _ in 0..n {
                codes.extend(
                    setup
                        .hygiene_mix
                        .pick(rng)
                        .map(|c| match (prophy, setup.is_prophy(c)) {
                            (Some(p), true) => p,
                            _ => c,
                        }),
                );
            }
        } else if first || hygiene {
            codes.extend(prophy);
        } else {
            // Treatment visits draw from what the hygiene visits leave of the profile's mix.
            for _ in 0..n {
                codes.extend(setup.code_mix.pick(rng));
            }
        }
        let prov = if hygiene || first {
            hygienist.unwrap_or(pri_prov)
        } else {
            pri_prov
        };
        let mut visit_procs = Vec::new();
        for code in codes {
            let fee = setup.codes.get(&code).map(|c| c.fee).unwrap_or(0);
            visit_procs.push(rows.procedures.len() as u32);
            rows.procedures.push(Procedure {
                patient: member,
                appointment: Some(apt_index),
                code,
                date,
                fee,
                status: 2,
                prov,
            });
        }
        // Treatment planned at this visit, and other statuses (EC/EO, deleted, conditions).
        // `others` is tuned so that the status mix over all procedures is the profile's.
        let others = count(
            rng,
            visit_procs.len() as f64 * setup.other_proc_ratio * intensity.others,
        );
        other_procedures(setup, rng, rows, member, others, None, date, [primary, secondary]);
        settle_visit(setup, rng, rows, member, &visit_procs, date, [primary, secondary]);
    }

    // Procedures on appointments that did not happen (scheduled, broken, unscheduled, planned),
    // at the tuned share; always for a patient without a completed visit, who is then charted
    // only through them. OpenDental dates a procedure on an appointment with the appointment's
    // date, in the future for a booked one.
    let mut attach_rng = keys.0.stream(keys.1 << 12 | 0xffe);
    let never_seen = completed_dates.is_empty();
    let pending: Vec<(u32, NaiveDate)> = rows
        .appointments
        .iter()
        .enumerate()
        .filter(|(_, a)| a.patient == member && a.status != 2)
        .map(|(i, a)| (i as u32, a.when.date()))
        .collect();
    for (apt, planned) in pending {
        let rng = &mut attach_rng;
        if never_seen || rng.gen::<f64>() < intensity.attached {
            let u: f64 = rng.gen();
            let extra = (setup.procs_per_appointment.quantile(u) - 1.0).max(0.0) * intensity.procedures;
            let n = 1 + count(rng, extra);
            other_procedures(
                setup,
                rng,
                rows,
                member,
                n,
                Some(apt),
                planned,
                [primary, secondary],
            );
        }
    }

    // Recall rows (one per recall type the patient is on) for every patient with a completed
    // visit: OpenDental computes them while the patient is active and keeps them afterwards, so a
    // lapsed patient's rows stay overdue. When the contract's window of recalls due needs more rows
    // than the patient has types (small scales), a type repeats, due from an older visit.
    let rng = &mut recall_rng;
    if !completed_dates.is_empty() && recall_draw[0] >= setup.without_recall * intensity.recall_patients {
        let expected = setup.recalls_per_patient.quantile(recall_draw[1]) * intensity.recalls;
        let chosen = recall_types(setup, rng, expected);
        let next_future = rows
            .appointments
            .iter()
            .filter(|a| a.patient == member && a.status == 1)
            .map(|a| a.when.date())
            .min();
        let mut visits = completed_dates.clone();
        visits.sort_unstable_by(|a, b| b.cmp(a));
        let mut seen: Vec<u32> = Vec::new();
        for kind in chosen {
            let Some(recall_type) = setup.recall_types.iter().find(|t| t.num == kind) else {
                continue;
            };
            let repeat = seen.iter().filter(|k| **k == kind).count();
            seen.push(kind);
            let mut triggers: Vec<NaiveDate> = rows
                .procedures
                .iter()
                .filter(|p| p.patient == member && p.status == 2 && recall_type.triggers.contains(&p.code))
                .map(|p| p.date)
                .collect();
            triggers.sort_unstable_by(|a, b| b.cmp(a));
            triggers.dedup();
            let previous = triggers.get(repeat).copied();
            let base = previous
                .or_else(|| visits.get(repeat.min(visits.len() - 1)).copied())
                .unwrap_or(completed_dates[0]);
            let due = add_interval(base, recall_type.interval);
            rows.recalls.push(Recall {
                patient: member,
                recall_type: kind,
                interval: recall_type.interval,
                previous,
                due,
                scheduled: next_future.filter(|_| due >= clock.as_of),
            });
        }
    }
}

/// `n` procedures in the statuses other than completed (the profile's mix of them: planned,
/// existing, referred, deleted, conditions), on `appointment` when given; planned ones carry an
/// estimate line of each plan, the others at the tuned share.
#[allow(clippy::too_many_arguments)]
fn other_procedures(
    setup: &Setup,
    rng: &mut ChaCha8Rng,
    rows: &mut FamilyRows,
    member: u32,
    n: usize,
    appointment: Option<u32>,
    date: NaiveDate,
    plans: [Option<(u32, u32)>; 2],
) {
    let pri_prov = rows.patients[member as usize].pri_prov;
    for _ in 0..n {
        let drawn = setup.other_proc_mix.pick(rng).unwrap_or(1);
        // A procedure dated after as-of (on a booked appointment) can only be planned.
        let status = if date > setup.clock.as_of { 1 } else { drawn };
        let code = setup.code_mix.pick(rng).unwrap_or(1);
        let fee = if status == 7 {
            0
        } else {
            setup.codes.get(&code).map(|c| c.fee).unwrap_or(0)
        };
        let index = rows.procedures.len() as u32;
        rows.procedures.push(Procedure {
            patient: member,
            appointment,
            code,
            date,
            fee,
            status,
            prov: pri_prov,
        });
        // Estimate lines (status 6) of each plan, for the statuses that carry them (treatment
        // planned always; the others at the tuned share, since OpenDental keeps the lines of
        // a planned procedure once it is set complete elsewhere, deleted or made inactive).
        if status == 1 || rng.gen::<f64>() < setup.intensity.estimates {
            for plan in plans.into_iter().flatten() {
                let line = ClaimProc::planned(index, member, pri_prov, plan, date, fee, setup.percent(code));
                rows.claimprocs.push(ClaimProc { fee, ..line });
            }
        }
    }
}

/// The recall types of a patient's `expected` recall rows, in the profile's proportions: one row
/// per type while every type's expectation is at most 1; a type whose expectation exceeds 1 (the
/// profile's prophylaxis share times its recalls per patient, or the contract's window at small
/// scales) repeats, due from an older visit, rather than flattening the mix.
fn recall_types(setup: &Setup, rng: &mut ChaCha8Rng, expected: f64) -> Vec<u32> {
    setup.recall_type_mix.proportional(rng, expected)
}

/// A patient not seen during the history came before it: OpenDental kept the recall rows of that
/// last visit (due dates often in the contract's window since 2023, or long overdue). Only the
/// recall table shows it: the visit itself lies before the history.
fn recalls_from_before(
    setup: &Setup,
    keys: (StreamKey, u64),
    rows: &mut FamilyRows,
    member: u32,
    history_start: NaiveDate,
) {
    let mut rng = keys.0.stream(keys.1 << 12 | 0xfff);
    let rng = &mut rng;
    if rng.gen::<f64>() < setup.without_recall * setup.intensity.recall_patients {
        return;
    }
    let high = history_start - Duration::days(1);
    let low = rows.patients[member as usize]
        .first_visit
        .filter(|d| *d < high)
        .unwrap_or(high - Duration::days(3 * 365));
    let last = low + Duration::days(rng.gen_range(0..=(high - low).num_days().max(0)));
    let expected = setup.recalls_per_patient.quantile(rng.gen()) * setup.intensity.recalls;
    for kind in recall_types(setup, rng, expected) {
        let Some(recall_type) = setup.recall_types.iter().find(|t| t.num == kind) else {
            continue;
        };
        rows.recalls.push(Recall {
            patient: member,
            recall_type: kind,
            interval: recall_type.interval,
            previous: Some(last),
            due: add_interval(last, recall_type.interval),
            scheduled: None,
        });
    }
}

/// Insurance, write-offs, discounts and patient payments for one completed visit.
fn settle_visit(
    setup: &Setup,
    rng: &mut ChaCha8Rng,
    rows: &mut FamilyRows,
    member: u32,
    procs: &[u32],
    date: NaiveDate,
    [primary, secondary]: [Option<(u32, u32)>; 2],
) {
    let clock = setup.clock;
    let intensity = setup.intensity;
    // Patient portion per procedure (cents), before payments.
    let mut portion: Vec<(u32, i64)> = procs
        .iter()
        .map(|p| (*p, rows.procedures[*p as usize].fee))
        .collect();
    let mut primary_received = None;
    if let Some((inssub, plan_num)) = primary {
        let ppo = setup.plan(plan_num).is_some_and(|p| p.ppo);
        // Billed at the tuned share of visits; the others' procedures keep their estimate lines
        // (status 6, on no claim), as OpenDental keeps them until a claim is made.
        let billed = rng.gen::<f64>() < intensity.billed;
        if !billed {
            for (p, fee) in portion.iter() {
                let procedure = &rows.procedures[*p as usize];
                let percent = setup.percent(procedure.code);
                let line = ClaimProc::planned(
                    *p,
                    member,
                    procedure.prov,
                    (inssub, plan_num),
                    date,
                    *fee,
                    percent,
                );
                rows.claimprocs.push(line);
            }
        }
        let covered: Vec<usize> = portion
            .iter()
            .enumerate()
            .filter(|(_, (p, fee))| {
                billed && *fee > 0 && setup.codes.contains_key(&rows.procedures[*p as usize].code)
            })
            .map(|(i, _)| i)
            .collect();
        if !covered.is_empty() {
            // Sent the profile's claim lag after the visit, and by yesterday (a claim on the books
            // has been sent).
            let send = days(&setup.behaviour.claim_send, rng);
            let sent = (date + Duration::days(send)).min(clock.end.max(date));
            let mut received = setup.lagged(
                rng,
                date + Duration::days(1),
                &setup.claim_lag,
                &setup.check_weekday,
            );
            if received < sent {
                received = sent;
            }
            // Paid on the plan's next payment run (one check for the claims settled then).
            let received = setup.check_day(plan_num, received);
            let received = (received < clock.as_of).then_some(received);
            let claim_index = rows.claims.len() as u32;
            let payment_index = received.map(|_| rows.claimpayments.len() as u32);
            let mut claim = Claim {
                patient: member,
                plan: plan_num,
                inssub,
                prov: rows.procedures[procs[0] as usize].prov,
                service: date,
                sent,
                received,
                fee: 0,
                estimate: 0,
                paid: 0,
                secondary: false,
            };
            for i in covered.iter().copied() {
                let (p, fee) = portion[i];
                let code = &setup.codes[&rows.procedures[p as usize].code];
                let allowed = if ppo && rng.gen::<f64>() < intensity.writeoffs {
                    code.allowed.min(fee)
                } else {
                    fee
                };
                // A line the carrier pays nothing on (denied, frequency limits, not a benefit), at
                // the tuned share: received, but on no check and without a payment date.
                let denied = received.is_some() && rng.gen::<f64>() < intensity.denied;
                let (insurance, write_off) = if denied {
                    (0, 0)
                } else {
                    (allowed * code.percent / 100, fee - allowed)
                };
                claim.fee += fee;
                claim.estimate += insurance;
                let paid = if received.is_some() { insurance } else { 0 };
                claim.paid += paid;
                rows.claimprocs.push(ClaimProc {
                    procedure: p,
                    claim: Some(claim_index),
                    patient: member,
                    prov: rows.procedures[p as usize].prov,
                    plan: plan_num,
                    inssub,
                    status: if received.is_some() { 1 } else { 0 },
                    fee,
                    estimate: insurance,
                    paid,
                    percent: code.percent,
                    allowed,
                    write_off_estimate: write_off,
                    payment: payment_index.filter(|_| paid > 0),
                    date_cp: received.filter(|_| paid > 0),
                    proc_date: date,
                });
                // PPO write-offs are posted as adjustments (type 188) when the EOB arrives.
                if let (Some(day), true) = (received, write_off > 0) {
                    rows.adjustments.push(Adjustment {
                        patient: member,
                        date: day,
                        amount: -write_off,
                        adj_type: setup.writeoff_type,
                        procedure: p,
                        prov: rows.procedures[p as usize].prov,
                        proc_date: date,
                    });
                }
                portion[i].1 = fee - insurance - write_off;
            }
            if let (Some(day), true) = (received, claim.paid > 0) {
                pay_claim(rows, plan_num, day, claim.paid);
            }
            primary_received = received;
            rows.claims.push(claim);
        }
        // Procedures the claim leaves out (not covered) keep their estimate line (status 6).
        for (i, (p, _)) in portion.iter().enumerate() {
            if billed && !covered.contains(&i) {
                let procedure = &rows.procedures[*p as usize];
                rows.claimprocs.push(ClaimProc {
                    allowed: procedure.fee,
                    ..ClaimProc::estimate_line(*p, member, procedure.prov, (inssub, plan_num), date)
                });
            }
        }
    }
    if let (Some((inssub, plan_num)), Some((_, _))) = (secondary, primary) {
        secondary_insurance(
            setup,
            rng,
            rows,
            member,
            date,
            (inssub, plan_num),
            primary_received,
            &mut portion,
        );
    }
    // Discounts and charges (adjustments other than write-offs), on the days the adjustment
    // weekday mix leaves to them.
    for (p, remaining) in portion.iter_mut() {
        if *remaining > 100 && rng.gen::<f64>() < intensity.discounts {
            if let Some((adj_type, sign)) = setup.discount_type_mix.pick(rng) {
                // The size the type's name states (a share of the fee, or an amount), else the
                // profile's discount fraction of what is left to pay; never more than that.
                let fee = rows.procedures[*p as usize].fee;
                let size = match setup.stated_sizes.get(&adj_type) {
                    Some(StatedSize::Percent(share)) => {
                        ((fee as f64 * share / 100.0).round() as i64).min(*remaining)
                    }
                    Some(StatedSize::Cents(c)) => (*c).min(*remaining),
                    None => {
                        let fraction = setup.behaviour.discount_fraction.quantile(rng.gen());
                        (*remaining as f64 * fraction).round() as i64
                    }
                };
                // A charge stays under $1,000 per procedure: the contract's int_ar_balance
                // subtracts adjustments from the fee, so a paid procedure with a larger charge
                // falls below its -$2,000 floor (dbt_dental_models.md §4.3 item 12).
                let size = if sign > 0 { size.min(CHARGE_LIMIT) } else { size };
                let amount = sign * size.max(1);
                let day = setup
                    .lagged(rng, date, &setup.adjustment_lag, &setup.discount_weekday)
                    .min(clock.end);
                rows.adjustments.push(Adjustment {
                    patient: member,
                    date: day,
                    amount,
                    adj_type,
                    procedure: *p,
                    prov: rows.procedures[*p as usize].prov,
                    proc_date: date,
                });
                *remaining += amount;
            }
        }
    }
    // Patient payments: one payment at the lag, sometimes in two instalments; those that would
    // fall on or after as-of stay open (AR).
    let due: Vec<(u32, i64)> = portion.into_iter().filter(|(_, r)| *r > 0).collect();
    // Some patients never pay (the account goes to collections): their portion stays open and ages.
    if due.is_empty() || rng.gen::<f64>() < intensity.unpaid {
        return;
    }
    let claim_received = rows
        .claims
        .last()
        .filter(|c| c.service == date && c.patient == member)
        .and_then(|c| c.received);
    // A prepayment at the profile's share: a deposit before the visit, rounded up to the profile's
    // round sum, posted as unearned income (the prepayment type, on no procedure); on the visit's
    // day an income transfer moves what each procedure still owes onto it, as OpenDental's transfer
    // tool posts it (pairs: -a unearned, +a of type 0 on the procedure). What the deposit left
    // over stays on account: a credit balance.
    let prepaid = setup
        .prepayment_type
        .filter(|_| rng.gen::<f64>() < setup.behaviour.prepaid_share);
    if let Some(unearned) = prepaid {
        let owed: i64 = due.iter().map(|(_, r)| r).sum();
        let round = setup.behaviour.prepay_round;
        let deposit = (owed + round - 1) / round * round;
        let lead = days(&setup.behaviour.prepay_lead, rng);
        let paid_on = (date - Duration::days(lead)).max(clock.start);
        let prov = rows.procedures[due[0].0 as usize].prov;
        let pay_type = setup.pay_type_mix.pick(rng).unwrap_or(71);
        let deposit_payment = rows.payments.len() as u32;
        rows.payments.push(Payment {
            patient: member,
            date: paid_on,
            amount: deposit,
            pay_type,
            transfer: false,
        });
        rows.splits.push(Split {
            payment: deposit_payment,
            patient: member,
            procedure: NO_PROCEDURE,
            unearned,
            amount: deposit,
            date: paid_on,
            prov,
            proc_date: paid_on,
        });
        let transfer = rows.payments.len() as u32;
        rows.payments.push(Payment {
            patient: member,
            date,
            amount: 0,
            pay_type: 0,
            transfer: true,
        });
        for (p, amount) in &due {
            let procedure = &rows.procedures[*p as usize];
            let (prov, proc_date) = (procedure.prov, procedure.date);
            for (procedure, unearned, amount) in [(NO_PROCEDURE, unearned, -amount), (*p, 0, *amount)] {
                rows.splits.push(Split {
                    payment: transfer,
                    patient: member,
                    procedure,
                    unearned,
                    amount,
                    date,
                    prov,
                    proc_date: if procedure == NO_PROCEDURE {
                        date
                    } else {
                        proc_date
                    },
                });
            }
        }
        return;
    }
    let mut day = setup.lagged(rng, date, &setup.pay_lag, &setup.pay_weekday);
    // A patient who pays before the insurance has paid pays the estimated portion, which can
    // exceed what is left once the insurance pays (it paid more than estimated): the excess, a
    // share of the portion, stays on account as a credit.
    let mut excess = 0.0;
    if let Some(received) = claim_received {
        let waits = rng.gen::<f64>() < setup.behaviour.pay_after_insurance;
        if waits && day < received {
            // Paid once the insurance has paid: the statement goes out, the patient pays.
            let wait = &setup.behaviour.statement_wait;
            day = setup.lagged(rng, received, wait, &setup.pay_weekday);
        } else if day < received {
            excess = setup.behaviour.estimate_excess.quantile(rng.gen());
        }
    }
    let instalments =
        (1 + count(rng, intensity.installments)).min(setup.behaviour.instalments_max as usize) as i64;
    let mut when = day;
    for part in 0..instalments {
        if part > 0 {
            let interval = &setup.behaviour.instalment_interval;
            when = setup.lagged(rng, when, interval, &setup.pay_weekday);
        }
        if when >= clock.as_of {
            break;
        }
        let pay_type = setup.pay_type_mix.pick(rng).unwrap_or(71);
        let payment_index = rows.payments.len() as u32;
        let mut total = 0;
        for (p, amount) in &due {
            let base = amount / instalments;
            let share = if part == instalments - 1 {
                let over = ((*amount as f64 * excess).round() as i64).min(CHARGE_LIMIT);
                amount - base * (instalments - 1) + over
            } else {
                base
            };
            if share <= 0 {
                continue;
            }
            total += share;
            let procedure = &rows.procedures[*p as usize];
            rows.splits.push(Split {
                payment: payment_index,
                patient: member,
                procedure: *p,
                unearned: 0,
                amount: share,
                date: when,
                prov: procedure.prov,
                proc_date: procedure.date,
            });
        }
        if total > 0 {
            rows.payments.push(Payment {
                patient: member,
                date: when,
                amount: total,
                pay_type,
                transfer: false,
            });
        }
    }
    // An income transfer at the tuned share: a $0 payment of type 0 (dbt_dental_models.md §3.3)
    // moving part of what was paid on one procedure of the visit to other procedures of the
    // patient (a tuned number of them: production's transfer payments carry many splits, §9). The
    // patient's balance does not change.
    let paid: Vec<&Split> = rows
        .splits
        .iter()
        .filter(|s| s.patient == member && s.proc_date == date && s.amount > 1)
        .filter(|s| s.procedure != NO_PROCEDURE && s.unearned == 0)
        .collect();
    // The receiving side: other completed procedures of the patient (this visit's or earlier).
    let mut others: Vec<u32> = rows
        .procedures
        .iter()
        .enumerate()
        .filter(|(i, p)| {
            p.patient == member
                && p.status == 2
                && p.fee > 0
                && paid.first().is_some_and(|s| s.procedure != *i as u32)
        })
        .map(|(i, _)| i as u32)
        .collect();
    let receivers = count(rng, intensity.transfer_splits).clamp(1, others.len().max(1));
    for k in 0..receivers.min(others.len()) {
        let j = rng.gen_range(k..others.len());
        others.swap(k, j);
    }
    others.truncate(receivers);
    if let (Some(from), false, true) = (
        paid.first(),
        others.is_empty(),
        rng.gen::<f64>() < intensity.transfers,
    ) {
        let behaviour = &setup.behaviour;
        let when = setup.lagged(rng, from.date, &behaviour.transfer_lag, &setup.pay_weekday);
        let fraction = behaviour.transfer_fraction.quantile(rng.gen());
        let amount = ((from.amount as f64 * fraction).round() as i64).max(others.len() as i64);
        if when < clock.as_of && amount < from.amount {
            let (source, prov) = (from.procedure, from.prov);
            let payment = rows.payments.len() as u32;
            let mut moves = vec![(source, prov, -amount)];
            let each = amount / others.len() as i64;
            for (k, to) in others.iter().enumerate() {
                let share = if k + 1 == others.len() {
                    amount - each * (others.len() as i64 - 1)
                } else {
                    each
                };
                moves.push((*to, rows.procedures[*to as usize].prov, share));
            }
            for (procedure, prov, amount) in moves {
                rows.splits.push(Split {
                    payment,
                    patient: member,
                    procedure,
                    unearned: 0,
                    amount,
                    date: when,
                    prov,
                    proc_date: rows.procedures[procedure as usize].date,
                });
            }
            rows.payments.push(Payment {
                patient: member,
                date: when,
                amount: 0,
                pay_type: 0,
                transfer: false,
            });
        }
    }
}

/// The family's part of the check for a received claim of `plan_num` (the practice joins the
/// parts of all families paid for one plan on one day into one check).
fn pay_claim(rows: &mut FamilyRows, plan_num: u32, day: NaiveDate, amount: i64) {
    rows.claimpayments.push(ClaimPayment {
        date: day,
        amount,
        plan: plan_num,
    });
}

/// The secondary plan of a visit: once the primary has paid, a secondary claim (ClaimType S) for
/// the covered procedures at the tuned share of visits, paying its percentage of what the patient
/// still owes; otherwise the secondary's estimate lines stay (status 6, as OpenDental keeps them).
#[allow(clippy::too_many_arguments)]
fn secondary_insurance(
    setup: &Setup,
    rng: &mut ChaCha8Rng,
    rows: &mut FamilyRows,
    member: u32,
    date: NaiveDate,
    (inssub, plan_num): (u32, u32),
    primary_received: Option<NaiveDate>,
    portion: &mut [(u32, i64)],
) {
    let clock = setup.clock;
    let percent = |rows: &FamilyRows, p: u32| setup.percent(rows.procedures[p as usize].code);
    // Billed once the primary has paid, whether or not anything is left for the secondary to pay
    // (OpenDental creates the secondary claim from the primary's EOB).
    let billed = primary_received
        .filter(|_| rng.gen::<f64>() < setup.intensity.secondary_claims)
        .filter(|_| portion.iter().any(|(p, _)| percent(rows, *p) > 0));
    let Some(primary_day) = billed else {
        for (p, remaining) in portion.iter() {
            let pct = percent(rows, *p);
            let procedure = &rows.procedures[*p as usize];
            rows.claimprocs.push(ClaimProc {
                estimate: (*remaining).max(0) * pct / 100,
                percent: pct,
                allowed: procedure.fee,
                ..ClaimProc::estimate_line(*p, member, procedure.prov, (inssub, plan_num), date)
            });
        }
        return;
    };
    let send = days(&setup.behaviour.claim_send, rng);
    let sent =
        Setup::next_on(primary_day + Duration::days(send), &setup.by_weekday).min(clock.end.max(primary_day));
    let received = setup.lagged(rng, sent, &setup.claim_lag, &setup.check_weekday);
    let received = setup.check_day(plan_num, received);
    let received = (received < clock.as_of).then_some(received);
    let claim_index = rows.claims.len() as u32;
    let payment_index = received.map(|_| rows.claimpayments.len() as u32);
    let mut claim = Claim {
        patient: member,
        plan: plan_num,
        inssub,
        prov: rows.procedures[portion[0].0 as usize].prov,
        service: date,
        sent,
        received,
        fee: 0,
        estimate: 0,
        paid: 0,
        secondary: true,
    };
    for (p, remaining) in portion.iter_mut() {
        let pct = percent(rows, *p);
        if pct == 0 {
            continue;
        }
        let fee = rows.procedures[*p as usize].fee;
        let insurance = (*remaining).max(0) * pct / 100;
        claim.fee += fee;
        claim.estimate += insurance;
        let paid = if received.is_some() { insurance } else { 0 };
        claim.paid += paid;
        *remaining -= paid;
        rows.claimprocs.push(ClaimProc {
            procedure: *p,
            claim: Some(claim_index),
            patient: member,
            prov: rows.procedures[*p as usize].prov,
            plan: plan_num,
            inssub,
            status: if received.is_some() { 1 } else { 0 },
            fee,
            estimate: insurance,
            paid,
            percent: pct,
            allowed: fee,
            write_off_estimate: 0,
            payment: payment_index.filter(|_| paid > 0),
            date_cp: received.filter(|_| paid > 0),
            proc_date: date,
        });
    }
    if let (Some(day), true) = (received, claim.paid > 0) {
        pay_claim(rows, plan_num, day, claim.paid);
    }
    rows.claims.push(claim);
}

/// Balances and family aging at as-of (semantics §5.5), from the ledger.
fn settle(setup: &Setup, rows: &mut FamilyRows) {
    let as_of = setup.clock.as_of;
    let mut charges: Vec<(NaiveDate, i64)> = Vec::new();
    let mut credits = 0i64;
    let mut ins_est = 0i64;
    let mut balances = vec![0i64; rows.patients.len()];
    for p in rows.procedures.iter().filter(|p| p.status == 2) {
        balances[p.patient as usize] += p.fee;
        charges.push((p.date, p.fee));
    }
    for c in &rows.claimprocs {
        if c.status == 1 {
            balances[c.patient as usize] -= c.paid;
            credits += c.paid;
        } else if c.status == 0 {
            ins_est += c.estimate;
        }
    }
    for a in &rows.adjustments {
        balances[a.patient as usize] += a.amount;
        if a.amount >= 0 {
            charges.push((a.date, a.amount));
        } else {
            credits -= a.amount;
        }
    }
    for s in &rows.splits {
        balances[s.patient as usize] -= s.amount;
        if s.amount >= 0 {
            credits += s.amount;
        } else {
            // A negative split (the giving side of an income transfer) is a charge on its date.
            charges.push((s.date, -s.amount));
        }
    }
    let mut buckets = [0i64; 4];
    for (date, amount) in charges {
        let days = (as_of - date).num_days();
        let bucket = match days {
            ..=30 => 0,
            31..=60 => 1,
            61..=90 => 2,
            _ => 3,
        };
        buckets[bucket] += amount;
    }
    let total: i64 = balances.iter().sum();
    let mut remaining = credits;
    for bucket in (0..4).rev() {
        let used = remaining.min(buckets[bucket]);
        buckets[bucket] -= used;
        remaining -= used;
    }
    for (patient, balance) in rows.patients.iter_mut().zip(&balances) {
        patient.balance = *balance;
    }
    rows.patients[0].aging = Some(Aging {
        b0_30: buckets[0],
        b31_60: buckets[1],
        b61_90: buckets[2],
        over90: buckets[3],
        total,
        ins_est,
    });
}
