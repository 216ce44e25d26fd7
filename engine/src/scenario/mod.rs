//! Scenario tests for process owners: start an instance, act as users, move a virtual clock,
//! and check where the instance is. `tramite test` runs them on the pure engine
//! ([`MachineDriver`]) and, with `--store`, through the server's API and store on a manual
//! clock: both read the file here and compare what they observe with the same expectations.
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
//!       - expect: { emails: ["sla-warning -> ana"] }
//! ```
//!
//! Inside a `for_each` step one step has a task per element: `item: 2` on a command picks the
//! second element's, and `due:` / `tasks:` keys take the element after `#` (`ejecutar_accion#2`).
//! `due:` is the task's own deadline or, when it has none, that of the branch it runs in.
//!
//! A `call` step runs its sub-process: the scenario works the child's tasks like any others
//! (a step name is looked up in the instance first, then in its sub-processes). `end_call`
//! ends by hand a call that has no sub-process running (one that could not start).
//!
//! `start: { schedule: mensual, at: … }` starts the instance as that schedule would: `at` must be
//! an instant its cron line fires at, and the data is the schedule's. `sla_due:` checks the
//! instant each named SLA is due. `emails:` lists the messages sent since the previous
//! `emails:` check (or the start), as `template -> user`, for the instance and its
//! sub-processes; every user of the scenario is taken to have an e-mail address.
//!
//! A file field's value is written `{ file: files/campana.xlsx }`: the file at that path,
//! beside the scenario file, is attached through the driver (uploaded, on the server) and the
//! field gets the stored file's value ([`crate::files`]).

mod driver;
mod file;
mod pure;

use driver::Describe;
pub use driver::{Act, Action, Driver, Observation, Refusal, Setup, Start, TaskSeen};
pub use pure::MachineDriver;

use file::{RawAct, RawExpect, RawFile, RawScenario, RawStart, UserRoles};

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::{Map, Value};

use serde_saphyr::Spanned;

use crate::calendar::{Calendar, Duration};
use crate::definition::load::Catalog;
use crate::definition::{Process, Schedule};
use crate::diagnostic::{Diagnostic, Loc};
use crate::machine::{self, Actor, AlertKind, CommandError, Event, Record};

type S<T> = Spanned<T>;

/// The result of one scenario.
#[derive(Debug, Clone)]
pub struct ScenarioResult {
    pub file: String,
    pub name: String,
    pub loc: Loc,
    /// Empty when the scenario passed.
    pub failures: Vec<Diagnostic>,
}

// ---- running files ---------------------------------------------------------------------------

/// Runs every scenario of a file on the pure machine.
pub fn run_file(file: &str, text: &str, catalog: &Catalog) -> Vec<ScenarioResult> {
    run_file_with(file, text, catalog, &mut |setup| Ok(MachineDriver::new(catalog, setup)))
}

