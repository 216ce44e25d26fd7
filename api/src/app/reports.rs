//! The reports of report tasks. A task whose step names `report: <process>` opens with a job
//! written in the same transaction; this worker leases the job, computes the report (that
//! process's indicators over the period before the task opened, aggregated by the database),
//! stores the workbook in the file store and attaches it to the task through the writer. The
//! attachment is an event of the case (`report_attached`) and the file one of its files, so
//! whoever may read the case downloads it, and the job goes in that transaction.

use std::sync::Arc;
use std::time::Duration;

use tramite_engine::files::FileValue;
use tramite_engine::machine::{Command, CommandError};

use super::AppError;
use crate::runtime::{Runtime, RuntimeError, Work};
use crate::store::ReportJob;

/// How long a node holds a job it is making: longer than any report takes.
const LEASE: jiff::SignedDuration = jiff::SignedDuration::from_secs(300);
/// Jobs leased at a time.
const BATCH: i64 = 8;
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Makes the reports of report tasks as they open, for as long as the server runs.
pub async fn run(rt: Arc<Runtime>) {
    loop {
        match make_pending(&rt).await {
            Ok(n) if n > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "report jobs could not be read; will retry"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// One pass: leases the jobs due, makes and attaches each report; returns how many were tried.
pub async fn make_pending(rt: &Runtime) -> Result<usize, AppError> {
    let now = rt.now();
    let until = now.saturating_add(LEASE).unwrap_or(now);
    let jobs = rt.store.lease_report_jobs(now, until, BATCH).await?;
    for job in &jobs {
        match attach(rt, job).await {
            Ok(()) => {}
            // The task closed, or its case ended or is gone, before its report was made.
            Err(Failure::Gone) => rt.store.drop_report_job(&job.task_id).await?,
            Err(Failure::Failed(error)) => {
                let retry = rt.now().saturating_add(crate::mail::backoff(job.attempts)).unwrap_or(now);
                tracing::warn!(task = %job.task_id, %error, retry = %retry, "report not attached; will retry");
                rt.store.report_job_failed(&job.task_id, &error, retry).await?;
            }
        }
    }
    Ok(jobs.len())
}

enum Failure {
    Gone,
    Failed(String),
}

async fn attach(rt: &Runtime, job: &ReportJob) -> Result<(), Failure> {
    let failed = |e: &dyn std::fmt::Display| Failure::Failed(e.to_string());
    let report = super::task_report(rt, None, &job.process, job.opened_at).await.map_err(|e| failed(&e))?;
    let (name, bytes) = report.workbook().map_err(|e| failed(&e))?;
    let files = rt.files().ok_or_else(|| Failure::Failed("no file store (--files) to keep the report in".into()))?;
    let blob = files.put(bytes).await.map_err(|e| failed(&e))?;
    let file = FileValue { name, sha256: blob.sha256, size: blob.size, mime: Some(XLSX.into()) };
    let cmd = Command::AttachReport { task: job.token, file: file.to_value() };
    match rt.run(Work::Act { id: job.instance_id.clone(), actor: None, cmd, by: None }).await {
        Ok(_) => Ok(()),
        Err(RuntimeError::NotFound(_))
        | Err(RuntimeError::Refused(
            CommandError::UnknownTask(_)
            | CommandError::NotRunning
            | CommandError::ReportAttached
            | CommandError::WrongKind { .. },
        )) => Err(Failure::Gone),
        Err(e) => Err(failed(&e)),
    }
}
