//! Turns one [`RawProcess`] into a [`Process`], checking every name it refers to.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use serde_saphyr::Spanned;

use super::Folio;
use super::form::{Field, FieldType};
use super::items::ItemUse;
use super::load::{Catalog, Ctx, check_ident, cron_ok, data_field_column, loc, parse_warn, parse_when, template_path};
use super::model::*;
use super::raw::*;
use crate::calendar::{Duration, Warn};
use crate::diagnostic::{Diagnostic, Loc};

/// The deadline keys of a step or a branch, as written.
struct DueKeys<'r> {
    due: Option<&'r Spanned<String>>,
    on_overdue: Option<&'r Vec<Spanned<RawAction>>>,
    warn: Option<&'r Spanned<String>>,
    on_warning: Option<&'r Vec<Spanned<RawAction>>>,
}

/// Refuses a warning that can only come after its limit (`after 3 business days` within
/// `2 business days`), or before the clock even starts (`3 days before` within `2 days`), when
/// both are counted in the same unit.
fn warn_fits(ctx: &mut Ctx, at: &Spanned<String>, warn: Warn, limit: Duration, what: &str) -> Option<()> {
    let (d, after) = match warn {
        Warn::After(d) => (d, true),
        Warn::Before(d) => (d, false),
        Warn::Percent(_) => return Some(()),
    };
    if d.unit != limit.unit || d.amount < limit.amount {
        return Some(());
    }
    let (message, help) = if after {
        (
            format!("the warning comes after the {what} is due ({d} after the start, due in {limit})"),
            "warn before the limit, e.g. `after 1 business day` or `1 business day before`",
        )
    } else {
        (
            format!("the warning comes before the {what} starts ({d} before a limit of {limit})"),
            "warn closer to the limit, e.g. `1 business day before`",
        )
    };
    ctx.err(loc(at), message, help);
    None
}

/// Step names with a meaning of their own in `next`/`goto`.
const RESERVED: [&str; 2] = ["end", "join"];

pub(crate) struct ProcessBuilder<'c, 'a> {
    pub(super) ctx: &'c mut Ctx<'a>,
    pub(super) catalog: &'c Catalog,
    pub(super) processes: &'c BTreeSet<String>,
    pub(super) raw: &'c RawProcess,
    pub(super) steps: HashMap<String, StepIx>,
    pub(super) roles: Vec<String>,
    pub(super) role_set: HashSet<String>,
    /// Known data fields and their types; `None` when the process declares no forms at all.
    pub(super) fields: Option<HashMap<String, FieldType>>,
    /// The columns of every `list` field of the process's forms.
    pub(super) lists: HashMap<String, Vec<Field>>,
    /// Every field of the process's forms by name, the first form's where two share a name.
    pub(super) form_fields: HashMap<String, Field>,
    /// The step being built, for [`ItemUse`]s (`None` for SLAs and schedules).
    pub(super) current: Option<StepIx>,
    /// Every reading of `item`, checked once the flow is known.
    pub(super) item_uses: Vec<ItemUse>,
    /// The templates its messages name, checked.
    templates: BTreeMap<String, Template>,
    /// Each (template, with a link) checked, and whether it passed.
    checked: HashMap<(String, bool), bool>,
    /// Problems found in those templates (each in its own file).
    in_templates: &'c mut Vec<Diagnostic>,
}

impl<'c, 'a> ProcessBuilder<'c, 'a> {
    pub fn new(
        ctx: &'c mut Ctx<'a>,
        catalog: &'c Catalog,
        processes: &'c BTreeSet<String>,
        raw: &'c RawProcess,
        in_templates: &'c mut Vec<Diagnostic>,
    ) -> Self {
        let steps = raw.steps.0.iter().enumerate().map(|(i, (k, _))| (k.value.clone(), i)).collect();
        let roles: Vec<String> = raw.roles.0.iter().map(|(k, _)| k.value.clone()).collect();
        let role_set = roles.iter().cloned().collect();
        ProcessBuilder {
            ctx,
            catalog,
            processes,
            raw,
            steps,
            roles,
            role_set,
            fields: None,
            lists: HashMap::new(),
            form_fields: HashMap::new(),
            current: None,
            item_uses: Vec::new(),
            templates: BTreeMap::new(),
            checked: HashMap::new(),
            in_templates,
        }
    }

