//! Task rows: one task, and the inbox (open tasks of some roles, soonest due first).

use super::{Cols, decode, instant, marks, maybe_instant, micros};
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

/// The task `$1`, open or done.
pub(in crate::store) fn task_sql() -> String {
    format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1")
}

/// A task row.
pub(in crate::store) fn task_row(r: &impl Cols) -> Result<TaskRow, StoreError> {
    let index: Option<i64> = r.col("item_index")?;
    let item = match (index, r.col::<Option<String>>("item")?) {
        (Some(index), Some(text)) => Some(ItemRef { index, data: decode(&text, "task item")? }),
        _ => None,
    };
    Ok(TaskRow {
        id: r.col("id")?,
        instance_id: r.col("instance_id")?,
        token: r.col("token")?,
        process: r.col("process")?,
        step: r.col("step")?,
        title: r.col("title")?,
        role: r.col("role")?,
        role_scope: r.col("role_scope")?,
        assignee: r.col("assignee")?,
        kind: r.col("kind")?,
        folio: r.col("folio")?,
        status: r.col("status")?,
        due_at: maybe_instant(r.col("due_at")?, "tasks.due_at")?,
        claimed_by: r.col("claimed_by")?,
        item,
        sla: r.col("sla")?,
        sla_warn_at: maybe_instant(r.col("sla_warn_at")?, "tasks.sla_warn_at")?,
        sla_due_at: maybe_instant(r.col("sla_due_at")?, "tasks.sla_due_at")?,
        created_at: instant(r.col("created_at")?, "tasks.created_at")?,
    })
}

