//! Paperwork tied to visits: communications, documents, perio charts, treatment plans, sheets and
//! referral attachments belong to a patient's appointment, dated by it.
//!
//! These tables keep the profile's volumes and column mixes (the generic generator's row for the
//! index), and the practice anchors each row to one of its appointments: the row's patient is the
//! appointment's, its main date is the visit's (an appointment or recall notice goes out the
//! profile's reminder lead before it), and the row's other dates move with the main one, so that
//! their order within the row holds. Rows are spread evenly over the candidate appointments in
//! family order, so a table with more rows than candidates gives some visits two.
//!
//! | table | anchored to | main date |
//! |---|---|---|
//! | commlog | any appointment dated by yesterday | the visit, or the reminder lead before it (types flagged APPT or RECALL) |
//! | document | a completed visit | the visit |
//! | sheet | a completed visit | the visit |
//! | perioexam | a completed hygiene visit | the visit; ProvNum its hygienist |
//! | treatplan | a completed new-patient or hygiene (exam) visit | the visit |
//! | refattach | a completed new-patient visit | the visit |
//!
//! Two link tables follow their key instead: a treatment plan's attached procedures
//! (`treatplanattach`) are procedures of the plan's patient, planned or done from the plan's visit on,
//! and a procedure note (`procnote`) is about its procedure's patient, written on the procedure's day.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use rand::Rng;

use super::family::FamilyRows;
use super::rows::Row;
use super::Practice;
use crate::generate::rng::StreamKey;
use crate::generate::value::Value;

/// The tables anchored to visits, then the link tables that follow their key (owned when the plan
/// has them).
pub const PAPERWORK_TABLES: [&str; 8] = [
    "commlog",
    "document",
    "sheet",
    "perioexam",
    "treatplan",
    "refattach",
    "treatplanattach",
    "procnote",
];

/// One appointment of the practice: its family and its family-local index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Visit {
    pub family: u32,
    pub local: u32,
}

/// The candidate appointments of each anchoring, in family order.
#[derive(Debug, Default)]
pub struct Anchors {
    /// Appointments dated by yesterday, whatever their status.
    pub dated: Vec<Visit>,
    /// Completed visits.
    pub completed: Vec<Visit>,
    /// Completed hygiene visits.
    pub hygiene: Vec<Visit>,
    /// Completed new-patient and hygiene visits (the ones with an exam).
    pub exams: Vec<Visit>,
    /// Completed new-patient visits.
    pub new_patients: Vec<Visit>,
}

impl Anchors {
    /// Adds the appointments of one family.
    pub fn add(&mut self, family: usize, rows: &FamilyRows, yesterday: NaiveDate) {
        for (local, apt) in rows.appointments.iter().enumerate() {
            let visit = Visit {
                family: family as u32,
                local: local as u32,
            };
            if apt.when.date() > yesterday {
                continue;
            }
            self.dated.push(visit);
            if apt.status != 2 {
                continue;
            }
            self.completed.push(visit);
            if apt.hygienist.is_some() {
                self.hygiene.push(visit);
            }
            if apt.new_patient || apt.hygienist.is_some() {
                self.exams.push(visit);
            }
            if apt.new_patient {
                self.new_patients.push(visit);
            }
        }
    }

    /// The candidates of `table`.
    pub fn of(&self, table: &str) -> &[Visit] {
        match table {
            "commlog" => &self.dated,
            "document" | "sheet" => &self.completed,
            "perioexam" => &self.hygiene,
            "treatplan" => &self.exams,
            "refattach" => &self.new_patients,
            other => unreachable!("{other} is not a paperwork table"),
        }
    }

    /// The visit of row `index` of `rows` rows of `table`: rows spread evenly over the candidates.
    pub fn visit(&self, table: &str, index: u64, rows: u64) -> Option<Visit> {
        let candidates = self.of(table);
        if candidates.is_empty() || rows == 0 {
            return None;
        }
        let position = (index as u128 * candidates.len() as u128 / rows as u128) as usize;
        candidates.get(position.min(candidates.len() - 1)).copied()
    }
}

/// The main date column of a paperwork table.
fn main_column(table: &str) -> &'static str {
    match table {
        "commlog" => "CommDateTime",
        "document" => "DateCreated",
        "sheet" => "DateTimeSheet",
        "perioexam" => "ExamDate",
        "treatplan" => "DateTP",
        "refattach" => "RefDate",
        other => unreachable!("{other} is not a paperwork table"),
    }
}

/// A real date (not OpenDental's 0001-01-01 or a 1900 placeholder).
fn real(date: NaiveDate) -> bool {
    date >= NaiveDate::from_ymd_opt(1900, 1, 2).expect("valid")
}

