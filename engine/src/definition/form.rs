//! Forms: typed fields with constraints, and validation of submitted data.
//!
//! Validation is what the server trusts: every error names the field and the reason (in
//! Spanish, the language of the forms' users). Values arriving as text (HTML forms) are read
//! into their field's type.

use serde_json::{Map, Value};

use super::limits::YEARS;
use crate::expr::{Expr, Scope};
use crate::files::{FileValue, accepts, show_size};

/// The type of a form field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    Text,
    LongText,
    Integer,
    Decimal,
    Date,
    DateTime,
    Boolean,
    Choice,
    MultiChoice,
    Email,
    Phone,
    File,
    /// A repeated group: a list of rows, each with the sub-fields of `fields`.
    List,
}

impl FieldType {
    pub const NAMES: [&'static str; 13] = [
        "text",
        "long_text",
        "integer",
        "decimal",
        "date",
        "datetime",
        "boolean",
        "choice",
        "multi_choice",
        "email",
        "phone",
        "file",
        "list",
    ];

    pub fn parse(name: &str) -> Option<FieldType> {
        Some(match name {
            "text" => FieldType::Text,
            "long_text" => FieldType::LongText,
            "integer" => FieldType::Integer,
            "decimal" => FieldType::Decimal,
            "date" => FieldType::Date,
            "datetime" => FieldType::DateTime,
            "boolean" => FieldType::Boolean,
            "choice" => FieldType::Choice,
            "multi_choice" => FieldType::MultiChoice,
            "email" => FieldType::Email,
            "phone" => FieldType::Phone,
            "file" => FieldType::File,
            "list" => FieldType::List,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        Self::NAMES[self as usize]
    }

    pub fn is_numeric(self) -> bool {
        matches!(self, FieldType::Integer | FieldType::Decimal)
    }

    pub fn is_textual(self) -> bool {
        matches!(self, FieldType::Text | FieldType::LongText | FieldType::Email | FieldType::Phone)
    }
}

/// A validated form.
#[derive(Debug, Clone)]
pub struct Form {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub fields: Vec<Field>,
    pub rules: Vec<Rule>,
    pub file: String,
    /// Validations done ahead of the transition that uses them ([`Form::check_ahead`]).
    pub ahead: Ahead,
}

/// Validations of a form done ahead, off the instance writer, for a transition to take up
/// instead of validating again: the digest of each input with its validated data, newest last.
/// Only forms whose rules or computed fields grow with the data keep them.
#[derive(Debug, Default, Clone)]
pub struct Ahead(std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<Checked>>>);

/// The digest of an input and its validated data.
type Checked = ([u8; 32], Map<String, Value>);

/// Most validations a form keeps ahead; older ones are dropped (and done again if needed).
const AHEAD: usize = 16;

fn digest(input: &Map<String, Value>) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let bytes = serde_json::to_vec(input).unwrap_or_default();
    Sha256::digest(&bytes).into()
}

#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub kind: FieldType,
    pub label: String,
    pub help: Option<String>,
    pub required: bool,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub min_length: Option<u32>,
    pub max_length: Option<u32>,
    pub pattern: Option<regex::Regex>,
    /// Option value → label, in file order.
    pub options: Vec<(String, String)>,
    pub must_be_true: bool,
    pub default: Option<Value>,
    /// The columns of a `list` field, each row validated like a small form.
    pub fields: Vec<Field>,
    /// Fewest and most rows of a `list` field.
    pub min_items: Option<u32>,
    pub max_items: Option<u32>,
    /// A read-only field: its value is computed from the form's other fields (in field order,
    /// so it may read the computed fields above it) and stored with them.
    pub compute: Option<Expr>,
    /// The largest file a `file` field takes, in bytes.
    pub max_size: Option<u64>,
    /// What a `file` field takes ([`crate::files::accepts`]); empty: any file.
    pub accept: Vec<String>,
}

/// A cross-field check.
#[derive(Debug, Clone)]
pub struct Rule {
    pub check: Expr,
    pub message: String,
    pub field: Option<String>,
}

/// One field's problem with submitted data.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

impl FieldError {
    pub(crate) fn new(field: &str, code: &'static str, message: impl Into<String>) -> FieldError {
        FieldError { field: field.to_string(), code, message: message.into() }
    }
}

