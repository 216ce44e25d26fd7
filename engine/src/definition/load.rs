//! From YAML text to the validated model: parse strictly, then check every reference, duration,
//! expression and cron line, collecting all problems of all files in one run.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use serde_saphyr::Spanned;

use super::calls::Known;
use super::form::{Field, FieldType, Form, Rule};
use super::limits::{DEFAULT_MAX_ITEMS, MAX_ITEMS_CAP, max_length_cap};
use super::model::*;
pub(crate) use super::problems::Ctx;
use super::raw::*;
use crate::calendar::{self, Calendar, Offset, Warn};
use crate::diagnostic::{Diagnostic, Loc, did_you_mean};

/// A file handed to the loader.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: String,
    pub text: String,
}

/// What a YAML file defines, from its first top-level key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Process,
    Form,
    Calendar,
    Scenarios,
    Indicators,
    Unknown,
}

impl FileKind {
    /// The id a process file declares on its top-level `process:` line, read without parsing
    /// the rest (for a file whose YAML is too broken to load).
    pub fn declared_process(text: &str) -> Option<String> {
        text.lines()
            .find_map(|l| l.strip_prefix("process:"))
            .map(|v| v.split('#').next().unwrap_or("").trim().trim_matches(['"', '\'']).to_string())
            .filter(|v| !v.is_empty())
    }

    pub fn of(text: &str) -> FileKind {
        for line in text.lines() {
            let t = line.trim_end();
            if t.is_empty() || t.starts_with('#') || t.starts_with("---") || t.starts_with(' ') {
                continue;
            }
            let key = t.split(':').next().unwrap_or("");
            return match key {
                "process" => FileKind::Process,
                "form" => FileKind::Form,
                "calendar" => FileKind::Calendar,
                "test" => FileKind::Scenarios,
                "indicators" => FileKind::Indicators,
                _ => FileKind::Unknown,
            };
        }
        FileKind::Unknown
    }
}

/// Everything loaded: processes, forms and calendars by id.
#[derive(Debug, Default, Clone)]
pub struct Catalog {
    pub processes: BTreeMap<String, Process>,
    pub forms: BTreeMap<String, Form>,
    pub calendars: BTreeMap<String, Calendar>,
    /// Message templates by path (`processes/conocer/messages/respuesta.hbs`) → text.
    pub templates: BTreeMap<String, String>,
    /// The indicators of each process, by process id, in file order.
    pub indicators: BTreeMap<String, Vec<super::indicators::Indicator>>,
}

impl Catalog {
    /// The calendar a process counts business time on.
    pub fn calendar_of(&self, process: &Process) -> Option<&Calendar> {
        self.calendars.get(&process.calendar)
    }
}

pub(crate) fn loc<T>(s: &Spanned<T>) -> Loc {
    Loc::from(s.referenced)
}

/// Reads forms and processes (calendars are given, already loaded) into a catalog.
/// Files that fail are left out; every problem found is returned.
pub fn load(files: &[SourceFile], calendars: BTreeMap<String, Calendar>) -> (Catalog, Vec<Diagnostic>) {
    load_with(files, calendars, &Known::new())
}

/// [`load`] for a version deployed before: the processes its calls name were checked when it
/// was deployed and are resolved when a call runs (the latest version then, or an incident), so
/// here any process a `call:` names counts as known.
pub fn load_deployed(files: &[SourceFile], calendars: BTreeMap<String, Calendar>) -> (Catalog, Vec<Diagnostic>) {
    let mut known = Known::new();
    for f in files.iter().filter(|f| FileKind::of(&f.text) == FileKind::Process) {
        if let Ok(raw) = read_yaml::<RawProcess>(&f.text) {
            for (_, step) in &raw.steps.0 {
                if let Some(callee) = &step.call {
                    known.entry(callee.value.clone()).or_default();
                }
            }
        }
    }
    load_with(files, calendars, &known)
}

