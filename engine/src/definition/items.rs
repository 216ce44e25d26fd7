//! `item` and roles read from the data: where a `for_each` element may be read, which of its
//! fields exist, and which fields may name a role. Part of [`super::build::ProcessBuilder`].

use std::collections::HashMap;

use serde_saphyr::Spanned;

use super::build::ProcessBuilder;
use super::form::{Field, FieldType};
use super::load::{data_field_column, loc};
use super::model::*;
use crate::diagnostic::Loc;

/// A reading of `item.<field>` (or of `item` itself when `field` is empty) by a step.
pub(super) struct ItemUse {
    pub(super) step: Option<StepIx>,
    pub(super) at: Loc,
    pub(super) field: String,
    pub(super) want: ItemWant,
}

#[derive(Clone, Copy, PartialEq)]
pub(super) enum ItemWant {
    Any,
    Date,
    Role,
}

/// The 1-based column of `item.<field>` (or of `item` when `field` is empty) in an expression.
pub(super) fn item_column(source: &str, field: &str) -> u64 {
    let needle = if field.is_empty() { "item".to_string() } else { format!("item.{field}") };
    source.find(&needle).map(|i| source[..i].chars().count() as u64 + 1).unwrap_or(1)
}

impl ProcessBuilder<'_, '_> {
    /// Checks the `data.` fields an expression reads and records its readings of `item`. With
    /// `want_date`, an expression that is just a field must name a date.
    pub(super) fn expr_fields(&mut self, s: &Spanned<String>, e: &crate::expr::Expr, want_date: bool) -> bool {
        let mut ok = true;
        let bare = e.as_field().map(|(root, f)| (root.to_string(), f.to_string()));
        for f in e.data_fields() {
            let at = self.ctx.inside(loc(s), data_field_column(&s.value, &f));
            let date = want_date && bare.as_ref().is_some_and(|(r, b)| r == "data" && *b == f);
            ok &= self.data_field(at, &f, date);
        }
        ok = ok && self.check_comparisons(s, e);
        if e.uses_item() {
            let item_fields = e.item_fields();
            if item_fields.is_empty() {
                let at = self.ctx.inside(loc(s), item_column(&s.value, ""));
                self.item_uses.push(ItemUse { step: self.current, at, field: String::new(), want: ItemWant::Any });
            }
            for f in item_fields {
                let at = self.ctx.inside(loc(s), item_column(&s.value, &f));
                let date = want_date && bare.as_ref().is_some_and(|(r, b)| r == "item" && *b == f);
                let want = if date { ItemWant::Date } else { ItemWant::Any };
                self.item_uses.push(ItemUse { step: self.current, at, field: f, want });
            }
        }
        ok
    }

    /// `role: operador`, or `role: item.responsable` / `role: data.area` for a role taken from
    /// the data: a `choice` field whose options are roles of the process.
    pub(super) fn role(&mut self, r: &Spanned<String>) -> Option<(String, Option<crate::expr::Expr>)> {
        let v = r.value.trim();
        if !(v.starts_with("data.") || v.starts_with("item.")) {
            return self.role_ref(r).then(|| (r.value.clone(), None));
        }
        let e = self.ctx.expr(r)?;
        let Some((root, field)) = e.as_field().map(|(a, b)| (a.to_string(), b.to_string())) else {
            self.ctx.err(loc(r), format!("`{v}` is not a role"), "name a role, or a field: `item.responsable`");
            return None;
        };
        if root == "item" {
            let at = self.ctx.inside(loc(r), 1);
            self.item_uses.push(ItemUse { step: self.current, at, field, want: ItemWant::Role });
            return Some((v.to_string(), Some(e)));
        }
        if !self.data_field(loc(r), &field, false) {
            return None;
        }
        let options: Option<Vec<String>> =
            self.form_field_of(&field).map(|f| f.options.iter().map(|(k, _)| k.clone()).collect());
        let ok = self.role_options_ok(loc(r), &format!("data.{field}"), options);
        ok.then(|| (v.to_string(), Some(e)))
    }

    /// A field of one of the process's forms (the start form and the steps' forms).
    pub(super) fn form_field_of(&self, name: &str) -> Option<&Field> {
        self.form_fields.get(name)
    }