    pub fn build(mut self) -> Option<Process> {
        let raw = self.raw;
        check_ident(self.ctx, &raw.process, "process");
        if !self.catalog.calendars.contains_key(&raw.calendar.value) {
            let known: Vec<&str> = self.catalog.calendars.keys().map(String::as_str).collect();
            self.ctx.unknown(loc(&raw.calendar), "calendar", &raw.calendar.value, known);
        }
        for (id, _) in &raw.roles.0 {
            check_ident(self.ctx, id, "role");
        }
        if raw.steps.0.is_empty() {
            self.ctx.err(
                loc(&raw.process),
                "the process has no steps",
                "add a `steps:` mapping; the first step is where instances begin",
            );
            return None;
        }
        self.fields = self.collect_fields();
        let start = self.start();
        let mut steps = Vec::new();
        for (i, (id, s)) in raw.steps.0.iter().enumerate() {
            self.current = Some(i);
            if let Some(step) = self.step(id, s) {
                steps.push(step);
            }
        }
        self.current = None;
        let slas = raw.slas.0.iter().filter_map(|(id, s)| self.sla(id, s)).collect();
        let schedules = raw.schedules.0.iter().filter_map(|(id, s)| self.schedule(id, s)).collect();
        if steps.len() != raw.steps.0.len() {
            return None;
        }
        let mut process = Process::new(
            raw.process.value.clone(),
            raw.title.value.clone(),
            raw.description.as_ref().map(|d| d.value.clone()),
            raw.source.as_ref().map(|d| d.value.clone()),
            raw.calendar.value.clone(),
            raw.roles.0.iter().map(|(k, v)| (k.value.clone(), v.value.clone())).collect(),
            start,
            steps,
            slas,
            schedules,
            self.ctx.file.to_string(),
        );
        process.templates = std::mem::take(&mut self.templates);
        super::validate::graph(self.ctx, &process, raw);
        self.check_item_uses(&process);
        Some(process)
    }

    fn collect_fields(&mut self) -> Option<HashMap<String, FieldType>> {
        let mut forms: Vec<&Spanned<String>> = Vec::new();
        forms.extend(self.raw.start.as_ref().and_then(|s| s.form.as_ref()));
        forms.extend(self.raw.steps.0.iter().filter_map(|(_, s)| s.form.as_ref()));
        // Each form once (many steps fill in the same form): where two forms have a field of
        // the same name, its type and columns are the last form's, the field itself the first's.
        let last: HashMap<&str, usize> = forms.iter().enumerate().map(|(i, f)| (f.value.as_str(), i)).collect();
        let mut out = HashMap::new();
        for (_, f) in forms.iter().enumerate().filter(|(i, f)| last[f.value.as_str()] == *i) {
            if let Some(form) = self.catalog.forms.get(&f.value) {
                out.extend(form.fields.iter().map(|fl| (fl.name.clone(), fl.kind)));
                for fl in form.fields.iter().filter(|fl| fl.kind == FieldType::List) {
                    self.lists.insert(fl.name.clone(), fl.fields.clone());
                }
            }
        }
        let mut seen = BTreeSet::new();
        for f in forms.iter().filter(|f| seen.insert(f.value.as_str())) {
            for fl in self.catalog.forms.get(&f.value).map(|form| form.fields.as_slice()).unwrap_or(&[]) {
                self.form_fields.entry(fl.name.clone()).or_insert_with(|| fl.clone());
            }
        }
        for (_, s) in &self.raw.schedules.0 {
            out.extend(s.data.keys().map(|k| (k.clone(), FieldType::Text)));
        }
        (!forms.is_empty()).then_some(out)
    }

    fn start(&mut self) -> Start {
        let Some(s) = &self.raw.start else { return Start::default() };
        let form = s.form.as_ref().and_then(|f| self.form_ref(f));
        let roles = s.roles.iter().filter(|r| self.role_ref(r)).map(|r| r.value.clone()).collect();
        let folio = s.folio.as_ref().and_then(|f| match Folio::parse(&f.value) {
            Ok(folio) => Some(folio),
            Err(e) => {
                self.ctx.err(loc(f), e, "e.g. `folio: COR-{year}-{seq:05}` gives COR-2026-00001, COR-2026-00002, …");
                None
            }
        });
        let public = s.public.as_ref().map(|p| Public {
            received: p
                .value
                .received
                .as_ref()
                .filter(|f| self.start_field(f, &[FieldType::DateTime]))
                .map(|f| f.value.clone()),
            thanks: p.value.thanks.as_ref().map(|t| t.value.clone()),
        });
        let mailbox = s.mailbox.as_ref().map(|m| {
            use FieldType::*;
            let mut field = |f: &Option<Spanned<String>>, types: &[FieldType]| {
                f.as_ref().filter(|f| self.start_field(f, types)).map(|f| f.value.clone())
            };
            Mailbox {
                from: field(&m.value.from, &[Email, Text]),
                name: field(&m.value.name, &[Text]),
                subject: field(&m.value.subject, &[Text, LongText]),
                body: field(&m.value.body, &[LongText, Text]),
                date: field(&m.value.date, &[DateTime]),
                attachment: field(&m.value.attachment, &[File]),
            }
        });
        if s.form.is_none()
            && let Some(at) = s.public.as_ref().map(loc).or(s.mailbox.as_ref().map(loc))
        {
            self.ctx.err(at, "a case started from outside needs a start form", "add `form: <form>` under `start:`");
        }
        let start_form = s.form.as_ref().and_then(|f| self.catalog.forms.get(&f.value));
        if let (Some(p), Some(file)) =
            (&s.public, start_form.and_then(|f| f.fields.iter().find(|x| x.kind == FieldType::File)))
        {
            let message = format!("a public start form takes no files, and this one has `{}`", file.name);
            self.ctx.err(loc(p), message, "give the public start form no `file` fields");
        }
        Start { form, roles, folio, public, mailbox }
    }

