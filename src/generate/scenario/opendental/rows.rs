//! Row builders: the generic generator's row for the index (so that every column has a value that
//! follows its statistics), overwritten column by column with what the simulation decided.

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use fake::faker::name::en::LastName;
use fake::Fake;

use super::family::FamilyRows;
use super::setup::Setup;
use super::Practice;
use crate::generate::rng::StreamKey;
use crate::generate::value::Value;

pub struct Row<'c> {
    columns: &'c [String],
    pub values: Vec<Value>,
}

impl<'c> Row<'c> {
    pub fn new(columns: &'c [String], values: Vec<Value>) -> Self {
        Self { columns, values }
    }

    /// The row's column names.
    pub fn columns(&self) -> &'c [String] {
        self.columns
    }

    pub fn set(&mut self, column: &str, value: Value) {
        if let Some(position) = self.columns.iter().position(|c| c == column) {
            self.values[position] = value;
        }
    }

    /// An integer column's value, if it holds one (a key drawn from a list is raw text).
    pub fn int_value(&self, column: &str) -> Option<i64> {
        match self.get(column) {
            Some(Value::Int(v)) => Some(*v),
            Some(Value::Raw(text)) => text.parse().ok(),
            _ => None,
        }
    }

    /// The 0-based index of the row a positive key column names (key - 1), if it names one.
    pub fn key_index(&self, column: &str) -> Option<usize> {
        self.int_value(column).filter(|k| *k >= 1).map(|k| k as usize - 1)
    }

    /// Copies `columns` from another row (of another table).
    pub fn copy_from(&mut self, other: &Row, columns: &[&str]) {
        for column in columns {
            if let Some(value) = other.get(column) {
                self.set(column, value.clone());
            }
        }
    }

    pub fn get(&self, column: &str) -> Option<&Value> {
        self.columns
            .iter()
            .position(|c| c == column)
            .map(|p| &self.values[p])
    }

    pub fn int(&mut self, column: &str, value: i64) {
        self.set(column, Value::Int(value));
    }

    fn money(&mut self, column: &str, cents: i64) {
        self.set(column, Value::Decimal(cents as f64 / 100.0, 2));
    }

    fn text(&mut self, column: &str, value: &str) {
        self.set(column, Value::Text(value.to_string()));
    }

    pub fn flag(&mut self, column: &str, value: bool) {
        self.set(column, Value::Bool(value));
    }

    fn date(&mut self, column: &str, value: Option<NaiveDate>) {
        self.set(column, Value::Date(value.unwrap_or_else(zero_date)));
    }

    fn stamp(&mut self, column: &str, value: NaiveDateTime) {
        self.set(column, Value::Timestamp(value));
    }

    fn zeros(&mut self, columns: &[&str]) {
        for column in columns {
            self.int(column, 0);
        }
    }
}

fn zero_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(1, 1, 1).expect("valid")
}

fn at(date: NaiveDate, hour: u32) -> NaiveDateTime {
    date.and_time(NaiveTime::from_hms_opt(hour, 0, 0).unwrap_or(NaiveTime::MIN))
}

/// Insurance carrier names that belong to no real company.
pub fn carrier_name(carrier: u32) -> String {
    const NAMES: [&str; 15] = [
        "Example Dental Mutual",
        "Sample Benefit Group",
        "Demo Dental Plan",
        "Placeholder Health",
        "Fictional Insurance Co",
        "Synthetic Smiles Benefits",
        "Northwind Dental",
        "Contoso Dental Trust",
        "Fabrikam Benefits",
        "Tailspin Dental",
        "Woodgrove Health Plan",
        "Adventure Dental Cover",
        "Litware Benefits",
        "Proseware Dental",
        "Wingtip Mutual",
    ];
    let base = NAMES[(carrier as usize - 1) % NAMES.len()];
    if carrier as usize > NAMES.len() {
        format!("{base} {}", carrier)
    } else {
        base.to_string()
    }
}