impl Form {
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Whether a rule or a computed field does work that grows with the rows of the data.
    pub fn checks_grow_with_data(&self) -> bool {
        fn computes(fields: &[Field]) -> bool {
            fields.iter().any(|f| f.compute.as_ref().is_some_and(Expr::grows_with_data) || computes(&f.fields))
        }
        self.rules.iter().any(|r| r.check.grows_with_data()) || computes(&self.fields)
    }

    /// How many validations done ahead wait for their transition.
    pub fn kept_ahead(&self) -> usize {
        self.ahead.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).len()
    }

    /// Validates `input` as [`Form::validate`] does and, for a form whose checks grow with the
    /// data, keeps the result for the transition that receives the same input: the server
    /// validates on a worker thread before handing a command to the instance writer.
    pub fn check_ahead(&self, input: &Map<String, Value>) -> Result<Map<String, Value>, Vec<FieldError>> {
        let out = self.validate_now(input)?;
        if self.checks_grow_with_data() {
            let mut kept = self.ahead.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            kept.push_back((digest(input), out.clone()));
            while kept.len() > AHEAD {
                kept.pop_front();
            }
        }
        Ok(out)
    }

    /// Checks `input` and returns it with every value in its field's type, or every error; a
    /// result worked out ahead for the same input ([`Form::check_ahead`]) is taken instead.
    pub fn validate(&self, input: &Map<String, Value>) -> Result<Map<String, Value>, Vec<FieldError>> {
        if self.checks_grow_with_data() {
            let key = digest(input);
            let mut kept = self.ahead.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(i) = kept.iter().position(|(k, _)| *k == key)
                && let Some((_, out)) = kept.remove(i)
            {
                return Ok(out);
            }
        }
        self.validate_now(input)
    }

    fn validate_now(&self, input: &Map<String, Value>) -> Result<Map<String, Value>, Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut out = validate_fields(&self.fields, input, "", &mut errors);
        if errors.is_empty() {
            compute_fields(&self.fields, &mut out, &mut errors);
        }
        if errors.is_empty() {
            for rule in &self.rules {
                let field = rule.field.as_deref().unwrap_or("");
                if let Some(e) = too_costly(&rule.check, &out, field) {
                    errors.push(e);
                } else if !rule.check.eval_bool(&out, &Value::Null, "").unwrap_or(false) {
                    errors.push(FieldError::new(field, "rule", rule.message.clone()));
                }
            }
        }
        if errors.is_empty() { Ok(out) } else { Err(errors) }
    }
}

/// The error for a check that could take more steps over `data` than an expression may
/// ([`crate::expr::MAX_STEPS`]), if it could.
fn too_costly(expr: &Expr, data: &Map<String, Value>, field: &str) -> Option<FieldError> {
    let scope = Scope { data, instance: &Value::Null, now: "", item: None, calendar: None, seed: None };
    let (steps, longest) = expr.steps_over(&scope)?;
    let message = format!(
        "Esta comprobación podría dar {steps} pasos sobre listas de hasta {longest} filas, más de los {} que se permiten: envíe menos filas.",
        crate::expr::MAX_STEPS
    );
    Some(FieldError::new(field, "too_costly", message))
}

/// Computes the read-only fields from the validated data, in field order; a value of the wrong
/// type or an expression that fails is an error on that field.
fn compute_fields(fields: &[Field], out: &mut Map<String, Value>, errors: &mut Vec<FieldError>) {
    for f in fields {
        let Some(expr) = &f.compute else { continue };
        if let Some(e) = too_costly(expr, out, &f.name) {
            errors.push(e);
            continue;
        }
        let value = match expr.eval(out, &Value::Null, "") {
            Ok(v) => v,
            Err(e) => {
                errors.push(FieldError::new(&f.name, "compute", format!("No se pudo calcular: {e}")));
                continue;
            }
        };
        let typed = match (f.kind, &value) {
            (_, Value::Null) => None,
            (FieldType::Integer, Value::Number(n)) => match n.as_f64() {
                Some(x) if x.fract() == 0.0 && x.abs() < 9.0e15 => Some(Value::from(x as i64)),
                _ => None,
            },
            (FieldType::Decimal, Value::Number(_)) | (FieldType::Boolean, Value::Bool(_)) => Some(value.clone()),
            (FieldType::Choice, Value::String(s)) if f.options.iter().any(|(o, _)| o == s) => Some(value.clone()),
            (FieldType::Text | FieldType::LongText, Value::String(_)) => Some(value.clone()),
            _ => {
                let message = format!("El cálculo dio {value}, que no es un valor de tipo {}.", f.kind.name());
                errors.push(FieldError::new(&f.name, "compute", message));
                continue;
            }
        };
        match typed {
            Some(v) => {
                out.insert(f.name.clone(), v);
            }
            None if value.is_null() => {}
            None => errors.push(FieldError::new(
                &f.name,
                "compute",
                format!("El cálculo dio {value}, que no es un entero."),
            )),
        }
    }
}

