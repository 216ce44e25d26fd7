//! An instance's history as people read it: who did what, when (in the calendar's local time).

use std::collections::BTreeMap;

use tramite_engine::machine::{Event, Record};

use super::i18n::Lang;
use super::page::local;
use crate::runtime::Deployed;

/// One line of the timeline.
#[derive(Debug, Clone)]
pub struct Line {
    pub when: String,
    pub who: String,
    /// The event's key in the UI texts (`event.completed`).
    pub what: &'static str,
    /// The step, SLA or other object it concerns.
    pub object: String,
    /// A comment or reason given with it.
    pub note: Option<String>,
    /// Engine bookkeeping (automatic passes, SLA starts), shown muted.
    pub minor: bool,
    /// A link to the instance it concerns (the parent or a sub-process).
    pub href: Option<String>,
}

fn step_title(d: &Deployed, step: &str) -> String {
    d.process.step(step).map(|s| s.title.clone()).unwrap_or_else(|| step.to_string())
}

fn sla_title(d: &Deployed, sla: &str) -> String {
    d.process.sla(sla).map(|s| s.title.clone()).unwrap_or_else(|| sla.to_string())
}

fn role_titles(d: &Deployed, roles: &[String]) -> String {
    roles.iter().map(|r| d.process.role_title(r).unwrap_or(r).to_string()).collect::<Vec<_>>().join(", ")
}

/// The history of instance `id` as timeline lines, oldest first.
pub fn lines(d: &Deployed, id: &str, history: &[Record], lang: Lang) -> Vec<Line> {
    let mut steps: BTreeMap<u64, String> = BTreeMap::new();
    let mut out = Vec::new();
    for r in history {
        let on = |token: &u64| steps.get(token).map(|s| step_title(d, s)).unwrap_or_default();
        let link = |id: &str| Some(format!("/instances/{id}"));
        let mut href = None;
        let (what, object, note, minor): (&'static str, String, Option<String>, bool) = match &r.event {
            Event::Started { parent: Some(p), .. } => {
                href = link(&p.instance);
                ("event.started_by_call", format!("{} ({})", p.process, p.step), None, false)
            }
            Event::Started { .. } => ("event.started", d.process.title.clone(), None, false),
            Event::Entered { token, step, role, .. } => {
                steps.insert(*token, step.clone());
                let object = match role {
                    Some(role) => format!("{} ({})", step_title(d, step), role_titles(d, std::slice::from_ref(role))),
                    None => step_title(d, step),
                };
                ("event.entered", object, None, role.is_none())
            }
            Event::Claimed { token, .. } => ("event.claimed", on(token), None, false),
            Event::Unclaimed { token } => ("event.unclaimed", on(token), None, false),
            Event::Completed { token, .. } => ("event.completed", on(token), None, false),
            Event::Approved { token, comment, .. } => ("event.approved", on(token), comment.clone(), false),
            Event::Rejected { token, comment } => ("event.rejected", on(token), Some(comment.clone()), false),
            Event::Passed { token } => ("event.passed", on(token), None, true),
            Event::Forked { token, .. } => ("event.forked", on(token), None, true),
            Event::BranchJoined { .. } => ("event.branch_joined", String::new(), None, true),
            Event::BranchOverdue { .. } => ("event.branch_overdue", String::new(), None, false),
            Event::Joined { .. } => ("event.joined", String::new(), None, true),
            Event::DueWarned { token } => ("event.due_warned", on(token), None, false),
            Event::BranchWarned { .. } => ("event.branch_warned", String::new(), None, false),
            Event::Overdue { token } => ("event.overdue", on(token), None, false),
            Event::Reassigned { token, role } => (
                "event.reassigned",
                format!("{} → {}", on(token), role_titles(d, std::slice::from_ref(role))),
                None,
                false,
            ),
            Event::Withdrawn { token } => ("event.withdrawn", on(token), None, false),
            Event::CallStarted { process, .. } => ("event.call_started", process.clone(), None, false),
            Event::CallLinked { child, version, .. } => {
                href = link(child);
                ("event.call_linked", format!("{child} (v{version})"), None, false)
            }
            Event::CallFailed { token, message } => ("event.call_failed", on(token), Some(message.clone()), false),
            Event::CallEnded { token, outcome, child, .. } => {
                href = child.as_deref().and_then(link);
                ("event.call_ended", on(token), Some(outcome.clone()), false)
            }
            Event::SlaStarted { sla, .. } => ("event.sla_started", sla_title(d, sla), None, true),
            Event::SlaPaused { sla } => ("event.sla_paused", sla_title(d, sla), None, true),
            Event::SlaResumed { sla } => ("event.sla_resumed", sla_title(d, sla), None, true),
            Event::SlaStopped { sla } => ("event.sla_stopped", sla_title(d, sla), None, true),
            Event::SlaWarned { sla } => ("event.sla_warned", sla_title(d, sla), None, false),
            Event::SlaBreached { sla } => ("event.sla_breached", sla_title(d, sla), None, false),
            Event::Alerted { kind, roles, scope, users, .. } => {
                let mut to = role_titles(d, roles);
                if let Some(s) = scope {
                    to = format!("{to} ({s})");
                }
                let who: Vec<&str> = (!roles.is_empty())
                    .then_some(to.as_str())
                    .into_iter()
                    .chain(users.iter().map(String::as_str))
                    .collect();
                ("event.alerted", who.join(", "), Some(kind.as_str().to_string()), true)
            }
            Event::Sent { template, to, roles, link, .. } => {
                let who: Vec<String> =
                    to.iter().cloned().chain((!roles.is_empty()).then(|| role_titles(d, roles))).collect();
                let note = link.map(|_| lang.t("event.sent_link").to_string()).unwrap_or_default();
                ("event.sent", who.join(", "), Some(format!("{template}{note}")), false)
            }
            Event::ReportAttached { token, file } => {
                let name = file["name"].as_str().unwrap_or_default().to_string();
                href = file["sha256"].as_str().map(|sha| super::instance::file_href(id, sha));
                ("event.report_attached", on(token), Some(name), false)
            }
            Event::Ended { outcome } => ("event.ended", outcome.clone(), None, false),
            Event::Cancelled { reason } => ("event.cancelled", String::new(), Some(reason.clone()), false),
        };
        out.push(Line {
            when: local(r.at, &d.calendar),
            who: r.by.clone().unwrap_or_else(|| lang.t("instance.system").to_string()),
            what,
            object,
            note,
            minor,
            href,
        });
    }
    out
}