/// Fills `row` (table `table`, family `family`, family-local index `local`).
pub fn build(
    practice: &Practice,
    table: &str,
    family: usize,
    local: usize,
    rows: &FamilyRows,
    row: &mut Row,
) {
    let setup = &practice.setup;
    let clock = setup.clock;
    let yesterday = clock.end;
    let key = |t: &str, i: u32| practice.key(t, family, i);
    let user = |i: usize| ((family + i) % setup.users as usize) as i64 + 1;
    let edit = |date: NaiveDate| at(date.min(yesterday), 17);
    match table {
        "patient" | "patientnote" => {
            let patient = &rows.patients[local];
            let entry = patient.entry.min(yesterday);
            if table == "patientnote" {
                row.int("PatNum", key("patient", local as u32));
                row.stamp("SecDateTEntry", at(entry, 9));
                row.stamp("SecDateTEdit", edit(entry));
                row.int("UserNumOrthoLocked", 0);
                return;
            }
            row.int("PatNum", key("patient", local as u32));
            let mut rng =
                StreamKey::new(practice.seed, "opendental", "surname").stream(patient.last_name as u64);
            let surname: String = LastName().fake_with_rng(&mut rng);
            row.text("LName", &surname);
            row.int("PatStatus", patient.status);
            // No scheduling window ("not before" / "not after" a time of day) is set: a drawn pair
            // would break the contract's order test (dbt_dental_models.md §2 patient).
            row.set("SchedBeforeTime", Value::Null);
            row.set("SchedAfterTime", Value::Null);
            row.int("Gender", if patient.female { 1 } else { 0 });
            row.int("Position", patient.position);
            row.date("Birthdate", patient.birth);
            row.int("Guarantor", key("patient", 0));
            row.money("EstBalance", patient.balance);
            row.int("PriProv", patient.pri_prov as i64);
            row.zeros(&[
                "SecProv",
                "FeeSched",
                "ClinicNum",
                "SuperFamily",
                "ResponsParty",
                "PatNumCloneFrom",
                "DiscountPlanNum",
                "SiteNum",
            ]);
            row.int("BillingType", setup.billing_type);
            let aging = patient.aging.unwrap_or_default();
            row.money("Bal_0_30", aging.b0_30);
            row.money("Bal_31_60", aging.b31_60);
            row.money("Bal_61_90", aging.b61_90);
            row.money("BalOver90", aging.over90);
            row.money("BalTotal", aging.total);
            row.money("InsEst", aging.ins_est);
            row.money("PayPlanDue", 0);
            row.date("DateFirstVisit", patient.first_visit);
            row.text("HasIns", if patient.insured { "1" } else { "0" });
            if !matches!(row.get("SecDateEntry"), Some(Value::Date(d)) if *d == zero_date()) {
                row.date("SecDateEntry", Some(entry));
            }
            row.stamp("DateTStamp", edit(entry.max(clock.start)));
        }
        "inssub" => {
            let sub = &rows.inssubs[local];
            row.int("InsSubNum", key("inssub", local as u32));
            row.int("PlanNum", sub.plan as i64);
            row.int("Subscriber", key("patient", sub.subscriber));
            row.date("DateEffective", Some(sub.effective));
            row.date("DateTerm", None);
            row.date("SecDateEntry", Some(sub.effective.max(clock.start)));
            row.stamp("SecDateTEdit", edit(clock.start));
        }
        "patplan" => {
            let plan = &rows.patplans[local];
            row.int("PatPlanNum", key("patplan", local as u32));
            row.int("PatNum", key("patient", plan.patient));
            row.int("Ordinal", plan.ordinal);
            row.flag("IsPending", false);
            row.int("Relationship", plan.relationship);
            row.int("InsSubNum", key("inssub", plan.inssub));
            row.stamp("SecDateTEntry", at(clock.start, 9));
            row.stamp("SecDateTEdit", edit(clock.start));
        }
        "appointment" => {
            let apt = &rows.appointments[local];
            appointment_columns(practice, family, rows, apt, row);
            row.int("AptNum", key("appointment", local as u32));
            row.int("AptStatus", apt.status);
            row.stamp("DateTStamp", apt.created.max(apt.when.min(at(yesterday, 18))));
            row.stamp("SecDateTEntry", apt.created);
            let (seated, dismissed) = match (apt.status, apt.arrived) {
                (2, Some(arrived)) => {
                    let seated = arrived + Duration::minutes(5);
                    let length = apt.pattern.len() as i64 * 5;
                    (Some(seated), Some(seated + Duration::minutes(length.max(10))))
                }
                _ => (None, None),
            };
            row.set(
                "DateTimeArrived",
                apt.arrived.map(Value::Timestamp).unwrap_or(Value::Null),
            );
            row.set(
                "DateTimeSeated",
                seated.map(Value::Timestamp).unwrap_or(Value::Null),
            );
            row.set(
                "DateTimeDismissed",
                dismissed.map(Value::Timestamp).unwrap_or(Value::Null),
            );
            let _ = user;
            row.int("SecUserNumEntry", user(local));
        }
        "histappointment" => {
            let history = &rows.history[local];
            let apt = &rows.appointments[history.appointment as usize];
            appointment_columns(practice, family, rows, apt, row);
            row.int("HistApptNum", key("histappointment", local as u32));
            row.int("HistUserNum", user(local));
            row.stamp("HistDateTStamp", history.stamp);
            row.int("HistApptAction", history.action);
            row.flag("ApptSource", false);
            row.int("AptNum", key("appointment", history.appointment));
            row.int("AptStatus", history.status);
            row.stamp("DateTStamp", history.stamp);
            row.stamp("SecDateTEntry", apt.created);
            row.int("SecUserNumEntry", user(history.appointment as usize));
            for column in [
                "DateTimeArrived",
                "DateTimeSeated",
                "DateTimeDismissed",
                "DateTimeAskedToArrive",
            ] {
                row.set(column, Value::Null);
            }
        }
        "procedurelog" => {
            let p = &rows.procedures[local];
            row.int("ProcNum", key("procedurelog", local as u32));
            row.int("PatNum", key("patient", p.patient));
            row.int(
                "AptNum",
                p.appointment.map(|a| key("appointment", a)).unwrap_or(0),
            );
            row.text("OldCode", "");
            row.date("ProcDate", Some(p.date));
            row.money("ProcFee", p.fee);
            row.int("ProcStatus", p.status);
            row.int("ProvNum", p.prov as i64);
            row.zeros(&[
                "Dx",
                "PlannedAptNum",
                "ClinicNum",
                "ProcNumLab",
                "BillingTypeOne",
                "BillingTypeTwo",
                "BaseUnits",
                "StatementNum",
                "RepeatChargeNum",
                "OrderingReferralNum",
                "ProvOrderOverride",
                "Priority",
                "Prognosis",
                "SiteNum",
                "PlaceService",
            ]);
            row.int("UnitQty", 1);
            row.int("CodeNum", p.code as i64);
            let code = setup.codes.get(&p.code).map(|c| c.code.as_str()).unwrap_or("");
            let (tooth, surface) = tooth_and_surface(code, key("procedurelog", local as u32) as u64);
            row.text("ToothNum", &tooth);
            row.text("Surf", &surface);
            row.text("MedicalCode", "");
            let done = matches!(p.status, 2 | 4);
            row.date("DateEntryC", done.then_some(p.date));
            row.date("DateComplete", (p.status == 2).then_some(p.date));
            row.date("DateTP", Some(p.date));
            row.stamp("DateTStamp", edit(p.date));
            row.stamp("SecDateEntry", at(p.date, 8));
            row.int("SecUserNumEntry", user(local));
            row.money("Discount", 0);
            row.money("TaxAmt", 0);
            row.money("DiscountPlanAmt", 0);
        }
        "claim" => {
            let claim = &rows.claims[local];
            row.int("ClaimNum", key("claim", local as u32));
            row.int("PatNum", key("patient", claim.patient));
            row.date("DateService", Some(claim.service));
            row.date("DateSent", Some(claim.sent));
            row.date("DateSentOrig", Some(claim.sent));
            row.text("ClaimStatus", if claim.received.is_some() { "R" } else { "S" });
            row.date("DateReceived", claim.received);
            row.date("DateResent", None);
            row.int("PlanNum", claim.plan as i64);
            row.int("ProvTreat", claim.prov as i64);
            row.int("ProvBill", claim.prov as i64);
            row.money("ClaimFee", claim.fee);
            row.money("InsPayEst", claim.estimate);
            row.money("InsPayAmt", claim.paid);
            row.money("DedApplied", 0);
            row.money("WriteOff", 0);
            row.text("ClaimType", if claim.secondary { "S" } else { "P" });
            row.zeros(&[
                "ReferringProv",
                "PlaceService",
                "PlanNum2",
                "PatRelat2",
                "ClinicNum",
                "InsSubNum2",
                "CustomTracking",
                "OrderingReferralNum",
                "ProvOrderOverride",
                "PatRelat",
            ]);
            row.int("EmployRelated", 2);
            row.int("InsSubNum", key("inssub", claim.inssub));
            row.int("SecUserNumEntry", user(local));
            row.date("SecDateEntry", Some(claim.sent.min(yesterday)));
            row.stamp("SecDateTEdit", edit(claim.received.unwrap_or(claim.sent)));
        }
        "claimproc" => {
            let cp = &rows.claimprocs[local];
            let code = setup.codes.get(&rows.procedures[cp.procedure as usize].code);
            row.int("ClaimProcNum", key("claimproc", local as u32));
            row.int("ProcNum", key("procedurelog", cp.procedure));
            row.int("ClaimNum", cp.claim.map(|c| key("claim", c)).unwrap_or(0));
            row.int("PatNum", key("patient", cp.patient));
            row.int("ProvNum", cp.prov as i64);
            row.money("FeeBilled", if cp.claim.is_some() { cp.fee } else { 0 });
            row.money("InsPayEst", cp.estimate);
            row.money("DedApplied", 0);
            row.int("Status", cp.status);
            row.money("InsPayAmt", cp.paid);
            row.text("Remarks", "");
            row.int(
                "ClaimPaymentNum",
                match (cp.payment, cp.status) {
                    (Some(p), 1) => {
                        let part = &rows.claimpayments[p as usize];
                        practice.check_key(part.plan, part.date)
                    }
                    _ => 0,
                },
            );
            row.int("PlanNum", cp.plan as i64);
            row.date("DateCP", cp.date_cp);
            row.money("WriteOff", 0);
            row.text("CodeSent", code.map(|c| c.code.as_str()).unwrap_or(""));
            // The -1 placeholder ("no override", "no copay") at the profile's share: the generic
            // draw of the column decides (it follows the column's sentinel share); otherwise the
            // allowed fee, and no copay.
            let placeholder = |row: &Row, column: &str| {
                matches!(row.get(column), Some(Value::Decimal(v, _)) if (*v + 1.0).abs() < 1e-9)
                    || matches!(row.get(column), Some(Value::Int(-1)))
            };
            let allowed_override = if placeholder(row, "AllowedOverride") {
                -100
            } else {
                cp.allowed
            };
            let copay = if placeholder(row, "CopayAmt") { -100 } else { 0 };
            row.money("AllowedOverride", allowed_override);
            row.int("Percentage", cp.percent);
            row.int("PercentOverride", -1);
            row.money("CopayAmt", copay);
            row.flag("NoBillIns", false);
            row.money("PaidOtherIns", 0);
            row.money("BaseEst", cp.estimate);
            row.money("CopayOverride", -100);
            row.date("ProcDate", Some(cp.proc_date));
            row.date("DateEntry", Some(cp.date_cp.unwrap_or(cp.proc_date)));
            row.int("LineNumber", 0);
            row.money("DedEst", 0);
            row.money("DedEstOverride", -100);
            row.money("InsEstTotal", cp.estimate);
            row.money("InsEstTotalOverride", -100);
            row.money("PaidOtherInsOverride", -100);
            row.text("EstimateNote", "");
            row.money("WriteOffEst", cp.write_off_estimate);
            row.money("WriteOffEstOverride", -100);
            row.zeros(&["ClinicNum", "PaymentRow", "PayPlanNum", "ClaimPaymentTracking"]);
            row.int("InsSubNum", key("inssub", cp.inssub));
            row.int("SecUserNumEntry", user(local));
            row.date("SecDateEntry", Some(cp.proc_date));
            row.stamp("SecDateTEdit", edit(cp.date_cp.unwrap_or(cp.proc_date)));
            row.date("DateSuppReceived", None);
            row.date("DateInsFinalized", None);
            row.flag("IsTransfer", false);
            row.flag("IsOverpay", false);
            let _ = cp.allowed;
        }
        "payment" => {
            let payment = &rows.payments[local];
            let splits = rows.splits.iter().filter(|s| s.payment == local as u32).count();
            row.int("PayNum", key("payment", local as u32));
            row.int("PayType", payment.pay_type);
            row.date("PayDate", Some(payment.date));
            row.money("PayAmt", payment.amount);
            row.text("CheckNum", "");
            row.text("BankBranch", "");
            row.text("PayNote", if payment.transfer { "INCOME TRANSFER" } else { "" });
            row.flag("IsSplit", splits > 1);
            row.int("PatNum", key("patient", payment.patient));
            row.zeros(&["ClinicNum", "DepositNum"]);
            row.date("DateEntry", Some(payment.date));
            row.text("Receipt", "");
            row.int("SecUserNumEntry", user(local));
            row.stamp("SecDateTEdit", edit(payment.date));
            row.date("RecurringChargeDate", None);
            row.money("MerchantFee", 0);
        }
        "paysplit" => {
            let split = &rows.splits[local];
            row.int("SplitNum", key("paysplit", local as u32));
            row.money("SplitAmt", split.amount);
            row.int("PatNum", key("patient", split.patient));
            row.date("ProcDate", Some(split.proc_date));
            row.int("PayNum", key("payment", split.payment));
            row.flag("IsDiscount", false);
            row.flag("DiscountType", false);
            row.int("ProvNum", split.prov as i64);
            row.date("DatePay", Some(split.date));
            let procedure = if split.procedure == super::family::NO_PROCEDURE {
                0
            } else {
                key("procedurelog", split.procedure)
            };
            row.int("ProcNum", procedure);
            row.int("UnearnedType", split.unearned);
            row.date("DateEntry", Some(split.date));
            row.zeros(&[
                "PayPlanNum",
                "ClinicNum",
                "FSplitNum",
                "AdjNum",
                "PayPlanChargeNum",
            ]);
            row.flag("PayPlanDebitType", false);
            row.int("SecUserNumEntry", user(local));
            row.stamp("SecDateTEdit", edit(split.date));
        }
        "adjustment" => {
            let adj = &rows.adjustments[local];
            row.int("AdjNum", key("adjustment", local as u32));
            row.date("AdjDate", Some(adj.date));
            row.money("AdjAmt", adj.amount);
            row.int("PatNum", key("patient", adj.patient));
            row.int("AdjType", adj.adj_type);
            row.int("ProvNum", adj.prov as i64);
            row.text("AdjNote", "");
            row.date("ProcDate", Some(adj.proc_date));
            row.int("ProcNum", key("procedurelog", adj.procedure));
            row.date("DateEntry", Some(adj.date));
            row.zeros(&["ClinicNum", "StatementNum", "TaxTransID"]);
            row.int("SecUserNumEntry", user(local));
            row.stamp("SecDateTEdit", edit(adj.date));
        }
        "recall" => {
            let recall = &rows.recalls[local];
            row.int("RecallNum", key("recall", local as u32));
            row.int("PatNum", key("patient", recall.patient));
            row.date("DateDueCalc", Some(recall.due));
            row.date("DateDue", Some(recall.due));
            row.date("DatePrevious", recall.previous);
            row.int("RecallInterval", recall.interval);
            row.int("RecallStatus", 0);
            row.text("Note", "");
            row.flag("IsDisabled", false);
            row.stamp(
                "DateTStamp",
                edit(recall.previous.unwrap_or(clock.start).max(clock.start)),
            );
            row.int("RecallTypeNum", recall.recall_type as i64);
            row.money("DisableUntilBalance", 0);
            row.date("DisableUntilDate", None);
            row.date("DateScheduled", recall.scheduled);
            row.flag("Priority", false);
            row.text("TimePatternOverride", "");
        }
        _ => {}
    }
}

