//! The messages of a transition: the engine's notices (who is told what) rendered with their
//! templates — the server's, or the process's own for a `send:` — for every user they reach who
//! has an e-mail address and every address read from the case, for the outbox of the same
//! transaction.

use serde_json::json;
use tramite_engine::files::FileValue;
use tramite_engine::machine::{self, Audience, Instance, Notice, Record};

use super::{Deployed, Runtime, RuntimeError, folio, local_time};
use crate::store::{NewMessage, Tx, UserRow};

impl Runtime {
    /// Outbox rows for the notices of `records` (a transition of `inst` from `before`).
    pub(super) async fn messages(
        &self,
        tx: &mut Tx,
        d: &Deployed,
        before: Option<&Instance>,
        inst: &Instance,
        records: &[Record],
        started_by: Option<&str>,
    ) -> Result<Vec<NewMessage>, RuntimeError> {
        let notices = machine::notices(before, records, started_by);
        if notices.is_empty() {
            return Ok(Vec::new());
        }
        let users = self.users(tx).await?;
        let mut out = Vec::new();
        for n in notices {
            let step = n.step.as_ref().and_then(|s| d.process.step(s));
            let sla = n.sla.as_ref().and_then(|s| inst.slas.get(s));
            let due = sla.map(|run| run.clock.due(&d.calendar)).or_else(|| {
                let s = n.step.as_ref()?;
                inst.tokens.values().find(|t| &t.step == s).and_then(|t| inst.deadline_of(t.id))
            });
            if n.own {
                out.extend(self.own_messages(d, inst, &n, &users, due)?);
                continue;
            }
            let reached = users.iter().filter(|u| n.to.reaches(&u.name, &u.roles));
            for user in reached {
                let Some(email) = user.email.clone() else { continue };
                let role = match &n.to {
                    Audience::Role { role: r, scope } => {
                        let title = d.process.role_title(r).unwrap_or(r);
                        Some(match scope {
                            Some(s) => format!("{title} ({s})"),
                            None => title.to_string(),
                        })
                    }
                    Audience::User(_) | Audience::Address(_) => None,
                };
                let values = json!({
                    "user": user.name,
                    "role_title": role,
                    "process_title": d.process.title,
                    "folio": folio(inst).unwrap_or_else(|| inst.id.clone()),
                    "instance": inst.id,
                    "data": inst.data,
                    "step_title": step.map(|s| s.title.clone()),
                    "sla_title": n.sla.as_ref().and_then(|s| d.process.sla(s)).map(|s| s.title.clone()),
                    "due": due.map(|t| local_time(t, &d.calendar)),
                    "approved": n.approved,
                    "by": n.by,
                    "comment": n.comment,
                });
                let (subject, body) = self.templates.render(&n.template, &values).map_err(RuntimeError::Internal)?;
                out.push(NewMessage {
                    instance_id: Some(inst.id.clone()),
                    kind: n.template.clone(),
                    recipient: email,
                    subject,
                    body,
                    attachments: Vec::new(),
                });
            }
        }
        Ok(out)
    }
}

impl Runtime {
    /// The messages of a process's own `send:` notice: one per address and per user of its
    /// roles with an address, rendered with the process's template.
    fn own_messages(
        &self,
        d: &Deployed,
        inst: &Instance,
        n: &Notice,
        users: &[UserRow],
        due: Option<jiff::Timestamp>,
    ) -> Result<Vec<NewMessage>, RuntimeError> {
        let recipients: Vec<String> = match &n.to {
            Audience::Address(a) => vec![a.clone()],
            to => users.iter().filter(|u| to.reaches(&u.name, &u.roles)).filter_map(|u| u.email.clone()).collect(),
        };
        if recipients.is_empty() {
            return Ok(Vec::new());
        }
        let template = d.process.templates.get(&n.template).ok_or_else(|| {
            RuntimeError::Internal(format!("process {} has no template `{}`", d.process.id, n.template))
        })?;
        let link = n.link.map(|l| self.links().url(&inst.id, l.token, l.expires));
        let values = json!({
            "data": inst.data,
            "folio": folio(inst).unwrap_or_else(|| inst.id.clone()),
            "instance": inst.id,
            "process_title": d.process.title,
            "step_title": n.step.as_ref().and_then(|s| d.process.step(s)).map(|s| s.title.clone()),
            "sla_title": n.sla.as_ref().and_then(|s| d.process.sla(s)).map(|s| s.title.clone()),
            "sent_at": local_time(self.now(), &d.calendar),
            "due": due.map(|t| local_time(t, &d.calendar)),
            "link": link,
            "link_expires": n.link.map(|l| local_time(l.expires, &d.calendar)),
        });
        let (subject, body) = crate::mail::render_text(&template.text, &values)
            .map_err(|e| RuntimeError::Internal(format!("template {}: {e}", template.file)))?;
        let attachments = n.attach.iter().filter_map(|v| FileValue::from_value(v).ok()).collect::<Vec<_>>();
        Ok(recipients
            .into_iter()
            .map(|recipient| NewMessage {
                instance_id: Some(inst.id.clone()),
                kind: n.template.clone(),
                recipient,
                subject: subject.clone(),
                body: body.clone(),
                attachments: attachments.clone(),
            })
            .collect())
    }
}
