//! Reading instances: their state, history, sub-processes, incidents and due timers; and the
//! reads a transition makes inside its transaction (locking the instance, claiming a timer).

use jiff::Timestamp;
use sqlx::{Row, Transaction};
use tramite_engine::machine::{Record, TimerKey};

use super::{Cols, Dialect, decode, encode, instant, maybe_instant, micros};
use crate::store::{IncidentRow, InstanceRow, StoreError, StoredInstance};

pub(in crate::store) const INSTANCE_COLUMNS: &str = "id, process, version, seq, state, started_by";
/// Idempotency keys are unique per user and process (`instances_start_key`).
const START_KEY_SQL: &str = "SELECT id FROM instances WHERE started_by = $1 AND process = $2 AND start_key = $3";
pub(super) const LIST_COLUMNS: &str =
    "id, process, version, status, outcome, folio, started_at, ended_at, parent_id, parent_token, started_by";

/// An instance with its state.
pub(in crate::store) fn instance_row(r: &impl Cols) -> Result<StoredInstance, StoreError> {
    let state: String = r.col("state")?;
    Ok(StoredInstance {
        id: r.col("id")?,
        process: r.col("process")?,
        version: r.col("version")?,
        seq: r.col("seq")?,
        state: decode(&state, "instance state")?,
        started_by: r.col("started_by")?,
    })
}

/// An instance as the lists show it.
pub(in crate::store) fn list_row(r: &impl Cols) -> Result<InstanceRow, StoreError> {
    Ok(InstanceRow {
        id: r.col("id")?,
        process: r.col("process")?,
        version: r.col("version")?,
        status: r.col("status")?,
        outcome: r.col("outcome")?,
        folio: r.col("folio")?,
        started_at: instant(r.col("started_at")?, "instances.started_at")?,
        ended_at: maybe_instant(r.col("ended_at")?, "instances.ended_at")?,
        parent_id: r.col("parent_id")?,
        parent_token: r.col("parent_token")?,
        started_by: r.col("started_by")?,
    })
}

/// The instance `$1` with its state.
pub(in crate::store) fn instance_sql() -> String {
    format!("SELECT {INSTANCE_COLUMNS} FROM instances WHERE id = $1")
}

/// The sub-processes of the instance `$1`, oldest first.
pub(in crate::store) fn children_sql() -> String {
    format!("SELECT {LIST_COLUMNS} FROM instances WHERE parent_id = $1 ORDER BY started_at, id")
}

