//! The messages of a transition: the engine's notices (who is told what) rendered with their
//! templates for every user they reach who has an e-mail address, for the outbox of the same
//! transaction.

use serde_json::json;
use tramite_engine::machine::{self, Audience, Instance, Record};

use super::{Deployed, Runtime, RuntimeError, folio, local_time};
use crate::store::{NewMessage, Tx};

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
                    Audience::User(_) => None,
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
                let (subject, body) = self.templates.render(n.template, &values).map_err(RuntimeError::Internal)?;
                out.push(NewMessage {
                    instance_id: Some(inst.id.clone()),
                    kind: n.template.to_string(),
                    recipient: email,
                    subject,
                    body,
                });
            }
        }
        Ok(out)
    }
}
