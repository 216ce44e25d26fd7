//! The case list: instances newest first, filtered by who may read them, their folio or words,
//! process, status, outcome, start date, SLA standing and the role holding them, one page at a
//! time (keyset on `started_at, id`). Words are matched in a full-text index: FTS5 on SQLite
//! (`instance_search`), a GIN index over `to_tsvector('simple', search_text)` on PostgreSQL.

use super::tasks::sla_condition;
use super::{marks, micros};
use crate::store::{CaseQuery, CaseSla, Cursor, InstanceRow, Page, StoreError};

/// The text-search condition of each backend for `$m`, and the query text bound to it.
fn words_condition(dialect: &str, words: &[String], m: &str) -> (String, String) {
    let last = words.len().saturating_sub(1);
    if dialect == "postgres" {
        let q: Vec<String> =
            words.iter().enumerate().map(|(i, w)| if i == last { format!("{w}:*") } else { w.clone() }).collect();
        (format!(" AND to_tsvector('simple', coalesce(search_text, '')) @@ to_tsquery('simple', {m})"), q.join(" & "))
    } else {
        // Words are letters and digits only (folded): quoted, they are plain FTS5 strings.
        let q: Vec<String> = words
            .iter()
            .enumerate()
            .map(|(i, w)| if i == last { format!("\"{w}\"*") } else { format!("\"{w}\"") })
            .collect();
        (
            format!(
                " AND id IN (SELECT n.id FROM instance_search s JOIN instance_nums n ON n.num = s.rowid WHERE instance_search MATCH {m})"
            ),
            q.join(" "),
        )
    }
}

queries! {
    /// One page of the case list.
    pub async fn cases(&self, q: &CaseQuery) -> Result<Page<InstanceRow>, StoreError> {
        let mut sql = format!("SELECT {} FROM instances WHERE 1 = 1", super::instances::LIST_COLUMNS);
        // Sub-processes are listed under their parent, unless their own process is asked for.
        if q.process.is_none() {
            sql.push_str(" AND parent_id IS NULL");
        }
        let mut bound = 0;
        let mut mark = |count: usize| {
            let m = marks(bound + 1, count);
            bound += count;
            m
        };
        if let Some(r) = &q.reader {
            let user = mark(1);
            if r.processes.is_empty() {
                sql.push_str(&format!(" AND started_by = {user}"));
            } else {
                sql.push_str(&format!(" AND (started_by = {user} OR process IN ({}))", mark(r.processes.len())));
            }
        }
        let text = (!q.words.is_empty()).then(|| words_condition(Self::dialect().name, &q.words, &mark(1)));
        if let Some((cond, _)) = &text {
            sql.push_str(cond);
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
                sql.push_str(&format!(" AND {col} = {}", mark(1)));
            }
        }
        if q.started_from.is_some() {
            sql.push_str(&format!(" AND started_at >= {}", mark(1)));
        }
        if q.started_before.is_some() {
            sql.push_str(&format!(" AND started_at < {}", mark(1)));
        }
        match q.sla {
            None => {}
            Some(CaseSla::Running(f)) => sql.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM slas s WHERE s.instance_id = instances.id AND s.stopped_at IS NULL{})",
                sla_condition(f, "s.warn_at", "s.breach_at", &mark(1))
            )),
            Some(CaseSla::Met) => sql.push_str(
                " AND EXISTS (SELECT 1 FROM slas s WHERE s.instance_id = instances.id AND s.stopped_at IS NOT NULL AND s.stopped_at < s.due_at)",
            ),
            Some(CaseSla::MetLate) => sql.push_str(
                " AND EXISTS (SELECT 1 FROM slas s WHERE s.instance_id = instances.id AND s.stopped_at IS NOT NULL AND s.stopped_at >= s.due_at)",
            ),
        }
        if q.role.is_some() {
            sql.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM tasks t WHERE t.instance_id = instances.id AND t.status = 'open' AND t.role = {})",
                mark(1)
            ));
        }
        if q.after.is_some() {
            let (key, id) = (mark(1), mark(1));
            sql.push_str(&format!(" AND (started_at < {key} OR (started_at = {key} AND id < {id}))"));
        }
        sql.push_str(&format!(" ORDER BY started_at DESC, id DESC LIMIT {}", mark(1)));

        let mut query = sqlx::query::<DB>(&sql);
        if let Some(r) = &q.reader {
            query = query.bind(r.user.clone());
            for p in &r.processes {
                query = query.bind(p.clone());
            }
        }
        if let Some((_, text)) = text {
            query = query.bind(text);
        }
        for (_, v) in eq {
            if let Some(v) = v {
                query = query.bind(v.clone());
            }
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
        query = query.bind(q.limit + 1);
        let rows = query.fetch_all(self.pool()).await?;
        let mut rows = rows.iter().map(Self::list_row).collect::<Result<Vec<_>, _>>()?;
        let next = if rows.len() as i64 > q.limit {
            rows.truncate(q.limit as usize);
            rows.last().map(|r| Cursor { key: micros(r.started_at), id: r.id.clone() })
        } else {
            None
        };
        Ok(Page { rows, next })
    }
}
