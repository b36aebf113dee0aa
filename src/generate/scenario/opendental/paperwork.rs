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
//! | entrylog | any appointment dated by yesterday; FKey the appointment (FKeyType 0) | its booking (the appointment's SecDateTEntry) |
//! | patientlink | a completed new-patient visit; PatNumTo the patient, PatNumFrom another member of the family (else the next patient), never the same | the visit |
//! | document | a completed visit | the visit |
//! | sheet | a completed visit | the visit |
//! | perioexam | a completed hygiene visit | the visit; ProvNum its hygienist |
//! | treatplan | a completed new-patient or hygiene (exam) visit | the visit |
//! | refattach | a completed new-patient visit | the visit |
//! | allergy, disease | an exam visit (medical history) | the visit (DateTStamp) |
//! | toothinitial | a completed new-patient visit (the initial charting) | its creation stamp (mostly a placeholder) |
//! | rxpat | a completed treatment visit | the visit; ProvNum its dentist, ProcNum (when set) one of its procedures |
//! | labcase | a completed treatment visit | created at the visit; AptNum the visit, ProvNum its dentist |
//! | statement | a completed visit; PatNum the family's guarantor | sent on the visit's day |
//! | task | a completed visit (a follow-up); KeyNum the patient (ObjectType 1) or the appointment (2) | entered on the visit's day |
//!
//! Twelve link tables follow their key (the blue book: the received claim lines) instead: a treatment plan's attached procedures
//! (`treatplanattach`) and its printed lines (`proctp`, dated with the plan) are procedures of the
//! plan's patient, planned or done from the plan's visit on; a procedure note (`procnote`) is about
//! its procedure's patient, written on the procedure's day; a claim snapshot (`claimsnapshot`)
//! repeats its claim line's procedure, fee and estimates, taken when the claim was sent; a claim's
//! tracking entries (`claimtracking`) are dated between its sending and its receipt; a task's
//! history rows (`taskhist`) repeat what their task names and when it was entered; the insurance
//! blue book (`insbluebook`) records received claim lines (spread evenly over them: procedure, code,
//! plan, carrier, claim, the amount paid); a blue-book log
//! entry (`insbluebooklog`) carries its claim line's fee and day; an EOB attachment (`eobattach`) is
//! created on its check's day; a statement's lines (`statementprod`) are procedures or adjustments
//! of the statement's family; a sheet's fields (`sheetfield`) follow distinct field definitions of
//! its sheet's definition ([`SheetFields`]) and are signed on the sheet's day; a group note's items
//! (`procgroupitem`) pair a completed visit's first completed procedure (standing for the group
//! note) with each other completed procedure of the visit ([`Anchors::groups`]; a profile with
//! more items than that takes the visits' other ordered pairs too, so every pair stays distinct); a perio chart's
//! readings (`periomeasure`) fall on the exams in consecutive blocks, entered on the exam's day.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use rand::Rng;

use super::family::FamilyRows;
use super::rows::Row;
use super::Practice;
use crate::generate::rng::StreamKey;
use crate::generate::value::Value;

/// The tables anchored to visits, then the link tables that follow their key (owned when the plan
/// has them).
pub const PAPERWORK_TABLES: [&str; 28] = [
    "commlog",
    "entrylog",
    "patientlink",
    "document",
    "sheet",
    "perioexam",
    "treatplan",
    "refattach",
    "allergy",
    "disease",
    "toothinitial",
    "rxpat",
    "labcase",
    "statement",
    "task",
    "taskhist",
    "treatplanattach",
    "proctp",
    "procnote",
    "claimsnapshot",
    "claimtracking",
    "insbluebook",
    "insbluebooklog",
    "eobattach",
    "statementprod",
    "sheetfield",
    "procgroupitem",
    "periomeasure",
];

/// One appointment of the practice, with what paperwork needs of it (kept from the last counting
/// pass, so that anchoring a row never re-simulates a family).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Visit {
    pub family: u32,
    /// The appointment's family-local index.
    pub local: u32,
    /// The patient's family-local index.
    pub patient: u32,
    pub date: NaiveDate,
    /// Start, in minutes after midnight: the asked time, then its seat's ([`Anchors::seat`]).
    pub minute: u32,
    /// When it was booked: the appointment's SecDateTEntry once [`Anchors::seat`] bounded it to
    /// a minute before the start.
    pub booked: NaiveDateTime,
    pub prov: u32,
    pub hygienist: Option<u32>,
    /// The first procedure on it (family-local), if any.
    pub procedure: Option<u32>,
}

