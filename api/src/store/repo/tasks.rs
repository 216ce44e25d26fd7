//! Task rows: one task, and the inbox (open tasks of some roles, soonest due first).

use sqlx::Row;

use super::{decode, instant, marks, maybe_instant, micros};
use crate::store::{Cursor, InboxQuery, ItemRef, Page, SlaFilter, StoreError, TaskRow};

const TASK_COLUMNS: &str = "id, instance_id, token, process, step, title, role, role_scope, assignee, kind, folio, status, due_at, claimed_by, item_index, item, sla, sla_warn_at, sla_due_at, created_at";

/// The SQL condition for an SLA standing at `now` (bound as `$at`), over the columns holding
/// the instants a clock turns warning and breached (`SlaClock::standing`): the engine's
/// `Standing::at`, in SQL. A row without a running SLA counts as `ok`.
pub(in crate::store) fn sla_condition(f: SlaFilter, warn: &str, breach: &str, at: &str) -> String {
    match f {
        SlaFilter::Breached => format!(" AND {breach} IS NOT NULL AND {breach} <= {at}"),
        SlaFilter::Warning => {
            format!(" AND ({breach} IS NULL OR {breach} > {at}) AND {warn} IS NOT NULL AND {warn} <= {at}")
        }
        SlaFilter::Ok => format!(" AND ({breach} IS NULL OR {breach} > {at}) AND ({warn} IS NULL OR {warn} > {at})"),
    }
}

queries! {
    fn task_row(r: &DB::Row) -> Result<TaskRow, StoreError> {
        let index: Option<i64> = r.try_get("item_index")?;
        let item = match (index, r.try_get::<Option<String>, _>("item")?) {
            (Some(index), Some(text)) => Some(ItemRef { index, data: decode(&text, "task item")? }),
            _ => None,
        };
        Ok(TaskRow {
            id: r.try_get("id")?,
            instance_id: r.try_get("instance_id")?,
            token: r.try_get("token")?,
            process: r.try_get("process")?,
            step: r.try_get("step")?,
            title: r.try_get("title")?,
            role: r.try_get("role")?,
            role_scope: r.try_get("role_scope")?,
            assignee: r.try_get("assignee")?,
            kind: r.try_get("kind")?,
            folio: r.try_get("folio")?,
            status: r.try_get("status")?,
            due_at: maybe_instant(r.try_get("due_at")?, "tasks.due_at")?,
            claimed_by: r.try_get("claimed_by")?,
            item,
            sla: r.try_get("sla")?,
            sla_warn_at: maybe_instant(r.try_get("sla_warn_at")?, "tasks.sla_warn_at")?,
            sla_due_at: maybe_instant(r.try_get("sla_due_at")?, "tasks.sla_due_at")?,
            created_at: instant(r.try_get("created_at")?, "tasks.created_at")?,
        })
    }

    /// One task, open or done.
    pub async fn task(&self, id: &str) -> Result<Option<TaskRow>, StoreError> {
        let sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1");
        let row = sqlx::query::<DB>(&sql).bind(id.to_string()).fetch_optional(self.pool()).await?;
        row.as_ref().map(Self::task_row).transpose()
    }

    /// Open tasks for some roles, soonest due first (the earlier of the task's deadline and its
    /// SLA's breach; neither last), one page after `q.after`.
    pub async fn inbox(&self, q: &InboxQuery) -> Result<Page<TaskRow>, StoreError> {
        // Roles are bound as values, one placeholder each; the text holds only placeholders.
        let mut sql = format!("SELECT {TASK_COLUMNS} FROM tasks WHERE status = 'open'");
        let mut bound = 0;
        let mut mark = |count: usize| {
            let m = marks(bound + 1, count);
            bound += count;
            m
        };
        // A user's tasks: those for them by name, and those of their roles — a role held in
        // every scope takes its tasks in any scope; `role@scope` takes that scope's and the
        // role's unscoped ones.
        let (plain, scoped, bases) = match &q.holder {
            Some(h) => {
                let (scoped, plain): (Vec<&String>, Vec<&String>) = h.roles.iter().partition(|r| r.contains('@'));
                let mut bases: Vec<String> =
                    scoped.iter().filter_map(|r| r.split_once('@')).map(|(b, _)| b.to_string()).collect();
                bases.sort();
                bases.dedup();
                (plain, scoped, bases)
            }
            None => (Vec::new(), Vec::new(), Vec::new()),
        };
        if q.holder.is_some() {
            let mut of_role = Vec::new();
            if !plain.is_empty() {
                of_role.push(format!("role IN ({})", mark(plain.len())));
            }
            if !bases.is_empty() {
                of_role.push(format!("(role_scope IS NULL AND role IN ({}))", mark(bases.len())));
            }
            if !scoped.is_empty() {
                of_role.push(format!("(role || '@' || role_scope) IN ({})", mark(scoped.len())));
            }
            let roles = if of_role.is_empty() { "FALSE".to_string() } else { of_role.join(" OR ") };
            sql.push_str(&format!(" AND ((assignee IS NULL AND ({roles})) OR assignee = {})", mark(1)));
        }
        if q.process.is_some() {
            sql.push_str(&format!(" AND process = {}", mark(1)));
        }
        if q.due_before.is_some() {
            sql.push_str(&format!(" AND due_at IS NOT NULL AND due_at < {}", mark(1)));
        }
        if let Some(f) = q.sla {
            sql.push_str(&sla_condition(f, "sla_warn_at", "sla_due_at", &mark(1)));
        }
        if q.after.is_some() {
            let (key, id) = (mark(1), mark(1));
            sql.push_str(&format!(" AND (urgent_at > {key} OR (urgent_at = {key} AND id > {id}))"));
        }
        sql.push_str(&format!(" ORDER BY urgent_at, id LIMIT {}", mark(1)));
        let mut query = sqlx::query::<DB>(&sql);
        for r in plain.iter().map(|r| (*r).clone()).chain(bases.iter().cloned()).chain(scoped.iter().map(|r| (*r).clone())) {
            query = query.bind(r);
        }
        if let Some(h) = &q.holder {
            query = query.bind(h.user.clone());
        }
        if let Some(p) = &q.process {
            query = query.bind(p.clone());
        }
        if let Some(t) = q.due_before {
            query = query.bind(micros(t));
        }
        if q.sla.is_some() {
            query = query.bind(micros(q.now));
        }
        if let Some(c) = &q.after {
            query = query.bind(c.key).bind(c.id.clone());
        }
        query = query.bind(q.limit + 1);
        let rows = query.fetch_all(self.pool()).await?;
        let mut rows = rows.iter().map(Self::task_row).collect::<Result<Vec<_>, _>>()?;
        let next = if rows.len() as i64 > q.limit {
            rows.truncate(q.limit as usize);
            rows.last().map(|t| Cursor { key: super::write::urgent_key(t), id: t.id.clone() })
        } else {
            None
        };
        Ok(Page { rows, next })
    }
}
