//! HTML forms from `forms/*.yaml`: one input per field with the right type, and posted values
//! read back into the data the engine validates. The engine's validation is the only one; the
//! browser's is switched off (`novalidate`) so every message comes from the server, per field.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use tramite_engine::definition::{Field, FieldType, Form};
use tramite_engine::files::{FileValue, show_size};

use super::i18n::Lang;
use crate::runtime::Deployed;

/// Posted (or stored) values by input name; several for checkboxes.
pub type Raw = BTreeMap<String, Vec<String>>;

/// One input as the template draws it.
#[derive(Debug, Clone)]
pub struct FieldView {
    pub name: String,
    pub id: String,
    pub label: String,
    pub help: Option<String>,
    pub required: bool,
    /// `input`, `textarea`, `select`, `checkboxes`, `yesno`, `checkbox` or `list`.
    pub widget: &'static str,
    /// The `type` of an `input`.
    pub input_type: &'static str,
    pub step: Option<&'static str>,
    pub min: Option<String>,
    pub max: Option<String>,
    pub value: String,
    pub values: Vec<String>,
    pub options: Vec<(String, String)>,
    pub error: Option<String>,
    /// A `list` field's rows, each a set of inputs.
    pub rows: Vec<Vec<FieldView>>,
    /// A `file` field's `accept` attribute (empty: any file).
    pub accept: String,
    /// The file a `file` field holds already (name, size); `value` is its JSON, kept in a
    /// hidden input unless another file is chosen.
    pub file: Option<(String, String)>,
}

impl FieldView {
    pub fn has(&self, option: &str) -> bool {
        self.values.iter().any(|v| v == option)
    }

    pub fn error_id(&self) -> String {
        format!("{}-error", self.id)
    }

    pub fn help_id(&self) -> String {
        format!("{}-help", self.id)
    }

    /// Ids the input is described by: its help and its error.
    pub fn described_by(&self) -> String {
        let mut ids = Vec::new();
        if self.help.is_some() {
            ids.push(self.help_id());
        }
        if self.error.is_some() {
            ids.push(self.error_id());
        }
        ids.join(" ")
    }
}

fn html_id(name: &str) -> String {
    let body: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    format!("f-{body}")
}

fn number(n: f64) -> String {
    if n.fract() == 0.0 { format!("{}", n as i64) } else { n.to_string() }
}

/// The widget of a field type: (widget, input type, step).
fn widget(f: &Field) -> (&'static str, &'static str, Option<&'static str>) {
    if f.compute.is_some() {
        return ("computed", "", None);
    }
    match f.kind {
        FieldType::Text => ("input", "text", None),
        FieldType::File => ("file", "file", None),
        FieldType::LongText => ("textarea", "", None),
        FieldType::Integer => ("input", "number", Some("1")),
        FieldType::Decimal => ("input", "number", Some("any")),
        FieldType::Date => ("input", "date", None),
        FieldType::DateTime => ("input", "datetime-local", None),
        // A box that must be ticked is a checkbox; any other yes/no question needs a real "no".
        FieldType::Boolean if f.must_be_true => ("checkbox", "checkbox", None),
        FieldType::Boolean => ("yesno", "radio", None),
        FieldType::Choice => ("select", "", None),
        FieldType::MultiChoice => ("checkboxes", "checkbox", None),
        FieldType::Email => ("input", "email", None),
        FieldType::Phone => ("input", "tel", None),
        FieldType::List => ("list", "", None),
    }
}

/// The inputs of `form` showing `raw` values and `errors` (by field name, as the engine names them).
pub fn views(form: &Form, raw: &Raw, errors: &BTreeMap<String, String>, lang: Lang) -> Vec<FieldView> {
    form.fields.iter().map(|f| view(f, "", raw, errors, lang)).collect()
}

