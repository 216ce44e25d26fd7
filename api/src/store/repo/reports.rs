//! What the admin dashboard and the exports read: SLA clocks by standing or by start, task
//! deadlines, alerts, and the instances of a process over a date range.

use jiff::Timestamp;
use sqlx::Row;
use tramite_engine::machine::Instance;

use super::tasks::sla_condition;
use super::{decode, instant, maybe_instant, micros};
use crate::store::{AlertRow, DeadlineRow, SlaFilter, SlaRow, StoreError};

const SLA_COLUMNS: &str = "instance_id, sla, process, title, folio, started_at, warn_at, due_at, breach_at, stopped_at";

queries! {
    fn sla_row(r: &DB::Row) -> Result<SlaRow, StoreError> {
        Ok(SlaRow {
            instance_id: r.try_get("instance_id")?,
            sla: r.try_get("sla")?,
            process: r.try_get("process")?,
            title: r.try_get("title")?,
            folio: r.try_get("folio")?,
            started_at: instant(r.try_get("started_at")?, "slas.started_at")?,
            warn_at: maybe_instant(r.try_get("warn_at")?, "slas.warn_at")?,
            due_at: instant(r.try_get("due_at")?, "slas.due_at")?,
            breach_at: maybe_instant(r.try_get("breach_at")?, "slas.breach_at")?,
            stopped_at: maybe_instant(r.try_get("stopped_at")?, "slas.stopped_at")?,
        })
    }

    /// Running SLA clocks in a standing at `now`, most urgent first.
    pub async fn sla_report(&self, state: Option<SlaFilter>, now: Timestamp, limit: i64) -> Result<Vec<SlaRow>, StoreError> {
        let mut sql = format!("SELECT {SLA_COLUMNS} FROM slas WHERE stopped_at IS NULL");
        if let Some(f) = state {
            sql.push_str(&sla_condition(f, "warn_at", "breach_at", "$1"));
        }
        sql.push_str(if state.is_some() { " ORDER BY due_at LIMIT $2" } else { " ORDER BY due_at LIMIT $1" });
        let mut query = sqlx::query::<DB>(&sql);
        if state.is_some() {
            query = query.bind(micros(now));
        }
        let rows = query.bind(limit).fetch_all(self.pool()).await?;
        rows.iter().map(Self::sla_row).collect()
    }

    /// SLA clocks started in `[from, to)`, stopped or not, oldest first (dashboard, exports).
    pub async fn slas_started_between(&self, from: Timestamp, to: Timestamp) -> Result<Vec<SlaRow>, StoreError> {
        let sql = format!("SELECT {SLA_COLUMNS} FROM slas WHERE started_at >= $1 AND started_at < $2 ORDER BY started_at LIMIT 20000");
        let rows = sqlx::query::<DB>(&sql).bind(micros(from)).bind(micros(to)).fetch_all(self.pool()).await?;
        rows.iter().map(Self::sla_row).collect()
    }

    /// Tasks with a deadline opened in `[from, to)`.
    pub async fn deadlines_between(&self, from: Timestamp, to: Timestamp) -> Result<Vec<DeadlineRow>, StoreError> {
        let rows = sqlx::query::<DB>(
            "SELECT process, step, title, due_at, closed_at FROM tasks WHERE due_at IS NOT NULL AND created_at >= $1 AND created_at < $2 ORDER BY created_at LIMIT 20000",
        )
        .bind(micros(from))
        .bind(micros(to))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                Ok(DeadlineRow {
                    process: r.try_get("process")?,
                    step: r.try_get("step")?,
                    title: r.try_get("title")?,
                    due_at: instant(r.try_get("due_at")?, "tasks.due_at")?,
                    closed_at: maybe_instant(r.try_get("closed_at")?, "tasks.closed_at")?,
                })
            })
            .collect()
    }

    /// Alerts raised in `[from, to)`, newest first.
    pub async fn alerts_between(&self, from: Timestamp, to: Timestamp, limit: i64) -> Result<Vec<AlertRow>, StoreError> {
        let rows = sqlx::query::<DB>(
            "SELECT e.instance_id, e.body, i.process, i.folio FROM events e JOIN instances i ON i.id = e.instance_id \
             WHERE e.kind = 'alerted' AND e.at >= $1 AND e.at < $2 ORDER BY e.at DESC, e.seq DESC LIMIT $3",
        )
        .bind(micros(from))
        .bind(micros(to))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let body: String = r.try_get("body")?;
                Ok(AlertRow {
                    instance_id: r.try_get("instance_id")?,
                    process: r.try_get("process")?,
                    folio: r.try_get("folio")?,
                    record: decode(&body, "event")?,
                })
            })
            .collect()
    }

    /// Instances of a process started in `[from, to)`, oldest first, with their version and state.
    pub async fn instances_between(
        &self,
        process: &str,
        from: Timestamp,
        to: Timestamp,
        limit: i64,
    ) -> Result<Vec<(i64, Instance)>, StoreError> {
        let rows = sqlx::query::<DB>("SELECT version, state FROM instances WHERE process = $1 AND started_at >= $2 AND started_at < $3 ORDER BY started_at LIMIT $4")
            .bind(process.to_string())
            .bind(micros(from))
            .bind(micros(to))
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        rows.iter()
            .map(|r| {
                let state: String = r.try_get("state")?;
                Ok((r.try_get::<i64, _>("version")?, decode::<Instance>(&state, "instance state")?))
            })
            .collect()
    }
}