impl Visit {
    pub fn when(&self) -> NaiveDateTime {
        let minute = self.minute.min(23 * 60 + 55);
        self.date
            .and_time(NaiveTime::from_hms_opt(minute / 60, minute % 60, 0).unwrap_or(NaiveTime::MIN))
    }
}

/// A procedure, as a note about it needs it: its patient's key and its day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcedureFact {
    pub patient: u32,
    pub date: NaiveDate,
}

/// A claim line, as its snapshot needs it (money in cents).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineFact {
    pub procedure: u32,
    pub fee: i64,
    pub estimate: i64,
    pub write_off: i64,
    /// The claim's type (S for a secondary claim), when the line is on one.
    pub secondary: Option<bool>,
    /// The day the claim was sent, else the procedure's.
    pub day: NaiveDate,
    /// The procedure's code and day, the plan, the claim's key and the amount paid on the line.
    pub code: u32,
    pub proc_date: NaiveDate,
    pub plan: u32,
    pub claim: Option<u32>,
    pub paid: i64,
    /// The day the claim was received, for a received line (Status 1).
    pub received: Option<NaiveDate>,
}

/// A claim, as its tracking entries need it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimFact {
    pub sent: NaiveDate,
    pub received: Option<NaiveDate>,
}

/// Where a family's rows start in the practice-wide key order (0-based indices).
#[derive(Debug, Clone, Copy, Default)]
pub struct FamilyStart {
    pub appointment: u64,
    pub patient: u64,
    pub procedure: u64,
    pub claim: u64,
}

/// The appointments dated by yesterday, and the candidates of each anchoring (indices into
/// `visits`), in family order; and, by key, what the link tables need of procedures, claim lines
/// and claims (so that following a key never re-simulates a family).
#[derive(Debug, Default)]
pub struct Anchors {
    pub visits: Vec<Visit>,
    /// Every status.
    pub dated: Vec<u32>,
    /// Completed visits.
    pub completed: Vec<u32>,
    /// Completed hygiene visits.
    pub hygiene: Vec<u32>,
    /// Completed new-patient and hygiene visits (the ones with an exam).
    pub exams: Vec<u32>,
    /// Completed new-patient visits.
    pub new_patients: Vec<u32>,
    /// Completed treatment visits (neither hygiene nor new-patient visits).
    pub treatments: Vec<u32>,
    /// Per visit, its appointment's index over the whole practice.
    global: Vec<u64>,
    /// Every procedure, claim line and claim, by key - 1.
    pub procedures: Vec<ProcedureFact>,
    pub lines: Vec<LineFact>,
    pub claims: Vec<ClaimFact>,
    /// The received claim lines (indices into `lines`): the insurance blue book's entries.
    pub received_lines: Vec<u32>,
    /// Procedure groups: (group, item) procedure keys, where the group is the first completed
    /// procedure of a completed visit and the item another completed procedure of that visit, in
    /// family order. Every pair is distinct.
    pub groups: Vec<(u32, u32)>,
    /// More distinct pairs, for a profile with more group-note items than `groups`: the other
    /// ordered pairs of a visit's completed procedures (group, item), in family order.
    pub more_groups: Vec<(u32, u32)>,
}

