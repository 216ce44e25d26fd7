//! Who is told what by a transition: alerts to roles (assignments, warnings, breaches, overdue
//! steps), a reassigned task to its new role, and approval results to whoever started the
//! instance. The server renders each notice
//! with its template and queues it in the outbox of the same transaction; the scenario runner
//! compares them with the `emails:` a scenario expects. Both read them from here.

use super::event::{Event, Record};
use super::state::Instance;

/// Who a notice is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// Every user holding the role — within `scope` when given (holders of `role@scope`, and of
    /// the role in every scope).
    Role { role: String, scope: Option<String> },
    /// One user by name.
    User(String),
}

impl Audience {
    /// Whether a user with these roles (and this name) is in the audience.
    pub fn reaches(&self, user: &str, roles: &[String]) -> bool {
        match self {
            Audience::User(name) => name == user,
            Audience::Role { role, scope: None } => {
                roles.iter().any(|r| r == role || r.split_once('@').is_some_and(|(base, _)| base == role))
            }
            Audience::Role { role, scope: Some(s) } => {
                roles.iter().any(|r| r == role || r.split_once('@') == Some((role.as_str(), s.as_str())))
            }
        }
    }
}

/// One message a transition sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The template: `assigned`, `sla-warning`, `sla-breach`, `overdue` or `approval-result`.
    pub template: &'static str,
    pub to: Audience,
    pub sla: Option<String>,
    pub step: Option<String>,
    /// For an approval result: whether it was approved, by whom, with what comment.
    pub approved: Option<bool>,
    pub by: Option<String>,
    pub comment: Option<String>,
}

/// The notices of `records`, produced by a transition from `before` (none for a start). The
/// result of an approval goes to `started_by` unless they decided it themselves.
pub fn notices(before: Option<&Instance>, records: &[Record], started_by: Option<&str>) -> Vec<Notice> {
    let mut out = Vec::new();
    for r in records {
        match &r.event {
            Event::Alerted { kind, roles, sla, step, scope, users } => {
                let audiences = roles
                    .iter()
                    .map(|role| Audience::Role { role: role.clone(), scope: scope.clone() })
                    .chain(users.iter().map(|u| Audience::User(u.clone())));
                for to in audiences {
                    out.push(Notice {
                        template: kind.as_str(),
                        to,
                        sla: sla.clone(),
                        step: step.clone(),
                        approved: None,
                        by: None,
                        comment: None,
                    });
                }
            }
            // A task moved to another role arrives in that role's inbox: it is told, as it would
            // be of any task assigned to it.
            Event::Reassigned { token, role } => out.push(Notice {
                template: "assigned",
                to: Audience::Role {
                    role: role.clone(),
                    scope: before.and_then(|b| b.tokens.get(token)?.task.as_ref()?.role_scope.clone()),
                },
                sla: None,
                step: before.and_then(|b| b.tokens.get(token)).map(|t| t.step.clone()),
                approved: None,
                by: None,
                comment: None,
            }),
            Event::Approved { token, .. } | Event::Rejected { token, .. }
                if started_by.is_some_and(|s| r.by.as_deref() != Some(s)) =>
            {
                let (approved, comment) = match &r.event {
                    Event::Approved { comment, .. } => (true, comment.clone()),
                    Event::Rejected { comment, .. } => (false, Some(comment.clone())),
                    _ => continue,
                };
                let step = before.and_then(|b| b.tokens.get(token)).map(|t| t.step.clone());
                out.push(Notice {
                    template: "approval-result",
                    to: Audience::User(started_by.unwrap_or_default().to_string()),
                    sla: None,
                    step,
                    approved: Some(approved),
                    by: r.by.clone(),
                    comment,
                });
            }
            _ => {}
        }
    }
    out
}
