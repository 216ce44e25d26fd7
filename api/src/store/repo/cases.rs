//! The case list: instances newest first, filtered by who may read them, their folio or words,
//! process, status, outcome, start dates, SLA standing and the role holding them, one page at a
//! time (keyset on `started_at, id`).
//!
//! How each shape stays fast over a million cases:
//! - filters alone walk an index newest first (`(started_at, id)`, or one led by process, status
//!   or who started it) and stop at the page's end;
//! - a reader who is not an admin sees the cases of their processes and those they started: one
//!   branch per process (and one for "started by me"), each reading at most a page from its own
//!   index, merged — never every readable case sorted;
//! - words are matched in a full-text index. On SQLite the FTS5 table (`instance_search`, keyed
//!   by `instance_nums`, numbered as instances are inserted, i.e. in start order) drives the
//!   query newest match first and stops at the page's end; on PostgreSQL a GIN index over
//!   `to_tsvector('simple', search_text)` gives the matches.
//! - sub-processes are listed under their parent (`coalesce(parent_id, '') = ''` rather than
//!   `IS NULL`, so that the planner does not take the parent index for a filter that keeps
//!   nearly every row).

use super::tasks::sla_condition;
use super::{marks, micros};
use crate::store::{CaseQuery, CaseSla, Cursor, InstanceRow, Page, StoreError};

/// The columns a page reads, qualified by the instances' alias `i`.
fn columns() -> String {
    super::instances::LIST_COLUMNS.split(", ").map(|c| format!("i.{c}")).collect::<Vec<_>>().join(", ")
}

/// The words as each backend's full-text query: whole words, the last one a prefix when the
/// query ends with `*`.
fn text_query(postgres: bool, words: &[String], prefix: bool) -> String {
    let last = words.len().saturating_sub(1);
    let each = words.iter().enumerate().map(|(i, w)| match (postgres, prefix && i == last) {
        (true, true) => format!("{w}:*"),
        (true, false) => w.clone(),
        // Words are letters and digits only (folded): quoted, they are plain FTS5 strings.
        (false, true) => format!("\"{w}\"*"),
        (false, false) => format!("\"{w}\""),
    });
    each.collect::<Vec<_>>().join(if postgres { " & " } else { " " })
}