impl Anchors {
    /// Adds the rows of one family, which starts at `start`.
    pub fn add(&mut self, family: usize, rows: &FamilyRows, yesterday: NaiveDate, start: FamilyStart) {
        let patient_key = |local: u32| (start.patient + local as u64 + 1) as u32;
        self.procedures
            .extend(rows.procedures.iter().map(|p| ProcedureFact {
                patient: patient_key(p.patient),
                date: p.date,
            }));
        for line in &rows.claimprocs {
            let claim = line.claim.map(|c| &rows.claims[c as usize]);
            let received = claim.and_then(|c| c.received).filter(|_| line.status == 1);
            if received.is_some() {
                self.received_lines.push(self.lines.len() as u32);
            }
            self.lines.push(LineFact {
                procedure: (start.procedure + line.procedure as u64 + 1) as u32,
                fee: line.fee,
                estimate: line.estimate,
                write_off: line.write_off_estimate,
                secondary: claim.map(|c| c.secondary),
                day: claim.map_or(line.proc_date, |c| c.sent),
                code: rows.procedures[line.procedure as usize].code,
                proc_date: line.proc_date,
                plan: line.plan,
                claim: line.claim.map(|c| (start.claim + c as u64 + 1) as u32),
                paid: line.paid,
                received,
            });
        }
        self.claims.extend(rows.claims.iter().map(|c| ClaimFact {
            sent: c.sent,
            received: c.received,
        }));
        let first_appointment = start.appointment;
        let mut first_procedure = vec![None; rows.appointments.len()];
        for (i, p) in rows.procedures.iter().enumerate() {
            if let Some(a) = p.appointment {
                first_procedure[a as usize].get_or_insert(i as u32);
            }
        }
        // A visit's completed procedures, grouped under its first one (then, for spares, every
        // other ordered pair of them).
        let mut of_visit: Vec<Vec<u32>> = vec![Vec::new(); rows.appointments.len()];
        let procedure_key = |local: usize| (start.procedure + local as u64 + 1) as u32;
        for (i, p) in rows.procedures.iter().enumerate() {
            let Some(a) = p.appointment.map(|a| a as usize) else {
                continue;
            };
            let apt = &rows.appointments[a];
            if p.status == 2 && apt.status == 2 && apt.when.date() <= yesterday {
                of_visit[a].push(procedure_key(i));
            }
        }
        for procedures in &of_visit {
            for (g, group) in procedures.iter().enumerate() {
                for item in procedures.iter().filter(|item| *item != group) {
                    let list = if g == 0 {
                        &mut self.groups
                    } else {
                        &mut self.more_groups
                    };
                    list.push((*group, *item));
                }
            }
        }
        for (local, apt) in rows.appointments.iter().enumerate() {
            if apt.when.date() > yesterday {
                continue;
            }
            let index = self.visits.len() as u32;
            self.visits.push(Visit {
                family: family as u32,
                local: local as u32,
                patient: apt.patient,
                date: apt.when.date(),
                minute: chrono::Timelike::num_seconds_from_midnight(&apt.when.time()) / 60,
                booked: apt.booked,
                prov: apt.prov,
                hygienist: apt.hygienist,
                procedure: first_procedure[local],
            });
            self.global.push(first_appointment + local as u64);
            self.dated.push(index);
            if apt.status != 2 {
                continue;
            }
            self.completed.push(index);
            if apt.hygienist.is_some() {
                self.hygiene.push(index);
            }
            if apt.new_patient || apt.hygienist.is_some() {
                self.exams.push(index);
            }
            if apt.new_patient {
                self.new_patients.push(index);
            }
            if !apt.new_patient && apt.hygienist.is_none() {
                self.treatments.push(index);
            }
        }
    }

    /// Moves every visit to the start its chair gave it (`starts` by practice-wide appointment
    /// index, in minutes after midnight).
    pub fn seat(&mut self, starts: impl Fn(u64) -> Option<u32>) {
        for (visit, global) in self.visits.iter_mut().zip(&self.global) {
            if let Some(start) = starts(*global) {
                visit.minute = start;
            }
            visit.booked = visit.booked.min(visit.when() - Duration::minutes(1));
        }
        self.global = Vec::new();
    }

    /// The candidates of `table`.
    fn of(&self, table: &str) -> &[u32] {
        match table {
            "commlog" | "entrylog" => &self.dated,
            "document" | "sheet" | "statement" | "task" => &self.completed,
            "perioexam" => &self.hygiene,
            "treatplan" | "allergy" | "disease" => &self.exams,
            "refattach" | "toothinitial" | "patientlink" => &self.new_patients,
            "rxpat" | "labcase" => &self.treatments,
            other => unreachable!("{other} is not an anchored paperwork table"),
        }
    }

    /// The visit of row `index` of `rows` rows of `table`: rows spread evenly over the candidates.
    pub fn visit(&self, table: &str, index: u64, rows: u64) -> Option<&Visit> {
        let candidates = self.of(table);
        if candidates.is_empty() || rows == 0 {
            return None;
        }
        let chosen = candidates[spread(index, rows, candidates.len())];
        self.visits.get(chosen as usize)
    }
}