fn view(f: &Field, prefix: &str, raw: &Raw, errors: &BTreeMap<String, String>, lang: Lang) -> FieldView {
    let name = format!("{prefix}{}", f.name);
    let (widget, input_type, step) = widget(f);
    let values = raw.get(&name).cloned().unwrap_or_default();
    let help = match (f.kind, &f.help, f.max_size) {
        (FieldType::File, None, Some(max)) => Some(format!("{} {}", lang.t("task.file_max"), show_size(max))),
        _ => f.help.clone(),
    };
    let file = (f.kind == FieldType::File)
        .then(|| values.first().and_then(|v| serde_json::from_str::<Value>(v).ok()))
        .flatten()
        .and_then(|v| FileValue::from_value(&v).ok())
        .map(|x| (x.name, show_size(x.size)));
    let mut v = FieldView {
        id: html_id(&name),
        label: f.label.clone(),
        help,
        required: f.required || f.must_be_true,
        widget,
        input_type,
        step,
        min: f.min.map(number),
        max: f.max.map(number),
        value: values.first().cloned().unwrap_or_default(),
        values,
        options: f.options.clone(),
        error: errors.get(&name).cloned(),
        rows: Vec::new(),
        accept: f.accept.join(","),
        file,
        name,
    };
    if f.kind == FieldType::List {
        // Rows given so far, at least the minimum, plus one empty row to add another.
        let given = (1..).take_while(|i| raw.keys().any(|k| k.starts_with(&format!("{}[{i}].", v.name)))).count();
        let shown = given.max(f.min_items.unwrap_or(0) as usize).max(1)
            + usize::from(given > 0 || f.min_items.unwrap_or(0) == 0);
        let limit = f.max_items.map(|m| m as usize).unwrap_or(50).min(50);
        v.rows = (1..=shown.min(limit.max(1)))
            .map(|i| {
                let p = format!("{}[{i}].", v.name);
                f.fields.iter().map(|sub| view(sub, &p, raw, errors, lang)).collect()
            })
            .collect();
    }
    v
}

/// Stored data as input values (to prefill a form, e.g. a plan sent back for rework).
pub fn raw_of(form: &Form, data: &Map<String, Value>) -> Raw {
    let mut raw = Raw::new();
    for f in &form.fields {
        if let Some(v) = data.get(&f.name) {
            put(&mut raw, &f.name, f, v);
        }
    }
    raw
}

fn put(raw: &mut Raw, name: &str, f: &Field, v: &Value) {
    match (f.kind, v) {
        (FieldType::List, Value::Array(rows)) => {
            for (i, row) in rows.iter().enumerate() {
                for sub in &f.fields {
                    if let Some(x) = row.get(&sub.name) {
                        put(raw, &format!("{name}[{}].{}", i + 1, sub.name), sub, x);
                    }
                }
            }
        }
        (_, Value::Array(items)) => {
            raw.insert(name.to_string(), items.iter().map(scalar).collect());
        }
        (FieldType::File, Value::Object(_)) => {
            raw.insert(name.to_string(), vec![v.to_string()]);
        }
        (FieldType::DateTime, Value::String(s)) => {
            // `datetime-local` shows minutes: 2026-03-18T10:00.
            raw.insert(name.to_string(), vec![s.chars().take(16).collect()]);
        }
        _ => {
            raw.insert(name.to_string(), vec![scalar(v)]);
        }
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Posted pairs grouped by name, without the page's own fields (`_csrf`, `_action`, …).
pub fn raw_of_pairs(pairs: &[(String, String)]) -> Raw {
    let mut raw = Raw::new();
    for (k, v) in pairs {
        if k.starts_with('_') || k == "next" {
            continue;
        }
        raw.entry(k.clone()).or_default().push(v.clone());
    }
    raw
}

/// The data to submit: each field's posted value(s) as the engine reads them. Blank inputs are
/// left out (the engine then reports required ones); blank list rows are dropped.
pub fn data_of(form: &Form, raw: &Raw) -> Map<String, Value> {
    collect(&form.fields, "", raw)
}

fn collect(fields: &[Field], prefix: &str, raw: &Raw) -> Map<String, Value> {
    let mut out = Map::new();
    // A computed field is the engine's to fill in, never the browser's.
    for f in fields.iter().filter(|f| f.compute.is_none()) {
        let name = format!("{prefix}{}", f.name);
        match f.kind {
            FieldType::List => {
                let mut rows = Vec::new();
                for i in 1..=200 {
                    let p = format!("{name}[{i}].");
                    if !raw.keys().any(|k| k.starts_with(&p)) {
                        break;
                    }
                    let row = collect(&f.fields, &p, raw);
                    if !row.is_empty() {
                        rows.push(Value::Object(row));
                    }
                }
                if !rows.is_empty() {
                    out.insert(f.name.clone(), Value::Array(rows));
                }
            }
            FieldType::MultiChoice => {
                let items: Vec<Value> = raw
                    .get(&name)
                    .into_iter()
                    .flatten()
                    .filter(|v| !v.is_empty())
                    .map(|v| Value::String(v.clone()))
                    .collect();
                if !items.is_empty() {
                    out.insert(f.name.clone(), Value::Array(items));
                }
            }
            FieldType::File => {
                // The file value in JSON, as the upload or the page's kept value gives it.
                if let Some(v) = raw.get(&name).and_then(|v| v.last()).filter(|v| !v.trim().is_empty()) {
                    let value = serde_json::from_str::<Value>(v).unwrap_or_else(|_| Value::String(v.clone()));
                    out.insert(f.name.clone(), value);
                }
            }
            _ => {
                if let Some(v) = raw.get(&name).and_then(|v| v.first()).filter(|v| !v.trim().is_empty()) {
                    out.insert(f.name.clone(), Value::String(v.clone()));
                }
            }
        }
    }
    out
}

/// Every field a process's forms define, by name (the first form naming it wins): how the
/// instance data is labelled on pages and in exports, in the order the process asks for it.
pub fn process_fields(d: &Deployed) -> Vec<&Field> {
    let mut out: Vec<&Field> = Vec::new();
    let forms = d
        .process
        .start
        .form
        .iter()
        .chain(d.process.steps.iter().filter_map(|s| s.kind.work().and_then(|w| w.form.as_ref())));
    for id in forms {
        if let Some(form) = d.forms.get(id) {
            for f in &form.fields {
                if !out.iter().any(|o| o.name == f.name) {
                    out.push(f);
                }
            }
        }
    }
    out
}

/// A stored value as people read it: option labels, yes/no, lists joined.
pub fn display(f: Option<&Field>, v: &Value, lang: Lang) -> String {
    let label = |x: &str| -> String {
        f.and_then(|f| f.options.iter().find(|(k, _)| k == x)).map(|(_, l)| l.clone()).unwrap_or_else(|| x.to_string())
    };
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => lang.t(if *b { "task.yes" } else { "task.no" }).to_string(),
        Value::String(s) => label(s),
        Value::Number(n) => n.to_string(),
        Value::Array(items) if items.iter().all(|i| !i.is_object()) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => label(s),
                other => display(None, other, lang),
            })
            .collect::<Vec<_>>()
            .join(", "),
        Value::Array(items) => items
            .iter()
            .map(|row| match row {
                Value::Object(m) => m
                    .iter()
                    .map(|(k, x)| {
                        let sub = f.and_then(|f| f.fields.iter().find(|s| s.name == *k));
                        format!("{}: {}", sub.map(|s| s.label.as_str()).unwrap_or(k), display(sub, x, lang))
                    })
                    .collect::<Vec<_>>()
                    .join("; "),
                other => display(None, other, lang),
            })
            .collect::<Vec<_>>()
            .join(" | "),
        Value::Object(_) => match FileValue::from_value(v) {
            Ok(file) => format!("{} ({})", file.name, show_size(file.size)),
            Err(_) => v.to_string(),
        },
    }
}

