//! Writing transitions: events appended, the instance row updated (or created, or refused when
//! someone else changed it first), and the rows derived from its state — tasks, timers, SLA
//! clocks, incidents — brought in line, with the outbox messages, in the caller's transaction.

use std::collections::HashSet;

use jiff::Timestamp;
use sqlx::Transaction;
use tramite_engine::machine::TimerKey;

use super::outbox::attachments_json;
use super::{RowsAffected, encode, list, micros, values};
use crate::store::{
    Change, IncidentRow, NewMessage, ReportJob, RowKeys, SlaRow, StoreError, TaskRow, sla_flags, status_of,
};

/// Rows per multi-row statement. A batch's rows go in statements of this many and one of the
/// rest, so each table has at most this many statement texts: every one stays prepared on the
/// connection (`STATEMENT_CACHE`) instead of being parsed and planned again for each batch size.
const ROWS: usize = 64;

/// Where a task sorts in the inbox: the earlier of its own deadline and its SLA's breach, or
/// last of all when it has neither.
pub(super) fn urgent_key(t: &TaskRow) -> i64 {
    [t.due_at, t.sla_due_at].into_iter().flatten().min().map(micros).unwrap_or(i64::MAX)
}

/// An instance row to write: its last change in the batch, who started it and its start's
/// idempotency key (from its first change).
type InstanceRow<'c, 'a> = (&'c Change<'a>, Option<&'c str>, Option<&'c str>);

/// When and by whom a task was closed.
struct Closing {
    at: Timestamp,
    by: Option<String>,
}

