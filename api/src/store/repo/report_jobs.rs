//! Report jobs: the reports of report tasks still to compute and attach (written with the
//! tasks, leased by the worker that makes them).

use jiff::Timestamp;
use sqlx::Row;

use super::{instant, micros};
use crate::store::{ReportJob, StoreError};

queries! {
    /// Leases up to `limit` report jobs due at `now` (new, their lease ended, or their retry
    /// time reached) until `until`, oldest first. On PostgreSQL rows another node is leasing at
    /// this moment are skipped.
    pub async fn lease_report_jobs(&self, now: Timestamp, until: Timestamp, limit: i64) -> Result<Vec<ReportJob>, StoreError> {
        let sql = format!(
            "UPDATE report_jobs SET next_at = $1, attempts = attempts + 1 WHERE task_id IN (\
             SELECT task_id FROM report_jobs WHERE next_at <= $2 ORDER BY next_at LIMIT $3{}) \
             RETURNING task_id, instance_id, token, process, opened_at, attempts",
            DB::DIALECT.skip_locked
        );
        let rows = sqlx::query::<DB>(&sql).bind(micros(until)).bind(micros(now)).bind(limit).fetch_all(self.pool()).await?;
        rows.iter()
            .map(|r| {
                Ok(ReportJob {
                    task_id: r.try_get("task_id")?,
                    instance_id: r.try_get("instance_id")?,
                    token: u64::try_from(r.try_get::<i64, _>("token")?).unwrap_or_default(),
                    process: r.try_get("process")?,
                    opened_at: instant(r.try_get("opened_at")?, "report_jobs.opened_at")?,
                    attempts: r.try_get("attempts")?,
                })
            })
            .collect()
    }

    /// Records why a report could not be made, and when to try again.
    pub async fn report_job_failed(&self, task: &str, error: &str, retry_at: Timestamp) -> Result<(), StoreError> {
        sqlx::query::<DB>("UPDATE report_jobs SET last_error = $1, next_at = $2 WHERE task_id = $3")
            .bind(error.to_string())
            .bind(micros(retry_at))
            .bind(task.to_string())
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Forgets a job whose task closed, or whose instance is gone, before its report was made.
    pub async fn drop_report_job(&self, task: &str) -> Result<(), StoreError> {
        sqlx::query::<DB>("DELETE FROM report_jobs WHERE task_id = $1").bind(task.to_string()).execute(self.pool()).await?;
        Ok(())
    }

    /// The report jobs not done yet, oldest first (for operators and tests).
    pub async fn pending_report_jobs(&self) -> Result<Vec<(String, i64, Option<String>)>, StoreError> {
        let rows = sqlx::query::<DB>("SELECT task_id, attempts, last_error FROM report_jobs ORDER BY opened_at, task_id")
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| Ok((r.try_get("task_id")?, r.try_get("attempts")?, r.try_get("last_error")?))).collect()
    }
}
