//! Chair capacity and provider schedules: the practice's days, over all families.
//!
//! Families are simulated independently, so the time and operatory a family asks for can collide
//! with another family's. After the last counting pass every appointment that occupies a chair
//! (statuses 1 scheduled, 2 complete, 4 ASAP and 5 broken; unscheduled-list and planned ones have
//! no place on the schedule) is seated, day by day in order of its requested start: in the chair
//! its provider used last that day when that chair is free, else in the lowest-numbered free one.
//! When no chair is free, or the hygienist is still with an earlier patient, the appointment moves
//! to the first minute both are free (the same day). The result is a [`Chair`] per appointment
//! (operatory and start minute), which the family simulation applies before it derives arrival,
//! history and other stamps from the time, and one provider schedule ([`ProviderDay`], SchedType 1)
//! per provider and day with patients, covering the practice's opening hours and every appointment
//! of that provider, with the chairs it used (scheduleop).
//!
//! Invariants: no two chair-occupying appointments overlap in an operatory; a hygienist's
//! appointments never overlap; every chair-occupying appointment lies inside a schedule of its
//! provider (and of its hygienist) whose scheduleop rows include its operatory.

use std::collections::BTreeMap;

use chrono::NaiveDate;

/// What a family asked for: one appointment.
#[derive(Debug, Clone, Copy)]
pub struct Booking {
    pub date: NaiveDate,
    /// Requested start, minutes after midnight.
    pub start: u32,
    /// Length in minutes (the pattern's 5-minute slots).
    pub length: u32,
    pub prov: u32,
    pub hygienist: Option<u32>,
    /// Whether it holds a chair (statuses 1, 2, 4, 5).
    pub seated: bool,
}

/// Where and when an appointment takes place.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Chair {
    /// OperatoryNum (1-based).
    pub op: u32,
    /// Start, minutes after midnight.
    pub start: u32,
}

/// A provider's working day (schedule row of SchedType 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderDay {
    pub date: NaiveDate,
    pub prov: u32,
    /// Minutes after midnight.
    pub start: u32,
    pub stop: u32,
    /// The operatories it worked in, ascending.
    pub ops: Vec<u32>,
}

/// How the practice uses one chair: appointments seated in it, how many of them were hygiene
/// visits, and the dentist and the hygienist seen in it most (ties to the lower key).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChairUse {
    pub seated: u32,
    pub hygiene: u32,
    pub dentist: Option<u32>,
    pub hygienist: Option<u32>,
}

/// The use of chairs 1..=`operatories` by the seated bookings (`chairs` in booking order).
pub fn usage(bookings: &[Booking], chairs: &[Chair], operatories: u32) -> Vec<ChairUse> {
    let n = operatories as usize;
    let mut uses = vec![ChairUse::default(); n];
    let mut dentists = vec![std::collections::BTreeMap::<u32, u32>::new(); n];
    let mut hygienists = vec![std::collections::BTreeMap::<u32, u32>::new(); n];
    for (booking, chair) in bookings.iter().zip(chairs) {
        if !booking.seated || chair.op == 0 || chair.op as usize > n {
            continue;
        }
        let i = chair.op as usize - 1;
        uses[i].seated += 1;
        *dentists[i].entry(booking.prov).or_default() += 1;
        if let Some(h) = booking.hygienist {
            uses[i].hygiene += 1;
            *hygienists[i].entry(h).or_default() += 1;
        }
    }
    let most = |counts: &std::collections::BTreeMap<u32, u32>| {
        counts
            .iter()
            .max_by_key(|(key, count)| (**count, std::cmp::Reverse(**key)))
            .map(|(key, _)| *key)
    };
    for (i, chair) in uses.iter_mut().enumerate() {
        chair.dentist = most(&dentists[i]);
        chair.hygienist = most(&hygienists[i]);
    }
    uses
}

/// The seating of every appointment and the provider schedules that follow.
#[derive(Debug, Default)]
pub struct Calendar {
    /// One per appointment, in the order of the bookings.
    pub chairs: Vec<Chair>,
    /// Ordered by (date, provider).
    pub days: Vec<ProviderDay>,
    /// scheduleop rows: (index into `days`, operatory), in order.
    pub schedule_ops: Vec<(u32, u32)>,
    /// Appointments moved from their requested time for want of a chair or a hygienist.
    pub moved: u64,
}