queries! {
    /// One transition: events appended, instance row updated (or created, or refused when
    /// someone else changed it since `before_seq`), tasks, timers, SLAs, incidents and outbox
    /// brought in line with the new state.
    pub async fn save(tx: &mut Transaction<'static, DB>, c: &Change<'_>) -> Result<(), StoreError> {
        match c.before_seq {
            None => Self::upsert_rows(tx, &[(c, c.started_by, c.idempotency_key)], true).await?,
            Some(before) => {
                let (status, outcome) = status_of(c.state);
                let (running, met, late) = sla_flags(&c.slas);
                let done = sqlx::query::<DB>(
                    "UPDATE instances SET status = $1, outcome = $2, state = $3, seq = $4, updated_at = $5, ended_at = $6, \
                     folio = $7, search_text = $8, sla_running = $9, sla_met = $10, sla_late = $11 WHERE id = $12 AND seq = $13",
                )
                .bind(status.to_string())
                .bind(outcome)
                .bind(encode(c.state, "instance state")?)
                .bind(c.state.version as i64)
                .bind(micros(c.now))
                .bind(c.state.ended_at.map(micros))
                .bind(c.folio.clone())
                .bind(c.search_text.clone())
                .bind(running)
                .bind(met)
                .bind(late)
                .bind(c.id.to_string())
                .bind(before)
                .execute(&mut **tx)
                .await?;
                if done.rows() != 1 {
                    return Err(StoreError::Conflict);
                }
            }
        }
        Self::write_rows(tx, &[c]).await
    }

    /// Many transitions already serialized by one writer (the SQLite group commit), in a fixed
    /// number of statements whatever their count.
    pub async fn save_batch(tx: &mut Transaction<'static, DB>, changes: &[&Change<'_>]) -> Result<(), StoreError> {
        // Each instance's row: its final state, with the creation data of its first change, and
        // what its indexes held before that change (when known).
        let mut rows: Vec<(InstanceRow<'_, '_>, Option<&RowKeys>)> = Vec::new();
        for c in changes {
            match rows.iter_mut().find(|((l, ..), _)| l.id == c.id) {
                Some(((last, ..), _)) => *last = c,
                None => rows.push(((c, c.started_by, c.idempotency_key), c.before.as_ref().map(|b| &b.keys))),
            }
        }
        // Rows whose indexed columns stay as they were are rewritten without them.
        let (same, other): (Vec<_>, Vec<_>) = rows.into_iter().partition(|((c, ..), before)| {
            before.is_some_and(|b| *b == RowKeys::of(c.state, c.folio.clone(), &c.slas))
        });
        for (rows, keys) in [(other, true), (same, false)] {
            let rows: Vec<InstanceRow<'_, '_>> = rows.into_iter().map(|(row, _)| row).collect();
            for chunk in rows.chunks(ROWS) {
                Self::upsert_rows(tx, chunk, keys).await?;
            }
        }
        Self::write_rows(tx, changes).await
    }

    /// Inserts instance rows, or updates the state of those that exist; with `keys`, also the
    /// columns indexes hold (status, folio, SLA standing), which an update otherwise leaves.
    async fn upsert_rows(
        tx: &mut Transaction<'static, DB>,
        rows: &[InstanceRow<'_, '_>],
        keys: bool,
    ) -> Result<(), StoreError> {
        let indexed = if keys {
            ", status = excluded.status, folio = excluded.folio, sla_running = excluded.sla_running, \
             sla_met = excluded.sla_met, sla_late = excluded.sla_late"
        } else {
            ""
        };
        let sql = format!(
            "INSERT INTO instances (id, process, version, status, outcome, folio, state, seq, started_at, updated_at, ended_at, started_by, start_key, parent_id, parent_token, search_text, sla_running, sla_met, sla_late) \
             VALUES {} ON CONFLICT (id) DO UPDATE SET outcome = excluded.outcome, state = excluded.state, seq = excluded.seq, \
             updated_at = excluded.updated_at, ended_at = excluded.ended_at, search_text = excluded.search_text{indexed}",
            values(DB::DIALECT, rows.len(), 19)
        );
        let mut q = sqlx::query::<DB>(&sql);
        for (c, started_by, key) in rows {
            let (status, outcome) = status_of(c.state);
            let parent = c.state.parent.as_ref();
            let (running, met, late) = sla_flags(&c.slas);
            q = q
                .bind(c.id.to_string())
                .bind(c.process.to_string())
                .bind(c.version)
                .bind(status.to_string())
                .bind(outcome)
                .bind(c.folio.clone())
                .bind(encode(c.state, "instance state")?)
                .bind(c.state.version as i64)
                .bind(micros(c.state.started_at))
                .bind(micros(c.now))
                .bind(c.state.ended_at.map(micros))
                .bind(started_by.map(str::to_string))
                .bind(key.map(str::to_string))
                .bind(parent.map(|p| p.instance.clone()))
                .bind(parent.map(|p| p.token as i64))
                .bind(c.search_text.clone())
                .bind(running)
                .bind(met)
                .bind(late);
        }
        q.execute(&mut **tx).await.map_err(|e| StoreError::from_db(e, "instance"))?;
        Ok(())
    }

    /// Events, tasks, timers, SLA clocks, incidents and messages of some transitions, one
    /// statement per table (and per few hundred rows): on SQLite every statement is a round
    /// trip to the database thread, so a transition costs its statements more than its rows.
    async fn write_rows(tx: &mut Transaction<'static, DB>, changes: &[&Change<'_>]) -> Result<(), StoreError> {
        Self::write_events(tx, changes).await?;
        Self::write_tasks(tx, changes).await?;
        Self::write_folio_counts(tx, changes).await?;
        Self::write_measures(tx, changes).await?;
        Self::write_report_jobs(tx, changes).await?;

        // Timers, SLA clocks and incidents: each instance's final set replaces what was stored,
        // where it differs from what was stored (the state before its first change here).
        // Per instance: its first change, its last, and whether any change of it here does not
        // know what is stored (then its rows are rewritten whatever they hold).
        let mut finals: Vec<(&Change<'_>, &Change<'_>, bool)> = Vec::new();
        for c in changes {
            let unknown = c.before_seq.is_some() && c.before.is_none();
            match finals.iter_mut().find(|(_, f, _)| f.id == c.id) {
                Some((_, f, u)) => (*f, *u) = (c, *u || unknown),
                None => finals.push((c, c, unknown)),
            }
        }
        // Per table: the instances whose rows go, and those whose rows come.
        let mut gone: [Vec<&str>; 3] = Default::default();
        let mut come: [Vec<&Change<'_>>; 3] = Default::default();
        for (first, last, unknown) in &finals {
            let kept = |table: usize| match (&first.before, table) {
                _ if *unknown => false,
                (Some(b), 0) => b.timers == last.timers,
                (Some(b), 1) => b.slas == last.slas,
                (Some(b), _) => b.incidents == last.incidents,
                (None, _) => false,
            };
            for table in 0..3 {
                if first.before_seq.is_none() {
                    come[table].push(last);
                } else if !kept(table) {
                    gone[table].push(first.id);
                    come[table].push(last);
                }
            }
        }
        for (table, ids) in ["timers", "slas", "incidents"].into_iter().zip(&gone) {
            for chunk in ids.chunks(ROWS) {
                let sql = format!("DELETE FROM {table} WHERE instance_id IN ({})", list(DB::DIALECT, chunk.len()));
                let mut q = sqlx::query::<DB>(&sql);
                for id in chunk {
                    q = q.bind(id.to_string());
                }
                q.execute(&mut **tx).await?;
            }
        }
        let [timer_sets, sla_sets, incident_sets] = come;
        let timers: Vec<(&str, &Timestamp, &TimerKey)> =
            timer_sets.iter().flat_map(|c| c.timers.iter().map(move |(at, k)| (c.id, at, k))).collect();
        for chunk in timers.chunks(ROWS) {
            let sql = format!(
                "INSERT INTO timers (instance_id, timer, due_at) VALUES {} ON CONFLICT (instance_id, timer) DO NOTHING",
                values(DB::DIALECT, chunk.len(), 3)
            );
            let mut q = sqlx::query::<DB>(&sql);
            for (id, at, key) in chunk {
                q = q.bind(id.to_string()).bind(encode(*key, "timer")?).bind(micros(**at));
            }
            q.execute(&mut **tx).await?;
        }
        let slas: Vec<&SlaRow> = sla_sets.iter().flat_map(|c| c.slas.iter()).collect();
        for chunk in slas.chunks(ROWS) {
            let sql = format!(
                "INSERT INTO slas (instance_id, sla, process, title, folio, started_at, warn_at, due_at, breach_at, stopped_at) VALUES {}",
                values(DB::DIALECT, chunk.len(), 10)
            );
            let mut q = sqlx::query::<DB>(&sql);
            for s in chunk {
                q = q
                    .bind(s.instance_id.clone())
                    .bind(s.sla.clone())
                    .bind(s.process.clone())
                    .bind(s.title.clone())
                    .bind(s.folio.clone())
                    .bind(micros(s.started_at))
                    .bind(s.warn_at.map(micros))
                    .bind(micros(s.due_at))
                    .bind(s.breach_at.map(micros))
                    .bind(s.stopped_at.map(micros));
            }
            q.execute(&mut **tx).await?;
        }
        let incidents: Vec<&IncidentRow> = incident_sets.iter().flat_map(|c| c.incidents.iter()).collect();
        for chunk in incidents.chunks(ROWS) {
            let sql = format!(
                "INSERT INTO incidents (instance_id, token, process, step, called, message, created_at) VALUES {}",
                values(DB::DIALECT, chunk.len(), 7)
            );
            let mut q = sqlx::query::<DB>(&sql);
            for i in chunk {
                q = q
                    .bind(i.instance_id.clone())
                    .bind(i.token)
                    .bind(i.process.clone())
                    .bind(i.step.clone())
                    .bind(i.called.clone())
                    .bind(i.message.clone())
                    .bind(micros(i.created_at));
            }
            q.execute(&mut **tx).await?;
        }

        let messages: Vec<(&NewMessage, Timestamp)> =
            changes.iter().flat_map(|c| c.outbox.iter().map(move |m| (m, c.now))).collect();
        for chunk in messages.chunks(ROWS) {
            let sql = format!(
                "INSERT INTO outbox (instance_id, kind, recipient, subject, body, created_at, next_attempt_at, \
                 attachments) VALUES {}",
                values(DB::DIALECT, chunk.len(), 8)
            );
            let mut q = sqlx::query::<DB>(&sql);
            for (m, now) in chunk {
                q = q
                    .bind(m.instance_id.clone())
                    .bind(m.kind.clone())
                    .bind(m.recipient.clone())
                    .bind(m.subject.clone())
                    .bind(m.body.clone())
                    .bind(micros(*now))
                    .bind(micros(*now))
                    .bind(attachments_json(&m.attachments));
            }
            q.execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// What the changed cases contribute to indicators: each (indicator, case, item) once, as
    /// the batch's last change of the case left it.
    async fn write_measures(tx: &mut Transaction<'static, DB>, changes: &[&Change<'_>]) -> Result<(), StoreError> {
        let mut rows: Vec<(&str, &tramite_engine::definition::indicators::Contribution)> = Vec::new();
        for c in changes {
            for m in &c.measures {
                let same = |(id, r): &(&str, &tramite_engine::definition::indicators::Contribution)| {
                    *id == c.id && r.indicator == m.indicator && r.item == m.item
                };
                match rows.iter_mut().find(|r| same(r)) {
                    Some(r) => *r = (c.id, m),
                    None => rows.push((c.id, m)),
                }
            }
        }
        for chunk in rows.chunks(ROWS) {
            let sql = format!(
                "INSERT INTO measures (indicator, instance_id, item, period, grp, value) VALUES {} \
                 ON CONFLICT (indicator, instance_id, item) DO UPDATE SET period = excluded.period, \
                 grp = excluded.grp, value = excluded.value",
                values(DB::DIALECT, chunk.len(), 6)
            );
            let mut q = sqlx::query::<DB>(&sql);
            for (id, m) in chunk {
                q = q
                    .bind(m.indicator.clone())
                    .bind(id.to_string())
                    .bind(m.item as i64)
                    .bind(m.period.clone())
                    .bind(m.group.clone())
                    .bind(m.value);
            }
            q.execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// Report jobs: those of the report tasks opened, then less those whose report is attached.
    async fn write_report_jobs(tx: &mut Transaction<'static, DB>, changes: &[&Change<'_>]) -> Result<(), StoreError> {
        let jobs: Vec<(&ReportJob, Timestamp)> = changes.iter().flat_map(|c| c.reports.iter().map(move |j| (j, c.now))).collect();
        for chunk in jobs.chunks(ROWS) {
            let sql = format!(
                "INSERT INTO report_jobs (task_id, instance_id, token, process, opened_at, next_at) VALUES {} \
                 ON CONFLICT (task_id) DO NOTHING",
                values(DB::DIALECT, chunk.len(), 6)
            );
            let mut q = sqlx::query::<DB>(&sql);
            for (j, now) in chunk {
                q = q
                    .bind(j.task_id.clone())
                    .bind(j.instance_id.clone())
                    .bind(j.token as i64)
                    .bind(j.process.clone())
                    .bind(micros(j.opened_at))
                    .bind(micros(*now));
            }
            q.execute(&mut **tx).await?;
        }
        for c in changes {
            for task in &c.reported {
                sqlx::query::<DB>("DELETE FROM report_jobs WHERE task_id = $1").bind(task.clone()).execute(&mut **tx).await?;
            }
        }
        Ok(())
    }

    /// The last folio number each process gave in each scope, as the new cases took them.
    async fn write_folio_counts(tx: &mut Transaction<'static, DB>, changes: &[&Change<'_>]) -> Result<(), StoreError> {
        let mut counts: Vec<(&str, &str, i64)> = Vec::new();
        for c in changes {
            let Some((scope, n)) = &c.folio_count else { continue };
            match counts.iter_mut().find(|(p, s, _)| *p == c.process && s == scope) {
                Some(row) => row.2 = row.2.max(*n),
                None => counts.push((c.process, scope, *n)),
            }
        }
        if counts.is_empty() {
            return Ok(());
        }
        let sql = format!(
            "INSERT INTO folio_counters (process, scope, last) VALUES {} \
             ON CONFLICT (process, scope) DO UPDATE SET last = excluded.last",
            values(DB::DIALECT, counts.len(), 3)
        );
        let mut q = sqlx::query::<DB>(&sql);
        for (process, scope, n) in counts {
            q = q.bind(process.to_string()).bind(scope.to_string()).bind(n);
        }
        q.execute(&mut **tx).await?;
        Ok(())
    }

    /// The last folio number `process` gave in `scope` (0 before the first), its counter row
    /// locked for the transaction: made first, so that PostgreSQL has a row to lock and a
    /// concurrent start on another node waits for this one's commit.
    pub async fn last_folio(
        tx: &mut Transaction<'static, DB>,
        d: super::Dialect,
        process: &str,
        scope: &str,
    ) -> Result<i64, StoreError> {
        sqlx::query::<DB>(
            "INSERT INTO folio_counters (process, scope, last) VALUES ($1, $2, 0) ON CONFLICT (process, scope) DO NOTHING",
        )
        .bind(process.to_string())
        .bind(scope.to_string())
        .execute(&mut **tx)
        .await?;
        let sql = format!("SELECT last FROM folio_counters WHERE process = $1 AND scope = $2{}", d.for_update);
        let row = sqlx::query::<DB>(&sql).bind(process.to_string()).bind(scope.to_string()).fetch_one(&mut **tx).await?;
        Ok(sqlx::Row::try_get(&row, "last")?)
    }

    /// Appends the events of each change after the `seq` it was read at.
    async fn write_events(tx: &mut Transaction<'static, DB>, changes: &[&Change<'_>]) -> Result<(), StoreError> {
        let mut events = Vec::new();
        for c in changes {
            let first = c.before_seq.unwrap_or(0);
            for (i, r) in c.records.iter().enumerate() {
                let body = serde_json::to_value(r).map_err(|e| StoreError::Encode(format!("event: {e}")))?;
                let kind = body.get("type").and_then(|t| t.as_str()).unwrap_or_default().to_string();
                events.push((c.id, first + i as i64 + 1, r, kind, body.to_string()));
            }
        }
        for chunk in events.chunks(ROWS) {
            let sql = format!(
                "INSERT INTO events (instance_id, seq, at, actor, kind, body) VALUES {}",
                values(DB::DIALECT, chunk.len(), 6)
            );
            let mut q = sqlx::query::<DB>(&sql);
            for (id, seq, r, kind, body) in chunk {
                q = q
                    .bind(id.to_string())
                    .bind(*seq)
                    .bind(micros(r.at))
                    .bind(r.by.clone())
                    .bind(kind.clone())
                    .bind(body.clone());
            }
            q.execute(&mut **tx).await.map_err(|e| match StoreError::from_db(e, "event") {
                StoreError::Duplicate(_) => StoreError::Conflict,
                other => other,
            })?;
        }
        Ok(())
    }

    /// The open tasks, and those the transitions closed (status `done`); a task seen several
    /// times in a batch keeps its last row.
    async fn write_tasks(tx: &mut Transaction<'static, DB>, changes: &[&Change<'_>]) -> Result<(), StoreError> {
        let mut tasks: Vec<(&TaskRow, Option<Closing>)> = Vec::new();
        for c in changes {
            let by = c.records.last().and_then(|r| r.by.clone());
            tasks.extend(c.closed.iter().map(|t| (t, Some(Closing { at: c.now, by: by.clone() }))));
            tasks.extend(c.tasks.iter().map(|t| (t, None)));
        }
        let mut seen = HashSet::new();
        let mut unique: Vec<_> = tasks.into_iter().rev().filter(|(t, _)| seen.insert(t.id.as_str())).collect();
        unique.reverse();
        for chunk in unique.chunks(ROWS) {
            let sql = format!(
                "INSERT INTO tasks (id, instance_id, token, process, step, title, role, role_scope, assignee, kind, folio, status, due_at, claimed_by, item_index, item, sla, sla_warn_at, sla_due_at, created_at, closed_at, closed_by, urgent_at) \
                 VALUES {} \
                 ON CONFLICT (id) DO UPDATE SET role = excluded.role, role_scope = excluded.role_scope, assignee = excluded.assignee, due_at = excluded.due_at, claimed_by = excluded.claimed_by, \
                 item = excluded.item, sla = excluded.sla, sla_warn_at = excluded.sla_warn_at, sla_due_at = excluded.sla_due_at, \
                 status = excluded.status, closed_at = excluded.closed_at, closed_by = excluded.closed_by, urgent_at = excluded.urgent_at",
                values(DB::DIALECT, chunk.len(), 23)
            );
            let mut q = sqlx::query::<DB>(&sql);
            for (t, closed) in chunk {
                let status = if closed.is_some() { "done" } else { "open" };
                let item = t.item.as_ref().map(|i| encode(&i.data, "task item")).transpose()?;
                q = q
                    .bind(t.id.clone())
                    .bind(t.instance_id.clone())
                    .bind(t.token)
                    .bind(t.process.clone())
                    .bind(t.step.clone())
                    .bind(t.title.clone())
                    .bind(t.role.clone())
                    .bind(t.role_scope.clone())
                    .bind(t.assignee.clone())
                    .bind(t.kind.clone())
                    .bind(t.folio.clone())
                    .bind(status.to_string())
                    .bind(t.due_at.map(micros))
                    .bind(t.claimed_by.clone())
                    .bind(t.item.as_ref().map(|i| i.index))
                    .bind(item)
                    .bind(t.sla.clone())
                    .bind(t.sla_warn_at.map(micros))
                    .bind(t.sla_due_at.map(micros))
                    .bind(micros(t.created_at))
                    .bind(closed.as_ref().map(|c| micros(c.at)))
                    .bind(closed.as_ref().and_then(|c| c.by.clone()))
                    .bind(urgent_key(t));
            }
            q.execute(&mut **tx).await?;
        }
        Ok(())
    }
}
