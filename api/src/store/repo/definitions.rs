//! Deployed definition versions and the next run of each schedule.

use jiff::Timestamp;
use sqlx::Row;

use super::{RowsAffected, instant, micros};
use crate::store::{DefinitionRow, StoreError};

queries! {
    /// Every deployed definition version, oldest first.
    pub async fn definitions(&self) -> Result<Vec<DefinitionRow>, StoreError> {
        let rows =
            sqlx::query::<DB>("SELECT process, version, hash, bundle, file FROM definitions ORDER BY process, version")
                .fetch_all(self.pool())
                .await?;
        rows.iter()
            .map(|r| {
                Ok(DefinitionRow {
                    process: r.try_get("process")?,
                    version: r.try_get("version")?,
                    hash: r.try_get("hash")?,
                    bundle: r.try_get("bundle")?,
                    file: r.try_get("file")?,
                })
            })
            .collect()
    }

    /// Records a new definition version; a version number taken by another node is a Duplicate.
    pub async fn insert_definition(&self, d: &DefinitionRow, now: Timestamp) -> Result<(), StoreError> {
        sqlx::query::<DB>("INSERT INTO definitions (process, version, hash, bundle, file, deployed_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(d.process.clone())
            .bind(d.version)
            .bind(d.hash.clone())
            .bind(d.bundle.clone())
            .bind(d.file.clone())
            .bind(micros(now))
            .execute(self.pool())
            .await
            .map_err(|e| StoreError::from_db(e, "definition version"))?;
        Ok(())
    }

    /// When a schedule next fires, once it has been set.
    pub async fn schedule_next(&self, process: &str, schedule: &str) -> Result<Option<Timestamp>, StoreError> {
        let row = sqlx::query::<DB>("SELECT next_run_at FROM schedules WHERE process = $1 AND schedule = $2")
            .bind(process.to_string())
            .bind(schedule.to_string())
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| instant(r.try_get("next_run_at")?, "schedules.next_run_at")).transpose()
    }

    /// Sets when a schedule next fires (first sight of it).
    pub async fn set_schedule(&self, process: &str, schedule: &str, next: Timestamp) -> Result<(), StoreError> {
        sqlx::query::<DB>(
            "INSERT INTO schedules (process, schedule, next_run_at) VALUES ($1, $2, $3) ON CONFLICT (process, schedule) DO UPDATE SET next_run_at = excluded.next_run_at",
        )
        .bind(process.to_string())
        .bind(schedule.to_string())
        .bind(micros(next))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Moves a schedule from `from` to `to` if nobody else did: true when this caller won.
    pub async fn advance_schedule(
        &self,
        process: &str,
        schedule: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query::<DB>(
            "UPDATE schedules SET next_run_at = $1 WHERE process = $2 AND schedule = $3 AND next_run_at = $4",
        )
        .bind(micros(to))
        .bind(process.to_string())
        .bind(schedule.to_string())
        .bind(micros(from))
        .execute(self.pool())
        .await?;
        Ok(done.rows() == 1)
    }
}