queries! {
    /// An instance with its state.
    pub async fn instance(&self, id: &str) -> Result<Option<StoredInstance>, StoreError> {
        let row = sqlx::query::<DB>(&instance_sql())
            .bind(id.to_string())
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(instance_row).transpose()
    }

    /// The instance `user` started with an idempotency key for `process`, if any.
    pub async fn instance_by_key(&self, user: &str, process: &str, key: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query::<DB>(START_KEY_SQL)
            .bind(user.to_string())
            .bind(process.to_string())
            .bind(key.to_string())
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.try_get("id")).transpose()?)
    }

    /// The sub-processes an instance's call steps started, oldest first.
    pub async fn children(&self, parent: &str) -> Result<Vec<InstanceRow>, StoreError> {
        let rows = sqlx::query::<DB>(&children_sql()).bind(parent.to_string()).fetch_all(self.pool()).await?;
        rows.iter().map(list_row).collect()
    }

    /// An instance's events in order.
    pub async fn history(&self, id: &str) -> Result<Vec<Record>, StoreError> {
        let rows = sqlx::query::<DB>("SELECT body FROM events WHERE instance_id = $1 ORDER BY seq")
            .bind(id.to_string())
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| decode(&r.try_get::<String, _>("body")?, "event")).collect()
    }

    fn incident_row(r: &DB::Row) -> Result<IncidentRow, StoreError> {
        Ok(IncidentRow {
            instance_id: r.try_get("instance_id")?,
            token: r.try_get("token")?,
            process: r.try_get("process")?,
            step: r.try_get("step")?,
            called: r.try_get("called")?,
            message: r.try_get("message")?,
            created_at: instant(r.try_get("created_at")?, "incidents.created_at")?,
        })
    }

    /// Open incidents, oldest first; only those calling `called` when given.
    pub async fn incidents(&self, called: Option<&str>, limit: i64) -> Result<Vec<IncidentRow>, StoreError> {
        let cols = "instance_id, token, process, step, called, message, created_at";
        let rows = match called {
            Some(c) => {
                sqlx::query::<DB>(&format!("SELECT {cols} FROM incidents WHERE called = $1 ORDER BY created_at LIMIT $2"))
                    .bind(c.to_string())
                    .bind(limit)
                    .fetch_all(self.pool())
                    .await?
            }
            None => {
                sqlx::query::<DB>(&format!("SELECT {cols} FROM incidents ORDER BY created_at LIMIT $1"))
                    .bind(limit)
                    .fetch_all(self.pool())
                    .await?
            }
        };
        rows.iter().map(Self::incident_row).collect()
    }

    /// Timers due at or before `now`, soonest first.
    pub async fn due_timers(
        &self,
        now: Timestamp,
        limit: i64,
    ) -> Result<Vec<(String, TimerKey, Timestamp)>, StoreError> {
        let rows = sqlx::query::<DB>(
            "SELECT instance_id, timer, due_at FROM timers WHERE due_at <= $1 ORDER BY due_at, instance_id, timer LIMIT $2",
        )
        .bind(micros(now))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| {
                let key: String = r.try_get("timer")?;
                Ok((r.try_get("instance_id")?, decode(&key, "timer")?, instant(r.try_get("due_at")?, "timers.due_at")?))
            })
            .collect()
    }

    /// The soonest timer of all.
    pub async fn next_timer(&self) -> Result<Option<Timestamp>, StoreError> {
        let row = sqlx::query::<DB>("SELECT MIN(due_at) AS due FROM timers").fetch_one(self.pool()).await?;
        maybe_instant(row.try_get("due")?, "timers.due_at")
    }

    // ---- inside a transaction ------------------------------------------------------------------

    /// The instance `user` started with an idempotency key for `process`, read inside the
    /// transaction.
    pub async fn instance_by_key_tx(
        tx: &mut Transaction<'static, DB>,
        user: &str,
        process: &str,
        key: &str,
    ) -> Result<Option<StoredInstance>, StoreError> {
        let sql = format!("SELECT {INSTANCE_COLUMNS} FROM instances WHERE started_by = $1 AND process = $2 AND start_key = $3");
        let row = sqlx::query::<DB>(&sql)
            .bind(user.to_string())
            .bind(process.to_string())
            .bind(key.to_string())
            .fetch_optional(&mut **tx)
            .await?;
        row.as_ref().map(instance_row).transpose()
    }

    /// Reads an instance and locks it for the transaction.
    pub async fn lock_instance(
        tx: &mut Transaction<'static, DB>,
        d: Dialect,
        id: &str,
    ) -> Result<Option<StoredInstance>, StoreError> {
        let sql = format!("{}{}", instance_sql(), d.for_update);
        let row = sqlx::query::<DB>(&sql).bind(id.to_string()).fetch_optional(&mut **tx).await?;
        row.as_ref().map(instance_row).transpose()
    }

    /// Reads some instances and locks them for the transaction, in one statement per few
    /// hundred (in id order, so that two transactions locking overlapping sets wait for each
    /// other instead of deadlocking); ids with no instance are left out.
    pub async fn lock_instances(
        tx: &mut Transaction<'static, DB>,
        d: Dialect,
        ids: &[&str],
    ) -> Result<Vec<StoredInstance>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let sql = format!(
                "SELECT {INSTANCE_COLUMNS} FROM instances WHERE id IN ({}) ORDER BY id{}",
                super::list(d, chunk.len()),
                d.for_update
            );
            let mut q = sqlx::query::<DB>(&sql);
            for id in chunk {
                q = q.bind(id.to_string());
            }
            for row in q.fetch_all(&mut **tx).await? {
                out.push(instance_row(&row)?);
            }
        }
        Ok(out)
    }

    /// Locks the instance of a due timer unless another node holds it, and checks the timer row
    /// is still there.
    pub async fn claim_timer(
        tx: &mut Transaction<'static, DB>,
        d: Dialect,
        id: &str,
        timer: &TimerKey,
    ) -> Result<bool, StoreError> {
        let sql = format!("SELECT id FROM instances WHERE id = $1{}", d.skip_locked);
        if sqlx::query::<DB>(&sql).bind(id.to_string()).fetch_optional(&mut **tx).await?.is_none() {
            return Ok(false);
        }
        let row = sqlx::query::<DB>("SELECT due_at FROM timers WHERE instance_id = $1 AND timer = $2")
            .bind(id.to_string())
            .bind(encode(timer, "timer")?)
            .fetch_optional(&mut **tx)
            .await?;
        Ok(row.is_some())
    }
}