/// Instance data as (label, text) lines, form fields first in the order the process asks.
pub fn data_lines(d: &Deployed, data: &Map<String, Value>, lang: Lang) -> Vec<(String, String)> {
    let fields = process_fields(d);
    // Instants in the calendar's local time, as everywhere else on the page.
    // A date-time typed without an offset is the calendar's local time.
    let instant = |s: &str| {
        s.parse::<jiff::Timestamp>().ok().or_else(|| {
            let civil = s.parse::<jiff::civil::DateTime>().ok()?;
            civil.to_zoned(d.calendar.zone().clone()).ok().map(|z| z.timestamp())
        })
    };
    let shown = |f: &Field, v: &Value| match (f.kind, v.as_str().and_then(instant)) {
        (FieldType::DateTime, Some(t)) => super::page::local(t, &d.calendar),
        _ => display(Some(f), v, lang),
    };
    let mut out: Vec<(String, String)> =
        fields.iter().filter_map(|f| data.get(&f.name).map(|v| (f.label.clone(), shown(f, v)))).collect();
    for (k, v) in data {
        if !fields.iter().any(|f| f.name == *k) {
            out.push((k.clone(), display(None, v, lang)));
        }
    }
    out
}

/// The problems of a refusal by field name (a problem of the whole form under `""`); any other
/// error is handed back.
pub fn problems_of(e: crate::app::AppError) -> Result<BTreeMap<String, String>, crate::app::AppError> {
    match e {
        crate::app::AppError::Invalid { message, fields: problems, .. } => {
            let mut errors: BTreeMap<String, String> = problems.into_iter().map(|(k, p)| (k, p.message)).collect();
            if errors.is_empty() {
                errors.insert(String::new(), message);
            }
            Ok(errors)
        }
        other => Err(other),
    }
}

/// The messages of `errors` no input of `views` shows beside it (the form's own, and fields it
/// does not have), once each.
pub fn unplaced(views: &[FieldView], errors: &BTreeMap<String, String>) -> Vec<String> {
    let mut out: Vec<String> = errors
        .iter()
        .filter(|(k, _)| {
            k.is_empty() || !views.iter().any(|v| v.name == **k || v.rows.iter().flatten().any(|x| x.name == **k))
        })
        .map(|(_, m)| m.clone())
        .collect();
    out.dedup();
    out
}