    /// A field of the start form that the server fills in, of one of `types`.
    fn start_field(&mut self, f: &Spanned<String>, types: &[FieldType]) -> bool {
        let form = self.raw.start.as_ref().and_then(|s| s.form.as_ref()).and_then(|n| self.catalog.forms.get(&n.value));
        let Some(form) = form else { return false };
        let names: Vec<&str> = types.iter().map(|t| t.name()).collect();
        match form.fields.iter().find(|x| x.name == f.value) {
            Some(x) if types.contains(&x.kind) => true,
            Some(x) => {
                let message =
                    format!("`{}` is a `{}` field; this needs {}", f.value, x.kind.name(), names.join(" or "));
                self.ctx.err(loc(f), message, "name a field of that type in the start form");
                false
            }
            None => {
                let known: Vec<&str> = form.fields.iter().map(|x| x.name.as_str()).collect();
                self.ctx.unknown(loc(f), "field of the start form", &f.value, known);
                false
            }
        }
    }

    /// A message of a `send:` entry or action, its template read and checked.
    fn message(&mut self, m: &RawSend) -> Option<Message> {
        let mut ok = true;
        let to = match &m.to {
            Some(e) => {
                let e = self.expr(e);
                ok &= e.is_some();
                e
            }
            None => None,
        };
        let roles: Vec<String> = m.roles.iter().filter(|r| self.role_ref(r)).map(|r| r.value.clone()).collect();
        ok &= roles.len() == m.roles.len();
        if to.is_none() && m.roles.is_empty() && ok {
            self.ctx.err(
                loc(&m.template),
                "the message goes to no one",
                "add `to: data.<e-mail field>` or `roles: [..]`",
            );
            ok = false;
        }
        let mut attach = Vec::new();
        for f in &m.attach {
            let name = f.value.strip_prefix("data.").unwrap_or(&f.value);
            match self.form_fields.get(name).map(|x| x.kind) {
                Some(FieldType::File) => attach.push(name.to_string()),
                Some(other) => {
                    let message = format!("`{}` is a `{}` field, not a file", f.value, other.name());
                    self.ctx.err(loc(f), message, "attach `file` fields of the process's forms");
                    ok = false;
                }
                None => {
                    let known: Vec<&str> = self
                        .form_fields
                        .values()
                        .filter(|x| x.kind == FieldType::File)
                        .map(|x| x.name.as_str())
                        .collect();
                    self.ctx.unknown(loc(f), "file field", name, known);
                    ok = false;
                }
            }
        }
        let link = match &m.link {
            Some(s) => {
                let ix = self.step_ref(s);
                let linkable = ix.is_some_and(|i| self.raw.steps.0[i].1.link.is_some());
                if ix.is_some() && !linkable {
                    let help =
                        format!("add `link: 10 business days` to step `{}` so it can be answered by link", s.value);
                    self.ctx.err(loc(s), format!("step `{}` cannot be answered by link", s.value), help);
                }
                ok &= linkable;
                ix
            }
            None => None,
        };
        let condition = match &m.if_ {
            Some(e) => {
                let e = self.expr(e);
                ok &= e.is_some();
                e
            }
            None => None,
        };
        let on_entry = match m.on.as_ref().map(|o| (o, o.value.as_str())) {
            None | Some((_, "completed")) => false,
            Some((_, "entered")) => true,
            Some((o, other)) => {
                self.ctx.err(
                    loc(o),
                    format!("unknown `on: {other}`"),
                    "`on: completed` (the default) or `on: entered`",
                );
                ok = false;
                false
            }
        };
        ok &= self.template(&m.template, link.is_some());
        ok.then(|| Message { template: m.template.value.clone(), to, roles, attach, link, condition, on_entry })
    }

    /// Reads and checks template `name` of this process; false when missing or wrong.
    fn template(&mut self, name: &Spanned<String>, link: bool) -> bool {
        let path = template_path(self.ctx.file, &name.value);
        if let Some(clean) = self.checked.get(&(name.value.clone(), link)) {
            return *clean;
        }
        // A file posted alone (no folder of its own) finds the template of that name the tree
        // holds, when exactly one folder has it.
        let path = if self.catalog.templates.contains_key(&path) {
            path
        } else {
            let suffix = format!("messages/{}.hbs", name.value);
            let mut found =
                self.catalog.templates.keys().filter(|p| p.ends_with(&format!("/{suffix}")) || **p == suffix);
            match (found.next(), found.next()) {
                (Some(one), None) if !self.ctx.file.contains('/') => one.clone(),
                _ => path,
            }
        };
        let Some(text) = self.catalog.templates.get(&path) else {
            let folder = path.strip_suffix(&format!("{}.hbs", name.value)).unwrap_or("");
            let known: Vec<&str> =
                self.catalog.templates.keys().filter_map(|p| p.strip_prefix(folder)?.strip_suffix(".hbs")).collect();
            self.ctx.unknown(loc(name), "template", &name.value, known);
            if let Some(d) = self.ctx.diags.last_mut() {
                d.help = Some(format!("write it in {path}: the subject on the first line, then the body"));
            }
            return false;
        };
        let mut ctx = Ctx::new(&path, text);
        let scope = super::template::Scope { fields: self.fields.as_ref(), link };
        super::template::check(&mut ctx, text, &scope);
        let problems = ctx.finish();
        let clean = problems.is_empty();
        self.in_templates.extend(problems);
        self.checked.insert((name.value.clone(), link), clean);
        self.templates.insert(name.value.clone(), Template { file: path, text: text.clone() });
        clean
    }

