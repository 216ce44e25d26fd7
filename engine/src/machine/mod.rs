//! The pure state machine: instance state, commands, events, timers.
//!
//! `start`/`execute` decide; `Instance::apply` remembers. Nothing here reads the clock or does
//! IO: `now` is an argument and the caller persists the returned records.

mod call;
mod command;
mod event;
mod fire;
mod flow;
mod notice;
mod run;
mod send;
mod slas;
mod state;

pub use call::{CallIncident, CallState, Knock, ParentLink, knocks, parent_command};
pub use command::{Actor, Command, CommandError, TimerKey};
pub use event::{AlertKind, BranchOpen, Event, LinkGrant, Record};
pub use notice::{Audience, Notice, notices};
pub use run::{Env, execute, parse_instant, start, start_call, start_with_folio};
pub use state::{BranchState, Fork, Instance, Rejection, SlaRun, Status, Task, Token};

use jiff::Timestamp;

use crate::calendar::SlaState;

/// The timers pending on an instance, each with the instant it falls due.
pub fn timers(env: Env<'_>, inst: &Instance) -> Vec<(Timestamp, TimerKey)> {
    let mut out = Vec::new();
    if !inst.is_running() {
        return out;
    }
    for t in inst.tokens.values() {
        if let Some(task) = &t.task
            && let Some(due) = task.due.filter(|_| !task.overdue)
        {
            out.push((due, TimerKey::Due { token: t.id }));
            if let Some(w) = task.warn.filter(|w| !task.warned && *w < due) {
                out.push((w, TimerKey::DueWarning { token: t.id }));
            }
        }
        if let Some(w) = t.wake {
            out.push((w, TimerKey::Wake { token: t.id }));
        }
    }
    for (id, b) in &inst.branches {
        if let Some(due) = b.due.filter(|_| !b.overdue) {
            out.push((due, TimerKey::BranchDue { branch: *id }));
            if let Some(w) = b.warn.filter(|w| !b.warned && *w < due) {
                out.push((w, TimerKey::BranchWarning { branch: *id }));
            }
        }
    }
    for (id, run) in &inst.slas {
        if run.clock.stopped.is_some() || run.clock.is_paused() {
            continue;
        }
        let Some(def) = env.process.sla(id) else { continue };
        if !run.warned
            && !run.breached
            && let Some(w) = def.warn
        {
            out.push((run.clock.warn_at(env.calendar, w), TimerKey::SlaWarning { sla: id.clone() }));
        }
        if !run.breached {
            out.push((run.clock.due(env.calendar), TimerKey::SlaBreach { sla: id.clone() }));
        }
    }
    out.sort();
    out
}

/// How each SLA of the instance stands at `now`.
pub fn sla_states(env: Env<'_>, inst: &Instance, now: Timestamp) -> Vec<(String, SlaState)> {
    inst.slas
        .iter()
        .map(|(id, run)| {
            let warn = env.process.sla(id).and_then(|s| s.warn);
            (id.clone(), run.clock.state(env.calendar, warn, now))
        })
        .collect()
}

/// Fires every timer due at or before `now`, earliest first, until none is left.
/// Returns the records produced; a timer whose firing fails is skipped.
pub fn fire_due(env: Env<'_>, inst: &mut Instance, now: Timestamp) -> Vec<Record> {
    let mut records = Vec::new();
    let mut guard = 0;
    while let Some((at, key)) = timers(env, inst).into_iter().find(|(at, _)| *at <= now) {
        guard += 1;
        if guard > 10_000 {
            break;
        }
        // Fire at the instant the timer fell due, so histories read as if nobody was late.
        match execute(env, inst, None, Command::Fire { timer: key }, at.max(inst.updated_at)) {
            Ok((next, mut recs)) => {
                *inst = next;
                records.append(&mut recs);
            }
            Err(_) => break,
        }
    }
    records
}
