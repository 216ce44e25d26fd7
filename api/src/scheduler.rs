//! The scheduler: fires due timers (deadlines, SLA warnings and breaches, waits) and starts
//! instances from cron schedules, reading time from the runtime's clock. Timers are rows with a
//! due time, so those that fell due while the engine was down fire at start-up, and several
//! nodes share the work without firing a timer twice (see `Runtime::fire_due`).
//!
//! A timer fires *at the instant it fell due* (or at the instance's last event, if that is
//! later), whenever the scheduler gets to it — the instant the scenario runner fires it at — so
//! what a firing computes (an overdue step's new deadline, an alert's time) does not depend on
//! how late the scheduler was.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Map;
use tramite_engine::machine::Actor;

use crate::runtime::{Runtime, RuntimeError};

/// Longest sleep between passes: timers written by another node are seen within this time.
const MAX_SLEEP: Duration = Duration::from_millis(500);

/// Shortest time from the start of a pass that fired timers to the start of the next: while
/// timers keep falling due (an SLA storm), those due within it share one pass and one commit,
/// instead of a pass, three reads and a commit for every one or two of them. They fire at most
/// this much later; each still fires at the instant it fell due.
const MIN_GAP: Duration = Duration::from_millis(10);

/// Runs until the process stops (on a real clock; with a manual clock, whoever moves it calls
/// [`tick`]).
pub async fn run(rt: Arc<Runtime>) {
    loop {
        let began = std::time::Instant::now();
        match pass(&rt).await {
            Ok((fired, _)) if fired > 0 && began.elapsed() < MIN_GAP => {
                tokio::time::sleep(MIN_GAP - began.elapsed()).await;
                continue;
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "scheduler pass failed"),
        }
        let sleep = match rt.store.next_timer().await {
            Ok(Some(next)) => {
                let wait = next.duration_since(rt.now());
                Duration::try_from(wait).unwrap_or(Duration::ZERO).min(MAX_SLEEP)
            }
            _ => MAX_SLEEP,
        };
        let _ = tokio::time::timeout(sleep, rt.timers_changed.notified()).await;
    }
}

/// An instance a schedule started: process, schedule, instance.
pub type ScheduledStart = (String, String, String);

/// One pass: due timers, then due schedules.
async fn pass(rt: &Runtime) -> Result<(usize, Vec<ScheduledStart>), RuntimeError> {
    let fired = rt.fire_due().await?;
    let started = run_schedules(rt).await?;
    Ok((fired, started))
}

/// Runs passes until nothing is due at the clock's instant; returns the instances schedules
/// started.
pub async fn tick(rt: &Runtime) -> Result<Vec<ScheduledStart>, RuntimeError> {
    let mut started = Vec::new();
    loop {
        let (fired, mut new) = pass(rt).await?;
        let done = fired == 0 && new.is_empty();
        started.append(&mut new);
        if done {
            return Ok(started);
        }
    }
}

/// Starts an instance for every schedule whose time has come; the conditional update of
/// `next_run_at` makes one node win each occurrence. Returns the instances started.
pub async fn run_schedules(rt: &Runtime) -> Result<Vec<ScheduledStart>, RuntimeError> {
    let now = rt.now();
    let latest = rt.registry().all_latest();
    let mut started = Vec::new();
    for d in latest {
        for s in &d.process.schedules {
            let Some(next) = rt.store.schedule_next(&d.process.id, &s.id).await? else {
                if let Some(first) = s.next_after(now, &d.calendar) {
                    rt.store.set_schedule(&d.process.id, &s.id, first).await?;
                }
                continue;
            };
            if next > now {
                continue;
            }
            let Some(following) = s.next_after(now, &d.calendar) else { continue };
            if !rt.store.advance_schedule(&d.process.id, &s.id, next, following).await? {
                continue; // another node took this occurrence
            }
            let actor = Actor::admin("programador");
            let key = format!("schedule:{}:{}:{}", d.process.id, s.id, next.as_second());
            let data: Map<String, serde_json::Value> = s.data.clone();
            match rt.start(&d.process.id, data, &actor, Some(&key)).await {
                Ok((inst, _)) => started.push((d.process.id.clone(), s.id.clone(), inst.id)),
                Err(e) => {
                    tracing::error!(process = %d.process.id, schedule = %s.id, error = %e, "scheduled start failed")
                }
            }
        }
    }
    Ok(started)
}