    fn form_ref(&mut self, f: &Spanned<String>) -> Option<String> {
        if self.catalog.forms.contains_key(&f.value) {
            Some(f.value.clone())
        } else {
            let known: Vec<&str> = self.catalog.forms.keys().map(String::as_str).collect();
            self.ctx.unknown(loc(f), "form", &f.value, known);
            None
        }
    }

    pub(super) fn role_ref(&mut self, r: &Spanned<String>) -> bool {
        if self.role_set.contains(&r.value) {
            return true;
        }
        let known: Vec<&str> = self.roles.iter().map(String::as_str).collect();
        self.ctx.unknown(loc(r), "role", &r.value, known);
        false
    }

    fn target(&mut self, at: Loc, name: &str) -> Option<Target> {
        match name {
            "end" => Some(Target::End),
            "join" => Some(Target::Join),
            _ => match self.steps.get(name) {
                Some(i) => Some(Target::Step(*i)),
                None => {
                    let mut known: Vec<&str> = self.raw.steps.0.iter().map(|(k, _)| k.value.as_str()).collect();
                    known.extend(RESERVED);
                    self.ctx.unknown(at, "step", name, known);
                    None
                }
            },
        }
    }

    fn step_ref(&mut self, s: &Spanned<String>) -> Option<StepIx> {
        match self.target(loc(s), &s.value)? {
            Target::Step(i) => Some(i),
            _ => {
                self.ctx.err(loc(s), format!("`{}` is not a step here", s.value), "name a step of this process");
                None
            }
        }
    }

    /// Data field used by an expression or a date: must exist in one of the process's forms.
    /// A `call` step also writes data: its sub-process's result as `data.<step>.outcome` and
    /// `data.<step>.data`.
    pub(super) fn data_field(&mut self, at: Loc, field: &str, want_date: bool) -> bool {
        let Some(fields) = &self.fields else { return true };
        let step = self.steps.get(field).map(|i| &self.raw.steps.0[*i].1);
        let call_result = step.is_some_and(|s| s.call.is_some());
        if call_result && !fields.contains_key(field) {
            if want_date {
                let help = "count from a `date` or `datetime` field";
                self.ctx.err(at, format!("`data.{field}` is the result of call step `{field}`, not a date"), help);
            }
            return !want_date;
        }
        let each_result = step.is_some_and(|s| s.for_each.is_some());
        if each_result && !fields.contains_key(field) {
            if want_date {
                let help = "count from a `date` or `datetime` field";
                self.ctx.err(at, format!("`data.{field}` is the list of step `{field}`'s elements, not a date"), help);
            }
            return !want_date;
        }
        match fields.get(field) {
            Some(kind) if want_date && !matches!(kind, FieldType::Date | FieldType::DateTime) => {
                self.ctx.err(
                    at,
                    format!("`data.{field}` is a `{}` field, not a date", kind.name()),
                    "count from a `date` or `datetime` field",
                );
                false
            }
            Some(_) => true,
            None => {
                let known: Vec<String> = fields.keys().cloned().collect();
                let mut sorted: Vec<&str> = known.iter().map(String::as_str).collect();
                sorted.sort_unstable();
                let before = self.ctx.diags.len();
                self.ctx.unknown(at, "data field", &format!("data.{field}"), sorted.iter().copied());
                let recorded = self.ctx.diags.len() > before;
                if recorded && let Some(d) = self.ctx.diags.last_mut() {
                    d.message = format!("`data.{field}` is not a field of any form of this process");
                    if let Some(best) = crate::diagnostic::did_you_mean(field, sorted.iter().copied()) {
                        d.help = Some(format!("did you mean `data.{best}`?"));
                    }
                }
                false
            }
        }
    }

    pub(super) fn expr(&mut self, s: &Spanned<String>) -> Option<crate::expr::Expr> {
        let e = self.ctx.expr(s)?;
        self.expr_fields(s, &e, false).then_some(e)
    }

    fn when(&mut self, s: &Spanned<String>) -> Option<When> {
        let w = parse_when(self.ctx, s)?;
        if let Some(f) = w.field() {
            let at = self.ctx.inside(loc(s), data_field_column(&s.value, f));
            if !self.data_field(at, f, true) {
                return None;
            }
        }
        if let When::Expr { expr, .. } = &w
            && !self.expr_fields(s, expr, true)
        {
            return None;
        }
        Some(w)
    }

