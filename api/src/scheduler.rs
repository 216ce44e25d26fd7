//! The scheduler: fires due timers (deadlines, SLA warnings and breaches, waits) and starts
//! instances from cron schedules. Timers are rows with a due time, so those that fell due while
//! the engine was down fire at start-up, and several nodes share the work without firing a
//! timer twice (see `Runtime::fire_due`).

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::Map;
use tramite_engine::machine::Actor;

use crate::runtime::Runtime;

/// Longest sleep between passes: timers written by another node are seen within this time.
const MAX_SLEEP: Duration = Duration::from_millis(500);

/// Runs until the process stops.
pub async fn run(rt: Arc<Runtime>) {
    loop {
        if let Err(e) = rt.fire_due().await {
            tracing::error!(error = %e, "firing timers failed");
        }
        if let Err(e) = run_schedules(&rt).await {
            tracing::error!(error = %e, "running schedules failed");
        }
        let sleep = match rt.store.next_timer().await {
            Ok(Some(next)) => {
                let wait = next.duration_since(Timestamp::now());
                Duration::try_from(wait).unwrap_or(Duration::ZERO).min(MAX_SLEEP)
            }
            _ => MAX_SLEEP,
        };
        let _ = tokio::time::timeout(sleep, rt.timers_changed.notified()).await;
    }
}

/// Starts an instance for every schedule whose time has come; the conditional update of
/// `next_run_at` makes one node win each occurrence.
pub async fn run_schedules(rt: &Runtime) -> Result<usize, crate::runtime::RuntimeError> {
    let now = Timestamp::now();
    let latest = rt.registry.read().map(|r| r.all_latest()).unwrap_or_default();
    let mut started = 0;
    for d in latest {
        for s in &d.process.schedules {
            let Some(next) = rt.store.schedule_next(&d.process.id, &s.id).await? else {
                if let Some(first) = s.next_after(now) {
                    rt.store.set_schedule(&d.process.id, &s.id, first).await?;
                }
                continue;
            };
            if next > now {
                continue;
            }
            let Some(following) = s.next_after(now) else { continue };
            if !rt.store.advance_schedule(&d.process.id, &s.id, next, following).await? {
                continue; // another node took this occurrence
            }
            let actor = Actor::admin("programador");
            let key = format!("schedule:{}:{}:{}", d.process.id, s.id, next.as_second());
            let data: Map<String, serde_json::Value> = s.data.clone();
            match rt.start(&d.process.id, data, &actor, Some(&key)).await {
                Ok(_) => started += 1,
                Err(e) => {
                    tracing::error!(process = %d.process.id, schedule = %s.id, error = %e, "scheduled start failed")
                }
            }
        }
    }
    Ok(started)
}