/// The appointment columns shared by `appointment` and `histappointment`.
fn appointment_columns(
    practice: &Practice,
    family: usize,
    rows: &FamilyRows,
    apt: &super::family::Appointment,
    row: &mut Row,
) {
    row.int("PatNum", practice.key("patient", family, apt.patient));
    row.text("Pattern", &apt.pattern);
    row.int("Confirmed", apt.confirmed);
    row.flag("TimeLocked", false);
    row.int("Op", apt.op as i64);
    row.int("ProvNum", apt.prov as i64);
    row.int("ProvHyg", apt.hygienist.map(|h| h as i64).unwrap_or(0));
    row.stamp("AptDateTime", apt.when);
    row.zeros(&[
        "NextAptNum",
        "UnschedStatus",
        "Assistant",
        "ClinicNum",
        "InsPlan2",
        "ColorOverride",
    ]);
    row.flag("IsNewPatient", apt.new_patient);
    row.flag("IsHygiene", apt.hygienist.is_some());
    let plan = rows
        .patplans
        .iter()
        .find(|p| p.patient == apt.patient && p.ordinal == 1)
        .map(|p| rows.inssubs[p.inssub as usize].plan as i64)
        .unwrap_or(0);
    row.int("InsPlan1", plan);
    row.int("AppointmentTypeNum", apt.apt_type);
    row.text("ProvBarText", "");
    row.flag("Priority", false);
}

