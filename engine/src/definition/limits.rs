//! The bounds every submitted value is held to, whatever its form says, so that one request
//! cannot make the server store, compare or loop over more than a case needs. A form may ask for
//! less (`max_length`, `max_items`); where it may ask for more, only up to a hard cap that
//! `tramite check` enforces. docs/language.md ("Limits") lists them all.

use serde_json::{Map, Value};

use super::form::{Field, FieldError, FieldType};

/// Most rows of a `list` field that does not say `max_items`. Form rules and computed fields
/// loop over the rows (at most [`crate::expr::MAX_COMPREHENSION_NESTING`] loops deep), so the
/// rows bound their work.
pub const DEFAULT_MAX_ITEMS: u32 = 500;
/// The highest `max_items` a list field may declare.
pub const MAX_ITEMS_CAP: u32 = 1_000;
/// Longest one-line text (`text`, `phone`, `file`) without a `max_length` of its own.
pub const DEFAULT_TEXT_LENGTH: u32 = 1_000;
/// Longest `long_text` without a `max_length` of its own.
pub const DEFAULT_LONG_TEXT_LENGTH: u32 = 10_000;
/// Longest e-mail address (RFC 5321's path limit): `max_length` may only lower it.
pub const EMAIL_LENGTH: u32 = 254;
/// The highest `max_length` a text field may declare.
pub const MAX_LENGTH_CAP: u32 = 100_000;
/// Years a `date` or `datetime` value may fall in, inclusive.
pub const YEARS: std::ops::RangeInclusive<i16> = 1900..=2199;

impl Field {
    /// Most rows this `list` field takes.
    pub fn row_limit(&self) -> u32 {
        self.max_items.unwrap_or(DEFAULT_MAX_ITEMS)
    }

    /// Longest value, in characters, this text field takes (`None` for fields that are not text).
    pub fn length_limit(&self) -> Option<u32> {
        let default = match self.kind {
            FieldType::Email => return Some(self.max_length.map_or(EMAIL_LENGTH, |m| m.min(EMAIL_LENGTH))),
            FieldType::LongText => DEFAULT_LONG_TEXT_LENGTH,
            FieldType::Text | FieldType::Phone => DEFAULT_TEXT_LENGTH,
            _ => return None,
        };
        Some(self.max_length.unwrap_or(default))
    }
}

/// The highest `max_length` a field of this kind may declare.
pub fn max_length_cap(kind: FieldType) -> u32 {
    if kind == FieldType::Email { EMAIL_LENGTH } else { MAX_LENGTH_CAP }
}

/// Deepest nesting of lists and objects in data no form checks (as the YAML reader allows).
pub const MAX_NESTING: usize = 64;

/// Holds data that no form checks (a start without a start form, a task without a form) to the
/// caps of the fields a form could have: lists of at most [`MAX_ITEMS_CAP`] elements, texts of
/// at most [`MAX_LENGTH_CAP`] characters, nesting at most [`MAX_NESTING`] deep. Errors name the
/// value by its path (`nota.texto`, `filas[3]`).
pub fn check_free_data(data: &Map<String, Value>) -> Result<(), Vec<FieldError>> {
    let mut errors = Vec::new();
    let mut todo: Vec<(String, &Value, usize)> = data.iter().map(|(k, v)| (k.clone(), v, 1)).collect();
    todo.reverse();
    while let Some((path, value, depth)) = todo.pop() {
        if depth > MAX_NESTING {
            let message = format!("Anida más de {MAX_NESTING} niveles de listas u objetos.");
            errors.push(FieldError::new(&path, "nesting", message));
            continue;
        }
        match value {
            Value::String(s) if s.chars().count() > MAX_LENGTH_CAP as usize => {
                let message = format!("Debe tener como máximo {MAX_LENGTH_CAP} caracteres.");
                errors.push(FieldError::new(&path, "max_length", message));
            }
            Value::Array(items) if items.len() > MAX_ITEMS_CAP as usize => {
                let message = format!("Debe tener como máximo {MAX_ITEMS_CAP} elementos.");
                errors.push(FieldError::new(&path, "max_items", message));
            }
            Value::Array(items) => {
                todo.extend(items.iter().enumerate().rev().map(|(i, v)| (format!("{path}[{}]", i + 1), v, depth + 1)));
            }
            Value::Object(m) => {
                todo.extend(m.iter().rev().map(|(k, v)| (format!("{path}.{k}"), v, depth + 1)));
            }
            _ => {}
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}