    fn next(&mut self, step: &Spanned<String>, next: Option<&Spanned<RawNext>>, required: bool) -> Option<Next> {
        let Some(next) = next else {
            if required {
                self.ctx.err(
                    loc(step),
                    format!("step `{}` has no `next`", step.value),
                    "add `next: <step>` (or `next: end`)",
                );
            }
            return None;
        };
        match &next.value {
            RawNext::One(name) => {
                let t = self.target(loc(next), name)?;
                Some(Next(vec![Arm { when: None, target: t }]))
            }
            RawNext::Arms(arms) => {
                let mut out = Vec::new();
                let mut ok = true;
                let mut default_seen: Option<Loc> = None;
                for arm in arms {
                    if let Some(d) = default_seen {
                        self.ctx.err(
                            loc(arm),
                            "this entry comes after the default and can never be taken",
                            format!("the entry without `when` (line {}) must be last", d.line),
                        );
                        ok = false;
                    }
                    let when = match &arm.value.when {
                        Some(w) => {
                            let e = self.expr(w);
                            ok &= e.is_some();
                            e
                        }
                        None => {
                            default_seen = Some(loc(arm));
                            None
                        }
                    };
                    match self.target(loc(&arm.value.goto), &arm.value.goto.value) {
                        Some(target) => out.push(Arm { when, target }),
                        None => ok = false,
                    }
                }
                if default_seen.is_none() {
                    self.ctx.err(
                        loc(next),
                        format!("the choices of step `{}` have no default", step.value),
                        "add a last entry without `when`, e.g. `- goto: <step>`",
                    );
                    ok = false;
                }
                ok.then_some(Next(out))
            }
        }
    }

