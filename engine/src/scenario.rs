//! Scenario tests for process owners: start an instance, act as users, move a virtual clock,
//! and check where the instance is. `tramite test` runs these on the pure engine.
//!
//! ```yaml
//! test: conocer.c45-correos
//! users: { ana: [operador], admin: admin }
//! scenarios:
//!   - name: Respuesta a tiempo
//!     start: { at: 2026-03-13T16:00:00-06:00, data: { folio: C-1 } }
//!     steps:
//!       - complete: determinar_tipo
//!         as: ana
//!         data: { atencion_inmediata: true }
//!       - advance: 1 business day
//!       - expect: { active: [responder], sla: { respuesta: warning } }
//! ```
//!
//! Inside a `for_each` step one step has a task per element: `item: 2` on a command picks the
//! second element's, and `due:` / `tasks:` keys take the element after `#` (`ejecutar_accion#2`).
//! `due:` is the task's own deadline or, when it has none, that of the branch it runs in.
//!
//! `start: { schedule: mensual, at: … }` starts the instance as that schedule would: `at` must be
//! an instant its cron line fires at, and the data is the schedule's. `sla_due:` checks the
//! instant each named SLA is due.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{Map, Value};
use serde_saphyr::Spanned;

use crate::calendar::Duration;
use crate::definition::load::Catalog;
use crate::diagnostic::{Diagnostic, Loc};
use crate::machine::{self, Actor, Command, CommandError, Env, Event, Instance, Record, Status};

type S<T> = Spanned<T>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    test: S<String>,
    #[serde(default)]
    users: BTreeMap<String, UserRoles>,
    scenarios: Vec<S<RawScenario>>,
}

