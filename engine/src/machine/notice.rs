//! Who is told what by a transition: alerts to roles (assignments, warnings, breaches, overdue
//! steps), a reassigned task to its new role, and approval results to whoever started the
//! instance. The server renders each notice
//! with its template and queues it in the outbox of the same transaction; the scenario runner
//! compares them with the `emails:` a scenario expects. Both read them from here.

use super::event::{Event, LinkGrant, Record};
use super::state::Instance;

/// Who a notice is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// Every user holding the role — within `scope` when given (holders of `role@scope`, and of
    /// the role in every scope).
    Role { role: String, scope: Option<String> },
    /// One user by name.
    User(String),
    /// An address read from the case (someone without an account).
    Address(String),
}

impl Audience {
    /// Whether a user with these roles (and this name) is in the audience.
    pub fn reaches(&self, user: &str, roles: &[String]) -> bool {
        match self {
            Audience::User(name) => name == user,
            Audience::Address(_) => false,
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
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// The template: one of the server's (`assigned`, `sla-warning`, `sla-breach`, `overdue`,
    /// `approval-result`), or, when `own`, one of the process's.
    pub template: String,
    /// Whether the template is the process's own (a `send:` message).
    pub own: bool,
    /// File references sent with it.
    pub attach: Vec<serde_json::Value>,
    /// The task it links to.
    pub link: Option<LinkGrant>,
    pub to: Audience,
    pub sla: Option<String>,
    pub step: Option<String>,
    /// For an approval result: whether it was approved, by whom, with what comment.
    pub approved: Option<bool>,
    pub by: Option<String>,
    pub comment: Option<String>,
}

impl Notice {
    fn of(template: &str, to: Audience) -> Notice {
        Notice {
            template: template.to_string(),
            own: false,
            attach: Vec::new(),
            link: None,
            to,
            sla: None,
            step: None,
            approved: None,
            by: None,
            comment: None,
        }
    }
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
                    out.push(Notice { sla: sla.clone(), step: step.clone(), ..Notice::of(kind.as_str(), to) });
                }
            }
            // A task moved to another role arrives in that role's inbox: it is told, as it would
            // be of any task assigned to it.
            Event::Reassigned { token, role } => {
                let scope = before.and_then(|b| b.tokens.get(token)?.task.as_ref()?.role_scope.clone());
                out.push(Notice {
                    step: before.and_then(|b| b.tokens.get(token)).map(|t| t.step.clone()),
                    ..Notice::of("assigned", Audience::Role { role: role.clone(), scope })
                });
            }
            Event::Sent { template, step, sla, to, roles, attach, link } => {
                let audiences = to
                    .iter()
                    .map(|a| Audience::Address(a.clone()))
                    .chain(roles.iter().map(|role| Audience::Role { role: role.clone(), scope: None }));
                for to in audiences {
                    out.push(Notice {
                        own: true,
                        attach: attach.clone(),
                        link: *link,
                        sla: sla.clone(),
                        step: step.clone(),
                        ..Notice::of(template, to)
                    });
                }
            }
            Event::Approved { token, .. } | Event::Rejected { token, .. }
                if started_by.is_some_and(|s| r.by.as_deref() != Some(s)) =>
            {
                let (approved, comment) = match &r.event {
                    Event::Approved { comment, .. } => (true, comment.clone()),
                    Event::Rejected { comment, .. } => (false, Some(comment.clone())),
                    _ => continue,
                };
                let step = before.and_then(|b| b.tokens.get(token)).map(|t| t.step.clone());
                let to = Audience::User(started_by.unwrap_or_default().to_string());
                out.push(Notice {
                    step,
                    approved: Some(approved),
                    by: r.by.clone(),
                    comment,
                    ..Notice::of("approval-result", to)
                });
            }
            _ => {}
        }
    }
    out
}