/// Anchors row `index` of `table` (the generic row in `row`) to `visit`, whose family's rows are
/// `rows`.
pub fn build(practice: &Practice, table: &str, index: u64, visit: Visit, rows: &FamilyRows, row: &mut Row) {
    let setup = &practice.setup;
    let family = visit.family as usize;
    let apt = &rows.appointments[visit.local as usize];
    let yesterday = setup.clock.end;
    row.set("PatNum", Value::Int(practice.key("patient", family, apt.patient)));
    let mut day = apt.when.date();
    // A notice is sent before the visit, even on the visit's day.
    let mut before = None;
    if table == "commlog" {
        let kind = row
            .int_value("CommType")
            .and_then(|t| setup.commlog_kinds.get(&t))
            .map(String::as_str)
            .unwrap_or("");
        if matches!(kind, "APPT" | "RECALL") {
            // The notice goes out the reminder lead before the visit, once it was booked.
            let mut rng = StreamKey::new(practice.seed, "opendental", "reminder").stream(index);
            let lead = setup.behaviour.reminder_lead.quantile(rng.gen());
            day = (day - Duration::days(lead.round().max(0.0) as i64)).max(apt.created.date());
            before = Some(apt.when - Duration::minutes(30));
            let what = if kind == "APPT" { "Appointment" } else { "Recall" };
            let key = practice.key("appointment", family, visit.local);
            let at = apt.when.format("%Y-%m-%d %H:%M");
            row.set(
                "Note",
                Value::Text(format!("{what} reminder sent for appt #{key} on {at}")),
            );
        }
    }
    if table == "perioexam" {
        let prov = apt.hygienist.unwrap_or(apt.prov);
        row.set("ProvNum", Value::Int(prov as i64));
    }
    let day = day.min(yesterday);
    // The row's other dates move with its main date; placeholders stay.
    let main = main_column(table);
    let old = match row.get(main) {
        Some(Value::Date(d)) => Some(*d),
        Some(Value::Timestamp(t)) => Some(t.date()),
        _ => None,
    };
    let shift = old.filter(|d| real(*d)).map(|d| day - d);
    let latest = yesterday.and_time(NaiveTime::from_hms_opt(23, 59, 0).expect("valid"));
    let moved = |stamp: NaiveDateTime| (stamp + shift.unwrap_or_default()).min(latest);
    for (column, value) in row.columns().iter().zip(row.values.iter_mut()) {
        if column == main {
            *value = match value {
                Value::Timestamp(t) => {
                    let stamp = day.and_time(t.time());
                    Value::Timestamp(before.map_or(stamp, |b| stamp.min(b)))
                }
                _ => Value::Date(day),
            };
            continue;
        }
        match value {
            Value::Date(d) if real(*d) && shift.is_some() => {
                *d = moved(d.and_time(NaiveTime::MIN)).date();
            }
            Value::Timestamp(t) if real(t.date()) && shift.is_some() => *t = moved(*t),
            _ => {}
        }
    }
}

/// Attaches row `index` of treatplanattach (whose plan was anchored to `visit`) to a procedure of
/// the plan's patient: one planned or dated from the visit on, else any of the patient's.
pub fn build_attachment(practice: &Practice, index: u64, visit: Visit, rows: &FamilyRows, row: &mut Row) {
    let apt = &rows.appointments[visit.local as usize];
    let date = apt.when.date();
    let of_patient = || {
        rows.procedures
            .iter()
            .enumerate()
            .filter(|(_, p)| p.patient == apt.patient)
    };
    let mut candidates: Vec<usize> = of_patient()
        .filter(|(_, p)| p.status == 1 || p.date >= date)
        .map(|(i, _)| i)
        .collect();
    if candidates.is_empty() {
        candidates = of_patient().map(|(i, _)| i).collect();
    }
    if candidates.is_empty() {
        return;
    }
    let mut rng = StreamKey::new(practice.seed, "opendental", "plan-attachment").stream(index);
    let local = candidates[rng.gen_range(0..candidates.len())];
    let key = practice.key("procedurelog", visit.family as usize, local as u32);
    row.set("ProcNum", Value::Int(key));
}

/// Files procedure note `row` under its procedure's patient, on the procedure's day (at the note's
/// own time of day, never after yesterday).
pub fn build_note(practice: &Practice, family: usize, local: usize, rows: &FamilyRows, row: &mut Row) {
    let procedure = &rows.procedures[local];
    let patient = practice.key("patient", family, procedure.patient);
    row.set("PatNum", Value::Int(patient));
    let day = procedure.date.min(practice.setup.clock.end);
    if let Some(Value::Timestamp(t)) = row.get("EntryDateTime") {
        if real(t.date()) {
            let stamp = day.and_time(t.time());
            row.set("EntryDateTime", Value::Timestamp(stamp));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anchors(n: usize) -> Anchors {
        Anchors {
            dated: (0..n as u32).map(|i| Visit { family: i, local: 0 }).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn rows_spread_evenly_over_the_candidates() {
        // Fewer rows than visits: every row its own visit, in order.
        let a = anchors(10);
        let picked: Vec<u32> = (0..5).map(|i| a.visit("commlog", i, 5).unwrap().family).collect();
        assert_eq!(picked, vec![0, 2, 4, 6, 8]);
        // More rows than visits: each visit two or three rows, never past the last.
        let picked: Vec<u32> = (0..25)
            .map(|i| a.visit("commlog", i, 25).unwrap().family)
            .collect();
        assert!(picked.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*picked.last().unwrap(), 9);
        for family in 0..10 {
            let n = picked.iter().filter(|f| **f == family).count();
            assert!((2..=3).contains(&n), "{family}: {n}");
        }
        // No candidates: the row stays the generic one.
        assert_eq!(a.visit("perioexam", 0, 3), None);
    }
}
