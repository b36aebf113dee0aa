//! Behaviour: how the practice works where no column or relationship statistic says it.
//!
//! The OpenDental simulation needs a few lags and shares that live between rows rather than in a
//! column: how far ahead appointments are booked, how long before a visit the reminder goes out,
//! how many patients wait for their insurance before paying, how instalments are spaced. Each is a
//! named distribution in the profile, with its provenance. `introspect` measures the ones it can
//! from aggregates (the booking lead, `appointment.AptDateTime - SecDateTEntry`, and the claim send
//! lag, `claim.DateSent - DateService`); the built-in profile's calibration authors the rest, and an
//! introspected profile takes what it lacks from the built-in one (`complete_from`). The
//! simulation reads them through `setup::Behaviours` and has no such constant of its own.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Distribution;

/// One behaviour: a distribution (days, a fraction, or a count) and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Behaviour {
    pub distribution: Distribution,
    /// Provenance: the query that measured it, or the authored source.
    pub source: String,
}

/// What a behaviour's numbers are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Days,
    Minutes,
    /// A share in [0, 1].
    Fraction,
    /// A whole number of things.
    Count,
}

/// The behaviours the simulation reads: name, unit and meaning.
pub const KNOWN: [(&str, Unit, &str); 20] = [
    (
        "claim_send_days",
        Unit::Days,
        "days from a visit (claim.DateService) to sending its claim (DateSent), and from the primary's payment to sending the secondary claim",
    ),
    (
        "hygienist_share",
        Unit::Fraction,
        "share of the providers who are hygienists (used when the profile has no mix of appointment.ProvHyg)",
    ),
    (
        "booking_lead_days",
        Unit::Days,
        "days from booking an appointment (appointment.SecDateTEntry) to its date (AptDateTime)",
    ),
    (
        "reminder_lead_days",
        Unit::Days,
        "days before a visit that its appointment or recall notice (a commlog) goes out",
    ),
    (
        "pay_after_insurance",
        Unit::Fraction,
        "share of insured patients who pay their portion only once the insurance has paid",
    ),
    (
        "statement_wait_days",
        Unit::Days,
        "days from the insurance payment to the payment of a patient who waited for it",
    ),
    (
        "instalment_interval_days",
        Unit::Days,
        "days between two instalments of a patient's payment",
    ),
    (
        "instalments_max",
        Unit::Count,
        "the most instalments a patient's payment for one visit is split into",
    ),
    (
        "transfer_fraction",
        Unit::Fraction,
        "share of a payment that an income transfer moves to other procedures",
    ),
    (
        "transfer_lag_days",
        Unit::Days,
        "days from a payment to the income transfer that reallocates part of it",
    ),
    (
        "arrival_early_minutes",
        Unit::Minutes,
        "minutes before its start that a patient arrives (appointment.DateTimeArrived)",
    ),
    (
        "check_issue_days",
        Unit::Days,
        "days from issuing an insurance check (claimpayment.DateIssued) to its date (CheckDate)",
    ),
    (
        "schedule_entry_days",
        Unit::Days,
        "days before a working day that its provider schedule is entered (schedule.DateTStamp)",
    ),
    (
        "coverage_before_days",
        Unit::Days,
        "days before the practice's history starts that a subscriber's coverage began (inssub.DateEffective)",
    ),
    (
        "prepaid_share",
        Unit::Fraction,
        "share of the visits a patient pays for who paid a deposit in advance (unearned income, moved onto the procedures by an income transfer; what is left over is a credit balance)",
    ),
    (
        "prepay_lead_days",
        Unit::Days,
        "days before the visit that a deposit is paid",
    ),
    (
        "prepay_round_dollars",
        Unit::Count,
        "a deposit is what the visit will owe, rounded up to a multiple of this many dollars",
    ),
    (
        "estimate_excess_fraction",
        Unit::Fraction,
        "how much more than their final portion a patient pays who pays before the insurance has paid (the insurance paid more than estimated), as a share of the portion: the excess stays on account as a credit",
    ),
    (
        "allowed_fee_fraction",
        Unit::Fraction,
        "an insurance plan's allowed fee as a share of the office fee, for codes the allowed-fee schedule (8286) does not list",
    ),
    (
        "discount_fraction",
        Unit::Fraction,
        "size of a discount or charge, as a share of the fee, for adjustment types whose name states no size",
    ),
];