/// [`load`], where a `call:` may also name the `known` processes, deployed already (a file
/// posted to the server, a stored version compiled again).
pub fn load_with(
    files: &[SourceFile],
    calendars: BTreeMap<String, Calendar>,
    known: &Known,
) -> (Catalog, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let mut catalog = Catalog { calendars, ..Catalog::default() };
    catalog.templates =
        files.iter().filter(|f| is_template(&f.path)).map(|f| (f.path.clone(), f.text.clone())).collect();
    let mut seen_forms: BTreeMap<String, String> = BTreeMap::new();
    for f in files.iter().filter(|f| FileKind::of(&f.text) == FileKind::Form) {
        let mut ctx = Ctx::new(&f.path, &f.text);
        if let Some((form, id_at)) = load_form(&mut ctx) {
            if let Some(other) = seen_forms.get(&form.id) {
                ctx.err(
                    id_at,
                    format!("form `{}` is also defined in {other}", form.id),
                    "give each form a unique `form:` id",
                );
            } else {
                seen_forms.insert(form.id.clone(), f.path.clone());
                catalog.forms.insert(form.id.clone(), form);
            }
        }
        diags.extend(ctx.finish());
    }
    let mut raws = Vec::new();
    // Every process id a file declares, loadable or not: a call to a process whose file does
    // not load is that file's problem (reported there), not an unknown process.
    let mut process_ids: BTreeSet<String> = BTreeSet::new();
    for f in files.iter().filter(|f| FileKind::of(&f.text) == FileKind::Process) {
        match read_yaml::<RawProcess>(&f.text) {
            Ok(raw) => {
                process_ids.insert(raw.process.value.clone());
                raws.push((f, raw));
            }
            Err(e) => {
                process_ids.extend(FileKind::declared_process(&f.text));
                diags.push(Diagnostic::from_yaml_in(&f.path, &f.text, &e));
            }
        }
    }
    process_ids.extend(known.keys().cloned());
    for (f, raw) in raws {
        let mut ctx = Ctx::new(&f.path, &f.text);
        let id = raw.process.value.clone();
        let mut in_templates = Vec::new();
        let process = ProcessBuilder::new(&mut ctx, &catalog, &process_ids, &raw, &mut in_templates).build();
        if catalog.processes.contains_key(&id) {
            ctx.err(
                loc(&raw.process),
                format!("process `{id}` is defined twice"),
                "give each process a unique `process:` id",
            );
        }
        let clean = ctx.diags.is_empty() && in_templates.is_empty();
        diags.extend(ctx.finish());
        diags.extend(in_templates);
        if let (Some(p), true) = (process, clean) {
            catalog.processes.insert(id, p);
        }
    }
    super::calls::check(&mut catalog, known, &mut diags);
    for f in files.iter().filter(|f| FileKind::of(&f.text) == FileKind::Indicators) {
        let mut ctx = Ctx::new(&f.path, &f.text);
        let forms = &catalog.forms;
        let fields = |p: &Process| process_fields(p, forms);
        let found = super::indicators::load(&mut ctx, &catalog.processes, &process_ids, &fields);
        for ind in found {
            let list = catalog.indicators.entry(ind.process.clone()).or_default();
            if list.iter().any(|i| i.id == ind.id) {
                let at = Loc::new(1, 1);
                ctx.err(
                    at,
                    format!("indicator `{}` of `{}` is declared twice", ind.id, ind.process),
                    "give each indicator of a process its own name",
                );
            } else {
                list.push(ind);
            }
        }
        diags.extend(ctx.finish());
    }
    diags.sort_by(|a, b| (a.file.as_str(), a.loc).cmp(&(b.file.as_str(), b.loc)));
    (catalog, diags)
}

/// Every field of a process's forms (start form and step forms) with its type.
pub fn process_fields(p: &Process, forms: &BTreeMap<String, Form>) -> std::collections::HashMap<String, FieldType> {
    let named = p.start.form.iter().chain(p.steps.iter().filter_map(|s| s.kind.work().and_then(|w| w.form.as_ref())));
    let mut out = std::collections::HashMap::new();
    for f in named.filter_map(|n| forms.get(n)) {
        for field in &f.fields {
            out.entry(field.name.clone()).or_insert(field.kind);
        }
    }
    out
}