/// Fills a claimpayment row: check `index` of the practice (one plan, one payment run).
pub fn build_check(practice: &Practice, index: usize, row: &mut Row) {
    let ((date, plan), amount) = practice.checks[index];
    let setup = &practice.setup;
    let carrier = setup.carrier_of(plan);
    let mut rng = StreamKey::new(practice.seed, "opendental", "check").stream(index as u64);
    row.int("ClaimPaymentNum", index as i64 + 1);
    row.date("CheckDate", Some(date));
    // Check numbers are unique (the contract warns on repeats); the profile's share of checks
    // without a number (the generic value '') keeps none.
    if !matches!(row.get("CheckNum"), Some(Value::Text(t)) if t.is_empty()) {
        row.text("CheckNum", &format!("{}", 100_000 + index));
    }
    row.money("CheckAmt", amount);
    row.text("Note", "");
    row.zeros(&["ClinicNum", "DepositNum"]);
    row.text("CarrierName", &carrier_name(carrier));
    row.flag("IsPartial", false);
    row.int("PayType", setup.ins_pay_type_mix.pick(&mut rng).unwrap_or(261));
    let issued = super::setup::days(&setup.behaviour.check_issue, &mut rng);
    row.date("DateIssued", Some(date - Duration::days(issued)));
    row.int(
        "SecUserNumEntry",
        (index % setup.users.max(1) as usize) as i64 + 1,
    );
    row.date("SecDateEntry", Some(date));
    row.stamp("SecDateTEdit", at(date.min(setup.clock.end), 17));
}