/// Rounds minutes up to a multiple of `step`.
fn ceil_to(minutes: u32, step: u32) -> u32 {
    minutes.div_ceil(step) * step
}

/// Seats `bookings` in `operatories` chairs; the practice is open from `open` to `close` (minutes
/// after midnight), which every provider schedule covers.
pub fn seat(bookings: &[Booking], operatories: u32, open: u32, close: u32) -> Calendar {
    let operatories = operatories.max(1) as usize;
    let mut order: Vec<usize> = (0..bookings.len()).collect();
    order.sort_by_key(|&i| (bookings[i].date, bookings[i].start, i));
    let mut chairs = vec![Chair::default(); bookings.len()];
    let mut moved = 0;
    // Per provider and day: (start, stop, chairs).
    let mut days: BTreeMap<(NaiveDate, u32), (u32, u32, Vec<u32>)> = BTreeMap::new();
    let mut day = None;
    let mut free = vec![0u32; operatories];
    let mut hygienist_free: BTreeMap<u32, u32> = BTreeMap::new();
    let mut last_chair: BTreeMap<u32, usize> = BTreeMap::new();
    for i in order {
        let b = &bookings[i];
        if day != Some(b.date) {
            day = Some(b.date);
            free.iter_mut().for_each(|f| *f = 0);
            hygienist_free.clear();
            last_chair.clear();
        }
        let lead = b.hygienist.unwrap_or(b.prov);
        if !b.seated {
            // No place on the schedule: the chair its provider would use, at the asked time.
            let op = last_chair.get(&lead).copied().unwrap_or(0);
            chairs[i] = Chair {
                op: op as u32 + 1,
                start: b.start,
            };
            continue;
        }
        let busy_until = b
            .hygienist
            .and_then(|h| hygienist_free.get(&h).copied())
            .unwrap_or(0);
        let earliest = free.iter().copied().min().unwrap_or(0);
        let mut start = b.start.max(busy_until).max(earliest);
        if start != b.start {
            // Appointments start on a 5-minute slot of the pattern.
            start = ceil_to(start, 5);
            moved += 1;
        }
        let op = match last_chair.get(&lead) {
            Some(&op) if free[op] <= start => op,
            _ => free
                .iter()
                .position(|f| *f <= start)
                .expect("a chair is free at start"),
        };
        let end = start + b.length.max(5);
        free[op] = end;
        last_chair.insert(lead, op);
        if let Some(h) = b.hygienist {
            hygienist_free.insert(h, end);
        }
        chairs[i] = Chair {
            op: op as u32 + 1,
            start,
        };
        let mut providers = vec![b.prov];
        if let Some(h) = b.hygienist.filter(|h| *h != b.prov) {
            providers.push(h);
        }
        for prov in providers {
            let entry = days.entry((b.date, prov)).or_insert((open, close, Vec::new()));
            entry.0 = entry.0.min(start - start % 60);
            entry.1 = entry.1.max(ceil_to(end, 60));
            if !entry.2.contains(&(op as u32 + 1)) {
                entry.2.push(op as u32 + 1);
            }
        }
    }
    let mut calendar = Calendar {
        chairs,
        moved,
        ..Calendar::default()
    };
    for ((date, prov), (start, stop, mut ops)) in days {
        ops.sort_unstable();
        let index = calendar.days.len() as u32;
        calendar.schedule_ops.extend(ops.iter().map(|op| (index, *op)));
        calendar.days.push(ProviderDay {
            date,
            prov,
            start,
            stop,
            ops,
        });
    }
    calendar
}

#[cfg(test)]
mod tests {
    use super::*;

    fn booking(start: u32, length: u32, prov: u32, hygienist: Option<u32>) -> Booking {
        Booking {
            date: NaiveDate::from_ymd_opt(2025, 3, 4).unwrap(),
            start,
            length,
            prov,
            hygienist,
            seated: true,
        }
    }

