//! The scenario driver on the pure machine: the instance and its sub-processes held in memory,
//! calls started and ended as the server does (through [`machine::knocks`]), timers fired in
//! due order across the family at the instant each fell due.

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::alert_line;
use super::{Act, Action, Driver, Observation, Refusal, Setup, Start, TaskSeen};
use crate::definition::load::Catalog;
use crate::machine::{self, Actor, Audience, Command, Env, Instance, Knock, ParentLink, Record, Status};

/// Most timers one `advance` may fire: a guard against timers that keep re-arming.
const MAX_FIRINGS: usize = 10_000;

/// One instance of the family: the scenario's (first) or a sub-process.
#[derive(Debug)]
struct Member {
    inst: Instance,
    records: Vec<Record>,
    /// Who started it (for a sub-process: who started its parent): approval results go to them.
    started_by: Option<String>,
}

/// Runs a scenario on the pure machine.
#[derive(Debug)]
pub struct MachineDriver<'c> {
    catalog: &'c Catalog,
    process: String,
    users: BTreeMap<String, Actor>,
    family: Vec<Member>,
    now: Timestamp,
    emails: Vec<String>,
}

impl<'c> MachineDriver<'c> {
    pub fn new(catalog: &'c Catalog, setup: &Setup<'_>) -> MachineDriver<'c> {
        MachineDriver {
            catalog,
            process: setup.process.id.clone(),
            users: setup.users.clone(),
            family: Vec::new(),
            now: Timestamp::UNIX_EPOCH,
            emails: Vec::new(),
        }
    }

    /// The history of each instance of the family, the scenario's own first: what a test
    /// compares to see that a change to the machine left the order of events alone.
    pub fn histories(&self) -> impl Iterator<Item = (&str, &[Record])> {
        self.family.iter().map(|m| (m.inst.id.as_str(), m.records.as_slice()))
    }

    fn env(&self, process: &str) -> Option<Env<'c>> {
        let p = self.catalog.processes.get(process)?;
        Some(Env { process: p, calendar: self.catalog.calendar_of(p)?, forms: &self.catalog.forms })
    }

    fn member(&self, id: &str) -> Option<usize> {
        self.family.iter().position(|m| m.inst.id == id)
    }

    /// Adds a started instance and answers what its start asks of others.
    fn adopt(&mut self, inst: Instance, records: Vec<Record>, started_by: Option<String>) -> Result<(), Refusal> {
        self.mail(None, &records, started_by.as_deref());
        let knocks = machine::knocks(None, &inst, &records);
        let id = inst.id.clone();
        self.family.push(Member { inst, records, started_by });
        self.answer(&id, knocks)
    }

    /// Runs `cmd` on member `id` at `at`, then what it asks of the others.
    fn run(&mut self, id: &str, actor: Option<&Actor>, cmd: Command, at: Timestamp) -> Result<(), Refusal> {
        let ix = self.member(id).ok_or_else(|| Refusal::Failed(format!("no instance `{id}`")))?;
        let process = self.family[ix].inst.process.clone();
        let env = self.env(&process).ok_or_else(|| Refusal::Failed(format!("process `{process}` is not loaded")))?;
        let before = self.family[ix].inst.clone();
        let (inst, records) = machine::execute(env, &before, actor, cmd, at).map_err(|e| Refusal::of(&e))?;
        let started_by = self.family[ix].started_by.clone();
        self.mail(Some(&before), &records, started_by.as_deref());
        let knocks = machine::knocks(Some(&before), &inst, &records);
        let m = &mut self.family[ix];
        m.inst = inst;
        m.records.extend(records);
        self.answer(id, knocks)
    }

    /// Answers the knocks of member `from`, and those their answers raise, in order.
    fn answer(&mut self, from: &str, knocks: Vec<Knock>) -> Result<(), Refusal> {
        for knock in knocks {
            match &knock {
                Knock::Start { token, process, data } => {
                    let Some(parent) = self.member(from).map(|i| self.family[i].inst.clone()) else { continue };
                    let step = parent.tokens.get(token).map(|t| t.step.clone()).unwrap_or_default();
                    let link =
                        ParentLink { instance: from.to_string(), token: *token, process: parent.process.clone(), step };
                    let child = format!("{from}/{token}");
                    let started = match self.env(process) {
                        Some(env) => machine::start_call(env, &child, data.clone(), link, self.now)
                            .map_err(|e| super::describe(&e)),
                        None => Err(format!("process `{process}` is not deployed")),
                    };
                    match started {
                        Ok((inst, records)) => {
                            let cmd = Command::LinkCall { task: *token, child: child.clone(), version: 1 };
                            self.run(from, None, cmd, self.now)?;
                            // A sub-process is on behalf of whoever started its parent.
                            let starter = self.member(from).and_then(|i| self.family[i].started_by.clone());
                            self.adopt(inst, records, starter)?;
                        }
                        Err(message) => self.run(from, None, Command::FailCall { task: *token, message }, self.now)?,
                    }
                }
                Knock::Return { parent, child, .. } | Knock::Fail { parent, child, .. } => {
                    let waiting =
                        self.member(&parent.instance).is_some_and(|i| self.family[i].inst.awaits(parent.token, child));
                    if let (true, Some((to, cmd))) = (waiting, machine::parent_command(&knock)) {
                        self.run(&to, None, cmd, self.now)?;
                    }
                }
                Knock::Cancel { child, reason } => {
                    let running = self.member(child).is_some_and(|i| self.family[i].inst.is_running());
                    if running {
                        let cmd = Command::Cancel { reason: reason.clone() };
                        self.run(child, None, cmd, self.now)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Records the messages of `records` as `template -> user`, every user taken to have an
    /// address.
    fn mail(&mut self, before: Option<&Instance>, records: &[Record], started_by: Option<&str>) {
        for n in machine::notices(before, records, started_by) {
            let to: Vec<&str> = match &n.to {
                Audience::User(name) => self.users.get(name).map(|u| u.user.as_str()).into_iter().collect(),
                Audience::Address(a) => vec![a.as_str()],
                role => {
                    self.users.values().filter(|u| role.reaches(&u.user, &u.roles)).map(|u| u.user.as_str()).collect()
                }
            };
            self.emails.extend(to.into_iter().map(|u| format!("{} -> {u}", n.template)));
        }
    }

    /// The token at `step` (the `item`-th `for_each` element's when given): in the scenario's
    /// instance first, then in its sub-processes.
    fn token_at(&self, step: &str, item: Option<usize>) -> Result<(String, u64), Refusal> {
        for m in &self.family {
            let found = m.inst.tokens.values().find(|t| {
                t.step == step && item.is_none_or(|n| m.inst.item_slot(&t.scope).is_some_and(|(_, i)| i + 1 == n))
            });
            if let Some(t) = found {
                return Ok((m.inst.id.clone(), t.id));
            }
        }
        let which = item.map(|n| format!(" for element {n}")).unwrap_or_default();
        let active: Vec<String> = self.family.iter().flat_map(|m| m.inst.active_steps()).collect();
        Err(Refusal::Failed(format!("no open task at step `{step}`{which}; active steps: {active:?}")))
    }

    /// Fires every timer due by `until` across the family, earliest first, each at the instant
    /// it fell due (or the instance's last event, if later).
    fn fire(&mut self, until: Timestamp) -> Result<(), String> {
        for _ in 0..MAX_FIRINGS {
            let next = self
                .family
                .iter()
                .filter_map(|m| {
                    let env = self.env(&m.inst.process)?;
                    let (at, key) = machine::timers(env, &m.inst).into_iter().next()?;
                    (at <= until).then(|| (at, m.inst.id.clone(), key, m.inst.updated_at))
                })
                .min_by_key(|(at, _, _, _)| *at);
            let Some((at, id, key, last)) = next else { return Ok(()) };
            self.now = at.max(last);
            self.run(&id, None, Command::Fire { timer: key }, self.now).map_err(|e| super::refusal_text(&e))?;
        }
        Err(format!("more than {MAX_FIRINGS} timers fell due: do deadlines re-arm one another?"))
    }
}

impl Driver for MachineDriver<'_> {
    fn start(&mut self, at: Timestamp, start: Start<'_>) -> Result<(), Refusal> {
        self.now = at;
        let env = self
            .env(&self.process)
            .ok_or_else(|| Refusal::Failed(format!("process `{}` is not loaded", self.process)))?;
        let (actor, data) = match start {
            Start::Data { actor, data } => (actor, data.clone()),
            Start::Schedule { schedule } => (None, schedule.data.clone()),
        };
        // The scenario's case is the first its process numbers (a server's store counts on).
        let folio = env.process.start.folio.as_ref().map(|f| f.render(at, env.calendar.zone(), 1));
        let (inst, records) =
            machine::start_with_folio(env, "scenario", data, actor, folio, at).map_err(|e| Refusal::of(&e))?;
        self.adopt(inst, records, actor.map(|a| a.user.clone()))?;
        self.fire(at).map_err(Refusal::Failed)?;
        self.now = at;
        Ok(())
    }

    fn act(&mut self, act: Act<'_>) -> Result<(), Refusal> {
        let now = self.now;
        let (id, cmd) = match act.action {
            Action::Cancel { reason } => ("scenario".to_string(), Command::Cancel { reason: reason.to_string() }),
            Action::Complete { step, item, data } => {
                let (id, task) = self.token_at(step, item)?;
                (id, Command::Complete { task, data: data.clone() })
            }
            Action::Approve { step, item, comment, data } => {
                let (id, task) = self.token_at(step, item)?;
                (id, Command::Approve { task, comment: comment.map(str::to_string), data: data.clone() })
            }
            Action::Reject { step, item, comment } => {
                let (id, task) = self.token_at(step, item)?;
                (id, Command::Reject { task, comment: comment.to_string() })
            }
            Action::Claim { step, item } => {
                let (id, task) = self.token_at(step, item)?;
                (id, Command::Claim { task })
            }
            Action::Unclaim { step, item } => {
                let (id, task) = self.token_at(step, item)?;
                (id, Command::Unclaim { task })
            }
            Action::EndCall { step, item, outcome, data } => {
                let (id, task) = self.token_at(step, item)?;
                (id, Command::CallEnded { task, outcome: outcome.to_string(), data: data.clone(), child: None })
            }
        };
        self.run(&id, act.actor, cmd, now)?;
        self.fire(now).map_err(Refusal::Failed)?;
        self.now = now;
        Ok(())
    }

    fn advance_to(&mut self, until: Timestamp) -> Result<(), String> {
        self.fire(until)?;
        self.now = until;
        Ok(())
    }

    fn observe(&mut self) -> Result<Observation, String> {
        let root = self.family.first().ok_or("no instance")?;
        let inst = &root.inst;
        let env = self.env(&inst.process).ok_or("the process is not loaded")?;
        let (status, outcome) = match &inst.status {
            Status::Running => ("running", None),
            Status::Ended { outcome } => ("ended", Some(outcome.clone())),
            Status::Cancelled { .. } => ("cancelled", None),
        };
        let states = machine::sla_states(env, inst, self.now);
        let slas = states
            .into_iter()
            .filter_map(|(id, state)| {
                let due = inst.slas.get(&id)?.clock.due(env.calendar);
                Some((id, (state.as_str().to_string(), due)))
            })
            .collect();
        let tasks = self
            .family
            .iter()
            .flat_map(|m| {
                m.inst.tasks().map(|(t, task)| TaskSeen {
                    step: t.step.clone(),
                    item: m.inst.item_slot(&t.scope).map(|(_, i)| i + 1),
                    role: super::holder_line(&task.role, task.role_scope.as_deref(), task.assignee.as_deref()),
                    due: m.inst.deadline_of(t.id),
                })
            })
            .collect();
        Ok(Observation {
            active: inst.active_steps(),
            status: status.to_string(),
            outcome,
            slas,
            tasks,
            alerts: root.records.iter().filter_map(alert_line).collect(),
            data: inst.data.clone(),
            folio: inst.folio.clone(),
            rejection: inst.last_rejection.as_ref().map(|r| r.comment.clone()),
            emails: self.emails.clone(),
        })
    }
}