fn clock_time(minutes: u32) -> Value {
    let minutes = minutes.min(23 * 60 + 59);
    Value::Time(NaiveTime::from_hms_opt(minutes / 60, minutes % 60, 0).unwrap_or(NaiveTime::MIN))
}

/// Fills a schedule row: provider schedule `index` of the practice (SchedType 1).
pub fn build_schedule(practice: &Practice, index: usize, row: &mut Row) {
    let day = &practice.calendar.days[index];
    let setup = &practice.setup;
    row.int("ScheduleNum", index as i64 + 1);
    row.date("SchedDate", Some(day.date));
    row.set("StartTime", clock_time(day.start));
    row.set("StopTime", clock_time(day.stop));
    row.int("SchedType", 1);
    row.int("ProvNum", day.prov as i64);
    row.zeros(&["BlockoutType", "EmployeeNum", "ClinicNum", "Status"]);
    row.text("Note", "");
    // Provider schedules are set up ahead: entered the profile's schedule entry lead before the
    // day (never before the history starts or after the generator's yesterday).
    let mut rng = StreamKey::new(practice.seed, "opendental", "schedule-entry").stream(index as u64);
    let ahead = super::setup::days(&setup.behaviour.schedule_entry, &mut rng);
    let stamp = (day.date - Duration::days(ahead))
        .max(setup.clock.start)
        .min(setup.clock.end);
    row.stamp("DateTStamp", at(stamp, 12));
}

