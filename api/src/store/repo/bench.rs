//! Bulk loading for `tramite bench`: many instance rows (with their search text and SLA
//! clocks) written straight to the tables, to measure lists over a million cases without
//! running a million transitions first.

use super::{micros, values};
use crate::store::{BenchCase, StoreError, TaskRow};

queries! {
    /// How many instances the store holds.
    pub async fn instance_count(&self) -> Result<i64, StoreError> {
        let row = sqlx::query::<DB>("SELECT count(*) AS n FROM instances").fetch_one(self.pool()).await?;
        Ok(sqlx::Row::try_get(&row, "n")?)
    }

    /// Writes `cases` in one transaction, a few hundred rows per statement.
    pub async fn load_bench_cases(&self, cases: &[BenchCase]) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        for chunk in cases.chunks(500) {
            let sql = format!(
                "INSERT INTO instances (id, process, version, status, outcome, folio, state, seq, started_at, updated_at, ended_at, started_by, search_text, sla_running, sla_met, sla_late) VALUES {}",
                values(DB::DIALECT, chunk.len(), 16)
            );
            let mut q = sqlx::query::<DB>(&sql);
            for c in chunk {
                // The case's SLA standing, as a transition writes it with its clock.
                let stopped = |late: bool| match (c.sla_due_at, c.ended_at) {
                    (Some(due), Some(end)) => (micros(end) >= micros(due)) == late,
                    _ => false,
                };
                let running = c.sla_due_at.is_some() && c.ended_at.is_none();
                q = q
                    .bind(c.id.clone())
                    .bind(c.process.clone())
                    .bind(1_i64)
                    .bind(c.status.clone())
                    .bind(c.outcome.clone())
                    .bind(c.folio.clone())
                    .bind("{}".to_string())
                    .bind(1_i64)
                    .bind(micros(c.started_at))
                    .bind(micros(c.started_at))
                    .bind(c.ended_at.map(micros))
                    .bind(c.started_by.clone())
                    .bind(c.search_text.clone())
                    .bind(running)
                    .bind(stopped(false))
                    .bind(stopped(true));
            }
            q.execute(&mut *tx).await?;
            let slas: Vec<&BenchCase> = chunk.iter().filter(|c| c.sla_due_at.is_some()).collect();
            if slas.is_empty() {
                continue;
            }
            let sql = format!(
                "INSERT INTO slas (instance_id, sla, process, title, folio, started_at, warn_at, due_at, breach_at, stopped_at) VALUES {}",
                values(DB::DIALECT, slas.len(), 10)
            );
            let mut q = sqlx::query::<DB>(&sql);
            for c in slas {
                let due = c.sla_due_at.map(micros).unwrap_or_default();
                let running = c.ended_at.is_none();
                q = q
                    .bind(c.id.clone())
                    .bind("respuesta".to_string())
                    .bind(c.process.clone())
                    .bind("Respuesta".to_string())
                    .bind(c.folio.clone())
                    .bind(micros(c.started_at))
                    .bind(c.sla_warn_at.map(micros))
                    .bind(due)
                    .bind(running.then_some(due))
                    .bind(c.ended_at.map(micros));
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Writes open task rows (of cases already loaded) in one transaction.
    pub async fn load_bench_tasks(&self, tasks: &[TaskRow]) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        for chunk in tasks.chunks(500) {
            let sql = format!(
                "INSERT INTO tasks (id, instance_id, token, process, step, title, role, assignee, kind, folio, status, due_at, sla, sla_warn_at, sla_due_at, created_at, urgent_at) VALUES {}",
                values(DB::DIALECT, chunk.len(), 17)
            );
            let mut q = sqlx::query::<DB>(&sql);
            for t in chunk {
                q = q
                    .bind(t.id.clone())
                    .bind(t.instance_id.clone())
                    .bind(t.token)
                    .bind(t.process.clone())
                    .bind(t.step.clone())
                    .bind(t.title.clone())
                    .bind(t.role.clone())
                    .bind(t.assignee.clone())
                    .bind(t.kind.clone())
                    .bind(t.folio.clone())
                    .bind("open".to_string())
                    .bind(t.due_at.map(micros))
                    .bind(t.sla.clone())
                    .bind(t.sla_warn_at.map(micros))
                    .bind(t.sla_due_at.map(micros))
                    .bind(micros(t.created_at))
                    .bind(super::write::urgent_key(t));
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

queries! {
    /// How many values indicator `indicator` holds.
    pub async fn measure_count(&self, indicator: &str) -> Result<i64, StoreError> {
        let row = sqlx::query::<DB>("SELECT count(*) AS n FROM measures WHERE indicator = $1")
            .bind(indicator.to_string())
            .fetch_one(self.pool())
            .await?;
        Ok(sqlx::Row::try_get(&row, "n")?)
    }

    /// Writes values of `indicator` (case id, period, group, value) in one transaction, a few
    /// hundred rows per statement.
    pub async fn load_bench_measures(
        &self,
        indicator: &str,
        rows: &[(String, String, String, Option<f64>)],
    ) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        for chunk in rows.chunks(500) {
            let sql = format!(
                "INSERT INTO measures (indicator, instance_id, item, period, grp, value) VALUES {}",
                values(DB::DIALECT, chunk.len(), 6)
            );
            let mut q = sqlx::query::<DB>(&sql);
            for (id, period, grp, value) in chunk {
                q = q.bind(indicator.to_string()).bind(id.clone()).bind(0_i64).bind(period.clone()).bind(grp.clone()).bind(*value);
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}