/// Whether a file is a message template (`*.hbs`).
pub fn is_template(path: &str) -> bool {
    path.ends_with(".hbs")
}

/// Where a process file's template `name` is: `<its folder>/messages/<name>.hbs`.
pub fn template_path(process_file: &str, name: &str) -> String {
    match process_file.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/messages/{name}.hbs"),
        None => format!("messages/{name}.hbs"),
    }
}

/// The form and where its id is written.
fn load_form(ctx: &mut Ctx) -> Option<(Form, Loc)> {
    let raw = match read_yaml::<RawForm>(ctx.text) {
        Ok(r) => r,
        Err(e) => {
            ctx.push(Diagnostic::from_yaml_in(ctx.file, ctx.text, &e));
            return None;
        }
    };
    check_ident(ctx, &raw.form, "form");
    let mut fields = Vec::new();
    for (name, f) in &raw.fields.0 {
        if let Some(field) = form_field(ctx, name, f, true) {
            fields.push(field);
        }
    }
    let names: Vec<&str> = raw.fields.0.iter().map(|(n, _)| n.value.as_str()).collect();
    // A computed field reads fields of this form.
    for (name, f) in &raw.fields.0 {
        let (Some(text), Some(expr)) =
            (&f.compute, fields.iter().find(|x| x.name == name.value).and_then(|x| x.compute.as_ref()))
        else {
            continue;
        };
        for used in expr.data_fields() {
            if !names.contains(&used.as_str()) || used == name.value {
                let at = ctx.inside(loc(text), data_field_column(&text.value, &used));
                let help = match did_you_mean(&used, names.iter().copied()) {
                    Some(best) if best != name.value => format!("did you mean `data.{best}`?"),
                    _ => format!("fields of this form: {}", names.join(", ")),
                };
                let message = if used == name.value {
                    format!("computed field `{used}` reads itself")
                } else {
                    format!("`data.{used}` is not a field of this form")
                };
                ctx.err(at, message, help);
            }
        }
    }
    let mut rules = Vec::new();
    for r in &raw.rules {
        let check = ctx.expr(&r.value.check);
        if let Some(check) = &check {
            for used in check.data_fields() {
                if !names.contains(&used.as_str()) {
                    let at = ctx.inside(loc(&r.value.check), data_field_column(&r.value.check.value, &used));
                    let help = match did_you_mean(&used, names.iter().copied()) {
                        Some(best) => format!("did you mean `data.{best}`?"),
                        None => format!("fields of this form: {}", names.join(", ")),
                    };
                    ctx.err(at, format!("`data.{used}` is not a field of this form"), help);
                }
            }
        }
        if let Some(field) = &r.value.field
            && !names.contains(&field.value.as_str())
        {
            ctx.unknown(loc(field), "field", &field.value, names.iter().copied());
        }
        if let Some(check) = check {
            rules.push(Rule {
                check,
                message: r.value.message.value.clone(),
                field: r.value.field.as_ref().map(|f| f.value.clone()),
            });
        }
    }
    let id_at = loc(&raw.form);
    let form = Form {
        id: raw.form.value.clone(),
        title: raw.title.value.clone(),
        description: raw.description.map(|d| d.value),
        fields,
        rules,
        file: ctx.file.to_string(),
        ahead: Default::default(),
    };
    Some((form, id_at))
}