/// A user's roles, or the word `admin`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum UserRoles {
    Roles(Vec<String>),
    Admin(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: String,
    start: RawStart,
    #[serde(default)]
    steps: Vec<S<RawAct>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStart {
    at: S<String>,
    /// Start as this schedule of the process does: `at` must be an instant it fires at, and the
    /// data is the schedule's.
    schedule: Option<S<String>>,
    #[serde(rename = "as")]
    as_: Option<S<String>>,
    #[serde(default)]
    data: Map<String, Value>,
    expect_error: Option<S<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAct {
    complete: Option<S<String>>,
    approve: Option<S<String>>,
    reject: Option<S<String>>,
    claim: Option<S<String>>,
    unclaim: Option<S<String>>,
    end_call: Option<S<String>>,
    cancel: Option<S<String>>,
    advance: Option<S<String>>,
    advance_to: Option<S<String>>,
    expect: Option<RawExpect>,
    #[serde(rename = "as")]
    as_: Option<S<String>>,
    #[serde(default)]
    data: Map<String, Value>,
    comment: Option<String>,
    outcome: Option<String>,
    /// Which `for_each` element's task, counted from 1.
    item: Option<usize>,
    expect_error: Option<S<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExpect {
    active: Option<Vec<String>>,
    status: Option<String>,
    outcome: Option<String>,
    #[serde(default)]
    sla: BTreeMap<String, String>,
    #[serde(default)]
    due: BTreeMap<String, String>,
    /// SLA id → the instant it is due (pauses included).
    #[serde(default)]
    sla_due: BTreeMap<String, String>,
    #[serde(default)]
    tasks: BTreeMap<String, String>,
    alerts: Option<Vec<String>>,
    #[serde(default)]
    data: Map<String, Value>,
    rejection: Option<String>,
}

/// The result of one scenario.
#[derive(Debug, Clone)]
pub struct ScenarioResult {
    pub file: String,
    pub name: String,
    pub loc: Loc,
    /// Empty when the scenario passed.
    pub failures: Vec<Diagnostic>,
}

/// Runs every scenario of a file against the catalog. A file that cannot be read gives one
/// failed pseudo-scenario carrying the diagnostic.
pub fn run_file(file: &str, text: &str, catalog: &Catalog) -> Vec<ScenarioResult> {
    let broken = |d: Diagnostic| {
        vec![ScenarioResult { file: file.to_string(), name: "(file)".into(), loc: d.loc, failures: vec![d] }]
    };
    let raw: RawFile = match serde_saphyr::from_str(text) {
        Ok(r) => r,
        Err(e) => return broken(Diagnostic::from_yaml(file, &e)),
    };
    let Some(process) = catalog.processes.get(&raw.test.value) else {
        let known = catalog.processes.keys().map(String::as_str);
        let mut d =
            Diagnostic::new(file, Loc::from(raw.test.referenced), format!("unknown process `{}`", raw.test.value));
        d.help = crate::diagnostic::did_you_mean(&raw.test.value, known).map(|b| format!("did you mean `{b}`?"));
        return broken(d);
    };
    let Some(calendar) = catalog.calendar_of(process) else {
        return broken(Diagnostic::new(
            file,
            Loc::from(raw.test.referenced),
            format!("process `{}` has no loaded calendar", process.id),
        ));
    };
    let env = Env { process, calendar, forms: &catalog.forms };
    let users: BTreeMap<String, Actor> = raw
        .users
        .iter()
        .map(|(name, r)| {
            let actor = match r {
                UserRoles::Roles(roles) => Actor { user: name.clone(), roles: roles.clone(), admin: false },
                UserRoles::Admin(word) if word == "admin" => Actor::admin(name),
                UserRoles::Admin(role) => Actor { user: name.clone(), roles: vec![role.clone()], admin: false },
            };
            (name.clone(), actor)
        })
        .collect();
    raw.scenarios
        .iter()
        .map(|sc| {
            let mut runner = Runner {
                file,
                env,
                users: &users,
                failures: Vec::new(),
                inst: None,
                now: Timestamp::UNIX_EPOCH,
                records: Vec::new(),
            };
            runner.run(&sc.value);
            ScenarioResult {
                file: file.to_string(),
                name: sc.value.name.clone(),
                loc: Loc::from(sc.referenced),
                failures: runner.failures,
            }
        })
        .collect()
}

struct Runner<'a> {
    file: &'a str,
    env: Env<'a>,
    users: &'a BTreeMap<String, Actor>,
    failures: Vec<Diagnostic>,
    inst: Option<Instance>,
    now: Timestamp,
    records: Vec<Record>,
}

impl Runner<'_> {
    fn fail(&mut self, at: Loc, message: String) {
        self.failures.push(Diagnostic::new(self.file, at, message));
    }

    fn instant(&self, s: &S<String>) -> Result<Timestamp, String> {
        machine::parse_instant(&s.value, self.env.calendar)
            .ok_or_else(|| format!("`{}` is not a date-time (use RFC 3339, e.g. 2026-03-13T16:00:00-06:00)", s.value))
    }

    fn actor(&self, name: Option<&S<String>>) -> Result<Option<Actor>, String> {
        match name {
            None => Ok(None),
            Some(n) => self
                .users
                .get(&n.value)
                .cloned()
                .map(Some)
                .ok_or_else(|| format!("unknown user `{}`; declare it under `users:`", n.value)),
        }
    }

    fn run(&mut self, sc: &RawScenario) {
        let at = Loc::from(sc.start.at.referenced);
        match self.instant(&sc.start.at) {
            Ok(t) => self.now = t,
            Err(e) => return self.fail(at, e),
        }
        let actor = match self.actor(sc.start.as_.as_ref()) {
            Ok(a) => a,
            Err(e) => return self.fail(at, e),
        };
        let data = match &sc.start.schedule {
            None => sc.start.data.clone(),
            Some(id) => match self.scheduled_data(&sc.start, id) {
                Ok(d) => d,
                Err(e) => return self.fail(Loc::from(id.referenced), e),
            },
        };
        let started = machine::start(self.env, "scenario", data, actor.as_ref(), self.now);
        match (started, &sc.start.expect_error) {
            (Ok((inst, recs)), None) => {
                self.records = recs;
                self.inst = Some(inst);
                self.tick(self.now);
            }
            (Err(e), Some(want)) => return self.check_error(Loc::from(want.referenced), &want.value, &e),
            (Ok(_), Some(want)) => {
                return self.fail(
                    Loc::from(want.referenced),
                    format!("expected error `{}`, but the instance started", want.value),
                );
            }
            (Err(e), None) => return self.fail(at, format!("start failed: {}", describe(&e))),
        }
        for act in &sc.steps {
            let at = Loc::from(act.referenced);
            if let Err(message) = self.act(at, &act.value) {
                self.fail(at, message);
                return;
            }
        }
    }

    /// The data a scheduled start gets, once `at` is known to be an instant the schedule fires.
    fn scheduled_data(&self, start: &RawStart, id: &S<String>) -> Result<Map<String, Value>, String> {
        let schedules = &self.env.process.schedules;
        let Some(schedule) = schedules.iter().find(|s| s.id == id.value) else {
            let known = schedules.iter().map(|s| s.id.as_str());
            let hint = match crate::diagnostic::did_you_mean(&id.value, known) {
                Some(b) => format!("; did you mean `{b}`?"),
                None => String::new(),
            };
            return Err(format!("process `{}` has no schedule `{}`{hint}", self.env.process.id, id.value));
        };
        if start.as_.is_some() || !start.data.is_empty() {
            return Err(
                "a scheduled start has no user and takes its data from the schedule: remove `as` and `data`".into()
            );
        }
        let just_before = self.now.checked_sub(jiff::SignedDuration::from_secs(1)).unwrap_or(self.now);
        let fires = schedule.next_after(just_before);
        if fires != Some(self.now) {
            let zone = self.env.calendar.zone().clone();
            let show = |t: Timestamp| t.to_zoned(zone.clone()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string();
            let next = schedule.next_after(self.now).map(show).unwrap_or_else(|| "never".into());
            return Err(format!(
                "schedule `{}` (`{}`, {}) does not fire at {}; it next fires at {next}",
                schedule.id,
                schedule.cron,
                schedule.timezone,
                show(self.now)
            ));
        }
        Ok(schedule.data.clone())
    }

    fn check_error(&mut self, at: Loc, want: &str, got: &CommandError) {
        if got.code() != want {
            self.fail(at, format!("expected error `{want}`, got `{}` ({})", got.code(), describe(got)));
        }
    }

    fn tick(&mut self, until: Timestamp) {
        if let Some(inst) = self.inst.as_mut() {
            let mut recs = machine::fire_due(self.env, inst, until);
            self.records.append(&mut recs);
        }
        self.now = until;
    }

    /// The token (an open task, or a call waiting for its sub-process) at `step`, for the
    /// `item`-th `for_each` element when given.
    fn task_at(&self, step: &S<String>, item: Option<usize>) -> Result<u64, String> {
        let inst = self.inst.as_ref().ok_or("no instance")?;
        find_token(inst, &step.value, item).ok_or_else(|| {
            let which = item.map(|n| format!(" for element {n}")).unwrap_or_default();
            format!("no open task at step `{}`{which}; active steps: {:?}", step.value, inst.active_steps())
        })
    }

    fn act(&mut self, at: Loc, a: &RawAct) -> Result<(), String> {
        if let Some(d) = &a.advance {
            let target = Duration::parse(d.value.trim()).map_err(|e| format!("bad duration `{}`: {e}", d.value))?;
            let until = self.env.calendar.add(self.now, target);
            self.tick(until);
            return Ok(());
        }
        if let Some(t) = &a.advance_to {
            let until = self.instant(t)?;
            if until < self.now {
                return Err(format!("cannot move the clock back to {}", t.value));
            }
            self.tick(until);
            return Ok(());
        }
        if let Some(e) = &a.expect {
            return self.expect(at, e);
        }
        let actor = self.actor(a.as_.as_ref())?;
        let cmd = if let Some(s) = &a.complete {
            Command::Complete { task: self.task_at(s, a.item)?, data: a.data.clone() }
        } else if let Some(s) = &a.approve {
            Command::Approve { task: self.task_at(s, a.item)?, comment: a.comment.clone(), data: a.data.clone() }
        } else if let Some(s) = &a.reject {
            Command::Reject { task: self.task_at(s, a.item)?, comment: a.comment.clone().unwrap_or_default() }
        } else if let Some(s) = &a.claim {
            Command::Claim { task: self.task_at(s, a.item)? }
        } else if let Some(s) = &a.unclaim {
            Command::Unclaim { task: self.task_at(s, a.item)? }
        } else if let Some(s) = &a.end_call {
            Command::CallEnded {
                task: self.task_at(s, a.item)?,
                outcome: a.outcome.clone().unwrap_or_else(|| "completed".into()),
                data: a.data.clone(),
            }
        } else if let Some(reason) = &a.cancel {
            Command::Cancel { reason: reason.value.clone() }
        } else {
            return Err("this entry does nothing: use complete, approve, reject, claim, unclaim, end_call, cancel, advance, advance_to or expect".into());
        };
        let inst = self.inst.as_ref().ok_or("no instance")?;
        match (machine::execute(self.env, inst, actor.as_ref(), cmd, self.now), &a.expect_error) {
            (Ok((next, mut recs)), None) => {
                self.inst = Some(next);
                self.records.append(&mut recs);
                self.tick(self.now);
                Ok(())
            }
            (Err(e), Some(want)) => {
                self.check_error(Loc::from(want.referenced), &want.value, &e);
                Ok(())
            }
            (Ok(_), Some(want)) => Err(format!("expected error `{}`, but the command succeeded", want.value)),
            (Err(e), None) => Err(format!("command failed: {}", describe(&e))),
        }
    }

    fn expect(&mut self, at: Loc, e: &RawExpect) -> Result<(), String> {
        let inst = self.inst.as_ref().ok_or("no instance")?.clone();
        let mut problems = Vec::new();
        let mut compare = |what: &str, expected: String, actual: String| {
            if expected != actual {
                problems.push(format!("{what}: expected {expected}, got {actual}"));
            }
        };
        if let Some(active) = &e.active {
            let mut want = active.clone();
            want.sort();
            compare("active steps", format!("{want:?}"), format!("{:?}", inst.active_steps()));
        }
        let (status, outcome) = match &inst.status {
            Status::Running => ("running", None),
            Status::Ended { outcome } => ("ended", Some(outcome.clone())),
            Status::Cancelled { .. } => ("cancelled", None),
        };
        if let Some(s) = &e.status {
            compare("status", s.clone(), status.to_string());
        }
        if let Some(o) = &e.outcome {
            compare("outcome", o.clone(), outcome.unwrap_or_else(|| "(none)".into()));
        }
        let states: BTreeMap<String, &str> =
            machine::sla_states(self.env, &inst, self.now).into_iter().map(|(k, v)| (k, v.as_str())).collect();
        for (sla, want) in &e.sla {
            compare(
                &format!("SLA `{sla}`"),
                want.clone(),
                states.get(sla).map(|s| s.to_string()).unwrap_or_else(|| "(not started)".into()),
            );
        }
        let task_of = |key: &str| {
            let (step, item) = split_item(key);
            find_token(&inst, step, item).and_then(|id| inst.tokens.get(&id)).and_then(|t| t.task.clone())
        };
        // A task's deadline, or else the deadline of the innermost branch it runs in.
        let due_of = |key: &str| {
            let (step, item) = split_item(key);
            let token = find_token(&inst, step, item).and_then(|id| inst.tokens.get(&id))?;
            let task_due = token.task.as_ref().and_then(|t| t.due);
            task_due.or_else(|| token.scope.iter().rev().find_map(|b| inst.branches.get(b).and_then(|b| b.due)))
        };
        for (step, want) in &e.due {
            let got = due_of(step);
            let want_t = machine::parse_instant(want, self.env.calendar);
            let show = |t: Option<Timestamp>| {
                t.map(|t| t.to_zoned(self.env.calendar.zone().clone()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string())
                    .unwrap_or_else(|| "(no deadline)".into())
            };
            if want_t != got {
                compare(&format!("due date of `{step}`"), want.clone(), show(got));
            }
        }
        for (sla, want) in &e.sla_due {
            let zone = self.env.calendar.zone().clone();
            let got = inst.slas.get(sla).map(|run| {
                run.clock.due(self.env.calendar).to_zoned(zone).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
            });
            let same = got.as_deref().and_then(|g| machine::parse_instant(g, self.env.calendar))
                == machine::parse_instant(want, self.env.calendar);
            if !same {
                compare(
                    &format!("due instant of SLA `{sla}`"),
                    want.clone(),
                    got.unwrap_or_else(|| "(not started)".into()),
                );
            }
        }
        for (step, role) in &e.tasks {
            let got = task_of(step).map(|task| task.role).unwrap_or_else(|| "(no task)".into());
            compare(&format!("role of the task at `{step}`"), role.clone(), got);
        }
        if let Some(want) = &e.alerts {
            let got: Vec<String> = self.records.iter().filter_map(alert_line).collect();
            compare("alerts", format!("{want:?}"), format!("{got:?}"));
        }
        for (k, v) in &e.data {
            compare(
                &format!("data.{k}"),
                v.to_string(),
                inst.data.get(k).map(|v| v.to_string()).unwrap_or_else(|| "(missing)".into()),
            );
        }
        if let Some(c) = &e.rejection {
            compare(
                "last rejection comment",
                c.clone(),
                inst.last_rejection.as_ref().map(|r| r.comment.clone()).unwrap_or_else(|| "(none)".into()),
            );
        }
        if problems.is_empty() {
            Ok(())
        } else {
            for p in &problems[1..] {
                self.fail(at, p.clone());
            }
            Err(problems[0].clone())
        }
    }
}

/// `ejecutar_accion#2` → (`ejecutar_accion`, element 2); a plain step name has no element.
fn split_item(key: &str) -> (&str, Option<usize>) {
    match key.rsplit_once('#') {
        Some((step, n)) => match n.parse() {
            Ok(n) => (step, Some(n)),
            Err(_) => (key, None),
        },
        None => (key, None),
    }
}

/// The token at `step`; with `item`, the one working on that `for_each` element (from 1).
fn find_token(inst: &Instance, step: &str, item: Option<usize>) -> Option<u64> {
    inst.tokens
        .values()
        .find(|t| t.step == step && item.is_none_or(|n| inst.item_slot(&t.scope).is_some_and(|(_, i)| i + 1 == n)))
        .map(|t| t.id)
}

/// `sla-warning:respuesta -> operador`, `overdue:responder -> responsable`; assignments are left out.
fn alert_line(r: &Record) -> Option<String> {
    let Event::Alerted { kind, sla, step, roles } = &r.event else { return None };
    if *kind == machine::AlertKind::Assigned {
        return None;
    }
    let subject = sla.clone().or_else(|| step.clone()).unwrap_or_default();
    Some(format!("{}:{subject} -> {}", kind.as_str(), roles.join(", ")))
}

fn describe(e: &CommandError) -> String {
    match e {
        CommandError::InvalidData(errs) => {
            let list: Vec<String> = errs.iter().map(|f| format!("{}: {}", f.field, f.message)).collect();
            format!("{e}: {}", list.join("; "))
        }
        _ => e.to_string(),
    }
}