/// Runs every scenario of a file with a fresh driver from `driver` for each. A file that cannot
/// be read gives one failed pseudo-scenario carrying the diagnostic.
pub fn run_file_with<D: Driver>(
    file: &str,
    text: &str,
    catalog: &Catalog,
    driver: &mut dyn FnMut(&Setup<'_>) -> Result<D, String>,
) -> Vec<ScenarioResult> {
    let broken = |d: Diagnostic| {
        vec![ScenarioResult { file: file.to_string(), name: "(file)".into(), loc: d.loc, failures: vec![d] }]
    };
    let raw: RawFile = match crate::definition::raw::read_yaml(text) {
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
                process,
                calendar,
                users: &users,
                failures: Vec::new(),
                now: Timestamp::UNIX_EPOCH,
                emails_seen: Vec::new(),
            };
            match driver(&Setup { process, users: &users }) {
                Ok(mut d) => runner.run(&mut d, &sc.value),
                Err(e) => runner.fail(Loc::from(sc.referenced), format!("cannot prepare the scenario: {e}")),
            }
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
    process: &'a Process,
    calendar: &'a Calendar,
    users: &'a BTreeMap<String, Actor>,
    failures: Vec<Diagnostic>,
    now: Timestamp,
    /// The messages already checked by an `emails:` expectation.
    emails_seen: Vec<String>,
}

impl Runner<'_> {
    fn fail(&mut self, at: Loc, message: String) {
        self.failures.push(Diagnostic::new(self.file, at, message));
    }

    fn instant(&self, s: &S<String>) -> Result<Timestamp, String> {
        machine::parse_instant(&s.value, self.calendar)
            .ok_or_else(|| format!("`{}` is not a date-time (use RFC 3339, e.g. 2026-03-13T16:00:00-06:00)", s.value))
    }

    fn actor(&self, name: Option<&S<String>>) -> Result<Option<&Actor>, String> {
        match name {
            None => Ok(None),
            Some(n) => self
                .users
                .get(&n.value)
                .map(Some)
                .ok_or_else(|| format!("unknown user `{}`; declare it under `users:`", n.value)),
        }
    }

    fn run<D: Driver>(&mut self, d: &mut D, sc: &RawScenario) {
        let at = Loc::from(sc.start.at.referenced);
        match self.instant(&sc.start.at) {
            Ok(t) => self.now = t,
            Err(e) => return self.fail(at, e),
        }
        let actor = match self.actor(sc.start.as_.as_ref()) {
            Ok(a) => a,
            Err(e) => return self.fail(at, e),
        };
        let data = match self.attach_files(d, actor, &sc.start.data) {
            Ok(data) => data,
            Err(e) => return self.fail(at, e),
        };
        let start = match &sc.start.schedule {
            None => Start::Data { actor, data: &data },
            Some(id) => match self.schedule(&sc.start, id) {
                Ok(schedule) => Start::Schedule { schedule },
                Err(e) => return self.fail(Loc::from(id.referenced), e),
            },
        };
        match (d.start(self.now, start), &sc.start.expect_error) {
            (Ok(()), None) => {}
            (Err(e), Some(want)) => return self.check_error(Loc::from(want.referenced), &want.value, e),
            (Ok(()), Some(want)) => {
                return self.fail(
                    Loc::from(want.referenced),
                    format!("expected error `{}`, but the instance started", want.value),
                );
            }
            (Err(e), None) => return self.fail(at, format!("start failed: {}", refusal_text(&e))),
        }
        for act in &sc.steps {
            let at = Loc::from(act.referenced);
            if let Err(message) = self.act(d, at, &act.value) {
                self.fail(at, message);
                return;
            }
        }
    }

    /// The schedule a start names, once `at` is known to be an instant it fires at.
    fn schedule(&self, start: &RawStart, id: &S<String>) -> Result<&Schedule, String> {
        let schedules = &self.process.schedules;
        let Some(schedule) = schedules.iter().find(|s| s.id == id.value) else {
            let known = schedules.iter().map(|s| s.id.as_str());
            let hint = match crate::diagnostic::did_you_mean(&id.value, known) {
                Some(b) => format!("; did you mean `{b}`?"),
                None => String::new(),
            };
            return Err(format!("process `{}` has no schedule `{}`{hint}", self.process.id, id.value));
        };
        if start.as_.is_some() || !start.data.is_empty() {
            return Err(
                "a scheduled start has no user and takes its data from the schedule: remove `as` and `data`".into()
            );
        }
        let just_before = self.now.checked_sub(jiff::SignedDuration::from_secs(1)).unwrap_or(self.now);
        let fires = schedule.next_after(just_before, self.calendar);
        if fires != Some(self.now) {
            let next =
                schedule.next_after(self.now, self.calendar).map(|t| self.show(t)).unwrap_or_else(|| "never".into());
            return Err(format!(
                "schedule `{}` (`{}`, {}) does not fire at {}; it next fires at {next}",
                schedule.id,
                schedule.cron,
                schedule.timezone,
                self.show(self.now)
            ));
        }
        Ok(schedule)
    }

    /// `data` with each `{ file: path }` replaced by the value of that file as the driver
    /// attached it (the path read beside the scenario file), at any depth.
    fn attach_files<D: Driver>(
        &self,
        d: &mut D,
        actor: Option<&Actor>,
        data: &Map<String, Value>,
    ) -> Result<Map<String, Value>, String> {
        let mut out = Map::new();
        for (k, v) in data {
            out.insert(k.clone(), self.attach_value(d, actor, v)?);
        }
        Ok(out)
    }

    fn attach_value<D: Driver>(&self, d: &mut D, actor: Option<&Actor>, v: &Value) -> Result<Value, String> {
        Ok(match v {
            Value::Object(m) if m.len() == 1 && m.get("file").is_some_and(Value::is_string) => {
                let path = m["file"].as_str().unwrap_or_default();
                let base = std::path::Path::new(self.file).parent().unwrap_or(std::path::Path::new(""));
                let full = base.join(path);
                let bytes =
                    std::fs::read(&full).map_err(|e| format!("cannot read the file `{}`: {e}", full.display()))?;
                let name = full.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                d.attach(actor, &name, &bytes).map_err(|e| format!("cannot attach `{path}`: {}", refusal_text(&e)))?
            }
            Value::Object(m) => Value::Object(self.attach_files(d, actor, m)?),
            Value::Array(a) => {
                Value::Array(a.iter().map(|x| self.attach_value(d, actor, x)).collect::<Result<_, _>>()?)
            }
            other => other.clone(),
        })
    }

    fn show(&self, t: Timestamp) -> String {
        t.to_zoned(self.calendar.zone().clone()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
    }

    fn check_error(&mut self, at: Loc, want: &str, got: Refusal) {
        match got {
            Refusal::Refused { code, .. } if code == want => {}
            Refusal::Refused { code, message } => {
                self.fail(at, format!("expected error `{want}`, got `{code}` ({message})"))
            }
            Refusal::Failed(message) => self.fail(at, message),
        }
    }

    fn act<D: Driver>(&mut self, d: &mut D, at: Loc, a: &RawAct) -> Result<(), String> {
        if let Some(text) = &a.advance {
            let by = Duration::parse(text.value.trim()).map_err(|e| format!("bad duration `{}`: {e}", text.value))?;
            self.now = self.calendar.add(self.now, by);
            return d.advance_to(self.now);
        }
        if let Some(t) = &a.advance_to {
            let until = self.instant(t)?;
            if until < self.now {
                return Err(format!("cannot move the clock back to {}", t.value));
            }
            self.now = until;
            return d.advance_to(until);
        }
        if let Some(e) = &a.expect {
            let seen = d.observe()?;
            return self.expect(at, e, &seen);
        }
        let actor = self.actor(a.as_.as_ref())?;
        let item = a.item;
        let data = self.attach_files(d, actor, &a.data)?;
        let action = if let Some(s) = &a.complete {
            Action::Complete { step: &s.value, item, data: &data }
        } else if let Some(s) = &a.approve {
            Action::Approve { step: &s.value, item, comment: a.comment.as_deref(), data: &data }
        } else if let Some(s) = &a.reject {
            Action::Reject { step: &s.value, item, comment: a.comment.as_deref().unwrap_or_default() }
        } else if let Some(s) = &a.claim {
            Action::Claim { step: &s.value, item }
        } else if let Some(s) = &a.unclaim {
            Action::Unclaim { step: &s.value, item }
        } else if let Some(s) = &a.end_call {
            Action::EndCall { step: &s.value, item, outcome: a.outcome.as_deref().unwrap_or("completed"), data: &data }
        } else if let Some(reason) = &a.cancel {
            Action::Cancel { reason: &reason.value }
        } else {
            return Err("this entry does nothing: use complete, approve, reject, claim, unclaim, end_call, cancel, advance, advance_to or expect".into());
        };
        match (d.act(Act { actor, action }), &a.expect_error) {
            (Ok(()), None) => Ok(()),
            (Err(e), Some(want)) => {
                self.check_error(Loc::from(want.referenced), &want.value, e);
                Ok(())
            }
            (Ok(()), Some(want)) => Err(format!("expected error `{}`, but the command succeeded", want.value)),
            (Err(e), None) => Err(format!("command failed: {}", refusal_text(&e))),
        }
    }

    fn expect(&mut self, at: Loc, e: &RawExpect, seen: &Observation) -> Result<(), String> {
        let mut problems = Vec::new();
        let mut compare = |what: &str, expected: String, actual: String| {
            if expected != actual {
                problems.push(format!("{what}: expected {expected}, got {actual}"));
            }
        };
        if let Some(active) = &e.active {
            let mut want = active.clone();
            want.sort();
            compare("active steps", format!("{want:?}"), format!("{:?}", seen.active));
        }
        if let Some(s) = &e.status {
            compare("status", s.clone(), seen.status.clone());
        }
        if let Some(o) = &e.outcome {
            compare("outcome", o.clone(), seen.outcome.clone().unwrap_or_else(|| "(none)".into()));
        }
        if let Some(f) = &e.folio {
            compare("folio", f.clone(), seen.folio.clone().unwrap_or_else(|| "(none)".into()));
        }
        for (sla, want) in &e.sla {
            let got = seen.slas.get(sla).map(|(state, _)| state.clone()).unwrap_or_else(|| "(not started)".into());
            compare(&format!("SLA `{sla}`"), want.clone(), got);
        }
        for (step, want) in &e.due {
            let got = seen.task(step).and_then(|t| t.due);
            if machine::parse_instant(want, self.calendar) != got {
                let shown = got.map(|t| self.show(t)).unwrap_or_else(|| "(no deadline)".into());
                compare(&format!("due date of `{step}`"), want.clone(), shown);
            }
        }
        for (sla, want) in &e.sla_due {
            let got = seen.slas.get(sla).map(|(_, due)| *due);
            if got != machine::parse_instant(want, self.calendar) {
                let shown = got.map(|t| self.show(t)).unwrap_or_else(|| "(not started)".into());
                compare(&format!("due instant of SLA `{sla}`"), want.clone(), shown);
            }
        }
        for (step, role) in &e.tasks {
            let got = seen.task(step).map(|t| t.role.clone()).unwrap_or_else(|| "(no task)".into());
            compare(&format!("role of the task at `{step}`"), role.clone(), got);
        }
        if let Some(want) = &e.alerts {
            compare("alerts", format!("{want:?}"), format!("{:?}", seen.alerts));
        }
        if let Some(want) = &e.emails {
            let mut new = seen.emails.clone();
            for old in &self.emails_seen {
                if let Some(i) = new.iter().position(|m| m == old) {
                    new.remove(i);
                }
            }
            new.sort();
            let mut want = want.clone();
            want.sort();
            compare("e-mails since the last check", format!("{want:?}"), format!("{new:?}"));
            self.emails_seen = seen.emails.clone();
        }
        for (k, v) in &e.data {
            // An expected `{ file: path }` is that file as any driver stores it.
            let v = self.attach_value(&mut Describe, None, v)?;
            compare(
                &format!("data.{k}"),
                v.to_string(),
                seen.data.get(k).map(|v| v.to_string()).unwrap_or_else(|| "(missing)".into()),
            );
        }
        if let Some(c) = &e.rejection {
            compare("last rejection comment", c.clone(), seen.rejection.clone().unwrap_or_else(|| "(none)".into()));
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

fn refusal_text(r: &Refusal) -> String {
    match r {
        Refusal::Refused { message, .. } => message.clone(),
        Refusal::Failed(message) => message.clone(),
    }
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

/// `sla-warning:respuesta -> operador`, `overdue:responder -> responsable`,
/// `overdue:atender -> area_responsable@Dirección X`, `overdue:atender -> @ana` (a person);
/// assignments are left out.
pub fn alert_line(r: &Record) -> Option<String> {
    let Event::Alerted { kind, sla, step, roles, scope, users } = &r.event else { return None };
    if *kind == AlertKind::Assigned {
        return None;
    }
    let subject = sla.clone().or_else(|| step.clone()).unwrap_or_default();
    let to: Vec<String> = roles
        .iter()
        .map(|r| match scope {
            Some(s) => format!("{r}@{s}"),
            None => r.clone(),
        })
        .chain(users.iter().map(|u| format!("@{u}")))
        .collect();
    Some(format!("{}:{subject} -> {}", kind.as_str(), to.join(", ")))
}

/// Who a task is for, as scenarios write it in `tasks:`: `operador`, `area_responsable@Dirección
/// X` (a role within a scope), or `@ana` (a person).
pub fn holder_line(role: &str, scope: Option<&str>, assignee: Option<&str>) -> String {
    match (assignee, scope) {
        (Some(user), _) => format!("@{user}"),
        (None, Some(s)) => format!("{role}@{s}"),
        (None, None) => role.to_string(),
    }
}