/// Where row `index` of `rows` falls among `n` targets (n > 0) when rows are spread evenly over
/// them in order: consecutive rows share a target, and target *k* takes the rows from
/// `ceil(k x rows / n)` on.
pub fn spread(index: u64, rows: u64, n: usize) -> usize {
    ((index as u128 * n as u128 / rows.max(1) as u128) as usize).min(n - 1)
}

/// The main date column of a paperwork table.
fn main_column(table: &str) -> &'static str {
    match table {
        "commlog" => "CommDateTime",
        "entrylog" => "EntryDateTime",
        "patientlink" => "DateTimeLink",
        "document" => "DateCreated",
        "sheet" => "DateTimeSheet",
        "perioexam" => "ExamDate",
        "treatplan" => "DateTP",
        "refattach" => "RefDate",
        "allergy" | "disease" => "DateTStamp",
        "toothinitial" => "SecDateTEntry",
        "rxpat" => "RxDate",
        "labcase" => "DateTimeCreated",
        "statement" => "DateSent",
        "task" => "DateTimeEntry",
        "periomeasure" => "SecDateTEntry",
        other => unreachable!("{other} is not a paperwork table"),
    }
}

/// A real date (not OpenDental's 0001-01-01 or a 1900 placeholder).
fn real(date: NaiveDate) -> bool {
    date >= NaiveDate::from_ymd_opt(1900, 1, 2).expect("valid")
}