/// Validates `input` against `fields`; errors name the field with `prefix` (`acciones[2].`).
fn validate_fields(
    fields: &[Field],
    input: &Map<String, Value>,
    prefix: &str,
    errors: &mut Vec<FieldError>,
) -> Map<String, Value> {
    let mut out = Map::new();
    for name in input.keys() {
        if !fields.iter().any(|f| f.name == *name) {
            errors.push(FieldError::new(
                &format!("{prefix}{name}"),
                "unknown_field",
                "Este campo no pertenece al formulario.",
            ));
        }
    }
    for field in fields {
        if field.compute.is_some() {
            if input.get(&field.name).is_some_and(|v| !is_blank(v)) {
                errors.push(FieldError::new(
                    &format!("{prefix}{}", field.name),
                    "computed",
                    "Este campo se calcula a partir de los demás; no lo envíe.",
                ));
            }
            continue;
        }
        let given = input.get(&field.name).filter(|v| !is_blank(v));
        let value = match (given, &field.default) {
            (Some(v), _) => v.clone(),
            (None, Some(d)) => d.clone(),
            (None, None) => {
                if field.required || field.must_be_true || field.min_items.is_some_and(|m| m > 0) {
                    let message =
                        if field.must_be_true { "Debe marcar esta casilla." } else { "Este campo es obligatorio." };
                    errors.push(FieldError::new(&format!("{prefix}{}", field.name), "required", message));
                }
                continue;
            }
        };
        if field.kind == FieldType::List {
            if let Some(rows) = field.check_rows(&value, prefix, errors) {
                out.insert(field.name.clone(), rows);
            }
            continue;
        }
        match field.check(&value) {
            Ok(v) => {
                out.insert(field.name.clone(), v);
            }
            Err(mut e) => {
                e.field = format!("{prefix}{}", e.field);
                errors.push(e)
            }
        }
    }
    out
}