/// Fills a scheduleop row: one operatory of a provider schedule.
pub fn build_schedule_op(practice: &Practice, index: usize, row: &mut Row) {
    let (schedule, op) = practice.calendar.schedule_ops[index];
    row.int("ScheduleOpNum", index as i64 + 1);
    row.int("ScheduleNum", schedule as i64 + 1);
    row.int("OperatoryNum", op as i64);
}

/// Fills an insverify row: verification `index` of the practice verifies a patient plan (type 2)
/// or an insurance plan (type 1) that exists.
pub fn build_verification(practice: &Practice, index: usize, row: &mut Row) {
    let verify_type = row.int_value("VerifyType").unwrap_or(0);
    row.int("FKey", practice.verified(index as u64, verify_type));
}

/// Fills a provider row: provider `index + 1`. Hygienists are secondary providers (OpenDental's
/// IsSecondary); a provider who sees patients is not hidden and has the General or Hygienist
/// specialty (definition category 35) when the profile defines them.
pub fn build_provider(practice: &Practice, index: usize, row: &mut Row) {
    let setup = &practice.setup;
    let num = index as u32 + 1;
    let dentist = setup.dentists.contains(&num);
    let hygienist = setup.hygienists.contains(&num);
    row.flag("IsSecondary", hygienist && !dentist);
    // OpenDental's short label (on the schedule and in reports) and the credentials.
    let credential = credential(setup, num);
    row.text("Abbr", &format!("{}{num}", credential.unwrap_or("PROV")));
    row.text("Suffix", credential.unwrap_or(""));
    if dentist || hygienist {
        row.flag("IsHidden", false);
        let specialty = if dentist {
            setup.specialties.0
        } else {
            setup.specialties.1
        };
        if let Some(specialty) = specialty {
            row.int("Specialty", specialty);
        }
    }
}

/// Fills user `index` (UserNum `index + 1`): a provider's or a staff member's login, never both.
/// Logins go to providers and staff in proportion to their numbers, each at most one, providers
/// and staff in key order (dentists come first); users beyond both are shared logins with
/// neither. A login of a provider who sees patients is not hidden.
pub fn build_user(practice: &Practice, index: usize, row: &mut Row) {
    let setup = &practice.setup;
    let (providers, staff) = (setup.providers as u64, setup.employees as u64);
    let i = index as u64;
    let (prov, employee) = if i >= providers + staff {
        (0, 0)
    } else {
        // Provider logins among users 0..=i.
        let through = (i + 1) * providers / (providers + staff);
        if through > i * providers / (providers + staff) {
            (through, 0)
        } else {
            (0, i + 1 - through)
        }
    };
    row.int("ProvNum", prov as i64);
    row.int("EmployeeNum", employee as i64);
    // A unique login name: the provider's abbreviation (as `build_provider` writes it), the
    // staff member's number, or the user's.
    let credential = credential(setup, prov as u32);
    let name = if prov > 0 {
        format!("{}{prov}", credential.unwrap_or("PROV").to_lowercase())
    } else if employee > 0 {
        format!("staff{employee}")
    } else {
        format!("user{}", i + 1)
    };
    row.text("UserName", &name);
    if prov > 0 && credential.is_some() {
        row.flag("IsHidden", false);
    }
}

/// The credential of provider `num` if it sees patients: DDS (a dentist) or RDH (a hygienist).
fn credential(setup: &Setup, num: u32) -> Option<&'static str> {
    if setup.dentists.contains(&num) {
        Some("DDS")
    } else if setup.hygienists.contains(&num) {
        Some("RDH")
    } else {
        None
    }
}

/// Fills carrier `index` (CarrierNum `index + 1`): the name the checks carry
/// ([`carrier_name`]); a carrier whose plans the simulation bills is not hidden.
pub fn build_carrier(practice: &Practice, index: usize, row: &mut Row) {
    let num = index as u32 + 1;
    row.text("CarrierName", &carrier_name(num));
    if practice.setup.plans.iter().any(|p| p.carrier == num) {
        row.flag("IsHidden", false);
    }
}