/// One field of a form (`top`) or a column of a `list` field.
fn form_field(ctx: &mut Ctx, name: &Spanned<String>, f: &RawField, top: bool) -> Option<Field> {
    check_ident(ctx, name, "field");
    let Some(kind) = FieldType::parse(&f.kind.value) else {
        ctx.unknown(loc(&f.kind), "field type", &f.kind.value, FieldType::NAMES);
        return None;
    };
    let mut ok = true;
    let mut misplaced = |ctx: &mut Ctx, at: Loc, key: &str, needs: &str| {
        ctx.err(
            at,
            format!("`{key}` does not apply to a `{}` field", kind.name()),
            format!("`{key}` is for {needs} fields; remove it"),
        );
        ok = false;
    };
    for (key, v) in [("min", &f.min), ("max", &f.max)] {
        if let Some(v) = v.as_ref().filter(|_| !kind.is_numeric()) {
            misplaced(ctx, loc(v), key, "integer and decimal");
        }
    }
    for (key, v) in [("min_length", &f.min_length), ("max_length", &f.max_length)] {
        if let Some(v) = v.as_ref().filter(|_| !kind.is_textual()) {
            misplaced(ctx, loc(v), key, "text");
        }
    }
    if let Some(p) = f.pattern.as_ref().filter(|_| !kind.is_textual()) {
        misplaced(ctx, loc(p), "pattern", "text");
    }
    if let Some(m) = f.must_be_true.as_ref().filter(|_| kind != FieldType::Boolean) {
        misplaced(ctx, loc(m), "must_be_true", "boolean");
    }
    for (key, v) in [("min_items", &f.min_items), ("max_items", &f.max_items)] {
        if let Some(v) = v.as_ref().filter(|_| kind != FieldType::List) {
            misplaced(ctx, loc(v), key, "list");
        }
    }
    if let Some(v) = f.max_size.as_ref().filter(|_| kind != FieldType::File) {
        misplaced(ctx, loc(v), "max_size", "file");
    }
    if let Some(v) = f.accept.as_ref().filter(|_| kind != FieldType::File) {
        misplaced(ctx, loc(v), "accept", "file");
    }
    let mut list_ok = true;
    let mut columns = Vec::new();
    match (&f.fields, kind == FieldType::List) {
        (Some(cols), true) => {
            for (col, raw) in &cols.0 {
                if raw.kind.value == "list" {
                    ctx.err(
                        loc(&raw.kind),
                        format!("column `{}` of list `{}` is itself a list", col.value, name.value),
                        "a list's columns are plain fields; make a second list field instead",
                    );
                    list_ok = false;
                    continue;
                }
                match form_field(ctx, col, raw, false) {
                    Some(c) => columns.push(c),
                    None => list_ok = false,
                }
            }
            if cols.0.is_empty() {
                ctx.err(
                    loc(&f.kind),
                    format!("list `{}` has no `fields`", name.value),
                    "give the list its columns under `fields:`",
                );
                list_ok = false;
            }
        }
        (Some(cols), false) => {
            let at = cols.0.first().map(|(k, _)| loc(k)).unwrap_or(loc(&f.kind));
            misplaced(ctx, at, "fields", "list");
        }
        (None, true) => {
            ctx.err(
                loc(&f.kind),
                format!("`list` field `{}` has no `fields`", name.value),
                "add `fields:` with the columns of each row, like the fields of a form",
            );
            list_ok = false;
        }
        (None, false) => {}
    }
    if let (Some(min), Some(max)) = (&f.min_items, &f.max_items)
        && min.value > max.value
    {
        ctx.err(
            loc(max),
            format!("`max_items` ({}) is below `min_items` ({})", max.value, min.value),
            "swap the bounds",
        );
        list_ok = false;
    }
    list_ok &= limits_fit(ctx, f, kind);
    let is_choice = matches!(kind, FieldType::Choice | FieldType::MultiChoice);
    match (&f.options, is_choice) {
        (Some(o), false) => {
            let at = o.0.first().map(|(k, _)| loc(k)).unwrap_or(loc(&f.kind));
            misplaced(ctx, at, "options", "choice and multi_choice");
        }
        (None, true) => {
            ctx.err(
                loc(&f.kind),
                format!("`{}` field `{}` has no `options`", kind.name(), name.value),
                "add `options:` mapping each value to its label",
            );
            ok = false;
        }
        _ => {}
    }
    if let (Some(min), Some(max)) = (&f.min, &f.max)
        && min.value > max.value
    {
        ctx.err(loc(max), format!("`max` ({}) is below `min` ({})", max.value, min.value), "swap the bounds");
        ok = false;
    }
    if let (Some(min), Some(max)) = (&f.min_length, &f.max_length)
        && min.value > max.value
    {
        ctx.err(
            loc(max),
            format!("`max_length` ({}) is below `min_length` ({})", max.value, min.value),
            "swap the bounds",
        );
        ok = false;
    }
    let pattern = match &f.pattern {
        Some(p) => match regex::Regex::new(&p.value) {
            Ok(re) => Some(re),
            Err(e) => {
                let text = e.to_string();
                let last = text.lines().last().unwrap_or("").trim();
                let first = last.strip_prefix("error: ").unwrap_or(last).to_string();
                ctx.err(
                    loc(p),
                    format!("invalid pattern: {first}"),
                    "patterns are regular expressions, e.g. `^[A-Z]{3}-[0-9]+$`",
                );
                ok = false;
                None
            }
        },
        None => None,
    };
    let compute = match &f.compute {
        None => None,
        Some(c) => {
            let computable = matches!(
                kind,
                FieldType::Integer
                    | FieldType::Decimal
                    | FieldType::Boolean
                    | FieldType::Text
                    | FieldType::LongText
                    | FieldType::Choice
            );
            if !top {
                ctx.err(loc(c), "a column of a list cannot be computed", "compute a field of the form instead");
                ok = false;
            } else if !computable {
                ctx.err(
                    loc(c),
                    format!("a `{}` field cannot be computed", kind.name()),
                    "compute integer, decimal, boolean, text, long_text or choice fields",
                );
                ok = false;
            }
            let extra = [
                ("required", f.required.then(|| loc(&f.label))),
                ("default", f.default.as_ref().map(|_| loc(&f.label))),
            ];
            for (key, at) in extra {
                if let Some(at) = at {
                    ctx.err(
                        at,
                        format!("`{key}` does not apply to a computed field"),
                        format!("remove `{key}`: the value is computed"),
                    );
                    ok = false;
                }
            }
            if let Some(m) = &f.must_be_true {
                ctx.err(
                    loc(m),
                    "`must_be_true` does not apply to a computed field",
                    "check the value with a form rule instead",
                );
                ok = false;
            }
            let compiled = ctx.expr(c);
            ok &= compiled.is_some();
            compiled
        }
    };
    let max_size = match &f.max_size {
        None => None,
        Some(s) => {
            let bytes = match &s.value {
                SizeText::Bytes(n) => Some(*n).filter(|n| *n > 0),
                SizeText::Text(t) => crate::files::parse_size(t),
            };
            if bytes.is_none() {
                ctx.err(
                    loc(s),
                    "`max_size` is not a size",
                    "write bytes (`5000000`) or a size such as `10 MB` or `512 KB`",
                );
                ok = false;
            }
            bytes
        }
    };
    let field = Field {
        name: name.value.clone(),
        kind,
        label: f.label.value.clone(),
        help: f.help.as_ref().map(|h| h.value.clone()),
        required: f.required,
        min: f.min.as_ref().map(|v| v.value),
        max: f.max.as_ref().map(|v| v.value),
        min_length: f.min_length.as_ref().map(|v| v.value),
        max_length: f.max_length.as_ref().map(|v| v.value),
        pattern,
        options: f
            .options
            .as_ref()
            .map(|o| o.0.iter().map(|(k, v)| (k.value.clone(), v.value.clone())).collect())
            .unwrap_or_default(),
        must_be_true: f.must_be_true.as_ref().is_some_and(|m| m.value),
        default: f.default.clone(),
        fields: columns,
        min_items: f.min_items.as_ref().map(|v| v.value),
        max_items: f.max_items.as_ref().map(|v| v.value),
        compute,
        max_size,
        accept: f.accept.as_ref().map(|a| a.value.iter().map(|x| x.trim().to_string()).collect()).unwrap_or_default(),
    };
    if let Some(d) = &f.default
        && field.check(d).is_err()
    {
        ctx.err(
            loc(&f.label),
            format!("the `default` of field `{}` does not fit its type `{}`", name.value, kind.name()),
            "fix or remove the default",
        );
        ok = false;
    }
    (ok && list_ok).then_some(field)
}