queries! {
    /// One page of the case list.
    pub async fn cases(&self, q: &CaseQuery) -> Result<Page<InstanceRow>, StoreError> {
        let postgres = Self::dialect().name == "postgres";
        let mut bound = 0;
        let mut mark = |count: usize| {
            let m = marks(bound + 1, count);
            bound += count;
            m
        };
        // Filters shared by every branch, on `i`.
        let mut filters = String::new();
        if q.process.is_none() {
            filters.push_str(" AND coalesce(i.parent_id, '') = ''");
        }
        let eq = [
            ("folio", &q.folio),
            ("process", &q.process),
            ("status", &q.status),
            ("outcome", &q.outcome),
            ("started_by", &q.started_by),
        ];
        for (col, v) in &eq {
            if v.is_some() {
                filters.push_str(&format!(" AND i.{col} = {}", mark(1)));
            }
        }
        if q.started_from.is_some() {
            filters.push_str(&format!(" AND i.started_at >= {}", mark(1)));
        }
        if q.started_before.is_some() {
            filters.push_str(&format!(" AND i.started_at < {}", mark(1)));
        }
        let slas = "SELECT 1 FROM slas s WHERE s.instance_id = i.id";
        match q.sla {
            None => {}
            Some(CaseSla::Running(f)) => filters.push_str(&format!(
                " AND EXISTS ({slas} AND s.stopped_at IS NULL{})",
                sla_condition(f, "s.warn_at", "s.breach_at", &mark(1))
            )),
            Some(CaseSla::Met) => {
                filters.push_str(&format!(" AND EXISTS ({slas} AND s.stopped_at IS NOT NULL AND s.stopped_at < s.due_at)"))
            }
            Some(CaseSla::MetLate) => {
                filters.push_str(&format!(" AND EXISTS ({slas} AND s.stopped_at IS NOT NULL AND s.stopped_at >= s.due_at)"))
            }
        }
        if q.role.is_some() {
            filters.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM tasks t WHERE t.instance_id = i.id AND t.status = 'open' AND t.role = {})",
                mark(1)
            ));
        }
        if q.after.is_some() {
            let (key, id) = (mark(1), mark(1));
            filters.push_str(&format!(" AND (i.started_at < {key} OR (i.started_at = {key} AND i.id < {id}))"));
        }
        let text = (!q.words.is_empty()).then(|| (mark(1), text_query(postgres, &q.words, q.prefix)));
        let (user, readable) = match &q.reader {
            Some(r) => (Some(mark(1)), r.processes.iter().map(|_| mark(1)).collect::<Vec<_>>()),
            None => (None, Vec::new()),
        };
        let limit = mark(1);
        let cols = columns();
        let newest = "ORDER BY i.started_at DESC, i.id DESC";

        let sql = match &text {
            Some((m, _)) if !postgres => {
                let visible = match &user {
                    None => String::new(),
                    Some(u) if readable.is_empty() => format!(" AND i.started_by = {u}"),
                    Some(u) => format!(" AND (i.started_by = {u} OR i.process IN ({}))", readable.join(", ")),
                };
                format!(
                    "SELECT {cols} FROM instance_search s JOIN instance_nums n ON n.num = s.rowid JOIN instances i ON i.id = n.id \
                     WHERE instance_search MATCH {m}{filters}{visible} ORDER BY s.rowid DESC LIMIT {limit}"
                )
            }
            _ => {
                let words = text
                    .as_ref()
                    .map(|(m, _)| format!(" AND to_tsvector('simple', coalesce(i.search_text, '')) @@ to_tsquery('simple', {m})"))
                    .unwrap_or_default();
                let branch = |cond: String| format!("SELECT {cols} FROM instances i WHERE 1 = 1{filters}{words}{cond} {newest} LIMIT {limit}");
                match &user {
                    None => branch(String::new()),
                    Some(u) => {
                        let mut branches = vec![branch(format!(" AND i.started_by = {u}"))];
                        branches.extend(readable.iter().map(|p| branch(format!(" AND i.process = {p}"))));
                        let union = branches
                            .iter()
                            .enumerate()
                            .map(|(k, b)| format!("SELECT * FROM ({b}) b{k}"))
                            .collect::<Vec<_>>()
                            .join(" UNION ");
                        format!("SELECT * FROM ({union}) i {newest} LIMIT {limit}")
                    }
                }
            }
        };

        let mut query = sqlx::query::<DB>(&sql);
        for v in eq.into_iter().filter_map(|(_, v)| v.as_ref()) {
            query = query.bind(v.clone());
        }
        if let Some(t) = q.started_from {
            query = query.bind(micros(t));
        }
        if let Some(t) = q.started_before {
            query = query.bind(micros(t));
        }
        if let Some(CaseSla::Running(_)) = q.sla {
            query = query.bind(micros(q.now));
        }
        if let Some(r) = &q.role {
            query = query.bind(r.clone());
        }
        if let Some(c) = &q.after {
            query = query.bind(c.key).bind(c.id.clone());
        }
        if let Some((_, t)) = text {
            query = query.bind(t);
        }
        if let Some(r) = &q.reader {
            query = query.bind(r.user.clone());
            for p in &r.processes {
                query = query.bind(p.clone());
            }
        }
        query = query.bind(q.limit + 1);
        let rows = query.fetch_all(self.pool()).await?;
        let mut rows = rows.iter().map(Self::list_row).collect::<Result<Vec<_>, _>>()?;
        // The full-text branch comes in insertion order, which is start order; sort the page
        // as every other list is.
        rows.sort_by(|a, b| (b.started_at, &b.id).cmp(&(a.started_at, &a.id)));
        let next = if rows.len() as i64 > q.limit {
            rows.truncate(q.limit as usize);
            rows.last().map(|r| Cursor { key: micros(r.started_at), id: r.id.clone() })
        } else {
            None
        };
        Ok(Page { rows, next })
    }
}