queries! {
    /// One task, open or done.
    pub async fn task(&self, id: &str) -> Result<Option<TaskRow>, StoreError> {
        let row = sqlx::query::<DB>(&task_sql()).bind(id.to_string()).fetch_optional(self.pool()).await?;
        row.as_ref().map(task_row).transpose()
    }

    /// Open tasks for some roles, soonest due first (the earlier of the task's deadline and its
    /// SLA's breach; neither last), one page after `q.after`.
    ///
    /// A user's inbox is the union of *branches*, one per way a task reaches them (by name, by
    /// each role, by each role in a scope), each read in the order of an index on (`status`,
    /// `role`, `urgent_at`, `id`) and cut at the page size: a million open tasks cost the page,
    /// not the million. One condition joining the branches with OR would read every open task
    /// of the roles and sort them.
    pub async fn inbox(&self, q: &InboxQuery) -> Result<Page<TaskRow>, StoreError> {
        enum Value {
            Text(String),
            Int(i64),
        }
        // The values, bound once each; every branch refers to them by number.
        let mut values: Vec<Value> = Vec::new();
        let mut bind = |v: Value| {
            values.push(v);
            marks(values.len(), 1)
        };
        let mut filters = String::new();
        if let Some(p) = &q.process {
            filters.push_str(&format!(" AND process = {}", bind(Value::Text(p.clone()))));
        }
        if let Some(t) = q.due_before {
            filters.push_str(&format!(" AND due_at IS NOT NULL AND due_at < {}", bind(Value::Int(micros(t)))));
        }
        let now = micros(q.now);
        // `now`, bound only when a filter asks for it (PostgreSQL refuses a parameter it cannot
        // give a type to).
        let at = q.sla.map(|_| bind(Value::Int(now))).unwrap_or_default();
        if let Some(f) = q.sla {
            filters.push_str(&sla_condition(f, "sla_warn_at", "sla_due_at", &at));
        }
        let after = q.after.as_ref().map(|c| (c.key, bind(Value::Int(c.key)), bind(Value::Text(c.id.clone()))));
        // Where each branch's rows are read. Most filters read the branch in the order of its
        // index from the page's start. A task whose SLA is `ok` or `warning` at `now` is due
        // (`urgent_at`) after `now`, unless its deadline came first and has passed: read from
        // `now` on, such a filter skips every breached task (in a backlog, most of them), and
        // the few tasks due by a deadline earlier than their breach come from their own index
        // (`tasks_open_early_deadline`), in the order of that deadline, which is their
        // `urgent_at`. The two parts are disjoint; their union is the filter's rows.
        let past_now = matches!(q.sla, Some(SlaFilter::Ok | SlaFilter::Warning));
        // Each part: the index it must be read from (SQLite), its condition, and its order.
        let mut parts: Vec<(&str, String, &str)> = Vec::new();
        let urgency = "urgent_at, id";
        match (&after, past_now) {
            (Some((_, key, id)), false) => parts.push(("", format!(" AND (urgent_at, id) > ({key}, {id})"), urgency)),
            (None, false) => parts.push(("", String::new(), urgency)),
            // A page that starts after `now` has nothing left before it.
            (Some((k, key, id)), true) if *k > now => {
                parts.push(("", format!(" AND (urgent_at, id) > ({key}, {id})"), urgency))
            }
            (after, true) => {
                parts.push(("", format!(" AND urgent_at > {at}"), urgency));
                let from = match after {
                    Some((_, key, id)) => format!(" AND (due_at, id) > ({key}, {id})"),
                    None => String::new(),
                };
                let index = if DB::DIALECT.index_hints { " INDEXED BY tasks_open_early_deadline" } else { "" };
                parts.push((
                    index,
                    format!(" AND due_at IS NOT NULL AND (sla_due_at IS NULL OR due_at < sla_due_at) AND due_at <= {at}{from}"),
                    "due_at, id",
                ));
            }
        }
        // A role held in every scope takes its tasks in any scope; `role@scope` takes that
        // scope's and the role's unscoped ones; a task for someone by name is theirs alone.
        let branches: Vec<String> = match &q.holder {
            None => vec![String::new()],
            Some(h) => {
                let mut branches = vec![format!(" AND assignee = {}", bind(Value::Text(h.user.clone())))];
                let mut bases = Vec::new();
                for r in &h.roles {
                    match r.split_once('@') {
                        None => branches.push(format!(" AND role = {} AND assignee IS NULL", bind(Value::Text(r.clone())))),
                        Some((role, scope)) => {
                            let (role_mark, scope_mark) = (bind(Value::Text(role.into())), bind(Value::Text(scope.into())));
                            branches.push(format!(" AND role = {role_mark} AND role_scope = {scope_mark} AND assignee IS NULL"));
                            bases.push(role.to_string());
                        }
                    }
                }
                bases.sort();
                bases.dedup();
                for b in bases.into_iter().filter(|b| !h.roles.contains(b)) {
                    branches.push(format!(" AND role = {} AND role_scope IS NULL AND assignee IS NULL", bind(Value::Text(b))));
                }
                branches
            }
        };
        let limit = bind(Value::Int(q.limit + 1));
        let union = branches
            .iter()
            .flat_map(|b| parts.iter().map(move |p| (b, p)))
            .enumerate()
            .map(|(i, (b, (index, p, order)))| {
                format!(
                    "SELECT * FROM (SELECT {TASK_COLUMNS}, urgent_at FROM tasks{index} WHERE status = 'open'{b}{filters}{p} \
                     ORDER BY {order} LIMIT {limit}) AS b{i}"
                )
            })
            .collect::<Vec<_>>()
            .join(" UNION ");
        let sql = format!("SELECT {TASK_COLUMNS} FROM ({union}) AS page ORDER BY urgent_at, id LIMIT {limit}");
        let mut query = sqlx::query::<DB>(&sql);
        for v in values {
            query = match v {
                Value::Text(t) => query.bind(t),
                Value::Int(n) => query.bind(n),
            };
        }
        let rows = query.fetch_all(self.pool()).await?;
        let mut rows = rows.iter().map(task_row).collect::<Result<Vec<_>, _>>()?;
        let next = if rows.len() as i64 > q.limit {
            rows.truncate(q.limit as usize);
            rows.last().map(|t| Cursor { key: super::write::urgent_key(t), id: t.id.clone() })
        } else {
            None
        };
        Ok(Page { rows, next })
    }
}
