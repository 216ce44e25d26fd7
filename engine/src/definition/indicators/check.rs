//! Reading an indicators file: each indicator checked against its process — its measure, the
//! fields, steps, SLAs and moments it names, its period, group and target — every problem located
//! in the file.

use std::collections::HashMap;

use super::*;
use crate::definition::form::FieldType;
use crate::definition::load::loc;
use crate::definition::model::{Process, StepKind};
use crate::definition::problems::Ctx;
use crate::definition::raw::S;
use crate::expr::Expr;

/// Reads an indicators file against the loaded processes; problems go to `ctx`.
pub(crate) fn load(
    ctx: &mut Ctx,
    processes: &std::collections::BTreeMap<String, Process>,
    declared: &std::collections::BTreeSet<String>,
    fields: &dyn Fn(&Process) -> HashMap<String, FieldType>,
) -> Vec<Indicator> {
    let raw = match crate::definition::raw::read_yaml::<RawIndicators>(ctx.text) {
        Ok(r) => r,
        Err(e) => {
            ctx.push(crate::diagnostic::Diagnostic::from_yaml_in(ctx.file, ctx.text, &e));
            return Vec::new();
        }
    };
    // A process whose own file does not load is that file's problem, reported there: its
    // indicators wait for it.
    if !processes.contains_key(&raw.indicators.value) && declared.contains(&raw.indicators.value) {
        return Vec::new();
    }
    let Some(process) = processes.get(&raw.indicators.value) else {
        let known: Vec<&str> = processes.keys().map(String::as_str).collect();
        ctx.unknown(loc(&raw.indicators), "process", &raw.indicators.value, known);
        return Vec::new();
    };
    let fields = fields(process);
    let mut out = Vec::new();
    for (id, r) in &raw.items.0 {
        crate::definition::load::check_ident(ctx, id, "indicator");
        if let Some(ind) = one(ctx, process, &fields, id, r) {
            out.push(ind);
        }
    }
    out
}

fn field_ref(
    ctx: &mut Ctx,
    fields: &HashMap<String, FieldType>,
    s: &S<String>,
    text: &str,
    types: &[FieldType],
) -> Option<String> {
    let name = text.strip_prefix("data.")?;
    match fields.get(name) {
        Some(t) if types.is_empty() || types.contains(t) => Some(name.to_string()),
        Some(t) => {
            let want: Vec<&str> = types.iter().map(|t| t.name()).collect();
            ctx.err(
                loc(s),
                format!("`data.{name}` is a `{}` field; this needs {}", t.name(), want.join(" or ")),
                "name a field of that type",
            );
            None
        }
        None => {
            let mut known: Vec<&str> = fields.keys().map(String::as_str).collect();
            known.sort_unstable();
            ctx.unknown(loc(s), "data field", &format!("data.{name}"), known.iter().copied());
            None
        }
    }
}

fn moment_ref(
    ctx: &mut Ctx,
    process: &Process,
    fields: &HashMap<String, FieldType>,
    s: &S<String>,
    text: &str,
) -> Option<Moment> {
    let text = text.trim();
    match text {
        "started" => return Some(Moment::Started),
        "completed" => return Some(Moment::Completed),
        _ => {}
    }
    if text.starts_with("data.") {
        return field_ref(ctx, fields, s, text, &[FieldType::Date, FieldType::DateTime]).map(Moment::Data);
    }
    if let Some(step) = text.strip_suffix(".completed") {
        if process.step(step).is_some() {
            return Some(Moment::StepCompleted(step.to_string()));
        }
        let known: Vec<&str> = process.steps.iter().map(|s| s.id.as_str()).collect();
        ctx.unknown(loc(s), "step", step, known);
        return None;
    }
    ctx.err(
        loc(s),
        format!("`{text}` is not a moment of a case"),
        "use `started`, `completed`, `<step>.completed` or `data.<date field>`",
    );
    None
}