    fn overlaps(bookings: &[Booking], calendar: &Calendar) -> usize {
        let mut count = 0;
        for (i, a) in bookings.iter().enumerate() {
            for (j, b) in bookings.iter().enumerate().skip(i + 1) {
                let (ca, cb) = (calendar.chairs[i], calendar.chairs[j]);
                let apart = ca.start + a.length <= cb.start || cb.start + b.length <= ca.start;
                let same_chair = ca.op == cb.op;
                let same_hygienist = a.hygienist.is_some() && a.hygienist == b.hygienist;
                if a.seated && b.seated && a.date == b.date && !apart && (same_chair || same_hygienist) {
                    count += 1;
                }
            }
        }
        count
    }

    #[test]
    fn more_patients_than_chairs_wait_for_one() {
        // Three dentist appointments at 9:00 in two chairs: the third moves to 10:00.
        let bookings = [
            booking(540, 60, 1, None),
            booking(540, 60, 2, None),
            booking(540, 30, 1, None),
        ];
        let calendar = seat(&bookings, 2, 480, 1020);
        assert_eq!(calendar.chairs[0], Chair { op: 1, start: 540 });
        assert_eq!(calendar.chairs[1], Chair { op: 2, start: 540 });
        assert_eq!(calendar.chairs[2], Chair { op: 1, start: 600 });
        assert_eq!(calendar.moved, 1);
        assert_eq!(overlaps(&bookings, &calendar), 0);
    }

    #[test]
    fn a_hygienist_sees_one_patient_at_a_time() {
        let bookings = [
            booking(540, 50, 1, Some(7)),
            booking(560, 40, 2, Some(7)),
            booking(560, 40, 2, Some(8)),
        ];
        let calendar = seat(&bookings, 5, 480, 1020);
        assert_eq!(calendar.chairs[1].start, 590);
        assert_eq!(calendar.chairs[2].start, 560);
        assert_eq!(overlaps(&bookings, &calendar), 0);
        // Provider 1 (dentist of the first) and hygienists 7 and 8, provider 2: four schedules.
        let provs: Vec<u32> = calendar.days.iter().map(|d| d.prov).collect();
        assert_eq!(provs, vec![1, 2, 7, 8]);
    }

    #[test]
    fn schedules_cover_every_appointment_and_its_chair() {
        let mut bookings = Vec::new();
        for i in 0..60u32 {
            let hygienist = (i % 3 == 0).then_some(10 + i % 2);
            bookings.push(booking(
                480 + (i * 37) % 540,
                30 + (i % 4) * 15,
                1 + i % 3,
                hygienist,
            ));
        }
        bookings[5].seated = false;
        let calendar = seat(&bookings, 4, 480, 1020);
        assert_eq!(overlaps(&bookings, &calendar), 0);
        for (b, c) in bookings.iter().zip(&calendar.chairs).filter(|(b, _)| b.seated) {
            for prov in [Some(b.prov), b.hygienist].into_iter().flatten() {
                let day = calendar
                    .days
                    .iter()
                    .find(|d| d.date == b.date && d.prov == prov)
                    .expect("a schedule");
                assert!(day.start <= c.start && c.start + b.length <= day.stop);
                assert!(day.ops.contains(&c.op));
            }
        }
        let ops: usize = calendar.days.iter().map(|d| d.ops.len()).sum();
        assert_eq!(calendar.schedule_ops.len(), ops);
    }

    #[test]
    fn chair_use_names_who_works_there() {
        // Dentist 1 alone, then hygienist 9 with dentist 2 twice, at the same time: two chairs.
        let bookings = vec![
            booking(480, 60, 1, None),
            booking(600, 60, 2, Some(9)),
            booking(600, 60, 2, Some(8)),
            Booking {
                seated: false,
                ..booking(700, 30, 3, None)
            },
        ];
        let calendar = seat(&bookings, 3, 480, 1020);
        let uses = usage(&bookings, &calendar.chairs, 3);
        assert_eq!(uses.iter().map(|u| u.seated).sum::<u32>(), 3);
        assert_eq!(uses.iter().map(|u| u.hygiene).sum::<u32>(), 2);
        let first = &uses[calendar.chairs[0].op as usize - 1];
        assert!(first.dentist.is_some());
        // An unused chair names nobody.
        assert_eq!(uses[2], ChairUse::default());
    }
}
