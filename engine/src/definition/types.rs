//! Conditions checked against the forms' field types: a field compared with a constant it can
//! never equal (a yes/no field with `'si'`, a number with text, a date with a number) or with a
//! value that is not one of a choice field's options is always false, so `tramite check` says
//! so where it is written, with a hint.

use serde_saphyr::Spanned;

use super::build::ProcessBuilder;
use super::form::{Field, FieldType};
use super::load::{data_field_column, loc};
use crate::diagnostic::did_you_mean;
use crate::expr::{Constant, Expr};

impl ProcessBuilder<'_, '_> {
    /// Checks every comparison of `data.<field>` with a constant in `e` (written as `s`);
    /// false when one can never hold.
    pub(super) fn check_comparisons(&mut self, s: &Spanned<String>, e: &Expr) -> bool {
        let mut ok = true;
        for c in e.field_comparisons() {
            let Some(field) = self.form_field_of(&c.field).cloned() else { continue };
            if let Some((message, help)) = misfit(&field, &c.constant, c.membership) {
                let at = self.ctx.inside(loc(s), constant_column(&s.value, &c.constant, &c.field));
                self.ctx.err(at, message, help);
                ok = false;
            }
        }
        ok
    }
}

/// Why `field` compared with `k` can never hold, with a hint; `None` when it can.
fn misfit(field: &Field, k: &Constant, membership: bool) -> Option<(String, String)> {
    let name = &field.name;
    let kind = field.kind;
    if matches!(k, Constant::Null) {
        return None;
    }
    let fits = match (kind, k) {
        (FieldType::Boolean, Constant::Bool(_)) => true,
        (FieldType::Integer | FieldType::Decimal, Constant::Number(_)) => true,
        (FieldType::List, _) => true,
        (FieldType::Choice | FieldType::MultiChoice, Constant::Text(t)) => {
            if kind == FieldType::MultiChoice && !membership {
                let message = format!("`data.{name}` is a list of chosen options, compared with {k}");
                return Some((message, format!("write `{k} in data.{name}` to ask whether it was chosen")));
            }
            if field.options.iter().any(|(o, _)| o == t) {
                return None;
            }
            let options: Vec<&str> = field.options.iter().map(|(o, _)| o.as_str()).collect();
            let help = match did_you_mean(t, options.iter().copied()) {
                Some(best) => format!("did you mean `'{best}'`?"),
                None => format!("its options: {}", options.join(", ")),
            };
            return Some((format!("{k} is not an option of `data.{name}`"), help));
        }
        (FieldType::Date | FieldType::DateTime, Constant::Text(_)) => true,
        (FieldType::Text | FieldType::LongText | FieldType::Email | FieldType::Phone, Constant::Text(_)) => true,
        _ => false,
    };
    if fits {
        return None;
    }
    let help = match kind {
        FieldType::Boolean => format!("a yes/no field is `true` or `false`: write `data.{name}` or `!data.{name}`"),
        FieldType::Integer | FieldType::Decimal => {
            format!("compare `data.{name}` with a number, e.g. `data.{name} >= 3`")
        }
        FieldType::Date => format!("compare `data.{name}` with a date as text, e.g. `data.{name} >= '2026-01-01'`"),
        FieldType::DateTime => {
            format!("compare `data.{name}` with a date-time as text, e.g. `data.{name} >= '2026-01-01T09:00'`")
        }
        FieldType::File => {
            format!("a file is an object: write `data.{name} != null`, or compare `data.{name}.name` or `.type`")
        }
        _ => format!("compare `data.{name}` with text in quotes"),
    };
    Some((format!("`data.{name}` is a `{}` field, compared with {k}: never equal", kind.name()), help))
}

/// Where the constant is written (1-based, in the expression), else where the field is.
fn constant_column(source: &str, k: &Constant, field: &str) -> u64 {
    let written = match k {
        Constant::Text(t) => [format!("'{t}'"), format!("\"{t}\"")].into_iter().find_map(|q| source.find(&q)),
        Constant::Bool(b) => source.find(&b.to_string()),
        Constant::Number(_) | Constant::Null => None,
    };
    match written {
        Some(byte) => source[..byte].chars().count() as u64 + 1,
        None => data_field_column(source, field),
    }
}