/// The unit of a known behaviour.
pub fn unit(name: &str) -> Option<Unit> {
    KNOWN.iter().find(|(n, _, _)| *n == name).map(|(_, u, _)| *u)
}

/// The known names, for messages.
pub fn names() -> String {
    KNOWN.iter().map(|(n, _, _)| *n).collect::<Vec<_>>().join(", ")
}

/// Checks a behaviour's numbers against its unit: ordered percentiles, no negative days, fractions
/// in [0, 1], counts at least 1. Returns the problem in words.
pub fn check(name: &str, distribution: &Distribution) -> Result<(), String> {
    let Some(unit) = unit(name) else {
        return Err(format!("unknown behaviour {name} (known: {})", names()));
    };
    let points = distribution.points();
    if points.iter().any(|(_, v)| !v.is_finite()) {
        return Err(format!("behaviour {name} has a value that is not a number"));
    }
    if points.windows(2).any(|w| w[1].1 < w[0].1) {
        return Err(format!(
            "behaviour {name}: min, p01 ... p99, max must not decrease"
        ));
    }
    let (low, high) = (distribution.min, distribution.max);
    match unit {
        Unit::Days if low < 0.0 => Err(format!("behaviour {name} is in days and cannot be negative")),
        Unit::Minutes if low < 0.0 => Err(format!("behaviour {name} is in minutes and cannot be negative")),
        Unit::Fraction if low < 0.0 || high > 1.0 => {
            Err(format!("behaviour {name} is a share and must lie in [0, 1]"))
        }
        Unit::Count if low < 1.0 => Err(format!("behaviour {name} is a count of at least 1")),
        _ => Ok(()),
    }
}

/// A uniform distribution on [low, high].
pub fn uniform(low: f64, high: f64) -> Distribution {
    let at = |q: f64| low + (high - low) * q;
    Distribution::from_parts(
        low,
        high,
        at(0.5),
        [
            at(0.01),
            at(0.05),
            at(0.25),
            at(0.5),
            at(0.75),
            at(0.95),
            at(0.99),
        ],
    )
}

/// The behaviours of `profile`, each checked. Used when a profile is loaded.
pub fn check_all(behaviour: &BTreeMap<String, Behaviour>) -> Result<(), String> {
    behaviour
        .iter()
        .try_for_each(|(name, b)| check(name, &b.distribution))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_enforced() {
        assert!(check("booking_lead_days", &uniform(1.0, 90.0)).is_ok());
        assert!(check("booking_lead_days", &uniform(-1.0, 90.0)).is_err());
        assert!(check("arrival_early_minutes", &uniform(0.0, 14.0)).is_ok());
        assert!(check("arrival_early_minutes", &uniform(-5.0, 14.0)).is_err());
        assert!(check("transfer_fraction", &uniform(0.1, 0.5)).is_ok());
        assert!(check("transfer_fraction", &uniform(0.1, 1.5)).is_err());
        assert!(check("instalments_max", &uniform(0.0, 4.0)).is_err());
        let error = check("booking_lead", &uniform(1.0, 2.0)).unwrap_err();
        assert!(
            error.contains("known: ") && error.contains("booking_lead_days"),
            "{error}"
        );
        let mut backwards = uniform(1.0, 9.0);
        backwards.p50 = 0.5;
        assert!(check("booking_lead_days", &backwards).is_err());
    }

    #[test]
    fn a_uniform_distribution_has_its_quantiles_in_place() {
        let u = uniform(10.0, 50.0);
        assert_eq!(u.quantile(0.0), 10.0);
        assert_eq!(u.quantile(0.5), 30.0);
        assert_eq!(u.quantile(1.0), 50.0);
        assert!((u.quantile(0.6) - 34.0).abs() < 1e-9);
    }
}