/// `max_items` and `max_length` within the caps of [`super::limits`], and `min_items` within
/// the rows a list takes when it does not say `max_items`.
fn limits_fit(ctx: &mut Ctx, f: &RawField, kind: FieldType) -> bool {
    let mut ok = true;
    if let Some(max) = f.max_items.as_ref().filter(|m| m.value > MAX_ITEMS_CAP) {
        ctx.err(
            loc(max),
            format!("`max_items` ({}) is above the most rows a list may hold ({MAX_ITEMS_CAP})", max.value),
            format!("split the table into lists of at most {MAX_ITEMS_CAP} rows"),
        );
        ok = false;
    }
    if let (Some(min), None) = (&f.min_items, &f.max_items)
        && min.value > DEFAULT_MAX_ITEMS
    {
        ctx.err(
            loc(min),
            format!("`min_items` ({}) is above the most rows this list takes ({DEFAULT_MAX_ITEMS})", min.value),
            format!("add `max_items:` (at most {MAX_ITEMS_CAP}) or ask for fewer rows"),
        );
        ok = false;
    }
    let cap = max_length_cap(kind);
    if let Some(max) = f.max_length.as_ref().filter(|m| m.value > cap) {
        let what = if kind == FieldType::Email { "e-mail address" } else { "text" };
        ctx.err(
            loc(max),
            format!("`max_length` ({}) is above the longest {what} accepted ({cap})", max.value),
            format!("write a `max_length` of at most {cap}, or leave it out"),
        );
        ok = false;
    }
    ok
}