/// Anchors row `index` of `table` (the generic row in `row`) to `visit`.
pub fn build(practice: &Practice, table: &str, index: u64, visit: &Visit, row: &mut Row) {
    let setup = &practice.setup;
    let family = visit.family as usize;
    let when = visit.when();
    let yesterday = setup.clock.end;
    row.set(
        "PatNum",
        Value::Int(practice.key("patient", family, visit.patient)),
    );
    let mut day = visit.date;
    // A notice is sent before the visit, even on the visit's day.
    let mut before = None;
    // An appointment's log entry is stamped when it was booked.
    let mut booking = None;
    if table == "commlog" {
        let kind = row
            .int_value("CommType")
            .and_then(|t| setup.commlog_kinds.get(&t))
            .map(String::as_str)
            .unwrap_or("");
        if matches!(kind, "APPT" | "RECALL") {
            // The notice goes out the reminder lead before the visit, once it was booked.
            let mut rng = StreamKey::new(practice.seed, "opendental", "reminder").stream(index);
            let lead = super::setup::days(&setup.behaviour.reminder_lead, &mut rng);
            day = (day - Duration::days(lead)).max(visit.booked.date());
            before = Some(when - Duration::minutes(30));
            let what = if kind == "APPT" { "Appointment" } else { "Recall" };
            let at = when.format("%Y-%m-%d %H:%M");
            let key = practice.key("appointment", family, visit.local);
            row.set(
                "Note",
                Value::Text(format!("{what} reminder sent for appt #{key} on {at}")),
            );
        }
    }
    let apt_key = practice.key("appointment", family, visit.local);
    match table {
        "perioexam" => {
            let prov = visit.hygienist.unwrap_or(visit.prov);
            row.set("ProvNum", Value::Int(prov as i64));
        }
        "sheet" => {
            // A sheet is of its definition's type.
            let def = row.int_value("SheetDefNum").unwrap_or(0);
            if let Some(kind) = setup.sheet_types.get(&def) {
                row.set("SheetType", Value::Int(*kind));
            }
        }
        "rxpat" => {
            row.set("ProvNum", Value::Int(visit.prov as i64));
            // The prescription follows one of the practice's templates.
            if !setup.prescriptions.is_empty() {
                let (texts, controlled) = &setup.prescriptions[index as usize % setup.prescriptions.len()];
                for (column, text) in ["Drug", "Sig", "Disp"].iter().zip(texts) {
                    row.set(column, Value::Text(text.clone()));
                }
                row.set("IsControlled", Value::Bool(*controlled));
            }
            // A prescription tied to a procedure names one of the visit's.
            if row.int_value("ProcNum").is_some_and(|k| k > 0) {
                let key = visit
                    .procedure
                    .map_or(0, |p| practice.key("procedurelog", family, p));
                row.set("ProcNum", Value::Int(key));
            }
        }
        "labcase" => {
            row.set("AptNum", Value::Int(apt_key));
            row.set("PlannedAptNum", Value::Int(0));
            row.set("ProvNum", Value::Int(visit.prov as i64));
        }
        "entrylog" => {
            // The log entry of an appointment (FKeyType 0) is its booking.
            let of_appointment = matches!(row.get("FKeyType"), Some(Value::Bool(false)))
                || row.int_value("FKeyType") == Some(0);
            if of_appointment {
                row.set("FKey", Value::Int(apt_key));
                day = visit.booked.date();
                booking = Some(visit.booked);
            }
        }
        "patientlink" => {
            // Linked at intake: the new patient's record and another one, a member of the
            // family when it has more, else the patient next in key order.
            let patient = practice.key("patient", family, visit.patient);
            let t = super::table_index("patient").expect("family table");
            let members = practice.offsets[t][family + 1] - practice.offsets[t][family];
            let all = practice.rows(t) as i64;
            let other = if members > 1 {
                practice.key("patient", family, (visit.patient + 1) % members as u32)
            } else if patient < all {
                patient + 1
            } else {
                patient - 1
            };
            row.set("PatNumTo", Value::Int(patient));
            if other > 0 {
                row.set("PatNumFrom", Value::Int(other));
            }
        }
        "statement" => {
            // Statements go to the family's guarantor.
            row.set("PatNum", Value::Int(practice.key("patient", family, 0)));
        }
        "task" => {
            // A task has no PatNum: it names its patient or appointment by ObjectType.
            let key = match row.int_value("ObjectType") {
                Some(1) => Some(practice.key("patient", family, visit.patient)),
                Some(2) => Some(apt_key),
                _ => None,
            };
            if let Some(key) = key {
                row.set("KeyNum", Value::Int(key));
            }
        }
        _ => {}
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
            // A placeholder or missing main date (toothinitial's creation stamps, mostly) stays.
            match value {
                Value::Timestamp(t) if real(t.date()) => {
                    let stamp = booking.unwrap_or(day.and_time(t.time())).min(latest);
                    *t = before.map_or(stamp, |b| stamp.min(b));
                }
                Value::Date(d) if real(*d) => *d = day,
                _ => {}
            }
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

/// Attaches row `index` of treatplanattach or proctp (whose plan was anchored to `visit`) to a
/// procedure of the plan's patient: one planned or dated from the visit on, else any of the
/// patient's. A proctp line also carries the plan's patient and date.
pub fn build_attachment(
    practice: &Practice,
    table: &str,
    index: u64,
    visit: &Visit,
    rows: &FamilyRows,
    row: &mut Row,
) {
    let date = visit.date;
    let of_patient = || {
        rows.procedures
            .iter()
            .enumerate()
            .filter(|(_, p)| p.patient == visit.patient)
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
    let family = visit.family as usize;
    let key = practice.key("procedurelog", family, local as u32);
    if table == "proctp" {
        row.set("ProcNumOrig", Value::Int(key));
        row.set(
            "PatNum",
            Value::Int(practice.key("patient", family, visit.patient)),
        );
        row.set("DateTP", Value::Date(date.min(practice.setup.clock.end)));
    } else {
        row.set("ProcNum", Value::Int(key));
    }
}

/// Files procedure note `row` under its procedure's patient, on the procedure's day (at the note's
/// own time of day, never after yesterday).
pub fn build_note(practice: &Practice, procedure: &ProcedureFact, row: &mut Row) {
    row.set("PatNum", Value::Int(procedure.patient as i64));
    restamp(row, "EntryDateTime", procedure.date, practice.setup.clock.end);
}

/// Money in cents as a numeric value.
fn money(cents: i64) -> Value {
    Value::Decimal(cents as f64 / 100.0, 2)
}

/// The row's own time of day on `day` (never after yesterday), when the row holds a real stamp.
pub fn restamp(row: &mut Row, column: &str, day: NaiveDate, yesterday: NaiveDate) {
    if let Some(Value::Timestamp(t)) = row.get(column) {
        if real(t.date()) {
            let stamp = day.min(yesterday).and_time(t.time());
            row.set(column, Value::Timestamp(stamp));
        }
    }
}

/// Fills claimsnapshot `row` from its claim line: its procedure, fee, estimate and write-off
/// estimate, the claim's type, taken the day the claim was sent.
pub fn build_snapshot(practice: &Practice, line: &LineFact, row: &mut Row) {
    row.set("ProcNum", Value::Int(line.procedure as i64));
    row.set("Fee", money(line.fee));
    row.set("InsPayEst", money(line.estimate));
    row.set("Writeoff", money(line.write_off));
    if let Some(secondary) = line.secondary {
        let kind = if secondary { "S" } else { "P" };
        row.set("ClaimType", Value::Text(kind.to_string()));
    }
    restamp(row, "DateTEntry", line.day, practice.setup.clock.end);
}

/// Dates claimtracking row `index` between its claim's sending and its receipt (or yesterday,
/// while it is out).
pub fn build_tracking(practice: &Practice, index: u64, claim: &ClaimFact, row: &mut Row) {
    let yesterday = practice.setup.clock.end;
    let end = claim.received.unwrap_or(yesterday).min(yesterday);
    let span = (end - claim.sent).num_days().max(0);
    let mut rng = StreamKey::new(practice.seed, "opendental", "claim-tracking").stream(index);
    let day = claim.sent + Duration::days(rng.gen_range(0..=span));
    restamp(row, "DateTimeEntry", day, yesterday);
}

/// Fills insbluebook row `index` of `rows` from a received claim line (spread evenly over them):
/// the procedure, its code and day, the plan and its carrier, the claim and its type, what the
/// carrier paid, entered the day the claim was received.
pub fn build_bluebook(practice: &Practice, index: u64, rows: u64, row: &mut Row) {
    let anchors = &practice.anchors;
    let candidates = &anchors.received_lines;
    if candidates.is_empty() || rows == 0 {
        return;
    }
    let line = &anchors.lines[candidates[spread(index, rows, candidates.len())] as usize];
    let setup = &practice.setup;
    row.set("ProcNum", Value::Int(line.procedure as i64));
    row.set("ProcCodeNum", Value::Int(line.code as i64));
    row.set("PlanNum", Value::Int(line.plan as i64));
    row.set("CarrierNum", Value::Int(setup.carrier_of(line.plan) as i64));
    row.set("ClaimNum", Value::Int(line.claim.unwrap_or(0) as i64));
    row.set("ProcDate", Value::Date(line.proc_date));
    row.set("InsPayAmt", money(line.paid.max(0)));
    if let Some(secondary) = line.secondary {
        let kind = if secondary { "S" } else { "P" };
        row.set("ClaimType", Value::Text(kind.to_string()));
    }
    if let Some(received) = line.received {
        restamp(row, "DateTEntry", received, setup.clock.end);
    }
}

/// Fills insbluebooklog `row` from its claim line: the line's fee as the allowed fee, entered the
/// day the claim was sent.
pub fn build_bluebook_log(practice: &Practice, line: &LineFact, row: &mut Row) {
    row.set("AllowedFee", money(line.fee));
    restamp(row, "DateTEntry", line.day, practice.setup.clock.end);
}

/// How the sheet fields fall on sheets. A sheet filled from a sheet definition has one field per
/// field definition of it, so a sheet's fields follow distinct field definitions of its sheet's
/// definition (the contract's UQ(SheetNum, SheetFieldDefNum)). The fields are spread as evenly as
/// the definitions allow (water-filling): no sheet gets more fields than its definition has field
/// definitions, and one sheet gets at most one more than another unless its definition is the
/// smaller. Only when every definition is used up do the remaining fields go round the sheets
/// without a definition (SheetFieldDefNum 0).
#[derive(Debug, Default)]
pub struct SheetFields {
    /// Per sheet, the index of its first field; then the field count.
    starts: Vec<u64>,
    /// Per sheet, the field definitions (keys) of its sheet definition, in key order.
    defs: Vec<std::sync::Arc<[i64]>>,
}

impl SheetFields {
    /// `sheet_defs`: each sheet's SheetDefNum; `field_defs`: each field definition's SheetDefNum
    /// (its key is its index + 1); `fields`: the sheetfield rows.
    pub fn new(sheet_defs: &[i64], field_defs: &[i64], fields: u64) -> Self {
        let mut by_def: std::collections::BTreeMap<i64, Vec<i64>> = Default::default();
        for (i, def) in field_defs.iter().enumerate() {
            by_def.entry(*def).or_default().push(i as i64 + 1);
        }
        let lists: std::collections::BTreeMap<i64, std::sync::Arc<[i64]>> =
            by_def.into_iter().map(|(k, v)| (k, v.into())).collect();
        let empty: std::sync::Arc<[i64]> = Vec::new().into();
        let defs: Vec<_> = sheet_defs
            .iter()
            .map(|d| lists.get(d).cloned().unwrap_or_else(|| empty.clone()))
            .collect();
        let capacity: Vec<u64> = defs.iter().map(|d| d.len() as u64).collect();
        let total: u64 = capacity.iter().sum();
        let mut quota = if total <= fields {
            capacity.clone()
        } else {
            // The lowest level whose capped sum reaches the fields.
            let filled = |level: u64| capacity.iter().map(|c| (*c).min(level)).sum::<u64>();
            let (mut low, mut high) = (0, capacity.iter().copied().max().unwrap_or(0));
            while low < high {
                let mid = (low + high) / 2;
                if filled(mid) >= fields {
                    high = mid;
                } else {
                    low = mid + 1;
                }
            }
            let below = low.saturating_sub(1);
            let mut quota: Vec<u64> = capacity.iter().map(|c| (*c).min(below)).collect();
            let mut left = fields - quota.iter().sum::<u64>();
            for (q, c) in quota.iter_mut().zip(&capacity) {
                if left == 0 {
                    break;
                }
                if *c > *q {
                    *q += 1;
                    left -= 1;
                }
            }
            quota
        };
        // More fields than field definitions: the rest go round the sheets.
        let extra = fields.saturating_sub(quota.iter().sum());
        let n = quota.len() as u64;
        if let Some(each) = extra.checked_div(n) {
            for (i, q) in quota.iter_mut().enumerate() {
                *q += each + u64::from((i as u64) < extra % n);
            }
        }
        let mut starts = Vec::with_capacity(quota.len() + 1);
        let mut at = 0;
        starts.push(0);
        for q in quota {
            at += q;
            starts.push(at);
        }
        SheetFields { starts, defs }
    }

    /// Field `index`'s sheet (its index) and field definition (0 past the definition's fields).
    pub fn field(&self, index: u64) -> Option<(u64, i64)> {
        if self.defs.is_empty() {
            return None;
        }
        let sheet = self.starts.partition_point(|&s| s <= index).checked_sub(1)?;
        let sheet = sheet.min(self.defs.len() - 1);
        let k = (index - self.starts[sheet]) as usize;
        Some((sheet as u64, self.defs[sheet].get(k).copied().unwrap_or(0)))
    }
}

/// Which task and user each taskunread row pairs: only tasks still new (TaskStatus 0) are unread,
/// never by the user who wrote them, first by the users subscribed to the task's list.
#[derive(Debug, Default)]
pub struct TaskUnread {
    /// The new tasks: (TaskNum, the users who may have it unread, subscribers first).
    tasks: Vec<(i64, Vec<i64>)>,
    /// Whether every new task has a reader (the first round is then complete).
    all_read: bool,
}

impl TaskUnread {
    /// `tasks`: each task's (TaskStatus, TaskListNum, UserNum), its key being its index + 1;
    /// `subscriptions`: (UserNum, TaskListNum) pairs; `users`: the users, keys 1..=users.
    pub fn new(tasks: &[(i64, i64, i64)], subscriptions: &[(i64, i64)], users: u32) -> Self {
        let tasks = tasks
            .iter()
            .enumerate()
            .filter(|(_, (status, _, _))| *status == 0)
            .map(|(index, (_, list, writer))| {
                let mut readers: Vec<i64> = subscriptions
                    .iter()
                    .filter(|(user, l)| l == list && user != writer)
                    .map(|(user, _)| *user)
                    .collect();
                readers.sort_unstable();
                readers.dedup();
                let others = (1..=users as i64).filter(|u| u != writer && !readers.contains(u));
                readers.extend(others.collect::<Vec<_>>());
                (index as i64 + 1, readers)
            })
            .collect::<Vec<_>>();
        let all_read = tasks.iter().all(|(_, readers)| !readers.is_empty());
        Self { tasks, all_read }
    }

    /// The distinct (task, user) pairs there are: the most rows the table can hold.
    pub fn capacity(&self) -> u64 {
        self.tasks.iter().map(|(_, readers)| readers.len() as u64).sum()
    }

    /// Row `index`: (TaskNum, UserNum). Row i is new task i mod n, read by its (i / n)-th reader;
    /// a task with fewer readers hands the row on to the next task that has one left.
    pub fn pair(&self, index: u64) -> Option<(i64, i64)> {
        let n = self.tasks.len() as u64;
        if n == 0 || index >= self.capacity() {
            return None;
        }
        // Rows fill round by round: round r holds every task with more than r readers (the
        // first round, usually the only one, directly).
        if index < n && self.all_read {
            let (task, readers) = &self.tasks[index as usize];
            return Some((*task, readers[0]));
        }
        let mut rest = index;
        for round in 0.. {
            let open: Vec<&(i64, Vec<i64>)> = self
                .tasks
                .iter()
                .filter(|(_, readers)| readers.len() > round)
                .collect();
            if rest < open.len() as u64 {
                let (task, readers) = open[rest as usize];
                return Some((*task, readers[round]));
            }
            rest -= open.len() as u64;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anchors(n: usize) -> Anchors {
        let date = NaiveDate::from_ymd_opt(2025, 3, 4).unwrap();
        let visit = |i: u32| Visit {
            family: i,
            local: 0,
            patient: 0,
            date,
            minute: 480,
            booked: date.and_time(NaiveTime::MIN),
            prov: 1,
            hygienist: None,
            procedure: None,
        };
        Anchors {
            visits: (0..n as u32).map(visit).collect(),
            dated: (0..n as u32).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn sheet_fields_follow_distinct_definitions_of_their_sheet() {
        // Sheets 0 and 2 on definition 1 (3 field definitions), sheet 1 on definition 2 (5).
        let field_defs = [1, 2, 1, 2, 2, 1, 2, 2];
        let layout = SheetFields::new(&[1, 2, 1], &field_defs, 9);
        let mut seen = std::collections::BTreeSet::new();
        let mut per_sheet = [0; 3];
        for i in 0..9 {
            let (sheet, def) = layout.field(i).unwrap();
            assert!(def > 0, "field {i} has no definition");
            assert_eq!(field_defs[def as usize - 1], [1, 2, 1][sheet as usize]);
            assert!(seen.insert((sheet, def)), "field {i} repeats ({sheet}, {def})");
            per_sheet[sheet as usize] += 1;
        }
        assert_eq!(per_sheet, [3, 3, 3]);
        // Eleven fields: the level rises on the sheet with room; then every definition is used.
        let layout = SheetFields::new(&[1, 2, 1], &field_defs, 11);
        let counts: Vec<u64> = (0..3)
            .map(|s| (0..11).filter(|i| layout.field(*i).unwrap().0 == s).count() as u64)
            .collect();
        assert_eq!(counts, [3, 5, 3]);
        // Thirteen: two more than the definitions hold, without a definition.
        let layout = SheetFields::new(&[1, 2, 1], &field_defs, 13);
        let undefined = (0..13).filter(|i| layout.field(*i).unwrap().1 == 0).count();
        assert_eq!(undefined, 2);
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

    #[test]
    fn only_new_tasks_are_unread_by_others_subscribers_first_and_no_pair_twice() {
        // Tasks 1 (new, list 1, by user 1), 2 (done), 3 (new, list 2, by user 2).
        let tasks = [(0, 1, 1), (2, 1, 1), (0, 2, 2)];
        let subscriptions = [(3, 1), (1, 1), (2, 2), (3, 2)];
        let unread = super::TaskUnread::new(&tasks, &subscriptions, 3);
        assert_eq!(unread.capacity(), 4);
        let pairs: Vec<(i64, i64)> = (0..4).filter_map(|i| unread.pair(i)).collect();
        assert_eq!(pairs, vec![(1, 3), (3, 3), (1, 2), (3, 1)]);
        assert_eq!(unread.pair(4), None);
    }
}
