//! The registry of check kinds: one stable code and one kebab-case name per kind.
//!
//! Codes are permanent. A kind that is removed moves to `RETIRED` and its code is never given to
//! another kind (ruff's `codes.rs` discipline). Names describe the violation, not the check.

use std::fmt;

/// A check kind. The rule instances in `rules/*.toml` name one of these by code or by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    OrphanedReference,
    DatesOutOfOrder,
    LedgerImbalance,
    StatusInconsistency,
    RowCountOutOfRange,
    NullInRequiredColumn,
    DuplicateKey,
    ValueNotAccepted,
    CustomQuery,
}

/// Everything the registry knows about a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    pub kind: Kind,
    pub code: &'static str,
    pub name: &'static str,
    /// One line: what a violation means.
    pub summary: &'static str,
}

/// Every active kind, in code order.
pub const KINDS: [Entry; 9] = [
    Entry {
        kind: Kind::ValueNotAccepted,
        code: "AV001",
        name: "value-not-accepted",
        summary: "a value lies outside the accepted set, range or pattern",
    },
    Entry {
        kind: Kind::DatesOutOfOrder,
        code: "DT001",
        name: "dates-out-of-order",
        summary: "a date comes before one it must follow, or lies outside its allowed window",
    },
    Entry {
        kind: Kind::LedgerImbalance,
        code: "FB001",
        name: "ledger-imbalance",
        summary: "stored balances or aging disagree with production, collections and adjustments",
    },
    Entry {
        kind: Kind::NullInRequiredColumn,
        code: "NN001",
        name: "null-in-required-column",
        summary: "a column that must be filled holds NULL",
    },
    Entry {
        kind: Kind::OrphanedReference,
        code: "RI001",
        name: "orphaned-reference",
        summary: "a key refers to a parent row that does not exist",
    },
    Entry {
        kind: Kind::CustomQuery,
        code: "SQL001",
        name: "custom-query",
        summary: "a query written by the user returned offending rows",
    },
    Entry {
        kind: Kind::StatusInconsistency,
        code: "ST001",
        name: "status-inconsistency",
        summary: "a status disagrees with the rows that should accompany it",
    },
    Entry {
        kind: Kind::DuplicateKey,
        code: "UQ001",
        name: "duplicate-key",
        summary: "a combination of columns that must be unique appears more than once",
    },
    Entry {
        kind: Kind::RowCountOutOfRange,
        code: "VOL001",
        name: "row-count-out-of-range",
        summary: "a table (or a filtered part of it) has too few or too many rows",
    },
];

/// Codes that were once given and must never be reused.
pub const RETIRED: &[&str] = &[];

impl Kind {
    pub fn entry(self) -> &'static Entry {
        KINDS
            .iter()
            .find(|entry| entry.kind == self)
            .expect("every kind is registered")
    }

    pub fn code(self) -> &'static str {
        self.entry().code
    }

    pub fn name(self) -> &'static str {
        self.entry().name
    }

    /// Finds a kind by its code (`NN001`, any case) or its name (`null-in-required-column`).
    pub fn lookup(text: &str) -> Option<Self> {
        let text = text.trim();
        KINDS
            .iter()
            .find(|entry| entry.code.eq_ignore_ascii_case(text) || entry.name == text)
            .map(|entry| entry.kind)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{} {}", self.code(), self.name())
    }
}

/// `NN001 null-in-required-column, ...`, for messages that list the choices.
pub fn known_kinds() -> String {
    let mut entries: Vec<&Entry> = KINDS.iter().collect();
    entries.sort_by_key(|entry| entry.code);
    entries
        .iter()
        .map(|entry| format!("{} {}", entry.code, entry.name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether a `--select` item picks this kind: a code (`RI001`), a code prefix (`RI`, `DT0`), or a name.
pub fn selects(selector: &str, kind: Kind) -> bool {
    let selector = selector.trim();
    let entry = kind.entry();
    !selector.is_empty()
        && (entry.name == selector
            || entry
                .code
                .get(..selector.len())
                .is_some_and(|prefix| prefix.eq_ignore_ascii_case(selector)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_are_stable_and_unique() {
        let pairs: Vec<(&str, &str)> = KINDS.iter().map(|e| (e.code, e.name)).collect();
        assert_eq!(
            pairs,
            vec![
                ("AV001", "value-not-accepted"),
                ("DT001", "dates-out-of-order"),
                ("FB001", "ledger-imbalance"),
                ("NN001", "null-in-required-column"),
                ("RI001", "orphaned-reference"),
                ("SQL001", "custom-query"),
                ("ST001", "status-inconsistency"),
                ("UQ001", "duplicate-key"),
                ("VOL001", "row-count-out-of-range"),
            ],
            "codes are permanent: add new kinds, never rename or renumber"
        );
        let mut codes: Vec<&str> = KINDS.iter().map(|e| e.code).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), KINDS.len());
        for code in RETIRED {
            assert!(!codes.contains(code), "{code} is retired and must not be reused");
        }
    }

    #[test]
    fn lookup_by_code_or_name() {
        assert_eq!(Kind::lookup("nn001"), Some(Kind::NullInRequiredColumn));
        assert_eq!(Kind::lookup("orphaned-reference"), Some(Kind::OrphanedReference));
        assert_eq!(Kind::lookup("NN002"), None);
        for entry in KINDS {
            assert_eq!(Kind::lookup(entry.code), Some(entry.kind));
            assert_eq!(entry.kind.code(), entry.code);
        }
    }

    #[test]
    fn selectors_match_codes_prefixes_and_names() {
        assert!(selects("RI001", Kind::OrphanedReference));
        assert!(selects("ri", Kind::OrphanedReference));
        assert!(selects("ledger-imbalance", Kind::LedgerImbalance));
        assert!(!selects("RI002", Kind::OrphanedReference));
        assert!(!selects("S", Kind::OrphanedReference));
        assert!(selects("S", Kind::StatusInconsistency) && selects("S", Kind::CustomQuery));
        assert!(!selects("", Kind::CustomQuery));
    }
}
