//! The rows a transition writes besides its events, derived from the instance's state: open
//! tasks, SLA clocks and incidents, as the inbox, the dashboard and the admins read them.

use jiff::Timestamp;
use tramite_engine::calendar::Calendar;
use tramite_engine::machine::Instance;

use super::Deployed;
use crate::store::{IncidentRow, ItemRef, SlaRow, TaskRow};

/// The instance's folio: the one its process gave it (`start.folio`), or else a `folio` its
/// data holds.
pub fn folio(inst: &Instance) -> Option<String> {
    inst.folio.clone().or_else(|| inst.data.get("folio").and_then(|v| v.as_str()).map(str::to_string))
}

/// An instant in the calendar's local time, as people read it: `2026-03-18 18:00 (America/Mexico_City)`.
pub fn local_time(t: Timestamp, cal: &Calendar) -> String {
    let z = t.to_zoned(cal.zone().clone());
    format!("{} ({})", z.strftime("%Y-%m-%d %H:%M"), cal.zone().iana_name().unwrap_or("UTC"))
}

/// The SLA clocks of an instance as report rows, with the instants each running clock turns
/// warning and breached (the engine's `SlaClock::standing`).
pub fn sla_rows(d: &Deployed, inst: &Instance) -> Vec<SlaRow> {
    inst.slas
        .iter()
        .map(|(id, run)| {
            let def = d.process.sla(id);
            let warn = def.and_then(|s| s.warn);
            let standing = run.clock.standing(&d.calendar, warn);
            let warn_at = match standing {
                Some(s) => s.warn_at,
                None => warn.map(|w| run.clock.warn_at(&d.calendar, w)),
            };
            SlaRow {
                instance_id: inst.id.clone(),
                sla: id.clone(),
                process: d.process.id.clone(),
                title: def.map(|s| s.title.clone()).unwrap_or_else(|| id.clone()),
                folio: folio(inst),
                started_at: run.clock.started,
                warn_at,
                due_at: run.clock.due(&d.calendar),
                breach_at: standing.and_then(|s| s.breach_at),
                stopped_at: run.clock.stopped,
            }
        })
        .collect()
}

/// The open tasks of an instance as inbox rows.
pub fn task_rows(d: &Deployed, inst: &Instance) -> Vec<TaskRow> {
    task_rows_with(d, inst, &sla_rows(d, inst), |_| true)
}

/// The tasks of `inst` that `keep` selects, stamped with the most urgent running clock of `slas`
/// (the instance's SLA rows, computed once by the caller): the one that turns breached first.
pub(super) fn task_rows_with(
    d: &Deployed,
    inst: &Instance,
    slas: &[SlaRow],
    keep: impl Fn(u64) -> bool,
) -> Vec<TaskRow> {
    let urgent = slas
        .iter()
        .filter(|s| s.stopped_at.is_none())
        .min_by_key(|s| (s.breach_at.unwrap_or(Timestamp::MAX), s.warn_at.unwrap_or(Timestamp::MAX)));
    inst.tasks()
        .filter(|(tok, _)| keep(tok.id))
        .map(|(tok, task)| {
            let step = d.process.step(&tok.step);
            let item = inst.item_slot(&tok.scope).map(|(_, index)| ItemRef {
                index: index as i64,
                data: inst.item(&tok.scope).cloned().unwrap_or_default(),
            });
            TaskRow {
                id: task_id(&inst.id, tok.id),
                instance_id: inst.id.clone(),
                token: tok.id as i64,
                process: d.process.id.clone(),
                step: tok.step.clone(),
                title: step.map(|s| s.title.clone()).unwrap_or_default(),
                role: task.role.clone(),
                role_scope: task.role_scope.clone(),
                assignee: task.assignee.clone(),
                kind: step.map(|s| s.kind.name()).unwrap_or("task").to_string(),
                folio: folio(inst),
                status: "open".into(),
                due_at: inst.deadline_of(tok.id),
                claimed_by: task.claimed_by.clone(),
                item,
                sla: urgent.map(|s| s.sla.clone()),
                sla_warn_at: urgent.and_then(|s| s.warn_at),
                sla_due_at: urgent.and_then(|s| s.breach_at),
                created_at: tok.entered_at,
            }
        })
        .collect()
}

/// The call steps of an instance stuck on an incident.
pub(super) fn incident_rows(d: &Deployed, inst: &Instance) -> Vec<IncidentRow> {
    inst.incidents()
        .filter_map(|(tok, call)| {
            let incident = call.incident.as_ref()?;
            Some(IncidentRow {
                instance_id: inst.id.clone(),
                token: tok.id as i64,
                process: d.process.id.clone(),
                step: tok.step.clone(),
                called: call.process.clone(),
                message: incident.message.clone(),
                created_at: incident.since,
            })
        })
        .collect()
}

/// The id of the task at `token` of instance `instance`: `<instance>.<token>`.
pub fn task_id(instance: &str, token: u64) -> String {
    format!("{instance}.{token}")
}

/// Splits a task id `<instance>.<token>`.
pub fn split_task_id(id: &str) -> Option<(&str, u64)> {
    let (inst, tok) = id.rsplit_once('.')?;
    Some((inst, tok.parse().ok()?))
}