    /// A field a role is read from must be a `choice` whose options are all roles.
    pub(super) fn role_options_ok(&mut self, at: Loc, shown: &str, options: Option<Vec<String>>) -> bool {
        let Some(options) = options.filter(|o| !o.is_empty()) else {
            self.ctx.err(
                at,
                format!("`{shown}` is not a `choice` field, so it cannot name a role"),
                "read the role from a `choice` field whose options are the ids of roles of this process",
            );
            return false;
        };
        let unknown: Vec<String> = options.into_iter().filter(|o| !self.role_set.contains(o)).collect();
        if unknown.is_empty() {
            return true;
        }
        self.ctx.err(
            at,
            format!("the options of `{shown}` are not all roles: {}", unknown.join(", ")),
            format!("declare them under `roles:` or change the options (roles: {})", self.roles.join(", ")),
        );
        false
    }

    /// Every reading of `item` must be inside a `for_each` branch and name a column of its list.
    pub(super) fn check_item_uses(&mut self, p: &Process) {
        // Step → (its `for_each` step, the list field, the fields an element can hold: the
        // list's columns and what the branch's forms fill in).
        let mut owner: HashMap<StepIx, (String, Option<String>)> = HashMap::new();
        let mut element_fields: HashMap<String, Vec<Field>> = HashMap::new();
        for s in &p.steps {
            if let StepKind::Parallel { branches, for_each: Some(list), .. } = &s.kind {
                let list_field = list.as_field().filter(|(r, _)| *r == "data").map(|(_, f)| f.to_string());
                let mut fields: Vec<Field> =
                    list_field.as_ref().and_then(|l| self.lists.get(l)).cloned().unwrap_or_default();
                for b in branches {
                    for i in super::validate::branch_walk(p, b.start).0 {
                        owner.entry(i).or_insert_with(|| (s.id.clone(), list_field.clone()));
                        let form = p.steps[i].kind.work().and_then(|w| w.form.as_ref());
                        if let Some(form) = form.and_then(|f| self.catalog.forms.get(f)) {
                            fields.extend(form.fields.iter().cloned());
                        }
                    }
                }
                element_fields.insert(s.id.clone(), fields);
            }
        }
        let uses = std::mem::take(&mut self.item_uses);
        for u in uses {
            let Some((parallel, list)) = u.step.and_then(|i| owner.get(&i)).cloned() else {
                let who = match u.step {
                    Some(i) => format!("step `{}`", p.steps[i].id),
                    None => "an SLA".to_string(),
                };
                self.ctx.err(
                    u.at,
                    format!("{who} reads `item` but is not inside a `for_each` branch"),
                    "`item` is the element of the list a `for_each` parallel step runs its branch for",
                );
                continue;
            };
            if list.is_none() || u.field.is_empty() {
                continue; // a list from an expression: its elements are not known here
            }
            let columns = element_fields.get(&parallel).cloned().unwrap_or_default();
            let list = list.unwrap_or_default();
            let Some(col) = columns.iter().find(|c| c.name == u.field) else {
                let names: Vec<&str> = columns.iter().map(|c| c.name.as_str()).collect();
                let help = match crate::diagnostic::did_you_mean(&u.field, names.iter().copied()) {
                    Some(b) => format!("did you mean `item.{b}`?"),
                    None => format!("the columns of `data.{list}` are: {}", names.join(", ")),
                };
                let message = format!("`item.{}` is not a column of list `data.{list}` (step `{parallel}`)", u.field);
                self.ctx.err(u.at, message, help);
                continue;
            };
            match u.want {
                ItemWant::Date if !matches!(col.kind, FieldType::Date | FieldType::DateTime) => self.ctx.err(
                    u.at,
                    format!("`item.{}` is a `{}` column, not a date", u.field, col.kind.name()),
                    "count from a `date` or `datetime` column",
                ),
                ItemWant::Role => {
                    let options =
                        (col.kind == FieldType::Choice).then(|| col.options.iter().map(|(k, _)| k.clone()).collect());
                    self.role_options_ok(u.at, &format!("item.{}", u.field), options);
                }
                _ => {}
            }
        }
    }

    /// `for_each: data.acciones`: a list to run a branch for each element of. A `list` field is
    /// checked as such; other expressions are taken as they are.
    pub(super) fn for_each(&mut self, list: &Spanned<String>) -> Option<crate::expr::Expr> {
        let e = self.expr(list)?;
        if let Some(("data", f)) = e.as_field()
            && let Some(kind) = self.fields.as_ref().and_then(|fs| fs.get(f))
            && *kind != FieldType::List
            && *kind != FieldType::MultiChoice
        {
            self.ctx.err(
                self.ctx.inside(loc(list), 1),
                format!("`data.{f}` is a `{}` field, not a list", kind.name()),
                "`for_each` runs over a `list` (or `multi_choice`) field, e.g. `for_each: data.acciones`",
            );
            return None;
        }
        Some(e)
    }
}