impl Field {
    /// The rows of a `list` field, each validated against the columns; problems go to `errors`
    /// named `field[n].column` (rows counted from 1).
    fn check_rows(&self, value: &Value, prefix: &str, errors: &mut Vec<FieldError>) -> Option<Value> {
        let name = format!("{prefix}{}", self.name);
        let Value::Array(rows) = value else {
            errors.push(FieldError::new(&name, "type", "Debe ser una lista de filas."));
            return None;
        };
        let count = rows.len();
        if let Some(min) = self.min_items.filter(|m| count < *m as usize) {
            errors.push(FieldError::new(&name, "min_items", format!("Debe tener al menos {min} filas.")));
        }
        let max = self.row_limit();
        if count > max as usize {
            // Not a row more is looked at: the rows are what rules and computed fields loop over.
            errors.push(FieldError::new(&name, "max_items", format!("Debe tener como máximo {max} filas.")));
            return None;
        }
        let before = errors.len();
        let mut out = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            let row_prefix = format!("{name}[{}].", i + 1);
            match row {
                Value::Object(m) => out.push(Value::Object(validate_fields(&self.fields, m, &row_prefix, errors))),
                _ => errors.push(FieldError::new(
                    &format!("{name}[{}]", i + 1),
                    "type",
                    "Cada fila debe tener sus campos.",
                )),
            }
        }
        (errors.len() == before).then_some(Value::Array(out))
    }

    /// The value read into this field's type, or why it does not fit. (`list` fields are
    /// checked row by row by the form.)
    pub fn check(&self, value: &Value) -> Result<Value, FieldError> {
        let err = |code, msg: String| FieldError::new(&self.name, code, msg);
        let v = match self.kind {
            FieldType::List => {
                let mut errors = Vec::new();
                return match self.check_rows(value, "", &mut errors) {
                    Some(v) => Ok(v),
                    None => Err(errors.into_iter().next().unwrap_or_else(|| err("type", "Lista no válida.".into()))),
                };
            }
            FieldType::Integer => {
                let n = as_f64(value)
                    .filter(|n| n.fract() == 0.0 && n.abs() < 9.0e15)
                    .ok_or_else(|| err("type", "Debe ser un número entero.".into()))?;
                Value::from(n as i64)
            }
            FieldType::Decimal => {
                let n = as_f64(value).ok_or_else(|| err("type", "Debe ser un número.".into()))?;
                serde_json::Number::from_f64(n)
                    .map(Value::Number)
                    .ok_or_else(|| err("type", "Debe ser un número.".into()))?
            }
            FieldType::Boolean => Value::Bool(as_bool(value).ok_or_else(|| err("type", "Debe ser sí o no.".into()))?),
            FieldType::Date => {
                let s = value.as_str().ok_or_else(|| err("type", "Debe ser una fecha (AAAA-MM-DD).".into()))?;
                let d = crate::calendar::parse_date(s.trim())
                    .ok_or_else(|| err("type", "Debe ser una fecha (AAAA-MM-DD).".into()))?;
                if !YEARS.contains(&d.year()) {
                    return Err(err("date_range", years_message("La fecha")));
                }
                Value::String(d.to_string())
            }
            FieldType::DateTime => {
                let s = value.as_str().ok_or_else(|| err("type", "Debe ser una fecha y hora.".into()))?;
                // The year as written (an instant with `Z` has no other).
                let year = match (s.parse::<jiff::civil::DateTime>(), s.parse::<jiff::Timestamp>()) {
                    (Ok(dt), _) => dt.year(),
                    (Err(_), Ok(t)) => t.to_zoned(jiff::tz::TimeZone::UTC).year(),
                    _ => return Err(err("type", "Debe ser una fecha y hora (AAAA-MM-DDTHH:MM).".into())),
                };
                if !YEARS.contains(&year) {
                    return Err(err("date_range", years_message("La fecha y hora")));
                }
                Value::String(s.to_string())
            }
            FieldType::Choice => {
                let s = scalar_text(value).ok_or_else(|| err("choice", "Elija una de las opciones.".into()))?;
                if !self.options.iter().any(|(k, _)| *k == s) {
                    return Err(err("choice", "Elija una de las opciones.".into()));
                }
                Value::String(s)
            }
            FieldType::MultiChoice => {
                let items: Vec<String> = match value {
                    Value::Array(a) => a.iter().filter_map(scalar_text).collect(),
                    other => scalar_text(other).into_iter().collect(),
                };
                if items.iter().any(|s| !self.options.iter().any(|(k, _)| k == s)) {
                    return Err(err("choice", "Elija solo entre las opciones.".into()));
                }
                let distinct: std::collections::HashSet<&String> = items.iter().collect();
                if distinct.len() < items.len() {
                    return Err(err("choice", "Elija cada opción una sola vez.".into()));
                }
                Value::Array(items.into_iter().map(Value::String).collect())
            }
            FieldType::File => return self.check_file(value),
            FieldType::Text | FieldType::LongText | FieldType::Email | FieldType::Phone => {
                let s = scalar_text(value).ok_or_else(|| err("type", "Debe ser texto.".into()))?;
                if self.kind == FieldType::Email && !looks_like_email(&s) {
                    return Err(err("email", "Debe ser un correo electrónico válido.".into()));
                }
                if self.kind == FieldType::Phone && !looks_like_phone(&s) {
                    return Err(err("phone", "Debe ser un número de teléfono (dígitos, espacios, +, -).".into()));
                }
                Value::String(s)
            }
        };
        self.check_bounds(&v)?;
        Ok(v)
    }

    /// A `file` field's value: an uploaded file ([`FileValue`]) within `max_size`, of a kind
    /// `accept:` lists.
    fn check_file(&self, value: &Value) -> Result<Value, FieldError> {
        let err = |code, msg: String| FieldError::new(&self.name, code, msg);
        let file = FileValue::from_value(value).map_err(|m| err("file", m.to_string()))?;
        if let Some(max) = self.max_size.filter(|m| file.size > *m) {
            return Err(err(
                "max_size",
                format!("El archivo pesa {}; el máximo es {}.", show_size(file.size), show_size(max)),
            ));
        }
        if !accepts(&self.accept, file.mime.as_deref(), &file.name) {
            let kinds = self.accept.join(", ");
            return Err(err("accept", format!("Este campo acepta archivos {kinds}; «{}» no lo es.", file.name)));
        }
        Ok(file.to_value())
    }

    fn check_bounds(&self, v: &Value) -> Result<(), FieldError> {
        let err = |code, msg: String| Err(FieldError::new(&self.name, code, msg));
        if let Some(n) = v.as_f64() {
            if let Some(min) = self.min.filter(|m| n < *m) {
                return err("min", format!("Debe ser al menos {min}."));
            }
            if let Some(max) = self.max.filter(|m| n > *m) {
                return err("max", format!("Debe ser como máximo {max}."));
            }
        }
        if let Some(s) = v.as_str() {
            let len = s.chars().count() as u32;
            if let Some(min) = self.min_length.filter(|m| len < *m) {
                return err("min_length", format!("Debe tener al menos {min} caracteres."));
            }
            if let Some(max) = self.length_limit().filter(|m| len > *m) {
                return err("max_length", format!("Debe tener como máximo {max} caracteres."));
            }
            if let Some(re) = self.pattern.as_ref().filter(|re| !re.is_match(s)) {
                return err("pattern", format!("No tiene el formato esperado ({}).", re.as_str()));
            }
        }
        if self.must_be_true && v != &Value::Bool(true) {
            return err("must_be_true", "Debe marcar esta casilla.".into());
        }
        Ok(())
    }
}