/// The 1-based column, in characters, of `data.<field>` as a whole name inside an expression.
pub(crate) fn data_field_column(source: &str, field: &str) -> u64 {
    let needle = format!("data.{field}");
    let is_name = |c: char| c.is_alphanumeric() || c == '_';
    let mut from = 0;
    while let Some(i) = source[from..].find(&needle) {
        let (start, end) = (from + i, from + i + needle.len());
        let alone_before = source[..start].chars().next_back().is_none_or(|c| !is_name(c) && c != '.');
        let alone_after = source[end..].chars().next().is_none_or(|c| !is_name(c));
        if alone_before && alone_after {
            return source[..start].chars().count() as u64 + 1;
        }
        from = end;
    }
    1
}

/// Ids are lower-case words joined by `_`, `-` or `.`.
pub(crate) fn check_ident(ctx: &mut Ctx, s: &Spanned<String>, what: &str) -> bool {
    let v = &s.value;
    let ok = !v.is_empty()
        && v.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && v.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "_-.".contains(c));
    if !ok {
        ctx.err(
            loc(s),
            format!("`{v}` is not a valid {what} name"),
            "use lower-case letters, digits, `_`, `-` or `.`, starting with a letter (no accents or spaces)",
        );
    }
    ok
}

/// Reads `2 business days`, `90 days before data.fecha`, `3 days after data.x`, `data.fecha`, and
/// instants computed by an expression (`item.fecha`, `add_days(data.fecha, 2)`, `15 days before
/// add_days(…)`).
pub(crate) fn parse_when(ctx: &mut Ctx, s: &Spanned<String>) -> Option<When> {
    let text = s.value.trim();
    if let Some(field) = text.strip_prefix("data.").filter(|f| is_plain_name(f)) {
        return Some(When::Field(field.to_string()));
    }
    for (sep, before) in [(" before ", true), (" after ", false)] {
        if let Some((d, rest)) = text.split_once(sep) {
            let d = ctx.duration(s, d)?;
            let rest = rest.trim();
            if let Some(field) = rest.strip_prefix("data.").filter(|f| is_plain_name(f)) {
                return Some(if before {
                    When::BeforeField(d, field.to_string())
                } else {
                    When::AfterField(d, field.to_string())
                });
            }
            let col = text.find(sep).map(|i| text[..i + sep.len()].chars().count() + 1).unwrap_or(1) as u64;
            if looks_like_expr(rest) {
                let expr = ctx.expr_inside(s, rest, col)?;
                return Some(When::Expr { expr, offset: Some(Offset { duration: d, before }) });
            }
            ctx.err(
                ctx.inside(loc(s), col),
                format!("`{rest}` is not a date field"),
                "count from a date of the data, e.g. `90 days before data.fecha_capacitacion`",
            );
            return None;
        }
    }
    if looks_like_expr(text) {
        let expr = ctx.expr_inside(s, text, 1)?;
        return Some(When::Expr { expr, offset: None });
    }
    ctx.duration(s, text).map(When::After)
}

