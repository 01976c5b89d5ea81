//! Scalars of the API: `Date`, a calendar date in ISO 8601 (`YYYY-MM-DD`).
//!
//! On input the scalar checks only the shape; whether the date exists (no 30 February) is checked by
//! [`Date::get`] with the field's name, so the error says which argument was wrong.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::NaiveDate;

use crate::error::{AppError, AppResult};

/// A calendar date, `YYYY-MM-DD`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Date {
    raw: String,
    value: Option<NaiveDate>,
}

impl Date {
    pub fn of(date: NaiveDate) -> Self {
        Self {
            raw: date.format("%Y-%m-%d").to_string(),
            value: Some(date),
        }
    }

    /// The date, or `BAD_USER_INPUT` naming `field` if no such day exists.
    pub fn get(&self, field: &str) -> AppResult<NaiveDate> {
        self.value
            .ok_or_else(|| AppError::bad_input(field, format!("{} is not a day of the calendar", self.raw)))
    }
}

fn shaped(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) if shaped(s) => Ok(Date {
                raw: s.clone(),
                value: NaiveDate::parse_from_str(s, "%Y-%m-%d").ok(),
            }),
            Value::String(s) => Err(InputValueError::custom(format!(
                "\"{s}\" is not a date in the form YYYY-MM-DD"
            ))),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.raw.clone())
    }
}