/// "La fecha debe estar entre los años 1900 y 2199."
fn years_message(what: &str) -> String {
    format!("{what} debe estar entre los años {} y {}.", YEARS.start(), YEARS.end())
}

fn is_blank(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.as_str() {
            "true" | "on" | "si" | "sí" | "1" => Some(true),
            "false" | "off" | "no" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else { return false };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.chars().any(char::is_whitespace)
}

fn looks_like_phone(s: &str) -> bool {
    let digits = s.chars().filter(char::is_ascii_digit).count();
    (7..=15).contains(&digits) && s.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(name: &str, kind: FieldType, required: bool) -> Field {
        Field {
            name: name.into(),
            kind,
            label: name.into(),
            help: None,
            required,
            min: None,
            max: None,
            min_length: None,
            max_length: None,
            pattern: None,
            options: Vec::new(),
            must_be_true: false,
            default: None,
            fields: Vec::new(),
            min_items: None,
            max_items: None,
            compute: None,
            max_size: None,
            accept: Vec::new(),
        }
    }

    fn plan() -> Form {
        let mut acciones = field("acciones", FieldType::List, true);
        acciones.min_items = Some(1);
        acciones.max_items = Some(3);
        acciones.fields = vec![field("accion", FieldType::Text, true), field("fecha", FieldType::Date, true)];
        Form {
            id: "plan".into(),
            title: "Plan".into(),
            description: None,
            fields: vec![acciones],
            rules: Vec::new(),
            file: String::new(),
            ahead: Ahead::default(),
        }
    }

    #[test]
    fn list_rows_are_validated_column_by_column() {
        let ok = plan().validate(json!({"acciones": [{"accion": "A", "fecha": "2026-06-10"}]}).as_object().unwrap());
        assert_eq!(ok.unwrap()["acciones"], json!([{"accion": "A", "fecha": "2026-06-10"}]));
        let input = json!({"acciones": [{"accion": "A", "fecha": "10/06/2026"}, {"fecha": "2026-06-11", "x": 1}]});
        let errs = plan().validate(input.as_object().unwrap()).unwrap_err();
        let named: Vec<(&str, &str)> = errs.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            named,
            vec![("acciones[1].fecha", "type"), ("acciones[2].x", "unknown_field"), ("acciones[2].accion", "required")]
        );
    }

    #[test]
    fn list_row_counts_are_bounded() {
        let errs = plan().validate(json!({"acciones": []}).as_object().unwrap()).unwrap_err();
        assert_eq!((errs[0].field.as_str(), errs[0].code), ("acciones", "required"));
        let four = json!({"acciones": vec![json!({"accion": "A", "fecha": "2026-06-10"}); 4]});
        let errs = plan().validate(four.as_object().unwrap()).unwrap_err();
        assert_eq!((errs[0].field.as_str(), errs[0].code), ("acciones", "max_items"));
        let errs = plan().validate(json!({"acciones": "A"}).as_object().unwrap()).unwrap_err();
        assert_eq!(errs[0].code, "type");
    }
}