    fn actions(&mut self, list: &[Spanned<RawAction>], allow_goto: bool) -> Vec<Action> {
        let mut out = Vec::new();
        for a in list {
            match &a.value {
                RawAction::Notify(r) if self.role_ref(r) => out.push(Action::Notify(r.value.clone())),
                RawAction::Reassign(r) if self.role_ref(r) => out.push(Action::Reassign(r.value.clone())),
                RawAction::Goto(s) if !allow_goto => {
                    self.ctx.err(
                        loc(s),
                        "`goto` is only allowed in a step's `on_overdue`",
                        "an SLA watches the whole instance; use `notify` or `reassign`",
                    );
                }
                RawAction::Goto(s) => {
                    if let Some(i) = self.step_ref(s) {
                        out.push(Action::Goto(i));
                    }
                }
                RawAction::Send(m) => {
                    if let Some(on) = &m.on {
                        let help = "a deadline or SLA action sends when it runs; drop `on`";
                        self.ctx.err(loc(on), "`on` applies to a step's `send`, not to an action", help);
                    } else if let Some(m) = self.message(m) {
                        out.push(Action::Send(Box::new(m)));
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// A step's or a branch's `due:`, with `on_overdue:`, `warn:` and `on_warning:`.
    fn due(&mut self, keys: DueKeys<'_>, at: Loc) -> Option<Due> {
        let Some(d) = keys.due else {
            let stray =
                [("on_overdue", keys.on_overdue.and_then(|v| v.first()).map(loc)), ("warn", keys.warn.map(loc))]
                    .into_iter()
                    .chain([("on_warning", keys.on_warning.and_then(|v| v.first()).map(loc))])
                    .find_map(|(k, l)| l.map(|l| (k, l)));
            if let Some((key, l)) = stray {
                let (l, help) = match key {
                    "on_overdue" => (at, "add `due: <duration>` so the step can become overdue"),
                    _ => (l, "add `due: <duration>`: a warning counts toward the deadline"),
                };
                self.ctx.err(l, format!("`{key}` without `due`"), help);
            }
            return None;
        };
        let when = self.when(d)?;
        let on_overdue = self.actions(keys.on_overdue.map(Vec::as_slice).unwrap_or(&[]), true);
        let warn = match keys.warn {
            Some(w) => {
                let warn = parse_warn(self.ctx, w)?;
                if let When::After(limit) = &when {
                    warn_fits(self.ctx, w, warn, *limit, "deadline")?;
                }
                Some(warn)
            }
            None => None,
        };
        if warn.is_none()
            && let Some(first) = keys.on_warning.and_then(|v| v.first())
        {
            self.ctx.err(
                loc(first),
                "`on_warning` without `warn`",
                "add `warn: 1 business day before` (or `after …`, or `70%`)",
            );
            return None;
        }
        let on_warning = self.actions(keys.on_warning.map(Vec::as_slice).unwrap_or(&[]), false);
        Some(Due { at: when, on_overdue, warn, on_warning })
    }

    fn step(&mut self, id: &Spanned<String>, s: &RawStep) -> Option<Step> {
        check_ident(self.ctx, id, "step");
        if RESERVED.contains(&id.value.as_str()) {
            self.ctx.err(
                loc(id),
                format!("`{}` is a reserved word and cannot name a step", id.value),
                "rename the step, e.g. `fin` or `unir`",
            );
            return None;
        }
        let kinds: Vec<(&str, &Spanned<String>)> = [
            ("task", &s.task),
            ("approval", &s.approval),
            ("decision", &s.decision),
            ("parallel", &s.parallel),
            ("wait", &s.wait),
            ("call", &s.call),
            ("end", &s.end),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k, v)))
        .collect();
        let (kind, head) = match kinds.as_slice() {
            [] => {
                self.ctx.err(
                    loc(id),
                    format!("step `{}` does not say what it is", id.value),
                    "give it one of `task:`, `approval:`, `decision:`, `parallel:`, `wait:`, `call:` or `end:`",
                );
                return None;
            }
            [one] => *one,
            [first, second, ..] => {
                self.ctx.err(
                    loc(second.1),
                    format!("step `{}` is both {} and {}", id.value, a_kind(first.0), a_kind(second.0)),
                    "a step is of one kind; split it into two steps",
                );
                return None;
            }
        };
        if !self.keys_fit(kind, s) {
            return None;
        }
        let title = match kind {
            "end" | "call" => s.title.as_ref().map(|t| t.value.clone()).unwrap_or_else(|| head.value.clone()),
            _ => head.value.clone(),
        };
        let step_kind = match kind {
            "task" | "approval" => {
                let role = s.role.as_ref().and_then(|r| self.role(r));
                if s.role.is_none() {
                    self.ctx.err(
                        loc(head),
                        format!("{kind} `{}` has no `role`", id.value),
                        "add `role: <role>` naming who does it",
                    );
                }
                let form = s.form.as_ref().and_then(|f| self.form_ref(f));
                let keys = DueKeys {
                    due: s.due.as_ref(),
                    on_overdue: s.on_overdue.as_ref(),
                    warn: s.warn.as_ref(),
                    on_warning: s.on_warning.as_ref(),
                };
                let due = self.due(keys, loc(head));
                let (role, role_from) = role?;
                let scope = match &s.scope {
                    Some(x) => Some(self.expr(x)?),
                    None => None,
                };
                let assignee = match &s.assignee {
                    Some(x) => Some(self.expr(x)?),
                    None => None,
                };
                let report = match &s.report {
                    Some(r) if self.processes.contains(&r.value) => Some(r.value.clone()),
                    Some(r) => {
                        let known: Vec<&str> = self.processes.iter().map(String::as_str).collect();
                        self.ctx.unknown(loc(r), "process", &r.value, known);
                        return None;
                    }
                    None => None,
                };
                let work = Work { role, role_from, scope, assignee, form, due, report };
                if kind == "task" {
                    StepKind::Task { work, next: self.next(id, s.next.as_ref(), true)? }
                } else {
                    let (approve, reject) = match (&s.approve, &s.reject) {
                        (Some(a), Some(r)) => (self.target(loc(a), &a.value), self.target(loc(r), &r.value)),
                        (a, _) => {
                            let missing = if a.is_none() { "approve" } else { "reject" };
                            self.ctx.err(
                                loc(head),
                                format!("approval `{}` has no `{missing}` outcome", id.value),
                                "an approval needs both `approve: <step>` and `reject: <step>`",
                            );
                            return None;
                        }
                    };
                    StepKind::Approval { work, approve: approve?, reject: reject? }
                }
            }
            "decision" => StepKind::Decision { next: self.next(id, s.next.as_ref(), true)? },
            "parallel" => {
                let raw_branches = s.branches.as_deref().unwrap_or(&[]);
                let for_each = match &s.for_each {
                    Some(list) => Some(self.for_each(list)?),
                    None => None,
                };
                if for_each.is_some() && raw_branches.len() != 1 {
                    self.ctx.err(
                        loc(head),
                        format!(
                            "parallel `{}` runs `for_each` element but has {} branches",
                            id.value,
                            raw_branches.len()
                        ),
                        "a `for_each` parallel step has exactly one branch, run once per element of the list",
                    );
                    return None;
                }
                if for_each.is_none() && raw_branches.len() < 2 {
                    self.ctx.err(
                        loc(head),
                        format!("parallel `{}` needs at least two `branches`", id.value),
                        "list the first step of each branch under `branches:`",
                    );
                    return None;
                }
                let mut branches = Vec::new();
                for b in raw_branches {
                    let none = DueKeys { due: None, on_overdue: None, warn: None, on_warning: None };
                    let (start, keys) = match &b.value {
                        RawBranch::Short(name) => (Spanned::new(name.clone(), b.referenced, b.defined), none),
                        RawBranch::Long(l) => (
                            l.start.clone(),
                            DueKeys {
                                due: l.due.as_ref(),
                                on_overdue: l.on_overdue.as_ref(),
                                warn: l.warn.as_ref(),
                                on_warning: l.on_warning.as_ref(),
                            },
                        ),
                    };
                    let start = self.step_ref(&start);
                    // A branch's deadline reads `item` as its first step does.
                    let parallel = self.current;
                    self.current = start.or(parallel);
                    let due = self.due(keys, loc(b));
                    self.current = parallel;
                    branches.push(Branch { start: start?, due });
                }
                let join = match s.join.as_ref().map(|j| (j, j.value.as_str())) {
                    None | Some((_, "all")) => JoinMode::All,
                    Some((_, "any")) => JoinMode::Any,
                    Some((j, other)) => {
                        self.ctx.err(
                            loc(j),
                            format!("unknown join `{other}`"),
                            "`join: all` waits for every branch, `join: any` for the first",
                        );
                        return None;
                    }
                };
                StepKind::Parallel { branches, join, next: self.next(id, s.next.as_ref(), true)?, for_each }
            }
            "wait" => {
                let until = match (&s.for_, &s.until) {
                    (Some(d), None) => {
                        let d = self.ctx.duration(d, d.value.trim())?;
                        When::After(d)
                    }
                    (None, Some(u)) => self.when(u)?,
                    (Some(_), Some(u)) => {
                        self.ctx.err(loc(u), "a wait has either `for` or `until`, not both", "keep one of them");
                        return None;
                    }
                    (None, None) => {
                        self.ctx.err(
                            loc(head),
                            format!("wait `{}` says neither `for` nor `until`", id.value),
                            "add `for: 3 business days` or `until: 16 business days before data.fecha`",
                        );
                        return None;
                    }
                };
                StepKind::Wait { until, next: self.next(id, s.next.as_ref(), true)? }
            }
            "call" => {
                if !self.processes.contains(&head.value) {
                    let known: Vec<&str> = self.processes.iter().map(String::as_str).collect();
                    self.ctx.unknown(loc(head), "process", &head.value, known);
                }
                let mut input = Vec::new();
                for (k, v) in s.input.as_ref().map(|i| i.0.as_slice()).unwrap_or(&[]) {
                    if let Some(e) = self.expr(v) {
                        input.push((k.value.clone(), e, loc(k)));
                    }
                }
                let next = self.next(id, s.next.as_ref(), true)?;
                StepKind::Call { process: head.value.clone(), input, next, at: loc(head) }
            }
            _ => {
                check_ident(self.ctx, head, "outcome");
                StepKind::End { outcome: head.value.clone() }
            }
        };
        // Every message checked, so one run reports the problems of all.
        let send: Vec<Option<Message>> = s.send.iter().flatten().map(|m| self.message(&m.value)).collect();
        let send: Vec<Message> = send.into_iter().collect::<Option<_>>()?;
        let link = match &s.link {
            Some(d) => {
                let form = s.form.as_ref().and_then(|f| self.catalog.forms.get(&f.value));
                if let Some(file) = form.and_then(|f| f.fields.iter().find(|x| x.kind == FieldType::File)) {
                    let message = format!("a task answered by link takes no files, and its form has `{}`", file.name);
                    self.ctx.err(loc(d), message, "give the task a form without `file` fields");
                    return None;
                }
                Some(self.ctx.duration(d, d.value.trim())?)
            }
            None => None,
        };
        Some(Step {
            id: id.value.clone(),
            title,
            description: s.description.as_ref().map(|d| d.value.clone()),
            loc: loc(id),
            kind: step_kind,
            send,
            link,
        })
    }

    /// Reports every key that does not belong to this kind of step.
    fn keys_fit(&mut self, kind: &str, s: &RawStep) -> bool {
        let allowed: &[&str] = match kind {
            "task" => &[
                "role",
                "scope",
                "assignee",
                "form",
                "next",
                "due",
                "on_overdue",
                "warn",
                "on_warning",
                "send",
                "link",
                "report",
            ],
            "approval" => &[
                "role",
                "scope",
                "assignee",
                "form",
                "approve",
                "reject",
                "due",
                "on_overdue",
                "warn",
                "on_warning",
                "send",
                "report",
            ],
            "decision" => &["next", "send"],
            "parallel" => &["branches", "join", "next", "for_each", "send"],
            "wait" => &["for", "until", "next", "send"],
            "call" => &["title", "input", "next", "send"],
            _ => &["title", "send"],
        };
        let present: [(&str, Option<Loc>); 21] = [
            ("report", s.report.as_ref().map(loc)),
            ("send", s.send.as_ref().and_then(|v| v.first()).map(loc)),
            ("link", s.link.as_ref().map(loc)),
            ("title", s.title.as_ref().map(loc)),
            ("role", s.role.as_ref().map(loc)),
            ("scope", s.scope.as_ref().map(loc)),
            ("assignee", s.assignee.as_ref().map(loc)),
            ("form", s.form.as_ref().map(loc)),
            ("next", s.next.as_ref().map(loc)),
            ("approve", s.approve.as_ref().map(loc)),
            ("reject", s.reject.as_ref().map(loc)),
            ("due", s.due.as_ref().map(loc)),
            ("on_overdue", s.on_overdue.as_ref().and_then(|v| v.first()).map(loc)),
            ("warn", s.warn.as_ref().map(loc)),
            ("on_warning", s.on_warning.as_ref().and_then(|v| v.first()).map(loc)),
            ("branches", s.branches.as_ref().and_then(|v| v.first()).map(loc)),
            ("join", s.join.as_ref().map(loc)),
            ("for", s.for_.as_ref().map(loc)),
            ("until", s.until.as_ref().map(loc)),
            ("input", s.input.as_ref().and_then(|i| i.0.first()).map(|(k, _)| loc(k))),
            ("for_each", s.for_each.as_ref().map(loc)),
        ];
        let mut ok = true;
        for (key, at) in present {
            if let Some(at) = at
                && !allowed.contains(&key)
            {
                let help = match key {
                    "title" => format!("a {kind} step takes its title from `{kind}:`"),
                    _ => format!("a `{kind}` step takes: {}", allowed.join(", ")),
                };
                self.ctx.err(at, format!("`{key}` does not apply to a `{kind}` step"), help);
                ok = false;
            }
        }
        ok
    }

    fn anchor(&mut self, s: &Spanned<String>, is_from: bool) -> Option<Anchor> {
        let v = s.value.trim();
        let anchor = match v {
            "started" => Anchor::Started,
            "completed" => Anchor::Completed,
            _ if v.starts_with("data.") => {
                let f = &v["data.".len()..];
                let at = self.ctx.inside(loc(s), 1);
                if !self.data_field(at, f, true) {
                    return None;
                }
                Anchor::Data(f.to_string())
            }
            _ => {
                let Some((step, event)) = v.rsplit_once('.') else {
                    self.ctx.err(
                        loc(s),
                        format!("unknown moment `{v}`"),
                        "use `started`, `completed`, `<step>.entered`, `<step>.completed` or `data.<date field>`",
                    );
                    return None;
                };
                let ix = self.step_ref(&Spanned::new(step.to_string(), s.referenced, s.defined))?;
                match event {
                    "entered" => Anchor::Entered(ix),
                    "completed" | "left" => Anchor::Left(ix),
                    other => {
                        let at = self.ctx.inside(loc(s), step.chars().count() as u64 + 2);
                        self.ctx.err(at, format!("unknown step event `{other}`"), "a step is `entered` or `completed`");
                        return None;
                    }
                }
            }
        };
        let fits =
            if is_from { anchor != Anchor::Completed } else { !matches!(anchor, Anchor::Started | Anchor::Data(_)) };
        if !fits {
            let help = if is_from {
                "an SLA cannot start when the instance ends"
            } else {
                "an SLA stops at `completed` or at a step event"
            };
            self.ctx.err(
                loc(s),
                format!("`{v}` cannot be the {} of an SLA", if is_from { "start" } else { "end" }),
                help,
            );
            return None;
        }
        Some(anchor)
    }

    fn sla(&mut self, id: &Spanned<String>, s: &RawSla) -> Option<Sla> {
        check_ident(self.ctx, id, "SLA");
        let from = self.anchor(&s.from, true);
        let until = self.anchor(&s.until, false);
        let target = match (&s.within, &s.deadline) {
            (Some(w), None) => self.ctx.duration(w, w.value.trim()).map(SlaTarget::Within),
            (None, Some(d)) => self.when(d).map(SlaTarget::Deadline),
            (Some(_), Some(d)) => {
                self.ctx.err(loc(d), "an SLA has either `within` or `deadline`, not both", "keep one of them");
                None
            }
            (None, None) => {
                self.ctx.err(
                    loc(id),
                    format!("SLA `{}` has neither `within` nor `deadline`", id.value),
                    "add `within: 2 business days` or `deadline: 90 days before data.fecha`",
                );
                None
            }
        };
        let warn = match &s.warn {
            Some(w) => {
                let warn = parse_warn(self.ctx, w)?;
                if let Some(SlaTarget::Within(limit) | SlaTarget::Deadline(When::After(limit))) = &target {
                    warn_fits(self.ctx, w, warn, *limit, "SLA")?;
                }
                Some(warn)
            }
            None => None,
        };
        let pause: Vec<Option<StepIx>> = s.pause.iter().map(|p| self.step_ref(p)).collect();
        let on_warning = self.actions(&s.on_warning, false);
        let on_breach = self.actions(&s.on_breach, false);
        let when = match &s.when {
            Some(w) => Some(self.expr(w)?),
            None => None,
        };
        Some(Sla {
            id: id.value.clone(),
            title: s.title.value.clone(),
            from: from?,
            until: until?,
            target: target?,
            warn,
            pause: pause.into_iter().collect::<Option<_>>()?,
            on_warning,
            on_breach,
            when,
        })
    }

    fn schedule(&mut self, id: &Spanned<String>, s: &RawSchedule) -> Option<Schedule> {
        check_ident(self.ctx, id, "schedule");
        let cron = cron_ok(self.ctx, &s.cron);
        let timezone = match &s.timezone {
            Some(tz) => match jiff::tz::TimeZone::get(&tz.value) {
                Ok(_) => tz.value.clone(),
                Err(_) => {
                    self.ctx.err(
                        loc(tz),
                        format!("unknown time zone `{}`", tz.value),
                        "use an IANA name such as `America/Mexico_City`, `America/Bogota` or `America/Lima`",
                    );
                    return None;
                }
            },
            None => self
                .catalog
                .calendars
                .get(&self.raw.calendar.value)
                .and_then(|c| c.zone().iana_name().map(str::to_string))
                .unwrap_or_else(|| "UTC".to_string()),
        };
        let non_business_day = match s.non_business_day.as_ref().map(|v| (v, v.value.trim())) {
            None | Some((_, "keep")) => NonBusinessDay::Keep,
            Some((_, "next")) => NonBusinessDay::Next,
            Some((_, "previous")) => NonBusinessDay::Previous,
            Some((v, other)) => {
                self.ctx.err(
                    loc(v),
                    format!("unknown `non_business_day` `{other}`"),
                    "use `next` (the next business day), `previous` (the one before) or `keep` (fire anyway)",
                );
                return None;
            }
        };
        cron.then(|| Schedule {
            id: id.value.clone(),
            title: s.title.as_ref().map(|t| t.value.clone()),
            cron: s.cron.value.clone(),
            timezone,
            data: s.data.clone(),
            non_business_day,
        })
    }
}

/// `a `task``, `an `approval``.
fn a_kind(kind: &str) -> String {
    let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    format!("{article} `{kind}`")
}