/// `fecha_capacitacion`: a bare field name, nothing after it.
fn is_plain_name(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// An instant written as an expression: a field of the `for_each` element, or a function call.
fn looks_like_expr(s: &str) -> bool {
    s.starts_with("item.") || s.starts_with("data.") || s.contains('(')
}

pub(crate) fn parse_warn(ctx: &mut Ctx, s: &Spanned<String>) -> Option<Warn> {
    let text = s.value.trim();
    if let Some(p) = text.strip_suffix('%') {
        return match p.trim().parse::<u8>() {
            Ok(p) if (1..=99).contains(&p) => Some(Warn::Percent(p)),
            _ => {
                ctx.err(
                    loc(s),
                    format!("bad warning threshold `{text}`"),
                    "a percentage between 1% and 99%, e.g. `70%`",
                );
                None
            }
        };
    }
    if let Some(d) = text.strip_prefix("after ") {
        return ctx.duration(s, d.trim()).map(Warn::After);
    }
    match text.strip_suffix(" before") {
        Some(d) => ctx.duration(s, d).map(Warn::Before),
        None => {
            ctx.err(
                loc(s),
                format!("bad warning threshold `{text}`"),
                "write `1 business day before`, `after 7 business days` or a percentage such as `70%`",
            );
            None
        }
    }
}

pub(crate) fn cron_ok(ctx: &mut Ctx, s: &Spanned<String>) -> bool {
    match croner::Cron::from_str(&s.value) {
        Ok(_) => true,
        Err(e) => {
            ctx.err(loc(s), format!("bad cron line `{}`: {e}", s.value), "five fields: minute hour day-of-month month day-of-week, e.g. `0 9 1 * *` (09:00 on the 1st of each month)");
            false
        }
    }
}

use super::build::ProcessBuilder;

/// Loads the calendar files among `files` (in rounds, so one may extend another defined later),
/// plus the shipped calendars no file defines.
pub fn load_calendars(files: &[SourceFile], diags: &mut Vec<Diagnostic>) -> BTreeMap<String, Calendar> {
    let mut pending: Vec<&SourceFile> = files.iter().filter(|f| FileKind::of(&f.text) == FileKind::Calendar).collect();
    let mut done: BTreeMap<String, Calendar> = BTreeMap::new();
    // Load in rounds so a calendar can extend one defined in a later file.
    loop {
        let mut progressed = false;
        let mut failed = Vec::new();
        for f in std::mem::take(&mut pending) {
            let lookup = |name: &str| done.get(name).cloned().or_else(|| calendar::builtin(name));
            match Calendar::from_yaml(&f.path, &f.text, &lookup) {
                Ok(c) => {
                    done.insert(c.name().to_string(), c);
                    progressed = true;
                }
                Err(errs) => failed.push((f, errs)),
            }
        }
        if !progressed || failed.is_empty() {
            for (_, mut errs) in failed {
                diags.append(&mut errs);
            }
            break;
        }
        pending = failed.into_iter().map(|(f, _)| f).collect();
    }
    for name in calendar::BUILTIN {
        if !done.contains_key(*name)
            && let Some(c) = calendar::builtin(name)
        {
            done.insert(c.name().to_string(), c);
        }
    }
    done
}