/// Fills employee `index` (EmployeeNum `index + 1`): the first reports to nobody, every other
/// one to an employee before it (the generic key, folded), so the chart has no cycle.
pub fn build_employee(index: usize, row: &mut Row) {
    let boss = match (index as i64, row.int_value("ReportsTo")) {
        (0, _) | (_, None) => 0,
        (_, Some(0)) => 0,
        (i, Some(key)) => (key - 1).rem_euclid(i) + 1,
    };
    row.int("ReportsTo", boss);
}

/// Fills benefit `index`: a template benefit (PatPlanNum 0) of one insurance plan, the rows spread
/// over the plans in consecutive blocks. A benefit names a coverage category or a code, never
/// both (semantics §5.2). A coinsurance benefit (BenefitType 1) states the percentage the
/// simulation pays: its category's (one category after another through the plan's block) or its
/// code's; other benefits leave Percent unused (-1).
pub fn build_benefit(practice: &Practice, index: usize, row: &mut Row) {
    let setup = &practice.setup;
    let plans = setup.plans.len().max(1) as u64;
    let rows = setup.benefits.max(1);
    let i = index as u64;
    let plan = super::paperwork::spread(i, rows, plans as usize) as u64;
    row.int("PlanNum", plan as i64 + 1);
    row.int("PatPlanNum", 0);
    let by_category = row.int_value("CovCatNum").is_some_and(|c| c != 0);
    if by_category {
        row.int("CodeNum", 0);
        row.int("CodeGroupNum", 0);
    }
    if row.int_value("BenefitType") != Some(1) {
        row.int("Percent", -1);
        return;
    }
    row.int("MonetaryAmt", -1);
    if by_category && !setup.coverage.is_empty() {
        let first = (plan * rows).div_ceil(plans);
        let (category, percent) = setup.coverage[((i - first) as usize) % setup.coverage.len()];
        row.int("CovCatNum", category);
        row.int("Percent", percent);
    } else {
        let code = row.int_value("CodeNum").unwrap_or(0);
        row.int("Percent", setup.percent(code.max(0) as u32));
    }
}

/// Fills an operatory row: chair `index + 1`, as the practice's calendar uses it.
pub fn build_operatory(practice: &Practice, index: usize, row: &mut Row) {
    let Some(chair) = practice.chair_use.get(index).filter(|c| c.seated > 0) else {
        return;
    };
    row.flag("IsHidden", false);
    row.flag("IsHygiene", chair.hygiene * 2 > chair.seated);
    row.int("ProvDentist", chair.dentist.map_or(0, |p| p as i64));
    row.int("ProvHygienist", chair.hygienist.map_or(0, |p| p as i64));
}

/// Where a procedure is charted: a tooth (1-32) for restorative, endodontic, prosthodontic and
/// surgical codes, the surfaces a filling code names (D2140 one surface ... D2161 four or more;
/// D2330-D2335 and D2391-D2394 likewise), a quadrant for quadrant scaling (D4341, D4342); nothing
/// for exams, radiographs, cleanings and other whole-mouth codes (OpenDental's ToothNum and Surf).
fn tooth_and_surface(code: &str, key: u64) -> (String, String) {
    let number: u32 = code.get(1..).and_then(|n| n.parse().ok()).unwrap_or(0);
    if !code.starts_with('D') {
        return (String::new(), String::new());
    }
    let spread = key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 33;
    if matches!(number, 4341 | 4342) {
        let quadrant = ["UR", "UL", "LL", "LR"][(spread % 4) as usize];
        return (String::new(), quadrant.to_string());
    }
    let toothed =
        (2000..4000).contains(&number) || (6000..7000).contains(&number) || (7100..7300).contains(&number);
    if !toothed {
        return (String::new(), String::new());
    }
    let surfaces = match number {
        2140 | 2330 | 2391 => 1,
        2150 | 2331 | 2392 => 2,
        2160 | 2332 | 2393 => 3,
        2161 | 2335 | 2394 => 4,
        _ => 0,
    };
    // Anterior composites (D2330-D2335) on front teeth, the rest anywhere.
    let tooth = if (2330..=2335).contains(&number) {
        6 + spread % 6 + if (spread / 6).is_multiple_of(2) { 0 } else { 16 }
    } else {
        1 + spread % 32
    };
    let letters = if (2330..=2335).contains(&number) {
        ['M', 'I', 'D', 'F', 'L']
    } else {
        ['M', 'O', 'D', 'B', 'L']
    };
    let start = (spread / 32) as usize % letters.len();
    let surface: String = (0..surfaces)
        .map(|i| letters[(start + i) % letters.len()])
        .collect();
    (tooth.to_string(), surface)
}

/// Where referrals come from when no patient referred: marketing sources, by name.
const REFERRAL_SOURCES: [&str; 6] = [
    "Website",
    "Search engine",
    "Insurance directory",
    "Online reviews",
    "Community event",
    "Drive-by signage",
];