fn one(
    ctx: &mut Ctx,
    process: &Process,
    fields: &HashMap<String, FieldType>,
    id: &S<String>,
    r: &RawIndicator,
) -> Option<Indicator> {
    let m = r.measure.value.trim();
    let measure = match m {
        "count" => Measure::Count,
        "sum" => Measure::Sum,
        "average" => Measure::Average,
        "median" => Measure::Median,
        "ratio" => Measure::Ratio,
        "sla" => Measure::Sla,
        _ => match m
            .strip_prefix("percentile ")
            .and_then(|p| p.trim().parse::<u8>().ok())
            .filter(|p| (1..=99).contains(p))
        {
            Some(p) => Measure::Percentile(p),
            None => {
                ctx.err(
                    loc(&r.measure),
                    format!("unknown measure `{m}`"),
                    "one of: count, sum, average, median, percentile 90, ratio, sla",
                );
                return None;
            }
        },
    };
    let tasks = match r.of.as_ref().map(|o| (o, o.value.trim())) {
        None | Some((_, "cases")) => None,
        Some((_, "tasks")) => {
            let step = match &r.step {
                Some(s) => match process.step(&s.value) {
                    Some(st) if matches!(st.kind, StepKind::Task { .. } | StepKind::Approval { .. }) => {
                        Some(s.value.clone())
                    }
                    Some(_) => {
                        ctx.err(loc(s), format!("step `{}` is not a task", s.value), "name a task or approval step");
                        return None;
                    }
                    None => {
                        let known: Vec<&str> = process.steps.iter().map(|s| s.id.as_str()).collect();
                        ctx.unknown(loc(s), "step", &s.value, known);
                        return None;
                    }
                },
                None => None,
            };
            Some(step)
        }
        Some((o, other)) => {
            ctx.err(loc(o), format!("unknown `of: {other}`"), "`of: cases` (the default) or `of: tasks`");
            return None;
        }
    };
    if tasks.is_none()
        && let Some(s) = &r.step
    {
        ctx.err(loc(s), "`step` applies to `of: tasks`", "add `of: tasks`, or drop `step`");
        return None;
    }
    let value = match &r.value {
        None => None,
        Some(v) => {
            let text = v.value.trim();
            if text.starts_with("data.") {
                Some(Quantity::Field(field_ref(ctx, fields, v, text, &[FieldType::Integer, FieldType::Decimal])?))
            } else if let Some(unit) = TimeUnit::parse(text).filter(|_| tasks.is_some()) {
                Some(Quantity::TaskTime(unit))
            } else {
                let parsed = text
                    .split_once(" from ")
                    .and_then(|(u, rest)| Some((TimeUnit::parse(u)?, rest.split_once(" to ")?)));
                let Some((unit, (from, to))) = parsed else {
                    let help = if tasks.is_some() {
                        "for a task: `business hours`, `business days`, `hours`, `minutes`, or `data.<number field>`"
                    } else {
                        "`data.<number field>`, or `business days from <moment> to <moment>` (started, completed, <step>.completed, data.<date field>)"
                    };
                    ctx.err(loc(v), format!("`{text}` is not a value to measure"), help);
                    return None;
                };
                let from = moment_ref(ctx, process, fields, v, from)?;
                let to = moment_ref(ctx, process, fields, v, to)?;
                // A case's value is worked out from the instance and the transition's events
                // only: a step's completion (or the end) is known in the transition it happens
                // in, never in a later one, so a duration cannot start there.
                if matches!(from, Moment::StepCompleted(_) | Moment::Completed) {
                    ctx.err(
                        loc(v),
                        "a duration starts at `started` or at a `data.<date field>`",
                        "a step's completion is known only when it happens: start at `started`, or at a date field the step's form fills in",
                    );
                    return None;
                }
                Some(Quantity::Between { unit, from, to })
            }
        }
    };
    let needs_value = matches!(measure, Measure::Sum | Measure::Average | Measure::Median | Measure::Percentile(_));
    if needs_value && value.is_none() {
        ctx.err(
            loc(&r.measure),
            format!("`measure: {m}` needs a `value`"),
            "add `value: data.<number field>` or `value: business days from started to completed`",
        );
        return None;
    }
    let sla = match (&measure, &r.sla) {
        (Measure::Sla, Some(s)) if process.sla(&s.value).is_some() => Some(s.value.clone()),
        (Measure::Sla, Some(s)) => {
            let known: Vec<&str> = process.slas.iter().map(|s| s.id.as_str()).collect();
            ctx.unknown(loc(s), "SLA", &s.value, known);
            return None;
        }
        (Measure::Sla, None) => {
            ctx.err(loc(&r.measure), "`measure: sla` needs `sla: <id>`", "name one of the process's `slas`");
            return None;
        }
        (_, Some(s)) => {
            ctx.err(loc(s), "`sla` applies to `measure: sla`", "drop it, or use `measure: sla`");
            return None;
        }
        (_, None) => None,
    };
    if tasks.is_some() && measure == Measure::Sla {
        ctx.err(loc(&r.measure), "an SLA is a case's, not a task's", "drop `of: tasks`");
        return None;
    }
    let mut expr = |s: &Option<S<String>>| -> Result<Option<Expr>, ()> {
        let Some(s) = s else { return Ok(None) };
        let e = ctx.expr(s).ok_or(())?;
        for f in e.data_fields() {
            if !fields.is_empty() && !fields.contains_key(&f) {
                let mut known: Vec<&str> = fields.keys().map(String::as_str).collect();
                known.sort_unstable();
                ctx.unknown(loc(s), "data field", &format!("data.{f}"), known.iter().copied());
                return Err(());
            }
        }
        Ok(Some(e))
    };
    let numerator = expr(&r.numerator).ok()?;
    let filter = expr(&r.where_).ok()?;
    if measure == Measure::Ratio && numerator.is_none() {
        ctx.err(
            loc(&r.measure),
            "`measure: ratio` needs a `numerator` condition",
            "e.g. `numerator: data.contacto_exitoso` over the cases `where` selects",
        );
        return None;
    }
    let group = match r.group.as_ref().map(|g| (g, g.value.trim())) {
        None => None,
        Some((_, "outcome")) => Some(Group::Outcome),
        Some((_, "status")) => Some(Group::Status),
        Some((g, "user" | "role")) if tasks.is_none() => {
            ctx.err(
                loc(g),
                format!("`group: {}` applies to `of: tasks`", g.value.trim()),
                "group cases by `data.<field>`, `outcome` or `status`",
            );
            return None;
        }
        Some((_, "user")) => Some(Group::User),
        Some((_, "role")) => Some(Group::Role),
        Some((g, text)) if text.starts_with("data.") => Some(Group::Field(field_ref(ctx, fields, g, text, &[])?)),
        Some((g, other)) => {
            ctx.err(
                loc(g),
                format!("cannot group by `{other}`"),
                "`data.<field>`, `outcome`, `status`, `user` or `role`",
            );
            return None;
        }
    };
    let period = match &r.by {
        None => None,
        Some(b) => match Period::parse(&b.value) {
            Some(p) => Some(p),
            None => {
                ctx.err(loc(b), format!("unknown period `{}`", b.value.trim()), "day, week, month, quarter or year");
                return None;
            }
        },
    };
    let target = match &r.target {
        None => None,
        Some(t) => {
            let text = t.value.trim();
            let (n, percent) = match text.strip_suffix('%') {
                Some(p) => (p.trim().parse::<f64>().ok(), true),
                None => (text.parse::<f64>().ok(), false),
            };
            match n {
                Some(n) if percent && measure.is_share() => Some(n / 100.0),
                Some(n) if !percent && !measure.is_share() => Some(n),
                Some(_) if percent => {
                    ctx.err(
                        loc(t),
                        "a percentage target is for a share (`ratio`, `sla`)",
                        "write the target as a number",
                    );
                    return None;
                }
                Some(_) => {
                    ctx.err(loc(t), "a share's target is a percentage", "e.g. `target: 95%`");
                    return None;
                }
                None => {
                    ctx.err(loc(t), format!("`{text}` is not a target"), "a number, or a percentage such as `95%`");
                    return None;
                }
            }
        }
    };
    let timed = matches!(value, Some(Quantity::Between { .. } | Quantity::TaskTime(_)));
    let higher_is_better = match r.better.as_ref().map(|b| (b, b.value.trim())) {
        None => !timed,
        Some((_, "higher")) => true,
        Some((_, "lower")) => false,
        Some((b, other)) => {
            ctx.err(loc(b), format!("unknown `better: {other}`"), "`higher` or `lower`");
            return None;
        }
    };
    Some(Indicator {
        id: id.value.clone(),
        process: process.id.clone(),
        title: r.title.value.clone(),
        source: r.source.as_ref().map(|s| s.value.clone()),
        description: r.description.as_ref().map(|s| s.value.clone()),
        measure,
        tasks,
        value,
        sla,
        numerator,
        filter,
        group,
        period,
        target,
        higher_is_better,
        unit: r.unit.as_ref().map(|u| u.value.clone()),
        file: ctx.file.to_string(),
    })
}
