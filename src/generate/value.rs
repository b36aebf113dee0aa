//! Values and their encodings: PostgreSQL COPY text format and CSV.

use std::fmt::Write as _;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

/// One generated value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    /// A number already rounded to `scale` decimals.
    Decimal(f64, u32),
    Bool(bool),
    Text(String),
    Date(NaiveDate),
    Timestamp(NaiveDateTime),
    Time(NaiveTime),
    /// Text passed through as is (reference rows, literal defaults).
    Raw(String),
}

impl Value {
    fn render(&self, out: &mut String) -> bool {
        match self {
            Value::Null => return false,
            Value::Int(v) => {
                let _ = write!(out, "{v}");
            }
            Value::Decimal(v, scale) => {
                let _ = write!(out, "{:.*}", *scale as usize, v);
            }
            Value::Bool(v) => out.push_str(if *v { "t" } else { "f" }),
            Value::Text(text) | Value::Raw(text) => out.push_str(text),
            Value::Date(date) => {
                let _ = write!(out, "{}", date.format("%Y-%m-%d"));
            }
            Value::Timestamp(stamp) => {
                let _ = write!(out, "{}", stamp.format("%Y-%m-%d %H:%M:%S"));
            }
            Value::Time(time) => {
                let _ = write!(out, "{}", time.format("%H:%M:%S"));
            }
        }
        true
    }
}

/// Appends one row in COPY text format (tab-separated, `\N` for NULL, backslash escapes).
pub fn push_copy_row(out: &mut String, row: &[Value]) {
    let mut scratch = String::new();
    for (index, value) in row.iter().enumerate() {
        if index > 0 {
            out.push('\t');
        }
        scratch.clear();
        if !value.render(&mut scratch) {
            out.push_str("\\N");
            continue;
        }
        for character in scratch.chars() {
            match character {
                '\\' => out.push_str("\\\\"),
                '\t' => out.push_str("\\t"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                other => out.push(other),
            }
        }
    }
    out.push('\n');
}

/// Appends one row as CSV (PostgreSQL's CSV dialect: unquoted empty field = NULL, quoted "" = empty).
pub fn push_csv_row(out: &mut String, row: &[Value]) {
    let mut scratch = String::new();
    for (index, value) in row.iter().enumerate() {
        if index > 0 {
            out.push(',');
        }
        scratch.clear();
        if !value.render(&mut scratch) {
            continue;
        }
        let needs_quotes = scratch.is_empty()
            || scratch.contains([',', '"', '\n', '\r'])
            || scratch.starts_with(' ')
            || scratch.ends_with(' ');
        if needs_quotes {
            out.push('"');
            out.push_str(&scratch.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(&scratch);
        }
    }
    out.push('\n');
}

/// Appends a CSV header line.
pub fn push_csv_header(out: &mut String, columns: &[String]) {
    let row: Vec<Value> = columns.iter().map(|c| Value::Text(c.clone())).collect();
    push_csv_row(out, &row);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_and_nulls() {
        let mut out = String::new();
        push_copy_row(
            &mut out,
            &[
                Value::Int(7),
                Value::Null,
                Value::Text("a\tb\\c\nd".into()),
                Value::Bool(true),
                Value::Decimal(1.5, 2),
            ],
        );
        assert_eq!(out, "7\t\\N\ta\\tb\\\\c\\nd\tt\t1.50\n");
    }

    #[test]
    fn csv_distinguishes_null_from_empty() {
        let mut out = String::new();
        push_csv_row(
            &mut out,
            &[
                Value::Null,
                Value::Text(String::new()),
                Value::Text("O\"Hara, Jr".into()),
            ],
        );
        assert_eq!(out, ",\"\",\"O\"\"Hara, Jr\"\n");
    }
}