/// Fills referral `index`: a patient who refers others (PatNum > 0: a person, no doctor), else
/// alternately a referring specialist (a doctor of one of the practice's specialties other than
/// general dentistry and hygiene, DDS) and a marketing source that is no person. Every source has a
/// ten-digit fictional phone (555-01xx) and, when the practice has ZIP codes, a local ZIP and state.
pub fn build_referral(setup: &Setup, index: usize, row: &mut Row) {
    let patient = row.int_value("PatNum").is_some_and(|k| k > 0);
    let doctor = !patient && index.is_multiple_of(2) && !setup.referral_specialties.is_empty();
    row.flag("IsDoctor", doctor);
    row.flag("NotPerson", !patient && !doctor);
    row.flag("UsingTIN", false);
    row.text("SSN", "");
    if doctor {
        let specialties = &setup.referral_specialties;
        row.int("Specialty", specialties[(index / 2) % specialties.len()]);
        row.text("Title", "DDS");
    } else {
        row.int("Specialty", 0);
        row.text("Title", "");
        row.text("BusinessName", "");
    }
    if !patient && !doctor {
        row.text("LName", REFERRAL_SOURCES[(index / 2) % REFERRAL_SOURCES.len()]);
        for column in ["FName", "MName"] {
            row.text(column, "");
        }
    }
    row.text("Telephone", &format!("503555{:04}", 100 + index % 100));
    if let Some([zip, city, state]) = setup.place(index as u64) {
        row.text("Zip", zip);
        row.text("City", city);
        row.text("ST", state);
    }
}

/// Fills employer `index`: a local business (one of the practice's ZIP codes, a fictional phone).
pub fn build_employer(setup: &Setup, index: usize, row: &mut Row) {
    if let Some([zip, city, state]) = setup.place(index as u64 + 7) {
        row.text("Zip", zip);
        row.text("City", city);
        row.text("State", state);
    }
    row.text("Phone", &format!("(503) 555-{:04}", 100 + index % 100));
}

/// The sheet definition (SheetDefNum) of field definition `index`: the fields come in consecutive
/// blocks, one per sheet definition of the profile's reference rows in key order, as evenly as the
/// count allows; `None` when the profile has no sheet definitions to follow.
pub fn field_def_sheet(setup: &Setup, index: usize) -> Option<i64> {
    field_def_place(setup, index).map(|(def, _)| def)
}

/// (the field's SheetDefNum, its place within that definition's block): the fields spread over
/// the definitions in order ([`super::paperwork::spread`]).
fn field_def_place(setup: &Setup, index: usize) -> Option<(i64, usize)> {
    let (defs, rows) = (setup.sheet_types.len(), setup.field_defs);
    if defs == 0 || index as u64 >= rows {
        return None;
    }
    let position = super::paperwork::spread(index as u64, rows, defs);
    // The block of definition k starts at ceil(k x rows / defs).
    let start = (position as u64 * rows).div_ceil(defs as u64) as usize;
    let def = *setup.sheet_types.keys().nth(position)?;
    Some((def, index - start))
}

/// Fills field definition `index`: on its sheet definition ([`field_def_sheet`]), in tab order,
/// laid out down the page in two columns.
pub fn build_field_def(setup: &Setup, index: usize, row: &mut Row) {
    let Some((def, place)) = field_def_place(setup, index) else {
        return;
    };
    row.int("SheetDefNum", def);
    row.int("TabOrder", place as i64);
    row.int("XPos", 50 + (place % 2) as i64 * 400);
    row.int("YPos", 60 + (place / 2) as i64 * 10);
}

#[cfg(test)]
mod tests {
    use super::tooth_and_surface;

    #[test]
    fn procedures_are_charted_where_their_code_says() {
        for key in 1..200u64 {
            let (tooth, surface) = tooth_and_surface("D2393", key);
            let n: u32 = tooth.parse().unwrap();
            assert!((1..=32).contains(&n));
            assert_eq!(surface.len(), 3);
            assert!(surface.chars().all(|c| "MODBL".contains(c)));
            let (tooth, surface) = tooth_and_surface("D2330", key);
            let n: u32 = tooth.parse().unwrap();
            assert!((6..=11).contains(&n) || (22..=27).contains(&n), "{n}");
            assert_eq!(surface.len(), 1);
            assert_eq!(tooth_and_surface("D1110", key), (String::new(), String::new()));
            let (tooth, quadrant) = tooth_and_surface("D4341", key);
            assert!(tooth.is_empty() && ["UR", "UL", "LL", "LR"].contains(&quadrant.as_str()));
            let (tooth, surface) = tooth_and_surface("D2740", key);
            assert!(!tooth.is_empty() && surface.is_empty());
        }
    }
}
