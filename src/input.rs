//! Parsing of mutation input at the edge: text is normalised to NFC with white space collapsed, control and
//! bidirectional-override characters are refused, lengths and dates are checked, and every error names the
//! field. Everything behind this module can trust its arguments.

use chrono::{Datelike, NaiveDate, Utc};

use crate::error::{AppError, AppResult};
use crate::text;

/// Characters that can make text display differently from what it is: C0/C1 controls (tab and newline
/// included; multi-line text goes through [`long_text`]), bidirectional embeddings, overrides and isolates, and
/// zero-width characters.
fn is_forbidden(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

fn check_chars(field: &str, raw: &str, allow_newlines: bool) -> AppResult<()> {
    match raw
        .chars()
        .find(|c| is_forbidden(*c) && !(allow_newlines && (*c == '\n' || *c == '\r')))
    {
        Some(c) => Err(AppError::bad_input(
            field,
            format!("contains a forbidden character U+{:04X}", c as u32),
        )),
        None => Ok(()),
    }
}

/// A required one-line text of at most `max` characters.
pub fn text(field: &str, raw: &str, max: usize) -> AppResult<String> {
    check_chars(field, raw, false)?;
    let clean = text::clean(raw);
    if clean.is_empty() {
        return Err(AppError::bad_input(field, "must not be empty"));
    }
    if clean.chars().count() > max {
        return Err(AppError::bad_input(field, format!("at most {max} characters")));
    }
    Ok(clean)
}

/// An optional one-line text; empty means none.
pub fn opt_text(field: &str, raw: Option<&str>, max: usize) -> AppResult<Option<String>> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(s) => text(field, s, max).map(Some),
    }
}

/// A multi-line text (a citation, a reason): newlines kept, other controls refused.
pub fn long_text(field: &str, raw: &str, max: usize) -> AppResult<String> {
    check_chars(field, raw, true)?;
    let nfc = raw.trim().lines().map(text::clean).collect::<Vec<_>>().join("\n");
    if nfc.is_empty() {
        return Err(AppError::bad_input(field, "must not be empty"));
    }
    if nfc.chars().count() > max {
        return Err(AppError::bad_input(field, format!("at most {max} characters")));
    }
    Ok(nfc)
}

/// A part of a person's name: letters, spaces, hyphens and apostrophes; at most 40 characters.
pub fn name_part(field: &str, raw: &str, required: bool) -> AppResult<String> {
    check_chars(field, raw, false)?;
    let clean = text::clean(raw);
    if clean.is_empty() {
        return if required {
            Err(AppError::bad_input(field, "must not be empty"))
        } else {
            Ok(clean)
        };
    }
    if clean.chars().count() > 40 {
        return Err(AppError::bad_input(field, "at most 40 characters"));
    }
    if !clean
        .chars()
        .all(|c| c.is_alphabetic() || c == ' ' || c == '-' || c == '\'')
    {
        return Err(AppError::bad_input(
            field,
            "may hold only letters, spaces, hyphens and apostrophes",
        ));
    }
    Ok(clean)
}

/// A phone number: 8 to 15 digits, optionally with a leading `+` and spaces, dots or hyphens between.
pub fn phone(field: &str, raw: Option<&str>) -> AppResult<Option<String>> {
    let Some(raw) = raw.map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    let digits = raw.chars().filter(char::is_ascii_digit).count();
    let shape_ok = raw
        .chars()
        .enumerate()
        .all(|(i, c)| c.is_ascii_digit() || matches!(c, ' ' | '.' | '-') || (c == '+' && i == 0));
    if !shape_ok || !(8..=15).contains(&digits) {
        return Err(AppError::bad_input(field, "must be a phone number of 8 to 15 digits"));
    }
    Ok(Some(raw.chars().filter(|c| c.is_ascii_digit() || *c == '+').collect()))
}

/// A code (unit codes, card numbers): letters, digits, `-`, `_`, `/` and `.`, at most `max` characters.
pub fn code(field: &str, raw: &str, max: usize) -> AppResult<String> {
    let value = raw.trim();
    if value.is_empty() || value.chars().count() > max {
        return Err(AppError::bad_input(field, format!("1 to {max} characters")));
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/' | '.'))
    {
        return Err(AppError::bad_input(
            field,
            "may hold only letters, digits, '-', '_', '/' and '.'",
        ));
    }
    Ok(value.to_owned())
}

/// A decision number kept verbatim as written (NFC), e.g. "123/QĐ-CCB": one line, at most 50 characters, with
/// at least one digit.
pub fn decision_number(field: &str, raw: &str) -> AppResult<String> {
    let value = text(field, raw, 50)?;
    if !value.chars().any(|c| c.is_ascii_digit()) {
        return Err(AppError::bad_input(field, "must contain the decision's number"));
    }
    Ok(value)
}

/// A date that has already happened (no birth in the future), not before 1900.
pub fn past_date(field: &str, date: Option<NaiveDate>) -> AppResult<Option<NaiveDate>> {
    let Some(d) = date else { return Ok(None) };
    if d > Utc::now().date_naive() {
        return Err(AppError::bad_input(field, "must not be in the future"));
    }
    if d.year() < 1900 {
        return Err(AppError::bad_input(field, "must not be before 1900"));
    }
    Ok(Some(d))
}

/// A year in `range`.
pub fn year(field: &str, year: Option<i32>, range: std::ops::RangeInclusive<i32>) -> AppResult<Option<i32>> {
    match year {
        Some(y) if !range.contains(&y) => Err(AppError::bad_input(
            field,
            format!("must be between {} and {}", range.start(), range.end()),
        )),
        other => Ok(other),
    }
}

/// A client mutation id: opaque, one line, at most 100 characters.
pub fn client_mutation_id(raw: Option<&str>) -> AppResult<Option<String>> {
    match raw {
        None => Ok(None),
        Some(s) => {
            check_chars("input.clientMutationId", s, false)?;
            if s.is_empty() || s.chars().count() > 100 {
                return Err(AppError::bad_input("input.clientMutationId", "1 to 100 characters"));
            }
            Ok(Some(s.to_owned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_nfc_and_refuses_controls_and_bidi_overrides() {
        assert_eq!(text("f", "  Hoa\u{0300}  Bình ", 50).ok(), Some("Hoà Bình".to_owned()));
        assert!(text("f", "abc\u{202E}def", 50).is_err());
        assert!(text("f", "abc\u{0007}", 50).is_err());
        assert!(text("f", "   ", 50).is_err());
        assert!(text("f", &"a".repeat(51), 50).is_err());
    }

    #[test]
    fn names_phones_and_dates_are_checked() {
        assert!(name_part("f", "Nguyễn", true).is_ok());
        assert!(name_part("f", "Robert'); DROP", true).is_err());
        assert_eq!(
            phone("f", Some("+84 912.345-678")).ok(),
            Some(Some("+84912345678".to_owned()))
        );
        assert!(phone("f", Some("12")).is_err());
        let tomorrow = Utc::now().date_naive().succ_opt();
        assert!(past_date("f", tomorrow).is_err());
        assert!(decision_number("f", "QĐ-CCB").is_err());
        assert_eq!(decision_number("f", "123/QĐ-CCB").ok(), Some("123/QĐ-CCB".to_owned()));
    }
}
