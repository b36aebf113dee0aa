//! Which columns are identifying. A column counts as identifying unless proven otherwise:
//! names, addresses, phones, e-mail addresses, SSNs, identifiers and free text are identifying by
//! name; any other text column is identifying unless it turns out to be a small categorical set whose
//! every reported value is shared by at least `min_group_size` rows (decided in `stats`).

use crate::profile::ColumnKind;

/// Name fragments (lower case) that make a text, date or other non-integer column identifying.
const IDENTIFYING_FRAGMENTS: &[&str] = &[
    "name",
    "address",
    "addr",
    "city",
    "state",
    "zip",
    "postal",
    "county",
    "country",
    "phone",
    "wireless",
    "fax",
    "email",
    "ssn",
    "socsec",
    "birth",
    "chartnumber",
    "medicaid",
    "subscriberid",
    "memberid",
    "note",
    "memo",
    "comment",
    "descript",
    "text",
    "message",
    "body",
    "subject",
    "password",
    "hash",
    "secret",
    "token",
    "guid",
    "url",
    "ipaddress",
    "signature",
    "photo",
    "salutation",
    "preferred",
    "title",
    "license",
    "npi",
    "taxid",
    "dea",
    "stateid",
    "account",
    "routing",
    "card",
    "bank",
    "check",
    "gender",
    "race",
    "ethnic",
    "language",
    "occupation",
    "emergency",
    "contact",
    "guardian",
    "employer",
    "school",
    "path",
    "file",
    "lat",
    "long",
    "question",
    "answer",
    "reason",
    "diagnos",
    "allerg",
    "medic",
    "symptom",
    "complaint",
    "remarks",
    "instruct",
    "summary",
    "ssn",
    "ident",
];

/// Name fragments that make even an integer column identifying (numbers that are values, not keys).
const IDENTIFYING_NUMBER_FRAGMENTS: &[&str] = &["ssn", "socsec", "phone", "wireless", "fax", "zip", "postal"];

/// Columns whose values never leave introspect, by name and type alone.
pub(crate) fn identifying_by_name(column: &str, kind: ColumnKind) -> bool {
    let lower = column.to_ascii_lowercase();
    let fragments = match kind {
        ColumnKind::Integer | ColumnKind::Boolean => IDENTIFYING_NUMBER_FRAGMENTS,
        ColumnKind::Decimal | ColumnKind::Float => IDENTIFYING_NUMBER_FRAGMENTS,
        _ => IDENTIFYING_FRAGMENTS,
    };
    fragments.iter().any(|fragment| lower.contains(fragment))
}

/// Birth dates become an age-band histogram and nothing else.
pub(crate) fn is_birth_date(column: &str, kind: ColumnKind) -> bool {
    kind.is_temporal() && column.to_ascii_lowercase().contains("birth")
}

/// Kinds whose values are never recorded, whatever the name (free-form content).
pub(crate) fn identifying_by_kind(kind: ColumnKind) -> bool {
    matches!(
        kind,
        ColumnKind::Bytes | ColumnKind::Json | ColumnKind::Uuid | ColumnKind::Other
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_data_is_identifying() {
        for column in [
            "LName",
            "FName",
            "Address",
            "HmPhone",
            "Email",
            "SSN",
            "Birthdate",
            "PatNote",
            "ChartNumber",
        ] {
            assert!(identifying_by_name(column, ColumnKind::Text), "{column}");
        }
        assert!(identifying_by_name("SSN", ColumnKind::Integer));
        assert!(!identifying_by_name("PatNum", ColumnKind::Integer));
        assert!(!identifying_by_name("EmployerNum", ColumnKind::Integer));
        assert!(!identifying_by_name("AptStatus", ColumnKind::Integer));
        assert!(!identifying_by_name("ToothNum", ColumnKind::Text));
        assert!(is_birth_date("Birthdate", ColumnKind::Date));
        assert!(identifying_by_kind(ColumnKind::Bytes));
    }
}
